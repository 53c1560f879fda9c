/*
 * cfg.c - loading and checking billrun.conf against the one table of
 * declared keys below. Add a key here and in conf/billrun.conf together.
 */
#include "cfg.h"
#include "db.h"
#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_CONFIG "/etc/billrun/billrun.conf"
#define OFF(field) offsetof(struct config, field)
#define NO_FIELD ((size_t)-1)

struct cfg_key {
	const char *path;    /* dotted; '*' = any group name, '[]' = list element */
	enum cfg_type type;
	size_t offset;       /* into struct config, or NO_FIELD */
	const char *def;     /* default as text (strings, durations, ints, bools) */
	int64_t min, max;    /* bounds for ints and durations (ms) */
	int secret;          /* 1 = mask fully, 2 = mask a DSN's password */
};

static const struct cfg_key keys[] = {
	{ "state_dir", CFG_STRING, OFF(state_dir), "/var/lib/billrun", 0, 0, 0 },
	{ "output_dir", CFG_STRING, OFF(output_dir), "", 0, 0, 0 },
	{ "host", CFG_STRING, OFF(run_host), "", 0, 0, 0 },
	{ "log", CFG_GROUP, NO_FIELD, NULL, 0, 0, 0 },
	{ "log.level", CFG_STRING, OFF(log_level), "info", 0, 0, 0 },
	{ "log.json", CFG_BOOL, OFF(log_json), "false", 0, 0, 0 },
	{ "database", CFG_GROUP, NO_FIELD, NULL, 0, 0, 0 },
	{ "database.dsn", CFG_STRING, OFF(db_dsn), "", 0, 0, 2 },
	{ "database.app_dsn", CFG_STRING, OFF(db_app_dsn), "", 0, 0, 2 },
	{ "database.connect_retries", CFG_INT, OFF(db_connect_retries), "5", 0, 100, 0 },
	{ "database.embedded", CFG_GROUP, NO_FIELD, NULL, 0, 0, 0 },
	{ "database.embedded.user", CFG_STRING, OFF(db_embedded_user), "postgres", 0, 0, 0 },
	{ "database.embedded.port", CFG_INT, OFF(db_embedded_port), "5432", 1, 65535, 0 },
	{ "database.embedded.bindir", CFG_STRING, OFF(db_pg_bindir), "", 0, 0, 0 },
	{ "rules", CFG_GROUP, NO_FIELD, NULL, 0, 0, 0 },
	{ "rules.file", CFG_STRING, OFF(rules_file), "/etc/billrun/rates.conf", 0, 0, 0 },
	{ "spool", CFG_GROUP, NO_FIELD, NULL, 0, 0, 0 },
	{ "spool.dir", CFG_STRING, OFF(spool_dir), "/var/spool/billrun", 0, 0, 0 },
	{ "spool.processed_dir", CFG_STRING, OFF(spool_processed_dir), "", 0, 0, 0 },
	{ "spool.keep_in_place", CFG_BOOL, OFF(spool_keep_in_place), "false", 0, 0, 0 },
	{ "ingest", CFG_GROUP, NO_FIELD, NULL, 0, 0, 0 },
	{ "ingest.time_min", CFG_STRING, OFF(ingest_time_min), "2000-01-01T00:00:00Z", 0, 0, 0 },
	{ "ingest.time_max", CFG_STRING, OFF(ingest_time_max), "2100-01-01T00:00:00Z", 0, 0, 0 },
	{ "ingest.max_field_length", CFG_INT, OFF(ingest_max_field), "4096", 16, 1048576, 0 },
	{ "ingest.settle_time", CFG_DURATION, OFF(ingest_settle_ms), "5s", 0, 3600000, 0 },
	{ "ingest.loaders", CFG_INT, OFF(ingest_loaders), "2", 1, 16, 0 },
	{ "aggregate", CFG_GROUP, NO_FIELD, NULL, 0, 0, 0 },
	{ "aggregate.source", CFG_STRING, OFF(aggregate_source), "partials", 0, 0, 0 },
	{ "sources", CFG_LIST, NO_FIELD, NULL, 0, 0, 0 },
	{ "sources.[]", CFG_GROUP, NO_FIELD, NULL, 0, 0, 0 },
	{ "sources.[].name", CFG_STRING, NO_FIELD, NULL, 0, 0, 0 },
	{ "sources.[].format", CFG_STRING, NO_FIELD, NULL, 0, 0, 0 },
	{ "sources.[].pattern", CFG_STRING, NO_FIELD, NULL, 0, 0, 0 },
	{ "sources.[].account_column", CFG_STRING, NO_FIELD, NULL, 0, 0, 0 },
	{ "sources.[].meter_column", CFG_STRING, NO_FIELD, NULL, 0, 0, 0 },
	{ "sources.[].meter_prefix", CFG_STRING, NO_FIELD, NULL, 0, 0, 0 },
	{ "sources.[].credit_meters", CFG_STRING_ARRAY, NO_FIELD, NULL, 0, 0, 0 },
	{ "sources.[].meter", CFG_STRING, NO_FIELD, NULL, 0, 0, 0 },
	{ "sources.[].key_column", CFG_STRING, NO_FIELD, NULL, 0, 0, 0 },
	{ "sources.[].time_zone", CFG_STRING, NO_FIELD, NULL, 0, 0, 0 },
	{ "sources.[].schema_change", CFG_STRING, NO_FIELD, NULL, 0, 0, 0 },
	{ "money", CFG_GROUP, NO_FIELD, NULL, 0, 0, 0 },
	{ "money.rounding", CFG_STRING, OFF(money_rounding), "half_up", 0, 0, 0 },
	{ "metrics", CFG_GROUP, NO_FIELD, NULL, 0, 0, 0 },
	{ "metrics.dir", CFG_STRING, OFF(metrics_dir), "", 0, 0, 0 },
	{ "sla", CFG_GROUP, NO_FIELD, NULL, 0, 0, 0 },
	{ "sla.alert_command", CFG_STRING, OFF(alert_command), "", 0, 0, 0 },
	{ "sla.check_interval", CFG_DURATION, OFF(sla_check_interval_ms), "2s", 100, 3600000, 0 },
	{ "sla.history_runs", CFG_INT, OFF(sla_history_runs), "20", 1, 1000, 0 },
	{ "sla.percentile", CFG_INT, OFF(sla_percentile), "90", 1, 100, 0 },
	{ "runner", CFG_GROUP, NO_FIELD, NULL, 0, 0, 0 },
	{ "runner.kill_grace", CFG_DURATION, OFF(kill_grace_ms), "10s", 0, 3600000, 0 },
	{ "runner.reconnect_for", CFG_DURATION, OFF(reconnect_ms), "5m", 0, 86400000, 0 },
	{ "archive", CFG_GROUP, NO_FIELD, NULL, 0, 0, 0 },
	{ "archive.dir", CFG_STRING, OFF(archive_dir), "", 0, 0, 0 },
	{ "archive.sign_key", CFG_STRING, OFF(archive_sign_key), "", 0, 0, 0 },
	{ "archive.sign_cert", CFG_STRING, OFF(archive_sign_cert), "", 0, 0, 0 },
	{ "archive.retention", CFG_STRING, OFF(archive_retention), "7y", 0, 0, 0 },
	{ "export", CFG_GROUP, NO_FIELD, NULL, 0, 0, 0 },
	{ "export.hmac_key", CFG_STRING, OFF(export_hmac_key), "", 0, 0, 1 },
	{ "xbrl", CFG_GROUP, NO_FIELD, NULL, 0, 0, 0 },
	{ "xbrl.entity", CFG_STRING, OFF(xbrl_entity), "billrun", 0, 0, 0 },
	{ "xbrl.entity_scheme", CFG_STRING, OFF(xbrl_entity_scheme), "http://www.billrun.org/entity", 0, 0, 0 },
	/* The journal's ledger accounts (reports/journal.c reads the groups
	 * and lists; defaults there): conf/README.md, "journal". */
	{ "journal", CFG_GROUP, NO_FIELD, NULL, 0, 0, 0 },
	{ "journal.functional_currency", CFG_STRING, OFF(journal_functional_currency), "", 0, 0, 0 },
	{ "journal.receivable", CFG_GROUP, NO_FIELD, NULL, 0, 0, 0 },
	{ "journal.receivable.code", CFG_STRING, NO_FIELD, NULL, 0, 0, 0 },
	{ "journal.receivable.name", CFG_STRING, NO_FIELD, NULL, 0, 0, 0 },
	{ "journal.revenue", CFG_GROUP, NO_FIELD, NULL, 0, 0, 0 },
	{ "journal.revenue.code", CFG_STRING, NO_FIELD, NULL, 0, 0, 0 },
	{ "journal.revenue.name", CFG_STRING, NO_FIELD, NULL, 0, 0, 0 },
	{ "journal.tax", CFG_GROUP, NO_FIELD, NULL, 0, 0, 0 },
	{ "journal.tax.code", CFG_STRING, NO_FIELD, NULL, 0, 0, 0 },
	{ "journal.tax.name", CFG_STRING, NO_FIELD, NULL, 0, 0, 0 },
	{ "journal.revenue_by_charge", CFG_LIST, NO_FIELD, NULL, 0, 0, 0 },
	{ "journal.revenue_by_charge.[]", CFG_GROUP, NO_FIELD, NULL, 0, 0, 0 },
	{ "journal.revenue_by_charge.[].charge", CFG_STRING, NO_FIELD, NULL, 0, 0, 0 },
	{ "journal.revenue_by_charge.[].code", CFG_STRING, NO_FIELD, NULL, 0, 0, 0 },
	{ "journal.revenue_by_charge.[].name", CFG_STRING, NO_FIELD, NULL, 0, 0, 0 },
	{ "journal.tax_by_rate", CFG_LIST, NO_FIELD, NULL, 0, 0, 0 },
	{ "journal.tax_by_rate.[]", CFG_GROUP, NO_FIELD, NULL, 0, 0, 0 },
	{ "journal.tax_by_rate.[].rate", CFG_STRING, NO_FIELD, NULL, 0, 0, 0 },
	{ "journal.tax_by_rate.[].code", CFG_STRING, NO_FIELD, NULL, 0, 0, 0 },
	{ "journal.tax_by_rate.[].name", CFG_STRING, NO_FIELD, NULL, 0, 0, 0 },
	{ "reconcile", CFG_GROUP, NO_FIELD, NULL, 0, 0, 0 },
	{ "reconcile.quantity_relative", CFG_STRING, OFF(reconcile_quantity_relative), "0.001", 0, 0, 0 },
	{ "reconcile.quantity_absolute", CFG_STRING, OFF(reconcile_quantity_absolute), "0", 0, 0, 0 },
	{ "reconcile.amount_relative", CFG_STRING, OFF(reconcile_amount_relative), "0.001", 0, 0, 0 },
	{ "reconcile.amount_absolute", CFG_STRING, OFF(reconcile_amount_absolute), "0", 0, 0, 0 },
	{ "reconcile.focus_cost", CFG_BOOL, OFF(reconcile_focus_cost), "true", 0, 0, 0 },
	{ "reconcile.drift_nights", CFG_INT, OFF(reconcile_drift_nights), "30", 2, 366, 0 },
	{ "reconcile.drift_min_nights", CFG_INT, OFF(reconcile_drift_min_nights), "7", 1, 366, 0 },
	{ "reconcile.drift_sigmas", CFG_STRING, OFF(reconcile_drift_sigmas), "4", 0, 0, 0 },
	{ "reconcile.drift_hold", CFG_BOOL, OFF(reconcile_drift_hold), "false", 0, 0, 0 },
	{ "reconcile.source", CFG_STRING, OFF(reconcile_source), "partials", 0, 0, 0 },
	{ "invoice", CFG_GROUP, NO_FIELD, NULL, 0, 0, 0 },
	{ "invoice.series", CFG_STRING, OFF(invoice_series), "INV-{YYYY}-{SEQ:6}", 0, 0, 0 },
	{ "invoice.credit_note_series", CFG_STRING, OFF(invoice_credit_series), "CN-{YYYY}-{SEQ:6}", 0, 0, 0 },
	{ "invoice.late_usage", CFG_STRING, OFF(invoice_late_usage), "supplementary", 0, 0, 0 },
	{ "invoice.grace_period", CFG_DURATION, OFF(invoice_grace_ms), "0s", 0, 31622400000LL, 0 },
	{ "invoice.payment_terms", CFG_DURATION, OFF(invoice_payment_terms_ms), "30d", 0, 31622400000LL, 0 },
	{ "invoice.batch_size", CFG_INT, OFF(invoice_batch_size), "1000", 1, 100000, 0 },
	{ "invoice.render_workers", CFG_INT, OFF(invoice_render_workers), "0", 0, 64, 0 },
	{ "invoice.pdf", CFG_BOOL, OFF(invoice_pdf), "true", 0, 0, 0 },
	{ "invoice.focus", CFG_BOOL, OFF(invoice_focus), "true", 0, 0, 0 },
	{ "invoice.ubl", CFG_BOOL, OFF(invoice_ubl), "true", 0, 0, 0 },
	{ "invoice.seller", CFG_GROUP, NO_FIELD, NULL, 0, 0, 0 },
	{ "invoice.seller.name", CFG_STRING, OFF(invoice_seller_name), "", 0, 0, 0 },
	{ "invoice.seller.address", CFG_STRING_ARRAY, NO_FIELD, NULL, 0, 0, 0 },
	{ "invoice.seller.vat_id", CFG_STRING, OFF(invoice_seller_vat_id), "", 0, 0, 0 },
	{ "invoice.seller.email", CFG_STRING, OFF(invoice_seller_email), "", 0, 0, 0 },
	{ "invoice.seller.payment", CFG_STRING, OFF(invoice_seller_payment), "", 0, 0, 0 },
	{ "invoice.seller.street", CFG_STRING, OFF(invoice_seller_street), "", 0, 0, 0 },
	{ "invoice.seller.city", CFG_STRING, OFF(invoice_seller_city), "", 0, 0, 0 },
	{ "invoice.seller.postcode", CFG_STRING, OFF(invoice_seller_postcode), "", 0, 0, 0 },
	{ "invoice.seller.country", CFG_STRING, OFF(invoice_seller_country), "", 0, 0, 0 },
	{ "invoice.seller.company_id", CFG_STRING, OFF(invoice_seller_company_id), "", 0, 0, 0 },
	{ "invoice.seller.contact", CFG_STRING, OFF(invoice_seller_contact), "", 0, 0, 0 },
	{ "invoice.seller.phone", CFG_STRING, OFF(invoice_seller_phone), "", 0, 0, 0 },
	{ "invoice.seller.endpoint", CFG_STRING, OFF(invoice_seller_endpoint), "", 0, 0, 0 },
	{ "invoice.seller.iban", CFG_STRING, OFF(invoice_seller_iban), "", 0, 0, 0 },
	{ "invoice.seller.bic", CFG_STRING, OFF(invoice_seller_bic), "", 0, 0, 0 },
	{ "dags", CFG_GROUP, NO_FIELD, NULL, 0, 0, 0 },
	{ "dags.*", CFG_GROUP, NO_FIELD, NULL, 0, 0, 0 },
	{ "dags.*.schedule", CFG_STRING, NO_FIELD, NULL, 0, 0, 0 },
	{ "dags.*.period", CFG_STRING, NO_FIELD, NULL, 0, 0, 0 },
	{ "dags.*.max_parallel", CFG_INT, NO_FIELD, NULL, 1, 256, 0 },
	{ "dags.*.sla", CFG_STRING, NO_FIELD, NULL, 0, 0, 0 },
	{ "dags.*.steps", CFG_LIST, NO_FIELD, NULL, 0, 0, 0 },
	{ "dags.*.steps.[]", CFG_GROUP, NO_FIELD, NULL, 0, 0, 0 },
	{ "dags.*.steps.[].name", CFG_STRING, NO_FIELD, NULL, 0, 0, 0 },
	{ "dags.*.steps.[].job", CFG_STRING, NO_FIELD, NULL, 0, 0, 0 },
	{ "dags.*.steps.[].exec", CFG_STRING, NO_FIELD, NULL, 0, 0, 0 },
	{ "dags.*.steps.[].after", CFG_STRING_ARRAY, NO_FIELD, NULL, 0, 0, 0 },
	{ "dags.*.steps.[].trigger", CFG_STRING, NO_FIELD, NULL, 0, 0, 0 },
	{ "dags.*.steps.[].retries", CFG_INT, NO_FIELD, NULL, 0, 100, 0 },
	{ "dags.*.steps.[].retry_delay", CFG_DURATION, NO_FIELD, NULL, 0, 86400000, 0 },
	{ "dags.*.steps.[].retry_factor", CFG_INT, NO_FIELD, NULL, 1, 10, 0 },
	{ "dags.*.steps.[].retry_max_delay", CFG_DURATION, NO_FIELD, NULL, 0, 86400000, 0 },
	{ "dags.*.steps.[].timeout", CFG_DURATION, NO_FIELD, NULL, 0, 604800000, 0 },
	{ "dags.*.steps.[].sla", CFG_STRING, NO_FIELD, NULL, 0, 0, 0 },
};

