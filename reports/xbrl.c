/*
 * xbrl.c - the facts of the XBRL report and the instance document (see
 * xbrl.h). The fact table below is the one place that says what the
 * report holds and where each value comes from; the checks are in
 * xbrl_check.c and xbrl_validate.c.
 */
#include "xbrl.h"
#include "db.h"
#include "err.h"
#include "fs.h"
#include "sqltext.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define XBRLI_NS "http://www.xbrl.org/2003/instance"
#define LINK_NS "http://www.xbrl.org/2003/linkbase"
#define XLINK_NS "http://www.w3.org/1999/xlink"
#define ISO4217_NS "http://www.xbrl.org/2003/iso4217"
#define XSI_NS "http://www.w3.org/2001/XMLSchema-instance"

enum fact_kind {
	FACT_MONEY,   /* monetaryItemType: one fact per currency, source rows (currency, amount) */
	FACT_COUNT,   /* nonNegativeIntegerItemType in xbrli:pure, source one value */
	FACT_TEXT     /* stringItemType, source one value; nil without one */
};

struct fact_def {
	const char *concept;   /* in reports/taxonomy/billrun-2026.xsd */
	enum fact_kind kind;
	int instant;           /* 1: at the period's end; 0: over the period */
	const char *table;     /* the table the source reads (checked with to_regclass); NULL: always there */
	const char *sql;       /* the source (sql/queries/xbrl.sql); NULL: billrun keeps no such data (yet) */
};

/*
 * The report. A fact without a source, or whose table does not exist in
 * this database, is reported as zero (amounts: in every currency): the
 * report always has the same shape. Giving a fact a source is one line.
 */
static const struct fact_def facts[] = {
	/* concept                          kind        inst  table                    source */
	{ "BilledAmount",                   FACT_MONEY, 0,    "invoices",              SQL_xbrl_billed_amount },
	{ "TaxAmount",                      FACT_MONEY, 0,    "invoices",              SQL_xbrl_tax_amount },
	{ "InvoicedAmount",                 FACT_MONEY, 0,    "invoices",              SQL_xbrl_invoiced_amount },
	{ "CreditNoteAmount",               FACT_MONEY, 0,    "credit_notes",          SQL_xbrl_credit_note_amount },
	{ "RatedAmount",                    FACT_MONEY, 0,    "ratings",               SQL_xbrl_rated_amount },
	{ "RatedTaxAmount",                 FACT_MONEY, 0,    "ratings",               SQL_xbrl_rated_tax_amount },
	{ "ReconciliationDifferenceAmount", FACT_MONEY, 0,    "reconciliation_checks", SQL_xbrl_reconciliation_difference_amount },
	{ "InvoiceCount",                   FACT_COUNT, 0,    "invoices",              SQL_xbrl_invoice_count },
	{ "CreditNoteCount",                FACT_COUNT, 0,    "credit_notes",          SQL_xbrl_credit_note_count },
	{ "RecordsRead",                    FACT_COUNT, 0,    "ingest_files",          SQL_xbrl_records_read },
	{ "RecordsIngested",                FACT_COUNT, 0,    "ingest_files",          SQL_xbrl_records_ingested },
	{ "RecordsQuarantined",             FACT_COUNT, 0,    "ingest_files",          SQL_xbrl_records_quarantined },
	{ "RecordsDuplicated",              FACT_COUNT, 0,    "ingest_files",          SQL_xbrl_records_duplicated },
	{ "RecordsInQuarantine",            FACT_COUNT, 0,    "quarantine_records",    SQL_xbrl_records_in_quarantine },
	{ "ReconciliationDifferenceCount",  FACT_COUNT, 0,    "reconciliation_checks", SQL_xbrl_reconciliation_difference_count },
	{ "RatingsHeld",                    FACT_COUNT, 0,    "ratings",               SQL_xbrl_ratings_held },
	{ "AccountsHeld",                   FACT_COUNT, 0,    "account_holds",         SQL_xbrl_accounts_held },
	{ "AccountsOpen",                   FACT_COUNT, 1,    "accounts",              SQL_xbrl_accounts_open },
	{ "AuditLogEntries",                FACT_COUNT, 0,    "audit_log",             SQL_xbrl_audit_entries },
	{ "RuleVersion",                    FACT_TEXT,  0,    "rule_versions",         SQL_xbrl_rule_version },
	{ "RunIdentifier",                  FACT_TEXT,  0,    NULL,                    SQL_xbrl_run_identifier },
};

