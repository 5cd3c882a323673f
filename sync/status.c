#include "sync/status.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wire/err.h"
#include "wire/log.h"
#include "wire/pathname.h"
#include "wire/xio.h"

struct nb_entry {
	uint64_t id;  /* stable for the entry's life, across renames */
	int64_t seq;  /* position in the queue (database row) */
	char *path;
	char *path2;  /* rename source */
	int kind;
	int state;
	uint64_t gen;
	int writers;
	long long changed_ms; /* last change or last writer closed */
	long long retry_ms;   /* not before this time */
	uint64_t done, total;
	long long rate_ms;    /* time of the last rate sample */
	uint64_t rate_done;
	double rate;
	int has_md5;
	int hashing; /* the hasher is on it */
	uint8_t md5[NB_MD5_LEN];
	/* An upload whose link broke before its answer: the server may have
	 * published that version (not recorded as synced). */
	int has_doubt;
	struct nb_synced doubt;
	char *error;
	struct nb_entry *hnext;          /* hash chain (creations only) */
	struct nb_entry *prev, *next;    /* FIFO of first change */
};

struct nb_status {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct nb_statedb *db;
	long delay_ms;
	struct nb_entry **buckets;
	size_t nbuckets, count;
	struct nb_entry *head, *tail;
	uint64_t next_gen;
	uint64_t next_id;
	int connected;
	char link_reason[256];
};

const char *nb_state_name(int state)
{
	switch (state) {
	case NB_STATE_SYNCED: return "synced";
	case NB_STATE_PENDING: return "pending";
	case NB_STATE_UPLOADING: return "uploading";
	case NB_STATE_REMOTE: return "remote";
	case NB_STATE_CONFLICT: return "conflict";
	default: return "error";
	}
}

void nb_job_free(struct nb_job *job)
{
	free(job->path);
	free(job->path2);
	job->path = job->path2 = NULL;
}

static int nb_kind_is_barrier(int kind)
{
	return kind == NB_KIND_UNLINK || kind == NB_KIND_RMDIR || kind == NB_KIND_RENAME;
}

/* a and b are the same path or one lies below the other. */
static int nb_overlap(const char *a, const char *b)
{
	return nb_path_is_within(a, b) || nb_path_is_within(b, a);
}

static int nb_entry_overlaps(const struct nb_entry *e, const char *p)
{
	return nb_overlap(e->path, p) || (e->path2 && nb_overlap(e->path2, p));
}

static size_t nb_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (size_t)h;
}

int nb_status_new(struct nb_statedb *db, long delay_ms, struct nb_status **out)
{
	struct nb_status *st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->nbuckets = 4096;
	st->buckets = calloc(st->nbuckets, sizeof(*st->buckets));
	if (!st->buckets) {
		free(st);
		return -ENOMEM;
	}
	pthread_mutex_init(&st->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&st->cond, &ca);
	pthread_condattr_destroy(&ca);
	st->db = db;
	st->delay_ms = delay_ms;
	snprintf(st->link_reason, sizeof(st->link_reason), "not connected yet");
	*out = st;
	return 0;
}

static void nb_entry_free(struct nb_entry *e)
{
	free(e->path);
	free(e->path2);
	free(e->error);
	free(e);
}

void nb_status_free(struct nb_status *st)
{
	if (!st)
		return;
	struct nb_entry *e = st->head;
	while (e) {
		struct nb_entry *n = e->next;
		nb_entry_free(e);
		e = n;
	}
	free(st->buckets);
	pthread_mutex_destroy(&st->lock);
	pthread_cond_destroy(&st->cond);
	free(st);
}

static void nb_status_grow(struct nb_status *st)
{
	size_t n = st->nbuckets * 2;
	struct nb_entry **b = calloc(n, sizeof(*b));
	if (!b)
		return; /* longer chains, still correct */
	for (struct nb_entry *e = st->head; e; e = e->next) {
		if (nb_kind_is_barrier(e->kind))
			continue;
		size_t i = nb_hash(e->path) & (n - 1);
		e->hnext = b[i];
		b[i] = e;
	}
	free(st->buckets);
	st->buckets = b;
	st->nbuckets = n;
}

static struct nb_entry *nb_status_find(struct nb_status *st, const char *path)
{
	for (struct nb_entry *e = st->buckets[nb_hash(path) & (st->nbuckets - 1)]; e; e = e->hnext)
		if (strcmp(e->path, path) == 0)
			return e;
	return NULL;
}

