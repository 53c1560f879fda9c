/*
 * cfg.h - billrun's configuration: one libconfig file, every key declared
 * once (type, default, bounds, documentation) in the table in cfg.c.
 *
 * Loading checks the whole file against that table: an unknown key, a wrong
 * type or an out-of-range value is an ERR_CONFIG naming the file, the line
 * and the key. Keys under user-named groups (the DAGs, the sources) are
 * declared with '*' for the name and '[]' for list elements.
 */
#ifndef BILLRUN_CFG_H
#define BILLRUN_CFG_H

#include <libconfig.h>
#include <stdint.h>
#include <stdio.h>

struct err;

/* The effective configuration. Strings point into the loaded file or at
 * static defaults; they live as long as the struct config. */
struct config {
	char path[4096];          /* the file loaded, or "" for defaults only */
	config_t lc;              /* the parsed file, for the DAG and source tables */
	int loaded;

	const char *state_dir;    /* absolute: a relative one is taken from the cwd */
	char state_dir_buf[4096];
	const char *output_dir;   /* "" = STATE_DIR/output */
	const char *log_level;
	int log_json;

	const char *db_dsn;       /* "" = embedded cluster under state_dir */
	const char *db_app_dsn;   /* "" = db_dsn with SET ROLE billrun_app */
	int64_t db_connect_retries;
	const char *db_embedded_user;
	int64_t db_embedded_port;
	const char *db_pg_bindir; /* "" = newest /usr/lib/postgresql/N/bin */

	const char *rules_file;
	const char *spool_dir;
	const char *spool_processed_dir; /* "" = SPOOL/processed */
	int spool_keep_in_place;
	const char *ingest_time_min;
	const char *ingest_time_max;
	int64_t ingest_max_field;
	int64_t ingest_settle_ms;  /* a spool file is taken when unchanged this long */
	int64_t ingest_loaders;    /* files read in parallel, each by its own session */
	const char *aggregate_source;  /* "partials" (default) or "usage": what the aggregate step adds up */
	const char *reconcile_source;  /* "partials" (default) or "usage": what the reconcile step recounts */

	const char *money_rounding;
	const char *metrics_dir;   /* "" = STATE_DIR/metrics; one billrun_DAG.prom per DAG */
	const char *alert_command;
	int64_t sla_check_interval_ms;
	int64_t sla_history_runs;
	int64_t sla_percentile;
	int64_t kill_grace_ms;
	int64_t reconnect_ms;       /* how long a runner that lost its database tries to get it back */
	const char *run_host;      /* "" = gethostname() */

	const char *archive_dir;       /* "" = OUTPUT_DIR/archive */
	const char *archive_sign_key;  /* PEM private key; "" = archives are not signed */
	const char *archive_sign_cert; /* PEM certificate(s) of that key, signer first */
	const char *archive_retention; /* "7y": what 'archive prune' keeps by default */
	const char *export_hmac_key;   /* secret for masked exports' tokens */
	const char *xbrl_entity;       /* the reporting entity's identifier */
	const char *xbrl_entity_scheme;/* ... and the scheme (a URI) it is from */
	const char *journal_functional_currency; /* "" = none; the accounts: reports/journal.h */

	/* reconcile.*: thresholds as exact decimal text (jobs/reconcile.h) */
	const char *reconcile_quantity_relative;
	const char *reconcile_quantity_absolute;
	const char *reconcile_amount_relative;
	const char *reconcile_amount_absolute;
	int reconcile_focus_cost;
	int64_t reconcile_drift_nights;
	int64_t reconcile_drift_min_nights;
	const char *reconcile_drift_sigmas;
	int reconcile_drift_hold;

	/* invoice.*: numbering, late usage, output (jobs/INVOICES.md) */
	const char *invoice_series;         /* "INV-{YYYY}-{SEQ:6}" */
	const char *invoice_credit_series;  /* "CN-{YYYY}-{SEQ:6}" */
	const char *invoice_late_usage;     /* "supplementary" or "next_invoice" */
	int64_t invoice_grace_ms;           /* after a period's end before it is invoiced */
	int64_t invoice_payment_terms_ms;   /* due date = issue date + this (whole days) */
	int64_t invoice_batch_size;         /* drafts issued per transaction */
	int64_t invoice_render_workers;     /* processes rendering PDFs; 0 = one per CPU */
	int invoice_pdf;                    /* write the PDF form */
	int invoice_focus;                  /* write the FOCUS 1.1 export */
	int invoice_ubl;                    /* write the UBL 2.1 e-invoice */
	const char *invoice_seller_name, *invoice_seller_vat_id, *invoice_seller_email, *invoice_seller_payment;
	/* The seller's structured address and identifiers (the e-invoice's
	 * and article 226's; country an ISO 3166-1 alpha-2 code, endpoint
	 * SCHEME:ID). */
	const char *invoice_seller_street, *invoice_seller_city, *invoice_seller_postcode, *invoice_seller_country;
	const char *invoice_seller_company_id, *invoice_seller_contact, *invoice_seller_phone, *invoice_seller_endpoint;
	const char *invoice_seller_iban, *invoice_seller_bic;
};

/* The declared type of a key. */
enum cfg_type {
	CFG_BOOL, CFG_INT, CFG_STRING, CFG_DURATION, CFG_STRING_ARRAY, CFG_GROUP, CFG_LIST
};

/*
 * Load path (NULL: BILLRUN_CONFIG, else /etc/billrun/billrun.conf). When
 * `must_exist` is 0 and no path was given explicitly, a missing default
 * file means "all defaults". On error fills e (ERR_CONFIG, message
 * "FILE:LINE: ...") and returns -1; cfg_release() is still safe to call.
 */
int cfg_load(struct config *cfg, const char *path, int must_exist, struct err *e);
void cfg_release(struct config *cfg);

/* Print every declared key with its effective value and origin; secrets
 * (passwords in DSNs, keys) are masked. */
void cfg_print(const struct config *cfg, FILE *out);

/*
 * Parse a duration: an integer with a unit, possibly several ("90s",
 * "45m", "1h30m", "250ms", "2d"); a bare integer means seconds.
 * Returns 0 and the milliseconds in *ms, or -1.
 */
int cfg_parse_duration(const char *text, int64_t *ms);

/* Fill e with an ERR_CONFIG located at a setting: "FILE:LINE: key 'K': MSG".
 * Returns -1. */
int cfg_error_at(struct err *e, const config_setting_t *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The dotted path of a setting ("dags.nightly.steps.[2].after"). */
void cfg_setting_path(const config_setting_t *s, char *buf, size_t size);

/* The state directory's derived folders. Write into buf; never fail. */
void cfg_output_dir(const struct config *cfg, char *buf, size_t size);
void cfg_metrics_dir(const struct config *cfg, char *buf, size_t size);

/* Copy dsn into buf with any password replaced by "********". */
void cfg_mask_dsn(const char *dsn, char *buf, size_t size);

#endif
