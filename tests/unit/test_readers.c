/*
 * test_readers.c - unit tests for the input formats (jobs/reader*.c): what
 * each makes of good records, the reason each bad one gets, and the shared
 * parsers (timestamps, UTF-8, JSON), the numeric COPY encoding, control
 * files, and that the reason table matches migration 004.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "control.h"
#include "err.h"
#include "ingest_load.h"
#include "reader.h"
#include "sqltext.h"
#include "support.h"

/* A record as a test looks at it. */
struct rec {
	long long line;
	enum reason reason;
	char message[256];
	char key[128], account[128], meter[128], currency[8], attributes[2048];
	long long time;   /* microseconds since 1970 */
	char quantity[DEC_STR_MAX], cost[DEC_STR_MAX];
	int has_quantity, has_cost, billable;
};

static struct reader_settings settings(const char *format)
{
	struct reader_settings s;
	memset(&s, 0, sizeof(s));
	s.source = "test";
	s.format = format;
	s.max_field = 4096;
	return s;
}

#define STR(dst, p, n) snprintf(dst, sizeof(dst), "%.*s", (int)(n), (p) ? (p) : "")

/* Read text with s; returns the number of records (at most max). */
static int read_text(const struct reader_settings *s, const char *text, struct rec *out, int max)
{
	struct csv_mem m = { text, strlen(text), 0, 5 };
	struct reader r;
	struct err e;
	struct usage_record u;
	int n = 0, got;
	assert_int_equal(reader_open(&r, s, csv_read_mem, &m, &e), 0);
	while ((got = reader_next(&r, &u, &e)) > 0) {
		assert_true(n < max);
		struct rec *x = &out[n++];
		memset(x, 0, sizeof(*x));
		x->line = u.line_no;
		x->reason = u.reason;
		snprintf(x->message, sizeof(x->message), "%s", u.message);
		if (u.reason == REASON_NONE) {
			STR(x->key, u.event_key, u.event_key_len);
			STR(x->meter, u.meter, u.meter_len);
			STR(x->attributes, u.attributes, u.attributes_len);
			STR(x->currency, u.currency, u.currency_len);
			x->time = u.event_time;
		}
		STR(x->account, u.account, u.account_len);
		x->has_quantity = u.has_quantity;
		x->has_cost = u.has_cost;
		x->billable = u.billable;
		if (u.has_quantity)
			dec_format(u.quantity, x->quantity, sizeof(x->quantity));
		if (u.has_cost)
			dec_format(u.cost, x->cost, sizeof(x->cost));
	}
	assert_int_equal(got, 0);
	reader_close(&r);
	return n;
}

static long long ts(const char *text)
{
	int64_t us = 0;
	assert_int_equal(parse_timestamp(text, strlen(text), 0, NULL, &us), 0);
	return us;
}

/* ---- shared parsers ---- */

