/*
 * test_dec.c - unit tests for the exact decimal module (core/dec.c).
 * Expected values are written as decimal text and compared as text, so no
 * test ever computes an expected amount in binary floating point.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dec.h"

#define NINES_38 "99999999999999999999999999999999999999"

/* ---- helpers that report the caller's line ---- */

static struct dec parse_at(const char *s, const char *file, int line)
{
	struct dec d = { 0, 0 };
	_assert_int_equal(dec_parse_cstr(&d, s), 0, file, line);
	return d;
}

static void text_at(struct dec d, const char *want, const char *file, int line)
{
	char buf[DEC_STR_MAX];
	int len = dec_format(d, buf, sizeof buf);
	_assert_string_equal(buf, want, file, line);
	_assert_int_equal(len, strlen(want), file, line);
}

/* want == NULL: the operation must fail with -1. */
static void result_at(int rc, struct dec d, const char *want, const char *file, int line)
{
	if (!want) {
		_assert_int_equal(rc, -1, file, line);
		return;
	}
	_assert_int_equal(rc, 0, file, line);
	text_at(d, want, file, line);
}

#define N(s) parse_at((s), __FILE__, __LINE__)
#define assert_text(d, want) text_at((d), (want), __FILE__, __LINE__)
#define assert_parse(s, want) assert_text(N(s), (want))
#define assert_parse_fails(s) assert_int_equal(dec_parse_cstr(&(struct dec){ 0, 0 }, (s)), -1)

#define OP2(fn, a, b, want) do { \
	struct dec r_ = { 0, 0 }; \
	int rc_ = fn(&r_, N(a), N(b)); \
	result_at(rc_, r_, (want), __FILE__, __LINE__); \
} while (0)
#define assert_add(a, b, want) OP2(dec_add, a, b, want)
#define assert_sub(a, b, want) OP2(dec_sub, a, b, want)
#define assert_mul(a, b, want) OP2(dec_mul, a, b, want)

#define assert_div(a, b, scale, mode, want) do { \
	struct dec r_ = { 0, 0 }; \
	int rc_ = dec_div(&r_, N(a), N(b), (scale), (mode)); \
	result_at(rc_, r_, (want), __FILE__, __LINE__); \
} while (0)
#define assert_mul_round(a, b, scale, mode, want) do { \
	struct dec r_ = { 0, 0 }; \
	int rc_ = dec_mul_round(&r_, N(a), N(b), (scale), (mode)); \
	result_at(rc_, r_, (want), __FILE__, __LINE__); \
} while (0)
#define assert_round(a, scale, mode, want) do { \
	struct dec r_ = { 0, 0 }; \
	int rc_ = dec_round(&r_, N(a), (scale), (mode)); \
	result_at(rc_, r_, (want), __FILE__, __LINE__); \
} while (0)

#define HALF_UP DEC_ROUND_HALF_UP
#define HALF_EVEN DEC_ROUND_HALF_EVEN
#define UP DEC_ROUND_UP
#define DOWN DEC_ROUND_DOWN
#define CEILING DEC_ROUND_CEILING
#define FLOOR DEC_ROUND_FLOOR

/* ---- parsing ---- */

static void test_parse_integers_and_signs(void **state)
{
	assert_parse("0", "0");
	assert_parse("42", "42");
	assert_parse("+42", "42");
	assert_parse("-42", "-42");
	assert_parse("007", "7");
}

static void test_parse_keeps_trailing_zeros_in_scale(void **state)
{
	struct dec d = N("1.50");
	assert_true(d.coef == 150);
	assert_int_equal(d.scale, 2);
	assert_parse("2.000", "2.000");
	assert_parse("0.0", "0.0");
}

static void test_parse_point_without_digits_on_one_side(void **state)
{
	assert_parse(".5", "0.5");
	assert_parse("-.25", "-0.25");
	assert_parse("5.", "5");
}

static void test_parse_negative_zero_is_zero(void **state)
{
	struct dec d = N("-0.00");
	assert_true(d.coef == 0);
	assert_int_equal(d.scale, 2);
	assert_text(d, "0.00");
}

static void test_parse_exponent_negative_raises_scale(void **state)
{
	struct dec d = N("1.5E-7");
	assert_true(d.coef == 15);
	assert_int_equal(d.scale, 8);
	assert_text(d, "0.00000015");
	assert_parse("2e-4", "0.0002");
	assert_parse("-3.25e-2", "-0.0325");
}

static void test_parse_exponent_positive_lowers_scale(void **state)
{
	assert_parse("1.234e2", "123.4");
	assert_parse("1.50E+1", "15.0");
	assert_parse("1.5E+3", "1500");
	assert_parse("7e0", "7");
	assert_parse("-2E5", "-200000");
}

