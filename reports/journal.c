/*
 * journal.c - the journal of a billing period (see journal.h): the ledger
 * accounts from the config, the entries read from the issued documents
 * (sql/queries/xbrl_gl.sql), each checked to balance, and their totals.
 * The two files it is written as are xbrl_gl.c and journal_csv.c.
 */
#include "journal.h"
#include "cfg.h"
#include "charge.h"
#include "db.h"
#include "err.h"
#include "sqltext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CODE_MAX 64
#define NAME_MAX_LEN 256

/* ---- the accounts ---- */

static const struct journal_account default_receivable = { "", "1200", "Trade receivables", "" };
static const struct journal_account default_revenue = { "", "4000", "Revenue", "" };
static const struct journal_account default_tax = { "", "2200", "Tax payable", "" };

static int text_ok(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

/* One { code; name; } account at key (absent: the default). */
static int load_account(const struct config *cfg, const char *key, const struct journal_account *def,
			struct journal_account *out, struct err *e)
{
	*out = *def;
	config_setting_t *g = config_lookup((config_t *)&cfg->lc, key);
	if (!g)
		return 0;
	config_setting_t *code = config_setting_get_member(g, "code");
	config_setting_t *name = config_setting_get_member(g, "name");
	if (code) {
		out->code = config_setting_get_string(code);
		if (!text_ok(out->code, CODE_MAX))
			return cfg_error_at(e, code, "an account code must be 1 to %d characters, without control characters",
					    CODE_MAX);
	}
	if (name) {
		out->name = config_setting_get_string(name);
		if (!text_ok(out->name, NAME_MAX_LEN))
			return cfg_error_at(e, name, "an account name must be 1 to %d characters, without control characters",
					    NAME_MAX_LEN);
	}
	return 0;
}

/* A list of { KEYNAME = "..."; code; name; } (revenue_by_charge: charge;
 * tax_by_rate: rate). An element without a name takes the default's. */
static int load_list(const struct config *cfg, const char *key, const char *keyname, const struct journal_account *def,
		     struct journal_account **out, size_t *n, struct err *e)
{
	*out = NULL;
	*n = 0;
	config_setting_t *list = config_lookup((config_t *)&cfg->lc, key);
	if (!list || config_setting_length(list) == 0)
		return 0;
	int len = config_setting_length(list);
	*out = calloc((size_t)len, sizeof(**out));
	if (!*out)
		return err_set(e, ERR_INTERNAL, "out of memory");
	for (int i = 0; i < len; i++) {
		config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
		config_setting_t *k = config_setting_get_member(g, keyname);
		config_setting_t *code = config_setting_get_member(g, "code");
		config_setting_t *name = config_setting_get_member(g, "name");
		struct journal_account *a = &(*out)[i];
		if (!k)
			return cfg_error_at(e, g, "an account of %s needs a %s", key, keyname);
		if (!code)
			return cfg_error_at(e, g, "an account of %s needs a code", key);
		a->key = config_setting_get_string(k);
		a->code = config_setting_get_string(code);
		a->name = name ? config_setting_get_string(name) : def->name;
		if (!text_ok(a->key, NAME_MAX_LEN))
			return cfg_error_at(e, k, "a %s must be 1 to %d characters, without control characters", keyname,
					    NAME_MAX_LEN);
		if (!text_ok(a->code, CODE_MAX))
			return cfg_error_at(e, code, "an account code must be 1 to %d characters, without control characters",
					    CODE_MAX);
		if (name && !text_ok(a->name, NAME_MAX_LEN))
			return cfg_error_at(e, name, "an account name must be 1 to %d characters, without control characters",
					    NAME_MAX_LEN);
		if (strcmp(keyname, "rate") == 0) {
			struct dec r;
			if (dec_parse_cstr(&r, a->key) || dec_sign(r) < 0)
				return cfg_error_at(e, k, "'%s' is not a tax rate (a decimal such as \"0.19\")", a->key);
			dec_format(dec_normalize(r), a->match, sizeof(a->match));
		} else {
			snprintf(a->match, sizeof(a->match), "%s", a->key);
		}
		for (int j = 0; j < i; j++)
			if (strcmp((*out)[j].match, a->match) == 0)
				return cfg_error_at(e, k, "%s '%s' has an account already (element %d)", keyname, a->key, j);
		(*n)++;
	}
	return 0;
}

int journal_accounts_load(const struct config *cfg, struct journal_accounts *a, struct err *e)
{
	memset(a, 0, sizeof(*a));
	a->functional_currency = cfg->journal_functional_currency ? cfg->journal_functional_currency : "";
	if (dec_round_parse(cfg->money_rounding ? cfg->money_rounding : "half_up", &a->rounding))
		a->rounding = DEC_ROUND_HALF_UP;
	if (*a->functional_currency && currency_iso_exponent(a->functional_currency) < 0) {
		cfg_error_at(e, config_lookup((config_t *)&cfg->lc, "journal.functional_currency"),
			     "'%s' is not an active ISO 4217 currency code", a->functional_currency);
		return err_hint(e, "give the currency the books are kept in (\"EUR\"), or \"\" for none");
	}
	if (load_account(cfg, "journal.receivable", &default_receivable, &a->receivable, e) ||
	    load_account(cfg, "journal.revenue", &default_revenue, &a->revenue, e) ||
	    load_account(cfg, "journal.tax", &default_tax, &a->tax, e) ||
	    load_list(cfg, "journal.revenue_by_charge", "charge", &a->revenue, &a->revenue_by_charge, &a->nrevenue, e) ||
	    load_list(cfg, "journal.tax_by_rate", "rate", &a->tax, &a->tax_by_rate, &a->ntax, e)) {
		journal_accounts_release(a);
		return -1;
	}
	return 0;
}

void journal_accounts_release(struct journal_accounts *a)
{
	free(a->revenue_by_charge);
	free(a->tax_by_rate);
	a->revenue_by_charge = a->tax_by_rate = NULL;
	a->nrevenue = a->ntax = 0;
}

const struct journal_account *journal_revenue_account(const struct journal_accounts *a, const char *charge)
{
	for (size_t i = 0; i < a->nrevenue; i++)
		if (strcmp(a->revenue_by_charge[i].match, charge) == 0)
			return &a->revenue_by_charge[i];
	return &a->revenue;
}

const struct journal_account *journal_tax_account(const struct journal_accounts *a, const char *rate)
{
	char norm[DEC_STR_MAX];
	struct dec r;
	if (dec_parse_cstr(&r, rate) == 0)
		dec_format(dec_normalize(r), norm, sizeof(norm));
	else
		snprintf(norm, sizeof(norm), "%s", rate);
	for (size_t i = 0; i < a->ntax; i++)
		if (strcmp(a->tax_by_rate[i].match, norm) == 0)
			return &a->tax_by_rate[i];
	return &a->tax;
}

/* ---- the journal ---- */

void journal_init(struct journal *j, const char *start, const char *end, const char *unique_id, const char *entity,
		  const char *scheme, const char *functional)
{
	memset(j, 0, sizeof(*j));
	snprintf(j->start, sizeof(j->start), "%s", start);
	snprintf(j->end, sizeof(j->end), "%s", end);
	snprintf(j->unique_id, sizeof(j->unique_id), "%s", unique_id ? unique_id : "");
	snprintf(j->entity, sizeof(j->entity), "%s", entity ? entity : "");
	snprintf(j->scheme, sizeof(j->scheme), "%s", scheme ? scheme : "");
	snprintf(j->functional, sizeof(j->functional), "%s", functional ? functional : "");
}

static char *dup(const char *s)
{
	return strdup(s ? s : "");
}

struct journal_entry *journal_add_entry(struct journal *j, const char *doc, int64_t id, const char *number,
					const char *currency)
{
	if (j->nentries == j->cap) {
		size_t cap = j->cap ? j->cap * 2 : 64;
		struct journal_entry *p = realloc(j->entries, cap * sizeof(*p));
		if (!p)
			return NULL;
		j->entries = p;
		j->cap = cap;
	}
	struct journal_entry *en = &j->entries[j->nentries];
	memset(en, 0, sizeof(*en));
	snprintf(en->doc, sizeof(en->doc), "%s", doc);
	en->id = id;
	snprintf(en->currency, sizeof(en->currency), "%s", currency);
	en->number = dup(number);
	en->ref_number = dup("");
	en->account = dup("");
	en->customer = dup("");
	en->fx_source = dup("");
	en->subtotal = en->tax_total = en->total = dec_zero();
	j->nentries++;
	if (!en->number || !en->ref_number || !en->account || !en->customer || !en->fx_source)
		return NULL;
	return en;
}

struct journal_line *journal_add_line(struct journal_entry *en, enum journal_side side, const char *key,
				      const struct journal_account *acc, struct dec amount, int debit)
{
	if (en->nlines == en->cap) {
		size_t cap = en->cap ? en->cap * 2 : 4;
		struct journal_line *p = realloc(en->lines, cap * sizeof(*p));
		if (!p)
			return NULL;
		en->lines = p;
		en->cap = cap;
	}
	struct journal_line *l = &en->lines[en->nlines];
	memset(l, 0, sizeof(*l));
	l->side = side;
	l->key = dup(key);
	l->jurisdictions = dup("");
	l->code = acc->code;
	l->name = acc->name;
	l->amount = amount;
	l->debit = debit;
	en->nlines++;
	return l->key && l->jurisdictions ? l : NULL;
}

void journal_release(struct journal *j)
{
	for (size_t i = 0; i < j->nentries; i++) {
		struct journal_entry *en = &j->entries[i];
		for (size_t k = 0; k < en->nlines; k++) {
			free(en->lines[k].key);
			free(en->lines[k].jurisdictions);
		}
		free(en->lines);
		free(en->number);
		free(en->ref_number);
		free(en->account);
		free(en->customer);
		free(en->fx_source);
	}
	free(j->entries);
	j->entries = NULL;
	j->nentries = j->cap = 0;
}

int journal_entry_check(const struct journal_entry *en, struct err *e)
{
	struct dec debit = dec_zero(), credit = dec_zero();
	for (size_t i = 0; i < en->nlines; i++) {
		const struct journal_line *l = &en->lines[i];
		if (dec_add(l->debit ? &debit : &credit, l->debit ? debit : credit, l->amount))
			return err_set(e, ERR_INPUT, "entry %s: the amounts overflow", en->number);
	}
	if (dec_cmp(debit, credit) != 0) {
		char d[DEC_STR_MAX], c[DEC_STR_MAX];
		dec_format(debit, d, sizeof(d));
		dec_format(credit, c, sizeof(c));
		return err_set(e, ERR_INPUT, "entry %s does not balance: debits %s %s, credits %s %s", en->number, d,
			       en->currency, c, en->currency);
	}
	return 0;
}

/* ---- reading it from the database ---- */

static int parse_amount(const char *text, struct dec *out, const char *what, const char *number, struct err *e)
{
	if (dec_parse_cstr(out, text) == 0)
		return 0;
	return err_set(e, ERR_INTERNAL, "document %s: %s '%s' is not a decimal billrun can hold", number, what, text);
}

/* The amount in the functional currency: amount x rate (or / rate),
 * rounded once to the functional currency's minor unit. */
static void restate(const struct journal *j, const struct journal_entry *en, struct journal_line *l,
		    enum dec_round mode)
{
	struct dec rate, out;
	int exponent = currency_iso_exponent(j->functional);
	if (!en->fx_rate[0] || exponent < 0 || dec_parse_cstr(&rate, en->fx_rate))
		return;
	int rc = en->fx_inverse ? dec_div(&out, l->amount, rate, exponent, mode)
				: dec_mul_round(&out, l->amount, rate, exponent, mode);
	if (rc == 0)
		dec_format(out, l->restated, sizeof(l->restated));
}

/* A summed side of a document: a credit for an invoice, a debit for a
 * credit note; a negative sum goes to the other side. */
static int add_summed(struct journal_entry *en, enum journal_side side, const char *key,
		      const struct journal_account *acc, struct dec sum, int credit_note, struct journal_line **out)
{
	*out = NULL;
	if (dec_is_zero(sum))
		return 0;
	int debit = credit_note;
	if (dec_sign(sum) < 0)
		debit = !debit;
	*out = journal_add_line(en, side, key, acc, dec_abs(sum), debit);
	return *out ? 0 : -1;
}

/* The entry of (doc_table, id), by binary search over the index sorted
 * by (credit note?, id). */
struct entry_ref {
	int credit_note;
	int64_t id;
	size_t index;
};

static int ref_cmp(const void *a, const void *b)
{
	const struct entry_ref *x = a, *y = b;
	if (x->credit_note != y->credit_note)
		return x->credit_note - y->credit_note;
	return x->id < y->id ? -1 : x->id > y->id;
}

int journal_collect(struct db *db, const struct journal_accounts *a, const char *period_start,
		    const char *period_end, int64_t run_id, const char *unique_id, const char *entity,
		    const char *scheme, struct journal *j, struct err *e)
{
	char run[24], end[11];
	PGresult *docs = NULL, *lines = NULL;
	struct entry_ref *index = NULL;
	int rc = -1;

	/* the period's last day, as the XBRL report has it */
	PGresult *r = db_query(db, e, "SELECT ($1::date - 1)::text", 1, &period_end);
	if (!r)
		return -1;
	snprintf(end, sizeof(end), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	journal_init(j, period_start, end, unique_id, entity, scheme, a->functional_currency);
	snprintf(run, sizeof(run), "%lld", (long long)run_id);
	const char *params[] = { period_start, period_end, run, a->functional_currency };

	docs = db_query(db, e, SQL_xbrl_gl_documents, 4, params);
	if (!docs)
		goto out;
	int ndocs = PQntuples(docs);
	index = calloc((size_t)(ndocs ? ndocs : 1), sizeof(*index));
	if (!index)
		goto oom;
	for (int i = 0; i < ndocs; i++) {
		const char *doc = PQgetvalue(docs, i, 0);
		struct journal_entry *en =
			journal_add_entry(j, doc, strtoll(PQgetvalue(docs, i, 1), NULL, 10), PQgetvalue(docs, i, 2),
					  PQgetvalue(docs, i, 7));
		if (!en)
			goto oom;
		snprintf(en->issue_date, sizeof(en->issue_date), "%s", PQgetvalue(docs, i, 3));
		snprintf(en->due_date, sizeof(en->due_date), "%s", PQgetvalue(docs, i, 4));
		free(en->account);
		free(en->customer);
		free(en->ref_number);
		free(en->fx_source);
		en->account = dup(PQgetvalue(docs, i, 5));
		en->customer = dup(PQgetvalue(docs, i, 6));
		en->ref_number = dup(PQgetvalue(docs, i, 11));
		en->fx_source = dup(PQgetvalue(docs, i, 17));
		if (!en->account || !en->customer || !en->ref_number || !en->fx_source)
			goto oom;
		if (parse_amount(PQgetvalue(docs, i, 8), &en->subtotal, "subtotal", en->number, e) ||
		    parse_amount(PQgetvalue(docs, i, 9), &en->tax_total, "tax total", en->number, e) ||
		    parse_amount(PQgetvalue(docs, i, 10), &en->total, "total", en->number, e))
			goto out;
		snprintf(en->period_start, sizeof(en->period_start), "%s", PQgetvalue(docs, i, 12));
		snprintf(en->period_end, sizeof(en->period_end), "%s", PQgetvalue(docs, i, 13));
		snprintf(en->fx_rate, sizeof(en->fx_rate), "%s", PQgetvalue(docs, i, 14));
		snprintf(en->fx_as_of, sizeof(en->fx_as_of), "%s", PQgetvalue(docs, i, 15));
		en->fx_inverse = strcmp(PQgetvalue(docs, i, 16), "true") == 0;
		if (j->functional[0] && strcmp(en->currency, j->functional) != 0 && !en->fx_rate[0])
			j->fx_missing++;
		int credit_note = strcmp(doc, "credit_note") == 0;
		/* the receivable first: the total, debited (a credit note's credited) */
		struct dec total = en->total;
		int debit = !credit_note;
		if (dec_sign(total) < 0) {
			debit = !debit;
			total = dec_abs(total);
		}
		struct journal_line *l = journal_add_line(en, JOURNAL_RECEIVABLE, "", &a->receivable, total, debit);
		if (!l)
			goto oom;
		index[i] = (struct entry_ref){ credit_note, en->id, (size_t)i };
	}
	qsort(index, (size_t)ndocs, sizeof(*index), ref_cmp);

	lines = db_query(db, e, SQL_xbrl_gl_lines, 4, params);
	if (!lines)
		goto out;
	for (int i = 0; i < PQntuples(lines); i++) {
		struct entry_ref key = { strcmp(PQgetvalue(lines, i, 0), "credit_note") == 0,
					 strtoll(PQgetvalue(lines, i, 1), NULL, 10), 0 };
		struct entry_ref *found = bsearch(&key, index, (size_t)ndocs, sizeof(*index), ref_cmp);
		if (!found)
			continue; /* a line of a document outside the period: not ours */
		struct journal_entry *en = &j->entries[found->index];
		int tax = strcmp(PQgetvalue(lines, i, 2), "tax") == 0;
		const char *k = PQgetvalue(lines, i, 3);
		struct dec sum;
		if (parse_amount(PQgetvalue(lines, i, 4), &sum, "a line's amount", en->number, e))
			goto out;
		struct journal_line *l;
		const struct journal_account *acc = tax ? journal_tax_account(a, k) : journal_revenue_account(a, k);
		if (add_summed(en, tax ? JOURNAL_TAX : JOURNAL_REVENUE, k, acc, sum, key.credit_note, &l))
			goto oom;
		if (l && tax) {
			snprintf(l->tax_base, sizeof(l->tax_base), "%s", PQgetvalue(lines, i, 5));
			free(l->jurisdictions);
			l->jurisdictions = dup(PQgetvalue(lines, i, 6));
			if (!l->jurisdictions)
				goto oom;
		}
	}

	enum dec_round mode = a->rounding;
	for (size_t i = 0; i < j->nentries; i++) {
		struct journal_entry *en = &j->entries[i];
		for (size_t k = 0; k < en->nlines; k++)
			restate(j, en, &en->lines[k], mode);
		/* Lines that do not add up to the document's total would be a
		 * broken document, never a journal to hand on. */
		if (journal_entry_check(en, e)) {
			e->kind = ERR_INTERNAL;
			err_detail(e, "the lines of %s do not add up to its total", en->number);
			goto out;
		}
	}
	rc = 0;
	goto out;
oom:
	err_set(e, ERR_INTERNAL, "out of memory");
out:
	PQclear(docs);
	PQclear(lines);
	free(index);
	if (rc)
		journal_release(j);
	return rc;
}

void journal_fx_multiplier(const struct journal_entry *en, char *buf, size_t size)
{
	struct dec rate, inv;
	buf[0] = '\0';
	if (!en->fx_rate[0] || dec_parse_cstr(&rate, en->fx_rate))
		return;
	if (!en->fx_inverse) {
		dec_format(dec_normalize(rate), buf, size);
		return;
	}
	if (dec_div(&inv, dec_from_int(1), rate, 12, DEC_ROUND_HALF_EVEN) == 0)
		dec_format(dec_normalize(inv), buf, size);
}

/* ---- totals ---- */

static int totals_cmp(const void *a, const void *b)
{
	return strcmp(((const struct journal_totals *)a)->currency, ((const struct journal_totals *)b)->currency);
}

int journal_totals(const struct journal *j, struct journal_totals **out)
{
	struct journal_totals *t = NULL;
	size_t n = 0;
	*out = NULL;
	for (size_t i = 0; i < j->nentries; i++) {
		const struct journal_entry *en = &j->entries[i];
		size_t c = 0;
		while (c < n && strcmp(t[c].currency, en->currency) != 0)
			c++;
		if (c == n) {
			struct journal_totals *p = realloc(t, (n + 1) * sizeof(*p));
			if (!p)
				goto fail;
			t = p;
			memset(&t[n], 0, sizeof(t[n]));
			snprintf(t[n].currency, sizeof(t[n].currency), "%s", en->currency);
			t[n].invoice_receivable = t[n].invoice_revenue = t[n].invoice_tax = dec_zero();
			t[n].credit_receivable = t[n].credit_revenue = t[n].credit_tax = dec_zero();
			n++;
		}
		int cn = strcmp(en->doc, "credit_note") == 0;
		if (cn)
			t[c].credit_notes++;
		else
			t[c].invoices++;
		for (size_t k = 0; k < en->nlines; k++) {
			const struct journal_line *l = &en->lines[k];
			struct dec *sum;
			int usual; /* debit is the usual side of this line */
			if (l->side == JOURNAL_RECEIVABLE) {
				sum = cn ? &t[c].credit_receivable : &t[c].invoice_receivable;
				usual = !cn;
			} else {
				sum = l->side == JOURNAL_REVENUE ? (cn ? &t[c].credit_revenue : &t[c].invoice_revenue)
								 : (cn ? &t[c].credit_tax : &t[c].invoice_tax);
				usual = cn;
			}
			if ((l->debit == usual ? dec_add(sum, *sum, l->amount) : dec_sub(sum, *sum, l->amount)))
				goto fail;
		}
	}
	qsort(t, n, sizeof(*t), totals_cmp);
	*out = t;
	return (int)n;
fail:
	free(t);
	return -1;
}
