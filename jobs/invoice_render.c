/*
 * invoice_render.c - the invoice step's drawing (see invoice_render.h):
 * documents without files, drawn by forked workers beside the issuing,
 * each worker handing back the SHA-256 and size of every file it wrote
 * (or its error) through memory it shares with the step; the step notes
 * them in the session and records them with its done mark.
 */
#include "invoice_render.h"
#include "fs.h"
#include "db.h"
#include "err.h"
#include "invoice.h"
#include "invoice_focus.h"
#include "invoice_json.h"
#include "invoice_pdf.h"
#include "invoice_ubl.h"
#include "job.h"
#include "log.h"
#include "outfile.h"
#include "sqltext.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define RENDER_CHUNK 2000   /* documents loaded and handed to one worker */
#define MAX_WORKERS 64

static const char *const kinds[2] = { "invoice", "credit_note" };

/* What a worker hands back, in memory shared with the step: its error,
 * or the sums of every file it wrote. */
struct render_result {
	int failed;
	struct err err;
	struct {
		struct outfile_sum json, pdf, focus, ubl;
	} files[];
};

/* One chunk of documents being drawn: by a worker (pid > 0), or by the
 * step itself when it could not fork. The array literals name the chunk's
 * documents for invoice_render_stage. */
struct render_chunk {
	pid_t pid;
	int kind;
	int n;
	char *ids, *numbers, *runs;
	struct render_result *res;
	size_t res_size;
};

struct invoice_render {
	struct job_ctx *ctx;
	int max, pdf, focus, ubl;
	char run[24];
	char *runs;               /* the runs looked at, an array literal */
	char dir[4200];           /* where files are written */
	char final[4200];         /* OUTPUT/invoices */
	int in_place;             /* final existed: hidden temporary names in it */
	int64_t after[2];         /* last document id handed out, per kind */
	long long handed;
	struct render_chunk busy[MAX_WORKERS];
	int nbusy;
	int failed;               /* a chunk failed: err says why */
	struct err err;
};

/* ---- files and folders ---- */

/* A temporary name: in the folder of its own, the final name; beside
 * final files, ".NAME.tmp". */
static void tmp_path(const struct invoice_render *r, const char *number, const char *ext, char *buf, size_t size)
{
	if (r->in_place)
		snprintf(buf, size, "%s/.%s.%s.tmp", r->dir, number, ext);
	else
		snprintf(buf, size, "%s/%s.%s", r->dir, number, ext);
}

static int is_hidden_tmp(const char *name)
{
	size_t len = strlen(name);
	return name[0] == '.' && len >= 6 && strcmp(name + len - 4, ".tmp") == 0;
}

/* Remove the files of dir (flat) that `which` selects (NULL: all, and dir
 * itself). */
static int remove_files(const char *dir, int (*which)(const char *), struct err *e)
{
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : fs_error(e, "open", dir, errno);
	struct dirent *de;
	char path[4600];
	int rc = 0;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 || (which && !which(de->d_name)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) != 0)
			rc = fs_error(e, "remove", path, errno);
	}
	closedir(d);
	if (rc == 0 && !which && rmdir(dir) != 0)
		rc = fs_error(e, "remove", dir, errno);
	return rc;
}

/* Both files of a document, under their temporary names. */
static void remove_document(const struct invoice_render *r, const char *number)
{
	char path[4600];
	tmp_path(r, number, "json", path, sizeof(path));
	unlink(path);
	tmp_path(r, number, "pdf", path, sizeof(path));
	unlink(path);
	tmp_path(r, number, "focus.csv", path, sizeof(path));
	unlink(path);
	tmp_path(r, number, "xml", path, sizeof(path));
	unlink(path);
}

/* ---- drawing (in a worker) ---- */

/* Write every document of set (focus: its FOCUS rows); stop at the
 * first failure, which res keeps (the file it was writing is removed by
 * the writer). The UBL e-invoice is built once: written beside the PDF
 * and attached to it as its PDF/A-3 associated file (reports/pdfa.h). */
