/*
 * cmd_timers.c - `billrun timers`: the systemd timer schedules (or cron
 * lines) that follow from the DAGs' `schedule` keys, and a check that
 * installed timer units agree with them, so units and config cannot
 * drift apart.
 */
#include "cli.h"
#include "dag.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What cron lines run: the packaged binary with the default config, and
 * nothing where systemd runs the timers instead. */
#define CRON_USER "billrun"
#define CRON_GUARD "[ -d /run/systemd/system ] ||"
#define CRON_BINARY "/usr/bin/billrun"
#define CRON_LOG "/var/log/billrun/billrun.log"

/* The timer unit of a DAG: billrun-NAME.timer, '_' becoming '-'. */
static void unit_name(const char *dag, char *buf, size_t size)
{
	snprintf(buf, size, "billrun-%s.timer", dag);
	for (char *p = buf; *p; p++)
		if (*p == '_')
			*p = '-';
}

/* ---- OnCalendar to cron ---- */

static int is_number(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

/* Append one number without leading zeros ("02" -> "2"). */
static int put_number(char *out, size_t size, const char *s, size_t n, int lo, int hi)
{
	char tmp[16];
	if (!is_number(s, n) || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	long v = strtol(tmp, NULL, 10);
	if (v < lo || v > hi)
		return -1;
	snprintf(out + strlen(out), size - strlen(out), "%ld", v);
	return 0;
}

/*
 * One calendar component ("*", "02", "1,15", "9..17", "*\/5", "0/15") as a
 * cron field; lo..hi are the field's bounds. Returns 0 or -1 when cron
 * cannot say the same thing.
 */
static int cron_field(const char *text, size_t len, int lo, int hi, char *out, size_t size)
{
	out[0] = '\0';
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *item_end = comma ? comma : end;
		size_t n = (size_t)(item_end - p);
		const char *slash = memchr(p, '/', n);
		const char *range = NULL;
		for (const char *q = p; q + 1 < item_end; q++)
			if (q[0] == '.' && q[1] == '.') {
				range = q;
				break;
			}
		if (out[0])
			snprintf(out + strlen(out), size - strlen(out), ",");
		if (n == 1 && *p == '*') {
			snprintf(out + strlen(out), size - strlen(out), "*");
		} else if (slash && !range) {
			/* start/step: cron's start-max/step, or * for a start of lo. */
			size_t head = (size_t)(slash - p);
			if (head == 1 && *p == '*')
				snprintf(out + strlen(out), size - strlen(out), "*");
			else if (put_number(out, size, p, head, lo, hi) == 0)
				snprintf(out + strlen(out), size - strlen(out), "-%d", hi);
			else
				return -1;
			snprintf(out + strlen(out), size - strlen(out), "/");
			if (put_number(out, size, slash + 1, (size_t)(item_end - slash - 1), 1, hi))
				return -1;
		} else if (range && !slash) {
			if (put_number(out, size, p, (size_t)(range - p), lo, hi))
				return -1;
			snprintf(out + strlen(out), size - strlen(out), "-");
			if (put_number(out, size, range + 2, (size_t)(item_end - range - 2), lo, hi))
				return -1;
		} else if (!range && !slash) {
			if (put_number(out, size, p, n, lo, hi))
				return -1;
		} else {
			return -1;
		}
		p = comma ? comma + 1 : end;
	}
	return out[0] ? 0 : -1;
}

static int weekday_number(const char *s, size_t n)
{
	static const char *const names[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };
	static const char *const full[] = { "sunday", "monday", "tuesday", "wednesday", "thursday", "friday",
					    "saturday" };
	char w[16];
	if (n == 0 || n >= sizeof(w))
		return -1;
	for (size_t i = 0; i < n; i++)
		w[i] = (char)tolower((unsigned char)s[i]);
	w[n] = '\0';
	for (int i = 0; i < 7; i++)
		if (strcmp(w, names[i]) == 0 || strcmp(w, full[i]) == 0)
			return i;
	return -1;
}

/* "Mon..Fri", "Sat,Sun" as cron's day of week ("1-5", "6,0"). */
static int cron_weekdays(const char *text, char *out, size_t size)
{
	out[0] = '\0';
	const char *p = text;
	while (*p) {
		size_t n = strcspn(p, ",");
		const char *dots = strstr(p, "..");
		if (out[0])
			snprintf(out + strlen(out), size - strlen(out), ",");
		if (dots && dots < p + n) {
			int a = weekday_number(p, (size_t)(dots - p)), b = weekday_number(dots + 2, (size_t)(p + n - dots - 2));
			if (a < 0 || b < 0 || a > b) /* a wrapping range (Sat..Mon) has no cron form */
				return -1;
			snprintf(out + strlen(out), size - strlen(out), "%d-%d", a, b);
		} else {
			int a = weekday_number(p, n);
			if (a < 0)
				return -1;
			snprintf(out + strlen(out), size - strlen(out), "%d", a);
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return out[0] ? 0 : -1;
}

/*
 * Translate an OnCalendar expression into cron's five fields. Handles the
 * shorthands (daily, monthly, ...) and "[WEEKDAYS] [[*-]MONTH-DAY] HH:MM[:00]"
 * with lists, ranges and steps; refuses what cron cannot express (seconds,
 * years, time zones, '~' last days, weekdays together with days of the
 * month, which cron would OR rather than AND). Returns 0, or -1 with a
 * reason in why.
 */
static int oncalendar_to_cron(const char *expr, char *out, size_t size, char *why, size_t wsize)
{
	static const struct { const char *word, *cron; } words[] = {
		{ "minutely", "* * * * *" },      { "hourly", "0 * * * *" },     { "daily", "0 0 * * *" },
		{ "weekly", "0 0 * * 1" },        { "monthly", "0 0 1 * *" },    { "yearly", "0 0 1 1 *" },
		{ "annually", "0 0 1 1 *" },      { "quarterly", "0 0 1 1,4,7,10 *" },
		{ "semiannually", "0 0 1 1,7 *" },
	};
	char buf[256], dow[64] = "*", mon[64] = "*", dom[64] = "*", hour[64] = "0", min[64] = "0";
	char *tok[4];
	int ntok = 0;

	snprintf(buf, sizeof(buf), "%s", expr);
	for (char *save = NULL, *t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (ntok == 4) {
			snprintf(why, wsize, "too many parts");
			return -1;
		}
		tok[ntok++] = t;
	}
	if (ntok == 1)
		for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (strcasecmp(tok[0], words[i].word) == 0) {
				snprintf(out, size, "%s", words[i].cron);
				return 0;
			}
	int k = 0;
	if (k < ntok && isalpha((unsigned char)tok[k][0])) {
		if (cron_weekdays(tok[k], dow, sizeof(dow))) {
			snprintf(why, wsize, "weekdays '%s' have no cron form", tok[k]);
			return -1;
		}
		k++;
	}
	if (k < ntok && strchr(tok[k], '-')) {
		char *date = tok[k++];
		char *parts[3];
		int n = 0;
		for (char *save = NULL, *t = strtok_r(date, "-", &save); t && n < 3; t = strtok_r(NULL, "-", &save))
			parts[n++] = t;
		if (n == 3) {
			if (strcmp(parts[0], "*") != 0) {
				snprintf(why, wsize, "cron cannot limit the year");
				return -1;
			}
			parts[0] = parts[1];
			parts[1] = parts[2];
			n = 2;
		}
		if (n != 2 || strchr(parts[1], '~') || cron_field(parts[0], strlen(parts[0]), 1, 12, mon, sizeof(mon)) ||
		    cron_field(parts[1], strlen(parts[1]), 1, 31, dom, sizeof(dom))) {
			snprintf(why, wsize, "the date has no cron form");
			return -1;
		}
	}
	if (k < ntok && strchr(tok[k], ':')) {
		char *time = tok[k++];
		char *parts[3];
		int n = 0;
		for (char *save = NULL, *t = strtok_r(time, ":", &save); t && n < 3; t = strtok_r(NULL, ":", &save))
			parts[n++] = t;
		if (n < 2 || (n == 3 && strcmp(parts[2], "00") != 0 && strcmp(parts[2], "0") != 0)) {
			snprintf(why, wsize, "cron has no seconds");
			return -1;
		}
		if (cron_field(parts[0], strlen(parts[0]), 0, 23, hour, sizeof(hour)) ||
		    cron_field(parts[1], strlen(parts[1]), 0, 59, min, sizeof(min))) {
			snprintf(why, wsize, "the time has no cron form");
			return -1;
		}
	}
	if (k != ntok) {
		snprintf(why, wsize, "'%s' has no cron form (a time zone?)", tok[k]);
		return -1;
	}
	if (strcmp(dow, "*") != 0 && strcmp(dom, "*") != 0) {
		snprintf(why, wsize, "cron runs a job when either the weekday or the day matches, not both");
		return -1;
	}
	snprintf(out, size, "%s %s %s %s %s", min, hour, dom, mon, dow);
	return 0;
}

/* ---- reading timer units ---- */

struct calendar {
	char lines[16][256];
	int n;
};

/* Apply the OnCalendar= settings of one unit file or drop-in to cal: an
 * empty assignment clears the list, as systemd does. A missing file is
 * -1 (errno set) when must_exist. */
static int read_calendar(const char *path, struct calendar *cal, int must_exist)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return must_exist ? -1 : 0;
	char line[1024];
	int in_timer = 0;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		char *p = line;
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '[') {
			in_timer = strncmp(p, "[Timer]", 7) == 0;
			continue;
		}
		if (!in_timer || strncmp(p, "OnCalendar", 10) != 0)
			continue;
		p += 10;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '=')
			continue;
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		size_t len = strlen(p);
		while (len && isspace((unsigned char)p[len - 1]))
			p[--len] = '\0';
		if (!*p)
			cal->n = 0;
		else if (cal->n < 16)
			snprintf(cal->lines[cal->n++], sizeof(cal->lines[0]), "%s", p);
	}
	fclose(f);
	return 0;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The unit's OnCalendar list after its drop-ins (UNIT.d/ *.conf, in name
 * order). -1 when the unit file does not exist. */
