/*
 * xbrl_check.c - checking an XBRL 2.1 instance (see xbrl.h): XSD
 * validation with libxml2, offline through an XML catalog, and the rules
 * XSD cannot express, read against the taxonomy's concept declarations.
 */
#include "xbrl.h"
#include "err.h"
#include "hash.h"

#include <libxml/catalog.h>
#include <libxml/parser.h>
#include <libxml/uri.h>
#include <libxml/xmlIO.h>
#include <libxml/xmlschemas.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define XBRLI_NS "http://www.xbrl.org/2003/instance"
#define LINK_NS "http://www.xbrl.org/2003/linkbase"
#define XLINK_NS "http://www.w3.org/1999/xlink"
#define ISO4217_NS "http://www.xbrl.org/2003/iso4217"
#define XSI_NS "http://www.w3.org/2001/XMLSchema-instance"
#define XSD_NS "http://www.w3.org/2001/XMLSchema"

static void problem(struct xbrl_check *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(struct xbrl_check *r, const char *fmt, ...)
{
	va_list ap;
	if (r->nproblems < XBRL_MAX_PROBLEMS) {
		va_start(ap, fmt);
		vsnprintf(r->problems[r->nproblems], sizeof(r->problems[0]), fmt, ap);
		va_end(ap);
	}
	r->nproblems++;
}

/* ---- ISO 4217 codes ---- */

struct xbrl_iso4217 {
	char (*codes)[4];
	size_t n;
};

static int by_code(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The iso-codes JSON is {"4217": [{"alpha_3": "AED", ...}, ...]}: every
 * "alpha_3" member is a code, which is all that is needed here. */
struct xbrl_iso4217 *xbrl_iso4217_load(const char *path, struct err *e)
{
	char *text = NULL;
	size_t len = 0;
	if (hash_read_file(path, &text, &len, e)) {
		err_hint(e, "install Debian's iso-codes package");
		return NULL;
	}
	struct xbrl_iso4217 *set = calloc(1, sizeof(*set));
	size_t cap = 0;
	for (char *p = text; set && (p = strstr(p, "\"alpha_3\"")) != NULL;) {
		p += 9;
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ':')
			p++;
		if (p[0] != '"' || !p[1] || !p[2] || !p[3] || p[4] != '"')
			continue;
		if (set->n == cap) {
			cap = cap ? cap * 2 : 256;
			char(*c)[4] = realloc(set->codes, cap * sizeof(*c));
			if (!c) {
				xbrl_iso4217_free(set);
				set = NULL;
				break;
			}
			set->codes = c;
		}
		memcpy(set->codes[set->n], p + 1, 3);
		set->codes[set->n][3] = '\0';
		set->n++;
		p += 5;
	}
	free(text);
	if (!set) {
		err_set(e, ERR_INTERNAL, "out of memory");
		return NULL;
	}
	if (set->n == 0) {
		xbrl_iso4217_free(set);
		err_set(e, ERR_CONFIG, "no ISO 4217 codes in '%s'", path);
		return NULL;
	}
	qsort(set->codes, set->n, sizeof(*set->codes), by_code);
	return set;
}

int xbrl_iso4217_has(const struct xbrl_iso4217 *set, const char *code)
{
	if (strlen(code) != 3)
		return 0;
	return bsearch(code, set->codes, set->n, sizeof(*set->codes), by_code) != NULL;
}

void xbrl_iso4217_free(struct xbrl_iso4217 *set)
{
	if (!set)
		return;
	free(set->codes);
	free(set);
}

/* ---- the model read from the documents ---- */

struct concept {
	const xmlChar *name;
	int instant;            /* periodType */
	int numeric, monetary;
	const xmlChar *type;    /* as written, for messages */
};

struct context {
	const xmlChar *id;
	int instant, forever;
	char start[32], end[32];
};

struct unit {
	const xmlChar *id;
	int measures;           /* number of measures (a divide counts 2) */
	char iso[8];            /* the iso4217 currency when it is one iso4217 measure */
};

static int is(xmlNodePtr n, const char *ns, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns && xmlStrEqual(n->ns->href, BAD_CAST ns) &&
	       xmlStrEqual(n->name, BAD_CAST name);
}

/* XBRL 2.1 numeric item types (section 5.1.1.3), by local name. */
static int numeric_type(const xmlChar *local)
{
	static const char *const types[] = {
		"decimalItemType", "floatItemType", "doubleItemType", "integerItemType",
		"nonPositiveIntegerItemType", "negativeIntegerItemType", "longItemType", "intItemType",
		"shortItemType", "byteItemType", "nonNegativeIntegerItemType", "unsignedLongItemType",
		"unsignedIntItemType", "unsignedShortItemType", "unsignedByteItemType",
		"positiveIntegerItemType", "monetaryItemType", "sharesItemType", "pureItemType",
		"fractionItemType", NULL,
	};
	for (const char *const *t = types; *t; t++)
		if (xmlStrEqual(local, BAD_CAST * t))
			return 1;
	return 0;
}

/* Resolve a QName written in node's scope: its namespace and local name. */
static const xmlChar *qname(xmlDocPtr doc, xmlNodePtr node, const xmlChar *text, const xmlChar **ns)
{
	const xmlChar *colon = xmlStrchr(text, ':');
	xmlChar *prefix = colon ? xmlStrndup(text, (int)(colon - text)) : NULL;
	xmlNsPtr n = xmlSearchNs(doc, node, prefix);
	xmlFree(prefix);
	*ns = n ? n->href : NULL;
	return colon ? colon + 1 : text;
}

static struct concept *read_concepts(xmlDocPtr tax, size_t *count, const xmlChar **target)
{
	xmlNodePtr root = xmlDocGetRootElement(tax);
	size_t n = 0, cap = 0;
	struct concept *list = NULL;

	*count = 0;
	xmlAttrPtr tn = root ? xmlHasProp(root, BAD_CAST "targetNamespace") : NULL;
	*target = tn && tn->children ? tn->children->content : NULL;
	for (xmlNodePtr el = root ? root->children : NULL; el; el = el->next) {
		if (!is(el, XSD_NS, "element"))
			continue;
		xmlAttrPtr name = xmlHasProp(el, BAD_CAST "name");
		if (!name || !name->children)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			struct concept *p = realloc(list, cap * sizeof(*p));
			if (!p) {
				free(list);
				return NULL;
			}
			list = p;
		}
		struct concept *c = &list[n++];
		memset(c, 0, sizeof(*c));
		c->name = name->children->content;
		xmlAttrPtr pt = xmlHasNsProp(el, BAD_CAST "periodType", BAD_CAST XBRLI_NS);
		c->instant = pt && pt->children && xmlStrEqual(pt->children->content, BAD_CAST "instant");
		xmlAttrPtr type = xmlHasProp(el, BAD_CAST "type");
		if (type && type->children) {
			const xmlChar *ns;
			c->type = type->children->content;
			const xmlChar *local = qname(tax, el, c->type, &ns);
			if (ns && xmlStrEqual(ns, BAD_CAST XBRLI_NS)) {
				c->numeric = numeric_type(local);
				c->monetary = xmlStrEqual(local, BAD_CAST "monetaryItemType");
			}
		}
	}
	*count = n;
	return list;
}

