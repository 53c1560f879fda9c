/*
 * xbrl_gl.c - writing the journal as an XBRL GL instance (xbrl_gl_write,
 * see xbrl_gl.h), streamed with libxml2's xmlTextWriter into a file whose
 * every write error is seen (fs_out). Checking one is xbrl_gl_check.c.
 */
#include "xbrl_gl.h"
#include "xbrl_int.h"
#include "err.h"
#include "fs.h"
#include "journal.h"

#include <libxml/xmlwriter.h>
#include <stdio.h>
#include <string.h>

struct gl_writer {
	xmlTextWriterPtr w;
	char context[32];
	int failed;
};

static void start(struct gl_writer *g, const char *name)
{
	if (xmlTextWriterStartElement(g->w, BAD_CAST name) < 0)
		g->failed = 1;
}

static void end(struct gl_writer *g)
{
	if (xmlTextWriterEndElement(g->w) < 0)
		g->failed = 1;
}

/* <name contextRef="I_...">text</name> */
static void item(struct gl_writer *g, const char *name, const char *text)
{
	start(g, name);
	if (xmlTextWriterWriteAttribute(g->w, BAD_CAST "contextRef", BAD_CAST g->context) < 0 ||
	    xmlTextWriterWriteString(g->w, BAD_CAST text) < 0)
		g->failed = 1;
	end(g);
}

/* A number: in unit U_CUR (or U_pure), exact. */
static void number(struct gl_writer *g, const char *name, const char *unit, const char *text)
{
	char unit_id[16];
	snprintf(unit_id, sizeof(unit_id), "U_%s", unit);
	start(g, name);
	if (xmlTextWriterWriteAttribute(g->w, BAD_CAST "contextRef", BAD_CAST g->context) < 0 ||
	    xmlTextWriterWriteAttribute(g->w, BAD_CAST "unitRef", BAD_CAST unit_id) < 0 ||
	    xmlTextWriterWriteAttribute(g->w, BAD_CAST "decimals", BAD_CAST "INF") < 0 ||
	    xmlTextWriterWriteString(g->w, BAD_CAST text) < 0)
		g->failed = 1;
	end(g);
}

static void currency(struct gl_writer *g, const char *name, const char *code)
{
	char qname[16];
	snprintf(qname, sizeof(qname), "iso4217:%s", code);
	item(g, name, qname);
}

/* The currencies of the journal's amounts (each document's, and the
 * functional one when an amount is restated in it), sorted. */
static size_t currencies(const struct journal *j, char (*out)[4], size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i <= j->nentries; i++) {
		const char *c = NULL;
		if (i < j->nentries)
			c = j->entries[i].currency;
		else if (j->functional[0])
			c = j->functional;
		if (!c || !c[0])
			continue;
		size_t k = 0;
		while (k < n && strcmp(out[k], c) < 0)
			k++;
		if ((k < n && strcmp(out[k], c) == 0) || n == max)
			continue;
		memmove(&out[k + 1], &out[k], (n - k) * sizeof(out[0]));
		snprintf(out[k], sizeof(out[0]), "%s", c);
		n++;
	}
	return n;
}

static const char *doc_words(const struct journal_entry *en)
{
	if (strcmp(en->doc, "credit_note") == 0)
		return "credit note";
	if (strcmp(en->doc, "supplementary") == 0)
		return "supplementary invoice";
	return "invoice";
}

