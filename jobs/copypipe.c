/*
 * copypipe.c - the sending thread of a COPY (see copypipe.h).
 */
#include "copypipe.h"
#include "db.h"
#include "err.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct copypipe {
	struct db *db;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t work;    /* a piece was queued, or closing */
	pthread_cond_t space;   /* a piece was sent */
	struct rowbuf slot[COPYPIPE_BUFFERS];
	int head, queued;       /* slot[head] is the next to send; queued pieces from there */
	int sending;            /* the thread holds slot[head] outside the lock */
	int closing;
	int failed;
	struct err err;         /* the first failure of sending */
};

static void *sender(void *arg)
{
	struct copypipe *cp = arg;
	pthread_mutex_lock(&cp->lock);
	for (;;) {
		while (!cp->queued && !cp->closing)
			pthread_cond_wait(&cp->work, &cp->lock);
		if (!cp->queued)
			break;
		struct rowbuf *b = &cp->slot[cp->head];
		int send = !cp->failed;
		cp->sending = 1;
		pthread_mutex_unlock(&cp->lock);
		struct err e;
		err_clear(&e);
		int rc = send ? db_copy_put(cp->db, &e, b->p, b->len) : 0;
		pthread_mutex_lock(&cp->lock);
		if (rc && !cp->failed) {
			cp->failed = 1;
			cp->err = e;
		}
		b->len = 0;
		cp->head = (cp->head + 1) % COPYPIPE_BUFFERS;
		cp->queued--;
		cp->sending = 0;
		pthread_cond_broadcast(&cp->space);
	}
	pthread_mutex_unlock(&cp->lock);
	return NULL;
}

int copypipe_open(struct copypipe **out, struct db *db, struct err *e)
{
	struct copypipe *cp = calloc(1, sizeof(*cp));
	*out = NULL;
	if (!cp)
		return err_set(e, ERR_INTERNAL, "out of memory");
	cp->db = db;
	pthread_mutex_init(&cp->lock, NULL);
	pthread_cond_init(&cp->work, NULL);
	pthread_cond_init(&cp->space, NULL);
	int rc = pthread_create(&cp->thread, NULL, sender, cp);
	if (rc != 0) {
		pthread_mutex_destroy(&cp->lock);
		pthread_cond_destroy(&cp->work);
		pthread_cond_destroy(&cp->space);
		free(cp);
		return err_set(e, ERR_INTERNAL, "could not start the thread that sends usage rows: %s", strerror(rc));
	}
	*out = cp;
	return 0;
}

int copypipe_put(struct copypipe *cp, struct rowbuf *b, struct err *e)
{
	pthread_mutex_lock(&cp->lock);
	while (cp->queued == COPYPIPE_BUFFERS && !cp->failed)
		pthread_cond_wait(&cp->space, &cp->lock);
	if (cp->failed) {
		if (e)
			*e = cp->err;
		pthread_mutex_unlock(&cp->lock);
		b->len = 0;
		return -1;
	}
	int at = (cp->head + cp->queued) % COPYPIPE_BUFFERS;
	struct rowbuf empty = cp->slot[at];  /* sent, or never used */
	cp->slot[at] = *b;
	*b = empty;
	b->len = 0;
	cp->queued++;
	pthread_cond_signal(&cp->work);
	pthread_mutex_unlock(&cp->lock);
	return 0;
}

int copypipe_drain(struct copypipe *cp, struct err *e)
{
	pthread_mutex_lock(&cp->lock);
	while (cp->queued)
		pthread_cond_wait(&cp->space, &cp->lock);
	int failed = cp->failed;
	if (failed && e)
		*e = cp->err;
	pthread_mutex_unlock(&cp->lock);
	return failed ? -1 : 0;
}

void copypipe_close(struct copypipe *cp)
{
	if (!cp)
		return;
	pthread_mutex_lock(&cp->lock);
	cp->closing = 1;
	pthread_cond_signal(&cp->work);
	pthread_mutex_unlock(&cp->lock);
	pthread_join(cp->thread, NULL);
	for (int i = 0; i < COPYPIPE_BUFFERS; i++)
		rowbuf_release(&cp->slot[i]);
	pthread_mutex_destroy(&cp->lock);
	pthread_cond_destroy(&cp->work);
	pthread_cond_destroy(&cp->space);
	free(cp);
}
