/*
 * reconcile.c - the reconcile step: control totals at every stage, per run
 * and per account period, each comparison stored with its verdict, and the
 * account periods of failing checks held (see reconcile.h). The work is
 * set-based SQL (sql/queries/reconcile.sql); this file reads the settings,
 * runs the statements in order in one REPEATABLE READ transaction with the
 * done mark, and logs what was found.
 */
#include "reconcile.h"
#include "cfg.h"
#include "db.h"
#include "err.h"
#include "log.h"
#include "sqltext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FINDINGS_LOGGED 20

/* ---- settings ---- */

static int setting_error(const struct config *cfg, const char *key, struct err *e, const char *fmt,
			 const char *value)
{
	config_setting_t *s = cfg && cfg->loaded ? config_lookup((config_t *)&cfg->lc, key) : NULL;
	if (s)
		return cfg_error_at(e, s, fmt, value);
	char msg[ERR_MSG_MAX];
	snprintf(msg, sizeof(msg), fmt, value);
	return err_set(e, ERR_CONFIG, "key '%s': %s", key, msg);
}

/* A threshold: a non-negative decimal (positive when `positive`), kept as
 * its normalised text. */
static int threshold(const struct config *cfg, const char *key, const char *value, const char *def, int positive,
		     char *out, struct err *e)
{
	struct dec d;

	if (!value)
		value = def;
	if (dec_parse_cstr(&d, value) || dec_sign(d) < 0 || (positive && dec_sign(d) == 0)) {
		setting_error(cfg, key, e,
			      positive ? "'%s' is not a positive decimal number" : "'%s' is not a decimal number >= 0",
			      value);
		return err_hint(e, "write it as a string, e.g. \"0.001\" for 0.1 %%");
	}
	dec_format(dec_normalize(d), out, DEC_STR_MAX);
	return 0;
}

int reconcile_settings_load(const struct config *cfg, struct reconcile_settings *s, struct err *e)
{
	memset(s, 0, sizeof(*s));
	s->focus_cost = cfg ? cfg->reconcile_focus_cost : 1;
	s->drift_nights = cfg && cfg->reconcile_drift_nights ? cfg->reconcile_drift_nights : 30;
	s->drift_min_nights = cfg && cfg->reconcile_drift_min_nights ? cfg->reconcile_drift_min_nights : 7;
	s->drift_hold = cfg ? cfg->reconcile_drift_hold : 0;
	if (threshold(cfg, "reconcile.quantity_relative", cfg ? cfg->reconcile_quantity_relative : NULL, "0.001", 0,
		      s->quantity_relative, e) ||
	    threshold(cfg, "reconcile.quantity_absolute", cfg ? cfg->reconcile_quantity_absolute : NULL, "0", 0,
		      s->quantity_absolute, e) ||
	    threshold(cfg, "reconcile.amount_relative", cfg ? cfg->reconcile_amount_relative : NULL, "0.001", 0,
		      s->amount_relative, e) ||
	    threshold(cfg, "reconcile.amount_absolute", cfg ? cfg->reconcile_amount_absolute : NULL, "0", 0,
		      s->amount_absolute, e) ||
	    threshold(cfg, "reconcile.drift_sigmas", cfg ? cfg->reconcile_drift_sigmas : NULL, "4", 1,
		      s->drift_sigmas, e))
		return -1;
	if (s->drift_min_nights > s->drift_nights) {
		char v[32];
		snprintf(v, sizeof(v), "%lld", (long long)s->drift_min_nights);
		return setting_error(cfg, "reconcile.drift_min_nights", e, "%s is more than reconcile.drift_nights", v);
	}
	return 0;
}

/* ---- the step ---- */

struct reconciler {
	struct job_ctx *ctx;
	struct reconcile_settings set;
	char run[24];
	long long drift_evaluated, drift_flagged, drift_nights;
	long long holds;
};

