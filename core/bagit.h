/*
 * bagit.h - BagIt 1.0 bags (RFC 8493): writing one as a .tar.gz with
 * libarchive, and verifying a bag directory or tarball.
 *
 * A written bag is one top-level folder NAME/ holding bagit.txt,
 * bag-info.txt (Bagging-Date, Payload-Oxum, Bag-Software-Agent and the
 * caller's labels), manifest-sha256.txt, tagmanifest-sha256.txt (listing
 * the three tag files before it), the payload under data/, and, when a
 * key is given, tagmanifest-sha256.txt.p7s: a CMS detached DER signature
 * of tagmanifest-sha256.txt (see cms.h). An auditor checks it with
 *   tar xzf NAME.tar.gz && cd NAME && sha256sum -c tagmanifest-sha256.txt
 *   && sha256sum -c manifest-sha256.txt && openssl cms -verify -binary
 *   -inform DER -in tagmanifest-sha256.txt.p7s -content tagmanifest-sha256.txt
 *   -CAfile CA.pem
 */
#ifndef BILLRUN_BAGIT_H
#define BILLRUN_BAGIT_H

#include <stddef.h>
#include <stdint.h>

struct err;

#define BAGIT_SIGNATURE_FILE "tagmanifest-sha256.txt.p7s"

/* ---- writing ---- */

struct bagit_writer;

/* 1 when pigz is on PATH: bags are then compressed by it on every CPU,
 * else by zlib in the calling process (the same gzip format). A process
 * writing bags should ignore SIGPIPE, so that a pigz that dies fails the
 * write (ERR_IO) instead of killing the process. */
int bagit_parallel_gzip_available(void);

/*
 * Start a bag named bag_name (the top-level folder in the tarball) in a
 * new file at path (created exclusively: it must not exist). Returns a
 * writer the caller ends with bagit_writer_finish() and frees with
 * bagit_writer_free(), or NULL with e set (ERR_IO).
 */
struct bagit_writer *bagit_writer_open(const char *path, const char *bag_name, struct err *e);

/*
 * Add a payload file: the file at src goes to data/rel. rel is relative,
 * without "." or ".." components. Returns 0, or -1 with e set (ERR_IO;
 * ERR_INTERNAL for a bad rel). The file is read once, hashed as it is
 * written; a file that changes size while read is an error.
 */
int bagit_writer_add_file(struct bagit_writer *w, const char *src, const char *rel, struct err *e);

/* Add a payload file from memory as data/rel. 0, or -1 with e set. */
int bagit_writer_add_bytes(struct bagit_writer *w, const char *rel, const void *data, size_t len,
			   struct err *e);

/* The SHA-256 (lowercase hex) of the payload file added as data/rel, or
 * NULL when none was. Owned by w; valid until the next add. */
const char *bagit_writer_payload_sha256(struct bagit_writer *w, const char *rel);

/* Add a bag-info.txt element (label without ':' or line breaks, value one
 * line). Written in the order added, after the standard ones. 0 or -1. */
int bagit_writer_info(struct bagit_writer *w, const char *label, const char *value, struct err *e);

/*
 * Write the tag files (signing the tag manifest when key_path and
 * cert_path are both given), close the tarball and fsync it. The file is
 * complete when this returns 0; the caller renames it into place. -1 with
 * e set otherwise. Payload-Oxum and the payload count are in *bytes and
 * *files when not NULL.
 */
int bagit_writer_finish(struct bagit_writer *w, const char *key_path, const char *cert_path, uint64_t *bytes,
			uint64_t *files, struct err *e);

/* The SHA-256 (lowercase hex) of the tarball's bytes, computed as they
 * were written: the checksum of the finished file, without reading it
 * again. NULL before bagit_writer_finish() returned 0. Owned by w. */
const char *bagit_writer_sha256(const struct bagit_writer *w);

/* Free a writer; an unfinished bag's file is removed. NULL is fine. */
void bagit_writer_free(struct bagit_writer *w);

/* ---- verifying ---- */

#define BAGIT_MAX_PROBLEMS 32

struct bagit_report {
	char version[16];            /* BagIt-Version */
	uint64_t payload_files;
	uint64_t payload_bytes;
	int manifests;               /* payload manifests checked */
	int signed_bag;              /* has tagmanifest-sha256.txt.p7s */
	int signature_ok;            /* it verified (against the CA when one was given) */
	char signer[256];            /* the signer's subject */
	int nproblems;               /* problems found (only the first BAGIT_MAX_PROBLEMS kept) */
	char problems[BAGIT_MAX_PROBLEMS][256];
};

/*
 * Verify the bag at path: a directory, or a tarball (any format and
 * compression libarchive reads) holding one bag folder (or a bag at its
 * root). Checks: bagit.txt (exactly two well-formed lines, version M.N,
 * UTF-8 tag files), bag-info.txt's form and Payload-Oxum, every payload
 * and tag manifest entry (md5, sha1, sha224, sha256, sha384, sha512: the
 * file exists and its checksum matches; no path listed twice), every
 * payload file listed in every payload manifest (none extra), no path
 * outside the bag (absolute, "..", "~", or a symbolic or hard link), that
 * files named in fetch.txt are present, and the signature: when present
 * it must verify; with ca_file it must also chain to that CA, and a bag
 * without one fails.
 * Returns 0 when the bag is valid; -1 with e set: ERR_INPUT "bag ... is
 * not valid" (every problem is in r->problems), ERR_IO when it cannot be
 * read, ERR_CONFIG for an unreadable CA file.
 */
int bagit_verify(const char *path, const char *ca_file, struct bagit_report *r, struct err *e);

/* What a valid bag holds, for checks beyond BagIt's (archive verify's
 * against the database). */
struct bagit_payload_file {
	char *path;                  /* "data/..." */
	char sha256[65];             /* verified; "" when the bag has no sha256 manifest */
};

struct bagit_contents {
	char *info;                  /* bag-info.txt ("" without one) */
	struct bagit_payload_file *files; /* the payload files, in path order */
	size_t n;
};

/* bagit_verify(), and when the bag is valid, its bag-info.txt and payload
 * files in c (release with bagit_contents_release; zeroed otherwise). */
int bagit_verify_contents(const char *path, const char *ca_file, struct bagit_report *r, struct bagit_contents *c,
			  struct err *e);

void bagit_contents_release(struct bagit_contents *c);

/* bag-info.txt's first value for label (case-insensitive), copied to
 * buf. 1 found, 0 not. */
int bagit_info_value(const struct bagit_contents *c, const char *label, char *buf, size_t size);

/* The payload file at path ("data/..."), or NULL. */
const struct bagit_payload_file *bagit_contents_find(const struct bagit_contents *c, const char *path);

#endif
