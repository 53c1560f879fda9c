/*
 * lineage.c - a run's OpenLineage events, composed from the database: the
 * run and each attempt of each step, START then COMPLETE or FAIL, with the
 * datasets each built-in step reads and writes (core/LINEAGE.md).
 */
#include "lineage.h"
#include "cfg.h"
#include "dag.h"
#include "db.h"
#include "err.h"
#include "fs.h"
#include "hash.h"
#include "job.h"
#include "reader.h"
#include "run_report.h"
#include "sqltext.h"

#include <dirent.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RUN_EVENT_URL "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
#define PARENT_URL "https://openlineage.io/spec/facets/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet"
#define NOMINAL_URL "https://openlineage.io/spec/facets/1-0-1/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet"
#define JOB_TYPE_URL "https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet"
#define SCHEMA_URL "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"
#define RUN_FACET_URL "urn:billrun:lineage:BillrunRunFacet:1-0-0"

/* Which files a job's datasets take from the rows that record them. */
enum job_files { FILES_NONE, FILES_INGEST, FILES_DOCUMENTS, FILES_XBRL, FILES_ARCHIVE };

/* What each built-in job reads and writes: its tables, and its files. */
static const struct job_datasets {
	const char *job;
	const char *in[6];
	const char *out[7];
	enum job_files files;
} job_datasets[] = {
	{ "ingest", { "meters", "accounts" }, { "usage", "quarantine_records", "ingest_files", "usage_partials" },
	  FILES_INGEST },
	{ "aggregate", { "usage_partials", "usage", "subscriptions" }, { "agg_snapshots", "agg_values" }, FILES_NONE },
	{ "rate", { "agg_values", "subscriptions", "fx_rates" }, { "ratings", "rated_lines" }, FILES_NONE },
	{ "reconcile", { "ingest_files", "usage_partials", "ratings" }, { "reconciliation_checks", "account_holds" },
	  FILES_NONE },
	{ "quarantine", { "quarantine_records", "reconciliation_checks" }, { "account_holds", "hold_releases" },
	  FILES_NONE },
	{ "invoice", { "ratings", "rated_lines", "account_holds" },
	  { "invoices", "invoice_lines", "credit_notes", "credit_note_lines", "invoice_files" }, FILES_DOCUMENTS },
	{ "chargeback", { "usage", "accounts" }, { "chargeback_reports" }, FILES_NONE },
	{ "xbrl", { "ratings", "account_holds", "quarantine_records" }, { NULL }, FILES_XBRL },
	{ "archive", { "runs", "ingest_files", "invoice_files", "audit_log" }, { "archives" }, FILES_ARCHIVE },
};

void lineage_uuid(const char *name, char out[37])
{
	/* RFC 4122's URL namespace, 6ba7b811-9dad-11d1-80b4-00c04fd430c8 */
	static const unsigned char ns[16] = { 0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1,
					      0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8 };
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (!c || !EVP_DigestInit_ex(c, EVP_sha1(), NULL) || !EVP_DigestUpdate(c, ns, sizeof(ns)) ||
	    !EVP_DigestUpdate(c, name, strlen(name)) || !EVP_DigestFinal_ex(c, md, &len))
		abort(); /* SHA-1 is always there in OpenSSL 3 */
	EVP_MD_CTX_free(c);
	md[6] = (unsigned char)((md[6] & 0x0f) | 0x50);
	md[8] = (unsigned char)((md[8] & 0x3f) | 0x80);
	static const int dash[16] = { [4] = 1, [6] = 1, [8] = 1, [10] = 1 };
	char *p = out;
	for (int k = 0; k < 16; k++) {
		if (dash[k])
			*p++ = '-';
		p += sprintf(p, "%02x", md[k]);
	}
	*p = '\0';
}

/* ---- JSON ---- */

static void add(struct textbuf *b, const char *s)
{
	textbuf_add(b, s, strlen(s));
}

static void add_str(struct textbuf *b, const char *s)
{
	json_add_string(b, s, strlen(s));
}