static void render_set(const struct invoice_render *r, const struct invoice_doc_set *set,
		       const struct invoice_focus_set *focus, struct render_result *res)
{
	char path[4600], name[256];
	char *xml = NULL;
	size_t xml_len = 0;
	for (int i = 0; i < set->n; i++) {
		const struct invoice_doc *d = &set->docs[i];
		tmp_path(r, d->number, "json", path, sizeof(path));
		if (invoice_json_write(d, path, &res->files[i].json, &res->err))
			goto fail;
		free(xml);
		xml = NULL;
		if (r->ubl && invoice_ubl_build(d, &xml, &xml_len, &res->err))
			goto fail;
		if (r->pdf) {
			snprintf(name, sizeof(name), "%s.xml", d->number);
			const struct canvas_attachment ubl = { name, "text/xml",
							       "UBL 2.1 e-invoice (Peppol BIS Billing 3.0, EN 16931)",
							       "Alternative", xml, xml_len };
			tmp_path(r, d->number, "pdf", path, sizeof(path));
			if (invoice_pdf_write(d, path, xml ? &ubl : NULL, &res->files[i].pdf, &res->err))
				goto fail;
		}
		if (r->focus) {
			tmp_path(r, d->number, "focus.csv", path, sizeof(path));
			if (invoice_focus_write(focus, i, path, &res->files[i].focus, &res->err))
				goto fail;
		}
		if (r->ubl) {
			struct outfile of;
			tmp_path(r, d->number, "xml", path, sizeof(path));
			if (outfile_open(&of, path, &res->err))
				goto fail;
			outfile_write(&of, xml, xml_len);
			if (outfile_close(&of, &res->files[i].ubl, &res->err))
				goto fail;
		}
	}
	free(xml);
	return;
fail:
	free(xml);
	res->failed = 1;
}

/* ---- chunks ---- */

static void chunk_release(struct render_chunk *c)
{
	free(c->ids);
	free(c->numbers);
	free(c->runs);
	if (c->res)
		munmap(c->res, c->res_size);
	memset(c, 0, sizeof(*c));
}

/* An array literal of one text field of every document of set (the
 * field at offset `field` of struct invoice_doc), each element quoted or
 * not. NULL when out of memory. */
