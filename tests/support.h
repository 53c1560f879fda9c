/*
 * support.h - helpers shared by the test programs: a fresh database per
 * test program, temporary folders, running the billrun binary.
 */
#ifndef BILLRUN_TEST_SUPPORT_H
#define BILLRUN_TEST_SUPPORT_H

#include <stddef.h>

/* TEST_PG_DSN, or NULL when no server is available. */
const char *test_pg_dsn(void);

/*
 * Create (drop first) database NAME on the test server and write its DSN
 * into dsn. Returns 0, or -1 with a message on stderr.
 */
int test_db_fresh(const char *name, char *dsn, size_t size);

/* mkdtemp under /tmp; the path is written into buf. Returns 0 or -1. */
int test_tmpdir(char *buf, size_t size);

/* Write text to path (creating it). Returns 0 or -1. */
int test_write_file(const char *path, const char *text);

/*
 * Run the billrun binary ($BILLRUN_BIN) with argv-style arguments (NULL
 * terminated), capturing stdout+stderr into out (NUL-terminated, cut to
 * size). Returns the exit status, or 128+signal.
 */
int test_billrun(char *out, size_t size, const char *const *args);

/* Run a shell command, capturing output like test_billrun. */
int test_sh(char *out, size_t size, const char *command);

/* Path of a file in the source tree ($BILLRUN_SRC/rel). */
const char *test_src(const char *rel);

#endif
