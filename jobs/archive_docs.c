/*
 * archive_docs.c - the documents a run's archive must hold (see
 * archive_step.h): the list, from the database; the archive step's check
 * of the bag it writes; `billrun archive verify`'s check of a bag.
 */
#include "archive_step.h"
#include "bagit.h"
#include "db.h"
#include "err.h"
#include "sqltext.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

PGresult *archive_expected_documents(struct db *db, int64_t run_id, int pdf, struct err *e)
{
	char run[24];
	snprintf(run, sizeof(run), "%lld", (long long)run_id);
	const char *tp[] = { "invoice_documents" };
	PGresult *t = db_query(db, e, SQL_xbrl_table_exists, 1, tp);
	if (!t)
		return NULL;
	int have = strcmp(PQgetvalue(t, 0, 0), "t") == 0;
	PQclear(t);
	const char *p[] = { run, pdf ? "true" : "false" };
	/* Without the invoice schema there are no documents: the same
	 * columns, no rows. */
	return have ? db_query(db, e, SQL_archive_expected_documents, 2, p)
		    : db_query(db, e, SQL_archive_no_documents, 0, NULL);
}

/* Collect names for a message: up to 5, then a count. */
struct names {
	char text[400];
	int n;
};

static void names_add(struct names *s, const char *name)
{
	size_t len = strlen(s->text);
	if (s->n < 5 && len + strlen(name) + 3 < sizeof(s->text))
		snprintf(s->text + len, sizeof(s->text) - len, "%s'%s'", s->n ? ", " : "", name);
	s->n++;
}

static void names_end(struct names *s)
{
	size_t len = strlen(s->text);
	if (s->n > 5)
		snprintf(s->text + len, sizeof(s->text) - len, " and %d more", s->n - 5);
}

int archive_add_documents(struct bagit_writer *w, struct db *db, int64_t run_id, int pdf, int *count,
			  struct err *e)
{
	PGresult *res = archive_expected_documents(db, run_id, pdf, e);
	if (!res)
		return -1;
	int n = PQntuples(res), rc = 0;
	struct names missing = { "", 0 }, changed = { "", 0 };
	/* Every file is looked for before any is packed, so that the
	 * message names all that are missing. */
	for (int i = 0; i < n; i++)
		if (access(PQgetvalue(res, i, ARCHIVE_DOC_PATH), R_OK) != 0)
			names_add(&missing, PQgetvalue(res, i, ARCHIVE_DOC_PATH));
	for (int i = 0; i < n && rc == 0 && !missing.n; i++) {
		const char *rel = PQgetvalue(res, i, ARCHIVE_DOC_REL), *want = PQgetvalue(res, i, ARCHIVE_DOC_SHA256);
		rc = bagit_writer_add_file(w, PQgetvalue(res, i, ARCHIVE_DOC_PATH), rel, e);
		const char *sha = rc ? NULL : bagit_writer_payload_sha256(w, rel);
		if (sha && *want && strcmp(sha, want) != 0)
			names_add(&changed, PQgetvalue(res, i, ARCHIVE_DOC_PATH));
	}
	names_end(&missing);
	names_end(&changed);
	if (rc == 0 && missing.n) {
		rc = err_set(e, ERR_IO, "run %lld issued documents whose files are missing: %s", (long long)run_id,
			     missing.text);
		err_detail(e, "%d of the %d document files the run's archive must hold are not there; no archive "
			      "is written without them",
			   missing.n, n);
		err_hint(e, "the invoice step renders the documents of issued invoices (billrun resume RUN, or "
			    "billrun rerun RUN --from invoice); then make the archive (billrun rerun RUN --from archive)");
	} else if (rc == 0 && changed.n) {
		rc = err_set(e, ERR_IO, "run %lld: document files differ from what was recorded when they were "
					"written: %s",
			     (long long)run_id, changed.text);
		err_hint(e, "render them again from the database (billrun rerun RUN --from invoice)");
	}
	if (rc == 0 && count)
		*count = n;
	PQclear(res);
	return rc;
}

static void doc_problem(struct archive_doc_check *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void doc_problem(struct archive_doc_check *r, const char *fmt, ...)
{
	if (r->nproblems < ARCHIVE_DOC_PROBLEMS) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(r->problems[r->nproblems], sizeof(r->problems[0]), fmt, ap);
		va_end(ap);
	}
	r->nproblems++;
}

int archive_check_documents(struct db *db, int64_t run_id, int pdf, const struct bagit_contents *c,
			    struct archive_doc_check *r, struct err *e)
{
	memset(r, 0, sizeof(*r));
	PGresult *res = archive_expected_documents(db, run_id, pdf, e);
	if (!res)
		return -1;
	char path[4200];
	int n = PQntuples(res);
	r->expected = n;
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "data/%s", PQgetvalue(res, i, ARCHIVE_DOC_REL));
		const struct bagit_payload_file *f = bagit_contents_find(c, path);
		const char *want = PQgetvalue(res, i, ARCHIVE_DOC_SHA256);
		if (!f)
			doc_problem(r, "run %lld issued %s, but '%s' is not in the bag", (long long)run_id,
				    PQgetvalue(res, i, ARCHIVE_DOC_NUMBER), path);
		else if (*want && *f->sha256 && strcmp(want, f->sha256) != 0)
			doc_problem(r, "'%s' is not the file recorded when %s was issued (sha256 %.12s, not %.12s)", path,
				    PQgetvalue(res, i, ARCHIVE_DOC_NUMBER), f->sha256, want);
		else
			r->present++;
	}
	/* A document file in the bag that the run did not issue. Both lists
	 * are in path order. */
	static const char prefix[] = "data/output/invoices/";
	int k = 0;
	for (size_t j = 0; j < c->n; j++) {
		const char *p = c->files[j].path;
		if (strncmp(p, prefix, sizeof(prefix) - 1) != 0 || strchr(p + sizeof(prefix) - 1, '/'))
			continue;
		int found = 0;
		while (k < n) {
			snprintf(path, sizeof(path), "data/%s", PQgetvalue(res, k, ARCHIVE_DOC_REL));
			int cmp = strcmp(path, p);
			if (cmp >= 0) {
				found = cmp == 0;
				break;
			}
			k++;
		}
		if (!found)
			doc_problem(r, "'%s' is in the bag, but run %lld issued no such document", p, (long long)run_id);
	}
	PQclear(res);
	return 0;
}
