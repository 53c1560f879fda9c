/*
 * xbrl_step.c - the xbrl step: the period's XBRL 2.1 instance and the
 * taxonomy it refers to (the schema and its linkbases), written into the
 * run's output folder (xbrl/) under temporary names and renamed when the
 * done mark commits. The instance passes billrun's own checks
 * (xbrl_check_doc, and the calculations of the built-in calculation
 * linkbase) before it is kept. The journal beside it (XBRL GL and CSV)
 * is xbrl_journal.c.
 */
#include "cfg.h"
#include "db.h"
#include "err.h"
#include "fs.h"
#include "job.h"
#include "log.h"
#include "xbrl.h"
#include "xbrl_journal.h"

#include <errno.h>
#include <libxml/parser.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Check the instance against the taxonomy built into billrun. */
static int self_check(xmlDocPtr doc, struct err *e)
{
	size_t len = 0;
	const char *text = xbrl_taxonomy_text(&len);
	xmlDocPtr tax = xmlReadMemory(text, (int)len, XBRL_TAXONOMY_FILE, NULL, XML_PARSE_NONET);
	if (!tax)
		return err_set(e, ERR_INTERNAL, "the built-in XBRL taxonomy does not parse");
	struct xbrl_iso4217 *iso = xbrl_iso4217_load(XBRL_ISO4217_JSON, e);
	if (!iso) {
		xmlFreeDoc(tax);
		return -1;
	}
	static struct xbrl_check r; /* 20 kB: not on the stack */
	memset(&r, 0, sizeof(r));
	int n = xbrl_check_doc(doc, tax, iso, &r);
	n += xbrl_check_calculations(doc, &r);
	xbrl_iso4217_free(iso);
	xmlFreeDoc(tax);
	if (n == 0)
		return 0;
	err_set(e, ERR_INTERNAL, "the XBRL instance fails billrun's own checks: %s", r.problems[0]);
	return err_detail(e, "%d problems in all", n);
}

static int xbrl_run(struct job_ctx *ctx, struct err *e)
{
	char dir[4096], inst[4200], inst_tmp[4300], tax[XBRL_TAXONOMY_FILES][4200], tax_tmp[XBRL_TAXONOMY_FILES][4300];
	size_t ntax = 0;
	const struct xbrl_taxonomy_file *tf = xbrl_taxonomy_files(&ntax);
	struct xbrl_report rep;
	xmlDocPtr doc = NULL;
	int have_report = 0;

	snprintf(dir, sizeof(dir), "%s/xbrl", ctx->output_dir);
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return fs_error(e, "create directory", dir, errno);
	snprintf(inst, sizeof(inst), "%s/billrun-%s-%s.xbrl", dir, ctx->dag, ctx->period_start);
	snprintf(inst_tmp, sizeof(inst_tmp), "%s.tmp", inst);
	for (size_t i = 0; i < ntax; i++) {
		snprintf(tax[i], sizeof(tax[i]), "%s/%s", dir, tf[i].name);
		snprintf(tax_tmp[i], sizeof(tax_tmp[i]), "%s.tmp", tax[i]);
	}

	/* One snapshot for every figure; the done mark commits with it. */
	if (db_begin(ctx->db, e))
		return -1;
	if (db_exec(ctx->db, e, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", 0, NULL) ||
	    xbrl_collect(ctx->db, ctx->period_start, ctx->period_end, ctx->run_id, ctx->cfg->xbrl_entity,
			 ctx->cfg->xbrl_entity_scheme, &rep, e))
		goto fail;
	have_report = 1;
	doc = xbrl_instance(&rep, e);
	if (!doc || self_check(doc, e) || xbrl_save(doc, inst_tmp, e))
		goto fail;
	for (size_t i = 0; i < ntax; i++)
		if (fs_write_file(tax_tmp[i], tf[i].text, tf[i].len, e) ||
		    job_rename_after_commit(ctx, tax_tmp[i], tax[i], e))
			goto fail;
	if (job_rename_after_commit(ctx, inst_tmp, inst, e))
		goto fail;
	/* The journal behind the totals, from the same snapshot. */
	if (xbrl_journal_write(ctx, dir, &rep, e))
		goto fail;
	log_info("xbrl: %zu facts in %zu currenc%s for %s to %s in '%s'", rep.nvalues, rep.ncurrencies,
		 rep.ncurrencies == 1 ? "y" : "ies", rep.start, rep.end, inst);
	xmlFreeDoc(doc);
	xbrl_report_release(&rep);
	return job_commit_done(ctx, e);
fail:
	db_rollback(ctx->db);
	xmlFreeDoc(doc);
	if (have_report)
		xbrl_report_release(&rep);
	unlink(inst_tmp);
	for (size_t i = 0; i < ntax; i++)
		unlink(tax_tmp[i]);
	return err_prefix(e, "xbrl: ");
}

const struct job job_xbrl = { "xbrl", "the period's XBRL 2.1 report (output folder xbrl/)", xbrl_run };
