/*
 * rates.h - the rate card: plans with their charges, taxes and extra
 * currencies, loaded from the libconfig rules file (conf/rates.conf is the
 * documented example; jobs/RATING.md describes every key).
 *
 * Loading checks the whole card: an unknown key, a wrong type, a price
 * that is not an exact decimal string, badly ordered tiers, an unknown
 * currency or meter are ERR_CONFIG errors naming FILE:LINE and the key.
 * The `meters` list belongs to ingest (jobs/meters.h); the loader only
 * reads its names, to check that each usage charge names a declared meter,
 * and its `label` and `unit`, which each charge of the meter keeps for the
 * invoice (a label or unit that is not a string is an error here too).
 * Dates are local calendar dates "YYYY-MM-DD" in the account's time zone.
 */
#ifndef BILLRUN_RATES_H
#define BILLRUN_RATES_H

#include "charge.h"

struct err;

#define RATES_ID_MAX 64
#define RATES_DATE_LEN 11 /* "YYYY-MM-DD" + NUL; "" = not set */

struct rate_charge {
	char id[RATES_ID_MAX];         /* unique within its plan version */
	char meter[128];               /* usage models; "" otherwise */
	char tax_group[RATES_ID_MAX];  /* default "standard" */
	char effective_from[RATES_DATE_LEN];
	char effective_to[RATES_DATE_LEN];   /* exclusive; "" = open */
	int prorate;                   /* recurring and minimum: 1 (default) */
	/* The customer's words (RATING.md, "Words on the invoice"): the
	 * charge's `label`, else its meter's; "" = none (the invoice falls
	 * back to the meter's or the charge's name). unit: usage charges'
	 * `unit`, else the meter's (a word only: quantities are never
	 * converted). show_zero: print a usage line whose quantity and
	 * amount are zero (the charge's key, else the plan's; default 0). */
	char label[128];
	char unit[64];
	int show_zero;
	int line;                      /* in the rules file */
	struct charge_def def;
};

/* One version of a plan: a plan id may appear several times with
 * different effective_from dates; the latest one not after a date is in
 * force on that date. */
struct rate_plan {
	char id[RATES_ID_MAX];
	char name[128];
	char currency[4];
	char effective_from[RATES_DATE_LEN];
	int show_zero;                 /* the charges' default for show_zero */
	int line;
	int ncharges;
	struct rate_charge *charges;
};

struct rate_tax {
	char jurisdiction[RATES_ID_MAX];
	char group[RATES_ID_MAX];     /* the charges' tax_group it applies to */
	char name[128];               /* "VAT", "USt", ... for invoices */
	struct dec rate;              /* 0.19 for 19 % */
	char effective_from[RATES_DATE_LEN];
	int line;
};

struct rate_currency {
	char code[4];
	int exponent;
};

struct rate_card {
	char source[512];    /* the file name (or the name given for a text) */
	int nplans;
	struct rate_plan *plans;
	int ntaxes;
	struct rate_tax *taxes;
	int ncurrencies;
	struct rate_currency *currencies;
};

/*
 * Load and check a rate card from a file, or from text (a stored rule
 * version) shown in errors as `name`. On success the card owns its memory
 * (rates_release). On error returns -1 with e set (ERR_IO when the file
 * cannot be read, ERR_CONFIG otherwise); the card is released.
 */
int rates_load_file(struct rate_card *card, const char *path, struct err *e);
int rates_load_text(struct rate_card *card, const char *text, const char *name, struct err *e);
void rates_release(struct rate_card *card);

/* Is there any version of plan id? */
int rates_plan_known(const struct rate_card *card, const char *id);

/* The version of plan id in force on local date (YYYY-MM-DD), or NULL. */
const struct rate_plan *rates_plan_at(const struct rate_card *card, const char *id, const char *date);

/* Is the charge in force on date (effective_from <= date < effective_to)?
 * Usage charges and `prorate = false` charges are judged this way on the
 * segment's first day; prorated recurring and minimum charges are billed
 * for the part of a segment their dates cover (jobs/rate.c; RATING.md, "A
 * charge's own dates"). */
int rates_charge_in_force(const struct rate_charge *c, const char *date);

/* The tax rate of jurisdiction and group in force on date, or NULL. */
const struct rate_tax *rates_tax_at(const struct rate_card *card, const char *jurisdiction, const char *group,
				    const char *date);

/* The minor-unit exponent of a currency: the card's `currencies` first,
 * then ISO 4217; -1 if neither knows it. */
int rates_currency_exponent(const struct rate_card *card, const char *code);

/* Is text a real calendar date written YYYY-MM-DD? */
int rates_date_valid(const char *text);

#endif
