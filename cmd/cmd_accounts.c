/*
 * cmd_accounts.c - the reference data rating needs: `billrun accounts
 * import|show|periods`, `billrun subscriptions import` and `billrun fx
 * import`. Each import reads a CSV file with a header line and loads it in
 * one transaction: all rows or none, the first bad row named FILE:LINE.
 * History is only ever added to (type 2): see jobs/RATING.md.
 */
#include "charge.h"
#include "cli.h"
#include "cluster.h"
#include "db.h"
#include "log.h"
#include "rates.h"
#include "sqltext.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a small RFC 4180 reader: quoted fields, "" escapes, CRLF ---- */

#define CSV_MAX_FIELDS 32
#define CSV_MAX_LINE 8192

struct csv {
	FILE *f;
	const char *path;
	int line;           /* line the current record starts on */
	int next_line;
	char buf[CSV_MAX_LINE];
	char *field[CSV_MAX_FIELDS];
	int nfields;
};

/* Read the next record. Returns 1, 0 at the end, -1 with e set. Blank
 * lines and lines starting with '#' are skipped. */
static int csv_next(struct csv *c, struct err *e)
{
	for (;;) {
		size_t n = 0;
		int ch, quoted = 0, at_start = 1;
		c->nfields = 0;
		c->line = c->next_line;
		c->field[c->nfields++] = c->buf;
		while ((ch = fgetc(c->f)) != EOF) {
			if (ch == '\n')
				c->next_line++;
			if (quoted) {
				if (ch == '"') {
					int peek = fgetc(c->f);
					if (peek != '"') {
						quoted = 0;
						if (peek != EOF)
							ungetc(peek, c->f);
						continue;
					}
				}
			} else if (ch == '"' && at_start) {
				quoted = 1;
				at_start = 0;
				continue;
			} else if (ch == ',') {
				if (c->nfields == CSV_MAX_FIELDS)
					return err_set(e, ERR_INPUT, "%s:%d: more than %d fields", c->path, c->line,
						       CSV_MAX_FIELDS);
				c->buf[n++] = '\0';
				c->field[c->nfields++] = c->buf + n;
				at_start = 1;
				continue;
			} else if (ch == '\n') {
				break;
			} else if (ch == '\r') {
				continue;
			}
			at_start = 0;
			if (n + 2 >= sizeof(c->buf))
				return err_set(e, ERR_INPUT, "%s:%d: record longer than %d bytes", c->path, c->line,
					       CSV_MAX_LINE);
			c->buf[n++] = (char)ch;
		}
		c->buf[n] = '\0';
		if (quoted)
			return err_set(e, ERR_INPUT, "%s:%d: a quoted field is not closed", c->path, c->line);
		if (ch == EOF && n == 0 && c->nfields == 1)
			return 0;
		if ((c->nfields == 1 && n == 0) || c->buf[0] == '#')
			continue;
		return 1;
	}
}

/* Map the header's column names to the wanted ones; every required name
 * must be there, every name must be known. col[i] = field index or -1. */
static int csv_header(struct csv *c, const char *const *names, const int *required, int *col, struct err *e)
{
	int rc = csv_next(c, e);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return err_set(e, ERR_INPUT, "%s: the file is empty (a header line is expected)", c->path);
	for (int i = 0; names[i]; i++)
		col[i] = -1;
	for (int f = 0; f < c->nfields; f++) {
		int known = 0;
		for (int i = 0; names[i]; i++)
			if (strcmp(c->field[f], names[i]) == 0) {
				col[i] = f;
				known = 1;
			}
		if (!known) {
			char list[512] = "";
			for (int i = 0; names[i]; i++)
				snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? "," : "", names[i]);
			err_set(e, ERR_INPUT, "%s:%d: unknown column '%s'", c->path, c->line, c->field[f]);
			return err_hint(e, "the columns are %s", list);
		}
	}
	for (int i = 0; names[i]; i++)
		if (required[i] && col[i] < 0)
			return err_set(e, ERR_INPUT, "%s:%d: column '%s' is missing", c->path, c->line, names[i]);
	return 0;
}

