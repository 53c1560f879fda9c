/*
 * copybin.c - the parts of copybin.h that are not inline.
 */
#include "copybin.h"

#include <stdlib.h>

const char copybin_header[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
const char copybin_trailer[2] = { (char)0xff, (char)0xff };

void rowbuf_reserve(struct rowbuf *b, size_t n)
{
	if (b->len + n <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64 * 1024;
	while (cap < b->len + n)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p)
		abort(); /* rows are bounded by the record limit */
	b->p = p;
	b->cap = cap;
}

void rowbuf_release(struct rowbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void rowbuf_numeric(struct rowbuf *b, struct dec d)
{
	char txt[DEC_STR_MAX];
	dec_format(d, txt, sizeof(txt));
	const char *p = txt;
	int neg = 0;
	if (*p == '-') {
		neg = 1;
		p++;
	}
	const char *dot = strchr(p, '.');
	size_t il = dot ? (size_t)(dot - p) : strlen(p);
	const char *fr = dot ? dot + 1 : "";
	size_t fl = strlen(fr);

	/* Base-10000 digits: the integer part grouped from the point leftwards,
	 * the fraction from the point rightwards, zero padded. */
	uint16_t digit[24];
	int n = 0;
	size_t ig = (il + 3) / 4, first = il - (ig - 1) * 4, pos = 0;
	for (size_t g = 0; g < ig; g++) {
		size_t len = g == 0 ? first : 4;
		int v = 0;
		for (size_t k = 0; k < len; k++)
			v = v * 10 + (p[pos++] - '0');
		digit[n++] = (uint16_t)v;
	}
	for (size_t g = 0; g < (fl + 3) / 4; g++) {
		int v = 0;
		for (size_t k = 0; k < 4; k++) {
			size_t at = g * 4 + k;
			v = v * 10 + (at < fl ? fr[at] - '0' : 0);
		}
		digit[n++] = (uint16_t)v;
	}
	int weight = (int)ig - 1, lead = 0, end = n;
	while (lead < n && digit[lead] == 0)
		lead++;
	while (end > lead && digit[end - 1] == 0)
		end--;
	int nd = end - lead;
	weight -= lead;
	if (nd == 0) {
		weight = 0;
		neg = 0;
	}
	rowbuf_reserve(b, NUMERIC_MAX_BYTES);
	put32(b, (uint32_t)(8 + 2 * nd));
	put16(b, (uint16_t)nd);
	put16(b, (uint16_t)(int16_t)weight);
	put16(b, neg ? 0x4000 : 0);
	put16(b, (uint16_t)d.scale);
	for (int k = lead; k < end; k++)
		put16(b, digit[k]);
}
