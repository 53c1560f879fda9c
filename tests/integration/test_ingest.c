/*
 * test_ingest.c - the ingest step against a real PostgreSQL: every format's
 * fixtures with good, bad and duplicate records, one test per reason code,
 * the FOCUS sample (every row accounted for, BilledCost exact), the meters
 * from the rate card and the privileges of the application role. The
 * spool's side (repeats of files and records, control files, a crash in a
 * file, cut, unsettled and open files, the moves) is test_ingest_files.c.
 * Conservation (read = accepted + quarantined + duplicates, and the rows
 * really in usage and quarantine_records) is asserted for every file
 * ingested.
 */
#define INGEST_DB "test_ingest"
#include "ingest_env.h"

/* ---- one test per reason code ---- */

/*
 * Ingest a file of format holding content (a good record and a bad one
 * at bad_line), and check the bad one got reason with its raw text.
 */
static void reason_case(const char *format, const char *opts, const char *reason, const char *content,
			size_t len, int bad_line, long long read, const char *raw)
{
	char spool[256], name[128], sources[512];
	make_spool(spool, sizeof(spool));
	snprintf(name, sizeof(name), "reason-%s.csv", reason);
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", spool, name);
	write_bytes(path, content, len);
	snprintf(sources, sizeof(sources), "{ name = \"r_%s\"; format = \"%s\"; pattern = \"reason-*\"; %s }", reason,
		 format, opts ? opts : "");
	ingest_ok(spool, sources);
	assert_file(name, read, read - 1, 1, 0);
	assert_string_equal(reason_at(name, bad_line), reason);
	if (raw) {
		const char *p[] = { name };
		assert_string_equal(q_text("SELECT q.raw FROM quarantine_records q JOIN ingest_files f ON f.id = q.file_id "
					   "WHERE f.file_name = $1", 1, p), raw);
	}
	const char *p[] = { name };
	/* every quarantined record has its message, source and run */
	assert_string_equal(q_text("SELECT bool_and(q.message <> '' AND q.source = f.source AND q.run_id = f.run_id) "
				   "FROM quarantine_records q JOIN ingest_files f ON f.id = q.file_id WHERE f.file_name = $1",
				   1, p), "t");
}

#define CASE(format, opts, reason, text, line, raw) \
	reason_case(format, opts, reason, text, sizeof(text) - 1, line, 2, raw)

static void test_reason_malformed_csv(void **state)
{
	CASE("usage-csv", NULL, "malformed_csv",
	     USAGE_HEADER "q1,acct-1,api_calls,2026-01-15T10:00:00Z,1,ok\n"
	     "q2,acct-1,api_calls,2026-01-15T10:00:00Z,1,\"a\"b\n", 3, "q2,acct-1,api_calls,2026-01-15T10:00:00Z,1,\"a\"b");
}

static void test_reason_wrong_column_count(void **state)
{
	CASE("usage-csv", NULL, "wrong_column_count",
	     USAGE_HEADER "w1,acct-1,api_calls,2026-01-15T10:00:00Z,1,ok\nw2,acct-1,api_calls,2026-01-15T10:00:00Z,1\n",
	     3, "w2,acct-1,api_calls,2026-01-15T10:00:00Z,1");
}

static void test_reason_record_too_long(void **state)
{
	size_t big = 1100 * 1024;
	char *text = malloc(big + 512);
	int n = snprintf(text, 512, USAGE_HEADER "l1,acct-1,api_calls,2026-01-15T10:00:00Z,1,");
	memset(text + n, 'x', big);
	n += (int)big;
	n += snprintf(text + n, 512, "\nl2,acct-1,api_calls,2026-01-15T10:00:00Z,1,ok\n");
	reason_case("usage-csv", NULL, "record_too_long", text, (size_t)n, 2, 2, NULL);
	assert_int_equal(q_int("SELECT length(raw) FROM quarantine_records WHERE source = 'r_record_too_long'"),
			 1024 * 1024);
	assert_int_equal(q_int("SELECT count(*) FROM quarantine_records WHERE source = 'r_record_too_long' "
			       "AND raw_truncated"), 1);
	free(text);
}

