/*
 * cmd_explain.c - `billrun explain ACCOUNT PERIOD`: how each charge of an
 * account's billing period was computed, from what was stored when it was
 * rated (quantities, tiers, prices, proration, FX, tax, rounding, rule
 * version), optionally down to the usage records. Read-only: it connects
 * as the auditor role and recomputes nothing.
 */
#include "charge.h"
#include "cli.h"
#include "cluster.h"
#include "db.h"
#include "rates.h"
#include "sqltext.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Columns of rate_explain_ratings. */
enum {
	R_ID, R_RUN, R_RULE, R_SHA, R_START, R_END, R_CLOSED, R_CURRENCY, R_ROUNDING, R_STATUS, R_REASON, R_DETAIL,
	R_SUBTOTAL, R_TAX, R_TOTAL, R_SNAPSHOT, R_ZONE, R_ANCHOR, R_FROM_UTC, R_TO_UTC, R_SECONDS, R_RECORDS,
	R_NOT_BILLABLE, R_SNAP_RUN, R_JURISDICTION, R_ACCOUNT_VERSION, R_CREATED
};
/* Columns of rate_explain_lines. */
enum {
	L_NO, L_KIND, L_PLAN, L_PLAN_FROM, L_CHARGE, L_METER, L_MODEL, L_GROUP, L_QTY, L_BILLABLE, L_PART, L_WHOLE,
	L_PRICE_CUR, L_PRICE_AMOUNT, L_FX, L_FX_INVERSE, L_FX_AS_OF, L_CURRENCY, L_UNROUNDED, L_AMOUNT, L_TAX_RATE,
	L_TAX_BASE, L_JURISDICTION, L_ID, L_RUN, L_RULE, D_AGGREGATION, D_RECORDS, D_RAW, D_FREE_UNITS, D_FREE,
	D_PACKAGE_SIZE, D_PACKAGES, D_AMOUNT, D_PRORATE, D_SUBSCRIPTION, D_FROM, D_TO, D_MINIMUM, D_REQUIRED,
	D_USAGE_TOTAL, D_MET, D_NAME, D_EFFECTIVE
};

#define V(res, row, c) PQgetvalue((res), (row), (c))

/* The currency's decimals: ISO 4217's, else (a currency the rate card
 * declares) those of an amount rounded to them. */
static int currency_decimals(const char *code, const char *rounded)
{
	int exponent = currency_iso_exponent(code);
	if (exponent >= 0)
		return exponent;
	const char *dot = strchr(rounded, '.');
	return dot ? (int)strlen(dot + 1) : 0;
}

/* Hours, with a remainder in seconds if any: "743 h". */
static void print_duration(const char *seconds)
{
	struct dec s, h, r;
	char hb[DEC_STR_MAX], rb[DEC_STR_MAX];
	if (dec_parse_cstr(&s, seconds) || dec_div(&h, s, dec_from_int(3600), 0, DEC_ROUND_DOWN)) {
		printf("%s s", seconds);
		return;
	}
	struct dec hs;
	dec_mul(&hs, h, dec_from_int(3600));
	dec_sub(&r, s, hs);
	dec_format(dec_normalize(h), hb, sizeof(hb));
	dec_format(dec_normalize(r), rb, sizeof(rb));
	if (dec_is_zero(r))
		printf("%s h", hb);
	else
		printf("%s h %s s", hb, rb);
}

static void print_fraction(const char *part, const char *whole)
{
	struct dec p, w, q;
	char qb[DEC_STR_MAX];
	if (dec_parse_cstr(&p, part) || dec_parse_cstr(&w, whole) || dec_div(&q, p, w, 6, DEC_ROUND_HALF_EVEN)) {
		printf("%s/%s", part, whole);
		return;
	}
	dec_format(q, qb, sizeof(qb));
	printf("%s s / %s s (", part, whole);
	print_duration(part);
	printf(" of ");
	print_duration(whole);
	printf(", %s)", qb);
}

static void print_steps(struct db *db, const char *line_id, const char *currency, struct err *e)
{
	const char *p[] = { line_id };
	PGresult *s = db_query(db, e, SQL_rate_explain_steps, 1, p);
	if (!s)
		return;
	for (int i = 0; i < PQntuples(s); i++) {
		const char *tier = V(s, i, 0), *to = V(s, i, 2);
		char range[128];
		if (strcmp(tier, "0") == 0)
			range[0] = '\0';
		else if (*to)
			snprintf(range, sizeof(range), "tier %s (above %s up to %s): ", tier, V(s, i, 1), to);
		else
			snprintf(range, sizeof(range), "tier %s (above %s): ", tier, V(s, i, 1));
		printf("       %s%s x %s %s", range, V(s, i, 3), V(s, i, 4), currency);
		if (strcmp(V(s, i, 5), "0") != 0)
			printf(" + flat %s", V(s, i, 5));
		printf(" = %s\n", V(s, i, 6));
	}
	PQclear(s);
}

