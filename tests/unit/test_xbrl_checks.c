/*
 * test_xbrl_checks.c - the XBRL checks XSD cannot make (reports/
 * xbrl_check.c), one broken fixture per check (tests/fixtures/xbrl), the
 * ISO 4217 list from Debian's iso-codes, the instance writer against the
 * built-in taxonomy, and the full validation with XSD through the shared
 * XML catalog and the taxonomy copies beside an instance (reports/
 * xbrl_validate.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <libxml/parser.h>

#include "err.h"
#include "hash.h"
#include "support.h"
#include "xbrl.h"

static struct xbrl_iso4217 *iso;
static xmlDocPtr taxonomy;
static struct xbrl_check r;

static int setup(void **state)
{
	struct err e;
	iso = xbrl_iso4217_load(XBRL_ISO4217_JSON, &e);
	size_t len = 0;
	const char *text = xbrl_taxonomy_text(&len);
	taxonomy = xmlReadMemory(text, (int)len, XBRL_TAXONOMY_FILE, NULL, XML_PARSE_NONET);
	return iso && taxonomy ? 0 : -1;
}

static int teardown(void **state)
{
	xbrl_iso4217_free(iso);
	xmlFreeDoc(taxonomy);
	xmlCleanupParser();
	return 0;
}

/* Check a fixture with xbrl_check_doc and the calculations; returns the
 * number of problems. */
static int check_fixture(const char *name)
{
	char rel[256];
	snprintf(rel, sizeof(rel), "tests/fixtures/xbrl/%s", name);
	xmlDocPtr doc = xmlReadFile(test_src(rel), NULL, XML_PARSE_NONET);
	if (!doc)
		fail_msg("cannot parse %s", rel);
	memset(&r, 0, sizeof(r));
	int n = xbrl_check_doc(doc, taxonomy, iso, &r);
	n += xbrl_check_calculations(doc, &r);
	xmlFreeDoc(doc);
	return n;
}

static void expect_one_problem(const char *fixture, const char *needle)
{
	int n = check_fixture(fixture);
	if (n != 1)
		fail_msg("%s: %d problems, expected 1 (first: %s)", fixture, n, n ? r.problems[0] : "none");
	if (!strstr(r.problems[0], needle))
		fail_msg("%s: '%s' does not mention '%s'", fixture, r.problems[0], needle);
}

/* One of the problems r holds mentions needle. */
static void expect_problem(const char *needle)
{
	for (int i = 0; i < r.nproblems && i < XBRL_MAX_PROBLEMS; i++)
		if (strstr(r.problems[i], needle))
			return;
	fail_msg("no problem mentions '%s' (%d problems; first: %s)", needle, r.nproblems,
		 r.nproblems ? r.problems[0] : "none");
}

static void the_valid_fixture_passes_every_check(void **state)
{
	assert_int_equal(check_fixture("valid.xbrl"), 0);
	assert_int_equal(r.facts, 11);
}

static void a_context_ref_that_names_no_context(void **state)
{
	expect_one_problem("bad-contextref.xbrl", "RecordsIngested: contextRef 'D2' names no context");
}

static void a_unit_ref_that_names_no_unit(void **state)
{
	expect_one_problem("bad-unitref.xbrl", "InvoiceCount: unitRef 'U_count' names no unit");
}

static void a_numeric_fact_without_decimals(void **state)
{
	expect_one_problem("missing-decimals.xbrl", "numeric fact InvoiceCount has no decimals");
}

static void a_duration_concept_in_an_instant_context(void **state)
{
	expect_one_problem("wrong-period-type.xbrl", "RecordsIngested is a duration concept but context 'I' is an instant");
}

static void a_currency_code_that_is_not_iso_4217(void **state)
{
	int n = check_fixture("bad-currency.xbrl");
	assert_true(n >= 1);
	assert_non_null(strstr(r.problems[0], "measure 'iso4217:XYZ', which is not an ISO 4217 currency code"));
}

