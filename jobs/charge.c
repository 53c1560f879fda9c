/*
 * charge.c - the charge models (per unit, graduated, volume, package,
 * recurring, minimum) and the exact line arithmetic: proration, FX and the
 * one rounding per line. Pure functions over struct dec; see charge.h.
 */
#include "charge.h"

#include <string.h>

static const char *const model_names[] = {
	[CHARGE_PER_UNIT] = "per_unit", [CHARGE_GRADUATED] = "graduated", [CHARGE_VOLUME] = "volume",
	[CHARGE_PACKAGE] = "package", [CHARGE_RECURRING] = "recurring", [CHARGE_MINIMUM] = "minimum",
};

const char *charge_model_name(enum charge_model m)
{
	if ((unsigned)m < sizeof(model_names) / sizeof(model_names[0]))
		return model_names[m];
	return "?";
}

int charge_model_parse(const char *name, enum charge_model *out)
{
	for (unsigned i = 0; i < sizeof(model_names) / sizeof(model_names[0]); i++)
		if (strcmp(model_names[i], name) == 0) {
			*out = (enum charge_model)i;
			return 0;
		}
	return -1;
}

int charge_model_is_usage(enum charge_model m)
{
	return m == CHARGE_PER_UNIT || m == CHARGE_GRADUATED || m == CHARGE_VOLUME || m == CHARGE_PACKAGE;
}

/* Products keep every digit; shedding trailing zeros first keeps the
 * scale (the sum of both scales) from running out needlessly. */
static int mul(struct dec *out, struct dec a, struct dec b)
{
	return dec_mul(out, dec_normalize(a), dec_normalize(b));
}

static struct dec min_dec(struct dec a, struct dec b)
{
	return dec_cmp(a, b) <= 0 ? a : b;
}

static int add_step(struct charge_result *r, int tier, struct dec from, struct dec to, int unbounded,
		    struct dec units, struct dec price, struct dec flat)
{
	struct charge_step *s = &r->steps[r->nsteps];
	struct dec sum;

	if (r->nsteps >= CHARGE_MAX_TIERS)
		return -1;
	s->tier = tier;
	s->from = from;
	s->to = to;
	s->unbounded = unbounded;
	s->units = units;
	s->price = price;
	s->flat = flat;
	if (mul(&sum, units, price) || dec_add(&s->amount, sum, flat))
		return -1;
	r->nsteps++;
	return dec_add(&r->amount, r->amount, s->amount);
}

static int graduated(const struct charge_def *c, struct charge_result *r)
{
	struct dec lower = dec_zero();

	for (int i = 0; i < c->ntiers && dec_cmp(r->billable, lower) > 0; i++) {
		const struct charge_tier *t = &c->tiers[i];
		struct dec top = t->unbounded ? r->billable : min_dec(r->billable, t->up_to);
		struct dec units;
		if (dec_sub(&units, top, lower) ||
		    add_step(r, i + 1, lower, t->up_to, t->unbounded, units, t->price, t->flat))
			return -1;
		if (t->unbounded)
			break;
		lower = t->up_to;
	}
	return 0;
}

static int volume(const struct charge_def *c, struct charge_result *r)
{
	struct dec lower = dec_zero();

	if (dec_is_zero(r->billable))
		return 0;
	for (int i = 0; i < c->ntiers; i++) {
		const struct charge_tier *t = &c->tiers[i];
		if (t->unbounded || dec_cmp(r->billable, t->up_to) <= 0)
			return add_step(r, i + 1, lower, t->up_to, t->unbounded, r->billable, t->price, t->flat);
		lower = t->up_to;
	}
	return -1; /* the loader guarantees an unbounded last tier */
}

static int package(const struct charge_def *c, struct charge_result *r)
{
	/* Whole packages, rounded away from zero: 250 units in packages of
	 * 100 are 3 packages; a credit of 250 units is -3 packages. */
	if (dec_div(&r->packages, r->billable, c->package_size, 0, DEC_ROUND_UP))
		return -1;
	if (dec_is_zero(r->packages))
		return 0;
	return add_step(r, 0, dec_zero(), c->package_size, 0, r->packages, c->price, dec_zero());
}

