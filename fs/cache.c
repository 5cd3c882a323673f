/*
 * The bounded cache: the staging area may hold at most `max` bytes of file
 * data. The contract is in cache.h.
 */
#include "fs/cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "wire/hmap.h"
#include "wire/log.h"
#include "wire/longpath.h"
#include "wire/pathname.h"
#include "wire/xio.h"

/* Evict down to this share of max once usage passes the high mark, so
 * eviction runs in batches, not on every write. */
#define NB_CACHE_HIGH_PCT 90
#define NB_CACHE_LOW_PCT 75
#define NB_CACHE_RESCAN_MS 30000

/* When each staged file was last opened, by a counter: the LRU order.
 * (Not the files' atime: that belongs to the user.) */
struct nb_lru {
	char *path;
	uint64_t tick;
	struct nb_lru *next;
};

#define NB_LRU_BUCKETS 4096

struct nb_cache {
	int stage_fd;
	struct nb_lru *lru[NB_LRU_BUCKETS];
	uint64_t tick;
	struct nb_core *core;
	uint64_t max;
	long wait_ms;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* evictor wakes / room made */
	int64_t used;
	int waiting; /* writers waiting for room */
	int stop, started;
	pthread_t thread;
};

struct nb_victim {
	char *path;
	uint64_t size;
	uint64_t tick; /* 0: not opened since mount */
	struct timespec atime;
};

static size_t nb_lru_hash(const char *s)
{
	return (size_t)(nb_hash_str(s) % NB_LRU_BUCKETS);
}

/* Lock held. The entry for path, created if asked. */
static struct nb_lru *nb_lru_find(struct nb_cache *c, const char *path, int create)
{
	struct nb_lru **pp = &c->lru[nb_lru_hash(path)];
	for (; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->path, path) == 0)
			return *pp;
	if (!create)
		return NULL;
	struct nb_lru *n = calloc(1, sizeof(*n));
	if (!n || !(n->path = strdup(path))) {
		free(n);
		return NULL;
	}
	*pp = n;
	return n;
}

/* Lock held. */
static void nb_lru_forget(struct nb_cache *c, const char *path)
{
	for (struct nb_lru **pp = &c->lru[nb_lru_hash(path)]; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->path, path) == 0) {
			struct nb_lru *n = *pp;
			*pp = n->next;
			free(n->path);
			free(n);
			return;
		}
	}
}

struct nb_walk {
	struct nb_cache *c;
	char *path; /* the walk's current path (NB_PATH_MAX + 1 bytes) */
	struct nb_victim *v;
	size_t n, cap;
	uint64_t total;
};

static void nb_cache_cond_init(pthread_cond_t *cond)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &ca);
	pthread_condattr_destroy(&ca);
}

/* One entry of the walk: name in the directory dfd, its whole path in
 * w->path (n bytes). */
static void nb_cache_walk(struct nb_walk *w, int fd, size_t len, int collect);

static void nb_cache_walk_entry(struct nb_walk *w, int dfd, const char *name, size_t n, int collect)
{
	const char *path = w->path;
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub >= 0)
			nb_cache_walk(w, sub, n, collect);
		return;
	}
	if (!S_ISREG(st.st_mode))
		return;
	w->total += (uint64_t)st.st_size;
	if (!collect || !nb_core_is_clean(w->c->core, path, &st))
		return;
	/* An owner other than ours is kept only here (ownership is not
	 * synced): a copy fetched again would be ours. */
	if (st.st_uid != geteuid() || st.st_gid != getegid())
		return;
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 256;
		struct nb_victim *nv = realloc(w->v, cap * sizeof(*nv));
		if (!nv)
			return;
		w->v = nv;
		w->cap = cap;
	}
	if (!(w->v[w->n].path = strdup(path)))
		return;
	w->v[w->n].size = (uint64_t)st.st_size;
	w->v[w->n].atime = st.st_atim;
	pthread_mutex_lock(&w->c->lock);
	struct nb_lru *l = nb_lru_find(w->c, path, 0);
	w->v[w->n].tick = l ? l->tick : 0;
	pthread_mutex_unlock(&w->c->lock);
	w->n++;
}

