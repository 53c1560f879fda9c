/*
 * fs.c - small file-system helpers (see fs.h).
 */
#include "fs.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *fs_errno_text(int errnum, char *buf, size_t size)
{
	const char *name = strerrorname_np(errnum);
	if (name)
		snprintf(buf, size, "%s (%s)", strerror(errnum), name);
	else
		snprintf(buf, size, "%s", strerror(errnum));
	return buf;
}

int fs_error(struct err *e, const char *verb, const char *path, int errnum)
{
	char why[128];
	err_set(e, ERR_IO, "could not %s '%s': %s", verb, path, fs_errno_text(errnum, why, sizeof(why)));
	switch (errnum) {
	case ENOSPC:
		return err_hint(e, "the file system holding it is full (ENOSPC): free space on it, then run the "
				   "step again (billrun resume, or billrun rerun RUN --from STEP for a finished run)");
	case EDQUOT:
		return err_hint(e, "the disk quota of billrun's user is used up (EDQUOT): free space or raise the "
				   "quota, then run the step again");
	case EROFS:
		return err_hint(e, "the file system holding it is mounted read-only (EROFS): remount it "
				   "read-write or configure another folder, then run the step again");
	case EACCES:
	case EPERM: {
		struct passwd *pw = getpwuid(geteuid());
		return err_hint(e, "billrun's user (%s) may not write there (%s): check the folder's owner and "
				   "mode, then run the step again",
				pw && pw->pw_name ? pw->pw_name : "?", errnum == EACCES ? "EACCES" : "EPERM");
	}
	case EIO:
		return err_hint(e, "the device reported an I/O error (EIO): check the disk and the kernel log");
	default:
		return -1;
	}
}

int fs_write_error(struct err *e, const char *path, int errnum)
{
	return fs_error(e, "write", path, errnum);
}

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
			return fs_error(e, "create directory", tmp, errno);
		*p = '/';
	}
	if (mkdir(tmp, mode) != 0 && errno != EEXIST)
		return fs_error(e, "create directory", tmp, errno);
	return 0;
}

/* ---- files whose failed writes are seen ---- */

/* The stream's writes: straight to the descriptor, the first error kept.
 * A write that fails is reported to stdio as 0 bytes (fopencookie's
 * convention), so the stream's error flag is set too. */
static ssize_t out_write(void *cookie, const char *buf, size_t size)
{
	struct fs_out *o = cookie;
	size_t done = 0;
	while (done < size) {
		ssize_t n = write(o->fd, buf + done, size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!o->errnum)
				o->errnum = n < 0 ? errno : ENOSPC;
			return 0;
		}
		done += (size_t)n;
	}
	return (ssize_t)size;
}

int fs_out_open(struct fs_out *o, const char *path, struct err *e)
{
	memset(o, 0, sizeof(*o));
	o->fd = -1;
	if (snprintf(o->path, sizeof(o->path), "%s", path) >= (int)sizeof(o->path))
		return err_set(e, ERR_IO, "file name too long: '%.64s...'", path);
	o->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (o->fd < 0)
		return fs_error(e, "create", path, errno);
	cookie_io_functions_t io = { .write = out_write };
	o->f = fopencookie(o, "w", io);
	if (!o->f) {
		close(o->fd);
		o->fd = -1;
		unlink(o->path);
		return err_set(e, ERR_INTERNAL, "out of memory");
	}
	return 0;
}

int fs_out_close(struct fs_out *o, struct err *e)
{
	int errnum = 0;
	if (o->f) {
		if (fflush(o->f) != 0 && !o->errnum)
			o->errnum = errno ? errno : EIO;
		if (ferror(o->f) && !o->errnum)
			o->errnum = EIO;
		fclose(o->f);
		o->f = NULL;
	}
	errnum = o->errnum;
	if (o->fd >= 0) {
		if (!errnum && fsync(o->fd) != 0)
			errnum = errno;
		if (close(o->fd) != 0 && !errnum)
			errnum = errno;
		o->fd = -1;
	}
	if (errnum) {
		unlink(o->path);
		return fs_write_error(e, o->path, errnum);
	}
	return 0;
}

int fs_out_commit(struct fs_out *o, const char *final, struct err *e)
{
	if (fs_out_close(o, e))
		return -1;
	if (rename(o->path, final) != 0) {
		int errnum = errno;
		unlink(o->path);
		char what[4500];
		snprintf(what, sizeof(what), "rename '%s' to", o->path);
		return fs_error(e, what, final, errnum);
	}
	return 0;
}

void fs_out_abort(struct fs_out *o)
{
	if (!o)
		return;
	if (o->f)
		fclose(o->f);
	o->f = NULL;
	if (o->fd >= 0) {
		close(o->fd);
		unlink(o->path);
	}
	o->fd = -1;
}

int fs_write_file(const char *path, const void *data, size_t len, struct err *e)
{
	struct fs_out o;
	if (fs_out_open(&o, path, e))
		return -1;
	if (len)
		fwrite(data, 1, len, o.f);
	return fs_out_close(&o, e);
}