/* ,"key":"value" (or without the comma when first) */
static void add_kv(struct textbuf *b, const char *key, const char *value, int first)
{
	if (!first)
		textbuf_addc(b, ',');
	add_str(b, key);
	textbuf_addc(b, ':');
	add_str(b, value);
}

/* ,"key":N for a decimal integer text */
static void add_kn(struct textbuf *b, const char *key, const char *number)
{
	textbuf_addc(b, ',');
	add_str(b, key);
	textbuf_addc(b, ':');
	add(b, *number ? number : "0");
}

/* {"_producer":...,"_schemaURL":url  (left open for the facet's fields) */
static void facet_open(struct textbuf *b, const char *url)
{
	textbuf_addc(b, '{');
	add_kv(b, "_producer", LINEAGE_PRODUCER, 1);
	add_kv(b, "_schemaURL", url, 0);
}

/* ---- the state of one rendering ---- */

struct step_sets {
	char step[128];
	struct textbuf inputs, outputs;   /* JSON arrays */
};

struct event {
	char time[40];
	int seq;
	char *json;
};

struct lineage {
	const struct config *cfg;
	struct db *db;
	char id[32];
	PGresult *run;
	struct dag_set set;
	int have_set;
	const struct dag *dag;
	char pg_namespace[600], pg_database[256];
	char outdir[PATH_MAX];
	char run_uuid[37], parent_uuid[37];
	struct step_sets *sets;
	int nsets;
	struct event *events;
	int nevents, cap;
};

static int job_exists(const char *name)
{
	return job_find(name) != NULL;
}

static const char *cell(PGresult *r, int row, int col)
{
	return PQgetvalue(r, row, col);
}

/* dir as an absolute path (resolved when it exists) into out. */
static void absolute(const char *dir, char *out, size_t size)
{
	char real[PATH_MAX], cwd[PATH_MAX];
	if (realpath(dir, real))
		snprintf(out, size, "%s", real);
	else if (dir[0] != '/' && getcwd(cwd, sizeof(cwd)))
		snprintf(out, size, "%s/%s", cwd, dir);
	else
		snprintf(out, size, "%s", dir);
}

static void table_dataset(struct lineage *l, struct textbuf *b, const char *table)
{
	char name[400];
	if (b->len > 1)
		textbuf_addc(b, ',');
	snprintf(name, sizeof(name), "%s.public.%s", l->pg_database, table);
	textbuf_addc(b, '{');
	add_kv(b, "namespace", l->pg_namespace, 1);
	add_kv(b, "name", name, 0);
	textbuf_addc(b, '}');
}

/* A file with its SHA-256 and size (billrun_file), and more of the facet
 * (",\"source\":...") and more facets (",\"schema\":{...}") when given. */
static void file_dataset(struct textbuf *b, const char *path, const char *sha, const char *size,
			 const char *more_fields, const char *more_facets)
{
	if (b->len > 1)
		textbuf_addc(b, ',');
	textbuf_addc(b, '{');
	add_kv(b, "namespace", "file", 1);
	add_kv(b, "name", path, 0);
	if (!*sha || !*size) {
		/* a document recorded before its hash was (migration 019): no facet */
		textbuf_addc(b, '}');
		return;
	}
	add(b, ",\"facets\":{\"billrun_file\":");
	facet_open(b, LINEAGE_FILE_FACET_URL);
	add_kv(b, "sha256", sha, 0);
	add_kn(b, "size", size);
	if (more_fields)
		add(b, more_fields);
	textbuf_addc(b, '}');
	if (more_facets)
		add(b, more_facets);
	add(b, "}}");
}

