/*
 * What changed between two status reports, entry by entry, for
 * `nbfs status --follow`. An entry is known by its operation, path and
 * source (a move's); the same key twice (a path deleted, created and
 * deleted again) is matched in queue order.
 */
#ifndef NB_STATUS_DIFF_H
#define NB_STATUS_DIFF_H

#include "fs/status.h"

enum nb_status_change {
	NB_CHANGE_ADDED,   /* now is new */
	NB_CHANGE_SAME,	   /* in both: was and now (maybe with new numbers) */
	NB_CHANGE_REMOVED, /* was is gone from the list */
};

/* Call fn for each entry of a and b: REMOVED for each only in a (was
 * set, now NULL), then in b's order SAME or ADDED (now set, now_i its
 * index in b; was NULL for ADDED). 0 or -ENOMEM (then fn was not
 * called). */
int nb_status_diff(const struct nb_status *a, const struct nb_status *b,
		   void (*fn)(void *arg, int change, const struct nb_status_entry *was,
			      const struct nb_status_entry *now, size_t now_i),
		   void *arg);

#endif
