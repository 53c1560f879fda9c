/*
 * test_dec_oracle.c - property test of core/dec.c against PostgreSQL numeric.
 * Random cases from a seeded xorshift generator go to the server in batches
 * (text arrays through PQexecParams); the server computes every result from
 * the same literals and billrun's result text must match it exactly. Rounded
 * results are computed in SQL from the exact integer quotient and remainder,
 * never from PostgreSQL's own (already rounded) division.
 * Env: TEST_PG_DSN (skips without it), DEC_ORACLE_SEED, DEC_ORACLE_CASES.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "dec.h"

#define ORACLE_CASES_PER_OP 10000
#define ORACLE_BATCH 1000
#define ORACLE_LIT_MAX 96
#define ORACLE_MAX_REPORTS 20

enum oracle_op { OP_FMT, OP_ADD, OP_SUB, OP_MUL, OP_MULR, OP_DIV, OP_CMP, OP_ROUND, OP__COUNT };

static const char *const op_names[OP__COUNT] = {
	"fmt", "add", "sub", "mul", "mulr", "div", "cmp", "round",
};

struct oracle_case {
	enum oracle_op op;
	char a[ORACLE_LIT_MAX], b[ORACLE_LIT_MAX];
	int scale;
	enum dec_round mode;
	int rc;                 /* what billrun returned */
	char got[DEC_STR_MAX];  /* and the text of its result */
};

/*
 * Computes every operation for every row; the CASE picks the one asked.
 * Rounded results (mulr, div, round) are n / den rounded to scale s, where
 * n already carries the 10^s: q = div(n, den) truncates exactly, r is the
 * exact remainder, and each mode decides from r and 2|r| against |den|.
 * For half_up on mulr and round PostgreSQL's own round() is the oracle,
 * which checks the SQL emulation too.
 */
static const char oracle_sql[] =
	"SELECT CASE t.op"
	" WHEN 'fmt' THEN t.a::text"
	" WHEN 'add' THEN (t.a + t.b)::text"
	" WHEN 'sub' THEN (t.a - t.b)::text"
	" WHEN 'mul' THEN (t.a * t.b)::text"
	" WHEN 'cmp' THEN (CASE WHEN t.a < t.b THEN -1 WHEN t.a = t.b THEN 0 ELSE 1 END)::text"
	" WHEN 'round' THEN CASE WHEN t.mode = 'half_up' THEN round(t.a, t.s)::text END"
	" WHEN 'mulr' THEN CASE WHEN t.mode = 'half_up' THEN round(t.a * t.b, t.s)::text END"
	" END AS direct,"
	" CASE WHEN u.den = 0 THEN 'divzero' ELSE"
	"  ((v.q + CASE"
	"    WHEN v.r = 0 OR t.mode = 'down' THEN 0"
	"    WHEN t.mode = 'up' THEN v.sg"
	"    WHEN t.mode = 'ceiling' THEN greatest(v.sg, 0)"
	"    WHEN t.mode = 'floor' THEN least(v.sg, 0)"
	"    WHEN t.mode = 'half_up' THEN CASE WHEN 2 * abs(v.r) >= abs(u.den) THEN v.sg ELSE 0 END"
	"    WHEN t.mode = 'half_even' THEN CASE WHEN 2 * abs(v.r) > abs(u.den)"
	"         OR (2 * abs(v.r) = abs(u.den) AND mod(v.q, 2) <> 0) THEN v.sg ELSE 0 END"
	"   END) * ('1e-' || t.s)::numeric)::text"
	" END AS rounded"
	" FROM unnest($1::text[], $2::numeric[], $3::numeric[], $4::int[], $5::text[])"
	"  WITH ORDINALITY AS t(op, a, b, s, mode, i)"
	" CROSS JOIN LATERAL (SELECT"
	"  CASE WHEN t.op = 'mulr' THEN t.a * t.b ELSE t.a END * ('1e' || t.s)::numeric AS n,"
	"  CASE WHEN t.op = 'div' THEN t.b ELSE 1 END AS den) u"
	" CROSS JOIN LATERAL (SELECT div(u.n, nullif(u.den, 0)) AS q, mod(u.n, nullif(u.den, 0)) AS r,"
	"  sign(u.n) * sign(u.den) AS sg) v"
	" ORDER BY t.i";

