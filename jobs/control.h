/*
 * control.h - control files: the counts and totals a sender puts beside a
 * data file (FILE.ctl), and the totals ingest reads, to compare the two.
 *
 * Format: one statement per line, '#' starts a comment, blank lines are
 * ignored, words are separated by blanks:
 *
 *   records 120000                 the number of records in the data file
 *   sha256 9f86d08...              the SHA-256 of the data file (hex)
 *   quantity voice_seconds 8125.5  the quantity total of one meter
 *   cost 1520.30997000001          the cost total (FOCUS BilledCost)
 *
 * Every statement is optional, each may appear once (quantity once per
 * meter). Meters are named as ingest stores them (after meter_prefix and
 * mapping). Only what the file states is compared.
 */
#ifndef BILLRUN_CONTROL_H
#define BILLRUN_CONTROL_H

#include "dec.h"
#include "reader.h"
#include "strset.h"

#include <stddef.h>
#include <stdint.h>

struct err;

/* Quantity totals per meter; distinct meters past a cap are summed
 * under "(other)" so that memory stays bounded whatever the file holds. */
#define METER_TOTALS_MAX 1000

struct meter_total {
	char *name;
	struct dec sum;
	int64_t records;
	int overflow;     /* the sum passed 38 digits: not comparable */
};

struct meter_totals {
	struct strset index;   /* payload: position in items */
	struct meter_total *items;
	size_t n, cap;
	size_t last;           /* the item added to last: files mostly repeat a meter */
};

void meter_totals_init(struct meter_totals *t);
void meter_totals_release(struct meter_totals *t);
/* Add q to meter's total. Never fails (allocation failure aborts). */
void meter_totals_add(struct meter_totals *t, const char *meter, size_t len, struct dec q);
/* The totals as a JSON object {"meter": "sum", ...} appended to b. */
void meter_totals_json(const struct meter_totals *t, struct textbuf *b);

struct control_file {
	int has_records;
	int64_t records;
	int has_sha256;
	char sha256[65];
	int has_cost;
	struct dec cost;
	struct meter_totals quantities;
};

/*
 * Read and check a control file. Returns 0, or -1 with e set: ERR_IO when
 * it cannot be read, ERR_INPUT "FILE:LINE: ..." for a bad statement.
 * control_release() is safe after a failure.
 */
int control_read(const char *path, struct control_file *c, struct err *e);
void control_release(struct control_file *c);

/* What ingest read from the data file, to compare with. */
struct control_actual {
	int64_t records;
	const char *sha256;
	const struct meter_totals *quantities;
	int has_cost;
	struct dec cost;
};

/*
 * Compare; append one line per difference to detail ("records: control
 * 100, read 99"). Returns 1 when everything stated matches, else 0.
 */
int control_compare(const struct control_file *c, const struct control_actual *a, struct textbuf *detail);

/* What the control file stated, as a JSON object appended to b. */
void control_json(const struct control_file *c, struct textbuf *b);

#endif
