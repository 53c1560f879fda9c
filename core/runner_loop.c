/*
 * runner_loop.c - the runner's loop: start what is ready, reap what ended,
 * enforce timeouts, check deadlines; and what it does when its database
 * connection is lost (the steps go on while it reconnects).
 */
#include "runner_int.h"
#include "cfg.h"
#include "cluster.h"
#include "dag.h"
#include "db.h"
#include "err.h"
#include "log.h"
#include "sla.h"
#include "sqltext.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- the parent's loop ---- */

/* Start what can start; mark what can never run. Returns -1 on error. */
static int schedule(struct runner *r, struct err *e)
{
	const struct dag *d = r->dag;
	int64_t now = now_ms();

	for (int k = 0; k < d->nsteps; k++) {
		int i = d->order[k];
		struct step_run *sr = &r->steps[i];
		if (sr->state != ST_PENDING && !(sr->state == ST_RETRY_WAIT && now >= sr->next_ms))
			continue;
		int all_done = 1, all_good = 1;
		for (int j = 0; j < d->steps[i].nafter; j++) {
			enum step_state dep = r->steps[d->steps[i].after[j]].state;
			all_done &= is_terminal(dep);
			all_good &= is_good(dep);
		}
		if (!all_done)
			continue;
		if (!all_good && d->steps[i].trigger == TRIGGER_ALL_SUCCESS) {
			log_warn("step %s: not run, an upstream step failed", d->steps[i].name);
			if (runner_set_step_status(r, i, ST_UPSTREAM_FAILED, e))
				return -1;
			continue;
		}
		if (runner_stop_requested || r->running >= d->max_parallel)
			continue;
		/* A retry at once: the end of its last attempt commits first, so
		 * that a failed batch leaves no attempt's end unrecorded. */
		if (sr->end_queued && runner_batch_commit(r, e))
			return -1;
		if (runner_start_attempt(r, i, e))
			return -1;
	}
	return 0;
}

static int all_terminal(const struct runner *r)
{
	for (int i = 0; i < r->dag->nsteps; i++)
		if (!is_terminal(r->steps[i].state))
			return 0;
	return 1;
}

static int step_of_pid(const struct runner *r, pid_t pid)
{
	for (int i = 0; i < r->dag->nsteps; i++)
		if (r->steps[i].pid == pid && r->steps[i].state == ST_RUNNING)
			return i;
	return -1;
}

/* Send SIGTERM to steps over their timeout (or all, when stopping), and
 * SIGKILL to those that ignored it for the grace period. */
static void enforce_timeouts(struct runner *r)
{
	int64_t now = now_ms(), grace = r->req->cfg->kill_grace_ms;
	for (int i = 0; i < r->dag->nsteps; i++) {
		struct step_run *sr = &r->steps[i];
		const struct step *s = &r->dag->steps[i];
		if (sr->state != ST_RUNNING || sr->pid <= 0)
			continue;
		if (!sr->term_sent_ms && (runner_stop_requested || (s->timeout_ms && now - sr->started_ms > s->timeout_ms))) {
			if (!runner_stop_requested) {
				sr->timed_out = 1;
				log_warn("step %s: over its timeout of %lld ms; sending SIGTERM to its process group",
					 s->name, (long long)s->timeout_ms);
			}
			kill(-sr->pid, SIGTERM);
			sr->term_sent_ms = now;
		} else if (sr->term_sent_ms && now - sr->term_sent_ms >= grace) {
			log_warn("step %s: still running %lld ms after SIGTERM; sending SIGKILL", s->name,
				 (long long)grace);
			kill(-sr->pid, SIGKILL);
			sr->term_sent_ms = now + 3600000; /* do not repeat every tick */
		}
	}
}

/* How long the loop may sleep before something is due. */
static int64_t next_wakeup_ms(const struct runner *r)
{
	int64_t now = now_ms(), wait = 1000;
	for (int i = 0; i < r->dag->nsteps; i++) {
		const struct step_run *sr = &r->steps[i];
		const struct step *s = &r->dag->steps[i];
		int64_t at = -1;
		if (sr->state == ST_RETRY_WAIT)
			at = sr->next_ms;
		else if (sr->state == ST_RUNNING && sr->term_sent_ms)
			at = sr->term_sent_ms + r->req->cfg->kill_grace_ms;
		else if (sr->state == ST_RUNNING && s->timeout_ms)
			at = sr->started_ms + s->timeout_ms + 1;
		if (at >= 0 && at - now < wait)
			wait = at - now;
	}
	return wait < 0 ? 0 : wait;
}

