/*
 * test_dag.c - unit tests for the DAG model (core/dag.c): loading DAGs
 * from configuration text, the checks (cycles, unknown and duplicate
 * steps, job or exec, unknown jobs), topological order, downstream
 * marking, retry delays and the dot output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cfg.h"
#include "dag.h"
#include "err.h"
#include "support.h"

#define assert_contains(hay, needle) do { \
	if (!strstr((hay), (needle))) \
		fail_msg("'%s' does not contain '%s'", (hay), (needle)); \
} while (0)

/* ---- loading from text ---- */

struct loaded {
	char dir[256];
	char path[4200];
	struct config cfg;
	struct dag_set set;
	struct err e;
	int rc;
};

static const char *const known_jobs[] = { "noop", "ingest", "rate", NULL };
static int job_calls;

static int job_exists(const char *name)
{
	job_calls++;
	for (int i = 0; known_jobs[i]; i++)
		if (strcmp(known_jobs[i], name) == 0)
			return 1;
	return 0;
}

/* Write text to a temporary config file and load its DAGs; the caller
 * frees with unload(). cfg_load must accept the text: the DAG checks are
 * what is under test. */
static struct loaded *load_with(const char *text, int (*jobs)(const char *))
{
	struct loaded *l = calloc(1, sizeof(*l));
	assert_non_null(l);
	assert_int_equal(test_tmpdir(l->dir, sizeof(l->dir)), 0);
	snprintf(l->path, sizeof(l->path), "%s/dags.conf", l->dir);
	assert_int_equal(test_write_file(l->path, text), 0);
	err_clear(&l->e);
	if (cfg_load(&l->cfg, l->path, 1, &l->e) != 0)
		fail_msg("cfg_load failed: %s", l->e.message);
	job_calls = 0;
	l->rc = dag_set_load(&l->set, &l->cfg, jobs, &l->e);
	return l;
}

static struct loaded *load(const char *text)
{
	return load_with(text, job_exists);
}

static void unload(struct loaded *l)
{
	dag_set_release(&l->set);
	cfg_release(&l->cfg);
	unlink(l->path);
	rmdir(l->dir);
	free(l);
}

/* Load text that must fail; check it is ERR_CONFIG at the line of the
 * text containing line_needle, naming key and saying what. */
static void assert_load_error(const char *text, const char *line_needle, const char *key, const char *what)
{
	struct loaded *l = load(text);
	char want[4400];
	int line = 0, n = 0;
	for (const char *p = text; *p; n++) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char buf[512];
		snprintf(buf, sizeof(buf), "%.*s", (int)len, p);
		if (!line && strstr(buf, line_needle))
			line = n + 1;
		p += len + (nl ? 1 : 0);
	}
	assert_int_not_equal(line, 0);
	assert_int_equal(l->rc, -1);
	assert_int_equal(l->e.kind, ERR_CONFIG);
	snprintf(want, sizeof(want), "%s:%d: ", l->path, line);
	assert_contains(l->e.message, want);
	snprintf(want, sizeof(want), "key '%s'", key);
	assert_contains(l->e.message, want);
	assert_contains(l->e.message, what);
	unload(l);
}

/* Every step comes after all the steps it waits for. */
static void assert_topological(const struct dag *d)
{
	int *pos = calloc((size_t)d->nsteps, sizeof(int));
	char *seen = calloc((size_t)d->nsteps, 1);
	for (int k = 0; k < d->nsteps; k++) {
		assert_in_range(d->order[k], 0, d->nsteps - 1);
		assert_false(seen[d->order[k]]);
		seen[d->order[k]] = 1;
		pos[d->order[k]] = k;
	}
	for (int i = 0; i < d->nsteps; i++)
		for (int j = 0; j < d->steps[i].nafter; j++)
			assert_true(pos[d->steps[i].after[j]] < pos[i]);
	free(pos);
	free(seen);
}

static void assert_order(const struct dag *d, const char *const *names)
{
	int k = 0;
	for (; names[k]; k++) {
		assert_true(k < d->nsteps);
		assert_string_equal(d->steps[d->order[k]].name, names[k]);
	}
	assert_int_equal(k, d->nsteps);
}