static long long value_ll(PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* Tonight's quantities against the history, nightly first runs only: a
 * rerun or a month run has no comparable "tonight". */
static int check_drift(struct reconciler *R, struct err *e)
{
	struct job_ctx *ctx = R->ctx;

	if (ctx->rerun_of || ctx->account || !ctx->period_kind || strcmp(ctx->period_kind, "day") != 0) {
		log_debug("reconcile: drift is judged in nightly runs only");
		return 0;
	}
	char nights[24], min_nights[24];
	snprintf(nights, sizeof(nights), "%lld", (long long)R->set.drift_nights);
	snprintf(min_nights, sizeof(min_nights), "%lld", (long long)R->set.drift_min_nights);
	const char *p[] = { R->run, nights, min_nights, R->set.drift_sigmas, R->set.drift_hold ? "true" : "false" };
	PGresult *res = db_query(ctx->db, e, SQL_reconcile_drift, 5, p);
	if (!res)
		return -1;
	R->drift_evaluated = value_ll(res, 0, 0);
	R->drift_flagged = value_ll(res, 0, 1);
	R->drift_nights = value_ll(res, 0, 2);
	PQclear(res);
	return 0;
}

static int run_checks(struct reconciler *R, struct err *e)
{
	struct job_ctx *ctx = R->ctx;
	struct db *db = ctx->db;
	const struct reconcile_settings *s = &R->set;
	const char *account = ctx->account;

	const char *ra[] = { R->run, account };
	const char *r1[] = { R->run };
	/* reconcile.source: the partial sums ingest stored (023), or the usage
	 * rows, recounted independently of everything the steps stored. */
	const char *source = ctx->cfg && ctx->cfg->reconcile_source ? ctx->cfg->reconcile_source : "partials";
	int from_usage = strcmp(source, "usage") == 0;
	const char *sp1[] = { source };
	/* The two scans of usage hash (see reconcile_hash_on); the temporary
	 * tables are analyzed as they are filled, for the joins after them. */
	if (db_exec_script(db, e, SQL_reconcile_temp_tables) ||
	    db_exec_script(db, e, SQL_reconcile_hash_on) ||
	    db_exec(db, e, from_usage ? SQL_reconcile_usage_scan : SQL_reconcile_usage_scan_partials, 2, ra) ||
	    db_exec_script(db, e, SQL_reconcile_after_scan) ||
	    db_exec(db, e, SQL_reconcile_usage_periods, 0, NULL) ||
	    db_exec(db, e, SQL_reconcile_file_accounts, 1, r1) ||
	    db_exec_script(db, e, SQL_reconcile_after_periods))
		return -1;
	/* A dispute rerun of one account ingests nothing; the files belong to
	 * the original run, which checked them. */
	if (!account) {
		const char *fp[] = { R->run, s->quantity_relative, s->quantity_absolute, s->amount_relative,
				     s->amount_absolute };
		if (db_exec(db, e, SQL_reconcile_file_checks, 5, fp))
			return -1;
	}
	if (db_exec(db, e, SQL_reconcile_ratings, 2, ra) ||
	    db_exec(db, e, SQL_reconcile_targets, 2, ra) ||
	    db_exec(db, e, SQL_reconcile_targets_snapshot, 0, NULL) ||
	    db_exec_script(db, e, SQL_reconcile_before_recount) ||
	    db_exec(db, e, SQL_reconcile_straddling, 1, sp1) ||
	    db_exec(db, e, SQL_reconcile_recount_partials, 0, NULL) ||
	    db_exec(db, e, SQL_reconcile_recount, 0, NULL) ||
	    db_exec_script(db, e, SQL_reconcile_after_recount))
		return -1;
	const char *qp[] = { R->run, s->quantity_relative, s->quantity_absolute };
	const char *rp[] = { R->run, account, s->quantity_relative, s->quantity_absolute };
	if (db_exec(db, e, SQL_reconcile_aggregate_checks, 3, qp) ||
	    db_exec(db, e, SQL_reconcile_rate_checks, 4, rp))
		return -1;
	if (s->focus_cost) {
		const char *ap[] = { R->run, s->amount_relative, s->amount_absolute };
		if (db_exec(db, e, SQL_reconcile_focus_checks, 3, ap))
			return -1;
	}
	if (check_drift(R, e))
		return -1;
	PGresult *res = db_query(db, e, SQL_reconcile_holds, 2, ra);
	if (!res)
		return -1;
	R->holds = PQntuples(res);
	PQclear(res);
	return 0;
}

/* Log the failures and warnings (the first few; the table has them all)
 * and store the run's summary and totals. */
static int finish(struct reconciler *R, struct err *e)
{
	struct db *db = R->ctx->db;
	const char *r1[] = { R->run };
	PGresult *res = db_query(db, e, SQL_reconcile_summary, 1, r1);
	if (!res)
		return -1;
	long long checks = value_ll(res, 0, 0), failed = value_ll(res, 0, 1), warned = value_ll(res, 0, 2);
	long long skipped = value_ll(res, 0, 3), files = value_ll(res, 0, 4);
	PQclear(res);

	char limit[16];
	snprintf(limit, sizeof(limit), "%d", FINDINGS_LOGGED);
	const char *lp[] = { R->run, limit };
	if (!(res = db_query(db, e, SQL_reconcile_findings, 2, lp)))
		return -1;
	for (int i = 0; i < PQntuples(res); i++)
		log_warn("reconcile: %s %s: %s", PQgetvalue(res, i, 0),
			 strcmp(PQgetvalue(res, i, 1), "fail") == 0 ? "failed" : "warning", PQgetvalue(res, i, 2));
	if (failed + warned > FINDINGS_LOGGED)
		log_warn("reconcile: ... and %lld more (table reconciliation_checks, run %s)",
			 failed + warned - FINDINGS_LOGGED, R->run);
	PQclear(res);

	char n[6][24];
	long long v[6] = { files, checks, failed, warned, skipped, R->holds };
	for (int i = 0; i < 6; i++)
		snprintf(n[i], sizeof(n[i]), "%lld", v[i]);
	const char *sp[] = { R->run, n[0], n[1], n[2], n[3], n[4], n[5] };
	if (db_exec(db, e, SQL_reconcile_run_store, 7, sp))
		return -1;
	log_info("reconcile: %lld checks over %lld files: %lld passed, %lld failed, %lld skipped, %lld drift warnings; "
		 "%lld account periods held; drift judged %lld account meters against %lld nights",
		 checks, files, checks - failed - warned - skipped, failed, skipped, warned, R->holds,
		 R->drift_evaluated, R->drift_nights);
	return 0;
}

int reconcile_step_tx(struct job_ctx *ctx, int (*body)(struct job_ctx *ctx, void *arg, struct err *e), void *arg,
		      struct err *e)
{
	for (int attempt = 1;; attempt++) {
		/* jit off: billing_periods() is planned at 1000 rows a call,
		 * which makes PostgreSQL compile small statements for seconds. */
		if (db_begin(ctx->db, e) ||
		    db_exec(ctx->db, e, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", 0, NULL) ||
		    db_exec(ctx->db, e, "SET LOCAL jit = off", 0, NULL) || body(ctx, arg, e) ||
		    job_commit_done(ctx, e)) {
			db_rollback(ctx->db);
			int conflict = strcmp(e->sqlstate, "40001") == 0 || strcmp(e->sqlstate, "40P01") == 0;
			if (!conflict || attempt == 3)
				return -1;
			log_info("%s: %s; starting over (%d of 3)", ctx->step, e->message, attempt + 1);
			usleep(100000 * (useconds_t)attempt);
			err_clear(e);
			continue;
		}
		return 0;
	}
}

static int reconcile_body(struct job_ctx *ctx, void *arg, struct err *e)
{
	struct reconciler *R = arg;

	R->drift_evaluated = R->drift_flagged = R->drift_nights = R->holds = 0;
	/* The checks commit with the done mark, so a run that has them is
	 * reconciled (checks are append-only: never twice). */
	int64_t done = 0;
	const char *r1[] = { R->run };
	if (db_query_int64(ctx->db, e, &done, SQL_reconcile_already, 1, r1) < 0)
		return -1;
	if (done) {
		log_info("reconcile: run %s is reconciled already", R->run);
		return 0;
	}
	return run_checks(R, e) || finish(R, e) ? -1 : 0;
}

static int reconcile_run(struct job_ctx *ctx, struct err *e)
{
	struct reconciler R;

	memset(&R, 0, sizeof(R));
	R.ctx = ctx;
	snprintf(R.run, sizeof(R.run), "%lld", (long long)ctx->run_id);
	if (reconcile_settings_load(ctx->cfg, &R.set, e) || reconcile_step_tx(ctx, reconcile_body, &R, e))
		return err_prefix(e, "reconcile: ");
	return 0;
}

const struct job job_reconcile = {
	"reconcile", "compare control totals at every stage; hold the accounts that do not reconcile", reconcile_run
};
