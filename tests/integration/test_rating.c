/*
 * test_rating.c - the aggregate and rate steps against a real PostgreSQL:
 * a month priced line by line (amounts worked out by hand below), a plan
 * change across a DST change, FX and tax groups, per-record rounding and
 * every aggregation, incremental and idempotent runs, held accounts, a
 * dispute rerun of one account, `billrun explain`, and the application
 * role's inability to rewrite billing history.
 *
 * Fixtures: tests/fixtures/rating/ (rate card, accounts, subscriptions,
 * FX rates), loaded with the billrun commands themselves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rating_env.h"

static int setup(void **state)
{
	return env_setup("test_rating");
}

static int teardown(void **state)
{
	return env_teardown();
}

static void load_fixtures(void)
{
	import("accounts", "accounts.csv");
	import("subscriptions", "subscriptions.csv");
	import("fx", "fx.csv");
}

/* Column `what` of line `no` of the current rating of account's period. */
static const char *line_col(const char *account, const char *period, int no, const char *what)
{
	return q_text("SELECT %s FROM rated_lines_current WHERE account_ext = '%s' AND period_local_start = '%s' "
		      "AND line_no = %d",
		      what, account, period, no);
}

static void assert_line_at(const char *account, const char *period, int no, const char *kind, const char *charge,
			   const char *amount, const char *file, int line)
{
	_assert_string_equal(line_col(account, period, no, "kind"), kind, file, line);
	_assert_string_equal(line_col(account, period, no, "coalesce(charge, tax_group)"), charge, file, line);
	_assert_string_equal(line_col(account, period, no, "amount::text"), amount, file, line);
}
#define assert_line(a, p, n, k, c, amt) assert_line_at((a), (p), (n), (k), (c), (amt), __FILE__, __LINE__)

static const char *total(const char *account, const char *period)
{
	return q_text("SELECT status || ' ' || subtotal || ' ' || tax_total || ' ' || total FROM ratings_current "
		      "WHERE account_ext = '%s' AND period_local_start = '%s'",
		      account, period);
}

/* acme, on "pro" all month, Europe/Berlin, DE, closed by the month run. */
static void acme_usage(void)
{
	/* voice_seconds, rounded up per call to whole minutes: */
	usage("acme", "voice_seconds", "2026-02-28T22:30:00Z", "100", NULL); /* 23:30 CET 28 Feb: February */
	usage("acme", "voice_seconds", "2026-02-28T23:30:00Z", "59", NULL);  /* 00:30 CET 1 March: 60 */
	usage("acme", "voice_seconds", "2026-03-10T10:00:00Z", "61", NULL);  /* 120 */
	usage("acme", "voice_seconds", "2026-03-20T10:00:00Z", "3600", NULL); /* 3600 */
	usage("acme", "voice_seconds", "2026-03-31T21:30:00Z", "30", NULL);  /* 23:30 CEST 31 March: 60 */
	usage("acme", "voice_seconds", "2026-03-31T22:30:00Z", "600", NULL); /* 00:30 CEST 1 April: April */
	/* storage_gb, the month's peak: */
	usage("acme", "storage_gb", "2026-03-02T12:00:00Z", "80", NULL);
	usage("acme", "storage_gb", "2026-03-15T12:00:00Z", "250.5", NULL);
	usage("acme", "storage_gb", "2026-03-25T12:00:00Z", "120", NULL);
	/* active_users, distinct values of attribute "user": a b c d e f g = 7 */
	const char *users[] = { "a", "b", "c", "a", "d", "e", "f", "g" };
	for (int i = 0; i < 8; i++) {
		char attr[64], at[32];
		snprintf(attr, sizeof(attr), "{\"user\": \"%s\"}", users[i]);
		snprintf(at, sizeof(at), "2026-03-%02dT09:00:00Z", i + 3);
		usage("acme", "active_users", at, "1", attr);
	}
}

static void month_priced_line_by_line(void **state)
{
	NEED_PG();
	load_fixtures();
	acme_usage();
	long long run = run_period("month", "2026-03-01", "2026-04-01");

	/* acme, March 2026 (1 March 00:00 CET .. 1 April 00:00 CEST = 743 h):
	 * 1. base_fee   49.00, subscribed all period: 49.00 x 2674800/2674800   49.00
	 * 2. voice      60 + 120 + 3600 + 60 = 3840 s (3750 s raw), tier 1:
	 *               3840 x 0.00015 = 0.576                                 ->  0.58
	 * 3. storage    peak 250.5 GB, volume tier 2 (100 < 250.5 <= 1000):
	 *               250.5 x 0.08 = 20.04                                       20.04
	 * 4. users      7 distinct, 5 free: 2 x 4.00                                8.00
	 * 5. minimum    100.00 - (0.58 + 20.04 + 8.00 = 28.62)                     71.38
	 * 6. tax DE 19% on 49.00 + 28.62 + 71.38 = 149.00: 28.31                   28.31
	 *    total 149.00 + 28.31                                                 177.31 */
	assert_line("acme", "2026-03-01", 1, "recurring", "base_fee", "49.00");
	assert_line("acme", "2026-03-01", 2, "usage", "voice_seconds", "0.58");
	assert_string_equal(line_col("acme", "2026-03-01", 2, "quantity::text"), "3840");
	assert_string_equal(line_col("acme", "2026-03-01", 2, "amount_unrounded::text"), "0.576");
	assert_line("acme", "2026-03-01", 3, "usage", "storage_gb", "20.04");
	assert_string_equal(line_col("acme", "2026-03-01", 3, "quantity::text"), "250.5");
	assert_line("acme", "2026-03-01", 4, "usage", "active_users", "8.00");
	assert_string_equal(line_col("acme", "2026-03-01", 4, "billable_quantity::text"), "2");
	assert_line("acme", "2026-03-01", 5, "minimum", "commitment", "71.38");
	assert_line("acme", "2026-03-01", 6, "tax", "standard", "28.31");
	assert_string_equal(line_col("acme", "2026-03-01", 6, "tax_base::text"), "149.00");
	assert_string_equal(line_col("acme", "2026-03-01", 6, "tax_rate::text"), "0.19");
	assert_int_equal(q_int("SELECT count(*) FROM rated_lines_current WHERE account_ext = 'acme' "
			       "AND period_local_start = '2026-03-01'"),
			 6);
	assert_string_equal(total("acme", "2026-03-01"), "rated 149.00 28.31 177.31");
	assert_string_equal(line_col("acme", "2026-03-01", 1, "proration_whole::text"), "2674800.000000");

	/* The records either side of the local month's edges went elsewhere. */
	assert_string_equal(q_text("SELECT v.value || '/' || v.quantity_raw || '/' || v.records FROM agg_values v "
				   "JOIN agg_snapshots s ON s.id = v.snapshot_id WHERE s.account_ext = 'acme' "
				   "AND s.period_local_start = '2026-03-01' AND v.meter = 'voice_seconds'"),
			    "3840/3750/4");

	/* Every line names its run and rule version. March has closed; the
	 * April period of the 1 April call has not. */
	assert_int_equal(q_int("SELECT count(*) FROM rated_lines WHERE run_id <> %lld OR rule_version <> %lld", run,
			       env_rule_version),
			 0);
	assert_string_equal(q_text("SELECT string_agg(account_ext || ' ' || period_local_start, ',') FROM ratings "
				   "WHERE NOT closed"),
			    "acme 2026-04-01");
}