static void test_parse_exponent_on_zero(void **state)
{
	assert_parse("0e50", "0");
	assert_parse("0.00e1", "0.0");
	assert_parse("0E-3", "0.000");
}

static void test_parse_leading_zeros_are_not_significant(void **state)
{
	/* 50 leading zeros and then 38 significant digits still fit. */
	assert_parse("00000000000000000000000000000000000000000000000000" NINES_38, NINES_38);
	assert_parse("0.000000000000000000000000000001", "0.000000000000000000000000000001");
	assert_parse("-0.0000000012345678901234567890", "-0.0000000012345678901234567890");
}

static void test_parse_accepts_38_significant_digits(void **state)
{
	assert_parse(NINES_38, NINES_38);
	assert_parse("-" NINES_38, "-" NINES_38);
	assert_parse("12345678.901234567890123456789012345678", "12345678.901234567890123456789012345678");
	assert_parse("1e37", "10000000000000000000000000000000000000");
}

static void test_parse_rejects_39_significant_digits(void **state)
{
	assert_parse_fails("1" NINES_38);
	assert_parse_fails("0.1" NINES_38);
	assert_parse_fails(NINES_38 "0");       /* trailing zeros count too */
	assert_parse_fails("9999999999999999999.00000000000000000000"); /* kept in the scale */
	assert_parse_fails("1e38");             /* 39 digits once the exponent is applied */
	assert_parse_fails("12.5e37");
}

static void test_parse_rejects_scale_past_max(void **state)
{
	assert_parse_fails("0.0000000000000000000000000000001"); /* 31 fractional digits */
	assert_parse_fails("1e-31");
	assert_parse_fails("1.5e-30");
	assert_parse("1e-30", "0.000000000000000000000000000001");
}

static void test_parse_rejects_empty_and_lone_signs(void **state)
{
	assert_parse_fails("");
	assert_parse_fails(".");
	assert_parse_fails("-");
	assert_parse_fails("+");
	assert_parse_fails("-.");
	assert_parse_fails("+-1");
	assert_parse_fails("--1");
	assert_int_equal(dec_parse_cstr(&(struct dec){ 0, 0 }, NULL), -1);
}

static void test_parse_rejects_spaces(void **state)
{
	assert_parse_fails(" 1");
	assert_parse_fails("1 ");
	assert_parse_fails("1 000");
	assert_parse_fails("- 1");
	assert_parse_fails("1\t");
}

static void test_parse_rejects_nan_inf_and_hex(void **state)
{
	assert_parse_fails("NaN");
	assert_parse_fails("nan");
	assert_parse_fails("inf");
	assert_parse_fails("-Infinity");
	assert_parse_fails("0x1A");
	assert_parse_fails("1A");
}

static void test_parse_rejects_malformed_exponents_and_points(void **state)
{
	assert_parse_fails("1e");
	assert_parse_fails("1e+");
	assert_parse_fails("1E-");
	assert_parse_fails("e5");
	assert_parse_fails(".e5");
	assert_parse_fails("1e5.0");
	assert_parse_fails("1e5e5");
	assert_parse_fails("1.2.3");
	assert_parse_fails("1..2");
	assert_parse_fails("1e99999999999999999999999");
	assert_parse_fails("1,5");
}

static void test_parse_reads_only_len_bytes(void **state)
{
	struct dec d = { 0, 0 };
	assert_int_equal(dec_parse(&d, "12345", 3), 0);
	assert_text(d, "123");
	assert_int_equal(dec_parse(&d, "1.5;next", 3), 0);
	assert_text(d, "1.5");
	assert_int_equal(dec_parse(&d, "1.5", 0), -1);
}

/* ---- formatting ---- */

static void test_format_prints_exactly_scale_digits(void **state)
{
	struct dec d = { 150, 2 };
	assert_text(d, "1.50");
	d.scale = 5;
	assert_text(d, "0.00150");
	d.scale = 0;
	assert_text(d, "150");
}

static void test_format_leading_zero_below_one(void **state)
{
	assert_text(((struct dec){ 5, 2 }), "0.05");
	assert_text(((struct dec){ -5, 3 }), "-0.005");
	assert_text(((struct dec){ 1, DEC_MAX_SCALE }), "0.000000000000000000000000000001");
}

static void test_format_zero_never_has_a_sign(void **state)
{
	assert_text(dec_zero(), "0");
	assert_text(((struct dec){ 0, 3 }), "0.000");
	assert_text(dec_neg((struct dec){ 0, 2 }), "0.00");
}

