/*
 * test_charge.c - the charge models and the line arithmetic (jobs/charge.c)
 * against amounts worked out by hand in the comments. Values are written
 * and compared as decimal text: no expected amount is ever computed in
 * binary floating point.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "charge.h"

static struct dec num_at(const char *s, const char *file, int line)
{
	struct dec d = { 0, 0 };
	_assert_int_equal(dec_parse_cstr(&d, s), 0, file, line);
	return d;
}
#define N(s) num_at((s), __FILE__, __LINE__)

/* Compare by value (1.50 == 1.5), showing both as text on failure. */
static void equal_at(struct dec got, const char *want, const char *file, int line)
{
	char g[DEC_STR_MAX];
	dec_format(dec_normalize(got), g, sizeof(g));
	struct dec w = num_at(want, file, line);
	if (dec_cmp(got, w) != 0) {
		char ws[DEC_STR_MAX];
		dec_format(dec_normalize(w), ws, sizeof(ws));
		_assert_string_equal(g, ws, file, line);
	}
}
#define assert_dec(got, want) equal_at((got), (want), __FILE__, __LINE__)

static struct charge_def tiered(enum charge_model m)
{
	/* Up to 1000 units at 0.01, up to 5000 at 0.008, the rest at 0.005. */
	struct charge_def c;
	memset(&c, 0, sizeof(c));
	c.model = m;
	c.ntiers = 3;
	c.tiers[0].up_to = N("1000");
	c.tiers[0].price = N("0.01");
	c.tiers[1].up_to = N("5000");
	c.tiers[1].price = N("0.008");
	c.tiers[2].unbounded = 1;
	c.tiers[2].price = N("0.005");
	return c;
}

/* Round a charge's exact amount as a line in EUR (2 decimals, half up). */
static struct dec line_eur(struct dec amount)
{
	struct charge_fraction f = { amount, dec_from_int(1) };
	struct dec r = dec_zero();
	assert_int_equal(charge_line_round(&f, 2, DEC_ROUND_HALF_UP, &r, NULL), 0);
	return r;
}

/* ---- one worked example per model ---- */

static void per_unit(void **state)
{
	/* 1234.5 GB at 0.023 USD/GB:
	 *   1234.5 x 0.023 = 28.3935 -> 28.39 (the third decimal 3 rounds down). */
	struct charge_def c = { .model = CHARGE_PER_UNIT, .price = N("0.023") };
	struct charge_result r;
	assert_int_equal(charge_usage(&c, N("1234.5"), &r), 0);
	assert_dec(r.amount, "28.3935");
	assert_dec(line_eur(r.amount), "28.39");
	assert_int_equal(r.nsteps, 1);
	assert_dec(r.steps[0].units, "1234.5");
}

static void graduated(void **state)
{
	/* 6200 units through the tiers:
	 *   tier 1: 1000 units x 0.01  = 10.00
	 *   tier 2: 4000 units x 0.008 = 32.00   (1001 .. 5000)
	 *   tier 3: 1200 units x 0.005 =  6.00   (5001 .. 6200)
	 *   total                         48.00 */
	struct charge_def c = tiered(CHARGE_GRADUATED);
	struct charge_result r;
	assert_int_equal(charge_usage(&c, N("6200"), &r), 0);
	assert_int_equal(r.nsteps, 3);
	assert_dec(r.steps[0].amount, "10.00");
	assert_dec(r.steps[1].units, "4000");
	assert_dec(r.steps[1].amount, "32.00");
	assert_dec(r.steps[2].units, "1200");
	assert_dec(r.steps[2].amount, "6.00");
	assert_dec(r.amount, "48.00");
}

static void graduated_flat_fees(void **state)
{
	/* Tier 1 has a flat 5.00 fee, tier 2 a flat 2.00 fee. 1500 units:
	 *   tier 1: 1000 x 0.01 + 5.00 = 15.00
	 *   tier 2:  500 x 0.008 + 2.00 = 6.00
	 *   total 21.00; and 0 units charge nothing (no tier is reached). */
	struct charge_def c = tiered(CHARGE_GRADUATED);
	c.tiers[0].flat = N("5.00");
	c.tiers[1].flat = N("2.00");
	struct charge_result r;
	assert_int_equal(charge_usage(&c, N("1500"), &r), 0);
	assert_dec(r.amount, "21.00");
	assert_int_equal(charge_usage(&c, N("0"), &r), 0);
	assert_dec(r.amount, "0");
	assert_int_equal(r.nsteps, 0);
}

