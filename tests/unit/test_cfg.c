/*
 * test_cfg.c - unit tests for the configuration (core/cfg.c): defaults,
 * values from a file, every kind of error naming file, line and key (the
 * fixtures in tests/fixtures/config), durations, and masking of secrets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cfg.h"
#include "err.h"
#include "support.h"

#define DEFAULT_CONFIG "/etc/billrun/billrun.conf"

#define assert_contains(hay, needle) do { \
	if (!strstr((hay), (needle))) \
		fail_msg("'%s' does not contain '%s'", (hay), (needle)); \
} while (0)
#define assert_not_contains(hay, needle) do { \
	if (strstr((hay), (needle))) \
		fail_msg("'%s' contains '%s'", (hay), (needle)); \
} while (0)

static const char *fixture(const char *name)
{
	static char path[4096];
	snprintf(path, sizeof(path), "%s", test_src("tests/fixtures/config/"));
	strncat(path, name, sizeof(path) - strlen(path) - 1);
	return path;
}

/* The number of the first line of path containing needle (the fixtures
 * are read rather than their line numbers copied, so a comment added to a
 * fixture does not break the test). */
static int line_of(const char *path, const char *needle)
{
	char line[1024];
	int n = 0;
	FILE *f = fopen(path, "r");
	if (!f)
		fail_msg("cannot open '%s'", path);
	while (fgets(line, sizeof(line), f)) {
		n++;
		if (strstr(line, needle)) {
			fclose(f);
			return n;
		}
	}
	fclose(f);
	fail_msg("'%s' is not in '%s'", needle, path);
	return -1;
}

/* Load a fixture that must fail; check the error names file, line, key. */
static void assert_fixture_error(const char *name, const char *line_needle, const char *key,
				 const char *what)
{
	struct config cfg;
	struct err e;
	char want[4200];
	const char *path = fixture(name);

	err_clear(&e);
	assert_int_equal(cfg_load(&cfg, path, 1, &e), -1);
	cfg_release(&cfg);
	assert_int_equal(e.kind, ERR_CONFIG);
	snprintf(want, sizeof(want), "%s:%d:", path, line_of(path, line_needle));
	assert_contains(e.message, want);
	if (key) {
		snprintf(want, sizeof(want), "key '%s'", key);
		assert_contains(e.message, want);
	}
	assert_contains(e.message, what);
}

/* Write text into a fresh temporary file; returns its path. */
static const char *temp_config(const char *text)
{
	static char path[4200];
	char dir[256];
	assert_int_equal(test_tmpdir(dir, sizeof(dir)), 0);
	snprintf(path, sizeof(path), "%s/billrun.conf", dir);
	assert_int_equal(test_write_file(path, text), 0);
	return path;
}

static void remove_temp_config(const char *path)
{
	char dir[4200];
	snprintf(dir, sizeof(dir), "%s", path);
	unlink(path);
	*strrchr(dir, '/') = '\0';
	rmdir(dir);
}

/* Load text that must fail with a message containing each needle. */
static void assert_text_error(const char *text, const char *n1, const char *n2)
{
	struct config cfg;
	struct err e;
	const char *path = temp_config(text);

	err_clear(&e);
	int rc = cfg_load(&cfg, path, 1, &e);
	cfg_release(&cfg);
	remove_temp_config(path);
	assert_int_equal(rc, -1);
	assert_int_equal(e.kind, ERR_CONFIG);
	assert_contains(e.message, n1);
	if (n2)
		assert_contains(e.message, n2);
}

static void assert_defaults(const struct config *cfg)
{
	assert_string_equal(cfg->state_dir, "/var/lib/billrun");
	assert_string_equal(cfg->output_dir, "");
	assert_string_equal(cfg->log_level, "info");
	assert_int_equal(cfg->log_json, 0);
	assert_string_equal(cfg->db_dsn, "");
	assert_string_equal(cfg->db_app_dsn, "");
	assert_int_equal(cfg->db_connect_retries, 5);
	assert_string_equal(cfg->db_embedded_user, "postgres");
	assert_int_equal(cfg->db_embedded_port, 5432);
	assert_string_equal(cfg->db_pg_bindir, "");
	assert_string_equal(cfg->rules_file, "/etc/billrun/rates.conf");
	assert_string_equal(cfg->spool_dir, "/var/spool/billrun");
	assert_int_equal(cfg->spool_keep_in_place, 0);
	assert_int_equal(cfg->ingest_max_field, 4096);
	assert_int_equal(cfg->ingest_settle_ms, 5000);
	assert_string_equal(cfg->money_rounding, "half_up");
	assert_int_equal(cfg->sla_check_interval_ms, 2000);
	assert_int_equal(cfg->sla_history_runs, 20);
	assert_int_equal(cfg->sla_percentile, 90);
	assert_int_equal(cfg->kill_grace_ms, 10000);
}

