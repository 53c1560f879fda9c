/*
 * cmd_sla.c - `billrun sla check` and `billrun sla show [RUN]`.
 */
#include "cli.h"
#include "cluster.h"
#include "dag.h"
#include "db.h"
#include "sla.h"
#include "sqltext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_dags(struct cli *cli, struct dag_set *set, struct err *e);

static int sla_main(struct cli *cli, int argc, char **argv, struct err *e)
{
	if (argc < 2 || (strcmp(argv[1], "check") != 0 && strcmp(argv[1], "show") != 0))
		return cli_usage_error(e, "sla", "use 'billrun sla check [DAG]' or 'billrun sla show [RUN]'");
	struct dag_set set;
	struct db *db = NULL;
	int rc = cli_dags(cli, &set, e);
	if (rc == 0 && !(db = cluster_connect(&cli->cfg, DB_ROLE_APP, e)))
		rc = -1;
	if (rc == 0 && strcmp(argv[1], "check") == 0) {
		int n = sla_check_dead_runs(db, &cli->cfg, &set, argc > 2 ? argv[2] : NULL, e);
		if (n < 0)
			rc = -1;
		else
			printf("checked %d unfinished run%s whose runner is gone\n", n, n == 1 ? "" : "s");
	} else if (rc == 0) {
		int64_t id = 0;
		if (argc > 2) {
			id = strtoll(argv[2], NULL, 10);
		} else {
			const char *p[] = { NULL };
			if (db_query_int64(db, e, &id, SQL_store_latest_run, 1, p) != 0)
				rc = e->kind ? -1 : err_set(e, ERR_NOT_FOUND, "there are no runs yet");
		}
		char run[32];
		snprintf(run, sizeof(run), "%lld", (long long)id);
		const char *params[] = { run };
		PGresult *res = rc == 0 ? db_query(db, e, SQL_store_run_get, 1, params) : NULL;
		if (rc == 0 && !res)
			rc = -1;
		if (rc == 0 && PQntuples(res) < 1)
			rc = err_set(e, ERR_NOT_FOUND, "no run %s", run);
		const struct dag *dag = rc == 0 ? dag_set_find(&set, PQgetvalue(res, 0, 1), e) : NULL;
		if (rc == 0 && !dag)
			rc = -1;
		/* A dead runner's misses are raised before they are shown. */
		if (rc == 0 && sla_check_dead_runs(db, &cli->cfg, &set, dag->name, e) < 0)
			rc = -1;
		if (rc == 0)
			rc = sla_show(db, &cli->cfg, dag, id, stdout, e);
		PQclear(res);
	}
	db_free(db);
	dag_set_release(&set);
	return rc;
}

const struct command cmd_sla = {
	"sla", sla_main, "check deadlines of runs whose runner died; show a run's SLA",
	"usage: billrun sla check [DAG]\n"
	"       billrun sla show [RUN]\n"
	"\n"
	"check  for every unfinished run (of DAG) whose runner is gone (nobody\n"
	"       holds its lock), raise the deadlines that have passed, and deliver\n"
	"       pending alerts. Meant for a frequent timer (billrun-sla-check.timer).\n"
	"show   a run's deadlines (met, missed, unfinished), the projected\n"
	"       duration of each step (the sla.percentile of the last\n"
	"       sla.history_runs successful runs; nothing with fewer than 3), and\n"
	"       the misses and predicted misses raised, with their alert state.\n"
	"\n"
	"Deadlines: `sla` on a DAG (the whole run) or a step, either a duration\n"
	"after the run started (\"45m\") or a time of day in a named zone\n"
	"(\"06:00 Europe/Berlin\": the first such time after the run's scheduled\n"
	"start, the day its period ends at the schedule's time of day). Each miss\n"
	"and predicted miss is raised once per DAG, period and step, logged, counted\n"
	"in the metrics, and handed to sla.alert_command with BILLRUN_SLA_KIND\n"
	"(miss or predicted_miss), BILLRUN_DAG, BILLRUN_RUN_ID, BILLRUN_STEP\n"
	"(empty for the run), BILLRUN_PERIOD_START, BILLRUN_SLA_DEADLINE,\n"
	"BILLRUN_SLA_PROJECTED and BILLRUN_SLA_FINISHED in its environment. A\n"
	"failing alert command is logged and tried again, up to 5 times; it never\n"
	"fails the run.\n"
};
