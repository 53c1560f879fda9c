/*
 * focus_csv.h - a FOCUS 1.1 cost and usage export as CSV (the FinOps
 * Foundation's FOCUS specification): one row per charge, the columns of
 * focus_columns[] under their FOCUS names, a header line first. The
 * invoice step writes one per issued document, NUMBER.focus.csv beside its
 * JSON and PDF (jobs/invoice_focus.c fills the rows from the database);
 * reports/FOCUS.md says what each column holds and why.
 *
 * The file: RFC 4180 CSV, CRLF line ends, UTF-8. A string value is always
 * quoted (a quote doubled), a decimal or a date/time never; a null value
 * is the bare word NULL, unquoted, as in FOCUS exports and as billrun's
 * own FOCUS reader takes it (an unquoted NULL is null, a quoted "NULL" the
 * text). Null handling forbids an empty string for null, and CSV has no
 * other way to tell the two apart.
 */
#ifndef BILLRUN_FOCUS_CSV_H
#define BILLRUN_FOCUS_CSV_H

#include <stdio.h>

struct err;
struct outfile_sum;

#define FOCUS_VERSION "1.1"

/* How a column's values are written (FOCUS data types). */
enum focus_type {
	FOCUS_STRING,               /* quoted */
	FOCUS_DECIMAL,              /* as PostgreSQL prints numeric: -12.50 */
	FOCUS_DATETIME,             /* UTC, YYYY-MM-DDTHH:MM:SSZ */
	FOCUS_INTEGER,
};

struct focus_column {
	const char *name;           /* the FOCUS column id, or x_ for billrun's own */
	enum focus_type type;
};

/* The export's columns, in the order written: the FOCUS columns
 * alphabetically, then billrun's custom columns (x_). */
extern const struct focus_column focus_columns[];
extern const int focus_ncolumns;

/*
 * Rows to write: row r's value of column c is values[r * focus_ncolumns +
 * c], NULL for a null value. The strings are owned by the caller.
 */
struct focus_rows {
	const char *const *values;
	int nrows;
};

/* Write the header and rows to out. Returns 0, or -1 when a write failed. */
int focus_csv_print(const struct focus_rows *rows, FILE *out);

/* Write them to path (created or truncated; the caller picks a temporary
 * name and renames it). Returns 0 with *sum (SHA-256 and size; sum may be
 * NULL) filled, or -1 with e set (ERR_IO naming the file and the system's
 * reason, see fs_error in fs.h) and no file left. */
int focus_csv_write(const struct focus_rows *rows, const char *path, struct outfile_sum *sum, struct err *e);

#endif
