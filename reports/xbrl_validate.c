/*
 * xbrl_validate.c - checking an XBRL 2.1 instance file (xbrl_validate_file,
 * see xbrl.h): offline XSD validation with libxml2 against the taxonomy
 * built into billrun, the taxonomy copies the instance brings along (the
 * schema and its linkbases), then the rules XSD cannot express
 * (xbrl_check.c) and the calculations (xbrl_calc.c).
 */
#include "xbrl.h"
#include "xbrl_int.h"
#include "err.h"
#include "hash.h"

#include <libxml/catalog.h>
#include <libxml/parser.h>
#include <libxml/uri.h>
#include <libxml/xmlIO.h>
#include <libxml/xmlschemas.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- reading files, offline ---- */

void xbrl_collect_error(void *ctx, xmlErrorPtr error)
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
		xbrl_problem(r, "line %d: %s", error->line, msg);
	else
		xbrl_problem(r, "%s%s%s", error->file ? error->file : "", error->file ? ": " : "", msg);
}

static int setup_done;

/* No network, ever: the XBRL 2.1 schemas are found through the catalog. */
void xbrl_setup_offline(const char *catalog_file)
{
	if (!setup_done) {
		xmlInitParser();
		xmlSetExternalEntityLoader(xmlNoNetExternalEntityLoader);
		setup_done = 1;
	}
	if (catalog_file)
		xmlLoadCatalog(catalog_file);
}

/* The folder of the instance at path, with its trailing slash ("" for
 * a file in the current folder), into buf. */
static void instance_folder(const char *path, char *buf, size_t size)
{
	const char *slash = strrchr(path, '/');
	size_t len = slash ? (size_t)(slash - path) + 1 : 0;
	if (len >= size)
		len = size - 1;
	memcpy(buf, path, len);
	buf[len] = '\0';
}

/* A taxonomy file an instance brings along (file, as found) must be the
 * taxonomy built into billrun byte for byte; none is fine. checked holds
 * the files compared so far (realpath), so that one file named twice is
 * reported once. */
static void check_taxonomy_copy(const char *file, const char *builtin, size_t builtin_len, char checked[][4096],
				int *nchecked, struct xbrl_check *r)
{
	if (access(file, F_OK) != 0)
		return;
	char real[4096];
	if (!realpath(file, real))
		snprintf(real, sizeof(real), "%s", file);
	for (int i = 0; i < *nchecked; i++)
		if (strcmp(checked[i], real) == 0)
			return;
	if (*nchecked < 8)
		snprintf(checked[(*nchecked)++], sizeof(checked[0]), "%s", real);
	char *side = NULL;
	size_t side_len = 0;
	struct err why;
	err_clear(&why);
	if (hash_read_file(file, &side, &side_len, &why)) {
		xbrl_problem(r, "the taxonomy file '%s' beside the instance cannot be read: %s", file, why.message);
	} else if (side_len != builtin_len || memcmp(side, builtin, builtin_len) != 0) {
		char have[SHA256_HEX_LEN + 1], want[SHA256_HEX_LEN + 1];
		hash_sha256_hex(side, side_len, have);
		hash_sha256_hex(builtin, builtin_len, want);
		xbrl_problem(r,
			"the taxonomy file '%s' beside the instance differs from the one built into billrun "
			"(SHA-256 %.12s, built in %.12s): it is not billrun's taxonomy",
			file, have, want);
	}
	free(side);
}

/*
 * The instance is checked against the taxonomy built into billrun, never
 * a file an editor could have changed. So each link:schemaRef must name
 * billrun's taxonomy (by its file name: relative, as billrun writes it,
 * or a URL), and the taxonomy files it brings along must be the built-in
 * ones byte for byte: the schema and each linkbase of its name in the
 * instance's folder (the xbrl step writes them there for other tools),
 * and any local file a schemaRef names. The folder is taken from path as a string: a URI
 * built from it would not survive a space in the name. Returns the number
 * of schemaRefs (0: none, which the caller refuses).
 */
static int check_schema_refs(xmlDocPtr doc, const char *path, const char *builtin, size_t builtin_len,
			     struct xbrl_check *r)
{
	char folder[4096], file[8192], checked[8][4096];
	int nchecked = 0, nrefs = 0;
	instance_folder(path, folder, sizeof(folder));
	size_t nfiles = 0;
	const struct xbrl_taxonomy_file *tf = xbrl_taxonomy_files(&nfiles);
	for (size_t i = 0; i < nfiles; i++) {
		snprintf(file, sizeof(file), "%s%s", folder, tf[i].name);
		check_taxonomy_copy(file, tf[i].text, tf[i].len, checked, &nchecked, r);
	}

