/*
 * spool.h - the spool directory as the ingest step sees it: which files
 * are there, which of them are ready to be taken, and the move of an
 * ingested file to the processed folder.
 *
 * A file is ready when it is *settled*: its size and modification time
 * have not changed for ingest.settle_time, and no process has it open for
 * writing. The second is looked up in /proc: every process's open file
 * descriptors (/proc/PID/fd) on the same device and inode, with the
 * access mode of /proc/PID/fdinfo/FD's flags. /proc shows another user's
 * descriptors only to root (or a process with CAP_SYS_PTRACE): run as its
 * own user, billrun sees its own user's writers only, and relies on the
 * settle time for the others. A process that keeps a file open for
 * writing keeps it in the spool.
 */
#ifndef BILLRUN_SPOOL_H
#define BILLRUN_SPOOL_H

#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

struct err;

/* One data file of the spool, as listed. */
struct spool_entry {
	char *name;
	struct stat st;
	int writer_pid;      /* a process that has it open for writing, or 0 */
};

/*
 * The regular files of dir, in byte order of their names; hidden files
 * (".name", still being written by convention) and control files
 * ("*.ctl") are not data. Returns 0 (free with spool_free), or -1 with e
 * set (the directory cannot be read).
 */
int spool_list(const char *dir, struct spool_entry **out, int *count, struct err *e);
void spool_free(struct spool_entry *entries, int count);

/*
 * Milliseconds since st's modification time, from the clock now (a
 * CLOCK_REALTIME reading); negative for a time in the future. A file is
 * settled when this is at least ingest.settle_time.
 */
int64_t spool_age_ms(const struct stat *st, const struct timespec *now);

/*
 * Set writer_pid of each entry that some process has open for writing,
 * by one pass over /proc. Returns how many processes' descriptors could
 * not be read (another user's, without root), for the log; never fails.
 */
int spool_find_writers(struct spool_entry *entries, int count);

/* The same file (device and inode), unchanged in size and modification
 * time? 1 or 0. */
int spool_same(const struct stat *a, const struct stat *b);

/* Is st's file the one fd has open, unchanged (spool_same)? 1, 0
 * (changed, or fstat failed). */
int spool_unchanged(int fd, const struct stat *st);

/*
 * Move src into dst_dir under name, never replacing a different file: a
 * name taken there gets ".SHA12" (the first 12 digits of sha) appended; a
 * file already there under that name is this one moved before (src is
 * then removed). Returns 0, or -1 with e set naming the paths and the
 * cause as the system gives it and by its name ("No space left on device
 * (ENOSPC)"); nothing is left behind in dst_dir then.
 */
int spool_move(const char *src, const char *dst_dir, const char *name, const char *sha, struct err *e);

#endif
