/*
 * The queue: what still has to happen on the server, in order, with the
 * live state of each entry, and the records of what the server holds.
 * It alone holds the queue's lock and the state database: every change
 * to an entry or a record goes through these functions, under that one
 * lock, so invariants such as "the server's holding of a path is
 * recorded under the queue's lock" hold by construction. Each change is
 * in the database before the call that made it returns, but for one: a
 * new file's upload (nb_queue_writer_open with fresh) is written there
 * with its first request (the doubt, nb_queue_set_doubt), or by
 * nb_queue_flush, whichever comes first; one that is done before either
 * never is. Until then a crash forgets only that entry, and the scan at
 * the next mount queues the staged file again, as it does for any
 * staged file the server is not known to hold (sync/scan.h). So `cp` of
 * many small files waits for no database write per file. And the sync
 * thread's changes of one turn are committed together (group, below):
 * one commit per turn, not two per small file.
 *
 * Two sorts of entries share one order:
 *  - creations (upload a file, make a directory or a symlink): at most
 *    one per path, coalesced; a new change restarts the quiet time but
 *    keeps the entry's place;
 *  - barriers (unlink, rmdir, rename): they run in order with everything
 *    before them that touches the same paths, and shape how the remote
 *    listing is shown until done (nb_queue_resolve).
 * A rename re-targets the pending creations below its source (the
 * MD5-keyed partial on the server makes that free) and moves them
 * behind the server-side rename. A file created and deleted before its
 * upload costs nothing. Which entry runs next is sync/sched.c's answer.
 *
 * The functions are split by who calls them: queue_fs.c (what happened
 * locally, FUSE threads), queue_job.c (the job lifecycle, sync thread
 * and hasher), queue_read.c (questions and snapshots); queue.c keeps the
 * store itself. A path with no entry is synced (or unknown to us).
 */
#ifndef NB_QUEUE_H
#define NB_QUEUE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "sync/core.h"
#include "sync/statedb.h"
#include "wire/md5.h"

struct nb_queue;

/* A unit of work for the sync thread or the hasher; free with
 * nb_job_free. id and seq name the entry it was taken from. */
struct nb_job {
	char *path;  /* the path (for a rename: the destination) */
	char *path2; /* for a rename: the source */
	int kind;    /* NB_KIND_* */
	uint64_t gen; /* the entry's generation when taken */
	uint64_t id;
	int64_t seq;
	/* A file upload to go as a stream (PUT_STREAM, see queue_stream.c):
	 * its writer is still open, or an earlier stream of this content
	 * left a partial under key on the server. */
	int stream;
	uint8_t key[NB_MD5_LEN];
};

void nb_job_free(struct nb_job *job);

/* delay_ms: quiet time after the last change before a file may upload.
 * The queue uses db but does not own it. 0 or -ENOMEM. */
int nb_queue_new(struct nb_statedb *db, long delay_ms, struct nb_queue **out) NB_WUR;
void nb_queue_free(struct nb_queue *q);
/* Load the queue from the database (at mount). A queue that holds
 * entries already is left alone. 0 or a database error. */
int nb_queue_load(struct nb_queue *q) NB_WUR;

/* ---- what happened locally (queue_fs.c) ---- */

/* path's content or metadata changed (kind FILE, DIR or SYMLINK): queue
 * its creation durably (or keep the entry's place), restart its quiet
 * time, clear a conflict mark on it. 0 or an error (nothing queued). */
int nb_queue_touch(struct nb_queue *q, const char *path, int kind) NB_WUR;
/* As touch, when only the mode or times changed: the content's MD5 and
 * an upload's partial stay good (an upload in flight stops and resumes). */
int nb_queue_touch_meta(struct nb_queue *q, const char *path, int kind) NB_WUR;
/* As touch, and count an open writer (never uploaded while one is
 * open); *id names the entry for nb_queue_writer_close. fresh: the file
 * is being created by this writer (it did not exist, here or on the
 * server); then, if it has had only this writer, it goes at once when
 * it closes, without quiet time (cp, tar, rsync's temporary files). */
int nb_queue_writer_open(struct nb_queue *q, const char *path, int fresh, uint64_t *id) NB_WUR;
/* A writer closed; size: the file's size then, or -1. Once the last
 * writer is gone, a file of at most NB_SMALL_MAX bytes is not offered to
 * the hasher (hash_skip; the upload hashes it from memory). */
void nb_queue_writer_close(struct nb_queue *q, uint64_t id, int64_t size);
/* The change to the staged tree that goes with a removal or a rename,
 * run under the queue's lock right before the records change (see
 * nb_core_removed): 0, or -errno, and then nothing is recorded. */
