/*
 * The remote namespace as last listed by the server, per directory. The
 * contract is in rcache.h.
 */
#include "fs/rcache.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "wire/err.h"
#include "wire/log.h"
#include "wire/pathname.h"
#include "wire/xio.h"

/* A change the sync thread made on the server while a listing of the
 * directory was on its way (see nb_rcache_done). */
struct nb_rchange {
	char *name; /* NULL: the directory itself went away */
	int removed;
	struct nb_attr attr; /* when not removed; owns attr.link */
	struct nb_rchange *next;
};

/* Beyond this many changes during one listing, the listing is kept
 * only until the next refresh (a bound on memory, not a limit seen in
 * use: a listing takes milliseconds). */
#define NB_RCHANGES_MAX 16384

struct nb_rdir {
	char *path;
	struct nb_dirents ents; /* sorted by name */
	int valid;
	int fetching;
	struct nb_rchange *changes, **changes_tail; /* while fetching, oldest first */
	size_t nchanges;
	int changes_lost; /* more than NB_RCHANGES_MAX: the listing is suspect */
	int fetch_r; /* the last listing's outcome: 0 or -errno */
	int refs; /* threads waiting on this entry: not to be trimmed */
	long long fetched_ms;
	struct nb_rdir *next;
};

struct nb_rcache {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct nb_core *core;
	long ttl_ms, wait_ms;
	struct nb_rdir *dirs; /* a list: the working set is small */
	size_t ndirs;
};

int nb_rcache_new(struct nb_core *core, long ttl_ms, long wait_ms, struct nb_rcache **out)
{
	struct nb_rcache *rc = calloc(1, sizeof(*rc));
	if (!rc)
		return -ENOMEM;
	pthread_mutex_init(&rc->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&rc->cond, &ca);
	pthread_condattr_destroy(&ca);
	rc->core = core;
	rc->ttl_ms = ttl_ms;
	rc->wait_ms = wait_ms;
	*out = rc;
	return 0;
}

static void nb_rdir_drop_changes(struct nb_rdir *d)
{
	struct nb_rchange *c = d->changes;
	while (c) {
		struct nb_rchange *n = c->next;
		free(c->name);
		nb_attr_free(&c->attr);
		free(c);
		c = n;
	}
	d->changes = NULL;
	d->changes_tail = &d->changes;
	d->nchanges = 0;
	d->changes_lost = 0;
}

static void nb_rdir_free(struct nb_rdir *d)
{
	nb_rdir_drop_changes(d);
	free(d->path);
	nb_proto_dirents_free(&d->ents);
	free(d);
}

void nb_rcache_free(struct nb_rcache *rc)
{
	if (!rc)
		return;
	/* The engine is stopped first, so no callback is outstanding. */
	struct nb_rdir *d = rc->dirs;
	while (d) {
		struct nb_rdir *n = d->next;
		nb_rdir_free(d);
		d = n;
	}
	pthread_mutex_destroy(&rc->lock);
	pthread_cond_destroy(&rc->cond);
	free(rc);
}

void nb_rcache_set_core(struct nb_rcache *rc, struct nb_core *core)
{
	pthread_mutex_lock(&rc->lock);
	rc->core = core;
	pthread_mutex_unlock(&rc->lock);
}

static struct nb_rdir *nb_rcache_find(struct nb_rcache *rc, const char *dir, int create)
{
	for (struct nb_rdir *d = rc->dirs; d; d = d->next)
		if (strcmp(d->path, dir) == 0)
			return d;
	if (!create)
		return NULL;
	/* Bound the cache: drop idle listings beyond a few thousand. */
	if (rc->ndirs >= 4096) {
		struct nb_rdir **pp = &rc->dirs;
		while (*pp) {
			if (!(*pp)->fetching && !(*pp)->refs) {
				struct nb_rdir *victim = *pp;
				*pp = victim->next;
				nb_rdir_free(victim);
				rc->ndirs--;
			} else {
				pp = &(*pp)->next;
			}
		}
	}
	struct nb_rdir *d = calloc(1, sizeof(*d));
	if (!d || !(d->path = strdup(dir))) {
		free(d);
		return NULL;
	}
	d->changes_tail = &d->changes;
	d->next = rc->dirs;
	rc->dirs = d;
	rc->ndirs++;
	return d;
}

