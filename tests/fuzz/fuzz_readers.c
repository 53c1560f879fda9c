/*
 * fuzz_readers.c - libFuzzer target for the CSV tokenizer and the ingest
 * readers: the first byte picks the format, the rest is a file. Every
 * input must be read to its end without a crash, every record must come
 * back either good (key, account, meter set) or with a reason, and
 * reading in 1-, 3- and 4096-byte pieces must give the same records.
 */
#include "csv.h"
#include "err.h"
#include "reader.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A fingerprint of everything the records say, to compare readings. */
static uint64_t read_all(const struct reader_settings *s, const uint8_t *data, size_t size, size_t step,
			 long *count)
{
	struct csv_mem m = { (const char *)data, size, 0, step };
	struct reader r;
	struct err e;
	struct usage_record u;
	uint64_t h = 1469598103934665603ULL;
	*count = 0;
	if (reader_open(&r, s, csv_read_mem, &m, &e)) {
		reader_close(&r);
		return 0;
	}
	while (reader_next(&r, &u, &e) > 0) {
		(*count)++;
		if (u.reason == REASON_NONE) {
			if (!u.event_key_len || !u.account_len || !u.meter_len || !u.has_quantity)
				abort();
			if (u.attributes && !json_valid(u.attributes, u.attributes_len, 1))
				abort();
		} else if (u.reason >= REASON__COUNT || !u.message[0]) {
			abort();
		}
		if (u.raw_len && !u.raw)
			abort();
		h = (h ^ (uint64_t)u.reason) * 1099511628211ULL;
		h = (h ^ (uint64_t)u.line_no) * 1099511628211ULL;
		h = (h ^ (uint64_t)u.raw_len) * 1099511628211ULL;
		h = (h ^ (uint64_t)u.event_time) * 1099511628211ULL;
	}
	reader_close(&r);
	return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const formats[] = { "usage-csv", "focus", "asterisk-cdr" };
	if (size < 1)
		return 0;
	struct reader_settings s;
	memset(&s, 0, sizeof(s));
	s.source = "fuzz";
	s.format = formats[data[0] % 3];
	s.max_field = 64;
	s.meter_prefix = data[0] & 4 ? "p." : NULL;
	long n1, n2, n3;
	uint64_t a = read_all(&s, data + 1, size - 1, 1, &n1);
	uint64_t b = read_all(&s, data + 1, size - 1, 3, &n2);
	uint64_t c = read_all(&s, data + 1, size - 1, 4096, &n3);
	if (a != b || b != c || n1 != n2 || n2 != n3)
		abort();
	return 0;
}
