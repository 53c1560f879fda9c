/*
 * taxonomy.c - the taxonomy (reports/taxonomy/: the schema and its label,
 * presentation and calculation linkbases) built into the binary, so that
 * the xbrl step writes the very files its instances were checked against
 * and `billrun xbrl validate` never trusts a copy beside an instance. The
 * assembler includes each file's bytes (the build runs from the source
 * tree's root); a NUL follows them.
 */
#include "xbrl.h"
#include "embed.h"

#include <string.h>

BILLRUN_EMBED(billrun_taxonomy, "reports/taxonomy/billrun-2026.xsd")
BILLRUN_EMBED(billrun_lab_en, "reports/taxonomy/billrun-2026-lab-en.xml")
BILLRUN_EMBED(billrun_lab_de, "reports/taxonomy/billrun-2026-lab-de.xml")
BILLRUN_EMBED(billrun_pre, "reports/taxonomy/billrun-2026-pre.xml")
BILLRUN_EMBED(billrun_cal, "reports/taxonomy/billrun-2026-cal.xml")

static struct xbrl_taxonomy_file files[5];

const struct xbrl_taxonomy_file *xbrl_taxonomy_files(size_t *count)
{
	if (!files[0].name) {
		const struct {
			const char *name, *start, *end;
		} t[] = {
			{ XBRL_TAXONOMY_FILE, billrun_taxonomy_start, billrun_taxonomy_end },
			{ XBRL_LABELS_EN_FILE, billrun_lab_en_start, billrun_lab_en_end },
			{ XBRL_LABELS_DE_FILE, billrun_lab_de_start, billrun_lab_de_end },
			{ XBRL_PRESENTATION_FILE, billrun_pre_start, billrun_pre_end },
			{ XBRL_CALCULATION_FILE, billrun_cal_start, billrun_cal_end },
		};
		for (size_t i = 0; i < 5; i++)
			files[i] = (struct xbrl_taxonomy_file){ t[i].name, t[i].start, (size_t)(t[i].end - t[i].start) };
	}
	*count = 5;
	return files;
}

const char *xbrl_taxonomy_file_text(const char *name, size_t *len)
{
	size_t n;
	const struct xbrl_taxonomy_file *f = xbrl_taxonomy_files(&n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(f[i].name, name) == 0) {
			if (len)
				*len = f[i].len;
			return f[i].text;
		}
	return NULL;
}

const char *xbrl_taxonomy_text(size_t *len)
{
	return xbrl_taxonomy_file_text(XBRL_TAXONOMY_FILE, len);
}
