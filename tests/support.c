/*
 * support.c - test helpers (see support.h).
 */
#include "support.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *test_pg_dsn(void)
{
	const char *d = getenv("TEST_PG_DSN");
	return d && *d ? d : NULL;
}

int test_db_fresh(const char *name, char *dsn, size_t size)
{
	const char *base = test_pg_dsn();
	if (!base) {
		fprintf(stderr, "TEST_PG_DSN is not set\n");
		return -1;
	}
	PGconn *c = PQconnectdb(base);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "cannot connect to TEST_PG_DSN: %s", PQerrorMessage(c));
		PQfinish(c);
		return -1;
	}
	static const char quiet[] = "SET client_min_messages = warning";
	PQclear(PQexec(c, quiet));
	char sql[512];
	/* Test database names are our own identifiers, never data. */
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
	PQclear(PQexec(c, sql));
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
	PGresult *r = PQexec(c, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		fprintf(stderr, "create database %s: %s", name, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	/* In a keyword/value DSN a later keyword overrides an earlier one. */
	snprintf(dsn, size, "%s dbname=%s", base, name);
	return ok ? 0 : -1;
}

int test_tmpdir(char *buf, size_t size)
{
	snprintf(buf, size, "/tmp/billrun-test.XXXXXX");
	return mkdtemp(buf) ? 0 : -1;
}

int test_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f) == 0 ? 0 : -1;
}

static int capture(char *out, size_t size, char *const argv[])
{
	int pipefd[2];
	if (pipe(pipefd) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(pipefd[0]);
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		close(pipefd[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pipefd[1]);
	size_t n = 0;
	ssize_t got;
	char sink[4096];
	while ((got = read(pipefd[0], n + 1 < size ? out + n : sink,
			   n + 1 < size ? size - n - 1 : sizeof(sink))) > 0)
		if (n + 1 < size)
			n += (size_t)got;
	out[n] = '\0';
	close(pipefd[0]);
	int status;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int test_billrun(char *out, size_t size, const char *const *args)
{
	const char *bin = getenv("BILLRUN_BIN");
	char *argv[64];
	int n = 0;
	argv[n++] = (char *)(bin ? bin : "./billrun");
	for (; args[n - 1] && n < 63; n++)
		argv[n] = (char *)args[n - 1];
	argv[n] = NULL;
	return capture(out, size, argv);
}

int test_sh(char *out, size_t size, const char *command)
{
	char *argv[] = { "/bin/sh", "-c", (char *)command, NULL };
	return capture(out, size, argv);
}

const char *test_src(const char *rel)
{
	static char buf[8][4096];
	static int next;
	const char *src = getenv("BILLRUN_SRC");
	char *b = buf[next++ % 8];
	snprintf(b, sizeof(buf[0]), "%s/%s", src ? src : ".", rel);
	return b;
}

int test_billrun_conf(char *out, size_t size, const char *conf, ...)
{
	const char *args[32] = { "-c", conf };
	int n = 2;
	va_list ap;
	va_start(ap, conf);
	while (n < 31 && (args[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	args[n] = NULL;
	return test_billrun(out, size, args);
}

int test_spawn_billrun(const char *conf, ...)
{
	char *argv[32];
	const char *bin = getenv("BILLRUN_BIN");
	int n = 0;
	argv[n++] = (char *)(bin ? bin : "./billrun");
	argv[n++] = "-c";
	argv[n++] = (char *)conf;
	va_list ap;
	va_start(ap, conf);
	while (n < 31 && (argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	return (int)pid;
}

/* Format and run one statement; a result other than `want` (or, with
 * `also`, that) fails the test, naming the statement. */
static PGresult *run_checked(void *conn, ExecStatusType want, ExecStatusType also, const char *fmt, va_list ap)
{
	char text[16384];
	vsnprintf(text, sizeof(text), fmt, ap);
	PGresult *r = PQexec(conn, text);
	if (PQresultStatus(r) != want && PQresultStatus(r) != also) {
		fprintf(stderr, "statement failed: %s\n%s", text, PQerrorMessage(conn));
		PQclear(r);
		fail();
	}
	return r;
}

long long test_q_int(void *conn, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	PGresult *r = run_checked(conn, PGRES_TUPLES_OK, PGRES_TUPLES_OK, fmt, ap);
	va_end(ap);
	long long v = PQntuples(r) && !PQgetisnull(r, 0, 0) ? atoll(PQgetvalue(r, 0, 0)) : -1;
	PQclear(r);
	return v;
}

double test_time_scale(void)
{
	const char *v = getenv("TEST_TIME_SCALE");
	char *end;
	double scale = v && *v ? strtod(v, &end) : 1;
	if (v && *v && (*end || !(scale >= 1 && scale <= 1000))) {
		fprintf(stderr, "TEST_TIME_SCALE='%s' is not a factor from 1 to 1000\n", v);
		exit(1);
	}
	return scale;
}

const char *test_secs(double seconds)
{
	static char buf[8][32];
	static int next;
	char *b = buf[next++ % 8];
	snprintf(b, sizeof(buf[0]), "%g", seconds * test_time_scale());
	return b;
}

int test_wait_for(void *conn, long long want, const char *sql)
{
	int polls = (int)(400 * test_time_scale());
	for (int i = 0; i < polls; i++) {
		if (test_q_int(conn, "%s", sql) == want)
			return 1;
		usleep(50000);
	}
	return 0;
}

int test_write_config(const char *path, const char *dir, const char *dsn, const char *rules,
		      const char *extra, const char *dags)
{
	size_t size = strlen(dags) + strlen(extra ? extra : "") + 4096;
	char *text = malloc(size);
	if (!text)
		return -1;
	snprintf(text, size,
		 "state_dir = \"%s/state\";\n"
		 "database = { dsn = \"%s\"; connect_retries = 0; };\n"
		 "rules = { file = \"%s\"; };\n"
		 "%s\n%s\n"
		 "dags = {\n%s\n};\n",
		 dir, dsn, rules, extra && strstr(extra, "ingest = {") ? "" : "ingest = { settle_time = \"0s\"; };",
		 extra ? extra : "", dags);
	int rc = test_write_file(path, text);
	free(text);
	return rc;
}

void test_sql(void *conn, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	PQclear(run_checked(conn, PGRES_COMMAND_OK, PGRES_TUPLES_OK, fmt, ap));
	va_end(ap);
}

const char *test_q_text(void *conn, const char *fmt, ...)
{
	static char buf[8][8192];
	static int next;
	va_list ap;
	va_start(ap, fmt);
	PGresult *r = run_checked(conn, PGRES_TUPLES_OK, PGRES_TUPLES_OK, fmt, ap);
	va_end(ap);
	char *b = buf[next++ % 8];
	if (PQntuples(r) == 0)
		b[0] = '\0';
	else
		snprintf(b, sizeof(buf[0]), "%s", PQgetisnull(r, 0, 0) ? "NULL" : PQgetvalue(r, 0, 0));
	PQclear(r);
	return b;
}
