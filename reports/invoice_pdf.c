/*
 * invoice_pdf.c - the PDF form of an issued document (see invoice_pdf.h).
 * Layout first (descriptions wrapped to the column, rows split into
 * pages), then drawing, so that every page can say how many there are.
 * Sizes are PostScript points on an A4 page.
 */
#include "invoice_pdf.h"
#include "err.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_W 595.28
#define PAGE_H 841.89
#define LEFT 50.0
#define RIGHT (PAGE_W - 50.0)
#define FOOT_Y (PAGE_H - 40.0)     /* baseline of the footer */
#define BODY_BOTTOM (PAGE_H - 70.0) /* rows end above this */
#define FONT "DejaVu Sans"

/* Table columns: line number, description, quantity, amount (right edges
 * for the two numbers). */
#define COL_NO LEFT
#define COL_DESC (LEFT + 26.0)
#define COL_QTY_R (RIGHT - 96.0)
#define COL_AMT_R RIGHT
#define DESC_W (COL_QTY_R - 70.0 - COL_DESC)
#define ROW_FONT 8.5
#define ROW_LEAD 11.0   /* line height within a row */
#define ROW_GAP 5.0     /* space between rows */
#define MAX_WRAP 8      /* description lines kept per row */

struct row {
	const struct invoice_doc_line *line;  /* NULL: a section caption */
	const char *caption;
	int nwrap;
	const char *wrap[MAX_WRAP];
	int wraplen[MAX_WRAP];
	double height;
	int page;
};

struct pdf {
	cairo_t *cr;
	const struct invoice_doc *d;
	struct row *rows;
	int nrows;
	int pages;
	double totals_y;       /* where the totals block starts */
	int totals_page;
};

/* One face for everything: each face is a font subset embedded in every
 * file, the biggest cost of a small PDF (about 1 ms and 10 kB each), so
 * emphasis is by size and colour. `bold` only enlarges a little. */
static void font(cairo_t *cr, int bold, double size)
{
	cairo_set_font_size(cr, bold ? size * 1.06 : size);
}

static void grey(cairo_t *cr, double level)
{
	cairo_set_source_rgb(cr, level, level, level);
}

static double width_n(cairo_t *cr, const char *s, int n)
{
	char buf[1024];
	cairo_text_extents_t ext;
	if (n < 0 || n >= (int)sizeof(buf))
		n = (int)sizeof(buf) - 1;
	memcpy(buf, s, (size_t)n);
	buf[n] = '\0';
	cairo_text_extents(cr, buf, &ext);
	return ext.x_advance;
}

static double width(cairo_t *cr, const char *s)
{
	cairo_text_extents_t ext;
	cairo_text_extents(cr, s, &ext);
	return ext.x_advance;
}

static void text(cairo_t *cr, double x, double y, const char *s)
{
	cairo_move_to(cr, x, y);
	cairo_show_text(cr, s);
}

static void text_n(cairo_t *cr, double x, double y, const char *s, int n)
{
	char buf[1024];
	if (n >= (int)sizeof(buf))
		n = (int)sizeof(buf) - 1;
	memcpy(buf, s, (size_t)n);
	buf[n] = '\0';
	text(cr, x, y, buf);
}

static void text_right(cairo_t *cr, double xr, double y, const char *s)
{
	text(cr, xr - width(cr, s), y, s);
}

void invoice_pdf_cleanup(void)
{
	cairo_debug_reset_static_data();
	/* fontconfig's own configuration: cairo loaded the library, billrun
	 * does not link it, so its FcFini is looked up. */
	void (*fc_fini)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "FcFini");
	if (fc_fini)
		fc_fini();
}

void invoice_pdf_group_digits(const char *amount, char *buf, size_t size)
{
	const char *p = amount;
	size_t n = 0;
	if (size == 0)
		return;
	if (*p == '-' || *p == '+')
		p++;
	size_t digits = strspn(p, "0123456789");
	if (digits == 0 || (p[digits] && (p[digits] != '.' || strspn(p + digits + 1, "0123456789") != strlen(p + digits + 1)))) {
		snprintf(buf, size, "%s", amount);
		return;
	}
	if (amount[0] == '-' && n + 1 < size)
		buf[n++] = '-';
	for (size_t i = 0; i < digits && n + 1 < size; i++) {
		if (i > 0 && (digits - i) % 3 == 0 && n + 2 < size)
			buf[n++] = ',';
		buf[n++] = p[i];
	}
	buf[n] = '\0';
	if (p[digits])
		snprintf(buf + n, size - n, "%s", p + digits);
}

