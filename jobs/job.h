/*
 * job.h - the one interface every built-in step implements.
 *
 * The runner forks a child per step attempt; in the child it opens a
 * database connection as the application role, fills a job_ctx and calls
 * the job's run function. The job knows nothing of scheduling: it does its
 * work for ctx->period and returns 0, or -1 with e set. A retryable error
 * (err_is_retryable: lost connection, serialization failure, ERR_TEMPFAIL)
 * makes the attempt retryable; any other error is permanent.
 *
 * Crash safety: a job's last transaction must include its done mark, so
 * effects and "done" commit together: call job_commit_done() instead of
 * db_commit() for it. Earlier transactions (ingest commits per file) must
 * be idempotent when redone. Files are written under a temporary name
 * and handed to job_rename_after_commit(); the runner renames them after
 * the commit (and a resume finishes renames a crash interrupted).
 */
#ifndef BILLRUN_JOB_H
#define BILLRUN_JOB_H

#include <stdint.h>

struct config;
struct db;
struct err;

struct job_ctx {
	struct db *db;               /* application-role connection, no open tx */
	const struct config *cfg;
	int64_t run_id;
	const char *dag;
	const char *step;
	int attempt;                 /* 1-based */
	const char *period_kind;     /* "day" or "month" */
	const char *period_start;    /* YYYY-MM-DD, inclusive */
	const char *period_end;      /* YYYY-MM-DD, exclusive */
	const char *output_dir;      /* this run's output folder (exists) */
	int64_t rule_version;        /* rule_versions.id, or 0 if none */
	const char *rules_file;      /* path of the rate card text for that version
	                                (a temp copy when reapplying an old one) */
	const char *account;         /* rerun for one account's id, or NULL */
	int64_t rerun_of;            /* original run of a rerun, or 0 */
	int done_marked;             /* set by job_commit_done */
};

struct job {
	const char *name;
	const char *summary;
	int (*run)(struct job_ctx *ctx, struct err *e);
};

/* The built-in job named name, or NULL. */
const struct job *job_find(const char *name);

/* Every built-in job, NULL-terminated (for help texts). */
extern const struct job *const job_table[];

/*
 * Record the step as done (run_steps.status = success) inside the open
 * transaction, and COMMIT. Returns 0, or -1 with e set (the transaction is
 * rolled back).
 */
int job_commit_done(struct job_ctx *ctx, struct err *e);

/*
 * Remember that tmp_path must be renamed to final_path once the step's
 * done mark commits. Must be called inside the step's last transaction
 * (before job_commit_done). Returns 0, or -1 with e set.
 */
int job_rename_after_commit(struct job_ctx *ctx, const char *tmp_path, const char *final_path,
			    struct err *e);

#endif
