/*
 * test_invoice_files.c - the files of issued documents (migration 019;
 * jobs/INVOICES.md, "Documents and their files"). The output folder fills
 * while the invoice step draws: the step fails naming ENOSPC and the file,
 * leaves no file cut short behind, and `billrun status` reports the
 * invoices it issued as without documents. Once space is freed, the next
 * `billrun run` (or, in the other test, `rerun --from invoice`) writes
 * every one of them, once, under the same number: each JSON byte for byte
 * what `billrun invoice show --json` prints, each PDF's text what a copy
 * drawn again reads, each file's SHA-256 as recorded. Needs a small tmpfs
 * (root may mount one); skipped where none can be mounted. And two steps
 * writing the same documents at once keep one copy of each.
 */
#include "invoice_env.h"

enum { ACCOUNTS = 60 };

static char full[600];      /* the small file system holding the output */
static char issued[8192];   /* the failed run's numbers, in issue order */

static const char *bin(void)
{
	const char *b = getenv("BILLRUN_BIN");
	return b ? b : "./billrun";
}

static int teardown_files(void **state)
{
	char cmd[700];
	if (full[0]) {
		snprintf(cmd, sizeof(cmd), "umount '%s'", full);
		test_sh(cmd, sizeof(cmd), cmd);
	}
	full[0] = '\0';
	env_top = NULL;
	return teardown(state);
}

/*
 * ACCOUNTS accounts with a rated March; the output folder on a tmpfs too
 * small for their documents (about 16 kB each: a page for the JSON, one
 * for the PDF, one for the FOCUS export, one for the e-invoice); the close (the invoice step alone, ten invoices a
 * transaction) fails while drawing. Returns the failed run.
 */
static long long close_on_a_full_disk(void)
{
	static char top[700];
	char cmd[1600];
	snprintf(full, sizeof(full), "%s/full", dir);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && mount -t tmpfs -o size=160k tmpfs '%s'", full, full);
	if (test_sh(out, sizeof(out), cmd) != 0) {
		fprintf(stderr, "skipped: cannot mount a small tmpfs here to fill: %s\n", out);
		full[0] = '\0';
		skip();
	}
	snprintf(top, sizeof(top), "output_dir = \"%s/out\";", full);
	env_top = top;
	write_config("batch_size = 10; render_workers = 2;",
		     "close = { period = \"month\"; steps = ( { name = \"invoice\"; job = \"invoice\"; } ); };\n");
	rated_accounts(ACCOUNTS);

	int rc = billrun("run", "close", "--period", "2026-03");
	long long run = last_run();
	if (getenv("TEST_VERBOSE"))
		fprintf(stderr, "%s\n", out);
	/* The step failed, naming the error and the file. */
	assert_int_not_equal(rc, 0);
	assert_contains(out, "No space left on device (ENOSPC)");
	assert_contains(out, "/.invoices.tmp/INV-");
	assert_string_equal(q_text("SELECT status FROM run_steps WHERE run_id = %lld", run), "failed");
	/* It issued invoices (the batches before the disk was full, at
	 * least), none of them with files; no file of its is left, cut or
	 * whole, under any name. */
	long long n = q_int("SELECT count(*) FROM invoices WHERE run_id = %lld", run);
	assert_true(n >= 10);
	assert_int_equal(q_int("SELECT count(*) FROM invoice_files"), 0);
	snprintf(cmd, sizeof(cmd), "find '%s/out' -path '*invoices*' | wc -l", full);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	assert_int_equal(atoi(out), 0);
	/* status says so. */
	char id[24], line[96];
	snprintf(id, sizeof(id), "%lld", run);
	must("status", id);
	snprintf(line, sizeof(line), "%lld issued invoices without documents", n);
	assert_contains(out, line);
	must("--json", "status", id);
	snprintf(line, sizeof(line), "\"invoices_without_documents\":\"%lld\"", n);
	assert_contains(out, line);
	snprintf(issued, sizeof(issued), "%s",
		 q_text("SELECT string_agg(number, ' ' ORDER BY seq) FROM invoices WHERE run_id = %lld", run));
	return run;
}

static void free_space(void)
{
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "mount -o remount,size=16m '%s'", full);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
}

