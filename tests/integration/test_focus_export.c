/*
 * test_focus_export.c - the FOCUS 1.1 billing export the invoice step
 * writes beside each document (NUMBER.focus.csv; reports/FOCUS.md),
 * through the billrun binary on the invoice fixtures (accounts in
 * Europe/Berlin, Asia/Tokyo and Europe/Zurich; a plan change, FX, a
 * minimum commitment, taxes):
 *   (a) every mandatory FOCUS 1.1 column is there, named and ordered as
 *       the specification says, and every value of every column has the
 *       type, format and allowed values the specification gives it, with
 *       the nulls its conditional rules require; the billing periods are
 *       the accounts' local months as UTC instants;
 *   (b) the exports of an invoice, a credit note and a supplementary
 *       invoice, ingested back by billrun's own FOCUS reader, add up to
 *       the documents' totals to the cent (a credit note's to minus its
 *       total), every row accepted;
 *   (c) each export is recorded in invoice_files with its SHA-256 and
 *       size, is what `billrun invoice show --focus` prints, and is in the
 *       run's archive with that SHA-256; invoice.focus = false writes none.
 *
 * The specification's rules are written out below (spec[]) from the v1.1
 * column pages and attributes (Column Naming and Ordering, Date/Time
 * Format, Numeric Format, Null Handling, Currency Code Format), not taken
 * from billrun's own column table, so that the two are checked against
 * each other.
 */
#include "invoice_env.h"

#include <ctype.h>
#include <regex.h>

/* ---- the FOCUS 1.1 rules ---- */

enum kind { DECIMAL, STRING, DATETIME };

struct rule {
	const char *name;
	enum kind kind;
	int mandatory;          /* Feature level Mandatory: must be present */
	int nullable;           /* Allows nulls */
	const char *allowed;    /* allowed values, '|'-separated, or NULL */
};

static const struct rule spec[] = {
	{ "BilledCost", DECIMAL, 1, 0, NULL },
	{ "BillingAccountId", STRING, 1, 0, NULL },
	{ "BillingAccountName", STRING, 1, 1, NULL },
	{ "BillingCurrency", STRING, 1, 0, NULL },
	{ "BillingPeriodEnd", DATETIME, 1, 0, NULL },
	{ "BillingPeriodStart", DATETIME, 1, 0, NULL },
	{ "ChargeCategory", STRING, 1, 0, "Usage|Purchase|Tax|Credit|Adjustment" },
	{ "ChargeClass", STRING, 1, 1, "Correction" },
	{ "ChargeDescription", STRING, 1, 1, NULL },
	{ "ChargeFrequency", STRING, 0, 0, "One-Time|Recurring|Usage-Based" },
	{ "ChargePeriodEnd", DATETIME, 1, 0, NULL },
	{ "ChargePeriodStart", DATETIME, 1, 0, NULL },
	{ "ConsumedQuantity", DECIMAL, 0, 1, NULL },
	{ "ConsumedUnit", STRING, 0, 1, NULL },
	{ "ContractedCost", DECIMAL, 1, 0, NULL },
	{ "ContractedUnitPrice", DECIMAL, 0, 1, NULL },
	{ "EffectiveCost", DECIMAL, 1, 0, NULL },
	{ "InvoiceIssuerName", STRING, 1, 0, NULL },
	{ "ListCost", DECIMAL, 1, 0, NULL },
	{ "ListUnitPrice", DECIMAL, 0, 1, NULL },
	{ "PricingCategory", STRING, 0, 1, "Standard|Dynamic|Committed|Other" },
	{ "PricingQuantity", DECIMAL, 1, 1, NULL },
	{ "PricingUnit", STRING, 1, 1, NULL },
	{ "ProviderName", STRING, 1, 0, NULL },
	{ "PublisherName", STRING, 1, 0, NULL },
	{ "ServiceCategory", STRING, 1, 0,
	  "AI and Machine Learning|Analytics|Business Applications|Compute|Databases|Developer Tools|Multicloud|"
	  "Identity|Integration|Internet of Things|Management and Governance|Media|Migration|Mobile|Networking|"
	  "Security|Storage|Web|Other" },
	{ "ServiceName", STRING, 1, 0, NULL },
	{ "SkuId", STRING, 0, 1, NULL },
	{ "SkuPriceId", STRING, 0, 1, NULL },
	{ "SubAccountId", STRING, 0, 1, NULL },
	{ "SubAccountName", STRING, 0, 1, NULL },
};
enum { NSPEC = sizeof(spec) / sizeof(spec[0]) };

static const struct rule *spec_rule(const char *name)
{
	for (int i = 0; i < NSPEC; i++)
		if (strcmp(spec[i].name, name) == 0)
			return &spec[i];
	return NULL;
}

