/*
 * fuzz_config.c - libFuzzer target for the configuration loader and the
 * DAG checks: any file is loaded or rejected with an error; never a crash.
 */
#include "cfg.h"
#include "dag.h"
#include "err.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int any_job(const char *name)
{
	return strcmp(name, "noop") == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	if (!path[0])
		snprintf(path, sizeof(path), "/tmp/billrun-fuzz-config.%d", (int)getpid());
	FILE *f = fopen(path, "wb");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	struct config cfg;
	struct err e;
	if (cfg_load(&cfg, path, 1, &e) == 0) {
		struct dag_set set;
		if (dag_set_load(&set, &cfg, any_job, &e) == 0 && set.ndags > 0) {
			FILE *null = fopen("/dev/null", "w");
			dag_print(&set.dags[0], null);
			dag_print_dot(&set.dags[0], null);
			fclose(null);
		}
		dag_set_release(&set);
	} else if (e.kind != ERR_CONFIG || !e.message[0]) {
		abort(); /* every rejection is a config error with a message */
	}
	cfg_release(&cfg);
	return 0;
}
