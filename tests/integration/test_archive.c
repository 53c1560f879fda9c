/*
 * test_archive.c - the archive step and `billrun archive`: the Library of
 * Congress conformance bags through the binary; a month-end run's signed
 * bag checked with tar, sha256sum and openssl cms against a throwaway CA;
 * damage and a foreign CA found; retention removing old archives and raw
 * usage with audit entries, and never the audit log; a run's archive
 * holding that run's documents whoever makes it (the run, a later run, a
 * rerun from archive), never written without them, and `archive verify`
 * checking them against the database; a read-only and a full archive
 * folder (a small tmpfs) named as such, through pigz, leaving no
 * temporary file, and the archive complete once there is space again;
 * the metrics file and the run report on a full disk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auditors_env.h"

#define ARCHIVE "state/output/archive/billrun-month_end-2026-01-01-run-1.tar.gz"

static int setup(void **state)
{
	return env_setup("test_archive");
}

static int teardown(void **state)
{
	return env_teardown();
}

/* A CA and a signing certificate it issued (EC keys: quick), with the
 * openssl command line, as NAME-ca.pem, NAME-sign.key, NAME-sign.pem. */
static void make_ca(const char *name)
{
	SH_OK("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s-ca.key -out %s-ca.pem "
	      "-days 2 -subj '/CN=%s archive CA' -addext basicConstraints=critical,CA:TRUE "
	      "-addext keyUsage=critical,keyCertSign 2>&1 && "
	      "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s-sign.key -out %s-sign.csr "
	      "-subj '/CN=%s archive signer' 2>&1 && printf 'keyUsage=critical,digitalSignature\\n' > ext.cnf && "
	      "openssl x509 -req -in %s-sign.csr -CA %s-ca.pem -CAkey %s-ca.key -CAcreateserial -out %s-sign.pem "
	      "-days 2 -extfile ext.cnf 2>&1",
	      name, name, name, name, name, name, name, name, name, name);
}

static const char *month_end_dags =
	"month_end = { period = \"month\"; steps = (\n"
	"  { name = \"xbrl\"; job = \"xbrl\"; },\n"
	"  { name = \"broken\"; exec = \"exit 1\"; },\n"
	"  { name = \"archive\"; job = \"archive\"; after = [\"xbrl\", \"broken\"]; trigger = \"all_done\"; }\n"
	"); };";

static void signed_config(void)
{
	char extra[2048];
	snprintf(extra, sizeof(extra),
		 "archive = { sign_key = \"%s/a-sign.key\"; sign_cert = \"%s/a-sign.pem\"; };\n"
		 "spool = { dir = \"%s/spool\"; };",
		 env_dir, env_dir, env_dir);
	env_config(extra, month_end_dags);
}

static void conformance(const char *kind, int want)
{
	char base[1024];
	snprintf(base, sizeof(base), "%s%s", test_src("../shared/testdata/bagit-conformance/v1.0/"), kind);
	DIR *d = opendir(base);
	if (!d)
		fail_msg("no conformance bags in '%s'", base);
	struct dirent *de;
	int n = 0;
	while ((de = readdir(d)) != NULL) {
		char bag[1400];
		struct stat st;
		snprintf(bag, sizeof(bag), "%s/%s", base, de->d_name);
		if (de->d_name[0] == '.' || stat(bag, &st) != 0 || !S_ISDIR(st.st_mode))
			continue;
		const char *args[] = { "archive", "verify", bag, NULL };
		int rc = test_billrun(out, sizeof(out), args);
		if (rc != want)
			fail_msg("billrun archive verify %s/%s exited %d, not %d:\n%s", kind, de->d_name, rc, want, out);
		n++;
	}
	closedir(d);
	assert_true(n > 0);
}

static void the_conformance_bags_are_accepted_and_rejected_as_they_should_be(void **state)
{
	conformance("valid", 0);
	conformance("invalid", 65);
}

