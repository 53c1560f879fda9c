/*
 * xbrl_calc.c - the calculations of an instance (xbrl_check_calculations,
 * see xbrl.h): the summation-item relationships of the calculation
 * linkbase built into billrun (reports/taxonomy/billrun-2026-cal.xml),
 * checked as XBRL Calculations 1.1 does in its round-to-nearest mode:
 * the total's interval must meet the sum of its items' intervals, which
 * for exact facts (decimals INF) is equality.
 *
 * The relationships are read from the built-in linkbase, never from a
 * file beside the instance: an edited linkbase cannot make an altered
 * total pass (xbrl_validate.c refuses such a copy anyway).
 */
#include "xbrl.h"
#include "xbrl_int.h"

#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RELS 16
#define MAX_ITEMS 8

/* One total and its items, with their weights. */
struct relation {
	char total[64];
	int nitems;
	char item[MAX_ITEMS][64];
	struct dec weight[MAX_ITEMS];
};

/* The concept a locator's href names: "billrun-2026.xsd#billrun_X" is X. */
static int locator_concept(xmlNodePtr loc, char *out, size_t size)
{
	xmlChar *href = xmlGetNsProp(loc, BAD_CAST "href", BAD_CAST XLINK_NS);
	const char *hash = href ? strchr((const char *)href, '#') : NULL;
	int ok = hash && strncmp(hash + 1, "billrun_", 8) == 0;
	if (ok)
		snprintf(out, size, "%s", hash + 9);
	xmlFree(href);
	return ok ? 0 : -1;
}

/* The concept of the locator labelled label in link, or NULL. */
static const char *label_concept(xmlNodePtr link, const xmlChar *label, char *out, size_t size)
{
	for (xmlNodePtr n = link->children; n; n = n->next) {
		if (!xbrl_is(n, LINK_NS, "loc"))
			continue;
		xmlChar *l = xmlGetNsProp(n, BAD_CAST "label", BAD_CAST XLINK_NS);
		int match = l && xmlStrEqual(l, label);
		xmlFree(l);
		if (match)
			return locator_concept(n, out, size) == 0 ? out : NULL;
	}
	return NULL;
}

static struct relation *relation_of(struct relation *rels, int *nrels, const char *total)
{
	for (int i = 0; i < *nrels; i++)
		if (strcmp(rels[i].total, total) == 0)
			return &rels[i];
	if (*nrels == MAX_RELS)
		return NULL;
	struct relation *r = &rels[(*nrels)++];
	memset(r, 0, sizeof(*r));
	snprintf(r->total, sizeof(r->total), "%s", total);
	return r;
}

/* The summation-item relationships of the built-in calculation linkbase.
 * Returns their number, or -1 when it does not read (a build defect). */
static int read_relations(struct relation *rels)
{
	size_t len = 0;
	const char *text = xbrl_taxonomy_file_text(XBRL_CALCULATION_FILE, &len);
	xmlDocPtr doc = text ? xmlReadMemory(text, (int)len, XBRL_CALCULATION_FILE, NULL, XML_PARSE_NONET) : NULL;
	if (!doc)
		return -1;
	int nrels = 0, bad = 0;
	xmlNodePtr root = xmlDocGetRootElement(doc);
	for (xmlNodePtr link = root ? root->children : NULL; link; link = link->next) {
		if (!xbrl_is(link, LINK_NS, "calculationLink"))
			continue;
		for (xmlNodePtr arc = link->children; arc; arc = arc->next) {
			if (!xbrl_is(arc, LINK_NS, "calculationArc"))
				continue;
			xmlChar *from = xmlGetNsProp(arc, BAD_CAST "from", BAD_CAST XLINK_NS);
			xmlChar *to = xmlGetNsProp(arc, BAD_CAST "to", BAD_CAST XLINK_NS);
			xmlChar *weight = xmlGetNoNsProp(arc, BAD_CAST "weight");
			char total[64], item[64];
			struct dec w;
			struct relation *r = NULL;
			if (from && to && weight && label_concept(link, from, total, sizeof(total)) &&
			    label_concept(link, to, item, sizeof(item)) && xbrl_parse_number(weight, &w) == 0)
				r = relation_of(rels, &nrels, total);
			if (r && r->nitems < MAX_ITEMS) {
				snprintf(r->item[r->nitems], sizeof(r->item[0]), "%s", item);
				r->weight[r->nitems++] = w;
			} else {
				bad = 1;
			}
			xmlFree(from);
			xmlFree(to);
			xmlFree(weight);
		}
	}
	xmlFreeDoc(doc);
	return bad ? -1 : nrels;
}

