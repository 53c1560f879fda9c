/*
 * partials.c - a file's usage partial sums, added up while its records
 * stream past (see partials.h; the definition is billrun_file_partials()
 * in sql/migrations/023_usage_partials.sql).
 */
#include "partials.h"
#include "copybin.h"
#include "db.h"
#include "err.h"
#include "sqltext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define PARTIAL_FIELDS 22
#define NO_PERIOD 255

/* billrun_charge_category's values (017), in this order. */
static const char *const categories[] = { "Usage", "Purchase", "Tax", "Credit", "Adjustment" };
#define NCATEGORIES (sizeof(categories) / sizeof(categories[0]))

struct partial {
	uint64_t key;                  /* account, meter, category, period; 0: empty slot */
	int account, meter, category, period;
	int64_t first, last, records, billable, max_id, cost_records;
	int64_t latest_time, latest_id;
	struct dec quantity, rounded, rounded_max, latest_rounded, cost;
	char cur_min[4], cur_max[4];   /* of billable records with a currency; "" none */
};

static int load_meters(struct partials *p, struct db *db, struct err *e)
{
	PGresult *res = db_query(db, e, SQL_ingest_partial_meters, 0, NULL);
	if (!res)
		return -1;
	int n = PQntuples(res);
	p->meters = calloc((size_t)n + 1, sizeof(*p->meters));
	if (!p->meters)
		goto oom;
	for (int i = 0; i < n; i++) {
		struct partial_meter *m = &p->meters[i];
		const char *name = PQgetvalue(res, i, 0);
		m->name = strdup(name);
		if (!m->name || strset_add(&p->meter_ix, name, strlen(name), i) < 0)
			goto oom;
		p->nmeters++;
		/* billrun_round_up leaves a quantity alone for an increment
		 * that is NULL or not positive */
		if (!PQgetisnull(res, i, 1) && dec_parse_cstr(&m->increment, PQgetvalue(res, i, 1)) == 0 &&
		    dec_sign(m->increment) > 0)
			m->has_increment = 1;
	}
	PQclear(res);
	return 0;
oom:
	PQclear(res);
	return err_set(e, ERR_INTERNAL, "out of memory loading meters");
}

static int load_periods(struct partials *p, struct db *db, const char *from, const char *to, struct err *e)
{
	const char *params[] = { from, to };
	PGresult *res = db_query(db, e, SQL_ingest_partial_periods, 2, params);
	if (!res)
		return -1;
	int n = PQntuples(res);
	p->accounts = calloc((size_t)n + 1, sizeof(*p->accounts));
	if (!p->accounts)
		goto oom;
	for (int i = 0; i < n;) {
		const char *name = PQgetvalue(res, i, 0);
		int j = i;
		while (j < n && strcmp(PQgetvalue(res, j, 0), name) == 0)
			j++;
		struct partial_account *a = &p->accounts[p->naccounts];
		a->name = strdup(name);
		a->nperiods = j - i < NO_PERIOD ? j - i : NO_PERIOD - 1;
		a->starts = malloc(sizeof(int64_t) * (size_t)a->nperiods);
		a->ends = malloc(sizeof(int64_t) * (size_t)a->nperiods);
		if (!a->name || !a->starts || !a->ends ||
		    strset_add(&p->account_ix, name, strlen(name), (int)p->naccounts) < 0)
			goto oom;
		for (int k = 0; k < a->nperiods; k++) {
			a->starts[k] = strtoll(PQgetvalue(res, i + k, 1), NULL, 10);
			a->ends[k] = strtoll(PQgetvalue(res, i + k, 2), NULL, 10);
		}
		p->naccounts++;
		i = j;
	}
	PQclear(res);
	return 0;
oom:
	PQclear(res);
	return err_set(e, ERR_INTERNAL, "out of memory loading billing periods");
}

int partials_init(struct partials *p, struct db *db, const char *period_start, const char *period_end,
		  struct err *e)
{
	char today[16];

	memset(p, 0, sizeof(*p));
	strset_init(&p->account_ix);
	strset_init(&p->meter_ix);
	p->last_account_ix = -1;
	p->exact = 1;
	if (!period_start || !period_end) {
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(today, sizeof(today), "%Y-%m-%d", &tm);
		period_start = period_end = today;
	}
	return load_meters(p, db, e) || load_periods(p, db, period_start, period_end, e) ? -1 : 0;
}

void partials_release(struct partials *p)
{
	for (size_t i = 0; i < p->naccounts; i++) {
		free(p->accounts[i].name);
		free(p->accounts[i].starts);
		free(p->accounts[i].ends);
	}
	for (size_t i = 0; i < p->nmeters; i++)
		free(p->meters[i].name);
	free(p->accounts);
	free(p->meters);
	free(p->slots);
	strset_release(&p->account_ix);
	strset_release(&p->meter_ix);
	memset(p, 0, sizeof(*p));
}

