/*
 * test_runner.c - the DAG runner against a real PostgreSQL, through the
 * billrun binary: parallelism, order, retries, timeouts, the lock, crash
 * and resume, reruns, rule versions, catch-up, metrics.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support.h"

static char dsn[1024];
static char dir[256];
static char conf[512];
static char rules[512];
static PGconn *conn;
static int counter;

static char out[65536];

/* Write a config with the given DAG body (inside dags = { ... }). */
static void write_config(const char *dags)
{
	assert_int_equal(test_write_config(conf, dir, dsn, rules, "runner = { kill_grace = \"500ms\"; };", dags), 0);
}

/* Run billrun with the test's config; arguments end at the first NULL. */
#define billrun(...) run_billrun(__VA_ARGS__, NULL)
#define q_int(...) test_q_int(conn, __VA_ARGS__)

/* billrun's output goes to stderr when a test fails on it. */
static int run_billrun(const char *first, ...)
{
	const char *args[24] = { "-c", conf, first };
	int n = 3;
	va_list ap;
	va_start(ap, first);
	while (n < 23 && (args[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	args[n] = NULL;
	int rc = test_billrun(out, sizeof(out), args);
	if (getenv("TEST_VERBOSE") || (rc != 0 && rc != 3 && rc != 75 && rc != 64 && rc != 65))
		fprintf(stderr, "billrun %s %s -> %d:\n%s\n", first, n > 3 ? args[3] : "", rc, out);
	return rc;
}
#define wait_for(want, sql) test_wait_for(conn, want, sql)
#define spawn(...) test_spawn_billrun(conf, __VA_ARGS__, NULL)

static PGresult *q(const char *sql)
{
	PGresult *r = PQexec(conn, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "query failed: %s: %s", sql, PQerrorMessage(conn));
		fail();
	}
	return r;
}

static int setup(void **state)
{
	if (!test_pg_dsn())
		return 0;
	/* A fresh database per test keeps runs and periods apart. */
	char name[64];
	snprintf(name, sizeof(name), "test_runner_%d", ++counter);
	if (test_db_fresh(name, dsn, sizeof(dsn)))
		return -1;
	if (test_tmpdir(dir, sizeof(dir)))
		return -1;
	snprintf(conf, sizeof(conf), "%s/billrun.conf", dir);
	snprintf(rules, sizeof(rules), "%s/rates.conf", dir);
	if (test_write_file(rules, "meters = ();\n# version 1\n"))
		return -1;
	conn = PQconnectdb(dsn);
	if (PQstatus(conn) != CONNECTION_OK)
		return -1;
	write_config("x = { steps = ( { name = \"a\"; exec = \"true\"; } ); };");
	if (billrun("db", "migrate", NULL, NULL, NULL) != 0) {
		fprintf(stderr, "%s", out);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	if (conn)
		PQfinish(conn);
	conn = NULL;
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	test_sh(out, sizeof(out), cmd);
	return 0;
}

#define NEED_PG()                                        \
	do {                                             \
		if (!test_pg_dsn())                      \
			skip();                          \
	} while (0)

static void independent_steps_run_in_parallel_up_to_max_parallel(void **state)
{
	NEED_PG();
	write_config("p = { max_parallel = 3; steps = (\n"
		     " { name = \"a\"; exec = \"sleep 0.6\"; }, { name = \"b\"; exec = \"sleep 0.6\"; },\n"
		     " { name = \"c\"; exec = \"sleep 0.6\"; } ); };\n"
		     "s = { max_parallel = 1; steps = (\n"
		     " { name = \"a\"; exec = \"sleep 0.3\"; }, { name = \"b\"; exec = \"sleep 0.3\"; },\n"
		     " { name = \"c\"; exec = \"sleep 0.3\"; } ); };");
	assert_int_equal(billrun("run", "p", "--period", "2026-01-01", NULL), 0);
	assert_int_equal(billrun("run", "s", "--period", "2026-01-01", NULL), 0);
	/* With room for three, all three were running at the same time: each
	 * started before any ended. With room for one, none overlapped. */
	assert_int_equal(q_int("SELECT count(*) FROM step_attempts a JOIN runs r ON r.id = a.run_id "
			       "WHERE r.dag = 'p' AND a.started_at < (SELECT min(b.ended_at) FROM step_attempts b "
			       "JOIN runs r2 ON r2.id = b.run_id WHERE r2.dag = 'p')"),
			 3);
	assert_int_equal(q_int("SELECT count(*) FROM step_attempts a, step_attempts b, runs r "
			       "WHERE r.dag = 's' AND a.run_id = r.id AND b.run_id = r.id AND a.step < b.step "
			       "AND a.started_at < b.ended_at AND b.started_at < a.ended_at"),
			 0);
}

static void a_step_starts_only_after_its_dependencies_succeed(void **state)
{
	NEED_PG();
	write_config("d = { max_parallel = 4; steps = (\n"
		     " { name = \"c\"; exec = \"sleep 0.1\"; after = [\"a\", \"b\"]; },\n"
		     " { name = \"a\"; exec = \"sleep 0.3\"; }, { name = \"b\"; exec = \"sleep 0.1\"; } ); };");
	assert_int_equal(billrun("run", "d", "--period", "2026-01-01", NULL), 0);
	assert_int_equal(q_int("SELECT count(*) FROM step_attempts c, step_attempts d WHERE c.step = 'c' "
			       "AND d.step IN ('a', 'b') AND c.started_at < d.ended_at"),
			 0);
	assert_int_equal(q_int("SELECT count(*) FROM runs WHERE status = 'success'"), 1);
}

static void retryable_failures_are_retried_and_permanent_ones_are_not(void **state)
{
	NEED_PG();
	char dags[2048];
	/* flaky fails with 75 twice, then succeeds; temp always 75; perm exit 1. */
	snprintf(dags, sizeof(dags),
		 "r = { max_parallel = 3; steps = (\n"
		 " { name = \"flaky\"; retries = 3; retry_delay = \"50ms\";\n"
		 "   exec = \"n=$(cat %s/n 2>/dev/null || echo 0); echo $((n+1)) > %s/n; [ $n -ge 2 ] || exit 75\"; },\n"
		 " { name = \"temp\"; exec = \"exit 75\"; retries = 2; retry_delay = \"50ms\"; },\n"
		 " { name = \"perm\"; exec = \"exit 1\"; retries = 3; retry_delay = \"50ms\"; },\n"
		 " { name = \"after_perm\"; exec = \"true\"; after = [\"perm\"]; },\n"
		 " { name = \"cleanup\"; exec = \"true\"; after = [\"perm\"]; trigger = \"all_done\"; } ); };",
		 dir, dir);
	write_config(dags);
	assert_int_equal(billrun("run", "r", "--period", "2026-01-01", NULL), 3);
	assert_int_equal(q_int("SELECT attempts FROM run_steps WHERE step = 'flaky' AND status = 'success'"), 3);
	assert_int_equal(q_int("SELECT attempts FROM run_steps WHERE step = 'temp' AND status = 'failed'"), 3);
	assert_int_equal(q_int("SELECT count(*) FROM step_attempts WHERE step = 'temp' AND status = 'retryable' "
			       "AND exit_code = 75"),
			 3);
	assert_int_equal(q_int("SELECT attempts FROM run_steps WHERE step = 'perm' AND status = 'failed'"), 1);
	assert_int_equal(q_int("SELECT count(*) FROM run_steps WHERE step = 'after_perm' AND status = 'upstream_failed' "
			       "AND attempts = 0"),
			 1);
	assert_int_equal(q_int("SELECT count(*) FROM run_steps WHERE step = 'cleanup' AND status = 'success'"), 1);
	assert_int_equal(q_int("SELECT count(*) FROM runs WHERE status = 'failed'"), 1);
	/* The backoff was logged with its delay. */
	assert_non_null(strstr(out, "retry 1 of 3 in"));
}

static void a_step_over_its_timeout_is_terminated_then_killed(void **state)
{
	NEED_PG();
	write_config("t = { steps = (\n"
		     " { name = \"slow\"; exec = \"sleep 30\"; timeout = \"300ms\"; },\n"
		     " { name = \"stubborn\"; exec = \"trap '' TERM; sleep 30\"; timeout = \"300ms\"; } ); };");
	time_t t0 = time(NULL);
	assert_int_equal(billrun("run", "t", "--period", "2026-01-01", NULL), 3);
	assert_true(time(NULL) - t0 < 20);
	assert_int_equal(q_int("SELECT signal FROM step_attempts WHERE step = 'slow' AND status = 'timeout'"), SIGTERM);
	assert_int_equal(q_int("SELECT signal FROM step_attempts WHERE step = 'stubborn' AND status = 'timeout'"),
			 SIGKILL);
	assert_non_null(strstr(out, "sending SIGKILL"));
}

static void exec_steps_get_the_run_facts_in_their_environment(void **state)
{
	NEED_PG();
	char dags[1024];
	snprintf(dags, sizeof(dags),
		 "e = { period = \"month\"; steps = ( { name = \"env\"; exec = \"env | grep ^BILLRUN_ | sort > %s/env\"; } ); };",
		 dir);
	write_config(dags);
	assert_int_equal(billrun("run", "e", "--period", "2026-02", NULL), 0);
	char path[512];
	snprintf(path, sizeof(path), "cat %s/env", dir);
	test_sh(out, sizeof(out), path);
	long long run = q_int("SELECT id FROM runs");
	char want[128];
	snprintf(want, sizeof(want), "BILLRUN_RUN_ID=%lld\n", run);
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, "BILLRUN_DAG=e\n"));
	assert_non_null(strstr(out, "BILLRUN_STEP=env\n"));
	assert_non_null(strstr(out, "BILLRUN_ATTEMPT=1\n"));
	assert_non_null(strstr(out, "BILLRUN_PERIOD_START=2026-02-01\n"));
	assert_non_null(strstr(out, "BILLRUN_PERIOD_END=2026-03-01\n"));
	assert_non_null(strstr(out, "BILLRUN_PERIOD_KIND=month\n"));
	assert_non_null(strstr(out, "BILLRUN_DSN="));
	assert_non_null(strstr(out, "BILLRUN_OUTPUT_DIR="));
	assert_non_null(strstr(out, "BILLRUN_RULE_VERSION=1\n"));
}

static void a_second_runner_for_the_same_dag_and_period_exits_75_naming_the_holder(void **state)
{
	NEED_PG();
	/* The hold outlasts the second billrun's start (slower under valgrind). */
	char dags[256];
	snprintf(dags, sizeof(dags), "l = { steps = ( { name = \"hold\"; exec = \"sleep %s\"; } ); };", test_secs(2));
	write_config(dags);
	pid_t first = spawn("run", "l", "--period", "2026-01-01");
	assert_true(wait_for(1, "SELECT count(*) FROM run_steps WHERE status = 'running'"));
	assert_int_equal(billrun("run", "l", "--period", "2026-01-01", NULL), 75);
	char want[64];
	snprintf(want, sizeof(want), "pid %d", (int)first);
	assert_non_null(strstr(out, "run 1 on host"));
	assert_non_null(strstr(out, want));
	/* Another period is not held. */
	assert_int_equal(billrun("run", "l", "--period", "2026-01-02", "--dry-run"), 0);
	int status;
	waitpid(first, &status, 0);
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* The holder has taken the lock but not yet recorded its run (a lock on
 * runs holds its insert): the second runner still names its host and pid. */
static void the_lock_message_names_a_holder_that_is_starting_up(void **state)
{
	NEED_PG();
	write_config("l = { steps = ( { name = \"hold\"; exec = \"true\"; } ); };");
	PGconn *locker = PQconnectdb(dsn);
	assert_int_equal(PQstatus(locker), CONNECTION_OK);
	test_sql(locker, "BEGIN");
	test_sql(locker, "LOCK TABLE runs IN SHARE MODE");
	pid_t first = spawn("run", "l", "--period", "2026-01-01");
	assert_true(wait_for(1, "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'runs'::regclass"));
	int rc = billrun("run", "l", "--period", "2026-01-01", NULL);
	test_sql(locker, "ROLLBACK");
	PQfinish(locker);
	int status;
	waitpid(first, &status, 0);
	assert_int_equal(rc, 75);
	char host[256], want[400];
	gethostname(host, sizeof(host));
	snprintf(want, sizeof(want), "for period 2026-01-01: host %s, pid %d, starting up", host, (int)first);
	assert_non_null(strstr(out, want));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void two_runners_started_together_one_runs_the_other_exits_75(void **state)
{
	NEED_PG();
	write_config("l = { steps = ( { name = \"hold\"; exec = \"sleep 1\"; } ); };");
	pid_t a = spawn("run", "l", "--period", "2026-01-01");
	pid_t b = spawn("run", "l", "--period", "2026-01-01");
	int sa, sb;
	waitpid(a, &sa, 0);
	waitpid(b, &sb, 0);
	int ca = WEXITSTATUS(sa), cb = WEXITSTATUS(sb);
	assert_true((ca == 0 && cb == 75) || (ca == 75 && cb == 0));
	assert_int_equal(q_int("SELECT count(*) FROM runs"), 1);
	assert_int_equal(q_int("SELECT count(*) FROM step_attempts"), 1);
}

/* The chain a -> b -> c -> d; each step appends its name to a log. b
 * outlasts the resume's start, which must find it still running. */
static void write_chain_config(void)
{
	char dags[2048];
	snprintf(dags, sizeof(dags),
		 "k = { steps = (\n"
		 " { name = \"a\"; exec = \"echo a >> %s/log\"; },\n"
		 " { name = \"b\"; exec = \"sleep %s; echo b >> %s/log\"; after = [\"a\"]; },\n"
		 " { name = \"c\"; job = \"noop\"; after = [\"b\"]; },\n"
		 " { name = \"d\"; exec = \"sleep %s; echo d >> %s/log\"; after = [\"c\"]; } ); };",
		 dir, test_secs(1), dir, test_secs(0.5), dir);
	write_config(dags);
}

static void final_state_equals_an_uninterrupted_run(void)
{
	/* One run, successful, every step done exactly once successfully. */
	assert_int_equal(q_int("SELECT count(*) FROM runs"), 1);
	assert_int_equal(q_int("SELECT count(*) FROM runs WHERE status = 'success'"), 1);
	assert_int_equal(q_int("SELECT count(*) FROM run_steps WHERE status = 'success'"), 4);
	assert_int_equal(q_int("SELECT count(*) FROM step_attempts WHERE status = 'success'"), 4);
	assert_int_equal(q_int("SELECT count(*) FROM step_attempts WHERE status = 'running'"), 0);
}

/* Kill the runner with SIGKILL once until_sql returns until_value, resume,
 * and check the outcome. An attempt that was running then is abandoned
 * and redone: at most max_abandoned of them. */
static void kill_runner_at(const char *until_sql, long long until_value, int max_abandoned)
{
	write_chain_config();
	pid_t runner = spawn("run", "k", "--period", "2026-01-01");
	assert_true(wait_for(until_value, until_sql));
	kill(runner, SIGKILL);
	waitpid(runner, NULL, 0);
	assert_int_equal(q_int("SELECT count(*) FROM runs WHERE status = 'running'"), 1);
	/* `run` finds the unfinished run and resumes it. */
	int rc = billrun("run", "k", "--period", "2026-01-01", NULL);
	if (rc != 0)
		fprintf(stderr, "resume exited %d:\n%s\n", rc, out);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "resuming unfinished run 1"));
	final_state_equals_an_uninterrupted_run();
	assert_in_range(q_int("SELECT count(*) FROM step_attempts WHERE status = 'abandoned'"), 0, max_abandoned);
	/* Finished steps were not repeated: a ran once (one line 'a' in the log). */
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "grep -c '^a$' %s/log", dir);
	test_sh(out, sizeof(out), cmd);
	assert_int_equal(atoi(out), 1);
}

