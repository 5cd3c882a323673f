/*
 * What happened locally, as the FUSE threads report it: changes,
 * writers, removals and renames become queue entries, durably, before
 * the call returns (a new file's upload later: see queue.h); conflict
 * marks are dropped once the user touches a conflict copy; the cache
 * asks here what it may evict.
 */
#include "sync/queue_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wire/err.h"
#include "wire/log.h"
#include "wire/pathname.h"
#include "wire/proto.h" /* NB_SMALL_MAX */
#include "wire/xio.h"

/* The user changed, moved or removed path: a conflict copy there (or
 * below) is an ordinary file now. */
static void nb_q_unmark_conflict(struct nb_queue *q, const char *path)
{
	if (q->conflict_marks <= 0)
		return;
	int r = nb_statedb_conflict_del(q->db, path);
	if (r != 0)
		nb_warn("%s: cannot clear its conflict mark: %s", path, nb_strerror(r));
	int n = nb_statedb_conflict_count(q->db);
	q->conflict_marks = n < 0 ? 1 : n; /* unknown: keep looking */
}

/* content: the content may have changed (else only the mode or times:
 * the MD5, and an upload's partial, stay good). defer: a new entry may
 * wait to be put on record (a new file's; see queue.h). *created: a new
 * entry. */
static struct nb_entry *nb_q_touch(struct nb_queue *q, const char *path, int kind, int content,
				   int defer, int *created, int *err)
{
	struct nb_entry *e = nb_q_find(q, path);
	*err = 0;
	*created = 0;
	if (e && e->kind != kind) {
		/* A file became a directory or a symlink (or back): the old
		 * creation is void, the new one queues behind what came since. */
		nb_q_drop(q, e);
		e = NULL;
	}
	if (!e) {
		/* Durable first: the change is on record before we return
		 * (unless deferred). */
		if (!(e = nb_q_append(q, kind, path, NULL, defer, err)))
			return NULL;
		*created = 1;
	} else if (e->state == NB_STATE_ERROR) {
		/* A new version deserves a fresh attempt. */
		e->state = NB_STATE_PENDING;
		e->retry_ms = 0;
	}
	e->gen = ++q->next_gen;
	if (content || *created) {
		e->cgen = e->gen;
		e->has_md5 = 0;
		e->hash_skip = 0;
		e->followed = 0;
		e->stream_off = 0;
	}
	e->changed_ms = nb_xio_now_ms();
	e->quick = 0;
	nb_q_unmark_conflict(q, path);
	return e;
}

static int nb_queue_touch_as(struct nb_queue *q, const char *path, int kind, int content)
{
	int r, created;
	pthread_mutex_lock(&q->lock);
	struct nb_entry *e = nb_q_touch(q, path, kind, content, 0, &created, &r);
	if (e) {
		nb_q_update(q, e);
		pthread_cond_broadcast(&q->cond);
	}
	nb_q_unlock(q);
	return r;
}

int nb_queue_touch(struct nb_queue *q, const char *path, int kind)
{
	return nb_queue_touch_as(q, path, kind, 1);
}

int nb_queue_touch_meta(struct nb_queue *q, const char *path, int kind)
{
	return nb_queue_touch_as(q, path, kind, 0);
}

int nb_queue_writer_open(struct nb_queue *q, const char *path, int fresh, uint64_t *id)
{
	int r, created;
	pthread_mutex_lock(&q->lock);
	/* A new file's entry goes on record with its first request: cp of
	 * many small files waits for no database write per file. A crash
	 * before that forgets nothing the scan does not find (queue.h). */
	struct nb_entry *e = nb_q_touch(q, path, NB_KIND_FILE, 1, fresh, &created, &r);
	if (e) {
		/* A new file and its one writer: whole when it closes. */
		e->quick = created && fresh;
		e->writers++;
		*id = e->id;
		nb_q_update(q, e);
	}
	nb_q_unlock(q);
	return r;
}

void nb_queue_writer_close(struct nb_queue *q, uint64_t id, int64_t size)
{
	pthread_mutex_lock(&q->lock);
	/* Gone: the file was removed (and its entry with it) while open. */
	struct nb_entry *e = nb_q_by_id(q, id);
	if (e) {
		if (e->writers > 0)
			e->writers--;
		/* Small: the hasher would only open it to say so, while the
		 * sync thread waits for it to finish. */
		if (e->writers == 0 && size >= 0 && size <= NB_SMALL_MAX && !e->has_md5)
			e->hash_skip = 1;
		e->changed_ms = nb_xio_now_ms();
		nb_q_update(q, e);
		pthread_cond_broadcast(&q->cond); /* the sync thread (the hasher: nb_q_unlock) */
	}
	nb_q_unlock(q);
}

