/*
 * focus_csv.c - a FOCUS 1.1 export as CSV (see focus_csv.h): the column
 * table, and the writer. The values come as text; only quoting and null
 * are decided here.
 */
#include "focus_csv.h"
#include "err.h"
#include "outfile.h"

#include <string.h>

/* Mandatory in FOCUS 1.1 unless marked: the conditional and recommended
 * columns billrun has data for. reports/FOCUS.md gives each one's source
 * and the columns left out. sql/queries/invoice_focus.sql selects them
 * under these names in this order. */
const struct focus_column focus_columns[] = {
	{ "BilledCost", FOCUS_DECIMAL },
	{ "BillingAccountId", FOCUS_STRING },
	{ "BillingAccountName", FOCUS_STRING },
	{ "BillingCurrency", FOCUS_STRING },
	{ "BillingPeriodEnd", FOCUS_DATETIME },
	{ "BillingPeriodStart", FOCUS_DATETIME },
	{ "ChargeCategory", FOCUS_STRING },
	{ "ChargeClass", FOCUS_STRING },
	{ "ChargeDescription", FOCUS_STRING },
	{ "ChargeFrequency", FOCUS_STRING },        /* recommended */
	{ "ChargePeriodEnd", FOCUS_DATETIME },
	{ "ChargePeriodStart", FOCUS_DATETIME },
	{ "ConsumedQuantity", FOCUS_DECIMAL },      /* conditional: usage is measured */
	{ "ConsumedUnit", FOCUS_STRING },           /* conditional: usage is measured */
	{ "ContractedCost", FOCUS_DECIMAL },
	{ "EffectiveCost", FOCUS_DECIMAL },
	{ "InvoiceIssuerName", FOCUS_STRING },
	{ "ListCost", FOCUS_DECIMAL },
	{ "PricingCategory", FOCUS_STRING },        /* conditional */
	{ "PricingQuantity", FOCUS_DECIMAL },
	{ "PricingUnit", FOCUS_STRING },
	{ "ProviderName", FOCUS_STRING },
	{ "PublisherName", FOCUS_STRING },
	{ "ServiceCategory", FOCUS_STRING },
	{ "ServiceName", FOCUS_STRING },
	{ "SkuId", FOCUS_STRING },                  /* conditional: the rate card is the SKU list */
	{ "SkuPriceId", FOCUS_STRING },             /* conditional */
	/* billrun's own: FOCUS 1.1 has no invoice column (InvoiceId came
	 * in 1.2), and custom columns take the x_ prefix. */
	{ "x_InvoiceId", FOCUS_STRING },            /* the document's number */
	{ "x_InvoiceLine", FOCUS_INTEGER },         /* its line */
	{ "x_DocumentType", FOCUS_STRING },         /* invoice, supplementary, credit_note */
};
const int focus_ncolumns = (int)(sizeof(focus_columns) / sizeof(focus_columns[0]));

static void quoted(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

int focus_csv_print(const struct focus_rows *rows, FILE *out)
{
	for (int c = 0; c < focus_ncolumns; c++)
		fprintf(out, "%s%s", c ? "," : "", focus_columns[c].name);
	fputs("\r\n", out);
	for (int r = 0; r < rows->nrows; r++) {
		const char *const *v = rows->values + (size_t)r * (size_t)focus_ncolumns;
		for (int c = 0; c < focus_ncolumns; c++) {
			if (c)
				fputc(',', out);
			if (!v[c])
				fputs("NULL", out);
			else if (focus_columns[c].type == FOCUS_STRING)
				quoted(out, v[c]);
			else
				fputs(v[c], out);
		}
		fputs("\r\n", out);
	}
	return ferror(out) ? -1 : 0;
}

/* stdio's buffer is written out through the outfile (hashed, errors
 * kept). */
static ssize_t cookie_write(void *cookie, const char *buf, size_t n)
{
	return outfile_write(cookie, buf, n) == 0 ? (ssize_t)n : -1;
}

int focus_csv_write(const struct focus_rows *rows, const char *path, struct outfile_sum *sum, struct err *e)
{
	struct outfile of;
	if (outfile_open(&of, path, e))
		return -1;
	FILE *f = fopencookie(&of, "w", (cookie_io_functions_t){ .write = cookie_write });
	if (!f) {
		outfile_discard(&of);
		return err_set(e, ERR_INTERNAL, "out of memory");
	}
	focus_csv_print(rows, f);
	/* A failed write is kept by the outfile, which reports it. */
	fclose(f);
	return outfile_close(&of, sum, e);
}
