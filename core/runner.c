/*
 * runner.c - runs a DAG for one period (see runner.h): finds or creates
 * the run, sets it up (rules, output folder, SLA), runs the loop and
 * finishes the run. The loop, the attempts and the bookkeeping are in
 * runner_loop.c, runner_attempt.c and runner_state.c (runner_int.h).
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
#include "fs.h"
#include "hash.h"
#include "metrics.h"
#include "migrate.h"
#include "proc.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

volatile sig_atomic_t runner_stop_requested;

static void on_stop(int sig)
{
	runner_stop_requested = sig;
}

/* Store the rate-card file's text once per SHA-256 and return its id.
 * A missing file is no error: the run has no rule version, and billing
 * steps that need one fail themselves with a clear message. */
static int register_rules(struct runner *r, struct err *e)
{
	const char *path = r->req->cfg->rules_file;
	char *text = NULL;
	size_t len = 0;
	char sha[SHA256_HEX_LEN + 1];

	if (!path || !*path || access(path, F_OK) != 0) {
		log_warn("rules file '%s' does not exist; the run has no rule version", path ? path : "");
		r->rule_version = 0;
		return 0;
	}
	if (hash_read_file(path, &text, &len, e))
		return -1;
	if (strlen(text) != len) {
		free(text);
		return err_set(e, ERR_CONFIG, "rules file '%s' contains a NUL byte", path);
	}
	hash_sha256_hex(text, len, sha);
	const char *params[] = { sha, path, text };
	int rc = db_query_int64(r->db, e, &r->rule_version, SQL_store_rule_version_upsert, 3, params);
	free(text);
	if (rc != 0)
		return rc < 0 ? -1 : err_set(e, ERR_INTERNAL, "could not store rule version %s", sha);
	log_info("rule version %lld (sha256 %.12s) from '%s'", (long long)r->rule_version, sha, path);
	return 0;
}

/* Write the run's rule version's text into the output folder: the jobs
 * read exactly that text, whatever the file says now. */
static int materialise_rules(struct runner *r, struct err *e)
{
	char id[32];
	r->rules_path[0] = '\0';
	if (!r->rule_version)
		return 0;
	i64(id, sizeof(id), r->rule_version);
	const char *params[] = { id };
	PGresult *res = db_query(r->db, e, SQL_store_rule_version_get, 1, params);
	if (!res)
		return -1;
	if (PQntuples(res) < 1) {
		PQclear(res);
		return err_set(e, ERR_INTERNAL, "rule version %s is missing", id);
	}
	char tmp[4200];
	snprintf(r->rules_path, sizeof(r->rules_path), "%s/rules-%s.conf", r->output_dir, PQgetvalue(res, 0, 1));
	snprintf(tmp, sizeof(tmp), "%s.tmp", r->rules_path);
	const char *text = PQgetvalue(res, 0, 3);
	int rc = fs_write_file(tmp, text, strlen(text), e);
	PQclear(res);
	if (rc == 0 && rename(tmp, r->rules_path) != 0) {
		int errnum = errno;
		unlink(tmp);
		char what[4300];
		snprintf(what, sizeof(what), "rename '%s' to", tmp);
		rc = fs_error(e, what, r->rules_path, errnum);
	}
	return rc;
}

static int prepare_output(struct runner *r, struct err *e)
{
	char base[4096], run[32];
	cfg_output_dir(r->req->cfg, base, sizeof(base));
	snprintf(r->output_dir, sizeof(r->output_dir), "%s/%s/%s/run-%lld", base, r->dag->name,
		 r->req->period.start, (long long)r->run_id);
	if (fs_mkdirs(r->output_dir, 0755, e))
		return -1;
	i64(run, sizeof(run), r->run_id);
	const char *params[] = { run, r->output_dir };
	return db_exec(r->db, e, SQL_store_run_set_output, 2, params);
}

