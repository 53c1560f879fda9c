/*
 * test_schema_change.c - a file whose header differs from the last
 * accepted file of its source (issue 20, item 2) is a schema change, named
 * column by column: with schema_change = accept (the default) the file is
 * read, its added columns ignored and recorded; with refuse every record
 * of it is quarantined as schema_change and the next file is compared with
 * the last accepted one still. Either way it is a WARN line, a warning in
 * `billrun status`, the run report and the metrics file, and the run
 * succeeds. The nightly DAG runs through the real runner (`billrun run`) in
 * the reconcile tests' world (reconcile_env.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "reconcile_env.h"

/* Two sources: usage (schema_change left at its default) and strict
 * (refuse); `bad` adds a setting to strict. */
static int config_sources(const char *strict_extra)
{
	char extra[2048];
	snprintf(extra, sizeof(extra),
		 "output_dir = \"%s\";\n"
		 "spool = { dir = \"%s\"; };\n"
		 "sources = (\n"
		 "  { name = \"usage\"; format = \"usage-csv\"; pattern = \"usage-*.csv\"; },\n"
		 "  { name = \"strict\"; format = \"usage-csv\"; pattern = \"strict-*.csv\";\n"
		 "    %s }\n"
		 ");\n",
		 env_outdir, env_spool, strict_extra);
	return test_write_config(env_conf, env_dir, env_dsn, env_rules, extra, ENV_DAGS);
}

static int setup(void **state)
{
	if (env_setup("test_schema_change"))
		return -1;
	return test_pg_dsn() ? config_sources("schema_change = \"refuse\";") : 0;
}

static int teardown(void **state)
{
	(void)spool_put; /* the fixtures' helper: these tests write their files */
	return env_teardown();
}

static char run_log[65536];

static int run_night(void)
{
	int rc = billrun("run", "nightly", "--period", "2026-03-10");
	snprintf(run_log, sizeof(run_log), "%s", env_out);
	return rc;
}

static void put(const char *name, const char *text)
{
	char path[700];
	snprintf(path, sizeof(path), "%s/%s", env_spool, name);
	assert_int_equal(test_write_file(path, text), 0);
}

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

#define assert_warn_line(text, needle)                                                       \
	do {                                                                                 \
		if (!has_warn_line(text, needle)) {                                          \
			fprintf(stderr, "no WARN line with \"%s\" in:\n%s\n", needle, text); \
			fail();                                                              \
		}                                                                            \
	} while (0)

