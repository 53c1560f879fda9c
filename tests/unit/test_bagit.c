/*
 * test_bagit.c - BagIt bags (core/bagit.c, core/bagit_verify.c): a bag
 * written as .tar.gz verifies, with and without a CMS signature; each
 * kind of damage is found and named; the Library of Congress conformance
 * bags (../shared/testdata/bagit-conformance/v1.0) are accepted or
 * rejected as they should be.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bagit.h"
#include "err.h"
#include "hash.h"
#include "support.h"

static char dir[256];
static char out[16384];
static struct bagit_report rep;

static int setup(void **state)
{
	return test_tmpdir(dir, sizeof(dir));
}

static int teardown(void **state)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	test_sh(out, sizeof(out), cmd);
	return 0;
}

static const char *path(const char *name)
{
	static char buf[8][512];
	static int next;
	char *b = buf[next++ % 8];
	snprintf(b, sizeof(buf[0]), "%s/%s", dir, name);
	return b;
}

static void sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int rc = test_sh(out, sizeof(out), cmd);
	if (rc != 0)
		fail_msg("'%s' exited %d: %s", cmd, rc, out);
}

/* A bag with two payload files, one from disk and one from memory. */
static void write_bag(const char *file, const char *key, const char *cert)
{
	struct err e;
	err_clear(&e);
	assert_int_equal(test_write_file(path("invoice.csv"), "account,total\nA-1,10.00\n"), 0);
	struct bagit_writer *w = bagit_writer_open(file, "bag-1", &e);
	assert_non_null(w);
	assert_int_equal(bagit_writer_add_file(w, path("invoice.csv"), "output/invoice.csv", &e), 0);
	assert_int_equal(bagit_writer_add_bytes(w, "audit/head.txt", "id 3\n", 5, &e), 0);
	assert_int_equal(bagit_writer_info(w, "Billrun-Run-Id", "12", &e), 0);
	uint64_t bytes = 0, files = 0;
	if (bagit_writer_finish(w, key, cert, &bytes, &files, &e))
		fail_msg("finish: %s: %s", e.message, e.detail);
	assert_int_equal(files, 2);
	assert_int_equal(bytes, 24 + 5);
	/* The checksum taken while writing is the finished file's. */
	char sha[SHA256_HEX_LEN + 1];
	assert_int_equal(hash_sha256_file(file, sha, &e), 0);
	assert_non_null(bagit_writer_sha256(w));
	assert_string_equal(bagit_writer_sha256(w), sha);
	/* One gzip stream and nothing after it (no padding to a tar block). */
	sh("gzip -t '%s' 2>&1", file);
	bagit_writer_free(w);
}

static int has_problem(const char *needle)
{
	for (int i = 0; i < rep.nproblems && i < BAGIT_MAX_PROBLEMS; i++)
		if (strstr(rep.problems[i], needle))
			return 1;
	return 0;
}

static void expect_invalid(const char *bag, const char *ca, const char *needle)
{
	struct err e;
	err_clear(&e);
	assert_int_equal(bagit_verify(bag, ca, &rep, &e), -1);
	assert_int_equal(e.kind, ERR_INPUT);
	if (!has_problem(needle))
		fail_msg("no problem mentions '%s'; first: %s", needle, rep.nproblems ? rep.problems[0] : "(none)");
}

/* Make a CA and a signer (EC keys: quick) with the openssl command line. */
static void make_ca(const char *prefix)
{
	sh("cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s-ca.key "
	   "-out %s-ca.pem -days 2 -subj '/CN=%s test CA' -addext basicConstraints=critical,CA:TRUE "
	   "-addext keyUsage=critical,keyCertSign 2>&1 && "
	   "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s-sign.key -out %s-sign.csr "
	   "-subj '/CN=%s signer' 2>&1 && "
	   "printf 'keyUsage=critical,digitalSignature\\n' > %s-ext.cnf && "
	   "openssl x509 -req -in %s-sign.csr -CA %s-ca.pem -CAkey %s-ca.key -CAcreateserial -out %s-sign.pem "
	   "-days 2 -extfile %s-ext.cnf 2>&1",
	   dir, prefix, prefix, prefix, prefix, prefix, prefix, prefix, prefix, prefix, prefix, prefix, prefix);
}

