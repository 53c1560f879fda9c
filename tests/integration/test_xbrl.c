/*
 * test_xbrl.c - the xbrl step and `billrun xbrl validate`: a month-end
 * run's instance holds the period's figures from the tables there are,
 * validates offline with xmllint against the shipped taxonomy and the
 * official XBRL 2.1 schemas (../shared/xbrl, through its catalog), and
 * passes billrun's own checks; each broken fixture passes xmllint and is
 * refused by billrun.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "auditors_env.h"

#define INSTANCE "state/output/month_end/2026-01-01/run-%s/xbrl/billrun-month_end-2026-01-01.xbrl"

static int setup(void **state)
{
	return env_setup("test_xbrl");
}

static int teardown(void **state)
{
	return env_teardown();
}

/* The figures of January 2026, as the other steps would leave them: a
 * file of January read on January 10 (no partial sums: it belongs to its
 * run's day), one of December read on December 31, and one of January's
 * last day read on February 3 by a catch-up run (it is January's data). */
static void january(void)
{
	sql("INSERT INTO runs (id, dag, period_kind, period_start, period_end, host, pid, status) VALUES "
	    "(100, 'nightly', 'day', '2026-01-10', '2026-01-11', 'h', 1, 'success'), "
	    "(101, 'nightly', 'day', '2025-12-31', '2026-01-01', 'h', 1, 'success'), "
	    "(102, 'nightly', 'day', '2026-02-03', '2026-02-04', 'h', 1, 'success')");
	sql("INSERT INTO accounts (id, external_id, valid_from, name, time_zone, anchor_day, currency, email) VALUES "
	    "(1, 'A-1', '2025-01-01', 'Alice', 'Europe/Berlin', 1, 'EUR', 'alice@example.org'), "
	    "(2, 'A-2', '2025-01-01', 'Bob', 'America/New_York', 1, 'USD', ''), "
	    "(3, 'A-3', '2025-01-01', 'Carol', 'Europe/Berlin', 1, 'EUR', '')");
	sql("INSERT INTO agg_snapshots (id, run_id, account_ext, account_id, period_local_start, period_local_end, "
	    "period_start, period_end, time_zone, anchor_day, closed, reason, usage_records) VALUES "
	    "(1, 100, 'A-1', 1, '2026-01-01', '2026-02-01', '2026-01-01', '2026-02-01', 'Europe/Berlin', 1, true, 'close', 3), "
	    "(2, 100, 'A-3', 3, '2026-01-01', '2026-02-01', '2026-01-01', '2026-02-01', 'Europe/Berlin', 1, true, 'close', 1), "
	    "(3, 100, 'A-1', 1, '2025-12-01', '2026-01-01', '2025-12-01', '2026-01-01', 'Europe/Berlin', 1, true, 'close', 1)");
	sql("INSERT INTO ratings (run_id, snapshot_id, account_ext, account_id, period_local_start, period_local_end, "
	    "closed, currency, rounding, status, hold_reason, subtotal, tax_total, total) VALUES "
	    "(100, 1, 'A-1', 1, '2026-01-01', '2026-02-01', true, 'EUR', 'half_up', 'rated', NULL, 100.50, 19.10, 119.60), "
	    "(100, 2, 'A-3', 3, '2026-01-01', '2026-02-01', true, 'EUR', 'half_up', 'held', 'no_plan', 0, 0, 0), "
	    "(100, 3, 'A-1', 1, '2025-12-01', '2026-01-01', true, 'EUR', 'half_up', 'rated', NULL, 999, 99, 1098)");
	sql("INSERT INTO ingest_files (id, run_id, source, format, file_name, sha256, size_bytes, records_read, accepted, "
	    "quarantined, duplicates, started_at) VALUES "
	    "(1, 100, 'usage', 'usage-csv', 'a.csv', repeat('a', 64), 1, 7, 4, 1, 2, '2026-01-10'), "
	    "(2, 101, 'usage', 'usage-csv', 'b.csv', repeat('b', 64), 1, 50, 50, 0, 0, '2025-12-31'), "
	    "(3, 102, 'usage', 'usage-csv', 'c.csv', repeat('c', 64), 1, 10, 9, 1, 0, '2026-02-03')");
	sql("INSERT INTO usage_partials (file_id, run_id, account_ext, meter, category, first_event, last_event, records, "
	    "billable, max_usage_id, quantity, quantity_rounded) VALUES "
	    "(2, 101, 'A-1', 'calls', 'Usage', '2025-12-31 08:00Z', '2025-12-31 22:00Z', 50, 50, 50, 50, 50), "
	    "(3, 102, 'A-1', 'calls', 'Usage', '2026-01-30 08:00Z', '2026-01-31 23:00Z', 9, 9, 59, 9, 9)");
	sql("INSERT INTO quarantine_records (run_id, source, file_id, file_name, line_no, raw, reason, message, created_at) "
	    "VALUES (100, 'usage', 1, 'a.csv', 3, 'x', 'bad_number', 'm', '2026-01-10')");
	sql("INSERT INTO quarantine_records (run_id, source, file_id, file_name, line_no, raw, reason, message, created_at) "
	    "VALUES (102, 'usage', 3, 'c.csv', 4, 'y', 'bad_number', 'm', '2026-02-03')");
	sql("INSERT INTO account_holds (run_id, account_ext, period_start, reason, created_at) "
	    "VALUES (100, 'A-3', '2026-01-01', 'no_plan', '2026-01-20')");
	sql("INSERT INTO invoice_series (series, doc) VALUES ('INV-{SEQ}', 'invoice'), ('CN-{SEQ}', 'credit_note')");
	sql("INSERT INTO invoices (id, run_id, draft_id, kind, series, seq, number, account_ext, account_id, "
	    "period_local_start, period_local_end, rating_id, currency, subtotal, tax_total, total, issue_date, due_date, "
	    "seller, customer) VALUES (1, 100, 1, 'invoice', 'INV-{SEQ}', 1, 'INV-1', 'A-1', 1, '2026-01-01', "
	    "'2026-02-01', 1, 'EUR', 100.50, 19.10, 119.60, '2026-02-01', '2026-03-01', '{}', '{}')");
	sql("INSERT INTO credit_notes (run_id, draft_id, reason, series, seq, number, invoice_id, account_ext, account_id, "
	    "period_local_start, period_local_end, rating_id, currency, subtotal, tax_total, total, issue_date, seller, "
	    "customer) VALUES (100, 2, 'correction', 'CN-{SEQ}', 1, 'CN-1', 1, 'A-1', 1, '2025-12-01', '2026-01-01', 3, "
	    "'EUR', 10, 1.90, 11.90, '2026-02-01', '{}', '{}')");
	/* their lines, which the journal beside the report posts */
	sql("INSERT INTO invoice_lines (invoice_id, line_no, kind, adjustment, account_ext, period_local_start, line_key, "
	    "rating_id, description, charge, tax_rate, tax_base, tax_jurisdiction, amount) VALUES "
	    "(1, 1, 'recurring', false, 'A-1', '2026-01-01', 'r', 1, 'fee', 'fee', NULL, NULL, NULL, 100.50), "
	    "(1, 2, 'tax', false, 'A-1', '2026-01-01', 't', 1, 'tax', NULL, 0.19, 100.50, 'DE', 19.10)");
	sql("INSERT INTO credit_note_lines (credit_note_id, line_no, kind, account_ext, period_local_start, line_key, "
	    "rating_id, description, charge, tax_rate, tax_base, tax_jurisdiction, amount) SELECT id, n, k, 'A-1', "
	    "'2025-12-01', k, 3, k, c, r, b, j, a FROM credit_notes, (VALUES (1, 'recurring', 'fee', NULL::numeric, "
	    "NULL::numeric, NULL, 10), (2, 'tax', NULL, 0.19, 10, 'DE', 1.90)) AS l(n, k, c, r, b, j, a)");
	sql("INSERT INTO reconciliation_checks (run_id, check_name, measure, currency, expected, actual, difference, "
	    "tolerance, verdict, file_id) VALUES (100, 'control_cost', 'amount', 'EUR', 10, 12.5, 2.5, 0, 'fail', 1), "
	    "(100, 'control_records', 'count', NULL, 5, 5, 0, 0, 'pass', 1), "
	    /* December's file failed a check, then passed it: its latest result counts, and it is not January's */
	    "(101, 'control_cost', 'amount', 'EUR', 10, 14, 4, 0, 'fail', 2), "
	    "(102, 'control_cost', 'amount', 'EUR', 10, 10, 0, 0, 'pass', 2)");
}