static void sigkill_while_a_step_runs_then_resume_redoes_only_that_step(void **state)
{
	NEED_PG();
	kill_runner_at("SELECT count(*) FROM run_steps WHERE step = 'b' AND status = 'running'", 1, 1);
	assert_int_equal(q_int("SELECT count(*) FROM step_attempts WHERE status = 'abandoned' AND step = 'b'"), 1);
	/* The orphaned attempt of b was killed by the resume, not left to finish
	 * twice: b appears in the log once, from the resumed attempt. */
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "grep -c '^b$' %s/log", dir);
	test_sh(out, sizeof(out), cmd);
	assert_int_equal(atoi(out), 1);
}

static void sigkill_between_steps_then_resume_repeats_nothing(void **state)
{
	NEED_PG();
	/* c is a built-in step whose done mark commits with its effects. */
	kill_runner_at("SELECT count(*) FROM run_steps WHERE step = 'c' AND status = 'success'", 1, 1);
	assert_int_equal(q_int("SELECT count(*) FROM step_attempts WHERE step IN ('a', 'b', 'c') AND status <> 'success'"), 0);
}

static void sigkill_of_the_runner_during_the_last_step_then_resume_via_resume_command(void **state)
{
	NEED_PG();
	write_chain_config();
	pid_t runner = spawn("run", "k", "--period", "2026-01-01");
	assert_true(wait_for(1, "SELECT count(*) FROM run_steps WHERE step = 'd' AND status = 'running'"));
	kill(runner, SIGKILL);
	waitpid(runner, NULL, 0);
	assert_int_equal(billrun("resume", "1", "--dry-run", NULL, NULL), 0);
	assert_non_null(strstr(out, "done already"));
	assert_int_equal(billrun("resume", "1", NULL, NULL, NULL), 0);
	final_state_equals_an_uninterrupted_run();
	/* A finished run cannot be resumed. */
	assert_int_equal(billrun("resume", "1", NULL, NULL, NULL), 64);
}

