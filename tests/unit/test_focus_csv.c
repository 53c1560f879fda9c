/*
 * test_focus_csv.c - the FOCUS export's CSV writer (reports/focus_csv.c):
 * the header names the columns in table order; a string is quoted with
 * its quotes doubled, a decimal or a date/time is not; a null is the bare
 * word NULL while the text "NULL" stays quoted; lines end with CRLF. A
 * full disk is named with the file, and no file is left; what the writer
 * reports of a file it wrote is the SHA-256 and size of its bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "focus_csv.h"
#include "hash.h"
#include "outfile.h"
#include "support.h"

enum { MAXC = 64 };

/* One row: column name -> value, every other column NULL. */
static void row(const char **values, const char *const *pairs)
{
	for (int c = 0; c < focus_ncolumns; c++)
		values[c] = NULL;
	for (int i = 0; pairs[i]; i += 2) {
		int found = 0;
		for (int c = 0; c < focus_ncolumns; c++)
			if (strcmp(focus_columns[c].name, pairs[i]) == 0) {
				values[c] = pairs[i + 1];
				found = 1;
			}
		assert_true(found);
	}
}

static char *print(const struct focus_rows *rows)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(focus_csv_print(rows, f), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void values_are_quoted_by_type_and_null_is_bare(void **state)
{
	assert_true(focus_ncolumns <= MAXC);
	const char *values[2 * MAXC];
	static const char *const first[] = { "BilledCost", "-12.50", "BillingAccountId", "acme",
					     "BillingAccountName", "ACME \"the\" Inc., Berlin",
					     "BillingPeriodStart", "2026-02-28T23:00:00Z", "ChargeDescription", "NULL",
					     "x_InvoiceLine", "3", NULL };
	static const char *const second[] = { "BilledCost", "0.00", "ChargeDescription", "two\r\nlines", NULL };
	row(values, first);
	row(values + focus_ncolumns, second);
	struct focus_rows rows = { values, 2 };
	char *text = print(&rows);

	/* The header: the table's names, in order, then CRLF. */
	char header[4096] = "";
	for (int c = 0; c < focus_ncolumns; c++)
		snprintf(header + strlen(header), sizeof(header) - strlen(header), "%s%s", c ? "," : "",
			 focus_columns[c].name);
	strcat(header, "\r\n");
	assert_int_equal(strncmp(text, header, strlen(header)), 0);

	/* Each value as its column's type asks, in the column's place. */
	const char *body = text + strlen(header);
	char want[8192] = "";
	for (int r = 0; r < 2; r++) {
		for (int c = 0; c < focus_ncolumns; c++) {
			const char *v = values[r * focus_ncolumns + c];
			const char *shown = !v ? "NULL"
				: strcmp(v, "acme") == 0 ? "\"acme\""
				: strcmp(v, "ACME \"the\" Inc., Berlin") == 0 ? "\"ACME \"\"the\"\" Inc., Berlin\""
				: strcmp(v, "NULL") == 0 ? "\"NULL\""
				: strcmp(v, "two\r\nlines") == 0 ? "\"two\r\nlines\""
				: v;
			snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s%s", c ? "," : "", shown);
		}
		strcat(want, "\r\n");
	}
	assert_string_equal(body, want);
	/* The decimal and the date/time are not quoted. */
	assert_non_null(strstr(body, "-12.50,\"acme\""));
	assert_non_null(strstr(body, ",2026-02-28T23:00:00Z,"));
	free(text);
}

static void an_empty_document_is_its_header(void **state)
{
	struct focus_rows rows = { NULL, 0 };
	char *text = print(&rows);
	assert_non_null(strstr(text, "BilledCost,BillingAccountId,"));
	assert_int_equal(strlen(strstr(text, "\r\n")), 2);
	free(text);
}

static void a_full_disk_is_named_and_leaves_no_file(void **state)
{
	char out[4096], dir[256], path[512], cmd[1200], hex[SHA256_HEX_LEN + 1];
	assert_int_equal(test_tmpdir(dir, sizeof(dir)), 0);
	const char *values[MAXC];
	static const char *const one[] = { "BilledCost", "1.00", "BillingAccountId", "acme", NULL };
	row(values, one);
	struct focus_rows rows = { values, 1 };
	snprintf(path, sizeof(path), "%s/INV-1.focus.csv", dir);
	snprintf(cmd, sizeof(cmd), "ln -sf /dev/full '%s'", path);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	struct err e;
	err_clear(&e);
	assert_int_equal(focus_csv_write(&rows, path, NULL, &e), -1);
	assert_int_equal(e.kind, ERR_IO);
	assert_non_null(strstr(e.message, path));
	assert_non_null(strstr(e.message, "No space left on device (ENOSPC)"));
	assert_int_not_equal(access(path, F_OK), 0);

	struct outfile_sum sum;
	err_clear(&e);
	assert_int_equal(focus_csv_write(&rows, path, &sum, &e), 0);
	assert_int_equal(hash_sha256_file(path, hex, &e), 0);
	assert_string_equal(sum.sha256, hex);
	char *text = print(&rows);
	assert_int_equal(sum.bytes, (long long)strlen(text));
	free(text);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	test_sh(out, sizeof(out), cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(values_are_quoted_by_type_and_null_is_bare),
		cmocka_unit_test(an_empty_document_is_its_header),
		cmocka_unit_test(a_full_disk_is_named_and_leaves_no_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
