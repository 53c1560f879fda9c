/*
 * invoice_json.h - the machine-readable form of an issued invoice or
 * credit note: one JSON object (format "billrun-invoice/1"), amounts as
 * strings so that no reader turns them into binary floating point.
 * jobs/INVOICES.md documents the fields.
 */
#ifndef BILLRUN_INVOICE_JSON_H
#define BILLRUN_INVOICE_JSON_H

#include <stdio.h>

#include "invoice_doc.h"

struct err;
struct outfile_sum;

#define INVOICE_JSON_FORMAT "billrun-invoice/1"

/* Write the document to out, ending with a newline. Returns 0, or -1
 * when a write failed (errno tells why). */
int invoice_json_print(const struct invoice_doc *d, FILE *out);

/* Write the document to path (created or truncated; the caller picks a
 * temporary name and renames it). Returns 0 with *sum (SHA-256 and size;
 * sum may be NULL) filled, or -1 with e set (ERR_IO naming the file and
 * the system's reason, see fs_error in fs.h) and no file left. */
int invoice_json_write(const struct invoice_doc *d, const char *path, struct outfile_sum *sum, struct err *e);

#endif
