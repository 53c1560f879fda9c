/*
 * control.c - reading control files and comparing them with what ingest
 * read (see control.h); also the per-meter totals both sides keep.
 */
#include "control.h"
#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void meter_totals_init(struct meter_totals *t)
{
	memset(t, 0, sizeof(*t));
	strset_init(&t->index);
}

void meter_totals_release(struct meter_totals *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->items[i].name);
	free(t->items);
	strset_release(&t->index);
	memset(t, 0, sizeof(*t));
}

static struct meter_total *total_for(struct meter_totals *t, const char *meter, size_t len)
{
	int pos;
	if (t->last < t->n) {
		struct meter_total *m = &t->items[t->last];
		if (strncmp(m->name, meter, len) == 0 && m->name[len] == '\0')
			return m;
	}
	if (strset_get(&t->index, meter, len, &pos)) {
		t->last = (size_t)pos;
		return &t->items[pos];
	}
	if (t->n >= METER_TOTALS_MAX) {
		meter = "(other)";
		len = 7;
		if (strset_get(&t->index, meter, len, &pos))
			return &t->items[pos];
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct meter_total *p = realloc(t->items, cap * sizeof(*p));
		if (!p)
			abort();
		t->items = p;
		t->cap = cap;
	}
	struct meter_total *m = &t->items[t->n];
	m->name = strndup(meter, len);
	if (!m->name || strset_add(&t->index, meter, len, (int)t->n) < 0)
		abort();
	m->sum = dec_zero();
	m->records = 0;
	m->overflow = 0;
	t->last = t->n;
	t->n++;
	return m;
}

void meter_totals_add(struct meter_totals *t, const char *meter, size_t len, struct dec q)
{
	struct meter_total *m = total_for(t, meter, len);
	m->records++;
	if (!m->overflow && dec_add(&m->sum, m->sum, q))
		m->overflow = 1;
}

void meter_totals_json(const struct meter_totals *t, struct textbuf *b)
{
	textbuf_addc(b, '{');
	for (size_t i = 0; i < t->n; i++) {
		char num[DEC_STR_MAX];
		if (i)
			textbuf_addc(b, ',');
		json_add_string(b, t->items[i].name, strlen(t->items[i].name));
		textbuf_addc(b, ':');
		if (t->items[i].overflow) {
			textbuf_add(b, "\"overflow\"", 10);
			continue;
		}
		int n = dec_format(t->items[i].sum, num, sizeof(num));
		json_add_string(b, num, (size_t)n);
	}
	textbuf_addc(b, '}');
}

void control_release(struct control_file *c)
{
	meter_totals_release(&c->quantities);
	memset(c, 0, sizeof(*c));
}

/* Split line into at most 4 blank-separated words. */
static int split(char *line, char **w, int max)
{
	int n = 0;
	char *save = NULL;
	for (char *t = strtok_r(line, " \t\r\n", &save); t; t = strtok_r(NULL, " \t\r\n", &save)) {
		if (n == max)
			return max + 1;
		w[n++] = t;
	}
	return n;
}

