/*
 * test_invoice.c - the invoice and chargeback steps and `billrun invoice`
 * against a real PostgreSQL, through the billrun binary: a month-end
 * close (numbers, totals equal to the ratings, holds, PDF checked with
 * pdftotext and pdftoppm, JSON), redone steps that issue nothing twice,
 * parallel issuers with one killed by SIGKILL (no gap, no duplicate), the
 * application role's inability to change issued documents, dispute
 * reruns (a credit note and a new invoice; nothing when nothing changed),
 * late usage both ways (a supplementary invoice; an adjustment on the
 * next invoice, after a grace period), show/trace/list, and chargeback
 * CSVs whose totals equal the FOCUS BilledCost of the shared sample.
 *
 * Fixtures: tests/fixtures/invoice/ (rate card, accounts, subscriptions,
 * FX), loaded with the billrun commands; ../shared/testdata/focus.
 */
#include "invoice_env.h"

/* acme's March (rating test figures): base 49.00, voice 0.58, storage
 * 20.04, users 8.00, minimum 71.38, tax 28.31: total 177.31. */
static void acme_usage(long long f)
{
	usage(f, 2, "acme", "voice_seconds", "2026-02-28T23:30:00Z", "59", NULL);
	usage(f, 3, "acme", "voice_seconds", "2026-03-10T10:00:00Z", "61", NULL);
	usage(f, 4, "acme", "voice_seconds", "2026-03-20T10:00:00Z", "3600", NULL);
	usage(f, 5, "acme", "voice_seconds", "2026-03-31T21:30:00Z", "30", NULL);
	usage(f, 6, "acme", "storage_gb", "2026-03-15T12:00:00Z", "250.5", NULL);
	const char *users[] = { "a", "b", "c", "d", "e", "f", "g" };
	for (int i = 0; i < 7; i++) {
		char attr[64], at[32];
		snprintf(attr, sizeof(attr), "'{\"user\": \"%s\"}'", users[i]);
		snprintf(at, sizeof(at), "2026-03-%02dT09:00:00Z", i + 3);
		usage(f, 7 + i, "acme", "active_users", at, "1", attr);
	}
}

static void march_data(void)
{
	load_fixtures();
	long long f = usage_file("usage-2026-03.csv");
	acme_usage(f);
	usage(f, 20, "tokyo", "api_calls", "2026-03-10T01:00:00Z", "251000", NULL);
	usage(f, 21, "tokyo", "storage_gb", "2026-03-12T01:00:00Z", "40", NULL);
}

/* ---- the month-end close ---- */