/* Original run's rule version and checks for a rerun. */
static int rerun_setup(struct runner *r, char *mark, struct err *e)
{
	const struct run_request *q = r->req;
	char id[32];
	i64(id, sizeof(id), q->rerun_of);
	const char *params[] = { id };
	PGresult *res = db_query(r->db, e, SQL_store_run_get, 1, params);
	if (!res)
		return -1;
	if (PQntuples(res) < 1) {
		PQclear(res);
		return err_set(e, ERR_NOT_FOUND, "no run %s", id);
	}
	int64_t version = strtoll(PQgetvalue(res, 0, 8), NULL, 10);
	PQclear(res);
	int from = dag_step_index(q->dag, q->rerun_from);
	if (from < 0)
		return err_set(e, ERR_USAGE, "DAG '%s' has no step '%s'", q->dag->name, q->rerun_from);
	dag_mark_downstream(q->dag, from, mark);
	if (!q->rules_current)
		r->rule_version = version;
	return 0;
}

static void print_plan(struct runner *r, const char *mark, int resuming, FILE *out)
{
	const struct dag *d = r->dag;
	fprintf(out, "plan: DAG %s, %s period %s to %s (exclusive)\n", d->name, d->period_kind, r->req->period.start,
		r->req->period.end);
	if (resuming)
		fprintf(out, "resume run %lld on this host\n", (long long)r->run_id);
	else if (r->req->rerun_of)
		fprintf(out, "new run, a rerun of run %lld from step %s%s%s, rule version %s\n",
			(long long)r->req->rerun_of, r->req->rerun_from, r->account ? " for account " : "",
			r->account ? r->account : "", r->req->rules_current ? "current" : "of the original run");
	else
		fprintf(out, "new run\n");
	fprintf(out, "max_parallel %d\n", d->max_parallel);
	for (int k = 0; k < d->nsteps; k++) {
		int i = d->order[k];
		const char *what = "run";
		if (resuming && is_good(r->steps[i].state))
			what = "done already";
		else if (mark && !mark[i])
			what = "skip (upstream of the rerun)";
		fprintf(out, "  %2d. %-20s %-28s %s\n", k + 1, d->steps[i].name, what,
			d->steps[i].exec ? d->steps[i].exec : d->steps[i].job);
	}
}

static int finish_run(struct runner *r, int *outcome, struct err *e)
{
	int failed = 0;
	for (int i = 0; i < r->dag->nsteps; i++)
		failed |= !is_good(r->steps[i].state);
	*outcome = runner_stop_requested ? RUN_INTERRUPTED : failed ? RUN_FAILED : RUN_SUCCESS;
	if (*outcome != RUN_INTERRUPTED && runner_sla_tick(r, e))
		return -1;
	/* The run's end commits after its report is in place (the report's
	 * queries see the end in this transaction): a runner killed in
	 * between leaves the run unfinished, and the resume writes the report
	 * again, instead of a finished run without its report. */
	if (*outcome != RUN_INTERRUPTED) {
		char run[32];
		i64(run, sizeof(run), r->run_id);
		const char *params[] = { run, failed ? "failed" : "success" };
		if (db_begin(r->db, e))
			return -1;
		if (db_exec(r->db, e, SQL_store_run_finish, 2, params) ||
		    db_exec(r->db, e, "SAVEPOINT run_documents", 0, NULL)) {
			db_rollback(r->db);
			return -1;
		}
	}
	struct err me;
	err_clear(&me);
	if (metrics_write_run(r->req->cfg, r->db, r->run_id, &me))
		log_warn("could not write the metrics file: %s", me.message);
	err_clear(&me);
	if (r->req->on_finish && r->req->on_finish(r->req->cfg, r->db, r->run_id, &me)) {
		/* A report the file system refused (a full disk, say) keeps
		 * the run unfinished: the next `billrun run` or `resume`
		 * finishes it and writes the report then, once there is room,
		 * instead of a finished run that never gets its report. */
		if (me.kind == ERR_IO && *outcome != RUN_INTERRUPTED) {
			db_rollback(r->db);
			*e = me;
			return err_detail(e, "the run's steps are done; once the cause is fixed, 'billrun resume %lld' "
					   "(or the next 'billrun run') finishes the run and writes its report",
					(long long)r->run_id);
		}
		log_warn("could not write the run report or its lineage events: %s", me.message);
	}
	/* The documents only read; a statement of theirs that failed must not
	 * take the run's end down with it. */
	if (*outcome != RUN_INTERRUPTED &&
	    (db_exec(r->db, e, "ROLLBACK TO SAVEPOINT run_documents", 0, NULL) || db_commit(r->db, e))) {
		db_rollback(r->db);
		return -1;
	}
	int64_t ms = now_ms() - r->started_ms;
	if (*outcome == RUN_SUCCESS)
		log_info("run %lld of DAG %s for %s succeeded in %lld ms", (long long)r->run_id, r->dag->name,
			 r->req->period.start, (long long)ms);
	else if (*outcome == RUN_FAILED)
		log_error("run %lld of DAG %s for %s ended with failed steps after %lld ms", (long long)r->run_id,
			  r->dag->name, r->req->period.start, (long long)ms);
	else
		log_warn("run %lld stopped by signal %d; 'billrun resume %lld' continues it", (long long)r->run_id,
			 (int)runner_stop_requested, (long long)r->run_id);
	return 0;
}

