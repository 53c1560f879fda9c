/*
 * copypipe.h - a COPY's data sent by a thread of its own, so that the
 * loader goes on parsing and encoding while the server takes in what it
 * was sent (jobs/README.md, "Loading, and why it is fast").
 *
 * libpq in blocking mode returns from PQputCopyData only once the socket
 * has taken the data, and a Unix socket holds about 200 kB. A loader that
 * encoded a piece and then sent it kept either itself or its server
 * waiting: measured on 2,000,000 records, the ingest process spent 2.4 s
 * in poll(), and the step's wall time was the sum of the two processes'
 * CPU times instead of the larger of them. With the sending on a thread
 * of its own, encoding and the server's work overlap.
 *
 * While a pipe is open only its thread uses the connection, and only
 * between copypipe_put and the copypipe_drain that follows: the owner
 * drains before anything else on the connection (ending the COPY, a
 * query). Buffers are handed over, not copied: copypipe_put takes the
 * caller's filled buffer and gives back an empty one. At most
 * COPYPIPE_BUFFERS pieces wait; a put beyond that waits for the thread.
 */
#ifndef BILLRUN_COPYPIPE_H
#define BILLRUN_COPYPIPE_H

#include "copybin.h"

struct db;
struct err;
struct copypipe;

#define COPYPIPE_BUFFERS 4

/* Start the sending thread for db's connection. 0, or -1 with e set. */
int copypipe_open(struct copypipe **cp, struct db *db, struct err *e);

/* Queue b's bytes for sending and give b an empty buffer in their place
 * (b->len = 0). Waits while COPYPIPE_BUFFERS pieces are queued. Returns
 * -1 with e set when an earlier piece could not be sent (the COPY is
 * broken; the rest is dropped), else 0. */
int copypipe_put(struct copypipe *cp, struct rowbuf *b, struct err *e);

/* Wait until every queued piece has been handed to libpq. 0, or -1 with
 * e set to the first failure of sending. The connection is then the
 * caller's again until the next copypipe_put. */
int copypipe_drain(struct copypipe *cp, struct err *e);

/* Drain (ignoring failures), stop the thread and free everything. NULL
 * is fine. */
void copypipe_close(struct copypipe *cp);

#endif
