/*
 * test_audit.c - the hash-chained audit log against a real PostgreSQL:
 * what is audited, C and SQL hashing alike, appending in the caller's
 * transaction, concurrent appenders, what each role may do, and
 * `billrun audit verify` finding exactly the entry a superuser changed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/wait.h>
#include <unistd.h>

#include "audit.h"
#include "auditors_env.h"
#include "db.h"
#include "err.h"

static int setup(void **state)
{
	return env_setup("test_audit");
}

static int teardown(void **state)
{
	return env_teardown();
}

/* An application-role connection, as the jobs have. */
static struct db *app_db(void)
{
	struct err e;
	err_clear(&e);
	struct db *db = db_connect(env_dsn, 0, &e);
	if (!db || db_exec(db, &e, "SET ROLE billrun_app", 0, NULL))
		fail_msg("connect: %s", e.message);
	return db;
}

static void runs_attempts_rule_versions_and_the_config_are_audited(void **state)
{
	NEED_PG();
	assert_int_equal(billrun("run", "x", "--period", "2026-01-01"), 0);
	assert_int_equal(q_int("SELECT count(*) FROM audit_log WHERE kind = 'rule_version.created'"), 1);
	assert_int_equal(q_int("SELECT count(*) FROM audit_log WHERE kind = 'run.created' AND entity = 'runs/1'"), 1);
	assert_int_equal(q_int("SELECT count(*) FROM audit_log WHERE kind = 'attempt.created'"), 1);
	assert_int_equal(q_int("SELECT count(*) FROM audit_log WHERE kind = 'attempt.changed' AND "
			       "payload::jsonb -> 'changed' -> 'status' ->> 'new' = 'success'"),
			 1);
	assert_int_equal(q_int("SELECT count(*) FROM audit_log WHERE kind = 'run.changed' AND "
			       "payload::jsonb -> 'changed' -> 'status' ->> 'new' = 'success'"),
			 1);
	/* The rate card's text is not copied into the log: its SHA-256 is. */
	assert_int_equal(q_int("SELECT count(*) FROM audit_log WHERE kind = 'rule_version.created' AND "
			       "payload::jsonb ? 'content'"),
			 0);
	/* The config's checksum: an entry for the first run and for each change. */
	assert_int_equal(q_int("SELECT count(*) FROM audit_log WHERE kind = 'config.changed'"), 1);
	assert_int_equal(billrun("run", "x", "--period", "2026-01-02"), 0);
	assert_int_equal(q_int("SELECT count(*) FROM audit_log WHERE kind = 'config.changed'"), 1);
	env_config("runner = { kill_grace = \"2s\"; };", "x = { steps = ( { name = \"a\"; exec = \"true\"; } ); };");
	assert_int_equal(billrun("run", "x", "--period", "2026-01-03"), 0);
	assert_int_equal(q_int("SELECT count(*) FROM audit_log WHERE kind = 'config.changed'"), 2);
	assert_string_equal(q_text("SELECT payload::jsonb ->> 'previous' FROM audit_log WHERE kind = 'config.changed' "
				   "ORDER BY id DESC LIMIT 1"),
			    q_text("SELECT config_sha256 FROM runs WHERE id = 2"));
	/* The application role made them. */
	assert_int_equal(q_int("SELECT count(*) FROM audit_log WHERE actor <> 'billrun_app'"), 0);
	assert_int_equal(billrun("audit", "verify"), 0);
	expect_output("the chain holds");
}