static void volume(void **state)
{
	/* 6200 units fall in tier 3, so every unit costs 0.005:
	 *   6200 x 0.005 = 31.00.
	 * 3000 units fall in tier 2: 3000 x 0.008 = 24.00. */
	struct charge_def c = tiered(CHARGE_VOLUME);
	struct charge_result r;
	assert_int_equal(charge_usage(&c, N("6200"), &r), 0);
	assert_dec(r.amount, "31.00");
	assert_int_equal(r.steps[0].tier, 3);
	assert_int_equal(charge_usage(&c, N("3000"), &r), 0);
	assert_dec(r.amount, "24.00");
	assert_int_equal(r.steps[0].tier, 2);
}

static void package(void **state)
{
	/* SMS in packages of 100 at 5.00 each; 250 messages need 3 packages:
	 *   ceil(250 / 100) = 3, 3 x 5.00 = 15.00. */
	struct charge_def c = { .model = CHARGE_PACKAGE, .price = N("5.00"), .package_size = N("100") };
	struct charge_result r;
	assert_int_equal(charge_usage(&c, N("250"), &r), 0);
	assert_dec(r.packages, "3");
	assert_dec(r.amount, "15.00");
	assert_int_equal(charge_usage(&c, N("0"), &r), 0);
	assert_dec(r.amount, "0");
}

static void recurring_prorated(void **state)
{
	/* 29.00 a month, subscribed from 16 January (a 31-day month, no DST):
	 *   16 days of 31 = 1382400 s of 2678400 s
	 *   29.00 x 1382400 / 2678400 = 14.96774193548... -> 14.97 */
	struct charge_fraction f;
	struct dec rounded, unrounded;
	assert_int_equal(charge_prorate(&f, N("29.00"), N("1382400"), N("2678400")), 0);
	assert_int_equal(charge_line_round(&f, 2, DEC_ROUND_HALF_UP, &rounded, &unrounded), 0);
	assert_dec(rounded, "14.97");
	assert_dec(unrounded, "14.96774193548387096774");
}

static void recurring_prorated_across_dst(void **state)
{
	/* Europe/Berlin, March 2026: clocks go forward on 29 March, so the
	 * period 1 March 00:00 CET .. 1 April 00:00 CEST lasts 743 hours
	 * (2674800 s), not 744. The account moves from "basic" (29.00) to
	 * "pro" (49.00) at local midnight on 16 March:
	 *   basic: 1 .. 16 March  = 15 x 24 h      = 360 h = 1296000 s
	 *   pro:   16 March .. 1 April = 16 x 24 h - 1 h = 383 h = 1378800 s
	 *   basic 29.00 x 360 / 743 = 14.05114401076... -> 14.05
	 *   pro   49.00 x 383 / 743 = 25.25841184387... -> 25.26
	 * (Counting days, 15/31 and 16/31, would give 14.03 and 25.29.) */
	struct charge_fraction f;
	struct dec r;
	assert_int_equal(charge_prorate(&f, N("29.00"), N("1296000"), N("2674800")), 0);
	assert_int_equal(charge_line_round(&f, 2, DEC_ROUND_HALF_UP, &r, NULL), 0);
	assert_dec(r, "14.05");
	assert_int_equal(charge_prorate(&f, N("49.00"), N("1378800"), N("2674800")), 0);
	assert_int_equal(charge_line_round(&f, 2, DEC_ROUND_HALF_UP, &r, NULL), 0);
	assert_dec(r, "25.26");
}