/* Break s into lines that fit w at the current font: at spaces, or hard
 * when a single word is too long. */
static int wrap(cairo_t *cr, const char *s, double w, struct row *r)
{
	int len = (int)strlen(s);
	r->nwrap = 0;
	if (width(cr, s) <= w) {
		r->wrap[0] = s;
		r->wraplen[0] = len;
		r->nwrap = 1;
		return 1;
	}
	const char *start = s;
	while (*start && r->nwrap < MAX_WRAP) {
		int best = 0;
		int n = 0;
		int rest = (int)strlen(start);
		/* Extend word by word while the line fits. */
		while (n < rest) {
			int next = n;
			while (next < rest && start[next] == ' ')
				next++;
			while (next < rest && start[next] != ' ')
				next++;
			if (width_n(cr, start, next) > w)
				break;
			n = next;
			best = n;
		}
		if (best == 0) {
			/* One word longer than the line: cut it by characters
			 * (UTF-8 continuation bytes stay with their lead). */
			best = 1;
			while (best < rest && width_n(cr, start, best + 1) <= w)
				best++;
			while (best < rest && ((unsigned char)start[best] & 0xC0) == 0x80)
				best++;
		}
		if (r->nwrap == MAX_WRAP - 1 && best < rest)
			best = rest; /* the last kept line takes the rest (clipped by the page) */
		r->wrap[r->nwrap] = start;
		r->wraplen[r->nwrap] = best;
		r->nwrap++;
		start += best;
		while (*start == ' ')
			start++;
	}
	return r->nwrap;
}

/* ---- layout ---- */

static int is_tax(const struct invoice_doc_line *l)
{
	return strcmp(l->kind, "tax") == 0;
}

/* Rows in the order printed: charges, adjustments (with their taxes),
 * taxes; each group after a caption. */
static int build_rows(struct pdf *p, struct err *e)
{
	const struct invoice_doc *d = p->d;
	p->rows = calloc((size_t)d->nlines + 4, sizeof(*p->rows));
	if (!p->rows)
		return err_set(e, ERR_INTERNAL, "out of memory");
	int credit = strcmp(d->doc, "credit_note") == 0;
	static const char *const captions[3] = { NULL, "Adjustments for earlier periods (late usage)", "Taxes" };
	const char *first_caption = credit ? "Credited" : "Charges";
	font(p->cr, 0, ROW_FONT);
	for (int group = 0; group < 3; group++) {
		int any = 0;
		for (int i = 0; i < d->nlines; i++) {
			const struct invoice_doc_line *l = &d->lines[i];
			int g = l->adjustment ? 1 : is_tax(l) ? 2 : 0;
			if (g != group)
				continue;
			if (!any) {
				struct row *c = &p->rows[p->nrows++];
				c->caption = group == 0 ? first_caption : captions[group];
				c->height = 16.0;
				any = 1;
			}
			struct row *r = &p->rows[p->nrows++];
			r->line = l;
			wrap(p->cr, l->description, DESC_W, r);
			r->height = r->nwrap * ROW_LEAD + ROW_GAP;
		}
	}
	return 0;
}

#define TABLE_TOP_MIN 250.0    /* the table starts below page 1's header blocks, not above this */
#define TABLE_TOP_NEXT 110.0   /* below the short header on later pages */
#define TABLE_HEAD_H 20.0
#define TOTALS_H 78.0

/* Assign pages: rows flow down from the table top; the totals block must
 * fit below the last row, else it goes to a page of its own. */
static void paginate(struct pdf *p, double first_top)
{
	int page = 1;
	double y = first_top + TABLE_HEAD_H;
	for (int i = 0; i < p->nrows; i++) {
		struct row *r = &p->rows[i];
		/* A caption is never left alone at the bottom of a page. */
		double need = r->height + (r->caption && i + 1 < p->nrows ? p->rows[i + 1].height : 0);
		if (y + need > BODY_BOTTOM) {
			page++;
			y = TABLE_TOP_NEXT + TABLE_HEAD_H;
		}
		r->page = page;
		y += r->height;
	}
	if (y + TOTALS_H > BODY_BOTTOM) {
		page++;
		y = TABLE_TOP_NEXT;
	}
	p->totals_page = page;
	p->totals_y = y + 6.0;
	p->pages = page;
}

/* ---- drawing ---- */

