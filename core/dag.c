/*
 * dag.c - loading DAGs from the configuration, checking them (names,
 * dependencies, cycles) and ordering their steps.
 */
#include "dag.h"
#include "cfg.h"
#include "err.h"
#include "sla.h"

#include <stdlib.h>
#include <string.h>

static const char *get_string(const config_setting_t *g, const char *key)
{
	const char *v = NULL;
	return config_setting_lookup_string(g, key, &v) == CONFIG_TRUE ? v : NULL;
}

static int64_t get_duration(const config_setting_t *g, const char *key, int64_t def)
{
	config_setting_t *s = config_setting_get_member(g, key);
	int64_t ms;
	if (!s)
		return def;
	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		/* Checked by cfg_load already. */
		return cfg_parse_duration(config_setting_get_string(s), &ms) == 0 ? ms : def;
	}
	return config_setting_get_int64(s) * 1000;
}

static int get_int(const config_setting_t *g, const char *key, int def)
{
	int v;
	return config_setting_lookup_int(g, key, &v) == CONFIG_TRUE ? v : def;
}

/* Find a cycle among the steps left with in-degree > 0 and describe it. */
static int report_cycle(const struct dag *d, const config_setting_t *steps, const int *indeg,
			struct err *e)
{
	int start = -1;
	for (int i = 0; i < d->nsteps && start < 0; i++)
		if (indeg[i] > 0)
			start = i;
	/* Walk backwards along `after` edges inside the leftover set until a
	 * step repeats: that is a cycle. */
	int *seen = calloc((size_t)d->nsteps, sizeof(int)), *path = malloc(sizeof(int) * ((size_t)d->nsteps + 1));
	int n = 0, cur = start;
	while (seen && path && !seen[cur]) {
		seen[cur] = n + 1;
		path[n++] = cur;
		int next = -1;
		for (int j = 0; j < d->steps[cur].nafter; j++)
			if (indeg[d->steps[cur].after[j]] > 0) {
				next = d->steps[cur].after[j];
				break;
			}
		if (next < 0)
			break;
		cur = next;
	}
	char desc[ERR_MSG_MAX] = "";
	int at = start >= 0 ? start : 0; /* the location: a step on the cycle */
	if (seen && path && seen[cur]) {
		size_t len = 0;
		/* snprintf returns the untruncated length: stop once full. */
		for (int k = n - 1; k >= seen[cur] - 1 && len < sizeof(desc); k--)
			len += (size_t)snprintf(desc + len, sizeof(desc) - len, "%s -> ",
						d->steps[path[k]].name);
		if (len < sizeof(desc))
			snprintf(desc + len, sizeof(desc) - len, "%s", d->steps[path[n - 1]].name);
		at = cur;
	}
	free(seen);
	free(path);
	config_setting_t *s = config_setting_get_elem(steps, (unsigned)at);
	return cfg_error_at(e, s, "the steps of DAG '%s' form a cycle: %s", d->name, desc);
}

static int order_steps(struct dag *d, const config_setting_t *steps, struct err *e)
{
	int *indeg = calloc((size_t)d->nsteps + 1, sizeof(int));
	d->order = malloc(sizeof(int) * ((size_t)d->nsteps + 1));
	if (!indeg || !d->order) {
		free(indeg);
		return err_set(e, ERR_INTERNAL, "out of memory");
	}
	for (int i = 0; i < d->nsteps; i++)
		indeg[i] = d->steps[i].nafter;
	int n = 0;
	char *done = calloc((size_t)d->nsteps + 1, 1);
	/* Kahn's algorithm, taking the first ready step in file order each time
	 * so that the printed order is stable and readable. */
	for (int progress = 1; progress && done;) {
		progress = 0;
		for (int i = 0; i < d->nsteps; i++) {
			if (done[i] || indeg[i] != 0)
				continue;
			done[i] = 1;
			d->order[n++] = i;
			progress = 1;
			for (int j = 0; j < d->nsteps; j++)
				for (int k = 0; k < d->steps[j].nafter; k++)
					if (d->steps[j].after[k] == i)
						indeg[j]--;
			break;
		}
	}
	free(done);
	int rc = 0;
	if (n != d->nsteps)
		rc = report_cycle(d, steps, indeg, e);
	free(indeg);
	return rc;
}

