/*
 * reader_focus.c - FOCUS 1.0 and 1.1 cost and usage exports (the FinOps
 * Foundation's format for cloud billing data), for chargeback.
 *
 * Account from SubAccountId (account_column), quantity from
 * ConsumedQuantity, cost from BilledCost in BillingCurrency, time from
 * ChargePeriodStart (UTC when it carries no offset, as FOCUS specifies).
 * The meter is fixed (meter) or made from a column (meter_column, default
 * ServiceName: "Amazon EC2" becomes meter_prefix + "amazon_ec2"). The bare
 * word NULL is a missing value; Tags must be a JSON object. Rows that are
 * not usage (credits, adjustments, purchases, taxes) may lack a quantity:
 * they carry 0, their cost is what counts, and a meter counts them only
 * when its charge_categories lists theirs (migration 017; the category is
 * kept as attribute ChargeCategory). The event key is key_column
 * when set, else the SHA-256 of the raw record. All other columns are kept
 * as attributes (Tags as JSON, the rest as strings).
 */
#include "reader.h"
#include "err.h"
#include "hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct focus {
	struct csv_header h;
	int account, quantity, cost, currency, time, meter, key, category, tags;
};

static int focus_start(struct reader *r, struct err *e)
{
	struct focus *f = calloc(1, sizeof(*f));
	if (!f)
		return err_set(e, ERR_INTERNAL, "out of memory");
	r->state = f;
	if (header_read(r, &f->h, r->problem, sizeof(r->problem), e))
		return -1;
	if (r->problem[0] || f->h.n == 0)
		return 0;
	const struct reader_settings *s = r->set;
	struct { int *index; const char *name; int required; } want[] = {
		{ &f->account, s->account_column ? s->account_column : "SubAccountId", 1 },
		{ &f->quantity, "ConsumedQuantity", 1 },
		{ &f->cost, "BilledCost", 1 },
		{ &f->currency, "BillingCurrency", 1 },
		{ &f->time, "ChargePeriodStart", 1 },
		{ &f->meter, s->meter ? NULL : s->meter_column ? s->meter_column : "ServiceName", 1 },
		{ &f->key, s->key_column, 1 },
		{ &f->category, "ChargeCategory", 0 },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		*want[i].index = -1;
		if (!want[i].name)
			continue;
		*want[i].index = header_take(&f->h, want[i].name);
		if (*want[i].index < 0 && want[i].required)
			header_missing(r, &f->h, want[i].name);
	}
	/* The meter column and the category stay attributes too: the slug
	 * loses the original name, and chargeback reports group by them. */
	if (f->meter >= 0)
		f->h.used[f->meter] = 0;
	if (f->category >= 0)
		f->h.used[f->category] = 0;
	if (f->key >= 0)
		f->h.used[f->key] = 0;
	f->tags = -1;
	for (size_t k = 0; k < f->h.n; k++)
		if (strcasecmp(f->h.names[k], "Tags") == 0)
			f->tags = (int)k;
	return 0;
}

static void focus_release(struct reader *r)
{
	struct focus *f = r->state;
	if (!f)
		return;
	header_release(&f->h);
	free(f);
	r->state = NULL;
}


