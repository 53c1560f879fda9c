/*
 * cmd_archive.c - `billrun archive verify|prune`: checking a BagIt archive
 * (no configuration or database needed, so auditors can run it anywhere)
 * and removing archives and raw usage past the retention.
 */
#include "archive_step.h"
#include "bagit.h"
#include "cli.h"
#include "cluster.h"
#include "db.h"
#include "log.h"
#include "sqltext.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The bag's payload against the documents its run issued, when the
 * database can be reached: 0 checked and equal, or not checked (said
 * why, not a failure: the offline checks stand on their own); -1 with e
 * set when they differ (each difference printed) or the database failed
 * part way.
 */
static int verify_documents(struct cli *cli, const char *path, const struct bagit_contents *c, struct err *e)
{
	char run[32], dag[128], start[32];
	if (!bagit_info_value(c, "Billrun-Run-Id", run, sizeof(run)))
		return 0; /* not a billrun archive */
	struct err ce;
	err_clear(&ce);
	if (cli_config(cli, 0, &ce)) {
		printf("documents not checked against the database: %s\n", ce.message);
		return 0;
	}
	/* One try, and never a cluster started for a check. */
	struct config cfg = cli->cfg;
	cfg.db_connect_retries = 0;
	if (cluster_embedded(&cfg) && !cluster_running(&cfg)) {
		printf("documents not checked against the database: the embedded database is not running "
		       "('billrun db start' starts it)\n");
		return 0;
	}
	struct db *db = cluster_connect(&cfg, DB_ROLE_AUDITOR, &ce);
	if (!db) {
		printf("documents not checked against the database: %s\n", ce.message);
		return 0;
	}
	int rc = 0;
	const char *rp[] = { run };
	PGresult *res = db_query(db, &ce, SQL_archive_run_info, 1, rp);
	if (!res) {
		printf("documents not checked against the database: %s\n", ce.message);
		goto out;
	}
	if (!bagit_info_value(c, "Billrun-DAG", dag, sizeof(dag)))
		dag[0] = '\0';
	if (!bagit_info_value(c, "Billrun-Period-Start", start, sizeof(start)))
		start[0] = '\0';
	if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), dag) != 0 || strcmp(PQgetvalue(res, 0, 1), start) != 0) {
		printf("documents not checked against the database: its run %s is not run %s of DAG %s for %s, the "
		       "run this bag names (a bag of another installation?)\n",
		       run, run, dag, start);
		PQclear(res);
		goto out;
	}
	PQclear(res);
	static struct archive_doc_check r; /* 5 kB of problem texts */
	if (archive_check_documents(db, strtoll(run, NULL, 10), cli->cfg.invoice_pdf, c, &r, e)) {
		rc = -1;
		goto out;
	}
	if (r.nproblems) {
		for (int i = 0; i < r.nproblems && i < ARCHIVE_DOC_PROBLEMS; i++)
			printf("problem: %s\n", r.problems[i]);
		if (r.nproblems > ARCHIVE_DOC_PROBLEMS)
			printf("... and %d more\n", r.nproblems - ARCHIVE_DOC_PROBLEMS);
		err_set(e, ERR_INPUT, "bag '%s' does not hold the documents run %s issued: %s", path, run, r.problems[0]);
		if (r.nproblems > 1)
			err_detail(e, "%d problems in all", r.nproblems);
		rc = -1;
		goto out;
	}
	printf("documents: the bag holds all %d document file%s run %s issued (checked against the database)\n",
	       r.expected, r.expected == 1 ? "" : "s", run);
out:
	db_free(db);
	return rc;
}

static int archive_verify_cmd(struct cli *cli, int argc, char **argv, struct err *e)
{
	static const struct option opts[] = { { "ca", required_argument, NULL, 'a' }, { 0 } };
	const char *ca = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "a:", opts, NULL)) != -1) {
		if (c != 'a')
			return cli_usage_error(e, "archive", "bad option for 'archive verify'");
		ca = optarg;
	}
	if (optind + 1 != argc)
		return cli_usage_error(e, "archive", "'archive verify' needs one FILE (a bag tarball or folder)");
	const char *path = argv[optind];
	static struct bagit_report r; /* 8 kB of problem texts */
	struct bagit_contents contents;
	if (bagit_verify_contents(path, ca, &r, &contents, e)) {
		for (int i = 0; i < r.nproblems && i < BAGIT_MAX_PROBLEMS; i++)
			printf("problem: %s\n", r.problems[i]);
		if (r.nproblems > BAGIT_MAX_PROBLEMS)
			printf("... and %d more\n", r.nproblems - BAGIT_MAX_PROBLEMS);
		return -1;
	}
	printf("%s: valid BagIt %s bag, %llu payload file%s, %llu bytes, %d payload manifest%s\n", path, r.version,
	       (unsigned long long)r.payload_files, r.payload_files == 1 ? "" : "s",
	       (unsigned long long)r.payload_bytes, r.manifests, r.manifests == 1 ? "" : "s");
	if (!r.signed_bag)
		printf("not signed\n");
	else if (ca)
		printf("signature verified against '%s': signed by %s\n", ca, r.signer);
	else
		printf("signature intact (signed by %s, not checked against a CA: give --ca CAFILE)\n", r.signer);
	int rc = verify_documents(cli, path, &contents, e);
	bagit_contents_release(&contents);
	return rc;
}