static void plan_change_prorated_across_dst(void **state)
{
	NEED_PG();
	load_fixtures();
	run_period("month", "2026-03-01", "2026-04-01");

	/* dst moves from basic to pro at local midnight on 16 March; clocks go
	 * forward on 29 March, so the period has 743 h = 2674800 s:
	 * 1. basic base_fee 29.00 x 1296000 / 2674800 (360 h of 743) = 14.0511...  14.05
	 * 2. pro base_fee   49.00 x 1378800 / 2674800 (383 h of 743) = 25.2584...  25.26
	 * 3-5. usage on pro: none                                                    0.00
	 * 6. minimum 100.00 x 383/743 = 51.5477... - 0.00                           51.55
	 * 7. tax DE 19% on 14.05 + 25.26 + 51.55 = 90.86: 17.2634                   17.26
	 *    total 90.86 + 17.26                                                   108.12 */
	assert_line("dst", "2026-03-01", 1, "recurring", "base_fee", "14.05");
	assert_string_equal(line_col("dst", "2026-03-01", 1, "plan"), "basic");
	assert_string_equal(line_col("dst", "2026-03-01", 1, "proration_part::text"), "1296000.000000");
	assert_string_equal(line_col("dst", "2026-03-01", 1, "proration_whole::text"), "2674800.000000");
	assert_line("dst", "2026-03-01", 2, "recurring", "base_fee", "25.26");
	assert_string_equal(line_col("dst", "2026-03-01", 2, "plan"), "pro");
	assert_string_equal(line_col("dst", "2026-03-01", 2, "proration_part::text"), "1378800.000000");
	assert_string_equal(line_col("dst", "2026-03-01", 2, "amount_unrounded::text"), "25.25841184387617765814");
	assert_line("dst", "2026-03-01", 3, "usage", "voice_seconds", "0.00");
	assert_line("dst", "2026-03-01", 6, "minimum", "commitment", "51.55");
	assert_line("dst", "2026-03-01", 7, "tax", "standard", "17.26");
	assert_string_equal(total("dst", "2026-03-01"), "rated 90.86 17.26 108.12");

	/* Plan versions: eco is on basic, 29.00 in March and 32.00 from April.
	 * March: 29.00 + voice (660 + 60 = 720 s, 600 free: 120 x 0.0002 =
	 * 0.024 -> 0.02) + 250 SMS (3 packages of 100: 15.00) = 44.02;
	 * tax 8.3638 -> 8.36; total 52.38. */
	usage("eco", "voice_seconds", "2026-03-05T10:00:00Z", "650", NULL);
	usage("eco", "voice_seconds", "2026-03-06T10:00:00Z", "50", NULL);
	sql("INSERT INTO usage (source, event_key, file_id, line_no, run_id, account_ext, meter, event_time, quantity) "
	    "SELECT 'test', 'sms' || g, 0, g, 0, 'eco', 'sms', "
	    "'2026-03-07T10:00:00Z'::timestamptz + g * interval '1 minute', 1 FROM generate_series(1, 250) g");
	run_period("day", "2026-03-07", "2026-03-08");
	long long march = run_period("month", "2026-03-01", "2026-04-01");
	assert_line("eco", "2026-03-01", 1, "recurring", "base_fee", "29.00");
	assert_line("eco", "2026-03-01", 2, "usage", "voice_seconds", "0.02");
	assert_line("eco", "2026-03-01", 3, "usage", "sms", "15.00");
	assert_string_equal(total("eco", "2026-03-01"), "rated 44.02 8.36 52.38");
	assert_string_equal(line_col("eco", "2026-03-01", 1, "plan_effective_from::text"), "2024-01-01");
	(void)march;
	run_period("month", "2026-04-01", "2026-05-01");
	assert_line("eco", "2026-04-01", 1, "recurring", "base_fee", "32.00");
	assert_string_equal(line_col("eco", "2026-04-01", 1, "plan_effective_from::text"), "2026-04-01");
}

