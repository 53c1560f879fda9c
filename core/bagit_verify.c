/*
 * bagit_verify.c - checking a bag directory or tarball against RFC 8493
 * (see bagit.h). Two passes over the bag: the first lists every entry and
 * keeps the tag files' text; the checksums the manifests ask for are
 * computed in the second, so a tarball is read twice and never unpacked.
 */
#include "bagit.h"
#include "cms.h"
#include "err.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TAG_MAX (16u << 20) /* tag files kept in memory up to this size */

enum { ALG_MD5, ALG_SHA1, ALG_SHA224, ALG_SHA256, ALG_SHA384, ALG_SHA512, ALG__COUNT };

static const struct {
	const char *name;
	const EVP_MD *(*md)(void);
} algs[ALG__COUNT] = {
	{ "md5", EVP_md5 }, { "sha1", EVP_sha1 }, { "sha224", EVP_sha224 },
	{ "sha256", EVP_sha256 }, { "sha384", EVP_sha384 }, { "sha512", EVP_sha512 },
};

enum file_kind { KIND_FILE, KIND_DIR, KIND_OTHER };

struct bag_file {
	char *path;                      /* relative to the bag's root */
	enum file_kind kind;
	uint64_t size;
	char *content;                   /* tag files at the root: their bytes */
	size_t content_len;
	char *digest[ALG__COUNT];        /* hex, for the algorithms asked for */
	unsigned listed;                 /* bit i: listed in payload manifest i */
};

struct bag {
	const char *path;
	int is_dir;
	struct bag_file *files;
	size_t n, cap;
	size_t prefix_len;               /* tarball: "NAME/" stripped from entry names */
	unsigned need;                   /* algorithms whose digests are needed */
	struct bagit_report *r;
	int oom;
};

static void problem(struct bag *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(struct bag *b, const char *fmt, ...)
{
	va_list ap;
	if (b->r->nproblems < BAGIT_MAX_PROBLEMS) {
		va_start(ap, fmt);
		vsnprintf(b->r->problems[b->r->nproblems], sizeof(b->r->problems[0]), fmt, ap);
		va_end(ap);
	}
	b->r->nproblems++;
}

static void bag_release(struct bag *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->files[i].path);
		free(b->files[i].content);
		for (int a = 0; a < ALG__COUNT; a++)
			free(b->files[i].digest[a]);
	}
	free(b->files);
}

static struct bag_file *add_file(struct bag *b, const char *path, enum file_kind kind, uint64_t size)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		struct bag_file *p = realloc(b->files, cap * sizeof(*p));
		if (!p) {
			b->oom = 1;
			return NULL;
		}
		b->files = p;
		b->cap = cap;
	}
	struct bag_file *f = &b->files[b->n];
	memset(f, 0, sizeof(*f));
	f->path = strdup(path);
	if (!f->path) {
		b->oom = 1;
		return NULL;
	}
	f->kind = kind;
	f->size = size;
	b->n++;
	return f;
}

static int by_path(const void *x, const void *y)
{
	return strcmp(((const struct bag_file *)x)->path, ((const struct bag_file *)y)->path);
}

static struct bag_file *find(struct bag *b, const char *path)
{
	struct bag_file key = { .path = (char *)path };
	return bsearch(&key, b->files, b->n, sizeof(*b->files), by_path);
}

/* Is this root-level name a tag file whose text the checks read? */
static int keeps_content(const char *name)
{
	size_t n = strlen(name);
	return strchr(name, '/') == NULL && ((n > 4 && strcmp(name + n - 4, ".txt") == 0) ||
					     strcmp(name, BAGIT_SIGNATURE_FILE) == 0);
}

/* ---- digests ---- */

struct hasher {
	EVP_MD_CTX *ctx[ALG__COUNT];
};

static int hasher_init(struct hasher *h, unsigned need)
{
	memset(h, 0, sizeof(*h));
	for (int a = 0; a < ALG__COUNT; a++) {
		if (!(need & (1u << a)))
			continue;
		h->ctx[a] = EVP_MD_CTX_new();
		if (!h->ctx[a] || EVP_DigestInit_ex(h->ctx[a], algs[a].md(), NULL) != 1)
			return -1;
	}
	return 0;
}

