/*
 * invoice_json.c - an issued document as JSON (see invoice_json.h). The
 * seller and customer objects are copied as PostgreSQL stored them (valid
 * JSON by construction); everything else is written and escaped here.
 */
#include "invoice_json.h"
#include "err.h"
#include "invoice_words.h"
#include "outfile.h"

#include <string.h>

const char *invoice_doc_title(const struct invoice_doc *d)
{
	if (strcmp(d->doc, "credit_note") == 0)
		return "CREDIT NOTE";
	if (strcmp(d->doc, "supplementary") == 0)
		return "SUPPLEMENTARY INVOICE";
	return "INVOICE";
}

/* A JSON string, escaped per RFC 8259 (UTF-8 passes through). */
static void str(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\r': fputs("\\r", out); break;
		case '\t': fputs("\\t", out); break;
		default:
			if (*p < 0x20)
				fprintf(out, "\\u%04x", *p);
			else
				fputc(*p, out);
		}
	}
	fputc('"', out);
}

/* "key": "value", or "key": null for "". */
static void field(FILE *out, const char *indent, const char *key, const char *value, int last)
{
	fprintf(out, "%s\"%s\": ", indent, key);
	if (value && *value)
		str(out, value);
	else
		fputs("null", out);
	fputs(last ? "\n" : ",\n", out);
}

/* A number that JSON may carry as a number: ids. */
static void id_field(FILE *out, const char *indent, const char *key, const char *value, int last)
{
	fprintf(out, "%s\"%s\": %s%s", indent, key, value && *value ? value : "null", last ? "\n" : ",\n");
}

static void line_json(FILE *out, const struct invoice_doc_line *l, int last)
{
	const char *in = "      ";
	fputs("    {\n", out);
	id_field(out, in, "line", l->line_no, 0);
	field(out, in, "kind", l->kind, 0);
	fprintf(out, "%s\"adjustment\": %s,\n", in, l->adjustment ? "true" : "false");
	field(out, in, "period_start", l->period_start, 0);
	field(out, in, "description", l->description, 0);
	field(out, in, "meter", l->meter, 0);
	field(out, in, "charge", l->charge, 0);
	field(out, in, "plan", l->plan, 0);
	field(out, in, "label", l->label, 0);
	field(out, in, "quantity", l->quantity, 0);
	field(out, in, "unit", l->unit, 0);
	field(out, in, "billable_quantity", l->billable, 0);
	if (l->kind && strcmp(l->kind, "usage") == 0) {
		char words[512], qty[160];
		invoice_line_quantity(l, qty, sizeof(qty));
		invoice_line_pricing(l, words, sizeof(words));
		fprintf(out, "%s\"pricing\": {\"model\": ", in);
		str(out, l->model ? l->model : "");
		fputs(", \"free\": ", out);
		if (l->free && *l->free)
			str(out, l->free);
		else
			fputs("null", out);
		fputs(", \"unit_price\": ", out);
		if (*invoice_line_unit_price(l))
			str(out, invoice_line_unit_price(l));
		else
			fputs("null", out);
		fprintf(out, ", \"re_rated_period\": %s, \"steps\": [", l->difference ? "true" : "false");
		for (int i = 0; i < l->nsteps; i++) {
			const struct invoice_doc_step *st = &l->steps[i];
			fprintf(out, "%s{\"tier\": %s, \"from\": ", i ? ", " : "", st->tier);
			str(out, st->from);
			fputs(", \"to\": ", out);
			if (*st->to)
				str(out, st->to);
			else
				fputs("null", out);
			fputs(", \"units\": ", out);
			str(out, st->units);
			fputs(", \"price\": ", out);
			str(out, st->price);
			fputs(", \"flat\": ", out);
			str(out, st->flat);
			fputs(", \"amount\": ", out);
			str(out, st->amount);
			fputs("}", out);
		}
		fputs("], \"quantity_text\": ", out);
		str(out, qty);
		fputs(", \"text\": ", out);
		str(out, words);
		fputs("},\n", out);
	} else {
		fprintf(out, "%s\"pricing\": null,\n", in);
	}
	field(out, in, "tax_rate", l->tax_rate, 0);
	field(out, in, "tax_base", l->tax_base, 0);
	if (l->fx_rate && *l->fx_rate) {
		fprintf(out, "%s\"fx\": {", in);
		fputs("\"price_currency\": ", out);
		str(out, l->price_currency);
		fputs(", \"price_amount\": ", out);
		str(out, l->price_amount);
		fputs(", \"rate\": ", out);
		str(out, l->fx_rate);
		fputs(", \"as_of\": ", out);
		str(out, l->fx_as_of);
		fputs("},\n", out);
	} else {
		fprintf(out, "%s\"fx\": null,\n", in);
	}
	id_field(out, in, "rating", l->rating_id, 0);
	id_field(out, in, "rated_line", l->rated_line_id, 0);
	field(out, in, "amount", l->amount, 1);
	fputs(last ? "    }\n" : "    },\n", out);
}

