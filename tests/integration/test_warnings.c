/*
 * test_warnings.c - problems that do not fail a run speak up (issue 19):
 * a file refused for its header (a ';'- or tab-delimited file), a file
 * that does not match its control file, a hold and a drift warning each
 * give a WARN line naming the file or the account, are listed by `billrun
 * status`, are in the run report and are counted in the metrics file
 * (billrun_run_warnings), and the run still exits 0. Each test drives the
 * nightly DAG through the real runner (`billrun run`) in the reconcile
 * tests' world (reconcile_env.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "reconcile_env.h"

static int setup(void **state)
{
	return env_setup("test_warnings");
}

static int teardown(void **state)
{
	return env_teardown();
}

static char run_log[65536];

/* `billrun run nightly` for 2026-03-10; keeps its log in run_log and
 * returns its exit status. */
static int run_night(void)
{
	int rc = billrun("run", "nightly", "--period", "2026-03-10");
	snprintf(run_log, sizeof(run_log), "%s", env_out);
	return rc;
}

/* Is there a WARN line in text that holds needle? */
static int has_warn_line(const char *text, const char *needle)
{
	for (const char *p = text; (p = strstr(p, needle)); p++) {
		const char *start = p, *end = strchr(p, '\n');
		while (start > text && start[-1] != '\n')
			start--;
		if (!end)
			end = p + strlen(p);
		const char *w = strstr(start, " WARN ");
		if (w && w < end)
			return 1;
	}
	return 0;
}

#define assert_warn_line(text, needle)                                              \
	do {                                                                        \
		if (!has_warn_line(text, needle)) {                                 \
			fprintf(stderr, "no WARN line with \"%s\" in:\n%s\n", needle, text); \
			fail();                                                     \
		}                                                                   \
	} while (0)

#define assert_contains(text, needle)                                               \
	do {                                                                        \
		if (!strstr(text, needle)) {                                        \
			fprintf(stderr, "\"%s\" not in:\n%s\n", needle, text);      \
			fail();                                                     \
		}                                                                   \
	} while (0)