static void hasher_update(struct hasher *h, const void *data, size_t len)
{
	for (int a = 0; a < ALG__COUNT; a++)
		if (h->ctx[a])
			EVP_DigestUpdate(h->ctx[a], data, len);
}

static int hasher_final(struct hasher *h, struct bag_file *f)
{
	static const char digits[] = "0123456789abcdef";
	int rc = 0;
	for (int a = 0; a < ALG__COUNT; a++) {
		if (!h->ctx[a])
			continue;
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned n = 0;
		EVP_DigestFinal_ex(h->ctx[a], md, &n);
		EVP_MD_CTX_free(h->ctx[a]);
		h->ctx[a] = NULL;
		free(f->digest[a]);
		f->digest[a] = malloc(2 * n + 1);
		if (!f->digest[a]) {
			rc = -1;
			continue;
		}
		for (unsigned i = 0; i < n; i++) {
			f->digest[a][2 * i] = digits[md[i] >> 4];
			f->digest[a][2 * i + 1] = digits[md[i] & 15];
		}
		f->digest[a][2 * n] = '\0';
	}
	return rc;
}

static void hasher_free(struct hasher *h)
{
	for (int a = 0; a < ALG__COUNT; a++)
		EVP_MD_CTX_free(h->ctx[a]);
}

/* ---- reading a directory ---- */

static int walk_dir(struct bag *b, const char *root, const char *rel, int pass, struct err *e)
{
	char dirpath[4096];
	snprintf(dirpath, sizeof(dirpath), "%s%s%s", root, *rel ? "/" : "", rel);
	DIR *d = opendir(dirpath);
	if (!d)
		return err_set(e, ERR_IO, "could not read folder '%s': %s", dirpath, strerror(errno));
	struct dirent *de;
	int rc = 0;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char sub[4096], full[8200];
		snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", de->d_name);
		snprintf(full, sizeof(full), "%s/%s", root, sub);
		struct stat st;
		if (lstat(full, &st) != 0) {
			rc = err_set(e, ERR_IO, "could not read '%s': %s", full, strerror(errno));
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			if (pass == 1 && !add_file(b, sub, KIND_DIR, 0))
				break;
			rc = walk_dir(b, root, sub, pass, e);
			continue;
		}
		if (!S_ISREG(st.st_mode)) {
			if (pass == 1 && !add_file(b, sub, KIND_OTHER, 0))
				break;
			continue;
		}
		if (pass == 1) {
			struct bag_file *f = add_file(b, sub, KIND_FILE, (uint64_t)st.st_size);
			if (!f)
				break;
			if (keeps_content(sub) && (uint64_t)st.st_size <= TAG_MAX) {
				size_t len = 0;
				char *text = NULL;
				FILE *in = fopen(full, "rb");
				if (in) {
					text = malloc((size_t)st.st_size + 1);
					if (text)
						len = fread(text, 1, (size_t)st.st_size, in);
					fclose(in);
				}
				if (!text) {
					rc = err_set(e, ERR_IO, "could not read '%s'", full);
					break;
				}
				text[len] = '\0';
				f->content = text;
				f->content_len = len;
			}
			continue;
		}
		struct bag_file *f = find(b, sub);
		if (!f || !b->need)
			continue;
		int fd = open(full, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			rc = err_set(e, ERR_IO, "could not open '%s': %s", full, strerror(errno));
			break;
		}
		struct hasher h;
		char buf[65536];
		ssize_t got;
		if (hasher_init(&h, b->need) == 0) {
			while ((got = read(fd, buf, sizeof(buf))) > 0)
				hasher_update(&h, buf, (size_t)got);
			if (got < 0)
				rc = err_set(e, ERR_IO, "could not read '%s': %s", full, strerror(errno));
			else if (hasher_final(&h, f))
				b->oom = 1;
		} else {
			b->oom = 1;
		}
		hasher_free(&h);
		close(fd);
	}
	closedir(d);
	if (rc == 0 && b->oom)
		rc = err_set(e, ERR_INTERNAL, "out of memory");
	return rc;
}

/* ---- reading a tarball ---- */

/* A tar entry's name, without "./" at the start or "/" at the end. */
static void entry_name(const char *raw, char *buf, size_t size)
{
	while (raw[0] == '.' && raw[1] == '/')
		raw += 2;
	snprintf(buf, size, "%s", raw);
	size_t n = strlen(buf);
	while (n > 0 && buf[n - 1] == '/')
		buf[--n] = '\0';
}