typedef int (*nb_queue_stage_fn)(void *arg);
/* path was removed locally (rmdir: an empty directory). on_server: the
 * caller knows the server may hold it; the queue adds what it knows
 * under its lock (a record, an upload in flight or in doubt). */
int nb_queue_remove(struct nb_queue *q, const char *path, int rmdir, int on_server) NB_WUR;
/* As nb_queue_remove, with the staged removal (stage(arg)) done under
 * the lock first; stage may be NULL. */
int nb_queue_remove_staged(struct nb_queue *q, const char *path, int rmdir, int on_server,
			   nb_queue_stage_fn stage, void *arg) NB_WUR;
/* from was renamed to to locally. from_on_server as for remove, or -1:
 * the server certainly does not hold it (a conflict copy being made). */
int nb_queue_rename(struct nb_queue *q, const char *from, const char *to,
		    int from_on_server) NB_WUR;
/* As nb_queue_rename, with the staged rename (stage(arg)) done under
 * the lock first; stage may be NULL. */
int nb_queue_rename_staged(struct nb_queue *q, const char *from, const char *to,
			   int from_on_server, nb_queue_stage_fn stage, void *arg) NB_WUR;
/* A record of ours says the server holds path, or a pending rename
 * brings a server name to path. */
int nb_queue_known_on_server(struct nb_queue *q, const char *path);
/* Remember the server's version (size, mtime) a new local file replaces,
 * as the base of its upload, unless a record exists. */
void nb_queue_set_base(struct nb_queue *q, const char *path, uint64_t size, int64_t mtime_s,
		       uint32_t mtime_ns);
/* A directory mirrored from the server: recorded unless queued. */
void nb_queue_mirrored_dir(struct nb_queue *q, const char *path);
/* Staged file path (stat st) is exactly what the server holds, nothing
 * is queued for it and it is no conflict copy. */
int nb_queue_is_clean(struct nb_queue *q, const char *path, const struct stat *st);
/* Run remove(arg, path) under the lock if nothing queued overlaps path:
 * 0, -EBUSY, or remove's error. */
int nb_queue_evict(struct nb_queue *q, const char *path,
		   int (*remove)(void *arg, const char *path), void *arg);
/* ---- the user's controls (queue_ctl.c) ---- */

/* Entries at or below path ("" = all) that wait go now: without
 * retry_only, files skip their quiet time (until changed again) and
 * failed entries their retry wait; with retry_only, only entries that
 * wait out a failure are offered at once. Entries in flight are left
 * alone. Returns how many were kicked. */
int nb_queue_kick(struct nb_queue *q, const char *path, int retry_only);
/* Hand out no job while paused (jobs in flight finish). */
void nb_queue_pause(struct nb_queue *q, int paused);
int nb_queue_paused(struct nb_queue *q);
/* Pin path (pin 1) or unpin it and everything pinned below it (pin 0),
 * durably. 0; -EINVAL for the root; -EBUSY to unpin a path pinned only
 * through a directory above it; or a database error. */
int nb_queue_pin(struct nb_queue *q, const char *path, int pin) NB_WUR;
/* 1 if path or a directory above it is pinned. */
int nb_queue_pinned(struct nb_queue *q, const char *path);
/* A copy of the pinned paths, in path order (free with
 * nb_queue_pin_list_free). 0 or -ENOMEM. */
int nb_queue_pin_list(struct nb_queue *q, char ***out, size_t *n) NB_WUR;
void nb_queue_pin_list_free(char **v, size_t n);

/* Put every entry on record (see the top) and fsync the database. */
int nb_queue_flush(struct nb_queue *q) NB_WUR;
/* A turn of the sync thread: the changes it makes between begin and end
 * go to the database together (nb_statedb_group_*), committed by
 * nb_queue_group_commit before any request leaves (a doubt is on
 * record before its request can reach the server) and by end. Those of
 * other threads are on record when their calls return, as always. */
void nb_queue_group_begin(struct nb_queue *q);
void nb_queue_group_commit(struct nb_queue *q);
void nb_queue_group_end(struct nb_queue *q);

/* ---- questions (queue_read.c) ---- */

/* 1 and *out filled if path has a creation entry or is the destination
 * of a pending rename; else 0 and *out says synced / conflict / remote
 * (by staged) with the MD5 on record. */
int nb_queue_state(struct nb_queue *q, const char *path, int staged, struct nb_core_state *out);
/* 1 if path has a creation entry (an upload, a directory or a symlink
 * to make there), else 0: a pending rename to path does not count. */
