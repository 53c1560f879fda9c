/*
 * run_report.c - renders a run as one self-contained HTML page: facts, an
 * SVG timeline of attempts against SLA deadlines and predicted finishes,
 * tables of steps, attempts, SLA events, and counts and amounts.
 */
#include "run_report.h"
#include "cfg.h"
#include "db.h"
#include "err.h"
#include "fs.h"
#include "progress.h"
#include "sqltext.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Timeline geometry, in SVG user units (pixels at 100 %). */
#define TL_WIDTH 1120
#define TL_LABEL_W 180
#define TL_RIGHT_W 96
#define TL_TOP 50
#define TL_ROW_H 34
#define TL_BAR_H 16
#define TL_BOTTOM 30

/* Warnings listed one by one in the page; the rest are counted. */
#define REPORT_WARNINGS 200

enum marker_kind { MARK_DEADLINE, MARK_PREDICTED, MARK_NOW };

/* A vertical line on the timeline: across every row (row -1) or one. */
struct marker {
	enum marker_kind kind;
	int64_t at;
	int row;
	int late;            /* a deadline that was (or is being) missed */
	char label[96];
	char title[320];
};

struct report {
	PGresult *run, *steps, *attempts, *deadlines, *events, *counts, *amounts, *warnings, *warning_counts, *totals,
		*invoiced;
	int has_deadlines, has_events;
	char sla_error[ERR_MSG_MAX], counts_error[ERR_MSG_MAX], amounts_error[ERR_MSG_MAX], warnings_error[ERR_MSG_MAX];
	int64_t started, ended, now;   /* ended = 0 while running */
	int64_t t0, t1;                /* the timeline's span */
	struct marker markers[64];
	int nmarkers;
};

/* ---- small helpers ---- */

static int64_t cell_i64(const PGresult *r, int row, int col)
{
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static const char *cell(const PGresult *r, int row, int col)
{
	return PQgetvalue(r, row, col);
}

static void html(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}

/* Local wall-clock time of a Unix millisecond: "02:13:05", or with the
 * date "2026-01-02 02:13:05". */
static void clock_text(int64_t ms, int with_date, char *buf, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(buf, size, with_date ? "%Y-%m-%d %H:%M:%S" : "%H:%M:%S", &tm);
}

static void duration_text(int64_t ms, char *buf, size_t size)
{
	progress_format_duration(ms, buf, size);
}

static int step_row(const struct report *r, const char *step)
{
	for (int i = 0; i < PQntuples(r->steps); i++)
		if (strcmp(cell(r->steps, i, 0), step) == 0)
			return i;
	return -1;
}

static const char *status_colour(const char *status)
{
	static const struct { const char *status, *colour; } colours[] = {
		{ "success", "#2e7d32" }, { "failed", "#c62828" },    { "retryable", "#ef6c00" },
		{ "timeout", "#6a1b9a" }, { "crashed", "#ad1457" },   { "abandoned", "#757575" },
		{ "running", "#1565c0" }, { "upstream_failed", "#9e9e9e" }, { "skipped", "#bdbdbd" },
		{ "pending", "#bdbdbd" }, { "retry_wait", "#ef6c00" },
	};
	for (size_t i = 0; i < sizeof(colours) / sizeof(colours[0]); i++)
		if (strcmp(colours[i].status, status) == 0)
			return colours[i].colour;
	return "#607d8b";
}

static void status_pill(FILE *f, const char *status)
{
	fprintf(f, "<span class=\"pill\" style=\"background:%s\">", status_colour(status));
	for (const char *p = status; *p; p++)
		fputc(*p == '_' ? ' ' : *p, f);
	fputs("</span>", f);
}

/* ---- loading ---- */

static void report_release(struct report *r)
{
	PGresult **all[] = { &r->totals, &r->invoiced, &r->run,    &r->steps,   &r->attempts, &r->deadlines,     &r->events,
			     &r->counts, &r->amounts, &r->warnings, &r->warning_counts };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		PQclear(*all[i]);
		*all[i] = NULL;
	}
}

/* An optional section: on failure keep the message for the page. */
static PGresult *optional_query(struct db *db, const char *sql, const char *id, char *error, size_t size)
{
	struct err e;
	const char *params[] = { id };
	err_clear(&e);
	PGresult *res = db_query(db, &e, sql, id ? 1 : 0, id ? params : NULL);
	if (!res)
		snprintf(error, size, "%s", e.message);
	return res;
}

static int report_load(struct report *r, struct db *db, int64_t run_id, struct err *e)
{
	char id[32];
	snprintf(id, sizeof(id), "%lld", (long long)run_id);
	const char *params[] = { id };

	r->run = db_query(db, e, SQL_report_run, 1, params);
	if (!r->run)
		return -1;
	if (PQntuples(r->run) < 1)
		return err_set(e, ERR_NOT_FOUND, "no run %s", id);
	r->steps = db_query(db, e, SQL_report_steps, 1, params);
	if (!r->steps)
		return -1;
	r->attempts = db_query(db, e, SQL_report_attempts, 1, params);
	if (!r->attempts)
		return -1;
	r->started = cell_i64(r->run, 0, 13);
	r->ended = cell_i64(r->run, 0, 14);
	r->now = cell_i64(r->run, 0, 15);

	PGresult *present = optional_query(db, SQL_report_sla_tables, NULL, r->sla_error, sizeof(r->sla_error));
	if (present) {
		r->has_deadlines = strcmp(cell(present, 0, 0), "t") == 0;
		r->has_events = strcmp(cell(present, 0, 1), "t") == 0;
		PQclear(present);
	}
	if (r->has_deadlines)
		r->deadlines = optional_query(db, SQL_report_sla_deadlines, id, r->sla_error, sizeof(r->sla_error));
	if (r->has_events)
		r->events = optional_query(db, SQL_report_sla_events, id, r->sla_error, sizeof(r->sla_error));
	r->counts = optional_query(db, SQL_report_counts, id, r->counts_error, sizeof(r->counts_error));
	r->amounts = optional_query(db, SQL_report_amounts, id, r->amounts_error, sizeof(r->amounts_error));
	r->totals = optional_query(db, SQL_report_totals, id, r->counts_error, sizeof(r->counts_error));
	r->invoiced = optional_query(db, SQL_report_invoiced, id, r->counts_error, sizeof(r->counts_error));
	r->warning_counts = optional_query(db, SQL_warnings_counts, id, r->warnings_error, sizeof(r->warnings_error));
	if (r->warning_counts) {
		char limit[16];
		snprintf(limit, sizeof(limit), "%d", REPORT_WARNINGS);
		const char *wp[] = { id, limit };
		struct err we;
		err_clear(&we);
		r->warnings = db_query(db, &we, SQL_warnings_list, 2, wp);
		if (!r->warnings)
			snprintf(r->warnings_error, sizeof(r->warnings_error), "%s", we.message);
	}
	return 0;
}

