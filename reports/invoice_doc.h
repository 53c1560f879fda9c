/*
 * invoice_doc.h - an issued invoice or credit note as the renderers
 * (invoice_pdf.c, invoice_json.c) and `billrun invoice show` see it.
 *
 * Every field is text: exact decimals as PostgreSQL prints them, dates as
 * YYYY-MM-DD, "" where there is no value (never NULL). The strings are
 * owned by whoever filled the struct (jobs/invoice_doc.c points them into
 * a PGresult); the renderers only read them.
 */
#ifndef BILLRUN_INVOICE_DOC_H
#define BILLRUN_INVOICE_DOC_H

/* One pricing step of a usage line, as the rated line behind it keeps it
 * (charge.h, struct charge_step): `units` above `from` up to `to` ("" =
 * unbounded) at `price` each, plus `flat` (0 = none). tier is 0 for the
 * untiered models (per_unit, package: units are packages there). */
struct invoice_doc_step {
	const char *tier, *from, *to, *units, *price, *flat, *amount;
};

struct invoice_doc_line {
	const char *line_no;
	const char *kind;           /* usage, recurring, minimum, tax */
	int adjustment;             /* late usage of an earlier period (on a later invoice) */
	const char *period_start;   /* the period the line bills */
	const char *description;
	const char *quantity;       /* as aggregated; "" for none */
	const char *billable;       /* after free units; "" for none */
	const char *amount;         /* in the document's currency */
	const char *tax_rate;       /* tax lines: 0.19 */
	const char *tax_base;
	const char *meter, *charge, *plan;
	const char *fx_rate, *price_currency, *price_amount, *fx_as_of; /* converted lines */
	const char *rating_id, *rated_line_id;
	/* The customer's words (rate card `label`, `unit`, `show_zero`; see
	 * reports/invoice_words.h). label: the charge's or meter's label, else
	 * the meter's or charge's name. unit: "" for none. For usage lines
	 * the model and the steps price the line; for a difference (a
	 * supplementary or adjustment line) they are the re-rated period's. */
	const char *label, *unit, *model;
	int show_zero;
	int difference;
	const char *free;                        /* free units used; "" none */
	const char *package_size, *packages;     /* package model */
	const struct invoice_doc_step *steps;
	int nsteps;
	const char *tax_group;      /* the charge's tax group; a tax line's group */
};

struct invoice_doc {
	const char *doc;            /* "invoice", "supplementary" or "credit_note" */
	const char *id;
	const char *number;
	const char *series;
	const char *issue_date;
	const char *due_date;       /* "" for credit notes */
	const char *issued_at;      /* UTC, ISO 8601 */
	const char *account;
	const char *period_start;   /* first local day of the billing period */
	const char *period_last;    /* last local day (inclusive) */
	const char *currency;
	const char *subtotal, *tax_total, *total;  /* credit notes: amounts credited */
	const char *run_id;
	const char *rule_version, *rule_sha256;
	const char *ref_kind;       /* "supplements", "replaces", "credits" or "" */
	const char *ref_number;
	const char *reason;         /* credit notes: "correction" or "late_usage" */
	const char *seller_name, *seller_address, *seller_vat_id, *seller_email, *seller_payment;
	const char *customer_name, *customer_email, *customer_tax, *customer_cost_centre;
	const char *seller_json, *customer_json;   /* as stored (JSON objects) */
	/* The parties' structured fields (jobs/INVOICES.md, "The parties"):
	 * the seller's from invoice.seller, the buyer's from its account
	 * version; country codes ISO 3166-1 alpha-2, endpoints SCHEME:ID. */
	const char *seller_street, *seller_city, *seller_postcode, *seller_country;
	const char *seller_company_id, *seller_contact, *seller_phone, *seller_endpoint;
	const char *seller_iban, *seller_bic;
	const char *customer_line1, *customer_line2, *customer_city, *customer_postcode, *customer_country;
	const char *customer_vat_id, *customer_endpoint;
	int customer_b2b;
	int reverse_charge;         /* the buyer accounts for the VAT (Directive 2006/112/EC, art. 196) */
	const char *rating_id;
	const char *output_dir;     /* the folder holding its files: of the run that wrote them
	                               (invoice_files), else of the issuing run; for `invoice show` */
	const struct invoice_doc_line *lines;
	int nlines;
};

/* "INVOICE", "SUPPLEMENTARY INVOICE" or "CREDIT NOTE". */
const char *invoice_doc_title(const struct invoice_doc *d);

#endif
