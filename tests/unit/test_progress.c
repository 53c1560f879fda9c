/*
 * test_progress.c - unit tests for progress reporting (core/progress.c):
 * a log line at least every interval with done, rate and time left; none
 * in between; a closing line; the terminal line with carriage returns,
 * cleared before log lines. A fake clock drives time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"
#include "progress.h"

static int64_t fake_now;

static int64_t fake_clock(void)
{
	return fake_now;
}

struct capture {
	char *log_buf, *tty_buf;
	size_t log_len, tty_len;
	FILE *log, *tty;
};

static struct capture cap;

static int setup(void **state)
{
	memset(&cap, 0, sizeof(cap));
	cap.log = open_memstream(&cap.log_buf, &cap.log_len);
	cap.tty = open_memstream(&cap.tty_buf, &cap.tty_len);
	if (!cap.log || !cap.tty)
		return -1;
	log_set_stream(cap.log);
	log_setup(0, LOG_INFO);
	fake_now = 1000000;
	progress_configure(fake_clock, 0, cap.tty);
	return 0;
}

static int teardown(void **state)
{
	progress_finish();
	progress_configure(NULL, 0, NULL);
	log_set_stream(NULL);
	fclose(cap.log);
	fclose(cap.tty);
	free(cap.log_buf);
	free(cap.tty_buf);
	return 0;
}

static const char *logged(void)
{
	fflush(cap.log);
	return cap.log_buf ? cap.log_buf : "";
}

static const char *on_tty(void)
{
	fflush(cap.tty);
	return cap.tty_buf ? cap.tty_buf : "";
}

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void updates_log_at_least_every_ten_seconds_and_not_in_between(void **state)
{
	progress_start("rating accounts", 1000);
	assert_int_equal(count_lines(logged()), 1); /* the starting line */
	assert_non_null(strstr(logged(), "rating accounts: starting, 1000 to do"));
	/* 100 updates over 9.9 s: no new line. */
	for (int i = 1; i <= 99; i++) {
		fake_now += 100;
		progress_update(i);
	}
	assert_int_equal(count_lines(logged()), 1);
	/* The first update at 10 s logs. */
	fake_now += 100;
	progress_update(100);
	assert_int_equal(count_lines(logged()), 2);
	/* 100 done in 10 s: 10/s, 900 left: 90 s. */
	assert_non_null(strstr(logged(), "rating accounts: 100 of 1000 (10.0 %), 10.0/s, about 1m30s left"));
	/* 25 s later, with updates each 500 ms: two more lines (at 20 s, 30 s). */
	for (int i = 0; i < 50; i++) {
		fake_now += 500;
		progress_update(100 + 5 * i);
	}
	assert_int_equal(count_lines(logged()), 4);
}

static void an_update_after_a_long_silence_logs_at_once(void **state)
{
	progress_start("records", 0);
	fake_now += 60000;
	progress_update(6000);
	assert_int_equal(count_lines(logged()), 2);
	/* Unknown total: done and rate, no estimate. */
	assert_non_null(strstr(logged(), "records: 6000 done, 100/s"));
	assert_null(strstr(logged(), "left"));
}

static void finish_logs_the_total_time_and_rate(void **state)
{
	progress_start("invoices", 40);
	fake_now += 2000;
	progress_update(40);
	progress_finish();
	assert_non_null(strstr(logged(), "invoices: 40 done in 2s (20.0/s)"));
	/* Finishing twice, or updating after the end, adds nothing. */
	int n = count_lines(logged());
	progress_finish();
	progress_update(50);
	assert_int_equal(count_lines(logged()), n);
}

static void the_log_lines_carry_the_run_and_step(void **state)
{
	log_set_run(42);
	log_set_step("rate");
	progress_start("rating accounts", 10);
	log_set_run(0);
	log_set_step(NULL);
	assert_non_null(strstr(logged(), "run=42 step=rate rating accounts: starting"));
}

static void a_terminal_gets_a_carriage_return_line_cleared_before_log_lines(void **state)
{
	progress_start("records", 100);
	fake_now += 300;
	progress_update(10);
	assert_non_null(strstr(on_tty(), "\r\033[Krecords: 10 of 100 (10.0 %)"));
	assert_null(strchr(on_tty(), '\n')); /* the terminal line never scrolls */
	/* Redraws are throttled: an update 10 ms later draws nothing. */
	size_t before = strlen(on_tty());
	fake_now += 10;
	progress_update(11);
	assert_int_equal(strlen(on_tty()), before);
	progress_finish();
	/* Finishing clears the line. */
	const char *t = on_tty();
	assert_string_equal(t + strlen(t) - 4, "\r\033[K");
}

static void no_terminal_means_no_carriage_returns(void **state)
{
	/* stderr of a test run is not a terminal, and no terminal is set. */
	progress_configure(fake_clock, 0, NULL);
	progress_start("records", 100);
	fake_now += 20000;
	progress_update(50);
	progress_finish();
	assert_null(strchr(logged(), '\r'));
	assert_int_equal(strlen(on_tty()), 0);
}

static void durations_read_well(void **state)
{
	char b[32];
	const struct { int64_t ms; const char *want; } cases[] = {
		{ 850, "850ms" }, { 42000, "42s" }, { 312000, "5m12s" }, { 3600000 + 5 * 60000, "1h05m" },
		{ 2 * 86400000LL + 4 * 3600000, "2d04h" }, { -5, "0ms" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		progress_format_duration(cases[i].ms, b, sizeof(b));
		assert_string_equal(b, cases[i].want);
	}
}

static void a_configurable_interval_is_honoured(void **state)
{
	progress_configure(fake_clock, 1000, cap.tty);
	progress_start("records", 0);
	for (int i = 1; i <= 30; i++) {
		fake_now += 100;
		progress_update(i);
	}
	/* start + lines at 1 s, 2 s, 3 s */
	assert_int_equal(count_lines(logged()), 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(updates_log_at_least_every_ten_seconds_and_not_in_between, setup, teardown),
		cmocka_unit_test_setup_teardown(an_update_after_a_long_silence_logs_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(finish_logs_the_total_time_and_rate, setup, teardown),
		cmocka_unit_test_setup_teardown(the_log_lines_carry_the_run_and_step, setup, teardown),
		cmocka_unit_test_setup_teardown(a_terminal_gets_a_carriage_return_line_cleared_before_log_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(no_terminal_means_no_carriage_returns, setup, teardown),
		cmocka_unit_test_setup_teardown(durations_read_well, setup, teardown),
		cmocka_unit_test_setup_teardown(a_configurable_interval_is_honoured, setup, teardown),
	};
	return cmocka_run_group_tests_name("progress", tests, NULL, NULL);
}