static void free_units(void **state)
{
	/* 100 free units, then 0.10 each. 250 units: 150 billable x 0.10 = 15.00.
	 * 80 units: all free, 0.00. Free units come off before the tiers:
	 * graduated with 500 free and 1500 used prices 1000 units = 10.00. */
	struct charge_def c = { .model = CHARGE_PER_UNIT, .price = N("0.10"), .free_units = N("100") };
	struct charge_result r;
	assert_int_equal(charge_usage(&c, N("250"), &r), 0);
	assert_dec(r.free, "100");
	assert_dec(r.billable, "150");
	assert_dec(r.amount, "15.00");
	assert_int_equal(charge_usage(&c, N("80"), &r), 0);
	assert_dec(r.free, "80");
	assert_dec(r.amount, "0");
	struct charge_def g = tiered(CHARGE_GRADUATED);
	g.free_units = N("500");
	assert_int_equal(charge_usage(&g, N("1500"), &r), 0);
	assert_dec(r.billable, "1000");
	assert_dec(r.amount, "10.00");
}

static void minimum_true_up(void **state)
{
	/* A 100.00 minimum commitment; the usage lines came to 63.37:
	 *   true-up = 100.00 - 63.37 = 36.63.
	 * Prorated for a customer who joined half way (1339200 of 2678400 s):
	 *   100.00 x 1339200 / 2678400 = 50.00; usage 12.34 -> 37.66. */
	struct charge_fraction f = { N("100.00"), dec_from_int(1) };
	struct dec r;
	assert_int_equal(charge_subtract(&f, N("63.37")), 0);
	assert_int_equal(charge_line_round(&f, 2, DEC_ROUND_HALF_UP, &r, NULL), 0);
	assert_dec(r, "36.63");
	assert_int_equal(charge_prorate(&f, N("100.00"), N("1339200"), N("2678400")), 0);
	assert_int_equal(charge_subtract(&f, N("12.34")), 0);
	assert_int_equal(charge_line_round(&f, 2, DEC_ROUND_HALF_UP, &r, NULL), 0);
	assert_dec(r, "37.66");
}

static void fx_conversion(void **state)
{
	/* 100.00 USD into EUR at 1 USD = 0.9234 EUR: 92.34 EUR.
	 * 10.00 USD into EUR when only 1 EUR = 1.0829 USD is quoted:
	 *   10.00 / 1.0829 = 9.23446301597... -> 9.23, rounded once from
	 *   the exact quotient. */
	struct charge_fraction f = { N("100.00"), dec_from_int(1) };
	struct dec r, u;
	assert_int_equal(charge_convert(&f, N("0.9234"), 0), 0);
	assert_int_equal(charge_line_round(&f, 2, DEC_ROUND_HALF_UP, &r, NULL), 0);
	assert_dec(r, "92.34");
	struct charge_fraction g = { N("10.00"), dec_from_int(1) };
	assert_int_equal(charge_convert(&g, N("1.0829"), 1), 0);
	assert_int_equal(charge_line_round(&g, 2, DEC_ROUND_HALF_UP, &r, &u), 0);
	assert_dec(r, "9.23");
	assert_dec(u, "9.23446301597562101764");
	assert_int_equal(charge_convert(&g, N("0"), 0), -1);
}

static void tax(void **state)
{
	/* 19 % VAT on a base of 48.00: 48.00 x 0.19 = 9.12.
	 * 7 % on 14.99: 1.0493 -> 1.05. */
	struct charge_fraction f;
	struct dec r;
	assert_int_equal(charge_prorate(&f, N("48.00"), N("0.19"), dec_from_int(1)), 0);
	assert_int_equal(charge_line_round(&f, 2, DEC_ROUND_HALF_UP, &r, NULL), 0);
	assert_dec(r, "9.12");
	assert_int_equal(charge_prorate(&f, N("14.99"), N("0.07"), dec_from_int(1)), 0);
	assert_int_equal(charge_line_round(&f, 2, DEC_ROUND_HALF_UP, &r, NULL), 0);
	assert_dec(r, "1.05");
}