/* The value of wanted column i in the current record ("" if absent). */
static const char *csv_get(const struct csv *c, const int *col, int i)
{
	return col[i] >= 0 && col[i] < c->nfields ? c->field[col[i]] : "";
}

static int csv_open(struct csv *c, const char *path, struct err *e)
{
	memset(c, 0, sizeof(*c));
	c->path = path;
	c->next_line = 1;
	c->f = fopen(path, "r");
	if (!c->f)
		return err_set(e, ERR_IO, "could not open '%s': %s", path, strerror(errno));
	return 0;
}

/* Turn a failed row into "FILE:LINE: message". A data error the
 * database raised about the row (SQLSTATE class 22 or 23: the checks in
 * 005_rating.sql's import functions) is bad input, told without the
 * statement's name; anything else stays what it was. */
static int row_error(struct err *e, const struct csv *c)
{
	if (strncmp(e->sqlstate, "22", 2) == 0 || strncmp(e->sqlstate, "23", 2) == 0) {
		const char *m = strstr(e->message, " failed: ");
		char msg[ERR_MSG_MAX];
		snprintf(msg, sizeof(msg), "%s", m && strncmp(e->message, "statement '", 11) == 0 ? m + 9 : e->message);
		snprintf(e->message, sizeof(e->message), "%s", msg);
		e->kind = ERR_INPUT;
	}
	return err_prefix(e, "%s:%d: ", c->path, c->line);
}

/* Import one CSV row with an import function that answers 'new',
 * 'changed' or 'unchanged', and count the answer. -1 with e set (naming
 * the row) when the row is refused. */
static int import_row(struct db *db, const char *sql, int nparams, const char *const *params, struct csv *c,
		      int counts[3], struct err *e)
{
	PGresult *res = db_query(db, e, sql, nparams, params);
	if (!res) {
		row_error(e, c);
		return -1;
	}
	const char *what = PQgetvalue(res, 0, 0);
	counts[strcmp(what, "new") == 0 ? 0 : strcmp(what, "changed") == 0 ? 1 : 2]++;
	PQclear(res);
	return 0;
}

/* ---- billrun accounts import ---- */

enum {
	A_ID, A_NAME, A_ZONE, A_ANCHOR, A_CURRENCY, A_TAX, A_COST, A_EMAIL, A_LINE1, A_LINE2, A_CITY, A_POSTCODE,
	A_COUNTRY, A_VAT, A_ENDPOINT, A_B2B, A_FROM, A_NCOLS
};

/* b2b: true/yes/1 or false/no/0/empty. -1 for anything else. */
static int parse_b2b(const char *s)
{
	if (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0 || strcmp(s, "1") == 0)
		return 1;
	if (!*s || strcmp(s, "false") == 0 || strcmp(s, "no") == 0 || strcmp(s, "0") == 0)
		return 0;
	return -1;
}

