/*
 * invoice.c - the invoice step: drafts for every closed, rated, unheld
 * billing period that has something to bill, issued with gapless numbers,
 * then rendered (PDF and JSON) into the run's output folder. The set-based
 * work is SQL (sql/queries/invoice.sql); this file runs the three phases
 * and the renderers. jobs/INVOICES.md explains numbering, immutability,
 * credit notes and late usage.
 *
 *   draft   one REPEATABLE READ transaction: what to issue, as drafts
 *   issue   batches of drafts, each a transaction holding the series
 *           counters' row locks (numbers are consumed only by a commit)
 *   render  every issued document without files (this run's, and a
 *           finished run's whose step failed after issuing), by worker
 *           processes while the next batch is issued, into
 *           OUTPUT/.invoices.tmp, renamed to OUTPUT/invoices once the done
 *           mark commits with the record of the files (invoice_render.c)
 *
 * Redoing the step (a retry, a resume after a crash) issues nothing twice:
 * every issue records the ratings it dealt with (invoice_reviews, unique
 * per rating) in its own transaction, and drafts are always recomputed.
 */
#include "invoice.h"
#include "cfg.h"
#include "db.h"
#include "err.h"
#include "invoice_render.h"
#include "job.h"
#include "log.h"
#include "progress.h"
#include "sqltext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct invoicer {
	struct job_ctx *ctx;
	char account[256];           /* a dispute rerun's account, or "" */
	char run[24], grace[24], terms[16], batch[16];
	const char *series, *credit_series, *late;
	int dispute;                 /* a rerun: changes are corrections */
	const char *seller_name, *seller_vat, *seller_email, *seller_payment;
	char *seller_address;        /* lines joined by '\n' */
	char *seller_json;           /* the seller object stored with each document (invoice_seller) */
	int audit, pdf, focus, ubl, workers;
	long long candidates, empty, unchanged, draft_new, draft_reissue, draft_supplementary, draft_credit;
	long long adjusted, waiting, late_credited, grace_waiting;
	long long issued_invoices, issued_credits, stale, batches;
};

static const char *or_default(const char *v, const char *def)
{
	return v && *v ? v : def;
}

static long long first_int(PGresult *res, int col)
{
	return PQntuples(res) > 0 ? strtoll(PQgetvalue(res, 0, col), NULL, 10) : 0;
}

/* Settings, with the documented defaults when the config left a field
 * unset (tests fill struct config by hand). */
