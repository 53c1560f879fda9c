/*
 * test_fs.c - unit tests for core/fs.c: a failed write named with its
 * path, its cause and a hint for the causes an operator fixes (ENOSPC,
 * EROFS, EACCES); fs_out keeping the first failed write's errno through
 * stdio's buffering and removing its file (a file size limit stands in
 * for a full disk: writes past it fail with EFBIG), and committing a
 * complete file under its final name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "err.h"
#include "fs.h"

static void the_causes_an_operator_fixes_are_named_with_the_path(void **state)
{
	static const struct {
		int errnum;
		const char *text, *name;
	} cases[] = { { ENOSPC, "No space left on device", "ENOSPC" },
		      { EROFS, "Read-only file system", "EROFS" },
		      { EACCES, "Permission denied", "EACCES" } };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct err e;
		err_clear(&e);
		assert_int_equal(fs_write_error(&e, "/out/run-2/report.html.tmp", cases[i].errnum), -1);
		assert_int_equal(e.kind, ERR_IO);
		char want[256];
		snprintf(want, sizeof(want), "could not write '/out/run-2/report.html.tmp': %s (%s)", cases[i].text,
			 cases[i].name);
		assert_string_equal(e.message, want);
		assert_non_null(strstr(e.hint, cases[i].name));
	}
	struct err e;
	err_clear(&e);
	fs_error(&e, "create directory", "/ro/archive", EROFS);
	assert_string_equal(e.message, "could not create directory '/ro/archive': Read-only file system (EROFS)");
}

static void a_failed_write_is_kept_through_stdio_and_its_file_removed(void **state)
{
	char dir[] = "/tmp/billrun-fs.XXXXXX", path[64], final[64];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f.tmp", dir);
	snprintf(final, sizeof(final), "%s/f", dir);
	struct rlimit old, small = { 4096, 4096 };
	getrlimit(RLIMIT_FSIZE, &old);
	small.rlim_max = old.rlim_max;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);

	struct err e;
	err_clear(&e);
	struct fs_out o;
	assert_int_equal(fs_out_open(&o, path, &e), 0);
	/* 64 kB in small pieces: stdio's buffer fails somewhere inside. */
	for (int i = 0; i < 8192; i++)
		fputs("12345678", o.f);
	int rc = fs_out_commit(&o, final, &e);
	setrlimit(RLIMIT_FSIZE, &old);
	assert_int_equal(rc, -1);
	char want[128];
	snprintf(want, sizeof(want), "could not write '%s': %s (EFBIG)", path, strerror(EFBIG));
	assert_string_equal(e.message, want);
	assert_int_not_equal(access(path, F_OK), 0);
	assert_int_not_equal(access(final, F_OK), 0);

	/* Within the limit, the file is complete under its final name. */
	assert_int_equal(fs_out_open(&o, path, &e), 0);
	fputs("complete\n", o.f);
	assert_int_equal(fs_out_commit(&o, final, &e), 0);
	assert_int_not_equal(access(path, F_OK), 0);
	FILE *f = fopen(final, "r");
	char line[32] = "";
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_string_equal(line, "complete\n");

	/* An abort removes the file. */
	assert_int_equal(fs_out_open(&o, path, &e), 0);
	fs_out_abort(&o);
	assert_int_not_equal(access(path, F_OK), 0);
	unlink(final);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_causes_an_operator_fixes_are_named_with_the_path),
		cmocka_unit_test(a_failed_write_is_kept_through_stdio_and_its_file_removed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
