/*
 * test_rates.c - the rate-card loader (jobs/rates.c): the example card
 * loads, lookups honour effective dates, and every kind of mistake is an
 * ERR_CONFIG naming the file, the line and the key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "rates.h"
#include "support.h"

static char tmpdir[256];

static int setup(void **state)
{
	return test_tmpdir(tmpdir, sizeof(tmpdir));
}

static int teardown(void **state)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void text_is(struct dec d, const char *want)
{
	char buf[DEC_STR_MAX];
	dec_format(d, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

/* Load `text` from a file named rates.conf; expect failure with a message
 * containing each of the NULL-terminated fragments. */
static void fails_with(const char *text, ...)
{
	char path[512];
	struct rate_card card;
	struct err e;
	va_list ap;

	snprintf(path, sizeof(path), "%s/rates.conf", tmpdir);
	assert_int_equal(test_write_file(path, text), 0);
	err_clear(&e);
	assert_int_equal(rates_load_file(&card, path, &e), -1);
	assert_int_equal(e.kind, ERR_CONFIG);
	va_start(ap, text);
	for (const char *want = va_arg(ap, const char *); want; want = va_arg(ap, const char *)) {
		if (!strstr(e.message, want) && !strstr(e.hint, want)) {
			fprintf(stderr, "message: %s\nhint: %s\nwanted: %s\n", e.message, e.hint, want);
			fail();
		}
	}
	va_end(ap);
	assert_non_null(strstr(e.message, path)); /* the file is named */
}

#define PLAN_HEAD "plans = ( { id = \"p\"; currency = \"EUR\"; effective_from = \"2026-01-01\";\n"

static void example_card_loads(void **state)
{
	struct rate_card card;
	struct err e;
	err_clear(&e);
	if (rates_load_file(&card, test_src("conf/rates.conf"), &e)) {
		fprintf(stderr, "%s\n", e.message);
		fail();
	}
	assert_int_equal(card.nplans, 4);
	assert_int_equal(card.ntaxes, 8); /* DE, FR, JP and EU-RC (reverse charge, 0 %), each standard and reduced */
	assert_int_equal(rates_currency_exponent(&card, "XTS"), 2);
	assert_int_equal(rates_currency_exponent(&card, "JPY"), 0);
	assert_int_equal(rates_currency_exponent(&card, "XAU"), -1);

	/* Plan versions: 29.00 until the end of 2025, 32.00 from 2026. */
	const struct rate_plan *p = rates_plan_at(&card, "basic", "2025-12-31");
	assert_non_null(p);
	assert_string_equal(p->effective_from, "2024-01-01");
	text_is(p->charges[0].def.amount, "29.00");
	p = rates_plan_at(&card, "basic", "2026-01-01");
	assert_non_null(p);
	text_is(p->charges[0].def.amount, "32.00");
	assert_null(rates_plan_at(&card, "basic", "2023-12-31"));
	assert_true(rates_plan_known(&card, "basic"));
	assert_false(rates_plan_known(&card, "gold"));

	/* Charge defaults: id from the meter, tax group standard. */
	assert_string_equal(p->charges[1].id, "voice_seconds");
	assert_string_equal(p->charges[1].tax_group, "standard");
	assert_int_equal(p->charges[2].def.model, CHARGE_PACKAGE);

	const struct rate_plan *pro = rates_plan_at(&card, "pro", "2026-03-01");
	assert_int_equal(pro->charges[1].def.ntiers, 3);
	assert_true(pro->charges[1].def.tiers[2].unbounded);
	text_is(pro->charges[2].def.tiers[2].flat, "10.00");

	const struct rate_tax *t = rates_tax_at(&card, "DE", "standard", "2026-03-31");
	assert_non_null(t);
	text_is(t->rate, "0.19");
	t = rates_tax_at(&card, "DE", "reduced", "2026-03-31");
	text_is(t->rate, "0.07");
	assert_null(rates_tax_at(&card, "US", "standard", "2026-03-31"));
	assert_null(rates_tax_at(&card, "JP", "standard", "2019-09-30"));
	rates_release(&card);
}

