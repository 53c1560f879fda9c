/*
 * test_bad_input.c - the bad-input catalogue: for each kind of bad input
 * (a file, a record, a config, a command line, the database), the reason
 * or message billrun gives and its exit status; and for every input file,
 * every record accounted for (read = accepted + quarantined + duplicates).
 * The files are tests/fixtures/bad_input/, one per kind, named for it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support.h"

static char dsn[1024], dir[256], conf[512], out[65536];
static PGconn *conn;

#define billrun(...) test_billrun_conf(out, sizeof(out), conf, __VA_ARGS__, NULL)
#define q_int(...) test_q_int(conn, __VA_ARGS__)
#define q_text(...) test_q_text(conn, __VA_ARGS__)

static int setup(void **state)
{
	if (!test_pg_dsn())
		return 0;
	if (test_db_fresh("test_bad_input", dsn, sizeof(dsn)) || test_tmpdir(dir, sizeof(dir)))
		return -1;
	char text[4096], cmd[1200];
	snprintf(conf, sizeof(conf), "%s/billrun.conf", dir);
	snprintf(text, sizeof(text),
		 "state_dir = \"%s/state\";\n"
		 "database = { dsn = \"%s\"; connect_retries = 0; };\n"
		 "rules = { file = \"%s\"; };\n"
		 "spool = { dir = \"%s/spool\"; };\n"
		 "ingest = { settle_time = \"0s\"; };\n"
		 "sources = ( { name = \"usage\"; format = \"usage-csv\"; pattern = \"usage-*.csv\"; } );\n"
		 "dags = { n = { steps = ( { name = \"ingest\"; job = \"ingest\"; } ); }; };\n",
		 dir, dsn, test_src("conf/rates.conf"), dir);
	if (test_write_file(conf, text))
		return -1;
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/spool && cp %s/* %s/spool/ && rm %s/spool/README", dir,
		 test_src("tests/fixtures/bad_input"), dir, dir);
	if (test_sh(out, sizeof(out), cmd) != 0)
		return -1;
	conn = PQconnectdb(dsn);
	if (PQstatus(conn) != CONNECTION_OK || billrun("db", "migrate") != 0 ||
	    billrun("accounts", "import", test_src("conf/demo/accounts.csv")) != 0)
		return -1;
	/* One nightly ingest over the whole catalogue. */
	return billrun("run", "n", "--period", "2026-10-05") == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	if (conn)
		PQfinish(conn);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	test_sh(out, sizeof(out), cmd);
	return 0;
}

#define NEED_PG()                   \
	do {                        \
		if (!test_pg_dsn()) \
			skip();     \
	} while (0)

/* A file's counts: read, accepted, quarantined, duplicates. */
static void counts(const char *file, int read, int accepted, int quarantined, int duplicates)
{
	assert_string_equal(q_text("SELECT records_read || '=' || accepted || '+' || quarantined || '+' || duplicates "
				   "FROM ingest_files WHERE file_name = '%s'", file),
			    q_text("SELECT '%d=%d+%d+%d'", read, accepted, quarantined, duplicates));
}

/* The reason of the quarantined record at a line of a file. */
static const char *reason(const char *file, int line)
{
	return q_text("SELECT reason FROM quarantine_records WHERE file_name = '%s' AND line_no = %d", file, line);
}

static void every_file_of_the_catalogue_is_accounted_for(void **state)
{
	NEED_PG();
	assert_int_equal(q_int("SELECT count(*) FROM ingest_files"), 13);
	/* Conservation, record by record: what was stored is what was counted. */
	assert_int_equal(q_int("SELECT count(*) FROM ingest_files f WHERE f.records_read <> f.accepted + f.quarantined + f.duplicates "
			       "OR f.accepted <> (SELECT count(*) FROM usage u WHERE u.file_id = f.id) "
			       "OR f.quarantined <> (SELECT count(*) FROM quarantine_records q WHERE q.file_id = f.id)"),
			 0);
}

