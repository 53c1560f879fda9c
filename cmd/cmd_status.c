/*
 * cmd_status.c - `billrun status`, `history`, `dag show` and `rules`:
 * reading runs, DAGs and rule versions.
 */
#include "cli.h"
#include "cluster.h"
#include "dag.h"
#include "db.h"
#include "log.h"
#include "sla.h"
#include "sqltext.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_dags(struct cli *cli, struct dag_set *set, struct err *e);

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/* Print a result as an aligned table, or as JSON lines with --json. */
static void print_table(const PGresult *res, const char *const *names, int json, FILE *out)
{
	int nf = PQnfields(res), nt = PQntuples(res);
	if (json) {
		for (int r = 0; r < nt; r++) {
			fputc('{', out);
			for (int c = 0; c < nf; c++) {
				if (c)
					fputc(',', out);
				json_str(out, names[c]);
				fputc(':', out);
				json_str(out, PQgetvalue(res, r, c));
			}
			fputs("}\n", out);
		}
		return;
	}
	int width[32] = { 0 };
	for (int c = 0; c < nf && c < 32; c++) {
		width[c] = (int)strlen(names[c]);
		for (int r = 0; r < nt; r++) {
			int w = (int)strlen(PQgetvalue(res, r, c));
			if (w > width[c])
				width[c] = w > 60 ? 60 : w;
		}
	}
	for (int c = 0; c < nf && c < 32; c++)
		fprintf(out, "%-*s%s", width[c], names[c], c + 1 < nf ? "  " : "\n");
	for (int r = 0; r < nt; r++)
		for (int c = 0; c < nf && c < 32; c++)
			fprintf(out, "%-*.*s%s", width[c], width[c], PQgetvalue(res, r, c), c + 1 < nf ? "  " : "\n");
}

/* The run's issued documents that have no files yet (the next invoice
 * step writes them), and those another run wrote. */
static int print_documents(struct db *db, const char *const *params, struct err *e)
{
	PGresult *res = db_query(db, e, SQL_invoice_run_files, 1, params);
	if (!res)
		return -1;
	long long inv = strtoll(PQgetvalue(res, 0, 0), NULL, 10), cn = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	long long elsewhere = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	if (inv)
		printf("%lld issued invoices without documents\n", inv);
	if (cn)
		printf("%lld issued credit notes without documents\n", cn);
	if (inv || cn)
		printf("  (the next 'billrun run' with an invoice step, 'resume' or 'rerun --from invoice' writes them)\n");
	if (elsewhere)
		printf("documents of %lld of its invoices and credit notes were written by run %s\n", elsewhere,
		       PQgetvalue(res, 0, 3));
	PQclear(res);
	return 0;
}

/* Warnings listed one by one; the rest are counted. */
#define STATUS_WARNINGS 50

/*
 * The run's warnings (migration 025): files refused for their header,
 * files whose header changed (055), control-file mismatches, holds, drift findings; one line each, naming
 * the file or the account, or JSON lines {"warning": KIND, ...}.
 */