static int path_escapes(const char *p)
{
	if (*p == '/' || *p == '~')
		return 1;
	for (const char *c = p; *c;) {
		size_t n = strcspn(c, "/");
		if (n == 2 && c[0] == '.' && c[1] == '.')
			return 1;
		c += n;
		if (*c == '/')
			c++;
	}
	return 0;
}

static int walk_tar(struct bag *b, int pass, struct err *e)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ent;
	int rc = 0;

	if (!a)
		return err_set(e, ERR_INTERNAL, "out of memory");
	archive_read_support_filter_all(a);
	archive_read_support_format_all(a);
	if (archive_read_open_filename(a, b->path, 65536) != ARCHIVE_OK) {
		err_set(e, ERR_IO, "could not read '%s' as an archive", b->path);
		err_detail(e, "%s", archive_error_string(a) ? archive_error_string(a) : "");
		archive_read_free(a);
		return -1;
	}
	for (;;) {
		int st = archive_read_next_header(a, &ent);
		if (st == ARCHIVE_EOF)
			break;
		if (st != ARCHIVE_OK && st != ARCHIVE_WARN) {
			rc = err_set(e, ERR_IO, "could not read archive '%s'", b->path);
			err_detail(e, "%s", archive_error_string(a) ? archive_error_string(a) : "");
			break;
		}
		char name[4096];
		entry_name(archive_entry_pathname(ent) ? archive_entry_pathname(ent) : "", name, sizeof(name));
		if (!*name)
			continue;
		mode_t type = archive_entry_filetype(ent);
		int hardlink = archive_entry_hardlink(ent) != NULL;
		if (pass == 1) {
			enum file_kind kind = type == AE_IFDIR ? KIND_DIR : type == AE_IFREG && !hardlink ? KIND_FILE
													    : KIND_OTHER;
			uint64_t size = archive_entry_size_is_set(ent) ? (uint64_t)archive_entry_size(ent) : 0;
			if (path_escapes(name)) {
				problem(b, "archive entry '%s' points outside the bag", name);
				continue;
			}
			struct bag_file *f = add_file(b, name, kind, size);
			if (!f)
				break;
			/* The root is not known yet: keep tag-like files one level
			 * down too, except in a root bag's payload. */
			const char *slash = strchr(name, '/');
			int tag_like = keeps_content(name) ||
				       (slash && strncmp(name, "data/", 5) != 0 && keeps_content(slash + 1));
			if (kind == KIND_FILE && size <= TAG_MAX && tag_like) {
				f->content = malloc((size_t)size + 1);
				if (!f->content) {
					b->oom = 1;
					break;
				}
				la_ssize_t got = archive_read_data(a, f->content, (size_t)size);
				if (got < 0 || (uint64_t)got != size) {
					rc = err_set(e, ERR_IO, "could not read '%s' in archive '%s'", name, b->path);
					break;
				}
				f->content[size] = '\0';
				f->content_len = (size_t)size;
			}
			continue;
		}
		if (type != AE_IFREG || hardlink || strlen(name) <= b->prefix_len || path_escapes(name))
			continue;
		struct bag_file *f = find(b, name + b->prefix_len);
		if (!f || !b->need)
			continue;
		struct hasher h;
		if (hasher_init(&h, b->need)) {
			hasher_free(&h);
			b->oom = 1;
			break;
		}
		const void *buf;
		size_t len;
		la_int64_t off;
		int r;
		while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK)
			hasher_update(&h, buf, len);
		if (r != ARCHIVE_EOF) {
			hasher_free(&h);
			rc = err_set(e, ERR_IO, "could not read '%s' in archive '%s'", name, b->path);
			err_detail(e, "%s", archive_error_string(a) ? archive_error_string(a) : "");
			break;
		}
		if (hasher_final(&h, f))
			b->oom = 1;
		hasher_free(&h);
	}
	archive_read_free(a);
	if (rc == 0 && b->oom)
		rc = err_set(e, ERR_INTERNAL, "out of memory");
	return rc;
}

/* A tarball holds one folder with the bag, or the bag at its root:
 * strip "NAME/" from every entry in the first case. */
