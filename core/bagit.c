/*
 * bagit.c - writing a BagIt 1.0 bag as a .tar.gz with libarchive (see
 * bagit.h). Payload files are hashed while they are copied into the
 * tarball; the tag files follow the payload, as their content depends on
 * it. The tarball itself is hashed as it is written, so that its checksum
 * needs no second reading. Verification is in bagit_verify.c.
 */
#include "bagit.h"
#include "cms.h"
#include "err.h"
#include "fs.h"
#include "hash.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct payload_item {
	char *rel;                       /* "data/..." */
	char sha[SHA256_HEX_LEN + 1];
};

struct info_item {
	char *label, *value;
};

struct bagit_writer {
	struct archive *a;
	int fd;
	char *path;
	char *name;
	time_t now;
	int finished;
	struct payload_item *items;
	size_t nitems, capitems;
	size_t nsorted;                  /* items[0..nsorted) are in path order */
	struct info_item *info;
	size_t ninfo, capinfo;
	uint64_t bytes;
	int errnum;                      /* the first failed write of the file, or 0 */
	EVP_MD_CTX *out_sha;             /* the tarball's bytes as written */
	char sha[SHA256_HEX_LEN + 1];    /* the tarball's SHA-256, once finished */
};

/* ---- a growable text buffer for the tag files ---- */

struct text {
	char *data;
	size_t len, cap;
	int oom;
};

static void text_put(struct text *t, const char *s, size_t n)
{
	if (t->oom)
		return;
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 1024;
		while (cap < t->len + n + 1)
			cap *= 2;
		char *p = realloc(t->data, cap);
		if (!p) {
			t->oom = 1;
			return;
		}
		t->data = p;
		t->cap = cap;
	}
	memcpy(t->data + t->len, s, n);
	t->len += n;
	t->data[t->len] = '\0';
}

static void text_puts(struct text *t, const char *s)
{
	text_put(t, s, strlen(s));
}

/* A manifest path: CR, LF and '%' percent-encoded (RFC 8493, 2.1.3). */
static void text_put_path(struct text *t, const char *path)
{
	for (const char *p = path; *p; p++) {
		if (*p == '\n')
			text_puts(t, "%0A");
		else if (*p == '\r')
			text_puts(t, "%0D");
		else if (*p == '%')
			text_puts(t, "%25");
		else
			text_put(t, p, 1);
	}
}

/* ---- the tarball ---- */

/* A failed libarchive call. When writing the file failed, that is the
 * cause whatever libarchive says after it (with pigz it blames the
 * program, "Error closing program"): the path and the errno are named. */
static int archive_error(struct bagit_writer *w, struct err *e, const char *what)
{
	const char *la = archive_error_string(w->a) ? archive_error_string(w->a) : "unknown libarchive error";
	if (w->errnum) {
		fs_write_error(e, w->path, w->errnum);
		return err_detail(e, "while %s; libarchive: %s", what, la);
	}
	err_set(e, ERR_IO, "could not write archive '%s': %s", w->path, what);
	return err_detail(e, "%s", la);
}

static int write_header(struct bagit_writer *w, const char *rel, int dir, int64_t size, struct err *e)
{
	char path[4096];
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", w->name, rel) >= sizeof(path))
		return err_set(e, ERR_INTERNAL, "archive path too long: '%s'", rel);
	struct archive_entry *ent = archive_entry_new();
	if (!ent)
		return err_set(e, ERR_INTERNAL, "out of memory");
	archive_entry_set_pathname(ent, path);
	archive_entry_set_filetype(ent, dir ? AE_IFDIR : AE_IFREG);
	archive_entry_set_perm(ent, dir ? 0755 : 0644);
	archive_entry_set_size(ent, dir ? 0 : size);
	archive_entry_set_mtime(ent, w->now, 0);
	archive_entry_set_uname(ent, "billrun");
	archive_entry_set_gname(ent, "billrun");
	int rc = archive_write_header(w->a, ent);
	archive_entry_free(ent);
	if (rc != ARCHIVE_OK)
		return archive_error(w, e, path);
	return 0;
}