/* A bound value: a concept's one value in a context and unit. */
struct bound {
	int found;               /* 0 none, 1 one value, -1 reported with different values */
	struct dec value;
	int inf, decimals;
};

/* The value of concept in (ctx, unit): every non-nil fact of it there
 * must carry the same value, else it is not bound (-1). A value that is
 * not a number, or without decimals, is not bound either: the other
 * checks report it. */
static struct bound find_value(xmlNodePtr root, const char *concept, const xmlChar *ctx, const xmlChar *unit)
{
	struct bound b = { 0 };
	for (xmlNodePtr n = root->children; n; n = n->next) {
		if (!xbrl_is(n, XBRL_NS, concept))
			continue;
		xmlChar *c = xmlGetNoNsProp(n, BAD_CAST "contextRef");
		xmlChar *u = xmlGetNoNsProp(n, BAD_CAST "unitRef");
		xmlChar *nil = xmlGetNsProp(n, BAD_CAST "nil", BAD_CAST XSI_NS);
		int here = c && u && xmlStrEqual(c, ctx) && xmlStrEqual(u, unit) &&
			   !(nil && (xmlStrEqual(nil, BAD_CAST "true") || xmlStrEqual(nil, BAD_CAST "1")));
		xmlFree(c);
		xmlFree(u);
		xmlFree(nil);
		if (!here)
			continue;
		xmlChar *text = xbrl_value_of(n);
		xmlChar *dec_attr = xmlGetNoNsProp(n, BAD_CAST "decimals");
		xmlChar *prec = xmlGetNoNsProp(n, BAD_CAST "precision");
		struct dec v;
		int inf = 0, d = 0;
		int ok = text && xbrl_parse_number(text, &v) == 0 && xbrl_fact_decimals(dec_attr, prec, v, &inf, &d) == 0;
		xmlFree(text);
		xmlFree(dec_attr);
		xmlFree(prec);
		if (!ok || (b.found == 1 && dec_cmp(b.value, v) != 0)) {
			b.found = -1;
			return b;
		}
		if (b.found == 0) {
			b = (struct bound){ 1, v, inf, d };
		} else if (!inf && (b.inf || d < b.decimals)) {
			b.inf = 0; /* the same value reported less precisely: bind the least precise */
			b.decimals = d;
		}
	}
	return b;
}

/* The interval of a bound value (Calculations 1.1, 2.3): [v - h, v + h]
 * with h half a unit of its last decimal (10^-d / 2); exact (INF): v. */
static int interval(const struct bound *b, struct dec *lo, struct dec *hi)
{
	if (b->inf) {
		*lo = *hi = b->value;
		return 0;
	}
	struct dec half = { 5, b->decimals + 1 };
	if (b->decimals + 1 < 0) {
		half.scale = 0;
		for (int i = 0; i < -(b->decimals + 1); i++)
			if (dec_mul(&half, half, dec_from_int(10)))
				return -1;
	}
	if (half.scale > DEC_MAX_SCALE)
		return -1;
	return dec_sub(lo, b->value, half) || dec_add(hi, b->value, half) ? -1 : 0;
}

/* Check one relationship in one context and unit. Consistent when the
 * interval of the total meets the sum of the items' intervals, each item
 * weighted (Calculations 1.1, round-to-nearest mode); for exact facts
 * (decimals INF, as billrun writes every number) that is equality. */
