/*
 * cmd_invoice.c - `billrun invoice show|trace|list`: an issued invoice or
 * credit note as stored (header, lines, totals, what refers to it, its
 * files), the usage records behind its lines with the file and line each
 * came from, and the list of documents. Read-only: connects as the
 * auditor role.
 */
#include "cli.h"
#include "cluster.h"
#include "db.h"
#include "focus_csv.h"
#include "invoice.h"
#include "invoice_focus.h"
#include "invoice_ubl.h"
#include "invoice_json.h"
#include "invoice_pdf.h"
#include "sqltext.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define V(res, row, c) PQgetvalue((res), (row), (c))

static const char usage_text[] =
	"usage: billrun invoice show [--json | --focus | --ubl] [--pdf FILE] NUMBER\n"
	"       billrun invoice trace NUMBER [LINE]\n"
	"       billrun invoice list [--account ID] [--run RUN] [--period DATE] [--limit N] [--drafts]\n"
	"\n"
	"show    print an issued invoice or credit note: its header, lines,\n"
	"        totals, the documents that refer to it (credit notes,\n"
	"        supplementary invoices, the invoice replacing it), and where\n"
	"        its PDF, JSON, FOCUS and UBL files are. --json prints the JSON\n"
	"        form, --focus the FOCUS 1.1 export (CSV), --ubl the UBL 2.1\n"
	"        e-invoice (XML); --pdf FILE draws the PDF again into FILE (a\n"
	"        copy to send).\n"
	"trace   list the usage records behind a usage line (all usage lines\n"
	"        without LINE): time in the account's zone, quantity, and the\n"
	"        file and line each record was read from. For a supplementary\n"
	"        or adjustment line, the late records behind the difference.\n"
	"list    the documents issued, newest first (default 50), optionally of\n"
	"        one account, one run, or the billing period containing DATE;\n"
	"        --drafts lists drafts not issued yet.\n"
	"\n"
	"Exit status: 0 printed; 64 usage; 65 no such document or line;\n"
	"69 database unavailable.\n";

static void print_doc(const struct invoice_doc *d)
{
	char files[4600];
	printf("%s %s\n", invoice_doc_title(d), d->number);
	printf("  issued        %s (issue date %s) by run %s\n", d->issued_at, d->issue_date, d->run_id);
	if (d->due_date[0])
		printf("  due date      %s\n", d->due_date);
	printf("  account       %s%s%s%s\n", d->account, d->customer_name[0] ? " (" : "", d->customer_name,
	       d->customer_name[0] ? ")" : "");
	printf("  period        %s to %s\n", d->period_start, d->period_last);
	printf("  currency      %s\n", d->currency);
	if (d->rule_version[0])
		printf("  rule version  %s (sha256 %s)\n", d->rule_version, d->rule_sha256);
	if (d->ref_kind[0])
		printf("  %-13s %s%s%s\n", d->ref_kind, d->ref_number, d->reason[0] ? ", reason: " : "",
		       d->reason[0] ? d->reason : "");
	printf("  seller        %s%s%s\n", d->seller_name[0] ? d->seller_name : "(not configured)",
	       d->seller_vat_id[0] ? ", VAT ID " : "", d->seller_vat_id);
	printf("  buyer         %s%s%s%s%s\n", d->customer_name[0] ? d->customer_name : d->account,
	       d->customer_country[0] ? ", " : "", d->customer_country, d->customer_vat_id[0] ? ", VAT ID " : "",
	       d->customer_vat_id);
	if (d->reverse_charge)
		printf("  reverse charge: the buyer accounts for the VAT\n");
	printf("\n  %4s  %-9s %-56s %14s %14s\n", "line", "kind", "description", "quantity", "amount");
	for (int i = 0; i < d->nlines; i++) {
		const struct invoice_doc_line *l = &d->lines[i];
		printf("  %4s  %-9s %-56s %14s %14s\n", l->line_no, l->kind, l->description,
		       strcmp(l->kind, "tax") == 0 ? "" : l->quantity, l->amount);
		if (l->adjustment)
			printf("  %4s  %-9s (adjusts the period starting %s)\n", "", "", l->period_start);
	}
	int credit = strcmp(d->doc, "credit_note") == 0;
	printf("\n  subtotal %s %s, tax %s %s, total %s %s%s\n", d->subtotal, d->currency, d->tax_total, d->currency,
	       d->total, d->currency, credit ? " (credited)" : "");
	if (d->output_dir[0]) {
		snprintf(files, sizeof(files), "%s/invoices/%s.pdf", d->output_dir, d->number);
		printf("  pdf           %s%s\n", files, access(files, R_OK) == 0 ? "" : " (not there)");
		snprintf(files, sizeof(files), "%s/invoices/%s.json", d->output_dir, d->number);
		printf("  json          %s%s\n", files, access(files, R_OK) == 0 ? "" : " (not there)");
		snprintf(files, sizeof(files), "%s/invoices/%s.focus.csv", d->output_dir, d->number);
		printf("  focus         %s%s\n", files, access(files, R_OK) == 0 ? "" : " (not there)");
		snprintf(files, sizeof(files), "%s/invoices/%s.xml", d->output_dir, d->number);
		printf("  ubl           %s%s\n", files, access(files, R_OK) == 0 ? "" : " (not there)");
	}
}