static int write_data(struct bagit_writer *w, const void *data, size_t len, struct err *e)
{
	const char *p = data;
	while (len > 0) {
		la_ssize_t n = archive_write_data(w->a, p, len);
		if (n <= 0)
			return archive_error(w, e, "writing data");
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int write_whole(struct bagit_writer *w, const char *rel, const void *data, size_t len, struct err *e)
{
	if (write_header(w, rel, 0, (int64_t)len, e) || write_data(w, data, len, e))
		return -1;
	return 0;
}

int bagit_parallel_gzip_available(void)
{
	const char *path = getenv("PATH");
	char dir[4096], file[4200];
	while (path && *path) {
		size_t n = strcspn(path, ":");
		snprintf(dir, sizeof(dir), "%.*s", (int)n, path);
		snprintf(file, sizeof(file), "%s/pigz", n ? dir : ".");
		if (access(file, X_OK) == 0)
			return 1;
		path += n;
		if (*path == ':')
			path++;
	}
	return 0;
}

/* libarchive's output: every byte goes to the file and into the
 * tarball's checksum. */
static la_ssize_t write_out(struct archive *a, void *client, const void *buf, size_t len)
{
	struct bagit_writer *w = client;
	const char *p = buf;
	size_t left = len;
	while (left > 0) {
		ssize_t n = write(w->fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (!w->errnum)
				w->errnum = errno;
			archive_set_error(a, errno, "%s", strerror(errno));
			return -1;
		}
		p += n;
		left -= (size_t)n;
	}
	EVP_DigestUpdate(w->out_sha, buf, len);
	return (la_ssize_t)len;
}

struct bagit_writer *bagit_writer_open(const char *path, const char *bag_name, struct err *e)
{
	struct bagit_writer *w = calloc(1, sizeof(*w));
	if (!w) {
		err_set(e, ERR_INTERNAL, "out of memory");
		return NULL;
	}
	w->fd = -1;
	w->now = time(NULL);
	w->path = strdup(path);
	w->name = strdup(bag_name);
	if (!w->path || !w->name) {
		err_set(e, ERR_INTERNAL, "out of memory");
		goto fail;
	}
	w->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		fs_error(e, "create archive", path, errno);
		free(w->path);
		w->path = NULL; /* not ours to remove */
		goto fail;
	}
	w->out_sha = EVP_MD_CTX_new();
	if (!w->out_sha || !EVP_DigestInit_ex(w->out_sha, EVP_sha256(), NULL)) {
		err_set(e, ERR_INTERNAL, "out of memory");
		goto fail;
	}
	/* gzip level 1: most of an archive is PDFs whose streams cairo has
	 * compressed already; the saving left is the repetition between
	 * files (each PDF embeds the same font subset), which level 1 finds
	 * nearly as well as the default level 6 (about 10 % bigger), for
	 * much less CPU. Compressing is most of the work of a big bag, so
	 * pigz does it on every CPU when it is installed (the same gzip
	 * format; libarchive runs it and fails the write if it fails);
	 * without it, zlib in this process. The output is not padded to a
	 * tar block: it is a file, not a tape. */
	w->a = archive_write_new();
	if (!w->a) {
		err_set(e, ERR_INTERNAL, "out of memory");
		goto fail;
	}
	char pigz[64];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	snprintf(pigz, sizeof(pigz), "pigz -1 -p %ld", cpus > 0 ? cpus : 1);
	int filter = bagit_parallel_gzip_available()
			     ? archive_write_add_filter_program(w->a, pigz)
			     : archive_write_add_filter_gzip(w->a) == ARCHIVE_OK
				       ? archive_write_set_filter_option(w->a, "gzip", "compression-level", "1")
				       : ARCHIVE_FATAL;
	if (filter != ARCHIVE_OK || archive_write_set_format_pax_restricted(w->a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(w->a, 1) != ARCHIVE_OK ||
	    archive_write_open2(w->a, w, NULL, write_out, NULL, NULL) != ARCHIVE_OK) {
		archive_error(w, e, "opening");
		goto fail;
	}
	if (write_header(w, "", 1, 0, e) || write_header(w, "data", 1, 0, e))
		goto fail;
	return w;
fail:
	bagit_writer_free(w);
	return NULL;
}

/* A payload path must stay inside data/: relative, no "." or "..". */
static int check_rel(const char *rel, struct err *e)
{
	if (!*rel || *rel == '/')
		return err_set(e, ERR_INTERNAL, "bad payload path '%s'", rel);
	for (const char *p = rel; *p;) {
		size_t n = strcspn(p, "/");
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return err_set(e, ERR_INTERNAL, "bad payload path '%s'", rel);
		p += n;
		if (*p == '/')
			p++;
	}
	return 0;
}

static int add_item(struct bagit_writer *w, const char *rel, const unsigned char *md, struct err *e)
{
	static const char digits[] = "0123456789abcdef";
	if (w->nitems == w->capitems) {
		size_t cap = w->capitems ? w->capitems * 2 : 64;
		struct payload_item *p = realloc(w->items, cap * sizeof(*p));
		if (!p)
			return err_set(e, ERR_INTERNAL, "out of memory");
		w->items = p;
		w->capitems = cap;
	}
	struct payload_item *it = &w->items[w->nitems];
	size_t len = strlen(rel) + 6;
	it->rel = malloc(len);
	if (!it->rel)
		return err_set(e, ERR_INTERNAL, "out of memory");
	snprintf(it->rel, len, "data/%s", rel);
	for (int i = 0; i < 32; i++) {
		it->sha[2 * i] = digits[md[i] >> 4];
		it->sha[2 * i + 1] = digits[md[i] & 15];
	}
	it->sha[64] = '\0';
	w->nitems++;
	return 0;
}

int bagit_writer_add_bytes(struct bagit_writer *w, const char *rel, const void *data, size_t len,
			   struct err *e)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	char path[4096];

	if (check_rel(rel, e))
		return -1;
	snprintf(path, sizeof(path), "data/%s", rel);
	if (write_whole(w, path, data, len, e))
		return -1;
	EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
	w->bytes += len;
	return add_item(w, rel, md, e);
}

int bagit_writer_add_file(struct bagit_writer *w, const char *src, const char *rel, struct err *e)
{
	char path[4096], buf[65536];
	struct stat st;
	int rc = -1;

	if (check_rel(rel, e))
		return -1;
	int fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, ERR_IO, "could not open '%s': %s", src, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		err_set(e, ERR_IO, "'%s' is not a regular file", src);
		goto out;
	}
	snprintf(path, sizeof(path), "data/%s", rel);
	if (write_header(w, path, 0, (int64_t)st.st_size, e))
		goto out;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx) {
		err_set(e, ERR_INTERNAL, "out of memory");
		goto out;
	}
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	uint64_t left = (uint64_t)st.st_size;
	while (left > 0) {
		ssize_t n = read(fd, buf, left < sizeof(buf) ? (size_t)left : sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			EVP_MD_CTX_free(ctx);
			err_set(e, ERR_IO, "could not read '%s': %s", src, n < 0 ? strerror(errno) : "it got shorter");
			goto out;
		}
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		if (write_data(w, buf, (size_t)n, e)) {
			EVP_MD_CTX_free(ctx);
			goto out;
		}
		left -= (uint64_t)n;
	}
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	/* A file that grew while it was read would be cut short silently. */
	if (read(fd, buf, 1) != 0) {
		err_set(e, ERR_IO, "'%s' changed while it was archived", src);
		goto out;
	}
	w->bytes += (uint64_t)st.st_size;
	rc = add_item(w, rel, md, e);
