/*
 * runner.c - runs a DAG for one period: scheduling, one forked child per
 * step attempt, retries, timeouts, resume, reruns (see runner.h).
 */
#include "runner.h"
#include "cfg.h"
#include "cluster.h"
#include "dag.h"
#include "db.h"
#include "err.h"
#include "fs.h"
#include "hash.h"
#include "job.h"
#include "log.h"
#include "metrics.h"
#include "sla.h"
#include "sqltext.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum step_state {
	ST_PENDING, ST_RUNNING, ST_RETRY_WAIT, ST_SUCCESS, ST_FAILED, ST_UPSTREAM_FAILED, ST_SKIPPED
};

static const char *state_names[] = { "pending", "running", "retry_wait", "success", "failed",
				     "upstream_failed", "skipped" };

struct step_run {
	enum step_state state;
	int attempts;
	pid_t pid;
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
	int batch_open;        /* a pipeline of bookkeeping is open (see batch_send) */
};

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	stop_requested = sig;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int is_terminal(enum step_state s)
{
	return s == ST_SUCCESS || s == ST_FAILED || s == ST_UPSTREAM_FAILED || s == ST_SKIPPED;
}

static int is_good(enum step_state s)
{
	return s == ST_SUCCESS || s == ST_SKIPPED;
}

static enum step_state parse_state(const char *s)
{
	for (int i = 0; i <= ST_SKIPPED; i++)
		if (strcmp(s, state_names[i]) == 0)
			return (enum step_state)i;
	return ST_PENDING;
}

static void i64(char *buf, size_t size, int64_t v)
{
	snprintf(buf, size, "%lld", (long long)v);
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
 * attempt's gate opens only after the batch committed (batch_commit).
 * A batch is committed before anything else uses the connection, and at
 * BATCH_MAX statements (the answers are read only at the commit).
 */
#define BATCH_MAX 64

static int batch_commit(struct runner *r, struct err *e);

static int batch_send(struct runner *r, const char *sql, int nparams, const char *const *params, struct err *e)
{
	if (!r->batch_open) {
		if (db_pipeline_begin(r->db, e))
			return -1;
		r->batch_open = 1;
	}
	if (db_pipeline_send(r->db, e, sql, nparams, params))
		return -1;
	return r->db->pipeline_sent >= BATCH_MAX ? batch_commit(r, e) : 0;
}

/* Open the gate of a started attempt whose start has committed. */
static void gate_open(struct runner *r, int i)
{
	struct step_run *sr = &r->steps[i];
	if (send(sr->gate, "g\n", 2, MSG_NOSIGNAL) != 2)
		log_warn("step %s: could not signal attempt %d to start: %s", r->dag->steps[i].name, sr->attempts,
			 strerror(errno));
	close(sr->gate);
	sr->gate = -1;
}

/*
 * End the batch: commit it, then (open_gates) open the gates of the
 * attempts it started. If it failed, its attempts stay at their gates:
 * after a lost connection, reconnect() opens them once resync() has
 * stored their starts (so they cost no attempt); on any other error the
 * runner kills them. The ends it held stay pending, for resync() to
 * record. Returns 0, or -1 with e set.
 */
static int batch_end(struct runner *r, int open_gates, struct err *e)
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
			gate_open(r, i);
	}
	return rc;
}

static int batch_commit(struct runner *r, struct err *e)
{
	return batch_end(r, 1, e);
}

static int set_step_status(struct runner *r, int i, enum step_state st, struct err *e)
{
	if (is_terminal(st))
		r->steps[i].wall_end_ms = sla_now_ms();
	char run[32];
	i64(run, sizeof(run), r->run_id);
	const char *params[] = { run, r->dag->steps[i].name, state_names[st] };
	r->steps[i].state = st;
	return batch_send(r, SQL_store_step_set_status, 3, params, e);
}

/* ---- the child side of an attempt ---- */

