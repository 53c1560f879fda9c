/*
 * test_ingest_files.c - the ingest step and the files of the spool, against
 * a real PostgreSQL: a file sent twice and a record sent again, control
 * files, a crash in the middle of a file and after its commit, files that
 * are not data, files cut inside their last record (waiting for the rest,
 * or quarantined as truncated when the control file counts them), files
 * not yet settled or still open for writing, and a move into a read-only
 * spool. Conservation is asserted for every file ingested.
 */
#define INGEST_DB "test_ingest_files"
#include "ingest_env.h"

/* ---- the files of the spool ---- */

static void test_same_file_again_is_skipped(void **state)
{
	char spool[256], processed[512];
	make_spool(spool, sizeof(spool));
	snprintf(processed, sizeof(processed), "%s/processed", spool);
	const char *text = USAGE_HEADER "s1,acct-1,api_calls,2026-01-15T10:00:00Z,1,ok\ns2,acct-2,api_calls,2026-01-15T10:00:00Z,2,ok\n";
	put_file(spool, "usage-a.csv", text);
	const char *src = "{ name = \"again\"; format = \"usage-csv\"; pattern = \"usage-*.csv\"; }";
	ingest_ok(spool, src);
	assert_file("usage-a.csv", 2, 2, 0, 0);
	/* the same bytes under the same name and under another one */
	put_file(spool, "usage-a.csv", text);
	put_file(spool, "usage-b.csv", text);
	ingest_ok(spool, src);
	assert_int_equal(q_int("SELECT count(*) FROM ingest_files WHERE source = 'again'"), 1);
	assert_int_equal(q_int("SELECT count(*) FROM usage WHERE source = 'again'"), 2);
	/* both moved out of the spool, nothing overwritten */
	assert_false(exists(spool, "usage-a.csv"));
	assert_false(exists(spool, "usage-b.csv"));
	assert_true(exists(processed, "usage-a.csv"));
	assert_true(exists(processed, "usage-b.csv"));
}

static void test_duplicate_event_in_later_file(void **state)
{
	char spool[256];
	make_spool(spool, sizeof(spool));
	const char *src = "{ name = \"later\"; format = \"usage-csv\"; pattern = \"usage-*.csv\"; }";
	put_file(spool, "usage-1.csv", USAGE_HEADER "d-1,acct-1,api_calls,2026-01-15T10:00:00Z,1,a\n"
				       "d-2,acct-1,api_calls,2026-01-15T10:00:00Z,2,a\nd-3,acct-1,api_calls,2026-01-15T10:00:00Z,3,a\n");
	ingest_ok(spool, src);
	assert_file("usage-1.csv", 3, 3, 0, 0);
	/* d-3 again (changed), d-4 new, d-1 again */
	put_file(spool, "usage-2.csv", USAGE_HEADER "d-3,acct-2,api_calls,2026-01-15T11:00:00Z,30,b\n"
				       "d-4,acct-1,api_calls,2026-01-15T10:00:00Z,4,b\nd-1,acct-1,api_calls,2026-01-15T10:00:00Z,1,a\n");
	ingest_ok(spool, src);
	assert_file("usage-2.csv", 3, 1, 0, 2);
	assert_string_equal(q1("SELECT string_agg(event_key || '=' || quantity, ',' ORDER BY event_key) FROM usage "
			       "WHERE source = $1", "later"), "d-1=1,d-2=2,d-3=3,d-4=4");
	/* the control totals count what was read, duplicates included */
	assert_string_equal(q1("SELECT read_totals->>'api_calls' FROM ingest_files WHERE file_name = $1", "usage-2.csv"),
			    "35");
	/* the same key in another source is another event */
	put_file(spool, "usage-3.csv", USAGE_HEADER "d-1,acct-1,api_calls,2026-01-15T10:00:00Z,1,c\n");
	ingest_ok(spool, "{ name = \"later2\"; format = \"usage-csv\"; pattern = \"usage-*.csv\"; }");
	assert_file("usage-3.csv", 1, 1, 0, 0);
}

