/*
 * The queue's store: entries in memory (in queue order, by path, by id,
 * in the scheduler), written through to the state database, and loaded
 * from it at mount.
 */
#include "sync/queue_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wire/err.h"
#include "wire/log.h"
#include "wire/xio.h"

int nb_kind_is_barrier(int kind)
{
	return kind == NB_KIND_UNLINK || kind == NB_KIND_RMDIR || kind == NB_KIND_RENAME;
}

void nb_job_free(struct nb_job *job)
{
	free(job->path);
	free(job->path2);
	job->path = job->path2 = NULL;
}

int nb_queue_new(struct nb_statedb *db, long delay_ms, struct nb_queue **out)
{
	struct nb_queue *q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	if (nb_hmap_init(&q->by_path) != 0 || nb_hmap_init(&q->by_id) != 0 ||
	    nb_dirtimes_init(&q->dirtimes) != 0) {
		nb_hmap_free(&q->by_path);
		nb_hmap_free(&q->by_id);
		free(q);
		return -ENOMEM;
	}
	nb_sched_init(&q->sched);
	nb_pins_init(&q->pins);
	pthread_mutex_init(&q->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cond, &ca);
	pthread_cond_init(&q->hcond, &ca);
	pthread_condattr_destroy(&ca);
	q->db = db;
	q->delay_ms = delay_ms;
	int r = nb_statedb_op_next(db, &q->next_seq);
	if (r != 0) {
		nb_queue_free(q);
		return r;
	}
	q->conflict_marks = 1; /* not counted yet: look (nb_queue_load counts) */
	*out = q;
	return 0;
}

static void nb_entry_free(struct nb_entry *e)
{
	free(e->path);
	free(e->path2);
	free(e->error);
	free(e);
}

void nb_queue_free(struct nb_queue *q)
{
	if (!q)
		return;
	struct nb_entry *e = q->head;
	while (e) {
		struct nb_entry *n = e->next;
		nb_entry_free(e);
		e = n;
	}
	nb_sched_free(&q->sched);
	nb_pins_free(&q->pins);
	nb_dirtimes_free(&q->dirtimes);
	nb_hmap_free(&q->by_path);
	nb_hmap_free(&q->by_id);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->cond);
	pthread_cond_destroy(&q->hcond);
	free(q);
}

struct nb_entry *nb_q_find(struct nb_queue *q, const char *path)
{
	for (struct nb_hnode *n = nb_hmap_first(&q->by_path, nb_hash_str(path)); n;
	     n = nb_hmap_next(n)) {
		struct nb_entry *e = nb_container_of(n, struct nb_entry, by_path);
		if (strcmp(e->path, path) == 0)
			return e;
	}
	return NULL;
}

static int nb_q_newest_rename(void *arg, struct nb_pnode *n)
{
	struct nb_entry **best = arg;
	struct nb_entry *e = ((struct nb_sched_item *)n->owner)->owner;
	/* Only as a destination: a rename's source key is &sched.key[1]. */
	if (e->kind == NB_KIND_RENAME && n == &e->sched.key[0] && (!*best || e->seq > (*best)->seq))
		*best = e;
	return 0;
}

struct nb_entry *nb_q_get(struct nb_queue *q, const char *path)
{
	struct nb_entry *e = nb_q_find(q, path);
	if (!e && q->bhead)
		nb_ptree_each_at(&q->sched.index, path, nb_q_newest_rename, &e);
	return e;
}

struct nb_entry *nb_q_by_id(struct nb_queue *q, uint64_t id)
{
	for (struct nb_hnode *n = nb_hmap_first(&q->by_id, nb_hash_u64(id)); n; n = nb_hmap_next(n)) {
		struct nb_entry *e = nb_container_of(n, struct nb_entry, by_id);
		if (e->id == id)
			return e;
	}
	return NULL;
}

struct nb_entry *nb_q_job_entry(struct nb_queue *q, const struct nb_job *job)
{
	struct nb_entry *e = nb_q_by_id(q, job->id);
	return e && e->seq == job->seq ? e : NULL;
}

/* ---- the lists ---- */

