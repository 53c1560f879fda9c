/*
 * schema_change.c - a file's header against its source's last accepted
 * one: the difference in words (added, removed, renamed, moved), and the
 * source's schema_change rule applied to the file's reader.
 */
#include "schema_change.h"
#include "db.h"
#include "err.h"
#include "sqltext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int find(const char *const *names, size_t n, const char *name)
{
	for (size_t k = 0; k < n; k++)
		if (strcmp(names[k], name) == 0)
			return (int)k;
	return -1;
}

static void *alloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (!p)
		abort();
	return p;
}

/* Append "; WHAT 'a', 'b'" (or "WHAT 'a'" first) for the names flagged. */
static void add_list(struct textbuf *w, const char *what, const char *const *names, const int *flag, size_t n,
		     int *parts)
{
	int first = 1;
	for (size_t k = 0; k < n; k++) {
		if (!flag[k])
			continue;
		if (first) {
			if ((*parts)++)
				textbuf_add(w, "; ", 2);
			textbuf_add(w, what, strlen(what));
			textbuf_addc(w, ' ');
		} else {
			textbuf_add(w, ", ", 2);
		}
		first = 0;
		textbuf_addc(w, '\'');
		textbuf_add(w, names[k], strlen(names[k]));
		textbuf_addc(w, '\'');
	}
}

int schema_diff(const char *const *old, size_t nold, const char *const *new, size_t nnew, struct textbuf *words,
		int *added)
{
	int *removed = alloc(nold, sizeof(int)), *add = alloc(nnew, sizeof(int));
	int *renamed_to = alloc(nold, sizeof(int)), *moved = alloc(nold, sizeof(int));
	int count = 0, parts = 0;

	for (size_t i = 0; i < nold; i++) {
		removed[i] = find(new, nnew, old[i]) < 0;
		renamed_to[i] = -1;
	}
	for (size_t j = 0; j < nnew; j++)
		add[j] = find(old, nold, new[j]) < 0;
	/* A column gone where a new one stands (between the same neighbours,
	 * or at the same position): a rename. */
	for (size_t i = 0; i < nold; i++) {
		if (!removed[i])
			continue;
		for (size_t j = 0; j < nnew; j++) {
			if (!add[j])
				continue;
			int same_before = i > 0 && j > 0 && strcmp(old[i - 1], new[j - 1]) == 0;
			int same_after = i + 1 < nold && j + 1 < nnew && strcmp(old[i + 1], new[j + 1]) == 0;
			if (same_before || same_after || i == j) {
				renamed_to[i] = (int)j;
				removed[i] = add[j] = 0;
				break;
			}
		}
	}
	/* The columns in both, in the old order, as positions in the new
	 * header: the longest increasing run of them keeps its order, the
	 * rest moved. */
	size_t nc = 0;
	int *pos = alloc(nold, sizeof(int)), *at = alloc(nold, sizeof(int));
	for (size_t i = 0; i < nold; i++) {
		int j = find(new, nnew, old[i]);
		if (j >= 0) {
			at[nc] = (int)i;
			pos[nc++] = j;
		}
	}
	int *len = alloc(nc, sizeof(int)), *prev = alloc(nc, sizeof(int)), best = -1;
	for (size_t a = 0; a < nc; a++) {
		len[a] = 1;
		prev[a] = -1;
		for (size_t b = 0; b < a; b++)
			if (pos[b] < pos[a] && len[b] + 1 > len[a]) {
				len[a] = len[b] + 1;
				prev[a] = (int)b;
			}
		if (best < 0 || len[a] > len[best])
			best = (int)a;
	}
	for (size_t a = 0; a < nc; a++)
		moved[at[a]] = 1;
	for (int a = best; a >= 0; a = prev[a])
		moved[at[a]] = 0;

	add_list(words, "added", new, add, nnew, &parts);
	add_list(words, "removed", old, removed, nold, &parts);
	int first = 1;
	for (size_t i = 0; i < nold; i++) {
		if (renamed_to[i] < 0)
			continue;
		if (first && parts++)
			textbuf_add(words, "; ", 2);
		textbuf_add(words, first ? "renamed '" : ", '", first ? 9 : 3);
		first = 0;
		textbuf_add(words, old[i], strlen(old[i]));
		textbuf_add(words, "' to '", 6);
		textbuf_add(words, new[renamed_to[i]], strlen(new[renamed_to[i]]));
		textbuf_addc(words, '\'');
	}
	add_list(words, "moved", old, moved, nold, &parts);

	for (size_t i = 0; i < nold; i++)
		count += removed[i] + (renamed_to[i] >= 0) + moved[i];
	for (size_t j = 0; j < nnew; j++) {
		count += add[j];
		if (added)
			added[j] = add[j];
	}
	free(removed);
	free(add);
	free(renamed_to);
	free(moved);
	free(pos);
	free(at);
	free(len);
	free(prev);
	return count;
}

static void json_array(struct textbuf *b, char *const *names, const int *flag, size_t n)
{
	textbuf_addc(b, '[');
	int first = 1;
	for (size_t k = 0; k < n; k++) {
		if (flag && !flag[k])
			continue;
		if (!first)
			textbuf_addc(b, ',');
		first = 0;
		json_add_string(b, names[k], strlen(names[k]));
	}
	textbuf_addc(b, ']');
}

int schema_check_file(struct db *db, const char *source, int refuse, struct reader *r, struct schema_check *sc,
		      struct err *e)
{
	memset(sc, 0, sizeof(*sc));
	struct csv_header *h = r->header;
	if (!h || r->problem[0])
		return 0;
	json_array(&sc->header, h->names, NULL, h->n);

	const char *params[] = { source };
	PGresult *res = db_query(db, e, SQL_ingest_source_header, 1, params);
	if (!res)
		return -1;
	int n = PQntuples(res);
	if (n == 0) {
		PQclear(res);
		return 0;
	}
	snprintf(sc->previous, sizeof(sc->previous), "%s", PQgetvalue(res, 0, 0));
	const char **old = alloc((size_t)n, sizeof(*old));
	for (int i = 0; i < n; i++)
		old[i] = PQgetvalue(res, i, 1);
	int *added = alloc(h->n, sizeof(int));
	int diffs = schema_diff(old, (size_t)n, (const char *const *)h->names, h->n, &sc->change, added);
	free(old);
	PQclear(res);
	if (diffs == 0) {
		free(added);
		return 0;
	}
	if (refuse) {
		sc->action = "refused";
		snprintf(r->refused, sizeof(r->refused),
			 "the header differs from that of '%s', the last accepted file of source '%s': %s "
			 "(schema_change = refuse)", sc->previous, source, sc->change.p);
	} else {
		sc->action = "accepted";
		int any = 0;
		for (size_t k = 0; k < h->n; k++)
			if (added[k]) {
				h->used[k] = 1; /* not an attribute */
				any = 1;
			}
		if (any)
			json_array(&sc->ignored, h->names, added, h->n);
	}
	free(added);
	return 0;
}

void schema_check_release(struct schema_check *sc)
{
	textbuf_release(&sc->header);
	textbuf_release(&sc->change);
	textbuf_release(&sc->ignored);
	sc->action = NULL;
}