/* The FOCUS export of the document of set, to stdout. */
static int print_focus(struct db *db, const struct invoice_doc_set *set, struct err *e)
{
	struct invoice_focus_set f;
	int rc = invoice_focus_load(db, set, &f, e);
	if (rc == 0) {
		struct focus_rows rows = { f.values + (size_t)f.first[0] * (size_t)focus_ncolumns, f.count[0] };
		focus_csv_print(&rows, stdout);
	}
	invoice_focus_release(&f);
	return rc;
}

/* The UBL e-invoice of a document, to stdout. */
static int print_ubl(const struct invoice_doc *d, struct err *e)
{
	char *xml;
	size_t len;
	if (invoice_ubl_build(d, &xml, &len, e))
		return -1;
	fwrite(xml, 1, len, stdout);
	free(xml);
	return 0;
}

static int show(struct db *db, int json, int focus, int ubl, const char *pdf, const char *number, struct err *e)
{
	struct invoice_doc_set set;
	int found = invoice_docs_load_number(db, number, &set, e);
	if (found <= 0) {
		invoice_docs_release(&set);
		if (found == 0) {
			err_set(e, ERR_NOT_FOUND, "no invoice or credit note numbered '%s'", number);
			err_hint(e, "'billrun invoice list' lists the documents issued");
		}
		return -1;
	}
	if (json || focus || ubl || pdf) {
		int rc = 0;
		if (json)
			invoice_json_print(&set.docs[0], stdout);
		else if (focus)
			rc = print_focus(db, &set, e);
		else if (ubl)
			rc = print_ubl(&set.docs[0], e);
		if (pdf && rc == 0 && (rc = invoice_pdf_write(&set.docs[0], pdf, NULL, NULL, e)) == 0 && !json && !focus && !ubl)
			printf("%s written to %s\n", set.docs[0].number, pdf);
		if (pdf)
			invoice_pdf_cleanup();
		invoice_docs_release(&set);
		return rc;
	}
	print_doc(&set.docs[0]);
	const char *p[] = { number };
	PGresult *r = db_query(db, e, SQL_invoice_doc_related, 1, p);
	PGresult *a = r ? db_query(db, e, SQL_invoice_doc_adjusted_by, 1, p) : NULL;
	int rc = -1;
	if (!r || !a)
		goto out;
	for (int i = 0; i < PQntuples(r); i++) {
		const char *doc = V(r, i, 0), *rel = V(r, i, 2);
		const char *what = strcmp(rel, "credits") == 0 ? "credited by" : strcmp(rel, "replaces") == 0 ? "replaced by"
												       : "supplemented by";
		printf("  %-13s %s %s (%s %s, issued %s%s%s)\n", what, strcmp(doc, "credit_note") == 0 ? "credit note" : doc,
		       V(r, i, 1), V(r, i, 3), V(r, i, 4), V(r, i, 5), V(r, i, 6)[0] ? ", " : "", V(r, i, 6));
	}
	for (int i = 0; i < PQntuples(a); i++)
		printf("  %-13s invoice %s (late usage of the period starting %s)\n", "adjusted on", V(a, i, 0), V(a, i, 1));
	rc = 0;
out:
	PQclear(r);
	PQclear(a);
	invoice_docs_release(&set);
	return rc;
}

