/*
 * test_ingest.c - the ingest step against a real PostgreSQL: every format's
 * fixtures with good, bad and duplicate records, one test per reason code,
 * the FOCUS sample (every row accounted for, BilledCost exact), repeats of
 * files and of records, control files, a crash in the middle of a file,
 * the move to processed/, the meters from the rate card and the privileges
 * of the application role. Conservation (read = accepted + quarantined +
 * duplicates, and the rows really in usage and quarantine_records) is
 * asserted for every file ingested.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "csv.h"
#include "db.h"
#include "dec.h"
#include "err.h"
#include "hash.h"
#include "ingest.h"
#include "job.h"
#include "log.h"
#include "migrate.h"
#include "support.h"

static char dsn[1024];
static PGconn *conn;       /* the owner, for assertions */
static struct db *app;     /* the application role, for the job */
/* app, in a forked child that replaced it: still referenced when valgrind
 * checks leaks at the child's exit (volatile: the store must stay). */
static struct db *volatile parents_app;
static char rules[1024];
static struct err last_err;
static int64_t last_run;
static int keep_in_place;
/* ingest.settle_time of the next run_ingest: 0s unless a test looks at settling */
static const char *settle_time = "0s";

/* ---- helpers ---- */

#define q_int(...) test_q_int(conn, __VA_ARGS__)

/* One text value of a query with text parameters (NULL -> "(null)"). */
static char *q_text(const char *sql, int n, const char *const *params)
{
	static char buf[8][4096];
	static int next;
	char *out = buf[next++ % 8];
	PGresult *r = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "query failed: %s: %s", sql, PQerrorMessage(conn));
		PQclear(r);
		fail();
	}
	snprintf(out, sizeof(buf[0]), "%s",
		 PQntuples(r) == 0 ? "(no row)" : PQgetisnull(r, 0, 0) ? "(null)" : PQgetvalue(r, 0, 0));
	PQclear(r);
	return out;
}

static char *q1(const char *sql, const char *param)
{
	const char *p[] = { param };
	return q_text(sql, 1, p);
}

/* Every spool made, removed (with its config folder) at the end. */
static char spools[64][256];
static int nspools;

static void make_spool(char *dir, size_t size)
{
	assert_int_equal(test_tmpdir(dir, size), 0);
	if (nspools < 64)
		snprintf(spools[nspools++], sizeof(spools[0]), "%s", dir);
}

static void write_bytes(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void put_file(const char *spool, const char *name, const char *text)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", spool, name);
	write_bytes(path, text, strlen(text));
}

static void put_fixture(const char *spool, const char *fixture, const char *name)
{
	char rel[256], cmd[2048], out[1024];
	snprintf(rel, sizeof(rel), "tests/fixtures/ingest/%s", fixture);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s/%s'", test_src(rel), spool, name);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
}

static int exists(const char *dir, const char *name)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

/*
 * Run the ingest step over spool with the given sources (the inside of
 * sources = ( ... )) and extra top-level settings, as the runner would: a
 * run and its step row, the application role's connection. Returns the
 * job's result; the error is in last_err.
 */
static int run_ingest(const char *spool, const char *sources, const char *extra)
{
	char conf[1024], text[8192];
	snprintf(conf, sizeof(conf), "%s/billrun.conf", spool);
	snprintf(text, sizeof(text),
		 "spool = { dir = \"%s\"; processed_dir = \"%s/processed\"; keep_in_place = %s; };\n"
		 "ingest = { time_min = \"2020-01-01T00:00:00Z\"; time_max = \"2030-01-01T00:00:00Z\"; "
		 "settle_time = \"%s\"; };\n"
		 "sources = ( %s );\n%s\n",
		 spool, spool, keep_in_place ? "true" : "false", settle_time, sources, extra ? extra : "");
	/* the config lives beside the spool, not in it */
	char confdir[1024];
	snprintf(confdir, sizeof(confdir), "%s.conf", spool);
	mkdir(confdir, 0700);
	snprintf(conf, sizeof(conf), "%s/billrun.conf", confdir);
	assert_int_equal(test_write_file(conf, text), 0);

	struct config cfg;
	err_clear(&last_err);
	if (cfg_load(&cfg, conf, 1, &last_err)) {
		cfg_release(&cfg);
		return -1;
	}
	struct err e;
	assert_int_equal(db_query_int64(app, &e, &last_run,
					"INSERT INTO runs (dag, period_kind, period_start, period_end, host, pid) "
					"VALUES ('test', 'day', '2026-01-15', '2026-01-16', 'test', 1) RETURNING id",
					0, NULL), 0);
	char run[32];
	snprintf(run, sizeof(run), "%lld", (long long)last_run);
	const char *p[] = { run };
	assert_int_equal(db_exec(app, &e, "INSERT INTO run_steps (run_id, step, status, attempts) "
					  "VALUES ($1, 'ingest', 'running', 1)", 1, p), 0);
	struct job_ctx ctx;
	memset(&ctx, 0, sizeof(ctx));
	ctx.db = app;
	ctx.cfg = &cfg;
	ctx.run_id = last_run;
	ctx.dag = "test";
	ctx.step = "ingest";
	ctx.attempt = 1;
	ctx.period_kind = "day";
	ctx.period_start = "2026-01-15";
	ctx.period_end = "2026-01-16";
	ctx.rules_file = rules;
	int rc = job_ingest.run(&ctx, &last_err);
	if (rc && getenv("TEST_VERBOSE"))
		log_err(&last_err);
	cfg_release(&cfg);
	return rc;
}

#define ingest_ok(spool, sources) do { \
	if (run_ingest((spool), (sources), NULL) != 0) \
		fail_msg("ingest failed: %s (%s)", last_err.message, last_err.detail); \
} while (0)

/*
 * The conservation check for one ingested file: its counts as stored, that
 * they add up, and that exactly that many rows are in usage and in
 * quarantine_records for it.
 */
static void assert_file_at(const char *name, long long read, long long accepted, long long quarantined,
			   long long duplicates, const char *file, int line)
{
	const char *p[] = { name };
	PGresult *r = PQexecParams(conn,
				   "SELECT f.records_read, f.accepted, f.quarantined, f.duplicates, "
				   "(SELECT count(*) FROM usage u WHERE u.file_id = f.id), "
				   "(SELECT count(*) FROM quarantine_records q WHERE q.file_id = f.id) "
				   "FROM ingest_files f WHERE f.file_name = $1",
				   1, NULL, p, NULL, NULL, 0);
	_assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK, file, line);
	_assert_int_equal(PQntuples(r), 1, file, line);
	long long v[6];
	for (int i = 0; i < 6; i++)
		v[i] = atoll(PQgetvalue(r, 0, i));
	PQclear(r);
	_assert_int_equal(v[0], v[1] + v[2] + v[3], file, line);
	_assert_int_equal(v[4], v[1], file, line);
	_assert_int_equal(v[5], v[2], file, line);
	_assert_int_equal(v[0], read, file, line);
	_assert_int_equal(v[1], accepted, file, line);
	_assert_int_equal(v[2], quarantined, file, line);
	_assert_int_equal(v[3], duplicates, file, line);
}
#define assert_file(name, read, acc, q, dup) assert_file_at((name), (read), (acc), (q), (dup), __FILE__, __LINE__)

/* The reason of the quarantined record of file name at line. */
static char *reason_at(const char *name, int line)
{
	char l[16];
	snprintf(l, sizeof(l), "%d", line);
	const char *p[] = { name, l };
	return q_text("SELECT string_agg(q.reason, ',') FROM quarantine_records q JOIN ingest_files f ON f.id = q.file_id "
		      "WHERE f.file_name = $1 AND q.line_no = $2::int",
		      2, p);
}

/* ---- setup ---- */

