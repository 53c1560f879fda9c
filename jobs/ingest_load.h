/*
 * ingest_load.h - loading one file's usage and quarantine rows into
 * PostgreSQL by binary COPY, counting duplicates.
 *
 * Duplicates are rare, and every index entry or trigger call per row costs
 * about as much as the row itself, so the common case is made cheap: a
 * file's usage rows are streamed in one binary COPY straight into usage,
 * under a savepoint (LOAD_DIRECT). If that COPY fails on the
 * deduplication key, the loader rolls back to the savepoint and says so;
 * the caller then reads the file again with LOAD_STAGED: the rows go into
 * a temporary table and on into usage with ON CONFLICT DO NOTHING, which
 * tells how many were duplicates. One COPY (one statement, so statement
 * triggers on usage fire once) per file either way.
 *
 * The rows are sent by a thread of the loader's (copypipe.h), so that
 * parsing and encoding go on while the server takes in what it was sent.
 *
 * Quarantine rows cannot travel while the usage COPY is open: they are
 * spilled to an anonymous temporary file and COPYed after it. Memory is a
 * few fixed buffers, never proportional to the file. Everything happens
 * inside the caller's transaction.
 */
#ifndef BILLRUN_INGEST_LOAD_H
#define BILLRUN_INGEST_LOAD_H

#include "copybin.h"
#include "db.h"
#include "reader.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct copypipe;
struct err;
struct partials;

enum load_mode { LOAD_DIRECT, LOAD_STAGED };


struct ingest_loader {
	struct db *db;
	int64_t run_id, file_id;
	const char *source, *file_name;
	enum load_mode mode;

	struct rowbuf out;         /* encoded usage rows not yet handed to pipe */
	struct copypipe *pipe;     /* sends them, on a thread of its own (copypipe.h) */
	int copy_open;
	int64_t *blocks;           /* reserved usage id blocks (starts) */
	size_t nblocks, next_block;
	int64_t id_next, id_end;
	int64_t blocks_per_reserve;
	int64_t rows;              /* usage rows sent */
	int64_t segments;          /* COPY statements (more than one only when ids ran out) */

	FILE *spill;               /* quarantine rows, binary COPY data */
	struct rowbuf qrow;
	int64_t quarantine_rows;

	struct partials *partials;  /* LOAD_DIRECT: each row is added to these (partials.h) */

	/* Results, final after ingest_loader_finish. */
	int64_t accepted, duplicates, quarantined;
};

/*
 * Start loading one file in mode. expected_records bounds how many usage
 * ids to reserve up front (more are taken if needed). Returns 0, or -1
 * with e set. ingest_loader_release() is safe after a failure.
 */
int ingest_loader_begin(struct ingest_loader *l, struct db *db, enum load_mode mode, int64_t run_id,
			int64_t file_id, const char *source, const char *file_name, int64_t expected_records,
			struct err *e);
/* Free the loader; a COPY still open (an abandoned pass) is ended as
 * failed first, so the caller can roll back. Never fails. */
void ingest_loader_release(struct ingest_loader *l);

/* Add a good record (the caller has validated it). 0, or -1 with e set. */
int ingest_loader_usage(struct ingest_loader *l, const struct usage_record *r, struct err *e);

/* Add a bad record to quarantine (r->reason set). 0, or -1 with e set. */
int ingest_loader_quarantine(struct ingest_loader *l, const struct usage_record *r, struct err *e);

/*
 * Finish: end the COPY, load the quarantine rows. Returns 0 (accepted,
 * duplicates and quarantined are final), 1 when a LOAD_DIRECT load met a
 * key already in usage (the transaction is back where ingest_loader_begin
 * found it: read the file again with LOAD_STAGED), or -1 with e set.
 */
int ingest_loader_finish(struct ingest_loader *l, struct err *e);

#endif