out:
	close(fd);
	return rc;
}

int bagit_writer_info(struct bagit_writer *w, const char *label, const char *value, struct err *e)
{
	if (!*label || strpbrk(label, ":\r\n") || label[0] == ' ' || label[strlen(label) - 1] == ' ' ||
	    strpbrk(value, "\r\n"))
		return err_set(e, ERR_INTERNAL, "bad bag-info element '%s'", label);
	if (w->ninfo == w->capinfo) {
		size_t cap = w->capinfo ? w->capinfo * 2 : 16;
		struct info_item *p = realloc(w->info, cap * sizeof(*p));
		if (!p)
			return err_set(e, ERR_INTERNAL, "out of memory");
		w->info = p;
		w->capinfo = cap;
	}
	w->info[w->ninfo].label = strdup(label);
	w->info[w->ninfo].value = strdup(value);
	if (!w->info[w->ninfo].label || !w->info[w->ninfo].value) {
		free(w->info[w->ninfo].label);
		free(w->info[w->ninfo].value);
		return err_set(e, ERR_INTERNAL, "out of memory");
	}
	w->ninfo++;
	return 0;
}

static int by_rel(const void *a, const void *b)
{
	return strcmp(((const struct payload_item *)a)->rel, ((const struct payload_item *)b)->rel);
}

static void tag_line(struct text *t, const char *name, const struct text *content)
{
	char sha[SHA256_HEX_LEN + 1];
	hash_sha256_hex(content->data ? content->data : "", content->len, sha);
	text_puts(t, sha);
	text_puts(t, "  ");
	text_puts(t, name);
	text_puts(t, "\n");
}