static void fx_conversion_and_tax_groups(void **state)
{
	NEED_PG();
	load_fixtures();
	usage("tokyo", "api_calls", "2026-03-10T01:00:00Z", "200000", NULL);
	usage("tokyo", "api_calls", "2026-03-11T01:00:00Z", "51000", NULL);
	usage("tokyo", "storage_gb", "2026-03-12T01:00:00Z", "40", NULL);
	run_period("month", "2026-03-01", "2026-04-01");

	/* tokyo bills in JPY (no minor unit) on the USD plan "cloud". The rate
	 * of the period's last local day, 31 March, is the correction 150.25
	 * (not 149.50 it replaced, nor 151.00 of 1 April):
	 * 1. platform 10.00 USD x 150.25 = 1502.5 JPY, half up ->                  1503
	 * 2. api_calls 251000, 1000 free, 250000 x 0.0004 = 100.00 USD = 15025.00  15025
	 * 3. storage 40 x 0.023 = 0.92 USD x 150.25 = 138.23 JPY                      138
	 * 4. tax JP standard 10% on 1503 + 15025 = 16528: 1652.8 ->                 1653
	 * 5. tax JP reduced 8% on 138: 11.04 ->                                        11
	 *    total 16666 + 1664                                                    18330 */
	assert_line("tokyo", "2026-03-01", 1, "recurring", "platform", "1503");
	assert_string_equal(line_col("tokyo", "2026-03-01", 1, "fx_rate::text"), "150.25");
	assert_string_equal(line_col("tokyo", "2026-03-01", 1, "fx_as_of::text"), "2026-03-31");
	assert_string_equal(line_col("tokyo", "2026-03-01", 1, "fx_inverse::text"), "false");
	assert_string_equal(line_col("tokyo", "2026-03-01", 1, "amount_price_currency::text"), "10.00");
	assert_string_equal(line_col("tokyo", "2026-03-01", 1, "price_currency"), "USD");
	assert_string_equal(line_col("tokyo", "2026-03-01", 1, "currency"), "JPY");
	assert_line("tokyo", "2026-03-01", 2, "usage", "api_calls", "15025");
	assert_line("tokyo", "2026-03-01", 3, "usage", "storage_gb", "138");
	assert_line("tokyo", "2026-03-01", 4, "tax", "standard", "1653");
	assert_line("tokyo", "2026-03-01", 5, "tax", "reduced", "11");
	assert_string_equal(total("tokyo", "2026-03-01"), "rated 16666 1664 18330");
	assert_string_equal(line_col("tokyo", "2026-03-01", 1, "fx_rate_id = (SELECT max(id) FROM fx_rates "
							       "WHERE base = 'USD' AND quote = 'JPY' AND as_of = '2026-03-31')"),
			    "t");

	/* zurich: CHF, untaxed (no jurisdiction), and only CHF -> USD is
	 * quoted (1 CHF = 1.25 USD), so 10.00 USD / 1.25 = 8.00 CHF. */
	assert_line("zurich", "2026-03-01", 1, "recurring", "platform", "8.00");
	assert_string_equal(line_col("zurich", "2026-03-01", 1, "fx_inverse::text"), "true");
	assert_string_equal(total("zurich", "2026-03-01"), "rated 8.00 0 8.00");
	assert_int_equal(q_int("SELECT count(*) FROM rated_lines_current WHERE account_ext = 'zurich' AND kind = 'tax'"),
			 0);
}

static void meters_round_and_aggregate_per_record(void **state)
{
	NEED_PG();
	load_fixtures();
	sql("INSERT INTO accounts (external_id, valid_from, time_zone, anchor_day, currency) "
	    "VALUES ('mix', '2025-01-01', 'UTC', 1, 'EUR')");
	sql("INSERT INTO subscriptions (account_ext, plan, valid_from) VALUES ('mix', 'meter_mix', '2026-01-01')");
	/* latest: the last record's value, whatever came before (7.5). */
	usage("mix", "balance", "2026-03-01T00:00:00Z", "10", NULL);
	usage("mix", "balance", "2026-03-20T00:00:00Z", "7.5", NULL);
	usage("mix", "balance", "2026-03-05T00:00:00Z", "99", NULL);
	/* a credit meter: -12.5 + 2 = -10.5, priced at 1 EUR: -10.50 */
	usage("mix", "adjustment", "2026-03-02T00:00:00Z", "-12.5", NULL);
	usage("mix", "adjustment", "2026-03-03T00:00:00Z", "2", NULL);
	/* rounding applies to each record before summing, away from zero:
	 * 1 s -> 60, 60 s -> 60, 61 s -> 120, 0.000001 s -> 60: 300 s. */
	usage("acme", "voice_seconds", "2026-03-02T00:00:00Z", "1", NULL);
	usage("acme", "voice_seconds", "2026-03-02T00:01:00Z", "60", NULL);
	usage("acme", "voice_seconds", "2026-03-02T00:02:00Z", "61", NULL);
	usage("acme", "voice_seconds", "2026-03-02T00:03:00Z", "0.000001", NULL);
	usage("acme", "sms", "2026-03-02T00:04:00Z", "1", NULL);
	usage("acme", "sms", "2026-03-02T00:05:00Z", "1", NULL);
	run_period("month", "2026-03-01", "2026-04-01");

	assert_line("mix", "2026-03-01", 1, "usage", "balance", "7.50");
	assert_line("mix", "2026-03-01", 2, "usage", "adjustment", "-10.50");
	assert_string_equal(q_text("SELECT trim_scale(value) || ' ' || quantity_raw || ' ' || records FROM agg_values v "
				   "JOIN agg_snapshots s ON s.id = v.snapshot_id WHERE s.account_ext = 'acme' "
				   "AND v.meter = 'voice_seconds'"),
			    "300 122.000001 4");
	assert_string_equal(q_text("SELECT value FROM agg_values v JOIN agg_snapshots s ON s.id = v.snapshot_id "
				   "WHERE s.account_ext = 'acme' AND v.meter = 'sms'"),
			    "2");
}

/* The amount of the current line of charge `charge` of account's period. */
static const char *charge_amount(const char *account, const char *period, const char *charge)
{
	return q_text("SELECT coalesce(string_agg(trim_scale(quantity) || ' ' || amount, ', '), 'none') "
		      "FROM rated_lines_current WHERE account_ext = '%s' AND period_local_start = '%s' AND charge = '%s'",
		      account, period, charge);
}

/* A unique_count meter counts distinct values of its attribute; a record
 * whose value is empty or all blank is a record without it (jobs/RATING.md). */