/* When a step (row >= 0) or the run (row -1) finished, or 0 if not yet. */
static int64_t finished_at(const struct report *r, int row)
{
	if (row < 0)
		return r->ended;
	const char *st = cell(r->steps, row, 1);
	if (strcmp(st, "running") == 0 || strcmp(st, "retry_wait") == 0 || strcmp(st, "pending") == 0)
		return 0;
	return cell_i64(r->steps, row, 4);
}

static void add_marker(struct report *r, enum marker_kind kind, int64_t at, int row, const char *label,
		       const char *title, int late)
{
	if (r->nmarkers == (int)(sizeof(r->markers) / sizeof(r->markers[0])))
		return;
	struct marker *m = &r->markers[r->nmarkers++];
	m->kind = kind;
	m->at = at;
	m->row = row;
	m->late = late;
	snprintf(m->label, sizeof(m->label), "%s", label);
	snprintf(m->title, sizeof(m->title), "%s", title);
}

static int has_deadline_marker(const struct report *r, int row, int64_t at)
{
	for (int i = 0; i < r->nmarkers; i++)
		if (r->markers[i].kind == MARK_DEADLINE && r->markers[i].row == row && r->markers[i].at == at)
			return 1;
	return 0;
}

/* Is a deadline late: finished after it, or unfinished and past it? */
static int deadline_late(const struct report *r, int row, int64_t deadline)
{
	int64_t fin = finished_at(r, row);
	return fin ? fin > deadline : r->now > deadline;
}

static void collect_markers(struct report *r)
{
	char clock[32], text[96], title[320];
	for (int i = 0; r->deadlines && i < PQntuples(r->deadlines); i++) {
		const char *step = cell(r->deadlines, i, 0);
		int row = *step ? step_row(r, step) : -1;
		if (*step && row < 0)
			continue;
		int64_t at = cell_i64(r->deadlines, i, 2);
		int late = deadline_late(r, row, at);
		clock_text(at, 0, clock, sizeof(clock));
		snprintf(text, sizeof(text), "%s deadline %s", *step ? step : "run", clock);
		snprintf(title, sizeof(title), "%s deadline %s (sla \"%s\"): %s", *step ? step : "run", clock,
			 cell(r->deadlines, i, 1), late ? "missed" : finished_at(r, row) ? "met" : "not reached yet");
		add_marker(r, MARK_DEADLINE, at, row, text, title, late);
	}
	for (int i = 0; r->events && i < PQntuples(r->events); i++) {
		const char *step = cell(r->events, i, 0);
		int row = *step ? step_row(r, step) : -1;
		if (*step && row < 0)
			continue;
		int64_t deadline = cell_i64(r->events, i, 2), projected = cell_i64(r->events, i, 3);
		char raised[32];
		clock_text(cell_i64(r->events, i, 4), 0, raised, sizeof(raised));
		/* Deadlines known only from an event (no sla_deadlines row). */
		if (!has_deadline_marker(r, row, deadline)) {
			clock_text(deadline, 0, clock, sizeof(clock));
			snprintf(text, sizeof(text), "%s deadline %s", *step ? step : "run", clock);
			snprintf(title, sizeof(title), "%s deadline %s: %s", *step ? step : "run", clock,
				 strcmp(cell(r->events, i, 1), "miss") == 0 ? "missed" : "predicted to be missed");
			add_marker(r, MARK_DEADLINE, deadline, row, text, title, deadline_late(r, row, deadline));
		}
		if (strcmp(cell(r->events, i, 1), "predicted_miss") == 0 && projected > 0) {
			char dl[32];
			clock_text(projected, 0, clock, sizeof(clock));
			clock_text(deadline, 0, dl, sizeof(dl));
			snprintf(text, sizeof(text), "%s predicted %s", *step ? step : "run", clock);
			snprintf(title, sizeof(title),
				 "predicted finish of %s: %s, after its deadline %s (warned at %s)",
				 *step ? step : "the run", clock, dl, raised);
			add_marker(r, MARK_PREDICTED, projected, row, text, title, 1);
		}
	}
	if (!r->ended) {
		clock_text(r->now, 0, clock, sizeof(clock));
		snprintf(title, sizeof(title), "the run was still going when this report was written (%s)", clock);
		add_marker(r, MARK_NOW, r->now, -1, "now", title, 0);
	}
}

/* The span drawn: the run's attempts, from the first start to the last
 * end (or now), stretched to predicted finishes and deadlines that lie
 * no more than half the run's length beyond it, so that the bars keep at
 * least two thirds of the width. Markers outside the span are not drawn
 * at an edge, as if they were inside the run: they are stated in words
 * under the chart (outside_markers). */
static void choose_span(struct report *r)
{
	int64_t t0 = r->started, end = r->ended ? r->ended : r->now;
	for (int i = 0; i < PQntuples(r->attempts); i++) {
		int64_t s = cell_i64(r->attempts, i, 3), e = cell_i64(r->attempts, i, 4);
		if (s && s < t0)
			t0 = s;
		if (e > end)
			end = e;
	}
	if (end - t0 < 100)
		end = t0 + 100; /* the axis's finest ticks are 10 ms apart */
	int64_t reach = end + (end - t0) / 2, last = end;
	for (int i = 0; i < r->nmarkers; i++)
		if (r->markers[i].at > last && r->markers[i].at <= reach)
			last = r->markers[i].at;
	int64_t pad = (last - t0) / 40 + 1;
	r->t0 = t0 - pad;
	r->t1 = last + pad;
}

