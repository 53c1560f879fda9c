/*
 * cmd_quarantine.c - `billrun quarantine list|release|reprocess`: what the
 * quarantine zone holds and why, lifting holds (with a note, audited; the
 * next run's invoice step bills what was released), and handing a file of
 * corrected records back to ingest through the spool. jobs/RECONCILE.md
 * explains holds and their reasons.
 */
#include "cli.h"
#include "cluster.h"
#include "db.h"
#include "fs.h"
#include "hash.h"
#include "log.h"
#include "sqltext.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- output ---- */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/* Rows as aligned columns (the last one unpadded and uncut), or JSON
 * lines with --json. */
static void print_rows(const PGresult *res, const char *const *names, int ncols, int json, FILE *out)
{
	int nt = PQntuples(res);
	if (json) {
		for (int r = 0; r < nt; r++) {
			fputc('{', out);
			for (int c = 0; c < ncols; c++) {
				fprintf(out, "%s", c ? "," : "");
				json_str(out, names[c]);
				fputc(':', out);
				json_str(out, PQgetvalue(res, r, c));
			}
			fputs("}\n", out);
		}
		return;
	}
	int width[16] = { 0 };
	for (int c = 0; c < ncols && c < 16; c++) {
		width[c] = (int)strlen(names[c]);
		for (int r = 0; r < nt; r++) {
			int w = (int)strlen(PQgetvalue(res, r, c));
			if (w > width[c])
				width[c] = w > 40 ? 40 : w;
		}
	}
	for (int c = 0; c < ncols && c < 16; c++) {
		if (c + 1 < ncols)
			fprintf(out, "%-*s  ", width[c], names[c]);
		else
			fprintf(out, "%s\n", names[c]);
	}
	for (int r = 0; r < nt; r++)
		for (int c = 0; c < ncols && c < 16; c++) {
			const char *v = PQgetvalue(res, r, c);
			if (c + 1 < ncols)
				fprintf(out, "%-*.*s  ", width[c], width[c], v);
			else
				fprintf(out, "%s\n", v);
		}
}

static int is_id(const char *s)
{
	if (!*s || strlen(s) > 18)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* ---- list ---- */

static int quarantine_list(struct cli *cli, int argc, char **argv, struct err *e)
{
	static const struct option opts[] = {
		{ "run", required_argument, NULL, 'r' }, { "reason", required_argument, NULL, 'R' },
		{ "all", no_argument, NULL, 'a' }, { "records", no_argument, NULL, 'q' }, { 0 },
	};
	const char *run = NULL, *reason = NULL;
	int all = 0, records = 0, c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': run = optarg; break;
		case 'R': reason = optarg; break;
		case 'a': all = 1; break;
		case 'q': records = 1; break;
		default: return cli_usage_error(e, "quarantine", "bad option for 'quarantine list'");
		}
	}
	if (optind < argc)
		return cli_usage_error(e, "quarantine", "'quarantine list' takes no arguments, only options");
	if (run && !is_id(run))
		return cli_usage_error(e, "quarantine", "--run '%s' is not a run id", run);

	struct db *db = cluster_connect(&cli->cfg, DB_ROLE_AUDITOR, e);
	if (!db)
		return -1;
	int rc = -1;
	PGresult *res = NULL;
	if (reason) {
		int64_t known = 0;
		const char *p[] = { reason };
		if (db_query_int64(db, e, &known, SQL_quarantine_reason_known, 1, p) < 0)
			goto out;
		if (!known) {
			cli_usage_error(e, "quarantine", "'%s' is not a reason billrun holds or quarantines with", reason);
			err_hint(e, "see table hold_reasons (holds) and quarantine_reasons (records), or jobs/RECONCILE.md");
			goto out;
		}
	}
	if (records) {
		static const char *const names[] = { "id", "run", "account", "reason", "file", "line", "message", "raw" };
		const char *p[] = { run, reason };
		if (!(res = db_query(db, e, SQL_quarantine_list_records, 2, p)))
			goto out;
		print_rows(res, names, 8, cli->json, stdout);
	} else {
		static const char *const names[] = { "id", "run", "account", "period", "reason", "status", "created",
						     "detail", "released_at", "released_by", "note" };
		const char *p[] = { run, reason, all ? "true" : "false" };
		if (!(res = db_query(db, e, SQL_quarantine_list, 3, p)))
			goto out;
		print_rows(res, names, cli->json || all ? 11 : 8, cli->json, stdout);
		if (!cli->json && PQntuples(res) == 0)
			printf("(no %s%s)\n", all ? "holds" : "holds in force", run || reason ? " matching" : "");
	}
	rc = 0;
