/*
 * ingest_load.c - binary COPY of usage and quarantine rows, with the
 * savepoint that turns a duplicate key into a staged second pass (see
 * ingest_load.h). Rows are encoded with copybin.h.
 */
#include "ingest_load.h"
#include "copypipe.h"
#include "err.h"
#include "fs.h"
#include "log.h"
#include "partials.h"
#include "spool.h"
#include "sqltext.h"

#include <errno.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USAGE_FIELDS 14
#define QUARANTINE_FIELDS 11
#define ID_BLOCK 65536                 /* usage_id_blocks' increment */
#define MAX_BLOCKS_PER_RESERVE 4096
#define SEND_BYTES (256 * 1024)        /* send usage rows in pieces of this size */

/* Text that must be valid UTF-8 for the server: invalid bytes as \xNN.
 * Sets *escaped when it had to. */
static void field_text_escaped(struct rowbuf *b, const char *s, size_t n, int *escaped)
{
	if (utf8_valid(s, n)) {
		rowbuf_reserve(b, 4 + n);
		field_bytes(b, s, n);
		return;
	}
	static const char hex[] = "0123456789abcdef";
	struct textbuf t = { 0 };
	size_t i = 0;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
		if (c != 0 && i + len <= n && utf8_valid(s + i, len)) {
			textbuf_add(&t, s + i, len);
			i += len;
			continue;
		}
		char x[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };
		textbuf_add(&t, x, 4);
		i++;
	}
	rowbuf_reserve(b, 4 + t.len);
	field_bytes(b, t.p ? t.p : "", t.len);
	textbuf_release(&t);
	if (escaped)
		*escaped = 1;
}

/* ---- the loader ---- */

static int reserve_blocks(struct ingest_loader *l, struct err *e)
{
	char n[32];
	snprintf(n, sizeof(n), "%lld", (long long)l->blocks_per_reserve);
	const char *params[] = { n };
	PGresult *res = db_query(l->db, e, SQL_ingest_usage_blocks, 1, params);
	if (!res)
		return -1;
	size_t got = (size_t)PQntuples(res);
	int64_t *p = realloc(l->blocks, got * sizeof(*p));
	if (!p || got == 0) {
		PQclear(res);
		free(p);
		l->blocks = NULL;
		return err_set(e, ERR_INTERNAL, "could not reserve usage ids");
	}
	l->blocks = p;
	for (size_t i = 0; i < got; i++)
		p[i] = strtoll(PQgetvalue(res, (int)i, 0), NULL, 10);
	PQclear(res);
	l->nblocks = got;
	l->next_block = 0;
	return 0;
}

static int copy_start(struct ingest_loader *l, struct err *e)
{
	const char *sql = l->mode == LOAD_DIRECT ? SQL_ingest_usage_copy : SQL_ingest_stage_copy;
	if (db_copy_begin(l->db, e, sql))
		return -1;
	l->copy_open = 1;
	l->segments++;
	rowbuf_reserve(&l->out, sizeof(copybin_header));
	memcpy(l->out.p + l->out.len, copybin_header, sizeof(copybin_header));
	l->out.len += sizeof(copybin_header);
	return 0;
}

/* Hand the encoded rows to the sending thread; l->out gets an empty
 * buffer. */
static int send_out(struct ingest_loader *l, struct err *e)
{
	if (!l->out.len)
		return 0;
	return copypipe_put(l->pipe, &l->out, e);
}

/* End the open COPY; 1 when it failed on the deduplication key. */
static int copy_end(struct ingest_loader *l, struct err *e)
{
	rowbuf_reserve(&l->out, sizeof(copybin_trailer));
	memcpy(l->out.p + l->out.len, copybin_trailer, sizeof(copybin_trailer));
	l->out.len += sizeof(copybin_trailer);
	int rc = send_out(l, e);
	if (copypipe_drain(l->pipe, rc ? NULL : e))
		rc = -1;
	l->copy_open = 0;
	if (rc == 0)
		rc = db_copy_end(l->db, e);
	if (rc && e && strcmp(e->sqlstate, "23505") == 0 && l->mode == LOAD_DIRECT)
		return 1;
	return rc;
}