static void rounding_modes_and_exponents(void **state)
{
	/* 0.125 EUR: half up 0.13, half even 0.12, down 0.12.
	 * 1234.5 JPY (exponent 0): 1235. 1.23456 KWD (exponent 3): 1.235. */
	struct charge_fraction f = { N("0.125"), dec_from_int(1) };
	struct dec r;
	assert_int_equal(charge_line_round(&f, 2, DEC_ROUND_HALF_UP, &r, NULL), 0);
	assert_dec(r, "0.13");
	assert_int_equal(charge_line_round(&f, 2, DEC_ROUND_HALF_EVEN, &r, NULL), 0);
	assert_dec(r, "0.12");
	assert_int_equal(charge_line_round(&f, 2, DEC_ROUND_DOWN, &r, NULL), 0);
	assert_dec(r, "0.12");
	f.num = N("1234.5");
	assert_int_equal(charge_line_round(&f, currency_iso_exponent("JPY"), DEC_ROUND_HALF_UP, &r, NULL), 0);
	assert_dec(r, "1235");
	f.num = N("1.23456");
	assert_int_equal(charge_line_round(&f, currency_iso_exponent("KWD"), DEC_ROUND_HALF_UP, &r, NULL), 0);
	assert_dec(r, "1.235");
}

static void currency_table(void **state)
{
	assert_int_equal(currency_iso_exponent("EUR"), 2);
	assert_int_equal(currency_iso_exponent("USD"), 2);
	assert_int_equal(currency_iso_exponent("JPY"), 0);
	assert_int_equal(currency_iso_exponent("KRW"), 0);
	assert_int_equal(currency_iso_exponent("KWD"), 3);
	assert_int_equal(currency_iso_exponent("BHD"), 3);
	assert_int_equal(currency_iso_exponent("CLF"), 4);
	assert_int_equal(currency_iso_exponent("AED"), 2); /* first in the table */
	assert_int_equal(currency_iso_exponent("ZWL"), 2); /* last */
	assert_int_equal(currency_iso_exponent("XAU"), -1); /* no minor unit */
	assert_int_equal(currency_iso_exponent("EURO"), -1);
	assert_int_equal(currency_iso_exponent("eur"), -1);
	assert_int_equal(currency_iso_exponent(""), -1);
}

/* ---- tier boundaries: exactly at, one unit below, one unit above ---- */

static void tier_boundaries(void **state)
{
	static const struct {
		const char *quantity, *graduated, *volume;
	} rows[] = {
		/* quantity   graduated: sum over tiers         volume: all units at one tier */
		{ "0", "0", "0" },
		{ "1", "0.01", "0.01" },
		{ "999", "9.99", "9.99" },          /* 999 x 0.01 */
		{ "1000", "10.00", "10.00" },       /* 1000 is still tier 1 (up_to is inclusive) */
		{ "1000.000001", "10.000000008", "8.000000008" }, /* 10 + 0.000001 x 0.008 | 1000.000001 x 0.008 */
		{ "1001", "10.008", "8.008" },      /* 10 + 1 x 0.008 | 1001 x 0.008 */
		{ "4999", "41.992", "39.992" },     /* 10 + 3999 x 0.008 | 4999 x 0.008 */
		{ "5000", "42.00", "40.00" },       /* 10 + 4000 x 0.008 | 5000 x 0.008 */
		{ "5001", "42.005", "25.005" },     /* 42 + 1 x 0.005 | 5001 x 0.005 */
	};
	struct charge_def g = tiered(CHARGE_GRADUATED), v = tiered(CHARGE_VOLUME);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct charge_result r;
		assert_int_equal(charge_usage(&g, N(rows[i].quantity), &r), 0);
		assert_dec(r.amount, rows[i].graduated);
		assert_int_equal(charge_usage(&v, N(rows[i].quantity), &r), 0);
		assert_dec(r.amount, rows[i].volume);
	}
}

static void package_boundaries(void **state)
{
	static const struct {
		const char *quantity, *packages;
	} rows[] = {
		{ "1", "1" }, { "99", "1" }, { "100", "1" }, { "100.5", "2" }, { "101", "2" }, { "199", "2" },
		{ "200", "2" }, { "201", "3" },
	};
	struct charge_def c = { .model = CHARGE_PACKAGE, .price = N("5.00"), .package_size = N("100") };
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct charge_result r;
		assert_int_equal(charge_usage(&c, N(rows[i].quantity), &r), 0);
		assert_dec(r.packages, rows[i].packages);
	}
}