static void month_end_issues_numbered_invoices_with_pdf_and_json(void **state)
{
	NEED_PG();
	march_data();
	/* eco is held (reconcile would have written this): not invoiced. */
	sql("INSERT INTO account_holds (run_id, account_ext, period_start, reason, detail) "
	    "SELECT max(id), 'eco', '2026-03-01', 'control_records', 'test' FROM runs");
	must("run", "month_end", "--period", "2026-03");
	long long run = last_run();

	/* Four invoices in account order, numbered from 1 without a gap, each
	 * equal to its current rating, line for line. */
	assert_int_equal(q_int("SELECT count(*) FROM invoices"), 4);
	assert_string_equal(q_text("SELECT string_agg(account_ext || '=' || number, ',' ORDER BY seq) FROM invoices"),
			    q_text("SELECT 'acme=%s,dst=%s,tokyo=%s,zurich=%s'", number(1), number(2), number(3), number(4)));
	assert_int_equal(q_int("SELECT count(*) FROM invoices i JOIN ratings_current r ON r.id = i.rating_id "
			       "WHERE (i.subtotal, i.tax_total, i.total, i.currency) = (r.subtotal, r.tax_total, r.total, r.currency)"),
			 4);
	assert_string_equal(q_text("SELECT total || ' ' || currency FROM invoices WHERE account_ext = 'acme'"), "177.31 EUR");
	assert_int_equal(q_int("SELECT count(*) FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id"),
			 q_int("SELECT count(*) FROM rated_lines_current WHERE account_ext <> 'eco'"));
	assert_int_equal(q_int("SELECT count(*) FROM invoice_lines l JOIN rated_lines r ON r.id = l.rated_line_id "
			       "WHERE l.amount <> r.amount OR l.line_no <> r.line_no"),
			 0);
	/* FX on the JPY invoice: 10.00 USD x 150.25. */
	assert_string_equal(q_text("SELECT fx_rate || ' ' || amount_price_currency || ' ' || amount FROM invoice_lines l "
				   "JOIN invoices i ON i.id = l.invoice_id WHERE i.account_ext = 'tokyo' AND l.line_no = 1"),
			    "150.25 10.00 1503");
	assert_int_equal(q_int("SELECT count(*) FROM invoices WHERE account_ext = 'eco'"), 0);
	assert_string_equal(q_text("SELECT (due_date - issue_date)::text FROM invoices WHERE account_ext = 'acme'"), "30");
	assert_int_equal(q_int("SELECT last_seq FROM invoice_series WHERE doc = 'invoice'"), 4);
	/* Audited: one entry for the batch, naming every number. */
	assert_int_equal(q_int("SELECT count(*) FROM audit_log WHERE kind = 'invoice.issued' "
			       "AND jsonb_array_length(payload::jsonb -> 'documents') = 4"),
			 1);

	/* PDF and JSON per invoice in the run's folder. */
	char path[1024], cmd[2048];
	for (int i = 1; i <= 4; i++) {
		snprintf(path, sizeof(path), "%s/invoices/%s.pdf", run_dir(run), number(i));
		assert_true(file_exists(path));
		snprintf(path, sizeof(path), "%s/invoices/%s.json", run_dir(run), number(i));
		assert_true(file_exists(path));
	}
	snprintf(path, sizeof(path), "%s/invoices/%s.pdf", run_dir(run), number(1));
	snprintf(cmd, sizeof(cmd), "pdftotext -layout '%s' -", path);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	const char *want[] = { "INVOICE", number(1), "Billrun Telecom GmbH", "VAT ID DE123456789", "ACME, Inc.",
			       "Account acme", "billing@acme.example", "2026-03-01 to 2026-03-31", "Due date",
			       "USt 19% on 149.00 EUR (DE)", "28.31", "Total due", "EUR 177.31", "page 1 of 1" };
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_contains(out, want[i]);
	assert_contains(out, q_text("SELECT due_date::text FROM invoices WHERE account_ext = 'acme'"));
	/* Each line in the customer's words (the fixture's labels and units),
	 * with its unit price or tiers and its amount, unchanged to the cent:
	 * a labelled fee, a graduated and a volume charge, a per-unit charge
	 * on a meter with a unit but no label (its name), the minimum without
	 * a label. */
	assert_line(out, "Pro plan, monthly fee", NULL, NULL, "49.00");
	assert_line(out, "Voice calls", "3,840 s", "first 3,840 s at 0.00015", "0.58");
	assert_line(out, "Storage", "250.5 GB", "250.5 GB at 0.08 (the tier up to 1,000 GB)", "20.04");
	assert_line(out, "active_users", "7 users", "5 users free; 2 users at 4.00", "8.00");
	assert_line(out, "commitment (minimum commitment)", NULL, NULL, "71.38");
	/* billrun's own names stay off the page; so do the run and the rule
	 * version, which are in the file's metadata instead. */
	assert_null(strstr(out, "plan pro"));
	assert_null(strstr(out, "(graduated"));
	assert_null(strstr(out, "Rule version"));
	assert_null(strstr(out, "Run "));
	assert_null(strstr(out, "run 2"));
	snprintf(cmd, sizeof(cmd), "pdfinfo '%s'", path);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	char meta[256];
	snprintf(meta, sizeof(meta), "billrun-run=%lld billrun-rule-version=%s billrun-rule-sha256=%s", run,
		 q_text("SELECT rule_version::text FROM invoices WHERE account_ext = 'acme'"),
		 q_text("SELECT v.sha256 FROM invoices i JOIN rule_versions v ON v.id = i.rule_version "
			"WHERE i.account_ext = 'acme'"));
	assert_contains(out, meta);
	snprintf(meta, sizeof(meta), "billrun run %lld, rule version ", run);
	assert_contains(out, meta);
	/* A page as an image, as a customer sees it. */
	snprintf(cmd, sizeof(cmd), "pdftoppm -r 60 -png -f 1 -l 1 '%s' '%s/page' && od -An -c -N4 '%s/page-1.png'", path,
		 dir, dir);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	assert_contains(out, "P   N   G");
	snprintf(path, sizeof(path), "%s/invoices/%s.pdf", run_dir(run), number(3));
	snprintf(cmd, sizeof(cmd), "pdftotext -layout '%s' -", path);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	assert_contains(out, "10.00 USD x 150.25 (rate of");
	assert_contains(out, "JPY 18,330");
	/* A charge's label before its meter's; a converted line's prices in
	 * the currency of the price list. */
	assert_line(out, "API requests", "251,000 calls", "1,000 calls free; first 250,000 calls at 0.0004 USD", NULL);
	assert_null(strstr(out, "API calls"));
	/* zurich used nothing: its API line is left out, its storage line
	 * (show_zero on the charge) is printed, at zero. */
	snprintf(path, sizeof(path), "%s/invoices/%s.pdf", run_dir(run), number(4));
	snprintf(cmd, sizeof(cmd), "pdftotext -layout '%s' -", path);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	assert_line(out, "Storage", "0 GB", NULL, "0");
	assert_null(strstr(out, "API requests"));
	assert_null(strstr(out, "calls"));
	snprintf(cmd, sizeof(cmd), "cat '%s/invoices/%s.json'", run_dir(run), number(4));
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	assert_contains(out, "\"label\": \"Storage\"");
	assert_null(strstr(out, "\"meter\": \"api_calls\""));
	/* Only the JSON and the PDF leave it out: the issued invoice has it. */
	assert_int_equal(q_int("SELECT count(*) FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id "
			       "WHERE i.account_ext = 'zurich' AND l.meter = 'api_calls' AND l.amount = 0"),
			 1);

	snprintf(cmd, sizeof(cmd), "cat '%s/invoices/%s.json'", run_dir(run), number(1));
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	assert_contains(out, "\"format\": \"billrun-invoice/1\"");
	assert_contains(out, "\"total\": \"177.31\"");
	assert_contains(out, "\"name\": \"Billrun Telecom GmbH\"");
	assert_contains(out, "\"period\": {\"start\": \"2026-03-01\", \"end\": \"2026-03-31\"}");
	/* The run and the rule version stay in the JSON, for auditors. */
	char audit[256];
	snprintf(audit, sizeof(audit), "\"run\": %lld,", run);
	assert_contains(out, audit);
	assert_contains(out, q_text("SELECT '\"rule_version\": {\"id\": ' || i.rule_version || ', \"sha256\": \"' || v.sha256 "
				    "|| '\"}' FROM invoices i JOIN rule_versions v ON v.id = i.rule_version "
				    "WHERE i.account_ext = 'acme'"));
	/* The lines in words: label, unit, tiers and amount. */
	assert_contains(out, "\"label\": \"Voice calls\"");
	assert_contains(out, "\"unit\": \"s\"");
	assert_contains(out, "\"text\": \"first 3,840 s at 0.00015\"");
	assert_contains(out, "\"steps\": [{\"tier\": 1, \"from\": \"0\", \"to\": \"60000\", \"units\": \"3840\", "
			     "\"price\": \"0.00015\"");
	assert_contains(out, "\"label\": \"active_users\"");
	assert_contains(out, "\"unit_price\": \"4.00\"");
	assert_contains(out, "\"amount\": \"8.00\"");

	/* Redone in the same run (as after a crash): nothing issued twice,
	 * the folder still holds every document of the run. */
	sql("UPDATE runs SET status = 'running' WHERE id = %lld", run);
	sql("UPDATE run_steps SET status = 'pending' WHERE run_id = %lld AND step = 'invoice'", run);
	must("resume", q_text("SELECT %lld", run));
	assert_int_equal(q_int("SELECT count(*) FROM invoices"), 4);
	snprintf(path, sizeof(path), "%s/invoices/%s.pdf", run_dir(run), number(4));
	assert_true(file_exists(path));
	snprintf(path, sizeof(path), "%s/.invoices.tmp", run_dir(run));
	assert_false(file_exists(path));

	/* The hold is released: the next run invoices eco, number 5. */
	sql("INSERT INTO hold_releases (hold_id, released_by, note) SELECT id, 'test', 'checked' FROM account_holds");
	must("run", "nightly", "--period", "2026-04-02");
	assert_string_equal(q_text("SELECT number FROM invoices WHERE account_ext = 'eco'"), number(5));
	assert_int_equal(q_int("SELECT count(*) FROM invoices"), 5);
}

/* ---- the words and the rule version ---- */

/* The words are the rule version's: after the rate card renames a charge,
 * a rerun with the original version prints the original label, one with
 * the current version the new one, and an issued invoice drawn again
 * keeps its words. (An FX correction makes each rerun issue anew.) */
