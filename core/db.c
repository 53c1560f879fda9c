/*
 * db.c - PostgreSQL access over libpq: connect with retry, parameterised
 * statements, transactions, COPY, and server errors carried into struct err.
 */
#include "db.h"
#include "err.h"
#include "log.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* The server refused who we are: a wrong or missing password, or no
 * pg_hba.conf entry. Not worth retrying, and not "the server is down". */
static int connect_refused(PGconn *conn)
{
	const char *m = PQerrorMessage(conn);
	return strstr(m, "authentication failed") || strstr(m, "no pg_hba.conf entry") ||
	       strstr(m, "no password supplied") || strstr(m, "password is required");
}

/* The server has no such role (SQLSTATE 28000 too): the login is refused
 * as surely as a wrong password. */
static int connect_no_role(PGconn *conn)
{
	const char *m = PQerrorMessage(conn);
	const char *role = strstr(m, "role \"");
	return role && strstr(role, "\" does not exist");
}

/* Connection failures worth retrying: the server is starting, shutting
 * down or not there yet. A refused login or a missing database is not. */
static int connect_retryable(PGconn *conn)
{
	return !connect_refused(conn) && !connect_no_role(conn) && !strstr(PQerrorMessage(conn), "does not exist");
}

static void chomp(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
}

int db_dsn_check(const char *dsn, char *why, size_t size)
{
	char *msg = NULL;
	PQconninfoOption *opts = PQconninfoParse(dsn ? dsn : "", &msg);
	if (opts) {
		PQconninfoFree(opts);
		return 0;
	}
	/* libpq quotes a fragment of the text it could not take ("missing
	 * \"=\" after \"...\""), which may be part of a password. */
	int secret = dsn && (strstr(dsn, "password") || strstr(dsn, "://"));
	size_t n = 0;
	int quoted = 0;
	for (const char *p = msg ? msg : "out of memory"; *p && n + 4 < size; p++) {
		if (*p == '\n')
			break;
		/* "=" is libpq's own word ("missing \"=\" after"), not the DSN's. */
		if (secret && !quoted && strncmp(p, "\"=\"", 3) == 0) {
			memcpy(why + n, p, 3);
			n += 3;
			p += 2;
			continue;
		}
		if (secret && *p == '"' && !quoted) {
			quoted = 1;
			memcpy(why + n, "\"...", 4);
			n += 4;
			continue;
		}
		if (quoted && *p == '"')
			quoted = 0;
		if (!quoted)
			why[n++] = *p;
	}
	why[n] = '\0';
	PQfreemem(msg);
	return -1;
}

struct db *db_connect(const char *dsn, int retries, struct err *e)
{
	return db_connect_key(dsn, "database.dsn", retries, e);
}

/* Fill e for a connection that failed and is not retried. */
static void connect_error(PGconn *conn, const char *key, struct err *e)
{
	if (connect_refused(conn) || connect_no_role(conn)) {
		err_set(e, ERR_PERMISSION, "the database refused the login of %s", key);
		if (connect_no_role(conn))
			err_hint(e, "the user %s names is not a role of the server: create it (CREATE ROLE ... LOGIN) or "
				    "name another user in %s", key, key);
		else
			err_hint(e, "check the user and password of %s (or the PGPASSFILE it uses) and the server's "
				    "pg_hba.conf", key);
	} else {
		err_set(e, ERR_DB_UNAVAILABLE, "could not connect to the database of %s", key);
		err_hint(e, "check %s, or that the server is running ('billrun db start' for the embedded one)", key);
	}
	err_detail(e, "%s", PQerrorMessage(conn));
	chomp(e->detail);
	snprintf(e->sqlstate, sizeof(e->sqlstate), "%s", e->kind == ERR_PERMISSION ? "28000" : "08001");
}

struct db *db_connect_key(const char *dsn, const char *key, int retries, struct err *e)
{
	long delay = 200;
	char why[256];

