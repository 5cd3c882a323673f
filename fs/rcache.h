/*
 * The remote namespace as last listed by the server, per directory.
 *
 * FUSE must not wait on the network when it has any answer: a listing
 * younger than the TTL is used as is; an older one is used at once while
 * a refresh runs in the background; only a directory never listed waits,
 * and at most `wait_ms`, for its first listing. Offline, what is cached
 * (or nothing) is the answer.
 */
#ifndef NB_RCACHE_H
#define NB_RCACHE_H

#include "sync/core.h"
#include "wire/proto.h"

struct nb_rcache;

/* Listings are asked of core (NULL: none until nb_rcache_set_core). */
int nb_rcache_new(struct nb_core *core, long ttl_ms, long wait_ms, struct nb_rcache **out);
void nb_rcache_free(struct nb_rcache *rc);
/* Attach the core once its sync thread runs, detach it before it stops. */
void nb_rcache_set_core(struct nb_rcache *rc, struct nb_core *core);

/* Attributes of dir/name on the server: 0, or -ENOENT. a->link is
 * always NULL (see nb_rcache_readlink). */
int nb_rcache_stat(struct nb_rcache *rc, const char *dir, const char *name, struct nb_attr *a);
/* Attributes of wire path (split into dir and name). */
int nb_rcache_stat_path(struct nb_rcache *rc, const char *path, struct nb_attr *a);
/* Ask the server for dir's listing now and wait for it (at most
 * wait_ms, after any listing already on its way): for an answer that
 * must not rest on a cached one, such as refusing an rmdir. 0, or the
 * listing's error (NB_E_OFFLINE: no answer in time); on an error the
 * cache is as it was. */
int nb_rcache_reload(struct nb_rcache *rc, const char *dir);
/* Of names[0..n) (taken from a copy of dir's listing), keep those the
 * cached listing of dir still holds, or all of them if dir's listing is
 * no longer cached (nothing newer is known); free the others. The kept
 * stay in order at the front; returns how many. No refresh, no wait. */
size_t nb_rcache_keep_held(struct nb_rcache *rc, const char *dir, char **names, size_t n);
/* Call fn for every remote entry of dir; fn returns 0 to go on. fn
 * sees a copy made before the first call: a name the sync thread
 * removed since is in it still (see nb_rcache_keep_held). */
int nb_rcache_list(struct nb_rcache *rc, const char *dir,
		   int (*fn)(void *arg, const char *name, const struct nb_attr *a), void *arg);
/* The target of the remote symlink at path, NUL-terminated in buf:
 * 0, -ENOENT, -EINVAL (not a symlink) or -ERANGE. */
int nb_rcache_readlink(struct nb_rcache *rc, const char *path, char *buf, size_t size);
/* The server changed path (done by our sync thread): apply it to the
 * cached listing of its parent, if cached, so nothing stale shows while
 * the next refresh is on its way. A listing on its way meanwhile may
 * have been made before the change: the change is applied again over it
 * when it lands. a is copied. */
void nb_rcache_upsert(struct nb_rcache *rc, const char *path, const struct nb_attr *a);
void nb_rcache_remove(struct nb_rcache *rc, const char *path);
/* from moved to to on the server: move the entry, forget listings below. */
void nb_rcache_move(struct nb_rcache *rc, const char *from, const char *to);
/* dir was just created locally: known empty on the server side. */
void nb_rcache_set_empty(struct nb_rcache *rc, const char *dir);
/* Forget what is cached for dir. */
void nb_rcache_invalidate(struct nb_rcache *rc, const char *dir);

#endif
