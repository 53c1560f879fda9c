/*
 * xbrl_gl_check.c - checking an XBRL GL journal file (xbrl_gl_validate_file,
 * see xbrl_gl.h): its schemaRef, XSD validation against the GL schemas
 * read offline through an XML catalog, and the balance of every entry,
 * added up as exact decimals.
 */
#include "xbrl_gl.h"
#include "xbrl_int.h"
#include "dec.h"
#include "err.h"

#include <libxml/catalog.h>
#include <libxml/parser.h>
#include <libxml/xmlIO.h>
#include <libxml/xmlreader.h>
#include <libxml/xmlschemas.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int xbrl_gl_is_instance(const char *path)
{
	xmlTextReaderPtr rd = xmlReaderForFile(path, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	int found = 0;
	if (!rd)
		return 0;
	/* The root's children: schemaRefs, contexts and units come first;
	 * stop at the first other one. */
	while (xmlTextReaderRead(rd) == 1) {
		if (xmlTextReaderNodeType(rd) != XML_READER_TYPE_ELEMENT)
			continue;
		const xmlChar *ns = xmlTextReaderConstNamespaceUri(rd);
		const xmlChar *name = xmlTextReaderConstLocalName(rd);
		int depth = xmlTextReaderDepth(rd);
		if (depth == 0 && !(ns && xmlStrEqual(ns, BAD_CAST XBRLI_NS) && xmlStrEqual(name, BAD_CAST "xbrl")))
			break;
		if (depth != 1)
			continue;
		found = ns && xmlStrEqual(ns, BAD_CAST XBRL_GL_COR_NS) && xmlStrEqual(name, BAD_CAST "accountingEntries");
		if (found || !ns || (!xmlStrEqual(ns, BAD_CAST XBRLI_NS) && !xmlStrEqual(ns, BAD_CAST LINK_NS)))
			break;
	}
	xmlFreeTextReader(rd);
	return found;
}

/* The first child element {ns}name of n, or NULL. */
static xmlNodePtr child(xmlNodePtr n, const char *ns, const char *name)
{
	for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
		if (xbrl_is(c, ns, name))
			return c;
	return NULL;
}

/* The trimmed text of n into buf ("" for NULL). */
static void text_of(xmlNodePtr n, char *buf, size_t size)
{
	buf[0] = '\0';
	if (!n)
		return;
	xmlChar *t = xmlNodeGetContent(n);
	const char *s = t ? (const char *)t : "";
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	size_t len = strlen(s);
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\n' || s[len - 1] == '\r'))
		len--;
	if (len >= size)
		len = size - 1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	xmlFree(t);
}

/* The currency of unit id (its one iso4217 measure), or "" when the unit
 * is not there or is not one currency. */
static void unit_currency(xmlNodePtr root, const char *id, char *buf, size_t size)
{
	buf[0] = '\0';
	for (xmlNodePtr u = root->children; u; u = u->next) {
		if (!xbrl_is(u, XBRLI_NS, "unit"))
			continue;
		xmlChar *uid = xmlGetProp(u, BAD_CAST "id");
		int match = uid && strcmp((const char *)uid, id) == 0;
		xmlFree(uid);
		if (!match)
			continue;
		int measures = 0;
		char m[64] = "";
		for (xmlNodePtr c = u->children; c; c = c->next)
			if (xbrl_is(c, XBRLI_NS, "measure")) {
				measures++;
				text_of(c, m, sizeof(m));
			}
		/* the prefix is the instance's; iso4217 is what billrun and most writers use */
		const char *colon = strchr(m, ':');
		if (measures == 1 && colon) {
			xmlNsPtr ns = NULL;
			char prefix[32];
			snprintf(prefix, sizeof(prefix), "%.*s", (int)(colon - m), m);
			for (xmlNodePtr c = u->children; c && !ns; c = c->next)
				if (xbrl_is(c, XBRLI_NS, "measure"))
					ns = xmlSearchNs(c->doc, c, BAD_CAST prefix);
			if (ns && xmlStrEqual(ns->href, BAD_CAST ISO4217_NS))
				snprintf(buf, size, "%s", colon + 1);
		}
		return;
	}
}

/* The balance of every entry (the checks of step 3 in xbrl_gl.h). */
static void check_entries(xmlDocPtr doc, struct xbrl_check *r)
{
	xmlNodePtr root = xmlDocGetRootElement(doc);
	xmlNodePtr entries = child(root, XBRL_GL_COR_NS, "accountingEntries");
	if (!entries) {
		xbrl_problem(r, "there is no gl-cor:accountingEntries");
		return;
	}
	int n = 0;
	for (xmlNodePtr h = entries->children; h; h = h->next) {
		if (!xbrl_is(h, XBRL_GL_COR_NS, "entryHeader"))
			continue;
		n++;
		char entry[128], docnum[256] = "", name[512], cur[8] = "";
		text_of(child(h, XBRL_GL_COR_NS, "entryNumber"), entry, sizeof(entry));
		for (xmlNodePtr d = h->children; d && !docnum[0]; d = d->next)
			if (xbrl_is(d, XBRL_GL_COR_NS, "entryDetail"))
				text_of(child(d, XBRL_GL_COR_NS, "documentNumber"), docnum, sizeof(docnum));
		char num[24];
		snprintf(num, sizeof(num), "%d", n);
		if (docnum[0])
			snprintf(name, sizeof(name), "entry %s (document %s, line %ld)", entry[0] ? entry : num, docnum,
				 xmlGetLineNo(h));
		else
			snprintf(name, sizeof(name), "entry %s (line %ld)", entry[0] ? entry : num, xmlGetLineNo(h));
		struct dec debit = dec_zero(), credit = dec_zero();
		int ok = 1, lines = 0;
		for (xmlNodePtr d = h->children; d; d = d->next) {
			if (!xbrl_is(d, XBRL_GL_COR_NS, "entryDetail"))
				continue;
			lines++;
			xmlNodePtr amount = child(d, XBRL_GL_COR_NS, "amount");
			xmlNodePtr code = child(d, XBRL_GL_COR_NS, "debitCreditCode");
			char a[128], c[32], u[8];
			text_of(amount, a, sizeof(a));
			text_of(code, c, sizeof(c));
			if (!amount || !code) {
				xbrl_problem(r, "%s: line %ld has no %s", name, xmlGetLineNo(d),
					     !amount ? "gl-cor:amount" : "gl-cor:debitCreditCode");
				ok = 0;
				continue;
			}
			int is_debit = strcmp(c, "D") == 0 || strcmp(c, "debit") == 0;
			int is_credit = strcmp(c, "C") == 0 || strcmp(c, "credit") == 0;
			struct dec v;
			if (!is_debit && !is_credit) {
				xbrl_problem(r, "%s: line %ld: debitCreditCode '%s' is neither debit nor credit", name,
					     xmlGetLineNo(code), c);
				ok = 0;
				continue;
			}
			if (dec_parse_cstr(&v, a)) {
				xbrl_problem(r, "%s: line %ld: amount '%s' is not a decimal", name, xmlGetLineNo(amount), a);
				ok = 0;
				continue;
			}
			xmlChar *unit = xmlGetProp(amount, BAD_CAST "unitRef");
			unit_currency(root, unit ? (const char *)unit : "", u, sizeof(u));
			if (!u[0]) {
				xbrl_problem(r, "%s: line %ld: unitRef '%s' names no unit of one ISO 4217 currency", name,
					     xmlGetLineNo(amount), unit ? (const char *)unit : "");
				ok = 0;
			} else if (cur[0] && strcmp(cur, u) != 0) {
				xbrl_problem(r, "%s: line %ld: an amount in %s in an entry in %s", name, xmlGetLineNo(amount), u,
					     cur);
				ok = 0;
			} else {
				snprintf(cur, sizeof(cur), "%s", u);
			}
			xmlFree(unit);
			if (dec_add(is_debit ? &debit : &credit, is_debit ? debit : credit, v)) {
				xbrl_problem(r, "%s: the amounts overflow", name);
				ok = 0;
			}
		}
		if (!ok)
			continue;
		if (lines == 0) {
			xbrl_problem(r, "%s has no entryDetail", name);
		} else if (dec_cmp(debit, credit) != 0) {
			char ds[DEC_STR_MAX], cs[DEC_STR_MAX], diff[DEC_STR_MAX];
			struct dec delta;
			dec_format(debit, ds, sizeof(ds));
			dec_format(credit, cs, sizeof(cs));
			if (dec_sub(&delta, debit, credit) == 0)
				dec_format(delta, diff, sizeof(diff));
			else
				snprintf(diff, sizeof(diff), "?");
			xbrl_problem(r, "%s does not balance: debits %s, credits %s %s (difference %s)", name, ds, cs, cur,
				     diff);
		}
	}
	r->facts = n;
}

/* Every link:schemaRef names the GL entry point; there is one. */
static void check_schema_refs(xmlDocPtr doc, struct xbrl_check *r)
{
	int refs = 0;
	xmlNodePtr root = xmlDocGetRootElement(doc);
	for (xmlNodePtr n = root ? root->children : NULL; n; n = n->next) {
		if (!xbrl_is(n, LINK_NS, "schemaRef"))
			continue;
		refs++;
		xmlChar *href = xmlGetNsProp(n, BAD_CAST "href", BAD_CAST XLINK_NS);
		if (!href || strcmp((const char *)href, XBRL_GL_SCHEMA_URL) != 0)
			xbrl_problem(r, "line %ld: link:schemaRef names '%s', not the XBRL GL entry point '%s'",
				     xmlGetLineNo(n), href ? (const char *)href : "", XBRL_GL_SCHEMA_URL);
		xmlFree(href);
	}
	if (refs == 0)
		xbrl_problem(r, "the instance has no link:schemaRef to the XBRL GL entry point '%s'", XBRL_GL_SCHEMA_URL);
}

int xbrl_gl_validate_file(const char *path, const char *catalog_file, struct xbrl_check *r, struct err *e)
{
	xmlDocPtr doc = NULL;
	xmlSchemaParserCtxtPtr pctx = NULL;
	xmlSchemaPtr schema = NULL;
	xmlSchemaValidCtxtPtr vctx = NULL;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	if (access(path, R_OK) != 0)
		return err_set(e, ERR_IO, "could not read '%s': %s", path, strerror(errno));
	xbrl_setup_offline(catalog_file);
	xmlSetStructuredErrorFunc(r, xbrl_collect_error);
	doc = xmlReadFile(path, NULL, XML_PARSE_NONET | XML_PARSE_HUGE);
	if (!doc) {
		err_set(e, ERR_INPUT, "'%s' is not a well-formed XML document", path);
		if (r->nproblems)
			err_detail(e, "%s", r->problems[0]);
		goto out;
	}
	check_schema_refs(doc, r);

	struct xbrl_check load = { 0 };
	xmlSetStructuredErrorFunc(&load, xbrl_collect_error);
	pctx = xmlSchemaNewParserCtxt(XBRL_GL_SCHEMA_URL);
	if (pctx)
		xmlSchemaSetParserStructuredErrors(pctx, xbrl_collect_error, &load);
	schema = pctx ? xmlSchemaParse(pctx) : NULL;
	xmlSetStructuredErrorFunc(r, xbrl_collect_error);
	if (!schema) {
		err_set(e, ERR_CONFIG, "could not load the XBRL GL schemas ('%s') or the XBRL 2.1 schemas they import",
			XBRL_GL_SCHEMA_URL);
		if (load.nproblems)
			err_detail(e, "%s", load.problems[0]);
		err_hint(e, "they are read through an XML catalog, never the network: give --catalog FILE or set "
			    "XML_CATALOG_FILES (reports/xbrl-gl-catalog.xml maps them to ../shared/xbrl)");
		goto out;
	}
	vctx = xmlSchemaNewValidCtxt(schema);
	if (!vctx) {
		err_set(e, ERR_INTERNAL, "out of memory");
		goto out;
	}
	xmlSchemaSetValidStructuredErrors(vctx, xbrl_collect_error, r);
	int invalid = xmlSchemaValidateDoc(vctx, doc);
	r->schema_checked = 1;
	if (invalid && r->nproblems == 0)
		xbrl_problem(r, "the instance does not validate against the XBRL GL schemas");
	check_entries(doc, r);
	if (r->nproblems) {
		err_set(e, ERR_INPUT, "'%s' is not a balanced XBRL GL journal: %s", path, r->problems[0]);
		if (r->nproblems > 1)
			err_detail(e, "%d problems in all", r->nproblems);
		goto out;
	}
	rc = 0;
out:
	xmlSetStructuredErrorFunc(NULL, NULL);
	xmlSchemaFreeValidCtxt(vctx);
	xmlSchemaFree(schema);
	xmlSchemaFreeParserCtxt(pctx);
	xmlFreeDoc(doc);
	return rc;
}
