/*
 * progress.c - periodic progress lines for long steps, and a live
 * carriage-return line on a terminal (see progress.h).
 */
#include "progress.h"
#include "log.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

/* How often the terminal line is redrawn: often enough to look alive,
 * rarely enough to cost nothing. */
#define TTY_REDRAW_MS 250

static struct {
	int active;
	char name[96];
	int64_t total, done;
	int64_t started_ms, last_log_ms, last_draw_ms;
	int drawn;               /* the terminal line is showing */
	int64_t (*clock_ms)(void);
	int64_t interval_ms;
	FILE *tty;
	int tty_set;             /* progress_configure chose the terminal */
} progress;

static int64_t monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_ms(void)
{
	return progress.clock_ms ? progress.clock_ms() : monotonic_ms();
}

static FILE *tty(void)
{
	if (progress.tty_set)
		return progress.tty;
	return isatty(2) ? stderr : NULL;
}

void progress_configure(int64_t (*clock_ms)(void), int64_t interval_ms, FILE *tty_stream)
{
	progress.clock_ms = clock_ms;
	progress.interval_ms = interval_ms;
	progress.tty = tty_stream;
	progress.tty_set = tty_stream != NULL;
}

void progress_format_duration(int64_t ms, char *buf, size_t size)
{
	if (ms < 0)
		ms = 0;
	int64_t s = (ms + 500) / 1000;
	if (ms < 1000)
		snprintf(buf, size, "%lldms", (long long)ms);
	else if (s < 60)
		snprintf(buf, size, "%llds", (long long)s);
	else if (s < 3600)
		snprintf(buf, size, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
	else if (s < 86400)
		snprintf(buf, size, "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
	else
		snprintf(buf, size, "%lldd%02lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
}

/* Items per second so far, or 0 before any time has passed. Floating
 * point is fine here: it is a display figure, never an amount. */
static double rate_per_s(int64_t now)
{
	int64_t elapsed = now - progress.started_ms;
	return elapsed > 0 ? (double)progress.done * 1000.0 / (double)elapsed : 0.0;
}

static void format_rate(double rate, char *buf, size_t size)
{
	snprintf(buf, size, rate >= 100.0 ? "%.0f/s" : "%.1f/s", rate);
}

/* "1234 of 5000 (24.7 %), 98.2/s, about 38s left" or "1234 done, 98.2/s". */
static void describe(int64_t now, char *buf, size_t size)
{
	char rate[32], left[32];
	double r = rate_per_s(now);

	format_rate(r, rate, sizeof(rate));
	if (progress.total > 0) {
		double pct = 100.0 * (double)progress.done / (double)progress.total;
		int64_t remaining = progress.total - progress.done;
		if (remaining < 0)
			remaining = 0;
		if (r > 0.0) {
			progress_format_duration((int64_t)((double)remaining / r * 1000.0), left, sizeof(left));
			snprintf(buf, size, "%lld of %lld (%.1f %%), %s, about %s left", (long long)progress.done,
				 (long long)progress.total, pct, rate, left);
		} else {
			snprintf(buf, size, "%lld of %lld (%.1f %%), %s, time left not known yet",
				 (long long)progress.done, (long long)progress.total, pct, rate);
		}
	} else {
		snprintf(buf, size, "%lld done, %s", (long long)progress.done, rate);
	}
}

static void clear_line(void)
{
	FILE *t = tty();
	if (t && progress.drawn) {
		fputs("\r\033[K", t);
		fflush(t);
	}
	progress.drawn = 0;
}

static void draw_line(int64_t now)
{
	FILE *t = tty();
	char text[256];
	if (!t)
		return;
	describe(now, text, sizeof(text));
	fprintf(t, "\r\033[K%s: %s", progress.name, text);
	fflush(t);
	progress.drawn = 1;
	progress.last_draw_ms = now;
}

void progress_start(const char *name, int64_t total)
{
	clear_line();
	memset(progress.name, 0, sizeof(progress.name));
	snprintf(progress.name, sizeof(progress.name), "%s", name ? name : "progress");
	progress.total = total > 0 ? total : 0;
	progress.done = 0;
	progress.started_ms = now_ms();
	progress.last_log_ms = progress.started_ms;
	progress.last_draw_ms = 0;
	progress.active = 1;
	if (progress.total > 0)
		log_info("%s: starting, %lld to do", progress.name, (long long)progress.total);
	else
		log_info("%s: starting", progress.name);
}

void progress_update(int64_t done)
{
	if (!progress.active)
		return;
	progress.done = done;
	int64_t now = now_ms();
	int64_t interval = progress.interval_ms > 0 ? progress.interval_ms : PROGRESS_LOG_INTERVAL_MS;
	if (now - progress.last_log_ms >= interval) {
		char text[256];
		describe(now, text, sizeof(text));
		clear_line();
		log_info("%s: %s", progress.name, text);
		progress.last_log_ms = now;
		draw_line(now);
	} else if (now - progress.last_draw_ms >= TTY_REDRAW_MS) {
		draw_line(now);
	}
}

void progress_finish(void)
{
	if (!progress.active)
		return;
	int64_t now = now_ms();
	char took[32], rate[32];
	clear_line();
	progress_format_duration(now - progress.started_ms, took, sizeof(took));
	format_rate(rate_per_s(now), rate, sizeof(rate));
	log_info("%s: %lld done in %s (%s)", progress.name, (long long)progress.done, took, rate);
	progress.active = 0;
}
