/*
 * The pinner: a thread that keeps pinned paths held locally. The contract
 * is in pinner.h.
 */
#include "fs/pinner.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs/view.h"
#include "wire/err.h"
#include "wire/log.h"
#include "wire/pathname.h"

struct nb_pinner {
	struct nb_fs *fs;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop, woken;
};

struct nb_pin_walk {
	struct nb_pinner *p;
	const char *dir;
	int fetched, failed;
};

static int nb_pinner_stopping(struct nb_pinner *p)
{
	pthread_mutex_lock(&p->lock);
	int s = p->stop;
	pthread_mutex_unlock(&p->lock);
	return s;
}

static void nb_pinner_path(struct nb_pinner *p, const char *path, struct nb_pin_walk *w);

static int nb_pinner_child(void *arg, const char *name)
{
	struct nb_pin_walk *w = arg;
	/* On the heap: this recurses once per level of the pinned tree. */
	size_t dl = strlen(w->dir), nl = strlen(name), n = dl + (dl ? 1 : 0) + nl;
	if (n > NB_PATH_MAX)
		return 0;
	char *path = malloc(n + 1);
	if (!path)
		return 0;
	memcpy(path, w->dir, dl);
	if (dl)
		path[dl] = '/';
	memcpy(path + n - nl, name, nl + 1);
	nb_pinner_path(w->p, path, w);
	free(path);
	return nb_pinner_stopping(w->p);
}

/* Make path (and all below it, for a directory) held locally. */
static void nb_pinner_path(struct nb_pinner *p, const char *path, struct nb_pin_walk *w)
{
	struct stat st;
	int staged;
	if (nb_view_lookup(p->fs, path, &st, &staged) != 0)
		return; /* not there (yet): nothing to keep */
	if (S_ISREG(st.st_mode) && !staged) {
		int r = nb_view_fetch(p->fs, path);
		if (r == 0) {
			nb_info("%s: fetched (pinned)", path);
			w->fetched++;
		} else {
			nb_warn("%s: pinned, but cannot fetch it now: %s", path, nb_strerror(r));
			w->failed++;
		}
		return;
	}
	if (!S_ISDIR(st.st_mode))
		return;
	const char *saved = w->dir;
	w->dir = path;
	nb_view_list(p->fs, path, nb_pinner_child, w);
	w->dir = saved;
}

static void nb_pinner_round(struct nb_pinner *p)
{
	char reason[16];
	char **pins;
	size_t n;
	if (!nb_core_link(p->fs->core, reason, sizeof(reason)) || nb_core_paused(p->fs->core))
		return;
	if (nb_core_pin_list(p->fs->core, &pins, &n) != 0)
		return;
	struct nb_pin_walk w = {p, "", 0, 0};
	for (size_t i = 0; i < n && !nb_pinner_stopping(p); i++)
		nb_pinner_path(p, pins[i], &w);
	nb_core_pin_list_free(pins, n);
	if (w.fetched || w.failed)
		nb_info("pins: %d files fetched, %d not now", w.fetched, w.failed);
}

static void *nb_pinner_main(void *arg)
{
	struct nb_pinner *p = arg;
	for (;;) {
		nb_pinner_round(p);
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += NB_PINNER_PERIOD_MS / 1000;
		pthread_mutex_lock(&p->lock);
		while (!p->stop && !p->woken)
			if (pthread_cond_timedwait(&p->cond, &p->lock, &ts) == ETIMEDOUT)
				break;
		p->woken = 0;
		int stop = p->stop;
		pthread_mutex_unlock(&p->lock);
		if (stop)
			return NULL;
	}
}

int nb_pinner_start(struct nb_fs *fs, struct nb_pinner **out)
{
	struct nb_pinner *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->fs = fs;
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cond, &ca);
	pthread_condattr_destroy(&ca);
	int r = pthread_create(&p->thread, NULL, nb_pinner_main, p);
	if (r != 0) {
		pthread_mutex_destroy(&p->lock);
		pthread_cond_destroy(&p->cond);
		free(p);
		return -r;
	}
	*out = p;
	return 0;
}

void nb_pinner_wake(struct nb_pinner *p)
{
	pthread_mutex_lock(&p->lock);
	p->woken = 1;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

void nb_pinner_stop(struct nb_pinner *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	free(p);
}
