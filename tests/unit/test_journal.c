/*
 * test_journal.c - the journal without a database (reports/journal.c,
 * xbrl_gl.c, xbrl_gl_check.c, journal_csv.c): a demo-like journal (an
 * invoice in the functional currency, one in another with its rate, a
 * credit note) written as XBRL GL validates with xmllint against the GL
 * schemas offline through reports/xbrl-gl-catalog.xml and with billrun's
 * balance check, the same journal gives the same bytes, the CSV has the
 * same lines with RFC 4180 quoting, an amount altered by 0.01 is refused
 * naming its entry and document, and the fixtures of tests/fixtures/journal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cfg.h"
#include "err.h"
#include "journal.h"
#include "support.h"
#include "xbrl_gl.h"

static char dir[256], out[65536];
static struct xbrl_check r;

static int setup(void **state)
{
	return test_tmpdir(dir, sizeof(dir));
}

static int teardown(void **state)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	test_sh(out, sizeof(out), cmd);
	return 0;
}

static struct dec d(const char *s)
{
	struct dec v;
	assert_int_equal(dec_parse_cstr(&v, s), 0);
	return v;
}

static const struct journal_account receivable = { "", "1200", "Trade receivables", "" };
static const struct journal_account fees = { "base_fee", "4010", "Revenue, fees", "base_fee" };
static const struct journal_account calls = { "voice_seconds", "4020", "Revenue \"calls\", voice", "voice_seconds" };
static const struct journal_account vat = { "0.19", "2210", "VAT 19 %", "0.19" };

/* Three entries: INV-1 (EUR: fee 49.00, calls 10.50, VAT 11.31 = 70.81),
 * INV-2 (JPY at EUR/JPY 160: fee 3000, tax 300 = 3300), CN-1 (EUR,
 * crediting INV-1: 10.00 + 1.90). */
static void demo_journal(struct journal *j)
{
	journal_init(j, "2026-03-01", "2026-03-31", "close/2026-03-01/run-7", "billrun", "http://www.billrun.org/entity",
		     "EUR");
	struct journal_entry *en = journal_add_entry(j, "invoice", 1, "INV-2026-000001", "EUR");
	assert_non_null(en);
	snprintf(en->issue_date, sizeof(en->issue_date), "2026-04-01");
	snprintf(en->due_date, sizeof(en->due_date), "2026-05-01");
	snprintf(en->period_start, sizeof(en->period_start), "2026-03-01");
	snprintf(en->period_end, sizeof(en->period_end), "2026-03-31");
	free(en->account);
	en->account = strdup("acme");
	free(en->customer);
	en->customer = strdup("ACME, Inc.");
	assert_non_null(journal_add_line(en, JOURNAL_RECEIVABLE, "", &receivable, d("70.81"), 1));
	assert_non_null(journal_add_line(en, JOURNAL_REVENUE, "base_fee", &fees, d("49.00"), 0));
	assert_non_null(journal_add_line(en, JOURNAL_REVENUE, "voice_seconds", &calls, d("10.50"), 0));
	struct journal_line *t = journal_add_line(en, JOURNAL_TAX, "0.19", &vat, d("11.31"), 0);
	assert_non_null(t);
	snprintf(t->tax_base, sizeof(t->tax_base), "59.50");
	free(t->jurisdictions);
	t->jurisdictions = strdup("DE");

	en = journal_add_entry(j, "invoice", 2, "INV-2026-000002", "JPY");
	snprintf(en->issue_date, sizeof(en->issue_date), "2026-04-01");
	snprintf(en->due_date, sizeof(en->due_date), "2026-05-01");
	snprintf(en->period_start, sizeof(en->period_start), "2026-03-01");
	snprintf(en->period_end, sizeof(en->period_end), "2026-03-31");
	snprintf(en->fx_rate, sizeof(en->fx_rate), "160");
	snprintf(en->fx_as_of, sizeof(en->fx_as_of), "2026-03-31");
	en->fx_inverse = 1;
	free(en->account);
	en->account = strdup("tokyo");
	static const struct journal_account other_tax = { "", "2200", "Tax payable", "" };
	struct journal_line *l = journal_add_line(en, JOURNAL_RECEIVABLE, "", &receivable, d("3300"), 1);
	snprintf(l->restated, sizeof(l->restated), "20.63");
	l = journal_add_line(en, JOURNAL_REVENUE, "base_fee", &fees, d("3000"), 0);
	snprintf(l->restated, sizeof(l->restated), "18.75");
	l = journal_add_line(en, JOURNAL_TAX, "0.1", &other_tax, d("300"), 0);
	snprintf(l->restated, sizeof(l->restated), "1.88");

	en = journal_add_entry(j, "credit_note", 1, "CN-2026-000001", "EUR");
	snprintf(en->issue_date, sizeof(en->issue_date), "2026-04-02");
	snprintf(en->period_start, sizeof(en->period_start), "2026-03-01");
	snprintf(en->period_end, sizeof(en->period_end), "2026-03-31");
	free(en->ref_number);
	en->ref_number = strdup("INV-2026-000001");
	free(en->account);
	en->account = strdup("acme");
	journal_add_line(en, JOURNAL_RECEIVABLE, "", &receivable, d("11.90"), 0);
	journal_add_line(en, JOURNAL_REVENUE, "base_fee", &fees, d("10.00"), 1);
	journal_add_line(en, JOURNAL_TAX, "0.19", &vat, d("1.90"), 1);
}

