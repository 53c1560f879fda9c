/*
 * test_export.c - `billrun export --masked`: a period's usage with HMAC
 * tokens in place of personal data, tokens that join across fields and
 * records and equal `openssl dgst -sha256 -hmac KEY`, nothing personal in
 * the file or the log, and the key masked in check-config.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "auditors_env.h"

#define KEY "export-key-0123456789abcdef"

static int setup(void **state)
{
	return env_setup("test_export");
}

static int teardown(void **state)
{
	return env_teardown();
}

static void usage_of_january(void)
{
	sql("INSERT INTO accounts (external_id, valid_from, name, time_zone, anchor_day, currency, email) VALUES "
	    "('A-1', '2025-01-01', 'Alice Example', 'Europe/Berlin', 1, 'EUR', 'alice@example.org')");
	sql("INSERT INTO usage (source, event_key, file_id, line_no, account_ext, meter, event_time, quantity, run_id, "
	    "attributes) VALUES "
	    "('pbx', '1767225600.1', 1, 2, 'A-1', 'voice_seconds', '2026-01-05 10:00:00+00', 60, 1, "
	    "'{\"calling\": \"+4930111\", \"called\": \"+4930222\", \"disposition\": \"ANSWERED\", "
	    "\"note\": \"mail bob@example.com, thanks\"}'), "
	    "('pbx', '1767225600.2', 1, 3, 'A-1', 'voice_seconds', '2026-01-06 10:00:00+00', 30, 1, "
	    "'{\"calling\": \"+4930222\", \"called\": \"+4930333\", \"clid\": \"\\\"Bob\\\" <+4930222>\"}'), "
	    "('pbx', '1767225600.3', 1, 4, 'A-1', 'voice_seconds', '2026-02-01 00:00:00+00', 10, 1, "
	    "'{\"calling\": \"+4930999\"}')");
}

/* The token openssl computes for value. */
static const char *openssl_token(const char *value)
{
	static char tok[64];
	SH_OK("printf %%s '%s' | openssl dgst -sha256 -hmac '%s' | sed 's/.*= //' | cut -c1-32", value, KEY);
	snprintf(tok, sizeof(tok), "tok_%.32s", out);
	return tok;
}

static int count(const char *file, const char *needle)
{
	if (sh("grep -o -- '%s' %s | wc -l", needle, file) != 0)
		fail_msg("grep failed: %s", out);
	return atoi(out);
}

static void personal_data_becomes_tokens_that_still_join(void **state)
{
	NEED_PG();
	usage_of_january();
	env_config("export = { hmac_key = \"" KEY "\"; };", "x = { steps = ( { name = \"a\"; exec = \"true\"; } ); };");
	char file[512];
	snprintf(file, sizeof(file), "%s/usage-2026-01.csv", env_dir);
	assert_int_equal(billrun("export", "--masked", "--period", "2026-01", "--out", file), 0);
	/* The log says what was done, and nothing personal, not even a token. */
	expect_output("2 usage records");
	assert_null(strstr(out, "4930"));
	assert_null(strstr(out, "tok_"));
	assert_null(strstr(out, "alice"));

	SH_OK("wc -l < usage-2026-01.csv");
	assert_int_equal(atoi(out), 3); /* header + January's two records */
	SH_OK("head -1 usage-2026-01.csv");
	assert_string_equal(out, "usage_id,source,event_key,file_id,line_no,account,account_name,account_email,meter,"
				 "event_time,quantity,cost,currency,billable,attributes\n");
	assert_int_equal(count("usage-2026-01.csv", "4930"), 0);
	assert_int_equal(count("usage-2026-01.csv", "example"), 0);
	assert_int_equal(count("usage-2026-01.csv", "Alice"), 0);
	assert_int_equal(count("usage-2026-01.csv", "ANSWERED"), 1); /* not personal: kept */
	assert_int_equal(count("usage-2026-01.csv", "voice_seconds"), 2);
	assert_int_equal(count("usage-2026-01.csv", "A-1"), 2);        /* the account id joins to accounts */
	/* The number called in the first record calls in the second: one token, in three places
	 * (called, calling, and inside nothing else: the caller id string is masked whole). */
	char t222[64];
	snprintf(t222, sizeof(t222), "%s", openssl_token("+4930222"));
	assert_int_equal(count("usage-2026-01.csv", t222), 2);
	assert_int_equal(count("usage-2026-01.csv", openssl_token("+4930111")), 1);
	assert_int_equal(count("usage-2026-01.csv", openssl_token("alice@example.org")), 2);
	assert_int_equal(count("usage-2026-01.csv", openssl_token("Alice Example")), 2);
	assert_int_equal(count("usage-2026-01.csv", openssl_token("bob@example.com")), 1);
	assert_int_equal(count("usage-2026-01.csv", openssl_token("\"Bob\" <+4930222>")), 1);
	assert_int_equal(count("usage-2026-01.csv", "mail tok_"), 1);

	/* Same input, same key: the same file. */
	char again[512];
	snprintf(again, sizeof(again), "%s/again.csv", env_dir);
	assert_int_equal(billrun("export", "--masked", "--period", "2026-01", "--out", again), 0);
	SH_OK("cmp usage-2026-01.csv again.csv");
	/* A day of it. */
	assert_int_equal(billrun("export", "--masked", "--period", "2026-01-06"), 0);
	assert_null(strstr(out, "1767225600.2")); /* event keys are tokens too */
	expect_output("1 usage records");
}

static void the_key_is_required_and_never_shown(void **state)
{
	NEED_PG();
	usage_of_january();
	assert_int_equal(billrun("export", "--period", "2026-01"), 64);
	expect_output("only masked exports exist");
	assert_int_equal(billrun("export", "--masked", "--period", "2026-01"), 78);
	expect_output("export.hmac_key is not set");
	env_config("export = { hmac_key = \"short\"; };", "x = { steps = ( { name = \"a\"; exec = \"true\"; } ); };");
	assert_int_equal(billrun("export", "--masked", "--period", "2026-01"), 78);
	expect_output("too short");
	assert_null(strstr(out, "short\""));
	env_config("export = { hmac_key = \"" KEY "\"; };", "x = { steps = ( { name = \"a\"; exec = \"true\"; } ); };");
	assert_int_equal(billrun("check-config"), 0);
	expect_output("export.hmac_key = \"********\"");
	assert_null(strstr(out, KEY));
	assert_int_equal(billrun("export", "--masked", "--period", "2026-13"), 64);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(personal_data_becomes_tokens_that_still_join, setup, teardown),
		cmocka_unit_test_setup_teardown(the_key_is_required_and_never_shown, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