static void nb_status_hash_add(struct nb_status *st, struct nb_entry *e)
{
	size_t i = nb_hash(e->path) & (st->nbuckets - 1);
	e->hnext = st->buckets[i];
	st->buckets[i] = e;
}

static void nb_status_hash_del(struct nb_status *st, struct nb_entry *e)
{
	struct nb_entry **pp = &st->buckets[nb_hash(e->path) & (st->nbuckets - 1)];
	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = e->hnext;
}

static void nb_status_link_tail(struct nb_status *st, struct nb_entry *e)
{
	e->next = NULL;
	e->prev = st->tail;
	if (st->tail)
		st->tail->next = e;
	else
		st->head = e;
	st->tail = e;
}

static void nb_status_unlink_list(struct nb_status *st, struct nb_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		st->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		st->tail = e->prev;
}

/* A new entry at the tail (not recorded in the database: callers do). */
static struct nb_entry *nb_status_insert(struct nb_status *st, int64_t seq, int kind,
					 const char *path, const char *path2)
{
	struct nb_entry *e = calloc(1, sizeof(*e));
	if (!e || !(e->path = strdup(path)) || (path2 && !(e->path2 = strdup(path2)))) {
		if (e)
			free(e->path);
		free(e);
		return NULL;
	}
	e->id = ++st->next_id;
	e->seq = seq;
	e->kind = kind;
	e->state = NB_STATE_PENDING;
	e->gen = ++st->next_gen;
	if (!nb_kind_is_barrier(kind)) {
		if (st->count + 1 > st->nbuckets)
			nb_status_grow(st);
		nb_status_hash_add(st, e);
	}
	nb_status_link_tail(st, e);
	st->count++;
	return e;
}

static void nb_status_remove_entry(struct nb_status *st, struct nb_entry *e)
{
	if (!nb_kind_is_barrier(e->kind))
		nb_status_hash_del(st, e);
	nb_status_unlink_list(st, e);
	st->count--;
	nb_entry_free(e);
}

/* Durably append an operation and its entry. NULL with *err set on
 * failure. */
static struct nb_entry *nb_status_append(struct nb_status *st, int kind, const char *path,
					 const char *path2, int *err)
{
	int64_t seq;
	if ((*err = nb_statedb_op_add(st->db, kind, path, path2, &seq)) != 0)
		return NULL;
	struct nb_entry *e = nb_status_insert(st, seq, kind, path, path2);
	if (!e) {
		nb_statedb_op_del(st->db, seq);
		*err = -ENOMEM;
	}
	return e;
}

static void nb_entry_set_error(struct nb_entry *e, const char *error)
{
	free(e->error);
	e->error = error ? strdup(error) : NULL;
}

static int nb_status_load_one(void *arg, int64_t seq, int kind, const char *path,
			      const char *path2)
{
	struct nb_status *st = arg;
	for (struct nb_entry *x = st->head; x; x = x->next)
		if (x->seq == seq)
			return 0; /* loaded already */
	struct nb_entry *dup = nb_kind_is_barrier(kind) ? NULL : nb_status_find(st, path);
	if (dup) {
		/* A second creation of one path (should not happen): keep
		 * the first. */
		nb_statedb_op_del(st->db, seq);
		return 0;
	}
	struct nb_entry *e = nb_status_insert(st, seq, kind, path, path2);
	if (!e)
		return -ENOMEM;
	e->changed_ms = nb_xio_now_ms() - st->delay_ms; /* closed long ago */
	return 0;
}

int nb_status_load(struct nb_status *st)
{
	pthread_mutex_lock(&st->lock);
	int r = nb_statedb_each_op(st->db, nb_status_load_one, st);
	pthread_mutex_unlock(&st->lock);
	return r;
}

/* Called with the lock held. */
static struct nb_entry *nb_status_touch_locked(struct nb_status *st, const char *path, int kind,
					       int *err)
{
	struct nb_entry *e = nb_status_find(st, path);
	*err = 0;
	if (e && e->kind != kind) {
		/* A file became a directory or a symlink (or back): the old
		 * creation is void, the new one queues behind what came since. */
		nb_statedb_op_del(st->db, e->seq);
		nb_status_remove_entry(st, e);
		e = NULL;
	}
	if (!e) {
		/* Durable first: the change is on record before we return. */
		if (!(e = nb_status_append(st, kind, path, NULL, err)))
			return NULL;
	} else if (e->state == NB_STATE_ERROR) {
		/* A new version deserves a fresh attempt. */
		e->state = NB_STATE_PENDING;
		e->retry_ms = 0;
	}
	e->kind = kind;
	e->gen = ++st->next_gen;
	e->changed_ms = nb_xio_now_ms();
	e->has_md5 = 0;
	return e;
}