/* ---- control files ---- */

static void test_control_file_match_and_mismatch(void **state)
{
	char spool[256], path[1024], sha[SHA256_HEX_LEN + 1], ctl[512];
	struct err e;
	make_spool(spool, sizeof(spool));
	const char *text = USAGE_HEADER "c1,acct-1,api_calls,2026-01-15T10:00:00Z,1.5,x\n"
				  "c2,acct-1,api_calls,2026-01-15T10:00:00Z,2,x\nc3,acct-1,voice_seconds,2026-01-15T10:00:00Z,61,x\n"
				  "c4,nobody,api_calls,2026-01-15T10:00:00Z,1,x\n";
	put_file(spool, "usage-ok.csv", text);
	snprintf(path, sizeof(path), "%s/usage-ok.csv", spool);
	assert_int_equal(hash_sha256_file(path, sha, &e), 0);
	snprintf(ctl, sizeof(ctl), "records 4\nsha256 %s\nquantity api_calls 4.50\nquantity voice_seconds 61\n", sha);
	put_file(spool, "usage-ok.csv.ctl", ctl);

	const char *text2 = USAGE_HEADER "c5,acct-1,api_calls,2026-01-15T10:00:00Z,1,x\n";
	put_file(spool, "usage-short.csv", text2);
	put_file(spool, "usage-short.csv.ctl", "records 2\nquantity api_calls 2\n");
	put_file(spool, "usage-garbled.csv", USAGE_HEADER "c6,acct-1,api_calls,2026-01-15T10:00:00Z,1,x\n");
	put_file(spool, "usage-garbled.csv.ctl", "records: 1\n");
	put_file(spool, "usage-noctl.csv", USAGE_HEADER "c7,acct-1,api_calls,2026-01-15T10:00:00Z,1,x\n");

	ingest_ok(spool, "{ name = \"ctl\"; format = \"usage-csv\"; pattern = \"usage-*\"; }");
	assert_file("usage-ok.csv", 4, 3, 1, 0);
	assert_file("usage-short.csv", 1, 1, 0, 0);
	assert_file("usage-garbled.csv", 1, 1, 0, 0);
	assert_string_equal(q1("SELECT control_status || ' ' || control_file FROM ingest_files WHERE file_name = $1",
			       "usage-ok.csv"), "match usage-ok.csv.ctl");
	assert_string_equal(q1("SELECT control->>'records' FROM ingest_files WHERE file_name = $1", "usage-ok.csv"), "4");
	assert_string_equal(q1("SELECT control_status FROM ingest_files WHERE file_name = $1", "usage-short.csv"),
			    "mismatch");
	assert_string_equal(q1("SELECT control_detail FROM ingest_files WHERE file_name = $1", "usage-short.csv"),
			    "records: control 2, read 1\nquantity api_calls: control 2, read 1");
	assert_string_equal(q1("SELECT control_status FROM ingest_files WHERE file_name = $1", "usage-garbled.csv"),
			    "invalid");
	assert_non_null(strstr(q1("SELECT control_detail FROM ingest_files WHERE file_name = $1", "usage-garbled.csv"),
			       "usage-garbled.csv.ctl:1"));
	/* control files travel with their data files; none counted as data */
	char processed[512];
	snprintf(processed, sizeof(processed), "%s/processed", spool);
	assert_true(exists(processed, "usage-ok.csv.ctl"));
	assert_int_equal(q_int("SELECT count(*) FROM ingest_files WHERE file_name LIKE '%%.ctl'"), 0);
	/* no control file: absent */
	assert_string_equal(q1("SELECT control_status FROM ingest_files WHERE file_name = $1", "usage-noctl.csv"), "absent");
}

/* ---- crashes, moves, redo ---- */

