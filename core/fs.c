/*
 * fs.c - small file-system helpers (see fs.h).
 */
#include "fs.h"
#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int fs_mkdirs(const char *path, mode_t mode, struct err *e)
{
	char tmp[4096];

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return err_set(e, ERR_IO, "directory name too long: '%.64s...'", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) != 0 && errno != EEXIST)
			return err_set(e, ERR_IO, "could not create directory '%s': %s", tmp, strerror(errno));
		*p = '/';
	}
	if (mkdir(tmp, mode) != 0 && errno != EEXIST)
		return err_set(e, ERR_IO, "could not create directory '%s': %s", tmp, strerror(errno));
	return 0;
}
