/*
 * ingest.h - the ingest step: files from the spool into usage, quarantine
 * and ingest_files, one transaction per file (see jobs/README.md).
 *
 * Configuration: spool.dir, spool.processed_dir, spool.keep_in_place,
 * ingest.time_min, ingest.time_max, ingest.max_field_length and the
 * `sources` list (name, format, pattern, account_column, meter_column,
 * meter_prefix, meter, key_column, time_zone, credit_meters,
 * schema_change). When ctx->rules_file is set, the rate card's meters are
 * synchronised into table meters first (meters.h).
 *
 * Files are taken in name order (byte order). Each one is read, checked
 * and loaded in one transaction together with its ingest_files row; after
 * the commit it is moved to the processed folder (with its control file)
 * unless keep_in_place. A file whose SHA-256 was ingested before is
 * skipped (and moved, when it is still in the spool), so a redo after a
 * crash at any point neither loses nor doubles anything. The last
 * transaction of the step only carries its done mark.
 */
#ifndef BILLRUN_INGEST_H
#define BILLRUN_INGEST_H

#include "job.h"

extern const struct job job_ingest;

/*
 * Test hook: when this variable holds a number N, the process _exit()s
 * (status 99) right after reading record N of a file, as a crash in the
 * middle of a file would. Only the crash-safety tests set it.
 */
#define INGEST_CRASH_ENV "BILLRUN_INGEST_CRASH_AFTER"

#endif
