/*
 * cluster.h - the embedded PostgreSQL cluster and connecting by config.
 *
 * With no database.dsn, billrun keeps a private cluster under
 * STATE_DIR/pgdata, listening on a unix socket in STATE_DIR/run only
 * (listen_addresses is empty). Run as root, the cluster's processes run
 * as database.embedded.user. pg_ctl detaches the server, so it outlives a
 * billrun crash; `billrun db stop` stops it.
 *
 * Who may create or start it, so that a deliberate stop holds:
 * - cluster_start (`db start`, `db migrate`): creates it (initdb) when it
 *   does not exist, and starts it;
 * - cluster_start_existing (`run`, `resume`, `rerun`, once, at their
 *   start): starts it when it exists and is stopped, never creates one;
 * - cluster_connect (everything else, and a runner's steps and its
 *   reconnections during a run): neither; a stopped cluster is an error.
 */
#ifndef BILLRUN_CLUSTER_H
#define BILLRUN_CLUSTER_H

#include <stddef.h>

struct config;
struct err;
struct db;

/* Roles a connection acts as. The owner runs migrations; the application
 * role runs billing steps and cannot rewrite history; the auditor reads. */
enum db_role { DB_ROLE_OWNER, DB_ROLE_APP, DB_ROLE_AUDITOR };

#define DB_APP_ROLE "billrun_app"
#define DB_AUDITOR_ROLE "billrun_auditor"

/* Is the embedded cluster in use (no database.dsn)? */
int cluster_embedded(const struct config *cfg);

/* The owner DSN: database.dsn, or the embedded cluster's. Never fails. */
void cluster_dsn(const struct config *cfg, char *buf, size_t size);

/*
 * Create (initdb) the embedded cluster if it does not exist, start it if
 * it is not running, and create the billrun database. Idempotent. Fails
 * with ERR_DB_UNAVAILABLE naming the server log when PostgreSQL would not
 * start, or ERR_CONFIG when database.dsn is set (nothing to start).
 */
int cluster_start(const struct config *cfg, struct err *e);

/*
 * For a runner at its start: start the embedded cluster if it exists and
 * is not running. Nothing to do with database.dsn set or the cluster
 * running. Never creates one: with no cluster under state_dir, ERR_CONFIG
 * with the hint to run 'billrun db migrate'. Else as cluster_start.
 */
int cluster_start_existing(const struct config *cfg, struct err *e);

/* 0 when database.dsn is set or the embedded cluster has a server
 * process; else the error cluster_connect gives. Starts nothing. */
int cluster_require_running(const struct config *cfg, struct err *e);

/* Stop the embedded cluster (fast mode). Not running is not an error. */
int cluster_stop(const struct config *cfg, struct err *e);

/* 1 if the server behind the owner DSN answers, 0 if not. */
int cluster_running(const struct config *cfg);

/*
 * Connect as role. For DB_ROLE_APP: database.app_dsn when set, else the
 * owner DSN followed by SET ROLE billrun_app. The embedded cluster is
 * never started here: when it has no server process, ERR_DB_UNAVAILABLE
 * at once (hint 'billrun db start'), or ERR_CONFIG when it does not exist
 * (hint 'billrun db migrate'). A database without billrun's roles is
 * ERR_CONFIG (no schema; hint 'billrun db migrate'); the errors of
 * db_connect_key otherwise, naming database.app_dsn or database.dsn.
 * Returns a handle the caller frees (db_free), or NULL with e set.
 */
struct db *cluster_connect(const struct config *cfg, enum db_role role, struct err *e);

/* cluster_connect with `retries` instead of database.connect_retries (a
 * runner reconnecting makes its own). */
struct db *cluster_connect_retries(const struct config *cfg, enum db_role role, int retries, struct err *e);

/*
 * After a runner lost its connection with error e: who stopped what, for
 * the log, e.g. "the embedded cluster in '/var/lib/billrun/pgdata' shut
 * down (administrator command)" or "the database server at '/run/pg port
 * 5433' ended the runner's session (administrator command)", from the
 * server's SQLSTATE and whether it still answers. Never fails.
 */
void cluster_describe_loss(const struct config *cfg, const struct err *e, char *buf, size_t size);

/* The PostgreSQL server binaries folder (database.embedded.bindir, else the
 * newest /usr/lib/postgresql/N/bin). -1 with e set if none is found. */
int cluster_bindir(const struct config *cfg, char *buf, size_t size, struct err *e);

#endif