static void a_monetary_fact_in_a_unit_that_is_not_a_currency(void **state)
{
	expect_one_problem("monetary-in-pure.xbrl", "monetary fact RatedTaxAmount is in unit 'U_pure'");
}

static void a_duration_that_ends_before_it_starts(void **state)
{
	expect_one_problem("end-before-start.xbrl", "context 'D' ends (2026-01-31) before it starts (2026-02-15)");
}

static void one_concept_context_and_unit_with_two_values(void **state)
{
	expect_one_problem("inconsistent-duplicate.xbrl", "AccountsOpen is reported twice");
}

static void a_numeric_fact_with_both_precision_and_decimals(void **state)
{
	expect_one_problem("precision-and-decimals.xbrl", "RecordsIngested carries both decimals and precision");
}

static void a_duration_that_ends_when_it_starts(void **state)
{
	expect_one_problem("start-equals-end.xbrl",
			   "context 'D' ends (2026-01-31T00:00:00) when it starts (2026-01-31T00:00:00)");
}

static void a_date_time_start_with_a_date_end_is_a_valid_period(void **state)
{
	/* 10:00 on the 31st to the end of the 31st */
	assert_int_equal(check_fixture("mixed-period-forms.xbrl"), 0);
}

static void two_values_in_contexts_that_differ_only_in_their_ids(void **state)
{
	expect_one_problem("duplicate-in-equal-contexts.xbrl",
			   "InvoiceCount is reported twice with different values, in contexts 'D2' and 'D'");
}

static void two_values_in_contexts_whose_segments_differ_only_in_prefixes_and_spaces(void **state)
{
	/* R and R2 are s-equal; R3 (another region) and D (no segment) are not */
	expect_one_problem("duplicate-in-equal-segments.xbrl",
			   "InvoiceCount is reported twice with different values, in contexts 'R2' and 'R' (line 46)");
}

static void duplicates_are_compared_as_numbers_at_their_decimals(void **state)
{
	/* 299.24 and 299.240 are one value */
	assert_int_equal(check_fixture("consistent-duplicate.xbrl"), 0);
	/* 299.24 and 299.25, decimals 2: two values */
	expect_one_problem("rounded-duplicate.xbrl", "RatedAmount is reported twice for context 'D' with different values");
}

/* valid.xbrl with the text from replaced by to, checked with
 * xbrl_check_doc; returns the number of problems (in r). */