static int load_step(struct dag *d, int i, config_setting_t *g, int (*job_exists)(const char *),
		     struct err *e)
{
	struct step *s = &d->steps[i];

	s->line = config_setting_source_line(g);
	s->name = get_string(g, "name");
	if (!s->name || !*s->name)
		return cfg_error_at(e, g, "a step needs a name");
	for (const char *p = s->name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '_' || *p == '-'))
			return cfg_error_at(e, config_setting_get_member(g, "name"),
					    "step name '%s' may use only letters, digits, '_' and '-'", s->name);
	for (int j = 0; j < i; j++)
		if (strcmp(d->steps[j].name, s->name) == 0)
			return cfg_error_at(e, config_setting_get_member(g, "name"),
					    "duplicate step name '%s' in DAG '%s' (first at line %d)", s->name,
					    d->name, d->steps[j].line);
	s->job = get_string(g, "job");
	s->exec = get_string(g, "exec");
	if (!!s->job == !!s->exec)
		return cfg_error_at(e, g, "step '%s' needs exactly one of 'job' and 'exec'", s->name);
	if (s->job && job_exists && !job_exists(s->job))
		return cfg_error_at(e, config_setting_get_member(g, "job"), "unknown job '%s'", s->job);
	const char *trigger = get_string(g, "trigger");
	if (!trigger || strcmp(trigger, "all_success") == 0)
		s->trigger = TRIGGER_ALL_SUCCESS;
	else if (strcmp(trigger, "all_done") == 0)
		s->trigger = TRIGGER_ALL_DONE;
	else
		return cfg_error_at(e, config_setting_get_member(g, "trigger"),
				    "unknown trigger '%s' (all_success or all_done)", trigger);
	s->retries = get_int(g, "retries", 0);
	s->retry_delay_ms = get_duration(g, "retry_delay", STEP_DEFAULT_RETRY_DELAY_MS);
	s->retry_factor = get_int(g, "retry_factor", STEP_DEFAULT_RETRY_FACTOR);
	s->retry_max_delay_ms = get_duration(g, "retry_max_delay", STEP_DEFAULT_RETRY_MAX_DELAY_MS);
	s->timeout_ms = get_duration(g, "timeout", 0);
	s->sla = get_string(g, "sla");
	struct sla_spec spec;
	if (s->sla && sla_spec_parse(s->sla, &spec))
		return cfg_error_at(e, config_setting_get_member(g, "sla"),
				    "'%s' is not a deadline (\"45m\" after the start, or \"06:00 Europe/Berlin\")", s->sla);
	return 0;
}

static int resolve_after(struct dag *d, config_setting_t *steps, struct err *e)
{
	for (int i = 0; i < d->nsteps; i++) {
		config_setting_t *after = config_setting_get_member(config_setting_get_elem(steps, (unsigned)i), "after");
		int n = after ? config_setting_length(after) : 0;
		d->steps[i].after = calloc((size_t)n + 1, sizeof(int));
		if (!d->steps[i].after)
			return err_set(e, ERR_INTERNAL, "out of memory");
		for (int k = 0; k < n; k++) {
			const char *dep = config_setting_get_string_elem(after, k);
			int j = dag_step_index(d, dep);
			if (j < 0)
				return cfg_error_at(e, after, "step '%s' depends on unknown step '%s' in DAG '%s'",
						    d->steps[i].name, dep, d->name);
			if (j == i)
				return cfg_error_at(e, after, "step '%s' depends on itself", d->steps[i].name);
			d->steps[i].after[d->steps[i].nafter++] = j;
		}
	}
	return 0;
}