int charge_usage(const struct charge_def *c, struct dec quantity, struct charge_result *r)
{
	memset(r, 0, sizeof(*r));
	r->quantity = quantity;
	r->free = dec_zero();
	r->billable = quantity;
	r->packages = dec_zero();
	r->amount = dec_zero();
	if (!charge_model_is_usage(c->model))
		return -1;
	if (dec_sign(quantity) > 0 && dec_sign(c->free_units) > 0) {
		r->free = min_dec(quantity, c->free_units);
		if (dec_sub(&r->billable, quantity, r->free))
			return -1;
	}
	if (dec_sign(r->billable) < 0) {
		/* Credits are priced linearly: tiers describe how much is used
		 * in a period, and a credit does not climb down them. */
		if (c->model == CHARGE_PACKAGE)
			return package(c, r);
		struct dec price = c->model == CHARGE_PER_UNIT ? c->price : c->tiers[0].price;
		return add_step(r, c->model == CHARGE_PER_UNIT ? 0 : 1, dec_zero(), dec_zero(), 1, r->billable, price,
				dec_zero());
	}
	switch (c->model) {
	case CHARGE_PER_UNIT:
		if (dec_is_zero(r->billable))
			return 0;
		return add_step(r, 0, dec_zero(), dec_zero(), 1, r->billable, c->price, dec_zero());
	case CHARGE_GRADUATED:
		return graduated(c, r);
	case CHARGE_VOLUME:
		return volume(c, r);
	case CHARGE_PACKAGE:
		return package(c, r);
	default:
		return -1;
	}
}

int charge_prorate(struct charge_fraction *out, struct dec amount, struct dec part, struct dec whole)
{
	if (dec_sign(whole) <= 0 || dec_sign(part) < 0)
		return -1;
	out->den = dec_normalize(whole);
	return mul(&out->num, amount, part);
}

int charge_convert(struct charge_fraction *f, struct dec rate, int inverse)
{
	if (dec_sign(rate) <= 0)
		return -1;
	if (inverse)
		return mul(&f->den, f->den, rate);
	return mul(&f->num, f->num, rate);
}

int charge_subtract(struct charge_fraction *f, struct dec s)
{
	struct dec sd;
	if (mul(&sd, s, f->den))
		return -1;
	return dec_sub(&f->num, dec_normalize(f->num), sd);
}

int charge_exact(const struct charge_fraction *f, int min_scale, struct dec *out)
{
	if (dec_div(out, f->num, f->den, CHARGE_UNROUNDED_SCALE, DEC_ROUND_HALF_EVEN))
		return -1;
	*out = dec_normalize(*out);
	if (out->scale < min_scale)
		return dec_round(out, *out, min_scale, DEC_ROUND_HALF_EVEN);
	return 0;
}

int charge_line_round(const struct charge_fraction *f, int exponent, enum dec_round mode,
		      struct dec *rounded, struct dec *unrounded)
{
	if (rounded && dec_div(rounded, f->num, f->den, exponent, mode))
		return -1;
	if (unrounded && charge_exact(f, exponent, unrounded))
		return -1;
	return 0;
}

/*
 * Active ISO 4217 codes (list one, 2024/2025 amendments) with their minor
 * unit. Sorted, for bsearch. Funds codes with minor units (BOV, CHE, CHW,
 * CLF, COU, MXV, USN, UYI, UYW) are included; precious metals and testing
 * codes (XAU, XTS, ...) have no minor unit and are left out: a rate card
 * that needs one declares it under `currencies`.
 */