static void test_format_extremes(void **state)
{
	struct dec max = N(NINES_38);
	assert_text(max, NINES_38);
	assert_text(dec_neg(max), "-" NINES_38);
	max.scale = DEC_MAX_SCALE;
	assert_text(dec_neg(max), "-99999999.999999999999999999999999999999");
	assert_text(dec_from_int(INT64_MIN), "-9223372036854775808");
	assert_text(dec_from_int(INT64_MAX), "9223372036854775807");
}

static void test_format_truncates_to_buffer_and_returns_full_length(void **state)
{
	char buf[5];
	assert_int_equal(dec_format(N("-123.456"), buf, sizeof buf), 8);
	assert_string_equal(buf, "-123");
	assert_int_equal(dec_format(N("1.5"), buf, 0), 3);
}

/* ---- add and sub ---- */

static void test_add_aligns_scales(void **state)
{
	assert_add("1.5", "2.25", "3.75");
	assert_add("1", "0.001", "1.001");
	assert_add("0.10", "0.2", "0.30");
}

static void test_add_carries_across_the_point(void **state)
{
	assert_add("0.99", "0.01", "1.00");
	assert_add("9999.999", "0.001", "10000.000");
	assert_add("0.000000000000000001", "0.999999999999999999", "1.000000000000000000");
}

static void test_add_mixed_signs(void **state)
{
	assert_add("-1.5", "0.25", "-1.25");
	assert_add("1.5", "-0.25", "1.25");
	assert_add("-1.5", "-0.25", "-1.75");
	assert_add("1", "-1.00", "0.00");
	assert_add("-0.000000000000000000001", "0.000000000000000000001", "0.000000000000000000000");
}

static void test_sub_borrows_and_changes_sign(void **state)
{
	assert_sub("0.1", "0.25", "-0.15");
	assert_sub("10.00", "0.01", "9.99");
	assert_sub("-1", "-1.5", "0.5");
	assert_sub("-1", "1.5", "-2.5");
	assert_sub("1000000000000000000.000000000000000001", "0.000000000000000002",
		   "999999999999999999.999999999999999999");
}

static void test_add_overflow_at_38_digits(void **state)
{
	assert_add(NINES_38, "0", NINES_38);
	assert_add(NINES_38, "1", NULL);
	assert_add("-" NINES_38, "-1", NULL);
	assert_add(NINES_38, "-" NINES_38, "0");
	/* 38 nines at scale 30 plus one unit of the last place. */
	assert_add("99999999.999999999999999999999999999999", "0.000000000000000000000000000001", NULL);
	assert_add("99999999.999999999999999999999999999998", "0.000000000000000000000000000001",
		   "99999999.999999999999999999999999999999");
}

static void test_sub_overflow_at_38_digits(void **state)
{
	assert_sub("-" NINES_38, "1", NULL);
	assert_sub(NINES_38, "-1", NULL);
	assert_sub("-" NINES_38, "-" NINES_38, "0");
}

static void test_add_when_aligning_overflows_128_bits(void **state)
{
	/* 1.8e37 at scale 1 is 1.8e38: past 2^127, yet the sum fits. */
	assert_add("18000000000000000000000000000000000000", "-9900000000000000000000000000000000000.0",
		   "8100000000000000000000000000000000000.0");
	assert_sub("-9900000000000000000000000000000000000.0", "-18000000000000000000000000000000000000",
		   "8100000000000000000000000000000000000.0");
	assert_add("18000000000000000000000000000000000000", "0.1", NULL);
	assert_sub("1e37", "0.000000000000000000000000000001", NULL);
}

static void test_add_rejects_invalid_scale(void **state)
{
	struct dec r, bad = { 1, DEC_MAX_SCALE + 1 };
	assert_int_equal(dec_add(&r, bad, N("1")), -1);
	assert_int_equal(dec_sub(&r, N("1"), bad), -1);
	assert_int_equal(dec_add(&r, bad, bad), -1);
}

/* ---- mul ---- */

static void test_mul_scale_is_sum_of_scales(void **state)
{
	assert_mul("1.5", "0.25", "0.375");
	assert_mul("2.00", "3.000", "6.00000");
	assert_mul("12", "12", "144");
}

static void test_mul_signs(void **state)
{
	assert_mul("-1.5", "2", "-3.0");
	assert_mul("1.5", "-2", "-3.0");
	assert_mul("-1.5", "-2", "3.0");
	assert_mul("-1.5", "0", "0.0");
}

static void test_mul_scale_past_max_fails(void **state)
{
	assert_mul("0.0000000000000001", "0.000000000000001", NULL); /* scale 31 */
	assert_mul("0.000000000000001", "0.000000000000001", "0.000000000000000000000000000001");
}

