/*
 * The scheduler: which queue entry runs next. An entry may run when it
 * is idle (no open writer, not in flight, not being hashed), its time
 * has come (quiet time after the last change, or a retry's wait), and
 * no unfinished entry earlier in queue order blocks it:
 *   - a creation (upload, mkdir, symlink) waits for earlier barriers
 *     (unlink, rmdir, rename) on overlapping paths;
 *   - a barrier waits for every earlier entry on overlapping paths.
 * Among those that may run, the earliest in queue order goes first, so
 * nothing waits forever behind newer work.
 *
 * Cost per job, with n entries queued and paths of depth d: O(log n) to
 * take the earliest candidate off a heap and O(d log n) to ask the path
 * index (sync/ptree.h) for a blocker. A blocked entry is parked on its
 * blocker and looked at again only when that blocker finishes or moves,
 * so it costs nothing meanwhile. Entries waiting for their time sit in a
 * second heap ordered by that time.
 *
 * Intrusive (the queue embeds struct nb_sched_item in its entries) and
 * not thread-safe: the queue's lock covers it.
 */
#ifndef NB_SCHED_H
#define NB_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "sync/ptree.h"

struct nb_sched_item {
	struct nb_pnode key[2]; /* path, and a rename's source */
	int nkeys;              /* 0 while not indexed */
	int64_t seq;
	int barrier;
	int where;              /* NB_SCHED_* below */
	size_t hidx;            /* index in the heap it is in */
	long long ready_at;     /* < 0: not runnable for now */
	struct nb_sched_item *blocker;        /* while parked */
	struct nb_sched_item *wprev, *wnext;  /* in blocker's waiters */
	struct nb_sched_item *waiters;        /* parked behind this one */
	void *owner;
};

enum { NB_SCHED_OFF, NB_SCHED_TIMED, NB_SCHED_READY, NB_SCHED_PARKED };

struct nb_sched_heap {
	struct nb_sched_item **v;
	size_t n, cap;
};

struct nb_sched {
	struct nb_ptree index;       /* every unfinished item, by path */
	struct nb_sched_heap ready;  /* may run now, by seq */
	struct nb_sched_heap timed;  /* may run from ready_at on */
	size_t items;
};

void nb_sched_init(struct nb_sched *s);
void nb_sched_free(struct nb_sched *s);

/* Index it as an unfinished entry (from now on it blocks later entries
 * that overlap it): queue position seq, path and, for a rename, path2
 * (both strings borrowed and kept alive by the caller while indexed),
 * barrier or creation. It starts not runnable (see nb_sched_set).
 * 0 or -ENOMEM (nothing changed). */
int nb_sched_add(struct nb_sched *s, struct nb_sched_item *it, void *owner, int64_t seq,
		 const char *path, const char *path2, int barrier);
/* Take it out of the scheduler entirely (finished, dropped, or about to
 * be added again with a new seq or path). Entries parked behind it are
 * looked at again. */
void nb_sched_del(struct nb_sched *s, struct nb_sched_item *it);
/* it may run from monotonic time ready_at (ms) on; < 0: not for now.
 * now is the time at the call (an item whose time has come goes
 * straight to the ready heap, so no pick has a backlog to move). */
void nb_sched_set(struct nb_sched *s, struct nb_sched_item *it, long long ready_at,
		  long long now);
/* The earliest item in queue order that may run at now and is not
 * blocked; it leaves the heaps (the caller marks it in flight, and calls
 * nb_sched_set again when it may run again). NULL if none; then *next_at
 * is the earliest time an item waits for, or -1. */
struct nb_sched_item *nb_sched_pick(struct nb_sched *s, long long now, long long *next_at);
/* The unfinished item earliest in queue order whose path overlaps path
 * (with barriers_only: among barriers), or NULL. */
struct nb_sched_item *nb_sched_first_overlap(struct nb_sched *s, const char *path,
					     int barriers_only);

#endif