static const size_t nkeys = sizeof(keys) / sizeof(keys[0]);

static const char *type_name(enum cfg_type t)
{
	switch (t) {
	case CFG_BOOL: return "a boolean (true or false)";
	case CFG_INT: return "an integer";
	case CFG_STRING: return "a string";
	case CFG_DURATION: return "a duration (\"30s\", \"5m\", \"1h\") or seconds";
	case CFG_STRING_ARRAY: return "an array of strings [\"a\", \"b\"]";
	case CFG_GROUP: return "a group { ... }";
	case CFG_LIST: return "a list ( ... )";
	}
	return "?";
}

int cfg_parse_duration(const char *text, int64_t *ms)
{
	const char *p = text;
	int64_t total = 0;
	int parts = 0;

	while (*p == ' ')
		p++;
	if (!*p)
		return -1;
	while (*p) {
		if (*p < '0' || *p > '9')
			return -1;
		int64_t n = 0;
		while (*p >= '0' && *p <= '9') {
			if (n > INT64_MAX / 10 - 10)
				return -1;
			n = n * 10 + (*p++ - '0');
		}
		int64_t unit;
		if (strncmp(p, "ms", 2) == 0) {
			unit = 1;
			p += 2;
		} else if (*p == 's') {
			unit = 1000;
			p++;
		} else if (*p == 'm') {
			unit = 60000;
			p++;
		} else if (*p == 'h') {
			unit = 3600000;
			p++;
		} else if (*p == 'd') {
			unit = 86400000;
			p++;
		} else if (*p == '\0' && parts == 0) {
			unit = 1000;
		} else {
			return -1;
		}
		if (n > INT64_MAX / unit || total > INT64_MAX - n * unit)
			return -1;
		total += n * unit;
		parts++;
	}
	*ms = total;
	return 0;
}