	/* A connection string libpq cannot read is not worth retrying. */
	if (db_dsn_check(dsn, why, sizeof(why))) {
		err_set(e, ERR_CONFIG, "libpq cannot parse %s: %s", key, why);
		err_hint(e, "fix %s ('billrun check-config' checks it); values with spaces or quotes are "
			       "written in single quotes, with \\' and \\\\ inside", key);
		return NULL;
	}
	for (int attempt = 0;; attempt++) {
		PGconn *conn = PQconnectdb(dsn ? dsn : "");
		if (PQstatus(conn) == CONNECTION_OK) {
			struct db *db = calloc(1, sizeof(*db));
			if (!db) {
				PQfinish(conn);
				err_set(e, ERR_INTERNAL, "out of memory");
				return NULL;
			}
			db->conn = conn;
			PQsetNoticeProcessor(conn, NULL, NULL);
			/* JIT compilation costs seconds on the set-based statements of
			 * the billing steps (estimates of set-returning functions are
			 * large) and saves nothing at these sizes. */
			PGresult *r = PQexec(conn, "SET client_min_messages = warning; SET jit = off");
			PQclear(r);
			return db;
		}
		int again = attempt < retries && connect_retryable(conn);
		if (!again) {
			connect_error(conn, key, e);
			PQfinish(conn);
			return NULL;
		}
		PQfinish(conn);
		log_debug("database not reachable, retrying in %ld ms", delay);
		sleep_ms(delay);
		if (delay < 5000)
			delay *= 2;
	}
}

void db_free(struct db *db)
{
	if (!db)
		return;
	PQfinish(db->conn);
	free(db);
}

int db_ok(const struct db *db)
{
	return db && PQstatus(db->conn) == CONNECTION_OK;
}

/* Why the server ended a session, when libpq has only its FATAL text (a
 * session that was idle when the server sent it): its SQLSTATE, else
 * 08006 (the connection broke). */
static const char *lost_state(struct db *db)
{
	static const struct {
		const char *text, *state;
	} reasons[] = {
		{ "terminating connection due to administrator command", "57P01" },
		{ "terminating connection due to immediate shutdown command", "57P01" },
		{ "terminating connection because of crash of another server process", "57P02" },
		{ "the database system is shutting down", "57P03" },
	};
	const char *m = PQerrorMessage(db->conn);
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strstr(m, reasons[i].text))
			return reasons[i].state;
	return "08006";
}

int db_error_from_result(struct db *db, const PGresult *res, struct err *e, const char *what)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	enum err_kind kind = ERR_DB;

	if (!e)
		return -1;
	if (primary)
		err_set(e, kind, "%s failed: %s", what, primary);
	else {
		err_set(e, kind, "%s failed: %s", what, PQerrorMessage(db->conn));
		chomp(e->message);
	}
	/* An error without SQLSTATE is libpq's own. When the server went away
	 * while the connection was idle, sending the next statement fails
	 * ("server closed the connection unexpectedly") with the connection
	 * still CONNECTION_OK: reading from it tells (and marks it bad). */
	if (!state && PQstatus(db->conn) == CONNECTION_OK)
		PQconsumeInput(db->conn);
	if (PQstatus(db->conn) != CONNECTION_OK || (state && strncmp(state, "08", 2) == 0) ||
	    (state && strncmp(state, "57P0", 4) == 0))
		e->kind = kind = ERR_DB_UNAVAILABLE;
	if (res) {
		const char *d = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
		const char *h = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
		if (d)
			err_detail(e, "%s", d);
		if (h)
			err_hint(e, "%s", h);
	}
	if (state)
		snprintf(e->sqlstate, sizeof(e->sqlstate), "%s", state);
	else if (kind == ERR_DB_UNAVAILABLE)
		snprintf(e->sqlstate, sizeof(e->sqlstate), "%s", lost_state(db));
	return -1;
}

/* A short name for a statement, for messages: its first line. */
static void statement_name(const char *sql, char *buf, size_t size)
{
	while (*sql == ' ' || *sql == '\n' || *sql == '\t')
		sql++;
	/* Skip a leading comment line that names the statement's file. */
	if (strncmp(sql, "-- ", 3) == 0) {
		sql += 3;
		size_t n = strcspn(sql, "\n");
		snprintf(buf, size, "statement '%.*s'", (int)n, sql);
		return;
	}
	size_t n = strcspn(sql, "\n");
	if (n > 60)
		n = 60;
	snprintf(buf, size, "statement '%.*s'", (int)n, sql);
}