static void add_account(const char *ext)
{
	const char *p[] = { ext };
	PGresult *r = PQexecParams(conn,
				   "INSERT INTO accounts (external_id, valid_from, time_zone, anchor_day, currency) "
				   "VALUES ($1, '2000-01-01', 'UTC', 1, 'EUR') ON CONFLICT DO NOTHING",
				   1, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		fail_msg("insert account: %s", PQerrorMessage(conn));
	PQclear(r);
}

static const char *focus_sample(void)
{
	return test_src("../shared/testdata/focus/focus_sample.csv");
}

/* The accounts of the FOCUS sample, read with the project's own tokenizer. */
static void add_focus_accounts(void)
{
	int fd = open(focus_sample(), O_RDONLY);
	assert_true(fd >= 0);
	struct csv_reader *r = csv_new(csv_read_fd, &fd, NULL);
	struct csv_record c;
	struct err e;
	int col = -1;
	while (csv_next(r, &c, &e) > 0) {
		if (col < 0) {
			for (size_t k = 0; k < c.nfields; k++)
				if (c.fields[k].len == 12 && memcmp(c.fields[k].p, "SubAccountId", 12) == 0)
					col = (int)k;
			assert_true(col >= 0);
			continue;
		}
		char ext[256];
		snprintf(ext, sizeof(ext), "%.*s", (int)c.fields[col].len, c.fields[col].p);
		add_account(ext);
	}
	csv_free(r);
	close(fd);
}

static int group_setup(void **state)
{
	if (!test_pg_dsn())
		return 0;
	if (test_db_fresh("test_ingest", dsn, sizeof(dsn)))
		return -1;
	struct err e;
	struct db *owner = db_connect(dsn, 0, &e);
	if (!owner || migrate_apply(owner, NULL, NULL, &e) < 0) {
		fprintf(stderr, "setup: %s (%s)\n", e.message, e.detail);
		return -1;
	}
	db_free(owner);
	conn = PQconnectdb(dsn);
	if (PQstatus(conn) != CONNECTION_OK)
		return -1;
	PQclear(PQexec(conn, "SET client_min_messages = warning"));
	for (const char *const *a = (const char *const[]){ "acct-1", "acct-2", "acct-3", NULL }; *a; a++)
		add_account(*a);
	add_focus_accounts();
	app = db_connect(dsn, 0, &e);
	if (!app || db_exec(app, &e, "SET ROLE billrun_app", 0, NULL))
		return -1;
	snprintf(rules, sizeof(rules), "%s", test_src("tests/fixtures/ingest/rates.conf"));
	log_setup(0, getenv("TEST_VERBOSE") ? LOG_DEBUG : LOG_ERROR);
	return 0;
}

static int group_teardown(void **state)
{
	for (int i = 0; i < nspools; i++) {
		char cmd[1024], out[256];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s.conf' '%s.rates.conf'", spools[i], spools[i], spools[i]);
		test_sh(out, sizeof(out), cmd);
	}
	if (app)
		db_free(app);
	if (conn)
		PQfinish(conn);
	return 0;
}

static int skip_without_pg(void **state)
{
	if (!test_pg_dsn())
		skip();
	return 0;
}

/* ---- one test per reason code ---- */

#define USAGE_HEADER "event_id,account_id,meter,timestamp,quantity,note\n"
#define FOCUS_HEADER "BilledCost,BillingCurrency,ChargePeriodStart,ConsumedQuantity,ServiceName,SubAccountId,Tags\n"

/*
 * Ingest a file of format holding content (a good record and a bad one
 * at bad_line), and check the bad one got reason with its raw text.
 */
static void reason_case(const char *format, const char *opts, const char *reason, const char *content,
			size_t len, int bad_line, long long read, const char *raw)
{
	char spool[256], name[128], sources[512];
	make_spool(spool, sizeof(spool));
	snprintf(name, sizeof(name), "reason-%s.csv", reason);
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", spool, name);
	write_bytes(path, content, len);
	snprintf(sources, sizeof(sources), "{ name = \"r_%s\"; format = \"%s\"; pattern = \"reason-*\"; %s }", reason,
		 format, opts ? opts : "");
	ingest_ok(spool, sources);
	assert_file(name, read, read - 1, 1, 0);
	assert_string_equal(reason_at(name, bad_line), reason);
	if (raw) {
		const char *p[] = { name };
		assert_string_equal(q_text("SELECT q.raw FROM quarantine_records q JOIN ingest_files f ON f.id = q.file_id "
					   "WHERE f.file_name = $1", 1, p), raw);
	}
	const char *p[] = { name };
	/* every quarantined record has its message, source and run */
	assert_string_equal(q_text("SELECT bool_and(q.message <> '' AND q.source = f.source AND q.run_id = f.run_id) "
				   "FROM quarantine_records q JOIN ingest_files f ON f.id = q.file_id WHERE f.file_name = $1",
				   1, p), "t");
}

#define CASE(format, opts, reason, text, line, raw) \
	reason_case(format, opts, reason, text, sizeof(text) - 1, line, 2, raw)

static void test_reason_malformed_csv(void **state)
{
	CASE("usage-csv", NULL, "malformed_csv",
	     USAGE_HEADER "q1,acct-1,api_calls,2026-01-15T10:00:00Z,1,ok\n"
	     "q2,acct-1,api_calls,2026-01-15T10:00:00Z,1,\"a\"b\n", 3, "q2,acct-1,api_calls,2026-01-15T10:00:00Z,1,\"a\"b");
}

static void test_reason_wrong_column_count(void **state)
{
	CASE("usage-csv", NULL, "wrong_column_count",
	     USAGE_HEADER "w1,acct-1,api_calls,2026-01-15T10:00:00Z,1,ok\nw2,acct-1,api_calls,2026-01-15T10:00:00Z,1\n",
	     3, "w2,acct-1,api_calls,2026-01-15T10:00:00Z,1");
}

static void test_reason_record_too_long(void **state)
{
	size_t big = 1100 * 1024;
	char *text = malloc(big + 512);
	int n = snprintf(text, 512, USAGE_HEADER "l1,acct-1,api_calls,2026-01-15T10:00:00Z,1,");
	memset(text + n, 'x', big);
	n += (int)big;
	n += snprintf(text + n, 512, "\nl2,acct-1,api_calls,2026-01-15T10:00:00Z,1,ok\n");
	reason_case("usage-csv", NULL, "record_too_long", text, (size_t)n, 2, 2, NULL);
	assert_int_equal(q_int("SELECT length(raw) FROM quarantine_records WHERE source = 'r_record_too_long'"),
			 1024 * 1024);
	assert_int_equal(q_int("SELECT count(*) FROM quarantine_records WHERE source = 'r_record_too_long' "
			       "AND raw_truncated"), 1);
	free(text);
}

static void test_reason_field_too_long(void **state)
{
	char text[8192];
	int n = snprintf(text, sizeof(text), USAGE_HEADER "f1,acct-1,api_calls,2026-01-15T10:00:00Z,1,");
	memset(text + n, 'y', 5000);
	n += 5000;
	n += snprintf(text + n, sizeof(text) - (size_t)n, "\nf2,acct-1,api_calls,2026-01-15T10:00:00Z,1,ok\n");
	reason_case("usage-csv", NULL, "field_too_long", text, (size_t)n, 2, 2, NULL);
}

static void test_reason_invalid_utf8(void **state)
{
	CASE("usage-csv", NULL, "invalid_utf8",
	     USAGE_HEADER "u1,acct-1,api_calls,2026-01-15T10:00:00Z,1,ok\nu2,acct-1,api_calls,2026-01-15T10:00:00Z,1,caf\xE9\n",
	     3, "u2,acct-1,api_calls,2026-01-15T10:00:00Z,1,caf\\xe9");
	/* the exact bytes are kept too */
	assert_string_equal(q1("SELECT encode(raw_bytes, 'escape') FROM quarantine_records WHERE source = $1",
			       "r_invalid_utf8"),
			    "u2,acct-1,api_calls,2026-01-15T10:00:00Z,1,caf\\351");
}

static void test_reason_bad_header(void **state)
{
	char spool[256];
	make_spool(spool, sizeof(spool));
	put_fixture(spool, "usage_bad_header.csv", "hdr-1.csv");
	ingest_ok(spool, "{ name = \"r_bad_header\"; format = \"usage-csv\"; pattern = \"hdr-*\"; }");
	assert_file("hdr-1.csv", 2, 0, 2, 0);
	assert_string_equal(reason_at("hdr-1.csv", 2), "bad_header");
	assert_string_equal(reason_at("hdr-1.csv", 3), "bad_header");
	assert_non_null(strstr(q1("SELECT header_problem FROM ingest_files WHERE file_name = $1", "hdr-1.csv"),
			       "no column 'quantity'"));
}

static void test_reason_missing_field(void **state)
{
	CASE("usage-csv", NULL, "missing_field",
	     USAGE_HEADER "m1,acct-1,api_calls,2026-01-15T10:00:00Z,1,ok\nm2,acct-1,api_calls,2026-01-15T10:00:00Z,,ok\n",
	     3, NULL);
}

static void test_reason_bad_number(void **state)
{
	CASE("usage-csv", NULL, "bad_number",
	     USAGE_HEADER "n1,acct-1,api_calls,2026-01-15T10:00:00Z,1,ok\nn2,acct-1,api_calls,2026-01-15T10:00:00Z,1.5.0,ok\n",
	     3, NULL);
}

static void test_reason_negative_quantity(void **state)
{
	/* api_calls allows no credits; 'credits' does (rates.conf), and a
	 * source's credit_meters adds more */
	CASE("usage-csv", NULL, "negative_quantity",
	     USAGE_HEADER "g1,acct-1,credits,2026-01-15T10:00:00Z,-1,ok\ng2,acct-1,api_calls,2026-01-15T10:00:00Z,-1,ok\n",
	     3, NULL);
	char spool[256];
	make_spool(spool, sizeof(spool));
	put_file(spool, "credit-1.csv", USAGE_HEADER "g3,acct-1,api_calls,2026-01-15T10:00:00Z,-1,ok\n");
	ingest_ok(spool, "{ name = \"r_credit\"; format = \"usage-csv\"; pattern = \"credit-*\"; "
			 "credit_meters = [\"api_calls\"]; }");
	assert_file("credit-1.csv", 1, 1, 0, 0);
}

static void test_reason_bad_timestamp(void **state)
{
	CASE("usage-csv", NULL, "bad_timestamp",
	     USAGE_HEADER "t1,acct-1,api_calls,2026-01-15T10:00:00Z,1,ok\nt2,acct-1,api_calls,2026-01-15T10:00:00,1,ok\n",
	     3, NULL);
}

static void test_reason_timestamp_out_of_range(void **state)
{
	CASE("usage-csv", NULL, "timestamp_out_of_range",
	     USAGE_HEADER "o1,acct-1,api_calls,2019-12-31T23:59:59Z,1,ok\no2,acct-1,api_calls,2026-01-15T10:00:00Z,1,ok\n",
	     2, NULL);
}

static void test_reason_unknown_account(void **state)
{
	CASE("usage-csv", NULL, "unknown_account",
	     USAGE_HEADER "a1,acct-1,api_calls,2026-01-15T10:00:00Z,1,ok\na2,nobody,api_calls,2026-01-15T10:00:00Z,1,ok\n",
	     3, NULL);
	assert_string_equal(q1("SELECT account_ext FROM quarantine_records WHERE source = $1", "r_unknown_account"),
			    "nobody");
}

static void test_reason_unknown_meter(void **state)
{
	CASE("usage-csv", NULL, "unknown_meter",
	     USAGE_HEADER "k1,acct-1,api_calls,2026-01-15T10:00:00Z,1,ok\nk2,acct-1,api_kalls,2026-01-15T10:00:00Z,1,ok\n",
	     3, NULL);
}

static void test_reason_bad_json(void **state)
{
	CASE("focus", "meter = \"cloud_cost\";", "bad_json",
	     FOCUS_HEADER "1.5,USD,2024-09-01 00:00:00,1,S3,43883916739,\"{\"\"a\"\": 1}\"\n"
	     "1.5,USD,2024-09-01 00:00:00,2,S3,43883916739,\"{\"\"a\"\": }\"\n",
	     3, NULL);
}

static void test_reason_bad_currency(void **state)
{
	CASE("focus", "meter = \"cloud_cost\";", "bad_currency",
	     FOCUS_HEADER "1.5,EUR,2024-09-01 00:00:00,1,S3,43883916739,NULL\n1.5,E,2024-09-01 00:00:00,1,S3,43883916739,NULL\n",
	     3, NULL);
}

/* ---- the formats' fixtures ---- */

static void test_usage_csv_values(void **state)
{
	char spool[256];
	make_spool(spool, sizeof(spool));
	put_fixture(spool, "usage_good.csv", "usage-good.csv");
	ingest_ok(spool, "{ name = \"u_good\"; format = \"usage-csv\"; pattern = \"usage-*.csv\"; }");
	assert_file("usage-good.csv", 5, 5, 0, 0);
	assert_string_equal(q1("SELECT string_agg(event_key || '|' || account_ext || '|' || meter || '|' || quantity || '|' "
			       "|| to_char(event_time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '|' || line_no "
			       "|| '|' || attributes::text, ';' ORDER BY event_key) FROM usage WHERE source = $1",
			       "u_good"),
			    "e-001|acct-1|api_calls|10|2026-01-15 10:00:00.000000|2|{\"region\": \"eu\"};"
			    "e-002|acct-2|api_calls|2.5|2026-01-15 09:00:01.000000|3|{\"region\": \"us\"};"
			    "e-003|acct-1|storage_gb|100.000001|2026-01-15 10:00:02.123456|4|{\"region\": \"eu\"};"
			    "e-004|acct-3|voice_seconds|61|2026-01-15 15:00:03.000000|5|{\"region\": \"quoted, \\\"region\\\"\"};"
			    "e-005|acct-2|credits|-5|2026-01-15 10:00:04.000000|6|{\"region\": \"eu\"}");
	assert_string_equal(q1("SELECT read_totals::text FROM ingest_files WHERE file_name = $1", "usage-good.csv"),
			    "{\"credits\": \"-5\", \"api_calls\": \"12.5\", \"storage_gb\": \"100.000001\", "
			    "\"voice_seconds\": \"61\"}");
	/* moved to processed/ after the commit */
	assert_false(exists(spool, "usage-good.csv"));
	char processed[512];
	snprintf(processed, sizeof(processed), "%s/processed", spool);
	assert_true(exists(processed, "usage-good.csv"));
	/* the step's done mark */
	assert_int_equal(q_int("SELECT count(*) FROM run_steps WHERE run_id = %lld AND status = 'success'",
			       (long long)last_run), 1);
}

static void test_usage_csv_mixed(void **state)
{
	/* CRLF, a quoted line break, a blank line, bad records, a key twice */
	char spool[256];
	make_spool(spool, sizeof(spool));
	put_fixture(spool, "usage_mixed.csv", "usage-mixed.csv");
	ingest_ok(spool, "{ name = \"u_mixed\"; format = \"usage-csv\"; pattern = \"usage-*.csv\"; }");
	assert_file("usage-mixed.csv", 8, 3, 3, 2);
	assert_string_equal(reason_at("usage-mixed.csv", 3), "wrong_column_count");
	assert_string_equal(reason_at("usage-mixed.csv", 4), "missing_field");
	assert_string_equal(reason_at("usage-mixed.csv", 10), "bad_number");
	assert_int_equal(q_int("SELECT blank_lines FROM ingest_files WHERE file_name = 'usage-mixed.csv'"), 1);
	/* the first occurrence of a key wins */
	assert_string_equal(q1("SELECT account_ext || ' ' || quantity || ' ' || line_no FROM usage "
			       "WHERE source = $1 AND event_key = 'm-01'", "u_mixed"), "acct-1 1 2");
	assert_string_equal(q1("SELECT line_no || ' ' || (attributes->>'region') FROM usage WHERE source = $1 "
			       "AND event_key = 'm-04'", "u_mixed"), "6 multi\r\nline");
	assert_int_equal(q_int("SELECT line_no FROM usage WHERE source = 'u_mixed' AND event_key = 'm-05'"), 9);
}

static void test_focus_mixed(void **state)
{
	char spool[256];
	make_spool(spool, sizeof(spool));
	put_fixture(spool, "focus_mixed.csv", "focus-mixed.csv");
	ingest_ok(spool, "{ name = \"f_mixed\"; format = \"focus\"; pattern = \"focus-*.csv\"; meter_prefix = \"cloud.\"; }");
	assert_file("focus-mixed.csv", 13, 3, 9, 1);
	const char *want[] = { NULL, "unknown_meter", NULL, NULL, "bad_json", "bad_currency", "missing_field",
			       "bad_number", "bad_timestamp", "missing_field", "unknown_account", "wrong_column_count",
			       NULL };
	for (int i = 0; i < 13; i++)
		assert_string_equal(reason_at("focus-mixed.csv", i + 2), want[i] ? want[i] : "(null)");
	assert_string_equal(q1("SELECT string_agg(meter || ' ' || quantity || ' ' || cost || ' ' || currency || ' ' || "
			       "(attributes->'Tags' IS NOT NULL), '; ' ORDER BY line_no) FROM usage WHERE source = $1",
			       "f_mixed"),
			    "cloud.elastic_load_balancing 0.002007490000000 0.00001605990 USD true; "
			    "cloud.amazon_elastic_compute_cloud 0 -2.61370000000 USD false; "
			    "cloud.elastic_load_balancing 0.002007490000000 0.12345678901 USD true");
}

static void test_focus_sample_every_row(void **state)
{
	char spool[256], cmd[2048], out[256];
	make_spool(spool, sizeof(spool));
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s/focus-sample.csv'", focus_sample(), spool);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	ingest_ok(spool, "{ name = \"f_sample\"; format = \"focus\"; pattern = \"focus-*.csv\"; meter = \"cloud_cost\"; }");
	assert_file("focus-sample.csv", 1000, 1000, 0, 0);

	/* BilledCost summed exactly, here with dec_add from the raw file */
	int fd = open(focus_sample(), O_RDONLY);
	struct csv_reader *r = csv_new(csv_read_fd, &fd, NULL);
	struct csv_record c;
	struct err e;
	struct dec sum = dec_zero(), d;
	int col = -1, rows = 0;
	while (csv_next(r, &c, &e) > 0) {
		if (col < 0) {
			for (size_t k = 0; k < c.nfields; k++)
				if (c.fields[k].len == 10 && memcmp(c.fields[k].p, "BilledCost", 10) == 0)
					col = (int)k;
			continue;
		}
		assert_int_equal(dec_parse(&d, c.fields[col].p, c.fields[col].len), 0);
		assert_int_equal(dec_add(&sum, sum, d), 0);
		rows++;
	}
	csv_free(r);
	close(fd);
	assert_int_equal(rows, 1000);
	char want[DEC_STR_MAX];
	dec_format(sum, want, sizeof(want));
	assert_string_equal(want, "20.52022672899");
	assert_string_equal(q1("SELECT sum(cost)::text FROM usage WHERE source = $1", "f_sample"), want);
	assert_string_equal(q1("SELECT read_cost::text FROM ingest_files WHERE file_name = $1", "focus-sample.csv"), want);
	assert_int_equal(q_int("SELECT count(*) FROM usage WHERE source = 'f_sample' AND currency = 'USD' "
			       "AND attributes ? 'ServiceName'"), 1000);
}

static void test_asterisk_master(void **state)
{
	char spool[256];
	make_spool(spool, sizeof(spool));
	put_fixture(spool, "asterisk_master.csv", "Master.csv");
	ingest_ok(spool, "{ name = \"pbx\"; format = \"asterisk-cdr\"; pattern = \"Master*.csv\"; "
			 "time_zone = \"Europe/Berlin\"; }");
	assert_file("Master.csv", 11, 5, 5, 1);
	assert_int_equal(q_int("SELECT not_billable FROM ingest_files WHERE file_name = 'Master.csv'"), 2);
	const char *want[] = { NULL, NULL, NULL, NULL, "missing_field", "bad_number", "wrong_column_count",
			       "bad_timestamp", "unknown_account", NULL, NULL };
	for (int i = 0; i < 11; i++)
		assert_string_equal(reason_at("Master.csv", i + 1), want[i] ? want[i] : "(null)");
	assert_string_equal(q1("SELECT string_agg(event_key || ' ' || account_ext || ' ' || quantity || ' ' || billable || ' ' "
			       "|| to_char(event_time AT TIME ZONE 'UTC', 'HH24:MI') || ' ' || (attributes->>'disposition'), "
			       "'; ' ORDER BY line_no) FROM usage WHERE source = $1", "pbx"),
			    "1768471200.1 acct-1 60 true 09:00 ANSWERED; 1768471500.2 acct-2 0 false 09:05 NO ANSWER; "
			    "1768471560.3 acct-1 0 false 09:06 BUSY; 1768471920.9 acct-3 3600 true 09:12 ANSWERED; "
			    "1768471980.10 acct-2 60 true 09:13 ANSWERED");
}

/* ---- repeats ---- */

static void test_same_file_again_is_skipped(void **state)
{
	char spool[256], processed[512];
	make_spool(spool, sizeof(spool));
	snprintf(processed, sizeof(processed), "%s/processed", spool);
	const char *text = USAGE_HEADER "s1,acct-1,api_calls,2026-01-15T10:00:00Z,1,ok\ns2,acct-2,api_calls,2026-01-15T10:00:00Z,2,ok\n";
	put_file(spool, "usage-a.csv", text);
	const char *src = "{ name = \"again\"; format = \"usage-csv\"; pattern = \"usage-*.csv\"; }";
	ingest_ok(spool, src);
	assert_file("usage-a.csv", 2, 2, 0, 0);
	/* the same bytes under the same name and under another one */
	put_file(spool, "usage-a.csv", text);
	put_file(spool, "usage-b.csv", text);
	ingest_ok(spool, src);
	assert_int_equal(q_int("SELECT count(*) FROM ingest_files WHERE source = 'again'"), 1);
	assert_int_equal(q_int("SELECT count(*) FROM usage WHERE source = 'again'"), 2);
	/* both moved out of the spool, nothing overwritten */
	assert_false(exists(spool, "usage-a.csv"));
	assert_false(exists(spool, "usage-b.csv"));
	assert_true(exists(processed, "usage-a.csv"));
	assert_true(exists(processed, "usage-b.csv"));
}

static void test_duplicate_event_in_later_file(void **state)
{
	char spool[256];
	make_spool(spool, sizeof(spool));
	const char *src = "{ name = \"later\"; format = \"usage-csv\"; pattern = \"usage-*.csv\"; }";
	put_file(spool, "usage-1.csv", USAGE_HEADER "d-1,acct-1,api_calls,2026-01-15T10:00:00Z,1,a\n"
				       "d-2,acct-1,api_calls,2026-01-15T10:00:00Z,2,a\nd-3,acct-1,api_calls,2026-01-15T10:00:00Z,3,a\n");
	ingest_ok(spool, src);
	assert_file("usage-1.csv", 3, 3, 0, 0);
	/* d-3 again (changed), d-4 new, d-1 again */
	put_file(spool, "usage-2.csv", USAGE_HEADER "d-3,acct-2,api_calls,2026-01-15T11:00:00Z,30,b\n"
				       "d-4,acct-1,api_calls,2026-01-15T10:00:00Z,4,b\nd-1,acct-1,api_calls,2026-01-15T10:00:00Z,1,a\n");
	ingest_ok(spool, src);
	assert_file("usage-2.csv", 3, 1, 0, 2);
	assert_string_equal(q1("SELECT string_agg(event_key || '=' || quantity, ',' ORDER BY event_key) FROM usage "
			       "WHERE source = $1", "later"), "d-1=1,d-2=2,d-3=3,d-4=4");
	/* the control totals count what was read, duplicates included */
	assert_string_equal(q1("SELECT read_totals->>'api_calls' FROM ingest_files WHERE file_name = $1", "usage-2.csv"),
			    "35");
	/* the same key in another source is another event */
	put_file(spool, "usage-3.csv", USAGE_HEADER "d-1,acct-1,api_calls,2026-01-15T10:00:00Z,1,c\n");
	ingest_ok(spool, "{ name = \"later2\"; format = \"usage-csv\"; pattern = \"usage-*.csv\"; }");
	assert_file("usage-3.csv", 1, 1, 0, 0);
}

/* ---- control files ---- */

static void test_control_file_match_and_mismatch(void **state)
{
	char spool[256], path[1024], sha[SHA256_HEX_LEN + 1], ctl[512];
	struct err e;
	make_spool(spool, sizeof(spool));
	const char *text = USAGE_HEADER "c1,acct-1,api_calls,2026-01-15T10:00:00Z,1.5,x\n"
				  "c2,acct-1,api_calls,2026-01-15T10:00:00Z,2,x\nc3,acct-1,voice_seconds,2026-01-15T10:00:00Z,61,x\n"
				  "c4,nobody,api_calls,2026-01-15T10:00:00Z,1,x\n";
	put_file(spool, "usage-ok.csv", text);
	snprintf(path, sizeof(path), "%s/usage-ok.csv", spool);
	assert_int_equal(hash_sha256_file(path, sha, &e), 0);
	snprintf(ctl, sizeof(ctl), "records 4\nsha256 %s\nquantity api_calls 4.50\nquantity voice_seconds 61\n", sha);
	put_file(spool, "usage-ok.csv.ctl", ctl);

	const char *text2 = USAGE_HEADER "c5,acct-1,api_calls,2026-01-15T10:00:00Z,1,x\n";
	put_file(spool, "usage-short.csv", text2);
	put_file(spool, "usage-short.csv.ctl", "records 2\nquantity api_calls 2\n");
	put_file(spool, "usage-garbled.csv", USAGE_HEADER "c6,acct-1,api_calls,2026-01-15T10:00:00Z,1,x\n");
	put_file(spool, "usage-garbled.csv.ctl", "records: 1\n");

	ingest_ok(spool, "{ name = \"ctl\"; format = \"usage-csv\"; pattern = \"usage-*\"; }");
	assert_file("usage-ok.csv", 4, 3, 1, 0);
	assert_file("usage-short.csv", 1, 1, 0, 0);
	assert_file("usage-garbled.csv", 1, 1, 0, 0);
	assert_string_equal(q1("SELECT control_status || ' ' || control_file FROM ingest_files WHERE file_name = $1",
			       "usage-ok.csv"), "match usage-ok.csv.ctl");
	assert_string_equal(q1("SELECT control->>'records' FROM ingest_files WHERE file_name = $1", "usage-ok.csv"), "4");
	assert_string_equal(q1("SELECT control_status FROM ingest_files WHERE file_name = $1", "usage-short.csv"),
			    "mismatch");
	assert_string_equal(q1("SELECT control_detail FROM ingest_files WHERE file_name = $1", "usage-short.csv"),
			    "records: control 2, read 1\nquantity api_calls: control 2, read 1");
	assert_string_equal(q1("SELECT control_status FROM ingest_files WHERE file_name = $1", "usage-garbled.csv"),
			    "invalid");
	assert_non_null(strstr(q1("SELECT control_detail FROM ingest_files WHERE file_name = $1", "usage-garbled.csv"),
			       "usage-garbled.csv.ctl:1"));
	/* control files travel with their data files; none counted as data */
	char processed[512];
	snprintf(processed, sizeof(processed), "%s/processed", spool);
	assert_true(exists(processed, "usage-ok.csv.ctl"));
	assert_int_equal(q_int("SELECT count(*) FROM ingest_files WHERE file_name LIKE '%%.ctl'"), 0);
	/* no control file: absent */
	assert_string_equal(q1("SELECT control_status FROM ingest_files WHERE file_name = $1", "usage-good.csv"), "absent");
}

/* ---- crashes, moves, redo ---- */

static void write_big(const char *spool, const char *name, int records, const char *prefix)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", spool, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(USAGE_HEADER, f);
	for (int i = 0; i < records; i++)
		fprintf(f, "%s-%08d,acct-%d,api_calls,2026-01-15T10:%02d:%02dZ,%d.%03d,%s\n", prefix, i, 1 + i % 3,
			i / 60 % 60, i % 60, i % 1000, i % 7, i % 97 == 0 ? "" : "note");
	assert_int_equal(fclose(f), 0);
}

