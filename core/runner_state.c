/*
 * runner_state.c - the runner's persisted state: the bookkeeping statements
 * on runs, run_steps and step_attempts (the batch of one turn, attempts'
 * ends, step marks), the lock, a new run's rows, the resync after a lost
 * connection, and the orphans a dead runner left (resume).
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
#include "hash.h"
#include "proc.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const runner_state_names[] = { "pending", "running", "retry_wait", "success", "failed",
					 "upstream_failed", "skipped" };

static enum step_state parse_state(const char *s)
{
	for (int i = 0; i <= ST_SKIPPED; i++)
		if (strcmp(s, runner_state_names[i]) == 0)
			return (enum step_state)i;
	return ST_PENDING;
}

/* Renames a step registered before its done mark committed; idempotent,
 * so a resume can finish what a crash interrupted. */
static int finish_renames(struct runner *r, const char *step, const char *json, struct err *e)
{
	if (!json || strcmp(json, "[]") == 0)
		return 0;
	/* pending_renames is [["tmp","final"], ...] written by
	 * job_rename_after_commit; let PostgreSQL take the JSON apart. */
	const char *params[] = { json };
	PGresult *res = db_query(r->db, e,
				 "SELECT p->>0, p->>1 FROM jsonb_array_elements($1::jsonb) AS p", 1, params);
	if (!res)
		return -1;
	int rc = 0;
	for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
		const char *from = PQgetvalue(res, i, 0), *to = PQgetvalue(res, i, 1);
		if (access(from, F_OK) == 0) {
			if (rename(from, to) != 0)
				rc = err_set(e, ERR_IO, "could not rename '%s' to '%s': %s", from, to, strerror(errno));
		} else if (access(to, F_OK) != 0) {
			rc = err_set(e, ERR_IO, "step '%s' wrote '%s', which is gone, and '%s' does not exist", step,
				     from, to);
		}
	}
	PQclear(res);
	if (rc == 0) {
		char run[32];
		i64(run, sizeof(run), r->run_id);
		const char *p2[] = { run, step };
		rc = db_exec(r->db, e, SQL_store_steps_clear_renames, 2, p2);
	}
	return rc;
}

/* ---- the batch: one turn of the loop's bookkeeping in one commit ---- */

/*
 * What the runner decides in one turn of its loop (the ends of the
 * attempts it reaped, the steps it marks, the attempts it starts) goes to
 * the database as one pipeline: one round trip and one commit instead of
 * one of each per statement, which was most of a short step's overhead
 * (see `make bench-scheduler`). The statements are sent in the order the
 * runner decides them, the order in which they used to commit one by
 * one, so a runner killed at any moment leaves a state the old order
 * could have left too (the whole batch, or none of it). A started
 * attempt's gate opens only after the batch committed (runner_batch_commit).
 * A batch is committed before anything else uses the connection, and at
 * BATCH_MAX statements (the answers are read only at the commit).
 */
#define BATCH_MAX 64

int runner_batch_commit(struct runner *r, struct err *e);

int runner_batch_send(struct runner *r, const char *sql, int nparams, const char *const *params, struct err *e)
{
	if (!r->batch_open) {
		if (db_pipeline_begin(r->db, e))
			return -1;
		r->batch_open = 1;
	}
	if (db_pipeline_send(r->db, e, sql, nparams, params))
		return -1;
	return r->db->pipeline_sent >= BATCH_MAX ? runner_batch_commit(r, e) : 0;
}

/*
 * End the batch: commit it, then (open_gates) open the gates of the
 * attempts it started. If it failed, its attempts stay at their gates:
 * after a lost connection, runner_reconnect() opens them once runner_resync() has
 * stored their starts (so they cost no attempt); on any other error the
 * runner kills them. The ends it held stay pending, for runner_resync() to
 * record. Returns 0, or -1 with e set.
 */
int runner_batch_end(struct runner *r, int open_gates, struct err *e)
{
	int rc = 0;
	if (r->batch_open) {
		r->batch_open = 0;
		rc = db_pipeline_end(r->db, e);
	}
	for (int i = 0; i < r->dag->nsteps; i++) {
		struct step_run *sr = &r->steps[i];
		if (sr->end_queued) {
			sr->end_queued = 0;
			if (rc == 0)
				sr->end_pending = 0;
		}
		if (sr->gate >= 0 && open_gates && rc == 0)
			runner_gate_open(r, i);
	}
	return rc;
}

int runner_batch_commit(struct runner *r, struct err *e)
{
	return runner_batch_end(r, 1, e);
}