static int nb_dirent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct nb_dirent *)a)->name, ((const struct nb_dirent *)b)->name);
}

static struct nb_dirent *nb_rdir_lookup(struct nb_rdir *d, const char *name)
{
	struct nb_dirent key = {.name = (char *)name};
	if (!d->ents.count)
		return NULL; /* bsearch(NULL, 0) is undefined */
	return bsearch(&key, d->ents.ents, d->ents.count, sizeof(key), nb_dirent_cmp);
}

/* Set name's entry in d's listing to a (a copy; a->link copied too). */
static void nb_rdir_put(struct nb_rdir *d, const char *name, const struct nb_attr *a)
{
	struct nb_dirent *e = nb_rdir_lookup(d, name);
	if (e) {
		char *link = a->link ? strdup(a->link) : NULL;
		nb_attr_free(&e->attr);
		e->attr = *a;
		e->attr.link = link;
		return;
	}
	struct nb_dirent *n = realloc(d->ents.ents, (d->ents.count + 1) * sizeof(*n));
	if (!n)
		return;
	d->ents.ents = n;
	struct nb_dirent *x = &n[d->ents.count];
	x->name = strdup(name);
	x->attr = *a;
	x->attr.link = a->link ? strdup(a->link) : NULL;
	if (!x->name) {
		nb_attr_free(&x->attr);
		return;
	}
	d->ents.count++;
	qsort(d->ents.ents, d->ents.count, sizeof(*n), nb_dirent_cmp);
}

static void nb_rdir_del(struct nb_rdir *d, const char *name)
{
	struct nb_dirent *e = nb_rdir_lookup(d, name);
	if (!e)
		return;
	free(e->name);
	nb_attr_free(&e->attr);
	size_t i = (size_t)(e - d->ents.ents);
	memmove(e, e + 1, (d->ents.count - i - 1) * sizeof(*e));
	d->ents.count--;
}

/* The sync thread changed name in d (NULL: d itself went away; a NULL:
 * removed) while a listing of d is on its way. That listing may have
 * been made on the server before the change, and its answer may be
 * read after the change's (replies are handled as they arrive, several
 * at a time): kept here, the change is applied again over it. */
static void nb_rdir_note(struct nb_rdir *d, const char *name, const struct nb_attr *a)
{
	if (!d->fetching || d->changes_lost)
		return;
	struct nb_rchange *c = calloc(1, sizeof(*c));
	if (!c || d->nchanges >= NB_RCHANGES_MAX || (name && !(c->name = strdup(name))) ||
	    (a && a->link && !(c->attr.link = strdup(a->link)))) {
		if (c) {
			free(c->name);
			free(c);
		}
		nb_rdir_drop_changes(d);
		d->changes_lost = 1;
		return;
	}
	c->removed = !a;
	if (a) {
		char *link = c->attr.link;
		c->attr = *a;
		c->attr.link = link;
	}
	*d->changes_tail = c;
	d->changes_tail = &c->next;
	d->nchanges++;
}

/* A listing just landed in d: what the sync thread changed meanwhile
 * is applied over it, in order. 1 if d itself went away meanwhile. */
static int nb_rdir_replay(struct nb_rdir *d)
{
	int gone = 0;
	for (struct nb_rchange *c = d->changes; c; c = c->next) {
		if (!c->name) {
			nb_proto_dirents_free(&d->ents);
			gone = 1;
		} else if (c->removed)
			nb_rdir_del(d, c->name);
		else
			nb_rdir_put(d, c->name, &c->attr);
	}
	return gone;
}

