/*
 * test_lineage.c - every run writes its OpenLineage events (issue 20,
 * item 4; core/LINEAGE.md), through the billrun binary on a month-end
 * close like the demo's (its rate card and accounts, a month of usage,
 * ingest to invoices, chargeback, XBRL and the archive):
 *   (a) every event of the run is valid against the OpenLineage JSON
 *       schema and the schemas of its facets (tests/lineage/validate.py,
 *       with the schema files kept there), and each step has a START and
 *       a COMPLETE, framed by the run's own; the ingested file is an input
 *       with its SHA-256, the tables, the invoice documents (with the
 *       SHA-256 invoice_files holds), the XBRL files and the archive are
 *       outputs; `billrun lineage RUN` prints the file, and composing the
 *       events again from the database gives the same bytes;
 *   (b) a failing step has a FAIL event, and so has its run;
 *   (c) a rerun's events name the run it reruns as their parent;
 *   (e) a runner killed while a step runs leaves no file (the events so
 *       far come from the database), and the resume writes every event
 *       once: the killed attempt's START and FAIL (abandoned), the redone
 *       one's START and COMPLETE;
 *   (d) the validator refuses a broken event (tests/lineage/
 *       broken-events.jsonl), and fails, not passes, without jsonschema.
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
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lineage.h"
#include "support.h"

static char dsn[1024], dir[256], conf[512], rules[512];
static PGconn *conn;
static char out[1 << 20];
static int counter;

#define NEED_PG()                   \
	do {                        \
		if (!test_pg_dsn()) \
			skip();     \
	} while (0)
#define q_int(...) test_q_int(conn, __VA_ARGS__)
#define q_text(...) test_q_text(conn, __VA_ARGS__)

static const char *const dags =
	"month_end = { period = \"month\"; max_parallel = 2; steps = (\n"
	"  { name = \"ingest\"; job = \"ingest\"; retries = 2; retry_delay = \"100ms\"; },\n"
	"  { name = \"aggregate\"; job = \"aggregate\"; after = [\"ingest\"]; retries = 3; retry_delay = \"100ms\"; },\n"
	"  { name = \"rate\"; job = \"rate\"; after = [\"aggregate\"]; retries = 3; retry_delay = \"100ms\"; },\n"
	"  { name = \"reconcile\"; job = \"reconcile\"; after = [\"rate\"]; },\n"
	"  { name = \"quarantine\"; job = \"quarantine\"; after = [\"reconcile\"]; },\n"
	"  { name = \"invoice\"; job = \"invoice\"; after = [\"quarantine\"]; },\n"
	"  { name = \"chargeback\"; job = \"chargeback\"; after = [\"invoice\"]; },\n"
	"  { name = \"xbrl\"; job = \"xbrl\"; after = [\"invoice\"]; },\n"
	"  { name = \"archive\"; job = \"archive\"; after = [\"xbrl\", \"chargeback\"]; trigger = \"all_done\"; }\n"
	"); };\n"
	"checks = { period = \"day\"; steps = (\n"
	"  { name = \"fine\"; exec = \"true\"; },\n"
	"  { name = \"broken\"; exec = \"echo no >&2; exit 1\"; after = [\"fine\"]; }\n"
	"); };\n"
	"slow = { period = \"day\"; steps = (\n"
	"  { name = \"a\"; exec = \"true\"; },\n"
	"  { name = \"b\"; exec = \"sleep 2\"; after = [\"a\"]; },\n"
	"  { name = \"c\"; exec = \"true\"; after = [\"b\"]; }\n"
	"); };\n";

static const char *const month_end_steps[] = { "ingest", "aggregate", "rate", "reconcile", "quarantine", "invoice",
						"chargeback", "xbrl", "archive", NULL };

static int billrun_args(const char *first, ...)
{
	const char *args[16] = { "-c", conf, first };
	int n = 3;
	va_list ap;
	va_start(ap, first);
	while (n < 15 && (args[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	args[n] = NULL;
	return test_billrun(out, sizeof(out), args);
}
#define billrun(...) billrun_args(__VA_ARGS__, NULL)

static int setup(void **state)
{
	if (!test_pg_dsn())
		return 0;
	char name[64], extra[2048], cmd[1024];
	snprintf(name, sizeof(name), "test_lineage_%d", ++counter);
	if (test_db_fresh(name, dsn, sizeof(dsn)) || test_tmpdir(dir, sizeof(dir)))
		return -1;
	chmod(dir, 0755);
	snprintf(conf, sizeof(conf), "%s/billrun.conf", dir);
	snprintf(rules, sizeof(rules), "%s", test_src("conf/rates.conf"));
	snprintf(extra, sizeof(extra),
		 "spool = { dir = \"%s/spool\"; };\n"
		 "sources = ( { name = \"usage\"; format = \"usage-csv\"; pattern = \"usage-*.csv\"; } );\n"
		 "archive = { dir = \"%s/archive\"; };\n"
		 "runner = { kill_grace = \"500ms\"; };\n"
		 "invoice = { seller = { name = \"Demo Billing Services GmbH\"; address = [\"Musterstrasse 1\", "
		 "\"10115 Berlin\"]; vat_id = \"DE000000000\"; email = \"billing@demo.example\"; payment = \"IBAN DE00 "
		 "0000 0000 0000 0000 00\"; }; };\n",
		 dir, dir);
	if (test_write_config(conf, dir, dsn, rules, extra, dags))
		return -1;
	conn = PQconnectdb(dsn);
	if (PQstatus(conn) != CONNECTION_OK)
		return -1;
	PQclear(PQexec(conn, "SET client_min_messages = warning"));
	if (billrun("db", "migrate") || billrun("accounts", "import", test_src("conf/demo/accounts.csv")) ||
	    billrun("subscriptions", "import", test_src("conf/demo/subscriptions.csv")) ||
	    billrun("fx", "import", test_src("conf/demo/fx.csv"))) {
		fprintf(stderr, "%s", out);
		return -1;
	}
	/* A month of usage for the demo's accounts, as tools/demo.sh makes it (smaller). */
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p '%s/spool' && awk 'BEGIN { n = 0; print \"event_id,account_id,meter,timestamp,quantity\"; "
		 "split(\"ACME-1 voice_seconds,BOLT-2 sms,CORV-3 api_calls,DUNE-4 voice_seconds,EMBR-5 storage_gb\", a, \",\"); "
		 "for (d = 1; d <= 28; d += 3) for (i = 1; i <= 5; i++) { split(a[i], f, \" \"); "
		 "printf \"ev-%%04d,%%s,%%s,2026-01-%%02dT10:00:00Z,%%d\\n\", ++n, f[1], f[2], d, 10 + d * i } }' "
		 "> '%s/spool/usage-2026-01.csv'",
		 dir, dir);
	return test_sh(out, sizeof(out), cmd);
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

