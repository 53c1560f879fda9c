/*
 * test_einvoice.c - the parties on an invoice and the UBL 2.1 e-invoice
 * beside each PDF (issue 19, items 2 and 3): a month closed for six
 * accounts (a German and a French business, a consumer, a Japanese and
 * a Swiss business, a German business without a VAT id), then a rerun
 * that credits and replaces an invoice, and late usage that supplements
 * one. Every NUMBER.xml the runs write validates against the UBL 2.1
 * schema and the EN 16931 and Peppol BIS 3 rules (tests/einvoice/check.sh,
 * Saxon-HE: absent, the test fails), its amounts equal the JSON's to the
 * cent, and a file that breaks a rule is reported. The buyer without a
 * VAT id is held with the missing field named, not invoiced.
 */
#include "invoice_env.h"

#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "invoice_pdf.h"

static const char *const dags =
	"close = { period = \"month\"; steps = (\n"
	"  { name = \"aggregate\"; job = \"aggregate\"; },\n"
	"  { name = \"rate\"; job = \"rate\"; after = [\"aggregate\"]; },\n"
	"  { name = \"quarantine\"; job = \"quarantine\"; after = [\"rate\"]; },\n"
	"  { name = \"invoice\"; job = \"invoice\"; after = [\"quarantine\"]; },\n"
	"  { name = \"archive\"; job = \"archive\"; after = [\"invoice\"]; trigger = \"all_done\"; } ); };\n";

static char cmd[16384];

/* The six accounts' March, closed; with late usage and a rerun when
 * `more` (a credit note, its replacement, a supplementary invoice). */
static void march(const char *invoice_extra, int more)
{
	snprintf(rules, sizeof(rules), "%s", test_src("tests/fixtures/einvoice/rates.conf"));
	write_config(invoice_extra, dags);
	must("accounts", "import", test_src("tests/fixtures/einvoice/accounts.csv"));
	must("subscriptions", "import", test_src("tests/fixtures/einvoice/subscriptions.csv"));
	must("fx", "import", test_src("tests/fixtures/invoice/fx.csv"));
	sql("UPDATE meters SET unit = 's' WHERE name = 'voice_seconds'");
	sql("UPDATE meters SET unit = 'GB' WHERE name = 'storage_gb'");
	long long f = usage_file("usage-2026-03.csv");
	usage(f, 1, "acme", "voice_seconds", "2026-03-10T10:00:00Z", "61", NULL);
	usage(f, 2, "acme", "voice_seconds", "2026-03-20T10:00:00Z", "3600", NULL);
	usage(f, 3, "acme", "storage_gb", "2026-03-15T12:00:00Z", "250.5", NULL);
	usage(f, 4, "lyon", "voice_seconds", "2026-03-11T10:00:00Z", "1800", NULL);
	usage(f, 5, "lyon", "storage_gb", "2026-03-12T10:00:00Z", "12", NULL);
	usage(f, 6, "halbe", "sms", "2026-03-12T10:00:00Z", "1", NULL);
	usage(f, 20, "tokyo", "api_calls", "2026-03-10T01:00:00Z", "251000", NULL);
	usage(f, 21, "tokyo", "storage_gb", "2026-03-12T01:00:00Z", "40", NULL);
	usage(f, 22, "dst", "voice_seconds", "2026-03-20T08:00:00Z", "1200", NULL);
	usage(f, 23, "zurich", "api_calls", "2026-03-20T08:00:00Z", "1000", NULL);
	must("run", "close", "--period", "2026-03");
	if (!more)
		return;
	char id[24];
	snprintf(id, sizeof(id), "%lld", last_run());
	sql("INSERT INTO fx_rates (base, quote, as_of, rate, source) VALUES ('USD', 'JPY', '2026-03-31', 151.00, 'fix')");
	must("rerun", id, "--from", "rate", "--account", "tokyo");
	long long g = usage_file("usage-2026-04-02.csv");
	usage(g, 1, "acme", "storage_gb", "2026-03-30T12:00:00Z", "2000", NULL);
	write_config(invoice_extra, "nightly2 = { period = \"day\"; steps = (\n"
				    "  { name = \"aggregate\"; job = \"aggregate\"; },\n"
				    "  { name = \"rate\"; job = \"rate\"; after = [\"aggregate\"]; },\n"
				    "  { name = \"quarantine\"; job = \"quarantine\"; after = [\"rate\"]; },\n"
				    "  { name = \"invoice\"; job = \"invoice\"; after = [\"quarantine\"]; } ); };\n");
	must("run", "nightly2", "--period", "2026-04-02");
}