/* The environment of an attempt: the runner's own plus the run's facts.
 * Built in the parent before the fork, so that the child only has to hand
 * it to execve() (no allocation between fork and exec). The caller frees
 * it with env_free(). */
struct env {
	char **vars;
	int n, cap;
};

static void env_put(struct env *env, const char *name, const char *value)
{
	if (env->n + 2 > env->cap) {
		env->cap = env->cap ? env->cap * 2 : 64;
		char **v = realloc(env->vars, sizeof(char *) * (size_t)env->cap);
		if (!v)
			abort(); /* a few hundred bytes; nothing sensible to do without them */
		env->vars = v;
	}
	size_t len = strlen(name) + strlen(value) + 2;
	char *kv = malloc(len);
	if (!kv)
		abort();
	snprintf(kv, len, "%s=%s", name, value);
	env->vars[env->n++] = kv;
	env->vars[env->n] = NULL;
}

static void env_free(struct env *env)
{
	for (int i = 0; i < env->n; i++)
		free(env->vars[i]);
	free(env->vars);
}

extern char **environ;

static void attempt_env(struct runner *r, int i, int attempt, struct env *env)
{
	char buf[64], dsn[4300];
	const struct config *cfg = r->req->cfg;
	const struct step *s = &r->dag->steps[i];

	memset(env, 0, sizeof(*env));
	for (char **e = environ; *e; e++) {
		if (strncmp(*e, "BILLRUN_", 8) == 0 && strncmp(*e, "BILLRUN_CONFIG=", 15) != 0)
			continue; /* ours are set below; never inherit stale ones */
		char *eq = strchr(*e, '=');
		if (!eq)
			continue;
		char name[256];
		snprintf(name, sizeof(name), "%.*s", (int)(eq - *e), *e);
		env_put(env, name, eq + 1);
	}
	i64(buf, sizeof(buf), r->run_id);
	env_put(env, "BILLRUN_RUN_ID", buf);
	env_put(env, "BILLRUN_DAG", r->dag->name);
	env_put(env, "BILLRUN_STEP", s->name);
	snprintf(buf, sizeof(buf), "%d", attempt);
	env_put(env, "BILLRUN_ATTEMPT", buf);
	env_put(env, "BILLRUN_PERIOD_KIND", r->dag->period_kind);
	env_put(env, "BILLRUN_PERIOD_START", r->req->period.start);
	env_put(env, "BILLRUN_PERIOD_END", r->req->period.end);
	env_put(env, "BILLRUN_OUTPUT_DIR", r->output_dir);
	i64(buf, sizeof(buf), r->rule_version);
	env_put(env, "BILLRUN_RULE_VERSION", buf);
	env_put(env, "BILLRUN_RULES_FILE", r->rules_path);
	if (cfg->db_app_dsn && *cfg->db_app_dsn) {
		env_put(env, "BILLRUN_DSN", cfg->db_app_dsn);
	} else {
		/* The owner DSN, acting as the application role from the start. */
		cluster_dsn(cfg, dsn, sizeof(dsn) - 40);
		strcat(dsn, " options='-c role=billrun_app'");
		env_put(env, "BILLRUN_DSN", dsn);
	}
	if (r->account)
		env_put(env, "BILLRUN_ACCOUNT", r->account);
}