static void test_reason_field_too_long(void **state)
{
	char text[8192];
	int n = snprintf(text, sizeof(text), USAGE_HEADER "f1,acct-1,api_calls,2026-01-15T10:00:00Z,1,");
	memset(text + n, 'y', 5000);
	n += 5000;
	n += snprintf(text + n, sizeof(text) - (size_t)n, "\nf2,acct-1,api_calls,2026-01-15T10:00:00Z,1,ok\n");
	reason_case("usage-csv", NULL, "field_too_long", text, (size_t)n, 2, 2, NULL);
}

static void test_reason_invalid_utf8(void **state)
{
	CASE("usage-csv", NULL, "invalid_utf8",
	     USAGE_HEADER "u1,acct-1,api_calls,2026-01-15T10:00:00Z,1,ok\nu2,acct-1,api_calls,2026-01-15T10:00:00Z,1,caf\xE9\n",
	     3, "u2,acct-1,api_calls,2026-01-15T10:00:00Z,1,caf\\xe9");
	/* the exact bytes are kept too */
	assert_string_equal(q1("SELECT encode(raw_bytes, 'escape') FROM quarantine_records WHERE source = $1",
			       "r_invalid_utf8"),
			    "u2,acct-1,api_calls,2026-01-15T10:00:00Z,1,caf\\351");
}

static void test_reason_bad_header(void **state)
{
	char spool[256];
	make_spool(spool, sizeof(spool));
	put_fixture(spool, "usage_bad_header.csv", "hdr-1.csv");
	ingest_ok(spool, "{ name = \"r_bad_header\"; format = \"usage-csv\"; pattern = \"hdr-*\"; }");
	assert_file("hdr-1.csv", 2, 0, 2, 0);
	assert_string_equal(reason_at("hdr-1.csv", 2), "bad_header");
	assert_string_equal(reason_at("hdr-1.csv", 3), "bad_header");
	assert_non_null(strstr(q1("SELECT header_problem FROM ingest_files WHERE file_name = $1", "hdr-1.csv"),
			       "no column 'quantity'"));
}

static void test_reason_missing_field(void **state)
{
	CASE("usage-csv", NULL, "missing_field",
	     USAGE_HEADER "m1,acct-1,api_calls,2026-01-15T10:00:00Z,1,ok\nm2,acct-1,api_calls,2026-01-15T10:00:00Z,,ok\n",
	     3, NULL);
}

static void test_reason_bad_number(void **state)
{
	CASE("usage-csv", NULL, "bad_number",
	     USAGE_HEADER "n1,acct-1,api_calls,2026-01-15T10:00:00Z,1,ok\nn2,acct-1,api_calls,2026-01-15T10:00:00Z,1.5.0,ok\n",
	     3, NULL);
}

static void test_reason_negative_quantity(void **state)
{
	/* api_calls allows no credits; 'credits' does (rates.conf), and a
	 * source's credit_meters adds more */
	CASE("usage-csv", NULL, "negative_quantity",
	     USAGE_HEADER "g1,acct-1,credits,2026-01-15T10:00:00Z,-1,ok\ng2,acct-1,api_calls,2026-01-15T10:00:00Z,-1,ok\n",
	     3, NULL);
	char spool[256];
	make_spool(spool, sizeof(spool));
	put_file(spool, "credit-1.csv", USAGE_HEADER "g3,acct-1,api_calls,2026-01-15T10:00:00Z,-1,ok\n");
	ingest_ok(spool, "{ name = \"r_credit\"; format = \"usage-csv\"; pattern = \"credit-*\"; "
			 "credit_meters = [\"api_calls\"]; }");
	assert_file("credit-1.csv", 1, 1, 0, 0);
}

static void test_reason_bad_timestamp(void **state)
{
	CASE("usage-csv", NULL, "bad_timestamp",
	     USAGE_HEADER "t1,acct-1,api_calls,2026-01-15T10:00:00Z,1,ok\nt2,acct-1,api_calls,2026-01-15T10:00:00,1,ok\n",
	     3, NULL);
}

