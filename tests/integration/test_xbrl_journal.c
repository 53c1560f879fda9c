/*
 * test_xbrl_journal.c - the xbrl step's journal against a real cluster: a
 * month-end close of the invoice fixtures (EUR, JPY and CHF accounts, a
 * functional currency of EUR with an EUR/JPY rate and none for CHF) and
 * a dispute rerun (a credit note and the
 * invoice replacing the credited one). The journal's XBRL GL instance
 * validates offline with xmllint and `billrun xbrl validate`; its totals
 * per currency (receivable debits, revenue and tax credits of the
 * invoices, receivable credits of the credit notes) are the summary
 * report's BilledAmount, TaxAmount and CreditNoteAmount and the sums of
 * the documents, to the cent; the CSV has the same lines; an amount 0.01
 * off is refused naming its entry; both files are in the run's archive;
 * the same data gives the same bytes; a bad `journal` key is named.
 */
#include "invoice_env.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#define GL_COR "http://www.xbrl.org/int/gl/cor/2016-12-01"
#define GL_URL "http://www.xbrl.org/int/gl/2016-12-01/plt/case-c-b-m/gl-plt-all-2016-12-01.xsd"

static const char *const close_dag =
	"close = { period = \"month\"; steps = (\n"
	"  { name = \"aggregate\"; job = \"aggregate\"; },\n"
	"  { name = \"rate\"; job = \"rate\"; after = [\"aggregate\"]; },\n"
	"  { name = \"invoice\"; job = \"invoice\"; after = [\"rate\"]; },\n"
	"  { name = \"xbrl\"; job = \"xbrl\"; after = [\"invoice\"]; },\n"
	"  { name = \"archive\"; job = \"archive\"; after = [\"xbrl\"]; trigger = \"all_done\"; } ); };\n";

static const char *const journal_conf =
	"journal = {\n"
	"  functional_currency = \"EUR\";\n"
	"  revenue_by_charge = ( { charge = \"base_fee\"; code = \"4010\"; name = \"Revenue, monthly fees\"; } );\n"
	"  tax_by_rate = ( { rate = \"0.19\"; code = \"2210\"; name = \"VAT 19 %\"; } );\n"
	"};\n";

/* March for acme, dst, eco (EUR) and tokyo (JPY, priced in USD), closed. */
static void march(void)
{
	env_top = journal_conf;
	write_config(NULL, close_dag);
	load_fixtures();
	/* EUR/JPY for restating tokyo's amounts in EUR (quoted the other way: divided) */
	sql("INSERT INTO fx_rates (base, quote, as_of, rate, source) VALUES ('EUR', 'JPY', '2026-03-31', 160, 'ecb')");
	long long f = usage_file("usage-2026-03.csv");
	usage(f, 1, "acme", "voice_seconds", "2026-03-10T10:00:00Z", "61", NULL);
	usage(f, 2, "acme", "storage_gb", "2026-03-15T12:00:00Z", "250.5", NULL);
	usage(f, 3, "tokyo", "api_calls", "2026-03-10T01:00:00Z", "251000", NULL);
	usage(f, 4, "dst", "voice_seconds", "2026-03-20T08:00:00Z", "1200", NULL);
	must("run", "close", "--period", "2026-03");
}

/* ---- reading the two files ---- */

struct row {
	char entry[16], number[64], code[32], side, amount[48], currency[8], rate[48];
};

static struct row xml_rows[256], csv_rows[256];

static const char *child_text(xmlNodePtr n, const char *name, char *buf, size_t size)
{
	buf[0] = '\0';
	for (xmlNodePtr c = n->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0) {
			xmlChar *t = xmlNodeGetContent(c);
			snprintf(buf, size, "%s", t ? (const char *)t : "");
			xmlFree(t);
			break;
		}
	return buf;
}

static xmlNodePtr child(xmlNodePtr n, const char *name)
{
	for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
			return c;
	return NULL;
}