static int outside(const struct report *r, int64_t at)
{
	return at < r->t0 || at > r->t1;
}

static double x_of(const struct report *r, int64_t t)
{
	double w = TL_WIDTH - TL_LABEL_W - TL_RIGHT_W;
	if (t < r->t0)
		t = r->t0;
	if (t > r->t1)
		t = r->t1;
	return TL_LABEL_W + w * (double)(t - r->t0) / (double)(r->t1 - r->t0);
}

/* ---- the timeline ---- */

static void draw_axis(FILE *f, const struct report *r, int plot_bottom)
{
	static const int64_t steps[] = { 10,     20,     50,     100,     200,      250,      500,     1000,
					 2000,   5000,   10000,  15000,   30000,    60000,    120000,  300000,
					 600000, 900000, 1800000, 3600000, 7200000, 10800000, 21600000, 43200000,
					 86400000 };
	int64_t span = r->t1 - r->t0, step = steps[sizeof(steps) / sizeof(steps[0]) - 1];
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (span / steps[i] <= 8) {
			step = steps[i];
			break;
		}
	/* Ticks fall on round local times: shift by the zone's offset. */
	time_t t = (time_t)(r->t0 / 1000);
	struct tm tm;
	localtime_r(&t, &tm);
	int64_t off = (int64_t)tm.tm_gmtoff * 1000;
	int64_t first = ((r->t0 + off + step - 1) / step) * step - off;
	for (int64_t at = first; at <= r->t1; at += step) {
		double x = x_of(r, at);
		char label[32];
		time_t s = (time_t)(at / 1000);
		localtime_r(&s, &tm);
		strftime(label, sizeof(label), step >= 60000 ? "%H:%M" : "%H:%M:%S", &tm);
		if (step < 1000) {
			size_t n = strlen(label);
			snprintf(label + n, sizeof(label) - n, step % 100 == 0 ? ".%01d" : ".%02d",
				 step % 100 == 0 ? (int)(at % 1000 / 100) : (int)(at % 1000 / 10));
		}
		fprintf(f, "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>\n", x, TL_TOP - 4, x,
			plot_bottom);
		fprintf(f, "<text class=\"tick\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", x,
			plot_bottom + 16, label);
	}
}

/* Where marker labels go without overwriting each other: a few lines of
 * text above the plot for run-wide markers, the top and bottom edge of a
 * row for a step's. Each line remembers the spans it holds. */
#define LABEL_ROWS 64
struct label_lines {
	double from[3 + 2 * LABEL_ROWS][16], to[3 + 2 * LABEL_ROWS][16];
	int n[3 + 2 * LABEL_ROWS];
};

/* Find a free line among `count` starting at `first` for [a, b]; take the
 * first line when all are busy. */
static int take_line(struct label_lines *l, int first, int count, double a, double b)
{
	for (int k = first; k < first + count; k++) {
		int free_here = 1;
		for (int i = 0; i < l->n[k]; i++)
			if (a < l->to[k][i] + 6 && b > l->from[k][i] - 6)
				free_here = 0;
		if (free_here) {
			if (l->n[k] < 16) {
				l->from[k][l->n[k]] = a;
				l->to[k][l->n[k]++] = b;
			}
			return k;
		}
	}
	return first;
}

static void draw_marker(FILE *f, const struct report *r, const struct marker *m, int nrows,
			struct label_lines *lines)
{
	if (outside(r, m->at))
		return; /* in words under the chart */
	double x = x_of(r, m->at);
	int y1 = m->row < 0 ? TL_TOP - 4 : TL_TOP + m->row * TL_ROW_H + 2;
	int y2 = m->row < 0 ? TL_TOP + nrows * TL_ROW_H : TL_TOP + (m->row + 1) * TL_ROW_H - 2;
	const char *cls = m->kind == MARK_DEADLINE ? (m->late ? "deadline late" : "deadline")
			  : m->kind == MARK_PREDICTED ? "predicted" : "now";
	fprintf(f, "<g class=\"marker\"><title>");
	html(f, m->title);
	fputs("</title>\n", f);
	fprintf(f, "<line class=\"%s\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>\n", cls, x, y1, x, y2);
	char label[160];
	snprintf(label, sizeof(label), "%s", m->label);
	/* Text width estimated from the glyph count (bold 11 px sans). */
	double width = 6.4 * (double)strlen(label) + 4, a, b;
	const char *anchor;
	if (x + width / 2 > TL_WIDTH - 4) {
		anchor = "end";
		a = x - width;
		b = x;
	} else if (m->row >= 0 || x - width / 2 < 4) {
		anchor = "start";
		a = x + 3;
		b = x + 3 + width;
	} else {
		anchor = "middle";
		a = x - width / 2;
		b = x + width / 2;
	}
	int y;
	if (m->row < 0) {
		int k = take_line(lines, 0, 3, a, b);
		y = 12 + k * 13;
	} else {
		/* Lines 3.. are two per row: its top edge, then its bottom edge. */
		int first = 3 + 2 * (m->row % LABEL_ROWS);
		int k = take_line(lines, first, 2, a, b) - first;
		y = TL_TOP + m->row * TL_ROW_H + (k == 0 ? 8 : TL_ROW_H - 1);
	}
	fprintf(f, "<text class=\"mlabel%s %s\" x=\"%.1f\" y=\"%d\" text-anchor=\"%s\">", m->row < 0 ? "" : " small",
		cls, strcmp(anchor, "start") == 0 && m->row >= 0 ? x + 3 : x, y, anchor);
	html(f, label);
	fputs("</text></g>\n", f);
}

