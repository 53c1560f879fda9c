/*
 * test_csv.c - unit tests for the streaming CSV tokenizer (jobs/csv.c):
 * RFC 4180 quoting, line numbers, raw text, line ends, errors that still
 * return the record, limits, and that reading in tiny pieces gives the
 * same records as reading all at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <cmocka.h>

#include "csv.h"
#include "err.h"

/* Everything a record holds, copied, so records can be compared after
 * the tokenizer has moved on. */
struct rec {
	long long line, lines;
	int nfields;
	char fields[16][256];
	int quoted[16];
	char raw[512];
	enum csv_error error;
	size_t error_field;
	int unterminated;
};

/* Read all records of text with step bytes per read (0 = all at once). */
static int read_all(const char *text, size_t len, size_t step, const struct csv_options *o, struct rec *out,
		    int max, long long *blank)
{
	struct csv_mem m = { text, len, 0, step };
	struct csv_reader *r = csv_new(csv_read_mem, &m, o);
	struct csv_record c;
	struct err e;
	int n = 0, got;
	assert_non_null(r);
	while ((got = csv_next(r, &c, &e)) > 0) {
		assert_true(n < max);
		struct rec *x = &out[n++];
		memset(x, 0, sizeof(*x));
		x->line = c.line_no;
		x->lines = c.line_count;
		x->nfields = (int)c.nfields;
		x->error = c.error;
		x->error_field = c.error_field;
		x->unterminated = c.unterminated;
		snprintf(x->raw, sizeof(x->raw), "%.*s", (int)(c.raw_len < 500 ? c.raw_len : 500), c.raw);
		for (size_t k = 0; k < c.nfields && k < 16; k++) {
			snprintf(x->fields[k], sizeof(x->fields[k]), "%.*s",
				 (int)(c.fields[k].len < 255 ? c.fields[k].len : 255), c.fields[k].p);
			x->quoted[k] = c.fields[k].quoted;
		}
	}
	assert_int_equal(got, 0);
	if (blank)
		*blank = csv_blank_lines(r);
	csv_free(r);
	return n;
}

/* Same records whatever the read size: 1, 2, 3, 7 bytes and all at once. */
static int read_checked(const char *text, const struct csv_options *o, struct rec *out, int max, long long *blank)
{
	size_t len = strlen(text);
	int n = read_all(text, len, 0, o, out, max, blank);
	static const size_t steps[] = { 1, 2, 3, 7 };
	struct rec *other = calloc((size_t)max, sizeof(*other));
	for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		long long b2 = 0;
		int n2 = read_all(text, len, steps[s], o, other, max, &b2);
		assert_int_equal(n2, n);
		assert_memory_equal(other, out, (size_t)n * sizeof(*out));
		if (blank)
			assert_int_equal(b2, *blank);
	}
	free(other);
	return n;
}

static void test_plain_records_and_line_numbers(void **state)
{
	struct rec r[4];
	int n = read_checked("a,b,c\n1,2,3\nx,,z\n", NULL, r, 4, NULL);
	assert_int_equal(n, 3);
	assert_int_equal(r[0].line, 1);
	assert_int_equal(r[2].line, 3);
	assert_int_equal(r[1].nfields, 3);
	assert_string_equal(r[1].fields[2], "3");
	assert_string_equal(r[2].fields[1], "");
	assert_string_equal(r[2].raw, "x,,z");
	assert_int_equal(r[2].error, CSV_OK);
}

static void test_quoted_fields(void **state)
{
	struct rec r[4];
	int n = read_checked("\"a,b\",\"say \"\"hi\"\"\",\"\"\n\"NULL\",NULL\n", NULL, r, 4, NULL);
	assert_int_equal(n, 2);
	assert_int_equal(r[0].nfields, 3);
	assert_string_equal(r[0].fields[0], "a,b");
	assert_string_equal(r[0].fields[1], "say \"hi\"");
	assert_string_equal(r[0].fields[2], "");
	assert_true(r[0].quoted[2]);
	assert_string_equal(r[0].raw, "\"a,b\",\"say \"\"hi\"\"\",\"\"");
	/* a quoted NULL is text, the bare word is what readers treat as missing */
	assert_true(r[1].quoted[0]);
	assert_false(r[1].quoted[1]);
	assert_string_equal(r[1].fields[1], "NULL");
}

