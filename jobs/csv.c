/*
 * csv.c - the streaming RFC 4180 tokenizer (see csv.h).
 *
 * One pass per record over a refillable buffer: a small state machine
 * finds the field boundaries and the end of the record at once, storing
 * field positions as offsets from the record's start so that a refill
 * (which moves the buffer) can happen in the middle of a record.
 */
#include "csv.h"
#include "err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_CHUNK (256 * 1024)

enum scan_state { ST_FIELD_START, ST_UNQUOTED, ST_QUOTED, ST_QUOTE_SEEN, ST_CR_AFTER_QUOTE };

struct pending_field {
	size_t off, len;
	unsigned char quoted, escaped;
};

struct csv_reader {
	csv_read_fn read_fn;
	void *ctx;
	struct csv_options o;

	unsigned char special[256]; /* 1 for the delimiter, '\n' and '"' */
	char *buf;
	size_t cap, start, end;  /* unconsumed input is buf[start, end) */
	int eof, started;
	int64_t line;            /* physical line at buf[start] */
	int64_t blank;
	int skipping;            /* discarding the rest of a record too long */

	/* The record being scanned, resumable across refills. */
	size_t scan;
	enum scan_state st;
	size_t foff;
	unsigned char fquoted, fescaped;
	int64_t rec_newlines;
	enum csv_error err;
	size_t err_field;
	struct pending_field *pf;
	size_t npf, pf_cap;

	/* What csv_next hands out. */
	struct csv_field *fields;
	size_t fields_cap;
	char *unesc;
	size_t unesc_cap;
	char *longraw;
};

void csv_options_init(struct csv_options *o)
{
	o->delimiter = ',';
	o->max_field = 4096;
	o->max_record = 1024 * 1024;
	o->max_fields = 4096;
}

struct csv_reader *csv_new(csv_read_fn read_fn, void *ctx, const struct csv_options *opts)
{
	struct csv_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->read_fn = read_fn;
	r->ctx = ctx;
	if (opts)
		r->o = *opts;
	else
		csv_options_init(&r->o);
	if (r->o.max_record < 64)
		r->o.max_record = 64;
	if (r->o.max_fields < 1)
		r->o.max_fields = 1;
	r->special[(unsigned char)r->o.delimiter] = 1;
	r->special['\n'] = 1;
	r->special['"'] = 1;
	r->cap = READ_CHUNK * 2;
	r->buf = malloc(r->cap);
	r->line = 1;
	if (!r->buf) {
		free(r);
		return NULL;
	}
	return r;
}

void csv_free(struct csv_reader *r)
{
	if (!r)
		return;
	free(r->buf);
	free(r->pf);
	free(r->fields);
	free(r->unesc);
	free(r->longraw);
	free(r);
}

int64_t csv_blank_lines(const struct csv_reader *r)
{
	return r->blank;
}

const char *csv_error_text(enum csv_error error)
{
	switch (error) {
	case CSV_OK: return "no error";
	case CSV_BAD_QUOTE: return "a quote inside an unquoted field or after a closing quote";
	case CSV_UNTERMINATED_QUOTE: return "the file ends inside a quoted field";
	case CSV_FIELD_TOO_LONG: return "a field is longer than allowed";
	case CSV_RECORD_TOO_LONG: return "the record is longer than allowed";
	case CSV_TOO_MANY_FIELDS: return "the record has too many fields";
	}
	return "unknown error";
}

ssize_t csv_read_fd(void *ctx, char *buf, size_t cap, struct err *e)
{
	int fd = *(int *)ctx;
	for (;;) {
		ssize_t n = read(fd, buf, cap);
		if (n >= 0)
			return n;
		if (errno != EINTR) {
			err_set(e, ERR_IO, "could not read input: %s", strerror(errno));
			return -1;
		}
	}
}

ssize_t csv_read_mem(void *ctx, char *buf, size_t cap, struct err *e)
{
	struct csv_mem *m = ctx;
	size_t n = m->len - m->pos;
	if (n > cap)
		n = cap;
	if (m->step && n > m->step)
		n = m->step;
	memcpy(buf, m->data + m->pos, n);
	m->pos += n;
	return (ssize_t)n;
}

