/*
 * test_sla.c - SLA deadlines through the billrun binary with short
 * deadlines: a miss during a step, a step finishing late, a predicted miss
 * raised before its deadline, one alert across a resume, a dead runner's
 * miss found by the next invocation, failing alert commands, and the
 * wall-clock deadline across a DST change.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support.h"

static char dsn[1024], dir[256], conf[512], rules[512], alerts[512];
static PGconn *conn;
static int counter;
static char out[65536];

#define billrun(...) test_billrun_conf(out, sizeof(out), conf, __VA_ARGS__, NULL)
#define q_int(...) test_q_int(conn, __VA_ARGS__)
#define NEED_PG()                       \
	do {                            \
		if (!test_pg_dsn())     \
			skip();         \
	} while (0)

/* Config with an alert command that appends one line per alert. */
static void write_config(const char *interval, const char *alert_cmd, const char *dags)
{
	char extra[1024];
	snprintf(extra, sizeof(extra),
		 "runner = { kill_grace = \"500ms\"; };\n"
		 "sla = { check_interval = \"%s\"; alert_command = \"%s\"; history_runs = 5; percentile = 90; };",
		 interval, alert_cmd);
	assert_int_equal(test_write_config(conf, dir, dsn, rules, extra, dags), 0);
}

static char default_alert[600];

static int setup(void **state)
{
	if (!test_pg_dsn())
		return 0;
	char name[64];
	snprintf(name, sizeof(name), "test_sla_%d", ++counter);
	if (test_db_fresh(name, dsn, sizeof(dsn)) || test_tmpdir(dir, sizeof(dir)))
		return -1;
	snprintf(conf, sizeof(conf), "%s/billrun.conf", dir);
	snprintf(rules, sizeof(rules), "%s/rates.conf", dir);
	snprintf(alerts, sizeof(alerts), "%s/alerts", dir);
	snprintf(default_alert, sizeof(default_alert),
		 "echo $BILLRUN_SLA_KIND:$BILLRUN_STEP:$BILLRUN_RUN_ID >> %s", alerts);
	test_write_file(rules, "meters = ();\n");
	conn = PQconnectdb(dsn);
	if (PQstatus(conn) != CONNECTION_OK)
		return -1;
	write_config("100ms", default_alert, "x = { steps = ( { name = \"a\"; exec = \"true\"; } ); };");
	return billrun("db", "migrate") == 0 ? 0 : -1;
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

static int alert_lines(const char *pattern)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "grep -c '%s' %s 2>/dev/null || true", pattern, alerts);
	test_sh(out, sizeof(out), cmd);
	return atoi(out);
}

static void a_miss_is_raised_while_the_step_is_still_running(void **state)
{
	NEED_PG();
	write_config("100ms", default_alert,
		     "s = { steps = ( { name = \"slow\"; exec = \"sleep 1.5\"; sla = \"300ms\"; } ); };");
	assert_int_equal(billrun("run", "s", "--period", "2026-01-01"), 0);
	assert_int_equal(q_int("SELECT count(*) FROM sla_events WHERE step = 'slow' AND kind = 'miss' "
			       "AND finished_at IS NULL"),
			 1);
	/* Raised during the step, long before it ended. */
	assert_int_equal(q_int("SELECT count(*) FROM sla_events e, run_steps s WHERE s.step = 'slow' "
			       "AND e.raised_at < s.ended_at - interval '500 ms'"),
			 1);
	assert_int_equal(alert_lines("^miss:slow:1$"), 1);
	assert_int_equal(q_int("SELECT count(*) FROM sla_events WHERE alerted_at IS NOT NULL"), 1);
}

static void a_step_that_finishes_after_its_deadline_is_a_miss(void **state)
{
	NEED_PG();
	/* Checks are rare, so the miss is found when the step ends. The
	 * deadline must not pass before the runner is done starting the step
	 * (slower under valgrind): both durations follow TEST_TIME_SCALE. */
	char dags[256];
	snprintf(dags, sizeof(dags),
		 "s = { steps = ( { name = \"late\"; exec = \"sleep %s\"; sla = \"%dms\"; } ); };",
		 test_secs(0.6), (int)(200 * test_time_scale()));
	write_config("1h", default_alert, dags);
	assert_int_equal(billrun("run", "s", "--period", "2026-01-01"), 0);
	assert_int_equal(q_int("SELECT count(*) FROM sla_events WHERE step = 'late' AND kind = 'miss' "
			       "AND finished_at > deadline"),
			 1);
	assert_int_equal(alert_lines("^miss:late:"), 1);
	/* A step that meets its deadline raises nothing. */
	write_config("1h", default_alert, "t = { steps = ( { name = \"quick\"; exec = \"true\"; sla = \"30s\"; } ); };");
	assert_int_equal(billrun("run", "t", "--period", "2026-01-01"), 0);
	assert_int_equal(q_int("SELECT count(*) FROM sla_events WHERE step = 'quick'"), 0);
}