/* ---- the events ---- */

static char *events[512];
static int nevents;

static void events_free(void)
{
	for (int i = 0; i < nevents; i++)
		free(events[i]);
	nevents = 0;
}

/* Split text into lines (the events), kept in events[]. */
static void events_load(const char *text)
{
	events_free();
	for (const char *p = text; *p && nevents < 512;) {
		const char *end = strchr(p, '\n');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		events[nevents++] = strndup(p, n);
		p += n + (end ? 1 : 0);
	}
}

/* The number of events whose text holds every needle given (NULL-ended). */
static int count_with(const char *first, ...)
{
	int n = 0;
	for (int i = 0; i < nevents; i++) {
		va_list ap;
		va_start(ap, first);
		int all = 1;
		for (const char *s = first; s; s = va_arg(ap, const char *))
			if (!strstr(events[i], s))
				all = 0;
		va_end(ap);
		n += all;
	}
	return n;
}
#define count_with(...) count_with(__VA_ARGS__, NULL)

static const char *read_text(const char *path)
{
	static char text[1 << 20];
	text[0] = '\0';
	FILE *f = fopen(path, "r");
	if (!f)
		return text;
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

static const char *lineage_path(long long run)
{
	static char path[1200];
	snprintf(path, sizeof(path), "%s/%s", q_text("SELECT output_dir FROM runs WHERE id = %lld", run), LINEAGE_FILE);
	return path;
}

/* validate.py on path: its exit status, its output in out. */
static int validate(const char *python, const char *path)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "%s '%s' '%s' 2>&1", python, test_src("tests/lineage/validate.py"), path);
	return test_sh(out, sizeof(out), cmd);
}

/* Valid for the python3 of PATH, and for Debian's (python3-jsonschema,
 * tools/deps.sh) when that is another. */
