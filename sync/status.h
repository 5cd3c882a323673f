/*
 * The queue of what still has to happen on the server, and the live sync
 * state of each entry: shared by the FUSE threads (which record changes)
 * and the sync thread (which takes jobs and reports progress). Every
 * change is written through to the state database before the call that
 * made it returns.
 *
 * Two sorts of entries, in one order:
 *  - creations (upload a file, make a directory or a symlink): at most one
 *    per path, coalesced; a new change to the path restarts its quiet
 *    time but keeps its place;
 *  - barriers (unlink, rmdir, rename): run in order with everything
 *    before them that touches the same paths, and shape how the remote
 *    listing is shown until they are done (a removed name is hidden, a
 *    renamed one is shown at its new place: nb_status_resolve).
 * A rename re-targets the pending creations below its source (the MD5-
 * keyed partial on the server makes this free) and moves them behind the
 * server-side rename. A file created and deleted before its upload costs
 * nothing.
 *
 * A path with no entry is synced (or unknown to us).
 */
#ifndef NB_STATUS_H
#define NB_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "sync/core.h" /* enum nb_state */
#include "wire/md5.h"
#include "sync/statedb.h"

struct nb_status;

/* A copy of one entry's state, for readers. */
struct nb_status_view {
	int state;
	int kind;
	uint64_t done, total;
	double rate; /* bytes per second, recent */
	int has_md5;
	char md5[NB_MD5_HEX];
	char error[256];
	unsigned count; /* for directories: entries not synced below */
};

/* A unit of work for the sync thread (free with nb_job_free). */
struct nb_job {
	char *path;  /* the path (for a rename: the destination) */
	char *path2; /* for a rename: the source */
	int kind;    /* NB_KIND_* */
	uint64_t gen;
	int64_t seq;
};

void nb_job_free(struct nb_job *job);

/* delay_ms: quiet time after the last change before a file is uploaded. */
int nb_status_new(struct nb_statedb *db, long delay_ms, struct nb_status **out);
void nb_status_free(struct nb_status *st);
/* Reload the queue from the database (at mount). */
int nb_status_load(struct nb_status *st);

/* --- FUSE side --- */
/* The content or metadata of path changed: queue its creation op (kind
 * FILE, DIR or SYMLINK; durably, on the first change) and restart its
 * quiet time. */
int nb_status_touch(struct nb_status *st, const char *path, int kind);
/* path (a file or symlink; with rmdir, an empty directory) was removed
 * locally. Its pending creation is dropped; if the server may hold it
 * (on_server, or an upload of it is in flight) an unlink/rmdir is
 * queued. */
int nb_status_remove(struct nb_status *st, const char *path, int rmdir, int on_server);
/* from was renamed to to locally. Pending creations at or below from
 * move to to (behind a server-side rename if the server may hold from:
 * from_on_server, or an upload of it is in flight; -1 says the server
 * certainly does not, e.g. a conflict copy); pending creations at or
 * below to are replaced. */
int nb_status_rename(struct nb_status *st, const char *from, const char *to, int from_on_server);
/* Where local path lives on the server now, given the pending barriers:
 * 0 with the remote path in out, or -ENOENT if it is removed or moved
 * away locally (hidden), -ENAMETOOLONG. */
int nb_status_resolve(struct nb_status *st, const char *path, char *out, size_t outsz);
/* Call fn with the name of each pending rename destination whose parent
 * is dir (these appear in dir's listing before the server has them). fn
 * is called without the queue's lock held. */
void nb_status_renamed_into(struct nb_status *st, const char *dir,
			    void (*fn)(void *arg, const char *name), void *arg);
/* A handle that may write was opened / closed on path. Files with open
 * writers are never uploaded. */
int nb_status_writer_open(struct nb_status *st, const char *path);
void nb_status_writer_close(struct nb_status *st, const char *path);
/* The same, naming the entry by an id that survives renames (an open
 * handle does not know its file's current name): *id is set by open
 * and handed to close. */
int nb_status_writer_open_id(struct nb_status *st, const char *path, uint64_t *id);
void nb_status_writer_close_id(struct nb_status *st, uint64_t id);
/* 0 and *v filled if path has a pending creation or is the destination
 * of a pending rename; -ENOENT if it is synced/unknown. */
int nb_status_get(struct nb_status *st, const char *path, struct nb_status_view *v);
/* The aggregate state of everything at or below dir ("" = all):
 * synced only if nothing is tracked there; else error if anything is in
 * error, uploading if anything is uploading, pending otherwise. */