static const char diamond[] =
	"dags = {\n"
	"  nightly = {\n"
	"    steps = (\n"
	"      { name = \"report\"; exec = \"true\"; after = [\"rate\", \"tax\"]; },\n"
	"      { name = \"rate\"; job = \"rate\"; after = [\"load\"]; },\n"
	"      { name = \"tax\"; exec = \"true\"; after = [\"load\"]; },\n"
	"      { name = \"load\"; job = \"ingest\"; },\n"
	"      { name = \"audit\"; exec = \"true\"; }\n"
	"    );\n"
	"  };\n"
	"};\n";

/* ---- order ---- */

static void steps_are_ordered_topologically_with_file_order_for_ties(void **state)
{
	struct loaded *l = load(diamond);
	assert_int_equal(l->rc, 0);
	assert_int_equal(l->set.ndags, 1);
	const struct dag *d = &l->set.dags[0];
	assert_string_equal(d->name, "nightly");
	assert_int_equal(d->nsteps, 5);
	assert_topological(d);
	/* load and audit are ready first; load is earlier in the file, and
	 * then rate (earlier than audit) becomes ready. */
	static const char *const want[] = { "load", "rate", "tax", "report", "audit", NULL };
	assert_order(d, want);
	unload(l);
}

static void a_long_chain_listed_backwards_is_reversed(void **state)
{
	char text[8192];
	size_t n = (size_t)snprintf(text, sizeof(text), "dags = { chain = { steps = (\n");
	for (int i = 19; i >= 0; i--) {
		n += (size_t)snprintf(text + n, sizeof(text) - n, "{ name = \"s%02d\"; exec = \"true\";", i);
		if (i > 0)
			n += (size_t)snprintf(text + n, sizeof(text) - n, " after = [\"s%02d\"];", i - 1);
		n += (size_t)snprintf(text + n, sizeof(text) - n, " }%s\n", i ? "," : "");
	}
	snprintf(text + n, sizeof(text) - n, "); }; };\n");
	struct loaded *l = load(text);
	assert_int_equal(l->rc, 0);
	const struct dag *d = &l->set.dags[0];
	assert_topological(d);
	for (int k = 0; k < 20; k++) {
		char want[8];
		snprintf(want, sizeof(want), "s%02d", k);
		assert_string_equal(d->steps[d->order[k]].name, want);
	}
	unload(l);
}

static void no_dags_in_the_config_is_an_empty_set(void **state)
{
	struct loaded *l = load("state_dir = \"/tmp\";\n");
	assert_int_equal(l->rc, 0);
	assert_int_equal(l->set.ndags, 0);
	unload(l);
}

/* ---- checks ---- */

static void cycle_error_names_the_cycle_file_and_line(void **state)
{
	const char *path = test_src("tests/fixtures/config/dag_cycle.conf");
	struct config cfg;
	struct dag_set set;
	struct err e;
	char want[4200];

	assert_int_equal(cfg_load(&cfg, path, 1, &e), 0);
	assert_int_equal(dag_set_load(&set, &cfg, job_exists, &e), -1);
	dag_set_release(&set);
	cfg_release(&cfg);
	assert_int_equal(e.kind, ERR_CONFIG);
	/* load waits for rate, rate for price, price for load: in the order
	 * things run, some rotation of price -> rate -> load -> price. */
	int rotation = strstr(e.message, "price -> rate -> load -> price") ||
		       strstr(e.message, "rate -> load -> price -> rate") ||
		       strstr(e.message, "load -> price -> rate -> load");
	if (!rotation)
		fail_msg("the cycle is not named in run order: %s", e.message);
	assert_contains(e.message, "DAG 'nightly'");
	snprintf(want, sizeof(want), "%s:5: key 'dags.nightly.steps.[0]'", path);
	assert_contains(e.message, want);
}

