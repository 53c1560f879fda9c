/*
 * audit.c - the audit log's hash chain (see audit.h): the canonical entry
 * and its hash as C computes them, appending through PostgreSQL, and
 * verifying the whole chain.
 */
#include "audit.h"
#include "db.h"
#include "err.h"
#include "sqltext.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Append "<len>:<bytes>," to buf at *n; buf has room (see audit_canonical). */
static void netstring(char *buf, size_t *n, const char *s)
{
	size_t len = strlen(s);
	*n += (size_t)sprintf(buf + *n, "%zu:", len);
	memcpy(buf + *n, s, len);
	*n += len;
	buf[(*n)++] = ',';
}

char *audit_canonical(const struct audit_entry *en, size_t *len)
{
	char id[32];
	snprintf(id, sizeof(id), "%lld", (long long)en->id);
	const char *fields[] = { id, en->at, en->actor, en->kind, en->entity, en->payload };
	size_t cap = 1;
	for (size_t i = 0; i < 6; i++)
		cap += strlen(fields[i]) + 24; /* digits of the length, ':' and ',' */
	char *buf = malloc(cap);
	if (!buf)
		return NULL;
	size_t n = 0;
	for (size_t i = 0; i < 6; i++)
		netstring(buf, &n, fields[i]);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

void audit_chain_hash(const char *prev_hash, const char *canonical, size_t len, char *hex)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, prev_hash, strlen(prev_hash));
	EVP_DigestUpdate(ctx, canonical, len);
	EVP_DigestFinal_ex(ctx, md, &n);
	EVP_MD_CTX_free(ctx);
	for (unsigned i = 0; i < n; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[2 * n] = '\0';
}

int64_t audit_append(struct db *db, const char *kind, const char *entity, const char *json_payload,
		     struct err *e)
{
	if (!db->in_tx)
		return err_set(e, ERR_INTERNAL, "audit entry '%s' appended outside a transaction", kind);
	const char *params[] = { kind, entity ? entity : "", json_payload };
	int64_t id = 0;
	int rc = db_query_int64(db, e, &id, SQL_audit_append, 3, params);
	if (rc < 0)
		return err_prefix(e, "could not append audit entry '%s': ", kind);
	if (rc > 0)
		return err_set(e, ERR_INTERNAL, "audit entry '%s' got no id", kind);
	return id;
}

int audit_lock(struct db *db, struct err *e)
{
	if (!db->in_tx)
		return err_set(e, ERR_INTERNAL, "the audit chain head locked outside a transaction");
	return db_exec(db, e, SQL_audit_lock, 0, NULL);
}

int audit_head(struct db *db, int64_t *id, char *hash, struct err *e)
{
	PGresult *res = db_query(db, e, SQL_audit_head_get, 0, NULL);
	if (!res)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return err_set(e, ERR_INPUT, "the audit chain head (table audit_head) has %d rows, not 1",
			       PQntuples(res));
	}
	*id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	snprintf(hash, SHA256_HEX_LEN + 1, "%s", PQgetvalue(res, 0, 1));
	PQclear(res);
	return 0;
}

/* Check one entry against its predecessor; 0 or -1 with e naming it. */
static int check_entry(const struct audit_entry *en, int64_t prev_id, const char *prev_hash, struct err *e)
{
	if (en->id != prev_id + 1) {
		if (en->id <= prev_id)
			return err_set(e, ERR_INPUT, "audit entry %lld is out of order after entry %lld",
				       (long long)en->id, (long long)prev_id);
		err_set(e, ERR_INPUT, "audit entry %lld is missing: the log jumps from entry %lld to %lld",
			(long long)(prev_id + 1), (long long)prev_id, (long long)en->id);
		return err_detail(e, "entries are numbered without gaps; one was deleted");
	}
	if (strcmp(en->prev_hash, prev_hash) != 0) {
		err_set(e, ERR_INPUT, "audit entry %lld does not follow entry %lld: its prev_hash differs from that "
			"entry's hash", (long long)en->id, (long long)prev_id);
		return err_detail(e, "prev_hash %s, entry %lld's hash %s", en->prev_hash, (long long)prev_id,
				  prev_hash);
	}
	size_t len = 0;
	char *canon = audit_canonical(en, &len);
	if (!canon)
		return err_set(e, ERR_INTERNAL, "out of memory");
	char hex[SHA256_HEX_LEN + 1];
	audit_chain_hash(en->prev_hash, canon, len, hex);
	free(canon);
	if (strcmp(hex, en->hash) != 0) {
		err_set(e, ERR_INPUT, "audit entry %lld does not match its hash: it was changed after it was written",
			(long long)en->id);
		return err_detail(e, "kind '%s', entity '%s', at %s; stored hash %s, recomputed %s", en->kind,
				  en->entity, en->at, en->hash, hex);
	}
	return 0;
}