static void c_and_postgresql_compute_the_same_canonical_entry_and_hash(void **state)
{
	NEED_PG();
	assert_int_equal(billrun("run", "x", "--period", "2026-01-01"), 0);
	sql("SELECT billrun_audit('test.unicode', 'caf\xc3\xa9/1', '{\"z\": \"\xe2\x82\xac 1,5\", \"a\": [1, 2.50]}')");
	PGresult *r = PQexec(owner, "SELECT id, billrun_audit_time(at), actor, kind, entity, payload, prev_hash, hash, "
				    "billrun_audit_canonical(id, billrun_audit_time(at), actor, kind, entity, payload) "
				    "FROM audit_log ORDER BY id");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_true(PQntuples(r) >= 6);
	for (int i = 0; i < PQntuples(r); i++) {
		struct audit_entry en = {
			.id = strtoll(PQgetvalue(r, i, 0), NULL, 10), .at = PQgetvalue(r, i, 1),
			.actor = PQgetvalue(r, i, 2), .kind = PQgetvalue(r, i, 3), .entity = PQgetvalue(r, i, 4),
			.payload = PQgetvalue(r, i, 5),
		};
		size_t len = 0;
		char *canon = audit_canonical(&en, &len);
		assert_string_equal(canon, PQgetvalue(r, i, 8));
		char hex[SHA256_HEX_LEN + 1];
		audit_chain_hash(PQgetvalue(r, i, 6), canon, len, hex);
		assert_string_equal(hex, PQgetvalue(r, i, 7));
		free(canon);
	}
	PQclear(r);
	/* The payload is stored in jsonb's canonical text form. */
	assert_string_equal(q_text("SELECT payload FROM audit_log WHERE kind = 'test.unicode'"),
			    "{\"a\": [1, 2.50], \"z\": \"\xe2\x82\xac 1,5\"}");
}

static void an_entry_commits_with_the_callers_transaction_or_not_at_all(void **state)
{
	NEED_PG();
	struct db *db = app_db();
	struct err e;
	err_clear(&e);
	assert_int_equal(audit_append(db, "test.loose", "x", "{}", &e), -1);
	assert_int_equal(e.kind, ERR_INTERNAL);

	long long before = q_int("SELECT count(*) FROM audit_log");
	const char *head = q_text("SELECT last_hash FROM audit_head");
	char head_before[SHA256_HEX_LEN + 1];
	snprintf(head_before, sizeof(head_before), "%s", head);
	assert_int_equal(db_begin(db, &e), 0);
	assert_true(audit_append(db, "test.rolled_back", "x", "{\"b\": 1, \"a\": \"x\"}", &e) > 0);
	db_rollback(db);
	assert_int_equal(q_int("SELECT count(*) FROM audit_log"), before);
	assert_string_equal(q_text("SELECT last_hash FROM audit_head"), head_before);

	assert_int_equal(db_begin(db, &e), 0);
	int64_t id = audit_append(db, "test.committed", "things/1", "{\"b\": 1, \"a\": \"x\"}", &e);
	assert_int_equal(id, before + 1);
	assert_int_equal(db_commit(db, &e), 0);
	assert_string_equal(q_text("SELECT actor || ' ' || payload FROM audit_log WHERE id = %lld", (long long)id),
			    "billrun_app {\"a\": \"x\", \"b\": 1}");
	assert_string_equal(q_text("SELECT last_id::text FROM audit_head"), q_text("SELECT max(id)::text FROM audit_log"));
	/* Bad JSON is the database's error, and nothing is appended. */
	assert_int_equal(db_begin(db, &e), 0);
	assert_int_equal(audit_append(db, "test.bad", "x", "{not json", &e), -1);
	db_rollback(db);
	db_free(db);

	struct audit_report rep;
	db = app_db();
	assert_int_equal(audit_verify(db, 0, NULL, &rep, &e), 0);
	assert_int_equal(rep.entries, before + 1);
	assert_int_equal(rep.head_id, before + 1);
	db_free(db);
}

