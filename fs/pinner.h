/*
 * The pinner: a thread that keeps pinned paths held locally. It walks
 * each pin through the view (a pinned file, or everything below a
 * pinned directory, including what appeared on the server since) and
 * fetches every file that is only on the server, so it is there when
 * the link is not. It looks when woken (a new pin) and every
 * NB_PINNER_PERIOD_MS, not while offline or paused. Eviction leaves
 * pinned copies alone on its own (sync/core.h, nb_core_evict).
 */
#ifndef NB_PINNER_H
#define NB_PINNER_H

#include "fs/fs.h"

#define NB_PINNER_PERIOD_MS 10000

struct nb_pinner;

/* Start the thread for fs (borrowed; must outlive the pinner). 0 or an
 * error. */
int nb_pinner_start(struct nb_fs *fs, struct nb_pinner **out);
/* Look at the pins again now. */
void nb_pinner_wake(struct nb_pinner *p);
/* Stop (a fetch in progress is waited for) and free. NULL is fine. */
void nb_pinner_stop(struct nb_pinner *p);

#endif
