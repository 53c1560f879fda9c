/*
 * cmd_run.c - `billrun run`, `resume` and `rerun`: executing DAG runs.
 */
#include "cli.h"
#include "cluster.h"
#include "dag.h"
#include "db.h"
#include "job.h"
#include "lineage.h"
#include "log.h"
#include "migrate.h"
#include "run_report.h"
#include "runner.h"
#include "sqltext.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The run report and the run's OpenLineage events go into the run's
 * output folder at the end of a run, in the transaction that ends it. */
static int write_report(const struct config *cfg, struct db *db, int64_t run_id, struct err *e)
{
	if (run_report_write(cfg, db, run_id, NULL, e))
		return -1;
	return lineage_write(cfg, db, run_id, e);
}

static int job_exists(const char *name)
{
	return job_find(name) != NULL;
}

int cli_dags(struct cli *cli, struct dag_set *set, struct err *e)
{
	/* Callers release the set on failure too, so it must be valid even
	 * when the configuration does not load. */
	memset(set, 0, sizeof(*set));
	if (cli_config(cli, 1, e))
		return -1;
	return dag_set_load(set, &cli->cfg, job_exists, e);
}

/*
 * The start of a run, resume or rerun: the one moment billrun starts an
 * embedded cluster that exists and is stopped (it never creates one: 'db
 * migrate' does; see cluster.h), then connects, refusing a database
 * without the complete schema before anything is written.
 */
static struct db *connect_at_start(struct cli *cli, struct err *e)
{
	if (cluster_start_existing(&cli->cfg, e))
		return NULL;
	struct db *db = cluster_connect(&cli->cfg, DB_ROLE_APP, e);
	if (db && migrate_check(db, e)) {
		db_free(db);
		return NULL;
	}
	return db;
}

/* Map a runner outcome to the command's exit status. */
static int outcome_status(int outcome)
{
	switch (outcome) {
	case RUN_SUCCESS:
	case RUN_ALREADY_DONE: return EXIT_OK;
	case RUN_FAILED: return EXIT_STEPS_FAILED;
	case RUN_INTERRUPTED: return EXIT_TEMPFAIL;
	default: return EXIT_SOFTWARE;
	}
}

/* Periods due since the DAG's last successful run, oldest first, ending
 * with `last`. */
static int catch_up_periods(struct cli *cli, const struct dag *dag, const struct period *last,
			    struct period **out, int *n, struct err *e)
{
	struct db *db = connect_at_start(cli, e);
	if (!db)
		return -1;
	const char *params[] = { dag->name };
	PGresult *res = db_query(db, e, SQL_store_last_success_period, 1, params);
	db_free(db);
	if (!res)
		return -1;
	struct period p = *last;
	if (!PQgetisnull(res, 0, 0)) {
		if (period_parse(&p, dag->period_kind, PQgetvalue(res, 0, 0), e)) {
			PQclear(res);
			return -1;
		}
		period_next(&p);
	}
	PQclear(res);
	int cap = 8;
	*n = 0;
	*out = malloc(sizeof(**out) * (size_t)cap);
	for (; *out && period_cmp(&p, last) <= 0; period_next(&p)) {
		if (*n == cap) {
			cap *= 2;
			struct period *q = realloc(*out, sizeof(**out) * (size_t)cap);
			if (!q)
				break;
			*out = q;
		}
		(*out)[(*n)++] = p;
	}
	if (!*out)
		return err_set(e, ERR_INTERNAL, "out of memory");
	if (*n == 0)
		(*out)[(*n)++] = *last;
	return 0;
}