static void write_big(const char *spool, const char *name, int records, const char *prefix)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", spool, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(USAGE_HEADER, f);
	for (int i = 0; i < records; i++)
		fprintf(f, "%s-%08d,acct-%d,api_calls,2026-01-15T10:%02d:%02dZ,%d.%03d,%s\n", prefix, i, 1 + i % 3,
			i / 60 % 60, i % 60, i % 1000, i % 7, i % 97 == 0 ? "" : "note");
	assert_int_equal(fclose(f), 0);
}

static void test_crash_mid_file_leaves_nothing(void **state)
{
	char spool[256];
	make_spool(spool, sizeof(spool));
	write_big(spool, "usage-crash.csv", 30000, "cr");
	const char *src = "{ name = \"crash\"; format = \"usage-csv\"; pattern = \"usage-*.csv\"; }";
	pid_t pid = fork();
	if (pid == 0) {
		/* The child: its own connection, the crash hook set. The
		 * parent's stays untouched. */
		struct err e;
		setenv(INGEST_CRASH_ENV, "20000", 1);
		parents_app = app;
		app = db_connect(dsn, 0, &e);
		if (!app || db_exec(app, &e, "SET ROLE billrun_app", 0, NULL))
			_exit(2);
		run_ingest(spool, src, NULL);
		_exit(3); /* the hook did not fire */
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 99);
	/* nothing of the file is visible, the file is still there */
	assert_int_equal(q_int("SELECT count(*) FROM ingest_files WHERE file_name = 'usage-crash.csv'"), 0);
	assert_int_equal(q_int("SELECT count(*) FROM usage WHERE source = 'crash'"), 0);
	assert_int_equal(q_int("SELECT count(*) FROM quarantine_records WHERE source = 'crash'"), 0);
	assert_true(exists(spool, "usage-crash.csv"));
	/* the next run ingests it whole */
	ingest_ok(spool, src);
	assert_file("usage-crash.csv", 30000, 30000, 0, 0);
	assert_false(exists(spool, "usage-crash.csv"));
}

static void test_redo_after_commit_moves_the_file(void **state)
{
	/* A crash after the commit but before the move leaves an ingested
	 * file in the spool: keep_in_place shows the same state. */
	char spool[256], processed[512];
	make_spool(spool, sizeof(spool));
	snprintf(processed, sizeof(processed), "%s/processed", spool);
	put_file(spool, "usage-redo.csv", USAGE_HEADER "r-1,acct-1,api_calls,2026-01-15T10:00:00Z,1,ok\n");
	const char *src = "{ name = \"redo\"; format = \"usage-csv\"; pattern = \"usage-*.csv\"; }";
	keep_in_place = 1;
	ingest_ok(spool, src);
	keep_in_place = 0;
	assert_int_equal(q_int("SELECT count(*) FROM ingest_files WHERE file_name = 'usage-redo.csv'"), 1);
	assert_true(exists(spool, "usage-redo.csv"));
	/* the redo: skipped by its SHA-256, and moved this time */
	ingest_ok(spool, src);
	assert_int_equal(q_int("SELECT count(*) FROM ingest_files WHERE file_name = 'usage-redo.csv'"), 1);
	assert_false(exists(spool, "usage-redo.csv"));
	assert_true(exists(processed, "usage-redo.csv"));
	/* a different file of the same name later: both kept in processed */
	put_file(spool, "usage-redo.csv", USAGE_HEADER "r-2,acct-1,api_calls,2026-01-15T10:00:00Z,1,ok\n");
	ingest_ok(spool, src);
	assert_int_equal(q_int("SELECT count(*) FROM ingest_files WHERE file_name = 'usage-redo.csv'"), 2);
	DIR *d = opendir(processed);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		n += strncmp(de->d_name, "usage-redo.csv", 14) == 0;
	closedir(d);
	assert_int_equal(n, 2);
}

