/*
 * run_report.c - renders a run as one self-contained HTML page: totals,
 * facts, the timeline (drawn by run_report_timeline.c), tables of steps,
 * attempts, SLA events, warnings, and counts and amounts.
 */
#include "run_report.h"
#include "run_report_int.h"
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

/* Warnings listed one by one in the page; the rest are counted. */
#define REPORT_WARNINGS 200

/* ---- small helpers ---- */

int64_t rr_cell_i64(const PGresult *r, int row, int col)
{
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

const char *rr_cell(const PGresult *r, int row, int col)
{
	return PQgetvalue(r, row, col);
}

void rr_html(FILE *f, const char *s)
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
void rr_clock_text(int64_t ms, int with_date, char *buf, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(buf, size, with_date ? "%Y-%m-%d %H:%M:%S" : "%H:%M:%S", &tm);
}

void rr_duration_text(int64_t ms, char *buf, size_t size)
{
	progress_format_duration(ms, buf, size);
}

int rr_step_row(const struct report *r, const char *step)
{
	for (int i = 0; i < PQntuples(r->steps); i++)
		if (strcmp(rr_cell(r->steps, i, 0), step) == 0)
			return i;
	return -1;
}

const char *rr_status_colour(const char *status)
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
	fprintf(f, "<span class=\"pill\" style=\"background:%s\">", rr_status_colour(status));
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
	r->started = rr_cell_i64(r->run, 0, 13);
	r->ended = rr_cell_i64(r->run, 0, 14);
	r->now = rr_cell_i64(r->run, 0, 15);

	PGresult *present = optional_query(db, SQL_report_sla_tables, NULL, r->sla_error, sizeof(r->sla_error));
	if (present) {
		r->has_deadlines = strcmp(rr_cell(present, 0, 0), "t") == 0;
		r->has_events = strcmp(rr_cell(present, 0, 1), "t") == 0;
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
			rr_cell(t, 0, 1), rr_cell(t, 0, 2), rr_cell(t, 0, 3), rr_cell(t, 0, 4), rr_cell(t, 0, 0));
		fputs("<div><b>", f);
		int ninv = r->invoiced ? PQntuples(r->invoiced) : 0;
		for (int i = 0; i < ninv; i++) {
			fprintf(f, "%s%s ", i ? "<br>" : "", rr_cell(r->invoiced, i, 0));
			rr_html(f, rr_cell(r->invoiced, i, 2));
		}
		if (!ninv)
			fputs("0", f);
		fprintf(f, "</b> invoiced<small>%s invoices, %s credit notes</small></div>\n", rr_cell(t, 0, 5),
			rr_cell(t, 0, 6));
		fprintf(f, "<div class=\"%s\"><b>%s</b> holds<small>account periods held back</small></div>\n",
			strcmp(rr_cell(t, 0, 7), "0") ? "warn" : "", rr_cell(t, 0, 7));
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
	fprintf(f, "<dt>Period</dt><dd>%s %s to %s (end exclusive)</dd>\n", rr_cell(run, 0, 2), rr_cell(run, 0, 3),
		rr_cell(run, 0, 4));
	rr_clock_text(r->started, 1, a, sizeof(a));
	fprintf(f, "<dt>Started</dt><dd>%s</dd>\n", a);
	if (r->ended) {
		rr_clock_text(r->ended, 1, b, sizeof(b));
		rr_duration_text(r->ended - r->started, took, sizeof(took));
		fprintf(f, "<dt>Ended</dt><dd>%s, after %s</dd>\n", b, took);
	} else {
		rr_clock_text(r->now, 1, b, sizeof(b));
		rr_duration_text(r->now - r->started, took, sizeof(took));
		fprintf(f, "<dt>Ended</dt><dd>not yet: still running at %s, for %s so far</dd>\n", b, took);
	}
	fputs("<dt>Host</dt><dd>", f);
	rr_html(f, rr_cell(run, 0, 6));
	fprintf(f, " (pid %s)</dd>\n", rr_cell(run, 0, 7));
	fputs("<dt>Rule version</dt><dd>", f);
	if (*rr_cell(run, 0, 8)) {
		fprintf(f, "%s <code>%.16s</code>", rr_cell(run, 0, 8), rr_cell(run, 0, 16));
	} else {
		fputs("none", f);
	}
	fputs("</dd>\n", f);
	if (*rr_cell(run, 0, 9)) {
		fprintf(f, "<dt>Rerun</dt><dd>of run %s from step ", rr_cell(run, 0, 9));
		rr_html(f, rr_cell(run, 0, 10));
		if (*rr_cell(run, 0, 11)) {
			fputs(", account ", f);
			rr_html(f, rr_cell(run, 0, 11));
		}
		fputs("</dd>\n", f);
	}
	fputs("<dt>Output</dt><dd><code>", f);
	rr_html(f, rr_cell(run, 0, 12));
	fputs("</code></dd>\n</dl>\n", f);
}

