/*
 * progress.h - progress reporting for long steps (ingest, rate, invoice).
 *
 * A step says what it is counting and, when it knows it, how many there
 * are; then it reports how many are done as it goes:
 *
 *     progress_start("rating accounts", naccounts);   // 0 = total unknown
 *     for (...) { ...; progress_update(++done); }
 *     progress_finish();
 *
 * progress_update() is cheap (a clock read) and may be called per record.
 * It logs an INFO line (through log.h, so it carries the run and step) at
 * most every interval and at least on the first update after the interval
 * has passed: done, total and percentage when known, the rate per second
 * and an estimate of the time left. When stderr is a terminal it also
 * keeps a carriage-return progress line up to date (a few times a second),
 * cleared before each log line and at the end.
 *
 * The state is per process: the runner forks one process per attempt, so
 * each step has its own. One progress is active at a time; a new
 * progress_start() finishes the previous one silently. Nothing here fails
 * or allocates.
 */
#ifndef BILLRUN_PROGRESS_H
#define BILLRUN_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

/* How often a log line is written while updates come in. */
#define PROGRESS_LOG_INTERVAL_MS 10000

/* Begin counting `name` (copied; "records", "rating accounts"), out of
 * total items, or 0 when the total is not known. */
void progress_start(const char *name, int64_t total);

/* done items so far (absolute, not an increment). */
void progress_update(int64_t done);

/* Log the closing line (items, time taken, overall rate) and clear the
 * terminal line. Does nothing when no progress is active. */
void progress_finish(void);

/*
 * For tests and tools: a clock returning milliseconds (NULL: the monotonic
 * clock), the log interval (0: PROGRESS_LOG_INTERVAL_MS), and where the
 * terminal line goes (NULL: stderr when isatty(2), else no terminal line).
 */
void progress_configure(int64_t (*clock_ms)(void), int64_t interval_ms, FILE *tty);

/* Format a duration in milliseconds for people: "850ms", "42s", "5m12s",
 * "3h05m", "2d04h". Writes into buf; never fails. */
void progress_format_duration(int64_t ms, char *buf, size_t size);

#endif
