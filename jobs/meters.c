/*
 * meters.c - the rate card's meters list into table meters, and back into
 * a set for validation (see meters.h).
 */
#include "meters.h"
#include "cfg.h"
#include "db.h"
#include "dec.h"
#include "err.h"
#include "reader.h"
#include "sqltext.h"

#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const aggregations[] = { "sum", "count", "max", "unique_count", "latest", NULL };
static const char *const meter_keys[] = { "name", "aggregation", "unique_attribute", "round_increment",
					  "allow_credit", "unit", "label", "charge_categories", NULL };
/* FOCUS ChargeCategory values, as migration 017's CHECK spells them. */
static const char *const charge_categories[] = { "Usage", "Purchase", "Tax", "Credit", "Adjustment", NULL };

static int in_list(const char *const *list, const char *s)
{
	for (int i = 0; list[i]; i++)
		if (strcmp(list[i], s) == 0)
			return 1;
	return 0;
}

static int name_ok(const char *s)
{
	if (!(*s >= 'a' && *s <= 'z'))
		return 0;
	for (s++; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '-'))
			return 0;
	return 1;
}

/* "FILE:LINE: meter 'NAME': MSG" */
static int meter_error(struct err *e, const config_setting_t *s, const char *meter, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int meter_error(struct err *e, const config_setting_t *s, const char *meter, const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	const char *file = config_setting_source_file(s);
	return err_set(e, ERR_CONFIG, "%s:%d: meter '%s': %s", file ? file : "(rules)",
		       config_setting_source_line(s), meter ? meter : "?", msg);
}

static const char *string_member(config_setting_t *g, const char *key, const char *meter, int *bad,
				 struct err *e)
{
	config_setting_t *s = config_setting_get_member(g, key);
	if (!s)
		return NULL;
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		meter_error(e, s, meter, "key '%s' must be a string", key);
		*bad = 1;
		return NULL;
	}
	return config_setting_get_string(s);
}

/* One meter's values as statement parameters. */
struct meter_row {
	const char *name, *aggregation, *unique_attribute, *unit;
	char round_increment[DEC_STR_MAX];
	int has_round, allow_credit;
	char categories[64];   /* a text[] literal: "{Usage,Credit}" */
};

/*
 * charge_categories = ["Usage", "Credit"]: which FOCUS charge categories
 * the meter counts (default Usage only), each once, spelt in any letter
 * case and stored as FOCUS spells it.
 */
static int check_categories(config_setting_t *g, struct meter_row *m, struct err *e)
{
	config_setting_t *s = config_setting_get_member(g, "charge_categories");
	snprintf(m->categories, sizeof(m->categories), "{Usage}");
	if (!s)
		return 0;
	int t = config_setting_type(s);
	if ((t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) || config_setting_length(s) == 0)
		return meter_error(e, s, m->name, "charge_categories must be a non-empty list of strings, "
						  "e.g. [\"Usage\", \"Credit\"]");
	int seen[sizeof(charge_categories) / sizeof(charge_categories[0])] = { 0 };
	size_t len = 0;
	m->categories[len++] = '{';
	for (int i = 0; i < config_setting_length(s); i++) {
		config_setting_t *c = config_setting_get_elem(s, (unsigned)i);
		const char *v = config_setting_type(c) == CONFIG_TYPE_STRING ? config_setting_get_string(c) : NULL;
		if (!v)
			return meter_error(e, c, m->name, "charge_categories must list strings");
		int k = 0;
		while (charge_categories[k] && strcasecmp(charge_categories[k], v) != 0)
			k++;
		if (!charge_categories[k]) {
			meter_error(e, c, m->name, "charge category '%s' is not one of Usage, Purchase, Tax, Credit, "
						   "Adjustment", v);
			return err_hint(e, "these are FOCUS ChargeCategory values; a record of another source is Usage");
		}
		if (seen[k]++)
			return meter_error(e, c, m->name, "charge category '%s' is listed twice", charge_categories[k]);
		if (i)
			m->categories[len++] = ',';
		len += (size_t)snprintf(m->categories + len, sizeof(m->categories) - len, "%s", charge_categories[k]);
	}
	snprintf(m->categories + len, sizeof(m->categories) - len, "}");
	return 0;
}