int ingest_loader_begin(struct ingest_loader *l, struct db *db, enum load_mode mode, int64_t run_id,
			int64_t file_id, const char *source, const char *file_name, int64_t expected_records,
			struct err *e)
{
	memset(l, 0, sizeof(*l));
	l->db = db;
	l->mode = mode;
	l->run_id = run_id;
	l->file_id = file_id;
	l->source = source;
	l->file_name = file_name;
	int64_t blocks = expected_records / ID_BLOCK + 1;
	l->blocks_per_reserve = blocks > MAX_BLOCKS_PER_RESERVE ? MAX_BLOCKS_PER_RESERVE : blocks;
	l->spill = tmpfile(); /* unlinked from the start: nothing to remove afterwards */
	if (!l->spill) {
		char why[128];
		return err_set(e, ERR_IO, "could not create a temporary file for quarantine rows in '%s': %s", P_tmpdir,
			       fs_errno_text(errno, why, sizeof(why)));
	}
	if (reserve_blocks(l, e) || copypipe_open(&l->pipe, db, e))
		return -1;
	if (mode == LOAD_DIRECT) {
		if (db_exec(db, e, "SAVEPOINT ingest_file", 0, NULL))
			return -1;
	} else {
		if (db_exec(db, e, SQL_ingest_stage_create, 0, NULL) || db_exec(db, e, SQL_ingest_stage_clear, 0, NULL))
			return -1;
	}
	return copy_start(l, e);
}

void ingest_loader_release(struct ingest_loader *l)
{
	/* The thread first: the connection is this thread's again after it. */
	copypipe_close(l->pipe);
	l->pipe = NULL;
	if (l->copy_open && l->db) {
		/* Given up half way (a read error): end the COPY as failed so
		 * that the connection can roll back. */
		PQputCopyEnd(l->db->conn, "ingest of the file was abandoned");
		PGresult *res;
		while ((res = PQgetResult(l->db->conn)) != NULL)
			PQclear(res);
		l->copy_open = 0;
	}
	rowbuf_release(&l->out);
	free(l->qrow.p);
	free(l->blocks);
	if (l->spill)
		fclose(l->spill);
	memset(l, 0, sizeof(*l));
}

/* The next usage id; when the reserved blocks run out, the COPY is ended,
 * more are reserved and a new COPY begun (ids cannot be fetched during
 * one). Returns 0, 1 for a duplicate key met, -1. */
static int next_id(struct ingest_loader *l, int64_t *id, struct err *e)
{
	if (l->id_next < l->id_end) {
		*id = l->id_next++;
		return 0;
	}
	if (l->next_block == l->nblocks) {
		int rc = copy_end(l, e);
		if (rc)
			return rc;
		if (reserve_blocks(l, e) || copy_start(l, e))
			return -1;
	}
	l->id_next = l->blocks[l->next_block++];
	l->id_end = l->id_next + ID_BLOCK;
	*id = l->id_next++;
	return 0;
}

int ingest_loader_usage(struct ingest_loader *l, const struct usage_record *r, struct err *e)
{
	int64_t id;
	if (l->rows < 0)
		return 0; /* a duplicate key was met: the rest is for nothing */
	int rc = next_id(l, &id, e);
	if (rc == 1) {
		/* Remember it: ingest_loader_finish reports the restart. */
		l->rows = -1;
		return 0;
	}
	if (rc)
		return rc;
	struct rowbuf *b = &l->out;
	size_t srclen = strlen(l->source);
	rowbuf_reserve(b, 2 + USAGE_FIELDS * 4 + 8 + srclen + r->event_key_len + 8 + 4 + r->account_len +
			      r->meter_len + 8 + 8 + r->currency_len + 1 + r->attributes_len + 8 + 1);
	put16(b, USAGE_FIELDS);
	field_i64(b, id);
	field_bytes(b, l->source, srclen);
	field_bytes(b, r->event_key, r->event_key_len);
	field_i64(b, l->file_id);
	field_i32(b, (int32_t)r->line_no);
	field_bytes(b, r->account, r->account_len);
	field_bytes(b, r->meter, r->meter_len);
	field_i64(b, r->event_time - PG_EPOCH_USEC);
	rowbuf_numeric(b, r->quantity);
	if (r->has_cost)
		rowbuf_numeric(b, r->cost);
	else
		field_null(b);
	rowbuf_reserve(b, 4 + r->currency_len + 4 + 1 + r->attributes_len + 12 + 5);
	if (r->currency)
		field_bytes(b, r->currency, r->currency_len);
	else
		field_null(b);
	if (r->attributes) {
		/* jsonb's binary form: a version byte (1), then the text */
		put32(b, (uint32_t)(1 + r->attributes_len));
		b->p[b->len++] = 1;
		memcpy(b->p + b->len, r->attributes, r->attributes_len);
		b->len += r->attributes_len;
	} else {
		field_null(b);
	}
	field_i64(b, l->run_id);
	field_bool(b, r->billable);
	if (l->partials)
		partials_add(l->partials, r, id);
	l->rows++;
	if (b->len >= SEND_BYTES)
		return send_out(l, e);
	return 0;
}