#define NFACTS (sizeof(facts) / sizeof(facts[0]))

int xbrl_report_add(struct xbrl_report *rep, const char *concept, const char *currency, const char *value)
{
	if (rep->nvalues == rep->cap) {
		size_t cap = rep->cap ? rep->cap * 2 : 32;
		struct xbrl_value *p = realloc(rep->values, cap * sizeof(*p));
		if (!p)
			return -1;
		rep->values = p;
		rep->cap = cap;
	}
	struct xbrl_value *v = &rep->values[rep->nvalues];
	v->concept = concept;
	snprintf(v->currency, sizeof(v->currency), "%s", currency ? currency : "");
	v->value = value ? strdup(value) : NULL;
	if (value && !v->value)
		return -1;
	rep->nvalues++;
	return 0;
}

void xbrl_report_release(struct xbrl_report *rep)
{
	for (size_t i = 0; i < rep->nvalues; i++)
		free(rep->values[i].value);
	free(rep->values);
	free(rep->currencies);
	memset(rep, 0, sizeof(*rep));
}

static int add_currency(struct xbrl_report *rep, const char *code)
{
	if (strlen(code) != 3)
		return 0; /* accounts.currency is CHECKed to [A-Z]{3}; anything else is not ours */
	size_t i = 0;
	while (i < rep->ncurrencies && strcmp(rep->currencies[i], code) < 0)
		i++;
	if (i < rep->ncurrencies && strcmp(rep->currencies[i], code) == 0)
		return 0;
	char(*p)[4] = realloc(rep->currencies, (rep->ncurrencies + 1) * sizeof(*p));
	if (!p)
		return -1;
	rep->currencies = p;
	memmove(&p[i + 1], &p[i], (rep->ncurrencies - i) * sizeof(*p));
	memcpy(p[i], code, 4);
	rep->ncurrencies++;
	return 0;
}

/* The day before date (YYYY-MM-DD) into out, by the calendar. */
static int day_before(const char *date, char *out, size_t size)
{
	struct tm tm = { 0 };
	if (!strptime(date, "%Y-%m-%d", &tm))
		return -1;
	tm.tm_mday -= 1;
	tm.tm_hour = 12; /* clear of any DST edge; timegm ignores it anyway */
	time_t t = timegm(&tm);
	gmtime_r(&t, &tm);
	return strftime(out, size, "%Y-%m-%d", &tm) ? 0 : -1;
}

