/*
 * Uploads that start while the file is written: when a followed file
 * may go as a stream, the stream's key, and where a stream job stands.
 * The contract is in queue.h.
 */
#include "sync/queue_int.h"

#include <string.h>
#include <sys/random.h>

#include "wire/err.h"
#include "wire/log.h"

int nb_q_streamable(const struct nb_entry *e)
{
	if (e->kind != NB_KIND_FILE || !e->quick || e->stream_off ||
	    e->followed < NB_QUEUE_STREAM_FROM)
		return 0;
	/* Its one writer still at it; or closed, with the follower still
	 * behind on the MD5 (see queue.h). */
	return e->writers == 1 || (e->writers == 0 && e->hashing && !e->has_md5);
}

/* Put e's key (or its absence) on record with e's row. A failure is
 * logged: a stream cut off by a crash then starts again from nothing,
 * and the server sweeps its partial in time. */
static void nb_q_key_record(struct nb_queue *q, struct nb_entry *e)
{
	int r = 0;
	if (e->unsaved)
		r = e->has_key ? nb_q_save(q, e) : 0;
	if (r == 0 && !e->unsaved)
		r = nb_statedb_op_key(q->db, e->seq, e->has_key ? e->key : NULL);
	if (r != 0)
		nb_warn("%s: cannot put its stream's key on record (%s)", e->path, nb_strerror(r));
}

static void nb_q_key_forget(struct nb_queue *q, struct nb_entry *e)
{
	if (!e->has_key)
		return;
	e->has_key = 0;
	nb_q_key_record(q, e);
}

void nb_q_stream_fill(struct nb_queue *q, struct nb_entry *e, struct nb_job *job)
{
	job->stream = 0;
	if (e->kind != NB_KIND_FILE || e->stream_off)
		return;
	if (!e->has_key && nb_q_streamable(e)) {
		if (getrandom(e->key, sizeof(e->key), 0) != (ssize_t)sizeof(e->key)) {
			nb_warn("%s: no random key for a stream: it goes once written", e->path);
			e->stream_off = 1;
			return;
		}
		e->has_key = 1;
		nb_q_key_record(q, e);
	}
	/* A key kept from before (a cut, a crash, a rename, a conflict):
	 * the stream resumes, whatever the content is now; the server's
	 * prefix is checked against ours as for any resume. */
	if (e->has_key) {
		job->stream = 1;
		memcpy(job->key, e->key, sizeof(job->key));
	}
}

int nb_q_load_key(void *arg, int64_t seq, const uint8_t key[NB_MD5_LEN])
{
	struct nb_queue *q = arg;
	for (struct nb_entry *e = q->head; e; e = e->next)
		if (e->seq == seq && e->kind == NB_KIND_FILE) {
			memcpy(e->key, key, NB_MD5_LEN);
			e->has_key = 1;
			break;
		}
	return 0;
}

void nb_queue_follow_progress(struct nb_queue *q, const struct nb_job *job, uint64_t bytes)
{
	pthread_mutex_lock(&q->lock);
	struct nb_entry *e = nb_q_by_id(q, job->id);
	if (e && e->cgen <= job->gen) {
		int was = nb_q_streamable(e);
		e->followed = bytes;
		int now = nb_q_streamable(e);
		if (now && !was)
			nb_q_update(q, e);
		/* The sync thread: a stream to begin, or one waiting for data. */
		if ((now && !was) || e->state == NB_STATE_UPLOADING)
			pthread_cond_broadcast(&q->cond);
	}
	nb_q_unlock(q);
}

void nb_queue_follow_broken(struct nb_queue *q, const struct nb_job *job)
{
	pthread_mutex_lock(&q->lock);
	struct nb_entry *e = nb_q_by_id(q, job->id);
	if (e && e->cgen <= job->gen) {
		/* New content, as far as a stream in flight is concerned: what
		 * it sent may have been written over. */
		e->gen = e->cgen = ++q->next_gen;
		e->followed = 0;
		e->has_md5 = 0;
		nb_q_update(q, e);
		pthread_cond_broadcast(&q->cond);
	}
	nb_q_unlock(q);
}

/* How job's entry changed since it was taken, by the rules of a stream:
 * its content (gen of the last content change) or its place (path, queue
 * position); a change of times or mode alone is no change. */
static enum nb_job_change nb_q_stream_change(const struct nb_entry *e, const struct nb_job *job)
{
	if (!e || e->kind != NB_KIND_FILE || e->cgen > job->gen)
		return NB_JOB_CHANGED;
	if (e->seq != job->seq || strcmp(e->path, job->path) != 0)
		return NB_JOB_MOVED;
	return NB_JOB_SAME;
}

void nb_queue_stream_state(struct nb_queue *q, const struct nb_job *job, struct nb_stream_state *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&q->lock);
	struct nb_entry *e = nb_q_by_id(q, job->id);
	st->change = nb_q_stream_change(e, job);
	if (st->change != NB_JOB_CHANGED) {
		st->open = e->writers > 0;
		st->avail = e->followed;
		st->hashing = e->hashing;
		st->has_md5 = e->has_md5;
		if (e->has_md5)
			memcpy(st->md5, e->md5, NB_MD5_LEN);
	}
	nb_q_unlock(q);
}

enum nb_job_change nb_queue_stream_refresh(struct nb_queue *q, struct nb_job *job)
{
	pthread_mutex_lock(&q->lock);
	struct nb_entry *e = nb_q_by_id(q, job->id);
	enum nb_job_change c = nb_q_stream_change(e, job);
	if (c == NB_JOB_SAME && e->writers > 0)
		c = NB_JOB_CHANGED; /* a caller's mistake: the content is not whole */
	if (c == NB_JOB_SAME)
		job->gen = e->gen;
	nb_q_unlock(q);
	return c;
}

void nb_queue_stream_off(struct nb_queue *q, const struct nb_job *job)
{
	pthread_mutex_lock(&q->lock);
	struct nb_entry *e = nb_q_by_id(q, job->id);
	if (e) {
		e->stream_off = 1;
		nb_q_key_forget(q, e);
		nb_q_update(q, e);
	}
	pthread_cond_broadcast(&q->cond);
	nb_q_unlock(q);
}

void nb_queue_stream_drop(struct nb_queue *q, const struct nb_job *job)
{
	pthread_mutex_lock(&q->lock);
	struct nb_entry *e = nb_q_by_id(q, job->id);
	if (e && e->has_key && memcmp(e->key, job->key, NB_MD5_LEN) == 0)
		nb_q_key_forget(q, e);
	nb_q_unlock(q);
}