out:
	PQclear(res);
	db_free(db);
	return rc;
}

/* ---- release ---- */

/* Who releases: the person behind sudo, else the login. */
static void who_am_i(char *buf, size_t size)
{
	const char *sudo = getenv("SUDO_USER");
	struct passwd *pw = getpwuid(getuid());
	if (sudo && *sudo)
		snprintf(buf, size, "%s (sudo)", sudo);
	else if (pw)
		snprintf(buf, size, "%s", pw->pw_name);
	else
		snprintf(buf, size, "uid %d", (int)getuid());
}

static int quarantine_release(struct cli *cli, int argc, char **argv, struct err *e)
{
	static const struct option opts[] = { { "note", required_argument, NULL, 'n' }, { 0 } };
	const char *note = NULL;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'n')
			note = optarg;
		else
			return cli_usage_error(e, "quarantine", "bad option for 'quarantine release'");
	}
	if (optind >= argc)
		return cli_usage_error(e, "quarantine", "'quarantine release' needs the id of at least one hold");
	const char *p = note;
	while (p && (*p == ' ' || *p == '\t' || *p == '\n'))
		p++;
	if (!p || !*p)
		return cli_usage_error(e, "quarantine", "a release needs a note saying why: --note TEXT");
	for (int i = optind; i < argc; i++)
		if (!is_id(argv[i]))
			return cli_usage_error(e, "quarantine", "'%s' is not a hold id", argv[i]);

	char who[256];
	who_am_i(who, sizeof(who));
	struct db *db = cluster_connect(&cli->cfg, DB_ROLE_APP, e);
	if (!db)
		return -1;
	int rc = -1;
	PGresult *res = NULL;
	char *done = NULL;           /* what was released, printed after the commit */
	size_t done_len = 0;
	if (db_begin(db, e))
		goto out;
	/* All or none: one transaction, so a bad id releases nothing. */
	for (int i = optind; i < argc; i++) {
		const char *id[] = { argv[i] };
		if (!(res = db_query(db, e, SQL_quarantine_hold_get, 1, id)))
			goto out;
		if (PQntuples(res) == 0) {
			err_set(e, ERR_NOT_FOUND, "there is no hold %s", argv[i]);
			err_hint(e, "see 'billrun quarantine list'; nothing was released");
			goto out;
		}
		if (PQgetvalue(res, 0, 4)[0] == 't') {
			err_set(e, ERR_INPUT, "hold %s was released already (at %s by %s)", argv[i], PQgetvalue(res, 0, 5),
				PQgetvalue(res, 0, 6));
			err_hint(e, "nothing was released; leave it out");
			goto out;
		}
		const char *rp[] = { argv[i], who, note };
		if (db_exec(db, e, SQL_quarantine_release, 3, rp)) {
			if (strcmp(e->sqlstate, "23505") == 0) {
				err_set(e, ERR_TEMPFAIL, "hold %s was released by someone else just now", argv[i]);
				err_hint(e, "nothing was released; see 'billrun quarantine list --all'");
			}
			goto out;
		}
		char line[1024];
		int n = snprintf(line, sizeof(line), "released hold %s: account %s, period %s, reason %s\n", argv[i],
				 PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3));
		char *grown = realloc(done, done_len + (size_t)n + 1);
		if (!grown) {
			err_set(e, ERR_INTERNAL, "out of memory");
			goto out;
		}
		done = grown;
		memcpy(done + done_len, line, (size_t)n + 1);
		done_len += (size_t)n;
		PQclear(res);
		res = NULL;
	}
	if (db_commit(db, e))
		goto out;
	if (done)
		fputs(done, stdout);
	printf("the next run's invoice step bills the released account periods that hold nothing else\n");
	rc = 0;
out:
	free(done);
	PQclear(res);
	if (rc)
		db_rollback(db);
	db_free(db);
	return rc;
}

/* ---- reprocess ---- */

/* The source whose pattern the file name matches (as ingest matches
 * spool files), or NULL. */
static const char *matching_source(const struct config *cfg, const char *name)
{
	config_setting_t *list = config_lookup((config_t *)&cfg->lc, "sources");
	for (int i = 0; list && i < config_setting_length(list); i++) {
		config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
		const char *pattern = NULL, *source = NULL;
		config_setting_lookup_string(g, "pattern", &pattern);
		config_setting_lookup_string(g, "name", &source);
		if (pattern && source && fnmatch(pattern, name, FNM_PERIOD) == 0)
			return source;
	}
	return NULL;
}

/* Copy src to a hidden name in dir (ingest skips hidden files), flushed
 * to disk. tmp receives its path. */
