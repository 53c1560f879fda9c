/*
 * meters.h - the meters usage is measured in: read from the rate card's
 * `meters` list into table meters, and loaded back for validation.
 *
 * The rate card (rules.file) is a libconfig file; ingest owns its
 * `meters` list and ignores the other top-level groups (plans, taxes...,
 * the rating step's):
 *
 *   meters = ( { name = "voice_seconds"; aggregation = "sum";
 *                round_increment = "60"; unit = "s"; }, ... );
 *
 * Keys of a meter: name (required, ^[a-z][a-z0-9_.-]*$, unique),
 * aggregation (required: sum, count, max, unique_count, latest),
 * unique_attribute (required for unique_count, refused otherwise),
 * round_increment (a positive decimal as a string, or an integer),
 * allow_credit (boolean: negative quantities allowed), unit (string: the
 * word the invoice prints with its quantities, never a conversion), label
 * (string: what the invoice calls its lines; jobs/rates.c keeps both with
 * each charge, jobs/RATING.md "Words on the invoice"), charge_categories (a list of FOCUS ChargeCategory values, Usage,
 * Purchase, Tax, Credit, Adjustment, any case, each once: the records
 * the meter counts; default ["Usage"]). Any other key is an error naming
 * the file and line.
 */
#ifndef BILLRUN_METERS_H
#define BILLRUN_METERS_H

#include "strset.h"

#include <stddef.h>

struct db;
struct err;

/*
 * Parse rules_file's meters list and make table meters equal to it:
 * upsert each meter, delete the ones no longer listed. Runs inside the
 * caller's open transaction. Returns the number of meters, or -1 with e
 * set: ERR_CONFIG "FILE:LINE: ..." for a bad list, ERR_DB when a
 * statement fails (for example a meter still referenced elsewhere).
 */
int meters_sync(struct db *db, const char *rules_file, struct err *e);

/* Flags a meter carries in a meter_set. */
enum { METER_ALLOW_CREDIT = 1 };

/* The known meters, by name. */
struct meter_set {
	struct strset names;   /* payload: METER_* flags */
};

/* Load table meters. Returns 0, or -1 with e set. meter_set_release()
 * is safe after a failure. */
int meter_set_load(struct meter_set *m, struct db *db, struct err *e);
void meter_set_release(struct meter_set *m);

/* 1 and *flags if name[0..len) is a known meter, else 0. */
int meter_set_find(const struct meter_set *m, const char *name, size_t len, int *flags);

#endif
