/*
 * csv.h - a streaming RFC 4180 CSV tokenizer for the ingest readers.
 *
 * Reads from any byte source through a callback, one record at a time, and
 * reports for each record the physical line it starts on, its fields (with
 * whether each was quoted, so "NULL" and NULL can be told apart) and its raw
 * text as it appeared in the file. Memory is bounded by the longest record
 * allowed (csv_options.max_record), never by the size of the input.
 *
 * Leniency, on purpose: CRLF and LF line ends are both accepted, a UTF-8
 * byte order mark at the start is skipped, and empty lines are skipped (and
 * counted). A record that breaks the quoting rules is still returned, with
 * an error set, so that it can be quarantined with its line and raw text.
 * A last record without its line end is returned too, marked
 * unterminated: whether the file is whole is the caller's to decide.
 */
#ifndef BILLRUN_CSV_H
#define BILLRUN_CSV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct err;

/* Pulls up to cap bytes into buf; returns the count, 0 at the end, or -1
 * with e set. */
typedef ssize_t (*csv_read_fn)(void *ctx, char *buf, size_t cap, struct err *e);

struct csv_options {
	char delimiter;       /* ',' unless told otherwise */
	size_t max_field;     /* a longer field sets CSV_FIELD_TOO_LONG */
	size_t max_record;    /* a longer record sets CSV_RECORD_TOO_LONG */
	size_t max_fields;    /* more fields than this set CSV_TOO_MANY_FIELDS */
};

/* What was wrong with a record; the record is returned all the same. */
enum csv_error {
	CSV_OK = 0,
	CSV_BAD_QUOTE,          /* a quote inside an unquoted field, or text after a closing quote */
	CSV_UNTERMINATED_QUOTE, /* the input ended inside a quoted field */
	CSV_FIELD_TOO_LONG,     /* field error_field is longer than max_field */
	CSV_RECORD_TOO_LONG,    /* raw is the first max_record bytes; the rest of
	                           its physical line was skipped */
	CSV_TOO_MANY_FIELDS,    /* fields past max_fields were dropped */
};

struct csv_field {
	const char *p;   /* unescaped content, not NUL-terminated */
	size_t len;
	int quoted;
};

/* Valid until the next csv_next() or csv_free(). */
struct csv_record {
	int64_t line_no;          /* 1-based physical line the record starts on */
	int64_t line_count;       /* physical lines it spans (quoted line breaks) */
	const struct csv_field *fields;
	size_t nfields;
	const char *raw;          /* the record as in the file, without its line end */
	size_t raw_len;
	enum csv_error error;
	size_t error_field;       /* 0-based field index for CSV_BAD_QUOTE and CSV_FIELD_TOO_LONG */
	int unterminated;         /* the input ended inside this record and its last byte is
	                             not a line end (LF): a file that may not be whole */
};

struct csv_reader;

/* Defaults: ',', 4096, 1 MiB, 4096. */
void csv_options_init(struct csv_options *o);

/*
 * Start reading from read_fn(ctx). opts may be NULL for the defaults.
 * Returns a reader owned by the caller (csv_free), or NULL (out of memory).
 */
struct csv_reader *csv_new(csv_read_fn read_fn, void *ctx, const struct csv_options *opts);
void csv_free(struct csv_reader *r);

/*
 * The next record: 1 and rec filled, 0 at the end of the input, or -1 with
 * e set when reading failed (the reader is then unusable).
 */
int csv_next(struct csv_reader *r, struct csv_record *rec, struct err *e);

/* Empty lines skipped so far. */
int64_t csv_blank_lines(const struct csv_reader *r);

/* A read_fn over a file descriptor (ctx points at the int fd). */
ssize_t csv_read_fd(void *ctx, char *buf, size_t cap, struct err *e);

/* A read_fn over memory: ctx points at a struct csv_mem. */
struct csv_mem {
	const char *data;
	size_t len, pos;
	size_t step;   /* bytes per call (0 = all there is): tests cut records */
};
ssize_t csv_read_mem(void *ctx, char *buf, size_t cap, struct err *e);

/* A short lowercase description of an error ("a quote inside an unquoted field"). */
const char *csv_error_text(enum csv_error error);

#endif
