/*
 * test_ops.c - what the sysadmin and the person on call get: the systemd
 * units (systemd-analyze verify), `billrun timers` against the shipped
 * timers and cron file, `make deb` and lintian, installing the package,
 * the man pages (rendered without warnings, every command and key
 * documented, installed by `make install`), the run report rendered by
 * headless Chromium, and the metrics file checked by promtool.
 *
 * The tools come from tools/deps.sh (`make test` runs it first). A test
 * whose tool is still missing installs it when run as root, and otherwise
 * is skipped with a message saying what to install; none passes silently.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support.h"

static char out[262144];
static char dir[256];

/* Run a shell command built from a format; output in out. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return test_sh(out, sizeof(out), cmd);
}

/* `make` in the source tree, free of the MAKEFLAGS and command-line
 * variables (make exports those to the environment) of the `make test`
 * that runs us (SANITIZE=1 would otherwise reach the package build). */
#define MAKE "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SANITIZE -u FUZZ make --no-print-directory -s -C"

static int have(const char *tool)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
	return system(cmd) == 0;
}

/*
 * Make sure tool is there: install the project's packages (tools/deps.sh)
 * when it is missing and we are root. Returns 1 when it is there; else
 * prints why and returns 0, and the caller skips.
 */
static int need(const char *tool, const char *package)
{
	if (have(tool))
		return 1;
	if (geteuid() == 0) {
		fprintf(stderr, "test_ops: %s is missing; installing the project's packages (tools/deps.sh)\n", tool);
		if (sh("sh '%s' 2>&1", test_src("tools/deps.sh")) != 0)
			fprintf(stderr, "%s", out);
		if (have(tool))
			return 1;
	}
	fprintf(stderr, "test_ops: SKIP: '%s' is not installed (Debian package %s); run 'make deps' as root\n", tool,
		package);
	return 0;
}
#define NEED(tool, package)                  \
	do {                                 \
		if (!need(tool, package))    \
			skip();              \
	} while (0)

static int setup(void **state)
{
	return test_tmpdir(dir, sizeof(dir));
}

static int teardown(void **state)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	test_sh(out, sizeof(out), cmd);
	return 0;
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	rewind(f);
	char *buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = '\0';
	fclose(f);
	return buf;
}

static const char *const units[] = { "billrun-nightly.service", "billrun-nightly.timer", "billrun-month-end.service",
				     "billrun-month-end.timer", "billrun-sla-check.service",
				     "billrun-sla-check.timer", "billrun-db.service" };

/* ---- systemd units ---- */

static void the_units_pass_systemd_analyze_verify(void **state)
{
	NEED("systemd-analyze", "systemd");
	/* A root holding the system's own units, the binary where ExecStart
	 * says, the man pages Documentation= names, and our units. */
	assert_int_equal(sh("set -e; r='%s/root'; mkdir -p $r/usr/bin $r/usr/lib/systemd $r/usr/share/man/man1 "
			    "$r/usr/share/man/man5 $r/etc; ln -s usr/lib $r/lib; ln -s usr/bin $r/bin; "
			    "cp -a /usr/lib/systemd/system $r/usr/lib/systemd/; cp '%s' $r/usr/bin/billrun; "
			    "cp '%s' $r/usr/share/man/man1/; cp '%s' $r/usr/share/man/man5/; "
			    "cp %s/*.service %s/*.timer $r/usr/lib/systemd/system/ 2>&1",
			    dir, getenv("BILLRUN_BIN"), test_src("packaging/man/billrun.1"),
			    test_src("packaging/man/billrun.conf.5"), test_src("packaging/systemd"),
			    test_src("packaging/systemd")),
			 0);
	char list[2048] = "";
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), " %s/root/usr/lib/systemd/system/%s", dir,
			 units[i]);
	int rc = sh("MANPATH='%s/root/usr/share/man' systemd-analyze verify --root='%s/root'%s 2>&1", dir, dir, list);
	if (rc != 0 || out[0])
		fprintf(stderr, "systemd-analyze verify said:\n%s", out);
	assert_int_equal(rc, 0);
	/* Warnings (an unknown key, a bad value) still exit 0: none allowed. */
	assert_string_equal(out, "");
}

static void the_units_are_hardened_persistent_and_accept_the_lock_status(void **state)
{
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		char rel[128];
		snprintf(rel, sizeof(rel), "packaging/systemd/%s", units[i]);
		char *text = read_text(test_src(rel));
		assert_non_null(text);
		if (strstr(units[i], ".service")) {
			static const char *const musts[] = { "User=billrun", "ProtectSystem=strict", "PrivateTmp=yes",
							     "NoNewPrivileges=yes", "ProtectHome=yes" };
			for (size_t k = 0; k < sizeof(musts) / sizeof(musts[0]); k++)
				if (!strstr(text, musts[k])) {
					fprintf(stderr, "%s lacks %s\n", units[i], musts[k]);
					fail();
				}
			if (strcmp(units[i], "billrun-db.service") != 0)
				assert_non_null(strstr(text, "\nSuccessExitStatus=75\n"));
		} else {
			assert_non_null(strstr(text, "\nPersistent=true\n"));
			assert_non_null(strstr(text, "\nRandomizedDelaySec="));
			assert_non_null(strstr(text, "\nWantedBy=timers.target\n"));
		}
		free(text);
	}
}

