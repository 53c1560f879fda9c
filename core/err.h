/*
 * err.h - the error value every fallible billrun function fills.
 *
 * A function that can fail returns 0 on success or a negative value and fills
 * a caller-provided struct err (message, detail, hint, SQLSTATE). Only main()
 * turns an error into a process exit status, through err_exit_status(), the
 * single table that maps error kinds to sysexits(3) codes.
 */
#ifndef BILLRUN_ERR_H
#define BILLRUN_ERR_H

#include <stdarg.h>

/* What kind of failure; decides the exit status and whether a retry helps. */
enum err_kind {
	ERR_NONE = 0,
	ERR_USAGE,          /* bad command line                      -> 64 */
	ERR_INPUT,          /* bad input data                        -> 65 */
	ERR_DB_UNAVAILABLE, /* database could not be reached         -> 69 */
	ERR_INTERNAL,       /* a bug or an unexpected library result -> 70 */
	ERR_IO,             /* a file could not be read or written   -> 74 */
	ERR_TEMPFAIL,       /* try again later (lock held, retryable)-> 75 */
	ERR_PERMISSION,     /* not allowed                           -> 77 */
	ERR_CONFIG,         /* bad configuration                     -> 78 */
	ERR_DB,             /* a database statement failed           -> 70 */
	ERR_STEPS_FAILED,   /* a run ended with failed steps         -> 3  */
	ERR_NOT_FOUND,      /* a named object does not exist         -> 65 */
	ERR__COUNT
};

#define ERR_MSG_MAX 512

struct err {
	enum err_kind kind;
	char message[ERR_MSG_MAX];  /* lowercase, says what failed first */
	char detail[ERR_MSG_MAX];   /* optional: more facts */
	char hint[ERR_MSG_MAX];     /* optional: what the operator can do */
	char sqlstate[6];           /* five-character SQLSTATE, or "" */
};

/* Reset to "no error". Never fails. */
void err_clear(struct err *e);

/*
 * Fill e with kind and a printf-style message; clears detail, hint and
 * sqlstate. Returns -1 so callers can write `return err_set(e, ...);`.
 * e may be NULL, in which case nothing is recorded.
 */
int err_set(struct err *e, enum err_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Set detail or hint on an error already set. Return -1. */
int err_detail(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int err_hint(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Prefix the message with context, e.g. "step 'rate': " + old message.
 * Returns -1.
 */
int err_prefix(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The sysexits(3) status for an error kind: the one table. */
int err_exit_status(enum err_kind kind);

/* A short stable name for a kind ("config", "db_unavailable", ...). */
const char *err_kind_name(enum err_kind kind);

/*
 * True when an error is worth retrying: a temporary failure, a lost
 * connection (SQLSTATE class 08, 57P01-57P03) or a serialization failure
 * (40001, 40P01).
 */
int err_is_retryable(const struct err *e);

/* Documented exit statuses (sysexits.h values plus billrun's own). */
enum {
	EXIT_OK = 0,
	EXIT_STEPS_FAILED = 3,
	EXIT_USAGE = 64,
	EXIT_DATAERR = 65,
	EXIT_UNAVAILABLE = 69,
	EXIT_SOFTWARE = 70,
	EXIT_IOERR = 74,
	EXIT_TEMPFAIL = 75,
	EXIT_NOPERM = 77,
	EXIT_CONFIG = 78
};

#endif