static int unit_calendar(const char *dir, const char *unit, struct calendar *cal)
{
	char path[4200];
	cal->n = 0;
	snprintf(path, sizeof(path), "%s/%s", dir, unit);
	if (read_calendar(path, cal, 1))
		return -1;
	snprintf(path, sizeof(path), "%s/%s.d", dir, unit);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	char *names[64];
	int n = 0;
	for (struct dirent *de; (de = readdir(d)) && n < 64;) {
		size_t len = strlen(de->d_name);
		if (len > 5 && strcmp(de->d_name + len - 5, ".conf") == 0)
			names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, (size_t)n, sizeof(names[0]), compare_names);
	for (int i = 0; i < n; i++) {
		char drop[4400];
		if (names[i]) {
			snprintf(drop, sizeof(drop), "%s/%s", path, names[i]);
			read_calendar(drop, cal, 0);
		}
		free(names[i]);
	}
	return 0;
}

/* ---- the command ---- */

static int check_units(const struct dag *const *dags, int n, const char *dir, const char *config_path,
		       struct err *e)
{
	int drift = 0;
	for (int i = 0; i < n; i++) {
		const struct dag *d = dags[i];
		char unit[300];
		struct calendar cal;
		unit_name(d->name, unit, sizeof(unit));
		if (unit_calendar(dir, unit, &cal)) {
			printf("%s: missing: DAG %s (schedule \"%s\") has no timer unit in %s\n", unit, d->name,
			       d->schedule, dir);
			drift++;
		} else if (cal.n != 1 || strcmp(cal.lines[0], d->schedule) != 0) {
			printf("%s: differs: the unit has %s%s%s, DAG %s has schedule \"%s\" (%s:%d)\n", unit,
			       cal.n ? "OnCalendar=" : "no OnCalendar", cal.n ? cal.lines[0] : "",
			       cal.n > 1 ? " and more" : "", d->name, d->schedule, config_path, d->line);
			drift++;
		} else {
			printf("%s: ok: OnCalendar=%s\n", unit, d->schedule);
		}
	}
	if (drift) {
		err_set(e, ERR_CONFIG, "%d timer unit%s in '%s' disagree%s with the DAG schedules", drift,
			drift == 1 ? "" : "s", dir, drift == 1 ? "s" : "");
		return err_hint(e, "install the drop-ins 'billrun timers' prints, or change the DAGs' schedule");
	}
	return 0;
}