static void child_run_job(struct runner *r, int i, int attempt)
{
	const struct step *s = &r->dag->steps[i];
	const struct job *job = r->req->find_job(s->job);
	struct err e;
	err_clear(&e);
	log_set_run(r->run_id);
	log_set_step(s->name);
	if (!job) {
		err_set(&e, ERR_CONFIG, "unknown job '%s'", s->job);
		log_err(&e);
		_exit(err_exit_status(e.kind));
	}
	struct db *db = cluster_connect(r->req->cfg, DB_ROLE_APP, &e);
	if (!db) {
		log_err(&e);
		_exit(RUNNER_EXIT_RETRY);
	}
	struct job_ctx ctx = {
		.db = db, .cfg = r->req->cfg, .run_id = r->run_id, .dag = r->dag->name, .step = s->name,
		.attempt = attempt, .period_kind = r->dag->period_kind, .period_start = r->req->period.start,
		.period_end = r->req->period.end, .output_dir = r->output_dir, .rule_version = r->rule_version,
		.rules_file = r->rules_path[0] ? r->rules_path : NULL, .account = r->account,
		.rerun_of = r->req->rerun_of,
	};
	int rc = job->run(&ctx, &e);
	if (rc == 0 && !ctx.done_marked)
		rc = db_begin(db, &e) ? -1 : job_commit_done(&ctx, &e);
	if (rc != 0) {
		db_rollback(db);
		if (e.kind == ERR_NONE)
			err_set(&e, ERR_INTERNAL, "job '%s' failed without saying why", s->job);
		log_err(&e);
		int status = err_is_retryable(&e) ? RUNNER_EXIT_RETRY : err_exit_status(e.kind);
		if (status == 0 || status == RUNNER_EXIT_RETRY)
			status = err_is_retryable(&e) ? RUNNER_EXIT_RETRY : 1;
		db_free(db);
		_exit(status);
	}
	db_free(db);
	_exit(0);
}

/*
 * The gate: a step's process does nothing until the runner has stored its
 * start: the attempt's row with its pid, and the step marked running. A
 * runner killed between starting a process and storing its pid would
 * otherwise leave a process that works unseen: the resume could not kill
 * it and would run the step a second time beside it. And a built-in step
 * that works in a REPEATABLE READ snapshot must not find the runner's
 * update of its run_steps row committing after its snapshot began (its
 * done mark would then fail with a serialization error). The runner sends
 * a line ("g") once the start committed; a child that reads end of file
 * instead (the runner died, or could not store the start) exits 75
 * without running. A built-in step's child waits here; an exec step's
 * shell waits the same way (exec_gate_script).
 */
static void child_pass_gate(int fd)
{
	char c;
	ssize_t n;
	do
		n = read(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n != 1)
		_exit(RUNNER_EXIT_RETRY);
}

/* In the child: its own process group, default signal dispositions (what
 * the runner catches or ignores is not the step's business), nothing
 * blocked. Only async-signal-safe calls. */
static void child_reset_process(void)
{
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	setpgid(0, 0);
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL); /* fails harmlessly for KILL, STOP and libc's own */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Fork a built-in step's attempt: the child waits at its gate, then runs
 * the job in this process image. Returns the pid, or -1 with errno set. */
static pid_t fork_job(struct runner *r, int i, int attempt, struct env *env, int gate_fd, int runner_fd)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	/* The child never touches the parent's connection: its socket is
	 * shared, and only _exit() is used so libpq sends nothing on it. */
	close(runner_fd);
	/* Nor does it hold the gates of the other attempts of this batch
	 * (close-on-exec closes them only at exec, and a built-in step never
	 * execs): a sibling must read end of file as soon as the runner is
	 * gone. */
	for (int j = 0; j < r->dag->nsteps; j++)
		if (r->steps[j].gate >= 0)
			close(r->steps[j].gate);
	/* Nor does it keep the parent's socket open: if the runner dies, its
	 * server session must end at once, releasing the run's advisory lock,
	 * so that a resume can take over and kill this orphan. Held open
	 * here, the session (and the lock) would outlive the runner until
	 * this step ended. close() sends nothing on the socket. */
	close(PQsocket(r->db->conn));
	child_reset_process();
	child_pass_gate(gate_fd);
	environ = env->vars;
	child_run_job(r, i, attempt);
	_exit(70);
}

/*
 * An exec step's shell passes the gate itself, so that the runner need
 * not fork its own (large) process image: it is spawned at once (a vfork
 * and an exec, which overlap with the database storing its start), reads
 * the runner's line on descriptor 3, closes it and only then runs the
 * step's command, as `sh -c` would have (eval, with no positional
 * parameters). End of file instead: it exits 75 without running anything.
 */
