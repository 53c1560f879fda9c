/*
 * test_outfile.c - a file written whole (core/outfile.c): its SHA-256 and
 * size are those of the bytes on disk; a write that fails (ENOSPC, through
 * /dev/full) is named with the file, the error and a hint, and the file is
 * gone; fs_error's names and hints for a read-only or forbidden file
 * system.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "hash.h"
#include "fs.h"
#include "outfile.h"
#include "support.h"

static char dir[256];

static int setup(void **state)
{
	return test_tmpdir(dir, sizeof(dir));
}

static int teardown(void **state)
{
	char cmd[300], out[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	test_sh(out, sizeof(out), cmd);
	return 0;
}

static void the_sum_is_of_the_bytes_written(void **state)
{
	char path[300], hex[SHA256_HEX_LEN + 1];
	struct outfile f;
	struct outfile_sum sum;
	struct err e;
	err_clear(&e);
	snprintf(path, sizeof(path), "%s/a.txt", dir);
	assert_int_equal(outfile_open(&f, path, &e), 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(outfile_write(&f, "0123456789", 10), 0);
	assert_int_equal(outfile_close(&f, &sum, &e), 0);
	assert_int_equal(sum.bytes, 10000);
	assert_int_equal(hash_sha256_file(path, hex, &e), 0);
	assert_string_equal(sum.sha256, hex);
}

/* /dev/full answers every write with ENOSPC; the file is a link to it,
 * so that removing "the file" removes the link. */
static void a_full_disk_is_named_and_leaves_no_file(void **state)
{
	char path[300], cmd[700], out[256];
	snprintf(path, sizeof(path), "%s/cut.json", dir);
	snprintf(cmd, sizeof(cmd), "ln -s /dev/full '%s'", path);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	struct outfile f;
	struct err e;
	err_clear(&e);
	assert_int_equal(outfile_open(&f, path, &e), 0);
	assert_int_equal(outfile_write(&f, "{}", 2), -1);
	assert_int_equal(outfile_write(&f, "more", 4), -1);
	assert_int_equal(outfile_close(&f, NULL, &e), -1);
	assert_int_equal(e.kind, ERR_IO);
	assert_non_null(strstr(e.message, "could not write '"));
	assert_non_null(strstr(e.message, path));
	assert_non_null(strstr(e.message, "No space left on device (ENOSPC)"));
	assert_non_null(strstr(e.hint, "full"));
	assert_int_not_equal(access(path, F_OK), 0);
	assert_int_equal(access("/dev/full", F_OK), 0);
}

static void a_file_that_cannot_be_created_is_named(void **state)
{
	struct outfile f;
	struct err e;
	err_clear(&e);
	assert_int_equal(outfile_open(&f, "/nonexistent/dir/x.pdf", &e), -1);
	assert_int_equal(e.kind, ERR_IO);
	assert_string_equal(e.message, "could not create '/nonexistent/dir/x.pdf': No such file or directory (ENOENT)");
	outfile_discard(&f);
}

static void read_only_and_forbidden_are_named_with_hints(void **state)
{
	struct err e;
	err_clear(&e);
	assert_int_equal(fs_error(&e, "write", "/ro/x", EROFS), -1);
	assert_string_equal(e.message, "could not write '/ro/x': Read-only file system (EROFS)");
	assert_non_null(strstr(e.hint, "read-only"));
	err_clear(&e);
	fs_error(&e, "create", "/root/x", EACCES);
	assert_string_equal(e.message, "could not create '/root/x': Permission denied (EACCES)");
	assert_non_null(strstr(e.hint, "may not write there"));
	err_clear(&e);
	fs_error(&e, "write", "/full/x", ENOSPC);
	assert_non_null(strstr(e.hint, "full"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(the_sum_is_of_the_bytes_written, setup, teardown),
		cmocka_unit_test_setup_teardown(a_full_disk_is_named_and_leaves_no_file, setup, teardown),
		cmocka_unit_test(a_file_that_cannot_be_created_is_named),
		cmocka_unit_test(read_only_and_forbidden_are_named_with_hints),
	};
	return cmocka_run_group_tests_name("outfile", tests, NULL, NULL);
}
