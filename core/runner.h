/*
 * runner.h - executes one run of a DAG for one period.
 *
 * The runner (the parent process) holds a PostgreSQL advisory lock on
 * (DAG, period) for the whole run, so a second runner for the same DAG and
 * period fails with ERR_TEMPFAIL naming the holder. It forks one child per
 * step attempt, in its own process group, with its own database
 * connection; a crash or hang in a step never takes the runner down.
 * Ready steps run in parallel up to the DAG's max_parallel. Retryable
 * failures (exit 75, lost connection, serialization failure, timeout) are
 * retried with capped exponential backoff and deterministic jitter; other
 * failures are permanent, and steps downstream of a failure end as
 * upstream_failed unless their trigger is all_done.
 *
 * State lives in PostgreSQL (runs, run_steps, step_attempts), so a run
 * whose runner died is continued by runner_run() with resume_run set.
 */
#ifndef BILLRUN_RUNNER_H
#define BILLRUN_RUNNER_H

#include "period.h"

#include <stdint.h>
#include <stdio.h>

struct config;
struct dag;
struct db;
struct err;
struct job;

/* How the runner finds built-in jobs: a callback so that core/ does not
 * depend on jobs/. Returns the job's run function's owner, or NULL. */
typedef const struct job *(*runner_job_lookup)(const char *name);

/* Called at the end of a run (after its metrics) to write run-level
 * documents such as the HTML run report; its failure is logged, not
 * fatal. core/ does not know the renderers, so cmd/ passes this in. */
typedef int (*runner_finish_hook)(const struct config *cfg, struct db *db, int64_t run_id, struct err *e);

struct run_request {
	const struct config *cfg;
	const struct dag *dag;
	struct period period;
	runner_job_lookup find_job;
	runner_finish_hook on_finish; /* may be NULL */
	int dry_run;              /* print the plan to plan_out, change nothing */
	FILE *plan_out;
	int64_t resume_run;       /* continue this run (0 = new or unfinished one) */
	int64_t rerun_of;         /* rerun: the original run */
	const char *rerun_from;   /* rerun: first step to redo */
	const char *account;      /* rerun: limit to one account, or NULL */
	int rules_current;        /* rerun: use the current rule file, not the original's */
};

/* Result of a run. */
enum run_outcome {
	RUN_SUCCESS = 0,
	RUN_FAILED = 1,          /* the run ended with failed steps */
	RUN_ALREADY_DONE = 2,    /* a successful run of this DAG and period exists */
	RUN_INTERRUPTED = 3      /* stopped by SIGTERM/SIGINT; resumable */
};

/*
 * Execute (or resume) a run. Returns an enum run_outcome (>= 0) and the
 * run's id in *run_id, or -1 with e set: ERR_TEMPFAIL when another runner
 * holds the lock, ERR_DB_UNAVAILABLE, ERR_CONFIG, ERR_IO.
 */
int runner_run(const struct run_request *req, int64_t *run_id, struct err *e);

/* The retry-attempt exit status that means "try again" (EX_TEMPFAIL). */
#define RUNNER_EXIT_RETRY 75

#endif
