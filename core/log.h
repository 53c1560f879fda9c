/*
 * log.h - one line per event on stderr, for journald or a terminal.
 *
 * Text form:  2026-11-22T03:00:01.123Z INFO  run=42 step=rate message key=value
 * JSON form:  {"ts":"...","level":"info","run":42,"step":"rate","msg":"..."}
 * The run id and step are process-wide context set by the runner (a step
 * attempt runs in its own forked process, so each child sets its own).
 * Logging never fails the caller: write errors are ignored.
 */
#ifndef BILLRUN_LOG_H
#define BILLRUN_LOG_H

#include <stdint.h>
#include <stdio.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Choose the form and the least level printed. Default: text, info. */
void log_setup(int json, enum log_level min_level);
int log_is_json(void);

/* Redirect output (tests); NULL restores stderr. */
void log_set_stream(FILE *stream);

/* Context printed with every line; run 0 / step NULL leaves it out.
 * The step string is copied. */
void log_set_run(int64_t run_id);
void log_set_step(const char *step);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

struct err;
/* Log an error with its detail and hint at LOG_ERROR. */
void log_err(const struct err *e);

/* Parse "debug", "info", "warn", "error"; -1 if unknown. */
int log_level_parse(const char *name, enum log_level *out);

#endif