/* The rounding, and the conversion when the price was in another currency. */
static void print_result(PGresult *l, int i, const char *rounding)
{
	const char *cur = V(l, i, L_CURRENCY), *pc = V(l, i, L_PRICE_CUR);
	int exponent = currency_decimals(cur, V(l, i, L_AMOUNT));
	if (*V(l, i, L_FX)) {
		if (V(l, i, L_FX_INVERSE)[0] == 't')
			printf("       converted: %s %s / %s (1 %s = %s %s, rate of %s) = %s %s\n", V(l, i, L_PRICE_AMOUNT),
			       pc, V(l, i, L_FX), cur, V(l, i, L_FX), pc, V(l, i, L_FX_AS_OF), V(l, i, L_UNROUNDED), cur);
		else
			printf("       converted: %s %s x %s (1 %s = %s %s, rate of %s) = %s %s\n", V(l, i, L_PRICE_AMOUNT),
			       pc, V(l, i, L_FX), pc, V(l, i, L_FX), cur, V(l, i, L_FX_AS_OF), V(l, i, L_UNROUNDED), cur);
	}
	printf("       amount %s %s, rounded %s to %d decimal%s: %s %s\n", V(l, i, L_UNROUNDED), cur, rounding,
	       exponent, exponent == 1 ? "" : "s", V(l, i, L_AMOUNT), cur);
}

static void print_line(struct db *db, PGresult *l, int i, const char *rounding, struct err *e)
{
	const char *kind = V(l, i, L_KIND), *pc = *V(l, i, L_PRICE_CUR) ? V(l, i, L_PRICE_CUR) : V(l, i, L_CURRENCY);

	printf("  %s. %s", V(l, i, L_NO), kind);
	if (*V(l, i, L_CHARGE))
		printf(" '%s'", V(l, i, L_CHARGE));
	if (*V(l, i, L_PLAN))
		printf(" of plan %s (version from %s)", V(l, i, L_PLAN), V(l, i, L_PLAN_FROM));
	if (*V(l, i, L_MODEL))
		printf(", %s", V(l, i, L_MODEL));
	printf(", tax group %s\n", V(l, i, L_GROUP));

	if (strcmp(kind, "usage") == 0) {
		if (strcmp(V(l, i, D_AGGREGATION), "none") == 0) {
			printf("       meter %s: no usage in the period\n", V(l, i, L_METER));
		} else {
			printf("       meter %s: %s = %s (%s records", V(l, i, L_METER), V(l, i, D_AGGREGATION),
			       V(l, i, L_QTY), V(l, i, D_RECORDS));
			if (strcmp(V(l, i, D_RAW), V(l, i, L_QTY)) != 0 && strcmp(V(l, i, D_AGGREGATION), "sum") == 0)
				printf(", %s before per-record rounding", V(l, i, D_RAW));
			printf(")\n");
		}
		if (strcmp(V(l, i, D_FREE), "0") != 0 || strcmp(V(l, i, D_FREE_UNITS), "0") != 0)
			printf("       free units %s: %s free, %s billable\n", V(l, i, D_FREE_UNITS), V(l, i, D_FREE),
			       V(l, i, L_BILLABLE));
		if (*V(l, i, D_PACKAGES))
			printf("       packages of %s: %s billable -> %s package%s (rounded up)\n", V(l, i, D_PACKAGE_SIZE),
			       V(l, i, L_BILLABLE), V(l, i, D_PACKAGES), strcmp(V(l, i, D_PACKAGES), "1") ? "s" : "");
		print_steps(db, V(l, i, L_ID), pc, e);
		printf("       charge %s %s\n", V(l, i, D_AMOUNT), pc);
	} else if (strcmp(kind, "recurring") == 0) {
		printf("       subscription %s from %s to %s\n", V(l, i, D_SUBSCRIPTION), V(l, i, D_FROM), V(l, i, D_TO));
		if (*V(l, i, L_PART)) {
			printf("       %s %s x ", V(l, i, D_AMOUNT), pc);
			print_fraction(V(l, i, L_PART), V(l, i, L_WHOLE));
			printf(" = %s %s\n", V(l, i, L_PRICE_AMOUNT), pc);
		} else {
			printf("       %s %s, not prorated\n", V(l, i, D_AMOUNT), pc);
		}
	} else if (strcmp(kind, "minimum") == 0) {
		printf("       minimum commitment %s %s", V(l, i, D_MINIMUM), pc);
		if (*V(l, i, L_PART)) {
			printf(" x ");
			print_fraction(V(l, i, L_PART), V(l, i, L_WHOLE));
		}
		printf("\n       required %s %s; usage charges billed %s %s: %s\n", V(l, i, D_REQUIRED),
		       V(l, i, L_CURRENCY), V(l, i, D_USAGE_TOTAL), V(l, i, L_CURRENCY),
		       strcmp(V(l, i, D_MET), "yes") == 0 ? "met, no true-up" : "the shortfall is billed");
	} else if (strcmp(kind, "tax") == 0) {
		printf("       %s, jurisdiction %s, rate %s (in force from %s) x base %s %s\n", V(l, i, D_NAME),
		       V(l, i, L_JURISDICTION), V(l, i, L_TAX_RATE), V(l, i, D_EFFECTIVE), V(l, i, L_TAX_BASE),
		       V(l, i, L_CURRENCY));
	}
	print_result(l, i, rounding);
}