int nb_queue_has_creation(struct nb_queue *q, const char *path);
/* Totals of everything at or below dir (see nb_core_dir_state). */
void nb_queue_dir(struct nb_queue *q, const char *dir, struct nb_core_state *out);
/* See nb_core_resolve. */
int nb_queue_resolve(struct nb_queue *q, const char *path, char *out, size_t outsz);
/* See nb_core_renamed_into. fn runs without the lock. */
void nb_queue_renamed_into(struct nb_queue *q, const char *dir,
			   void (*fn)(void *arg, const char *name), void *arg);
size_t nb_queue_count(struct nb_queue *q);

/* One entry as the status report shows it (strings owned by the
 * snapshot). */
struct nb_queue_item {
	int state, kind;
	uint64_t done, total;
	double rate;
	long long since_ms; /* monotonic time of the entry's first change */
	char *path, *path2;
	char *error;
};
/* Totals over the whole queue, as the queue knows them (a file whose
 * upload has not started counts 0 bytes). */
struct nb_queue_sum {
	size_t entries, files; /* files: uploads (NB_KIND_FILE) */
	uint64_t done, total;
	double rate;
	long long oldest_ms; /* monotonic time the oldest entry was queued; 0: empty */
};
/* Copy at most max entries in queue order into *items (the caller frees
 * them with nb_queue_items_free); *left gets the number not copied, and
 * *sum (if not NULL) the totals over every entry, copied or not, taken
 * under the same lock. 0 or -ENOMEM. */
int nb_queue_snapshot(struct nb_queue *q, size_t max, struct nb_queue_item **items, size_t *n,
		      size_t *left, struct nb_queue_sum *sum);
void nb_queue_items_free(struct nb_queue_item *items, size_t n);

/* ---- the job lifecycle (queue_job.c) ---- */

/* Take the entry that may run next (see sync/sched.h) and mark it in
 * flight: 1 and *job filled. 0 if none: *wait_ms says when one may
 * become ready (-1: nothing waits for time). */
int nb_queue_next_job(struct nb_queue *q, struct nb_job *job, long *wait_ms);
/* Wait until woken (a change, a closed writer, a finished job) or
 * wait_ms passes (< 0: a minute). */
void nb_queue_wait(struct nb_queue *q, long wait_ms);
/* For the hasher: wait until a file is offered to it (at once if one
 * is) or wait_ms passes. */
void nb_queue_wait_hash(struct nb_queue *q, long wait_ms);
/* Wake every waiter, the hasher included. */
void nb_queue_wake(struct nb_queue *q);
/* Has job's entry changed since it was taken? */
enum nb_job_change {
	NB_JOB_SAME,    /* no */
	NB_JOB_MOVED,   /* renamed, content as it was: its upload's partial stays useful */
	NB_JOB_CHANGED, /* new content or metadata, a writer open, removed or replaced */
};
enum nb_job_change nb_queue_changed(struct nb_queue *q, const struct nb_job *job);
void nb_queue_progress(struct nb_queue *q, const struct nb_job *job, uint64_t done,
		       uint64_t total);
/* Record the MD5 of job's content (ignored if the content changed
 * since; kept across a rename). */
void nb_queue_set_md5(struct nb_queue *q, const struct nb_job *job, const uint8_t md5[NB_MD5_LEN]);
/* The server found that the content did not match the MD5 on record:
 * forget it, so the next attempt reads the file again. */
void nb_queue_forget_md5(struct nb_queue *q, const struct nb_job *job);
/* 1 and md5 filled if the MD5 of job's content is known. */
int nb_queue_get_md5(struct nb_queue *q, const struct nb_job *job, uint8_t md5[NB_MD5_LEN]);
/* For the hasher: a closed file waiting for its quiet time with no MD5
 * yet (1 and *job filled; the sync thread will not take it until
 * nb_queue_hash_done), else 0. */
int nb_queue_next_hash(struct nb_queue *q, struct nb_job *job);
void nb_queue_hash_done(struct nb_queue *q, const struct nb_job *job);
/* For hash-on-write (sync/follow.c): the hasher's part for entry id,
 * whose writer has just opened it empty: 1 and *job filled (the sync
 * thread and the hasher leave it alone until nb_queue_hash_done), or 0
 * if it is hashed already or gone. */
int nb_queue_follow_begin(struct nb_queue *q, uint64_t id, struct nb_job *job);
/* The hasher leaves job's file to the sync thread (small enough to be
 * hashed in memory as it is sent); not offered again until it changes.
 * Call before nb_queue_hash_done. */
void nb_queue_hash_skip(struct nb_queue *q, const struct nb_job *job);