/* Sync-thread callback with a finished listing. */
static void nb_rcache_done(void *arg, const char *path, int r, struct nb_dirents *ents)
{
	struct nb_rcache *rc = arg;
	pthread_mutex_lock(&rc->lock);
	struct nb_rdir *d = nb_rcache_find(rc, path, 1);
	if (d) {
		d->fetching = 0;
		d->fetched_ms = nb_xio_now_ms();
		d->fetch_r = r == -ENOENT || r == -ENOTDIR ? 0 : r;
		if (r == 0 || r == -ENOENT || r == -ENOTDIR) {
			/* A directory missing on the server lists as empty. */
			nb_proto_dirents_free(&d->ents);
			if (r == 0) {
				d->ents = *ents;
				memset(ents, 0, sizeof(*ents));
				if (d->ents.count)
					qsort(d->ents.ents, d->ents.count, sizeof(*d->ents.ents),
					      nb_dirent_cmp);
			}
			d->valid = 1;
			/* Not to be trusted when changes were lost, or when d
			 * went away: asked again at the next look. */
			if (nb_rdir_replay(d) || d->changes_lost)
				d->fetched_ms = 0;
		}
		nb_rdir_drop_changes(d);
	}
	pthread_cond_broadcast(&rc->cond);
	pthread_mutex_unlock(&rc->lock);
	nb_proto_dirents_free(ents);
}

/* Ask the server for d's listing (d->fetching set). With the lock, and
 * d->refs held by the caller. 0, or offline (then d is as it was, to be
 * asked again after the TTL). */
static int nb_rcache_fetch(struct nb_rcache *rc, struct nb_rdir *d)
{
	d->fetching = 1;
	char *path = strdup(d->path);
	pthread_mutex_unlock(&rc->lock);
	int r = !path ? -ENOMEM
		: !rc->core ? NB_E_OFFLINE
			    : nb_core_list_async(rc->core, path, nb_rcache_done, rc);
	pthread_mutex_lock(&rc->lock);
	free(path);
	if (r != 0) {
		d->fetching = 0;
		d->fetched_ms = nb_xio_now_ms();
		nb_rdir_drop_changes(d);
	}
	return r;
}

/* Wait, at most wait_ms from now, until d has no listing on its way.
 * With the lock, and d->refs held by the caller. */
static void nb_rcache_wait_fetch(struct nb_rcache *rc, struct nb_rdir *d)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += rc->wait_ms / 1000;
	ts.tv_nsec += (rc->wait_ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	while (d->fetching) {
		if (pthread_cond_timedwait(&rc->cond, &rc->lock, &ts) == ETIMEDOUT)
			break;
	}
}

/* Make d as fresh as policy allows. Called and returns with the lock. */
static void nb_rcache_refresh(struct nb_rcache *rc, struct nb_rdir *d)
{
	long long now = nb_xio_now_ms();
	if (d->valid && now - d->fetched_ms < rc->ttl_ms)
		return;
	d->refs++; /* d stays in the list while we drop the lock */
	if (!d->fetching && rc->core && (!d->fetched_ms || now - d->fetched_ms >= rc->ttl_ms) &&
	    nb_rcache_fetch(rc, d) != 0)
		goto out; /* offline: answer from what we have */
	if (!d->valid) /* else stale but usable; the refresh completes later */
		nb_rcache_wait_fetch(rc, d);
out:
	d->refs--;
}

int nb_rcache_reload(struct nb_rcache *rc, const char *dir)
{
	int r = -ENOMEM;
	pthread_mutex_lock(&rc->lock);
	struct nb_rdir *d = nb_rcache_find(rc, dir, 1);
	if (d) {
		d->refs++;
		/* A listing on its way now may have been made before the
		 * caller's question: let it land, then ask anew. */
		nb_rcache_wait_fetch(rc, d);
		r = d->fetching ? NB_E_OFFLINE : nb_rcache_fetch(rc, d);
		if (r == 0) {
			nb_rcache_wait_fetch(rc, d);
			r = d->fetching ? NB_E_OFFLINE : d->fetch_r;
		}
		d->refs--;
	}
	pthread_mutex_unlock(&rc->lock);
	return r;
}