static int check_valid_replacing(const char *from, const char *to)
{
	char *text = NULL;
	size_t len = 0;
	struct err e;
	if (hash_read_file(test_src("tests/fixtures/xbrl/valid.xbrl"), &text, &len, &e))
		fail_msg("%s", e.message);
	char *at = strstr(text, from);
	if (!at)
		fail_msg("valid.xbrl has no '%s'", from);
	size_t size = len + strlen(to) + 1;
	char *doc_text = malloc(size);
	assert_non_null(doc_text);
	snprintf(doc_text, size, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
	xmlDocPtr doc = xmlReadMemory(doc_text, (int)strlen(doc_text), "valid-with.xbrl", NULL, XML_PARSE_NONET);
	assert_non_null(doc);
	memset(&r, 0, sizeof(r));
	int n = xbrl_check_doc(doc, taxonomy, iso, &r);
	xmlFreeDoc(doc);
	free(doc_text);
	free(text);
	return n;
}

/* valid.xbrl with its nil RunIdentifier fact replaced by facts (XML text). */
static int check_valid_with(const char *facts)
{
	return check_valid_replacing("<billrun:RunIdentifier contextRef=\"D\" xsi:nil=\"true\"/>", facts);
}

/* valid.xbrl with context D's period from start to end: the number of problems. */
static int check_period(const char *start, const char *end)
{
	char to[256];
	snprintf(to, sizeof(to), "<xbrli:startDate>%s</xbrli:startDate><xbrli:endDate>%s</xbrli:endDate>", start, end);
	return check_valid_replacing("<xbrli:startDate>2026-01-01</xbrli:startDate><xbrli:endDate>2026-01-31</xbrli:endDate>",
				     to);
}

/* XBRL 2.1 4.7.2: a period's bounds are instants; a date alone as the
 * end is the end of that day (midnight after), as the start its start. */
static void period_bounds_are_compared_as_instants(void **state)
{
	static const struct {
		const char *start, *end, *problem; /* NULL: valid */
	} cases[] = {
		{ "2026-01-31", "2026-01-31", NULL },                       /* one whole day */
		{ "2026-02-01", "2026-01-31", "ends (2026-01-31) when it starts (2026-02-01)" },
		{ "2026-01-31T23:59:59", "2026-01-31", NULL },              /* the last second of the day */
		{ "2026-02-01T00:00:00", "2026-01-31", "when it starts" }, /* midnight after the 31st */
		{ "2026-02-01T00:00:01", "2026-01-31", "ends (2026-01-31) before it starts" },
		{ "2026-01-31", "2026-01-31T00:00:00", "when it starts" },
		{ "2026-01-31", "2026-01-31T00:00:00.5", NULL },
		{ "2026-01-31T10:00:00+02:00", "2026-01-31T08:30:00Z", NULL }, /* 08:00Z to 08:30Z */
		{ "2026-01-31T10:00:00+02:00", "2026-01-31T09:00:00+01:00", "when it starts" },
		{ "2026-01-31T10:00:00", "2026-01-31T09:59:59", "before it starts" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = check_period(cases[i].start, cases[i].end);
		if (!cases[i].problem && n != 0)
			fail_msg("%s to %s: %s", cases[i].start, cases[i].end, r.problems[0]);
		if (cases[i].problem && (n != 1 || !strstr(r.problems[0], cases[i].problem)))
			fail_msg("%s to %s: %d problems (%s), expected '%s'", cases[i].start, cases[i].end, n,
				 n ? r.problems[0] : "none", cases[i].problem);
	}
}

/* Instants too: the date 2026-01-31 is 2026-02-01T00:00:00, so contexts
 * at those are s-equal and one concept in both has one value. */
static void an_instant_date_is_the_end_of_that_day(void **state)
{
	const char *context = "<xbrli:context id=\"I2\"><xbrli:entity><xbrli:identifier "
			      "scheme=\"http://www.billrun.org/entity\">billrun</xbrli:identifier></xbrli:entity>"
			      "<xbrli:period><xbrli:instant>%s</xbrli:instant></xbrli:period></xbrli:context>"
			      "<billrun:AccountsOpen contextRef=\"I2\" unitRef=\"U_pure\" decimals=\"0\">43"
			      "</billrun:AccountsOpen>";
	char facts[1024];
	snprintf(facts, sizeof(facts), context, "2026-02-01T00:00:00Z");
	assert_int_equal(check_valid_with(facts), 1);
	assert_non_null(strstr(r.problems[0], "AccountsOpen is reported twice with different values, in contexts "
					      "'I2' and 'I'"));
	snprintf(facts, sizeof(facts), context, "2026-01-31T23:59:59Z");
	if (check_valid_with(facts) != 0)
		fail_msg("an instant a second earlier: %s", r.problems[0]);
}

/* XBRL 2.1 4.6.3: a numeric fact has decimals or precision, not both (and
 * billrun's facts decimals); a nil one neither. Named by the concept. */
static void decimals_and_precision_one_of_them_nil_none(void **state)
{
	static const struct {
		const char *fact, *problem;
	} cases[] = {
		{ "<billrun:InvoiceCount contextRef=\"D\" unitRef=\"U_pure\" decimals=\"0\" precision=\"1\">3"
		  "</billrun:InvoiceCount>", "numeric fact InvoiceCount carries both decimals and precision" },
		{ "<billrun:InvoiceCount contextRef=\"D\" unitRef=\"U_pure\" precision=\"1\">3</billrun:InvoiceCount>",
		  "numeric fact InvoiceCount has no decimals attribute" },
		{ "<billrun:InvoiceCount contextRef=\"D\" unitRef=\"U_pure\" decimals=\"0\" precision=\"1\" "
		  "xsi:nil=\"true\"/>", "nil fact InvoiceCount carries decimals or precision" },
		{ "<billrun:InvoiceCount contextRef=\"D\" unitRef=\"U_pure\" precision=\"1\" xsi:nil=\"true\"/>",
		  "nil fact InvoiceCount carries decimals or precision" },
	};
	const char *fact = "<billrun:InvoiceCount contextRef=\"D\" unitRef=\"U_pure\" decimals=\"0\">3</billrun:InvoiceCount>";
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = check_valid_replacing(fact, cases[i].fact);
		if (n != 1 || !strstr(r.problems[0], cases[i].problem))
			fail_msg("%s: %d problems (%s), expected '%s'", cases[i].fact, n, n ? r.problems[0] : "none",
				 cases[i].problem);
	}
	/* a nil fact with neither is fine */
	assert_int_equal(check_valid_replacing(fact, "<billrun:InvoiceCount contextRef=\"D\" unitRef=\"U_pure\" "
						     "xsi:nil=\"true\"/>"),
			 0);
}

/* Values are compared whole: two long texts that differ only past the
 * first kilobyte are two values; a number written with more fractional
 * zeros than struct dec holds is still the number. */
static void duplicates_are_compared_whole(void **state)
{
	char facts[8192], tail[2100];
	memset(tail, 'x', 2000);
	tail[2000] = '\0';
	snprintf(facts, sizeof(facts),
		 "<billrun:RunIdentifier contextRef=\"D\">month_end/%sA</billrun:RunIdentifier>"
		 "<billrun:RunIdentifier contextRef=\"D\">month_end/%sB</billrun:RunIdentifier>",
		 tail, tail);
	assert_int_equal(check_valid_with(facts), 1);
	assert_non_null(strstr(r.problems[0], "RunIdentifier is reported twice for context 'D' with different values"));
	snprintf(facts, sizeof(facts),
		 "<billrun:RunIdentifier contextRef=\"D\">month_end/%sA</billrun:RunIdentifier>"
		 "<billrun:RunIdentifier contextRef=\"D\">month_end/%sA</billrun:RunIdentifier>",
		 tail, tail);
	assert_int_equal(check_valid_with(facts), 0);
	/* 100.50 beside 100.5 and sixty zeros: one value; beside 100.51 not */
	snprintf(facts, sizeof(facts),
		 "<billrun:RatedAmount contextRef=\"D\" unitRef=\"U_EUR\" decimals=\"INF\">100.5%060d</billrun:RatedAmount>"
		 "<billrun:RunIdentifier contextRef=\"D\" xsi:nil=\"true\"/>",
		 0);
	if (check_valid_with(facts) != 0)
		fail_msg("100.50 and 100.5000...: %s", r.problems[0]);
	snprintf(facts, sizeof(facts),
		 "<billrun:RatedAmount contextRef=\"D\" unitRef=\"U_EUR\" decimals=\"INF\">100.51%059d</billrun:RatedAmount>"
		 "<billrun:RunIdentifier contextRef=\"D\" xsi:nil=\"true\"/>",
		 0);
	assert_int_equal(check_valid_with(facts), 1);
	assert_non_null(strstr(r.problems[0], "RatedAmount is reported twice for context 'D' with different values"));
}

/* The taxonomy is billrun's own: a copy beside the instance that differs
 * from it is refused; none, or the same bytes, is fine. */
static void the_taxonomy_is_the_one_built_in(void **state)
{
	const char *catalog = test_src("../shared/xbrl/catalog.xml");
	char dir[] = "/tmp/billrun-xbrl-taxonomy-XXXXXX", inst[128], xsd[128], cmd[512];
	assert_non_null(mkdtemp(dir));
	snprintf(inst, sizeof(inst), "%s/report.xbrl", dir);
	snprintf(xsd, sizeof(xsd), "%s/" XBRL_TAXONOMY_FILE, dir);
	snprintf(cmd, sizeof(cmd), "sed 's|../../../reports/taxonomy/billrun-2026.xsd|billrun-2026.xsd|' '%s' > '%s'",
		 test_src("tests/fixtures/xbrl/valid.xbrl"), inst);
	assert_int_equal(system(cmd), 0);
	struct err e;
	err_clear(&e);
	if (xbrl_validate_file(inst, catalog, NULL, &r, &e))
		fail_msg("without a taxonomy beside it: %s", e.message);
	size_t len;
	const char *text = xbrl_taxonomy_text(&len);
	FILE *f = fopen(xsd, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
	if (xbrl_validate_file(inst, catalog, NULL, &r, &e))
		fail_msg("with the same taxonomy beside it: %s", e.message);
	/* one comment more: no longer billrun's taxonomy */
	f = fopen(xsd, "a");
	assert_non_null(f);
	fputs("<!-- edited -->\n", f);
	fclose(f);
	err_clear(&e);
	assert_int_equal(xbrl_validate_file(inst, catalog, NULL, &r, &e), -1);
	assert_int_equal(e.kind, ERR_INPUT);
	assert_non_null(strstr(e.message, "differs from the one built into billrun"));
	/* a schemaRef to another taxonomy */
	snprintf(cmd, sizeof(cmd), "sed -i 's|\"billrun-2026.xsd\"|\"other.xsd\"|' '%s'", inst);
	assert_int_equal(system(cmd), 0);
	err_clear(&e);
	assert_int_equal(xbrl_validate_file(inst, catalog, NULL, &r, &e), -1);
	expect_problem("not billrun's taxonomy 'billrun-2026.xsd'");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* Validate valid.xbrl copied into a new folder named like dir_template
 * (mkdtemp), its schemaRef's href replaced by href (a sed replacement),
 * with the built-in taxonomy beside it as billrun-2026.xsd, edited by one
 * comment when edited. Returns xbrl_validate_file's result; r and e hold
 * what it found. The folder is removed. */
static int validate_beside(const char *dir_template, const char *href, int edited, struct err *e)
{
	char dir[128], inst[192], xsd[192], cmd[1024];
	snprintf(dir, sizeof(dir), "%s", dir_template);
	assert_non_null(mkdtemp(dir));
	snprintf(inst, sizeof(inst), "%s/report.xbrl", dir);
	snprintf(xsd, sizeof(xsd), "%s/" XBRL_TAXONOMY_FILE, dir);
	snprintf(cmd, sizeof(cmd), "sed 's|\"../../../reports/taxonomy/billrun-2026.xsd\"|%s|' '%s' > '%s'", href,
		 test_src("tests/fixtures/xbrl/valid.xbrl"), inst);
	assert_int_equal(system(cmd), 0);
	size_t len;
	const char *text = xbrl_taxonomy_text(&len);
	FILE *f = fopen(xsd, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	if (edited)
		fputs("<!-- edited -->\n", f);
	assert_int_equal(fclose(f), 0);
	err_clear(e);
	int rc = xbrl_validate_file(inst, test_src("../shared/xbrl/catalog.xml"), NULL, &r, e);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return rc;
}

/* The copy beside the instance is the file of the taxonomy's name in the
 * instance's folder, whatever the folder is called and however the
 * schemaRef names the taxonomy; every schemaRef must name billrun's. */
static void a_differing_taxonomy_beside_the_instance_is_found_wherever_it_lies(void **state)
{
	struct err e;
	/* a folder with a space in its name (no URI can be built from it) */
	if (validate_beside("/tmp/billrun xbrl-XXXXXX", "\"billrun-2026.xsd\"", 0, &e))
		fail_msg("the same taxonomy in a folder with a space: %s", e.message);
	assert_int_equal(validate_beside("/tmp/billrun xbrl-XXXXXX", "\"billrun-2026.xsd\"", 1, &e), -1);
	assert_int_equal(e.kind, ERR_INPUT);
	expect_problem("billrun-2026.xsd' beside the instance differs from the one built into billrun");
	/* the schemaRef names the taxonomy by its URL: the copy beside it is
	 * still what other tools may read */
	const char *url = "\"http://www.billrun.org/xbrl/2026/billrun-2026.xsd\"";
	if (validate_beside("/tmp/billrun-xbrl-XXXXXX", url, 0, &e))
		fail_msg("a schemaRef by URL, the same taxonomy beside it: %s", e.message);
	assert_int_equal(validate_beside("/tmp/billrun-xbrl-XXXXXX", url, 1, &e), -1);
	expect_problem("beside the instance differs from the one built into billrun");
	/* by a file: URL */
	assert_int_equal(validate_beside("/tmp/billrun-xbrl-XXXXXX", "\"file:billrun-2026.xsd\"", 1, &e), -1);
	expect_problem("beside the instance differs from the one built into billrun");
	/* a second schemaRef, to another taxonomy */
	const char *two = "\"billrun-2026.xsd\"/><link:schemaRef xlink:type=\"simple\" xlink:href=\"extra.xsd\"";
	assert_int_equal(validate_beside("/tmp/billrun-xbrl-XXXXXX", two, 0, &e), -1);
	expect_problem("link:schemaRef names 'extra.xsd', not billrun's taxonomy 'billrun-2026.xsd'");
}

/* Every linkbase beside the instance is billrun's too: the calculation
 * linkbase with one arc's weight changed would let a wrong total pass in
 * a tool that reads it, so it is refused like an edited schema. */
static void an_edited_linkbase_beside_the_instance_is_refused(void **state)
{
	char dir[] = "/tmp/billrun-xbrl-linkbase-XXXXXX", inst[128], path[160], cmd[512];
	assert_non_null(mkdtemp(dir));
	snprintf(inst, sizeof(inst), "%s/report.xbrl", dir);
	snprintf(cmd, sizeof(cmd), "sed 's|../../../reports/taxonomy/billrun-2026.xsd|billrun-2026.xsd|' '%s' > '%s'",
		 test_src("tests/fixtures/xbrl/valid.xbrl"), inst);
	assert_int_equal(system(cmd), 0);
	size_t n;
	const struct xbrl_taxonomy_file *tf = xbrl_taxonomy_files(&n);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, tf[i].name);
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		assert_int_equal(fwrite(tf[i].text, 1, tf[i].len, f), tf[i].len);
		assert_int_equal(fclose(f), 0);
	}
	struct err e;
	err_clear(&e);
	if (xbrl_validate_file(inst, test_src("../shared/xbrl/catalog.xml"), NULL, &r, &e))
		fail_msg("with the whole built-in taxonomy beside it: %s", e.message);
	snprintf(cmd, sizeof(cmd), "sed -i '0,/weight=\"1\"/s//weight=\"-1\"/' '%s/" XBRL_CALCULATION_FILE "'", dir);
	assert_int_equal(system(cmd), 0);
	err_clear(&e);
	assert_int_equal(xbrl_validate_file(inst, test_src("../shared/xbrl/catalog.xml"), NULL, &r, &e), -1);
	expect_problem(XBRL_CALCULATION_FILE "' beside the instance differs from the one built into billrun");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* The calculation linkbase's identities, as Calculations 1.1 checks them. */
static void a_total_altered_by_a_cent_is_refused_with_its_concept_named(void **state)
{
	expect_one_problem("calc-inconsistent-amount.xbrl",
			   "calculation: InvoicedAmount in context 'D', unit 'U_EUR' is 356.11, but BilledAmount + "
			   "TaxAmount make 356.10");
	expect_one_problem("calc-inconsistent-records.xbrl",
			   "RecordsRead in context 'D', unit 'U_pure' is 1208, but RecordsIngested + RecordsQuarantined "
			   "+ RecordsDuplicated make 1207");
	/* rounded facts agree within their rounding, and only within it */
	expect_one_problem("calc-rounded-inconsistent.xbrl", "InvoicedAmount in context 'D', unit 'U_EUR' is 101");
	assert_int_equal(check_fixture("calc-rounded-consistent.xbrl"), 0);
	assert_int_equal(check_fixture("valid.xbrl"), 0);
}

static void iso_codes_come_from_debian_iso_codes(void **state)
{
	assert_true(xbrl_iso4217_has(iso, "EUR"));
	assert_true(xbrl_iso4217_has(iso, "USD"));
	assert_true(xbrl_iso4217_has(iso, "JPY"));
	assert_true(xbrl_iso4217_has(iso, "CHF"));
	assert_false(xbrl_iso4217_has(iso, "XYZ"));
	assert_false(xbrl_iso4217_has(iso, "EU"));
	assert_false(xbrl_iso4217_has(iso, "eur"));
	struct err e;
	err_clear(&e);
	assert_null(xbrl_iso4217_load("/nonexistent/iso_4217.json", &e));
	assert_int_equal(e.kind, ERR_IO);
}

/* Every concept of the taxonomy, written by the instance writer: the fact
 * table (reports/xbrl.c) knows each one and gives it the taxonomy's
 * period type and the right kind (unit and decimals for numbers). The
 * abstract headings of the presentation tree are never reported. */
static void the_fact_table_and_the_taxonomy_agree(void **state)
{
	struct xbrl_report rep;
	memset(&rep, 0, sizeof(rep));
	snprintf(rep.entity, sizeof(rep.entity), "billrun");
	snprintf(rep.scheme, sizeof(rep.scheme), "http://www.billrun.org/entity");
	snprintf(rep.start, sizeof(rep.start), "2026-01-01");
	snprintf(rep.end, sizeof(rep.end), "2026-01-31");
	rep.currencies = calloc(1, sizeof(*rep.currencies));
	memcpy(rep.currencies[0], "EUR", 4);
	rep.ncurrencies = 1;
	int concepts = 0;
	for (xmlNodePtr n = xmlDocGetRootElement(taxonomy)->children; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE || !xmlStrEqual(n->name, BAD_CAST "element"))
			continue;
		xmlChar *abstract = xmlGetProp(n, BAD_CAST "abstract");
		int heading = abstract && xmlStrEqual(abstract, BAD_CAST "true");
		xmlFree(abstract);
		if (heading)
			continue;
		xmlChar *name = xmlGetProp(n, BAD_CAST "name");
		xmlChar *type = xmlGetProp(n, BAD_CAST "type");
		int money = strstr((char *)type, "monetary") != NULL;
		int text = strstr((char *)type, "string") != NULL;
		/* The concept name must outlive the report: it is the taxonomy's. */
		assert_int_equal(xbrl_report_add(&rep, (const char *)name, money ? "EUR" : NULL, text ? "x" : "0"), 0);
		rep.values[rep.nvalues - 1].concept = (const char *)xmlStrdup(name);
		xmlFree(name);
		xmlFree(type);
		concepts++;
	}
	assert_true(concepts >= 21);
	struct err e;
	err_clear(&e);
	xmlDocPtr doc = xbrl_instance(&rep, &e);
	if (!doc)
		fail_msg("%s", e.message);
	memset(&r, 0, sizeof(r));
	int n = xbrl_check_doc(doc, taxonomy, iso, &r);
	n += xbrl_check_calculations(doc, &r);
	if (n)
		fail_msg("%d problems: %s", n, r.problems[0]);
	assert_int_equal(r.facts, concepts);
	xmlFreeDoc(doc);
	for (size_t i = 0; i < rep.nvalues; i++)
		xmlFree((xmlChar *)rep.values[i].concept);
	xbrl_report_release(&rep);
}

static void an_unknown_concept_is_refused_by_the_writer(void **state)
{
	struct xbrl_report rep;
	memset(&rep, 0, sizeof(rep));
	assert_int_equal(xbrl_report_add(&rep, "NotAConcept", NULL, "1"), 0);
	struct err e;
	err_clear(&e);
	assert_null(xbrl_instance(&rep, &e));
	assert_int_equal(e.kind, ERR_INTERNAL);
	xbrl_report_release(&rep);
}

/* The whole validation, XSD included, through the shared catalog. */
static void validate_file_runs_xsd_and_the_checks(void **state)
{
	const char *catalog = test_src("../shared/xbrl/catalog.xml");
	struct err e;
	err_clear(&e);
	if (xbrl_validate_file(test_src("tests/fixtures/xbrl/valid.xbrl"), catalog, NULL, &r, &e))
		fail_msg("%s: %s", e.message, e.detail);
	assert_true(r.schema_checked);
	err_clear(&e);
	assert_int_equal(xbrl_validate_file(test_src("tests/fixtures/xbrl/not-schema-valid.xbrl"), catalog, NULL, &r, &e),
			 -1);
	assert_int_equal(e.kind, ERR_INPUT);
	assert_non_null(strstr(r.problems[0], "'ten euros' is not a valid value"));
	err_clear(&e);
	assert_int_equal(xbrl_validate_file(test_src("tests/fixtures/xbrl/bad-unitref.xbrl"), catalog, NULL, &r, &e), -1);
	assert_int_equal(e.kind, ERR_INPUT);
	assert_non_null(strstr(e.message, "names no unit"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_valid_fixture_passes_every_check),
		cmocka_unit_test(a_context_ref_that_names_no_context),
		cmocka_unit_test(a_unit_ref_that_names_no_unit),
		cmocka_unit_test(a_numeric_fact_without_decimals),
		cmocka_unit_test(a_duration_concept_in_an_instant_context),
		cmocka_unit_test(a_currency_code_that_is_not_iso_4217),
		cmocka_unit_test(a_monetary_fact_in_a_unit_that_is_not_a_currency),
		cmocka_unit_test(a_duration_that_ends_before_it_starts),
		cmocka_unit_test(one_concept_context_and_unit_with_two_values),
		cmocka_unit_test(a_numeric_fact_with_both_precision_and_decimals),
		cmocka_unit_test(decimals_and_precision_one_of_them_nil_none),
		cmocka_unit_test(a_duration_that_ends_when_it_starts),
		cmocka_unit_test(a_date_time_start_with_a_date_end_is_a_valid_period),
		cmocka_unit_test(period_bounds_are_compared_as_instants),
		cmocka_unit_test(an_instant_date_is_the_end_of_that_day),
		cmocka_unit_test(two_values_in_contexts_that_differ_only_in_their_ids),
		cmocka_unit_test(two_values_in_contexts_whose_segments_differ_only_in_prefixes_and_spaces),
		cmocka_unit_test(duplicates_are_compared_as_numbers_at_their_decimals),
		cmocka_unit_test(duplicates_are_compared_whole),
		cmocka_unit_test(the_taxonomy_is_the_one_built_in),
		cmocka_unit_test(a_differing_taxonomy_beside_the_instance_is_found_wherever_it_lies),
		cmocka_unit_test(an_edited_linkbase_beside_the_instance_is_refused),
		cmocka_unit_test(a_total_altered_by_a_cent_is_refused_with_its_concept_named),
		cmocka_unit_test(iso_codes_come_from_debian_iso_codes),
		cmocka_unit_test(the_fact_table_and_the_taxonomy_agree),
		cmocka_unit_test(an_unknown_concept_is_refused_by_the_writer),
		cmocka_unit_test(validate_file_runs_xsd_and_the_checks),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
