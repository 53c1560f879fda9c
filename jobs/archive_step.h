/*
 * archive_step.h - the archive of a run (the job "archive", a signed BagIt bag
 * per run) and retention (billrun archive prune). reports/README.md
 * describes the bag's layout.
 */
#ifndef BILLRUN_ARCHIVE_STEP_H
#define BILLRUN_ARCHIVE_STEP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct config;
struct db;
struct err;

/* The archive folder: archive.dir, else OUTPUT_DIR/archive. Never fails. */
void archive_dir(const struct config *cfg, char *buf, size_t size);

/*
 * Turn a retention ("7y", "18mo", "6w", "90d": years, months, weeks,
 * days; one number and one unit) into a PostgreSQL interval text ("7
 * years"). Returns 0, or -1 with e set (ERR_CONFIG naming what, the key
 * or option the text came from).
 */
int archive_retention_interval(const char *text, const char *what, char *buf, size_t size, struct err *e);

struct prune_report {
	char before[64];          /* data older than this instant was removed (UTC) */
	int64_t archives;         /* archives marked pruned now */
	int64_t files_removed;    /* archive files removed (also earlier marks' leftovers) */
	int64_t usage_records;    /* usage rows deleted; -1: no usage table */
	int64_t spool_files;      /* processed spool files removed */
};

/*
 * Remove what is older than the retention: archives of runs whose period
 * ended before it (their rows are marked pruned, never deleted), raw
 * usage (usage rows by event time, processed spool files by mtime). Runs
 * in one transaction on db, which must be the owner's connection (the
 * usage table's append-only triggers are disabled for that transaction
 * only); each removal is in the audit log, which itself is never pruned.
 * Files are removed after the commit. With dry_run nothing changes and
 * what would be removed is printed to out. Returns 0, or -1 with e set.
 */
int archive_prune(const struct config *cfg, struct db *db, const char *interval, int dry_run, FILE *out,
		  struct prune_report *r, struct err *e);

#endif