static void print_records(struct db *db, const char *snapshot, const char *then, struct err *e)
{
	const char *p[] = { snapshot };
	PGresult *r = db_query(db, e, SQL_rate_explain_records, 1, p);
	if (!r)
		return;
	printf("\n  usage records (local time):\n");
	printf("  %-20s %-19s %-16s %14s %14s  %s\n", "usage_id", "event time", "meter", "quantity", "rated",
	       "source file:line key");
	for (int i = 0; i < PQntuples(r); i++)
		printf("  %-20s %-19s %-16s %14s %14s  %s %s:%s %s%s%s%s\n", V(r, i, 0), V(r, i, 1), V(r, i, 2),
		       V(r, i, 3), V(r, i, 4), V(r, i, 5), V(r, i, 6), V(r, i, 7), V(r, i, 8), *V(r, i, 9) ? " (" : "",
		       V(r, i, 9), *V(r, i, 9) ? ")" : "");
	if (PQntuples(r) != atoi(then))
		printf("  note: %d records now, %s when the period was aggregated: a later run will rate the "
		       "difference\n",
		       PQntuples(r), then);
	PQclear(r);
}

static int explain_one(struct db *db, PGresult *r, int i, int records, struct err *e)
{
	const char *cur = V(r, i, R_CURRENCY);
	int exponent = currency_decimals(cur, V(r, i, R_TOTAL));

	printf("period %s .. %s (local dates, %s, anchor day %s), %s\n", V(r, i, R_START), V(r, i, R_END),
	       V(r, i, R_ZONE), strcmp(V(r, i, R_ANCHOR), "0") ? V(r, i, R_ANCHOR) : "last",
	       V(r, i, R_CLOSED)[0] == 't' ? "closed" : "open (provisional: no minimum true-up yet)");
	printf("  from %s to %s: ", V(r, i, R_FROM_UTC), V(r, i, R_TO_UTC));
	print_duration(V(r, i, R_SECONDS));
	printf("\n  account version %s, currency %s (%d decimal%s), tax jurisdiction '%s'\n",
	       V(r, i, R_ACCOUNT_VERSION), cur, exponent, exponent == 1 ? "" : "s", V(r, i, R_JURISDICTION));
	printf("  rating %s by run %s at %s, rule version %s%s%.12s%s, rounding %s once per line\n", V(r, i, R_ID),
	       V(r, i, R_RUN), V(r, i, R_CREATED), V(r, i, R_RULE), *V(r, i, R_SHA) ? " (sha256 " : "",
	       V(r, i, R_SHA), *V(r, i, R_SHA) ? "...)" : "", V(r, i, R_ROUNDING));
	printf("  usage: %s records (%s of them not billable) aggregated by run %s (snapshot %s)\n", V(r, i, R_RECORDS),
	       V(r, i, R_NOT_BILLABLE), V(r, i, R_SNAP_RUN), V(r, i, R_SNAPSHOT));

	const char *sp[] = { V(r, i, R_SNAPSHOT) };
	PGresult *vals = db_query(db, e, SQL_rate_explain_values, 1, sp);
	if (!vals)
		return -1;
	for (int v = 0; v < PQntuples(vals); v++) {
		printf("  meter %-16s %-12s = %s (%s records", V(vals, v, 0), V(vals, v, 1), V(vals, v, 3),
		       V(vals, v, 4));
		if (*V(vals, v, 2))
			printf("; each rounded up to a multiple of %s: %s -> %s", V(vals, v, 2), V(vals, v, 5),
			       V(vals, v, 6));
		printf(")\n");
	}
	PQclear(vals);

	if (strcmp(V(r, i, R_STATUS), "held") == 0) {
		printf("  HELD (%s): %s\n  not invoiced until this is resolved; the rate step retries it\n",
		       V(r, i, R_REASON), V(r, i, R_DETAIL));
	} else {
		const char *lp[] = { V(r, i, R_ID) };
		PGresult *l = db_query(db, e, SQL_rate_explain_lines, 1, lp);
		if (!l)
			return -1;
		printf("\n");
		for (int k = 0; k < PQntuples(l); k++)
			print_line(db, l, k, V(r, i, R_ROUNDING), e);
		if (PQntuples(l) == 0)
			printf("  no charges\n");
		PQclear(l);
		printf("\n  subtotal %s %s, tax %s %s, total %s %s\n", V(r, i, R_SUBTOTAL), cur, V(r, i, R_TAX), cur,
		       V(r, i, R_TOTAL), cur);
	}
	if (records)
		print_records(db, V(r, i, R_SNAPSHOT), V(r, i, R_RECORDS), e);
	return 0;
}