static int trace(struct db *db, const char *number, const char *line, struct err *e)
{
	struct invoice_doc_set set;
	int found = invoice_docs_load_number(db, number, &set, e);
	if (found <= 0) {
		invoice_docs_release(&set);
		if (found == 0) {
			err_set(e, ERR_NOT_FOUND, "no invoice or credit note numbered '%s'", number);
			err_hint(e, "'billrun invoice list' lists the documents issued");
		}
		return -1;
	}
	const struct invoice_doc *d = &set.docs[0];
	printf("%s %s, account %s, period %s to %s, %s\n", invoice_doc_title(d), d->number, d->account,
	       d->period_start, d->period_last, d->currency);
	const char *p[] = { number, line };
	PGresult *lines = db_query(db, e, SQL_invoice_trace_lines, 2, p);
	int rc = -1;
	if (!lines)
		goto out;
	if (PQntuples(lines) == 0) {
		if (line)
			err_set(e, ERR_NOT_FOUND, "%s has no line %s", number, line);
		else
			err_set(e, ERR_NOT_FOUND, "%s has no lines", number);
		goto out;
	}
	for (int i = 0; i < PQntuples(lines); i++) {
		const char *no = V(lines, i, 0), *kind = V(lines, i, 1), *meter = V(lines, i, 2);
		int difference = V(lines, i, 6)[0] == 't';
		printf("\nline %s: %s\n  quantity %s, amount %s %s%s\n", no, V(lines, i, 3),
		       V(lines, i, 4)[0] ? V(lines, i, 4) : "-", V(lines, i, 5), d->currency,
		       V(lines, i, 10)[0] == 't' ? " (adjusts an earlier period)" : "");
		if (strcmp(kind, "usage") != 0 || !meter[0]) {
			printf("  a %s line: no usage records are behind it%s%s%s\n", kind,
			       strcmp(kind, "tax") == 0 ? " (it is computed from the charges above)" : "",
			       strcmp(kind, "recurring") == 0 ? " (a fee for the period, from the subscription)" : "",
			       strcmp(kind, "minimum") == 0 ? " (the minimum commitment's true-up)" : "");
			continue;
		}
		const char *rp[] = { number, no };
		PGresult *recs = db_query(db, e, SQL_invoice_trace_records, 2, rp);
		if (!recs)
			goto out;
		int n = PQntuples(recs);
		printf("  %d usage record%s of meter %s%s (times in %s):\n", n, n == 1 ? "" : "s", meter,
		       difference ? " that arrived after the period was invoiced" : "", V(lines, i, 8));
		if (n)
			printf("  %10s  %-19s  %14s  %-34s  %s\n", "usage id", "time", "quantity", "file:line", "source / event key");
		for (int k = 0; k < n; k++) {
			char where[600];
			if (V(recs, k, 4)[0])
				snprintf(where, sizeof(where), "%s:%s", V(recs, k, 4), V(recs, k, 6));
			else
				snprintf(where, sizeof(where), "file #%s:%s", V(recs, k, 5), V(recs, k, 6));
			printf("  %10s  %-19s  %14s  %-34s  %s / %s%s\n", V(recs, k, 0), V(recs, k, 1), V(recs, k, 3), where,
			       V(recs, k, 7), V(recs, k, 8), !difference && V(recs, k, 9)[0] == 't' ? "  (late)" : "");
		}
		PQclear(recs);
	}
	rc = 0;
out:
	PQclear(lines);
	invoice_docs_release(&set);
	return rc;
}

static int list(struct db *db, const char *account, const char *run, const char *period, const char *limit, int drafts,
		struct err *e)
{
	if (drafts) {
		const char *p[] = { account, limit };
		PGresult *r = db_query(db, e, SQL_invoice_list_drafts, 2, p);
		if (!r)
			return -1;
		printf("%-14s %-20s %-23s %-8s %14s %s\n", "draft", "account", "period", "currency", "total so far", "run");
		for (int i = 0; i < PQntuples(r); i++)
			printf("%-14s %-20s %s to %s %-8s %14s %s\n", V(r, i, 0), V(r, i, 1), V(r, i, 2), V(r, i, 3), V(r, i, 4),
			       V(r, i, 5), V(r, i, 6));
		if (PQntuples(r) == 0)
			printf("no drafts\n");
		PQclear(r);
		return 0;
	}
	const char *p[] = { account, run, period, limit };
	PGresult *r = db_query(db, e, SQL_invoice_list, 4, p);
	if (!r)
		return -1;
	printf("%-22s %-14s %-20s %-24s %14s %-4s %-11s %5s  %s\n", "number", "type", "account", "period", "total", "cur",
	       "issued", "run", "refers to");
	for (int i = 0; i < PQntuples(r); i++) {
		char per[32];
		snprintf(per, sizeof(per), "%s..%s", V(r, i, 3), V(r, i, 4));
		printf("%-22s %-14s %-20s %-24s %14s %-4s %-11s %5s  %s%s%s\n", V(r, i, 1), V(r, i, 0), V(r, i, 2), per,
		       V(r, i, 6), V(r, i, 5), V(r, i, 7), V(r, i, 8), V(r, i, 10), V(r, i, 10)[0] ? " " : "", V(r, i, 9));
	}
	if (PQntuples(r) == 0)
		printf("no documents\n");
	PQclear(r);
	return 0;
}