static void unique_count_ignores_blank_values(void **state)
{
	NEED_PG();
	load_fixtures();
	/* acme (pro: 5 users free, then 4.00 each): five named users and one
	 * with an empty id are 5 users, nothing to pay (not 6 and 4.00). */
	const char *users[] = { "a", "b", "c", "d", "e", "" };
	for (int i = 0; i < 6; i++) {
		char attr[64], at[32];
		snprintf(attr, sizeof(attr), "{\"user\": \"%s\"}", users[i]);
		snprintf(at, sizeof(at), "2026-03-%02dT09:00:00Z", i + 3);
		usage("acme", "active_users", at, "1", attr);
	}
	run_period("month", "2026-03-01", "2026-04-01");
	assert_string_equal(charge_amount("acme", "2026-03-01", "active_users"), "5 0.00");
	assert_string_equal(q_text("SELECT v.value || '/' || v.records FROM agg_values v JOIN agg_snapshots s "
				   "ON s.id = v.snapshot_id WHERE s.account_ext = 'acme' AND v.meter = 'active_users' "
				   "ORDER BY s.id DESC LIMIT 1"),
			    "5/6");

	/* Blanks (spaces, a tab, a line break), a JSON null and no attribute
	 * at all are no user either; a sixth named user is one more. */
	usage("acme", "active_users", "2026-03-10T09:00:00Z", "1", "{\"user\": \"  \\t \\n\"}");
	usage("acme", "active_users", "2026-03-11T09:00:00Z", "1", "{\"user\": null}");
	usage("acme", "active_users", "2026-03-12T09:00:00Z", "1", "{\"other\": \"z\"}");
	run_period("day", "2026-04-02", "2026-04-03");
	assert_string_equal(charge_amount("acme", "2026-03-01", "active_users"), "5 0.00");
	usage("acme", "active_users", "2026-03-13T09:00:00Z", "1", "{\"user\": \"f\"}");
	run_period("day", "2026-04-03", "2026-04-04");
	assert_string_equal(charge_amount("acme", "2026-03-01", "active_users"), "6 4.00");

	/* explain --records says which records counted no user. */
	assert_int_equal(billrun("explain", "--records", "acme", "2026-03"), 0);
	assert_non_null(strstr(env_out, "meter active_users     unique_count = 6 (10 records)"));
	const char *p = env_out;
	int blanks = 0;
	while ((p = strstr(p, "(no user: not counted)")) != NULL) {
		blanks++;
		p++;
	}
	assert_int_equal(blanks, 4);
}

/* The usage lines of account's current March rating: "charge quantity
 * amount, ..." in line order. */
static const char *lines_of(const char *account)
{
	return q_text("SELECT string_agg(charge || ' ' || trim_scale(quantity) || ' ' || amount, ', ' ORDER BY line_no) "
		      "FROM rated_lines_current WHERE account_ext = '%s' AND period_local_start = '2026-03-01' "
		      "AND kind = 'usage'",
		      account);
}

/* FOCUS rows of account `account` on `meter`, one an hour from
 * 2026-03-`day` 00:00 UTC: quantities and charge categories in turn, each
 * with a BilledCost of 1 (only FOCUS rows carry one) and attribute user. */
static void focus_rows(const char *account, const char *meter, int day, const char *const *rows, int n)
{
	static int key;
	struct err e;
	for (int i = 0; i < n; i++) {
		char k[32], at[32], attr[128];
		snprintf(k, sizeof(k), "f%d", ++key);
		snprintf(at, sizeof(at), "2026-03-%02dT%02d:00:00Z", day, i);
		snprintf(attr, sizeof(attr), "{\"ChargeCategory\": \"%s\", \"user\": \"u%d\"}", rows[2 * i + 1], i);
		const char *p[] = { k, account, meter, at, rows[2 * i], attr };
		if (db_exec(app, &e,
			    "INSERT INTO usage (source, event_key, file_id, line_no, run_id, account_ext, meter, event_time, "
			    "quantity, cost, currency, attributes) VALUES ('cloud', $1, 0, 1, 0, $2, $3, $4, $5, 1, 'EUR', $6)",
			    6, p)) {
			fprintf(stderr, "usage insert: %s\n", e.message);
			fail();
		}
	}
}

/* FOCUS credits, adjustments, purchases and taxes keep their cost (the
 * chargeback's) but enter no meter unless it lists their category: 12
 * usage rows, then 3 credits and 1 adjustment, on a count, a latest, a
 * max and a unique_count meter (jobs/RATING.md, Aggregation). */
static void focus_charge_categories_enter_only_meters_that_ask(void **state)
{
	NEED_PG();
	load_fixtures();
	sql("INSERT INTO accounts (external_id, valid_from, time_zone, anchor_day, currency) "
	    "VALUES ('cloudy', '2025-01-01', 'UTC', 1, 'EUR')");
	sql("INSERT INTO subscriptions (account_ext, plan, valid_from) VALUES ('cloudy', 'focus_mix', '2026-01-01')");
	/* 12 usage rows of quantity 10, 11, ... 21 (the latest, at 11:00, is
	 * 21, the peak 21), users u0 .. u11; then, later in the day, an
	 * adjustment of 500 and three credits of quantity 0 (FOCUS gives them
	 * none), users u12 .. u15. */
	const char *rows[32];
	char q[16][8];
	for (int i = 0; i < 12; i++) {
		snprintf(q[i], sizeof(q[i]), "%d", 10 + i);
		rows[2 * i] = q[i];
		rows[2 * i + 1] = "Usage";
	}
	const char *others[] = { "500", "Adjustment", "0", "Credit", "0", "credit", "0", "Credit" };
	memcpy(rows + 24, others, sizeof(others));
	const char *meters[] = { "sms", "balance", "storage_gb", "active_users" };
	for (int m = 0; m < 4; m++)
		focus_rows("cloudy", meters[m], 2 + m, rows, 16);
	run_period("month", "2026-03-01", "2026-04-01");

	/* count 12 (not 16), latest 21 (not the trailing credit's 0), max 21
	 * (not the adjustment's 500), unique_count 12 (not 16) */
	assert_string_equal(lines_of("cloudy"), "sms 12 12.00, balance 21 21.00, storage_gb 21 21.00, "
						"active_users 12 12.00");
	/* each value is made of the 12 usage records; the snapshot counts all 64 */
	assert_string_equal(q_text("SELECT string_agg(v.meter || ' ' || v.records || ' ' || v.quantity_raw, ', ' "
				   "ORDER BY v.meter) FROM agg_values v JOIN agg_snapshots s ON s.id = v.snapshot_id "
				   "WHERE s.account_ext = 'cloudy'"),
			    "active_users 12 186, balance 12 186, sms 12 186, storage_gb 12 186");
	assert_int_equal(q_int("SELECT usage_records FROM agg_snapshots WHERE account_ext = 'cloudy'"), 64);

	/* A meter that asks for credits (and adjustments) counts them. */
	sql("UPDATE meters SET charge_categories = '{Usage,Credit}' WHERE name IN ('sms', 'balance', 'active_users')");
	sql("UPDATE meters SET charge_categories = '{Usage,Adjustment}' WHERE name = 'storage_gb'");
	long long rerun = new_run("month", "2026-03-01", "2026-04-01", "cloudy", 0);
	run_job(&job_aggregate, rerun);
	run_job(&job_rate, rerun);
	assert_string_equal(lines_of("cloudy"), "sms 15 15.00, balance 0 0.00, storage_gb 500 500.00, "
						"active_users 15 15.00");

	/* explain --records names the rows a meter leaves out. */
	assert_int_equal(billrun("explain", "--records", "cloudy", "2026-03"), 0);
	assert_non_null(strstr(env_out, "(Adjustment: not counted by the meter)"));
	assert_non_null(strstr(env_out, "(Credit: not counted by the meter)"));
}

