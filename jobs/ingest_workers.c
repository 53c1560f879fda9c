/*
 * ingest_workers.c - several loaders for one ingest step (see
 * ingest_workers.h).
 */
#include "ingest_workers.h"
#include "cluster.h"
#include "db.h"
#include "log.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_WORKERS 16

/* What a worker writes to its pipe when it is done. */
struct worker_report {
	int failed;
	struct err err;
	struct ingest_share share;
};

int ingest_workers_assign(int nsources, const int *src_of, const int64_t *bytes, int nfiles, int max,
			  int *loader_of)
{
	int64_t load[MAX_WORKERS] = { 0 };
	int used = 0;
	int64_t *size = calloc((size_t)nsources + 1, sizeof(*size));

	for (int k = 0; k < nsources; k++)
		loader_of[k] = 0;
	if (!size)
		return 1;
	if (max > MAX_WORKERS)
		max = MAX_WORKERS;
	for (int i = 0; i < nfiles; i++)
		size[src_of[i]] += bytes[i] + 1; /* an empty file counts too */
	for (;;) {
		int big = -1;
		for (int k = 0; k < nsources; k++)
			if (size[k] > 0 && (big < 0 || size[k] > size[big]))
				big = k;
		if (big < 0)
			break;
		int to = 0;
		for (int w = 1; w < max; w++)
			if (load[w] < load[to])
				to = w;
		if (load[to] == 0)
			used++;
		loader_of[big] = to;
		load[to] += size[big];
		size[big] = 0;
	}
	free(size);
	return used ? used : 1;
}

void ingest_share_add(struct ingest_share *total, const struct ingest_share *s)
{
	total->files += s->files;
	total->skipped += s->skipped;
	total->records += s->records;
	total->accepted += s->accepted;
	total->quarantined += s->quarantined;
	total->duplicates += s->duplicates;
	if (s->left) {
		size_t used = strlen(total->left_names);
		snprintf(total->left_names + used, sizeof(total->left_names) - used, "%s%s", used ? ", " : "",
			 s->left_names);
	}
	total->left += s->left;
	if (s->unreadable && !total->unreadable)
		snprintf(total->first_unreadable, sizeof(total->first_unreadable), "%s", s->first_unreadable);
	total->unreadable += s->unreadable;
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_all(int fd, void *p, size_t n)
{
	char *c = p;
	while (n) {
		ssize_t r = read(fd, c, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

static void worker_main(int which, int n, const struct config *cfg, struct db *parent, ingest_share_fn fn,
			void *arg, int fd)
{
	static struct worker_report rep;
	memset(&rep, 0, sizeof(rep));
	close(PQsocket(parent->conn));
	struct db *db = cluster_connect(cfg, DB_ROLE_APP, &rep.err);
	if (!db) {
		err_prefix(&rep.err, "ingest loader %d could not connect: ", which + 1);
		rep.failed = 1;
	} else if (db_exec(db, &rep.err, "SET client_encoding = 'UTF8'", 0, NULL) ||
		   fn(arg, which, n, db, &rep.share, &rep.err)) {
		rep.failed = 1;
	}
	if (db)
		db_free(db);
	int rc = write_all(fd, &rep, sizeof(rep));
	fflush(NULL);
	_exit(rc ? 70 : 0);
}

int ingest_workers_run(int n, const struct config *cfg, struct db *db, ingest_share_fn fn, void *arg,
		       struct ingest_share *total, struct err *e)
{
	pid_t pids[MAX_WORKERS];
	int fds[MAX_WORKERS];
	int started = 0, rc = 0;

	if (n > MAX_WORKERS)
		n = MAX_WORKERS;
	for (int w = 1; w < n; w++) {
		int p[2];
		if (pipe(p)) {
			log_warn("ingest: could not start loader %d (%s): the others read its files", w + 1,
				 strerror(errno));
			break;
		}
		fflush(NULL);
		pid_t pid = fork();
		if (pid < 0) {
			log_warn("ingest: could not start loader %d (%s): the others read its files", w + 1,
				 strerror(errno));
			close(p[0]);
			close(p[1]);
			break;
		}
		if (pid == 0) {
			close(p[0]);
			for (int k = 0; k < started; k++)
				close(fds[k]);
			worker_main(w, n, cfg, db, fn, arg, p[1]);
		}
		close(p[1]);
		pids[started] = pid;
		fds[started++] = p[0];
	}
	/* Loaders that did not start leave their files to this process. */
	struct ingest_share own;
	memset(&own, 0, sizeof(own));
	if (started + 1 < n) {
		for (int w = started + 1; w < n && rc == 0; w++)
			rc = fn(arg, w, n, db, &own, e);
	}
	if (rc == 0)
		rc = fn(arg, 0, n, db, &own, e);
	ingest_share_add(total, &own);
	for (int k = 0; k < started; k++) {
		static struct worker_report rep;
		int got = read_all(fds[k], &rep, sizeof(rep)) == 0;
		close(fds[k]);
		int status = 0;
		while (waitpid(pids[k], &status, 0) < 0 && errno == EINTR)
			;
		if (got) {
			ingest_share_add(total, &rep.share);
			if (rep.failed && rc == 0) {
				*e = rep.err;
				rc = -1;
			}
		} else if (rc == 0) {
			if (WIFSIGNALED(status))
				err_set(e, ERR_INTERNAL, "ingest loader %d (process %d) was ended by signal %d (%s)", k + 2,
					(int)pids[k], WTERMSIG(status), strsignal(WTERMSIG(status)));
			else
				err_set(e, ERR_INTERNAL, "ingest loader %d (process %d) ended with status %d without "
					"reporting", k + 2, (int)pids[k], WEXITSTATUS(status));
			err_hint(e, "the files it committed stay ingested; run the DAG again to read the rest");
			rc = -1;
		}
	}
	return rc;
}
