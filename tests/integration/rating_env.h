/*
 * rating_env.h - the database the rating tests work in (included by
 * test_rating.c and test_periods.c): a fresh database per test with every
 * migration applied, the meters of tests/fixtures/rating/rates.conf, an
 * owner connection for setting up and checking, an application-role
 * connection for the jobs, and helpers to make runs and usage (in
 * ingest's table from 004_ingest.sql).
 */
#ifndef BILLRUN_RATING_ENV_H
#define BILLRUN_RATING_ENV_H

#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "db.h"
#include "err.h"
#include "hash.h"
#include "job.h"
#include "migrate.h"
#include "sqltext.h"
#include "support.h"

extern const struct job job_aggregate;
extern const struct job job_rate;

static char env_dsn[1024];
static char env_dir[256];
static char env_conf[512];
static char env_rules[512];
static PGconn *owner;
static struct db *app;
static struct config env_cfg;
static long long env_rule_version;
static char env_out[65536];
static int env_counter;

#define NEED_PG()                       \
	do {                            \
		if (!test_pg_dsn())     \
			skip();         \
	} while (0)



#define q_int(...) test_q_int(owner, __VA_ARGS__)
#define sql(...) test_sql(owner, __VA_ARGS__)
#define q_text(...) test_q_text(owner, __VA_ARGS__)
#define billrun(...) test_billrun_conf(env_out, sizeof(env_out), env_conf, __VA_ARGS__, NULL)

static int env_setup(const char *prefix)
{
	char name[64];
	struct err e;

	if (!test_pg_dsn())
		return 0;
	snprintf(name, sizeof(name), "%s_%d", prefix, ++env_counter);
	if (test_db_fresh(name, env_dsn, sizeof(env_dsn)) || test_tmpdir(env_dir, sizeof(env_dir)))
		return -1;
	owner = PQconnectdb(env_dsn);
	if (PQstatus(owner) != CONNECTION_OK)
		return -1;
	PQclear(PQexec(owner, "SET client_min_messages = warning"));
	err_clear(&e);
	struct db *mig = db_connect(env_dsn, 0, &e);
	if (!mig || migrate_apply(mig, NULL, NULL, &e) < 0) {
		fprintf(stderr, "migrate: %s %s\n", e.message, e.detail);
		db_free(mig);
		return -1;
	}
	db_free(mig);
	/* The meters of the fixture rate card, as ingest's meters_sync()
	 * would store them. */
	PGresult *r = PQexec(owner,
		"INSERT INTO meters (name, aggregation, unique_attribute, round_increment, allow_credit) VALUES "
		"('voice_seconds', 'sum', NULL, 60, false), ('sms', 'count', NULL, NULL, false), "
		"('storage_gb', 'max', NULL, NULL, false), ('active_users', 'unique_count', 'user', NULL, false), "
		"('api_calls', 'sum', NULL, NULL, false), ('balance', 'latest', NULL, NULL, false), "
		"('adjustment', 'sum', NULL, NULL, true) ON CONFLICT (name) DO NOTHING");
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	if (!ok)
		return -1;

	snprintf(env_rules, sizeof(env_rules), "%s", test_src("tests/fixtures/rating/rates.conf"));
	snprintf(env_conf, sizeof(env_conf), "%s/billrun.conf", env_dir);
	if (test_write_config(env_conf, env_dir, env_dsn, env_rules, "",
			      "x = { steps = ( { name = \"a\"; job = \"noop\"; } ); };"))
		return -1;

	/* The rule version of the fixture card, as the runner stores it. */
	char *text = NULL;
	char sha[SHA256_HEX_LEN + 1];
	if (hash_read_file(env_rules, &text, NULL, &e))
		return -1;
	hash_sha256_hex(text, strlen(text), sha);
	const char *vp[] = { sha, env_rules, text };
	r = PQexecParams(owner, "INSERT INTO rule_versions (sha256, file_name, content) VALUES ($1, $2, $3) RETURNING id",
			 3, NULL, vp, NULL, NULL, 0);
	free(text);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		PQclear(r);
		return -1;
	}
	env_rule_version = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);

	app = db_connect(env_dsn, 0, &e);
	if (!app || db_exec(app, &e, "SET ROLE billrun_app", 0, NULL))
		return -1;
	memset(&env_cfg, 0, sizeof(env_cfg));
	env_cfg.money_rounding = "half_up";
	return 0;
}

static int env_teardown(void)
{
	if (owner)
		PQfinish(owner);
	owner = NULL;
	db_free(app);
	app = NULL;
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", env_dir);
	test_sh(env_out, sizeof(env_out), cmd);
	return 0;
}