static void test_crash_mid_file_leaves_nothing(void **state)
{
	char spool[256];
	make_spool(spool, sizeof(spool));
	write_big(spool, "usage-crash.csv", 30000, "cr");
	const char *src = "{ name = \"crash\"; format = \"usage-csv\"; pattern = \"usage-*.csv\"; }";
	pid_t pid = fork();
	if (pid == 0) {
		/* The child: its own connection, the crash hook set. The
		 * parent's stays untouched. */
		struct err e;
		setenv(INGEST_CRASH_ENV, "20000", 1);
		parents_app = app;
		app = db_connect(dsn, 0, &e);
		if (!app || db_exec(app, &e, "SET ROLE billrun_app", 0, NULL))
			_exit(2);
		run_ingest(spool, src, NULL);
		_exit(3); /* the hook did not fire */
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 99);
	/* nothing of the file is visible, the file is still there */
	assert_int_equal(q_int("SELECT count(*) FROM ingest_files WHERE file_name = 'usage-crash.csv'"), 0);
	assert_int_equal(q_int("SELECT count(*) FROM usage WHERE source = 'crash'"), 0);
	assert_int_equal(q_int("SELECT count(*) FROM quarantine_records WHERE source = 'crash'"), 0);
	assert_true(exists(spool, "usage-crash.csv"));
	/* the next run ingests it whole */
	ingest_ok(spool, src);
	assert_file("usage-crash.csv", 30000, 30000, 0, 0);
	assert_false(exists(spool, "usage-crash.csv"));
}

