/*
 * ingest_config.c - the ingest step's settings: the spool, the time
 * bounds and the `sources` list, each source checked (its format and the
 * format's own settings) before any file is read.
 */
#include "ingest_int.h"
#include "cfg.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *group_string(config_setting_t *g, const char *key)
{
	const char *v = NULL;
	return config_setting_lookup_string(g, key, &v) == CONFIG_TRUE ? v : NULL;
}

static int parse_bound(const struct config *cfg, const char *key, const char *text, int64_t *out,
		       struct err *e)
{
	if (parse_timestamp(text, strlen(text), 0, NULL, out) == 0)
		return 0;
	config_setting_t *s = config_lookup((config_t *)&cfg->lc, key);
	if (s)
		return cfg_error_at(e, s, "'%s' is not an ISO 8601 time with an offset or Z", text);
	return err_set(e, ERR_CONFIG, "%s '%s' is not an ISO 8601 time with an offset or Z", key, text);
}

static int check_source(struct source *src, config_setting_t *g, struct err *e)
{
	static const char *const not_for_asterisk[] = { "account_column", "meter_column", "key_column",
							 "schema_change", NULL };
	const struct reader_settings *rs = &src->rs;

	if (!rs->source || !*rs->source)
		return cfg_error_at(e, g, "a source needs a name");
	if (!rs->format)
		return cfg_error_at(e, g, "source '%s' needs a format (usage-csv, focus or asterisk-cdr)", rs->source);
	if (!reader_format_find(rs->format)) {
		cfg_error_at(e, config_setting_get_member(g, "format"), "unknown format '%s'", rs->format);
		return err_hint(e, "use usage-csv, focus or asterisk-cdr");
	}
	if (!src->pattern || !*src->pattern)
		return cfg_error_at(e, g, "source '%s' needs a file pattern", rs->source);
	if (rs->meter && !*rs->meter)
		return cfg_error_at(e, config_setting_get_member(g, "meter"), "an empty meter name");
	if (rs->time_zone && strcmp(rs->format, "asterisk-cdr") != 0)
		return cfg_error_at(e, config_setting_get_member(g, "time_zone"),
				    "time_zone is only for format asterisk-cdr (the others carry offsets)");
	if (strcmp(rs->format, "asterisk-cdr") == 0)
		for (int i = 0; not_for_asterisk[i]; i++)
			if (config_setting_get_member(g, not_for_asterisk[i]))
				return cfg_error_at(e, config_setting_get_member(g, not_for_asterisk[i]),
						    "not for format asterisk-cdr (it has fixed columns)");
	/* Let the format check what it can of its settings (a time zone...)
	 * now, rather than at the first file. */
	struct csv_mem empty = { "", 0, 0, 0 };
	struct reader r;
	int rc = reader_open(&r, rs, csv_read_mem, &empty, e);
	reader_close(&r);
	if (rc && e && e->kind == ERR_CONFIG) {
		char msg[ERR_MSG_MAX];
		snprintf(msg, sizeof(msg), "%s", e->message);
		char hint[ERR_MSG_MAX];
		snprintf(hint, sizeof(hint), "%s", e->hint);
		cfg_error_at(e, g, "%s", msg);
		if (hint[0])
			err_hint(e, "%s", hint);
	}
	return rc;
}

int ingest_load_settings(struct ingest *in, struct err *e)
{
	const struct config *cfg = in->ctx->cfg;

	snprintf(in->spool, sizeof(in->spool), "%s", cfg->spool_dir);
	if (cfg->spool_processed_dir && *cfg->spool_processed_dir)
		snprintf(in->processed, sizeof(in->processed), "%s", cfg->spool_processed_dir);
	else
		snprintf(in->processed, sizeof(in->processed), "%s/processed", cfg->spool_dir);
	in->keep = cfg->spool_keep_in_place;
	in->settle_ms = cfg->ingest_settle_ms;
	if (parse_bound(cfg, "ingest.time_min", cfg->ingest_time_min, &in->time_min, e) ||
	    parse_bound(cfg, "ingest.time_max", cfg->ingest_time_max, &in->time_max, e))
		return -1;
	if (in->time_min >= in->time_max)
		return err_set(e, ERR_CONFIG, "ingest.time_min must be before ingest.time_max");

	config_setting_t *list = config_lookup((config_t *)&cfg->lc, "sources");
	int n = list ? config_setting_length(list) : 0;
	in->sources = calloc((size_t)(n ? n : 1), sizeof(*in->sources));
	if (!in->sources)
		return err_set(e, ERR_INTERNAL, "out of memory");
	for (int i = 0; i < n; i++) {
		config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
		struct source *src = &in->sources[i];
		strset_init(&src->credit);
		in->nsources = i + 1;
		src->rs.source = group_string(g, "name");
		src->rs.format = group_string(g, "format");
		src->rs.account_column = group_string(g, "account_column");
		src->rs.meter_column = group_string(g, "meter_column");
		src->rs.meter_prefix = group_string(g, "meter_prefix");
		src->rs.meter = group_string(g, "meter");
		src->rs.key_column = group_string(g, "key_column");
		src->rs.time_zone = group_string(g, "time_zone");
		src->rs.max_field = (size_t)cfg->ingest_max_field;
		src->pattern = group_string(g, "pattern");
		if (check_source(src, g, e))
			return -1;
		const char *schema = group_string(g, "schema_change");
		if (schema && strcmp(schema, "accept") != 0 && strcmp(schema, "refuse") != 0) {
			cfg_error_at(e, config_setting_get_member(g, "schema_change"),
				     "source '%s': schema_change '%s' is neither accept nor refuse", src->rs.source, schema);
			return err_hint(e, "accept reads a file whose header changed (its added columns ignored), refuse "
					   "quarantines it whole; either way the change is a warning");
		}
		src->refuse_schema_change = schema && strcmp(schema, "refuse") == 0;
		for (int j = 0; j < i; j++)
			if (strcmp(in->sources[j].rs.source, src->rs.source) == 0)
				return cfg_error_at(e, g, "source name '%s' is used twice", src->rs.source);
		config_setting_t *credit = config_setting_get_member(g, "credit_meters");
		for (int k = 0; credit && k < config_setting_length(credit); k++) {
			const char *m = config_setting_get_string_elem(credit, k);
			if (m && strset_add(&src->credit, m, strlen(m), 0) < 0)
				return err_set(e, ERR_INTERNAL, "out of memory");
		}
	}
	return 0;
}