static void every_timer_schedule_is_a_valid_calendar_expression(void **state)
{
	NEED("systemd-analyze", "systemd");
	assert_int_equal(sh("cd '%s' && for t in *.timer; do sed -n 's/^OnCalendar=//p' $t | while read -r c; do "
			    "systemd-analyze calendar \"$c\" >/dev/null || echo \"$t: bad OnCalendar $c\"; done; done 2>&1",
			    test_src("packaging/systemd")),
			 0);
	assert_string_equal(out, "");
}

/* ---- billrun timers ---- */

static int billrun_conf(const char *conf, const char *a1, const char *a2, const char *a3)
{
	const char *args[] = { "-c", conf, a1, a2, a3, NULL };
	return test_billrun(out, sizeof(out), args);
}

static void billrun_timers_agrees_with_the_shipped_timer_units(void **state)
{
	const char *conf = test_src("conf/billrun.conf");
	/* The drop-ins printed carry the same OnCalendar lines as the units. */
	assert_int_equal(billrun_conf(conf, "timers", NULL, NULL), 0);
	char printed[8192];
	snprintf(printed, sizeof(printed), "%s", out);
	assert_non_null(strstr(printed, "# billrun-nightly.timer: DAG nightly\n[Timer]\nOnCalendar=\nOnCalendar="));
	assert_non_null(strstr(printed, "# billrun-month-end.timer: DAG month_end\n"));
	assert_int_equal(sh("cd '%s' && for t in billrun-nightly.timer billrun-month-end.timer; do "
			    "echo \"# $t\"; grep '^OnCalendar=' $t; done",
			    test_src("packaging/systemd")),
			 0);
	/* Compare unit by unit: "# UNIT" then its OnCalendar line. */
	const char *p = out;
	int compared = 0;
	while ((p = strstr(p, "# billrun-")) != NULL) {
		char unit[128], line[256], want[512];
		if (sscanf(p, "# %127s\n%255[^\n]", unit, line) != 2)
			break;
		snprintf(want, sizeof(want), "# %s: DAG", unit);
		const char *block = strstr(printed, want);
		assert_non_null(block);
		snprintf(want, sizeof(want), "OnCalendar=\n%s\n", line);
		assert_non_null(strstr(block, want));
		compared++;
		p += 2;
	}
	assert_int_equal(compared, 2);
	/* And --check says so, unit by unit. */
	assert_int_equal(billrun_conf(conf, "timers", "--check", test_src("packaging/systemd")), 0);
	assert_non_null(strstr(out, "billrun-nightly.timer: ok: OnCalendar=*-*-* 02:00:00"));
	assert_non_null(strstr(out, "billrun-month-end.timer: ok: OnCalendar=*-*-01 04:00:00"));
}

static void billrun_timers_check_finds_drift_and_the_printed_dropin_cures_it(void **state)
{
	char conf[512], units_dir[512];
	snprintf(conf, sizeof(conf), "%s/billrun.conf", dir);
	snprintf(units_dir, sizeof(units_dir), "%s/system", dir);
	/* The shipped config with the nightly run moved to 01:30 and a new DAG. */
	assert_int_equal(sh("sed 's/\"\\*-\\*-\\* 02:00:00\"/\"*-*-* 01:30:00\"/' '%s' > '%s' && "
			    "sed -i 's/^dags = {/dags = {\\n  extra_run = { schedule = \"Mon..Fri *-*-* 07:15\"; "
			    "steps = ( { name = \"a\"; exec = \"true\"; } ); };/' '%s' && "
			    "mkdir -p '%s' && cp %s/*.timer '%s'/ && grep -c 01:30 '%s'",
			    test_src("conf/billrun.conf"), conf, conf, units_dir, test_src("packaging/systemd"),
			    units_dir, conf),
			 0);
	assert_int_equal(billrun_conf(conf, "timers", "--check", units_dir), 78);
	assert_non_null(strstr(out, "billrun-nightly.timer: differs: the unit has OnCalendar=*-*-* 02:00:00, DAG "
				    "nightly has schedule \"*-*-* 01:30:00\""));
	assert_non_null(strstr(out, "billrun-extra-run.timer: missing"));
	assert_non_null(strstr(out, "billrun-month-end.timer: ok"));
	assert_non_null(strstr(out, "2 timer units"));
	/* Install what `billrun timers nightly` prints as a drop-in: the
	 * nightly unit agrees again. */
	assert_int_equal(sh("mkdir -p '%s/billrun-nightly.timer.d' && '%s' -c '%s' timers nightly "
			    "> '%s/billrun-nightly.timer.d/schedule.conf'",
			    units_dir, getenv("BILLRUN_BIN"), conf, units_dir),
			 0);
	assert_int_equal(billrun_conf(conf, "timers", "--check", units_dir), 78);
	assert_non_null(strstr(out, "billrun-nightly.timer: ok: OnCalendar=*-*-* 01:30:00"));
	assert_non_null(strstr(out, "1 timer unit in"));
}