static void nb_q_link_tail(struct nb_queue *q, struct nb_entry *e)
{
	e->next = NULL;
	e->prev = q->tail;
	if (q->tail)
		q->tail->next = e;
	else
		q->head = e;
	q->tail = e;
	if (!nb_kind_is_barrier(e->kind))
		return;
	e->bnext = NULL;
	e->bprev = q->btail;
	if (q->btail)
		q->btail->bnext = e;
	else
		q->bhead = e;
	q->btail = e;
}

static void nb_q_unlink(struct nb_queue *q, struct nb_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		q->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		q->tail = e->prev;
	if (!nb_kind_is_barrier(e->kind))
		return;
	if (e->bprev)
		e->bprev->bnext = e->bnext;
	else
		q->bhead = e->bnext;
	if (e->bnext)
		e->bnext->bprev = e->bprev;
	else
		q->btail = e->bprev;
}

/* ---- the hasher's list: files that need their MD5 ---- */

static int nb_q_needs_hash(const struct nb_entry *e)
{
	return e->kind == NB_KIND_FILE && e->writers == 0 && !e->has_md5 && !e->hashing &&
	       !e->hash_skip && e->state == NB_STATE_PENDING;
}

static void nb_q_hash_unlist(struct nb_queue *q, struct nb_entry *e);

/* The list is kept in queue order, so files are hashed in the order
 * they will upload. Offers come mostly in that order (files closed one
 * after another), so the walk back from the tail is short. */
static void nb_q_hash_offer(struct nb_queue *q, struct nb_entry *e)
{
	if (!nb_q_needs_hash(e)) {
		/* No longer (a writer opened it, say): offered again when it
		 * needs a hash. */
		nb_q_hash_unlist(q, e);
		return;
	}
	if (e->in_hashq)
		return;
	struct nb_entry *after = q->hq_tail;
	while (after && after->seq > e->seq)
		after = after->hq_prev;
	e->in_hashq = 1;
	e->hq_prev = after;
	e->hq_next = after ? after->hq_next : q->hq_head;
	if (e->hq_next)
		e->hq_next->hq_prev = e;
	else
		q->hq_tail = e;
	if (after)
		after->hq_next = e;
	else
		q->hq_head = e;
	q->hash_offered = 1;
}

void nb_q_unlock(struct nb_queue *q)
{
	/* Only an offer still standing when the lock is let go wakes the
	 * hasher: not every change to the queue (each would cost it a
	 * wake-up and the lock), nor a new file's entry offered for the
	 * moment before its writer is counted. */
	if (q->hash_offered) {
		q->hash_offered = 0;
		if (q->hq_head)
			pthread_cond_signal(&q->hcond);
	}
	pthread_mutex_unlock(&q->lock);
}

static void nb_q_hash_unlist(struct nb_queue *q, struct nb_entry *e)
{
	if (!e->in_hashq)
		return;
	if (e->hq_prev)
		e->hq_prev->hq_next = e->hq_next;
	else
		q->hq_head = e->hq_next;
	if (e->hq_next)
		e->hq_next->hq_prev = e->hq_prev;
	else
		q->hq_tail = e->hq_prev;
	e->hq_prev = e->hq_next = NULL;
	e->in_hashq = 0;
}

/* Entries leave the list when taken, freed, or found not to need a hash
 * any more (a writer opened it meanwhile, say: it is offered again when
 * it needs one). */
struct nb_entry *nb_q_hash_take(struct nb_queue *q)
{
	while (q->hq_head) {
		struct nb_entry *e = q->hq_head;
		nb_q_hash_unlist(q, e);
		if (nb_q_needs_hash(e))
			return e;
	}
	return NULL;
}

/* ---- scheduling ---- */

