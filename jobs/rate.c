/*
 * rate.c - the rate step: aggregated usage and subscriptions into rated
 * lines, priced with the rate card of the run's rule version. SQL picks
 * the snapshots and their inputs (sql/queries/rate.sql); the money is
 * computed here with the exact decimal module (jobs/charge.h) and stored
 * by COPY, in one REPEATABLE READ transaction with the done mark.
 * jobs/RATING.md explains the rules applied.
 */
#include "cfg.h"
#include "charge.h"
#include "db.h"
#include "err.h"
#include "job.h"
#include "log.h"
#include "progress.h"
#include "rates.h"
#include "sqltext.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a growable text buffer (COPY rows, JSON details) ---- */

struct sbuf {
	char *data;
	size_t len, cap;
	int oom;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->data, cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		sb_put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void sb_release(struct sbuf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/* JSON: "key":"text" with escapes, or "key":number-as-string. */
static void json_key(struct sbuf *b, const char *key)
{
	if (b->len && b->data[b->len - 1] != '{' && b->data[b->len - 1] != '[')
		sb_puts(b, ",");
	sb_printf(b, "\"%s\":", key);
}

static void json_text(struct sbuf *b, const char *key, const char *v)
{
	json_key(b, key);
	sb_puts(b, "\"");
	for (const char *p = v; *p; p++) {
		if (*p == '"' || *p == '\\')
			sb_printf(b, "\\%c", *p);
		else if ((unsigned char)*p < 0x20)
			sb_printf(b, "\\u%04x", *p);
		else
			sb_put(b, p, 1);
	}
	sb_puts(b, "\"");
}

static void json_dec(struct sbuf *b, const char *key, struct dec d)
{
	char t[DEC_STR_MAX];
	dec_format(d, t, sizeof(t));
	json_text(b, key, t);
}

/* COPY text format: one field, escaped; NULL as \N. */
static void copy_field(struct sbuf *b, const char *v, int first)
{
	if (!first)
		sb_puts(b, "\t");
	if (!v) {
		sb_puts(b, "\\N");
		return;
	}
	for (const char *p = v; *p; p++) {
		switch (*p) {
		case '\\': sb_puts(b, "\\\\"); break;
		case '\t': sb_puts(b, "\\t"); break;
		case '\n': sb_puts(b, "\\n"); break;
		case '\r': sb_puts(b, "\\r"); break;
		default: sb_put(b, p, 1);
		}
	}
}

static void copy_dec(struct sbuf *b, const struct dec *d)
{
	char t[DEC_STR_MAX];
	if (!d) {
		copy_field(b, NULL, 0);
		return;
	}
	dec_format(*d, t, sizeof(t));
	copy_field(b, t, 0);
}

/* ---- the step's state ---- */

struct fx_entry {
	char base[4], quote[4], date[11];
	int found, inverse;
	char id[24], as_of[11];
	struct dec rate;
};

/* Local midnight of a charge's own date in a zone (cached). */
struct midnight {
	char zone[64], date[RATES_DATE_LEN];
	struct dec epoch;   /* exact epoch seconds */
	char at[40];        /* in UTC, for explain */
};

struct rater {
	struct job_ctx *ctx;
	struct rate_card card;
	enum dec_round mode;
	char run[24], rule[24];
	const char *rule_param;    /* rule or NULL */
	struct sbuf ratings, lines;
	struct fx_entry *fx;
	int nfx, capfx;
	struct midnight *mid;
	int nmid, capmid;
	long long nrated, nheld, nlines, nsame;
};

/* One snapshot's row of rate_candidates, by column. */
enum {
	C_ID, C_ACCOUNT, C_ACCOUNT_ID, C_LOCAL_START, C_LOCAL_END, C_LAST_DAY, C_START, C_END, C_ZONE, C_CLOSED,
	C_RECORDS, C_CURRENCY, C_JURISDICTION, C_SECONDS, C_HELD_WHY
};
enum { V_SNAPSHOT, V_METER, V_AGGREGATION, V_VALUE, V_RECORDS, V_RAW };
enum { S_SNAPSHOT, S_SUB, S_PLAN, S_SECONDS, S_LOCAL_FROM, S_FROM, S_TO, S_FROM_EPOCH, S_TO_EPOCH };

#define MAX_GROUPS 16

/* The rating of one snapshot while its lines are computed. */
struct rating {
	PGresult *snap;
	int row;
	const char *id;              /* rating id (text) */
	const char *currency;        /* the account's */
	int exponent;
	struct dec period_seconds;
	int line_no;
	struct dec subtotal, tax_total;
	struct { char group[RATES_ID_MAX]; struct dec base; } groups[MAX_GROUPS];
	int ngroups;
	struct dec usage_total;      /* rounded usage lines, for the minimum */
	const char *hold;            /* hold reason, or NULL */
	char hold_detail[256];
	size_t lines_mark;
	long long nlines_mark;
};

/* What a line carries besides its amount; NULL/0 fields are SQL NULL. */
struct line {
	const char *kind;
	const struct rate_plan *plan;
	const struct rate_charge *charge;
	const char *meter;
	const char *tax_group;
	const struct dec *quantity, *billable;
	const struct dec *part, *whole;
	const struct dec *tax_rate, *tax_base;
	struct charge_fraction value;  /* exact, in the plan's currency */
	struct sbuf detail;
};

static const char *col(const struct rating *r, int c)
{
	return PQgetvalue(r->snap, r->row, c);
}

static int hold(struct rating *r, const char *reason, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int hold(struct rating *r, const char *reason, const char *fmt, ...)
{
	va_list ap;
	r->hold = reason;
	va_start(ap, fmt);
	vsnprintf(r->hold_detail, sizeof(r->hold_detail), fmt, ap);
	va_end(ap);
	return 1;
}

/* Room for one more element in an array of n of cap: 0, or -1 out of memory. */
static int grow(void **array, int *cap, int n, size_t size)
{
	if (n < *cap)
		return 0;
	int c = *cap ? *cap * 2 : 16;
	void *p = realloc(*array, (size_t)c * size);
	if (!p)
		return -1;
	*array = p;
	*cap = c;
	return 0;
}

/* The rate converting `from` into `to` at the period end (cached). 0 with
 * *out set, 1 when no rate is known, -1 on a database error. */
static int fx_rate(struct rater *R, const char *from, const char *to, const char *date, const struct fx_entry **out,
		   struct err *e)
{
	for (int i = 0; i < R->nfx; i++) {
		struct fx_entry *f = &R->fx[i];
		if (!strcmp(f->base, from) && !strcmp(f->quote, to) && !strcmp(f->date, date)) {
			*out = f;
			return f->found ? 0 : 1;
		}
	}
	if (grow((void **)&R->fx, &R->capfx, R->nfx, sizeof(*R->fx)))
		return err_set(e, ERR_INTERNAL, "out of memory");
	struct fx_entry *f = &R->fx[R->nfx];
	memset(f, 0, sizeof(*f));
	snprintf(f->base, sizeof(f->base), "%s", from);
	snprintf(f->quote, sizeof(f->quote), "%s", to);
	snprintf(f->date, sizeof(f->date), "%s", date);
	const char *p[] = { from, to, date };
	PGresult *res = db_query(R->ctx->db, e, SQL_rate_fx, 3, p);
	if (!res)
		return -1;
	if (PQntuples(res) == 1 && dec_parse_cstr(&f->rate, PQgetvalue(res, 0, 1)) == 0) {
		f->found = 1;
		snprintf(f->id, sizeof(f->id), "%s", PQgetvalue(res, 0, 0));
		snprintf(f->as_of, sizeof(f->as_of), "%s", PQgetvalue(res, 0, 2));
		f->inverse = PQgetvalue(res, 0, 3)[0] == 't';
	}
	PQclear(res);
	R->nfx++;
	*out = f;
	return f->found ? 0 : 1;
}

static void add_group(struct rating *r, const char *group, struct dec amount)
{
	for (int i = 0; i < r->ngroups; i++)
		if (!strcmp(r->groups[i].group, group)) {
			dec_add(&r->groups[i].base, r->groups[i].base, amount);
			return;
		}
	if (r->ngroups < MAX_GROUPS) {
		snprintf(r->groups[r->ngroups].group, RATES_ID_MAX, "%s", group);
		r->groups[r->ngroups++].base = amount;
	}
}

/*
 * Convert (when the plan's currency is not the account's), round once,
 * and append the line as a COPY row. `subtract` (may be NULL) is taken off
 * after conversion: the minimum's true-up. Returns 0, 1 (held) or -1.
 */
static int emit(struct rater *R, struct rating *r, struct line *l, const struct dec *subtract, struct dec *rounded_out,
		struct err *e)
{
	struct charge_fraction v = l->value;
	const struct fx_entry *fx = NULL;
	struct dec rounded, unrounded, price_amount;
	const char *price_currency = l->plan ? l->plan->currency : r->currency;

	if (charge_exact(&v, rates_currency_exponent(&R->card, price_currency), &price_amount))
		return hold(r, "out_of_range", "charge '%s' is out of range", l->charge ? l->charge->id : l->kind);
	if (strcmp(price_currency, r->currency) != 0) {
		int rc = fx_rate(R, price_currency, r->currency, col(r, C_LAST_DAY), &fx, e);
		if (rc < 0)
			return -1;
		if (rc > 0)
			return hold(r, "no_fx_rate", "no rate from %s to %s on or before %s", price_currency,
				    r->currency, col(r, C_LAST_DAY));
		if (charge_convert(&v, fx->rate, fx->inverse))
			return hold(r, "out_of_range", "charge '%s' is out of range after conversion",
				    l->charge ? l->charge->id : l->kind);
	}
	if ((subtract && charge_subtract(&v, *subtract)) ||
	    charge_line_round(&v, r->exponent, R->mode, &rounded, &unrounded))
		return hold(r, "out_of_range", "charge '%s' is out of range", l->charge ? l->charge->id : l->kind);
	if (rounded_out)
		*rounded_out = rounded;

	struct sbuf *b = &R->lines;
	char no[16];
	snprintf(no, sizeof(no), "%d", ++r->line_no);
	copy_field(b, r->id, 1);
	copy_field(b, R->run, 0);
	copy_field(b, R->rule_param, 0);
	copy_field(b, no, 0);
	copy_field(b, l->kind, 0);
	copy_field(b, col(r, C_ACCOUNT), 0);
	copy_field(b, col(r, C_LOCAL_START), 0);
	copy_field(b, l->plan ? l->plan->id : NULL, 0);
	copy_field(b, l->plan ? l->plan->effective_from : NULL, 0);
	copy_field(b, l->charge ? l->charge->id : NULL, 0);
	copy_field(b, l->meter, 0);
	copy_field(b, l->charge ? charge_model_name(l->charge->def.model) : NULL, 0);
	copy_field(b, l->tax_group, 0);
	copy_dec(b, l->quantity);
	copy_dec(b, l->billable);
	copy_dec(b, l->part);
	copy_dec(b, l->whole);
	copy_field(b, l->plan ? price_currency : NULL, 0);
	copy_dec(b, l->plan ? &price_amount : NULL);
	copy_dec(b, fx ? &fx->rate : NULL);
	copy_field(b, fx ? (fx->inverse ? "t" : "f") : NULL, 0);
	copy_field(b, fx ? fx->as_of : NULL, 0);
	copy_field(b, fx ? fx->id : NULL, 0);
	copy_field(b, r->currency, 0);
	copy_dec(b, &unrounded);
	copy_dec(b, &rounded);
	copy_dec(b, l->tax_rate);
	copy_dec(b, l->tax_base);
	copy_field(b, l->tax_rate ? col(r, C_JURISDICTION) : NULL, 0);
	sb_puts(&l->detail, "}");
	copy_field(b, l->detail.oom ? "{}" : l->detail.data, 0);
	sb_puts(b, "\n");
	R->nlines++;

	if (strcmp(l->kind, "tax") == 0) {
		dec_add(&r->tax_total, r->tax_total, rounded);
	} else {
		dec_add(&r->subtotal, r->subtotal, rounded);
		add_group(r, l->tax_group, rounded);
	}
	return 0;
}

/* The customer's words for a charge's line (label, unit, show_zero),
 * kept with the rated line so that the rule version that rated it decides
 * what the invoice says (jobs/RATING.md, "Words on the invoice"). */
static void words_detail(struct sbuf *b, const struct rate_charge *c)
{
	if (c->label[0])
		json_text(b, "label", c->label);
	if (c->unit[0])
		json_text(b, "unit", c->unit);
	if (c->show_zero)
		json_text(b, "show_zero", "yes");
}

static void line_init(struct line *l, const char *kind)
{
	memset(l, 0, sizeof(*l));
	l->kind = kind;
	sb_puts(&l->detail, "{");
}

/* ---- the charges ---- */

/* Local midnight of date in zone (cached): 0 with *out set, -1 on a
 * database error. */
static int local_midnight(struct rater *R, const char *zone, const char *date, const struct midnight **out,
			  struct err *e)
{
	for (int i = 0; i < R->nmid; i++)
		if (!strcmp(R->mid[i].zone, zone) && !strcmp(R->mid[i].date, date)) {
			*out = &R->mid[i];
			return 0;
		}
	if (grow((void **)&R->mid, &R->capmid, R->nmid, sizeof(*R->mid)))
		return err_set(e, ERR_INTERNAL, "out of memory");
	struct midnight *m = &R->mid[R->nmid];
	memset(m, 0, sizeof(*m));
	snprintf(m->zone, sizeof(m->zone), "%s", zone);
	snprintf(m->date, sizeof(m->date), "%s", date);
	const char *p[] = { date, zone };
	PGresult *res = db_query(R->ctx->db, e, SQL_rate_local_midnight, 2, p);
	if (!res)
		return -1;
	int bad = PQntuples(res) != 1 || dec_parse_cstr(&m->epoch, PQgetvalue(res, 0, 0));
	if (!bad)
		snprintf(m->at, sizeof(m->at), "%s", PQgetvalue(res, 0, 1));
	PQclear(res);
	if (bad)
		return err_set(e, ERR_INTERNAL, "local midnight of %s in %s", date, zone);
	R->nmid++;
	*out = m;
	return 0;
}

/* The part of a subscription segment during which a charge is in force. */
struct span {
	struct dec seconds;   /* 0 when the charge's dates do not meet the segment */
	int cut;              /* the charge's own dates cut the segment */
	char from[40], to[40]; /* the part, in UTC */
};

/*
 * Cut segment s by charge c's own effective_from / effective_to, local
 * midnights in the account's zone (jobs/RATING.md, "A charge's own
 * dates"). Returns 0 with *sp set, 1 when held, -1 on a database error.
 */
static int charge_span(struct rater *R, struct rating *r, const struct rate_charge *c, PGresult *segs, int s,
		       struct span *sp, struct err *e)
{
	struct dec from, to;
	const struct midnight *m;

	memset(sp, 0, sizeof(*sp));
	snprintf(sp->from, sizeof(sp->from), "%s", PQgetvalue(segs, s, S_FROM));
	snprintf(sp->to, sizeof(sp->to), "%s", PQgetvalue(segs, s, S_TO));
	if (!c->effective_from[0] && !c->effective_to[0])
		return dec_parse_cstr(&sp->seconds, PQgetvalue(segs, s, S_SECONDS))
			       ? hold(r, "out_of_range", "segment seconds '%s'", PQgetvalue(segs, s, S_SECONDS))
			       : 0;
	if (dec_parse_cstr(&from, PQgetvalue(segs, s, S_FROM_EPOCH)) ||
	    dec_parse_cstr(&to, PQgetvalue(segs, s, S_TO_EPOCH)))
		return hold(r, "out_of_range", "segment of subscription %s", PQgetvalue(segs, s, S_SUB));
	if (c->effective_from[0]) {
		if (local_midnight(R, col(r, C_ZONE), c->effective_from, &m, e))
			return -1;
		if (dec_cmp(m->epoch, from) > 0) {
			from = m->epoch;
			snprintf(sp->from, sizeof(sp->from), "%s", m->at);
			sp->cut = 1;
		}
	}
	if (c->effective_to[0]) {
		if (local_midnight(R, col(r, C_ZONE), c->effective_to, &m, e))
			return -1;
		if (dec_cmp(m->epoch, to) < 0) {
			to = m->epoch;
			snprintf(sp->to, sizeof(sp->to), "%s", m->at);
			sp->cut = 1;
		}
	}
	sp->seconds = dec_zero();
	if (dec_cmp(to, from) > 0 && dec_sub(&sp->seconds, to, from))
		return hold(r, "out_of_range", "charge '%s' in force seconds", c->id);
	return 0;
}

/* The aggregated value of a meter in the snapshot's rows of `vals`
 * (rows [v0, v1)), or zero. */
static int meter_value(PGresult *vals, int v0, int v1, const char *meter, struct dec *out)
{
	*out = dec_zero();
	for (int i = v0; i < v1; i++)
		if (!strcmp(PQgetvalue(vals, i, V_METER), meter)) {
			if (dec_parse_cstr(out, PQgetvalue(vals, i, V_VALUE)))
				return -2;
			return i;
		}
	return -1;
}

static int rate_usage(struct rater *R, struct rating *r, const struct rate_plan *plan, const char *date,
		      PGresult *vals, int v0, int v1, struct err *e)
{
	for (int i = 0; i < plan->ncharges; i++) {
		const struct rate_charge *c = &plan->charges[i];
		if (!charge_model_is_usage(c->def.model) || !rates_charge_in_force(c, date))
			continue;
		struct dec q;
		struct charge_result res;
		int row = meter_value(vals, v0, v1, c->meter, &q);
		if (row == -2 || charge_usage(&c->def, q, &res))
			return hold(r, "out_of_range", "charge '%s' of plan '%s' is out of range", c->id, plan->id);
		struct line l;
		line_init(&l, "usage");
		l.plan = plan;
		l.charge = c;
		l.meter = c->meter;
		l.tax_group = c->tax_group;
		l.quantity = &res.quantity;
		l.billable = &res.billable;
		l.value.num = res.amount;
		l.value.den = dec_from_int(1);
		json_text(&l.detail, "aggregation", row >= 0 ? PQgetvalue(vals, row, V_AGGREGATION) : "none");
		json_text(&l.detail, "records", row >= 0 ? PQgetvalue(vals, row, V_RECORDS) : "0");
		json_text(&l.detail, "quantity_raw", row >= 0 ? PQgetvalue(vals, row, V_RAW) : "0");
		json_dec(&l.detail, "free_units", c->def.free_units);
		json_dec(&l.detail, "free", res.free);
		if (c->def.model == CHARGE_PACKAGE) {
			json_dec(&l.detail, "package_size", c->def.package_size);
			json_dec(&l.detail, "packages", res.packages);
		}
		json_dec(&l.detail, "amount", res.amount);
		words_detail(&l.detail, c);
		json_key(&l.detail, "steps");
		sb_puts(&l.detail, "[");
		for (int s = 0; s < res.nsteps; s++) {
			const struct charge_step *st = &res.steps[s];
			sb_puts(&l.detail, s ? ",{" : "{");
			sb_printf(&l.detail, "\"tier\":%d", st->tier);
			json_dec(&l.detail, "from", st->from);
			if (!st->unbounded)
				json_dec(&l.detail, "to", st->to);
			json_dec(&l.detail, "units", st->units);
			json_dec(&l.detail, "price", st->price);
			json_dec(&l.detail, "flat", st->flat);
			json_dec(&l.detail, "amount", st->amount);
			sb_puts(&l.detail, "}");
		}
		sb_puts(&l.detail, "]");
		struct dec rounded;
		int rc = emit(R, r, &l, NULL, &rounded, e);
		sb_release(&l.detail);
		if (rc)
			return rc;
		dec_add(&r->usage_total, r->usage_total, rounded);
	}
	return 0;
}

/* A segment's recurring fees. A prorated fee is billed for the part of
 * the segment its own dates cover (none: no line); `prorate = false` bills
 * the full fee when the charge is in force on the segment's first day. */
static int rate_recurring(struct rater *R, struct rating *r, const struct rate_plan *plan, const char *date,
			  PGresult *segs, int s, struct err *e)
{
	for (int i = 0; i < plan->ncharges; i++) {
		const struct rate_charge *c = &plan->charges[i];
		struct span sp;
		if (c->def.model != CHARGE_RECURRING)
			continue;
		if (!c->prorate && !rates_charge_in_force(c, date))
			continue;
		if (c->prorate) {
			int rc = charge_span(R, r, c, segs, s, &sp, e);
			if (rc)
				return rc;
			if (dec_sign(sp.seconds) <= 0)
				continue;
		}
		struct dec part = c->prorate ? sp.seconds : dec_zero();
		struct line l;
		line_init(&l, "recurring");
		l.plan = plan;
		l.charge = c;
		l.tax_group = c->tax_group;
		if (c->prorate) {
			l.part = &part;
			l.whole = &r->period_seconds;
			if (charge_prorate(&l.value, c->def.amount, part, r->period_seconds)) {
				sb_release(&l.detail);
				return hold(r, "out_of_range", "charge '%s' of plan '%s' is out of range", c->id,
					    plan->id);
			}
		} else {
			l.value.num = c->def.amount;
			l.value.den = dec_from_int(1);
		}
		json_dec(&l.detail, "amount", c->def.amount);
		json_text(&l.detail, "prorate", c->prorate ? "yes" : "no");
		words_detail(&l.detail, c);
		json_text(&l.detail, "subscription", PQgetvalue(segs, s, S_SUB));
		json_text(&l.detail, "from", PQgetvalue(segs, s, S_FROM));
		json_text(&l.detail, "to", PQgetvalue(segs, s, S_TO));
		if (c->prorate && sp.cut) {
			json_text(&l.detail, "charge_from", sp.from);
			json_text(&l.detail, "charge_to", sp.to);
		}
		int rc = emit(R, r, &l, NULL, NULL, e);
		sb_release(&l.detail);
		if (rc)
			return rc;
	}
	return 0;
}

/* The seconds of the period the account was on plan and charge c was in
 * force (its own dates cut each segment). 0, 1 held, -1 database error. */
static int minimum_covered(struct rater *R, struct rating *r, const struct rate_plan *plan,
			   const struct rate_charge *c, PGresult *segs, int s0, int s1, struct dec *covered, struct err *e)
{
	*covered = dec_zero();
	for (int s = s0; s < s1; s++) {
		struct span sp;
		if (strcmp(PQgetvalue(segs, s, S_PLAN), plan->id) != 0)
			continue;
		int rc = charge_span(R, r, c, segs, s, &sp, e);
		if (rc)
			return rc;
		if (dec_add(covered, *covered, sp.seconds))
			return hold(r, "out_of_range", "segment seconds");
	}
	return 0;
}

/* The minimum commitment of the usage plan: a true-up line bringing the
 * usage charges up to the minimum, prorated by the part of the period the
 * account was on that plan while the charge was in force (none: no line;
 * `prorate = false`: the full minimum when in force on the usage
 * segment's first day). Only for a closed period. */
static int rate_minimum(struct rater *R, struct rating *r, const struct rate_plan *plan, const char *date,
			PGresult *segs, int s0, int s1, struct err *e)
{
	struct dec covered = dec_zero();

	for (int i = 0; i < plan->ncharges; i++) {
		const struct rate_charge *c = &plan->charges[i];
		if (c->def.model != CHARGE_MINIMUM)
			continue;
		if (!c->prorate && !rates_charge_in_force(c, date))
			continue;
		if (c->prorate) {
			int rc = minimum_covered(R, r, plan, c, segs, s0, s1, &covered, e);
			if (rc)
				return rc;
			if (dec_sign(covered) <= 0)
				continue;
		}
		struct line l;
		line_init(&l, "minimum");
		l.plan = plan;
		l.charge = c;
		l.tax_group = c->tax_group;
		if (c->prorate) {
			l.part = &covered;
			l.whole = &r->period_seconds;
			if (charge_prorate(&l.value, c->def.amount, covered, r->period_seconds)) {
				sb_release(&l.detail);
				return hold(r, "out_of_range", "charge '%s' is out of range", c->id);
			}
		} else {
			l.value.num = c->def.amount;
			l.value.den = dec_from_int(1);
		}
		/* The true-up is what is missing, never a credit: compare the
		 * exact minimum (converted) with the usage lines as billed. */
		struct charge_fraction want = l.value;
		const struct fx_entry *fx;
		if (strcmp(plan->currency, r->currency) != 0) {
			int rc = fx_rate(R, plan->currency, r->currency, col(r, C_LAST_DAY), &fx, e);
			if (rc < 0) {
				sb_release(&l.detail);
				return -1;
			}
			if (rc > 0 || charge_convert(&want, fx->rate, fx->inverse)) {
				sb_release(&l.detail);
				return hold(r, "no_fx_rate", "no rate from %s to %s on or before %s", plan->currency,
					    r->currency, col(r, C_LAST_DAY));
			}
		}
		struct dec required;
		if (charge_exact(&want, r->exponent, &required)) {
			sb_release(&l.detail);
			return hold(r, "out_of_range", "charge '%s' is out of range", c->id);
		}
		int short_of = dec_cmp(required, r->usage_total) > 0;
		json_dec(&l.detail, "minimum", c->def.amount);
		json_text(&l.detail, "prorate", c->prorate ? "yes" : "no");
		json_dec(&l.detail, "required", required);
		json_dec(&l.detail, "usage_total", r->usage_total);
		json_text(&l.detail, "met", short_of ? "no" : "yes");
		words_detail(&l.detail, c);
		if (!short_of) {
			l.value.num = dec_zero();
			l.value.den = dec_from_int(1);
		}
		int rc = emit(R, r, &l, short_of ? &r->usage_total : NULL, NULL, e);
		sb_release(&l.detail);
		if (rc)
			return rc;
	}
	return 0;
}

static int rate_taxes(struct rater *R, struct rating *r, struct err *e)
{
	const char *jurisdiction = col(r, C_JURISDICTION);
	int ngroups = r->ngroups;

	if (!*jurisdiction)
		return 0; /* no tax jurisdiction: internal chargeback, untaxed */
	for (int g = 0; g < ngroups; g++) {
		const struct rate_tax *t = rates_tax_at(&R->card, jurisdiction, r->groups[g].group, col(r, C_LAST_DAY));
		if (!t)
			return hold(r, "no_tax_rate", "no tax rate for jurisdiction '%s' group '%s' on %s", jurisdiction,
				    r->groups[g].group, col(r, C_LAST_DAY));
		struct line l;
		struct dec base = r->groups[g].base;
		line_init(&l, "tax");
		l.tax_group = r->groups[g].group;
		l.tax_rate = &t->rate;
		l.tax_base = &base;
		if (charge_prorate(&l.value, base, t->rate, dec_from_int(1))) {
			sb_release(&l.detail);
			return hold(r, "out_of_range", "tax of group '%s' is out of range", r->groups[g].group);
		}
		json_text(&l.detail, "name", t->name);
		json_text(&l.detail, "effective_from", t->effective_from);
		int rc = emit(R, r, &l, NULL, NULL, e);
		sb_release(&l.detail);
		if (rc)
			return rc;
	}
	return 0;
}

/* Rate one snapshot: lines into R->lines, the header into R->ratings.
 * Returns 0, or -1 on a database error; a held account is not an error. */
static int rate_one(struct rater *R, struct rating *r, PGresult *vals, int v0, int v1, PGresult *segs, int s0, int s1,
		    struct err *e)
{
	int rc = 0;

	r->subtotal = r->tax_total = r->usage_total = dec_zero();
	r->currency = col(r, C_CURRENCY);
	r->lines_mark = R->lines.len;
	r->nlines_mark = R->nlines;
	r->exponent = rates_currency_exponent(&R->card, r->currency);
	if (r->exponent < 0)
		rc = hold(r, "unknown_currency", "the account's currency %s is not ISO 4217 nor in 'currencies'",
			  r->currency);
	else if (dec_parse_cstr(&r->period_seconds, col(r, C_SECONDS)) || dec_sign(r->period_seconds) <= 0)
		rc = hold(r, "out_of_range", "period length '%s' s", col(r, C_SECONDS));

	if (!rc && s0 == s1) {
		/* No subscription in the period: usage with no plan is held
		 * (quarantine reports it); no usage is nothing to bill. */
		if (strtoll(col(r, C_RECORDS), NULL, 10) > 0)
			rc = hold(r, "no_plan", "%s billable usage records and no subscription in the period",
				  col(r, C_RECORDS));
	}
	/* Each subscription segment: its recurring fees, prorated. */
	for (int s = s0; !rc && s < s1; s++) {
		const char *id = PQgetvalue(segs, s, S_PLAN), *date = PQgetvalue(segs, s, S_LOCAL_FROM);
		const struct rate_plan *p = rates_plan_at(&R->card, id, date);
		if (!p)
			rc = rates_plan_known(&R->card, id)
				     ? hold(r, "no_plan_version", "plan '%s' has no version in force on %s", id, date)
				     : hold(r, "unknown_plan", "plan '%s' is not in the rate card", id);
		else
			rc = rate_recurring(R, r, p, date, segs, s, e);
	}
	/* Usage, and the minimum, with the plan of the last segment. */
	if (!rc && s0 < s1) {
		const char *date = PQgetvalue(segs, s1 - 1, S_LOCAL_FROM);
		const struct rate_plan *p = rates_plan_at(&R->card, PQgetvalue(segs, s1 - 1, S_PLAN), date);
		rc = rate_usage(R, r, p, date, vals, v0, v1, e);
		if (!rc && col(r, C_CLOSED)[0] == 't')
			rc = rate_minimum(R, r, p, date, segs, s0, s1, e);
	}
	if (!rc)
		rc = rate_taxes(R, r, e);
	if (rc < 0)
		return -1;

	const char *why = col(r, C_HELD_WHY);
	if (r->hold) {
		R->lines.len = r->lines_mark; /* a held rating has no lines */
		R->nlines = r->nlines_mark;
		if (R->lines.data)
			R->lines.data[R->lines.len] = '\0';
		char now[320];
		snprintf(now, sizeof(now), "%s: %s", r->hold, r->hold_detail);
		if (!PQgetisnull(r->snap, r->row, C_HELD_WHY) && strcmp(why, now) == 0) {
			R->nsame++; /* still held for the same reason: nothing new to store */
			return 0;
		}
		r->subtotal = r->tax_total = dec_zero();
		R->nheld++;
	} else {
		R->nrated++;
	}
	struct dec total;
	dec_add(&total, r->subtotal, r->tax_total);
	struct sbuf *b = &R->ratings;
	copy_field(b, r->id, 1);
	copy_field(b, R->run, 0);
	copy_field(b, R->rule_param, 0);
	copy_field(b, col(r, C_ID), 0);
	copy_field(b, col(r, C_ACCOUNT), 0);
	copy_field(b, col(r, C_ACCOUNT_ID), 0);
	copy_field(b, col(r, C_LOCAL_START), 0);
	copy_field(b, col(r, C_LOCAL_END), 0);
	copy_field(b, col(r, C_CLOSED), 0);
	copy_field(b, r->currency, 0);
	copy_field(b, dec_round_name(R->mode), 0);
	copy_field(b, r->hold ? "held" : "rated", 0);
	copy_field(b, r->hold, 0);
	copy_field(b, r->hold ? r->hold_detail : NULL, 0);
	copy_dec(b, &r->subtotal);
	copy_dec(b, &r->tax_total);
	copy_dec(b, &total);
	sb_puts(b, "\n");
	if (r->hold)
		log_warn("rate: account '%s' period %s held: %s: %s", col(r, C_ACCOUNT), col(r, C_LOCAL_START), r->hold,
			 r->hold_detail);
	return 0;
}

static int copy_in(struct rater *R, const char *sql, struct sbuf *b, struct err *e)
{
	if (b->oom)
		return err_set(e, ERR_INTERNAL, "out of memory building rated lines");
	if (!b->len)
		return 0;
	if (db_copy_begin(R->ctx->db, e, sql) || db_copy_put(R->ctx->db, e, b->data, b->len) ||
	    db_copy_end(R->ctx->db, e))
		return -1;
	return 0;
}

/* "{1,2,3}" of the snapshot ids, for = ANY($1). */
static char *id_array(PGresult *snaps)
{
	struct sbuf b = { 0 };
	sb_puts(&b, "{");
	for (int i = 0; i < PQntuples(snaps); i++) {
		if (i)
			sb_puts(&b, ",");
		sb_puts(&b, PQgetvalue(snaps, i, C_ID));
	}
	sb_puts(&b, "}");
	if (b.oom) {
		sb_release(&b);
		return NULL;
	}
	return b.data;
}

static int rate_all(struct rater *R, struct err *e)
{
	struct job_ctx *ctx = R->ctx;
	PGresult *snaps = NULL, *vals = NULL, *segs = NULL, *ids = NULL;
	char *array = NULL;
	int rc = -1;

	const char *cp[] = { R->run, ctx->account, ctx->period_start, ctx->period_end };
	snaps = db_query(ctx->db, e, SQL_rate_candidates, 4, cp);
	if (!snaps)
		goto out;
	int n = PQntuples(snaps);
	array = id_array(snaps);
	if (!array) {
		err_set(e, ERR_INTERNAL, "out of memory");
		goto out;
	}
	char count[24];
	snprintf(count, sizeof(count), "%d", n);
	const char *ap[] = { array };
	const char *np[] = { count };
	if (!(vals = db_query(ctx->db, e, SQL_rate_values, 1, ap)) ||
	    !(segs = db_query(ctx->db, e, SQL_rate_segments, 1, ap)) ||
	    !(ids = db_query(ctx->db, e, SQL_rate_ids, 1, np)))
		goto out;

	/* vals and segs are ordered by snapshot id, like snaps: walk them
	 * side by side. */
	int v = 0, s = 0, nv = PQntuples(vals), ns = PQntuples(segs);
	progress_start("rating account periods", n);
	for (int i = 0; i < n; i++) {
		progress_update(i);
		long long id = strtoll(PQgetvalue(snaps, i, C_ID), NULL, 10);
		int v0 = v, s0 = s;
		while (v < nv && strtoll(PQgetvalue(vals, v, V_SNAPSHOT), NULL, 10) == id)
			v++;
		while (s < ns && strtoll(PQgetvalue(segs, s, S_SNAPSHOT), NULL, 10) == id)
			s++;
		struct rating r;
		memset(&r, 0, sizeof(r));
		r.snap = snaps;
		r.row = i;
		r.id = PQgetvalue(ids, i, 0);
		if (rate_one(R, &r, vals, v0, v, segs, s0, s, e)) {
			progress_finish();
			goto out;
		}
	}
	progress_update(n);
	progress_finish();
	if (copy_in(R, SQL_rate_copy_ratings, &R->ratings, e) || copy_in(R, SQL_rate_copy_lines, &R->lines, e))
		goto out;
	const char *pp[] = { ctx->account };
	if (db_exec(ctx->db, e, SQL_rate_pending_consume, 1, pp))
		goto out;
	rc = 0;
out:
	free(array);
	PQclear(snaps);
	PQclear(vals);
	PQclear(segs);
	PQclear(ids);
	return rc;
}

static int rate_run(struct job_ctx *ctx, struct err *e)
{
	struct rater R;
	int rc = -1;

	memset(&R, 0, sizeof(R));
	R.ctx = ctx;
	R.mode = DEC_ROUND_HALF_UP;
	if (ctx->cfg && ctx->cfg->money_rounding && dec_round_parse(ctx->cfg->money_rounding, &R.mode))
		return err_set(e, ERR_CONFIG, "money.rounding '%s' is not a rounding mode", ctx->cfg->money_rounding);
	if (!ctx->rules_file) {
		err_set(e, ERR_CONFIG, "rate: the run has no rate card (rule version)");
		return err_hint(e, "set rules.file in billrun.conf to the rate card");
	}
	if (rates_load_file(&R.card, ctx->rules_file, e))
		return err_prefix(e, "rate: ");
	snprintf(R.run, sizeof(R.run), "%lld", (long long)ctx->run_id);
	snprintf(R.rule, sizeof(R.rule), "%lld", (long long)ctx->rule_version);
	R.rule_param = ctx->rule_version ? R.rule : NULL;

	if (db_begin(ctx->db, e))
		goto out;
	if (db_exec(ctx->db, e, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", 0, NULL) || rate_all(&R, e)) {
		db_rollback(ctx->db);
		err_prefix(e, "rate: ");
		goto out;
	}
	log_info("rate: %lld account periods rated (%lld lines), %lld held%s%s, rule version %lld, rounding %s",
		 R.nrated, R.nlines, R.nheld + R.nsame, ctx->account ? ", account " : "",
		 ctx->account ? ctx->account : "", (long long)ctx->rule_version, dec_round_name(R.mode));
	rc = job_commit_done(ctx, e);
out:
	rates_release(&R.card);
	sb_release(&R.ratings);
	sb_release(&R.lines);
	free(R.fx);
	free(R.mid);
	return rc;
}

const struct job job_rate = { "rate", "price aggregated usage and subscriptions with the rate card", rate_run };