static int allowed(const char *list, const char *v)
{
	size_t n = strlen(v);
	for (const char *p = list; *p;) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		if (len == n && strncmp(p, v, n) == 0)
			return 1;
		p += len + (bar ? 1 : 0);
	}
	return 0;
}

static int matches(const char *re, const char *v)
{
	regex_t r;
	assert_int_equal(regcomp(&r, re, REG_EXTENDED | REG_NOSUB), 0);
	int ok = regexec(&r, v, 0, NULL, 0) == 0;
	regfree(&r);
	return ok;
}

/* Numeric Format: an integer, a decimal or E notation whose exponent has
 * a sign only when negative; no plus sign, commas, units or symbols. */
static int is_decimal(const char *v)
{
	return matches("^-?[0-9]+(\\.[0-9]+)?(E-?[0-9]+)?$", v);
}

/* Date/Time Format: UTC, YYYY-MM-DDTHH:mm:ssZ, and a real instant. */
static int is_datetime(const char *v)
{
	if (!matches("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$", v))
		return 0;
	return strcmp(q_text("SELECT to_char('%s'::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')", v),
		      v) == 0;
}

/* Currency Code Format: an ISO 4217 code, as Debian's iso-codes lists them. */
static int is_currency(const char *v)
{
	char cmd[256];
	if (!matches("^[A-Z]{3}$", v))
		return 0;
	snprintf(cmd, sizeof(cmd), "grep -q '\"alpha_3\": \"%s\"' /usr/share/iso-codes/json/iso_4217.json", v);
	return test_sh(out, sizeof(out), cmd) == 0;
}

/* ---- reading a CSV (RFC 4180), telling NULL from "NULL" ---- */

enum { MAXCOL = 64, MAXROW = 64 };

struct csv {
	int ncol, nrow;                        /* nrow: data rows */
	char *header[MAXCOL];
	char *v[MAXROW][MAXCOL];               /* NULL: the bare word NULL */
	int crlf;                              /* every line ended with CRLF */
	char *text;
};

static void csv_free(struct csv *c)
{
	for (int i = 0; i < c->ncol; i++)
		free(c->header[i]);
	for (int r = 0; r < c->nrow; r++)
		for (int i = 0; i < c->ncol; i++)
			free(c->v[r][i]);
	free(c->text);
	memset(c, 0, sizeof(*c));
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "cannot open %s\n", path);
		fail();
	}
	char *buf = malloc(1 << 20);
	assert_non_null(buf);
	size_t n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Parse path into c; every record must have the header's number of
 * fields. */
static void csv_read(const char *path, struct csv *c)
{
	memset(c, 0, sizeof(*c));
	c->text = slurp(path);
	c->crlf = 1;
	char *fields[MAXCOL];
	int nf = 0, line = 0;
	const char *p = c->text;
	while (*p) {
		char field[4096];
		size_t len = 0;
		int quoted = 0;
		if (*p == '"') {
			quoted = 1;
			for (p++; *p && !(*p == '"' && p[1] != '"'); p++) {
				if (*p == '"')
					p++;
				field[len++] = *p;
			}
			assert_int_equal(*p, '"');
			p++;
		} else {
			while (*p && *p != ',' && *p != '\r' && *p != '\n')
				field[len++] = *p++;
		}
		field[len] = '\0';
		assert_true(nf < MAXCOL);
		fields[nf++] = (!quoted && strcmp(field, "NULL") == 0) ? NULL : strdup(field);
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p == '\r')
			p++;
		else
			c->crlf = 0;
		assert_int_equal(*p, '\n');
		p++;
		if (line == 0) {
			c->ncol = nf;
			memcpy(c->header, fields, sizeof(fields[0]) * (size_t)nf);
		} else {
			assert_int_equal(nf, c->ncol);
			assert_true(c->nrow < MAXROW);
			memcpy(c->v[c->nrow++], fields, sizeof(fields[0]) * (size_t)nf);
		}
		line++;
		nf = 0;
	}
	assert_int_equal(nf, 0);
}

static int col(const struct csv *c, const char *name)
{
	for (int i = 0; i < c->ncol; i++)
		if (c->header[i] && strcmp(c->header[i], name) == 0)
			return i;
	return -1;
}

/* Row r's value of column name ("" never stands for null: NULL is). */
static const char *val(const struct csv *c, int r, const char *name)
{
	int i = col(c, name);
	if (i < 0) {
		fprintf(stderr, "no column %s\n", name);
		fail();
	}
	return c->v[r][i];
}

static int is_null(const struct csv *c, int r, const char *name)
{
	return val(c, r, name) == NULL;
}

#define check(cond, ...)                                                         \
	do {                                                                     \
		if (!(cond)) {                                                   \
			fprintf(stderr, "%s: ", path);                           \
			fprintf(stderr, __VA_ARGS__);                            \
			fprintf(stderr, "\n");                                   \
			fail();                                                  \
		}                                                                \
	} while (0)

