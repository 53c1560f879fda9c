/*
 * outfile.h - a file written whole, for documents recorded with their
 * SHA-256 (the invoice step's PDF and JSON files): the bytes are hashed as
 * they are written, the first failure is kept, and a file that could not
 * be written completely is removed, so that a file cut short (a full disk)
 * never stays under its name. Errors name the file and the system's
 * reason, with a hint for a full, read-only or forbidden file system.
 *
 *   struct outfile f;
 *   if (outfile_open(&f, path, e)) return -1;
 *   outfile_write(&f, buf, n);            (as often as needed)
 *   return outfile_close(&f, &sum, e);    (or outfile_discard(&f))
 */
#ifndef BILLRUN_OUTFILE_H
#define BILLRUN_OUTFILE_H

#include <stddef.h>

#include "hash.h"

struct err;

/* What was written: the SHA-256 of the bytes, and their number. */
struct outfile_sum {
	char sha256[SHA256_HEX_LEN + 1];
	long long bytes;
};

struct outfile {
	int fd;                 /* -1 once closed */
	int errnum;             /* the first write's failure, 0 if none */
	long long bytes;
	void *md;               /* the digest so far (an EVP_MD_CTX) */
	char *path;
};

/*
 * Create (or truncate) path for writing. Returns 0, or -1 with e set
 * (ERR_IO, naming path; see fs_error in fs.h) and nothing to release.
 */
int outfile_open(struct outfile *f, const char *path, struct err *e);

/* Append n bytes. Never fails by itself: a failure is kept (later writes
 * do nothing) and reported by outfile_close. Returns 0, or -1 once a write
 * has failed (for callers that must say so at once). */
int outfile_write(struct outfile *f, const void *data, size_t n);

/*
 * Close the file, its write-back to disk started (sync_file_range, not
 * waited for: a caller that records many files waits once, with syncfs).
 * Returns 0 with *sum filled (sum may be NULL); or -1 with e set (ERR_IO
 * naming the file and the first failure, a write or the close), the file
 * removed. Either way f is released.
 */
int outfile_close(struct outfile *f, struct outfile_sum *sum, struct err *e);

/* Close and remove the file (a document that could not be drawn). f is
 * released. Safe after outfile_close or a failed outfile_open, and on a
 * zeroed struct (nothing to do). */
void outfile_discard(struct outfile *f);


#endif