static void test_timestamps(void **state)
{
	int64_t us;
	int off;
	assert_int_equal(ts("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(ts("2026-01-15T10:00:00+01:00"), ts("2026-01-15T09:00:00Z"));
	assert_int_equal(ts("2026-01-15T10:00:00-0530"), ts("2026-01-15T15:30:00Z"));
	assert_int_equal(ts("2026-01-15 10:00:00+02"), ts("2026-01-15T08:00:00Z"));
	assert_int_equal(ts("2026-01-15T10:00:00.5Z") - ts("2026-01-15T10:00:00Z"), 500000);
	assert_int_equal(ts("2026-01-15T10:00:00.123456000Z") - ts("2026-01-15T10:00:00Z"), 123456);
	assert_int_equal(ts("2024-02-29T00:00:00Z") - ts("2024-02-28T00:00:00Z"), 86400LL * 1000000);
	assert_int_equal(ts("2026-01-15T10:00Z"), ts("2026-01-15T10:00:00Z"));
	assert_int_equal(ts("1969-12-31T23:59:59Z"), -1000000);
	const char *bad[] = { "2026-01-15T10:00:00", "2026-02-29T00:00:00Z", "2026-13-01T00:00:00Z",
			      "2026-01-15T24:00:00Z", "2026-01-15T10:60:00Z", "2026-01-15T10:00:60Z",
			      "2026-01-15", "26-01-15T10:00:00Z", "2026-01-15T10:00:00+25:00",
			      "2026-01-15T10:00:00ZZ", "2026-01-15T10:00:00.1234567Z", "2026-01-15T10:00:00.Z", "" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse_timestamp(bad[i], strlen(bad[i]), 0, NULL, &us), -1);
	/* local times only where allowed, and then read as UTC */
	assert_int_equal(parse_timestamp("2024-09-18 22:00:00", 19, 1, &off, &us), 0);
	assert_int_equal(off, 0);
	assert_int_equal(us, ts("2024-09-18T22:00:00Z"));
	assert_int_equal(days_from_civil(2000, 1, 1), 10957);
}

static void test_utf8(void **state)
{
	assert_true(utf8_valid("plain ascii text, long enough for words", 39));
	const char *mixed = "gr\xC3\xBC\xC3\x9F" "e \xE2\x82\xAC \xF0\x9F\x98\x80";
	assert_true(utf8_valid(mixed, strlen(mixed)));
	assert_false(utf8_valid("a\xFF" "b", 3));
	assert_false(utf8_valid("\xC3", 1));                /* cut short */
	assert_false(utf8_valid("\xC0\xAF", 2));            /* overlong */
	assert_false(utf8_valid("\xED\xA0\x80", 3));        /* a surrogate */
	assert_false(utf8_valid("\xF4\x90\x80\x80", 4));    /* past U+10FFFF */
	assert_false(utf8_valid("abcdefgh\0ijk", 12));      /* NUL in the fast path */
	assert_false(utf8_valid("ab\0", 3));
	assert_int_equal(utf8_clip("ab\xE2\x82\xAC" "cd", 7, 4), 2);
	assert_int_equal(utf8_clip("abcdef", 6, 4), 4);
	assert_int_equal(utf8_clip("abc", 3, 64), 3);
}

static void test_json(void **state)
{
	const char *good[] = { "{}", "{\"a\": 1}", " {\"a\": [1, 2.5e-3, -0, true, false, null, \"x\\u00e9\\n\"]} ",
			       "{\"k\": {\"n\": {\"m\": \"\\ud83d\\ude00\"}}}" };
	const char *bad[] = { "", "[]", "{\"a\": 1,}", "{\"a\" 1}", "{\"a\": 01}", "{\"a\": \"\\u0000\"}",
			      "{\"a\": \"\\ud83d\"}", "{\"a\": \"x\"} x", "{\"a\": tru}", "{'a': 1}",
			      "{\"a\": \"tab\there\"}", "{\"a\": 1.}", "{\"a\": 1e9999}" };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(json_valid(good[i], strlen(good[i]), 1));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(json_valid(bad[i], strlen(bad[i]), 1));
	struct textbuf b = { 0 };
	json_add_string(&b, "a\"b\\c\n\x01", 7);
	assert_string_equal(b.p, "\"a\\\"b\\\\c\\n\\u0001\"");
	b.len = 0;
	meter_slug(&b, "cloud.", "Amazon Elastic  Compute-Cloud (EC2)", 35);
	assert_string_equal(b.p, "cloud.amazon_elastic_compute_cloud_ec2");
	textbuf_release(&b);
}

/* The binary numeric bytes for d, as hex. */
static void numeric_hex(const char *text, char *out)
{
	struct dec d;
	struct rowbuf b = { 0 };
	assert_int_equal(dec_parse_cstr(&d, text), 0);
	rowbuf_numeric(&b, d);
	for (size_t i = 0; i < b.len; i++)
		sprintf(out + 2 * i, "%02x", (unsigned char)b.p[i]);
	free(b.p);
}

static void test_numeric_encoding(void **state)
{
	char hex[256];
	/* length, ndigits, weight, sign, dscale, digits (base 10000) */
	numeric_hex("0", hex);
	assert_string_equal(hex, "0000000800000000" "00000000");
	numeric_hex("1", hex);
	assert_string_equal(hex, "0000000a00010000" "000000000001");
	numeric_hex("-1.5", hex);
	assert_string_equal(hex, "0000000c00020000" "40000001" "00011388");
	numeric_hex("0.00012", hex);   /* 1 at weight -1, 2000 at -2 */
	assert_string_equal(hex, "0000000c0002ffff" "00000005" "000107d0");
	numeric_hex("12345678.9", hex); /* 1234 5678 . 9000 */
	assert_string_equal(hex, "0000000e00030001" "00000001" "04d2162e2328");
	numeric_hex("10000", hex);
	assert_string_equal(hex, "0000000a00010001" "00000000" "0001");
	numeric_hex("-0.000", hex);
	assert_string_equal(hex, "0000000800000000" "00000003");
}

/* ---- usage-csv ---- */

static void test_usage_csv_good(void **state)
{
	struct reader_settings s = settings("usage-csv");
	s.meter_prefix = "app.";
	struct rec r[4];
	int n = read_text(&s,
			  "event_id,account_id,meter,timestamp,quantity,user_id,note\n"
			  "e1,acct-1,api_calls,2026-01-15T10:00:00+01:00,12.500,u7,\"a \"\"q\"\"\"\n"
			  "e2,acct-2,api_calls,2026-01-15T10:00:00Z,-3,,\n",
			  r, 4);
	assert_int_equal(n, 2);
	assert_int_equal(r[0].reason, REASON_NONE);
	assert_int_equal(r[0].line, 2);
	assert_string_equal(r[0].key, "e1");
	assert_string_equal(r[0].account, "acct-1");
	assert_string_equal(r[0].meter, "app.api_calls");
	assert_string_equal(r[0].quantity, "12.500");
	assert_int_equal(r[0].time, ts("2026-01-15T09:00:00Z"));
	assert_string_equal(r[0].attributes, "{\"user_id\":\"u7\",\"note\":\"a \\\"q\\\"\"}");
	assert_int_equal(r[0].billable, 1);
	assert_false(r[0].has_cost);
	/* the reader leaves credits to the step, which knows the meters */
	assert_int_equal(r[1].reason, REASON_NONE);
	assert_string_equal(r[1].quantity, "-3");
}

static void test_usage_csv_columns_renamed_and_fixed_meter(void **state)
{
	struct reader_settings s = settings("usage-csv");
	s.account_column = "Customer";
	s.key_column = "ID";
	s.meter = "sms";
	struct rec r[2];
	int n = read_text(&s, "id,TIMESTAMP,quantity,customer\nx9,2026-01-15T10:00:00Z,1,c-1\n", r, 2);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].reason, REASON_NONE);
	assert_string_equal(r[0].key, "x9");
	assert_string_equal(r[0].account, "c-1");
	assert_string_equal(r[0].meter, "sms");
	assert_string_equal(r[0].attributes, "");
}