static void must_validate(const char *path)
{
	if (validate("python3", path) != 0)
		fail_msg("validate.py %s:\n%s", path, out);
	if (access("/usr/bin/python3", X_OK) == 0 && validate("/usr/bin/python3", path) != 0)
		fail_msg("/usr/bin/python3 validate.py %s:\n%s", path, out);
}

static const char *uuid_of(const char *name)
{
	static char u[37];
	lineage_uuid(name, u);
	return u;
}

static void a_month_end_run_writes_valid_events_for_every_step(void **state)
{
	NEED_PG();
	if (billrun("run", "month_end", "--period", "2026-01") != 0)
		fail_msg("billrun run month_end:\n%s", out);
	long long run = q_int("SELECT max(id) FROM runs WHERE dag = 'month_end'");
	const char *path = lineage_path(run);
	must_validate(path);
	char file[1 << 16];
	snprintf(file, sizeof(file), "%s", read_text(path));
	events_load(file);
	if (getenv("TEST_VERBOSE"))
		fprintf(stderr, "%s", file);

	/* The run frames its steps: its START first, its COMPLETE last. */
	char run_name[128];
	snprintf(run_name, sizeof(run_name), "billrun:run:%lld:%s", run,
		 q_text("SELECT to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM runs "
			"WHERE id = %lld", run));
	char run_id[64];
	snprintf(run_id, sizeof(run_id), "\"runId\":\"%s\"", uuid_of(run_name));
	assert_non_null(strstr(events[0], "\"eventType\":\"START\""));
	assert_non_null(strstr(events[0], run_id));
	assert_non_null(strstr(events[0], "\"name\":\"month_end\",\"facets\":{\"jobType\""));
	assert_non_null(strstr(events[nevents - 1], "\"eventType\":\"COMPLETE\""));
	assert_non_null(strstr(events[nevents - 1], run_id));
	assert_int_equal(count_with(run_id), 2);
	/* Every step once, START then COMPLETE, none failed. */
	for (int i = 0; month_end_steps[i]; i++) {
		char job[80];
		snprintf(job, sizeof(job), "\"name\":\"month_end.%s\"", month_end_steps[i]);
		assert_int_equal(count_with(job, "\"eventType\":\"START\""), 1);
		assert_int_equal(count_with(job, "\"eventType\":\"COMPLETE\""), 1);
	}
	assert_int_equal(nevents, 2 + 2 * 9);
	assert_int_equal(count_with("\"eventType\":\"FAIL\""), 0);
	assert_int_equal(count_with("\"parent\":"), 0);

	/* The ingested file is an input, with its SHA-256; usage an output. */
	char sha[128], name[600];
	snprintf(sha, sizeof(sha), "\"sha256\":\"%s\"", q_text("SELECT sha256 FROM ingest_files"));
	snprintf(name, sizeof(name), "/spool/usage-2026-01.csv\",\"facets\":{\"billrun_file\":");
	assert_int_equal(count_with("\"name\":\"month_end.ingest\"", "\"inputs\":[{\"namespace\":\"file\"", name, sha,
				    "\"records\":50,\"accepted\":50", "\"schema\":", "{\"name\":\"event_id\",\"ordinal_position\":1}"),
			 2);
	assert_int_equal(count_with("\"name\":\"month_end.ingest\"", ".public.usage\"}"), 2);
	/* The invoice documents, each with the SHA-256 invoice_files holds. */
	assert_true(q_int("SELECT count(*) FROM invoice_document_files WHERE run_id = %lld", run) >= 5);
	PGresult *docs = PQexec(conn, "SELECT o.output_dir || '/' || f.file, f.sha256 FROM invoice_document_files f "
				      "JOIN runs o ON o.id = f.run_id");
	for (int i = 0; i < PQntuples(docs); i++) {
		char doc[1400], dsha[128];
		snprintf(doc, sizeof(doc), "\"name\":\"%s\"", PQgetvalue(docs, i, 0));
		snprintf(dsha, sizeof(dsha), "\"sha256\":\"%s\"", PQgetvalue(docs, i, 1));
		if (count_with("\"name\":\"month_end.invoice\"", doc, dsha) != 2)
			fail_msg("no output %s with %s in the invoice step's events", doc, dsha);
	}
	PQclear(docs);
	assert_int_equal(count_with("\"name\":\"month_end.invoice\"", ".public.invoices\"}", "/invoices/", ".pdf\""), 2);
	/* The XBRL instance and the archive, with their SHA-256. */
	assert_int_equal(count_with("\"name\":\"month_end.xbrl\"", "/xbrl/billrun-month_end-2026-01-01.xbrl\""), 2);
	snprintf(sha, sizeof(sha), "\"sha256\":\"%s\"", q_text("SELECT sha256 FROM archives WHERE run_id = %lld", run));
	assert_int_equal(count_with("\"name\":\"month_end.archive\"", ".tar.gz\"", sha), 2);

	/* billrun lineage prints the file; composed again, the same bytes. */
	char id[32];
	snprintf(id, sizeof(id), "%lld", run);
	assert_int_equal(billrun("lineage", id), 0);
	assert_string_equal(out, file);
	assert_int_equal(billrun("lineage", id, "--database"), 0);
	assert_string_equal(out, file);
	assert_int_equal(billrun("lineage", "999"), 65);
	events_free();
}

