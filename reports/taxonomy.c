/*
 * taxonomy.c - the taxonomy (reports/taxonomy/: the schema and its label,
 * presentation and calculation linkbases) built into the binary, so that
 * the xbrl step writes the very files its instances were checked against
 * and `billrun xbrl validate` never trusts a copy beside an instance. The
 * assembler includes each file's bytes (the build runs from the source
 * tree's root); a NUL follows them.
 */
#include "xbrl.h"

#include <string.h>

#define EMBED(sym, file)                                                                                        \
	__asm__(".section .rodata\n"                                                                            \
		".balign 16\n" #sym "_start:\n"                                                                 \
		".incbin \"reports/taxonomy/" file "\"\n" #sym "_end:\n"                                        \
		".byte 0\n"                                                                                     \
		".previous\n");                                                                                 \
	extern const char sym##_start[] __asm__(#sym "_start");                                                 \
	extern const char sym##_end[] __asm__(#sym "_end");

EMBED(billrun_taxonomy, "billrun-2026.xsd")
EMBED(billrun_lab_en, "billrun-2026-lab-en.xml")
EMBED(billrun_lab_de, "billrun-2026-lab-de.xml")
EMBED(billrun_pre, "billrun-2026-pre.xml")
EMBED(billrun_cal, "billrun-2026-cal.xml")

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