static void test_line_break_inside_quotes(void **state)
{
	struct rec r[4];
	int n = read_checked("id,note\n1,\"two\nlines\"\n2,after\n", NULL, r, 4, NULL);
	assert_int_equal(n, 3);
	assert_int_equal(r[1].line, 2);
	assert_int_equal(r[1].lines, 2);
	assert_string_equal(r[1].fields[1], "two\nlines");
	assert_string_equal(r[1].raw, "1,\"two\nlines\"");
	assert_int_equal(r[2].line, 4);
}

static void test_crlf_bom_and_blank_lines(void **state)
{
	struct rec r[4];
	long long blank = 0;
	int n = read_checked("\xEF\xBB\xBF" "a,\"b\"\r\n\r\n\n1,2\r\nlast,row", NULL, r, 4, &blank);
	assert_int_equal(n, 3);
	assert_string_equal(r[0].fields[0], "a");
	assert_string_equal(r[0].raw, "a,\"b\"");
	assert_string_equal(r[0].fields[1], "b");
	assert_int_equal(r[1].line, 4);
	assert_string_equal(r[1].fields[1], "2");
	assert_string_equal(r[1].raw, "1,2");
	assert_int_equal(r[2].line, 5);
	assert_string_equal(r[2].fields[1], "row");
	assert_int_equal(blank, 2);
}

static void test_bad_quotes_still_return_the_record(void **state)
{
	struct rec r[4];
	int n = read_checked("a\"b,c\n\"ab\"c,d\nok,1\n", NULL, r, 4, NULL);
	assert_int_equal(n, 3);
	assert_int_equal(r[0].error, CSV_BAD_QUOTE);
	assert_int_equal(r[0].error_field, 0);
	assert_string_equal(r[0].raw, "a\"b,c");
	assert_int_equal(r[1].error, CSV_BAD_QUOTE);
	assert_string_equal(r[1].raw, "\"ab\"c,d");
	/* the next record is not affected */
	assert_int_equal(r[2].error, CSV_OK);
	assert_int_equal(r[2].line, 3);
}

static void test_unterminated_quote_at_end(void **state)
{
	struct rec r[4];
	int n = read_checked("a,b\n1,\"open\n2,3\n", NULL, r, 4, NULL);
	assert_int_equal(n, 2);
	assert_int_equal(r[1].error, CSV_UNTERMINATED_QUOTE);
	assert_int_equal(r[1].line, 2);
	assert_string_equal(r[1].raw, "1,\"open\n2,3\n");
}

static void test_a_last_record_without_line_end_is_marked(void **state)
{
	struct rec r[4];
	/* cut inside the last field, in a CRLF file after the CR, inside a quote */
	int n = read_checked("a,b\n1,2\n3,31", NULL, r, 4, NULL);
	assert_int_equal(n, 3);
	assert_int_equal(r[1].unterminated, 0);
	assert_int_equal(r[2].unterminated, 1);
	assert_string_equal(r[2].raw, "3,31");
	assert_int_equal(r[2].error, CSV_OK);
	n = read_checked("a,b\r\n1,2\r", NULL, r, 4, NULL);
	assert_int_equal(n, 2);
	assert_int_equal(r[1].unterminated, 1);
	assert_string_equal(r[1].raw, "1,2");
	n = read_checked("a,b\n1,\"op", NULL, r, 4, NULL);
	assert_int_equal(r[1].unterminated, 1);
	assert_int_equal(r[1].error, CSV_UNTERMINATED_QUOTE);
	/* whole files: a final line end, blank lines after it, an open quote
	 * that the sender ended with a line end */
	n = read_checked("a,b\n1,2\n", NULL, r, 4, NULL);
	assert_int_equal(r[1].unterminated, 0);
	n = read_checked("a,b\n1,2\n\n\n", NULL, r, 4, NULL);
	assert_int_equal(n, 2);
	assert_int_equal(r[1].unterminated, 0);
	n = read_checked("a,b\n1,\"open\n", NULL, r, 4, NULL);
	assert_int_equal(r[1].unterminated, 0);
	/* a header alone, cut */
	n = read_checked("a,b", NULL, r, 4, NULL);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].unterminated, 1);
}

static void test_field_too_long(void **state)
{
	struct csv_options o;
	csv_options_init(&o);
	o.max_field = 4;
	struct rec r[4];
	int n = read_checked("abcd,abcde\n1,2\n", &o, r, 4, NULL);
	assert_int_equal(n, 2);
	assert_int_equal(r[0].error, CSV_FIELD_TOO_LONG);
	assert_int_equal(r[0].error_field, 1);
	assert_int_equal(r[1].error, CSV_OK);
}