/* Every e-invoice written, one path a line (in invoice_files). */
static const char *xml_files(void)
{
	return q_text("SELECT coalesce(string_agg(w.output_dir || '/' || f.ubl_file, ' ' ORDER BY f.number), '') "
		      "FROM invoice_files f JOIN runs w ON w.id = f.run_id WHERE f.ubl_file IS NOT NULL");
}

static int check(const char *files)
{
	snprintf(cmd, sizeof(cmd), "sh '%s' %s", test_src("tests/einvoice/check.sh"), files);
	int rc = test_sh(out, sizeof(out), cmd);
	if (rc != 0 && getenv("TEST_VERBOSE"))
		fprintf(stderr, "check.sh -> %d:\n%s\n", rc, out);
	return rc;
}

/* ---- item 3: the e-invoice ---- */

static void every_document_validates_against_ubl_en16931_and_peppol(void **state)
{
	NEED_PG();
	march(NULL, 1);
	/* An invoice per account but halbe, a credit note, its replacement,
	 * a supplementary invoice: every one with its e-invoice. */
	assert_int_equal(q_int("SELECT count(*) FROM credit_notes"), 1);
	assert_int_equal(q_int("SELECT count(*) FROM invoices WHERE kind = 'supplementary'"), 1);
	assert_int_equal(q_int("SELECT count(*) FROM invoice_files WHERE ubl_file IS NOT NULL"),
			 q_int("SELECT count(*) FROM invoice_documents"));
	assert_int_equal(q_int("SELECT count(*) FROM invoice_documents"), 8);
	char files[8192];
	snprintf(files, sizeof(files), "%s", xml_files());
	int rc = check(files);
	if (rc != 0)
		fprintf(stderr, "%s", out);
	assert_int_equal(rc, 0);
	/* A credit note is a CreditNote, an invoice an Invoice, to the
	 * profile. */
	char cn[1200], inv[1200];
	snprintf(cn, sizeof(cn), "%s", q_text("SELECT w.output_dir || '/' || f.ubl_file FROM invoice_files f "
					      "JOIN runs w ON w.id = f.run_id WHERE f.doc_table = 'credit_note'"));
	snprintf(inv, sizeof(inv), "%s", q_text("SELECT w.output_dir || '/' || f.ubl_file FROM invoice_files f "
						"JOIN runs w ON w.id = f.run_id WHERE f.number = '%s'", number(1)));
	snprintf(cmd, sizeof(cmd),
		 "grep -c '^<CreditNote xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2\"' '%s'; "
		 "grep -c '^<Invoice xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2\"' '%s'; "
		 "grep -c '<cbc:CustomizationID>urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0<' "
		 "'%s'; grep -c '<cbc:ProfileID>urn:fdc:peppol.eu:2017:poacc:billing:01:1.0<' '%s'",
		 cn, inv, inv, cn);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	assert_string_equal(out, "1\n1\n1\n1\n");
}

/* Late usage of March on April's invoice (invoice.late_usage =
 * next_invoice): adjustment lines, one negative (the minimum's true-up
 * shrinks), and March's tax beside April's at the same rate. */