static char *literal(const struct invoice_doc_set *set, size_t field, int quoted)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	fputc('{', f);
	for (int i = 0; i < set->n; i++) {
		const char *v = *(const char *const *)((const char *)&set->docs[i] + field);
		fprintf(f, quoted ? "%s\"%s\"" : "%s%s", i ? "," : "", v);
	}
	fputc('}', f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Make a chunk of set: the literals, and the memory shared with its
 * worker. */
static int chunk_init(struct render_chunk *c, int kind, const struct invoice_doc_set *set, struct err *e)
{
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->n = set->n;
	c->res_size = sizeof(struct render_result) + (size_t)set->n * sizeof(c->res->files[0]);
	void *m = mmap(NULL, c->res_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	c->res = m == MAP_FAILED ? NULL : m;
	c->ids = literal(set, offsetof(struct invoice_doc, id), 0);
	c->numbers = literal(set, offsetof(struct invoice_doc, number), 1);
	c->runs = literal(set, offsetof(struct invoice_doc, run_id), 0);
	if (!c->res || !c->ids || !c->numbers || !c->runs) {
		chunk_release(c);
		return err_set(e, ERR_INTERNAL, "out of memory");
	}
	return 0;
}

/* Note a drawn chunk's files in the session (inv_files): the literals of
 * the JSON files' SHA-256 and sizes, the PDFs', the FOCUS exports' and
 * the UBL e-invoices'. */
static int chunk_stage(struct invoice_render *r, const struct render_chunk *c, struct err *e)
{
	char *lit[8] = { NULL };
	size_t len[8];
	FILE *f[8] = { NULL };
	int bad = 0, rc = -1;
	for (int k = 0; k < 8; k++) {
		f[k] = open_memstream(&lit[k], &len[k]);
		bad |= !f[k];
	}
	for (int k = 0; !bad && k < 8; k++)
		fputc('{', f[k]);
	for (int i = 0; !bad && i < c->n; i++) {
		const char *sep = i ? "," : "";
		fprintf(f[0], "%s%s", sep, c->res->files[i].json.sha256);
		fprintf(f[1], "%s%lld", sep, c->res->files[i].json.bytes);
		if (r->pdf) {
			fprintf(f[2], "%s%s", sep, c->res->files[i].pdf.sha256);
			fprintf(f[3], "%s%lld", sep, c->res->files[i].pdf.bytes);
		} else {
			fprintf(f[2], "%sNULL", sep);
			fprintf(f[3], "%sNULL", sep);
		}
		if (r->focus) {
			fprintf(f[4], "%s%s", sep, c->res->files[i].focus.sha256);
			fprintf(f[5], "%s%lld", sep, c->res->files[i].focus.bytes);
		} else {
			fprintf(f[4], "%sNULL", sep);
			fprintf(f[5], "%sNULL", sep);
		}
		if (r->ubl) {
			fprintf(f[6], "%s%s", sep, c->res->files[i].ubl.sha256);
			fprintf(f[7], "%s%lld", sep, c->res->files[i].ubl.bytes);
		} else {
			fprintf(f[6], "%sNULL", sep);
			fprintf(f[7], "%sNULL", sep);
		}
	}
	for (int k = 0; !bad && k < 8; k++)
		fputc('}', f[k]);
	for (int k = 0; k < 8; k++)
		if (f[k] && fclose(f[k]) != 0)
			bad = 1;
	if (bad) {
		err_set(e, ERR_INTERNAL, "out of memory");
	} else {
		const char *p[] = { kinds[c->kind], c->ids, c->numbers, c->runs, lit[0], lit[1], lit[2], lit[3],
				    lit[4], lit[5], lit[6], lit[7] };
		rc = db_exec(r->ctx->db, e, SQL_invoice_render_stage, 12, p);
	}
	for (int k = 0; k < 8; k++)
		free(lit[k]);
	return rc;
}

/* A chunk is done: its worker exited with `status` (or the step drew it
 * itself: status 0). Note its files, or keep its failure. */
static void chunk_done(struct invoice_render *r, struct render_chunk *c, int status, int stage)
{
	if (!r->failed) {
		if (c->res->failed) {
			r->err = c->res->err;
			r->failed = 1;
		} else if (WIFSIGNALED(status)) {
			err_set(&r->err, ERR_INTERNAL, "a rendering process died of signal %d", WTERMSIG(status));
			r->failed = 1;
		} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			err_set(&r->err, ERR_INTERNAL, "a rendering process failed with exit status %d",
				WEXITSTATUS(status));
			r->failed = 1;
		} else if (stage && chunk_stage(r, c, &r->err)) {
			r->failed = 1;
		}
	}
	chunk_release(c);
}

/* Wait for one worker (any); stage its files unless told not to. */
static void reap_one(struct invoice_render *r, int stage)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, 0)) < 0 && errno == EINTR)
		;
	if (pid < 0) {
		/* No children left: nothing to wait for. */
		for (int i = 0; i < r->nbusy; i++)
			chunk_release(&r->busy[i]);
		r->nbusy = 0;
		return;
	}
	for (int i = 0; i < r->nbusy; i++) {
		if (r->busy[i].pid != pid)
			continue;
		chunk_done(r, &r->busy[i], status, stage);
		r->busy[i] = r->busy[--r->nbusy];
		return;
	}
}

/* Draw chunk c of set: in a worker, or here when no process can be
 * started. */
