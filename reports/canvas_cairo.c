/*
 * canvas_cairo.c - the canvas (canvas.h) drawn with cairo's PDF surface in
 * DejaVu Sans: any Unicode text, the font subset embedded in every file.
 * Used for documents whose text the libharu canvas's Windows-1252 font
 * cannot show; its files are plain PDF, not PDF/A.
 */
#include "canvas.h"
#include "err.h"
#include "outfile.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#define FONT "DejaVu Sans"

struct canvas_cairo {
	struct canvas base;
	cairo_surface_t *surface;
	cairo_t *cr;
	struct outfile out;   /* cairo writes through it (cairo's own file
	                         writer names no reason for a failed write) */
	int written;          /* canvas_finish closed out whole */
};

static cairo_status_t write_out(void *closure, const unsigned char *data, unsigned int length)
{
	return outfile_write(closure, data, length) == 0 ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

/* cairo takes NUL-terminated text. */
static const char *terminated(const char *s, int n, char *buf, size_t size)
{
	if (n < 0 || (size_t)n >= size)
		n = (int)size - 1;
	memcpy(buf, s, (size_t)n);
	buf[n] = '\0';
	return buf;
}

static void cc_font_size(struct canvas *c, double size)
{
	cairo_set_font_size(((struct canvas_cairo *)c)->cr, size);
}

static void cc_fill_rgb(struct canvas *c, double r, double g, double b)
{
	cairo_set_source_rgb(((struct canvas_cairo *)c)->cr, r, g, b);
}

static double cc_text_width(struct canvas *c, const char *s, int n)
{
	char buf[1024];
	cairo_text_extents_t ext;
	cairo_text_extents(((struct canvas_cairo *)c)->cr, terminated(s, n, buf, sizeof(buf)), &ext);
	return ext.x_advance;
}

static void cc_text(struct canvas *c, double x, double y, const char *s, int n)
{
	char buf[1024];
	cairo_t *cr = ((struct canvas_cairo *)c)->cr;
	cairo_move_to(cr, x, y);
	cairo_show_text(cr, terminated(s, n, buf, sizeof(buf)));
}

static void cc_rect(struct canvas *c, double x, double y, double w, double h)
{
	cairo_t *cr = ((struct canvas_cairo *)c)->cr;
	cairo_rectangle(cr, x, y, w, h);
	cairo_fill(cr);
}

static void cc_next_page(struct canvas *c)
{
	cairo_show_page(((struct canvas_cairo *)c)->cr);
}

static int cc_finish(struct canvas *c, struct outfile_sum *sum, struct err *e)
{
	struct canvas_cairo *cc = (struct canvas_cairo *)c;
	/* A drawing error (invalid UTF-8, say) stays on the context. */
	cairo_status_t st = cairo_status(cc->cr);
	cairo_destroy(cc->cr);
	cc->cr = NULL;
	cairo_surface_finish(cc->surface);
	if (st != CAIRO_STATUS_SUCCESS)
		return err_set(e, ERR_INTERNAL, "could not draw '%s': %s", cc->out.path, cairo_status_to_string(st));
	/* A write error is the outfile's (with the system's reason); any
	 * other one cairo's. */
	st = cairo_surface_status(cc->surface);
	if (st != CAIRO_STATUS_SUCCESS && !cc->out.errnum)
		return err_set(e, ERR_INTERNAL, "could not write '%s': %s", cc->out.path, cairo_status_to_string(st));
	if (outfile_close(&cc->out, sum, e))
		return -1;
	cc->written = 1;
	return 0;
}

static void cc_free(struct canvas *c)
{
	struct canvas_cairo *cc = (struct canvas_cairo *)c;
	if (cc->cr)
		cairo_destroy(cc->cr);
	if (cc->surface)
		cairo_surface_destroy(cc->surface);
	/* Not written whole: nothing of it stays. */
	if (!cc->written)
		outfile_discard(&cc->out);
	free(cc);
}

static const struct canvas_ops cairo_ops = {
	cc_font_size, cc_fill_rgb, cc_text_width, cc_text, cc_rect, cc_next_page, cc_finish, cc_free,
};

struct canvas *canvas_cairo_new(const char *path, double width, double height, const struct canvas_meta *m,
				struct err *e)
{
	struct canvas_cairo *cc = calloc(1, sizeof(*cc));
	if (!cc) {
		err_set(e, ERR_INTERNAL, "out of memory");
		return NULL;
	}
	cc->base.ops = &cairo_ops;
	if (outfile_open(&cc->out, path, e)) {
		free(cc);
		return NULL;
	}
	cc->surface = cairo_pdf_surface_create_for_stream(write_out, &cc->out, width, height);
	if (cairo_surface_status(cc->surface) != CAIRO_STATUS_SUCCESS) {
		err_set(e, ERR_INTERNAL, "could not start '%s': %s", path,
			cairo_status_to_string(cairo_surface_status(cc->surface)));
		cc_free(&cc->base);
		return NULL;
	}
	cairo_pdf_surface_set_metadata(cc->surface, CAIRO_PDF_METADATA_TITLE, m->title);
	cairo_pdf_surface_set_metadata(cc->surface, CAIRO_PDF_METADATA_AUTHOR, m->author);
	cairo_pdf_surface_set_metadata(cc->surface, CAIRO_PDF_METADATA_CREATOR, m->creator);
	if (m->subject)
		cairo_pdf_surface_set_metadata(cc->surface, CAIRO_PDF_METADATA_SUBJECT, m->subject);
	if (m->keywords)
		cairo_pdf_surface_set_metadata(cc->surface, CAIRO_PDF_METADATA_KEYWORDS, m->keywords);
	cc->cr = cairo_create(cc->surface);
	cairo_select_font_face(cc->cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
	return &cc->base;
}

void canvas_cairo_cleanup(void)
{
	cairo_debug_reset_static_data();
	/* fontconfig's own configuration: cairo loaded the library, billrun
	 * does not link it, so its FcFini is looked up. */
	void (*fc_fini)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "FcFini");
	if (fc_fini)
		fc_fini();
}