static void entry(struct gl_writer *g, const struct journal *j, const struct journal_entry *en, size_t n)
{
	char text[1024], counter[24], multiplier[DEC_STR_MAX + 2];
	int credit_note = strcmp(en->doc, "credit_note") == 0;
	int foreign = j->functional[0] && strcmp(en->currency, j->functional) != 0;

	start(g, "gl-cor:entryHeader");
	item(g, "gl-cor:sourceJournalID", "sj");
	item(g, "gl-bus:sourceJournalDescription", "billrun: invoices and credit notes");
	item(g, "gl-cor:entryType", "standard");
	snprintf(counter, sizeof(counter), "%zu", n);
	item(g, "gl-cor:entryNumber", counter);
	snprintf(text, sizeof(text), "%s %s to %s for %s to %s%s%s", doc_words(en), en->number, en->account,
		 en->period_start, en->period_end, en->ref_number[0] ? (credit_note ? ", crediting " : ", referring to ") : "",
		 en->ref_number);
	item(g, "gl-cor:entryComment", text);
	journal_fx_multiplier(en, multiplier, sizeof(multiplier));
	for (size_t k = 0; k < en->nlines; k++) {
		const struct journal_line *l = &en->lines[k];
		char amount[DEC_STR_MAX];
		dec_format(l->amount, amount, sizeof(amount));
		start(g, "gl-cor:entryDetail");
		snprintf(counter, sizeof(counter), "%zu", k + 1);
		item(g, "gl-cor:lineNumber", counter);
		start(g, "gl-cor:account");
		item(g, "gl-cor:accountMainID", l->code);
		item(g, "gl-cor:accountMainDescription", l->name);
		item(g, "gl-cor:mainAccountType",
		     l->side == JOURNAL_RECEIVABLE ? "asset" : l->side == JOURNAL_REVENUE ? "income" : "liability");
		end(g);
		number(g, "gl-cor:amount", en->currency, amount);
		if (foreign)
			currency(g, "gl-muc:amountCurrency", en->currency);
		item(g, "gl-cor:debitCreditCode", l->debit ? "D" : "C");
		item(g, "gl-cor:postingDate", en->issue_date);
		if (foreign && l->restated[0]) {
			start(g, "gl-muc:multicurrencyDetail");
			item(g, "gl-muc:multicurrencyDetailExchangeRateDate", en->fx_as_of);
			number(g, "gl-muc:amountRestatedAmount", j->functional, l->restated);
			currency(g, "gl-muc:amountRestatedCurrency", j->functional);
			number(g, "gl-muc:amountRestatedExchangeRate", "pure", multiplier);
			if (en->fx_source[0])
				item(g, "gl-muc:amountRestatedExchangeRateSource", en->fx_source);
			snprintf(text, sizeof(text), "published: 1 %s = %s %s, as of %s", en->fx_inverse ? j->functional : en->currency,
				 en->fx_rate, en->fx_inverse ? en->currency : j->functional, en->fx_as_of);
			item(g, "gl-muc:multicurrencyDetailComment", text);
			end(g);
		}
		start(g, "gl-cor:identifierReference");
		item(g, "gl-cor:identifierCode", en->account);
		if (en->customer[0])
			item(g, "gl-cor:identifierDescription", en->customer);
		item(g, "gl-cor:identifierType", "customer");
		end(g);
		item(g, "gl-cor:documentType", credit_note ? "credit-memo" : "invoice");
		item(g, "gl-cor:documentNumber", en->number);
		if (en->ref_number[0])
			item(g, "gl-cor:documentApplyToNumber", en->ref_number);
		item(g, "gl-cor:documentDate", en->issue_date);
		item(g, "gl-cor:postingStatus", "posted");
		if (l->side == JOURNAL_RECEIVABLE)
			snprintf(text, sizeof(text), "receivable");
		else if (l->side == JOURNAL_REVENUE)
			snprintf(text, sizeof(text), "revenue: %s", l->key);
		else
			snprintf(text, sizeof(text), "tax at %s%s%s", l->key, l->jurisdictions[0] ? " in " : "", l->jurisdictions);
		item(g, "gl-cor:detailComment", text);
		if (l->side == JOURNAL_RECEIVABLE && en->due_date[0])
			item(g, "gl-cor:maturityDate", en->due_date);
		if (l->side == JOURNAL_TAX) {
			start(g, "gl-cor:taxes");
			if (l->jurisdictions[0])
				item(g, "gl-cor:taxAuthority", l->jurisdictions);
			number(g, "gl-cor:taxAmount", en->currency, amount);
			if (l->tax_base[0])
				number(g, "gl-cor:taxBasis", en->currency, l->tax_base);
			if (l->key[0])
				number(g, "gl-cor:taxPercentageRate", "pure", l->key);
			end(g);
		}
		end(g);
	}
	end(g);
}

static void context(struct gl_writer *g, const struct journal *j)
{
	start(g, "xbrli:context");
	xmlTextWriterWriteAttribute(g->w, BAD_CAST "id", BAD_CAST g->context);
	start(g, "xbrli:entity");
	start(g, "xbrli:identifier");
	xmlTextWriterWriteAttribute(g->w, BAD_CAST "scheme", BAD_CAST j->scheme);
	xmlTextWriterWriteString(g->w, BAD_CAST j->entity);
	end(g);
	end(g);
	start(g, "xbrli:period");
	if (xmlTextWriterWriteElement(g->w, BAD_CAST "xbrli:instant", BAD_CAST j->end) < 0)
		g->failed = 1;
	end(g);
	end(g);
}

