/*
 * reader_usage_csv.c - the generic usage CSV: a header row naming at least
 * event_id, account_id, meter, timestamp and quantity (the account, meter
 * and key columns can be renamed per source); every other column is kept
 * as a string attribute. Timestamps need an offset or Z.
 */
#include "reader.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct usage_csv {
	struct csv_header h;
	int key, account, meter, time, quantity;
};

static int usage_csv_start(struct reader *r, struct err *e)
{
	struct usage_csv *u = calloc(1, sizeof(*u));
	if (!u)
		return err_set(e, ERR_INTERNAL, "out of memory");
	r->state = u;
	if (header_read(r, &u->h, r->problem, sizeof(r->problem), e))
		return -1;
	if (r->problem[0] || u->h.n == 0)
		return 0;
	const struct reader_settings *s = r->set;
	struct { int *index; const char *name; } want[] = {
		{ &u->key, s->key_column ? s->key_column : "event_id" },
		{ &u->account, s->account_column ? s->account_column : "account_id" },
		{ &u->meter, s->meter ? NULL : s->meter_column ? s->meter_column : "meter" },
		{ &u->time, "timestamp" },
		{ &u->quantity, "quantity" },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		*want[i].index = -1;
		if (!want[i].name)
			continue;
		*want[i].index = header_take(&u->h, want[i].name);
		if (*want[i].index < 0)
			header_missing(r, &u->h, want[i].name);
	}
	return 0;
}

static void usage_csv_release(struct reader *r)
{
	struct usage_csv *u = r->state;
	if (!u)
		return;
	header_release(&u->h);
	free(u);
	r->state = NULL;
}

static void usage_csv_record(struct reader *r, const struct csv_record *c, struct usage_record *rec)
{
	struct usage_csv *u = r->state;
	const struct reader_settings *s = r->set;

	if (r->problem[0]) {
		record_fail(rec, REASON_BAD_HEADER, "%s", r->problem);
		return;
	}
	if (c->nfields != u->h.n) {
		record_fail(rec, REASON_WRONG_COLUMN_COUNT, "%zu fields, the header has %zu", c->nfields, u->h.n);
		return;
	}
	const struct csv_field *f = c->fields;

	rec->account = f[u->account].p;
	rec->account_len = f[u->account].len;

	r->meter_buf.len = 0;
	if (s->meter) {
		textbuf_add(&r->meter_buf, s->meter, strlen(s->meter));
	} else if (f[u->meter].len) {
		if (s->meter_prefix)
			textbuf_add(&r->meter_buf, s->meter_prefix, strlen(s->meter_prefix));
		textbuf_add(&r->meter_buf, f[u->meter].p, f[u->meter].len);
	}
	rec->meter = r->meter_buf.p;
	rec->meter_len = r->meter_buf.len;

	const struct csv_field *q = &f[u->quantity];
	if (q->len && dec_parse(&rec->quantity, q->p, q->len) == 0)
		rec->has_quantity = 1;

	if (f[u->key].len == 0)
		record_fail(rec, REASON_MISSING_FIELD, "column '%s' is empty", u->h.names[u->key]);
	rec->event_key = f[u->key].p;
	rec->event_key_len = f[u->key].len;
	if (rec->account_len == 0)
		record_fail(rec, REASON_MISSING_FIELD, "column '%s' is empty", u->h.names[u->account]);
	if (rec->meter_len == 0)
		record_fail(rec, REASON_MISSING_FIELD, "column '%s' is empty",
			    u->meter >= 0 ? u->h.names[u->meter] : "meter");
	const struct csv_field *t = &f[u->time];
	if (t->len == 0)
		record_fail(rec, REASON_MISSING_FIELD, "column '%s' is empty", u->h.names[u->time]);
	else if (parse_timestamp(t->p, t->len, 0, NULL, &rec->event_time))
		record_fail(rec, REASON_BAD_TIMESTAMP, "'%.*s' is not an ISO 8601 time with an offset or Z",
			    utf8_clip(t->p, t->len, 64), t->p);
	if (q->len == 0)
		record_fail(rec, REASON_MISSING_FIELD, "column '%s' is empty", u->h.names[u->quantity]);
	else if (!rec->has_quantity)
		record_fail(rec, REASON_BAD_NUMBER, "quantity '%.*s' is not a decimal number",
			    utf8_clip(q->p, q->len, 64), q->p);
	if (rec->reason != REASON_NONE)
		return;

	/* Every other column, as a string attribute. */
	struct textbuf *a = &r->attr_buf;
	a->len = 0;
	for (size_t k = 0; k < u->h.n; k++) {
		if (u->h.used[k])
			continue;
		textbuf_addc(a, a->len ? ',' : '{');
		json_add_string(a, u->h.names[k], strlen(u->h.names[k]));
		textbuf_addc(a, ':');
		json_add_string(a, f[k].p, f[k].len);
	}
	if (a->len) {
		textbuf_addc(a, '}');
		rec->attributes = a->p;
		rec->attributes_len = a->len;
	}
}

const struct reader_format reader_usage_csv = {
	"usage-csv", usage_csv_start, usage_csv_record, usage_csv_release,
};