static void steps_table(FILE *f, const struct report *r)
{
	fputs("<h2>Steps</h2>\n<table><thead><tr><th>step</th><th>status</th><th class=\"n\">attempts</th>"
	      "<th>started</th><th>ended</th><th class=\"n\">took</th></tr></thead><tbody>\n", f);
	for (int i = 0; i < PQntuples(r->steps); i++) {
		int64_t s = rr_cell_i64(r->steps, i, 3), e = rr_cell_i64(r->steps, i, 4);
		char a[32] = "", b[32] = "", took[32] = "";
		if (s)
			rr_clock_text(s, 0, a, sizeof(a));
		if (e)
			rr_clock_text(e, 0, b, sizeof(b));
		if (s && e)
			rr_duration_text(e - s, took, sizeof(took));
		fputs("<tr><td>", f);
		rr_html(f, rr_cell(r->steps, i, 0));
		fputs("</td><td>", f);
		status_pill(f, rr_cell(r->steps, i, 1));
		fprintf(f, "</td><td class=\"n\">%s</td><td>%s</td><td>%s</td><td class=\"n\">%s</td></tr>\n",
			rr_cell(r->steps, i, 2), a, b, took);
	}
	fputs("</tbody></table>\n", f);
}

static void attempts_table(FILE *f, const struct report *r)
{
	fputs("<h2>Attempts</h2>\n<table><thead><tr><th>step</th><th class=\"n\">#</th><th>status</th>"
	      "<th>started</th><th>ended</th><th class=\"n\">took</th><th>exit</th><th>message</th>"
	      "<th>host, pid</th></tr></thead><tbody>\n", f);
	for (int i = 0; i < PQntuples(r->attempts); i++) {
		int64_t s = rr_cell_i64(r->attempts, i, 3), e = rr_cell_i64(r->attempts, i, 4);
		char a[32] = "", b[32] = "", took[32] = "";
		rr_clock_text(s, 0, a, sizeof(a));
		if (e) {
			rr_clock_text(e, 0, b, sizeof(b));
			rr_duration_text(e - s, took, sizeof(took));
		}
		fputs("<tr><td>", f);
		rr_html(f, rr_cell(r->attempts, i, 0));
		fprintf(f, "</td><td class=\"n\">%s</td><td>", rr_cell(r->attempts, i, 1));
		status_pill(f, rr_cell(r->attempts, i, 2));
		fprintf(f, "</td><td>%s</td><td>%s</td><td class=\"n\">%s</td><td>", a, b, took);
		if (*rr_cell(r->attempts, i, 5))
			fprintf(f, "%s", rr_cell(r->attempts, i, 5));
		else if (*rr_cell(r->attempts, i, 6))
			fprintf(f, "signal %s", rr_cell(r->attempts, i, 6));
		fputs("</td><td class=\"msg\">", f);
		rr_html(f, rr_cell(r->attempts, i, 7));
		fputs("</td><td>", f);
		rr_html(f, rr_cell(r->attempts, i, 8));
		fprintf(f, "%s%s</td></tr>\n", *rr_cell(r->attempts, i, 9) ? ", " : "", rr_cell(r->attempts, i, 9));
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
		rr_html(f, r->sla_error);
		fputs("</p>\n", f);
	}
	if (r->deadlines && PQntuples(r->deadlines) > 0) {
		fputs("<table><thead><tr><th>of</th><th>sla</th><th>deadline</th><th>finished</th><th>verdict</th>"
		      "</tr></thead><tbody>\n", f);
		for (int i = 0; i < PQntuples(r->deadlines); i++) {
			const char *step = rr_cell(r->deadlines, i, 0);
			int row = *step ? rr_step_row(r, step) : -1;
			int64_t at = rr_cell_i64(r->deadlines, i, 2), fin = *step && row < 0 ? 0 : rr_finished_at(r, row);
			char a[40], b[40] = "", margin[32];
			rr_clock_text(at, 1, a, sizeof(a));
			if (fin)
				rr_clock_text(fin, 1, b, sizeof(b));
			fputs("<tr><td>", f);
			rr_html(f, *step ? step : "the run");
			fputs("</td><td><code>", f);
			rr_html(f, rr_cell(r->deadlines, i, 1));
			fprintf(f, "</code></td><td>%s</td><td>%s</td><td>", a, fin ? b : "not yet");
			if (fin) {
				rr_duration_text(fin > at ? fin - at : at - fin, margin, sizeof(margin));
				fprintf(f, fin > at ? "<b class=\"late\">missed by %s</b>" : "met, %s to spare", margin);
			} else if (r->now > at) {
				rr_duration_text(r->now - at, margin, sizeof(margin));
				fprintf(f, "<b class=\"late\">overdue by %s</b>", margin);
			} else {
				rr_duration_text(at - r->now, margin, sizeof(margin));
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
			rr_clock_text(rr_cell_i64(r->events, i, 2), 1, a, sizeof(a));
			if (rr_cell_i64(r->events, i, 3))
				rr_clock_text(rr_cell_i64(r->events, i, 3), 1, b, sizeof(b));
			rr_clock_text(rr_cell_i64(r->events, i, 4), 1, c, sizeof(c));
			fputs("<tr><td>", f);
			rr_html(f, *rr_cell(r->events, i, 0) ? rr_cell(r->events, i, 0) : "the run");
			fprintf(f, "</td><td><b class=\"late\">%s</b></td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
				strcmp(rr_cell(r->events, i, 1), "miss") == 0 ? "missed" : "predicted miss", a, b, c);
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
		rr_html(f, r->warnings_error);
		fputs("</p>\n", f);
		return;
	}
	long long total = 0;
	fputs("<p>", f);
	for (int i = 0; i < PQntuples(r->warning_counts); i++) {
		long long n = rr_cell_i64(r->warning_counts, i, 1);
		total += n;
		fprintf(f, "%s<code>%s</code> %lld", i ? " &middot; " : "", rr_cell(r->warning_counts, i, 0), n);
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
		const char *file = rr_cell(r->warnings, i, 1);
		fputs("<tr><td class=\"warn\">", f);
		rr_html(f, rr_cell(r->warnings, i, 0));
		fputs(*file ? "</td><td>file <code>" : "</td><td>account <code>", f);
		rr_html(f, *file ? file : rr_cell(r->warnings, i, 2));
		fputs("</code></td><td>", f);
		rr_html(f, rr_cell(r->warnings, i, 3));
		fputs("</td><td><code>", f);
		rr_html(f, rr_cell(r->warnings, i, 4));
		fputs("</code></td><td class=\"msg\">", f);
		rr_html(f, rr_cell(r->warnings, i, 5));
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
		rr_html(f, r->counts_error[0] ? r->counts_error : r->amounts_error);
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
			rr_html(f, rr_cell(r->counts, i, 0));
			fprintf(f, "</code></td><td class=\"n\">%s</td></tr>\n", rr_cell(r->counts, i, 1));
		}
		fputs("</tbody></table>\n", f);
	}
	if (namounts > 0) {
		fputs("<table><thead><tr><th>table</th><th>currency</th><th class=\"n\">rows</th>"
		      "<th class=\"n\">total</th></tr></thead><tbody>\n", f);
		for (int i = 0; i < namounts; i++) {
			fputs("<tr><td><code>", f);
			rr_html(f, rr_cell(r->amounts, i, 0));
			fputs("</code></td><td>", f);
			rr_html(f, rr_cell(r->amounts, i, 1));
			fprintf(f, "</td><td class=\"n\">%s</td><td class=\"n\">", rr_cell(r->amounts, i, 2));
			rr_html(f, rr_cell(r->amounts, i, 3));
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
	rr_collect_markers(&r);
	rr_choose_span(&r);

	const PGresult *run = r.run;
	char generated[40], zone[64];
	time_t now = (time_t)(r.now / 1000);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(generated, sizeof(generated), "%Y-%m-%d %H:%M:%S", &tm);
	strftime(zone, sizeof(zone), "%Z (UTC%z)", &tm);

	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>billrun run ", f);
	fprintf(f, "%s: ", rr_cell(run, 0, 0));
	rr_html(f, rr_cell(run, 0, 1));
	fprintf(f, " %s, %s</title>\n<style>\n%s</style>\n</head>\n<body>\n<main>\n", rr_cell(run, 0, 3),
		rr_cell(run, 0, 5), style);
	fprintf(f, "<h1>Run %s &middot; ", rr_cell(run, 0, 0));
	rr_html(f, rr_cell(run, 0, 1));
	fprintf(f, " &middot; %s ", rr_cell(run, 0, 3));
	status_pill(f, rr_cell(run, 0, 5));
	fputs("</h1>\n", f);
	fprintf(f, "<p class=\"sub\">billrun run report; times in %s.</p>\n", zone);
	totals(f, &r);
	facts(f, &r);
	warnings_table(f, &r);
	fputs("<h2>Timeline</h2>\n", f);
	if (PQntuples(r.steps) > 0)
		rr_draw_timeline(f, &r);
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
	if (*rr_cell(res, 0, 12)) {
		snprintf(buf, size, "%s/%s", rr_cell(res, 0, 12), RUN_REPORT_FILE);
	} else {
		char base[4096];
		cfg_output_dir(cfg, base, sizeof(base));
		snprintf(buf, size, "%s/%s/%s/run-%s/%s", base, rr_cell(res, 0, 1), rr_cell(res, 0, 3), id, RUN_REPORT_FILE);
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