static void tar_root(struct bag *b)
{
	const char *first = NULL;
	size_t len = 0;
	int root_bag = 0;

	for (size_t i = 0; i < b->n; i++) {
		const char *p = b->files[i].path;
		if (strcmp(p, "bagit.txt") == 0)
			root_bag = 1;
		size_t n = strcspn(p, "/");
		if (!first) {
			first = p;
			len = n;
		} else if (n != len || strncmp(p, first, n) != 0) {
			root_bag = 1;
		}
	}
	if (root_bag || !first)
		return;
	b->prefix_len = len + 1;
	size_t out = 0;
	for (size_t i = 0; i < b->n; i++) {
		struct bag_file *f = &b->files[i];
		if (strlen(f->path) <= len) { /* the folder itself */
			free(f->path);
			free(f->content);
			continue;
		}
		memmove(f->path, f->path + len + 1, strlen(f->path + len + 1) + 1);
		b->files[out++] = *f;
	}
	b->n = out;
}

/* ---- the checks ---- */

/* Split text into lines (LF, CRLF or CR); calls fn for each with its
 * 1-based number. Stops when fn returns non-zero. */
static void each_line(const char *text, size_t len, void (*fn)(void *, int, const char *, size_t), void *ctx)
{
	size_t i = 0;
	int no = 0;
	while (i < len) {
		size_t start = i;
		while (i < len && text[i] != '\n' && text[i] != '\r')
			i++;
		fn(ctx, ++no, text + start, i - start);
		if (i < len && text[i] == '\r') {
			i++;
			if (i < len && text[i] == '\n')
				i++;
		} else if (i < len) {
			i++;
		}
	}
}

struct bagit_txt {
	struct bag *b;
	int lines;
	char version[16];
	char encoding[64];
};

static void bagit_line(void *ctx, int no, const char *line, size_t len)
{
	struct bagit_txt *t = ctx;
	static const char v[] = "BagIt-Version: ", enc[] = "Tag-File-Character-Encoding: ";
	t->lines++;
	if (no == 1) {
		if (len < sizeof(v) || memcmp(line, v, sizeof(v) - 1) != 0) {
			problem(t->b, "bagit.txt: the first line is not 'BagIt-Version: M.N'");
			return;
		}
		size_t n = len - (sizeof(v) - 1);
		const char *val = line + sizeof(v) - 1;
		size_t major = 0, minor = 0, i = 0;
		while (i < n && val[i] >= '0' && val[i] <= '9')
			i++, major++;
		if (i < n && val[i] == '.')
			i++;
		while (major && i < n && val[i] >= '0' && val[i] <= '9')
			i++, minor++;
		if (!major || !minor || i != n || n >= sizeof(t->version)) {
			problem(t->b, "bagit.txt: '%.*s' is not a version number M.N", (int)(n > 40 ? 40 : n), val);
			return;
		}
		memcpy(t->version, val, n);
		t->version[n] = '\0';
	} else if (no == 2) {
		if (len < sizeof(enc) || memcmp(line, enc, sizeof(enc) - 1) != 0) {
			problem(t->b, "bagit.txt: the second line is not 'Tag-File-Character-Encoding: ENCODING'");
			return;
		}
		size_t n = len - (sizeof(enc) - 1);
		if (n >= sizeof(t->encoding) || memchr(line + sizeof(enc) - 1, ' ', n) ||
		    memchr(line + sizeof(enc) - 1, '\t', n)) {
			problem(t->b, "bagit.txt: bad Tag-File-Character-Encoding");
			return;
		}
		memcpy(t->encoding, line + sizeof(enc) - 1, n);
		t->encoding[n] = '\0';
	}
}

static void check_bagit_txt(struct bag *b)
{
	struct bag_file *f = find(b, "bagit.txt");
	if (!f || f->kind != KIND_FILE || !f->content) {
		problem(b, "bagit.txt is missing");
		return;
	}
	if (f->content_len >= 3 && memcmp(f->content, "\xef\xbb\xbf", 3) == 0) {
		problem(b, "bagit.txt starts with a byte order mark");
		return;
	}
	struct bagit_txt t = { .b = b };
	each_line(f->content, f->content_len, bagit_line, &t);
	if (t.lines != 2)
		problem(b, "bagit.txt has %d lines, not 2", t.lines);
	if (t.encoding[0] && strcasecmp(t.encoding, "UTF-8") != 0)
		problem(b, "bagit.txt: tag files in %s are not supported (only UTF-8)", t.encoding);
	snprintf(b->r->version, sizeof(b->r->version), "%s", t.version);
}

