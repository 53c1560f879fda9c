/*
 * dec.c - exact decimal arithmetic: a 128-bit coefficient and a scale.
 * Add, sub, mul and parse stay in native 128-bit integers. The operations
 * that round (mul_round, div, round) build the exact result as a 256-bit
 * quotient and remainder and round once from those, never from an already
 * rounded value. No binary floating point anywhere.
 */
#include "dec.h"

#include <string.h>

typedef unsigned __int128 u128;

#define P19 10000000000000000000ULL /* largest power of ten in 64 bits */
#define P19X(n) ((u128)P19 * n##ULL)

static const u128 dec_pow10[DEC_MAX_DIGITS + 1] = {
	1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL,
	10000000ULL, 100000000ULL, 1000000000ULL, 10000000000ULL,
	100000000000ULL, 1000000000000ULL, 10000000000000ULL,
	100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
	100000000000000000ULL, 1000000000000000000ULL, P19,
	P19X(10), P19X(100), P19X(1000), P19X(10000), P19X(100000),
	P19X(1000000), P19X(10000000), P19X(100000000), P19X(1000000000),
	P19X(10000000000), P19X(100000000000), P19X(1000000000000),
	P19X(10000000000000), P19X(100000000000000), P19X(1000000000000000),
	P19X(10000000000000000), P19X(100000000000000000),
	P19X(1000000000000000000), P19X(10000000000000000000),
};

/* 38 nines. Holding every result under it (not just under 2^127) keeps the
 * 38-digit promise of the header, makes negation always safe and lets
 * PostgreSQL's numeric(38, s) columns take any value we produce. */
#define COEF_MAX (dec_pow10[DEC_MAX_DIGITS] - 1)

static int scale_ok(int scale)
{
	return scale >= 0 && scale <= DEC_MAX_SCALE;
}

static u128 magnitude(__int128 c)
{
	/* Unsigned negation: defined even for the most negative value. */
	return c < 0 ? -(u128)c : (u128)c;
}

static int coef_ok(__int128 c)
{
	return magnitude(c) <= COEF_MAX;
}

/* ---- unsigned 256-bit helpers, little-endian 64-bit limbs ---- */

struct u256 {
	uint64_t w[4];
};

static struct u256 u256_from(u128 v)
{
	struct u256 r = { { (uint64_t)v, (uint64_t)(v >> 64), 0, 0 } };
	return r;
}

static int u256_fits128(const struct u256 *a)
{
	return a->w[2] == 0 && a->w[3] == 0;
}

static u128 u256_low(const struct u256 *a)
{
	return ((u128)a->w[1] << 64) | a->w[0];
}

static int u256_is_zero(const struct u256 *a)
{
	return (a->w[0] | a->w[1] | a->w[2] | a->w[3]) == 0;
}

static int u256_cmp(const struct u256 *a, const struct u256 *b)
{
	for (int i = 3; i >= 0; i--)
		if (a->w[i] != b->w[i])
			return a->w[i] < b->w[i] ? -1 : 1;
	return 0;
}

/* a + b modulo 2^256; returns the carry out. */
static int u256_add(struct u256 *out, const struct u256 *a, const struct u256 *b)
{
	u128 carry = 0;
	for (int i = 0; i < 4; i++) {
		u128 t = (u128)a->w[i] + b->w[i] + carry;
		out->w[i] = (uint64_t)t;
		carry = t >> 64;
	}
	return (int)carry;
}

/* a - b modulo 2^256 (callers make sure a >= b, or want the wrap). */
static void u256_sub(struct u256 *out, const struct u256 *a, const struct u256 *b)
{
	uint64_t borrow = 0;
	for (int i = 0; i < 4; i++) {
		uint64_t x = a->w[i], y = b->w[i];
		uint64_t d = x - y - borrow;
		borrow = (x < y) || (x - y < borrow);
		out->w[i] = d;
	}
}

/* out = a * b; -1 if the product needs more than 256 bits. */
static int u256_mul(struct u256 *out, const struct u256 *a, u128 b)
{
	uint64_t bw[2] = { (uint64_t)b, (uint64_t)(b >> 64) };
	uint64_t r[6] = { 0 };
	for (int i = 0; i < 4; i++) {
		uint64_t carry = 0;
		for (int j = 0; j < 2; j++) {
			u128 t = (u128)a->w[i] * bw[j] + r[i + j] + carry;
			r[i + j] = (uint64_t)t;
			carry = (uint64_t)(t >> 64);
		}
		r[i + 2] = carry;
	}
	if (r[4] | r[5])
		return -1;
	memcpy(out->w, r, sizeof out->w);
	return 0;
}