static void test_usage_csv_bad_records(void **state)
{
	struct reader_settings s = settings("usage-csv");
	s.max_field = 24;
	struct rec r[12];
	int n = read_text(&s,
			  "event_id,account_id,meter,timestamp,quantity\n"
			  "b1,acct-1,api_calls,2026-01-15T10:00:00Z\n"           /* 2 */
			  "b2,,api_calls,2026-01-15T10:00:00Z,1\n"               /* 3 */
			  "b3,acct-1,api_calls,2026-01-15T10:00:00Z,1e\n"        /* 4 */
			  "b4,acct-1,api_calls,2026-01-15 10:00:00,1\n"          /* 5 */
			  "b5,acct-1,api_calls,2026-01-15T10:00:00Z,\"1\"x\n"    /* 6 */
			  "b6,acct-1,api_calls_and_much_more_than_24,2026-01-15T10:00:00Z,1\n" /* 7 */
			  "b7,acct-\xFF,api_calls,2026-01-15T10:00:00Z,1\n"      /* 8 */
			  ",acct-1,api_calls,2026-01-15T10:00:00Z,1\n"           /* 9 */
			  "b9,acct-1,api_calls,,1\n",                            /* 10 */
			  r, 12);
	assert_int_equal(n, 9);
	enum reason want[] = { REASON_WRONG_COLUMN_COUNT, REASON_MISSING_FIELD, REASON_BAD_NUMBER,
			       REASON_BAD_TIMESTAMP, REASON_MALFORMED_CSV, REASON_FIELD_TOO_LONG,
			       REASON_INVALID_UTF8, REASON_MISSING_FIELD, REASON_MISSING_FIELD };
	for (int i = 0; i < n; i++) {
		assert_int_equal(r[i].line, i + 2);
		assert_int_equal(r[i].reason, want[i]);
		assert_true(strlen(r[i].message) > 0);
	}
	assert_non_null(strstr(r[1].message, "account_id"));
	assert_non_null(strstr(r[5].message, "field 3"));
	/* a bad record keeps what could be read of it, for control totals */
	assert_true(r[3].has_quantity);
	assert_string_equal(r[1].account, "");
}

static void test_usage_csv_bad_header(void **state)
{
	struct reader_settings s = settings("usage-csv");
	struct rec r[3];
	int n = read_text(&s, "event_id,account_id,meter,timestamp,amount\na,b,c,d,1\ne,f,g,h,2\n", r, 3);
	assert_int_equal(n, 2);
	assert_int_equal(r[0].reason, REASON_BAD_HEADER);
	assert_int_equal(r[1].reason, REASON_BAD_HEADER);
	assert_non_null(strstr(r[0].message, "quantity"));
	n = read_text(&s, "event_id,quantity,account_id,meter,timestamp,Quantity\na,1,b,c,d,2\n", r, 3);
	assert_int_equal(r[0].reason, REASON_BAD_HEADER);
	assert_non_null(strstr(r[0].message, "twice"));
}

/* A file written with another delimiter is one column to a ',' reader:
 * the message says what it most likely is. */