static const char *path(const char *name)
{
	static char buf[4][512];
	static int n;
	char *p = buf[n++ % 4];
	snprintf(p, sizeof(buf[0]), "%s/%s", dir, name);
	return p;
}

static void a_demo_journal_is_schema_valid_offline_and_balanced(void **state)
{
	struct journal j;
	struct err e;
	demo_journal(&j);
	for (size_t i = 0; i < j.nentries; i++)
		assert_int_equal(journal_entry_check(&j.entries[i], &e), 0);
	assert_int_equal(xbrl_gl_write(&j, path("gl.xbrl"), &e), 0);

	/* xmllint, as an auditor runs it: the GL entry point by its URL, the
	 * copies found through the repository's catalog, no network. */
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "XML_CATALOG_FILES='%s' xmllint --nonet --noout --schema '%s' '%s' 2>&1",
		 test_src("reports/xbrl-gl-catalog.xml"), XBRL_GL_SCHEMA_URL, path("gl.xbrl"));
	if (test_sh(out, sizeof(out), cmd) != 0)
		fail_msg("xmllint: %s", out);
	assert_non_null(strstr(out, "validates"));
	/* and with the shared catalog, the entry point as a file */
	snprintf(cmd, sizeof(cmd), "XML_CATALOG_FILES='%s' xmllint --nonet --noout --schema '%s' '%s' 2>&1",
		 test_src("../shared/xbrl/catalog.xml"), test_src("../shared/xbrl/gl/plt/case-c-b-m/gl-plt-all-2016-12-01.xsd"),
		 path("gl.xbrl"));
	if (test_sh(out, sizeof(out), cmd) != 0)
		fail_msg("xmllint (shared catalog): %s", out);

	assert_true(xbrl_gl_is_instance(path("gl.xbrl")));
	assert_false(xbrl_gl_is_instance(test_src("tests/fixtures/xbrl/valid.xbrl")));
	if (xbrl_gl_validate_file(path("gl.xbrl"), test_src("reports/xbrl-gl-catalog.xml"), &r, &e) != 0)
		fail_msg("%s (%s)", e.message, e.detail);
	assert_int_equal(r.facts, 3);
	assert_true(r.schema_checked);

	/* What the file says: the rate, the restated amounts, the credit note's reference. */
	snprintf(cmd, sizeof(cmd),
		 "f='%s'; grep -c '<gl-cor:entryHeader>' $f && "
		 "grep -q '<gl-muc:amountCurrency contextRef=\"I_2026-03-31\">iso4217:JPY</gl-muc:amountCurrency>' $f && "
		 "grep -q 'unitRef=\"U_EUR\" decimals=\"INF\">20.63</gl-muc:amountRestatedAmount>' $f && "
		 "grep -q 'unitRef=\"U_pure\" decimals=\"INF\">0.00625</gl-muc:amountRestatedExchangeRate>' $f && "
		 "grep -q '<gl-cor:documentApplyToNumber contextRef=\"I_2026-03-31\">INV-2026-000001<' $f && "
		 "grep -q '<gl-cor:documentType contextRef=\"I_2026-03-31\">credit-memo<' $f && "
		 "grep -q '<gl-muc:defaultCurrency contextRef=\"I_2026-03-31\">iso4217:EUR<' $f && "
		 "! grep -q 'amountCurrency contextRef=\"I_2026-03-31\">iso4217:EUR' $f",
		 path("gl.xbrl"));
	if (test_sh(out, sizeof(out), cmd) != 0)
		fail_msg("content: %s", out);
	assert_int_equal(atoi(out), 3);

	/* Same journal, same bytes. */
	assert_int_equal(xbrl_gl_write(&j, path("gl2.xbrl"), &e), 0);
	snprintf(cmd, sizeof(cmd), "cmp '%s' '%s'", path("gl.xbrl"), path("gl2.xbrl"));
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	journal_release(&j);
}

