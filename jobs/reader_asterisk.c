/*
 * reader_asterisk.c - Asterisk cdr_csv call records (Master.csv): no
 * header, 18 columns (21 with newcdrcolumns: peeraccount, linkedid,
 * sequence). Account from accountcode, event key from uniqueid, meter
 * voice_seconds (or the source's fixed meter) with billsec as quantity,
 * time from start, a local time in the source's time_zone (default UTC)
 * unless it carries an offset (a time the clock shows twice or never is
 * read with the offset in force before the change). Only ANSWERED calls
 * are billable: the others are accepted with quantity 0 and billable =
 * false, so they are counted and kept but never billed. Other non-empty
 * fields become attributes (billsec and disposition among them).
 */
#include "reader.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const char *const columns[] = {
	"accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp",
	"lastdata", "start", "answer", "end", "duration", "billsec", "disposition", "amaflags",
	"uniqueid", "userfield", "peeraccount", "linkedid", "sequence",
};
enum { C_ACCOUNT = 0, C_START = 9, C_BILLSEC = 13, C_DISPOSITION = 14, C_UNIQUEID = 16 };

struct asterisk {
	char zone[128];
	int utc;
	/* The offset of the last local hour converted, when no clock change
	 * lies within a day of it (so that the whole hour has that offset). */
	int64_t cached_hour;   /* local seconds since 1970 / 3600, or INT64_MIN */
	int64_t cached_gmtoff; /* seconds east of UTC */
};

