/*
 * test_periods.c - per-account billing periods in PostgreSQL's calendar
 * (005_rating.sql: billing_periods and friends) and the reference data
 * imports that feed them: DST changes, anchor day 31 in February, an
 * account that changes time zone, and the accounts / subscriptions / fx
 * import commands with their errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rating_env.h"

static int setup(void **state)
{
	return env_setup("test_periods");
}

static int teardown(void **state)
{
	return env_teardown();
}

/* The periods of an account overlapping [from, to) as
 * "start..end (hours)" joined by ", ". */
static const char *periods(const char *account, const char *from, const char *to)
{
	return q_text("SELECT string_agg(local_start || '..' || local_end || ' (' || "
		      "(extract(epoch FROM end_at - start_at) / 3600)::int || 'h)', ', ' ORDER BY start_at) "
		      "FROM billing_periods('%s', '%s', '%s')",
		      account, from, to);
}

static void write_csv(const char *name, const char *text, char *path, size_t size)
{
	snprintf(path, size, "%s/%s", env_dir, name);
	assert_int_equal(test_write_file(path, text), 0);
}

static void dst_changes_the_length_of_a_period(void **state)
{
	NEED_PG();
	import("accounts", "accounts.csv");
	/* Europe/Berlin: March loses an hour (29 March 2026), October gains
	 * one (25 October); midnight stays midnight. */
	assert_string_equal(periods("acme", "2026-02-15", "2026-04-15"),
			    "2026-02-01..2026-03-01 (672h), 2026-03-01..2026-04-01 (743h), 2026-04-01..2026-05-01 (720h)");
	assert_string_equal(periods("acme", "2026-10-15", "2026-10-16"), "2026-10-01..2026-11-01 (745h)");
	assert_string_equal(q_text("SELECT start_at || ' ' || end_at FROM billing_period_at('acme', '2026-03-15')"),
			    "2026-02-28 23:00:00+00 2026-03-31 22:00:00+00");
	/* Asia/Tokyo has no DST: 744 h. */
	assert_string_equal(periods("tokyo", "2026-03-15", "2026-03-16"), "2026-03-01..2026-04-01 (744h)");
}

static void anchor_day_31_bills_on_the_last_day(void **state)
{
	NEED_PG();
	import("accounts", "accounts.csv");
	/* eom was imported with anchor_day 31: stored as 0, the last day. */
	assert_string_equal(q_text("SELECT anchor_day FROM accounts WHERE external_id = 'eom'"), "0");
	/* Jan 31 -> Feb 28 -> Mar 31 -> Apr 30; New York's DST (8 March)
	 * shortens the second. */
	assert_string_equal(periods("eom", "2026-02-01", "2026-04-15"),
			    "2026-01-31..2026-02-28 (672h), 2026-02-28..2026-03-31 (743h), 2026-03-31..2026-04-30 (720h)");
	/* A leap year: 29 February. */
	assert_string_equal(periods("eom", "2028-02-15", "2028-02-28"), "2028-01-31..2028-02-29 (696h)");
	/* The local last day of February at 23:59 in New York is already the
	 * next period. */
	assert_string_equal(q_text("SELECT local_start FROM billing_period_at('eom', '2026-02-28T04:59:00Z')"),
			    "2026-01-31");
	assert_string_equal(q_text("SELECT local_start FROM billing_period_at('eom', '2026-02-28T05:00:00Z')"),
			    "2026-02-28");

	/* Anchor 15: 15th to 15th. */
	sql("INSERT INTO accounts (external_id, valid_from, time_zone, anchor_day, currency) "
	    "VALUES ('mid', '2025-01-01', 'UTC', 15, 'EUR')");
	assert_string_equal(periods("mid", "2026-02-20", "2026-03-20"),
			    "2026-02-15..2026-03-15 (672h), 2026-03-15..2026-04-15 (744h)");
}