static int ingest_files(struct lineage *l, struct textbuf *in, struct err *e)
{
	const char *p[] = { l->id };
	PGresult *r = db_query(l->db, e, SQL_lineage_ingest_files, 1, p);
	if (!r)
		return -1;
	char spool[PATH_MAX];
	absolute(l->cfg->spool_dir && *l->cfg->spool_dir ? l->cfg->spool_dir : ".", spool, sizeof(spool));
	for (int i = 0; i < PQntuples(r); i++) {
		char path[PATH_MAX + 256];
		struct textbuf more = { 0 }, facets = { 0 };
		snprintf(path, sizeof(path), "%s/%s", spool, cell(r, i, 0));
		add_kv(&more, "source", cell(r, i, 3), 0);
		add_kv(&more, "format", cell(r, i, 4), 0);
		add_kn(&more, "records", cell(r, i, 5));
		add_kn(&more, "accepted", cell(r, i, 6));
		add_kn(&more, "quarantined", cell(r, i, 7));
		add_kn(&more, "duplicates", cell(r, i, 8));
		if (*cell(r, i, 9)) {
			add(&facets, ",\"schema\":");
			facet_open(&facets, SCHEMA_URL);
			add(&facets, ",\"fields\":");
			add(&facets, cell(r, i, 9));
			textbuf_addc(&facets, '}');
		}
		file_dataset(in, path, cell(r, i, 1), cell(r, i, 2), more.p, facets.len ? facets.p : NULL);
		textbuf_release(&more);
		textbuf_release(&facets);
	}
	PQclear(r);
	return 0;
}

static int documents(struct lineage *l, struct textbuf *out, struct err *e)
{
	const char *p[] = { l->id };
	PGresult *r = db_query(l->db, e, SQL_lineage_documents, 1, p);
	if (!r)
		return -1;
	for (int i = 0; i < PQntuples(r); i++) {
		char path[PATH_MAX + 256];
		snprintf(path, sizeof(path), "%s/%s", l->outdir, cell(r, i, 0));
		file_dataset(out, path, cell(r, i, 1), cell(r, i, 2), NULL, NULL);
	}
	PQclear(r);
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The files of the run's xbrl/ folder (the instance and its taxonomy),
 * hashed now; temporary names (.tmp) are not outputs. */
static int xbrl_files(struct lineage *l, struct textbuf *out, struct err *e)
{
	char dir[PATH_MAX + 8];
	snprintf(dir, sizeof(dir), "%s/xbrl", l->outdir);
	DIR *d = opendir(dir);
	if (!d)
		return 0; /* the step wrote nothing (yet) */
	char *names[256];
	int n = 0, rc = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < 256) {
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.' || (len > 4 && strcmp(de->d_name + len - 4, ".tmp") == 0))
			continue;
		names[n] = strdup(de->d_name);
		if (names[n])
			n++;
	}
	closedir(d);
	qsort(names, (size_t)n, sizeof(names[0]), by_name);
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX + 300], sha[SHA256_HEX_LEN + 1], size[32];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (rc == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (hash_sha256_file(path, sha, e))
				rc = -1;
			else {
				snprintf(size, sizeof(size), "%lld", (long long)st.st_size);
				file_dataset(out, path, sha, size, NULL, NULL);
			}
		}
		free(names[i]);
	}
	return rc;
}

static int archives(struct lineage *l, struct textbuf *out, struct err *e)
{
	const char *p[] = { l->id };
	PGresult *r = db_query(l->db, e, SQL_lineage_archives, 1, p);
	if (!r)
		return -1;
	for (int i = 0; i < PQntuples(r); i++) {
		char path[PATH_MAX];
		absolute(cell(r, i, 0), path, sizeof(path));
		file_dataset(out, path, cell(r, i, 1), cell(r, i, 2), NULL, NULL);
	}
	PQclear(r);
	return 0;
}

/* The datasets of step (computed once per step). */
static struct step_sets *step_datasets(struct lineage *l, const char *step, struct err *e)
{
	for (int i = 0; i < l->nsets; i++)
		if (strcmp(l->sets[i].step, step) == 0)
			return &l->sets[i];
	struct step_sets *s = realloc(l->sets, sizeof(*s) * (size_t)(l->nsets + 1));
	if (!s) {
		err_set(e, ERR_INTERNAL, "out of memory");
		return NULL;
	}
	l->sets = s;
	s = &l->sets[l->nsets++];
	memset(s, 0, sizeof(*s));
	snprintf(s->step, sizeof(s->step), "%s", step);
	textbuf_addc(&s->inputs, '[');
	textbuf_addc(&s->outputs, '[');

