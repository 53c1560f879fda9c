/*
 * err.c - filling struct err and mapping error kinds to exit statuses.
 * The table below is the only place an error becomes an exit code.
 */
#include "err.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	int status;
} kinds[ERR__COUNT] = {
	[ERR_NONE] = { "none", EXIT_OK },
	[ERR_USAGE] = { "usage", EXIT_USAGE },
	[ERR_INPUT] = { "input", EXIT_DATAERR },
	[ERR_DB_UNAVAILABLE] = { "db_unavailable", EXIT_UNAVAILABLE },
	[ERR_INTERNAL] = { "internal", EXIT_SOFTWARE },
	[ERR_IO] = { "io", EXIT_IOERR },
	[ERR_TEMPFAIL] = { "tempfail", EXIT_TEMPFAIL },
	[ERR_PERMISSION] = { "permission", EXIT_NOPERM },
	[ERR_CONFIG] = { "config", EXIT_CONFIG },
	[ERR_DB] = { "db", EXIT_SOFTWARE },
	[ERR_STEPS_FAILED] = { "steps_failed", EXIT_STEPS_FAILED },
	[ERR_NOT_FOUND] = { "not_found", EXIT_DATAERR },
};

void err_clear(struct err *e)
{
	if (!e)
		return;
	e->kind = ERR_NONE;
	e->message[0] = e->detail[0] = e->hint[0] = e->sqlstate[0] = '\0';
}

int err_set(struct err *e, enum err_kind kind, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -1;
	err_clear(e);
	e->kind = kind;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return -1;
}

int err_detail(struct err *e, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -1;
	va_start(ap, fmt);
	vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
	va_end(ap);
	return -1;
}

int err_hint(struct err *e, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -1;
	va_start(ap, fmt);
	vsnprintf(e->hint, sizeof(e->hint), fmt, ap);
	va_end(ap);
	return -1;
}

int err_prefix(struct err *e, const char *fmt, ...)
{
	char prefix[ERR_MSG_MAX], old[ERR_MSG_MAX];
	va_list ap;

	if (!e)
		return -1;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, e->message, sizeof(old));
	snprintf(e->message, sizeof(e->message), "%s%s", prefix, old);
	return -1;
}

int err_exit_status(enum err_kind kind)
{
	if ((int)kind < 0 || kind >= ERR__COUNT)
		return EXIT_SOFTWARE;
	return kinds[kind].status;
}

const char *err_kind_name(enum err_kind kind)
{
	if ((int)kind < 0 || kind >= ERR__COUNT)
		return "unknown";
	return kinds[kind].name;
}

int err_is_retryable(const struct err *e)
{
	if (!e)
		return 0;
	if (e->kind == ERR_TEMPFAIL || e->kind == ERR_DB_UNAVAILABLE)
		return 1;
	if (!e->sqlstate[0])
		return 0;
	if (strncmp(e->sqlstate, "08", 2) == 0)
		return 1;
	return strcmp(e->sqlstate, "40001") == 0 || strcmp(e->sqlstate, "40P01") == 0 ||
	       strcmp(e->sqlstate, "57P01") == 0 || strcmp(e->sqlstate, "57P02") == 0 ||
	       strcmp(e->sqlstate, "57P03") == 0;
}
