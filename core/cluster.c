/*
 * cluster.c - create, start and stop billrun's private PostgreSQL cluster,
 * and open connections by config for each role.
 */
#include "cluster.h"
#include "cfg.h"
#include "db.h"
#include "err.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define EMBEDDED_SUPERUSER "billrun"
#define EMBEDDED_DB "billrun"

int cluster_embedded(const struct config *cfg)
{
	return !cfg->db_dsn || !*cfg->db_dsn;
}

static void paths(const struct config *cfg, char *data, char *sock, char *logf, size_t size)
{
	if (data)
		snprintf(data, size, "%s/pgdata", cfg->state_dir);
	if (sock)
		snprintf(sock, size, "%s/run", cfg->state_dir);
	if (logf)
		snprintf(logf, size, "%s/log/postgresql.log", cfg->state_dir);
}

/* The socket folder as a quoted libpq value: ' and \ escaped, so that any
 * state_dir gives a DSN libpq can parse. */
static void socket_value(const struct config *cfg, char *buf, size_t size)
{
	char sock[4096];
	size_t n = 0;

	paths(cfg, NULL, sock, NULL, sizeof(sock));
	buf[n++] = '\'';
	for (const char *p = sock; *p && n + 3 < size; p++) {
		if (*p == '\'' || *p == '\\')
			buf[n++] = '\\';
		buf[n++] = *p;
	}
	buf[n++] = '\'';
	buf[n] = '\0';
}

void cluster_dsn(const struct config *cfg, char *buf, size_t size)
{
	char sock[8200];

	if (!cluster_embedded(cfg)) {
		snprintf(buf, size, "%s", cfg->db_dsn);
		return;
	}
	socket_value(cfg, sock, sizeof(sock));
	snprintf(buf, size, "host=%s port=%lld user=%s dbname=%s connect_timeout=10", sock,
		 (long long)cfg->db_embedded_port, EMBEDDED_SUPERUSER, EMBEDDED_DB);
}

int cluster_bindir(const struct config *cfg, char *buf, size_t size, struct err *e)
{
	if (cfg->db_pg_bindir && *cfg->db_pg_bindir) {
		snprintf(buf, size, "%s", cfg->db_pg_bindir);
		return 0;
	}
	DIR *d = opendir("/usr/lib/postgresql");
	int best = -1;
	if (d) {
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			int v = atoi(de->d_name);
			char probe[512];
			snprintf(probe, sizeof(probe), "/usr/lib/postgresql/%s/bin/initdb", de->d_name);
			if (v > best && access(probe, X_OK) == 0)
				best = v;
		}
		closedir(d);
	}
	if (best < 0) {
		err_set(e, ERR_DB_UNAVAILABLE, "no PostgreSQL server binaries found under '/usr/lib/postgresql'");
		return err_hint(e, "install postgresql-15 (make deps), set database.embedded.bindir, or set database.dsn");
	}
	snprintf(buf, size, "/usr/lib/postgresql/%d/bin", best);
	return 0;
}

/* The uid/gid the cluster runs as: the configured user when we are root,
 * else ourselves (PostgreSQL refuses to run as root). */
static int cluster_user(const struct config *cfg, uid_t *uid, gid_t *gid, struct err *e)
{
	if (geteuid() != 0) {
		*uid = geteuid();
		*gid = getegid();
		return 0;
	}
	struct passwd *pw = getpwnam(cfg->db_embedded_user);
	if (!pw) {
		err_set(e, ERR_CONFIG, "database.embedded.user '%s' does not exist", cfg->db_embedded_user);
		return err_hint(e, "PostgreSQL refuses to run as root; create the user or name another one");
	}
	if (pw->pw_uid == 0)
		return err_set(e, ERR_CONFIG, "database.embedded.user '%s' is root; PostgreSQL refuses to run as root",
			       cfg->db_embedded_user);
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

static int make_dir(const char *path, mode_t mode, uid_t uid, gid_t gid, struct err *e)
{
	char tmp[4096];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
			return err_set(e, ERR_IO, "could not create directory '%s': %s", tmp, strerror(errno));
		*p = '/';
	}
	if (mkdir(path, mode) != 0 && errno != EEXIST)
		return err_set(e, ERR_IO, "could not create directory '%s': %s", path, strerror(errno));
	if (geteuid() == 0 && chown(path, uid, gid) != 0)
		return err_set(e, ERR_IO, "could not hand directory '%s' to the cluster user: %s", path,
			       strerror(errno));
	return 0;
}

