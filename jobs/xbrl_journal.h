/*
 * xbrl_journal.h - the xbrl step's second part: the period's journal
 * (reports/journal.h) written as an XBRL GL instance and a CSV beside the
 * summary report, in the step's snapshot, and held against the report's
 * facts before it is kept.
 */
#ifndef BILLRUN_XBRL_JOURNAL_H
#define BILLRUN_XBRL_JOURNAL_H

struct err;
struct job_ctx;
struct xbrl_report;

/*
 * Inside the xbrl step's REPEATABLE READ transaction: read the journal
 * of the run's period (the accounts from the config's `journal` group),
 * check that every entry balances and that its totals per currency are
 * the report's facts (invoices' revenue = BilledAmount, their tax =
 * TaxAmount, their receivable debits = InvoicedAmount, credit notes'
 * receivable credits = CreditNoteAmount), write
 * DIR/billrun-DAG-PERIOD-gl.xbrl and DIR/billrun-DAG-PERIOD-journal.csv
 * under temporary names (NAME.tmp) and hand them to
 * job_rename_after_commit. Returns 0, or -1 with e set (ERR_CONFIG for a
 * bad `journal` key, naming it; ERR_INTERNAL when the journal and the
 * report disagree; ERR_IO naming a file), its temporary files removed.
 */
int xbrl_journal_write(struct job_ctx *ctx, const char *dir, const struct xbrl_report *rep, struct err *e);

#endif