static void test_files_that_are_not_data(void **state)
{
	char spool[256];
	make_spool(spool, sizeof(spool));
	put_file(spool, ".usage-partial.csv", USAGE_HEADER "p-1,acct-1,api_calls,2026-01-15T10:00:00Z,1,ok\n");
	put_file(spool, "other.txt", "not for any source\n");
	put_file(spool, "usage-x.csv", USAGE_HEADER "p-2,acct-1,api_calls,2026-01-15T10:00:00Z,1,ok\n");
	put_file(spool, "usage-empty.csv", "");
	ingest_ok(spool, "{ name = \"notdata\"; format = \"usage-csv\"; pattern = \"*.csv\"; }");
	assert_file("usage-x.csv", 1, 1, 0, 0);
	assert_file("usage-empty.csv", 0, 0, 0, 0);
	assert_true(exists(spool, ".usage-partial.csv"));
	assert_true(exists(spool, "other.txt"));
	assert_int_equal(q_int("SELECT count(*) FROM ingest_files WHERE file_name IN ('.usage-partial.csv', 'other.txt')"), 0);
}

/* ---- cut and unsettled files ---- */

#define CUT_SOURCE(name) "{ name = \"" name "\"; format = \"usage-csv\"; pattern = \"usage-*.csv\"; }"
#define CUT_HEADER "event_id,account_id,meter,timestamp,quantity\n"
#define CUT_WHOLE CUT_HEADER "k-1,acct-1,api_calls,2026-01-15T10:00:00Z,100\n" \
	"k-2,acct-2,api_calls,2026-01-15T11:00:00Z,3127\n"
/* the same file cut inside its last record: ...,3127 became ...,31 */
#define CUT_CUT CUT_HEADER "k-1,acct-1,api_calls,2026-01-15T10:00:00Z,100\n" \
	"k-2,acct-2,api_calls,2026-01-15T11:00:00Z,31"

static void test_cut_file_waits_until_it_is_whole(void **state)
{
	char spool[256], processed[512], log[16384];
	make_spool(spool, sizeof(spool));
	snprintf(processed, sizeof(processed), "%s/processed", spool);
	put_file(spool, "usage-cut.csv", CUT_CUT);
	put_file(spool, "usage-beside.csv", CUT_HEADER "k-3,acct-1,api_calls,2026-01-15T12:00:00Z,1\n");
	/* the step succeeds: the other file is ingested, the cut one waits */
	assert_int_equal(ingest_logged(spool, CUT_SOURCE("cut"), log, sizeof(log)), 0);
	assert_file("usage-beside.csv", 1, 1, 0, 0);
	assert_int_equal(q_int("SELECT count(*) FROM ingest_files WHERE file_name = 'usage-cut.csv'"), 0);
	assert_int_equal(q_int("SELECT count(*) FROM usage WHERE source = 'cut' AND event_key IN ('k-1', 'k-2')"), 0);
	assert_int_equal(q_int("SELECT count(*) FROM quarantine_records WHERE file_name = 'usage-cut.csv'"), 0);
	assert_true(exists(spool, "usage-cut.csv"));
	assert_false(exists(processed, "usage-cut.csv"));
	/* a warning naming the file and the line, and the closing line */
	assert_non_null(strstr(log, "usage-cut.csv' ends inside line 3"));
	assert_non_null(strstr(log, "1 files left in the spool for the next run"));
	/* the sender finishes the file: the record is ingested once, whole */
	put_file(spool, "usage-cut.csv", CUT_WHOLE);
	ingest_ok(spool, CUT_SOURCE("cut"));
	assert_file("usage-cut.csv", 2, 2, 0, 0);
	assert_string_equal(q_text("SELECT string_agg(quantity::text, ',') FROM usage WHERE source = 'cut' AND "
				   "event_key = 'k-2'", 0, NULL), "3127");
	assert_false(exists(spool, "usage-cut.csv"));
	assert_true(exists(processed, "usage-cut.csv"));
	/* the checksum is that of the bytes read: the whole file's */
	char path[600], sha[SHA256_HEX_LEN + 1];
	struct err e;
	snprintf(path, sizeof(path), "%s/usage-cut.csv", processed);
	assert_int_equal(hash_sha256_file(path, sha, &e), 0);
	assert_string_equal(q1("SELECT sha256 FROM ingest_files WHERE file_name = $1", "usage-cut.csv"), sha);
}

