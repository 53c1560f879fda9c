/*
 * metrics.h - Prometheus text-format files for node_exporter's textfile
 * collector: one file per DAG (billrun_DAG.prom in metrics.dir), replaced
 * atomically (written to a temporary name, then renamed) at the end of
 * each run.
 */
#ifndef BILLRUN_METRICS_H
#define BILLRUN_METRICS_H

#include <stdint.h>
#include <stdio.h>

struct config;
struct db;
struct err;

/* Write the metrics of run run_id (its steps' durations, attempts and
 * status; the run's status and duration; the DAG's SLA events; the run's
 * warnings by kind, billrun_run_warnings, read from the rows that hold
 * them through billrun_run_warnings() of migration 025). Returns 0, or
 * -1 with e set. */
int metrics_write_run(const struct config *cfg, struct db *db, int64_t run_id, struct err *e);

/* The same text to f (the archive puts a run's metrics into its bag).
 * 0, or -1 with e set; a failed write of f is the caller's to see. */
int metrics_render(struct db *db, int64_t run_id, FILE *f, struct err *e);

#endif
