/*
 * run_report.h - the run report: one self-contained HTML page per run
 * (inline CSS and SVG, no scripts, no external resources) for the person
 * on call.
 *
 * It shows first the run's totals (records read, accepted, quarantined
 * and duplicated; amounts invoiced per currency; invoices and credit
 * notes; holds; SLA deadlines missed), then its facts; a timeline with
 * every attempt of every step as a bar from its start to its end (retries
 * as separate bars, the wait between them dashed) over the span of the
 * attempts, with ticks at round times down to tenths of a second, the SLA
 * deadlines of the run and of its steps and the predicted finish of any
 * predicted miss drawn across it when they fall within half the run's
 * length of it, and stated in words under the chart when they do not (a
 * catch-up run's deadline days before it started is never drawn at an
 * edge as if it were inside the run); tables of
 * the steps, the attempts and the SLA events; the run's warnings (files
 * refused for their header, schema changes, control-file mismatches, holds, drift
 * findings: billrun_run_warnings() of migration 025), counted by kind and
 * listed (the first 200); and what the run produced: rows per table and
 * totals per currency, for the tables that exist.
 *
 * It reads only: runs, run_steps and step_attempts; ingest_files, invoices,
 * credit_notes and account_holds for the totals; sla_deadlines and
 * sla_events when they exist (migration 006; without them no deadline is
 * drawn); billrun_run_warnings() (025); and, for counts and amounts, every readable table with an index
 * led by a run_id column (and a currency and a numeric total for amounts).
 * A section whose tables cannot be read says so in the page instead of
 * failing the report. Times are shown in the local time zone of the
 * process (TZ), which the page names.
 */
#ifndef BILLRUN_RUN_REPORT_H
#define BILLRUN_RUN_REPORT_H

#include <stdint.h>
#include <stdio.h>

struct config;
struct db;
struct err;

/* The report's file name inside a run's output folder. */
#define RUN_REPORT_FILE "run-report.html"

/*
 * Write the report of run run_id to path, or, when path is NULL, to
 * RUN_REPORT_FILE in the run's output folder (runs.output_dir, else the
 * folder the runner would use under cfg's output_dir). The file is written
 * under a temporary name and renamed, so a reader never sees half a page.
 * db may act as any role that can read the run tables. Returns 0, or -1
 * with e set: ERR_NOT_FOUND for an unknown run, ERR_IO when the file
 * cannot be written, a database error when the run cannot be read.
 */
int run_report_write(const struct config *cfg, struct db *db, int64_t run_id, const char *path,
		     struct err *e);

/* Where run_report_write puts the report when given no path: into buf
 * (size >= 4200 is always enough). Returns 0, or -1 with e set. */
int run_report_default_path(const struct config *cfg, struct db *db, int64_t run_id, char *buf, size_t size,
			    struct err *e);

/* Render the report of run_id into out. Same errors as run_report_write,
 * except that write errors on out are the caller's to check. */
int run_report_render(struct db *db, int64_t run_id, FILE *out, struct err *e);

#endif