static void a_record_falls_in_its_local_period(void **state)
{
	NEED_PG();
	import("accounts", "accounts.csv");
	/* 31 March 2026 22:30 UTC is 1 April in Berlin and Tokyo, still
	 * 31 March in New York. */
	assert_string_equal(q_text("SELECT local_start FROM billing_period_at('acme', '2026-03-31T22:30:00Z')"),
			    "2026-04-01");
	assert_string_equal(q_text("SELECT local_start FROM billing_period_at('tokyo', '2026-03-31T22:30:00Z')"),
			    "2026-04-01");
	assert_string_equal(q_text("SELECT local_start FROM billing_period_at('eom', '2026-03-31T22:30:00Z')"),
			    "2026-03-31");
	assert_string_equal(q_text("SELECT local_start FROM billing_period_at('acme', '2026-03-31T21:59:59.999999Z')"),
			    "2026-03-01");
	assert_string_equal(q_text("SELECT count(*) FROM billing_period_at('nobody', now())"), "0");
}

static void an_account_that_changes_time_zone(void **state)
{
	NEED_PG();
	char path[512];
	/* mover: New York until 10 March 2026 12:00 UTC, then Berlin. The
	 * March period starts at New York's midnight and ends at Berlin's:
	 * 1 March 05:00 UTC .. 31 March 22:00 UTC = 737 h. */
	write_csv("a.csv",
		  "external_id,time_zone,anchor_day,currency,valid_from\n"
		  "mover,America/New_York,1,USD,2025-01-01\n",
		  path, sizeof(path));
	assert_int_equal(billrun("accounts", "import", path), 0);
	write_csv("b.csv",
		  "external_id,time_zone,anchor_day,currency,valid_from\n"
		  "mover,Europe/Berlin,1,EUR,2026-03-10T12:00:00Z\n",
		  path, sizeof(path));
	assert_int_equal(billrun("accounts", "import", path), 0);
	assert_non_null(strstr(env_out, "0 new, 1 changed"));
	assert_int_equal(q_int("SELECT count(*) FROM accounts WHERE external_id = 'mover'"), 2);
	assert_string_equal(periods("mover", "2026-02-15", "2026-04-15"),
			    "2026-02-01..2026-03-01 (672h), 2026-03-01..2026-04-01 (737h), 2026-04-01..2026-05-01 (720h)");
	assert_string_equal(q_text("SELECT start_at || ' ' || end_at || ' ' || time_zone FROM billing_period_at('mover', "
				   "'2026-03-20')"),
			    "2026-03-01 05:00:00+00 2026-03-31 22:00:00+00 Europe/Berlin");
	/* Billed in the currency of the version in force at the period's end. */
	assert_string_equal(q_text("SELECT a.currency FROM billing_period_at('mover', '2026-03-05') p "
				   "JOIN accounts a ON a.id = p.account_id"),
			    "EUR");

	/* back: Berlin until 31 March 22:30 UTC (already 1 April there), then
	 * New York (still 31 March there). No period appears twice and none
	 * runs backwards: April starts at Berlin's midnight and ends at New
	 * York's. */
	write_csv("c.csv",
		  "external_id,time_zone,anchor_day,currency,valid_from\n"
		  "back,Europe/Berlin,1,EUR,2025-01-01\n",
		  path, sizeof(path));
	assert_int_equal(billrun("accounts", "import", path), 0);
	write_csv("d.csv",
		  "external_id,time_zone,anchor_day,currency,valid_from\n"
		  "back,America/New_York,1,EUR,2026-03-31T22:30:00Z\n",
		  path, sizeof(path));
	assert_int_equal(billrun("accounts", "import", path), 0);
	assert_string_equal(periods("back", "2026-03-15", "2026-05-15"),
			    "2026-03-01..2026-04-01 (743h), 2026-04-01..2026-05-01 (726h), 2026-05-01..2026-06-01 (744h)");

	/* Usage follows the periods: a record on each side of the change. */
	usage("mover", "sms", "2026-03-01T04:30:00Z", "1", NULL); /* 23:30 in New York: February */
	usage("mover", "sms", "2026-03-01T05:30:00Z", "1", NULL); /* March */
	usage("mover", "sms", "2026-03-31T21:30:00Z", "1", NULL); /* 23:30 in Berlin: March */
	usage("mover", "sms", "2026-03-31T22:30:00Z", "1", NULL); /* April in Berlin */
	run_period("day", "2026-04-01", "2026-04-02");
	assert_string_equal(q_text("SELECT string_agg(period_local_start || '=' || usage_records, ',' ORDER BY "
				   "period_local_start) FROM agg_snapshots WHERE account_ext = 'mover'"),
			    "2026-02-01=1,2026-03-01=2,2026-04-01=1");
}