/* The columns: every mandatory one present; names as the Column Naming
 * rules say (Pascal case, alphanumeric; custom ones x_ and after all
 * FOCUS columns); the FOCUS columns in alphabetical order. */
static void check_header(const char *path, const struct csv *c)
{
	for (int i = 0; i < NSPEC; i++)
		check(!spec[i].mandatory || col(c, spec[i].name) >= 0, "mandatory column %s is missing", spec[i].name);
	int custom = 0;
	for (int i = 0; i < c->ncol; i++) {
		const char *h = c->header[i];
		check(h != NULL, "column %d has no name", i);
		if (strncmp(h, "x_", 2) == 0) {
			custom = 1;
			check(matches("^x_[A-Z][A-Za-z0-9]*$", h), "custom column '%s' is not x_ and Pascal case", h);
			continue;
		}
		check(!custom, "FOCUS column %s comes after a custom column", h);
		check(spec_rule(h) != NULL, "column %s is not a FOCUS 1.1 column", h);
		check(matches("^[A-Z][A-Za-z0-9]*$", h), "column %s is not Pascal case", h);
		check(i == 0 || strcmp(c->header[i - 1], h) < 0, "column %s is out of alphabetical order", h);
	}
	check(c->crlf, "lines do not end with CRLF");
	check(col(c, "x_InvoiceId") >= 0, "no x_InvoiceId: the document is not named");
}

/* Every value of every FOCUS column: type, format, allowed values, nulls,
 * and the conditional rules of the column pages. */
static void check_values(const char *path, const struct csv *c)
{
	for (int r = 0; r < c->nrow; r++) {
		for (int i = 0; i < c->ncol; i++) {
			const struct rule *s = spec_rule(c->header[i]);
			const char *v = c->v[r][i];
			if (!s)
				continue;
			check(v || s->nullable, "row %d: %s is null", r + 1, s->name);
			if (!v)
				continue;
			check(*v, "row %d: %s is an empty string (Null Handling: NULL, or a value)", r + 1, s->name);
			if (s->kind == DECIMAL)
				check(is_decimal(v), "row %d: %s '%s' is not in the Numeric Format", r + 1, s->name, v);
			if (s->kind == DATETIME)
				check(is_datetime(v), "row %d: %s '%s' is not a UTC date/time", r + 1, s->name, v);
			if (s->allowed)
				check(allowed(s->allowed, v), "row %d: %s '%s' is not an allowed value", r + 1, s->name, v);
		}
		const char *cat = val(c, r, "ChargeCategory"), *freq = val(c, r, "ChargeFrequency");
		int correction = !is_null(c, r, "ChargeClass"), tax = strcmp(cat, "Tax") == 0;
		int usage = strcmp(cat, "Usage") == 0, priced = usage || strcmp(cat, "Purchase") == 0;
		check(is_currency(val(c, r, "BillingCurrency")), "row %d: BillingCurrency '%s' is not ISO 4217", r + 1,
		      val(c, r, "BillingCurrency"));
		check(strcmp(val(c, r, "BillingPeriodStart"), val(c, r, "BillingPeriodEnd")) < 0,
		      "row %d: the billing period ends before it starts", r + 1);
		check(strcmp(val(c, r, "ChargePeriodStart"), val(c, r, "ChargePeriodEnd")) < 0,
		      "row %d: the charge period ends before it starts", r + 1);
		/* ConsumedQuantity and ConsumedUnit: null unless Usage; for a
		 * Usage row that is no correction, present and positive. */
		if (!usage) {
			check(is_null(c, r, "ConsumedQuantity") && is_null(c, r, "ConsumedUnit"),
			      "row %d: a %s row has a consumed quantity or unit", r + 1, cat);
		} else if (!correction) {
			check(!is_null(c, r, "ConsumedQuantity") && !is_null(c, r, "ConsumedUnit"),
			      "row %d: a Usage row without consumed quantity or unit", r + 1);
			check(val(c, r, "ConsumedQuantity")[0] != '-' &&
				      strspn(val(c, r, "ConsumedQuantity"), "0.") != strlen(val(c, r, "ConsumedQuantity")),
			      "row %d: ConsumedQuantity '%s' is not positive", r + 1, val(c, r, "ConsumedQuantity"));
		}
		/* PricingQuantity, PricingUnit, PricingCategory, SkuId,
		 * SkuPriceId (and unit prices): null for Tax; present for Usage
		 * and Purchase rows that are no correction. */
		static const char *const tax_null[] = { "PricingQuantity", "PricingUnit", "PricingCategory", "SkuId",
							"SkuPriceId", "ListUnitPrice", "ContractedUnitPrice" };
		for (size_t k = 0; k < sizeof(tax_null) / sizeof(tax_null[0]); k++) {
			if (col(c, tax_null[k]) < 0)
				continue;
			if (tax)
				check(is_null(c, r, tax_null[k]), "row %d: %s is not null on a Tax row", r + 1, tax_null[k]);
			if (priced && !correction)
				check(!is_null(c, r, tax_null[k]), "row %d: %s is null on a %s row", r + 1, tax_null[k], cat);
		}
		/* PricingQuantity may be negative only on a correction. */
		if (!is_null(c, r, "PricingQuantity") && !correction)
			check(val(c, r, "PricingQuantity")[0] != '-', "row %d: a negative PricingQuantity", r + 1);
		check(strcmp(cat, "Purchase") != 0 || strcmp(freq, "Usage-Based") != 0,
		      "row %d: a Purchase is Usage-Based", r + 1);
		/* Without unit prices, a charge unrelated to others (or, for
		 * tax, related to charges whose costs are all billed cost)
		 * has list, contracted and effective cost equal to billed. */
		check(strcmp(val(c, r, "ListCost"), val(c, r, "BilledCost")) == 0 &&
			      strcmp(val(c, r, "ContractedCost"), val(c, r, "BilledCost")) == 0 &&
			      strcmp(val(c, r, "EffectiveCost"), val(c, r, "BilledCost")) == 0,
		      "row %d: list, contracted or effective cost is not the billed cost", r + 1);
	}
}