static void nightly_runs_are_incremental_and_idempotent(void **state)
{
	NEED_PG();
	load_fixtures();
	acme_usage();
	usage("tokyo", "api_calls", "2026-03-10T01:00:00Z", "5000", NULL);

	/* Night of 10 March: only the two accounts with usage are touched,
	 * provisionally (the period is open: no minimum true-up yet). */
	long long r1 = run_period("day", "2026-03-10", "2026-03-11");
	assert_int_equal(q_int("SELECT count(*) FROM agg_snapshots WHERE run_id = %lld", r1), 4); /* acme Feb, Mar, Apr; tokyo */
	assert_int_equal(q_int("SELECT count(*) FROM ratings WHERE run_id = %lld", r1), 4);
	assert_int_equal(q_int("SELECT count(*) FROM ratings_current WHERE account_ext = 'acme' AND closed"), 1); /* Feb */
	assert_int_equal(q_int("SELECT count(*) FROM rated_lines_current WHERE account_ext = 'acme' "
			       "AND period_local_start = '2026-03-01' AND kind = 'minimum'"),
			 0);
	assert_int_equal(q_int("SELECT count(*) FROM usage_dirty"), 0);
	char before[128];
	snprintf(before, sizeof(before), "%s", total("acme", "2026-03-01"));
	assert_string_equal(before, "rated 77.62 14.75 92.37"); /* 49 + 0.58 + 20.04 + 8.00; 19 % */

	/* The same steps again in the same run: the run's own results are
	 * replaced (superseded), not added to. */
	long long lines = q_int("SELECT count(*) FROM rated_lines_current");
	sql("UPDATE run_steps SET status = 'pending' WHERE run_id = %lld", r1);
	run_job(&job_aggregate, r1);
	run_job(&job_rate, r1);
	assert_int_equal(q_int("SELECT count(*) FROM rated_lines_current"), lines);
	assert_string_equal(total("acme", "2026-03-01"), before);
	assert_int_equal(q_int("SELECT count(*) FROM ratings_current"), 4);
	assert_int_equal(q_int("SELECT count(*) FROM ratings WHERE run_id = %lld", r1), 8);

	/* A night with no new usage touches nothing. */
	long long r2 = run_period("day", "2026-03-11", "2026-03-12");
	assert_int_equal(q_int("SELECT count(*) FROM agg_snapshots WHERE run_id = %lld", r2), 0);
	assert_int_equal(q_int("SELECT count(*) FROM ratings WHERE run_id = %lld", r2), 0);

	/* New usage for one account: only that account's period is redone. */
	usage("tokyo", "api_calls", "2026-03-12T01:00:00Z", "1000", NULL);
	long long r3 = run_period("day", "2026-03-12", "2026-03-13");
	assert_string_equal(q_text("SELECT string_agg(account_ext || ' ' || period_local_start, ',') FROM agg_snapshots "
				   "WHERE run_id = %lld",
				   r3),
			    "tokyo 2026-03-01");
	assert_string_equal(q_text("SELECT value FROM agg_values v JOIN agg_snapshots s ON s.id = v.snapshot_id "
				   "WHERE s.run_id = %lld AND v.meter = 'api_calls'",
				   r3),
			    "6000");

	/* Month end closes every period ending in March... and April 1st:
	 * all accounts with a subscription or usage, minimum included. */
	long long m = run_period("month", "2026-03-01", "2026-04-01");
	assert_int_equal(q_int("SELECT count(*) FROM agg_snapshots WHERE run_id = %lld AND reason = 'close'", m), 5);
	assert_string_equal(total("acme", "2026-03-01"), "rated 149.00 28.31 177.31");
	/* Running the month again changes nothing: its periods are closed. */
	long long m2 = run_period("month", "2026-03-01", "2026-04-01");
	assert_int_equal(q_int("SELECT count(*) FROM agg_snapshots WHERE run_id = %lld", m2), 0);
	/* Late usage for a closed period reopens its computation, still closed. */
	usage("acme", "active_users", "2026-03-30T12:00:00Z", "1", "{\"user\": \"h\"}");
	long long late = run_period("day", "2026-04-02", "2026-04-03");
	assert_string_equal(q_text("SELECT closed FROM ratings WHERE run_id = %lld", late), "t");
	/* 3 paid users now: 12.00; the true-up shrinks by 4.00 to 67.38. */
	assert_string_equal(total("acme", "2026-03-01"), "rated 149.00 28.31 177.31");
	assert_line("acme", "2026-03-01", 4, "usage", "active_users", "12.00");
	assert_line("acme", "2026-03-01", 5, "minimum", "commitment", "67.38");
}

static void held_accounts_wait_and_are_retried(void **state)
{
	NEED_PG();
	load_fixtures();
	sql("INSERT INTO accounts (external_id, valid_from, time_zone, anchor_day, currency, tax_jurisdiction) VALUES "
	    "('noplan', '2025-01-01', 'UTC', 1, 'EUR', 'DE'), ('nofx', '2025-01-01', 'Europe/London', 1, 'GBP', ''), "
	    "('notax', '2025-01-01', 'America/Chicago', 1, 'EUR', 'US')");
	sql("INSERT INTO subscriptions (account_ext, plan, valid_from) VALUES ('nofx', 'cloud', '2026-01-01'), "
	    "('notax', 'basic', '2026-01-01')");
	usage("noplan", "sms", "2026-03-05T00:00:00Z", "1", NULL);
	run_period("month", "2026-03-01", "2026-04-01");

	assert_string_equal(q_text("SELECT hold_reason FROM ratings_current WHERE account_ext = 'noplan'"), "no_plan");
	assert_string_equal(q_text("SELECT hold_reason FROM ratings_current WHERE account_ext = 'nofx'"), "no_fx_rate");
	assert_string_equal(q_text("SELECT hold_reason FROM ratings_current WHERE account_ext = 'notax'"), "no_tax_rate");
	assert_int_equal(q_int("SELECT count(*) FROM rated_lines_current WHERE account_ext IN ('noplan', 'nofx', 'notax')"),
			 0);
	/* The others went on. */
	assert_string_equal(total("acme", "2026-03-01"), "rated 149.00 28.31 177.31"); /* 49 + 100 minimum */

	/* Still held next night: nothing new stored. */
	long long n = q_int("SELECT count(*) FROM ratings");
	run_period("day", "2026-04-01", "2026-04-02");
	assert_int_equal(q_int("SELECT count(*) FROM ratings"), n);

	/* The missing rate arrives: the account is rated by the next run.
	 * 10.00 USD x 0.80 = 8.00 GBP. */
	sql("INSERT INTO fx_rates (base, quote, as_of, rate) VALUES ('USD', 'GBP', '2026-03-31', 0.80)");
	run_period("day", "2026-04-02", "2026-04-03");
	assert_string_equal(total("nofx", "2026-03-01"), "rated 8.00 0 8.00");
	assert_string_equal(line_col("nofx", "2026-03-01", 1, "fx_rate::text"), "0.80");
}

