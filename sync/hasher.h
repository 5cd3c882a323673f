/*
 * The hasher: a background thread that computes the MD5 of files as soon
 * as they are closed, while they wait out their quiet time, so the sync
 * thread can announce them at once instead of reading them twice in a
 * row. A result is kept only if the file did not change meanwhile.
 */
#ifndef NB_HASHER_H
#define NB_HASHER_H

#include <stdatomic.h>

#include "sync/queue.h"

struct nb_hasher;

/* Start hashing files under stage_fd as the queue offers them. */
int nb_hasher_start(int stage_fd, struct nb_queue *q, struct nb_hasher **out);
/* Stop (abandons a hash in progress) and free. */
void nb_hasher_stop(struct nb_hasher *h);

/* MD5 of the first size bytes of fd, in steps; between steps, gives up
 * with NB_E_CHANGED if job's entry changed, or -ECANCELED once *stop is
 * set; calls between(arg) if given. Shared with the sync thread, which
 * hashes itself when the hasher has not got there. */
int nb_hasher_hash_fd(struct nb_queue *q, const struct nb_job *job, int fd, uint64_t size,
		      const atomic_int *stop, void (*between)(void *arg), void *arg,
		      uint8_t md5[NB_MD5_LEN]);

#endif
