/*
 * reconcile.h - the reconcile and quarantine steps: proving that what came
 * in is what is billed, and holding back the account periods where it is
 * not (jobs/RECONCILE.md explains the checks, tolerances, holds and drift).
 *
 * reconcile (after rate) compares, for the run and per account period:
 * control files with what was read, records read with what was stored,
 * accepted with aggregated quantities, aggregated with rated ones, and
 * FOCUS BilledCost with the chargeback total; each comparison is a row of
 * reconciliation_checks, and a failing one holds the account periods it
 * concerns (account_holds). It also flags tonight's quantities that drift
 * from recent nights. quarantine (after reconcile, before invoice) holds
 * what the run could not bill cleanly for other reasons (bad records,
 * held ratings, usage with no price) and writes quarantine.csv for
 * operations. Neither step fails because of what it finds: held accounts
 * are not invoiced, the others go on.
 */
#ifndef BILLRUN_RECONCILE_H
#define BILLRUN_RECONCILE_H

#include "dec.h"
#include "job.h"

#include <stdint.h>

struct config;
struct err;

extern const struct job job_reconcile;
extern const struct job job_quarantine;

/* The reconcile.* settings, checked. Thresholds are kept as the exact
 * decimal text they were given (SQL compares in numeric). */
struct reconcile_settings {
	char quantity_relative[DEC_STR_MAX];
	char quantity_absolute[DEC_STR_MAX];
	char amount_relative[DEC_STR_MAX];
	char amount_absolute[DEC_STR_MAX];
	int focus_cost;              /* compare FOCUS BilledCost with the chargeback total */
	int64_t drift_nights;        /* nights of history */
	int64_t drift_min_nights;    /* nights with usage needed before a pair is judged */
	char drift_sigmas[DEC_STR_MAX];
	int drift_hold;              /* a drift holds the account (else a warning) */
};

/*
 * Read and check the reconcile.* settings of cfg (NULL, or strings left
 * NULL, mean the documented defaults). Returns 0, or -1 with e set
 * (ERR_CONFIG naming the key) for a threshold that is not a non-negative
 * decimal, sigmas that are not positive, or drift_min_nights above
 * drift_nights.
 */
int reconcile_settings_load(const struct config *cfg, struct reconcile_settings *s, struct err *e);

/*
 * Run body(ctx, arg, e) inside one REPEATABLE READ transaction (jit off)
 * and commit it with the step's done mark. A serialization failure (the
 * runner marks the step running on the same row just after it forks the
 * attempt, which can be after our snapshot) rolls back and runs body
 * again, up to 3 times: body must start from nothing each time. Returns
 * 0, or -1 with e set (the transaction rolled back).
 */
int reconcile_step_tx(struct job_ctx *ctx, int (*body)(struct job_ctx *ctx, void *arg, struct err *e), void *arg,
		      struct err *e);

/* The name of the quarantine report in a run's output folder. */
#define QUARANTINE_REPORT_NAME "quarantine.csv"

#endif
