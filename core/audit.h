/*
 * audit.h - the hash-chained audit log: appending inside the caller's
 * transaction, and recomputing the chain to find the first entry that
 * was changed after it was written. core/AUDIT.md explains the design.
 *
 * Each entry's hash is SHA-256(prev_hash || canonical entry): prev_hash is
 * the previous entry's hash as 64 lowercase hex characters (64 zeros for
 * entry 1), and the canonical entry is the six fields id, at, actor, kind,
 * entity and payload as netstrings, "<byte length>:<bytes>,", in that
 * order. PostgreSQL computes it when an entry is inserted (trigger
 * billrun_audit_chain, 007_audit.sql); audit_verify() recomputes it here.
 */
#ifndef BILLRUN_AUDIT_H
#define BILLRUN_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "hash.h"

struct db;
struct err;

#define AUDIT_GENESIS_HASH "0000000000000000000000000000000000000000000000000000000000000000"

/* One entry as stored. `at` is the text form billrun_audit_time() gives:
 * UTC with microseconds, "2026-02-01T03:00:00.123456Z". */
struct audit_entry {
	int64_t id;
	const char *at;
	const char *actor;
	const char *kind;
	const char *entity;
	const char *payload;   /* canonical JSON text, exactly as stored */
	const char *prev_hash;
	const char *hash;
};

/*
 * The canonical text of an entry (without prev_hash and hash) in a new
 * NUL-terminated buffer the caller frees; its length in *len. NULL only
 * when memory runs out.
 */
char *audit_canonical(const struct audit_entry *en, size_t *len);

/* hex = SHA-256(prev_hash || canonical[0..len)) in lowercase hex; hex
 * holds SHA256_HEX_LEN + 1 bytes. Never fails. */
void audit_chain_hash(const char *prev_hash, const char *canonical, size_t len, char *hex);

/*
 * Append an entry inside the transaction open on db (db_begin first):
 * it commits or rolls back with the change it records. json_payload is a
 * JSON object as text (NULL = {}); PostgreSQL stores its canonical form.
 * The chain head stays locked until the transaction ends, so append
 * late in a transaction. Returns the new entry's id (> 0), or -1 with e
 * set: ERR_INTERNAL when no transaction is open, ERR_DB otherwise (a
 * serialization failure in REPEATABLE READ is retryable).
 */
int64_t audit_append(struct db *db, const char *kind, const char *entity, const char *json_payload,
		     struct err *e);

/*
 * Lock the chain head until the transaction open on db ends. For a
 * REPEATABLE READ transaction that will append: call it first, before
 * the snapshot, so that its appends never fail with a serialization
 * failure (at the price of holding other appenders off meanwhile).
 * Returns 0, or -1 with e set (ERR_INTERNAL when no transaction is open).
 */
int audit_lock(struct db *db, struct err *e);

/* What audit_verify found. */
struct audit_report {
	int64_t entries;                    /* entries checked */
	int64_t head_id;                    /* the last entry's id (0: empty log) */
	char head_hash[SHA256_HEX_LEN + 1]; /* its hash (the genesis hash when empty) */
	int64_t bad_id;                     /* the first entry that does not match, or 0 */
};

/*
 * Recompute the whole chain in id order, in one REPEATABLE READ read-only
 * transaction, reading in batches. Checks, for each entry: its id follows
 * the previous one without a gap, its prev_hash is the previous entry's
 * hash, and its hash is the recomputed one; then that the head row names
 * the last entry (so entries cut off at the end are found too). When
 * expect_id > 0, entry expect_id must have hash expect_hash (a head kept
 * outside the database, e.g. from an archive's bag-info.txt).
 * Returns 0 when the chain holds; -1 with e set: ERR_INPUT naming the
 * first bad entry (also in r->bad_id), or a database error.
 */
int audit_verify(struct db *db, int64_t expect_id, const char *expect_hash, struct audit_report *r,
		 struct err *e);

/*
 * The current head (id and hash) as the transaction on db sees it. 0, or
 * -1 with e set.
 */
int audit_head(struct db *db, int64_t *id, char *hash, struct err *e);

#endif