static int explain(struct cli *cli, int argc, char **argv, struct err *e)
{
	static const struct option opts[] = { { "run", required_argument, NULL, 'r' },
					      { "records", no_argument, NULL, 'u' },
					      { NULL, 0, NULL, 0 } };
	const char *run = NULL;
	int records = 0, c;

	while ((c = getopt_long(argc, argv, "+r:u", opts, NULL)) != -1) {
		if (c == 'r')
			run = optarg;
		else if (c == 'u')
			records = 1;
		else
			return cli_usage_error(e, "explain", "bad option");
	}
	if (argc - optind != 2)
		return cli_usage_error(e, "explain", "'explain' needs ACCOUNT and PERIOD");
	const char *account = argv[optind], *period = argv[optind + 1];
	char date[16];
	const char *kind;
	if (strlen(period) == 7) {
		snprintf(date, sizeof(date), "%s-01", period);
		kind = "month";
	} else {
		snprintf(date, sizeof(date), "%s", period);
		kind = "day";
	}
	if (!rates_date_valid(date))
		return cli_usage_error(e, "explain", "period '%s' is not YYYY-MM or YYYY-MM-DD", period);
	if (run && strspn(run, "0123456789") != strlen(run))
		return cli_usage_error(e, "explain", "run '%s' is not a run id", run);
	if (cli_config(cli, 0, e))
		return -1;
	struct db *db = cluster_connect(&cli->cfg, DB_ROLE_AUDITOR, e);
	if (!db)
		return -1;
	const char *p[] = { account, date, kind, run };
	PGresult *r = db_query(db, e, SQL_rate_explain_ratings, 4, p);
	int rc = -1;
	if (!r)
		goto out;
	if (PQntuples(r) == 0) {
		err_set(e, ERR_NOT_FOUND, "account '%s' has no rating for %s%s%s", account, period, run ? " by run " : "",
			run ? run : "");
		err_hint(e, "check the account id ('billrun accounts show %s') and that the rate step has run", account);
		goto out;
	}
	printf("account %s\n", account);
	for (int i = 0; i < PQntuples(r); i++) {
		if (i)
			printf("\n");
		if (explain_one(db, r, i, records, e))
			goto out;
	}
	rc = 0;
out:
	PQclear(r);
	db_free(db);
	return rc;
}

const struct command cmd_explain = {
	"explain", explain, "show how an account's charges for a period were computed",
	"usage: billrun explain [--run RUN] [--records] ACCOUNT PERIOD\n"
	"\n"
	"Print how each charge of ACCOUNT's billing period was computed, from\n"
	"what the rate step stored: the period in the account's calendar and\n"
	"time zone, the aggregated meters, for each line the quantity, free\n"
	"units, tiers and prices, the proration fraction, the FX rate and its\n"
	"date, the tax rate and base, the unrounded amount and its rounding,\n"
	"and the rule version the run used.\n"
	"\n"
	"PERIOD is YYYY-MM (the periods starting in that month) or YYYY-MM-DD\n"
	"(the period containing that local day).\n"
	"\n"
	"  --run RUN   the rating made by run RUN instead of the current one\n"
	"              (e.g. to compare a dispute rerun with the original)\n"
	"  --records   also list the usage records behind the period\n"
	"\n"
	"Exit status: 0 printed; 65 no such account or rating; 69 database\n"
	"unavailable.\n"
};