static void a_rerun_on_the_original_rule_version_prints_the_original_words(void **state)
{
	NEED_PG();
	march_data();
	must("run", "month_end", "--period", "2026-03");
	long long run = last_run();
	char id[24], cmd[2048], path[1024];
	snprintf(id, sizeof(id), "%lld", run);

	/* The card now calls tokyo's API charge something else. */
	snprintf(cmd, sizeof(cmd), "sed 's/label = \"API requests\"/label = \"Requests via the API\"/' '%s' >'%s/rates.conf'",
		 test_src("tests/fixtures/invoice/rates.conf"), dir);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	snprintf(rules, sizeof(rules), "%s/rates.conf", dir);
	write_config(NULL, NULL);

	sql("INSERT INTO fx_rates (base, quote, as_of, rate, source) VALUES ('USD', 'JPY', '2026-03-31', 151.00, 'fix')");
	must("rerun", id, "--from", "rate", "--account", "tokyo");
	long long original = last_run();
	assert_int_equal(q_int("SELECT count(*) FROM invoices WHERE run_id = %lld", original), 1);
	assert_int_equal(q_int("SELECT count(*) FROM runs r JOIN runs o ON o.id = %lld WHERE r.id = %lld "
			       "AND r.rule_version = o.rule_version", run, original),
			 1);
	snprintf(path, sizeof(path), "%s/invoices/%s.pdf", run_dir(original), number(6));
	snprintf(cmd, sizeof(cmd), "pdftotext -layout '%s' -", path);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	assert_line(out, "API requests", "251,000 calls", "first 250,000 calls at 0.0004 USD", "15,100");
	assert_null(strstr(out, "Requests via the API"));

	sql("INSERT INTO fx_rates (base, quote, as_of, rate, source) VALUES ('USD', 'JPY', '2026-03-31', 152.00, 'fix2')");
	must("rerun", id, "--from", "rate", "--account", "tokyo", "--rules", "current");
	long long current = last_run();
	assert_int_equal(q_int("SELECT count(*) FROM invoices WHERE run_id = %lld", current), 1);
	snprintf(path, sizeof(path), "%s/invoices/%s.pdf", run_dir(current), number(7));
	snprintf(cmd, sizeof(cmd), "pdftotext -layout '%s' -", path);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	assert_line(out, "Requests via the API", "251,000 calls", "first 250,000 calls at 0.0004 USD", "15,200");
	snprintf(cmd, sizeof(cmd), "cat '%s/invoices/%s.json'", run_dir(current), number(7));
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	assert_contains(out, "\"label\": \"Requests via the API\"");

	/* The first invoice, drawn again, says what it said. */
	char copy[512];
	snprintf(copy, sizeof(copy), "%s/copy.pdf", dir);
	must("invoice", "show", "--pdf", copy, number(4));
	snprintf(cmd, sizeof(cmd), "pdftotext -layout '%s' -", copy);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	assert_line(out, "API requests", "251,000 calls", NULL, "15,025");
	assert_null(strstr(out, "Requests via the API"));
}

/* ---- show, trace, list ---- */

static void show_trace_and_list(void **state)
{
	NEED_PG();
	march_data();
	must("run", "month_end", "--period", "2026-03");

	must("invoice", "show", number(1));
	assert_contains(out, "INVOICE ");
	assert_contains(out, "acme (ACME, Inc.)");
	assert_contains(out, "2026-03-01 to 2026-03-31");
	assert_contains(out, "Voice calls");
	assert_contains(out, "subtotal 149.00 EUR, tax 28.31 EUR, total 177.31 EUR");
	assert_contains(out, ".pdf");
	assert_null(strstr(out, "(not there)"));
	must("invoice", "show", "--json", number(1));
	assert_contains(out, "\"number\": ");
	/* A copy drawn again reads the same. */
	char copy[512], cmd[1024];
	snprintf(copy, sizeof(copy), "%s/copy.pdf", dir);
	must("invoice", "show", "--pdf", copy, number(1));
	snprintf(cmd, sizeof(cmd), "pdftotext -layout '%s' -", copy);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	assert_contains(out, "EUR 177.31");

	/* Line 2 (voice) is four calls from usage-2026-03.csv, lines 2 to 5;
	 * the call at 23:30 UTC on 28 February is 00:30 on 1 March in Berlin. */
	must("invoice", "trace", number(1), "2");
	assert_contains(out, "4 usage records of meter voice_seconds");
	assert_contains(out, "usage-2026-03.csv:2 ");
	assert_contains(out, "usage-2026-03.csv:5 ");
	assert_contains(out, "2026-03-01 00:30:00");
	assert_null(strstr(out, "usage-2026-03.csv:6 "));
	must("invoice", "trace", number(1));
	assert_contains(out, "7 usage records of meter active_users");
	assert_contains(out, "a recurring line: no usage records");
	assert_int_equal(billrun("invoice", "trace", number(1), "99"), 65);
	assert_int_equal(billrun("invoice", "show", "INV-1999-000001"), 65);
	assert_contains(out, "no invoice or credit note numbered 'INV-1999-000001'");
	assert_int_equal(billrun("invoice", "frob"), 64);

	must("invoice", "list");
	assert_contains(out, number(4));
	must("invoice", "list", "--account", "tokyo");
	assert_contains(out, "18330");
	assert_null(strstr(out, "acme"));
	must("invoice", "list", "--drafts");
	assert_contains(out, "no drafts");
}

/* ---- numbering under concurrency and SIGKILL ---- */

