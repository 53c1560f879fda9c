/*
 * rates.c - loading and checking the rate card (plans, charges, tiers,
 * taxes, currencies) from the libconfig rules file; lookups by effective
 * date. See rates.h for the contract and jobs/RATING.md for the format.
 */
#include "rates.h"
#include "cfg.h"
#include "err.h"
#include "hash.h"

#include <libconfig.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct loader {
	struct rate_card *card;
	config_t lc;
	struct err *e;
	config_setting_t *meters; /* ingest's list, read for names only */
};

/* "NAME:LINE: key 'PATH': MSG", like cfg_error_at, also for text loads
 * where libconfig knows no file name. */
static int fail_at(struct loader *L, const config_setting_t *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail_at(struct loader *L, const config_setting_t *s, const char *fmt, ...)
{
	char msg[ERR_MSG_MAX], path[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cfg_setting_path(s, path, sizeof(path));
	const char *file = config_setting_source_file(s);
	return err_set(L->e, ERR_CONFIG, "%s:%d: key '%s': %s", file ? file : L->card->source,
		       config_setting_source_line(s), path, msg);
}

int rates_date_valid(const char *t)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (!t || strlen(t) != 10 || t[4] != '-' || t[7] != '-')
		return 0;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (t[i] < '0' || t[i] > '9'))
			return 0;
	int y = atoi(t), m = atoi(t + 5), d = atoi(t + 8);
	if (y < 1900 || m < 1 || m > 12 || d < 1)
		return 0;
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return d <= mdays[m - 1] + (m == 2 && leap);
}

/* ---- typed getters: each names the key when the value is wrong ---- */

/* Check that every member of group s is one of the allowed names. */
static int check_keys(struct loader *L, config_setting_t *s, const char *const *allowed)
{
	for (int i = 0; i < config_setting_length(s); i++) {
		config_setting_t *m = config_setting_get_elem(s, (unsigned)i);
		const char *name = config_setting_name(m);
		int ok = 0;
		for (const char *const *a = allowed; *a && !ok; a++)
			ok = strcmp(*a, name) == 0;
		if (!ok) {
			char list[512] = "";
			for (const char *const *a = allowed; *a; a++)
				snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", a == allowed ? "" : ", ",
					 *a);
			fail_at(L, m, "unknown key");
			return err_hint(L->e, "the keys allowed here are: %s", list);
		}
	}
	return 0;
}

/* A string member. required: missing is an error; else *out = def. */
static int get_string(struct loader *L, config_setting_t *g, const char *key, int required, const char *def,
		      char *out, size_t size)
{
	config_setting_t *s = config_setting_get_member(g, key);
	if (!s) {
		if (required)
			return fail_at(L, g, "'%s' is missing", key);
		snprintf(out, size, "%s", def);
		return 0;
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail_at(L, s, "must be a string");
	const char *v = config_setting_get_string(s);
	if (strlen(v) >= size)
		return fail_at(L, s, "is longer than %zu characters", size - 1);
	snprintf(out, size, "%s", v);
	return 0;
}

static int get_date(struct loader *L, config_setting_t *g, const char *key, int required, char *out)
{
	char buf[64];

	if (get_string(L, g, key, required, "", buf, sizeof(buf)))
		return -1;
	if (*buf && !rates_date_valid(buf))
		return fail_at(L, config_setting_get_member(g, key), "'%s' is not a date written YYYY-MM-DD", buf);
	snprintf(out, RATES_DATE_LEN, "%s", buf);
	return 0;
}

/* A three-letter currency code. */
static int get_currency(struct loader *L, config_setting_t *g, const char *key, char *out)
{
	char buf[64];

	if (get_string(L, g, key, 1, "", buf, sizeof(buf)))
		return -1;
	if (strlen(buf) != 3 || buf[0] < 'A' || buf[0] > 'Z' || buf[1] < 'A' || buf[1] > 'Z' || buf[2] < 'A' ||
	    buf[2] > 'Z')
		return fail_at(L, config_setting_get_member(g, key), "'%s' is not a three-letter currency code", buf);
	memcpy(out, buf, 4);
	return 0;
}

/* An exact decimal: a string ("0.01") or an integer; never a float. */
static int get_dec(struct loader *L, config_setting_t *g, const char *key, int required, struct dec *out)
{
	config_setting_t *s = config_setting_get_member(g, key);
	char buf[64];

	*out = dec_zero();
	if (!s)
		return required ? fail_at(L, g, "'%s' is missing", key) : 0;
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_STRING:
		if (dec_parse_cstr(out, config_setting_get_string(s)))
			return fail_at(L, s, "'%s' is not a decimal number", config_setting_get_string(s));
		return 0;
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		snprintf(buf, sizeof(buf), "%lld", config_setting_get_int64(s));
		return dec_parse_cstr(out, buf) ? fail_at(L, s, "is out of range") : 0;
	case CONFIG_TYPE_FLOAT:
		fail_at(L, s, "must be a decimal string, not a floating-point number");
		return err_hint(L->e, "write amounts in quotes, e.g. \"0.01\": binary floating point cannot hold them "
				      "exactly");
	default:
		return fail_at(L, s, "must be a decimal string like \"0.01\"");
	}
}

