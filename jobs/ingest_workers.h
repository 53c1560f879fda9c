/*
 * ingest_workers.h - the files of one ingest step read by several loaders
 * at once (ingest.loaders, default 2): the step's process and loaders - 1
 * forked workers, each with its own database session, each taking the
 * files of its sources (ingest_workers_assign). Every file is still its own transaction with its own
 * conservation counts; only the order in which files commit changes.
 *
 * A worker is a fork of the step's process, in its process group (a
 * timeout or a kill of the step's group ends it too). It never touches
 * the inherited database session (its socket is closed, and only _exit()
 * is used, so libpq sends nothing on it) and connects anew as the
 * application role. It hands its counts, the names of files it left in
 * the spool and its error, if any, back through a pipe; a worker that dies
 * or cannot connect fails the step, as a failing file would, with what
 * it said or how it ended. The files it committed before stay committed
 * and are skipped by their hash when the step runs again.
 */
#ifndef BILLRUN_INGEST_WORKERS_H
#define BILLRUN_INGEST_WORKERS_H

#include "err.h"

#include <stdint.h>

struct config;
struct db;

/* What one loader did with its share of the files. */
struct ingest_share {
	int64_t files, skipped, records, accepted, quarantined, duplicates;
	int left;                        /* files left in the spool for the next run */
	char left_names[1024];           /* their names, 'a', 'b', ... (cut short) */
	int unreadable;                  /* files that could not be read */
	char first_unreadable[ERR_MSG_MAX];
};

/* Add share s (counts, names left, unreadable files) to *total. */
void ingest_share_add(struct ingest_share *total, const struct ingest_share *s);

/*
 * Read the files of loader `which` of `n` (0 is the calling process) with
 * session db, adding to *out. Returns 0, or -1 with e set (a fatal error:
 * the step fails).
 */
typedef int (*ingest_share_fn)(void *arg, int which, int n, struct db *db, struct ingest_share *out,
			       struct err *e);

/*
 * Which loader reads which source's files. Two files of one source are
 * never read at the same time: a record sent in both must go to the
 * earlier file, as one loader reading them in name order decides,
 * whatever the timing; files of different sources cannot share a key
 * ((source, event_key) is the key), so their loaders never wait for each
 * other. Sources go to loaders largest first, each to the loader with the
 * fewest bytes yet. src_of[i] and bytes[i] describe file i of nfiles;
 * loader_of[k] (k < nsources) receives source k's loader (0 when it has no
 * files). Returns how many loaders get files (at least 1, at most max).
 */
int ingest_workers_assign(int nsources, const int *src_of, const int64_t *bytes, int nfiles, int max,
			  int *loader_of);

/*
 * Run fn for loaders 0 .. n-1, loader 0 in this process with db, the
 * others in forked workers connected through cfg, and add up their shares
 * into *total. Returns 0, or -1 with e set to the first failure (this
 * process's, else a worker's), after every worker has ended.
 */
int ingest_workers_run(int n, const struct config *cfg, struct db *db, ingest_share_fn fn, void *arg,
		       struct ingest_share *total, struct err *e);

#endif