int nb_status_touch(struct nb_status *st, const char *path, int kind)
{
	int r;
	pthread_mutex_lock(&st->lock);
	if (nb_status_touch_locked(st, path, kind, &r))
		pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
	return r;
}

int nb_status_writer_open_id(struct nb_status *st, const char *path, uint64_t *id)
{
	int r;
	pthread_mutex_lock(&st->lock);
	struct nb_entry *e = nb_status_touch_locked(st, path, NB_KIND_FILE, &r);
	if (e) {
		e->writers++;
		if (id)
			*id = e->id;
	}
	pthread_mutex_unlock(&st->lock);
	return r;
}

int nb_status_writer_open(struct nb_status *st, const char *path)
{
	return nb_status_writer_open_id(st, path, NULL);
}

/* Lock held. */
static void nb_status_writer_closed(struct nb_status *st, struct nb_entry *e)
{
	if (!e)
		return;
	if (e->writers > 0)
		e->writers--;
	e->changed_ms = nb_xio_now_ms();
	pthread_cond_broadcast(&st->cond); /* the sync thread and the hasher */
}

void nb_status_writer_close(struct nb_status *st, const char *path)
{
	pthread_mutex_lock(&st->lock);
	nb_status_writer_closed(st, nb_status_find(st, path));
	pthread_mutex_unlock(&st->lock);
}

void nb_status_writer_close_id(struct nb_status *st, uint64_t id)
{
	pthread_mutex_lock(&st->lock);
	struct nb_entry *e = st->head;
	while (e && e->id != id)
		e = e->next;
	/* Gone: the file was removed (and its entry with it) while open. */
	nb_status_writer_closed(st, e);
	pthread_mutex_unlock(&st->lock);
}

static void nb_status_fill(const struct nb_entry *e, struct nb_status_view *v)
{
	memset(v, 0, sizeof(*v));
	v->state = e->state;
	v->kind = e->kind;
	v->done = e->done;
	v->total = e->total;
	v->rate = e->rate;
	v->has_md5 = e->has_md5;
	if (e->has_md5)
		nb_md5_hex(e->md5, v->md5);
	if (e->error)
		snprintf(v->error, sizeof(v->error), "%s", e->error);
	v->count = 1;
}

int nb_status_get(struct nb_status *st, const char *path, struct nb_status_view *v)
{
	int r = -ENOENT;
	pthread_mutex_lock(&st->lock);
	struct nb_entry *e = nb_status_find(st, path);
	for (struct nb_entry *b = st->tail; !e && b; b = b->prev)
		if (b->kind == NB_KIND_RENAME && strcmp(b->path, path) == 0)
			e = b;
	if (e) {
		nb_status_fill(e, v);
		r = 0;
	}
	pthread_mutex_unlock(&st->lock);
	return r;
}

static int nb_state_rank(int state)
{
	switch (state) {
	case NB_STATE_ERROR: return 3;
	case NB_STATE_UPLOADING: return 2;
	case NB_STATE_PENDING: return 1;
	default: return 0;
	}
}

void nb_status_dir(struct nb_status *st, const char *dir, struct nb_status_view *v)
{
	memset(v, 0, sizeof(*v));
	v->state = NB_STATE_SYNCED;
	v->kind = NB_KIND_DIR;
	pthread_mutex_lock(&st->lock);
	for (struct nb_entry *e = st->head; e; e = e->next) {
		if (!nb_path_is_within(e->path, dir) && !(e->path2 && nb_path_is_within(e->path2, dir)))
			continue;
		v->count++;
		v->done += e->done;
		v->total += e->total;
		v->rate += e->rate;
		if (nb_state_rank(e->state) > nb_state_rank(v->state)) {
			v->state = e->state;
			if (e->state == NB_STATE_ERROR && e->error)
				snprintf(v->error, sizeof(v->error), "%s: %s", e->path, e->error);
		}
		if (!v->error[0] && e->error)
			snprintf(v->error, sizeof(v->error), "%s: %s", e->path, e->error);
	}
	pthread_mutex_unlock(&st->lock);
}

void nb_status_set_link(struct nb_status *st, int connected, const char *reason)
{
	pthread_mutex_lock(&st->lock);
	st->connected = connected;
	snprintf(st->link_reason, sizeof(st->link_reason), "%s", reason ? reason : "");
	pthread_mutex_unlock(&st->lock);
}

/* The report is line- and tab-separated, and a file name may hold any
 * byte but NUL and '/': escape the separators and every control byte
 * (which also keeps them off the user's terminal). */