/* ---- seeded generator ---- */

struct rng {
	uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
	uint64_t x = r->s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return r->s = x;
}

static int rng_below(struct rng *r, int n)
{
	return n <= 1 ? 0 : (int)(rng_next(r) % (uint64_t)n);
}

static int clamp(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* A digit count up to max, skewed small half the time so that both tiny
 * amounts and 38-digit ones are common. */
static int rand_digits(struct rng *r, int max)
{
	max = clamp(max, 1, 40);
	return 1 + (rng_below(r, 2) ? rng_below(r, max < 6 ? max : 6) : rng_below(r, max));
}

/* Fill digits[0..nd) at random, sometimes all nines (carries, the 38-digit
 * edge), with a run of trailing zeros, or as a lone zero (then nd becomes
 * 1). The first digit is nonzero unless the value is zero. */
static int rand_digit_string(struct rng *r, char *digits, int nd, int allow_zero)
{
	int pattern = rng_below(r, 12);
	nd = clamp(nd, 1, 40);
	for (int i = 0; i < nd; i++)
		digits[i] = (char)('0' + rng_below(r, 10));
	if (pattern == 0) {
		memset(digits, '9', (size_t)nd);
	} else if (pattern == 1) {
		for (int i = 1 + rng_below(r, nd); i < nd; i++)
			digits[i] = '0';
	} else if (pattern == 2 && allow_zero) {
		digits[0] = '0';
		return 1;
	}
	if (digits[0] == '0')
		digits[0] = (char)('1' + rng_below(r, 9));
	return nd;
}

/*
 * Write the literal (-1)^neg * digits * 10^-scale: plain ("-12.3400",
 * "0.0005", "1200" for a negative scale, sometimes with a leading zero)
 * or, when allow_exp, sometimes in exponent form ("1.2340E+1") as FOCUS
 * exports carry them. A negative scale is only reachable through a
 * positive exponent in our parser, so it always takes that form then.
 */
static void write_literal(struct rng *r, char *out, const char *digits, int nd, int scale, int neg,
			  int allow_exp)
{
	char *p = out;
	if (neg)
		*p++ = '-';
	else if (rng_below(r, 10) == 0)
		*p++ = '+';

	if (scale < 0 || (allow_exp && rng_below(r, 8) == 0)) {
		*p++ = digits[0];
		if (nd > 1) {
			*p++ = '.';
			memcpy(p, digits + 1, (size_t)(nd - 1));
			p += nd - 1;
		}
		sprintf(p, "%c%+d", rng_below(r, 2) ? 'e' : 'E', nd - 1 - scale);
		return;
	}
	if (rng_below(r, 20) == 0)
		*p++ = '0'; /* a leading zero that is not significant */
	if (nd > scale) {
		memcpy(p, digits, (size_t)(nd - scale));
		p += nd - scale;
		if (scale > 0) {
			*p++ = '.';
			memcpy(p, digits + nd - scale, (size_t)scale);
			p += scale;
		}
	} else {
		*p++ = '0';
		*p++ = '.';
		memset(p, '0', (size_t)(scale - nd));
		p += scale - nd;
		memcpy(p, digits, (size_t)nd);
		p += nd;
	}
	*p = '\0';
}

enum { LIT_EXP = 1, LIT_NONZERO = 2 };

/* A random literal with up to nd significant digits at the given scale;
 * the sign is random. */
static void make_literal(struct rng *r, char *out, int nd, int scale, int flags)
{
	char digits[48];
	nd = rand_digit_string(r, digits, nd, !(flags & LIT_NONZERO));
	write_literal(r, out, digits, nd, scale, rng_below(r, 2), flags & LIT_EXP);
}

/* A divisor whose quotients often land exactly on a tie. */
static void tie_divisor(struct rng *r, char *out)
{
	static const char *const divisors[] = { "2", "4", "8", "5", "0.2", "0.5", "1.6", "0.08", "25", "125", "-2", "-0.4" };
	strcpy(out, divisors[rng_below(r, (int)(sizeof divisors / sizeof divisors[0]))]);
}

/*
 * a + b (or a - b) where aligning a to b's scale passes 2^127 but the
 * result fits: a = 1.8e37..2e37 at scale sa, b about -1e37 at scale sa+1.
 */
static void gen_cancelling_sum(struct rng *r, struct oracle_case *c, int sa)
{
	char da[48], db[48];
	int neg = rng_below(r, 2);
	rand_digit_string(r, da, 38, 0);
	rand_digit_string(r, db, 38, 0);
	da[0] = '1';
	da[1] = (char)('8' + rng_below(r, 2));
	db[0] = '9';
	sa = clamp(sa, 0, 19);
	write_literal(r, c->a, da, 38, sa, neg, 0);
	write_literal(r, c->b, db, 38, sa + 1, c->op == OP_ADD ? !neg : neg, 0);
}

/*
 * a * b whose exact product ends in exactly k digits "50..0" (a tie at
 * scale sa + sb - k) or "00..0" after an odd digit (exact), with k up to
 * 38: long divisions by 10^k, including the wide ones, land on the edge.
 */
static void gen_mul_edge(struct rng *r, struct oracle_case *c, int sa, int sb)
{
	char da[48], db[48];
	int s = rng_below(r, (sa + sb < 21 ? sa + sb : 21));
	int k = sa + sb - s;
	if (k < 1 || k > 37) {
		sa = 20;
		sb = 10;
		s = rng_below(r, 21);
		k = sa + sb - s;
	}
	int na = k + rand_digits(r, 38 - k), nb = rand_digits(r, clamp(38 - (na - k) + rng_below(r, 2), 1, 38));
	na = rand_digit_string(r, da, na, 0);
	nb = rand_digit_string(r, db, nb, 0);
	if (rng_below(r, 2)) { /* tie */
		da[na - k] = '5';
	} else { /* exact, and an odd quotient */
		da[na - k - 1 < 0 ? 0 : na - k - 1] = (char)('1' + 2 * rng_below(r, 5));
		da[na - k] = '0';
	}
	memset(da + na - k + 1, '0', (size_t)(k - 1));
	if (da[0] == '0')
		da[0] = '1';
	db[nb - 1] = "1379"[rng_below(r, 4)];
	write_literal(r, c->a, da, na, sa, rng_below(r, 2), 1);
	write_literal(r, c->b, db, nb, sb, rng_below(r, 2), 1);
	c->scale = s;
}

static void gen_case(struct rng *r, struct oracle_case *c, enum oracle_op op)
{
	int sa = rng_below(r, 21), sb = rng_below(r, 21), s = rng_below(r, 21);
	int big = sa > sb ? sa : sb;
	int kind = rng_below(r, 100);

	memset(c, 0, sizeof *c);
	c->op = op;
	c->mode = (enum dec_round)rng_below(r, 6);
	strcpy(c->b, "0");

	switch (op) {
	case OP_FMT:
		/* Up to 40 digits, scale -10..32: past our limits on purpose,
		 * to check that parse refuses exactly what does not fit. */
		make_literal(r, c->a, rand_digits(r, 40), rng_below(r, 43) - 10, LIT_EXP);
		break;
	case OP_ADD:
	case OP_SUB:
		if (kind < 3) {
			gen_cancelling_sum(r, c, sa);
		} else if (kind < 8) { /* aligning may pass 128 bits */
			make_literal(r, c->a, rand_digits(r, 38), sa, LIT_EXP);
			make_literal(r, c->b, rand_digits(r, 38), sb, LIT_EXP);
		} else {
			make_literal(r, c->a, rand_digits(r, 38 - (big - sa)), sa, LIT_EXP);
			make_literal(r, c->b, rand_digits(r, 38 - (big - sb)), sb, LIT_EXP);
		}
		break;
	case OP_MUL: {
		if (kind >= 5 && sa + sb > 30)
			sb = rng_below(r, 31 - sa);
		int budget = 36 + rng_below(r, 4), da = rand_digits(r, budget - 1);
		make_literal(r, c->a, da, sa, LIT_EXP);
		make_literal(r, c->b, rand_digits(r, budget - da), sb, LIT_EXP);
		break;
	}
	case OP_MULR: {
		if (kind < 30) {
			gen_mul_edge(r, c, sa, sb);
			break;
		}
		/* Exact product scale up to 40: rounding must not mind. */
		int budget = clamp(38 + sa + sb - s + rng_below(r, 3), 2, 76);
		int da = rand_digits(r, clamp(budget - 1, 1, 38));
		make_literal(r, c->a, da, sa, LIT_EXP);
		make_literal(r, c->b, rand_digits(r, clamp(budget - da, 1, 38)), sb, LIT_EXP);
		c->scale = s;
		break;
	}
	case OP_DIV:
		if (kind < 20) {
			make_literal(r, c->a, rand_digits(r, 30), sa, LIT_EXP);
			tie_divisor(r, c->b);
			s = clamp(sa + rng_below(r, 4), 0, 20);
		} else if (kind < 21) {
			make_literal(r, c->a, rand_digits(r, 38), sa, LIT_EXP);
			strcpy(c->b, rng_below(r, 2) ? "0" : "-0.00");
		} else if (kind < 24) { /* a * 10^40 passes 256 bits */
			make_literal(r, c->a, 38, rng_below(r, 2), LIT_NONZERO);
			make_literal(r, c->b, rand_digits(r, 20), 20, LIT_NONZERO);
			s = 20;
		} else {
			int db = rand_digits(r, 38);
			make_literal(r, c->b, db, sb, LIT_EXP | LIT_NONZERO);
			int da = rand_digits(r, clamp(37 + sa + db - sb - s + rng_below(r, 2), 1, 38));
			make_literal(r, c->a, da, sa, LIT_EXP);
		}
		c->scale = s;
		break;
	case OP_CMP:
		make_literal(r, c->a, rand_digits(r, 36), sa, kind >= 50 ? LIT_EXP : 0);
		if (kind < 30) { /* the same value at a larger scale */
			snprintf(c->b, sizeof c->b, "%s%s", c->a, strchr(c->a, '.') ? "00" : ".0");
		} else if (kind < 50) { /* one digit changed: nearly equal */
			strcpy(c->b, c->a);
			size_t len = strlen(c->b), at = (size_t)rng_below(r, (int)len);
			while (at < len && (c->b[at] < '0' || c->b[at] > '9'))
				at++;
			if (at < len)
				c->b[at] = (char)('0' + rng_below(r, 10));
		} else {
			make_literal(r, c->b, rand_digits(r, 38), sb, LIT_EXP);
		}
		break;
	case OP_ROUND:
		if (sa > 0 && kind < 30) { /* a tie one digit down */
			char digits[48];
			int nd = rand_digit_string(r, digits, rand_digits(r, 38), 0);
			digits[nd - 1] = '5';
			write_literal(r, c->a, digits, nd, sa, rng_below(r, 2), 1);
			s = sa - 1;
		} else {
			make_literal(r, c->a, rand_digits(r, 38), sa, LIT_EXP);
		}
		c->scale = s;
		break;
	case OP__COUNT:
		break;
	}
}

/* ---- billrun's side ---- */

static void run_dec(struct oracle_case *c)
{
	struct dec a, b, res = { 0, 0 };

	c->got[0] = '\0';
	c->rc = dec_parse_cstr(&a, c->a);
	if (c->rc == 0 && c->op != OP_FMT)
		c->rc = dec_parse_cstr(&b, c->b);
	if (c->rc != 0) {
		strcpy(c->got, "(parse failed)");
		return;
	}
	switch (c->op) {
	case OP_FMT:
		res = a;
		break;
	case OP_ADD:
		c->rc = dec_add(&res, a, b);
		break;
	case OP_SUB:
		c->rc = dec_sub(&res, a, b);
		break;
	case OP_MUL:
		c->rc = dec_mul(&res, a, b);
		break;
	case OP_MULR:
		c->rc = dec_mul_round(&res, a, b, c->scale, c->mode);
		break;
	case OP_DIV:
		c->rc = dec_div(&res, a, b, c->scale, c->mode);
		break;
	case OP_ROUND:
		c->rc = dec_round(&res, a, c->scale, c->mode);
		break;
	case OP_CMP:
		snprintf(c->got, sizeof c->got, "%d", dec_cmp(a, b));
		return;
	case OP__COUNT:
		break;
	}
	if (c->rc == 0)
		dec_format(res, c->got, sizeof c->got);
	else
		strcpy(c->got, "(failed)");
}

/* Whether PostgreSQL's result text fits a dec: at most 38 significant
 * digits and 30 fractional ones. */
static int representable(const char *s)
{
	int sig = 0, scale = 0, seen_point = 0;
	for (; *s; s++) {
		if (*s == '.') {
			seen_point = 1;
		} else if (*s >= '0' && *s <= '9') {
			scale += seen_point;
			if (sig > 0 || *s != '0')
				sig++;
		}
	}
	return sig <= DEC_MAX_DIGITS && scale <= DEC_MAX_SCALE;
}

/* ---- batches ---- */

struct text_array {
	char *buf;
	size_t len, cap;
};

static void array_start(struct text_array *a)
{
	a->len = 0;
	a->buf[a->len++] = '{';
}

/* Elements are numbers and plain words: no quoting needed. */
static void array_push(struct text_array *a, const char *elem)
{
	size_t n = strlen(elem);
	assert_true(a->len + n + 3 <= a->cap);
	if (a->buf[a->len - 1] != '{')
		a->buf[a->len++] = ',';
	memcpy(a->buf + a->len, elem, n);
	a->len += n;
}

static void array_end(struct text_array *a)
{
	a->buf[a->len++] = '}';
	a->buf[a->len] = '\0';
}

/* Returns the number of mismatches in this batch; prints the first few. */
static int check_batch(PGconn *conn, struct oracle_case *cases, int n, int *reported, uint64_t seed)
{
	struct text_array arr[5];
	for (int k = 0; k < 5; k++) {
		arr[k].cap = (size_t)n * (ORACLE_LIT_MAX + 1) + 4;
		arr[k].buf = malloc(arr[k].cap);
		assert_non_null(arr[k].buf);
		array_start(&arr[k]);
	}
	for (int i = 0; i < n; i++) {
		char scale[16];
		snprintf(scale, sizeof scale, "%d", cases[i].scale);
		array_push(&arr[0], op_names[cases[i].op]);
		array_push(&arr[1], cases[i].a);
		array_push(&arr[2], cases[i].b);
		array_push(&arr[3], scale);
		array_push(&arr[4], dec_round_name(cases[i].mode));
	}
	const char *params[5];
	for (int k = 0; k < 5; k++) {
		array_end(&arr[k]);
		params[k] = arr[k].buf;
	}

	PGresult *res = PQexecParams(conn, oracle_sql, 5, NULL, params, NULL, NULL, 0);
	for (int k = 0; k < 5; k++)
		free(arr[k].buf);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "dec oracle: query failed (seed %llu): %s", (unsigned long long)seed,
			PQresultErrorMessage(res));
		PQclear(res);
		fail_msg("oracle query failed");
	}
	assert_int_equal(PQntuples(res), n);

	int bad = 0;
	for (int i = 0; i < n; i++) {
		struct oracle_case *c = &cases[i];
		const char *want = PQgetisnull(res, i, 0) ? PQgetvalue(res, i, 1) : PQgetvalue(res, i, 0);
		int ok;
		if (c->op == OP_CMP)
			ok = strcmp(c->got, want) == 0;
		else if (strcmp(want, "divzero") == 0 || !representable(want))
			ok = c->rc == -1;
		else
			ok = c->rc == 0 && strcmp(c->got, want) == 0;
		/* When both oracles ran, they must agree with each other too. */
		if (!PQgetisnull(res, i, 0) && (c->op == OP_MULR || c->op == OP_ROUND) &&
		    strcmp(PQgetvalue(res, i, 0), PQgetvalue(res, i, 1)) != 0)
			ok = 0;
		if (ok)
			continue;
		bad++;
		if ((*reported)++ < ORACLE_MAX_REPORTS)
			fprintf(stderr, "dec oracle mismatch (seed %llu): %s a=%s b=%s scale=%d mode=%s: "
					"billrun rc=%d '%s', postgres '%s' (sql rounding '%s')\n",
				(unsigned long long)seed, op_names[c->op], c->a, c->b, c->scale,
				dec_round_name(c->mode), c->rc, c->got, want, PQgetvalue(res, i, 1));
	}
	PQclear(res);
	return bad;
}