/* Every entryDetail of the instance, in order. */
static int read_xml(const char *path)
{
	xmlDocPtr doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
	assert_non_null(doc);
	xmlNodePtr entries = child(xmlDocGetRootElement(doc), "accountingEntries");
	assert_non_null(entries);
	assert_string_equal((const char *)entries->ns->href, GL_COR);
	int n = 0;
	for (xmlNodePtr h = entries->children; h; h = h->next) {
		if (h->type != XML_ELEMENT_NODE || strcmp((const char *)h->name, "entryHeader") != 0)
			continue;
		char entry[16];
		child_text(h, "entryNumber", entry, sizeof(entry));
		for (xmlNodePtr d = h->children; d; d = d->next) {
			if (d->type != XML_ELEMENT_NODE || strcmp((const char *)d->name, "entryDetail") != 0)
				continue;
			assert_true(n < 256);
			struct row *r = &xml_rows[n++];
			char side[8], unit[16];
			snprintf(r->entry, sizeof(r->entry), "%s", entry);
			child_text(d, "documentNumber", r->number, sizeof(r->number));
			child_text(child(d, "account"), "accountMainID", r->code, sizeof(r->code));
			child_text(d, "amount", r->amount, sizeof(r->amount));
			child_text(d, "debitCreditCode", side, sizeof(side));
			r->side = side[0];
			xmlChar *u = xmlGetProp(child(d, "amount"), BAD_CAST "unitRef");
			snprintf(unit, sizeof(unit), "%s", u ? (const char *)u : "");
			xmlFree(u);
			snprintf(r->currency, sizeof(r->currency), "%s", unit + 2); /* U_EUR */
			xmlNodePtr mc = child(d, "multicurrencyDetail");
			if (mc)
				child_text(mc, "amountRestatedExchangeRate", r->rate, sizeof(r->rate));
		}
	}
	xmlFreeDoc(doc);
	return n;
}

/* One RFC 4180 record from *p into fields; advances *p past its CRLF. */
static int csv_record(const char **p, char fields[][128], int max)
{
	int n = 0;
	const char *s = *p;
	while (*s && n < max) {
		char *f = fields[n++];
		size_t len = 0;
		if (*s == '"') {
			for (s++; *s; s++) {
				if (*s == '"' && s[1] == '"')
					s++;
				else if (*s == '"') {
					s++;
					break;
				}
				if (len < 127)
					f[len++] = *s;
			}
		} else {
			while (*s && *s != ',' && *s != '\r')
				if (len < 127)
					f[len++] = *s++;
		}
		f[len] = '\0';
		if (*s == ',') {
			s++;
			continue;
		}
		assert_true(s[0] == '\r' && s[1] == '\n'); /* CRLF, always */
		s += 2;
		break;
	}
	*p = s;
	return n;
}

static int read_csv(const char *path)
{
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "cat '%s'", path);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	const char *p = out;
	char f[16][128];
	assert_int_equal(csv_record(&p, f, 16), 11);
	assert_string_equal(f[0], "entry_id");
	assert_string_equal(f[5], "debit");
	assert_string_equal(f[10], "period");
	int n = 0;
	while (*p) {
		assert_int_equal(csv_record(&p, f, 16), 11);
		struct row *r = &csv_rows[n++];
		snprintf(r->entry, sizeof(r->entry), "%s", f[0]);
		snprintf(r->number, sizeof(r->number), "%s", f[2]);
		snprintf(r->code, sizeof(r->code), "%s", f[3]);
		assert_true((f[5][0] != '\0') != (f[6][0] != '\0')); /* a debit or a credit */
		r->side = f[5][0] ? 'D' : 'C';
		snprintf(r->amount, sizeof(r->amount), "%s", f[5][0] ? f[5] : f[6]);
		snprintf(r->currency, sizeof(r->currency), "%s", f[7]);
		snprintf(r->rate, sizeof(r->rate), "%s", f[8]);
		if (strcmp(f[3], "4010") == 0)
			assert_string_equal(f[4], "Revenue, monthly fees"); /* quoted in the file: a comma */
		assert_string_equal(f[10], "2026-03-01/2026-03-31");
	}
	return n;
}