static void test_usage_csv_header_of_another_delimiter_is_named(void **state)
{
	struct reader_settings s = settings("usage-csv");
	struct rec r[3];
	int n = read_text(&s, "event_id;account_id;meter;timestamp;quantity\na;b;c;2026-01-15T10:00:00Z;1\n", r, 3);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].reason, REASON_BAD_HEADER);
	assert_non_null(strstr(r[0].message, "the header has no column 'event_id'"));
	assert_non_null(strstr(r[0].message, "it looks like a ';'-delimited file"));
	assert_null(strstr(r[0].message, "tab"));

	n = read_text(&s, "event_id\taccount_id\tmeter\ttimestamp\tquantity\na\tb\tc\td\t1\n", r, 3);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].reason, REASON_BAD_HEADER);
	assert_non_null(strstr(r[0].message, "it looks like a tab-delimited file"));

	/* A ',' header that only lacks a column is not blamed on its delimiter. */
	n = read_text(&s, "event_id,account_id,meter,timestamp,amount\na,b,c,d,1\n", r, 3);
	assert_int_equal(r[0].reason, REASON_BAD_HEADER);
	assert_null(strstr(r[0].message, "delimited"));

	struct csv_header h = { 0 };
	char *names[] = { "a;b\tc;d", "e" };
	h.names = names;
	h.n = 2;
	assert_int_equal(header_delimiter_guess(&h), ';');
	names[0] = "a\tb\tc;d";
	assert_int_equal(header_delimiter_guess(&h), '\t');
	names[0] = "plain";
	assert_int_equal(header_delimiter_guess(&h), 0);
}

static void test_focus_header_of_another_delimiter_is_named(void **state)
{
	struct reader_settings s = settings("focus");
	struct rec r[2];
	int n = read_text(&s, "BilledCost;BillingCurrency;ChargePeriodStart\n1;EUR;2026-01-01\n", r, 2);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].reason, REASON_BAD_HEADER);
	assert_non_null(strstr(r[0].message, "it looks like a ';'-delimited file, and focus files are ','-delimited"));
}

/* ---- FOCUS ---- */

static const char focus_header[] =
	"BilledCost,BillingCurrency,ChargeCategory,ChargePeriodStart,ConsumedQuantity,ServiceName,SubAccountId,Tags,Id\n";

static void test_focus_good(void **state)
{
	struct reader_settings s = settings("focus");
	s.meter_prefix = "cloud.";
	char text[2048];
	snprintf(text, sizeof(text), "%s%s", focus_header,
		 "0.00001605990,\"USD\",\"Usage\",\"2024-09-30 22:00:00\",0.002007490000000,\"Elastic Load Balancing\","
		 "\"43883916739\",\"{\"\"app\"\": \"\"x\"\"}\",19384\n"
		 "-2.61370000000,\"USD\",\"Credit\",\"2024-09-24T03:00:00Z\",NULL,\"Amazon EC2\",\"11353890204\",NULL,2\n");
	struct rec r[3];
	int n = read_text(&s, text, r, 3);
	assert_int_equal(n, 2);
	assert_int_equal(r[0].reason, REASON_NONE);
	assert_string_equal(r[0].meter, "cloud.elastic_load_balancing");
	assert_string_equal(r[0].account, "43883916739");
	assert_string_equal(r[0].cost, "0.00001605990");
	assert_string_equal(r[0].quantity, "0.002007490000000");
	assert_string_equal(r[0].currency, "USD");
	assert_int_equal(r[0].time, ts("2024-09-30T22:00:00Z"));
	assert_string_equal(r[0].attributes,
			    "{\"ChargeCategory\":\"Usage\",\"ServiceName\":\"Elastic Load Balancing\","
			    "\"Tags\":{\"app\": \"x\"},\"Id\":\"19384\"}");
	/* no key column: the raw record's SHA-256 is the key */
	assert_int_equal(strlen(r[0].key), 7 + 64);
	assert_memory_equal(r[0].key, "sha256:", 7);
	/* a credit without a quantity is kept, its cost is what counts */
	assert_int_equal(r[1].reason, REASON_NONE);
	assert_string_equal(r[1].quantity, "0");
	assert_string_equal(r[1].cost, "-2.61370000000");
	assert_string_equal(r[1].attributes, "{\"ChargeCategory\":\"Credit\",\"ServiceName\":\"Amazon EC2\",\"Id\":\"2\"}");
}

/* The category is stored under its FOCUS name whatever the header's
 * letter case: billing reads attribute ChargeCategory (migration 017), as
 * the reader itself takes the column case-insensitively. */
static void test_focus_category_attribute_name(void **state)
{
	struct reader_settings s = settings("focus");
	s.meter = "cloud_cost";
	const char *text =
		"billedcost,billingcurrency,chargecategory,chargeperiodstart,consumedquantity,subaccountid\n"
		"-2.5,EUR,credit,2024-09-24T03:00:00Z,NULL,a1\n";
	struct rec r[1];
	assert_int_equal(read_text(&s, text, r, 1), 1);
	assert_int_equal(r[0].reason, REASON_NONE);
	assert_string_equal(r[0].quantity, "0");
	assert_string_equal(r[0].attributes, "{\"ChargeCategory\":\"credit\"}");
}

