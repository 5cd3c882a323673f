/*
 * The scheduler: which queue entry runs next. The contract is in sched.h.
 */
#include "sync/sched.h"

#include <errno.h>
#include <stdlib.h>

void nb_sched_init(struct nb_sched *s)
{
	nb_ptree_init(&s->index);
	s->ready = (struct nb_sched_heap){0};
	s->timed = (struct nb_sched_heap){0};
	s->items = 0;
}

void nb_sched_free(struct nb_sched *s)
{
	free(s->ready.v);
	free(s->timed.v);
	nb_sched_init(s);
}

/* ---- heaps: ready by seq, timed by (ready_at, seq) ---- */

static int nb_sched_before(const struct nb_sched_heap *h, const struct nb_sched *s,
			   const struct nb_sched_item *a, const struct nb_sched_item *b)
{
	if (h == &s->timed && a->ready_at != b->ready_at)
		return a->ready_at < b->ready_at;
	return a->seq < b->seq;
}

static void nb_heap_place(struct nb_sched_heap *h, size_t i, struct nb_sched_item *it)
{
	h->v[i] = it;
	it->hidx = i;
}

static void nb_heap_up(struct nb_sched *s, struct nb_sched_heap *h, size_t i)
{
	struct nb_sched_item *it = h->v[i];
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!nb_sched_before(h, s, it, h->v[p]))
			break;
		nb_heap_place(h, i, h->v[p]);
		i = p;
	}
	nb_heap_place(h, i, it);
}

static void nb_heap_down(struct nb_sched *s, struct nb_sched_heap *h, size_t i)
{
	struct nb_sched_item *it = h->v[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && nb_sched_before(h, s, h->v[c + 1], h->v[c]))
			c++;
		if (!nb_sched_before(h, s, h->v[c], it))
			break;
		nb_heap_place(h, i, h->v[c]);
		i = c;
	}
	nb_heap_place(h, i, it);
}

/* Capacity is reserved by nb_sched_add (one slot per item in each heap:
 * an item is in at most one), so pushing never allocates. */
static void nb_heap_push(struct nb_sched *s, struct nb_sched_heap *h, struct nb_sched_item *it)
{
	h->v[h->n++] = it;
	nb_heap_up(s, h, h->n - 1);
}

static void nb_heap_remove(struct nb_sched *s, struct nb_sched_heap *h, struct nb_sched_item *it)
{
	size_t i = it->hidx;
	struct nb_sched_item *last = h->v[--h->n];
	if (i == h->n)
		return;
	nb_heap_place(h, i, last);
	nb_heap_down(s, h, i);
	nb_heap_up(s, h, last->hidx);
}

