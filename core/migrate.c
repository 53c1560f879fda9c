/*
 * migrate.c - the schema migration runner (see migrate.h).
 */
#include "migrate.h"
#include "db.h"
#include "err.h"
#include "hash.h"
#include "sqltext.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct migration {
	char *name;
	char *text;
	char sha[SHA256_HEX_LEN + 1];
};

struct migration_set {
	struct migration *items;
	int count;
	int owned; /* texts were read from disk */
};

static void set_release(struct migration_set *set)
{
	for (int i = 0; i < set->count; i++) {
		free(set->items[i].name);
		if (set->owned)
			free(set->items[i].text);
	}
	free(set->items);
	set->items = NULL;
	set->count = 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct migration *)a)->name, ((const struct migration *)b)->name);
}

static int set_load(struct migration_set *set, const char *dir, struct err *e)
{
	memset(set, 0, sizeof(*set));
	if (!dir) {
		set->items = calloc((size_t)sql_migration_count + 1, sizeof(*set->items));
		if (!set->items)
			return err_set(e, ERR_INTERNAL, "out of memory");
		for (int i = 0; i < sql_migration_count; i++) {
			set->items[i].name = strdup(sql_migrations[i].name);
			set->items[i].text = (char *)sql_migrations[i].text;
			hash_sha256_hex(set->items[i].text, strlen(set->items[i].text), set->items[i].sha);
		}
		set->count = sql_migration_count;
		return 0;
	}
	DIR *d = opendir(dir);
	if (!d)
		return err_set(e, ERR_IO, "could not open migrations folder '%s': %s", dir, strerror(errno));
	set->owned = 1;
	struct dirent *de;
	int cap = 0;
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		if (n < 5 || strcmp(de->d_name + n - 4, ".sql") != 0)
			continue;
		if (set->count == cap) {
			cap = cap ? cap * 2 : 16;
			struct migration *p = realloc(set->items, (size_t)cap * sizeof(*p));
			if (!p) {
				closedir(d);
				set_release(set);
				return err_set(e, ERR_INTERNAL, "out of memory");
			}
			set->items = p;
		}
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		struct migration *m = &set->items[set->count];
		if (hash_read_file(path, &m->text, NULL, e)) {
			closedir(d);
			set_release(set);
			return -1;
		}
		m->name = strdup(de->d_name);
		hash_sha256_hex(m->text, strlen(m->text), m->sha);
		set->count++;
	}
	closedir(d);
	qsort(set->items, (size_t)set->count, sizeof(*set->items), by_name);
	return 0;
}

static const char bootstrap[] =
	"-- migrations bookkeeping\n"
	"CREATE TABLE IF NOT EXISTS billrun_migrations (\n"
	"  name text PRIMARY KEY,\n"
	"  sha256 text NOT NULL,\n"
	"  applied_at timestamptz NOT NULL DEFAULT now())";

/* Recorded checksum of a migration: 0 found, 1 not recorded, -1 error. */
static int recorded(struct db *db, const char *name, char *sha, char *when, struct err *e)
{
	const char *params[] = { name };
	PGresult *res = db_query(db, e,
				 "SELECT sha256, to_char(applied_at, 'YYYY-MM-DD HH24:MI:SS TZ') "
				 "FROM billrun_migrations WHERE name = $1",
				 1, params);
	if (!res)
		return -1;
	int found = PQntuples(res) > 0;
	if (found) {
		snprintf(sha, SHA256_HEX_LEN + 1, "%s", PQgetvalue(res, 0, 0));
		if (when)
			snprintf(when, 64, "%s", PQgetvalue(res, 0, 1));
	}
	PQclear(res);
	return found ? 0 : 1;
}

static int changed_error(struct err *e, const struct migration *m, const char *was)
{
	err_set(e, ERR_INPUT, "migration '%s' was applied but its file has changed since", m->name);
	err_detail(e, "applied with SHA-256 %s, the file now has %s", was, m->sha);
	return err_hint(e, "never edit an applied migration: restore it and add a new numbered file");
}

