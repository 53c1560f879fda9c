/*
 * reconcile_env.h - the world the reconcile and quarantine tests run in
 * (included by test_reconcile.c and test_quarantine.c): a fresh database
 * per test with every migration, the accounts, subscriptions and rate card
 * of tests/fixtures/reconcile/, a spool with three sources (usage-csv and
 * two FOCUS ones: meter cloud_cost, and cloud_net, which counts credits
 * and adjustments too), an owner connection to set up and check, an application-role
 * connection for the jobs, and helpers to run a night's steps the way the
 * runner runs them.
 */
#ifndef BILLRUN_RECONCILE_ENV_H
#define BILLRUN_RECONCILE_ENV_H

#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "db.h"
#include "err.h"
#include "hash.h"
#include "job.h"
#include "migrate.h"
#include "reconcile.h"
#include "support.h"

static char env_dsn[1024];
static char env_dir[256];
static char env_conf[512];
static char env_rules[512];
static char env_spool[512];
static char env_outdir[512];
static PGconn *owner;
static struct db *app;
static struct config env_cfg;
static int env_cfg_loaded;
static long long env_rule_version;
static char env_out[65536];
static int env_counter;

#define NEED_PG()                       \
	do {                            \
		if (!test_pg_dsn())     \
			skip();         \
	} while (0)

#define FIXTURE(name) test_src("tests/fixtures/reconcile/" name)



#define q_int(...) test_q_int(owner, __VA_ARGS__)
#define sql(...) test_sql(owner, __VA_ARGS__)
#define q_text(...) test_q_text(owner, __VA_ARGS__)
#define billrun(...) test_billrun_conf(env_out, sizeof(env_out), env_conf, __VA_ARGS__, NULL)

/* The DAG every test config has: the nightly chain of built-in steps.
 * aggregate and rate retry: a REPEATABLE READ step can lose its done
 * mark's row to the runner's own "running" mark (a serialization failure,
 * retryable); reconcile and quarantine start over by themselves. */
#define ENV_DAGS                                                                         \
	"nightly = { period = \"day\"; steps = (\n"                                      \
	"  { name = \"ingest\"; job = \"ingest\"; },\n"                                  \
	"  { name = \"aggregate\"; job = \"aggregate\"; after = [\"ingest\"]; retries = 3; retry_delay = \"0s\"; },\n" \
	"  { name = \"rate\"; job = \"rate\"; after = [\"aggregate\"]; retries = 3; retry_delay = \"0s\"; },\n" \
	"  { name = \"reconcile\"; job = \"reconcile\"; after = [\"rate\"]; },\n"        \
	"  { name = \"quarantine\"; job = \"quarantine\"; after = [\"reconcile\"]; }\n" \
	"); };"

/* (Re)write the config with `reconcile` (the inside of reconcile = { })
 * and load it into env_cfg, as the runner would. */
static int env_config(const char *reconcile)
{
	char extra[2048];
	struct err e;
	snprintf(extra, sizeof(extra),
		 "output_dir = \"%s\";\n"
		 "spool = { dir = \"%s\"; };\n"
		 "sources = (\n"
		 "  { name = \"usage\"; format = \"usage-csv\"; pattern = \"usage-*.csv\"; },\n"
		 "  { name = \"cloud\"; format = \"focus\"; pattern = \"focus-*.csv\"; meter = \"cloud_cost\"; },\n"
		 "  { name = \"cloudnet\"; format = \"focus\"; pattern = \"focusnet-*.csv\"; meter = \"cloud_net\"; }\n"
		 ");\n"
		 "reconcile = { %s };\n",
		 env_outdir, env_spool, reconcile ? reconcile : "");
	if (test_write_config(env_conf, env_dir, env_dsn, env_rules, extra, ENV_DAGS))
		return -1;
	if (env_cfg_loaded)
		cfg_release(&env_cfg);
	env_cfg_loaded = 1;
	err_clear(&e);
	if (cfg_load(&env_cfg, env_conf, 1, &e)) {
		fprintf(stderr, "config: %s\n", e.message);
		return -1;
	}
	return 0;
}

/* Load a fixture CSV (header line, '#' comments, no quoted fields) row by
 * row through the import function `fn` of 005_rating.sql, as `billrun
 * accounts|subscriptions import` does (the rating tests drive those
 * commands; here it saves two process starts per test). */