static void test_redo_after_commit_moves_the_file(void **state)
{
	/* A crash after the commit but before the move leaves an ingested
	 * file in the spool: keep_in_place shows the same state. */
	char spool[256], processed[512];
	make_spool(spool, sizeof(spool));
	snprintf(processed, sizeof(processed), "%s/processed", spool);
	put_file(spool, "usage-redo.csv", USAGE_HEADER "r-1,acct-1,api_calls,2026-01-15T10:00:00Z,1,ok\n");
	const char *src = "{ name = \"redo\"; format = \"usage-csv\"; pattern = \"usage-*.csv\"; }";
	keep_in_place = 1;
	ingest_ok(spool, src);
	keep_in_place = 0;
	assert_int_equal(q_int("SELECT count(*) FROM ingest_files WHERE file_name = 'usage-redo.csv'"), 1);
	assert_true(exists(spool, "usage-redo.csv"));
	/* the redo: skipped by its SHA-256, and moved this time */
	ingest_ok(spool, src);
	assert_int_equal(q_int("SELECT count(*) FROM ingest_files WHERE file_name = 'usage-redo.csv'"), 1);
	assert_false(exists(spool, "usage-redo.csv"));
	assert_true(exists(processed, "usage-redo.csv"));
	/* a different file of the same name later: both kept in processed */
	put_file(spool, "usage-redo.csv", USAGE_HEADER "r-2,acct-1,api_calls,2026-01-15T10:00:00Z,1,ok\n");
	ingest_ok(spool, src);
	assert_int_equal(q_int("SELECT count(*) FROM ingest_files WHERE file_name = 'usage-redo.csv'"), 2);
	DIR *d = opendir(processed);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		n += strncmp(de->d_name, "usage-redo.csv", 14) == 0;
	closedir(d);
	assert_int_equal(n, 2);
}

