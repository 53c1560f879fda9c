/*
 * schema_change.h - a file's header compared with the header of the last
 * accepted file of its source (jobs/README.md, "Schema changes"): the
 * difference named (columns added, removed, renamed, moved), and the
 * source's rule applied to the open reader: accept (the added columns are
 * ignored) or refuse (every record quarantined as schema_change).
 */
#ifndef BILLRUN_SCHEMA_CHANGE_H
#define BILLRUN_SCHEMA_CHANGE_H

#include "reader.h"

#include <limits.h>
#include <stddef.h>

struct db;
struct err;

/*
 * The difference between header old[0..nold) and new[0..nnew) in words,
 * appended to words ("" when the two are equal, name for name):
 * "added 'x', 'y'; removed 'z'; renamed 'a' to 'b'; moved 'w'". A column
 * gone while a new one stands between the same neighbours (the same column
 * before it, or after it) or at the same position is a rename; a column
 * in both whose order relative to the others changed is moved (the fewest
 * such: the others keep their order). Names compare exactly (a change of
 * letter case is a rename). When added is not NULL, added[j] is set to 1
 * for each new[j] that is added (not a rename), else 0. Returns the
 * number of differences named (0: the same header); never fails
 * (allocation failure aborts).
 */
int schema_diff(const char *const *old, size_t nold, const char *const *new, size_t nnew, struct textbuf *words,
		int *added);

/* What the comparison found for one file, for its ingest_files row. */
struct schema_check {
	struct textbuf header;     /* the file's header as a JSON array; len 0: it has none */
	struct textbuf change;     /* the difference in words; len 0: none */
	struct textbuf ignored;    /* the added columns ignored (accept), a JSON array; len 0: none */
	const char *action;        /* "accepted", "refused", or NULL when nothing changed */
	char previous[NAME_MAX + 1]; /* the file compared with, when there was one */
};

/*
 * Compare the header of the file r has open (r->header) with the header of
 * the last accepted file of source (an ingest_files row with a header, no
 * header problem and not refused), read through db, and apply the
 * source's rule: refuse sets r->refused (naming the difference and the
 * file compared with), accept marks the added columns used so that the
 * format leaves them out of the attributes. A file without a usable
 * header (none, asterisk-cdr, or r->problem set) and the first file of a
 * source are compared with nothing. sc is filled (the caller releases it
 * whatever the result). Returns 0, or -1 with e set when the query fails.
 */
int schema_check_file(struct db *db, const char *source, int refuse, struct reader *r, struct schema_check *sc,
		      struct err *e);

void schema_check_release(struct schema_check *sc);

#endif
