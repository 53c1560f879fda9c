/*
 * gen_usage.c - deterministic usage-csv data for benchmarks and tests.
 *
 * Writes N records over M accounts (the same bytes for the same arguments)
 * and a CSV of those accounts for \copy into table accounts, so that every
 * record is valid and known:
 *
 *   gen_usage [-n RECORDS] [-a ACCOUNTS] [-s SEED] [-d YYYY-MM-DD] USAGE.csv ACCOUNTS.csv
 *
 * Records: event ids ascending (as senders number them), times spread
 * over the day in order, accounts and quantities pseudo-random, meters
 * api_calls (3 in 4) and voice_seconds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t rng_state;

static uint64_t next_random(void)
{
	/* xorshift64*: fast, and the same sequence everywhere */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static int usage(void)
{
	fprintf(stderr, "usage: gen_usage [-n RECORDS] [-a ACCOUNTS] [-s SEED] [-d YYYY-MM-DD] USAGE.csv ACCOUNTS.csv\n");
	return 64;
}

int main(int argc, char **argv)
{
	long long n = 2000000, accounts = 10000;
	unsigned long long seed = 42;
	const char *day = "2026-01-15";
	int opt;

	while ((opt = getopt(argc, argv, "n:a:s:d:")) != -1) {
		switch (opt) {
		case 'n': n = atoll(optarg); break;
		case 'a': accounts = atoll(optarg); break;
		case 's': seed = strtoull(optarg, NULL, 10); break;
		case 'd': day = optarg; break;
		default: return usage();
		}
	}
	if (argc - optind != 2 || n < 0 || accounts < 1 || strlen(day) != 10)
		return usage();
	FILE *u = fopen(argv[optind], "w"), *a = fopen(argv[optind + 1], "w");
	if (!u || !a) {
		perror("gen_usage");
		return 74;
	}
	static char ubuf[1 << 20];
	setvbuf(u, ubuf, _IOFBF, sizeof(ubuf));
	rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;

	fputs("external_id,valid_from,time_zone,anchor_day,currency\n", a);
	for (long long i = 0; i < accounts; i++)
		fprintf(a, "acct-%06lld,2000-01-01T00:00:00Z,UTC,1,EUR\n", i);

	fputs("event_id,account_id,meter,timestamp,quantity\n", u);
	const long long day_ms = 86400000LL;
	for (long long i = 0; i < n; i++) {
		uint64_t r = next_random();
		long long acct = (long long)(r % (uint64_t)accounts);
		long long ms = n ? i * day_ms / n : 0;
		int voice = (r >> 32) % 4 == 0;
		long long q = (long long)((r >> 40) % 100000);
		fprintf(u, "ev-%012lld,acct-%06lld,%s,%sT%02lld:%02lld:%02lld.%03lldZ,", i, acct,
			voice ? "voice_seconds" : "api_calls", day, ms / 3600000, ms / 60000 % 60, ms / 1000 % 60,
			ms % 1000);
		if (voice)
			fprintf(u, "%lld\n", q % 3600);
		else
			fprintf(u, "%lld.%03lld\n", q / 1000, q % 1000);
	}
	if (fclose(u) || fclose(a)) {
		perror("gen_usage");
		return 74;
	}
	return 0;
}