/* Run argv as the cluster user with output appended to logf; return its
 * exit status, or -1 if it could not be started. */
static int run_as(uid_t uid, gid_t gid, const char *logf, char *const argv[])
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(logf, O_WRONLY | O_CREAT | O_APPEND, 0640);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, 0);
		if (geteuid() == 0) {
			if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
				_exit(126);
		}
		/* The server must not inherit the runner's process group, so that
		 * killing a step's group or the runner never reaches it. */
		setsid();
		execv(argv[0], argv);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int cluster_running(const struct config *cfg)
{
	char dsn[4200];
	cluster_dsn(cfg, dsn, sizeof(dsn));
	return PQping(dsn) == PQPING_OK;
}

static int create_database(const struct config *cfg, struct err *e)
{
	char sock[8200], dsn[8400];

	socket_value(cfg, sock, sizeof(sock));
	snprintf(dsn, sizeof(dsn), "host=%s port=%lld user=%s dbname=postgres", sock,
		 (long long)cfg->db_embedded_port, EMBEDDED_SUPERUSER);
	struct db *db = db_connect_key(dsn, "the embedded cluster", 10, e);
	if (!db)
		return -1;
	int64_t n = 0;
	const char *params[] = { EMBEDDED_DB };
	int rc = db_query_int64(db, e, &n, "SELECT count(*) FROM pg_database WHERE datname = $1", 1, params);
	if (rc == 0 && n == 0)
		rc = db_exec(db, e, "CREATE DATABASE " EMBEDDED_DB, 0, NULL);
	db_free(db);
	return rc < 0 ? -1 : 0;
}

/* Does the embedded cluster exist (initdb ran)? */
static int cluster_exists(const struct config *cfg)
{
	char data[4096], version[4200];
	paths(cfg, data, NULL, NULL, sizeof(data));
	snprintf(version, sizeof(version), "%s/PG_VERSION", data);
	return access(version, F_OK) == 0;
}

/* Is a server process of the embedded cluster there (running, starting
 * or stopping)? */
static int cluster_has_postmaster(const struct config *cfg)
{
	char data[4096], pidfile[4200];
	paths(cfg, data, NULL, NULL, sizeof(data));
	snprintf(pidfile, sizeof(pidfile), "%s/postmaster.pid", data);
	return access(pidfile, F_OK) == 0;
}

/* The embedded cluster is not running (or not there): what to do. */
static int not_running_error(const struct config *cfg, struct err *e)
{
	char data[4096];
	paths(cfg, data, NULL, NULL, sizeof(data));
	if (!cluster_exists(cfg)) {
		err_set(e, ERR_CONFIG, "there is no embedded cluster in '%s' (database.dsn is not set)", data);
		return err_hint(e, "run 'billrun db migrate': it creates the cluster and the schema (or set database.dsn)");
	}
	err_set(e, ERR_DB_UNAVAILABLE, "the embedded cluster in '%s' is not running", data);
	return err_hint(e, "start it with 'billrun db start'; billrun starts it by itself only when a run, "
		       "resume or rerun begins");
}

int cluster_require_running(const struct config *cfg, struct err *e)
{
	if (!cluster_embedded(cfg) || cluster_has_postmaster(cfg))
		return 0;
	return not_running_error(cfg, e);
}

int cluster_start_existing(const struct config *cfg, struct err *e)
{
	if (!cluster_embedded(cfg) || cluster_running(cfg))
		return 0;
	if (!cluster_exists(cfg))
		return not_running_error(cfg, e);
	return cluster_start(cfg, e);
}