static void effective_dates(void **state)
{
	static const char text[] =
		"plans = (\n"
		" { id = \"a\"; currency = \"EUR\"; effective_from = \"2026-01-01\";\n"
		"   charges = ( { model = \"recurring\"; amount = \"1\"; effective_to = \"2026-03-01\"; },\n"
		"               { id = \"later\"; model = \"recurring\"; amount = \"2\"; effective_from = \"2026-03-01\"; } ); },\n"
		" { id = \"a\"; currency = \"EUR\"; effective_from = \"2026-06-01\";\n"
		"   charges = ( { model = \"recurring\"; amount = \"3\"; } ); }\n"
		");\n"
		"taxes = ( { jurisdiction = \"X\"; rate = \"0.1\"; effective_from = \"2020-01-01\"; },\n"
		"          { jurisdiction = \"X\"; rate = \"0.2\"; effective_from = \"2026-07-01\"; } );\n";
	struct rate_card card;
	struct err e;
	assert_int_equal(rates_load_text(&card, text, "version 7", &e), 0);
	const struct rate_plan *p = rates_plan_at(&card, "a", "2026-02-28");
	assert_string_equal(p->effective_from, "2026-01-01");
	assert_true(rates_charge_in_force(&p->charges[0], "2026-02-28"));
	assert_false(rates_charge_in_force(&p->charges[0], "2026-03-01")); /* effective_to is exclusive */
	assert_false(rates_charge_in_force(&p->charges[1], "2026-02-28"));
	assert_true(rates_charge_in_force(&p->charges[1], "2026-03-01"));
	assert_string_equal(rates_plan_at(&card, "a", "2026-05-31")->effective_from, "2026-01-01");
	assert_string_equal(rates_plan_at(&card, "a", "2026-06-01")->effective_from, "2026-06-01");
	text_is(rates_tax_at(&card, "X", "standard", "2026-06-30")->rate, "0.1");
	text_is(rates_tax_at(&card, "X", "standard", "2026-07-01")->rate, "0.2");
	rates_release(&card);
}

static void text_errors_name_the_version(void **state)
{
	struct rate_card card;
	struct err e;
	err_clear(&e);
	assert_int_equal(rates_load_text(&card, "plans = ( { id = \"a\"; } );\n", "rule version 7", &e), -1);
	assert_non_null(strstr(e.message, "rule version 7:1: key 'plans.[0]'"));
	assert_non_null(strstr(e.message, "'currency' is missing"));
}

static void float_price_refused(void **state)
{
	fails_with(PLAN_HEAD "charges = ( { meter = \"m\"; model = \"per_unit\";\n price = 0.01; } ); } );\n",
		   ":3: key 'plans.[0].charges.[0].price'", "floating-point", "in quotes", NULL);
}

static void not_a_decimal(void **state)
{
	fails_with(PLAN_HEAD "charges = ( { meter = \"m\"; model = \"per_unit\"; price = \"0,01\"; } ); } );\n",
		   ":2: key 'plans.[0].charges.[0].price'", "'0,01' is not a decimal number", NULL);
}

static void unknown_keys(void **state)
{
	fails_with(PLAN_HEAD "charges = ( { meter = \"m\"; model = \"per_unit\"; prices = \"1\"; } ); } );\n",
		   "key 'plans.[0].charges.[0].prices': unknown key", "price", NULL);
	fails_with("plans = ();\ndiscounts = ();\n", ":2: key 'discounts': unknown key", NULL);
}