static void test_mul_overflow_at_38_digits(void **state)
{
	assert_mul("10000000000000000000", "10000000000000000000", NULL);               /* 1e38 */
	assert_mul("1000000000000000000", "10000000000000000000", "10000000000000000000000000000000000000");
	assert_mul("9999999999999999999", "10000000000000000001", "99999999999999999999999999999999999999");
	assert_mul(NINES_38, NINES_38, NULL); /* far past 2^128 */
	assert_mul("-" NINES_38, "2", NULL);
}

static void test_mul_cgrates_per_second_rate_is_exact(void **state)
{
	/* 0.18 per minute billed per second: 0.003 a second. Binary floats
	 * famously turn 60 of those into 0.174 or 0.17999...; here the
	 * product and the running sum are both exactly 0.18. */
	assert_mul("60", "0.003", "0.180");
	struct dec sum = dec_zero(), rate = N("0.003");
	for (int i = 0; i < 60; i++)
		assert_int_equal(dec_add(&sum, sum, rate), 0);
	assert_text(sum, "0.180");
	assert_int_equal(dec_cmp(sum, N("0.18")), 0);
	assert_mul_round("60", "0.003", 2, HALF_UP, "0.18");
	assert_div("0.18", "60", 3, HALF_UP, "0.003");
}

/* ---- mul_round ---- */

static void test_mul_round_half_up_and_half_even_on_ties(void **state)
{
	assert_mul_round("0.5", "0.5", 1, HALF_UP, "0.3");
	assert_mul_round("0.5", "0.5", 1, HALF_EVEN, "0.2");
	assert_mul_round("-0.5", "0.5", 1, HALF_UP, "-0.3");
	assert_mul_round("-0.5", "0.5", 1, HALF_EVEN, "-0.2");
	assert_mul_round("1.5", "0.5", 1, HALF_EVEN, "0.8");
}

static void test_mul_round_every_mode_on_a_non_tie(void **state)
{
	/* 1.23 * 0.1 = 0.123 */
	assert_mul_round("1.23", "0.1", 2, HALF_UP, "0.12");
	assert_mul_round("1.23", "0.1", 2, HALF_EVEN, "0.12");
	assert_mul_round("1.23", "0.1", 2, UP, "0.13");
	assert_mul_round("1.23", "0.1", 2, DOWN, "0.12");
	assert_mul_round("1.23", "0.1", 2, CEILING, "0.13");
	assert_mul_round("1.23", "0.1", 2, FLOOR, "0.12");
	assert_mul_round("-1.23", "0.1", 2, CEILING, "-0.12");
	assert_mul_round("-1.23", "0.1", 2, FLOOR, "-0.13");
}

static void test_mul_round_extends_when_scale_is_larger(void **state)
{
	assert_mul_round("1.5", "2", 4, HALF_UP, "3.0000");
	assert_mul_round(NINES_38, "1", 1, HALF_UP, NULL);
}

static void test_mul_round_uses_256_bit_intermediate(void **state)
{
	/* The exact product has 47 significant digits and scale 45. */
	assert_mul_round("12345678901234567890.123456789012345678", "0.000000000000000000987654321", 18, HALF_UP,
			 "12.193263112482853211");
	/* 38 nines * 3e-30 = 299999999.999...997 (scale 30) */
	assert_mul_round(NINES_38, "0.000000000000000000000000000003", 10, HALF_EVEN, "300000000.0000000000");
	assert_mul_round(NINES_38, "0.000000000000000000000000000003", 10, DOWN, "299999999.9999999999");
	/* The scale of the exact product (60) is past the maximum; fine here. */
	assert_mul_round("0.000000000000000000000000000001", "0.000000000000000000000000000001", 30, UP,
			 "0.000000000000000000000000000001");
	assert_mul_round("0.000000000000000000000000000001", "0.000000000000000000000000000001", 30, DOWN,
			 "0.000000000000000000000000000000");
}

static void test_mul_round_carry_past_38_digits_fails(void **state)
{
	/* (10^34 - 1)(10^34 + 1) / 10^60 = 10^8 - 10^-60: 38 nines at scale
	 * 30 when truncated, 10^8 (39 digits at scale 30) when rounded up. */
	const char *a = "9999.999999999999999999999999999999";
	const char *b = "10000.000000000000000000000000000001";
	assert_mul_round(a, b, 30, DOWN, "99999999.999999999999999999999999999999");
	assert_mul_round(a, b, 30, UP, NULL);
	assert_mul_round(a, b, 30, HALF_UP, NULL);
	assert_mul_round(a, b, 29, HALF_UP, "100000000.00000000000000000000000000000");
}

/* ---- round ---- */

static void test_round_half_up_ties_go_away_from_zero(void **state)
{
	assert_round("2.5", 0, HALF_UP, "3");
	assert_round("-2.5", 0, HALF_UP, "-3");
	assert_round("2.45", 1, HALF_UP, "2.5");
	assert_round("-2.45", 1, HALF_UP, "-2.5");
	assert_round("-0.005", 2, HALF_UP, "-0.01");
	assert_round("2.44", 1, HALF_UP, "2.4");
	assert_round("2.4999", 0, HALF_UP, "2");
}