static void a_month_end_run_leaves_a_signed_bag_that_stock_tools_verify(void **state)
{
	NEED_PG();
	make_ca("a");
	make_ca("b");
	signed_config();
	/* A file the nightly runs of the month ingested. */
	sql("INSERT INTO runs (dag, period_kind, period_start, period_end, host, pid, status) "
	    "VALUES ('nightly', 'day', '2026-01-15', '2026-01-16', 'h', 1, 'success')");
	sql("INSERT INTO ingest_files (run_id, source, format, file_name, sha256, size_bytes, records_read, accepted, "
	    "quarantined, duplicates, started_at) VALUES (1, 'usage', 'usage-csv', 'usage-2026-01-15.csv', "
	    "repeat('e', 64), 10, 5, 4, 1, 0, now())");
	/* A temporary file an earlier, killed attempt might have left. */
	SH_OK("mkdir -p state/output/archive && echo junk > state/output/archive/billrun-month_end-2026-01-01-run-2.tar.gz.tmp");

	/* The failed step does not stop the archive (trigger all_done). */
	assert_int_equal(billrun("run", "month_end", "--period", "2026-01"), 3);
	assert_int_equal(q_int("SELECT count(*) FROM run_steps WHERE step = 'archive' AND status = 'success'"), 1);
	char archive[64];
	snprintf(archive, sizeof(archive), "billrun-month_end-2026-01-01-run-%s", q_text("SELECT max(id)::text FROM runs"));
	SH_OK("test -f state/output/archive/%s.tar.gz && ! ls state/output/archive | grep -q 'run-2.tar.gz.tmp$'",
	      archive);

	/* tar, sha256sum and openssl cms are all an auditor needs. */
	SH_OK("mkdir x && tar xzf state/output/archive/%s.tar.gz -C x && cd x/%s && "
	      "sha256sum -c --strict tagmanifest-sha256.txt && sha256sum -c --strict manifest-sha256.txt && "
	      "openssl cms -verify -binary -inform DER -in tagmanifest-sha256.txt.p7s -content tagmanifest-sha256.txt "
	      "-CAfile ../../a-ca.pem -out /dev/null 2>&1",
	      archive, archive);
	/* The payload: the run's outputs, its record and report, its inputs, the audit head. */
	SH_OK("cd x/%s/data && test -f output/xbrl/billrun-month_end-2026-01-01.xbrl && test -f output/xbrl/billrun-2026.xsd "
	      "&& ls output | grep -q '^rules-.*\\.conf$' && grep -q '^broken\t1\tfailed' run/attempts.tsv && "
	      "grep -q '^eeee.*\tusage-2026-01-15.csv\tusage\t5\t4\t1\t0\t1$' inputs/input-files.tsv && "
	      "test -f audit/chain-head.txt && grep -q 'billrun_step' metrics/billrun_month_end.prom && "
	      "grep -q '<svg class=\"timeline\"' run/run-report.html",
	      archive);
	/* bag-info.txt names the run and the audit chain head, which the log confirms. */
	SH_OK("cd x/%s && grep -q '^Billrun-DAG: month_end$' bag-info.txt && grep -q '^Billrun-Period-Start: 2026-01-01$' "
	      "bag-info.txt && grep -q '^Payload-Oxum: [0-9]*\\.[0-9]*$' bag-info.txt && "
	      "sed -n 's/^Billrun-Audit-Head: \\([0-9]*\\) \\([0-9a-f]*\\)$/\\1:\\2/p' bag-info.txt > ../../head.txt && "
	      "test -s ../../head.txt",
	      archive);
	SH_OK("cat head.txt");
	char head[128];
	snprintf(head, sizeof(head), "%.*s", (int)strcspn(out, "\n"), out);
	assert_int_equal(billrun("audit", "verify", "--expect", head), 0);

	/* billrun agrees, and checks who signed. */
	char path[512], ca[512];
	snprintf(path, sizeof(path), "%s/state/output/archive/%s.tar.gz", env_dir, archive);
	snprintf(ca, sizeof(ca), "%s/a-ca.pem", env_dir);
	const char *ok[] = { "archive", "verify", path, "--ca", ca, NULL };
	assert_int_equal(test_billrun(out, sizeof(out), ok), 0);
	expect_output("signature verified");
	expect_output("signed by /CN=a archive signer");
	snprintf(ca, sizeof(ca), "%s/b-ca.pem", env_dir);
	assert_int_equal(test_billrun(out, sizeof(out), ok), 65);
	expect_output("does not verify against CA");

	/* The archive is recorded with its checksum, and audited. */
	SH_OK("sha256sum state/output/archive/%s.tar.gz | cut -c1-64", archive);
	out[64] = '\0';
	assert_int_equal(q_int("SELECT count(*) FROM archives WHERE sha256 = '%s' AND signed AND pruned_at IS NULL", out), 1);
	assert_int_equal(q_int("SELECT count(*) FROM audit_log WHERE kind = 'archive.created'"), 1);
	assert_int_equal(billrun("audit", "verify"), 0);

	/* A changed invoice, repacked with tar, is found and named. */
	SH_OK("cd x/%s && printf 'changed' >> data/output/xbrl/billrun-month_end-2026-01-01.xbrl && cd .. && "
	      "tar czf ../tampered.tar.gz %s",
	      archive, archive);
	snprintf(path, sizeof(path), "%s/tampered.tar.gz", env_dir);
	const char *bad[] = { "archive", "verify", path, NULL };
	assert_int_equal(test_billrun(out, sizeof(out), bad), 65);
	expect_output("'data/output/xbrl/billrun-month_end-2026-01-01.xbrl' does not match its sha256 checksum");
}