static int load_dag(struct dag *d, config_setting_t *g, int (*job_exists)(const char *), struct err *e)
{
	d->name = config_setting_name(g);
	d->line = config_setting_source_line(g);
	d->schedule = get_string(g, "schedule");
	d->period_kind = get_string(g, "period");
	d->sla = get_string(g, "sla");
	d->max_parallel = get_int(g, "max_parallel", DAG_DEFAULT_MAX_PARALLEL);
	struct sla_spec spec;
	if (d->sla && sla_spec_parse(d->sla, &spec))
		return cfg_error_at(e, config_setting_get_member(g, "sla"),
				    "'%s' is not a deadline (\"45m\" after the start, or \"06:00 Europe/Berlin\")", d->sla);
	if (!d->period_kind)
		d->period_kind = "day";
	if (strcmp(d->period_kind, "day") != 0 && strcmp(d->period_kind, "month") != 0)
		return cfg_error_at(e, config_setting_get_member(g, "period"),
				    "unknown period '%s' (day or month)", d->period_kind);
	if (!d->schedule)
		d->schedule = strcmp(d->period_kind, "month") == 0 ? "*-*-01 04:00:00" : "*-*-* 02:00:00";
	config_setting_t *steps = config_setting_get_member(g, "steps");
	if (!steps || config_setting_length(steps) == 0)
		return cfg_error_at(e, g, "DAG '%s' has no steps", d->name);
	d->nsteps = config_setting_length(steps);
	d->steps = calloc((size_t)d->nsteps, sizeof(struct step));
	if (!d->steps)
		return err_set(e, ERR_INTERNAL, "out of memory");
	for (int i = 0; i < d->nsteps; i++)
		if (load_step(d, i, config_setting_get_elem(steps, (unsigned)i), job_exists, e))
			return -1;
	if (resolve_after(d, steps, e))
		return -1;
	return order_steps(d, steps, e);
}

int dag_set_load(struct dag_set *set, const struct config *cfg, int (*job_exists)(const char *),
		 struct err *e)
{
	memset(set, 0, sizeof(*set));
	set->file = cfg->path;
	config_setting_t *dags = cfg->path[0] ? config_lookup((config_t *)&cfg->lc, "dags") : NULL;
	if (!dags)
		return 0;
	set->ndags = config_setting_length(dags);
	set->dags = calloc((size_t)set->ndags + 1, sizeof(struct dag));
	if (!set->dags)
		return err_set(e, ERR_INTERNAL, "out of memory");
	for (int i = 0; i < set->ndags; i++)
		if (load_dag(&set->dags[i], config_setting_get_elem(dags, (unsigned)i), job_exists, e))
			return -1;
	return 0;
}

void dag_set_release(struct dag_set *set)
{
	for (int i = 0; i < set->ndags; i++) {
		struct dag *d = &set->dags[i];
		for (int j = 0; d->steps && j < d->nsteps; j++)
			free(d->steps[j].after);
		free(d->steps);
		free(d->order);
	}
	free(set->dags);
	memset(set, 0, sizeof(*set));
}

const struct dag *dag_set_find(const struct dag_set *set, const char *name, struct err *e)
{
	char names[ERR_MSG_MAX] = "";
	size_t len = 0;
	for (int i = 0; i < set->ndags; i++) {
		if (strcmp(set->dags[i].name, name) == 0)
			return &set->dags[i];
		len += (size_t)snprintf(names + len, len < sizeof(names) ? sizeof(names) - len : 0, "%s%s",
					i ? ", " : "", set->dags[i].name);
		if (len >= sizeof(names))
			len = sizeof(names) - 1;
	}
	err_set(e, ERR_NOT_FOUND, "no DAG named '%s' in '%s'", name, set->file && *set->file ? set->file : "the configuration");
	if (set->ndags)
		err_hint(e, "the DAGs are: %s", names);
	return NULL;
}

int dag_step_index(const struct dag *dag, const char *name)
{
	for (int i = 0; i < dag->nsteps; i++)
		if (dag->steps[i].name && strcmp(dag->steps[i].name, name) == 0)
			return i;
	return -1;
}

void dag_mark_downstream(const struct dag *dag, int from, char *mark)
{
	mark[from] = 1;
	/* In topological order a step's dependencies come first, so one pass
	 * suffices. */
	for (int k = 0; k < dag->nsteps; k++) {
		int i = dag->order[k];
		for (int j = 0; j < dag->steps[i].nafter; j++)
			if (mark[dag->steps[i].after[j]])
				mark[i] = 1;
	}
}