static void test_cut_record_a_control_file_counts_is_truncated(void **state)
{
	char spool[256], processed[512], log[16384];
	make_spool(spool, sizeof(spool));
	snprintf(processed, sizeof(processed), "%s/processed", spool);
	/* a control file counting 3 records: the cut file is not whole either */
	put_file(spool, "usage-cut2.csv", CUT_CUT);
	put_file(spool, "usage-cut2.csv.ctl", "records 3\n");
	assert_int_equal(ingest_logged(spool, CUT_SOURCE("cut2"), log, sizeof(log)), 0);
	assert_int_equal(q_int("SELECT count(*) FROM ingest_files WHERE file_name = 'usage-cut2.csv'"), 0);
	assert_non_null(strstr(log, "its control file counts 3 records, not 2"));
	assert_true(exists(spool, "usage-cut2.csv"));
	/* counting 2: complete as sent; the cut record is quarantined */
	put_file(spool, "usage-cut2.csv.ctl", "records 2\n");
	ingest_ok(spool, CUT_SOURCE("cut2"));
	assert_file("usage-cut2.csv", 2, 1, 1, 0);
	assert_string_equal(reason_at("usage-cut2.csv", 3), "truncated");
	assert_string_equal(q_text("SELECT raw FROM quarantine_records WHERE file_name = 'usage-cut2.csv'", 0, NULL),
			    "k-2,acct-2,api_calls,2026-01-15T11:00:00Z,31");
	assert_string_equal(q_text("SELECT count(*) FROM usage WHERE source = 'cut2' AND event_key = 'k-2'", 0, NULL), "0");
	/* its quantity is not what was sent: not in the read totals */
	assert_string_equal(q1("SELECT read_totals->>'api_calls' FROM ingest_files WHERE file_name = $1", "usage-cut2.csv"),
			    "100");
	assert_string_equal(q1("SELECT control_status FROM ingest_files WHERE file_name = $1", "usage-cut2.csv"), "match");
	assert_true(exists(processed, "usage-cut2.csv"));
	assert_true(exists(processed, "usage-cut2.csv.ctl"));
}

static void test_cut_header_waits(void **state)
{
	char spool[256];
	make_spool(spool, sizeof(spool));
	put_file(spool, "usage-head.csv", "event_id,account_id,meter,times");
	ingest_ok(spool, CUT_SOURCE("cut3"));
	assert_int_equal(q_int("SELECT count(*) FROM ingest_files WHERE file_name = 'usage-head.csv'"), 0);
	assert_true(exists(spool, "usage-head.csv"));
}

