/*
 * test_partials.c - the ingest loader's partial sums (jobs/partials.c)
 * against their definition, billrun_file_partials() (migration 023),
 * which computes the same rows from a file's usage: on the same file both
 * must give the same rows, column for column. Covers per-record rounding
 * (voice_seconds rounds up to 60), FOCUS charge categories and costs,
 * unanswered Asterisk calls (not billable), files whose records fall in two
 * billing periods of an account (time zones with whole and half-hour
 * offsets, an anchor day inside the file), and the files the loader leaves
 * to the server (a record outside the periods it loaded, duplicates, an
 * unknown charge category), which the log names.
 */
#define INGEST_DB "test_partials"
#include "ingest_env.h"

static char logbuf[16384];

static long long q_int_p(const char *sql, const char *param)
{
	return atoll(q1(sql, param));
}

static long long file_id(const char *name)
{
	return q_int_p("SELECT id FROM ingest_files WHERE file_name = $1 ORDER BY id DESC LIMIT 1", name);
}

/* Rows of one side missing from the other, both ways, for file id. */
static long long differences(long long id)
{
	char sql[512], n[32];
	snprintf(n, sizeof(n), "%lld", id);
	snprintf(sql, sizeof(sql),
		 "SELECT (SELECT count(*) FROM (SELECT * FROM usage_partials WHERE file_id = $1::bigint "
		 "EXCEPT ALL SELECT * FROM billrun_file_partials($1::bigint)) a) + "
		 "(SELECT count(*) FROM (SELECT * FROM billrun_file_partials($1::bigint) "
		 "EXCEPT ALL SELECT * FROM usage_partials WHERE file_id = $1::bigint) b)");
	return q_int_p(sql, n);
}

static long long partial_rows(long long id)
{
	char n[32];
	snprintf(n, sizeof(n), "%lld", id);
	return q_int_p("SELECT count(*) FROM usage_partials WHERE file_id = $1::bigint", n);
}

static void add_account_in(const char *ext, const char *zone, int anchor)
{
	char sql[512];
	snprintf(sql, sizeof(sql),
		 "INSERT INTO accounts (external_id, valid_from, time_zone, anchor_day, currency) "
		 "VALUES ('%s', '2000-01-01', '%s', %d, 'EUR') ON CONFLICT DO NOTHING", ext, zone, anchor);
	PQclear(PQexec(conn, sql));
}

#define LEFT_TO_SERVER "computed from its usage rows"

static void test_usage_csv_with_rounding_and_two_periods(void **state)
{
	char spool[256];
	make_spool(spool, sizeof(spool));
	/* Berlin, anchor 15: a period starts at 2026-01-14T23:00Z. Kolkata
	 * (+05:30), anchor 16: one starts at 2026-01-15T18:30Z. */
	add_account_in("p-berlin", "Europe/Berlin", 15);
	add_account_in("p-kolkata", "Asia/Kolkata", 16);
	put_file(spool, "usage-p1.csv", USAGE_HEADER
		 "p1-1,acct-1,voice_seconds,2026-01-15T10:00:00Z,61,x\n"
		 "p1-2,acct-1,voice_seconds,2026-01-15T10:01:00Z,120,x\n"
		 "p1-3,acct-1,voice_seconds,2026-01-15T10:02:00Z,59.5,x\n"
		 "p1-4,acct-1,voice_seconds,2026-01-15T10:03:00Z,0,x\n"
		 "p1-5,acct-1,api_calls,2026-01-15T10:04:00Z,3,x\n"
		 "p1-6,acct-1,credits,2026-01-15T10:05:00Z,-2.25,x\n"
		 "p1-7,p-berlin,voice_seconds,2026-01-14T22:59:59Z,1,x\n"
		 "p1-8,p-berlin,voice_seconds,2026-01-14T23:00:00Z,61.5,x\n"
		 "p1-9,p-berlin,voice_seconds,2026-01-15T23:00:00Z,7,x\n"
		 "p1-10,p-kolkata,api_calls,2026-01-15T18:29:59.999999Z,5,x\n"
		 "p1-11,p-kolkata,api_calls,2026-01-15T18:30:00Z,6,x\n"
		 "p1-12,p-kolkata,api_calls,2026-01-15T18:30:00Z,7,x\n");
	if (ingest_logged(spool, "{ name = \"p1\"; format = \"usage-csv\"; pattern = \"usage-p1*.csv\"; }", logbuf,
			  sizeof(logbuf)))
		fail_msg("ingest failed: %s", last_err.message);
	assert_file("usage-p1.csv", 12, 12, 0, 0);
	/* the loader's own partials, not the server's */
	assert_null(strstr(logbuf, LEFT_TO_SERVER));
	long long id = file_id("usage-p1.csv");
	assert_int_equal(differences(id), 0);
	/* acct-1: voice, api, credits; berlin and kolkata: two periods each */
	assert_int_equal(partial_rows(id), 7);
	assert_string_equal(q1("SELECT quantity || ' ' || quantity_rounded || ' ' || rounded_max || ' ' || records || ' ' "
			       "|| latest_rounded FROM usage_partials WHERE account_ext = 'acct-1' AND meter = $1",
			       "voice_seconds"),
			    "240.5 300.0 120 4 0");
	assert_string_equal(q1("SELECT string_agg(records::text, ',' ORDER BY first_event) FROM usage_partials "
			       "WHERE account_ext = $1", "p-kolkata"),
			    "1,2");
}

/* The mixed FOCUS fixture moved into the run's month as spool/name,
 * without the line it holds twice (a duplicate is the server's to find),
 * its first Credit spelt `credit`. */
