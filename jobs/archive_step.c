/*
 * archive_step.c - the archive step and retention (see archive_step.h). The
 * step packs the run's output folder, the run's record, the input files'
 * checksums and the audit chain head into one BagIt bag (core/bagit.c),
 * signed when a key is configured, written under a temporary name and
 * renamed when the done mark commits. Meant to run last, with trigger
 * all_done, so that a failed run is archived too. A bag holds every
 * document its run issued or is not written (archive_docs.c); the step
 * first makes the archives that earlier runs of the same DAG and period
 * ended without (reports/README.md, "The run's documents").
 */
#include "archive_step.h"
#include "audit.h"
#include "bagit.h"
#include "cfg.h"
#include "db.h"
#include "err.h"
#include "fs.h"
#include "hash.h"
#include "job.h"
#include "run_report.h"
#include "log.h"
#include "metrics.h"
#include "sqltext.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void archive_dir(const struct config *cfg, char *buf, size_t size)
{
	if (cfg->archive_dir && *cfg->archive_dir) {
		snprintf(buf, size, "%s", cfg->archive_dir);
		return;
	}
	char out[4096];
	cfg_output_dir(cfg, out, sizeof(out));
	snprintf(buf, size, "%s/archive", out);
}

int archive_retention_interval(const char *text, const char *what, char *buf, size_t size, struct err *e)
{
	static const struct {
		const char *suffix, *unit;
		long max;
	} units[] = { { "y", "years", 1000 }, { "mo", "months", 12000 }, { "w", "weeks", 52000 }, { "d", "days", 365000 } };
	char *end;
	errno = 0;
	long n = strtol(text ? text : "", &end, 10);
	for (size_t i = 0; text && end != text && errno == 0 && i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix) != 0)
			continue;
		if (n < 1 || n > units[i].max)
			break;
		snprintf(buf, size, "%ld %s", n, units[i].unit);
		return 0;
	}
	err_set(e, ERR_CONFIG, "%s: '%s' is not a retention period", what, text ? text : "");
	return err_hint(e, "write a number and a unit: \"7y\" (years), \"18mo\" (months), \"6w\" (weeks) or \"90d\" "
			   "(days), at least one day");
}

/* ---- the step ---- */

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Every regular file under dir/rel into the bag as output/rel, in name
 * order so the bag does not depend on the directory's order. Files still
 * under a temporary name (".tmp") are not outputs. */
static int add_tree(struct bagit_writer *w, const char *dir, const char *rel, struct err *e)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s%s%s", dir, *rel ? "/" : "", rel);
	struct dirent **names = NULL;
	int n = scandir(path, &names, NULL, alphasort);
	if (n < 0)
		return err_set(e, ERR_IO, "could not read folder '%s': %s", path, strerror(errno));
	int rc = 0;
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		char sub[4096], full[8200], in_bag[4200];
		if (rc || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || ends_with(name, ".tmp"))
			continue;
		/* The documents come from where they were recorded
		 * (archive_add_documents): this folder can also hold an
		 * earlier run's, drawn here after a full disk or a crash. */
		if (!*rel && strcmp(name, "invoices") == 0)
			continue;
		snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", name);
		snprintf(full, sizeof(full), "%s/%s", dir, sub);
		struct stat st;
		if (lstat(full, &st) != 0) {
			rc = err_set(e, ERR_IO, "could not read '%s': %s", full, strerror(errno));
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			rc = add_tree(w, dir, sub, e);
		} else if (S_ISREG(st.st_mode)) {
			snprintf(in_bag, sizeof(in_bag), "output/%s", sub);
			rc = bagit_writer_add_file(w, full, in_bag, e);
		} else {
			log_warn("archive: '%s' is not a regular file; left out", full);
		}
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

/* A growable text for the files the step writes itself. */
struct text {
	char *data;
	size_t len, cap;
};