static int u256_bits(const struct u256 *a)
{
	for (int i = 3; i >= 0; i--)
		if (a->w[i])
			return i * 64 + 64 - __builtin_clzll(a->w[i]);
	return 0;
}

/* 10^k for k in 0..76 (callers need at most 60). */
static struct u256 u256_pow10(int k)
{
	struct u256 r = u256_from(dec_pow10[k > DEC_MAX_DIGITS ? DEC_MAX_DIGITS : k]);
	if (k > DEC_MAX_DIGITS)
		u256_mul(&r, &r, dec_pow10[k - DEC_MAX_DIGITS]); /* < 2^253: cannot overflow */
	return r;
}

/* q, r = n / d, n % d for d != 0. Native division when both fit in 128
 * bits (the common case); limb division for a 64-bit divisor; otherwise
 * plain shift-and-subtract, which is slow but obviously right. */
static void u256_divmod(const struct u256 *n, const struct u256 *d, struct u256 *q, struct u256 *r)
{
	if (u256_cmp(n, d) < 0) {
		*r = *n;
		*q = u256_from(0);
		return;
	}
	if (u256_fits128(n) && u256_fits128(d)) {
		u128 nn = u256_low(n), dd = u256_low(d);
		*q = u256_from(nn / dd);
		*r = u256_from(nn % dd);
		return;
	}
	if (d->w[1] == 0 && d->w[2] == 0 && d->w[3] == 0) {
		uint64_t dd = d->w[0];
		u128 rem = 0;
		for (int i = 3; i >= 0; i--) {
			u128 cur = (rem << 64) | n->w[i];
			q->w[i] = (uint64_t)(cur / dd);
			rem = cur % dd;
		}
		*r = u256_from(rem);
		return;
	}
	struct u256 quo = u256_from(0), rem = u256_from(0);
	for (int i = u256_bits(n) - 1; i >= 0; i--) {
		/* The bit shifted out of rem means rem >= 2^256 > d: the
		 * subtraction below then wraps back to the right value. */
		uint64_t out_bit = rem.w[3] >> 63;
		for (int j = 3; j > 0; j--)
			rem.w[j] = (rem.w[j] << 1) | (rem.w[j - 1] >> 63);
		rem.w[0] = (rem.w[0] << 1) | ((n->w[i / 64] >> (i % 64)) & 1);
		if (out_bit || u256_cmp(&rem, d) >= 0) {
			u256_sub(&rem, &rem, d);
			quo.w[i / 64] |= 1ULL << (i % 64);
		}
	}
	*q = quo;
	*r = rem;
}

/* ---- rounding from an exact quotient ---- */

static int mode_ok(enum dec_round mode)
{
	return (unsigned)mode <= DEC_ROUND_FLOOR;
}

/* Whether the truncated quotient q (magnitude) of n/d with remainder r
 * moves one unit away from zero; neg is the sign of the exact quotient. */
static int round_away(enum dec_round mode, int neg, const struct u256 *q, const struct u256 *r,
		      const struct u256 *d)
{
	if (u256_is_zero(r))
		return 0;
	switch (mode) {
	case DEC_ROUND_DOWN:
		return 0;
	case DEC_ROUND_UP:
		return 1;
	case DEC_ROUND_CEILING:
		return !neg;
	case DEC_ROUND_FLOOR:
		return neg;
	case DEC_ROUND_HALF_UP:
	case DEC_ROUND_HALF_EVEN: {
		/* r against d - r rather than 2r against d: no doubling to overflow. */
		struct u256 rest;
		u256_sub(&rest, d, r);
		int c = u256_cmp(r, &rest);
		if (c != 0)
			return c > 0;
		return mode == DEC_ROUND_HALF_UP ? 1 : (int)(q->w[0] & 1);
	}
	}
	return 0;
}

/* Store magnitude m with sign neg at scale, or -1 past 38 digits. */
static int finish(struct dec *out, const struct u256 *m, int neg, int scale)
{
	if (!u256_fits128(m) || u256_low(m) > COEF_MAX)
		return -1;
	__int128 c = (__int128)u256_low(m);
	out->coef = neg ? -c : c;
	out->scale = scale;
	return 0;
}

static int divide_round(struct dec *out, const struct u256 *n, const struct u256 *d, int neg, int scale,
			enum dec_round mode)
{
	struct u256 q, r;
	u256_divmod(n, d, &q, &r);
	if (round_away(mode, neg, &q, &r, d)) {
		struct u256 one = u256_from(1);
		u256_add(&q, &q, &one);
	}
	return finish(out, &q, neg, scale);
}