/* Walk the directory open as fd (closed here), whose path is the first
 * len bytes of w->path (a buffer of NB_PATH_MAX + 1 bytes shared by the
 * walk): total the file sizes; with collect, gather the clean files. A
 * subdirectory is opened from its parent's fd, so a level costs a
 * little stack and one open directory however long its path is. */
static void nb_cache_walk(struct nb_walk *w, int fd, size_t len, int collect)
{
	DIR *d = fdopendir(fd);
	if (!d) {
		nb_xio_close(fd);
		return;
	}
	char *path = w->path;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		size_t nl = strlen(de->d_name), n = len + (len ? 1 : 0) + nl;
		if (n > NB_PATH_MAX)
			continue;
		if (len)
			path[len] = '/';
		memcpy(path + n - nl, de->d_name, nl + 1);
		nb_cache_walk_entry(w, dirfd(d), de->d_name, n, collect);
		path[len] = 0;
	}
	closedir(d);
}

/* Walk the whole staging area (see nb_cache_walk). 0 or -errno. */
static int nb_cache_walk_all(struct nb_walk *w, int collect)
{
	int fd = openat(w->c->stage_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (!(w->path = malloc(NB_PATH_MAX + 1))) {
		nb_xio_close(fd);
		return -ENOMEM;
	}
	w->path[0] = 0;
	nb_cache_walk(w, fd, 0, collect);
	free(w->path);
	w->path = NULL;
	return 0;
}

static int nb_victim_cmp(const void *a, const void *b)
{
	const struct nb_victim *x = a, *y = b;
	if (x->tick != y->tick)
		return x->tick < y->tick ? -1 : 1;
	if (x->atime.tv_sec != y->atime.tv_sec)
		return x->atime.tv_sec < y->atime.tv_sec ? -1 : 1;
	if (x->atime.tv_nsec != y->atime.tv_nsec)
		return x->atime.tv_nsec < y->atime.tv_nsec ? -1 : 1;
	return 0;
}

int nb_cache_new(int stage_fd, struct nb_core *core, uint64_t max, long wait_ms,
		 struct nb_cache **out)
{
	struct nb_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->stage_fd = stage_fd;
	c->core = core;
	c->max = max;
	c->wait_ms = wait_ms;
	pthread_mutex_init(&c->lock, NULL);
	nb_cache_cond_init(&c->cond);
	struct nb_walk w = {.c = c};
	int r = nb_cache_walk_all(&w, 0);
	if (r != 0) {
		nb_cache_free(c);
		return r;
	}
	c->used = (int64_t)w.total;
	*out = c;
	return 0;
}

/* nb_core_evict's remover: runs under the queue's lock. */
static int nb_cache_unlink(void *arg, const char *path)
{
	struct nb_cache *c = arg;
	return nb_longpath_unlinkat(c->stage_fd, path, 0) == 0 ? 0 : -errno;
}

uint64_t nb_cache_evict(struct nb_cache *c, uint64_t target)
{
	struct nb_walk w = {.c = c};
	uint64_t freed = 0;
	if (nb_cache_walk_all(&w, 1) != 0)
		return 0; /* nothing to go by: try again next time */
	pthread_mutex_lock(&c->lock);
	c->used = (int64_t)w.total; /* exact again: writes only estimate */
	pthread_mutex_unlock(&c->lock);
	if (w.n) /* qsort(NULL, 0) is undefined */
		qsort(w.v, w.n, sizeof(*w.v), nb_victim_cmp);
	for (size_t i = 0; i < w.n; i++) {
		if (w.total - freed > target && nb_core_evict(c->core, w.v[i].path, nb_cache_unlink, c) == 0) {
			freed += w.v[i].size;
			pthread_mutex_lock(&c->lock);
			nb_lru_forget(c, w.v[i].path);
			pthread_mutex_unlock(&c->lock);
			nb_debug("evicted %s (%llu bytes)", w.v[i].path, (unsigned long long)w.v[i].size);
		}
		free(w.v[i].path);
	}
	free(w.v);
	if (freed)
		nb_cache_add(c, -(int64_t)freed);
	return freed;
}

static void *nb_cache_main(void *arg)
{
	struct nb_cache *c = arg;
	long long last = nb_xio_now_ms();
	pthread_mutex_lock(&c->lock);
	while (!c->stop) {
		int over = c->used > (int64_t)(c->max / 100 * NB_CACHE_HIGH_PCT);
		if (over || c->waiting || nb_xio_now_ms() - last >= NB_CACHE_RESCAN_MS) {
			pthread_mutex_unlock(&c->lock);
			nb_cache_evict(c, c->max / 100 * NB_CACHE_LOW_PCT);
			last = nb_xio_now_ms();
			pthread_mutex_lock(&c->lock);
			pthread_cond_broadcast(&c->cond);
			if (c->waiting && c->used > (int64_t)(c->max / 100 * NB_CACHE_LOW_PCT)) {
				/* Nothing more to evict until uploads finish:
				 * look again shortly. */
				struct timespec ts;
				clock_gettime(CLOCK_MONOTONIC, &ts);
				ts.tv_nsec += 200 * 1000000;
				if (ts.tv_nsec >= 1000000000) {
					ts.tv_sec++;
					ts.tv_nsec -= 1000000000;
				}
				pthread_cond_timedwait(&c->cond, &c->lock, &ts);
			}
			continue;
		}
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += 5;
		pthread_cond_timedwait(&c->cond, &c->lock, &ts);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

int nb_cache_start(struct nb_cache *c)
{
	if (c->max == 0)
		return 0;
	int r = pthread_create(&c->thread, NULL, nb_cache_main, c);
	if (r != 0)
		return -r;
	c->started = 1;
	return 0;
}

void nb_cache_free(struct nb_cache *c)
{
	if (!c)
		return;
	if (c->started) {
		pthread_mutex_lock(&c->lock);
		c->stop = 1;
		pthread_cond_broadcast(&c->cond);
		pthread_mutex_unlock(&c->lock);
		pthread_join(c->thread, NULL);
	}
	for (size_t i = 0; i < NB_LRU_BUCKETS; i++) {
		while (c->lru[i]) {
			struct nb_lru *n = c->lru[i];
			c->lru[i] = n->next;
			free(n->path);
			free(n);
		}
	}
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c);
}

void nb_cache_add(struct nb_cache *c, int64_t delta)
{
	pthread_mutex_lock(&c->lock);
	c->used += delta;
	if (c->used < 0)
		c->used = 0;
	if (delta < 0 || (c->max && c->used > (int64_t)(c->max / 100 * NB_CACHE_HIGH_PCT)))
		pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

uint64_t nb_cache_used(struct nb_cache *c)
{
	pthread_mutex_lock(&c->lock);
	uint64_t u = (uint64_t)c->used;
	pthread_mutex_unlock(&c->lock);
	return u;
}

uint64_t nb_cache_max(struct nb_cache *c)
{
	return c->max;
}

int nb_cache_full(struct nb_cache *c)
{
	pthread_mutex_lock(&c->lock);
	int full = c->waiting > 0;
	pthread_mutex_unlock(&c->lock);
	return full;
}

int nb_cache_reserve(struct nb_cache *c, uint64_t n)
{
	if (c->max == 0 || n == 0)
		return 0;
	int r = 0;
	long long deadline = nb_xio_now_ms() + c->wait_ms;
	pthread_mutex_lock(&c->lock);
	if ((uint64_t)c->used + n > c->max) {
		c->waiting++;
		pthread_cond_broadcast(&c->cond);
		while ((uint64_t)c->used + n > c->max && !c->stop) {
			long long left = deadline - nb_xio_now_ms();
			if (left <= 0) {
				r = -ENOSPC;
				break;
			}
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			long step = left < 200 ? left : 200;
			ts.tv_nsec += step * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&c->cond, &c->lock, &ts);
		}
		c->waiting--;
	}
	pthread_mutex_unlock(&c->lock);
	if (r)
		nb_warn("cache full (%llu of %llu bytes, all of it not yet on the server): write refused",
			(unsigned long long)nb_cache_used(c), (unsigned long long)c->max);
	return r;
}

void nb_cache_touch(struct nb_cache *c, const char *path)
{
	if (c->max == 0)
		return;
	pthread_mutex_lock(&c->lock);
	struct nb_lru *l = nb_lru_find(c, path, 1);
	if (l)
		l->tick = ++c->tick;
	pthread_mutex_unlock(&c->lock);
}
