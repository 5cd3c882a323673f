/*
 * Conflicts: the server's version of a file changed while a local edit
 * of it waited to be uploaded. Nothing is overwritten: the server's
 * version stays at the path, ours is published beside it as
 * "name.conflict-YYYYmmdd-HHMMSS-host.ext" (same content, so the
 * server's partial is reused), and the copy shows user.nbfs.state =
 * conflict until the user edits, moves or removes it.
 *
 * The lifecycle: the server refuses an upload whose base is no longer
 * what it holds (EEXIST, sync/jobs.c); nb_conflict_keep_both makes the
 * copy; the queue marks it (nb_queue_conflict_move) and drops the mark
 * when the user touches, renames or removes it (sync/queue_fs.c);
 * `nbfs wait` on a conflict copy fails with an explanation.
 */
#ifndef NB_CONFLICT_H
#define NB_CONFLICT_H

#include <stddef.h>
#include <time.h>

#include "sync/queue.h"

/* "dir/name.ext" -> "dir/name.conflict-<stamp>-<host>.ext" in out (the
 * extension kept last so the copy opens with the same program; a dot
 * file or a name without a dot gets the suffix at the end). host is
 * cut at its first '.' or '/'. 0, -ENAMETOOLONG, or the path check's
 * error. */
int nb_conflict_name(const char *path, time_t now, const char *host, char *out, size_t outsz);
/* Keep both versions of job->path: rename the staged file to a new
 * conflict name (written to copy), queue it there and forget our record
 * of path so the server's version shows. 0 or an error (then nothing
 * changed). */
int nb_conflict_keep_both(struct nb_queue *q, int stage_fd, const struct nb_job *job, char *copy,
			  size_t copysz);

#endif
