/*
 * test_log.c - unit tests for the line-per-event logger (core/log.c): the
 * text line and the JSON line carry time, level, run, step and message on
 * one line; the minimum level filters. Output goes to a memory stream.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <regex.h>
#include <time.h>

#include <cmocka.h>

#include "err.h"
#include "log.h"

/* ---- a memory stream the logger writes into ---- */

struct capture {
	char *buf;
	size_t len;
	FILE *f;
};

static int setup(void **state)
{
	struct capture *c = calloc(1, sizeof(*c));
	c->f = open_memstream(&c->buf, &c->len);
	if (!c->f)
		return -1;
	log_set_stream(c->f);
	log_setup(0, LOG_INFO);
	log_set_run(0);
	log_set_step(NULL);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct capture *c = *state;
	log_set_stream(NULL);
	log_setup(0, LOG_INFO);
	log_set_run(0);
	log_set_step(NULL);
	fclose(c->f);
	free(c->buf);
	free(c);
	return 0;
}

/* What has been logged so far (the logger flushes after each line). */
static const char *logged(void **state)
{
	struct capture *c = *state;
	fflush(c->f);
	return c->buf ? c->buf : "";
}

static int count_char(const char *s, char ch)
{
	int n = 0;
	for (; *s; s++)
		n += *s == ch;
	return n;
}

static void assert_matches(const char *text, const char *pattern)
{
	regex_t re;
	assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	int rc = regexec(&re, text, 0, NULL, 0);
	regfree(&re);
	if (rc != 0)
		fail_msg("'%s' does not match /%s/", text, pattern);
}

/* The leading timestamp is UTC and within a minute of now. */
static void assert_timestamp_is_now(const char *ts)
{
	struct tm tm = { 0 };
	const char *end = strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm);
	assert_non_null(end);
	time_t t = timegm(&tm);
	time_t now = time(NULL);
	assert_true(t <= now + 1 && t >= now - 60);
}

/* ---- a small strict JSON reader: one object of string keys whose values
 * are strings or integers; fails the test on anything else ---- */

struct json_field {
	char key[32];
	char value[512];
	int is_string;
};