int runner_set_step_status(struct runner *r, int i, enum step_state st, struct err *e)
{
	if (is_terminal(st))
		r->steps[i].wall_end_ms = sla_now_ms();
	char run[32];
	i64(run, sizeof(run), r->run_id);
	const char *params[] = { run, r->dag->steps[i].name, runner_state_names[st] };
	r->steps[i].state = st;
	return runner_batch_send(r, SQL_store_step_set_status, 3, params, e);
}

/* The end of step i's attempt, judged (runner_judge_end), with the parameters
 * of SQL_store_step_end pointing into it. */
struct end_record {
	struct attempt_end end;
	char run[32], att[16];
	const char *params[8];
};

static void end_record_init(struct runner *r, int i, struct end_record *er)
{
	runner_judge_end(r, i, &er->end);
	i64(er->run, sizeof(er->run), r->run_id);
	snprintf(er->att, sizeof(er->att), "%d", r->steps[i].attempts);
	er->params[0] = er->run;
	er->params[1] = r->dag->steps[i].name;
	er->params[2] = er->att;
	er->params[3] = er->end.status;
	er->params[4] = er->end.code[0] ? er->end.code : NULL;
	er->params[5] = er->end.sig[0] ? er->end.sig : NULL;
	er->params[6] = er->end.msg;
	er->params[7] = runner_state_names[er->end.next];
}

/* Record the end of step i's attempt (its wait status in sr->end_status)
 * and decide what comes next, at once: for a built-in step, whose done
 * mark and files the database has (and after reconnecting). Until the
 * database has it, end_pending stays set, so that after a lost connection
 * the runner records it once it has reconnected. No batch may be open. */
int runner_record_end(struct runner *r, int i, struct err *e)
{
	struct step_run *sr = &r->steps[i];
	struct end_record er;

	end_record_init(r, i, &er);
	PGresult *res = db_query(r->db, e, SQL_store_step_end, 8, er.params);
	if (!res)
		return -1;
	/* A built-in step that committed its done mark succeeded, even if the
	 * process died right after the commit. */
	sr->state = er.end.next;
	if (PQntuples(res) > 0 && strcmp(PQgetvalue(res, 0, 0), "success") == 0)
		sr->state = ST_SUCCESS;
	sr->end_pending = 0;
	runner_log_end(r, i, &er.end);
	int rc = 0;
	if (sr->state == ST_SUCCESS && PQntuples(res) > 0)
		rc = finish_renames(r, r->dag->steps[i].name, PQgetvalue(res, 0, 1), e);
	PQclear(res);
	return rc;
}

/* The same for an exec step, in the batch: an exec step has no done mark
 * and no files to rename, so its wait status alone decides, and the
 * runner need not wait for the database's answer. end_pending stays set
 * until the batch has committed. */
int runner_queue_end(struct runner *r, int i, struct err *e)
{
	struct step_run *sr = &r->steps[i];
	struct end_record er;

	end_record_init(r, i, &er);
	sr->state = er.end.next;
	sr->end_queued = 1;
	runner_log_end(r, i, &er.end);
	return runner_batch_send(r, SQL_store_step_end, 8, er.params, e);
}

/* ---- the lock on (DAG, period) ---- */

/* The lock is a session-level advisory lock: it goes with the runner's
 * connection, so a killed runner never leaves it behind. Before trying
 * it, the session records its runner's host and pid (runner_sessions):
 * a runner that finds the lock taken names the holder from there in
 * every case, also while the holder has no run row yet (starting up) or
 * is taking over a dead runner's run (whose row names the dead one). */
int runner_take_lock(struct runner *r, struct err *e)
{
	const struct run_request *q = r->req;
	const char *params[] = { q->dag->name, q->period.start };
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	const char *session[] = { r->host, pid };
	if (db_exec(r->db, e, SQL_store_runner_session, 2, session))
		return -1;
	PGresult *res = db_query(r->db, e, SQL_store_lock_try, 2, params);
	if (!res)
		return -1;
	int got = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (got)
		return 0;
	res = db_query(r->db, e, SQL_store_lock_holder, 2, params);
	if (!res)
		return -1;
	const char *host = PQntuples(res) ? PQgetvalue(res, 0, 0) : "", *hpid = PQntuples(res) ? PQgetvalue(res, 0, 1) : "";
	const char *run = PQntuples(res) ? PQgetvalue(res, 0, 2) : "";
	if (!PQntuples(res))
		err_set(e, ERR_TEMPFAIL, "another billrun held DAG '%s' for period %s and has just let go", q->dag->name,
			q->period.start);
	else if (!*host)
		err_set(e, ERR_TEMPFAIL, "another billrun holds DAG '%s' for period %s: database session %s, which did "
			"not record its host and pid", q->dag->name, q->period.start, PQgetvalue(res, 0, 3));
	else if (*run)
		err_set(e, ERR_TEMPFAIL, "another billrun holds DAG '%s' for period %s: run %s on host %s, pid %s",
			q->dag->name, q->period.start, run, host, hpid);
	else
		err_set(e, ERR_TEMPFAIL, "another billrun holds DAG '%s' for period %s: host %s, pid %s, starting up "
			"(its run is not recorded yet)", q->dag->name, q->period.start, host, hpid);
	PQclear(res);
	return err_hint(e, "wait for it to finish, or check 'billrun status'");
}

