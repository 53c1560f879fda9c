/*
 * charge.h - the charge models and the money arithmetic of a rated line,
 * as pure functions over struct dec: no database, no configuration file,
 * no allocation. jobs/rate.c feeds them; tests/unit/test_charge.c checks
 * each model against amounts worked out by hand. jobs/RATING.md explains
 * the models, proration, rounding, tax and FX in prose.
 *
 * Every function returns 0, or -1 when a value does not fit a dec
 * (38 digits, scale 30): the caller reports that as bad input naming the
 * charge. Nothing here rounds except charge_line_round(), which rounds
 * each line exactly once.
 */
#ifndef BILLRUN_CHARGE_H
#define BILLRUN_CHARGE_H

#include "dec.h"

enum charge_model {
	CHARGE_PER_UNIT,   /* billable units x price */
	CHARGE_GRADUATED,  /* each tier prices the units that fall in it */
	CHARGE_VOLUME,     /* the tier the total falls in prices every unit */
	CHARGE_PACKAGE,    /* whole packages (rounded up) x package price */
	CHARGE_RECURRING,  /* a flat fee per period, prorated */
	CHARGE_MINIMUM     /* a minimum commitment on the plan's usage charges */
};

#define CHARGE_MAX_TIERS 32

/* A tier covers the units above the previous tier's up_to, up to and
 * including its own up_to; the last tier is unbounded. */
struct charge_tier {
	struct dec up_to;
	int unbounded;
	struct dec price;  /* per unit */
	struct dec flat;   /* once, when any unit falls in the tier (graduated)
	                      or when the total falls in it (volume); 0 = none */
};

/*
 * One charge of a plan. Invariants (checked by the rate-card loader):
 * tiers have strictly increasing positive up_to, the last one unbounded;
 * package_size > 0; free_units >= 0.
 */
struct charge_def {
	enum charge_model model;
	struct dec price;         /* per_unit: per unit; package: per package */
	struct dec amount;        /* recurring and minimum: per full period */
	struct dec package_size;  /* package */
	struct dec free_units;    /* usage models: units given free each period */
	int ntiers;
	struct charge_tier tiers[CHARGE_MAX_TIERS];
};

/* One step of a usage charge's computation, kept for `billrun explain`. */
struct charge_step {
	int tier;          /* 1-based tier number; 0 for untiered models */
	struct dec from;   /* units above this ... */
	struct dec to;     /* ... up to and including this (unless unbounded) */
	int unbounded;
	struct dec units;  /* units priced in this step (packages for package) */
	struct dec price;
	struct dec flat;
	struct dec amount; /* units x price + flat, exact */
};

struct charge_result {
	struct dec quantity;  /* as aggregated */
	struct dec free;      /* free units used (<= free_units) */
	struct dec billable;  /* quantity - free */
	struct dec packages;  /* package model: whole packages billed */
	int nsteps;
	struct charge_step steps[CHARGE_MAX_TIERS];
	struct dec amount;    /* exact, in the plan's currency, before proration,
	                         FX and rounding */
};

/* The model's name in rate cards ("per_unit", ...) and back; -1 if unknown. */
const char *charge_model_name(enum charge_model m);
int charge_model_parse(const char *name, enum charge_model *out);
/* Is it priced on a meter's quantity (per_unit, graduated, volume, package)? */
int charge_model_is_usage(enum charge_model m);

/*
 * Price `quantity` units with a usage model. Free units come off first
 * (never below zero). A negative quantity (a credit, for meters that
 * allow it) gets no free units and is priced linearly: at the first
 * tier's price for tiered models, and in whole packages away from zero
 * for the package model. Returns 0, or -1 on overflow or a non-usage
 * model.
 */
int charge_usage(const struct charge_def *c, struct dec quantity, struct charge_result *r);

/*
 * The exact rational value of a line: num / den. Proration, an inverse
 * FX rate and a minimum commitment's true-up all keep the value as a
 * fraction so that the line is rounded once, from the exact value.
 */
struct charge_fraction {
	struct dec num;
	struct dec den;  /* > 0 */
};

/* amount x part / whole (both >= 0, whole > 0): a fee prorated by the part
 * of the period covered. -1 on overflow or whole <= 0. */
int charge_prorate(struct charge_fraction *out, struct dec amount, struct dec part, struct dec whole);

/* Convert f to another currency: multiply by rate (inverse = 0) or divide
 * by it (inverse = 1, when only the opposite quote exists). rate > 0. */
int charge_convert(struct charge_fraction *f, struct dec rate, int inverse);

/* f - s (s already exact, e.g. the sum of rounded lines). */
int charge_subtract(struct charge_fraction *f, struct dec s);

/*
 * The exact value of f: to 20 decimals (exact whenever the value
 * terminates there, as it does unless proration or an inverse rate makes
 * it repeat), trailing zeros dropped but at least min_scale decimals kept
 * (so that 49 EUR reads 49.00).
 */
#define CHARGE_UNROUNDED_SCALE 20
int charge_exact(const struct charge_fraction *f, int min_scale, struct dec *out);

/*
 * Round the line once: *rounded to `exponent` decimals by mode, from the
 * exact fraction (never from an already rounded value); *unrounded as
 * charge_exact(f, exponent). Either output may be NULL.
 */
int charge_line_round(const struct charge_fraction *f, int exponent, enum dec_round mode,
		      struct dec *rounded, struct dec *unrounded);

/*
 * ISO 4217 minor-unit exponent of an active currency code (JPY 0, EUR 2,
 * KWD 3, CLF 4), or -1 if code is not an active ISO 4217 code.
 */
int currency_iso_exponent(const char *code);

#endif