static void parallel_issuers_leave_no_gap_after_sigkill(void **state)
{
	NEED_PG();
	enum { ACCOUNTS = 60, RUNNERS = 4, HELD = 31 };
	rated_accounts(ACCOUNTS);
	/* Four DAGs (four locks, four runners) issue from the same ratings,
	 * three invoices per transaction, JSON only. */
	write_config("batch_size = 3; pdf = false; render_workers = 1;",
		     "p1 = { period = \"month\"; steps = ( { name = \"invoice\"; job = \"invoice\"; } ); };\n"
		     "p2 = { period = \"month\"; steps = ( { name = \"invoice\"; job = \"invoice\"; } ); };\n"
		     "p3 = { period = \"month\"; steps = ( { name = \"invoice\"; job = \"invoice\"; } ); };\n"
		     "p4 = { period = \"month\"; steps = ( { name = \"invoice\"; job = \"invoice\"; } ); };\n");
	/* The interleaving is forced, not hoped for. An uncommitted review of
	 * account HELD's rating, from a session of the test, stops the first
	 * issuer at the batch holding that account: after it has committed
	 * the batches before it (invoices 1 to HELD - 1) and numbered the
	 * held batch, at its own insert of that review, with the series
	 * counter locked. It is killed there; the others, started while it
	 * waits, queue for the counter behind it and issue the rest. */
	PGconn *hold = PQconnectdb(dsn);
	assert_int_equal(PQstatus(hold), CONNECTION_OK);
	PQclear(PQexec(hold, "BEGIN"));
	char held[16];
	snprintf(held, sizeof(held), "p%04d", HELD);
	const char *hp[] = { held };
	PGresult *r = PQexecParams(hold, "INSERT INTO invoice_reviews (rating_id, run_id, account_ext, period_local_start, "
					 "outcome) SELECT id, run_id, account_ext, period_local_start, 'empty' FROM ratings "
					 "WHERE account_ext = $1",
				   1, NULL, hp, NULL, NULL, 0);
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	assert_string_equal(PQcmdTuples(r), "1");
	PQclear(r);
	int pids[RUNNERS];
	pids[0] = test_spawn_billrun(conf, "run", "p1", "--period", "2026-03", NULL);
	assert_true(test_wait_for(conn, 1, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
					   "AND query LIKE '-- invoice_issue_reviews%'"));
	long long victim = q_int("SELECT a.pid FROM step_attempts a JOIN runs r ON r.id = a.run_id "
				 "WHERE r.dag = 'p1' AND a.status = 'running'");
	long long victim_run = q_int("SELECT id FROM runs WHERE dag = 'p1'");
	assert_true(victim > 0);
	/* It stopped where it was made to: all before the held batch issued
	 * and committed, by it alone. */
	assert_int_equal(q_int("SELECT count(*) FROM invoices"), HELD - 1);
	assert_int_equal(q_int("SELECT count(*) FROM invoices WHERE run_id = %lld", victim_run), HELD - 1);
	assert_int_equal(q_int("%s", numbering_ok), 1);
	/* The others start, draft what is left, and queue for the counter
	 * behind it (at its lock, or already at ensuring its row, whose new
	 * version is the held transaction's): all of them, before it is
	 * killed. */
	for (int i = 1; i < RUNNERS; i++) {
		char dag[8];
		snprintf(dag, sizeof(dag), "p%d", i + 1);
		pids[i] = test_spawn_billrun(conf, "run", dag, "--period", "2026-03", NULL);
	}
	assert_true(test_wait_for(conn, RUNNERS - 1, "SELECT count(*) FROM pg_stat_activity "
						    "WHERE wait_event_type = 'Lock' AND query LIKE '-- invoice_series_%'"));
	assert_int_equal(q_int("SELECT count(*) FROM invoices"), HELD - 1);
	kill(-(pid_t)victim, SIGKILL);
	PQclear(PQexec(hold, "ROLLBACK"));
	PQfinish(hold);
	int ok = 0;
	for (int i = 0; i < RUNNERS; i++) {
		int status = 0;
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
	}
	/* The three that were not killed finished; the killed run failed. */
	assert_int_equal(ok, RUNNERS - 1);

	/* No gap, no number twice, no period twice; the numbers the killed
	 * transaction had taken (HELD onwards) went to the issuers after it;
	 * the killed run issued what it committed and nothing more. */
	assert_int_equal(q_int("SELECT count(*) FROM invoices"), ACCOUNTS);
	assert_int_equal(q_int("%s", numbering_ok), 1);
	assert_int_equal(q_int("SELECT count(*) FROM (SELECT account_ext FROM invoices GROUP BY account_ext, "
			       "period_local_start HAVING count(*) > 1) x"),
			 0);
	assert_int_equal(q_int("SELECT count(*) FROM invoices WHERE run_id = %lld", victim_run), HELD - 1);
	assert_int_equal(q_int("SELECT max(seq) FROM invoices WHERE run_id = %lld", victim_run), HELD - 1);
	assert_int_not_equal(q_int("SELECT run_id FROM invoices WHERE seq = %d", HELD), victim_run);
	assert_string_equal(q_text("SELECT account_ext FROM invoices WHERE seq = %d", HELD), held);
	/* The killed step is resumed: it issues what is left (nothing), once,
	 * and writes the documents it had issued before it was killed that
	 * have no files yet. */
	assert_string_equal(q_text("SELECT status FROM run_steps WHERE run_id = %lld", victim_run), "failed");
	sql("UPDATE runs SET status = 'running' WHERE id = %lld", victim_run);
	sql("UPDATE run_steps SET status = 'pending' WHERE run_id = %lld", victim_run);
	must("resume", q_text("SELECT %lld", victim_run));
	assert_int_equal(q_int("SELECT count(*) FROM invoices"), ACCOUNTS);
	assert_int_equal(q_int("%s", numbering_ok), 1);
	assert_int_equal(q_int("SELECT count(DISTINCT account_ext) FROM invoices"), ACCOUNTS);
	assert_int_equal(q_int("SELECT count(*) FROM invoice_drafts"), 0);
	/* The JSON of every invoice is in one run's folder, once (the killed
	 * run's documents were written by its resume, or by an issuer that
	 * finished after the killed run had ended), as recorded. */
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "ls %s/state/output/*/2026-03-01/run-*/invoices/ | grep -c json", dir);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	assert_int_equal(atoi(out), ACCOUNTS);
	assert_int_equal(q_int("SELECT count(*) FROM invoice_files f JOIN invoices i ON i.id = f.document_id "
			       "WHERE f.doc_table = 'invoice' AND f.number = i.number AND f.json_sha256 IS NOT NULL"),
			 ACCOUNTS);
}

/* ---- immutability ---- */

static void issued_documents_cannot_be_changed(void **state)
{
	NEED_PG();
	rated_accounts(3);
	must("run", "month_end", "--period", "2026-03");
	assert_int_equal(q_int("SELECT count(*) FROM invoices"), 3);
	PGconn *app = PQconnectdb(dsn);
	assert_int_equal(PQstatus(app), CONNECTION_OK);
	PQclear(PQexec(app, "SET ROLE billrun_app"));
	static const char *const forbidden[] = {
		"UPDATE invoices SET total = 0",
		"DELETE FROM invoices",
		"UPDATE invoice_lines SET amount = 0",
		"DELETE FROM invoice_lines",
		"UPDATE credit_notes SET total = 0",
		"DELETE FROM credit_note_lines",
		"UPDATE invoice_reviews SET outcome = 'empty'",
		"DELETE FROM invoice_reviews",
		"TRUNCATE invoices",
		"UPDATE invoice_series SET last_seq = last_seq - 1",
		"DELETE FROM invoice_series",
	};
	for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
		PGresult *r = PQexec(app, forbidden[i]);
		if (PQresultStatus(r) == PGRES_COMMAND_OK) {
			fprintf(stderr, "allowed: %s\n", forbidden[i]);
			fail();
		}
		assert_string_equal(PQresultErrorField(r, PG_DIAG_SQLSTATE), "42501");
		PQclear(r);
	}
	PQfinish(app);
	/* Not even the owner: the append-only trigger of 001. */
	PGresult *r = PQexec(conn, "UPDATE invoices SET total = total");
	assert_int_not_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	assert_string_equal(q_text("SELECT sum(total) FROM invoices"), "35.70");
}