/* jobs/RATING.md: a version's anchor instants count up to and including
 * its closing instant. Anchor 5 until 5 March 00:00 (Berlin), anchor 20
 * from then: 5 March is the old version's anchor, so February's period
 * ends there and the short period runs 5 to 20 March. */
static void an_anchor_change_at_an_old_anchor_instant(void **state)
{
	NEED_PG();
	char path[512];
	write_csv("a.csv",
		  "external_id,time_zone,anchor_day,currency,valid_from\n"
		  "fifth,Europe/Berlin,5,EUR,2025-01-01\n",
		  path, sizeof(path));
	assert_int_equal(billrun("accounts", "import", path), 0);
	write_csv("b.csv",
		  "external_id,time_zone,anchor_day,currency,valid_from\n"
		  "fifth,Europe/Berlin,20,EUR,2026-03-05\n",
		  path, sizeof(path));
	assert_int_equal(billrun("accounts", "import", path), 0);
	assert_string_equal(q_text("SELECT valid_to FROM accounts WHERE external_id = 'fifth' AND anchor_day = 5"),
			    "2026-03-04 23:00:00+00");
	assert_string_equal(periods("fifth", "2026-01-10", "2026-04-25"),
			    "2026-01-05..2026-02-05 (744h), 2026-02-05..2026-03-05 (672h), "
			    "2026-03-05..2026-03-20 (360h), 2026-03-20..2026-04-20 (743h), 2026-04-20..2026-05-20 (720h)");
	/* The period the old anchor closes is billed with the old version. */
	assert_string_equal(q_text("SELECT anchor_day FROM billing_periods('fifth', '2026-02-10', '2026-02-11')"), "5");
	assert_string_equal(q_text("SELECT anchor_day FROM billing_periods('fifth', '2026-03-10', '2026-03-11')"), "20");
}

