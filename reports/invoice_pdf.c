/*
 * invoice_pdf.c - the PDF form of an issued document (see invoice_pdf.h).
 * Layout first (descriptions wrapped to the column, rows split into
 * pages), then drawing, so that every page can say how many there are.
 * Sizes are PostScript points on an A4 page.
 */
#include "invoice_pdf.h"
#include "canvas.h"
#include "err.h"
#include "invoice_words.h"

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

/* Table columns: line number, description, quantity, amount (right edges
 * for the two numbers). */
#define COL_NO LEFT
#define COL_DESC (LEFT + 26.0)
#define COL_QTY_R (RIGHT - 96.0)
#define COL_AMT_R RIGHT
#define DESC_W (COL_QTY_R - 92.0 - COL_DESC)
#define ROW_FONT 8.5
#define ROW_LEAD 11.0   /* line height within a row */
#define ROW_GAP 5.0     /* space between rows */
#define MAX_WRAP 8      /* description and pricing lines kept per row */
#define WORDS_FONT 7.5  /* the pricing words under a description */

struct row {
	const struct invoice_doc_line *line;  /* NULL: a section caption */
	const char *caption;
	int nwrap;
	int words_from;       /* wrapped lines from here on are the pricing words */
	const char *wrap[MAX_WRAP];
	int wraplen[MAX_WRAP];
	char words[512];      /* the line's pricing in words (invoice_words.h) */
	double height;
	int page;
};

struct pdf {
	struct canvas *cv;
	const struct invoice_doc *d;
	struct row *rows;
	int nrows;
	int pages;
	double totals_y;       /* where the totals block starts */
	int totals_page;
};

/* One face for everything (with cairo each face is a font subset embedded
 * in every file), so emphasis is by size and colour. `bold` only enlarges
 * a little. */
static void font(struct canvas *cv, int bold, double size)
{
	canvas_font_size(cv, bold ? size * 1.06 : size);
}

static void grey(struct canvas *cv, double level)
{
	canvas_fill_rgb(cv, level, level, level);
}

static double width(struct canvas *cv, const char *s)
{
	return canvas_text_width(cv, s, (int)strlen(s));
}

static void text(struct canvas *cv, double x, double y, const char *s)
{
	canvas_text(cv, x, y, s, (int)strlen(s));
}

static void text_right(struct canvas *cv, double xr, double y, const char *s)
{
	text(cv, xr - width(cv, s), y, s);
}

void invoice_pdf_cleanup(void)
{
	canvas_cairo_cleanup();
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

/* The offset after the character at offset i of s (n bytes): past its
 * UTF-8 continuation bytes. */
static int next_char(const char *s, int i, int n)
{
	if (i < n)
		i++;
	while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80)
		i++;
	return i;
}

/* Break s into lines that fit w at the current font, after the row's
 * lines so far: at spaces, or hard when a single word is too long. */
