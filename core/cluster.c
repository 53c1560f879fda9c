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

void cluster_dsn(const struct config *cfg, char *buf, size_t size)
{
	char sock[4096];

	if (!cluster_embedded(cfg)) {
		snprintf(buf, size, "%s", cfg->db_dsn);
		return;
	}
	paths(cfg, NULL, sock, NULL, sizeof(sock));
	snprintf(buf, size, "host='%s' port=%lld user=%s dbname=%s connect_timeout=10", sock,
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
	char sock[4096], dsn[4300];

	paths(cfg, NULL, sock, NULL, sizeof(sock));
	snprintf(dsn, sizeof(dsn), "host='%s' port=%lld user=%s dbname=postgres", sock,
		 (long long)cfg->db_embedded_port, EMBEDDED_SUPERUSER);
	struct db *db = db_connect(dsn, 10, e);
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
	/* Unix socket only: no TCP listener at all. */
	snprintf(opts, sizeof(opts), "-c listen_addresses='' -k '%s' -p %s", sock, port);
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
	char dsn[4200];

	if (cluster_embedded(cfg) && !cluster_running(cfg) && cluster_start(cfg, e))
		return NULL;
	if (role == DB_ROLE_APP && cfg->db_app_dsn && *cfg->db_app_dsn)
		return db_connect(cfg->db_app_dsn, (int)cfg->db_connect_retries, e);
	cluster_dsn(cfg, dsn, sizeof(dsn));
	struct db *db = db_connect(dsn, (int)cfg->db_connect_retries, e);
	if (!db || role == DB_ROLE_OWNER)
		return db;
	const char *sql = role == DB_ROLE_APP ? "SET ROLE " DB_APP_ROLE : "SET ROLE " DB_AUDITOR_ROLE;
	if (db_exec(db, e, sql, 0, NULL)) {
		err_hint(e, "has the schema been created? run 'billrun db migrate'");
		db_free(db);
		return NULL;
	}
	return db;
}