static const char *fact(const char *concept, const char *unit)
{
	char pattern[256];
	if (unit)
		snprintf(pattern, sizeof(pattern), "billrun:%s contextRef=\"[^\"]*\" unitRef=\"U_%s\"", concept, unit);
	else
		snprintf(pattern, sizeof(pattern), "billrun:%s contextRef", concept);
	if (sh("grep '%s' xbrl.xbrl | sed 's/.*>\\(.*\\)<.*/\\1/'", pattern) != 0 || !out[0])
		fail_msg("no fact %s %s", concept, unit ? unit : "");
	out[strcspn(out, "\n")] = '\0';
	return out;
}

static void a_month_end_run_writes_a_valid_instance_with_the_periods_figures(void **state)
{
	NEED_PG();
	january();
	env_config("xbrl = { entity = \"DE123456789\"; entity_scheme = \"http://www.example.com/vat\"; };",
		   "month_end = { period = \"month\"; steps = ( { name = \"xbrl\"; job = \"xbrl\"; } ); };");
	assert_int_equal(billrun("run", "month_end", "--period", "2026-01"), 0);
	char path[512];
	snprintf(path, sizeof(path), INSTANCE, q_text("SELECT max(id)::text FROM runs WHERE dag = 'month_end'"));
	SH_OK("cp %s xbrl.xbrl && test -f $(dirname %s)/billrun-2026.xsd && ! ls $(dirname %s) | grep -q tmp", path, path,
	      path);
	SH_OK("t='%s'; for f in $(ls \"$t\"); do cmp \"$t/$f\" $(dirname %s)/$f || exit 1; done", test_src("reports/taxonomy"),
	      path);

	/* Offline XSD validation, exactly as an auditor would run it. */
	SH_OK("XML_CATALOG_FILES='%s' xmllint --nonet --noout --schema '%s' %s 2>&1",
	      test_src("../shared/xbrl/catalog.xml"), test_src("reports/taxonomy/billrun-2026.xsd"), path);
	SH_OK("XML_CATALOG_FILES='%s' '%s' xbrl validate %s 2>&1", test_src("../shared/xbrl/catalog.xml"),
	      getenv("BILLRUN_BIN"), path);
	expect_output("valid XBRL 2.1 instance");

	/* The figures: billing periods that closed in January, documents of
	 * January's runs, January's files (1 and 3, not December's 2). */
	assert_string_equal(fact("RatedAmount", "EUR"), "100.50");
	assert_string_equal(fact("RatedAmount", "USD"), "0");
	assert_string_equal(fact("RatedTaxAmount", "EUR"), "19.10");
	assert_string_equal(fact("BilledAmount", "EUR"), "100.50");
	assert_string_equal(fact("BilledAmount", "USD"), "0");
	assert_string_equal(fact("TaxAmount", "EUR"), "19.10");
	assert_string_equal(fact("CreditNoteAmount", "EUR"), "11.90");
	assert_string_equal(fact("CreditNoteCount", "pure"), "1");
	assert_string_equal(fact("ReconciliationDifferenceCount", "pure"), "1");
	assert_string_equal(fact("ReconciliationDifferenceAmount", "EUR"), "2.5");
	assert_string_equal(fact("RatingsHeld", "pure"), "1");
	assert_string_equal(fact("InvoicedAmount", "EUR"), "119.60");
	assert_string_equal(fact("RecordsRead", "pure"), "17");
	assert_string_equal(fact("RecordsIngested", "pure"), "13");
	assert_string_equal(fact("RecordsQuarantined", "pure"), "2");
	assert_string_equal(fact("RecordsDuplicated", "pure"), "2");
	assert_string_equal(fact("RecordsInQuarantine", "pure"), "2");
	assert_string_equal(fact("AccountsHeld", "pure"), "1");
	assert_string_equal(fact("AccountsOpen", "pure"), "3");
	/* files 1 and 3: each recorded, and its quarantine; no document was
	 * issued by a run (the invoices were written by hand) */
	assert_string_equal(fact("AuditLogEntries", "pure"), "4");
	assert_string_equal(fact("InvoiceCount", "pure"), "1");
	assert_string_equal(fact("RuleVersion", NULL), q_text("SELECT sha256 FROM rule_versions"));
	SH_OK("grep -c 'unitRef=\"U_' xbrl.xbrl");
	/* 7 amounts x 2 currencies + 12 counts */
	assert_int_equal(atoi(out), 7 * 2 + 12);
	SH_OK("grep -q '<xbrli:identifier scheme=\"http://www.example.com/vat\">DE123456789<' xbrl.xbrl && "
	      "grep -q '<xbrli:startDate>2026-01-01</xbrli:startDate>' xbrl.xbrl && "
	      "grep -q '<xbrli:endDate>2026-01-31</xbrli:endDate>' xbrl.xbrl && "
	      "grep -q '<xbrli:instant>2026-01-31</xbrli:instant>' xbrl.xbrl && "
	      "grep -q '<xbrli:measure>iso4217:USD</xbrli:measure>' xbrl.xbrl");

	/* The taxonomy beside the run's instance is billrun's: one comment
	 * added to it and the instance is refused, exit 65, naming the file;
	 * the same bytes again and it is valid. */
	SH_OK("echo '<!-- edited -->' >> $(dirname %s)/billrun-2026.xsd", path);
	SH_OK("XML_CATALOG_FILES='%s' '%s' xbrl validate %s > edited.txt 2>&1; echo $?",
	      test_src("../shared/xbrl/catalog.xml"), getenv("BILLRUN_BIN"), path);
	assert_int_equal(atoi(out), 65);
	SH_OK("cat edited.txt");
	expect_output("xbrl/billrun-2026.xsd' beside the instance differs from the one built into billrun");
	SH_OK("cp '%s' $(dirname %s)/billrun-2026.xsd && XML_CATALOG_FILES='%s' '%s' xbrl validate %s 2>&1",
	      test_src("reports/taxonomy/billrun-2026.xsd"), path, test_src("../shared/xbrl/catalog.xml"),
	      getenv("BILLRUN_BIN"), path);

	/* Without the catalog the official schemas are not fetched from the network. */
	SH_OK("env -u XML_CATALOG_FILES '%s' xbrl validate %s > novalidate.txt 2>&1; echo $?", getenv("BILLRUN_BIN"),
	      path);
	assert_int_equal(atoi(out), 78);
	SH_OK("cat novalidate.txt");
	expect_output("XML_CATALOG_FILES");
}