struct info_txt {
	struct bag *b;
	int strict;                     /* BagIt 1.0 and later: labels and separators as RFC 8493 says */
	int oxum_seen;
	char oxum[64];
};

static void info_line(void *ctx, int no, const char *line, size_t len)
{
	struct info_txt *t = ctx;
	if (len == 0)
		return;
	if (line[0] == ' ' || line[0] == '\t') /* continues the element before */
		return;
	const char *colon = memchr(line, ':', len);
	if (!colon || colon == line) {
		problem(t->b, "bag-info.txt line %d is not 'Label: value'", no);
		return;
	}
	size_t llen = (size_t)(colon - line);
	size_t rest = len - llen - 1;
	if (t->strict && (line[llen - 1] == ' ' || line[llen - 1] == '\t')) {
		problem(t->b, "bag-info.txt line %d: the label ends with whitespace", no);
		return;
	}
	if (t->strict && rest > 0 && colon[1] != ' ' && colon[1] != '\t') {
		problem(t->b, "bag-info.txt line %d: no space after the label's colon", no);
		return;
	}
	while (llen > 0 && (line[llen - 1] == ' ' || line[llen - 1] == '\t'))
		llen--;
	if (llen == 12 && strncasecmp(line, "Payload-Oxum", 12) == 0) {
		if (t->oxum_seen++) {
			problem(t->b, "bag-info.txt has Payload-Oxum twice");
			return;
		}
		const char *v = colon + 1;
		size_t n = rest;
		while (n > 0 && (*v == ' ' || *v == '\t'))
			v++, n--;
		snprintf(t->oxum, sizeof(t->oxum), "%.*s", (int)(n < 63 ? n : 63), v);
	}
}

static void check_bag_info(struct bag *b)
{
	struct bag_file *f = find(b, "bag-info.txt");
	if (!f)
		return; /* optional */
	if (!f->content) {
		problem(b, "bag-info.txt cannot be read");
		return;
	}
	struct info_txt t = { .b = b, .strict = strncmp(b->r->version, "0.", 2) != 0 };
	each_line(f->content, f->content_len, info_line, &t);
	if (!t.oxum_seen)
		return;
	unsigned long long octets, count;
	char tail;
	if (sscanf(t.oxum, "%llu.%llu%c", &octets, &count, &tail) != 2) {
		problem(b, "bag-info.txt: Payload-Oxum '%s' is not OCTETS.COUNT", t.oxum);
		return;
	}
	if (octets != b->r->payload_bytes || count != b->r->payload_files)
		problem(b, "Payload-Oxum is %llu.%llu but the payload has %llu bytes in %llu files", octets, count,
			(unsigned long long)b->r->payload_bytes, (unsigned long long)b->r->payload_files);
}

/* Decode a manifest path (%0A, %0D, %25) into buf and drop a leading "./".
 * Returns 0, or -1 for a path too long. */
static int decode_path(const char *p, size_t len, char *buf, size_t size)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		char c = p[i];
		if (c == '%' && i + 2 < len) {
			char h[3] = { p[i + 1], p[i + 2], 0 };
			if (strcasecmp(h, "0A") == 0 || strcasecmp(h, "0D") == 0 || strcmp(h, "25") == 0) {
				c = (char)strtol(h, NULL, 16);
				i += 2;
			}
		}
		if (n + 1 >= size)
			return -1;
		buf[n++] = c;
	}
	buf[n] = '\0';
	while (buf[0] == '.' && buf[1] == '/')
		memmove(buf, buf + 2, strlen(buf + 2) + 1);
	return 0;
}

static int is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return 1;
}

struct manifest {
	struct bag *b;
	const char *name;
	int alg;
	int payload;                    /* payload manifest (else tag manifest) */
	int index;                      /* payload manifests: its bit in bag_file.listed */
	int hashing;                    /* second pass: compare checksums */
	char **seen;                    /* paths listed so far, for duplicates */
	size_t nseen, capseen;
};

