/*
 * invoice_number.c - numbering series formats such as
 * "INV-{YYYY}-{SEQ:6}" (see invoice.h). The counting itself happens in
 * the database (a row per series, locked by the issuing transaction); this
 * file only checks a format and renders it for an issue date.
 */
#include "invoice.h"
#include "err.h"

#include <stdio.h>
#include <string.h>

static int literal_ok(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
	       c == '-';
}

static int append(char *buf, size_t size, size_t *len, const char *s, size_t n)
{
	if (*len + n + 1 > size)
		return -1;
	memcpy(buf + *len, s, n);
	*len += n;
	buf[*len] = '\0';
	return 0;
}

int invoice_series_render(const char *format, const char *issue_date, const char *what,
			  struct invoice_series_fmt *out, struct err *e)
{
	size_t klen = 0, plen = 0, slen = 0;
	int seqs = 0;

	memset(out, 0, sizeof(*out));
	if (!format || !*format) {
		err_set(e, ERR_CONFIG, "%s is empty", what);
		goto hint;
	}
	if (strlen(issue_date) != 10 || issue_date[4] != '-' || issue_date[7] != '-')
		return err_set(e, ERR_INTERNAL, "issue date '%s' is not YYYY-MM-DD", issue_date);
	for (const char *p = format; *p;) {
		char piece[INVOICE_SERIES_MAX];
		size_t n = 0;
		int is_seq = 0;
		if (*p == '{') {
			const char *close = strchr(p, '}');
			if (!close) {
				err_set(e, ERR_CONFIG, "%s '%s': '{' without '}'", what, format);
				goto hint;
			}
			size_t tlen = (size_t)(close - p + 1);
			if (tlen == 6 && strncmp(p, "{YYYY}", 6) == 0) {
				memcpy(piece, issue_date, 4);
				n = 4;
			} else if (tlen == 4 && strncmp(p, "{YY}", 4) == 0) {
				memcpy(piece, issue_date + 2, 2);
				n = 2;
			} else if (tlen == 4 && strncmp(p, "{MM}", 4) == 0) {
				memcpy(piece, issue_date + 5, 2);
				n = 2;
			} else if (strncmp(p, "{SEQ}", 5) == 0 && tlen == 5) {
				is_seq = 1;
				out->width = 1;
			} else if (strncmp(p, "{SEQ:", 5) == 0) {
				int w = 0;
				const char *d = p + 5;
				if (d == close) {
					err_set(e, ERR_CONFIG, "%s '%s': {SEQ:n} needs a width", what, format);
					goto hint;
				}
				for (; d < close; d++) {
					if (*d < '0' || *d > '9' || w > INVOICE_SEQ_MAX_WIDTH) {
						err_set(e, ERR_CONFIG, "%s '%s': the width of {SEQ:n} must be 1 to %d", what,
							format, INVOICE_SEQ_MAX_WIDTH);
						goto hint;
					}
					w = w * 10 + (*d - '0');
				}
				if (w < 1 || w > INVOICE_SEQ_MAX_WIDTH) {
					err_set(e, ERR_CONFIG, "%s '%s': the width of {SEQ:n} must be 1 to %d", what, format,
						INVOICE_SEQ_MAX_WIDTH);
					goto hint;
				}
				is_seq = 1;
				out->width = w;
			} else {
				err_set(e, ERR_CONFIG, "%s '%s': unknown token '%.*s'", what, format, (int)tlen, p);
				goto hint;
			}
			if (is_seq) {
				seqs++;
				if (append(out->key, sizeof(out->key), &klen, p, tlen))
					goto too_long;
			} else if (append(out->key, sizeof(out->key), &klen, piece, n)) {
				goto too_long;
			}
			p = close + 1;
		} else {
			if (!literal_ok(*p)) {
				err_set(e, ERR_CONFIG, "%s '%s': character '%c' may not be in a document number", what,
					format, *p);
				goto hint;
			}
			piece[0] = *p++;
			n = 1;
			if (append(out->key, sizeof(out->key), &klen, piece, n))
				goto too_long;
		}
		if (!is_seq && n > 0) {
			if (seqs == 0 ? append(out->prefix, sizeof(out->prefix), &plen, piece, n)
				      : append(out->suffix, sizeof(out->suffix), &slen, piece, n))
				goto too_long;
		}
	}
	if (seqs != 1) {
		err_set(e, ERR_CONFIG, "%s '%s' must hold exactly one {SEQ} or {SEQ:n}", what, format);
		goto hint;
	}
	/* The number must start with a letter or digit (it is a file name). */
	if (plen > 0 && !((out->prefix[0] >= 'A' && out->prefix[0] <= 'Z') || (out->prefix[0] >= 'a' && out->prefix[0] <= 'z') ||
			  (out->prefix[0] >= '0' && out->prefix[0] <= '9'))) {
		err_set(e, ERR_CONFIG, "%s '%s': a document number must start with a letter or digit", what, format);
		goto hint;
	}
	if (plen + slen + INVOICE_SEQ_MAX_WIDTH + 1 > INVOICE_SERIES_MAX)
		goto too_long;
	return 0;
too_long:
	err_set(e, ERR_CONFIG, "%s '%s' is too long", what, format);
hint:
	return err_hint(e, "write it like \"INV-{YYYY}-{SEQ:6}\": letters, digits, '.', '_', '-', the tokens {YYYY}, "
			   "{YY}, {MM}, and one {SEQ} or {SEQ:n}");
}

void invoice_series_number(const struct invoice_series_fmt *f, int64_t seq, char *buf, size_t size)
{
	char digits[32];
	int n = snprintf(digits, sizeof(digits), "%lld", (long long)seq);
	int pad = f->width > n ? f->width - n : 0;
	snprintf(buf, size, "%s%.*s%s%s", f->prefix, pad, "000000000000000000", digits, f->suffix);
}