/* An ISO 3166-1 alpha-2 code (two capitals), or empty. */
static int country_valid(const char *s)
{
	return !*s || (strlen(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z');
}

/* An electronic address SCHEME:ID (a Peppol EAS code: 2 to 4 digits or
 * capitals, e.g. 0088:4035811991021 or EM:ap@example.com), or empty. */
static int endpoint_valid(const char *s)
{
	if (!*s)
		return 1;
	const char *colon = strchr(s, ':');
	if (!colon || colon - s < 2 || colon - s > 4 || !colon[1])
		return 0;
	for (const char *q = s; q < colon; q++)
		if (!((*q >= '0' && *q <= '9') || (*q >= 'A' && *q <= 'Z')))
			return 0;
	return 1;
}

static int parse_anchor(const char *s, char *out, size_t size)
{
	if (strcmp(s, "last") == 0 || strcmp(s, "31") == 0) {
		snprintf(out, size, "0");
		return 0;
	}
	char *end;
	long v = strtol(s, &end, 10);
	if (!*s || *end || v < 1 || v > 28)
		return -1;
	snprintf(out, size, "%ld", v);
	return 0;
}

struct zone_cache {
	char names[64][64];
	int n;
};

static int zone_known(struct db *db, struct zone_cache *zc, const char *zone, struct err *e)
{
	for (int i = 0; i < zc->n; i++)
		if (strcmp(zc->names[i], zone) == 0)
			return 1;
	const char *p[] = { zone };
	PGresult *res = db_query(db, e, SQL_rate_zone_known, 1, p);
	if (!res)
		return -1;
	int known = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (known && zc->n < 64 && strlen(zone) < 64)
		snprintf(zc->names[zc->n++], 64, "%s", zone);
	return known;
}

static int accounts_import(struct cli *cli, int argc, char **argv, struct err *e)
{
	static const char *const names[] = { "external_id", "name", "time_zone", "anchor_day", "currency",
					     "tax_jurisdiction", "cost_centre", "email", "address_line1",
					     "address_line2", "city", "postcode", "country", "vat_id", "endpoint",
					     "b2b", "valid_from", NULL };
	static const int required[A_NCOLS] = { 1, 0, 1, 1, 1 };
	int col[A_NCOLS], counts[3] = { 0, 0, 0 };
	struct csv c;
	struct zone_cache zc = { .n = 0 };
	struct db *db = NULL;
	int rc = -1;

	if (argc != 2)
		return cli_usage_error(e, "accounts", "'accounts import' needs one FILE");
	if (csv_open(&c, argv[1], e))
		return -1;
	if (csv_header(&c, names, required, col, e))
		goto out;
	db = cluster_connect(&cli->cfg, DB_ROLE_APP, e);
	if (!db || db_begin(db, e))
		goto out;
	int r;
	while ((r = csv_next(&c, e)) > 0) {
		const char *id = csv_get(&c, col, A_ID), *zone = csv_get(&c, col, A_ZONE);
		const char *currency = csv_get(&c, col, A_CURRENCY), *from = csv_get(&c, col, A_FROM);
		char anchor[8];
		if (!*id) {
			err_set(e, ERR_INPUT, "%s:%d: external_id is empty", c.path, c.line);
			goto out;
		}
		if (parse_anchor(csv_get(&c, col, A_ANCHOR), anchor, sizeof(anchor))) {
			err_set(e, ERR_INPUT, "%s:%d: anchor_day '%s' of account '%s' is not 1 to 28, 31 or last", c.path,
				c.line, csv_get(&c, col, A_ANCHOR), id);
			err_hint(e, "31 and 'last' bill on each month's last day; 29 and 30 are not offered because "
				    "February would move them");
			goto out;
		}
		if (currency_iso_exponent(currency) < 0) {
			err_set(e, ERR_INPUT, "%s:%d: currency '%s' of account '%s' is not an ISO 4217 code", c.path,
				c.line, currency, id);
			goto out;
		}
		int known = zone_known(db, &zc, zone, e);
		if (known < 0)
			goto out;
		if (!known) {
			err_set(e, ERR_INPUT, "%s:%d: time zone '%s' of account '%s' is not an IANA time zone name",
				c.path, c.line, zone, id);
			err_hint(e, "use a name like Europe/Berlin or America/New_York (see pg_timezone_names)");
			goto out;
		}
		const char *country = csv_get(&c, col, A_COUNTRY), *endpoint = csv_get(&c, col, A_ENDPOINT);
		int b2b = parse_b2b(csv_get(&c, col, A_B2B));
		if (!country_valid(country)) {
			err_set(e, ERR_INPUT, "%s:%d: country '%s' of account '%s' is not an ISO 3166-1 alpha-2 code",
				c.path, c.line, country, id);
			err_hint(e, "two capital letters, e.g. DE, FR, NL; empty when not known");
			goto out;
		}
		if (!endpoint_valid(endpoint)) {
			err_set(e, ERR_INPUT, "%s:%d: endpoint '%s' of account '%s' is not SCHEME:ID", c.path, c.line,
				endpoint, id);
			err_hint(e, "a Peppol electronic address scheme and the id, e.g. 0088:4035811991021 or "
				    "EM:ap@example.com; empty for none");
			goto out;
		}
		if (b2b < 0) {
			err_set(e, ERR_INPUT, "%s:%d: b2b '%s' of account '%s' is not true or false", c.path, c.line,
				csv_get(&c, col, A_B2B), id);
			goto out;
		}
		const char *p[] = { id, csv_get(&c, col, A_NAME), zone, anchor, currency, csv_get(&c, col, A_TAX),
				    csv_get(&c, col, A_COST), csv_get(&c, col, A_EMAIL), csv_get(&c, col, A_LINE1),
				    csv_get(&c, col, A_LINE2), csv_get(&c, col, A_CITY), csv_get(&c, col, A_POSTCODE),
				    country, csv_get(&c, col, A_VAT), endpoint, b2b ? "true" : "false",
				    *from ? from : NULL };
		if (import_row(db, SQL_rate_account_import, 17, p, &c, counts, e))
			goto out;
	}
	if (r < 0 || db_commit(db, e))
		goto out;
	printf("accounts: %d new, %d changed (a new version each), %d unchanged\n", counts[0], counts[1], counts[2]);
	rc = 0;
out:
	if (rc && db)
		db_rollback(db);
	db_free(db);
	fclose(c.f);
	return rc;
}

/* ---- billrun accounts show / periods ---- */

static int accounts_show(struct cli *cli, int argc, char **argv, struct err *e)
{
	if (argc != 2)
		return cli_usage_error(e, "accounts", "'accounts show' needs one ACCOUNT");
	struct db *db = cluster_connect(&cli->cfg, DB_ROLE_AUDITOR, e);
	if (!db)
		return -1;
	const char *p[] = { argv[1] };
	PGresult *v = db_query(db, e, SQL_rate_account_versions, 1, p);
	PGresult *s = v ? db_query(db, e, SQL_rate_account_subscriptions, 1, p) : NULL;
	int rc = -1;
	if (!s)
		goto out;
	if (PQntuples(v) == 0) {
		err_set(e, ERR_NOT_FOUND, "account '%s' is not known", argv[1]);
		goto out;
	}
	printf("account %s\n", argv[1]);
	for (int i = 0; i < PQntuples(v); i++) {
		printf("  version %s  %s .. %s  name '%s'  zone %s  anchor %s  currency %s  tax '%s'  cost centre '%s'\n",
		       PQgetvalue(v, i, 0), PQgetvalue(v, i, 1), *PQgetvalue(v, i, 2) ? PQgetvalue(v, i, 2) : "open",
		       PQgetvalue(v, i, 3), PQgetvalue(v, i, 4),
		       strcmp(PQgetvalue(v, i, 5), "0") ? PQgetvalue(v, i, 5) : "last", PQgetvalue(v, i, 6),
		       PQgetvalue(v, i, 7), PQgetvalue(v, i, 8));
		printf("           address '%s'  VAT id '%s'  endpoint '%s'  %s\n", PQgetvalue(v, i, 9),
		       PQgetvalue(v, i, 10), PQgetvalue(v, i, 11),
		       PQgetvalue(v, i, 12)[0] == 't' ? "business (b2b)" : "consumer");
	}
	for (int i = 0; i < PQntuples(s); i++)
		printf("  plan %-12s %s .. %s\n", PQgetvalue(s, i, 0), PQgetvalue(s, i, 1),
		       *PQgetvalue(s, i, 2) ? PQgetvalue(s, i, 2) : "open");
	if (PQntuples(s) == 0)
		printf("  no subscriptions\n");
	rc = 0;
out:
	PQclear(v);
	PQclear(s);
	db_free(db);
	return rc;
}

static int accounts_periods(struct cli *cli, int argc, char **argv, struct err *e)
{
	if (argc != 4 || !rates_date_valid(argv[2]) || !rates_date_valid(argv[3]))
		return cli_usage_error(e, "accounts", "'accounts periods' needs ACCOUNT FROM TO (dates YYYY-MM-DD)");
	struct db *db = cluster_connect(&cli->cfg, DB_ROLE_AUDITOR, e);
	if (!db)
		return -1;
	const char *p[] = { argv[1], argv[2], argv[3] };
	PGresult *res = db_query(db, e, SQL_rate_account_periods, 3, p);
	db_free(db);
	if (!res)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return err_set(e, ERR_NOT_FOUND, "account '%s' is not known", argv[1]);
	}
	printf("%-10s  %-10s  %-20s  %-20s  %5s  %s\n", "from", "to", "starts (UTC)", "ends (UTC)", "hours", "zone");
	for (int i = 0; i < PQntuples(res); i++)
		printf("%-10s  %-10s  %-20s  %-20s  %5s  %s, anchor %s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
		       PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), PQgetvalue(res, i, 6), PQgetvalue(res, i, 4),
		       strcmp(PQgetvalue(res, i, 5), "0") ? PQgetvalue(res, i, 5) : "last");
	PQclear(res);
	return 0;
}