static int get_bool(struct loader *L, config_setting_t *g, const char *key, int def, int *out)
{
	config_setting_t *s = config_setting_get_member(g, key);
	*out = def;
	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return fail_at(L, s, "must be true or false");
	*out = config_setting_get_bool(s);
	return 0;
}

static int get_list(struct loader *L, config_setting_t *g, const char *key, int required, config_setting_t **out)
{
	config_setting_t *s = config_setting_get_member(g, key);
	*out = s;
	if (!s)
		return required ? fail_at(L, g, "'%s' is missing", key) : 0;
	if (config_setting_type(s) != CONFIG_TYPE_LIST)
		return fail_at(L, s, "must be a list ( { ... }, ... )");
	for (int i = 0; i < config_setting_length(s); i++)
		if (config_setting_type(config_setting_get_elem(s, (unsigned)i)) != CONFIG_TYPE_GROUP)
			return fail_at(L, config_setting_get_elem(s, (unsigned)i), "must be a group { ... }");
	return 0;
}

static int valid_id(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
		      *s == '-' || *s == '.'))
			return 0;
	return 1;
}

/* ---- sections ---- */

static int load_currencies(struct loader *L, config_setting_t *list)
{
	static const char *const keys[] = { "code", "exponent", NULL };
	int n = config_setting_length(list);

	L->card->currencies = calloc((size_t)n + 1, sizeof(struct rate_currency));
	if (!L->card->currencies)
		return err_set(L->e, ERR_INTERNAL, "out of memory");
	for (int i = 0; i < n; i++) {
		config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
		struct rate_currency *c = &L->card->currencies[i];
		if (check_keys(L, g, keys) || get_currency(L, g, "code", c->code))
			return -1;
		config_setting_t *x = config_setting_get_member(g, "exponent");
		if (!x)
			return fail_at(L, g, "'exponent' is missing");
		if (config_setting_type(x) != CONFIG_TYPE_INT || config_setting_get_int(x) < 0 ||
		    config_setting_get_int(x) > 18)
			return fail_at(L, x, "must be an integer from 0 to 18");
		c->exponent = config_setting_get_int(x);
		for (int j = 0; j < i; j++)
			if (strcmp(L->card->currencies[j].code, c->code) == 0)
				return fail_at(L, g, "currency '%s' is declared twice", c->code);
		L->card->ncurrencies++;
	}
	return 0;
}

static int meter_declared(struct loader *L, const char *name)
{
	if (!L->meters || config_setting_type(L->meters) != CONFIG_TYPE_LIST)
		return 1; /* no list to check against: ingest checks usage meters */
	for (int i = 0; i < config_setting_length(L->meters); i++) {
		const char *n = NULL;
		config_setting_t *m = config_setting_get_elem(L->meters, (unsigned)i);
		if (config_setting_type(m) == CONFIG_TYPE_GROUP && config_setting_lookup_string(m, "name", &n) &&
		    strcmp(n, name) == 0)
			return 1;
	}
	return 0;
}

/* The meter's `label` and `unit` (NULL when absent or when there is no
 * list to look in); a value that is not a string is an error naming it. */
