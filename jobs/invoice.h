/*
 * invoice.h - invoices: the numbering series formats, and loading issued
 * documents for the renderers and the `billrun invoice` commands. The
 * invoice step itself is job_invoice (jobs/invoice.c); jobs/INVOICES.md
 * explains the design.
 */
#ifndef BILLRUN_INVOICE_H
#define BILLRUN_INVOICE_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "invoice_doc.h"

struct db;
struct err;

/* ---- numbering series (jobs/invoice_number.c) ---- */

#define INVOICE_SERIES_MAX 96     /* longest rendered series key / number */
#define INVOICE_SEQ_MAX_WIDTH 18

/*
 * A series format rendered for one issue date. The format is literal
 * characters [A-Za-z0-9._-] and the tokens {YYYY}, {YY}, {MM} (of the
 * issue date) and exactly one {SEQ} or {SEQ:n} (the number in the series,
 * zero-padded to n digits, never cut); the number must start with a letter
 * or digit. Example: "INV-{YYYY}-{SEQ:6}" on 2026-04-02 gives the key
 * "INV-2026-{SEQ:6}" (the counter row's name: a new year starts a new
 * series), prefix "INV-2026-", width 6, suffix "": INV-2026-000123.
 */
struct invoice_series_fmt {
	char key[INVOICE_SERIES_MAX];
	char prefix[INVOICE_SERIES_MAX];
	char suffix[INVOICE_SERIES_MAX];
	int width;
};

/*
 * Render format for issue_date (YYYY-MM-DD). `what` names the setting in
 * messages ("invoice.series"). Returns 0, or -1 with e set (ERR_CONFIG)
 * for a format that breaks the rules above.
 */
int invoice_series_render(const char *format, const char *issue_date, const char *what,
			  struct invoice_series_fmt *out, struct err *e);

/* The number of seq in a rendered series into buf. Never fails (cuts to
 * size). */
void invoice_series_number(const struct invoice_series_fmt *f, int64_t seq, char *buf, size_t size);

/* ---- issued documents (jobs/invoice_doc.c) ---- */

/* A set of documents with their lines, pointing into the query results it
 * owns. */
struct invoice_doc_set {
	PGresult *headers, *lines, *steps;
	struct invoice_doc *docs;
	struct invoice_doc_line *line_arr;
	struct invoice_doc_step *step_arr;
	int n;
};

/*
 * Load the documents without files (no invoice_files row, migration 019)
 * that the runs `runs` (an array literal, "{2,7}") issued: kind "invoice"
 * (invoices and supplementary invoices) or "credit_note", with ids above
 * after_id, at most limit of them, in id order. Returns the number loaded
 * (0 when there are no more), or -1 with e set. Release the set with
 * invoice_docs_release() either way.
 */
int invoice_docs_load_unwritten(struct db *db, const char *runs, const char *kind, int64_t after_id, int limit,
				struct invoice_doc_set *set, struct err *e);

/* Load the document numbered `number`: 1 found, 0 not, -1 error. */
int invoice_docs_load_number(struct db *db, const char *number, struct invoice_doc_set *set, struct err *e);

/* The highest document id of a loaded set (for the next after_id). */
int64_t invoice_docs_last_id(const struct invoice_doc_set *set);

void invoice_docs_release(struct invoice_doc_set *set);

#endif
