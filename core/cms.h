/*
 * cms.h - CMS (PKCS #7) detached signatures with OpenSSL, for the archive's
 * tag manifest. A signature is DER, made with CMS_BINARY (the bytes are
 * signed as they are, no MIME canonicalisation), so that
 *   openssl cms -verify -binary -inform DER -in SIG -content FILE -CAfile CA
 * accepts it. The signer's certificate is embedded in the signature, with
 * any further certificates of the certificate file (intermediates).
 */
#ifndef BILLRUN_CMS_H
#define BILLRUN_CMS_H

#include <stddef.h>

struct err;

/*
 * Sign data[0..len) with the PEM private key in key_path (unencrypted) and
 * the PEM certificate(s) in cert_path (the signer's first). On success
 * *der is a new buffer the caller frees, *der_len its length. Fails with
 * ERR_CONFIG when a file cannot be read or parsed, or the key does not
 * belong to the certificate; ERR_INTERNAL when OpenSSL fails otherwise.
 */
int cms_sign_detached(const char *key_path, const char *cert_path, const void *data, size_t len,
		      unsigned char **der, size_t *der_len, struct err *e);

/*
 * Check a detached DER signature over data[0..len). With ca_file, the
 * signer's certificate must chain to a certificate in that PEM file (and
 * be fit for signing, OpenSSL's "smimesign" purpose); without it only the
 * signature itself is checked, not who made it. The signer's subject goes
 * to signer (may be NULL). Returns 0 when it holds; -1 with e set:
 * ERR_INPUT for a bad or untrusted signature, ERR_CONFIG for an unreadable
 * CA file.
 */
int cms_verify_detached(const void *sig, size_t sig_len, const void *data, size_t len, const char *ca_file,
			char *signer, size_t signer_size, struct err *e);

#endif