static void the_cron_file_has_the_schedules_billrun_timers_prints(void **state)
{
	const char *conf = test_src("conf/billrun.conf");
	assert_int_equal(billrun_conf(conf, "timers", "--cron", NULL), 0);
	char printed[4096];
	snprintf(printed, sizeof(printed), "%s", out);
	assert_non_null(strstr(printed, "0 2 * * * billrun "));
	assert_non_null(strstr(printed, "0 4 1 * * billrun "));
	/* The shipped file's DAG lines are exactly these. */
	assert_int_equal(sh("grep -v '^#' '%s' | grep 'billrun run '", test_src("packaging/cron/billrun")), 0);
	assert_string_equal(out, printed);
	/* Where systemd runs, the lines do nothing. */
	assert_int_equal(sh("grep -v '^#' '%s' | grep -c 'billrun \\[ -d /run/systemd/system \\] ||'",
			    test_src("packaging/cron/billrun")),
			 0);
	assert_int_equal(atoi(out), 3);
}

static void schedules_translate_to_cron_or_are_refused(void **state)
{
	char conf[512];
	snprintf(conf, sizeof(conf), "%s/cron.conf", dir);
	static const struct { const char *schedule, *cron; } ok[] = {
		{ "Mon..Fri *-*-* 06:30:00", "30 6 * * 1-5" },
		{ "*-*-* *:0/15", "0-59/15 * * * *" },
		{ "Sat,Sun 22:05", "5 22 * * 6,0" },
		{ "*-01,07-01 00:00:00", "0 0 1 1,7 *" },
		{ "hourly", "0 * * * *" },
		{ "*-*-1..7 03:00", "0 3 1-7 * *" },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char text[1024];
		snprintf(text, sizeof(text), "dags = { d = { schedule = \"%s\"; steps = ( { name = \"a\"; exec = \"true\"; } ); }; };\n",
			 ok[i].schedule);
		assert_int_equal(test_write_file(conf, text), 0);
		assert_int_equal(billrun_conf(conf, "timers", "--cron", NULL), 0);
		char want[256];
		snprintf(want, sizeof(want), "%s billrun ", ok[i].cron);
		if (strncmp(out, want, strlen(want)) != 0) {
			fprintf(stderr, "schedule '%s': want '%s', got: %s", ok[i].schedule, ok[i].cron, out);
			fail();
		}
	}
	static const char *const refused[] = { "*-*-* 02:00:30", "*-*-* 02:00 Europe/Berlin", "2027-*-* 02:00",
					       "Mon *-*-01 02:00", "*-*~01 02:00" };
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		char text[1024];
		snprintf(text, sizeof(text), "dags = { d = { schedule = \"%s\"; steps = ( { name = \"a\"; exec = \"true\"; } ); }; };\n",
			 refused[i]);
		assert_int_equal(test_write_file(conf, text), 0);
		assert_int_equal(billrun_conf(conf, "timers", "--cron", NULL), 78);
		assert_non_null(strstr(out, "has no cron form"));
	}
}

/* ---- the Debian package ---- */

static char deb[1024];

static const char *build_deb(void)
{
	if (deb[0])
		return deb;
	int rc = sh(MAKE " '%s' deb 2>&1 | tail -n 1", test_src(""));
	out[strcspn(out, "\n")] = '\0';
	if (rc != 0 || strstr(out, ".deb") == NULL || access(out, R_OK) != 0) {
		fprintf(stderr, "make deb failed: %s\n", out);
		return NULL;
	}
	snprintf(deb, sizeof(deb), "%s", out);
	return deb;
}