static int print_warnings(struct db *db, const char *id, int json, struct err *e)
{
	char limit[16];
	snprintf(limit, sizeof(limit), "%d", STATUS_WARNINGS);
	const char *lp[] = { id, limit }, *cp[] = { id };
	PGresult *counts = db_query(db, e, SQL_warnings_counts, 1, cp);
	if (!counts)
		return -1;
	long long total = 0;
	for (int i = 0; i < PQntuples(counts); i++)
		total += strtoll(PQgetvalue(counts, i, 1), NULL, 10);
	PQclear(counts);
	PGresult *res = db_query(db, e, SQL_warnings_list, 2, lp);
	if (!res)
		return -1;
	if (json) {
		static const char *const names[] = { "warning", "file", "account", "period_start", "reason", "detail" };
		print_table(res, names, 1, stdout);
		PQclear(res);
		return 0;
	}
	if (total == 0) {
		printf("\nwarnings: none\n");
		PQclear(res);
		return 0;
	}
	printf("\nwarnings: %lld (they do not fail the run; 'billrun quarantine list --run %s' lists its holds)\n",
	       total, id);
	for (int i = 0; i < PQntuples(res); i++) {
		const char *kind = PQgetvalue(res, i, 0), *file = PQgetvalue(res, i, 1);
		const char *account = PQgetvalue(res, i, 2), *period = PQgetvalue(res, i, 3);
		const char *reason = PQgetvalue(res, i, 4), *detail = PQgetvalue(res, i, 5);
		if (strcmp(kind, "bad_header") == 0)
			printf("  file '%s' refused for its header: %s\n", file, detail);
		else if (strcmp(kind, "control_mismatch") == 0)
			printf("  file '%s' does not match its control file: %s\n", file, detail);
		else if (strcmp(kind, "control_invalid") == 0)
			printf("  file '%s' has a control file that could not be read: %s\n", file, detail);
		else if (strcmp(kind, "schema_change") == 0)
			printf("  file '%s' has a schema change (%s): %s\n", file,
			       strcmp(reason, "schema_refused") == 0 ? "refused" : "accepted", detail);
		else if (strcmp(kind, "hold") == 0)
			printf("  account '%s' held for the period from %s: %s: %s\n", account, period, reason, detail);
		else
			printf("  account '%s' %s warning: %s\n", account, kind, detail);
	}
	if (total > PQntuples(res))
		printf("  ... and %lld more\n", total - PQntuples(res));
	PQclear(res);
	return 0;
}

static int status_main(struct cli *cli, int argc, char **argv, struct err *e)
{
	static const struct option opts[] = { { "attempts", no_argument, NULL, 'a' }, { 0 } };
	int attempts = 0, c;
	while ((c = getopt_long(argc, argv, "a", opts, NULL)) != -1) {
		if (c == 'a')
			attempts = 1;
		else
			return cli_usage_error(e, "status", "bad option");
	}
	if (argc - optind > 1)
		return cli_usage_error(e, "status", "'status' takes at most one run id");
	if (cli_config(cli, 0, e))
		return -1;
	struct db *db = cluster_connect(&cli->cfg, DB_ROLE_AUDITOR, e);
	if (!db)
		return -1;
	char id[32];
	int rc = -1;
	if (optind < argc) {
		snprintf(id, sizeof(id), "%s", argv[optind]);
	} else {
		int64_t last;
		const char *p[] = { NULL };
		int found = db_query_int64(db, e, &last, SQL_store_latest_run, 1, p);
		if (found != 0) {
			if (found > 0)
				err_set(e, ERR_NOT_FOUND, "there are no runs yet");
			goto out;
		}
		snprintf(id, sizeof(id), "%lld", (long long)last);
	}
	const char *params[] = { id };
	/* A run whose runner died may have deadlines to raise before it is
	 * shown (needs the DAGs, and the application role to record them). */
	struct dag_set set;
	if (cli_dags(cli, &set, e) == 0) {
		struct db *app = cluster_connect(&cli->cfg, DB_ROLE_APP, e);
		if (app && sla_check_dead_runs(app, &cli->cfg, &set, NULL, e) < 0)
			log_warn("could not check deadlines: %s", e->message);
		db_free(app);
	}
	dag_set_release(&set);
	err_clear(e);
	PGresult *run = db_query(db, e, SQL_store_run_get, 1, params);
	if (!run)
		goto out;
	if (PQntuples(run) < 1) {
		PQclear(run);
		err_set(e, ERR_NOT_FOUND, "no run %s", id);
		goto out;
	}
	int json = cli->json;
	if (json) {
		static const char *const names[] = { "run", "dag", "period_kind", "period_start", "period_end",
						     "status", "host", "pid", "rule_version", "rerun_of", "rerun_from",
						     "rerun_account", "output_dir", "started_at", "ended_at",
						     "invoices_without_documents", "credit_notes_without_documents" };
		PQclear(run);
		run = db_query(db, e, SQL_store_run_status_json, 1, params);
		if (!run)
			goto out;
		print_table(run, names, 1, stdout);
	} else {
		printf("run %s: DAG %s, %s %s to %s, %s\n", id, PQgetvalue(run, 0, 1), PQgetvalue(run, 0, 2),
		       PQgetvalue(run, 0, 3), PQgetvalue(run, 0, 4), PQgetvalue(run, 0, 5));
		printf("started %s%s%s on %s (pid %s), rule version %s%s%s\n", PQgetvalue(run, 0, 13),
		       *PQgetvalue(run, 0, 14) ? ", ended " : "", PQgetvalue(run, 0, 14), PQgetvalue(run, 0, 6),
		       PQgetvalue(run, 0, 7), strcmp(PQgetvalue(run, 0, 8), "0") ? PQgetvalue(run, 0, 8) : "none",
		       strcmp(PQgetvalue(run, 0, 9), "0") ? ", rerun of run " : "",
		       strcmp(PQgetvalue(run, 0, 9), "0") ? PQgetvalue(run, 0, 9) : "");
		printf("output: %s\n", PQgetvalue(run, 0, 12));
		if (print_documents(db, params, e))
			goto out;
		printf("\n");
	}
	PQclear(run);
	PGresult *steps = db_query(db, e, attempts ? SQL_store_attempts_report : SQL_store_run_steps_report, 1, params);
	if (!steps)
		goto out;
	static const char *const step_names[] = { "step", "status", "attempts", "started", "ended", "seconds",
						  "last message" };
	static const char *const attempt_names[] = { "step", "attempt", "status", "started", "ended", "exit",
						     "signal", "message", "host", "pid" };
	print_table(steps, attempts ? attempt_names : step_names, json, stdout);
	PQclear(steps);
	if (print_warnings(db, id, json, e))
		goto out;
	rc = 0;
out:
	db_free(db);
	return rc;
}