/* Every invoice has its files once, written by run `writer` for those the
 * failed run issued, under the numbers they were issued with. */
static void every_invoice_has_its_files_once(long long failed, long long writer)
{
	char cmd[4096], id[24], path[1200], copy[700];
	assert_string_equal(q_text("SELECT string_agg(number, ' ' ORDER BY seq) FROM invoices WHERE run_id = %lld", failed),
			    issued);
	assert_int_equal(q_int("SELECT count(*) FROM invoices"), ACCOUNTS);
	assert_int_equal(q_int("%s", numbering_ok), 1);
	assert_int_equal(q_int("SELECT count(*) FROM invoice_files"), ACCOUNTS);
	assert_int_equal(q_int("SELECT count(*) FROM invoices i JOIN invoice_files f ON f.doc_table = 'invoice' "
			       "AND f.document_id = i.id WHERE i.run_id = %lld AND f.run_id = %lld",
			       failed, writer),
			 q_int("SELECT count(*) FROM invoices WHERE run_id = %lld", failed));
	/* One JSON, one PDF and one FOCUS export per invoice in all the
	 * output, no other file
	 * of documents (nothing cut, nothing temporary, nothing twice). */
	snprintf(cmd, sizeof(cmd), "find '%s/out' -path '*invoices*' -type f | sed 's#.*/##' | sort | uniq | wc -l; "
		 "find '%s/out' -path '*invoices*' -type f | wc -l; find '%s/out' -name '*.tmp' | wc -l",
		 full, full, full);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	snprintf(path, sizeof(path), "%d\n%d\n0\n", 4 * ACCOUNTS, 4 * ACCOUNTS);
	assert_string_equal(out, path);
	/* Each file is what was recorded of it. */
	snprintf(cmd, sizeof(cmd), "cd '%s' && sha256sum invoices/*", run_dir(writer));
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	int files = 0;
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"), files++) {
		char sha[65], file[200];
		assert_int_equal(sscanf(line, "%64s %199s", sha, file), 2);
		assert_int_equal(q_int("SELECT count(*) FROM invoice_document_files WHERE run_id = %lld AND file = '%s' "
				       "AND sha256 = '%s' AND bytes > 0",
				       writer, file, sha),
				 1);
	}
	assert_int_equal(files, q_int("SELECT count(*) FROM invoice_document_files WHERE run_id = %lld", writer));
	/* The content is the document's: the JSON byte for byte, the PDF's
	 * text as a copy drawn again reads. */
	snprintf(copy, sizeof(copy), "%s/copy.pdf", dir);
	char numbers[8192];
	snprintf(numbers, sizeof(numbers), "%s", issued);
	for (char *num = strtok(numbers, " "); num; num = strtok(NULL, " ")) {
		snprintf(cmd, sizeof(cmd), "'%s' -c '%s' invoice show --json %s 2>/dev/null | cmp - '%s/invoices/%s.json'",
			 bin(), conf, num, run_dir(writer), num);
		assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	}
	const char *first = q_text("SELECT min(number) FROM invoices WHERE run_id = %lld", failed);
	snprintf(cmd, sizeof(cmd),
		 "'%s' -c '%s' invoice show --pdf '%s' %s >/dev/null 2>&1 && "
		 "pdftotext -layout '%s/invoices/%s.pdf' - >'%s/a.txt' && pdftotext -layout '%s' - >'%s/b.txt' && "
		 "cmp '%s/a.txt' '%s/b.txt' && grep -c 'Total due' '%s/a.txt'",
		 bin(), conf, copy, first, run_dir(writer), first, dir, copy, dir, dir, dir, dir);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	/* status has nothing missing to report any more, and says who wrote
	 * them. */
	snprintf(id, sizeof(id), "%lld", failed);
	must("status", id);
	assert_null(strstr(out, "without documents"));
	snprintf(path, sizeof(path), "were written by run %lld", writer);
	assert_contains(out, path);
	must("invoice", "show", first);
	assert_contains(out, run_dir(writer));
	assert_null(strstr(out, "(not there)"));
}

