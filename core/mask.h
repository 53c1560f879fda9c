/*
 * mask.h - deterministic pseudonyms for personal data: HMAC-SHA256 tokens.
 *
 * A token is "tok_" followed by the first 16 bytes of HMAC-SHA256(key,
 * value) in lowercase hex. The same value under the same key always gives
 * the same token, whichever field it came from, so masked copies still
 * join (a number that calls and is later called keeps one token); without
 * the key a token cannot be turned back into the value, nor guessed by
 * hashing candidate numbers. Tokens and the values they replace are never
 * logged by billrun.
 */
#ifndef BILLRUN_MASK_H
#define BILLRUN_MASK_H

#include <stddef.h>

struct err;

#define MASK_TOKEN_LEN 36        /* "tok_" + 32 hex digits */
#define MASK_KEY_MIN 16          /* bytes */
#define MASK_KEY_MAX 1024

struct mask {
	unsigned char key[MASK_KEY_MAX];
	size_t keylen;
};

/*
 * Take the key (export.hmac_key). Fails with ERR_CONFIG when it is empty
 * or shorter than MASK_KEY_MIN bytes, or longer than MASK_KEY_MAX.
 */
int mask_init(struct mask *m, const char *key, struct err *e);

/* Wipe the key. Never fails. */
void mask_release(struct mask *m);

/* out (MASK_TOKEN_LEN + 1 bytes) = the token of value[0..len). Never fails. */
void mask_token(const struct mask *m, const char *value, size_t len, char *out);

/*
 * Is an attribute of this name personal data? Names are compared without
 * case, with '-', ' ' and '.' read as '_': calling and called numbers
 * (calling, called, caller, callee, src, dst, clid, ani, dnis, msisdn, ...),
 * names (name, first_name, customer_name, ...) and e-mail addresses
 * (email, mail, ...). The list is the table in mask.c.
 */
int mask_is_personal_key(const char *name, size_t len);

/* Does a value look like an e-mail address (local@domain.tld)? */
int mask_looks_like_email(const char *s, size_t len);

/*
 * Rewrite a JSON document: every string or number under a personal key
 * (at any depth, including array elements) and every string that looks
 * like an e-mail address becomes its token, as a JSON string; e-mail
 * addresses inside other strings are replaced by their tokens in place.
 * Strings are decoded (\u escapes) before they are hashed, so the token
 * does not depend on how the sender escaped them. Everything else is
 * copied byte for byte. Returns a new NUL-terminated string the
 * caller frees (its length in *outlen when not NULL), or NULL with e set:
 * ERR_INPUT for text that is not JSON, ERR_INTERNAL when memory runs out.
 * The error never quotes the input.
 */
char *mask_json(const struct mask *m, const char *json, size_t len, size_t *outlen, struct err *e);

#endif
