/*
 * runner_attempt.c - one attempt of a step as a process: its environment,
 * the fork (built-in job) or spawn (exec step) into its own process group,
 * the start gate, and how its end is judged.
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
#include "job.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* Open the gate of a started attempt whose start has committed. */
void runner_gate_open(struct runner *r, int i)
{
	struct step_run *sr = &r->steps[i];
	if (send(sr->gate, "g\n", 2, MSG_NOSIGNAL) != 2)
		log_warn("step %s: could not signal attempt %d to start: %s", r->dag->steps[i].name, sr->attempts,
			 strerror(errno));
	close(sr->gate);
	sr->gate = -1;
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
int runner_start_attempt(struct runner *r, int i, struct err *e)
{
	struct step_run *sr = &r->steps[i];
	const struct step *s = &r->dag->steps[i];
	int attempt = sr->attempts + 1;
	char run[32], att[16], pidbuf[16], started[32];
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
	/* Its identity, for a resume that finds the attempt running: the
	 * child is at its gate (or a zombie not reaped yet), so /proc has it. */
	if (proc_start_time(pid, &sr->pid_started) != 0)
		sr->pid_started = 0;
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
	snprintf(started, sizeof(started), "%llu", sr->pid_started);
	const char *params[] = { run, s->name, att, r->host, pidbuf, sr->pid_started ? started : NULL,
				 r->boot_id[0] ? r->boot_id : NULL };
	log_info("step %s: attempt %d started (pid %d)", s->name, attempt, (int)pid);
	return runner_batch_send(r, SQL_store_step_start, 7, params, e);
}

/* Judge the end of step i's attempt from its wait status (sr->end_status);
 * a retry's time is set in sr->next_ms. */
void runner_judge_end(struct runner *r, int i, struct attempt_end *end)
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
	if (runner_stop_requested && strcmp(end->status, "success") != 0)
		end->retryable = 0;

	if (strcmp(end->status, "success") == 0) {
		end->next = ST_SUCCESS;
	} else if (end->retryable && sr->attempts <= s->retries && !runner_stop_requested) {
		end->next = ST_RETRY_WAIT;
		end->delay = dag_retry_delay_ms(s, r->run_id, sr->attempts + 1);
		sr->next_ms = now_ms() + end->delay;
	} else if (runner_stop_requested) {
		end->next = ST_PENDING; /* resumable: the next invocation redoes it */
	} else {
		end->next = ST_FAILED;
	}
}

void runner_log_end(struct runner *r, int i, const struct attempt_end *end)
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

/* A child ended: note it (no database needed), then record it. */
void runner_note_end(struct runner *r, int i, int status)
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

int runner_attempt_ended(struct runner *r, int i, int status, struct err *e)
{
	runner_note_end(r, i, status);
	if (r->dag->steps[i].exec)
		return runner_queue_end(r, i, e);
	return runner_batch_commit(r, e) || runner_record_end(r, i, e);
}