static void a_truncated_file_is_left_for_the_next_run(void **state)
{
	NEED_PG();
	/* No line end after its last record: nothing of it is ingested (not
	 * even the whole first record), it stays in the spool, the run went on. */
	assert_int_equal(q_int("SELECT count(*) FROM ingest_files WHERE file_name = 'usage-truncated.csv'"), 0);
	assert_int_equal(q_int("SELECT count(*) FROM usage WHERE event_key IN ('t1', 't2')"), 0);
	char path[600];
	snprintf(path, sizeof(path), "%s/spool/usage-truncated.csv", dir);
	assert_int_equal(access(path, F_OK), 0);
}

static void a_truncated_file_its_control_file_counts_is_read(void **state)
{
	NEED_PG();
	/* records 2 in its control file: the cut record is quarantined. */
	counts("usage-truncated-counted.csv", 2, 1, 1, 0);
	assert_string_equal(reason("usage-truncated-counted.csv", 3), "truncated");
	assert_string_equal(q_text("SELECT control_status FROM ingest_files WHERE file_name = 'usage-truncated-counted.csv'"),
			    "match");
}

static void a_wrong_delimiter_is_a_bad_header(void **state)
{
	NEED_PG();
	counts("usage-semicolon.csv", 1, 0, 1, 0);
	assert_string_equal(reason("usage-semicolon.csv", 2), "bad_header");
	assert_string_equal(q_text("SELECT header_problem FROM ingest_files WHERE file_name = 'usage-semicolon.csv'"),
			    "the header has no column 'event_id': it looks like a ';'-delimited file, and usage-csv files "
			    "are ','-delimited");
}

static void a_byte_order_mark_and_crlf_line_ends_are_read(void **state)
{
	NEED_PG();
	counts("usage-bom.csv", 1, 1, 0, 0);
	counts("usage-crlf.csv", 1, 1, 0, 0);
}

static void invalid_utf8_is_quarantined(void **state)
{
	NEED_PG();
	counts("usage-utf8.csv", 1, 0, 1, 0);
	assert_string_equal(reason("usage-utf8.csv", 2), "invalid_utf8");
}

static void an_over_long_field_is_quarantined(void **state)
{
	NEED_PG();
	counts("usage-longfield.csv", 1, 0, 1, 0);
	assert_string_equal(reason("usage-longfield.csv", 2), "field_too_long");
}

static void broken_quoting_is_malformed_csv(void **state)
{
	NEED_PG();
	counts("usage-quoting.csv", 1, 0, 1, 0);
	assert_string_equal(reason("usage-quoting.csv", 2), "malformed_csv");
}

static void an_empty_file_and_a_header_only_file_hold_no_records(void **state)
{
	NEED_PG();
	counts("usage-empty.csv", 0, 0, 0, 0);
	counts("usage-headeronly.csv", 0, 0, 0, 0);
}

static void a_duplicate_or_missing_column_is_a_bad_header(void **state)
{
	NEED_PG();
	counts("usage-dupcol.csv", 1, 0, 1, 0);
	assert_string_equal(reason("usage-dupcol.csv", 2), "bad_header");
	counts("usage-missingcol.csv", 1, 0, 1, 0);
	assert_string_equal(q_text("SELECT header_problem FROM ingest_files WHERE file_name = 'usage-missingcol.csv'"),
			    "the header has no column 'meter'");
}

