/*
 * fuzz_dec.c - libFuzzer target for the decimal parser and arithmetic:
 * any input either parses or is rejected; what parses formats back to a
 * value that parses to the same number, and the operations never crash or
 * overflow silently (checked by UBSan and the round trips).
 */
#include "dec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Two operands separated by the first '|'. */
	const char *s = (const char *)data;
	const char *bar = memchr(s, '|', size);
	size_t alen = bar ? (size_t)(bar - s) : size;
	struct dec a, b, r;
	char buf[DEC_STR_MAX];
	if (dec_parse(&a, s, alen) != 0)
		return 0;
	dec_format(a, buf, sizeof(buf));
	struct dec back;
	if (dec_parse_cstr(&back, buf) != 0 || dec_cmp(a, back) != 0 || back.scale != a.scale)
		abort();
	if (!bar || dec_parse(&b, bar + 1, size - alen - 1) != 0)
		return 0;
	if (dec_add(&r, a, b) == 0) {
		struct dec diff;
		if (dec_sub(&diff, r, b) == 0 && dec_cmp(diff, a) != 0)
			abort();
	}
	dec_mul(&r, a, b);
	for (int mode = DEC_ROUND_HALF_UP; mode <= DEC_ROUND_FLOOR; mode++) {
		dec_mul_round(&r, a, b, 2, (enum dec_round)mode);
		if (dec_div(&r, a, b, 6, (enum dec_round)mode) == 0 && dec_is_zero(b))
			abort();
		dec_round(&r, a, 0, (enum dec_round)mode);
	}
	return 0;
}
