/*
 * Questions to the queue: the state of a path and of a directory, where
 * a local name lives on the server given the pending barriers, and
 * snapshots for the status report. Nothing here changes the queue.
 */
#include "sync/queue_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/pathname.h"

static void nb_q_fill(const struct nb_entry *e, struct nb_core_state *v)
{
	memset(v, 0, sizeof(*v));
	v->state = e->state;
	v->kind = e->kind;
	v->done = e->done;
	v->total = e->total;
	v->rate = e->rate;
	v->has_md5 = e->has_md5;
	if (e->has_md5)
		nb_md5_hex(e->md5, v->md5);
	if (e->error)
		snprintf(v->error, sizeof(v->error), "%s", e->error);
	v->count = 1;
}

int nb_queue_state(struct nb_queue *q, const char *path, int staged, struct nb_core_state *out)
{
	struct nb_synced rec;
	pthread_mutex_lock(&q->lock);
	struct nb_entry *e = nb_q_get(q, path);
	if (e) {
		nb_q_fill(e, out);
	} else {
		memset(out, 0, sizeof(*out));
		out->state = !staged ? NB_STATE_REMOTE
			   : nb_statedb_conflict_has(q->db, path) ? NB_STATE_CONFLICT
								   : NB_STATE_SYNCED;
		if (nb_statedb_get_synced(q->db, path, &rec) == 0 && rec.has_md5) {
			nb_md5_hex(rec.md5, out->md5);
			out->has_md5 = 1;
		}
	}
	nb_q_unlock(q);
	return e != NULL;
}

static int nb_state_rank(int state)
{
	switch (state) {
	case NB_STATE_ERROR: return 3;
	case NB_STATE_UPLOADING: return 2;
	case NB_STATE_PENDING: return 1;
	default: return 0;
	}
}

struct nb_q_dir {
	const char *dir;
	struct nb_core_state *v;
	/* The error shown: the earliest in queue order of the entries in
	 * error, else of any entry, that has a text. */
	const struct nb_entry *err_error, *err_any;
};

static int nb_q_dir_one(void *arg, struct nb_pnode *n)
{
	struct nb_q_dir *d = arg;
	const struct nb_entry *e = ((struct nb_sched_item *)n->owner)->owner;
	/* A rename with both ends inside counts once, at its destination. */
	if (n != &e->sched.key[0] && nb_path_is_within(e->path, d->dir))
		return 0;
	d->v->count++;
	d->v->done += e->done;
	d->v->total += e->total;
	d->v->rate += e->rate;
	if (nb_state_rank(e->state) > nb_state_rank(d->v->state))
		d->v->state = e->state;
	if (e->error && e->state == NB_STATE_ERROR && (!d->err_error || e->seq < d->err_error->seq))
		d->err_error = e;
	if (e->error && (!d->err_any || e->seq < d->err_any->seq))
		d->err_any = e;
	return 0;
}

void nb_queue_dir(struct nb_queue *q, const char *dir, struct nb_core_state *v)
{
	struct nb_q_dir d = {dir, v, NULL, NULL};
	memset(v, 0, sizeof(*v));
	v->state = NB_STATE_SYNCED;
	v->kind = NB_KIND_DIR;
	pthread_mutex_lock(&q->lock);
	nb_ptree_each_within(&q->sched.index, dir, nb_q_dir_one, &d);
	/* Everything is in place but the time of a directory here: not
	 * synced yet (nbfs wait waits for it too). */
	if (v->state == NB_STATE_SYNCED && nb_dirtimes_within(&q->dirtimes, dir)) {
		v->state = NB_STATE_PENDING;
		v->count++;
	}
	const struct nb_entry *e = d.err_error ? d.err_error : d.err_any;
	if (e)
		snprintf(v->error, sizeof(v->error), "%s: %s", e->path, e->error);
	nb_q_unlock(q);
}

