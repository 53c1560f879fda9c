/*
 * fs.h - small file-system helpers shared by the runner, the jobs and the
 * embedded cluster.
 */
#ifndef BILLRUN_FS_H
#define BILLRUN_FS_H

#include <sys/types.h>

struct err;

/* Create a directory and its missing parents (mkdir -p), each with
 * `mode`; an existing one is fine. -1 with e set (ERR_IO, naming the
 * directory that could not be made) on failure. */
int fs_mkdirs(const char *path, mode_t mode, struct err *e);

#endif
