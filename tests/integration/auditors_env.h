/*
 * auditors_env.h - the setting of the auditors' package tests (included by
 * test_audit.c, test_archive.c, test_xbrl.c and test_export.c): a fresh
 * database per test with every migration applied, a temporary folder with
 * a config file, an owner (superuser) connection for setting up, tampering
 * and checking, and helpers to run billrun and shell commands.
 */
#ifndef BILLRUN_AUDITORS_ENV_H
#define BILLRUN_AUDITORS_ENV_H

#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

static char env_dsn[1024];
static char env_dir[256];
static char env_conf[600];
static char env_rules[600];
static PGconn *owner;
static char out[262144];
static int env_counter;

/* Not every test program uses every helper. */
#define ENV_HELPER static __attribute__((unused))

#define NEED_PG()                       \
	do {                            \
		if (!test_pg_dsn())     \
			skip();         \
	} while (0)

#define q_int(...) test_q_int(owner, __VA_ARGS__)
#define sql(...) test_sql(owner, __VA_ARGS__)
#define q_text(...) test_q_text(owner, __VA_ARGS__)
#define billrun(...) test_billrun_conf(out, sizeof(out), env_conf, __VA_ARGS__, NULL)


/* A statement expected to fail: returns its SQLSTATE ("" if it did not fail). */
ENV_HELPER const char *sql_fails(PGconn *conn, const char *text)
{
	static char state[8];
	PGresult *r = PQexec(conn, text);
	ExecStatusType st = PQresultStatus(r);
	const char *s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	snprintf(state, sizeof(state), "%s", st == PGRES_FATAL_ERROR && s ? s : "");
	PQclear(r);
	return state;
}


/* Run a shell command (in env_dir); output in out. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
ENV_HELPER int sh(const char *fmt, ...)
{
	char cmd[8192], full[8400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "cd '%s' && %s", env_dir, cmd);
	return test_sh(out, sizeof(out), full);
}

#define SH_OK(...)                                                              \
	do {                                                                    \
		if (sh(__VA_ARGS__) != 0)                                       \
			fail_msg("shell command failed: %s", out);              \
	} while (0)

ENV_HELPER void expect_output(const char *needle)
{
	if (!strstr(out, needle))
		fail_msg("output lacks '%s':\n%s", needle, out);
}

/* (Re)write the config: the shared part, `extra` settings, the DAGs. */
ENV_HELPER void env_config(const char *extra, const char *dags)
{
	if (test_write_config(env_conf, env_dir, env_dsn, env_rules, extra, dags))
		fail_msg("cannot write %s", env_conf);
}

/* Create database name as a copy of template (dropping it first). */
static int env_copy_database(const char *name, const char *template_name)
{
	PGconn *c = PQconnectdb(test_pg_dsn());
	if (PQstatus(c) != CONNECTION_OK) {
		PQfinish(c);
		return -1;
	}
	char text[512];
	PQclear(PQexec(c, "SET client_min_messages = warning"));
	/* Test database names are our own identifiers, never data. */
	snprintf(text, sizeof(text), "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
	PQclear(PQexec(c, text));
	snprintf(text, sizeof(text), "CREATE DATABASE %s TEMPLATE %s", name, template_name);
	PGresult *r = PQexec(c, text);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		fprintf(stderr, "%s: %s", text, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return ok ? 0 : -1;
}

/*
 * A fresh database named PREFIX_N for each test: a copy of PREFIX_template,
 * which the billrun binary migrates once per test program (migrating
 * every test's database would cost most of the test's time).
 */
static int env_setup(const char *prefix)
{
	static int template_ready;
	char name[64], template_name[64];

	if (!test_pg_dsn())
		return 0;
	if (test_tmpdir(env_dir, sizeof(env_dir)))
		return -1;
	snprintf(env_conf, sizeof(env_conf), "%s/billrun.conf", env_dir);
	snprintf(env_rules, sizeof(env_rules), "%s/rates.conf", env_dir);
	if (test_write_file(env_rules, "meters = ();\n"))
		return -1;
	snprintf(template_name, sizeof(template_name), "%s_template", prefix);
	if (!template_ready) {
		if (test_db_fresh(template_name, env_dsn, sizeof(env_dsn)) ||
		    test_write_config(env_conf, env_dir, env_dsn, env_rules, "", ""))
			return -1;
		if (billrun("db", "migrate") != 0) {
			fprintf(stderr, "%s", out);
			return -1;
		}
		template_ready = 1;
	}
	snprintf(name, sizeof(name), "%s_%d", prefix, ++env_counter);
	if (env_copy_database(name, template_name))
		return -1;
	snprintf(env_dsn, sizeof(env_dsn), "%s dbname=%s", test_pg_dsn(), name);
	owner = PQconnectdb(env_dsn);
	if (PQstatus(owner) != CONNECTION_OK)
		return -1;
	PQclear(PQexec(owner, "SET client_min_messages = warning"));
	if (test_write_config(env_conf, env_dir, env_dsn, env_rules, "",
			      "x = { steps = ( { name = \"a\"; exec = \"true\"; } ); };"))
		return -1;
	return 0;
}

static int env_teardown(void)
{
	if (owner)
		PQfinish(owner);
	owner = NULL;
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", env_dir);
	test_sh(out, sizeof(out), cmd);
	return 0;
}

#endif