static int env_import(const char *fixture, const char *fn, int nargs)
{
	FILE *f = fopen(fixture, "r");
	char line[1024], sqltext[256];
	int header = 1, rc = 0;
	if (!f)
		return -1;
	snprintf(sqltext, sizeof(sqltext), "SELECT %s(", fn);
	for (int i = 1; i <= nargs; i++)
		snprintf(sqltext + strlen(sqltext), sizeof(sqltext) - strlen(sqltext), "%s$%d%s", i > 1 ? ", " : "", i,
			 strcmp(fn, "account_import") == 0 && i == 4 ? "::smallint" : "");
	strcat(sqltext, ")");
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#' || !line[0])
			continue;
		if (header) {
			header = 0;
			continue;
		}
		const char *v[10] = { 0 };
		int n = 0;
		for (char *p = line, *c; n < 10; p = c + 1) {
			v[n++] = p;
			if (!(c = strchr(p, ',')))
				break;
			*c = '\0';
		}
		for (int i = 0; i < n; i++)
			if (!*v[i])
				v[i] = NULL;
		const char *args[9];
		if (strcmp(fn, "account_import") == 0) {
			/* external_id,name,time_zone,anchor_day,currency,tax_jurisdiction,cost_centre,valid_from */
			const char *a[] = { v[0], v[1] ? v[1] : "", v[2], v[3], v[4], v[5] ? v[5] : "", v[6] ? v[6] : "", "",
					    v[7] };
			memcpy(args, a, sizeof(a));
		} else {
			memcpy(args, v, sizeof(args[0]) * 4); /* account,plan,valid_from,valid_to */
		}
		PGresult *r = PQexecParams(owner, sqltext, nargs, NULL, args, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			fprintf(stderr, "%s: %s", fixture, PQerrorMessage(owner));
			rc = -1;
		}
		PQclear(r);
	}
	fclose(f);
	return rc;
}

static int env_setup(const char *prefix)
{
	char name[64];
	struct err e;

	if (!test_pg_dsn())
		return 0;
	snprintf(name, sizeof(name), "%s_%d", prefix, ++env_counter);
	if (test_db_fresh(name, env_dsn, sizeof(env_dsn)) || test_tmpdir(env_dir, sizeof(env_dir)))
		return -1;
	snprintf(env_spool, sizeof(env_spool), "%s/spool", env_dir);
	snprintf(env_outdir, sizeof(env_outdir), "%s/out", env_dir);
	mkdir(env_spool, 0755);
	mkdir(env_outdir, 0755);
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

	snprintf(env_rules, sizeof(env_rules), "%s", FIXTURE("rates.conf"));
	snprintf(env_conf, sizeof(env_conf), "%s/billrun.conf", env_dir);
	if (env_config(NULL))
		return -1;
	char *text = NULL;
	char sha[SHA256_HEX_LEN + 1];
	if (hash_read_file(env_rules, &text, NULL, &e))
		return -1;
	hash_sha256_hex(text, strlen(text), sha);
	const char *vp[] = { sha, env_rules, text };
	PGresult *r = PQexecParams(owner, "INSERT INTO rule_versions (sha256, file_name, content) VALUES ($1, $2, $3) "
				   "RETURNING id", 3, NULL, vp, NULL, NULL, 0);
	free(text);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		PQclear(r);
		return -1;
	}
	env_rule_version = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);

	if (env_import(FIXTURE("accounts.csv"), "account_import", 9) ||
	    env_import(FIXTURE("subscriptions.csv"), "subscription_import", 4))
		return -1;
	app = db_connect(env_dsn, 0, &e);
	/* jit off for the other steps too (see jobs/reconcile.c): the tests
	 * are about results, and JIT compiles aggregate's statements for ~2 s. */
	if (!app || db_exec(app, &e, "SET ROLE billrun_app", 0, NULL) || db_exec(app, &e, "SET jit = off", 0, NULL))
		return -1;
	return 0;
}

static int env_teardown(void)
{
	if (owner)
		PQfinish(owner);
	owner = NULL;
	db_free(app);
	app = NULL;
	if (env_cfg_loaded)
		cfg_release(&env_cfg);
	env_cfg_loaded = 0;
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", env_dir);
	test_sh(env_out, sizeof(env_out), cmd);
	return 0;
}

/* Copy a fixture (and its control file, when there is one) into the spool. */
static void spool_put(const char *fixture)
{
	char cmd[2048];
	const char *src = test_src("tests/fixtures/reconcile");
	snprintf(cmd, sizeof(cmd), "cp '%s/%s' '%s/' && { [ ! -e '%s/%s.ctl' ] || cp '%s/%s.ctl' '%s/'; }", src,
		 fixture, env_spool, src, fixture, src, fixture, env_spool);
	if (test_sh(env_out, sizeof(env_out), cmd) != 0) {
		fprintf(stderr, "%s: %s\n", cmd, env_out);
		fail();
	}
}

/* A run of DAG `dag` with every step pending; returns its id. */
static long long new_run(const char *dag, const char *kind, const char *start, const char *end)
{
	char rv[24];
	snprintf(rv, sizeof(rv), "%lld", env_rule_version);
	const char *p[] = { dag, kind, start, end, rv };
	PGresult *r = PQexecParams(owner,
				   "INSERT INTO runs (dag, period_kind, period_start, period_end, host, pid, rule_version) "
				   "VALUES ($1, $2, $3, $4, 'test', 1, $5) RETURNING id",
				   5, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "%s", PQerrorMessage(owner));
		fail();
	}
	long long id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	sql("INSERT INTO run_steps (run_id, step) SELECT %lld, s FROM unnest(ARRAY['ingest', 'aggregate', 'rate', "
	    "'reconcile', 'quarantine', 'invoice', 'chargeback']) s",
	    id);
	return id;
}