int runner_run(const struct run_request *req, int64_t *run_id, struct err *e)
{
	struct runner r = { .req = req, .dag = req->dag, .account = req->account };
	char *mark = NULL;
	int rc = -1, outcome = RUN_FAILED, resuming = 0, locked = 0;
	sigset_t chld, old;
	struct sigaction sa = { 0 }, old_term, old_int;

	r.started_ms = now_ms();
	if (req->cfg->run_host && *req->cfg->run_host)
		snprintf(r.host, sizeof(r.host), "%s", req->cfg->run_host);
	else if (gethostname(r.host, sizeof(r.host) - 1) != 0)
		snprintf(r.host, sizeof(r.host), "localhost");
	r.steps = calloc((size_t)r.dag->nsteps, sizeof(*r.steps));
	mark = calloc((size_t)r.dag->nsteps, 1);
	if (!r.steps || !mark) {
		err_set(e, ERR_INTERNAL, "out of memory");
		goto out;
	}
	for (int i = 0; i < r.dag->nsteps; i++)
		r.steps[i].gate = -1;
	proc_boot_id(r.boot_id, sizeof(r.boot_id));
	/* The embedded cluster is not started here (cmd/ does it once, when
	 * the command starts), and a database without the complete schema is
	 * refused before anything is written: no run, no folder, no lock row. */
	r.db = cluster_connect(req->cfg, DB_ROLE_APP, e);
	if (!r.db || migrate_check(r.db, e))
		goto out;
	/* The runner's bookkeeping commits durably (the server's default):
	 * a gate opens, and a dependent step starts, only on a state that
	 * survives a crash of the database server too. A batch makes that one
	 * WAL flush per turn of the loop, not one per statement. */
	if (!req->dry_run) {
		if (runner_take_lock(&r, e))
			goto out;
		locked = 1;
	}

	/* Which run: the one asked to resume, an unfinished one of this DAG and
	 * period, or a new one. */
	if (req->resume_run) {
		r.run_id = req->resume_run;
		resuming = 1;
	} else if (!req->rerun_of) {
		const char *params[] = { r.dag->name, req->period.start };
		int64_t id = 0;
		int found = db_query_int64(r.db, e, &id, SQL_store_run_unfinished, 2, params);
		if (found < 0)
			goto out;
		if (found == 0) {
			r.run_id = id;
			resuming = 1;
			log_info("resuming unfinished run %lld of DAG %s for %s", (long long)id, r.dag->name,
				 req->period.start);
		} else {
			found = db_query_int64(r.db, e, &id, SQL_store_run_succeeded, 2, params);
			if (found < 0)
				goto out;
			if (found == 0) {
				*run_id = id;
				if (req->dry_run && req->plan_out)
					fprintf(req->plan_out, "DAG %s for %s is complete already (run %lld); nothing to do\n",
						r.dag->name, req->period.start, (long long)id);
				log_info("DAG %s for %s is complete already (run %lld); use 'billrun rerun' to redo steps",
					 r.dag->name, req->period.start, (long long)id);
				rc = RUN_ALREADY_DONE;
				goto out;
			}
		}
	}
	if (resuming) {
		char id[32];
		i64(id, sizeof(id), r.run_id);
		const char *params[] = { id };
		PGresult *res = db_query(r.db, e, SQL_store_run_get, 1, params);
		if (!res)
			goto out;
		if (PQntuples(res) < 1) {
			PQclear(res);
			err_set(e, ERR_NOT_FOUND, "no run %s", id);
			goto out;
		}
		r.rule_version = strtoll(PQgetvalue(res, 0, 8), NULL, 10);
		r.account = NULL;
		if (!PQgetisnull(res, 0, 11)) {
			snprintf(r.account_buf, sizeof(r.account_buf), "%s", PQgetvalue(res, 0, 11));
			r.account = r.account_buf;
		}
		int finished = strcmp(PQgetvalue(res, 0, 5), "running") != 0;
		PQclear(res);
		if (finished) {
			err_set(e, ERR_USAGE, "run %s has finished; there is nothing to resume", id);
			err_hint(e, "use 'billrun rerun %s --from STEP' to redo steps", id);
			goto out;
		}
		if (runner_load_steps(&r, e))
			goto out;
		if (req->dry_run) {
			print_plan(&r, NULL, 1, req->plan_out ? req->plan_out : stdout);
			rc = RUN_SUCCESS;
			goto out;
		}
		if (runner_abandon_orphans(&r, e) || runner_load_steps(&r, e))
			goto out;
		char pid[16];
		snprintf(pid, sizeof(pid), "%d", (int)getpid());
		const char *p2[] = { id, r.host, pid };
		if (db_exec(r.db, e, SQL_store_run_take_over, 3, p2))
			goto out;
	} else {
		if (req->rerun_of) {
			if (rerun_setup(&r, mark, e))
				goto out;
		} else {
			memset(mark, 1, (size_t)r.dag->nsteps);
		}
		if (req->dry_run) {
			print_plan(&r, mark, 0, req->plan_out ? req->plan_out : stdout);
			rc = RUN_SUCCESS;
			goto out;
		}
		if ((!req->rerun_of || req->rules_current) && register_rules(&r, e))
			goto out;
		if (runner_create_run(&r, mark, e))
			goto out;
		for (int i = 0; i < r.dag->nsteps; i++)
			r.steps[i].state = mark[i] ? ST_PENDING : ST_SKIPPED;
		log_info("run %lld of DAG %s for %s started", (long long)r.run_id, r.dag->name, req->period.start);
	}
	*run_id = r.run_id;
	log_set_run(r.run_id);
	if (prepare_output(&r, e) || materialise_rules(&r, e))
		goto out;
	if (sla_open(&r.sla, r.db, req->cfg, r.dag, r.run_id, resuming ? "resume" : "runner", e) || runner_sla_tick(&r, e))
		goto out;

	/* SIGCHLD is blocked and waited for with sigtimedwait; SIGTERM and
	 * SIGINT stop the run cleanly so that it can be resumed. */
	runner_stop_requested = 0;
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGINT, &sa, &old_int);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &old);
	for (;;) {
		rc = runner_loop(&r, e);
		if (rc == 0)
			rc = finish_run(&r, &outcome, e);
		if (rc == 0 || !runner_lost_connection(&r, e) || runner_reconnect(&r, e))
			break;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGINT, &old_int, NULL);
	if (rc == 0)
		rc = outcome;
out:
	if (rc < 0 && r.running > 0) {
		/* An error in the runner itself: do not leave children behind. */
		for (int i = 0; i < r.dag->nsteps; i++)
			if (r.steps[i].state == ST_RUNNING && r.steps[i].pid > 0)
				kill(-r.steps[i].pid, SIGKILL);
		while (waitpid(-1, NULL, 0) > 0)
			;
	}
	if (locked && db_ok(r.db)) {
		const char *params[] = { r.dag->name, req->period.start };
		PGresult *res = PQexecParams(r.db->conn, SQL_store_lock_release, 2, NULL, params, NULL, NULL, 0);
		PQclear(res);
	}
	log_set_run(0);
	sla_close(r.sla);
	db_free(r.db);
	free(r.steps);
	free(mark);
	return rc;
}
