/*
 * invoice_words.c - an invoice line's quantity, unit and pricing in the
 * customer's words (see invoice_words.h).
 */
#include "invoice_words.h"
#include "invoice_pdf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *s_or_empty(const char *s)
{
	return s ? s : "";
}

int invoice_words_is_zero(const char *s)
{
	if (!s || !*s)
		return 0;
	if (*s == '-' || *s == '+')
		s++;
	int digits = 0;
	for (; *s; s++) {
		if (*s == '.')
			continue;
		if (*s != '0')
			return 0;
		digits++;
	}
	return digits > 0;
}

int invoice_line_shown(const struct invoice_doc_line *l)
{
	if (strcmp(s_or_empty(l->kind), "usage") != 0 || l->show_zero)
		return 1;
	return !(invoice_words_is_zero(l->quantity) && invoice_words_is_zero(l->amount));
}

/* Append to buf (NUL-terminated within size). */
static void put(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void put(char *buf, size_t size, const char *fmt, ...)
{
	size_t len = strlen(buf);
	if (len + 1 >= size)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
}

/* "31,500 s", or "31,500" without a unit. */
static void amount_of(const char *n, const char *unit, char *buf, size_t size)
{
	char grouped[96];
	invoice_pdf_group_digits(n, grouped, sizeof(grouped));
	snprintf(buf, size, "%s%s%s", grouped, *unit ? " " : "", unit);
}

void invoice_line_quantity(const struct invoice_doc_line *l, char *buf, size_t size)
{
	if (size)
		buf[0] = '\0';
	if (!l->quantity || !*l->quantity || strcmp(s_or_empty(l->kind), "tax") == 0)
		return;
	amount_of(l->quantity, s_or_empty(l->unit), buf, size);
}

/* A price, with its currency on a converted line: "0.0004 USD". */
static void price_of(const struct invoice_doc_line *l, const char *price, char *buf, size_t size)
{
	char grouped[96];
	invoice_pdf_group_digits(price, grouped, sizeof(grouped));
	int converted = l->fx_rate && *l->fx_rate && l->price_currency && *l->price_currency;
	snprintf(buf, size, "%s%s%s", grouped, converted ? " " : "", converted ? l->price_currency : "");
}

const char *invoice_line_unit_price(const struct invoice_doc_line *l)
{
	const char *model = s_or_empty(l->model);
	if (l->nsteps != 1 || strcmp(model, "graduated") == 0)
		return "";
	return s_or_empty(l->steps[0].price);
}

void invoice_line_pricing(const struct invoice_doc_line *l, char *buf, size_t size)
{
	char qty[128], price[128], flat[128];
	const char *unit = s_or_empty(l->unit), *model = s_or_empty(l->model);

	if (!size)
		return;
	buf[0] = '\0';
	if (strcmp(s_or_empty(l->kind), "usage") != 0 || l->nsteps == 0)
		return;
	if (l->difference)
		put(buf, size, "re-rated period: ");
	if (l->free && *l->free && !invoice_words_is_zero(l->free)) {
		amount_of(l->free, unit, qty, sizeof(qty));
		put(buf, size, "%s free; ", qty);
	}
	if (strcmp(model, "package") == 0) {
		const struct invoice_doc_step *st = &l->steps[0];
		amount_of(s_or_empty(l->package_size), unit, qty, sizeof(qty));
		price_of(l, st->price, price, sizeof(price));
		put(buf, size, "%s %s of %s at %s per package", st->units, strcmp(st->units, "1") == 0 ? "package" : "packages",
		    qty, price);
		return;
	}
	for (int i = 0; i < l->nsteps; i++) {
		const struct invoice_doc_step *st = &l->steps[i];
		amount_of(st->units, unit, qty, sizeof(qty));
		price_of(l, st->price, price, sizeof(price));
		if (i > 0)
			put(buf, size, "; ");
		if (strcmp(model, "graduated") == 0) {
			put(buf, size, "%s %s at %s", invoice_words_is_zero(st->from) ? "first" : "next", qty, price);
		} else if (strcmp(model, "volume") == 0) {
			char bound[128];
			put(buf, size, "%s at %s", qty, price);
			if (st->to && *st->to) {
				amount_of(st->to, unit, bound, sizeof(bound));
				put(buf, size, " (the tier up to %s)", bound);
			} else {
				amount_of(st->from, unit, bound, sizeof(bound));
				put(buf, size, " (the tier above %s)", bound);
			}
		} else {
			put(buf, size, "%s at %s", qty, price);
		}
		if (st->flat && *st->flat && !invoice_words_is_zero(st->flat)) {
			price_of(l, st->flat, flat, sizeof(flat));
			put(buf, size, " plus %s", flat);
		}
	}
}