static void manifest_line(void *ctx, int no, const char *line, size_t len)
{
	struct manifest *m = ctx;
	struct bag *b = m->b;
	if (len == 0)
		return;
	size_t hl = 0;
	while (hl < len && line[hl] != ' ' && line[hl] != '\t')
		hl++;
	size_t sp = hl;
	while (sp < len && (line[sp] == ' ' || line[sp] == '\t'))
		sp++;
	if (hl == 0 || sp == hl || sp == len) {
		if (!m->hashing)
			problem(b, "%s line %d is not 'CHECKSUM PATH'", m->name, no);
		return;
	}
	int want = EVP_MD_get_size(algs[m->alg].md()) * 2;
	if ((int)hl != want || !is_hex(line, hl)) {
		if (!m->hashing)
			problem(b, "%s line %d: '%.*s' is not a %s checksum", m->name, no, (int)(hl > 16 ? 16 : hl),
				line, algs[m->alg].name);
		return;
	}
	char path[4096];
	if (decode_path(line + sp, len - sp, path, sizeof(path))) {
		if (!m->hashing)
			problem(b, "%s line %d: path too long", m->name, no);
		return;
	}
	if (!m->hashing) {
		if (path_escapes(path)) {
			problem(b, "%s lists '%s', a path outside the bag", m->name, path);
			return;
		}
		if (m->payload && strncmp(path, "data/", 5) != 0) {
			problem(b, "%s lists '%s', which is not in the payload folder data/", m->name, path);
			return;
		}
		for (size_t i = 0; i < m->nseen; i++) {
			if (strcmp(m->seen[i], path) == 0) {
				problem(b, "%s lists '%s' twice", m->name, path);
				return;
			}
		}
		if (m->nseen == m->capseen) {
			size_t cap = m->capseen ? m->capseen * 2 : 64;
			char **p = realloc(m->seen, cap * sizeof(*p));
			if (!p) {
				b->oom = 1;
				return;
			}
			m->seen = p;
			m->capseen = cap;
		}
		m->seen[m->nseen] = strdup(path);
		if (!m->seen[m->nseen]) {
			b->oom = 1;
			return;
		}
		m->nseen++;
		struct bag_file *f = find(b, path);
		if (!f || f->kind != KIND_FILE) {
			problem(b, "%s lists '%s', which is %s", m->name, path, !f ? "missing" : "not a regular file");
			return;
		}
		if (m->payload)
			f->listed |= 1u << m->index;
		return;
	}
	struct bag_file *f = find(b, path);
	if (!f || f->kind != KIND_FILE || path_escapes(path))
		return; /* reported in the first pass */
	if (!f->digest[m->alg] || strncasecmp(f->digest[m->alg], line, hl) != 0)
		problem(b, "'%s' does not match its %s checksum in %s", path, algs[m->alg].name, m->name);
}

static void manifest_release(struct manifest *m)
{
	for (size_t i = 0; i < m->nseen; i++)
		free(m->seen[i]);
	free(m->seen);
}

/* Root-level files named PREFIX-ALG.txt; kind 1 = payload, 0 = tag. */
static int manifest_alg(const char *name, const char *prefix)
{
	size_t pl = strlen(prefix), n = strlen(name);
	if (strncmp(name, prefix, pl) != 0 || n <= pl + 4 || strcmp(name + n - 4, ".txt") != 0 || strchr(name, '/'))
		return -2;
	for (int a = 0; a < ALG__COUNT; a++)
		if (strlen(algs[a].name) == n - pl - 4 && strncmp(name + pl, algs[a].name, n - pl - 4) == 0)
			return a;
	return -1;
}

/* Read every manifest: pass 1 (hashing 0) checks their form and notes
 * the algorithms to compute; pass 2 compares the checksums. */