static void test_dec_matches_postgres_numeric(void **state)
{
	const char *dsn = getenv("TEST_PG_DSN");
	if (!dsn || !*dsn) {
		printf("dec oracle: TEST_PG_DSN is not set; skipping\n");
		skip();
	}

	uint64_t seed;
	const char *seed_env = getenv("DEC_ORACLE_SEED");
	if (seed_env && *seed_env)
		seed = strtoull(seed_env, NULL, 0);
	else
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	if (seed == 0)
		seed = 1; /* xorshift stays at zero forever */
	const char *cases_env = getenv("DEC_ORACLE_CASES");
	int per_op = cases_env && *cases_env ? atoi(cases_env) : ORACLE_CASES_PER_OP;
	if (per_op < 1)
		per_op = 1;
	printf("dec oracle: seed %llu, %d cases per operation (DEC_ORACLE_SEED=%llu reproduces)\n",
	       (unsigned long long)seed, per_op, (unsigned long long)seed);

	PGconn *conn = PQconnectdb(dsn);
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "dec oracle: could not connect: %s", PQerrorMessage(conn));
		PQfinish(conn);
		fail_msg("could not connect to TEST_PG_DSN");
	}

	struct rng r = { seed };
	struct oracle_case *cases = calloc(ORACLE_BATCH, sizeof *cases);
	assert_non_null(cases);
	long total = (long)per_op * OP__COUNT, done = 0, bad = 0, refused = 0;
	int reported = 0;
	while (done < total) {
		int n = total - done < ORACLE_BATCH ? (int)(total - done) : ORACLE_BATCH;
		for (int i = 0; i < n; i++) {
			/* Round-robin keeps every operation at exactly per_op cases. */
			gen_case(&r, &cases[i], (enum oracle_op)((done + i) % OP__COUNT));
			run_dec(&cases[i]);
			refused += cases[i].rc != 0;
		}
		bad += check_batch(conn, cases, n, &reported, seed);
		done += n;
	}
	printf("dec oracle: %ld cases, %ld refused by billrun (each confirmed unrepresentable), %ld mismatches\n",
	       total, refused, bad);
	free(cases);
	PQfinish(conn);
	if (bad)
		fail_msg("%ld of %ld cases differ from PostgreSQL (seed %llu)", bad, total,
			 (unsigned long long)seed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dec_matches_postgres_numeric),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