static void nb_status_escape(const char *in, char *out, size_t outsz)
{
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)in; *p && o + 5 < outsz; p++) {
		if (*p == '\\') {
			out[o++] = '\\';
			out[o++] = '\\';
		} else if (*p == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else if (*p == '\t') {
			out[o++] = '\\';
			out[o++] = 't';
		} else if (*p < 0x20 || *p == 0x7f) {
			o += (size_t)snprintf(out + o, outsz - o, "\\x%02x", *p);
		} else {
			out[o++] = (char)*p;
		}
	}
	out[o] = 0;
}

/* Append s to out (size outsz, NUL-terminated), truncating. */
static void nb_status_cat(char *out, size_t outsz, const char *s)
{
	size_t n = strlen(out), k = strlen(s);
	if (n + 1 >= outsz)
		return;
	if (k > outsz - n - 1)
		k = outsz - n - 1;
	memcpy(out + n, s, k);
	out[n + k] = 0;
}

/* The report's path field: the path, or what a barrier does. */
static void nb_status_describe(const struct nb_entry *e, char *out, size_t outsz)
{
	char a[NB_PATH_MAX * 4 + 8];
	out[0] = 0;
	switch (e->kind) {
	case NB_KIND_UNLINK: nb_status_cat(out, outsz, "(delete) "); break;
	case NB_KIND_RMDIR: nb_status_cat(out, outsz, "(delete dir) "); break;
	case NB_KIND_RENAME:
		nb_status_escape(e->path2, a, sizeof(a));
		nb_status_cat(out, outsz, "(move) ");
		nb_status_cat(out, outsz, a);
		nb_status_cat(out, outsz, " -> ");
		break;
	default: break;
	}
	nb_status_escape(e->path, a, sizeof(a));
	nb_status_cat(out, outsz, a);
}

size_t nb_status_report(struct nb_status *st, char *buf, size_t size)
{
	char esc[NB_PATH_MAX * 4 + 8];
	size_t n = 0, left = 0;
	if (size == 0)
		return 0;
	buf[0] = 0;
	pthread_mutex_lock(&st->lock);
	nb_status_escape(st->link_reason, esc, sizeof(esc));
	int k = snprintf(buf, size, "link\t%s\t%s\n", st->connected ? "connected" : "offline", esc);
	n = k > 0 && (size_t)k < size ? (size_t)k : 0;
	for (struct nb_entry *e = st->head; e; e = e->next) {
		/* Keep room for the summary line. */
		nb_status_describe(e, esc, sizeof(esc));
		k = snprintf(buf + n, size - n > 64 ? size - n - 64 : 0,
			     "%s\t%" PRIu64 "\t%" PRIu64 "\t%.0f\t%s\n", nb_state_name(e->state),
			     e->done, e->total, e->rate, esc);
		if (k < 0 || size - n <= 64 || (size_t)k >= size - n - 64) {
			buf[n] = 0;
			left++;
			continue;
		}
		n += (size_t)k;
	}
	pthread_mutex_unlock(&st->lock);
	if (left > 0) {
		k = snprintf(buf + n, size - n, "more\t%zu\n", left);
		if (k > 0 && (size_t)k < size - n)
			n += (size_t)k;
	}
	return n;
}

int nb_status_link(struct nb_status *st, char *reason, size_t reasonsz)
{
	pthread_mutex_lock(&st->lock);
	int c = st->connected;
	snprintf(reason, reasonsz, "%s", st->link_reason);
	pthread_mutex_unlock(&st->lock);
	return c;
}

size_t nb_status_count(struct nb_status *st)
{
	pthread_mutex_lock(&st->lock);
	size_t n = st->count;
	pthread_mutex_unlock(&st->lock);
	return n;
}

/* May e run now, given the unfinished entries before it? A creation
 * waits for earlier barriers on overlapping paths; a barrier waits for
 * every earlier entry on overlapping paths. */
static int nb_status_blocked(const struct nb_entry *e)
{
	int barrier = nb_kind_is_barrier(e->kind);
	for (const struct nb_entry *x = e->prev; x; x = x->prev) {
		if (!barrier && !nb_kind_is_barrier(x->kind))
			continue;
		if (nb_entry_overlaps(x, e->path) || (e->path2 && nb_entry_overlaps(x, e->path2)))
			return 1;
	}
	return 0;
}