static int check_meter(config_setting_t *g, struct meter_row *m, struct err *e)
{
	int bad = 0;
	memset(m, 0, sizeof(*m));
	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return meter_error(e, g, NULL, "each element of 'meters' must be a group { name = ...; }");
	m->name = string_member(g, "name", NULL, &bad, e);
	if (bad)
		return -1;
	if (!m->name)
		return meter_error(e, g, NULL, "key 'name' is required");
	for (int i = 0; i < config_setting_length(g); i++) {
		config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		if (!in_list(meter_keys, config_setting_name(s))) {
			meter_error(e, s, m->name, "unknown key '%s'", config_setting_name(s));
			return err_hint(e, "a meter has name, aggregation, unique_attribute, round_increment, "
					   "allow_credit, unit, label and charge_categories");
		}
	}
	if (!name_ok(m->name))
		return meter_error(e, g, m->name, "a name is lower case letters, digits, '_', '.' and '-', "
						  "starting with a letter");
	m->aggregation = string_member(g, "aggregation", m->name, &bad, e);
	if (bad)
		return -1;
	if (!m->aggregation)
		return meter_error(e, g, m->name, "key 'aggregation' is required");
	if (!in_list(aggregations, m->aggregation)) {
		meter_error(e, config_setting_get_member(g, "aggregation"), m->name,
			    "aggregation '%s' is not one of sum, count, max, unique_count, latest", m->aggregation);
		return -1;
	}
	m->unique_attribute = string_member(g, "unique_attribute", m->name, &bad, e);
	if (bad)
		return -1;
	int unique = strcmp(m->aggregation, "unique_count") == 0;
	if (unique && (!m->unique_attribute || !*m->unique_attribute))
		return meter_error(e, g, m->name, "aggregation 'unique_count' needs key 'unique_attribute'");
	if (!unique && m->unique_attribute)
		return meter_error(e, config_setting_get_member(g, "unique_attribute"), m->name,
				   "key 'unique_attribute' is only for aggregation 'unique_count'");
	m->unit = string_member(g, "unit", m->name, &bad, e);
	if (bad)
		return -1;
	if (!m->unit)
		m->unit = "";
	/* The label is the invoice's word for the meter (jobs/rates.c keeps
	 * it with each charge); here it is only checked. */
	string_member(g, "label", m->name, &bad, e);
	if (bad)
		return -1;
	config_setting_t *s = config_setting_get_member(g, "round_increment");
	if (s) {
		struct dec d;
		int t = config_setting_type(s);
		if (t == CONFIG_TYPE_STRING) {
			if (dec_parse_cstr(&d, config_setting_get_string(s)))
				return meter_error(e, s, m->name, "round_increment '%s' is not a decimal number",
						   config_setting_get_string(s));
		} else if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64) {
			d = dec_from_int(config_setting_get_int64(s));
		} else {
			return meter_error(e, s, m->name,
					   "round_increment must be a decimal string (\"0.5\") or an integer: "
					   "floating point is not exact");
		}
		if (dec_sign(d) <= 0)
			return meter_error(e, s, m->name, "round_increment must be greater than zero");
		dec_format(d, m->round_increment, sizeof(m->round_increment));
		m->has_round = 1;
	}
	s = config_setting_get_member(g, "allow_credit");
	if (s) {
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			return meter_error(e, s, m->name, "allow_credit must be true or false");
		m->allow_credit = config_setting_get_bool(s);
	}
	return check_categories(g, m, e);
}

int meters_sync(struct db *db, const char *rules_file, struct err *e)
{
	config_t lc;
	struct textbuf names = { 0 };
	int rc = -1, count = 0;

	config_init(&lc);
	if (config_read_file(&lc, rules_file) != CONFIG_TRUE) {
		if (config_error_type(&lc) == CONFIG_ERR_FILE_IO)
			err_set(e, ERR_CONFIG, "could not read rate card '%s'", rules_file);
		else
			err_set(e, ERR_CONFIG, "%s:%d: syntax error: %s",
				config_error_file(&lc) ? config_error_file(&lc) : rules_file, config_error_line(&lc),
				config_error_text(&lc));
		goto out;
	}
	config_setting_t *list = config_lookup(&lc, "meters");
	if (!list) {
		err_set(e, ERR_CONFIG, "rate card '%s' has no 'meters' list", rules_file);
		err_hint(e, "declare the meters usage is measured in: meters = ( { name = \"api_calls\"; "
			    "aggregation = \"sum\"; } );");
		goto out;
	}
	if (config_setting_type(list) != CONFIG_TYPE_LIST && config_setting_type(list) != CONFIG_TYPE_ARRAY) {
		cfg_error_at(e, list, "must be a list ( { ... }, ... )");
		goto out;
	}
	textbuf_addc(&names, '{');
	for (int i = 0; i < config_setting_length(list); i++) {
		config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
		struct meter_row m;
		if (check_meter(g, &m, e))
			goto out;
		for (int j = 0; j < i; j++) {
			const char *other = NULL;
			config_setting_lookup_string(config_setting_get_elem(list, (unsigned)j), "name", &other);
			if (other && strcmp(other, m.name) == 0) {
				meter_error(e, g, m.name, "declared twice");
				goto out;
			}
		}
		const char *params[7] = { m.name, m.aggregation, m.unique_attribute,
					  m.has_round ? m.round_increment : NULL, m.allow_credit ? "true" : "false",
					  m.unit, m.categories };
		if (db_exec(db, e, SQL_ingest_meter_upsert, 7, params))
			goto out;
		/* Names match ^[a-z][a-z0-9_.-]*$: nothing to escape in the array. */
		if (i)
			textbuf_addc(&names, ',');
		textbuf_add(&names, m.name, strlen(m.name));
		count++;
	}
	textbuf_addc(&names, '}');
	const char *params[1] = { names.p };
	if (db_exec(db, e, SQL_ingest_meter_prune, 1, params))
		goto out;
	rc = count;
out:
	textbuf_release(&names);
	config_destroy(&lc);
	return rc;
}

int meter_set_load(struct meter_set *m, struct db *db, struct err *e)
{
	strset_init(&m->names);
	PGresult *res = db_query(db, e, SQL_ingest_meter_load, 0, NULL);
	if (!res)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *name = PQgetvalue(res, i, 0);
		int flags = strcmp(PQgetvalue(res, i, 1), "t") == 0 ? METER_ALLOW_CREDIT : 0;
		if (strset_add(&m->names, name, strlen(name), flags) < 0) {
			PQclear(res);
			return err_set(e, ERR_INTERNAL, "out of memory loading meters");
		}
	}
	PQclear(res);
	return 0;
}

void meter_set_release(struct meter_set *m)
{
	strset_release(&m->names);
}

int meter_set_find(const struct meter_set *m, const char *name, size_t len, int *flags)
{
	return strset_get(&m->names, name, len, flags);
}
