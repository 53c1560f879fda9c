/*
 * invoice_doc.c - issued documents from the database into struct
 * invoice_doc (see invoice.h), for the renderers and the commands: one
 * query for the headers, one for all their lines, walked side by side.
 */
#include "invoice.h"
#include "db.h"
#include "err.h"
#include "sqltext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Columns of invoice_doc_headers_unwritten and invoice_doc_header_number. */
enum {
	H_DOC, H_ID, H_NUMBER, H_SERIES, H_ISSUE, H_DUE, H_ISSUED_AT, H_ACCOUNT, H_PERIOD_START, H_PERIOD_LAST,
	H_CURRENCY, H_SUBTOTAL, H_TAX, H_TOTAL, H_RUN, H_RULE, H_RULE_SHA, H_REF_KIND, H_REF_NUMBER, H_REASON,
	H_SELLER_NAME, H_SELLER_ADDRESS, H_SELLER_VAT, H_SELLER_EMAIL, H_SELLER_PAYMENT, H_CUSTOMER_NAME,
	H_CUSTOMER_EMAIL, H_CUSTOMER_TAX, H_CUSTOMER_CC, H_SELLER_JSON, H_CUSTOMER_JSON, H_RATING, H_OUTPUT_DIR,
	H_SELLER_STREET, H_SELLER_CITY, H_SELLER_POSTCODE, H_SELLER_COUNTRY, H_SELLER_COMPANY, H_SELLER_CONTACT,
	H_SELLER_PHONE, H_SELLER_ENDPOINT, H_SELLER_IBAN, H_SELLER_BIC, H_CUSTOMER_LINE1, H_CUSTOMER_LINE2, H_CUSTOMER_CITY, H_CUSTOMER_POSTCODE,
	H_CUSTOMER_COUNTRY, H_CUSTOMER_VAT, H_CUSTOMER_ENDPOINT, H_CUSTOMER_B2B, H_REVERSE_CHARGE
};
/* Columns of invoice_doc_lines. */
enum {
	L_DOC_ID, L_NO, L_KIND, L_ADJUSTMENT, L_PERIOD, L_DESCRIPTION, L_QUANTITY, L_AMOUNT, L_TAX_RATE, L_TAX_BASE,
	L_METER, L_CHARGE, L_PLAN, L_FX_RATE, L_PRICE_CURRENCY, L_PRICE_AMOUNT, L_FX_AS_OF, L_RATING, L_RATED_LINE,
	L_BILLABLE, L_LABEL, L_UNIT, L_SHOW_ZERO, L_MODEL, L_FREE, L_PACKAGE_SIZE, L_PACKAGES, L_DIFFERENCE,
	L_TAX_GROUP
};
/* Columns of invoice_doc_line_steps. */
enum { S_DOC_ID, S_LINE, S_TIER, S_FROM, S_TO, S_UNITS, S_PRICE, S_FLAT, S_AMOUNT };

void invoice_docs_release(struct invoice_doc_set *set)
{
	PQclear(set->headers);
	PQclear(set->lines);
	PQclear(set->steps);
	free(set->docs);
	free(set->line_arr);
	free(set->step_arr);
	memset(set, 0, sizeof(*set));
}

int64_t invoice_docs_last_id(const struct invoice_doc_set *set)
{
	return set->n > 0 ? strtoll(set->docs[set->n - 1].id, NULL, 10) : 0;
}

