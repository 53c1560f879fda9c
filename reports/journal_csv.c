/*
 * journal_csv.c - the journal as a CSV for an accounting system's import
 * (journal_csv_write, see journal.h): RFC 4180, one row per line of every
 * entry, in the XBRL GL instance's order, amounts as exact decimals.
 */
#include "journal.h"
#include "err.h"
#include "fs.h"

#include <stdio.h>
#include <string.h>

/* A field, quoted when it holds a comma, a quote, a line break or
 * leading/trailing spaces (which an importer would trim). */
static void field(FILE *f, const char *s, int last)
{
	size_t n = strlen(s);
	int quote = strpbrk(s, ",\"\r\n") != NULL || (n && (s[0] == ' ' || s[n - 1] == ' '));
	if (quote) {
		fputc('"', f);
		for (; *s; s++) {
			if (*s == '"')
				fputc('"', f);
			fputc(*s, f);
		}
		fputc('"', f);
	} else {
		fputs(s, f);
	}
	fputs(last ? "\r\n" : ",", f);
}

static const char *const header[] = { "entry_id", "date", "document_number", "account_code", "account_name",
				      "debit", "credit", "currency", "fx_rate", "account", "period" };

int journal_csv_write(const struct journal *j, const char *path, struct err *e)
{
	struct fs_out o;
	if (fs_out_open(&o, path, e))
		return -1;
	size_t ncols = sizeof(header) / sizeof(header[0]);
	for (size_t i = 0; i < ncols; i++)
		field(o.f, header[i], i + 1 == ncols);
	for (size_t i = 0; i < j->nentries; i++) {
		const struct journal_entry *en = &j->entries[i];
		char id[24], period[32], rate[DEC_STR_MAX + 2];
		snprintf(id, sizeof(id), "%zu", i + 1);
		snprintf(period, sizeof(period), "%s/%s", en->period_start, en->period_end);
		journal_fx_multiplier(en, rate, sizeof(rate));
		for (size_t k = 0; k < en->nlines; k++) {
			const struct journal_line *l = &en->lines[k];
			char amount[DEC_STR_MAX];
			dec_format(l->amount, amount, sizeof(amount));
			field(o.f, id, 0);
			field(o.f, en->issue_date, 0);
			field(o.f, en->number, 0);
			field(o.f, l->code, 0);
			field(o.f, l->name, 0);
			field(o.f, l->debit ? amount : "", 0);
			field(o.f, l->debit ? "" : amount, 0);
			field(o.f, en->currency, 0);
			field(o.f, rate, 0);
			field(o.f, en->account, 0);
			field(o.f, period, 1);
		}
	}
	return fs_out_close(&o, e);
}
