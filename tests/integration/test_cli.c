/*
 * test_cli.c - integration tests that run the billrun binary: help, usage
 * errors and their exit statuses, check-config on good and broken files,
 * the db commands against the test server, and the embedded cluster
 * (start, status, unix socket only, migrate, stop).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "support.h"

#define OUT_MAX 65536

#define assert_contains(hay, needle) do { \
	if (!strstr((hay), (needle))) \
		fail_msg("'%s' does not contain '%s'", (hay), (needle)); \
} while (0)
#define assert_not_contains(hay, needle) do { \
	if (strstr((hay), (needle))) \
		fail_msg("'%s' contains '%s'", (hay), (needle)); \
} while (0)

static char out[OUT_MAX];

/* Run billrun with the arguments given (NULL-terminated); expect status. */
#define run_expect(status, ...) do { \
	const char *const args_[] = { __VA_ARGS__, NULL }; \
	int rc_ = test_billrun(out, sizeof(out), args_); \
	if (rc_ != (status)) \
		fail_msg("billrun exited %d, expected %d; output:\n%s", rc_, (status), out); \
} while (0)

static int group_setup(void **state)
{
	/* Run from anywhere: default to the build next to the sources. */
	if (!getenv("BILLRUN_BIN"))
		setenv("BILLRUN_BIN", test_src("build/billrun"), 1);
	if (access(getenv("BILLRUN_BIN"), X_OK) != 0) {
		fprintf(stderr, "no billrun binary at '%s'\n", getenv("BILLRUN_BIN"));
		return -1;
	}
	return 0;
}

static const char *fixture(const char *name)
{
	static char path[4][4096];
	static int next;
	char *p = path[next++ % 4];
	snprintf(p, sizeof(path[0]), "%s%s", test_src("tests/fixtures/config/"), name);
	return p;
}

/* A temporary folder with billrun.conf holding text; returns the file. */
struct tmpconf {
	char dir[256];
	char path[512];
};

static void write_conf(struct tmpconf *t, const char *text)
{
	assert_int_equal(test_tmpdir(t->dir, sizeof(t->dir)), 0);
	snprintf(t->path, sizeof(t->path), "%s/billrun.conf", t->dir);
	assert_int_equal(test_write_file(t->path, text), 0);
}

static void remove_tree(const char *dir)
{
	char cmd[600], o[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	test_sh(o, sizeof(o), cmd);
}

/* Quote s as a libconfig string. */
static void conf_string(char *buf, size_t size, const char *s)
{
	size_t n = 0;
	buf[n++] = '"';
	for (; *s && n + 3 < size; s++) {
		if (*s == '"' || *s == '\\')
			buf[n++] = '\\';
		buf[n++] = *s;
	}
	buf[n++] = '"';
	buf[n] = '\0';
}

static void need_server(void)
{
	if (!test_pg_dsn()) {
		print_message("TEST_PG_DSN is not set; skipping\n");
		skip();
	}
}

/* ---- help and usage ---- */

static void help_exits_0_and_lists_the_commands(void **state)
{
	static const char *const commands[] = { "check-config", "db", "version", "help", "run", "status" };
	run_expect(0, "--help");
	assert_contains(out, "usage: billrun [--config FILE]");
	assert_contains(out, "Exit status:");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		char want[64];
		snprintf(want, sizeof(want), "\n  %s ", commands[i]);
		assert_contains(out, want);
	}
	char first[OUT_MAX];
	memcpy(first, out, sizeof(out));
	run_expect(0, "help");
	assert_string_equal(out, first);
}

static void help_db_and_db_help_print_the_db_usage(void **state)
{
	run_expect(0, "help", "db");
	assert_contains(out, "usage: billrun db migrate [--dir DIR]");
	assert_contains(out, "billrun db status");
	char first[OUT_MAX];
	memcpy(first, out, sizeof(out));
	run_expect(0, "db", "--help");
	assert_string_equal(out, first);
	run_expect(0, "db", "migrate", "-h");
	assert_string_equal(out, first);
	run_expect(0, "check-config", "--help");
	assert_contains(out, "usage: billrun [--config FILE] check-config");
}

static void version_prints_the_version(void **state)
{
	run_expect(0, "version");
	assert_string_equal(out, "billrun " BILLRUN_VERSION "\n");
	run_expect(0, "--version");
	assert_string_equal(out, "billrun " BILLRUN_VERSION "\n");
}