static void test_focus_key_column_and_fixed_meter(void **state)
{
	struct reader_settings s = settings("focus");
	s.key_column = "Id";
	s.meter = "cloud_cost";
	char text[1024];
	snprintf(text, sizeof(text), "%s%s", focus_header,
		 "1.5,\"EUR\",\"Usage\",\"2024-09-30 22:00:00\",1,\"S3\",\"a1\",NULL,77\n"
		 "1.5,\"EUR\",\"Usage\",\"2024-09-30 22:00:00\",1,\"S3\",\"a1\",NULL,NULL\n");
	struct rec r[2];
	assert_int_equal(read_text(&s, text, r, 2), 2);
	assert_string_equal(r[0].key, "77");
	assert_string_equal(r[0].meter, "cloud_cost");
	assert_int_equal(r[1].reason, REASON_MISSING_FIELD);
}

static void test_focus_bad_records(void **state)
{
	struct reader_settings s = settings("focus");
	char text[4096];
	snprintf(text, sizeof(text), "%s%s", focus_header,
		 "1,\"USD\",\"Usage\",\"2024-09-30 22:00:00\",1,\"S3\",\"a1\",\"{bad}\",1\n"    /* bad_json */
		 "1,\"usd\",\"Usage\",\"2024-09-30 22:00:00\",1,\"S3\",\"a1\",NULL,2\n"         /* bad_currency */
		 "NULL,\"USD\",\"Usage\",\"2024-09-30 22:00:00\",1,\"S3\",\"a1\",NULL,3\n"      /* missing cost */
		 "1.0.0,\"USD\",\"Usage\",\"2024-09-30 22:00:00\",1,\"S3\",\"a1\",NULL,4\n"     /* bad_number */
		 "1,\"USD\",\"Usage\",\"2024-09-31 00:00:00\",1,\"S3\",\"a1\",NULL,5\n"         /* bad_timestamp */
		 "1,\"USD\",\"Usage\",\"2024-09-30 22:00:00\",NULL,\"S3\",\"a1\",NULL,6\n"      /* missing quantity */
		 "1,\"USD\",\"Usage\",\"2024-09-30 22:00:00\",1,\"S3\",NULL,NULL,7\n"           /* missing account */
		 "1,\"USD\",\"Usage\",\"2024-09-30 22:00:00\",1,\"S3\"\n"                       /* wrong count */
		 "1,\"USD\",\"Usage\",\"2024-09-30 22:00:00\",1,\"S3\",\"a1\",\"[1]\",9\n");    /* not an object */
	struct rec r[10];
	int n = read_text(&s, text, r, 10);
	assert_int_equal(n, 9);
	enum reason want[] = { REASON_BAD_JSON, REASON_BAD_CURRENCY, REASON_MISSING_FIELD, REASON_BAD_NUMBER,
			       REASON_BAD_TIMESTAMP, REASON_MISSING_FIELD, REASON_MISSING_FIELD,
			       REASON_WRONG_COLUMN_COUNT, REASON_BAD_JSON };
	for (int i = 0; i < n; i++)
		assert_int_equal(r[i].reason, want[i]);
	assert_non_null(strstr(r[5].message, "ConsumedQuantity"));
}

/* ---- Asterisk ---- */

static const char cdr_answered[] =
	"\"acct-1\",\"1001\",\"2002\",\"from-internal\",\"\"\"Alice\"\" <1001>\",\"SIP/1001-1\",\"SIP/2002-2\","
	"\"Dial\",\"SIP/2002,30\",\"2026-01-15 10:00:00\",\"2026-01-15 10:00:05\",\"2026-01-15 10:01:05\",65,60,"
	"\"ANSWERED\",\"DOCUMENTATION\",\"1768471200.1\",\"\"\n";
static const char cdr_no_answer[] =
	"\"acct-2\",\"1002\",\"2003\",\"from-internal\",\"Bob\",\"SIP/1002-3\",\"\",\"Dial\",\"SIP/2003\","
	"\"2026-07-15 10:05:00\",\"\",\"2026-07-15 10:05:30\",30,0,\"NO ANSWER\",\"DOCUMENTATION\",\"1768471500.2\",\"\"\n";

static void test_asterisk_records(void **state)
{
	struct reader_settings s = settings("asterisk-cdr");
	char text[2048];
	snprintf(text, sizeof(text), "%s%s", cdr_answered, cdr_no_answer);
	struct rec r[2];
	assert_int_equal(read_text(&s, text, r, 2), 2);
	assert_int_equal(r[0].reason, REASON_NONE);
	assert_string_equal(r[0].account, "acct-1");
	assert_string_equal(r[0].key, "1768471200.1");
	assert_string_equal(r[0].meter, "voice_seconds");
	assert_string_equal(r[0].quantity, "60");
	assert_int_equal(r[0].billable, 1);
	assert_int_equal(r[0].time, ts("2026-01-15T10:00:00Z"));
	assert_non_null(strstr(r[0].attributes, "\"disposition\":\"ANSWERED\""));
	assert_non_null(strstr(r[0].attributes, "\"billsec\":\"60\""));
	assert_null(strstr(r[0].attributes, "uniqueid"));
	assert_int_equal(r[1].reason, REASON_NONE);
	assert_int_equal(r[1].billable, 0);
	assert_string_equal(r[1].quantity, "0");
}

