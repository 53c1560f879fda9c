/*
 * xbrl_int.h - what the parts of the XBRL checker share (xbrl_check.c:
 * the rules on a parsed instance; xbrl_calc.c: the calculations;
 * xbrl_validate.c: reading and XSD-validating a file): the namespaces
 * and the helpers for facts' values. Not for use outside reports/xbrl_*.c.
 */
#ifndef BILLRUN_XBRL_INT_H
#define BILLRUN_XBRL_INT_H

#include "xbrl.h"

#include "dec.h"

#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#define XBRLI_NS "http://www.xbrl.org/2003/instance"
#define LINK_NS "http://www.xbrl.org/2003/linkbase"
#define XLINK_NS "http://www.w3.org/1999/xlink"
#define ISO4217_NS "http://www.xbrl.org/2003/iso4217"
#define XSI_NS "http://www.w3.org/2001/XMLSchema-instance"
#define XSD_NS "http://www.w3.org/2001/XMLSchema"

/* Append a problem (printf-style) to r; past XBRL_MAX_PROBLEMS it is
 * only counted. Cannot fail. */
void xbrl_problem(struct xbrl_check *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* libxml2's structured errors of level error and above, as problems of
 * the struct xbrl_check ctx ("line N: message"). */
void xbrl_collect_error(void *ctx, xmlErrorPtr error);

/* No network, ever: libxml2 set up with its no-network entity loader
 * (once per process), and catalog_file (NULL: $XML_CATALOG_FILES only)
 * loaded, through which the schemas are found. */
void xbrl_setup_offline(const char *catalog_file);

/* Whether n is the element {ns}name. */
static inline int xbrl_is(xmlNodePtr n, const char *ns, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns && xmlStrEqual(n->ns->href, BAD_CAST ns) &&
	       xmlStrEqual(n->name, BAD_CAST name);
}

/* The text of a fact, whitespace around it trimmed (xmlFree it; NULL out
 * of memory). */
xmlChar *xbrl_value_of(xmlNodePtr n);

/* A number's text as a decimal, fractional zeros at its end dropped
 * ("299.2400" is 299.24). 0, or -1 when it is not a decimal. */
int xbrl_parse_number(const xmlChar *text, struct dec *v);

/* The decimals a numeric fact's value v is good to: its decimals
 * attribute, or what its precision implies (XBRL 2.1 4.6.6); *inf for
 * INF. 0, or -1 when it cannot be told. */
int xbrl_fact_decimals(const xmlChar *decimals, const xmlChar *precision, struct dec v, int *inf, int *out);

/* v rounded half to even to d decimal places (d < 0: to 10^-d). 0 or -1. */
int xbrl_round_to(struct dec *out, struct dec v, int d);

#endif