/* Load a fixture with the billrun command, e.g. import("accounts", "accounts.csv"). */
static void import(const char *command, const char *fixture)
{
	char path[512];
	snprintf(path, sizeof(path), "tests/fixtures/rating/%s", fixture);
	int rc = billrun(command, "import", test_src(path));
	if (rc != 0) {
		fprintf(stderr, "billrun %s import %s: exit %d\n%s", command, fixture, rc, env_out);
		fail();
	}
}

/* A usage record, as ingest would insert it (by the application role,
 * so that the dirty-marking trigger runs as it will in production). The
 * file and run ids are placeholders: 004 keeps no foreign keys on them. */
static void usage(const char *account, const char *meter, const char *at, const char *quantity, const char *attributes)
{
	static int key;
	char k[32];
	struct err e;
	snprintf(k, sizeof(k), "t%d", ++key);
	const char *p[] = { k, account, meter, at, quantity, attributes };
	if (db_exec(app, &e,
		    "INSERT INTO usage (source, event_key, file_id, line_no, run_id, account_ext, meter, event_time, "
		    "quantity, attributes) VALUES ('test', $1, 0, 1, 0, $2, $3, $4, $5, $6)",
		    6, p)) {
		fprintf(stderr, "usage insert: %s\n", e.message);
		fail();
	}
}

/* A run with aggregate and rate steps pending; returns its id. */
static long long new_run(const char *kind, const char *start, const char *end, const char *account,
			 long long rerun_of)
{
	char rv[24], ro[24];
	snprintf(rv, sizeof(rv), "%lld", env_rule_version);
	snprintf(ro, sizeof(ro), "%lld", rerun_of);
	const char *p[] = { kind, start, end, rv, rerun_of ? ro : NULL, account };
	PGresult *r = PQexecParams(owner,
				   "INSERT INTO runs (dag, period_kind, period_start, period_end, host, pid, rule_version, "
				   "rerun_of, rerun_account) VALUES ('test', $1, $2, $3, 'test', 1, $4, $5, $6) RETURNING id",
				   6, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "%s", PQerrorMessage(owner));
		fail();
	}
	long long id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	sql("INSERT INTO run_steps (run_id, step) VALUES (%lld, 'aggregate'), (%lld, 'rate')", id, id);
	return id;
}

/* Run a job for run `run` like the runner would; returns its result. */
static int run_job_rc(const struct job *job, long long run, struct err *e)
{
	static char start[16], end[16], kind[8], account[256];
	snprintf(start, sizeof(start), "%s", q_text("SELECT period_start FROM runs WHERE id = %lld", run));
	snprintf(end, sizeof(end), "%s", q_text("SELECT period_end FROM runs WHERE id = %lld", run));
	snprintf(kind, sizeof(kind), "%s", q_text("SELECT period_kind FROM runs WHERE id = %lld", run));
	snprintf(account, sizeof(account), "%s", q_text("SELECT rerun_account FROM runs WHERE id = %lld", run));
	struct job_ctx ctx = {
		.db = app, .cfg = &env_cfg, .run_id = run, .dag = "test", .step = job->name, .attempt = 1,
		.period_kind = kind, .period_start = start, .period_end = end, .output_dir = env_dir,
		.rule_version = env_rule_version, .rules_file = env_rules,
		.account = strcmp(account, "NULL") ? account : NULL,
		.rerun_of = strtoll(q_text("SELECT coalesce(rerun_of, 0) FROM runs WHERE id = %lld", run), NULL, 10),
	};
	/* Usage the tests wrote by hand has no partial sums yet (ingest
	 * writes them with every file): add them as 024 does for such rows. */
	if (strcmp(job->name, "aggregate") == 0)
		sql("SELECT billrun_partials_catch_up()");
	err_clear(e);
	return job->run(&ctx, e);
}

static void run_job(const struct job *job, long long run)
{
	struct err e;
	if (run_job_rc(job, run, &e)) {
		fprintf(stderr, "job %s failed: %s\ndetail: %s\nhint: %s\n", job->name, e.message, e.detail, e.hint);
		fail();
	}
	assert_string_equal(q_text("SELECT status FROM run_steps WHERE run_id = %lld AND step = '%s'", run, job->name),
			    "success");
}

/* aggregate then rate, for a new run of the period; returns the run. */
static long long run_period(const char *kind, const char *start, const char *end)
{
	long long run = new_run(kind, start, end, NULL, 0);
	run_job(&job_aggregate, run);
	run_job(&job_rate, run);
	return run;
}

#endif