void nb_q_update(struct nb_queue *q, struct nb_entry *e)
{
	long long ready = -1;
	/* A file the hasher is on waits for its MD5 rather than have the
	 * sync thread compute it a second time alongside. Only file
	 * contents need quiet time; everything else is cheap and lets what
	 * depends on it follow at once. */
	if (e->writers == 0 && e->state != NB_STATE_UPLOADING && !e->hashing) {
		ready = e->kind == NB_KIND_FILE ? e->changed_ms + (e->quick ? 0 : q->delay_ms) : 0;
		if (e->retry_ms > ready)
			ready = e->retry_ms;
	} else if (e->state != NB_STATE_UPLOADING && nb_q_streamable(e)) {
		/* Its upload begins as it is written, once it has been open a
		 * while; closed, at once (a streamable file is quick), while
		 * the follower finishes its MD5 (queue.h). */
		ready = e->writers ? e->first_ms + NB_QUEUE_STREAM_AFTER_MS : e->changed_ms;
		if (e->retry_ms > ready)
			ready = e->retry_ms;
	}
	nb_sched_set(&q->sched, &e->sched, ready, nb_xio_now_ms());
	nb_q_hash_offer(q, e);
}

/* ---- entries ---- */

static struct nb_entry *nb_q_insert(struct nb_queue *q, int64_t seq, int kind, const char *path,
				    const char *path2)
{
	struct nb_entry *e = calloc(1, sizeof(*e));
	if (!e || !(e->path = strdup(path)) || (path2 && !(e->path2 = strdup(path2))))
		goto fail;
	e->seq = seq;
	e->kind = kind;
	if (nb_sched_add(&q->sched, &e->sched, e, seq, e->path, e->path2, nb_kind_is_barrier(kind)))
		goto fail;
	e->id = ++q->next_id;
	e->state = NB_STATE_PENDING;
	e->gen = e->cgen = ++q->next_gen;
	e->first_ms = e->changed_ms = nb_xio_now_ms();
	if (!nb_kind_is_barrier(kind))
		nb_hmap_add(&q->by_path, &e->by_path, nb_hash_str(e->path));
	nb_hmap_add(&q->by_id, &e->by_id, nb_hash_u64(e->id));
	nb_q_link_tail(q, e);
	q->count++;
	return e;
fail:
	if (e)
		nb_entry_free(e);
	return NULL;
}

void nb_q_forget(struct nb_queue *q, struct nb_entry *e)
{
	nb_sched_del(&q->sched, &e->sched);
	/* Directories above it that wait for their time may go now. */
	nb_dirtimes_poke(&q->dirtimes, e->path);
	if (e->path2)
		nb_dirtimes_poke(&q->dirtimes, e->path2);
	if (!nb_kind_is_barrier(e->kind))
		nb_hmap_del(&q->by_path, &e->by_path);
	nb_hmap_del(&q->by_id, &e->by_id);
	nb_q_hash_unlist(q, e);
	nb_q_unlink(q, e);
	q->count--;
	nb_entry_free(e);
}

void nb_q_drop(struct nb_queue *q, struct nb_entry *e)
{
	nb_debug("%s: entry %llu (%c%s) dropped", e->path, (unsigned long long)e->id, e->kind,
		 e->has_doubt ? ", in doubt" : "");
	int r = e->unsaved ? 0 : nb_statedb_op_del(q->db, e->seq);
	if (r != 0)
		nb_err("%s: cannot remove its queue entry from the database (%s); it is "
		       "replayed harmlessly at the next mount",
		       e->path, nb_strerror(r));
	nb_q_forget(q, e);
}

struct nb_entry *nb_q_append(struct nb_queue *q, int kind, const char *path, const char *path2,
			     int defer, int *err)
{
	int64_t seq = q->next_seq;
	if (!defer && (*err = nb_statedb_op_add(q->db, seq, kind, path, path2, NULL)) != 0)
		return NULL;
	q->next_seq++;
	struct nb_entry *e = nb_q_insert(q, seq, kind, path, path2);
	if (!e) {
		*err = -ENOMEM;
		if (!defer && nb_statedb_op_del(q->db, seq) != 0)
			nb_err("%s: a queue entry could not be taken back from the database; it is "
			       "replayed harmlessly at the next mount", path);
		return NULL;
	}
	e->unsaved = defer;
	*err = 0;
	if (nb_kind_is_barrier(kind))
		nb_debug("%s: queued %c%s%s (entry %llu)", path, kind, path2 ? " from " : "",
			 path2 ? path2 : "", (unsigned long long)e->id);
	nb_q_update(q, e);
	return e;
}