/* A recorded step process is signalled only if it is still the process
 * the runner started: here its pid is given to a stranger (the runner and
 * the step are killed, an unrelated process in a group of its own takes
 * the step's place in step_attempts). The resume leaves it alone and finds
 * the attempt abandoned. */
static void a_stranger_with_a_recorded_pid_is_never_signalled(void **state)
{
	NEED_PG();
	write_chain_config();
	pid_t runner = spawn("run", "k", "--period", "2026-01-01");
	assert_true(wait_for(1, "SELECT count(*) FROM step_attempts WHERE step = 'b' AND status = 'running' "
				"AND pid IS NOT NULL"));
	pid_t b = (pid_t)q_int("SELECT pid FROM step_attempts WHERE step = 'b'");
	assert_true(q_int("SELECT count(*) FROM step_attempts WHERE step = 'b' AND pid_started > 0 "
			  "AND boot_id IS NOT NULL") == 1);
	kill(runner, SIGKILL);
	kill(-b, SIGKILL);
	waitpid(runner, NULL, 0);
	pid_t stranger = fork();
	assert_true(stranger >= 0);
	if (stranger == 0) {
		setpgid(0, 0);
		execl("/bin/sleep", "sleep", "120", (char *)NULL);
		_exit(127);
	}
	setpgid(stranger, stranger);
	test_sql(conn, "UPDATE step_attempts SET pid = %d WHERE step = 'b' AND status = 'running'", (int)stranger);
	int rc = billrun("run", "k", "--period", "2026-01-01", NULL);
	int status = 0;
	pid_t gone = waitpid(stranger, &status, WNOHANG);
	kill(stranger, SIGKILL);
	waitpid(stranger, NULL, 0);
	assert_int_equal(gone, 0); /* still alive: not signalled */
	assert_int_equal(rc, 0);
	char want[128];
	snprintf(want, sizeof(want), "attempt 1's pid %d is another process's now", (int)stranger);
	assert_non_null(strstr(out, want));
	assert_null(strstr(out, "of the previous runner is still running"));
	assert_string_equal(test_q_text(conn, "SELECT string_agg(attempt || ':' || status, ' ' ORDER BY attempt) "
					      "FROM step_attempts WHERE step = 'b'"),
			    "1:abandoned 2:success");
	final_state_equals_an_uninterrupted_run();
}