#define assert_contains(text, needle)                                          \
	do {                                                                   \
		if (!strstr(text, needle)) {                                   \
			fprintf(stderr, "\"%s\" not in:\n%s\n", needle, text); \
			fail();                                                \
		}                                                              \
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

static void assert_metric(const char *kind, long long n)
{
	char path[700], line[160];
	snprintf(path, sizeof(path), "%s/state/metrics/billrun_nightly.prom", env_dir);
	snprintf(line, sizeof(line), "billrun_run_warnings{dag=\"nightly\",kind=\"%s\"} %lld\n", kind, n);
	assert_contains(read_file(path), line);
}

static const char *run_report(void)
{
	char path[1200];
	snprintf(path, sizeof(path), "%s/run-report.html",
		 q_text("SELECT output_dir FROM runs WHERE dag = 'nightly' ORDER BY id DESC LIMIT 1"));
	return read_file(path);
}

#define HEADER "event_id,account_id,meter,timestamp,quantity"

static void an_added_column_is_accepted_ignored_and_recorded(void **state)
{
	NEED_PG();
	put("usage-1.csv", HEADER "\nsc-1,alpha,calls,2026-03-10T10:00:00Z,10\n");
	put("usage-2.csv", HEADER ",region\nsc-2,alpha,calls,2026-03-10T11:00:00Z,20,eu\n"
			   "sc-3,beta,calls,2026-03-10T12:00:00Z,30,us\n");
	put("usage-3.csv", HEADER ",region\nsc-4,beta,calls,2026-03-10T13:00:00Z,40,eu\n");
	assert_int_equal(run_night(), 0);

	assert_warn_line(run_log, "ingest: file 'usage-2.csv' has a schema change: its header differs from that of "
				  "'usage-1.csv', the last accepted file of source 'usage': added 'region'; accepted "
				  "(schema_change = accept), the added columns ignored: [\"region\"]");
	/* The first file of the source is compared with nothing, the third
	 * with the second: no change. */
	assert_int_equal(q_int("SELECT count(*) FROM ingest_files WHERE schema_change IS NOT NULL"), 1);
	assert_string_equal(q_text("SELECT schema_action || ' ' || schema_change || ' ' || schema_ignored::text || ' ' || "
				   "header::text FROM ingest_files WHERE file_name = 'usage-2.csv'"),
			    "accepted added 'region' [\"region\"] [\"event_id\", \"account_id\", \"meter\", "
			    "\"timestamp\", \"quantity\", \"region\"]");
	/* Read and billed; the added column is not an attribute, from the
	 * next file on it is. */
	assert_int_equal(q_int("SELECT accepted FROM ingest_files WHERE file_name = 'usage-2.csv'"), 2);
	assert_int_equal(q_int("SELECT count(*) FROM usage WHERE event_key IN ('sc-2', 'sc-3') AND attributes IS NULL"),
			 2);
	assert_string_equal(q_text("SELECT attributes->>'region' FROM usage WHERE event_key = 'sc-4'"), "eu");
	assert_string_equal(q_text("SELECT status FROM runs WHERE dag = 'nightly'"), "success");

	assert_int_equal(billrun("status"), 0);
	assert_contains(env_out, "warnings: 1 ");
	assert_contains(env_out, "file 'usage-2.csv' has a schema change (accepted): added 'region'");
	assert_int_equal(billrun("--json", "status"), 0);
	assert_contains(env_out, "{\"warning\":\"schema_change\",\"file\":\"usage-2.csv\",");
	assert_metric("schema_change", 1);
	assert_metric("bad_header", 0);
	const char *html = run_report();
	assert_contains(html, "<code>schema_change</code> 1");
	assert_contains(html, "file <code>usage-2.csv</code>");
	assert_contains(html, "added &#39;region&#39;");
}

static void a_refused_change_quarantines_the_whole_file(void **state)
{
	NEED_PG();
	put("strict-1.csv", HEADER ",region\nst-1,alpha,calls,2026-03-10T10:00:00Z,10,eu\n");
	/* region renamed to zone, account_id moved before event_id */
	put("strict-2.csv", "account_id,event_id,meter,timestamp,quantity,zone\n"
			    "alpha,st-2,calls,2026-03-10T11:00:00Z,20,eu\nbeta,st-3,calls,2026-03-10T12:00:00Z,30,us\n");
	/* compared with strict-1 (strict-2 was refused): the same header */
	put("strict-3.csv", HEADER ",region\nst-4,beta,calls,2026-03-10T13:00:00Z,40,eu\n");
	assert_int_equal(run_night(), 0);

	assert_warn_line(run_log, "ingest: file 'strict-2.csv' refused for a schema change: its header differs from "
				  "that of 'strict-1.csv', the last accepted file of source 'strict': renamed 'region' "
				  "to 'zone'; moved 'account_id'; its 2 records are quarantined as schema_change, none is "
				  "billed (schema_change = refuse)");
	assert_int_equal(q_int("SELECT accepted FROM ingest_files WHERE file_name = 'strict-2.csv'"), 0);
	assert_int_equal(q_int("SELECT quarantined FROM ingest_files WHERE file_name = 'strict-2.csv'"), 2);
	assert_string_equal(q_text("SELECT string_agg(DISTINCT reason || ': ' || message, ' | ') FROM quarantine_records "
				   "WHERE file_name = 'strict-2.csv'"),
			    "schema_change: the header differs from that of 'strict-1.csv', the last accepted file of "
			    "source 'strict': renamed 'region' to 'zone'; moved 'account_id' (schema_change = refuse)");
	assert_int_equal(q_int("SELECT count(*) FROM usage WHERE event_key IN ('st-2', 'st-3')"), 0);
	assert_string_equal(q_text("SELECT coalesce(schema_action, 'none') FROM ingest_files WHERE file_name = "
				   "'strict-3.csv'"), "none");
	assert_int_equal(q_int("SELECT count(*) FROM usage WHERE event_key IN ('st-1', 'st-4')"), 2);
	assert_string_equal(q_text("SELECT status FROM runs WHERE dag = 'nightly'"), "success");

	assert_int_equal(billrun("status"), 0);
	assert_contains(env_out, "file 'strict-2.csv' has a schema change (refused): renamed 'region' to 'zone'; "
				 "moved 'account_id'");
	assert_metric("schema_change", 1);
	assert_contains(run_report(), "<code>schema_refused</code>");
}

static void a_bad_setting_is_named(void **state)
{
	NEED_PG();
	assert_int_equal(config_sources("schema_change = \"maybe\";"), 0);
	put("strict-1.csv", HEADER "\nbs-1,alpha,calls,2026-03-10T10:00:00Z,10\n");
	assert_int_not_equal(run_night(), 0);
	assert_contains(run_log, "billrun.conf:");
	assert_contains(run_log, "source 'strict': schema_change 'maybe' is neither accept nor refuse");
	assert_int_equal(q_int("SELECT count(*) FROM ingest_files"), 0);
	assert_int_equal(config_sources("schema_change = \"refuse\";"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(an_added_column_is_accepted_ignored_and_recorded, setup, teardown),
		cmocka_unit_test_setup_teardown(a_refused_change_quarantines_the_whole_file, setup, teardown),
		cmocka_unit_test_setup_teardown(a_bad_setting_is_named, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
