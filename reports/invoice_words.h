/*
 * invoice_words.h - what a customer reads beside an invoice line, shared by
 * the PDF (invoice_pdf.c) and the JSON (invoice_json.c) so both say the
 * same: the quantity with its unit ("31,500 s"), the pricing in words
 * ("600 s free; 31,500 s at 0.0002", "first 60,000 s at 0.00015; next
 * 540,000 s at 0.0001", "3 packages of 100 messages at 5.00 per package";
 * a price is always per unit of the meter, or per package), and whether a
 * line is printed at all (a usage line whose quantity and amount are both
 * zero is not, unless its charge or plan says `show_zero = true`). The words come from the rate card
 * that rated the line (its `label` and `unit`, kept with the rated line;
 * jobs/RATING.md, "Words on the invoice"); nothing here computes money:
 * the numbers are the rated line's, as PostgreSQL printed them.
 *
 * Pure functions over struct invoice_doc_line; a field that is NULL reads
 * as "". They never fail: text is cut to the buffer's size.
 */
#ifndef BILLRUN_INVOICE_WORDS_H
#define BILLRUN_INVOICE_WORDS_H

#include <stddef.h>

#include "invoice_doc.h"

/* Is the line printed (PDF) and listed (JSON)? 0 only for a usage line
 * whose quantity and amount are both zero and whose charge does not ask
 * for zero lines. The document's totals are unchanged either way (the
 * line adds nothing); the line stays in the database, with its number. */
int invoice_line_shown(const struct invoice_doc_line *l);

/* Is s a decimal that equals zero ("0", "0.00", "-0")? "" is not. */
int invoice_words_is_zero(const char *s);

/* The quantity with thousands separators and the unit, "31,500 s"; "" when
 * the line has no quantity (recurring fees, taxes). */
void invoice_line_quantity(const struct invoice_doc_line *l, char *buf, size_t size);

/* The pricing of a usage line in words, "" for other lines or when the
 * rated line kept no steps. Prices on a converted line name their
 * currency ("at 0.0004 USD"). A difference (late usage) tells the
 * re-rated period's pricing, after "re-rated period: ". */
void invoice_line_pricing(const struct invoice_doc_line *l, char *buf, size_t size);

/* The price of one unit when the line has a single one (per_unit: per
 * unit; package: per package; volume: per unit of the tier), else "". */
const char *invoice_line_unit_price(const struct invoice_doc_line *l);

#endif
