/*
 * cmd_db.c - `billrun db migrate|status|start|stop|psql`: the database.
 */
#include "cli.h"
#include "cluster.h"
#include "db.h"
#include "log.h"
#include "migrate.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int db_migrate(struct cli *cli, int argc, char **argv, struct err *e)
{
	static const struct option opts[] = { { "dir", required_argument, NULL, 'd' }, { 0 } };
	const char *dir = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "d:", opts, NULL)) != -1) {
		if (c == 'd')
			dir = optarg;
		else
			return cli_usage_error(e, "db", "bad option for 'db migrate'");
	}
	/* The one command besides 'db start' that creates the embedded
	 * cluster: the schema needs somewhere to go. */
	if (cluster_embedded(&cli->cfg) && cluster_start(&cli->cfg, e))
		return -1;
	struct db *db = cluster_connect(&cli->cfg, DB_ROLE_OWNER, e);
	if (!db)
		return -1;
	int n = migrate_apply(db, dir, stdout, e);
	db_free(db);
	if (n < 0)
		return -1;
	printf("%d migration%s applied; the schema is up to date\n", n, n == 1 ? "" : "s");
	return 0;
}

static int db_status(struct cli *cli, int argc, char **argv, struct err *e)
{
	char dsn[4200], masked[4200];

	cluster_dsn(&cli->cfg, dsn, sizeof(dsn));
	cfg_mask_dsn(dsn, masked, sizeof(masked));
	printf("database: %s\n", cluster_embedded(&cli->cfg) ? "embedded cluster" : "external server");
	printf("dsn:      %s\n", masked);
	if (!cluster_running(&cli->cfg)) {
		printf("server:   not running\n");
		err_set(e, ERR_DB_UNAVAILABLE, "the database server is not running");
		return err_hint(e, cluster_embedded(&cli->cfg) ? "start it with 'billrun db start'"
								: "check database.dsn and the server");
	}
	printf("server:   running\n");
	struct db *db = cluster_connect(&cli->cfg, DB_ROLE_OWNER, e);
	if (!db)
		return -1;
	int todo = migrate_status(db, NULL, stdout, e);
	db_free(db);
	if (todo < 0)
		return -1;
	printf("schema:   %s\n", todo ? "migrations pending (run 'billrun db migrate')" : "up to date");
	return 0;
}

static int db_start(struct cli *cli, int argc, char **argv, struct err *e)
{
	if (cluster_start(&cli->cfg, e))
		return -1;
	char dsn[4200];
	cluster_dsn(&cli->cfg, dsn, sizeof(dsn));
	printf("the embedded cluster is running: %s\n", dsn);
	return 0;
}

static int db_stop(struct cli *cli, int argc, char **argv, struct err *e)
{
	if (cluster_stop(&cli->cfg, e))
		return -1;
	printf("the embedded cluster is stopped\n");
	return 0;
}

static int db_psql(struct cli *cli, int argc, char **argv, struct err *e)
{
	char dsn[4200];

	if (cluster_require_running(&cli->cfg, e))
		return -1;
	cluster_dsn(&cli->cfg, dsn, sizeof(dsn));
	char *args[64];
	int n = 0;
	args[n++] = "psql";
	args[n++] = dsn;
	for (int i = 1; i < argc && n < 62; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	fflush(NULL);
	execvp("psql", args);
	return err_set(e, ERR_IO, "could not run 'psql': %s", strerror(errno));
}

static const struct {
	const char *name;
	int (*fn)(struct cli *, int, char **, struct err *);
	int needs_config;
} subcommands[] = {
	{ "migrate", db_migrate, 1 },
	{ "status", db_status, 1 },
	{ "start", db_start, 1 },
	{ "stop", db_stop, 1 },
	{ "psql", db_psql, 1 },
};

static int db_main(struct cli *cli, int argc, char **argv, struct err *e)
{
	if (argc < 2)
		return cli_usage_error(e, "db", "'db' needs a subcommand: migrate, status, start, stop or psql");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
		if (strcmp(argv[1], subcommands[i].name) != 0)
			continue;
		if (subcommands[i].needs_config && cli_config(cli, 0, e))
			return -1;
		return subcommands[i].fn(cli, argc - 1, argv + 1, e);
	}
	return cli_usage_error(e, "db", "unknown subcommand 'db %s'", argv[1]);
}

const struct command cmd_db = {
	"db", db_main, "migrate, inspect, start, stop or open the database",
	"usage: billrun db migrate [--dir DIR]\n"
	"       billrun db status\n"
	"       billrun db start\n"
	"       billrun db stop\n"
	"       billrun db psql [PSQL-ARGS]\n"
	"\n"
	"migrate  apply the pending numbered schema migrations, each in its own\n"
	"         transaction, recorded with its SHA-256. A migration that was\n"
	"         applied and has changed since is refused (exit 65). --dir reads\n"
	"         the migrations from DIR instead of the set built into billrun.\n"
	"         Without database.dsn it first creates (on first use) and starts\n"
	"         the embedded cluster, as 'db start' does.\n"
	"status   say which server is used, whether it runs, and each migration's\n"
	"         state (exit 69 when the server is not running).\n"
	"start    create (on first use) and start the embedded cluster under\n"
	"         STATE_DIR/pgdata, on a unix socket in STATE_DIR/run only. As root\n"
	"         it runs as database.embedded.user. It keeps running after\n"
	"         billrun exits.\n"
	"stop     stop the embedded cluster. It stays stopped: only 'db start',\n"
	"         'db migrate' and a run, resume or rerun at its start start it\n"
	"         again; a runner that loses it mid-run waits for it\n"
	"         (runner.reconnect_for, its steps failing as retryable), then\n"
	"         exits 69.\n"
	"psql     open psql on the billrun database as the owner (the server\n"
	"         must be running).\n"
	"\n"
	"With database.dsn set, billrun uses that server and never starts one;\n"
	"start and stop then fail with exit 78.\n"
};
