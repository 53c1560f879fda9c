/*
 * archive_step.h - the archive of a run (the job "archive", a signed BagIt bag
 * per run, holding the documents the run issued) and retention (billrun
 * archive prune). reports/README.md describes the bag's layout and which
 * documents it must hold.
 */
#ifndef BILLRUN_ARCHIVE_STEP_H
#define BILLRUN_ARCHIVE_STEP_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct bagit_contents;
struct bagit_writer;
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

/* ---- the documents an archive must hold (archive_docs.c) ---- */

/* Columns of archive_expected_documents(). */
enum { ARCHIVE_DOC_NUMBER, ARCHIVE_DOC_REL, ARCHIVE_DOC_PATH, ARCHIVE_DOC_SHA256 };

/*
 * The document files run run_id issued, which its archive must hold, one
 * row each, in path order (byte order): the document's number, its path
 * in the bag relative to data/ ("output/invoices/NUMBER.pdf"; the JSON,
 * and the PDF and the FOCUS export NUMBER.focus.csv where recorded), its
 * file on disk, and its SHA-256 ("" when none was recorded). pdf is
 * invoice.pdf (asked of documents without recorded files). No rows without the invoice schema. The one place that
 * decides (sql/queries/archive.sql, archive_expected_documents). The
 * caller PQclears the result; NULL with e set.
 */
PGresult *archive_expected_documents(struct db *db, int64_t run_id, int pdf, struct err *e);

/*
 * Add every document file of run run_id to the bag being written, from
 * where the invoice step recorded it (the run's own invoices/ folder, or
 * a later run's that drew it; the tree walk of the output folder leaves
 * invoices/ out). Returns 0 (*count = the files, when count is given), or
 * -1 with e set: ERR_IO naming the missing files when any is not there
 * (nothing is added then), or those whose SHA-256 differs from the
 * recorded one.
 */
int archive_add_documents(struct bagit_writer *w, struct db *db, int64_t run_id, int pdf, int *count,
			  struct err *e);

#define ARCHIVE_DOC_PROBLEMS 16

struct archive_doc_check {
	int expected;        /* document files the run issued */
	int present;         /* of them, in the bag (and matching a recorded SHA-256) */
	int nproblems;       /* problems found (the first ARCHIVE_DOC_PROBLEMS kept) */
	char problems[ARCHIVE_DOC_PROBLEMS][300];
};

/*
 * Compare a verified bag's payload (c) with the documents run run_id
 * issued: each must be there (and match its recorded SHA-256), and no
 * file under data/output/invoices/ may be one the run did not issue.
 * Returns 0 with the findings in r (r->nproblems > 0: they differ), or -1
 * with e set when the database could not be asked.
 */
int archive_check_documents(struct db *db, int64_t run_id, int pdf, const struct bagit_contents *c,
			    struct archive_doc_check *r, struct err *e);

#endif
