/*
 * run_report_timeline.c - the run report's timeline (see run_report.h):
 * the span it draws, its axis, a bar per attempt, the SLA deadlines and
 * predicted finishes across it, and those that lie outside it in words.
 */
#include "run_report_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* When a step (row >= 0) or the run (row -1) finished, or 0 if not yet. */
int64_t rr_finished_at(const struct report *r, int row)
{
	if (row < 0)
		return r->ended;
	const char *st = rr_cell(r->steps, row, 1);
	if (strcmp(st, "running") == 0 || strcmp(st, "retry_wait") == 0 || strcmp(st, "pending") == 0)
		return 0;
	return rr_cell_i64(r->steps, row, 4);
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
	int64_t fin = rr_finished_at(r, row);
	return fin ? fin > deadline : r->now > deadline;
}

void rr_collect_markers(struct report *r)
{
	char clock[32], text[96], title[320];
	for (int i = 0; r->deadlines && i < PQntuples(r->deadlines); i++) {
		const char *step = rr_cell(r->deadlines, i, 0);
		int row = *step ? rr_step_row(r, step) : -1;
		if (*step && row < 0)
			continue;
		int64_t at = rr_cell_i64(r->deadlines, i, 2);
		int late = deadline_late(r, row, at);
		rr_clock_text(at, 0, clock, sizeof(clock));
		snprintf(text, sizeof(text), "%s deadline %s", *step ? step : "run", clock);
		snprintf(title, sizeof(title), "%s deadline %s (sla \"%s\"): %s", *step ? step : "run", clock,
			 rr_cell(r->deadlines, i, 1), late ? "missed" : rr_finished_at(r, row) ? "met" : "not reached yet");
		add_marker(r, MARK_DEADLINE, at, row, text, title, late);
	}
	for (int i = 0; r->events && i < PQntuples(r->events); i++) {
		const char *step = rr_cell(r->events, i, 0);
		int row = *step ? rr_step_row(r, step) : -1;
		if (*step && row < 0)
			continue;
		int64_t deadline = rr_cell_i64(r->events, i, 2), projected = rr_cell_i64(r->events, i, 3);
		char raised[32];
		rr_clock_text(rr_cell_i64(r->events, i, 4), 0, raised, sizeof(raised));
		/* Deadlines known only from an event (no sla_deadlines row). */
		if (!has_deadline_marker(r, row, deadline)) {
			rr_clock_text(deadline, 0, clock, sizeof(clock));
			snprintf(text, sizeof(text), "%s deadline %s", *step ? step : "run", clock);
			snprintf(title, sizeof(title), "%s deadline %s: %s", *step ? step : "run", clock,
				 strcmp(rr_cell(r->events, i, 1), "miss") == 0 ? "missed" : "predicted to be missed");
			add_marker(r, MARK_DEADLINE, deadline, row, text, title, deadline_late(r, row, deadline));
		}
		if (strcmp(rr_cell(r->events, i, 1), "predicted_miss") == 0 && projected > 0) {
			char dl[32];
			rr_clock_text(projected, 0, clock, sizeof(clock));
			rr_clock_text(deadline, 0, dl, sizeof(dl));
			snprintf(text, sizeof(text), "%s predicted %s", *step ? step : "run", clock);
			snprintf(title, sizeof(title),
				 "predicted finish of %s: %s, after its deadline %s (warned at %s)",
				 *step ? step : "the run", clock, dl, raised);
			add_marker(r, MARK_PREDICTED, projected, row, text, title, 1);
		}
	}
	if (!r->ended) {
		rr_clock_text(r->now, 0, clock, sizeof(clock));
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
void rr_choose_span(struct report *r)
{
	int64_t t0 = r->started, end = r->ended ? r->ended : r->now;
	for (int i = 0; i < PQntuples(r->attempts); i++) {
		int64_t s = rr_cell_i64(r->attempts, i, 3), e = rr_cell_i64(r->attempts, i, 4);
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
	rr_html(f, m->title);
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
	rr_html(f, label);
	fputs("</text></g>\n", f);
}

static void draw_step_row(FILE *f, const struct report *r, int row)
{
	const char *step = rr_cell(r->steps, row, 0), *status = rr_cell(r->steps, row, 1);
	int y = TL_TOP + row * TL_ROW_H, bar_y = y + (TL_ROW_H - TL_BAR_H) / 2;
	char text[64];

	if (row % 2)
		fprintf(f, "<rect class=\"stripe\" x=\"0\" y=\"%d\" width=\"%d\" height=\"%d\"/>\n", y, TL_WIDTH,
			TL_ROW_H);
	fprintf(f, "<text class=\"step\" x=\"%d\" y=\"%d\">", TL_LABEL_W - 10, bar_y + TL_BAR_H - 3);
	rr_html(f, step);
	fputs("</text>\n", f);

	int64_t prev_end = 0;
	int nattempts = 0;
	for (int i = 0; i < PQntuples(r->attempts); i++) {
		if (strcmp(rr_cell(r->attempts, i, 0), step) != 0)
			continue;
		const char *ast = rr_cell(r->attempts, i, 2);
		int64_t s = rr_cell_i64(r->attempts, i, 3), e = rr_cell_i64(r->attempts, i, 4);
		int open = e == 0;
		if (open)
			e = r->ended ? r->ended : r->now;
		double x1 = x_of(r, s), x2 = x_of(r, e);
		if (x2 - x1 < 2)
			x2 = x1 + 2;
		if (prev_end && s > prev_end) {
			char wait[32];
			rr_duration_text(s - prev_end, wait, sizeof(wait));
			fprintf(f, "<line class=\"wait\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"><title>waited %s before attempt %s</title></line>\n",
				x_of(r, prev_end), bar_y + TL_BAR_H / 2, x1, bar_y + TL_BAR_H / 2, wait,
				rr_cell(r->attempts, i, 1));
		}
		char from[32], to[32], took[32];
		rr_clock_text(s, 0, from, sizeof(from));
		rr_clock_text(e, 0, to, sizeof(to));
		rr_duration_text(e - s, took, sizeof(took));
		fprintf(f, "<rect class=\"bar%s\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" rx=\"2\" fill=\"%s\"><title>",
			open ? " open" : "", x1, bar_y, x2 - x1, TL_BAR_H, rr_status_colour(ast));
		rr_html(f, step);
		fprintf(f, " attempt %s: %s, %s to %s (%s)", rr_cell(r->attempts, i, 1), ast, from, open ? "now" : to,
			took);
		if (*rr_cell(r->attempts, i, 5))
			fprintf(f, ", exit %s", rr_cell(r->attempts, i, 5));
		if (*rr_cell(r->attempts, i, 6))
			fprintf(f, ", signal %s", rr_cell(r->attempts, i, 6));
		if (*rr_cell(r->attempts, i, 7)) {
			fputs(": ", f);
			rr_html(f, rr_cell(r->attempts, i, 7));
		}
		fputs("</title></rect>\n", f);
		nattempts++;
		if (x2 - x1 >= 22 && rr_cell_i64(r->steps, row, 2) > 1)
			fprintf(f, "<text class=\"inbar\" x=\"%.1f\" y=\"%d\">#%s</text>\n", x1 + 4, bar_y + TL_BAR_H - 4,
				rr_cell(r->attempts, i, 1));
		prev_end = e;
	}
	/* At the right: how long the step took, or why it did not run. */
	int64_t s = rr_cell_i64(r->steps, row, 3), e = rr_cell_i64(r->steps, row, 4);
	if (nattempts == 0)
		snprintf(text, sizeof(text), "%s", status);
	else if (e && strcmp(status, "running") != 0 && strcmp(status, "retry_wait") != 0)
		rr_duration_text(e - s, text, sizeof(text));
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
		rr_clock_text(m->at, 1, when, sizeof(when));
		int before = m->at < r->t0;
		rr_duration_text(before ? r->started - m->at : m->at - end, gap, sizeof(gap));
		fprintf(f, "<li class=\"%s\">", m->kind == MARK_DEADLINE && m->late ? "late" : "");
		rr_html(f, m->label);
		fprintf(f, " (%s): %s %s the run %s", when, gap, before ? "before" : "after", before ? "started" : r->ended ? "ended" : "so far");
		if (m->kind == MARK_DEADLINE)
			fputs(m->late ? ", missed" : rr_finished_at(r, m->row) ? ", met" : ", not reached yet", f);
		fputs("</li>\n", f);
	}
	if (n)
		fputs("</ul>\n", f);
}

void rr_draw_timeline(FILE *f, const struct report *r)
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
		fprintf(f, "<span><i style=\"background:%s\"></i>%s</span>", rr_status_colour(shown[i]), shown[i]);
	fputs("<span><i class=\"lwait\"></i>wait before a retry</span>"
	      "<span><i class=\"ldeadline\"></i>deadline</span>"
	      "<span><i class=\"lpredicted\"></i>predicted finish</span></div>\n", f);
	fputs("<p class=\"note\">Each bar is one attempt; hover over a bar or a line for its details.</p>\n", f);
	outside_markers(f, r);
}