int invoice_json_print(const struct invoice_doc *d, FILE *out)
{
	const char *in = "  ";
	fputs("{\n", out);
	field(out, in, "format", INVOICE_JSON_FORMAT, 0);
	field(out, in, "type", d->doc, 0);
	field(out, in, "number", d->number, 0);
	field(out, in, "series", d->series, 0);
	field(out, in, "issue_date", d->issue_date, 0);
	field(out, in, "due_date", d->due_date, 0);
	field(out, in, "issued_at", d->issued_at, 0);
	fprintf(out, "%s\"seller\": %s,\n", in, d->seller_json && *d->seller_json ? d->seller_json : "null");
	fprintf(out, "%s\"customer\": %s,\n", in, d->customer_json && *d->customer_json ? d->customer_json : "null");
	field(out, in, "account", d->account, 0);
	fprintf(out, "%s\"period\": {\"start\": ", in);
	str(out, d->period_start);
	fputs(", \"end\": ", out);
	str(out, d->period_last);
	fputs("},\n", out);
	field(out, in, "currency", d->currency, 0);
	if (d->ref_kind && *d->ref_kind) {
		fprintf(out, "%s\"reference\": {\"relation\": ", in);
		str(out, d->ref_kind);
		fputs(", \"number\": ", out);
		str(out, d->ref_number);
		fputs("},\n", out);
	} else {
		fprintf(out, "%s\"reference\": null,\n", in);
	}
	field(out, in, "reason", d->reason, 0);
	id_field(out, in, "run", d->run_id, 0);
	fprintf(out, "%s\"rule_version\": {\"id\": %s, \"sha256\": ", in,
		d->rule_version && *d->rule_version ? d->rule_version : "null");
	if (d->rule_sha256 && *d->rule_sha256)
		str(out, d->rule_sha256);
	else
		fputs("null", out);
	fputs("},\n", out);
	id_field(out, in, "rating", d->rating_id, 0);
	/* Zero usage lines are left out like on the PDF (invoice_words.h). */
	fprintf(out, "%s\"lines\": [\n", in);
	int last = -1;
	for (int i = 0; i < d->nlines; i++)
		if (invoice_line_shown(&d->lines[i]))
			last = i;
	for (int i = 0; i <= last; i++)
		if (invoice_line_shown(&d->lines[i]))
			line_json(out, &d->lines[i], i == last);
	fprintf(out, "%s],\n", in);
	field(out, in, "subtotal", d->subtotal, 0);
	field(out, in, "tax_total", d->tax_total, 0);
	field(out, in, "total", d->total, 1);
	fputs("}\n", out);
	return ferror(out) ? -1 : 0;
}

/* stdio's buffer is written out through the outfile (hashed, errors
 * kept). */
static ssize_t cookie_write(void *cookie, const char *buf, size_t n)
{
	return outfile_write(cookie, buf, n) == 0 ? (ssize_t)n : -1;
}

int invoice_json_write(const struct invoice_doc *d, const char *path, struct outfile_sum *sum, struct err *e)
{
	struct outfile of;
	if (outfile_open(&of, path, e))
		return -1;
	FILE *f = fopencookie(&of, "w", (cookie_io_functions_t){ .write = cookie_write });
	if (!f) {
		outfile_discard(&of);
		return err_set(e, ERR_INTERNAL, "out of memory");
	}
	invoice_json_print(d, f);
	/* A failed write is kept by the outfile, which reports it. */
	fclose(f);
	return outfile_close(&of, sum, e);
}