static void make_deb_builds_a_package_with_binary_sql_config_units_and_man_pages(void **state)
{
	NEED("dpkg-deb", "dpkg");
	NEED("dpkg-shlibdeps", "dpkg-dev");
	const char *path = build_deb();
	assert_non_null(path);
	assert_int_equal(sh("billrun_version=$('%s' version | cut -d' ' -f2); "
			    "case '%s' in */billrun_${billrun_version}_$(dpkg --print-architecture).deb) echo named;; esac",
			    getenv("BILLRUN_BIN"), path),
			 0);
	assert_string_equal(out, "named\n");
	assert_int_equal(sh("dpkg-deb -c '%s'", path), 0);
	static const char *const files[] = {
		" ./usr/bin/billrun\n", "./usr/share/billrun/sql/001_roles.sql\n", "./usr/share/billrun/sql/002_runs.sql\n",
		"./etc/billrun/billrun.conf\n", "./lib/systemd/system/billrun-nightly.service\n",
		"./lib/systemd/system/billrun-nightly.timer\n", "./lib/systemd/system/billrun-month-end.service\n",
		"./lib/systemd/system/billrun-month-end.timer\n", "./lib/systemd/system/billrun-sla-check.service\n",
		"./lib/systemd/system/billrun-sla-check.timer\n", "./lib/systemd/system/billrun-db.service\n",
		"./usr/share/man/man1/billrun.1.gz\n", "./usr/share/man/man5/billrun.conf.5.gz\n",
		"./etc/cron.d/billrun\n", "./etc/logrotate.d/billrun\n", "./usr/share/doc/billrun/copyright\n",
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (!strstr(out, files[i])) {
			fprintf(stderr, "the package lacks %s", files[i]);
			fail();
		}
	/* Every migration of the tree is in it. */
	assert_int_equal(sh("cd '%s' && for m in *.sql; do dpkg-deb -c '%s' | grep \"/usr/share/billrun/sql/$m$\" >/dev/null || "
			    "echo \"missing $m\"; done",
			    test_src("sql/migrations"), path),
			 0);
	assert_string_equal(out, "");
	/* The configuration files are conffiles, and the library
	 * dependencies were computed. */
	assert_int_equal(sh("dpkg-deb -f '%s' Depends; dpkg-deb -I '%s' conffiles", path, path), 0);
	assert_non_null(strstr(out, "libc6"));
	assert_non_null(strstr(out, "libpq5"));
	assert_non_null(strstr(out, "/etc/billrun/billrun.conf\n"));
	assert_non_null(strstr(out, "/etc/cron.d/billrun\n"));
}

static void lintian_reports_no_errors_on_the_package(void **state)
{
	NEED("dpkg-deb", "dpkg");
	NEED("lintian", "lintian");
	const char *path = build_deb();
	assert_non_null(path);
	int rc = sh("lintian --tag-display-limit 0 '%s' 2>&1 | grep -v 'running with root privileges'", path);
	/* Show what lintian said (warnings too), then insist on no error. */
	if (out[0])
		fprintf(stderr, "lintian:\n%s", out);
	(void)rc;
	/* Errors fail; warnings are shown above (there are none today). */
	assert_null(strstr(out, "E: "));
}

static void installing_the_package_creates_the_user_and_folders(void **state)
{
	if (geteuid() != 0) {
		fprintf(stderr, "test_ops: SKIP: installing the package needs root\n");
		skip();
	}
	/* Never disturb a real installation. */
	if (sh("dpkg-query -W -f='${Status}' billrun 2>/dev/null | grep -q 'ok installed' || "
	       "[ -e /etc/billrun ] || [ -e /var/lib/billrun ] || getent passwd billrun") == 0) {
		fprintf(stderr, "test_ops: SKIP: billrun is installed here already (or its user or folders exist); "
				"not touching it\n");
		skip();
	}
	NEED("dpkg-deb", "dpkg");
	const char *path = build_deb();
	assert_non_null(path);
	int rc = sh("dpkg -i '%s' 2>&1", path);
	if (rc != 0)
		fprintf(stderr, "dpkg -i failed:\n%s", out);
	int installed = rc == 0;
	if (installed) {
		rc = sh("set -e; getent passwd billrun | cut -d: -f6,7; "
			"stat -c '%%n %%U %%a' /var/lib/billrun /var/spool/billrun /var/log/billrun /etc/billrun/billrun.conf; "
			"/usr/bin/billrun version; man -w billrun billrun.conf; "
			"/usr/bin/billrun timers --check /lib/systemd/system >/dev/null && echo timers agree");
		if (rc != 0)
			fprintf(stderr, "after installing:\n%s", out);
	}
	char after[4096];
	snprintf(after, sizeof(after), "%s", out);
	/* Purge: the user and the folders go again. */
	int purged = sh("dpkg --purge billrun 2>&1; getent passwd billrun; ls -d /var/lib/billrun /etc/billrun 2>/dev/null; true");
	char purge_out[4096];
	snprintf(purge_out, sizeof(purge_out), "%s", out);
	assert_true(installed);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(after, "/var/lib/billrun:/usr/sbin/nologin\n"));
	assert_non_null(strstr(after, "/var/lib/billrun billrun 750\n"));
	assert_non_null(strstr(after, "/var/spool/billrun billrun 750\n"));
	assert_non_null(strstr(after, "/var/log/billrun billrun 2750\n"));
	assert_non_null(strstr(after, "/etc/billrun/billrun.conf root 640\n"));
	assert_non_null(strstr(after, "/usr/share/man/man1/billrun.1.gz"));
	assert_non_null(strstr(after, "timers agree"));
	assert_int_equal(purged, 0);
	assert_null(strstr(purge_out, "billrun:x:"));
	assert_null(strstr(purge_out, "/var/lib/billrun\n"));
}