static int check_one(xmlNodePtr root, const struct relation *rel, const xmlChar *ctx, const xmlChar *unit,
		     struct xbrl_check *r)
{
	struct bound total = find_value(root, rel->total, ctx, unit);
	if (total.found != 1)
		return 0;
	struct bound items[MAX_ITEMS];
	int nbound = 0;
	for (int i = 0; i < rel->nitems; i++) {
		items[i] = find_value(root, rel->item[i], ctx, unit);
		if (items[i].found == -1)
			return 0; /* an inconsistent duplicate: Calculations 1.1 does not bind it */
		nbound += items[i].found == 1;
	}
	if (nbound == 0)
		return 0;
	char items_text[512] = "";
	size_t at = 0;
	for (int i = 0; i < rel->nitems && at < sizeof(items_text); i++)
		if (items[i].found == 1)
			at += (size_t)snprintf(items_text + at, sizeof(items_text) - at, "%s%s", at ? " + " : "",
					       rel->item[i]);

	struct dec tlo, thi, slo = dec_zero(), shi = dec_zero(), sum = dec_zero();
	int fail = interval(&total, &tlo, &thi);
	for (int i = 0; i < rel->nitems && !fail; i++) {
		if (items[i].found != 1)
			continue;
		struct dec lo, hi, wlo, whi, wv;
		fail |= interval(&items[i], &lo, &hi) || dec_mul(&wlo, lo, rel->weight[i]) ||
			dec_mul(&whi, hi, rel->weight[i]) || dec_mul(&wv, items[i].value, rel->weight[i]);
		if (fail)
			break;
		if (dec_sign(rel->weight[i]) < 0) {
			struct dec t = wlo;
			wlo = whi;
			whi = t;
		}
		fail |= dec_add(&slo, slo, wlo) || dec_add(&shi, shi, whi) || dec_add(&sum, sum, wv);
	}
	if (fail) {
		xbrl_problem(r, "calculation: %s in context '%s', unit '%s': the sum of %s cannot be computed exactly",
			     rel->total, ctx, unit, items_text);
		return 1;
	}
	struct dec lo = dec_cmp(tlo, slo) > 0 ? tlo : slo;
	struct dec hi = dec_cmp(thi, shi) < 0 ? thi : shi;
	if (dec_cmp(lo, hi) <= 0)
		return 0;
	char sum_text[64], total_text[64];
	dec_format(sum, sum_text, sizeof(sum_text));
	dec_format(total.value, total_text, sizeof(total_text));
	xbrl_problem(r,
		     "calculation: %s in context '%s', unit '%s' is %s, but %s make %s: the total is inconsistent "
		     "(XBRL Calculations 1.1)",
		     rel->total, ctx, unit, total_text, items_text, sum_text);
	return 1;
}

int xbrl_check_calculations(xmlDocPtr instance, struct xbrl_check *r)
{
	struct relation rels[MAX_RELS];
	int nrels = read_relations(rels);
	if (nrels < 0) {
		xbrl_problem(r, "the calculation linkbase built into billrun does not read");
		return 1;
	}
	xmlNodePtr root = xmlDocGetRootElement(instance);
	if (!root)
		return 0;
	int problems = 0;
	for (int i = 0; i < nrels; i++) {
		/* Each context and unit the total is reported in, once. */
		for (xmlNodePtr n = root->children; n; n = n->next) {
			if (!xbrl_is(n, XBRL_NS, rels[i].total))
				continue;
			xmlChar *ctx = xmlGetNoNsProp(n, BAD_CAST "contextRef");
			xmlChar *unit = xmlGetNoNsProp(n, BAD_CAST "unitRef");
			int first = ctx && unit;
			for (xmlNodePtr m = root->children; first && m != n; m = m->next) {
				if (!xbrl_is(m, XBRL_NS, rels[i].total))
					continue;
				xmlChar *c2 = xmlGetNoNsProp(m, BAD_CAST "contextRef");
				xmlChar *u2 = xmlGetNoNsProp(m, BAD_CAST "unitRef");
				if (c2 && u2 && xmlStrEqual(c2, ctx) && xmlStrEqual(u2, unit))
					first = 0;
				xmlFree(c2);
				xmlFree(u2);
			}
			if (first)
				problems += check_one(root, &rels[i], ctx, unit, r);
			xmlFree(ctx);
			xmlFree(unit);
		}
	}
	return problems;
}
