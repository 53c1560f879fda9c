/*
 * pdfa.h - what makes a libharu document an archival PDF: PDF/A-3b
 * (ISO 19005-3, level B), the form invoices are kept in for the ten years
 * tax law asks, with the structured e-invoice attached to it as Factur-X
 * does.
 *
 * libharu 2.3 draws the pages; this adds what PDF/A needs and libharu
 * does not write (its own PDF/A-1 support writes the metadata stream's
 * /Subtype as /SubType and declares part 1):
 *
 *   - the font, embedded: DejaVu Sans cut to Windows-1252's characters
 *     (reports/pdfa/DejaVuSans-WinAnsi.ttf, made by tools/pdfa_font.sh),
 *     built into the binary and read from memory, about 0.2 ms per
 *     document more than the standard font Helvetica, which PDF/A
 *     forbids because it is not embedded;
 *   - an output intent with an sRGB ICC profile (reports/pdfa/sRGB.icc,
 *     a compact v2 profile of 736 bytes, CC0), so that the RGB colours
 *     mean one thing;
 *   - XMP metadata (uncompressed, as PDF/A requires) saying pdfaid:part 3,
 *     conformance B, with the same title, author, subject, keywords,
 *     producer, creator tool and dates as the document information
 *     dictionary;
 *   - the file identifier in the trailer, derived from the metadata so
 *     that the same document gives the same bytes;
 *   - associated files (PDF/A-3's /AF): each attachment is an embedded file
 *     with its MIME type and modification date, listed in the catalog's
 *     /AF and in the EmbeddedFiles name tree (`pdfdetach -list` shows it),
 *     with an AFRelationship (the e-invoice is "Alternative": the same
 *     invoice in another form).
 *
 * reports/pdfa/README.md says how each is checked (veraPDF is not packaged
 * in Debian; the tests check fonts, metadata, output intent and the
 * attachment with poppler's tools and by reading the file).
 */
#ifndef BILLRUN_PDFA_H
#define BILLRUN_PDFA_H

#include <hpdf.h>
#include <stddef.h>

/* A file attached to the document. */
struct pdfa_attachment {
	const char *name;          /* its file name, e.g. "INV-1.xml" */
	const char *mime;          /* e.g. "text/xml" */
	const char *description;   /* shown by viewers */
	const char *relationship;  /* AFRelationship: Alternative, Data, Source, Supplement */
	const void *data;
	size_t len;
};

/* The document's metadata, UTF-8; subject and keywords may be NULL. */
struct pdfa_meta {
	const char *title, *author, *creator, *subject, *keywords;
	const char *created;       /* "YYYY-MM-DDTHH:MM:SSZ" (UTC) or NULL: no dates */
};

/* The embedded font, loaded into pdf from the bytes built into billrun;
 * draw Windows-1252 text with it (WinAnsiEncoding). NULL when libharu
 * refused it (its error handler has been told). */
HPDF_Font pdfa_font(HPDF_Doc pdf);

/*
 * Make pdf PDF/A-3b: version 1.7, the information dictionary (Latin-1
 * text, as PDFDocEncoding reads it; a value with other characters is only
 * in the XMP), XMP metadata, file identifier, output intent, and the
 * attachments. Call once, after drawing and before saving. Returns 0, or
 * -1 when libharu failed (its error handler has the reason).
 */
int pdfa_finish(HPDF_Doc pdf, const struct pdfa_meta *m, const struct pdfa_attachment *att, size_t natt);

#endif