static void dispute_rerun_of_one_account(void **state)
{
	NEED_PG();
	load_fixtures();
	acme_usage();
	long long orig = run_period("month", "2026-03-01", "2026-04-01");
	long long before = q_int("SELECT count(*) FROM ratings");

	long long rerun = new_run("month", "2026-03-01", "2026-04-01", "acme", orig);
	run_job(&job_aggregate, rerun);
	run_job(&job_rate, rerun);
	/* Only acme's March was redone; the original rating stays as history. */
	assert_string_equal(q_text("SELECT string_agg(DISTINCT account_ext, ',') FROM ratings WHERE run_id = %lld", rerun),
			    "acme");
	assert_int_equal(q_int("SELECT count(*) FROM ratings WHERE run_id = %lld", rerun), 1);
	assert_int_equal(q_int("SELECT count(*) FROM ratings"), before + 1);
	assert_int_equal(q_int("SELECT run_id FROM ratings_current WHERE account_ext = 'acme' "
			       "AND period_local_start = '2026-03-01'"),
			 rerun);
	assert_int_equal(q_int("SELECT run_id FROM ratings_current WHERE account_ext = 'dst'"), orig);
	assert_string_equal(total("acme", "2026-03-01"), "rated 149.00 28.31 177.31");
	assert_int_equal(q_int("SELECT count(*) FROM rated_lines WHERE run_id = %lld AND rule_version = %lld", rerun,
			       env_rule_version),
			 6);
	/* The dirty queue was left to the nightly runs. */
	usage("tokyo", "api_calls", "2026-03-10T01:00:00Z", "1", NULL);
	long long r2 = new_run("month", "2026-03-01", "2026-04-01", "acme", orig);
	run_job(&job_aggregate, r2);
	assert_int_equal(q_int("SELECT count(*) FROM usage_dirty WHERE account_ext = 'tokyo'"), 1);
}

static void explain_prints_how_each_charge_was_computed(void **state)
{
	NEED_PG();
	load_fixtures();
	acme_usage();
	usage("tokyo", "api_calls", "2026-03-10T01:00:00Z", "251000", NULL);
	long long run = run_period("month", "2026-03-01", "2026-04-01");

	int rc = billrun("explain", "acme", "2026-03");
	if (rc != 0)
		fprintf(stderr, "%s", env_out);
	assert_int_equal(rc, 0);
	char want[256];
	snprintf(want, sizeof(want), "by run %lld", run);
	const char *fragments[] = {
		"period 2026-03-01 .. 2026-04-01 (local dates, Europe/Berlin, anchor day 1), closed",
		"2026-02-28T23:00:00Z to 2026-03-31T22:00:00Z: 743 h",
		want,
		"rounding half_up",
		"meter voice_seconds    sum          = 3840 (4 records; each rounded up to a multiple of 60: 3750 -> 3840)",
		"tier 1 (above 0 up to 60000): 3840 x 0.00015 EUR = 0.57600",
		"amount 0.576 EUR, rounded half_up to 2 decimals: 0.58 EUR",
		"tier 2 (above 100 up to 1000): 250.5 x 0.08 EUR = 20.040",
		"free units 5: 5 free, 2 billable",
		"49.00 EUR x 2674800.000000 s / 2674800.000000 s (743 h of 743 h, 1.000000)",
		"required 100.00 EUR; usage charges billed 28.62 EUR: the shortfall is billed",
		"USt, jurisdiction DE, rate 0.19 (in force from 2007-01-01) x base 149.00 EUR",
		"subtotal 149.00 EUR, tax 28.31 EUR, total 177.31 EUR",
	};
	for (size_t i = 0; i < sizeof(fragments) / sizeof(fragments[0]); i++)
		if (!strstr(env_out, fragments[i])) {
			fprintf(stderr, "missing: %s\n--- output:\n%s", fragments[i], env_out);
			fail();
		}
	snprintf(want, sizeof(want), "rule version %lld (sha256 ", env_rule_version);
	assert_non_null(strstr(env_out, want));

	/* FX shows the rate and its date. */
	assert_int_equal(billrun("explain", "tokyo", "2026-03-15"), 0);
	assert_non_null(strstr(env_out, "converted: 10.00 USD x 150.25 (1 USD = 150.25 JPY, rate of 2026-03-31) = 1502.5 JPY"));
	assert_non_null(strstr(env_out, "rounded half_up to 0 decimals: 1503 JPY"));

	/* Down to the usage records, in local time. */
	assert_int_equal(billrun("explain", "--records", "acme", "2026-03"), 0);
	assert_non_null(strstr(env_out, "2026-03-01 00:30:00 voice_seconds"));
	assert_non_null(strstr(env_out, "2026-03-31 23:30:00 voice_seconds"));
	assert_null(strstr(env_out, "2026-04-01 00:30:00"));

	assert_int_equal(billrun("explain", "nobody", "2026-03"), 65);
	assert_non_null(strstr(env_out, "account 'nobody' has no rating for 2026-03"));
	assert_int_equal(billrun("explain", "acme", "March"), 64);
}

/* The amounts of charge `charge` in the current rating of a period,
 * joined by ",", or "none". */
static const char *charge_amounts(const char *account, const char *period, const char *charge)
{
	return q_text("SELECT coalesce(string_agg(amount::text, ',' ORDER BY line_no), 'none') FROM rated_lines_current "
		      "WHERE account_ext = '%s' AND period_local_start = '%s' AND charge = '%s'",
		      account, period, charge);
}