/* The lines that are charges: all but the usage lines of a meter that was
 * not used (quantity and amount 0) on an invoice, which FOCUS does not
 * record (a Usage-Based charge is recorded when the service is used). */
static const char *const charged =
	"(d.doc <> 'invoice' OR l.adjustment OR l.kind <> 'usage' OR l.quantity <> 0 OR l.amount <> 0)";

/* ---- the data ---- */

static const char *const close_dag =
	"close = { period = \"month\"; steps = (\n"
	"  { name = \"aggregate\"; job = \"aggregate\"; },\n"
	"  { name = \"rate\"; job = \"rate\"; after = [\"aggregate\"]; },\n"
	"  { name = \"invoice\"; job = \"invoice\"; after = [\"rate\"]; },\n"
	"  { name = \"archive\"; job = \"archive\"; after = [\"invoice\"]; trigger = \"all_done\"; } ); };\n"
	"load = { period = \"day\"; steps = ( { name = \"ingest\"; job = \"ingest\"; } ); };\n";

static char top[2048];
static char spool[600];

/* The fixtures with March usage; units on two meters (the third has
 * none: "Units"); a spool the exports are ingested back from. */
static void march(const char *invoice_extra)
{
	snprintf(spool, sizeof(spool), "%s/spool", dir);
	mkdir(spool, 0755);
	snprintf(top, sizeof(top),
		 "spool = { dir = \"%s\"; keep_in_place = true; };\n"
		 "sources = ( { name = \"focus_back\"; format = \"focus\"; pattern = \"*.focus.csv\";\n"
		 "              account_column = \"BillingAccountId\"; meter = \"adjustment\"; } );\n",
		 spool);
	env_top = top;
	write_config(invoice_extra, close_dag);
	load_fixtures();
	sql("UPDATE meters SET unit = 'Seconds' WHERE name = 'voice_seconds'");
	sql("UPDATE meters SET unit = 'GB' WHERE name = 'storage_gb'");
	long long f = usage_file("usage-2026-03.csv");
	usage(f, 1, "acme", "voice_seconds", "2026-03-10T10:00:00Z", "61", NULL);
	usage(f, 2, "acme", "voice_seconds", "2026-03-20T10:00:00Z", "3600", NULL);
	usage(f, 3, "acme", "storage_gb", "2026-03-15T12:00:00Z", "250.5", NULL);
	const char *users[] = { "a", "b", "c", "d", "e", "f", "g" };
	for (int i = 0; i < 7; i++) {
		char attr[64], at[32];
		snprintf(attr, sizeof(attr), "'{\"user\": \"%s\"}'", users[i]);
		snprintf(at, sizeof(at), "2026-03-%02dT09:00:00Z", i + 3);
		usage(f, 10 + i, "acme", "active_users", at, "1", attr);
	}
	usage(f, 20, "tokyo", "api_calls", "2026-03-10T01:00:00Z", "251000", NULL);
	usage(f, 21, "tokyo", "storage_gb", "2026-03-12T01:00:00Z", "40", NULL);
	usage(f, 22, "dst", "voice_seconds", "2026-03-20T08:00:00Z", "1200", NULL);
	must("run", "close", "--period", "2026-03");
}

static const char *focus_path(const char *number)
{
	static char path[4][1200];
	static int n;
	char *p = path[n++ % 4];
	snprintf(p, sizeof(path[0]), "%s/%s",
		 q_text("SELECT w.output_dir FROM invoice_files f JOIN runs w ON w.id = f.run_id WHERE f.number = '%s'",
			number),
		 q_text("SELECT focus_file FROM invoice_files WHERE number = '%s'", number));
	return p;
}

