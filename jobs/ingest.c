/*
 * ingest.c - the ingest step: the spool's files, each in one transaction,
 * into usage (deduplicated), quarantine_records and ingest_files, with
 * conservation (read = accepted + quarantined + duplicates) for every file.
 * Reading is in the readers (reader*.c), loading in ingest_load.c.
 */
#include "ingest.h"
#include "ingest_int.h"
#include "cfg.h"
#include "control.h"
#include "db.h"
#include "err.h"
#include "fs.h"
#include "hash.h"
#include "ingest_load.h"
#include "ingest_workers.h"
#include "partials.h"
#include "log.h"
#include "meters.h"
#include "progress.h"
#include "reader.h"
#include "schema_change.h"
#include "spool.h"
#include "sqltext.h"
#include "strset.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EVENT_KEY_MAX 1024  /* keeps index entries far below b-tree's limit */

/* One file's counts and totals. */
struct file_stats {
	int64_t records, candidates_not_billable;
	struct meter_totals read_totals;
	int has_cost;
	struct dec cost;
	int cost_overflow;
};

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9; /* for progress rates only, never money */
}

static void iso_now(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, size, "%04d-%02d-%02d %02d:%02d:%02d.%06ld+00", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000);
}

static int load_accounts(struct ingest *in, struct err *e)
{
	strset_init(&in->accounts);
	PGresult *res = db_query(in->db, e, SQL_ingest_accounts_known, 0, NULL);
	if (!res)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		if (strset_add(&in->accounts, PQgetvalue(res, i, 0), (size_t)PQgetlength(res, i, 0), 0) < 0) {
			PQclear(res);
			return err_set(e, ERR_INTERNAL, "out of memory loading accounts");
		}
	}
	PQclear(res);
	return 0;
}

/* ---- the spool ---- */

static void move_processed(struct ingest *in, const char *name, const char *sha)
{
	if (in->keep)
		return;
	char src[PATH_MAX], ctl[PATH_MAX], ctl_name[NAME_MAX + 8];
	snprintf(src, sizeof(src), "%s/%s", in->spool, name);
	struct err e;
	err_clear(&e);
	if (fs_mkdirs(in->processed, 0750, &e) != 0 || spool_move(src, in->processed, name, sha, &e) != 0) {
		log_warn("ingest: %s (the file stays in the spool, and is skipped by its SHA-256)", e.message);
		return;
	}
	snprintf(ctl, sizeof(ctl), "%s.ctl", src);
	snprintf(ctl_name, sizeof(ctl_name), "%s.ctl", name);
	if (access(ctl, F_OK) == 0 && spool_move(ctl, in->processed, ctl_name, sha, &e) != 0)
		log_warn("ingest: %s", e.message);
}

/* ---- one file ---- */

/* The bytes the readers get are the bytes hashed: the file's first
 * `limit` bytes (its size when it was opened), never what a writer adds
 * while it is read. */
struct file_input {
	int fd;
	EVP_MD_CTX *sha;
	int64_t bytes, limit;
};

static ssize_t file_read(void *ctx, char *buf, size_t cap, struct err *e)
{
	struct file_input *fi = ctx;
	if ((int64_t)cap > fi->limit - fi->bytes)
		cap = (size_t)(fi->limit - fi->bytes);
	if (cap == 0)
		return 0;
	ssize_t n = csv_read_fd(&fi->fd, buf, cap, e);
	if (n > 0) {
		EVP_DigestUpdate(fi->sha, buf, (size_t)n);
		fi->bytes += n;
	}
	return n;
}