static int copy_hidden(const char *src, const char *dir, const char *name, char *tmp, size_t size, struct err *e)
{
	char buf[65536];
	snprintf(tmp, size, "%s/.%s.reprocess-%d", dir, name, (int)getpid());
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return err_set(e, ERR_IO, "could not open '%s': %s", src, strerror(errno));
	int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (out < 0) {
		int errnum = errno;
		close(in);
		return fs_error(e, "create", tmp, errnum);
	}
	ssize_t n;
	int rc = 0;
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0) {
				rc = fs_write_error(e, tmp, errno);
				goto done;
			}
			off += w;
		}
	}
	if (n < 0)
		rc = err_set(e, ERR_IO, "could not read '%s': %s", src, strerror(errno));
	else if (fsync(out) != 0)
		rc = fs_write_error(e, tmp, errno);
done:
	close(in);
	if (close(out) != 0 && rc == 0)
		rc = fs_write_error(e, tmp, errno);
	if (rc)
		unlink(tmp);
	return rc;
}

/* Give tmp its final name without ever replacing a file. */
static int place(const char *tmp, const char *final, struct err *e)
{
	if (link(tmp, final) != 0) {
		int err = errno;
		if (err == EEXIST) {
			err_set(e, ERR_INPUT, "'%s' exists already", final);
			return err_hint(e, "wait until ingest has taken it, or give the corrected file another name "
					   "that matches the source's pattern");
		}
		return err_set(e, ERR_IO, "could not create '%s': %s", final, strerror(err));
	}
	unlink(tmp);
	return 0;
}