static void test_asterisk_time_zone(void **state)
{
	struct reader_settings s = settings("asterisk-cdr");
	s.time_zone = "Europe/Berlin";
	char text[2048];
	snprintf(text, sizeof(text), "%s%s", cdr_answered, cdr_no_answer);
	struct rec r[2];
	assert_int_equal(read_text(&s, text, r, 2), 2);
	assert_int_equal(r[0].time, ts("2026-01-15T09:00:00Z"));   /* CET, +01:00 */
	assert_int_equal(r[1].time, ts("2026-07-15T08:05:00Z"));   /* CEST, +02:00 */
	s.time_zone = "Mars/Olympus_Mons";
	struct csv_mem m = { "", 0, 0, 0 };
	struct reader rd;
	struct err e;
	assert_int_equal(reader_open(&rd, &s, csv_read_mem, &m, &e), -1);
	assert_int_equal(e.kind, ERR_CONFIG);
	reader_close(&rd);
}

/* A Master.csv record of an answered call starting at the local time start. */
static void cdr_at(char *dst, size_t size, const char *start, const char *uniqueid)
{
	snprintf(dst, size,
		 "\"acct-1\",\"1001\",\"2002\",\"c\",\"x\",\"SIP/1\",\"SIP/2\",\"Dial\",\"\",\"%s\",\"\",\"\","
		 "60,60,\"ANSWERED\",\"D\",\"%s\",\"\"\n",
		 start, uniqueid);
}

/* The instant zone's local time start is read as when it is the first
 * record of a file, and when it follows a record at local time before. */
static long long cdr_instant(const char *zone, const char *before, const char *start)
{
	struct reader_settings s = settings("asterisk-cdr");
	s.time_zone = zone;
	char first[512] = "", second[512], text[1024];
	if (before)
		cdr_at(first, sizeof(first), before, "u-before");
	cdr_at(second, sizeof(second), start, "u-start");
	snprintf(text, sizeof(text), "%s%s", first, second);
	struct rec r[2];
	int n = before ? 2 : 1;
	assert_int_equal(read_text(&s, text, r, n), n);
	assert_int_equal(r[n - 1].reason, REASON_NONE);
	return r[n - 1].time;
}

/* A local time the clock shows twice (fall back) or never (spring
 * forward) is read with the offset in force before the change, whatever
 * record came before it in the file (jobs/README.md, asterisk-cdr). */