static void a_written_bag_verifies_and_reports_its_payload(void **state)
{
	struct err e;
	write_bag(path("bag.tar.gz"), NULL, NULL);
	err_clear(&e);
	if (bagit_verify(path("bag.tar.gz"), NULL, &rep, &e))
		fail_msg("%s", e.message);
	assert_string_equal(rep.version, "1.0");
	assert_int_equal(rep.payload_files, 2);
	assert_int_equal(rep.payload_bytes, 29);
	assert_int_equal(rep.manifests, 1);
	assert_false(rep.signed_bag);
	/* Stock tools agree: tar, then sha256sum -c on both manifests. */
	sh("cd '%s' && tar xzf bag.tar.gz && cd bag-1 && sha256sum -c tagmanifest-sha256.txt && "
	   "sha256sum -c manifest-sha256.txt && grep -q '^Payload-Oxum: 29.2$' bag-info.txt && "
	   "grep -q '^Billrun-Run-Id: 12$' bag-info.txt && grep -q '^Bagging-Date: ' bag-info.txt && "
	   "test \"$(cat bagit.txt)\" = \"$(printf 'BagIt-Version: 1.0\\nTag-File-Character-Encoding: UTF-8')\"",
	   dir);
	/* The unpacked folder verifies too. */
	err_clear(&e);
	assert_int_equal(bagit_verify(path("bag-1"), NULL, &rep, &e), 0);
}

/* Without pigz on PATH the bag is compressed by zlib in the process; a
 * pigz that fails fails the bag, and leaves no file behind. */