const struct command cmd_status = {
	"status", status_main, "show a run and its steps",
	"usage: billrun [--json] status [RUN] [--attempts]\n"
	"\n"
	"Show run RUN (default: the latest) with each step's status, attempts,\n"
	"times and last message; --attempts lists every attempt (exit code or\n"
	"signal, host, pid). --json prints JSON lines. A run that issued invoices\n"
	"or credit notes whose PDF and JSON are not written yet says \"N issued\n"
	"invoices without documents\" until an invoice step writes them.\n"
	"\n"
	"Then the run's warnings, the problems it found that did not fail it (its\n"
	"exit status stays 0), one line each: a file refused for its header, a\n"
	"file whose header differs from its source's last accepted file (a schema\n"
	"change, accepted or refused), a file that does not match its control\n"
	"file (or whose control file could not be read), an account period held\n"
	"back from invoicing with its reason, a drift finding; \"warnings: none\"\n"
	"when there are none. With --json, one line {\"warning\": KIND, \"file\",\n"
	"\"account\", \"period_start\", \"reason\", \"detail\"} each.\n"
};

static int history_main(struct cli *cli, int argc, char **argv, struct err *e)
{
	static const struct option opts[] = { { "limit", required_argument, NULL, 'l' }, { 0 } };
	const char *limit = "20";
	int c;
	while ((c = getopt_long(argc, argv, "l:", opts, NULL)) != -1) {
		if (c == 'l' && atoi(optarg) > 0)
			limit = optarg;
		else
			return cli_usage_error(e, "history", "bad option");
	}
	if (argc - optind > 1)
		return cli_usage_error(e, "history", "'history' takes at most one DAG name");
	if (cli_config(cli, 0, e))
		return -1;
	struct db *db = cluster_connect(&cli->cfg, DB_ROLE_AUDITOR, e);
	if (!db)
		return -1;
	const char *params[] = { optind < argc ? argv[optind] : NULL, limit };
	PGresult *res = db_query(db, e, SQL_store_history, 2, params);
	db_free(db);
	if (!res)
		return -1;
	static const char *const names[] = { "run", "dag", "period", "status", "started", "ended", "seconds",
					     "rule_version", "rerun_of", "host" };
	print_table(res, names, cli->json, stdout);
	PQclear(res);
	return 0;
}