static void draw_step_row(FILE *f, const struct report *r, int row)
{
	const char *step = cell(r->steps, row, 0), *status = cell(r->steps, row, 1);
	int y = TL_TOP + row * TL_ROW_H, bar_y = y + (TL_ROW_H - TL_BAR_H) / 2;
	char text[64];

	if (row % 2)
		fprintf(f, "<rect class=\"stripe\" x=\"0\" y=\"%d\" width=\"%d\" height=\"%d\"/>\n", y, TL_WIDTH,
			TL_ROW_H);
	fprintf(f, "<text class=\"step\" x=\"%d\" y=\"%d\">", TL_LABEL_W - 10, bar_y + TL_BAR_H - 3);
	html(f, step);
	fputs("</text>\n", f);

	int64_t prev_end = 0;
	int nattempts = 0;
	for (int i = 0; i < PQntuples(r->attempts); i++) {
		if (strcmp(cell(r->attempts, i, 0), step) != 0)
			continue;
		const char *ast = cell(r->attempts, i, 2);
		int64_t s = cell_i64(r->attempts, i, 3), e = cell_i64(r->attempts, i, 4);
		int open = e == 0;
		if (open)
			e = r->ended ? r->ended : r->now;
		double x1 = x_of(r, s), x2 = x_of(r, e);
		if (x2 - x1 < 2)
			x2 = x1 + 2;
		if (prev_end && s > prev_end) {
			char wait[32];
			duration_text(s - prev_end, wait, sizeof(wait));
			fprintf(f, "<line class=\"wait\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"><title>waited %s before attempt %s</title></line>\n",
				x_of(r, prev_end), bar_y + TL_BAR_H / 2, x1, bar_y + TL_BAR_H / 2, wait,
				cell(r->attempts, i, 1));
		}
		char from[32], to[32], took[32];
		clock_text(s, 0, from, sizeof(from));
		clock_text(e, 0, to, sizeof(to));
		duration_text(e - s, took, sizeof(took));
		fprintf(f, "<rect class=\"bar%s\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" rx=\"2\" fill=\"%s\"><title>",
			open ? " open" : "", x1, bar_y, x2 - x1, TL_BAR_H, status_colour(ast));
		html(f, step);
		fprintf(f, " attempt %s: %s, %s to %s (%s)", cell(r->attempts, i, 1), ast, from, open ? "now" : to,
			took);
		if (*cell(r->attempts, i, 5))
			fprintf(f, ", exit %s", cell(r->attempts, i, 5));
		if (*cell(r->attempts, i, 6))
			fprintf(f, ", signal %s", cell(r->attempts, i, 6));
		if (*cell(r->attempts, i, 7)) {
			fputs(": ", f);
			html(f, cell(r->attempts, i, 7));
		}
		fputs("</title></rect>\n", f);
		nattempts++;
		if (x2 - x1 >= 22 && cell_i64(r->steps, row, 2) > 1)
			fprintf(f, "<text class=\"inbar\" x=\"%.1f\" y=\"%d\">#%s</text>\n", x1 + 4, bar_y + TL_BAR_H - 4,
				cell(r->attempts, i, 1));
		prev_end = e;
	}
	/* At the right: how long the step took, or why it did not run. */
	int64_t s = cell_i64(r->steps, row, 3), e = cell_i64(r->steps, row, 4);
	if (nattempts == 0)
		snprintf(text, sizeof(text), "%s", status);
	else if (e && strcmp(status, "running") != 0 && strcmp(status, "retry_wait") != 0)
		duration_text(e - s, text, sizeof(text));
	else
		snprintf(text, sizeof(text), "%s", status);
	for (char *p = text; *p; p++)
		if (*p == '_')
			*p = ' ';
	if (nattempts == 0)
		fprintf(f, "<text class=\"notrun\" x=\"%d\" y=\"%d\">%s%s%s</text>\n", TL_LABEL_W + 6,
			bar_y + TL_BAR_H - 3, strcmp(status, "pending") == 0 ? "not started yet" : "not run (",
			strcmp(status, "pending") == 0 ? "" : text, strcmp(status, "pending") == 0 ? "" : ")");
	else
		fprintf(f, "<text class=\"took\" x=\"%d\" y=\"%d\">%s</text>\n", TL_WIDTH - TL_RIGHT_W + 10,
			bar_y + TL_BAR_H - 3, text);
}

/* Deadlines and predicted finishes that lie outside the drawn span, in
 * words: when, and how far before the run's start or after its end. */
static void outside_markers(FILE *f, const struct report *r)
{
	int n = 0;
	int64_t end = r->ended ? r->ended : r->now;
	for (int i = 0; i < r->nmarkers; i++) {
		const struct marker *m = &r->markers[i];
		if (!outside(r, m->at))
			continue;
		if (n++ == 0)
			fputs("<p class=\"outside\">Outside the timeline:</p>\n<ul class=\"outside\">\n", f);
		char when[40], gap[32];
		clock_text(m->at, 1, when, sizeof(when));
		int before = m->at < r->t0;
		duration_text(before ? r->started - m->at : m->at - end, gap, sizeof(gap));
		fprintf(f, "<li class=\"%s\">", m->kind == MARK_DEADLINE && m->late ? "late" : "");
		html(f, m->label);
		fprintf(f, " (%s): %s %s the run %s", when, gap, before ? "before" : "after", before ? "started" : r->ended ? "ended" : "so far");
		if (m->kind == MARK_DEADLINE)
			fputs(m->late ? ", missed" : finished_at(r, m->row) ? ", met" : ", not reached yet", f);
		fputs("</li>\n", f);
	}
	if (n)
		fputs("</ul>\n", f);
}

