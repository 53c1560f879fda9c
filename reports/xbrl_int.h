/*
 * xbrl_int.h - what the two halves of the XBRL checker share
 * (xbrl_check.c: the rules on a parsed instance; xbrl_validate.c: reading
 * and XSD-validating a file): the namespaces and two helpers. Not for use
 * outside reports/xbrl_*.c.
 */
#ifndef BILLRUN_XBRL_INT_H
#define BILLRUN_XBRL_INT_H

#include "xbrl.h"

#include <libxml/tree.h>

#define XBRLI_NS "http://www.xbrl.org/2003/instance"
#define LINK_NS "http://www.xbrl.org/2003/linkbase"
#define XLINK_NS "http://www.w3.org/1999/xlink"
#define ISO4217_NS "http://www.xbrl.org/2003/iso4217"
#define XSI_NS "http://www.w3.org/2001/XMLSchema-instance"
#define XSD_NS "http://www.w3.org/2001/XMLSchema"

/* Append a problem (printf-style) to r; past XBRL_MAX_PROBLEMS it is
 * only counted. Cannot fail. */
void xbrl_problem(struct xbrl_check *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Whether n is the element {ns}name. */
static inline int xbrl_is(xmlNodePtr n, const char *ns, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns && xmlStrEqual(n->ns->href, BAD_CAST ns) &&
	       xmlStrEqual(n->name, BAD_CAST name);
}

#endif