static void adjustment_lines_validate(void **state)
{
	NEED_PG();
	march("late_usage = \"next_invoice\";", 0);
	long long g = usage_file("usage-2026-04-05.csv");
	usage(g, 1, "acme", "storage_gb", "2026-03-30T12:00:00Z", "2000", NULL);
	write_config("late_usage = \"next_invoice\";",
		     "close = { period = \"month\"; steps = (\n"
		     "  { name = \"aggregate\"; job = \"aggregate\"; },\n"
		     "  { name = \"rate\"; job = \"rate\"; after = [\"aggregate\"]; },\n"
		     "  { name = \"quarantine\"; job = \"quarantine\"; after = [\"rate\"]; },\n"
		     "  { name = \"invoice\"; job = \"invoice\"; after = [\"quarantine\"]; } ); };\n"
		     "nightly2 = { period = \"day\"; steps = (\n"
		     "  { name = \"aggregate\"; job = \"aggregate\"; },\n"
		     "  { name = \"rate\"; job = \"rate\"; after = [\"aggregate\"]; },\n"
		     "  { name = \"quarantine\"; job = \"quarantine\"; after = [\"rate\"]; },\n"
		     "  { name = \"invoice\"; job = \"invoice\"; after = [\"quarantine\"]; } ); };\n");
	must("run", "nightly2", "--period", "2026-04-05");
	must("run", "close", "--period", "2026-04");
	const char *april = q_text("SELECT id FROM invoices WHERE account_ext = 'acme' AND period_local_start = '2026-04-01'");
	assert_true(q_int("SELECT count(*) FROM invoice_lines WHERE invoice_id = %s AND adjustment", april) >= 2);
	assert_true(q_int("SELECT count(*) FROM invoice_lines WHERE invoice_id = %s AND adjustment AND amount < 0", april) >= 1);
	assert_int_equal(q_int("SELECT count(*) FROM invoice_files WHERE ubl_file IS NOT NULL"),
			 q_int("SELECT count(*) FROM invoice_documents"));
	char files[16384];
	snprintf(files, sizeof(files), "%s", xml_files());
	int rc = check(files);
	if (rc != 0)
		fprintf(stderr, "%s", out);
	assert_int_equal(rc, 0);
	/* halbe stays held: April too. */
	assert_int_equal(q_int("SELECT count(*) FROM invoices WHERE account_ext = 'halbe'"), 0);
}

/* The string value of an XPath over doc ("" when none). */
static const char *xpath(xmlDocPtr doc, const char *expr)
{
	static char buf[8][256];
	static int n;
	char *b = buf[n++ % 8];
	xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
	xmlXPathObjectPtr r = xmlXPathEvalExpression(BAD_CAST expr, ctx);
	xmlChar *s = r ? xmlXPathCastToString(r) : NULL;
	snprintf(b, sizeof(buf[0]), "%s", s ? (const char *)s : "");
	xmlFree(s);
	xmlXPathFreeObject(r);
	xmlXPathFreeContext(ctx);
	return b;
}

static const char *jq(const char *json, const char *filter)
{
	static char buf[4096];
	snprintf(cmd, sizeof(cmd), "jq -r '%s' '%s' | tr '\\n' ' '", filter, json);
	assert_int_equal(test_sh(buf, sizeof(buf), cmd), 0);
	return buf;
}

