/*
 * The durable part of the client's state, in SQLite (WAL mode):
 *
 *   ops(seq, kind, path, path2, dkind, dsize, ...)
 *                                the queue: what still has to happen on
 *                                the server, in order (uploads, mkdir,
 *                                symlink, unlink, rmdir, rename), and
 *                                the version an upload may have published
 *                                if its answer never came (the doubt);
 *   synced(path, kind, size, mtime_ns, md5, rsize, rmtime_s, rmtime_ns)
 *                                what the server is known to hold: the
 *                                local stat it was uploaded from (or
 *                                downloaded to), and the server's own
 *                                size and mtime (the base of the next
 *                                upload, for conflict detection);
 *   fetch(path, md5)             downloads in progress, for resume;
 *   conflict(path)               conflict copies the user has not
 *                                touched yet;
 *   pins(path)                   paths the user pinned: kept locally,
 *                                never evicted (layout 4).
 *
 * An operation is recorded before the FUSE call that made it returns (the
 * upload of a new file: before its first request; see sync/queue.h), and
 * removed only after the server has acknowledged it durably. At mount
 * time the staging tree is also compared with `synced`, so a record lost
 * with an unflushed transaction (power cut), or never written, costs at
 * most a re-upload, never data. Thread-safe (one serialized connection).
 */
#ifndef NB_STATEDB_H
#define NB_STATEDB_H

#include <stdint.h>

#include "sync/core.h" /* enum nb_kind */
#include "wire/md5.h"

struct nb_statedb;

struct nb_synced {
	int kind;
	uint64_t size;    /* local (staged) size and mtime it corresponds to */
	int64_t mtime_ns;
	uint8_t md5[NB_MD5_LEN];
	int has_md5;
	int has_remote;   /* the server's own size and mtime are known */
	uint64_t rsize;
	int64_t rmtime_s;
	uint32_t rmtime_ns;
};

/* Open or create the database at path. 0 or NB_E_DB (reason logged). */
int nb_statedb_open(const char *path, struct nb_statedb **out) NB_WUR;
void nb_statedb_close(struct nb_statedb *db);

/* The first free position in the queue: above every one ever used. The
 * queue hands out positions from there (nb_queue_new), in memory, so
 * that an operation not yet on record still has its place. */
int nb_statedb_op_next(struct nb_statedb *db, int64_t *seq) NB_WUR;
/* Put an operation on record at position seq (free; see
 * nb_statedb_op_next), with its doubt (as nb_statedb_op_doubt) or
 * none (NULL). */
int nb_statedb_op_add(struct nb_statedb *db, int64_t seq, int kind, const char *path,
		      const char *path2, const struct nb_synced *doubt) NB_WUR;
/* Run fn(arg), whose calls here (single statements: op_add, op_del,
 * op_doubt) make one transaction, committed if it returns 0, else rolled
 * back. After a full disk it may run again whole (see the reserve), so
 * fn must change nothing else. 0, fn's error or the database's. */
int nb_statedb_batch(struct nb_statedb *db, int (*fn)(void *arg), void *arg) NB_WUR;
/* Remove an operation (done, or cancelled). */
int nb_statedb_op_del(struct nb_statedb *db, int64_t seq) NB_WUR;
/* Give operation seq a new path and the new position newseq (free, and
 * at the end of the queue). -ENOENT if there is no operation seq. */
int nb_statedb_op_move(struct nb_statedb *db, int64_t seq, const char *path, int64_t newseq) NB_WUR;
/* An upload of operation seq is in doubt: the server may hold d (a
 * record as nb_statedb_set_synced would write it). NULL clears it. The
 * doubt moves with the operation (nb_statedb_op_move) and goes with it. */
int nb_statedb_op_doubt(struct nb_statedb *db, int64_t seq, const struct nb_synced *d) NB_WUR;
/* A second version operation seq's path may hold (as nb_statedb_op_doubt;
 * NULL clears it): a file renamed over a path in doubt may find either
 * its own upload or the one it replaced there. It moves and goes with the
 * operation. */
int nb_statedb_op_doubt2(struct nb_statedb *db, int64_t seq, const struct nb_synced *d) NB_WUR;
/* Call fn for each operation that has a second doubt. */
int nb_statedb_each_doubt2(struct nb_statedb *db,
			   int (*fn)(void *arg, int64_t seq, const struct nb_synced *d),
			   void *arg) NB_WUR;
