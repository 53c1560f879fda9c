/*
 * fs.h - small file-system helpers shared by the runner, the jobs and the
 * embedded cluster: making folders, naming a failed write the way an
 * operator can act on, and writing a file under a temporary name that is
 * removed when the write fails.
 */
#ifndef BILLRUN_FS_H
#define BILLRUN_FS_H

#include <stdio.h>
#include <sys/types.h>

struct err;

/* Create a directory and its missing parents (mkdir -p), each with
 * `mode`; an existing one is fine. -1 with e set (ERR_IO, naming the
 * directory that could not be made, see fs_error) on failure. */
int fs_mkdirs(const char *path, mode_t mode, struct err *e);

/* The system's text of errnum and its symbolic name, "No space left on
 * device (ENOSPC)", into buf; returns buf. Never fails. */
const char *fs_errno_text(int errnum, char *buf, size_t size);

/*
 * Fill e (ERR_IO) for an operation on path that failed with errnum:
 * "could not VERB 'PATH': <strerror> (<NAME>)" (verb e.g. "write", "create
 * directory", "rename ... to"), with a hint naming the cause for the
 * errors an operator fixes outside billrun: ENOSPC (the file system is
 * full), EDQUOT (the quota), EROFS (mounted read-only), EACCES and EPERM
 * (billrun's user may not write there), EIO. Returns -1.
 */
int fs_error(struct err *e, const char *verb, const char *path, int errnum);

/* fs_error(e, "write", path, errnum). Returns -1. */
int fs_write_error(struct err *e, const char *path, int errnum);

/*
 * A file written through stdio whose every failed write is seen: the
 * stream's writes go to the file descriptor directly, and the first error
 * (ENOSPC at the 300th kB, say) is kept, so that closing names it even
 * though stdio would only say "an error happened". The stream points at
 * its struct: keep it in place (on the stack, say) until it is closed.
 */
struct fs_out {
	FILE *f;            /* write to this */
	int fd;
	int errnum;         /* the first write's error, or 0 */
	char path[4400];    /* the file being written */
};

/* Create (or truncate) path and open o on it. -1 with e set (fs_error). */
int fs_out_open(struct fs_out *o, const char *path, struct err *e);

/*
 * Flush, fsync and close the file. On any failure, or when a write
 * failed before, the file is removed and e names the first error and the
 * path (fs_write_error). Returns 0 or -1; o is closed either way.
 */
int fs_out_close(struct fs_out *o, struct err *e);

/* fs_out_close, then rename the file to final (the caller wrote to
 * final's temporary name). On failure the temporary file is removed. */
int fs_out_commit(struct fs_out *o, const char *final, struct err *e);

/* Close and remove the file, after an error of the caller's. NULL-safe;
 * a closed o is fine. */
void fs_out_abort(struct fs_out *o);

/* Write len bytes to path (created or truncated), fsynced; on failure
 * the file is removed and e names the error. */
int fs_write_file(const char *path, const void *data, size_t len, struct err *e);

#endif