	const char *job = NULL;
	int k = l->dag ? dag_step_index(l->dag, step) : -1;
	if (k >= 0)
		job = l->dag->steps[k].job;   /* NULL: an exec step, whose datasets billrun does not know */
	else if (job_exists(step))
		job = step;                   /* a step gone from the config: its name is its job's */
	const struct job_datasets *jd = NULL;
	for (size_t i = 0; job && i < sizeof(job_datasets) / sizeof(job_datasets[0]); i++)
		if (strcmp(job_datasets[i].job, job) == 0)
			jd = &job_datasets[i];
	int rc = 0;
	if (jd) {
		if (jd->files == FILES_INGEST)
			rc = ingest_files(l, &s->inputs, e);
		for (int i = 0; i < 6 && jd->in[i]; i++)
			table_dataset(l, &s->inputs, jd->in[i]);
		for (int i = 0; i < 7 && jd->out[i]; i++)
			table_dataset(l, &s->outputs, jd->out[i]);
		if (rc == 0 && jd->files == FILES_DOCUMENTS)
			rc = documents(l, &s->outputs, e);
		else if (rc == 0 && jd->files == FILES_XBRL)
			rc = xbrl_files(l, &s->outputs, e);
		else if (rc == 0 && jd->files == FILES_ARCHIVE)
			rc = archives(l, &s->outputs, e);
	}
	textbuf_addc(&s->inputs, ']');
	textbuf_addc(&s->outputs, ']');
	return rc ? NULL : s;
}

/* ---- events ---- */

static int push(struct lineage *l, const char *time, struct textbuf *b, struct err *e)
{
	if (l->nevents == l->cap) {
		int cap = l->cap ? l->cap * 2 : 32;
		struct event *v = realloc(l->events, sizeof(*v) * (size_t)cap);
		if (!v)
			return err_set(e, ERR_INTERNAL, "out of memory");
		l->events = v;
		l->cap = cap;
	}
	struct event *ev = &l->events[l->nevents];
	snprintf(ev->time, sizeof(ev->time), "%s", time);
	ev->seq = l->nevents++;
	ev->json = b->p; /* taken over */
	memset(b, 0, sizeof(*b));
	return 0;
}

/*
 * One event into b: type at time, for runId uuid of job name (jobType DAG
 * or TASK), with billrun's own facts (attempt: step, attempt, status,
 * message, exit code; NULL for the run) and the datasets (NULL: none).
 */