/* Fill set->docs from set->headers, then fetch and attach the lines. */
static int attach(struct db *db, struct invoice_doc_set *set, struct err *e)
{
	PGresult *h = set->headers;
	int n = PQntuples(h);
	set->n = 0;
	if (n == 0)
		return 0;
	set->docs = calloc((size_t)n, sizeof(*set->docs));
	if (!set->docs)
		return err_set(e, ERR_INTERNAL, "out of memory");

	/* All documents of a set are of one table: the lines' query takes
	 * the table and the ids. */
	size_t cap = (size_t)n * 24 + 4;
	char *ids = malloc(cap);
	if (!ids)
		return err_set(e, ERR_INTERNAL, "out of memory");
	size_t len = 0;
	ids[len++] = '{';
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(ids + len, cap - len, "%s%s", i ? "," : "", PQgetvalue(h, i, H_ID));
	snprintf(ids + len, cap - len, "}");
	const char *table = strcmp(PQgetvalue(h, 0, H_DOC), "credit_note") == 0 ? "credit_note" : "invoice";
	const char *p[] = { table, ids };
	set->lines = db_query(db, e, SQL_invoice_doc_lines, 2, p);
	if (set->lines)
		set->steps = db_query(db, e, SQL_invoice_doc_line_steps, 2, p);
	free(ids);
	if (!set->lines || !set->steps)
		return -1;
	PGresult *S = set->steps;
	int ns = PQntuples(S);
	set->step_arr = calloc((size_t)ns + 1, sizeof(*set->step_arr));
	if (!set->step_arr)
		return err_set(e, ERR_INTERNAL, "out of memory");
	for (int k = 0; k < ns; k++) {
		struct invoice_doc_step *st = &set->step_arr[k];
		st->tier = PQgetvalue(S, k, S_TIER);
		st->from = PQgetvalue(S, k, S_FROM);
		st->to = PQgetvalue(S, k, S_TO);
		st->units = PQgetvalue(S, k, S_UNITS);
		st->price = PQgetvalue(S, k, S_PRICE);
		st->flat = PQgetvalue(S, k, S_FLAT);
		st->amount = PQgetvalue(S, k, S_AMOUNT);
	}
	int nl = PQntuples(set->lines);
	set->line_arr = calloc((size_t)nl + 1, sizeof(*set->line_arr));
	if (!set->line_arr)
		return err_set(e, ERR_INTERNAL, "out of memory");
	PGresult *L = set->lines;
	for (int k = 0; k < nl; k++) {
		struct invoice_doc_line *l = &set->line_arr[k];
		l->line_no = PQgetvalue(L, k, L_NO);
		l->kind = PQgetvalue(L, k, L_KIND);
		l->adjustment = PQgetvalue(L, k, L_ADJUSTMENT)[0] == 't';
		l->period_start = PQgetvalue(L, k, L_PERIOD);
		l->description = PQgetvalue(L, k, L_DESCRIPTION);
		l->quantity = PQgetvalue(L, k, L_QUANTITY);
		l->billable = PQgetvalue(L, k, L_BILLABLE);
		l->amount = PQgetvalue(L, k, L_AMOUNT);
		l->tax_rate = PQgetvalue(L, k, L_TAX_RATE);
		l->tax_base = PQgetvalue(L, k, L_TAX_BASE);
		l->meter = PQgetvalue(L, k, L_METER);
		l->charge = PQgetvalue(L, k, L_CHARGE);
		l->plan = PQgetvalue(L, k, L_PLAN);
		l->fx_rate = PQgetvalue(L, k, L_FX_RATE);
		l->price_currency = PQgetvalue(L, k, L_PRICE_CURRENCY);
		l->price_amount = PQgetvalue(L, k, L_PRICE_AMOUNT);
		l->fx_as_of = PQgetvalue(L, k, L_FX_AS_OF);
		l->rating_id = PQgetvalue(L, k, L_RATING);
		l->rated_line_id = PQgetvalue(L, k, L_RATED_LINE);
		l->label = PQgetvalue(L, k, L_LABEL);
		l->unit = PQgetvalue(L, k, L_UNIT);
		l->show_zero = PQgetvalue(L, k, L_SHOW_ZERO)[0] == 't';
		l->model = PQgetvalue(L, k, L_MODEL);
		l->free = PQgetvalue(L, k, L_FREE);
		l->package_size = PQgetvalue(L, k, L_PACKAGE_SIZE);
		l->packages = PQgetvalue(L, k, L_PACKAGES);
		l->difference = PQgetvalue(L, k, L_DIFFERENCE)[0] == 't';
		l->tax_group = PQgetvalue(L, k, L_TAX_GROUP);
	}
	/* Steps are in document, line and step order like the lines: each
	 * line's are the run of rows with its document and line number. */
	for (int k = 0, j = 0; k < nl; k++) {
		struct invoice_doc_line *l = &set->line_arr[k];
		long long doc = strtoll(PQgetvalue(L, k, L_DOC_ID), NULL, 10);
		int no = atoi(l->line_no);
		while (j < ns && (strtoll(PQgetvalue(S, j, S_DOC_ID), NULL, 10) < doc ||
				  (strtoll(PQgetvalue(S, j, S_DOC_ID), NULL, 10) == doc && atoi(PQgetvalue(S, j, S_LINE)) < no)))
			j++;
		l->steps = &set->step_arr[j];
		int start = j;
		while (j < ns && strtoll(PQgetvalue(S, j, S_DOC_ID), NULL, 10) == doc && atoi(PQgetvalue(S, j, S_LINE)) == no)
			j++;
		l->nsteps = j - start;
	}
	/* Headers and lines are both in id order. */
	int k = 0;
	for (int i = 0; i < n; i++) {
		struct invoice_doc *d = &set->docs[i];
#define C(col) PQgetvalue(h, i, (col))
		d->doc = C(H_DOC);
		d->id = C(H_ID);
		d->number = C(H_NUMBER);
		d->series = C(H_SERIES);
		d->issue_date = C(H_ISSUE);
		d->due_date = C(H_DUE);
		d->issued_at = C(H_ISSUED_AT);
		d->account = C(H_ACCOUNT);
		d->period_start = C(H_PERIOD_START);
		d->period_last = C(H_PERIOD_LAST);
		d->currency = C(H_CURRENCY);
		d->subtotal = C(H_SUBTOTAL);
		d->tax_total = C(H_TAX);
		d->total = C(H_TOTAL);
		d->run_id = C(H_RUN);
		d->rule_version = C(H_RULE);
		d->rule_sha256 = C(H_RULE_SHA);
		d->ref_kind = C(H_REF_KIND);
		d->ref_number = C(H_REF_NUMBER);
		d->reason = C(H_REASON);
		d->seller_name = C(H_SELLER_NAME);
		d->seller_address = C(H_SELLER_ADDRESS);
		d->seller_vat_id = C(H_SELLER_VAT);
		d->seller_email = C(H_SELLER_EMAIL);
		d->seller_payment = C(H_SELLER_PAYMENT);
		d->customer_name = C(H_CUSTOMER_NAME);
		d->customer_email = C(H_CUSTOMER_EMAIL);
		d->customer_tax = C(H_CUSTOMER_TAX);
		d->customer_cost_centre = C(H_CUSTOMER_CC);
		d->seller_json = C(H_SELLER_JSON);
		d->customer_json = C(H_CUSTOMER_JSON);
		d->rating_id = C(H_RATING);
		d->output_dir = C(H_OUTPUT_DIR);
		d->seller_street = C(H_SELLER_STREET);
		d->seller_city = C(H_SELLER_CITY);
		d->seller_postcode = C(H_SELLER_POSTCODE);
		d->seller_country = C(H_SELLER_COUNTRY);
		d->seller_company_id = C(H_SELLER_COMPANY);
		d->seller_contact = C(H_SELLER_CONTACT);
		d->seller_phone = C(H_SELLER_PHONE);
		d->seller_endpoint = C(H_SELLER_ENDPOINT);
		d->seller_iban = C(H_SELLER_IBAN);
		d->seller_bic = C(H_SELLER_BIC);
		d->customer_line1 = C(H_CUSTOMER_LINE1);
		d->customer_line2 = C(H_CUSTOMER_LINE2);
		d->customer_city = C(H_CUSTOMER_CITY);
		d->customer_postcode = C(H_CUSTOMER_POSTCODE);
		d->customer_country = C(H_CUSTOMER_COUNTRY);
		d->customer_vat_id = C(H_CUSTOMER_VAT);
		d->customer_endpoint = C(H_CUSTOMER_ENDPOINT);
		d->customer_b2b = C(H_CUSTOMER_B2B)[0] == 't';
		d->reverse_charge = C(H_REVERSE_CHARGE)[0] == 't';
#undef C
		long long id = strtoll(d->id, NULL, 10);
		while (k < nl && strtoll(PQgetvalue(L, k, L_DOC_ID), NULL, 10) < id)
			k++;
		d->lines = &set->line_arr[k];
		int start = k;
		while (k < nl && strtoll(PQgetvalue(L, k, L_DOC_ID), NULL, 10) == id)
			k++;
		d->nlines = k - start;
	}
	set->n = n;
	return 0;
}

int invoice_docs_load_unwritten(struct db *db, const char *runs, const char *kind, int64_t after_id, int limit,
				struct invoice_doc_set *set, struct err *e)
{
	char after[24], lim[16];
	memset(set, 0, sizeof(*set));
	snprintf(after, sizeof(after), "%lld", (long long)after_id);
	snprintf(lim, sizeof(lim), "%d", limit);
	const char *p[] = { runs, kind, after, lim };
	set->headers = db_query(db, e, SQL_invoice_doc_headers_unwritten, 4, p);
	if (!set->headers || attach(db, set, e))
		return -1;
	return set->n;
}

int invoice_docs_load_number(struct db *db, const char *number, struct invoice_doc_set *set, struct err *e)
{
	memset(set, 0, sizeof(*set));
	const char *p[] = { number };
	set->headers = db_query(db, e, SQL_invoice_doc_header_number, 1, p);
	if (!set->headers || attach(db, set, e))
		return -1;
	return set->n > 0;
}
