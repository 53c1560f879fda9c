/*
 * aggregate.c - the aggregate step: usage into one value per account,
 * billing period and meter, recomputed for the periods that have new
 * usage, that close in this run, or that a rerun names. The work is
 * set-based SQL (sql/queries/aggregate.sql); this file decides which
 * statements run, in one REPEATABLE READ transaction with the done mark.
 */
#include "cfg.h"
#include "db.h"
#include "err.h"
#include "job.h"
#include "log.h"
#include "sqltext.h"

#include <stdio.h>
#include <stdlib.h>

static int check_trigger(struct job_ctx *ctx, struct err *e)
{
	int64_t n = 0;

	if (db_query_int64(ctx->db, e, &n, SQL_aggregate_trigger_present, 0, NULL) < 0)
		return -1;
	if (n == 1)
		return 0;
	err_set(e, ERR_CONFIG, "table 'usage_partials' has no 'usage_dirty' trigger: new usage would not be aggregated");
	err_detail(e, "migration 024_aggregate_partials.sql adds it");
	return err_hint(e, "run 'billrun db migrate'");
}

static int aggregate_run(struct job_ctx *ctx, struct err *e)
{
	char run[24];
	const char *account = ctx->account;
	PGresult *res = NULL;

	snprintf(run, sizeof(run), "%lld", (long long)ctx->run_id);
	if (check_trigger(ctx, e) || db_begin(ctx->db, e))
		return -1;
	/* For this transaction only: the store statement joins a window of
	 * usage to the targets, and with the default 4 MB its sorts spill to
	 * disk; and the planner's estimates for the per-account period
	 * functions are high enough to trigger JIT compilation, which cost
	 * more than it saved (seconds, measured with 20000 accounts). */
	if (db_exec(ctx->db, e, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", 0, NULL) ||
	    db_exec(ctx->db, e, "SET LOCAL work_mem = '128MB'", 0, NULL) ||
	    db_exec(ctx->db, e, "SET LOCAL jit = off", 0, NULL) ||
	    db_exec(ctx->db, e, SQL_aggregate_targets_create, 0, NULL))
		goto fail;
	if (account) {
		const char *p[] = { account, ctx->period_start, ctx->period_end };
		if (db_exec(ctx->db, e, SQL_aggregate_targets_account, 3, p))
			goto fail;
	} else {
		const char *p[] = { ctx->period_start, ctx->period_end, run };
		if (db_exec(ctx->db, e, SQL_aggregate_targets_dirty, 0, NULL) ||
		    db_exec(ctx->db, e, SQL_aggregate_targets_close, 3, p))
			goto fail;
	}
	const char *rp[] = { run, account };
	if (db_exec(ctx->db, e, SQL_aggregate_targets_rerun, 2, rp))
		goto fail;

	if (db_exec(ctx->db, e, SQL_aggregate_targets_analyze, 0, NULL))
		goto fail;
	res = db_query(ctx->db, e, SQL_aggregate_window, 0, NULL);
	if (!res)
		goto fail;
	char from[64] = "", to[64] = "";
	if (!PQgetisnull(res, 0, 0)) {
		snprintf(from, sizeof(from), "%s", PQgetvalue(res, 0, 0));
		snprintf(to, sizeof(to), "%s", PQgetvalue(res, 0, 1));
	}
	PQclear(res);
	const char *source = ctx->cfg && ctx->cfg->aggregate_source ? ctx->cfg->aggregate_source : "partials";
	const char *sp[] = { run, ctx->period_end, *from ? from : "infinity", *to ? to : "-infinity", source };
	if (db_exec_script(ctx->db, e, SQL_aggregate_hash_on))
		goto fail;
	res = db_query(ctx->db, e, SQL_aggregate_store, 5, sp);
	if (!res || db_exec_script(ctx->db, e, SQL_aggregate_hash_off))
		goto fail;
	long long snapshots = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	long long records = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	long long unmetered = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	long long from_usage = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
	PQclear(res);
	res = NULL;
	if (unmetered)
		log_warn("aggregate: %lld usage records have a meter not in table 'meters' and were not aggregated",
			 unmetered);

	if (!account) {
		res = db_query(ctx->db, e, SQL_aggregate_dirty_unknown, 0, NULL);
		if (!res)
			goto fail;
		long long accounts = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		long long held = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
		PQclear(res);
		res = NULL;
		if (accounts)
			log_warn("aggregate: %lld usage records of %lld unknown accounts wait for "
				 "'billrun accounts import'", held, accounts);
		if (db_exec(ctx->db, e, SQL_aggregate_dirty_consume, 0, NULL))
			goto fail;
	}
	log_info("aggregate: %lld account periods recomputed from %lld usage records%s%s (%lld accounts from their "
		 "usage rows, the others from partial sums)", snapshots, records, account ? " for account " : "",
		 account ? account : "", from_usage);
	return job_commit_done(ctx, e);
fail:
	PQclear(res);
	db_rollback(ctx->db);
	return err_prefix(e, "aggregate: ");
}

const struct job job_aggregate = {
	"aggregate", "usage per account, billing period and meter (incremental)", aggregate_run
};