static void accounts_import_checks_and_keeps_history(void **state)
{
	NEED_PG();
	char path[512];
	import("accounts", "accounts.csv");
	assert_non_null(strstr(env_out, "accounts: 6 new, 0 changed (a new version each), 0 unchanged"));
	assert_string_equal(q_text("SELECT name || '|' || cost_centre FROM accounts WHERE external_id = 'acme'"),
			    "ACME, Inc.|CC-100");
	/* valid_from is local midnight in the account's zone. */
	assert_string_equal(q_text("SELECT valid_from FROM accounts WHERE external_id = 'tokyo'"),
			    "2024-12-31 15:00:00+00");
	/* The same file again changes nothing. */
	import("accounts", "accounts.csv");
	assert_non_null(strstr(env_out, "0 new, 0 changed (a new version each), 6 unchanged"));

	struct {
		const char *csv, *message;
		int status;
	} bad[] = {
		{ "external_id,time_zone,anchor_day,currency\nx,Europe/Berlni,1,EUR\n",
		  "bad.csv:2: time zone 'Europe/Berlni' of account 'x' is not an IANA time zone name", 65 },
		{ "external_id,time_zone,anchor_day,currency\nx,UTC,1,EUR\ny,UTC,30,EUR\n",
		  "bad.csv:3: anchor_day '30' of account 'y' is not 1 to 28, 31 or last", 65 },
		{ "external_id,time_zone,anchor_day,currency\nx,UTC,1,EURO\n",
		  "bad.csv:2: currency 'EURO' of account 'x' is not an ISO 4217 code", 65 },
		{ "external_id,time_zone,anchor_day,currency,colour\n", "bad.csv:1: unknown column 'colour'", 65 },
		{ "external_id,time_zone,currency\n", "bad.csv:1: column 'anchor_day' is missing", 65 },
		{ "external_id,time_zone,anchor_day,currency,valid_from\nacme,Europe/Berlin,1,EUR,2024-06-01\n",
		  "bad.csv:2: account \"acme\" changes from", 65 },
		{ "external_id,time_zone,anchor_day,currency,valid_from\nz,UTC,1,EUR,2026-03-01 12:00\n",
		  "bad.csv:2: time \"2026-03-01 12:00\" has no UTC offset", 65 },
		{ "external_id,time_zone,anchor_day,currency\n\"x,UTC,1,EUR\n", "bad.csv:2: a quoted field is not closed",
		  65 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_csv("bad.csv", bad[i].csv, path, sizeof(path));
		int rc = billrun("accounts", "import", path);
		if (rc != bad[i].status || !strstr(env_out, bad[i].message)) {
			fprintf(stderr, "case %zu: exit %d\n%s", i, rc, env_out);
			fail();
		}
	}
	/* All rows or none: x of the anchor case was not kept. */
	assert_int_equal(q_int("SELECT count(*) FROM accounts WHERE external_id IN ('x', 'y', 'z')"), 0);

	/* A change adds a version and closes the previous one. */
	write_csv("ch.csv",
		  "external_id,name,time_zone,anchor_day,currency,tax_jurisdiction,cost_centre,valid_from\n"
		  "acme,\"ACME, Inc.\",Europe/Berlin,15,EUR,DE,CC-100,2026-06-15\n",
		  path, sizeof(path));
	assert_int_equal(billrun("accounts", "import", path), 0);
	assert_string_equal(q_text("SELECT string_agg(anchor_day || ':' || valid_from || '..' || coalesce(valid_to::text, "
				   "'open'), ', ' ORDER BY valid_from) FROM accounts WHERE external_id = 'acme'"),
			    "1:2024-12-31 23:00:00+00..2026-06-14 22:00:00+00, 15:2026-06-14 22:00:00+00..open");
	/* The anchor moves from the 1st to the 15th: June is cut short. */
	assert_string_equal(periods("acme", "2026-05-15", "2026-07-20"),
			    "2026-05-01..2026-06-01 (744h), 2026-06-01..2026-06-15 (336h), "
			    "2026-06-15..2026-07-15 (720h), 2026-07-15..2026-08-15 (744h)");

	assert_int_equal(billrun("accounts", "show", "acme"), 0);
	assert_non_null(strstr(env_out, "zone Europe/Berlin  anchor 15"));
	assert_int_equal(billrun("accounts", "periods", "eom", "2026-02-01", "2026-03-01"), 0);
	assert_non_null(strstr(env_out, "2026-01-31  2026-02-28  2026-01-31T05:00:00Z  2026-02-28T05:00:00Z    672"));
	assert_int_equal(billrun("accounts", "show", "nobody"), 65);
}

static void subscriptions_import_keeps_type_2_history(void **state)
{
	NEED_PG();
	char path[512];
	import("accounts", "accounts.csv");
	import("subscriptions", "subscriptions.csv");
	assert_non_null(strstr(env_out, "subscriptions: 5 new, 1 changed, 0 unchanged"));
	/* dst: basic closed at local midnight of 16 March (CET), pro open. */
	assert_string_equal(q_text("SELECT string_agg(plan || ' ' || valid_from || '..' || coalesce(valid_to::text, "
				   "'open'), ', ' ORDER BY valid_from) FROM subscriptions WHERE account_ext = 'dst'"),
			    "basic 2025-12-31 23:00:00+00..2026-03-15 23:00:00+00, pro 2026-03-15 23:00:00+00..open");
	import("subscriptions", "subscriptions.csv");
	assert_non_null(strstr(env_out, "0 new, 0 changed, 6 unchanged"));

	struct {
		const char *csv, *message;
	} bad[] = {
		{ "account,plan,valid_from\nacme,gold,2026-05-01\n", "bad.csv:2: plan 'gold' is not in the rate card" },
		{ "account,plan,valid_from\nnobody,basic,2026-05-01\n", "bad.csv:2: account \"nobody\" is not known" },
		{ "account,plan,valid_from\nacme,basic,2025-12-01\n", "bad.csv:2: subscription of \"acme\" from" },
		{ "account,plan,valid_from,valid_to\neom,basic,2026-05-01,2026-04-01\n", "ends" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_csv("bad.csv", bad[i].csv, path, sizeof(path));
		int rc = billrun("subscriptions", "import", path);
		if (rc == 0 || !strstr(env_out, bad[i].message)) {
			fprintf(stderr, "case %zu: exit %d\n%s", i, rc, env_out);
			fail();
		}
	}
	/* The open plan again with a later valid_from: the same row in all but
	 * its start (a subscription has no other attribute), so nothing new;
	 * with a valid_to it differs, and is a new version ending then. */
	write_csv("same.csv", "account,plan,valid_from\neco,basic,2026-05-01\n", path, sizeof(path));
	assert_int_equal(billrun("subscriptions", "import", path), 0);
	assert_non_null(strstr(env_out, "0 new, 0 changed, 1 unchanged"));
	assert_int_equal(q_int("SELECT count(*) FROM subscriptions WHERE account_ext = 'eco'"), 1);
	write_csv("until.csv", "account,plan,valid_from,valid_to\neco,basic,2026-05-01,2026-09-01\n", path,
		  sizeof(path));
	assert_int_equal(billrun("subscriptions", "import", path), 0);
	assert_non_null(strstr(env_out, "0 new, 1 changed, 0 unchanged"));
	assert_string_equal(q_text("SELECT string_agg(plan || ' ' || valid_from || '..' || coalesce(valid_to::text, "
				   "'open'), ', ' ORDER BY valid_from) FROM subscriptions WHERE account_ext = 'eco'"),
			    "basic 2025-12-31 23:00:00+00..2026-04-30 22:00:00+00, "
			    "basic 2026-04-30 22:00:00+00..2026-08-31 22:00:00+00");
	assert_int_equal(billrun("subscriptions", "import", path), 0); /* and again: already there */
	assert_non_null(strstr(env_out, "0 new, 0 changed, 1 unchanged"));

	/* An empty plan ends the subscription. */
	write_csv("end.csv", "account,plan,valid_from\nacme,,2026-07-01\n", path, sizeof(path));
	assert_int_equal(billrun("subscriptions", "import", path), 0);
	assert_string_equal(q_text("SELECT valid_to FROM subscriptions WHERE account_ext = 'acme'"),
			    "2026-06-30 22:00:00+00");
	assert_int_equal(q_int("SELECT count(*) FROM subscriptions WHERE account_ext = 'acme'"), 1);
}

static void fx_import(void **state)
{
	NEED_PG();
	char path[512];
	import("fx", "fx.csv");
	assert_non_null(strstr(env_out, "fx rates: 5 added, 0 already there"));
	import("fx", "fx.csv");
	assert_non_null(strstr(env_out, "fx rates: 0 added, 5 already there")); /* 149.50 does not undo 150.25 */
	assert_string_equal(q_text("SELECT rate FROM fx_rates WHERE base = 'USD' AND quote = 'JPY' "
				   "AND as_of = '2026-03-31' ORDER BY id DESC LIMIT 1"),
			    "150.25");
	write_csv("bad.csv", "date,base,quote,rate\n2026-03-31,USD,EUR,0.9a\n", path, sizeof(path));
	assert_int_equal(billrun("fx", "import", path), 65);
	assert_non_null(strstr(env_out, "bad.csv:2: rate '0.9a' is not a positive decimal number"));
	write_csv("bad.csv", "date,base,quote,rate\n2026-02-30,USD,EUR,0.9\n", path, sizeof(path));
	assert_int_equal(billrun("fx", "import", path), 65);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(dst_changes_the_length_of_a_period, setup, teardown),
		cmocka_unit_test_setup_teardown(anchor_day_31_bills_on_the_last_day, setup, teardown),
		cmocka_unit_test_setup_teardown(a_record_falls_in_its_local_period, setup, teardown),
		cmocka_unit_test_setup_teardown(an_account_that_changes_time_zone, setup, teardown),
		cmocka_unit_test_setup_teardown(an_anchor_change_at_an_old_anchor_instant, setup, teardown),
		cmocka_unit_test_setup_teardown(accounts_import_checks_and_keeps_history, setup, teardown),
		cmocka_unit_test_setup_teardown(subscriptions_import_keeps_type_2_history, setup, teardown),
		cmocka_unit_test_setup_teardown(fx_import, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