/* ---- constructors, parsing, formatting ---- */

struct dec dec_zero(void)
{
	struct dec d = { 0, 0 };
	return d;
}

struct dec dec_from_int(int64_t v)
{
	struct dec d = { v, 0 };
	return d;
}

/* Digits gather in a 64-bit chunk and fold into the 128-bit coefficient
 * every 19 digits: ingest parses millions of values and most of them never
 * touch 128-bit multiplication. Past 38 digits the coefficient wraps
 * harmlessly; the caller rejects such input by its digit count. */
struct digit_acc {
	u128 coef;
	uint64_t chunk;
	int chunk_len;
};

static const char *take_digits(const char *p, const char *end, struct digit_acc *acc)
{
	for (; p < end; p++) {
		unsigned digit = (unsigned char)*p - '0';
		if (digit >= 10)
			break;
		acc->chunk = acc->chunk * 10 + digit;
		if (++acc->chunk_len == 19) {
			acc->coef = acc->coef * P19 + acc->chunk;
			acc->chunk = 0;
			acc->chunk_len = 0;
		}
	}
	return p;
}

int dec_parse(struct dec *out, const char *s, size_t len)
{
	if (!s)
		return -1;
	const char *p = s, *end = s + len;
	int neg = 0;
	if (p < end && (*p == '+' || *p == '-'))
		neg = *p++ == '-';

	/* Leading zeros are skipped, not counted: "000.0012" has 2
	 * significant digits. Zeros after the first significant digit count,
	 * trailing ones included, as they stay in the coefficient. */
	struct digit_acc acc = { 0, 0, 0 };
	const char *mantissa = p;
	while (p < end && *p == '0')
		p++;
	const char *first = p;
	p = take_digits(p, end, &acc);
	ptrdiff_t sig = p - first, frac = 0, ndigits = p - mantissa;
	if (p < end && *p == '.') {
		const char *frac_start = ++p;
		if (sig == 0)
			while (p < end && *p == '0')
				p++;
		const char *sig_start = p;
		p = take_digits(p, end, &acc);
		sig += p - sig_start;
		frac = p - frac_start;
		ndigits += frac;
	}
	if (ndigits == 0 || sig > DEC_MAX_DIGITS)
		return -1;
	u128 coef = acc.coef ? acc.coef * dec_pow10[acc.chunk_len] + acc.chunk : acc.chunk;

	int64_t exp = 0;
	if (p < end && (*p == 'e' || *p == 'E')) {
		int exp_neg = 0;
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			exp_neg = *p++ == '-';
		const char *start = p;
		for (; p < end && *p >= '0' && *p <= '9'; p++)
			if (exp < 1000000000000LL) /* saturate: far past any usable scale */
				exp = exp * 10 + (*p - '0');
		if (p == start)
			return -1;
		if (exp_neg)
			exp = -exp;
	}
	if (p != end)
		return -1;

	int64_t scale = (int64_t)frac - exp;
	if (scale > DEC_MAX_SCALE)
		return -1;
	if (scale < 0) {
		/* A positive exponent past the fraction digits scales the
		 * coefficient up instead of making the scale negative. */
		if (coef != 0) {
			if (sig - scale > DEC_MAX_DIGITS)
				return -1;
			coef *= dec_pow10[-scale];
		}
		scale = 0;
	}
	out->coef = neg ? -(__int128)coef : (__int128)coef;
	out->scale = (int)scale;
	return 0;
}

int dec_parse_cstr(struct dec *out, const char *s)
{
	if (!s)
		return -1;
	return dec_parse(out, s, strlen(s));
}

/* Write the decimal digits of m so they end just before end; returns the
 * count. Works in 19-digit chunks so most digits cost 64-bit divisions. */
static int u128_digits(u128 m, char *end)
{
	char *p = end;
	while (m > UINT64_MAX) {
		uint64_t chunk = (uint64_t)(m % P19);
		m /= P19;
		for (int i = 0; i < 19; i++) {
			*--p = (char)('0' + chunk % 10);
			chunk /= 10;
		}
	}
	uint64_t v = (uint64_t)m;
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return (int)(end - p);
}