void cfg_setting_path(const config_setting_t *s, char *buf, size_t size)
{
	const config_setting_t *chain[64];
	int n = 0;

	for (const config_setting_t *p = s; p && !config_setting_is_root(p) && n < 64;
	     p = config_setting_parent(p))
		chain[n++] = p;
	size_t len = 0;
	buf[0] = '\0';
	while (n-- > 0 && len < size) {
		const config_setting_t *c = chain[n];
		const char *name = config_setting_name(c);
		int r;
		if (name)
			r = snprintf(buf + len, size - len, "%s%s", len ? "." : "", name);
		else
			r = snprintf(buf + len, size - len, "%s[%d]", len ? "." : "",
				     config_setting_index(c));
		if (r < 0)
			break;
		len += (size_t)r;
	}
}

int cfg_error_at(struct err *e, const config_setting_t *s, const char *fmt, ...)
{
	char msg[ERR_MSG_MAX], path[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cfg_setting_path(s, path, sizeof(path));
	const char *file = config_setting_source_file(s);
	return err_set(e, ERR_CONFIG, "%s:%d: key '%s': %s", file ? file : "(config)",
		       config_setting_source_line(s), path, msg);
}

/* The schema pattern of a concrete path: names under '*' groups are
 * replaced when matching; list indexes become "[]". */
static void pattern_path(const config_setting_t *s, char *buf, size_t size)
{
	const config_setting_t *chain[64];
	int n = 0;

	for (const config_setting_t *p = s; p && !config_setting_is_root(p) && n < 64;
	     p = config_setting_parent(p))
		chain[n++] = p;
	size_t len = 0;
	buf[0] = '\0';
	while (n-- > 0 && len < size) {
		const char *name = config_setting_name(chain[n]);
		int r = snprintf(buf + len, size - len, "%s%s", len ? "." : "", name ? name : "[]");
		if (r < 0)
			break;
		len += (size_t)r;
	}
}

/* Does a concrete pattern path match a declared one? '*' stands for exactly
 * one path component. */
static int path_matches(const char *decl, const char *path)
{
	while (*decl && *path) {
		if (*decl == '*') {
			decl++;
			while (*path && *path != '.')
				path++;
			continue;
		}
		if (*decl != *path)
			return 0;
		decl++;
		path++;
	}
	return *decl == '\0' && *path == '\0';
}

static const struct cfg_key *find_key(const char *pattern)
{
	for (size_t i = 0; i < nkeys; i++)
		if (path_matches(keys[i].path, pattern))
			return &keys[i];
	return NULL;
}

static int check_value(const struct cfg_key *k, config_setting_t *s, struct err *e)
{
	int t = config_setting_type(s);
	int ok = 0;

	switch (k->type) {
	case CFG_BOOL: ok = t == CONFIG_TYPE_BOOL; break;
	case CFG_INT: ok = t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64; break;
	case CFG_STRING: ok = t == CONFIG_TYPE_STRING; break;
	case CFG_DURATION: ok = t == CONFIG_TYPE_STRING || t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64; break;
	case CFG_STRING_ARRAY: ok = t == CONFIG_TYPE_ARRAY || t == CONFIG_TYPE_LIST; break;
	case CFG_GROUP: ok = t == CONFIG_TYPE_GROUP; break;
	case CFG_LIST: ok = t == CONFIG_TYPE_LIST; break;
	}
	if (!ok)
		return cfg_error_at(e, s, "must be %s", type_name(k->type));
	if (k->type == CFG_STRING_ARRAY) {
		for (int i = 0; i < config_setting_length(s); i++) {
			config_setting_t *el = config_setting_get_elem(s, (unsigned)i);
			if (config_setting_type(el) != CONFIG_TYPE_STRING)
				return cfg_error_at(e, s, "must be %s", type_name(k->type));
		}
	}
	if (k->type == CFG_INT) {
		long long v = config_setting_get_int64(s);
		if ((k->min || k->max) && (v < k->min || v > k->max))
			return cfg_error_at(e, s, "%lld is out of range (%lld to %lld)", v,
					    (long long)k->min, (long long)k->max);
	}
	if (k->type == CFG_DURATION) {
		int64_t ms;
		if (t == CONFIG_TYPE_STRING) {
			if (cfg_parse_duration(config_setting_get_string(s), &ms))
				return cfg_error_at(e, s, "'%s' is not a duration (like \"30s\", \"5m\", \"1h30m\")",
						    config_setting_get_string(s));
		} else {
			long long sec = config_setting_get_int64(s);
			if (sec < 0 || sec > INT64_MAX / 1000)
				return cfg_error_at(e, s, "%lld is out of range", sec);
			ms = sec * 1000;
		}
		if ((k->min || k->max) && (ms < k->min || ms > k->max))
			return cfg_error_at(e, s, "out of range (%lld ms to %lld ms)", (long long)k->min,
					    (long long)k->max);
	}
	return 0;
}

/* Walk every setting of the file; each must be declared and well typed. */
static int check_tree(config_setting_t *s, struct err *e)
{
	if (!config_setting_is_root(s)) {
		char pattern[512];
		pattern_path(s, pattern, sizeof(pattern));
		const struct cfg_key *k = find_key(pattern);
		if (!k)
			return cfg_error_at(e, s, "unknown key");
		if (check_value(k, s, e))
			return -1;
		if (k->type == CFG_STRING_ARRAY)
			return 0;
	}
	int t = config_setting_type(s);
	if (t != CONFIG_TYPE_GROUP && t != CONFIG_TYPE_LIST)
		return 0;
	for (int i = 0; i < config_setting_length(s); i++)
		if (check_tree(config_setting_get_elem(s, (unsigned)i), e))
			return -1;
	return 0;
}

/* Set a field from a default's text. Defaults are well-formed by review
 * and by the unit test that loads an empty file. */
static void set_default(struct config *cfg, const struct cfg_key *k)
{
	char *field = (char *)cfg + k->offset;

	switch (k->type) {
	case CFG_STRING: *(const char **)field = k->def; break;
	case CFG_BOOL: *(int *)field = strcmp(k->def, "true") == 0; break;
	case CFG_INT: *(int64_t *)field = strtoll(k->def, NULL, 10); break;
	case CFG_DURATION: cfg_parse_duration(k->def, (int64_t *)field); break;
	default: break;
	}
}

static void set_from_setting(struct config *cfg, const struct cfg_key *k, config_setting_t *s)
{
	char *field = (char *)cfg + k->offset;

	switch (k->type) {
	case CFG_STRING: *(const char **)field = config_setting_get_string(s); break;
	case CFG_BOOL: *(int *)field = config_setting_get_bool(s); break;
	case CFG_INT: *(int64_t *)field = config_setting_get_int64(s); break;
	case CFG_DURATION:
		if (config_setting_type(s) == CONFIG_TYPE_STRING)
			cfg_parse_duration(config_setting_get_string(s), (int64_t *)field);
		else
			*(int64_t *)field = config_setting_get_int64(s) * 1000;
		break;
	default: break;
	}
}

int cfg_load(struct config *cfg, const char *path, int must_exist, struct err *e)
{
	memset(cfg, 0, sizeof(*cfg));
	config_init(&cfg->lc);
	cfg->loaded = 1;
	for (size_t i = 0; i < nkeys; i++)
		if (keys[i].offset != NO_FIELD)
			set_default(cfg, &keys[i]);

	int explicit = path != NULL;
	if (!path) {
		path = getenv("BILLRUN_CONFIG");
		explicit = path && *path;
		if (!explicit)
			path = DEFAULT_CONFIG;
	}
	struct stat st;
	if (stat(path, &st) != 0) {
		if (!explicit && !must_exist && errno == ENOENT)
			return 0;
		err_set(e, ERR_CONFIG, "could not read config file '%s': %s", path, strerror(errno));
		return err_hint(e, "give one with --config FILE or BILLRUN_CONFIG; conf/billrun.conf is the documented example");
	}
	snprintf(cfg->path, sizeof(cfg->path), "%s", path);
	if (config_read_file(&cfg->lc, path) != CONFIG_TRUE) {
		if (config_error_type(&cfg->lc) == CONFIG_ERR_FILE_IO)
			return err_set(e, ERR_CONFIG, "could not read config file '%s': %s", path,
				       strerror(errno ? errno : EIO));
		return err_set(e, ERR_CONFIG, "%s:%d: syntax error: %s",
			       config_error_file(&cfg->lc) ? config_error_file(&cfg->lc) : path,
			       config_error_line(&cfg->lc), config_error_text(&cfg->lc));
	}
	if (check_tree(config_root_setting(&cfg->lc), e))
		return -1;
	for (size_t i = 0; i < nkeys; i++) {
		if (keys[i].offset == NO_FIELD)
			continue;
		config_setting_t *s = config_lookup(&cfg->lc, keys[i].path);
		if (s)
			set_from_setting(cfg, &keys[i], s);
	}
	/* A connection string libpq cannot read is a bad configuration, found
	 * here, not after the retries of a connection (never a "database
	 * unavailable"). */
	static const char *dsn_keys[] = { "database.dsn", "database.app_dsn" };
	const char *dsns[] = { cfg->db_dsn, cfg->db_app_dsn };
	for (size_t i = 0; i < 2; i++) {
		char why[256];
		if (!dsns[i] || !*dsns[i] || db_dsn_check(dsns[i], why, sizeof(why)) == 0)
			continue;
		cfg_error_at(e, config_lookup(&cfg->lc, dsn_keys[i]), "libpq cannot parse it: %s", why);
		return err_hint(e, "values with spaces or quotes are written in single quotes, with \\' and \\\\ "
			       "inside (see \"Connection Strings\" in the libpq documentation)");
	}
	/* PostgreSQL and the steps change directory: the state folder is made
	 * absolute once, here. */
	if (cfg->state_dir[0] != '/') {
		char cwd[2048];
		if (!getcwd(cwd, sizeof(cwd)))
			return err_set(e, ERR_CONFIG, "could not resolve state_dir '%s': %s", cfg->state_dir, strerror(errno));
		snprintf(cfg->state_dir_buf, sizeof(cfg->state_dir_buf), "%s/%s", cwd, cfg->state_dir);
		cfg->state_dir = cfg->state_dir_buf;
	}
	/* Values whose domain is a set of words. */
	static const char *levels[] = { "debug", "info", "warn", "error", NULL };
	static const char *modes[] = { "half_up", "half_even", "up", "down", "ceiling", "floor", NULL };
	static const char *late[] = { "supplementary", "next_invoice", NULL };
	static const char *sources[] = { "partials", "usage", NULL };
	struct { const char *key, *value; const char **allowed; } words[] = {
		{ "log.level", cfg->log_level, levels },
		{ "money.rounding", cfg->money_rounding, modes },
		{ "invoice.late_usage", cfg->invoice_late_usage, late },
		{ "aggregate.source", cfg->aggregate_source, sources },
		{ "reconcile.source", cfg->reconcile_source, sources },
	};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		int found = 0;
		for (const char **w = words[i].allowed; *w; w++)
			found |= strcmp(*w, words[i].value) == 0;
		if (!found) {
			config_setting_t *s = config_lookup(&cfg->lc, words[i].key);
			cfg_error_at(e, s, "'%s' is not one of the allowed values", words[i].value);
			char list[256] = "";
			for (const char **w = words[i].allowed; *w; w++)
				snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
					 w == words[i].allowed ? "" : ", ", *w);
			return err_hint(e, "use one of: %s", list);
		}
	}
	return 0;
}

