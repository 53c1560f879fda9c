/*
 * journal.h - the journal of a billing period: one entry per invoice and
 * per credit note issued by the runs of the period, each balanced to the
 * cent (receivable debit = revenue credit per charge + tax payable credit
 * per tax rate; a credit note the reverse). The xbrl step writes it twice:
 * as an XBRL GL instance (xbrl_gl.h) and as a CSV for an accounting
 * system's import (journal_csv_write). reports/README.md, "The journal",
 * explains the design; the account codes come from the config's
 * `journal` group (conf/README.md).
 */
#ifndef BILLRUN_JOURNAL_H
#define BILLRUN_JOURNAL_H

#include "dec.h"

#include <stddef.h>
#include <stdint.h>

struct config;
struct db;
struct err;

/* ---- the accounts, from the config ---- */

/* A ledger account: its code in the chart of accounts and its name. key is
 * what it is for: a charge (its id, or a usage charge's meter) or a tax
 * rate (normalised: "0.19"); "" for the defaults. Strings point into the
 * config (or are static defaults) and live as long as it. */
struct journal_account {
	const char *key, *code, *name;
	char match[257];                 /* what a line's key is compared with: the charge as
	                                    given, the tax rate normalised ("0.190" -> "0.19") */
};

struct journal_accounts {
	const char *functional_currency; /* "" = none: amounts only in each document's currency */
	enum dec_round rounding;         /* money.rounding: amounts restated in the functional currency */
	struct journal_account receivable, revenue, tax;
	struct journal_account *revenue_by_charge;
	size_t nrevenue;
	struct journal_account *tax_by_rate;
	size_t ntax;
};

/*
 * The accounts of the config's `journal` group: journal.receivable,
 * journal.revenue, journal.tax (each { code; name; }, with defaults),
 * journal.revenue_by_charge and journal.tax_by_rate (lists of { charge or
 * rate; code; name; }), journal.functional_currency. Returns 0, or -1
 * with e set (ERR_CONFIG "FILE:LINE: key 'journal....': ..." naming the
 * key: an empty or over-long code, a rate that is not a decimal, a
 * charge or rate given twice, a functional currency that is not an
 * active ISO 4217 code). Free with journal_accounts_release.
 */
int journal_accounts_load(const struct config *cfg, struct journal_accounts *a, struct err *e);
void journal_accounts_release(struct journal_accounts *a);

/* The account of a charge (its own, else journal.revenue) and of a tax
 * rate (its own, else journal.tax). Never NULL. */
const struct journal_account *journal_revenue_account(const struct journal_accounts *a, const char *charge);
const struct journal_account *journal_tax_account(const struct journal_accounts *a, const char *rate);

/* ---- the journal ---- */

enum journal_side { JOURNAL_RECEIVABLE, JOURNAL_REVENUE, JOURNAL_TAX };

/* One line of an entry. amount is positive (or zero); debit says its side. */
struct journal_line {
	enum journal_side side;
	char *key;               /* the charge or the tax rate; "" for the receivable */
	const char *code, *name; /* the account (from journal_accounts) */
	struct dec amount;
	int debit;
	char tax_base[DEC_STR_MAX];   /* tax lines: the base, in the document's currency */
	char *jurisdictions;     /* tax lines: the jurisdictions, space-separated; else "" */
	char restated[DEC_STR_MAX];   /* the amount in the functional currency, or "" */
};

/* One entry: a document and its lines. */
struct journal_entry {
	char doc[16];            /* invoice, supplementary, credit_note */
	int64_t id;              /* invoices.id or credit_notes.id */
	char *number, *ref_number, *account, *customer;
	char issue_date[11], due_date[11], period_start[11], period_end[11];
	char currency[4];
	struct dec subtotal, tax_total, total;
	/* the rate into the functional currency ("" none: the same currency,
	 * no functional currency, or no rate published) */
	char fx_rate[DEC_STR_MAX], fx_as_of[11];
	int fx_inverse;          /* 1: the amount is divided by fx_rate */
	char *fx_source;
	struct journal_line *lines;
	size_t nlines, cap;
};