static void test_asterisk_clock_changes(void **state)
{
	const char *z = "Europe/Berlin";
	/* 2026-10-25: 03:00 CEST becomes 02:00 CET; 02:30 is shown twice and
	 * is read as CEST (+02:00), the earlier offset. */
	const char *summer = "2026-10-24 12:00:00", *winter = "2026-10-26 12:00:00";
	const char *fall[][2] = {
		{ "2026-10-25 02:30:00", "2026-10-25T00:30:00Z" },
		{ "2026-10-25 02:00:00", "2026-10-25T00:00:00Z" },
		{ "2026-10-25 02:59:59", "2026-10-25T00:59:59Z" },
		{ "2026-10-25 01:59:59", "2026-10-24T23:59:59Z" },
		{ "2026-10-25 03:00:00", "2026-10-25T02:00:00Z" },
	};
	for (size_t i = 0; i < sizeof(fall) / sizeof(fall[0]); i++) {
		long long want = ts(fall[i][1]);
		assert_int_equal(cdr_instant(z, NULL, fall[i][0]), want);
		assert_int_equal(cdr_instant(z, summer, fall[i][0]), want);
		assert_int_equal(cdr_instant(z, winter, fall[i][0]), want);
		assert_int_equal(cdr_instant(z, "2026-10-25 02:10:00", fall[i][0]), want);
		assert_int_equal(cdr_instant(z, "2026-10-25 03:10:00", fall[i][0]), want);
	}
	/* 2026-03-29: 02:00 CET becomes 03:00 CEST; 02:30 is never shown and
	 * is read as CET (+01:00), the offset before the change: 01:30 UTC,
	 * the instant the clock showed as 03:30 (PostgreSQL reads it so too). */
	const char *spring_before = "2026-03-28 12:00:00", *spring_after = "2026-03-30 12:00:00";
	const char *spring[][2] = {
		{ "2026-03-29 02:30:00", "2026-03-29T01:30:00Z" },
		{ "2026-03-29 02:00:00", "2026-03-29T01:00:00Z" },
		{ "2026-03-29 02:59:59", "2026-03-29T01:59:59Z" },
		{ "2026-03-29 01:59:59", "2026-03-29T00:59:59Z" },
		{ "2026-03-29 03:00:00", "2026-03-29T01:00:00Z" },
		{ "2026-03-29 03:30:00", "2026-03-29T01:30:00Z" },
	};
	for (size_t i = 0; i < sizeof(spring) / sizeof(spring[0]); i++) {
		long long want = ts(spring[i][1]);
		assert_int_equal(cdr_instant(z, NULL, spring[i][0]), want);
		assert_int_equal(cdr_instant(z, spring_before, spring[i][0]), want);
		assert_int_equal(cdr_instant(z, spring_after, spring[i][0]), want);
		assert_int_equal(cdr_instant(z, "2026-03-29 02:10:00", spring[i][0]), want);
		assert_int_equal(cdr_instant(z, "2026-03-29 03:10:00", spring[i][0]), want);
	}
	/* West of UTC, and a zone whose clock moves by half an hour
	 * (Australia/Lord_Howe: 02:00 +11 becomes 01:30 +10:30 on 2026-04-05;
	 * 02:00 +10:30 becomes 02:30 +11 on 2026-10-04). */
	assert_int_equal(cdr_instant("America/New_York", "2026-11-01 00:30:00", "2026-11-01 01:30:00"),
			 ts("2026-11-01T05:30:00Z"));
	assert_int_equal(cdr_instant("America/New_York", "2026-11-02 00:30:00", "2026-11-01 01:30:00"),
			 ts("2026-11-01T05:30:00Z"));
	assert_int_equal(cdr_instant("America/New_York", NULL, "2026-03-08 02:30:00"), ts("2026-03-08T07:30:00Z"));
	assert_int_equal(cdr_instant("Australia/Lord_Howe", "2026-04-05 01:10:00", "2026-04-05 01:45:00"),
			 ts("2026-04-04T14:45:00Z"));
	assert_int_equal(cdr_instant("Australia/Lord_Howe", "2026-04-06 01:10:00", "2026-04-05 01:45:00"),
			 ts("2026-04-04T14:45:00Z"));
	assert_int_equal(cdr_instant("Australia/Lord_Howe", "2026-10-04 02:40:00", "2026-10-04 02:15:00"),
			 ts("2026-10-03T15:45:00Z"));
	assert_int_equal(cdr_instant("Australia/Lord_Howe", NULL, "2026-10-04 02:40:00"), ts("2026-10-03T15:40:00Z"));
}

static void test_asterisk_bad_records(void **state)
{
	struct reader_settings s = settings("asterisk-cdr");
	const char *text =
		"\"\",\"1\",\"2\",\"c\",\"x\",\"ch\",\"\",\"Dial\",\"\",\"2026-01-15 10:00:00\",\"\",\"\",1,1,\"ANSWERED\",\"D\",\"u1\",\"\"\n"
		"\"a\",\"1\",\"2\",\"c\",\"x\",\"ch\",\"\",\"Dial\",\"\",\"2026-01-15 10:00:00\",\"\",\"\",1,1.5,\"ANSWERED\",\"D\",\"u2\",\"\"\n"
		"\"a\",\"1\",\"2\",\"c\",\"x\",\"ch\",\"\",\"Dial\",\"\",\"2026-01-15 10:00:00\",\"\",\"\",1,1,\"ANSWERED\",\"D\",\"u3\"\n"
		"\"a\",\"1\",\"2\",\"c\",\"x\",\"ch\",\"\",\"Dial\",\"\",\"yesterday\",\"\",\"\",1,1,\"ANSWERED\",\"D\",\"u4\",\"\"\n"
		"\"a\",\"1\",\"2\",\"c\",\"x\",\"ch\",\"\",\"Dial\",\"\",\"2026-01-15 10:00:00\",\"\",\"\",1,1,\"ANSWERED\",\"D\",\"\",\"\"\n";
	struct rec r[5];
	assert_int_equal(read_text(&s, text, r, 5), 5);
	assert_int_equal(r[0].reason, REASON_MISSING_FIELD);
	assert_int_equal(r[1].reason, REASON_BAD_NUMBER);
	assert_int_equal(r[2].reason, REASON_WRONG_COLUMN_COUNT);
	assert_int_equal(r[3].reason, REASON_BAD_TIMESTAMP);
	assert_int_equal(r[4].reason, REASON_MISSING_FIELD);
}

/* ---- reason codes and control files ---- */

/* The rows of every INSERT INTO quarantine_reasons in the migrations
 * (004_ingest.sql, 021_truncated_reason.sql...), joined, and how many. */
static int reason_rows(struct textbuf *all)
{
	int rows = 0;
	for (int i = 0; i < sql_migration_count; i++) {
		const char *p = strstr(sql_migrations[i].text, "INSERT INTO quarantine_reasons");
		if (!p)
			continue;
		const char *end = strstr(p, ";\n");
		assert_non_null(end);
		textbuf_add(all, p, (size_t)(end - p));
		for (; (p = strstr(p, "\n  ('")) != NULL && p < end; p++)
			rows++;
	}
	return rows;
}

