/*
 * job.c - the table of built-in jobs and the done mark they commit with.
 */
#include "job.h"
#include "db.h"
#include "err.h"
#include "sqltext.h"

#include <stdio.h>
#include <string.h>

/* Each built-in job lives in its own file and is listed here. */
extern const struct job job_noop;
extern const struct job job_ingest;
extern const struct job job_aggregate;
extern const struct job job_rate;
extern const struct job job_reconcile;
extern const struct job job_quarantine;
extern const struct job job_invoice;
extern const struct job job_chargeback;
extern const struct job job_xbrl;
extern const struct job job_archive;

const struct job *const job_table[] = {
	&job_noop,
	&job_ingest,
	&job_aggregate,
	&job_rate,
	&job_reconcile,
	&job_quarantine,
	&job_invoice,
	&job_chargeback,
	&job_xbrl,
	&job_archive,
	NULL,
};

const struct job *job_find(const char *name)
{
	for (int i = 0; job_table[i]; i++)
		if (strcmp(job_table[i]->name, name) == 0)
			return job_table[i];
	return NULL;
}

int job_commit_done(struct job_ctx *ctx, struct err *e)
{
	char run[32];
	snprintf(run, sizeof(run), "%lld", (long long)ctx->run_id);
	const char *params[] = { run, ctx->step };
	if (db_exec(ctx->db, e, SQL_job_commit_done, 2, params) ||
	    db_commit(ctx->db, e)) {
		db_rollback(ctx->db);
		return -1;
	}
	ctx->done_marked = 1;
	return 0;
}

int job_rename_after_commit(struct job_ctx *ctx, const char *tmp_path, const char *final_path,
			    struct err *e)
{
	char run[32];
	snprintf(run, sizeof(run), "%lld", (long long)ctx->run_id);
	const char *params[] = { run, ctx->step, tmp_path, final_path };
	return db_exec(ctx->db, e, SQL_job_pending_rename, 4, params);
}

/* noop: a step that does nothing and commits its done mark; for DAG tests
 * and as the smallest example of the contract. */
static int noop_run(struct job_ctx *ctx, struct err *e)
{
	if (db_begin(ctx->db, e))
		return -1;
	return job_commit_done(ctx, e);
}

const struct job job_noop = { "noop", "do nothing (for tests and examples)", noop_run };
