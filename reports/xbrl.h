/*
 * xbrl.h - the XBRL 2.1 report of a billing period: collecting its facts
 * from the database, writing the instance with libxml2, and checking an
 * instance (XSD validation against the taxonomy plus the rules XSD cannot
 * express). reports/README.md explains the design.
 *
 * The instance refers to the taxonomy by the relative location
 * XBRL_TAXONOMY_FILE, so the taxonomy is written beside it; the taxonomy
 * imports the XBRL 2.1 schemas by their official URLs, which an XML
 * catalog maps to local copies for offline validation.
 */
#ifndef BILLRUN_XBRL_H
#define BILLRUN_XBRL_H

#include <libxml/tree.h>
#include <stddef.h>
#include <stdint.h>

struct db;
struct err;

#define XBRL_TAXONOMY_FILE "billrun-2026.xsd"
#define XBRL_LABELS_EN_FILE "billrun-2026-lab-en.xml"
#define XBRL_LABELS_DE_FILE "billrun-2026-lab-de.xml"
#define XBRL_PRESENTATION_FILE "billrun-2026-pre.xml"
#define XBRL_CALCULATION_FILE "billrun-2026-cal.xml"
#define XBRL_NS "http://www.billrun.org/xbrl/2026"
#define XBRL_PREFIX "billrun"
#define XBRL_ISO4217_JSON "/usr/share/iso-codes/json/iso_4217.json"

/* The taxonomy schema built into billrun (reports/taxonomy/); never NULL. */
const char *xbrl_taxonomy_text(size_t *len);

/* Every file of the built-in taxonomy, the schema first, then its
 * linkbases (labels en and de, presentation, calculation): the files the
 * xbrl step writes beside each instance. */
struct xbrl_taxonomy_file {
	const char *name;        /* XBRL_*_FILE */
	const char *text;        /* its bytes, NUL-terminated */
	size_t len;
};
#define XBRL_TAXONOMY_FILES 5
const struct xbrl_taxonomy_file *xbrl_taxonomy_files(size_t *count);

/* One of them by name, or NULL. */
const char *xbrl_taxonomy_file_text(const char *name, size_t *len);

/* One fact of a report: value NULL is a nil fact. */
struct xbrl_value {
	const char *concept;     /* local name in the taxonomy */
	char currency[4];        /* monetary facts: ISO 4217 code; else "" */
	char *value;
};

struct xbrl_report {
	char entity[256], scheme[256];
	char start[11];          /* first day of the period */
	char end[11];            /* last day (the XBRL end date is inclusive) */
	struct xbrl_value *values;
	size_t nvalues, cap;
	char (*currencies)[4];   /* every currency reported, sorted */
	size_t ncurrencies;
};

/*
 * Collect the facts of the period [period_start, period_end) written by
 * run_id from the database (the fact table in xbrl.c): each source whose
 * table exists is queried; a fact whose source is not there yet, or does
 * not exist at all, is reported as zero. Amounts are reported for every
 * currency of the accounts and of the sources. Returns 0 and fills rep
 * (free with xbrl_report_release), or -1 with e set.
 */
int xbrl_collect(struct db *db, const char *period_start, const char *period_end, int64_t run_id,
		 const char *entity, const char *scheme, struct xbrl_report *rep, struct err *e);
void xbrl_report_release(struct xbrl_report *rep);

/* Add one fact (the value is copied; NULL = nil). 0, or -1 out of memory. */
int xbrl_report_add(struct xbrl_report *rep, const char *concept, const char *currency, const char *value);

/* The instance document of a report (the caller frees it with
 * xmlFreeDoc), or NULL with e set. */
xmlDocPtr xbrl_instance(const struct xbrl_report *rep, struct err *e);

/* Write a document to path (UTF-8, indented, fsynced). 0 or -1 (ERR_IO). */
int xbrl_save(xmlDocPtr doc, const char *path, struct err *e);

/* ---- checking ---- */

#define XBRL_MAX_PROBLEMS 64

struct xbrl_check {
	int facts;               /* facts checked */
	int schema_checked;      /* the XSD validation ran */
	int nproblems;
	char problems[XBRL_MAX_PROBLEMS][320];
};

/*
 * The set of ISO 4217 alphabetic codes, read from Debian's iso-codes
 * data (XBRL_ISO4217_JSON). Free with xbrl_iso4217_free.
 */
struct xbrl_iso4217;
struct xbrl_iso4217 *xbrl_iso4217_load(const char *path, struct err *e);
int xbrl_iso4217_has(const struct xbrl_iso4217 *set, const char *code);
void xbrl_iso4217_free(struct xbrl_iso4217 *set);

/*
 * The checks XSD cannot make, on a parsed instance and its taxonomy:
 * every contextRef and unitRef resolves; numeric facts carry decimals and
 * a unit (decimals, never precision as well), non-numeric ones neither;
 * each fact's context has the period type its concept declares (instant
 * or duration); durations end later than they start, compared as
 * instants (a date alone as an end is the end of that day); monetary
 * facts are in a unit of exactly one ISO 4217 currency, and every
 * iso4217: measure is a current ISO 4217 code; no concept is reported
 * twice with different values in s-equal contexts (entity, segment,
 * scenario and period; XML compared by namespace, not prefix) and u-equal
 * units (numbers compared as decimals at the lower of their decimals).
 * Problems are appended to r. Returns the number of problems found here
 * (0 = the instance passes).
 */
int xbrl_check_doc(xmlDocPtr instance, xmlDocPtr taxonomy, const struct xbrl_iso4217 *iso, struct xbrl_check *r);

/*
 * The calculations of the built-in calculation linkbase
 * (billrun-2026-cal.xml, reports/xbrl_calc.c): for every total of a
 * summation-item relationship reported in a context and unit where at
 * least one of its items is reported too, the weighted sum of the items
 * must agree with the total as XBRL Calculations 1.1 says in its
 * round-to-nearest mode: the total's interval (its value plus or minus
 * half a unit of its last decimal) meets the sum of the items' intervals.
 * Exact facts (decimals INF, as billrun writes every number) must be
 * equal. Items are bound by contextRef and unitRef; a total or item reported twice with
 * different values (the duplicate check's business) is not bound, as
 * Calculations 1.1 says. Each inconsistency is a problem naming the
 * total's concept, its context and unit, the sum and the total. Returns
 * the number of problems found here.
 */
int xbrl_check_calculations(xmlDocPtr instance, struct xbrl_check *r);

/*
 * Check an instance file: XSD validation against the taxonomy built into
 * billrun (every schemaRef must name XBRL_TAXONOMY_FILE; the file of that
 * name in the instance's folder, and any local file a schemaRef names,
 * must be the built-in taxonomy byte for byte when they exist; the XBRL
 * 2.1 schemas through the XML catalog, catalog_file or else
 * $XML_CATALOG_FILES, never the network), then xbrl_check_doc. Returns 0
 * when valid; -1 with e set:
 * ERR_INPUT "... is not a valid XBRL instance" (problems in r), ERR_IO or
 * ERR_CONFIG when a file or the schemas cannot be read.
 */
int xbrl_validate_file(const char *path, const char *catalog_file, const char *iso_path, struct xbrl_check *r,
		       struct err *e);

#endif