static void check_manifests(struct bag *b, int hashing)
{
	int payload_index = 0;
	for (size_t i = 0; i < b->n; i++) {
		struct bag_file *f = &b->files[i];
		int payload = 1, alg = manifest_alg(f->path, "manifest-");
		if (alg == -2) {
			payload = 0;
			alg = manifest_alg(f->path, "tagmanifest-");
		}
		if (alg == -2 || f->kind != KIND_FILE)
			continue;
		if (alg == -1) {
			if (!hashing)
				problem(b, "%s: unsupported checksum algorithm", f->path);
			continue;
		}
		if (!f->content) {
			if (!hashing)
				problem(b, "%s cannot be read", f->path);
			continue;
		}
		struct manifest m = { .b = b, .name = f->path, .alg = alg, .payload = payload, .hashing = hashing,
				      .index = payload ? payload_index++ : 0 };
		if (payload && payload_index > 31) {
			problem(b, "too many payload manifests");
			break;
		}
		b->need |= 1u << alg;
		each_line(f->content, f->content_len, manifest_line, &m);
		manifest_release(&m);
	}
	if (hashing)
		return;
	b->r->manifests = payload_index;
	if (payload_index == 0) {
		problem(b, "the bag has no payload manifest (manifest-ALGORITHM.txt)");
		return;
	}
	/* Every payload file in every payload manifest. */
	unsigned all = payload_index >= 32 ? ~0u : (1u << payload_index) - 1;
	for (size_t i = 0; i < b->n; i++) {
		struct bag_file *f = &b->files[i];
		if (strncmp(f->path, "data/", 5) != 0)
			continue;
		if (f->kind == KIND_OTHER) {
			problem(b, "'%s' is not a regular file (a link could point outside the bag)", f->path);
			continue;
		}
		if (f->kind != KIND_FILE)
			continue;
		b->r->payload_files++;
		b->r->payload_bytes += f->size;
		if ((f->listed & all) != all)
			problem(b, "payload file '%s' is not listed in %s", f->path,
				payload_index == 1 ? "the payload manifest" : "every payload manifest");
	}
}

struct fetch_txt {
	struct bag *b;
};

static void fetch_line(void *ctx, int no, const char *line, size_t len)
{
	struct fetch_txt *t = ctx;
	if (len == 0)
		return;
	/* URL LENGTH FILEPATH */
	const char *p = line, *end = line + len;
	for (int field = 0; field < 2; field++) {
		while (p < end && *p != ' ' && *p != '\t')
			p++;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
	}
	char path[4096];
	if (p >= end || decode_path(p, (size_t)(end - p), path, sizeof(path))) {
		problem(t->b, "fetch.txt line %d is not 'URL LENGTH PATH'", no);
		return;
	}
	if (path_escapes(path) || strncmp(path, "data/", 5) != 0) {
		problem(t->b, "fetch.txt lists '%s', a path outside the payload", path);
		return;
	}
	if (!find(t->b, path))
		problem(t->b, "the bag is not complete: '%s' is to be fetched from elsewhere", path);
}

static void check_fetch(struct bag *b)
{
	struct bag_file *f = find(b, "fetch.txt");
	if (!f || !f->content)
		return;
	struct fetch_txt t = { b };
	each_line(f->content, f->content_len, fetch_line, &t);
}

static int check_signature(struct bag *b, const char *ca_file, struct err *e)
{
	struct bag_file *sig = find(b, BAGIT_SIGNATURE_FILE);
	struct bag_file *tm = find(b, "tagmanifest-sha256.txt");
	if (!sig) {
		if (ca_file)
			problem(b, "the bag is not signed (no %s) but a CA was given", BAGIT_SIGNATURE_FILE);
		return 0;
	}
	b->r->signed_bag = 1;
	if (!sig->content || !tm || !tm->content) {
		problem(b, "%s is there but tagmanifest-sha256.txt is not", BAGIT_SIGNATURE_FILE);
		return 0;
	}
	struct err se;
	err_clear(&se);
	if (cms_verify_detached(sig->content, sig->content_len, tm->content, tm->content_len, ca_file, b->r->signer,
				sizeof(b->r->signer), &se)) {
		if (se.kind == ERR_CONFIG) {
			*e = se;
			return -1;
		}
		problem(b, "%s: %s%s%s", BAGIT_SIGNATURE_FILE, se.message, se.detail[0] ? ": " : "", se.detail);
		return 0;
	}
	b->r->signature_ok = 1;
	return 0;
}

void bagit_contents_release(struct bagit_contents *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->files[i].path);
	free(c->files);
	free(c->info);
	memset(c, 0, sizeof(*c));
}