/* ---- man pages ---- */

static void the_man_pages_render_without_warnings(void **state)
{
	NEED("groff", "groff-base");
	NEED("man", "man-db");
	static const char *const pages[] = { "packaging/man/billrun.1", "packaging/man/billrun.conf.5" };
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(sh("groff -man -ww -z '%s' 2>&1", test_src(pages[i])), 0);
		assert_string_equal(out, "");
		assert_int_equal(sh("LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l '%s' 2>&1 >/dev/null", test_src(pages[i])),
				 0);
		assert_string_equal(out, "");
		assert_int_equal(sh("LC_ALL=C.UTF-8 MANWIDTH=80 man -l '%s' 2>/dev/null | head -n 3", test_src(pages[i])), 0);
		assert_non_null(strstr(out, i == 0 ? "BILLRUN(1)" : "BILLRUN.CONF(5)"));
	}
}

static void every_command_and_every_config_key_is_documented(void **state)
{
	char *page1 = read_text(test_src("packaging/man/billrun.1"));
	char *page5 = read_text(test_src("packaging/man/billrun.conf.5"));
	assert_non_null(page1);
	assert_non_null(page5);
	int missing = 0;
	/* Commands: the table `billrun help` prints. */
	const char *args[] = { "help", NULL };
	assert_int_equal(test_billrun(out, sizeof(out), args), 0);
	const char *p = strstr(out, "Commands:\n");
	assert_non_null(p);
	for (p = strchr(p, '\n') + 1; *p == ' '; p = strchr(p, '\n') + 1) {
		char name[64], roff[128], want[160];
		if (sscanf(p, " %63s", name) != 1)
			break;
		/* In roff a hyphen is written \- */
		size_t n = 0;
		for (const char *c = name; *c && n + 2 < sizeof(roff); c++) {
			if (*c == '-')
				roff[n++] = '\\';
			roff[n++] = *c;
		}
		roff[n] = '\0';
		snprintf(want, sizeof(want), "\n.SS %s\n", roff);
		if (!strstr(page1, want)) {
			fprintf(stderr, "billrun.1 has no section '.SS %s' for the command '%s'\n", roff, name);
			missing++;
		}
	}
	/* Keys: every one declared in core/cfg.c's table. */
	char *cfg = read_text(test_src("core/cfg.c"));
	assert_non_null(cfg);
	int keys = 0;
	for (const char *k = strstr(cfg, "static const struct cfg_key keys[]"); k && (k = strstr(k, "\t{ \"")); k++) {
		char key[128], want[160];
		if (sscanf(k, "\t{ \"%127[^\"]\", CFG_", key) != 1)
			continue;
		snprintf(want, sizeof(want), "\n.B %s\n", key);
		keys++;
		if (!strstr(page5, want)) {
			/* Two keys documented together: ".TQ". */
			fprintf(stderr, "billrun.conf.5 does not document the key '%s' (as '.B %s')\n", key, key);
			missing++;
		}
	}
	assert_true(keys > 40);
	free(cfg);
	free(page1);
	free(page5);
	assert_int_equal(missing, 0);
}

static void make_install_installs_the_man_pages_under_destdir(void **state)
{
	assert_int_equal(sh(MAKE " '%s' install DESTDIR='%s/dest' >/dev/null 2>&1; ls '%s/dest/usr/share/man/man1' "
			    "'%s/dest/usr/share/man/man5' '%s/dest/usr/bin'",
			    test_src(""), dir, dir, dir, dir),
			 0);
	assert_non_null(strstr(out, "billrun.1\n"));
	assert_non_null(strstr(out, "billrun.conf.5\n"));
	assert_non_null(strstr(out, "billrun\n"));
}

/* ---- a real run: the report and the metrics ---- */

static char dsn[1024], conf[512];
static PGconn *conn;

static int billrun_run(const char *a1, const char *a2, const char *a3, const char *a4, const char *a5)
{
	const char *args[] = { "-c", conf, a1, a2, a3, a4, a5, NULL };
	return test_billrun(out, sizeof(out), args);
}

static void exec_sql(const char *sql)
{
	PGresult *r = PQexec(conn, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "%s: %s", sql, PQerrorMessage(conn));
		fail();
	}
	PQclear(r);
}