static void bags_are_compressed_without_pigz_and_a_failing_pigz_fails_them(void **state)
{
	struct err e;
	char old_path[4096], bin[600];
	snprintf(old_path, sizeof(old_path), "%s", getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	snprintf(bin, sizeof(bin), "%s", path("bin"));
	sh("mkdir -p '%s' && ln -s \"$(command -v gzip)\" '%s/gzip'", bin, bin);
	setenv("PATH", bin, 1);
	assert_false(bagit_parallel_gzip_available());
	write_bag(path("zlib.tar.gz"), NULL, NULL);
	err_clear(&e);
	int rc = bagit_verify(path("zlib.tar.gz"), NULL, &rep, &e);
	setenv("PATH", old_path, 1);
	if (rc)
		fail_msg("%s", e.message);
	assert_int_equal(rep.payload_files, 2);

	sh("printf '#!/bin/sh\\ncat >/dev/null\\nexit 1\\n' > '%s/pigz' && chmod 755 '%s/pigz'", bin, bin);
	setenv("PATH", bin, 1);
	assert_true(bagit_parallel_gzip_available());
	err_clear(&e);
	struct bagit_writer *w = bagit_writer_open(path("broken.tar.gz"), "broken", &e);
	rc = w ? bagit_writer_add_bytes(w, "a.txt", "a\n", 2, &e) : -1;
	if (rc == 0)
		rc = bagit_writer_finish(w, NULL, NULL, NULL, NULL, &e);
	setenv("PATH", old_path, 1);
	assert_int_equal(rc, -1);
	assert_int_equal(e.kind, ERR_IO);
	assert_null(w ? bagit_writer_sha256(w) : NULL);
	bagit_writer_free(w);
	assert_int_not_equal(access(path("broken.tar.gz"), F_OK), 0);
}

static void a_signed_bag_verifies_with_openssl_and_against_its_ca_only(void **state)
{
	struct err e;
	make_ca("a");
	make_ca("b");
	write_bag(path("signed.tar.gz"), path("a-sign.key"), path("a-sign.pem"));
	err_clear(&e);
	if (bagit_verify(path("signed.tar.gz"), path("a-ca.pem"), &rep, &e))
		fail_msg("%s: %s", e.message, e.detail);
	assert_true(rep.signed_bag);
	assert_true(rep.signature_ok);
	assert_non_null(strstr(rep.signer, "a signer"));
	sh("cd '%s' && tar xzf signed.tar.gz && cd bag-1 && openssl cms -verify -binary -inform DER "
	   "-in tagmanifest-sha256.txt.p7s -content tagmanifest-sha256.txt -CAfile ../a-ca.pem -out /dev/null 2>&1",
	   dir);
	/* Without a CA: the signature is checked, not who made it. */
	err_clear(&e);
	assert_int_equal(bagit_verify(path("signed.tar.gz"), NULL, &rep, &e), 0);
	assert_true(rep.signature_ok);
	/* Another CA: refused. */
	expect_invalid(path("signed.tar.gz"), path("b-ca.pem"), "does not verify against CA");
	/* A tag manifest changed after signing (and its own checksums made to match). */
	sh("cd '%s/bag-1' && printf 'Note: added later\\n' >> bag-info.txt && "
	   "sha256sum bagit.txt bag-info.txt manifest-sha256.txt > tagmanifest-sha256.txt", dir);
	expect_invalid(path("bag-1"), path("a-ca.pem"), "tagmanifest-sha256.txt.p7s");
}

static void an_unsigned_bag_fails_when_a_ca_is_given(void **state)
{
	make_ca("c");
	write_bag(path("plain.tar.gz"), NULL, NULL);
	expect_invalid(path("plain.tar.gz"), path("c-ca.pem"), "not signed");
}

static void a_key_that_does_not_match_the_certificate_is_a_config_error(void **state)
{
	struct err e;
	make_ca("d");
	make_ca("f");
	err_clear(&e);
	struct bagit_writer *w = bagit_writer_open(path("x.tar.gz"), "x", &e);
	assert_int_equal(bagit_writer_add_bytes(w, "a.txt", "a", 1, &e), 0);
	assert_int_equal(bagit_writer_finish(w, path("d-sign.key"), path("f-sign.pem"), NULL, NULL, &e), -1);
	assert_int_equal(e.kind, ERR_CONFIG);
	bagit_writer_free(w);
	/* The unfinished file is gone. */
	assert_int_equal(access(path("x.tar.gz"), F_OK), -1);
}

static void damage_is_found_and_named(void **state)
{
	write_bag(path("bag.tar.gz"), NULL, NULL);
	sh("cd '%s' && tar xzf bag.tar.gz && cp -r bag-1 changed && cp -r bag-1 extra && cp -r bag-1 missing && "
	   "cp -r bag-1 oxum && cp -r bag-1 escape && cp -r bag-1 twice && cp -r bag-1 link && cp -r bag-1 nobagit",
	   dir);
	sh("cd '%s' && printf 'account,total\\nA-1,99.00\\n' > changed/data/output/invoice.csv", dir);
	expect_invalid(path("changed"), NULL, "'data/output/invoice.csv' does not match its sha256");
	sh("cd '%s' && printf 'x' > extra/data/output/extra.txt", dir);
	expect_invalid(path("extra"), NULL, "'data/output/extra.txt' is not listed");
	sh("cd '%s' && rm missing/data/audit/head.txt", dir);
	expect_invalid(path("missing"), NULL, "lists 'data/audit/head.txt', which is missing");
	sh("cd '%s' && sed -i 's/^Payload-Oxum: .*/Payload-Oxum: 30.2/' oxum/bag-info.txt", dir);
	expect_invalid(path("oxum"), NULL, "Payload-Oxum is 30.2 but the payload has 29 bytes in 2 files");
	sh("cd '%s' && echo \"$(sha256sum bag.tar.gz | cut -c1-64)  data/../../bag.tar.gz\" >> escape/manifest-sha256.txt",
	   dir);
	expect_invalid(path("escape"), NULL, "a path outside the bag");
	sh("cd '%s' && tail -n 1 twice/manifest-sha256.txt >> twice/manifest-sha256.txt", dir);
	expect_invalid(path("twice"), NULL, "twice");
	sh("cd '%s' && ln -s /etc/passwd link/data/output/passwd", dir);
	expect_invalid(path("link"), NULL, "'data/output/passwd' is not a regular file");
	sh("cd '%s' && rm nobagit/bagit.txt", dir);
	expect_invalid(path("nobagit"), NULL, "bagit.txt is missing");
}

/* A tarball with a symbolic link and a ../ entry, made with libarchive. */
static void tar_entries_outside_the_bag_are_refused(void **state)
{
	write_bag(path("bag.tar.gz"), NULL, NULL);
	sh("cd '%s' && tar xzf bag.tar.gz", dir);
	struct archive *a = archive_write_new();
	archive_write_add_filter_gzip(a);
	archive_write_set_format_pax_restricted(a);
	assert_int_equal(archive_write_open_filename(a, path("evil.tar.gz")), ARCHIVE_OK);
	static const char *const files[] = { "bagit.txt", "bag-info.txt", "manifest-sha256.txt",
					     "tagmanifest-sha256.txt", "data/output/invoice.csv", "data/audit/head.txt" };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char p[512];
		snprintf(p, sizeof(p), "%s/bag-1/%s", dir, files[i]);
		FILE *f = fopen(p, "rb");
		assert_non_null(f);
		char *text = calloc(1, 4096);
		size_t n = fread(text, 1, 4096, f);
		fclose(f);
		struct archive_entry *ent = archive_entry_new();
		char name[256];
		snprintf(name, sizeof(name), "bag-1/%s", files[i]);
		archive_entry_set_pathname(ent, name);
		archive_entry_set_filetype(ent, AE_IFREG);
		archive_entry_set_perm(ent, 0644);
		archive_entry_set_size(ent, (la_int64_t)n);
		archive_write_header(a, ent);
		archive_write_data(a, text, n);
		archive_entry_free(ent);
		free(text);
	}
	struct archive_entry *ent = archive_entry_new();
	archive_entry_set_pathname(ent, "bag-1/data/output/shadow");
	archive_entry_set_filetype(ent, AE_IFLNK);
	archive_entry_set_symlink(ent, "/etc/shadow");
	archive_write_header(a, ent);
	archive_entry_free(ent);
	ent = archive_entry_new();
	archive_entry_set_pathname(ent, "bag-1/../../outside.txt");
	archive_entry_set_filetype(ent, AE_IFREG);
	archive_entry_set_size(ent, 1);
	archive_write_header(a, ent);
	archive_write_data(a, "x", 1);
	archive_entry_free(ent);
	archive_write_close(a);
	archive_write_free(a);
	expect_invalid(path("evil.tar.gz"), NULL, "'data/output/shadow' is not a regular file");
	assert_true(has_problem("points outside the bag"));
}