	xmlNodePtr root = xmlDocGetRootElement(doc);
	for (xmlNodePtr n = root ? root->children : NULL; n; n = n->next) {
		if (!xbrl_is(n, LINK_NS, "schemaRef"))
			continue;
		nrefs++;
		xmlChar *href = xmlGetNsProp(n, BAD_CAST "href", BAD_CAST XLINK_NS);
		char *local = href ? xmlURIUnescapeString((const char *)href, 0, NULL) : NULL;
		if (!local) {
			xbrl_problem(r, "line %ld: link:schemaRef has no xlink:href", xmlGetLineNo(n));
			xmlFree(href);
			continue;
		}
		local[strcspn(local, "#?")] = '\0';
		const char *slash = strrchr(local, '/');
		const char *base = slash ? slash + 1 : local;
		/* a URL's scheme: letters, digits, + - . then ':' (RFC 3986 3.1) */
		size_t scheme = strspn(local, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.");
		int is_url = scheme > 0 && local[scheme] == ':';
		if (strcmp(base, XBRL_TAXONOMY_FILE) != 0) {
			xbrl_problem(r, "line %ld: link:schemaRef names '%s', not billrun's taxonomy '%s'", xmlGetLineNo(n),
				(const char *)href, XBRL_TAXONOMY_FILE);
		} else if (!is_url || strncmp(local, "file:", 5) == 0) {
			const char *name = local;
			if (is_url) /* file:///x or file:/x */
				for (name += 5; name[0] == '/' && name[1] == '/'; name++)
					;
			if (name[0] == '/')
				snprintf(file, sizeof(file), "%s", name);
			else
				snprintf(file, sizeof(file), "%s%s", folder, name);
			check_taxonomy_copy(file, builtin, builtin_len, checked, &nchecked, r);
		}
		xmlFree(local);
		xmlFree(href);
	}
	return nrefs;
}

int xbrl_validate_file(const char *path, const char *catalog_file, const char *iso_path, struct xbrl_check *r,
		       struct err *e)
{
	xmlDocPtr doc = NULL, tax = NULL;
	xmlSchemaParserCtxtPtr pctx = NULL;
	xmlSchemaPtr schema = NULL;
	xmlSchemaValidCtxtPtr vctx = NULL;
	struct xbrl_iso4217 *iso = NULL;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	if (access(path, R_OK) != 0)
		return err_set(e, ERR_IO, "could not read '%s': %s", path, strerror(errno));
	xbrl_setup_offline(catalog_file);
	iso = xbrl_iso4217_load(iso_path ? iso_path : XBRL_ISO4217_JSON, e);
	if (!iso)
		return -1;
	xmlSetStructuredErrorFunc(r, xbrl_collect_error);
	doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
	if (!doc) {
		err_set(e, ERR_INPUT, "'%s' is not a well-formed XML document", path);
		if (r->nproblems)
			err_detail(e, "%s", r->problems[0]);
		goto out;
	}
	size_t builtin_len = 0;
	const char *builtin = xbrl_taxonomy_text(&builtin_len);
	if (check_schema_refs(doc, path, builtin, builtin_len, r) == 0) {
		err_set(e, ERR_INPUT, "'%s' is not a valid XBRL instance: it has no link:schemaRef to its taxonomy", path);
		goto out;
	}
	struct xbrl_check load = { 0 };
	xmlSetStructuredErrorFunc(&load, xbrl_collect_error);
	tax = xmlReadMemory(builtin, (int)builtin_len, XBRL_TAXONOMY_FILE, NULL, XML_PARSE_NONET);
	pctx = tax ? xmlSchemaNewMemParserCtxt(builtin, (int)builtin_len) : NULL;
	if (pctx)
		xmlSchemaSetParserStructuredErrors(pctx, xbrl_collect_error, &load);
	schema = pctx ? xmlSchemaParse(pctx) : NULL;
	xmlSetStructuredErrorFunc(r, xbrl_collect_error);
	if (!schema) {
		err_set(e, ERR_CONFIG, "could not load billrun's taxonomy or the XBRL 2.1 schemas it imports");
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
	xmlSchemaSetValidStructuredErrors(vctx, xbrl_collect_error, r);
	int invalid = xmlSchemaValidateDoc(vctx, doc);
	r->schema_checked = 1;
	if (invalid && r->nproblems == 0)
		xbrl_problem(r, "the instance does not validate against the taxonomy schema");
	xbrl_check_doc(doc, tax, iso, r);
	xbrl_check_calculations(doc, r);
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
	xbrl_iso4217_free(iso);
	return rc;
}