static void set_error(struct csv_reader *r, enum csv_error err, size_t field)
{
	if (r->err == CSV_OK) {
		r->err = err;
		r->err_field = field;
	}
}

static int push_field(struct csv_reader *r, size_t len)
{
	if (r->npf >= r->o.max_fields) {
		set_error(r, CSV_TOO_MANY_FIELDS, r->npf);
		return 0;
	}
	if (len > r->o.max_field)
		set_error(r, CSV_FIELD_TOO_LONG, r->npf); /* a field that is kept: error_field indexes it */
	if (r->npf == r->pf_cap) {
		size_t cap = r->pf_cap ? r->pf_cap * 2 : 64;
		struct pending_field *p = realloc(r->pf, cap * sizeof(*p));
		if (!p)
			return -1;
		r->pf = p;
		r->pf_cap = cap;
	}
	r->pf[r->npf++] = (struct pending_field){ r->foff, len, r->fquoted, r->fescaped };
	return 0;
}

static void reset_scan(struct csv_reader *r)
{
	r->scan = 0;
	r->st = ST_FIELD_START;
	r->foff = 0;
	r->fquoted = r->fescaped = 0;
	r->rec_newlines = 0;
	r->err = CSV_OK;
	r->err_field = 0;
	r->npf = 0;
}

/*
 * Scan buf[start + scan, end) for the end of the record. Returns 1 with
 * *rec_end (offset of the '\n') when found, 0 when more input is needed,
 * -1 when out of memory.
 */
static int scan(struct csv_reader *r, size_t *rec_end)
{
	const char *b = r->buf + r->start;
	size_t n = r->end - r->start;
	size_t i = r->scan;
	const char delim = r->o.delimiter;

	/* Never look further than one byte past the longest record allowed. */
	if (n > r->o.max_record + 1)
		n = r->o.max_record + 1;

	while (i < n) {
		char c = b[i];
		switch (r->st) {
		case ST_FIELD_START:
			r->foff = i;
			r->fquoted = r->fescaped = 0;
			if (c == '"') {
				r->st = ST_QUOTED;
				r->fquoted = 1;
				r->foff = i + 1;
				break;
			}
			r->st = ST_UNQUOTED;
			/* fall through - the byte belongs to an unquoted field */
		case ST_UNQUOTED: {
			/* Fast inner loop over ordinary bytes. */
			const unsigned char *special = r->special;
			while (i < n && !special[(unsigned char)b[i]])
				i++;
			if (i == n)
				continue;
			c = b[i];
			if (c == '"') {
				set_error(r, CSV_BAD_QUOTE, r->npf);
				break;
			}
			size_t len = i - r->foff;
			if (c == '\n' && len > 0 && b[i - 1] == '\r')
				len--;
			if (push_field(r, len))
				return -1;
			if (c == '\n') {
				*rec_end = i;
				return 1;
			}
			r->st = ST_FIELD_START;
			break;
		}
		case ST_QUOTED: {
			const char *q = memchr(b + i, '"', n - i);
			size_t stop = q ? (size_t)(q - b) : n;
			for (const char *p = b + i; (p = memchr(p, '\n', (size_t)(b + stop - p))) != NULL; p++)
				r->rec_newlines++;
			i = stop;
			if (i == n)
				continue;
			r->st = ST_QUOTE_SEEN;
			break;
		}
		case ST_QUOTE_SEEN:
			if (c == '"') {
				r->fescaped = 1;
				r->st = ST_QUOTED;
				break;
			}
			if (c == delim || c == '\n') {
				if (push_field(r, i - 1 - r->foff))
					return -1;
				if (c == '\n') {
					*rec_end = i;
					return 1;
				}
				r->st = ST_FIELD_START;
				break;
			}
			if (c == '\r') {
				r->st = ST_CR_AFTER_QUOTE;
				break;
			}
			set_error(r, CSV_BAD_QUOTE, r->npf);
			r->fquoted = 0;
			r->st = ST_UNQUOTED;
			break;
		case ST_CR_AFTER_QUOTE:
			if (c == '\n') {
				if (push_field(r, i - 2 - r->foff))
					return -1;
				*rec_end = i;
				return 1;
			}
			set_error(r, CSV_BAD_QUOTE, r->npf);
			r->fquoted = 0;
			r->st = ST_UNQUOTED;
			continue; /* look at this byte again as part of the field */
		}
		i++;
	}
	r->scan = i;
	return 0;
}