static void test_reason_table_matches_migration(void **state)
{
	struct textbuf all = { 0 };
	int rows = reason_rows(&all);
	const char *text = all.p;
	assert_non_null(text);
	assert_int_equal(rows, REASON__COUNT - 1);
	for (int r = 1; r < REASON__COUNT; r++) {
		char row[512];
		snprintf(row, sizeof(row), "('%s', '", reason_table[r].code);
		const char *at = strstr(text, row);
		assert_non_null(at);
		/* the description, with SQL's doubled quotes */
		char desc[512];
		size_t k = 0;
		for (const char *d = reason_table[r].description; *d && k + 2 < sizeof(desc); d++) {
			desc[k++] = *d;
			if (*d == '\'')
				desc[k++] = '\'';
		}
		desc[k] = '\0';
		assert_memory_equal(at + strlen(row), desc, strlen(desc));
	}
	textbuf_release(&all);
}

static void test_control_files(void **state)
{
	char dir[256], path[512];
	assert_int_equal(test_tmpdir(dir, sizeof(dir)), 0);
	snprintf(path, sizeof(path), "%s/x.csv.ctl", dir);
	assert_int_equal(test_write_file(path, "# from the sender\nrecords 3\n"
					       "sha256 ABCDEF0000000000000000000000000000000000000000000000000000000001\n"
					       "quantity api_calls 12.50   # trailing comment\n"
					       "quantity voice_seconds 60\ncost 0.10\n"), 0);
	struct control_file c;
	struct err e;
	assert_int_equal(control_read(path, &c, &e), 0);
	assert_int_equal(c.records, 3);
	assert_string_equal(c.sha256, "abcdef0000000000000000000000000000000000000000000000000000000001");

	struct meter_totals read;
	meter_totals_init(&read);
	struct dec d;
	dec_parse_cstr(&d, "10.25");
	meter_totals_add(&read, "api_calls", 9, d);
	dec_parse_cstr(&d, "2.250");
	meter_totals_add(&read, "api_calls", 9, d);
	dec_parse_cstr(&d, "60");
	meter_totals_add(&read, "voice_seconds", 13, d);
	meter_totals_add(&read, "sms", 3, d);
	dec_parse_cstr(&d, "0.1");
	struct control_actual a = { 3, "abcdef0000000000000000000000000000000000000000000000000000000001", &read, 1, d };
	struct textbuf detail = { 0 };
	assert_int_equal(control_compare(&c, &a, &detail), 1);
	assert_int_equal(detail.len, 0);
	a.records = 4;
	dec_parse_cstr(&a.cost, "0.11");
	assert_int_equal(control_compare(&c, &a, &detail), 0);
	assert_non_null(strstr(detail.p, "records: control 3, read 4"));
	assert_non_null(strstr(detail.p, "cost: control 0.10, read 0.11"));
	struct textbuf json = { 0 };
	control_json(&c, &json);
	assert_non_null(strstr(json.p, "\"quantity\":{\"api_calls\":\"12.50\",\"voice_seconds\":\"60\"}"));
	textbuf_release(&detail);
	textbuf_release(&json);
	meter_totals_release(&read);
	control_release(&c);

	const char *bad[] = { "records three\n", "records 1\nrecords 2\n", "sha256 xyz\n", "quantity m\n",
			      "quantity m 1\nquantity m 2\n", "total 5\n", "cost 1,5\n" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(test_write_file(path, bad[i]), 0);
		assert_int_equal(control_read(path, &c, &e), -1);
		assert_int_equal(e.kind, ERR_INPUT);
		assert_non_null(strstr(e.message, ".ctl:"));
		control_release(&c);
	}
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timestamps),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_numeric_encoding),
		cmocka_unit_test(test_usage_csv_good),
		cmocka_unit_test(test_usage_csv_columns_renamed_and_fixed_meter),
		cmocka_unit_test(test_usage_csv_bad_records),
		cmocka_unit_test(test_usage_csv_bad_header),
		cmocka_unit_test(test_usage_csv_header_of_another_delimiter_is_named),
		cmocka_unit_test(test_focus_header_of_another_delimiter_is_named),
		cmocka_unit_test(test_focus_good),
		cmocka_unit_test(test_focus_key_column_and_fixed_meter),
		cmocka_unit_test(test_focus_category_attribute_name),
		cmocka_unit_test(test_focus_bad_records),
		cmocka_unit_test(test_asterisk_records),
		cmocka_unit_test(test_asterisk_time_zone),
		cmocka_unit_test(test_asterisk_clock_changes),
		cmocka_unit_test(test_asterisk_bad_records),
		cmocka_unit_test(test_reason_table_matches_migration),
		cmocka_unit_test(test_control_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