/* The job is done on the server. A creation unchanged since it was
 * taken is recorded as held (rec) and leaves the queue: returns 1. One
 * that changed stays for another round, the server's new version on
 * record as the base of the next upload: returns 0. A barrier is
 * applied to the records and leaves the queue (rec unused): 1. */
int nb_queue_done(struct nb_queue *q, const struct nb_job *job, const struct nb_synced *rec);
/* A rename or removal the server found nothing to act on (ENOENT): done
 * all the same; for a rename whose source we have no record of, the
 * server's destination was untouched and our record of it stays. */
int nb_queue_done_absent(struct nb_queue *q, const struct nb_job *job);
/* The job's session broke before its answer came: nb_queue_fail with
 * PENDING, and a directory or symlink counts as perhaps on the server
 * from then on (a removal or rename of it goes to the server too). */
void nb_queue_lost(struct nb_queue *q, const struct nb_job *job, const char *why);
/* The job did not complete. state is PENDING (no error shown) or ERROR;
 * the entry is not offered again for retry_ms. A change since the job
 * was taken means a fresh attempt at once. error may be NULL. */
void nb_queue_fail(struct nb_queue *q, const struct nb_job *job, int state, const char *error,
		   long retry_ms);
/* The server refused job because another session holds a partial of
 * the same content (why: the server's words). The entry stays pending
 * and other work goes on; it is tried again later, each time after a
 * longer wait (nb_retry_busy_delay_ms), and its error text says what
 * it waits for, since when, and when it tries next. A change since the
 * job was taken means a fresh attempt at once. */
void nb_queue_busy(struct nb_queue *q, const struct nb_job *job, const char *why);
/* The local source of job vanished before it ran: drop the entry unless
 * it changed since (a new file at the path is offered again). */
void nb_queue_drop_job(struct nb_queue *q, const struct nb_job *job);

/* An upload of job is about to start: from its first request until its
 * answer the server may publish v (the record it would have) without our
 * hearing of it, if the link or nbfs dies. Kept, durably, with whatever
 * is queued at the path (across renames and restarts) until the answer
 * (nb_queue_done, nb_queue_clear_doubt) or until settled; meanwhile the
 * path counts as perhaps on the server. */
void nb_queue_set_doubt(struct nb_queue *q, const struct nb_job *job, const struct nb_synced *v);
/* The upload of job ended without publishing v (the server refused it or
 * it was stopped before its last request): its doubt is lifted. */
void nb_queue_clear_doubt(struct nb_queue *q, const struct nb_job *job, const struct nb_synced *v);
/* 1 and *v if an upload of path is in doubt, else 0. */
int nb_queue_get_doubt(struct nb_queue *q, const char *path, struct nb_synced *v);
/* Every version the server may hold at path of ours (a file renamed over
 * a path in doubt may find its own or the one it replaced): how many (0
 * to 2), the newest first. */
int nb_queue_get_doubts(struct nb_queue *q, const char *path, struct nb_synced v[2]);
/* The same for job's own entry, found by its id: a removal's (a barrier,
 * which nothing finds by path), holding the doubts of the upload it
 * replaced (nb_queue_remove_staged). */
int nb_queue_job_doubts(struct nb_queue *q, const struct nb_job *job, struct nb_synced v[2]);
/* The server was asked: held (non-NULL) is now on record as what it
 * holds at path; the doubt is cleared either way. 0 or a database
 * error (the doubt stays). */
int nb_queue_settle_doubt(struct nb_queue *q, const char *path, const struct nb_synced *held);

/* ---- uploads that start while the file is written (queue_stream.c) ----
 *
 * A new file written in order by its one writer (cp, tar, rsync) is
 * followed by the hash-on-write thread (sync/follow.h), which reports
 * how far it has read it. Once that passes NB_QUEUE_STREAM_FROM (and
 * the file was opened NB_QUEUE_STREAM_AFTER_MS ago), the entry may be
 * taken as a stream job while the writer is still open; and, once it
 * has passed NB_QUEUE_STREAM_FROM, at once when the writer closes
 * before the follower has the MD5 (the follower hashes at about 700
 * MB/s here, slower than `cp` writes from the page cache), instead of
 * waiting for the MD5 that PUT_OPEN names, so the rest of the hashing
 * overlaps the upload:
 * the upload sends what is written as it is written, and ends when the
 * writer has closed and the MD5 is known. Any other change to the
 * content (a write out of order, a truncate, a second writer) bumps the
 * content generation and stops the stream (its partial discarded). The
 * stream's key stays with the entry, on record with its row (across
 * renames and restarts), until the upload is published or its partial
 * discarded: a stream cut off by the link or a crash resumes under the
 * same key, its writer open or closed. */