static void test_record_too_long_skips_its_line(void **state)
{
	struct csv_options o;
	csv_options_init(&o);
	o.max_record = 64;
	char text[512];
	memset(text, 'x', 200);
	text[200] = '\0';
	char all[1024];
	snprintf(all, sizeof(all), "a,b\n%s,\"q\nstill\"\nnext,1\n", text);
	struct rec r[5];
	int n = read_checked(all, &o, r, 5, NULL);
	assert_int_equal(n, 4);
	assert_int_equal(r[1].error, CSV_RECORD_TOO_LONG);
	assert_int_equal(r[1].nfields, 0);
	assert_int_equal(strlen(r[1].raw), 64);
	/* The rest of the physical line was skipped; the quoted line break
	 * beyond it starts the next (bad) record, then 'next,1' is read. */
	assert_int_equal(r[1].line, 2);
	assert_int_equal(r[2].line, 3);
	assert_string_equal(r[2].raw, "still\"");
	assert_int_equal(r[2].error, CSV_BAD_QUOTE);
	assert_int_equal(r[3].line, 4);
	assert_string_equal(r[3].raw, "next,1");
	n = read_checked("a\nnext,1\n", &o, r, 4, NULL);
	assert_int_equal(n, 2);
}

static void test_too_many_fields(void **state)
{
	struct csv_options o;
	csv_options_init(&o);
	o.max_fields = 3;
	struct rec r[2];
	int n = read_checked("1,2,3,4,5\n", &o, r, 2, NULL);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].error, CSV_TOO_MANY_FIELDS);
	assert_int_equal(r[0].nfields, 3);
	/* a field too long past the limit on fields is not the one reported */
	o.max_field = 2;
	n = read_checked("1,2,3,4444\n", &o, r, 2, NULL);
	assert_int_equal(r[0].error, CSV_TOO_MANY_FIELDS);
}

static void test_empty_input(void **state)
{
	struct rec r[1];
	long long blank = 0;
	assert_int_equal(read_checked("", NULL, r, 1, &blank), 0);
	assert_int_equal(read_checked("\n\n", NULL, r, 1, &blank), 0);
	assert_int_equal(blank, 2);
	assert_int_equal(read_checked("\xEF\xBB\xBF", NULL, r, 1, NULL), 0);
}

/* A generator of N identical records, read in 64 KiB pieces. */
struct gen {
	long long left;
	size_t pos;
};
static const char gen_line[] = "ev-000000000001,acct-000001,api_calls,2026-01-15T10:00:00Z,12.345,\"x,y\"\n";

static ssize_t gen_read(void *ctx, char *buf, size_t cap, struct err *e)
{
	struct gen *g = ctx;
	size_t n = 0, len = sizeof(gen_line) - 1;
	while (n < cap && g->left > 0) {
		size_t take = len - g->pos;
		if (take > cap - n)
			take = cap - n;
		memcpy(buf + n, gen_line + g->pos, take);
		n += take;
		g->pos += take;
		if (g->pos == len) {
			g->pos = 0;
			g->left--;
		}
	}
	return (ssize_t)n;
}

static long max_rss_kb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static void test_memory_does_not_grow_with_input(void **state)
{
	/* ~150 MB of records: the tokenizer must hold only a record or two. */
	struct gen g = { 2000000, 0 };
	long before = max_rss_kb();
	struct csv_reader *r = csv_new(gen_read, &g, NULL);
	struct csv_record c;
	struct err e;
	long long n = 0;
	while (csv_next(r, &c, &e) > 0) {
		n++;
		assert_int_equal(c.nfields, 6);
	}
	csv_free(r);
	assert_int_equal(n, 2000000);
	assert_true(max_rss_kb() - before < 8 * 1024);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_records_and_line_numbers),
		cmocka_unit_test(test_quoted_fields),
		cmocka_unit_test(test_line_break_inside_quotes),
		cmocka_unit_test(test_crlf_bom_and_blank_lines),
		cmocka_unit_test(test_bad_quotes_still_return_the_record),
		cmocka_unit_test(test_unterminated_quote_at_end),
		cmocka_unit_test(test_a_last_record_without_line_end_is_marked),
		cmocka_unit_test(test_field_too_long),
		cmocka_unit_test(test_record_too_long_skips_its_line),
		cmocka_unit_test(test_too_many_fields),
		cmocka_unit_test(test_empty_input),
		cmocka_unit_test(test_memory_does_not_grow_with_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
