/*
 * reader.h - the one interface behind which each input format turns a file
 * into usage records, and the reason codes a record is quarantined with.
 *
 * A reader owns a CSV tokenizer over the file and hands out one record per
 * call: either a well-formed usage record (event key, account, meter, time,
 * quantity, optional cost, currency and attributes) or a bad one with a
 * reason code and message. Readers check what the file alone can tell
 * (syntax, types, required fields, lengths, UTF-8); the ingest step checks
 * what needs the database (known accounts and meters, credits, time bounds).
 * Every record read is returned: nothing is skipped, so that records read =
 * accepted + quarantined + duplicates holds for every file.
 */
#ifndef BILLRUN_READER_H
#define BILLRUN_READER_H

#include "csv.h"
#include "dec.h"

#include <stddef.h>
#include <stdint.h>

struct err;

/*
 * Why a record was quarantined. The codes are stable (stored in
 * quarantine_records.reason and in table quarantine_reasons, which
 * the migrations fill from the same list: 004_ingest.sql, 021 for
 * truncated, 055 for schema_change); jobs/README.md documents them.
 */
enum reason {
	REASON_NONE = 0,
	REASON_MALFORMED_CSV,         /* quoting breaks RFC 4180 */
	REASON_WRONG_COLUMN_COUNT,    /* not as many fields as the header / format */
	REASON_RECORD_TOO_LONG,       /* longer than the record limit */
	REASON_FIELD_TOO_LONG,        /* a field longer than ingest.max_field_length */
	REASON_INVALID_UTF8,          /* bytes that are not UTF-8, or a NUL byte */
	REASON_BAD_HEADER,            /* the file's header lacks a required column */
	REASON_MISSING_FIELD,         /* a required field is empty or NULL */
	REASON_BAD_NUMBER,            /* a quantity or amount that is not a decimal number */
	REASON_NEGATIVE_QUANTITY,     /* below zero for a meter that allows no credits */
	REASON_BAD_TIMESTAMP,         /* not a valid ISO 8601 time (with offset where required) */
	REASON_TIMESTAMP_OUT_OF_RANGE,/* outside [ingest.time_min, ingest.time_max) */
	REASON_UNKNOWN_ACCOUNT,       /* no version of the account exists */
	REASON_UNKNOWN_METER,         /* the meter is not in table meters */
	REASON_BAD_JSON,              /* a JSON field (FOCUS Tags) that is not a JSON object */
	REASON_BAD_CURRENCY,          /* not a three-letter upper-case currency code */
	REASON_TRUNCATED,             /* the last record lacks its line end; the control file counts it */
	REASON_SCHEMA_CHANGE,         /* the header differs from the source's last accepted file (refused) */
	REASON__COUNT
};

struct reason_info {
	const char *code;
	const char *description;
};

/* The one table of reason codes, indexed by enum reason (REASON_NONE is ""). */
extern const struct reason_info reason_table[REASON__COUNT];

static inline const char *reason_code(enum reason r)
{
	return reason_table[r].code;
}

/* A growable byte buffer (allocation failure aborts). Not "strbuf":
 * libconfig exports functions of that name. */
struct textbuf {
	char *p;
	size_t len, cap;
};
void textbuf_add(struct textbuf *b, const char *s, size_t n);
void textbuf_addc(struct textbuf *b, char c);
void textbuf_release(struct textbuf *b);

/* One record as a reader hands it out; pointers are valid until the next
 * reader_next(). */
struct usage_record {
	int64_t line_no;
	const char *raw;              /* the record's text without its line end */
	size_t raw_len;
	int raw_truncated;            /* raw is only the record's beginning */
	int cut;                      /* the file ended inside it, before its line end */

	enum reason reason;           /* REASON_NONE: a well-formed record */
	char message[256];            /* for a bad one: what and where */

	const char *event_key;        /* set for good records */
	size_t event_key_len;
	const char *account;          /* set whenever it could be read (also for bad ones) */
	size_t account_len;
	const char *meter;            /* the final meter name (prefix, mapping applied) */
	size_t meter_len;
	int64_t event_time;           /* microseconds since 1970-01-01 UTC */
	int has_quantity;             /* quantity parsed (also on some bad records: control totals) */
	struct dec quantity;
	int has_cost;                 /* FOCUS BilledCost */
	struct dec cost;
	const char *currency;         /* NULL when absent */
	size_t currency_len;
	int billable;                 /* 0: counted but not billed (unanswered calls) */
	const char *category;         /* FOCUS ChargeCategory as in the file; NULL: absent (Usage) */
	size_t category_len;
	const char *attributes;       /* a JSON object, or NULL */
	size_t attributes_len;
};

/* How a source's files are read: from the `sources` entry in the config. */
struct reader_settings {
	const char *source;           /* the source's name */
	const char *format;           /* usage-csv, focus, asterisk-cdr */
	const char *account_column;   /* NULL = the format's default */
	const char *meter_column;     /* NULL = the format's default */
	const char *meter_prefix;     /* "" or NULL = none */
	const char *meter;            /* a fixed meter for every record, or NULL */
	const char *key_column;       /* NULL = the format's default */
	const char *time_zone;        /* for local times without offset (asterisk-cdr) */
	size_t max_field;             /* ingest.max_field_length */
};