/* A sum in PostgreSQL's exact numeric: expr over the rows (SQL text of a
 * VALUES list: entry, number, code, side, amount, currency). */
static char values[65536];

static void rows_as_values(int n)
{
	size_t len = 0;
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(values + len, sizeof(values) - len, "%s('%s', '%s', '%s', '%c', %s::numeric, '%s')",
					i ? ", " : "", xml_rows[i].entry, xml_rows[i].number, xml_rows[i].code,
					xml_rows[i].side, xml_rows[i].amount, xml_rows[i].currency);
}

/* The summary report's fact in currency (its text). */
static const char *fact(const char *instance, const char *concept, const char *currency)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "grep 'billrun:%s contextRef=\"[^\"]*\" unitRef=\"U_%s\"' '%s' | sed 's/.*>\\(.*\\)<.*/\\1/'",
		 concept, currency, instance);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	out[strcspn(out, "\n")] = '\0';
	return out[0] ? out : "0";
}

static void same(const char *a, const char *b, const char *what)
{
	if (strcmp(q_text("SELECT (%s)::numeric = (%s)::numeric", a, b), "t") != 0) {
		fprintf(stderr, "%s: %s, expected %s\n", what, a, b);
		fail();
	}
}

static void the_journal_adds_up_to_the_report_and_the_documents_to_the_cent(void **state)
{
	NEED_PG();
	march();
	char id[24];
	snprintf(id, sizeof(id), "%lld", last_run());
	/* a dispute: tokyo's rate was wrong, a credit note and a new invoice */
	sql("INSERT INTO fx_rates (base, quote, as_of, rate, source) VALUES ('USD', 'JPY', '2026-03-31', 151.00, 'fix')");
	must("rerun", id, "--from", "rate", "--account", "tokyo");
	assert_int_equal(q_int("SELECT count(*) FROM credit_notes"), 1);
	long long run = last_run();
	char xdir[1024], gl[1200], csv[1200], summary[1200], cmd[4096];
	snprintf(xdir, sizeof(xdir), "%s/xbrl", run_dir(run));
	snprintf(gl, sizeof(gl), "%s/billrun-close-2026-03-01-gl.xbrl", xdir);
	snprintf(csv, sizeof(csv), "%s/billrun-close-2026-03-01-journal.csv", xdir);
	snprintf(summary, sizeof(summary), "%s/billrun-close-2026-03-01.xbrl", xdir);
	snprintf(cmd, sizeof(cmd), "test -s '%s' && test -s '%s' && ! ls '%s' | grep -q tmp", gl, csv, xdir);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);

	/* Schema-valid offline, as an auditor checks it; and balanced. */
	const char *catalog = test_src("reports/xbrl-gl-catalog.xml");
	snprintf(cmd, sizeof(cmd), "XML_CATALOG_FILES='%s' xmllint --nonet --noout --schema '%s' '%s' 2>&1", catalog, GL_URL,
		 gl);
	if (test_sh(out, sizeof(out), cmd) != 0)
		fail_msg("xmllint: %s", out);
	must("xbrl", "validate", "--catalog", catalog, gl);
	assert_contains(out, "valid XBRL GL journal (");
	assert_contains(out, "each balanced");

	/* One entry per document of the period's runs, the CSV line for line the same. */
	int n = read_xml(gl);
	assert_int_equal(read_csv(csv), n);
	for (int i = 0; i < n; i++) {
		const struct row *x = &xml_rows[i], *c = &csv_rows[i];
		if (strcmp(x->entry, c->entry) || strcmp(x->number, c->number) || strcmp(x->code, c->code) ||
		    x->side != c->side || strcmp(x->amount, c->amount) || strcmp(x->currency, c->currency) ||
		    strcmp(x->rate, c->rate))
			fail_msg("line %d: XML %s %s %s %c %s %s %s, CSV %s %s %s %c %s %s %s", i, x->entry, x->number, x->code,
				 x->side, x->amount, x->currency, x->rate, c->entry, c->number, c->code, c->side, c->amount,
				 c->currency, c->rate);
	}
	rows_as_values(n);
	assert_int_equal(q_int("SELECT count(DISTINCT number) FROM (VALUES %s) v(e, number, code, side, amount, cur)", values),
			 q_int("SELECT count(*) FROM invoice_documents d JOIN runs r ON r.id = d.run_id "
			       "WHERE r.period_start = '2026-03-01'"));
	assert_true(n >= 10);
	/* every entry balances (computed here, not only by billrun) */
	assert_int_equal(q_int("SELECT count(*) FROM (SELECT e FROM (VALUES %s) v(e, number, code, side, amount, cur) "
			       "GROUP BY e HAVING sum(CASE side WHEN 'D' THEN amount ELSE -amount END) <> 0) x",
			       values),
			 0);

	/* The totals per currency: the summary report's facts, the documents' sums. */
	/* zurich's CHF invoice has no EUR/CHF rate: in CHF only */
	assert_int_equal(q_int("SELECT count(*) FROM (VALUES %s) v(e, number, code, side, amount, cur) WHERE cur = 'CHF'",
			       values) > 0, 1);
	static const char *const currencies[] = { "EUR", "JPY", "CHF" };
	for (int c = 0; c < 3; c++) {
		const char *cur = currencies[c];
		char sums[4][128], facts[3][64];
		static const char *const exprs[] = {
			/* invoices: receivable debits, revenue and tax credits (net of any debit) */
			"sum(amount) FILTER (WHERE code = '1200' AND number LIKE 'INV-%')",
			"sum(CASE side WHEN 'C' THEN amount ELSE -amount END) FILTER (WHERE code IN ('4000', '4010') AND number LIKE 'INV-%')",
			"sum(CASE side WHEN 'C' THEN amount ELSE -amount END) FILTER (WHERE code IN ('2200', '2210') AND number LIKE 'INV-%')",
			/* credit notes: receivable credits */
			"sum(amount) FILTER (WHERE code = '1200' AND number LIKE 'CN-%')",
		};
		for (int k = 0; k < 4; k++)
			snprintf(sums[k], sizeof(sums[k]), "%s",
				 q_text("SELECT coalesce(%s, 0)::text FROM (VALUES %s) v(e, number, code, side, amount, cur) "
					"WHERE cur = '%s'",
					exprs[k], values, cur));
		snprintf(facts[0], sizeof(facts[0]), "%s", fact(summary, "BilledAmount", cur));
		snprintf(facts[1], sizeof(facts[1]), "%s", fact(summary, "TaxAmount", cur));
		snprintf(facts[2], sizeof(facts[2]), "%s", fact(summary, "CreditNoteAmount", cur));
		same(sums[1], facts[0], "revenue credits vs BilledAmount");
		same(sums[2], facts[1], "tax credits vs TaxAmount");
		same(sums[3], facts[2], "credit notes' receivable credits vs CreditNoteAmount");
		char both[200];
		snprintf(both, sizeof(both), "%s + %s", facts[0], facts[1]);
		same(sums[0], both, "receivable debits vs BilledAmount + TaxAmount");
		same(sums[0], fact(summary, "InvoicedAmount", cur), "receivable debits vs InvoicedAmount");
		/* and the documents themselves */
		const char *docs = "FROM invoice_documents d JOIN runs r ON r.id = d.run_id WHERE r.period_start = '2026-03-01' "
				   "AND d.currency = '%s'";
		char q[512];
		snprintf(q, sizeof(q), "SELECT coalesce(sum(subtotal) FILTER (WHERE doc <> 'credit_note'), 0)::text %s", docs);
		same(sums[1], q_text(q, cur), "revenue credits vs the invoices' subtotals");
		snprintf(q, sizeof(q), "SELECT coalesce(sum(tax_total) FILTER (WHERE doc <> 'credit_note'), 0)::text %s", docs);
		same(sums[2], q_text(q, cur), "tax credits vs the invoices' tax");
		snprintf(q, sizeof(q), "SELECT coalesce(sum(total) FILTER (WHERE doc <> 'credit_note'), 0)::text %s", docs);
		same(sums[0], q_text(q, cur), "receivable debits vs the invoices' totals");
		snprintf(q, sizeof(q), "SELECT coalesce(sum(total) FILTER (WHERE doc = 'credit_note'), 0)::text %s", docs);
		same(sums[3], q_text(q, cur), "receivable credits vs the credit notes' totals");
	}
	/* the credit note is tokyo's, in JPY, and reverses: revenue and tax debited */
	assert_int_equal(q_int("SELECT count(*) FROM (VALUES %s) v(e, number, code, side, amount, cur) WHERE number LIKE 'CN-%%' "
			       "AND cur = 'JPY' AND (code = '1200') = (side = 'C')",
			       values),
			 q_int("SELECT count(*) FROM (VALUES %s) v(e, number, code, side, amount, cur) WHERE number LIKE 'CN-%%'",
			       values));

	/* Accounts from the config: base_fee on 4010, 19 %% VAT on 2210, the rest on the defaults. */
	snprintf(cmd, sizeof(cmd), "grep -c ',4010,\"Revenue, monthly fees\",' '%s' && grep -q ',2210,VAT 19 %%,' '%s' && "
		 "grep -q ',4000,Revenue,' '%s'",
		 csv, csv, csv);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);

	/* tokyo's lines: in JPY, restated in EUR at 1/160 (EUR/JPY 160 divided) */
	int jpy = 0;
	for (int i = 0; i < n; i++)
		if (strcmp(xml_rows[i].currency, "JPY") == 0) {
			assert_string_equal(xml_rows[i].rate, "0.00625");
			jpy++;
		} else {
			assert_string_equal(xml_rows[i].rate, "");
		}
	assert_true(jpy >= 3);
	snprintf(cmd, sizeof(cmd), "grep -c '<gl-muc:amountCurrency contextRef=\"I_2026-03-31\">iso4217:JPY<' '%s'", gl);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	assert_int_equal(atoi(out), jpy);
	const char *restated = q_text("SELECT round(total / 160, 2)::text FROM invoices WHERE currency = 'JPY' ORDER BY id LIMIT 1");
	snprintf(cmd, sizeof(cmd), "grep -q 'unitRef=\"U_EUR\" decimals=\"INF\">%s</gl-muc:amountRestatedAmount>' '%s'",
		 restated, gl);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);

	/* The CSV's balance with a stock tool, as AUDITORS.md shows it (exact decimals). */
	static const char *const csv_check =
		"python3 -c 'import csv,sys,decimal as d;b={}\n"
		"for r in csv.DictReader(open(sys.argv[1],newline=\"\")): b[r[\"entry_id\"]]=b.get(r[\"entry_id\"],0)+d.Decimal(r[\"debit\"] or 0)-d.Decimal(r[\"credit\"] or 0)\n"
		"u=[e for e in b if b[e]];print(\"unbalanced entries:\",*u) if u else print(len(b),\"entries, each balanced\");sys.exit(1 if u else 0)' '%s'";
	snprintf(cmd, sizeof(cmd), csv_check, csv);
	if (test_sh(out, sizeof(out), cmd) != 0)
		fail_msg("csv check: %s", out);
	assert_contains(out, "entries, each balanced");

	/* An amount altered by 0.01: the XML and the CSV are refused, naming the entry. */
	const struct row *first = &xml_rows[0];
	const char *more = q_text("SELECT (%s::numeric + 0.01)::text", first->amount);
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && sed '0,/>%s<\\/gl-cor:amount>/s//>%s<\\/gl-cor:amount>/' '%s' > off.xbrl && ! cmp -s off.xbrl '%s' && "
		 "XML_CATALOG_FILES='%s' xmllint --nonet --noout --schema '%s' off.xbrl 2>&1",
		 dir, first->amount, more, gl, gl, catalog, GL_URL);
	if (test_sh(out, sizeof(out), cmd) != 0 || !strstr(out, "validates"))
		fail_msg("altered copy: %s", out);
	char off[512];
	snprintf(off, sizeof(off), "%s/off.xbrl", dir);
	assert_int_equal(billrun("xbrl", "validate", "--catalog", catalog, off), 65);
	char named[256];
	snprintf(named, sizeof(named), "entry %s (document %s, line ", first->entry, first->number);
	assert_contains(out, named);
	assert_contains(out, "does not balance");
	assert_contains(out, "(difference 0.01)");
	snprintf(cmd, sizeof(cmd), "cd '%s' && sed '2s/,%s,/,%s,/' '%s' > off.csv && ! cmp -s off.csv '%s' && ", dir,
		 first->amount, more, csv, csv);
	snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), csv_check, "off.csv");
	assert_int_not_equal(test_sh(out, sizeof(out), cmd), 0);
	char unbalanced[64];
	snprintf(unbalanced, sizeof(unbalanced), "unbalanced entries: %s\n", first->entry);
	assert_string_equal(out, unbalanced);

	/* In the run's archive, with the summary report, in the manifest; the bag verifies. */
	char archive[1024];
	snprintf(archive, sizeof(archive), "%s", q_text("SELECT path FROM archives WHERE run_id = %lld", run));
	assert_true(archive[0] != '\0');
	snprintf(cmd, sizeof(cmd),
		 "tar xzOf '%s' --wildcards '*/manifest-sha256.txt' | grep -c "
		 "'  data/output/xbrl/billrun-close-2026-03-01\\(-gl.xbrl\\|-journal.csv\\|.xbrl\\)$'",
		 archive);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	assert_string_equal(out, "3\n");
	snprintf(cmd, sizeof(cmd), "tar xzOf '%s' --wildcards '*/data/output/xbrl/billrun-close-2026-03-01-gl.xbrl' | cmp - '%s'",
		 archive, gl);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	must("archive", "verify", archive);

	/* Same data, same bytes: the step again (a new run: only the uniqueID
	 * naming it differs in the XML; the CSV is the same file). */
	char prev[24];
	snprintf(prev, sizeof(prev), "%lld", run);
	must("rerun", prev, "--from", "xbrl");
	long long again = last_run();
	assert_true(again != run);
	snprintf(cmd, sizeof(cmd),
		 "d='%s/xbrl'; cmp '%s' $d/billrun-close-2026-03-01-journal.csv && "
		 "diff '%s' $d/billrun-close-2026-03-01-gl.xbrl | grep '^[<>]' | grep -vc 'gl-cor:uniqueID'; true",
		 run_dir(again), csv, gl);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	assert_string_equal(out, "0\n");
}