/* The key of operation seq's stream (sync/queue_stream.c), kept so a
 * stream cut off by a crash resumes after it; NULL clears it. It moves
 * and goes with the operation. */
int nb_statedb_op_key(struct nb_statedb *db, int64_t seq, const uint8_t *key) NB_WUR;
/* Call fn for each operation that has a stream key. */
int nb_statedb_each_key(struct nb_statedb *db,
			int (*fn)(void *arg, int64_t seq, const uint8_t key[NB_MD5_LEN]),
			void *arg) NB_WUR;
/* Call fn for each operation in order; fn returns 0 to go on. doubt is
 * NULL unless the operation has one; the pointers are valid during the
 * call only. */
int nb_statedb_each_op(struct nb_statedb *db,
		       int (*fn)(void *arg, int64_t seq, int kind, const char *path,
				 const char *path2, const struct nb_synced *doubt),
		       void *arg) NB_WUR;

/* The server now holds path as described: record it and remove op seq
 * (if >= 0), in one transaction. */
int nb_statedb_set_synced(struct nb_statedb *db, int64_t seq, const char *path,
			  const struct nb_synced *s) NB_WUR;
/* 0 and *s filled, or -ENOENT. */
int nb_statedb_get_synced(struct nb_statedb *db, const char *path, struct nb_synced *s);
/* Forget what the server held at path and below; remove op seq (if >= 0). */
int nb_statedb_del_synced(struct nb_statedb *db, int64_t seq, const char *path) NB_WUR;
/* The server moved from to to: move the records at and below from;
 * remove op seq (if >= 0). */
int nb_statedb_move_synced(struct nb_statedb *db, int64_t seq, const char *from, const char *to) NB_WUR;

/* Downloads in progress: the MD5 the partial download of path is of. */
int nb_statedb_fetch_set(struct nb_statedb *db, const char *path, const uint8_t md5[NB_MD5_LEN]) NB_WUR;
int nb_statedb_fetch_get(struct nb_statedb *db, const char *path, uint8_t md5[NB_MD5_LEN]);
int nb_statedb_fetch_del(struct nb_statedb *db, const char *path) NB_WUR;

/* Conflict copies: files made when the server's version changed under a
 * local edit. The mark stays until the user changes, moves or removes
 * the copy. */
int nb_statedb_conflict_set(struct nb_statedb *db, const char *path) NB_WUR;
int nb_statedb_conflict_has(struct nb_statedb *db, const char *path);
int nb_statedb_conflict_del(struct nb_statedb *db, const char *path) NB_WUR;
/* How many conflict marks there are (>= 0), or NB_E_DB. */
int nb_statedb_conflict_count(struct nb_statedb *db);

/* Pins: a pinned path (and everything below it) is kept locally.
 * set adds path; del removes the pins at and below path; move carries
 * the pins at and below from to to (those at and below to go). 0 or
 * NB_E_DB. */
int nb_statedb_pin_set(struct nb_statedb *db, const char *path) NB_WUR;
int nb_statedb_pin_del(struct nb_statedb *db, const char *path) NB_WUR;
int nb_statedb_pin_move(struct nb_statedb *db, const char *from, const char *to) NB_WUR;
/* Call fn with each pinned path, in path order; fn returns 0 to go on
 * (else that value is returned). */
int nb_statedb_each_pin(struct nb_statedb *db, int (*fn)(void *arg, const char *path),
			void *arg) NB_WUR;

/* The layout number recorded in the database (PRAGMA user_version), or
 * a negative error. The connection holds the database's locks for its
 * life (locking_mode=EXCLUSIVE): no other connection can ask. */
int nb_statedb_layout(struct nb_statedb *db);
/* The group: from nb_statedb_group_begin to _end, the calling thread's
 * changes share one transaction, opened by the first of them and
 * committed by nb_statedb_group_commit (and _end, _flush, _close); its
 * transactions are savepoints in it. Another thread's change commits
 * the group first: its own is on record when its call returns, as
 * always. One group at a time (the sync thread's). A group that cannot
 * be committed is lost whole, like the last commits in a power cut.
 * commit and end: 0 or the commit's error (logged). */
void nb_statedb_group_begin(struct nb_statedb *db);
int nb_statedb_group_commit(struct nb_statedb *db);
int nb_statedb_group_end(struct nb_statedb *db);
/* Make everything recorded so far durable (fsync), for fsync(2) calls. */
int nb_statedb_flush(struct nb_statedb *db) NB_WUR;

#endif
