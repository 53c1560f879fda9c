/*
 * strset.c - a set of byte strings with open addressing (see strset.h).
 */
#include "strset.h"

#include <stdlib.h>
#include <string.h>

#define BLOCK_SIZE (256 * 1024)

#define INLINE_KEY 16

/* 32 bytes; keys up to INLINE_KEY bytes (account ids, meter names) live
 * in the slot itself, so a lookup touches one cache line. */
struct strset_slot {
	uint32_t hash;
	uint32_t len;
	int payload;
	int used;
	union {
		const char *ptr;
		char bytes[INLINE_KEY];
	} key;
};

static const char *slot_key(const struct strset_slot *sl)
{
	return sl->len <= INLINE_KEY ? sl->key.bytes : sl->key.ptr;
}

/* A multiply-mix hash over 8-byte words: keys are short ids looked up
 * once or twice per record, so this is on the hot path. */
static uint32_t hash_bytes(const char *p, size_t n)
{
	uint64_t h = 0x9E3779B97F4A7C15ULL ^ (uint64_t)n;
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xFF51AFD7ED558CCDULL;
		h ^= h >> 32;
		p += 8;
		n -= 8;
	}
	uint64_t w = 0;
	memcpy(&w, p, n);
	h = (h ^ w) * 0xC4CEB9FE1A85EC53ULL;
	h ^= h >> 29;
	return (uint32_t)h;
}

void strset_init(struct strset *s)
{
	memset(s, 0, sizeof(*s));
}

void strset_release(struct strset *s)
{
	for (size_t i = 0; i < s->nblocks; i++)
		free(s->blocks[i]);
	free(s->blocks);
	free(s->slots);
	memset(s, 0, sizeof(*s));
}

static struct strset_slot *find(const struct strset *s, const char *key, size_t len, uint32_t h)
{
	size_t mask = s->cap - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct strset_slot *sl = &s->slots[i];
		if (!sl->used || (sl->hash == h && sl->len == len && memcmp(slot_key(sl), key, len) == 0))
			return sl;
	}
}

static int grow(struct strset *s)
{
	size_t cap = s->cap ? s->cap * 2 : 1024;
	struct strset_slot *old = s->slots;
	size_t oldcap = s->cap;
	s->slots = calloc(cap, sizeof(*s->slots));
	if (!s->slots) {
		s->slots = old;
		return -1;
	}
	s->cap = cap;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].used)
			*find(s, slot_key(&old[i]), old[i].len, old[i].hash) = old[i];
	free(old);
	return 0;
}

static char *store(struct strset *s, const char *key, size_t len)
{
	if (len > BLOCK_SIZE / 4) {
		/* A large key gets a block of its own, kept before the current one. */
		char *own = malloc(len ? len : 1);
		char **b = realloc(s->blocks, (s->nblocks + 1) * sizeof(*b));
		if (!own || !b) {
			free(own);
			if (b)
				s->blocks = b;
			return NULL;
		}
		s->blocks = b;
		if (s->nblocks) {
			b[s->nblocks] = b[s->nblocks - 1];
			b[s->nblocks - 1] = own;
		} else {
			b[0] = own;
			s->block_used = BLOCK_SIZE; /* no current block yet */
		}
		s->nblocks++;
		memcpy(own, key, len);
		return own;
	}
	if (!s->nblocks || s->block_used + len > BLOCK_SIZE) {
		char *blk = malloc(BLOCK_SIZE);
		char **b = realloc(s->blocks, (s->nblocks + 1) * sizeof(*b));
		if (!blk || !b) {
			free(blk);
			if (b)
				s->blocks = b;
			return NULL;
		}
		s->blocks = b;
		b[s->nblocks++] = blk;
		s->block_used = 0;
	}
	char *p = s->blocks[s->nblocks - 1] + s->block_used;
	memcpy(p, key, len);
	s->block_used += len;
	return p;
}

int strset_add(struct strset *s, const char *key, size_t len, int payload)
{
	if (len > UINT32_MAX)
		return -1;
	if ((s->count + 1) * 2 > s->cap && grow(s))
		return -1;
	uint32_t h = hash_bytes(key, len);
	struct strset_slot *sl = find(s, key, len, h);
	if (sl->used)
		return 0;
	struct strset_slot new_slot = { h, (uint32_t)len, payload, 1, { NULL } };
	if (len <= INLINE_KEY) {
		memcpy(new_slot.key.bytes, key, len);
	} else {
		new_slot.key.ptr = store(s, key, len);
		if (!new_slot.key.ptr)
			return -1;
	}
	*sl = new_slot;
	s->count++;
	return 1;
}

int strset_get(const struct strset *s, const char *key, size_t len, int *payload)
{
	if (!s->cap)
		return 0;
	const struct strset_slot *sl = find(s, key, len, hash_bytes(key, len));
	if (!sl->used)
		return 0;
	if (payload)
		*payload = sl->payload;
	return 1;
}
