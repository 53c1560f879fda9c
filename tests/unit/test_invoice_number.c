/*
 * test_invoice_number.c - numbering series formats (jobs/invoice_number.c):
 * how a format renders for an issue date (the counter's key, the number's
 * prefix, width and suffix), and which formats are refused and why.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "invoice.h"

static void yearly_format_renders_key_prefix_and_width(void **state)
{
	struct invoice_series_fmt f;
	struct err e;
	char num[INVOICE_SERIES_MAX];

	err_clear(&e);
	assert_int_equal(invoice_series_render("INV-{YYYY}-{SEQ:6}", "2026-04-02", "invoice.series", &f, &e), 0);
	assert_string_equal(f.key, "INV-2026-{SEQ:6}");
	assert_string_equal(f.prefix, "INV-2026-");
	assert_string_equal(f.suffix, "");
	assert_int_equal(f.width, 6);
	invoice_series_number(&f, 123, num, sizeof(num));
	assert_string_equal(num, "INV-2026-000123");
	/* Never cut: a number longer than the width is written in full. */
	invoice_series_number(&f, 12345678, num, sizeof(num));
	assert_string_equal(num, "INV-2026-12345678");
	/* A new year is a new series (a new counter row). */
	assert_int_equal(invoice_series_render("INV-{YYYY}-{SEQ:6}", "2027-01-01", "invoice.series", &f, &e), 0);
	assert_string_equal(f.key, "INV-2027-{SEQ:6}");
}

static void tokens_and_suffix(void **state)
{
	struct invoice_series_fmt f;
	struct err e;
	char num[INVOICE_SERIES_MAX];

	assert_int_equal(invoice_series_render("{YY}{MM}.{SEQ}_de", "2026-11-22", "x", &f, &e), 0);
	assert_string_equal(f.key, "2611.{SEQ}_de");
	assert_string_equal(f.prefix, "2611.");
	assert_string_equal(f.suffix, "_de");
	assert_int_equal(f.width, 1);
	invoice_series_number(&f, 7, num, sizeof(num));
	assert_string_equal(num, "2611.7_de");
	/* A series without dates counts forever. */
	assert_int_equal(invoice_series_render("CN{SEQ:3}", "2026-11-22", "x", &f, &e), 0);
	assert_string_equal(f.key, "CN{SEQ:3}");
	invoice_series_number(&f, 5, num, sizeof(num));
	assert_string_equal(num, "CN005");
}

static void bad_formats_are_config_errors(void **state)
{
	static const struct {
		const char *format, *says;
	} bad[] = {
		{ "", "is empty" },
		{ "INV-{YYYY}", "exactly one {SEQ}" },
		{ "INV-{SEQ}-{SEQ:2}", "exactly one {SEQ}" },
		{ "INV/{SEQ:6}", "character '/'" },
		{ "INV {SEQ:6}", "character ' '" },
		{ "INV-{DD}-{SEQ}", "unknown token '{DD}'" },
		{ "INV-{SEQ:0}", "width of {SEQ:n}" },
		{ "INV-{SEQ:99}", "width of {SEQ:n}" },
		{ "INV-{SEQ:x}", "width of {SEQ:n}" },
		{ "INV-{SEQ:}", "needs a width" },
		{ "INV-{SEQ", "without '}'" },
		{ "-INV{SEQ}", "start with a letter or digit" },
		{ "INV-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-{SEQ}",
		  "too long" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct invoice_series_fmt f;
		struct err e;
		err_clear(&e);
		if (invoice_series_render(bad[i].format, "2026-01-01", "invoice.series", &f, &e) == 0) {
			fprintf(stderr, "accepted: '%s'\n", bad[i].format);
			fail();
		}
		assert_int_equal(e.kind, ERR_CONFIG);
		if (!strstr(e.message, bad[i].says)) {
			fprintf(stderr, "'%s': message '%s' lacks '%s'\n", bad[i].format, e.message, bad[i].says);
			fail();
		}
		assert_non_null(strstr(e.message, "invoice.series"));
		assert_true(e.hint[0] != '\0');
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(yearly_format_renders_key_prefix_and_width),
		cmocka_unit_test(tokens_and_suffix),
		cmocka_unit_test(bad_formats_are_config_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
