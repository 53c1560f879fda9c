/*
 * spool.c - listing the spool, telling settled files from those still
 * being written, and the move to processed/ (see spool.h).
 */
#include "spool.h"
#include "err.h"
#include "fs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- listing ---- */

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct spool_entry *)a)->name, ((const struct spool_entry *)b)->name);
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

void spool_free(struct spool_entry *entries, int count)
{
	for (int i = 0; i < count; i++)
		free(entries[i].name);
	free(entries);
}

int spool_list(const char *dir, struct spool_entry **out, int *count, struct err *e)
{
	struct spool_entry *list = NULL;
	size_t cap = 0;
	int n = 0;
	char why[128];

	*out = NULL;
	*count = 0;
	DIR *d = opendir(dir);
	if (!d) {
		err_set(e, ERR_IO, "could not open spool directory '%s': %s", dir,
			fs_errno_text(errno, why, sizeof(why)));
		return err_hint(e, "create it, or set spool.dir");
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || ends_with(de->d_name, ".ctl"))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode))
			continue;
		if ((size_t)n == cap) {
			cap = cap ? cap * 2 : 64;
			struct spool_entry *p = realloc(list, cap * sizeof(*p));
			if (!p)
				goto oom;
			list = p;
		}
		list[n].name = strdup(de->d_name);
		if (!list[n].name)
			goto oom;
		list[n].st = st;
		list[n].writer_pid = 0;
		n++;
	}
	closedir(d);
	if (n)
		qsort(list, (size_t)n, sizeof(*list), by_name);
	*out = list;
	*count = n;
	return 0;
oom:
	closedir(d);
	spool_free(list, n);
	return err_set(e, ERR_INTERNAL, "out of memory listing '%s'", dir);
}

int64_t spool_age_ms(const struct stat *st, const struct timespec *now)
{
	return ((int64_t)now->tv_sec - (int64_t)st->st_mtim.tv_sec) * 1000 +
	       ((int64_t)now->tv_nsec - (int64_t)st->st_mtim.tv_nsec) / 1000000;
}

int spool_same(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

int spool_unchanged(int fd, const struct stat *st)
{
	struct stat now;
	return fstat(fd, &now) == 0 && spool_same(&now, st);
}

/* ---- writers, from /proc ---- */

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

/* Is descriptor fd of process pid open for writing? From the octal
 * "flags:" line of /proc/PID/fdinfo/FD. */
static int fd_writes(const char *pid, const char *fd)
{
	char path[128], buf[512];
	snprintf(path, sizeof(path), "/proc/%s/fdinfo/%s", pid, fd);
	int f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return 0;
	ssize_t n = read(f, buf, sizeof(buf) - 1);
	close(f);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	const char *flags = strstr(buf, "flags:");
	if (!flags)
		return 0;
	long v = strtol(flags + 6, NULL, 8);
	return (v & O_ACCMODE) == O_WRONLY || (v & O_ACCMODE) == O_RDWR;
}

/* The entry with st's device and inode, or NULL. */
static struct spool_entry *find_inode(struct spool_entry *entries, int count, const struct stat *st)
{
	for (int i = 0; i < count; i++)
		if (entries[i].st.st_ino == st->st_ino && entries[i].st.st_dev == st->st_dev)
			return &entries[i];
	return NULL;
}

int spool_find_writers(struct spool_entry *entries, int count)
{
	int unseen = 0;
	if (count == 0)
		return 0;
	DIR *proc = opendir("/proc");
	if (!proc)
		return 0;
	struct dirent *pe;
	while ((pe = readdir(proc)) != NULL) {
		if (!all_digits(pe->d_name))
			continue;
		char fddir[64];
		snprintf(fddir, sizeof(fddir), "/proc/%s/fd", pe->d_name);
		DIR *fds = opendir(fddir);
		if (!fds) {
			if (errno == EACCES || errno == EPERM)
				unseen++;
			continue; /* or it ended meanwhile */
		}
		struct dirent *fe;
		while ((fe = readdir(fds)) != NULL) {
			struct stat st;
			if (!all_digits(fe->d_name) || fstatat(dirfd(fds), fe->d_name, &st, 0) != 0 ||
			    !S_ISREG(st.st_mode))
				continue;
			struct spool_entry *hit = find_inode(entries, count, &st);
			if (hit && !hit->writer_pid && fd_writes(pe->d_name, fe->d_name))
				hit->writer_pid = atoi(pe->d_name);
		}
		closedir(fds);
	}
	closedir(proc);
	return unseen;
}

/* ---- the move ---- */

static int move_error(struct err *e, const char *src, const char *dst, int errnum)
{
	char why[128];
	err_set(e, ERR_IO, "could not move '%s' to '%s': %s", src, dst, fs_errno_text(errnum, why, sizeof(why)));
	if (errnum == ENOSPC || errnum == EROFS || errnum == EACCES || errnum == EPERM)
		err_hint(e, "spool.processed_dir must be writable, with room for its directory entries, "
			    "on the spool's file system");
	return -1;
}

int spool_move(const char *src, const char *dst_dir, const char *name, const char *sha, struct err *e)
{
	char dst[4096];
	snprintf(dst, sizeof(dst), "%s/%s", dst_dir, name);
	for (int attempt = 0; attempt < 2; attempt++) {
		if (renameat2(AT_FDCWD, src, AT_FDCWD, dst, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno != EEXIST && errno != EINVAL && errno != ENOSYS)
			return move_error(e, src, dst, errno);
		if (errno != EEXIST) {
			/* no RENAME_NOREPLACE on this file system: link, then unlink */
			if (link(src, dst) == 0) {
				if (unlink(src) == 0)
					return 0;
				int saved = errno;
				unlink(dst); /* the file stays where it was, once */
				return move_error(e, src, dst, saved);
			}
			if (errno != EEXIST)
				return move_error(e, src, dst, errno);
		}
		snprintf(dst, sizeof(dst), "%s/%s.%.12s", dst_dir, name, sha);
	}
	/* Already there under the hashed name: this is a redo. */
	if (unlink(src) != 0) {
		char why[128];
		return err_set(e, ERR_IO, "could not remove '%s' (already in '%s'): %s", src, dst_dir,
			       fs_errno_text(errno, why, sizeof(why)));
	}
	return 0;
}
