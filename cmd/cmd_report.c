/*
 * cmd_report.c - `billrun report`: write a run's HTML report (see
 * reports/run_report.h) on demand; the runner writes it at the end of
 * every run as well.
 */
#include "cli.h"
#include "cluster.h"
#include "db.h"
#include "run_report.h"
#include "sqltext.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int report_main(struct cli *cli, int argc, char **argv, struct err *e)
{
	static const struct option opts[] = { { "out", required_argument, NULL, 'o' }, { 0 } };
	const char *out = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		if (c == 'o')
			out = optarg;
		else
			return cli_usage_error(e, "report", "bad option");
	}
	if (argc - optind > 1)
		return cli_usage_error(e, "report", "'report' takes at most one run id");
	int64_t run_id = 0;
	if (optind < argc) {
		char *end;
		run_id = strtoll(argv[optind], &end, 10);
		if (*end || run_id <= 0)
			return cli_usage_error(e, "report", "'%s' is not a run id", argv[optind]);
	}
	if (cli_config(cli, 0, e))
		return -1;
	struct db *db = cluster_connect(&cli->cfg, DB_ROLE_AUDITOR, e);
	if (!db)
		return -1;
	int rc = -1;
	if (!run_id) {
		const char *params[] = { NULL };
		int found = db_query_int64(db, e, &run_id, SQL_store_latest_run, 1, params);
		if (found != 0) {
			if (found > 0)
				err_set(e, ERR_NOT_FOUND, "there are no runs yet");
			goto out;
		}
	}
	if (out && strcmp(out, "-") == 0) {
		rc = run_report_render(db, run_id, stdout, e);
		if (rc == 0 && fflush(stdout) != 0)
			rc = err_set(e, ERR_IO, "could not write the run report to standard output");
		goto out;
	}
	char path[4200];
	if (!out) {
		if (run_report_default_path(&cli->cfg, db, run_id, path, sizeof(path), e))
			goto out;
		out = path;
	}
	rc = run_report_write(&cli->cfg, db, run_id, out, e);
	if (rc == 0)
		printf("%s\n", out);
	else if (e->kind == ERR_IO && out == path)
		err_hint(e, "write it elsewhere with --out FILE, or to standard output with --out -");
out:
	db_free(db);
	return rc;
}

const struct command cmd_report = {
	"report", report_main, "write a run's HTML report (timeline, deadlines, counts)",
	"usage: billrun report [RUN] [--out FILE]\n"
	"\n"
	"Write the report of run RUN (default: the latest run): one self-contained\n"
	"HTML page with the run's facts, a timeline of every attempt of every step\n"
	"(retries as separate bars) against the run's and the steps' SLA deadlines\n"
	"and any predicted finish, tables of steps, attempts and SLA events, and\n"
	"the rows and totals per currency the run wrote. The runner writes the\n"
	"same page into the run's output folder at the end of each run.\n"
	"\n"
	"  -o, --out FILE   write FILE instead of " RUN_REPORT_FILE " in the run's\n"
	"                   output folder; '-' writes to standard output\n"
	"\n"
	"Times are shown in the local time zone (TZ). Prints the path written.\n"
	"\n"
	"Exit status: 0 written; 65 no such run; 69 database unavailable;\n"
	"74 the file could not be written.\n"
};
