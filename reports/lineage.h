/*
 * lineage.h - a run's OpenLineage events (https://openlineage.io, spec
 * 2-0-2) as JSON lines: START and COMPLETE or FAIL for the run (job DAG)
 * and for every attempt of every step (job DAG.step), with the step's
 * input and output datasets (the files ingested with their SHA-256, the
 * tables, the invoice documents, the XBRL files, the archive). core/
 * LINEAGE.md describes the events, the identifiers and the facets.
 *
 * The events are composed from the database (runs, step_attempts and the
 * tables that record what the steps read and wrote), not appended while
 * the run goes: the runner writes LINEAGE_FILE into the run's output
 * folder when the run finishes, in the transaction that ends it, so a
 * runner killed at any point and resumed writes them all again, each
 * once, and never a file that lacks the end of the run.
 */
#ifndef BILLRUN_LINEAGE_H
#define BILLRUN_LINEAGE_H

#include <stdint.h>
#include <stdio.h>

struct config;
struct db;
struct err;

/* The events' file name inside a run's output folder. */
#define LINEAGE_FILE "lineage.jsonl"

/* The job namespace of every event, and the producer URI. */
#define LINEAGE_NAMESPACE "billrun"
#define LINEAGE_PRODUCER "urn:billrun:" BILLRUN_VERSION
/* The schema of billrun's own dataset facet billrun_file (the file's
 * SHA-256 and size), kept in tests/lineage/BillrunFileDatasetFacet.json. */
#define LINEAGE_FILE_FACET_URL "urn:billrun:lineage:BillrunFileDatasetFacet:1-0-0"

/*
 * Print run_id's events to out, one JSON object a line, in the order of
 * their times (a run that has not finished has no end event for itself or
 * its running attempts). cfg says which built-in job each step runs (for
 * its datasets) and where the spool is. Returns 0, or -1 with e set:
 * ERR_NOT_FOUND for an unknown run, a database error. Write errors on out
 * are the caller's to check.
 */
int lineage_render(const struct config *cfg, struct db *db, int64_t run_id, FILE *out, struct err *e);

/*
 * Write the events of run_id to LINEAGE_FILE in its output folder (the
 * folder of run_report_default_path), under a temporary name, fsynced and
 * renamed. Returns 0, or -1 with e set: ERR_IO when the file cannot be
 * written (naming it and the cause), else as lineage_render.
 */
int lineage_write(const struct config *cfg, struct db *db, int64_t run_id, struct err *e);

/* Where lineage_write puts the file: into buf (size >= 4200). 0 or -1. */
int lineage_default_path(const struct config *cfg, struct db *db, int64_t run_id, char *buf, size_t size,
			 struct err *e);

/* The UUID (version 5, SHA-1, in the URL namespace) of name, as 36
 * characters and a NUL in out: how runIds are derived, for the tests. */
void lineage_uuid(const char *name, char out[37]);

#endif