static void without_a_key_the_bag_is_unsigned_and_half_a_key_is_a_config_error(void **state)
{
	NEED_PG();
	env_config("", month_end_dags);
	assert_int_equal(billrun("run", "month_end", "--period", "2026-01"), 3);
	char path[512];
	snprintf(path, sizeof(path), "%s/" ARCHIVE, env_dir);
	const char *plain[] = { "archive", "verify", path, NULL };
	assert_int_equal(test_billrun(out, sizeof(out), plain), 0);
	expect_output("not signed");
	SH_OK("tar tzf %s | grep -c p7s || true", ARCHIVE);
	assert_int_equal(atoi(out), 0);
	make_ca("c");
	char ca[512];
	snprintf(ca, sizeof(ca), "%s/c-ca.pem", env_dir);
	const char *with_ca[] = { "archive", "verify", path, "--ca", ca, NULL };
	assert_int_equal(test_billrun(out, sizeof(out), with_ca), 65);
	expect_output("not signed");

	char extra[1024];
	snprintf(extra, sizeof(extra), "archive = { sign_key = \"%s/c-sign.key\"; };", env_dir);
	env_config(extra, month_end_dags);
	assert_int_equal(billrun("run", "month_end", "--period", "2026-02"), 3);
	assert_int_equal(q_int("SELECT exit_code FROM step_attempts a JOIN runs r ON r.id = a.run_id "
			       "WHERE r.period_start = '2026-02-01' AND a.step = 'archive'"),
			 78);
	expect_output("archive.sign_key and archive.sign_cert must be set together");
}