static void tiers_checked(void **state)
{
	fails_with(PLAN_HEAD "charges = ( { meter = \"m\"; model = \"graduated\"; tiers = (\n"
			     "{ up_to = \"100\"; price = \"1\"; },\n{ up_to = \"100\"; price = \"1\"; },\n"
			     "{ price = \"1\"; } ); } ); } );\n",
		   ":4: key 'plans.[0].charges.[0].tiers.[1].up_to'", "strictly increasing", NULL);
	fails_with(PLAN_HEAD "charges = ( { meter = \"m\"; model = \"volume\"; tiers = (\n"
			     "{ up_to = \"100\"; price = \"1\"; } ); } ); } );\n",
		   "tiers.[0].up_to'", "the last tier must have no 'up_to'", NULL);
	fails_with(PLAN_HEAD "charges = ( { meter = \"m\"; model = \"volume\"; tiers = (\n"
			     "{ price = \"1\"; }, { price = \"2\"; } ); } ); } );\n",
		   "tiers.[0]'", "'up_to' is missing", NULL);
	fails_with(PLAN_HEAD "charges = ( { meter = \"m\"; model = \"graduated\"; tiers = (\n"
			     "{ up_to = \"0\"; price = \"1\"; }, { price = \"2\"; } ); } ); } );\n",
		   "up_to'", "greater than zero", NULL);
	fails_with(PLAN_HEAD "charges = ( { meter = \"m\"; model = \"graduated\"; } ); } );\n",
		   "a graduated charge needs 'tiers'", NULL);
}

static void models_checked(void **state)
{
	fails_with(PLAN_HEAD "charges = ( { meter = \"m\"; model = \"tiered\"; } ); } );\n",
		   "model'", "unknown charge model 'tiered'", "graduated", NULL);
	fails_with(PLAN_HEAD "charges = ( { meter = \"m\"; model = \"recurring\"; amount = \"1\"; } ); } );\n",
		   "a recurring charge takes no 'meter'", NULL);
	fails_with(PLAN_HEAD "charges = ( { model = \"per_unit\"; price = \"1\"; } ); } );\n",
		   "'meter' is missing", NULL);
	fails_with(PLAN_HEAD "charges = ( { meter = \"m\"; model = \"package\"; price = \"1\"; package_size = \"0\"; } ); } );\n",
		   "package_size'", "greater than zero", NULL);
	fails_with(PLAN_HEAD "charges = ( { meter = \"m\"; model = \"per_unit\"; price = \"-1\"; } ); } );\n",
		   "must not be negative", NULL);
	fails_with(PLAN_HEAD "charges = ( { model = \"minimum\"; amount = \"1\"; },\n"
			     "{ id = \"m2\"; model = \"minimum\"; amount = \"2\"; } ); } );\n",
		   ":3:", "already has a minimum commitment", NULL);
	fails_with(PLAN_HEAD "charges = ( { model = \"recurring\"; amount = \"1\"; },\n"
			     "{ model = \"recurring\"; amount = \"2\"; } ); } );\n",
		   ":3:", "charge id 'recurring' appears twice", NULL);
	fails_with(PLAN_HEAD "charges = ( { meter = \"m\"; model = \"per_unit\"; price = \"1\"; prorate = false; } ); } );\n",
		   "only recurring and minimum charges are prorated", NULL);
}

static void currencies_and_dates_checked(void **state)
{
	fails_with("plans = ( { id = \"p\"; currency = \"ABC\"; effective_from = \"2026-01-01\"; charges = (); } );\n",
		   "key 'plans.[0].currency'", "'ABC' is not an ISO 4217 currency code", "currencies", NULL);
	fails_with("plans = ( { id = \"p\"; currency = \"euro\"; effective_from = \"2026-01-01\"; charges = (); } );\n",
		   "not a three-letter currency code", NULL);
	fails_with("plans = ( { id = \"p\"; currency = \"EUR\"; effective_from = \"2026-02-30\"; charges = (); } );\n",
		   "key 'plans.[0].effective_from'", "'2026-02-30' is not a date", NULL);
	fails_with("plans = (\n{ id = \"p\"; currency = \"EUR\"; effective_from = \"2026-01-01\"; charges = (); },\n"
		   "{ id = \"p\"; currency = \"EUR\"; effective_from = \"2026-01-01\"; charges = (); } );\n",
		   ":3: key 'plans.[1]'", "two versions effective from 2026-01-01", NULL);
	fails_with("currencies = ( { code = \"XBT\"; exponent = 19; } );\nplans = ();\n",
		   "key 'currencies.[0].exponent'", "0 to 18", NULL);
	/* A declared currency is accepted. */
	struct rate_card card;
	struct err e;
	assert_int_equal(rates_load_text(&card,
					 "currencies = ( { code = \"XBT\"; exponent = 8; } );\n"
					 "plans = ( { id = \"p\"; currency = \"XBT\"; effective_from = \"2026-01-01\";"
					 " charges = (); } );\n",
					 "t", &e),
			 0);
	assert_int_equal(rates_currency_exponent(&card, "XBT"), 8);
	rates_release(&card);
}

