/*
 * dag.h - the DAG model: named DAGs of steps with dependencies, loaded from
 * the `dags` group of the configuration and checked as a whole.
 *
 * Invariants after dag_set_load() succeeds: step names are unique within a
 * DAG; every `after` names a step of the same DAG; the steps form no cycle;
 * dag->order lists the step indexes in a topological order (ties broken by
 * the order in the file); each step has exactly one of job and exec.
 * The scheduler knows nothing of billing: whether a job name exists is
 * asked through a callback.
 */
#ifndef BILLRUN_DAG_H
#define BILLRUN_DAG_H

#include <stdint.h>
#include <stdio.h>

struct config;
struct err;

enum trigger { TRIGGER_ALL_SUCCESS, TRIGGER_ALL_DONE };

struct step {
	const char *name;
	const char *job;       /* built-in job name, or NULL */
	const char *exec;      /* shell command, or NULL */
	int *after;            /* indexes of the steps this one waits for */
	int nafter;
	enum trigger trigger;
	int retries;           /* retries after the first attempt */
	int64_t retry_delay_ms;
	int retry_factor;
	int64_t retry_max_delay_ms;
	int64_t timeout_ms;    /* 0 = none */
	const char *sla;       /* deadline text, or NULL */
	int line;              /* where it is declared */
};

struct dag {
	const char *name;
	const char *schedule;  /* systemd OnCalendar expression */
	const char *period_kind; /* "day" or "month" */
	int max_parallel;
	const char *sla;       /* run deadline text, or NULL */
	struct step *steps;
	int nsteps;
	int *order;            /* topological order of step indexes */
	int line;
};

struct dag_set {
	struct dag *dags;
	int ndags;
	const char *file;
};

/* Defaults for step settings a DAG does not give. */
#define DAG_DEFAULT_MAX_PARALLEL 4
#define STEP_DEFAULT_RETRY_DELAY_MS 30000
#define STEP_DEFAULT_RETRY_FACTOR 2
#define STEP_DEFAULT_RETRY_MAX_DELAY_MS 600000

/*
 * Load and check every DAG in cfg. job_exists(name) says whether a built-in
 * job exists. Strings point into cfg, which must outlive the set. Returns
 * 0, or -1 with e set (ERR_CONFIG naming the file, line and key).
 */
int dag_set_load(struct dag_set *set, const struct config *cfg, int (*job_exists)(const char *),
		 struct err *e);
void dag_set_release(struct dag_set *set);

/* The DAG named name, or NULL with e set (ERR_NOT_FOUND listing the names). */
const struct dag *dag_set_find(const struct dag_set *set, const char *name, struct err *e);

/* Index of the step named name, or -1. */
int dag_step_index(const struct dag *dag, const char *name);

/* Set mark[i] = 1 for step from and every step downstream of it. */
void dag_mark_downstream(const struct dag *dag, int from, char *mark);

/* Retry delay before attempt `attempt` (2 = first retry): base *
 * factor^(attempt-2), capped at the maximum, plus a jitter of up to 10 %
 * that is a pure function of (run, step, attempt), so a rerun is
 * reproducible. */
int64_t dag_retry_delay_ms(const struct step *s, int64_t run_id, int attempt);

/* Print the steps in order with their settings, or Graphviz dot. */
void dag_print(const struct dag *dag, FILE *out);
void dag_print_dot(const struct dag *dag, FILE *out);

#endif
