/*
 * The live sync state of every path that is not (yet) known to be on the
 * server: the in-memory side of the queue, shared by the FUSE threads
 * (which record changes) and the sync thread (which takes jobs and
 * reports progress). Every change is written through to the state
 * database before the call that made it returns.
 *
 * A path absent from this table is synced (or unknown to us).
 */
#ifndef NB_STATUS_H
#define NB_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "sync/md5.h"
#include "sync/statedb.h"

enum nb_state { NB_STATE_SYNCED, NB_STATE_PENDING, NB_STATE_UPLOADING, NB_STATE_ERROR };

/* "synced", "pending", "uploading", "error". */
const char *nb_state_name(int state);

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

/* A unit of work for the sync thread. */
struct nb_job {
	char *path; /* caller frees */
	int kind;
	uint64_t gen;
};

/* delay_ms: quiet time after the last change before a file is uploaded. */
int nb_status_new(struct nb_statedb *db, long delay_ms, struct nb_status **out);
void nb_status_free(struct nb_status *st);
/* Reload the dirty set from the database (at mount). */
int nb_status_load(struct nb_status *st);

/* --- FUSE side --- */
/* The content or metadata of path changed: mark it dirty (durably, on
 * the first change) and restart its quiet time. */
int nb_status_touch(struct nb_status *st, const char *path, int kind);
/* A handle that may write was opened / closed on path. Files with open
 * writers are never uploaded. */
int nb_status_writer_open(struct nb_status *st, const char *path);
void nb_status_writer_close(struct nb_status *st, const char *path);
/* 0 and *v filled if path is tracked, -ENOENT if it is synced/unknown. */
int nb_status_get(struct nb_status *st, const char *path, struct nb_status_view *v);
/* The aggregate state of everything at or below dir ("" = all):
 * synced only if nothing is tracked there; else error if anything is in
 * error, uploading if anything is uploading, pending otherwise. */
void nb_status_dir(struct nb_status *st, const char *dir, struct nb_status_view *v);
/* The connection state shown by `nbfs status`. */
void nb_status_set_link(struct nb_status *st, int connected, const char *reason);
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
/* The job is published on the server. If path did not change since
 * job->gen, record it synced (rec) and drop it from the table: returns 1.
 * Otherwise it stays pending for another round: returns 0. */
int nb_status_done(struct nb_status *st, const struct nb_job *job, const struct nb_synced *rec);
/* The job did not complete. state is PENDING (will retry when ready:
 * connection trouble, local change) or ERROR (shown to the user); the
 * entry is not offered again for retry_ms. error may be NULL. */
void nb_status_fail(struct nb_status *st, const struct nb_job *job, int state, const char *error,
		    long retry_ms);
/* Forget path (it no longer exists locally). */
void nb_status_drop(struct nb_status *st, const char *path);

#endif
