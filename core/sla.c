/*
 * sla.c - SLA deadlines, misses, predictions and alerts (see sla.h).
 */
#include "sla.h"
#include "cfg.h"
#include "dag.h"
#include "db.h"
#include "err.h"
#include "log.h"
#include "sqltext.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SLA_MIN_HISTORY 3      /* successful runs needed before predicting */
#define SLA_ALERT_ATTEMPTS 5   /* a failing alert command is tried this often */
#define SLA_ALERT_TIMEOUT_MS 30000

struct sla_monitor {
	struct db *db;
	const struct config *cfg;
	const struct dag *dag;
	int64_t run_id;
	char period_start[16];
	char raised_by[32];
	int64_t run_started_ms;
	int64_t *deadline_ms;   /* per step, then the run at [nsteps]; 0 = none */
	int64_t *expected_ms;   /* per step: predicted duration, -1 unknown */
	char *raised;           /* bit 1 miss, bit 2 predicted, per step + run */
	int history_runs;
	int alerts_pending;
};

int64_t sla_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sla_spec_parse(const char *text, struct sla_spec *out)
{
	memset(out, 0, sizeof(*out));
	if (cfg_parse_duration(text, &out->after_ms) == 0)
		return 0;
	int h, m, s = 0, n = 0;
	if (sscanf(text, "%d:%d:%d%n", &h, &m, &s, &n) != 3 && (s = 0, sscanf(text, "%d:%d%n", &h, &m, &n) != 2))
		return -1;
	if (h < 0 || h > 23 || m < 0 || m > 59 || s < 0 || s > 59)
		return -1;
	out->wall_clock = 1;
	snprintf(out->time_of_day, sizeof(out->time_of_day), "%02d:%02d:%02d", h, m, s);
	const char *zone = text + n;
	while (*zone == ' ')
		zone++;
	if (*zone) {
		if (strlen(zone) >= sizeof(out->zone) || strstr(zone, "..") || zone[0] == '/')
			return -1;
		char path[128];
		struct stat st;
		snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", zone);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			return -1;
		snprintf(out->zone, sizeof(out->zone), "%s", zone);
	}
	return 0;
}

/* The run's scheduled start: the day its period ends, at the schedule's
 * time of day (from an OnCalendar "*-*-* HH:MM[:SS]" or "*-*-DD HH:MM"),
 * local time. Falls back to the actual start. */
static int64_t scheduled_start_ms(const struct dag *dag, const char *period_end, int64_t fallback)
{
	const char *sp = strrchr(dag->schedule, ' ');
	int h, m, s = 0, y, mo, d;
	if (!sp || (sscanf(sp + 1, "%d:%d:%d", &h, &m, &s) < 2) || sscanf(period_end, "%d-%d-%d", &y, &mo, &d) != 3)
		return fallback;
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = m,
			 .tm_sec = s, .tm_isdst = -1 };
	time_t t = mktime(&tm);
	return t == (time_t)-1 ? fallback : (int64_t)t * 1000;
}