static void chunk_start(struct invoice_render *r, struct render_chunk *c, const struct invoice_doc_set *set,
			const struct invoice_focus_set *focus)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		/* The worker never uses the step's connection; closing its copy
		 * of the socket lets the step's server session (and the locks
		 * of an open transaction) end as soon as the step dies, not
		 * when the worker does. */
		close(PQsocket(r->ctx->db->conn));
		/* Drawing allocates and frees a few hundred kB per document
		 * (libharu's objects, zlib's window). With glibc's default trim
		 * threshold the top of the heap went back to the system after
		 * every document and was faulted in again for the next:
		 * keeping 32 MB made drawing about a third cheaper
		 * (jobs/INVOICES.md). */
		mallopt(M_TRIM_THRESHOLD, 32 << 20);
		err_clear(&c->res->err);
		render_set(r, set, focus, c->res);
		if (c->res->failed)
			log_err(&c->res->err);
		_exit(c->res->failed ? 1 : 0);
	}
	if (pid < 0) {
		log_warn("invoice: could not start a rendering process: %s", strerror(errno));
		err_clear(&c->res->err);
		render_set(r, set, focus, c->res);
		chunk_done(r, c, 0, 1);
		return;
	}
	c->pid = pid;
	r->busy[r->nbusy++] = *c;
}

/* ---- the interface ---- */

int invoice_render_start(struct job_ctx *ctx, int workers, int pdf, int focus, int ubl,
			 struct invoice_render **out, struct err *e)
{
	struct invoice_render *r = calloc(1, sizeof(*r));
	*out = r;
	if (!r)
		return err_set(e, ERR_INTERNAL, "out of memory");
	r->ctx = ctx;
	r->max = workers < 1 ? 1 : workers > MAX_WORKERS ? MAX_WORKERS : workers;
	r->pdf = pdf;
	r->focus = focus;
	r->ubl = ubl;
	snprintf(r->run, sizeof(r->run), "%lld", (long long)ctx->run_id);
	snprintf(r->final, sizeof(r->final), "%s/invoices", ctx->output_dir);
	snprintf(r->dir, sizeof(r->dir), "%s/.invoices.tmp", ctx->output_dir);

	const char *p[] = { r->run };
	PGresult *res = db_query(ctx->db, e, SQL_invoice_render_runs, 1, p);
	if (!res)
		return -1;
	r->runs = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (!r->runs)
		return err_set(e, ERR_INTERNAL, "out of memory");
	if (db_exec(ctx->db, e, SQL_invoice_render_stage_create, 0, NULL) ||
	    db_exec(ctx->db, e, SQL_invoice_render_stage_clear, 0, NULL))
		return -1;

	/* What an earlier attempt left was not recorded: it is written again. */
	if (remove_files(r->dir, NULL, e))
		return -1;
	struct stat st;
	if (stat(r->final, &st) == 0) {
		/* The step was redone after its folder was renamed into place:
		 * write beside the files, rename each after the commit. */
		r->in_place = 1;
		snprintf(r->dir, sizeof(r->dir), "%s", r->final);
		return remove_files(r->dir, is_hidden_tmp, e);
	}
	if (mkdir(r->dir, 0755) != 0)
		return fs_error(e, "create", r->dir, errno);
	return 0;
}

int invoice_render_more(struct invoice_render *r, struct err *e)
{
	for (int k = 0; k < 2; k++) {
		for (;;) {
			struct invoice_doc_set set;
			struct invoice_focus_set focus = { 0 };
			struct render_chunk c;
			int n = invoice_docs_load_unwritten(r->ctx->db, r->runs, kinds[k], r->after[k], RENDER_CHUNK,
							    &set, e);
			if (n <= 0) {
				invoice_docs_release(&set);
				if (n < 0)
					return -1;
				break;
			}
			while (r->nbusy >= r->max && !r->failed)
				reap_one(r, 1);
			if (r->failed || (r->focus && invoice_focus_load(r->ctx->db, &set, &focus, e)) ||
			    chunk_init(&c, k, &set, e)) {
				invoice_focus_release(&focus);
				invoice_docs_release(&set);
				if (r->failed)
					*e = r->err;
				return -1;
			}
			chunk_start(r, &c, &set, &focus);
			r->after[k] = invoice_docs_last_id(&set);
			r->handed += n;
			invoice_focus_release(&focus);
			invoice_docs_release(&set);
			if (r->failed) {
				*e = r->err;
				return -1;
			}
		}
	}
	return 0;
}