/* A built-in step commits its done mark before it exits; a runner killed
 * before it records the attempt's end leaves the attempt 'running' though
 * the step succeeded. The resume records it as successful, not abandoned.
 * (Seen under valgrind, where the window is wide; forged here.) */
static void an_attempt_whose_done_mark_committed_is_recorded_successful_on_resume(void **state)
{
	NEED_PG();
	char dags[512];
	snprintf(dags, sizeof(dags),
		 "k = { steps = ( { name = \"c\"; job = \"noop\"; },"
		 " { name = \"d\"; exec = \"sleep %s\"; after = [\"c\"]; } ); };",
		 test_secs(0.3));
	write_config(dags);
	pid_t runner = spawn("run", "k", "--period", "2026-01-01");
	assert_true(wait_for(1, "SELECT count(*) FROM run_steps WHERE step = 'd' AND status = 'running'"));
	kill(runner, SIGKILL);
	waitpid(runner, NULL, 0);
	/* The runner died just after c's commit, before its attempt's end. */
	PQclear(PQexec(conn, "UPDATE step_attempts SET status = 'running', ended_at = NULL, exit_code = NULL "
			     "WHERE step = 'c'"));
	assert_int_equal(billrun("resume", "1", NULL, NULL, NULL), 0);
	assert_int_equal(q_int("SELECT count(*) FROM step_attempts WHERE step = 'c'"), 1);
	assert_int_equal(q_int("SELECT count(*) FROM step_attempts WHERE step = 'c' AND status = 'success' "
			       "AND ended_at IS NOT NULL AND message LIKE '%%done mark committed%%'"),
			 1);
	/* d really was cut short: abandoned, then redone. */
	assert_int_equal(q_int("SELECT count(*) FROM step_attempts WHERE step = 'd' AND status = 'abandoned'"), 1);
	assert_int_equal(q_int("SELECT count(*) FROM step_attempts WHERE step = 'd' AND status = 'success'"), 1);
	assert_int_equal(q_int("SELECT count(*) FROM runs WHERE status = 'success'"), 1);
}

/* A run whose step record missed an attempt its dead runner had written
 * (attempt rows and step record were not always written together):
 * the resume numbers its attempt after every existing one. */
static void a_resume_never_reuses_an_attempt_number(void **state)
{
	NEED_PG();
	write_config("k = { steps = ( { name = \"c\"; job = \"noop\"; } ); };");
	assert_int_equal(billrun("run", "k", "--period", "2026-01-01", NULL), 0);
	PQclear(PQexec(conn, "UPDATE runs SET status = 'running', ended_at = NULL WHERE id = 1"));
	PQclear(PQexec(conn, "UPDATE run_steps SET status = 'running', attempts = 0, ended_at = NULL WHERE run_id = 1"));
	PQclear(PQexec(conn, "UPDATE step_attempts SET status = 'running', ended_at = NULL, exit_code = NULL, pid = NULL "
			     "WHERE run_id = 1"));
	PQclear(PQexec(conn, "UPDATE run_steps SET status = 'pending' WHERE run_id = 1"));
	assert_int_equal(billrun("resume", "1", NULL, NULL, NULL), 0);
	assert_string_equal(test_q_text(conn, "SELECT string_agg(attempt || ':' || status, ' ' ORDER BY attempt) "
					      "FROM step_attempts WHERE run_id = 1"),
			    "1:abandoned 2:success");
}

