/*
 * cms.c - CMS detached signatures over OpenSSL (see cms.h).
 */
#include "cms.h"
#include "err.h"

#include <errno.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Put OpenSSL's most recent error into e's detail and empty its queue. */
static void openssl_detail(struct err *e)
{
	unsigned long code = ERR_peek_last_error();
	if (code) {
		char buf[256];
		ERR_error_string_n(code, buf, sizeof(buf));
		err_detail(e, "%s", buf);
	}
	ERR_clear_error();
}

static STACK_OF(X509) *read_certs(const char *path, struct err *e)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		err_set(e, ERR_CONFIG, "could not open certificate file '%s': %s", path, strerror(errno));
		return NULL;
	}
	STACK_OF(X509) *certs = sk_X509_new_null();
	X509 *x;
	while (certs && (x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL)
		sk_X509_push(certs, x);
	fclose(f);
	ERR_clear_error(); /* the end of the file reads as an error */
	if (!certs || sk_X509_num(certs) == 0) {
		sk_X509_pop_free(certs, X509_free);
		err_set(e, ERR_CONFIG, "no PEM certificate in '%s'", path);
		return NULL;
	}
	return certs;
}

int cms_sign_detached(const char *key_path, const char *cert_path, const void *data, size_t len,
		      unsigned char **der, size_t *der_len, struct err *e)
{
	STACK_OF(X509) *certs = NULL;
	EVP_PKEY *key = NULL;
	BIO *in = NULL;
	CMS_ContentInfo *cms = NULL;
	int rc = -1;

	*der = NULL;
	*der_len = 0;
	certs = read_certs(cert_path, e);
	if (!certs)
		goto out;
	FILE *f = fopen(key_path, "r");
	if (!f) {
		err_set(e, ERR_CONFIG, "could not open signing key '%s': %s", key_path, strerror(errno));
		goto out;
	}
	key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!key) {
		err_set(e, ERR_CONFIG, "could not read the private key in '%s' (PEM, not encrypted)", key_path);
		openssl_detail(e);
		goto out;
	}
	X509 *signer = sk_X509_shift(certs);
	if (X509_check_private_key(signer, key) != 1) {
		X509_free(signer);
		err_set(e, ERR_CONFIG, "the signing key '%s' does not belong to the certificate '%s'", key_path,
			cert_path);
		ERR_clear_error();
		goto out;
	}
	in = BIO_new_mem_buf(data, (int)len);
	cms = in ? CMS_sign(signer, key, sk_X509_num(certs) ? certs : NULL, in, CMS_DETACHED | CMS_BINARY) : NULL;
	X509_free(signer);
	if (!cms) {
		err_set(e, ERR_INTERNAL, "could not sign with '%s'", cert_path);
		openssl_detail(e);
		goto out;
	}
	unsigned char *buf = NULL;
	int n = i2d_CMS_ContentInfo(cms, &buf);
	if (n <= 0) {
		err_set(e, ERR_INTERNAL, "could not encode the CMS signature");
		openssl_detail(e);
		goto out;
	}
	/* OpenSSL's allocation is handed on as a plain malloc'd buffer. */
	*der = malloc((size_t)n);
	if (*der) {
		memcpy(*der, buf, (size_t)n);
		*der_len = (size_t)n;
		rc = 0;
	} else {
		err_set(e, ERR_INTERNAL, "out of memory");
	}
	OPENSSL_free(buf);
out:
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	EVP_PKEY_free(key);
	sk_X509_pop_free(certs, X509_free);
	return rc;
}

int cms_verify_detached(const void *sig, size_t sig_len, const void *data, size_t len, const char *ca_file,
			char *signer, size_t signer_size, struct err *e)
{
	const unsigned char *p = sig;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)sig_len);
	X509_STORE *store = NULL;
	BIO *content = NULL;
	int rc = -1;

	if (signer && signer_size)
		signer[0] = '\0';
	if (!cms) {
		err_set(e, ERR_INPUT, "the signature is not a DER CMS structure");
		openssl_detail(e);
		return -1;
	}
	store = X509_STORE_new();
	if (!store)
		goto oom;
	if (ca_file && X509_STORE_load_file(store, ca_file) != 1) {
		err_set(e, ERR_CONFIG, "could not read CA certificates from '%s'", ca_file);
		openssl_detail(e);
		goto out;
	}
	content = BIO_new_mem_buf(data, (int)len);
	if (!content)
		goto oom;
	unsigned flags = CMS_BINARY | (ca_file ? 0 : CMS_NO_SIGNER_CERT_VERIFY);
	if (CMS_verify(cms, NULL, store, content, NULL, flags) != 1) {
		err_set(e, ERR_INPUT, ca_file ? "the signature does not verify against CA file '%s'"
					      : "the signature does not match the signed file%s",
			ca_file ? ca_file : "");
		openssl_detail(e);
		goto out;
	}
	STACK_OF(X509) *signers = CMS_get0_signers(cms);
	if (signer && signer_size && signers && sk_X509_num(signers) > 0)
		X509_NAME_oneline(X509_get_subject_name(sk_X509_value(signers, 0)), signer, (int)signer_size);
	sk_X509_free(signers);
	rc = 0;
	goto out;
oom:
	err_set(e, ERR_INTERNAL, "out of memory");
out:
	BIO_free(content);
	X509_STORE_free(store);
	CMS_ContentInfo_free(cms);
	return rc;
}