static int print_cron(const struct dag *const *dags, int n, struct err *e)
{
	for (int i = 0; i < n; i++) {
		const struct dag *d = dags[i];
		char fields[256], why[256];
		if (oncalendar_to_cron(d->schedule, fields, sizeof(fields), why, sizeof(why))) {
			err_set(e, ERR_CONFIG, "the schedule \"%s\" of DAG '%s' has no cron form: %s", d->schedule,
				d->name, why);
			return err_hint(e, "use the systemd timers, or a simpler schedule such as \"*-*-* 02:00:00\"");
		}
		printf("%s %s %s { %s db migrate && %s run %s --catch-up; } >>%s 2>&1\n", fields, CRON_USER, CRON_GUARD,
		       CRON_BINARY, CRON_BINARY, d->name, CRON_LOG);
	}
	return 0;
}

static void print_dropins(const struct dag *const *dags, int n)
{
	for (int i = 0; i < n; i++) {
		char unit[300];
		unit_name(dags[i]->name, unit, sizeof(unit));
		printf("%s# %s: DAG %s\n[Timer]\nOnCalendar=\nOnCalendar=%s\n", i ? "\n" : "", unit, dags[i]->name,
		       dags[i]->schedule);
	}
}

static int timers_main(struct cli *cli, int argc, char **argv, struct err *e)
{
	static const struct option opts[] = {
		{ "check", required_argument, NULL, 'k' },
		{ "cron", no_argument, NULL, 'C' },
		{ 0 },
	};
	const char *check = NULL;
	int cron = 0, c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k': check = optarg; break;
		case 'C': cron = 1; break;
		default: return cli_usage_error(e, "timers", "bad option");
		}
	}
	if (check && cron)
		return cli_usage_error(e, "timers", "--check and --cron do not go together");
	/* Only the schedules matter here: whether each step's job exists is
	 * check-config's business, so jobs are not looked up. */
	struct dag_set set;
	const struct dag **dags = NULL;
	memset(&set, 0, sizeof(set));
	int n = 0, rc = cli_config(cli, 1, e) ? -1 : dag_set_load(&set, &cli->cfg, NULL, e);
	if (rc == 0) {
		dags = calloc((size_t)set.ndags + (size_t)argc + 1, sizeof(*dags));
		if (!dags)
			rc = err_set(e, ERR_INTERNAL, "out of memory");
	}
	/* The DAGs named, in the order given, else every DAG. */
	for (int i = optind; rc == 0 && i < argc; i++) {
		dags[n] = dag_set_find(&set, argv[i], e);
		rc = dags[n++] ? 0 : -1;
	}
	for (int i = 0; rc == 0 && optind >= argc && i < set.ndags; i++)
		dags[n++] = &set.dags[i];
	if (rc == 0) {
		if (check)
			rc = check_units(dags, n, check, cli->cfg.path, e);
		else if (cron)
			rc = print_cron(dags, n, e);
		else
			print_dropins(dags, n);
	}
	free(dags);
	dag_set_release(&set);
	return rc;
}