/* A DAG whose one step, ingest, takes seconds: a spool with one file of
 * 300,000 records (of unknown accounts: quarantined, which is work too). */
static void write_slow_ingest_config(void)
{
	char extra[1024], path[600];
	snprintf(extra, sizeof(extra),
		 "runner = { kill_grace = \"500ms\"; };\n"
		 "spool = { dir = \"%s/spool\"; };\n"
		 "sources = ( { name = \"usage\"; format = \"usage-csv\"; pattern = \"*.csv\"; } );",
		 dir);
	assert_int_equal(test_write_config(conf, dir, dsn, rules, extra,
					   "i = { steps = ( { name = \"ingest\"; job = \"ingest\"; retries = 2;"
					   " retry_delay = \"100ms\"; } ); };"),
			 0);
	snprintf(path, sizeof(path), "%s/spool", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/spool/usage.csv", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("event_id,account_id,meter,timestamp,quantity\n", f);
	for (int i = 0; i < 300000; i++)
		fprintf(f, "ev-%07d,acct-%d,api_calls,2026-01-01T%02d:%02d:%02dZ,%d\n", i, i % 500, i / 12500,
			i / 209 % 60, i % 60, i % 1000);
	assert_int_equal(fclose(f), 0);
}

static pid_t ingest_attempt_pid(int attempt)
{
	return (pid_t)q_int("SELECT coalesce(pid, 0) FROM step_attempts WHERE step = 'ingest' AND attempt = %d",
			    attempt);
}

/* The pids of parent's children (from /proc), up to max. */
static int children_of(pid_t parent, pid_t *pids, int max)
{
	int n = 0;
	DIR *d = opendir("/proc");
	struct dirent *de;
	while (d && (de = readdir(d)) != NULL && n < max) {
		char path[300], line[256];
		snprintf(path, sizeof(path), "/proc/%s/status", de->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (strncmp(line, "PPid:", 5) == 0 && atoi(line + 5) == parent)
				pids[n++] = (pid_t)atoi(de->d_name);
		fclose(f);
	}
	if (d)
		closedir(d);
	return n;
}

/* The gate: a runner killed after starting a step's process but before
 * its start (with the pid a resume needs) committed leaves nothing that
 * works: the process finds the gate closed and exits 75 without running
 * the step, an exec step's shell as well as a built-in step's child. The
 * resume then runs each step once. A lock on step_attempts holds the
 * runner's start statement. */
static void a_step_whose_start_was_not_stored_never_runs(void **state)
{
	NEED_PG();
	char dags[1024];
	snprintf(dags, sizeof(dags),
		 "g = { max_parallel = 2; steps = ( { name = \"x\"; exec = \"echo x >> %s/log\"; },"
		 " { name = \"j\"; job = \"noop\"; } ); };",
		 dir);
	write_config(dags);
	/* The killed runner's orphans become this process's children. */
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	PGconn *locker = PQconnectdb(dsn);
	assert_int_equal(PQstatus(locker), CONNECTION_OK);
	test_sql(locker, "BEGIN");
	test_sql(locker, "LOCK TABLE step_attempts IN SHARE MODE");
	pid_t runner = spawn("run", "g", "--period", "2026-01-01");
	assert_true(wait_for(1, "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'step_attempts'::regclass"));
	pid_t kids[8];
	int n = 0;
	for (int tries = 0; tries < 100 && (n = children_of(runner, kids, 8)) < 2; tries++)
		usleep(50000);
	assert_int_equal(n, 2); /* both attempts started, waiting at their gates */
	usleep(200000);         /* time enough to run, were they not held */
	kill(runner, SIGKILL);
	waitpid(runner, NULL, 0);
	test_sql(locker, "ROLLBACK");
	PQfinish(locker);
	for (int k = 0; k < n; k++) {
		int status = 0;
		assert_int_equal(waitpid(kids[k], &status, 0), kids[k]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 75);
	}
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0), 0);
	/* Nothing ran: no line in the log, no done mark. */
	char path[600];
	snprintf(path, sizeof(path), "%s/log", dir);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(q_int("SELECT count(*) FROM run_steps WHERE status = 'success'"), 0);
	/* The dead runner's session still commits what it had sent, once the
	 * lock is gone: both starts, with their pids. */
	assert_true(wait_for(0, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
				"AND pid <> pg_backend_pid() AND backend_type = 'client backend'"));
	assert_int_equal(q_int("SELECT count(*) FROM step_attempts WHERE status = 'running' AND pid > 0"), 2);
	/* The resume finds them gone, records them abandoned and runs each
	 * step once. */
	assert_int_equal(billrun("run", "g", "--period", "2026-01-01", NULL), 0);
	assert_non_null(strstr(out, "resuming unfinished run 1"));
	assert_string_equal(test_q_text(conn, "SELECT string_agg(step || ':' || attempt || ':' || status, ' ' "
					      "ORDER BY step, attempt) FROM step_attempts"),
			    "j:1:abandoned j:2:success x:1:abandoned x:2:success");
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "grep -c '^x$' %s", path);
	test_sh(out, sizeof(out), cmd);
	assert_int_equal(atoi(out), 1);
}

/* Regression: the forked step kept the runner's socket open, so after
 * `kill -9` of the runner its server session (and the run's lock) lived
 * until the orphaned step ended, and the resume that should kill the
 * orphan was refused (exit 75) all that time. */