int invoice_render_wait(struct invoice_render *r, struct err *e)
{
	while (r->nbusy > 0)
		reap_one(r, !r->failed);
	if (r->failed) {
		*e = r->err;
		return -1;
	}
	if (r->handed == 0)
		return 0;
	/* The files are recorded as written: they must be on disk before
	 * the record commits (a power cut after it would otherwise leave
	 * recorded files empty). One syncfs for the whole file system
	 * instead of an fsync per file: most of the data is written back
	 * while the step still draws. */
	int fd = open(r->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return fs_error(e, "open", r->dir, errno);
	int rc = syncfs(fd) == 0 ? 0 : fs_error(e, "flush the files of", r->dir, errno);
	close(fd);
	return rc;
}

/* The files go to OUTPUT/invoices once the done mark commits: the folder
 * is renamed whole, or (in place) each hidden file. */
static int register_renames(struct invoice_render *r, struct err *e)
{
	if (!r->in_place)
		return job_rename_after_commit(r->ctx, r->dir, r->final, e);
	DIR *d = opendir(r->dir);
	if (!d)
		return fs_error(e, "open", r->dir, errno);
	struct dirent *de;
	int rc = 0;
	char from[4600], to[4600];
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (!is_hidden_tmp(de->d_name))
			continue;
		size_t len = strlen(de->d_name);
		snprintf(from, sizeof(from), "%s/%s", r->dir, de->d_name);
		snprintf(to, sizeof(to), "%s/%.*s", r->dir, (int)(len - 5), de->d_name + 1);
		rc = job_rename_after_commit(r->ctx, from, to, e);
	}
	closedir(d);
	return rc;
}

int invoice_render_record(struct invoice_render *r, struct invoice_render_summary *sum, struct err *e)
{
	memset(sum, 0, sizeof(*sum));
	sum->folder = r->final;
	if (r->handed == 0)
		/* Nothing written: no folder to put in place. */
		return r->in_place ? 0 : remove_files(r->dir, NULL, e);
	const char *p[] = { r->run };
	PGresult *res = db_query(r->ctx->db, e, SQL_invoice_render_record, 1, p);
	if (!res)
		return -1;
	long long recorded = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	long long staged = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	sum->written = recorded;
	sum->earlier = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	snprintf(sum->earlier_runs, sizeof(sum->earlier_runs), "%s", PQgetvalue(res, 0, 3));
	PQclear(res);
	if (staged != r->handed)
		return err_set(e, ERR_INTERNAL, "%lld documents were drawn but %lld noted; nothing is recorded",
			       r->handed, staged);
	if (recorded < staged) {
		/* Another step wrote some of the same (finished runs')
		 * documents and recorded them first: theirs are the files. */
		res = db_query(r->ctx->db, e, SQL_invoice_render_taken, 1, p);
		if (!res)
			return -1;
		for (int i = 0; i < PQntuples(res); i++)
			remove_document(r, PQgetvalue(res, i, 0));
		log_info("invoice: %d documents were written by another run at the same time; its files are kept",
			 PQntuples(res));
		PQclear(res);
	}
	const char *cp[] = { r->runs, r->run };
	if (db_exec(r->ctx->db, e, SQL_invoice_render_complete, 2, cp))
		return -1;
	return register_renames(r, e);
}

void invoice_render_free(struct invoice_render *r, int failed)
{
	if (!r)
		return;
	for (int i = 0; i < r->nbusy; i++)
		kill(r->busy[i].pid, SIGKILL);
	while (r->nbusy > 0)
		reap_one(r, 0);
	if (failed && r->dir[0]) {
		struct err ce;
		err_clear(&ce);
		if (remove_files(r->dir, r->in_place ? is_hidden_tmp : NULL, &ce))
			log_warn("invoice: could not remove the files of the failed attempt: %s", ce.message);
	}
	free(r->runs);
	free(r);
}
