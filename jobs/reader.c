/*
 * reader.c - what the input formats share: the reason codes, opening a
 * reader over a CSV tokenizer, the checks every record gets (CSV syntax,
 * lengths, UTF-8), and the parsers for timestamps and JSON.
 */
#include "reader.h"
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const struct reason_info reason_table[REASON__COUNT] = {
	[REASON_NONE] = { "", "" },
	[REASON_MALFORMED_CSV] = { "malformed_csv",
		"the record breaks RFC 4180 quoting (a stray or unterminated quote)" },
	[REASON_WRONG_COLUMN_COUNT] = { "wrong_column_count",
		"the record has not as many fields as the header or the format" },
	[REASON_RECORD_TOO_LONG] = { "record_too_long",
		"the record is longer than the record limit; raw holds its beginning" },
	[REASON_FIELD_TOO_LONG] = { "field_too_long", "a field is longer than ingest.max_field_length" },
	[REASON_INVALID_UTF8] = { "invalid_utf8",
		"the record is not valid UTF-8 or holds a NUL byte; raw_bytes holds it exactly" },
	[REASON_BAD_HEADER] = { "bad_header",
		"the file's header lacks a required column, so no record of it can be read" },
	[REASON_MISSING_FIELD] = { "missing_field", "a required field is empty or NULL" },
	[REASON_BAD_NUMBER] = { "bad_number", "a quantity or amount is not a decimal number" },
	[REASON_NEGATIVE_QUANTITY] = { "negative_quantity",
		"the quantity is below zero and the meter allows no credits" },
	[REASON_BAD_TIMESTAMP] = { "bad_timestamp",
		"the time is not a valid ISO 8601 date and time (with an offset or Z where required)" },
	[REASON_TIMESTAMP_OUT_OF_RANGE] = { "timestamp_out_of_range",
		"the time is outside [ingest.time_min, ingest.time_max)" },
	[REASON_UNKNOWN_ACCOUNT] = { "unknown_account", "no version of the account exists in table accounts" },
	[REASON_UNKNOWN_METER] = { "unknown_meter", "the meter is not declared in the rate card (table meters)" },
	[REASON_BAD_JSON] = { "bad_json", "a JSON field (FOCUS Tags) is not a JSON object" },
	[REASON_BAD_CURRENCY] = { "bad_currency", "the currency is not a three-letter upper-case code" },
	[REASON_TRUNCATED] = { "truncated",
		"the last record has no line end (the file was cut), and the control file counts it" },
	[REASON_SCHEMA_CHANGE] = { "schema_change",
		"the file's header differs from the last accepted file of its source, and the source refuses schema changes" },
};

/* ---- textbuf ---- */

void textbuf_add(struct textbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p)
			abort(); /* records are bounded by the record limit */
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void textbuf_addc(struct textbuf *b, char c)
{
	textbuf_add(b, &c, 1);
}

void textbuf_release(struct textbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* ---- the formats ---- */

extern const struct reader_format reader_usage_csv;
extern const struct reader_format reader_focus;
extern const struct reader_format reader_asterisk;

static const struct reader_format *const formats[] = {
	&reader_usage_csv,
	&reader_focus,
	&reader_asterisk,
	NULL,
};

const struct reader_format *reader_format_find(const char *name)
{
	for (int i = 0; formats[i]; i++)
		if (strcmp(formats[i]->name, name) == 0)
			return formats[i];
	return NULL;
}

void record_fail(struct usage_record *rec, enum reason reason, const char *fmt, ...)
{
	if (rec->reason != REASON_NONE)
		return; /* the first problem found is the one reported */
	rec->reason = reason;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rec->message, sizeof(rec->message), fmt, ap);
	va_end(ap);
}