static void draw_timeline(FILE *f, const struct report *r)
{
	int nrows = PQntuples(r->steps);
	int plot_bottom = TL_TOP + nrows * TL_ROW_H;
	int height = plot_bottom + TL_BOTTOM;

	fputs("<div class=\"tlwrap\">", f);
	fprintf(f, "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"timeline of the run's steps\">\n",
		TL_WIDTH, height, TL_WIDTH, height);
	for (int i = 0; i < nrows; i++)
		draw_step_row(f, r, i);
	draw_axis(f, r, plot_bottom);
	fprintf(f, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n", TL_LABEL_W, plot_bottom,
		TL_WIDTH - TL_RIGHT_W, plot_bottom);
	/* The run's own start and end. */
	fprintf(f, "<line class=\"runedge\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"><title>run started</title></line>\n",
		x_of(r, r->started), TL_TOP - 4, x_of(r, r->started), plot_bottom);
	if (r->ended)
		fprintf(f, "<line class=\"runedge\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"><title>run ended</title></line>\n",
			x_of(r, r->ended), TL_TOP - 4, x_of(r, r->ended), plot_bottom);
	struct label_lines *lines = calloc(1, sizeof(*lines));
	for (int i = 0; lines && i < r->nmarkers; i++)
		draw_marker(f, r, &r->markers[i], nrows, lines);
	free(lines);
	fputs("</svg></div>\n", f);

	fputs("<div class=\"legend\">", f);
	static const char *const shown[] = { "success", "retryable", "failed", "timeout", "crashed", "abandoned",
					     "running" };
	for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++)
		fprintf(f, "<span><i style=\"background:%s\"></i>%s</span>", status_colour(shown[i]), shown[i]);
	fputs("<span><i class=\"lwait\"></i>wait before a retry</span>"
	      "<span><i class=\"ldeadline\"></i>deadline</span>"
	      "<span><i class=\"lpredicted\"></i>predicted finish</span></div>\n", f);
	fputs("<p class=\"note\">Each bar is one attempt; hover over a bar or a line for its details.</p>\n", f);
	outside_markers(f, r);
}

/* ---- the tables ---- */

/* The run's totals, first on the page: records, amounts invoiced,
 * documents, holds, SLA misses. */
static void totals(FILE *f, const struct report *r)
{
	int misses = 0;
	for (int i = 0; i < r->nmarkers; i++)
		misses += r->markers[i].kind == MARK_DEADLINE && r->markers[i].late;
	fputs("<div class=\"totals\">\n", f);
	if (r->totals && PQntuples(r->totals) == 1) {
		const PGresult *t = r->totals;
		fprintf(f, "<div><b>%s</b> records read<small>%s accepted, %s quarantined, %s duplicates; %s files</small></div>\n",
			cell(t, 0, 1), cell(t, 0, 2), cell(t, 0, 3), cell(t, 0, 4), cell(t, 0, 0));
		fputs("<div><b>", f);
		int ninv = r->invoiced ? PQntuples(r->invoiced) : 0;
		for (int i = 0; i < ninv; i++) {
			fprintf(f, "%s%s ", i ? "<br>" : "", cell(r->invoiced, i, 0));
			html(f, cell(r->invoiced, i, 2));
		}
		if (!ninv)
			fputs("0", f);
		fprintf(f, "</b> invoiced<small>%s invoices, %s credit notes</small></div>\n", cell(t, 0, 5),
			cell(t, 0, 6));
		fprintf(f, "<div class=\"%s\"><b>%s</b> holds<small>account periods held back</small></div>\n",
			strcmp(cell(t, 0, 7), "0") ? "warn" : "", cell(t, 0, 7));
	}
	fprintf(f, "<div class=\"%s\"><b>%d</b> SLA misses<small>deadlines missed</small></div>\n", misses ? "warn" : "",
		misses);
	fputs("</div>\n", f);
}

static void facts(FILE *f, const struct report *r)
{
	const PGresult *run = r->run;
	char a[40], b[40], took[32];

	fputs("<dl class=\"facts\">\n", f);
	fprintf(f, "<dt>Period</dt><dd>%s %s to %s (end exclusive)</dd>\n", cell(run, 0, 2), cell(run, 0, 3),
		cell(run, 0, 4));
	clock_text(r->started, 1, a, sizeof(a));
	fprintf(f, "<dt>Started</dt><dd>%s</dd>\n", a);
	if (r->ended) {
		clock_text(r->ended, 1, b, sizeof(b));
		duration_text(r->ended - r->started, took, sizeof(took));
		fprintf(f, "<dt>Ended</dt><dd>%s, after %s</dd>\n", b, took);
	} else {
		clock_text(r->now, 1, b, sizeof(b));
		duration_text(r->now - r->started, took, sizeof(took));
		fprintf(f, "<dt>Ended</dt><dd>not yet: still running at %s, for %s so far</dd>\n", b, took);
	}
	fputs("<dt>Host</dt><dd>", f);
	html(f, cell(run, 0, 6));
	fprintf(f, " (pid %s)</dd>\n", cell(run, 0, 7));
	fputs("<dt>Rule version</dt><dd>", f);
	if (*cell(run, 0, 8)) {
		fprintf(f, "%s <code>%.16s</code>", cell(run, 0, 8), cell(run, 0, 16));
	} else {
		fputs("none", f);
	}
	fputs("</dd>\n", f);
	if (*cell(run, 0, 9)) {
		fprintf(f, "<dt>Rerun</dt><dd>of run %s from step ", cell(run, 0, 9));
		html(f, cell(run, 0, 10));
		if (*cell(run, 0, 11)) {
			fputs(", account ", f);
			html(f, cell(run, 0, 11));
		}
		fputs("</dd>\n", f);
	}
	fputs("<dt>Output</dt><dd><code>", f);
	html(f, cell(run, 0, 12));
	fputs("</code></dd>\n</dl>\n", f);
}

