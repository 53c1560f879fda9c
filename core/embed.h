/*
 * embed.h - a file's bytes built into the binary: BILLRUN_EMBED(sym,
 * "path") makes sym_start[] and sym_end[] bound the bytes of path (from
 * the source tree's root, where the build runs), followed by a NUL, with
 * the assembler's .incbin. The Makefile must make the object depend on
 * the file. Used for the XBRL taxonomy (reports/taxonomy.c) and the PDF/A
 * font and colour profile (reports/pdfa.c).
 */
#ifndef BILLRUN_EMBED_H
#define BILLRUN_EMBED_H

#define BILLRUN_EMBED(sym, path)                                                                                \
	__asm__(".section .rodata\n"                                                                            \
		".balign 16\n" #sym "_start:\n"                                                                 \
		".incbin \"" path "\"\n" #sym "_end:\n"                                                         \
		".byte 0\n"                                                                                     \
		".previous\n");                                                                                 \
	extern const char sym##_start[] __asm__(#sym "_start");                                                 \
	extern const char sym##_end[] __asm__(#sym "_end");

#endif