/* The document's total with the sign of its effect: a credit note's
 * negative. */
static const char *signed_total(const char *number)
{
	return q_text("SELECT CASE doc WHEN 'credit_note' THEN -total ELSE total END FROM invoice_documents "
		      "WHERE number = '%s'",
		      number);
}

/* The exact sum of a column's decimals, by PostgreSQL. */
static const char *column_sum(const struct csv *c, const char *name)
{
	char list[16384] = "0";
	size_t len = 1;
	for (int r = 0; r < c->nrow; r++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "+%s", val(c, r, name));
	return q_text("SELECT (%s)::numeric", list);
}

/* ---- (a) ---- */

static void every_export_has_the_columns_types_and_values_focus_requires(void **state)
{
	NEED_PG();
	march(NULL);
	long long run = last_run();
	char id[24];
	snprintf(id, sizeof(id), "%lld", run);
	/* A credit note and the invoice replacing it (tokyo's rate was
	 * wrong), and a supplementary invoice (late storage for acme). */
	sql("INSERT INTO fx_rates (base, quote, as_of, rate, source) VALUES ('USD', 'JPY', '2026-03-31', 151.00, 'fix')");
	must("rerun", id, "--from", "rate", "--account", "tokyo");
	long long f = usage_file("usage-2026-04-02.csv");
	usage(f, 1, "acme", "storage_gb", "2026-03-30T12:00:00Z", "2000", NULL);
	must("run", "nightly", "--period", "2026-04-02");
	assert_int_equal(q_int("SELECT count(*) FROM credit_notes"), 1);
	assert_int_equal(q_int("SELECT count(*) FROM invoices WHERE kind = 'supplementary'"), 1);
	assert_int_equal(q_int("SELECT count(*) FROM invoices WHERE replaces IS NOT NULL"), 1);

	/* Every document has an export, and each is checked whole. */
	int docs = (int)q_int("SELECT count(*) FROM invoice_documents");
	assert_int_equal(q_int("SELECT count(*) FROM invoice_files WHERE focus_file IS NOT NULL"), docs);
	for (int k = 0; k < docs; k++) {
		char number[64];
		snprintf(number, sizeof(number), "%s",
			 q_text("SELECT number FROM invoice_documents ORDER BY number OFFSET %d LIMIT 1", k));
		const char *path = focus_path(number);
		struct csv c;
		csv_read(path, &c);
		if (getenv("TEST_VERBOSE"))
			fprintf(stderr, "%s:\n%s", path, c.text);
		check_header(path, &c);
		check_values(path, &c);
		const char *doc = q_text("SELECT doc FROM invoice_documents WHERE number = '%s'", number);
		/* A row per line, each naming the document; the tax lines are
		 * Tax rows. */
		check(c.nrow == q_int("SELECT count(*) FROM invoice_document_lines l JOIN invoice_documents d "
				      "ON l.document_id = d.id AND (l.doc_table = 'credit_note') = (d.doc = 'credit_note') "
				      "WHERE d.number = '%s' AND %s", number, charged),
		      "not a row per line that charges something");
		int taxes = 0, corrections = 0;
		for (int r = 0; r < c.nrow; r++) {
			check(strcmp(val(&c, r, "x_InvoiceId"), number) == 0, "row %d names another document", r + 1);
			check(strcmp(val(&c, r, "x_DocumentType"), doc) == 0, "row %d: wrong document type", r + 1);
			taxes += strcmp(val(&c, r, "ChargeCategory"), "Tax") == 0;
			corrections += !is_null(&c, r, "ChargeClass");
		}
		check(taxes == q_int("SELECT count(*) FROM invoice_document_lines l JOIN invoice_documents d "
				     "ON l.document_id = d.id AND (l.doc_table = 'credit_note') = (d.doc = 'credit_note') "
				     "WHERE d.number = '%s' AND l.kind = 'tax'", number),
		      "tax lines and Tax rows differ");
		/* A credit note's and a supplementary invoice's rows are
		 * corrections of the period invoiced before; an invoice's
		 * (also one replacing a credited one) are not. */
		if (strcmp(doc, "invoice") == 0)
			check(corrections == 0, "an invoice has corrections");
		else
			check(corrections == c.nrow, "a %s has rows that are not corrections", doc);
		/* The billed cost adds up to the document's total to the
		 * cent, a credit note's to minus its total. */
		check(strcmp(column_sum(&c, "BilledCost"), signed_total(number)) == 0, "BilledCost adds up to %s, not %s",
		      column_sum(&c, "BilledCost"), signed_total(number));
		csv_free(&c);
	}

	/* The accounts' March as UTC instants: Berlin's local midnights
	 * (CET, then CEST from 29 March), Tokyo's (UTC+9). */
	struct csv c;
	const char *path = focus_path(number(1));
	csv_read(path, &c);
	assert_string_equal(val(&c, 0, "BillingAccountId"), "acme");
	assert_string_equal(val(&c, 0, "BillingAccountName"), "ACME, Inc.");
	assert_string_equal(val(&c, 0, "BillingPeriodStart"), "2026-02-28T23:00:00Z");
	assert_string_equal(val(&c, 0, "BillingPeriodEnd"), "2026-03-31T22:00:00Z");
	assert_string_equal(val(&c, 0, "BillingCurrency"), "EUR");
	assert_string_equal(val(&c, 0, "InvoiceIssuerName"), "Billrun Telecom GmbH");
	/* Usage in its meter's unit (none configured: Units), the priced
	 * quantity after free units; a recurring fee a Purchase. */
	int seen = 0;
	for (int r = 0; r < c.nrow; r++) {
		const char *sku = val(&c, r, "SkuId");
		if (sku && strcmp(sku, "pro:voice_seconds") == 0) {
			assert_string_equal(val(&c, r, "ChargeCategory"), "Usage");
			assert_string_equal(val(&c, r, "ChargeFrequency"), "Usage-Based");
			assert_string_equal(val(&c, r, "ConsumedUnit"), "Seconds");
			assert_string_equal(val(&c, r, "PricingUnit"), "Seconds");
			/* 61 and 3600 seconds, each rounded up to whole minutes */
			assert_string_equal(val(&c, r, "ConsumedQuantity"), "3720");
			seen |= 1;
		} else if (sku && strcmp(sku, "pro:active_users") == 0) {
			assert_string_equal(val(&c, r, "ConsumedUnit"), "Units");
			assert_string_equal(val(&c, r, "ConsumedQuantity"), "7");
			assert_string_equal(val(&c, r, "PricingQuantity"), "2");   /* 5 free */
			seen |= 2;
		} else if (sku && strcmp(sku, "pro:base_fee") == 0) {
			assert_string_equal(val(&c, r, "ChargeCategory"), "Purchase");
			assert_string_equal(val(&c, r, "ChargeFrequency"), "Recurring");
			assert_string_equal(val(&c, r, "BilledCost"), "49.00");
			seen |= 4;
		} else if (strcmp(val(&c, r, "ChargeCategory"), "Tax") == 0) {
			assert_string_equal(val(&c, r, "ServiceName"), "pro");
			seen |= 8;
		}
	}
	assert_int_equal(seen, 15);
	csv_free(&c);
	path = focus_path(q_text("SELECT number FROM invoices WHERE account_ext = 'tokyo' AND replaces IS NULL"));
	csv_read(path, &c);
	assert_string_equal(val(&c, 0, "BillingPeriodStart"), "2026-02-28T15:00:00Z");
	assert_string_equal(val(&c, 0, "BillingPeriodEnd"), "2026-03-31T15:00:00Z");
	assert_string_equal(val(&c, 0, "BillingCurrency"), "JPY");
	csv_free(&c);
	/* The credit note takes the invoice's charges back: the same rows,
	 * negative. */
	path = focus_path(q_text("SELECT number FROM credit_notes"));
	csv_read(path, &c);
	struct csv o;
	const char *opath = focus_path(q_text("SELECT i.number FROM credit_notes c JOIN invoices i ON i.id = c.invoice_id"));
	csv_read(opath, &o);
	assert_int_equal(c.nrow, o.nrow);
	for (int r = 0; r < c.nrow; r++) {
		assert_string_equal(q_text("SELECT (%s)::numeric = -(%s)::numeric", val(&c, r, "BilledCost"),
					   val(&o, r, "BilledCost")),
				    "t");
		assert_string_equal(val(&c, r, "ChargeClass"), "Correction");
		assert_string_equal(val(&c, r, "ChargeCategory"), val(&o, r, "ChargeCategory"));
	}
	csv_free(&o);
	csv_free(&c);
}