/* Run a job for run `run` like the runner would; returns its result. */
static int run_job_rc(const char *name, long long run, struct err *e)
{
	static char start[16], end[16], kind[8], account[256];
	const struct job *job = job_find(name);
	if (!job) {
		fprintf(stderr, "no job '%s'\n", name);
		fail();
	}
	snprintf(start, sizeof(start), "%s", q_text("SELECT period_start FROM runs WHERE id = %lld", run));
	snprintf(end, sizeof(end), "%s", q_text("SELECT period_end FROM runs WHERE id = %lld", run));
	snprintf(kind, sizeof(kind), "%s", q_text("SELECT period_kind FROM runs WHERE id = %lld", run));
	snprintf(account, sizeof(account), "%s", q_text("SELECT rerun_account FROM runs WHERE id = %lld", run));
	struct job_ctx ctx = {
		.db = app, .cfg = &env_cfg, .run_id = run, .dag = "nightly", .step = job->name, .attempt = 1,
		.period_kind = kind, .period_start = start, .period_end = end, .output_dir = env_outdir,
		.rule_version = env_rule_version, .rules_file = env_rules,
		.account = strcmp(account, "NULL") ? account : NULL,
		.rerun_of = q_int("SELECT coalesce(rerun_of, 0) FROM runs WHERE id = %lld", run),
	};
	/* Usage the tests wrote by hand has no partial sums yet (ingest
	 * writes them with every file): add them as 024 does for such rows. */
	if (strcmp(job->name, "aggregate") == 0)
		sql("SELECT billrun_partials_catch_up()");
	err_clear(e);
	return job->run(&ctx, e);
}

static void run_job(const char *name, long long run)
{
	struct err e;
	if (run_job_rc(name, run, &e)) {
		fprintf(stderr, "job %s failed: %s\ndetail: %s\nhint: %s\n", name, e.message, e.detail, e.hint);
		fail();
	}
	assert_string_equal(q_text("SELECT status FROM run_steps WHERE run_id = %lld AND step = '%s'", run, name),
			    "success");
	/* The files the step registered are renamed now that its done mark
	 * is committed, as the runner does. */
	char sqltext[512];
	snprintf(sqltext, sizeof(sqltext),
		 "SELECT p->>0, p->>1 FROM run_steps, jsonb_array_elements(pending_renames) p "
		 "WHERE run_id = %lld AND step = '%s'", run, name);
	PGresult *r = PQexec(owner, sqltext);
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	for (int i = 0; i < PQntuples(r); i++)
		assert_int_equal(rename(PQgetvalue(r, i, 0), PQgetvalue(r, i, 1)), 0);
	PQclear(r);
}

/* A night: a day run of DAG nightly through the steps named (NULL-ended
 * list), with whatever is in the spool. Returns the run. */
static long long night_steps(const char *day, const char *const *steps)
{
	char end[16];
	snprintf(end, sizeof(end), "%s", q_text("SELECT ('%s'::date + 1)::text", day));
	long long run = new_run("nightly", "day", day, end);
	for (int i = 0; steps[i]; i++)
		run_job(steps[i], run);
	return run;
}

static const char *const all_steps[] = { "ingest", "aggregate", "rate", "reconcile", "quarantine", NULL };

static __attribute__((unused)) long long night(const char *day)
{
	return night_steps(day, all_steps);
}

/* The verdict of run's check `name` (with an SQL condition on the row). */
static __attribute__((unused)) const char *verdict(long long run, const char *name, const char *where)
{
	return q_text("SELECT coalesce(string_agg(verdict, ',' ORDER BY id), 'none') FROM reconciliation_checks "
		      "WHERE run_id = %lld AND check_name = '%s' AND %s",
		      run, name, where ? where : "true");
}

/* Open holds of an account with a reason, as "reason,reason". */
static __attribute__((unused)) const char *holds_of(const char *account)
{
	return q_text("SELECT coalesce(string_agg(DISTINCT reason, ','), 'none') FROM account_holds_open "
		      "WHERE account_ext = '%s'",
		      account);
}

/* Forge `n` reconciled nights before 2026-03-10 on which account used
 * `base` + (night mod 3) calls. */
static __attribute__((unused)) void drift_history(const char *account, int n, int base)
{
	for (int i = n; i >= 1; i--) {
		char day[16], end[16];
		snprintf(day, sizeof(day), "%s", q_text("SELECT ('2026-03-10'::date - %d)::text", i));
		snprintf(end, sizeof(end), "%s", q_text("SELECT ('2026-03-10'::date - %d)::text", i - 1));
		long long run = new_run("nightly", "day", day, end);
		sql("INSERT INTO reconcile_runs (run_id, dag, period_kind, period_start, files, checks, failed, warned, "
		    "skipped, holds) VALUES (%lld, 'nightly', 'day', '%s', 1, 0, 0, 0, 0, 0)",
		    run, day);
		sql("INSERT INTO reconcile_run_totals (run_id, account_ext, meter, records, quantity) "
		    "VALUES (%lld, '%s', 'calls', 2, %d)",
		    run, account, base + i % 3);
	}
}

#endif