int nb_rcache_stat(struct nb_rcache *rc, const char *dir, const char *name, struct nb_attr *a)
{
	int r = -ENOENT;
	pthread_mutex_lock(&rc->lock);
	struct nb_rdir *d = nb_rcache_find(rc, dir, 1);
	if (d)
		nb_rcache_refresh(rc, d);
	if (d && d->valid) {
		struct nb_dirent key = {.name = (char *)name};
		struct nb_dirent *hit = d->ents.count ? bsearch(&key, d->ents.ents, d->ents.count,
								sizeof(key), nb_dirent_cmp)
						      : NULL;
		if (hit) {
			*a = hit->attr;
			a->link = NULL;
			r = 0;
		}
	}
	pthread_mutex_unlock(&rc->lock);
	return r;
}

/* Split a wire path into its parent (copied into dir) and its name. */
static const char *nb_rcache_split(const char *path, char dir[NB_PATH_MAX + 1])
{
	size_t plen = nb_path_parent_len(path);
	memcpy(dir, path, plen);
	dir[plen] = 0;
	return plen ? path + plen + 1 : path;
}

int nb_rcache_stat_path(struct nb_rcache *rc, const char *path, struct nb_attr *a)
{
	char dir[NB_PATH_MAX + 1];
	if (strlen(path) > NB_PATH_MAX)
		return -ENAMETOOLONG;
	const char *name = nb_rcache_split(path, dir);
	return nb_rcache_stat(rc, dir, name, a);
}

/* The cached entry for path, if its parent's listing is cached (lock
 * held; no refresh). */
static struct nb_dirent *nb_rcache_entry(struct nb_rcache *rc, const char *path,
					 struct nb_rdir **parent)
{
	char dir[NB_PATH_MAX + 1];
	const char *name = nb_rcache_split(path, dir);
	struct nb_rdir *d = nb_rcache_find(rc, dir, 0);
	*parent = d && d->valid ? d : NULL;
	return *parent ? nb_rdir_lookup(d, name) : NULL;
}

int nb_rcache_readlink(struct nb_rcache *rc, const char *path, char *buf, size_t size)
{
	struct nb_attr a;
	int r = nb_rcache_stat_path(rc, path, &a); /* refreshes as a lookup would */
	if (r != 0)
		return r;
	pthread_mutex_lock(&rc->lock);
	struct nb_rdir *d;
	struct nb_dirent *e = nb_rcache_entry(rc, path, &d);
	if (!e)
		r = -ENOENT;
	else if (!S_ISLNK(e->attr.mode) || !e->attr.link)
		r = -EINVAL;
	else if (strlen(e->attr.link) >= size)
		r = -ERANGE;
	else
		memcpy(buf, e->attr.link, strlen(e->attr.link) + 1);
	pthread_mutex_unlock(&rc->lock);
	return r;
}

/* Lock held. The sync thread set path to a (NULL: removed it). */
static void nb_rcache_change(struct nb_rcache *rc, const char *path, const struct nb_attr *a)
{
	char dir[NB_PATH_MAX + 1];
	const char *name = nb_rcache_split(path, dir);
	struct nb_rdir *d = nb_rcache_find(rc, dir, 0);
	if (!d)
		return;
	if (d->valid) {
		if (a)
			nb_rdir_put(d, name, a);
		else
			nb_rdir_del(d, name);
	}
	nb_rdir_note(d, name, a);
}

void nb_rcache_upsert(struct nb_rcache *rc, const char *path, const struct nb_attr *a)
{
	if (strlen(path) > NB_PATH_MAX || !path[0])
		return;
	pthread_mutex_lock(&rc->lock);
	nb_rcache_change(rc, path, a);
	pthread_mutex_unlock(&rc->lock);
}

/* Lock held. Drop cached listings at and below dir. */
static void nb_rcache_forget_tree(struct nb_rcache *rc, const char *dir)
{
	for (struct nb_rdir **pp = &rc->dirs; *pp;) {
		struct nb_rdir *d = *pp;
		if (nb_path_is_within(d->path, dir) && !d->fetching && !d->refs) {
			*pp = d->next;
			nb_rdir_free(d);
			rc->ndirs--;
		} else {
			if (nb_path_is_within(d->path, dir)) {
				/* Busy: at least make it stale, and empty once the
				 * listing on its way lands. */
				d->fetched_ms = 0;
				nb_rdir_note(d, NULL, NULL);
			}
			pp = &d->next;
		}
	}
}