static void a_predicted_miss_is_raised_before_the_deadline_from_history(void **state)
{
	NEED_PG();
	const char *dag = "p = { sla = \"1500ms\"; steps = ( { name = \"one\"; exec = \"sleep 0.6\"; },"
			  " { name = \"two\"; exec = \"sleep 0.6\"; after = [\"one\"]; } ); };";
	write_config("100ms", default_alert, dag);
	/* With too little history nothing is predicted, and sla show says so. */
	assert_int_equal(billrun("run", "p", "--period", "2026-01-01"), 0);
	assert_int_equal(billrun("sla", "show", "1"), 0);
	assert_non_null(strstr(out, "too little history"));
	assert_int_equal(billrun("run", "p", "--period", "2026-01-02"), 0);
	assert_int_equal(billrun("run", "p", "--period", "2026-01-03"), 0);
	assert_int_equal(q_int("SELECT count(*) FROM sla_events WHERE kind = 'predicted_miss'"), 0);
	/* Now the history says one + two take 1.2 s; a run whose first step
	 * is slower is projected past 1.5 s while there is still time. */
	write_config("100ms", default_alert,
		     "p = { sla = \"1500ms\"; steps = ( { name = \"one\"; exec = \"sleep 1.2\"; },"
		     " { name = \"two\"; exec = \"sleep 0.6\"; after = [\"one\"]; } ); };");
	assert_int_equal(billrun("run", "p", "--period", "2026-01-04"), 0);
	assert_int_equal(q_int("SELECT count(*) FROM sla_events WHERE kind = 'predicted_miss' AND step = '' "
			       "AND period_start = '2026-01-04' AND raised_at < deadline AND projected_at > deadline"),
			 1);
	assert_int_equal(alert_lines("^predicted_miss::4$"), 1);
	assert_int_equal(billrun("sla", "show", "4"), 0);
	assert_non_null(strstr(out, "expected"));
	assert_non_null(strstr(out, "predicted_miss"));
}

static void one_alert_across_a_resume(void **state)
{
	NEED_PG();
	write_config("100ms", default_alert,
		     "r = { steps = ( { name = \"slow\"; exec = \"sleep 2\"; sla = \"200ms\"; },"
		     " { name = \"next\"; exec = \"true\"; after = [\"slow\"]; } ); };");
	pid_t runner = test_spawn_billrun(conf, "run", "r", "--period", "2026-01-01", NULL);
	assert_true(test_wait_for(conn, 1, "SELECT count(*) FROM sla_events WHERE alerted_at IS NOT NULL"));
	kill(runner, SIGKILL);
	waitpid(runner, NULL, 0);
	assert_int_equal(billrun("resume", "1"), 0);
	assert_int_equal(q_int("SELECT count(*) FROM sla_events"), 1);
	assert_int_equal(alert_lines("^miss:slow:1$"), 1);
	/* A rerun of the same period does not raise it again either. */
	assert_int_equal(billrun("rerun", "1", "--from", "slow"), 0);
	assert_int_equal(q_int("SELECT count(*) FROM sla_events"), 1);
	assert_int_equal(alert_lines("^miss:"), 1);
}