static void unknown_command_exits_64(void **state)
{
	run_expect(64, "frobnicate");
	assert_contains(out, "unknown command 'frobnicate'");
	run_expect(64, "help", "frobnicate");
	assert_contains(out, "unknown command 'frobnicate'");
}

static void unknown_option_exits_64(void **state)
{
	run_expect(64, "--frobnicate", "version");
	assert_contains(out, "billrun --help");
	run_expect(64, "--log-level", "loud", "version");
	assert_contains(out, "unknown log level 'loud'");
	run_expect(64, "--config");
}

static void missing_or_unknown_subcommand_exits_64(void **state)
{
	run_expect(64, "db");
	assert_contains(out, "needs a subcommand");
	run_expect(64, "db", "frobnicate");
	assert_contains(out, "unknown subcommand 'db frobnicate'");
	run_expect(64, "check-config", "extra");
	assert_contains(out, "unexpected argument 'extra'");
}

static void no_command_exits_64_with_usage(void **state)
{
	const char *const args[] = { NULL };
	int rc = test_billrun(out, sizeof(out), args);
	assert_int_equal(rc, 64);
	assert_contains(out, "usage: billrun");
}

/* ---- check-config ---- */

static void check_config_on_each_broken_fixture_exits_78_naming_file_line_and_key(void **state)
{
	static const struct { const char *file; int line; const char *key; } broken[] = {
		{ "unknown_key.conf", 4, "log.colour" },
		{ "wrong_type.conf", 3, "database.connect_retries" },
		{ "out_of_range.conf", 3, "database.connect_retries" },
		{ "bad_duration.conf", 3, "sla.check_interval" },
		{ "bad_word.conf", 3, "log.level" },
		{ "syntax_error.conf", 3, NULL },
		{ "dag_cycle.conf", 5, "dags.nightly.steps.[0]" },
		{ "dag_unknown_dep.conf", 6, "dags.nightly.steps.[1].after" },
		{ "dag_duplicate.conf", 6, "dags.nightly.steps.[1].name" },
		{ "dag_job_and_exec.conf", 5, "dags.nightly.steps.[0]" },
		{ "dag_unknown_job.conf", 5, "dags.nightly.steps.[0].job" },
	};
	for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		const char *path = fixture(broken[i].file);
		char want[4200];
		run_expect(78, "--config", path, "check-config");
		snprintf(want, sizeof(want), "billrun: error: %s:%d: ", path, broken[i].line);
		assert_contains(out, want);
		if (broken[i].key) {
			snprintf(want, sizeof(want), "key '%s'", broken[i].key);
			assert_contains(out, want);
		}
		/* Nothing of the effective configuration is printed. */
		assert_not_contains(out, "# effective configuration");
	}
}

static void check_config_error_in_json_mode_is_one_json_line(void **state)
{
	run_expect(78, "--json", "--config", fixture("unknown_key.conf"), "check-config");
	assert_true(out[0] == '{');
	assert_contains(out, "\"level\":\"error\"");
	assert_contains(out, "key 'log.colour': unknown key");
	assert_int_equal((int)(strchr(out, '\n') - out), (int)strlen(out) - 1);
}

static void check_config_on_a_valid_file_prints_the_effective_values(void **state)
{
	const char *path = fixture("valid_minimal.conf");
	run_expect(0, "--config", path, "check-config");
	assert_contains(out, "# effective configuration from ");
	assert_contains(out, "state_dir = \"/srv/billrun\";");
	assert_contains(out, "sla.check_interval = \"90s\";");
	assert_contains(out, "# dag nightly: 2 steps, period day");
	run_expect(0, "--config", test_src("conf/demo.conf"), "check-config");
	assert_contains(out, "# dag nightly:");
}

static void check_config_on_the_documented_example_exits_0(void **state)
{
	/* Every key it documents is declared, and its DAGs name real jobs. */
	run_expect(0, "--config", test_src("conf/billrun.conf"), "check-config");
	assert_contains(out, "# effective configuration from ");
	assert_contains(out, "# dag nightly:");
}

static void check_config_masks_passwords(void **state)
{
	run_expect(0, "--config", fixture("dsn_password.conf"), "check-config");
	assert_not_contains(out, "s3cr3t");
	assert_contains(out, "password=********");
	assert_contains(out, "postgresql://app:********@db.example:5432/billrun");
}