static void steps_table(FILE *f, const struct report *r)
{
	fputs("<h2>Steps</h2>\n<table><thead><tr><th>step</th><th>status</th><th class=\"n\">attempts</th>"
	      "<th>started</th><th>ended</th><th class=\"n\">took</th></tr></thead><tbody>\n", f);
	for (int i = 0; i < PQntuples(r->steps); i++) {
		int64_t s = cell_i64(r->steps, i, 3), e = cell_i64(r->steps, i, 4);
		char a[32] = "", b[32] = "", took[32] = "";
		if (s)
			clock_text(s, 0, a, sizeof(a));
		if (e)
			clock_text(e, 0, b, sizeof(b));
		if (s && e)
			duration_text(e - s, took, sizeof(took));
		fputs("<tr><td>", f);
		html(f, cell(r->steps, i, 0));
		fputs("</td><td>", f);
		status_pill(f, cell(r->steps, i, 1));
		fprintf(f, "</td><td class=\"n\">%s</td><td>%s</td><td>%s</td><td class=\"n\">%s</td></tr>\n",
			cell(r->steps, i, 2), a, b, took);
	}
	fputs("</tbody></table>\n", f);
}

static void attempts_table(FILE *f, const struct report *r)
{
	fputs("<h2>Attempts</h2>\n<table><thead><tr><th>step</th><th class=\"n\">#</th><th>status</th>"
	      "<th>started</th><th>ended</th><th class=\"n\">took</th><th>exit</th><th>message</th>"
	      "<th>host, pid</th></tr></thead><tbody>\n", f);
	for (int i = 0; i < PQntuples(r->attempts); i++) {
		int64_t s = cell_i64(r->attempts, i, 3), e = cell_i64(r->attempts, i, 4);
		char a[32] = "", b[32] = "", took[32] = "";
		clock_text(s, 0, a, sizeof(a));
		if (e) {
			clock_text(e, 0, b, sizeof(b));
			duration_text(e - s, took, sizeof(took));
		}
		fputs("<tr><td>", f);
		html(f, cell(r->attempts, i, 0));
		fprintf(f, "</td><td class=\"n\">%s</td><td>", cell(r->attempts, i, 1));
		status_pill(f, cell(r->attempts, i, 2));
		fprintf(f, "</td><td>%s</td><td>%s</td><td class=\"n\">%s</td><td>", a, b, took);
		if (*cell(r->attempts, i, 5))
			fprintf(f, "%s", cell(r->attempts, i, 5));
		else if (*cell(r->attempts, i, 6))
			fprintf(f, "signal %s", cell(r->attempts, i, 6));
		fputs("</td><td class=\"msg\">", f);
		html(f, cell(r->attempts, i, 7));
		fputs("</td><td>", f);
		html(f, cell(r->attempts, i, 8));
		fprintf(f, "%s%s</td></tr>\n", *cell(r->attempts, i, 9) ? ", " : "", cell(r->attempts, i, 9));
	}
	if (PQntuples(r->attempts) == 0)
		fputs("<tr><td colspan=\"9\">no step has started</td></tr>\n", f);
	fputs("</tbody></table>\n", f);
}

static void sla_tables(FILE *f, const struct report *r)
{
	if (!r->has_deadlines && !r->has_events && !r->sla_error[0])
		return; /* a database without the SLA tables: nothing to show */
	fputs("<h2>Deadlines</h2>\n", f);
	if (r->sla_error[0]) {
		fputs("<p class=\"warn\">could not read the SLA tables: ", f);
		html(f, r->sla_error);
		fputs("</p>\n", f);
	}
	if (r->deadlines && PQntuples(r->deadlines) > 0) {
		fputs("<table><thead><tr><th>of</th><th>sla</th><th>deadline</th><th>finished</th><th>verdict</th>"
		      "</tr></thead><tbody>\n", f);
		for (int i = 0; i < PQntuples(r->deadlines); i++) {
			const char *step = cell(r->deadlines, i, 0);
			int row = *step ? step_row(r, step) : -1;
			int64_t at = cell_i64(r->deadlines, i, 2), fin = *step && row < 0 ? 0 : finished_at(r, row);
			char a[40], b[40] = "", margin[32];
			clock_text(at, 1, a, sizeof(a));
			if (fin)
				clock_text(fin, 1, b, sizeof(b));
			fputs("<tr><td>", f);
			html(f, *step ? step : "the run");
			fputs("</td><td><code>", f);
			html(f, cell(r->deadlines, i, 1));
			fprintf(f, "</code></td><td>%s</td><td>%s</td><td>", a, fin ? b : "not yet");
			if (fin) {
				duration_text(fin > at ? fin - at : at - fin, margin, sizeof(margin));
				fprintf(f, fin > at ? "<b class=\"late\">missed by %s</b>" : "met, %s to spare", margin);
			} else if (r->now > at) {
				duration_text(r->now - at, margin, sizeof(margin));
				fprintf(f, "<b class=\"late\">overdue by %s</b>", margin);
			} else {
				duration_text(at - r->now, margin, sizeof(margin));
				fprintf(f, "%s left", margin);
			}
			fputs("</td></tr>\n", f);
		}
		fputs("</tbody></table>\n", f);
	} else if (r->has_deadlines) {
		fputs("<p>This run has no deadlines (no <code>sla</code> on the DAG or its steps).</p>\n", f);
	}
	if (r->events && PQntuples(r->events) > 0) {
		fputs("<h3>SLA events</h3>\n<table><thead><tr><th>of</th><th>kind</th><th>deadline</th>"
		      "<th>predicted finish</th><th>raised</th></tr></thead><tbody>\n", f);
		for (int i = 0; i < PQntuples(r->events); i++) {
			char a[40], b[40] = "", c[40];
			clock_text(cell_i64(r->events, i, 2), 1, a, sizeof(a));
			if (cell_i64(r->events, i, 3))
				clock_text(cell_i64(r->events, i, 3), 1, b, sizeof(b));
			clock_text(cell_i64(r->events, i, 4), 1, c, sizeof(c));
			fputs("<tr><td>", f);
			html(f, *cell(r->events, i, 0) ? cell(r->events, i, 0) : "the run");
			fprintf(f, "</td><td><b class=\"late\">%s</b></td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
				strcmp(cell(r->events, i, 1), "miss") == 0 ? "missed" : "predicted miss", a, b, c);
		}
		fputs("</tbody></table>\n", f);
	}
}

/* The problems the run found that did not fail it (migration 025):
 * files refused for their header, control-file mismatches, holds, drift. */