const struct command cmd_timers = {
	"timers", timers_main, "print the timer schedules the DAGs ask for, or check the units",
	"usage: billrun timers [DAG...] [--check DIR | --cron]\n"
	"\n"
	"Each DAG has a `schedule`, a systemd OnCalendar expression, and a timer\n"
	"unit billrun-DAG.timer that starts it ('_' in the DAG's name becomes '-':\n"
	"DAG month_end has billrun-month-end.timer). Without options, print for\n"
	"each DAG (or those named) a drop-in that gives its timer the DAG's\n"
	"schedule:\n"
	"\n"
	"    # billrun-nightly.timer: DAG nightly\n"
	"    [Timer]\n"
	"    OnCalendar=\n"
	"    OnCalendar=*-*-* 02:00:00\n"
	"\n"
	"Save a block as /etc/systemd/system/UNIT.d/schedule.conf (the empty\n"
	"OnCalendar= clears the packaged schedule) and run 'systemctl\n"
	"daemon-reload'. A new DAG needs its own .service and .timer: copy\n"
	"billrun-nightly.service and .timer and change the DAG's name.\n"
	"\n"
	"  --check DIR   compare with the timer units in DIR and their drop-ins\n"
	"                (DIR/UNIT.d/*.conf): each DAG's unit must exist and have\n"
	"                exactly one OnCalendar=, equal to the DAG's schedule as\n"
	"                text. Prints one line per unit (ok, differs, missing).\n"
	"  --cron        print /etc/cron.d lines for the DAGs instead, for machines\n"
	"                without systemd; they do nothing where systemd runs,\n"
	"                apply pending migrations, run the DAG with --catch-up\n"
	"                and append to " CRON_LOG ". A schedule cron\n"
	"                cannot express (seconds, years, time zones) is an error.\n"
	"\n"
	"The units and cron lines use the default configuration file\n"
	"/etc/billrun/billrun.conf.\n"
	"\n"
	"Exit status: 0 printed, or every unit agrees; 78 a unit is missing or\n"
	"disagrees, a schedule has no cron form, or the configuration is bad.\n"
};