int nb_q_resolve(struct nb_queue *q, const char *path, char *out, size_t outsz)
{
	size_t n = strlen(path);
	if (n > NB_PATH_MAX || n >= outsz)
		return -ENAMETOOLONG;
	char *cur = malloc(NB_PATH_MAX + 1); /* not on the stack: 32 KiB */
	if (!cur)
		return -ENOMEM;
	memcpy(cur, path, n + 1);
	int r = 0;
	/* Walk back in time: the newest barrier that touches the path
	 * decides where it came from. */
	for (struct nb_entry *e = q->btail; e && r == 0; e = e->bprev) {
		if (e->kind == NB_KIND_RENAME && nb_path_is_within(cur, e->path)) {
			size_t tl = strlen(e->path), fl = strlen(e->path2), rest = strlen(cur) - tl;
			if (fl + rest > NB_PATH_MAX) {
				r = -ENAMETOOLONG;
				break;
			}
			memmove(cur + fl, cur + tl, rest + 1);
			memcpy(cur, e->path2, fl);
		} else if (nb_path_is_within(cur, e->kind == NB_KIND_RENAME ? e->path2 : e->path)) {
			r = -ENOENT;
		}
	}
	if (r == 0 && strlen(cur) >= outsz)
		r = -ENAMETOOLONG;
	if (r == 0)
		memcpy(out, cur, strlen(cur) + 1);
	free(cur);
	return r;
}

int nb_queue_has_creation(struct nb_queue *q, const char *path)
{
	pthread_mutex_lock(&q->lock);
	int has = nb_q_find(q, path) != NULL;
	nb_q_unlock(q);
	return has;
}

int nb_queue_resolve(struct nb_queue *q, const char *path, char *out, size_t outsz)
{
	pthread_mutex_lock(&q->lock);
	int r = nb_q_resolve(q, path, out, outsz);
	nb_q_unlock(q);
	return r;
}

void nb_queue_renamed_into(struct nb_queue *q, const char *dir,
			   void (*fn)(void *arg, const char *name), void *arg)
{
	size_t dl = strlen(dir), n = 0, cap = 0;
	char **names = NULL;
	pthread_mutex_lock(&q->lock);
	for (struct nb_entry *e = q->bhead; e; e = e->bnext) {
		if (e->kind != NB_KIND_RENAME || nb_path_parent_len(e->path) != dl ||
		    strncmp(e->path, dir, dl) != 0)
			continue;
		if (n == cap) {
			size_t c2 = cap ? cap * 2 : 8;
			char **v = realloc(names, c2 * sizeof(*v));
			if (!v)
				break;
			names = v;
			cap = c2;
		}
		if (!(names[n] = strdup(dl ? e->path + dl + 1 : e->path)))
			break;
		n++;
	}
	nb_q_unlock(q);
	/* fn runs without the lock: it may well look things up here. */
	for (size_t i = 0; i < n; i++) {
		fn(arg, names[i]);
		free(names[i]);
	}
	free(names);
}

size_t nb_queue_count(struct nb_queue *q)
{
	pthread_mutex_lock(&q->lock);
	size_t n = q->count;
	nb_q_unlock(q);
	return n;
}

void nb_queue_items_free(struct nb_queue_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(items[i].path);
		free(items[i].path2);
		free(items[i].error);
	}
	free(items);
}

/* The totals over every entry (O(n): one walk of the list, in memory). */
static void nb_q_sum(struct nb_queue *q, struct nb_queue_sum *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (struct nb_entry *e = q->head; e; e = e->next) {
		sum->entries++;
		if (e->kind == NB_KIND_FILE)
			sum->files++;
		sum->done += e->done;
		sum->total += e->total;
		sum->rate += e->rate;
		if (sum->oldest_ms == 0 || e->first_ms < sum->oldest_ms)
			sum->oldest_ms = e->first_ms;
	}
}

int nb_queue_snapshot(struct nb_queue *q, size_t max, struct nb_queue_item **items, size_t *n,
		      size_t *left, struct nb_queue_sum *sum)
{
	int r = 0;
	*items = NULL;
	*n = *left = 0;
	pthread_mutex_lock(&q->lock);
	if (sum)
		nb_q_sum(q, sum);
	size_t want = q->count < max ? q->count : max;
	struct nb_queue_item *v = want ? calloc(want, sizeof(*v)) : NULL;
	if (want && !v) {
		r = -ENOMEM;
		goto out;
	}
	size_t k = 0;
	for (struct nb_entry *e = q->head; e && k < want; e = e->next, k++) {
		struct nb_queue_item *it = &v[k];
		it->state = e->state;
		it->kind = e->kind;
		it->done = e->done;
		it->total = e->total;
		it->rate = e->rate;
		it->since_ms = e->first_ms;
		if (!(it->path = strdup(e->path)) || (e->path2 && !(it->path2 = strdup(e->path2))) ||
		    (e->error && !(it->error = strdup(e->error)))) {
			nb_queue_items_free(v, k + 1);
			v = NULL;
			r = -ENOMEM;
			goto out;
		}
	}
	*items = v;
	*n = k;
	*left = q->count - k;
out:
	nb_q_unlock(q);
	return r;
}
