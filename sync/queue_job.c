/*
 * The job lifecycle, as the sync thread and the hasher drive it: take a
 * job, report progress, hand over an MD5, finish (done, absent, failed,
 * dropped), keep or settle a doubt, and record what the server holds
 * after a download or a conflict. Every record of what the server holds
 * is written here, under the queue's lock.
 */
#include "sync/queue_int.h"
#include "sync/retry.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wire/err.h"
#include "wire/log.h"
#include "wire/xio.h"

static int nb_q_job_fill(struct nb_job *job, const struct nb_entry *e)
{
	memset(job, 0, sizeof(*job));
	job->path = strdup(e->path);
	job->path2 = e->path2 ? strdup(e->path2) : NULL;
	if (!job->path || (e->path2 && !job->path2)) {
		nb_job_free(job);
		return -ENOMEM;
	}
	job->kind = e->kind;
	job->gen = e->gen;
	job->id = e->id;
	job->seq = e->seq;
	return 0;
}

/* A job for the sync thread: as nb_q_job_fill, with its stream. */
static int nb_q_job_take(struct nb_queue *q, struct nb_job *job, struct nb_entry *e)
{
	int r = nb_q_job_fill(job, e);
	if (r == 0)
		nb_q_stream_fill(q, e, job);
	return r;
}

int nb_queue_next_job(struct nb_queue *q, struct nb_job *job, long *wait_ms)
{
	long long now = nb_xio_now_ms(), next = -1;
	int found = 0;
	memset(job, 0, sizeof(*job));
	pthread_mutex_lock(&q->lock);
	/* Paused: nothing starts; resuming wakes the sync thread. */
	struct nb_sched_item *it = q->paused ? NULL : nb_sched_pick(&q->sched, now, &next);
	if (it) {
		struct nb_entry *e = it->owner;
		if (nb_q_job_take(q, job, e) == 0) {
			e->state = NB_STATE_UPLOADING;
			e->done = e->total = 0;
			e->rate = 0;
			e->rate_ms = 0;
			found = 1;
		} else {
			next = now + 1000; /* out of memory: try again later */
		}
		nb_q_update(q, e);
	}
	/* Entries that wait for something other than time (a writer, an
	 * upload in flight, a blocker): every change to those wakes the
	 * caller, but look again within a second all the same. */
	if (!found && next < 0 && q->count && !q->paused)
		next = now + 1000;
	nb_q_unlock(q);
	*wait_ms = found ? 0 : next < 0 ? -1 : (long)(next - now);
	return found;
}