static void amounts_equal_the_json_to_the_cent(void **state)
{
	NEED_PG();
	march(NULL, 1);
	PGresult *r = PQexec(conn, "SELECT w.output_dir || '/' || f.ubl_file, w.output_dir || '/' || f.json_file "
				   "FROM invoice_files f JOIN runs w ON w.id = f.run_id ORDER BY f.number");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_int_equal(PQntuples(r), 8);
	int attachments = 0;
	for (int i = 0; i < PQntuples(r); i++) {
		const char *x = PQgetvalue(r, i, 0), *j = PQgetvalue(r, i, 1);
		xmlDocPtr doc = xmlReadFile(x, NULL, XML_PARSE_NONET);
		assert_non_null(doc);
#define T(name) "//*[local-name()='LegalMonetaryTotal']/*[local-name()='" name "']"
		char want[256];
		snprintf(want, sizeof(want), "%s", jq(j, ".total"));
		want[strlen(want) - 1] = '\0';
		assert_string_equal(xpath(doc, T("PayableAmount")), want);
		/* The PDF's total is the same amount (digits grouped). */
		char grouped[128], pdf[1300];
		invoice_pdf_group_digits(want, grouped, sizeof(grouped));
		snprintf(pdf, sizeof(pdf), "%.*s.pdf", (int)strlen(j) - 5, j);
		snprintf(cmd, sizeof(cmd), "pdftotext -layout '%s' - | grep -E 'Total (due|credited)'", pdf);
		char totals[1024];
		assert_int_equal(test_sh(totals, sizeof(totals), cmd), 0);
		assert_contains(totals, grouped);
		/* The PDF carries the same e-invoice, byte for byte, as its
		 * PDF/A-3 associated file (when it is PDF/A: text that is
		 * Windows-1252; cairo's Unicode documents have none). */
		snprintf(cmd, sizeof(cmd),
			 "f='%s'; if pdfinfo -meta \"$f\" | grep -q '<pdfaid:part>3'; then "
			 "d=$(mktemp -d) && pdfdetach -save 1 -o \"$d/x.xml\" \"$f\" && cmp \"$d/x.xml\" '%s' && "
			 "pdfdetach -list \"$f\" | grep -q \"$(basename '%s')\" && rm -rf \"$d\" && echo attached; fi",
			 pdf, x, x);
		char attached[1024];
		assert_int_equal(test_sh(attached, sizeof(attached), cmd), 0);
		attachments += strstr(attached, "attached") != NULL;
		assert_string_equal(xpath(doc, T("TaxInclusiveAmount")), want);
		snprintf(want, sizeof(want), "%s", jq(j, ".subtotal"));
		want[strlen(want) - 1] = '\0';
		assert_string_equal(xpath(doc, T("TaxExclusiveAmount")), want);
		assert_string_equal(xpath(doc, T("LineExtensionAmount")), want);
		snprintf(want, sizeof(want), "%s", jq(j, ".tax_total"));
		want[strlen(want) - 1] = '\0';
		assert_string_equal(xpath(doc, "/*/*[local-name()='TaxTotal']/*[local-name()='TaxAmount']"), want);
		snprintf(want, sizeof(want), "%s", jq(j, ".currency"));
		want[strlen(want) - 1] = '\0';
		assert_string_equal(xpath(doc, "string(/*/*[local-name()='DocumentCurrencyCode'])"), want);
		/* Each line the JSON lists but the tax lines, in order, with
		 * its amount; the tax lines are the breakdown. */
		char lines[4096];
		snprintf(lines, sizeof(lines), "%s", jq(j, "[.lines[] | select(.kind != \"tax\") | \"\\(.line)=\\(.amount)\"] | join(\",\")"));
		char got[4096] = "";
		int n = atoi(xpath(doc, "count(/*/*[local-name()='InvoiceLine' or local-name()='CreditNoteLine'])"));
		for (int k = 1; k <= n; k++) {
			char e1[256], e2[256];
			snprintf(e1, sizeof(e1), "string((/*/*[local-name()='InvoiceLine' or local-name()='CreditNoteLine'])[%d]/*[local-name()='ID'])", k);
			snprintf(e2, sizeof(e2), "string((/*/*[local-name()='InvoiceLine' or local-name()='CreditNoteLine'])[%d]/*[local-name()='LineExtensionAmount'])", k);
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s=%s", k > 1 ? "," : "", xpath(doc, e1), xpath(doc, e2));
		}
		strcat(got, " ");
		assert_string_equal(got, lines);
		/* The VAT breakdown adds up to the tax lines' amounts. */
		snprintf(want, sizeof(want), "%s", jq(j, "[.lines[] | select(.kind == \"tax\") | .amount | tonumber] | add // 0"));
		want[strlen(want) - 1] = '\0';
		assert_string_equal(q_text("SELECT (%s)::numeric = (%s)::numeric", want,
					   xpath(doc, "sum(/*/*[local-name()='TaxTotal']/*[local-name()='TaxSubtotal']/*[local-name()='TaxAmount'])")),
				    "t");
#undef T
		xmlFreeDoc(doc);
	}
	/* every document of the month is Windows-1252: each PDF carries its XML */
	assert_int_equal(attachments, PQntuples(r));
	PQclear(r);
}