static void a_failing_step_and_its_run_have_a_fail_event(void **state)
{
	NEED_PG();
	assert_int_equal(billrun("run", "checks", "--period", "2026-01-05"), 3);
	long long run = q_int("SELECT max(id) FROM runs WHERE dag = 'checks'");
	const char *path = lineage_path(run);
	must_validate(path);
	events_load(read_text(path));
	assert_int_equal(nevents, 6);
	assert_int_equal(count_with("\"name\":\"checks.fine\"", "\"eventType\":\"COMPLETE\""), 1);
	assert_int_equal(count_with("\"name\":\"checks.broken\"", "\"eventType\":\"START\""), 1);
	assert_int_equal(count_with("\"name\":\"checks.broken\"", "\"eventType\":\"FAIL\"", "\"status\":\"failed\"",
				    "\"exitCode\":1"), 1);
	assert_non_null(strstr(events[5], "\"eventType\":\"FAIL\""));
	assert_non_null(strstr(events[5], "\"name\":\"checks\",\"facets\""));
	/* exec steps: billrun does not know their datasets */
	assert_int_equal(count_with("\"inputs\":[],\"outputs\":[]"), 6);
	events_free();
}

static void a_rerun_names_the_run_it_reruns_as_parent(void **state)
{
	NEED_PG();
	if (billrun("run", "month_end", "--period", "2026-01") != 0)
		fail_msg("billrun run month_end:\n%s", out);
	long long first = q_int("SELECT max(id) FROM runs WHERE dag = 'month_end'");
	char id[32];
	snprintf(id, sizeof(id), "%lld", first);
	if (billrun("rerun", id, "--from", "xbrl") != 0)
		fail_msg("billrun rerun:\n%s", out);
	long long rerun = q_int("SELECT max(id) FROM runs WHERE rerun_of = %lld", first);
	assert_true(rerun > first);
	const char *path = lineage_path(rerun);
	must_validate(path);
	events_load(read_text(path));
	/* xbrl and archive redone, the rest skipped: no events for them */
	assert_int_equal(nevents, 2 + 2 * 2);
	assert_int_equal(count_with("\"name\":\"month_end.ingest\""), 0);
	char name[128], parent[200];
	snprintf(name, sizeof(name), "billrun:run:%lld:%s", first,
		 q_text("SELECT to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM runs "
			"WHERE id = %lld", first));
	snprintf(parent, sizeof(parent), "\"parent\":{\"_producer\":\"%s\",\"_schemaURL\":"
		 "\"https://openlineage.io/spec/facets/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet\","
		 "\"run\":{\"runId\":\"%s\"},\"job\":{\"namespace\":\"billrun\",\"name\":\"month_end\"}}",
		 LINEAGE_PRODUCER, uuid_of(name));
	assert_int_equal(count_with(parent), nevents);
	/* ... which is the runId of the original run's own events */
	char run_id[64];
	snprintf(run_id, sizeof(run_id), "\"runId\":\"%s\"", uuid_of(name));
	events_load(read_text(lineage_path(first)));
	assert_int_equal(count_with(run_id, "\"name\":\"month_end\",\"facets\""), 2);
	events_free();
}