/* ---- (b) ---- */

static void billrun_reads_its_exports_back_with_the_invoice_totals(void **state)
{
	NEED_PG();
	march(NULL);
	char id[24];
	snprintf(id, sizeof(id), "%lld", last_run());
	sql("INSERT INTO fx_rates (base, quote, as_of, rate, source) VALUES ('USD', 'JPY', '2026-03-31', 151.00, 'fix')");
	must("rerun", id, "--from", "rate", "--account", "tokyo");
	long long f = usage_file("usage-2026-04-02.csv");
	usage(f, 1, "acme", "storage_gb", "2026-03-30T12:00:00Z", "2000", NULL);
	must("run", "nightly", "--period", "2026-04-02");

	const char *numbers[3];
	char keep[3][64];
	snprintf(keep[0], sizeof(keep[0]), "%s", number(1));   /* acme's invoice */
	snprintf(keep[1], sizeof(keep[1]), "%s", q_text("SELECT number FROM credit_notes"));
	snprintf(keep[2], sizeof(keep[2]), "%s", q_text("SELECT number FROM invoices WHERE kind = 'supplementary'"));
	char cmd[4096];
	for (int i = 0; i < 3; i++) {
		numbers[i] = keep[i];
		snprintf(cmd, sizeof(cmd), "cp '%s' '%s/'", focus_path(numbers[i]), spool);
		assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	}
	must("run", "load", "--period", "2026-04-05");
	for (int i = 0; i < 3; i++) {
		char file[128];
		snprintf(file, sizeof(file), "%s.focus.csv", numbers[i]);
		/* Every row read and accepted: none quarantined, none a
		 * duplicate of another. */
		assert_string_equal(q_text("SELECT records_read || ' ' || accepted || ' ' || quarantined || ' ' || duplicates "
					   "FROM ingest_files WHERE file_name = '%s'",
					   file),
				    q_text("SELECT n || ' ' || n || ' 0 0' FROM (SELECT count(*) AS n FROM invoice_document_lines l "
					   "JOIN invoice_documents d ON l.document_id = d.id "
					   "AND (l.doc_table = 'credit_note') = (d.doc = 'credit_note') WHERE d.number = '%s' "
					   "AND %s) x",
					   numbers[i], charged));
		/* The BilledCost billrun read adds up to the total, to the
		 * cent; in the document's currency. */
		const char *read = q_text("SELECT sum(u.cost) FROM usage u JOIN ingest_files f ON f.id = u.file_id "
					  "WHERE f.file_name = '%s'",
					  file);
		if (strcmp(q_text("SELECT %s::numeric = %s::numeric", read, signed_total(numbers[i])), "t") != 0) {
			fprintf(stderr, "%s: BilledCost read back %s, the document's total %s\n", file, read,
				signed_total(numbers[i]));
			fail();
		}
		assert_string_equal(q_text("SELECT string_agg(DISTINCT u.currency, ',') FROM usage u JOIN ingest_files f "
					   "ON f.id = u.file_id WHERE f.file_name = '%s'",
					   file),
				    q_text("SELECT currency FROM invoice_documents WHERE number = '%s'", numbers[i]));
	}
	/* The credit note's total is what it takes off. */
	assert_true(q_int("SELECT count(*) FROM credit_notes WHERE total > 0") == 1);
}