void nb_status_dir(struct nb_status *st, const char *dir, struct nb_status_view *v);
/* The connection state shown by `nbfs status`. */
void nb_status_set_link(struct nb_status *st, int connected, const char *reason);
/* 1 if connected; else 0 with why not in reason (size reasonsz). */
int nb_status_link(struct nb_status *st, char *reason, size_t reasonsz);
/* Text report for `nbfs status`: first line "link\t<connected|offline>\t
 * <reason>", then one line per tracked path "state\tdone\ttotal\trate\t
 * path", at most size bytes (the last line says how many were left
 * out). Paths and the reason are escaped: backslash, \n, \t and other
 * control bytes become \\, \n, \t, \xHH. Returns the length written. */
size_t nb_status_report(struct nb_status *st, char *buf, size_t size);
/* Total number of tracked paths. */
size_t nb_status_count(struct nb_status *st);

/* --- sync thread side --- */
/* Take the first entry that is ready (no writers, quiet for delay, not
 * waiting out a retry) and mark it uploading: 1 and *job filled. 0 if
 * none: *wait_ms says when one may become ready (-1: nothing tracked). */
int nb_status_next_job(struct nb_status *st, struct nb_job *job, long *wait_ms);
/* Wait until woken (a change, a closed writer) or wait_ms passes. */
void nb_status_wait(struct nb_status *st, long wait_ms);
/* Wake the sync thread. */
void nb_status_wake(struct nb_status *st);
/* True if path changed since gen was taken (or is no longer tracked). */
int nb_status_changed(struct nb_status *st, const char *path, uint64_t gen);
void nb_status_progress(struct nb_status *st, const char *path, uint64_t done, uint64_t total);
/* Record the MD5 of path's content as of gen (ignored if it changed
 * since). nb_status_get_md5 returns 1 and the digest if one is recorded
 * for gen. */
void nb_status_set_md5(struct nb_status *st, const char *path, uint64_t gen,
		       const uint8_t md5[NB_MD5_LEN]);
int nb_status_get_md5(struct nb_status *st, const char *path, uint64_t gen,
		      uint8_t md5[NB_MD5_LEN]);
/* For the hasher: take a closed file that is waiting for its quiet time
 * and has no MD5 yet (1 and *job filled), else 0. */
int nb_status_next_hash(struct nb_status *st, struct nb_job *job);
void nb_status_hash_done(struct nb_status *st, const char *path);
/* The job is done on the server. A creation that did not change since
 * job->gen is recorded synced (rec) and leaves the queue: returns 1; one
 * that changed stays pending for another round: returns 0. A barrier is
 * applied to the synced records and leaves the queue (rec unused):
 * returns 1. */
int nb_status_done(struct nb_status *st, const struct nb_job *job, const struct nb_synced *rec);
/* A rename or removal the server found nothing to act on (ENOENT): done
 * all the same. For a rename whose source we have no record of (an
 * upload that never got there), the server's destination is untouched,
 * so our record of it stays. */
int nb_status_done_absent(struct nb_status *st, const struct nb_job *job);
/* The job did not complete. state is PENDING (will retry when ready:
 * connection trouble, local change) or ERROR (shown to the user); the
 * entry is not offered again for retry_ms. error may be NULL. */
void nb_status_fail(struct nb_status *st, const struct nb_job *job, int state, const char *error,
		    long retry_ms);
/* The link broke while an upload of job waited for its answer: the
 * server may hold that version (v: the synced record it would have had)
 * or the one before. Kept with the queue entry (across renames) until
 * the sync thread has asked the server; meanwhile the path counts as
 * perhaps on the server for removals and renames. */
void nb_status_set_doubt(struct nb_status *st, const struct nb_job *job, const struct nb_synced *v);
/* 1 and *v if an upload of path is in doubt, else 0. */
int nb_status_get_doubt(struct nb_status *st, const char *path, struct nb_synced *v);
void nb_status_clear_doubt(struct nb_status *st, const char *path);
/* Forget the pending creation of path (it no longer exists locally). */
void nb_status_drop(struct nb_status *st, const char *path);
/* The same for the creation job was taken for, unless the queue entry
 * has changed since (a new file at the path, or new writes): that one
 * is kept and offered again. */
void nb_status_drop_job(struct nb_status *st, const struct nb_job *job);
/* Call remove(arg, path) if the queue has nothing for path, under the
 * queue's lock, so atomically with respect to writers opening it (they
 * are queued first). 0, -EBUSY if it is queued or moving, or remove's
 * error. */
int nb_status_evict(struct nb_status *st, const char *path,
		    int (*remove)(void *arg, const char *path), void *arg);
/* Remember the server's version of path that a new local file replaced
 * (size and mtime as listed), so its upload can tell a conflict, unless a
 * record exists already. */
void nb_status_set_base(struct nb_status *st, const char *path, uint64_t size, int64_t mtime_s,
			uint32_t mtime_ns);

#endif