int dec_format(struct dec d, char *buf, size_t size)
{
	char digits[64], text[80];
	char *end = digits + sizeof digits;
	/* An invalid scale is a caller bug; clamping keeps the buffer safe. */
	int scale = d.scale < 0 ? 0 : d.scale > DEC_MAX_SCALE ? DEC_MAX_SCALE : d.scale;
	int n = u128_digits(magnitude(d.coef), end);
	while (n < scale + 1)
		end[-++n] = '0';
	const char *first = end - n;

	int len = 0;
	if (d.coef < 0)
		text[len++] = '-';
	memcpy(text + len, first, (size_t)(n - scale));
	len += n - scale;
	if (scale > 0) {
		text[len++] = '.';
		memcpy(text + len, end - scale, (size_t)scale);
		len += scale;
	}
	if (size > 0) {
		size_t copy = (size_t)len < size - 1 ? (size_t)len : size - 1;
		memcpy(buf, text, copy);
		buf[copy] = '\0';
	}
	return len;
}

/* ---- arithmetic ---- */

/* The exact sum when aligning the scales overflowed 128 bits: the result
 * may still fit when the operands have opposite signs. */
static int add_wide(struct dec *out, struct dec a, struct dec b, int negate_b)
{
	int scale = a.scale > b.scale ? a.scale : b.scale;
	struct u256 ma = u256_from(magnitude(a.coef)), mb = u256_from(magnitude(b.coef));
	int neg_a = a.coef < 0, neg_b = (b.coef < 0) != negate_b;
	u256_mul(&ma, &ma, dec_pow10[scale - a.scale]); /* 128 x 100 bits: fits */
	u256_mul(&mb, &mb, dec_pow10[scale - b.scale]);

	struct u256 m;
	int neg;
	if (neg_a == neg_b) {
		u256_add(&m, &ma, &mb); /* < 2^230: no carry out */
		neg = neg_a;
	} else if (u256_cmp(&ma, &mb) >= 0) {
		u256_sub(&m, &ma, &mb);
		neg = neg_a;
	} else {
		u256_sub(&m, &mb, &ma);
		neg = neg_b;
	}
	return finish(out, &m, neg, scale);
}

static int add_or_sub(struct dec *out, struct dec a, struct dec b, int subtract)
{
	__int128 x = a.coef, y = b.coef, r;
	int scale = a.scale;

	if (a.scale != b.scale) {
		if (!scale_ok(a.scale) || !scale_ok(b.scale))
			return -1;
		if (a.scale < b.scale) {
			scale = b.scale;
			if (__builtin_mul_overflow(x, (__int128)dec_pow10[b.scale - a.scale], &x))
				return add_wide(out, a, b, subtract);
		} else if (__builtin_mul_overflow(y, (__int128)dec_pow10[a.scale - b.scale], &y)) {
			return add_wide(out, a, b, subtract);
		}
	} else if (!scale_ok(scale)) {
		return -1;
	}
	/* Overflowing 128 bits means at least 2^127, already past 38 digits. */
	if (subtract ? __builtin_sub_overflow(x, y, &r) : __builtin_add_overflow(x, y, &r))
		return -1;
	if (!coef_ok(r))
		return -1;
	out->coef = r;
	out->scale = scale;
	return 0;
}

int dec_add(struct dec *out, struct dec a, struct dec b)
{
	return add_or_sub(out, a, b, 0);
}

int dec_sub(struct dec *out, struct dec a, struct dec b)
{
	return add_or_sub(out, a, b, 1);
}

int dec_mul(struct dec *out, struct dec a, struct dec b)
{
	__int128 r;
	if (!scale_ok(a.scale) || !scale_ok(b.scale) || a.scale + b.scale > DEC_MAX_SCALE)
		return -1;
	if (__builtin_mul_overflow(a.coef, b.coef, &r) || !coef_ok(r))
		return -1;
	out->coef = r;
	out->scale = a.scale + b.scale;
	return 0;
}

int dec_mul_round(struct dec *out, struct dec a, struct dec b, int scale, enum dec_round mode)
{
	if (!scale_ok(a.scale) || !scale_ok(b.scale) || !scale_ok(scale) || !mode_ok(mode))
		return -1;
	int exact_scale = a.scale + b.scale;
	int neg = (a.coef < 0) != (b.coef < 0);
	struct u256 n = u256_from(magnitude(a.coef));
	u256_mul(&n, &n, magnitude(b.coef)); /* 128 x 128 bits: fits */

	if (scale >= exact_scale) {
		if (u256_mul(&n, &n, dec_pow10[scale - exact_scale]) < 0)
			return -1;
		return finish(out, &n, neg, scale);
	}
	struct u256 d = u256_pow10(exact_scale - scale);
	return divide_round(out, &n, &d, neg, scale, mode);
}