static int meter_words(struct loader *L, const char *name, const char **label, const char **unit)
{
	*label = *unit = NULL;
	if (!L->meters || config_setting_type(L->meters) != CONFIG_TYPE_LIST)
		return 0;
	for (int i = 0; i < config_setting_length(L->meters); i++) {
		const char *n = NULL;
		config_setting_t *m = config_setting_get_elem(L->meters, (unsigned)i);
		if (config_setting_type(m) != CONFIG_TYPE_GROUP || !config_setting_lookup_string(m, "name", &n) ||
		    strcmp(n, name) != 0)
			continue;
		const char *const keys[2] = { "label", "unit" };
		const char **out[2] = { label, unit };
		for (int k = 0; k < 2; k++) {
			config_setting_t *s = config_setting_get_member(m, keys[k]);
			if (!s)
				continue;
			if (config_setting_type(s) != CONFIG_TYPE_STRING)
				return fail_at(L, s, "must be a string");
			*out[k] = config_setting_get_string(s);
		}
		return 0;
	}
	return 0;
}

static int load_tiers(struct loader *L, config_setting_t *g, struct charge_def *d)
{
	static const char *const keys[] = { "up_to", "price", "flat", NULL };
	config_setting_t *list;

	if (get_list(L, g, "tiers", 1, &list))
		return -1;
	int n = config_setting_length(list);
	if (n < 1)
		return fail_at(L, list, "needs at least one tier");
	if (n > CHARGE_MAX_TIERS)
		return fail_at(L, list, "has %d tiers; at most %d are allowed", n, CHARGE_MAX_TIERS);
	for (int i = 0; i < n; i++) {
		config_setting_t *t = config_setting_get_elem(list, (unsigned)i);
		struct charge_tier *tier = &d->tiers[i];
		if (check_keys(L, t, keys) || get_dec(L, t, "price", 1, &tier->price) ||
		    get_dec(L, t, "flat", 0, &tier->flat))
			return -1;
		if (dec_sign(tier->price) < 0 || dec_sign(tier->flat) < 0)
			return fail_at(L, t, "prices must not be negative");
		config_setting_t *up = config_setting_get_member(t, "up_to");
		tier->unbounded = up == NULL;
		if (i == n - 1 && up)
			return fail_at(L, up, "the last tier must have no 'up_to': it takes every unit above the "
					      "tier before it");
		if (i < n - 1 && !up)
			return fail_at(L, t, "'up_to' is missing (only the last tier is unbounded)");
		if (up) {
			if (get_dec(L, t, "up_to", 1, &tier->up_to))
				return -1;
			if (dec_sign(tier->up_to) <= 0)
				return fail_at(L, up, "must be greater than zero");
			if (i > 0 && dec_cmp(tier->up_to, d->tiers[i - 1].up_to) <= 0)
				return fail_at(L, up, "tiers must have strictly increasing 'up_to'");
		}
	}
	d->ntiers = n;
	return 0;
}

