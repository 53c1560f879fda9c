/*
 * invoice_env.h - the environment of the invoice tests (included by
 * test_invoice.c, test_invoice_files.c and test_focus_export.c): a fresh
 * database per test with every migration and the rate card's meters, the
 * config (the shared DAGs, the seller, extra invoice settings and DAGs,
 * `env_top` at the top level), billrun run as a command, n accounts with a
 * rated March made directly, the fixtures of tests/fixtures/invoice and
 * usage hung on a made-up ingested file, and checks of the numbering.
 */
#ifndef BILLRUN_INVOICE_ENV_H
#define BILLRUN_INVOICE_ENV_H

/* Not every test file uses every helper. */
#define ENV_FN static __attribute__((unused))

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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dec.h"
#include "support.h"

static char dsn[1024];
static char dir[256];
static char conf[512];
static char rules[512];
static PGconn *conn;
static int counter;
static char out[262144];
static char year[8];
static const char *env_top;   /* more config at the top level, or NULL */

#define NEED_PG()                       \
	do {                            \
		if (!test_pg_dsn())     \
			skip();         \
	} while (0)
#define q_int(...) test_q_int(conn, __VA_ARGS__)

#define sql(...) test_sql(conn, __VA_ARGS__)
#define q_text(...) test_q_text(conn, __VA_ARGS__)

ENV_FN const char *const base_dags =
	"month_end = { period = \"month\"; max_parallel = 2; steps = (\n"
	"  { name = \"aggregate\"; job = \"aggregate\"; retries = 3; retry_delay = \"100ms\"; },\n"
	"  { name = \"rate\"; job = \"rate\"; after = [\"aggregate\"]; retries = 3; retry_delay = \"100ms\"; },\n"
	"  { name = \"invoice\"; job = \"invoice\"; after = [\"rate\"]; },\n"
	"  { name = \"chargeback\"; job = \"chargeback\"; after = [\"rate\"]; } ); };\n"
	"nightly = { period = \"day\"; steps = (\n"
	"  { name = \"aggregate\"; job = \"aggregate\"; retries = 3; retry_delay = \"100ms\"; },\n"
	"  { name = \"rate\"; job = \"rate\"; after = [\"aggregate\"]; retries = 3; retry_delay = \"100ms\"; },\n"
	"  { name = \"invoice\"; job = \"invoice\"; after = [\"rate\"]; } ); };\n";

/* The config: the shared base, the seller, `invoice_extra` inside
 * invoice = { ... }, and extra DAGs. */
ENV_FN void write_config(const char *invoice_extra, const char *more_dags)
{
	char extra[4096], dags[8192];
	snprintf(extra, sizeof(extra),
		 "runner = { kill_grace = \"500ms\"; };\n"
		 "invoice = {\n"
		 "  seller = { name = \"Billrun Telecom GmbH\"; address = [\"Musterstrasse 1\", \"10115 Berlin\"];\n"
		 "             vat_id = \"DE123456789\"; email = \"billing@billrun.example\";\n"
		 "             payment = \"IBAN DE89 3704 0044 0532 0130 00\";\n"
		 "             street = \"Musterstrasse 1\"; city = \"Berlin\"; postcode = \"10115\"; country = \"DE\";\n"
		 "             company_id = \"HRB 12345\"; contact = \"Billing team\"; phone = \"+49 30 1234567\";\n"
		 "             iban = \"DE89370400440532013000\"; bic = \"COBADEFFXXX\"; };\n"
		 "  %s\n"
		 "};\n%s\n",
		 invoice_extra ? invoice_extra : "", env_top ? env_top : "");
	snprintf(dags, sizeof(dags), "%s%s", base_dags, more_dags ? more_dags : "");
	assert_int_equal(test_write_config(conf, dir, dsn, rules, extra, dags), 0);
}

ENV_FN int billrun_v(const char *first, va_list ap)
{
	const char *args[32] = { "-c", conf, first };
	int n = 3;
	while (n < 31 && (args[n] = va_arg(ap, const char *)) != NULL)
		n++;
	args[n] = NULL;
	int rc = test_billrun(out, sizeof(out), args);
	if (getenv("TEST_VERBOSE"))
		fprintf(stderr, "billrun %s %s -> %d:\n%s\n", first, n > 3 ? args[3] : "", rc, out);
	return rc;
}