static int quarantine_reprocess(struct cli *cli, int argc, char **argv, struct err *e)
{
	if (argc != 2)
		return cli_usage_error(e, "quarantine", "'quarantine reprocess' takes one file");
	const char *path = argv[1];
	char pathbuf[PATH_MAX], name[NAME_MAX + 1], ctl[PATH_MAX + 8];
	char sha[SHA256_HEX_LEN + 1], spool[PATH_MAX], dir_real[PATH_MAX], spool_real[PATH_MAX];
	char tmp[PATH_MAX + 64], ctl_tmp[PATH_MAX + 64], final[PATH_MAX + NAME_MAX + 2],
		ctl_final[PATH_MAX + NAME_MAX + 8];
	struct stat st;

	snprintf(pathbuf, sizeof(pathbuf), "%s", path);
	snprintf(name, sizeof(name), "%s", basename(pathbuf));
	if (stat(path, &st) != 0)
		return err_set(e, ERR_IO, "could not open '%s': %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return err_set(e, ERR_INPUT, "'%s' is not a regular file", path);
	if (name[0] == '.') {
		err_set(e, ERR_INPUT, "'%s' is a hidden file name: ingest would not read it", name);
		return err_hint(e, "rename the file");
	}
	const char *source = matching_source(&cli->cfg, name);
	if (!source) {
		err_set(e, ERR_INPUT, "'%s' matches no source's pattern: ingest would not read it", name);
		return err_hint(e, "name the corrected file like the source's files (key 'sources' in %s)",
				cli->cfg.path[0] ? cli->cfg.path : "the configuration");
	}
	snprintf(spool, sizeof(spool), "%s", cli->cfg.spool_dir);
	snprintf(pathbuf, sizeof(pathbuf), "%s", path);
	if (!realpath(dirname(pathbuf), dir_real) || !realpath(spool, spool_real))
		return err_set(e, ERR_IO, "could not resolve '%s' or the spool '%s': %s", path, spool, strerror(errno));
	if (strcmp(dir_real, spool_real) == 0) {
		err_set(e, ERR_INPUT, "'%s' is in the spool already", path);
		return err_hint(e, "the next run's ingest step reads it as it is");
	}
	if (hash_sha256_file(path, sha, e))
		return -1;

	struct db *db = cluster_connect(&cli->cfg, DB_ROLE_APP, e);
	if (!db)
		return -1;
	int rc = -1, placed = 0, ctl_placed = 0;
	tmp[0] = ctl_tmp[0] = '\0';
	snprintf(final, sizeof(final), "%s/%s", spool, name);
	snprintf(ctl_final, sizeof(ctl_final), "%s/%s.ctl", spool, name);
	snprintf(ctl, sizeof(ctl), "%s.ctl", path);
	int has_ctl = access(ctl, F_OK) == 0;

	const char *sp[] = { sha };
	PGresult *res = db_query(db, e, SQL_quarantine_file_ingested, 1, sp);
	if (!res)
		goto out;
	if (PQntuples(res) > 0) {
		err_set(e, ERR_INPUT, "'%s' was ingested already: file %s '%s' of run %s has the same SHA-256", path,
			PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
		err_hint(e, "a file is ingested once; correct the records first (see 'billrun quarantine list --records')");
		PQclear(res);
		goto out;
	}
	PQclear(res);
	if (access(final, F_OK) == 0 || (has_ctl && access(ctl_final, F_OK) == 0)) {
		err_set(e, ERR_INPUT, "'%s' exists already in the spool", access(final, F_OK) == 0 ? final : ctl_final);
		err_hint(e, "wait until ingest has taken it, or give the corrected file another name that matches "
			    "the source's pattern");
		goto out;
	}
	if (copy_hidden(path, spool, name, tmp, sizeof(tmp), e))
		goto out;
	if (has_ctl) {
		char ctl_name[NAME_MAX + 8];
		snprintf(ctl_name, sizeof(ctl_name), "%s.ctl", name);
		if (copy_hidden(ctl, spool, ctl_name, ctl_tmp, sizeof(ctl_tmp), e))
			goto out;
	}
	char who[256], size[32];
	who_am_i(who, sizeof(who));
	snprintf(size, sizeof(size), "%lld", (long long)st.st_size);
	const char *ap[] = { name, source, sha, size, path, who };
	if (db_begin(db, e) || db_exec(db, e, SQL_quarantine_reprocess_audit, 6, ap))
		goto out;
	/* The control file first: ingest must find it when it sees the data. */
	if (has_ctl) {
		if (place(ctl_tmp, ctl_final, e))
			goto out;
		ctl_placed = 1;
	}
	if (place(tmp, final, e))
		goto out;
	placed = 1;
	if (db_commit(db, e))
		goto out;
	printf("'%s' is in the spool as '%s' (source '%s', sha256 %.12s)%s; the next run's ingest step reads it\n", path,
	       final, source, sha, has_ctl ? " with its control file" : "");
	rc = 0;
out:
	if (rc) {
		db_rollback(db);
		if (placed)
			unlink(final);
		if (ctl_placed)
			unlink(ctl_final);
	}
	if (tmp[0])
		unlink(tmp);
	if (ctl_tmp[0])
		unlink(ctl_tmp);
	db_free(db);
	return rc;
}

static int quarantine_main(struct cli *cli, int argc, char **argv, struct err *e)
{
	if (argc < 2)
		return cli_usage_error(e, "quarantine", "'quarantine' needs a subcommand: list, release or reprocess");
	if (cli_config(cli, 0, e))
		return -1;
	if (strcmp(argv[1], "list") == 0)
		return quarantine_list(cli, argc - 1, argv + 1, e);
	if (strcmp(argv[1], "release") == 0)
		return quarantine_release(cli, argc - 1, argv + 1, e);
	if (strcmp(argv[1], "reprocess") == 0)
		return quarantine_reprocess(cli, argc - 1, argv + 1, e);
	return cli_usage_error(e, "quarantine", "unknown subcommand 'quarantine %s'", argv[1]);
}

const struct command cmd_quarantine = {
	"quarantine", quarantine_main, "list holds, release them, hand corrected records back to ingest",
	"usage: billrun [--json] quarantine list [--run RUN] [--reason REASON] [--all] [--records]\n"
	"       billrun quarantine release ID... --note TEXT\n"
	"       billrun quarantine reprocess FILE\n"
	"\n"
	"Account periods the run could not bill cleanly are held back from\n"
	"invoicing, each hold with a reason and the run that found it; the rest\n"
	"of the run goes on. jobs/RECONCILE.md lists the reasons.\n"
	"\n"
	"list       the holds in force: id, run, account, billing period, reason,\n"
	"           detail. --run and --reason narrow them; --all adds released\n"
	"           holds (when, by whom, the note). --records lists quarantined\n"
	"           records instead (file, line, message and raw text). --json\n"
	"           prints JSON lines.\n"
	"release    lift the holds ID... (all or none) with a note saying why; each\n"
	"           release is kept and written to the audit log. The next run's\n"
	"           invoice step bills the released account periods (unless\n"
	"           another hold stays on them).\n"
	"reprocess  hand a file of corrected records back to ingest: it is copied\n"
	"           into spool.dir (with FILE.ctl when there is one) under its\n"
	"           name, which must match a source's pattern, and the next run's\n"
	"           ingest step reads it like any other file (records already\n"
	"           accepted count as duplicates). A file whose SHA-256 was\n"
	"           ingested is refused. Audited.\n"
	"\n"
	"Exit status: 0 done; 64 bad usage; 65 an unknown hold, one released\n"
	"already, or a file ingest would not read; 74 a file could not be copied.\n"
};