int nb_queue_remove(struct nb_queue *q, const char *path, int rmdir, int on_server)
{
	return nb_queue_remove_staged(q, path, rmdir, on_server, NULL, NULL);
}

int nb_queue_remove_staged(struct nb_queue *q, const char *path, int rmdir, int on_server,
			   nb_queue_stage_fn stage, void *arg)
{
	int r = 0;
	pthread_mutex_lock(&q->lock);
	/* The staged tree and the records change in one step for the sync
	 * thread: a job never finds the staged copy gone while its entry
	 * still says it is there (it would drop it). */
	if (stage && (r = stage(arg)) != 0) {
		nb_q_unlock(q);
		return r;
	}
	struct nb_entry *e = nb_q_find(q, path);
	/* The caller looked before taking the lock: an upload that finished
	 * since then has put the path on the server after all; and a rename
	 * queued meanwhile may bring a server name here. */
	on_server |= nb_q_known(q, path);
	/* The doubts of an upload whose answer was lost (or is still out)
	 * go to the removal: the server may hold that version, newer than
	 * our record, and the removal must not take it for someone else's
	 * (sync/flight_unlink.c). */
	struct nb_synced doubt[2];
	int ndoubts = 0;
	if (e) {
		/* An upload in flight may publish before it notices: then the
		 * server holds the path after all. So may a request whose
		 * answer was lost. Regression: a MKDIR in flight when the
		 * link broke, then rmdir here: no RMDIR went, and the server
		 * kept the directory. */
		on_server |= nb_q_maybe_on_server(e);
		if (e->has_doubt)
			doubt[ndoubts++] = e->doubt;
		if (e->has_doubt && e->has_doubt2)
			doubt[ndoubts++] = e->doubt2;
		nb_q_drop(q, e);
	}
	if (!on_server)
		nb_debug("%s: removed; not on the server", path);
	struct nb_entry *ne = NULL;
	if (on_server && !(ne = nb_q_append(q, rmdir ? NB_KIND_RMDIR : NB_KIND_UNLINK, path, NULL,
					    0, &r)))
		nb_err("%s: cannot queue the removal: %s", path, nb_strerror(r));
	while (ne && ndoubts > 0)
		nb_q_set_doubt(q, ne, &doubt[--ndoubts]); /* the older first */
	nb_q_unmark_conflict(q, path);
	nb_q_pins_removed(q, path);
	pthread_cond_broadcast(&q->cond);
	nb_q_unlock(q);
	return r;
}

/* Creations at or below a path, collected from the path index. */
struct nb_q_found {
	struct nb_entry **v;
	size_t n, cap;
	int err;
};

static int nb_q_collect(void *arg, struct nb_pnode *n)
{
	struct nb_q_found *f = arg;
	struct nb_entry *e = ((struct nb_sched_item *)n->owner)->owner;
	if (nb_kind_is_barrier(e->kind))
		return 0;
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		struct nb_entry **v = realloc(f->v, cap * sizeof(*v));
		if (!v) {
			f->err = -ENOMEM;
			return 1;
		}
		f->v = v;
		f->cap = cap;
	}
	f->v[f->n++] = e;
	return 0;
}

