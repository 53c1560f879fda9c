/*
 * test_period.c - unit tests for run periods (core/period.c): parsing days
 * and months, rejecting impossible dates, stepping across month and year
 * ends and leap days, and the period due at a given moment (in UTC).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "err.h"
#include "period.h"

static int utc(void **state)
{
	setenv("TZ", "UTC", 1);
	tzset();
	return 0;
}

static void assert_period(const struct period *p, const char *start, const char *end)
{
	assert_string_equal(p->start, start);
	assert_string_equal(p->end, end);
}

static void assert_parses(const char *kind, const char *text, const char *start, const char *end)
{
	struct period p;
	struct err e;
	err_clear(&e);
	if (period_parse(&p, kind, text, &e) != 0)
		fail_msg("%s '%s' should parse: %s", kind, text, e.message);
	assert_period(&p, start, end);
	assert_int_equal(p.month_kind, strcmp(kind, "month") == 0);
}

static void assert_rejected(const char *kind, const char *text)
{
	struct period p;
	struct err e;
	err_clear(&e);
	if (period_parse(&p, kind, text, &e) != -1)
		fail_msg("%s '%s' should be rejected, got %s", kind, text, p.start);
	assert_int_equal(e.kind, ERR_USAGE);
	if (!strstr(e.message, text))
		fail_msg("the message does not quote '%s': %s", text, e.message);
}

/* ---- parsing ---- */

static void day_parses_to_one_day(void **state)
{
	assert_parses("day", "2026-03-15", "2026-03-15", "2026-03-16");
	assert_parses("day", "1970-01-01", "1970-01-01", "1970-01-02");
	struct period p;
	period_parse(&p, "day", "2026-03-15", NULL);
	assert_int_equal(p.y, 2026);
	assert_int_equal(p.m, 3);
	assert_int_equal(p.d, 15);
}

static void month_parses_from_year_month_or_first_day(void **state)
{
	assert_parses("month", "2026-03", "2026-03-01", "2026-04-01");
	assert_parses("month", "2026-03-01", "2026-03-01", "2026-04-01");
	assert_parses("month", "2026-12", "2026-12-01", "2027-01-01");
}

static void day_period_ends_across_month_year_and_leap_day(void **state)
{
	assert_parses("day", "2026-01-31", "2026-01-31", "2026-02-01");
	assert_parses("day", "2026-12-31", "2026-12-31", "2027-01-01");
	assert_parses("day", "2024-02-28", "2024-02-28", "2024-02-29");
	assert_parses("day", "2024-02-29", "2024-02-29", "2024-03-01");
	assert_parses("day", "2026-02-28", "2026-02-28", "2026-03-01");
	assert_parses("day", "2000-02-29", "2000-02-29", "2000-03-01");
}

static void impossible_dates_are_rejected(void **state)
{
	assert_rejected("day", "2026-02-30");
	assert_rejected("day", "2026-02-29"); /* not a leap year */
	assert_rejected("day", "1900-02-29"); /* and out of range anyway */
	assert_rejected("day", "2100-02-29"); /* a century that is not a leap year */
	assert_rejected("day", "2026-04-31");
	assert_rejected("day", "2026-13-01");
	assert_rejected("day", "2026-00-10");
	assert_rejected("day", "2026-01-00");
	assert_rejected("day", "2026-01-32");
	assert_rejected("month", "2026-13");
	assert_rejected("month", "2026-00");
}

static void month_with_a_day_other_than_01_is_rejected(void **state)
{
	struct period p;
	struct err e;
	assert_int_equal(period_parse(&p, "month", "2026-03-15", &e), -1);
	assert_int_equal(e.kind, ERR_USAGE);
	assert_non_null(strstr(e.message, "day 01"));
	assert_rejected("month", "2026-03-02");
}