static int nb_heap_reserve(struct nb_sched_heap *h, size_t n)
{
	if (n <= h->cap)
		return 0;
	size_t cap = h->cap ? h->cap * 2 : 64;
	while (cap < n)
		cap *= 2;
	struct nb_sched_item **v = realloc(h->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	h->v = v;
	h->cap = cap;
	return 0;
}

/* ---- where an item is ---- */

static void nb_sched_unpark(struct nb_sched_item *it)
{
	struct nb_sched_item *b = it->blocker;
	if (it->wprev)
		it->wprev->wnext = it->wnext;
	else
		b->waiters = it->wnext;
	if (it->wnext)
		it->wnext->wprev = it->wprev;
	it->wprev = it->wnext = NULL;
	it->blocker = NULL;
}

/* Out of whatever heap or waiters list it is in. */
static void nb_sched_detach(struct nb_sched *s, struct nb_sched_item *it)
{
	switch (it->where) {
	case NB_SCHED_READY: nb_heap_remove(s, &s->ready, it); break;
	case NB_SCHED_TIMED: nb_heap_remove(s, &s->timed, it); break;
	case NB_SCHED_PARKED: nb_sched_unpark(it); break;
	default: break;
	}
	it->where = NB_SCHED_OFF;
}

static void nb_sched_park(struct nb_sched_item *it, struct nb_sched_item *blocker)
{
	it->where = NB_SCHED_PARKED;
	it->blocker = blocker;
	it->wprev = NULL;
	it->wnext = blocker->waiters;
	if (blocker->waiters)
		blocker->waiters->wprev = it;
	blocker->waiters = it;
}

void nb_sched_set(struct nb_sched *s, struct nb_sched_item *it, long long ready_at,
		  long long now)
{
	nb_sched_detach(s, it);
	it->ready_at = ready_at;
	if (ready_at < 0 || !it->nkeys)
		return;
	if (ready_at <= now) {
		it->where = NB_SCHED_READY;
		nb_heap_push(s, &s->ready, it);
	} else {
		it->where = NB_SCHED_TIMED;
		nb_heap_push(s, &s->timed, it);
	}
}

int nb_sched_add(struct nb_sched *s, struct nb_sched_item *it, void *owner, int64_t seq,
		 const char *path, const char *path2, int barrier)
{
	if (nb_heap_reserve(&s->ready, s->items + 1) != 0 ||
	    nb_heap_reserve(&s->timed, s->items + 1) != 0)
		return -ENOMEM;
	*it = (struct nb_sched_item){.seq = seq, .barrier = barrier, .owner = owner, .ready_at = -1};
	const char *paths[2] = {path, path2};
	it->nkeys = path2 ? 2 : 1;
	for (int i = 0; i < it->nkeys; i++) {
		struct nb_pnode *k = &it->key[i];
		k->path = paths[i];
		k->seq = seq;
		k->barrier = barrier;
		k->owner = it;
		nb_ptree_insert(&s->index, k);
	}
	s->items++;
	return 0;
}

void nb_sched_del(struct nb_sched *s, struct nb_sched_item *it)
{
	if (!it->nkeys)
		return;
	nb_sched_detach(s, it);
	for (int i = 0; i < it->nkeys; i++)
		nb_ptree_remove(&s->index, &it->key[i]);
	it->nkeys = 0;
	s->items--;
	/* What waited for it may run now (or finds its next blocker). */
	while (it->waiters) {
		struct nb_sched_item *w = it->waiters;
		nb_sched_unpark(w);
		w->where = NB_SCHED_OFF;
		/* Its time had come when it was parked, or it would not have
		 * been looked at; the next pick checks it again. */
		nb_sched_set(s, w, w->ready_at, w->ready_at);
	}
}

struct nb_sched_item *nb_sched_first_overlap(struct nb_sched *s, const char *path,
					     int barriers_only)
{
	struct nb_pnode *n = nb_ptree_first_overlap(&s->index, path, barriers_only);
	return n ? n->owner : NULL;
}

/* The earliest unfinished item before it that it must wait for, or NULL. */
static struct nb_sched_item *nb_sched_blocker(struct nb_sched *s, struct nb_sched_item *it)
{
	struct nb_sched_item *best = NULL;
	for (int i = 0; i < it->nkeys; i++) {
		/* A creation waits only for barriers; a barrier for anything. */
		struct nb_sched_item *b = nb_sched_first_overlap(s, it->key[i].path, !it->barrier);
		if (b && b->seq < it->seq && (!best || b->seq < best->seq))
			best = b;
	}
	return best;
}

struct nb_sched_item *nb_sched_pick(struct nb_sched *s, long long now, long long *next_at)
{
	while (s->timed.n && s->timed.v[0]->ready_at <= now) {
		struct nb_sched_item *it = s->timed.v[0];
		nb_heap_remove(s, &s->timed, it);
		it->where = NB_SCHED_READY;
		nb_heap_push(s, &s->ready, it);
	}
	while (s->ready.n) {
		struct nb_sched_item *it = s->ready.v[0];
		nb_heap_remove(s, &s->ready, it);
		it->where = NB_SCHED_OFF;
		struct nb_sched_item *b = nb_sched_blocker(s, it);
		if (!b)
			return it;
		nb_sched_park(it, b);
	}
	*next_at = s->timed.n ? s->timed.v[0]->ready_at : -1;
	return NULL;
}