static void test_files_that_are_not_data(void **state)
{
	char spool[256];
	make_spool(spool, sizeof(spool));
	put_file(spool, ".usage-partial.csv", USAGE_HEADER "p-1,acct-1,api_calls,2026-01-15T10:00:00Z,1,ok\n");
	put_file(spool, "other.txt", "not for any source\n");
	put_file(spool, "usage-x.csv", USAGE_HEADER "p-2,acct-1,api_calls,2026-01-15T10:00:00Z,1,ok\n");
	put_file(spool, "usage-empty.csv", "");
	ingest_ok(spool, "{ name = \"notdata\"; format = \"usage-csv\"; pattern = \"*.csv\"; }");
	assert_file("usage-x.csv", 1, 1, 0, 0);
	assert_file("usage-empty.csv", 0, 0, 0, 0);
	assert_true(exists(spool, ".usage-partial.csv"));
	assert_true(exists(spool, "other.txt"));
	assert_int_equal(q_int("SELECT count(*) FROM ingest_files WHERE file_name IN ('.usage-partial.csv', 'other.txt')"), 0);
}

/* ---- cut and unsettled files ---- */

/* The log lines of one run_ingest, in buf. */
static int ingest_logged(const char *spool, const char *sources, char *buf, size_t size)
{
	FILE *f = tmpfile();
	assert_non_null(f);
	log_setup(0, LOG_INFO);
	log_set_stream(f);
	int rc = run_ingest(spool, sources, NULL);
	log_set_stream(NULL);
	log_setup(0, getenv("TEST_VERBOSE") ? LOG_DEBUG : LOG_ERROR);
	rewind(f);
	size_t n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
	return rc;
}