static void test_reason_timestamp_out_of_range(void **state)
{
	CASE("usage-csv", NULL, "timestamp_out_of_range",
	     USAGE_HEADER "o1,acct-1,api_calls,2019-12-31T23:59:59Z,1,ok\no2,acct-1,api_calls,2026-01-15T10:00:00Z,1,ok\n",
	     2, NULL);
}

static void test_reason_unknown_account(void **state)
{
	CASE("usage-csv", NULL, "unknown_account",
	     USAGE_HEADER "a1,acct-1,api_calls,2026-01-15T10:00:00Z,1,ok\na2,nobody,api_calls,2026-01-15T10:00:00Z,1,ok\n",
	     3, NULL);
	assert_string_equal(q1("SELECT account_ext FROM quarantine_records WHERE source = $1", "r_unknown_account"),
			    "nobody");
}

static void test_reason_unknown_meter(void **state)
{
	CASE("usage-csv", NULL, "unknown_meter",
	     USAGE_HEADER "k1,acct-1,api_calls,2026-01-15T10:00:00Z,1,ok\nk2,acct-1,api_kalls,2026-01-15T10:00:00Z,1,ok\n",
	     3, NULL);
}

static void test_reason_bad_json(void **state)
{
	CASE("focus", "meter = \"cloud_cost\";", "bad_json",
	     FOCUS_HEADER "1.5,USD,2024-09-01 00:00:00,1,S3,43883916739,\"{\"\"a\"\": 1}\"\n"
	     "1.5,USD,2024-09-01 00:00:00,2,S3,43883916739,\"{\"\"a\"\": }\"\n",
	     3, NULL);
}

static void test_reason_bad_currency(void **state)
{
	CASE("focus", "meter = \"cloud_cost\";", "bad_currency",
	     FOCUS_HEADER "1.5,EUR,2024-09-01 00:00:00,1,S3,43883916739,NULL\n1.5,E,2024-09-01 00:00:00,1,S3,43883916739,NULL\n",
	     3, NULL);
}

/* ---- the formats' fixtures ---- */

static void test_usage_csv_values(void **state)
{
	char spool[256];
	make_spool(spool, sizeof(spool));
	put_fixture(spool, "usage_good.csv", "usage-good.csv");
	ingest_ok(spool, "{ name = \"u_good\"; format = \"usage-csv\"; pattern = \"usage-*.csv\"; }");
	assert_file("usage-good.csv", 5, 5, 0, 0);
	assert_string_equal(q1("SELECT string_agg(event_key || '|' || account_ext || '|' || meter || '|' || quantity || '|' "
			       "|| to_char(event_time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '|' || line_no "
			       "|| '|' || attributes::text, ';' ORDER BY event_key) FROM usage WHERE source = $1",
			       "u_good"),
			    "e-001|acct-1|api_calls|10|2026-01-15 10:00:00.000000|2|{\"region\": \"eu\"};"
			    "e-002|acct-2|api_calls|2.5|2026-01-15 09:00:01.000000|3|{\"region\": \"us\"};"
			    "e-003|acct-1|storage_gb|100.000001|2026-01-15 10:00:02.123456|4|{\"region\": \"eu\"};"
			    "e-004|acct-3|voice_seconds|61|2026-01-15 15:00:03.000000|5|{\"region\": \"quoted, \\\"region\\\"\"};"
			    "e-005|acct-2|credits|-5|2026-01-15 10:00:04.000000|6|{\"region\": \"eu\"}");
	assert_string_equal(q1("SELECT read_totals::text FROM ingest_files WHERE file_name = $1", "usage-good.csv"),
			    "{\"credits\": \"-5\", \"api_calls\": \"12.5\", \"storage_gb\": \"100.000001\", "
			    "\"voice_seconds\": \"61\"}");
	/* moved to processed/ after the commit */
	assert_false(exists(spool, "usage-good.csv"));
	char processed[512];
	snprintf(processed, sizeof(processed), "%s/processed", spool);
	assert_true(exists(processed, "usage-good.csv"));
	/* the step's done mark */
	assert_int_equal(q_int("SELECT count(*) FROM run_steps WHERE run_id = %lld AND status = 'success'",
			       (long long)last_run), 1);
}