int xbrl_collect(struct db *db, const char *period_start, const char *period_end, int64_t run_id,
		 const char *entity, const char *scheme, struct xbrl_report *rep, struct err *e)
{
	char run[24];
	PGresult *results[NFACTS] = { 0 };
	PGresult *res = NULL;
	int rc = -1;

	memset(rep, 0, sizeof(*rep));
	snprintf(rep->entity, sizeof(rep->entity), "%s", entity);
	snprintf(rep->scheme, sizeof(rep->scheme), "%s", scheme);
	snprintf(rep->start, sizeof(rep->start), "%s", period_start);
	if (day_before(period_end, rep->end, sizeof(rep->end)))
		return err_set(e, ERR_INTERNAL, "bad period end '%s'", period_end);
	snprintf(run, sizeof(run), "%lld", (long long)run_id);

	res = db_query(db, e, SQL_xbrl_currencies, 0, NULL);
	if (!res)
		goto out;
	for (int i = 0; i < PQntuples(res); i++)
		if (add_currency(rep, PQgetvalue(res, i, 0)))
			goto oom;
	PQclear(res);
	res = NULL;

	/* Query every source there is; amounts add their currencies. */
	for (size_t f = 0; f < NFACTS; f++) {
		if (!facts[f].sql)
			continue;
		if (facts[f].table) {
			const char *p[] = { facts[f].table };
			res = db_query(db, e, SQL_xbrl_table_exists, 1, p);
			if (!res)
				goto out;
			int exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
			PQclear(res);
			res = NULL;
			if (!exists)
				continue;
		}
		const char *params[] = { period_start, period_end, run };
		results[f] = db_query(db, e, facts[f].sql, 3, params);
		if (!results[f]) {
			err_prefix(e, "XBRL fact %s: ", facts[f].concept);
			goto out;
		}
		if (facts[f].kind == FACT_MONEY)
			for (int i = 0; i < PQntuples(results[f]); i++)
				if (add_currency(rep, PQgetvalue(results[f], i, 0)))
					goto oom;
	}

	for (size_t f = 0; f < NFACTS; f++) {
		PGresult *r = results[f];
		if (facts[f].kind == FACT_MONEY) {
			for (size_t c = 0; c < rep->ncurrencies; c++) {
				const char *amount = "0";
				for (int i = 0; r && i < PQntuples(r); i++)
					if (strcmp(PQgetvalue(r, i, 0), rep->currencies[c]) == 0 && !PQgetisnull(r, i, 1))
						amount = PQgetvalue(r, i, 1);
				if (xbrl_report_add(rep, facts[f].concept, rep->currencies[c], amount))
					goto oom;
			}
			continue;
		}
		const char *v = r && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) ? PQgetvalue(r, 0, 0) : NULL;
		if (!v && facts[f].kind == FACT_COUNT)
			v = "0";
		if (xbrl_report_add(rep, facts[f].concept, NULL, v))
			goto oom;
	}
	rc = 0;
	goto out;
oom:
	err_set(e, ERR_INTERNAL, "out of memory");
out:
	PQclear(res);
	for (size_t f = 0; f < NFACTS; f++)
		PQclear(results[f]);
	if (rc)
		xbrl_report_release(rep);
	return rc;
}

static const struct fact_def *fact_def(const char *concept)
{
	for (size_t f = 0; f < NFACTS; f++)
		if (strcmp(facts[f].concept, concept) == 0)
			return &facts[f];
	return NULL;
}

static xmlNodePtr context(xmlNodePtr root, xmlNsPtr xbrli, const struct xbrl_report *rep, const char *id,
			  int instant)
{
	xmlNodePtr ctx = xmlNewChild(root, xbrli, BAD_CAST "context", NULL);
	xmlNewProp(ctx, BAD_CAST "id", BAD_CAST id);
	xmlNodePtr ent = xmlNewChild(ctx, xbrli, BAD_CAST "entity", NULL);
	xmlNodePtr ident = xmlNewTextChild(ent, xbrli, BAD_CAST "identifier", BAD_CAST rep->entity);
	xmlNewProp(ident, BAD_CAST "scheme", BAD_CAST rep->scheme);
	xmlNodePtr period = xmlNewChild(ctx, xbrli, BAD_CAST "period", NULL);
	if (instant) {
		xmlNewTextChild(period, xbrli, BAD_CAST "instant", BAD_CAST rep->end);
	} else {
		xmlNewTextChild(period, xbrli, BAD_CAST "startDate", BAD_CAST rep->start);
		xmlNewTextChild(period, xbrli, BAD_CAST "endDate", BAD_CAST rep->end);
	}
	return ctx;
}