static void a_killed_and_resumed_run_writes_every_event_once(void **state)
{
	NEED_PG();
	pid_t runner = test_spawn_billrun(conf, "run", "slow", "--period", "2026-01-05", NULL);
	assert_true(runner > 0);
	struct timespec nap = { 0, 50 * 1000 * 1000 };
	int waited = 0;
	while (q_int("SELECT count(*) FROM run_steps WHERE step = 'b' AND status = 'running'") != 1 && waited++ < 400)
		nanosleep(&nap, NULL);
	assert_true(waited < 400);
	kill(runner, SIGKILL);
	waitpid(runner, NULL, 0);
	long long run = q_int("SELECT id FROM runs WHERE dag = 'slow'");
	char id[32];
	snprintf(id, sizeof(id), "%lld", run);
	/* Not finished: no file, the events so far from the database. */
	assert_int_equal(access(lineage_path(run), F_OK), -1);
	assert_int_equal(billrun("lineage", id), 0);
	assert_non_null(strstr(out, "does not exist (the run has not finished): the events so far, from the database"));
	assert_non_null(strstr(out, "\"eventType\":\"START\",\"eventTime\""));
	assert_null(strstr(out, "\"eventType\":\"COMPLETE\",\"eventTime\":\"\",")); /* no end without a time */

	if (billrun("run", "slow", "--period", "2026-01-05") != 0)
		fail_msg("the resume:\n%s", out);
	const char *path = lineage_path(run);
	must_validate(path);
	events_load(read_text(path));
	assert_int_equal(nevents, 2 + 2 * 4);
	assert_int_equal(count_with("\"name\":\"slow.b\"", "\"eventType\":\"START\""), 2);
	assert_int_equal(count_with("\"name\":\"slow.b\"", "\"eventType\":\"FAIL\"", "\"status\":\"abandoned\""), 1);
	assert_int_equal(count_with("\"name\":\"slow.b\"", "\"eventType\":\"COMPLETE\"", "\"attempt\":2"), 1);
	assert_int_equal(count_with("\"name\":\"slow.a\""), 2);
	assert_int_equal(count_with("\"name\":\"slow.c\""), 2);
	for (int i = 0; i < nevents; i++)
		for (int j = 0; j < i; j++)
			assert_string_not_equal(events[i], events[j]);
	assert_non_null(strstr(events[nevents - 1], "\"eventType\":\"COMPLETE\""));
	events_free();
}

static void the_validator_refuses_a_broken_event_and_fails_without_jsonschema(void **state)
{
	const char *broken = test_src("tests/lineage/broken-events.jsonl");
	assert_int_equal(validate("python3", broken), 1);
	/* each broken line is named */
	assert_non_null(strstr(out, "broken-events.jsonl:1: OpenLineage.json: 'runId' is a required property at run\n"));
	assert_non_null(strstr(out, "broken-events.jsonl:2: OpenLineage.json: 'LATER' is not one of ['START', "));
	assert_non_null(strstr(out, "broken-events.jsonl:3: OpenLineage.json: {'billrun_file': {'_schemaURL'"));
	assert_non_null(strstr(out, "is not valid under any of the given schemas at inputs/0/facets\n"));
	assert_non_null(strstr(out, "broken-events.jsonl:4: run facet 'parent': 'job' is a required property"));
	assert_non_null(strstr(out, "broken-events.jsonl:5: OpenLineage.json: 'run-1' is not a 'uuid' at run/runId\n"));
	assert_non_null(strstr(out, "broken-events.jsonl:6: not JSON"));
	assert_null(strstr(out, "broken-events.jsonl:7:"));   /* the last one is valid */
	/* Without the jsonschema module (-S: no site-packages) it cannot
	 * validate: a failure, never a pass. */
	assert_int_equal(validate("python3 -S", broken), 2);
	assert_non_null(strstr(out, "validate.py: cannot validate: No module named 'jsonschema'"));
	/* The Debian validator the test set-up installs (tools/deps.sh) gives the same verdict. */
	if (access("/usr/bin/python3", X_OK) == 0) {
		assert_int_equal(validate("/usr/bin/python3", broken), 1);
		assert_non_null(strstr(out, "broken-events.jsonl:2: OpenLineage.json: 'LATER' is not one of"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(a_month_end_run_writes_valid_events_for_every_step, setup, teardown),
		cmocka_unit_test_setup_teardown(a_failing_step_and_its_run_have_a_fail_event, setup, teardown),
		cmocka_unit_test_setup_teardown(a_rerun_names_the_run_it_reruns_as_parent, setup, teardown),
		cmocka_unit_test_setup_teardown(a_killed_and_resumed_run_writes_every_event_once, setup, teardown),
		cmocka_unit_test(the_validator_refuses_a_broken_event_and_fails_without_jsonschema),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
