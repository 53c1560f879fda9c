/*
 * migrate.h - applying the numbered schema migrations in sql/migrations.
 *
 * Migrations are embedded in the binary at build time (or read from a
 * folder for testing and for sites that keep them in /usr/share). Each is
 * applied in its own transaction together with its record in
 * billrun_migrations (name, SHA-256, time). A recorded migration whose text
 * has since changed is refused: the schema would no longer match the file.
 */
#ifndef BILLRUN_MIGRATE_H
#define BILLRUN_MIGRATE_H

#include <stdio.h>

struct db;
struct err;

/*
 * Apply all pending migrations in name order. dir NULL = the embedded set.
 * Prints one line per applied migration to out (may be NULL). Returns the
 * number applied (>= 0), or -1 with e set: ERR_INPUT for a changed
 * migration, ERR_DB when one fails (that one is rolled back; earlier ones
 * stay applied).
 */
int migrate_apply(struct db *db, const char *dir, FILE *out, struct err *e);

/* Print (to out, unless NULL) each migration with its state: applied
 * (time), pending, changed.
 * Returns the number pending or changed, or -1 with e set. */
int migrate_status(struct db *db, const char *dir, FILE *out, struct err *e);

/* 0 if every known migration is applied and unchanged; else -1 with e set:
 * ERR_CONFIG with the hint to run 'billrun db migrate' when the schema is
 * missing, older or changed; the database's error when the query fails
 * otherwise. One statement; any role may run it (from migration 022). */
int migrate_check(struct db *db, struct err *e);

#endif
