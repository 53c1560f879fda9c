/*
 * canvas_haru.c - the canvas (canvas.h) drawn with libharu as PDF/A-3b
 * (pdfa.h): in DejaVu Sans cut to Windows-1252, embedded from memory, so
 * a one-page invoice costs about a fifth of what cairo's subset made per
 * document does. Text is converted to Windows-1252 (WinAnsiEncoding) with
 * iconv; text outside it makes canvas_finish answer CANVAS_NEEDS_UNICODE.
 */
#include "canvas.h"
#include "err.h"
#include "outfile.h"
#include "pdfa.h"

#include <errno.h>
#include <hpdf.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct canvas_haru {
	struct canvas base;
	HPDF_Doc pdf;
	HPDF_Page page;
	HPDF_Font font;
	iconv_t to_winansi;
	char *path;
	struct canvas_meta meta;  /* the caller's strings, until canvas_finish */
	double width, height;
	double size, r, g, b;  /* as asked */
	double page_size;      /* as set on the page; < 0: not yet */
	int page_rgb;          /* the fill colour is set on the page */
	int in_text;           /* between BT and ET */
	int not_winansi;       /* some text could not be converted */
	HPDF_STATUS error, detail;  /* libharu's first error */
};

/* libharu reports errors here, then the call returns its code. The first
 * one is kept for canvas_finish. Reading the saved stream to its end is
 * reported too (HPDF_STREAM_EOF) and is not an error. */
static void on_error(HPDF_STATUS error, HPDF_STATUS detail, void *data)
{
	struct canvas_haru *h = data;
	if (error == HPDF_STREAM_EOF)
		return;
	if (!h->error) {
		h->error = error;
		h->detail = detail;
	}
}

/* UTF-8 to Windows-1252 into out (size bytes, NUL-terminated). Returns the
 * length, or -1 when a character has no Windows-1252 form (or the text is
 * not UTF-8). */
static int to_winansi(struct canvas_haru *h, const char *s, int n, char *out, size_t size)
{
	char *in = (char *)s, *o = out;
	size_t inleft = n < 0 ? 0 : (size_t)n, outleft = size - 1;
	iconv(h->to_winansi, NULL, NULL, NULL, NULL);
	if (iconv(h->to_winansi, &in, &inleft, &o, &outleft) == (size_t)-1 && errno != E2BIG) {
		h->not_winansi = 1;
		return -1;
	}
	*o = '\0';
	return (int)(o - out);
}

static void end_text(struct canvas_haru *h)
{
	if (h->in_text) {
		HPDF_Page_EndText(h->page);
		h->in_text = 0;
	}
}

static void apply_rgb(struct canvas_haru *h)
{
	if (!h->page_rgb) {
		HPDF_Page_SetRGBFill(h->page, (HPDF_REAL)h->r, (HPDF_REAL)h->g, (HPDF_REAL)h->b);
		h->page_rgb = 1;
	}
}

static void add_page(struct canvas_haru *h)
{
	h->page = HPDF_AddPage(h->pdf);
	HPDF_Page_SetWidth(h->page, (HPDF_REAL)h->width);
	HPDF_Page_SetHeight(h->page, (HPDF_REAL)h->height);
	h->page_size = -1;
	h->page_rgb = 0;
	h->in_text = 0;
}

static void ch_font_size(struct canvas *c, double size)
{
	((struct canvas_haru *)c)->size = size;
}

static void ch_fill_rgb(struct canvas *c, double r, double g, double b)
{
	struct canvas_haru *h = (struct canvas_haru *)c;
	h->r = r, h->g = g, h->b = b;
	h->page_rgb = 0;
}

static double ch_text_width(struct canvas *c, const char *s, int n)
{
	struct canvas_haru *h = (struct canvas_haru *)c;
	char buf[1024];
	int len = to_winansi(h, s, n, buf, sizeof(buf));
	if (len <= 0)
		return 0;
	HPDF_TextWidth tw = HPDF_Font_TextWidth(h->font, (const HPDF_BYTE *)buf, (HPDF_UINT)len);
	return tw.width * h->size / 1000.0;
}

static void ch_text(struct canvas *c, double x, double y, const char *s, int n)
{
	struct canvas_haru *h = (struct canvas_haru *)c;
	char buf[1024];
	if (to_winansi(h, s, n, buf, sizeof(buf)) <= 0)
		return;
	if (!h->in_text) {
		HPDF_Page_BeginText(h->page);
		h->in_text = 1;
	}
	if (h->page_size != h->size) {
		HPDF_Page_SetFontAndSize(h->page, h->font, (HPDF_REAL)h->size);
		h->page_size = h->size;
	}
	apply_rgb(h);
	HPDF_Page_TextOut(h->page, (HPDF_REAL)x, (HPDF_REAL)(h->height - y), buf);
}