/* A file that breaks a business rule (PayableAmount no longer the
 * inclusive total less nothing prepaid, BR-CO-16) or the schema is
 * reported, naming the rule; so is the committed fixture. */
static void a_broken_file_is_reported(void **state)
{
	NEED_PG();
	march(NULL, 0);
	char x[1200], bad[1300];
	snprintf(x, sizeof(x), "%s/invoices/%s.xml", run_dir(last_run()), number(1));
	snprintf(bad, sizeof(bad), "%s/broken.xml", dir);
	snprintf(cmd, sizeof(cmd),
		 "sed 's#<cbc:PayableAmount currencyID=\"EUR\">[^<]*<#<cbc:PayableAmount currencyID=\"EUR\">0.01<#' '%s' > '%s'",
		 x, bad);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	assert_int_equal(check(bad), 1);
	assert_contains(out, "BR-CO-16");
	assert_int_equal(check(test_src("tests/einvoice/fixtures/broken-BR-CO-10.xml")), 1);
	assert_contains(out, "BR-CO-10");
	/* An element out of the schema's order. */
	snprintf(cmd, sizeof(cmd), "sed 's#<cbc:IssueDate>#<cbc:Bogus>1</cbc:Bogus><cbc:IssueDate>#' '%s' > '%s'", x, bad);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	assert_int_equal(check(bad), 1);
	assert_contains(out, "XSD");
	/* Without the processor the check fails; it never passes unchecked. */
	snprintf(cmd, sizeof(cmd), "SAXON_JAR=/nonexistent/saxon.jar sh '%s' '%s'", test_src("tests/einvoice/check.sh"), x);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 2);
	assert_contains(out, "Saxon-HE is missing");
	/* The same file, as written, passes: the rules above failed on the
	 * change alone. */
	assert_int_equal(check(x), 0);
}

/* ---- item 2: the parties ---- */

static void parties_on_pdf_json_and_xml_with_reverse_charge(void **state)
{
	NEED_PG();
	march(NULL, 0);
	const char *lyon = q_text("SELECT number FROM invoices WHERE account_ext = 'lyon'");
	char base[1200], num[64];
	snprintf(num, sizeof(num), "%s", lyon);
	snprintf(base, sizeof(base), "%s/invoices/%s", run_dir(last_run()), num);
	/* The PDF: both parties' names, addresses and VAT ids, the reverse
	 * charge note, the tax line at its rate. */
	snprintf(cmd, sizeof(cmd), "pdftotext -layout '%s.pdf' -", base);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	assert_contains(out, "Billrun Telecom GmbH");
	assert_contains(out, "VAT ID DE123456789");
	assert_contains(out, "Company no. HRB 12345");
	assert_contains(out, "Lyon Services SARL");
	assert_contains(out, "12 rue de la Paix");
	assert_contains(out, "69001 Lyon, FR");
	assert_contains(out, "VAT ID FR12345678901");
	assert_contains(out, "Reverse charge: the buyer accounts for the VAT");
	assert_contains(out, num);
	/* The JSON: the parties as stored. */
	char json[1300];
	snprintf(json, sizeof(json), "%s.json", base);
	assert_string_equal(jq(json, ".customer.vat_id, .customer.country, .customer.city, .customer.b2b, .seller.country, .seller.vat_id"),
			    "FR12345678901 FR Lyon true DE DE123456789 ");
	/* The XML: reverse charge (AE, 0 %) with its exemption reason. */
	snprintf(cmd, sizeof(cmd), "grep -c '<cbc:ID>AE</cbc:ID>' '%s.xml'; grep -c 'VATEX-EU-AE' '%s.xml'; "
		 "grep -c '<cbc:CompanyID>FR12345678901</cbc:CompanyID>' '%s.xml'",
		 base, base, base);
	test_sh(out, sizeof(out), cmd);
	assert_true(atoi(out) >= 2);
	assert_contains(out, "\n1\n1\n");
	/* A German business: standard rate, no note. */
	snprintf(base, sizeof(base), "%s/invoices/%s", run_dir(last_run()),
		 q_text("SELECT number FROM invoices WHERE account_ext = 'acme'"));
	snprintf(cmd, sizeof(cmd), "grep -c '<cbc:Percent>19</cbc:Percent>' '%s.xml'; grep -c 'Reverse charge' '%s.xml'",
		 base, base);
	test_sh(out, sizeof(out), cmd);
	assert_true(atoi(out) >= 2);
	assert_contains(out, "\n0\n");
	/* The untaxed Swiss account: not subject to VAT, no VAT ids. */
	snprintf(base, sizeof(base), "%s/invoices/%s", run_dir(last_run()),
		 q_text("SELECT number FROM invoices WHERE account_ext = 'zurich'"));
	snprintf(cmd, sizeof(cmd), "grep -c '<cbc:ID>O</cbc:ID>' '%s.xml'; grep -c 'PartyTaxScheme' '%s.xml'", base, base);
	test_sh(out, sizeof(out), cmd);
	assert_true(atoi(out) >= 2);
	assert_contains(out, "\n0\n");
}

