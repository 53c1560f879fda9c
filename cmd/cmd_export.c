/*
 * cmd_export.c - `billrun export --masked`: a period's usage as CSV for
 * non-production use, with deterministic HMAC-SHA256 tokens (core/mask.h)
 * in place of personal data, read as the auditor role. Neither the values
 * nor their tokens are ever logged.
 */
#include "cli.h"
#include "cluster.h"
#include "db.h"
#include "fs.h"
#include "log.h"
#include "mask.h"
#include "period.h"
#include "sqltext.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Columns of export_usage_cursor, and how each is written. */
enum how { PLAIN, TOKEN, TOKEN_NONEMPTY, JSON };

static const struct {
	const char *name;
	enum how how;
} columns[] = {
	{ "usage_id", PLAIN },      { "source", PLAIN },        { "event_key", TOKEN },
	{ "file_id", PLAIN },       { "line_no", PLAIN },       { "account", PLAIN },
	{ "account_name", TOKEN_NONEMPTY }, { "account_email", TOKEN_NONEMPTY }, { "meter", PLAIN },
	{ "event_time", PLAIN },    { "quantity", PLAIN },      { "cost", PLAIN },
	{ "currency", PLAIN },      { "billable", PLAIN },      { "attributes", JSON },
};
#define NCOLUMNS (sizeof(columns) / sizeof(columns[0]))

/* RFC 4180: quote a field that holds a comma, a quote or a line break. */
static void csv_field(FILE *out, const char *s, size_t len)
{
	if (strcspn(s, ",\"\r\n") >= len) {
		fwrite(s, 1, len, out);
		return;
	}
	fputc('"', out);
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"')
			fputc('"', out);
		fputc(s[i], out);
	}
	fputc('"', out);
}

static int write_rows(const struct mask *m, PGresult *res, FILE *out, struct err *e)
{
	char tok[MASK_TOKEN_LEN + 1];
	for (int r = 0; r < PQntuples(res); r++) {
		for (size_t c = 0; c < NCOLUMNS; c++) {
			const char *v = PQgetvalue(res, r, (int)c);
			size_t len = (size_t)PQgetlength(res, r, (int)c);
			if (c)
				fputc(',', out);
			switch (columns[c].how) {
			case PLAIN:
				csv_field(out, v, len);
				break;
			case TOKEN_NONEMPTY:
				if (len == 0)
					break;
				/* fall through */
			case TOKEN:
				mask_token(m, v, len, tok);
				fputs(tok, out);
				break;
			case JSON: {
				if (len == 0)
					break;
				size_t n = 0;
				char *masked = mask_json(m, v, len, &n, e);
				if (!masked)
					return err_prefix(e, "usage record %s: ", PQgetvalue(res, r, 0));
				csv_field(out, masked, n);
				free(masked);
				break;
			}
			}
		}
		fputc('\n', out);
	}
	return ferror(out) ? err_set(e, ERR_IO, "could not write the export: %s", strerror(errno)) : 0;
}