static void the_writer_keeps_payload_paths_inside_data(void **state)
{
	struct err e;
	err_clear(&e);
	struct bagit_writer *w = bagit_writer_open(path("p.tar.gz"), "p", &e);
	assert_non_null(w);
	assert_int_equal(bagit_writer_add_bytes(w, "../x", "x", 1, &e), -1);
	assert_int_equal(bagit_writer_add_bytes(w, "/etc/x", "x", 1, &e), -1);
	assert_int_equal(bagit_writer_add_bytes(w, "a//b", "x", 1, &e), -1);
	assert_int_equal(bagit_writer_add_bytes(w, "a/./b", "x", 1, &e), -1);
	assert_int_equal(bagit_writer_add_bytes(w, "a/b", "x", 1, &e), 0);
	bagit_writer_free(w);
	/* Never over an existing file: the caller renames into place. */
	assert_int_equal(test_write_file(path("exists.tar.gz"), "old"), 0);
	assert_null(bagit_writer_open(path("exists.tar.gz"), "p", &e));
	assert_int_equal(e.kind, ERR_IO);
}

static void names_with_line_breaks_and_percent_signs_are_encoded_in_manifests(void **state)
{
	struct err e;
	err_clear(&e);
	struct bagit_writer *w = bagit_writer_open(path("enc.tar.gz"), "enc", &e);
	assert_int_equal(bagit_writer_add_bytes(w, "100% done\nreally.txt", "x", 1, &e), 0);
	assert_int_equal(bagit_writer_finish(w, NULL, NULL, NULL, NULL, &e), 0);
	bagit_writer_free(w);
	err_clear(&e);
	if (bagit_verify(path("enc.tar.gz"), NULL, &rep, &e))
		fail_msg("%s", e.message);
	sh("cd '%s' && tar xzf enc.tar.gz && grep -q 'data/100%%25 done%%0Areally.txt$' enc/manifest-sha256.txt", dir);
}