static int nb_q_seq_cmp(const void *a, const void *b)
{
	const struct nb_entry *x = *(struct nb_entry *const *)a, *y = *(struct nb_entry *const *)b;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Creations at or below dir, in queue order. */
static int nb_q_creations_within(struct nb_queue *q, const char *dir, struct nb_q_found *f)
{
	memset(f, 0, sizeof(*f));
	nb_ptree_each_within(&q->sched.index, dir, nb_q_collect, f);
	if (f->n > 1)
		qsort(f->v, f->n, sizeof(*f->v), nb_q_seq_cmp);
	return f->err;
}

/* "to" + the part of path below from. NULL on ENOMEM. */
static char *nb_q_retarget(const char *path, const char *from, const char *to)
{
	size_t flen = strlen(from), tlen = strlen(to), rest = strlen(path) - flen;
	char *np = malloc(tlen + rest + 1);
	if (np) {
		memcpy(np, to, tlen);
		memcpy(np + tlen, path + flen, rest + 1);
	}
	return np;
}

int nb_q_rename(struct nb_queue *q, const char *from, const char *to, int from_on_server)
{
	struct nb_q_found at_to, at_from = {0};
	int r = 0;
	int never = from_on_server < 0; /* the caller knows better */
	if (never)
		from_on_server = 0;
	/* As in nb_queue_remove: a creation that finished after the caller
	 * looked is on the server now. */
	if (!never)
		from_on_server |= nb_q_known(q, from);
	/* What was pending at the destination is replaced; a doubt about
	 * what the server holds at `to` itself stays for what replaces it. */
	int carry = 0;
	struct nb_synced doubt[2];
	if ((r = nb_q_creations_within(q, to, &at_to)) != 0)
		goto out;
	for (size_t i = 0; i < at_to.n; i++) {
		struct nb_entry *e = at_to.v[i];
		if (nb_path_is_within(e->path, from))
			continue;
		if (e->has_doubt && strcmp(e->path, to) == 0) {
			doubt[carry++] = e->doubt;
			if (e->has_doubt2)
				doubt[carry++] = e->doubt2;
		}
		nb_q_drop(q, e);
	}
	/* The creations to move, found before anything is appended. */
	if ((r = nb_q_creations_within(q, from, &at_from)) != 0)
		goto out;
	for (size_t i = 0; i < at_from.n; i++)
		from_on_server |= !never && nb_q_maybe_on_server(at_from.v[i]);
	if (!from_on_server)
		nb_debug("%s: renamed to %s; not on the server", from, to);
	if (from_on_server && !nb_q_append(q, NB_KIND_RENAME, to, from, 0, &r))
		goto out;
	for (size_t i = 0; i < at_from.n; i++) {
		struct nb_entry *e = at_from.v[i];
		char *np = nb_q_retarget(e->path, from, to);
		nb_debug("%s: entry %llu moves to %s", e->path, (unsigned long long)e->id,
			 np ? np : "?");
		r = np ? nb_q_move(q, e, np) : -ENOMEM;
		free(np);
		if (r != 0)
			goto out;
		/* An upload in flight under the old name stops at its next
		 * step; the partial it leaves is reused under the new one (the
		 * content did not change: cgen stays). */
		e->gen = ++q->next_gen;
		/* A hash in progress goes on (the content is the same; the
		 * hasher's result is kept) and its end is reported by id. */
		if (e->state == NB_STATE_UPLOADING)
			e->state = NB_STATE_PENDING;
		if (carry && strcmp(e->path, to) == 0) {
			/* Its own doubt stays beside the carried one: once the
			 * server runs the RENAME it holds what the source held
			 * (perhaps our upload of it), and if the source is not
			 * there (never, or moved by an attempt whose answer was
			 * lost) what the destination held. Regression: the
			 * carried doubt replaced the entry's own, and its own
			 * published version, moved over, became a conflict. */
			if (!e->has_doubt && carry > 1)
				nb_q_set_doubt(q, e, &doubt[1]);
			nb_q_set_doubt(q, e, &doubt[0]);
		}
		nb_q_update(q, e);
	}
out:
	free(at_to.v);
	free(at_from.v);
	if (r != 0)
		nb_err("rename %s -> %s: cannot queue: %s", from, to, nb_strerror(r));
	if (!never) {
		nb_q_unmark_conflict(q, from);
		nb_q_unmark_conflict(q, to);
	}
	pthread_cond_broadcast(&q->cond);
	return r;
}

int nb_queue_rename(struct nb_queue *q, const char *from, const char *to, int from_on_server)
{
	return nb_queue_rename_staged(q, from, to, from_on_server, NULL, NULL);
}

int nb_queue_rename_staged(struct nb_queue *q, const char *from, const char *to,
			   int from_on_server, nb_queue_stage_fn stage, void *arg)
{
	pthread_mutex_lock(&q->lock);
	/* As in nb_queue_remove_staged: a job that found the staged file
	 * gone under its old name before the rename was recorded dropped
	 * it, and the file never reached the server under the new one. */
	int r = stage ? stage(arg) : 0;
	if (r != 0) {
		nb_q_unlock(q);
		return r;
	}
	r = nb_q_rename(q, from, to, from_on_server);
	/* A conflict copy (from_on_server < 0) leaves the pin where the
	 * server's version shows. */
	if (r == 0 && from_on_server >= 0)
		nb_q_pins_renamed(q, from, to);
	nb_q_unlock(q);
	return r;
}

int nb_q_renamed_here(struct nb_queue *q, const char *path)
{
	char rpath[NB_PATH_MAX + 1];
	int r = nb_q_resolve(q, path, rpath, sizeof(rpath));
	if (r == 0)
		return strcmp(rpath, path) != 0;
	if (r != -ENOENT)
		return 0;
	/* What a queued rename moves here is gone before it runs (an older
	 * operation moves or removes its source): the server answers ENOENT
	 * and the path keeps what it held, which an older rename may have
	 * brought. Regression: b/a/y moved to b/y, then a/c/y (moved away
	 * already) to b/y; b/y removed here sent no removal, and the first
	 * rename's file stayed on the server. */
	for (struct nb_entry *e = q->btail; e; e = e->bprev)
		if (e->kind == NB_KIND_RENAME && nb_path_is_within(path, e->path))
			return 1;
	return 0;
}

static int nb_q_is_barrier_below(void *arg, struct nb_pnode *n)
{
	return n->barrier && strcmp(n->path, arg) != 0;
}

/* A removal or rename is queued below path (either of a rename's
 * names): the server holds the directory path, or will once it runs,
 * since a RENAME makes the missing parents of its destination. The
 * directory's own creation may never be sent (moved or removed here
 * first), and nothing else of ours says the server holds it. */
static int nb_q_barrier_below(struct nb_queue *q, const char *path)
{
	return nb_ptree_each_within(&q->sched.index, path, nb_q_is_barrier_below, (void *)path);
}

int nb_q_known(struct nb_queue *q, const char *path)
{
	return nb_q_recorded(q, path) || nb_q_renamed_here(q, path) || nb_q_barrier_below(q, path);
}

int nb_queue_known_on_server(struct nb_queue *q, const char *path)
{
	pthread_mutex_lock(&q->lock);
	int known = nb_q_known(q, path);
	nb_q_unlock(q);
	return known;
}

void nb_queue_set_base(struct nb_queue *q, const char *path, uint64_t size, int64_t mtime_s,
		       uint32_t mtime_ns)
{
	/* Local size/mtime unknown (never matches a staged file): the path
	 * stays queued; only the server's version is on record. */
	struct nb_synced rec = {
		.kind = NB_KIND_FILE,
		.mtime_ns = -1,
		.has_remote = 1,
		.rsize = size,
		.rmtime_s = mtime_s,
		.rmtime_ns = mtime_ns,
	};
	pthread_mutex_lock(&q->lock);
	int r = nb_q_recorded(q, path) ? 0 : nb_statedb_set_synced(q->db, -1, path, &rec);
	nb_q_unlock(q);
	if (r != 0)
		nb_warn("%s: cannot record the server's version it replaces or removes (%s): its "
			"upload may be taken for a conflict, its removal removes whatever is there",
			path, nb_strerror(r));
}

void nb_queue_mirrored_dir(struct nb_queue *q, const char *path)
{
	struct nb_synced rec = {.kind = NB_KIND_DIR};
	int r = 0;
	pthread_mutex_lock(&q->lock);
	if (!nb_q_get(q, path))
		r = nb_statedb_set_synced(q->db, -1, path, &rec);
	nb_q_unlock(q);
	if (r != 0)
		nb_warn("%s: cannot record the mirrored directory (%s): it is created on the "
			"server again, harmlessly", path, nb_strerror(r));
}

int nb_queue_is_clean(struct nb_queue *q, const char *path, const struct stat *st)
{
	struct nb_synced rec;
	int64_t mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	pthread_mutex_lock(&q->lock);
	int clean = !nb_q_get(q, path) && nb_statedb_get_synced(q->db, path, &rec) == 0 &&
		    rec.kind == NB_KIND_FILE && rec.size == (uint64_t)st->st_size &&
		    rec.mtime_ns == mtime_ns && !nb_statedb_conflict_has(q->db, path) &&
		    !nb_pins_covers(&q->pins, path);
	nb_q_unlock(q);
	return clean;
}

int nb_queue_evict(struct nb_queue *q, const char *path,
		   int (*remove)(void *arg, const char *path), void *arg)
{
	pthread_mutex_lock(&q->lock);
	int r = nb_q_find(q, path) || nb_sched_first_overlap(&q->sched, path, 1) ||
			nb_pins_covers(&q->pins, path)
		? -EBUSY
		: remove(arg, path);
	nb_q_unlock(q);
	return r;
}