static int export_main(struct cli *cli, int argc, char **argv, struct err *e)
{
	static const struct option opts[] = {
		{ "masked", no_argument, NULL, 'm' }, { "period", required_argument, NULL, 'p' },
		{ "out", required_argument, NULL, 'o' }, { 0 }
	};
	const char *period_text = NULL, *out_path = NULL;
	int masked = 0, c;

	while ((c = getopt_long(argc, argv, "mp:o:", opts, NULL)) != -1) {
		switch (c) {
		case 'm': masked = 1; break;
		case 'p': period_text = optarg; break;
		case 'o': out_path = optarg; break;
		default: return cli_usage_error(e, "export", "bad option");
		}
	}
	if (optind < argc)
		return cli_usage_error(e, "export", "unexpected argument '%s'", argv[optind]);
	if (!masked)
		return cli_usage_error(e, "export", "only masked exports exist: give --masked");
	if (!period_text)
		return cli_usage_error(e, "export", "give the period: --period YYYY-MM or YYYY-MM-DD");
	struct period p;
	if (period_parse(&p, strlen(period_text) == 7 ? "month" : "day", period_text, e))
		return -1;
	if (cli_config(cli, 0, e))
		return -1;
	static struct mask m;
	if (mask_init(&m, cli->cfg.export_hmac_key, e))
		return -1;

	int rc = -1;
	long long rows = 0;
	char tmp[4200] = "";
	FILE *out = stdout;
	struct db *db = cluster_connect(&cli->cfg, DB_ROLE_AUDITOR, e);
	if (!db)
		goto out;
	int64_t present = 0;
	if (db_query_int64(db, e, &present, "SELECT (to_regclass('usage') IS NOT NULL)::int", 0, NULL) < 0)
		goto out;
	if (!present) {
		err_set(e, ERR_NOT_FOUND, "there is no usage table to export");
		err_hint(e, "the ingest migration (004_ingest.sql) has not been applied: run 'billrun db migrate'");
		goto out;
	}
	if (out_path) {
		snprintf(tmp, sizeof(tmp), "%s.tmp", out_path);
		out = fopen(tmp, "w");
		if (!out) {
			fs_error(e, "create", tmp, errno);
			tmp[0] = '\0';
			out = stdout;
			goto out;
		}
	}
	const char *params[] = { p.start, p.end };
	if (db_begin(db, e) || db_exec(db, e, SQL_export_snapshot, 0, NULL) ||
	    db_exec(db, e, SQL_export_usage_cursor, 2, params))
		goto out;
	for (size_t i = 0; i < NCOLUMNS; i++)
		fprintf(out, "%s%s", i ? "," : "", columns[i].name);
	fputc('\n', out);
	for (;;) {
		PGresult *res = db_query(db, e, SQL_export_usage_fetch, 0, NULL);
		if (!res)
			goto out;
		int n = PQntuples(res);
		int bad = write_rows(&m, res, out, e);
		PQclear(res);
		if (bad)
			goto out;
		rows += n;
		if (n == 0)
			break;
	}
	db_rollback(db);
	if (out != stdout) {
		if (fflush(out) != 0 || fsync(fileno(out)) != 0 || fclose(out) != 0) {
			out = stdout;
			fs_write_error(e, tmp, errno);
			goto out;
		}
		out = stdout;
		if (rename(tmp, out_path) != 0) {
			err_set(e, ERR_IO, "could not rename '%s' to '%s': %s", tmp, out_path, strerror(errno));
			goto out;
		}
		tmp[0] = '\0';
	} else {
		fflush(stdout);
	}
	log_info("export: %lld usage records of %s to %s written to %s, personal fields masked", rows, p.start,
		 p.end, out_path ? out_path : "standard output");
	rc = 0;
out:
	if (db)
		db_rollback(db);
	db_free(db);
	if (out != stdout)
		fclose(out);
	if (tmp[0])
		unlink(tmp);
	mask_release(&m);
	return rc;
}

const struct command cmd_export = {
	"export", export_main, "export a period's usage with personal data masked",
	"usage: billrun export --masked --period PERIOD [--out FILE]\n"
	"\n"
	"Write the usage records of PERIOD (YYYY-MM: a month, YYYY-MM-DD: a day;\n"
	"by event time in UTC) as CSV, for use outside production. Personal data\n"
	"is replaced by deterministic tokens, tok_ and 32 hex digits of\n"
	"HMAC-SHA256 under export.hmac_key: the event key, the account's name\n"
	"and e-mail, and in the attributes every value under a personal name\n"
	"(calling and called numbers, caller ids, names, e-mail addresses; the\n"
	"list is in core/mask.c) and every value that looks like an e-mail\n"
	"address. The same value always gives the same token, so joins and\n"
	"counts still work; without the key the values cannot be recovered.\n"
	"Neither values nor tokens are logged. --out writes FILE atomically\n"
	"(default: standard output). Reads as the auditor role.\n"
	"\n"
	"Exit status: 0 written; 64 usage; 65 no usage table (run 'billrun db\n"
	"migrate'); 78 export.hmac_key missing or shorter than 16 bytes.\n"
};