static void malformed_text_is_rejected(void **state)
{
	static const char *const bad[] = {
		"", "2026", "2026-3-15", "2026-03-5", "26-03-15", "2026/03/15", "2026-03-15x",
		"2026-03-15 ", " 2026-03-15", "20260315", "2026-03-1a", "abcd-ef-gh",
		"2026-+3-15", "2026-03-+5", "2026-03- 5", "2026- 3-15", "-026-03-15", "+2026-03-1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_rejected("day", bad[i]);
	assert_rejected("day", "2026-03"); /* a month is not a day */
	assert_rejected("month", "2026-3");
	assert_rejected("month", "2026-+3");
	assert_rejected("month", "2026- 3");
	assert_rejected("month", "202603");
}

static void years_outside_the_supported_range_are_rejected(void **state)
{
	assert_rejected("day", "1969-12-31");
	assert_rejected("day", "0000-01-01");
	assert_rejected("day", "9999-01-01");
	assert_parses("day", "9998-12-31", "9998-12-31", "9999-01-01");
}

static void a_failed_parse_gives_a_hint_for_the_format(void **state)
{
	struct period p;
	struct err e;
	period_parse(&p, "month", "March", &e);
	assert_string_equal(e.hint, "write a month as YYYY-MM");
	period_parse(&p, "day", "yesterday", &e);
	assert_string_equal(e.hint, "write a day as YYYY-MM-DD");
}

/* ---- stepping ---- */

static void next_day_crosses_month_year_and_leap_day(void **state)
{
	struct period p;
	period_parse(&p, "day", "2024-02-28", NULL);
	period_next(&p);
	assert_period(&p, "2024-02-29", "2024-03-01");
	period_next(&p);
	assert_period(&p, "2024-03-01", "2024-03-02");
	period_parse(&p, "day", "2026-02-28", NULL);
	period_next(&p);
	assert_period(&p, "2026-03-01", "2026-03-02");
	period_parse(&p, "day", "2026-12-31", NULL);
	period_next(&p);
	assert_period(&p, "2027-01-01", "2027-01-02");
	assert_int_equal(p.y, 2027);
	assert_int_equal(p.m, 1);
	assert_int_equal(p.d, 1);
}

static void next_month_crosses_year_end(void **state)
{
	struct period p;
	period_parse(&p, "month", "2026-11", NULL);
	period_next(&p);
	assert_period(&p, "2026-12-01", "2027-01-01");
	period_next(&p);
	assert_period(&p, "2027-01-01", "2027-02-01");
	period_next(&p);
	assert_period(&p, "2027-02-01", "2027-03-01");
}

static void stepping_a_year_of_days_takes_365_or_366_steps(void **state)
{
	struct period p;
	period_parse(&p, "day", "2023-01-01", NULL);
	int steps = 0;
	while (strcmp(p.start, "2024-01-01") != 0 && steps < 1000) {
		struct period before = p;
		period_next(&p);
		assert_string_equal(before.end, p.start); /* periods tile without gaps */
		steps++;
	}
	assert_int_equal(steps, 365);
	steps = 0;
	while (strcmp(p.start, "2025-01-01") != 0 && steps < 1000) {
		period_next(&p);
		steps++;
	}
	assert_int_equal(steps, 366);
}

static void compare_orders_by_start(void **state)
{
	struct period a, b;
	period_parse(&a, "day", "2026-01-31", NULL);
	period_parse(&b, "day", "2026-02-01", NULL);
	assert_true(period_cmp(&a, &b) < 0);
	assert_true(period_cmp(&b, &a) > 0);
	assert_int_equal(period_cmp(&a, &a), 0);
}

static void days_from_civil_matches_known_dates(void **state)
{
	assert_int_equal(period_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(period_days_from_civil(1970, 1, 2), 1);
	assert_int_equal(period_days_from_civil(2000, 3, 1), 11017);
	assert_int_equal(period_days_from_civil(2024, 2, 29), 19782);
	assert_int_equal(period_days_from_civil(1969, 12, 31), -1);
}

/* ---- due ---- */

static time_t at(int y, int m, int d, int hh, int mm, int ss)
{
	return (time_t)period_days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss;
}

static void due_day_is_yesterday(void **state)
{
	struct period p;
	period_due(&p, "day", at(2026, 3, 15, 2, 0, 0));
	assert_period(&p, "2026-03-14", "2026-03-15");
	assert_int_equal(p.month_kind, 0);
	period_due(&p, "day", at(2026, 3, 15, 0, 0, 0));
	assert_period(&p, "2026-03-14", "2026-03-15");
	period_due(&p, "day", at(2026, 3, 14, 23, 59, 59));
	assert_period(&p, "2026-03-13", "2026-03-14");
}

static void due_day_crosses_month_year_and_leap_day(void **state)
{
	struct period p;
	period_due(&p, "day", at(2026, 3, 1, 2, 0, 0));
	assert_period(&p, "2026-02-28", "2026-03-01");
	period_due(&p, "day", at(2024, 3, 1, 2, 0, 0));
	assert_period(&p, "2024-02-29", "2024-03-01");
	period_due(&p, "day", at(2027, 1, 1, 2, 0, 0));
	assert_period(&p, "2026-12-31", "2027-01-01");
}

static void due_month_is_last_month(void **state)
{
	struct period p;
	period_due(&p, "month", at(2026, 3, 1, 4, 0, 0));
	assert_period(&p, "2026-02-01", "2026-03-01");
	assert_int_equal(p.month_kind, 1);
	period_due(&p, "month", at(2026, 3, 31, 23, 59, 59));
	assert_period(&p, "2026-02-01", "2026-03-01");
	period_due(&p, "month", at(2027, 1, 1, 4, 0, 0));
	assert_period(&p, "2026-12-01", "2027-01-01");
}

static void due_uses_local_time(void **state)
{
	/* 2026-03-15 23:30 UTC is already 2026-03-16 in Tokyo (UTC+9). */
	struct period p;
	setenv("TZ", "JST-9", 1); /* POSIX form: needs no tzdata */
	tzset();
	period_due(&p, "day", at(2026, 3, 15, 23, 30, 0));
	setenv("TZ", "UTC", 1);
	tzset();
	assert_period(&p, "2026-03-15", "2026-03-16");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(day_parses_to_one_day),
		cmocka_unit_test(month_parses_from_year_month_or_first_day),
		cmocka_unit_test(day_period_ends_across_month_year_and_leap_day),
		cmocka_unit_test(impossible_dates_are_rejected),
		cmocka_unit_test(month_with_a_day_other_than_01_is_rejected),
		cmocka_unit_test(malformed_text_is_rejected),
		cmocka_unit_test(years_outside_the_supported_range_are_rejected),
		cmocka_unit_test(a_failed_parse_gives_a_hint_for_the_format),
		cmocka_unit_test(next_day_crosses_month_year_and_leap_day),
		cmocka_unit_test(next_month_crosses_year_end),
		cmocka_unit_test(stepping_a_year_of_days_takes_365_or_366_steps),
		cmocka_unit_test(compare_orders_by_start),
		cmocka_unit_test(days_from_civil_matches_known_dates),
		cmocka_unit_test(due_day_is_yesterday),
		cmocka_unit_test(due_day_crosses_month_year_and_leap_day),
		cmocka_unit_test(due_month_is_last_month),
		cmocka_unit_test(due_uses_local_time),
	};
	return cmocka_run_group_tests_name("period", tests, utc, NULL);
}
