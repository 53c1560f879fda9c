/*
 * test_migrate.c - integration tests for schema migrations (core/migrate.c)
 * and the roles they create: applying in order with a SHA-256 record,
 * idempotence, refusing an edited applied file, rolling back a failing
 * migration, and what the application and auditor roles may do.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "db.h"
#include "err.h"
#include "hash.h"
#include "migrate.h"
#include "sqltext.h"
#include "support.h"

#define assert_contains(hay, needle) do { \
	if (!strstr((hay), (needle))) \
		fail_msg("'%s' does not contain '%s'", (hay), (needle)); \
} while (0)

/* The test's connection: freed by the teardown, so that a failed
 * assertion does not leak it. */
static struct db *open_db;

/* The test's copy of the migrations folder, removed by the teardown. */
static char copy_dir[256];

static void remove_dir(const char *dir);

static int teardown(void **state)
{
	db_free(open_db);
	open_db = NULL;
	if (copy_dir[0])
		remove_dir(copy_dir);
	copy_dir[0] = '\0';
	return 0;
}

/* A fresh database of this test's own, connected as the owner. */
static struct db *fresh(const char *name)
{
	char dsn[4096];
	struct err e;
	if (!test_pg_dsn()) {
		print_message("TEST_PG_DSN is not set; skipping\n");
		skip();
	}
	if (test_db_fresh(name, dsn, sizeof(dsn)))
		fail_msg("cannot create database %s", name);
	open_db = db_connect(dsn, 0, &e);
	if (!open_db)
		fail_msg("cannot connect: %s", e.message);
	return open_db;
}

static void must(struct db *db, const char *sql)
{
	struct err e;
	if (db_exec(db, &e, sql, 0, NULL) != 0)
		fail_msg("'%s' failed: %s", sql, e.message);
}

static int64_t count(struct db *db, const char *sql)
{
	struct err e;
	int64_t n = -1;
	if (db_query_int64(db, &e, &n, sql, 0, NULL) != 0)
		fail_msg("'%s' failed: %s", sql, e.message);
	return n;
}

/* Run sql that must fail; returns its SQLSTATE in e. */
static void must_fail(struct db *db, struct err *e, const char *sql, const char *sqlstate)
{
	err_clear(e);
	if (db_exec(db, e, sql, 0, NULL) == 0)
		fail_msg("'%s' succeeded", sql);
	if (strcmp(e->sqlstate, sqlstate) != 0)
		fail_msg("'%s' failed with %s (%s), expected %s", sql, e->sqlstate, e->message, sqlstate);
}

/* A copy of sql/migrations in a temporary folder. */
static void copy_migrations(char *dir, size_t size)
{
	char cmd[8400], out[1024];
	assert_int_equal(test_tmpdir(dir, size), 0);
	snprintf(copy_dir, sizeof(copy_dir), "%s", dir);
	snprintf(cmd, sizeof(cmd), "cp '%s'/*.sql '%s'/", test_src("sql/migrations"), dir);
	if (test_sh(out, sizeof(out), cmd) != 0)
		fail_msg("%s: %s", cmd, out);
}

/* The number of migrations in a folder (the tree may have gained one
 * since the binary embedded its set). */
static int count_sql_files(const char *dir)
{
	char cmd[4200], o[64];
	snprintf(cmd, sizeof(cmd), "ls '%s' | grep -c '\\.sql$'", dir);
	assert_int_equal(test_sh(o, sizeof(o), cmd), 0);
	return atoi(o);
}