/* The checks that need the database's reference data. */
static void validate(struct ingest *in, const struct source *src, struct usage_record *rec)
{
	if (rec->reason != REASON_NONE)
		return;
	if (rec->event_key_len > EVENT_KEY_MAX) {
		record_fail(rec, REASON_FIELD_TOO_LONG, "the event key is %zu bytes, the limit is %d",
			    rec->event_key_len, EVENT_KEY_MAX);
		return;
	}
	if (rec->event_time < in->time_min || rec->event_time >= in->time_max) {
		record_fail(rec, REASON_TIMESTAMP_OUT_OF_RANGE, "the time is outside [%s, %s)",
			    in->ctx->cfg->ingest_time_min, in->ctx->cfg->ingest_time_max);
		return;
	}
	if (!strset_get(&in->accounts, rec->account, rec->account_len, NULL)) {
		record_fail(rec, REASON_UNKNOWN_ACCOUNT, "account '%.*s' is not known", utf8_clip(rec->account,
			    rec->account_len, 100), rec->account);
		return;
	}
	int flags = 0, found;
	if (rec->meter_len == in->last_meter_len && memcmp(rec->meter, in->last_meter, rec->meter_len) == 0) {
		found = in->last_meter_found;
		flags = in->last_meter_flags;
	} else {
		found = meter_set_find(&in->meters, rec->meter, rec->meter_len, &flags);
		if (rec->meter_len < sizeof(in->last_meter)) {
			memcpy(in->last_meter, rec->meter, rec->meter_len);
			in->last_meter_len = rec->meter_len;
			in->last_meter_found = found;
			in->last_meter_flags = flags;
		}
	}
	if (!found) {
		record_fail(rec, REASON_UNKNOWN_METER, "meter '%.*s' is not in the rate card",
			    utf8_clip(rec->meter, rec->meter_len, 100), rec->meter);
		return;
	}
	if (dec_sign(rec->quantity) < 0 && !(flags & METER_ALLOW_CREDIT) &&
	    !strset_get(&src->credit, rec->meter, rec->meter_len, NULL)) {
		char q[DEC_STR_MAX];
		dec_format(rec->quantity, q, sizeof(q));
		record_fail(rec, REASON_NEGATIVE_QUANTITY, "quantity %s is negative and meter '%.*s' allows no credits",
			    q, (int)rec->meter_len, rec->meter);
	}
}

/* Control file beside the data file: read before the file (its record
 * count decides about a cut last record), compared with what was read. */
struct control_result {
	const char *status;
	struct control_file c;
	int usable;             /* c was read */
	struct textbuf stated, detail;
	char file[NAME_MAX + 8];
	int present;
};

static void control_load(struct ingest *in, const char *name, struct control_result *cr)
{
	char path[PATH_MAX];
	memset(cr, 0, sizeof(*cr));
	cr->status = "absent";
	snprintf(path, sizeof(path), "%s/%s.ctl", in->spool, name);
	if (access(path, F_OK) != 0)
		return;
	cr->present = 1;
	snprintf(cr->file, sizeof(cr->file), "%s.ctl", name);
	struct err ce;
	err_clear(&ce);
	if (control_read(path, &cr->c, &ce)) {
		cr->status = "invalid";
		textbuf_add(&cr->detail, ce.message, strlen(ce.message));
		log_warn("ingest: control file '%s' is not usable: %s", path, ce.message);
		control_release(&cr->c);
		return;
	}
	cr->usable = 1;
}

/* The record count the control file states, or -1. */
static int64_t control_records(const struct control_result *cr)
{
	return cr->usable && cr->c.has_records ? cr->c.records : -1;
}

static void control_check(const char *name, const char *sha, const struct file_stats *fs,
			  struct control_result *cr)
{
	if (!cr->usable)
		return;
	control_json(&cr->c, &cr->stated);
	struct control_actual a = { fs->records, sha, &fs->read_totals, fs->has_cost && !fs->cost_overflow, fs->cost };
	if (control_compare(&cr->c, &a, &cr->detail)) {
		cr->status = "match";
	} else {
		cr->status = "mismatch";
		log_warn("ingest: file '%s' does not match its control file: %s", name, cr->detail.p);
	}
}

static void control_result_release(struct control_result *cr)
{
	if (cr->usable)
		control_release(&cr->c);
	textbuf_release(&cr->stated);
	textbuf_release(&cr->detail);
	cr->usable = 0;
}

