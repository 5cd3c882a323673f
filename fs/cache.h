/*
 * The bounded cache: the staging area may hold at most `max` bytes of
 * file data. Only copies the server already holds (no queue entry, and a
 * synced record matching the staged file) are evicted, least recently
 * opened first; they stay listed, as "remote", and are fetched again when
 * opened. Unsynced data is never evicted: when it alone fills the cache,
 * writers wait for uploads to make room, and get ENOSPC if none comes in
 * time.
 */
#ifndef NB_CACHE_H
#define NB_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "sync/core.h"

struct nb_cache;

/* max 0: no limit (usage is still counted for `nbfs status`). Measures
 * the staging area once. */
int nb_cache_new(int stage_fd, struct nb_core *core, uint64_t max, long wait_ms,
		 struct nb_cache **out);
/* Start the evictor thread (after going to the background). */
int nb_cache_start(struct nb_cache *c);
void nb_cache_free(struct nb_cache *c);

/* Usage changed by delta bytes (writes, truncates, unlinks, fetches). */
void nb_cache_add(struct nb_cache *c, int64_t delta);
uint64_t nb_cache_used(struct nb_cache *c);
uint64_t nb_cache_max(struct nb_cache *c);
/* Room for n more bytes: 0 at once if there is room; else the evictor is
 * woken and the caller waits (slowed down) until there is, or -ENOSPC
 * after wait_ms. */
int nb_cache_reserve(struct nb_cache *c, uint64_t n);
/* path was opened: it is the most recently used. */
void nb_cache_touch(struct nb_cache *c, const char *path);
/* Evict synced copies, least recently used first, until usage is at most
 * target bytes. Returns the bytes freed. Also recomputes the usage. */
uint64_t nb_cache_evict(struct nb_cache *c, uint64_t target);
/* "ok" or why writers are waiting, for the status report. */
int nb_cache_full(struct nb_cache *c);

#endif