static int accounts_main(struct cli *cli, int argc, char **argv, struct err *e)
{
	if (argc < 2)
		return cli_usage_error(e, "accounts", "'accounts' needs a subcommand: import, show or periods");
	if (cli_config(cli, 0, e))
		return -1;
	if (strcmp(argv[1], "import") == 0)
		return accounts_import(cli, argc - 1, argv + 1, e);
	if (strcmp(argv[1], "show") == 0)
		return accounts_show(cli, argc - 1, argv + 1, e);
	if (strcmp(argv[1], "periods") == 0)
		return accounts_periods(cli, argc - 1, argv + 1, e);
	return cli_usage_error(e, "accounts", "unknown subcommand 'accounts %s'", argv[1]);
}

const struct command cmd_accounts = {
	"accounts", accounts_main, "import accounts, show one, list its billing periods",
	"usage: billrun accounts import FILE\n"
	"       billrun accounts show ACCOUNT\n"
	"       billrun accounts periods ACCOUNT FROM TO\n"
	"\n"
	"import   load accounts from a CSV file with a header line. Columns:\n"
	"           external_id       the customer's id (required)\n"
	"           time_zone         IANA name, e.g. Europe/Berlin (required)\n"
	"           anchor_day        1 to 28, or 31 / last for each month's last\n"
	"                             day (required); billing periods start there\n"
	"           currency          ISO 4217 code (required)\n"
	"           name              the buyer's legal name on its invoices\n"
	"           tax_jurisdiction, cost_centre, email\n"
	"           address_line1, address_line2, city, postcode\n"
	"           country           ISO 3166-1 alpha-2, e.g. DE\n"
	"           vat_id            VAT identifier with its prefix, e.g. FR12345678901\n"
	"           endpoint          electronic address SCHEME:ID for the e-invoice\n"
	"                             (default: EM:email)\n"
	"           b2b               true: billed business to business; in the\n"
	"                             EU its invoices need name, address, country\n"
	"                             and vat_id, else its periods are held\n"
	"           valid_from        when this version starts: a date (local\n"
	"                             midnight in its time zone) or a time with\n"
	"                             an offset; default now\n"
	"         A new id adds an account; a changed one closes its current\n"
	"         version at valid_from and adds the next (history is kept);\n"
	"         an unchanged one is left alone, so a file can be imported\n"
	"         again. All rows or none are loaded.\n"
	"show     print an account's versions and subscriptions.\n"
	"periods  print the account's billing periods overlapping the local\n"
	"         dates FROM .. TO, with their instants in UTC and length.\n"
	"\n"
	"Exit status: 0 done; 65 a bad row (named FILE:LINE) or unknown account;\n"
	"69 database unavailable; 74 the file cannot be read.\n"
};