int ingest_loader_quarantine(struct ingest_loader *l, const struct usage_record *r, struct err *e)
{
	struct rowbuf *b = &l->qrow;
	int escaped = 0;
	const char *code = reason_code(r->reason);
	size_t srclen = strlen(l->source), codelen = strlen(code);

	b->len = 0;
	rowbuf_reserve(b, 2 + 4 + 8 + 4 + srclen + 4 + 8 + 4 + 4 + 4 + 1 + 4 + codelen);
	put16(b, QUARANTINE_FIELDS);
	field_i64(b, l->run_id);
	field_bytes(b, l->source, srclen);
	field_i64(b, l->file_id);
	field_text_escaped(b, l->file_name, strlen(l->file_name), NULL);
	rowbuf_reserve(b, 8);
	field_i32(b, (int32_t)r->line_no);
	field_text_escaped(b, r->raw, r->raw_len, &escaped);
	rowbuf_reserve(b, 4 + r->raw_len + 4 + 1 + 4 + codelen);
	if (escaped)
		field_bytes(b, r->raw, r->raw_len); /* bytea's binary form: the bytes */
	else
		field_null(b);
	field_bool(b, r->raw_truncated);
	field_bytes(b, code, codelen);
	field_text_escaped(b, r->message, strlen(r->message), NULL);
	if (r->account && r->account_len) {
		field_text_escaped(b, r->account, r->account_len, NULL);
	} else {
		rowbuf_reserve(b, 4);
		field_null(b);
	}
	if (fwrite(b->p, 1, b->len, l->spill) != b->len) {
		char why[128];
		return err_set(e, ERR_IO, "could not write quarantine rows to a temporary file in '%s': %s", P_tmpdir,
			       fs_errno_text(errno, why, sizeof(why)));
	}
	l->quarantine_rows++;
	return 0;
}

static int load_quarantine(struct ingest_loader *l, struct err *e)
{
	if (l->quarantine_rows == 0)
		return 0;
	if (fflush(l->spill) || fseek(l->spill, 0, SEEK_SET)) {
		char why[128];
		return err_set(e, ERR_IO, "could not write quarantine rows to a temporary file in '%s': %s", P_tmpdir,
			       fs_errno_text(errno, why, sizeof(why)));
	}
	if (db_copy_begin(l->db, e, SQL_ingest_quarantine_copy) ||
	    db_copy_put(l->db, e, copybin_header, sizeof(copybin_header)))
		return -1;
	static char buf[256 * 1024];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), l->spill)) > 0)
		if (db_copy_put(l->db, e, buf, n))
			return -1;
	if (ferror(l->spill))
		return err_set(e, ERR_IO, "could not read back the quarantine rows");
	if (db_copy_put(l->db, e, copybin_trailer, sizeof(copybin_trailer)) || db_copy_end(l->db, e))
		return -1;
	l->quarantined = l->quarantine_rows;
	return 0;
}

int ingest_loader_finish(struct ingest_loader *l, struct err *e)
{
	int rc = l->rows < 0 ? 1 : copy_end(l, e);
	if (rc == 1) {
		/* A key already in usage: undo this pass entirely. */
		err_clear(e);
		if (db_exec(l->db, e, "ROLLBACK TO SAVEPOINT ingest_file", 0, NULL) ||
		    db_exec(l->db, e, "RELEASE SAVEPOINT ingest_file", 0, NULL))
			return -1;
		return 1;
	}
	if (rc)
		return -1;
	if (l->mode == LOAD_DIRECT) {
		if (db_exec(l->db, e, "RELEASE SAVEPOINT ingest_file", 0, NULL))
			return -1;
		l->accepted = l->rows;
		l->duplicates = 0;
	} else {
		PGresult *res = db_query(l->db, e, SQL_ingest_stage_insert, 0, NULL);
		if (!res)
			return -1;
		int64_t inserted = strtoll(PQcmdTuples(res), NULL, 10);
		PQclear(res);
		if (db_exec(l->db, e, SQL_ingest_stage_clear, 0, NULL))
			return -1;
		l->accepted = inserted;
		l->duplicates = l->rows - inserted;
	}
	return load_quarantine(l, e);
}
