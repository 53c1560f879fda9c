/*
 * cmd_lineage.c - `billrun lineage`: print a run's OpenLineage events
 * (reports/lineage.h, core/LINEAGE.md), the JSON lines the runner wrote
 * into the run's output folder when the run finished.
 */
#include "cli.h"
#include "cluster.h"
#include "db.h"
#include "lineage.h"
#include "sqltext.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copy the file at path to standard output. 0, 1 when it does not exist,
 * -1 with e set. */
static int print_file(const char *path, struct err *e)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		if (errno == ENOENT)
			return 1;
		return err_set(e, ERR_IO, "could not open '%s': %s", path, strerror(errno));
	}
	char buf[65536];
	size_t n;
	int rc = 0;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (fwrite(buf, 1, n, stdout) != n) {
			rc = err_set(e, ERR_IO, "could not write the events to standard output");
			break;
		}
	if (rc == 0 && ferror(f))
		rc = err_set(e, ERR_IO, "could not read '%s': %s", path, strerror(errno));
	fclose(f);
	return rc;
}

static int lineage_main(struct cli *cli, int argc, char **argv, struct err *e)
{
	static const struct option opts[] = { { "database", no_argument, NULL, 'd' }, { 0 } };
	int from_db = 0, c;
	while ((c = getopt_long(argc, argv, "d", opts, NULL)) != -1) {
		if (c == 'd')
			from_db = 1;
		else
			return cli_usage_error(e, "lineage", "bad option");
	}
	if (argc - optind != 1)
		return cli_usage_error(e, "lineage", "'lineage' needs a run id");
	char *end;
	int64_t run_id = strtoll(argv[optind], &end, 10);
	if (*end || run_id <= 0)
		return cli_usage_error(e, "lineage", "'%s' is not a run id", argv[optind]);
	if (cli_config(cli, 0, e))
		return -1;
	struct db *db = cluster_connect(&cli->cfg, DB_ROLE_AUDITOR, e);
	if (!db)
		return -1;
	char path[4200];
	int rc = lineage_default_path(&cli->cfg, db, run_id, path, sizeof(path), e);
	if (rc == 0 && !from_db) {
		rc = print_file(path, e);
		if (rc == 1) {
			/* Not finished (or finished before billrun wrote lineage):
			 * the same events, composed now. */
			fprintf(stderr, "billrun: '%s' does not exist (the run has not finished): the events so far, "
					"from the database\n", path);
			from_db = 1;
			rc = 0;
		}
	}
	if (rc == 0 && from_db)
		rc = lineage_render(&cli->cfg, db, run_id, stdout, e);
	if (rc == 0 && fflush(stdout) != 0)
		rc = err_set(e, ERR_IO, "could not write the events to standard output");
	db_free(db);
	return rc;
}

const struct command cmd_lineage = {
	"lineage", lineage_main, "print a run's OpenLineage events (JSON lines)",
	"usage: billrun lineage RUN [--database]\n"
	"\n"
	"Print the OpenLineage run events of run RUN, one JSON object a line: for\n"
	"the run (job DAG) and for each attempt of each step (job DAG.STEP), a\n"
	"START and then a COMPLETE or a FAIL, with the step's inputs (the files\n"
	"ingested, with their SHA-256 and size; the tables read) and outputs (the\n"
	"tables written, the invoice documents, the XBRL files, the archive). A\n"
	"rerun's events name the run it reruns as their parent. The runner writes\n"
	"them to " LINEAGE_FILE " in the run's output folder when the run finishes;\n"
	"this prints that file (a run stopped by a signal has the one written when\n"
	"it stopped, without the run's end). A run whose runner died has no file\n"
	"yet: its events so far are composed from the database (and a note says\n"
	"so on standard error).\n"
	"\n"
	"  -d, --database   compose the events from the database even when the\n"
	"                   file exists\n"
	"\n"
	"core/LINEAGE.md describes the events, their identifiers and facets.\n"
	"\n"
	"Exit status: 0 printed; 65 no such run; 69 database unavailable;\n"
	"74 the file could not be read or standard output not written.\n"
};