static void the_csv_has_the_same_lines_quoted_as_rfc_4180_says(void **state)
{
	struct journal j;
	struct err e;
	demo_journal(&j);
	assert_int_equal(journal_csv_write(&j, path("journal.csv"), &e), 0);
	char *text = NULL;
	size_t len = 0;
	FILE *f = fopen(path("journal.csv"), "rb");
	assert_non_null(f);
	text = calloc(1, 65536);
	len = fread(text, 1, 65535, f);
	fclose(f);
	assert_true(len > 0);
	const char *expect =
		"entry_id,date,document_number,account_code,account_name,debit,credit,currency,fx_rate,account,period\r\n"
		"1,2026-04-01,INV-2026-000001,1200,Trade receivables,70.81,,EUR,,acme,2026-03-01/2026-03-31\r\n"
		"1,2026-04-01,INV-2026-000001,4010,\"Revenue, fees\",,49.00,EUR,,acme,2026-03-01/2026-03-31\r\n"
		"1,2026-04-01,INV-2026-000001,4020,\"Revenue \"\"calls\"\", voice\",,10.50,EUR,,acme,2026-03-01/2026-03-31\r\n"
		"1,2026-04-01,INV-2026-000001,2210,VAT 19 %,,11.31,EUR,,acme,2026-03-01/2026-03-31\r\n"
		"2,2026-04-01,INV-2026-000002,1200,Trade receivables,3300,,JPY,0.00625,tokyo,2026-03-01/2026-03-31\r\n"
		"2,2026-04-01,INV-2026-000002,4010,\"Revenue, fees\",,3000,JPY,0.00625,tokyo,2026-03-01/2026-03-31\r\n"
		"2,2026-04-01,INV-2026-000002,2200,Tax payable,,300,JPY,0.00625,tokyo,2026-03-01/2026-03-31\r\n"
		"3,2026-04-02,CN-2026-000001,1200,Trade receivables,,11.90,EUR,,acme,2026-03-01/2026-03-31\r\n"
		"3,2026-04-02,CN-2026-000001,4010,\"Revenue, fees\",10.00,,EUR,,acme,2026-03-01/2026-03-31\r\n"
		"3,2026-04-02,CN-2026-000001,2210,VAT 19 %,1.90,,EUR,,acme,2026-03-01/2026-03-31\r\n";
	assert_string_equal(text, expect);
	free(text);

	/* The totals: what invoices bill, what the credit note takes off. */
	struct journal_totals *t = NULL;
	assert_int_equal(journal_totals(&j, &t), 2);
	char buf[DEC_STR_MAX];
	assert_string_equal(t[0].currency, "EUR");
	dec_format(t[0].invoice_revenue, buf, sizeof(buf));
	assert_string_equal(buf, "59.50");
	dec_format(t[0].invoice_tax, buf, sizeof(buf));
	assert_string_equal(buf, "11.31");
	dec_format(t[0].credit_receivable, buf, sizeof(buf));
	assert_string_equal(buf, "11.90");
	dec_format(t[0].credit_revenue, buf, sizeof(buf));
	assert_string_equal(buf, "10.00");
	assert_string_equal(t[1].currency, "JPY");
	dec_format(t[1].invoice_receivable, buf, sizeof(buf));
	assert_string_equal(buf, "3300");
	free(t);
	journal_release(&j);
}

