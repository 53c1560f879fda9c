/*
 * canvas.h - what the invoice layout (invoice_pdf.c) draws on: text in one
 * face at a size, a fill colour, filled rectangles, pages; written as a PDF
 * file at the end. Two implementations, both real PDF libraries:
 *
 *   canvas_haru.c   libharu, PDF/A-3b (pdfa.h): DejaVu Sans cut to
 *                   WinAnsi (Windows-1252), embedded, with XMP metadata,
 *                   an sRGB output intent and the attachments; about
 *                   0.5 ms of CPU for a one-page invoice. Text outside
 *                   Windows-1252 cannot be drawn (see canvas_finish).
 *   canvas_cairo.c  cairo, in DejaVu Sans, embedded as a subset in every
 *                   file: any Unicode text, about 2.5 ms per invoice; a
 *                   plain PDF 1.5, not PDF/A, without attachments (cairo
 *                   writes neither XMP, output intents nor embedded
 *                   files).
 *
 * Coordinates are PostScript points from the page's top left corner, y
 * growing downwards; text is placed by the left end of its baseline. Text
 * is UTF-8 given with its length in bytes (not NUL-terminated).
 */
#ifndef BILLRUN_CANVAS_H
#define BILLRUN_CANVAS_H

#include <stddef.h>

struct err;
struct canvas;
struct outfile_sum;

struct canvas_ops {
	void (*font_size)(struct canvas *c, double size);
	void (*fill_rgb)(struct canvas *c, double r, double g, double b);
	double (*text_width)(struct canvas *c, const char *s, int n);
	void (*text)(struct canvas *c, double x, double y, const char *s, int n);
	void (*rect)(struct canvas *c, double x, double y, double w, double h);
	void (*next_page)(struct canvas *c);
	int (*finish)(struct canvas *c, struct outfile_sum *sum, struct err *e);
	void (*free)(struct canvas *c);
};

struct canvas {
	const struct canvas_ops *ops;
};

/* A file attached to the document (PDF/A-3 associated file; pdfa.h). */
struct canvas_attachment {
	const char *name, *mime, *description, *relationship;
	const void *data;
	size_t len;
};
#define CANVAS_MAX_ATTACHMENTS 4

/* The document's information dictionary and XMP metadata (Title, Author,
 * Creator, Subject, Keywords; `pdfinfo` shows them), its date (created:
 * "YYYY-MM-DDTHH:MM:SSZ", or NULL) and its attachments. subject and
 * keywords may be NULL. The strings and data must stay until
 * canvas_finish. */
struct canvas_meta {
	const char *title, *author, *creator, *subject, *keywords;
	const char *created;
	const struct canvas_attachment *attachments;
	int nattachments;
};

/* A canvas of pages width x height that will write path. Returns NULL with
 * e set (ERR_IO naming path when cairo cannot create the file, ERR_INTERNAL
 * when the library cannot start). libharu writes nothing before
 * canvas_finish; cairo creates the file at once (and canvas_free removes
 * it again unless canvas_finish wrote it whole). Files are written through
 * an outfile (core/outfile.h): hashed, and removed when cut short. */
struct canvas *canvas_haru_new(const char *path, double width, double height, const struct canvas_meta *m,
			       struct err *e);
struct canvas *canvas_cairo_new(const char *path, double width, double height, const struct canvas_meta *m,
				struct err *e);

/* Drawing never fails by itself: a failure is kept and reported by
 * canvas_finish. */
static inline void canvas_font_size(struct canvas *c, double size) { c->ops->font_size(c, size); }
static inline void canvas_fill_rgb(struct canvas *c, double r, double g, double b) { c->ops->fill_rgb(c, r, g, b); }
static inline double canvas_text_width(struct canvas *c, const char *s, int n) { return c->ops->text_width(c, s, n); }
static inline void canvas_text(struct canvas *c, double x, double y, const char *s, int n) { c->ops->text(c, x, y, s, n); }
static inline void canvas_rect(struct canvas *c, double x, double y, double w, double h) { c->ops->rect(c, x, y, w, h); }
static inline void canvas_next_page(struct canvas *c) { c->ops->next_page(c); }

/* Write the file. Returns 0 with *sum (the file's SHA-256 and size; sum
 * may be NULL) filled; CANVAS_NEEDS_UNICODE when some text could not be
 * drawn in this canvas's encoding (libharu: a character outside
 * Windows-1252), nothing written: draw it again on a cairo canvas; or -1
 * with e set (ERR_IO naming the path, with the system's reason, when the
 * file cannot be written, the file removed; ERR_INTERNAL for a library
 * failure). */
#define CANVAS_NEEDS_UNICODE 1
static inline int canvas_finish(struct canvas *c, struct outfile_sum *sum, struct err *e)
{
	return c->ops->finish(c, sum, e);
}

/* Release the canvas (after canvas_finish or instead of it). NULL is a
 * no-op. */
static inline void canvas_free(struct canvas *c)
{
	if (c)
		c->ops->free(c);
}

/* Release cairo's and fontconfig's process-wide caches; no cairo canvas may
 * be made afterwards. */
void canvas_cairo_cleanup(void);

#endif