static void taxes_checked(void **state)
{
	fails_with("plans = ();\ntaxes = ( { jurisdiction = \"DE\"; rate = \"19\"; effective_from = \"2020-01-01\"; } );\n",
		   ":2: key 'taxes.[0].rate'", "fraction", NULL);
	fails_with("plans = ();\ntaxes = ( { jurisdiction = \"DE\"; rate = \"0.19\"; effective_from = \"2020-01-01\"; },\n"
		   "{ jurisdiction = \"DE\"; rate = \"0.16\"; effective_from = \"2020-01-01\"; } );\n",
		   ":3:", "two rates effective from 2020-01-01", NULL);
}

static void meters_checked(void **state)
{
	fails_with("meters = ( { name = \"calls\"; aggregation = \"sum\"; } );\n" PLAN_HEAD
		   "charges = ( { meter = \"sms\"; model = \"per_unit\"; price = \"1\"; } ); } );\n",
		   "key 'plans.[0].charges.[0].meter'", "meter 'sms' is not declared in 'meters'", NULL);
}

/* The customer's words: a charge's label before its meter's, the meter's
 * unit, none at all (the invoice falls back to the names); show_zero from
 * the plan unless the charge says otherwise. */
static void words_for_the_invoice(void **state)
{
	static const char text[] =
		"meters = ( { name = \"calls\"; aggregation = \"sum\"; unit = \"calls\"; label = \"API calls\"; },\n"
		"           { name = \"gb\"; aggregation = \"max\"; } );\n"
		"plans = ( { id = \"p\"; currency = \"EUR\"; effective_from = \"2026-01-01\"; show_zero = true;\n"
		"  charges = ( { id = \"fee\"; model = \"recurring\"; amount = \"5.00\"; label = \"Monthly fee\"; },\n"
		"              { meter = \"calls\"; model = \"per_unit\"; price = \"0.01\"; },\n"
		"              { id = \"c2\"; meter = \"calls\"; model = \"per_unit\"; price = \"0.01\"; label = \"Requests\";\n"
		"                unit = \"requests\"; show_zero = false; },\n"
		"              { meter = \"gb\"; model = \"per_unit\"; price = \"1\"; } ); },\n"
		"  { id = \"q\"; currency = \"EUR\"; effective_from = \"2026-01-01\";\n"
		"    charges = ( { meter = \"gb\"; model = \"per_unit\"; price = \"1\"; } ); } );\n";
	struct rate_card card;
	struct err e;
	err_clear(&e);
	assert_int_equal(rates_load_text(&card, text, "version 3", &e), 0);
	const struct rate_plan *p = rates_plan_at(&card, "p", "2026-03-01");
	assert_string_equal(p->charges[0].label, "Monthly fee");
	assert_string_equal(p->charges[0].unit, "");
	assert_string_equal(p->charges[1].label, "API calls");
	assert_string_equal(p->charges[1].unit, "calls");
	assert_int_equal(p->charges[1].show_zero, 1);
	assert_string_equal(p->charges[2].label, "Requests");
	assert_string_equal(p->charges[2].unit, "requests");
	assert_int_equal(p->charges[2].show_zero, 0);
	assert_string_equal(p->charges[3].label, "");
	assert_string_equal(p->charges[3].unit, "");
	assert_int_equal(rates_plan_at(&card, "q", "2026-03-01")->charges[0].show_zero, 0);
	rates_release(&card);

	/* The example card labels its charges. */
	err_clear(&e);
	assert_int_equal(rates_load_file(&card, test_src("conf/rates.conf"), &e), 0);
	p = rates_plan_at(&card, "pro", "2026-03-01");
	assert_string_equal(p->charges[1].label, "Voice calls");
	assert_string_equal(p->charges[1].unit, "s");
	rates_release(&card);
}