struct reader;
struct csv_header;

struct reader_format {
	const char *name;
	/* Set up after the reader's CSV tokenizer exists (read a header...). */
	int (*start)(struct reader *r, struct err *e);
	/* Fill rec from the CSV record csv (which is good CSV, UTF-8 checked). */
	void (*record)(struct reader *r, const struct csv_record *csv, struct usage_record *rec);
	void (*release)(struct reader *r);
};

struct reader {
	const struct reader_format *format;
	const struct reader_settings *set;
	struct csv_reader *csv;
	void *state;                  /* the format's own */
	char problem[256];            /* why the file's header is unusable, or "" */
	struct csv_header *header;    /* the header read (the format's), or NULL (none, or asterisk-cdr) */
	/* Set by the caller after reader_open() to refuse the whole file: every
	 * record that is good CSV and UTF-8 comes back with
	 * REASON_SCHEMA_CHANGE and this message. "" = read as usual. */
	char refused[512];
	struct textbuf meter_buf, key_buf, attr_buf;
	int64_t records;              /* records handed out */
	int64_t cut_line;             /* the line of the header or record the file ended
	                                 inside (no line end after it), or 0 */
};

/* The format named name, or NULL. */
const struct reader_format *reader_format_find(const char *name);

/*
 * Open a reader of format set->format over read_fn(ctx). Returns 0, or -1
 * with e set (ERR_CONFIG for an unknown format, ERR_IO when reading
 * fails). A file whose header is unusable still opens: its records come
 * back with REASON_BAD_HEADER. reader_close() is safe after a failure.
 */
int reader_open(struct reader *r, const struct reader_settings *set, csv_read_fn read_fn, void *ctx,
		struct err *e);

/* The next record: 1, 0 at the end, -1 with e set when reading failed. */
int reader_next(struct reader *r, struct usage_record *rec, struct err *e);

/* Empty lines skipped (not records). */
int64_t reader_blank_lines(const struct reader *r);

void reader_close(struct reader *r);

/* ---- helpers the formats share (reader.c) ---- */

/* A header row: column names copied out of the CSV buffer. */
struct csv_header {
	size_t n;
	char **names;
	int *used;        /* 1 for columns mapped to a usage column (not attributes) */
};

/*
 * Read the first record of the file as a header. Returns 0, or -1 with e
 * set when reading failed. A header that cannot serve (bad CSV, not UTF-8,
 * a name twice, an empty file) leaves a message in problem (else "").
 */
int header_read(struct reader *r, struct csv_header *h, char *problem, size_t size, struct err *e);

/* The index of column name (ASCII case-insensitive), marked used; -1. */
int header_take(struct csv_header *h, const char *name);

/*
 * Note in r->problem (unless a problem is noted already) that the header
 * h has no column name. A header whose names hold ';' or tab characters
 * gets the likely cause appended: "it looks like a ';'-delimited file"
 * (or "tab-delimited"), since the readers split on ',' only. Never fails.
 */
void header_missing(struct reader *r, const struct csv_header *h, const char *name);

/* The delimiter a header that was split on ',' was most likely written
 * with: ';' or '\t' when its names hold more of that than of the other,
 * else 0. */
char header_delimiter_guess(const struct csv_header *h);

void header_release(struct csv_header *h);

/* Is a field missing: empty, or (when null_word) the bare word NULL? */
int field_missing(const struct csv_field *f, int null_word);

/* Mark rec bad; printf-style message. */
void record_fail(struct usage_record *rec, enum reason reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Parse an ISO 8601 date-time: "YYYY-MM-DD(T| )HH:MM[:SS[.ffffff]]" then
 * "Z" or "+HH:MM" / "+HHMM" / "+HH". Without an offset: -1, unless
 * local_ok, in which case *has_offset is 0 and the time is read as UTC.
 * Returns 0 and microseconds since 1970-01-01 UTC, or -1.
 */
int parse_timestamp(const char *s, size_t n, int local_ok, int *has_offset, int64_t *usec);

/* Days from 1970-01-01 for a proleptic Gregorian date (no validation). */
int64_t days_from_civil(int64_t y, int m, int d);

/* Is s[0..n) valid UTF-8 without NUL bytes? */
int utf8_valid(const char *s, size_t n);

/* The length of s[0..n) cut to at most max bytes without splitting a
 * UTF-8 character, as an int for "%.*s". */
int utf8_clip(const char *s, size_t n, size_t max);

/* Is s[0..n) one JSON value (RFC 8259) that PostgreSQL's jsonb accepts
 * (no \u0000, no lone surrogates)? object_only: it must be an object. */
int json_valid(const char *s, size_t n, int object_only);

/* Append s as a JSON string (quoted and escaped) to b. */
void json_add_string(struct textbuf *b, const char *s, size_t n);

/* Append prefix + a meter name made of text ("Amazon EC2" -> "amazon_ec2")
 * to b: lower case letters and digits, other runs of bytes become '_'. */
void meter_slug(struct textbuf *b, const char *prefix, const char *text, size_t n);

#endif
