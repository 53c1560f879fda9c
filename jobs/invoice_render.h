/*
 * invoice_render.h - the invoice step's drawing (jobs/invoice_render.c):
 * every issued document without files (migration 019's invoice_files) of
 * the runs it looks at is written as NUMBER.json, NUMBER.pdf and
 * NUMBER.focus.csv (the FOCUS export, jobs/invoice_focus.h) and
 * NUMBER.xml (the UBL 2.1 e-invoice, reports/invoice_ubl.h) by forked
 * workers into the run's OUTPUT/.invoices.tmp, while the step goes on
 * issuing; the files are recorded, with their SHA-256, in the step's last
 * transaction, which also has the runner rename the folder to
 * OUTPUT/invoices. jobs/INVOICES.md explains why ("Documents and their
 * files").
 *
 *   invoice_render_start    before drafting: the folder, the runs to look at
 *   invoice_render_more     after each committed batch (no transaction open)
 *   invoice_render_wait     after the last batch: every worker done, on disk
 *   invoice_render_record   in the last transaction, before job_commit_done
 *   invoice_render_free     always; removes what a failed attempt wrote
 */
#ifndef BILLRUN_INVOICE_RENDER_H
#define BILLRUN_INVOICE_RENDER_H

struct err;
struct job_ctx;
struct invoice_render;

/* What an attempt wrote, for the step's log line. */
struct invoice_render_summary {
	long long written;          /* documents recorded as written by this run */
	long long earlier;          /* of them, issued by other runs */
	char earlier_runs[256];     /* those runs' ids, "2, 5" */
	const char *folder;         /* OUTPUT/invoices */
};

/*
 * Prepare rendering for the step ctx: the run's temporary folder (removed
 * and made again; beside the files when OUTPUT/invoices is there already),
 * the runs whose documents without files it writes (its own, and every
 * finished run not known to have all its files), and the table of what it
 * wrote. workers: at most this many drawing processes; pdf: write PDFs too;
 * focus: write the FOCUS exports too; ubl: the UBL e-invoices too.
 * Returns 0 with *out set (free it with invoice_render_free), or -1 with
 * e set.
 */
int invoice_render_start(struct job_ctx *ctx, int workers, int pdf, int focus, int ubl,
			 struct invoice_render **out, struct err *e);

/*
 * Hand every document without files of those runs that was not handed out
 * yet to a worker, waiting for a free one. No transaction may be open (the
 * files of finished workers are noted in the session). Returns 0, or -1
 * with e set: a database error, or a worker's failure (its error as the
 * worker gave it: for a write, the file and the system's reason).
 */
int invoice_render_more(struct invoice_render *r, struct err *e);

/* Wait for every worker, then flush the written files to disk (one
 * syncfs of the output's file system). Returns 0, or -1 with e set. */
int invoice_render_wait(struct invoice_render *r, struct err *e);

/*
 * In the step's last transaction (before job_commit_done): record the
 * files in invoice_files (a document another step recorded first keeps
 * that step's files: this attempt's copies are removed), have the runner
 * rename them into place, and note the finished runs that now have all
 * their files. Fills *sum. Returns 0, or -1 with e set (the caller rolls
 * back).
 */
int invoice_render_record(struct invoice_render *r, struct invoice_render_summary *sum, struct err *e);

/*
 * Release r (NULL is a no-op). When the attempt failed before its last
 * commit (`failed`), workers still drawing are killed and what the attempt
 * wrote is removed: the temporary folder, or its hidden files beside the
 * final ones. Nothing of it was recorded, so the next attempt writes it
 * again.
 */
void invoice_render_free(struct invoice_render *r, int failed);

#endif