xmlDocPtr xbrl_instance(const struct xbrl_report *rep, struct err *e)
{
	char duration_id[64], instant_id[64], unit_id[16];
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	if (!doc) {
		err_set(e, ERR_INTERNAL, "out of memory");
		return NULL;
	}
	xmlNodePtr root = xmlNewNode(NULL, BAD_CAST "xbrl");
	xmlDocSetRootElement(doc, root);
	xmlNsPtr xbrli = xmlNewNs(root, BAD_CAST XBRLI_NS, BAD_CAST "xbrli");
	xmlSetNs(root, xbrli);
	xmlNsPtr link = xmlNewNs(root, BAD_CAST LINK_NS, BAD_CAST "link");
	xmlNsPtr xlink = xmlNewNs(root, BAD_CAST XLINK_NS, BAD_CAST "xlink");
	xmlNewNs(root, BAD_CAST ISO4217_NS, BAD_CAST "iso4217");
	xmlNsPtr xsi = xmlNewNs(root, BAD_CAST XSI_NS, BAD_CAST "xsi");
	xmlNsPtr ours = xmlNewNs(root, BAD_CAST XBRL_NS, BAD_CAST XBRL_PREFIX);

	xmlNodePtr ref = xmlNewChild(root, link, BAD_CAST "schemaRef", NULL);
	xmlNewNsProp(ref, xlink, BAD_CAST "type", BAD_CAST "simple");
	xmlNewNsProp(ref, xlink, BAD_CAST "href", BAD_CAST XBRL_TAXONOMY_FILE);

	snprintf(duration_id, sizeof(duration_id), "D_%s_%s", rep->start, rep->end);
	snprintf(instant_id, sizeof(instant_id), "I_%s", rep->end);
	context(root, xbrli, rep, duration_id, 0);
	context(root, xbrli, rep, instant_id, 1);
	for (size_t c = 0; c < rep->ncurrencies; c++) {
		char measure[32];
		snprintf(unit_id, sizeof(unit_id), "U_%s", rep->currencies[c]);
		snprintf(measure, sizeof(measure), "iso4217:%s", rep->currencies[c]);
		xmlNodePtr unit = xmlNewChild(root, xbrli, BAD_CAST "unit", NULL);
		xmlNewProp(unit, BAD_CAST "id", BAD_CAST unit_id);
		xmlNewTextChild(unit, xbrli, BAD_CAST "measure", BAD_CAST measure);
	}
	xmlNodePtr pure = xmlNewChild(root, xbrli, BAD_CAST "unit", NULL);
	xmlNewProp(pure, BAD_CAST "id", BAD_CAST "U_pure");
	xmlNewTextChild(pure, xbrli, BAD_CAST "measure", BAD_CAST "xbrli:pure");

	for (size_t i = 0; i < rep->nvalues; i++) {
		const struct xbrl_value *v = &rep->values[i];
		const struct fact_def *d = fact_def(v->concept);
		if (!d) {
			xmlFreeDoc(doc);
			err_set(e, ERR_INTERNAL, "XBRL concept '%s' is not in the fact table", v->concept);
			return NULL;
		}
		xmlNodePtr fact = xmlNewTextChild(root, ours, BAD_CAST v->concept, v->value ? BAD_CAST v->value : NULL);
		xmlNewProp(fact, BAD_CAST "contextRef", BAD_CAST(d->instant ? instant_id : duration_id));
		if (d->kind == FACT_MONEY) {
			snprintf(unit_id, sizeof(unit_id), "U_%s", v->currency);
			xmlNewProp(fact, BAD_CAST "unitRef", BAD_CAST unit_id);
			/* Amounts are exact: rounded once per line, summed exactly. */
			xmlNewProp(fact, BAD_CAST "decimals", BAD_CAST "INF");
		} else if (d->kind == FACT_COUNT) {
			/* Counts are exact too: INF, so that a calculation over
			 * counts must hold exactly (decimals 0 would let
			 * Calculations 1.1 pass a sum off by one per item). */
			xmlNewProp(fact, BAD_CAST "unitRef", BAD_CAST "U_pure");
			xmlNewProp(fact, BAD_CAST "decimals", BAD_CAST "INF");
		}
		if (!v->value)
			xmlNewNsProp(fact, xsi, BAD_CAST "nil", BAD_CAST "true");
	}
	return doc;
}

int xbrl_save(xmlDocPtr doc, const char *path, struct err *e)
{
	xmlChar *buf = NULL;
	int len = 0;
	xmlDocDumpFormatMemoryEnc(doc, &buf, &len, "UTF-8", 1);
	if (!buf)
		return err_set(e, ERR_INTERNAL, "could not serialise the XBRL instance");
	int rc = fs_write_file(path, buf, (size_t)len, e);
	xmlFree(buf);
	return rc;
}