int migrate_apply(struct db *db, const char *dir, FILE *out, struct err *e)
{
	struct migration_set set;
	int applied = 0, rc = -1;

	if (set_load(&set, dir, e))
		return -1;
	if (db_exec(db, e, bootstrap, 0, NULL))
		goto out;
	/* One migrator at a time, across processes. */
	if (db_exec(db, e, "SELECT pg_advisory_lock(hashtext('billrun migrate'))", 0, NULL))
		goto out;
	for (int i = 0; i < set.count; i++) {
		struct migration *m = &set.items[i];
		char was[SHA256_HEX_LEN + 1];
		int r = recorded(db, m->name, was, NULL, e);
		if (r < 0)
			goto unlock;
		if (r == 0) {
			if (strcmp(was, m->sha) != 0) {
				changed_error(e, m, was);
				goto unlock;
			}
			continue;
		}
		if (db_begin(db, e))
			goto unlock;
		if (db_exec_script(db, e, m->text)) {
			db_rollback(db);
			err_prefix(e, "migration '%s': ", m->name);
			goto unlock;
		}
		const char *params[] = { m->name, m->sha };
		if (db_exec(db, e, "INSERT INTO billrun_migrations (name, sha256) VALUES ($1, $2)", 2, params) ||
		    db_commit(db, e)) {
			db_rollback(db);
			goto unlock;
		}
		if (out)
			fprintf(out, "applied %s\n", m->name);
		applied++;
	}
	rc = applied;
unlock:
	if (db_ok(db)) {
		PGresult *res = PQexec(db->conn, "SELECT pg_advisory_unlock(hashtext('billrun migrate'))");
		PQclear(res);
	}
out:
	set_release(&set);
	return rc;
}

int migrate_status(struct db *db, const char *dir, FILE *out, struct err *e)
{
	struct migration_set set;
	int todo = 0, rc = -1;

	if (set_load(&set, dir, e))
		return -1;
	int64_t exists = 0;
	if (db_query_int64(db, e, &exists, "SELECT count(*) FROM pg_tables WHERE tablename = 'billrun_migrations'",
			   0, NULL) < 0)
		goto out;
	for (int i = 0; i < set.count; i++) {
		struct migration *m = &set.items[i];
		char was[SHA256_HEX_LEN + 1], when[64];
		int r = exists ? recorded(db, m->name, was, when, e) : 1;
		if (r < 0)
			goto out;
		if (r == 1) {
			if (out)
				fprintf(out, "%-40s pending\n", m->name);
			todo++;
		} else if (strcmp(was, m->sha) != 0) {
			if (out)
				fprintf(out, "%-40s CHANGED since applied %s\n", m->name, when);
			todo++;
		} else {
			if (out)
				fprintf(out, "%-40s applied %s\n", m->name, when);
		}
	}
	rc = todo;
out:
	set_release(&set);
	return rc;
}

/* The bookkeeping cannot be read: no schema at all, or one from before
 * migration 022 (which lets the application role read it). */
static int unreadable_error(struct err *e)
{
	if (strcmp(e->sqlstate, "42P01") == 0) {
		err_set(e, ERR_CONFIG, "the database has no billrun schema (no table billrun_migrations)");
		snprintf(e->sqlstate, sizeof(e->sqlstate), "42P01");
	} else if (strcmp(e->sqlstate, "42501") == 0) {
		err_set(e, ERR_CONFIG, "the database schema is not up to date (this role may not read "
				       "billrun_migrations before migration 022)");
		snprintf(e->sqlstate, sizeof(e->sqlstate), "42501");
	} else {
		return -1;
	}
	return err_hint(e, "run 'billrun db migrate'");
}

int migrate_check(struct db *db, struct err *e)
{
	struct migration_set set;
	int todo = 0;

	if (set_load(&set, NULL, e))
		return -1;
	/* One query, not one per migration: the runner checks at every start. */
	PGresult *res = db_query(db, e, "SELECT name, sha256 FROM billrun_migrations", 0, NULL);
	if (!res) {
		set_release(&set);
		return unreadable_error(e);
	}
	for (int i = 0; i < set.count; i++) {
		int ok = 0;
		for (int k = 0; k < PQntuples(res) && !ok; k++)
			ok = strcmp(PQgetvalue(res, k, 0), set.items[i].name) == 0 &&
			     strcmp(PQgetvalue(res, k, 1), set.items[i].sha) == 0;
		todo += !ok;
	}
	PQclear(res);
	set_release(&set);
	if (todo > 0) {
		err_set(e, ERR_CONFIG, "the database schema is not up to date (%d migration%s pending or changed)", todo,
			todo == 1 ? "" : "s");
		return err_hint(e, "run 'billrun db migrate'");
	}
	return 0;
}