static int digits(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

static int invoice_cmd(struct cli *cli, int argc, char **argv, struct err *e)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },     { "account", required_argument, NULL, 'a' },
		{ "run", required_argument, NULL, 'r' }, { "period", required_argument, NULL, 'p' },
		{ "limit", required_argument, NULL, 'n' }, { "drafts", no_argument, NULL, 'd' },
		{ "pdf", required_argument, NULL, 'f' }, { "focus", no_argument, NULL, 'F' },
		{ "ubl", no_argument, NULL, 'U' },      { NULL, 0, NULL, 0 },
	};
	const char *account = NULL, *run = NULL, *period = NULL, *limit = "50", *pdf = NULL;
	int json = 0, focus = 0, ubl = 0, drafts = 0, c;

	if (argc < 2)
		return cli_usage_error(e, "invoice", "'invoice' needs show, trace or list");
	const char *sub = argv[1];
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "ja:r:p:n:df:FU", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'a': account = optarg; break;
		case 'r': run = optarg; break;
		case 'p': period = optarg; break;
		case 'n': limit = optarg; break;
		case 'd': drafts = 1; break;
		case 'f': pdf = optarg; break;
		case 'F': focus = 1; break;
		case 'U': ubl = 1; break;
		default: return cli_usage_error(e, "invoice", "bad option");
		}
	}
	int nargs = argc - 1 - optind;
	char **args = argv + 1 + optind;
	if (strcmp(sub, "show") == 0) {
		if (nargs != 1)
			return cli_usage_error(e, "invoice", "'invoice show' needs one document number");
		if (json + focus + ubl > 1)
			return cli_usage_error(e, "invoice", "'invoice show' prints one of --json, --focus and --ubl");
	} else if (strcmp(sub, "trace") == 0) {
		if (nargs < 1 || nargs > 2)
			return cli_usage_error(e, "invoice", "'invoice trace' needs a document number and optionally a line");
		if (nargs == 2 && !digits(args[1]))
			return cli_usage_error(e, "invoice", "line '%s' is not a line number", args[1]);
	} else if (strcmp(sub, "list") == 0) {
		if (nargs != 0)
			return cli_usage_error(e, "invoice", "'invoice list' takes options only");
		if (run && !digits(run))
			return cli_usage_error(e, "invoice", "'%s' is not a run id", run);
		if (!digits(limit))
			return cli_usage_error(e, "invoice", "--limit '%s' is not a number", limit);
		if (period && (strlen(period) != 10 || period[4] != '-' || period[7] != '-'))
			return cli_usage_error(e, "invoice", "--period '%s' is not a date YYYY-MM-DD", period);
	} else {
		return cli_usage_error(e, "invoice", "unknown subcommand '%s' (show, trace or list)", sub);
	}
	if (cli_config(cli, 0, e))
		return -1;
	struct db *db = cluster_connect(&cli->cfg, DB_ROLE_AUDITOR, e);
	if (!db)
		return -1;
	int rc;
	if (strcmp(sub, "show") == 0)
		rc = show(db, json, focus, ubl, pdf, args[0], e);
	else if (strcmp(sub, "trace") == 0)
		rc = trace(db, args[0], nargs == 2 ? args[1] : NULL, e);
	else
		rc = list(db, account, run, period, limit, drafts, e);
	db_free(db);
	return rc;
}

const struct command cmd_invoice = { "invoice", invoice_cmd, "show, trace and list invoices and credit notes",
				     usage_text };