ENV_FN int run_billrun(const char *first, ...)
{
	va_list ap;
	va_start(ap, first);
	int rc = billrun_v(first, ap);
	va_end(ap);
	return rc;
}
#define billrun(...) run_billrun(__VA_ARGS__, NULL)

/* billrun ... must exit 0; its output goes to stderr when it does not. */
ENV_FN void must(const char *first, ...)
{
	va_list ap;
	va_start(ap, first);
	int rc = billrun_v(first, ap);
	va_end(ap);
	if (rc != 0) {
		fprintf(stderr, "billrun %s: exit %d\n%s\n", first, rc, out);
		fail();
	}
}
#define must(...) must(__VA_ARGS__, NULL)

ENV_FN int setup(void **state)
{
	if (!test_pg_dsn())
		return 0;
	char name[64];
	snprintf(name, sizeof(name), "test_invoice_%d", ++counter);
	if (test_db_fresh(name, dsn, sizeof(dsn)) || test_tmpdir(dir, sizeof(dir)))
		return -1;
	chmod(dir, 0755);
	snprintf(conf, sizeof(conf), "%s/billrun.conf", dir);
	snprintf(rules, sizeof(rules), "%s", test_src("tests/fixtures/invoice/rates.conf"));
	conn = PQconnectdb(dsn);
	if (PQstatus(conn) != CONNECTION_OK)
		return -1;
	PQclear(PQexec(conn, "SET client_min_messages = warning"));
	/* Short statements over small tables: JIT compilation would cost
	 * more than it saves. */
	char alter[256];
	snprintf(alter, sizeof(alter), "ALTER DATABASE %s SET jit = off", name);
	PQclear(PQexec(conn, alter));
	write_config(NULL, NULL);
	const char *args[] = { "-c", conf, "db", "migrate", NULL };
	if (test_billrun(out, sizeof(out), args) != 0) {
		fprintf(stderr, "%s", out);
		return -1;
	}
	/* The meters of the rate card, as ingest's meters_sync() stores them. */
	PGresult *r = PQexec(conn,
		"INSERT INTO meters (name, aggregation, unique_attribute, round_increment, allow_credit) VALUES "
		"('voice_seconds', 'sum', NULL, 60, false), ('sms', 'count', NULL, NULL, false), "
		"('storage_gb', 'max', NULL, NULL, false), ('active_users', 'unique_count', 'user', NULL, false), "
		"('api_calls', 'sum', NULL, NULL, false), ('balance', 'latest', NULL, NULL, false), "
		"('adjustment', 'sum', NULL, NULL, true)");
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	r = PQexec(conn, "SELECT to_char((now() AT TIME ZONE 'UTC')::date, 'YYYY')");
	snprintf(year, sizeof(year), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return ok ? 0 : -1;
}

ENV_FN int teardown(void **state)
{
	if (conn)
		PQfinish(conn);
	conn = NULL;
	char cmd[1024];
	/* tests/run.sh collects every e-invoice the tests wrote and checks
	 * them all at the end (TEST_EINVOICE_DIR; tests/einvoice/check.sh). */
	const char *collect = getenv("TEST_EINVOICE_DIR");
	if (collect && *collect && dir[0]) {
		snprintf(cmd, sizeof(cmd),
			 "find '%s' -path '*/invoices/*' -name '*.xml' | while read -r f; do "
			 "cp \"$f\" '%s'/\"$(basename '%s')-$(basename \"$(dirname \"$(dirname \"$f\")\")\")-$(basename \"$f\")\"; done",
			 dir, collect, dir);
		test_sh(out, sizeof(out), cmd);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	test_sh(out, sizeof(out), cmd);
	return 0;
}

ENV_FN long long last_run(void)
{
	return q_int("SELECT max(id) FROM runs WHERE dag <> 'ingest_test'");
}

ENV_FN const char *run_dir(long long run)
{
	return q_text("SELECT output_dir FROM runs WHERE id = %lld", run);
}

ENV_FN int file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && st.st_size > 0;
}

ENV_FN const char *number(int seq)
{
	static char buf[4][32];
	static int n;
	char *b = buf[n++ % 4];
	snprintf(b, sizeof(buf[0]), "INV-%s-%06d", year, seq);
	return b;
}

ENV_FN void contains(const char *haystack, const char *needle, const char *file, int line)
{
	if (!strstr(haystack, needle)) {
		fprintf(stderr, "%s:%d: missing \"%s\" in:\n%s\n", file, line, needle, haystack);
		fail();
	}
}
#define assert_contains(h, n) contains((h), (n), __FILE__, __LINE__)

/*
 * An invoice line in pdftotext -layout output: a text line holding the
 * label and (when given) the quantity and the amount, in that order, and
 * (when given) the pricing words on the same or the next text line. NULL
 * skips a part.
 */
ENV_FN void line_in_pdf(const char *text, const char *label, const char *qty, const char *words, const char *amount,
			const char *file, int line)
{
	const char *p = text;
	while ((p = strstr(p, label)) != NULL) {
		const char *bol = p;
		while (bol > text && bol[-1] != '\n')
			bol--;
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - bol) : strlen(bol);
		char row[1024], next[1024] = "";
		snprintf(row, sizeof(row), "%.*s", (int)len, bol);
		if (eol) {
			const char *e2 = strchr(eol + 1, '\n');
			snprintf(next, sizeof(next), "%.*s", (int)(e2 ? (size_t)(e2 - eol - 1) : strlen(eol + 1)), eol + 1);
		}
		const char *at = strstr(row, label) + strlen(label);
		const char *q = qty ? strstr(at, qty) : at;
		const char *a = q && amount ? strstr(q + (qty ? strlen(qty) : 0), amount) : q;
		int words_ok = !words || strstr(row, words) || strstr(next, words);
		if (q && a && words_ok)
			return;
		p += strlen(label);
	}
	fprintf(stderr, "%s:%d: no line \"%s\" | %s | %s | %s in:\n%s\n", file, line, label, qty ? qty : "-",
		words ? words : "-", amount ? amount : "-", text);
	fail();
}
#define assert_line(t, label, qty, words, amount) line_in_pdf((t), (label), (qty), (words), (amount), __FILE__, __LINE__)