int nb_status_next_job(struct nb_status *st, struct nb_job *job, long *wait_ms)
{
	long long now = nb_xio_now_ms();
	long long best = -1;
	int found = 0;
	memset(job, 0, sizeof(*job));
	pthread_mutex_lock(&st->lock);
	for (struct nb_entry *e = st->head; e; e = e->next) {
		/* A file the hasher is on waits for its MD5 rather than have
		 * the sync thread compute it a second time alongside. */
		if (e->writers > 0 || e->state == NB_STATE_UPLOADING || e->hashing)
			continue;
		/* Only file contents need quiet time; everything else is cheap
		 * and lets what depends on it follow at once. */
		long long ready = e->kind == NB_KIND_FILE ? e->changed_ms + st->delay_ms : 0;
		if (e->retry_ms > ready)
			ready = e->retry_ms;
		if (ready > now) {
			if (best < 0 || ready < best)
				best = ready;
			continue;
		}
		if (nb_status_blocked(e))
			continue;
		job->path = strdup(e->path);
		job->path2 = e->path2 ? strdup(e->path2) : NULL;
		if (!job->path || (e->path2 && !job->path2)) {
			nb_job_free(job);
			break;
		}
		job->kind = e->kind;
		job->gen = e->gen;
		job->seq = e->seq;
		e->state = NB_STATE_UPLOADING;
		e->done = 0;
		e->total = 0;
		e->rate = 0;
		e->rate_ms = 0;
		found = 1;
		break;
	}
	if (!found && st->head && best < 0)
		best = now + 1000; /* open writers or blocked entries: look again later */
	pthread_mutex_unlock(&st->lock);
	*wait_ms = found ? 0 : (best < 0 ? -1 : (long)(best - now));
	return found;
}

void nb_status_wait(struct nb_status *st, long wait_ms)
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
	pthread_mutex_lock(&st->lock);
	pthread_cond_timedwait(&st->cond, &st->lock, &ts);
	pthread_mutex_unlock(&st->lock);
}

void nb_status_wake(struct nb_status *st)
{
	pthread_mutex_lock(&st->lock);
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
}

int nb_status_changed(struct nb_status *st, const char *path, uint64_t gen)
{
	pthread_mutex_lock(&st->lock);
	struct nb_entry *e = nb_status_find(st, path);
	int changed = !e || e->gen != gen || e->writers > 0;
	pthread_mutex_unlock(&st->lock);
	return changed;
}

void nb_status_progress(struct nb_status *st, const char *path, uint64_t done, uint64_t total)
{
	long long now = nb_xio_now_ms();
	pthread_mutex_lock(&st->lock);
	struct nb_entry *e = nb_status_find(st, path);
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
	pthread_mutex_unlock(&st->lock);
}

void nb_status_set_md5(struct nb_status *st, const char *path, uint64_t gen,
		       const uint8_t md5[NB_MD5_LEN])
{
	pthread_mutex_lock(&st->lock);
	struct nb_entry *e = nb_status_find(st, path);
	if (e && e->gen == gen) {
		memcpy(e->md5, md5, NB_MD5_LEN);
		e->has_md5 = 1;
	}
	pthread_mutex_unlock(&st->lock);
}

int nb_status_get_md5(struct nb_status *st, const char *path, uint64_t gen,
		      uint8_t md5[NB_MD5_LEN])
{
	int ok = 0;
	pthread_mutex_lock(&st->lock);
	struct nb_entry *e = nb_status_find(st, path);
	if (e && e->gen == gen && e->has_md5) {
		memcpy(md5, e->md5, NB_MD5_LEN);
		ok = 1;
	}
	pthread_mutex_unlock(&st->lock);
	return ok;
}

int nb_status_next_hash(struct nb_status *st, struct nb_job *job)
{
	int found = 0;
	memset(job, 0, sizeof(*job));
	pthread_mutex_lock(&st->lock);
	for (struct nb_entry *e = st->head; e; e = e->next) {
		if (e->kind != NB_KIND_FILE || e->writers > 0 || e->has_md5 || e->hashing ||
		    e->state != NB_STATE_PENDING)
			continue;
		if (!(job->path = strdup(e->path)))
			break;
		job->kind = e->kind;
		job->gen = e->gen;
		job->seq = e->seq;
		e->hashing = 1;
		found = 1;
		break;
	}
	pthread_mutex_unlock(&st->lock);
	return found;
}

void nb_status_hash_done(struct nb_status *st, const char *path)
{
	pthread_mutex_lock(&st->lock);
	struct nb_entry *e = nb_status_find(st, path);
	if (e)
		e->hashing = 0;
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
}