/* FNV-1a: a small stable hash for the deterministic jitter. */
static uint64_t fnv1a(const char *s, uint64_t h)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

int64_t dag_retry_delay_ms(const struct step *s, int64_t run_id, int attempt)
{
	int64_t delay = s->retry_delay_ms;
	for (int i = 2; i < attempt && delay < s->retry_max_delay_ms; i++)
		delay *= s->retry_factor;
	if (delay > s->retry_max_delay_ms)
		delay = s->retry_max_delay_ms;
	char key[256];
	snprintf(key, sizeof(key), "%lld/%s/%d", (long long)run_id, s->name, attempt);
	uint64_t h = fnv1a(key, 14695981039346656037ULL);
	int64_t jitter = delay / 10 > 0 ? (int64_t)(h % (uint64_t)(delay / 10)) : 0;
	return delay + jitter;
}

static void print_duration(FILE *out, int64_t ms)
{
	if (ms == 0)
		fputs("-", out);
	else if (ms % 3600000 == 0)
		fprintf(out, "%lldh", (long long)(ms / 3600000));
	else if (ms % 60000 == 0)
		fprintf(out, "%lldm", (long long)(ms / 60000));
	else if (ms % 1000 == 0)
		fprintf(out, "%llds", (long long)(ms / 1000));
	else
		fprintf(out, "%lldms", (long long)ms);
}

void dag_print(const struct dag *dag, FILE *out)
{
	fprintf(out, "dag %s: period %s, schedule \"%s\", max_parallel %d, sla %s\n", dag->name,
		dag->period_kind, dag->schedule, dag->max_parallel, dag->sla ? dag->sla : "-");
	fprintf(out, "%-4s %-20s %-28s %-24s %-12s %-7s %-10s %-7s %-8s %s\n", "#", "step", "runs", "after",
		"trigger", "retries", "delay", "factor", "max", "timeout");
	for (int k = 0; k < dag->nsteps; k++) {
		const struct step *s = &dag->steps[dag->order[k]];
		char runs[64], after[256] = "";
		snprintf(runs, sizeof(runs), "%s %s", s->job ? "job" : "exec", s->job ? s->job : s->exec);
		size_t len = 0;
		for (int j = 0; j < s->nafter && len < sizeof(after); j++)
			len += (size_t)snprintf(after + len, sizeof(after) - len, "%s%s", j ? "," : "",
						dag->steps[s->after[j]].name);
		fprintf(out, "%-4d %-20s %-28.28s %-24s %-12s %-7d ", k + 1, s->name, runs, len ? after : "-",
			s->trigger == TRIGGER_ALL_DONE ? "all_done" : "all_success", s->retries);
		print_duration(out, s->retry_delay_ms);
		fprintf(out, "%*s%-7d ", 1, "", s->retry_factor);
		print_duration(out, s->retry_max_delay_ms);
		fputs("  ", out);
		print_duration(out, s->timeout_ms);
		if (s->sla)
			fprintf(out, "  sla %s", s->sla);
		fputc('\n', out);
	}
}

static void dot_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

void dag_print_dot(const struct dag *dag, FILE *out)
{
	fputs("digraph ", out);
	dot_string(out, dag->name);
	fputs(" {\n  rankdir=LR;\n  node [shape=box];\n", out);
	for (int k = 0; k < dag->nsteps; k++) {
		const struct step *s = &dag->steps[dag->order[k]];
		fputs("  ", out);
		dot_string(out, s->name);
		fprintf(out, " [label=\"%s\\n%s %s\"%s];\n", s->name, s->job ? "job" : "exec",
			s->job ? s->job : "", s->trigger == TRIGGER_ALL_DONE ? ", style=dashed" : "");
	}
	for (int k = 0; k < dag->nsteps; k++) {
		const struct step *s = &dag->steps[dag->order[k]];
		for (int j = 0; j < s->nafter; j++) {
			fputs("  ", out);
			dot_string(out, dag->steps[s->after[j]].name);
			fputs(" -> ", out);
			dot_string(out, s->name);
			fputs(";\n", out);
		}
	}
	fputs("}\n", out);
}