int reader_open(struct reader *r, const struct reader_settings *set, csv_read_fn read_fn, void *ctx,
		struct err *e)
{
	memset(r, 0, sizeof(*r));
	r->set = set;
	r->format = reader_format_find(set->format);
	if (!r->format)
		return err_set(e, ERR_CONFIG, "unknown input format '%s'", set->format);
	struct csv_options o;
	csv_options_init(&o);
	o.max_field = set->max_field ? set->max_field : 4096;
	/* A record may hold many fields at their limit, but a runaway quote
	 * must not swallow the file: 1 MiB, or 16 fields' worth if larger. */
	o.max_record = o.max_field * 16 > 1024 * 1024 ? o.max_field * 16 : 1024 * 1024;
	r->csv = csv_new(read_fn, ctx, &o);
	if (!r->csv)
		return err_set(e, ERR_INTERNAL, "out of memory opening a reader");
	if (r->format->start && r->format->start(r, e))
		return -1;
	return 0;
}

void reader_close(struct reader *r)
{
	if (r->format && r->format->release)
		r->format->release(r);
	csv_free(r->csv);
	textbuf_release(&r->meter_buf);
	textbuf_release(&r->key_buf);
	textbuf_release(&r->attr_buf);
	memset(r, 0, sizeof(*r));
}

int64_t reader_blank_lines(const struct reader *r)
{
	return r->csv ? csv_blank_lines(r->csv) : 0;
}

int reader_next(struct reader *r, struct usage_record *rec, struct err *e)
{
	struct csv_record c;
	int got = csv_next(r->csv, &c, e);
	if (got <= 0)
		return got;
	memset(rec, 0, sizeof(*rec));
	rec->line_no = c.line_no;
	rec->raw = c.raw;
	rec->raw_len = c.raw_len;
	rec->billable = 1;
	rec->cut = c.unterminated;
	if (c.unterminated)
		r->cut_line = c.line_no;
	r->records++;
	switch (c.error) {
	case CSV_OK:
		break;
	case CSV_BAD_QUOTE:
	case CSV_UNTERMINATED_QUOTE:
		record_fail(rec, REASON_MALFORMED_CSV, "field %zu: %s", c.error_field + 1, csv_error_text(c.error));
		return 1;
	case CSV_FIELD_TOO_LONG:
		record_fail(rec, REASON_FIELD_TOO_LONG, "field %zu is %zu bytes, the limit is %zu",
			    c.error_field + 1, c.fields[c.error_field].len, r->set->max_field);
		return 1;
	case CSV_RECORD_TOO_LONG:
		rec->raw_truncated = 1;
		record_fail(rec, REASON_RECORD_TOO_LONG,
			    "the record is longer than %zu bytes; the rest of its line was skipped", c.raw_len);
		return 1;
	case CSV_TOO_MANY_FIELDS:
		record_fail(rec, REASON_WRONG_COLUMN_COUNT, "more than %zu fields", c.nfields);
		return 1;
	}
	if (!utf8_valid(c.raw, c.raw_len)) {
		size_t bad = 0;
		for (size_t k = 0; k < c.nfields; k++)
			if (!utf8_valid(c.fields[k].p, c.fields[k].len)) {
				bad = k + 1;
				break;
			}
		if (bad)
			record_fail(rec, REASON_INVALID_UTF8, "field %zu is not valid UTF-8 or holds a NUL byte", bad);
		else
			record_fail(rec, REASON_INVALID_UTF8, "the record is not valid UTF-8 or holds a NUL byte");
		return 1;
	}
	if (r->refused[0]) {
		record_fail(rec, REASON_SCHEMA_CHANGE, "%s", r->refused);
		return 1;
	}
	r->format->record(r, &c, rec);
	return 1;
}

/* ---- headers ---- */