/* ---- billrun subscriptions import ---- */

enum { S_ACCOUNT, S_PLAN, S_FROM, S_TO };

static int subscriptions_import(struct cli *cli, const char *path, struct err *e)
{
	static const char *const names[] = { "account", "plan", "valid_from", "valid_to", NULL };
	static const int required[] = { 1, 1, 1, 0 };
	int col[4], counts[3] = { 0, 0, 0 };
	struct csv c;
	struct db *db = NULL;
	struct rate_card card;
	struct err ce;
	int have_card, rc = -1;

	/* Plans are checked against the current rate card when it loads. */
	err_clear(&ce);
	have_card = rates_load_file(&card, cli->cfg.rules_file, &ce) == 0;
	if (!have_card)
		log_warn("plans are not checked: %s", ce.message);
	if (csv_open(&c, path, e))
		goto out_card;
	if (csv_header(&c, names, required, col, e))
		goto out;
	db = cluster_connect(&cli->cfg, DB_ROLE_APP, e);
	if (!db || db_begin(db, e))
		goto out;
	int r;
	while ((r = csv_next(&c, e)) > 0) {
		const char *plan = csv_get(&c, col, S_PLAN), *to = csv_get(&c, col, S_TO);
		if (have_card && *plan && !rates_plan_known(&card, plan)) {
			err_set(e, ERR_INPUT, "%s:%d: plan '%s' is not in the rate card '%s'", c.path, c.line, plan,
				card.source);
			goto out;
		}
		const char *p[] = { csv_get(&c, col, S_ACCOUNT), plan, csv_get(&c, col, S_FROM), *to ? to : NULL };
		if (import_row(db, SQL_rate_subscription_import, 4, p, &c, counts, e))
			goto out;
	}
	if (r < 0 || db_commit(db, e))
		goto out;
	printf("subscriptions: %d new, %d changed, %d unchanged\n", counts[0], counts[1], counts[2]);
	rc = 0;
out:
	if (rc && db)
		db_rollback(db);
	db_free(db);
	fclose(c.f);
out_card:
	if (have_card)
		rates_release(&card);
	return rc;
}

