/*
 * pdfa.c - PDF/A-3b for libharu documents (see pdfa.h). The objects
 * libharu has no call for (metadata stream, output intent, associated
 * files, identifier) are made with its object layer (hpdf_objects.h),
 * which its own features are built on.
 */
#include "pdfa.h"
#include "embed.h"

#include <hpdf_doc.h>
#include <hpdf_fontdef.h>
#include <hpdf_objects.h>
#include <hpdf_streams.h>
#include <iconv.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The font and the ICC profile, built into the binary (the build runs
 * from the source tree's root). */
BILLRUN_EMBED(pdfa_font_ttf, "reports/pdfa/DejaVuSans-WinAnsi.ttf")
BILLRUN_EMBED(pdfa_srgb_icc, "reports/pdfa/sRGB.icc")

#define PRODUCER "billrun with libharu " HPDF_VERSION_TEXT
#define OUTPUT_CONDITION "sRGB IEC61966-2.1"

HPDF_Font pdfa_font(HPDF_Doc pdf)
{
	size_t len = (size_t)(pdfa_font_ttf_end - pdfa_font_ttf_start);
	HPDF_Stream s = HPDF_MemStream_New(pdf->mmgr, (HPDF_UINT)len);
	if (!s)
		return NULL;
	if (HPDF_Stream_Write(s, (const HPDF_BYTE *)pdfa_font_ttf_start, (HPDF_UINT)len) != HPDF_OK) {
		HPDF_Stream_Free(s);
		return NULL;
	}
	/* The font definition owns the stream from here. */
	HPDF_FontDef def = HPDF_TTFontDef_Load(pdf->mmgr, s, HPDF_TRUE);
	if (!def || HPDF_Doc_RegisterFontDef(pdf, def) != HPDF_OK)
		return NULL;
	return HPDF_GetFont(pdf, def->base_font, "WinAnsiEncoding");
}

/* ---- text ---- */

/* s as Latin-1 (which PDFDocEncoding is from 0xA0 on, and in ASCII) into
 * out; -1 when it has another character or is too long. */
static int latin1(const char *s, char *out, size_t size)
{
	iconv_t cd = iconv_open("ISO-8859-1", "UTF-8");
	if (cd == (iconv_t)-1)
		return -1;
	char *in = (char *)s, *o = out;
	size_t inleft = strlen(s), outleft = size - 1;
	size_t rc = iconv(cd, &in, &inleft, &o, &outleft);
	iconv_close(cd);
	if (rc == (size_t)-1 || inleft)
		return -1;
	*o = '\0';
	for (const unsigned char *p = (const unsigned char *)out; *p; p++)
		if (*p < 0x20 || (*p >= 0x7f && *p < 0xa0))
			return -1;
	return 0;
}

/* An XML text buffer. */
struct buf {
	char *p;
	size_t len, cap;
	int oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void put_escaped(struct buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': puts_(b, "&amp;"); break;
		case '<': puts_(b, "&lt;"); break;
		case '>': puts_(b, "&gt;"); break;
		case '"': puts_(b, "&quot;"); break;
		default: put(b, s, 1);
		}
	}
}

static void element(struct buf *b, const char *name, const char *value, const char *wrap)
{
	if (!value)
		return;
	puts_(b, "   <");
	puts_(b, name);
	puts_(b, ">");
	if (wrap) {
		puts_(b, "<rdf:");
		puts_(b, wrap);
		puts_(b, strcmp(wrap, "Alt") == 0 ? "><rdf:li xml:lang=\"x-default\">" : "><rdf:li>");
	}
	put_escaped(b, value);
	if (wrap) {
		puts_(b, "</rdf:li></rdf:");
		puts_(b, wrap);
		puts_(b, ">");
	}
	puts_(b, "</");
	puts_(b, name);
	puts_(b, ">\n");
}

/* The XMP packet: the same values as the information dictionary, and
 * the PDF/A identification. */