static const struct {
	char code[4];
	signed char exponent;
} iso4217[] = {
	{ "AED", 2 }, { "AFN", 2 }, { "ALL", 2 }, { "AMD", 2 }, { "ANG", 2 }, { "AOA", 2 }, { "ARS", 2 },
	{ "AUD", 2 }, { "AWG", 2 }, { "AZN", 2 }, { "BAM", 2 }, { "BBD", 2 }, { "BDT", 2 }, { "BGN", 2 },
	{ "BHD", 3 }, { "BIF", 0 }, { "BMD", 2 }, { "BND", 2 }, { "BOB", 2 }, { "BOV", 2 }, { "BRL", 2 },
	{ "BSD", 2 }, { "BTN", 2 }, { "BWP", 2 }, { "BYN", 2 }, { "BZD", 2 }, { "CAD", 2 }, { "CDF", 2 },
	{ "CHE", 2 }, { "CHF", 2 }, { "CHW", 2 }, { "CLF", 4 }, { "CLP", 0 }, { "CNY", 2 }, { "COP", 2 },
	{ "COU", 2 }, { "CRC", 2 }, { "CUP", 2 }, { "CVE", 2 }, { "CZK", 2 }, { "DJF", 0 }, { "DKK", 2 },
	{ "DOP", 2 }, { "DZD", 2 }, { "EGP", 2 }, { "ERN", 2 }, { "ETB", 2 }, { "EUR", 2 }, { "FJD", 2 },
	{ "FKP", 2 }, { "GBP", 2 }, { "GEL", 2 }, { "GHS", 2 }, { "GIP", 2 }, { "GMD", 2 }, { "GNF", 0 },
	{ "GTQ", 2 }, { "GYD", 2 }, { "HKD", 2 }, { "HNL", 2 }, { "HTG", 2 }, { "HUF", 2 }, { "IDR", 2 },
	{ "ILS", 2 }, { "INR", 2 }, { "IQD", 3 }, { "IRR", 2 }, { "ISK", 0 }, { "JMD", 2 }, { "JOD", 3 },
	{ "JPY", 0 }, { "KES", 2 }, { "KGS", 2 }, { "KHR", 2 }, { "KMF", 0 }, { "KPW", 2 }, { "KRW", 0 },
	{ "KWD", 3 }, { "KYD", 2 }, { "KZT", 2 }, { "LAK", 2 }, { "LBP", 2 }, { "LKR", 2 }, { "LRD", 2 },
	{ "LSL", 2 }, { "LYD", 3 }, { "MAD", 2 }, { "MDL", 2 }, { "MGA", 2 }, { "MKD", 2 }, { "MMK", 2 },
	{ "MNT", 2 }, { "MOP", 2 }, { "MRU", 2 }, { "MUR", 2 }, { "MVR", 2 }, { "MWK", 2 }, { "MXN", 2 },
	{ "MXV", 2 }, { "MYR", 2 }, { "MZN", 2 }, { "NAD", 2 }, { "NGN", 2 }, { "NIO", 2 }, { "NOK", 2 },
	{ "NPR", 2 }, { "NZD", 2 }, { "OMR", 3 }, { "PAB", 2 }, { "PEN", 2 }, { "PGK", 2 }, { "PHP", 2 },
	{ "PKR", 2 }, { "PLN", 2 }, { "PYG", 0 }, { "QAR", 2 }, { "RON", 2 }, { "RSD", 2 }, { "RUB", 2 },
	{ "RWF", 0 }, { "SAR", 2 }, { "SBD", 2 }, { "SCR", 2 }, { "SDG", 2 }, { "SEK", 2 }, { "SGD", 2 },
	{ "SHP", 2 }, { "SLE", 2 }, { "SOS", 2 }, { "SRD", 2 }, { "SSP", 2 }, { "STN", 2 }, { "SVC", 2 },
	{ "SYP", 2 }, { "SZL", 2 }, { "THB", 2 }, { "TJS", 2 }, { "TMT", 2 }, { "TND", 3 }, { "TOP", 2 },
	{ "TRY", 2 }, { "TTD", 2 }, { "TWD", 2 }, { "TZS", 2 }, { "UAH", 2 }, { "UGX", 0 }, { "USD", 2 },
	{ "USN", 2 }, { "UYI", 0 }, { "UYU", 2 }, { "UYW", 4 }, { "UZS", 2 }, { "VED", 2 }, { "VES", 2 },
	{ "VND", 0 }, { "VUV", 0 }, { "WST", 2 }, { "XAF", 0 }, { "XCD", 2 }, { "XCG", 2 }, { "XOF", 0 },
	{ "XPF", 0 }, { "YER", 2 }, { "ZAR", 2 }, { "ZMW", 2 }, { "ZWG", 2 }, { "ZWL", 2 },
};

int currency_iso_exponent(const char *code)
{
	size_t lo = 0, hi = sizeof(iso4217) / sizeof(iso4217[0]);

	if (!code || strlen(code) != 3)
		return -1;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(code, iso4217[mid].code);
		if (c == 0)
			return iso4217[mid].exponent;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}