int dec_div(struct dec *out, struct dec a, struct dec b, int scale, enum dec_round mode)
{
	if (b.coef == 0 || !scale_ok(a.scale) || !scale_ok(b.scale) || !scale_ok(scale) || !mode_ok(mode))
		return -1;
	/* a/b * 10^scale = A * 10^(scale + b.scale - a.scale) / B for the
	 * coefficients A and B; the power lands on whichever side keeps it
	 * a non-negative exponent. */
	int e = scale + b.scale - a.scale;
	int neg = (a.coef < 0) != (b.coef < 0);
	struct u256 n, d;
	if (e >= 0) {
		n = u256_pow10(e);
		/* Past 256 bits the quotient is past 2^128: overflow anyway. */
		if (u256_mul(&n, &n, magnitude(a.coef)) < 0)
			return -1;
		d = u256_from(magnitude(b.coef));
	} else {
		n = u256_from(magnitude(a.coef));
		d = u256_from(magnitude(b.coef));
		u256_mul(&d, &d, dec_pow10[-e]); /* 128 x 100 bits: fits */
	}
	return divide_round(out, &n, &d, neg, scale, mode);
}

int dec_round(struct dec *out, struct dec a, int scale, enum dec_round mode)
{
	if (!scale_ok(a.scale) || !scale_ok(scale) || !mode_ok(mode))
		return -1;
	if (scale >= a.scale) {
		__int128 r;
		if (__builtin_mul_overflow(a.coef, (__int128)dec_pow10[scale - a.scale], &r) || !coef_ok(r))
			return -1;
		out->coef = r;
		out->scale = scale;
		return 0;
	}
	struct u256 n = u256_from(magnitude(a.coef)), d = u256_from(dec_pow10[a.scale - scale]);
	return divide_round(out, &n, &d, a.coef < 0, scale, mode);
}

/* ---- comparison and small helpers ---- */

int dec_cmp(struct dec a, struct dec b)
{
	if (a.scale == b.scale)
		return (a.coef > b.coef) - (a.coef < b.coef);
	int sa = dec_sign(a), sb = dec_sign(b);
	if (sa != sb)
		return sa < sb ? -1 : 1;
	if (sa == 0)
		return 0;
	/* Same sign, different scales: compare magnitudes aligned in 256
	 * bits, where aligning can never overflow. */
	int diff = a.scale - b.scale;
	if (diff < -DEC_MAX_DIGITS || diff > DEC_MAX_DIGITS)
		diff = diff < 0 ? -DEC_MAX_DIGITS : DEC_MAX_DIGITS; /* invalid scales: stay in bounds */
	struct u256 ma = u256_from(magnitude(a.coef)), mb = u256_from(magnitude(b.coef));
	if (diff > 0)
		u256_mul(&mb, &mb, dec_pow10[diff]);
	else
		u256_mul(&ma, &ma, dec_pow10[-diff]);
	int c = u256_cmp(&ma, &mb);
	return sa > 0 ? c : -c;
}

int dec_sign(struct dec a)
{
	return (a.coef > 0) - (a.coef < 0);
}

int dec_is_zero(struct dec a)
{
	return a.coef == 0;
}

struct dec dec_neg(struct dec a)
{
	/* Through unsigned: no undefined behaviour even for a coefficient
	 * outside the 38-digit range. */
	a.coef = (__int128)(-(u128)a.coef);
	return a;
}

struct dec dec_abs(struct dec a)
{
	return a.coef < 0 ? dec_neg(a) : a;
}

struct dec dec_normalize(struct dec a)
{
	while (a.scale > 0 && a.coef % 10 == 0) {
		a.coef /= 10;
		a.scale--;
	}
	return a;
}

static const char *const round_names[] = {
	[DEC_ROUND_HALF_UP] = "half_up",
	[DEC_ROUND_HALF_EVEN] = "half_even",
	[DEC_ROUND_UP] = "up",
	[DEC_ROUND_DOWN] = "down",
	[DEC_ROUND_CEILING] = "ceiling",
	[DEC_ROUND_FLOOR] = "floor",
};

int dec_round_parse(const char *name, enum dec_round *out)
{
	if (!name)
		return -1;
	for (size_t i = 0; i < sizeof round_names / sizeof round_names[0]; i++) {
		if (strcmp(name, round_names[i]) == 0) {
			*out = (enum dec_round)i;
			return 0;
		}
	}
	return -1;
}

const char *dec_round_name(enum dec_round mode)
{
	return mode_ok(mode) ? round_names[mode] : "unknown";
}