/* Keep what a valid bag holds (b->files is in path order). */
static int keep_contents(struct bag *b, struct bagit_contents *c)
{
	struct bag_file *info = find(b, "bag-info.txt");
	c->info = strdup(info && info->content ? info->content : "");
	c->files = calloc(b->n + 1, sizeof(*c->files));
	if (!c->info || !c->files)
		return -1;
	for (size_t i = 0; i < b->n; i++) {
		const struct bag_file *f = &b->files[i];
		if (f->kind != KIND_FILE || strncmp(f->path, "data/", 5) != 0)
			continue;
		struct bagit_payload_file *p = &c->files[c->n];
		p->path = strdup(f->path);
		if (!p->path)
			return -1;
		snprintf(p->sha256, sizeof(p->sha256), "%s", f->digest[ALG_SHA256] ? f->digest[ALG_SHA256] : "");
		c->n++;
	}
	return 0;
}

int bagit_info_value(const struct bagit_contents *c, const char *label, char *buf, size_t size)
{
	size_t n = strlen(label);
	for (const char *line = c->info; line && *line;) {
		size_t len = strcspn(line, "\r\n");
		if (len > n && strncasecmp(line, label, n) == 0 && line[n] == ':') {
			const char *v = line + n + 1;
			size_t vl = len - n - 1;
			while (vl > 0 && (*v == ' ' || *v == '\t'))
				v++, vl--;
			snprintf(buf, size, "%.*s", (int)vl, v);
			return 1;
		}
		line += len;
		while (*line == '\r' || *line == '\n')
			line++;
	}
	return 0;
}

static int by_payload_path(const void *x, const void *y)
{
	return strcmp(((const struct bagit_payload_file *)x)->path, ((const struct bagit_payload_file *)y)->path);
}

const struct bagit_payload_file *bagit_contents_find(const struct bagit_contents *c, const char *path)
{
	struct bagit_payload_file key = { .path = (char *)path };
	return c->n ? bsearch(&key, c->files, c->n, sizeof(*c->files), by_payload_path) : NULL;
}

int bagit_verify(const char *path, const char *ca_file, struct bagit_report *r, struct err *e)
{
	return bagit_verify_contents(path, ca_file, r, NULL, e);
}

int bagit_verify_contents(const char *path, const char *ca_file, struct bagit_report *r, struct bagit_contents *c,
			  struct err *e)
{
	struct bag b = { .path = path, .r = r };
	struct stat st;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	if (c)
		memset(c, 0, sizeof(*c));
	if (stat(path, &st) != 0)
		return err_set(e, ERR_IO, "could not open bag '%s': %s", path, strerror(errno));
	b.is_dir = S_ISDIR(st.st_mode);
	if (b.is_dir ? walk_dir(&b, path, "", 1, e) : walk_tar(&b, 1, e))
		goto out;
	if (!b.is_dir)
		tar_root(&b);
	qsort(b.files, b.n, sizeof(*b.files), by_path);
	for (size_t i = 0; i < b.n; i++)
		if (b.files[i].kind == KIND_OTHER && strncmp(b.files[i].path, "data/", 5) != 0)
			problem(&b, "'%s' is not a regular file or folder", b.files[i].path);
	check_bagit_txt(&b);
	check_manifests(&b, 0);
	if (b.oom) {
		err_set(e, ERR_INTERNAL, "out of memory");
		goto out;
	}
	check_bag_info(&b);
	check_fetch(&b);
	if (b.need && (b.is_dir ? walk_dir(&b, path, "", 2, e) : walk_tar(&b, 2, e)))
		goto out;
	check_manifests(&b, 1);
	if (check_signature(&b, ca_file, e))
		goto out;
	if (b.oom) {
		err_set(e, ERR_INTERNAL, "out of memory");
		goto out;
	}
	if (r->nproblems) {
		err_set(e, ERR_INPUT, "bag '%s' is not valid: %s", path, r->problems[0]);
		if (r->nproblems > 1)
			err_detail(e, "%d problems in all", r->nproblems);
		goto out;
	}
	if (c && keep_contents(&b, c)) {
		bagit_contents_release(c);
		err_set(e, ERR_INTERNAL, "out of memory");
		goto out;
	}
	rc = 0;
out:
	bag_release(&b);
	return rc;
}