/* The monotonic time wait_ms from now (< 0: a minute). */
static struct timespec nb_q_deadline(long wait_ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (wait_ms < 0)
		wait_ms = 60000;
	ts.tv_sec += wait_ms / 1000;
	ts.tv_nsec += (wait_ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return ts;
}

void nb_queue_wait(struct nb_queue *q, long wait_ms)
{
	struct timespec ts = nb_q_deadline(wait_ms);
	pthread_mutex_lock(&q->lock);
	pthread_cond_timedwait(&q->cond, &q->lock, &ts);
	nb_q_unlock(q);
}

void nb_queue_wait_hash(struct nb_queue *q, long wait_ms)
{
	struct timespec ts = nb_q_deadline(wait_ms);
	pthread_mutex_lock(&q->lock);
	/* Checked under the lock the offer is made under: none is missed. */
	if (!q->hq_head)
		pthread_cond_timedwait(&q->hcond, &q->lock, &ts);
	nb_q_unlock(q);
}

void nb_queue_wake(struct nb_queue *q)
{
	pthread_mutex_lock(&q->lock);
	pthread_cond_broadcast(&q->cond);
	pthread_cond_broadcast(&q->hcond);
	nb_q_unlock(q);
}

enum nb_job_change nb_queue_changed(struct nb_queue *q, const struct nb_job *job)
{
	enum nb_job_change c = NB_JOB_SAME;
	pthread_mutex_lock(&q->lock);
	struct nb_entry *e = nb_q_by_id(q, job->id);
	if (!e || e->cgen > job->gen || e->writers > 0)
		c = NB_JOB_CHANGED;
	else if (e->gen != job->gen)
		c = NB_JOB_MOVED;
	nb_q_unlock(q);
	return c;
}

void nb_queue_progress(struct nb_queue *q, const struct nb_job *job, uint64_t done, uint64_t total)
{
	long long now = nb_xio_now_ms();
	pthread_mutex_lock(&q->lock);
	struct nb_entry *e = nb_q_by_id(q, job->id);
	if (e) {
		if (e->rate_ms == 0) {
			e->rate_ms = now;
			e->rate_done = done;
		} else if (now - e->rate_ms >= 500) {
			double r = (double)(done - e->rate_done) * 1000.0 / (double)(now - e->rate_ms);
			e->rate = e->rate > 0 ? 0.5 * e->rate + 0.5 * r : r;
			e->rate_ms = now;
			e->rate_done = done;
		}
		e->done = done;
		e->total = total;
	}
	nb_q_unlock(q);
}

void nb_queue_set_md5(struct nb_queue *q, const struct nb_job *job, const uint8_t md5[NB_MD5_LEN])
{
	pthread_mutex_lock(&q->lock);
	struct nb_entry *e = nb_q_by_id(q, job->id);
	if (e && e->cgen <= job->gen) {
		memcpy(e->md5, md5, NB_MD5_LEN);
		e->has_md5 = 1;
	}
	nb_q_unlock(q);
}

void nb_queue_forget_md5(struct nb_queue *q, const struct nb_job *job)
{
	pthread_mutex_lock(&q->lock);
	struct nb_entry *e = nb_q_by_id(q, job->id);
	if (e) {
		e->has_md5 = 0;
		e->hash_skip = 0;
		nb_q_update(q, e);
	}
	nb_q_unlock(q);
}

int nb_queue_get_md5(struct nb_queue *q, const struct nb_job *job, uint8_t md5[NB_MD5_LEN])
{
	pthread_mutex_lock(&q->lock);
	struct nb_entry *e = nb_q_by_id(q, job->id);
	int ok = e && e->gen == job->gen && e->has_md5;
	if (ok)
		memcpy(md5, e->md5, NB_MD5_LEN);
	nb_q_unlock(q);
	return ok;
}

int nb_queue_next_hash(struct nb_queue *q, struct nb_job *job)
{
	int found = 0;
	memset(job, 0, sizeof(*job));
	pthread_mutex_lock(&q->lock);
	struct nb_entry *e;
	while (!found && (e = nb_q_hash_take(q)) != NULL) {
		if (nb_q_job_fill(job, e) != 0)
			break;
		e->hashing = 1;
		nb_q_update(q, e);
		found = 1;
	}
	nb_q_unlock(q);
	return found;
}

int nb_queue_follow_begin(struct nb_queue *q, uint64_t id, struct nb_job *job)
{
	int found = 0;
	memset(job, 0, sizeof(*job));
	pthread_mutex_lock(&q->lock);
	struct nb_entry *e = nb_q_by_id(q, id);
	if (e && e->kind == NB_KIND_FILE && !e->hashing && !e->has_md5 &&
	    nb_q_job_fill(job, e) == 0) {
		e->hashing = 1;
		nb_q_update(q, e);
		found = 1;
	}
	nb_q_unlock(q);
	return found;
}

void nb_queue_hash_skip(struct nb_queue *q, const struct nb_job *job)
{
	pthread_mutex_lock(&q->lock);
	struct nb_entry *e = nb_q_by_id(q, job->id);
	if (e && e->cgen <= job->gen)
		e->hash_skip = 1;
	nb_q_unlock(q);
}

void nb_queue_hash_done(struct nb_queue *q, const struct nb_job *job)
{
	pthread_mutex_lock(&q->lock);
	struct nb_entry *e = nb_q_by_id(q, job->id);
	if (e) {
		e->hashing = 0;
		nb_q_update(q, e);
	}
	pthread_cond_broadcast(&q->cond);
	nb_q_unlock(q);
}

/* A barrier is done on the server: apply it to the records and drop its
 * operation, in one transaction. */
static int nb_q_apply_barrier(struct nb_queue *q, struct nb_entry *e, int source_absent)
{
	if (e->kind == NB_KIND_RENAME && source_absent && !nb_q_recorded(q, e->path2))
		/* The server had no source to move and we know of none: its
		 * destination is untouched, and so is our record of it. */
		return nb_statedb_op_del(q->db, e->seq);
	if (e->kind == NB_KIND_RENAME)
		return nb_statedb_move_synced(q->db, e->seq, e->path2, e->path);
	return nb_statedb_del_synced(q->db, e->seq, e->path);
}

/* The outcome of job's upload of v is known: a doubt about v is lifted,
 * on job's entry (wherever a rename took it) and on whatever is queued
 * at job's path (a file renamed over it took the doubt along). Other
 * doubts stay. */
static void nb_q_lift_doubt(struct nb_queue *q, const struct nb_job *job, const struct nb_synced *v)
{
	struct nb_entry *at[2] = {nb_q_by_id(q, job->id), nb_q_find(q, job->path)};
	for (int i = 0; i < 2; i++)
		if (at[i])
			nb_q_drop_doubt(q, at[i], v);
}

static int nb_q_finish(struct nb_queue *q, const struct nb_job *job, const struct nb_synced *rec,
		       int source_absent)
{
	int done = 0, r = 0;
	pthread_mutex_lock(&q->lock);
	nb_q_dirtimes_job(q, job);
	struct nb_entry *e = nb_q_job_entry(q, job);
	if (e && nb_kind_is_barrier(e->kind)) {
		r = nb_q_apply_barrier(q, e, source_absent);
		done = r == 0;
	} else if (e && e->gen == job->gen && e->writers == 0) {
		r = nb_statedb_set_synced(q->db, e->seq, e->path, rec);
		done = r == 0;
	} else if (!nb_kind_is_barrier(job->kind) && rec) {
		/* Changed, replaced, renamed or removed since the job was
		 * taken: not done, but the server holds this version at the
		 * job's path now. On record, it is the base of the next
		 * upload there (else our own version would look like a
		 * conflict), and a queued rename or removal carries it along
		 * or deletes it. */
		if ((r = nb_statedb_set_synced(q->db, -1, job->path, rec)) != 0 && !e) {
			nb_err("%s: cannot record the server's version: %s", job->path,
			       nb_strerror(r));
			r = 0; /* nothing of ours left to mark */
		} else if (r == 0) {
			nb_q_lift_doubt(q, job, rec); /* on record now */
		}
		if (e)
			e->state = NB_STATE_PENDING;
	} else if (e) {
		e->state = NB_STATE_PENDING;
	}
	if (done) {
		nb_q_forget(q, e);
	} else if (r != 0) {
		e->state = NB_STATE_ERROR;
		nb_q_set_error(e, "cannot record the synced state (see log)");
		nb_err("%s: cannot record the synced state: %s", e->path, nb_strerror(r));
	}
	if (e && !done && e->busy_since) {
		/* It got its turn: no longer waiting for anyone. */
		e->busy_tries = 0;
		e->busy_since = 0;
		nb_q_set_error(e, NULL);
	}
	if (e && !done)
		nb_q_update(q, e);
	pthread_cond_broadcast(&q->cond);
	nb_q_unlock(q);
	return done;
}

int nb_queue_done(struct nb_queue *q, const struct nb_job *job, const struct nb_synced *rec)
{
	return nb_q_finish(q, job, rec, 0);
}

int nb_queue_done_absent(struct nb_queue *q, const struct nb_job *job)
{
	return nb_q_finish(q, job, NULL, 1);
}

void nb_queue_fail(struct nb_queue *q, const struct nb_job *job, int state, const char *error,
		   long retry_ms)
{
	pthread_mutex_lock(&q->lock);
	struct nb_entry *e = nb_q_job_entry(q, job);
	if (e) {
		/* A change since the job was taken means a fresh attempt at
		 * once, not an error or a backoff about the old content. */
		int same = e->gen == job->gen;
		e->busy_tries = 0;
		e->busy_since = 0;
		e->state = same ? state : NB_STATE_PENDING;
		nb_q_set_error(e, same ? error : NULL);
		e->retry_ms = nb_xio_now_ms() + (same ? retry_ms : 0);
		e->rate = 0;
		nb_q_update(q, e);
	}
	pthread_cond_broadcast(&q->cond);
	nb_q_unlock(q);
}

void nb_queue_lost(struct nb_queue *q, const struct nb_job *job, const char *why)
{
	pthread_mutex_lock(&q->lock);
	struct nb_entry *e = nb_q_job_entry(q, job);
	if (e && (job->kind == NB_KIND_DIR || job->kind == NB_KIND_SYMLINK) && !e->maybe_made) {
		nb_debug("%s: entry %llu may have been made on the server", e->path,
			 (unsigned long long)e->id);
		e->maybe_made = 1;
	}
	nb_q_unlock(q);
	nb_queue_fail(q, job, NB_STATE_PENDING, why, 0);
}

void nb_queue_busy(struct nb_queue *q, const struct nb_job *job, const char *why)
{
	pthread_mutex_lock(&q->lock);
	struct nb_entry *e = nb_q_job_entry(q, job);
	if (e && e->gen != job->gen) {
		e->state = NB_STATE_PENDING;
		nb_q_set_error(e, NULL);
		e->busy_tries = 0;
		e->busy_since = 0;
		e->retry_ms = 0;
		nb_q_update(q, e);
	} else if (e) {
		char since[48] = "?", text[NB_ERRTEXT_MAX + 512];
		struct tm tm;
		if (!e->busy_since)
			e->busy_since = time(NULL);
		if (localtime_r(&e->busy_since, &tm))
			strftime(since, sizeof(since), "%Y-%m-%d %H:%M:%S %Z", &tm);
		long delay = nb_retry_busy_delay_ms(e->busy_tries++);
		snprintf(text, sizeof(text),
			 "waiting since %s for another upload of the same content to finish "
			 "(%s); next try in %ld s",
			 since, why && why[0] ? why : "busy", delay / 1000);
		e->state = NB_STATE_PENDING;
		nb_q_set_error(e, text);
		e->retry_ms = nb_xio_now_ms() + delay;
		e->rate = 0;
		nb_q_update(q, e);
	}
	pthread_cond_broadcast(&q->cond);
	nb_q_unlock(q);
}

void nb_queue_drop_job(struct nb_queue *q, const struct nb_job *job)
{
	pthread_mutex_lock(&q->lock);
	struct nb_entry *e = nb_q_job_entry(q, job);
	if (e && e->gen == job->gen) {
		nb_q_drop(q, e);
	} else if (e) {
		/* Written again since: that version exists, try it. */
		e->state = NB_STATE_PENDING;
		nb_q_update(q, e);
	}
	pthread_cond_broadcast(&q->cond);
	nb_q_unlock(q);
}

void nb_queue_set_doubt(struct nb_queue *q, const struct nb_job *job, const struct nb_synced *v)
{
	pthread_mutex_lock(&q->lock);
	/* By path: the doubt is about what the server holds there, whatever
	 * is queued for the path now (a file renamed over it, say). */
	struct nb_entry *e = nb_q_find(q, job->path);
	if (e)
		nb_q_set_doubt(q, e, v);
	nb_q_unlock(q);
}

void nb_queue_clear_doubt(struct nb_queue *q, const struct nb_job *job, const struct nb_synced *v)
{
	pthread_mutex_lock(&q->lock);
	nb_q_lift_doubt(q, job, v);
	nb_q_unlock(q);
}

int nb_queue_get_doubt(struct nb_queue *q, const char *path, struct nb_synced *v)
{
	struct nb_synced two[2];
	int n = nb_queue_get_doubts(q, path, two);
	if (n)
		*v = two[0];
	return n > 0;
}

static int nb_q_doubts_of(const struct nb_entry *e, struct nb_synced v[2])
{
	int n = 0;
	if (e && e->has_doubt) {
		v[n++] = e->doubt;
		if (e->has_doubt2)
			v[n++] = e->doubt2;
	}
	return n;
}

int nb_queue_get_doubts(struct nb_queue *q, const char *path, struct nb_synced v[2])
{
	pthread_mutex_lock(&q->lock);
	int n = nb_q_doubts_of(nb_q_find(q, path), v);
	nb_q_unlock(q);
	return n;
}

int nb_queue_job_doubts(struct nb_queue *q, const struct nb_job *job, struct nb_synced v[2])
{
	pthread_mutex_lock(&q->lock);
	int n = nb_q_doubts_of(nb_q_by_id(q, job->id), v);
	nb_q_unlock(q);
	return n;
}

int nb_queue_settle_doubt(struct nb_queue *q, const char *path, const struct nb_synced *held)
{
	int r = 0;
	pthread_mutex_lock(&q->lock);
	if (held)
		r = nb_statedb_set_synced(q->db, -1, path, held);
	struct nb_entry *e = nb_q_find(q, path);
	if (e && r == 0)
		nb_q_set_doubt(q, e, NULL);
	nb_q_unlock(q);
	return r;
}

int nb_queue_record(struct nb_queue *q, const char *path, struct nb_synced *rec)
{
	pthread_mutex_lock(&q->lock);
	int r = nb_statedb_get_synced(q->db, path, rec);
	nb_q_unlock(q);
	return r;
}

int nb_queue_fetched(struct nb_queue *q, const char *path, const struct nb_synced *rec)
{
	pthread_mutex_lock(&q->lock);
	int r = nb_statedb_set_synced(q->db, -1, path, rec);
	if (r == 0 && nb_statedb_fetch_del(q->db, path) != 0)
		nb_warn("%s: cannot forget its finished download's tag (harmless)", path);
	nb_q_unlock(q);
	return r;
}

int nb_queue_fetch_tag_set(struct nb_queue *q, const char *path, const uint8_t md5[NB_MD5_LEN])
{
	pthread_mutex_lock(&q->lock);
	int r = nb_statedb_fetch_set(q->db, path, md5);
	nb_q_unlock(q);
	return r;
}

int nb_queue_fetch_tag_get(struct nb_queue *q, const char *path, uint8_t md5[NB_MD5_LEN])
{
	pthread_mutex_lock(&q->lock);
	int r = nb_statedb_fetch_get(q->db, path, md5);
	nb_q_unlock(q);
	return r;
}

void nb_queue_fetch_tag_del(struct nb_queue *q, const char *path)
{
	pthread_mutex_lock(&q->lock);
	/* A stale tag only costs a download from the start. */
	if (nb_statedb_fetch_del(q->db, path) != 0)
		nb_warn("%s: cannot forget its download's tag (harmless)", path);
	nb_q_unlock(q);
}

int nb_queue_conflict_move(struct nb_queue *q, const struct nb_job *job, const char *copy,
			   int (*move)(void *arg, const char *from, const char *to), void *arg)
{
	pthread_mutex_lock(&q->lock);
	int r = move(arg, job->path, copy);
	/* The queue follows the staged file (the server certainly has no
	 * copy yet): it uploads under the new name, reusing the partial. */
	if (r == 0)
		r = nb_q_rename(q, job->path, copy, -1);
	if (r == 0 && nb_statedb_conflict_set(q->db, copy) != 0)
		nb_warn("%s: cannot mark it as a conflict copy", copy);
	if (r == 0)
		q->conflict_marks++;
	/* The staged copy is gone from the path: forget what we knew the
	 * server held there, so the server's version shows. */
	if (r == 0 && (r = nb_statedb_del_synced(q->db, -1, job->path)) != 0)
		nb_err("%s: cannot forget our record of it: %s", job->path, nb_strerror(r));
	nb_q_unlock(q);
	return r;
}