static void draw_label_value(cairo_t *cr, double x, double xv, double y, const char *label, const char *value)
{
	font(cr, 0, 8.5);
	grey(cr, 0.42);
	text(cr, x, y, label);
	grey(cr, 0.1);
	font(cr, 0, 9.0);
	text(cr, xv, y, value);
}

static const char *doc_number_label(const struct invoice_doc *d)
{
	return strcmp(d->doc, "credit_note") == 0 ? "Credit note no." : "Invoice no.";
}

/* Page 1: seller, title, customer, the document's facts, a reference. */
static double draw_first_header(struct pdf *p)
{
	cairo_t *cr = p->cr;
	const struct invoice_doc *d = p->d;
	char buf[512];

	/* Seller, top left. */
	grey(cr, 0.1);
	font(cr, 1, 15.0);
	text(cr, LEFT, 70.0, d->seller_name[0] ? d->seller_name : "(seller not configured)");
	font(cr, 0, 8.5);
	grey(cr, 0.35);
	double y = 86.0;
	const char *a = d->seller_address;
	while (*a) {
		int n = (int)strcspn(a, "\n");
		text_n(cr, LEFT, y, a, n);
		y += 11.0;
		a += n;
		if (*a == '\n')
			a++;
	}
	if (d->seller_vat_id[0]) {
		snprintf(buf, sizeof(buf), "VAT ID %s", d->seller_vat_id);
		text(cr, LEFT, y, buf);
		y += 11.0;
	}
	if (d->seller_email[0]) {
		text(cr, LEFT, y, d->seller_email);
		y += 11.0;
	}

	/* Title, top right. */
	cairo_set_source_rgb(cr, 0.10, 0.25, 0.48);
	font(cr, 1, 22.0);
	text_right(cr, RIGHT, 72.0, invoice_doc_title(d));
	grey(cr, 0.1);
	font(cr, 1, 11.0);
	text_right(cr, RIGHT, 90.0, d->number);

	/* Customer, left. */
	double top = y > 150.0 ? y + 16.0 : 166.0;
	font(cr, 1, 8.0);
	grey(cr, 0.42);
	text(cr, LEFT, top, strcmp(d->doc, "credit_note") == 0 ? "CREDIT TO" : "BILL TO");
	grey(cr, 0.1);
	font(cr, 1, 11.0);
	text(cr, LEFT, top + 16.0, d->customer_name[0] ? d->customer_name : d->account);
	font(cr, 0, 9.0);
	double cy = top + 30.0;
	snprintf(buf, sizeof(buf), "Account %s", d->account);
	text(cr, LEFT, cy, buf);
	cy += 12.0;
	if (d->customer_email[0]) {
		text(cr, LEFT, cy, d->customer_email);
		cy += 12.0;
	}
	if (d->customer_tax[0]) {
		snprintf(buf, sizeof(buf), "Tax jurisdiction %s", d->customer_tax);
		text(cr, LEFT, cy, buf);
		cy += 12.0;
	}
	if (d->customer_cost_centre[0]) {
		snprintf(buf, sizeof(buf), "Cost centre %s", d->customer_cost_centre);
		text(cr, LEFT, cy, buf);
		cy += 12.0;
	}

	/* The document's facts, right. */
	double lx = 330.0, vx = 420.0, fy = top;
	draw_label_value(cr, lx, vx, fy, doc_number_label(d), d->number);
	fy += 14.0;
	draw_label_value(cr, lx, vx, fy, "Issue date", d->issue_date);
	fy += 14.0;
	if (d->due_date[0]) {
		draw_label_value(cr, lx, vx, fy, "Due date", d->due_date);
		fy += 14.0;
	}
	snprintf(buf, sizeof(buf), "%s to %s", d->period_start, d->period_last);
	draw_label_value(cr, lx, vx, fy, "Billing period", buf);
	fy += 14.0;
	draw_label_value(cr, lx, vx, fy, "Currency", d->currency);
	fy += 14.0;
	if (d->rule_version[0]) {
		snprintf(buf, sizeof(buf), "%s (sha256 %.12s)", d->rule_version, d->rule_sha256);
		draw_label_value(cr, lx, vx, fy, "Rule version", buf);
		fy += 14.0;
	}
	draw_label_value(cr, lx, vx, fy, "Run", d->run_id);
	fy += 14.0;

	double bottom = (cy > fy ? cy : fy) + 8.0;
	/* What this document refers to. */
	if (d->ref_kind[0]) {
		const char *what = "";
		if (strcmp(d->ref_kind, "credits") == 0)
			what = strcmp(d->reason, "late_usage") == 0
				       ? "This credit note credits invoice %s: late usage lowered the period's charges."
				       : "This credit note credits invoice %s in full after a correction; a new invoice replaces it.";
		else if (strcmp(d->ref_kind, "supplements") == 0)
			what = "This supplementary invoice bills usage that arrived after invoice %s was issued.";
		else if (strcmp(d->ref_kind, "replaces") == 0)
			what = "This invoice replaces invoice %s, which was credited in full.";
		snprintf(buf, sizeof(buf), what, d->ref_number);
		cairo_set_source_rgb(cr, 0.96, 0.94, 0.86);
		cairo_rectangle(cr, LEFT, bottom, RIGHT - LEFT, 20.0);
		cairo_fill(cr);
		grey(cr, 0.15);
		font(cr, 0, 8.5);
		text(cr, LEFT + 8.0, bottom + 13.5, buf);
		bottom += 28.0;
	}
	return bottom + 14.0 > TABLE_TOP_MIN ? bottom + 14.0 : TABLE_TOP_MIN;
}