static void check_config_with_a_missing_file_exits_78(void **state)
{
	run_expect(78, "--config", "/nonexistent/billrun.conf", "check-config");
	assert_contains(out, "could not read config file '/nonexistent/billrun.conf'");
	setenv("BILLRUN_CONFIG", "/nonexistent/env.conf", 1);
	run_expect(78, "check-config");
	unsetenv("BILLRUN_CONFIG");
	assert_contains(out, "/nonexistent/env.conf");
}

/* ---- db commands against a server given by DSN ---- */

static void db_status_on_an_unreachable_server_exits_69(void **state)
{
	struct tmpconf t;
	write_conf(&t, "database = {\n"
		       "  dsn = \"host=/nonexistent/billrun-socket port=5432 user=x dbname=x password=pw123\";\n"
		       "  connect_retries = 0;\n"
		       "};\n");
	run_expect(69, "--config", t.path, "db", "status");
	assert_contains(out, "server:   not running");
	assert_not_contains(out, "pw123");
	run_expect(69, "--config", t.path, "db", "migrate");
	assert_contains(out, "could not connect to the database");
	/* With a DSN there is no embedded cluster to start or stop. */
	run_expect(78, "--config", t.path, "db", "start");
	run_expect(78, "--config", t.path, "db", "stop");
	remove_tree(t.dir);
}

static void db_migrate_applies_once_then_nothing(void **state)
{
	char dsn[4096], quoted[4200], text[8192];
	struct tmpconf t;

	need_server();
	assert_int_equal(test_db_fresh("billrun_test_cli", dsn, sizeof(dsn)), 0);
	conf_string(quoted, sizeof(quoted), dsn);
	snprintf(text, sizeof(text), "database = { dsn = %s; connect_retries = 0; };\n", quoted);
	write_conf(&t, text);

	run_expect(0, "--config", t.path, "db", "migrate");
	assert_contains(out, "applied 001_roles.sql\n");
	assert_contains(out, "migrations applied; the schema is up to date");
	assert_not_contains(out, "\n0 migrations applied");
	run_expect(0, "--config", t.path, "db", "migrate");
	assert_contains(out, "0 migrations applied; the schema is up to date");
	assert_not_contains(out, "applied 001");
	run_expect(0, "--config", t.path, "db", "status");
	assert_contains(out, "database: external server");
	assert_contains(out, "server:   running");
	assert_contains(out, "schema:   up to date");
	remove_tree(t.dir);
}

static void db_migrate_dir_with_an_edited_applied_file_exits_65(void **state)
{
	char dsn[4096], quoted[4200], text[8192], cmd[8400], o[1024];
	struct tmpconf t;

	need_server();
	assert_int_equal(test_db_fresh("billrun_test_cli_edit", dsn, sizeof(dsn)), 0);
	conf_string(quoted, sizeof(quoted), dsn);
	snprintf(text, sizeof(text), "database = { dsn = %s; connect_retries = 0; };\n", quoted);
	write_conf(&t, text);
	snprintf(cmd, sizeof(cmd), "mkdir '%s/sql' && cp '%s'/*.sql '%s/sql/'", t.dir, test_src("sql/migrations"), t.dir);
	assert_int_equal(test_sh(o, sizeof(o), cmd), 0);
	char sqldir[512];
	snprintf(sqldir, sizeof(sqldir), "%s/sql", t.dir);

	run_expect(0, "--config", t.path, "db", "migrate", "--dir", sqldir);
	snprintf(cmd, sizeof(cmd), "echo '-- edited' >> '%s/001_roles.sql'", sqldir);
	assert_int_equal(test_sh(o, sizeof(o), cmd), 0);
	run_expect(65, "--config", t.path, "db", "migrate", "--dir", sqldir);
	assert_contains(out, "migration '001_roles.sql' was applied but its file has changed");
	assert_contains(out, "hint: ");
	run_expect(64, "--config", t.path, "db", "migrate", "--bogus");
	remove_tree(t.dir);
}

/* ---- the embedded cluster ---- */

struct embedded {
	struct tmpconf t;
	int port;
};

static int embedded_teardown(void **state)
{
	struct embedded *em = *state;
	if (!em)
		return 0;
	/* Stop it whatever happened in the test. */
	const char *const args[] = { "--config", em->t.path, "db", "stop", NULL };
	test_billrun(out, sizeof(out), args);
	remove_tree(em->t.dir);
	free(em);
	return 0;
}