/* ---- after a lost connection ---- */

/* After reconnecting, write the runner's view again: the updates it tried
 * while the server was away (a batch that failed, whose attempts wait at
 * their gates), and whatever a server that came back from a backup or a
 * failover no longer has. Done marks are the steps' own durable commits,
 * so a step the database says succeeded did. */
int runner_resync(struct runner *r, struct err *e)
{
	char run[32], att[16], pidbuf[16];
	i64(run, sizeof(run), r->run_id);
	for (int i = 0; i < r->dag->nsteps; i++) {
		struct step_run *sr = &r->steps[i];
		const char *name = r->dag->steps[i].name;
		snprintf(att, sizeof(att), "%d", sr->attempts);
		snprintf(pidbuf, sizeof(pidbuf), "%d", (int)sr->pid);
		int running = sr->state == ST_RUNNING && sr->pid > 0;
		char started[32];
		snprintf(started, sizeof(started), "%llu", sr->pid_started);
		const char *start = running && sr->pid_started ? started : NULL;
		const char *boot = running && r->boot_id[0] ? r->boot_id : NULL;
		if (sr->attempts > 0) {
			const char *p1[] = { run, name, att, r->host, running ? pidbuf : NULL, start, boot };
			if (db_exec(r->db, e, SQL_store_attempt_ensure, 7, p1))
				return -1;
		}
		if (running) {
			const char *p2[] = { run, name, att, pidbuf, start, boot };
			if (db_exec(r->db, e, SQL_store_attempt_pid, 6, p2))
				return -1;
		}
		if (sr->end_pending) {
			if (runner_record_end(r, i, e))
				return -1;
			continue;
		}
		const char *p3[] = { run, name, runner_state_names[sr->state], att };
		PGresult *res = db_query(r->db, e, SQL_store_step_resync, 4, p3);
		if (!res)
			return -1;
		int rc = 0;
		if (PQntuples(res) > 0 && strcmp(PQgetvalue(res, 0, 0), "success") == 0) {
			if (!running)
				sr->state = ST_SUCCESS;
			if (sr->state == ST_SUCCESS)
				rc = finish_renames(r, name, PQgetvalue(res, 0, 1), e);
		}
		PQclear(res);
		if (rc)
			return -1;
	}
	return 0;
}

/* ---- a new run, and a resumed one ---- */

/* Make sure the process of an attempt a dead runner left running is gone.
 * Its process group is signalled only when the recorded pid still names
 * the process the runner started (its start time and boot id match):
 * the pid may belong to anyone by now. When that leader is gone but its
 * group still has members, they are the step's descendants: Linux does not
 * give a pid to a new process while a group of that id exists. */
static void kill_orphan(struct runner *r, const char *step, const char *attempt, pid_t pid,
			unsigned long long started, const char *boot)
{
	enum proc_match m = proc_identify(pid, started, boot);
	int group = m == PROC_GONE && proc_group_alive(pid);

	if (m == PROC_STRANGER || m == PROC_OTHER_BOOT || (m == PROC_UNRECORDED && proc_group_alive(pid))) {
		log_warn("step %s: attempt %s's pid %d is %s; it is not signalled", step, attempt, (int)pid,
			 m == PROC_STRANGER    ? "another process's now (its start time differs)"
			 : m == PROC_OTHER_BOOT ? "from an earlier boot of this host"
						: "in use, and the attempt has no start time to tell whose");
		return;
	}
	if (m != PROC_SAME && !group)
		return;
	log_warn("step %s: attempt %s of the previous runner is still running (pid %d%s); killing it", step, attempt,
		 (int)pid, group ? ", its leader gone" : "");
	kill(-pid, SIGKILL);
	for (int tries = 0; tries < 100 && proc_group_alive(pid); tries++)
		usleep(20000);
}

/* Attempts a dead runner left 'running': make sure their processes are
 * gone (kill_orphan), then mark them abandoned, or successful when the
 * step's done mark had committed (the runner died between a built-in
 * step's commit and recording its end). */