void cfg_release(struct config *cfg)
{
	if (cfg->loaded)
		config_destroy(&cfg->lc);
	cfg->loaded = 0;
}

static void mask_append(char *buf, size_t size, size_t *n, const char *s, size_t len)
{
	while (len-- > 0 && *n + 1 < size)
		buf[(*n)++] = *s++;
	buf[*n] = '\0';
}

/*
 * Masks every password: a URI's user:secret@, and each `password` keyword
 * (libpq allows spaces around '=', a quoted value, and uses the last of
 * repeated keywords, so none may show) or URI query parameter.
 */
void cfg_mask_dsn(const char *dsn, char *buf, size_t size)
{
	static const char stars[] = "********";
	const char *scheme = strstr(dsn, "://");
	const char *p = dsn;
	size_t n = 0;

	if (size == 0)
		return;
	buf[0] = '\0';
	if (scheme) {
		/* postgresql://user:secret@host/db: the userinfo ends at the last
		 * '@' of the authority. */
		const char *auth = scheme + 3;
		size_t authlen = strcspn(auth, "/?#");
		const char *at = memrchr(auth, '@', authlen);
		const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
		if (colon) {
			mask_append(buf, size, &n, dsn, (size_t)(colon + 1 - dsn));
			mask_append(buf, size, &n, stars, sizeof(stars) - 1);
			p = at;
		}
	}
	while (*p) {
		char before = p > dsn ? p[-1] : ' ';
		if ((before == ' ' || before == '\t' || before == '?' || before == '&') &&
		    strncmp(p, "password", 8) == 0) {
			const char *v = p + 8;
			while (*v == ' ' || *v == '\t')
				v++;
			if (*v == '=') {
				v++;
				while (*v == ' ' || *v == '\t')
					v++;
				mask_append(buf, size, &n, p, (size_t)(v - p));
				mask_append(buf, size, &n, stars, sizeof(stars) - 1);
				if (*v == '\'') {
					v++;
					while (*v && *v != '\'')
						v += (*v == '\\' && v[1]) ? 2 : 1;
					if (*v)
						v++;
				} else {
					while (*v && *v != ' ' && *v != '\t' && *v != '&')
						v++;
				}
				p = v;
				continue;
			}
		}
		mask_append(buf, size, &n, p, 1);
		p++;
	}
}

