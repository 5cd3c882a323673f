/*
 * Directories whose time the server has to be told: the set behind
 * carrying directory mtimes (docs/DESIGN.md, "Directory times").
 *
 * A directory is marked when the sync changed the server's copy of it
 * (a child published, created, removed or renamed; the directory itself
 * made). Its time may go once no queue entry at or below it is left:
 * until then more changes are coming that would move the server's time
 * on again. The set does not know the queue; it keeps a list of
 * candidates, directories that may have become free: each one marked,
 * and each marked directory at or above a path whose queue entry went
 * (nb_dirtimes_poke). nb_dirtimes_take asks the caller whether a
 * candidate is still busy, so each is looked at once per change below
 * it, never by scanning the whole set.
 *
 * A directory stays in the set while its time is on the wire, so "is
 * anything below this directory not in place yet" counts it
 * (nb_dirtimes_within).
 *
 * Not thread-safe: the queue's lock covers it. In memory only.
 */
#ifndef NB_DIRTIMES_H
#define NB_DIRTIMES_H

#include <stddef.h>

#include "wire/hmap.h"

struct nb_dirtime;

struct nb_dirtimes {
	struct nb_hmap map;
	struct nb_dirtime *all;		  /* every directory in the set */
	struct nb_dirtime *chead, *ctail; /* candidates, oldest first */
	size_t count;
};

/* An empty set. 0 or -ENOMEM. */
int nb_dirtimes_init(struct nb_dirtimes *d);
void nb_dirtimes_free(struct nb_dirtimes *d);
/* Directory path ("" is the root) is to have its time sent (again, if
 * it is on the wire now: it goes once more after that answer). 0 or
 * -ENOMEM (the mark is lost). */
int nb_dirtimes_mark(struct nb_dirtimes *d, const char *path);
/* A queue entry at path went away (finished, dropped or moved): the
 * marked directories at and above path become candidates, deepest
 * first. */
void nb_dirtimes_poke(struct nb_dirtimes *d, const char *path);
/* The next candidate that is marked, not on the wire, and not busy
 * (busy(arg, dir) says whether a queue entry is left at or below it):
 * 1, its path copied to out (outsz > NB_PATH_MAX), and it counts as on
 * the wire until nb_dirtimes_settled. 0 if there is none. Candidates
 * found busy are dropped from the list (a later poke brings them
 * back). */
int nb_dirtimes_take(struct nb_dirtimes *d, int (*busy)(void *arg, const char *dir), void *arg,
		     char *out, size_t outsz);
/* The time of path, taken, was answered (again = 0) or lost with the
 * link (again = 1: to be sent again). A directory marked meanwhile
 * stays for another round; else it leaves the set. */
void nb_dirtimes_settled(struct nb_dirtimes *d, const char *path, int again);
/* Forget every directory not on the wire (the server cannot take
 * times). Returns how many went. */
size_t nb_dirtimes_clear(struct nb_dirtimes *d);
/* 1 if a directory at or below dir ("" is all) is in the set. */
int nb_dirtimes_within(const struct nb_dirtimes *d, const char *dir);
/* Directories in the set. */
size_t nb_dirtimes_count(const struct nb_dirtimes *d);

#endif
