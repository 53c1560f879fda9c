/*
 * invoice_ubl.h - the structured e-invoice of an issued document: a UBL
 * 2.1 Invoice (a CreditNote for a credit note) to the Peppol BIS Billing
 * 3.0 profile of EN 16931, written with libxml2. The invoice step writes
 * one per document, NUMBER.xml beside its JSON and PDF (invoice.ubl);
 * jobs/INVOICES.md ("The e-invoice") says how each field is filled and
 * how to validate a file with stock tools.
 *
 * The amounts are the document's as PostgreSQL printed them: the XML's
 * PayableAmount is the JSON's total, TaxExclusiveAmount its subtotal,
 * TaxAmount its tax_total, and each line's LineExtensionAmount the line's
 * amount, to the cent (nothing here computes money but the VAT percent,
 * rate × 100, and a line's price when the line has no single unit price).
 * Lines are the ones the JSON lists (invoice_line_shown); tax lines
 * become the VAT breakdown (TaxSubtotal per category and rate).
 *
 * The bytes depend on the document only: the same document gives the
 * same file.
 */
#ifndef BILLRUN_INVOICE_UBL_H
#define BILLRUN_INVOICE_UBL_H

#include <stddef.h>

#include "invoice_doc.h"

struct err;
struct outfile_sum;

#define UBL_CUSTOMIZATION_ID "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
#define UBL_PROFILE_ID "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"

/*
 * The document as UBL in a buffer the caller frees (free()), *len its
 * length. Returns 0, or -1 with e set (ERR_INTERNAL: out of memory, or
 * an amount of the document that is not a decimal).
 */
int invoice_ubl_build(const struct invoice_doc *d, char **out, size_t *len, struct err *e);

/* Write the document to path (created or truncated; the caller picks a
 * temporary name and renames it). Returns 0 with *sum (SHA-256 and size;
 * sum may be NULL) filled, or -1 with e set (ERR_IO naming the file and
 * the system's reason, see fs_error in fs.h) and no file left. */
int invoice_ubl_write(const struct invoice_doc *d, const char *path, struct outfile_sum *sum, struct err *e);

/* The UN/ECE Recommendation 20 code of a meter's unit word ("s" -> "SEC",
 * "GB" -> "E34", "calls" or "" -> "C62", one). Unknown words are C62. */
const char *invoice_ubl_unit_code(const char *unit);

#endif