/* The entry a job came from, if it is still in the queue. */
static struct nb_entry *nb_status_job_entry(struct nb_status *st, const struct nb_job *job)
{
	if (!nb_kind_is_barrier(job->kind)) {
		struct nb_entry *e = nb_status_find(st, job->path);
		return e && e->seq == job->seq ? e : NULL;
	}
	for (struct nb_entry *e = st->head; e; e = e->next)
		if (e->seq == job->seq)
			return e;
	return NULL;
}

static int nb_status_finish(struct nb_status *st, const struct nb_job *job,
			    const struct nb_synced *rec, int source_absent)
{
	int done = 0, r = 0;
	pthread_mutex_lock(&st->lock);
	struct nb_entry *e = nb_status_job_entry(st, job);
	if (e && nb_kind_is_barrier(e->kind)) {
		struct nb_synced src;
		if (e->kind == NB_KIND_RENAME && source_absent &&
		    nb_statedb_get_synced(st->db, e->path2, &src) != 0)
			/* The server had no source to move and we know of
			 * none: its destination is untouched, and so is our
			 * record of it. */
			r = nb_statedb_op_del(st->db, e->seq);
		else if (e->kind == NB_KIND_RENAME)
			r = nb_statedb_move_synced(st->db, e->seq, e->path2, e->path);
		else
			r = nb_statedb_del_synced(st->db, e->seq, e->path);
		done = r == 0;
	} else if (e && e->gen == job->gen && e->writers == 0) {
		r = nb_statedb_set_synced(st->db, e->seq, e->path, rec);
		done = r == 0;
	} else if (!nb_kind_is_barrier(job->kind) && rec) {
		/* Changed, replaced, renamed or removed since the job was
		 * taken: not done, but the server holds this version at the
		 * job's path now. On record, it is the base of the next
		 * upload there (else our own version would look like a
		 * conflict), and a queued rename or removal carries it along
		 * or deletes it. */
		r = nb_statedb_set_synced(st->db, -1, job->path, rec);
		if (e)
			e->state = NB_STATE_PENDING;
		if (r != 0 && !e)
			nb_err("%s: cannot record the server's version: %s", job->path, nb_strerror(r));
		if (!e)
			r = 0;
	} else if (e) {
		e->state = NB_STATE_PENDING;
	}
	if (done) {
		nb_status_remove_entry(st, e);
	} else if (r != 0) {
		e->state = NB_STATE_ERROR;
		nb_entry_set_error(e, "cannot record the synced state (see log)");
	}
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
	return done;
}

int nb_status_done(struct nb_status *st, const struct nb_job *job, const struct nb_synced *rec)
{
	return nb_status_finish(st, job, rec, 0);
}

int nb_status_done_absent(struct nb_status *st, const struct nb_job *job)
{
	return nb_status_finish(st, job, NULL, 1);
}

void nb_status_fail(struct nb_status *st, const struct nb_job *job, int state, const char *error,
		    long retry_ms)
{
	pthread_mutex_lock(&st->lock);
	struct nb_entry *e = nb_status_job_entry(st, job);
	if (e) {
		/* A change since the job was taken means a fresh attempt at
		 * once, not an error or a backoff about the old content. */
		int same = e->gen == job->gen;
		e->state = same ? state : NB_STATE_PENDING;
		nb_entry_set_error(e, same ? error : NULL);
		e->retry_ms = nb_xio_now_ms() + (same ? retry_ms : 0);
		e->rate = 0;
	}
	pthread_mutex_unlock(&st->lock);
}

void nb_status_set_doubt(struct nb_status *st, const struct nb_job *job, const struct nb_synced *v)
{
	pthread_mutex_lock(&st->lock);
	/* By path: the doubt is about what the server holds there, whatever
	 * is queued for the path now (a file renamed over it, say). */
	struct nb_entry *e = nb_status_find(st, job->path);
	if (e) {
		e->doubt = *v;
		e->has_doubt = 1;
	}
	pthread_mutex_unlock(&st->lock);
}

int nb_status_get_doubt(struct nb_status *st, const char *path, struct nb_synced *v)
{
	pthread_mutex_lock(&st->lock);
	struct nb_entry *e = nb_status_find(st, path);
	int have = e && e->has_doubt;
	if (have)
		*v = e->doubt;
	pthread_mutex_unlock(&st->lock);
	return have;
}

void nb_status_clear_doubt(struct nb_status *st, const char *path)
{
	pthread_mutex_lock(&st->lock);
	struct nb_entry *e = nb_status_find(st, path);
	if (e)
		e->has_doubt = 0;
	pthread_mutex_unlock(&st->lock);
}