/* ---- defaults and where the file comes from ---- */

static void no_file_means_all_defaults_when_not_required(void **state)
{
	struct config cfg;
	struct err e;

	if (access(DEFAULT_CONFIG, F_OK) == 0) {
		print_message("%s exists on this machine; cannot test the no-file case\n", DEFAULT_CONFIG);
		skip();
	}
	unsetenv("BILLRUN_CONFIG");
	err_clear(&e);
	assert_int_equal(cfg_load(&cfg, NULL, 0, &e), 0);
	assert_string_equal(cfg.path, "");
	assert_defaults(&cfg);
	cfg_release(&cfg);
}

static void no_file_is_an_error_when_required(void **state)
{
	struct config cfg;
	struct err e;

	if (access(DEFAULT_CONFIG, F_OK) == 0)
		skip();
	unsetenv("BILLRUN_CONFIG");
	err_clear(&e);
	assert_int_equal(cfg_load(&cfg, NULL, 1, &e), -1);
	cfg_release(&cfg);
	assert_int_equal(e.kind, ERR_CONFIG);
	assert_contains(e.message, DEFAULT_CONFIG);
}

static void empty_file_gives_every_default(void **state)
{
	struct config cfg;
	struct err e;
	const char *path = temp_config("# nothing set\n");

	err_clear(&e);
	assert_int_equal(cfg_load(&cfg, path, 1, &e), 0);
	assert_string_equal(cfg.path, path);
	assert_defaults(&cfg);
	cfg_release(&cfg);
	remove_temp_config(path);
}

static void explicit_missing_file_is_a_config_error_naming_it(void **state)
{
	struct config cfg;
	struct err e;

	err_clear(&e);
	/* must_exist 0 does not excuse a file the operator named. */
	assert_int_equal(cfg_load(&cfg, "/nonexistent/billrun-test.conf", 0, &e), -1);
	cfg_release(&cfg);
	assert_int_equal(e.kind, ERR_CONFIG);
	assert_int_equal(err_exit_status(e.kind), 78);
	assert_contains(e.message, "'/nonexistent/billrun-test.conf'");
	assert_contains(e.message, "No such file or directory");
	assert_true(e.hint[0] != '\0');
}

static void billrun_config_environment_names_the_file(void **state)
{
	struct config cfg;
	struct err e;

	setenv("BILLRUN_CONFIG", fixture("valid_minimal.conf"), 1);
	err_clear(&e);
	int rc = cfg_load(&cfg, NULL, 0, &e);
	assert_int_equal(rc, 0);
	assert_string_equal(cfg.state_dir, "/srv/billrun");
	cfg_release(&cfg);

	setenv("BILLRUN_CONFIG", "/nonexistent/from-env.conf", 1);
	rc = cfg_load(&cfg, NULL, 0, &e);
	cfg_release(&cfg);
	unsetenv("BILLRUN_CONFIG");
	assert_int_equal(rc, -1);
	assert_int_equal(e.kind, ERR_CONFIG);
	assert_contains(e.message, "/nonexistent/from-env.conf");
}

static void values_from_the_file_override_defaults(void **state)
{
	struct config cfg;
	struct err e;

	err_clear(&e);
	assert_int_equal(cfg_load(&cfg, fixture("valid_minimal.conf"), 1, &e), 0);
	assert_string_equal(cfg.state_dir, "/srv/billrun");
	assert_string_equal(cfg.log_level, "debug");
	assert_int_equal(cfg.log_json, 1);
	assert_int_equal(cfg.db_connect_retries, 0);
	assert_int_equal(cfg.sla_check_interval_ms, 90000);
	assert_int_equal(cfg.kill_grace_ms, 3000); /* a bare integer is seconds */
	assert_int_equal(cfg.sla_percentile, 90);   /* not in the file */
	cfg_release(&cfg);
}

