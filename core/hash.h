/*
 * hash.h - SHA-256 over memory and files (OpenSSL EVP), as lowercase hex.
 * Used for rule versions, ingested files' identities, migrations, the
 * audit chain and the archive manifests.
 */
#ifndef BILLRUN_HASH_H
#define BILLRUN_HASH_H

#include <stddef.h>

#define SHA256_HEX_LEN 64

struct err;

/* hex must hold SHA256_HEX_LEN + 1 bytes. Never fails. */
void hash_sha256_hex(const void *data, size_t len, char *hex);

/* The n bytes of a digest as lowercase hex into hex (2n + 1 bytes). */
void hash_hex(const unsigned char *md, unsigned n, char *hex);

/* Hash a whole file; -1 with e set (ERR_IO) if it cannot be read. */
int hash_sha256_file(const char *path, char *hex, struct err *e);

/* Read a whole file into a NUL-terminated buffer the caller frees.
 * -1 with e set (ERR_IO) on failure. */
int hash_read_file(const char *path, char **data, size_t *len, struct err *e);

#endif