/* Every bag of a conformance folder, read in place. */
static void conformance(const char *kind, int want_valid)
{
	char base[1024];
	snprintf(base, sizeof(base), "%s", test_src("../shared/testdata/bagit-conformance/v1.0/"));
	strncat(base, kind, sizeof(base) - strlen(base) - 1);
	DIR *d = opendir(base);
	if (!d)
		fail_msg("no conformance bags in '%s'", base);
	struct dirent *de;
	int n = 0;
	while ((de = readdir(d)) != NULL) {
		char bag[1400];
		struct stat st;
		snprintf(bag, sizeof(bag), "%s/%s", base, de->d_name);
		if (de->d_name[0] == '.' || stat(bag, &st) != 0 || !S_ISDIR(st.st_mode))
			continue;
		struct err e;
		err_clear(&e);
		int rc = bagit_verify(bag, NULL, &rep, &e);
		if (want_valid && rc != 0)
			fail_msg("valid bag %s was rejected: %s", de->d_name, e.message);
		if (!want_valid && (rc == 0 || e.kind != ERR_INPUT))
			fail_msg("invalid bag %s was accepted", de->d_name);
		n++;
	}
	closedir(d);
	assert_true(n > 0);
}

static void every_valid_conformance_bag_is_accepted(void **state)
{
	conformance("valid", 1);
}

static void every_invalid_conformance_bag_is_rejected(void **state)
{
	conformance("invalid", 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(a_written_bag_verifies_and_reports_its_payload, setup, teardown),
		cmocka_unit_test_setup_teardown(a_signed_bag_verifies_with_openssl_and_against_its_ca_only, setup,
						teardown),
		cmocka_unit_test_setup_teardown(bags_are_compressed_without_pigz_and_a_failing_pigz_fails_them, setup,
						teardown),
		cmocka_unit_test_setup_teardown(an_unsigned_bag_fails_when_a_ca_is_given, setup, teardown),
		cmocka_unit_test_setup_teardown(a_key_that_does_not_match_the_certificate_is_a_config_error, setup,
						teardown),
		cmocka_unit_test_setup_teardown(damage_is_found_and_named, setup, teardown),
		cmocka_unit_test_setup_teardown(tar_entries_outside_the_bag_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(the_writer_keeps_payload_paths_inside_data, setup, teardown),
		cmocka_unit_test_setup_teardown(names_with_line_breaks_and_percent_signs_are_encoded_in_manifests,
						setup, teardown),
		cmocka_unit_test(every_valid_conformance_bag_is_accepted),
		cmocka_unit_test(every_invalid_conformance_bag_is_rejected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
