/*
 * The queue's insides, shared by queue.c, queue_fs.c, queue_job.c and
 * queue_read.c only. Everything here is used with q->lock held.
 */
#ifndef NB_QUEUE_INT_H
#define NB_QUEUE_INT_H

#include <pthread.h>
#include <time.h>

#include "sync/queue.h"
#include "sync/dirtimes.h"
#include "sync/pins.h"
#include "sync/sched.h"
#include "wire/hmap.h"

struct nb_entry {
	uint64_t id;  /* stable for the entry's life, across renames */
	int64_t seq;  /* position in the queue (database row) */
	/* Not on record yet: a new file's upload, written to the database
	 * with its doubt or by nb_queue_flush (see queue.h). */
	int unsaved;
	char *path;
	char *path2;  /* rename source */
	int kind;
	int state;    /* NB_STATE_PENDING, UPLOADING or ERROR */
	uint64_t gen;  /* bumped by every change, renames included */
	uint64_t cgen; /* gen at the last change of content or metadata */
	int writers;
	/* A file created by one writer and not touched since: it is whole
	 * when that writer closes, so it goes at once, without quiet time. */
	int quick;
	long long first_ms;   /* when it was queued */
	long long changed_ms; /* last change or last writer closed */
	long long retry_ms;   /* not before this time */
	uint64_t done, total;
	long long rate_ms;    /* time of the last rate sample */
	uint64_t rate_done;
	double rate;
	int has_md5;
	int hashing;  /* the hasher is on it */
	int hash_skip; /* small: not worth the hasher's while (until changed) */
	int in_hashq;
	uint8_t md5[NB_MD5_LEN];
	/* Streams (queue_stream.c): how far the follower has read the file
	 * in order (0: not followed); no stream until the content changes;
	 * the key of the stream that left a partial on the server (durable
	 * with the entry's row). */
	uint64_t followed;
	int stream_off;
	int has_key;
	uint8_t key[NB_MD5_LEN];
	/* An upload without its answer (in flight, or its link broke or
	 * nbfs died before the answer): the server may have published that
	 * version (not recorded as held). Durable with the entry's row. */
	int has_doubt;
	struct nb_synced doubt;
	/* A second version the server may hold at the path (doubt2 only
	 * with doubt): a file renamed over a path in doubt, itself in doubt,
	 * may find either there once the server ran the rename (or did not
	 * find its source). Durable too. */
	int has_doubt2;
	struct nb_synced doubt2;
	/* A directory's or symlink's request went out and its session broke
	 * before the answer: the server may have made it. (An upload's
	 * doubt says as much for a file.) In memory only: after a restart
	 * the server's listing tells. */
	int maybe_made;
	char *error;
	/* The server said another session holds this content's partial:
	 * how many times in a row, and since when (wall clock; 0: not
	 * waiting). Each try waits longer (nb_retry_busy_delay_ms). */
	int busy_tries;
	time_t busy_since;
	struct nb_hnode by_path;        /* creations only */
	struct nb_hnode by_id;
	struct nb_sched_item sched;
	struct nb_entry *prev, *next;   /* every entry, in queue order */
	struct nb_entry *bprev, *bnext; /* barriers, in queue order */
	struct nb_entry *hq_prev, *hq_next; /* files waiting for their MD5 */
};

/* The server may hold e's path from e's own requests: in flight, or
 * sent and unanswered. A removal or rename here must then go to the
 * server too. */
static inline int nb_q_maybe_on_server(const struct nb_entry *e)
{
	return e->state == NB_STATE_UPLOADING || e->has_doubt || e->maybe_made;
}

struct nb_queue {
	pthread_mutex_t lock;
	pthread_cond_t cond;  /* wakes the sync thread (and the hasher, to stop) */
	pthread_cond_t hcond; /* wakes the hasher: a file was offered to it */
	int hash_offered;     /* since the lock was taken; see nb_q_unlock */
	struct nb_statedb *db;
	long delay_ms;
	struct nb_hmap by_path, by_id;
	struct nb_sched sched;
	struct nb_entry *head, *tail;
	struct nb_entry *bhead, *btail;
	struct nb_entry *hq_head, *hq_tail;
	size_t count;
	uint64_t next_gen, next_id;
	int64_t next_seq; /* the next free position (nb_statedb_op_next) */
	/* Conflict marks in the database, or more (never fewer): while there
	 * are none, a change to a path needs no look for one to clear. */
	int conflict_marks;
	/* Pinned paths, as in the database's pins table. */
	struct nb_pins pins;
	/* Paused by the user: no job is handed out (not durable). */
	int paused;
	/* Directories whose time the server is to be told (not durable:
	 * see queue_dirtimes.c). */
	struct nb_dirtimes dirtimes;
};