int header_read(struct reader *r, struct csv_header *h, char *problem, size_t size, struct err *e)
{
	struct csv_record c;
	memset(h, 0, sizeof(*h));
	problem[0] = '\0';
	int got = csv_next(r->csv, &c, e);
	if (got < 0)
		return -1;
	if (got == 0)
		return 0; /* an empty file: no header, no records */
	if (c.unterminated)
		r->cut_line = c.line_no; /* a header the file ended inside */
	if (c.error != CSV_OK) {
		snprintf(problem, size, "the header (line %lld) is not valid CSV: %s", (long long)c.line_no,
			 csv_error_text(c.error));
		return 0;
	}
	if (!utf8_valid(c.raw, c.raw_len)) {
		snprintf(problem, size, "the header (line %lld) is not valid UTF-8", (long long)c.line_no);
		return 0;
	}
	h->names = calloc(c.nfields, sizeof(*h->names));
	h->used = calloc(c.nfields, sizeof(*h->used));
	if (!h->names || !h->used)
		return err_set(e, ERR_INTERNAL, "out of memory reading a header");
	r->header = h;
	for (size_t k = 0; k < c.nfields; k++) {
		h->names[k] = strndup(c.fields[k].p, c.fields[k].len);
		if (!h->names[k])
			return err_set(e, ERR_INTERNAL, "out of memory reading a header");
		h->n = k + 1;
		for (size_t j = 0; j < k; j++)
			if (strcasecmp(h->names[j], h->names[k]) == 0 && !problem[0])
				snprintf(problem, size, "column '%.64s' appears twice in the header", h->names[k]);
	}
	return 0;
}

int header_take(struct csv_header *h, const char *name)
{
	for (size_t k = 0; k < h->n; k++)
		if (strcasecmp(h->names[k], name) == 0) {
			h->used[k] = 1;
			return (int)k;
		}
	return -1;
}

char header_delimiter_guess(const struct csv_header *h)
{
	size_t semicolons = 0, tabs = 0;
	for (size_t k = 0; k < h->n; k++)
		for (const char *p = h->names[k]; *p; p++) {
			semicolons += *p == ';';
			tabs += *p == '\t';
		}
	if (semicolons == 0 && tabs == 0)
		return 0;
	return semicolons >= tabs ? ';' : '\t';
}

void header_missing(struct reader *r, const struct csv_header *h, const char *name)
{
	if (r->problem[0])
		return;
	char guess = header_delimiter_guess(h);
	if (guess)
		snprintf(r->problem, sizeof(r->problem),
			 "the header has no column '%.64s': it looks like a %s-delimited file, and %s files are "
			 "','-delimited", name, guess == ';' ? "';'" : "tab", r->format->name);
	else
		snprintf(r->problem, sizeof(r->problem), "the header has no column '%.64s'", name);
}

void header_release(struct csv_header *h)
{
	for (size_t k = 0; k < h->n; k++)
		free(h->names[k]);
	free(h->names);
	free(h->used);
	memset(h, 0, sizeof(*h));
}

int field_missing(const struct csv_field *f, int null_word)
{
	if (f->len == 0)
		return 1;
	return null_word && !f->quoted && f->len == 4 && memcmp(f->p, "NULL", 4) == 0;
}

/* ---- time ---- */