#define CUT_SOURCE(name) "{ name = \"" name "\"; format = \"usage-csv\"; pattern = \"usage-*.csv\"; }"
#define CUT_HEADER "event_id,account_id,meter,timestamp,quantity\n"
#define CUT_WHOLE CUT_HEADER "k-1,acct-1,api_calls,2026-01-15T10:00:00Z,100\n" \
	"k-2,acct-2,api_calls,2026-01-15T11:00:00Z,3127\n"
/* the same file cut inside its last record: ...,3127 became ...,31 */
#define CUT_CUT CUT_HEADER "k-1,acct-1,api_calls,2026-01-15T10:00:00Z,100\n" \
	"k-2,acct-2,api_calls,2026-01-15T11:00:00Z,31"

static void test_cut_file_waits_until_it_is_whole(void **state)
{
	char spool[256], processed[512], log[16384];
	make_spool(spool, sizeof(spool));
	snprintf(processed, sizeof(processed), "%s/processed", spool);
	put_file(spool, "usage-cut.csv", CUT_CUT);
	put_file(spool, "usage-beside.csv", CUT_HEADER "k-3,acct-1,api_calls,2026-01-15T12:00:00Z,1\n");
	/* the step succeeds: the other file is ingested, the cut one waits */
	assert_int_equal(ingest_logged(spool, CUT_SOURCE("cut"), log, sizeof(log)), 0);
	assert_file("usage-beside.csv", 1, 1, 0, 0);
	assert_int_equal(q_int("SELECT count(*) FROM ingest_files WHERE file_name = 'usage-cut.csv'"), 0);
	assert_int_equal(q_int("SELECT count(*) FROM usage WHERE source = 'cut' AND event_key IN ('k-1', 'k-2')"), 0);
	assert_int_equal(q_int("SELECT count(*) FROM quarantine_records WHERE file_name = 'usage-cut.csv'"), 0);
	assert_true(exists(spool, "usage-cut.csv"));
	assert_false(exists(processed, "usage-cut.csv"));
	/* a warning naming the file and the line, and the closing line */
	assert_non_null(strstr(log, "usage-cut.csv' ends inside line 3"));
	assert_non_null(strstr(log, "1 files left in the spool for the next run"));
	/* the sender finishes the file: the record is ingested once, whole */
	put_file(spool, "usage-cut.csv", CUT_WHOLE);
	ingest_ok(spool, CUT_SOURCE("cut"));
	assert_file("usage-cut.csv", 2, 2, 0, 0);
	assert_string_equal(q_text("SELECT string_agg(quantity::text, ',') FROM usage WHERE source = 'cut' AND "
				   "event_key = 'k-2'", 0, NULL), "3127");
	assert_false(exists(spool, "usage-cut.csv"));
	assert_true(exists(processed, "usage-cut.csv"));
	/* the checksum is that of the bytes read: the whole file's */
	char path[600], sha[SHA256_HEX_LEN + 1];
	struct err e;
	snprintf(path, sizeof(path), "%s/usage-cut.csv", processed);
	assert_int_equal(hash_sha256_file(path, sha, &e), 0);
	assert_string_equal(q1("SELECT sha256 FROM ingest_files WHERE file_name = $1", "usage-cut.csv"), sha);
}

static void test_cut_record_a_control_file_counts_is_truncated(void **state)
{
	char spool[256], processed[512], log[16384];
	make_spool(spool, sizeof(spool));
	snprintf(processed, sizeof(processed), "%s/processed", spool);
	/* a control file counting 3 records: the cut file is not whole either */
	put_file(spool, "usage-cut2.csv", CUT_CUT);
	put_file(spool, "usage-cut2.csv.ctl", "records 3\n");
	assert_int_equal(ingest_logged(spool, CUT_SOURCE("cut2"), log, sizeof(log)), 0);
	assert_int_equal(q_int("SELECT count(*) FROM ingest_files WHERE file_name = 'usage-cut2.csv'"), 0);
	assert_non_null(strstr(log, "its control file counts 3 records, not 2"));
	assert_true(exists(spool, "usage-cut2.csv"));
	/* counting 2: complete as sent; the cut record is quarantined */
	put_file(spool, "usage-cut2.csv.ctl", "records 2\n");
	ingest_ok(spool, CUT_SOURCE("cut2"));
	assert_file("usage-cut2.csv", 2, 1, 1, 0);
	assert_string_equal(reason_at("usage-cut2.csv", 3), "truncated");
	assert_string_equal(q_text("SELECT raw FROM quarantine_records WHERE file_name = 'usage-cut2.csv'", 0, NULL),
			    "k-2,acct-2,api_calls,2026-01-15T11:00:00Z,31");
	assert_string_equal(q_text("SELECT count(*) FROM usage WHERE source = 'cut2' AND event_key = 'k-2'", 0, NULL), "0");
	/* its quantity is not what was sent: not in the read totals */
	assert_string_equal(q1("SELECT read_totals->>'api_calls' FROM ingest_files WHERE file_name = $1", "usage-cut2.csv"),
			    "100");
	assert_string_equal(q1("SELECT control_status FROM ingest_files WHERE file_name = $1", "usage-cut2.csv"), "match");
	assert_true(exists(processed, "usage-cut2.csv"));
	assert_true(exists(processed, "usage-cut2.csv.ctl"));
}