static void bad_records_get_their_reasons_and_good_ones_are_kept(void **state)
{
	NEED_PG();
	const char *f = "usage-records.csv";
	counts(f, 12, 2, 9, 1);
	assert_string_equal(reason(f, 2), "negative_quantity");
	assert_string_equal(reason(f, 3), "bad_timestamp");          /* no zone */
	assert_string_equal(reason(f, 4), "timestamp_out_of_range");  /* before ingest.time_min */
	assert_string_equal(reason(f, 5), "unknown_account");
	assert_string_equal(reason(f, 6), "unknown_meter");
	assert_string_equal(reason(f, 7), "bad_number");
	assert_string_equal(reason(f, 11), "bad_timestamp");         /* month 13 */
	assert_string_equal(reason(f, 12), "missing_field");
	assert_string_equal(reason(f, 13), "wrong_column_count");
	/* n7 came twice: one is a duplicate of the other. */
	assert_int_equal(q_int("SELECT count(*) FROM usage WHERE event_key = 'n7'"), 1);
	/* Each quarantined record keeps its raw text. */
	assert_string_equal(q_text("SELECT raw FROM quarantine_records WHERE file_name = '%s' AND line_no = 5", f),
			    "n4,NOSUCH,sms,2026-10-05T10:00:00Z,1");
}

static void a_control_file_mismatch_is_recorded(void **state)
{
	NEED_PG();
	counts("usage-ctl.csv", 2, 2, 0, 0);
	assert_string_equal(q_text("SELECT control_status FROM ingest_files WHERE file_name = 'usage-ctl.csv'"), "mismatch");
}

static void the_same_file_again_is_skipped(void **state)
{
	NEED_PG();
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "cp %s/usage-crlf.csv %s/spool/usage-crlf-again.csv", test_src("tests/fixtures/bad_input"),
		 dir);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	assert_int_equal(billrun("run", "n", "--period", "2026-10-06"), 0);
	assert_non_null(strstr(out, "was already ingested"));
	assert_int_equal(q_int("SELECT count(*) FROM ingest_files"), 13);
}

/* Configuration, command line and database: message and exit status. */
static void bad_configs_commands_and_databases_exit_with_their_codes(void **state)
{
	NEED_PG();
	static const struct {
		const char *what, *config, *command, *message;
		int status;
	} cases[] = {
		{ "config syntax error", "log = { level = \"info\" ", "check-config", "syntax error", 78 },
		{ "unknown config key", "colour = \"blue\";", "check-config", "key 'colour': unknown key", 78 },
		{ "wrong type", "database = { connect_retries = \"five\"; };", "check-config", "must be an integer", 78 },
		{ "out of range", "database = { connect_retries = 1000; };", "check-config", "out of range", 78 },
		{ "DAG cycle",
		  "dags = { d = { steps = ( { name = \"a\"; exec = \"true\"; after = [\"b\"]; },"
		  " { name = \"b\"; exec = \"true\"; after = [\"a\"]; } ); }; };",
		  "check-config", "form a cycle", 78 },
		{ "unknown dependency", "dags = { d = { steps = ( { name = \"a\"; exec = \"true\"; after = [\"z\"]; } ); }; };",
		  "check-config", "unknown step 'z'", 78 },
		{ "unknown job", "dags = { d = { steps = ( { name = \"a\"; job = \"nosuch\"; } ); }; };", "check-config",
		  "unknown job 'nosuch'", 78 },
		{ "bad rounding word", "money = { rounding = \"bankers\"; };", "check-config", "not one of the allowed", 78 },
		{ "bad journal tax rate", "journal = { tax_by_rate = ( { rate = \"x\"; code = \"2210\"; } ); };", "check-config",
		  "key 'journal.tax_by_rate.[0].rate': 'x' is not a tax rate", 78 },
		{ "database down", "database = { dsn = \"host=/nonexistent/socket dbname=x\"; connect_retries = 0; };",
		  "db status", "not running", 69 },
	};
	char path[600];
	snprintf(path, sizeof(path), "%s/case.conf", dir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(test_write_file(path, cases[i].config), 0);
		char cmd[64];
		snprintf(cmd, sizeof(cmd), "%s", cases[i].command);
		char *sub = strchr(cmd, ' ');
		if (sub)
			*sub++ = '\0';
		int rc = test_billrun_conf(out, sizeof(out), path, cmd, sub, NULL);
		if (rc != cases[i].status || !strstr(out, cases[i].message))
			fprintf(stderr, "case '%s': exit %d, output:\n%s\n", cases[i].what, rc, out);
		assert_int_equal(rc, cases[i].status);
		assert_non_null(strstr(out, cases[i].message));
		if (cases[i].status == 78 && strcmp(cases[i].what, "config syntax error") != 0)
			assert_non_null(strstr(out, "case.conf:")); /* names the file and line */
	}
	/* A missing config file, an unknown command, a bad period, an unknown run. */
	const char *missing[] = { "-c", "/nonexistent/billrun.conf", "check-config", NULL };
	assert_int_equal(test_billrun(out, sizeof(out), missing), 78);
	assert_non_null(strstr(out, "could not read config file '/nonexistent/billrun.conf'"));
	assert_int_equal(billrun("frobnicate"), 64);
	assert_int_equal(billrun("run", "n", "--period", "2026-02-30"), 64);
	assert_non_null(strstr(out, "not a valid date"));
	assert_int_equal(billrun("status", "999"), 65);
	assert_non_null(strstr(out, "no run 999"));
}