static int load_charge(struct loader *L, config_setting_t *g, struct rate_plan *plan, struct rate_charge *c)
{
	static const char *const keys[] = { "id", "description", "meter", "model", "price", "amount", "package_size",
					    "free_units", "tiers", "tax_group", "effective_from", "effective_to",
					    "prorate", "label", "unit", "show_zero", NULL };
	char model[32];
	struct charge_def *d = &c->def;

	c->line = config_setting_source_line(g);
	if (check_keys(L, g, keys) || get_string(L, g, "model", 1, "", model, sizeof(model)))
		return -1;
	if (charge_model_parse(model, &d->model)) {
		fail_at(L, config_setting_get_member(g, "model"), "unknown charge model '%s'", model);
		return err_hint(L->e, "use per_unit, graduated, volume, package, recurring or minimum");
	}
	int usage = charge_model_is_usage(d->model);
	if (get_string(L, g, "meter", usage, "", c->meter, sizeof(c->meter)) ||
	    get_string(L, g, "id", 0, usage ? c->meter : model, c->id, sizeof(c->id)) ||
	    get_string(L, g, "tax_group", 0, "standard", c->tax_group, sizeof(c->tax_group)) ||
	    get_date(L, g, "effective_from", 0, c->effective_from) ||
	    get_date(L, g, "effective_to", 0, c->effective_to) || get_bool(L, g, "prorate", 1, &c->prorate) ||
	    get_string(L, g, "label", 0, "", c->label, sizeof(c->label)) ||
	    get_string(L, g, "unit", 0, "", c->unit, sizeof(c->unit)) ||
	    get_bool(L, g, "show_zero", plan->show_zero, &c->show_zero))
		return -1;
	/* A unit and show_zero are about a quantity: usage charges only. */
	static const char *const usage_only[] = { "unit", "show_zero" };
	for (int i = 0; i < 2; i++)
		if (!usage && config_setting_get_member(g, usage_only[i]))
			return fail_at(L, config_setting_get_member(g, usage_only[i]),
				       "a %s charge takes no '%s' (it has no quantity)", model, usage_only[i]);
	if (usage) {
		const char *mlabel, *munit;
		if (meter_words(L, c->meter, &mlabel, &munit))
			return -1;
		if (!c->label[0] && mlabel)
			snprintf(c->label, sizeof(c->label), "%s", mlabel);
		if (!c->unit[0] && munit)
			snprintf(c->unit, sizeof(c->unit), "%s", munit);
	}
	if (!valid_id(c->id))
		return fail_at(L, g, "charge id '%s' may only hold letters, digits, '_', '-' and '.'", c->id);
	if (c->effective_from[0] && c->effective_to[0] && strcmp(c->effective_from, c->effective_to) >= 0)
		return fail_at(L, g, "'effective_to' must be after 'effective_from'");

	/* Which keys a model takes, and which it must not be given: a
	 * mistyped card is an error, not a silently ignored price. */
	struct {
		const char *key;
		int need; /* 1 required, 0 optional, -1 not allowed */
	} want[6] = { { "meter", -1 }, { "price", -1 }, { "amount", -1 },
		      { "package_size", -1 }, { "free_units", -1 }, { "tiers", -1 } };
	switch (d->model) {
	case CHARGE_PER_UNIT: want[0].need = 1; want[1].need = 1; want[4].need = 0; break;
	case CHARGE_GRADUATED:
	case CHARGE_VOLUME: want[0].need = 1; want[4].need = 0; want[5].need = 1; break;
	case CHARGE_PACKAGE: want[0].need = 1; want[1].need = 1; want[3].need = 1; want[4].need = 0; break;
	case CHARGE_RECURRING:
	case CHARGE_MINIMUM: want[2].need = 1; break;
	}
	for (int i = 0; i < 6; i++) {
		config_setting_t *s = config_setting_get_member(g, want[i].key);
		if (want[i].need < 0 && s)
			return fail_at(L, s, "a %s charge takes no '%s'", model, want[i].key);
		if (want[i].need > 0 && !s)
			return fail_at(L, g, "a %s charge needs '%s'", model, want[i].key);
	}
	if (!usage && config_setting_get_member(g, "prorate") == NULL)
		c->prorate = 1;
	if (usage && config_setting_get_member(g, "prorate"))
		return fail_at(L, config_setting_get_member(g, "prorate"), "only recurring and minimum charges "
									   "are prorated");
	if (get_dec(L, g, "price", 0, &d->price) || get_dec(L, g, "amount", 0, &d->amount) ||
	    get_dec(L, g, "package_size", 0, &d->package_size) || get_dec(L, g, "free_units", 0, &d->free_units))
		return -1;
	if (dec_sign(d->price) < 0 || dec_sign(d->amount) < 0)
		return fail_at(L, g, "prices and amounts must not be negative");
	if (dec_sign(d->free_units) < 0)
		return fail_at(L, config_setting_get_member(g, "free_units"), "must not be negative");
	if (d->model == CHARGE_PACKAGE && dec_sign(d->package_size) <= 0)
		return fail_at(L, config_setting_get_member(g, "package_size"), "must be greater than zero");
	if ((d->model == CHARGE_GRADUATED || d->model == CHARGE_VOLUME) && load_tiers(L, g, d))
		return -1;
	if (usage && !meter_declared(L, c->meter))
		return fail_at(L, config_setting_get_member(g, "meter"), "meter '%s' is not declared in 'meters'",
			       c->meter);
	for (int i = 0; i < plan->ncharges; i++)
		if (strcmp(plan->charges[i].id, c->id) == 0)
			return fail_at(L, g, "charge id '%s' appears twice in plan '%s'; give each an 'id'", c->id,
				       plan->id);
	if (d->model == CHARGE_MINIMUM)
		for (int i = 0; i < plan->ncharges; i++)
			if (plan->charges[i].def.model == CHARGE_MINIMUM)
				return fail_at(L, g, "plan '%s' already has a minimum commitment", plan->id);
	return 0;
}