int cluster_start(const struct config *cfg, struct err *e)
{
	char data[4096], sock[4096], logf[4096], bindir[4096], prog[4200], version[4200], opts[8400];
	char logdir[4096], port[32];
	uid_t uid;
	gid_t gid;

	if (!cluster_embedded(cfg))
		return err_set(e, ERR_CONFIG, "database.dsn is set, so there is no embedded cluster to start");
	if (cluster_running(cfg))
		return create_database(cfg, e);
	if (cluster_user(cfg, &uid, &gid, e) || cluster_bindir(cfg, bindir, sizeof(bindir), e))
		return -1;
	paths(cfg, data, sock, logf, sizeof(data));
	snprintf(logdir, sizeof(logdir), "%s/log", cfg->state_dir);
	if (make_dir(cfg->state_dir, 0755, geteuid(), getegid(), e) ||
	    make_dir(sock, 0700, uid, gid, e) || make_dir(logdir, 0750, uid, gid, e))
		return -1;
	int fd = open(logf, O_WRONLY | O_CREAT | O_APPEND, 0640);
	if (fd < 0)
		return err_set(e, ERR_IO, "could not open server log '%s': %s", logf, strerror(errno));
	if (geteuid() == 0 && fchown(fd, uid, gid) != 0) {
		close(fd);
		return err_set(e, ERR_IO, "could not hand '%s' to the cluster user: %s", logf, strerror(errno));
	}
	close(fd);

	snprintf(version, sizeof(version), "%s/PG_VERSION", data);
	if (access(version, F_OK) != 0) {
		log_info("creating the embedded PostgreSQL cluster in '%s'", data);
		if (make_dir(data, 0700, uid, gid, e))
			return -1;
		snprintf(prog, sizeof(prog), "%s/initdb", bindir);
		char *argv[] = { prog, "-D", data, "-U", EMBEDDED_SUPERUSER, "-A", "trust", "-E", "UTF8",
				 "--locale=C.UTF-8", NULL };
		int rc = run_as(uid, gid, logf, argv);
		if (rc != 0) {
			err_set(e, ERR_DB_UNAVAILABLE, "could not create the embedded cluster in '%s' (initdb exited %d)",
				data, rc);
			err_detail(e, "see the server log '%s'", logf);
			if (geteuid() == 0)
				err_hint(e, "the cluster runs as '%s', who must be able to enter every folder above "
					    "state_dir (a clone under /root or a mktemp -d folder is private)",
					 cfg->db_embedded_user);
			return -1;
		}
	}
	snprintf(prog, sizeof(prog), "%s/pg_ctl", bindir);
	snprintf(port, sizeof(port), "%lld", (long long)cfg->db_embedded_port);
	/* Unix socket only: no TCP listener at all. fsync and synchronous_commit
	 * keep their defaults (on): a committed load survives a crash. The
	 * cluster has no standbys, so wal_level = minimal (max_wal_senders = 0):
	 * a COPY into a table created or truncated in the same transaction then
	 * skips the WAL and the table's file is synced at commit, so the load is
	 * as durable and atomic and writes its rows once ("Populating a
	 * Database" and "wal_level" in the PostgreSQL manual). A server with
	 * standbys needs wal_level = replica; billrun works the same there. */
	snprintf(opts, sizeof(opts),
		 "-c listen_addresses='' -k '%s' -p %s -c wal_level=minimal -c max_wal_senders=0", sock, port);
	char *argv[] = { prog, "-D", data, "-l", logf, "-w", "-t", "60", "-o", opts, "start", NULL };
	log_info("starting the embedded PostgreSQL cluster (socket in '%s')", sock);
	int rc = run_as(uid, gid, logf, argv);
	if (rc != 0) {
		err_set(e, ERR_DB_UNAVAILABLE, "could not start the embedded cluster in '%s' (pg_ctl exited %d)",
			data, rc);
		return err_detail(e, "see the server log '%s'", logf);
	}
	return create_database(cfg, e);
}

int cluster_stop(const struct config *cfg, struct err *e)
{
	char data[4096], logf[4096], bindir[4096], prog[4200], pidfile[4200];
	uid_t uid;
	gid_t gid;

	if (!cluster_embedded(cfg))
		return err_set(e, ERR_CONFIG, "database.dsn is set, so there is no embedded cluster to stop");
	paths(cfg, data, NULL, logf, sizeof(data));
	snprintf(pidfile, sizeof(pidfile), "%s/postmaster.pid", data);
	if (access(pidfile, F_OK) != 0)
		return 0;
	if (cluster_user(cfg, &uid, &gid, e) || cluster_bindir(cfg, bindir, sizeof(bindir), e))
		return -1;
	snprintf(prog, sizeof(prog), "%s/pg_ctl", bindir);
	char *argv[] = { prog, "-D", data, "-m", "fast", "-w", "stop", NULL };
	int rc = run_as(uid, gid, logf, argv);
	if (rc != 0 && access(pidfile, F_OK) == 0) {
		err_set(e, ERR_DB_UNAVAILABLE, "could not stop the embedded cluster in '%s' (pg_ctl exited %d)", data, rc);
		return err_detail(e, "see the server log '%s'", logf);
	}
	return 0;
}