static int subscriptions_main(struct cli *cli, int argc, char **argv, struct err *e)
{
	if (argc != 3 || strcmp(argv[1], "import") != 0)
		return cli_usage_error(e, "subscriptions", "use 'subscriptions import FILE'");
	if (cli_config(cli, 0, e))
		return -1;
	return subscriptions_import(cli, argv[2], e);
}

const struct command cmd_subscriptions = {
	"subscriptions", subscriptions_main, "import which plan each account is on, and when",
	"usage: billrun subscriptions import FILE\n"
	"\n"
	"Load subscriptions from a CSV file with a header line. Columns:\n"
	"  account      the account's external id (imported before)\n"
	"  plan         a plan id of the rate card; empty ends the subscription\n"
	"  valid_from   a date (local midnight in the account's time zone) or a\n"
	"               time with an offset\n"
	"  valid_to     optional end, the same way\n"
	"A row for a new plan closes the open subscription at valid_from: a\n"
	"change in mid-period prorates recurring fees (see jobs/RATING.md). A\n"
	"row naming the open plan from a later valid_from and without valid_to\n"
	"says nothing new (a subscription has no other attribute): unchanged;\n"
	"with a valid_to it is a new version of that plan ending then. A\n"
	"row that is already there changes nothing. History is only added to: a\n"
	"row starting before the latest subscription is refused. All rows or\n"
	"none are loaded. Plans are checked against rules.file.\n"
	"\n"
	"Exit status: 0 done; 65 a bad row (named FILE:LINE); 69 database\n"
	"unavailable; 74 the file cannot be read.\n"
};

