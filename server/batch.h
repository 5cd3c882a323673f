/*
 * The PUT_SMALL batch: whole small files, each of which arrived in one
 * request, held back until they can be made durable together.
 *
 * Publishing a file durably costs an fsync of the file and one of its
 * directory. Done one file at a time, as PUT_END does, a tree of small
 * files costs two journal commits per file. The batch instead keeps
 * every verified file in an unnamed file in its destination directory
 * (server/unnamed.h), or where the system has none in a scratch file in
 * the partial directory, and, when flushed, makes them durable
 * together, in this order (the same promise as PUT_END's, never
 * weaker):
 *
 *   1. every file is fsynced, from up to NB_BATCH_THREADS threads at
 *      once (server/syncpool.h), so that the filesystem commits them in
 *      a few journal commits instead of one each;
 *   2. for each file, in the order the requests came: its base version
 *      is checked again (a conflict is EEXIST, as at PUT_END) and the
 *      file published: an unnamed file linked under its name, or (the
 *      name taken, and the base allowing that) linked under a scratch
 *      name and renamed over it; a scratch file renamed over it;
 *   3. each distinct directory renamed into (by st_dev and st_ino) is
 *      fsynced once;
 *   4. only then is each file answered, OK or its ERROR, in request
 *      order.
 *
 * A file is in no way visible under its name before step 2, and no OK
 * goes out before step 3 has succeeded for its directory.
 *
 * What the caller (server/session.c) must do, and this module cannot
 * see: check the request (path, base, MD5) before nb_batch_add and
 * answer those errors itself; flush before anything that reads or
 * changes names the batch may touch, when nb_batch_full says so, when
 * the client has paused, and at the end of input; free the batch (which
 * removes what was not flushed) when the session ends.
 */
#ifndef NB_BATCH_H
#define NB_BATCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "server/root.h"
#include "wire/proto.h"

#define NB_BATCH_FILES_MAX 256                 /* files held at once */
#define NB_BATCH_BYTES_MAX (64u * 1024 * 1024) /* their data, together */
#define NB_BATCH_THREADS 8                     /* fsyncs at once */

struct nb_batch_file;
struct nb_batch_dir;
struct nb_syncpool;

struct nb_batch {
	struct nb_root root;
	int scratch_dirfd; /* the partial directory, once needed */
	int no_unnamed;    /* no unnamed files here: scratch files instead */
	struct nb_batch_file *files; /* NB_BATCH_FILES_MAX slots, from the first file on */
	size_t n;
	struct nb_batch_dir *dirs; /* distinct destination directories */
	size_t ndirs;
	uint64_t bytes;
	long long first_ms; /* when the oldest held file came (nb_xio_now_ms) */
	int *fdv, *rv; /* scratch for the parallel fsyncs */
	struct nb_syncpool *pool; /* their threads, from the first flush on */
};

/* Set up an empty batch for files beneath root (the caller keeps
 * owning root's fd). Allocates nothing yet. */
void nb_batch_init(struct nb_batch *b, struct nb_root root);
/* Discard what the batch holds, unanswered and unpublished (unnamed
 * files closed, scratch files removed), and free it. Safe on a batch
 * that was only inited, and twice. */
void nb_batch_free(struct nb_batch *b);

/* Files held (0: nothing to flush). */
size_t nb_batch_count(const struct nb_batch *b);
/* How long the oldest held file has waited, in ms (0 if none). */
long long nb_batch_age_ms(const struct nb_batch *b);
/* True once the batch holds NB_BATCH_FILES_MAX files or
 * NB_BATCH_BYTES_MAX bytes: flush before adding more. */
int nb_batch_full(const struct nb_batch *b);
/* True if a held file was sent with request id `id`. */
int nb_batch_has_id(const struct nb_batch *b, uint32_t id);
/* True if wire path `path` is a held file's path or lies beneath one:
 * acting on it now (a MKDIR, another PUT_SMALL) would see a tree the
 * requests before it have not made yet, so flush first. */
int nb_batch_touches(const struct nb_batch *b, const char *path);
/* True if a held file lies beneath the directory `path` ("" is the
 * root): taking write or search permission away from it now would keep
 * the file from being published. */
int nb_batch_beneath(const struct nb_batch *b, const char *path);

/* Hold the file of PUT_SMALL request `id`: m (path, size, md5, mode,
 * mtime, base) and its data (m->size bytes, already checked against
 * m->md5 by the caller), to be published as `leaf` (which points into
 * m->path) in the directory dirfd. Writes the data, mode, mtime and the
 * content record to a new unnamed (or scratch) file and starts its
 * writeback.
 * Always takes dirfd over (closes it, or keeps it until the flush).
 * 0: held, answered by a later nb_batch_flush. < 0 (-errno, or
 * -ENOBUFS if the batch is full): not held, nothing left behind; the
 * caller answers the request. */
int nb_batch_add(struct nb_batch *b, uint32_t id, const struct nb_put_open *m, const uint8_t *data,
		 int dirfd, const char *leaf);

/* Called once per held file by nb_batch_flush, in request order, with
 * the file's request id, 0 or the error that kept it from being
 * published, and its wire path (for the error text; valid during the
 * call). Returns 0, or an error (the output failed): no more calls. */
typedef int (*nb_batch_answer_fn)(void *ctx, uint32_t id, int r, const char *path);

/* Make every held file durable and publish it in the order described
 * above, then answer each through `answer`. The batch is empty
 * afterwards whatever happened. Returns 0, or the first error `answer`
 * returned. */
int nb_batch_flush(struct nb_batch *b, nb_batch_answer_fn answer, void *ctx);

#endif