static void concurrent_appenders_keep_one_gapless_chain(void **state)
{
	NEED_PG();
	enum { WRITERS = 4, TXS = 20 };
	pid_t pids[WRITERS];
	for (int w = 0; w < WRITERS; w++) {
		pids[w] = fork();
		if (pids[w] == 0) {
			struct err e;
			err_clear(&e);
			struct db *db = db_connect(env_dsn, 0, &e);
			if (!db || db_exec(db, &e, "SET ROLE billrun_app", 0, NULL))
				_exit(1);
			for (int t = 0; t < TXS; t++) {
				char entity[32];
				snprintf(entity, sizeof(entity), "writer/%d", w);
				if (db_begin(db, &e) || audit_append(db, "test.concurrent", entity, "{\"n\": 1}", &e) < 0 ||
				    audit_append(db, "test.concurrent", entity, "{\"n\": 2}", &e) < 0 ||
				    db_commit(db, &e))
					_exit(2);
			}
			db_free(db);
			_exit(0);
		}
	}
	for (int w = 0; w < WRITERS; w++) {
		int status;
		waitpid(pids[w], &status, 0);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	assert_int_equal(q_int("SELECT count(*) FROM audit_log WHERE kind = 'test.concurrent'"), WRITERS * TXS * 2);
	assert_int_equal(q_int("SELECT count(*) FROM audit_log"), q_int("SELECT max(id) FROM audit_log"));
	/* Each transaction's two entries are adjacent: the head lock is held to the commit. */
	assert_int_equal(q_int("SELECT count(*) FROM audit_log a JOIN audit_log b ON b.id = a.id + 1 "
			       "WHERE a.payload::jsonb ->> 'n' = '1' AND a.kind = 'test.concurrent' "
			       "AND (b.entity <> a.entity OR b.payload::jsonb ->> 'n' <> '2')"),
			 0);
	assert_int_equal(billrun("audit", "verify"), 0);
}

/* File scope: the child forked below exits without closing them (their
 * sockets are the parent's), and valgrind's leak check at its exit must
 * still find them referenced. */
static struct db *a, *b;

static void an_append_in_repeatable_read_after_a_concurrent_one_is_retryable(void **state)
{
	NEED_PG();
	a = app_db();
	b = app_db();
	struct err e;
	err_clear(&e);
	assert_int_equal(db_begin(a, &e), 0);
	assert_int_equal(db_exec(a, &e, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", 0, NULL), 0);
	assert_int_equal(db_exec(a, &e, "SELECT count(*) FROM runs", 0, NULL), 0); /* the snapshot */
	assert_int_equal(db_begin(b, &e), 0);
	assert_true(audit_append(b, "test.first", "x", NULL, &e) > 0);
	assert_int_equal(db_commit(b, &e), 0);
	assert_int_equal(audit_append(a, "test.second", "x", NULL, &e), -1);
	assert_string_equal(e.sqlstate, "40001");
	assert_true(err_is_retryable(&e));
	db_rollback(a);

	/* Locking the head first, before the snapshot, avoids it. */
	assert_int_equal(db_begin(a, &e), 0);
	assert_int_equal(db_exec(a, &e, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", 0, NULL), 0);
	assert_int_equal(audit_lock(a, &e), 0);
	pid_t pid = fork();
	if (pid == 0) {
		/* Waits for a's commit, then appends after it. */
		struct db *c = db_connect(env_dsn, 0, &e);
		int bad = !c || db_exec(c, &e, "SET ROLE billrun_app", 0, NULL) || db_begin(c, &e) ||
			  audit_append(c, "test.waited", "x", NULL, &e) < 0 || db_commit(c, &e);
		db_free(c);
		_exit(bad);
	}
	usleep(200000);
	assert_true(audit_append(a, "test.locked", "x", NULL, &e) > 0);
	assert_int_equal(db_commit(a, &e), 0);
	int status;
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_true(q_int("SELECT id FROM audit_log WHERE kind = 'test.waited'") >
		    q_int("SELECT id FROM audit_log WHERE kind = 'test.locked'"));
	db_free(a);
	db_free(b);
	a = b = NULL;
	assert_int_equal(billrun("audit", "verify"), 0);
}

static void the_application_role_may_only_insert_and_read(void **state)
{
	NEED_PG();
	assert_int_equal(billrun("run", "x", "--period", "2026-01-01"), 0);
	PGconn *appc = PQconnectdb(env_dsn);
	PQclear(PQexec(appc, "SET ROLE billrun_app"));
	assert_string_equal(sql_fails(appc, "UPDATE audit_log SET kind = 'x.y' WHERE id = 1"), "42501");
	assert_string_equal(sql_fails(appc, "DELETE FROM audit_log WHERE id = 1"), "42501");
	assert_string_equal(sql_fails(appc, "TRUNCATE audit_log"), "42501");
	assert_string_equal(sql_fails(appc, "UPDATE audit_head SET last_id = 0"), "42501");
	/* A forged insert is chained like any other: id, time, actor and hashes are the trigger's. */
	long long next = q_int("SELECT last_id + 1 FROM audit_head");
	PGresult *r = PQexec(appc, "INSERT INTO audit_log (id, at, actor, kind, entity, payload, prev_hash, hash) "
				   "VALUES (999, '2000-01-01', 'root', 'test.forged', 'x', '{}', repeat('a', 64), "
				   "repeat('b', 64)) RETURNING id");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_int_equal(atoll(PQgetvalue(r, 0, 0)), next);
	PQclear(r);
	assert_string_equal(q_text("SELECT actor FROM audit_log WHERE kind = 'test.forged'"), "billrun_app");
	PQfinish(appc);
	/* Not even the owner changes history without disabling the trigger first. */
	assert_string_equal(sql_fails(owner, "UPDATE audit_log SET kind = 'x.y' WHERE id = 1"), "42501");
	assert_string_equal(sql_fails(owner, "DELETE FROM audit_log"), "42501");
	assert_string_equal(sql_fails(owner, "TRUNCATE audit_log"), "42501");
	assert_int_equal(billrun("audit", "verify"), 0);
}

static void verify_names_exactly_the_entry_a_superuser_changed(void **state)
{
	NEED_PG();
	assert_int_equal(billrun("run", "x", "--period", "2026-01-01"), 0);
	assert_int_equal(billrun("run", "x", "--period", "2026-01-02"), 0);
	long long n = q_int("SELECT count(*) FROM audit_log");
	assert_true(n >= 10);
	assert_int_equal(billrun("audit", "head"), 0);
	char head[200];
	snprintf(head, sizeof(head), "%.*s", (int)strcspn(out, "\n"), out);

	/* A payload rewritten behind the trigger's back. */
	sql("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only");
	sql("CREATE TABLE saved AS SELECT * FROM audit_log WHERE id = 5");
	sql("UPDATE audit_log SET payload = replace(payload, ', ', ',') WHERE id = 5");
	assert_string_not_equal(q_text("SELECT payload FROM audit_log WHERE id = 5"),
				q_text("SELECT payload FROM saved"));
	assert_int_equal(billrun("audit", "verify"), 65);
	expect_output("audit entry 5 does not match its hash");
	expect_output("entry 5 is the first that does not hold");
	sql("UPDATE audit_log SET payload = (SELECT payload FROM saved) WHERE id = 5");
	assert_int_equal(billrun("audit", "verify"), 0);

	/* A time moved. */
	sql("UPDATE audit_log SET at = at - interval '1 day' WHERE id = 7");
	assert_int_equal(billrun("audit", "verify"), 65);
	expect_output("audit entry 7 does not match its hash");
	sql("UPDATE audit_log SET at = at + interval '1 day' WHERE id = 7");
	assert_int_equal(billrun("audit", "verify"), 0);

	/* An entry removed from the middle, and one from the end. */
	sql("DELETE FROM audit_log WHERE id = 3");
	assert_int_equal(billrun("audit", "verify"), 65);
	expect_output("audit entry 3 is missing");
	sql("DELETE FROM audit_log WHERE id = %lld", n);
	assert_int_equal(billrun("audit", "verify"), 65);
	expect_output("audit entry 3 is missing");
	sql("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only");

	/* --expect: a head kept outside the database. */
	assert_int_equal(billrun("audit", "verify", "--expect", head), 65);
	assert_int_equal(billrun("audit", "verify", "--expect", "2:0000000000000000000000000000000000000000000000000000000000000000"),
			 65);
}

static void truncating_the_end_and_rewriting_the_head_are_found(void **state)
{
	NEED_PG();
	assert_int_equal(billrun("run", "x", "--period", "2026-01-01"), 0);
	assert_int_equal(billrun("audit", "head"), 0);
	char head[200];
	snprintf(head, sizeof(head), "%.*s", (int)strcspn(out, "\n"), out);
	assert_int_equal(billrun("audit", "verify", "--expect", head), 0);
	expect_output("has the expected hash");
	long long n = q_int("SELECT count(*) FROM audit_log");
	sql("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only");
	sql("DELETE FROM audit_log WHERE id = %lld", n);
	sql("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only");
	assert_int_equal(billrun("audit", "verify"), 65);
	expect_output("the audit chain head names entry");
	/* Rewriting the head to match hides it from the database alone ... */
	sql("UPDATE audit_head SET last_id = last_id - 1, last_hash = (SELECT hash FROM audit_log WHERE id = %lld)", n - 1);
	assert_int_equal(billrun("audit", "verify"), 0);
	/* ... but not from a head kept elsewhere. */
	assert_int_equal(billrun("audit", "verify", "--expect", head), 65);
	expect_output("is missing");
}

static void files_ingested_and_quarantine_entries_are_audited_per_file(void **state)
{
	NEED_PG();
	assert_int_equal(billrun("run", "x", "--period", "2026-01-01"), 0);
	struct db *db = app_db();
	struct err e;
	err_clear(&e);
	assert_int_equal(db_begin(db, &e), 0);
	assert_int_equal(db_exec(db, &e,
				 "INSERT INTO quarantine_records (run_id, source, file_id, file_name, line_no, raw, reason, "
				 "message) VALUES (1, 'usage', 7, 'usage-1.csv', 2, 'A-1,+4930111,x', 'bad_number', 'm'), "
				 "(1, 'usage', 7, 'usage-1.csv', 3, 'A-1,+4930112,y', 'bad_number', 'm'), "
				 "(1, 'usage', 7, 'usage-1.csv', 4, 'A-1,+4930113,z', 'unknown_meter', 'm')",
				 0, NULL),
			 0);
	assert_int_equal(db_exec(db, &e,
				 "INSERT INTO ingest_files (id, run_id, source, format, file_name, sha256, size_bytes, "
				 "records_read, accepted, quarantined, duplicates, started_at) VALUES (7, 1, 'usage', "
				 "'usage-csv', 'usage-1.csv', repeat('c', 64), 100, 10, 7, 3, 0, now())",
				 0, NULL),
			 0);
	assert_int_equal(db_commit(db, &e), 0);
	db_free(db);
	assert_int_equal(q_int("SELECT count(*) FROM audit_log WHERE kind = 'ingest_file.created' AND "
			       "entity = 'ingest_files/7' AND payload::jsonb ->> 'sha256' = repeat('c', 64)"),
			 1);
	assert_int_equal(q_int("SELECT count(*) FROM audit_log WHERE kind = 'quarantine.created'"), 1);
	assert_string_equal(q_text("SELECT payload::jsonb ->> 'records' || ' ' || (payload::jsonb -> 'reasons')::text "
				   "FROM audit_log WHERE kind = 'quarantine.created'"),
			    "3 {\"bad_number\": 2, \"unknown_meter\": 1}");
	/* The raw records (personal data) stay out of the log. */
	assert_int_equal(q_int("SELECT count(*) FROM audit_log WHERE payload LIKE '%%4930%%'"), 0);
	assert_int_equal(billrun("audit", "verify"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(runs_attempts_rule_versions_and_the_config_are_audited, setup, teardown),
		cmocka_unit_test_setup_teardown(c_and_postgresql_compute_the_same_canonical_entry_and_hash, setup,
						teardown),
		cmocka_unit_test_setup_teardown(an_entry_commits_with_the_callers_transaction_or_not_at_all, setup,
						teardown),
		cmocka_unit_test_setup_teardown(concurrent_appenders_keep_one_gapless_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(an_append_in_repeatable_read_after_a_concurrent_one_is_retryable, setup,
						teardown),
		cmocka_unit_test_setup_teardown(the_application_role_may_only_insert_and_read, setup, teardown),
		cmocka_unit_test_setup_teardown(verify_names_exactly_the_entry_a_superuser_changed, setup, teardown),
		cmocka_unit_test_setup_teardown(truncating_the_end_and_rewriting_the_head_are_found, setup, teardown),
		cmocka_unit_test_setup_teardown(files_ingested_and_quarantine_entries_are_audited_per_file, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
