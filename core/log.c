/*
 * log.c - the line-per-event logger (text or JSON lines) on stderr.
 */
#include "log.h"
#include "err.h"

#include <stdarg.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static struct {
	int json;
	enum log_level min;
	FILE *stream;
	int64_t run_id;
	char step[128];
} logger = { 0, LOG_INFO, NULL, 0, "" };

static const char *level_names[] = { "debug", "info", "warn", "error" };

void log_setup(int json, enum log_level min_level)
{
	logger.json = json;
	logger.min = min_level;
}

int log_is_json(void)
{
	return logger.json;
}

void log_set_stream(FILE *stream)
{
	logger.stream = stream;
}

void log_set_run(int64_t run_id)
{
	logger.run_id = run_id;
}

void log_set_step(const char *step)
{
	snprintf(logger.step, sizeof(logger.step), "%s", step ? step : "");
}

int log_level_parse(const char *name, enum log_level *out)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	return -1;
}

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

static void timestamp(char *buf, size_t size)
{
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, size - n, ".%03dZ", (int)(tv.tv_usec / 1000));
}

static void emit(enum log_level level, const char *msg)
{
	FILE *f = logger.stream ? logger.stream : stderr;
	char ts[40];

	timestamp(ts, sizeof(ts));
	if (logger.json) {
		fprintf(f, "{\"ts\":\"%s\",\"level\":\"%s\"", ts, level_names[level]);
		if (logger.run_id)
			fprintf(f, ",\"run\":%lld", (long long)logger.run_id);
		if (logger.step[0]) {
			fputs(",\"step\":", f);
			json_string(f, logger.step);
		}
		fputs(",\"msg\":", f);
		json_string(f, msg);
		fputs("}\n", f);
	} else {
		fprintf(f, "%s %-5s", ts, level == LOG_WARN ? "WARN" : level == LOG_ERROR ? "ERROR" :
					  level == LOG_DEBUG ? "DEBUG" : "INFO");
		if (logger.run_id)
			fprintf(f, " run=%lld", (long long)logger.run_id);
		if (logger.step[0])
			fprintf(f, " step=%s", logger.step);
		fprintf(f, " %s\n", msg);
	}
	fflush(f);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (level < logger.min)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* One event is one line: fold embedded newlines. */
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	emit(level, msg);
}

void log_err(const struct err *e)
{
	char line[ERR_MSG_MAX * 3 + 64];
	int n = snprintf(line, sizeof(line), "%s", e->message);

	if (e->detail[0] && n < (int)sizeof(line))
		n += snprintf(line + n, sizeof(line) - n, " (detail: %s)", e->detail);
	if (e->hint[0] && n < (int)sizeof(line))
		snprintf(line + n, sizeof(line) - n, " (hint: %s)", e->hint);
	log_msg(LOG_ERROR, "%s", line);
}