static void test_file_open_for_writing_is_not_taken(void **state)
{
	char spool[256], path[600], log[16384];
	make_spool(spool, sizeof(spool));
	put_file(spool, "usage-open.csv", USAGE_HEADER "o-1,acct-1,api_calls,2026-01-15T10:00:00Z,1,ok\n");
	snprintf(path, sizeof(path), "%s/usage-open.csv", spool);
	/* a writer in another process that has not closed the file */
	int ready[2], done[2];
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(done), 0);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(path, O_WRONLY | O_APPEND);
		char c = fd >= 0 ? 'y' : 'n';
		if (write(ready[1], &c, 1) != 1 || read(done[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	char c = 0;
	assert_int_equal(read(ready[0], &c, 1), 1);
	assert_int_equal(c, 'y');
	assert_int_equal(ingest_logged(spool, "{ name = \"open\"; format = \"usage-csv\"; pattern = \"usage-*.csv\"; }",
				       log, sizeof(log)), 0);
	assert_int_equal(q_int("SELECT count(*) FROM ingest_files WHERE file_name = 'usage-open.csv'"), 0);
	assert_true(exists(spool, "usage-open.csv"));
	char want[128];
	snprintf(want, sizeof(want), "usage-open.csv' is open for writing by process %d", (int)pid);
	assert_non_null(strstr(log, want));
	/* the writer closes it: the next run takes it */
	assert_int_equal(write(done[1], "x", 1), 1);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(ready[0]);
	close(ready[1]);
	close(done[0]);
	close(done[1]);
	ingest_ok(spool, "{ name = \"open\"; format = \"usage-csv\"; pattern = \"usage-*.csv\"; }");
	assert_file("usage-open.csv", 1, 1, 0, 0);
	assert_false(exists(spool, "usage-open.csv"));
}

static void test_file_younger_than_the_settle_time_is_not_taken(void **state)
{
	char spool[256], path[600], log[16384];
	make_spool(spool, sizeof(spool));
	put_file(spool, "usage-young.csv", USAGE_HEADER "y-1,acct-1,api_calls,2026-01-15T10:00:00Z,1,ok\n");
	snprintf(path, sizeof(path), "%s/usage-young.csv", spool);
	const char *src = "{ name = \"young\"; format = \"usage-csv\"; pattern = \"usage-*.csv\"; }";
	settle_time = "1h";
	int rc = ingest_logged(spool, src, log, sizeof(log));
	assert_int_equal(rc, 0);
	assert_int_equal(q_int("SELECT count(*) FROM ingest_files WHERE file_name = 'usage-young.csv'"), 0);
	assert_true(exists(spool, "usage-young.csv"));
	assert_non_null(strstr(log, "usage-young.csv' was modified"));
	assert_non_null(strstr(log, "within ingest.settle_time (3600.0 s)"));
	/* two hours later (its modification time moved back): taken */
	struct timespec times[2];
	clock_gettime(CLOCK_REALTIME, &times[0]);
	times[0].tv_sec -= 7200;
	times[1] = times[0];
	assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
	rc = run_ingest(spool, src, NULL);
	settle_time = "0s";
	assert_int_equal(rc, 0);
	assert_file("usage-young.csv", 1, 1, 0, 0);
	assert_false(exists(spool, "usage-young.csv"));
}

static void test_move_to_a_read_only_spool_is_named(void **state)
{
	/* The spool on its own small tmpfs, made read-only after the file
	 * arrived: the file is ingested, its move fails with EROFS and the
	 * path; it stays, and once the file system is writable again the
	 * next run skips it by its SHA-256 and moves it. Needs root's mount. */
	char spool[256], cmd[1024], out[1024], log[16384], processed[512];
	make_spool(spool, sizeof(spool));
	snprintf(processed, sizeof(processed), "%s/processed", spool);
	snprintf(cmd, sizeof(cmd), "mount -t tmpfs -o size=256k tmpfs '%s' 2>&1", spool);
	if (test_sh(out, sizeof(out), cmd) != 0) {
		fprintf(stderr, "skipped: cannot mount a small tmpfs here: %s\n", out);
		skip();
	}
	mkdir(processed, 0750);
	put_file(spool, "usage-ro.csv", USAGE_HEADER "ro-1,acct-1,api_calls,2026-01-15T10:00:00Z,1,ok\n");
	snprintf(cmd, sizeof(cmd), "mount -o remount,ro '%s' 2>&1", spool);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	const char *src = "{ name = \"ro\"; format = \"usage-csv\"; pattern = \"usage-*.csv\"; }";
	int rc = ingest_logged(spool, src, log, sizeof(log));
	snprintf(cmd, sizeof(cmd), "mount -o remount,rw '%s' 2>&1", spool);
	int rw = test_sh(out, sizeof(out), cmd);
	assert_int_equal(rc, 0);
	assert_file("usage-ro.csv", 1, 1, 0, 0);
	char want[1024];
	snprintf(want, sizeof(want), "could not move '%s/usage-ro.csv' to '%s/usage-ro.csv': Read-only file system "
		 "(EROFS)", spool, processed);
	assert_non_null(strstr(log, want));
	assert_true(exists(spool, "usage-ro.csv"));
	assert_int_equal(rw, 0);
	ingest_ok(spool, src);
	assert_false(exists(spool, "usage-ro.csv"));
	assert_true(exists(processed, "usage-ro.csv"));
	assert_int_equal(q_int("SELECT count(*) FROM ingest_files WHERE file_name = 'usage-ro.csv'"), 1);
	snprintf(cmd, sizeof(cmd), "umount '%s' 2>&1", spool);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
}

/* ---- configuration, meters, privileges ---- */

/* ---- two loaders ---- */

/* The night's files are read by two loaders (ingest.loaders, default 2),
 * each file in its own transaction, each source's files by one loader in
 * name order: every file keeps its own conservation counts, and a record
 * sent in two files of a source goes to the earlier file, as one loader
 * decides, whatever the timing. */
static void test_two_loaders_read_the_nights_files(void **state)
{
	char spool[256], name[64], text[4096];
	make_spool(spool, sizeof(spool));
	for (int f = 0; f < 6; f++) {
		const char *src = f % 2 ? "tm" : "tl";
		int n = snprintf(text, sizeof(text), USAGE_HEADER);
		for (int k = 0; k < 20; k++)
			n += snprintf(text + n, sizeof(text) - (size_t)n, "%s-%d-%d,acct-%d,api_calls,2026-01-15T%02d:00:00Z,%d,x\n",
				      src, f, k, k % 3 + 1, k, k + 1);
		/* each source's last two files share one record */
		if (f >= 2)
			n += snprintf(text + n, sizeof(text) - (size_t)n, "shared,acct-1,api_calls,2026-01-15T23:00:00Z,7,x\n");
		snprintf(name, sizeof(name), "usage-%s-%d.csv", src, f);
		put_file(spool, name, text);
	}
	char logbuf[8192];
	if (ingest_logged(spool, "{ name = \"tl\"; format = \"usage-csv\"; pattern = \"usage-tl-*.csv\"; }, "
				 "{ name = \"tm\"; format = \"usage-csv\"; pattern = \"usage-tm-*.csv\"; }", logbuf,
			  sizeof(logbuf)))
		fail_msg("ingest failed: %s (%s)", last_err.message, last_err.detail);
	assert_non_null(strstr(logbuf, "6 files of several sources, read by 2 loaders in parallel"));
	assert_non_null(strstr(logbuf, "6 files, 124 records read = 122 accepted + 0 quarantined + 2 duplicates"));
	assert_int_equal(q_int("SELECT count(*) FROM usage WHERE source IN ('tl', 'tm')"), 122);
	/* the earlier file of each source has the shared record */
	assert_string_equal(q1("SELECT string_agg(f.file_name, ',' ORDER BY f.file_name) FROM usage u "
			       "JOIN ingest_files f ON f.id = u.file_id WHERE u.event_key = $1", "shared"),
			    "usage-tl-2.csv,usage-tm-3.csv");
	assert_file("usage-tl-4.csv", 21, 20, 0, 1);
	assert_file("usage-tm-5.csv", 21, 20, 0, 1);
	assert_file("usage-tl-0.csv", 20, 20, 0, 0);
	/* the partials of every file, whichever loader made them */
	assert_int_equal(q_int("SELECT sum(p.records) FROM usage_partials p JOIN ingest_files f ON f.id = p.file_id "
			       "WHERE f.source IN ('tl', 'tm')"), 122);
}

/* A file of n records big1-1..big1-n (quantity = its number), the first
 * keyed `first` instead when given. Several MB: the rows travel in many
 * more pieces than the loader's sending thread queues (copypipe.h). */
static void put_big_file(const char *spool, const char *name, const char *prefix, int n, const char *first)
{
	size_t cap = (size_t)n * 64 + 128, len = 0;
	char *text = malloc(cap);
	assert_non_null(text);
	len += (size_t)snprintf(text, cap, USAGE_HEADER);
	for (int i = 1; i <= n; i++) {
		if (i == 1 && first)
			len += (size_t)snprintf(text + len, cap - len, "%s,acct-%d,api_calls,2026-01-15T10:00:00Z,%d,x\n",
						first, 1 + i % 3, i);
		else
			len += (size_t)snprintf(text + len, cap - len, "%s-%d,acct-%d,api_calls,2026-01-15T10:00:00Z,%d,x\n",
						prefix, i, 1 + i % 3, i);
	}
	put_file(spool, name, text);
	free(text);
}

static void test_a_big_file_arrives_whole_and_in_order(void **state)
{
	char spool[256];
	make_spool(spool, sizeof(spool));
	put_big_file(spool, "usage-big.csv", "big1", 60000, NULL);
	ingest_ok(spool, "{ name = \"big\"; format = \"usage-csv\"; pattern = \"usage-*.csv\"; }");
	assert_file("usage-big.csv", 60000, 60000, 0, 0);
	/* every quantity once: 1 + 2 + ... + 60000 */
	assert_string_equal(q1("SELECT sum(quantity)::text FROM usage WHERE source = $1", "big"), "1800030000");
	/* sent in file order: usage ids ascend with the line */
	assert_int_equal(q_int("SELECT count(*) FROM (SELECT line_no, lag(line_no) OVER (ORDER BY usage_id) AS prev "
			       "FROM usage WHERE source = 'big') x WHERE prev >= line_no"), 0);
	assert_int_equal(q_int("SELECT count(DISTINCT line_no) FROM usage WHERE source = 'big'"), 60000);
}

static void test_a_duplicate_refused_early_in_a_big_file(void **state)
{
	/* The server refuses the COPY at the first row, while the loader
	 * still has megabytes to send: the refusal still comes back, and
	 * the staged pass counts the one duplicate. */
	char spool[256];
	make_spool(spool, sizeof(spool));
	const char *src = "{ name = \"bigdup\"; format = \"usage-csv\"; pattern = \"usage-*.csv\"; }";
	put_file(spool, "usage-a.csv", USAGE_HEADER "seen-1,acct-1,api_calls,2026-01-15T10:00:00Z,7,x\n");
	ingest_ok(spool, src);
	put_big_file(spool, "usage-b.csv", "big2", 60000, "seen-1");
	ingest_ok(spool, src);
	assert_file("usage-b.csv", 60000, 59999, 0, 1);
	assert_string_equal(q1("SELECT sum(quantity)::text FROM usage WHERE source = $1", "bigdup"),
			    "1800030006"); /* 7 + (2 + ... + 60000) */
}

int main(void)
{
#define T(f) cmocka_unit_test_setup(f, skip_without_pg)
	const struct CMUnitTest tests[] = {
		T(test_same_file_again_is_skipped),
		T(test_duplicate_event_in_later_file),
		T(test_control_file_match_and_mismatch),
		T(test_crash_mid_file_leaves_nothing),
		T(test_redo_after_commit_moves_the_file),
		T(test_files_that_are_not_data),
		T(test_cut_file_waits_until_it_is_whole),
		T(test_cut_record_a_control_file_counts_is_truncated),
		T(test_cut_header_waits),
		T(test_file_open_for_writing_is_not_taken),
		T(test_file_younger_than_the_settle_time_is_not_taken),
		T(test_move_to_a_read_only_spool_is_named),
		T(test_two_loaders_read_the_nights_files),
		T(test_a_big_file_arrives_whole_and_in_order),
		T(test_a_duplicate_refused_early_in_a_big_file),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
