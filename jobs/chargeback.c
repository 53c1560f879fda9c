/*
 * chargeback.c - the chargeback step: for FOCUS usage (cloud cost exports,
 * usage.cost not NULL), one CSV per cost centre (accounts.cost_centre) and
 * billing period with what each account's services cost, what each account
 * is charged for the period (its rating's pre-tax subtotal, the amount the
 * reconcile step compared with BilledCost), and the totals per currency.
 * The same report serves showback (shown, not charged). Totals are exact
 * sums of the BilledCost values as ingested (numeric in PostgreSQL, struct
 * dec here) and of the charges, recorded in chargeback_reports in the
 * transaction of the done mark; the files are renamed into
 * OUTPUT/chargeback when it commits.
 */
#include "cfg.h"
#include "db.h"
#include "dec.h"
#include "err.h"
#include "fs.h"
#include "hash.h"
#include "job.h"
#include "log.h"
#include "sqltext.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Columns of chargeback_rows. */
enum { R_CC, R_START, R_LAST, R_ACCOUNT, R_NAME, R_SERVICE, R_CATEGORY, R_CURRENCY, R_RECORDS, R_QUANTITY, R_COST,
       R_END, R_CHARGED, R_CHARGED_CURRENCY };

#define MAX_CURRENCIES 16

struct total {
	char currency[8];
	struct dec cost;
	struct dec charged;
	long long records;
	long long accounts;
	long long unrated;
	char last_account[256];
};