static int setup(struct invoicer *I, struct job_ctx *ctx, struct err *e)
{
	const struct config *cfg = ctx->cfg;
	struct config none;
	if (!cfg) {
		memset(&none, 0, sizeof(none));
		cfg = &none;
	}
	I->ctx = ctx;
	snprintf(I->run, sizeof(I->run), "%lld", (long long)ctx->run_id);
	snprintf(I->grace, sizeof(I->grace), "%lld", (long long)cfg->invoice_grace_ms);
	snprintf(I->terms, sizeof(I->terms), "%lld",
		 (long long)(cfg->loaded ? cfg->invoice_payment_terms_ms / 86400000 : 30));
	snprintf(I->batch, sizeof(I->batch), "%lld", (long long)(cfg->invoice_batch_size > 0 ? cfg->invoice_batch_size : 1000));
	I->series = or_default(cfg->invoice_series, "INV-{YYYY}-{SEQ:6}");
	I->credit_series = or_default(cfg->invoice_credit_series, "CN-{YYYY}-{SEQ:6}");
	I->late = or_default(cfg->invoice_late_usage, "supplementary");
	if (strcmp(I->late, "supplementary") != 0 && strcmp(I->late, "next_invoice") != 0)
		return err_set(e, ERR_CONFIG, "invoice.late_usage '%s' is not 'supplementary' or 'next_invoice'", I->late);
	I->dispute = ctx->rerun_of != 0;
	I->seller_name = or_default(cfg->invoice_seller_name, "");
	I->seller_vat = or_default(cfg->invoice_seller_vat_id, "");
	I->seller_email = or_default(cfg->invoice_seller_email, "");
	I->seller_payment = or_default(cfg->invoice_seller_payment, "");
	I->pdf = cfg->loaded ? cfg->invoice_pdf : 1;
	I->focus = cfg->loaded ? cfg->invoice_focus : 1;
	I->ubl = cfg->loaded ? cfg->invoice_ubl : 1;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	I->workers = cfg->invoice_render_workers > 0 ? (int)cfg->invoice_render_workers : cpus > 0 ? (int)cpus : 1;

	/* The address is a list of lines in the config. */
	size_t cap = 1, len = 0;
	const config_setting_t *addr = cfg->loaded ? config_lookup((config_t *)&cfg->lc, "invoice.seller.address") : NULL;
	int n = addr ? config_setting_length(addr) : 0;
	for (int i = 0; i < n; i++)
		cap += strlen(config_setting_get_string_elem(addr, i)) + 1;
	I->seller_address = malloc(cap);
	if (!I->seller_address)
		return err_set(e, ERR_INTERNAL, "out of memory");
	I->seller_address[0] = '\0';
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(I->seller_address + len, cap - len, "%s%s", i ? "\n" : "",
					config_setting_get_string_elem(addr, i));

	/* The seller object every document stores: built once, by the
	 * statement that documents its fields. */
	const char *country = or_default(cfg->invoice_seller_country, "");
	if (*country && !(strlen(country) == 2 && country[0] >= 'A' && country[0] <= 'Z' && country[1] >= 'A' &&
			   country[1] <= 'Z')) {
		err_set(e, ERR_CONFIG, "invoice.seller.country '%s' is not an ISO 3166-1 alpha-2 code", country);
		return err_hint(e, "two capital letters, e.g. DE");
	}
	const char *sp[] = { I->seller_name, I->seller_address, I->seller_vat, I->seller_email, I->seller_payment,
			     or_default(cfg->invoice_seller_street, ""), or_default(cfg->invoice_seller_city, ""),
			     or_default(cfg->invoice_seller_postcode, ""), country,
			     or_default(cfg->invoice_seller_company_id, ""), or_default(cfg->invoice_seller_contact, ""),
			     or_default(cfg->invoice_seller_phone, ""), or_default(cfg->invoice_seller_endpoint, ""),
			     or_default(cfg->invoice_seller_iban, ""), or_default(cfg->invoice_seller_bic, "") };
	PGresult *res = db_query(ctx->db, e, SQL_invoice_seller, 15, sp);
	if (!res)
		return -1;
	I->seller_json = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (!I->seller_json)
		return err_set(e, ERR_INTERNAL, "out of memory");

	/* Check both formats now, not at the first issue. */
	struct invoice_series_fmt f, g;
	if (invoice_series_render(I->series, "2000-01-01", "invoice.series", &f, e) ||
	    invoice_series_render(I->credit_series, "2000-01-01", "invoice.credit_note_series", &g, e))
		return -1;
	if (strcmp(f.key, g.key) == 0 || (strcmp(f.prefix, g.prefix) == 0 && strcmp(f.suffix, g.suffix) == 0)) {
		err_set(e, ERR_CONFIG, "invoice.series and invoice.credit_note_series give the same numbers ('%s')",
			I->series);
		return err_hint(e, "credit notes have a series of their own, e.g. \"CN-{YYYY}-{SEQ:6}\"");
	}
	return 0;
}

/* ---- phase 1: drafts ---- */

static int query_counts(struct db *db, struct err *e, const char *sql, int n, const char *const *p, long long *a,
			long long *b, long long *c, long long *d)
{
	PGresult *res = db_query(db, e, sql, n, p);
	if (!res)
		return -1;
	long long *out[] = { a, b, c, d };
	for (int i = 0; i < 4 && i < PQnfields(res); i++)
		if (out[i])
			*out[i] = first_int(res, i);
	PQclear(res);
	return 0;
}

/* Late ratings that go on a new invoice (invoice_late_create): their
 * adjustment lines, and credit notes for those that would take it below
 * zero (their lines come with invoice_draft_lines_delta, after). */