/* At the end of the input: close the last field of a record without a
 * final line break. */
static int finish_at_eof(struct csv_reader *r, size_t n)
{
	const char *b = r->buf + r->start;
	switch (r->st) {
	case ST_FIELD_START:
		r->foff = n;
		r->fquoted = r->fescaped = 0;
		return push_field(r, 0);
	case ST_UNQUOTED: {
		size_t len = n - r->foff;
		if (len > 0 && b[n - 1] == '\r')
			len--;
		return push_field(r, len);
	}
	case ST_QUOTED:
		set_error(r, CSV_UNTERMINATED_QUOTE, r->npf);
		return push_field(r, n - r->foff);
	case ST_QUOTE_SEEN:
		return push_field(r, n - 1 - r->foff);
	case ST_CR_AFTER_QUOTE:
		return push_field(r, n - 2 - r->foff);
	}
	return 0;
}

/* Make room and read more input. Returns 0, or -1 with e set. */
static int refill(struct csv_reader *r, struct err *e)
{
	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	if (r->cap - r->end < READ_CHUNK) {
		size_t cap = r->cap * 2;
		char *p = realloc(r->buf, cap);
		if (!p)
			return err_set(e, ERR_INTERNAL, "out of memory reading a CSV record");
		r->buf = p;
		r->cap = cap;
	}
	ssize_t got = r->read_fn(r->ctx, r->buf + r->end, r->cap - r->end, e);
	if (got < 0)
		return -1;
	if (got == 0)
		r->eof = 1;
	r->end += (size_t)got;
	if (!r->started && r->end - r->start >= 3) {
		r->started = 1;
		if (memcmp(r->buf + r->start, "\xEF\xBB\xBF", 3) == 0)
			r->start += 3;
	} else if (!r->started && r->eof) {
		r->started = 1;
	}
	return 0;
}

static int64_t count_newlines(const char *p, size_t n)
{
	int64_t k = 0;
	const char *end = p + n;
	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		k++;
		p++;
	}
	return k;
}

/* Discard input up to and including the next physical line break after a
 * record that was too long. Returns 1 when done, 0 if more input is needed. */
static int skip_rest(struct csv_reader *r)
{
	char *b = r->buf + r->start;
	size_t n = r->end - r->start;
	char *nl = memchr(b, '\n', n);
	if (nl) {
		r->line++;
		r->start += (size_t)(nl - b) + 1;
		r->skipping = 0;
		return 1;
	}
	r->start = r->end;
	return 0;
}

static int build_record(struct csv_reader *r, struct csv_record *rec, size_t raw_len)
{
	const char *b = r->buf + r->start;

	if (r->fields_cap < r->npf) {
		size_t cap = r->npf < 64 ? 64 : r->npf;
		struct csv_field *f = realloc(r->fields, cap * sizeof(*f));
		if (!f)
			return -1;
		r->fields = f;
		r->fields_cap = cap;
	}
	int any_escaped = 0;
	for (size_t k = 0; k < r->npf; k++)
		any_escaped |= r->pf[k].escaped;
	if (any_escaped && r->unesc_cap < raw_len + 1) {
		char *u = realloc(r->unesc, raw_len + 1);
		if (!u)
			return -1;
		r->unesc = u;
		r->unesc_cap = raw_len + 1;
	}
	size_t upos = 0;
	for (size_t k = 0; k < r->npf; k++) {
		const struct pending_field *p = &r->pf[k];
		struct csv_field *f = &r->fields[k];
		f->quoted = p->quoted;
		if (!p->escaped) {
			f->p = b + p->off;
			f->len = p->len;
			continue;
		}
		/* "" inside a quoted field stands for one quote. */
		char *out = r->unesc + upos;
		size_t m = 0;
		for (size_t j = 0; j < p->len; j++) {
			out[m++] = b[p->off + j];
			if (b[p->off + j] == '"' && j + 1 < p->len && b[p->off + j + 1] == '"')
				j++;
		}
		f->p = out;
		f->len = m;
		upos += m;
	}
	rec->fields = r->fields;
	rec->nfields = r->npf;
	rec->raw = b;
	rec->raw_len = raw_len;
	rec->error = r->err;
	rec->error_field = r->err_field;
	return 0;
}