/* A file billrun may not read: the step fails naming it (exit 3), the
 * other files are ingested, and it stays in the spool until it can be
 * read; then the next run ingests it, once. As root, billrun runs without
 * the capabilities that let root read anything. */
static void an_unreadable_file_fails_the_step_and_the_others_are_ingested(void **state)
{
	NEED_PG();
	char cmd[2048], prefix[128] = "";
	if (geteuid() == 0) {
		if (test_sh(out, sizeof(out), "setpriv --bounding-set=-dac_override,-dac_read_search true") != 0) {
			fprintf(stderr, "skipped: setpriv cannot drop root's file-access override here: %s\n", out);
			skip();
		}
		snprintf(prefix, sizeof(prefix), "setpriv --bounding-set=-dac_override,-dac_read_search ");
	}
	snprintf(cmd, sizeof(cmd),
		 "cd '%s/spool' && printf 'event_id,account_id,meter,timestamp,quantity\\nur-1,ACME-1,api_calls,"
		 "2026-10-07T10:00:00Z,5\\n' >usage-unreadable.csv && chmod 000 usage-unreadable.csv && "
		 "printf 'event_id,account_id,meter,timestamp,quantity\\nrd-1,ACME-1,api_calls,2026-10-07T11:00:00Z,7\\n' "
		 ">usage-z-readable.csv",
		 dir);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s\"$BILLRUN_BIN\" -c '%s' run n --period 2026-10-07", prefix, conf);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 3);
	assert_non_null(strstr(out, "could not open spool file"));
	assert_non_null(strstr(out, "usage-unreadable.csv': Permission denied"));
	assert_non_null(strstr(out, "1 spool files could not be read"));
	counts("usage-z-readable.csv", 1, 1, 0, 0);
	assert_int_equal(q_int("SELECT count(*) FROM ingest_files WHERE file_name = 'usage-unreadable.csv'"), 0);
	snprintf(cmd, sizeof(cmd), "test -e '%s/spool/usage-unreadable.csv'", dir);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);

	snprintf(cmd, sizeof(cmd), "chmod 644 '%s/spool/usage-unreadable.csv'", dir);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	assert_int_equal(billrun("run", "n", "--period", "2026-10-07"), 0);
	counts("usage-unreadable.csv", 1, 1, 0, 0);
	counts("usage-z-readable.csv", 1, 1, 0, 0);
	assert_int_equal(q_int("SELECT count(*) FROM usage WHERE event_key IN ('ur-1', 'rd-1')"), 2);
}

/* An output folder with no space left: the run stops with an I/O error
 * (exit 74) naming the file; with space again, the next `billrun run`
 * finishes the same run. Needs a small tmpfs (root may mount one). */
