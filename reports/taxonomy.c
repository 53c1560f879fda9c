/*
 * taxonomy.c - the taxonomy schema (reports/taxonomy/billrun-2026.xsd)
 * built into the binary, so that the xbrl step writes the very schema its
 * instances were checked against. The assembler includes the file's bytes
 * (the build runs from the source tree's root); a NUL follows them.
 */
#include "xbrl.h"

__asm__(".section .rodata\n"
	".balign 16\n"
	"billrun_taxonomy_start:\n"
	".incbin \"reports/taxonomy/billrun-2026.xsd\"\n"
	"billrun_taxonomy_end:\n"
	".byte 0\n"
	".previous\n");

extern const char billrun_taxonomy_start[] __asm__("billrun_taxonomy_start");
extern const char billrun_taxonomy_end[] __asm__("billrun_taxonomy_end");

const char *xbrl_taxonomy_text(size_t *len)
{
	if (len)
		*len = (size_t)(billrun_taxonomy_end - billrun_taxonomy_start);
	return billrun_taxonomy_start;
}
