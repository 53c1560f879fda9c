/*
 * test_audit_canonical.c - the audit chain's canonical entry and hash as C
 * computes them (core/audit.c), against vectors computed independently
 * with printf | sha256sum (and equal to PostgreSQL's
 * billrun_audit_canonical / billrun_audit_hash, which test_audit checks
 * on a live database).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "audit.h"

static const struct audit_entry sample = {
	.id = 7,
	.at = "2026-02-01T03:00:00.123456Z",
	.actor = "billrun_app",
	.kind = "run.created",
	.entity = "runs/7",
	.payload = "{\"a\": \"\xc3\xa9\"}", /* {"a": "é"}: 11 bytes, 10 characters */
};

static void canonical_entry_is_six_netstrings_with_byte_lengths(void **state)
{
	size_t len = 0;
	char *c = audit_canonical(&sample, &len);
	assert_non_null(c);
	assert_string_equal(c, "1:7,27:2026-02-01T03:00:00.123456Z,11:billrun_app,11:run.created,6:runs/7,"
			       "11:{\"a\": \"\xc3\xa9\"},");
	assert_int_equal(len, 89);
	assert_int_equal(strlen(c), len);
	free(c);
}

static void empty_fields_are_zero_length_netstrings(void **state)
{
	struct audit_entry en = { .id = 1, .at = "", .actor = "", .kind = "", .entity = "", .payload = "" };
	char *c = audit_canonical(&en, NULL);
	assert_string_equal(c, "1:1,0:,0:,0:,0:,0:,");
	free(c);
}

static void netstrings_keep_separator_characters_unambiguous(void **state)
{
	/* A comma or colon inside a field cannot shift the boundaries. */
	struct audit_entry a = { .id = 2, .at = "t", .actor = "x,1:y", .kind = "k", .entity = "e", .payload = "{}" };
	struct audit_entry b = { .id = 2, .at = "t", .actor = "x", .kind = "y,1:k", .entity = "e", .payload = "{}" };
	char *ca = audit_canonical(&a, NULL), *cb = audit_canonical(&b, NULL);
	assert_string_not_equal(ca, cb);
	free(ca);
	free(cb);
}

static void chain_hash_is_sha256_of_previous_hash_and_entry(void **state)
{
	size_t len = 0;
	char *c = audit_canonical(&sample, &len);
	char hex[SHA256_HEX_LEN + 1];
	/* printf '%s%s' 000...0 "$canonical" | sha256sum */
	audit_chain_hash(AUDIT_GENESIS_HASH, c, len, hex);
	assert_string_equal(hex, "573525f5a3fef3c984efa8bcd2b3822961df58cae97143332a31d6015d892366");
	free(c);
}

static void genesis_hash_is_64_zeros(void **state)
{
	assert_int_equal(strlen(AUDIT_GENESIS_HASH), 64);
	assert_int_equal(strspn(AUDIT_GENESIS_HASH, "0"), 64);
}

static void changing_any_field_or_the_previous_hash_changes_the_hash(void **state)
{
	char base[SHA256_HEX_LEN + 1], other[SHA256_HEX_LEN + 1];
	size_t len = 0;
	char *c = audit_canonical(&sample, &len);
	audit_chain_hash(AUDIT_GENESIS_HASH, c, len, base);
	free(c);

	for (int field = 0; field < 6; field++) {
		struct audit_entry en = sample;
		switch (field) {
		case 0: en.id = 8; break;
		case 1: en.at = "2026-02-01T03:00:00.123457Z"; break;
		case 2: en.actor = "postgres"; break;
		case 3: en.kind = "run.changed"; break;
		case 4: en.entity = "runs/8"; break;
		case 5: en.payload = "{\"a\": \"e\"}"; break;
		}
		c = audit_canonical(&en, &len);
		audit_chain_hash(AUDIT_GENESIS_HASH, c, len, other);
		free(c);
		assert_string_not_equal(base, other);
	}
	c = audit_canonical(&sample, &len);
	audit_chain_hash("1000000000000000000000000000000000000000000000000000000000000000", c, len, other);
	free(c);
	assert_string_not_equal(base, other);
}

static void large_ids_and_long_payloads_are_encoded_whole(void **state)
{
	char payload[5000];
	memset(payload, 'x', sizeof(payload) - 1);
	payload[sizeof(payload) - 1] = '\0';
	struct audit_entry en = sample;
	en.id = INT64_MAX;
	en.payload = payload;
	size_t len = 0;
	char *c = audit_canonical(&en, &len);
	assert_non_null(strstr(c, "19:9223372036854775807,"));
	assert_non_null(strstr(c, "4999:xxx"));
	assert_int_equal(c[len - 1], ',');
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(canonical_entry_is_six_netstrings_with_byte_lengths),
		cmocka_unit_test(empty_fields_are_zero_length_netstrings),
		cmocka_unit_test(netstrings_keep_separator_characters_unambiguous),
		cmocka_unit_test(chain_hash_is_sha256_of_previous_hash_and_entry),
		cmocka_unit_test(genesis_hash_is_64_zeros),
		cmocka_unit_test(changing_any_field_or_the_previous_hash_changes_the_hash),
		cmocka_unit_test(large_ids_and_long_payloads_are_encoded_whole),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