const struct command cmd_history = {
	"history", history_main, "list recent runs",
	"usage: billrun [--json] history [DAG] [--limit N]\n"
	"\n"
	"List the latest runs (of DAG, or of all DAGs), newest first: period,\n"
	"status, times, rule version, and the run a rerun redoes. Default 20.\n"
};

static int dag_main(struct cli *cli, int argc, char **argv, struct err *e)
{
	if (argc < 2 || strcmp(argv[1], "show") != 0)
		return cli_usage_error(e, "dag", "use 'billrun dag show DAG [--dot]'");
	static const struct option opts[] = { { "dot", no_argument, NULL, 'd' }, { 0 } };
	int dot = 0, c;
	optind = 0;
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'd')
			dot = 1;
		else
			return cli_usage_error(e, "dag", "bad option");
	}
	struct dag_set set;
	int rc = cli_dags(cli, &set, e);
	if (rc == 0) {
		if (optind >= argc) {
			for (int i = 0; i < set.ndags; i++)
				dot ? dag_print_dot(&set.dags[i], stdout) : dag_print(&set.dags[i], stdout);
		} else {
			const struct dag *d = dag_set_find(&set, argv[optind], e);
			if (!d)
				rc = -1;
			else
				dot ? dag_print_dot(d, stdout) : dag_print(d, stdout);
		}
	}
	dag_set_release(&set);
	return rc;
}

const struct command cmd_dag = {
	"dag", dag_main, "show a DAG's steps in order, or as Graphviz",
	"usage: billrun dag show [DAG] [--dot]\n"
	"\n"
	"Print the steps of DAG (default: every DAG) in execution order with their\n"
	"job or command, dependencies, trigger, retries, retry delay, factor,\n"
	"maximum delay and timeout. --dot prints a Graphviz digraph instead\n"
	"(billrun dag show nightly --dot | dot -Tsvg > nightly.svg).\n"
};

static int rules_main(struct cli *cli, int argc, char **argv, struct err *e)
{
	if (argc < 2 || (strcmp(argv[1], "list") != 0 && strcmp(argv[1], "show") != 0))
		return cli_usage_error(e, "rules", "use 'billrun rules list' or 'billrun rules show VERSION'");
	if (cli_config(cli, 0, e))
		return -1;
	struct db *db = cluster_connect(&cli->cfg, DB_ROLE_AUDITOR, e);
	if (!db)
		return -1;
	int rc = -1;
	if (strcmp(argv[1], "list") == 0) {
		PGresult *res = db_query(db, e, SQL_store_rule_versions_list, 0, NULL);
		if (res) {
			static const char *const names[] = { "version", "sha256", "file", "stored", "runs" };
			print_table(res, names, cli->json, stdout);
			PQclear(res);
			rc = 0;
		}
	} else if (argc != 3) {
		rc = cli_usage_error(e, "rules", "'rules show' needs a version (id or SHA-256 prefix)");
	} else {
		const char *params[] = { argv[2] };
		PGresult *res = db_query(db, e, SQL_store_rule_version_get, 1, params);
		if (res && PQntuples(res) == 1) {
			fputs(PQgetvalue(res, 0, 3), stdout);
			rc = 0;
		} else if (res) {
			err_set(e, ERR_NOT_FOUND, PQntuples(res) ? "rule version '%s' is ambiguous" : "no rule version '%s'",
				argv[2]);
		}
		PQclear(res);
	}
	db_free(db);
	return rc;
}

const struct command cmd_rules = {
	"rules", rules_main, "list the stored rule versions or print one",
	"usage: billrun rules list\n"
	"       billrun rules show VERSION\n"
	"\n"
	"Each run stores the text of the rate-card file (rules.file) once per\n"
	"SHA-256 and records the version it used. 'list' shows the versions and\n"
	"how many runs used each; 'show' prints one's full text (VERSION is its\n"
	"number or a SHA-256 prefix of at least 8 characters).\n"
};