struct db *cluster_connect(const struct config *cfg, enum db_role role, struct err *e)
{
	return cluster_connect_retries(cfg, role, (int)cfg->db_connect_retries, e);
}

struct db *cluster_connect_retries(const struct config *cfg, enum db_role role, int retries, struct err *e)
{
	char dsn[4200];

	/* Never started here: a cluster the operator stopped stays stopped
	 * (see cluster.h). Without a server process there is nothing to wait
	 * for; with one, db_connect's retries cover a start or a restart. */
	if (cluster_require_running(cfg, e))
		return NULL;
	if (role == DB_ROLE_APP && cfg->db_app_dsn && *cfg->db_app_dsn)
		return db_connect_key(cfg->db_app_dsn, "database.app_dsn", retries, e);
	cluster_dsn(cfg, dsn, sizeof(dsn));
	struct db *db = db_connect_key(dsn, cluster_embedded(cfg) ? "the embedded cluster" : "database.dsn",
				       retries, e);
	if (!db || role == DB_ROLE_OWNER)
		return db;
	const char *sql = role == DB_ROLE_APP ? "SET ROLE " DB_APP_ROLE : "SET ROLE " DB_AUDITOR_ROLE;
	if (db_exec(db, e, sql, 0, NULL)) {
		/* The role does not exist (22023, from SET's check of the value):
		 * no migration ever ran on this server. */
		if (strcmp(e->sqlstate, "22023") == 0 && strstr(e->message, "does not exist")) {
			err_set(e, ERR_CONFIG, "the database has no billrun schema (role '%s' does not exist)",
				role == DB_ROLE_APP ? DB_APP_ROLE : DB_AUDITOR_ROLE);
			snprintf(e->sqlstate, sizeof(e->sqlstate), "22023");
		}
		err_hint(e, "run 'billrun db migrate'");
		db_free(db);
		return NULL;
	}
	return db;
}

/* The server behind a DSN, for messages: its host (or socket folder) and
 * port, never its password. */
static void server_name(const char *dsn, char *buf, size_t size)
{
	PQconninfoOption *opts = PQconninfoParse(dsn, NULL);
	const char *host = NULL, *port = NULL;
	for (PQconninfoOption *o = opts; o && o->keyword; o++) {
		if (strcmp(o->keyword, "host") == 0 && o->val && *o->val)
			host = o->val;
		else if (strcmp(o->keyword, "hostaddr") == 0 && o->val && *o->val && !host)
			host = o->val;
		else if (strcmp(o->keyword, "port") == 0 && o->val && *o->val)
			port = o->val;
	}
	snprintf(buf, size, "'%s%s%s'", host ? host : "(libpq's default)", port ? " port " : "", port ? port : "");
	PQconninfoFree(opts);
}

void cluster_describe_loss(const struct config *cfg, const struct err *e, char *buf, size_t size)
{
	char dsn[4200], where[4400], data[4096];
	const char *why = "the connection broke";
	int app = cfg->db_app_dsn && *cfg->db_app_dsn;

	if (strcmp(e->sqlstate, "57P01") == 0)
		why = "administrator command";
	else if (strcmp(e->sqlstate, "57P02") == 0)
		why = "crash of another server process";
	else if (strcmp(e->sqlstate, "57P03") == 0)
		why = "it cannot accept connections now";
	if (app)
		snprintf(dsn, sizeof(dsn), "%s", cfg->db_app_dsn);
	else
		cluster_dsn(cfg, dsn, sizeof(dsn));
	if (cluster_embedded(cfg) && !app) {
		paths(cfg, data, NULL, NULL, sizeof(data));
		snprintf(where, sizeof(where), "the embedded cluster in '%s'", data);
	} else {
		char name[4300];
		server_name(dsn, name, sizeof(name));
		snprintf(where, sizeof(where), "the database server at %s", name);
	}
	/* Asked at once: a server that still answers ended only our session
	 * (pg_terminate_backend); one that does not has shut down. */
	switch (PQping(dsn)) {
	case PQPING_OK: snprintf(buf, size, "%s ended the runner's session (%s)", where, why); break;
	case PQPING_REJECT: snprintf(buf, size, "%s is shutting down (%s)", where, why); break;
	default: snprintf(buf, size, "%s shut down (%s)", where, why); break;
	}
}