static void prune_removes_old_archives_and_raw_usage_audited_and_keeps_the_log(void **state)
{
	NEED_PG();
	make_ca("a");
	signed_config();
	assert_int_equal(billrun("run", "month_end", "--period", "2010-01"), 3);
	assert_int_equal(billrun("run", "month_end", "--period", "2026-01"), 3);
	SH_OK("ls state/output/archive | wc -l");
	assert_int_equal(atoi(out), 2);
	sql("INSERT INTO usage (source, event_key, file_id, line_no, account_ext, meter, event_time, quantity, run_id) "
	    "VALUES ('t', 'old-1', 0, 1, 'A', 'm', '2010-01-05', 1, 0), ('t', 'old-2', 0, 2, 'A', 'm', '2010-01-06', 1, 0), "
	    "('t', 'new-1', 0, 3, 'A', 'm', '2026-01-05', 1, 0)");
	SH_OK("mkdir -p spool/processed && echo old > spool/processed/usage-2010-01-05.csv && "
	      "touch -d 2010-01-06 spool/processed/usage-2010-01-05.csv && echo new > spool/processed/usage-2026-01-05.csv");
	long long entries = q_int("SELECT count(*) FROM audit_log");

	/* A dry run says what would go and changes nothing. */
	assert_int_equal(billrun("archive", "prune", "--older-than", "7y", "--dry-run"), 0);
	expect_output("would remove archive ");
	expect_output("would remove 2 usage records");
	expect_output("would remove spool file");
	assert_int_equal(q_int("SELECT count(*) FROM usage"), 3);
	assert_int_equal(q_int("SELECT count(*) FROM archives WHERE pruned_at IS NOT NULL"), 0);
	assert_int_equal(q_int("SELECT count(*) FROM audit_log"), entries);

	assert_int_equal(billrun("archive", "prune", "--older-than", "7y"), 0);
	expect_output("removed 1 archive (1 file deleted)");
	expect_output("removed 2 usage records");
	expect_output("removed 1 processed spool file");
	SH_OK("ls state/output/archive");
	assert_null(strstr(out, "2010-01-01"));
	assert_non_null(strstr(out, "2026-01-01"));
	SH_OK("ls spool/processed");
	assert_null(strstr(out, "2010"));
	assert_non_null(strstr(out, "2026"));
	assert_int_equal(q_int("SELECT count(*) FROM usage"), 1);
	assert_int_equal(q_int("SELECT count(*) FROM archives"), 2);
	assert_int_equal(q_int("SELECT count(*) FROM archives a JOIN runs r ON r.id = a.run_id "
			       "WHERE a.pruned_at IS NOT NULL AND r.period_start = '2010-01-01'"),
			 1);
	/* Audited, and the log itself only grew. */
	assert_int_equal(q_int("SELECT count(*) FROM audit_log WHERE kind = 'usage.pruned' AND "
			       "(payload::jsonb ->> 'records')::int = 2"),
			 1);
	assert_int_equal(q_int("SELECT count(*) FROM audit_log WHERE kind = 'archive.changed' AND "
			       "payload::jsonb -> 'changed' ? 'pruned_at'"),
			 1);
	assert_int_equal(q_int("SELECT count(*) FROM audit_log WHERE kind = 'spool.pruned' AND "
			       "payload LIKE '%%usage-2010-01-05.csv%%'"),
			 1);
	assert_true(q_int("SELECT count(*) FROM audit_log") > entries);
	assert_int_equal(q_int("SELECT min(id) FROM audit_log"), 1);
	assert_int_equal(billrun("audit", "verify"), 0);
	/* Usage is append-only again, for everyone. */
	assert_string_equal(q_text("SELECT string_agg(tgenabled::text, '') FROM pg_trigger WHERE tgrelid = 'usage'::regclass "
				   "AND tgname IN ('usage_append_only', 'usage_no_truncate')"),
			    "OO");
	assert_string_equal(sql_fails(owner, "DELETE FROM usage"), "42501");

	/* Nothing is left to do the second time. */
	assert_int_equal(billrun("archive", "prune", "--older-than", "7y"), 0);
	expect_output("removed 0 archives");
	expect_output("removed 0 usage records");
	/* A retention that is not one. */
	assert_int_equal(billrun("archive", "prune", "--older-than", "7x"), 64);
	assert_int_equal(billrun("archive", "prune", "--older-than", "0d"), 64);
}