static const char exec_gate_script[] =
	"read -r billrun_gate <&3 || exit 75; unset billrun_gate; exec 3<&-; eval \"shift; $1\"";

/* Spawn an exec step's attempt: /bin/sh in its own process group, default
 * signals, nothing blocked, the gate on descriptor 3. Returns 0 and the
 * pid, or an errno value. */
static int spawn_exec(const struct step *s, struct env *env, int gate_fd, pid_t *pid)
{
	posix_spawnattr_t attr;
	posix_spawn_file_actions_t actions;
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawn_file_actions_init(&actions);
	/* dup2 clears close-on-exec on descriptor 3 (gate_fd is never 3). */
	posix_spawn_file_actions_adddup2(&actions, gate_fd, 3);
	char *argv[] = { "sh", "-c", (char *)exec_gate_script, "sh", (char *)s->exec, NULL };
	int rc = posix_spawn(pid, "/bin/sh", &actions, &attr, argv, env->vars);
	posix_spawn_file_actions_destroy(&actions);
	posix_spawnattr_destroy(&attr);
	return rc;
}

/* Start step i's next attempt, which waits at its gate, and send its
 * start (the step running, the attempt's row with its pid) in the batch;
 * the gate opens when the batch has committed. */
static int start_attempt(struct runner *r, int i, struct err *e)
{
	struct step_run *sr = &r->steps[i];
	const struct step *s = &r->dag->steps[i];
	int attempt = sr->attempts + 1;
	char run[32], att[16], pidbuf[16];
	struct env env;
	int gate[2];
	pid_t pid = -1;

	/* A socket pair rather than a pipe: sending to a child that died
	 * cannot raise SIGPIPE (MSG_NOSIGNAL). Close-on-exec, so no step
	 * inherits another's gate. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, gate) != 0)
		return err_set(e, ERR_INTERNAL, "could not start step '%s': socketpair: %s", s->name,
			       strerror(errno));
	if (gate[0] == 3) { /* the exec step's shell reads descriptor 3 */
		int fd = fcntl(gate[0], F_DUPFD_CLOEXEC, 4);
		close(gate[0]);
		gate[0] = fd;
	}
	attempt_env(r, i, attempt, &env);
	int rc = gate[0] < 0 ? errno : 0;
	if (rc == 0 && s->exec)
		rc = spawn_exec(s, &env, gate[0], &pid);
	else if (rc == 0 && (pid = fork_job(r, i, attempt, &env, gate[0], gate[1])) < 0)
		rc = errno;
	env_free(&env);
	if (gate[0] >= 0)
		close(gate[0]);
	if (rc != 0) {
		close(gate[1]);
		return err_set(e, ERR_INTERNAL, "could not start step '%s': %s", s->name, strerror(rc));
	}
	setpgid(pid, pid); /* also from the parent, so a kill never races setpgid */
	sr->gate = gate[1];
	sr->pid = pid;
	sr->attempts = attempt;
	sr->state = ST_RUNNING;
	sr->started_ms = now_ms();
	if (!sr->wall_start_ms)
		sr->wall_start_ms = sla_now_ms();
	sr->wall_end_ms = 0;
	sr->term_sent_ms = 0;
	sr->timed_out = 0;
	r->running++;
	i64(run, sizeof(run), r->run_id);
	snprintf(att, sizeof(att), "%d", attempt);
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)pid);
	const char *params[] = { run, s->name, att, r->host, pidbuf };
	log_info("step %s: attempt %d started (pid %d)", s->name, attempt, (int)pid);
	return batch_send(r, SQL_store_step_start, 5, params, e);
}

/* How an attempt ended, and what comes next for its step. */
struct attempt_end {
	const char *status;     /* step_attempts.status */
	char code[16], sig[16], msg[256];
	int retryable;
	enum step_state next;
	int64_t delay;          /* before the retry, when next is ST_RETRY_WAIT */
};

/* Judge the end of step i's attempt from its wait status (sr->end_status);
 * a retry's time is set in sr->next_ms. */
