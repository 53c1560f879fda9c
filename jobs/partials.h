/*
 * partials.h - a file's usage partial sums, added up while the loader
 * streams its records (migration 023, jobs/README.md "Partial sums").
 *
 * One partial per account, meter, charge category and billing period of
 * the file's accepted records: the counts, the quantity sum as ingested
 * and after the per-record rounding, the largest rounded quantity, the
 * latest record, the cost and the currencies. The aggregate step adds up
 * partials instead of re-reading usage; the reconcile step compares them.
 * The definition is billrun_file_partials() in 023_usage_partials.sql,
 * which computes the same rows from the file's usage; ingest takes that
 * path whenever the loader cannot be exact (partials_exact() is 0):
 *   - a record outside every billing period loaded for its account (the
 *     periods around the run's, loaded once per step), or of an account
 *     that had no version when the step began;
 *   - a FOCUS ChargeCategory that is not one of Usage, Purchase, Tax,
 *     Credit, Adjustment in any letter case (initcap would name it);
 *   - a sum beyond the 38 digits of a dec;
 *   - and a file loaded in the staged mode (duplicates: the server decides
 *     which rows are inserted), where the caller does not use the loader's.
 * tests/integration/test_partials.c keeps both paths equal.
 *
 * Memory: one entry per partial of the current file (accounts x meters x
 * categories x periods in it), whatever the number of records.
 */
#ifndef BILLRUN_PARTIALS_H
#define BILLRUN_PARTIALS_H

#include "dec.h"
#include "reader.h"
#include "strset.h"

#include <stddef.h>
#include <stdint.h>

struct db;
struct err;

struct partial_account {
	char *name;
	int64_t *starts, *ends;    /* its billing periods, microseconds since 1970 UTC, ascending */
	int nperiods;
};

struct partial_meter {
	char *name;
	int has_increment;         /* meters.round_increment is set (and positive) */
	struct dec increment;
};

struct partial;                 /* one entry (partials.c) */

struct partials {
	struct strset account_ix;  /* name -> index into accounts */
	struct partial_account *accounts;
	size_t naccounts;
	struct strset meter_ix;    /* name -> index into meters */
	struct partial_meter *meters;
	size_t nmeters;

	/* the current file's partials: open addressing on a packed key */
	struct partial *slots;
	size_t cap, count;
	int exact;                 /* 0: the file's partials are left to the SQL path */
	char why[160];             /* and why */

	/* a one-entry cache: consecutive records of one account */
	const char *last_account;
	size_t last_account_len;
	int last_account_ix;
};

/*
 * Load the meters (name, round_increment) and, for every account with a
 * version that has begun, its billing periods overlapping the run's
 * period [period_start - 40 days, period_end + 2 days) (YYYY-MM-DD;
 * NULL: today's month). Returns 0, or -1 with e set.
 * partials_release() is safe after a failure.
 */
int partials_init(struct partials *p, struct db *db, const char *period_start, const char *period_end,
		  struct err *e);
void partials_release(struct partials *p);

/* Start a file: forget the previous one's partials. */
void partials_begin_file(struct partials *p);

/* Add an accepted record, inserted as usage row usage_id. Never fails:
 * what cannot be summed exactly turns partials_exact() to 0. */
void partials_add(struct partials *p, const struct usage_record *r, int64_t usage_id);

/* 1 when every record added so far is in the file's partials. */
int partials_exact(const struct partials *p);

/* COPY the file's partials into usage_partials, in the caller's
 * transaction. Returns the number of rows, or -1 with e set. */
int64_t partials_store(struct partials *p, struct db *db, int64_t file_id, int64_t run_id, struct err *e);

#endif