/* ---- the documents of a run ---- */

/*
 * An exec step standing in for the invoice step: issues INV-1..3 (once,
 * whichever run gets there first) and writes NUMBER.json and NUMBER.pdf
 * (64 kB that do not compress, so that a bag does not fit on a full
 * disk) for the documents its own run issued, into OUTPUT/invoices/. A
 * file named skip-NAME in the test folder keeps that file from being
 * written.
 */
static const char *const issue_sh =
	"set -e\n"
	"TEST_DIR='%s'\n"
	"psql -X -q -v ON_ERROR_STOP=1 -v run=\"$BILLRUN_RUN_ID\" \"$BILLRUN_DSN\" <<'SQL'\n"
	"INSERT INTO invoice_series (series, doc) VALUES ('INV-{SEQ}', 'invoice') ON CONFLICT DO NOTHING;\n"
	"INSERT INTO invoices (run_id, draft_id, kind, series, seq, number, account_ext, account_id, "
	"period_local_start, period_local_end, rating_id, currency, subtotal, tax_total, total, issue_date, "
	"due_date, seller, customer) "
	"SELECT :run, n, 'invoice', 'INV-{SEQ}', n, 'INV-' || n, 'A-' || n, n, '2026-01-01', '2026-02-01', n, "
	"'EUR', 10, 1.90, 11.90, '2026-02-01', '2026-03-01', '{}', '{}' FROM generate_series(1, 3) n "
	"WHERE NOT EXISTS (SELECT 1 FROM invoices WHERE number = 'INV-' || n);\n"
	"SQL\n"
	"mkdir -p \"$BILLRUN_OUTPUT_DIR/invoices\"\n"
	"for n in $(psql -X -At \"$BILLRUN_DSN\" -c \"SELECT number FROM invoices WHERE run_id = $BILLRUN_RUN_ID\"); do\n"
	"  test -e \"$TEST_DIR/skip-$n.json\" || echo \"{\\\"number\\\": \\\"$n\\\"}\" > \"$BILLRUN_OUTPUT_DIR/invoices/$n.json\"\n"
	"  test -e \"$TEST_DIR/skip-$n.pdf\" || head -c 65536 /dev/urandom > \"$BILLRUN_OUTPUT_DIR/invoices/$n.pdf\"\n"
	"done\n";

/* month_end: issue, then archive; `extra` is more settings. */
static void issuing_config(const char *extra)
{
	char script[600], text[4096], dags[1600];
	snprintf(script, sizeof(script), "%s/issue.sh", env_dir);
	snprintf(text, sizeof(text), issue_sh, env_dir);
	if (test_write_file(script, text))
		fail_msg("cannot write %s", script);
	snprintf(dags, sizeof(dags),
		 "month_end = { period = \"month\"; steps = (\n"
		 "  { name = \"issue\"; exec = \"sh %s\"; },\n"
		 "  { name = \"archive\"; job = \"archive\"; after = [\"issue\"]; trigger = \"all_done\"; }\n"
		 "); };",
		 script);
	env_config(extra, dags);
}

#define RUN_ARCHIVE "billrun-month_end-2026-01-01-run-%lld.tar.gz"

/* The archive step's error as the run logged it (its lines in out). */
static const char *archive_message(void)
{
	static char line[4096];
	const char *p = strstr(out, "step=archive archive: ");
	snprintf(line, sizeof(line), "%.*s", p ? (int)strcspn(p, "\n") : 0, p ? p : "");
	return line;
}