/* A charge's own effective_from / effective_to (plan "dated" of the
 * fixture card, every fee 31.00). Europe/Berlin, untaxed. March 2026 is
 * 743 h (1 March 00:00 CET .. 1 April 00:00 CEST), April 720 h. */
static void charges_with_their_own_dates(void **state)
{
	NEED_PG();
	char path[512];
	snprintf(path, sizeof(path), "%s/dated_accounts.csv", env_dir);
	assert_int_equal(test_write_file(path, "external_id,time_zone,anchor_day,currency,valid_from\n"
					       "dated,Europe/Berlin,1,EUR,2025-01-01\n"
					       "dated_late,Europe/Berlin,1,EUR,2025-01-01\n"),
			 0);
	assert_int_equal(billrun("accounts", "import", path), 0);
	snprintf(path, sizeof(path), "%s/dated_subscriptions.csv", env_dir);
	assert_int_equal(test_write_file(path, "account,plan,valid_from\n"
					       "dated,dated,2026-01-01\n"
					       "dated_late,dated,2026-03-12\n"),
			 0);
	assert_int_equal(billrun("subscriptions", "import", path), 0);
	usage("dated", "sms", "2026-03-20T10:00:00Z", "1", NULL);
	usage("dated", "sms", "2026-04-20T10:00:00Z", "1", NULL);
	usage("dated", "sms", "2026-04-21T10:00:00Z", "1", NULL);
	usage("dated", "api_calls", "2026-03-05T10:00:00Z", "2", NULL);
	usage("dated", "api_calls", "2026-03-20T10:00:00Z", "3", NULL);
	usage("dated", "api_calls", "2026-04-20T10:00:00Z", "7", NULL);
	run_period("month", "2026-03-01", "2026-04-01");
	run_period("month", "2026-04-01", "2026-05-01");

	/* March, prorated by the charge's own dates, in seconds like a plan
	 * change:
	 *   promo   to 15 March 00:00 CET: 336 h of 743: 31.00 x 336/743 = 14.0188  -> 14.02
	 *   support from 10 March 00:00 CET: 527 h of 743: 31.00 x 527/743 = 21.9879 -> 21.99
	 *   exact   dates equal to the period's bounds: the whole fee              31.00
	 *   ended   effective_to = the period's start: not in force, no line
	 *   april   effective_from = the period's end: no line */
	assert_string_equal(charge_amounts("dated", "2026-03-01", "promo"), "14.02");
	assert_string_equal(line_col("dated", "2026-03-01", 1, "proration_part::text"), "1209600.000000");
	assert_string_equal(charge_amounts("dated", "2026-03-01", "support"), "21.99");
	assert_string_equal(charge_amounts("dated", "2026-03-01", "exact"), "31.00");
	assert_string_equal(charge_amounts("dated", "2026-03-01", "ended"), "none");
	assert_string_equal(charge_amounts("dated", "2026-03-01", "april"), "none");
	/* prorate = false: in force on the segment's first day or not at all. */
	assert_string_equal(charge_amounts("dated", "2026-03-01", "flat_promo"), "31.00");
	assert_string_equal(charge_amounts("dated", "2026-03-01", "flat_support"), "none");
	/* Usage charges are judged on the usage segment's first day and price
	 * the whole period's usage: the api charge ending 15 March prices both
	 * March records (2 + 3), the sms charge from 10 March none of March's. */
	assert_string_equal(charge_amounts("dated", "2026-03-01", "api_to_15th"), "5.00");
	assert_string_equal(charge_amounts("dated", "2026-03-01", "sms_from_10th"), "none");
	/* The minimum is prorated by its own dates too: 31.00 x 336/743 =
	 * 14.0188 required, usage billed 5.00: true-up 9.0188 -> 9.02. */
	assert_string_equal(charge_amounts("dated", "2026-03-01", "commit_to_15th"), "9.02");
	assert_string_equal(total("dated", "2026-03-01"), "rated 112.03 0 112.03");

	/* April: exact ends at the period's start, april starts there. */
	assert_string_equal(charge_amounts("dated", "2026-04-01", "promo"), "none");
	assert_string_equal(charge_amounts("dated", "2026-04-01", "support"), "31.00");
	assert_string_equal(charge_amounts("dated", "2026-04-01", "exact"), "none");
	assert_string_equal(charge_amounts("dated", "2026-04-01", "april"), "31.00");
	assert_string_equal(charge_amounts("dated", "2026-04-01", "flat_promo"), "none");
	assert_string_equal(charge_amounts("dated", "2026-04-01", "flat_support"), "31.00");
	assert_string_equal(charge_amounts("dated", "2026-04-01", "sms_from_10th"), "2.00");
	assert_string_equal(charge_amounts("dated", "2026-04-01", "api_to_15th"), "none");
	assert_string_equal(charge_amounts("dated", "2026-04-01", "commit_to_15th"), "none");

	/* Subscribed from 12 March: the charge's dates and the segment meet.
	 *   promo   12 .. 15 March, 72 h:  31.00 x 72/743  = 3.0040  -> 3.00
	 *   support 12 March .. 1 April, 479 h: 31.00 x 479/743 = 19.9852 -> 19.99 */
	assert_string_equal(charge_amounts("dated_late", "2026-03-01", "promo"), "3.00");
	assert_string_equal(charge_amounts("dated_late", "2026-03-01", "support"), "19.99");
	assert_string_equal(charge_amounts("dated_late", "2026-03-01", "exact"), "19.99");
	assert_string_equal(charge_amounts("dated_late", "2026-03-01", "commit_to_15th"), "3.00");
}