static void put_focus_in_january(const char *spool, const char *name, const char *credit)
{
	char cmd[2048], out[256];
	snprintf(cmd, sizeof(cmd),
		 "sed -e 's/2024-09-/2026-01-/g' -e 's/2024-10-01/2026-02-01/g' -e '0,/\"Credit\"/s//\"%s\"/' "
		 "'%s' | awk '!seen[$0]++' > '%s/%s'",
		 credit, test_src("tests/fixtures/ingest/focus_mixed.csv"), spool, name);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
}

static void test_focus_categories_and_costs(void **state)
{
	char spool[256];
	make_spool(spool, sizeof(spool));
	/* one Credit spelt in lower case */
	put_focus_in_january(spool, "focus-p2.csv", "credit");
	if (ingest_logged(spool, "{ name = \"p2\"; format = \"focus\"; pattern = \"focus-p2*.csv\"; meter_prefix = \"cloud.\"; }", logbuf, sizeof(logbuf)))
		fail_msg("ingest failed: %s", last_err.message);
	assert_null(strstr(logbuf, LEFT_TO_SERVER));
	long long id = file_id("focus-p2.csv");
	assert_true(partial_rows(id) > 0);
	assert_int_equal(differences(id), 0);
	assert_true(q_int("SELECT count(*) FROM usage_partials WHERE category = 'Credit' AND cost < 0") > 0);
	assert_true(q_int("SELECT count(*) FROM usage_partials WHERE category = 'Usage' AND currency_min = 'USD'") > 0);
}

static void test_unanswered_calls(void **state)
{
	char spool[256], cmd[1024], out[256];
	make_spool(spool, sizeof(spool));
	/* the fixture's first three calls: one answered, two not */
	snprintf(cmd, sizeof(cmd), "head -n 3 '%s' > '%s/Master-p3.csv'",
		 test_src("tests/fixtures/ingest/asterisk_master.csv"), spool);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	if (ingest_logged(spool, "{ name = \"p3\"; format = \"asterisk-cdr\"; pattern = \"Master-p3*.csv\"; "
				 "time_zone = \"Europe/Berlin\"; }", logbuf, sizeof(logbuf)))
		fail_msg("ingest failed: %s", last_err.message);
	assert_file("Master-p3.csv", 3, 3, 0, 0);
	assert_null(strstr(logbuf, LEFT_TO_SERVER));
	long long id = file_id("Master-p3.csv");
	assert_int_equal(differences(id), 0);
	char n[32];
	snprintf(n, sizeof(n), "%lld", id);
	assert_string_equal(q1("SELECT sum(records) || ' ' || sum(billable) FROM usage_partials WHERE file_id = $1::bigint", n),
			    "3 1");
}

static void test_files_left_to_the_server(void **state)
{
	char spool[256];
	make_spool(spool, sizeof(spool));
	/* a record months after the run's period: no period loaded for it */
	put_file(spool, "usage-p4a.csv", USAGE_HEADER
		 "p4-1,acct-2,voice_seconds,2026-01-15T10:00:00Z,61,x\n"
		 "p4-2,acct-2,voice_seconds,2026-06-01T10:00:00Z,62,x\n");
	if (ingest_logged(spool, "{ name = \"p4\"; format = \"usage-csv\"; pattern = \"usage-p4*.csv\"; }", logbuf, sizeof(logbuf)))
		fail_msg("ingest failed: %s", last_err.message);
	assert_non_null(strstr(logbuf, LEFT_TO_SERVER));
	assert_non_null(strstr(logbuf, "outside the billing periods"));
	long long id = file_id("usage-p4a.csv");
	assert_int_equal(partial_rows(id), 2);
	assert_int_equal(differences(id), 0);

	/* a record sent again: the staged pass */
	put_file(spool, "usage-p4b.csv", USAGE_HEADER
		 "p4-1,acct-2,voice_seconds,2026-01-15T10:00:00Z,61,x\n"
		 "p4-3,acct-2,voice_seconds,2026-01-15T11:00:00Z,1,x\n");
	if (ingest_logged(spool, "{ name = \"p4\"; format = \"usage-csv\"; pattern = \"usage-p4*.csv\"; }", logbuf, sizeof(logbuf)))
		fail_msg("ingest failed: %s", last_err.message);
	assert_file("usage-p4b.csv", 2, 1, 0, 1);
	assert_non_null(strstr(logbuf, "the server chose which of its rows were new"));
	id = file_id("usage-p4b.csv");
	assert_int_equal(partial_rows(id), 1);
	assert_int_equal(differences(id), 0);
	char n[32];
	snprintf(n, sizeof(n), "%lld", id);
	assert_string_equal(q1("SELECT records || ' ' || quantity_rounded FROM usage_partials WHERE file_id = $1::bigint", n),
			    "1 60");
}

static void test_unknown_charge_category(void **state)
{
	char spool[256];
	make_spool(spool, sizeof(spool));
	put_focus_in_january(spool, "focus-p5.csv", "Refund");
	if (ingest_logged(spool, "{ name = \"p5\"; format = \"focus\"; pattern = \"focus-p5*.csv\"; meter_prefix = \"cloud.\"; }", logbuf, sizeof(logbuf)))
		fail_msg("ingest failed: %s", last_err.message);
	assert_non_null(strstr(logbuf, LEFT_TO_SERVER));
	assert_non_null(strstr(logbuf, "a ChargeCategory that is none of"));
	long long id = file_id("focus-p5.csv");
	assert_int_equal(differences(id), 0);
	assert_int_equal(q_int("SELECT count(*) FROM usage_partials WHERE category = 'Refund'"), 1);
}

#define T(f) cmocka_unit_test_setup(f, skip_without_pg)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_usage_csv_with_rounding_and_two_periods),
		T(test_focus_categories_and_costs),
		T(test_unanswered_calls),
		T(test_files_left_to_the_server),
		T(test_unknown_charge_category),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