static void event(struct lineage *l, struct textbuf *b, const char *type, const char *time, const char *uuid,
		  const char *job, int is_task, PGresult *attempt, int row, const struct step_sets *sets)
{
	PGresult *run = l->run;
	char start[40], end[40];
	snprintf(start, sizeof(start), "%sT00:00:00Z", cell(run, 0, 2));
	snprintf(end, sizeof(end), "%sT00:00:00Z", cell(run, 0, 3));

	textbuf_addc(b, '{');
	add_kv(b, "eventType", type, 1);
	add_kv(b, "eventTime", time, 0);
	add(b, ",\"run\":{");
	add_kv(b, "runId", uuid, 1);
	add(b, ",\"facets\":{\"nominalTime\":");
	facet_open(b, NOMINAL_URL);
	add_kv(b, "nominalStartTime", start, 0);
	add_kv(b, "nominalEndTime", end, 0);
	add(b, "},\"billrun_run\":");
	facet_open(b, RUN_FACET_URL);
	add_kn(b, "run", l->id);
	add_kv(b, "dag", cell(run, 0, 0), 0);
	if (attempt) {
		add_kv(b, "step", cell(attempt, row, 0), 0);
		add_kn(b, "attempt", cell(attempt, row, 1));
		if (strcmp(type, "START") != 0) {
			add_kv(b, "status", cell(attempt, row, 2), 0);
			if (*cell(attempt, row, 6))
				add_kn(b, "exitCode", cell(attempt, row, 6));
			if (*cell(attempt, row, 5))
				add_kv(b, "message", cell(attempt, row, 5), 0);
		}
	} else if (strcmp(type, "START") != 0) {
		add_kv(b, "status", cell(run, 0, 1), 0);
	}
	if (*cell(run, 0, 6))
		add_kn(b, "rerunOf", cell(run, 0, 6));
	textbuf_addc(b, '}');
	if (*cell(run, 0, 6)) {
		/* A rerun names the run it reruns as the parent of all its events. */
		add(b, ",\"parent\":");
		facet_open(b, PARENT_URL);
		add(b, ",\"run\":{");
		add_kv(b, "runId", l->parent_uuid, 1);
		add(b, "},\"job\":{");
		add_kv(b, "namespace", LINEAGE_NAMESPACE, 1);
		add_kv(b, "name", cell(run, 0, 7), 0);
		add(b, "}}");
	}
	add(b, "}},\"job\":{");
	add_kv(b, "namespace", LINEAGE_NAMESPACE, 1);
	add_kv(b, "name", job, 0);
	add(b, ",\"facets\":{\"jobType\":");
	facet_open(b, JOB_TYPE_URL);
	add_kv(b, "processingType", "BATCH", 0);
	add_kv(b, "integration", "BILLRUN", 0);
	add_kv(b, "jobType", is_task ? "TASK" : "DAG", 0);
	add(b, "}}}");
	add(b, ",\"inputs\":");
	add(b, sets ? sets->inputs.p : "[]");
	add(b, ",\"outputs\":");
	add(b, sets ? sets->outputs.p : "[]");
	add_kv(b, "producer", LINEAGE_PRODUCER, 0);
	add_kv(b, "schemaURL", RUN_EVENT_URL, 0);
	textbuf_addc(b, '}');
}

static int by_time(const void *a, const void *b)
{
	const struct event *x = a, *y = b;
	int c = strcmp(x->time, y->time);
	return c ? c : x->seq - y->seq;
}

static void lineage_release(struct lineage *l)
{
	PQclear(l->run);
	if (l->have_set)
		dag_set_release(&l->set);
	for (int i = 0; i < l->nsets; i++) {
		textbuf_release(&l->sets[i].inputs);
		textbuf_release(&l->sets[i].outputs);
	}
	free(l->sets);
	for (int i = 0; i < l->nevents; i++)
		free(l->events[i].json);
	free(l->events);
}