struct journal {
	char entity[256], scheme[256];
	char start[11], end[11];         /* the period's first and last day */
	char unique_id[128];             /* DAG/PERIOD/run-ID */
	char functional[4];              /* "" = none */
	struct journal_entry *entries;
	size_t nentries, cap;
	size_t fx_missing;               /* documents in another currency without a rate */
};

/*
 * The journal of the period [period_start, period_end) for run_id (the
 * documents of the runs of the period, as xbrl_collect counts them), in
 * the caller's transaction (the xbrl step's REPEATABLE READ snapshot, so
 * the journal and the summary report see the same documents). Lines are
 * summed per charge and per tax rate; a sum below zero goes to the other
 * side, a zero sum is left out; the receivable line is the document's
 * total. Each entry is checked with journal_entry_check: a document
 * whose lines do not add up to its total is an ERR_INTERNAL naming it.
 * Returns 0 and fills j (free with journal_release), or -1 with e set.
 */
int journal_collect(struct db *db, const struct journal_accounts *a, const char *period_start,
		    const char *period_end, int64_t run_id, const char *unique_id, const char *entity,
		    const char *scheme, struct journal *j, struct err *e);
void journal_release(struct journal *j);

/* Start an empty journal (for callers that build one by hand: tests). */
void journal_init(struct journal *j, const char *start, const char *end, const char *unique_id,
		  const char *entity, const char *scheme, const char *functional);

/* Add an entry (strings copied; NULL = "") or a line to the last entry.
 * Return the new element, or NULL out of memory. */
struct journal_entry *journal_add_entry(struct journal *j, const char *doc, int64_t id, const char *number,
					const char *currency);
struct journal_line *journal_add_line(struct journal_entry *en, enum journal_side side, const char *key,
				      const struct journal_account *acc, struct dec amount, int debit);

/*
 * Whether an entry balances: the sum of its debits equals the sum of its
 * credits, exactly. Returns 0, or -1 with e set (ERR_INPUT naming the
 * entry's document number and both sums).
 */
int journal_entry_check(const struct journal_entry *en, struct err *e);

/*
 * The rate of an entry as a multiplier from its currency into the
 * functional currency, into buf: the published rate when it is quoted
 * that way, its inverse to 12 decimals (trailing zeros dropped) when it
 * is quoted the other way; "" when the entry has no rate. (Restated
 * amounts are computed from the published rate itself, divided by it
 * when it is quoted the other way.)
 */
void journal_fx_multiplier(const struct journal_entry *en, char *buf, size_t size);

/* Sums of a journal per currency, for checks and the step's log: each
 * on the side the kind of document books it (an invoice debits the
 * receivable and credits revenue and tax, a credit note the reverse),
 * lines on the other side taken off. */
struct journal_totals {
	char currency[4];
	size_t invoices, credit_notes;
	struct dec invoice_receivable, invoice_revenue, invoice_tax;   /* = BilledAmount + TaxAmount, BilledAmount, TaxAmount */
	struct dec credit_receivable, credit_revenue, credit_tax;      /* CreditNoteAmount, and its subtotal and tax */
};

/*
 * The journal's totals per currency into *out (sorted by currency; free
 * with free()). Returns the number of currencies, or -1 out of memory or
 * on overflow.
 */
int journal_totals(const struct journal *j, struct journal_totals **out);

/*
 * The CSV journal (RFC 4180: CRLF line ends, a field with a comma, a
 * quote or a line break quoted, quotes doubled): a header row, then one
 * row per line of every entry, in the order of the XBRL GL instance:
 *   entry_id, date, document_number, account_code, account_name, debit,
 *   credit, currency, fx_rate, account, period
 * Returns 0, or -1 with e set (ERR_IO naming path; the file is removed).
 * The file is fsynced.
 */
int journal_csv_write(const struct journal *j, const char *path, struct err *e);

#endif