void cfg_output_dir(const struct config *cfg, char *buf, size_t size)
{
	if (cfg->output_dir && *cfg->output_dir)
		snprintf(buf, size, "%s", cfg->output_dir);
	else
		snprintf(buf, size, "%s/output", cfg->state_dir);
}

void cfg_metrics_dir(const struct config *cfg, char *buf, size_t size)
{
	if (cfg->metrics_dir && *cfg->metrics_dir)
		snprintf(buf, size, "%s", cfg->metrics_dir);
	else
		snprintf(buf, size, "%s/metrics", cfg->state_dir);
}

static void print_value(const struct config *cfg, const struct cfg_key *k, FILE *out)
{
	const char *field = (const char *)cfg + k->offset;
	char masked[1024];

	switch (k->type) {
	case CFG_STRING: {
		const char *v = *(const char *const *)field;
		if (k->secret == 1 && *v)
			v = "********";
		else if (k->secret == 2) {
			cfg_mask_dsn(v, masked, sizeof(masked));
			v = masked;
		}
		fputc('"', out);
		for (; *v; v++) {
			if (*v == '"' || *v == '\\')
				fputc('\\', out);
			fputc(*v, out);
		}
		fputc('"', out);
		break;
	}
	case CFG_BOOL: fputs(*(const int *)field ? "true" : "false", out); break;
	case CFG_INT: fprintf(out, "%lld", (long long)*(const int64_t *)field); break;
	case CFG_DURATION: {
		int64_t ms = *(const int64_t *)field;
		if (ms % 1000)
			fprintf(out, "\"%lldms\"", (long long)ms);
		else
			fprintf(out, "\"%llds\"", (long long)(ms / 1000));
		break;
	}
	default: break;
	}
}

void cfg_print(const struct config *cfg, FILE *out)
{
	fprintf(out, "# effective configuration from %s\n", cfg->path[0] ? cfg->path : "(built-in defaults)");
	for (size_t i = 0; i < nkeys; i++) {
		const struct cfg_key *k = &keys[i];
		if (k->offset == NO_FIELD)
			continue;
		config_setting_t *s = cfg->path[0] ? config_lookup((config_t *)&cfg->lc, k->path) : NULL;
		fprintf(out, "%s = ", k->path);
		print_value(cfg, k, out);
		if (s)
			fprintf(out, ";   # %s:%d\n", cfg->path, config_setting_source_line(s));
		else
			fputs(";   # default\n", out);
	}
}