/* Check deadlines now; SLA trouble is reported, never fatal to the run,
 * except a database error, which the next tick would hit too. */
int runner_sla_tick(struct runner *r, struct err *e)
{
	if (!r->sla)
		return 0;
	struct sla_step_view *v = calloc((size_t)r->dag->nsteps + 1, sizeof(*v));
	if (!v)
		return err_set(e, ERR_INTERNAL, "out of memory");
	for (int i = 0; i < r->dag->nsteps; i++) {
		v[i].terminal = is_terminal(r->steps[i].state);
		v[i].running = r->steps[i].state == ST_RUNNING;
		v[i].started_ms = r->steps[i].wall_start_ms;
		v[i].ended_ms = r->steps[i].wall_end_ms;
	}
	int rc = sla_check(r->sla, v, sla_now_ms(), e);
	free(v);
	r->next_sla_ms = now_ms() + r->req->cfg->sla_check_interval_ms;
	return rc;
}

static int loop_turns(struct runner *r, struct err *e)
{
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	int reaped = 0;

	for (;;) {
		/* One batch a turn: the ends reaped in the turn before, the
		 * steps marked and started now. */
		if (schedule(r, e) || runner_batch_commit(r, e))
			return -1;
		if ((reaped || now_ms() >= r->next_sla_ms) && runner_sla_tick(r, e))
			return -1;
		if (r->running == 0 && (all_terminal(r) || runner_stop_requested))
			return 0;
		/* Reap every child that ended; then sleep until a child ends or
		 * something is due. SIGCHLD is blocked, so none is missed. */
		int status;
		pid_t pid;
		reaped = 0;
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			int i = step_of_pid(r, pid);
			if (i >= 0 && runner_attempt_ended(r, i, status, e))
				return -1;
			reaped = 1;
		}
		enforce_timeouts(r);
		if (reaped)
			continue;
		int64_t wait = next_wakeup_ms(r);
		if (r->sla && r->next_sla_ms - now_ms() < wait)
			wait = r->next_sla_ms - now_ms() > 0 ? r->next_sla_ms - now_ms() : 0;
		struct timespec ts = { wait / 1000, (wait % 1000) * 1000000L };
		sigtimedwait(&chld, NULL, &ts);
		if (!db_ok(r->db))
			return err_set(e, ERR_DB_UNAVAILABLE, "lost the runner's database connection");
	}
}

/* The loop leaves no batch open: on an error, what it held is committed
 * if the connection still can, and its attempts wait at their gates. */
int runner_loop(struct runner *r, struct err *e)
{
	int rc = loop_turns(r, e);
	if (rc) {
		struct err ignored;
		err_clear(&ignored);
		runner_batch_end(r, 0, &ignored);
	}
	return rc;
}

/* ---- losing the database in the middle of a run ---- */

/* How long a runner that lost its database connection keeps trying to get
 * it back, its steps going on meanwhile, before it gives up (exit 69; a
 * resume continues the run), is runner.reconnect_for (default 5 minutes:
 * a server restart takes seconds, a failover rarely more than a minute or
 * two). The tries come at a growing delay, from RECONNECT_FIRST_MS up to
 * RECONNECT_MAX_MS. It never starts the server: an operator who stopped
 * it for maintenance or a backup gets to keep it stopped. */
#define RECONNECT_FIRST_MS 250
#define RECONNECT_MAX_MS 10000

int runner_lost_connection(const struct runner *r, const struct err *e)
{
	return e->kind == ERR_DB_UNAVAILABLE || !db_ok(r->db);
}

/* While the database is away: reap the steps that end (recorded after
 * reconnecting) and enforce their timeouts. */
static void reap_offline(struct runner *r)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		int i = step_of_pid(r, pid);
		if (i >= 0)
			runner_note_end(r, i, status);
	}
	enforce_timeouts(r);
}

/* Is the run still this runner's (runs.host and pid), after an outage?
 * 0, or -1 with e set: ERR_TEMPFAIL when another runner took it over. */