static const char *json_string(const char *p, char *out, size_t size)
{
	size_t n = 0;
	if (*p++ != '"')
		return NULL;
	while (*p != '"') {
		unsigned char c = (unsigned char)*p;
		if (c == '\0' || c < 0x20)
			return NULL; /* raw control characters are invalid JSON */
		if (c == '\\') {
			p++;
			switch (*p) {
			case '"': c = '"'; break;
			case '\\': c = '\\'; break;
			case '/': c = '/'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'u': {
				unsigned v = 0;
				for (int i = 1; i <= 4; i++) {
					char h = p[i];
					if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F')))
						return NULL;
					v = v * 16 + (unsigned)(h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
				}
				if (v > 0x7f)
					return NULL; /* the logger only escapes control characters */
				c = (unsigned char)v;
				p += 4;
				break;
			}
			default: return NULL;
			}
		}
		if (n + 1 < size)
			out[n++] = (char)c;
		p++;
	}
	out[n] = '\0';
	return p + 1;
}

/* Parse one line "{...}\n" into fields; returns the number of fields. */
static int json_parse_line(const char *line, struct json_field *f, int max)
{
	const char *p = line;
	int n = 0;
	if (*p++ != '{')
		fail_msg("not a JSON object: %s", line);
	while (*p != '}') {
		if (n >= max)
			fail_msg("too many fields: %s", line);
		if (n > 0 && *p++ != ',')
			fail_msg("expected ',' in: %s", line);
		p = json_string(p, f[n].key, sizeof(f[n].key));
		if (!p || *p++ != ':')
			fail_msg("bad key in: %s", line);
		if (*p == '"') {
			f[n].is_string = 1;
			p = json_string(p, f[n].value, sizeof(f[n].value));
			if (!p)
				fail_msg("bad string value in: %s", line);
		} else {
			size_t k = 0;
			f[n].is_string = 0;
			if (*p == '-')
				f[n].value[k++] = *p++;
			if (!(*p >= '0' && *p <= '9'))
				fail_msg("bad value in: %s", line);
			while (*p >= '0' && *p <= '9' && k + 1 < sizeof(f[n].value))
				f[n].value[k++] = *p++;
			f[n].value[k] = '\0';
		}
		n++;
	}
	if (strcmp(p, "}\n") != 0)
		fail_msg("trailing text after the object: %s", line);
	return n;
}

static const struct json_field *json_get(const struct json_field *f, int n, const char *key)
{
	for (int i = 0; i < n; i++)
		if (strcmp(f[i].key, key) == 0)
			return &f[i];
	return NULL;
}

/* ---- text form ---- */

static void text_line_has_time_level_run_step_and_message(void **state)
{
	log_set_run(42);
	log_set_step("rate");
	log_info("rated %d records", 1200);
	const char *out = logged(state);
	assert_int_equal(count_char(out, '\n'), 1);
	assert_matches(out, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
			    "INFO +run=42 step=rate rated 1200 records\n$");
	assert_timestamp_is_now(out);
}

static void text_line_names_each_level(void **state)
{
	log_setup(0, LOG_DEBUG);
	log_debug("a");
	log_info("b");
	log_warn("c");
	log_error("d");
	assert_matches(logged(state), "^[^\n]+ DEBUG a\n[^\n]+ INFO +b\n[^\n]+ WARN +c\n[^\n]+ ERROR d\n$");
}

static void text_line_leaves_out_run_and_step_when_unset(void **state)
{
	log_info("starting");
	const char *out = logged(state);
	assert_matches(out, "^[^ ]+Z INFO +starting\n$");
	assert_null(strstr(out, "run="));
	assert_null(strstr(out, "step="));
}

static void text_message_with_newlines_stays_on_one_line(void **state)
{
	log_set_run(7);
	log_set_step("ingest");
	log_warn("first line\nsecond line\r\nthird");
	const char *out = logged(state);
	assert_int_equal(count_char(out, '\n'), 1);
	assert_int_equal(count_char(out, '\r'), 0);
	assert_matches(out, " WARN +run=7 step=ingest first line second line  third\n$");
}

static void log_err_puts_message_detail_and_hint_on_one_line(void **state)
{
	struct err e;
	err_set(&e, ERR_DB, "insert failed");
	err_detail(&e, "Key (id)=(1)\nalready exists.");
	err_hint(&e, "use another id");
	log_err(&e);
	const char *out = logged(state);
	assert_int_equal(count_char(out, '\n'), 1);
	assert_matches(out, " ERROR insert failed \\(detail: Key \\(id\\)=\\(1\\) already exists\\.\\) "
			    "\\(hint: use another id\\)\n$");
}

/* ---- JSON form ---- */

static void json_line_is_valid_json_with_all_fields(void **state)
{
	struct json_field f[8];
	log_setup(1, LOG_INFO);
	log_set_run(42);
	log_set_step("rate");
	log_info("rated %d records", 5);
	const char *out = logged(state);
	assert_int_equal(count_char(out, '\n'), 1);
	int n = json_parse_line(out, f, 8);
	assert_int_equal(n, 5);
	const struct json_field *ts = json_get(f, n, "ts"), *level = json_get(f, n, "level"),
				*run = json_get(f, n, "run"), *step = json_get(f, n, "step"),
				*msg = json_get(f, n, "msg");
	assert_non_null(ts);
	assert_non_null(level);
	assert_non_null(run);
	assert_non_null(step);
	assert_non_null(msg);
	assert_matches(ts->value, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$");
	assert_timestamp_is_now(ts->value);
	assert_string_equal(level->value, "info");
	assert_false(run->is_string);
	assert_string_equal(run->value, "42");
	assert_string_equal(step->value, "rate");
	assert_string_equal(msg->value, "rated 5 records");
}

static void json_escapes_quotes_backslashes_and_control_characters(void **state)
{
	struct json_field f[8];
	log_setup(1, LOG_INFO);
	log_set_step("step \"x\"");
	log_error("file \"C:\\spool\\a.csv\"\tbad\x01 line\nnext");
	const char *out = logged(state);
	assert_int_equal(count_char(out, '\n'), 1);
	int n = json_parse_line(out, f, 8);
	assert_int_equal(n, 4); /* no run field: run id 0 */
	assert_null(json_get(f, n, "run"));
	assert_string_equal(json_get(f, n, "level")->value, "error");
	assert_string_equal(json_get(f, n, "step")->value, "step \"x\"");
	/* The newline is folded before encoding; the rest round-trips. */
	assert_string_equal(json_get(f, n, "msg")->value, "file \"C:\\spool\\a.csv\"\tbad\x01 line next");
}

static void json_passes_utf8_through(void **state)
{
	struct json_field f[8];
	log_setup(1, LOG_INFO);
	log_info("Zürich – 東京");
	int n = json_parse_line(logged(state), f, 8);
	assert_string_equal(json_get(f, n, "msg")->value, "Zürich – 東京");
}

static void log_is_json_reports_the_form(void **state)
{
	log_setup(1, LOG_INFO);
	assert_true(log_is_json());
	log_setup(0, LOG_INFO);
	assert_false(log_is_json());
}

/* ---- filtering ---- */

static void min_level_filters_lower_levels(void **state)
{
	log_setup(0, LOG_WARN);
	log_debug("hidden debug");
	log_info("hidden info");
	log_warn("shown warn");
	log_error("shown error");
	const char *out = logged(state);
	assert_int_equal(count_char(out, '\n'), 2);
	assert_null(strstr(out, "hidden"));
	assert_non_null(strstr(out, "shown warn"));
	assert_non_null(strstr(out, "shown error"));
}

static void default_level_info_hides_debug(void **state)
{
	log_debug("hidden");
	log_info("shown");
	const char *out = logged(state);
	assert_null(strstr(out, "hidden"));
	assert_non_null(strstr(out, "shown"));
}

static void level_names_parse_and_unknown_is_rejected(void **state)
{
	enum log_level l = LOG_ERROR;
	assert_int_equal(log_level_parse("debug", &l), 0);
	assert_int_equal(l, LOG_DEBUG);
	assert_int_equal(log_level_parse("warn", &l), 0);
	assert_int_equal(l, LOG_WARN);
	assert_int_equal(log_level_parse("error", &l), 0);
	assert_int_equal(l, LOG_ERROR);
	assert_int_equal(log_level_parse("info", &l), 0);
	assert_int_equal(l, LOG_INFO);
	assert_int_equal(log_level_parse("loud", &l), -1);
	assert_int_equal(log_level_parse("INFO", &l), -1);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(text_line_has_time_level_run_step_and_message),
		T(text_line_names_each_level),
		T(text_line_leaves_out_run_and_step_when_unset),
		T(text_message_with_newlines_stays_on_one_line),
		T(log_err_puts_message_detail_and_hint_on_one_line),
		T(json_line_is_valid_json_with_all_fields),
		T(json_escapes_quotes_backslashes_and_control_characters),
		T(json_passes_utf8_through),
		T(log_is_json_reports_the_form),
		T(min_level_filters_lower_levels),
		T(default_level_info_hides_debug),
		T(level_names_parse_and_unknown_is_rejected),
	};
	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