static int run_main(struct cli *cli, int argc, char **argv, struct err *e)
{
	static const struct option opts[] = {
		{ "period", required_argument, NULL, 'p' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "catch-up", no_argument, NULL, 'C' },
		{ 0 },
	};
	const char *period_text = NULL;
	int dry = 0, catch_up = 0, c;
	while ((c = getopt_long(argc, argv, "p:n", opts, NULL)) != -1) {
		switch (c) {
		case 'p': period_text = optarg; break;
		case 'n': dry = 1; break;
		case 'C': catch_up = 1; break;
		default: return cli_usage_error(e, "run", "bad option");
		}
	}
	if (optind != argc - 1)
		return cli_usage_error(e, "run", "'run' needs exactly one DAG name");
	struct dag_set set;
	if (cli_dags(cli, &set, e)) {
		dag_set_release(&set);
		return -1;
	}
	int rc = -1;
	const struct dag *dag = dag_set_find(&set, argv[optind], e);
	struct period last, *periods = NULL;
	int nperiods = 1;
	if (!dag)
		goto out;
	if (period_text) {
		if (period_parse(&last, dag->period_kind, period_text, e))
			goto out;
	} else {
		period_due(&last, dag->period_kind, time(NULL));
	}
	if (cluster_start_existing(&cli->cfg, e))
		goto out;
	if (catch_up && !dry) {
		if (catch_up_periods(cli, dag, &last, &periods, &nperiods, e))
			goto out;
		if (nperiods > 1)
			log_info("catching up %d periods of DAG %s: %s to %s", nperiods, dag->name, periods[0].start,
				 last.start);
	} else {
		periods = malloc(sizeof(*periods));
		if (!periods) {
			err_set(e, ERR_INTERNAL, "out of memory");
			goto out;
		}
		periods[0] = last;
	}
	for (int k = 0; k < nperiods; k++) {
		struct run_request req = { .cfg = &cli->cfg, .dag = dag, .period = periods[k], .find_job = job_find, .on_finish = write_report,
					   .dry_run = dry, .plan_out = stdout };
		int64_t run_id = 0;
		int outcome = runner_run(&req, &run_id, e);
		if (outcome < 0)
			goto out;
		rc = outcome_status(outcome);
		if (!dry && outcome != RUN_ALREADY_DONE)
			printf("run %lld: %s\n", (long long)run_id,
			       outcome == RUN_SUCCESS ? "success" : outcome == RUN_FAILED ? "failed" : "interrupted");
		if (rc != EXIT_OK)
			break; /* a later period waits for this one */
	}
out:
	free(periods);
	dag_set_release(&set);
	return rc;
}

const struct command cmd_run = {
	"run", run_main, "run a DAG for a period (resuming an unfinished run)",
	"usage: billrun run DAG [--period P] [--catch-up] [--dry-run]\n"
	"\n"
	"Run the steps of DAG for one billing period: a day (YYYY-MM-DD) or a\n"
	"month (YYYY-MM), by the DAG's `period`. Without --period, the period due\n"
	"now: yesterday for a daily DAG, last month for a monthly one (local time).\n"
	"\n"
	"An unfinished run of the same DAG and period is resumed; a period that\n"
	"already has a successful run is left alone (use 'billrun rerun').\n"
	"Only one runner may hold a DAG and period: a second one exits 75 and\n"
	"names the holder's host and pid, and its run id unless it is still\n"
	"starting up. Without database.dsn, a stopped embedded cluster is\n"
	"started first (never created: 'billrun db migrate' does that).\n"
	"\n"
	"  -p, --period P   the period to run\n"
	"      --catch-up   first run, in order, every period due since the DAG's\n"
	"                   last successful run (a machine that was off for three\n"
	"                   nights runs three nights)\n"
	"  -n, --dry-run    print the plan; change nothing\n"
	"\n"
	"Exec steps get in their environment: BILLRUN_RUN_ID, BILLRUN_DAG,\n"
	"BILLRUN_STEP, BILLRUN_ATTEMPT, BILLRUN_PERIOD_KIND, BILLRUN_PERIOD_START,\n"
	"BILLRUN_PERIOD_END (exclusive), BILLRUN_OUTPUT_DIR, BILLRUN_RULE_VERSION,\n"
	"BILLRUN_RULES_FILE, BILLRUN_DSN (acting as the application role) and, for\n"
	"a one-account rerun, BILLRUN_ACCOUNT. Its command runs in /bin/sh, as\n"
	"with sh -c, once the runner has stored the attempt's start. An exec step\n"
	"that exits 75 is retried (if it has retries left); any other non-zero\n"
	"exit is permanent.\n"
	"\n"
	"Exit status: 0 success (or nothing to do); 3 the run ended with failed\n"
	"steps; 75 another runner holds the DAG and period, or the run was stopped\n"
	"by SIGTERM/SIGINT (resume it), or the run was taken over while the\n"
	"database was unreachable; 69 database unavailable (a runner that loses its\n"
	"connection mid-run, e.g. to 'billrun db stop', never starts the server: it\n"
	"reconnects for runner.reconnect_for, default 5 minutes, its steps going on\n"
	"and failing as retryable, and logs who stopped what); 77 the database\n"
	"refused the login (the message names database.app_dsn or database.dsn);\n"
	"78 bad config, a DSN libpq cannot parse, or a database without billrun's\n"
	"schema (run 'billrun db migrate'; nothing is created).\n"
};