static void csv_field(FILE *f, const char *s, int first)
{
	if (!first)
		fputc(',', f);
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* A file name for a cost centre: itself when it is safe, else the safe
 * characters and a short hash of the original (no two collide). */
static void file_name(const char *cc, const char *period, char *buf, size_t size)
{
	char safe[128];
	size_t n = 0;
	int changed = !*cc;
	for (const char *p = *cc ? cc : "unassigned"; *p && n + 1 < sizeof(safe); p++) {
		char c = *p;
		int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
			 c == '_' || c == '-';
		safe[n++] = ok ? c : '_';
		changed |= !ok;
	}
	safe[n] = '\0';
	if (changed && *cc) {
		char hex[SHA256_HEX_LEN + 1];
		hash_sha256_hex(cc, strlen(cc), hex);
		snprintf(buf, size, "chargeback-%s-%.8s-%s.csv", safe, hex, period);
	} else {
		snprintf(buf, size, "chargeback-%s-%s.csv", safe, period);
	}
}

static int remove_flat_dir(const char *dir, struct err *e)
{
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : err_set(e, ERR_IO, "could not open '%s': %s", dir, strerror(errno));
	struct dirent *de;
	char path[4600];
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	if (rmdir(dir) != 0)
		return err_set(e, ERR_IO, "could not remove '%s': %s", dir, strerror(errno));
	return 0;
}

/* The total of `currency` among totals[0..*n), added when new. */
static struct total *total_of(struct total *totals, int *n, const char *currency, const char *cc, struct err *e)
{
	for (int t = 0; t < *n; t++)
		if (strcmp(totals[t].currency, currency) == 0)
			return &totals[t];
	if (*n == MAX_CURRENCIES) {
		err_set(e, ERR_INPUT, "chargeback: cost centre '%s' has more than %d currencies", cc, MAX_CURRENCIES);
		return NULL;
	}
	struct total *t = &totals[(*n)++];
	memset(t, 0, sizeof(*t));
	snprintf(t->currency, sizeof(t->currency), "%s", currency);
	t->cost = t->charged = dec_zero();
	return t;
}

static int add_value(struct dec *sum, const char *value, const char *what, const char *account, struct err *e)
{
	struct dec v;
	if (dec_parse_cstr(&v, value) || dec_add(sum, *sum, v))
		return err_set(e, ERR_INPUT, "chargeback: %s '%s' of account '%s' is out of range", what, value, account);
	return 0;
}

/* One row: its kind, the row's columns R_CC..`shown` of `res` (the later
 * ones up to R_CATEGORY empty), currency, records, consumed quantity (item
 * rows only), billed cost and charge. */
static void report_row(FILE *f, const char *kind, PGresult *res, int row, int shown, const char *currency,
		       const char *records, const char *cost, const char *charged)
{
	int item = strcmp(kind, "item") == 0;
	csv_field(f, kind, 1);
	for (int c = R_CC; c <= R_CATEGORY; c++)
		csv_field(f, c <= shown ? PQgetvalue(res, row, c) : "", 0);
	csv_field(f, currency, 0);
	csv_field(f, records, 0);
	csv_field(f, item ? PQgetvalue(res, row, R_QUANTITY) : "", 0);
	csv_field(f, cost, 0);
	csv_field(f, charged, 0);
	fputs("\r\n", f);
}

/* The account row closing an account's items [from, to): what the cost
 * centre is charged for the account period (chargeback_charge(), the same
 * amount the reconcile step compared with BilledCost), next to the
 * account's billed cost and records in the currency charged. An account
 * period that is not rated (held, or no plan) has an empty charge. */
static int account_row(FILE *f, PGresult *res, int from, int to, struct total *totals, int *ntotals, const char *cc,
		       struct err *e)
{
	const char *account = PQgetvalue(res, from, R_ACCOUNT);
	int rated = !PQgetisnull(res, from, R_CHARGED);
	const char *currency = rated ? PQgetvalue(res, from, R_CHARGED_CURRENCY) : PQgetvalue(res, from, R_CURRENCY);
	struct dec cost = dec_zero();
	long long records = 0;
	for (int i = from; i < to; i++) {
		if (strcmp(PQgetvalue(res, i, R_CURRENCY), currency) != 0)
			continue;
		if (add_value(&cost, PQgetvalue(res, i, R_COST), "cost", account, e))
			return -1;
		records += strtoll(PQgetvalue(res, i, R_RECORDS), NULL, 10);
	}
	struct total *t = total_of(totals, ntotals, currency, cc, e);
	if (!t)
		return -1;
	if (rated && add_value(&t->charged, PQgetvalue(res, from, R_CHARGED), "charge", account, e))
		return -1;
	t->unrated += !rated;
	char c[DEC_STR_MAX], n[24];
	dec_format(cost, c, sizeof(c));
	snprintf(n, sizeof(n), "%lld", records);
	report_row(f, "account", res, from, R_NAME, currency, n, c, rated ? PQgetvalue(res, from, R_CHARGED) : "");
	return 0;
}

/* Write rows [from, to) (one cost centre and period) as one CSV, and
 * record its totals. */
static int write_report(struct job_ctx *ctx, PGresult *res, int from, int to, const char *dir, long long *files,
			struct err *e)
{
	struct total totals[MAX_CURRENCIES];
	int ntotals = 0;
	char name[512], path[4700], run[24];
	const char *cc = PQgetvalue(res, from, R_CC);

	file_name(cc, PQgetvalue(res, from, R_START), name, sizeof(name));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	struct fs_out o;
	if (fs_out_open(&o, path, e))
		return -1;
	FILE *f = o.f;
	fputs("row,cost_centre,period_start,period_end,account,account_name,service,charge_category,currency,records,"
	      "consumed_quantity,billed_cost,charged\r\n",
	      f);
	int first = from; /* the current account's first row */
	for (int i = from; i < to; i++) {
		const char *account = PQgetvalue(res, i, R_ACCOUNT);
		report_row(f, "item", res, i, R_CATEGORY, PQgetvalue(res, i, R_CURRENCY), PQgetvalue(res, i, R_RECORDS),
			   PQgetvalue(res, i, R_COST), "");
		struct total *t = total_of(totals, &ntotals, PQgetvalue(res, i, R_CURRENCY), cc, e);
		if (!t || add_value(&t->cost, PQgetvalue(res, i, R_COST), "cost", account, e))
			goto fail;
		t->records += strtoll(PQgetvalue(res, i, R_RECORDS), NULL, 10);
		/* Rows come ordered by account within a file. */
		if (strcmp(t->last_account, account) != 0) {
			t->accounts++;
			snprintf(t->last_account, sizeof(t->last_account), "%s", account);
		}
		if (i + 1 == to || strcmp(PQgetvalue(res, i + 1, R_ACCOUNT), account) != 0) {
			if (account_row(f, res, first, i + 1, totals, &ntotals, cc, e))
				goto fail;
			first = i + 1;
		}
	}
	snprintf(run, sizeof(run), "%lld", (long long)ctx->run_id);
	for (int t = 0; t < ntotals; t++) {
		char cost[DEC_STR_MAX], charged[DEC_STR_MAX], records[24], accounts[24];
		dec_format(totals[t].cost, cost, sizeof(cost));
		dec_format(totals[t].charged, charged, sizeof(charged));
		snprintf(records, sizeof(records), "%lld", totals[t].records);
		snprintf(accounts, sizeof(accounts), "%lld", totals[t].accounts);
		report_row(f, "total", res, from, R_LAST, totals[t].currency, records, cost, charged);
		if (totals[t].unrated)
			log_warn("chargeback: %s, period %s: %lld accounts in %s are not rated (held or without a plan); "
				 "the charged total leaves them out",
				 *cc ? cc : "unassigned", PQgetvalue(res, from, R_START), totals[t].unrated,
				 totals[t].currency);
		const char *p[] = { run, cc, PQgetvalue(res, from, R_START), PQgetvalue(res, from, R_END),
				    totals[t].currency, accounts, records, cost, name, charged };
		if (db_exec(ctx->db, e, SQL_chargeback_report_insert, 10, p))
			goto fail;
	}
	if (fs_out_close(&o, e))
		return -1;
	(*files)++;
	return 0;
fail:
	fs_out_abort(&o);
	return -1;
}

static int chargeback_run(struct job_ctx *ctx, struct err *e)
{
	PGresult *res = NULL;
	char tmp[4200], final[4200];
	long long files = 0;

	snprintf(tmp, sizeof(tmp), "%s/.chargeback.tmp", ctx->output_dir);
	snprintf(final, sizeof(final), "%s/chargeback", ctx->output_dir);
	/* One statement reads everything (a consistent snapshot of its own);
	 * READ COMMITTED, so that the done mark cannot meet a serialization
	 * failure. */
	if (db_begin(ctx->db, e))
		return -1;
	const char *p[] = { ctx->period_start, ctx->period_end };
	res = db_query(ctx->db, e, SQL_chargeback_rows, 2, p);
	if (!res)
		goto fail;
	int n = PQntuples(res);
	if (n > 0) {
		if (remove_flat_dir(tmp, e))
			goto fail;
		if (mkdir(tmp, 0755) != 0) {
			fs_error(e, "create directory", tmp, errno);
			goto fail;
		}
		int from = 0;
		for (int i = 1; i <= n; i++) {
			if (i < n && strcmp(PQgetvalue(res, i, R_CC), PQgetvalue(res, from, R_CC)) == 0 &&
			    strcmp(PQgetvalue(res, i, R_START), PQgetvalue(res, from, R_START)) == 0)
				continue;
			if (write_report(ctx, res, from, i, tmp, &files, e))
				goto fail;
			from = i;
		}
		struct stat st;
		if (stat(final, &st) != 0) {
			if (job_rename_after_commit(ctx, tmp, final, e))
				goto fail;
		} else {
			DIR *d = opendir(tmp);
			struct dirent *de;
			char from_path[4600], to_path[4600];
			int rc = d ? 0 : err_set(e, ERR_IO, "could not open '%s': %s", tmp, strerror(errno));
			while (rc == 0 && d && (de = readdir(d)) != NULL) {
				if (de->d_name[0] == '.')
					continue;
				snprintf(from_path, sizeof(from_path), "%s/%s", tmp, de->d_name);
				snprintf(to_path, sizeof(to_path), "%s/%s", final, de->d_name);
				rc = job_rename_after_commit(ctx, from_path, to_path, e);
			}
			if (d)
				closedir(d);
			if (rc)
				goto fail;
		}
	}
	PQclear(res);
	res = NULL;
	if (job_commit_done(ctx, e))
		return err_prefix(e, "chargeback: ");
	if (files)
		log_info("chargeback: %lld reports (cost centre and period) from %d rows written to %s", files, n, final);
	else
		log_info("chargeback: no FOCUS usage in periods ending in this run's period; no reports");
	return 0;
fail:
	PQclear(res);
	db_rollback(ctx->db);
	/* The attempt's files are of no use: the next attempt writes all. */
	struct err ignored;
	err_clear(&ignored);
	remove_flat_dir(tmp, &ignored);
	return err_prefix(e, "chargeback: ");
}

const struct job job_chargeback = {
	"chargeback", "chargeback/showback CSV per cost centre and period from FOCUS costs", chargeback_run
};