static void derived_folders_default_under_state_dir(void **state)
{
	struct config cfg;
	struct err e;
	char buf[4200];
	const char *path = temp_config("state_dir = \"/s\";\nmetrics = { dir = \"/m\"; };\n");

	assert_int_equal(cfg_load(&cfg, path, 1, &e), 0);
	cfg_output_dir(&cfg, buf, sizeof(buf));
	assert_string_equal(buf, "/s/output");
	cfg_metrics_dir(&cfg, buf, sizeof(buf));
	assert_string_equal(buf, "/m");
	cfg_release(&cfg);
	remove_temp_config(path);
}

/* ---- every fixture error names the file, the line and the key ---- */

static void unknown_key_names_file_line_and_key(void **state)
{
	assert_fixture_error("unknown_key.conf", "colour", "log.colour", "unknown key");
}

static void wrong_type_names_file_line_and_key(void **state)
{
	assert_fixture_error("wrong_type.conf", "connect_retries", "database.connect_retries",
			     "must be an integer");
}

static void out_of_range_names_file_line_and_key(void **state)
{
	assert_fixture_error("out_of_range.conf", "connect_retries", "database.connect_retries",
			     "1000 is out of range (0 to 100)");
}

static void bad_duration_names_file_line_and_key(void **state)
{
	assert_fixture_error("bad_duration.conf", "check_interval", "sla.check_interval",
			     "'5 minutes' is not a duration");
}

static void value_outside_allowed_words_names_file_line_and_key(void **state)
{
	assert_fixture_error("bad_word.conf", "loud", "log.level", "'loud' is not one of the allowed values");
}

static void syntax_error_names_file_and_line(void **state)
{
	/* The parser stops before it knows a key; file and line must do. */
	assert_fixture_error("syntax_error.conf", "output_dir", NULL, "syntax error");
}

static void unknown_key_inside_a_dag_step_is_an_error(void **state)
{
	assert_text_error("dags = { nightly = { steps = (\n"
			  "  { name = \"a\"; exec = \"true\"; retry = 3; }\n"
			  "); }; };\n",
			  ":2: key 'dags.nightly.steps.[0].retry'", "unknown key");
}

static void dag_settings_are_type_and_range_checked(void **state)
{
	assert_text_error("dags = { nightly = {\n  max_parallel = 0;\n  steps = ( { name = \"a\"; exec = \"true\"; } );\n}; };\n",
			  ":2: key 'dags.nightly.max_parallel'", "out of range (1 to 256)");
	assert_text_error("dags = { nightly = { steps = (\n  { name = \"a\"; exec = \"true\"; after = [1, 2]; }\n); }; };\n",
			  "key 'dags.nightly.steps.[0].after'", "must be an array of strings");
	assert_text_error("dags = { nightly = { steps = (\n  { name = \"a\"; exec = \"true\"; timeout = \"soon\"; }\n); }; };\n",
			  "key 'dags.nightly.steps.[0].timeout'", "is not a duration");
}

static void negative_and_float_values_are_rejected(void **state)
{
	assert_text_error("database = { connect_retries = -1; };\n", "key 'database.connect_retries'",
			  "out of range");
	assert_text_error("database = { connect_retries = 2.5; };\n", "key 'database.connect_retries'",
			  "must be an integer");
	assert_text_error("log = { json = \"yes\"; };\n", "key 'log.json'", "must be a boolean");
	assert_text_error("log = \"info\";\n", "key 'log'", "must be a group");
	assert_text_error("colour = true;\n", ":1: key 'colour'", "unknown key");
}

static void duration_below_its_minimum_is_rejected(void **state)
{
	assert_text_error("sla = { check_interval = \"50ms\"; };\n", "key 'sla.check_interval'", "out of range");
	assert_text_error("runner = { kill_grace = -5; };\n", "key 'runner.kill_grace'", "out of range");
	assert_text_error("ingest = { settle_time = \"2h\"; };\n", "key 'ingest.settle_time'", "out of range");
	assert_text_error("ingest = { settle_time = \"soon\"; };\n", "key 'ingest.settle_time'", "");
}

/* ---- durations ---- */

