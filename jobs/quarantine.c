/*
 * quarantine.c - the quarantine step: everything the run could not bill
 * cleanly becomes a hold with its reason and run (bad records of known
 * accounts, held ratings, usage with no price, B2B buyers in the EU
 * without the details an invoice must name; failing reconciliation
 * checks were held by the reconcile step), and quarantine.csv lists every
 * hold in force, this run's quarantined records and its drift warnings
 * for operations. Held account periods are not invoiced; the rest go on.
 */
#include "reconcile.h"
#include "db.h"
#include "err.h"
#include "fs.h"
#include "log.h"
#include "sqltext.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Columns of quarantine_report_cursor, as written (the last one, the
 * sort key, is not). */
#define REPORT_COLUMNS 12

/* Holds told one by one in the log (jobs/reconcile.c tells as many of
 * its findings). */
#define HOLDS_LOGGED 20
static const char *const report_header[REPORT_COLUMNS] = {
	"item", "id", "run_id", "account", "period_start", "reason", "description", "detail", "file", "line",
	"created_at", "this_run",
};

/* One CSV field (RFC 4180): quoted when it holds a comma, quote or line
 * break, quotes doubled. */
static void csv_field(FILE *f, const char *v, int first)
{
	if (!first)
		fputc(',', f);
	if (!strpbrk(v, ",\"\r\n")) {
		fputs(v, f);
		return;
	}
	fputc('"', f);
	for (; *v; v++) {
		if (*v == '"')
			fputc('"', f);
		fputc(*v, f);
	}
	fputc('"', f);
}

static int write_rows(FILE *f, PGresult *res)
{
	for (int i = 0; i < PQntuples(res); i++) {
		for (int c = 0; c < REPORT_COLUMNS; c++) {
			const char *v = PQgetisnull(res, i, c) ? "" : PQgetvalue(res, i, c);
			if (c == REPORT_COLUMNS - 1)
				v = v[0] == 't' ? "yes" : "no";
			csv_field(f, v, c == 0);
		}
		fputs("\r\n", f);
	}
	return ferror(f) ? -1 : 0;
}

/*
 * Write the report to tmp (read through a cursor, so memory does not grow
 * with the number of records). Returns the rows written, or -1 with e set.
 */
static long long write_report(struct job_ctx *ctx, const char *run, const char *tmp, struct err *e)
{
	long long rows = 0;
	struct fs_out o;
	if (fs_out_open(&o, tmp, e))
		return -1;
	FILE *f = o.f;
	for (int c = 0; c < REPORT_COLUMNS; c++)
		csv_field(f, report_header[c], c == 0);
	fputs("\r\n", f);

	const char *p[] = { run };
	if (db_exec(ctx->db, e, SQL_quarantine_report_cursor, 1, p))
		goto fail;
	for (;;) {
		PGresult *res = db_query(ctx->db, e, SQL_quarantine_report_fetch, 0, NULL);
		if (!res)
			goto fail;
		int n = PQntuples(res);
		int bad = write_rows(f, res);
		PQclear(res);
		if (bad) {
			fs_write_error(e, tmp, o.errnum ? o.errnum : EIO);
			goto fail;
		}
		rows += n;
		if (n == 0)
			break;
	}
	if (db_exec(ctx->db, e, SQL_quarantine_report_close, 0, NULL))
		goto fail;
	if (fs_out_close(&o, e))
		return -1;
	return rows;
fail:
	fs_out_abort(&o);
	return -1;
}

/* Run one of the hold statements; the number of holds it added, or -1. */
static long long add_holds(struct job_ctx *ctx, const char *sql, const char *run, struct err *e)
{
	const char *p[] = { run, ctx->account };
	PGresult *res = db_query(ctx->db, e, sql, 2, p);
	if (!res)
		return -1;
	long long n = PQntuples(res);
	PQclear(res);
	return n;
}

struct quarantiner {
	char run[24], final[4096], tmp[4200];
	long long records, ratings, unpriced, parties;  /* holds added, by kind */
	long long run_holds, run_open, all_open, bad, warnings, rows;
};