/* A database and a run with a retry, a failure, a step not run, a slow
 * step and deadlines; returns 0 when there is no server. */
static int with_a_run(const char *name)
{
	if (!test_pg_dsn())
		return 0;
	assert_int_equal(test_db_fresh(name, dsn, sizeof(dsn)), 0);
	snprintf(conf, sizeof(conf), "%s/billrun.conf", dir);
	char text[4096], rules[600];
	snprintf(rules, sizeof(rules), "%s/rates.conf", dir);
	assert_int_equal(test_write_file(rules, "meters = ();\n"), 0);
	snprintf(text, sizeof(text),
		 "state_dir = \"%s/state\";\n"
		 "database = { dsn = \"%s\"; connect_retries = 0; };\n"
		 "rules = { file = \"%s\"; };\n"
		 "dags = { nightly = { max_parallel = 2; sla = \"3s\"; steps = (\n"
		 "  { name = \"ingest\"; exec = \"sleep 1.2\"; sla = \"1s\"; },\n"
		 "  { name = \"rate\"; after = [\"ingest\"]; retries = 2; retry_delay = \"300ms\";\n"
		 "    exec = \"n=$(cat %s/n 2>/dev/null || echo 0); echo $((n+1)) > %s/n; sleep 0.4; [ $n -ge 1 ] || exit 75\"; },\n"
		 "  { name = \"reconcile\"; after = [\"ingest\"]; exec = \"sleep 0.6; echo 'totals differ' >&2; exit 1\"; },\n"
		 "  { name = \"invoice\"; after = [\"rate\", \"reconcile\"]; exec = \"true\"; },\n"
		 "  { name = \"archive\"; after = [\"invoice\"]; trigger = \"all_done\"; exec = \"sleep 0.3\"; }\n"
		 "); }; };\n",
		 dir, dsn, rules, dir, dir);
	assert_int_equal(test_write_file(conf, text), 0);
	assert_int_equal(billrun_run("db", "migrate", NULL, NULL, NULL), 0);
	conn = PQconnectdb(dsn);
	assert_int_equal(PQstatus(conn), CONNECTION_OK);
	/* A table of this run's own making: counted and totalled by the
	 * report because it has run_id (indexed), currency and total. */
	exec_sql("CREATE TABLE test_invoices (id serial PRIMARY KEY, run_id bigint, currency char(3), total numeric);"
		 "CREATE INDEX ON test_invoices (run_id);"
		 "GRANT SELECT ON test_invoices TO billrun_app, billrun_auditor");
	assert_int_equal(billrun_run("run", "nightly", "--period", "2026-11-21", NULL), 3);
	exec_sql("INSERT INTO test_invoices (run_id, currency, total) VALUES "
		 "(1, 'EUR', 1234.56), (1, 'EUR', 0.44), (1, 'USD', 99.999999999), (2, 'EUR', 5)");
	return 1;
}

static void release_run(void)
{
	if (conn)
		PQfinish(conn);
	conn = NULL;
}