static void a_full_output_folder_is_an_io_error(void **state)
{
	NEED_PG();
	char full[600], cmd[2048], fconf[700];
	snprintf(full, sizeof(full), "%s/full", dir);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && mount -t tmpfs -o size=128k tmpfs '%s'", full, full);
	if (test_sh(out, sizeof(out), cmd) != 0) {
		fprintf(stderr, "skipped: cannot mount a small tmpfs here to fill: %s\n", out);
		skip();
	}
	snprintf(cmd, sizeof(cmd), "dd if=/dev/zero of='%s/filler' bs=4k 2>/dev/null; test ! -s /dev/null", full);
	test_sh(out, sizeof(out), cmd);
	snprintf(fconf, sizeof(fconf), "%s/full.conf", dir);
	snprintf(cmd, sizeof(cmd), "sed 's#^spool = .*#&\\noutput_dir = \"%s/out\";#' '%s' >'%s'", full, conf, fconf);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);

	int rc = test_billrun_conf(out, sizeof(out), fconf, "run", "n", "--period", "2026-10-08", NULL);
	int errno_ok = strstr(out, "No space left on device") != NULL;
	long long run = q_int("SELECT max(id) FROM runs WHERE period_start = '2026-10-08'");
	snprintf(cmd, sizeof(cmd), "rm -f '%s/filler'", full);
	test_sh(out + strlen(out), sizeof(out) - strlen(out), cmd);
	int rc2 = test_billrun_conf(out + strlen(out), sizeof(out) - strlen(out), fconf, "run", "n", "--period",
				    "2026-10-08", NULL);
	snprintf(cmd, sizeof(cmd), "umount '%s'", full);
	test_sh(cmd, sizeof(cmd), cmd);
	assert_int_equal(rc, 74);
	assert_true(errno_ok);
	assert_int_equal(rc2, 0);
	assert_string_equal(q_text("SELECT status FROM runs WHERE id = %lld", run), "success");
	assert_int_equal(q_int("SELECT count(*) FROM runs WHERE period_start = '2026-10-08'"), 1);
}

/* A wrong password: exit 77 (the database refused the login), with the
 * server's reason, and the password itself never printed. */
static void a_wrong_password_is_refused(void **state)
{
	NEED_PG();
	char role_dsn[1200], pconf[700], text[2048];
	test_sql(conn, "DO $$ BEGIN CREATE ROLE billrun_pw_test LOGIN PASSWORD 'right-horse-battery'; "
		       "EXCEPTION WHEN duplicate_object THEN NULL; END $$");
	test_sql(conn, "GRANT billrun_auditor TO billrun_pw_test");
	snprintf(pconf, sizeof(pconf), "%s/pw.conf", dir);
	const char *tries[] = { "right-horse-battery", "wrong-staple-42" };
	int rc[2];
	for (int i = 0; i < 2; i++) {
		snprintf(role_dsn, sizeof(role_dsn), "%s user=billrun_pw_test password=%s", dsn, tries[i]);
		snprintf(text, sizeof(text), "state_dir = \"%s/state\";\ndatabase = { dsn = \"%s\"; connect_retries = 2; };\n",
			 dir, role_dsn);
		assert_int_equal(test_write_file(pconf, text), 0);
		rc[i] = test_billrun_conf(out, sizeof(out), pconf, "history", NULL);
		if (i == 0)
			assert_int_equal(rc[0], 0);
	}
	if (rc[1] == 0) {
		/* A cluster of one's own (TEST_PG_DSN) may trust everyone. */
		fprintf(stderr, "skipped: the test cluster does not ask billrun_pw_test for a password\n");
		skip();
	}
	assert_int_equal(rc[1], 77);
	assert_non_null(strstr(out, "the database refused the login of database.dsn"));
	assert_non_null(strstr(out, "password authentication failed for user \"billrun_pw_test\""));
	assert_null(strstr(out, "wrong-staple-42"));
}