static void a_dead_runners_miss_is_found_by_the_next_invocation(void **state)
{
	NEED_PG();
	/* The runner itself would check only hourly. */
	write_config("1h", default_alert, "d = { steps = ( { name = \"long\"; exec = \"sleep 5\"; sla = \"500ms\"; } ); };");
	pid_t runner = test_spawn_billrun(conf, "run", "d", "--period", "2026-01-01", NULL);
	assert_true(test_wait_for(conn, 1, "SELECT count(*) FROM run_steps WHERE status = 'running'"));
	kill(runner, SIGKILL);
	waitpid(runner, NULL, 0);
	usleep(800000);
	assert_int_equal(q_int("SELECT count(*) FROM sla_events"), 0);
	assert_int_equal(billrun("sla", "check"), 0);
	assert_non_null(strstr(out, "checked 1 unfinished run"));
	assert_int_equal(q_int("SELECT count(*) FROM sla_events WHERE kind = 'miss' AND step = 'long' "
			       "AND raised_by = 'dead-runner check' AND finished_at IS NULL"),
			 1);
	assert_int_equal(alert_lines("^miss:long:1$"), 1);
	/* Checking again raises nothing new. */
	assert_int_equal(billrun("sla", "check"), 0);
	assert_int_equal(alert_lines("^miss:"), 1);
	/* `status` checks too, harmlessly. */
	assert_int_equal(billrun("status", "1"), 0);
	assert_int_equal(q_int("SELECT count(*) FROM sla_events"), 1);
	/* The orphaned attempt of the killed runner: stop it. */
	long long orphan = q_int("SELECT pid FROM step_attempts WHERE step = 'long'");
	if (orphan > 0)
		kill(-(pid_t)orphan, SIGKILL);
}

static void a_failing_alert_command_is_retried_and_never_fails_the_run(void **state)
{
	NEED_PG();
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "echo tried >> %s; exit 1", alerts);
	write_config("100ms", cmd, "f = { steps = ( { name = \"slow\"; exec = \"sleep 1\"; sla = \"100ms\"; } ); };");
	assert_int_equal(billrun("run", "f", "--period", "2026-01-01"), 0);
	assert_non_null(strstr(out, "will be tried again"));
	assert_int_equal(q_int("SELECT count(*) FROM sla_events WHERE alerted_at IS NULL AND alert_attempts >= 2 "
			       "AND alert_error = 'the alert command exited 1'"),
			 1);
	assert_true(alert_lines("^tried$") >= 2);
}

static void a_wall_clock_deadline_uses_the_zone_across_a_dst_change(void **state)
{
	NEED_PG();
	/* Period 2026-03-28 ends on 2026-03-29, the night Berlin moves to
	 * summer time (01:00 UTC). Scheduled start 02:00 UTC that day; the first
	 * 06:00 in Berlin after it is 06:00 CEST = 04:00 UTC. */
	setenv("TZ", "UTC", 1);
	write_config("1h", default_alert,
		     "w = { schedule = \"*-*-* 02:00:00\"; sla = \"06:00 Europe/Berlin\"; steps = ( { name = \"a\"; exec = \"true\"; "
		     "sla = \"01:30 Europe/Berlin\"; } ); };");
	assert_int_equal(billrun("run", "w", "--period", "2026-03-28"), 0);
	assert_int_equal(q_int("SELECT count(*) FROM sla_deadlines WHERE step = '' "
			       "AND deadline = '2026-03-29 04:00:00+00'"),
			 1);
	/* 01:30 Berlin on the 29th is 00:30 UTC, before the scheduled start:
	 * the first one after it is 01:30 CEST on the 30th = 23:30 UTC on the 29th. */
	assert_int_equal(q_int("SELECT count(*) FROM sla_deadlines WHERE step = 'a' "
			       "AND deadline = '2026-03-29 23:30:00+00'"),
			 1);
	/* A zone that does not exist is a config error naming the key. */
	write_config("1h", default_alert, "w = { sla = \"06:00 Mars/Olympus\"; steps = ( { name = \"a\"; exec = \"true\"; } ); };");
	assert_int_equal(billrun("check-config"), 78);
	assert_non_null(strstr(out, "dags.w.sla"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(a_miss_is_raised_while_the_step_is_still_running, setup, teardown),
		cmocka_unit_test_setup_teardown(a_step_that_finishes_after_its_deadline_is_a_miss, setup, teardown),
		cmocka_unit_test_setup_teardown(a_predicted_miss_is_raised_before_the_deadline_from_history, setup, teardown),
		cmocka_unit_test_setup_teardown(one_alert_across_a_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(a_dead_runners_miss_is_found_by_the_next_invocation, setup, teardown),
		cmocka_unit_test_setup_teardown(a_failing_alert_command_is_retried_and_never_fails_the_run, setup, teardown),
		cmocka_unit_test_setup_teardown(a_wall_clock_deadline_uses_the_zone_across_a_dst_change, setup, teardown),
	};
	return cmocka_run_group_tests_name("sla", tests, NULL, NULL);
}