static void unit(struct gl_writer *g, const char *id, const char *measure)
{
	start(g, "xbrli:unit");
	xmlTextWriterWriteAttribute(g->w, BAD_CAST "id", BAD_CAST id);
	if (xmlTextWriterWriteElement(g->w, BAD_CAST "xbrli:measure", BAD_CAST measure) < 0)
		g->failed = 1;
	end(g);
}

int xbrl_gl_write(const struct journal *j, const char *path, struct err *e)
{
	struct fs_out o;
	struct gl_writer g = { 0 };
	if (fs_out_open(&o, path, e))
		return -1;
	xmlOutputBufferPtr buf = xmlOutputBufferCreateFile(o.f, NULL);
	g.w = buf ? xmlNewTextWriter(buf) : NULL;
	if (!g.w) {
		if (buf)
			xmlOutputBufferClose(buf);
		fs_out_abort(&o);
		return err_set(e, ERR_INTERNAL, "out of memory");
	}
	snprintf(g.context, sizeof(g.context), "I_%s", j->end);
	xmlTextWriterSetIndent(g.w, 1);
	xmlTextWriterSetIndentString(g.w, BAD_CAST "  ");
	if (xmlTextWriterStartDocument(g.w, "1.0", "UTF-8", NULL) < 0)
		g.failed = 1;
	start(&g, "xbrli:xbrl");
	static const char *const ns[][2] = {
		{ "xmlns:xbrli", XBRLI_NS },	     { "xmlns:link", LINK_NS },
		{ "xmlns:xlink", XLINK_NS },	     { "xmlns:iso4217", ISO4217_NS },
		{ "xmlns:gl-cor", XBRL_GL_COR_NS }, { "xmlns:gl-bus", XBRL_GL_BUS_NS },
		{ "xmlns:gl-muc", XBRL_GL_MUC_NS },
	};
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
		xmlTextWriterWriteAttribute(g.w, BAD_CAST ns[i][0], BAD_CAST ns[i][1]);
	start(&g, "link:schemaRef");
	xmlTextWriterWriteAttribute(g.w, BAD_CAST "xlink:type", BAD_CAST "simple");
	xmlTextWriterWriteAttribute(g.w, BAD_CAST "xlink:href", BAD_CAST XBRL_GL_SCHEMA_URL);
	end(&g);
	context(&g, j);
	char cur[512][4]; /* more than ISO 4217 has */
	size_t ncur = currencies(j, cur, 512);
	for (size_t i = 0; i < ncur; i++) {
		char id[16], measure[16];
		snprintf(id, sizeof(id), "U_%s", cur[i]);
		snprintf(measure, sizeof(measure), "iso4217:%s", cur[i]);
		unit(&g, id, measure);
	}
	unit(&g, "U_pure", "xbrli:pure");

	start(&g, "gl-cor:accountingEntries");
	start(&g, "gl-cor:documentInfo");
	item(&g, "gl-cor:entriesType", "journal");
	item(&g, "gl-cor:uniqueID", j->unique_id);
	char text[512];
	snprintf(text, sizeof(text), "invoices and credit notes issued by the runs of %s to %s, %zu entries", j->start,
		 j->end, j->nentries);
	item(&g, "gl-cor:entriesComment", text);
	item(&g, "gl-cor:periodCoveredStart", j->start);
	item(&g, "gl-cor:periodCoveredEnd", j->end);
	item(&g, "gl-bus:sourceApplication", "billrun");
	if (j->functional[0])
		currency(&g, "gl-muc:defaultCurrency", j->functional);
	end(&g);
	start(&g, "gl-cor:entityInformation");
	start(&g, "gl-bus:organizationIdentifiers");
	item(&g, "gl-bus:organizationIdentifier", j->entity);
	item(&g, "gl-bus:organizationDescription", j->scheme);
	end(&g);
	end(&g);
	for (size_t i = 0; i < j->nentries && !g.failed; i++)
		entry(&g, j, &j->entries[i], i + 1);
	end(&g);
	end(&g);
	if (xmlTextWriterEndDocument(g.w) < 0)
		g.failed = 1;
	xmlFreeTextWriter(g.w); /* flushes into o.f, which stays open */
	if (g.failed && !o.errnum) {
		fs_out_abort(&o);
		return err_set(e, ERR_INTERNAL, "could not write the XBRL GL journal '%s'", path);
	}
	return fs_out_close(&o, e);
}