void partials_begin_file(struct partials *p)
{
	if (p->slots)
		memset(p->slots, 0, p->cap * sizeof(*p->slots));
	p->count = 0;
	p->exact = 1;
	p->why[0] = 0;
}

int partials_exact(const struct partials *p)
{
	return p->exact;
}

static void inexact(struct partials *p, const char *why)
{
	if (p->exact)
		snprintf(p->why, sizeof(p->why), "%s", why);
	p->exact = 0;
}

static uint64_t mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return k;
}

static int grow(struct partials *p)
{
	size_t cap = p->cap ? p->cap * 2 : 1024;
	struct partial *slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -1;
	for (size_t i = 0; i < p->cap; i++) {
		if (!p->slots[i].key)
			continue;
		size_t at = mix(p->slots[i].key) & (cap - 1);
		while (slots[at].key)
			at = (at + 1) & (cap - 1);
		slots[at] = p->slots[i];
	}
	free(p->slots);
	p->slots = slots;
	p->cap = cap;
	return 0;
}

static struct partial *entry(struct partials *p, int account, int meter, int category, int period)
{
	uint64_t key = ((uint64_t)(uint32_t)account << 32 | (uint64_t)(uint16_t)meter << 16 |
			(uint64_t)category << 8 | (uint64_t)period) + 1;
	if ((p->count + 1) * 2 > p->cap && grow(p))
		return NULL;
	size_t at = mix(key) & (p->cap - 1);
	while (p->slots[at].key && p->slots[at].key != key)
		at = (at + 1) & (p->cap - 1);
	struct partial *x = &p->slots[at];
	if (!x->key) {
		x->key = key;
		x->account = account;
		x->meter = meter;
		x->category = category;
		x->period = period;
		x->quantity = x->rounded = x->cost = dec_zero();
		p->count++;
	}
	return x;
}

static int category_of(const struct usage_record *r)
{
	if (!r->has_cost || !r->category)
		return 0;
	for (size_t i = 0; i < NCATEGORIES; i++)
		if (strlen(categories[i]) == r->category_len &&
		    strncasecmp(categories[i], r->category, r->category_len) == 0)
			return (int)i;
	return -1;
}

/* billrun_round_up (016): up, away from zero, to a multiple of inc; the
 * result has the scale PostgreSQL's numeric arithmetic gives it. */
static int round_up(struct dec *out, struct dec q, const struct partial_meter *m)
{
	if (!m->has_increment) {
		*out = q;
		return 0;
	}
	struct dec n, t;
	if (dec_div(&t, q, m->increment, 0, DEC_ROUND_DOWN) || dec_mul(&n, t, m->increment) || dec_sub(&n, q, n))
		return -1;
	if (dec_is_zero(n)) {
		*out = q;
		return 0;
	}
	int scale = q.scale > m->increment.scale ? q.scale : m->increment.scale;
	if (dec_div(&t, q, m->increment, 0, DEC_ROUND_UP) || dec_mul(&n, t, m->increment) ||
	    dec_round(out, n, scale, DEC_ROUND_DOWN))
		return -1;
	return 0;
}

static int account_of(struct partials *p, const struct usage_record *r)
{
	if (p->last_account && p->last_account_len == r->account_len &&
	    memcmp(p->last_account, r->account, r->account_len) == 0)
		return p->last_account_ix;
	int ix;
	if (!strset_get(&p->account_ix, r->account, r->account_len, &ix))
		return -1;
	p->last_account = p->accounts[ix].name;
	p->last_account_len = r->account_len;
	p->last_account_ix = ix;
	return ix;
}