static int zone_exists(const char *zone)
{
	const char *dir = getenv("TZDIR");
	char path[512];
	struct stat st;
	if (strstr(zone, ".."))
		return 0;
	snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", zone);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int asterisk_start(struct reader *r, struct err *e)
{
	struct asterisk *a = calloc(1, sizeof(*a));
	if (!a)
		return err_set(e, ERR_INTERNAL, "out of memory");
	r->state = a;
	const char *zone = r->set->time_zone && *r->set->time_zone ? r->set->time_zone : "UTC";
	snprintf(a->zone, sizeof(a->zone), "%s", zone);
	a->utc = strcmp(zone, "UTC") == 0 || strcmp(zone, "Etc/UTC") == 0;
	a->cached_hour = INT64_MIN;
	if (!a->utc && !zone_exists(zone)) {
		err_set(e, ERR_CONFIG, "source '%s': unknown time zone '%s'", r->set->source, zone);
		return err_hint(e, "use an IANA name such as \"Europe/Berlin\" (see /usr/share/zoneinfo)");
	}
	return 0;
}

static void asterisk_release(struct reader *r)
{
	free(r->state);
	r->state = NULL;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* Seconds east of UTC at instant t, in the zone TZ names now. */
static int64_t gmtoff_at(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	return localtime_r(&tt, &tm) ? tm.tm_gmtoff : 0;
}

/*
 * The instant (seconds since 1970 UTC) of local time local (seconds since
 * 1970 as if the zone were UTC) in a->zone, from the system's time zone
 * database. Deterministic, whatever was converted before (mktime with
 * tm_isdst = -1 is not: glibc guesses from its previous call). A local
 * time the clock shows twice (it falls back) or never (it springs
 * forward) is read with the offset in force before the change: CEST for
 * 2026-10-25 02:30 Europe/Berlin (00:30 UTC), CET for 2026-03-29 02:30
 * (01:30 UTC, which the clock showed as 03:30). Assumes at most one
 * change of offset within a day either side of a time, as in every zone.
 */
static int64_t local_to_utc(struct asterisk *a, int64_t local)
{
	int64_t hour = floor_div(local, 3600);
	if (hour == a->cached_hour)
		return local - a->cached_gmtoff;
	char *old = getenv("TZ");
	char *saved = old ? strdup(old) : NULL;
	setenv("TZ", a->zone, 1);
	tzset();
	/* Offsets lie within ±15 h: a day either side brackets any instant
	 * the local time can be, so these are the offsets before and after
	 * a change near it. */
	int64_t before = gmtoff_at(local - 86400), after = gmtoff_at(local + 86400);
	int64_t off = before;
	if (before != after && gmtoff_at(local - before) != before && gmtoff_at(local - after) == after)
		off = after;   /* after the change; else before it, ambiguous, or in the gap */
	if (saved) {
		setenv("TZ", saved, 1);
		free(saved);
	} else {
		unsetenv("TZ");
	}
	tzset();
	if (before == after) {
		a->cached_hour = hour;
		a->cached_gmtoff = off;
	}
	return local - off;
}

static void asterisk_record(struct reader *r, const struct csv_record *c, struct usage_record *rec)
{
	struct asterisk *a = r->state;
	const struct reader_settings *s = r->set;

	if (c->nfields != 18 && c->nfields != 21) {
		record_fail(rec, REASON_WRONG_COLUMN_COUNT, "%zu fields, a Master.csv record has 18 (or 21)",
			    c->nfields);
		return;
	}
	const struct csv_field *v = c->fields;
	rec->account = v[C_ACCOUNT].p;
	rec->account_len = v[C_ACCOUNT].len;
	const char *meter = s->meter ? s->meter : "voice_seconds";
	rec->meter = meter;
	rec->meter_len = strlen(meter);
	rec->event_key = v[C_UNIQUEID].p;
	rec->event_key_len = v[C_UNIQUEID].len;

	const struct csv_field *disp = &v[C_DISPOSITION];
	rec->billable = disp->len == 8 && memcmp(disp->p, "ANSWERED", 8) == 0;
	const struct csv_field *bs = &v[C_BILLSEC];
	int billsec_ok = bs->len && dec_parse(&rec->quantity, bs->p, bs->len) == 0 && rec->quantity.scale == 0;
	if (billsec_ok && !rec->billable)
		rec->quantity = dec_zero();
	rec->has_quantity = billsec_ok;

	if (rec->event_key_len == 0)
		record_fail(rec, REASON_MISSING_FIELD, "uniqueid is empty");
	if (rec->account_len == 0)
		record_fail(rec, REASON_MISSING_FIELD, "accountcode is empty");
	const struct csv_field *t = &v[C_START];
	int has_offset = 0;
	if (t->len == 0)
		record_fail(rec, REASON_MISSING_FIELD, "start is empty");
	else if (parse_timestamp(t->p, t->len, 1, &has_offset, &rec->event_time))
		record_fail(rec, REASON_BAD_TIMESTAMP, "start '%.*s' is not a date and time", utf8_clip(t->p, t->len, 64), t->p);
	else if (!has_offset && !a->utc) {
		int64_t local = floor_div(rec->event_time, 1000000);
		rec->event_time += (local_to_utc(a, local) - local) * 1000000;
	}
	if (bs->len == 0)
		record_fail(rec, REASON_MISSING_FIELD, "billsec is empty");
	else if (!billsec_ok)
		record_fail(rec, REASON_BAD_NUMBER, "billsec '%.*s' is not a whole number of seconds", utf8_clip(bs->p, bs->len, 64), bs->p);
	if (rec->reason != REASON_NONE)
		return;

	struct textbuf *at = &r->attr_buf;
	at->len = 0;
	for (size_t k = 0; k < c->nfields; k++) {
		if (k == C_ACCOUNT || k == C_UNIQUEID || k == C_START || v[k].len == 0)
			continue;
		textbuf_addc(at, at->len ? ',' : '{');
		json_add_string(at, columns[k], strlen(columns[k]));
		textbuf_addc(at, ':');
		json_add_string(at, v[k].p, v[k].len);
	}
	if (at->len) {
		textbuf_addc(at, '}');
		rec->attributes = at->p;
		rec->attributes_len = at->len;
	}
}

const struct reader_format reader_asterisk = {
	"asterisk-cdr", asterisk_start, asterisk_record, asterisk_release,
};
