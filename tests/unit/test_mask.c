/*
 * test_mask.c - HMAC-SHA256 tokens for personal data (core/mask.c): the
 * token's form and determinism, which attribute names are personal, and
 * the JSON rewriter that puts tokens in their place.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "mask.h"

#define KEY "a-key-of-sixteen-bytes"

static struct mask m;

static int setup(void **state)
{
	struct err e;
	return mask_init(&m, KEY, &e);
}

static int teardown(void **state)
{
	mask_release(&m);
	return 0;
}

static char *masked(const char *json)
{
	struct err e;
	err_clear(&e);
	char *out = mask_json(&m, json, strlen(json), NULL, &e);
	if (!out)
		fail_msg("mask_json failed: %s", e.message);
	return out;
}

static const char *tok(const char *value)
{
	static char buf[4][MASK_TOKEN_LEN + 1];
	static int next;
	char *b = buf[next++ % 4];
	mask_token(&m, value, strlen(value), b);
	return b;
}

static void token_is_tok_and_the_first_16_bytes_of_the_hmac_in_hex(void **state)
{
	/* printf %s value | openssl dgst -sha256 -hmac a-key-of-sixteen-bytes */
	assert_string_equal(tok("value"), "tok_3f42f1f55bb7c699e89a5fb83192be2f");
	assert_int_equal(strlen(tok("value")), MASK_TOKEN_LEN);
}

static void same_value_same_token_other_value_or_key_other_token(void **state)
{
	assert_string_equal(tok("+4930123456"), tok("+4930123456"));
	assert_string_not_equal(tok("+4930123456"), tok("+4930123457"));
	struct mask other;
	struct err e;
	assert_int_equal(mask_init(&other, KEY "!", &e), 0);
	char t[MASK_TOKEN_LEN + 1];
	mask_token(&other, "value", 5, t);
	assert_string_not_equal(t, tok("value"));
	mask_release(&other);
}

static void empty_or_short_keys_are_refused(void **state)
{
	struct mask k;
	struct err e;
	err_clear(&e);
	assert_int_equal(mask_init(&k, "", &e), -1);
	assert_int_equal(e.kind, ERR_CONFIG);
	assert_non_null(strstr(e.message, "export.hmac_key is not set"));
	assert_int_equal(mask_init(&k, NULL, &e), -1);
	assert_int_equal(mask_init(&k, "fifteen-bytes..", &e), -1);
	assert_non_null(strstr(e.message, "too short"));
	/* The message never holds the key. */
	assert_null(strstr(e.message, "fifteen"));
	assert_int_equal(mask_init(&k, "sixteen-bytes...", &e), 0);
}

static void personal_attribute_names(void **state)
{
	static const char *const yes[] = { "calling", "called", "Calling-Number", "caller_id", "CallerNumber", "clid",
					   "src", "dst", "msisdn", "name", "First Name", "customerEmail",
					   "billing_email", "e-mail", "EMAIL", "home.phone", NULL };
	static const char *const no[] = { "meter", "duration", "disposition", "ServiceName", "region", "quantity",
					   "channel", "amaflags", "uniqueid", "", NULL };
	for (const char *const *p = yes; *p; p++)
		if (!mask_is_personal_key(*p, strlen(*p)))
			fail_msg("'%s' should be personal", *p);
	for (const char *const *p = no; *p; p++)
		if (mask_is_personal_key(*p, strlen(*p)))
			fail_msg("'%s' should not be personal", *p);
}

static void email_like_values(void **state)
{
	assert_true(mask_looks_like_email("bob@example.com", 15));
	assert_true(mask_looks_like_email("a.b+c@mail.example.org", 22));
	assert_false(mask_looks_like_email("@example.com", 12));
	assert_false(mask_looks_like_email("bob@localhost", 13));
	assert_false(mask_looks_like_email("bob at example.com", 18));
	assert_false(mask_looks_like_email("a@b@c.de", 8));
	assert_false(mask_looks_like_email("\"Bob\" <bob@example.com>", 23));
}

static void personal_values_become_tokens_and_the_rest_is_kept_byte_for_byte(void **state)
{
	char *out = masked("{\"calling\": \"+4930111\", \"called\":\"+4930222\", \"duration\": \"60\", "
			   "\"disposition\":\"ANSWERED\"}");
	char want[512];
	snprintf(want, sizeof(want),
		 "{\"calling\": \"%s\", \"called\":\"%s\", \"duration\": \"60\", \"disposition\":\"ANSWERED\"}",
		 tok("+4930111"), tok("+4930222"));
	assert_string_equal(out, want);
	free(out);
}