int control_read(const char *path, struct control_file *c, struct err *e)
{
	memset(c, 0, sizeof(*c));
	meter_totals_init(&c->quantities);
	FILE *f = fopen(path, "r");
	if (!f)
		return err_set(e, ERR_IO, "could not open control file '%s': %s", path, strerror(errno));
	char line[1024];
	int lineno = 0, rc = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			rc = err_set(e, ERR_INPUT, "%s:%d: line too long", path, lineno);
			break;
		}
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *w[4];
		int n = split(line, w, 3);
		if (n == 0)
			continue;
		struct dec d;
		if (strcmp(w[0], "records") == 0 && n == 2) {
			char *end;
			errno = 0;
			long long v = strtoll(w[1], &end, 10);
			if (*end || errno || v < 0 || c->has_records) {
				rc = err_set(e, ERR_INPUT, "%s:%d: 'records' needs one count, once", path, lineno);
				break;
			}
			c->records = v;
			c->has_records = 1;
		} else if (strcmp(w[0], "sha256") == 0 && n == 2) {
			size_t len = strlen(w[1]);
			int hex = len == 64;
			for (size_t i = 0; hex && i < len; i++)
				hex = (w[1][i] >= '0' && w[1][i] <= '9') || (w[1][i] >= 'a' && w[1][i] <= 'f') ||
				      (w[1][i] >= 'A' && w[1][i] <= 'F');
			if (!hex || c->has_sha256) {
				rc = err_set(e, ERR_INPUT, "%s:%d: 'sha256' needs 64 hex digits, once", path, lineno);
				break;
			}
			for (size_t i = 0; i < len; i++)
				c->sha256[i] = (char)(w[1][i] >= 'A' && w[1][i] <= 'F' ? w[1][i] - 'A' + 'a' : w[1][i]);
			c->sha256[64] = '\0';
			c->has_sha256 = 1;
		} else if (strcmp(w[0], "cost") == 0 && n == 2) {
			if (dec_parse_cstr(&d, w[1]) || c->has_cost) {
				rc = err_set(e, ERR_INPUT, "%s:%d: 'cost' needs one decimal number, once", path, lineno);
				break;
			}
			c->cost = d;
			c->has_cost = 1;
		} else if (strcmp(w[0], "quantity") == 0 && n == 3) {
			if (dec_parse_cstr(&d, w[2])) {
				rc = err_set(e, ERR_INPUT, "%s:%d: quantity '%s' is not a decimal number", path, lineno,
					     w[2]);
				break;
			}
			if (strset_get(&c->quantities.index, w[1], strlen(w[1]), NULL)) {
				rc = err_set(e, ERR_INPUT, "%s:%d: meter '%s' is stated twice", path, lineno, w[1]);
				break;
			}
			meter_totals_add(&c->quantities, w[1], strlen(w[1]), d);
		} else {
			rc = err_set(e, ERR_INPUT, "%s:%d: '%s' is not a control statement", path, lineno, w[0]);
			err_hint(e, "a control file has lines 'records N', 'sha256 HEX', 'quantity METER N', 'cost N'");
			break;
		}
	}
	if (!rc && ferror(f))
		rc = err_set(e, ERR_IO, "could not read control file '%s'", path);
	fclose(f);
	return rc;
}

static void line_add(struct textbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line_add(struct textbuf *b, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (b->len)
		textbuf_addc(b, '\n');
	textbuf_add(b, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

int control_compare(const struct control_file *c, const struct control_actual *a, struct textbuf *detail)
{
	int ok = 1;
	char x[DEC_STR_MAX], y[DEC_STR_MAX];

	if (c->has_records && c->records != a->records) {
		line_add(detail, "records: control %lld, read %lld", (long long)c->records, (long long)a->records);
		ok = 0;
	}
	if (c->has_sha256 && strcmp(c->sha256, a->sha256) != 0) {
		line_add(detail, "sha256: control %s, file %s", c->sha256, a->sha256);
		ok = 0;
	}
	if (c->has_cost) {
		struct dec read = a->has_cost ? a->cost : dec_zero();
		if (dec_cmp(c->cost, read) != 0) {
			dec_format(c->cost, x, sizeof(x));
			dec_format(read, y, sizeof(y));
			line_add(detail, "cost: control %s, read %s", x, y);
			ok = 0;
		}
	}
	for (size_t i = 0; i < c->quantities.n; i++) {
		const struct meter_total *want = &c->quantities.items[i];
		int pos;
		struct dec got = dec_zero();
		int overflow = 0;
		if (strset_get(&a->quantities->index, want->name, strlen(want->name), &pos)) {
			got = a->quantities->items[pos].sum;
			overflow = a->quantities->items[pos].overflow;
		}
		if (overflow || dec_cmp(want->sum, got) != 0) {
			dec_format(want->sum, x, sizeof(x));
			if (overflow)
				snprintf(y, sizeof(y), "(past 38 digits)");
			else
				dec_format(got, y, sizeof(y));
			line_add(detail, "quantity %s: control %s, read %s", want->name, x, y);
			ok = 0;
		}
	}
	return ok;
}

void control_json(const struct control_file *c, struct textbuf *b)
{
	char num[DEC_STR_MAX + 32];
	textbuf_addc(b, '{');
	int first = 1;
	if (c->has_records) {
		int n = snprintf(num, sizeof(num), "\"records\":%lld", (long long)c->records);
		textbuf_add(b, num, (size_t)n);
		first = 0;
	}
	if (c->has_sha256) {
		if (!first)
			textbuf_addc(b, ',');
		textbuf_add(b, "\"sha256\":", 9);
		json_add_string(b, c->sha256, 64);
		first = 0;
	}
	if (c->has_cost) {
		if (!first)
			textbuf_addc(b, ',');
		int n = dec_format(c->cost, num, sizeof(num));
		textbuf_add(b, "\"cost\":", 7);
		json_add_string(b, num, (size_t)n);
		first = 0;
	}
	if (c->quantities.n) {
		if (!first)
			textbuf_addc(b, ',');
		textbuf_add(b, "\"quantity\":", 11);
		meter_totals_json(&c->quantities, b);
	}
	textbuf_addc(b, '}');
}