int nb_kind_is_barrier(int kind);
/* The creation entry at path, or NULL. */
struct nb_entry *nb_q_find(struct nb_queue *q, const char *path);
/* The creation at path, else the newest pending rename to path, or
 * NULL: the entry whose state path shows. */
struct nb_entry *nb_q_get(struct nb_queue *q, const char *path);
/* The entry with this id, or NULL. */
struct nb_entry *nb_q_by_id(struct nb_queue *q, uint64_t id);
/* The entry job was taken from, if it is still at the same place. */
struct nb_entry *nb_q_job_entry(struct nb_queue *q, const struct nb_job *job);
/* Append an operation and its entry at the tail: durably, or with defer
 * in memory only (unsaved; a new file's upload, see queue.h). NULL with
 * *err set on failure (nothing changed). */
struct nb_entry *nb_q_append(struct nb_queue *q, int kind, const char *path, const char *path2,
			     int defer, int *err);
/* Delete e's operation from the database and e from memory. A failed
 * delete is logged: the operation then comes back at the next mount,
 * where replaying it is harmless (a creation of a missing file is
 * dropped, a removal of a missing name is done). */
void nb_q_drop(struct nb_queue *q, struct nb_entry *e);
/* Remove e from memory only (its operation is gone from the database). */
void nb_q_forget(struct nb_queue *q, struct nb_entry *e);
/* Give e a new path and move it to the tail, durably (an unsaved e in
 * memory). 0 or an error. */
int nb_q_move(struct nb_queue *q, struct nb_entry *e, const char *path);
/* e may be taken as a stream: while its writer is open, or closed
 * before the follower has its MD5 (queue_stream.c). */
int nb_q_streamable(const struct nb_entry *e);
/* Fill job's stream fields from e, drawing e's key (on record) if it
 * needs one. */
void nb_q_stream_fill(struct nb_queue *q, struct nb_entry *e, struct nb_job *job);
/* At load: the operation at seq has the stream key key. */
int nb_q_load_key(void *arg, int64_t seq, const uint8_t key[NB_MD5_LEN]);
/* Put unsaved e on record (see queue.h). 0 or a database error. */
int nb_q_save(struct nb_queue *q, struct nb_entry *e);
/* Tell the scheduler and the hasher's list about e's current state. */
void nb_q_update(struct nb_queue *q, struct nb_entry *e);
/* Let go of q->lock, waking the hasher if a file was offered to it
 * meanwhile and is still waiting. Every unlock in the queue goes here. */
void nb_q_unlock(struct nb_queue *q);
/* The next file that needs its MD5 (taken off the hasher's list), or
 * NULL. */
struct nb_entry *nb_q_hash_take(struct nb_queue *q);
/* nb_queue_resolve with the lock held. */
int nb_q_resolve(struct nb_queue *q, const char *path, char *out, size_t outsz);
/* A pending rename brings a name the server holds (or may hold) to
 * path. */
int nb_q_renamed_here(struct nb_queue *q, const char *path);
/* By our records and queue, the server holds path or will: a record of
 * it, a pending rename that brings a server name there, or a removal or
 * rename queued below it (see queue_fs.c). */
int nb_q_known(struct nb_queue *q, const char *path);
/* nb_queue_rename with the lock held. */
int nb_q_rename(struct nb_queue *q, const char *from, const char *to, int from_on_server);
/* 1 if the database records the server holding path. */
int nb_q_recorded(struct nb_queue *q, const char *path);
void nb_q_set_error(struct nb_entry *e, const char *error);
/* Give e the doubt d (NULL: none), in memory and durably: an unsaved e
 * is put on record with its doubt. A failed write is logged: in memory
 * the doubt is right, and the database is wrong only until the next
 * change (a stale doubt costs one STAT). */
/* d != NULL: the server may hold d at e's path too (the newest two such
 * versions are kept); NULL: neither. Durable. */
void nb_q_set_doubt(struct nb_queue *q, struct nb_entry *e, const struct nb_synced *d);
/* The server is known not to hold v at e's path (or it is on record):
 * that doubt goes, another stays. */
void nb_q_drop_doubt(struct nb_queue *q, struct nb_entry *e, const struct nb_synced *v);
int nb_q_same_version(const struct nb_synced *a, const struct nb_synced *b);
int nb_q_load_doubt2(void *arg, int64_t seq, const struct nb_synced *d);

/* job is done on the server (queue_dirtimes.c): mark the directories
 * whose time it changed there. */
void nb_q_dirtimes_job(struct nb_queue *q, const struct nb_job *job);

/* Pins follow local renames and removals (queue_ctl.c). */
void nb_q_pins_renamed(struct nb_queue *q, const char *from, const char *to);
void nb_q_pins_removed(struct nb_queue *q, const char *path);
/* Load the pins from the database: 0 or an error. */
int nb_q_pins_load(struct nb_queue *q);

#endif
