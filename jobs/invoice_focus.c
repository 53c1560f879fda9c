/*
 * invoice_focus.c - the FOCUS export of issued documents (see
 * invoice_focus.h): one statement for all lines of a set of documents,
 * its columns checked against the writer's table, the rows handed to
 * reports/focus_csv.c one document at a time.
 */
#include "invoice_focus.h"
#include "db.h"
#include "err.h"
#include "focus_csv.h"
#include "sqltext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void invoice_focus_release(struct invoice_focus_set *f)
{
	PQclear(f->res);
	free(f->values);
	free(f->first);
	free(f->count);
	memset(f, 0, sizeof(*f));
}

/* The statement names its columns as FOCUS does (after the document id):
 * a column added to one side only is a bug, found at the first document
 * rather than as a shifted file. */
static int check_columns(PGresult *res, struct err *e)
{
	if (PQnfields(res) != 1 + focus_ncolumns)
		return err_set(e, ERR_INTERNAL, "invoice_focus_rows returns %d columns, the FOCUS export has %d",
			       PQnfields(res) - 1, focus_ncolumns);
	for (int c = 0; c < focus_ncolumns; c++)
		if (strcmp(PQfname(res, 1 + c), focus_columns[c].name) != 0)
			return err_set(e, ERR_INTERNAL, "invoice_focus_rows returns '%s' where the FOCUS export has '%s'",
				       PQfname(res, 1 + c), focus_columns[c].name);
	return 0;
}

int invoice_focus_load(struct db *db, const struct invoice_doc_set *set, struct invoice_focus_set *out,
		       struct err *e)
{
	memset(out, 0, sizeof(*out));
	if (set->n == 0)
		return 0;
	size_t cap = (size_t)set->n * 24 + 4, len = 0;
	char *ids = malloc(cap);
	out->first = calloc((size_t)set->n, sizeof(int));
	out->count = calloc((size_t)set->n, sizeof(int));
	if (!ids || !out->first || !out->count) {
		free(ids);
		return err_set(e, ERR_INTERNAL, "out of memory");
	}
	ids[len++] = '{';
	for (int i = 0; i < set->n; i++)
		len += (size_t)snprintf(ids + len, cap - len, "%s%s", i ? "," : "", set->docs[i].id);
	snprintf(ids + len, cap - len, "}");
	const char *p[] = { strcmp(set->docs[0].doc, "credit_note") == 0 ? "credit_note" : "invoice", ids };
	out->res = db_query(db, e, SQL_invoice_focus_rows, 2, p);
	free(ids);
	if (!out->res || check_columns(out->res, e))
		return -1;
	out->n = set->n;
	int rows = PQntuples(out->res);
	out->values = calloc((size_t)rows * (size_t)focus_ncolumns + 1, sizeof(*out->values));
	if (!out->values)
		return err_set(e, ERR_INTERNAL, "out of memory");
	for (int r = 0; r < rows; r++)
		for (int c = 0; c < focus_ncolumns; c++)
			out->values[(size_t)r * (size_t)focus_ncolumns + (size_t)c] =
				PQgetisnull(out->res, r, 1 + c) ? NULL : PQgetvalue(out->res, r, 1 + c);
	/* Documents and rows are both in id order. */
	int r = 0;
	for (int i = 0; i < set->n; i++) {
		long long id = strtoll(set->docs[i].id, NULL, 10);
		while (r < rows && strtoll(PQgetvalue(out->res, r, 0), NULL, 10) < id)
			r++;
		out->first[i] = r;
		while (r < rows && strtoll(PQgetvalue(out->res, r, 0), NULL, 10) == id)
			r++;
		out->count[i] = r - out->first[i];
	}
	return 0;
}

int invoice_focus_write(const struct invoice_focus_set *f, int i, const char *path, struct outfile_sum *sum,
			struct err *e)
{
	if (i < 0 || i >= f->n)
		return err_set(e, ERR_INTERNAL, "no FOCUS rows were read for document %d of the set", i);
	struct focus_rows rows = {
		f->values + (size_t)f->first[i] * (size_t)focus_ncolumns,
		f->count[i],
	};
	return focus_csv_write(&rows, path, sum, e);
}
