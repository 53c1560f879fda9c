/*
 * period.h - the billing period a DAG run covers: one calendar day or one
 * calendar month, written as dates (start inclusive, end exclusive).
 * Per-account billing periods in the account's own time zone are the
 * rating code's business (done in PostgreSQL); this is the run's period.
 */
#ifndef BILLRUN_PERIOD_H
#define BILLRUN_PERIOD_H

#include <time.h>

struct err;

struct period {
	int month_kind;   /* 1 = month, 0 = day */
	int y, m, d;      /* first day */
	char start[11];   /* YYYY-MM-DD */
	char end[11];     /* YYYY-MM-DD, exclusive */
};

/* Parse "YYYY-MM-DD" (day; for month the day must be 01) or "YYYY-MM"
 * (month). Returns 0, or -1 with e set (ERR_USAGE). */
int period_parse(struct period *p, const char *kind, const char *text, struct err *e);

/* The last complete period before `now`, in the process's local time:
 * yesterday for a day DAG, last month for a month DAG. Never fails. */
void period_due(struct period *p, const char *kind, time_t now);

/* Make p the period that follows it. Never fails. */
void period_next(struct period *p);

/* Compare by start date: <0, 0, >0. */
int period_cmp(const struct period *a, const struct period *b);

/* Days since 1970-01-01 for a civil date (proleptic Gregorian). */
long period_days_from_civil(int y, int m, int d);

#endif