int runner_abandon_orphans(struct runner *r, struct err *e)
{
	char run[32];
	i64(run, sizeof(run), r->run_id);
	const char *params[] = { run };
	PGresult *res = db_query(r->db, e, SQL_store_attempts_running, 1, params);
	if (!res)
		return -1;
	for (int k = 0; k < PQntuples(res); k++) {
		const char *step = PQgetvalue(res, k, 0), *attempt = PQgetvalue(res, k, 1);
		const char *host = PQgetvalue(res, k, 2);
		pid_t pid = (pid_t)atoi(PQgetvalue(res, k, 3));
		if (strcmp(host, r->host) != 0)
			log_warn("step %s: attempt %s ran on host %s; it cannot be checked from here", step, attempt,
				 host);
		else if (pid > 0)
			kill_orphan(r, step, attempt, pid, strtoull(PQgetvalue(res, k, 4), NULL, 10),
				    PQgetvalue(res, k, 5));
		const char *p2[] = { run, step, attempt };
		if (db_exec(r->db, e, SQL_store_attempt_abandon, 3, p2)) {
			PQclear(res);
			return -1;
		}
	}
	PQclear(res);
	return db_exec(r->db, e, SQL_store_steps_reset_unfinished, 1, params);
}

int runner_load_steps(struct runner *r, struct err *e)
{
	char run[32];
	i64(run, sizeof(run), r->run_id);
	const char *params[] = { run };
	PGresult *res = db_query(r->db, e, SQL_store_steps_get, 1, params);
	if (!res)
		return -1;
	int rc = 0;
	for (int k = 0; k < PQntuples(res) && rc == 0; k++) {
		int i = dag_step_index(r->dag, PQgetvalue(res, k, 0));
		if (i < 0)
			continue; /* a step removed from the config since */
		r->steps[i].state = parse_state(PQgetvalue(res, k, 1));
		r->steps[i].attempts = atoi(PQgetvalue(res, k, 2));
		r->steps[i].wall_start_ms = strtoll(PQgetvalue(res, k, 4), NULL, 10);
		r->steps[i].wall_end_ms = is_terminal(r->steps[i].state) ? strtoll(PQgetvalue(res, k, 5), NULL, 10) : 0;
		if (r->steps[i].state == ST_SUCCESS)
			rc = finish_renames(r, r->dag->steps[i].name, PQgetvalue(res, k, 3), e);
	}
	PQclear(res);
	return rc;
}

/* Insert run_steps for every step of the DAG: 'pending', or 'skipped'
 * for the steps a rerun leaves alone. */
static int insert_steps(struct runner *r, const char *mark, struct err *e)
{
	char run[32];
	size_t cap = 16;
	for (int i = 0; i < r->dag->nsteps; i++)
		cap += strlen(r->dag->steps[i].name) * 2 + 24;
	char *names = malloc(cap), *states = malloc(cap);
	if (!names || !states) {
		free(names);
		free(states);
		return err_set(e, ERR_INTERNAL, "out of memory");
	}
	size_t n1 = 0, n2 = 0;
	names[n1++] = '{';
	states[n2++] = '{';
	for (int i = 0; i < r->dag->nsteps; i++) {
		/* Step names are [A-Za-z0-9_-], safe inside an array literal. */
		n1 += (size_t)snprintf(names + n1, cap - n1, "%s%s", i ? "," : "", r->dag->steps[i].name);
		n2 += (size_t)snprintf(states + n2, cap - n2, "%s%s", i ? "," : "",
				       mark && !mark[i] ? "skipped" : "pending");
	}
	snprintf(names + n1, cap - n1, "}");
	snprintf(states + n2, cap - n2, "}");
	i64(run, sizeof(run), r->run_id);
	const char *params[] = { run, names, states };
	int rc = db_exec(r->db, e, SQL_store_steps_insert, 3, params);
	free(names);
	free(states);
	return rc;
}

int runner_create_run(struct runner *r, const char *mark, struct err *e)
{
	const struct run_request *q = r->req;
	char pid[16], rv[32], rerun[32], sha[SHA256_HEX_LEN + 1] = "";
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	i64(rv, sizeof(rv), r->rule_version);
	i64(rerun, sizeof(rerun), q->rerun_of);
	if (q->cfg->path[0])
		hash_sha256_file(q->cfg->path, sha, NULL);
	const char *params[] = { q->dag->name, q->dag->period_kind, q->period.start, q->period.end, r->host, pid,
				 r->rule_version ? rv : NULL, q->rerun_of ? rerun : NULL, q->rerun_from, r->account,
				 sha[0] ? sha : NULL };
	/* The run and its steps in one transaction: a runner killed in
	 * between must not leave a run without steps for the resume. */
	if (db_begin(r->db, e))
		return -1;
	if (db_query_int64(r->db, e, &r->run_id, SQL_store_run_insert, 11, params) != 0 || insert_steps(r, mark, e) ||
	    db_commit(r->db, e)) {
		db_rollback(r->db);
		return -1;
	}
	return 0;
}
