/*
 * ingest_env.h - the environment of the ingest tests (included by
 * test_ingest.c and test_ingest_files.c): one database per program
 * (INGEST_DB) with every migration and a few accounts, the ingest step run
 * as the runner would (run_ingest, with the application role), spools that
 * are removed at the end, and the conservation check of a file
 * (assert_file: read = accepted + quarantined + duplicates, and the rows
 * really in usage and quarantine_records).
 */
#ifndef BILLRUN_INGEST_ENV_H
#define BILLRUN_INGEST_ENV_H

/* Not every test file uses every helper. */
#define ENV_FN static __attribute__((unused))

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

ENV_FN char dsn[1024];
ENV_FN PGconn *conn;       /* the owner, for assertions */
ENV_FN struct db *app;     /* the application role, for the job */
/* app, in a forked child that replaced it: still referenced when valgrind
 * checks leaks at the child's exit (volatile: the store must stay). */
static struct db *volatile parents_app;
ENV_FN char rules[1024];
ENV_FN struct err last_err;
ENV_FN int64_t last_run;
ENV_FN int keep_in_place;
/* ingest.settle_time of the next run_ingest: 0s unless a test looks at settling */
ENV_FN const char *settle_time = "0s";

/* ---- helpers ---- */

#define q_int(...) test_q_int(conn, __VA_ARGS__)

/* One text value of a query with text parameters (NULL -> "(null)"). */
ENV_FN char *q_text(const char *sql, int n, const char *const *params)
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

ENV_FN char *q1(const char *sql, const char *param)
{
	const char *p[] = { param };
	return q_text(sql, 1, p);
}

/* Every spool made, removed (with its config folder) at the end. */
ENV_FN char spools[64][256];
ENV_FN int nspools;

ENV_FN void make_spool(char *dir, size_t size)
{
	assert_int_equal(test_tmpdir(dir, size), 0);
	if (nspools < 64)
		snprintf(spools[nspools++], sizeof(spools[0]), "%s", dir);
}

ENV_FN void write_bytes(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

ENV_FN void put_file(const char *spool, const char *name, const char *text)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", spool, name);
	write_bytes(path, text, strlen(text));
}

ENV_FN void put_fixture(const char *spool, const char *fixture, const char *name)
{
	char rel[256], cmd[2048], out[1024];
	snprintf(rel, sizeof(rel), "tests/fixtures/ingest/%s", fixture);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s/%s'", test_src(rel), spool, name);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
}

ENV_FN int exists(const char *dir, const char *name)
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
ENV_FN int run_ingest(const char *spool, const char *sources, const char *extra)
{
	char conf[1024], text[8192];
	snprintf(conf, sizeof(conf), "%s/billrun.conf", spool);
	snprintf(text, sizeof(text),
		 "spool = { dir = \"%s\"; processed_dir = \"%s/processed\"; keep_in_place = %s; };\n"
		 "ingest = { time_min = \"2020-01-01T00:00:00Z\"; time_max = \"2030-01-01T00:00:00Z\"; "
		 "settle_time = \"%s\"; };\n"
		 "sources = ( %s );\n%s\n"
		 "database = { dsn = \"%s\"; };\n",
		 spool, spool, keep_in_place ? "true" : "false", settle_time, sources, extra ? extra : "", dsn);
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

/* The log lines of one run_ingest, in buf. */
ENV_FN int ingest_logged(const char *spool, const char *sources, char *buf, size_t size)
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

#define ingest_ok(spool, sources) do { \
	if (run_ingest((spool), (sources), NULL) != 0) \
		fail_msg("ingest failed: %s (%s)", last_err.message, last_err.detail); \
} while (0)

/*
 * The conservation check for one ingested file: its counts as stored, that
 * they add up, and that exactly that many rows are in usage and in
 * quarantine_records for it.
 */
ENV_FN void assert_file_at(const char *name, long long read, long long accepted, long long quarantined,
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
ENV_FN char *reason_at(const char *name, int line)
{
	char l[16];
	snprintf(l, sizeof(l), "%d", line);
	const char *p[] = { name, l };
	return q_text("SELECT string_agg(q.reason, ',') FROM quarantine_records q JOIN ingest_files f ON f.id = q.file_id "
		      "WHERE f.file_name = $1 AND q.line_no = $2::int",
		      2, p);
}

/* ---- setup ---- */

ENV_FN void add_account(const char *ext)
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

ENV_FN const char *focus_sample(void)
{
	return test_src("../shared/testdata/focus/focus_sample.csv");
}

/* The accounts of the FOCUS sample, read with the project's own tokenizer. */
ENV_FN void add_focus_accounts(void)
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

ENV_FN int group_setup(void **state)
{
	if (!test_pg_dsn())
		return 0;
	if (test_db_fresh(INGEST_DB, dsn, sizeof(dsn)))
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

ENV_FN int group_teardown(void **state)
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

ENV_FN int skip_without_pg(void **state)
{
	if (!test_pg_dsn())
		skip();
	return 0;
}

/* The headers of the usage CSV and FOCUS files the tests write. */
#define USAGE_HEADER "event_id,account_id,meter,timestamp,quantity,note\n"
#define FOCUS_HEADER "BilledCost,BillingCurrency,ChargePeriodStart,ConsumedQuantity,ServiceName,SubAccountId,Tags\n"

#endif