int64_t days_from_civil(int64_t y, int m, int d)
{
	/* H. Hinnant's algorithm: exact integer arithmetic, any year. */
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int digits(const char *s, size_t n, size_t at, int count, int *out)
{
	if (at + (size_t)count > n)
		return -1;
	int v = 0;
	for (int i = 0; i < count; i++) {
		char c = s[at + (size_t)i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*out = v;
	return 0;
}

static int days_in_month(int y, int m)
{
	static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

int parse_timestamp(const char *s, size_t n, int local_ok, int *has_offset, int64_t *usec)
{
	int y, mo, d, h, mi, sec = 0;
	size_t i = 0;

	if (digits(s, n, 0, 4, &y) || n < 16 || s[4] != '-' || digits(s, n, 5, 2, &mo) || s[7] != '-' ||
	    digits(s, n, 8, 2, &d) || (s[10] != 'T' && s[10] != ' ' && s[10] != 't') ||
	    digits(s, n, 11, 2, &h) || s[13] != ':' || digits(s, n, 14, 2, &mi))
		return -1;
	i = 16;
	int64_t frac = 0;
	if (i < n && s[i] == ':') {
		if (digits(s, n, i + 1, 2, &sec))
			return -1;
		i += 3;
		if (i < n && (s[i] == '.' || s[i] == ',')) {
			i++;
			int nd = 0;
			while (i < n && s[i] >= '0' && s[i] <= '9') {
				if (nd < 6)
					frac = frac * 10 + (s[i] - '0');
				else if (s[i] != '0')
					return -1; /* finer than a microsecond: would need rounding */
				nd++;
				i++;
			}
			if (nd == 0)
				return -1;
			for (; nd < 6; nd++)
				frac *= 10;
		}
	}
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
		return -1;
	int64_t offset_s = 0;
	int offset = 0;
	if (i < n) {
		if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == n) {
			offset = 1;
		} else if (s[i] == '+' || s[i] == '-') {
			int sign = s[i] == '-' ? -1 : 1, oh, om = 0;
			size_t rest = n - i - 1;
			if (rest == 2 && !digits(s, n, i + 1, 2, &oh)) {
			} else if (rest == 4 && !digits(s, n, i + 1, 2, &oh) && !digits(s, n, i + 3, 2, &om)) {
			} else if (rest == 5 && !digits(s, n, i + 1, 2, &oh) && s[i + 3] == ':' &&
				   !digits(s, n, i + 4, 2, &om)) {
			} else {
				return -1;
			}
			if (oh > 23 || om > 59)
				return -1;
			offset = 1;
			offset_s = sign * (oh * 3600 + om * 60);
		} else {
			return -1;
		}
	}
	if (!offset && !local_ok)
		return -1;
	if (has_offset)
		*has_offset = offset;
	int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset_s;
	*usec = secs * 1000000 + frac;
	return 0;
}

/* ---- text ---- */

int utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;

	while (p < end) {
		/* ASCII fast path, eight bytes at a time. */
		while (end - p >= 8) {
			uint64_t w;
			memcpy(&w, p, 8);
			if (w & 0x8080808080808080ULL)
				break;
			/* A zero byte: (w - 0x01..) & ~w & 0x80.. */
			if ((w - 0x0101010101010101ULL) & ~w & 0x8080808080808080ULL)
				return 0;
			p += 8;
		}
		if (p >= end)
			break;
		unsigned c = *p;
		if (c == 0)
			return 0;
		if (c < 0x80) {
			p++;
			continue;
		}
		int len;
		unsigned min;
		if (c >= 0xC2 && c <= 0xDF) {
			len = 2;
			min = 0x80;
		} else if (c >= 0xE0 && c <= 0xEF) {
			len = 3;
			min = 0x800;
		} else if (c >= 0xF0 && c <= 0xF4) {
			len = 4;
			min = 0x10000;
		} else {
			return 0;
		}
		if (end - p < len)
			return 0;
		unsigned cp = c & (0x7F >> len);
		for (int k = 1; k < len; k++) {
			if ((p[k] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		p += len;
	}
	return 1;
}

int utf8_clip(const char *s, size_t n, size_t max)
{
	if (n <= max)
		return (int)n;
	size_t k = max;
	/* back off continuation bytes so the cut lands before a lead byte */
	while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
		k--;
	return (int)k;
}

void json_add_string(struct textbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	textbuf_addc(b, '"');
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		textbuf_add(b, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': textbuf_add(b, "\\\"", 2); break;
		case '\\': textbuf_add(b, "\\\\", 2); break;
		case '\n': textbuf_add(b, "\\n", 2); break;
		case '\r': textbuf_add(b, "\\r", 2); break;
		case '\t': textbuf_add(b, "\\t", 2); break;
		default: {
			char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			textbuf_add(b, u, 6);
		}
		}
	}
	textbuf_add(b, s + run, n - run);
	textbuf_addc(b, '"');
}

void meter_slug(struct textbuf *b, const char *prefix, const char *text, size_t n)
{
	if (prefix)
		textbuf_add(b, prefix, strlen(prefix));
	int pending = 0, any = 0;
	for (size_t i = 0; i < n; i++) {
		char c = text[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			if (pending && any)
				textbuf_addc(b, '_');
			textbuf_addc(b, c);
			pending = 0;
			any = 1;
		} else {
			pending = 1;
		}
	}
}

/* ---- JSON validation ---- */

struct json_cursor {
	const char *p, *end;
	int depth;
};

static void json_ws(struct json_cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static int hex4(const char *p, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static int json_string(struct json_cursor *c)
{
	if (c->p >= c->end || *c->p != '"')
		return -1;
	c->p++;
	while (c->p < c->end) {
		unsigned char ch = (unsigned char)*c->p;
		if (ch == '"') {
			c->p++;
			return 0;
		}
		if (ch < 0x20)
			return -1;
		if (ch != '\\') {
			c->p++;
			continue;
		}
		if (c->end - c->p < 2)
			return -1;
		char esc = c->p[1];
		c->p += 2;
		if (strchr("\"\\/bfnrt", esc) && esc)
			continue;
		if (esc != 'u' || c->end - c->p < 4)
			return -1;
		unsigned u;
		if (hex4(c->p, &u) || u == 0)
			return -1; /* jsonb refuses \u0000 */
		c->p += 4;
		if (u >= 0xDC00 && u <= 0xDFFF)
			return -1; /* a low surrogate alone */
		if (u >= 0xD800 && u <= 0xDBFF) {
			unsigned lo;
			if (c->end - c->p < 6 || c->p[0] != '\\' || c->p[1] != 'u' || hex4(c->p + 2, &lo) ||
			    lo < 0xDC00 || lo > 0xDFFF)
				return -1;
			c->p += 6;
		}
	}
	return -1;
}

static int json_number(struct json_cursor *c)
{
	const char *p = c->p;
	if (p < c->end && *p == '-')
		p++;
	if (p >= c->end)
		return -1;
	if (*p == '0') {
		p++;
	} else if (*p >= '1' && *p <= '9') {
		while (p < c->end && *p >= '0' && *p <= '9')
			p++;
	} else {
		return -1;
	}
	if (p < c->end && *p == '.') {
		p++;
		if (p >= c->end || *p < '0' || *p > '9')
			return -1;
		while (p < c->end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < c->end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < c->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= c->end || *p < '0' || *p > '9')
			return -1;
		const char *digits = p;
		while (p < c->end && *p >= '0' && *p <= '9')
			p++;
		/* jsonb stores numbers as numeric, which overflows long before
		 * JSON does: refuse exponents past 999 here rather than fail the
		 * file's COPY there. */
		if (p - digits > 3)
			return -1;
	}
	c->p = p;
	return 0;
}

static int json_value(struct json_cursor *c);

static int json_container(struct json_cursor *c, char close, int object)
{
	if (++c->depth > 256)
		return -1;
	c->p++;
	json_ws(c);
	if (c->p < c->end && *c->p == close) {
		c->p++;
		c->depth--;
		return 0;
	}
	for (;;) {
		if (object) {
			if (json_string(c))
				return -1;
			json_ws(c);
			if (c->p >= c->end || *c->p != ':')
				return -1;
			c->p++;
			json_ws(c);
		}
		if (json_value(c))
			return -1;
		json_ws(c);
		if (c->p >= c->end)
			return -1;
		if (*c->p == ',') {
			c->p++;
			json_ws(c);
			continue;
		}
		if (*c->p != close)
			return -1;
		c->p++;
		c->depth--;
		return 0;
	}
}

static int json_literal(struct json_cursor *c, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
		return -1;
	c->p += n;
	return 0;
}

static int json_value(struct json_cursor *c)
{
	if (c->p >= c->end)
		return -1;
	switch (*c->p) {
	case '{': return json_container(c, '}', 1);
	case '[': return json_container(c, ']', 0);
	case '"': return json_string(c);
	case 't': return json_literal(c, "true");
	case 'f': return json_literal(c, "false");
	case 'n': return json_literal(c, "null");
	default: return json_number(c);
	}
}

int json_valid(const char *s, size_t n, int object_only)
{
	struct json_cursor c = { s, s + n, 0 };
	if (!utf8_valid(s, n))
		return 0;
	json_ws(&c);
	if (object_only && (c.p >= c.end || *c.p != '{'))
		return 0;
	if (json_value(&c))
		return 0;
	json_ws(&c);
	return c.p == c.end;
}