/* n accounts with a closed, rated March, made directly (no usage). */
ENV_FN void rated_accounts(int n)
{
	sql("INSERT INTO rule_versions (sha256, file_name, content) VALUES (repeat('a', 64), 'x', 'x')");
	sql("INSERT INTO runs (dag, period_kind, period_start, period_end, status, host, pid, rule_version) "
	    "SELECT 'gen', 'month', '2026-03-01', '2026-04-01', 'success', 'test', 1, max(id) FROM rule_versions");
	sql("INSERT INTO accounts (external_id, valid_from, name, time_zone, anchor_day, currency, tax_jurisdiction, "
	    "address_line1, city, postcode, country, vat_id, b2b) "
	    "SELECT 'p' || lpad(g::text, 4, '0'), '2025-01-01', 'P ' || g, 'UTC', 1, 'EUR', 'DE', 'Weg ' || g, 'Berlin', "
	    "'10115', 'DE', 'DE' || lpad(g::text, 9, '0'), true FROM generate_series(1, %d) g",
	    n);
	sql("INSERT INTO agg_snapshots (run_id, account_ext, account_id, period_local_start, period_local_end, "
	    "period_start, period_end, time_zone, anchor_day, closed, reason, usage_records) "
	    "SELECT (SELECT max(id) FROM runs), external_id, id, '2026-03-01', '2026-04-01', '2026-03-01Z', "
	    "'2026-04-01Z', 'UTC', 1, true, 'close', 0 FROM accounts WHERE external_id LIKE 'p%%'");
	sql("INSERT INTO ratings (run_id, rule_version, snapshot_id, account_ext, account_id, period_local_start, "
	    "period_local_end, closed, currency, rounding, status, subtotal, tax_total, total) "
	    "SELECT run_id, (SELECT max(id) FROM rule_versions), id, account_ext, account_id, '2026-03-01', "
	    "'2026-04-01', true, 'EUR', 'half_up', 'rated', 10.00, 1.90, 11.90 FROM agg_snapshots "
	    "WHERE account_ext LIKE 'p%%'");
	sql("INSERT INTO rated_lines (rating_id, run_id, line_no, kind, account_ext, period_local_start, plan, charge, "
	    "currency, amount_unrounded, amount, tax_rate, tax_base, tax_jurisdiction, tax_group) "
	    "SELECT r.id, r.run_id, l.no, l.kind, r.account_ext, '2026-03-01', l.plan, l.charge, 'EUR', l.amount, l.amount, "
	    "l.rate, l.base, l.j, 'standard' FROM ratings r CROSS JOIN (VALUES (1, 'recurring', 'basic', 'fee', 10.00, "
	    "NULL::numeric, NULL::numeric, NULL), (2, 'tax', NULL, NULL, 1.90, 0.19, 10.00, 'DE')) "
	    "AS l(no, kind, plan, charge, amount, rate, base, j) WHERE r.account_ext LIKE 'p%%'");
}