/* ---- (c) ---- */

static void each_export_is_recorded_and_archived_with_its_sha256(void **state)
{
	NEED_PG();
	march(NULL);
	long long run = last_run();
	const char *dirs = run_dir(run);
	char rundir[1024], cmd[4096];
	snprintf(rundir, sizeof(rundir), "%s", dirs);
	/* Recorded: name, SHA-256 and size of every file on disk. */
	snprintf(cmd, sizeof(cmd), "cd '%s' && sha256sum invoices/*.focus.csv && stat -c '%%n %%s' invoices/*.focus.csv",
		 rundir);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	int files = 0;
	char listing[65536];
	snprintf(listing, sizeof(listing), "%s", out);
	for (char *line = strtok(listing, "\n"); line; line = strtok(NULL, "\n")) {
		char a[200], b[200];
		assert_int_equal(sscanf(line, "%199s %199s", a, b), 2);
		if (strlen(a) == 64) {
			assert_int_equal(q_int("SELECT count(*) FROM invoice_files WHERE run_id = %lld AND focus_file = '%s' "
					       "AND focus_sha256 = '%s'",
					       run, b, a),
					 1);
			assert_int_equal(q_int("SELECT count(*) FROM invoice_document_files WHERE run_id = %lld AND "
					       "format = 'focus' AND file = '%s' AND sha256 = '%s'",
					       run, b, a),
					 1);
			files++;
		} else {
			assert_int_equal(q_int("SELECT count(*) FROM invoice_files WHERE focus_file = '%s' AND focus_bytes = %s",
					       a, b),
					 1);
		}
	}
	assert_int_equal(files, q_int("SELECT count(*) FROM invoices WHERE run_id = %lld", run));
	assert_true(files >= 4);
	/* Drawn from the stored document: `invoice show --focus` prints the
	 * file byte for byte. */
	snprintf(cmd, sizeof(cmd), "'%s' -c '%s' invoice show --focus %s 2>/dev/null | cmp - '%s/invoices/%s.focus.csv'",
		 getenv("BILLRUN_BIN") ? getenv("BILLRUN_BIN") : "./billrun", conf, number(2), rundir, number(2));
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	must("invoice", "show", number(2));
	assert_contains(out, ".focus.csv");
	assert_null(strstr(out, "(not there)"));
	/* In the run's archive, with the recorded SHA-256 in its manifest;
	 * the archive verifies (against the database too). */
	const char *arch = q_text("SELECT path FROM archives WHERE run_id = %lld", run);
	char archive[1024];
	snprintf(archive, sizeof(archive), "%s", arch);
	assert_true(archive[0] != '\0');
	for (int i = 1; i <= files; i++) {
		const char *sha = q_text("SELECT focus_sha256 FROM invoice_files WHERE number = '%s'", number(i));
		snprintf(cmd, sizeof(cmd), "tar xzOf '%s' --wildcards '*/manifest-sha256.txt' | grep -c '^%s  data/output/invoices/%s.focus.csv$'",
			 archive, sha, number(i));
		assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
		assert_string_equal(out, "1\n");
		snprintf(cmd, sizeof(cmd), "tar xzOf '%s' --wildcards '*/data/output/invoices/%s.focus.csv' | sha256sum",
			 archive, number(i));
		assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
		assert_int_equal(strncmp(out, sha, 64), 0);
	}
	must("archive", "verify", archive);
	assert_null(strstr(out, "problem"));
}