static char *xmp_packet(const struct pdfa_meta *m, const char *xmp_date)
{
	struct buf b = { 0 };
	puts_(&b, "<?xpacket begin=\"\xEF\xBB\xBF\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n"
		  "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n"
		  " <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n"
		  "  <rdf:Description rdf:about=\"\"\n"
		  "    xmlns:dc=\"http://purl.org/dc/elements/1.1/\"\n"
		  "    xmlns:pdf=\"http://ns.adobe.com/pdf/1.3/\"\n"
		  "    xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\"\n"
		  "    xmlns:pdfaid=\"http://www.aiim.org/pdfa/ns/id/\">\n"
		  "   <dc:format>application/pdf</dc:format>\n");
	element(&b, "dc:title", m->title, "Alt");
	element(&b, "dc:creator", m->author, "Seq");
	element(&b, "dc:description", m->subject, "Alt");
	element(&b, "pdf:Keywords", m->keywords, NULL);
	element(&b, "pdf:Producer", PRODUCER, NULL);
	element(&b, "xmp:CreatorTool", m->creator, NULL);
	element(&b, "xmp:CreateDate", xmp_date, NULL);
	element(&b, "xmp:ModifyDate", xmp_date, NULL);
	element(&b, "xmp:MetadataDate", xmp_date, NULL);
	puts_(&b, "   <pdfaid:part>3</pdfaid:part>\n"
		  "   <pdfaid:conformance>B</pdfaid:conformance>\n"
		  "  </rdf:Description>\n"
		  " </rdf:RDF>\n"
		  "</x:xmpmeta>\n"
		  "<?xpacket end=\"w\"?>");
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* ---- objects ---- */

static HPDF_STATUS info_text(HPDF_Doc pdf, HPDF_InfoType type, const char *value)
{
	char text[1024];
	if (!value || latin1(value, text, sizeof(text)))
		return HPDF_OK; /* only in the XMP */
	return HPDF_SetInfoAttr(pdf, type, text);
}

static HPDF_STATUS add_string(HPDF_Doc pdf, HPDF_Dict d, const char *key, const char *value)
{
	HPDF_String s = HPDF_String_New(pdf->mmgr, value, NULL);
	return s ? HPDF_Dict_Add(d, key, s) : HPDF_FAILD_TO_ALLOC_MEM;
}

/* A stream object holding data, Flate-compressed unless plain. */
static HPDF_Dict data_stream(HPDF_Doc pdf, const void *data, size_t len, int plain)
{
	HPDF_Dict d = HPDF_DictStream_New(pdf->mmgr, pdf->xref);
	if (!d)
		return NULL;
	d->filter = plain ? HPDF_STREAM_FILTER_NONE : HPDF_STREAM_FILTER_FLATE_DECODE;
	if (HPDF_Stream_Write(d->stream, data, (HPDF_UINT)len) != HPDF_OK)
		return NULL;
	return d;
}

static HPDF_STATUS output_intent(HPDF_Doc pdf)
{
	HPDF_Dict icc = data_stream(pdf, pdfa_srgb_icc_start, (size_t)(pdfa_srgb_icc_end - pdfa_srgb_icc_start), 0);
	HPDF_Dict oi = HPDF_Dict_New(pdf->mmgr);
	HPDF_Array list = HPDF_Array_New(pdf->mmgr);
	if (!icc || !oi || !list)
		return HPDF_FAILD_TO_ALLOC_MEM;
	HPDF_STATUS st = HPDF_Dict_AddNumber(icc, "N", 3);
	st |= HPDF_Dict_AddName(oi, "Type", "OutputIntent");
	st |= HPDF_Dict_AddName(oi, "S", "GTS_PDFA1");
	st |= add_string(pdf, oi, "OutputConditionIdentifier", OUTPUT_CONDITION);
	st |= add_string(pdf, oi, "Info", OUTPUT_CONDITION);
	st |= HPDF_Dict_Add(oi, "DestOutputProfile", icc);
	st |= HPDF_Array_Add(list, oi);
	st |= HPDF_Dict_Add(pdf->catalog, "OutputIntents", list);
	return st;
}

static HPDF_STATUS attach(HPDF_Doc pdf, const struct pdfa_attachment *a, const char *pdf_date, HPDF_Array af,
			  HPDF_Array names)
{
	HPDF_Dict file = data_stream(pdf, a->data, a->len, 0);
	HPDF_Dict params = HPDF_Dict_New(pdf->mmgr);
	HPDF_Dict ef = HPDF_Dict_New(pdf->mmgr);
	HPDF_Dict spec = HPDF_Dict_New(pdf->mmgr);
	if (!file || !params || !ef || !spec || HPDF_Xref_Add(pdf->xref, spec) != HPDF_OK)
		return HPDF_FAILD_TO_ALLOC_MEM;
	HPDF_STATUS st = HPDF_Dict_AddName(file, "Type", "EmbeddedFile");
	st |= HPDF_Dict_AddName(file, "Subtype", a->mime); /* written as text#2Fxml */
	st |= HPDF_Dict_AddNumber(params, "Size", (HPDF_INT32)a->len);
	if (pdf_date)
		st |= add_string(pdf, params, "ModDate", pdf_date);
	st |= HPDF_Dict_Add(file, "Params", params);
	st |= HPDF_Dict_Add(ef, "F", file);
	st |= HPDF_Dict_Add(ef, "UF", file);
	st |= HPDF_Dict_AddName(spec, "Type", "Filespec");
	st |= add_string(pdf, spec, "F", a->name);
	st |= add_string(pdf, spec, "UF", a->name);
	if (a->description)
		st |= add_string(pdf, spec, "Desc", a->description);
	st |= HPDF_Dict_AddName(spec, "AFRelationship", a->relationship);
	st |= HPDF_Dict_Add(spec, "EF", ef);
	st |= HPDF_Array_Add(af, spec);
	HPDF_String key = HPDF_String_New(pdf->mmgr, a->name, NULL);
	st |= key ? HPDF_Array_Add(names, key) : HPDF_FAILD_TO_ALLOC_MEM;
	st |= HPDF_Array_Add(names, spec);
	return st;
}

static HPDF_STATUS attachments(HPDF_Doc pdf, const struct pdfa_attachment *att, size_t natt, const char *pdf_date)
{
	if (natt == 0)
		return HPDF_OK;
	HPDF_Array af = HPDF_Array_New(pdf->mmgr);
	HPDF_Array names = HPDF_Array_New(pdf->mmgr);
	HPDF_Dict tree = HPDF_Dict_New(pdf->mmgr);
	HPDF_Dict names_dict = HPDF_Dict_New(pdf->mmgr);
	if (!af || !names || !tree || !names_dict)
		return HPDF_FAILD_TO_ALLOC_MEM;
	/* The name tree's keys must be in order: attachments come sorted by
	 * name from the caller, or are one. */
	HPDF_STATUS st = HPDF_OK;
	for (size_t i = 0; i < natt && st == HPDF_OK; i++)
		st = attach(pdf, &att[i], pdf_date, af, names);
	st |= HPDF_Dict_Add(tree, "Names", names);
	st |= HPDF_Dict_Add(names_dict, "EmbeddedFiles", tree);
	st |= HPDF_Dict_Add(pdf->catalog, "Names", names_dict);
	st |= HPDF_Dict_Add(pdf->catalog, "AF", af);
	return st;
}

/* The file identifier: MD5 of the metadata, twice (the document is never
 * updated, so both halves are the same). */
static HPDF_STATUS identifier(HPDF_Doc pdf, const char *xmp)
{
	unsigned char md5[16];
	unsigned int n = 0;
	if (!EVP_Digest(xmp, strlen(xmp), md5, &n, EVP_md5(), NULL) || n != 16)
		return HPDF_FAILD_TO_ALLOC_MEM;
	HPDF_Array id = HPDF_Array_New(pdf->mmgr);
	HPDF_Binary a = HPDF_Binary_New(pdf->mmgr, md5, 16), b = HPDF_Binary_New(pdf->mmgr, md5, 16);
	if (!id || !a || !b)
		return HPDF_FAILD_TO_ALLOC_MEM;
	HPDF_STATUS st = HPDF_Array_Add(id, a);
	st |= HPDF_Array_Add(id, b);
	st |= HPDF_Dict_Add(pdf->trailer, "ID", id);
	return st;
}

int pdfa_finish(HPDF_Doc pdf, const struct pdfa_meta *m, const struct pdfa_attachment *att, size_t natt)
{
	char xmp_date[32] = "", pdf_date[32] = "";
	int y, mo, d, h, mi, s;
	if (m->created && sscanf(m->created, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &s) == 6) {
		snprintf(xmp_date, sizeof(xmp_date), "%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo, d, h, mi, s);
		snprintf(pdf_date, sizeof(pdf_date), "D:%04d%02d%02d%02d%02d%02dZ", y, mo, d, h, mi, s);
	}
	pdf->pdf_version = HPDF_VER_17;
	HPDF_STATUS st = info_text(pdf, HPDF_INFO_TITLE, m->title);
	st |= info_text(pdf, HPDF_INFO_AUTHOR, m->author);
	st |= info_text(pdf, HPDF_INFO_CREATOR, m->creator);
	st |= info_text(pdf, HPDF_INFO_SUBJECT, m->subject);
	st |= info_text(pdf, HPDF_INFO_KEYWORDS, m->keywords);
	st |= HPDF_SetInfoAttr(pdf, HPDF_INFO_PRODUCER, PRODUCER);
	if (pdf_date[0] && pdf->info) {
		st |= add_string(pdf, pdf->info, "CreationDate", pdf_date);
		st |= add_string(pdf, pdf->info, "ModDate", pdf_date);
	}
	char *xmp = xmp_packet(m, xmp_date[0] ? xmp_date : NULL);
	if (!xmp)
		return -1;
	HPDF_Dict meta = data_stream(pdf, xmp, strlen(xmp), 1);
	if (!meta) {
		free(xmp);
		return -1;
	}
	st |= HPDF_Dict_AddName(meta, "Type", "Metadata");
	st |= HPDF_Dict_AddName(meta, "Subtype", "XML");
	st |= HPDF_Dict_Add(pdf->catalog, "Metadata", meta);
	st |= identifier(pdf, xmp);
	free(xmp);
	st |= output_intent(pdf);
	st |= attachments(pdf, att, natt, pdf_date[0] ? pdf_date : NULL);
	return st == HPDF_OK ? 0 : -1;
}
