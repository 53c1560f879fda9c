/*
 * bench_ingest.c - run the ingest step (and optionally the steps after
 * it) once, outside the runner, and print how long each took and the
 * process's peak memory. For tools/bench_ingest.sh; also handy to ingest
 * a spool by hand.
 *
 *   bench_ingest -c CONFIG -d DSN [-r RULES] [-p YYYY-MM-DD] [-s ingest,aggregate,...]
 *   bench_ingest -l      (list the built-in jobs)
 *
 * Applies the migrations, creates a run for the day -p (default today)
 * and a step row per job as the runner would, switches to the
 * application role and calls each job in order. Prints one line
 * "STEP_seconds=S" per step, then "records=N peak_rss_kb=K".
 */
#include "cfg.h"
#include "db.h"
#include "err.h"
#include "ingest.h"
#include "job.h"
#include "log.h"
#include "migrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* CPU seconds the server process `pid` has used, from /proc (same
 * machine only); -1 when it cannot be read. */
static double backend_cpu(int pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	unsigned long long ut = 0, st = 0;
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9; /* timing only */
}

int main(int argc, char **argv)
{
	const char *conf = NULL, *dsn = NULL, *rules = NULL, *day = NULL, *steps = "ingest";
	struct config cfg;
	struct err e;
	int opt;

	while ((opt = getopt(argc, argv, "c:d:r:p:s:l")) != -1) {
		switch (opt) {
		case 'l':
			for (int i = 0; job_table[i]; i++)
				printf("%s\n", job_table[i]->name);
			return 0;
		case 'c': conf = optarg; break;
		case 'd': dsn = optarg; break;
		case 'r': rules = optarg; break;
		case 'p': day = optarg; break;
		case 's': steps = optarg; break;
		default: goto usage;
		}
	}
	if (!conf || !dsn)
		goto usage;
	err_clear(&e);
	log_setup(0, LOG_INFO);
	if (cfg_load(&cfg, conf, 1, &e)) {
		log_err(&e);
		return err_exit_status(e.kind);
	}
	struct db *db = db_connect(dsn, 3, &e);
	if (!db || migrate_apply(db, NULL, NULL, &e) < 0 ||
	    db_exec(db, &e, "SET ROLE billrun_app", 0, NULL)) {
		log_err(&e);
		return err_exit_status(e.kind);
	}
	char pid[32];
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	const char *rp[] = { pid, day };
	int64_t run_id = 0;
	if (db_query_int64(db, &e, &run_id,
			   "INSERT INTO runs (dag, period_kind, period_start, period_end, host, pid) "
			   "VALUES ('bench', 'day', coalesce($2::date, current_date), coalesce($2::date, current_date) + 1, "
			   "'bench', $1::int) RETURNING id",
			   2, rp)) {
		log_err(&e);
		return err_exit_status(e.kind);
	}
	char run[32], pstart[16], pend[16];
	snprintf(run, sizeof(run), "%lld", (long long)run_id);
	const char *sp[] = { run };
	PGresult *pr = db_query(db, &e, "SELECT period_start::text, period_end::text FROM runs WHERE id = $1", 1, sp);
	if (!pr) {
		log_err(&e);
		return err_exit_status(e.kind);
	}
	snprintf(pstart, sizeof(pstart), "%s", PQgetvalue(pr, 0, 0));
	snprintf(pend, sizeof(pend), "%s", PQgetvalue(pr, 0, 1));
	PQclear(pr);
	log_set_run(run_id);

	char list[256];
	snprintf(list, sizeof(list), "%s", steps);
	char *save = NULL;
	for (char *step = strtok_r(list, ",", &save); step; step = strtok_r(NULL, ",", &save)) {
		const struct job *job = job_find(step);
		if (!job) {
			fprintf(stderr, "bench_ingest: no job '%s'\n", step);
			return 64;
		}
		const char *stp[] = { run, step };
		if (db_exec(db, &e, "INSERT INTO run_steps (run_id, step, status, attempts, started_at) "
				    "VALUES ($1, $2, 'running', 1, now())", 2, stp)) {
			log_err(&e);
			return err_exit_status(e.kind);
		}
		log_set_step(step);
		struct job_ctx ctx = { 0 };
		ctx.db = db;
		ctx.cfg = &cfg;
		ctx.run_id = run_id;
		ctx.dag = "bench";
		ctx.step = step;
		ctx.attempt = 1;
		ctx.period_kind = "day";
		ctx.period_start = pstart;
		ctx.period_end = pend;
		ctx.output_dir = "/tmp";
		ctx.rules_file = rules ? rules : cfg.rules_file;
		int backend = PQbackendPID(db->conn);
		double c0 = backend_cpu(backend), t0 = seconds();
		struct rusage r0, r1;
		getrusage(RUSAGE_SELF, &r0);
		int rc = job->run(&ctx, &e);
		double t = seconds() - t0, c1 = backend_cpu(backend);
		getrusage(RUSAGE_SELF, &r1);
		if (rc) {
			log_err(&e);
			return err_exit_status(e.kind);
		}
		double client = (double)(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec + r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) +
				(double)(r1.ru_utime.tv_usec - r0.ru_utime.tv_usec + r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) / 1e6;
		printf("%s_seconds=%.3f\n", step, t);
		printf("%s_cpu client=%.3f server=%.3f\n", step, client, c0 >= 0 && c1 >= 0 ? c1 - c0 : -1.0);
		fflush(stdout);
	}
	int64_t records = 0;
	db_query_int64(db, &e, &records, "SELECT coalesce(sum(records_read), 0) FROM ingest_files WHERE run_id = $1",
		       1, sp);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("records=%lld peak_rss_kb=%ld\n", (long long)records, ru.ru_maxrss);
	db_free(db);
	cfg_release(&cfg);
	return 0;
usage:
	fprintf(stderr, "usage: bench_ingest -c CONFIG -d DSN [-r RULES] [-p YYYY-MM-DD] [-s STEP,...]\n");
	return 64;
}