static void cycle_error_points_at_a_step_on_the_cycle(void **state)
{
	/* "first" waits on the cycle but is not part of it. */
	struct loaded *l = load("dags = { d = { steps = (\n"
				"  { name = \"first\"; exec = \"true\"; after = [\"a\"]; },\n"
				"  { name = \"a\"; exec = \"true\"; after = [\"b\"]; },\n"
				"  { name = \"b\"; exec = \"true\"; after = [\"a\"]; }\n"
				"); }; };\n");
	assert_int_equal(l->rc, -1);
	assert_int_equal(l->e.kind, ERR_CONFIG);
	assert_contains(l->e.message, "form a cycle: ");
	if (!strstr(l->e.message, "a -> b -> a") && !strstr(l->e.message, "b -> a -> b"))
		fail_msg("cycle not named: %s", l->e.message);
	if (strstr(l->e.message, "first"))
		fail_msg("a step outside the cycle is named: %s", l->e.message);
	if (!strstr(l->e.message, ":3: key 'dags.d.steps.[1]'") && !strstr(l->e.message, ":4: key 'dags.d.steps.[2]'"))
		fail_msg("the location is not a step on the cycle: %s", l->e.message);
	unload(l);
}

static void cycle_of_many_long_names_is_reported_within_the_message(void **state)
{
	/* 16 steps of 60-character names in one cycle: far more than the
	 * message holds; the description must be cut, not overrun. */
	char text[16384], name[64];
	size_t n = (size_t)snprintf(text, sizeof(text), "dags = { big = { steps = (\n");
	for (int i = 0; i < 16; i++) {
		snprintf(name, sizeof(name), "step_%02d_%s", i,
			 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzab");
		n += (size_t)snprintf(text + n, sizeof(text) - n,
				      "{ name = \"%s\"; exec = \"true\"; after = [\"step_%02d_%s\"]; }%s\n", name,
				      (i + 15) % 16, "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzab",
				      i < 15 ? "," : "");
	}
	snprintf(text + n, sizeof(text) - n, "); }; };\n");
	struct loaded *l = load(text);
	assert_int_equal(l->rc, -1);
	assert_int_equal(l->e.kind, ERR_CONFIG);
	assert_contains(l->e.message, "form a cycle: step_");
	assert_true(strlen(l->e.message) < sizeof(l->e.message));
	unload(l);
}

static void self_dependency_is_an_error(void **state)
{
	assert_load_error("dags = { d = { steps = (\n"
			  "  { name = \"a\"; exec = \"true\"; after = [\"a\"]; }\n"
			  "); }; };\n",
			  "name = \"a\"", "dags.d.steps.[0].after", "step 'a' depends on itself");
}

static void unknown_dependency_names_step_file_line_and_key(void **state)
{
	const char *path = test_src("tests/fixtures/config/dag_unknown_dep.conf");
	struct config cfg;
	struct dag_set set;
	struct err e;
	char want[4200];

	assert_int_equal(cfg_load(&cfg, path, 1, &e), 0);
	assert_int_equal(dag_set_load(&set, &cfg, job_exists, &e), -1);
	dag_set_release(&set);
	cfg_release(&cfg);
	assert_int_equal(e.kind, ERR_CONFIG);
	snprintf(want, sizeof(want), "%s:6: key 'dags.nightly.steps.[1].after'", path);
	assert_contains(e.message, want);
	assert_contains(e.message, "step 'rate' depends on unknown step 'lod' in DAG 'nightly'");
}

static void duplicate_step_name_names_both_lines(void **state)
{
	const char *path = test_src("tests/fixtures/config/dag_duplicate.conf");
	struct config cfg;
	struct dag_set set;
	struct err e;
	char want[4200];

	assert_int_equal(cfg_load(&cfg, path, 1, &e), 0);
	assert_int_equal(dag_set_load(&set, &cfg, job_exists, &e), -1);
	dag_set_release(&set);
	cfg_release(&cfg);
	assert_int_equal(e.kind, ERR_CONFIG);
	snprintf(want, sizeof(want), "%s:6: key 'dags.nightly.steps.[1].name'", path);
	assert_contains(e.message, want);
	assert_contains(e.message, "duplicate step name 'load' in DAG 'nightly' (first at line 5)");
}

static void same_step_name_in_two_dags_is_allowed(void **state)
{
	struct loaded *l = load("dags = {\n"
				"  a = { steps = ( { name = \"load\"; exec = \"true\"; } ); };\n"
				"  b = { steps = ( { name = \"load\"; exec = \"true\"; } ); };\n"
				"};\n");
	assert_int_equal(l->rc, 0);
	assert_int_equal(l->set.ndags, 2);
	unload(l);
}

static void step_with_both_job_and_exec_is_an_error(void **state)
{
	assert_load_error("dags = { d = { steps = (\n"
			  "  { name = \"a\"; job = \"noop\"; exec = \"true\"; }\n"
			  "); }; };\n",
			  "name = \"a\"", "dags.d.steps.[0]", "step 'a' needs exactly one of 'job' and 'exec'");
}

static void step_with_neither_job_nor_exec_is_an_error(void **state)
{
	assert_load_error("dags = { d = { steps = (\n"
			  "  { name = \"ok\"; exec = \"true\"; },\n"
			  "  { name = \"a\"; retries = 2; }\n"
			  "); }; };\n",
			  "name = \"a\"", "dags.d.steps.[1]", "step 'a' needs exactly one of 'job' and 'exec'");
}

static void unknown_job_is_found_through_the_callback(void **state)
{
	assert_load_error("dags = { d = { steps = (\n"
			  "  { name = \"a\"; job = \"noop\"; },\n"
			  "  { name = \"b\"; job = \"no_such_job\"; }\n"
			  "); }; };\n",
			  "no_such_job", "dags.d.steps.[1].job", "unknown job 'no_such_job'");
}

static void the_callback_is_asked_about_jobs_only(void **state)
{
	struct loaded *l = load(diamond); /* two job steps, three exec steps */
	assert_int_equal(l->rc, 0);
	assert_int_equal(job_calls, 2);
	unload(l);
	/* Without a callback any job name is accepted. */
	l = load_with("dags = { d = { steps = ( { name = \"a\"; job = \"anything\"; } ); }; };\n", NULL);
	assert_int_equal(l->rc, 0);
	assert_string_equal(l->set.dags[0].steps[0].job, "anything");
	unload(l);
}

static void bad_step_name_trigger_and_period_are_errors(void **state)
{
	assert_load_error("dags = { d = { steps = (\n  { name = \"a b\"; exec = \"true\"; }\n); }; };\n",
			  "a b", "dags.d.steps.[0].name", "may use only letters, digits");
	assert_load_error("dags = { d = { steps = (\n  { name = \"a\"; exec = \"true\"; trigger = \"sometimes\"; }\n); }; };\n",
			  "sometimes", "dags.d.steps.[0].trigger", "unknown trigger 'sometimes'");
	assert_load_error("dags = { d = {\n  period = \"week\";\n  steps = ( { name = \"a\"; exec = \"true\"; } );\n}; };\n",
			  "week", "dags.d.period", "unknown period 'week'");
	assert_load_error("dags = {\n  d = { steps = (); };\n};\n", "d = {", "dags.d", "DAG 'd' has no steps");
}

/* ---- settings ---- */

static void step_settings_default_and_parse(void **state)
{
	struct loaded *l = load("dags = { m = {\n"
				"  period = \"month\"; max_parallel = 3; sla = \"06:00 Europe/Berlin\";\n"
				"  steps = (\n"
				"    { name = \"a\"; exec = \"true\"; },\n"
				"    { name = \"b\"; job = \"noop\"; after = [\"a\"]; trigger = \"all_done\"; retries = 4;\n"
				"      retry_delay = \"1m\"; retry_factor = 3; retry_max_delay = 900; timeout = \"2h\"; sla = \"45m\"; }\n"
				"  );\n"
				"}; };\n");
	assert_int_equal(l->rc, 0);
	const struct dag *d = &l->set.dags[0];
	assert_string_equal(d->period_kind, "month");
	assert_string_equal(d->schedule, "*-*-01 04:00:00");
	assert_int_equal(d->max_parallel, 3);
	assert_string_equal(d->sla, "06:00 Europe/Berlin");
	assert_int_equal(d->line, 1);
	const struct step *a = &d->steps[0], *b = &d->steps[1];
	assert_string_equal(a->exec, "true");
	assert_null(a->job);
	assert_int_equal(a->nafter, 0);
	assert_int_equal(a->trigger, TRIGGER_ALL_SUCCESS);
	assert_int_equal(a->retries, 0);
	assert_int_equal(a->retry_delay_ms, STEP_DEFAULT_RETRY_DELAY_MS);
	assert_int_equal(a->retry_factor, STEP_DEFAULT_RETRY_FACTOR);
	assert_int_equal(a->retry_max_delay_ms, STEP_DEFAULT_RETRY_MAX_DELAY_MS);
	assert_int_equal(a->timeout_ms, 0);
	assert_null(a->sla);
	assert_int_equal(a->line, 4);
	assert_string_equal(b->job, "noop");
	assert_null(b->exec);
	assert_int_equal(b->nafter, 1);
	assert_int_equal(b->after[0], 0);
	assert_int_equal(b->trigger, TRIGGER_ALL_DONE);
	assert_int_equal(b->retries, 4);
	assert_int_equal(b->retry_delay_ms, 60000);
	assert_int_equal(b->retry_factor, 3);
	assert_int_equal(b->retry_max_delay_ms, 900000);
	assert_int_equal(b->timeout_ms, 7200000);
	assert_string_equal(b->sla, "45m");
	unload(l);
}

static void dag_defaults_are_a_daily_period_and_schedule(void **state)
{
	struct loaded *l = load("dags = { d = { steps = ( { name = \"a\"; exec = \"true\"; } ); }; };\n");
	assert_int_equal(l->rc, 0);
	const struct dag *d = &l->set.dags[0];
	assert_string_equal(d->period_kind, "day");
	assert_string_equal(d->schedule, "*-*-* 02:00:00");
	assert_int_equal(d->max_parallel, DAG_DEFAULT_MAX_PARALLEL);
	assert_null(d->sla);
	unload(l);
}

/* ---- lookups ---- */

static void find_returns_the_dag_or_lists_the_names(void **state)
{
	struct loaded *l = load("dags = {\n"
				"  nightly = { steps = ( { name = \"a\"; exec = \"true\"; } ); };\n"
				"  month_end = { period = \"month\"; steps = ( { name = \"a\"; exec = \"true\"; } ); };\n"
				"};\n");
	struct err e;
	assert_int_equal(l->rc, 0);
	const struct dag *d = dag_set_find(&l->set, "month_end", &e);
	assert_non_null(d);
	assert_string_equal(d->name, "month_end");
	err_clear(&e);
	assert_null(dag_set_find(&l->set, "weekly", &e));
	assert_int_equal(e.kind, ERR_NOT_FOUND);
	assert_contains(e.message, "no DAG named 'weekly'");
	assert_contains(e.message, l->path);
	assert_contains(e.hint, "nightly, month_end");
	unload(l);
}

static void step_index_finds_by_name(void **state)
{
	struct loaded *l = load(diamond);
	const struct dag *d = &l->set.dags[0];
	assert_int_equal(dag_step_index(d, "report"), 0);
	assert_int_equal(dag_step_index(d, "audit"), 4);
	assert_int_equal(dag_step_index(d, "nope"), -1);
	unload(l);
}

static void mark_downstream_marks_the_step_and_everything_after_it(void **state)
{
	struct loaded *l = load(diamond);
	const struct dag *d = &l->set.dags[0];
	char mark[5];
	int report = dag_step_index(d, "report"), rate = dag_step_index(d, "rate"),
	    tax = dag_step_index(d, "tax"), ld = dag_step_index(d, "load"), audit = dag_step_index(d, "audit");

	memset(mark, 0, sizeof(mark));
	dag_mark_downstream(d, rate, mark);
	assert_true(mark[rate]);
	assert_true(mark[report]);
	assert_false(mark[tax]);
	assert_false(mark[ld]);
	assert_false(mark[audit]);

	memset(mark, 0, sizeof(mark));
	dag_mark_downstream(d, ld, mark);
	assert_true(mark[ld] && mark[rate] && mark[tax] && mark[report]);
	assert_false(mark[audit]);

	memset(mark, 0, sizeof(mark));
	dag_mark_downstream(d, report, mark);
	assert_int_equal(mark[report] + mark[rate] + mark[tax] + mark[ld] + mark[audit], 1);
	unload(l);
}

/* ---- retry delays ---- */

static struct step retry_step(int64_t base, int factor, int64_t max)
{
	struct step s;
	memset(&s, 0, sizeof(s));
	s.name = "rate";
	s.retry_delay_ms = base;
	s.retry_factor = factor;
	s.retry_max_delay_ms = max;
	return s;
}

static void retry_delay_grows_exponentially_with_under_ten_percent_jitter(void **state)
{
	struct step s = retry_step(1000, 2, 600000);
	int64_t base = 1000;
	for (int attempt = 2; attempt <= 8; attempt++, base *= 2) {
		int64_t d = dag_retry_delay_ms(&s, 42, attempt);
		if (d < base || d >= base + base / 10)
			fail_msg("attempt %d: %lld ms is not in [%lld, %lld)", attempt, (long long)d,
				 (long long)base, (long long)(base + base / 10));
	}
	s = retry_step(500, 3, 600000);
	int64_t d4 = dag_retry_delay_ms(&s, 1, 4); /* 500 * 3^2 */
	assert_in_range(d4, 4500, 4949);
}

static void retry_delay_is_capped_at_the_maximum(void **state)
{
	struct step s = retry_step(1000, 2, 10000);
	for (int attempt = 6; attempt <= 60; attempt++) {
		int64_t d = dag_retry_delay_ms(&s, 42, attempt);
		if (d < 10000 || d >= 11000)
			fail_msg("attempt %d: %lld ms is not in [10000, 11000)", attempt, (long long)d);
	}
	/* The largest settings do not overflow. */
	s = retry_step(86400000, 10, 86400000);
	int64_t d = dag_retry_delay_ms(&s, 1, 100);
	assert_true(d >= 86400000 && d < 86400000 + 8640000);
	/* A first delay above the maximum is capped too. */
	s = retry_step(60000, 2, 30000);
	d = dag_retry_delay_ms(&s, 1, 2);
	assert_true(d >= 30000 && d < 33000);
}

static void retry_jitter_is_deterministic_and_varies(void **state)
{
	struct step s = retry_step(10000, 2, 10000); /* always capped: only jitter differs */
	int64_t seen[16];
	int distinct = 0, nonzero = 0;
	for (int attempt = 2; attempt < 18; attempt++) {
		int64_t d = dag_retry_delay_ms(&s, 7, attempt);
		assert_int_equal(d, dag_retry_delay_ms(&s, 7, attempt)); /* a pure function */
		assert_in_range(d, 10000, 10999);
		nonzero += d != 10000;
		int dup = 0;
		for (int k = 0; k < distinct; k++)
			dup |= seen[k] == d;
		if (!dup)
			seen[distinct++] = d;
	}
	/* Across 16 attempts the jitter takes many values, and is not 0. */
	assert_true(distinct >= 8);
	assert_true(nonzero >= 8);
	/* It depends on the run and the step too. */
	int differs_by_run = 0, differs_by_step = 0;
	struct step t = s;
	t.name = "tax";
	for (int attempt = 2; attempt < 10; attempt++) {
		differs_by_run |= dag_retry_delay_ms(&s, 7, attempt) != dag_retry_delay_ms(&s, 8, attempt);
		differs_by_step |= dag_retry_delay_ms(&s, 7, attempt) != dag_retry_delay_ms(&t, 7, attempt);
	}
	assert_true(differs_by_run);
	assert_true(differs_by_step);
}

static void retry_delay_of_zero_stays_zero(void **state)
{
	struct step s = retry_step(0, 2, 600000);
	assert_int_equal(dag_retry_delay_ms(&s, 1, 2), 0);
	assert_int_equal(dag_retry_delay_ms(&s, 1, 9), 0);
}

/* ---- printing ---- */

static char *print_to_string(void (*fn)(const struct dag *, FILE *), const struct dag *d)
{
	FILE *f = tmpfile();
	assert_non_null(f);
	fn(d, f);
	long len = ftell(f);
	char *out = calloc(1, (size_t)len + 1);
	rewind(f);
	assert_int_equal(fread(out, 1, (size_t)len, f), len);
	fclose(f);
	return out;
}

static void dot_output_contains_every_edge(void **state)
{
	struct loaded *l = load(diamond);
	char *dot = print_to_string(dag_print_dot, &l->set.dags[0]);
	assert_true(strncmp(dot, "digraph \"nightly\" {\n", 20) == 0);
	assert_contains(dot, "\"load\" -> \"rate\";\n");
	assert_contains(dot, "\"load\" -> \"tax\";\n");
	assert_contains(dot, "\"rate\" -> \"report\";\n");
	assert_contains(dot, "\"tax\" -> \"report\";\n");
	assert_contains(dot, "\"audit\" [label=");
	int edges = 0;
	for (const char *p = dot; (p = strstr(p, " -> ")) != NULL; p++)
		edges++;
	assert_int_equal(edges, 4);
	assert_true(strcmp(dot + strlen(dot) - 2, "}\n") == 0);
	free(dot);
	unload(l);
}

static void print_lists_steps_in_order(void **state)
{
	struct loaded *l = load(diamond);
	char *text = print_to_string(dag_print, &l->set.dags[0]);
	assert_contains(text, "dag nightly: period day");
	const char *p1 = strstr(text, "\n1    load "), *p4 = strstr(text, "\n4    report "),
		   *p5 = strstr(text, "\n5    audit ");
	assert_non_null(p1);
	assert_non_null(p4);
	assert_non_null(p5);
	assert_true(p1 < p4 && p4 < p5);
	assert_contains(text, "rate,tax");
	free(text);
	unload(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(steps_are_ordered_topologically_with_file_order_for_ties),
		cmocka_unit_test(a_long_chain_listed_backwards_is_reversed),
		cmocka_unit_test(no_dags_in_the_config_is_an_empty_set),
		cmocka_unit_test(cycle_error_names_the_cycle_file_and_line),
		cmocka_unit_test(cycle_error_points_at_a_step_on_the_cycle),
		cmocka_unit_test(cycle_of_many_long_names_is_reported_within_the_message),
		cmocka_unit_test(self_dependency_is_an_error),
		cmocka_unit_test(unknown_dependency_names_step_file_line_and_key),
		cmocka_unit_test(duplicate_step_name_names_both_lines),
		cmocka_unit_test(same_step_name_in_two_dags_is_allowed),
		cmocka_unit_test(step_with_both_job_and_exec_is_an_error),
		cmocka_unit_test(step_with_neither_job_nor_exec_is_an_error),
		cmocka_unit_test(unknown_job_is_found_through_the_callback),
		cmocka_unit_test(the_callback_is_asked_about_jobs_only),
		cmocka_unit_test(bad_step_name_trigger_and_period_are_errors),
		cmocka_unit_test(step_settings_default_and_parse),
		cmocka_unit_test(dag_defaults_are_a_daily_period_and_schedule),
		cmocka_unit_test(find_returns_the_dag_or_lists_the_names),
		cmocka_unit_test(step_index_finds_by_name),
		cmocka_unit_test(mark_downstream_marks_the_step_and_everything_after_it),
		cmocka_unit_test(retry_delay_grows_exponentially_with_under_ten_percent_jitter),
		cmocka_unit_test(retry_delay_is_capped_at_the_maximum),
		cmocka_unit_test(retry_jitter_is_deterministic_and_varies),
		cmocka_unit_test(retry_delay_of_zero_stays_zero),
		cmocka_unit_test(dot_output_contains_every_edge),
		cmocka_unit_test(print_lists_steps_in_order),
	};
	return cmocka_run_group_tests_name("dag", tests, NULL, NULL);
}
