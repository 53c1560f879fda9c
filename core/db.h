/*
 * db.h - PostgreSQL access over libpq.
 *
 * Only parameters carry data: every statement is fixed text (from sql/,
 * embedded at build time) sent with PQexecParams. Failures fill struct err
 * with the server's message, detail, hint and SQLSTATE; a lost connection
 * is ERR_DB_UNAVAILABLE so the runner can retry it.
 */
#ifndef BILLRUN_DB_H
#define BILLRUN_DB_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

struct err;

struct db {
	PGconn *conn;
	int in_tx;
	int pipeline_sent;              /* statements sent in the open pipeline */
	const char *pipeline_first_sql; /* its first statement, for messages */
};

/*
 * Connect to dsn, retrying up to `retries` more times with a doubling
 * delay starting at 200 ms when the server is not reachable (not on a
 * wrong password). Returns a new handle owned by the caller (db_free), or
 * NULL with e set (ERR_DB_UNAVAILABLE).
 */
struct db *db_connect(const char *dsn, int retries, struct err *e);

/*
 * db_connect, naming in its errors the configuration key the DSN comes
 * from (db_connect says "database.dsn"). A DSN libpq cannot parse fails at
 * once with ERR_CONFIG; a login the server refuses (a wrong password, no
 * pg_hba.conf entry, a role it does not have) with ERR_PERMISSION, its
 * hint naming key; a server that cannot be reached, after the retries,
 * with ERR_DB_UNAVAILABLE.
 */
struct db *db_connect_key(const char *dsn, const char *key, int retries, struct err *e);

/*
 * Can libpq parse dsn (PQconninfoParse)? 0, or -1 with libpq's reason in
 * why (its first line; the fragments it quotes are left out when dsn may
 * hold a password, so that none shows). Never fails otherwise.
 */
int db_dsn_check(const char *dsn, char *why, size_t size);
void db_free(struct db *db);

/*
 * Run sql with nparams text parameters (NULL entries are SQL NULL).
 * Returns the result (caller PQclear()s it) for commands and queries that
 * succeeded, or NULL with e set.
 */
PGresult *db_query(struct db *db, struct err *e, const char *sql, int nparams,
		   const char *const *params);

/* Like db_query for statements whose result is not needed. */
int db_exec(struct db *db, struct err *e, const char *sql, int nparams,
	    const char *const *params);

/* Run a script of several statements with no parameters (migrations). */
int db_exec_script(struct db *db, struct err *e, const char *sql);

/* Convenience: first column of first row as int64 (-1 on error or no row,
 * with e set when it is an error; *found tells which when non-NULL). */
int db_query_int64(struct db *db, struct err *e, int64_t *out, const char *sql,
		   int nparams, const char *const *params);

int db_begin(struct db *db, struct err *e);
int db_commit(struct db *db, struct err *e);
/* Roll back if a transaction is open; never fails the caller. */
void db_rollback(struct db *db);

/*
 * A pipeline: statements sent one after the other without waiting for
 * their answers, which come together at the end, in one round trip.
 * db_pipeline_begin opens it; db_pipeline_send hands one statement to the
 * server at once (it starts working on it while the caller goes on);
 * db_pipeline_end waits for all the answers. Without a BEGIN of their
 * own, the statements of a pipeline are one transaction: they commit
 * together at db_pipeline_end, or none does (the first failure skips the
 * rest). Between begin and end no other call may use the connection. The
 * answers are read only at the end, so keep a pipeline to a few hundred
 * statements with small results. Each returns 0, or -1 with e set (for
 * db_pipeline_end, the first failure of any statement); after a failed
 * send the caller still calls db_pipeline_end, which always leaves
 * pipeline mode.
 */
int db_pipeline_begin(struct db *db, struct err *e);
int db_pipeline_send(struct db *db, struct err *e, const char *sql, int nparams,
		     const char *const *params);
int db_pipeline_end(struct db *db, struct err *e);

/*
 * COPY FROM STDIN. db_copy_begin runs the COPY statement; db_copy_put sends
 * a chunk (text or binary, as the statement says); db_copy_end finishes and
 * reports the server's verdict. On any error the COPY is over.
 */
int db_copy_begin(struct db *db, struct err *e, const char *copy_sql);
int db_copy_put(struct db *db, struct err *e, const char *buf, size_t len);
int db_copy_end(struct db *db, struct err *e);

/* Binary COPY helpers: append fields to a growable buffer. */
struct copybuf {
	char *data;
	size_t len, cap;
};
void copybuf_header(struct copybuf *b);
void copybuf_row(struct copybuf *b, int16_t nfields);
void copybuf_null(struct copybuf *b);
void copybuf_int64(struct copybuf *b, int64_t v);
void copybuf_int32(struct copybuf *b, int32_t v);
void copybuf_text(struct copybuf *b, const char *s, size_t len);
void copybuf_trailer(struct copybuf *b);
void copybuf_reset(struct copybuf *b);
void copybuf_release(struct copybuf *b);

/* Fill e from a failed result or connection (message, detail, hint, SQLSTATE).
 * Returns -1. */
int db_error_from_result(struct db *db, const PGresult *res, struct err *e, const char *what);

/* Is the connection still usable? */
int db_ok(const struct db *db);

#endif