void partials_add(struct partials *p, const struct usage_record *r, int64_t usage_id)
{
	if (!p->exact)
		return;
	int account = account_of(p, r), meter = -1;
	if (account < 0)
		return inexact(p, "an account without billing periods when the step began");
	if (!strset_get(&p->meter_ix, r->meter, r->meter_len, &meter) || meter > 0xffff)
		return inexact(p, "a meter not in table meters");
	int category = category_of(r);
	if (category < 0)
		return inexact(p, "a ChargeCategory that is none of Usage, Purchase, Tax, Credit, Adjustment");
	const struct partial_account *a = &p->accounts[account];
	int period = -1;
	for (int k = 0; k < a->nperiods; k++)
		if (r->event_time >= a->starts[k] && r->event_time < a->ends[k]) {
			period = k;
			break;
		}
	if (period < 0)
		return inexact(p, "a record outside the billing periods loaded around the run's");
	struct partial *x = entry(p, account, meter, category, period);
	if (!x)
		return inexact(p, "out of memory");
	if (!x->records || r->event_time < x->first)
		x->first = r->event_time;
	if (!x->records || r->event_time > x->last)
		x->last = r->event_time;
	x->records++;
	if (usage_id > x->max_id)
		x->max_id = usage_id;
	if (!r->billable)
		return;
	struct dec q;
	if (round_up(&q, r->quantity, &p->meters[meter]) || dec_add(&x->quantity, x->quantity, r->quantity) ||
	    dec_add(&x->rounded, x->rounded, q))
		return inexact(p, "a sum beyond 38 digits");
	if (!x->billable || dec_cmp(q, x->rounded_max) > 0)
		x->rounded_max = q;
	/* usage ids ascend in file order: a later record wins a tie */
	if (!x->billable || r->event_time > x->latest_time ||
	    (r->event_time == x->latest_time && usage_id > x->latest_id)) {
		x->latest_time = r->event_time;
		x->latest_id = usage_id;
		x->latest_rounded = q;
	}
	x->billable++;
	if (r->has_cost) {
		if (dec_add(&x->cost, x->cost, r->cost))
			return inexact(p, "a sum beyond 38 digits");
		x->cost_records++;
	}
	if (r->currency && r->currency_len == 3) {
		if (!x->cur_min[0] || memcmp(r->currency, x->cur_min, 3) < 0)
			memcpy(x->cur_min, r->currency, 3);
		if (!x->cur_max[0] || memcmp(r->currency, x->cur_max, 3) > 0)
			memcpy(x->cur_max, r->currency, 3);
	} else if (r->currency) {
		inexact(p, "a currency that is not three letters");
	}
}

static void field_text(struct rowbuf *b, const char *s)
{
	size_t n = strlen(s);
	rowbuf_reserve(b, 4 + n);
	field_bytes(b, s, n);
}

static void encode(struct rowbuf *b, const struct partials *p, const struct partial *x, int64_t file_id,
		   int64_t run_id)
{
	const struct partial_account *a = &p->accounts[x->account];
	const struct partial_meter *m = &p->meters[x->meter];

	rowbuf_reserve(b, 2 + 2 * 12);
	put16(b, PARTIAL_FIELDS);
	field_i64(b, file_id);
	field_i64(b, run_id);
	field_text(b, a->name);
	field_text(b, m->name);
	field_text(b, categories[x->category]);
	rowbuf_reserve(b, 6 * 12);
	field_time(b, a->starts[x->period]);
	field_time(b, x->first);
	field_time(b, x->last);
	field_i64(b, x->records);
	field_i64(b, x->billable);
	field_i64(b, x->max_id);
	if (m->has_increment) {
		rowbuf_numeric(b, m->increment);
	} else {
		rowbuf_reserve(b, 4);
		field_null(b);
	}
	rowbuf_numeric(b, x->quantity);
	rowbuf_numeric(b, x->rounded);
	rowbuf_reserve(b, 3 * 12);
	if (x->billable) {
		rowbuf_numeric(b, x->rounded_max);
		rowbuf_reserve(b, 2 * 12);
		field_time(b, x->latest_time);
		field_i64(b, x->latest_id);
		rowbuf_numeric(b, x->latest_rounded);
	} else {
		field_null(b);
		field_null(b);
		field_null(b);
		field_null(b);
	}
	rowbuf_reserve(b, 12);
	if (x->cost_records)
		rowbuf_numeric(b, x->cost);
	else
		field_null(b);
	rowbuf_reserve(b, 3 * 12);
	field_i64(b, x->cost_records);
	if (x->cur_min[0]) {
		field_bytes(b, x->cur_min, 3);
		field_bytes(b, x->cur_max, 3);
	} else {
		field_null(b);
		field_null(b);
	}
}

int64_t partials_store(struct partials *p, struct db *db, int64_t file_id, int64_t run_id, struct err *e)
{
	struct rowbuf b = { 0 };
	int64_t rows = 0;

	if (p->count == 0)
		return 0;
	if (db_copy_begin(db, e, SQL_ingest_partials_copy))
		return -1;
	rowbuf_reserve(&b, sizeof(copybin_header));
	memcpy(b.p, copybin_header, sizeof(copybin_header));
	b.len = sizeof(copybin_header);
	for (size_t i = 0; i < p->cap; i++) {
		if (!p->slots[i].key)
			continue;
		encode(&b, p, &p->slots[i], file_id, run_id);
		rows++;
		if (b.len >= 256 * 1024) {
			if (db_copy_put(db, e, b.p, b.len))
				goto fail;
			b.len = 0;
		}
	}
	rowbuf_reserve(&b, sizeof(copybin_trailer));
	memcpy(b.p + b.len, copybin_trailer, sizeof(copybin_trailer));
	b.len += sizeof(copybin_trailer);
	if (db_copy_put(db, e, b.p, b.len) || db_copy_end(db, e))
		goto fail;
	rowbuf_release(&b);
	return rows;
fail:
	rowbuf_release(&b);
	return -1;
}