static void a_runs_archive_holds_its_documents_whoever_makes_it_and_never_lacks_one(void **state)
{
	NEED_PG();
	issuing_config("");
	/* Run 1 issues three invoices, but one PDF is not there. */
	SH_OK("touch skip-INV-2.pdf");
	assert_int_equal(billrun("run", "month_end", "--period", "2026-01"), 3);
	assert_int_equal(q_int("SELECT count(*) FROM invoices WHERE run_id = 1"), 3);
	const char *msg = archive_message();
	if (!strstr(msg, "run 1 issued documents whose files are missing") || !strstr(msg, "/invoices/INV-2.pdf'"))
		fail_msg("the archive step's message does not name the missing document: %s", msg);
	/* No bag, not even a temporary one. */
	SH_OK("ls -A state/output/archive | wc -l");
	assert_int_equal(atoi(out), 0);
	assert_int_equal(q_int("SELECT count(*) FROM archives"), 0);

	/* The file is there again (as the invoice step renders it): the
	 * next run's archive step makes run 1's archive, with run 1's
	 * documents, and its own. */
	SH_OK("rm skip-INV-2.pdf && head -c 100 /dev/urandom > %s/INV-2.pdf",
	      q_text("SELECT output_dir || '/invoices' FROM runs WHERE id = 1"));
	assert_int_equal(billrun("run", "month_end", "--period", "2026-01"), 0);
	assert_int_equal(q_int("SELECT count(*) FROM archives WHERE run_id IN (1, 2)"), 2);
	SH_OK("tar tzf state/output/archive/" RUN_ARCHIVE " | grep -c '/data/output/invoices/INV-[123]\\.\\(pdf\\|json\\)$'",
	      1LL);
	assert_int_equal(atoi(out), 6);
	SH_OK("tar xzf state/output/archive/" RUN_ARCHIVE " -O billrun-month_end-2026-01-01-run-1/bag-info.txt", 1LL);
	expect_output("Billrun-Run-Id: 1\n");
	expect_output("Billrun-Archived-By-Run: 2\n");
	expect_output("Billrun-Document-Files: 6\n");
	/* Run 2 issued nothing: its archive has no documents, and says so. */
	SH_OK("tar tzf state/output/archive/" RUN_ARCHIVE " | grep -c '/invoices/' || true", 2LL);
	assert_int_equal(atoi(out), 0);

	/* archive verify checks the payload against the database... */
	char path[512];
	snprintf(path, sizeof(path), "%s/state/output/archive/" RUN_ARCHIVE, env_dir, 1LL);
	assert_int_equal(billrun("archive", "verify", path), 0);
	expect_output("documents: the bag holds all 6 document files run 1 issued (checked against the database)");
	/* ...without the database it says that it could not, and the
	 * offline checks decide... */
	const char *offline[] = { "archive", "verify", path, NULL };
	assert_int_equal(test_billrun(out, sizeof(out), offline), 0);
	expect_output("valid BagIt 1.0 bag");
	expect_output("documents not checked against the database");
	/* ...and a document the bag lacks is found. */
	sql("INSERT INTO invoices (run_id, draft_id, kind, series, seq, number, account_ext, account_id, "
	    "period_local_start, period_local_end, rating_id, currency, subtotal, tax_total, total, issue_date, due_date, "
	    "seller, customer) VALUES (1, 4, 'invoice', 'INV-{SEQ}', 4, 'INV-4', 'A-4', 4, '2026-01-01', '2026-02-01', 4, "
	    "'EUR', 10, 1.90, 11.90, '2026-02-01', '2026-03-01', '{}', '{}')");
	assert_int_equal(billrun("archive", "verify", path), 65);
	expect_output("problem: run 1 issued INV-4, but 'data/output/invoices/INV-4.json' is not in the bag");
	expect_output("problem: run 1 issued INV-4, but 'data/output/invoices/INV-4.pdf' is not in the bag");
	assert_int_equal(billrun("audit", "verify"), 0);
}

/* A tmpfs of size under env_dir/name, or skip the test. */
static void small_tmpfs(const char *name, const char *size)
{
	if (sh("mkdir -p %s && mount -t tmpfs -o size=%s tmpfs %s 2>&1", name, size, name) != 0) {
		fprintf(stderr, "skipped: cannot mount a small tmpfs here: %s\n", out);
		skip();
	}
}