static void ch_rect(struct canvas *c, double x, double y, double w, double hgt)
{
	struct canvas_haru *h = (struct canvas_haru *)c;
	end_text(h);
	apply_rgb(h);
	HPDF_Page_Rectangle(h->page, (HPDF_REAL)x, (HPDF_REAL)(h->height - y - hgt), (HPDF_REAL)w, (HPDF_REAL)hgt);
	HPDF_Page_Fill(h->page);
}

static void ch_next_page(struct canvas *c)
{
	struct canvas_haru *h = (struct canvas_haru *)c;
	end_text(h);
	add_page(h);
}

/* The document is saved into libharu's memory stream and written from
 * there by us: libharu's own file writer neither reports why a write
 * failed nor checks close, where a full disk shows. */
static int write_file(struct canvas_haru *h, struct outfile_sum *sum, struct err *e)
{
	struct outfile f;
	if (outfile_open(&f, h->path, e))
		return -1;
	HPDF_BYTE buf[65536];
	for (;;) {
		HPDF_UINT32 n = sizeof(buf);
		HPDF_STATUS st = HPDF_ReadFromStream(h->pdf, buf, &n);
		if (n > 0 && outfile_write(&f, buf, n) != 0)
			break; /* reported by outfile_close */
		if (st == HPDF_STREAM_EOF)
			break;
		if (st != HPDF_OK) {
			outfile_discard(&f);
			return err_set(e, ERR_INTERNAL, "libharu could not read back '%s': error 0x%04X", h->path,
				       (unsigned)st);
		}
	}
	return outfile_close(&f, sum, e);
}

static int ch_finish(struct canvas *c, struct outfile_sum *sum, struct err *e)
{
	struct canvas_haru *h = (struct canvas_haru *)c;
	if (h->not_winansi)
		return CANVAS_NEEDS_UNICODE;
	end_text(h);
	const struct pdfa_meta pm = { h->meta.title, h->meta.author, h->meta.creator, h->meta.subject,
				      h->meta.keywords, h->meta.created };
	struct pdfa_attachment att[CANVAS_MAX_ATTACHMENTS];
	size_t natt = 0;
	for (int i = 0; i < h->meta.nattachments && i < CANVAS_MAX_ATTACHMENTS; i++) {
		const struct canvas_attachment *a = &h->meta.attachments[i];
		att[natt++] = (struct pdfa_attachment){ a->name, a->mime, a->description, a->relationship, a->data,
							a->len };
	}
	if (!h->error && pdfa_finish(h->pdf, &pm, att, natt) && !h->error)
		h->error = HPDF_FAILD_TO_ALLOC_MEM;
	if (!h->error)
		HPDF_SaveToStream(h->pdf);
	if (h->error)
		return err_set(e, ERR_INTERNAL, "libharu could not draw '%s': error 0x%04X (detail %u)", h->path,
			       (unsigned)h->error, (unsigned)h->detail);
	return write_file(h, sum, e);
}

static void ch_free(struct canvas *c)
{
	struct canvas_haru *h = (struct canvas_haru *)c;
	if (h->pdf)
		HPDF_Free(h->pdf);
	if (h->to_winansi != (iconv_t)-1)
		iconv_close(h->to_winansi);
	free(h->path);
	free(h);
}

static const struct canvas_ops haru_ops = {
	ch_font_size, ch_fill_rgb, ch_text_width, ch_text, ch_rect, ch_next_page, ch_finish, ch_free,
};

struct canvas *canvas_haru_new(const char *path, double width, double height, const struct canvas_meta *m,
			       struct err *e)
{
	struct canvas_haru *h = calloc(1, sizeof(*h));
	if (!h || !(h->path = strdup(path))) {
		free(h);
		err_set(e, ERR_INTERNAL, "out of memory");
		return NULL;
	}
	h->base.ops = &haru_ops;
	h->width = width;
	h->height = height;
	h->size = 10.0;
	h->to_winansi = iconv_open("WINDOWS-1252", "UTF-8");
	if (h->to_winansi == (iconv_t)-1) {
		err_set(e, ERR_INTERNAL, "could not convert UTF-8 to Windows-1252: %s", strerror(errno));
		ch_free(&h->base);
		return NULL;
	}
	h->pdf = HPDF_New(on_error, h);
	if (!h->pdf) {
		err_set(e, ERR_INTERNAL, "libharu could not start a document");
		ch_free(&h->base);
		return NULL;
	}
	/* Every stream compressed but the XMP metadata, which PDF/A wants
	 * plain: pdfa.c makes that stream itself, unfiltered. */
	HPDF_SetCompressionMode(h->pdf, HPDF_COMP_ALL);
	h->font = pdfa_font(h->pdf);
	if (!h->font) {
		err_set(e, ERR_INTERNAL, "libharu could not load the built-in font: error 0x%04X", (unsigned)h->error);
		ch_free(&h->base);
		return NULL;
	}
	h->meta = *m;
	add_page(h);
	return &h->base;
}