static void test_round_half_even_ties_go_to_even(void **state)
{
	assert_round("2.5", 0, HALF_EVEN, "2");
	assert_round("3.5", 0, HALF_EVEN, "4");
	assert_round("-2.5", 0, HALF_EVEN, "-2");
	assert_round("-3.5", 0, HALF_EVEN, "-4");
	assert_round("2.45", 1, HALF_EVEN, "2.4");
	assert_round("2.55", 1, HALF_EVEN, "2.6");
	assert_round("-0.005", 2, HALF_EVEN, "0.00");
	assert_round("-0.015", 2, HALF_EVEN, "-0.02");
}

static void test_round_half_modes_on_non_ties(void **state)
{
	assert_round("2.451", 1, HALF_EVEN, "2.5");
	assert_round("2.449", 1, HALF_EVEN, "2.4");
	assert_round("-2.451", 1, HALF_UP, "-2.5");
	assert_round("-2.449", 1, HALF_UP, "-2.4");
	assert_round("0.0050000000000000000001", 2, HALF_EVEN, "0.01");
}

static void test_round_up_goes_away_from_zero(void **state)
{
	assert_round("2.1", 0, UP, "3");
	assert_round("-2.1", 0, UP, "-3");
	assert_round("2.5", 0, UP, "3");
	assert_round("-0.005", 2, UP, "-0.01");
	assert_round("2.0", 0, UP, "2");
	assert_round("0.000000000000000000000000000001", 0, UP, "1");
}

static void test_round_down_truncates_toward_zero(void **state)
{
	assert_round("2.9", 0, DOWN, "2");
	assert_round("-2.9", 0, DOWN, "-2");
	assert_round("2.5", 0, DOWN, "2");
	assert_round("-0.005", 2, DOWN, "0.00");
}

static void test_round_ceiling_goes_toward_plus_infinity(void **state)
{
	assert_round("2.1", 0, CEILING, "3");
	assert_round("-2.9", 0, CEILING, "-2");
	assert_round("-2.5", 0, CEILING, "-2");
	assert_round("-0.005", 2, CEILING, "0.00");
	assert_round("0.001", 2, CEILING, "0.01");
}

static void test_round_floor_goes_toward_minus_infinity(void **state)
{
	assert_round("2.9", 0, FLOOR, "2");
	assert_round("-2.1", 0, FLOOR, "-3");
	assert_round("2.5", 0, FLOOR, "2");
	assert_round("-0.005", 2, FLOOR, "-0.01");
	assert_round("0.009", 2, FLOOR, "0.00");
}

static void test_round_carries_into_a_new_digit(void **state)
{
	assert_round("9.995", 2, HALF_UP, "10.00");
	assert_round("-9.995", 2, HALF_UP, "-10.00");
	assert_round("9999999999999999999999999999999999999.9", 0, HALF_UP,
		     "10000000000000000000000000000000000000");
}

static void test_round_extends_scale_with_zeros(void **state)
{
	assert_round("1.5", 4, HALF_UP, "1.5000");
	assert_round("-1", 2, FLOOR, "-1.00");
	assert_round(NINES_38, 1, HALF_UP, NULL);
	assert_round("1", DEC_MAX_SCALE + 1, HALF_UP, NULL);
	assert_round("1", -1, HALF_UP, NULL);
}

static void test_round_rejects_unknown_mode(void **state)
{
	struct dec r;
	assert_int_equal(dec_round(&r, N("1.5"), 0, (enum dec_round)99), -1);
	assert_int_equal(dec_div(&r, N("1"), N("3"), 2, (enum dec_round)-1), -1);
}

/* ---- div ---- */

static void test_div_one_third_at_various_scales(void **state)
{
	assert_div("1", "3", 0, HALF_UP, "0");
	assert_div("1", "3", 2, HALF_UP, "0.33");
	assert_div("1", "3", 18, HALF_UP, "0.333333333333333333");
	assert_div("1", "3", 30, HALF_UP, "0.333333333333333333333333333333");
	assert_div("1", "3", 2, UP, "0.34");
	assert_div("1", "3", 2, CEILING, "0.34");
	assert_div("1", "3", 2, FLOOR, "0.33");
}

static void test_div_two_thirds_in_every_mode(void **state)
{
	assert_div("2", "3", 2, HALF_UP, "0.67");
	assert_div("2", "3", 2, HALF_EVEN, "0.67");
	assert_div("2", "3", 2, UP, "0.67");
	assert_div("2", "3", 2, DOWN, "0.66");
	assert_div("2", "3", 2, CEILING, "0.67");
	assert_div("2", "3", 2, FLOOR, "0.66");
	assert_div("2", "3", 20, HALF_UP, "0.66666666666666666667");
}