static void the_next_run_writes_what_a_full_disk_left_out(void **state)
{
	NEED_PG();
	long long failed = close_on_a_full_disk();
	free_space();
	must("run", "close", "--period", "2026-03");
	long long writer = last_run();
	assert_true(writer > failed);
	assert_contains(out, "issued by run");
	every_invoice_has_its_files_once(failed, writer);
	/* Written once: a later run has nothing left to write. */
	must("run", "close", "--period", "2026-04");
	assert_int_equal(q_int("SELECT count(*) FROM invoice_files"), ACCOUNTS);
	assert_int_equal(q_int("SELECT count(*) FROM invoice_files WHERE run_id = %lld", last_run()), 0);
}

static void a_rerun_from_invoice_writes_what_a_full_disk_left_out(void **state)
{
	NEED_PG();
	long long failed = close_on_a_full_disk();
	free_space();
	char id[24];
	snprintf(id, sizeof(id), "%lld", failed);
	must("rerun", id, "--from", "invoice");
	long long writer = last_run();
	assert_true(writer > failed);
	every_invoice_has_its_files_once(failed, writer);
}

/* Two steps write the same finished run's documents at once (a month-end
 * and a nightly run, say): the first to commit records them, the other
 * keeps none of its copies. The first is played by a session of the test
 * that records one document (as another run's step would, in its last
 * transaction) and commits only once the step waits for it. */
static void a_document_written_by_two_steps_at_once_is_kept_once(void **state)
{
	NEED_PG();
	long long failed = close_on_a_full_disk();
	free_space();
	sql("INSERT INTO runs (dag, period_kind, period_start, period_end, status, host, pid) "
	    "VALUES ('other', 'day', '2026-04-01', '2026-04-02', 'running', 'test', 1)");
	long long other = q_int("SELECT max(id) FROM runs WHERE dag = 'other'");
	const char *first = q_text("SELECT min(number) FROM invoices WHERE run_id = %lld", failed);
	char number[64];
	snprintf(number, sizeof(number), "%s", first);
	PGconn *hold = PQconnectdb(dsn);
	assert_int_equal(PQstatus(hold), CONNECTION_OK);
	PQclear(PQexec(hold, "BEGIN"));
	char run[24];
	snprintf(run, sizeof(run), "%lld", other);
	const char *hp[] = { run, number };
	PGresult *r = PQexecParams(hold, "INSERT INTO invoice_files (doc_table, document_id, number, run_id, json_file, "
					 "json_sha256, json_bytes) SELECT 'invoice', id, number, $1, 'invoices/x.json', "
					 "repeat('0', 64), 1 FROM invoices WHERE number = $2",
				   2, NULL, hp, NULL, NULL, 0);
	assert_string_equal(PQcmdTuples(r), "1");
	PQclear(r);
	int pid = test_spawn_billrun(conf, "run", "close", "--period", "2026-03", NULL);
	assert_true(test_wait_for(conn, 1, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
					   "AND query LIKE '-- invoice_render_record%'"));
	PQclear(PQexec(hold, "COMMIT"));
	PQfinish(hold);
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	long long writer = last_run();
	/* Every invoice recorded once; that one as the other run's, and its
	 * files are not in the step's folder; the others are. */
	assert_int_equal(q_int("SELECT count(*) FROM invoice_files"), ACCOUNTS);
	assert_int_equal(q_int("SELECT run_id FROM invoice_files WHERE number = '%s'", number), other);
	assert_int_equal(q_int("SELECT count(*) FROM invoice_files WHERE run_id = %lld", writer), ACCOUNTS - 1);
	char cmd[1600];
	snprintf(cmd, sizeof(cmd), "ls '%s/invoices' | grep -c '^%s\\.' ; ls '%s/invoices' | wc -l", run_dir(writer),
		 number, run_dir(writer));
	test_sh(out, sizeof(out), cmd);
	snprintf(cmd, sizeof(cmd), "0\n%d\n", 4 * (ACCOUNTS - 1));
	assert_string_equal(out, cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(the_next_run_writes_what_a_full_disk_left_out, setup, teardown_files),
		cmocka_unit_test_setup_teardown(a_rerun_from_invoice_writes_what_a_full_disk_left_out, setup,
						teardown_files),
		cmocka_unit_test_setup_teardown(a_document_written_by_two_steps_at_once_is_kept_once, setup,
						teardown_files),
	};
	return cmocka_run_group_tests_name("invoice_files", tests, NULL, NULL);
}