static int text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if (t->len + (size_t)n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 4096;
		while (cap < t->len + (size_t)n + 1)
			cap *= 2;
		char *p = realloc(t->data, cap);
		if (!p)
			return -1;
		t->data = p;
		t->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(t->data + t->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
	return 0;
}

/* A query's result as tab-separated text with a header line. Tabs and
 * line breaks inside values become spaces. */
static int add_table(struct bagit_writer *w, struct db *db, const char *rel, const char *header, const char *sql,
		     int nparams, const char *const *params, struct err *e)
{
	PGresult *res = db_query(db, e, sql, nparams, params);
	if (!res)
		return -1;
	struct text t = { 0 };
	int bad = text_add(&t, "%s\n", header);
	for (int r = 0; r < PQntuples(res) && !bad; r++) {
		for (int c = 0; c < PQnfields(res) && !bad; c++) {
			char *v = PQgetvalue(res, r, c);
			for (char *p = v; *p; p++)
				if (*p == '\t' || *p == '\n' || *p == '\r')
					*p = ' ';
			bad = text_add(&t, "%s%s", c ? "\t" : "", v);
		}
		bad = bad || text_add(&t, "\n");
	}
	PQclear(res);
	int rc = bad ? err_set(e, ERR_INTERNAL, "out of memory") : bagit_writer_add_bytes(w, rel, t.data, t.len, e);
	free(t.data);
	return rc;
}

static int table_exists(struct db *db, const char *name, int *exists, struct err *e)
{
	const char *p[] = { name };
	PGresult *res = db_query(db, e, SQL_xbrl_table_exists, 1, p);
	if (!res)
		return -1;
	*exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return 0;
}

/* A run's metrics and report as they stand now (for this step's run,
 * with this step still running: the runner writes the final ones, into
 * metrics.dir and the output folder, when the run ends), rendered in
 * memory and added as metrics/billrun_DAG.prom and run/run-report.html. */
static int add_rendered(struct bagit_writer *w, struct db *db, int64_t run_id, const char *rel,
			int (*render)(struct db *, int64_t, FILE *, struct err *), struct err *e)
{
	char *page = NULL;
	size_t page_len = 0;
	FILE *mem = open_memstream(&page, &page_len);
	if (!mem)
		return err_set(e, ERR_INTERNAL, "out of memory");
	int rc = render(db, run_id, mem, e);
	if (fclose(mem) != 0 && rc == 0)
		rc = err_set(e, ERR_INTERNAL, "out of memory");
	if (rc == 0)
		rc = bagit_writer_add_bytes(w, rel, page, page_len, e);
	free(page);
	return rc;
}

#define INPUTS_HEADER "sha256\tfile\tsource\trecords_read\taccepted\tquarantined\tduplicates\trun"

/* The run's record, its inputs and the audit head, into the bag. */
static int add_record(struct bagit_writer *w, struct db *db, const char *run, const char *period_start,
		      const char *period_end, int64_t head_id, const char *head_hash, struct err *e)
{
	char line[256];
	const char *rp[] = { run };
	if (add_table(w, db, "run/steps.tsv", "step\tstatus\tattempts\tstarted\tended\tseconds\tlast_message",
		      SQL_store_run_steps_report, 1, rp, e) ||
	    add_table(w, db, "run/attempts.tsv",
		      "step\tattempt\tstatus\tstarted\tended\texit_code\tsignal\tmessage\thost\tpid",
		      SQL_store_attempts_report, 1, rp, e))
		return -1;
	int exists = 0;
	if (table_exists(db, "ingest_files", &exists, e))
		return -1;
	if (exists) {
		const char *pp[] = { period_start, period_end };
		if (add_table(w, db, "inputs/input-files.tsv", INPUTS_HEADER, SQL_archive_input_files, 2, pp, e))
			return -1;
	} else {
		static const char none[] = INPUTS_HEADER "\n";
		if (bagit_writer_add_bytes(w, "inputs/input-files.tsv", none, sizeof(none) - 1, e))
			return -1;
	}
	snprintf(line, sizeof(line), "id %lld\nhash %s\n", (long long)head_id, head_hash);
	return bagit_writer_add_bytes(w, "audit/chain-head.txt", line, strlen(line), e);
}

/* Bags written by this attempt, not yet renamed into place. */
struct written {
	char (*tmp)[4800];
	int n;
};

/*
 * The archive of run run_id (this step's run, or an earlier run of the
 * same DAG and period whose archive step failed): written to a temporary
 * name in dir, its row inserted and its rename registered, in the step's
 * open transaction. A bag without every document the run issued is not
 * written (archive_add_documents).
 */
static int archive_one(struct job_ctx *ctx, const char *dir, int64_t run_id, struct written *done, struct err *e)
{
	const struct config *cfg = ctx->cfg;
	char name[512], final[4700], tmp[4800], run[24], head_hash[SHA256_HEX_LEN + 1], by[24];
	char line[1024], sha[SHA256_HEX_LEN + 1], metrics_rel[300];
	struct bagit_writer *w = NULL;
	PGresult *info = NULL;
	int64_t head_id = 0;
	uint64_t bytes = 0, files = 0;
	int signing = *cfg->archive_sign_key || *cfg->archive_sign_cert, documents = 0, rc = -1;

	snprintf(run, sizeof(run), "%lld", (long long)run_id);
	snprintf(by, sizeof(by), "%lld", (long long)ctx->run_id);
	const char *rp[] = { run };
	info = db_query(ctx->db, e, SQL_archive_run_info, 1, rp);
	if (!info)
		goto out;
	if (PQntuples(info) != 1) {
		err_set(e, ERR_NOT_FOUND, "no run %s", run);
		goto out;
	}
	const char *dag = PQgetvalue(info, 0, 0), *start = PQgetvalue(info, 0, 1), *end = PQgetvalue(info, 0, 2);
	const char *output = run_id == ctx->run_id ? ctx->output_dir : PQgetvalue(info, 0, 7);
	snprintf(name, sizeof(name), "billrun-%s-%s-run-%s", dag, start, run);
	snprintf(metrics_rel, sizeof(metrics_rel), "metrics/billrun_%s.prom", dag);
	snprintf(final, sizeof(final), "%s/%s.tar.gz", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", final);
	unlink(tmp); /* left by an attempt that was killed */
	if (audit_head(ctx->db, &head_id, head_hash, e))
		goto out;
	w = bagit_writer_open(tmp, name, e);
	if (!w || (*output && add_tree(w, output, "", e)) ||
	    archive_add_documents(w, ctx->db, run_id, cfg->invoice_pdf, &documents, e) ||
	    add_record(w, ctx->db, run, start, end, head_id, head_hash, e) ||
	    add_rendered(w, ctx->db, run_id, metrics_rel, metrics_render, e) ||
	    add_rendered(w, ctx->db, run_id, "run/run-report.html", run_report_render, e))
		goto out;

	struct {
		const char *label, *value;
	} labels[] = {
		{ "Source-Organization", cfg->xbrl_entity },
		{ "External-Identifier", name },
		{ "Internal-Sender-Description", "billrun run archive: outputs, run record, input checksums, audit head" },
		{ "Billrun-Run-Id", run },
		{ "Billrun-DAG", dag },
		{ "Billrun-Period-Start", start },
		{ "Billrun-Period-End", end },
		{ "Billrun-Rule-Version-SHA256", PQgetvalue(info, 0, 3) },
		{ "Billrun-Config-SHA256", PQgetvalue(info, 0, 4) },
		{ "Billrun-Host", PQgetvalue(info, 0, 5) },
		{ "Billrun-Rerun-Of", PQgetvalue(info, 0, 6) },
		{ "Billrun-Archived-By-Run", run_id == ctx->run_id ? "" : by },
	};
	for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
		if (*labels[i].value && bagit_writer_info(w, labels[i].label, labels[i].value, e))
			goto out;
	snprintf(line, sizeof(line), "%d", documents);
	if (bagit_writer_info(w, "Billrun-Document-Files", line, e))
		goto out;
	snprintf(line, sizeof(line), "%lld %s", (long long)head_id, head_hash);
	if (bagit_writer_info(w, "Billrun-Audit-Head", line, e))
		goto out;
	if (bagit_writer_finish(w, signing ? cfg->archive_sign_key : NULL, signing ? cfg->archive_sign_cert : NULL,
				&bytes, &files, e))
		goto out;
	snprintf(sha, sizeof(sha), "%s", bagit_writer_sha256(w));
	snprintf(done->tmp[done->n++], sizeof(done->tmp[0]), "%s", tmp);

	struct stat st;
	char size[24], nfiles[24], nbytes[24], hid[24];
	snprintf(size, sizeof(size), "%lld", stat(tmp, &st) == 0 ? (long long)st.st_size : 0LL);
	snprintf(nfiles, sizeof(nfiles), "%llu", (unsigned long long)files);
	snprintf(nbytes, sizeof(nbytes), "%llu", (unsigned long long)bytes);
	snprintf(hid, sizeof(hid), "%lld", (long long)head_id);
	const char *ip[] = { run, final, sha, size, nfiles, nbytes, signing ? "true" : "false", hid, head_hash };
	if (db_exec(ctx->db, e, SQL_archive_insert, 9, ip) || job_rename_after_commit(ctx, tmp, final, e))
		goto out;
	log_info("archive: %s (%llu payload files, %d of them documents, %llu bytes%s), sha256 %.12s%s", final,
		 (unsigned long long)files, documents, (unsigned long long)bytes, signing ? ", signed" : ", not signed",
		 sha, run_id == ctx->run_id ? "" : " (an earlier run's archive, which its own archive step did not make)");
	rc = 0;
out:
	PQclear(info);
	bagit_writer_free(w); /* an unfinished bag's file goes with it */
	if (rc && run_id != ctx->run_id)
		err_prefix(e, "the archive of run %s: ", run);
	return rc;
}

static int archive_run(struct job_ctx *ctx, struct err *e)
{
	const struct config *cfg = ctx->cfg;
	char dir[4096], run[24], period[16];
	struct written done = { 0 };
	PGresult *earlier = NULL;

	/* This process is the step's own: a compressor (pigz) that dies must
	 * make the write fail with EPIPE and a message, not end the process. */
	signal(SIGPIPE, SIG_IGN);
	if ((*cfg->archive_sign_key != 0) != (*cfg->archive_sign_cert != 0)) {
		err_set(e, ERR_CONFIG, "archive.sign_key and archive.sign_cert must be set together");
		return err_hint(e, "set both to sign archives, or neither");
	}
	archive_dir(cfg, dir, sizeof(dir));
	if (fs_mkdirs(dir, 0755, e))
		return err_prefix(e, "archive: ");
	if (db_begin(ctx->db, e))
		return err_prefix(e, "archive: ");
	/* Earlier runs of this DAG and period whose archive step failed (a
	 * full or read-only disk): their archives first, each with its own
	 * run's documents, then this run's. */
	snprintf(run, sizeof(run), "%lld", (long long)ctx->run_id);
	snprintf(period, sizeof(period), "%s", ctx->period_start);
	const char *ep[] = { ctx->dag, period, run, ctx->step };
	earlier = db_query(ctx->db, e, SQL_archive_runs_unarchived, 4, ep);
	if (!earlier)
		goto fail;
	int n = PQntuples(earlier);
	done.tmp = calloc((size_t)n + 1, sizeof(*done.tmp));
	if (!done.tmp) {
		err_set(e, ERR_INTERNAL, "out of memory");
		goto fail;
	}
	for (int i = 0; i < n; i++)
		if (archive_one(ctx, dir, strtoll(PQgetvalue(earlier, i, 0), NULL, 10), &done, e))
			goto fail;
	if (archive_one(ctx, dir, ctx->run_id, &done, e))
		goto fail;
	PQclear(earlier);
	free(done.tmp);
	return job_commit_done(ctx, e);
fail:
	db_rollback(ctx->db);
	PQclear(earlier);
	for (int i = 0; i < done.n; i++)
		unlink(done.tmp[i]); /* finished, but the step failed */
	free(done.tmp);
	return err_prefix(e, "archive: ");
}

const struct job job_archive = { "archive", "a signed BagIt archive of the run (archive.dir)", archive_run };

/* ---- retention ---- */

/* Processed spool files older than the cutoff (mtime): raw usage. */
static int old_spool_files(const struct config *cfg, time_t cutoff, char ***list, int *count, char *dirbuf,
			   size_t dirsize, struct err *e)
{
	if (cfg->spool_processed_dir && *cfg->spool_processed_dir)
		snprintf(dirbuf, dirsize, "%s", cfg->spool_processed_dir);
	else
		snprintf(dirbuf, dirsize, "%s/processed", cfg->spool_dir);
	*list = NULL;
	*count = 0;
	DIR *d = opendir(dirbuf);
	if (!d)
		return errno == ENOENT ? 0 : err_set(e, ERR_IO, "could not read '%s': %s", dirbuf, strerror(errno));
	struct dirent *de;
	int cap = 0, rc = 0;
	while ((de = readdir(d)) != NULL) {
		char path[8200];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", dirbuf, de->d_name);
		if (de->d_name[0] == '.' || lstat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_mtime >= cutoff)
			continue;
		if (*count == cap) {
			cap = cap ? cap * 2 : 64;
			char **p = realloc(*list, (size_t)cap * sizeof(*p));
			if (!p) {
				rc = err_set(e, ERR_INTERNAL, "out of memory");
				break;
			}
			*list = p;
		}
		(*list)[(*count)++] = strdup(de->d_name);
	}
	closedir(d);
	return rc;
}

/* A JSON string for an audit payload (file names are data). */
static void json_string(struct text *t, const char *s)
{
	text_add(t, "\"");
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			text_add(t, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			text_add(t, "\\u%04x", (unsigned char)*s);
		else
			text_add(t, "%c", *s);
	}
	text_add(t, "\"");
}

int archive_prune(const struct config *cfg, struct db *db, const char *interval, int dry_run, FILE *out,
		  struct prune_report *r, struct err *e)
{
	char before_date[16], before_epoch[64], spool[4096];
	char **spool_files = NULL;
	int nspool = 0, rc = -1;
	PGresult *res = NULL;

	memset(r, 0, sizeof(*r));
	r->usage_records = -1;
	if (db_begin(db, e))
		return -1;
	const char *ip[] = { interval };
	res = db_query(db, e, SQL_archive_prune_cutoff, 1, ip);
	if (!res)
		goto out;
	snprintf(before_epoch, sizeof(before_epoch), "%s", PQgetvalue(res, 0, 0));
	snprintf(before_date, sizeof(before_date), "%s", PQgetvalue(res, 0, 1));
	snprintf(r->before, sizeof(r->before), "%s", PQgetvalue(res, 0, 2));
	PQclear(res);

	/* Archives of runs whose period ended before the cutoff. */
	const char *dp[] = { before_date };
	res = db_query(db, e, SQL_archive_prune_select, 1, dp);
	if (!res)
		goto out;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *mp[] = { PQgetvalue(res, i, 0) };
		if (dry_run)
			fprintf(out, "would remove archive %s\n", PQgetvalue(res, i, 1));
		else if (db_exec(db, e, SQL_archive_prune_mark, 1, mp))
			goto out;
		r->archives++;
	}
	PQclear(res);

	/* Raw usage: the rows, then the processed spool files. */
	const char *up[] = { before_epoch };
	res = db_query(db, e, SQL_archive_prune_usage, 1, up);
	if (!res)
		goto out;
	if (!PQgetisnull(res, 0, 0))
		r->usage_records = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	res = NULL;
	struct tm tm = { 0 };
	if (!strptime(r->before, "%Y-%m-%dT%H:%M:%SZ", &tm)) {
		err_set(e, ERR_INTERNAL, "bad cutoff '%s'", r->before);
		goto out;
	}
	if (old_spool_files(cfg, timegm(&tm), &spool_files, &nspool, spool, sizeof(spool), e))
		goto out;
	if (nspool > 0) {
		struct text t = { 0 };
		text_add(&t, "{\"folder\": ");
		json_string(&t, spool);
		text_add(&t, ", \"before\": \"%s\", \"files\": [", r->before);
		for (int i = 0; i < nspool; i++) {
			text_add(&t, i ? ", " : "");
			json_string(&t, spool_files[i]);
			if (dry_run)
				fprintf(out, "would remove spool file %s/%s\n", spool, spool_files[i]);
		}
		text_add(&t, "]}");
		int64_t id = t.data ? audit_append(db, "spool.pruned", spool, t.data, e) : -1;
		free(t.data);
		if (id < 0) {
			if (!t.data)
				err_set(e, ERR_INTERNAL, "out of memory");
			goto out;
		}
		r->spool_files = nspool;
	}
	if (dry_run) {
		if (r->usage_records >= 0)
			fprintf(out, "would remove %lld usage records before %s\n", (long long)r->usage_records, r->before);
		db_rollback(db);
		rc = 0;
		goto out;
	}
	if (db_commit(db, e))
		goto out;

	/* After the commit: the files. A crash here leaves files that the
	 * next prune removes (their archives are marked already). */
	res = db_query(db, e, SQL_archive_pruned_paths, 0, NULL);
	if (!res)
		goto out;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *p = PQgetvalue(res, i, 0);
		if (unlink(p) == 0)
			r->files_removed++;
		else if (errno != ENOENT)
			log_warn("archive prune: could not remove '%s': %s", p, strerror(errno));
	}
	for (int i = 0; i < nspool; i++) {
		char path[8200];
		snprintf(path, sizeof(path), "%s/%s", spool, spool_files[i]);
		if (unlink(path) != 0 && errno != ENOENT)
			log_warn("archive prune: could not remove '%s': %s", path, strerror(errno));
	}
	rc = 0;
out:
	PQclear(res);
	if (rc)
		db_rollback(db);
	for (int i = 0; i < nspool; i++)
		free(spool_files[i]);
	free(spool_files);
	return rc;
}