static void test_div_minus_one_third_in_every_mode(void **state)
{
	assert_div("-1", "3", 2, HALF_UP, "-0.33");
	assert_div("-1", "3", 2, HALF_EVEN, "-0.33");
	assert_div("-1", "3", 2, UP, "-0.34");
	assert_div("-1", "3", 2, DOWN, "-0.33");
	assert_div("-1", "3", 2, CEILING, "-0.33");
	assert_div("-1", "3", 2, FLOOR, "-0.34");
	assert_div("1", "-3", 2, FLOOR, "-0.34");
	assert_div("-2", "-3", 2, FLOOR, "0.66");
	assert_div("-1", "3", 0, FLOOR, "-1");
	assert_div("-1", "3", 0, CEILING, "0");
	assert_div("-1", "3", 25, HALF_UP, "-0.3333333333333333333333333");
}

static void test_div_ties_in_half_modes(void **state)
{
	assert_div("1", "8", 2, HALF_UP, "0.13");
	assert_div("1", "8", 2, HALF_EVEN, "0.12");
	assert_div("3", "8", 2, HALF_EVEN, "0.38");
	assert_div("-1", "8", 2, HALF_UP, "-0.13");
	assert_div("-1", "8", 2, HALF_EVEN, "-0.12");
	assert_div("5", "2", 0, HALF_EVEN, "2");
	assert_div("-5", "2", 0, HALF_UP, "-3");
}

static void test_div_rounds_the_exact_quotient_once(void **state)
{
	/* 1/8.000000000000000000000001 = 0.1249999999999999999999999843...
	 * Rounding to 20 digits first would give 0.125 and then 0.13. */
	assert_div("1", "8.000000000000000000000001", 2, HALF_UP, "0.12");
	assert_div("1", "8.000000000000000000000001", 2, HALF_EVEN, "0.12");
	assert_div("1", "8.000000000000000000000001", 26, HALF_UP, "0.12499999999999999999999998");
	/* Just past the tie from above. */
	assert_div("1", "7.999999999999999999999999", 2, HALF_EVEN, "0.13");
}

static void test_div_exact_quotient_in_every_mode(void **state)
{
	enum dec_round modes[] = { HALF_UP, HALF_EVEN, UP, DOWN, CEILING, FLOOR };
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		assert_div("1", "4", 2, modes[i], "0.25");
		assert_div("-1", "4", 4, modes[i], "-0.2500");
	}
}

static void test_div_by_zero_fails(void **state)
{
	assert_div("1", "0", 2, HALF_UP, NULL);
	assert_div("1", "0.000", 2, HALF_UP, NULL);
	assert_div("0", "0", 2, DOWN, NULL);
	assert_div("-5", "-0", 0, FLOOR, NULL);
}

static void test_div_zero_dividend_gives_zero(void **state)
{
	assert_div("0", "3", 2, HALF_UP, "0.00");
	assert_div("-0.000", "-7", 1, FLOOR, "0.0");
}

static void test_div_aligns_scales_of_operands(void **state)
{
	assert_div("1.00", "0.5", 0, HALF_UP, "2");
	assert_div("10", "0.0001", 2, HALF_UP, "100000.00");
	assert_div("0.0001", "10000", 8, HALF_UP, "0.00000001");
	assert_div("0.0001", "10000", 7, HALF_UP, "0.0000000");
	assert_div("0.0001", "10000", 7, UP, "0.0000001");
	assert_div("123.456", "0.001", 1, DOWN, "123456.0");
}

static void test_div_more_than_18_fractional_digits(void **state)
{
	assert_div("1", "7", 20, HALF_UP, "0.14285714285714285714");
	assert_div("22", "7", 25, HALF_UP, "3.1428571428571428571428571");
	assert_div("1", "3", 30, DOWN, "0.333333333333333333333333333333");
	assert_div("2", "3", 30, HALF_UP, "0.666666666666666666666666666667");
	assert_div("0.000000000000000000000000000001", "3", 30, UP, "0.000000000000000000000000000001");
}

static void test_div_wide_operands(void **state)
{
	assert_div("98765432109876543210987654321098765432", "12345678901234567890.123456789012345678", 18,
		   HALF_UP, "8000000072900000663.390006036849054936");
	/* A tiny dividend over a huge divisor: the divisor side carries the
	 * power of ten and the quotient is zero. */
	assert_div("1.234567890123456789012345678901", "98765432109876543210987654321098765432", 30,
		   UP, "0.000000000000000000000000000001");
	assert_div("1.234567890123456789012345678901", "98765432109876543210987654321098765432", 30,
		   HALF_UP, "0.000000000000000000000000000000");
}