static void draw_next_header(struct pdf *p)
{
	cairo_t *cr = p->cr;
	char buf[256];
	grey(cr, 0.1);
	font(cr, 1, 11.0);
	text(cr, LEFT, 70.0, p->d->seller_name);
	snprintf(buf, sizeof(buf), "%s %s (continued)", invoice_doc_title(p->d), p->d->number);
	font(cr, 0, 9.0);
	text_right(cr, RIGHT, 70.0, buf);
}

static void draw_table_head(struct pdf *p, double y)
{
	cairo_t *cr = p->cr;
	char buf[64];
	cairo_set_source_rgb(cr, 0.90, 0.92, 0.95);
	cairo_rectangle(cr, LEFT - 4.0, y, RIGHT - LEFT + 8.0, 17.0);
	cairo_fill(cr);
	grey(cr, 0.2);
	font(cr, 1, 8.0);
	text(cr, COL_NO, y + 11.5, "#");
	text(cr, COL_DESC, y + 11.5, "Description");
	text_right(cr, COL_QTY_R, y + 11.5, "Quantity");
	snprintf(buf, sizeof(buf), "%s %s", strcmp(p->d->doc, "credit_note") == 0 ? "Credited" : "Amount",
		 p->d->currency);
	text_right(cr, COL_AMT_R, y + 11.5, buf);
}

static void draw_row(struct pdf *p, const struct row *r, double y)
{
	cairo_t *cr = p->cr;
	char buf[128];
	if (r->caption) {
		font(cr, 1, 8.5);
		cairo_set_source_rgb(cr, 0.10, 0.25, 0.48);
		text(cr, COL_DESC, y + 11.0, r->caption);
		return;
	}
	const struct invoice_doc_line *l = r->line;
	double base = y + 9.0;
	grey(cr, 0.45);
	font(cr, 0, ROW_FONT);
	text(cr, COL_NO, base, l->line_no);
	grey(cr, 0.1);
	for (int k = 0; k < r->nwrap; k++)
		text_n(cr, COL_DESC, base + k * ROW_LEAD, r->wrap[k], r->wraplen[k]);
	if (l->quantity[0] && !is_tax(l)) {
		invoice_pdf_group_digits(l->quantity, buf, sizeof(buf));
		text_right(cr, COL_QTY_R, base, buf);
	}
	invoice_pdf_group_digits(l->amount, buf, sizeof(buf));
	text_right(cr, COL_AMT_R, base, buf);
	/* A hairline under the row. */
	grey(cr, 0.88);
	cairo_rectangle(cr, LEFT, y + r->height - 1.5, RIGHT - LEFT, 0.5);
	cairo_fill(cr);
}