static void test_usage_csv_mixed(void **state)
{
	/* CRLF, a quoted line break, a blank line, bad records, a key twice */
	char spool[256];
	make_spool(spool, sizeof(spool));
	put_fixture(spool, "usage_mixed.csv", "usage-mixed.csv");
	ingest_ok(spool, "{ name = \"u_mixed\"; format = \"usage-csv\"; pattern = \"usage-*.csv\"; }");
	assert_file("usage-mixed.csv", 8, 3, 3, 2);
	assert_string_equal(reason_at("usage-mixed.csv", 3), "wrong_column_count");
	assert_string_equal(reason_at("usage-mixed.csv", 4), "missing_field");
	assert_string_equal(reason_at("usage-mixed.csv", 10), "bad_number");
	assert_int_equal(q_int("SELECT blank_lines FROM ingest_files WHERE file_name = 'usage-mixed.csv'"), 1);
	/* the first occurrence of a key wins */
	assert_string_equal(q1("SELECT account_ext || ' ' || quantity || ' ' || line_no FROM usage "
			       "WHERE source = $1 AND event_key = 'm-01'", "u_mixed"), "acct-1 1 2");
	assert_string_equal(q1("SELECT line_no || ' ' || (attributes->>'region') FROM usage WHERE source = $1 "
			       "AND event_key = 'm-04'", "u_mixed"), "6 multi\r\nline");
	assert_int_equal(q_int("SELECT line_no FROM usage WHERE source = 'u_mixed' AND event_key = 'm-05'"), 9);
}

static void test_focus_mixed(void **state)
{
	char spool[256];
	make_spool(spool, sizeof(spool));
	put_fixture(spool, "focus_mixed.csv", "focus-mixed.csv");
	ingest_ok(spool, "{ name = \"f_mixed\"; format = \"focus\"; pattern = \"focus-*.csv\"; meter_prefix = \"cloud.\"; }");
	assert_file("focus-mixed.csv", 13, 3, 9, 1);
	const char *want[] = { NULL, "unknown_meter", NULL, NULL, "bad_json", "bad_currency", "missing_field",
			       "bad_number", "bad_timestamp", "missing_field", "unknown_account", "wrong_column_count",
			       NULL };
	for (int i = 0; i < 13; i++)
		assert_string_equal(reason_at("focus-mixed.csv", i + 2), want[i] ? want[i] : "(null)");
	assert_string_equal(q1("SELECT string_agg(meter || ' ' || quantity || ' ' || cost || ' ' || currency || ' ' || "
			       "(attributes->'Tags' IS NOT NULL), '; ' ORDER BY line_no) FROM usage WHERE source = $1",
			       "f_mixed"),
			    "cloud.elastic_load_balancing 0.002007490000000 0.00001605990 USD true; "
			    "cloud.amazon_elastic_compute_cloud 0 -2.61370000000 USD false; "
			    "cloud.elastic_load_balancing 0.002007490000000 0.12345678901 USD true");
}