/* ---- disputes ---- */

static void dispute_rerun_issues_credit_note_and_new_invoice_only_on_change(void **state)
{
	NEED_PG();
	march_data();
	must("run", "month_end", "--period", "2026-03");
	long long run = last_run();
	char id[24];
	snprintf(id, sizeof(id), "%lld", run);

	/* A rerun that changes nothing issues nothing. */
	must("rerun", id, "--from", "rate", "--account", "acme");
	assert_int_equal(q_int("SELECT count(*) FROM invoices"), 5);
	assert_int_equal(q_int("SELECT count(*) FROM credit_notes"), 0);
	assert_string_equal(q_text("SELECT outcome FROM invoice_reviews WHERE run_id = %lld", last_run()), "unchanged");

	/* The March rate was wrong: 151.00, not 150.25. tokyo's rerun credits
	 * the invoice in full and issues a new one; the original stays. */
	const char *before = q_text("SELECT total || '/' || (SELECT count(*) FROM invoice_lines l WHERE l.invoice_id = i.id) "
				    "FROM invoices i WHERE number = '%s'", number(4));
	char original[64];
	snprintf(original, sizeof(original), "%s", before);
	sql("INSERT INTO fx_rates (base, quote, as_of, rate, source) VALUES ('USD', 'JPY', '2026-03-31', 151.00, 'fix')");
	must("rerun", id, "--from", "rate", "--account", "tokyo");
	long long rerun = last_run();
	char cn[32];
	snprintf(cn, sizeof(cn), "CN-%s-000001", year);
	assert_string_equal(q_text("SELECT number || ' ' || reason || ' ' || total FROM credit_notes"),
			    q_text("SELECT '%s correction 18330'", cn));
	assert_string_equal(q_text("SELECT i.number FROM credit_notes c JOIN invoices i ON i.id = c.invoice_id"), number(4));
	assert_string_equal(q_text("SELECT number || ' ' || (replaces = (SELECT id FROM invoices WHERE number = '%s')) "
				   "FROM invoices WHERE run_id = %lld",
				   number(4), rerun),
			    q_text("SELECT '%s true'", number(6)));
	/* 10.00 USD x 151 = 1510; 250000 x 0.0004 = 100.00 USD = 15100;
	 * 0.92 USD = 138.92 -> 139; tax 10 % of 16610 = 1661, 8 % of 139 = 11. */
	assert_string_equal(q_text("SELECT total FROM invoices WHERE number = '%s'", number(6)), "18421");
	assert_string_equal(q_text("SELECT total || '/' || (SELECT count(*) FROM invoice_lines l WHERE l.invoice_id = i.id) "
				   "FROM invoices i WHERE number = '%s'",
				   number(4)),
			    original);
	assert_string_equal(q_text("SELECT outcome FROM invoice_reviews WHERE run_id = %lld", rerun), "reissued");
	/* Credit notes have a gapless series of their own. */
	assert_int_equal(q_int("SELECT last_seq FROM invoice_series WHERE doc = 'credit_note'"), 1);

	char path[1024], cmd[2048];
	snprintf(path, sizeof(path), "%s/invoices/%s.pdf", run_dir(rerun), cn);
	assert_true(file_exists(path));
	snprintf(cmd, sizeof(cmd), "pdftotext -layout '%s' -", path);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	assert_contains(out, "CREDIT NOTE");
	assert_contains(out, number(4));
	assert_contains(out, "Total credited");
	snprintf(path, sizeof(path), "%s/invoices/%s.pdf", run_dir(rerun), number(6));
	assert_true(file_exists(path));

	must("invoice", "show", number(4));
	assert_contains(out, cn);
	assert_contains(out, "credited by");
	assert_contains(out, "replaced by");
	/* Rerunning the same dispute again changes nothing more. */
	must("rerun", id, "--from", "rate", "--account", "tokyo");
	assert_int_equal(q_int("SELECT count(*) FROM credit_notes"), 1);
	assert_int_equal(q_int("SELECT count(*) FROM invoices"), 6);
}

/* ---- late usage ---- */

static void late_usage_is_billed_on_a_supplementary_invoice(void **state)
{
	NEED_PG();
	march_data();
	must("run", "month_end", "--period", "2026-03");
	assert_string_equal(q_text("SELECT total FROM invoices WHERE account_ext = 'acme'"), "177.31");

	/* A storage reading of 2000 GB for March arrives in April: storage
	 * is 2000 x 0.05 + 10.00 = 110.00 (was 20.04), the minimum is met
	 * (was 71.38), tax 31.84 (was 28.31): 89.96 - 71.38 + 3.53 = 22.11. */
	long long f = usage_file("usage-2026-04-02.csv");
	usage(f, 7, "acme", "storage_gb", "2026-03-30T12:00:00Z", "2000", NULL);
	must("run", "nightly", "--period", "2026-04-02");
	assert_string_equal(q_text("SELECT number || ' ' || kind || ' ' || total FROM invoices WHERE kind = 'supplementary'"),
			    q_text("SELECT '%s supplementary 22.11'", number(6)));
	assert_string_equal(q_text("SELECT string_agg(l.line_no || ':' || l.kind || ':' || l.amount, ',' ORDER BY l.line_no) "
				   "FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id WHERE i.kind = 'supplementary'"),
			    "1:usage:89.96,2:minimum:-71.38,3:tax:3.53");
	assert_string_equal(q_text("SELECT s.supplements = o.id FROM invoices s, invoices o WHERE s.kind = 'supplementary' "
				   "AND o.number = '%s'",
				   number(1)),
			    "t");
	/* The original never changed. */
	assert_string_equal(q_text("SELECT total FROM invoices WHERE number = '%s'", number(1)), "177.31");
	/* Its trace shows the late record only, from the file it came in. */
	must("invoice", "trace", number(6), "1");
	assert_contains(out, "1 usage record of meter storage_gb that arrived after");
	assert_contains(out, "usage-2026-04-02.csv:7");
	/* The next night has nothing new. */
	must("run", "nightly", "--period", "2026-04-03");
	assert_int_equal(q_int("SELECT count(*) FROM invoices"), 6);
}