static int quarantine_body(struct job_ctx *ctx, void *arg, struct err *e)
{
	struct quarantiner *Q = arg;

	if ((Q->records = add_holds(ctx, SQL_quarantine_hold_records, Q->run, e)) < 0 ||
	    (Q->ratings = add_holds(ctx, SQL_quarantine_hold_ratings, Q->run, e)) < 0 ||
	    (Q->unpriced = add_holds(ctx, SQL_quarantine_hold_unpriced, Q->run, e)) < 0 ||
	    (Q->parties = add_holds(ctx, SQL_quarantine_hold_parties, Q->run, e)) < 0)
		return -1;
	const char *p[] = { Q->run };
	PGresult *res = db_query(ctx->db, e, SQL_quarantine_counts, 1, p);
	if (!res)
		return -1;
	Q->run_holds = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	Q->run_open = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	Q->all_open = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	Q->bad = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
	Q->warnings = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
	PQclear(res);
	if ((Q->rows = write_report(ctx, Q->run, Q->tmp, e)) < 0)
		return -1;
	return job_rename_after_commit(ctx, Q->tmp, Q->final, e);
}

/* One WARN line per hold of the run, naming the account (the first
 * HOLDS_LOGGED; the report and `billrun quarantine list` have them all).
 * After the commit: a failure to read them back is only a WARN. */
static void log_holds(struct job_ctx *ctx, const struct quarantiner *Q)
{
	char limit[16];
	snprintf(limit, sizeof(limit), "%d", HOLDS_LOGGED);
	const char *p[] = { Q->run, limit };
	struct err e;
	err_clear(&e);
	PGresult *res = db_query(ctx->db, &e, SQL_quarantine_run_holds, 2, p);
	if (!res) {
		log_warn("quarantine: could not list the run's holds: %s", e.message);
		return;
	}
	for (int i = 0; i < PQntuples(res); i++)
		log_warn("quarantine: account '%s' held for the period from %s: %s: %s", PQgetvalue(res, i, 0),
			 PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3));
	if (Q->run_holds > PQntuples(res))
		log_warn("quarantine: ... and %lld more holds (billrun quarantine list --run %s)",
			 Q->run_holds - PQntuples(res), Q->run);
	PQclear(res);
}

static int quarantine_run(struct job_ctx *ctx, struct err *e)
{
	struct quarantiner Q;

	memset(&Q, 0, sizeof(Q));
	snprintf(Q.run, sizeof(Q.run), "%lld", (long long)ctx->run_id);
	snprintf(Q.final, sizeof(Q.final), "%s/%s", ctx->output_dir ? ctx->output_dir : ".", QUARANTINE_REPORT_NAME);
	snprintf(Q.tmp, sizeof(Q.tmp), "%s.tmp", Q.final);
	if (reconcile_step_tx(ctx, quarantine_body, &Q, e)) {
		unlink(Q.tmp);
		return err_prefix(e, "quarantine: ");
	}
	if (Q.run_holds)
		log_holds(ctx, &Q);
	if (Q.run_holds)
		log_warn("quarantine: run %s holds %lld account periods back from invoicing (%lld still held): "
			 "%lld for bad records, %lld for held ratings, %lld for usage with no price, %lld for a buyer "
			 "an invoice could not name fully, %lld for failed reconciliation; see '%s' and 'billrun "
			 "quarantine list --run %s'",
			 Q.run, Q.run_holds, Q.run_open, Q.records, Q.ratings, Q.unpriced, Q.parties,
			 Q.run_holds - Q.records - Q.ratings - Q.unpriced - Q.parties, Q.final, Q.run);
	log_info("quarantine: %lld holds in force over all runs, %lld records quarantined and %lld drift warnings "
		 "in this run; report '%s' (%lld lines)", Q.all_open, Q.bad, Q.warnings, Q.final, Q.rows);
	return 0;
}

const struct job job_quarantine = {
	"quarantine", "hold what could not be billed cleanly; write the quarantine report", quarantine_run
};
