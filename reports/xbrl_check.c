/*
 * xbrl_check.c - the rules of XBRL 2.1 that XSD cannot express, on a
 * parsed instance, read against the taxonomy's concept declarations
 * (xbrl_check_doc), and the ISO 4217 codes they use. Reading and
 * XSD-validating a file is xbrl_validate.c.
 */
#include "xbrl.h"
#include "xbrl_int.h"
#include "dec.h"
#include "err.h"
#include "hash.h"

#include <libxml/parser.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void xbrl_problem(struct xbrl_check *r, const char *fmt, ...)
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
	int64_t t_start, t_end;   /* as instants (see instant_of); valid when have_t */
	int have_t;
	char *entity;             /* scheme, identifier, segment and scenario, for s-equality */
};

struct unit {
	const xmlChar *id;
	int measures;           /* number of measures (a divide counts 2) */
	char iso[8];            /* the iso4217 currency when it is one iso4217 measure */
	char key[256];          /* its measures, resolved and sorted, for u-equality */
};

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
		if (!xbrl_is(el, XSD_NS, "element"))
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

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* An xsd:date or xsd:dateTime period bound as microseconds since
 * 1970-01-01T00:00:00Z (XBRL 2.1 4.7.2): a date alone is the start of
 * that day, or for an end date or instant the end of it (midnight
 * after). A time without a zone is taken as UTC. -1 when the text is
 * not one of those forms (XSD validation reports it). */
static int instant_of(const char *t, int is_end, int64_t *usec)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
	long frac = 0;
	int frac_digits = 0;
	if (sscanf(t, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10 || mo < 1 || mo > 12 || d < 1 || d > 31)
		return -1;
	const char *p = t + 10;
	int has_time = *p == 'T';
	if (has_time) {
		int k = 0;
		if (sscanf(p, "T%2d:%2d:%2d%n", &h, &mi, &sec, &k) != 3 || k != 9)
			return -1;
		p += k;
		if (*p == '.') {
			p++;
			while (*p >= '0' && *p <= '9') {
				if (frac_digits < 6) {
					frac = frac * 10 + (*p - '0');
					frac_digits++;
				}
				p++;
			}
			while (frac_digits < 6) {
				frac *= 10;
				frac_digits++;
			}
		}
	}
	int64_t offset = 0;
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om, k = 0;
		if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &k) != 2 || k != 5)
			return -1;
		offset = (*p == '-' ? -1 : 1) * (int64_t)(oh * 60 + om) * 60;
		p += 6;
	}
	if (*p)
		return -1;
	int64_t secs = days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 + mi * 60 + sec - offset;
	if (!has_time && is_end)
		secs += 86400;
	*usec = secs * 1000000 + frac;
	return 0;
}

/* Append to buf a form of the XML under n (its children, then its
 * following siblings) in which names are resolved to their namespaces:
 * elements as <{ns}local {ns}attr="value"...>...</>, attributes sorted,
 * text trimmed, whitespace-only text, comments and processing
 * instructions left out. Two trees written with different prefixes or
 * indentation give the same string (x-equality, XBRL 2.1 4.10, as far as
 * values compare as trimmed text). */
static void xml_key(xmlBufferPtr buf, xmlNodePtr n)
{
	for (; n; n = n->next) {
		if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
			const char *t = (const char *)n->content;
			size_t start = strspn(t, " \t\r\n"), len = strlen(t);
			while (len > start && strchr(" \t\r\n", t[len - 1]))
				len--;
			if (len > start) {
				xmlBufferCat(buf, BAD_CAST "\"");
				xmlBufferAdd(buf, BAD_CAST t + start, (int)(len - start));
				xmlBufferCat(buf, BAD_CAST "\"");
			}
			continue;
		}
		if (n->type != XML_ELEMENT_NODE)
			continue;
		xmlBufferCat(buf, BAD_CAST "<{");
		xmlBufferCat(buf, n->ns ? n->ns->href : BAD_CAST "");
		xmlBufferCat(buf, BAD_CAST "}");
		xmlBufferCat(buf, n->name);
		char attrs[16][256];
		size_t nattrs = 0;
		for (xmlAttrPtr a = n->properties; a && nattrs < 16; a = a->next) {
			xmlChar *v = xmlNodeListGetString(n->doc, a->children, 1);
			snprintf(attrs[nattrs++], sizeof(attrs[0]), "{%s}%s=\"%s\"", a->ns ? (const char *)a->ns->href : "",
				 (const char *)a->name, v ? (const char *)v : "");
			xmlFree(v);
		}
		qsort(attrs, nattrs, sizeof(attrs[0]), by_code);
		for (size_t i = 0; i < nattrs; i++) {
			xmlBufferCat(buf, BAD_CAST " ");
			xmlBufferCat(buf, BAD_CAST attrs[i]);
		}
		xmlBufferCat(buf, BAD_CAST ">");
		xml_key(buf, n->children);
		xmlBufferCat(buf, BAD_CAST "</>");
	}
}