static const char *read_file(const char *path)
{
	static char text[262144];
	text[0] = '\0';
	FILE *f = fopen(path, "r");
	if (!f)
		return text;
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

static const char *metrics_file(void)
{
	char path[700];
	snprintf(path, sizeof(path), "%s/state/metrics/billrun_nightly.prom", env_dir);
	return read_file(path);
}

static const char *run_report(void)
{
	char path[1200];
	snprintf(path, sizeof(path), "%s/run-report.html", q_text("SELECT output_dir FROM runs WHERE dag = 'nightly' "
								    "ORDER BY id DESC LIMIT 1"));
	return read_file(path);
}

/* The metrics line of one kind, with the count the database holds. */
static void assert_metric(const char *kind, long long n)
{
	char line[160];
	snprintf(line, sizeof(line), "billrun_run_warnings{dag=\"nightly\",kind=\"%s\"} %lld\n", kind, n);
	assert_contains(metrics_file(), line);
}

static void a_file_refused_for_its_header_speaks_up(void **state)
{
	NEED_PG();
	spool_put("usage-semicolon.csv");
	spool_put("usage-tab.csv");
	spool_put("usage-ok.csv");
	assert_int_equal(run_night(), 0);

	assert_warn_line(run_log, "ingest: file 'usage-semicolon.csv' refused for its header: the header has no "
				  "column 'event_id': it looks like a ';'-delimited file");
	assert_warn_line(run_log, "ingest: file 'usage-tab.csv' refused for its header: the header has no column "
				  "'event_id': it looks like a tab-delimited file");
	/* The records are quarantined as before; the run still succeeded. */
	assert_int_equal(q_int("SELECT count(*) FROM quarantine_records WHERE reason = 'bad_header' AND "
			       "file_name IN ('usage-semicolon.csv', 'usage-tab.csv')"), 3);
	assert_string_equal(q_text("SELECT status FROM runs WHERE dag = 'nightly'"), "success");

	assert_int_equal(billrun("status"), 0);
	assert_contains(env_out, "warnings: 2 ");
	assert_contains(env_out, "file 'usage-semicolon.csv' refused for its header: the header has no column "
				 "'event_id': it looks like a ';'-delimited file");
	assert_contains(env_out, "file 'usage-tab.csv' refused for its header");
	assert_int_equal(billrun("--json", "status"), 0);
	assert_contains(env_out, "{\"warning\":\"bad_header\",\"file\":\"usage-semicolon.csv\",");

	assert_contains(metrics_file(), "# HELP billrun_run_warnings ");
	assert_contains(metrics_file(), "# TYPE billrun_run_warnings gauge\n");
	assert_metric("bad_header", 2);
	assert_metric("control_mismatch", 0);
	assert_metric("hold", 0);
	assert_metric("drift", 0);

	const char *html = run_report();
	assert_contains(html, "<h2>Warnings</h2>");
	assert_contains(html, "file <code>usage-semicolon.csv</code>");
	assert_contains(html, "it looks like a &#39;;&#39;-delimited file");
}

static void a_control_mismatch_and_holds_speak_up(void **state)
{
	NEED_PG();
	spool_put("usage-ctl-mismatch.csv"); /* says 4 records and 200 calls: 3 and 180 were read */
	spool_put("usage-bad-records.csv");  /* br-2: alpha, not a number */
	assert_int_equal(run_night(), 0);

	assert_warn_line(run_log, "ingest: file 'usage-ctl-mismatch.csv' does not match its control file");
	assert_warn_line(run_log, "quarantine: account 'alpha' held for the period from 2026-03-01: bad_record: 1 "
				  "record quarantined (bad_number)");
	assert_warn_line(run_log, "quarantine: account 'beta' held for the period from 2026-03-01: control_records:");
	assert_string_equal(q_text("SELECT status FROM runs WHERE dag = 'nightly'"), "success");

	long long holds = q_int("SELECT count(*) FROM account_holds");
	assert_true(holds >= 3); /* alpha bad_record, control_records and control_quantity of both accounts */
	assert_int_equal(billrun("status"), 0);
	assert_contains(env_out, "file 'usage-ctl-mismatch.csv' does not match its control file: ");
	assert_contains(env_out, "account 'alpha' held for the period from 2026-03-01: bad_record: ");
	assert_contains(env_out, "account 'beta' held for the period from 2026-03-01: control_records: ");
	char line[64];
	snprintf(line, sizeof(line), "warnings: %lld ", holds + 1);
	assert_contains(env_out, line);

	assert_metric("control_mismatch", 1);
	assert_metric("hold", holds);
	assert_metric("bad_header", 0);

	const char *html = run_report();
	assert_contains(html, "file <code>usage-ctl-mismatch.csv</code>");
	assert_contains(html, "account <code>alpha</code></td><td>2026-03-01</td><td><code>bad_record</code>");
}

static void a_drift_warning_speaks_up(void **state)
{
	NEED_PG();
	drift_history("alpha", 10, 9); /* 9..11 calls a night */
	sql("UPDATE runs SET status = 'success', ended_at = now() WHERE dag = 'nightly'");
	spool_put("usage-ok.csv");     /* alpha: 150 tonight */
	assert_int_equal(run_night(), 0);

	assert_warn_line(run_log, "reconcile: drift warning: account 'alpha' meter 'calls': 150 tonight");
	long long run = q_int("SELECT max(id) FROM runs WHERE dag = 'nightly'");
	assert_string_equal(q_text("SELECT status FROM runs WHERE id = %lld", run), "success");
	assert_int_equal(q_int("SELECT count(*) FROM account_holds WHERE run_id = %lld", run), 0);

	assert_int_equal(billrun("status"), 0);
	assert_contains(env_out, "warnings: 1 ");
	assert_contains(env_out, "account 'alpha' drift warning: account 'alpha' meter 'calls': 150 tonight");

	assert_metric("drift", 1);
	assert_metric("hold", 0);
	assert_contains(run_report(), "account <code>alpha</code></td><td></td><td><code>drift</code>");
}

static void a_clean_run_has_no_warnings(void **state)
{
	NEED_PG();
	spool_put("usage-ok.csv");
	assert_int_equal(run_night(), 0);
	assert_null(strstr(run_log, " WARN "));
	assert_int_equal(billrun("status"), 0);
	assert_contains(env_out, "warnings: none\n");
	assert_metric("bad_header", 0);
	assert_metric("control_mismatch", 0);
	assert_metric("control_invalid", 0);
	assert_metric("hold", 0);
	assert_metric("drift", 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(a_file_refused_for_its_header_speaks_up, setup, teardown),
		cmocka_unit_test_setup_teardown(a_control_mismatch_and_holds_speak_up, setup, teardown),
		cmocka_unit_test_setup_teardown(a_drift_warning_speaks_up, setup, teardown),
		cmocka_unit_test_setup_teardown(a_clean_run_has_no_warnings, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