#define NB_QUEUE_STREAM_FROM (8 * 1024 * 1024)
/* ... and once its writer has had it open this long: a file written in
 * less time (a large file copied from a local disk in a moment) goes
 * at its close (see above), and one deleted right after it was written
 * (a scratch file) costs nothing. What the stream gains, it gains on
 * writers slower than that. */
#define NB_QUEUE_STREAM_AFTER_MS 1000

/* For the follower: the first `bytes` of job's file are read, in order. */
void nb_queue_follow_progress(struct nb_queue *q, const struct nb_job *job, uint64_t bytes);
/* For the follower: the file was changed other than by appending. */
void nb_queue_follow_broken(struct nb_queue *q, const struct nb_job *job);

/* Where a stream job stands. */
struct nb_stream_state {
	enum nb_job_change change; /* CHANGED: content replaced; MOVED: renamed */
	int open;            /* the writer is still open */
	uint64_t avail;      /* open: bytes that may be sent (written in order) */
	int hashing;         /* closed: the follower is finishing the MD5 */
	int has_md5;         /* closed: the MD5 of the content is known */
	uint8_t md5[NB_MD5_LEN];
};
void nb_queue_stream_state(struct nb_queue *q, const struct nb_job *job, struct nb_stream_state *st);
/* Before PUT_FINISH: if job's content is what the stream sent (writer
 * closed, content unchanged, same path), job's generation is brought up
 * to date, so a change of times or mode made after the close (cp -p)
 * goes with the finish instead of stopping it; read the metadata after
 * this call. Returns the change (SAME: refreshed). */
enum nb_job_change nb_queue_stream_refresh(struct nb_queue *q, struct nb_job *job);
/* The server takes no streams: job's entry goes the usual way, once its
 * writer has closed (until its content changes). */
void nb_queue_stream_off(struct nb_queue *q, const struct nb_job *job);
/* The stream's partial is gone or useless (discarded, or its content
 * failed the server's check): forget the key. */
void nb_queue_stream_drop(struct nb_queue *q, const struct nb_job *job);

/* ---- directory times (queue_dirtimes.c) ---- */

/* The next directory whose time is to be sent: one the sync changed on
 * the server with no entry left at or below it (deepest first along
 * each path). 1 and its path in out (outsz > NB_PATH_MAX), and it
 * counts as not synced until nb_queue_dirtime_settled; 0 if none. */
int nb_queue_dirtime_take(struct nb_queue *q, char *out, size_t outsz);
/* The time of path, taken, was answered or is not to be sent (again =
 * 0), or was lost with the link (again = 1: it goes on the next
 * session). */
void nb_queue_dirtime_settled(struct nb_queue *q, const char *path, int again);
/* The server takes no times: forget the directories waiting for one.
 * Returns how many went. */
size_t nb_queue_dirtimes_clear(struct nb_queue *q);
/* Only the time of the staged symlink at path changed (touch -h): its
 * time is to be sent, once nothing is queued at path, and nothing else:
 * the link itself is not made again (a SYMLINK replaces whatever the
 * server has at the path). In memory, as a directory's mark is. */
void nb_queue_link_time(struct nb_queue *q, const char *path);

/* The record of what the server holds at path: 0, or -ENOENT. */
int nb_queue_record(struct nb_queue *q, const char *path, struct nb_synced *rec);
/* A download put the server's version of path in the staging tree:
 * record it (and forget its partial download's tag). */
int nb_queue_fetched(struct nb_queue *q, const char *path, const struct nb_synced *rec) NB_WUR;
/* Tags of partial downloads (which content the bytes belong to). */
int nb_queue_fetch_tag_set(struct nb_queue *q, const char *path, const uint8_t md5[NB_MD5_LEN]);
int nb_queue_fetch_tag_get(struct nb_queue *q, const char *path, uint8_t md5[NB_MD5_LEN]);
void nb_queue_fetch_tag_del(struct nb_queue *q, const char *path);

/* The server's version of job->path changed under a local edit: under
 * the lock, move(arg, path, copy) renames the staged file, the queue
 * follows it to copy (which the server certainly does not hold), copy
 * is marked a conflict copy, and the record of path is forgotten so the
 * server's version shows there. 0 or an error (nothing changed if move
 * failed). */
int nb_queue_conflict_move(struct nb_queue *q, const struct nb_job *job, const char *copy,
			   int (*move)(void *arg, const char *from, const char *to), void *arg);

#endif