static void warnings_table(FILE *f, const struct report *r)
{
	fputs("<h2>Warnings</h2>\n", f);
	if (!r->warnings) {
		fputs("<p class=\"warn\">could not read the run's warnings: ", f);
		html(f, r->warnings_error);
		fputs("</p>\n", f);
		return;
	}
	long long total = 0;
	fputs("<p>", f);
	for (int i = 0; i < PQntuples(r->warning_counts); i++) {
		long long n = cell_i64(r->warning_counts, i, 1);
		total += n;
		fprintf(f, "%s<code>%s</code> %lld", i ? " &middot; " : "", cell(r->warning_counts, i, 0), n);
	}
	fputs("</p>\n", f);
	if (total == 0) {
		fputs("<p>None: no file was refused for its header or differs from its control file, no account was "
		      "held, nothing drifted.</p>\n", f);
		return;
	}
	fputs("<p class=\"note\">They do not fail the run (its exit status stays 0); held account periods are "
	      "not invoiced until released (<code>billrun quarantine list</code>).</p>\n", f);
	fputs("<table><thead><tr><th>kind</th><th>file or account</th><th>period</th><th>reason</th>"
	      "<th>detail</th></tr></thead><tbody>\n", f);
	for (int i = 0; i < PQntuples(r->warnings); i++) {
		const char *file = cell(r->warnings, i, 1);
		fputs("<tr><td class=\"warn\">", f);
		html(f, cell(r->warnings, i, 0));
		fputs(*file ? "</td><td>file <code>" : "</td><td>account <code>", f);
		html(f, *file ? file : cell(r->warnings, i, 2));
		fputs("</code></td><td>", f);
		html(f, cell(r->warnings, i, 3));
		fputs("</td><td><code>", f);
		html(f, cell(r->warnings, i, 4));
		fputs("</code></td><td class=\"msg\">", f);
		html(f, cell(r->warnings, i, 5));
		fputs("</td></tr>\n", f);
	}
	fputs("</tbody></table>\n", f);
	if (total > PQntuples(r->warnings))
		fprintf(f, "<p class=\"note\">... and %lld more.</p>\n", total - PQntuples(r->warnings));
}

static void produced_tables(FILE *f, const struct report *r)
{
	int ncounts = r->counts ? PQntuples(r->counts) : 0, namounts = r->amounts ? PQntuples(r->amounts) : 0;
	fputs("<h2>What the run produced</h2>\n", f);
	if (r->counts_error[0] || r->amounts_error[0]) {
		fputs("<p class=\"warn\">could not count the run's rows: ", f);
		html(f, r->counts_error[0] ? r->counts_error : r->amounts_error);
		fputs("</p>\n", f);
	}
	if (ncounts == 0 && namounts == 0) {
		fputs("<p>No table in this database records rows by run yet.</p>\n", f);
		return;
	}
	fputs("<div class=\"cols\">", f);
	if (ncounts > 0) {
		fputs("<table><thead><tr><th>table</th><th class=\"n\">rows of this run</th></tr></thead><tbody>\n", f);
		for (int i = 0; i < ncounts; i++) {
			fputs("<tr><td><code>", f);
			html(f, cell(r->counts, i, 0));
			fprintf(f, "</code></td><td class=\"n\">%s</td></tr>\n", cell(r->counts, i, 1));
		}
		fputs("</tbody></table>\n", f);
	}
	if (namounts > 0) {
		fputs("<table><thead><tr><th>table</th><th>currency</th><th class=\"n\">rows</th>"
		      "<th class=\"n\">total</th></tr></thead><tbody>\n", f);
		for (int i = 0; i < namounts; i++) {
			fputs("<tr><td><code>", f);
			html(f, cell(r->amounts, i, 0));
			fputs("</code></td><td>", f);
			html(f, cell(r->amounts, i, 1));
			fprintf(f, "</td><td class=\"n\">%s</td><td class=\"n\">", cell(r->amounts, i, 2));
			html(f, cell(r->amounts, i, 3));
			fputs("</td></tr>\n", f);
		}
		fputs("</tbody></table>\n", f);
	}
	fputs("</div>\n", f);
}