void nb_rcache_remove(struct nb_rcache *rc, const char *path)
{
	if (strlen(path) > NB_PATH_MAX || !path[0])
		return;
	pthread_mutex_lock(&rc->lock);
	nb_rcache_change(rc, path, NULL);
	nb_rcache_forget_tree(rc, path);
	pthread_mutex_unlock(&rc->lock);
}

void nb_rcache_move(struct nb_rcache *rc, const char *from, const char *to)
{
	struct nb_attr a = {0};
	int have = 0;
	pthread_mutex_lock(&rc->lock);
	struct nb_rdir *d;
	struct nb_dirent *e = nb_rcache_entry(rc, from, &d);
	if (e) {
		a = e->attr;
		a.link = e->attr.link ? strdup(e->attr.link) : NULL;
		have = 1;
	}
	pthread_mutex_unlock(&rc->lock);
	nb_rcache_remove(rc, from);
	nb_rcache_remove(rc, to);
	if (have)
		nb_rcache_upsert(rc, to, &a);
	nb_attr_free(&a);
}

size_t nb_rcache_keep_held(struct nb_rcache *rc, const char *dir, char **names, size_t n)
{
	size_t k = 0;
	pthread_mutex_lock(&rc->lock);
	struct nb_rdir *d = nb_rcache_find(rc, dir, 0);
	int known = d && d->valid;
	for (size_t i = 0; i < n; i++) {
		if (!known || nb_rdir_lookup(d, names[i]))
			names[k++] = names[i];
		else
			free(names[i]);
	}
	pthread_mutex_unlock(&rc->lock);
	return k;
}

int nb_rcache_list(struct nb_rcache *rc, const char *dir,
		   int (*fn)(void *arg, const char *name, const struct nb_attr *a), void *arg)
{
	struct nb_dirents copy = {0};
	int r = 0;
	pthread_mutex_lock(&rc->lock);
	struct nb_rdir *d = nb_rcache_find(rc, dir, 1);
	if (d)
		nb_rcache_refresh(rc, d);
	/* Copy out, so fn runs without the lock. */
	if (d && d->valid && d->ents.count) {
		copy.ents = calloc(d->ents.count, sizeof(*copy.ents));
		if (!copy.ents)
			r = -ENOMEM;
		for (uint32_t i = 0; copy.ents && i < d->ents.count; i++) {
			copy.ents[i].attr = d->ents.ents[i].attr;
			copy.ents[i].attr.link = NULL; /* owned by the cache */
			if (!(copy.ents[i].name = strdup(d->ents.ents[i].name))) {
				r = -ENOMEM;
				break;
			}
			copy.count = i + 1;
		}
	}
	pthread_mutex_unlock(&rc->lock);
	for (uint32_t i = 0; r == 0 && i < copy.count; i++)
		r = fn(arg, copy.ents[i].name, &copy.ents[i].attr);
	nb_proto_dirents_free(&copy);
	return r;
}

void nb_rcache_set_empty(struct nb_rcache *rc, const char *dir)
{
	pthread_mutex_lock(&rc->lock);
	struct nb_rdir *d = nb_rcache_find(rc, dir, 1);
	if (d && !d->fetching) {
		nb_proto_dirents_free(&d->ents);
		d->valid = 1;
		d->fetched_ms = nb_xio_now_ms();
	}
	pthread_mutex_unlock(&rc->lock);
}

void nb_rcache_invalidate(struct nb_rcache *rc, const char *dir)
{
	pthread_mutex_lock(&rc->lock);
	struct nb_rdir *d = nb_rcache_find(rc, dir, 0);
	if (d)
		d->fetched_ms = 0;
	pthread_mutex_unlock(&rc->lock);
}