static void judge_end(struct runner *r, int i, struct attempt_end *end)
{
	struct step_run *sr = &r->steps[i];
	const struct step *s = &r->dag->steps[i];
	int status = sr->end_status;

	memset(end, 0, sizeof(*end));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		end->status = "success";
		snprintf(end->code, sizeof(end->code), "0");
		snprintf(end->msg, sizeof(end->msg), "ok");
	} else if (sr->timed_out) {
		end->status = "timeout";
		end->retryable = 1;
		if (WIFSIGNALED(status))
			snprintf(end->sig, sizeof(end->sig), "%d", WTERMSIG(status));
		else
			snprintf(end->code, sizeof(end->code), "%d", WEXITSTATUS(status));
		snprintf(end->msg, sizeof(end->msg), "timed out after %lld ms", (long long)s->timeout_ms);
	} else if (WIFEXITED(status)) {
		int c = WEXITSTATUS(status);
		end->retryable = c == RUNNER_EXIT_RETRY;
		end->status = end->retryable ? "retryable" : "failed";
		snprintf(end->code, sizeof(end->code), "%d", c);
		snprintf(end->msg, sizeof(end->msg), "%s",
			 end->retryable ? "exited 75: temporary failure" : "exited with an error");
	} else {
		end->status = sr->term_sent_ms ? "failed" : "crashed";
		snprintf(end->sig, sizeof(end->sig), "%d", WTERMSIG(status));
		snprintf(end->msg, sizeof(end->msg), "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	}
	if (stop_requested && strcmp(end->status, "success") != 0)
		end->retryable = 0;

	if (strcmp(end->status, "success") == 0) {
		end->next = ST_SUCCESS;
	} else if (end->retryable && sr->attempts <= s->retries && !stop_requested) {
		end->next = ST_RETRY_WAIT;
		end->delay = dag_retry_delay_ms(s, r->run_id, sr->attempts + 1);
		sr->next_ms = now_ms() + end->delay;
	} else if (stop_requested) {
		end->next = ST_PENDING; /* resumable: the next invocation redoes it */
	} else {
		end->next = ST_FAILED;
	}
}

static void log_end(struct runner *r, int i, const struct attempt_end *end)
{
	struct step_run *sr = &r->steps[i];
	const struct step *s = &r->dag->steps[i];
	switch (sr->state) {
	case ST_SUCCESS:
		log_info("step %s: succeeded in %lld ms (attempt %d)", s->name, (long long)sr->duration_ms,
			 sr->attempts);
		break;
	case ST_RETRY_WAIT:
		log_warn("step %s: attempt %d %s (%s); retry %d of %d in %lld ms", s->name, sr->attempts,
			 end->status, end->msg, sr->attempts, s->retries, (long long)end->delay);
		break;
	case ST_PENDING:
		log_warn("step %s: attempt %d stopped (%s); it will be redone on resume", s->name, sr->attempts,
			 end->msg);
		break;
	default:
		log_error("step %s: failed after %d attempt%s (%s%s)", s->name, sr->attempts,
			  sr->attempts == 1 ? "" : "s", end->msg, end->retryable ? ", no retries left" : "");
	}
}

/* The end of step i's attempt, judged (judge_end), with the parameters
 * of SQL_store_step_end pointing into it. */
struct end_record {
	struct attempt_end end;
	char run[32], att[16];
	const char *params[8];
};

static void end_record_init(struct runner *r, int i, struct end_record *er)
{
	judge_end(r, i, &er->end);
	i64(er->run, sizeof(er->run), r->run_id);
	snprintf(er->att, sizeof(er->att), "%d", r->steps[i].attempts);
	er->params[0] = er->run;
	er->params[1] = r->dag->steps[i].name;
	er->params[2] = er->att;
	er->params[3] = er->end.status;
	er->params[4] = er->end.code[0] ? er->end.code : NULL;
	er->params[5] = er->end.sig[0] ? er->end.sig : NULL;
	er->params[6] = er->end.msg;
	er->params[7] = state_names[er->end.next];
}

/* Record the end of step i's attempt (its wait status in sr->end_status)
 * and decide what comes next, at once: for a built-in step, whose done
 * mark and files the database has (and after reconnecting). Until the
 * database has it, end_pending stays set, so that after a lost connection
 * the runner records it once it has reconnected. No batch may be open. */
static int record_end(struct runner *r, int i, struct err *e)
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
	log_end(r, i, &er.end);
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
static int queue_end(struct runner *r, int i, struct err *e)
{
	struct step_run *sr = &r->steps[i];
	struct end_record er;

	end_record_init(r, i, &er);
	sr->state = er.end.next;
	sr->end_queued = 1;
	log_end(r, i, &er.end);
	return batch_send(r, SQL_store_step_end, 8, er.params, e);
}

/* A child ended: note it (no database needed), then record it. */
static void note_end(struct runner *r, int i, int status)
{
	struct step_run *sr = &r->steps[i];
	sr->duration_ms = now_ms() - sr->started_ms;
	sr->wall_end_ms = sla_now_ms();
	r->running--;
	sr->pid = 0;
	sr->end_status = status;
	sr->end_pending = 1;
	if (sr->gate >= 0) { /* it died at its gate (killed, or a timeout) */
		close(sr->gate);
		sr->gate = -1;
	}
}

static int attempt_ended(struct runner *r, int i, int status, struct err *e)
{
	note_end(r, i, status);
	if (r->dag->steps[i].exec)
		return queue_end(r, i, e);
	return batch_commit(r, e) || record_end(r, i, e);
}

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
			if (set_step_status(r, i, ST_UPSTREAM_FAILED, e))
				return -1;
			continue;
		}
		if (stop_requested || r->running >= d->max_parallel)
			continue;
		/* A retry at once: the end of its last attempt commits first, so
		 * that a failed batch leaves no attempt's end unrecorded. */
		if (sr->end_queued && batch_commit(r, e))
			return -1;
		if (start_attempt(r, i, e))
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
		if (!sr->term_sent_ms && (stop_requested || (s->timeout_ms && now - sr->started_ms > s->timeout_ms))) {
			if (!stop_requested) {
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
static int sla_tick(struct runner *r, struct err *e)
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
		if (schedule(r, e) || batch_commit(r, e))
			return -1;
		if ((reaped || now_ms() >= r->next_sla_ms) && sla_tick(r, e))
			return -1;
		if (r->running == 0 && (all_terminal(r) || stop_requested))
			return 0;
		/* Reap every child that ended; then sleep until a child ends or
		 * something is due. SIGCHLD is blocked, so none is missed. */
		int status;
		pid_t pid;
		reaped = 0;
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			int i = step_of_pid(r, pid);
			if (i >= 0 && attempt_ended(r, i, status, e))
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
static int loop(struct runner *r, struct err *e)
{
	int rc = loop_turns(r, e);
	if (rc) {
		struct err ignored;
		err_clear(&ignored);
		batch_end(r, 0, &ignored);
	}
	return rc;
}

/* ---- set-up: lock, run row, steps ---- */

static int take_lock(struct runner *r, struct err *e)
{
	const struct run_request *q = r->req;
	const char *params[] = { q->dag->name, q->period.start };
	PGresult *res = db_query(r->db, e, SQL_store_lock_try, 2, params);
	if (!res)
		return -1;
	int got = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (got)
		return 0;
	res = db_query(r->db, e, SQL_store_run_holder, 2, params);
	if (!res)
		return -1;
	if (PQntuples(res) > 0)
		err_set(e, ERR_TEMPFAIL, "another billrun holds DAG '%s' for period %s: run %s on host %s, pid %s",
			q->dag->name, q->period.start, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
			PQgetvalue(res, 0, 2));
	else
		err_set(e, ERR_TEMPFAIL, "another billrun holds DAG '%s' for period %s (starting up)", q->dag->name,
			q->period.start);
	PQclear(res);
	return err_hint(e, "wait for it to finish, or check 'billrun status'");
}

/* ---- losing the database in the middle of a run ---- */

/* How long a runner that lost its database connection keeps trying to get
 * it back, its steps going on meanwhile, before it gives up (exit 69; a
 * resume continues the run). A server restart takes seconds; a failover
 * rarely more than a minute or two. */
#define RECONNECT_MS 300000

static int lost_connection(const struct runner *r, const struct err *e)
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
			note_end(r, i, status);
	}
	enforce_timeouts(r);
}