static void an_empty_database_still_gives_the_whole_report_as_zeros(void **state)
{
	NEED_PG();
	sql("INSERT INTO accounts (external_id, valid_from, time_zone, anchor_day, currency) VALUES "
	    "('A-1', '2025-01-01', 'UTC', 1, 'CHF')");
	env_config("", "month_end = { period = \"month\"; steps = ( { name = \"xbrl\"; job = \"xbrl\"; } ); };");
	assert_int_equal(billrun("run", "month_end", "--period", "2026-03"), 0);
	char path[512];
	snprintf(path, sizeof(path), "state/output/month_end/2026-03-01/run-1/xbrl/billrun-month_end-2026-03-01.xbrl");
	SH_OK("cp %s xbrl.xbrl", path);
	assert_string_equal(fact("RatedAmount", "CHF"), "0");
	assert_string_equal(fact("RecordsIngested", "pure"), "0");
	SH_OK("XML_CATALOG_FILES='%s' '%s' xbrl validate %s 2>&1", test_src("../shared/xbrl/catalog.xml"),
	      getenv("BILLRUN_BIN"), path);
}

static void broken_fixtures_pass_xsd_and_fail_billrun_each_for_its_reason(void **state)
{
	static const struct {
		const char *file, *problem;
	} cases[] = {
		{ "bad-contextref.xbrl", "contextRef 'D2' names no context" },
		{ "bad-unitref.xbrl", "unitRef 'U_count' names no unit" },
		{ "missing-decimals.xbrl", "has no decimals attribute" },
		{ "wrong-period-type.xbrl", "is a duration concept but context 'I' is an instant" },
		{ "bad-currency.xbrl", "'iso4217:XYZ', which is not an ISO 4217 currency code" },
		{ "monetary-in-pure.xbrl", "is in unit 'U_pure', which is not one ISO 4217 currency" },
		{ "end-before-start.xbrl", "ends (2026-01-31) before it starts (2026-02-15)" },
		{ "inconsistent-duplicate.xbrl", "reported twice" },
		{ "precision-and-decimals.xbrl", "carries both decimals and precision" },
		{ "start-equals-end.xbrl", "ends (2026-01-31T00:00:00) when it starts" },
		{ "duplicate-in-equal-contexts.xbrl", "in contexts 'D2' and 'D'" },
		{ "duplicate-in-equal-segments.xbrl", "InvoiceCount is reported twice with different values, in contexts 'R2' and 'R'" },
		{ "rounded-duplicate.xbrl", "reported twice" },
		{ "calc-inconsistent-amount.xbrl", "calculation: InvoicedAmount in context 'D', unit 'U_EUR' is 356.11" },
		{ "calc-inconsistent-records.xbrl", "calculation: RecordsRead in context 'D', unit 'U_pure' is 1208" },
		{ "calc-rounded-inconsistent.xbrl", "calculation: InvoicedAmount in context 'D', unit 'U_EUR' is 101" },
	};
	char catalog[512], cmd[2048];
	snprintf(catalog, sizeof(catalog), "%s", test_src("../shared/xbrl/catalog.xml"));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char fixture[256];
		snprintf(fixture, sizeof(fixture), "%s", test_src("tests/fixtures/xbrl/"));
		strncat(fixture, cases[i].file, sizeof(fixture) - strlen(fixture) - 1);
		snprintf(cmd, sizeof(cmd), "XML_CATALOG_FILES='%s' xmllint --nonet --noout --schema '%s' '%s' 2>&1", catalog,
			 test_src("reports/taxonomy/billrun-2026.xsd"), fixture);
		if (test_sh(out, sizeof(out), cmd) != 0)
			fail_msg("xmllint rejects %s: %s", cases[i].file, out);
		const char *args[] = { "xbrl", "validate", "--catalog", catalog, fixture, NULL };
		int rc = test_billrun(out, sizeof(out), args);
		if (rc != 65)
			fail_msg("billrun xbrl validate %s exited %d:\n%s", cases[i].file, rc, out);
		expect_output(cases[i].problem);
	}
	char fixture[512];
	snprintf(fixture, sizeof(fixture), "%s", test_src("tests/fixtures/xbrl/valid.xbrl"));
	const char *ok[] = { "xbrl", "validate", "--catalog", catalog, fixture, NULL };
	assert_int_equal(test_billrun(out, sizeof(out), ok), 0);
	/* valid as XBRL 2.1 has it: a date-time start with a date end, and
	 * one value written 299.24 and 299.240 */
	static const char *const valid[] = { "mixed-period-forms.xbrl", "consistent-duplicate.xbrl",
					     "calc-rounded-consistent.xbrl" };
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		snprintf(fixture, sizeof(fixture), "%s%s", test_src("tests/fixtures/xbrl/"), valid[i]);
		const char *args[] = { "xbrl", "validate", "--catalog", catalog, fixture, NULL };
		if (test_billrun(out, sizeof(out), args) != 0)
			fail_msg("billrun xbrl validate %s:\n%s", valid[i], out);
	}
	snprintf(fixture, sizeof(fixture), "%s", test_src("tests/fixtures/xbrl/not-schema-valid.xbrl"));
	const char *bad[] = { "xbrl", "validate", "--catalog", catalog, fixture, NULL };
	assert_int_equal(test_billrun(out, sizeof(out), bad), 65);
	expect_output("is not a valid value");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(a_month_end_run_writes_a_valid_instance_with_the_periods_figures, setup,
						teardown),
		cmocka_unit_test_setup_teardown(an_empty_database_still_gives_the_whole_report_as_zeros, setup, teardown),
		cmocka_unit_test(broken_fixtures_pass_xsd_and_fail_billrun_each_for_its_reason),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