int csv_next(struct csv_reader *r, struct csv_record *rec, struct err *e)
{
	memset(rec, 0, sizeof(*rec));
	for (;;) {
		if (!r->started) {
			if (refill(r, e))
				return -1;
			continue;
		}
		if (r->skipping) {
			if (!skip_rest(r)) {
				if (r->eof) {
					r->skipping = 0;
					continue;
				}
				if (refill(r, e))
					return -1;
				continue;
			}
			reset_scan(r);
		}
		size_t n = r->end - r->start;
		size_t rec_end = 0;
		int found = n ? scan(r, &rec_end) : 0;
		if (found < 0)
			return err_set(e, ERR_INTERNAL, "out of memory reading a CSV record");
		if (!found && r->scan > r->o.max_record) {
			/* Too long: keep its beginning as the raw text, skip the rest
			 * of the physical line it is on. */
			size_t keep = r->o.max_record;
			char *lr = realloc(r->longraw, keep);
			if (!lr)
				return err_set(e, ERR_INTERNAL, "out of memory reading a CSV record");
			r->longraw = lr;
			memcpy(lr, r->buf + r->start, keep);
			rec->line_no = r->line;
			/* Line breaks inside the kept part belong to this record. */
			int64_t inside = count_newlines(r->buf + r->start, keep);
			rec->line_count = 1 + inside;
			r->line += inside;
			r->start += keep;
			r->skipping = 1;
			rec->raw = lr;
			rec->raw_len = keep;
			rec->error = CSV_RECORD_TOO_LONG;
			rec->fields = NULL;
			rec->nfields = 0;
			reset_scan(r);
			return 1;
		}
		if (!found) {
			if (r->eof) {
				if (n == 0)
					return 0;
				if (finish_at_eof(r, n))
					return err_set(e, ERR_INTERNAL, "out of memory reading a CSV record");
				rec_end = n;
				/* Cut: the input ended without a line end. (A quoted field
				 * left open by a final line end is CSV_UNTERMINATED_QUOTE
				 * only: the sender ended the line.) */
				rec->unterminated = r->buf[r->start + n - 1] != '\n';
			} else {
				if (refill(r, e))
					return -1;
				continue;
			}
		}
		size_t raw_len = rec_end;
		const char *b = r->buf + r->start;
		if (raw_len > 0 && b[raw_len - 1] == '\r' &&
		    (r->st == ST_UNQUOTED || r->st == ST_FIELD_START || r->st == ST_CR_AFTER_QUOTE))
			raw_len--;
		int64_t line_no = r->line;
		int64_t lines = 1 + r->rec_newlines;
		size_t consumed = rec_end < n ? rec_end + 1 : rec_end;
		if (raw_len == 0 && r->npf == 1 && !r->pf[0].quoted) {
			/* An empty line: not a record. */
			rec->unterminated = 0;
			r->blank++;
			r->line += lines;
			r->start += consumed;
			reset_scan(r);
			continue;
		}
		if (build_record(r, rec, raw_len))
			return err_set(e, ERR_INTERNAL, "out of memory reading a CSV record");
		rec->line_no = line_no;
		rec->line_count = lines;
		r->line += lines;
		r->start += consumed;
		reset_scan(r);
		return 1;
	}
}