static void test_focus_sample_every_row(void **state)
{
	char spool[256], cmd[2048], out[256];
	make_spool(spool, sizeof(spool));
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s/focus-sample.csv'", focus_sample(), spool);
	assert_int_equal(test_sh(out, sizeof(out), cmd), 0);
	ingest_ok(spool, "{ name = \"f_sample\"; format = \"focus\"; pattern = \"focus-*.csv\"; meter = \"cloud_cost\"; }");
	assert_file("focus-sample.csv", 1000, 1000, 0, 0);

	/* BilledCost summed exactly, here with dec_add from the raw file */
	int fd = open(focus_sample(), O_RDONLY);
	struct csv_reader *r = csv_new(csv_read_fd, &fd, NULL);
	struct csv_record c;
	struct err e;
	struct dec sum = dec_zero(), d;
	int col = -1, rows = 0;
	while (csv_next(r, &c, &e) > 0) {
		if (col < 0) {
			for (size_t k = 0; k < c.nfields; k++)
				if (c.fields[k].len == 10 && memcmp(c.fields[k].p, "BilledCost", 10) == 0)
					col = (int)k;
			continue;
		}
		assert_int_equal(dec_parse(&d, c.fields[col].p, c.fields[col].len), 0);
		assert_int_equal(dec_add(&sum, sum, d), 0);
		rows++;
	}
	csv_free(r);
	close(fd);
	assert_int_equal(rows, 1000);
	char want[DEC_STR_MAX];
	dec_format(sum, want, sizeof(want));
	assert_string_equal(want, "20.52022672899");
	assert_string_equal(q1("SELECT sum(cost)::text FROM usage WHERE source = $1", "f_sample"), want);
	assert_string_equal(q1("SELECT read_cost::text FROM ingest_files WHERE file_name = $1", "focus-sample.csv"), want);
	assert_int_equal(q_int("SELECT count(*) FROM usage WHERE source = 'f_sample' AND currency = 'USD' "
			       "AND attributes ? 'ServiceName'"), 1000);
}

static void test_asterisk_master(void **state)
{
	char spool[256];
	make_spool(spool, sizeof(spool));
	put_fixture(spool, "asterisk_master.csv", "Master.csv");
	ingest_ok(spool, "{ name = \"pbx\"; format = \"asterisk-cdr\"; pattern = \"Master*.csv\"; "
			 "time_zone = \"Europe/Berlin\"; }");
	assert_file("Master.csv", 11, 5, 5, 1);
	assert_int_equal(q_int("SELECT not_billable FROM ingest_files WHERE file_name = 'Master.csv'"), 2);
	const char *want[] = { NULL, NULL, NULL, NULL, "missing_field", "bad_number", "wrong_column_count",
			       "bad_timestamp", "unknown_account", NULL, NULL };
	for (int i = 0; i < 11; i++)
		assert_string_equal(reason_at("Master.csv", i + 1), want[i] ? want[i] : "(null)");
	assert_string_equal(q1("SELECT string_agg(event_key || ' ' || account_ext || ' ' || quantity || ' ' || billable || ' ' "
			       "|| to_char(event_time AT TIME ZONE 'UTC', 'HH24:MI') || ' ' || (attributes->>'disposition'), "
			       "'; ' ORDER BY line_no) FROM usage WHERE source = $1", "pbx"),
			    "1768471200.1 acct-1 60 true 09:00 ANSWERED; 1768471500.2 acct-2 0 false 09:05 NO ANSWER; "
			    "1768471560.3 acct-1 0 false 09:06 BUSY; 1768471920.9 acct-3 3600 true 09:12 ANSWERED; "
			    "1768471980.10 acct-2 60 true 09:13 ANSWERED");
}

/* ---- repeats ---- */

static void test_bad_source_config(void **state)
{
	char spool[256];
	make_spool(spool, sizeof(spool));
	assert_int_equal(run_ingest(spool, "{ name = \"x\"; format = \"xml\"; pattern = \"*\"; }", NULL), -1);
	assert_int_equal(last_err.kind, ERR_CONFIG);
	assert_non_null(strstr(last_err.message, "billrun.conf:3"));
	assert_non_null(strstr(last_err.message, "unknown format 'xml'"));
	assert_int_equal(run_ingest(spool, "{ name = \"x\"; format = \"asterisk-cdr\"; pattern = \"*\"; "
					   "time_zone = \"Nowhere/Special\"; }", NULL), -1);
	assert_int_equal(last_err.kind, ERR_CONFIG);
	assert_non_null(strstr(last_err.message, "Nowhere/Special"));
	assert_int_equal(run_ingest(spool, "{ name = \"x\"; format = \"usage-csv\"; }", NULL), -1);
	assert_non_null(strstr(last_err.message, "pattern"));
}