static void a_read_only_or_full_archive_folder_is_named_and_a_rerun_archives_the_documents(void **state)
{
	NEED_PG();
	small_tmpfs("arch", "512k");
	char extra[800];
	snprintf(extra, sizeof(extra), "archive = { dir = \"%s/arch\"; };", env_dir);
	issuing_config(extra);

	/* Read-only: the step fails naming the file and EROFS. */
	SH_OK("mount -o remount,ro arch");
	int rc1 = billrun("run", "month_end", "--period", "2026-01");
	char ro[1024];
	snprintf(ro, sizeof(ro), "%s", archive_message());

	/* Full: through pigz too, the message names ENOSPC and the file,
	 * and no temporary file is left. */
	sh("mount -o remount,rw arch && dd if=/dev/zero of=arch/filler bs=4k 2>/dev/null; true");
	int rc2 = billrun("rerun", "1", "--from", "archive");
	char full[1024];
	snprintf(full, sizeof(full), "%s", archive_message());
	sh("ls -A arch");
	char left[1024];
	snprintf(left, sizeof(left), "%s", out);

	/* Space again: a rerun from archive makes run 1's archive, with
	 * its documents. */
	sh("rm -f arch/filler");
	int rc3 = billrun("rerun", "1", "--from", "archive");
	char ok[1024];
	snprintf(ok, sizeof(ok), "%s", out);
	int listed = sh("tar tzf arch/" RUN_ARCHIVE " | grep -c '/data/output/invoices/INV-[123]\\.\\(pdf\\|json\\)$'", 1LL);
	int documents = atoi(out);
	char path[512];
	snprintf(path, sizeof(path), "%s/arch/" RUN_ARCHIVE, env_dir, 1LL);
	int verified = billrun("archive", "verify", path);
	char verify[2048];
	snprintf(verify, sizeof(verify), "%s", out);
	sh("umount arch");

	assert_int_equal(rc1, 3);
	if (!strstr(ro, "Read-only file system") || !strstr(ro, "arch/billrun-month_end-2026-01-01-run-1.tar.gz.tmp'") ||
	    !strstr(ro, "EROFS"))
		fail_msg("a read-only archive folder is not named as such: %s", ro);
	assert_int_equal(rc2, 3);
	if (!strstr(full, "No space left on device") || !strstr(full, "arch/billrun-month_end-2026-01-01-run-1.tar.gz.tmp'") ||
	    strstr(full, "pigz"))
		fail_msg("a full archive folder is not named as such: %s", full);
	if (strcmp(left, "filler\n") != 0)
		fail_msg("the failed archive left files behind: %s", left);
	if (rc3 != 0)
		fail_msg("the rerun from archive failed (%d): %s", rc3, ok);
	assert_int_equal(listed, 0);
	assert_int_equal(documents, 6);
	if (verified != 0 || !strstr(verify, "the bag holds all 6 document files run 1 issued"))
		fail_msg("archive verify: %s", verify);
	assert_int_equal(q_int("SELECT count(*) FROM archives WHERE run_id = 1"), 1);
}