static void app_role_cannot_rewrite_billing_history(void **state)
{
	NEED_PG();
	load_fixtures();
	acme_usage();
	run_period("month", "2026-03-01", "2026-04-01");
	static const char *const forbidden[] = {
		"UPDATE rated_lines SET amount = 0",
		"DELETE FROM rated_lines",
		"UPDATE ratings SET total = 0",
		"DELETE FROM ratings",
		"UPDATE agg_values SET value = 0",
		"DELETE FROM agg_snapshots",
		"UPDATE fx_rates SET rate = 1",
		"UPDATE subscriptions SET plan = 'basic' WHERE account_ext = 'acme'",
		"DELETE FROM subscriptions",
		"UPDATE accounts SET currency = 'USD' WHERE external_id = 'acme'",
		"DELETE FROM accounts",
		"UPDATE subscriptions SET valid_to = now() WHERE valid_to IS NOT NULL",
	};
	for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
		struct err e;
		err_clear(&e);
		if (db_exec(app, &e, forbidden[i], 0, NULL) == 0) {
			fprintf(stderr, "allowed: %s\n", forbidden[i]);
			fail();
		}
		assert_string_equal(e.sqlstate, "42501");
	}
	/* Closing the open row is the one change type 2 history allows. */
	struct err e;
	assert_int_equal(db_exec(app, &e, "UPDATE subscriptions SET valid_to = '2027-01-01' "
					  "WHERE account_ext = 'acme' AND valid_to IS NULL",
				 0, NULL),
			 0);
}

/* What the current snapshots of `accounts` (an SQL list) hold: every
 * count and value, as one digest. */
static const char *aggregates_of(const char *accounts)
{
	return q_text("SELECT count(*) || ' ' || md5(string_agg(concat_ws(' ', s.account_ext, s.period_local_start, "
		      "s.usage_records, s.usage_not_billable, s.usage_max_id, v.meter, v.aggregation, v.value, v.records, "
		      "v.quantity_raw, v.quantity_rounded), '; ' ORDER BY s.account_ext, s.period_local_start, v.meter)) "
		      "FROM agg_snapshots s LEFT JOIN agg_values v ON v.snapshot_id = s.id "
		      "WHERE s.account_ext IN (%s) AND s.id = (SELECT max(n.id) FROM agg_snapshots n "
		      "WHERE n.account_ext = s.account_ext AND n.period_local_start = s.period_local_start)",
		      accounts);
}

/* Dispute reruns of each account's March, adding up `source`. */
static void rerun_march(const char *source)
{
	env_cfg.aggregate_source = source;
	for (const char *const *a = (const char *const[]){ "acme", "tokyo", "eco", NULL }; *a; a++)
		run_job(&job_aggregate, new_run("month", "2026-03-01", "2026-04-01", *a, 0));
	env_cfg.aggregate_source = NULL;
}

/* The aggregate step adds up partial sums (023) where they apply and
 * recomputes from usage where they do not; aggregate.source = "usage"
 * recomputes everything from usage. On the same data both give the same
 * snapshots and values: sums with per-record rounding across a DST
 * change and period boundaries, a max, a unique count, late records; and
 * after the rate card's rounding changed (partials rounded the old way:
 * recomputed from usage) and after an account's anchor day changed (its
 * partials straddle the new periods: recomputed from usage). */
static void aggregate_from_partials_equals_aggregate_from_usage(void **state)
{
	NEED_PG();
	load_fixtures();
	acme_usage();
	usage("tokyo", "api_calls", "2026-03-10T01:00:00Z", "5000", NULL);
	usage("tokyo", "api_calls", "2026-03-31T14:59:59Z", "7", NULL);
	usage("tokyo", "api_calls", "2026-03-31T15:00:00Z", "9", NULL); /* 1 April in Tokyo */
	usage("eco", "voice_seconds", "2026-03-05T10:00:00Z", "650", NULL);
	run_period("month", "2026-03-01", "2026-04-01");
	/* a late record for March */
	usage("eco", "voice_seconds", "2026-03-06T10:00:00Z", "59", NULL);
	const char *accounts = "'acme', 'tokyo', 'eco'";

	rerun_march(NULL);
	char partials[128];
	snprintf(partials, sizeof(partials), "%s", aggregates_of(accounts));
	assert_true(atoi(partials) >= 8);
	rerun_march("usage");
	assert_string_equal(aggregates_of(accounts), partials);

	/* voice rounded to 45 s from now on */
	sql("UPDATE meters SET round_increment = 45 WHERE name = 'voice_seconds'");
	rerun_march(NULL);
	snprintf(partials, sizeof(partials), "%s", aggregates_of(accounts));
	assert_string_equal(q_text("SELECT v.quantity_rounded FROM agg_values v JOIN agg_snapshots s ON s.id = v.snapshot_id "
				   "WHERE s.account_ext = 'eco' AND v.meter = 'voice_seconds' ORDER BY s.id DESC LIMIT 1"),
			    "765"); /* 675 + 90 (with 60: 660 + 60) */
	rerun_march("usage");
	assert_string_equal(aggregates_of(accounts), partials);

	/* tokyo's periods from the 15th on */
	sql("UPDATE accounts SET valid_to = '2026-03-01' WHERE external_id = 'tokyo' AND valid_to IS NULL");
	sql("INSERT INTO accounts (external_id, valid_from, name, time_zone, anchor_day, currency, tax_jurisdiction) "
	    "SELECT external_id, '2026-03-01', name, time_zone, 15, currency, tax_jurisdiction FROM accounts "
	    "WHERE external_id = 'tokyo' AND valid_to = '2026-03-01'");
	rerun_march(NULL);
	snprintf(partials, sizeof(partials), "%s", aggregates_of(accounts));
	rerun_march("usage");
	assert_string_equal(aggregates_of(accounts), partials);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(month_priced_line_by_line, setup, teardown),
		cmocka_unit_test_setup_teardown(plan_change_prorated_across_dst, setup, teardown),
		cmocka_unit_test_setup_teardown(fx_conversion_and_tax_groups, setup, teardown),
		cmocka_unit_test_setup_teardown(meters_round_and_aggregate_per_record, setup, teardown),
		cmocka_unit_test_setup_teardown(unique_count_ignores_blank_values, setup, teardown),
		cmocka_unit_test_setup_teardown(focus_charge_categories_enter_only_meters_that_ask, setup, teardown),
		cmocka_unit_test_setup_teardown(nightly_runs_are_incremental_and_idempotent, setup, teardown),
		cmocka_unit_test_setup_teardown(held_accounts_wait_and_are_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(dispute_rerun_of_one_account, setup, teardown),
		cmocka_unit_test_setup_teardown(explain_prints_how_each_charge_was_computed, setup, teardown),
		cmocka_unit_test_setup_teardown(charges_with_their_own_dates, setup, teardown),
		cmocka_unit_test_setup_teardown(app_role_cannot_rewrite_billing_history, setup, teardown),
		cmocka_unit_test_setup_teardown(aggregate_from_partials_equals_aggregate_from_usage, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