/* Write dir/NAME with text; its path into path. */
static void write_case(char *path, size_t size, const char *name, const char *text)
{
	snprintf(path, size, "%s/%s", dir, name);
	assert_int_equal(test_write_file(path, text), 0);
}

/* A connection string libpq cannot parse (an unterminated quote): 78 at
 * check-config and at the start of a run, naming the file, the line and
 * the key, at once (not after five retries as "database unavailable");
 * the password in it never shows. */
static void a_dsn_libpq_cannot_parse_is_78_at_check_config_and_at_start(void **state)
{
	NEED_PG();
	static const char *keys[] = { "dsn", "app_dsn" };
	char path[600], text[4096];
	for (int i = 0; i < 2; i++) {
		snprintf(text, sizeof(text),
			 "state_dir = \"%s/state\";\n"
			 "database = {\n  %s = \"host='/tmp/nowhere user=x password=sw0rdfish\";\n"
			 "  %s = \"%s\";\n  connect_retries = 5;\n};\n"
			 "dags = { n = { steps = ( { name = \"a\"; exec = \"true\"; } ); }; };\n",
			 dir, keys[i], keys[1 - i], i == 0 ? "" : dsn);
		write_case(path, sizeof(path), "dsn.conf", text);
		char want[128];
		snprintf(want, sizeof(want), "dsn.conf:3: key 'database.%s': libpq cannot parse it: unterminated quoted string",
			 keys[i]);
		const char *commands[][4] = { { "check-config", NULL }, { "run", "n", "--period", "2026-10-05" } };
		for (int k = 0; k < 2; k++) {
			int rc = test_billrun_conf(out, sizeof(out), path, commands[k][0], commands[k][1], commands[k][2],
						   commands[k][3], NULL);
			if (rc != 78 || !strstr(out, want))
				fprintf(stderr, "%s with a bad %s: exit %d:\n%s\n", commands[k][0], keys[i], rc, out);
			assert_int_equal(rc, 78);
			assert_non_null(strstr(out, want));
			assert_null(strstr(out, "could not connect"));
			assert_null(strstr(out, "sw0rdfish"));
		}
	}
}

/* An app_dsn whose role the server does not have: the login is refused,
 * exit 77, and the message and hint name database.app_dsn, the key that
 * was used, not database.dsn. */
static void an_app_dsn_role_that_does_not_exist_is_77_naming_app_dsn(void **state)
{
	NEED_PG();
	char path[600], text[4096];
	snprintf(text, sizeof(text),
		 "state_dir = \"%s/state\";\n"
		 "database = { dsn = \"%s\"; app_dsn = \"%s user=billrun_no_such_role\"; connect_retries = 2; };\n"
		 "dags = { n = { steps = ( { name = \"a\"; exec = \"true\"; } ); }; };\n",
		 dir, dsn, dsn);
	write_case(path, sizeof(path), "app.conf", text);
	int rc = test_billrun_conf(out, sizeof(out), path, "run", "n", "--period", "2026-10-05", NULL);
	if (rc != 77)
		fprintf(stderr, "exit %d:\n%s\n", rc, out);
	assert_int_equal(rc, 77);
	assert_non_null(strstr(out, "the database refused the login of database.app_dsn"));
	assert_non_null(strstr(out, "role \"billrun_no_such_role\" does not exist"));
	assert_non_null(strstr(out, "hint: the user database.app_dsn names is not a role of the server"));
	assert_null(strstr(out, "database.dsn"));
}

/* A run against a database without billrun's schema, or with no embedded
 * cluster at all: exit 78, "run 'billrun db migrate'", and nothing is
 * created: no table, no run, no folder, no cluster. */
