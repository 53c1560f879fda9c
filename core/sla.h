/*
 * sla.h - SLA deadlines: detected while a run is going, predicted from
 * history, raised exactly once, alerted through a command.
 *
 * A deadline ("sla" on a DAG or a step) is a duration after the run
 * started ("45m") or a wall-clock time in a named zone ("06:00
 * Europe/Berlin": the first such time after the run's scheduled start,
 * i.e. the day the period ends at the schedule's time of day). Deadlines
 * are stored when a run starts. Events (miss, predicted_miss) are unique
 * per DAG, period, step and kind in the database, so they are raised once
 * however often they are checked, by whichever process checks.
 */
#ifndef BILLRUN_SLA_H
#define BILLRUN_SLA_H

#include <stdint.h>
#include <stdio.h>

struct config;
struct dag;
struct dag_set;
struct db;
struct err;

/* What the monitor needs to know of a step; times are Unix milliseconds,
 * 0 when not known. */
struct sla_step_view {
	int terminal;        /* finished (success, failed, skipped, upstream_failed) */
	int running;
	int64_t started_ms;
	int64_t ended_ms;
};

/* A parsed deadline spec. */
struct sla_spec {
	int wall_clock;      /* 0: after_ms after the run started; 1: time of day in zone */
	int64_t after_ms;
	char time_of_day[16];/* "06:00" or "06:00:00" */
	char zone[64];       /* IANA name, or "" for the server's */
};

/* Parse "45m" / "1h30m" or "06:00 Europe/Berlin". -1 if neither; a zone
 * that /usr/share/zoneinfo does not know is an error too. */
int sla_spec_parse(const char *text, struct sla_spec *out);

struct sla_monitor;

/*
 * Open the monitor of run run_id: store its deadlines (once) and load the
 * step durations of the DAG's recent successful runs for predictions.
 * raised_by names the checker in events ("runner", "sla check", ...).
 * Returns 0 and *out (free with sla_close), or -1 with e set.
 */
int sla_open(struct sla_monitor **out, struct db *db, const struct config *cfg, const struct dag *dag,
	     int64_t run_id, const char *raised_by, struct err *e);
void sla_close(struct sla_monitor *m);

/*
 * Check the deadlines against the steps' state at now_ms (Unix ms):
 * raise misses, predicted misses, and deliver pending alerts. Failing
 * alert commands are logged and retried on later checks; they never fail
 * the caller. Returns 0, or -1 with e set on a database error.
 */
int sla_check(struct sla_monitor *m, const struct sla_step_view *steps, int64_t now_ms, struct err *e);

/* Wall-clock now in Unix milliseconds. */
int64_t sla_now_ms(void);

/*
 * For every unfinished run (of DAG only_dag, or of all DAGs when NULL)
 * whose runner is gone (nobody holds its lock), raise the deadlines that
 * have passed, and deliver pending alerts. Used by `billrun sla check`,
 * `run`, `resume` and `status`. Returns the number of dead runs looked
 * at, or -1 with e set.
 */
int sla_check_dead_runs(struct db *db, const struct config *cfg, const struct dag_set *set,
			const char *only_dag, struct err *e);

/* Print a run's deadlines, projections and events. */
int sla_show(struct db *db, const struct config *cfg, const struct dag *dag, int64_t run_id, FILE *out,
	     struct err *e);

#endif