static void embedded_cluster_starts_serves_a_unix_socket_only_and_stops(void **state)
{
	struct embedded *em = calloc(1, sizeof(*em));
	char text[1024], want[600], o[4096];
	*state = em;

	em->port = 55000 + (int)(getpid() % 1000);
	assert_int_equal(test_tmpdir(em->t.dir, sizeof(em->t.dir)), 0);
	/* The cluster user (when we are root) must be able to enter it. */
	assert_int_equal(chmod(em->t.dir, 0755), 0);
	snprintf(em->t.path, sizeof(em->t.path), "%s/billrun.conf", em->t.dir);
	snprintf(text, sizeof(text),
		 "state_dir = \"%s/state\";\n"
		 "database = { connect_retries = 0; embedded = { port = %d; }; };\n",
		 em->t.dir, em->port);
	assert_int_equal(test_write_file(em->t.path, text), 0);

	run_expect(69, "--config", em->t.path, "db", "status");
	assert_contains(out, "database: embedded cluster");
	assert_contains(out, "server:   not running");

	run_expect(0, "--config", em->t.path, "db", "start");
	assert_contains(out, "the embedded cluster is running");
	snprintf(want, sizeof(want), "%s/state/run/.s.PGSQL.%d", em->t.dir, em->port);
	struct stat st;
	assert_int_equal(stat(want, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));

	run_expect(0, "--config", em->t.path, "db", "status");
	assert_contains(out, "server:   running");
	assert_contains(out, "pending");

	/* Unix socket only: the server has no TCP listener. */
	run_expect(0, "--config", em->t.path, "db", "psql", "-X", "-A", "-t", "-c",
		   "SELECT '[' || current_setting('listen_addresses') || ']'");
	assert_contains(out, "[]\n");
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "ss -Hltn 'sport = :%d'", em->port);
	if (test_sh(o, sizeof(o), cmd) == 0)
		assert_string_equal(o, "");
	else
		print_message("ss not usable here; relied on listen_addresses\n");

	run_expect(0, "--config", em->t.path, "db", "migrate");
	assert_contains(out, "applied 001_roles.sql");
	run_expect(0, "--config", em->t.path, "db", "status");
	assert_contains(out, "schema:   up to date");

	/* Starting again is harmless. */
	run_expect(0, "--config", em->t.path, "db", "start");
	run_expect(0, "--config", em->t.path, "db", "migrate");
	assert_contains(out, "0 migrations applied");

	run_expect(0, "--config", em->t.path, "db", "stop");
	assert_contains(out, "the embedded cluster is stopped");
	run_expect(69, "--config", em->t.path, "db", "status");
	assert_contains(out, "server:   not running");
	/* Stopping a stopped cluster is not an error. */
	run_expect(0, "--config", em->t.path, "db", "stop");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(help_exits_0_and_lists_the_commands),
		cmocka_unit_test(help_db_and_db_help_print_the_db_usage),
		cmocka_unit_test(version_prints_the_version),
		cmocka_unit_test(unknown_command_exits_64),
		cmocka_unit_test(unknown_option_exits_64),
		cmocka_unit_test(missing_or_unknown_subcommand_exits_64),
		cmocka_unit_test(no_command_exits_64_with_usage),
		cmocka_unit_test(check_config_on_each_broken_fixture_exits_78_naming_file_line_and_key),
		cmocka_unit_test(check_config_error_in_json_mode_is_one_json_line),
		cmocka_unit_test(check_config_on_a_valid_file_prints_the_effective_values),
		cmocka_unit_test(check_config_on_the_documented_example_exits_0),
		cmocka_unit_test(check_config_masks_passwords),
		cmocka_unit_test(check_config_with_a_missing_file_exits_78),
		cmocka_unit_test(db_status_on_an_unreachable_server_exits_69),
		cmocka_unit_test(db_migrate_applies_once_then_nothing),
		cmocka_unit_test(db_migrate_dir_with_an_edited_applied_file_exits_65),
		cmocka_unit_test_teardown(embedded_cluster_starts_serves_a_unix_socket_only_and_stops,
					  embedded_teardown),
	};
	return cmocka_run_group_tests_name("cli", tests, group_setup, NULL);
}