static void test_div_overflow_fails(void **state)
{
	assert_div("1e37", "0.01", 0, HALF_UP, NULL);
	assert_div(NINES_38, "1", 1, HALF_UP, NULL);
	assert_div(NINES_38, "0.000000000000000000000000000001", 30, DOWN, NULL); /* past 256 bits */
	assert_div(NINES_38, "1", 0, HALF_UP, NINES_38);
}

static void test_div_overflow_just_past_256_bits_fails(void **state)
{
	/* a * 10^40 is 2^256 plus less than 10^40: a 256-bit multiply that
	 * wrapped would leave a small dividend and a plausible quotient. */
	assert_div("11579208923731619542357098500868790786", "1.00000000000000000000", 20, DOWN, NULL);
}

/* ---- cmp and small helpers ---- */

static void test_cmp_equal_values_across_scales(void **state)
{
	assert_int_equal(dec_cmp(N("1.0"), N("1.00")), 0);
	assert_int_equal(dec_cmp(N("0"), N("0.000")), 0);
	assert_int_equal(dec_cmp(N("-0"), N("0.0")), 0);
	assert_int_equal(dec_cmp(N("1.5E-7"), N("0.00000015")), 0);
}

static void test_cmp_orders_by_value(void **state)
{
	assert_int_equal(dec_cmp(N("1.01"), N("1.1")), -1);
	assert_int_equal(dec_cmp(N("1.1"), N("1.01")), 1);
	assert_int_equal(dec_cmp(N("-1.1"), N("-1.01")), -1);
	assert_int_equal(dec_cmp(N("-0.001"), N("0")), -1);
	assert_int_equal(dec_cmp(N("0"), N("-5")), 1);
	assert_int_equal(dec_cmp(N("2"), N("10")), -1);
}

static void test_cmp_when_aligning_overflows_128_bits(void **state)
{
	/* 1e37 scaled to 30 digits is 1e67: compared in 256 bits. */
	assert_int_equal(dec_cmp(N("1e37"), N("99999999.999999999999999999999999999999")), 1);
	assert_int_equal(dec_cmp(N("-1e37"), N("-99999999.999999999999999999999999999999")), -1);
	assert_int_equal(dec_cmp(N("99999999.999999999999999999999999999999"), N("100000000")), -1);
	assert_int_equal(dec_cmp(N("12345678.901234567890123456789012345678"),
				 N("12345678.9012345678901234567890123456")), 1);
}

static void test_sign_neg_abs_and_is_zero(void **state)
{
	assert_int_equal(dec_sign(N("-0.1")), -1);
	assert_int_equal(dec_sign(N("0.00")), 0);
	assert_int_equal(dec_sign(N("3")), 1);
	assert_true(dec_is_zero(N("-0.000")));
	assert_false(dec_is_zero(N("0.001")));
	assert_text(dec_neg(N("1.50")), "-1.50");
	assert_text(dec_abs(N("-1.50")), "1.50");
	assert_text(dec_abs(N("1.50")), "1.50");
}

static void test_normalize_drops_trailing_zeros(void **state)
{
	assert_text(dec_normalize(N("1.500")), "1.5");
	assert_text(dec_normalize(N("-2.000")), "-2");
	assert_text(dec_normalize(N("0.000")), "0");
	assert_text(dec_normalize(N("100")), "100");
	assert_text(dec_normalize(N("0.000000000000000000000000000010")), "0.00000000000000000000000000001");
}

static void test_constructors(void **state)
{
	assert_text(dec_zero(), "0");
	assert_text(dec_from_int(-42), "-42");
	assert_int_equal(dec_from_int(7).scale, 0);
}

