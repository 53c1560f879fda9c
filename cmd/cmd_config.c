/*
 * cmd_config.c - `billrun check-config` and `billrun version`.
 */
#include "cli.h"
#include "dag.h"
#include "journal.h"

#include <stdio.h>

int cli_dags(struct cli *cli, struct dag_set *set, struct err *e);

static int check_config(struct cli *cli, int argc, char **argv, struct err *e)
{
	if (argc > 1)
		return cli_usage_error(e, "check-config", "unexpected argument '%s'", argv[1]);
	struct dag_set set;
	int rc = cli_dags(cli, &set, e);
	struct journal_accounts accounts;
	if (rc == 0 && (rc = journal_accounts_load(&cli->cfg, &accounts, e)) == 0) {
		cfg_print(&cli->cfg, stdout);
		printf("# journal accounts: receivable %s, revenue %s, tax %s; %zu charge%s and %zu tax rate%s with "
		       "accounts of their own\n",
		       accounts.receivable.code, accounts.revenue.code, accounts.tax.code, accounts.nrevenue,
		       accounts.nrevenue == 1 ? "" : "s", accounts.ntax, accounts.ntax == 1 ? "" : "s");
		for (int i = 0; i < set.ndags; i++)
			printf("# dag %s: %d steps, period %s, schedule \"%s\"\n", set.dags[i].name, set.dags[i].nsteps,
			       set.dags[i].period_kind, set.dags[i].schedule);
		journal_accounts_release(&accounts);
	}
	dag_set_release(&set);
	return rc;
}

const struct command cmd_check_config = {
	"check-config", check_config, "check the configuration and print the effective values",
	"usage: billrun [--config FILE] check-config\n"
	"\n"
	"Load the configuration file, check every key against the declared keys\n"
	"(type, bounds, allowed values), the DAGs and the journal's ledger\n"
	"accounts in it, and print every\n"
	"setting's effective value with where it came from. Secrets (passwords\n"
	"in DSNs, keys) are masked.\n"
	"\n"
	"Exit status: 0 valid; 78 the file is missing or invalid, including a\n"
	"database.dsn or database.app_dsn libpq cannot parse (the message names\n"
	"the file, the line and the key). The database is not contacted.\n"
};

static int version(struct cli *cli, int argc, char **argv, struct err *e)
{
	printf("billrun %s\n", BILLRUN_VERSION);
	return 0;
}

const struct command cmd_version = {
	"version", version, "print the version",
	"usage: billrun version\n\nPrint billrun's version.\n"
};