/* Late usage of March on April's invoice (invoice.late_usage =
 * next_invoice): the adjustment lines are corrections whose charge period
 * is March, on a document whose billing period is April. */
static void adjustment_lines_are_corrections_of_their_own_period(void **state)
{
	NEED_PG();
	march("late_usage = \"next_invoice\";");
	long long f = usage_file("usage-2026-04-05.csv");
	usage(f, 1, "acme", "storage_gb", "2026-03-30T12:00:00Z", "2000", NULL);
	must("run", "nightly", "--period", "2026-04-05");
	must("run", "close", "--period", "2026-04");
	char april[64];
	snprintf(april, sizeof(april), "%s",
		 q_text("SELECT number FROM invoices WHERE account_ext = 'acme' AND period_local_start = '2026-04-01'"));
	assert_true(april[0] != '\0');
	const char *path = focus_path(april);
	struct csv c;
	csv_read(path, &c);
	check_header(path, &c);
	check_values(path, &c);
	int adjustments = 0;
	for (int r = 0; r < c.nrow; r++) {
		/* April in Berlin: CEST all month. */
		assert_string_equal(val(&c, r, "BillingPeriodStart"), "2026-03-31T22:00:00Z");
		assert_string_equal(val(&c, r, "BillingPeriodEnd"), "2026-04-30T22:00:00Z");
		int adj = strcmp(q_text("SELECT l.adjustment FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id "
					"WHERE i.number = '%s' AND l.line_no = %s",
					april, val(&c, r, "x_InvoiceLine")),
				 "t") == 0;
		if (adj) {
			adjustments++;
			assert_string_equal(val(&c, r, "ChargeClass"), "Correction");
			assert_string_equal(val(&c, r, "ChargePeriodStart"), "2026-02-28T23:00:00Z");
			assert_string_equal(val(&c, r, "ChargePeriodEnd"), "2026-03-31T22:00:00Z");
		} else {
			assert_null(val(&c, r, "ChargeClass"));
			assert_string_equal(val(&c, r, "ChargePeriodStart"), "2026-03-31T22:00:00Z");
		}
	}
	/* storage, the minimum's true-up and the tax of March */
	assert_int_equal(adjustments, 3);
	assert_string_equal(column_sum(&c, "BilledCost"), signed_total(april));
	csv_free(&c);
}

static void no_export_with_invoice_focus_off(void **state)
{
	NEED_PG();
	march("focus = false;");
	long long run = last_run();
	assert_true(q_int("SELECT count(*) FROM invoice_files WHERE run_id = %lld", run) >= 4);
	assert_int_equal(q_int("SELECT count(*) FROM invoice_files WHERE focus_file IS NOT NULL"), 0);
	assert_int_equal(q_int("SELECT count(*) FROM invoice_document_files WHERE format = 'focus'"), 0);
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "ls '%s/invoices' | grep -c 'focus' || true", run_dir(run));
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	assert_string_equal(out, "0\n");
	/* The archive holds the JSON and PDF and nothing else of them. */
	assert_string_equal(q_text("SELECT status FROM run_steps WHERE run_id = %lld AND step = 'archive'", run), "success");
}

static int teardown_focus(void **state)
{
	env_top = NULL;
	return teardown(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(every_export_has_the_columns_types_and_values_focus_requires, setup,
						teardown_focus),
		cmocka_unit_test_setup_teardown(billrun_reads_its_exports_back_with_the_invoice_totals, setup,
						teardown_focus),
		cmocka_unit_test_setup_teardown(each_export_is_recorded_and_archived_with_its_sha256, setup,
						teardown_focus),
		cmocka_unit_test_setup_teardown(adjustment_lines_are_corrections_of_their_own_period, setup,
						teardown_focus),
		cmocka_unit_test_setup_teardown(no_export_with_invoice_focus_off, setup, teardown_focus),
	};
	return cmocka_run_group_tests_name("focus_export", tests, NULL, NULL);
}