void nb_status_drop_job(struct nb_status *st, const struct nb_job *job)
{
	pthread_mutex_lock(&st->lock);
	struct nb_entry *e = nb_status_job_entry(st, job);
	if (e && e->gen == job->gen) {
		nb_statedb_op_del(st->db, e->seq);
		nb_status_remove_entry(st, e);
	} else if (e) {
		/* Written again since: that version exists, try it. */
		e->state = NB_STATE_PENDING;
	}
	pthread_mutex_unlock(&st->lock);
}

void nb_status_drop(struct nb_status *st, const char *path)
{
	pthread_mutex_lock(&st->lock);
	struct nb_entry *e = nb_status_find(st, path);
	if (e) {
		nb_statedb_op_del(st->db, e->seq);
		nb_status_remove_entry(st, e);
	}
	pthread_mutex_unlock(&st->lock);
}

/* Lock held. Whether the server holds path by a finished job of ours:
 * nb_status_done records that under the same lock. */
static int nb_status_synced_locked(struct nb_status *st, const char *path)
{
	struct nb_synced rec;
	return nb_statedb_get_synced(st->db, path, &rec) == 0;
}

int nb_status_remove(struct nb_status *st, const char *path, int rmdir, int on_server)
{
	int r = 0;
	pthread_mutex_lock(&st->lock);
	struct nb_entry *e = nb_status_find(st, path);
	/* The caller looked before taking the lock: an upload that finished
	 * since then has put the path on the server after all. */
	on_server |= nb_status_synced_locked(st, path);
	if (e) {
		/* An upload in flight may publish before it notices: then the
		 * server holds the path after all. */
		on_server |= e->state == NB_STATE_UPLOADING || e->has_doubt;
		nb_statedb_op_del(st->db, e->seq);
		nb_status_remove_entry(st, e);
	}
	if (on_server && !nb_status_append(st, rmdir ? NB_KIND_RMDIR : NB_KIND_UNLINK, path, NULL, &r))
		nb_err("%s: cannot queue the removal: %s", path, nb_strerror(r));
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
	return r;
}

int nb_status_rename(struct nb_status *st, const char *from, const char *to, int from_on_server)
{
	int r = 0;
	int never = from_on_server < 0; /* the caller knows better */
	if (never)
		from_on_server = 0;
	size_t flen = strlen(from);
	pthread_mutex_lock(&st->lock);
	/* As in nb_status_remove: a creation that finished after the caller
	 * looked is on the server now. */
	if (!never)
		from_on_server |= nb_status_synced_locked(st, from);
	/* What was pending at the destination is replaced; a doubt about
	 * what the server holds at `to` itself stays for what replaces it. */
	int carry = 0;
	struct nb_synced doubt;
	for (struct nb_entry *e = st->head, *next; e; e = next) {
		next = e->next;
		if (!nb_kind_is_barrier(e->kind) && nb_path_is_within(e->path, to) &&
		    !nb_path_is_within(e->path, from)) {
			if (e->has_doubt && strcmp(e->path, to) == 0) {
				doubt = e->doubt;
				carry = 1;
			}
			nb_statedb_op_del(st->db, e->seq);
			nb_status_remove_entry(st, e);
		}
	}
	/* Collect the creations to move before anything is appended. */
	size_t n = 0, cap = 0;
	struct nb_entry **move = NULL;
	for (struct nb_entry *e = st->head; e; e = e->next) {
		if (nb_kind_is_barrier(e->kind) || !nb_path_is_within(e->path, from))
			continue;
		from_on_server |= !never && (e->state == NB_STATE_UPLOADING || e->has_doubt);
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			struct nb_entry **m = realloc(move, cap * sizeof(*m));
			if (!m) {
				r = -ENOMEM;
				goto out;
			}
			move = m;
		}
		move[n++] = e;
	}
	if (from_on_server && !nb_status_append(st, NB_KIND_RENAME, to, from, &r))
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct nb_entry *e = move[i];
		size_t tlen = strlen(to), rest = strlen(e->path) - flen;
		char *np = malloc(tlen + rest + 1);
		int64_t seq;
		if (!np) {
			r = -ENOMEM;
			goto out;
		}
		memcpy(np, to, tlen);
		memcpy(np + tlen, e->path + flen, rest + 1);
		if ((r = nb_statedb_op_move(st->db, e->seq, np, &seq)) != 0) {
			free(np);
			goto out;
		}
		nb_status_hash_del(st, e);
		nb_status_unlink_list(st, e);
		free(e->path);
		e->path = np;
		e->seq = seq;
		/* An upload in flight under the old name stops at its next
		 * step; the partial it leaves is reused under the new one. */
		e->gen = ++st->next_gen;
		e->hashing = 0; /* a hash in progress is for the old name */
		if (e->state == NB_STATE_UPLOADING)
			e->state = NB_STATE_PENDING;
		nb_status_hash_add(st, e);
		nb_status_link_tail(st, e);
		if (carry && strcmp(e->path, to) == 0) {
			e->doubt = doubt;
			e->has_doubt = 1;
		}
	}