/* Unsaved e's row, with its doubt if it has one (not marked saved). */
static int nb_q_row_add(struct nb_queue *q, const struct nb_entry *e)
{
	int r = nb_statedb_op_add(q->db, e->seq, e->kind, e->path, e->path2,
				  e->has_doubt ? &e->doubt : NULL);
	if (r == 0 && e->has_doubt2)
		r = nb_statedb_op_doubt2(q->db, e->seq, &e->doubt2);
	return r;
}

/* Put unsaved e on record. */
int nb_q_save(struct nb_queue *q, struct nb_entry *e)
{
	int r = nb_q_row_add(q, e);
	if (r == 0)
		e->unsaved = 0;
	return r;
}

int nb_q_move(struct nb_queue *q, struct nb_entry *e, const char *path)
{
	char *np = strdup(path);
	int64_t seq = q->next_seq;
	int r;
	if (!np)
		return -ENOMEM;
	if (!e->unsaved && (r = nb_statedb_op_move(q->db, e->seq, np, seq)) != 0) {
		free(np);
		return r;
	}
	q->next_seq++;
	/* Out of every index under the old name and place, in again under
	 * the new ones. Re-adding to the scheduler cannot fail: the heaps
	 * already have room for this entry. */
	nb_sched_del(&q->sched, &e->sched);
	nb_dirtimes_poke(&q->dirtimes, e->path);
	nb_hmap_del(&q->by_path, &e->by_path);
	nb_q_unlink(q, e);
	free(e->path);
	e->path = np;
	e->seq = seq;
	nb_sched_add(&q->sched, &e->sched, e, seq, e->path, e->path2, 0);
	nb_hmap_add(&q->by_path, &e->by_path, nb_hash_str(e->path));
	nb_q_link_tail(q, e);
	return 0;
}

int nb_q_recorded(struct nb_queue *q, const char *path)
{
	struct nb_synced rec;
	return nb_statedb_get_synced(q->db, path, &rec) == 0;
}

void nb_q_set_error(struct nb_entry *e, const char *error)
{
	free(e->error);
	e->error = error ? strdup(error) : NULL;
}

int nb_q_same_version(const struct nb_synced *a, const struct nb_synced *b)
{
	return a->kind == b->kind && a->size == b->size && a->mtime_ns == b->mtime_ns &&
	       a->has_remote == b->has_remote && a->rsize == b->rsize &&
	       a->rmtime_s == b->rmtime_s && a->rmtime_ns == b->rmtime_ns;
}

/* e's doubts as they are now, on record. */
static void nb_q_save_doubts(struct nb_queue *q, struct nb_entry *e, const char *what)
{
	int r = 0;
	if (e->unsaved)
		r = e->has_doubt ? nb_q_save(q, e) : 0;
	else if ((r = nb_statedb_op_doubt(q->db, e->seq, e->has_doubt ? &e->doubt : NULL)) == 0)
		r = nb_statedb_op_doubt2(q->db, e->seq, e->has_doubt2 ? &e->doubt2 : NULL);
	if (r != 0)
		nb_warn("%s: cannot record %s (%s)", e->path, what, nb_strerror(r));
}

void nb_q_set_doubt(struct nb_queue *q, struct nb_entry *e, const struct nb_synced *d)
{
	if (!d && !e->has_doubt)
		return;
	if (d && e->has_doubt && nb_q_same_version(&e->doubt, d))
		return;
	nb_debug("%s: entry %llu %s", e->path, (unsigned long long)e->id,
		 d ? (e->has_doubt ? "in doubt about two versions" : "in doubt")
		   : "no longer in doubt");
	if (d) {
		/* The newest two: the one before stays possible too. */
		e->has_doubt2 = e->has_doubt;
		e->doubt2 = e->doubt;
		e->doubt = *d;
		e->has_doubt = 1;
	} else {
		e->has_doubt = e->has_doubt2 = 0;
	}
	nb_q_save_doubts(q, e,
			 d ? "that its upload is in doubt; a crash now may cost a conflict copy"
			   : "that its upload is no longer in doubt");
}