static void remove_dir(const char *dir)
{
	char cmd[4200], out[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	test_sh(out, sizeof(out), cmd);
}

static void append_to(const char *dir, const char *file, const char *text)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	FILE *f = fopen(path, "a");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* ---- applying ---- */

static void apply_on_a_fresh_database_applies_and_records_every_migration(void **state)
{
	struct db *db = fresh("billrun_test_migrate_fresh");
	struct err e;
	char *out = NULL;
	size_t len = 0;

	FILE *f = open_memstream(&out, &len);
	int n = migrate_apply(db, NULL, f, &e);
	fclose(f);
	if (n < 0)
		fail_msg("migrate_apply: %s", e.message);
	assert_true(sql_migration_count >= 3);
	assert_int_equal(n, sql_migration_count);
	PGresult *r = db_query(db, &e, "SELECT name, sha256 FROM billrun_migrations ORDER BY name", 0, NULL);
	assert_non_null(r);
	assert_int_equal(PQntuples(r), sql_migration_count);
	for (int i = 0; i < sql_migration_count; i++) {
		char sha[SHA256_HEX_LEN + 1], line[256];
		hash_sha256_hex(sql_migrations[i].text, strlen(sql_migrations[i].text), sha);
		assert_string_equal(PQgetvalue(r, i, 0), sql_migrations[i].name);
		assert_string_equal(PQgetvalue(r, i, 1), sha);
		snprintf(line, sizeof(line), "applied %s\n", sql_migrations[i].name);
		assert_contains(out, line);
		/* Applied in name order. */
		if (i > 0)
			assert_true(strcmp(sql_migrations[i - 1].name, sql_migrations[i].name) < 0);
	}
	PQclear(r);
	free(out);
	/* The schema is there. */
	assert_int_equal(count(db, "SELECT count(*) FROM pg_tables WHERE tablename IN "
				   "('rule_versions', 'runs', 'run_steps', 'step_attempts', 'accounts', 'meters')"),
			 6);
}

static void second_apply_applies_nothing_and_check_passes(void **state)
{
	struct db *db = fresh("billrun_test_migrate_twice");
	struct err e;
	char *out = NULL;
	size_t len = 0;

	err_clear(&e);
	assert_int_equal(migrate_check(db, &e), -1); /* before: pending */
	assert_int_equal(e.kind, ERR_CONFIG);
	assert_contains(e.hint, "billrun db migrate");
	assert_int_equal(migrate_status(db, NULL, NULL, &e), sql_migration_count);

	assert_int_equal(migrate_apply(db, NULL, NULL, &e), sql_migration_count);
	FILE *f = open_memstream(&out, &len);
	assert_int_equal(migrate_apply(db, NULL, f, &e), 0);
	fclose(f);
	assert_string_equal(out, ""); /* nothing printed: nothing applied */
	free(out);
	assert_int_equal(count(db, "SELECT count(*) FROM billrun_migrations"), sql_migration_count);
	err_clear(&e);
	assert_int_equal(migrate_check(db, &e), 0);

	out = NULL;
	f = open_memstream(&out, &len);
	assert_int_equal(migrate_status(db, NULL, f, &e), 0);
	fclose(f);
	for (int i = 0; i < sql_migration_count; i++) {
		char want[256];
		snprintf(want, sizeof(want), "%s", sql_migrations[i].name);
		assert_contains(out, want);
	}
	assert_null(strstr(out, "pending"));
	assert_null(strstr(out, "CHANGED"));
	free(out);
}

static void a_folder_copy_has_the_same_checksums_as_the_embedded_set(void **state)
{
	struct db *db = fresh("billrun_test_migrate_dir");
	struct err e;
	char dir[256];

	copy_migrations(dir, sizeof(dir));
	int files = count_sql_files(dir);
	assert_true(files >= sql_migration_count);
	assert_int_equal(migrate_apply(db, dir, NULL, &e), files);
	/* Every embedded migration is recognised as applied, unchanged. */
	if (migrate_apply(db, NULL, NULL, &e) != 0)
		fail_msg("the embedded set differs from sql/migrations (a stale build?): %s", e.message);
	assert_int_equal(migrate_check(db, &e), 0);
}

static void an_edited_applied_migration_is_refused_naming_the_file(void **state)
{
	struct db *db = fresh("billrun_test_migrate_edit");
	struct err e;
	char dir[256], *out = NULL;
	size_t len = 0;

	copy_migrations(dir, sizeof(dir));
	int files = count_sql_files(dir);
	assert_int_equal(migrate_apply(db, dir, NULL, &e), files);
	append_to(dir, "002_runs.sql", "-- an innocent-looking edit\n");
	append_to(dir, "004_next.sql", "CREATE TABLE after_the_edit (v int);\n");
	err_clear(&e);
	assert_int_equal(migrate_apply(db, dir, NULL, &e), -1);
	assert_int_equal(e.kind, ERR_INPUT);
	assert_int_equal(err_exit_status(e.kind), 65);
	assert_contains(e.message, "migration '002_runs.sql' was applied but its file has changed");
	assert_contains(e.detail, "SHA-256");
	assert_true(e.hint[0] != '\0');
	/* Nothing after the refusal was applied. */
	assert_int_equal(count(db, "SELECT count(*) FROM pg_tables WHERE tablename = 'after_the_edit'"), 0);
	assert_int_equal(count(db, "SELECT count(*) FROM billrun_migrations"), files);

	FILE *f = open_memstream(&out, &len);
	assert_int_equal(migrate_status(db, dir, f, &e), 2); /* one changed, one pending */
	fclose(f);
	assert_contains(out, "002_runs.sql");
	assert_contains(out, "CHANGED since applied");
	assert_contains(out, "004_next.sql");
	assert_contains(out, "pending");
	free(out);
}

static void a_failing_migration_is_rolled_back_and_earlier_ones_stay(void **state)
{
	struct db *db = fresh("billrun_test_migrate_bad");
	struct err e;
	char dir[256];

	copy_migrations(dir, sizeof(dir));
	int files = count_sql_files(dir);
	append_to(dir, "999_bad.sql",
		  "CREATE TABLE half_done (v int);\n"
		  "INSERT INTO half_done VALUES (1);\n"
		  "SELECT no_such_column FROM half_done;\n");
	err_clear(&e);
	assert_int_equal(migrate_apply(db, dir, NULL, &e), -1);
	assert_int_equal(e.kind, ERR_DB);
	assert_string_equal(e.sqlstate, "42703");
	assert_contains(e.message, "migration '999_bad.sql': ");
	assert_contains(e.message, "no_such_column");
	/* Its objects are gone and it is not recorded ... */
	assert_int_equal(count(db, "SELECT count(*) FROM pg_tables WHERE tablename = 'half_done'"), 0);
	assert_int_equal(count(db, "SELECT count(*) FROM billrun_migrations WHERE name = '999_bad.sql'"), 0);
	/* ... while the ones before it stay applied. */
	assert_int_equal(count(db, "SELECT count(*) FROM billrun_migrations"), files);
	assert_int_equal(count(db, "SELECT count(*) FROM pg_tables WHERE tablename = 'runs'"), 1);
	/* The advisory lock was released: a later run proceeds. */
	char path[512];
	snprintf(path, sizeof(path), "%s/999_bad.sql", dir);
	assert_int_equal(test_write_file(path, "CREATE TABLE half_done (v int);\n"), 0);
	assert_int_equal(migrate_apply(db, dir, NULL, &e), 1);
	assert_int_equal(count(db, "SELECT count(*) FROM pg_tables WHERE tablename = 'half_done'"), 1);
}

static void a_missing_folder_is_an_io_error(void **state)
{
	struct db *db = fresh("billrun_test_migrate_nodir");
	struct err e;
	err_clear(&e);
	assert_int_equal(migrate_apply(db, "/nonexistent/migrations", NULL, &e), -1);
	assert_int_equal(e.kind, ERR_IO);
	assert_contains(e.message, "'/nonexistent/migrations'");
}

/* ---- roles ---- */

static struct db *migrated(const char *name)
{
	struct err e;
	struct db *db = fresh(name);
	if (migrate_apply(db, NULL, NULL, &e) < 0)
		fail_msg("migrate_apply: %s", e.message);
	return db;
}

#define RULE_INSERT \
	"INSERT INTO rule_versions (sha256, file_name, content) VALUES (repeat('%c', 64), 'rates.conf', 'x')"

static void app_role_may_insert_but_not_rewrite_rule_versions(void **state)
{
	struct db *db = migrated("billrun_test_migrate_app");
	struct err e;
	char sql[256];

	must(db, "SET ROLE billrun_app");
	snprintf(sql, sizeof(sql), RULE_INSERT, 'a');
	must(db, sql);
	assert_int_equal(count(db, "SELECT count(*) FROM rule_versions"), 1);
	must_fail(db, &e, "UPDATE rule_versions SET content = 'rewritten'", "42501");
	assert_contains(e.message, "permission denied");
	must_fail(db, &e, "DELETE FROM rule_versions", "42501");
	must_fail(db, &e, "TRUNCATE rule_versions", "42501");
	/* Runs are the application's to write. */
	must(db, "INSERT INTO runs (dag, period_kind, period_start, period_end, host, pid) "
		 "VALUES ('nightly', 'day', '2026-03-14', '2026-03-15', 'h', 1)");
	must(db, "UPDATE runs SET status = 'success'");
	must_fail(db, &e, "DELETE FROM runs", "42501");
	must_fail(db, &e, "CREATE TABLE sneaky (v int)", "42501");
	must(db, "RESET ROLE");
	assert_int_equal(count(db, "SELECT count(*) FROM rule_versions WHERE content = 'x'"), 1);
}

static void auditor_role_reads_but_cannot_write(void **state)
{
	struct db *db = migrated("billrun_test_migrate_auditor");
	struct err e;

	must(db, "SET ROLE billrun_auditor");
	assert_int_equal(count(db, "SELECT count(*) FROM runs"), 0);
	assert_int_equal(count(db, "SELECT count(*) FROM rule_versions"), 0);
	must_fail(db, &e, "INSERT INTO runs (dag, period_kind, period_start, period_end, host, pid) "
			  "VALUES ('nightly', 'day', '2026-03-14', '2026-03-15', 'h', 1)",
		  "42501");
	must_fail(db, &e, "INSERT INTO rule_versions (sha256, file_name, content) VALUES (repeat('b', 64), 'f', 'x')",
		  "42501");
	must_fail(db, &e, "UPDATE accounts SET name = 'x'", "42501");
}

static void owner_cannot_rewrite_history_either(void **state)
{
	struct db *db = migrated("billrun_test_migrate_owner");
	struct err e;
	char sql[256];

	snprintf(sql, sizeof(sql), RULE_INSERT, 'c');
	must(db, sql);
	must_fail(db, &e, "UPDATE rule_versions SET content = 'rewritten'", "42501");
	assert_contains(e.message, "table rule_versions is append-only");
	assert_true(e.hint[0] != '\0');
	must_fail(db, &e, "DELETE FROM rule_versions", "42501");
	assert_contains(e.message, "append-only");
	assert_int_equal(count(db, "SELECT count(*) FROM rule_versions WHERE content = 'x'"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(apply_on_a_fresh_database_applies_and_records_every_migration, teardown),
		cmocka_unit_test_teardown(second_apply_applies_nothing_and_check_passes, teardown),
		cmocka_unit_test_teardown(a_folder_copy_has_the_same_checksums_as_the_embedded_set, teardown),
		cmocka_unit_test_teardown(an_edited_applied_migration_is_refused_naming_the_file, teardown),
		cmocka_unit_test_teardown(a_failing_migration_is_rolled_back_and_earlier_ones_stay, teardown),
		cmocka_unit_test_teardown(a_missing_folder_is_an_io_error, teardown),
		cmocka_unit_test_teardown(app_role_may_insert_but_not_rewrite_rule_versions, teardown),
		cmocka_unit_test_teardown(auditor_role_reads_but_cannot_write, teardown),
		cmocka_unit_test_teardown(owner_cannot_rewrite_history_either, teardown),
	};
	return cmocka_run_group_tests_name("migrate", tests, NULL, NULL);
}