static void a_runner_killed_while_a_step_runs_releases_its_lock_at_once(void **state)
{
	NEED_PG();
	write_slow_ingest_config();
	pid_t runner = spawn("run", "i", "--period", "2026-01-01");
	assert_true(wait_for(1, "SELECT count(*) FROM step_attempts WHERE step = 'ingest' AND pid IS NOT NULL"));
	pid_t orphan = ingest_attempt_pid(1);
	usleep(300000);
	kill(runner, SIGKILL);
	waitpid(runner, NULL, 0);
	assert_int_equal(kill(orphan, 0), 0); /* the step goes on without its runner */
	/* The lock is free within moments (the server notices the closed
	 * socket), not when the step ends. */
	int rc = 75;
	for (int tries = 0; tries < 10 && rc == 75; tries++) {
		usleep(100000);
		rc = billrun("run", "i", "--period", "2026-01-01", NULL);
	}
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "resuming unfinished run 1"));
	assert_non_null(strstr(out, "of the previous runner is still running"));
	assert_int_equal(q_int("SELECT count(*) FROM step_attempts WHERE step = 'ingest' AND status = 'abandoned'"), 1);
	assert_int_equal(q_int("SELECT count(*) FROM ingest_files WHERE records_read = 300000"), 1);
}

/* The server ends the runner's session (as a restart or a failover does)
 * while an exec step runs: the runner reconnects, takes its lock again
 * and finishes the run. */