void nb_q_drop_doubt(struct nb_queue *q, struct nb_entry *e, const struct nb_synced *v)
{
	if (e->has_doubt2 && nb_q_same_version(&e->doubt2, v)) {
		e->has_doubt2 = 0;
	} else if (e->has_doubt && nb_q_same_version(&e->doubt, v)) {
		e->doubt = e->doubt2;
		e->has_doubt = e->has_doubt2;
		e->has_doubt2 = 0;
	} else {
		return;
	}
	nb_debug("%s: entry %llu %s", e->path, (unsigned long long)e->id,
		 e->has_doubt ? "in doubt about one version less" : "no longer in doubt");
	nb_q_save_doubts(q, e, "that its upload is no longer in doubt");
}

/* ---- loading ---- */

static int nb_q_load_one(void *arg, int64_t seq, int kind, const char *path, const char *path2,
			 const struct nb_synced *doubt)
{
	struct nb_queue *q = arg;
	if (!nb_kind_is_barrier(kind) && nb_q_find(q, path)) {
		/* A second creation of one path (should not happen): keep
		 * the first. */
		if (nb_statedb_op_del(q->db, seq) != 0)
			nb_warn("%s: duplicate queue entry %lld stays in the database", path,
				(long long)seq);
		return 0;
	}
	struct nb_entry *e = nb_q_insert(q, seq, kind, path, path2);
	if (!e)
		return -ENOMEM;
	e->changed_ms = nb_xio_now_ms() - q->delay_ms; /* closed long ago */
	if (doubt && (!nb_kind_is_barrier(kind) || kind == NB_KIND_UNLINK)) {
		/* nbfs stopped before the answer: the next upload asks; a
		 * removal that replaced the upload removes whatever is there
		 * (sync/flight_unlink.c). */
		e->doubt = *doubt;
		e->has_doubt = 1;
	}
	nb_q_update(q, e);
	return 0;
}

int nb_queue_load(struct nb_queue *q)
{
	pthread_mutex_lock(&q->lock);
	/* Loaded already (the queue only grows from its loaded state). */
	int r = q->count ? 0 : nb_statedb_each_op(q->db, nb_q_load_one, q);
	if (r == 0)
		r = nb_statedb_each_key(q->db, nb_q_load_key, q);
	if (r == 0)
		r = nb_statedb_each_doubt2(q->db, nb_q_load_doubt2, q);
	if (r == 0)
		r = nb_q_pins_load(q);
	int marks = nb_statedb_conflict_count(q->db);
	q->conflict_marks = marks < 0 ? 1 : marks;
	pthread_cond_broadcast(&q->cond);
	nb_q_unlock(q);
	return r;
}

int nb_q_load_doubt2(void *arg, int64_t seq, const struct nb_synced *d)
{
	struct nb_queue *q = arg;
	for (struct nb_entry *e = q->head; e; e = e->next)
		if (e->seq == seq && e->has_doubt) {
			e->doubt2 = *d;
			e->has_doubt2 = 1;
			break;
		}
	return 0;
}

static int nb_q_save_all(void *arg)
{
	struct nb_queue *q = arg;
	int r = 0;
	for (struct nb_entry *e = q->head; e && r == 0; e = e->next)
		if (e->unsaved)
			r = nb_q_row_add(q, e);
	return r;
}

int nb_queue_flush(struct nb_queue *q)
{
	pthread_mutex_lock(&q->lock);
	/* In one transaction, and marked once it is committed: a full disk
	 * may run it twice. */
	int r = nb_statedb_batch(q->db, nb_q_save_all, q);
	for (struct nb_entry *e = q->head; e && r == 0; e = e->next)
		e->unsaved = 0;
	nb_q_unlock(q);
	if (r != 0)
		nb_warn("cannot put the queued uploads of new files on record (%s): the scan at "
			"the next mount finds them",
			nb_strerror(r));
	return nb_statedb_flush(q->db);
}

void nb_queue_group_begin(struct nb_queue *q)
{
	nb_statedb_group_begin(q->db);
}

void nb_queue_group_commit(struct nb_queue *q)
{
	(void)nb_statedb_group_commit(q->db); /* logged there */
}

void nb_queue_group_end(struct nb_queue *q)
{
	(void)nb_statedb_group_end(q->db); /* logged there */
}
