/*
 * cli.h - the command-line front end: one file per command group under
 * cmd/, each exporting its entries for the command table in main.c.
 * Commands return 0 or -1 with an error; main() alone turns that into an
 * exit status (err_exit_status) and prints it.
 */
#ifndef BILLRUN_CLI_H
#define BILLRUN_CLI_H

#include "cfg.h"
#include "err.h"

struct cli {
	const char *config_path;  /* --config, or NULL */
	const char *log_level;    /* --log-level, or NULL for log.level */
	int json;                 /* --json */
	struct config cfg;
	int cfg_loaded;
};

struct command {
	const char *name;
	/* Returns 0 (exit 0), -1 with e set (exit by err_exit_status), or a
	 * positive documented exit status of the command's own. */
	int (*fn)(struct cli *cli, int argc, char **argv, struct err *e);
	const char *summary;
	const char *usage;  /* full help text, printed by --help and 'help NAME' */
};

/* Load the configuration once. With must_exist 0 a missing default file
 * means built-in defaults; an explicit --config must exist. */
int cli_config(struct cli *cli, int must_exist, struct err *e);

/* Did argv ask for help (-h or --help before any "--")? */
int cli_wants_help(int argc, char **argv);

/* ERR_USAGE with a hint to see the command's help. Returns -1. */
int cli_usage_error(struct err *e, const char *command, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The command groups, one file each. */
extern const struct command cmd_check_config;
extern const struct command cmd_db;
extern const struct command cmd_version;
extern const struct command cmd_run;
extern const struct command cmd_resume;
extern const struct command cmd_rerun;
extern const struct command cmd_status;
extern const struct command cmd_history;
extern const struct command cmd_dag;
extern const struct command cmd_rules;
extern const struct command cmd_report;
extern const struct command cmd_lineage;
extern const struct command cmd_timers;
extern const struct command cmd_sla;
extern const struct command cmd_accounts;
extern const struct command cmd_subscriptions;
extern const struct command cmd_fx;
extern const struct command cmd_explain;
extern const struct command cmd_invoice;
extern const struct command cmd_quarantine;
extern const struct command cmd_audit;
extern const struct command cmd_archive;
extern const struct command cmd_xbrl;
extern const struct command cmd_export;

#endif