static void draw_totals(struct pdf *p, double y)
{
	cairo_t *cr = p->cr;
	const struct invoice_doc *d = p->d;
	char buf[128], amt[96];
	int credit = strcmp(d->doc, "credit_note") == 0;
	double lx = 340.0;

	font(cr, 0, 9.0);
	grey(cr, 0.3);
	text(cr, lx, y + 12.0, "Subtotal");
	invoice_pdf_group_digits(d->subtotal, amt, sizeof(amt));
	text_right(cr, RIGHT, y + 12.0, amt);
	text(cr, lx, y + 26.0, "Tax");
	invoice_pdf_group_digits(d->tax_total, amt, sizeof(amt));
	text_right(cr, RIGHT, y + 26.0, amt);
	grey(cr, 0.2);
	cairo_rectangle(cr, lx, y + 33.0, RIGHT - lx, 0.8);
	cairo_fill(cr);
	grey(cr, 0.05);
	font(cr, 1, 11.5);
	text(cr, lx, y + 50.0, credit ? "Total credited" : "Total due");
	invoice_pdf_group_digits(d->total, amt, sizeof(amt));
	snprintf(buf, sizeof(buf), "%s %s", d->currency, amt);
	text_right(cr, RIGHT, y + 50.0, buf);

	/* Payment, left of the totals. */
	font(cr, 0, 8.5);
	grey(cr, 0.25);
	double py = y + 12.0;
	if (!credit && d->due_date[0]) {
		snprintf(buf, sizeof(buf), "Please pay by %s,", d->due_date);
		text(cr, LEFT, py, buf);
		py += 11.0;
		snprintf(buf, sizeof(buf), "quoting %s.", d->number);
		text(cr, LEFT, py, buf);
		py += 11.0;
	} else if (credit) {
		text(cr, LEFT, py, "The amount credited is set off");
		py += 11.0;
		text(cr, LEFT, py, "against your account.");
		py += 11.0;
	}
	if (d->seller_payment[0]) {
		const char *s = d->seller_payment;
		while (*s && py < y + TOTALS_H) {
			int n = (int)strcspn(s, "\n");
			text_n(cr, LEFT, py, s, n);
			py += 11.0;
			s += n;
			if (*s == '\n')
				s++;
		}
	}
}

static void draw_footer(struct pdf *p, int page)
{
	cairo_t *cr = p->cr;
	char buf[256];
	grey(cr, 0.8);
	cairo_rectangle(cr, LEFT, FOOT_Y - 12.0, RIGHT - LEFT, 0.5);
	cairo_fill(cr);
	grey(cr, 0.45);
	font(cr, 0, 7.0);
	snprintf(buf, sizeof(buf), "%s %s  |  issued %s  |  billrun run %s", invoice_doc_title(p->d), p->d->number,
		 p->d->issued_at, p->d->run_id);
	text(cr, LEFT, FOOT_Y, buf);
	snprintf(buf, sizeof(buf), "page %d of %d", page, p->pages);
	text_right(cr, RIGHT, FOOT_Y, buf);
}

static void set_metadata(cairo_surface_t *s, const struct invoice_doc *d)
{
	char title[256];
	snprintf(title, sizeof(title), "%s %s", invoice_doc_title(d), d->number);
	cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE, title);
	cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_AUTHOR, d->seller_name);
	cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATOR, "billrun");
}

int invoice_pdf_write(const struct invoice_doc *d, const char *path, struct err *e)
{
	struct pdf p = { .d = d };
	int rc = -1;

	cairo_surface_t *surface = cairo_pdf_surface_create(path, PAGE_W, PAGE_H);
	if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS) {
		err_set(e, ERR_IO, "could not create '%s': %s", path,
			cairo_status_to_string(cairo_surface_status(surface)));
		cairo_surface_destroy(surface);
		return -1;
	}
	set_metadata(surface, d);
	p.cr = cairo_create(surface);
	cairo_select_font_face(p.cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
	if (build_rows(&p, e))
		goto out;

	/* Page 1's header decides where its table starts: draw it, then lay
	 * out the rows from there. */
	double top = draw_first_header(&p);
	paginate(&p, top);
	int page = 1, i = 0;
	for (;;) {
		double y = page == 1 ? top : TABLE_TOP_NEXT;
		if (page > 1)
			draw_next_header(&p);
		if (i < p.nrows) {
			draw_table_head(&p, y);
			y += TABLE_HEAD_H;
			for (; i < p.nrows && p.rows[i].page == page; i++) {
				draw_row(&p, &p.rows[i], y);
				y += p.rows[i].height;
			}
		}
		if (page == p.totals_page)
			draw_totals(&p, p.totals_y);
		draw_footer(&p, page);
		if (page == p.pages)
			break;
		cairo_show_page(p.cr);
		page++;
	}
	cairo_destroy(p.cr);
	p.cr = NULL;
	cairo_surface_finish(surface);
	if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS) {
		err_set(e, ERR_IO, "could not write '%s': %s", path, cairo_status_to_string(cairo_surface_status(surface)));
		goto out;
	}
	rc = 0;
out:
	if (p.cr)
		cairo_destroy(p.cr);
	cairo_surface_destroy(surface);
	free(p.rows);
	return rc;
}