static void focus_record(struct reader *r, const struct csv_record *c, struct usage_record *rec)
{
	struct focus *f = r->state;
	const struct reader_settings *s = r->set;

	if (r->problem[0]) {
		record_fail(rec, REASON_BAD_HEADER, "%s", r->problem);
		return;
	}
	if (c->nfields != f->h.n) {
		record_fail(rec, REASON_WRONG_COLUMN_COUNT, "%zu fields, the header has %zu", c->nfields, f->h.n);
		return;
	}
	const struct csv_field *v = c->fields;
#define MISSING(i) field_missing(&v[i], 1)
#define NAME(i) f->h.names[i]

	if (!MISSING(f->account)) {
		rec->account = v[f->account].p;
		rec->account_len = v[f->account].len;
	}

	r->meter_buf.len = 0;
	if (s->meter)
		textbuf_add(&r->meter_buf, s->meter, strlen(s->meter));
	else if (!MISSING(f->meter))
		meter_slug(&r->meter_buf, s->meter_prefix, v[f->meter].p, v[f->meter].len);
	rec->meter = r->meter_buf.p;
	rec->meter_len = r->meter_buf.len;

	if (f->category >= 0 && !MISSING(f->category)) {
		rec->category = v[f->category].p;
		rec->category_len = v[f->category].len;
	}
	int usage_row = f->category < 0 || MISSING(f->category) ||
			(v[f->category].len == 5 && strncasecmp(v[f->category].p, "Usage", 5) == 0);
	const struct csv_field *q = &v[f->quantity];
	int qty_missing = MISSING(f->quantity);
	if (!qty_missing && dec_parse(&rec->quantity, q->p, q->len) == 0)
		rec->has_quantity = 1;
	else if (qty_missing && !usage_row) {
		rec->quantity = dec_zero();
		rec->has_quantity = 1;
	}

	const struct csv_field *k = f->key >= 0 ? &v[f->key] : NULL;
	if (k && MISSING(f->key)) {
		record_fail(rec, REASON_MISSING_FIELD, "%s is missing", NAME(f->key));
	} else if (k) {
		rec->event_key = k->p;
		rec->event_key_len = k->len;
	} else {
		/* No key column: the record itself is its identity. */
		char hex[SHA256_HEX_LEN + 1];
		hash_sha256_hex(c->raw, c->raw_len, hex);
		r->key_buf.len = 0;
		textbuf_add(&r->key_buf, "sha256:", 7);
		textbuf_add(&r->key_buf, hex, SHA256_HEX_LEN);
		rec->event_key = r->key_buf.p;
		rec->event_key_len = r->key_buf.len;
	}
	if (!rec->account)
		record_fail(rec, REASON_MISSING_FIELD, "%s is missing", NAME(f->account));
	if (!rec->meter_len)
		record_fail(rec, REASON_MISSING_FIELD, "%s is missing", f->meter >= 0 ? NAME(f->meter) : "meter");

	const struct csv_field *t = &v[f->time];
	if (MISSING(f->time))
		record_fail(rec, REASON_MISSING_FIELD, "%s is missing", NAME(f->time));
	else if (parse_timestamp(t->p, t->len, 1, NULL, &rec->event_time))
		record_fail(rec, REASON_BAD_TIMESTAMP, "%s '%.*s' is not an ISO 8601 time", NAME(f->time),
			    utf8_clip(t->p, t->len, 64), t->p);

	if (qty_missing && usage_row)
		record_fail(rec, REASON_MISSING_FIELD, "%s is missing on a usage row", NAME(f->quantity));
	else if (!rec->has_quantity)
		record_fail(rec, REASON_BAD_NUMBER, "%s '%.*s' is not a decimal number", NAME(f->quantity),
			    utf8_clip(q->p, q->len, 64), q->p);

	const struct csv_field *cost = &v[f->cost];
	if (MISSING(f->cost))
		record_fail(rec, REASON_MISSING_FIELD, "%s is missing", NAME(f->cost));
	else if (dec_parse(&rec->cost, cost->p, cost->len))
		record_fail(rec, REASON_BAD_NUMBER, "%s '%.*s' is not a decimal number", NAME(f->cost),
			    utf8_clip(cost->p, cost->len, 64), cost->p);
	else
		rec->has_cost = 1;

	const struct csv_field *cur = &v[f->currency];
	if (MISSING(f->currency))
		record_fail(rec, REASON_MISSING_FIELD, "%s is missing", NAME(f->currency));
	else if (cur->len != 3 || cur->p[0] < 'A' || cur->p[0] > 'Z' || cur->p[1] < 'A' || cur->p[1] > 'Z' ||
		 cur->p[2] < 'A' || cur->p[2] > 'Z')
		record_fail(rec, REASON_BAD_CURRENCY, "%s '%.*s' is not a three-letter code", NAME(f->currency),
			    utf8_clip(cur->p, cur->len, 64), cur->p);
	rec->currency = cur->p;
	rec->currency_len = cur->len;

	if (f->tags >= 0 && !MISSING(f->tags) && !json_valid(v[f->tags].p, v[f->tags].len, 1))
		record_fail(rec, REASON_BAD_JSON, "%s is not a JSON object", NAME(f->tags));
	if (rec->reason != REASON_NONE)
		return;

	struct textbuf *a = &r->attr_buf;
	a->len = 0;
	for (size_t i = 0; i < f->h.n; i++) {
		if (f->h.used[i] || MISSING(i))
			continue;
		/* The category under its FOCUS name whatever the header's
		 * letter case: billing reads it (billrun_charge_category, 017). */
		const char *name = (int)i == f->category ? "ChargeCategory" : NAME(i);
		textbuf_addc(a, a->len ? ',' : '{');
		json_add_string(a, name, strlen(name));
		textbuf_addc(a, ':');
		if ((int)i == f->tags)
			textbuf_add(a, v[i].p, v[i].len);
		else
			json_add_string(a, v[i].p, v[i].len);
	}
	if (a->len) {
		textbuf_addc(a, '}');
		rec->attributes = a->p;
		rec->attributes_len = a->len;
	}
#undef MISSING
#undef NAME
}

const struct reader_format reader_focus = {
	"focus", focus_start, focus_record, focus_release,
};
