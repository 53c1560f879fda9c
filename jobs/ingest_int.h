/*
 * ingest_int.h - what the ingest step's files share (ingest.c, the step;
 * ingest_config.c, its settings): the step's state for one run and the
 * sources it reads. Not for other modules: their interface is ingest.h.
 */
#ifndef BILLRUN_INGEST_INT_H
#define BILLRUN_INGEST_INT_H

#include "job.h"
#include "meters.h"
#include "partials.h"
#include "reader.h"
#include "strset.h"

#include <limits.h>
#include <stdint.h>

struct source {
	struct reader_settings rs;
	const char *pattern;
	struct strset credit;   /* credit_meters */
	int refuse_schema_change; /* schema_change = "refuse" (default "accept") */
};

struct ingest {
	struct job_ctx *ctx;
	struct db *db;
	char spool[PATH_MAX], processed[PATH_MAX];
	int keep;
	int64_t time_min, time_max;
	struct source *sources;
	int nsources;
	struct strset accounts;
	struct meter_set meters;
	struct partials partials;    /* the loader's partial sums (partials.h) */
	int partials_ready;          /* loaded when the first file is read */
	/* The last meter looked up: files mostly repeat a handful. */
	char last_meter[128];
	size_t last_meter_len;
	int last_meter_found, last_meter_flags;
	long long crash_after;
	int64_t settle_ms;     /* ingest.settle_time */
	int loaders;           /* ingest.loaders (1 with the crash hook) */
	/* for the closing line */
	int64_t files, skipped, records, accepted, quarantined, duplicates;
	int left;              /* files left in the spool for the next run */
	struct textbuf left_names;
};

/*
 * Fill in's settings from its ctx->cfg: the spool and processed folders,
 * keep_in_place, settle time, the time bounds and the `sources` list
 * (in->sources, in->nsources; each source's credit set initialised, so
 * the caller releases them and frees in->sources whether or not this
 * succeeded). Returns 0, or -1 with e set: ERR_CONFIG naming the file,
 * line and key of a bad entry (an unknown format, a source without a
 * name or pattern, a name used twice, a schema_change that is neither
 * accept nor refuse, a bad time bound...).
 */
int ingest_load_settings(struct ingest *in, struct err *e);

#endif