/* The entity (scheme and identifier), its segment and the context's
 * scenario as one string: two contexts with equal strings are s-equal
 * but for their periods (XBRL 2.1 4.10). NULL when out of memory. */
static char *entity_key(xmlNodePtr el)
{
	xmlBufferPtr buf = xmlBufferCreate();
	if (!buf)
		return NULL;
	for (xmlNodePtr p = el->children; p; p = p->next) {
		if (xbrl_is(p, XBRLI_NS, "scenario")) {
			xmlBufferCat(buf, BAD_CAST " scenario[");
			xml_key(buf, p->children);
			xmlBufferCat(buf, BAD_CAST "]");
			continue;
		}
		if (!xbrl_is(p, XBRLI_NS, "entity"))
			continue;
		for (xmlNodePtr q = p->children; q; q = q->next) {
			if (xbrl_is(q, XBRLI_NS, "identifier")) {
				char text[512];
				xmlChar *scheme = xmlGetNoNsProp(q, BAD_CAST "scheme");
				text_of(q, text, sizeof(text));
				xmlBufferCat(buf, BAD_CAST "id{");
				xmlBufferCat(buf, scheme ? scheme : BAD_CAST "");
				xmlBufferCat(buf, BAD_CAST "}");
				xmlBufferCat(buf, BAD_CAST text);
				xmlFree(scheme);
			} else if (xbrl_is(q, XBRLI_NS, "segment")) {
				xmlBufferCat(buf, BAD_CAST " segment[");
				xml_key(buf, q->children);
				xmlBufferCat(buf, BAD_CAST "]");
			}
		}
	}
	char *key = strdup((const char *)xmlBufferContent(buf));
	xmlBufferFree(buf);
	return key;
}

static void read_context(xmlNodePtr el, struct context *c)
{
	memset(c, 0, sizeof(*c));
	xmlAttrPtr id = xmlHasProp(el, BAD_CAST "id");
	c->id = id && id->children ? id->children->content : BAD_CAST "";
	for (xmlNodePtr p = el->children; p; p = p->next) {
		if (!xbrl_is(p, XBRLI_NS, "period"))
			continue;
		for (xmlNodePtr q = p->children; q; q = q->next) {
			if (xbrl_is(q, XBRLI_NS, "instant")) {
				c->instant = 1;
				text_of(q, c->end, sizeof(c->end));
			} else if (xbrl_is(q, XBRLI_NS, "forever")) {
				c->forever = 1;
			} else if (xbrl_is(q, XBRLI_NS, "startDate")) {
				text_of(q, c->start, sizeof(c->start));
			} else if (xbrl_is(q, XBRLI_NS, "endDate")) {
				text_of(q, c->end, sizeof(c->end));
			}
		}
	}
	c->entity = entity_key(el);
	if (c->instant)
		c->have_t = instant_of(c->end, 1, &c->t_end) == 0;
	else if (!c->forever)
		c->have_t = instant_of(c->start, 0, &c->t_start) == 0 && instant_of(c->end, 1, &c->t_end) == 0;
}

