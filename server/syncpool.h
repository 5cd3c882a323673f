/*
 * fsync of many files at once, from the calling thread and a few
 * threads kept for the session's life: a filesystem with a journal
 * (ext4, XFS) then commits many files per journal commit instead of one
 * each, and no thread is started per batch (starting and ending them
 * was a tenth of the server's time on a tree of small files).
 */
#ifndef NB_SYNCPOOL_H
#define NB_SYNCPOOL_H

#include <stddef.h>

struct nb_syncpool;

/* A pool of up to `threads` helpers, started when first needed: 0, or
 * -ENOMEM. */
int nb_syncpool_new(size_t threads, struct nb_syncpool **out);
/* Stop and join the helpers. NULL is fine. */
void nb_syncpool_free(struct nb_syncpool *p);

/* fsync fds[0, n) into rs[0, n) (0 or -errno each), on up to n threads
 * at once, the caller's included; returns when all are done. With p
 * NULL, or in a child forked from the pool's process (which has none of
 * its threads), the caller does them all. */
void nb_syncpool_run(struct nb_syncpool *p, const int *fds, int *rs, size_t n);

#endif
