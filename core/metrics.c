/*
 * metrics.c - the Prometheus textfile written after each run.
 */
#include "metrics.h"
#include "cfg.h"
#include "db.h"
#include "err.h"
#include "fs.h"
#include "sqltext.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *step_states[] = { "pending", "running", "retry_wait", "success", "failed",
				     "upstream_failed", "skipped", NULL };

/* The run's row (SQL_metrics_run); NULL with e set, ERR_NOT_FOUND when
 * there is no run id. */
static PGresult *run_row(struct db *db, const char *id, struct err *e)
{
	const char *params[] = { id };
	PGresult *run = db_query(db, e, SQL_metrics_run, 1, params);
	if (run && PQntuples(run) < 1) {
		PQclear(run);
		err_set(e, ERR_NOT_FOUND, "no run %s", id);
		return NULL;
	}
	return run;
}

/* Label values are DAG and step names ([A-Za-z0-9_-]) and fixed words,
 * so they need no escaping. */
int metrics_render(struct db *db, int64_t run_id, FILE *f, struct err *e)
{
	char id[32];
	snprintf(id, sizeof(id), "%lld", (long long)run_id);
	const char *params[] = { id };
	PGresult *run = run_row(db, id, e);
	if (!run)
		return -1;
	PGresult *steps = db_query(db, e, SQL_metrics_steps, 1, params);
	if (!steps) {
		PQclear(run);
		return -1;
	}
	const char *dag = PQgetvalue(run, 0, 0);
	fprintf(f, "# HELP billrun_run_id Id of the DAG's last run.\n# TYPE billrun_run_id gauge\n");
	fprintf(f, "billrun_run_id{dag=\"%s\"} %s\n", dag, id);
	fprintf(f, "# HELP billrun_run_success Whether the DAG's last run succeeded (1) or not (0).\n"
		   "# TYPE billrun_run_success gauge\n");
	fprintf(f, "billrun_run_success{dag=\"%s\"} %d\n", dag, strcmp(PQgetvalue(run, 0, 1), "success") == 0);
	fprintf(f, "# HELP billrun_run_duration_seconds Duration of the DAG's last run.\n"
		   "# TYPE billrun_run_duration_seconds gauge\n");
	fprintf(f, "billrun_run_duration_seconds{dag=\"%s\"} %s\n", dag, PQgetvalue(run, 0, 3));
	fprintf(f, "# HELP billrun_run_end_timestamp_seconds When the DAG's last run ended (Unix time).\n"
		   "# TYPE billrun_run_end_timestamp_seconds gauge\n");
	fprintf(f, "billrun_run_end_timestamp_seconds{dag=\"%s\"} %s\n", dag, PQgetvalue(run, 0, 4));
	fprintf(f, "# HELP billrun_step_duration_seconds Duration of each step in the DAG's last run.\n"
		   "# TYPE billrun_step_duration_seconds gauge\n");
	for (int i = 0; i < PQntuples(steps); i++)
		fprintf(f, "billrun_step_duration_seconds{dag=\"%s\",step=\"%s\"} %s\n", dag, PQgetvalue(steps, i, 0),
			PQgetvalue(steps, i, 3));
	fprintf(f, "# HELP billrun_step_attempts Attempts each step took in the DAG's last run.\n"
		   "# TYPE billrun_step_attempts gauge\n");
	for (int i = 0; i < PQntuples(steps); i++)
		fprintf(f, "billrun_step_attempts{dag=\"%s\",step=\"%s\"} %s\n", dag, PQgetvalue(steps, i, 0),
			PQgetvalue(steps, i, 2));
	fprintf(f, "# HELP billrun_step_status Each step's final status in the DAG's last run (1 for the status it has).\n"
		   "# TYPE billrun_step_status gauge\n");
	for (int i = 0; i < PQntuples(steps); i++)
		for (const char **st = step_states; *st; st++)
			fprintf(f, "billrun_step_status{dag=\"%s\",step=\"%s\",status=\"%s\"} %d\n", dag,
				PQgetvalue(steps, i, 0), *st, strcmp(*st, PQgetvalue(steps, i, 1)) == 0);
	const char *dp[] = { dag };
	PGresult *sla = db_query(db, e, SQL_metrics_sla, 1, dp);
	if (sla) {
		fprintf(f, "# HELP billrun_sla_events_total SLA misses and predicted misses raised for the DAG.\n"
			   "# TYPE billrun_sla_events_total counter\n");
		for (int i = 0; i < PQntuples(sla); i++)
			fprintf(f, "billrun_sla_events_total{dag=\"%s\",kind=\"%s\"} %s\n", dag, PQgetvalue(sla, i, 0),
				PQgetvalue(sla, i, 1));
		PQclear(sla);
	}
	/* The run's warnings (migration 025), counted from the rows that
	 * hold them: every kind, 0 included, so an alert rule sees a series. */
	PGresult *warn = sla ? db_query(db, e, SQL_warnings_counts, 1, params) : NULL;
	if (warn) {
		fprintf(f, "# HELP billrun_run_warnings Problems the DAG's last run found that did not fail it, by kind: "
			   "files refused for their header (bad_header), files that do not match their control file "
			   "(control_mismatch) or whose control file could not be read (control_invalid), account "
			   "periods held back from invoicing (hold), drift findings (drift), files whose header differs from "
			   "their source's last accepted file (schema_change).\n"
			   "# TYPE billrun_run_warnings gauge\n");
		for (int i = 0; i < PQntuples(warn); i++)
			fprintf(f, "billrun_run_warnings{dag=\"%s\",kind=\"%s\"} %s\n", dag, PQgetvalue(warn, i, 0),
				PQgetvalue(warn, i, 1));
		PQclear(warn);
	}
	PQclear(run);
	PQclear(steps);
	return warn ? 0 : -1;
}

int metrics_write_run(const struct config *cfg, struct db *db, int64_t run_id, struct err *e)
{
	char dir[4096], path[4300], tmp[4400], id[32];
	snprintf(id, sizeof(id), "%lld", (long long)run_id);
	PGresult *run = run_row(db, id, e);
	if (!run)
		return -1;
	cfg_metrics_dir(cfg, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/billrun_%s.prom", dir, PQgetvalue(run, 0, 0));
	PQclear(run);
	if (fs_mkdirs(dir, 0755, e))
		return -1;
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	struct fs_out o;
	if (fs_out_open(&o, tmp, e))
		return err_prefix(e, "metrics file: ");
	if (metrics_render(db, run_id, o.f, e)) {
		fs_out_abort(&o);
		return -1;
	}
	return fs_out_commit(&o, path, e) ? err_prefix(e, "metrics file: ") : 0;
}