/* The run named by text, its DAG from the config and its period. The set
 * is always initialised (release it); -1 with e set when the run or its
 * DAG is unknown. */
static int load_run(struct cli *cli, const char *command, const char *text, int64_t *id, struct dag_set *set,
		    const struct dag **dag, struct period *period, struct err *e)
{
	char *end;
	memset(set, 0, sizeof(*set));
	*id = strtoll(text, &end, 10);
	if (*end || *id <= 0)
		return cli_usage_error(e, command, "'%s' is not a run id", text);
	if (cli_dags(cli, set, e))
		return -1;
	struct db *db = connect_at_start(cli, e);
	if (!db)
		return -1;
	const char *params[] = { text };
	PGresult *res = db_query(db, e, SQL_store_run_get, 1, params);
	db_free(db);
	if (!res)
		return -1;
	if (PQntuples(res) < 1) {
		PQclear(res);
		return err_set(e, ERR_NOT_FOUND, "no run %s", text);
	}
	char dagname[256], start[16];
	snprintf(dagname, sizeof(dagname), "%s", PQgetvalue(res, 0, 1));
	snprintf(start, sizeof(start), "%s", PQgetvalue(res, 0, 3));
	PQclear(res);
	*dag = dag_set_find(set, dagname, e);
	if (!*dag)
		return -1;
	return period_parse(period, (*dag)->period_kind, start, e);
}

static int resume_main(struct cli *cli, int argc, char **argv, struct err *e)
{
	static const struct option opts[] = { { "dry-run", no_argument, NULL, 'n' }, { 0 } };
	int dry = 0, c;
	while ((c = getopt_long(argc, argv, "n", opts, NULL)) != -1) {
		if (c == 'n')
			dry = 1;
		else
			return cli_usage_error(e, "resume", "bad option");
	}
	if (optind != argc - 1)
		return cli_usage_error(e, "resume", "'resume' needs a run id");
	int64_t id;
	struct dag_set set;
	const struct dag *dag;
	struct period period;
	int rc = -1;
	if (load_run(cli, "resume", argv[optind], &id, &set, &dag, &period, e))
		goto out;
	struct run_request req = { .cfg = &cli->cfg, .dag = dag, .find_job = job_find, .on_finish = write_report, .dry_run = dry,
				   .plan_out = stdout, .resume_run = id, .period = period };
	int64_t run_id = 0;
	int outcome = runner_run(&req, &run_id, e);
	if (outcome < 0)
		goto out;
	if (!dry)
		printf("run %lld: %s\n", (long long)run_id,
		       outcome == RUN_SUCCESS ? "success" : outcome == RUN_FAILED ? "failed" : "interrupted");
	rc = outcome_status(outcome);
out:
	dag_set_release(&set);
	return rc;
}

