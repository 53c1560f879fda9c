/*
 * main.c - billrun's entry point: global options, the command table, and
 * the one place where an error becomes an exit status.
 */
#include "cli.h"
#include "log.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmd_help_fn(struct cli *cli, int argc, char **argv, struct err *e);

static const struct command cmd_help = {
	"help", cmd_help_fn, "show help for billrun or one command",
	"usage: billrun help [COMMAND]\n\nShow the list of commands, or one command's full help.\n"
};

static const struct command *commands[] = {
	&cmd_run,
	&cmd_resume,
	&cmd_rerun,
	&cmd_status,
	&cmd_history,
	&cmd_dag,
	&cmd_rules,
	&cmd_sla,
	&cmd_accounts,
	&cmd_subscriptions,
	&cmd_fx,
	&cmd_explain,
	&cmd_invoice,
	&cmd_quarantine,
	&cmd_report,
	&cmd_lineage,
	&cmd_timers,
	&cmd_xbrl,
	&cmd_archive,
	&cmd_audit,
	&cmd_export,
	&cmd_check_config,
	&cmd_db,
	&cmd_help,
	&cmd_version,
};
static const size_t ncommands = sizeof(commands) / sizeof(commands[0]);

static const char main_usage[] =
	"usage: billrun [--config FILE] [--json] [--log-level LEVEL] COMMAND [ARGS]\n"
	"\n"
	"billrun runs the nightly billing DAG over PostgreSQL.\n"
	"\n"
	"Global options:\n"
	"  -c, --config FILE     configuration file (default: $BILLRUN_CONFIG,\n"
	"                        else /etc/billrun/billrun.conf)\n"
	"      --json            log (and print tables) as JSON lines\n"
	"      --log-level LEVEL debug, info, warn or error (default: log.level)\n"
	"  -h, --help            this help; 'billrun help COMMAND' for a command\n"
	"  -V, --version         print the version\n"
	"\n"
	"Exit status: 0 success (also a run with warnings: a file refused for its\n"
	"header, a control-file mismatch, a hold, a drift warning; 'billrun status'\n"
	"lists them); 3 the run ended with failed steps; 64 usage;\n"
	"65 bad input; 69 database unavailable; 70 internal error; 74 I/O error;\n"
	"75 try again later (another run holds the lock); 77 permission denied;\n"
	"78 bad configuration.\n"
	"\n"
	"Commands:\n";

static void print_main_usage(FILE *out)
{
	fputs(main_usage, out);
	for (size_t i = 0; i < ncommands; i++)
		fprintf(out, "  %-14s %s\n", commands[i]->name, commands[i]->summary);
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < ncommands; i++)
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	return NULL;
}

static int cmd_help_fn(struct cli *cli, int argc, char **argv, struct err *e)
{
	if (argc < 2) {
		print_main_usage(stdout);
		return 0;
	}
	const struct command *c = find_command(argv[1]);
	if (!c)
		return cli_usage_error(e, "help", "unknown command '%s'", argv[1]);
	fputs(c->usage, stdout);
	return 0;
}

static void apply_logging(struct cli *cli)
{
	enum log_level lvl = LOG_INFO;
	const char *name = cli->log_level ? cli->log_level : cli->cfg_loaded ? cli->cfg.log_level : "info";
	log_level_parse(name, &lvl);
	log_setup(cli->json || (cli->cfg_loaded && cli->cfg.log_json), lvl);
}

int cli_config(struct cli *cli, int must_exist, struct err *e)
{
	if (cli->cfg_loaded)
		return 0;
	cli->cfg_loaded = 1;
	if (cfg_load(&cli->cfg, cli->config_path, must_exist, e))
		return -1;
	apply_logging(cli);
	return 0;
}

int cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return 0;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
	}
	return 0;
}

int cli_usage_error(struct err *e, const char *command, const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err_set(e, ERR_USAGE, "%s", msg);
	return err_hint(e, "see 'billrun help %s'", command);
}

static void print_error(const struct err *e)
{
	if (log_is_json()) {
		log_err(e);
		return;
	}
	fprintf(stderr, "billrun: error: %s\n", e->message);
	if (e->detail[0])
		fprintf(stderr, "detail: %s\n", e->detail);
	if (e->hint[0])
		fprintf(stderr, "hint: %s\n", e->hint);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli cli = { 0 };
	struct err e;
	int c;

	err_clear(&e);
	/* '+' stops at the command name: the rest belongs to the command. */
	while ((c = getopt_long(argc, argv, "+c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cli.config_path = optarg; break;
		case 'j': cli.json = 1; break;
		case 'l': cli.log_level = optarg; break;
		case 'h': print_main_usage(stdout); return EXIT_OK;
		case 'V': printf("billrun %s\n", BILLRUN_VERSION); return EXIT_OK;
		default:
			fprintf(stderr, "billrun: see 'billrun --help'\n");
			return EXIT_USAGE;
		}
	}
	enum log_level lvl;
	if (cli.log_level && log_level_parse(cli.log_level, &lvl)) {
		fprintf(stderr, "billrun: error: unknown log level '%s'\nhint: use debug, info, warn or error\n",
			cli.log_level);
		return EXIT_USAGE;
	}
	apply_logging(&cli);
	if (optind >= argc) {
		print_main_usage(stderr);
		return EXIT_USAGE;
	}
	const struct command *cmd = find_command(argv[optind]);
	if (!cmd) {
		fprintf(stderr, "billrun: error: unknown command '%s'\nhint: see 'billrun --help'\n", argv[optind]);
		return EXIT_USAGE;
	}
	int cargc = argc - optind;
	char **cargv = argv + optind;
	if (cmd != &cmd_help && cli_wants_help(cargc, cargv)) {
		fputs(cmd->usage, stdout);
		return EXIT_OK;
	}
	optind = 0; /* reset getopt for the command's own options */
	int rc = cmd->fn(&cli, cargc, cargv, &e);
	int status = EXIT_OK;
	if (rc < 0) {
		if (e.kind == ERR_NONE)
			err_set(&e, ERR_INTERNAL, "command '%s' failed without saying why", cmd->name);
		print_error(&e);
		status = err_exit_status(e.kind);
	} else if (rc > 0) {
		status = rc;
	}
	if (cli.cfg_loaded)
		cfg_release(&cli.cfg);
	return status;
}
