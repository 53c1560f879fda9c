/*
 * test_db.c - integration tests for PostgreSQL access (core/db.c) against
 * the test server (TEST_PG_DSN), in a database of their own: parameters
 * carry data verbatim, NULLs, transactions, COPY text and binary, server
 * errors with SQLSTATE, detail and hint, connecting with and without
 * retries, serialization failures and terminated backends, pipelines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "db.h"
#include "err.h"
#include "support.h"

#define TEST_DB "billrun_test_db"

static char dsn[4096];

#define assert_contains(hay, needle) do { \
	if (!strstr((hay), (needle))) \
		fail_msg("'%s' does not contain '%s'", (hay), (needle)); \
} while (0)

static int group_setup(void **state)
{
	if (!test_pg_dsn())
		return 0; /* every test skips */
	return test_db_fresh(TEST_DB, dsn, sizeof(dsn));
}

/* Connections of the running test: freed by the teardown, so that a
 * failed assertion does not leak them. */
static struct db *open_dbs[4];

static int teardown(void **state)
{
	for (size_t i = 0; i < sizeof(open_dbs) / sizeof(open_dbs[0]); i++) {
		db_free(open_dbs[i]);
		open_dbs[i] = NULL;
	}
	return 0;
}

static struct db *connect_or_skip(void)
{
	struct err e;
	if (!test_pg_dsn()) {
		print_message("TEST_PG_DSN is not set; skipping\n");
		skip();
	}
	err_clear(&e);
	struct db *db = db_connect(dsn, 0, &e);
	if (!db)
		fail_msg("cannot connect: %s (%s)", e.message, e.detail);
	for (size_t i = 0; i < sizeof(open_dbs) / sizeof(open_dbs[0]); i++)
		if (!open_dbs[i]) {
			open_dbs[i] = db;
			return db;
		}
	fail_msg("too many connections in one test");
	return NULL;
}

/* Run sql that must succeed. */
static void must(struct db *db, const char *sql)
{
	struct err e;
	err_clear(&e);
	if (db_exec(db, &e, sql, 0, NULL) != 0)
		fail_msg("'%s' failed: %s", sql, e.message);
}