/* A label or unit of the wrong type, or words where they mean nothing,
 * name the file, the line and the key. */
static void words_checked(void **state)
{
	fails_with(PLAN_HEAD "charges = ( { model = \"recurring\"; amount = \"1\";\n label = 7; } ); } );\n",
		   "rates.conf:3: key 'plans.[0].charges.[0].label': must be a string", NULL);
	fails_with("meters = ( { name = \"calls\"; aggregation = \"sum\";\n label = [\"x\"]; } );\n" PLAN_HEAD
		   "charges = ( { meter = \"calls\"; model = \"per_unit\"; price = \"1\"; } ); } );\n",
		   "rates.conf:2: key 'meters.[0].label': must be a string", NULL);
	fails_with("meters = ( { name = \"calls\"; aggregation = \"sum\";\n unit = 60; } );\n" PLAN_HEAD
		   "charges = ( { meter = \"calls\"; model = \"per_unit\"; price = \"1\"; } ); } );\n",
		   "rates.conf:2: key 'meters.[0].unit': must be a string", NULL);
	fails_with(PLAN_HEAD "charges = ( { model = \"recurring\"; amount = \"1\"; unit = \"months\"; } ); } );\n",
		   "key 'plans.[0].charges.[0].unit'", "a recurring charge takes no 'unit'", NULL);
	fails_with(PLAN_HEAD "show_zero = \"yes\"; charges = ( { model = \"recurring\"; amount = \"1\"; } ); } );\n",
		   "key 'plans.[0].show_zero'", "must be true or false", NULL);
}

static void file_level_errors(void **state)
{
	fails_with("plans = ( { id = \"p\" } \n", "syntax error", NULL);
	fails_with("@include \"other.conf\"\nplans = ();\n", ":1: @include is not allowed", NULL);
	fails_with("taxes = ();\n", "'plans' is missing", NULL);
	fails_with("plans = { };\n", "key 'plans'", "must be a list", NULL);

	struct rate_card card;
	struct err e;
	err_clear(&e);
	assert_int_equal(rates_load_file(&card, "/nonexistent/rates.conf", &e), -1);
	assert_int_equal(e.kind, ERR_IO);
	assert_non_null(strstr(e.hint, "rules.file"));
}

static void dates(void **state)
{
	assert_true(rates_date_valid("2024-02-29"));
	assert_false(rates_date_valid("2026-02-29"));
	assert_true(rates_date_valid("2000-02-29"));
	assert_false(rates_date_valid("1900-02-29"));
	assert_false(rates_date_valid("2026-13-01"));
	assert_false(rates_date_valid("2026-1-01"));
	assert_false(rates_date_valid("2026-04-31"));
	assert_true(rates_date_valid("2026-12-31"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(example_card_loads),
		cmocka_unit_test(effective_dates),
		cmocka_unit_test(text_errors_name_the_version),
		cmocka_unit_test(float_price_refused),
		cmocka_unit_test(not_a_decimal),
		cmocka_unit_test(unknown_keys),
		cmocka_unit_test(tiers_checked),
		cmocka_unit_test(models_checked),
		cmocka_unit_test(currencies_and_dates_checked),
		cmocka_unit_test(taxes_checked),
		cmocka_unit_test(meters_checked),
		cmocka_unit_test(words_for_the_invoice),
		cmocka_unit_test(words_checked),
		cmocka_unit_test(file_level_errors),
		cmocka_unit_test(dates),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
