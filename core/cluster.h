/*
 * cluster.h - the embedded PostgreSQL cluster and connecting by config.
 *
 * With no database.dsn, billrun keeps a private cluster under
 * STATE_DIR/pgdata, listening on a unix socket in STATE_DIR/run only
 * (listen_addresses is empty), created on first use. Run as root, the
 * cluster's processes run as database.embedded.user. pg_ctl detaches the
 * server, so it outlives a billrun crash; `billrun db stop` stops it.
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

/* Stop the embedded cluster (fast mode). Not running is not an error. */
int cluster_stop(const struct config *cfg, struct err *e);

/* 1 if the server behind the owner DSN answers, 0 if not. */
int cluster_running(const struct config *cfg);

/*
 * Connect as role: the embedded cluster is started first when needed.
 * For DB_ROLE_APP: database.app_dsn when set, else the owner DSN followed
 * by SET ROLE billrun_app. Returns a handle the caller frees (db_free), or
 * NULL with e set.
 */
struct db *cluster_connect(const struct config *cfg, enum db_role role, struct err *e);

/* The PostgreSQL server binaries folder (database.embedded.bindir, else the
 * newest /usr/lib/postgresql/N/bin). -1 with e set if none is found. */
int cluster_bindir(const struct config *cfg, char *buf, size_t size, struct err *e);

#endif
