/*
 * dec.h - exact decimal numbers for money and quantities.
 *
 * A dec is a signed 128-bit integer coefficient and a decimal scale:
 * value = coef / 10^scale. Up to 38 significant digits, scale 0..DEC_MAX_SCALE.
 * No binary floating point is used anywhere in this module. Every operation
 * either gives the exact result or fails with -1 (overflow, or a result that
 * cannot be represented without rounding where no rounding was asked for).
 * Values are plain structs: no allocation, nothing to free.
 */
#ifndef BILLRUN_DEC_H
#define BILLRUN_DEC_H

#include <stddef.h>
#include <stdint.h>

#define DEC_MAX_SCALE 30    /* at least 18 fractional digits is the contract */
#define DEC_MAX_DIGITS 38   /* significant digits that always fit */
#define DEC_STR_MAX 48      /* enough for sign, 38 digits, point and NUL */

struct dec {
	__int128 coef;
	int scale;
};

enum dec_round {
	DEC_ROUND_HALF_UP,   /* ties away from zero (the billing default) */
	DEC_ROUND_HALF_EVEN, /* ties to the even digit (banker's rounding) */
	DEC_ROUND_UP,        /* away from zero */
	DEC_ROUND_DOWN,      /* toward zero (truncate) */
	DEC_ROUND_CEILING,   /* toward +infinity */
	DEC_ROUND_FLOOR      /* toward -infinity */
};

/* Constructors; never fail. */
struct dec dec_zero(void);
struct dec dec_from_int(int64_t v);

/*
 * Parse s[0..len) as a plain decimal: optional sign, digits, optional point
 * and digits; an exponent ("1.5E+3", "2e-4") is accepted too, as FOCUS
 * exports carry them. No spaces. Returns 0, or -1 for text that is not a
 * number, has more than DEC_MAX_DIGITS significant digits or a scale past
 * DEC_MAX_SCALE. Trailing fractional zeros are kept in the scale.
 */
int dec_parse(struct dec *out, const char *s, size_t len);
int dec_parse_cstr(struct dec *out, const char *s);

/* Format into buf (at least DEC_STR_MAX bytes) with exactly d.scale
 * fractional digits; returns the length. Never fails. */
int dec_format(struct dec d, char *buf, size_t size);

/* Exact arithmetic; -1 on overflow. Result scale: max of the operands'
 * scales for add/sub, sum of scales for mul (-1 if that passes
 * DEC_MAX_SCALE or the coefficient overflows). */
int dec_add(struct dec *out, struct dec a, struct dec b);
int dec_sub(struct dec *out, struct dec a, struct dec b);
int dec_mul(struct dec *out, struct dec a, struct dec b);

/* a*b rounded to scale by mode (exact 256-bit intermediate). */
int dec_mul_round(struct dec *out, struct dec a, struct dec b, int scale, enum dec_round mode);

/* a/b rounded to scale by mode, from the exact quotient; -1 on division
 * by zero or overflow. */
int dec_div(struct dec *out, struct dec a, struct dec b, int scale, enum dec_round mode);

/* Round (or extend with zeros) to scale. -1 on overflow. */
int dec_round(struct dec *out, struct dec a, int scale, enum dec_round mode);

/* -1, 0, 1 by numeric value (1.0 == 1.00). */
int dec_cmp(struct dec a, struct dec b);
int dec_sign(struct dec a);
int dec_is_zero(struct dec a);
struct dec dec_neg(struct dec a);
struct dec dec_abs(struct dec a);

/* Drop trailing fractional zeros (1.500 -> 1.5). Never fails. */
struct dec dec_normalize(struct dec a);

/* Parse a rounding-mode name ("half_up", "half_even", "up", "down",
 * "ceiling", "floor"); -1 if unknown. */
int dec_round_parse(const char *name, enum dec_round *out);
const char *dec_round_name(enum dec_round mode);

#endif
