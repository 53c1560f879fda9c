/*
 * support.h - helpers shared by the test programs: a fresh database per
 * test program, temporary folders, running the billrun binary.
 */
#ifndef BILLRUN_TEST_SUPPORT_H
#define BILLRUN_TEST_SUPPORT_H

#include <stddef.h>
#include <sys/types.h>

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

/* Run billrun -c conf ARGS... (NULL-terminated), capturing output like
 * test_billrun. */
int test_billrun_conf(char *out, size_t size, const char *conf, ...);

/* Start billrun -c conf ARGS... (NULL-terminated) in the background with
 * its output discarded; returns its pid. */
int test_spawn_billrun(const char *conf, ...);

/* First column of the first row of a query as a number; -1 for no row or
 * NULL. A failing query fails the test. */
long long test_q_int(void *conn, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Run a statement on conn; a failure fails the test with the server's
 * message. */
void test_sql(void *conn, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* First column of the first row as text: "" for no row, "NULL" for NULL.
 * The result lives until eight more calls; a failing query fails the test. */
const char *test_q_text(void *conn, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * TEST_TIME_SCALE (default 1; tests/run.sh sets 30 under VALGRIND=1):
 * how much slower than usual billrun runs here. A test whose assertions
 * race real time (a step that must still be running when the next billrun
 * starts, a deadline a step must miss) multiplies its durations by it, so
 * the race keeps the same outcome when each billrun start costs seconds.
 */
double test_time_scale(void);

/* seconds * test_time_scale() as text for a config or a shell command
 * ("2", "0.3", "20"); the result lives until eight more calls. */
const char *test_secs(double seconds);

/* Poll (50 ms) until sql returns want; 1 if it did within 20 s times
 * test_time_scale(). */
int test_wait_for(void *conn, long long want, const char *sql);

/* The config text every integration test shares: state in dir/state, the
 * database, the rules file, then `extra` (top-level settings) and the
 * DAGs (the inside of dags = { ... }). Unless extra has its own ingest
 * group, ingest.settle_time is 0s: spool files written by a test are
 * taken at once. Returns 0 or -1. */
int test_write_config(const char *path, const char *dir, const char *dsn, const char *rules,
		      const char *extra, const char *dags);

#endif