PGresult *db_query(struct db *db, struct err *e, const char *sql, int nparams,
		   const char *const *params)
{
	PGresult *res = PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return res;
	char what[128];
	statement_name(sql, what, sizeof(what));
	db_error_from_result(db, res, e, what);
	PQclear(res);
	return NULL;
}

int db_exec(struct db *db, struct err *e, const char *sql, int nparams, const char *const *params)
{
	PGresult *res = db_query(db, e, sql, nparams, params);
	if (!res)
		return -1;
	PQclear(res);
	return 0;
}

int db_exec_script(struct db *db, struct err *e, const char *sql)
{
	PGresult *res = PQexec(db->conn, sql);
	ExecStatusType st = PQresultStatus(res);
	int rc = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY)
		rc = db_error_from_result(db, res, e, "script");
	PQclear(res);
	return rc;
}

int db_query_int64(struct db *db, struct err *e, int64_t *out, const char *sql, int nparams,
		   const char *const *params)
{
	PGresult *res = db_query(db, e, sql, nparams, params);
	if (!res)
		return -1;
	if (PQntuples(res) < 1 || PQgetisnull(res, 0, 0)) {
		PQclear(res);
		return 1;
	}
	*out = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}

int db_begin(struct db *db, struct err *e)
{
	if (db_exec(db, e, "BEGIN", 0, NULL))
		return -1;
	db->in_tx = 1;
	return 0;
}

int db_commit(struct db *db, struct err *e)
{
	db->in_tx = 0;
	return db_exec(db, e, "COMMIT", 0, NULL);
}

void db_rollback(struct db *db)
{
	if (!db || !db->in_tx)
		return;
	db->in_tx = 0;
	PGresult *res = PQexec(db->conn, "ROLLBACK");
	PQclear(res);
}

int db_pipeline_begin(struct db *db, struct err *e)
{
	if (PQenterPipelineMode(db->conn) != 1)
		return db_error_from_result(db, NULL, e, "pipeline");
	db->pipeline_sent = 0;
	db->pipeline_first_sql = NULL;
	return 0;
}

int db_pipeline_send(struct db *db, struct err *e, const char *sql, int nparams,
		     const char *const *params)
{
	if (PQsendQueryParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0) != 1 ||
	    PQflush(db->conn) != 0) {
		char what[128];
		statement_name(sql, what, sizeof(what));
		db_error_from_result(db, NULL, e, what);
		/* A send fails when the server has closed the session; the reason
		 * it sent first (57P01 for a shutdown) is among the results libpq
		 * still holds for the statements sent before. */
		PGresult *res;
		for (int n = 0; PQstatus(db->conn) != CONNECTION_OK && n <= db->pipeline_sent * 2 + 2 &&
				(res = PQgetResult(db->conn)) != NULL; n++) {
			if (e && strcmp(e->sqlstate, "08006") == 0 && PQresultErrorField(res, PG_DIAG_SQLSTATE))
				db_error_from_result(db, res, e, what);
			PQclear(res);
		}
		return -1;
	}
	if (!db->pipeline_sent++)
		db->pipeline_first_sql = sql;
	return 0;
}

/* What a failed pipeline is called in its error message (only then: the
 * runner ends one every turn). */
static const char *pipeline_what(const struct db *db, char *buf, size_t size)
{
	char first[128];
	if (!db->pipeline_first_sql) {
		snprintf(buf, size, "pipeline of %d statements", db->pipeline_sent);
		return buf;
	}
	statement_name(db->pipeline_first_sql, first, sizeof(first));
	snprintf(buf, size, "pipeline of %d statements (first %s)", db->pipeline_sent, first);
	return buf;
}

