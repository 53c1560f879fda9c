/*
 * test_err.c - unit tests for struct err (core/err.c): filling message,
 * detail, hint and prefix; the one table from error kind to exit status;
 * which errors are worth a retry.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"

static void err_set_fills_kind_and_formatted_message(void **state)
{
	struct err e;
	err_clear(&e);
	int rc = err_set(&e, ERR_INPUT, "could not parse '%s' at line %d", "usage.csv", 7);
	assert_int_equal(rc, -1);
	assert_int_equal(e.kind, ERR_INPUT);
	assert_string_equal(e.message, "could not parse 'usage.csv' at line 7");
}

static void err_set_clears_detail_hint_and_sqlstate_of_an_earlier_error(void **state)
{
	struct err e;
	err_clear(&e);
	err_set(&e, ERR_DB, "first");
	err_detail(&e, "old detail");
	err_hint(&e, "old hint");
	memcpy(e.sqlstate, "23505", 6);
	err_set(&e, ERR_IO, "second");
	assert_int_equal(e.kind, ERR_IO);
	assert_string_equal(e.message, "second");
	assert_string_equal(e.detail, "");
	assert_string_equal(e.hint, "");
	assert_string_equal(e.sqlstate, "");
}

static void err_detail_and_hint_are_formatted_and_return_minus_one(void **state)
{
	struct err e;
	err_clear(&e);
	err_set(&e, ERR_CONFIG, "bad");
	assert_int_equal(err_detail(&e, "found %d keys", 3), -1);
	assert_int_equal(err_hint(&e, "see '%s'", "billrun help"), -1);
	assert_string_equal(e.detail, "found 3 keys");
	assert_string_equal(e.hint, "see 'billrun help'");
	assert_string_equal(e.message, "bad");
	assert_int_equal(e.kind, ERR_CONFIG);
}

static void err_prefix_puts_context_before_the_message(void **state)
{
	struct err e;
	err_clear(&e);
	err_set(&e, ERR_DB, "statement failed");
	err_detail(&e, "kept");
	assert_int_equal(err_prefix(&e, "step '%s': ", "rate"), -1);
	assert_string_equal(e.message, "step 'rate': statement failed");
	assert_string_equal(e.detail, "kept");
	assert_int_equal(e.kind, ERR_DB);
	err_prefix(&e, "run %d: ", 42);
	assert_string_equal(e.message, "run 42: step 'rate': statement failed");
}

static void err_prefix_truncates_a_long_message_safely(void **state)
{
	struct err e;
	char long_msg[ERR_MSG_MAX + 100];
	memset(long_msg, 'x', sizeof(long_msg) - 1);
	long_msg[sizeof(long_msg) - 1] = '\0';
	err_clear(&e);
	err_set(&e, ERR_INPUT, "%s", long_msg);
	assert_int_equal(strlen(e.message), ERR_MSG_MAX - 1);
	err_prefix(&e, "ctx: ");
	assert_int_equal(strlen(e.message), ERR_MSG_MAX - 1);
	assert_memory_equal(e.message, "ctx: xxx", 8);
}

static void err_functions_accept_a_null_error(void **state)
{
	assert_int_equal(err_set(NULL, ERR_IO, "x"), -1);
	assert_int_equal(err_detail(NULL, "x"), -1);
	assert_int_equal(err_hint(NULL, "x"), -1);
	assert_int_equal(err_prefix(NULL, "x"), -1);
	err_clear(NULL);
	assert_false(err_is_retryable(NULL));
}

static void err_clear_resets_to_no_error(void **state)
{
	struct err e;
	err_set(&e, ERR_DB, "x");
	err_detail(&e, "d");
	err_clear(&e);
	assert_int_equal(e.kind, ERR_NONE);
	assert_string_equal(e.message, "");
	assert_string_equal(e.detail, "");
	assert_string_equal(e.hint, "");
	assert_string_equal(e.sqlstate, "");
}

static void exit_status_table_maps_kinds_to_sysexits(void **state)
{
	assert_int_equal(err_exit_status(ERR_NONE), 0);
	assert_int_equal(err_exit_status(ERR_USAGE), 64);
	assert_int_equal(err_exit_status(ERR_INPUT), 65);
	assert_int_equal(err_exit_status(ERR_NOT_FOUND), 65);
	assert_int_equal(err_exit_status(ERR_DB_UNAVAILABLE), 69);
	assert_int_equal(err_exit_status(ERR_INTERNAL), 70);
	assert_int_equal(err_exit_status(ERR_DB), 70);
	assert_int_equal(err_exit_status(ERR_IO), 74);
	assert_int_equal(err_exit_status(ERR_TEMPFAIL), 75);
	assert_int_equal(err_exit_status(ERR_PERMISSION), 77);
	assert_int_equal(err_exit_status(ERR_CONFIG), 78);
	assert_int_equal(err_exit_status(ERR_STEPS_FAILED), 3);
}

static void exit_status_of_an_unknown_kind_is_internal_error(void **state)
{
	assert_int_equal(err_exit_status(ERR__COUNT), 70);
	assert_int_equal(err_exit_status((enum err_kind)-1), 70);
	assert_string_equal(err_kind_name(ERR__COUNT), "unknown");
}

static void every_kind_has_a_name_and_a_nonzero_status(void **state)
{
	assert_string_equal(err_kind_name(ERR_CONFIG), "config");
	assert_string_equal(err_kind_name(ERR_DB_UNAVAILABLE), "db_unavailable");
	assert_string_equal(err_kind_name(ERR_STEPS_FAILED), "steps_failed");
	for (int k = ERR_NONE + 1; k < ERR__COUNT; k++) {
		assert_non_null(err_kind_name((enum err_kind)k));
		assert_string_not_equal(err_kind_name((enum err_kind)k), "unknown");
		assert_int_not_equal(err_exit_status((enum err_kind)k), 0);
	}
}

static struct err db_error(const char *sqlstate)
{
	struct err e;
	err_set(&e, ERR_DB, "statement failed");
	snprintf(e.sqlstate, sizeof(e.sqlstate), "%s", sqlstate);
	return e;
}

static void retryable_for_serialization_deadlock_and_lost_connection(void **state)
{
	static const char *const retry[] = { "40001", "40P01", "08006", "08001", "08003", "57P01",
					     "57P02", "57P03" };
	for (size_t i = 0; i < sizeof(retry) / sizeof(retry[0]); i++) {
		struct err e = db_error(retry[i]);
		if (!err_is_retryable(&e))
			fail_msg("SQLSTATE %s should be retryable", retry[i]);
	}
}

static void not_retryable_for_constraint_and_syntax_errors(void **state)
{
	static const char *const final[] = { "23505", "23503", "42601", "42501", "22P02", "" };
	for (size_t i = 0; i < sizeof(final) / sizeof(final[0]); i++) {
		struct err e = db_error(final[i]);
		if (err_is_retryable(&e))
			fail_msg("SQLSTATE '%s' should not be retryable", final[i]);
	}
}

static void retryable_by_kind_tempfail_and_db_unavailable(void **state)
{
	struct err e;
	err_set(&e, ERR_TEMPFAIL, "lock held");
	assert_true(err_is_retryable(&e));
	err_set(&e, ERR_DB_UNAVAILABLE, "gone");
	assert_true(err_is_retryable(&e));
	err_set(&e, ERR_CONFIG, "bad");
	assert_false(err_is_retryable(&e));
	err_set(&e, ERR_INPUT, "bad");
	assert_false(err_is_retryable(&e));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(err_set_fills_kind_and_formatted_message),
		cmocka_unit_test(err_set_clears_detail_hint_and_sqlstate_of_an_earlier_error),
		cmocka_unit_test(err_detail_and_hint_are_formatted_and_return_minus_one),
		cmocka_unit_test(err_prefix_puts_context_before_the_message),
		cmocka_unit_test(err_prefix_truncates_a_long_message_safely),
		cmocka_unit_test(err_functions_accept_a_null_error),
		cmocka_unit_test(err_clear_resets_to_no_error),
		cmocka_unit_test(exit_status_table_maps_kinds_to_sysexits),
		cmocka_unit_test(exit_status_of_an_unknown_kind_is_internal_error),
		cmocka_unit_test(every_kind_has_a_name_and_a_nonzero_status),
		cmocka_unit_test(retryable_for_serialization_deadlock_and_lost_connection),
		cmocka_unit_test(not_retryable_for_constraint_and_syntax_errors),
		cmocka_unit_test(retryable_by_kind_tempfail_and_db_unavailable),
	};
	return cmocka_run_group_tests_name("err", tests, NULL, NULL);
}