static void duration_accepts_units_and_combinations(void **state)
{
	static const struct { const char *text; int64_t ms; } ok[] = {
		{ "90s", 90000 }, { "45m", 2700000 }, { "1h30m", 5400000 }, { "250ms", 250 },
		{ "2d", 172800000 }, { "1h1m1s1ms", 3661001 }, { "0", 0 }, { "30", 30000 },
		{ "0s", 0 }, { "1m30s", 90000 }, { "3600", 3600000 },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int64_t ms = -1;
		if (cfg_parse_duration(ok[i].text, &ms) != 0)
			fail_msg("'%s' should parse", ok[i].text);
		if (ms != ok[i].ms)
			fail_msg("'%s' gave %lld ms, want %lld", ok[i].text, (long long)ms, (long long)ok[i].ms);
	}
}

static void duration_rejects_junk(void **state)
{
	static const char *const bad[] = {
		"", " ", "s", "ms", "-5s", "5 s", "5x", "1.5h", "5s ", "1m30", "h1", "five",
		"99999999999999999999", "9999999999999999d", "5ss", "+5s",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t ms = 12345;
		if (cfg_parse_duration(bad[i], &ms) != -1)
			fail_msg("'%s' should be rejected", bad[i]);
		if (ms != 12345)
			fail_msg("'%s' changed the output on failure", bad[i]);
	}
}

/* ---- secrets ---- */

static void mask(const char *dsn, char *buf, size_t size)
{
	cfg_mask_dsn(dsn, buf, size);
}

static void mask_dsn_hides_a_keyword_password(void **state)
{
	char buf[512];
	mask("host=db user=u password=hunter2 dbname=b", buf, sizeof(buf));
	assert_string_equal(buf, "host=db user=u password=******** dbname=b");
	mask("password=hunter2", buf, sizeof(buf));
	assert_string_equal(buf, "password=********");
}

static void mask_dsn_hides_a_quoted_password_with_spaces(void **state)
{
	char buf[512];
	mask("host=db password='hunter 2 \\' x' dbname=b", buf, sizeof(buf));
	assert_string_equal(buf, "host=db password=******** dbname=b");
}

static void mask_dsn_hides_a_password_with_spaces_around_equals(void **state)
{
	/* libpq allows spaces around '=' in keyword/value strings. */
	char buf[512];
	mask("host=db password = hunter2 dbname=b", buf, sizeof(buf));
	assert_not_contains(buf, "hunter2");
	assert_contains(buf, "dbname=b");
	assert_contains(buf, "host=db");
}

static void mask_dsn_hides_every_password_keyword(void **state)
{
	/* libpq uses the last one; neither may show. */
	char buf[512];
	mask("password=first host=db password=second", buf, sizeof(buf));
	assert_not_contains(buf, "first");
	assert_not_contains(buf, "second");
	assert_contains(buf, "host=db");
}

static void mask_dsn_hides_a_uri_password(void **state)
{
	char buf[512];
	mask("postgresql://app:hunter2@db.example:5432/billrun", buf, sizeof(buf));
	assert_string_equal(buf, "postgresql://app:********@db.example:5432/billrun");
	mask("postgres://app:hunter2@db/b?sslmode=require", buf, sizeof(buf));
	assert_string_equal(buf, "postgres://app:********@db/b?sslmode=require");
}

static void mask_dsn_hides_a_uri_query_password(void **state)
{
	char buf[512];
	mask("postgresql://app@db/billrun?sslmode=require&password=hunter2&connect_timeout=5", buf, sizeof(buf));
	assert_not_contains(buf, "hunter2");
	assert_contains(buf, "postgresql://app@db/billrun?sslmode=require&password=");
	assert_contains(buf, "&connect_timeout=5");
	mask("postgresql://app:one@db/b?password=two", buf, sizeof(buf));
	assert_string_equal(buf, "postgresql://app:********@db/b?password=********");
}

static void mask_dsn_leaves_a_dsn_without_password_alone(void **state)
{
	char buf[512];
	static const char *const plain[] = {
		"host=/tmp/pg port=5432 user=postgres dbname=x",
		"postgresql://app@db.example:5432/billrun",
		"postgresql://db.example:5432/billrun",
		"host=db passfile=/etc/pgpass",
		"",
	};
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		mask(plain[i], buf, sizeof(buf));
		assert_string_equal(buf, plain[i]);
	}
}