static void an_entry_off_by_a_cent_is_refused_naming_it(void **state)
{
	struct journal j;
	struct err e;
	demo_journal(&j);
	/* in memory */
	j.entries[2].lines[1].amount = d("10.01");
	assert_int_equal(journal_entry_check(&j.entries[2], &e), -1);
	assert_int_equal(e.kind, ERR_INPUT);
	assert_string_equal(e.message, "entry CN-2026-000001 does not balance: debits 11.91 EUR, credits 11.90 EUR");
	j.entries[2].lines[1].amount = d("10.00");
	/* in a file: the instance stays schema-valid, the balance check refuses it */
	assert_int_equal(xbrl_gl_write(&j, path("off.xbrl"), &e), 0);
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "sed -i 's|>49.00</gl-cor:amount>|>49.01</gl-cor:amount>|' '%s' && grep -c '>49.01<' '%s'",
		 path("off.xbrl"), path("off.xbrl"));
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	assert_int_equal(atoi(out), 1);
	assert_int_equal(xbrl_gl_validate_file(path("off.xbrl"), test_src("reports/xbrl-gl-catalog.xml"), &r, &e), -1);
	assert_int_equal(e.kind, ERR_INPUT);
	assert_int_equal(r.nproblems, 1);
	if (!strstr(r.problems[0], "entry 1 (document INV-2026-000001, line ") ||
	    !strstr(r.problems[0], "does not balance: debits 70.81, credits 70.82 EUR (difference -0.01)"))
		fail_msg("%s", r.problems[0]);
	journal_release(&j);
}

static void the_fixtures_are_one_balanced_and_one_unbalanced_journal(void **state)
{
	struct err e;
	const char *catalog = test_src("reports/xbrl-gl-catalog.xml");
	char balanced[512], unbalanced[512];
	snprintf(balanced, sizeof(balanced), "%s", test_src("tests/fixtures/journal/balanced-gl.xbrl"));
	snprintf(unbalanced, sizeof(unbalanced), "%s", test_src("tests/fixtures/journal/unbalanced-gl.xbrl"));
	assert_true(xbrl_gl_is_instance(balanced));
	assert_true(xbrl_gl_is_instance(unbalanced));
	if (xbrl_gl_validate_file(balanced, catalog, &r, &e) != 0)
		fail_msg("%s", e.message);
	assert_int_equal(xbrl_gl_validate_file(unbalanced, catalog, &r, &e), -1);
	assert_int_equal(e.kind, ERR_INPUT);
	assert_true(r.schema_checked);
	assert_int_equal(r.nproblems, 1);
	if (!strstr(r.problems[0], "entry 3 (document CN-2026-000001, line ") || !strstr(r.problems[0], "does not balance"))
		fail_msg("%s", r.problems[0]);
	/* Both pass XSD: the balance is billrun's check. */
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "XML_CATALOG_FILES='%s' xmllint --nonet --noout --schema '%s' '%s' '%s' 2>&1", catalog,
		 XBRL_GL_SCHEMA_URL, balanced, unbalanced);
	if (test_sh(out, sizeof(out), cmd) != 0)
		fail_msg("xmllint: %s", out);
}

/* The `journal` group of the config: defaults, accounts of their own, and
 * each bad key named with its file and line. */