static int load_plans(struct loader *L, config_setting_t *list)
{
	static const char *const keys[] = { "id", "name", "description", "currency", "effective_from", "charges",
					    "show_zero", NULL };
	int n = config_setting_length(list);

	L->card->plans = calloc((size_t)n + 1, sizeof(struct rate_plan));
	if (!L->card->plans)
		return err_set(L->e, ERR_INTERNAL, "out of memory");
	for (int i = 0; i < n; i++) {
		config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
		struct rate_plan *p = &L->card->plans[i];
		config_setting_t *charges;
		L->card->nplans++;
		p->line = config_setting_source_line(g);
		if (check_keys(L, g, keys) || get_string(L, g, "id", 1, "", p->id, sizeof(p->id)) ||
		    get_string(L, g, "name", 0, p->id, p->name, sizeof(p->name)) ||
		    get_currency(L, g, "currency", p->currency) ||
		    get_date(L, g, "effective_from", 1, p->effective_from) || get_list(L, g, "charges", 1, &charges) ||
		    get_bool(L, g, "show_zero", 0, &p->show_zero))
			return -1;
		if (!valid_id(p->id))
			return fail_at(L, config_setting_get_member(g, "id"),
				       "plan id '%s' may only hold letters, digits, '_', '-' and '.'", p->id);
		if (rates_currency_exponent(L->card, p->currency) < 0) {
			fail_at(L, config_setting_get_member(g, "currency"), "'%s' is not an ISO 4217 currency code",
				p->currency);
			return err_hint(L->e, "declare other currencies under 'currencies' with their exponent");
		}
		for (int j = 0; j < i; j++)
			if (strcmp(L->card->plans[j].id, p->id) == 0 &&
			    strcmp(L->card->plans[j].effective_from, p->effective_from) == 0)
				return fail_at(L, g, "plan '%s' has two versions effective from %s", p->id,
					       p->effective_from);
		int nc = config_setting_length(charges);
		p->charges = calloc((size_t)nc + 1, sizeof(struct rate_charge));
		if (!p->charges)
			return err_set(L->e, ERR_INTERNAL, "out of memory");
		for (int j = 0; j < nc; j++) {
			if (load_charge(L, config_setting_get_elem(charges, (unsigned)j), p, &p->charges[j]))
				return -1;
			p->ncharges++;
		}
	}
	return 0;
}

static int load_taxes(struct loader *L, config_setting_t *list)
{
	static const char *const keys[] = { "jurisdiction", "group", "name", "rate", "effective_from", NULL };
	int n = config_setting_length(list);

	L->card->taxes = calloc((size_t)n + 1, sizeof(struct rate_tax));
	if (!L->card->taxes)
		return err_set(L->e, ERR_INTERNAL, "out of memory");
	for (int i = 0; i < n; i++) {
		config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
		struct rate_tax *t = &L->card->taxes[i];
		t->line = config_setting_source_line(g);
		if (check_keys(L, g, keys) ||
		    get_string(L, g, "jurisdiction", 1, "", t->jurisdiction, sizeof(t->jurisdiction)) ||
		    get_string(L, g, "group", 0, "standard", t->group, sizeof(t->group)) ||
		    get_string(L, g, "name", 0, "tax", t->name, sizeof(t->name)) ||
		    get_dec(L, g, "rate", 1, &t->rate) || get_date(L, g, "effective_from", 1, t->effective_from))
			return -1;
		if (!*t->jurisdiction)
			return fail_at(L, g, "'jurisdiction' must not be empty");
		if (dec_sign(t->rate) < 0 || dec_cmp(t->rate, dec_from_int(1)) >= 0)
			return fail_at(L, config_setting_get_member(g, "rate"),
				       "must be a fraction from 0 up to (not including) 1, e.g. \"0.19\" for 19 %%");
		for (int j = 0; j < i; j++) {
			const struct rate_tax *o = &L->card->taxes[j];
			if (strcmp(o->jurisdiction, t->jurisdiction) == 0 && strcmp(o->group, t->group) == 0 &&
			    strcmp(o->effective_from, t->effective_from) == 0)
				return fail_at(L, g, "tax '%s' group '%s' has two rates effective from %s",
					       t->jurisdiction, t->group, t->effective_from);
		}
		L->card->ntaxes++;
	}
	return 0;
}

