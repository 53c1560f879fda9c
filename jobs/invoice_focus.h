/*
 * invoice_focus.h - the FOCUS 1.1 billing export of issued documents
 * (jobs/invoice_focus.c): each document's rows, read from the database
 * (sql/queries/invoice_focus.sql) for a set of documents loaded for
 * drawing, and written as NUMBER.focus.csv by reports/focus_csv.c. The
 * invoice step's drawing workers write it beside the JSON and the PDF
 * (invoice.focus, default on); reports/FOCUS.md explains the columns.
 */
#ifndef BILLRUN_INVOICE_FOCUS_H
#define BILLRUN_INVOICE_FOCUS_H

#include <libpq-fe.h>

#include "invoice.h"

struct db;
struct err;
struct outfile_sum;

/* The rows of a set's documents: those of set->docs[i] are rows
 * first[i] .. first[i] + count[i] - 1 of values (focus_csv.h's layout),
 * which point into res. */
struct invoice_focus_set {
	PGresult *res;
	const char **values;
	int *first, *count;
	int n;
};

/*
 * Read the rows of every document of set (all of one kind, as
 * invoice_docs_load_unwritten loads them). Returns 0 with *out filled, or
 * -1 with e set (a database error; ERR_INTERNAL when the statement's
 * columns are not focus_columns[]). Release *out with
 * invoice_focus_release() either way.
 */
int invoice_focus_load(struct db *db, const struct invoice_doc_set *set, struct invoice_focus_set *out,
		       struct err *e);

/* Write the export of document i of the set to path (see
 * focus_csv_write). Returns 0 with *sum filled, or -1 with e set and no
 * file left. */
int invoice_focus_write(const struct invoice_focus_set *f, int i, const char *path, struct outfile_sum *sum,
			struct err *e);

void invoice_focus_release(struct invoice_focus_set *f);

#endif