int audit_verify(struct db *db, int64_t expect_id, const char *expect_hash, struct audit_report *r,
		 struct err *e)
{
	int64_t prev_id = 0, head_id = 0;
	char prev_hash[SHA256_HEX_LEN + 1] = AUDIT_GENESIS_HASH, head_hash[SHA256_HEX_LEN + 1];
	int expect_seen = 0, rc = -1;

	memset(r, 0, sizeof(*r));
	if (db_begin(db, e))
		return -1;
	if (db_exec(db, e, SQL_audit_verify_snapshot, 0, NULL) || audit_head(db, &head_id, head_hash, e) ||
	    db_exec(db, e, SQL_audit_verify_cursor, 0, NULL))
		goto out;
	for (;;) {
		PGresult *res = db_query(db, e, SQL_audit_verify_fetch, 0, NULL);
		if (!res)
			goto out;
		int n = PQntuples(res);
		for (int i = 0; i < n; i++) {
			struct audit_entry en = {
				.id = strtoll(PQgetvalue(res, i, 0), NULL, 10), .at = PQgetvalue(res, i, 1),
				.actor = PQgetvalue(res, i, 2), .kind = PQgetvalue(res, i, 3),
				.entity = PQgetvalue(res, i, 4), .payload = PQgetvalue(res, i, 5),
				.prev_hash = PQgetvalue(res, i, 6), .hash = PQgetvalue(res, i, 7),
			};
			if (check_entry(&en, prev_id, prev_hash, e)) {
				r->bad_id = en.id > prev_id + 1 ? prev_id + 1 : en.id;
				PQclear(res);
				goto out;
			}
			if (en.id == expect_id) {
				expect_seen = 1;
				if (strcmp(en.hash, expect_hash) != 0) {
					r->bad_id = en.id;
					err_set(e, ERR_INPUT, "audit entry %lld is not the entry recorded outside the "
						"database: its hash differs", (long long)en.id);
					err_detail(e, "expected %s, the log has %s", expect_hash, en.hash);
					PQclear(res);
					goto out;
				}
			}
			prev_id = en.id;
			snprintf(prev_hash, sizeof(prev_hash), "%s", en.hash);
			r->entries++;
		}
		PQclear(res);
		if (n == 0)
			break;
	}
	if (expect_id > 0 && !expect_seen) {
		r->bad_id = prev_id + 1;
		err_set(e, ERR_INPUT, "audit entry %lld is missing: the log ends at entry %lld", (long long)expect_id,
			(long long)prev_id);
		goto out;
	}
	if (head_id != prev_id || strcmp(head_hash, prev_hash) != 0) {
		r->bad_id = prev_id < head_id ? prev_id + 1 : head_id ? head_id : 1;
		err_set(e, ERR_INPUT, "the audit chain head names entry %lld, but the log ends at entry %lld",
			(long long)head_id, (long long)prev_id);
		err_detail(e, "head hash %s, last entry's hash %s", head_hash, prev_hash);
		err_hint(e, head_id > prev_id ? "entries at the end of the log were deleted"
					      : "the head row (table audit_head) was changed");
		goto out;
	}
	r->head_id = prev_id;
	snprintf(r->head_hash, sizeof(r->head_hash), "%s", prev_hash);
	rc = 0;
out:
	db_rollback(db);
	return rc;
}