static void test_cut_header_waits(void **state)
{
	char spool[256];
	make_spool(spool, sizeof(spool));
	put_file(spool, "usage-head.csv", "event_id,account_id,meter,times");
	ingest_ok(spool, CUT_SOURCE("cut3"));
	assert_int_equal(q_int("SELECT count(*) FROM ingest_files WHERE file_name = 'usage-head.csv'"), 0);
	assert_true(exists(spool, "usage-head.csv"));
}

static void test_file_open_for_writing_is_not_taken(void **state)
{
	char spool[256], path[600], log[16384];
	make_spool(spool, sizeof(spool));
	put_file(spool, "usage-open.csv", USAGE_HEADER "o-1,acct-1,api_calls,2026-01-15T10:00:00Z,1,ok\n");
	snprintf(path, sizeof(path), "%s/usage-open.csv", spool);
	/* a writer in another process that has not closed the file */
	int ready[2], done[2];
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(done), 0);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(path, O_WRONLY | O_APPEND);
		char c = fd >= 0 ? 'y' : 'n';
		if (write(ready[1], &c, 1) != 1 || read(done[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	char c = 0;
	assert_int_equal(read(ready[0], &c, 1), 1);
	assert_int_equal(c, 'y');
	assert_int_equal(ingest_logged(spool, "{ name = \"open\"; format = \"usage-csv\"; pattern = \"usage-*.csv\"; }",
				       log, sizeof(log)), 0);
	assert_int_equal(q_int("SELECT count(*) FROM ingest_files WHERE file_name = 'usage-open.csv'"), 0);
	assert_true(exists(spool, "usage-open.csv"));
	char want[128];
	snprintf(want, sizeof(want), "usage-open.csv' is open for writing by process %d", (int)pid);
	assert_non_null(strstr(log, want));
	/* the writer closes it: the next run takes it */
	assert_int_equal(write(done[1], "x", 1), 1);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(ready[0]);
	close(ready[1]);
	close(done[0]);
	close(done[1]);
	ingest_ok(spool, "{ name = \"open\"; format = \"usage-csv\"; pattern = \"usage-*.csv\"; }");
	assert_file("usage-open.csv", 1, 1, 0, 0);
	assert_false(exists(spool, "usage-open.csv"));
}

static void test_file_younger_than_the_settle_time_is_not_taken(void **state)
{
	char spool[256], path[600], log[16384];
	make_spool(spool, sizeof(spool));
	put_file(spool, "usage-young.csv", USAGE_HEADER "y-1,acct-1,api_calls,2026-01-15T10:00:00Z,1,ok\n");
	snprintf(path, sizeof(path), "%s/usage-young.csv", spool);
	const char *src = "{ name = \"young\"; format = \"usage-csv\"; pattern = \"usage-*.csv\"; }";
	settle_time = "1h";
	int rc = ingest_logged(spool, src, log, sizeof(log));
	assert_int_equal(rc, 0);
	assert_int_equal(q_int("SELECT count(*) FROM ingest_files WHERE file_name = 'usage-young.csv'"), 0);
	assert_true(exists(spool, "usage-young.csv"));
	assert_non_null(strstr(log, "usage-young.csv' was modified"));
	assert_non_null(strstr(log, "within ingest.settle_time (3600.0 s)"));
	/* two hours later (its modification time moved back): taken */
	struct timespec times[2];
	clock_gettime(CLOCK_REALTIME, &times[0]);
	times[0].tv_sec -= 7200;
	times[1] = times[0];
	assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
	rc = run_ingest(spool, src, NULL);
	settle_time = "0s";
	assert_int_equal(rc, 0);
	assert_file("usage-young.csv", 1, 1, 0, 0);
	assert_false(exists(spool, "usage-young.csv"));
}

static void test_move_to_a_read_only_spool_is_named(void **state)
{
	/* The spool on its own small tmpfs, made read-only after the file
	 * arrived: the file is ingested, its move fails with EROFS and the
	 * path; it stays, and once the file system is writable again the
	 * next run skips it by its SHA-256 and moves it. Needs root's mount. */
	char spool[256], cmd[1024], out[1024], log[16384], processed[512];
	make_spool(spool, sizeof(spool));
	snprintf(processed, sizeof(processed), "%s/processed", spool);
	snprintf(cmd, sizeof(cmd), "mount -t tmpfs -o size=256k tmpfs '%s' 2>&1", spool);
	if (test_sh(out, sizeof(out), cmd) != 0) {
		fprintf(stderr, "skipped: cannot mount a small tmpfs here: %s\n", out);
		skip();
	}
	mkdir(processed, 0750);
	put_file(spool, "usage-ro.csv", USAGE_HEADER "ro-1,acct-1,api_calls,2026-01-15T10:00:00Z,1,ok\n");
	snprintf(cmd, sizeof(cmd), "mount -o remount,ro '%s' 2>&1", spool);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	const char *src = "{ name = \"ro\"; format = \"usage-csv\"; pattern = \"usage-*.csv\"; }";
	int rc = ingest_logged(spool, src, log, sizeof(log));
	snprintf(cmd, sizeof(cmd), "mount -o remount,rw '%s' 2>&1", spool);
	int rw = test_sh(out, sizeof(out), cmd);
	assert_int_equal(rc, 0);
	assert_file("usage-ro.csv", 1, 1, 0, 0);
	char want[1024];
	snprintf(want, sizeof(want), "could not move '%s/usage-ro.csv' to '%s/usage-ro.csv': Read-only file system "
		 "(EROFS)", spool, processed);
	assert_non_null(strstr(log, want));
	assert_true(exists(spool, "usage-ro.csv"));
	assert_int_equal(rw, 0);
	ingest_ok(spool, src);
	assert_false(exists(spool, "usage-ro.csv"));
	assert_true(exists(processed, "usage-ro.csv"));
	assert_int_equal(q_int("SELECT count(*) FROM ingest_files WHERE file_name = 'usage-ro.csv'"), 1);
	snprintf(cmd, sizeof(cmd), "umount '%s' 2>&1", spool);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
}

/* ---- configuration, meters, privileges ---- */

static void test_bad_source_config(void **state)
{
	char spool[256];
	make_spool(spool, sizeof(spool));
	assert_int_equal(run_ingest(spool, "{ name = \"x\"; format = \"xml\"; pattern = \"*\"; }", NULL), -1);
	assert_int_equal(last_err.kind, ERR_CONFIG);
	assert_non_null(strstr(last_err.message, "billrun.conf:3"));
	assert_non_null(strstr(last_err.message, "unknown format 'xml'"));
	assert_int_equal(run_ingest(spool, "{ name = \"x\"; format = \"asterisk-cdr\"; pattern = \"*\"; "
					   "time_zone = \"Nowhere/Special\"; }", NULL), -1);
	assert_int_equal(last_err.kind, ERR_CONFIG);
	assert_non_null(strstr(last_err.message, "Nowhere/Special"));
	assert_int_equal(run_ingest(spool, "{ name = \"x\"; format = \"usage-csv\"; }", NULL), -1);
	assert_non_null(strstr(last_err.message, "pattern"));
}

static void test_meters_follow_the_rate_card(void **state)
{
	char spool[256], path[512];
	make_spool(spool, sizeof(spool));
	const char *src = "{ name = \"m\"; format = \"usage-csv\"; pattern = \"usage-*.csv\"; }";
	ingest_ok(spool, src);
	assert_int_equal(q_int("SELECT count(*) FROM meters"), 8);
	assert_string_equal(q1("SELECT aggregation || ' ' || round_increment || ' ' || allow_credit || ' ' || unit "
			       "FROM meters WHERE name = $1", "voice_seconds"), "sum 60 false s");
	assert_string_equal(q1("SELECT unique_attribute FROM meters WHERE name = $1", "active_users"), "user_id");

	/* an unknown key in a meter: FILE:LINE, and nothing changes */
	snprintf(rules, sizeof(rules), "%s", test_src("tests/fixtures/ingest/rates_bad_key.conf"));
	assert_int_equal(run_ingest(spool, src, NULL), -1);
	assert_int_equal(last_err.kind, ERR_CONFIG);
	assert_non_null(strstr(last_err.message, "rates_bad_key.conf:4: meter 'voice_seconds': unknown key 'rounding'"));
	assert_int_equal(q_int("SELECT count(*) FROM meters"), 8);

	/* a smaller card: meters no longer listed go, changed ones change */
	snprintf(path, sizeof(path), "%s.rates.conf", spool);
	assert_int_equal(test_write_file(path, "taxes = ( { x = 1; } );\nmeters = (\n"
					       "  { name = \"api_calls\"; aggregation = \"count\"; },\n"
					       "  { name = \"voice_seconds\"; aggregation = \"sum\"; round_increment = 30; } );\n"), 0);
	snprintf(rules, sizeof(rules), "%s", path);
	ingest_ok(spool, src);
	assert_string_equal(q1("SELECT string_agg(name || ':' || aggregation || ':' || coalesce(round_increment::text, '-'), "
			       "',' ORDER BY name) FROM meters WHERE name <> $1", ""),
			    "api_calls:count:-,voice_seconds:sum:30");
	assert_string_equal(q1("SELECT charge_categories::text FROM meters WHERE name = $1", "api_calls"), "{Usage}");

	/* charge_categories: FOCUS ChargeCategory values, any letter case,
	 * stored as FOCUS spells them */
	assert_int_equal(test_write_file(path, "meters = (\n"
					       "  { name = \"api_calls\"; aggregation = \"count\";\n"
					       "    charge_categories = [\"usage\", \"CREDIT\", \"Adjustment\"]; } );\n"), 0);
	ingest_ok(spool, src);
	assert_string_equal(q1("SELECT charge_categories::text FROM meters WHERE name = $1", "api_calls"),
			    "{Usage,Credit,Adjustment}");
	const char *bad_categories[][2] = {
		{ "charge_categories = [\"Usage\", \"Refund\"];",
		  ":3: meter 'a': charge category 'Refund' is not one of Usage, Purchase, Tax, Credit, Adjustment" },
		{ "charge_categories = [\"Credit\", \"credit\"];", ":3: meter 'a': charge category 'Credit' is listed twice" },
		{ "charge_categories = [];", ":3: meter 'a': charge_categories must be a non-empty list of strings" },
		{ "charge_categories = \"Usage\";", ":3: meter 'a': charge_categories must be a non-empty list of strings" },
		{ "charge_categories = [1];", ":3: meter 'a': charge_categories must list strings" },
	};
	for (size_t i = 0; i < sizeof(bad_categories) / sizeof(bad_categories[0]); i++) {
		char card[512];
		snprintf(card, sizeof(card), "meters = (\n  { name = \"a\"; aggregation = \"count\";\n    %s } );\n",
			 bad_categories[i][0]);
		assert_int_equal(test_write_file(path, card), 0);
		assert_int_equal(run_ingest(spool, src, NULL), -1);
		assert_int_equal(last_err.kind, ERR_CONFIG);
		if (!strstr(last_err.message, bad_categories[i][1]))
			fail_msg("%s: %s", bad_categories[i][0], last_err.message);
	}
	assert_string_equal(q1("SELECT charge_categories::text FROM meters WHERE name = $1", "api_calls"),
			    "{Usage,Credit,Adjustment}");
	const char *bad[] = {
		"meters = ( { name = \"Bad Name\"; aggregation = \"sum\"; } );",
		"meters = ( { name = \"a\"; aggregation = \"median\"; } );",
		"meters = ( { name = \"a\"; aggregation = \"unique_count\"; } );",
		"meters = ( { name = \"a\"; aggregation = \"sum\"; round_increment = 0.5; } );",
		"meters = ( { name = \"a\"; aggregation = \"sum\"; }, { name = \"a\"; aggregation = \"max\"; } );",
		"plans = ();",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(test_write_file(path, bad[i]), 0);
		assert_int_equal(run_ingest(spool, src, NULL), -1);
		assert_int_equal(last_err.kind, ERR_CONFIG);
	}
	/* back to the card the other tests use */
	snprintf(rules, sizeof(rules), "%s", test_src("tests/fixtures/ingest/rates.conf"));
	ingest_ok(spool, src);
	assert_int_equal(q_int("SELECT count(*) FROM meters"), 8);
}

static void test_application_role_may_only_append(void **state)
{
	struct err e;
	/* the application role has no UPDATE or DELETE at all */
	assert_int_equal(db_exec(app, &e, "UPDATE usage SET quantity = 0", 0, NULL), -1);
	assert_string_equal(e.sqlstate, "42501");
	assert_int_equal(db_exec(app, &e, "DELETE FROM quarantine_records", 0, NULL), -1);
	assert_string_equal(e.sqlstate, "42501");
	assert_int_equal(db_exec(app, &e, "UPDATE ingest_files SET accepted = 0", 0, NULL), -1);
	assert_string_equal(e.sqlstate, "42501");
	/* and even the owner meets the append-only trigger */
	PGresult *r = PQexec(conn, "UPDATE usage SET quantity = 0 WHERE source = 'u_good'");
	assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
	assert_non_null(strstr(PQerrorMessage(conn), "append-only"));
	PQclear(r);
	r = PQexec(conn, "DELETE FROM ingest_files");
	assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
	PQclear(r);
	/* conservation holds for every file any test ingested */
	assert_int_equal(q_int("SELECT count(*) FROM ingest_files f WHERE records_read <> accepted + quarantined + duplicates "
			       "OR accepted <> (SELECT count(*) FROM usage u WHERE u.file_id = f.id) "
			       "OR quarantined <> (SELECT count(*) FROM quarantine_records q WHERE q.file_id = f.id)"), 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup(f, skip_without_pg)
	const struct CMUnitTest tests[] = {
		T(test_reason_malformed_csv),
		T(test_reason_wrong_column_count),
		T(test_reason_record_too_long),
		T(test_reason_field_too_long),
		T(test_reason_invalid_utf8),
		T(test_reason_bad_header),
		T(test_reason_missing_field),
		T(test_reason_bad_number),
		T(test_reason_negative_quantity),
		T(test_reason_bad_timestamp),
		T(test_reason_timestamp_out_of_range),
		T(test_reason_unknown_account),
		T(test_reason_unknown_meter),
		T(test_reason_bad_json),
		T(test_reason_bad_currency),
		T(test_usage_csv_values),
		T(test_usage_csv_mixed),
		T(test_focus_mixed),
		T(test_focus_sample_every_row),
		T(test_asterisk_master),
		T(test_same_file_again_is_skipped),
		T(test_duplicate_event_in_later_file),
		T(test_control_file_match_and_mismatch),
		T(test_crash_mid_file_leaves_nothing),
		T(test_redo_after_commit_moves_the_file),
		T(test_files_that_are_not_data),
		T(test_cut_file_waits_until_it_is_whole),
		T(test_cut_record_a_control_file_counts_is_truncated),
		T(test_cut_header_waits),
		T(test_file_open_for_writing_is_not_taken),
		T(test_file_younger_than_the_settle_time_is_not_taken),
		T(test_move_to_a_read_only_spool_is_named),
		T(test_bad_source_config),
		T(test_meters_follow_the_rate_card),
		T(test_application_role_may_only_append),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
