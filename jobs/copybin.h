/*
 * copybin.h - rows in PostgreSQL's binary COPY format, encoded straight
 * into a growing buffer: a field count, then each field as its length and
 * its bytes in network order (PostgreSQL manual, COPY, "Binary Format").
 * The encoders are inline and check no bounds: the caller reserves room
 * (rowbuf_reserve) for what it is about to add. At millions of rows a
 * call and a bounds check per byte group showed up as a quarter of the
 * client's time.
 */
#ifndef BILLRUN_COPYBIN_H
#define BILLRUN_COPYBIN_H

#include "dec.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define PG_EPOCH_USEC 946684800000000LL /* 2000-01-01 - 1970-01-01, in microseconds */
#define NUMERIC_MAX_BYTES (4 + 8 + 2 * 24)

/* The stream's signature and flags, and its end. */
extern const char copybin_header[19];
extern const char copybin_trailer[2];

/* An append-only byte buffer for encoding rows. */
struct rowbuf {
	char *p;
	size_t len, cap;
};

/* Room for n more bytes (aborts when memory is exhausted: rows are
 * bounded by the record limit). */
void rowbuf_reserve(struct rowbuf *b, size_t n);
void rowbuf_release(struct rowbuf *b);

static inline void put16(struct rowbuf *b, uint16_t v)
{
	unsigned char *p = (unsigned char *)b->p + b->len;
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
	b->len += 2;
}

static inline void put32(struct rowbuf *b, uint32_t v)
{
	unsigned char *p = (unsigned char *)b->p + b->len;
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
	b->len += 4;
}

static inline void put64(struct rowbuf *b, uint64_t v)
{
	put32(b, (uint32_t)(v >> 32));
	put32(b, (uint32_t)v);
}

static inline void field_i64(struct rowbuf *b, int64_t v)
{
	put32(b, 8);
	put64(b, (uint64_t)v);
}

static inline void field_i32(struct rowbuf *b, int32_t v)
{
	put32(b, 4);
	put32(b, (uint32_t)v);
}

static inline void field_bytes(struct rowbuf *b, const char *s, size_t n)
{
	put32(b, (uint32_t)n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static inline void field_null(struct rowbuf *b)
{
	put32(b, 0xffffffffu);
}

static inline void field_bool(struct rowbuf *b, int v)
{
	put32(b, 1);
	b->p[b->len++] = v ? 1 : 0;
}

/* A timestamptz: t in microseconds since 1970-01-01 UTC. */
static inline void field_time(struct rowbuf *b, int64_t t)
{
	field_i64(b, t - PG_EPOCH_USEC);
}

/* d as a numeric field (length included; reserves its own room). Exact. */
void rowbuf_numeric(struct rowbuf *b, struct dec d);

#endif