static int64_t count(struct db *db, const char *sql)
{
	struct err e;
	int64_t n = -1;
	if (db_query_int64(db, &e, &n, sql, 0, NULL) != 0)
		fail_msg("'%s' failed: %s", sql, e.message);
	return n;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- parameters ---- */

static void parameters_round_trip_text_verbatim(void **state)
{
	static const char *const values[] = {
		"O'Reilly",
		"back\\slash \\\\ and \\x41",
		"'; DROP TABLE params; --",
		"\"; DELETE FROM params WHERE ''='",
		"Zürich – 東京 – 🎉",
		"tab\tnewline\ncarriage\r",
		"$1 $2 %s %n ?",
		"E'\\\\' || chr(39)",
		"",
	};
	const size_t n = sizeof(values) / sizeof(values[0]);
	struct db *db = connect_or_skip();
	struct err e;

	must(db, "DROP TABLE IF EXISTS params");
	must(db, "CREATE TABLE params (id int PRIMARY KEY, v text)");
	for (size_t i = 0; i < n; i++) {
		char id[16];
		snprintf(id, sizeof(id), "%zu", i);
		const char *p[] = { id, values[i] };
		if (db_exec(db, &e, "INSERT INTO params (id, v) VALUES ($1, $2)", 2, p))
			fail_msg("insert of '%s' failed: %s", values[i], e.message);
	}
	/* The table survived the would-be injections and holds every value. */
	assert_int_equal(count(db, "SELECT count(*) FROM params"), (int64_t)n);
	for (size_t i = 0; i < n; i++) {
		char id[16];
		snprintf(id, sizeof(id), "%zu", i);
		const char *p[] = { id };
		PGresult *r = db_query(db, &e, "SELECT v, length(v) FROM params WHERE id = $1", 1, p);
		assert_non_null(r);
		assert_int_equal(PQntuples(r), 1);
		assert_string_equal(PQgetvalue(r, 0, 0), values[i]);
		PQclear(r);
		/* And a parameter compared in SQL matches the stored text. */
		const char *q[] = { values[i] };
		PGresult *r2 = db_query(db, &e, "SELECT id FROM params WHERE v = $1", 1, q);
		assert_non_null(r2);
		assert_int_equal(PQntuples(r2), 1);
		assert_string_equal(PQgetvalue(r2, 0, 0), id);
		PQclear(r2);
	}
}

static void null_parameters_are_sql_null(void **state)
{
	struct db *db = connect_or_skip();
	struct err e;

	must(db, "DROP TABLE IF EXISTS nulls");
	must(db, "CREATE TABLE nulls (id int, v text)");
	const char *p[] = { "1", NULL };
	assert_int_equal(db_exec(db, &e, "INSERT INTO nulls VALUES ($1, $2)", 2, p), 0);
	assert_int_equal(count(db, "SELECT count(*) FROM nulls WHERE v IS NULL"), 1);
	const char *q[] = { NULL };
	PGresult *r = db_query(db, &e, "SELECT $1::text IS NULL, $1::text", 1, q);
	assert_non_null(r);
	assert_string_equal(PQgetvalue(r, 0, 0), "t");
	assert_true(PQgetisnull(r, 0, 1));
	PQclear(r);
}

static void query_int64_tells_value_no_row_and_error_apart(void **state)
{
	struct db *db = connect_or_skip();
	struct err e;
	int64_t v = 0;

	assert_int_equal(db_query_int64(db, &e, &v, "SELECT 9007199254740993::bigint", 0, NULL), 0);
	assert_true(v == INT64_C(9007199254740993));
	assert_int_equal(db_query_int64(db, &e, &v, "SELECT 1 WHERE false", 0, NULL), 1);
	assert_int_equal(db_query_int64(db, &e, &v, "SELECT NULL::bigint", 0, NULL), 1);
	err_clear(&e);
	assert_int_equal(db_query_int64(db, &e, &v, "SELECT 1/0", 0, NULL), -1);
	assert_string_equal(e.sqlstate, "22012");
}

/* ---- transactions ---- */

static void committed_transaction_is_visible_to_others(void **state)
{
	struct db *db = connect_or_skip(), *other = connect_or_skip();
	struct err e;

	must(db, "DROP TABLE IF EXISTS tx");
	must(db, "CREATE TABLE tx (v int)");
	assert_int_equal(db_begin(db, &e), 0);
	assert_true(db->in_tx);
	must(db, "INSERT INTO tx VALUES (1)");
	assert_int_equal(count(other, "SELECT count(*) FROM tx"), 0); /* not yet */
	assert_int_equal(db_commit(db, &e), 0);
	assert_false(db->in_tx);
	assert_int_equal(count(other, "SELECT count(*) FROM tx"), 1);
}

static void rolled_back_transaction_leaves_nothing(void **state)
{
	struct db *db = connect_or_skip();
	struct err e;

	must(db, "DROP TABLE IF EXISTS rb");
	must(db, "CREATE TABLE rb (v int)");
	assert_int_equal(db_begin(db, &e), 0);
	must(db, "INSERT INTO rb VALUES (1)");
	db_rollback(db);
	assert_false(db->in_tx);
	assert_int_equal(count(db, "SELECT count(*) FROM rb"), 0);
	/* Rolling back with no transaction open is harmless. */
	db_rollback(db);
	db_rollback(NULL);
	assert_int_equal(count(db, "SELECT 1"), 1);
}

static void failed_statement_in_a_transaction_rolls_back_cleanly(void **state)
{
	struct db *db = connect_or_skip();
	struct err e;

	must(db, "DROP TABLE IF EXISTS fs");
	must(db, "CREATE TABLE fs (v int)");
	assert_int_equal(db_begin(db, &e), 0);
	must(db, "INSERT INTO fs VALUES (1)");
	err_clear(&e);
	assert_int_equal(db_exec(db, &e, "INSERT INTO fs VALUES ('not a number')", 0, NULL), -1);
	assert_string_equal(e.sqlstate, "22P02");
	/* The transaction is aborted until rolled back. */
	assert_int_equal(db_exec(db, &e, "SELECT 1", 0, NULL), -1);
	assert_string_equal(e.sqlstate, "25P02");
	db_rollback(db);
	assert_int_equal(count(db, "SELECT count(*) FROM fs"), 0);
}

/* ---- COPY ---- */

static void copy_text_loads_rows_with_escapes_and_nulls(void **state)
{
	struct db *db = connect_or_skip();
	struct err e;
	static const char rows[] = "1\tplain\n"
				   "2\ttab\\there\n"
				   "3\t\\N\n"
				   "4\tZürich 'q' \"d\"\n";

	must(db, "DROP TABLE IF EXISTS ct");
	must(db, "CREATE TABLE ct (id int, v text)");
	assert_int_equal(db_copy_begin(db, &e, "COPY ct (id, v) FROM STDIN"), 0);
	/* Sent in two chunks that split a row. */
	assert_int_equal(db_copy_put(db, &e, rows, 20), 0);
	assert_int_equal(db_copy_put(db, &e, rows + 20, sizeof(rows) - 1 - 20), 0);
	assert_int_equal(db_copy_end(db, &e), 0);
	assert_int_equal(count(db, "SELECT count(*) FROM ct"), 4);
	PGresult *r = db_query(db, &e, "SELECT v FROM ct ORDER BY id", 0, NULL);
	assert_non_null(r);
	assert_string_equal(PQgetvalue(r, 0, 0), "plain");
	assert_string_equal(PQgetvalue(r, 1, 0), "tab\there");
	assert_true(PQgetisnull(r, 2, 0));
	assert_string_equal(PQgetvalue(r, 3, 0), "Zürich 'q' \"d\"");
	PQclear(r);
}

static void copy_binary_loads_every_field_type(void **state)
{
	struct db *db = connect_or_skip();
	struct err e;
	struct copybuf b = { 0 };
	static const char text_with_controls[] = "a\tb\nc\\d 'e' \"f\" ü";

	must(db, "DROP TABLE IF EXISTS cb");
	must(db, "CREATE TABLE cb (id int, big bigint, t text)");
	copybuf_header(&b);
	copybuf_row(&b, 3);
	copybuf_int32(&b, 1);
	copybuf_int64(&b, INT64_C(-1234567890123456789));
	copybuf_text(&b, text_with_controls, strlen(text_with_controls));
	copybuf_row(&b, 3);
	copybuf_int32(&b, -2147483647 - 1);
	copybuf_int64(&b, INT64_MAX);
	copybuf_null(&b);
	copybuf_row(&b, 3);
	copybuf_int32(&b, 3);
	copybuf_null(&b);
	copybuf_text(&b, "", 0);
	copybuf_trailer(&b);
	assert_int_equal(db_copy_begin(db, &e, "COPY cb (id, big, t) FROM STDIN (FORMAT binary)"), 0);
	assert_int_equal(db_copy_put(db, &e, b.data, b.len), 0);
	if (db_copy_end(db, &e) != 0)
		fail_msg("binary COPY failed: %s", e.message);
	copybuf_release(&b);
	assert_null(b.data);

	PGresult *r = db_query(db, &e, "SELECT id, big, t, t IS NULL, big IS NULL FROM cb ORDER BY big NULLS LAST", 0, NULL);
	assert_non_null(r);
	assert_int_equal(PQntuples(r), 3);
	assert_string_equal(PQgetvalue(r, 0, 0), "1");
	assert_string_equal(PQgetvalue(r, 0, 1), "-1234567890123456789");
	assert_string_equal(PQgetvalue(r, 0, 2), text_with_controls);
	assert_string_equal(PQgetvalue(r, 1, 0), "-2147483648");
	assert_string_equal(PQgetvalue(r, 1, 1), "9223372036854775807");
	assert_string_equal(PQgetvalue(r, 1, 3), "t");
	assert_string_equal(PQgetvalue(r, 2, 0), "3");
	assert_string_equal(PQgetvalue(r, 2, 4), "t");
	assert_string_equal(PQgetvalue(r, 2, 2), "");
	assert_string_equal(PQgetvalue(r, 2, 3), "f"); /* empty text is not NULL */
	PQclear(r);
}

static void copy_binary_buffer_grows_and_resets_for_chunks(void **state)
{
	struct db *db = connect_or_skip();
	struct err e;
	struct copybuf b = { 0 };
	char t[64];

	must(db, "DROP TABLE IF EXISTS cg");
	must(db, "CREATE TABLE cg (id bigint, t text)");
	assert_int_equal(db_copy_begin(db, &e, "COPY cg FROM STDIN (FORMAT binary)"), 0);
	copybuf_header(&b);
	for (int i = 0; i < 20000; i++) {
		copybuf_row(&b, 2);
		copybuf_int64(&b, i);
		int len = snprintf(t, sizeof(t), "row %d of twenty thousand", i);
		copybuf_text(&b, t, (size_t)len);
		if (i == 9999) { /* flush the first half (past the 64 KiB start) */
			assert_true(b.len > 65536);
			assert_int_equal(db_copy_put(db, &e, b.data, b.len), 0);
			copybuf_reset(&b);
			assert_int_equal(b.len, 0);
		}
	}
	copybuf_trailer(&b);
	assert_int_equal(db_copy_put(db, &e, b.data, b.len), 0);
	assert_int_equal(db_copy_end(db, &e), 0);
	copybuf_release(&b);
	assert_int_equal(count(db, "SELECT count(*) FROM cg"), 20000);
	assert_int_equal(count(db, "SELECT sum(id) FROM cg"), (int64_t)19999 * 20000 / 2);
	assert_int_equal(count(db, "SELECT count(*) FROM cg WHERE t = 'row ' || id || ' of twenty thousand'"), 20000);
}

static void bad_copy_row_returns_the_server_error_with_sqlstate(void **state)
{
	struct db *db = connect_or_skip();
	struct err e;
	static const char rows[] = "1\tok\nnot-a-number\tbad\n";

	must(db, "DROP TABLE IF EXISTS cbad");
	must(db, "CREATE TABLE cbad (id int, v text)");
	assert_int_equal(db_copy_begin(db, &e, "COPY cbad FROM STDIN"), 0);
	assert_int_equal(db_copy_put(db, &e, rows, sizeof(rows) - 1), 0);
	err_clear(&e);
	assert_int_equal(db_copy_end(db, &e), -1);
	assert_int_equal(e.kind, ERR_DB);
	assert_string_equal(e.sqlstate, "22P02");
	assert_contains(e.message, "COPY failed: invalid input syntax for type integer");
	assert_false(err_is_retryable(&e));
	/* Nothing of the COPY is kept, and the connection still works. */
	assert_int_equal(count(db, "SELECT count(*) FROM cbad"), 0);
}

static void bad_binary_copy_returns_the_server_error(void **state)
{
	struct db *db = connect_or_skip();
	struct err e;
	struct copybuf b = { 0 };

	must(db, "DROP TABLE IF EXISTS cbb");
	must(db, "CREATE TABLE cbb (id int, v text)");
	copybuf_header(&b);
	copybuf_row(&b, 1); /* one field for a two-column table */
	copybuf_int32(&b, 1);
	copybuf_trailer(&b);
	assert_int_equal(db_copy_begin(db, &e, "COPY cbb FROM STDIN (FORMAT binary)"), 0);
	db_copy_put(db, &e, b.data, b.len);
	err_clear(&e);
	assert_int_equal(db_copy_end(db, &e), -1);
	assert_int_equal(e.kind, ERR_DB);
	assert_string_equal(e.sqlstate, "22P04");
	copybuf_release(&b);
	assert_int_equal(count(db, "SELECT count(*) FROM cbb"), 0);
}

static void copy_into_a_missing_table_fails_at_begin(void **state)
{
	struct db *db = connect_or_skip();
	struct err e;
	err_clear(&e);
	assert_int_equal(db_copy_begin(db, &e, "COPY no_such_table FROM STDIN"), -1);
	assert_string_equal(e.sqlstate, "42P01");
	assert_contains(e.message, "no_such_table");
	assert_int_equal(count(db, "SELECT 1"), 1);
}

/* ---- server errors ---- */

static void unique_violation_carries_sqlstate_and_detail(void **state)
{
	struct db *db = connect_or_skip();
	struct err e;

	must(db, "DROP TABLE IF EXISTS uq");
	must(db, "CREATE TABLE uq (k text UNIQUE)");
	const char *p[] = { "acme-1" };
	assert_int_equal(db_exec(db, &e, "-- uq_insert\nINSERT INTO uq VALUES ($1)", 1, p), 0);
	err_clear(&e);
	assert_int_equal(db_exec(db, &e, "-- uq_insert\nINSERT INTO uq VALUES ($1)", 1, p), -1);
	assert_int_equal(e.kind, ERR_DB);
	assert_string_equal(e.sqlstate, "23505");
	assert_contains(e.message, "statement 'uq_insert' failed: duplicate key value violates unique constraint");
	assert_string_equal(e.detail, "Key (k)=(acme-1) already exists.");
	assert_false(err_is_retryable(&e));
	assert_int_equal(err_exit_status(e.kind), 70);
}

static void server_detail_and_hint_are_carried(void **state)
{
	struct db *db = connect_or_skip();
	struct err e;
	err_clear(&e);
	assert_int_equal(db_exec_script(db, &e,
					"DO $$ BEGIN RAISE EXCEPTION 'rate card % missing', 'v7' "
					"USING DETAIL = 'no row for v7', HINT = 'load it first', "
					"ERRCODE = 'P0002'; END $$"),
			 -1);
	assert_int_equal(e.kind, ERR_DB);
	assert_contains(e.message, "rate card v7 missing");
	assert_string_equal(e.detail, "no row for v7");
	assert_string_equal(e.hint, "load it first");
	assert_string_equal(e.sqlstate, "P0002");
}

static void script_runs_several_statements_and_stops_at_an_error(void **state)
{
	struct db *db = connect_or_skip();
	struct err e;
	assert_int_equal(db_exec_script(db, &e,
					"DROP TABLE IF EXISTS sc; CREATE TABLE sc (v int); "
					"INSERT INTO sc VALUES (1); INSERT INTO sc VALUES (2);"),
			 0);
	assert_int_equal(count(db, "SELECT count(*) FROM sc"), 2);
	err_clear(&e);
	assert_int_equal(db_exec_script(db, &e, "INSERT INTO sc VALUES (3); SELEC 1; INSERT INTO sc VALUES (4);"), -1);
	assert_string_equal(e.sqlstate, "42601");
	/* A multi-statement string is one implicit transaction. */
	assert_int_equal(count(db, "SELECT count(*) FROM sc"), 2);
	assert_int_equal(db_exec_script(db, &e, ""), 0);
}

/* ---- connecting ---- */

static void connect_to_a_missing_socket_dir_fails_fast_without_retries(void **state)
{
	struct err e;
	err_clear(&e);
	double t0 = now_s();
	struct db *db = db_connect("host=/nonexistent/billrun-socket port=5432 user=x dbname=x", 0, &e);
	double took = now_s() - t0;
	assert_null(db);
	assert_int_equal(e.kind, ERR_DB_UNAVAILABLE);
	assert_int_equal(err_exit_status(e.kind), 69);
	assert_contains(e.message, "could not connect to the database");
	assert_contains(e.detail, "/nonexistent/billrun-socket");
	assert_true(e.hint[0] != '\0');
	assert_true(err_is_retryable(&e));
	if (took > 1.0)
		fail_msg("took %.2f s with no retries", took);
}

static void connect_retries_with_a_growing_delay(void **state)
{
	struct err e;
	double t0 = now_s();
	/* 2 retries: 200 ms + 400 ms of waiting. */
	struct db *db = db_connect("host=/nonexistent/billrun-socket port=5432 user=x dbname=x", 2, &e);
	double took = now_s() - t0;
	assert_null(db);
	assert_int_equal(e.kind, ERR_DB_UNAVAILABLE);
	if (took < 0.55 || took > 3.0)
		fail_msg("2 retries took %.2f s, expected about 0.6 s", took);
}

static void connect_does_not_retry_a_missing_database(void **state)
{
	struct err e;
	char bad[4200];
	if (!test_pg_dsn())
		skip();
	snprintf(bad, sizeof(bad), "%s dbname=billrun_no_such_database", test_pg_dsn());
	double t0 = now_s();
	struct db *db = db_connect(bad, 5, &e);
	double took = now_s() - t0;
	assert_null(db);
	assert_int_equal(e.kind, ERR_DB_UNAVAILABLE);
	assert_contains(e.detail, "billrun_no_such_database");
	if (took > 0.5)
		fail_msg("a missing database was retried (%.2f s)", took);
}

/* A DSN libpq cannot parse: a configuration error at once, naming the
 * key, never retried and never showing a password. */
static void a_dsn_libpq_cannot_parse_is_a_config_error_at_once(void **state)
{
	struct err e;
	char why[256];
	err_clear(&e);
	assert_int_equal(db_dsn_check("host=/tmp dbname=x", why, sizeof(why)), 0);
	assert_int_equal(db_dsn_check("host='/tmp dbname=x", why, sizeof(why)), -1);
	assert_contains(why, "unterminated quoted string");
	/* libpq quotes what it could not read; with a password about, not here. */
	assert_int_equal(db_dsn_check("host=/tmp password=s3cret tail", why, sizeof(why)), -1);
	assert_contains(why, "missing \"=\" after \"...\"");
	assert_true(strstr(why, "tail") == NULL && strstr(why, "s3cret") == NULL);
	/* A config error, not "unavailable" after five retries. */
	struct db *db = db_connect_key("host='/nonexistent user=x password=s3cret", "database.app_dsn", 5, &e);
	assert_null(db);
	assert_int_equal(e.kind, ERR_CONFIG);
	assert_int_equal(err_exit_status(e.kind), 78);
	assert_contains(e.message, "libpq cannot parse database.app_dsn: unterminated quoted string");
	assert_true(strstr(e.message, "s3cret") == NULL && strstr(e.detail, "s3cret") == NULL);
}

/* ---- retryable failures ---- */

static void write_skew_at_serializable_is_a_retryable_serialization_failure(void **state)
{
	struct db *a = connect_or_skip(), *b = connect_or_skip();
	struct err e;
	int64_t n;

	must(a, "DROP TABLE IF EXISTS on_call");
	must(a, "CREATE TABLE on_call (doctor text PRIMARY KEY, on_call boolean NOT NULL)");
	must(a, "INSERT INTO on_call VALUES ('alice', true), ('bob', true)");
	assert_int_equal(db_begin(a, &e), 0);
	must(a, "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE");
	assert_int_equal(db_begin(b, &e), 0);
	must(b, "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE");
	/* Each sees two doctors on call and takes one off: a write skew. */
	assert_int_equal(count(a, "SELECT count(*) FROM on_call WHERE on_call"), 2);
	assert_int_equal(count(b, "SELECT count(*) FROM on_call WHERE on_call"), 2);
	must(a, "UPDATE on_call SET on_call = false WHERE doctor = 'alice'");
	err_clear(&e);
	int failed = db_exec(b, &e, "UPDATE on_call SET on_call = false WHERE doctor = 'bob'", 0, NULL) != 0;
	struct err ea;
	err_clear(&ea);
	assert_int_equal(db_commit(a, &ea), 0);
	if (!failed)
		failed = db_commit(b, &e) != 0;
	else
		db_rollback(b);
	assert_true(failed);
	assert_string_equal(e.sqlstate, "40001");
	assert_true(err_is_retryable(&e));
	/* One doctor is still on call. */
	assert_int_equal(db_query_int64(a, &e, &n, "SELECT count(*) FROM on_call WHERE on_call", 0, NULL), 0);
	assert_int_equal(n, 1);
}

static void terminated_backend_is_db_unavailable(void **state)
{
	struct db *victim = connect_or_skip(), *admin = connect_or_skip();
	struct err e;
	char pid[32];

	snprintf(pid, sizeof(pid), "%lld", (long long)count(victim, "SELECT pg_backend_pid()"));
	const char *p[] = { pid };
	PGresult *r = db_query(admin, &e, "SELECT pg_terminate_backend($1::int, 5000)", 1, p);
	assert_non_null(r);
	assert_string_equal(PQgetvalue(r, 0, 0), "t");
	PQclear(r);
	err_clear(&e);
	assert_int_equal(db_exec(victim, &e, "SELECT 1", 0, NULL), -1);
	assert_int_equal(e.kind, ERR_DB_UNAVAILABLE);
	assert_int_equal(err_exit_status(e.kind), 69);
	assert_true(err_is_retryable(&e));
	assert_true(e.sqlstate[0] != '\0');
	assert_false(db_ok(victim));
}

static void a_null_error_is_allowed_on_a_lost_connection(void **state)
{
	/* Callers that do not care why (best-effort unlocks) pass NULL. */
	struct db *victim = connect_or_skip(), *admin = connect_or_skip();
	struct err e;
	char pid[32];

	snprintf(pid, sizeof(pid), "%lld", (long long)count(victim, "SELECT pg_backend_pid()"));
	const char *p[] = { pid };
	assert_int_equal(db_exec(admin, &e, "SELECT pg_terminate_backend($1::int, 5000)", 1, p), 0);
	assert_int_equal(db_exec(victim, NULL, "SELECT 1", 0, NULL), -1);
	assert_null(db_query(victim, NULL, "SELECT 1", 0, NULL));
	assert_int_equal(db_exec_script(victim, NULL, "SELECT 1; SELECT 2"), -1);
	assert_int_equal(db_copy_begin(victim, NULL, "COPY x FROM STDIN"), -1);
	assert_false(db_ok(victim));
}

/* ---- pipelines ---- */

static void a_pipeline_commits_its_statements_together(void **state)
{
	struct db *db = connect_or_skip(), *other = connect_or_skip();
	struct err e;
	err_clear(&e);

	must(db, "DROP TABLE IF EXISTS pl");
	must(db, "CREATE TABLE pl (v int)");
	assert_int_equal(db_pipeline_begin(db, &e), 0);
	for (int i = 1; i <= 3; i++) {
		char v[16];
		snprintf(v, sizeof(v), "%d", i);
		const char *p[] = { v };
		assert_int_equal(db_pipeline_send(db, &e, "INSERT INTO pl VALUES ($1)", 1, p), 0);
	}
	/* Sent, not committed: nobody sees them before the end. */
	assert_int_equal(count(other, "SELECT count(*) FROM pl"), 0);
	assert_int_equal(db_pipeline_end(db, &e), 0);
	assert_int_equal(count(other, "SELECT sum(v) FROM pl"), 6);
	/* The connection is back to one statement at a time. */
	assert_int_equal(count(db, "SELECT count(*) FROM pl"), 3);
}

static void a_failed_statement_in_a_pipeline_undoes_the_whole_pipeline(void **state)
{
	struct db *db = connect_or_skip();
	struct err e;
	err_clear(&e);

	must(db, "DROP TABLE IF EXISTS pf");
	must(db, "CREATE TABLE pf (v int)");
	assert_int_equal(db_pipeline_begin(db, &e), 0);
	assert_int_equal(db_pipeline_send(db, &e, "INSERT INTO pf VALUES (1)", 0, NULL), 0);
	assert_int_equal(db_pipeline_send(db, &e, "INSERT INTO pf VALUES ('not a number')", 0, NULL), 0);
	assert_int_equal(db_pipeline_send(db, &e, "INSERT INTO pf VALUES (3)", 0, NULL), 0);
	assert_int_equal(db_pipeline_end(db, &e), -1);
	assert_string_equal(e.sqlstate, "22P02");
	assert_contains(e.message, "pipeline of 3 statements");
	assert_int_equal(count(db, "SELECT count(*) FROM pf"), 0);
}

static void a_pipeline_on_a_lost_connection_is_db_unavailable(void **state)
{
	struct db *victim = connect_or_skip(), *admin = connect_or_skip();
	struct err e;
	char pid[32];
	err_clear(&e);

	snprintf(pid, sizeof(pid), "%lld", (long long)count(victim, "SELECT pg_backend_pid()"));
	const char *p[] = { pid };
	assert_int_equal(db_exec(admin, &e, "SELECT pg_terminate_backend($1::int, 5000)", 1, p), 0);
	assert_int_equal(db_pipeline_begin(victim, &e), 0);
	/* The send may still succeed (the socket takes it); the end cannot. */
	db_pipeline_send(victim, &e, "SELECT 1", 0, NULL);
	err_clear(&e);
	assert_int_equal(db_pipeline_end(victim, &e), -1);
	assert_int_equal(e.kind, ERR_DB_UNAVAILABLE);
	assert_false(db_ok(victim));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(parameters_round_trip_text_verbatim, teardown),
		cmocka_unit_test_teardown(null_parameters_are_sql_null, teardown),
		cmocka_unit_test_teardown(query_int64_tells_value_no_row_and_error_apart, teardown),
		cmocka_unit_test_teardown(committed_transaction_is_visible_to_others, teardown),
		cmocka_unit_test_teardown(rolled_back_transaction_leaves_nothing, teardown),
		cmocka_unit_test_teardown(failed_statement_in_a_transaction_rolls_back_cleanly, teardown),
		cmocka_unit_test_teardown(copy_text_loads_rows_with_escapes_and_nulls, teardown),
		cmocka_unit_test_teardown(copy_binary_loads_every_field_type, teardown),
		cmocka_unit_test_teardown(copy_binary_buffer_grows_and_resets_for_chunks, teardown),
		cmocka_unit_test_teardown(bad_copy_row_returns_the_server_error_with_sqlstate, teardown),
		cmocka_unit_test_teardown(bad_binary_copy_returns_the_server_error, teardown),
		cmocka_unit_test_teardown(copy_into_a_missing_table_fails_at_begin, teardown),
		cmocka_unit_test_teardown(unique_violation_carries_sqlstate_and_detail, teardown),
		cmocka_unit_test_teardown(server_detail_and_hint_are_carried, teardown),
		cmocka_unit_test_teardown(script_runs_several_statements_and_stops_at_an_error, teardown),
		cmocka_unit_test_teardown(connect_to_a_missing_socket_dir_fails_fast_without_retries, teardown),
		cmocka_unit_test_teardown(connect_retries_with_a_growing_delay, teardown),
		cmocka_unit_test_teardown(connect_does_not_retry_a_missing_database, teardown),
		cmocka_unit_test(a_dsn_libpq_cannot_parse_is_a_config_error_at_once),
		cmocka_unit_test_teardown(write_skew_at_serializable_is_a_retryable_serialization_failure, teardown),
		cmocka_unit_test_teardown(terminated_backend_is_db_unavailable, teardown),
		cmocka_unit_test_teardown(a_null_error_is_allowed_on_a_lost_connection, teardown),
		cmocka_unit_test_teardown(a_pipeline_commits_its_statements_together, teardown),
		cmocka_unit_test_teardown(a_failed_statement_in_a_pipeline_undoes_the_whole_pipeline, teardown),
		cmocka_unit_test_teardown(a_pipeline_on_a_lost_connection_is_db_unavailable, teardown),
	};
	return cmocka_run_group_tests_name("db", tests, group_setup, NULL);
}