/* The fixtures of tests/fixtures/invoice (accounts, plans, FX), loaded
 * with the billrun commands. */
ENV_FN void load_fixtures(void)
{
	static const char *const kinds[] = { "accounts", "subscriptions", "fx" };
	for (int i = 0; i < 3; i++) {
		char rel[128];
		snprintf(rel, sizeof(rel), "tests/fixtures/invoice/%s.csv", kinds[i]);
		must(kinds[i], "import", test_src(rel));
	}
}

/* A run and an ingested file to hang usage on, as ingest would leave them;
 * returns the file's id. */
ENV_FN long long usage_file(const char *name)
{
	static int n;
	if (q_int("SELECT count(*) FROM runs WHERE dag = 'ingest_test'") == 0)
		sql("INSERT INTO runs (dag, period_kind, period_start, period_end, status, host, pid) "
		    "VALUES ('ingest_test', 'day', '2026-03-01', '2026-03-02', 'success', 'test', 1)");
	sql("INSERT INTO ingest_files (run_id, source, format, file_name, sha256, size_bytes, records_read, accepted, "
	    "quarantined, duplicates, started_at) SELECT max(id), 'usage', 'usage-csv', '%s', "
	    "encode(sha256('%s%d'::bytea), 'hex'), 0, 0, 0, 0, 0, now() FROM runs WHERE dag = 'ingest_test'",
	    name, name, ++n);
	return q_int("SELECT max(id) FROM ingest_files");
}

ENV_FN void usage(long long file, int line, const char *account, const char *meter, const char *at,
		  const char *quantity, const char *attributes)
{
	sql("INSERT INTO usage (source, event_key, file_id, line_no, run_id, account_ext, meter, event_time, quantity, "
	    "attributes) SELECT 'usage', 'k%lld-%d', %lld, %d, max(id), '%s', '%s', '%s', %s, %s FROM runs "
	    "WHERE dag = 'ingest_test'",
	    file, line, file, line, account, meter, at, quantity, attributes ? attributes : "NULL");
	/* as ingest would, the record's partial sums (023) */
	sql("SELECT billrun_partials_catch_up()");
}

/* Whether the issuers' numbers are gapless, unique, start at 1, end at the
 * counter, and follow the order they were issued in: a transaction's
 * numbers all come after those of every transaction that issued before
 * it, and (all issuers drafting in account order) invoice n bills p000n. */
ENV_FN const char *const numbering_ok =
	"WITH t AS (SELECT xmin::text AS tx, min(seq) AS lo, max(seq) AS hi, min(issued_at) AS t0, "
	"max(issued_at) AS t1 FROM invoices GROUP BY xmin::text) "
	"SELECT (count(*) = max(seq) AND count(DISTINCT seq) = count(*) AND min(seq) = 1 "
	"AND count(DISTINCT number) = count(*) AND max(seq) = (SELECT last_seq FROM invoice_series WHERE doc = 'invoice') "
	"AND count(*) FILTER (WHERE seq <> substr(account_ext, 2)::int) = 0 "
	"AND NOT EXISTS (SELECT 1 FROM t a JOIN t b ON a.tx <> b.tx AND a.lo < b.lo WHERE a.hi > b.lo OR a.t1 > b.t0))::int "
	"FROM invoices";

#endif