int bagit_writer_finish(struct bagit_writer *w, const char *key_path, const char *cert_path, uint64_t *bytes,
			uint64_t *files, struct err *e)
{
	struct text bagit = { 0 }, info = { 0 }, manifest = { 0 }, tagmanifest = { 0 };
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	char line[1024], date[16];
	int rc = -1;

	qsort(w->items, w->nitems, sizeof(*w->items), by_rel);
	for (size_t i = 0; i < w->nitems; i++) {
		text_puts(&manifest, w->items[i].sha);
		text_puts(&manifest, "  ");
		text_put_path(&manifest, w->items[i].rel);
		text_puts(&manifest, "\n");
	}
	text_puts(&bagit, "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n");
	strftime(date, sizeof(date), "%Y-%m-%d", gmtime(&w->now));
	snprintf(line, sizeof(line),
		 "Bagging-Date: %s\nPayload-Oxum: %llu.%llu\nBag-Software-Agent: billrun %s\n", date,
		 (unsigned long long)w->bytes, (unsigned long long)w->nitems, BILLRUN_VERSION);
	text_puts(&info, line);
	for (size_t i = 0; i < w->ninfo; i++) {
		text_puts(&info, w->info[i].label);
		text_puts(&info, ": ");
		text_puts(&info, w->info[i].value);
		text_puts(&info, "\n");
	}
	tag_line(&tagmanifest, "bagit.txt", &bagit);
	tag_line(&tagmanifest, "bag-info.txt", &info);
	tag_line(&tagmanifest, "manifest-sha256.txt", &manifest);
	if (bagit.oom || info.oom || manifest.oom || tagmanifest.oom) {
		err_set(e, ERR_INTERNAL, "out of memory");
		goto out;
	}
	if (key_path && *key_path && cert_path && *cert_path &&
	    cms_sign_detached(key_path, cert_path, tagmanifest.data, tagmanifest.len, &sig, &sig_len, e))
		goto out;
	if (write_whole(w, "bagit.txt", bagit.data, bagit.len, e) ||
	    write_whole(w, "bag-info.txt", info.data, info.len, e) ||
	    write_whole(w, "manifest-sha256.txt", manifest.data ? manifest.data : "", manifest.len, e) ||
	    write_whole(w, "tagmanifest-sha256.txt", tagmanifest.data, tagmanifest.len, e) ||
	    (sig && write_whole(w, BAGIT_SIGNATURE_FILE, sig, sig_len, e)))
		goto out;
	if (archive_write_close(w->a) != ARCHIVE_OK) {
		archive_error(w, e, "closing");
		goto out;
	}
	int errnum = fsync(w->fd) != 0 ? errno : 0;
	if (close(w->fd) != 0 && !errnum)
		errnum = errno;
	w->fd = -1;
	if (errnum) {
		fs_write_error(e, w->path, errnum);
		goto out;
	}
	w->finished = 1;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_DigestFinal_ex(w->out_sha, md, &mdlen);
	for (unsigned i = 0; i < mdlen && 2 * i + 1 < sizeof(w->sha); i++)
		snprintf(w->sha + 2 * i, 3, "%02x", md[i]);
	if (bytes)
		*bytes = w->bytes;
	if (files)
		*files = w->nitems;
	rc = 0;
out:
	free(bagit.data);
	free(info.data);
	free(manifest.data);
	free(tagmanifest.data);
	free(sig);
	return rc;
}

const char *bagit_writer_payload_sha256(struct bagit_writer *w, const char *rel)
{
	char path[4200];
	snprintf(path, sizeof(path), "data/%s", rel);
	/* The file just added, as the archive asks after each document file:
	 * found without sorting, else every question would sort them all
	 * again (300,000 files made the archive of a 100,000-invoice close
	 * take ten minutes). */
	if (w->nsorted != w->nitems && strcmp(w->items[w->nitems - 1].rel, path) == 0)
		return w->items[w->nitems - 1].sha;
	if (w->nsorted != w->nitems) {
		qsort(w->items, w->nitems, sizeof(*w->items), by_rel);
		w->nsorted = w->nitems;
	}
	struct payload_item key = { .rel = path };
	const struct payload_item *it = bsearch(&key, w->items, w->nitems, sizeof(*w->items), by_rel);
	return it ? it->sha : NULL;
}

const char *bagit_writer_sha256(const struct bagit_writer *w)
{
	return w->finished ? w->sha : NULL;
}

void bagit_writer_free(struct bagit_writer *w)
{
	if (!w)
		return;
	if (w->a)
		archive_write_free(w->a);
	EVP_MD_CTX_free(w->out_sha);
	if (w->fd >= 0)
		close(w->fd);
	if (!w->finished && w->path)
		unlink(w->path);
	for (size_t i = 0; i < w->nitems; i++)
		free(w->items[i].rel);
	free(w->items);
	for (size_t i = 0; i < w->ninfo; i++) {
		free(w->info[i].label);
		free(w->info[i].value);
	}
	free(w->info);
	free(w->path);
	free(w->name);
	free(w);
}