static void free_unit_boundaries(void **state)
{
	/* 100 free units: 99 and 100 cost nothing, 101 costs one unit. */
	struct charge_def c = { .model = CHARGE_PER_UNIT, .price = N("0.10"), .free_units = N("100") };
	struct charge_result r;
	assert_int_equal(charge_usage(&c, N("99"), &r), 0);
	assert_dec(r.amount, "0");
	assert_int_equal(charge_usage(&c, N("100"), &r), 0);
	assert_dec(r.amount, "0");
	assert_int_equal(charge_usage(&c, N("101"), &r), 0);
	assert_dec(r.amount, "0.10");
}

static void credits(void **state)
{
	/* A credit of -300 units is priced linearly, without free units:
	 *   per unit at 0.10: -30.00; graduated at the first tier's 0.01: -3.00;
	 *   packages of 100 at 5.00: -3 packages, -15.00. */
	struct charge_def c = { .model = CHARGE_PER_UNIT, .price = N("0.10"), .free_units = N("100") };
	struct charge_result r;
	assert_int_equal(charge_usage(&c, N("-300"), &r), 0);
	assert_dec(r.amount, "-30.00");
	struct charge_def g = tiered(CHARGE_GRADUATED);
	assert_int_equal(charge_usage(&g, N("-300"), &r), 0);
	assert_dec(r.amount, "-3.00");
	struct charge_def p = { .model = CHARGE_PACKAGE, .price = N("5.00"), .package_size = N("100") };
	assert_int_equal(charge_usage(&p, N("-250"), &r), 0);
	assert_dec(r.amount, "-15.00");
}

static void exactness(void **state)
{
	/* CGRateS billed 0.174 for a call that should cost 0.18: 1 min at
	 * 0.18/min in 60 one-second increments of 0.003 each. In exact
	 * decimals 60 x 0.003 = 0.180, never 0.17999999. */
	struct charge_def c = { .model = CHARGE_PER_UNIT, .price = N("0.003") };
	struct charge_result r;
	assert_int_equal(charge_usage(&c, N("60"), &r), 0);
	assert_dec(r.amount, "0.18");
	/* FOCUS carries 11 decimals: 0.00000000001 x 3 = 0.00000000003. */
	c.price = N("0.00000000001");
	assert_int_equal(charge_usage(&c, N("3"), &r), 0);
	assert_dec(r.amount, "0.00000000003");
}

static void model_names(void **state)
{
	enum charge_model m;
	assert_int_equal(charge_model_parse("graduated", &m), 0);
	assert_int_equal(m, CHARGE_GRADUATED);
	assert_string_equal(charge_model_name(CHARGE_PACKAGE), "package");
	assert_int_equal(charge_model_parse("tiered", &m), -1);
	assert_true(charge_model_is_usage(CHARGE_VOLUME));
	assert_false(charge_model_is_usage(CHARGE_RECURRING));
	struct charge_def rec = { .model = CHARGE_RECURRING, .amount = N("1") };
	struct charge_result r;
	assert_int_equal(charge_usage(&rec, N("1"), &r), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(per_unit),
		cmocka_unit_test(graduated),
		cmocka_unit_test(graduated_flat_fees),
		cmocka_unit_test(volume),
		cmocka_unit_test(package),
		cmocka_unit_test(recurring_prorated),
		cmocka_unit_test(recurring_prorated_across_dst),
		cmocka_unit_test(free_units),
		cmocka_unit_test(minimum_true_up),
		cmocka_unit_test(fx_conversion),
		cmocka_unit_test(tax),
		cmocka_unit_test(rounding_modes_and_exponents),
		cmocka_unit_test(currency_table),
		cmocka_unit_test(tier_boundaries),
		cmocka_unit_test(package_boundaries),
		cmocka_unit_test(free_unit_boundaries),
		cmocka_unit_test(credits),
		cmocka_unit_test(exactness),
		cmocka_unit_test(model_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
