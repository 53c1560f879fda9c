/*
 * outfile.c - a file written whole, hashed as it is written, removed when
 * it could not be written completely (see outfile.h).
 */
#include "outfile.h"
#include "err.h"
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Free what f holds; the file itself is left alone. */
static void release(struct outfile *f)
{
	if (f->path && f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	EVP_MD_CTX_free(f->md);
	f->md = NULL;
	free(f->path);
	f->path = NULL;
}

int outfile_open(struct outfile *f, const char *path, struct err *e)
{
	memset(f, 0, sizeof(*f));
	f->fd = -1;
	f->md = EVP_MD_CTX_new();
	f->path = strdup(path);
	if (!f->md || !f->path || !EVP_DigestInit_ex(f->md, EVP_sha256(), NULL)) {
		release(f);
		return err_set(e, ERR_INTERNAL, "out of memory");
	}
	f->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (f->fd < 0) {
		fs_error(e, "create", path, errno);
		release(f);
		return -1;
	}
	return 0;
}

int outfile_write(struct outfile *f, const void *data, size_t n)
{
	const char *p = data;
	if (f->errnum)
		return -1;
	EVP_DigestUpdate(f->md, data, n);
	f->bytes += (long long)n;
	while (n > 0) {
		ssize_t w = write(f->fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			f->errnum = w < 0 ? errno : EIO;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int outfile_close(struct outfile *f, struct outfile_sum *sum, struct err *e)
{
	int errnum = f->errnum;
	/* Start writing the file back now, without waiting for it: the
	 * caller's one syncfs for many files then finds little left to do. */
	if (!errnum)
		sync_file_range(f->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	/* close() is where a full disk shows on some file systems (NFS),
	 * not only write(). */
	if (close(f->fd) != 0 && !errnum)
		errnum = errno;
	f->fd = -1;
	if (errnum) {
		fs_error(e, "write", f->path, errnum);
		outfile_discard(f);
		return -1;
	}
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;
	EVP_DigestFinal_ex(f->md, md, &len);
	if (sum) {
		hash_hex(md, len, sum->sha256);
		sum->bytes = f->bytes;
	}
	release(f);
	return 0;
}

void outfile_discard(struct outfile *f)
{
	if (!f->path)
		return;
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	unlink(f->path);
	release(f);
}