static void the_runner_reconnects_when_its_session_is_terminated(void **state)
{
	NEED_PG();
	write_config("t = { steps = ( { name = \"a\"; exec = \"sleep 1.5\"; },"
		     " { name = \"b\"; job = \"noop\"; after = [\"a\"]; } ); };");
	pid_t runner = spawn("run", "t", "--period", "2026-01-01");
	assert_true(wait_for(1, "SELECT count(*) FROM step_attempts WHERE step = 'a' AND pid IS NOT NULL"));
	assert_int_equal(q_int("SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
			       "WHERE datname = current_database() AND pid <> pg_backend_pid() "
			       "AND backend_type = 'client backend') t"),
			 1);
	int status = 0;
	waitpid(runner, &status, 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_string_equal(test_q_text(conn, "SELECT status FROM runs WHERE id = 1"), "success");
	assert_int_equal(q_int("SELECT count(*) FROM step_attempts WHERE status = 'success'"), 2);
	assert_int_equal(q_int("SELECT count(*) FROM step_attempts"), 2);
}

/* The server ends every session while a built-in step works (a restart):
 * the step's attempt fails as retryable, the runner reconnects, the retry
 * succeeds, and the file is ingested once. */
static void a_step_whose_connection_is_lost_is_retried_by_a_reconnected_runner(void **state)
{
	NEED_PG();
	write_slow_ingest_config();
	pid_t runner = spawn("run", "i", "--period", "2026-01-01");
	assert_true(wait_for(1, "SELECT count(*) FROM step_attempts WHERE step = 'ingest' AND pid IS NOT NULL"));
	usleep(300000);
	assert_true(q_int("SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
			  "WHERE datname = current_database() AND pid <> pg_backend_pid() "
			  "AND backend_type = 'client backend') t") >= 2);
	int status = 0;
	waitpid(runner, &status, 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_string_equal(test_q_text(conn, "SELECT string_agg(attempt || ':' || status, ' ' ORDER BY attempt) "
					      "FROM step_attempts WHERE step = 'ingest'"),
			    "1:retryable 2:success");
	assert_int_equal(q_int("SELECT count(*) FROM ingest_files WHERE records_read = 300000 "
			       "AND records_read = accepted + quarantined + duplicates"),
			 1);
	assert_int_equal(q_int("SELECT count(*) FROM quarantine_records"), 300000);
}

/* billrun -c conf_path ARGS... (NULL-terminated) in the background, its
 * output into log; returns its pid. */
static pid_t spawn_logged(const char *conf_path, const char *log, ...)
{
	const char *argv[16];
	const char *bin = getenv("BILLRUN_BIN");
	int n = 0;
	argv[n++] = bin ? bin : "./billrun";
	argv[n++] = "-c";
	argv[n++] = conf_path;
	va_list ap;
	va_start(ap, log);
	while (n < 15 && (argv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* The embedded cluster stopped by the operator ('billrun db stop') while
 * a run goes on: the stop holds. The runner does not start the server
 * again; it tries to reconnect for runner.reconnect_for, logs who stopped
 * what, and exits 69; the server is still down then. Once the operator
 * starts it, 'resume' completes the run. */
static void a_cluster_stopped_during_a_run_stays_stopped_and_resume_completes_the_run(void **state)
{
	NEED_PG();
	char econf[600], log[600], text[2048], edsn[1024];
	int port = 56000 + (int)(getpid() % 1000);
	/* The cluster user (when we are root) must be able to enter the folder. */
	assert_int_equal(chmod(dir, 0755), 0);
	snprintf(econf, sizeof(econf), "%s/embedded.conf", dir);
	snprintf(log, sizeof(log), "%s/runner.log", dir);
	snprintf(text, sizeof(text),
		 "state_dir = \"%s/emb\";\n"
		 "rules = { file = \"%s\"; };\n"
		 "database = { connect_retries = 0; embedded = { port = %d; }; };\n"
		 "runner = { kill_grace = \"500ms\"; reconnect_for = \"%ss\"; };\n"
		 "dags = { e = { steps = ( { name = \"a\"; exec = \"sleep %s\"; },"
		 " { name = \"b\"; job = \"noop\"; after = [\"a\"]; } ); }; };\n",
		 dir, rules, port, test_secs(3), test_secs(1));
	assert_int_equal(test_write_file(econf, text), 0);
	const char *migrate[] = { "-c", econf, "db", "migrate", NULL };
	assert_int_equal(test_billrun(out, sizeof(out), migrate), 0);
	snprintf(edsn, sizeof(edsn), "host=%s/emb/run port=%d user=billrun dbname=billrun", dir, port);
	PGconn *e = PQconnectdb(edsn);
	assert_int_equal(PQstatus(e), CONNECTION_OK);

	pid_t runner = spawn_logged(econf, log, "run", "e", "--period", "2026-01-01", NULL);
	int running = test_wait_for(e, 1, "SELECT count(*) FROM step_attempts WHERE step = 'a' AND pid IS NOT NULL");
	PQfinish(e);
	const char *stop[] = { "-c", econf, "db", "stop", NULL };
	int stopped = test_billrun(out, sizeof(out), stop);
	int status = 0;
	waitpid(runner, &status, 0);
	const char *dbstatus[] = { "-c", econf, "db", "status", NULL };
	int down = test_billrun(out, sizeof(out), dbstatus);
	int still_down = strstr(out, "server:   not running") != NULL;
	char cmd[700], runner_log[8192];
	snprintf(cmd, sizeof(cmd), "cat '%s'", log);
	test_sh(runner_log, sizeof(runner_log), cmd);
	const char *start[] = { "-c", econf, "db", "start", NULL };
	int started = test_billrun(out, sizeof(out), start);
	const char *resume[] = { "-c", econf, "resume", "1", NULL };
	int resumed = test_billrun(out, sizeof(out), resume);
	char resume_out[4096];
	snprintf(resume_out, sizeof(resume_out), "%s", out);
	e = PQconnectdb(edsn);
	const char *run_status = PQstatus(e) == CONNECTION_OK ? test_q_text(e, "SELECT status FROM runs WHERE id = 1") : "";
	char steps[256];
	snprintf(steps, sizeof(steps), "%s",
		 PQstatus(e) == CONNECTION_OK ? test_q_text(e, "SELECT string_agg(step || ':' || status, ' ' ORDER BY step) "
							   "FROM run_steps WHERE run_id = 1") : "");
	PQfinish(e);
	test_billrun(out, sizeof(out), stop);
	if (resumed != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 69 ||
	    !strstr(runner_log, "(administrator command)"))
		fprintf(stderr, "runner:\n%s\nresume:\n%s\n", runner_log, resume_out);

	assert_true(running);
	assert_int_equal(stopped, 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 69);
	/* Who stopped what; and the runner never started the server. */
	assert_non_null(strstr(runner_log, "lost the database connection: the embedded cluster in"));
	/* "shut down", or "is shutting down" if the runner noticed first. */
	assert_non_null(strstr(runner_log, "shut"));
	assert_non_null(strstr(runner_log, "down (administrator command)"));
	assert_null(strstr(runner_log, "starting the embedded PostgreSQL cluster"));
	assert_non_null(strstr(runner_log, "hint: once the database is back, 'billrun resume 1' continues the run"));
	assert_int_equal(down, 69);
	assert_true(still_down);
	assert_int_equal(started, 0);
	assert_int_equal(resumed, 0);
	assert_string_equal(run_status, "success");
	assert_string_equal(steps, "a:success b:success");
}

static void a_period_already_run_is_not_run_again(void **state)
{
	NEED_PG();
	write_config("o = { steps = ( { name = \"a\"; exec = \"true\"; } ); };");
	assert_int_equal(billrun("run", "o", "--period", "2026-01-01", NULL), 0);
	assert_int_equal(billrun("run", "o", "--period", "2026-01-01", NULL), 0);
	assert_non_null(strstr(out, "complete already"));
	assert_int_equal(q_int("SELECT count(*) FROM runs"), 1);
}

static void dry_run_prints_the_plan_and_changes_nothing(void **state)
{
	NEED_PG();
	write_config("o = { steps = ( { name = \"first\"; exec = \"true\"; },"
		     " { name = \"second\"; job = \"noop\"; after = [\"first\"]; } ); };");
	assert_int_equal(billrun("run", "o", "--period", "2026-01-01", "--dry-run"), 0);
	assert_non_null(strstr(out, "first"));
	assert_non_null(strstr(out, "second"));
	assert_int_equal(q_int("SELECT count(*) FROM runs"), 0);
	assert_int_equal(q_int("SELECT count(*) FROM rule_versions"), 0);
}

static void rerun_redoes_a_step_and_downstream_with_the_original_rules(void **state)
{
	NEED_PG();
	char dags[2048];
	snprintf(dags, sizeof(dags),
		 "r = { steps = (\n"
		 " { name = \"a\"; exec = \"echo a >> %s/log\"; },\n"
		 " { name = \"b\"; exec = \"echo b:$BILLRUN_ACCOUNT >> %s/log; cp $BILLRUN_RULES_FILE %s/rules.$BILLRUN_RUN_ID\"; after = [\"a\"]; },\n"
		 " { name = \"c\"; exec = \"echo c >> %s/log\"; after = [\"b\"]; } ); };",
		 dir, dir, dir, dir);
	write_config(dags);
	assert_int_equal(billrun("run", "r", "--period", "2026-01-01", NULL), 0);
	/* The rate card changes after the original run. */
	assert_int_equal(test_write_file(rules, "meters = ();\n# version 2\n"), 0);
	assert_int_equal(billrun("rerun", "1", "--from", "b", "--dry-run"), 0);
	assert_non_null(strstr(out, "skip"));
	assert_int_equal(q_int("SELECT count(*) FROM runs"), 1);
	assert_int_equal(billrun("rerun", "1", "--from", "b", "--account", "ACME-1"), 0);
	assert_int_equal(q_int("SELECT rerun_of FROM runs WHERE id = 2"), 1);
	assert_int_equal(q_int("SELECT count(*) FROM run_steps WHERE run_id = 2 AND step = 'a' AND status = 'skipped'"), 1);
	assert_int_equal(q_int("SELECT count(*) FROM run_steps WHERE run_id = 2 AND status = 'success' AND attempts = 1"),
			 2);
	/* The original run's rule version, not the changed file. */
	assert_int_equal(q_int("SELECT rule_version FROM runs WHERE id = 2"), q_int("SELECT rule_version FROM runs WHERE id = 1"));
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "cat %s/rules.2; grep -c . %s/log; grep -c '^b:ACME-1$' %s/log", dir, dir, dir);
	test_sh(out, sizeof(out), cmd);
	assert_non_null(strstr(out, "# version 1"));
	assert_non_null(strstr(out, "\n5\n1\n"));
	/* --rules current takes the file as it is now: a second version. */
	assert_int_equal(billrun("rerun", "1", "--from", "c", "--rules", "current"), 0);
	assert_int_equal(q_int("SELECT count(*) FROM rule_versions"), 2);
	assert_int_equal(q_int("SELECT rule_version FROM runs WHERE id = 3"), 2);
	assert_int_equal(billrun("rules", "list", NULL, NULL, NULL), 0);
	assert_non_null(strstr(out, "rates.conf"));
	assert_int_equal(billrun("rules", "show", "2", NULL, NULL), 0);
	assert_non_null(strstr(out, "# version 2"));
	assert_int_equal(billrun("rerun", "1", "--from", "nosuch", NULL), 64);
}

static void catch_up_runs_each_missed_period_in_order(void **state)
{
	NEED_PG();
	write_config("n = { steps = ( { name = \"a\"; exec = \"true\"; } ); };");
	assert_int_equal(billrun("run", "n", "--period", "2026-01-30", NULL), 0);
	assert_int_equal(billrun("run", "n", "--catch-up", "--period", "2026-02-02"), 0);
	PGresult *r = q("SELECT period_start::text FROM runs ORDER BY id");
	const char *want[] = { "2026-01-30", "2026-01-31", "2026-02-01", "2026-02-02" };
	assert_int_equal(PQntuples(r), 4);
	for (int i = 0; i < 4; i++)
		assert_string_equal(PQgetvalue(r, i, 0), want[i]);
	PQclear(r);
	assert_int_equal(q_int("SELECT count(*) FROM runs WHERE status = 'success'"), 4);
}

static void the_metrics_file_has_each_steps_duration_attempts_and_status(void **state)
{
	NEED_PG();
	write_config("m = { steps = ( { name = \"one\"; exec = \"true\"; }, { name = \"two\"; exec = \"exit 1\"; } ); };");
	assert_int_equal(billrun("run", "m", "--period", "2026-01-01", NULL), 3);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "cat %s/state/metrics/billrun_m.prom; ls %s/state/metrics", dir, dir);
	test_sh(out, sizeof(out), cmd);
	assert_non_null(strstr(out, "billrun_step_duration_seconds{dag=\"m\",step=\"one\"}"));
	assert_non_null(strstr(out, "billrun_step_attempts{dag=\"m\",step=\"two\"} 1"));
	assert_non_null(strstr(out, "billrun_step_status{dag=\"m\",step=\"two\",status=\"failed\"} 1"));
	assert_non_null(strstr(out, "billrun_run_success{dag=\"m\"} 0"));
	assert_null(strstr(out, ".tmp"));
}

static void status_and_history_print_tables_and_json(void **state)
{
	NEED_PG();
	write_config("h = { steps = ( { name = \"one\"; exec = \"true\"; } ); };");
	assert_int_equal(billrun("run", "h", "--period", "2026-01-01", NULL), 0);
	assert_int_equal(billrun("status", "1", NULL, NULL, NULL), 0);
	assert_non_null(strstr(out, "run 1: DAG h"));
	assert_non_null(strstr(out, "one"));
	const char *args[] = { "-c", conf, "--json", "history", "h", NULL };
	assert_int_equal(test_billrun(out, sizeof(out), args), 0);
	assert_non_null(strstr(out, "{\"run\":\"1\",\"dag\":\"h\""));
	assert_int_equal(billrun("status", "99", NULL, NULL, NULL), 65);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(independent_steps_run_in_parallel_up_to_max_parallel, setup, teardown),
		cmocka_unit_test_setup_teardown(a_step_starts_only_after_its_dependencies_succeed, setup, teardown),
		cmocka_unit_test_setup_teardown(retryable_failures_are_retried_and_permanent_ones_are_not, setup, teardown),
		cmocka_unit_test_setup_teardown(a_step_over_its_timeout_is_terminated_then_killed, setup, teardown),
		cmocka_unit_test_setup_teardown(exec_steps_get_the_run_facts_in_their_environment, setup, teardown),
		cmocka_unit_test_setup_teardown(a_second_runner_for_the_same_dag_and_period_exits_75_naming_the_holder, setup, teardown),
		cmocka_unit_test_setup_teardown(the_lock_message_names_a_holder_that_is_starting_up, setup, teardown),
		cmocka_unit_test_setup_teardown(two_runners_started_together_one_runs_the_other_exits_75, setup, teardown),
		cmocka_unit_test_setup_teardown(sigkill_while_a_step_runs_then_resume_redoes_only_that_step, setup, teardown),
		cmocka_unit_test_setup_teardown(sigkill_between_steps_then_resume_repeats_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(sigkill_of_the_runner_during_the_last_step_then_resume_via_resume_command, setup, teardown),
		cmocka_unit_test_setup_teardown(a_stranger_with_a_recorded_pid_is_never_signalled, setup, teardown),
		cmocka_unit_test_setup_teardown(an_attempt_whose_done_mark_committed_is_recorded_successful_on_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(a_resume_never_reuses_an_attempt_number, setup, teardown),
		cmocka_unit_test_setup_teardown(a_runner_killed_while_a_step_runs_releases_its_lock_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(a_step_whose_start_was_not_stored_never_runs, setup, teardown),
		cmocka_unit_test_setup_teardown(the_runner_reconnects_when_its_session_is_terminated, setup, teardown),
		cmocka_unit_test_setup_teardown(a_step_whose_connection_is_lost_is_retried_by_a_reconnected_runner, setup, teardown),
		cmocka_unit_test_setup_teardown(a_cluster_stopped_during_a_run_stays_stopped_and_resume_completes_the_run, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_period_already_run_is_not_run_again, setup, teardown),
		cmocka_unit_test_setup_teardown(dry_run_prints_the_plan_and_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(rerun_redoes_a_step_and_downstream_with_the_original_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(catch_up_runs_each_missed_period_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(the_metrics_file_has_each_steps_duration_attempts_and_status, setup, teardown),
		cmocka_unit_test_setup_teardown(status_and_history_print_tables_and_json, setup, teardown),
	};
	return cmocka_run_group_tests_name("runner", tests, NULL, NULL);
}
