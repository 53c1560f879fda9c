/*
 * cmd_audit.c - `billrun audit verify|head`: the hash-chained audit log,
 * read as the auditor role.
 */
#include "audit.h"
#include "cli.h"
#include "cluster.h"
#include "db.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int audit_verify_cmd(struct cli *cli, int argc, char **argv, struct err *e)
{
	static const struct option opts[] = { { "expect", required_argument, NULL, 'x' }, { 0 } };
	int64_t expect_id = 0;
	char expect_hash[SHA256_HEX_LEN + 1] = "";
	int c;

	while ((c = getopt_long(argc, argv, "x:", opts, NULL)) != -1) {
		if (c != 'x')
			return cli_usage_error(e, "audit", "bad option for 'audit verify'");
		char *colon = strchr(optarg, ':');
		char *end;
		expect_id = strtoll(optarg, &end, 10);
		if (!colon || end != colon || expect_id < 1 || strlen(colon + 1) != SHA256_HEX_LEN)
			return cli_usage_error(e, "audit", "--expect takes ID:HASH (the entry's id and its 64-digit hash)");
		snprintf(expect_hash, sizeof(expect_hash), "%s", colon + 1);
	}
	if (optind < argc)
		return cli_usage_error(e, "audit", "unexpected argument '%s'", argv[optind]);
	struct db *db = cluster_connect(&cli->cfg, DB_ROLE_AUDITOR, e);
	if (!db)
		return -1;
	struct audit_report r;
	int rc = audit_verify(db, expect_id, expect_hash, &r, e);
	db_free(db);
	if (rc) {
		if (r.bad_id)
			fprintf(stdout, "audit log: entry %lld is the first that does not hold\n", (long long)r.bad_id);
		return -1;
	}
	printf("audit log: %lld entr%s, the chain holds\n", (long long)r.entries, r.entries == 1 ? "y" : "ies");
	printf("head: entry %lld, hash %s\n", (long long)r.head_id, r.head_hash);
	if (expect_id)
		printf("entry %lld has the expected hash\n", (long long)expect_id);
	return 0;
}

static int audit_head_cmd(struct cli *cli, int argc, char **argv, struct err *e)
{
	if (argc > 1)
		return cli_usage_error(e, "audit", "unexpected argument '%s'", argv[1]);
	struct db *db = cluster_connect(&cli->cfg, DB_ROLE_AUDITOR, e);
	if (!db)
		return -1;
	int64_t id = 0;
	char hash[SHA256_HEX_LEN + 1];
	int rc = audit_head(db, &id, hash, e);
	db_free(db);
	if (rc)
		return -1;
	printf("%lld:%s\n", (long long)id, hash);
	return 0;
}

static int audit_main(struct cli *cli, int argc, char **argv, struct err *e)
{
	if (argc < 2)
		return cli_usage_error(e, "audit", "'audit' needs a subcommand: verify or head");
	if (cli_config(cli, 0, e))
		return -1;
	if (strcmp(argv[1], "verify") == 0)
		return audit_verify_cmd(cli, argc - 1, argv + 1, e);
	if (strcmp(argv[1], "head") == 0)
		return audit_head_cmd(cli, argc - 1, argv + 1, e);
	return cli_usage_error(e, "audit", "unknown subcommand 'audit %s'", argv[1]);
}

const struct command cmd_audit = {
	"audit", audit_main, "verify the hash-chained audit log",
	"usage: billrun audit verify [--expect ID:HASH]\n"
	"       billrun audit head\n"
	"\n"
	"Every change to billing data (runs and attempts, rule versions, the\n"
	"config's checksum, files ingested, quarantine entries, archives, ...)\n"
	"is an entry of the audit log, chained by\n"
	"  hash = SHA-256(previous entry's hash || canonical entry)\n"
	"(core/AUDIT.md describes the canonical entry).\n"
	"\n"
	"verify  recompute the whole chain as the auditor role: each entry's\n"
	"        hash, its link to the entry before, ids without gaps, and the\n"
	"        chain head. Names the first entry that does not hold and exits\n"
	"        65. --expect ID:HASH also checks that entry ID still has the\n"
	"        hash recorded elsewhere (an archive's bag-info.txt carries\n"
	"        Billrun-Audit-Head), which finds a log rewritten from the start.\n"
	"head    print the chain head as ID:HASH, to keep outside the database.\n"
	"\n"
	"Exit status: 0 the chain holds; 65 it does not; 69 no database.\n"
};
