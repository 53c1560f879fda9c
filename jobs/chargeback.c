/*
 * chargeback.c - the chargeback step: for FOCUS usage (cloud cost exports,
 * usage.cost not NULL), one CSV per cost centre (accounts.cost_centre) and
 * billing period with what each account's services cost, and the totals
 * per currency. The same report serves showback (shown, not charged).
 * Totals are exact sums of the BilledCost values as ingested (numeric in
 * PostgreSQL, struct dec here), recorded in chargeback_reports in the
 * transaction of the done mark; the files are renamed into
 * OUTPUT/chargeback when it commits.
 */
#include "cfg.h"
#include "db.h"
#include "dec.h"
#include "err.h"
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
       R_END };

#define MAX_CURRENCIES 16

struct total {
	char currency[8];
	struct dec cost;
	long long records;
	long long accounts;
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
	FILE *f = fopen(path, "w");
	if (!f)
		return err_set(e, ERR_IO, "could not create '%s': %s", path, strerror(errno));
	fputs("row,cost_centre,period_start,period_end,account,account_name,service,charge_category,currency,records,"
	      "consumed_quantity,billed_cost\r\n",
	      f);
	for (int i = from; i < to; i++) {
		csv_field(f, "item", 1);
		for (int c = R_CC; c <= R_COST; c++)
			csv_field(f, PQgetvalue(res, i, c), 0);
		fputs("\r\n", f);

		const char *cur = PQgetvalue(res, i, R_CURRENCY);
		int t = 0;
		while (t < ntotals && strcmp(totals[t].currency, cur) != 0)
			t++;
		if (t == ntotals) {
			if (ntotals == MAX_CURRENCIES) {
				fclose(f);
				return err_set(e, ERR_INPUT, "chargeback: cost centre '%s' has more than %d currencies", cc,
					       MAX_CURRENCIES);
			}
			memset(&totals[t], 0, sizeof(totals[t]));
			snprintf(totals[t].currency, sizeof(totals[t].currency), "%s", cur);
			totals[t].cost = dec_zero();
			ntotals++;
		}
		struct dec cost;
		if (dec_parse_cstr(&cost, PQgetvalue(res, i, R_COST)) || dec_add(&totals[t].cost, totals[t].cost, cost)) {
			fclose(f);
			return err_set(e, ERR_INPUT, "chargeback: cost '%s' of account '%s' is out of range",
				       PQgetvalue(res, i, R_COST), PQgetvalue(res, i, R_ACCOUNT));
		}
		totals[t].records += strtoll(PQgetvalue(res, i, R_RECORDS), NULL, 10);
		/* Rows come ordered by account within a file. */
		if (strcmp(totals[t].last_account, PQgetvalue(res, i, R_ACCOUNT)) != 0) {
			totals[t].accounts++;
			snprintf(totals[t].last_account, sizeof(totals[t].last_account), "%s", PQgetvalue(res, i, R_ACCOUNT));
		}
	}
	snprintf(run, sizeof(run), "%lld", (long long)ctx->run_id);
	for (int t = 0; t < ntotals; t++) {
		char cost[DEC_STR_MAX], records[24], accounts[24];
		dec_format(totals[t].cost, cost, sizeof(cost));
		snprintf(records, sizeof(records), "%lld", totals[t].records);
		snprintf(accounts, sizeof(accounts), "%lld", totals[t].accounts);
		csv_field(f, "total", 1);
		csv_field(f, cc, 0);
		csv_field(f, PQgetvalue(res, from, R_START), 0);
		csv_field(f, PQgetvalue(res, from, R_LAST), 0);
		for (int c = 0; c < 4; c++)
			csv_field(f, "", 0);
		csv_field(f, totals[t].currency, 0);
		csv_field(f, records, 0);
		csv_field(f, "", 0);
		csv_field(f, cost, 0);
		fputs("\r\n", f);
		const char *p[] = { run, cc, PQgetvalue(res, from, R_START), PQgetvalue(res, from, R_END),
				    totals[t].currency, accounts, records, cost, name };
		if (db_exec(ctx->db, e, SQL_chargeback_report_insert, 9, p)) {
			fclose(f);
			return -1;
		}
	}
	if (ferror(f) | (fclose(f) != 0))
		return err_set(e, ERR_IO, "could not write '%s': %s", path, strerror(errno ? errno : EIO));
	(*files)++;
	return 0;
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
			err_set(e, ERR_IO, "could not create '%s': %s", tmp, strerror(errno));
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
	return err_prefix(e, "chargeback: ");
}

const struct job job_chargeback = {
	"chargeback", "chargeback/showback CSV per cost centre and period from FOCUS costs", chargeback_run
};
