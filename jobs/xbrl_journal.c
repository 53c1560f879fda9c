/*
 * xbrl_journal.c - the journal of the xbrl step (see xbrl_journal.h): read
 * in the step's snapshot, held against the summary report's facts, written
 * as XBRL GL and CSV under temporary names that the done mark's commit
 * renames.
 */
#include "xbrl_journal.h"
#include "cfg.h"
#include "err.h"
#include "job.h"
#include "journal.h"
#include "log.h"
#include "xbrl.h"
#include "xbrl_gl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The report's value of concept in currency ("0" when it has none). */
static const char *fact(const struct xbrl_report *rep, const char *concept, const char *currency)
{
	for (size_t i = 0; i < rep->nvalues; i++)
		if (strcmp(rep->values[i].concept, concept) == 0 && strcmp(rep->values[i].currency, currency) == 0)
			return rep->values[i].value ? rep->values[i].value : "0";
	return "0";
}

/* The journal's totals are the report's facts, to the cent. */
static int check_against_report(const struct journal *j, const struct xbrl_report *rep, struct err *e)
{
	struct journal_totals *t = NULL;
	int n = journal_totals(j, &t);
	if (n < 0)
		return err_set(e, ERR_INTERNAL, "the journal's totals overflow");
	int rc = 0;
	for (int i = 0; i < n && rc == 0; i++) {
		const struct {
			const char *concept;
			struct dec sum;
		} pairs[] = {
			{ "BilledAmount", t[i].invoice_revenue },
			{ "TaxAmount", t[i].invoice_tax },
			{ "InvoicedAmount", t[i].invoice_receivable },
			{ "CreditNoteAmount", t[i].credit_receivable },
		};
		for (size_t k = 0; k < sizeof(pairs) / sizeof(pairs[0]); k++) {
			struct dec want;
			const char *text = fact(rep, pairs[k].concept, t[i].currency);
			if (dec_parse_cstr(&want, text) || dec_cmp(want, pairs[k].sum) != 0) {
				char have[DEC_STR_MAX];
				dec_format(pairs[k].sum, have, sizeof(have));
				rc = err_set(e, ERR_INTERNAL, "the journal's %s in %s is %s, the XBRL report's %s", pairs[k].concept,
					     t[i].currency, have, text);
				break;
			}
		}
	}
	free(t);
	return rc;
}

int xbrl_journal_write(struct job_ctx *ctx, const char *dir, const struct xbrl_report *rep, struct err *e)
{
	char gl[4300], gl_tmp[4400], csv[4300], csv_tmp[4400], unique[128];
	struct journal_accounts accounts;
	struct journal j;
	int have_journal = 0, rc = -1;

	snprintf(gl, sizeof(gl), "%s/billrun-%s-%s-gl.xbrl", dir, ctx->dag, ctx->period_start);
	snprintf(gl_tmp, sizeof(gl_tmp), "%s.tmp", gl);
	snprintf(csv, sizeof(csv), "%s/billrun-%s-%s-journal.csv", dir, ctx->dag, ctx->period_start);
	snprintf(csv_tmp, sizeof(csv_tmp), "%s.tmp", csv);
	snprintf(unique, sizeof(unique), "%s/%s/run-%lld", ctx->dag, ctx->period_start, (long long)ctx->run_id);

	if (journal_accounts_load(ctx->cfg, &accounts, e))
		return -1;
	if (journal_collect(ctx->db, &accounts, ctx->period_start, ctx->period_end, ctx->run_id, unique,
			    ctx->cfg->xbrl_entity, ctx->cfg->xbrl_entity_scheme, &j, e))
		goto out;
	have_journal = 1;
	if (check_against_report(&j, rep, e) || xbrl_gl_write(&j, gl_tmp, e) || journal_csv_write(&j, csv_tmp, e) ||
	    job_rename_after_commit(ctx, gl_tmp, gl, e) || job_rename_after_commit(ctx, csv_tmp, csv, e))
		goto out;
	size_t lines = 0;
	for (size_t i = 0; i < j.nentries; i++)
		lines += j.entries[i].nlines;
	log_info("xbrl: journal of %zu entries, %zu lines, each balanced, in '%s' and '%s'", j.nentries, lines, gl, csv);
	if (j.fx_missing)
		log_warn("xbrl: %zu document%s in a currency other than %s %s no rate on or before %s issue date: "
			 "%s journal lines are in %s own currency only",
			 j.fx_missing, j.fx_missing == 1 ? "" : "s", j.functional, j.fx_missing == 1 ? "has" : "have",
			 j.fx_missing == 1 ? "its" : "their", j.fx_missing == 1 ? "its" : "their",
			 j.fx_missing == 1 ? "its" : "their");
	rc = 0;
out:
	if (rc) {
		unlink(gl_tmp);
		unlink(csv_tmp);
		err_prefix(e, "journal: ");
	}
	if (have_journal)
		journal_release(&j);
	journal_accounts_release(&accounts);
	return rc;
}
