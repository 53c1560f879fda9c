/*
 * fuzz_control.c - libFuzzer target for the control-file parser: any file
 * is read or rejected with an input error and a message; never a crash or
 * a leak.
 */
#include "control.h"
#include "err.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	if (!path[0])
		snprintf(path, sizeof(path), "/tmp/billrun-fuzz-control.%d", (int)getpid());
	FILE *f = fopen(path, "wb");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	struct control_file c;
	struct err e;
	err_clear(&e);
	memset(&c, 0, sizeof(c));
	if (control_read(path, &c, &e) != 0 && !e.message[0])
		abort(); /* a rejection always says why */
	control_release(&c);
	return 0;
}