static void the_run_report_shows_steps_retries_deadlines_and_amounts(void **state)
{
	if (!test_pg_dsn()) {
		fprintf(stderr, "test_ops: SKIP: TEST_PG_DSN is not set\n");
		skip();
	}
	assert_int_equal(with_a_run("test_ops_report"), 1);
	/* A predicted miss, as the SLA monitor would record it, when the SLA
	 * tables exist (migration 006). */
	PGresult *r = PQexec(conn, "SELECT to_regclass('sla_events') IS NOT NULL");
	int have_sla = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	if (have_sla)
		exec_sql("INSERT INTO sla_events (dag, period_start, step, kind, run_id, deadline, projected_at, raised_by) "
			 "SELECT dag, period_start, 'rate', 'predicted_miss', id, started_at + interval '2 s', "
			 "started_at + interval '2.9 s', 'test' FROM runs WHERE id = 1 "
			 "ON CONFLICT DO NOTHING");
	/* A run deadline five days before the run started (a catch-up run
	 * of an old period): stated in words, never drawn at the edge. */
	if (have_sla)
		exec_sql("INSERT INTO sla_deadlines (run_id, step, spec, deadline) SELECT id, '', '06:00 UTC', "
			 "started_at - interval '5 days' FROM runs WHERE id = 1 "
			 "ON CONFLICT (run_id, step) DO UPDATE SET deadline = EXCLUDED.deadline");
	char html[600];
	snprintf(html, sizeof(html), "%s/report.html", dir);
	assert_int_equal(billrun_run("report", "1", "--out", html, NULL), 0);
	char *page = read_text(html);
	assert_non_null(page);
	/* One self-contained page: no scripts, no external resources. */
	assert_null(strstr(page, "<script"));
	assert_null(strstr(page, "<link"));
	assert_null(strstr(page, "src="));
	assert_null(strstr(page, "url("));
	assert_non_null(strstr(page, "<svg class=\"timeline\""));
	static const char *const steps[] = { ">ingest<", ">rate<", ">reconcile<", ">invoice<", ">archive<" };
	for (size_t i = 0; i < 5; i++)
		assert_non_null(strstr(page, steps[i]));
	/* rate took two attempts, each its own bar, the wait between dashed. */
	assert_non_null(strstr(page, "rate attempt 1: retryable"));
	assert_non_null(strstr(page, "rate attempt 2: success"));
	assert_non_null(strstr(page, "class=\"wait\""));
	assert_non_null(strstr(page, "reconcile attempt 1: failed"));
	assert_non_null(strstr(page, "not run (upstream failed)"));
	/* Counts and exact totals. */
	assert_non_null(strstr(page, "<code>test_invoices</code></td><td>EUR</td><td class=\"n\">2</td><td class=\"n\">1235.00</td>"));
	assert_non_null(strstr(page, "99.999999999"));
	/* The totals stand at the top, before the timeline. */
	const char *totals = strstr(page, "<div class=\"totals\">"), *timeline = strstr(page, "<h2>Timeline");
	assert_non_null(totals);
	assert_non_null(timeline);
	assert_true(totals < timeline);
	assert_non_null(strstr(totals, "records read"));
	assert_non_null(strstr(totals, "invoiced"));
	assert_non_null(strstr(totals, "holds"));
	assert_non_null(strstr(totals, "SLA misses"));
	/* The axis has readable ticks: the run lasts seconds, so several
	 * labelled ticks, not one. */
	int ticks = 0;
	for (const char *p = page; (p = strstr(p, "class=\"tick\"")) != NULL; p++)
		ticks++;
	assert_true(ticks >= 4);
	if (have_sla) {
		/* The deadline five days before the start is told in words
		 * and is the one SLA miss. */
		const char *words = strstr(page, "<ul class=\"outside\">");
		assert_non_null(words);
		assert_non_null(strstr(words, "run deadline"));
		assert_non_null(strstr(words, "5d"));
		assert_non_null(strstr(words, "before the run started, missed"));
		/* counted among the SLA misses at the top (with rate's, when
		 * rate finished after its deadline) */
		assert_non_null(strstr(totals, "SLA misses"));
		assert_null(strstr(totals, "<b>0</b> SLA misses"));
		assert_non_null(strstr(page, "class=\"deadline"));
		assert_non_null(strstr(page, "run deadline"));
		assert_non_null(strstr(page, "predicted finish of rate"));
		assert_non_null(strstr(page, "class=\"predicted\""));
	}
	free(page);
	/* Without --out it goes into the run's output folder; '-' prints it. */
	assert_int_equal(billrun_run("report", "1", NULL, NULL, NULL), 0);
	assert_non_null(strstr(out, "/run-1/run-report.html"));
	assert_int_equal(billrun_run("report", "--out", "-", NULL, NULL), 0);
	assert_non_null(strstr(out, "<!DOCTYPE html>"));
	assert_int_equal(billrun_run("report", "99", NULL, NULL, NULL), 65);
	release_run();
}

static void the_runner_leaves_the_report_in_the_output_folder(void **state)
{
	if (!test_pg_dsn()) {
		fprintf(stderr, "test_ops: SKIP: TEST_PG_DSN is not set\n");
		skip();
	}
	assert_int_equal(with_a_run("test_ops_runner_report"), 1);
	PGresult *r = PQexec(conn, "SELECT output_dir FROM runs WHERE id = 1");
	char path[4200];
	snprintf(path, sizeof(path), "%s/run-report.html", PQgetvalue(r, 0, 0));
	PQclear(r);
	release_run();
	assert_int_equal(access(path, R_OK), 0);
	char *page = read_text(path);
	assert_non_null(page);
	assert_non_null(strstr(page, "<svg class=\"timeline\""));
	free(page);
}

/* PNG width and height from its IHDR chunk. */
static int png_size(const char *path, unsigned *w, unsigned *h)
{
	unsigned char b[24];
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	size_t n = fread(b, 1, sizeof(b), f);
	fclose(f);
	if (n != sizeof(b) || memcmp(b, "\x89PNG\r\n\x1a\n", 8) != 0 || memcmp(b + 12, "IHDR", 4) != 0)
		return -1;
	*w = (unsigned)b[16] << 24 | (unsigned)b[17] << 16 | (unsigned)b[18] << 8 | b[19];
	*h = (unsigned)b[20] << 24 | (unsigned)b[21] << 16 | (unsigned)b[22] << 8 | b[23];
	return 0;
}

