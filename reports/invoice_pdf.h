/*
 * invoice_pdf.h - an issued invoice or credit note as an A4 PDF: the seller's and the customer's details, the document's
 * number, dates, billing period and currency, its lines in the rate
 * card's words (invoice_words.h: label, quantity with unit, unit price or
 * tiers; zero usage lines left out unless asked for; charges, late-usage
 * adjustments, taxes; FX shown on converted lines),
 * the totals and the payment details. Long documents continue on further
 * pages with the table header repeated; every page is numbered "page i of
 * n". Text is real text (pdftotext reads it back). When all of it is
 * Windows-1252 the file is drawn with libharu as an archival PDF/A-3b
 * (pdfa.h: DejaVu Sans embedded, XMP metadata, sRGB output intent) with
 * the e-invoice attached; else it is drawn in DejaVu Sans, embedded, with
 * cairo, a plain PDF without attachment (see canvas.h). The run and the
 * rule version are not printed: they are the file's Subject and Keywords
 * ("billrun-run=N billrun-rule-version=V billrun-rule-sha256=HEX"), in the
 * information dictionary and the XMP metadata.
 */
#ifndef BILLRUN_INVOICE_PDF_H
#define BILLRUN_INVOICE_PDF_H

#include <stddef.h>

#include "canvas.h"
#include "invoice_doc.h"

struct err;
struct outfile_sum;

/*
 * Write the document to path (created or truncated; the caller writes to
 * a temporary name and renames it), with einvoice (NULL: none; e.g. the
 * document's UBL XML, name "NUMBER.xml", mime "text/xml", relationship
 * "Alternative") attached as its PDF/A-3 associated file. Returns 0 with *sum (the file's
 * SHA-256 and size; sum may be NULL) filled, or -1 with e set: ERR_IO
 * when the file cannot be written (naming it, with the system's reason,
 * see fs_error in fs.h), ERR_INTERNAL when a library fails. A file
 * that could not be written whole is removed.
 */
int invoice_pdf_write(const struct invoice_doc *d, const char *path, const struct canvas_attachment *einvoice,
		      struct outfile_sum *sum, struct err *e);

/* Release cairo's and fontconfig's process-wide caches (fonts, patterns).
 * For processes that exit normally after drawing (commands, tests), so that
 * leak checkers report only real leaks. No drawing may follow. */
void invoice_pdf_cleanup(void);

/* Amount text with thousands separators for people: "-1234567.5" ->
 * "-1,234,567.5". Copies anything that is not a plain decimal as it is.
 * Writes into buf (NUL-terminated, cut to size). */
void invoice_pdf_group_digits(const char *amount, char *buf, size_t size);

#endif