static void late_usage_goes_on_the_next_invoice_after_the_grace_period(void **state)
{
	NEED_PG();
	write_config("late_usage = \"next_invoice\"; grace_period = \"2d\";", NULL);
	march_data();
	/* Month end: March has closed, but the grace period has not passed. */
	must("run", "month_end", "--period", "2026-03");
	assert_int_equal(q_int("SELECT count(*) FROM invoices"), 0);
	assert_contains(out, "wait for the grace period");
	/* Usage that arrives within the grace period is on the invoice: an
	 * eighth active user, 12.00 (minimum 67.38). */
	long long f = usage_file("usage-2026-04-01.csv");
	usage(f, 1, "acme", "active_users", "2026-03-30T12:00:00Z", "1", "'{\"user\": \"h\"}'");
	must("run", "nightly", "--period", "2026-04-01");
	assert_int_equal(q_int("SELECT count(*) FROM invoices"), 0); /* 1 April + 2 days > 2 April */
	must("run", "nightly", "--period", "2026-04-02");
	assert_int_equal(q_int("SELECT count(*) FROM invoices"), 5);
	assert_string_equal(q_text("SELECT amount FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id "
				   "WHERE i.account_ext = 'acme' AND l.line_no = 4"),
			    "12.00");
	/* Later usage waits for the next invoice: nothing is issued now. The
	 * storage reading adds 22.11 as before (here: 89.96 - 67.38 ... see
	 * below); the March invoice never changes. */
	f = usage_file("usage-2026-04-05.csv");
	usage(f, 3, "acme", "storage_gb", "2026-03-30T12:00:00Z", "2000", NULL);
	must("run", "nightly", "--period", "2026-04-05");
	assert_int_equal(q_int("SELECT count(*) FROM invoices"), 5);
	assert_contains(out, "wait for the account's next invoice");
	/* April closes; its invoices (after the grace period) carry March's
	 * difference as adjustment lines: storage +89.96, minimum -67.38,
	 * tax +4.29 (19 % of 171.58 = 32.60, was 28.31). */
	must("run", "month_end", "--period", "2026-04");
	assert_int_equal(q_int("SELECT count(*) FROM invoices"), 5);
	must("run", "nightly", "--period", "2026-05-02");
	const char *april = q_text("SELECT number FROM invoices WHERE account_ext = 'acme' AND period_local_start = '2026-04-01'");
	assert_true(april[0] != '\0');
	assert_string_equal(q_text("SELECT string_agg(l.kind || ':' || l.amount, ',' ORDER BY l.line_no) FROM invoice_lines l "
				   "JOIN invoices i ON i.id = l.invoice_id WHERE i.number = '%s' AND l.adjustment "
				   "AND l.period_local_start = '2026-03-01'",
				   april),
			    "usage:89.96,minimum:-67.38,tax:4.29");
	assert_string_equal(q_text("SELECT total FROM invoices WHERE account_ext = 'acme' AND period_local_start = '2026-03-01'"),
			    "177.31"); /* the eighth user was on it: 12.00, minimum 67.38 */
	assert_int_equal(q_int("SELECT count(*) FROM invoices WHERE kind = 'supplementary'"), 0);
	assert_string_equal(q_text("SELECT outcome FROM invoice_reviews v JOIN ratings r ON r.id = v.rating_id "
				   "WHERE r.account_ext = 'acme' AND r.period_local_start = '2026-03-01' ORDER BY v.created_at DESC LIMIT 1"),
			    "adjusted");
	must("invoice", "show", april);
	assert_contains(out, "adjusts the period starting 2026-03-01");
}

/* Late usage that only moves money between lines (an eighth active user:
 * users 8.00 -> 12.00, the minimum's true-up 71.38 -> 67.38, tax base
 * unchanged): no supplementary invoice of 0.00; the change waits for the
 * account's next invoice and is on it as adjustment lines. */
static void late_usage_that_moves_no_money_goes_on_the_next_invoice(void **state)
{
	NEED_PG();
	march_data();
	must("run", "month_end", "--period", "2026-03");
	assert_string_equal(q_text("SELECT total FROM invoices WHERE account_ext = 'acme'"), "177.31");
	long long f = usage_file("usage-2026-04-02.csv");
	usage(f, 1, "acme", "active_users", "2026-03-30T12:00:00Z", "1", "'{\"user\": \"h\"}'");
	must("run", "nightly", "--period", "2026-04-02");
	assert_int_equal(q_int("SELECT count(*) FROM invoices"), 5);
	assert_int_equal(q_int("SELECT count(*) FROM credit_notes"), 0);
	assert_contains(out, "wait for the account's next invoice");
	/* April's invoice carries it; no number was taken meanwhile. */
	must("run", "month_end", "--period", "2026-04");
	const char *april = q_text("SELECT number FROM invoices WHERE account_ext = 'acme' AND period_local_start = '2026-04-01'");
	assert_string_equal(april, number(6));
	assert_string_equal(q_text("SELECT string_agg(l.kind || ':' || l.amount, ',' ORDER BY l.line_no) FROM invoice_lines l "
				   "JOIN invoices i ON i.id = l.invoice_id WHERE i.number = '%s' AND l.adjustment "
				   "AND l.period_local_start = '2026-03-01'",
				   april),
			    "usage:4.00,minimum:-4.00");
	assert_string_equal(q_text("SELECT total FROM invoices WHERE number = '%s'", april), "177.31");
	assert_int_equal(q_int("SELECT count(*) FROM invoices WHERE kind = 'supplementary'"), 0);
	assert_string_equal(q_text("SELECT outcome FROM invoice_reviews v JOIN ratings r ON r.id = v.rating_id "
				   "WHERE r.account_ext = 'acme' AND r.period_local_start = '2026-03-01' ORDER BY v.created_at DESC LIMIT 1"),
			    "adjusted");
	/* What is billed for March now equals its current rating, line by line. */
	assert_int_equal(q_int("SELECT count(*) FROM (SELECT line_key, sum(amount) AS a FROM invoice_billed_lines "
			       "WHERE account_ext = 'acme' AND period_local_start = '2026-03-01' GROUP BY 1) b "
			       "FULL JOIN (SELECT billrun_invoice_line_key(kind, plan, charge, meter, tax_group, "
			       "tax_jurisdiction, tax_rate) AS line_key, sum(amount) AS a FROM rated_lines_current "
			       "WHERE account_ext = 'acme' AND period_local_start = '2026-03-01' GROUP BY 1) c USING (line_key) "
			       "WHERE b.a IS DISTINCT FROM c.a"),
			 0);
}

