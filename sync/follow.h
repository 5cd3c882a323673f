/*
 * Hash-on-write: a thread that computes the MD5 of a new file while it is
 * being written, reading the staged file from the page cache just behind
 * the writer, on the core the writer leaves idle. A file written from
 * start to end in order (what cp, tar and rsync do) has its MD5 when its
 * writer closes, so its upload starts at once instead of after a second
 * pass over the file. Any other write pattern (a write anywhere but at
 * the end of what was written, a truncate) drops the follow, and the
 * hasher or the sync thread hashes the file as before.
 *
 * The result is kept only if the queue entry's content did not change
 * through any other route meanwhile (another writer, a truncate by
 * path): nb_queue_set_md5 checks the content generation. The server
 * checks the MD5 of what it received in any case.
 */
#ifndef NB_FOLLOW_H
#define NB_FOLLOW_H

#include <stdint.h>

#include "sync/queue.h"

struct nb_follower;
struct nb_follow;

int nb_follower_start(struct nb_queue *q, struct nb_follower **out);
/* Stop the thread: follows still open are dropped (their files are
 * hashed the usual way); their handles stay valid until nb_follow_end. */
void nb_follower_stop(struct nb_follower *fw);

/* A writer holding queue entry `entry` opened its file, empty, as fd
 * (any access mode; the follower opens its own reader). NULL if the
 * file is not followed (no follower, no memory, the entry is being
 * hashed already). */
struct nb_follow *nb_follow_begin(struct nb_follower *fw, uint64_t entry, int fd);
/* n bytes were written at off through the writer, successfully. */
void nb_follow_wrote(struct nb_follow *f, uint64_t off, uint64_t n);
/* The content changed other than by appending (truncate, say). */
void nb_follow_break(struct nb_follow *f);
/* The writer closes: the follower hashes what is left and hands the MD5
 * to the queue. f is not used by the caller afterwards. Call before the
 * queue hears that the writer closed. */
void nb_follow_end(struct nb_follow *f);

#endif