static void journal_accounts_come_from_the_config_and_bad_keys_are_named(void **state)
{
	struct config cfg;
	struct journal_accounts a;
	struct err e;
	char file[512];
	snprintf(file, sizeof(file), "%s/j.conf", dir);

	FILE *f = fopen(file, "w");
	fputs("journal = {\n"
	      "  functional_currency = \"EUR\";\n"
	      "  receivable = { code = \"10100\"; };\n"
	      "  revenue_by_charge = ( { charge = \"base_fee\"; code = \"4010\"; name = \"Fees\"; },\n"
	      "                        { charge = \"voice_seconds\"; code = \"4020\"; },\n"
	      "                        { charge = \"support_hours_of_the_premium_enterprise_plan_in_europe\"; code = \"4030\"; } );\n"
	      "  tax_by_rate = ( { rate = \"0.190\"; code = \"2210\"; name = \"VAT 19 %\"; } );\n"
	      "};\n",
	      f);
	fclose(f);
	assert_int_equal(cfg_load(&cfg, file, 1, &e), 0);
	assert_int_equal(journal_accounts_load(&cfg, &a, &e), 0);
	assert_string_equal(a.functional_currency, "EUR");
	assert_string_equal(a.receivable.code, "10100");
	assert_string_equal(a.receivable.name, "Trade receivables");
	assert_string_equal(a.revenue.code, "4000");
	assert_string_equal(a.tax.code, "2200");
	assert_string_equal(journal_revenue_account(&a, "base_fee")->name, "Fees");
	assert_string_equal(journal_revenue_account(&a, "voice_seconds")->code, "4020");
	assert_string_equal(journal_revenue_account(&a, "voice_seconds")->name, "Revenue");
	assert_string_equal(journal_revenue_account(&a, "sms")->code, "4000");
	/* a charge's name past a decimal's length is matched whole */
	assert_string_equal(journal_revenue_account(&a, "support_hours_of_the_premium_enterprise_plan_in_europe")->code,
			    "4030");
	assert_string_equal(journal_revenue_account(&a, "support_hours_of_the_premium_enterprise_plan_in_euro")->code,
			    "4000");
	assert_string_equal(journal_tax_account(&a, "0.19")->code, "2210");
	assert_string_equal(journal_tax_account(&a, "0.07")->code, "2200");
	journal_accounts_release(&a);
	cfg_release(&cfg);

	static const struct {
		const char *text, *message;
	} bad[] = {
		{ "journal = { tax_by_rate = ( { rate = \"nineteen\"; code = \"2210\"; } ); };",
		  ":1: key 'journal.tax_by_rate.[0].rate': 'nineteen' is not a tax rate" },
		{ "journal = { tax_by_rate = ( { rate = \"0.19\"; code = \"1\"; }, { rate = \"0.190\"; code = \"2\"; } ); };",
		  "key 'journal.tax_by_rate.[1].rate': rate '0.190' has an account already (element 0)" },
		{ "journal = { revenue_by_charge = ( { charge = \"x\"; } ); };",
		  "key 'journal.revenue_by_charge.[0]': an account of journal.revenue_by_charge needs a code" },
		{ "journal = { receivable = { code = \"\"; }; };",
		  "key 'journal.receivable.code': an account code must be 1 to 64 characters" },
		{ "journal = { functional_currency = \"EURO\"; };",
		  "key 'journal.functional_currency': 'EURO' is not an active ISO 4217 currency code" },
		{ "journal = { tax_by_rate = ( { rate = 0.19; code = \"2210\"; } ); };",
		  "key 'journal.tax_by_rate.[0].rate': must be a string" },
		{ "journal = { revenue_accounts = (); };", "key 'journal.revenue_accounts': unknown key" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f = fopen(file, "w");
		fprintf(f, "%s\n", bad[i].text);
		fclose(f);
		err_clear(&e);
		int rc = cfg_load(&cfg, file, 1, &e);
		if (rc == 0)
			rc = journal_accounts_load(&cfg, &a, &e);
		cfg_release(&cfg);
		assert_int_equal(rc, -1);
		assert_int_equal(e.kind, ERR_CONFIG);
		if (!strstr(e.message, bad[i].message) || !strstr(e.message, file))
			fail_msg("case %zu: %s", i, e.message);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_demo_journal_is_schema_valid_offline_and_balanced),
		cmocka_unit_test(the_csv_has_the_same_lines_quoted_as_rfc_4180_says),
		cmocka_unit_test(an_entry_off_by_a_cent_is_refused_naming_it),
		cmocka_unit_test(the_fixtures_are_one_balanced_and_one_unbalanced_journal),
		cmocka_unit_test(journal_accounts_come_from_the_config_and_bad_keys_are_named),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