static int load(struct rate_card *card, const char *text, const char *name, struct err *e)
{
	struct loader L = { .card = card, .e = e };
	int rc = -1;

	memset(card, 0, sizeof(*card));
	snprintf(card->source, sizeof(card->source), "%s", name);
	/* A rule version is one file's text: an include would make the
	 * stored version depend on files that are not stored with it. */
	for (const char *p = text; (p = strstr(p, "@include")) != NULL; p++) {
		if (p == text || p[-1] == '\n') {
			int line = 1;
			for (const char *q = text; q < p; q++)
				line += *q == '\n';
			return err_set(e, ERR_CONFIG, "%s:%d: @include is not allowed in a rate card", name, line);
		}
	}
	config_init(&L.lc);
	if (config_read_string(&L.lc, text) != CONFIG_TRUE) {
		err_set(e, ERR_CONFIG, "%s:%d: syntax error: %s", name, config_error_line(&L.lc),
			config_error_text(&L.lc));
		goto out;
	}
	config_setting_t *root = config_root_setting(&L.lc);
	static const char *const top[] = { "meters", "currencies", "plans", "taxes", NULL };
	if (check_keys(&L, root, top))
		goto out;
	L.meters = config_setting_get_member(root, "meters");
	config_setting_t *currencies, *plans, *taxes;
	if (get_list(&L, root, "currencies", 0, &currencies) || get_list(&L, root, "plans", 1, &plans) ||
	    get_list(&L, root, "taxes", 0, &taxes))
		goto out;
	if ((currencies && load_currencies(&L, currencies)) || load_plans(&L, plans) ||
	    (taxes && load_taxes(&L, taxes)))
		goto out;
	rc = 0;
out:
	config_destroy(&L.lc);
	if (rc)
		rates_release(card);
	return rc;
}

int rates_load_text(struct rate_card *card, const char *text, const char *name, struct err *e)
{
	return load(card, text, name, e);
}

int rates_load_file(struct rate_card *card, const char *path, struct err *e)
{
	char *text = NULL;

	memset(card, 0, sizeof(*card));
	if (hash_read_file(path, &text, NULL, e)) {
		err_prefix(e, "could not load the rate card: ");
		return err_hint(e, "rules.file in billrun.conf names the rate card");
	}
	int rc = load(card, text, path, e);
	free(text);
	return rc;
}

void rates_release(struct rate_card *card)
{
	for (int i = 0; i < card->nplans; i++)
		free(card->plans[i].charges);
	free(card->plans);
	free(card->taxes);
	free(card->currencies);
	card->plans = NULL;
	card->taxes = NULL;
	card->currencies = NULL;
	card->nplans = card->ntaxes = card->ncurrencies = 0;
}

int rates_plan_known(const struct rate_card *card, const char *id)
{
	for (int i = 0; i < card->nplans; i++)
		if (strcmp(card->plans[i].id, id) == 0)
			return 1;
	return 0;
}

const struct rate_plan *rates_plan_at(const struct rate_card *card, const char *id, const char *date)
{
	const struct rate_plan *best = NULL;

	for (int i = 0; i < card->nplans; i++) {
		const struct rate_plan *p = &card->plans[i];
		if (strcmp(p->id, id) == 0 && strcmp(p->effective_from, date) <= 0 &&
		    (!best || strcmp(p->effective_from, best->effective_from) > 0))
			best = p;
	}
	return best;
}

int rates_charge_in_force(const struct rate_charge *c, const char *date)
{
	return (!c->effective_from[0] || strcmp(c->effective_from, date) <= 0) &&
	       (!c->effective_to[0] || strcmp(date, c->effective_to) < 0);
}

const struct rate_tax *rates_tax_at(const struct rate_card *card, const char *jurisdiction, const char *group,
				    const char *date)
{
	const struct rate_tax *best = NULL;

	for (int i = 0; i < card->ntaxes; i++) {
		const struct rate_tax *t = &card->taxes[i];
		if (strcmp(t->jurisdiction, jurisdiction) == 0 && strcmp(t->group, group) == 0 &&
		    strcmp(t->effective_from, date) <= 0 &&
		    (!best || strcmp(t->effective_from, best->effective_from) > 0))
			best = t;
	}
	return best;
}

int rates_currency_exponent(const struct rate_card *card, const char *code)
{
	for (int i = 0; card && i < card->ncurrencies; i++)
		if (strcmp(card->currencies[i].code, code) == 0)
			return card->currencies[i].exponent;
	return currency_iso_exponent(code);
}