static void a_run_without_the_schema_says_db_migrate_and_creates_nothing(void **state)
{
	NEED_PG();
	char empty[1024], path[600], text[4096], probe[700];
	assert_int_equal(test_db_fresh("test_bad_input_noschema", empty, sizeof(empty)), 0);
	snprintf(text, sizeof(text),
		 "state_dir = \"%s/noschema\";\n"
		 "database = { dsn = \"%s\"; connect_retries = 0; };\n"
		 "dags = { n = { steps = ( { name = \"a\"; exec = \"true\"; } ); }; };\n",
		 dir, empty);
	write_case(path, sizeof(path), "noschema.conf", text);
	assert_int_equal(test_billrun_conf(out, sizeof(out), path, "run", "n", "--period", "2026-10-05", NULL), 78);
	assert_non_null(strstr(out, "the database has no billrun schema"));
	assert_non_null(strstr(out, "hint: run 'billrun db migrate'"));
	PGconn *c = PQconnectdb(empty);
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	assert_int_equal(test_q_int(c, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), 0);
	PQfinish(c);
	snprintf(probe, sizeof(probe), "%s/noschema", dir);
	assert_int_equal(access(probe, F_OK), -1);

	/* No database.dsn and no embedded cluster yet: none is created. */
	snprintf(text, sizeof(text),
		 "state_dir = \"%s/nocluster\";\n"
		 "database = { connect_retries = 0; embedded = { port = 55999; }; };\n"
		 "dags = { n = { steps = ( { name = \"a\"; exec = \"true\"; } ); }; };\n",
		 dir);
	write_case(path, sizeof(path), "nocluster.conf", text);
	assert_int_equal(test_billrun_conf(out, sizeof(out), path, "run", "n", "--period", "2026-10-05", NULL), 78);
	assert_non_null(strstr(out, "there is no embedded cluster in"));
	assert_non_null(strstr(out, "hint: run 'billrun db migrate'"));
	assert_null(strstr(out, "creating the embedded PostgreSQL cluster"));
	snprintf(probe, sizeof(probe), "%s/nocluster", dir);
	assert_int_equal(access(probe, F_OK), -1);
	/* Nor by any other command that reads the database. */
	assert_int_equal(test_billrun_conf(out, sizeof(out), path, "history", NULL), 78);
	assert_int_equal(access(probe, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_file_of_the_catalogue_is_accounted_for),
		cmocka_unit_test(a_truncated_file_is_left_for_the_next_run),
		cmocka_unit_test(a_truncated_file_its_control_file_counts_is_read),
		cmocka_unit_test(a_wrong_delimiter_is_a_bad_header),
		cmocka_unit_test(a_byte_order_mark_and_crlf_line_ends_are_read),
		cmocka_unit_test(invalid_utf8_is_quarantined),
		cmocka_unit_test(an_over_long_field_is_quarantined),
		cmocka_unit_test(broken_quoting_is_malformed_csv),
		cmocka_unit_test(an_empty_file_and_a_header_only_file_hold_no_records),
		cmocka_unit_test(a_duplicate_or_missing_column_is_a_bad_header),
		cmocka_unit_test(bad_records_get_their_reasons_and_good_ones_are_kept),
		cmocka_unit_test(a_control_file_mismatch_is_recorded),
		cmocka_unit_test(the_same_file_again_is_skipped),
		cmocka_unit_test(bad_configs_commands_and_databases_exit_with_their_codes),
		cmocka_unit_test(an_unreadable_file_fails_the_step_and_the_others_are_ingested),
		cmocka_unit_test(a_full_output_folder_is_an_io_error),
		cmocka_unit_test(a_wrong_password_is_refused),
		cmocka_unit_test(a_dsn_libpq_cannot_parse_is_78_at_check_config_and_at_start),
		cmocka_unit_test(an_app_dsn_role_that_does_not_exist_is_77_naming_app_dsn),
		cmocka_unit_test(a_run_without_the_schema_says_db_migrate_and_creates_nothing),
	};
	return cmocka_run_group_tests_name("bad_input", tests, setup, teardown);
}