/* ---- billrun fx import ---- */

enum { F_DATE, F_BASE, F_QUOTE, F_RATE, F_SOURCE };

static int fx_import(struct cli *cli, const char *path, struct err *e)
{
	static const char *const names[] = { "date", "base", "quote", "rate", "source", NULL };
	static const int required[] = { 1, 1, 1, 1, 0 };
	int col[5], added = 0, same = 0;
	struct csv c;
	struct db *db = NULL;
	int rc = -1;

	if (csv_open(&c, path, e))
		return -1;
	if (csv_header(&c, names, required, col, e))
		goto out;
	db = cluster_connect(&cli->cfg, DB_ROLE_APP, e);
	if (!db || db_begin(db, e))
		goto out;
	int r;
	while ((r = csv_next(&c, e)) > 0) {
		const char *date = csv_get(&c, col, F_DATE), *base = csv_get(&c, col, F_BASE);
		const char *quote = csv_get(&c, col, F_QUOTE), *rate = csv_get(&c, col, F_RATE);
		struct dec d;
		if (!rates_date_valid(date)) {
			err_set(e, ERR_INPUT, "%s:%d: date '%s' is not YYYY-MM-DD", c.path, c.line, date);
			goto out;
		}
		if (strlen(base) != 3 || strlen(quote) != 3 || strcmp(base, quote) == 0) {
			err_set(e, ERR_INPUT, "%s:%d: '%s' to '%s' is not a pair of different currency codes", c.path,
				c.line, base, quote);
			goto out;
		}
		if (dec_parse_cstr(&d, rate) || dec_sign(d) <= 0) {
			err_set(e, ERR_INPUT, "%s:%d: rate '%s' is not a positive decimal number", c.path, c.line, rate);
			goto out;
		}
		const char *p[] = { date, base, quote, rate, csv_get(&c, col, F_SOURCE) };
		PGresult *res = db_query(db, e, SQL_rate_fx_import, 5, p);
		if (!res) {
			row_error(e, &c);
			goto out;
		}
		if (strcmp(PQgetvalue(res, 0, 0), "0") == 0)
			same++;
		else
			added++;
		PQclear(res);
	}
	if (r < 0 || db_commit(db, e))
		goto out;
	printf("fx rates: %d added, %d already there\n", added, same);
	rc = 0;
out:
	if (rc && db)
		db_rollback(db);
	db_free(db);
	fclose(c.f);
	return rc;
}

static int fx_main(struct cli *cli, int argc, char **argv, struct err *e)
{
	if (argc != 3 || strcmp(argv[1], "import") != 0)
		return cli_usage_error(e, "fx", "use 'fx import FILE'");
	if (cli_config(cli, 0, e))
		return -1;
	return fx_import(cli, argv[2], e);
}

const struct command cmd_fx = {
	"fx", fx_main, "import currency exchange rates",
	"usage: billrun fx import FILE\n"
	"\n"
	"Load exchange rates from a CSV file with a header line. Columns:\n"
	"  date     the day the rate was published (YYYY-MM-DD)\n"
	"  base     the currency converted from (ISO 4217)\n"
	"  quote    the currency converted into\n"
	"  rate     1 base = rate quote, an exact decimal (e.g. 1.0829)\n"
	"  source   optional, e.g. ECB\n"
	"Rates are never changed: a correction is a new row for the same date,\n"
	"and the newest row wins. A row already stored (same date, pair and\n"
	"rate) is skipped, so importing an older file again never undoes a\n"
	"correction. Rating converts at the latest rate published\n"
	"on or before the period's last day, quoted either way round, and\n"
	"records the rate on each line.\n"
	"\n"
	"Exit status: 0 done; 65 a bad row (named FILE:LINE); 69 database\n"
	"unavailable; 74 the file cannot be read.\n"
};