/* late_usage = next_invoice: a late credit larger than the next invoice's
 * charges never makes a negative invoice. Two untaxed accounts on
 * meter_mix (adjustment: 1.00 a unit, credits allowed), 10.00 in March,
 * 5.00 in April; a late March credit of 5.00 (equal to April's charges)
 * and of 5.01 (0.01 more). */
static void a_late_credit_never_makes_a_negative_invoice(void **state)
{
	NEED_PG();
	write_config("late_usage = \"next_invoice\";", NULL);
	load_fixtures();
	char path[512];
	snprintf(path, sizeof(path), "%s/credit_accounts.csv", dir);
	assert_int_equal(test_write_file(path, "external_id,time_zone,anchor_day,currency,address_line1,city,postcode,"
					       "country,endpoint,valid_from\n"
					       "credit_eq,Europe/Berlin,1,EUR,Ring 1,Wien,1010,AT,0088:4000001000005,2025-01-01\n"
					       "credit_over,Europe/Berlin,1,EUR,Ring 2,Wien,1010,AT,0088:4500002000009,2025-01-01\n"),
			 0);
	must("accounts", "import", path);
	snprintf(path, sizeof(path), "%s/credit_subscriptions.csv", dir);
	assert_int_equal(test_write_file(path, "account,plan,valid_from\n"
					       "credit_eq,meter_mix,2026-01-01\n"
					       "credit_over,meter_mix,2026-01-01\n"),
			 0);
	must("subscriptions", "import", path);
	long long f = usage_file("usage-2026-03.csv");
	usage(f, 1, "credit_eq", "adjustment", "2026-03-10T10:00:00Z", "10", NULL);
	usage(f, 2, "credit_over", "adjustment", "2026-03-10T10:00:00Z", "10", NULL);
	must("run", "month_end", "--period", "2026-03");
	assert_string_equal(q_text("SELECT string_agg(account_ext || ' ' || total, ',' ORDER BY account_ext) FROM invoices "
				   "WHERE account_ext LIKE 'credit%%'"),
			    "credit_eq 10.00,credit_over 10.00");
	f = usage_file("usage-2026-04-02.csv");
	usage(f, 1, "credit_eq", "adjustment", "2026-03-20T10:00:00Z", "-5", NULL);
	usage(f, 2, "credit_over", "adjustment", "2026-03-20T10:00:00Z", "-5.01", NULL);
	usage(f, 3, "credit_eq", "adjustment", "2026-04-10T10:00:00Z", "5", NULL);
	usage(f, 4, "credit_over", "adjustment", "2026-04-10T10:00:00Z", "5", NULL);
	must("run", "nightly", "--period", "2026-04-02");
	assert_int_equal(q_int("SELECT count(*) FROM invoices WHERE account_ext LIKE 'credit%%'"), 2);
	must("run", "month_end", "--period", "2026-04");

	/* Equal: April's invoice is issued with its charges and the credit,
	 * total 0.00 (it is the period's own invoice). */
	assert_string_equal(q_text("SELECT total || ' ' || (SELECT string_agg(l.amount::text, ',' ORDER BY l.line_no) "
				   "FROM invoice_lines l WHERE l.invoice_id = i.id AND l.adjustment) FROM invoices i "
				   "WHERE account_ext = 'credit_eq' AND period_local_start = '2026-04-01'"),
			    "0.00 -5.00");
	/* 0.01 more: April's invoice bills its own 5.00, and March's late
	 * credit of 5.01 is a credit note referring to March's invoice. */
	assert_string_equal(q_text("SELECT total || ' ' || (SELECT count(*) FROM invoice_lines l WHERE l.invoice_id = i.id "
				   "AND l.adjustment) FROM invoices i "
				   "WHERE account_ext = 'credit_over' AND period_local_start = '2026-04-01'"),
			    "5.00 0");
	assert_string_equal(q_text("SELECT c.reason || ' ' || c.period_local_start || ' ' || c.total || ' ' || "
				   "(c.invoice_id = o.id) FROM credit_notes c JOIN invoices o ON o.account_ext = c.account_ext "
				   "AND o.period_local_start = '2026-03-01' WHERE c.account_ext = 'credit_over'"),
			    "late_usage 2026-03-01 5.01 true");
	assert_int_equal(q_int("SELECT count(*) FROM invoices WHERE total < 0"), 0);
	assert_int_equal(q_int("SELECT count(*) FROM credit_notes WHERE account_ext = 'credit_eq'"), 0);
	assert_string_equal(q_text("SELECT string_agg(outcome, ',' ORDER BY v.created_at, r.id) FROM invoice_reviews v JOIN ratings r "
				   "ON r.id = v.rating_id WHERE r.account_ext = 'credit_over' "
				   "AND r.period_local_start = '2026-03-01'"),
			    "invoiced,credited");
	assert_contains(out, "credited by credit notes instead");
}

/* ---- chargeback ---- */

