/*
 * run_report_int.h - what the run report's two files share: the loaded
 * report (run_report.c loads it and writes the page; run_report_timeline.c
 * draws the timeline) and the small helpers both use. Not a public
 * interface: run_report.h is.
 */
#ifndef BILLRUN_RUN_REPORT_INT_H
#define BILLRUN_RUN_REPORT_INT_H

#include "err.h"

#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>

/* Timeline geometry, in SVG user units (pixels at 100 %). */
#define TL_WIDTH 1120
#define TL_LABEL_W 180
#define TL_RIGHT_W 96
#define TL_TOP 50
#define TL_ROW_H 34
#define TL_BAR_H 16
#define TL_BOTTOM 30

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

/* ---- helpers (run_report.c) ---- */

int64_t rr_cell_i64(const PGresult *r, int row, int col);
const char *rr_cell(const PGresult *r, int row, int col);
/* s, escaped for HTML text and attributes */
void rr_html(FILE *f, const char *s);
/* ms since the epoch as local time, with the date or without */
void rr_clock_text(int64_t ms, int with_date, char *buf, size_t size);
void rr_duration_text(int64_t ms, char *buf, size_t size);
/* the row of step in r->steps, -1 for the run ('') or an unknown step */
int rr_step_row(const struct report *r, const char *step);
const char *rr_status_colour(const char *status);

/* ---- the timeline (run_report_timeline.c) ---- */

/* When a step (row >= 0) or the run (row -1) finished, or 0 if not yet. */
int64_t rr_finished_at(const struct report *r, int row);
/* The deadlines and predicted finishes to mark, from r's SLA rows. */
void rr_collect_markers(struct report *r);
/* The span the timeline draws (r->t0, r->t1); after rr_collect_markers. */
void rr_choose_span(struct report *r);
/* The SVG timeline, its legend, and the markers outside it in words. */
void rr_draw_timeline(FILE *f, const struct report *r);

#endif