static void mask_dsn_truncates_to_the_buffer(void **state)
{
	char buf[16];
	mask("host=db user=u password=hunter2 dbname=b", buf, sizeof(buf));
	assert_int_equal(strlen(buf), sizeof(buf) - 1);
	assert_not_contains(buf, "hunter2");
}

static void print_masks_passwords_in_both_dsn_keys(void **state)
{
	struct config cfg;
	struct err e;
	char *out = NULL;
	size_t len = 0;

	assert_int_equal(cfg_load(&cfg, fixture("dsn_password.conf"), 1, &e), 0);
	/* The loaded values themselves are not masked: billrun must use them. */
	assert_contains(cfg.db_dsn, "s3cr3t-pw");
	FILE *f = open_memstream(&out, &len);
	cfg_print(&cfg, f);
	fclose(f);
	cfg_release(&cfg);
	assert_not_contains(out, "s3cr3t");
	assert_contains(out, "database.dsn = \"host=db.example user=billrun password=******** dbname=billrun\"");
	assert_contains(out, "database.app_dsn = \"postgresql://app:********@db.example:5432/billrun\"");
	free(out);
}

static void print_lists_every_key_with_its_origin(void **state)
{
	struct config cfg;
	struct err e;
	char *out = NULL;
	size_t len = 0;
	char want[4300];
	const char *path = fixture("valid_minimal.conf");

	assert_int_equal(cfg_load(&cfg, path, 1, &e), 0);
	FILE *f = open_memstream(&out, &len);
	cfg_print(&cfg, f);
	fclose(f);
	cfg_release(&cfg);
	snprintf(want, sizeof(want), "state_dir = \"/srv/billrun\";   # %s:%d\n", path,
		 line_of(path, "state_dir"));
	assert_contains(out, want);
	assert_contains(out, "sla.check_interval = \"90s\";");
	assert_contains(out, "runner.kill_grace = \"3s\";");
	assert_contains(out, "database.connect_retries = 0;");
	assert_contains(out, "sla.percentile = 90;   # default\n");
	assert_contains(out, "money.rounding = \"half_up\";   # default\n");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(no_file_means_all_defaults_when_not_required),
		cmocka_unit_test(no_file_is_an_error_when_required),
		cmocka_unit_test(empty_file_gives_every_default),
		cmocka_unit_test(explicit_missing_file_is_a_config_error_naming_it),
		cmocka_unit_test(billrun_config_environment_names_the_file),
		cmocka_unit_test(values_from_the_file_override_defaults),
		cmocka_unit_test(derived_folders_default_under_state_dir),
		cmocka_unit_test(unknown_key_names_file_line_and_key),
		cmocka_unit_test(wrong_type_names_file_line_and_key),
		cmocka_unit_test(out_of_range_names_file_line_and_key),
		cmocka_unit_test(bad_duration_names_file_line_and_key),
		cmocka_unit_test(value_outside_allowed_words_names_file_line_and_key),
		cmocka_unit_test(syntax_error_names_file_and_line),
		cmocka_unit_test(unknown_key_inside_a_dag_step_is_an_error),
		cmocka_unit_test(dag_settings_are_type_and_range_checked),
		cmocka_unit_test(negative_and_float_values_are_rejected),
		cmocka_unit_test(duration_below_its_minimum_is_rejected),
		cmocka_unit_test(duration_accepts_units_and_combinations),
		cmocka_unit_test(duration_rejects_junk),
		cmocka_unit_test(mask_dsn_hides_a_keyword_password),
		cmocka_unit_test(mask_dsn_hides_a_quoted_password_with_spaces),
		cmocka_unit_test(mask_dsn_hides_a_password_with_spaces_around_equals),
		cmocka_unit_test(mask_dsn_hides_every_password_keyword),
		cmocka_unit_test(mask_dsn_hides_a_uri_password),
		cmocka_unit_test(mask_dsn_hides_a_uri_query_password),
		cmocka_unit_test(mask_dsn_leaves_a_dsn_without_password_alone),
		cmocka_unit_test(mask_dsn_truncates_to_the_buffer),
		cmocka_unit_test(print_masks_passwords_in_both_dsn_keys),
		cmocka_unit_test(print_lists_every_key_with_its_origin),
	};
	return cmocka_run_group_tests_name("cfg", tests, NULL, NULL);
}