static void chargeback_totals_equal_the_billed_costs(void **state)
{
	NEED_PG();
	write_config(NULL, "cb = { period = \"month\"; steps = ( { name = \"chargeback\"; job = \"chargeback\"; } ); };\n");
	/* The shared FOCUS sample (1,000 rows of September 2024), as ingest
	 * would store it: BilledCost as cost, ServiceName and ChargeCategory
	 * among the attributes. */
	const char *cols[] = { "AvailabilityZone", "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency",
			       "BillingPeriodEnd", "BillingPeriodStart", "ChargeCategory", "ChargeClass",
			       "ChargeDescription", "ChargeFrequency", "ChargePeriodEnd", "ChargePeriodStart",
			       "CommitmentDiscountCategory", "CommitmentDiscountId", "CommitmentDiscountName",
			       "CommitmentDiscountStatus", "CommitmentDiscountType", "ConsumedQuantity", "ConsumedUnit",
			       "ContractedCost", "ContractedUnitPrice", "EffectiveCost", "InvoiceIssuerName", "ListCost",
			       "ListUnitPrice", "PricingCategory", "PricingQuantity", "PricingUnit", "ProviderName",
			       "PublisherName", "RegionId", "RegionName", "ResourceId", "ResourceName", "ResourceType",
			       "ServiceCategory", "Id", "ServiceName", "SkuId", "SkuPriceId", "SubAccountId",
			       "SubAccountName", "Tags" };
	char create[4096] = "CREATE TABLE focus_raw (";
	for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
		snprintf(create + strlen(create), sizeof(create) - strlen(create), "%s\"%s\" text", i ? ", " : "", cols[i]);
	strcat(create, ")");
	sql("%s", create);
	PGresult *r = PQexec(conn, "COPY focus_raw FROM STDIN (FORMAT csv, HEADER true, NULL 'NULL')");
	assert_int_equal(PQresultStatus(r), PGRES_COPY_IN);
	PQclear(r);
	FILE *in = fopen(test_src("../shared/testdata/focus/focus_sample.csv"), "r");
	if (!in)
		skip();
	char buf[65536];
	size_t got;
	while ((got = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(PQputCopyData(conn, buf, (int)got), 1);
	fclose(in);
	assert_int_equal(PQputCopyEnd(conn, NULL), 1);
	r = PQgetResult(conn);
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	assert_int_equal(q_int("SELECT count(*) FROM focus_raw"), 1000);
	/* Accounts: the sub-accounts, in three cost centres and none. */
	sql("INSERT INTO accounts (external_id, valid_from, name, time_zone, anchor_day, currency, cost_centre) "
	    "SELECT s, '2024-01-01', 'sub ' || s, 'UTC', 1, 'USD', "
	    "CASE row_number() OVER (ORDER BY s) %% 4 WHEN 0 THEN '' WHEN 1 THEN 'CC-IT' WHEN 2 THEN 'CC-R&D, Lab' "
	    "ELSE 'CC-Sales' END FROM (SELECT DISTINCT \"SubAccountId\" AS s FROM focus_raw) x");
	usage_file("focus_sample.csv");
	sql("INSERT INTO usage (source, event_key, file_id, line_no, run_id, account_ext, meter, event_time, quantity, cost, "
	    "currency, attributes) SELECT 'cloud', md5(f::text) || row_number() OVER (), (SELECT max(id) FROM ingest_files), "
	    "(row_number() OVER ())::int + 1, (SELECT max(id) FROM runs), \"SubAccountId\", "
	    "'cloud.' || lower(regexp_replace(\"ServiceName\", '[^A-Za-z0-9]+', '_', 'g')), "
	    "\"ChargePeriodStart\"::timestamp AT TIME ZONE 'UTC', coalesce(\"ConsumedQuantity\"::numeric, 0), "
	    "\"BilledCost\"::numeric, \"BillingCurrency\", jsonb_build_object('ServiceName', \"ServiceName\", "
	    "'ChargeCategory', \"ChargeCategory\") FROM focus_raw f");
	sql("SELECT billrun_partials_catch_up()");

	must("run", "cb", "--period", "2024-09");
	long long run = last_run();
	/* Every CSV: its items add up to its total row, which is what the
	 * database holds for the cost centre; all totals together are the
	 * sample's BilledCost, exactly. */
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "ls '%s/chargeback'", run_dir(run));
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	char names[8192];
	snprintf(names, sizeof(names), "%s", out);
	assert_contains(names, "chargeback-CC-IT-2024-09-01.csv");
	assert_contains(names, "chargeback-unassigned-2024-09-01.csv");
	assert_contains(names, "chargeback-CC-R_D__Lab-");
	struct dec grand = dec_zero();
	int files = 0;
	for (char *name = strtok(names, "\n"); name; name = strtok(NULL, "\n")) {
		char path[2048];
		snprintf(path, sizeof(path), "%s/chargeback/%s", run_dir(run), name);
		/* The last two fields of each row are the billed cost and the
		 * charge (no field after them can hold a comma); the account
		 * rows (what each account is charged) are not items. */
		snprintf(cmd, sizeof(cmd), "awk -F, 'NR > 1 && $1 != \"account\" { print $1, $(NF-1) }' '%s' | tr -d '\\r'",
			 path);
		assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
		struct dec items = dec_zero(), total = dec_zero();
		int totals = 0;
		for (char *line = out; *line;) {
			char *nl = strchr(line, '\n');
			if (nl)
				*nl = '\0';
			char kind[16], value[64];
			if (sscanf(line, "%15s %63s", kind, value) == 2) {
				struct dec v;
				assert_int_equal(dec_parse_cstr(&v, value), 0);
				if (strcmp(kind, "item") == 0)
					assert_int_equal(dec_add(&items, items, v), 0);
				else {
					total = v;
					totals++;
				}
			}
			if (!nl)
				break;
			line = nl + 1;
		}
		assert_int_equal(totals, 1); /* one currency */
		assert_int_equal(dec_cmp(items, total), 0);
		char t[DEC_STR_MAX];
		dec_format(total, t, sizeof(t));
		assert_string_equal(q_text("SELECT (billed_cost = %s)::text FROM chargeback_reports WHERE run_id = %lld "
					   "AND file_name = '%s'",
					   t, run, name),
				    "true");
		assert_int_equal(dec_add(&grand, grand, total), 0);
		files++;
	}
	assert_int_equal(files, 4);
	char g[DEC_STR_MAX];
	dec_format(grand, g, sizeof(g));
	assert_string_equal(q_text("SELECT (sum(\"BilledCost\"::numeric) = %s)::text FROM focus_raw", g), "true");
	assert_string_equal(q_text("SELECT (sum(billed_cost) = (SELECT sum(cost) FROM usage))::text FROM chargeback_reports"),
			    "true");
	assert_string_equal(q_text("SELECT (sum(billed_cost) = (SELECT sum(\"BilledCost\"::numeric) FROM focus_raw f JOIN "
				   "accounts a ON a.external_id = f.\"SubAccountId\" WHERE a.cost_centre = 'CC-IT'))::text "
				   "FROM chargeback_reports WHERE cost_centre = 'CC-IT'"),
			    "true");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(month_end_issues_numbered_invoices_with_pdf_and_json, setup, teardown),
		cmocka_unit_test_setup_teardown(show_trace_and_list, setup, teardown),
		cmocka_unit_test_setup_teardown(a_rerun_on_the_original_rule_version_prints_the_original_words, setup,
						teardown),
		cmocka_unit_test_setup_teardown(parallel_issuers_leave_no_gap_after_sigkill, setup, teardown),
		cmocka_unit_test_setup_teardown(issued_documents_cannot_be_changed, setup, teardown),
		cmocka_unit_test_setup_teardown(dispute_rerun_issues_credit_note_and_new_invoice_only_on_change, setup,
						teardown),
		cmocka_unit_test_setup_teardown(late_usage_is_billed_on_a_supplementary_invoice, setup, teardown),
		cmocka_unit_test_setup_teardown(late_usage_goes_on_the_next_invoice_after_the_grace_period, setup, teardown),
		cmocka_unit_test_setup_teardown(late_usage_that_moves_no_money_goes_on_the_next_invoice, setup, teardown),
		cmocka_unit_test_setup_teardown(a_late_credit_never_makes_a_negative_invoice, setup, teardown),
		cmocka_unit_test_setup_teardown(chargeback_totals_equal_the_billed_costs, setup, teardown),
	};
	/* TEST_FILTER=pattern runs only the matching tests (when debugging). */
	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