static void a_b2b_buyer_without_vat_id_is_held_naming_the_field(void **state)
{
	NEED_PG();
	march(NULL, 0);
	assert_int_equal(q_int("SELECT count(*) FROM invoices WHERE account_ext = 'halbe'"), 0);
	assert_string_equal(q_text("SELECT reason || ': ' || detail FROM account_holds_open WHERE account_ext = 'halbe'"),
			    q_text("SELECT 'buyer_details: rating ' || id || ': the account is billed business to business "
				   "in the EU and has no vat_id' FROM ratings WHERE account_ext = 'halbe'"));
	/* Consumers and buyers outside the EU are not held. */
	assert_int_equal(q_int("SELECT count(*) FROM account_holds WHERE reason = 'buyer_details'"), 1);
	must("quarantine", "list");
	assert_contains(out, "halbe");
	assert_contains(out, "buyer_details");
	must("status");
	assert_contains(out, "held");
	/* The account imported with its VAT id (a new version) and the
	 * hold released: the next close invoices it, naming the id. */
	char csv[512];
	snprintf(csv, sizeof(csv), "%s/halbe.csv", dir);
	FILE *f = fopen(csv, "w");
	assert_non_null(f);
	fprintf(f, "external_id,name,time_zone,anchor_day,currency,tax_jurisdiction,address_line1,city,postcode,country,"
		   "vat_id,b2b,valid_from\n"
		   "halbe,Halbe AG,Europe/Berlin,1,EUR,DE,Am Markt 2,Halbe,15757,DE,DE111222333,true,2026-02-01\n");
	fclose(f);
	must("accounts", "import", csv);
	assert_contains(out, "1 changed");
	assert_int_equal(q_int("SELECT count(*) FROM accounts WHERE external_id = 'halbe'"), 2);
	/* The rating billed the old version: rated again, the new one. */
	char id[24];
	snprintf(id, sizeof(id), "%lld", last_run());
	char hold[24];
	snprintf(hold, sizeof(hold), "%lld", q_int("SELECT id FROM account_holds WHERE account_ext = 'halbe'"));
	must("quarantine", "release", hold, "--note", "VAT id imported");
	must("rerun", id, "--from", "aggregate", "--account", "halbe");
	assert_int_equal(q_int("SELECT count(*) FROM invoices WHERE account_ext = 'halbe'"), 1);
	assert_string_equal(q_text("SELECT customer ->> 'vat_id' FROM invoices WHERE account_ext = 'halbe'"), "DE111222333");
}

static void accounts_import_refuses_a_bad_country_b2b_or_endpoint(void **state)
{
	NEED_PG();
	char csv[512];
	snprintf(csv, sizeof(csv), "%s/bad.csv", dir);
	static const char *const rows[][2] = {
		{ "a,UTC,1,EUR,de,,,false", "bad.csv:2: country 'de' of account 'a' is not an ISO 3166-1 alpha-2 code" },
		{ "a,UTC,1,EUR,DE,,,maybe", "bad.csv:2: b2b 'maybe' of account 'a' is not true or false" },
		{ "a,UTC,1,EUR,DE,,x@y,true", "bad.csv:2: endpoint 'x@y' of account 'a' is not SCHEME:ID" },
	};
	for (int i = 0; i < 3; i++) {
		FILE *f = fopen(csv, "w");
		assert_non_null(f);
		fprintf(f, "external_id,time_zone,anchor_day,currency,country,vat_id,endpoint,b2b\n%s\n", rows[i][0]);
		fclose(f);
		assert_int_equal(billrun("accounts", "import", csv), 65);
		assert_contains(out, rows[i][1]);
	}
	assert_int_equal(q_int("SELECT count(*) FROM accounts"), 0);
}