static int draft_late(struct invoicer *I, struct err *e)
{
	struct db *db = I->ctx->db;
	const char *run[] = { I->run };
	const char *lp[] = { I->run, I->late };

	if (db_exec(db, e, SQL_invoice_late_create, 2, lp) ||
	    query_counts(db, e, SQL_invoice_draft_adjustments, 0, NULL, &I->adjusted, &I->waiting, NULL, NULL) ||
	    query_counts(db, e, SQL_invoice_draft_late_credits, 1, run, &I->late_credited, NULL, NULL, NULL))
		return -1;
	I->draft_credit += I->late_credited;
	return 0;
}

static int draft(struct invoicer *I, struct err *e)
{
	struct job_ctx *ctx = I->ctx;
	struct db *db = ctx->db;
	const char *run[] = { I->run };

	if (db_begin(db, e))
		return -1;
	if (db_exec(db, e, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", 0, NULL) ||
	    db_exec(db, e, SQL_invoice_drafts_clear, 1, run) || db_exec(db, e, SQL_invoice_candidates_create, 0, NULL))
		goto fail;
	const char *cp[] = { ctx->period_start, ctx->period_end, I->grace, I->account[0] ? I->account : NULL };
	if (query_counts(db, e, SQL_invoice_candidates, 4, cp, &I->candidates, NULL, NULL, NULL))
		goto fail;
	const char *gp[] = { ctx->period_end, I->grace };
	if (!I->dispute && query_counts(db, e, SQL_invoice_waiting_grace, 2, gp, &I->grace_waiting, NULL, NULL, NULL))
		goto fail;
	if (query_counts(db, e, SQL_invoice_empty, 1, run, &I->empty, NULL, NULL, NULL) ||
	    db_exec(db, e, SQL_invoice_deltas_create, 0, NULL) ||
	    query_counts(db, e, SQL_invoice_unchanged, 1, run, &I->unchanged, NULL, NULL, NULL))
		goto fail;
	const char *hp[] = { I->run, I->dispute ? "true" : "false", I->late };
	if (query_counts(db, e, SQL_invoice_draft_headers, 3, hp, &I->draft_new, &I->draft_reissue,
			 &I->draft_supplementary, &I->draft_credit) ||
	    (!I->dispute && draft_late(I, e)) || db_exec(db, e, SQL_invoice_draft_lines_delta, 1, run))
		goto fail;
	if (db_exec(db, e, SQL_invoice_drafts_prune, 1, run) || db_commit(db, e))
		goto fail;
	log_info("invoice: %lld periods to look at; drafts: %lld invoices, %lld replacing credited ones, "
		 "%lld supplementary, %lld credit notes; %lld unchanged, %lld without charges",
		 I->candidates, I->draft_new, I->draft_reissue, I->draft_supplementary, I->draft_credit, I->unchanged,
		 I->empty);
	if (I->adjusted || I->waiting)
		log_info("invoice: late usage of %lld periods adjusted on new invoices; %lld wait for the account's next "
			 "invoice (invoice.late_usage = next_invoice, or a difference of 0.00 between lines)",
			 I->adjusted, I->waiting);
	if (I->late_credited)
		log_info("invoice: late credits of %lld periods exceed the account's next invoice: credited by credit "
			 "notes instead (an invoice is never below zero)",
			 I->late_credited);
	if (I->grace_waiting)
		log_info("invoice: %lld closed periods wait for the grace period (invoice.grace_period) to pass",
			 I->grace_waiting);
	return 0;
fail:
	db_rollback(db);
	return -1;
}

/* ---- phase 2: issue ---- */

/* Check what an issuing statement returned: drafts, inserted, counter
 * before, counter after. Anything but after = before + inserted = drafts
 * would be a gap or a reuse: the transaction is abandoned. */
static int check_issue(PGresult *res, const char *what, long long *issued, struct err *e)
{
	long long drafts = first_int(res, 0), inserted = first_int(res, 1);
	long long before = first_int(res, 2), after = first_int(res, 3);
	if (drafts != inserted || after != before + inserted)
		return err_set(e, ERR_INTERNAL,
			       "issuing %s: %lld drafts, %lld issued, counter %lld -> %lld; nothing was issued", what,
			       drafts, inserted, before, after);
	*issued += inserted;
	return 0;
}

/* Issue one batch. Returns 1 when a batch was committed (issued or
 * dropped as stale), 0 when no drafts are left, -1 on error. */
static int issue_batch(struct invoicer *I, struct err *e)
{
	struct db *db = I->ctx->db;
	PGresult *res = NULL;
	struct invoice_series_fmt inv, cn;
	char today[16];
	long long stale = 0, ninv = 0, ncn = 0;

	if (db_begin(db, e))
		return -1;
	res = db_query(db, e, SQL_invoice_issue_today, 0, NULL);
	if (!res)
		goto fail;
	snprintf(today, sizeof(today), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	res = NULL;
	if (invoice_series_render(I->series, today, "invoice.series", &inv, e) ||
	    invoice_series_render(I->credit_series, today, "invoice.credit_note_series", &cn, e))
		goto fail;
	const char *sp[] = { inv.key, cn.key };
	if (db_exec(db, e, SQL_invoice_series_ensure, 2, sp) || db_exec(db, e, SQL_invoice_series_lock, 2, sp))
		goto fail;
	const char *bp[] = { I->run, I->batch };
	const char *run[] = { I->run };
	if (db_exec(db, e, SQL_invoice_batch_create, 2, bp) ||
	    query_counts(db, e, SQL_invoice_batch_stale, 0, NULL, &stale, NULL, NULL, NULL) ||
	    query_counts(db, e, SQL_invoice_batch_count, 0, NULL, &ninv, &ncn, NULL, NULL))
		goto fail;
	if (stale)
		log_warn("invoice: %lld drafts dropped: their ratings were dealt with or superseded by another run, or "
			 "held, since they were drafted",
			 stale);
	I->stale += stale;
	if (ninv == 0 && ncn == 0) {
		if (db_commit(db, e))
			goto fail;
		return stale ? 1 : 0;
	}
	char width[8];
	if (ncn) {
		snprintf(width, sizeof(width), "%d", cn.width);
		const char *p[] = { I->run, cn.key, cn.prefix, width, cn.suffix, today, I->seller_json };
		res = db_query(db, e, SQL_invoice_issue_credit_notes, 7, p);
		if (!res || check_issue(res, "credit notes", &I->issued_credits, e))
			goto fail;
		PQclear(res);
		res = NULL;
		if (db_exec(db, e, SQL_invoice_issue_credit_note_lines, 0, NULL))
			goto fail;
	}
	if (ninv) {
		snprintf(width, sizeof(width), "%d", inv.width);
		const char *p[] = { I->run, inv.key, inv.prefix, width, inv.suffix, today, I->terms, I->seller_json };
		res = db_query(db, e, SQL_invoice_issue_invoices, 8, p);
		if (!res || check_issue(res, "invoices", &I->issued_invoices, e))
			goto fail;
		PQclear(res);
		res = NULL;
		if (db_exec(db, e, SQL_invoice_issue_invoice_lines, 0, NULL))
			goto fail;
	}
	if (db_exec(db, e, SQL_invoice_issue_reviews, 1, run) ||
	    (I->audit && db_exec(db, e, SQL_invoice_issue_audit, 1, run)) ||
	    db_exec(db, e, SQL_invoice_batch_done, 0, NULL) || db_commit(db, e))
		goto fail;
	I->batches++;
	return 1;
fail:
	PQclear(res);
	db_rollback(db);
	/* What this batch counted was not issued. */
	return -1;
}

/* Issue every draft, batch after batch; each committed batch's documents
 * go to the renderer's workers while the next one is issued. */
static int issue_all(struct invoicer *I, struct invoice_render *render, struct err *e)
{
	long long pending = 0;
	const char *run[] = { I->run };
	if (query_counts(I->ctx->db, e, SQL_invoice_drafts_pending, 1, run, &pending, NULL, NULL, NULL))
		return -1;
	if (pending == 0)
		return 0;
	progress_start("issuing documents", pending);
	for (;;) {
		long long before_inv = I->issued_invoices, before_cn = I->issued_credits;
		int rc = issue_batch(I, e);
		if (rc < 0) {
			I->issued_invoices = before_inv;
			I->issued_credits = before_cn;
			progress_finish();
			return -1;
		}
		if (rc == 0)
			break;
		progress_update(I->issued_invoices + I->issued_credits + I->stale);
		if (invoice_render_more(render, e)) {
			progress_finish();
			return -1;
		}
	}
	progress_finish();
	return 0;
}

static int invoice_run(struct job_ctx *ctx, struct err *e)
{
	struct invoicer I;
	struct invoice_render *render = NULL;
	struct invoice_render_summary sum;
	int rc = -1, committing = 0;

	memset(&I, 0, sizeof(I));
	if (setup(&I, ctx, e))
		goto out;
	/* Many short statements per batch: JIT compiling them (PostgreSQL
	 * would, from their row estimates at scale) costs far more than it
	 * saves. The connection is this attempt's own. */
	if (db_exec(ctx->db, e, "SET jit = off", 0, NULL))
		goto out;
	/* A rerun's changes are corrections (credit note and new invoice);
	 * asked of the run, as a resumed rerun's context does not say. */
	const char *rp[] = { I.run };
	PGresult *fr = db_query(ctx->db, e, SQL_invoice_run_facts, 1, rp);
	if (!fr)
		goto out;
	if (PQntuples(fr) == 1) {
		I.dispute = PQgetvalue(fr, 0, 0)[0] == 't';
		snprintf(I.account, sizeof(I.account), "%s", I.dispute ? PQgetvalue(fr, 0, 1) : "");
	}
	PQclear(fr);
	if (I.dispute && !I.account[0] && ctx->account)
		snprintf(I.account, sizeof(I.account), "%s", ctx->account);
	/* Documents are audited when the audit log (007) is there. */
	PGresult *ar = db_query(ctx->db, e, SQL_invoice_audit_available, 0, NULL);
	if (!ar)
		goto out;
	I.audit = PQgetvalue(ar, 0, 0)[0] == 't';
	PQclear(ar);

	/* Documents issued earlier without files (an earlier attempt's, or a
	 * finished run's whose step failed after issuing) are handed out
	 * first, after drafting; then each batch's as it commits. */
	if (invoice_render_start(ctx, I.workers, I.pdf, I.focus, I.ubl, &render, e) || draft(&I, e) || invoice_render_more(render, e) ||
	    issue_all(&I, render, e) || invoice_render_more(render, e) || invoice_render_wait(render, e))
		goto out;
	if (db_begin(ctx->db, e))
		goto out;
	if (invoice_render_record(render, &sum, e)) {
		db_rollback(ctx->db);
		goto out;
	}
	/* From here a failure may still have committed: what was written
	 * stays for the runner's renames (or the next attempt's clean-up). */
	committing = 1;
	if (job_commit_done(ctx, e))
		goto out;
	char earlier[320] = "";
	if (sum.earlier)
		snprintf(earlier, sizeof(earlier), " (%lld of them issued by run %s, without their files until now)",
			 sum.earlier, sum.earlier_runs);
	log_info("invoice: issued %lld invoices and %lld credit notes in %lld batches%s%s; %lld documents written to "
		 "%s%s%s",
		 I.issued_invoices, I.issued_credits, I.batches, I.dispute ? " (a rerun: changes are corrections)" : "",
		 I.stale ? " (some drafts went stale)" : "", sum.written, sum.written ? sum.folder : "(none)", earlier,
		 I.pdf ? "" : " (no PDF: invoice.pdf = false)");
	rc = 0;
out:
	invoice_render_free(render, rc != 0 && !committing);
	if (rc)
		err_prefix(e, "invoice: ");
	free(I.seller_address);
	free(I.seller_json);
	return rc;
}

const struct job job_invoice = {
	"invoice", "issue invoices and credit notes for closed billing periods (PDF and JSON)", invoice_run
};