static void a_full_disk_is_named_for_the_metrics_file_and_the_run_report(void **state)
{
	NEED_PG();
	small_tmpfs("full", "64k");
	sh("dd if=/dev/zero of=full/filler bs=1k 2>/dev/null; true");
	char extra[800];
	snprintf(extra, sizeof(extra), "metrics = { dir = \"%s/full/metrics\"; };", env_dir);
	SH_OK("mkdir -p full/metrics || true");
	env_config(extra, "x = { steps = ( { name = \"a\"; exec = \"true\"; } ); };");
	int rc = billrun("run", "x", "--period", "2026-01-05");
	char run[8192];
	snprintf(run, sizeof(run), "%s", out);
	char report[600];
	snprintf(report, sizeof(report), "%s/full/report.html", env_dir);
	int rc_report = billrun("report", "1", "--out", report);
	char rep[4096];
	snprintf(rep, sizeof(rep), "%s", out);
	sh("ls -A full full/metrics 2>&1");
	char left[1024];
	snprintf(left, sizeof(left), "%s", out);
	sh("umount full");

	/* The run succeeds (its documents are not its result) and says why
	 * the metrics file is missing. */
	assert_int_equal(rc, 0);
	if (!strstr(run, "could not write the metrics file") || !strstr(run, "No space left on device") ||
	    !strstr(run, "full/metrics/billrun_x.prom"))
		fail_msg("the metrics file's full disk is not named: %s", run);
	assert_int_equal(rc_report, 74);
	if (!strstr(rep, "No space left on device") || !strstr(rep, "full/report.html.tmp'") || !strstr(rep, "ENOSPC"))
		fail_msg("the run report's full disk is not named: %s", rep);
	if (strstr(left, ".tmp"))
		fail_msg("temporary files left: %s", left);
}

/* A run report the disk refuses keeps the run unfinished (exit 74, the
 * full disk named): the next `billrun run` finishes the same run and
 * writes its report, instead of a finished run that never gets one. */
static void a_run_report_on_a_full_disk_is_written_by_the_next_run(void **state)
{
	NEED_PG();
	small_tmpfs("full", "256k");
	char extra[800], dags[800];
	snprintf(extra, sizeof(extra), "output_dir = \"%s/full/out\";", env_dir);
	/* The step itself fills the disk, after the run's folder was made. */
	snprintf(dags, sizeof(dags),
		 "x = { steps = ( { name = \"a\"; exec = \"dd if=/dev/zero of=%s/full/filler bs=1k 2>/dev/null; true\"; } ); };",
		 env_dir);
	env_config(extra, dags);
	int rc1 = billrun("run", "x", "--period", "2026-01-05");
	char first[8192];
	snprintf(first, sizeof(first), "%s", out);
	const char *status1 = q_text("SELECT status FROM runs WHERE id = 1");
	char st1[32];
	snprintf(st1, sizeof(st1), "%s", status1);
	sh("rm -f full/filler");
	int rc2 = billrun("run", "x", "--period", "2026-01-05");
	int report = sh("test -s full/out/x/2026-01-05/run-1/run-report.html");
	sh("find full -name '*.tmp'");
	char left[1024];
	snprintf(left, sizeof(left), "%s", out);
	sh("umount full");

	assert_int_equal(rc1, 74);
	if (!strstr(first, "run report") || !strstr(first, "No space left on device (ENOSPC)"))
		fail_msg("the run report's full disk is not named: %s", first);
	assert_string_equal(st1, "running");
	assert_int_equal(rc2, 0);
	assert_int_equal(q_int("SELECT count(*) FROM runs"), 1);
	assert_string_equal(q_text("SELECT status FROM runs WHERE id = 1"), "success");
	assert_int_equal(report, 0);
	if (*left)
		fail_msg("temporary files left: %s", left);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_conformance_bags_are_accepted_and_rejected_as_they_should_be),
		cmocka_unit_test_setup_teardown(a_month_end_run_leaves_a_signed_bag_that_stock_tools_verify, setup,
						teardown),
		cmocka_unit_test_setup_teardown(without_a_key_the_bag_is_unsigned_and_half_a_key_is_a_config_error, setup,
						teardown),
		cmocka_unit_test_setup_teardown(prune_removes_old_archives_and_raw_usage_audited_and_keeps_the_log, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_runs_archive_holds_its_documents_whoever_makes_it_and_never_lacks_one,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			a_read_only_or_full_archive_folder_is_named_and_a_rerun_archives_the_documents, setup, teardown),
		cmocka_unit_test_setup_teardown(a_full_disk_is_named_for_the_metrics_file_and_the_run_report, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_run_report_on_a_full_disk_is_written_by_the_next_run, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