/* s-equal: same entity, segment, scenario and period. */
static int context_equal(const struct context *a, const struct context *b)
{
	if (a == b)
		return 1;
	if (a->instant != b->instant || a->forever != b->forever || !a->entity || !b->entity ||
	    strcmp(a->entity, b->entity) != 0)
		return 0;
	if (a->forever)
		return 1;
	if (!a->have_t || !b->have_t)
		return strcmp(a->start, b->start) == 0 && strcmp(a->end, b->end) == 0;
	return a->t_end == b->t_end && (a->instant || a->t_start == b->t_start);
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
	char parts[16][96];
	int nparts = 0;
	stack[depth++] = el->children;
	while (depth > 0) {
		xmlNodePtr m = stack[--depth];
		for (; m; m = m->next) {
			if (m->type != XML_ELEMENT_NODE)
				continue;
			if (!xbrl_is(m, XBRLI_NS, "measure")) {
				if (depth < 8 && m->children)
					stack[depth++] = m->children;
				continue;
			}
			u->measures++;
			char text[128];
			text_of(m, text, sizeof(text));
			const xmlChar *ns;
			const xmlChar *local = qname(doc, m, BAD_CAST text, &ns);
			if (nparts < 16)
				snprintf(parts[nparts++], sizeof(parts[0]), "%s{%s}%s",
					 m->parent && xbrl_is(m->parent, XBRLI_NS, "unitDenominator") ? "/" : "",
					 ns ? (const char *)ns : "", local);
			if (!ns || !xmlStrEqual(ns, BAD_CAST ISO4217_NS))
				continue;
			if (!xbrl_iso4217_has(iso, (const char *)local))
				xbrl_problem(r, "line %ld: unit '%s' has measure '%s', which is not an ISO 4217 currency code",
					xmlGetLineNo(m), u->id, text);
			else if (u->measures == 1)
				snprintf(u->iso, sizeof(u->iso), "%s", local);
		}
	}
	if (u->measures != 1)
		u->iso[0] = '\0';
	/* u-equal: the same measures in any order (XBRL 2.1 4.10) */
	qsort(parts, (size_t)nparts, sizeof(parts[0]), by_code);
	size_t at = 0;
	for (int i = 0; i < nparts && at < sizeof(u->key); i++)
		at += (size_t)snprintf(u->key + at, sizeof(u->key) - at, "%s ", parts[i]);
}

/* The decimals a numeric fact's value is good to: its decimals, or what
 * its precision implies (XBRL 2.1 4.6.6: precision - the position of the
 * first significant digit). *inf for INF or a zero value with a
 * precision. -1 when it cannot be told (precision 0: nothing known). */