out:
	free(move);
	if (r != 0)
		nb_err("rename %s -> %s: cannot queue: %s", from, to, nb_strerror(r));
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
	return r;
}

int nb_status_resolve(struct nb_status *st, const char *path, char *out, size_t outsz)
{
	char cur[NB_PATH_MAX + 1], tmp[NB_PATH_MAX + 1];
	size_t n = strlen(path);
	if (n > NB_PATH_MAX || n >= outsz)
		return -ENAMETOOLONG;
	memcpy(cur, path, n + 1);
	int r = 0;
	pthread_mutex_lock(&st->lock);
	/* Walk back in time: the newest barrier that touches the path
	 * decides where it came from. */
	for (struct nb_entry *e = st->tail; e && r == 0; e = e->prev) {
		if (!nb_kind_is_barrier(e->kind))
			continue;
		if (e->kind == NB_KIND_RENAME && nb_path_is_within(cur, e->path)) {
			size_t tl = strlen(e->path), fl = strlen(e->path2), rest = strlen(cur) - tl;
			if (fl + rest > NB_PATH_MAX) {
				r = -ENAMETOOLONG;
				break;
			}
			memcpy(tmp, e->path2, fl);
			memcpy(tmp + fl, cur + tl, rest + 1);
			memcpy(cur, tmp, fl + rest + 1);
		} else if (nb_path_is_within(cur, e->kind == NB_KIND_RENAME ? e->path2 : e->path)) {
			r = -ENOENT;
		}
	}
	pthread_mutex_unlock(&st->lock);
	if (r == 0) {
		if (strlen(cur) >= outsz)
			return -ENAMETOOLONG;
		memcpy(out, cur, strlen(cur) + 1);
	}
	return r;
}

void nb_status_renamed_into(struct nb_status *st, const char *dir,
			    void (*fn)(void *arg, const char *name), void *arg)
{
	size_t dl = strlen(dir), n = 0, cap = 0;
	char **names = NULL;
	pthread_mutex_lock(&st->lock);
	for (struct nb_entry *e = st->head; e; e = e->next) {
		if (e->kind != NB_KIND_RENAME || nb_path_parent_len(e->path) != dl ||
		    strncmp(e->path, dir, dl) != 0)
			continue;
		if (n == cap) {
			size_t c2 = cap ? cap * 2 : 8;
			char **v = realloc(names, c2 * sizeof(*v));
			if (!v)
				break;
			names = v;
			cap = c2;
		}
		if (!(names[n] = strdup(dl ? e->path + dl + 1 : e->path)))
			break;
		n++;
	}
	pthread_mutex_unlock(&st->lock);
	/* fn runs without the lock: it may well look things up here. */
	for (size_t i = 0; i < n; i++) {
		fn(arg, names[i]);
		free(names[i]);
	}
	free(names);
}

int nb_status_evict(struct nb_status *st, const char *path,
		    int (*remove)(void *arg, const char *path), void *arg)
{
	int r = 0;
	pthread_mutex_lock(&st->lock);
	if (nb_status_find(st, path)) {
		r = -EBUSY;
	} else {
		for (struct nb_entry *e = st->head; e && r == 0; e = e->next)
			if (nb_kind_is_barrier(e->kind) && nb_entry_overlaps(e, path))
				r = -EBUSY;
	}
	if (r == 0)
		r = remove(arg, path);
	pthread_mutex_unlock(&st->lock);
	return r;
}

void nb_status_set_base(struct nb_status *st, const char *path, uint64_t size, int64_t mtime_s,
			uint32_t mtime_ns)
{
	struct nb_synced rec;
	if (nb_statedb_get_synced(st->db, path, &rec) == 0)
		return;
	/* Local size/mtime unknown (never matches a staged file): the path
	 * stays queued; only the server's version is on record. */
	memset(&rec, 0, sizeof(rec));
	rec.kind = NB_KIND_FILE;
	rec.mtime_ns = -1;
	rec.has_remote = 1;
	rec.rsize = size;
	rec.rmtime_s = mtime_s;
	rec.rmtime_ns = mtime_ns;
	nb_statedb_set_synced(st->db, -1, path, &rec);
}
