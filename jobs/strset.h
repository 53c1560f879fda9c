/*
 * strset.h - a set of byte strings (open addressing, linear probing), for the
 * account ids and meter names the ingest step validates against.
 *
 * Keys are copied into the set's own storage; lookups take (pointer,
 * length) so fields straight from a CSV buffer need no copy. Each entry
 * can carry one int of payload (the meters use it for their flags).
 */
#ifndef BILLRUN_STRSET_H
#define BILLRUN_STRSET_H

#include <stddef.h>
#include <stdint.h>

struct strset {
	struct strset_slot *slots;
	size_t cap, count;
	char **blocks;          /* storage for the keys */
	size_t nblocks, block_used;
};

void strset_init(struct strset *s);
void strset_release(struct strset *s);

/* Add key (with payload); an existing key keeps its payload and 0 is
 * returned, a new one returns 1; -1 when out of memory. */
int strset_add(struct strset *s, const char *key, size_t len, int payload);

/* 1 and *payload (when not NULL) if key is in the set, else 0. */
int strset_get(const struct strset *s, const char *key, size_t len, int *payload);

#endif
