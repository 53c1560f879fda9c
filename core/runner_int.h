/*
 * runner_int.h - the runner's internal header: the state of a run in the
 * runner's memory and the functions the runner's files share (runner.c,
 * runner_loop.c, runner_attempt.c, runner_state.c; core/README.md says
 * which holds what). Nothing outside them includes it.
 */
#ifndef BILLRUN_RUNNER_INT_H
#define BILLRUN_RUNNER_INT_H

#include "proc.h"
#include "runner.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

struct err;
struct sla_monitor;

enum step_state {
	ST_PENDING, ST_RUNNING, ST_RETRY_WAIT, ST_SUCCESS, ST_FAILED, ST_UPSTREAM_FAILED, ST_SKIPPED
};

/* The names of the states, as run_steps.status has them. */
extern const char *const runner_state_names[];

struct step_run {
	enum step_state state;
	int attempts;
	pid_t pid;
	unsigned long long pid_started; /* its start time (proc.h), 0 if unknown */
	int64_t started_ms;     /* monotonic */
	int64_t term_sent_ms;   /* SIGTERM sent (timeout or shutdown), 0 if not */
	int timed_out;
	int64_t next_ms;        /* when a retry may start */
	int64_t duration_ms;    /* of the last attempt */
	int64_t wall_start_ms;  /* Unix ms, for SLA checks */
	int64_t wall_end_ms;
	int end_status;         /* wait status of the last attempt that ended */
	int end_pending;        /* ... not recorded yet (in the batch, or database unreachable) */
	int end_queued;         /* ... sent in the open batch */
	int gate;               /* the runner's end of the attempt's start gate, or -1 */
};

struct runner {
	const struct run_request *req;
	const struct dag *dag;
	struct db *db;
	int64_t run_id;
	char host[256];
	char boot_id[PROC_BOOT_ID_MAX]; /* this boot's, recorded with every attempt's pid */
	char output_dir[4096];
	char rules_path[4096];
	int64_t rule_version;
	const char *account;       /* rerun for one account, or NULL */
	char account_buf[256];
	struct step_run *steps;
	int running;
	int64_t started_ms;
	struct sla_monitor *sla;
	int64_t next_sla_ms;   /* monotonic */
	int batch_open;        /* a pipeline of bookkeeping is open (see runner_batch_send) */
};

/* The signal that asked the run to stop (SIGTERM, SIGINT), or 0. */
extern volatile sig_atomic_t runner_stop_requested;

static inline int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int is_terminal(enum step_state s)
{
	return s == ST_SUCCESS || s == ST_FAILED || s == ST_UPSTREAM_FAILED || s == ST_SKIPPED;
}

static inline int is_good(enum step_state s)
{
	return s == ST_SUCCESS || s == ST_SKIPPED;
}

static inline void i64(char *buf, size_t size, int64_t v)
{
	snprintf(buf, size, "%lld", (long long)v);
}

/* How an attempt ended, and what comes next for its step. */
struct attempt_end {
	const char *status;     /* step_attempts.status */
	char code[16], sig[16], msg[256];
	int retryable;
	enum step_state next;
	int64_t delay;          /* before the retry, when next is ST_RETRY_WAIT */
};

/* ---- runner_loop.c: scheduling, the loop, losing the database ---- */

/* Run the loop until every step is terminal (or a stop was asked and
 * nothing runs); leaves no batch open. 0, or -1 with e set. */
int runner_loop(struct runner *r, struct err *e);
/* Check SLA deadlines now. */
int runner_sla_tick(struct runner *r, struct err *e);
/* Is e (or the runner's connection) a lost connection? */
int runner_lost_connection(const struct runner *r, const struct err *e);
/* Get the database back and write the runner's view again (see there). */
int runner_reconnect(struct runner *r, struct err *e);

/* ---- runner_attempt.c: one attempt's process: start, gate, end ---- */

/* Start step i's next attempt at its gate; its start goes in the batch. */
int runner_start_attempt(struct runner *r, int i, struct err *e);
/* Open the gate of a started attempt whose start has committed. */
void runner_gate_open(struct runner *r, int i);
/* Judge how step i's attempt ended (sr->end_status) and what comes next. */
void runner_judge_end(struct runner *r, int i, struct attempt_end *end);
void runner_log_end(struct runner *r, int i, const struct attempt_end *end);
/* A child ended: note it without the database. */
void runner_note_end(struct runner *r, int i, int status);
/* A child ended: note it and record it (batch or at once). */
int runner_attempt_ended(struct runner *r, int i, int status, struct err *e);

/* ---- runner_state.c: the bookkeeping in runs, run_steps, step_attempts ---- */

int runner_batch_send(struct runner *r, const char *sql, int nparams, const char *const *params, struct err *e);
int runner_batch_end(struct runner *r, int open_gates, struct err *e);
int runner_batch_commit(struct runner *r, struct err *e);
int runner_set_step_status(struct runner *r, int i, enum step_state st, struct err *e);
int runner_record_end(struct runner *r, int i, struct err *e);
int runner_queue_end(struct runner *r, int i, struct err *e);
int runner_resync(struct runner *r, struct err *e);
int runner_take_lock(struct runner *r, struct err *e);
int runner_abandon_orphans(struct runner *r, struct err *e);
int runner_load_steps(struct runner *r, struct err *e);
int runner_create_run(struct runner *r, const char *mark, struct err *e);

#endif