static void test_meters_follow_the_rate_card(void **state)
{
	char spool[256], path[512];
	make_spool(spool, sizeof(spool));
	const char *src = "{ name = \"m\"; format = \"usage-csv\"; pattern = \"usage-*.csv\"; }";
	ingest_ok(spool, src);
	assert_int_equal(q_int("SELECT count(*) FROM meters"), 8);
	assert_string_equal(q1("SELECT aggregation || ' ' || round_increment || ' ' || allow_credit || ' ' || unit "
			       "FROM meters WHERE name = $1", "voice_seconds"), "sum 60 false s");
	assert_string_equal(q1("SELECT unique_attribute FROM meters WHERE name = $1", "active_users"), "user_id");

	/* an unknown key in a meter: FILE:LINE, and nothing changes */
	snprintf(rules, sizeof(rules), "%s", test_src("tests/fixtures/ingest/rates_bad_key.conf"));
	assert_int_equal(run_ingest(spool, src, NULL), -1);
	assert_int_equal(last_err.kind, ERR_CONFIG);
	assert_non_null(strstr(last_err.message, "rates_bad_key.conf:4: meter 'voice_seconds': unknown key 'rounding'"));
	assert_int_equal(q_int("SELECT count(*) FROM meters"), 8);

	/* a label that is not a string: FILE:LINE, the meter and the key */
	snprintf(path, sizeof(path), "%s.label.conf", spool);
	assert_int_equal(test_write_file(path, "meters = (\n  { name = \"api_calls\"; aggregation = \"sum\";\n"
					       "    label = 42; } );\n"), 0);
	snprintf(rules, sizeof(rules), "%s", path);
	assert_int_equal(run_ingest(spool, src, NULL), -1);
	assert_int_equal(last_err.kind, ERR_CONFIG);
	assert_non_null(strstr(last_err.message, ".label.conf:3: meter 'api_calls': key 'label' must be a string"));
	assert_int_equal(q_int("SELECT count(*) FROM meters"), 8);

	/* a smaller card: meters no longer listed go, changed ones change */
	snprintf(path, sizeof(path), "%s.rates.conf", spool);
	assert_int_equal(test_write_file(path, "taxes = ( { x = 1; } );\nmeters = (\n"
					       "  { name = \"api_calls\"; aggregation = \"count\"; },\n"
					       "  { name = \"voice_seconds\"; aggregation = \"sum\"; round_increment = 30; } );\n"), 0);
	snprintf(rules, sizeof(rules), "%s", path);
	ingest_ok(spool, src);
	assert_string_equal(q1("SELECT string_agg(name || ':' || aggregation || ':' || coalesce(round_increment::text, '-'), "
			       "',' ORDER BY name) FROM meters WHERE name <> $1", ""),
			    "api_calls:count:-,voice_seconds:sum:30");
	assert_string_equal(q1("SELECT charge_categories::text FROM meters WHERE name = $1", "api_calls"), "{Usage}");

	/* charge_categories: FOCUS ChargeCategory values, any letter case,
	 * stored as FOCUS spells them */
	assert_int_equal(test_write_file(path, "meters = (\n"
					       "  { name = \"api_calls\"; aggregation = \"count\";\n"
					       "    charge_categories = [\"usage\", \"CREDIT\", \"Adjustment\"]; } );\n"), 0);
	ingest_ok(spool, src);
	assert_string_equal(q1("SELECT charge_categories::text FROM meters WHERE name = $1", "api_calls"),
			    "{Usage,Credit,Adjustment}");
	const char *bad_categories[][2] = {
		{ "charge_categories = [\"Usage\", \"Refund\"];",
		  ":3: meter 'a': charge category 'Refund' is not one of Usage, Purchase, Tax, Credit, Adjustment" },
		{ "charge_categories = [\"Credit\", \"credit\"];", ":3: meter 'a': charge category 'Credit' is listed twice" },
		{ "charge_categories = [];", ":3: meter 'a': charge_categories must be a non-empty list of strings" },
		{ "charge_categories = \"Usage\";", ":3: meter 'a': charge_categories must be a non-empty list of strings" },
		{ "charge_categories = [1];", ":3: meter 'a': charge_categories must list strings" },
	};
	for (size_t i = 0; i < sizeof(bad_categories) / sizeof(bad_categories[0]); i++) {
		char card[512];
		snprintf(card, sizeof(card), "meters = (\n  { name = \"a\"; aggregation = \"count\";\n    %s } );\n",
			 bad_categories[i][0]);
		assert_int_equal(test_write_file(path, card), 0);
		assert_int_equal(run_ingest(spool, src, NULL), -1);
		assert_int_equal(last_err.kind, ERR_CONFIG);
		if (!strstr(last_err.message, bad_categories[i][1]))
			fail_msg("%s: %s", bad_categories[i][0], last_err.message);
	}
	assert_string_equal(q1("SELECT charge_categories::text FROM meters WHERE name = $1", "api_calls"),
			    "{Usage,Credit,Adjustment}");
	const char *bad[] = {
		"meters = ( { name = \"Bad Name\"; aggregation = \"sum\"; } );",
		"meters = ( { name = \"a\"; aggregation = \"median\"; } );",
		"meters = ( { name = \"a\"; aggregation = \"unique_count\"; } );",
		"meters = ( { name = \"a\"; aggregation = \"sum\"; round_increment = 0.5; } );",
		"meters = ( { name = \"a\"; aggregation = \"sum\"; }, { name = \"a\"; aggregation = \"max\"; } );",
		"plans = ();",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(test_write_file(path, bad[i]), 0);
		assert_int_equal(run_ingest(spool, src, NULL), -1);
		assert_int_equal(last_err.kind, ERR_CONFIG);
	}
	/* back to the card the other tests use */
	snprintf(rules, sizeof(rules), "%s", test_src("tests/fixtures/ingest/rates.conf"));
	ingest_ok(spool, src);
	assert_int_equal(q_int("SELECT count(*) FROM meters"), 8);
}