static const struct concept *find_concept(const struct concept *list, size_t n, const xmlChar *name)
{
	for (size_t i = 0; i < n; i++)
		if (xmlStrEqual(list[i].name, name))
			return &list[i];
	return NULL;
}

static void text_of(xmlNodePtr n, char *buf, size_t size)
{
	xmlChar *t = xmlNodeGetContent(n);
	snprintf(buf, size, "%s", t ? (const char *)t : "");
	xmlFree(t);
	/* xsd:date and dateTime: trim the whitespace XSD allows around them */
	char *p = buf;
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	memmove(buf, p, strlen(p) + 1);
	size_t len = strlen(buf);
	while (len && (buf[len - 1] == ' ' || buf[len - 1] == '\n' || buf[len - 1] == '\t' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
}

static void read_context(xmlNodePtr el, struct context *c)
{
	memset(c, 0, sizeof(*c));
	xmlAttrPtr id = xmlHasProp(el, BAD_CAST "id");
	c->id = id && id->children ? id->children->content : BAD_CAST "";
	for (xmlNodePtr p = el->children; p; p = p->next) {
		if (!is(p, XBRLI_NS, "period"))
			continue;
		for (xmlNodePtr q = p->children; q; q = q->next) {
			if (is(q, XBRLI_NS, "instant")) {
				c->instant = 1;
				text_of(q, c->end, sizeof(c->end));
			} else if (is(q, XBRLI_NS, "forever")) {
				c->forever = 1;
			} else if (is(q, XBRLI_NS, "startDate")) {
				text_of(q, c->start, sizeof(c->start));
			} else if (is(q, XBRLI_NS, "endDate")) {
				text_of(q, c->end, sizeof(c->end));
			}
		}
	}
}

static void read_unit(xmlDocPtr doc, xmlNodePtr el, const struct xbrl_iso4217 *iso, struct unit *u,
		      struct xbrl_check *r)
{
	memset(u, 0, sizeof(*u));
	xmlAttrPtr id = xmlHasProp(el, BAD_CAST "id");
	u->id = id && id->children ? id->children->content : BAD_CAST "";
	/* Measures directly under the unit, or under divide/unitNumerator|unitDenominator. */
	xmlNodePtr stack[8];
	int depth = 0;
	stack[depth++] = el->children;
	while (depth > 0) {
		xmlNodePtr m = stack[--depth];
		for (; m; m = m->next) {
			if (m->type != XML_ELEMENT_NODE)
				continue;
			if (!is(m, XBRLI_NS, "measure")) {
				if (depth < 8 && m->children)
					stack[depth++] = m->children;
				continue;
			}
			u->measures++;
			char text[128];
			text_of(m, text, sizeof(text));
			const xmlChar *ns;
			const xmlChar *local = qname(doc, m, BAD_CAST text, &ns);
			if (!ns || !xmlStrEqual(ns, BAD_CAST ISO4217_NS))
				continue;
			if (!xbrl_iso4217_has(iso, (const char *)local))
				problem(r, "line %ld: unit '%s' has measure '%s', which is not an ISO 4217 currency code",
					xmlGetLineNo(m), u->id, text);
			else if (u->measures == 1)
				snprintf(u->iso, sizeof(u->iso), "%s", local);
		}
	}
	if (u->measures != 1)
		u->iso[0] = '\0';
}

/* YYYY-MM-DD[...] compared as text: both are xsd:date or dateTime. */
static int date_before(const char *a, const char *b)
{
	return strncmp(a, b, 10) < 0 || (strncmp(a, b, 10) == 0 && strcmp(a, b) < 0);
}

int xbrl_check_doc(xmlDocPtr instance, xmlDocPtr taxonomy, const struct xbrl_iso4217 *iso, struct xbrl_check *r)
{
	int before = r->nproblems;
	size_t nconcepts = 0, ncontexts = 0, nunits = 0;
	const xmlChar *target = NULL;
	struct concept *concepts = read_concepts(taxonomy, &nconcepts, &target);
	xmlNodePtr root = xmlDocGetRootElement(instance);

	if (!root || !is(root, XBRLI_NS, "xbrl")) {
		problem(r, "the root element is not xbrli:xbrl");
		free(concepts);
		return r->nproblems - before;
	}
	for (xmlNodePtr n = root->children; n; n = n->next) {
		ncontexts += is(n, XBRLI_NS, "context");
		nunits += is(n, XBRLI_NS, "unit");
	}
	struct context *contexts = calloc(ncontexts + 1, sizeof(*contexts));
	struct unit *units = calloc(nunits + 1, sizeof(*units));
	if (!contexts || !units) {
		problem(r, "out of memory");
		goto out;
	}
	ncontexts = nunits = 0;
	for (xmlNodePtr n = root->children; n; n = n->next) {
		if (is(n, XBRLI_NS, "context")) {
			struct context *c = &contexts[ncontexts++];
			read_context(n, c);
			if (!c->instant && !c->forever && c->start[0] && c->end[0] && date_before(c->end, c->start))
				problem(r, "line %ld: context '%s' ends (%s) before it starts (%s)", xmlGetLineNo(n), c->id,
					c->end, c->start);
		} else if (is(n, XBRLI_NS, "unit")) {
			read_unit(instance, n, iso, &units[nunits++], r);
		}
	}

	xmlNodePtr *seen = calloc(xmlChildElementCount(root) + 1, sizeof(*seen));
	size_t nseen = 0;
	for (xmlNodePtr n = root->children; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE || !n->ns || xmlStrEqual(n->ns->href, BAD_CAST XBRLI_NS) ||
		    xmlStrEqual(n->ns->href, BAD_CAST LINK_NS))
			continue;
		r->facts++;
		long line = xmlGetLineNo(n);
		const struct concept *c =
			target && xmlStrEqual(n->ns->href, target) ? find_concept(concepts, nconcepts, n->name) : NULL;
		if (!c) {
			problem(r, "line %ld: fact '%s' is not a concept of the taxonomy", line, n->name);
			continue;
		}
		xmlChar *ctx_ref = xmlGetNoNsProp(n, BAD_CAST "contextRef");
		xmlChar *unit_ref = xmlGetNoNsProp(n, BAD_CAST "unitRef");
		xmlChar *decimals = xmlGetNoNsProp(n, BAD_CAST "decimals");
		xmlChar *precision = xmlGetNoNsProp(n, BAD_CAST "precision");
		xmlChar *nil = xmlGetNsProp(n, BAD_CAST "nil", BAD_CAST XSI_NS);
		int is_nil = nil && (xmlStrEqual(nil, BAD_CAST "true") || xmlStrEqual(nil, BAD_CAST "1"));

		const struct context *ctx = NULL;
		for (size_t i = 0; ctx_ref && i < ncontexts; i++)
			if (xmlStrEqual(contexts[i].id, ctx_ref))
				ctx = &contexts[i];
		if (!ctx)
			problem(r, "line %ld: %s: contextRef '%s' names no context", line, n->name,
				ctx_ref ? (const char *)ctx_ref : "");
		else if (c->instant && !ctx->instant)
			problem(r, "line %ld: %s is an instant concept but context '%s' is a duration", line, n->name,
				ctx->id);
		else if (!c->instant && ctx->instant)
			problem(r, "line %ld: %s is a duration concept but context '%s' is an instant", line, n->name,
				ctx->id);

		const struct unit *unit = NULL;
		for (size_t i = 0; unit_ref && i < nunits; i++)
			if (xmlStrEqual(units[i].id, unit_ref))
				unit = &units[i];
		if (c->numeric) {
			if (!unit_ref)
				problem(r, "line %ld: numeric fact %s has no unitRef", line, n->name);
			else if (!unit)
				problem(r, "line %ld: %s: unitRef '%s' names no unit", line, n->name, unit_ref);
			else if (c->monetary && !unit->iso[0])
				problem(r, "line %ld: monetary fact %s is in unit '%s', which is not one ISO 4217 currency",
					line, n->name, unit->id);
			if (!is_nil && !decimals)
				problem(r, "line %ld: numeric fact %s has no decimals attribute", line, n->name);
			if (is_nil && (decimals || precision))
				problem(r, "line %ld: nil fact %s carries decimals or precision", line, n->name);
		} else {
			if (unit_ref || decimals || precision)
				problem(r, "line %ld: non-numeric fact %s carries a unitRef, decimals or precision", line,
					n->name);
		}
		/* One concept, context and unit: one value. */
		xmlChar *value = xmlNodeGetContent(n);
		for (size_t i = 0; i < nseen; i++) {
			xmlNodePtr o = seen[i];
			if (!xmlStrEqual(o->name, n->name) || !xmlStrEqual(o->ns->href, n->ns->href))
				continue;
			xmlChar *oc = xmlGetNoNsProp(o, BAD_CAST "contextRef"), *ou = xmlGetNoNsProp(o, BAD_CAST "unitRef");
			int same = xmlStrEqual(oc, ctx_ref) && ((!ou && !unit_ref) || xmlStrEqual(ou, unit_ref));
			xmlFree(oc);
			xmlFree(ou);
			if (!same)
				continue;
			xmlChar *ov = xmlNodeGetContent(o);
			if (!xmlStrEqual(ov, value))
				problem(r, "line %ld: %s is reported twice for context '%s' with different values (line %ld)",
					line, n->name, ctx_ref ? (const char *)ctx_ref : "", xmlGetLineNo(o));
			xmlFree(ov);
		}
		if (seen)
			seen[nseen++] = n;
		xmlFree(value);
		xmlFree(ctx_ref);
		xmlFree(unit_ref);
		xmlFree(decimals);
		xmlFree(precision);
		xmlFree(nil);
	}
	free(seen);
out:
	free(concepts);
	free(contexts);
	free(units);
	return r->nproblems - before;
}

/* ---- reading files, offline ---- */

static void collect_error(void *ctx, xmlErrorPtr error)
{
	struct xbrl_check *r = ctx;
	if (!error || error->level < XML_ERR_ERROR)
		return;
	char msg[256];
	snprintf(msg, sizeof(msg), "%s", error->message ? error->message : "XML error");
	size_t n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	if (error->line > 0)
		problem(r, "line %d: %s", error->line, msg);
	else
		problem(r, "%s%s%s", error->file ? error->file : "", error->file ? ": " : "", msg);
}

static int setup_done;

/* No network, ever: the XBRL 2.1 schemas are found through the catalog. */
static void setup_offline(const char *catalog_file)
{
	if (!setup_done) {
		xmlInitParser();
		xmlSetExternalEntityLoader(xmlNoNetExternalEntityLoader);
		setup_done = 1;
	}
	if (catalog_file)
		xmlLoadCatalog(catalog_file);
}

/* The href of the instance's link:schemaRef, resolved against the
 * instance's location (a new string), or NULL. */
static xmlChar *taxonomy_uri(xmlDocPtr doc, const char *path)
{
	xmlNodePtr root = xmlDocGetRootElement(doc);
	for (xmlNodePtr n = root ? root->children : NULL; n; n = n->next) {
		if (!is(n, LINK_NS, "schemaRef"))
			continue;
		xmlChar *href = xmlGetNsProp(n, BAD_CAST "href", BAD_CAST XLINK_NS);
		if (!href)
			return NULL;
		xmlChar *uri = xmlBuildURI(href, BAD_CAST path);
		xmlFree(href);
		return uri;
	}
	return NULL;
}

int xbrl_validate_file(const char *path, const char *catalog_file, const char *iso_path, struct xbrl_check *r,
		       struct err *e)
{
	xmlDocPtr doc = NULL, tax = NULL;
	xmlChar *uri = NULL;
	xmlSchemaParserCtxtPtr pctx = NULL;
	xmlSchemaPtr schema = NULL;
	xmlSchemaValidCtxtPtr vctx = NULL;
	struct xbrl_iso4217 *iso = NULL;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	if (access(path, R_OK) != 0)
		return err_set(e, ERR_IO, "could not read '%s': %s", path, strerror(errno));
	setup_offline(catalog_file);
	iso = xbrl_iso4217_load(iso_path ? iso_path : XBRL_ISO4217_JSON, e);
	if (!iso)
		return -1;
	xmlSetStructuredErrorFunc(r, collect_error);
	doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
	if (!doc) {
		err_set(e, ERR_INPUT, "'%s' is not a well-formed XML document", path);
		if (r->nproblems)
			err_detail(e, "%s", r->problems[0]);
		goto out;
	}
	uri = taxonomy_uri(doc, path);
	if (!uri) {
		err_set(e, ERR_INPUT, "'%s' is not a valid XBRL instance: it has no link:schemaRef to its taxonomy", path);
		goto out;
	}
	struct xbrl_check load = { 0 };
	xmlSetStructuredErrorFunc(&load, collect_error);
	tax = xmlReadFile((const char *)uri, NULL, XML_PARSE_NONET);
	pctx = tax ? xmlSchemaNewParserCtxt((const char *)uri) : NULL;
	if (pctx)
		xmlSchemaSetParserStructuredErrors(pctx, collect_error, &load);
	schema = pctx ? xmlSchemaParse(pctx) : NULL;
	xmlSetStructuredErrorFunc(r, collect_error);
	if (!schema) {
		err_set(e, tax ? ERR_CONFIG : ERR_IO, "could not load the taxonomy '%s'%s", (const char *)uri,
			tax ? " or the XBRL 2.1 schemas it imports" : "");
		if (load.nproblems)
			err_detail(e, "%s", load.problems[0]);
		err_hint(e, "the XBRL 2.1 schemas are read through an XML catalog, never the network: "
			    "give --catalog FILE or set XML_CATALOG_FILES (e.g. ../shared/xbrl/catalog.xml)");
		goto out;
	}
	vctx = xmlSchemaNewValidCtxt(schema);
	if (!vctx) {
		err_set(e, ERR_INTERNAL, "out of memory");
		goto out;
	}
	xmlSchemaSetValidStructuredErrors(vctx, collect_error, r);
	int invalid = xmlSchemaValidateDoc(vctx, doc);
	r->schema_checked = 1;
	if (invalid && r->nproblems == 0)
		problem(r, "the instance does not validate against the taxonomy schema");
	xbrl_check_doc(doc, tax, iso, r);
	if (r->nproblems) {
		err_set(e, ERR_INPUT, "'%s' is not a valid XBRL instance: %s", path, r->problems[0]);
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
	xmlFreeDoc(tax);
	xmlFreeDoc(doc);
	xmlFree(uri);
	xbrl_iso4217_free(iso);
	return rc;
}