static void the_run_report_renders_in_headless_chromium(void **state)
{
	if (!test_pg_dsn()) {
		fprintf(stderr, "test_ops: SKIP: TEST_PG_DSN is not set\n");
		skip();
	}
	NEED("chromium", "chromium");
	assert_int_equal(with_a_run("test_ops_chromium"), 1);
	PGresult *r = PQexec(conn, "SELECT to_regclass('sla_events') IS NOT NULL");
	if (strcmp(PQgetvalue(r, 0, 0), "t") == 0)
		exec_sql("INSERT INTO sla_events (dag, period_start, step, kind, run_id, deadline, projected_at, raised_by) "
			 "SELECT dag, period_start, '', 'predicted_miss', id, started_at + interval '3 s', "
			 "started_at + interval '3.5 s', 'test' FROM runs WHERE id = 1 "
			 "ON CONFLICT DO NOTHING");
	PQclear(r);
	release_run();
	char html[600], png[600];
	snprintf(html, sizeof(html), "%s/report.html", dir);
	snprintf(png, sizeof(png), "%s/report.png", dir);
	assert_int_equal(billrun_run("report", "1", "--out", html, NULL), 0);
	int rc = sh("profile=$(mktemp -d) && timeout 180 chromium --headless --no-sandbox --disable-gpu --disable-quic "
		    "--no-first-run --disable-background-networking --disable-component-update --disable-sync "
		    "--user-data-dir=$profile --screenshot='%s' --window-size=1200,800 'file://%s' 2>&1; "
		    "s=$?; rm -rf $profile; exit $s",
		    png, html);
	if (rc != 0)
		fprintf(stderr, "chromium exited %d:\n%s", rc, out);
	assert_int_equal(rc, 0);
	unsigned w = 0, h = 0;
	assert_int_equal(png_size(png, &w, &h), 0);
	assert_int_equal(w, 1200);
	assert_int_equal(h, 800);
	struct stat st;
	assert_int_equal(stat(png, &st), 0);
	assert_true(st.st_size > 20000); /* a page with text and bars, not a blank one */
	/* Keep a copy for people to look at. */
	const char *keep = getenv("BILLRUN_REPORT_PNG");
	if (keep && *keep)
		sh("cp '%s' '%s' && cp '%s' '%s.html'", png, keep, html, keep);
}

static void promtool_accepts_the_metrics_file_of_a_run(void **state)
{
	if (!test_pg_dsn()) {
		fprintf(stderr, "test_ops: SKIP: TEST_PG_DSN is not set\n");
		skip();
	}
	NEED("promtool", "prometheus");
	assert_int_equal(with_a_run("test_ops_metrics"), 1);
	release_run();
	char prom[600];
	snprintf(prom, sizeof(prom), "%s/state/metrics/billrun_nightly.prom", dir);
	assert_int_equal(access(prom, R_OK), 0);
	int rc = sh("promtool check metrics < '%s' 2>&1", prom);
	if (rc != 0 || out[0])
		fprintf(stderr, "promtool check metrics said:\n%s", out);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(the_units_pass_systemd_analyze_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(the_units_are_hardened_persistent_and_accept_the_lock_status, setup, teardown),
		cmocka_unit_test_setup_teardown(every_timer_schedule_is_a_valid_calendar_expression, setup, teardown),
		cmocka_unit_test_setup_teardown(billrun_timers_agrees_with_the_shipped_timer_units, setup, teardown),
		cmocka_unit_test_setup_teardown(billrun_timers_check_finds_drift_and_the_printed_dropin_cures_it, setup, teardown),
		cmocka_unit_test_setup_teardown(the_cron_file_has_the_schedules_billrun_timers_prints, setup, teardown),
		cmocka_unit_test_setup_teardown(schedules_translate_to_cron_or_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(make_deb_builds_a_package_with_binary_sql_config_units_and_man_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(lintian_reports_no_errors_on_the_package, setup, teardown),
		cmocka_unit_test_setup_teardown(installing_the_package_creates_the_user_and_folders, setup, teardown),
		cmocka_unit_test_setup_teardown(the_man_pages_render_without_warnings, setup, teardown),
		cmocka_unit_test_setup_teardown(every_command_and_every_config_key_is_documented, setup, teardown),
		cmocka_unit_test_setup_teardown(make_install_installs_the_man_pages_under_destdir, setup, teardown),
		cmocka_unit_test_setup_teardown(the_run_report_shows_steps_retries_deadlines_and_amounts, setup, teardown),
		cmocka_unit_test_setup_teardown(the_runner_leaves_the_report_in_the_output_folder, setup, teardown),
		cmocka_unit_test_setup_teardown(the_run_report_renders_in_headless_chromium, setup, teardown),
		cmocka_unit_test_setup_teardown(promtool_accepts_the_metrics_file_of_a_run, setup, teardown),
	};
	return cmocka_run_group_tests_name("ops", tests, NULL, NULL);
}