static int store_deadline(struct sla_monitor *m, const char *step, const char *spec_text, int64_t sched_ms,
			  struct err *e)
{
	struct sla_spec spec;
	if (sla_spec_parse(spec_text, &spec))
		return err_set(e, ERR_CONFIG, "'%s' is not a deadline (\"45m\" or \"06:00 Europe/Berlin\")", spec_text);
	char run[32], after[32], sched[32];
	snprintf(run, sizeof(run), "%lld", (long long)m->run_id);
	snprintf(after, sizeof(after), "%lld", (long long)spec.after_ms);
	snprintf(sched, sizeof(sched), "%lld", (long long)sched_ms);
	const char *params[] = { run, step, spec_text, spec.wall_clock ? "at" : "after", after,
				 spec.wall_clock ? spec.time_of_day : NULL, spec.zone[0] ? spec.zone : NULL, sched };
	return db_exec(m->db, e, SQL_sla_deadline_insert, 8, params);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a step's historic durations. */
static int load_history(struct sla_monitor *m, struct err *e)
{
	char run[32], n[16];
	snprintf(run, sizeof(run), "%lld", (long long)m->run_id);
	snprintf(n, sizeof(n), "%lld", (long long)m->cfg->sla_history_runs);
	const char *params[] = { m->dag->name, n, run };
	int64_t runs = 0;
	if (db_query_int64(m->db, e, &runs, SQL_sla_history_runs, 3, params) < 0)
		return -1;
	m->history_runs = (int)runs;
	for (int i = 0; i < m->dag->nsteps; i++)
		m->expected_ms[i] = -1;
	if (runs < SLA_MIN_HISTORY)
		return 0;
	PGresult *res = db_query(m->db, e, SQL_sla_history, 3, params);
	if (!res)
		return -1;
	int nt = PQntuples(res);
	int64_t *buf = malloc(sizeof(int64_t) * (size_t)(nt + 1));
	for (int k = 0; buf && k < nt;) {
		const char *step = PQgetvalue(res, k, 0);
		int cnt = 0;
		while (k < nt && strcmp(PQgetvalue(res, k, 0), step) == 0)
			buf[cnt++] = strtoll(PQgetvalue(res, k++, 1), NULL, 10);
		int i = dag_step_index(m->dag, step);
		if (i < 0 || cnt == 0)
			continue;
		qsort(buf, (size_t)cnt, sizeof(int64_t), cmp_i64);
		int rank = (int)((m->cfg->sla_percentile * cnt + 99) / 100); /* ceil(p/100 * n) */
		m->expected_ms[i] = buf[rank < 1 ? 0 : rank - 1];
	}
	free(buf);
	PQclear(res);
	return 0;
}

int sla_open(struct sla_monitor **out, struct db *db, const struct config *cfg, const struct dag *dag,
	     int64_t run_id, const char *raised_by, struct err *e)
{
	struct sla_monitor *m = calloc(1, sizeof(*m));
	*out = NULL;
	if (!m)
		return err_set(e, ERR_INTERNAL, "out of memory");
	m->db = db;
	m->cfg = cfg;
	m->dag = dag;
	m->run_id = run_id;
	snprintf(m->raised_by, sizeof(m->raised_by), "%s", raised_by);
	m->deadline_ms = calloc((size_t)dag->nsteps + 1, sizeof(int64_t));
	m->expected_ms = calloc((size_t)dag->nsteps + 1, sizeof(int64_t));
	m->raised = calloc((size_t)dag->nsteps + 1, 1);
	if (!m->deadline_ms || !m->expected_ms || !m->raised) {
		sla_close(m);
		return err_set(e, ERR_INTERNAL, "out of memory");
	}
	char run[32];
	snprintf(run, sizeof(run), "%lld", (long long)run_id);
	const char *params[] = { run };
	PGresult *res = db_query(db, e, SQL_sla_run_times, 1, params);
	if (!res)
		goto fail;
	if (PQntuples(res) < 1) {
		PQclear(res);
		err_set(e, ERR_NOT_FOUND, "no run %s", run);
		goto fail;
	}
	m->run_started_ms = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	snprintf(m->period_start, sizeof(m->period_start), "%s", PQgetvalue(res, 0, 2));
	int64_t sched = scheduled_start_ms(dag, PQgetvalue(res, 0, 3), m->run_started_ms);
	PQclear(res);
	if (dag->sla && store_deadline(m, "", dag->sla, sched, e))
		goto fail;
	for (int i = 0; i < dag->nsteps; i++)
		if (dag->steps[i].sla && store_deadline(m, dag->steps[i].name, dag->steps[i].sla, sched, e))
			goto fail;
	res = db_query(db, e, SQL_sla_deadlines_get, 1, params);
	if (!res)
		goto fail;
	for (int k = 0; k < PQntuples(res); k++) {
		const char *step = PQgetvalue(res, k, 0);
		int i = *step ? dag_step_index(dag, step) : dag->nsteps;
		if (i >= 0)
			m->deadline_ms[i] = strtoll(PQgetvalue(res, k, 2), NULL, 10);
	}
	PQclear(res);
	if (load_history(m, e))
		goto fail;
	m->alerts_pending = 1; /* deliver what an earlier runner could not */
	*out = m;
	return 0;
fail:
	sla_close(m);
	return -1;
}

void sla_close(struct sla_monitor *m)
{
	if (!m)
		return;
	free(m->deadline_ms);
	free(m->expected_ms);
	free(m->raised);
	free(m);
}

static void iso(int64_t ms, char *buf, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Insert the event; log it when it is new. */
static int raise_event(struct sla_monitor *m, int i, const char *kind, int64_t deadline, int64_t projected,
		       int64_t finished, struct err *e)
{
	const char *step = i < m->dag->nsteps ? m->dag->steps[i].name : "";
	char run[32], dl[32], pr[32], fi[32];
	snprintf(run, sizeof(run), "%lld", (long long)m->run_id);
	snprintf(dl, sizeof(dl), "%lld", (long long)deadline);
	snprintf(pr, sizeof(pr), "%lld", (long long)projected);
	snprintf(fi, sizeof(fi), "%lld", (long long)finished);
	const char *params[] = { m->dag->name, m->period_start, step, kind, run, dl, projected ? pr : NULL,
				 finished ? fi : NULL, m->raised_by };
	PGresult *res = db_query(m->db, e, SQL_sla_event_raise, 9, params);
	if (!res)
		return -1;
	int fresh = PQntuples(res) > 0;
	PQclear(res);
	m->raised[i] |= strcmp(kind, "miss") == 0 ? 1 : 2;
	if (!fresh)
		return 0;
	char d[32], p[32];
	iso(deadline, d, sizeof(d));
	iso(projected ? projected : finished, p, sizeof(p));
	if (strcmp(kind, "miss") == 0)
		log_warn("SLA miss: %s%s of DAG %s for %s had deadline %s%s%s", *step ? "step " : "the run",
			 step, m->dag->name, m->period_start, d, finished ? " and finished " : " and is unfinished",
			 finished ? p : "");
	else
		log_warn("SLA predicted miss: %s%s of DAG %s for %s is projected to finish %s, after its deadline %s",
			 *step ? "step " : "the run", step, m->dag->name, m->period_start, p, d);
	m->alerts_pending = 1;
	return 0;
}

/* Run the alert command for one event; 0 when it exited 0. */
static int run_alert(const struct config *cfg, PGresult *res, int k, char *error, size_t esize)
{
	static const char *names[] = { NULL, "BILLRUN_DAG", "BILLRUN_PERIOD_START", "BILLRUN_STEP", "BILLRUN_SLA_KIND",
				       "BILLRUN_RUN_ID", "BILLRUN_SLA_DEADLINE", "BILLRUN_SLA_PROJECTED",
				       "BILLRUN_SLA_FINISHED" };
	extern char **environ;
	int nenv = 0;
	for (char **p = environ; *p; p++)
		nenv++;
	char **env = calloc((size_t)nenv + 12, sizeof(char *));
	char vars[9][320];
	if (!env) {
		snprintf(error, esize, "out of memory");
		return -1;
	}
	int n = 0;
	for (char **p = environ; *p; p++)
		if (strncmp(*p, "BILLRUN_", 8) != 0)
			env[n++] = *p;
	for (int c = 1; c <= 8; c++) {
		snprintf(vars[c], sizeof(vars[c]), "%s=%s", names[c], PQgetvalue(res, k, c));
		env[n++] = vars[c];
	}
	env[n] = NULL;
	char *argv[] = { "sh", "-c", (char *)cfg->alert_command, NULL };
	pid_t pid;
	posix_spawnattr_t attr;
	sigset_t none;
	sigemptyset(&none);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	int rc = posix_spawn(&pid, "/bin/sh", NULL, &attr, argv, env);
	posix_spawnattr_destroy(&attr);
	free(env);
	if (rc != 0) {
		snprintf(error, esize, "could not start the alert command: %s", strerror(rc));
		return -1;
	}
	int status = 0;
	int64_t until = sla_now_ms() + SLA_ALERT_TIMEOUT_MS;
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			snprintf(error, esize, "lost the alert command: %s", strerror(errno));
			return -1;
		}
		if (sla_now_ms() > until) {
			kill(-pid, SIGKILL);
			waitpid(pid, &status, 0);
			snprintf(error, esize, "the alert command took longer than %d s", SLA_ALERT_TIMEOUT_MS / 1000);
			return -1;
		}
		usleep(10000);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		snprintf(error, esize, "the alert command exited %d", WEXITSTATUS(status));
	else
		snprintf(error, esize, "the alert command was killed by signal %d", WTERMSIG(status));
	return -1;
}

/* Deliver the alerts of run_id (0: of every run) not yet delivered. */
static int deliver_alerts(struct db *db, const struct config *cfg, int64_t run_id, struct err *e)
{
	if (!cfg->alert_command || !*cfg->alert_command)
		return 0;
	char run[32], attempts[16];
	snprintf(run, sizeof(run), "%lld", (long long)run_id);
	snprintf(attempts, sizeof(attempts), "%d", SLA_ALERT_ATTEMPTS);
	const char *params[] = { attempts, run_id ? run : NULL };
	PGresult *res = db_query(db, e, SQL_sla_events_unalerted, 2, params);
	if (!res)
		return -1;
	int rc = 0;
	for (int k = 0; k < PQntuples(res) && rc == 0; k++) {
		char error[256] = "";
		const char *id = PQgetvalue(res, k, 0);
		if (run_alert(cfg, res, k, error, sizeof(error)) == 0) {
			const char *p[] = { id };
			rc = db_exec(db, e, SQL_sla_event_alerted, 1, p);
		} else {
			log_warn("SLA alert for event %s failed: %s; it will be tried again", id, error);
			const char *p[] = { id, error };
			rc = db_exec(db, e, SQL_sla_event_alert_failed, 2, p);
		}
	}
	PQclear(res);
	return rc;
}

int sla_check(struct sla_monitor *m, const struct sla_step_view *steps, int64_t now_ms, struct err *e)
{
	const struct dag *d = m->dag;
	int n = d->nsteps;
	int all_done = 1;
	int64_t run_end = 0;

	for (int i = 0; i < n; i++) {
		all_done &= steps[i].terminal;
		if (steps[i].ended_ms > run_end)
			run_end = steps[i].ended_ms;
	}
	/* Misses: a deadline passed with the step (or run) unfinished, or it
	 * finished after it. */
	for (int i = 0; i <= n; i++) {
		int64_t dl = m->deadline_ms[i];
		if (!dl || (m->raised[i] & 1))
			continue;
		int done = i < n ? steps[i].terminal : all_done;
		int64_t end = i < n ? steps[i].ended_ms : run_end;
		if (done && end && end > dl) {
			if (raise_event(m, i, "miss", dl, 0, end, e))
				return -1;
		} else if (!done && now_ms > dl) {
			if (raise_event(m, i, "miss", dl, 0, 0, e))
				return -1;
		}
	}
	/* Predictions along the critical path: a step starts when its
	 * dependencies are projected to finish and takes its historic
	 * percentile duration. */
	if (m->history_runs >= SLA_MIN_HISTORY) {
		int64_t *finish = calloc((size_t)n + 1, sizeof(int64_t));
		if (!finish)
			return err_set(e, ERR_INTERNAL, "out of memory");
		int64_t run_finish = now_ms;
		for (int k = 0; k < n; k++) {
			int i = d->order[k];
			int64_t expected = m->expected_ms[i] > 0 ? m->expected_ms[i] : 0;
			if (steps[i].terminal) {
				finish[i] = steps[i].ended_ms ? steps[i].ended_ms : now_ms;
			} else if (steps[i].running) {
				finish[i] = steps[i].started_ms + expected;
				if (finish[i] < now_ms)
					finish[i] = now_ms;
			} else {
				int64_t start = now_ms;
				for (int j = 0; j < d->steps[i].nafter; j++)
					if (finish[d->steps[i].after[j]] > start)
						start = finish[d->steps[i].after[j]];
				finish[i] = start + expected;
			}
			if (finish[i] > run_finish)
				run_finish = finish[i];
		}
		finish[n] = run_finish;
		int rc = 0;
		for (int i = 0; i <= n && rc == 0; i++) {
			int64_t dl = m->deadline_ms[i];
			int done = i < n ? steps[i].terminal : all_done;
			if (!dl || done || now_ms > dl || (m->raised[i] & 3))
				continue;
			if (finish[i] > dl)
				rc = raise_event(m, i, "predicted_miss", dl, finish[i], 0, e);
		}
		free(finish);
		if (rc)
			return -1;
	}
	if (m->alerts_pending) {
		m->alerts_pending = 0;
		struct err ae;
		err_clear(&ae);
		/* Alerts never fail the run: a database error here is logged. */
		if (deliver_alerts(m->db, m->cfg, m->run_id, &ae))
			log_warn("could not deliver SLA alerts: %s", ae.message);
		else if (m->cfg->alert_command && *m->cfg->alert_command) {
			/* Retry failed ones on later checks. */
			int64_t left = 0;
			char run[32];
			snprintf(run, sizeof(run), "%lld", (long long)m->run_id);
			const char *p[] = { run };
			if (db_query_int64(m->db, &ae, &left,
					   "SELECT count(*) FROM sla_events WHERE run_id = $1 AND alerted_at IS NULL "
					   "AND alert_attempts < 5",
					   1, p) == 0 && left > 0)
				m->alerts_pending = 1;
		}
	}
	return 0;
}

/* The steps' state as stored, for a run nobody is running. */
static int load_views(struct db *db, const struct dag *dag, int64_t run_id, struct sla_step_view *v,
		      struct err *e)
{
	char run[32];
	snprintf(run, sizeof(run), "%lld", (long long)run_id);
	const char *params[] = { run };
	PGresult *res = db_query(db, e, SQL_sla_steps_times, 1, params);
	if (!res)
		return -1;
	for (int k = 0; k < PQntuples(res); k++) {
		int i = dag_step_index(dag, PQgetvalue(res, k, 0));
		if (i < 0)
			continue;
		const char *st = PQgetvalue(res, k, 1);
		v[i].terminal = strcmp(st, "success") == 0 || strcmp(st, "failed") == 0 ||
				strcmp(st, "upstream_failed") == 0 || strcmp(st, "skipped") == 0;
		v[i].running = 0; /* its runner is gone */
		v[i].started_ms = strtoll(PQgetvalue(res, k, 2), NULL, 10);
		v[i].ended_ms = v[i].terminal ? strtoll(PQgetvalue(res, k, 3), NULL, 10) : 0;
	}
	PQclear(res);
	return 0;
}

int sla_check_dead_runs(struct db *db, const struct config *cfg, const struct dag_set *set,
			const char *only_dag, struct err *e)
{
	PGresult *res = db_query(db, e, SQL_sla_runs_unfinished, 0, NULL);
	if (!res)
		return -1;
	int looked = 0, rc = 0;
	for (int k = 0; k < PQntuples(res) && rc == 0; k++) {
		const char *dagname = PQgetvalue(res, k, 1), *period = PQgetvalue(res, k, 2);
		if (only_dag && strcmp(only_dag, dagname) != 0)
			continue;
		const struct dag *dag = NULL;
		for (int i = 0; i < set->ndags; i++)
			if (strcmp(set->dags[i].name, dagname) == 0)
				dag = &set->dags[i];
		if (!dag)
			continue;
		/* Alive runners hold the run's lock; if we can take it, the
		 * runner is gone. Release it at once. */
		const char *lp[] = { dagname, period };
		PGresult *lock = db_query(db, e, SQL_store_lock_try, 2, lp);
		if (!lock) {
			rc = -1;
			break;
		}
		int free_lock = strcmp(PQgetvalue(lock, 0, 0), "t") == 0;
		PQclear(lock);
		if (!free_lock)
			continue;
		int64_t run_id = strtoll(PQgetvalue(res, k, 0), NULL, 10);
		struct sla_monitor *m = NULL;
		struct sla_step_view *v = calloc((size_t)dag->nsteps + 1, sizeof(*v));
		if (!v)
			rc = err_set(e, ERR_INTERNAL, "out of memory");
		if (rc == 0)
			rc = sla_open(&m, db, cfg, dag, run_id, "dead-runner check", e);
		if (rc == 0)
			rc = load_views(db, dag, run_id, v, e);
		if (rc == 0) {
			/* No predictions for a run nobody runs: only what is due. */
			m->history_runs = 0;
			rc = sla_check(m, v, sla_now_ms(), e);
		}
		sla_close(m);
		free(v);
		PGresult *un = db_query(db, NULL, SQL_store_lock_release, 2, lp);
		PQclear(un);
		looked++;
	}
	PQclear(res);
	if (rc == 0 && deliver_alerts(db, cfg, 0, e))
		return -1;
	return rc < 0 ? -1 : looked;
}

int sla_show(struct db *db, const struct config *cfg, const struct dag *dag, int64_t run_id, FILE *out,
	     struct err *e)
{
	struct sla_monitor *m = NULL;
	char run[32];
	snprintf(run, sizeof(run), "%lld", (long long)run_id);
	const char *params[] = { run };
	PGresult *res = db_query(db, e, SQL_sla_run_times, 1, params);
	if (!res)
		return -1;
	if (PQntuples(res) < 1) {
		PQclear(res);
		return err_set(e, ERR_NOT_FOUND, "no run %s", run);
	}
	char period[16], status[16];
	snprintf(period, sizeof(period), "%s", PQgetvalue(res, 0, 2));
	snprintf(status, sizeof(status), "%s", PQgetvalue(res, 0, 5));
	PQclear(res);
	/* Opening the monitor stores deadlines for a run that predates them;
	 * that is the same insert the runner makes, so it is harmless. */
	if (sla_open(&m, db, cfg, dag, run_id, "sla show", e))
		return -1;
	struct sla_step_view *v = calloc((size_t)dag->nsteps + 1, sizeof(*v));
	if (!v || load_views(db, dag, run_id, v, e)) {
		free(v);
		sla_close(m);
		return v ? -1 : err_set(e, ERR_INTERNAL, "out of memory");
	}
	fprintf(out, "run %s: DAG %s, period %s, %s\n", run, dag->name, period, status);
	fprintf(out, "\ndeadlines:\n");
	int any = 0;
	char d[32], f[32];
	for (int i = 0; i <= dag->nsteps; i++) {
		if (!m->deadline_ms[i])
			continue;
		any = 1;
		const char *spec = i < dag->nsteps ? dag->steps[i].sla : dag->sla;
		iso(m->deadline_ms[i], d, sizeof(d));
		int64_t end = 0;
		int done = 1;
		if (i < dag->nsteps) {
			end = v[i].ended_ms;
			done = v[i].terminal;
		} else {
			for (int j = 0; j < dag->nsteps; j++) {
				done &= v[j].terminal;
				if (v[j].ended_ms > end)
					end = v[j].ended_ms;
			}
		}
		if (done && end)
			iso(end, f, sizeof(f));
		fprintf(out, "  %-20s %-24s %s  %s%s\n", i < dag->nsteps ? dag->steps[i].name : "(run)", spec ? spec : "",
			d, done && end ? (end > m->deadline_ms[i] ? "MISSED, finished " : "met, finished ") : "unfinished",
			done && end ? f : "");
	}
	if (!any)
		fprintf(out, "  none configured\n");
	fprintf(out, "\nprojections (p%lld of the last %lld successful runs):\n", (long long)cfg->sla_percentile,
		(long long)cfg->sla_history_runs);
	if (m->history_runs < SLA_MIN_HISTORY) {
		fprintf(out, "  none: too little history (%d successful run%s, %d needed)\n", m->history_runs,
			m->history_runs == 1 ? "" : "s", SLA_MIN_HISTORY);
	} else {
		for (int k = 0; k < dag->nsteps; k++) {
			int i = dag->order[k];
			if (m->expected_ms[i] < 0)
				fprintf(out, "  %-20s no history\n", dag->steps[i].name);
			else
				fprintf(out, "  %-20s expected %lld ms\n", dag->steps[i].name, (long long)m->expected_ms[i]);
		}
	}
	fprintf(out, "\nevents:\n");
	const char *ep[] = { dag->name, period };
	res = db_query(db, e, SQL_sla_events_get, 2, ep);
	int rc = -1;
	if (res) {
		if (PQntuples(res) == 0)
			fprintf(out, "  none\n");
		for (int k = 0; k < PQntuples(res); k++)
			fprintf(out, "  %-20s %-15s deadline %s%s%s%s%s raised %s by %s; %s\n", PQgetvalue(res, k, 0),
				PQgetvalue(res, k, 1), PQgetvalue(res, k, 2), *PQgetvalue(res, k, 3) ? " projected " : "",
				PQgetvalue(res, k, 3), *PQgetvalue(res, k, 4) ? " finished " : "", PQgetvalue(res, k, 4),
				PQgetvalue(res, k, 5), PQgetvalue(res, k, 6),
				*PQgetvalue(res, k, 7) ? "alerted" : atoi(PQgetvalue(res, k, 8)) ? "alert failing" : "no alert sent");
		PQclear(res);
		rc = 0;
	}
	free(v);
	sla_close(m);
	return rc;
}