int lineage_render(const struct config *cfg, struct db *db, int64_t run_id, FILE *out, struct err *e)
{
	struct lineage l;
	PGresult *att = NULL;
	struct textbuf b = { 0 }, last = { 0 };
	int rc = -1;

	memset(&l, 0, sizeof(l));
	l.cfg = cfg;
	l.db = db;
	snprintf(l.id, sizeof(l.id), "%lld", (long long)run_id);
	const char *p[] = { l.id };
	l.run = db_query(db, e, SQL_lineage_run, 1, p);
	if (!l.run)
		goto out;
	if (PQntuples(l.run) < 1) {
		err_set(e, ERR_NOT_FOUND, "no run %s", l.id);
		goto out;
	}
	/* Which job each step runs: the DAG as the configuration has it. A
	 * configuration that no longer loads leaves the steps' names. */
	struct err de;
	err_clear(&de);
	if (dag_set_load(&l.set, cfg, job_exists, &de) == 0) {
		l.have_set = 1;
		l.dag = dag_set_find(&l.set, cell(l.run, 0, 0), &de);
	}
	PGconn *conn = db->conn;
	const char *host = PQhost(conn), *port = PQport(conn);
	snprintf(l.pg_namespace, sizeof(l.pg_namespace), "postgres://%s:%s",
		 !host || !*host || host[0] == '/' ? "localhost" : host, port && *port ? port : "5432");
	snprintf(l.pg_database, sizeof(l.pg_database), "%s", PQdb(conn));
	if (*cell(l.run, 0, 9)) {
		absolute(cell(l.run, 0, 9), l.outdir, sizeof(l.outdir));
	} else {
		char path[4200];
		if (lineage_default_path(cfg, db, run_id, path, sizeof(path), e))
			goto out;
		*strrchr(path, '/') = '\0';
		absolute(path, l.outdir, sizeof(l.outdir));
	}
	char name[200];
	snprintf(name, sizeof(name), "billrun:run:%s:%s", l.id, cell(l.run, 0, 4));
	lineage_uuid(name, l.run_uuid);
	if (*cell(l.run, 0, 6)) {
		snprintf(name, sizeof(name), "billrun:run:%s:%s", cell(l.run, 0, 6), cell(l.run, 0, 8));
		lineage_uuid(name, l.parent_uuid);
	}

	const char *dag = cell(l.run, 0, 0);
	att = db_query(db, e, SQL_lineage_attempts, 1, p);
	if (!att)
		goto out;
	for (int i = 0; i < PQntuples(att); i++) {
		const char *step = cell(att, i, 0);
		struct step_sets *sets = step_datasets(&l, step, e);
		if (!sets)
			goto out;
		char uuid[37], job[300], uname[400];
		snprintf(uname, sizeof(uname), "billrun:run:%s:%s:%s:%s", l.id, cell(l.run, 0, 4), step, cell(att, i, 1));
		lineage_uuid(uname, uuid);
		snprintf(job, sizeof(job), "%s.%s", dag, step);
		event(&l, &b, "START", cell(att, i, 3), uuid, job, 1, att, i, sets);
		if (push(&l, cell(att, i, 3), &b, e))
			goto out;
		if (*cell(att, i, 4)) {
			event(&l, &b, strcmp(cell(att, i, 2), "success") == 0 ? "COMPLETE" : "FAIL", cell(att, i, 4),
			      uuid, job, 1, att, i, sets);
			if (push(&l, cell(att, i, 4), &b, e))
				goto out;
		}
	}
	qsort(l.events, (size_t)l.nevents, sizeof(l.events[0]), by_time);

	/* The run's own events frame its steps'. */
	event(&l, &b, "START", cell(l.run, 0, 4), l.run_uuid, dag, 0, NULL, 0, NULL);
	fprintf(out, "%s\n", b.p);
	for (int i = 0; i < l.nevents; i++)
		fprintf(out, "%s\n", l.events[i].json);
	if (*cell(l.run, 0, 5)) {
		event(&l, &last, strcmp(cell(l.run, 0, 1), "success") == 0 ? "COMPLETE" : "FAIL", cell(l.run, 0, 5),
		      l.run_uuid, dag, 0, NULL, 0, NULL);
		fprintf(out, "%s\n", last.p);
	}
	rc = 0;
out:
	PQclear(att);
	textbuf_release(&b);
	textbuf_release(&last);
	lineage_release(&l);
	return rc;
}

int lineage_default_path(const struct config *cfg, struct db *db, int64_t run_id, char *buf, size_t size,
			 struct err *e)
{
	if (run_report_default_path(cfg, db, run_id, buf, size, e))
		return -1;
	char *slash = strrchr(buf, '/');
	size_t at = slash ? (size_t)(slash - buf) + 1 : 0;
	snprintf(buf + at, size - at, "%s", LINEAGE_FILE);
	return 0;
}

int lineage_write(const struct config *cfg, struct db *db, int64_t run_id, struct err *e)
{
	char path[4200], tmp[4300];
	if (lineage_default_path(cfg, db, run_id, path, sizeof(path), e))
		return -1;
	/* One temporary name per file: a writer killed half-way leaves a
	 * file the next writer replaces. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	struct fs_out o;
	if (fs_out_open(&o, tmp, e))
		return err_prefix(e, "lineage: ");
	if (lineage_render(cfg, db, run_id, o.f, e)) {
		fs_out_abort(&o);
		return -1;
	}
	return fs_out_commit(&o, path, e) ? err_prefix(e, "lineage: ") : 0;
}