const struct command cmd_resume = {
	"resume", resume_main, "continue an unfinished run from where it stopped",
	"usage: billrun resume RUN [--dry-run]\n"
	"\n"
	"Continue run RUN, whose runner died or was stopped: steps that finished\n"
	"are not repeated; an attempt that was running when the runner died is\n"
	"marked abandoned (its process group is killed if it is still alive on\n"
	"this host and is still the process the runner started: its start time\n"
	"and boot id must match the recorded ones) and its step is redone.\n"
	"Renames of output files that a crash interrupted are finished first.\n"
	"'billrun run' does the same when it finds an unfinished run of the same\n"
	"DAG and period.\n"
	"\n"
	"  -n, --dry-run   print what would run\n"
	"\n"
	"Exit status: as for 'billrun run'; 64 when RUN has finished.\n"
};

static int rerun_main(struct cli *cli, int argc, char **argv, struct err *e)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "account", required_argument, NULL, 'a' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "rules", required_argument, NULL, 'r' },
		{ 0 },
	};
	const char *from = NULL, *account = NULL, *rules = NULL;
	int dry = 0, c;
	while ((c = getopt_long(argc, argv, "f:a:nr:", opts, NULL)) != -1) {
		switch (c) {
		case 'f': from = optarg; break;
		case 'a': account = optarg; break;
		case 'n': dry = 1; break;
		case 'r': rules = optarg; break;
		default: return cli_usage_error(e, "rerun", "bad option");
		}
	}
	if (optind != argc - 1 || !from)
		return cli_usage_error(e, "rerun", "'rerun' needs a run id and --from STEP");
	if (rules && strcmp(rules, "current") != 0 && strcmp(rules, "original") != 0)
		return cli_usage_error(e, "rerun", "--rules takes 'original' or 'current', not '%s'", rules);
	int64_t id;
	struct dag_set set;
	const struct dag *dag;
	struct period period;
	int rc = -1;
	if (load_run(cli, "rerun", argv[optind], &id, &set, &dag, &period, e))
		goto out;
	struct run_request req = { .cfg = &cli->cfg, .dag = dag, .find_job = job_find, .on_finish = write_report, .dry_run = dry,
				   .plan_out = stdout, .rerun_of = id, .rerun_from = from, .account = account,
				   .rules_current = rules && strcmp(rules, "current") == 0, .period = period };
	int64_t run_id = 0;
	int outcome = runner_run(&req, &run_id, e);
	if (outcome < 0)
		goto out;
	if (!dry)
		printf("run %lld (rerun of %lld): %s\n", (long long)run_id, (long long)id,
		       outcome == RUN_SUCCESS ? "success" : outcome == RUN_FAILED ? "failed" : "interrupted");
	rc = outcome_status(outcome);
out:
	dag_set_release(&set);
	return rc;
}

const struct command cmd_rerun = {
	"rerun", rerun_main, "rerun a step and everything downstream (disputes)",
	"usage: billrun rerun RUN --from STEP [--account ID] [--rules original|current] [--dry-run]\n"
	"\n"
	"Start a new run, linked to RUN, for the same DAG and period, that redoes\n"
	"STEP and every step downstream of it; the steps upstream are marked\n"
	"skipped. Retry counters start again from zero. By default the rule\n"
	"version of the original run is applied, even if the rate-card file has\n"
	"changed since; --rules current applies the file as it is now.\n"
	"\n"
	"  -f, --from STEP      first step to redo\n"
	"  -a, --account ID     limit the billing steps to one account (its id as\n"
	"                       the customer knows it); exec steps get it as\n"
	"                       BILLRUN_ACCOUNT\n"
	"  -r, --rules WHICH    original (default) or current\n"
	"  -n, --dry-run        print what would run; change nothing\n"
	"\n"
	"Exit status: as for 'billrun run'.\n"
};