static int wrap(struct canvas *cv, const char *s, double w, struct row *r)
{
	int len = (int)strlen(s);
	if (r->nwrap >= MAX_WRAP)
		return r->nwrap;
	if (width(cv, s) <= w) {
		r->wrap[r->nwrap] = s;
		r->wraplen[r->nwrap] = len;
		return ++r->nwrap;
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
			if (canvas_text_width(cv, start, next) > w)
				break;
			n = next;
			best = n;
		}
		if (best == 0) {
			/* One word longer than the line: cut it by characters
			 * (never inside a UTF-8 sequence: measured text is
			 * always whole characters). */
			best = next_char(start, 0, rest);
			for (;;) {
				int more = next_char(start, best, rest);
				if (more == best || canvas_text_width(cv, start, more) > w)
					break;
				best = more;
			}
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
 * taxes; each group after a caption. Lines invoice_line_shown() leaves
 * out (zero usage) get no row. */
static int build_rows(struct pdf *p, struct err *e)
{
	const struct invoice_doc *d = p->d;
	p->rows = calloc((size_t)d->nlines + 4, sizeof(*p->rows));
	if (!p->rows)
		return err_set(e, ERR_INTERNAL, "out of memory");
	int credit = strcmp(d->doc, "credit_note") == 0;
	static const char *const captions[3] = { NULL, "Adjustments for earlier periods (late usage)", "Taxes" };
	const char *first_caption = credit ? "Credited" : "Charges";
	font(p->cv, 0, ROW_FONT);
	for (int group = 0; group < 3; group++) {
		int any = 0;
		for (int i = 0; i < d->nlines; i++) {
			const struct invoice_doc_line *l = &d->lines[i];
			int g = l->adjustment ? 1 : is_tax(l) ? 2 : 0;
			if (g != group || !invoice_line_shown(l))
				continue;
			if (!any) {
				struct row *c = &p->rows[p->nrows++];
				c->caption = group == 0 ? first_caption : captions[group];
				c->height = 16.0;
				any = 1;
			}
			struct row *r = &p->rows[p->nrows++];
			r->line = l;
			wrap(p->cv, l->description, DESC_W, r);
			r->words_from = r->nwrap;
			invoice_line_pricing(l, r->words, sizeof(r->words));
			if (r->words[0]) {
				font(p->cv, 0, WORDS_FONT);
				wrap(p->cv, r->words, DESC_W, r);
				font(p->cv, 0, ROW_FONT);
			}
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

static void draw_label_value(struct canvas *cv, double x, double xv, double y, const char *label, const char *value)
{
	font(cv, 0, 8.5);
	grey(cv, 0.42);
	text(cv, x, y, label);
	grey(cv, 0.1);
	font(cv, 0, 9.0);
	text(cv, xv, y, value);
}

static const char *doc_number_label(const struct invoice_doc *d)
{
	return strcmp(d->doc, "credit_note") == 0 ? "Credit note no." : "Invoice no.";
}

/* Page 1: seller, title, customer, the document's facts, a reference. */
static double draw_first_header(struct pdf *p)
{
	struct canvas *cv = p->cv;
	const struct invoice_doc *d = p->d;
	char buf[512];

	/* Seller, top left. */
	grey(cv, 0.1);
	font(cv, 1, 15.0);
	text(cv, LEFT, 70.0, d->seller_name[0] ? d->seller_name : "(seller not configured)");
	font(cv, 0, 8.5);
	grey(cv, 0.35);
	double y = 86.0;
	const char *a = d->seller_address;
	while (*a) {
		int n = (int)strcspn(a, "\n");
		canvas_text(cv, LEFT, y, a, n);
		y += 11.0;
		a += n;
		if (*a == '\n')
			a++;
	}
	if (d->seller_vat_id[0]) {
		snprintf(buf, sizeof(buf), "VAT ID %s", d->seller_vat_id);
		text(cv, LEFT, y, buf);
		y += 11.0;
	}
	if (d->seller_company_id && d->seller_company_id[0]) {
		snprintf(buf, sizeof(buf), "Company no. %s", d->seller_company_id);
		text(cv, LEFT, y, buf);
		y += 11.0;
	}
	if (d->seller_email[0]) {
		text(cv, LEFT, y, d->seller_email);
		y += 11.0;
	}

	/* Title, top right. */
	canvas_fill_rgb(cv, 0.10, 0.25, 0.48);
	font(cv, 1, 22.0);
	text_right(cv, RIGHT, 72.0, invoice_doc_title(d));
	grey(cv, 0.1);
	font(cv, 1, 11.0);
	text_right(cv, RIGHT, 90.0, d->number);

	/* Customer, left. */
	double top = y > 150.0 ? y + 16.0 : 166.0;
	font(cv, 1, 8.0);
	grey(cv, 0.42);
	text(cv, LEFT, top, strcmp(d->doc, "credit_note") == 0 ? "CREDIT TO" : "BILL TO");
	grey(cv, 0.1);
	font(cv, 1, 11.0);
	text(cv, LEFT, top + 16.0, d->customer_name[0] ? d->customer_name : d->account);
	font(cv, 0, 9.0);
	double cy = top + 30.0;
	/* The buyer's address and VAT identifier (article 226 (5), (4)). */
	const char *lines[] = { d->customer_line1, d->customer_line2 };
	for (int i = 0; i < 2; i++)
		if (lines[i] && lines[i][0]) {
			text(cv, LEFT, cy, lines[i]);
			cy += 12.0;
		}
	if ((d->customer_postcode && d->customer_postcode[0]) || (d->customer_city && d->customer_city[0]) ||
	    (d->customer_country && d->customer_country[0])) {
		snprintf(buf, sizeof(buf), "%s%s%s%s%s", d->customer_postcode ? d->customer_postcode : "",
			 d->customer_postcode && d->customer_postcode[0] ? " " : "", d->customer_city ? d->customer_city : "",
			 d->customer_country && d->customer_country[0] ? ", " : "",
			 d->customer_country ? d->customer_country : "");
		text(cv, LEFT, cy, buf[0] == ',' ? buf + 2 : buf);
		cy += 12.0;
	}
	if (d->customer_vat_id && d->customer_vat_id[0]) {
		snprintf(buf, sizeof(buf), "VAT ID %s", d->customer_vat_id);
		text(cv, LEFT, cy, buf);
		cy += 12.0;
	}
	snprintf(buf, sizeof(buf), "Account %s", d->account);
	text(cv, LEFT, cy, buf);
	cy += 12.0;
	if (d->customer_email[0]) {
		text(cv, LEFT, cy, d->customer_email);
		cy += 12.0;
	}
	if (d->customer_tax[0]) {
		snprintf(buf, sizeof(buf), "Tax jurisdiction %s", d->customer_tax);
		text(cv, LEFT, cy, buf);
		cy += 12.0;
	}
	if (d->customer_cost_centre[0]) {
		snprintf(buf, sizeof(buf), "Cost centre %s", d->customer_cost_centre);
		text(cv, LEFT, cy, buf);
		cy += 12.0;
	}

	/* The document's facts, right. */
	double lx = 330.0, vx = 420.0, fy = top;
	draw_label_value(cv, lx, vx, fy, doc_number_label(d), d->number);
	fy += 14.0;
	draw_label_value(cv, lx, vx, fy, "Issue date", d->issue_date);
	fy += 14.0;
	if (d->due_date[0]) {
		draw_label_value(cv, lx, vx, fy, "Due date", d->due_date);
		fy += 14.0;
	}
	snprintf(buf, sizeof(buf), "%s to %s", d->period_start, d->period_last);
	draw_label_value(cv, lx, vx, fy, "Billing period", buf);
	fy += 14.0;
	draw_label_value(cv, lx, vx, fy, "Currency", d->currency);
	fy += 14.0;
	/* The run and the rule version are for auditors: in the file's
	 * metadata (draw), not on the customer's page. */

	double bottom = (cy > fy ? cy : fy) + 8.0;
	/* Article 226 (11a): the buyer accounts for the VAT. */
	if (d->reverse_charge) {
		canvas_fill_rgb(cv, 0.96, 0.94, 0.86);
		canvas_rect(cv, LEFT, bottom, RIGHT - LEFT, 20.0);
		grey(cv, 0.15);
		font(cv, 1, 8.5);
		text(cv, LEFT + 8.0, bottom + 13.5,
		     "Reverse charge: the buyer accounts for the VAT (Council Directive 2006/112/EC, article 196).");
		bottom += 28.0;
	}
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
		canvas_fill_rgb(cv, 0.96, 0.94, 0.86);
		canvas_rect(cv, LEFT, bottom, RIGHT - LEFT, 20.0);
		grey(cv, 0.15);
		font(cv, 0, 8.5);
		text(cv, LEFT + 8.0, bottom + 13.5, buf);
		bottom += 28.0;
	}
	return bottom + 14.0 > TABLE_TOP_MIN ? bottom + 14.0 : TABLE_TOP_MIN;
}

static void draw_next_header(struct pdf *p)
{
	struct canvas *cv = p->cv;
	char buf[256];
	grey(cv, 0.1);
	font(cv, 1, 11.0);
	text(cv, LEFT, 70.0, p->d->seller_name);
	snprintf(buf, sizeof(buf), "%s %s (continued)", invoice_doc_title(p->d), p->d->number);
	font(cv, 0, 9.0);
	text_right(cv, RIGHT, 70.0, buf);
}

static void draw_table_head(struct pdf *p, double y)
{
	struct canvas *cv = p->cv;
	char buf[64];
	canvas_fill_rgb(cv, 0.90, 0.92, 0.95);
	canvas_rect(cv, LEFT - 4.0, y, RIGHT - LEFT + 8.0, 17.0);
	grey(cv, 0.2);
	font(cv, 1, 8.0);
	text(cv, COL_NO, y + 11.5, "#");
	text(cv, COL_DESC, y + 11.5, "Description");
	text_right(cv, COL_QTY_R, y + 11.5, "Quantity");
	snprintf(buf, sizeof(buf), "%s %s", strcmp(p->d->doc, "credit_note") == 0 ? "Credited" : "Amount",
		 p->d->currency);
	text_right(cv, COL_AMT_R, y + 11.5, buf);
}

static void draw_row(struct pdf *p, const struct row *r, double y)
{
	struct canvas *cv = p->cv;
	char buf[128];
	if (r->caption) {
		font(cv, 1, 8.5);
		canvas_fill_rgb(cv, 0.10, 0.25, 0.48);
		text(cv, COL_DESC, y + 11.0, r->caption);
		return;
	}
	const struct invoice_doc_line *l = r->line;
	double base = y + 9.0;
	grey(cv, 0.45);
	font(cv, 0, ROW_FONT);
	text(cv, COL_NO, base, l->line_no);
	grey(cv, 0.1);
	for (int k = 0; k < r->nwrap; k++) {
		if (k == r->words_from) {
			grey(cv, 0.38);
			font(cv, 0, WORDS_FONT);
		}
		canvas_text(cv, COL_DESC, base + k * ROW_LEAD, r->wrap[k], r->wraplen[k]);
	}
	grey(cv, 0.1);
	font(cv, 0, ROW_FONT);
	invoice_line_quantity(l, buf, sizeof(buf));
	if (buf[0])
		text_right(cv, COL_QTY_R, base, buf);
	invoice_pdf_group_digits(l->amount, buf, sizeof(buf));
	text_right(cv, COL_AMT_R, base, buf);
	/* A hairline under the row. */
	grey(cv, 0.88);
	canvas_rect(cv, LEFT, y + r->height - 1.5, RIGHT - LEFT, 0.5);
}

static void draw_totals(struct pdf *p, double y)
{
	struct canvas *cv = p->cv;
	const struct invoice_doc *d = p->d;
	char buf[128], amt[96];
	int credit = strcmp(d->doc, "credit_note") == 0;
	double lx = 340.0;

	font(cv, 0, 9.0);
	grey(cv, 0.3);
	text(cv, lx, y + 12.0, "Subtotal");
	invoice_pdf_group_digits(d->subtotal, amt, sizeof(amt));
	text_right(cv, RIGHT, y + 12.0, amt);
	text(cv, lx, y + 26.0, "Tax");
	invoice_pdf_group_digits(d->tax_total, amt, sizeof(amt));
	text_right(cv, RIGHT, y + 26.0, amt);
	grey(cv, 0.2);
	canvas_rect(cv, lx, y + 33.0, RIGHT - lx, 0.8);
	grey(cv, 0.05);
	font(cv, 1, 11.5);
	text(cv, lx, y + 50.0, credit ? "Total credited" : "Total due");
	invoice_pdf_group_digits(d->total, amt, sizeof(amt));
	snprintf(buf, sizeof(buf), "%s %s", d->currency, amt);
	text_right(cv, RIGHT, y + 50.0, buf);

	/* Payment, left of the totals. */
	font(cv, 0, 8.5);
	grey(cv, 0.25);
	double py = y + 12.0;
	if (!credit && d->due_date[0]) {
		snprintf(buf, sizeof(buf), "Please pay by %s,", d->due_date);
		text(cv, LEFT, py, buf);
		py += 11.0;
		snprintf(buf, sizeof(buf), "quoting %s.", d->number);
		text(cv, LEFT, py, buf);
		py += 11.0;
	} else if (credit) {
		text(cv, LEFT, py, "The amount credited is set off");
		py += 11.0;
		text(cv, LEFT, py, "against your account.");
		py += 11.0;
	}
	if (d->seller_payment[0]) {
		const char *s = d->seller_payment;
		while (*s && py < y + TOTALS_H) {
			int n = (int)strcspn(s, "\n");
			canvas_text(cv, LEFT, py, s, n);
			py += 11.0;
			s += n;
			if (*s == '\n')
				s++;
		}
	}
}

static void draw_footer(struct pdf *p, int page)
{
	struct canvas *cv = p->cv;
	char buf[256];
	grey(cv, 0.8);
	canvas_rect(cv, LEFT, FOOT_Y - 12.0, RIGHT - LEFT, 0.5);
	grey(cv, 0.45);
	font(cv, 0, 7.0);
	snprintf(buf, sizeof(buf), "%s %s  |  issued %s", invoice_doc_title(p->d), p->d->number, p->d->issued_at);
	text(cv, LEFT, FOOT_Y, buf);
	snprintf(buf, sizeof(buf), "page %d of %d", page, p->pages);
	text_right(cv, RIGHT, FOOT_Y, buf);
}

/* Draw the document on a canvas made by new_canvas and write it. Returns
 * what canvas_finish returns. */
static int draw(const struct invoice_doc *d, const char *path,
		struct canvas *(*new_canvas)(const char *, double, double, const struct canvas_meta *, struct err *),
		const struct canvas_attachment *einvoice, struct outfile_sum *sum, struct err *e)
{
	char title[256], subject[256], keywords[256];
	snprintf(title, sizeof(title), "%s %s", invoice_doc_title(d), d->number);
	/* Where auditors trace the document to: the run that issued it and
	 * the rule version it was rated with (also in the JSON). */
	snprintf(subject, sizeof(subject), "billrun run %s, rule version %s (sha256 %s)", d->run_id,
		 d->rule_version[0] ? d->rule_version : "none", d->rule_sha256[0] ? d->rule_sha256 : "none");
	snprintf(keywords, sizeof(keywords), "billrun-run=%s billrun-rule-version=%s billrun-rule-sha256=%s", d->run_id,
		 d->rule_version[0] ? d->rule_version : "none", d->rule_sha256[0] ? d->rule_sha256 : "none");
	const struct canvas_meta meta = { .title = title, .author = d->seller_name, .creator = "billrun",
					  .subject = subject, .keywords = keywords, .created = d->issued_at,
					  .attachments = einvoice, .nattachments = einvoice ? 1 : 0 };
	struct pdf p = { .d = d };
	int rc = -1;

	p.cv = new_canvas(path, PAGE_W, PAGE_H, &meta, e);
	if (!p.cv)
		return -1;
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
		canvas_next_page(p.cv);
		page++;
	}
	rc = canvas_finish(p.cv, sum, e);
out:
	canvas_free(p.cv);
	free(p.rows);
	return rc;
}

int invoice_pdf_write(const struct invoice_doc *d, const char *path, const struct canvas_attachment *einvoice,
		      struct outfile_sum *sum, struct err *e)
{
	int rc = draw(d, path, canvas_haru_new, einvoice, sum, e);
	if (rc == CANVAS_NEEDS_UNICODE)
		rc = draw(d, path, canvas_cairo_new, einvoice, sum, e);
	return rc == 0 ? 0 : -1;
}