static void test_round_mode_names_round_trip(void **state)
{
	enum dec_round modes[] = { HALF_UP, HALF_EVEN, UP, DOWN, CEILING, FLOOR };
	const char *names[] = { "half_up", "half_even", "up", "down", "ceiling", "floor" };
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		enum dec_round m = (enum dec_round)-1;
		assert_string_equal(dec_round_name(modes[i]), names[i]);
		assert_int_equal(dec_round_parse(names[i], &m), 0);
		assert_int_equal(m, modes[i]);
	}
	enum dec_round m;
	assert_int_equal(dec_round_parse("HALF_UP", &m), -1);
	assert_int_equal(dec_round_parse("bankers", &m), -1);
	assert_int_equal(dec_round_parse(NULL, &m), -1);
	assert_string_equal(dec_round_name((enum dec_round)42), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_integers_and_signs),
		cmocka_unit_test(test_parse_keeps_trailing_zeros_in_scale),
		cmocka_unit_test(test_parse_point_without_digits_on_one_side),
		cmocka_unit_test(test_parse_negative_zero_is_zero),
		cmocka_unit_test(test_parse_exponent_negative_raises_scale),
		cmocka_unit_test(test_parse_exponent_positive_lowers_scale),
		cmocka_unit_test(test_parse_exponent_on_zero),
		cmocka_unit_test(test_parse_leading_zeros_are_not_significant),
		cmocka_unit_test(test_parse_accepts_38_significant_digits),
		cmocka_unit_test(test_parse_rejects_39_significant_digits),
		cmocka_unit_test(test_parse_rejects_scale_past_max),
		cmocka_unit_test(test_parse_rejects_empty_and_lone_signs),
		cmocka_unit_test(test_parse_rejects_spaces),
		cmocka_unit_test(test_parse_rejects_nan_inf_and_hex),
		cmocka_unit_test(test_parse_rejects_malformed_exponents_and_points),
		cmocka_unit_test(test_parse_reads_only_len_bytes),
		cmocka_unit_test(test_format_prints_exactly_scale_digits),
		cmocka_unit_test(test_format_leading_zero_below_one),
		cmocka_unit_test(test_format_zero_never_has_a_sign),
		cmocka_unit_test(test_format_extremes),
		cmocka_unit_test(test_format_truncates_to_buffer_and_returns_full_length),
		cmocka_unit_test(test_add_aligns_scales),
		cmocka_unit_test(test_add_carries_across_the_point),
		cmocka_unit_test(test_add_mixed_signs),
		cmocka_unit_test(test_sub_borrows_and_changes_sign),
		cmocka_unit_test(test_add_overflow_at_38_digits),
		cmocka_unit_test(test_sub_overflow_at_38_digits),
		cmocka_unit_test(test_add_when_aligning_overflows_128_bits),
		cmocka_unit_test(test_add_rejects_invalid_scale),
		cmocka_unit_test(test_mul_scale_is_sum_of_scales),
		cmocka_unit_test(test_mul_signs),
		cmocka_unit_test(test_mul_scale_past_max_fails),
		cmocka_unit_test(test_mul_overflow_at_38_digits),
		cmocka_unit_test(test_mul_cgrates_per_second_rate_is_exact),
		cmocka_unit_test(test_mul_round_half_up_and_half_even_on_ties),
		cmocka_unit_test(test_mul_round_every_mode_on_a_non_tie),
		cmocka_unit_test(test_mul_round_extends_when_scale_is_larger),
		cmocka_unit_test(test_mul_round_uses_256_bit_intermediate),
		cmocka_unit_test(test_mul_round_carry_past_38_digits_fails),
		cmocka_unit_test(test_round_half_up_ties_go_away_from_zero),
		cmocka_unit_test(test_round_half_even_ties_go_to_even),
		cmocka_unit_test(test_round_half_modes_on_non_ties),
		cmocka_unit_test(test_round_up_goes_away_from_zero),
		cmocka_unit_test(test_round_down_truncates_toward_zero),
		cmocka_unit_test(test_round_ceiling_goes_toward_plus_infinity),
		cmocka_unit_test(test_round_floor_goes_toward_minus_infinity),
		cmocka_unit_test(test_round_carries_into_a_new_digit),
		cmocka_unit_test(test_round_extends_scale_with_zeros),
		cmocka_unit_test(test_round_rejects_unknown_mode),
		cmocka_unit_test(test_div_one_third_at_various_scales),
		cmocka_unit_test(test_div_two_thirds_in_every_mode),
		cmocka_unit_test(test_div_minus_one_third_in_every_mode),
		cmocka_unit_test(test_div_ties_in_half_modes),
		cmocka_unit_test(test_div_rounds_the_exact_quotient_once),
		cmocka_unit_test(test_div_exact_quotient_in_every_mode),
		cmocka_unit_test(test_div_by_zero_fails),
		cmocka_unit_test(test_div_zero_dividend_gives_zero),
		cmocka_unit_test(test_div_aligns_scales_of_operands),
		cmocka_unit_test(test_div_more_than_18_fractional_digits),
		cmocka_unit_test(test_div_wide_operands),
		cmocka_unit_test(test_div_overflow_fails),
		cmocka_unit_test(test_div_overflow_just_past_256_bits_fails),
		cmocka_unit_test(test_cmp_equal_values_across_scales),
		cmocka_unit_test(test_cmp_orders_by_value),
		cmocka_unit_test(test_cmp_when_aligning_overflows_128_bits),
		cmocka_unit_test(test_sign_neg_abs_and_is_zero),
		cmocka_unit_test(test_normalize_drops_trailing_zeros),
		cmocka_unit_test(test_constructors),
		cmocka_unit_test(test_round_mode_names_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
