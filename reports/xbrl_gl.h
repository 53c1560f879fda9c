/*
 * xbrl_gl.h - the journal of a period as an XBRL GL instance (XBRL Global
 * Ledger 2016-12-01: gl-cor, gl-bus, gl-muc), and checking one: XSD
 * validation offline through an XML catalog, and the balance of every
 * entry. reports/README.md, "The journal", explains the instance.
 *
 * The instance names the GL entry point (palette case-c-b-m, which holds
 * gl-cor, gl-bus and gl-muc) by the URL XBRL_GL_SCHEMA_URL. XBRL
 * International publishes no location for the 2016 working draft that
 * billrun could rely on, so the URL sits under the GL namespaces' own
 * prefix; reports/xbrl-gl-catalog.xml maps it (and the XBRL 2.1 schemas,
 * through ../shared/xbrl/catalog.xml) to the copies in ../shared/xbrl.
 */
#ifndef BILLRUN_XBRL_GL_H
#define BILLRUN_XBRL_GL_H

#include "xbrl.h"

struct err;
struct journal;

#define XBRL_GL_COR_NS "http://www.xbrl.org/int/gl/cor/2016-12-01"
#define XBRL_GL_BUS_NS "http://www.xbrl.org/int/gl/bus/2016-12-01"
#define XBRL_GL_MUC_NS "http://www.xbrl.org/int/gl/muc/2016-12-01"
#define XBRL_GL_SCHEMA_URL "http://www.xbrl.org/int/gl/2016-12-01/plt/case-c-b-m/gl-plt-all-2016-12-01.xsd"

/*
 * Write the journal to path as an XBRL GL instance (UTF-8, indented,
 * fsynced): one context (the period's last day, the entity of
 * xbrl.entity), a unit per currency and xbrli:pure, and one
 * gl-cor:accountingEntries with its documentInfo, entityInformation and
 * a gl-cor:entryHeader per entry, a gl-cor:entryDetail per line. The same
 * journal always gives the same bytes (no timestamp). Streamed
 * (xmlTextWriter): memory does not grow with the number of entries.
 * Returns 0, or -1 with e set (ERR_IO naming path; the file is removed).
 */
int xbrl_gl_write(const struct journal *j, const char *path, struct err *e);

/* Whether the XML file at path is an XBRL GL instance: an xbrli:xbrl
 * whose children include a gl-cor:accountingEntries. 0 for anything
 * else, also a file that cannot be read or parsed. */
int xbrl_gl_is_instance(const char *path);

/*
 * Check an XBRL GL instance file:
 *   1. every link:schemaRef names XBRL_GL_SCHEMA_URL (there is one);
 *   2. XSD validation against the GL schemas loaded from that URL through
 *      the XML catalog (catalog_file, else $XML_CATALOG_FILES), never the
 *      network;
 *   3. every entryDetail has an amount and a debitCreditCode; every
 *      amount's unitRef names a unit of one iso4217 currency, the same
 *      for all of an entry's amounts; and every entry balances: its
 *      debits add up to its credits, exactly (decimals, never floating
 *      point). An entry is named by its entryNumber and document number.
 * Returns 0 when valid (r->facts counts the entries); -1 with e set:
 * ERR_INPUT "... is not a balanced XBRL GL journal" (problems in r),
 * ERR_IO when the file cannot be read, ERR_CONFIG when the schemas cannot
 * be loaded.
 */
int xbrl_gl_validate_file(const char *path, const char *catalog_file, struct xbrl_check *r, struct err *e);

#endif