int db_pipeline_end(struct db *db, struct err *e)
{
	int rc = 0, nulls = 0;
	char what[160];

	if (PQpipelineSync(db->conn) != 1)
		rc = db_error_from_result(db, NULL, e, pipeline_what(db, what, sizeof(what)));
	/* Each statement's results end with a NULL, the pipeline with the
	 * sync's result. A broken connection ends the reading early, but only
	 * after the results libpq still holds: among them, the server's reason
	 * for ending the session (57P01 for a shutdown), which the failed sync
	 * or send did not know. */
	for (;;) {
		PGresult *res = PQgetResult(db->conn);
		if (!res) {
			if (PQstatus(db->conn) != CONNECTION_OK || ++nulls > db->pipeline_sent) {
				if (rc == 0)
					rc = db_error_from_result(db, NULL, e, pipeline_what(db, what, sizeof(what)));
				break;
			}
			continue;
		}
		ExecStatusType st = PQresultStatus(res);
		/* The first failure, or a later one that says why the server
		 * ended the session (when the first only says it broke). */
		int why = res && PQresultErrorField(res, PG_DIAG_SQLSTATE) && e && strcmp(e->sqlstate, "08006") == 0;
		if (st != PGRES_PIPELINE_SYNC && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_PIPELINE_ABORTED &&
		    (rc == 0 || why))
			rc = db_error_from_result(db, res, e, pipeline_what(db, what, sizeof(what)));
		else if (st == PGRES_PIPELINE_ABORTED && rc == 0)
			rc = db_error_from_result(db, NULL, e, pipeline_what(db, what, sizeof(what)));
		PQclear(res);
		if (st == PGRES_PIPELINE_SYNC)
			break;
	}
	PQexitPipelineMode(db->conn);
	db->pipeline_sent = 0;
	db->pipeline_first_sql = NULL;
	return rc;
}

int db_copy_begin(struct db *db, struct err *e, const char *copy_sql)
{
	PGresult *res = PQexec(db->conn, copy_sql);
	if (PQresultStatus(res) != PGRES_COPY_IN) {
		char what[128];
		statement_name(copy_sql, what, sizeof(what));
		db_error_from_result(db, res, e, what);
		PQclear(res);
		return -1;
	}
	PQclear(res);
	return 0;
}

int db_copy_put(struct db *db, struct err *e, const char *buf, size_t len)
{
	if (PQputCopyData(db->conn, buf, (int)len) != 1)
		return db_error_from_result(db, NULL, e, "COPY");
	return 0;
}

int db_copy_end(struct db *db, struct err *e)
{
	int rc = 0;

	if (PQputCopyEnd(db->conn, NULL) != 1)
		return db_error_from_result(db, NULL, e, "COPY");
	PGresult *res;
	while ((res = PQgetResult(db->conn)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == 0)
			rc = db_error_from_result(db, res, e, "COPY");
		PQclear(res);
	}
	return rc;
}

/* Binary COPY format: see PostgreSQL's COPY documentation, "Binary Format". */
static void copybuf_grow(struct copybuf *b, size_t extra)
{
	if (b->len + extra <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 65536;
	while (cap < b->len + extra)
		cap *= 2;
	char *p = realloc(b->data, cap);
	if (!p)
		abort(); /* out of memory in a buffer the caller flushes in chunks */
	b->data = p;
	b->cap = cap;
}

static void put(struct copybuf *b, const void *p, size_t n)
{
	copybuf_grow(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void copybuf_header(struct copybuf *b)
{
	static const char sig[11] = "PGCOPY\n\377\r\n\0";
	uint32_t zero = 0;
	put(b, sig, 11);
	put(b, &zero, 4);
	put(b, &zero, 4);
}

void copybuf_row(struct copybuf *b, int16_t nfields)
{
	uint16_t n = htons((uint16_t)nfields);
	put(b, &n, 2);
}

void copybuf_null(struct copybuf *b)
{
	uint32_t n = htonl(0xffffffffu);
	put(b, &n, 4);
}

void copybuf_int64(struct copybuf *b, int64_t v)
{
	uint32_t len = htonl(8);
	uint64_t u = (uint64_t)v;
	uint32_t hi = htonl((uint32_t)(u >> 32)), lo = htonl((uint32_t)u);
	put(b, &len, 4);
	put(b, &hi, 4);
	put(b, &lo, 4);
}

void copybuf_int32(struct copybuf *b, int32_t v)
{
	uint32_t len = htonl(4), u = htonl((uint32_t)v);
	put(b, &len, 4);
	put(b, &u, 4);
}

void copybuf_text(struct copybuf *b, const char *s, size_t len)
{
	uint32_t n = htonl((uint32_t)len);
	put(b, &n, 4);
	put(b, s, len);
}

void copybuf_trailer(struct copybuf *b)
{
	uint16_t t = htons(0xffff);
	put(b, &t, 2);
}

void copybuf_reset(struct copybuf *b)
{
	b->len = 0;
}

void copybuf_release(struct copybuf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