static int archive_prune_cmd(struct cli *cli, int argc, char **argv, struct err *e)
{
	static const struct option opts[] = {
		{ "older-than", required_argument, NULL, 'o' }, { "dry-run", no_argument, NULL, 'n' }, { 0 }
	};
	const char *older = NULL;
	int dry = 0, c;

	while ((c = getopt_long(argc, argv, "o:n", opts, NULL)) != -1) {
		if (c == 'o')
			older = optarg;
		else if (c == 'n')
			dry = 1;
		else
			return cli_usage_error(e, "archive", "bad option for 'archive prune'");
	}
	if (optind < argc)
		return cli_usage_error(e, "archive", "unexpected argument '%s'", argv[optind]);
	if (cli_config(cli, 0, e))
		return -1;
	char interval[64];
	if (older ? archive_retention_interval(older, "--older-than", interval, sizeof(interval), e)
		  : archive_retention_interval(cli->cfg.archive_retention, "archive.retention", interval,
					       sizeof(interval), e)) {
		if (older)
			e->kind = ERR_USAGE;
		return -1;
	}
	struct db *db = cluster_connect(&cli->cfg, DB_ROLE_OWNER, e);
	if (!db)
		return -1;
	struct prune_report r;
	int rc = archive_prune(&cli->cfg, db, interval, dry, stdout, &r, e);
	db_free(db);
	if (rc)
		return -1;
	const char *verb = dry ? "would remove" : "removed";
	printf("retention %s: data before %s\n", interval, r.before);
	printf("%s %lld archive%s", verb, (long long)r.archives, r.archives == 1 ? "" : "s");
	if (!dry)
		printf(" (%lld file%s deleted)", (long long)r.files_removed, r.files_removed == 1 ? "" : "s");
	printf("\n");
	if (r.usage_records >= 0)
		printf("%s %lld usage record%s\n", verb, (long long)r.usage_records, r.usage_records == 1 ? "" : "s");
	printf("%s %lld processed spool file%s\n", verb, (long long)r.spool_files, r.spool_files == 1 ? "" : "s");
	if (!dry)
		log_info("archive prune: %lld archives, %lld usage records, %lld spool files before %s; audited",
			 (long long)r.archives, (long long)(r.usage_records < 0 ? 0 : r.usage_records),
			 (long long)r.spool_files, r.before);
	return 0;
}

static int archive_main(struct cli *cli, int argc, char **argv, struct err *e)
{
	if (argc < 2)
		return cli_usage_error(e, "archive", "'archive' needs a subcommand: verify or prune");
	if (strcmp(argv[1], "verify") == 0)
		return archive_verify_cmd(cli, argc - 1, argv + 1, e);
	if (strcmp(argv[1], "prune") == 0)
		return archive_prune_cmd(cli, argc - 1, argv + 1, e);
	return cli_usage_error(e, "archive", "unknown subcommand 'archive %s'", argv[1]);
}

const struct command cmd_archive = {
	"archive", archive_main, "verify a run's BagIt archive, or prune old data",
	"usage: billrun archive verify FILE [--ca CAFILE]\n"
	"       billrun archive prune [--older-than AGE] [--dry-run]\n"
	"\n"
	"verify  check a BagIt bag: a .tar.gz as the archive step writes it, any\n"
	"        tarball libarchive reads, or an unpacked bag folder. Checks\n"
	"        bagit.txt, bag-info.txt and its Payload-Oxum, every entry of\n"
	"        every payload and tag manifest (md5 to sha512), that each\n"
	"        payload file is listed in every payload manifest and none is\n"
	"        missing, that no path leaves the bag, and the CMS signature\n"
	"        tagmanifest-sha256.txt.p7s when there is one. With --ca the\n"
	"        signature must chain to a certificate in CAFILE (PEM), and an\n"
	"        unsigned bag fails. Needs no configuration or database for\n"
	"        that. A billrun archive is then checked against the database\n"
	"        when it can be reached (the configuration's, as the auditor\n"
	"        role; one try, no cluster started): every document file its\n"
	"        run issued must be in the payload, and no other file under\n"
	"        data/output/invoices/. When it cannot be reached, the output\n"
	"        says so and the result is that of the offline checks.\n"
	"prune   remove what is older than AGE (default archive.retention,\n"
	"        \"7y\"; units y, mo, w, d): archives of runs whose period ended\n"
	"        before it, usage records by event time and processed spool\n"
	"        files by modification time. Each removal is an audit log entry;\n"
	"        the audit log itself is never pruned. Runs as the database\n"
	"        owner (usage is append-only for everyone else). --dry-run\n"
	"        lists what would go and changes nothing.\n"
	"\n"
	"Exit status: 0 valid (or pruned); 65 the bag is not valid, or does not\n"
	"hold its run's documents (each problem is printed); 64 usage; 74 the\n"
	"file cannot be read; 78 bad CA file.\n"
};
