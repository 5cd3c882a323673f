/*
 * The user's controls over the queue: sync now (skip the quiet time),
 * retry now (skip a failed entry's wait), pause and resume, and pins
 * (paths kept locally: never evicted, fetched ahead by fs/). Pins are
 * durable in the state database's pins table and mirrored in memory
 * (sync/pins.h) for the evictor's and the view's questions.
 */
#include "sync/queue_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wire/err.h"
#include "wire/log.h"
#include "wire/pathname.h"
#include "wire/xio.h"

int nb_queue_kick(struct nb_queue *q, const char *path, int retry_only)
{
	int n = 0;
	long long now = nb_xio_now_ms();
	pthread_mutex_lock(&q->lock);
	/* A walk over the whole queue: a command a user types, not a hot
	 * path, and "everything below a directory" needs no index then. */
	for (struct nb_entry *e = q->head; e; e = e->next) {
		if (!nb_path_is_within(e->path, path) &&
		    !(e->path2 && nb_path_is_within(e->path2, path)))
			continue;
		if (e->state == NB_STATE_UPLOADING)
			continue; /* on its way already */
		int waiting = e->state == NB_STATE_ERROR || e->retry_ms > now;
		if (retry_only && !waiting)
			continue;
		if (!retry_only)
			e->quick = 1; /* no quiet time for this version */
		e->retry_ms = 0;
		if (e->state == NB_STATE_ERROR) {
			e->state = NB_STATE_PENDING;
			nb_q_set_error(e, NULL);
		}
		nb_q_update(q, e);
		n++;
	}
	pthread_cond_broadcast(&q->cond);
	nb_q_unlock(q);
	return n;
}

void nb_queue_pause(struct nb_queue *q, int paused)
{
	pthread_mutex_lock(&q->lock);
	if (q->paused != !!paused)
		nb_info("sync %s by the user", paused ? "paused" : "resumed");
	q->paused = !!paused;
	pthread_cond_broadcast(&q->cond);
	nb_q_unlock(q);
}

int nb_queue_paused(struct nb_queue *q)
{
	pthread_mutex_lock(&q->lock);
	int p = q->paused;
	nb_q_unlock(q);
	return p;
}

/* ---- pins ---- */

static int nb_q_pin_load_one(void *arg, const char *path)
{
	return nb_pins_add(arg, path);
}

int nb_q_pins_load(struct nb_queue *q)
{
	nb_pins_free(&q->pins);
	int r = nb_statedb_each_pin(q->db, nb_q_pin_load_one, &q->pins);
	if (r != 0)
		nb_err("cannot load the pinned paths: %s", nb_strerror(r));
	return r;
}

int nb_queue_pin(struct nb_queue *q, const char *path, int pin)
{
	int r;
	if (!path[0])
		return -EINVAL; /* the mount root: not a pin (see nbfs(1)) */
	pthread_mutex_lock(&q->lock);
	if (pin) {
		/* Durable first, then in memory. */
		if ((r = nb_statedb_pin_set(q->db, path)) == 0 &&
		    (r = nb_pins_add(&q->pins, path)) != 0 && nb_statedb_pin_del(q->db, path) != 0)
			nb_warn("%s: pinned in the database only (until the next mount)", path);
	} else if (!nb_pins_has(&q->pins, path) && nb_pins_covers(&q->pins, path)) {
		r = -EBUSY; /* pinned through a directory above it */
	} else if ((r = nb_statedb_pin_del(q->db, path)) == 0) {
		nb_pins_del_within(&q->pins, path);
	}
	nb_q_unlock(q);
	return r;
}

int nb_queue_pinned(struct nb_queue *q, const char *path)
{
	pthread_mutex_lock(&q->lock);
	int p = nb_pins_covers(&q->pins, path);
	nb_q_unlock(q);
	return p;
}

int nb_queue_pin_list(struct nb_queue *q, char ***out, size_t *n)
{
	int r = 0;
	pthread_mutex_lock(&q->lock);
	char **v = calloc(q->pins.n + 1, sizeof(*v));
	size_t k = 0;
	if (!v)
		r = -ENOMEM;
	for (; r == 0 && k < q->pins.n; k++)
		if (!(v[k] = strdup(q->pins.v[k])))
			r = -ENOMEM;
	nb_q_unlock(q);
	if (r != 0) {
		nb_queue_pin_list_free(v, k);
		return r;
	}
	*out = v;
	*n = k;
	return 0;
}

void nb_queue_pin_list_free(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void nb_q_pins_renamed(struct nb_queue *q, const char *from, const char *to)
{
	if (q->pins.n == 0)
		return;
	int r = nb_statedb_pin_move(q->db, from, to);
	if (r == 0 && nb_pins_move(&q->pins, from, to) == 0)
		return;
	/* The database is the truth: start again from it. */
	nb_warn("%s: its pins could not follow the rename to %s at once", from, to);
	if (nb_q_pins_load(q) != 0)
		nb_err("pins may be out of date until the next mount");
}

void nb_q_pins_removed(struct nb_queue *q, const char *path)
{
	if (q->pins.n == 0)
		return;
	int r = nb_statedb_pin_del(q->db, path);
	if (r != 0)
		nb_warn("%s: its pin stays in the database (%s)", path, nb_strerror(r));
	nb_pins_del_within(&q->pins, path);
}
