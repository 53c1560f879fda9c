/*
 * test_schema_diff.c - unit tests for schema_diff (jobs/schema_change.c):
 * the same header is no change; columns added, removed, renamed (a new
 * name between the neighbours of an old one, or in its place) and moved are named in that order; a
 * column inserted in the middle moves nothing; a change of letter case is
 * a rename; added[] flags the added columns only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "schema_change.h"

static const char *words(const char *const *old, size_t nold, const char *const *new, size_t nnew, int *count,
			 int *added)
{
	static char out[512];
	struct textbuf w = { 0 };
	*count = schema_diff(old, nold, new, nnew, &w, added);
	snprintf(out, sizeof(out), "%s", w.len ? w.p : "");
	textbuf_release(&w);
	return out;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void the_same_header_is_no_change(void **state)
{
	const char *h[] = { "event_id", "account_id", "quantity" };
	int n;
	assert_string_equal(words(h, N(h), h, N(h), &n, NULL), "");
	assert_int_equal(n, 0);
}

static void added_and_removed(void **state)
{
	const char *old[] = { "a", "b", "c" }, *new[] = { "a", "c", "d", "e" };
	int n, added[4];
	/* b is gone from position 1, where c now stands (c is not new): removed */
	assert_string_equal(words(old, N(old), new, N(new), &n, added), "added 'd', 'e'; removed 'b'");
	assert_int_equal(n, 3);
	assert_int_equal(added[0] + added[1], 0);
	assert_int_equal(added[2] + added[3], 2);
}

static void an_insert_in_the_middle_moves_nothing(void **state)
{
	const char *old[] = { "a", "b", "c" }, *new[] = { "a", "x", "b", "c" };
	int n;
	assert_string_equal(words(old, N(old), new, N(new), &n, NULL), "added 'x'");
	assert_int_equal(n, 1);
}

static void renamed_and_moved(void **state)
{
	const char *old[] = { "event_id", "account_id", "meter", "quantity", "region" };
	const char *new[] = { "account_id", "event_id", "meter", "quantity", "zone" };
	int n, added[5];
	assert_string_equal(words(old, N(old), new, N(new), &n, added), "renamed 'region' to 'zone'; moved 'account_id'");
	assert_int_equal(n, 2);
	assert_int_equal(added[4], 0); /* a rename is not an added column */
}

static void letter_case_is_a_rename(void **state)
{
	const char *old[] = { "a", "Quantity" }, *new[] = { "a", "quantity" };
	int n;
	assert_string_equal(words(old, N(old), new, N(new), &n, NULL), "renamed 'Quantity' to 'quantity'");
}

static void everything_at_once(void **state)
{
	const char *old[] = { "a", "b", "c", "d", "e" }, *new[] = { "e", "a", "B", "c", "f", "g" };
	int n;
	/* B after a where b was, f after c where d was: renames; e moved to the front */
	assert_string_equal(words(old, N(old), new, N(new), &n, NULL),
			    "added 'g'; renamed 'b' to 'B', 'd' to 'f'; moved 'e'");
	assert_int_equal(n, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_same_header_is_no_change),
		cmocka_unit_test(added_and_removed),
		cmocka_unit_test(an_insert_in_the_middle_moves_nothing),
		cmocka_unit_test(renamed_and_moved),
		cmocka_unit_test(letter_case_is_a_rename),
		cmocka_unit_test(everything_at_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