static int run_is_ours(struct runner *r, struct err *e)
{
	char id[32], pid[16];
	i64(id, sizeof(id), r->run_id);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	const char *params[] = { id };
	PGresult *res = db_query(r->db, e, SQL_store_run_get, 1, params);
	if (!res)
		return -1;
	int ours = PQntuples(res) > 0 && strcmp(PQgetvalue(res, 0, 5), "running") == 0 &&
		   strcmp(PQgetvalue(res, 0, 6), r->host) == 0 && strcmp(PQgetvalue(res, 0, 7), pid) == 0;
	if (!ours && PQntuples(res) > 0)
		err_set(e, ERR_TEMPFAIL, "run %s was taken over while the database was unreachable (now %s, host %s, pid %s)",
			id, PQgetvalue(res, 0, 5), PQgetvalue(res, 0, 6), PQgetvalue(res, 0, 7));
	else if (!ours)
		err_set(e, ERR_DB_UNAVAILABLE, "run %s is not in the database any more after its restart", id);
	PQclear(res);
	return ours ? 0 : -1;
}

/* Wait up to ms (and for a child to end, which ends the wait), reaping
 * the children that ended and enforcing timeouts. */
static void pause_offline(struct runner *r, int64_t ms)
{
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	int64_t until = now_ms() + (ms > 0 ? ms : 0);
	do {
		int64_t left = until - now_ms();
		struct timespec ts = { left / 1000, (left % 1000) * 1000000L };
		if (left > 0)
			sigtimedwait(&chld, NULL, &ts);
		reap_offline(r);
	} while (now_ms() < until && !runner_stop_requested);
}

/*
 * The runner's connection is gone (the server restarted or was stopped, a
 * failover, a network cut). Its steps go on (their own connections fail or
 * not, and the failures are retried like any other): get a connection
 * back, trying at a growing delay for runner.reconnect_for, take the run's
 * lock again, check that no other runner took the run over meanwhile, and
 * write the runner's view back. The log says who stopped what. Returns 0,
 * or -1 with e set: the last connection's error (ERR_DB_UNAVAILABLE, exit
 * 69) after runner.reconnect_for, ERR_TEMPFAIL when another runner holds
 * the run now.
 */
int runner_reconnect(struct runner *r, struct err *e)
{
	const struct config *cfg = r->req->cfg;
	char what[1200];
	cluster_describe_loss(cfg, e, what, sizeof(what));
	log_warn("lost the database connection: %s (%s); trying to reconnect for %lld s while the steps go on "
		 "(billrun does not start the server)",
		 what, e->message, (long long)(cfg->reconnect_ms / 1000));
	sla_close(r->sla);
	r->sla = NULL;
	db_free(r->db);
	r->db = NULL;
	int64_t deadline = now_ms() + cfg->reconnect_ms, delay = RECONNECT_FIRST_MS;
	for (int tries = 1;; tries++) {
		reap_offline(r);
		if (runner_stop_requested)
			return err_set(e, ERR_DB_UNAVAILABLE, "stopped by signal %d while the database was unreachable",
				       (int)runner_stop_requested);
		err_clear(e);
		r->db = cluster_connect_retries(cfg, DB_ROLE_APP, 0, e);
		if (r->db)
			break;
		int64_t left = deadline - now_ms();
		if (left <= 0) {
			err_prefix(e, "gave up reconnecting after %d tries in %lld s: ", tries,
				   (long long)(cfg->reconnect_ms / 1000));
			return err_hint(e, "once the database is back, 'billrun resume %lld' continues the run",
					(long long)r->run_id);
		}
		log_debug("reconnect try %d failed (%s); the next in %lld ms", tries, e->message,
			  (long long)(delay < left ? delay : left));
		pause_offline(r, delay < left ? delay : left);
		delay = delay * 2 > RECONNECT_MAX_MS ? RECONNECT_MAX_MS : delay * 2;
	}
	/* Our old session may hold the lock still (a cut network, not a
	 * restart) until the server notices it is gone: wait for that, as long
	 * as the run is still ours. */
	while (runner_take_lock(r, e)) {
		if (e->kind != ERR_TEMPFAIL || now_ms() >= deadline || run_is_ours(r, e))
			return -1;
		pause_offline(r, 1000);
	}
	if (run_is_ours(r, e) || runner_resync(r, e))
		return -1;
	/* The attempts of a batch that failed have their starts stored now. */
	for (int i = 0; i < r->dag->nsteps; i++)
		if (r->steps[i].gate >= 0)
			runner_gate_open(r, i);
	if (sla_open(&r->sla, r->db, r->req->cfg, r->dag, r->run_id, "runner", e))
		return -1;
	log_info("reconnected to the database; run %lld goes on", (long long)r->run_id);
	return 0;
}