static void test_application_role_may_only_append(void **state)
{
	struct err e;
	/* the application role has no UPDATE or DELETE at all */
	assert_int_equal(db_exec(app, &e, "UPDATE usage SET quantity = 0", 0, NULL), -1);
	assert_string_equal(e.sqlstate, "42501");
	assert_int_equal(db_exec(app, &e, "DELETE FROM quarantine_records", 0, NULL), -1);
	assert_string_equal(e.sqlstate, "42501");
	assert_int_equal(db_exec(app, &e, "UPDATE ingest_files SET accepted = 0", 0, NULL), -1);
	assert_string_equal(e.sqlstate, "42501");
	/* and even the owner meets the append-only trigger */
	PGresult *r = PQexec(conn, "UPDATE usage SET quantity = 0 WHERE source = 'u_good'");
	assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
	assert_non_null(strstr(PQerrorMessage(conn), "append-only"));
	PQclear(r);
	r = PQexec(conn, "DELETE FROM ingest_files");
	assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
	PQclear(r);
	/* conservation holds for every file any test ingested */
	assert_int_equal(q_int("SELECT count(*) FROM ingest_files f WHERE records_read <> accepted + quarantined + duplicates "
			       "OR accepted <> (SELECT count(*) FROM usage u WHERE u.file_id = f.id) "
			       "OR quarantined <> (SELECT count(*) FROM quarantine_records q WHERE q.file_id = f.id)"), 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup(f, skip_without_pg)
	const struct CMUnitTest tests[] = {
		T(test_reason_malformed_csv),
		T(test_reason_wrong_column_count),
		T(test_reason_record_too_long),
		T(test_reason_field_too_long),
		T(test_reason_invalid_utf8),
		T(test_reason_bad_header),
		T(test_reason_missing_field),
		T(test_reason_bad_number),
		T(test_reason_negative_quantity),
		T(test_reason_bad_timestamp),
		T(test_reason_timestamp_out_of_range),
		T(test_reason_unknown_account),
		T(test_reason_unknown_meter),
		T(test_reason_bad_json),
		T(test_reason_bad_currency),
		T(test_usage_csv_values),
		T(test_usage_csv_mixed),
		T(test_focus_mixed),
		T(test_focus_sample_every_row),
		T(test_asterisk_master),
		T(test_bad_source_config),
		T(test_meters_follow_the_rate_card),
		T(test_application_role_may_only_append),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