/* After reconnecting, write the runner's view again: the updates it tried
 * while the server was away (a batch that failed, whose attempts wait at
 * their gates), and whatever a server that came back from a backup or a
 * failover no longer has. Done marks are the steps' own durable commits,
 * so a step the database says succeeded did. */
static int resync(struct runner *r, struct err *e)
{
	char run[32], att[16], pidbuf[16];
	i64(run, sizeof(run), r->run_id);
	for (int i = 0; i < r->dag->nsteps; i++) {
		struct step_run *sr = &r->steps[i];
		const char *name = r->dag->steps[i].name;
		snprintf(att, sizeof(att), "%d", sr->attempts);
		snprintf(pidbuf, sizeof(pidbuf), "%d", (int)sr->pid);
		int running = sr->state == ST_RUNNING && sr->pid > 0;
		if (sr->attempts > 0) {
			const char *p1[] = { run, name, att, r->host, running ? pidbuf : NULL };
			if (db_exec(r->db, e, SQL_store_attempt_ensure, 5, p1))
				return -1;
		}
		if (running) {
			const char *p2[] = { run, name, att, pidbuf };
			if (db_exec(r->db, e, SQL_store_attempt_pid, 4, p2))
				return -1;
		}
		if (sr->end_pending) {
			if (record_end(r, i, e))
				return -1;
			continue;
		}
		const char *p3[] = { run, name, state_names[sr->state], att };
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

/*
 * The runner's connection is gone (the server restarted, a failover, a
 * network cut). Its steps go on (their own connections fail or not, and
 * the failures are retried like any other): reconnect, take the run's
 * lock again, check that no other runner took the run over meanwhile, and
 * write the runner's view back. Returns 0, or -1 with e set:
 * ERR_DB_UNAVAILABLE after RECONNECT_MS, ERR_TEMPFAIL when another runner
 * holds the run now.
 */
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

/* Wait up to a second for a child to end, reaping it. */
static void pause_offline(struct runner *r)
{
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	struct timespec ts = { 1, 0 };
	sigtimedwait(&chld, NULL, &ts);
	reap_offline(r);
}

static int reconnect(struct runner *r, struct err *e)
{
	log_warn("lost the database connection (%s); reconnecting while the steps go on", e->message);
	sla_close(r->sla);
	r->sla = NULL;
	db_free(r->db);
	r->db = NULL;
	int64_t deadline = now_ms() + RECONNECT_MS;
	for (;;) {
		reap_offline(r);
		if (stop_requested)
			return err_set(e, ERR_DB_UNAVAILABLE, "stopped by signal %d while the database was unreachable",
				       (int)stop_requested);
		err_clear(e);
		r->db = cluster_connect(r->req->cfg, DB_ROLE_APP, e);
		if (r->db)
			break;
		if (now_ms() >= deadline)
			return err_hint(e, "the database was unreachable for %d s; 'billrun resume %lld' continues the run",
					RECONNECT_MS / 1000, (long long)r->run_id);
		pause_offline(r);
	}
	/* Our old session may hold the lock still (a cut network, not a
	 * restart) until the server notices it is gone: wait for that, as long
	 * as the run is still ours. */
	while (take_lock(r, e)) {
		if (e->kind != ERR_TEMPFAIL || now_ms() >= deadline || run_is_ours(r, e))
			return -1;
		pause_offline(r);
	}
	if (run_is_ours(r, e) || resync(r, e))
		return -1;
	/* The attempts of a batch that failed have their starts stored now. */
	for (int i = 0; i < r->dag->nsteps; i++)
		if (r->steps[i].gate >= 0)
			gate_open(r, i);
	if (sla_open(&r->sla, r->db, r->req->cfg, r->dag, r->run_id, "runner", e))
		return -1;
	log_info("reconnected to the database; run %lld goes on", (long long)r->run_id);
	return 0;
}

/* Attempts a dead runner left 'running': make sure their processes are
 * gone (they run in their own process groups), then mark them abandoned,
 * or successful when the step's done mark had committed (the runner died
 * between a built-in step's commit and recording its end). */
static int abandon_orphans(struct runner *r, struct err *e)
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
		if (strcmp(host, r->host) == 0 && pid > 0 && kill(-pid, 0) == 0) {
			log_warn("step %s: attempt %s of the previous runner is still running (pid %d); killing it",
				 step, attempt, (int)pid);
			kill(-pid, SIGKILL);
			for (int tries = 0; tries < 100 && kill(-pid, 0) == 0; tries++)
				usleep(20000);
		} else if (strcmp(host, r->host) != 0) {
			log_warn("step %s: attempt %s ran on host %s; it cannot be checked from here", step, attempt,
				 host);
		}
		const char *p2[] = { run, step, attempt };
		if (db_exec(r->db, e, SQL_store_attempt_abandon, 3, p2)) {
			PQclear(res);
			return -1;
		}
	}
	PQclear(res);
	return db_exec(r->db, e, SQL_store_steps_reset_unfinished, 1, params);
}