/* Was a file with this SHA-256 ingested before? 1 (and a log line), 0, -1. */
static int already_ingested(struct ingest *in, const char *name, const char *sha, struct err *e)
{
	const char *params[] = { sha };
	PGresult *res = db_query(in->db, e, SQL_ingest_file_by_sha, 1, params);
	if (!res)
		return -1;
	int found = PQntuples(res) > 0;
	if (found)
		log_info("ingest: '%s' was already ingested (file %s '%s', run %s): skipped", name,
			 PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
	PQclear(res);
	return found;
}

static int count_not_billable(struct ingest *in, int64_t file_id, int64_t *out, struct err *e)
{
	char id[32];
	snprintf(id, sizeof(id), "%lld", (long long)file_id);
	const char *params[] = { id };
	int rc = db_query_int64(in->db, e, out, SQL_ingest_file_not_billable, 1, params);
	return rc < 0 ? -1 : 0;
}

/* Everything one reading of a file produces. */
struct file_pass {
	struct reader reader;
	struct ingest_loader loader;
	struct file_stats fs;
	char sha[SHA256_HEX_LEN + 1];
	int64_t bytes;
	int64_t blank_lines;
	char header_problem[256];
	struct schema_check schema; /* its header against the source's last accepted file */
	int64_t cut_line;        /* read_pass returned PASS_CUT: the line the file ends inside */
};

/* The file's partial sums (migration 023, jobs/README.md "Partial
 * sums"), stored in its transaction: the loader's, summed while the
 * records streamed past, or where it could not be exact (a staged pass,
 * partials.h) computed by the server from the file's usage rows. */
static int store_partials(struct ingest *in, struct file_pass *pass, int64_t file_id, struct err *e)
{
	char id[32];
	const char *p[] = { id };

	if (pass->loader.partials && partials_exact(pass->loader.partials))
		return partials_store(pass->loader.partials, in->db, file_id, in->ctx->run_id, e) < 0 ? -1 : 0;
	if (pass->loader.partials)
		log_info("ingest: file %lld's partial sums are computed from its usage rows: it holds %s",
			 (long long)file_id, in->partials.why);
	else
		log_info("ingest: file %lld's partial sums are computed from its usage rows: the server chose "
			 "which of its rows were new", (long long)file_id);
	snprintf(id, sizeof(id), "%lld", (long long)file_id);
	return db_exec(in->db, e, SQL_ingest_file_partials_sql, 1, p);
}

static void pass_release(struct file_pass *p)
{
	reader_close(&p->reader);
	schema_check_release(&p->schema);
	ingest_loader_release(&p->loader);
	meter_totals_release(&p->fs.read_totals);
}

/* read_pass()'s results besides 0 and -1. */
#define PASS_RESTAGE 1  /* a LOAD_DIRECT pass met a key already in usage */
#define PASS_CUT 2      /* the file ends inside a record, and no control file counts it */

/*
 * The record rec the file ends inside (no line end after it): 1 when the
 * control file says the file is complete (it counts read records,
 * rec included), and rec is then quarantined as truncated; 0 when the
 * file is incomplete.
 */
static int cut_is_complete(struct usage_record *rec, int64_t read, int64_t ctl_records)
{
	if (ctl_records < 0 || ctl_records != read)
		return 0;
	rec->reason = REASON_NONE; /* before whatever its cut fields look like */
	record_fail(rec, REASON_TRUNCATED,
		    "the file ends inside this record, before its line end; the control file counts %lld records",
		    (long long)ctl_records);
	return 1;
}

/*
 * Read the open file's first size bytes and load them in mode. Returns 0,
 * PASS_RESTAGE (nothing of the pass is left: read again with LOAD_STAGED),
 * PASS_CUT (p->cut_line set; roll back) or -1 with e set. ctl_records is
 * the control file's record count, or -1.
 */
static int read_pass(struct ingest *in, struct source *src, const char *name, int fd, int64_t size,
		     int64_t file_id, enum load_mode mode, int64_t ctl_records, struct file_pass *p,
		     struct err *e)
{
	struct file_input fi = { fd, NULL, 0, size };
	int rc = -1, cut_seen = 0;

	memset(p, 0, sizeof(*p));
	meter_totals_init(&p->fs.read_totals);
	p->fs.cost = dec_zero();
	if (lseek(fd, 0, SEEK_SET) != 0)
		return err_set(e, ERR_IO, "could not rewind spool file '%s': %s", name, strerror(errno));
	fi.sha = EVP_MD_CTX_new();
	if (!fi.sha || !EVP_DigestInit_ex(fi.sha, EVP_sha256(), NULL)) {
		err_set(e, ERR_INTERNAL, "could not start a SHA-256 digest");
		goto out;
	}
	/* Loaded before the COPY begins. A staged pass leaves it to the server which rows are inserted: its
	 * partials come from the rows (store_partials). */
	if (mode == LOAD_DIRECT) {
		if (!in->partials_ready) {
			if (partials_init(&in->partials, in->db, in->ctx->period_start, in->ctx->period_end, e))
				goto out;
			in->partials_ready = 1;
		}
		partials_begin_file(&in->partials);
	}
	/* The header is compared before the COPY begins (no query runs during one). */
	if (reader_open(&p->reader, &src->rs, file_read, &fi, e) ||
	    schema_check_file(in->db, src->rs.source, src->refuse_schema_change, &p->reader, &p->schema, e) ||
	    ingest_loader_begin(&p->loader, in->db, mode, in->ctx->run_id, file_id, src->rs.source, name,
				size / 16 + 1, e))
		goto out;
	if (mode == LOAD_DIRECT)
		p->loader.partials = &in->partials;

	char what[NAME_MAX + 32];
	snprintf(what, sizeof(what), "records of '%s'", name);
	progress_start(what, 0);
	struct file_stats *fs = &p->fs;
	struct usage_record rec;
	int got;
	while ((got = reader_next(&p->reader, &rec, e)) > 0) {
		fs->records++;
		if (rec.cut) {
			cut_seen = 1;
			if (!cut_is_complete(&rec, fs->records, ctl_records)) {
				p->cut_line = rec.line_no;
				rc = PASS_CUT;
				progress_finish();
				goto out;
			}
		}
		validate(in, src, &rec);
		/* A truncated record's numbers are not what was sent: not in the totals. */
		if (rec.meter_len && rec.has_quantity && !rec.cut)
			meter_totals_add(&fs->read_totals, rec.meter, rec.meter_len, rec.quantity);
		if (rec.has_cost && !rec.cut && !fs->cost_overflow && dec_add(&fs->cost, fs->cost, rec.cost))
			fs->cost_overflow = 1;
		fs->has_cost |= rec.has_cost && !rec.cut;
		if (rec.reason != REASON_NONE) {
			if (ingest_loader_quarantine(&p->loader, &rec, e))
				goto out;
		} else {
			if (!rec.billable)
				fs->candidates_not_billable++;
			if (ingest_loader_usage(&p->loader, &rec, e))
				goto out;
		}
		if (in->crash_after > 0 && fs->records >= in->crash_after)
			_exit(99); /* the test hook: a crash in the middle of a file */
		if ((fs->records & 1023) == 0)
			progress_update(fs->records);
	}
	progress_update(fs->records);
	progress_finish();
	if (got < 0)
		goto out;
	if (p->reader.cut_line && !cut_seen && ctl_records != fs->records) {
		/* the file ends inside its header */
		p->cut_line = p->reader.cut_line;
		rc = PASS_CUT;
		goto out;
	}
	rc = ingest_loader_finish(&p->loader, e);
	if (rc)
		goto out;

	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_DigestFinal_ex(fi.sha, md, &mdlen);
	for (unsigned k = 0; k < mdlen; k++)
		snprintf(p->sha + 2 * k, 3, "%02x", md[k]);
	p->bytes = fi.bytes;
	p->blank_lines = reader_blank_lines(&p->reader);
	snprintf(p->header_problem, sizeof(p->header_problem), "%s", p->reader.problem);
	reader_close(&p->reader);
	rc = 0;
out:
	if (fi.sha)
		EVP_MD_CTX_free(fi.sha);
	return rc;
}

/* ingest_file()'s result for a file that could not be opened: the step
 * goes on with the other files and fails at the end. */
#define INGEST_UNREADABLE (-2)
/* ... and for a file left in the spool for the next run, nothing of it
 * committed (cut, or changed since it was listed or while it was read):
 * the step goes on, and names it at the end. */
#define INGEST_LEFT (-3)

/* Note a file left for the next run, for the step's closing line. */
static void note_left(struct ingest *in, const char *name)
{
	in->left++;
	if (in->left_names.len < 2000) {
		if (in->left_names.len)
			textbuf_add(&in->left_names, ", ", 2);
		textbuf_addc(&in->left_names, '\'');
		textbuf_add(&in->left_names, name, strlen(name));
		textbuf_addc(&in->left_names, '\'');
	} else if (in->left_names.p[in->left_names.len - 1] != '.') {
		textbuf_add(&in->left_names, ", ...", 5);
	}
}

/* listed: the file's stat when the spool was listed (and found settled). */
static int ingest_file(struct ingest *in, struct source *src, const char *name, const struct stat *listed,
		       struct err *e)
{
	char path[PATH_MAX], pre_sha[SHA256_HEX_LEN + 1] = "";
	char started[64];
	struct file_pass pass;
	struct control_result cr;
	struct stat st;
	int fd = -1, rc = -1, in_tx = 0;

	memset(&pass, 0, sizeof(pass));
	memset(&cr, 0, sizeof(cr));
	snprintf(path, sizeof(path), "%s/%s", in->spool, name);
	iso_now(started, sizeof(started));

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		char why[128];
		err_set(e, ERR_IO, "could not open spool file '%s': %s", path, fs_errno_text(errno, why, sizeof(why)));
		rc = INGEST_UNREADABLE;
		goto out;
	}
	if (!spool_same(&st, listed)) {
		log_info("ingest: '%s' changed since the spool was listed: left for the next run", name);
		rc = INGEST_LEFT;
		goto out;
	}
	/* Hash first only when a file of the same size was ingested before:
	 * otherwise it cannot be a repeat, and the hash is taken while reading. */
	char size[32];
	snprintf(size, sizeof(size), "%lld", (long long)st.st_size);
	const char *size_param[] = { size };
	PGresult *res = db_query(in->db, e, SQL_ingest_file_size_seen, 1, size_param);
	if (!res)
		goto out;
	int size_seen = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (size_seen) {
		if (hash_sha256_file(path, pre_sha, e))
			goto out;
		int seen = already_ingested(in, name, pre_sha, e);
		if (seen < 0)
			goto out;
		if (seen) {
			in->skipped++;
			move_processed(in, name, pre_sha);
			rc = 0;
			goto out;
		}
	}

	control_load(in, name, &cr);
	if (db_begin(in->db, e))
		goto out;
	in_tx = 1;
	int64_t file_id;
	if (db_query_int64(in->db, e, &file_id, SQL_ingest_file_next_id, 0, NULL))
		goto out;
	log_info("ingest: reading '%s' (source '%s', %s, %lld bytes)", name, src->rs.source, src->rs.format,
		 (long long)st.st_size);
	double t0 = now_seconds();
	int64_t ctl_records = control_records(&cr);
	int r = read_pass(in, src, name, fd, st.st_size, file_id, LOAD_DIRECT, ctl_records, &pass, e);
	if (r == PASS_RESTAGE) {
		log_info("ingest: '%s' holds event keys already ingested: reading it again to count them", name);
		pass_release(&pass);
		r = read_pass(in, src, name, fd, st.st_size, file_id, LOAD_STAGED, ctl_records, &pass, e);
	}
	if (r == PASS_CUT) {
		char ctl_says[96] = "";
		if (ctl_records >= 0)
			snprintf(ctl_says, sizeof(ctl_says), " (its control file counts %lld records, not %lld)",
				 (long long)ctl_records, (long long)pass.fs.records);
		log_warn("ingest: '%s' ends inside line %lld, before its line end: the file is incomplete%s; nothing "
			 "of it is ingested, it stays in the spool for the next run", path, (long long)pass.cut_line,
			 ctl_says);
		rc = INGEST_LEFT;
		goto out;
	}
	if (r)
		goto out;
	struct file_stats *fs = &pass.fs;
	const char *sha = pass.sha;
	if (pass.bytes != st.st_size || !spool_unchanged(fd, &st) || (pre_sha[0] && strcmp(pre_sha, sha) != 0)) {
		log_warn("ingest: '%s' changed while it was read: nothing of it is ingested, it stays in the spool for "
			 "the next run (senders should write under a hidden name, .name, and rename when done)", path);
		rc = INGEST_LEFT;
		goto out;
	}
	if (!pre_sha[0]) {
		int seen = already_ingested(in, name, sha, e);
		if (seen < 0)
			goto out;
		if (seen) {
			db_rollback(in->db);
			in_tx = 0;
			in->skipped++;
			move_processed(in, name, sha);
			rc = 0;
			goto out;
		}
	}
	struct ingest_loader *loader = &pass.loader;

	/* Unanswered calls that turned out to be duplicates are not in usage:
	 * count the exact figure when both happened in one file. */
	int64_t not_billable = fs->candidates_not_billable;
	if (not_billable && loader->duplicates && count_not_billable(in, file_id, &not_billable, e))
		goto out;

	if (store_partials(in, &pass, file_id, e))
		goto out;
	control_check(name, sha, fs, &cr);
	struct textbuf totals = { 0 };
	meter_totals_json(&fs->read_totals, &totals);
	char n_id[32], n_run[32], n_size[32], n_read[32], n_acc[32], n_q[32], n_dup[32], n_nb[32], n_blank[32];
	char cost[DEC_STR_MAX];
	snprintf(n_id, sizeof(n_id), "%lld", (long long)file_id);
	snprintf(n_run, sizeof(n_run), "%lld", (long long)in->ctx->run_id);
	snprintf(n_size, sizeof(n_size), "%lld", (long long)st.st_size);
	snprintf(n_read, sizeof(n_read), "%lld", (long long)fs->records);
	snprintf(n_acc, sizeof(n_acc), "%lld", (long long)loader->accepted);
	snprintf(n_q, sizeof(n_q), "%lld", (long long)loader->quarantined);
	snprintf(n_dup, sizeof(n_dup), "%lld", (long long)loader->duplicates);
	snprintf(n_nb, sizeof(n_nb), "%lld", (long long)not_billable);
	snprintf(n_blank, sizeof(n_blank), "%lld", (long long)pass.blank_lines);
	if (fs->has_cost && !fs->cost_overflow)
		dec_format(fs->cost, cost, sizeof(cost));
	struct schema_check *sc = &pass.schema;
	const char *params[25] = {
		n_id, n_run, src->rs.source, src->rs.format, name, sha, n_size, n_read, n_acc, n_q, n_dup, n_nb,
		n_blank, pass.header_problem[0] ? pass.header_problem : NULL, totals.p,
		fs->has_cost && !fs->cost_overflow ? cost : NULL, cr.present ? cr.file : NULL, cr.status,
		cr.stated.len ? cr.stated.p : NULL, cr.detail.len ? cr.detail.p : NULL, started,
		sc->header.len ? sc->header.p : NULL, sc->action ? sc->change.p : NULL, sc->action,
		sc->ignored.len ? sc->ignored.p : NULL,
	};
	int ins = db_exec(in->db, e, SQL_ingest_file_insert, 25, params);
	textbuf_release(&totals);
	if (ins || db_commit(in->db, e))
		goto out;
	in_tx = 0;
	in->files++;
	in->records += fs->records;
	in->accepted += loader->accepted;
	in->quarantined += loader->quarantined;
	in->duplicates += loader->duplicates;
	double secs = now_seconds() - t0;
	log_info("ingest: '%s': %lld read = %lld accepted + %lld quarantined + %lld duplicates, control %s, "
		 "%.1f s (%.0f records/s)", name, (long long)fs->records, (long long)loader->accepted,
		 (long long)loader->quarantined, (long long)loader->duplicates, cr.status, secs,
		 secs > 0 ? (double)fs->records / secs : 0.0);
	if (pass.header_problem[0])
		log_warn("ingest: file '%s' refused for its header: %s; its %lld records are quarantined as bad_header, "
			 "none is billed", name, pass.header_problem, (long long)loader->quarantined);
	if (sc->action && strcmp(sc->action, "refused") == 0)
		log_warn("ingest: file '%s' refused for a schema change: its header differs from that of '%s', the last "
			 "accepted file of source '%s': %s; its %lld records are quarantined as schema_change, none is "
			 "billed (schema_change = refuse)", name, sc->previous, src->rs.source, sc->change.p,
			 (long long)loader->quarantined);
	else if (sc->action)
		log_warn("ingest: file '%s' has a schema change: its header differs from that of '%s', the last accepted "
			 "file of source '%s': %s; accepted (schema_change = accept)%s%s", name, sc->previous,
			 src->rs.source, sc->change.p, sc->ignored.len ? ", the added columns ignored: " : "",
			 sc->ignored.len ? sc->ignored.p : "");
	move_processed(in, name, sha);
	rc = 0;
out:
	if (rc == INGEST_LEFT)
		note_left(in, name);
	else if (rc && e)
		err_prefix(e, "file '%s': ", name);
	pass_release(&pass); /* ends a COPY left open, before the rollback */
	if (in_tx)
		db_rollback(in->db);
	control_result_release(&cr);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* ---- the step ---- */

/* The files each loader reads: those of the sources assigned to it
 * (ingest_workers_assign). */
struct share {
	struct ingest *in;
	struct spool_entry *cand;
	struct source **cand_src;
	int ncand;
	int *loader_of;          /* per source (index into in->sources) */
};

static int read_share(void *arg, int which, int n, struct db *db, struct ingest_share *out, struct err *e)
{
	struct share *s = arg;
	struct ingest *in = s->in;
	int rc = 0;

	in->db = db;
	in->files = in->skipped = in->records = in->accepted = in->quarantined = in->duplicates = 0;
	in->left = 0;
	in->left_names.len = 0;
	(void)n;
	for (int i = 0; i < s->ncand && rc == 0; i++) {
		if (s->loader_of[s->cand_src[i] - in->sources] != which)
			continue;
		struct spool_entry *c = &s->cand[i];
		if (c->writer_pid) {
			log_warn("ingest: '%s/%s' is open for writing by process %d: left for the next run", in->spool,
				 c->name, c->writer_pid);
			note_left(in, c->name);
			continue;
		}
		int r = ingest_file(in, s->cand_src[i], c->name, &c->st, e);
		if (r == INGEST_UNREADABLE) {
			/* The others are ingested; the step fails at the end. */
			log_error("ingest: %s; the file stays in the spool", e->message);
			if (!out->unreadable++)
				snprintf(out->first_unreadable, sizeof(out->first_unreadable), "%s", e->message);
			err_clear(e);
		} else if (r != INGEST_LEFT && r) {
			rc = -1;
		}
	}
	struct ingest_share mine = {
		in->files, in->skipped, in->records, in->accepted, in->quarantined, in->duplicates, in->left, "", 0, "",
	};
	if (in->left)
		snprintf(mine.left_names, sizeof(mine.left_names), "%s", in->left_names.p);
	ingest_share_add(out, &mine);
	return rc;
}

static int ingest_run(struct job_ctx *ctx, struct err *e)
{
	struct ingest in;
	struct spool_entry *entries = NULL, *cand = NULL;
	int *loader_of = NULL;
	struct source **cand_src = NULL;
	int count = 0, rc = -1;

	memset(&in, 0, sizeof(in));
	in.ctx = ctx;
	in.db = ctx->db;
	strset_init(&in.accounts);
	strset_init(&in.meters.names);
	const char *crash = getenv(INGEST_CRASH_ENV);
	in.crash_after = crash ? atoll(crash) : 0;
	in.loaders = in.crash_after > 0 ? 1 : (int)ctx->cfg->ingest_loaders;

	if (ingest_load_settings(&in, e))
		goto out;
	if (db_exec(in.db, e, "SET client_encoding = 'UTF8'", 0, NULL))
		goto out;
	if (ctx->rules_file && *ctx->rules_file) {
		if (db_begin(in.db, e))
			goto out;
		int n = meters_sync(in.db, ctx->rules_file, e);
		if (n < 0 || db_commit(in.db, e)) {
			db_rollback(in.db);
			goto out;
		}
		log_info("ingest: %d meters from '%s'", n, ctx->rules_file);
	}
	if (meter_set_load(&in.meters, in.db, e) || load_accounts(&in, e))
		goto out;
	if (spool_list(in.spool, &entries, &count, e))
		goto out;
	int unmatched = 0, unreadable = 0, ncand = 0;
	char first_unreadable[ERR_MSG_MAX] = "";
	cand = calloc((size_t)(count ? count : 1), sizeof(*cand));
	cand_src = calloc((size_t)(count ? count : 1), sizeof(*cand_src));
	if (!cand || !cand_src) {
		err_set(e, ERR_INTERNAL, "out of memory");
		goto out;
	}
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	for (int i = 0; i < count; i++) {
		const char *name = entries[i].name;
		struct source *src = NULL;
		for (int k = 0; k < in.nsources && !src; k++)
			if (fnmatch(in.sources[k].pattern, name, FNM_PERIOD) == 0)
				src = &in.sources[k];
		if (!src) {
			unmatched++;
			log_debug("ingest: '%s' matches no source's pattern: left in the spool", name);
			continue;
		}
		int64_t age = spool_age_ms(&entries[i].st, &now);
		if (age < in.settle_ms) {
			log_info("ingest: '%s' was modified %.1f s ago, within ingest.settle_time (%.1f s): left for "
				 "the next run", name, (double)age / 1000.0, (double)in.settle_ms / 1000.0);
			note_left(&in, name);
			continue;
		}
		cand_src[ncand] = src;
		cand[ncand++] = entries[i];
	}
	int unseen = spool_find_writers(cand, ncand);
	if (unseen && ncand)
		log_debug("ingest: the open files of %d processes could not be seen (other users': only root sees "
			  "them); for those, ingest.settle_time alone tells a finished file", unseen);
	/* Files left before any was read (not settled) stay counted beside
	 * what the loaders report. */
	int left_before = in.left;
	struct textbuf names_before = { 0 };
	if (in.left_names.len)
		textbuf_add(&names_before, in.left_names.p, in.left_names.len);
	loader_of = calloc((size_t)in.nsources + 1, sizeof(*loader_of));
	if (!loader_of) {
		err_set(e, ERR_INTERNAL, "out of memory");
		goto out;
	}
	struct share share = { &in, cand, cand_src, ncand, loader_of };
	struct ingest_share total;
	memset(&total, 0, sizeof(total));
	int loaders = 1;
	{
		int *src_of = calloc((size_t)ncand + 1, sizeof(*src_of));
		int64_t *bytes = calloc((size_t)ncand + 1, sizeof(*bytes));
		if (src_of && bytes) {
			for (int i = 0; i < ncand; i++) {
				src_of[i] = (int)(cand_src[i] - in.sources);
				bytes[i] = (int64_t)cand[i].st.st_size;
			}
			loaders = ingest_workers_assign(in.nsources, src_of, bytes, ncand, in.loaders, loader_of);
		}
		free(src_of);
		free(bytes);
	}
	if (loaders > 1)
		log_info("ingest: %d files of several sources, read by %d loaders in parallel (a source's files by "
			 "one loader, in name order)", ncand, loaders);
	int wrc = loaders > 1 ? ingest_workers_run(loaders, ctx->cfg, ctx->db, read_share, &share, &total, e)
			      : read_share(&share, 0, 1, ctx->db, &total, e);
	in.db = ctx->db;
	in.files = total.files;
	in.skipped = total.skipped;
	in.records = total.records;
	in.accepted = total.accepted;
	in.quarantined = total.quarantined;
	in.duplicates = total.duplicates;
	in.left = left_before + total.left;
	in.left_names.len = 0;
	if (names_before.len)
		textbuf_add(&in.left_names, names_before.p, names_before.len);
	if (total.left_names[0]) {
		if (in.left_names.len)
			textbuf_add(&in.left_names, ", ", 2);
		textbuf_add(&in.left_names, total.left_names, strlen(total.left_names));
	}
	textbuf_release(&names_before);
	unreadable = total.unreadable;
	snprintf(first_unreadable, sizeof(first_unreadable), "%s", total.first_unreadable);
	if (wrc)
		goto out;
	if (unmatched)
		log_info("ingest: %d files in '%s' match no source and were left there", unmatched, in.spool);
	if (unreadable) {
		err_set(e, ERR_IO, "%d spool files could not be read (the first: %s)", unreadable, first_unreadable);
		err_hint(e, "the other files were ingested; make the files readable to billrun and run the DAG for "
			    "the period again ('billrun run'): they are ingested then, once");
		goto out;
	}
	if (db_begin(in.db, e) || job_commit_done(ctx, e))
		goto out;
	log_info("ingest: %lld files, %lld records read = %lld accepted + %lld quarantined + %lld duplicates; "
		 "%lld files skipped as already ingested", (long long)in.files, (long long)in.records,
		 (long long)in.accepted, (long long)in.quarantined, (long long)in.duplicates,
		 (long long)in.skipped);
	if (in.left)
		log_warn("ingest: %d files left in the spool for the next run, nothing of them ingested or billed "
			 "in this run: %s", in.left, in.left_names.p);
	rc = 0;
out:
	db_rollback(in.db);
	free(loader_of);
	free(cand);
	free(cand_src);
	spool_free(entries, count);
	textbuf_release(&in.left_names);
	for (int i = 0; i < in.nsources; i++)
		strset_release(&in.sources[i].credit);
	free(in.sources);
	strset_release(&in.accounts);
	meter_set_release(&in.meters);
	if (in.partials_ready)
		partials_release(&in.partials);
	return rc;
}

const struct job job_ingest = {
	"ingest", "read the spool's usage files into usage, quarantine and ingest_files", ingest_run,
};