int xbrl_fact_decimals(const xmlChar *decimals, const xmlChar *precision, struct dec v, int *inf, int *out)
{
	const xmlChar *a = decimals ? decimals : precision;
	*inf = 0;
	if (!a)
		return -1;
	char text[32];
	snprintf(text, sizeof(text), "%s", (const char *)a);
	char *t = text;
	while (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r')
		t++;
	t[strcspn(t, " \t\r\n")] = '\0';
	if (strcmp(t, "INF") == 0) {
		*inf = 1;
		return 0;
	}
	char *end;
	long n = strtol(t, &end, 10);
	if (*end || end == t || n < -1000 || n > 1000)
		return -1;
	if (decimals) {
		*out = (int)n;
		return 0;
	}
	if (n == 0)
		return -1;
	if (dec_is_zero(v)) {
		*inf = 1;
		return 0;
	}
	int digits = 0;
	for (__int128 c = v.coef < 0 ? -v.coef : v.coef; c; c /= 10)
		digits++;
	*out = (int)n - digits + v.scale;
	return 0;
}

/* v rounded half to even to d decimal places (d < 0: to 10^-d). */
int xbrl_round_to(struct dec *out, struct dec v, int d)
{
	if (d >= DEC_MAX_SCALE || d >= v.scale) {
		*out = v;
		return 0;
	}
	if (d >= 0)
		return dec_round(out, v, d, DEC_ROUND_HALF_EVEN);
	if (-d > DEC_MAX_DIGITS)
		return -1;
	struct dec p = { 1, 0 };
	for (int i = 0; i < -d; i++)
		p.coef *= 10;
	return dec_div(out, v, p, 0, DEC_ROUND_HALF_EVEN);
}

/* The text of a fact, whitespace around it trimmed, whole (a new string,
 * xmlFree it; NULL out of memory). */
xmlChar *xbrl_value_of(xmlNodePtr n)
{
	xmlChar *t = xmlNodeGetContent(n);
	if (!t)
		return NULL;
	char *p = (char *)t;
	size_t start = strspn(p, " \t\r\n"), len = strlen(p);
	while (len > start && strchr(" \t\r\n", p[len - 1]))
		len--;
	memmove(p, p + start, len - start);
	p[len - start] = '\0';
	return t;
}

/* A number's text with the fractional zeros at its end left out but one
 * (they do not change its value, but past DEC_MAX_SCALE dec_parse refuses
 * them): "299.2400" is parsed as 299.24. -1 when it is not a decimal. */
int xbrl_parse_number(const xmlChar *text, struct dec *v)
{
	const char *t = (const char *)text;
	size_t len = strlen(t);
	if (strchr(t, '.') && !strpbrk(t, "eE"))
		while (len > 2 && t[len - 1] == '0' && t[len - 2] != '.')
			len--;
	return dec_parse(v, t, len);
}

/* Whether two numeric duplicates agree: both values rounded to the lower
 * of their decimals are equal (XBRL 2.1 4.10, v-equal; 299.24 and 299.240
 * agree). 1 agree, 0 not, -1 when it cannot be told (then their text is
 * compared). */
static int numeric_agree(xmlNodePtr a, xmlNodePtr b)
{
	struct dec va, vb, ra, rb;
	xmlChar *ta = xbrl_value_of(a), *tb = xbrl_value_of(b);
	int parsed = ta && tb && xbrl_parse_number(ta, &va) == 0 && xbrl_parse_number(tb, &vb) == 0;
	xmlFree(ta);
	xmlFree(tb);
	if (!parsed)
		return -1;
	xmlChar *da = xmlGetNoNsProp(a, BAD_CAST "decimals"), *pa = xmlGetNoNsProp(a, BAD_CAST "precision");
	xmlChar *db = xmlGetNoNsProp(b, BAD_CAST "decimals"), *pb = xmlGetNoNsProp(b, BAD_CAST "precision");
	int ia, ib, na = 0, nb = 0;
	int ok = xbrl_fact_decimals(da, pa, va, &ia, &na) == 0 && xbrl_fact_decimals(db, pb, vb, &ib, &nb) == 0;
	xmlFree(da);
	xmlFree(pa);
	xmlFree(db);
	xmlFree(pb);
	if (!ok)
		return -1;
	if (ia && ib)
		return dec_cmp(va, vb) == 0;
	int d = ia ? nb : ib ? na : na < nb ? na : nb;
	if (xbrl_round_to(&ra, va, d) || xbrl_round_to(&rb, vb, d))
		return -1;
	return dec_cmp(ra, rb) == 0;
}

/* A fact met so far, for the duplicate check. */
struct seen_fact {
	xmlNodePtr node;
	const struct context *ctx;
	const struct unit *unit;
	xmlChar *unit_ref;      /* owned */
	int nil;
};

/* Duplicates: the same concept in s-equal contexts with u-equal units. */
static int same_item(const struct seen_fact *a, const struct seen_fact *b)
{
	if (!xmlStrEqual(a->node->name, b->node->name) || !xmlStrEqual(a->node->ns->href, b->node->ns->href))
		return 0;
	if (!a->ctx || !b->ctx || !context_equal(a->ctx, b->ctx))
		return 0;
	if (!a->unit_ref && !b->unit_ref)
		return 1;
	if (a->unit && b->unit)
		return a->unit == b->unit || strcmp(a->unit->key, b->unit->key) == 0;
	return a->unit_ref && b->unit_ref && xmlStrEqual(a->unit_ref, b->unit_ref);
}

int xbrl_check_doc(xmlDocPtr instance, xmlDocPtr taxonomy, const struct xbrl_iso4217 *iso, struct xbrl_check *r)
{
	int before = r->nproblems;
	size_t nconcepts = 0, ncontexts = 0, nunits = 0;
	const xmlChar *target = NULL;
	struct concept *concepts = read_concepts(taxonomy, &nconcepts, &target);
	xmlNodePtr root = xmlDocGetRootElement(instance);

	if (!root || !xbrl_is(root, XBRLI_NS, "xbrl")) {
		xbrl_problem(r, "the root element is not xbrli:xbrl");
		free(concepts);
		return r->nproblems - before;
	}
	for (xmlNodePtr n = root->children; n; n = n->next) {
		ncontexts += xbrl_is(n, XBRLI_NS, "context");
		nunits += xbrl_is(n, XBRLI_NS, "unit");
	}
	struct context *contexts = calloc(ncontexts + 1, sizeof(*contexts));
	struct unit *units = calloc(nunits + 1, sizeof(*units));
	if (!contexts || !units) {
		xbrl_problem(r, "out of memory");
		goto out;
	}
	ncontexts = nunits = 0;
	for (xmlNodePtr n = root->children; n; n = n->next) {
		if (xbrl_is(n, XBRLI_NS, "context")) {
			struct context *c = &contexts[ncontexts++];
			read_context(n, c);
			/* XBRL 2.1 4.7.2: the end must be later than the start (a date
			 * alone as an end is the end of that day) */
			if (!c->instant && !c->forever && c->have_t && c->t_end <= c->t_start)
				xbrl_problem(r, "line %ld: context '%s' ends (%s) %s it starts (%s)", xmlGetLineNo(n), c->id,
					c->end, c->t_end < c->t_start ? "before" : "when", c->start);
		} else if (xbrl_is(n, XBRLI_NS, "unit")) {
			read_unit(instance, n, iso, &units[nunits++], r);
		}
	}

	struct seen_fact *seen = calloc(xmlChildElementCount(root) + 1, sizeof(*seen));
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
			xbrl_problem(r, "line %ld: fact '%s' is not a concept of the taxonomy", line, n->name);
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
			xbrl_problem(r, "line %ld: %s: contextRef '%s' names no context", line, n->name,
				ctx_ref ? (const char *)ctx_ref : "");
		else if (c->instant && !ctx->instant)
			xbrl_problem(r, "line %ld: %s is an instant concept but context '%s' is a duration", line, n->name,
				ctx->id);
		else if (!c->instant && ctx->instant)
			xbrl_problem(r, "line %ld: %s is a duration concept but context '%s' is an instant", line, n->name,
				ctx->id);

		const struct unit *unit = NULL;
		for (size_t i = 0; unit_ref && i < nunits; i++)
			if (xmlStrEqual(units[i].id, unit_ref))
				unit = &units[i];
		if (c->numeric) {
			if (!unit_ref)
				xbrl_problem(r, "line %ld: numeric fact %s has no unitRef", line, n->name);
			else if (!unit)
				xbrl_problem(r, "line %ld: %s: unitRef '%s' names no unit", line, n->name, unit_ref);
			else if (c->monetary && !unit->iso[0])
				xbrl_problem(r, "line %ld: monetary fact %s is in unit '%s', which is not one ISO 4217 currency",
					line, n->name, unit->id);
			if (!is_nil && decimals && precision)
				xbrl_problem(r, "line %ld: numeric fact %s carries both decimals and precision (XBRL 2.1 4.6.3: "
					   "one of them)", line, n->name);
			else if (!is_nil && !decimals)
				xbrl_problem(r, "line %ld: numeric fact %s has no decimals attribute", line, n->name);
			if (is_nil && (decimals || precision))
				xbrl_problem(r, "line %ld: nil fact %s carries decimals or precision", line, n->name);
		} else {
			if (unit_ref || decimals || precision)
				xbrl_problem(r, "line %ld: non-numeric fact %s carries a unitRef, decimals or precision", line,
					n->name);
		}
		/* One concept in s-equal contexts and u-equal units: one value. */
		struct seen_fact me = { n, ctx, unit, unit_ref, is_nil };
		for (size_t i = 0; i < nseen && !is_nil; i++) {
			const struct seen_fact *o = &seen[i];
			if (o->nil || !same_item(o, &me))
				continue;
			int agree = c->numeric ? numeric_agree(o->node, n) : -1;
			if (agree < 0) { /* text, or a number past what struct dec holds: as written */
				xmlChar *a = xbrl_value_of(o->node), *b = xbrl_value_of(n);
				agree = xmlStrEqual(a, b);
				xmlFree(a);
				xmlFree(b);
			}
			if (agree)
				continue;
			if (xmlStrEqual(o->ctx->id, ctx->id))
				xbrl_problem(r, "line %ld: %s is reported twice for context '%s' with different values (line %ld)",
					line, n->name, ctx->id, xmlGetLineNo(o->node));
			else
				xbrl_problem(r, "line %ld: %s is reported twice with different values, in contexts '%s' and '%s' "
					   "(line %ld), which have the same entity, segment, scenario and period", line, n->name, ctx->id,
					o->ctx->id, xmlGetLineNo(o->node));
		}
		if (seen)
			seen[nseen++] = me;
		else
			xmlFree(unit_ref);
		xmlFree(ctx_ref);
		xmlFree(decimals);
		xmlFree(precision);
		xmlFree(nil);
	}
	for (size_t i = 0; i < nseen; i++)
		xmlFree(seen[i].unit_ref);
	free(seen);
out:
	for (size_t i = 0; contexts && i < ncontexts; i++)
		free(contexts[i].entity);
	free(concepts);
	free(contexts);
	free(units);
	return r->nproblems - before;
}