static void a_bad_journal_key_is_named_and_fails_the_step(void **state)
{
	NEED_PG();
	env_top = "journal = { tax_by_rate = ( { rate = \"nineteen\"; code = \"2210\"; } ); };\n";
	write_config(NULL, close_dag);
	assert_int_equal(billrun("check-config"), 78);
	assert_contains(out, "key 'journal.tax_by_rate.[0].rate': 'nineteen' is not a tax rate");
	load_fixtures();
	long long f = usage_file("usage-2026-03.csv");
	usage(f, 1, "acme", "voice_seconds", "2026-03-10T10:00:00Z", "61", NULL);
	assert_int_equal(billrun("run", "close", "--period", "2026-03"), 3);
	if (getenv("TEST_VERBOSE"))
		fprintf(stderr, "%s\n", out);
	assert_contains(out, "key 'journal.tax_by_rate.[0].rate': 'nineteen' is not a tax rate");
	assert_string_equal(q_text("SELECT status FROM run_steps WHERE step = 'xbrl'"), "failed");
	assert_string_equal(q_text("SELECT status FROM run_steps WHERE step = 'invoice'"), "success");
	/* nothing half written */
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "ls '%s/xbrl' 2>/dev/null | grep -c . ; true", run_dir(last_run()));
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	assert_string_equal(out, "0\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(the_journal_adds_up_to_the_report_and_the_documents_to_the_cent, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_bad_journal_key_is_named_and_fails_the_step, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