static const char style[] =
	"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;color:#1f2328;"
	"margin:0;background:#f6f8fa}\n"
	"main{max-width:1160px;margin:0 auto;padding:20px 20px 40px;background:#fff}\n"
	"h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;"
	"padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}\n"
	".sub{color:#57606a;margin:0 0 14px}\n"
	".pill{display:inline-block;color:#fff;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600}\n"
	".facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:8px 0}\n"
	".facts dt{color:#57606a}.facts dd{margin:0}\n"
	"table{border-collapse:collapse;margin:6px 0 10px;font-size:13px}\n"
	"th,td{text-align:left;padding:3px 10px;border-bottom:1px solid #eaeef2;vertical-align:top}\n"
	"th{background:#f6f8fa;font-weight:600}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}\n"
	"td.msg{max-width:420px;word-break:break-word}\n"
	".cols{display:flex;gap:32px;flex-wrap:wrap;align-items:flex-start}\n"
	".late{color:#c62828}.warn{color:#9a6700}.note{color:#57606a;font-size:12px;margin:4px 0}\n"
	"code{font:12px ui-monospace,'DejaVu Sans Mono',monospace}\n"
	"svg.timeline{display:block;max-width:100%;height:auto;font-size:12px}\n"
	/* on a phone the chart keeps a readable size and scrolls sideways */
	".tlwrap{overflow-x:auto}@media (max-width:720px){svg.timeline{max-width:none;width:720px}"
	"table{display:block;overflow-x:auto}}\n"
	".totals{display:flex;flex-wrap:wrap;gap:10px;margin:10px 0 14px}\n"
	".totals div{flex:1 1 160px;border:1px solid #d0d7de;border-radius:6px;padding:8px 12px}\n"
	".totals b{display:block;font-size:20px}.totals small{display:block;color:#57606a}\n"
	".totals .warn{border-color:#cf222e}.totals .warn b{color:#cf222e}\n"
	"ul.outside{margin:4px 0 0;padding-left:20px;color:#57606a}ul.outside li.late{color:#cf222e}\n"
	"p.outside{margin:8px 0 0;color:#57606a}\n"
	"svg .stripe{fill:#f6f8fa}svg .grid{stroke:#d8dee4;stroke-width:1}svg .axis{stroke:#8c959f}\n"
	"svg .tick{fill:#57606a;font-size:11px}svg .step{text-anchor:end;fill:#1f2328;font-weight:600}\n"
	"svg .took{fill:#57606a}svg .notrun{fill:#8c959f;font-style:italic}\n"
	"svg .inbar{fill:#fff;font-size:10px;font-weight:600}\n"
	"svg .bar.open{opacity:.75}svg .wait{stroke:#ef6c00;stroke-width:1.5;stroke-dasharray:3 3}\n"
	"svg .runedge{stroke:#57606a;stroke-width:1}\n"
	"svg .deadline{stroke:#c62828;stroke-width:2;stroke-dasharray:6 3}\n"
	"svg .predicted{stroke:#ef6c00;stroke-width:2;stroke-dasharray:2 3}\n"
	"svg .now{stroke:#1565c0;stroke-width:1.5}\n"
	"svg text.deadline{fill:#c62828;stroke:none}svg text.predicted{fill:#b35900;stroke:none}\n"
	"svg text.now{fill:#1565c0;stroke:none}svg .mlabel{font-size:11px;font-weight:600}svg .small{font-size:10px}\n"
	".legend{display:flex;flex-wrap:wrap;gap:4px 16px;font-size:12px;color:#57606a;margin:6px 0 0 180px}\n"
	".legend i{display:inline-block;width:14px;height:10px;border-radius:2px;margin-right:5px;vertical-align:-1px}\n"
	".legend i.lwait{border-top:2px dashed #ef6c00;height:0;border-radius:0}\n"
	".legend i.ldeadline{border-left:2px dashed #c62828;width:0;height:12px;border-radius:0}\n"
	".legend i.lpredicted{border-left:2px dotted #ef6c00;width:0;height:12px;border-radius:0}\n"
	"footer{color:#57606a;font-size:12px;margin-top:30px}\n"
	"@media print{body{background:#fff}main{padding:0}}\n";

int run_report_render(struct db *db, int64_t run_id, FILE *f, struct err *e)
{
	struct report r;
	memset(&r, 0, sizeof(r));
	if (report_load(&r, db, run_id, e)) {
		report_release(&r);
		return -1;
	}
	collect_markers(&r);
	choose_span(&r);

	const PGresult *run = r.run;
	char generated[40], zone[64];
	time_t now = (time_t)(r.now / 1000);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(generated, sizeof(generated), "%Y-%m-%d %H:%M:%S", &tm);
	strftime(zone, sizeof(zone), "%Z (UTC%z)", &tm);

	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>billrun run ", f);
	fprintf(f, "%s: ", cell(run, 0, 0));
	html(f, cell(run, 0, 1));
	fprintf(f, " %s, %s</title>\n<style>\n%s</style>\n</head>\n<body>\n<main>\n", cell(run, 0, 3),
		cell(run, 0, 5), style);
	fprintf(f, "<h1>Run %s &middot; ", cell(run, 0, 0));
	html(f, cell(run, 0, 1));
	fprintf(f, " &middot; %s ", cell(run, 0, 3));
	status_pill(f, cell(run, 0, 5));
	fputs("</h1>\n", f);
	fprintf(f, "<p class=\"sub\">billrun run report; times in %s.</p>\n", zone);
	totals(f, &r);
	facts(f, &r);
	warnings_table(f, &r);
	fputs("<h2>Timeline</h2>\n", f);
	if (PQntuples(r.steps) > 0)
		draw_timeline(f, &r);
	else
		fputs("<p>This run has no steps.</p>\n", f);
	sla_tables(f, &r);
	steps_table(f, &r);
	attempts_table(f, &r);
	produced_tables(f, &r);
	fprintf(f, "<footer>Written by billrun %s at %s from the run store. One file, no scripts: it can be "
		   "archived and mailed as it is.</footer>\n</main>\n</body>\n</html>\n",
		BILLRUN_VERSION, generated);
	report_release(&r);
	return 0;
}

int run_report_default_path(const struct config *cfg, struct db *db, int64_t run_id, char *buf, size_t size,
			    struct err *e)
{
	char id[32];
	snprintf(id, sizeof(id), "%lld", (long long)run_id);
	const char *params[] = { id };
	PGresult *res = db_query(db, e, SQL_report_run, 1, params);
	if (!res)
		return -1;
	if (PQntuples(res) < 1) {
		PQclear(res);
		return err_set(e, ERR_NOT_FOUND, "no run %s", id);
	}
	if (*cell(res, 0, 12)) {
		snprintf(buf, size, "%s/%s", cell(res, 0, 12), RUN_REPORT_FILE);
	} else {
		char base[4096];
		cfg_output_dir(cfg, base, sizeof(base));
		snprintf(buf, size, "%s/%s/%s/run-%s/%s", base, cell(res, 0, 1), cell(res, 0, 3), id, RUN_REPORT_FILE);
	}
	PQclear(res);
	return 0;
}

int run_report_write(const struct config *cfg, struct db *db, int64_t run_id, const char *path, struct err *e)
{
	char target[4200], tmp[4300];
	if (!path) {
		if (run_report_default_path(cfg, db, run_id, target, sizeof(target), e))
			return -1;
		path = target;
	}
	/* One temporary name per report, not per process: a writer killed
	 * half-way leaves a file the next writer replaces. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	struct fs_out o;
	if (fs_out_open(&o, tmp, e))
		return err_prefix(e, "run report: ");
	if (run_report_render(db, run_id, o.f, e)) {
		fs_out_abort(&o);
		return -1;
	}
	return fs_out_commit(&o, path, e) ? err_prefix(e, "run report: ") : 0;
}