/* ---- recorded, archived, and off ---- */

static void each_xml_is_recorded_and_archived_with_its_sha256(void **state)
{
	NEED_PG();
	march(NULL, 0);
	long long run = last_run();
	snprintf(cmd, sizeof(cmd), "cd '%s' && sha256sum invoices/*.xml | awk '{print $2 \" \" $1}' | sort", run_dir(run));
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	char disk[8192];
	snprintf(disk, sizeof(disk), "%s", out);
	assert_string_equal(disk, q_text("SELECT string_agg(file || ' ' || sha256, E'\\n' ORDER BY file) || E'\\n' "
					 "FROM invoice_document_files WHERE format = 'ubl' AND run_id = %lld",
					 run));
	assert_string_equal(q_text("SELECT status FROM run_steps WHERE run_id = %lld AND step = 'archive'", run), "success");
	/* In the run's archive, under its recorded SHA-256. */
	char archive[1024];
	snprintf(archive, sizeof(archive), "%s", q_text("SELECT path FROM archives WHERE run_id = %lld", run));
	snprintf(cmd, sizeof(cmd), "tar xzOf '%s' --wildcards '*/manifest-sha256.txt' | grep -c '^%s  data/output/invoices/%s.xml$'",
		 archive, q_text("SELECT sha256 FROM invoice_document_files WHERE format = 'ubl' AND number = '%s'", number(1)),
		 number(1));
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	assert_string_equal(out, "1\n");
	/* billrun invoice show --ubl prints the same bytes. */
	snprintf(cmd, sizeof(cmd), "'%s' -c '%s' invoice show --ubl %s | cmp - '%s/invoices/%s.xml' && echo same",
		 getenv("BILLRUN_BIN"), conf, number(1), run_dir(run), number(1));
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	assert_string_equal(out, "same\n");
}

static void no_xml_with_invoice_ubl_off(void **state)
{
	NEED_PG();
	march("ubl = false;", 0);
	assert_true(q_int("SELECT count(*) FROM invoice_files") > 0);
	assert_int_equal(q_int("SELECT count(*) FROM invoice_files WHERE ubl_file IS NOT NULL"), 0);
	snprintf(cmd, sizeof(cmd), "ls '%s/invoices' | grep -c '\\.xml$'", run_dir(last_run()));
	test_sh(out, sizeof(out), cmd);
	assert_string_equal(out, "0\n");
}

int main(void)
{
	xmlInitParser();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(every_document_validates_against_ubl_en16931_and_peppol, setup, teardown),
		cmocka_unit_test_setup_teardown(amounts_equal_the_json_to_the_cent, setup, teardown),
		cmocka_unit_test_setup_teardown(adjustment_lines_validate, setup, teardown),
		cmocka_unit_test_setup_teardown(a_broken_file_is_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(parties_on_pdf_json_and_xml_with_reverse_charge, setup, teardown),
		cmocka_unit_test_setup_teardown(a_b2b_buyer_without_vat_id_is_held_naming_the_field, setup, teardown),
		cmocka_unit_test_setup_teardown(accounts_import_refuses_a_bad_country_b2b_or_endpoint, setup, teardown),
		cmocka_unit_test_setup_teardown(each_xml_is_recorded_and_archived_with_its_sha256, setup, teardown),
		cmocka_unit_test_setup_teardown(no_xml_with_invoice_ubl_off, setup, teardown),
	};
	int rc = cmocka_run_group_tests_name("einvoice", tests, NULL, NULL);
	xmlCleanupParser();
	return rc;
}