static void numbers_under_personal_names_are_masked_too(void **state)
{
	char *out = masked("{\"msisdn\": 491701234567, \"seconds\": 42}");
	char want[256];
	snprintf(want, sizeof(want), "{\"msisdn\": \"%s\", \"seconds\": 42}", tok("491701234567"));
	assert_string_equal(out, want);
	free(out);
}

static void nested_objects_arrays_and_email_values_anywhere(void **state)
{
	char *out = masked("{\"tags\": {\"owner\": \"alice@example.org\", \"team\": \"ops\"},"
			   " \"names\": [\"Alice\", \"Bob\"], \"ok\": true, \"email\": null}");
	char want[512];
	snprintf(want, sizeof(want),
		 "{\"tags\": {\"owner\": \"%s\", \"team\": \"ops\"}, \"names\": [\"%s\", \"%s\"], \"ok\": true, "
		 "\"email\": null}",
		 tok("alice@example.org"), tok("Alice"), tok("Bob"));
	assert_string_equal(out, want);
	free(out);
}

static void email_addresses_inside_text_are_replaced_in_place(void **state)
{
	char *out = masked("{\"note\": \"write to bob@example.com. \\\"thanks\\\"\"}");
	char want[256];
	snprintf(want, sizeof(want), "{\"note\": \"write to %s. \\\"thanks\\\"\"}", tok("bob@example.com"));
	assert_string_equal(out, want);
	free(out);
}

static void escaped_and_plain_spellings_give_the_same_token(void **state)
{
	char *a = masked("{\"name\": \"J\\u00f6rg\"}");
	char *b = masked("{\"name\": \"J\xc3\xb6rg\"}");
	assert_string_equal(a, b);
	free(a);
	free(b);
}

static void joins_survive_masking(void **state)
{
	/* A number that calls in one record and is called in the next keeps one token. */
	char *a = masked("{\"calling\": \"+4930111\", \"called\": \"+4930222\"}");
	char *b = masked("{\"calling\": \"+4930222\", \"called\": \"+4930333\"}");
	assert_non_null(strstr(a, tok("+4930222")));
	assert_non_null(strstr(b, tok("+4930222")));
	assert_null(strstr(a, "+4930"));
	assert_null(strstr(b, "+4930"));
	free(a);
	free(b);
}

static void invalid_json_is_an_input_error_that_does_not_quote_it(void **state)
{
	static const char *const bad[] = { "{\"calling\": \"+4930111\"", "{\"a\" 1}", "[1,]", "{\"a\": tru}",
					   "\"unterminated", "{} trailing", "", NULL };
	for (const char *const *p = bad; *p; p++) {
		struct err e;
		err_clear(&e);
		char *out = mask_json(&m, *p, strlen(*p), NULL, &e);
		if (out)
			fail_msg("'%s' was accepted", *p);
		assert_int_equal(e.kind, ERR_INPUT);
		assert_null(strstr(e.message, "4930111"));
	}
}

static void nesting_deeper_than_64_is_refused(void **state)
{
	char deep[300] = "";
	for (int i = 0; i < 70; i++)
		strcat(deep, "[");
	for (int i = 0; i < 70; i++)
		strcat(deep, "]");
	struct err e;
	err_clear(&e);
	assert_null(mask_json(&m, deep, strlen(deep), NULL, &e));
	assert_int_equal(e.kind, ERR_INPUT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(token_is_tok_and_the_first_16_bytes_of_the_hmac_in_hex),
		cmocka_unit_test(same_value_same_token_other_value_or_key_other_token),
		cmocka_unit_test(empty_or_short_keys_are_refused),
		cmocka_unit_test(personal_attribute_names),
		cmocka_unit_test(email_like_values),
		cmocka_unit_test(personal_values_become_tokens_and_the_rest_is_kept_byte_for_byte),
		cmocka_unit_test(numbers_under_personal_names_are_masked_too),
		cmocka_unit_test(nested_objects_arrays_and_email_values_anywhere),
		cmocka_unit_test(email_addresses_inside_text_are_replaced_in_place),
		cmocka_unit_test(escaped_and_plain_spellings_give_the_same_token),
		cmocka_unit_test(joins_survive_masking),
		cmocka_unit_test(invalid_json_is_an_input_error_that_does_not_quote_it),
		cmocka_unit_test(nesting_deeper_than_64_is_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