static int load_steps(struct runner *r, struct err *e)
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

static int create_run(struct runner *r, const char *mark, struct err *e)
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
	*outcome = stop_requested ? RUN_INTERRUPTED : failed ? RUN_FAILED : RUN_SUCCESS;
	if (*outcome != RUN_INTERRUPTED && sla_tick(r, e))
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
	if (r->req->on_finish && r->req->on_finish(r->req->cfg, r->db, r->run_id, &me))
		log_warn("could not write the run report: %s", me.message);
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
			 (int)stop_requested, (long long)r->run_id);
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
	r.db = cluster_connect(req->cfg, DB_ROLE_APP, e);
	if (!r.db)
		goto out;
	/* The runner's bookkeeping commits durably (the server's default):
	 * a gate opens, and a dependent step starts, only on a state that
	 * survives a crash of the database server too. A batch makes that one
	 * WAL flush per turn of the loop, not one per statement. */
	if (!req->dry_run) {
		if (take_lock(&r, e))
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
		if (load_steps(&r, e))
			goto out;
		if (req->dry_run) {
			print_plan(&r, NULL, 1, req->plan_out ? req->plan_out : stdout);
			rc = RUN_SUCCESS;
			goto out;
		}
		if (abandon_orphans(&r, e) || load_steps(&r, e))
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
		if (create_run(&r, mark, e))
			goto out;
		for (int i = 0; i < r.dag->nsteps; i++)
			r.steps[i].state = mark[i] ? ST_PENDING : ST_SKIPPED;
		log_info("run %lld of DAG %s for %s started", (long long)r.run_id, r.dag->name, req->period.start);
	}
	*run_id = r.run_id;
	log_set_run(r.run_id);
	if (prepare_output(&r, e) || materialise_rules(&r, e))
		goto out;
	if (sla_open(&r.sla, r.db, req->cfg, r.dag, r.run_id, resuming ? "resume" : "runner", e) || sla_tick(&r, e))
		goto out;

	/* SIGCHLD is blocked and waited for with sigtimedwait; SIGTERM and
	 * SIGINT stop the run cleanly so that it can be resumed. */
	stop_requested = 0;
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGINT, &sa, &old_int);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &old);
	for (;;) {
		rc = loop(&r, e);
		if (rc == 0)
			rc = finish_run(&r, &outcome, e);
		if (rc == 0 || !lost_connection(&r, e) || reconnect(&r, e))
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
