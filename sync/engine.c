#include "sync/engine.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sync/download.h"
#include "wire/err.h"
#include "sync/hasher.h"
#include "wire/log.h"
#include "wire/pathname.h"
#include "sync/remote.h"
#include "sync/upload.h"
#include "wire/xio.h"

#define NB_BACKOFF_MIN_MS 500
#define NB_BACKOFF_MAX_MS 30000
/* Idle connections send a keepalive this often. */
#define NB_KEEPALIVE_MS 5000

enum nb_request_kind { NB_REQ_LIST, NB_REQ_FETCH };

/* A request from a FUSE thread, answered through its callback on the
 * sync thread. */
struct nb_request {
	int kind;
	char *path;  /* LIST: the directory; FETCH: the remote path */
	char *local; /* FETCH: where it goes */
	nb_list_done_fn list_done;
	nb_fetch_done_fn fetch_done;
	void *arg;
	struct nb_dirents ents;
	size_t cap;
	struct nb_request *next;
};

struct nb_engine {
	struct nb_engine_config cfg;
	struct nb_status *st;
	pthread_t thread;
	pthread_mutex_t lock; /* requests, stop flag, connection flag */
	struct nb_request *reqs, *reqs_tail;
	int stop;
	volatile int stop_flag; /* stop, readable without the lock */
	int connected;
	int first_attempt; /* the first connection is being made: requests may wait for it */
	struct nb_remote *remote; /* owned by the sync thread */
	long backoff_ms;
	long long last_keepalive_ms;
};

int nb_engine_is_fatal(int r)
{
	return r == NB_E_HOSTKEY || r == NB_E_AUTH || r == NB_E_VERSION || r == NB_E_CONFIG ||
	       r == -ENOENT || r == -ENOTDIR || r == -EACCES || r == -EPERM;
}

static int nb_engine_connect(const struct nb_engine_config *cfg, struct nb_remote **out, char *why,
			     size_t whysz)
{
	struct nb_transport *t;
	why[0] = 0;
	int r = cfg->connect(cfg->connect_arg, &t, why, whysz);
	if (r != 0) {
		if (!why[0])
			snprintf(why, whysz, "%s", nb_strerror(r));
		return r;
	}
	char errtext[NB_ERRTEXT_MAX + 1];
	r = nb_remote_open(t, out, errtext, sizeof(errtext));
	if (r != 0) {
		if (r == NB_E_EOF)
			snprintf(why, whysz,
				 "the server command '%s' ended without answering: is nbfs-server "
				 "installed on the remote host (or set -o server=PATH)?",
				 cfg->server_cmd ? cfg->server_cmd : "nbfs-server");
		else
			snprintf(why, whysz, "server: %s", errtext);
	}
	return r;
}

int nb_engine_probe(const struct nb_engine_config *cfg, char *why, size_t whysz)
{
	struct nb_remote *r = NULL;
	int e = nb_engine_connect(cfg, &r, why, whysz);
	if (e == 0) {
		struct nb_attr a;
		e = nb_remote_stat(r, "", &a);
		if (e == 0)
			nb_attr_free(&a);
		if (e != 0)
			snprintf(why, whysz, "remote directory %s: %s", cfg->remote_dir,
				 nb_remote_errtext(r));
		nb_remote_close(r);
	}
	return e;
}

/* ---- requests from FUSE threads ---- */

static void nb_request_free(struct nb_request *q)
{
	free(q->path);
	free(q->local);
	nb_proto_dirents_free(&q->ents);
	free(q);
}

static int nb_request_add(void *arg, const char *name, const struct nb_attr *a)
{
	struct nb_request *q = arg;
	if (q->ents.count == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 64;
		struct nb_dirent *n = realloc(q->ents.ents, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		q->ents.ents = n;
		q->cap = cap;
	}
	struct nb_dirent *d = &q->ents.ents[q->ents.count];
	d->attr = *a;
	d->attr.link = NULL;
	if (!(d->name = strdup(name)) || (a->link && !(d->attr.link = strdup(a->link)))) {
		free(d->name);
		return -ENOMEM;
	}
	q->ents.count++;
	return 0;
}

static int nb_engine_online(struct nb_engine *e)
{
	return e->remote && !nb_remote_broken(e->remote);
}

static void nb_engine_run_fetch(struct nb_engine *e, struct nb_request *q)
{
	if (!nb_engine_online(e)) {
		q->fetch_done(q->arg, NB_E_OFFLINE);
		return;
	}
	struct nb_download d = {
		.remote_path = q->path,
		.local_path = q->local,
		.fetch_dirfd = e->cfg.fetch_dirfd,
		.stage_fd = e->cfg.stage_fd,
		.db = e->cfg.db,
	};
	struct nb_download_stats stats;
	long long t0 = nb_xio_now_ms();
	int r = nb_download_run(e->remote, &d, &stats);
	if (r == 0)
		nb_info("%s: fetched (resumed at %llu, received %llu, %lld ms)", q->path,
			(unsigned long long)stats.resumed_at, (unsigned long long)stats.received,
			nb_xio_now_ms() - t0);
	else
		nb_warn("%s: fetch failed: %s%s%s", q->path, nb_strerror(r),
			nb_remote_errtext(e->remote)[0] ? ": " : "", nb_remote_errtext(e->remote));
	q->fetch_done(q->arg, r);
}

/* Serve the queued requests (sync thread). Without a connection they
 * fail at once. Fetches only when allowed (not in the middle of an
 * upload, whose session cannot carry a download); they stay queued. */
static void nb_engine_serve(struct nb_engine *e, int allow_fetch)
{
	pthread_mutex_lock(&e->lock);
	struct nb_request *q = e->reqs, *keep = NULL, *keep_last = NULL;
	e->reqs = e->reqs_tail = NULL;
	pthread_mutex_unlock(&e->lock);
	while (q) {
		struct nb_request *next = q->next;
		q->next = NULL;
		if (q->kind == NB_REQ_FETCH && !allow_fetch && nb_engine_online(e)) {
			if (keep_last)
				keep_last->next = q;
			else
				keep = q;
			keep_last = q;
		} else if (q->kind == NB_REQ_FETCH) {
			nb_engine_run_fetch(e, q);
			nb_request_free(q);
		} else {
			int r = NB_E_OFFLINE;
			if (nb_engine_online(e))
				r = nb_remote_list(e->remote, q->path, nb_request_add, q);
			nb_debug("list '%s': %s, %u entries", q->path, nb_strerror(r), q->ents.count);
			q->list_done(q->arg, q->path, r, &q->ents);
			nb_request_free(q);
		}
		q = next;
	}
	if (keep) {
		/* Back in front, ahead of what arrived meanwhile. */
		pthread_mutex_lock(&e->lock);
		keep_last->next = e->reqs;
		e->reqs = keep;
		if (!e->reqs_tail)
			e->reqs_tail = keep_last;
		pthread_mutex_unlock(&e->lock);
	}
}

static int nb_engine_queue(struct nb_engine *e, struct nb_request *q)
{
	pthread_mutex_lock(&e->lock);
	if ((!e->connected && !e->first_attempt) || e->stop) {
		pthread_mutex_unlock(&e->lock);
		nb_request_free(q);
		return NB_E_OFFLINE;
	}
	if (e->reqs_tail)
		e->reqs_tail->next = q;
	else
		e->reqs = q;
	e->reqs_tail = q;
	pthread_mutex_unlock(&e->lock);
	nb_status_wake(e->st);
	return 0;
}

int nb_engine_list_async(struct nb_engine *e, const char *path, nb_list_done_fn done, void *arg)
{
	struct nb_request *q = calloc(1, sizeof(*q));
	if (!q || !(q->path = strdup(path))) {
		free(q);
		return -ENOMEM;
	}
	q->kind = NB_REQ_LIST;
	q->list_done = done;
	q->arg = arg;
	return nb_engine_queue(e, q);
}

int nb_engine_fetch_async(struct nb_engine *e, const char *remote_path, const char *local_path,
			  nb_fetch_done_fn done, void *arg)
{
	struct nb_request *q = calloc(1, sizeof(*q));
	if (!q || !(q->path = strdup(remote_path)) || !(q->local = strdup(local_path))) {
		if (q)
			free(q->path);
		free(q);
		return -ENOMEM;
	}
	q->kind = NB_REQ_FETCH;
	q->fetch_done = done;
	q->arg = arg;
	return nb_engine_queue(e, q);
}

/* ---- jobs ---- */

struct nb_upload_ctx {
	struct nb_engine *e;
	const struct nb_job *job;
};

static int nb_engine_stopping(struct nb_engine *e)
{
	return e->stop_flag;
}

static int nb_engine_changed_cb(void *arg)
{
	struct nb_upload_ctx *c = arg;
	if (nb_engine_stopping(c->e))
		return NB_UPLOAD_CANCEL;
	return nb_status_changed(c->e->st, c->job->path, c->job->gen) ? NB_UPLOAD_CHANGED : 0;
}

static void nb_engine_progress_cb(void *arg, uint64_t done, uint64_t total)
{
	struct nb_upload_ctx *c = arg;
	nb_status_progress(c->e->st, c->job->path, done, total);
}

static void nb_engine_idle_cb(void *arg, struct nb_remote *r)
{
	struct nb_upload_ctx *c = arg;
	(void)r;
	nb_engine_serve(c->e, 0);
}

static void nb_engine_serve_cb(void *arg)
{
	nb_engine_serve(arg, 0);
}

static void nb_engine_notify(struct nb_engine *e, const struct nb_job *job)
{
	if (e->cfg.on_remote)
		e->cfg.on_remote(e->cfg.on_remote_arg, job);
}

/* "dir/name.ext" -> "dir/name.conflict-20261126-061500-host.ext": a clear
 * name beside the original, kept out of the way of the extension. */
static int nb_engine_conflict_name(const char *path, char *out, size_t outsz)
{
	char host[64] = "local", stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	gethostname(host, sizeof(host) - 1);
	host[strcspn(host, "./")] = 0;
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	size_t plen = nb_path_parent_len(path);
	const char *base = plen ? path + plen + 1 : path;
	const char *dot = strrchr(base, '.');
	if (!dot || dot == base) /* no extension, or a dot file */
		dot = base + strlen(base);
	int n = snprintf(out, outsz, "%.*s.conflict-%s-%s%s", (int)(dot - path), path, stamp, host, dot);
	if (n < 0 || (size_t)n >= outsz)
		return -ENAMETOOLONG;
	return nb_path_check(out);
}

/* The server's copy changed since ours was based on it: keep theirs at
 * the path, publish ours beside it (same content, so the partial on the
 * server is reused), and let the user see both. */
static int nb_engine_conflict(struct nb_engine *e, const struct nb_job *job)
{
	char name[NB_PATH_MAX + 1];
	int r = nb_engine_conflict_name(job->path, name, sizeof(name));
	if (r != 0)
		return r;
	if (renameat2(e->cfg.stage_fd, job->path, e->cfg.stage_fd, name, RENAME_NOREPLACE) != 0)
		return -errno;
	if ((r = nb_status_rename(e->st, job->path, name, -1)) != 0)
		return r;
	nb_statedb_conflict_set(e->cfg.db, name);
	/* The staged copy is gone from the path: forget what we knew the
	 * server held there, so the server's version shows. */
	nb_statedb_del_synced(e->cfg.db, -1, job->path);
	nb_warn("%s: changed on the server too; your version is kept as %s", job->path, name);
	struct nb_job c = *job;
	c.path2 = name;
	nb_engine_notify(e, &c);
	return 0;
}

/* An earlier upload of path lost its answer with the link. Ask the server
 * what it holds: if it is that version (our size and mtime, which the
 * server applies when it publishes), that version is the synced base of
 * the next upload; otherwise the base on record stands. Without this, a
 * version changed meanwhile would look like a conflict with ourselves. */
static int nb_engine_settle_doubt(struct nb_engine *e, const char *path, const struct nb_synced *v)
{
	struct nb_attr a;
	int r = nb_remote_stat(e->remote, path, &a);
	if (r != 0 && nb_remote_broken(e->remote))
		return r; /* still unknown: ask again on the next attempt */
	if (r == 0 && S_ISREG(a.mode) && a.size == v->rsize && a.mtime_s == v->rmtime_s &&
	    a.mtime_ns == v->rmtime_ns) {
		nb_info("%s: the upload cut off before its answer had been published", path);
		r = nb_statedb_set_synced(e->cfg.db, -1, path, v);
		if (r != 0)
			return r;
	}
	if (r == 0)
		nb_attr_free(&a);
	nb_status_clear_doubt(e->st, path);
	return 0;
}

static int nb_engine_run_file(struct nb_engine *e, const struct nb_job *job, char *err, size_t errsz)
{
	int fd = nb_xio_open_quiet(e->cfg.stage_fd, job->path);
	if (fd < 0) {
		snprintf(err, errsz, "staged copy: %s", strerror(-fd));
		return fd;
	}
	struct stat st;
	struct nb_synced base;
	int r = 0;
	if (fstat(fd, &st) != 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		snprintf(err, errsz, "not a regular file");
		goto out;
	}
	struct nb_upload u = {
		.path = job->path,
		.fd = fd,
		.size = (uint64_t)st.st_size,
		.mode = st.st_mode & 07777,
		.mtime_s = st.st_mtim.tv_sec,
		.mtime_ns = (uint32_t)st.st_mtim.tv_nsec,
		.base_kind = NB_BASE_ABSENT,
		.changed = nb_engine_changed_cb,
		.progress = nb_engine_progress_cb,
		.idle = nb_engine_idle_cb,
	};
	struct nb_synced doubt;
	if (nb_status_get_doubt(e->st, job->path, &doubt) &&
	    (r = nb_engine_settle_doubt(e, job->path, &doubt)) != 0)
		goto out;
	if (nb_statedb_get_synced(e->cfg.db, job->path, &base) == 0) {
		u.base_kind = base.has_remote ? NB_BASE_MATCH : NB_BASE_ANY;
		u.base_size = base.rsize;
		u.base_mtime_s = base.rmtime_s;
		u.base_mtime_ns = base.rmtime_ns;
	}
	struct nb_upload_ctx ctx = {e, job};
	u.arg = &ctx;
	long long t0 = nb_xio_now_ms();
	/* The hasher has usually done this while the file was quiet. */
	if (!nb_status_get_md5(e->st, job->path, job->gen, u.md5)) {
		r = nb_hasher_hash_fd(e->st, job->path, job->gen, fd, u.size, &e->stop_flag,
				      nb_engine_serve_cb, e, u.md5);
		if (r != 0)
			goto out;
		nb_status_set_md5(e->st, job->path, job->gen, u.md5);
	}
	long long t1 = nb_xio_now_ms();
	struct nb_upload_stats stats;
	struct nb_synced rec = {
		.kind = NB_KIND_FILE,
		.size = u.size,
		.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec,
		.has_md5 = 1,
		/* The server keeps our size and mtime: the base of the next
		 * upload. */
		.has_remote = 1,
		.rsize = u.size,
		.rmtime_s = u.mtime_s,
		.rmtime_ns = u.mtime_ns,
	};
	memcpy(rec.md5, u.md5, NB_MD5_LEN);
	r = nb_upload_run(e->remote, &u, &stats);
	if (r != 0 && stats.ended && nb_remote_broken(e->remote))
		nb_status_set_doubt(e->st, job, &rec);
	if (r == 0) {
		nb_info("%s: published (%llu bytes, resumed at %llu, sent %llu; hash %lld ms, "
			"upload %lld ms)",
			job->path, (unsigned long long)u.size, (unsigned long long)stats.resumed_at,
			(unsigned long long)stats.sent, t1 - t0, nb_xio_now_ms() - t1);
		nb_engine_notify(e, job);
		nb_status_done(e->st, job, &rec);
	} else if (r == -EEXIST && !nb_remote_broken(e->remote)) {
		nb_debug("%s: based on %s (%llu bytes, mtime %lld.%09u): the server's differs",
			 job->path, u.base_kind == NB_BASE_MATCH ? "a version" :
				    u.base_kind == NB_BASE_ANY ? "any version" : "no file",
			 (unsigned long long)u.base_size, (long long)u.base_mtime_s, u.base_mtime_ns);
		if ((r = nb_engine_conflict(e, job)) != 0)
			snprintf(err, errsz, "conflict with the server's version, and no conflict copy: %s",
				 nb_strerror(r));
	} else if (nb_remote_errtext(e->remote)[0] && !nb_remote_broken(e->remote)) {
		snprintf(err, errsz, "server: %s", nb_remote_errtext(e->remote));
	}
out:
	nb_xio_close(fd);
	return r;
}

/* Directories, symlinks, removals and renames: one request each. */
static int nb_engine_run_simple(struct nb_engine *e, const struct nb_job *job, char *err,
				size_t errsz)
{
	struct nb_synced rec = {.kind = job->kind};
	struct stat st;
	char target[NB_PATH_MAX + 1];
	int r;
	switch (job->kind) {
	case NB_KIND_DIR:
		if (fstatat(e->cfg.stage_fd, job->path, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			snprintf(err, errsz, "staged directory: %s", strerror(errno));
			return -errno;
		}
		r = nb_remote_mkdir(e->remote, job->path, st.st_mode & 07777);
		break;
	case NB_KIND_SYMLINK: {
		ssize_t n = readlinkat(e->cfg.stage_fd, job->path, target, sizeof(target) - 1);
		if (n < 0) {
			snprintf(err, errsz, "staged symlink: %s", strerror(errno));
			return -errno;
		}
		target[n] = 0;
		r = nb_remote_symlink(e->remote, job->path, target);
		break;
	}
	case NB_KIND_UNLINK:
	case NB_KIND_RMDIR:
		r = nb_remote_remove(e->remote, job->kind == NB_KIND_RMDIR ? NB_MSG_RMDIR : NB_MSG_UNLINK,
				     job->path);
		if (r == -ENOENT) /* gone already (a replay after a crash) */
			r = 0;
		break;
	case NB_KIND_RENAME:
		r = nb_remote_rename(e->remote, job->path2, job->path);
		if (r == -ENOENT) {
			/* Moved already (a replay after a lost answer), or never
			 * there (an upload cancelled by this very rename). */
			nb_engine_notify(e, job);
			nb_status_done_absent(e->st, job);
			return 0;
		}
		break;
	default:
		snprintf(err, errsz, "unknown operation %d", job->kind);
		return -EINVAL;
	}
	if (r == 0) {
		nb_engine_notify(e, job);
		nb_status_done(e->st, job, &rec);
	} else if (!nb_remote_broken(e->remote)) {
		snprintf(err, errsz, "server: %s", nb_remote_errtext(e->remote));
	}
	return r;
}

static void nb_engine_disconnect(struct nb_engine *e, const char *why)
{
	nb_remote_close(e->remote);
	e->remote = NULL;
	pthread_mutex_lock(&e->lock);
	e->connected = 0;
	pthread_mutex_unlock(&e->lock);
	nb_status_set_link(e->st, 0, why);
	nb_engine_serve(e, 1); /* fail whatever is queued */
}

static long nb_engine_retry_ms(int r)
{
	/* Server-side trouble (full disk, permissions) is not cured in
	 * milliseconds; do not spin. */
	return r == -EBUSY ? 2000 : 15000;
}

static void nb_engine_run_job(struct nb_engine *e, struct nb_job *job)
{
	char err[512] = "";
	int r = job->kind == NB_KIND_FILE ? nb_engine_run_file(e, job, err, sizeof(err))
					  : nb_engine_run_simple(e, job, err, sizeof(err));
	if (r == 0)
		return;
	if (r == -ENOENT && strncmp(err, "staged", 6) == 0) {
		/* Gone locally before we got to it: nothing to send (unless
		 * a new file took its place meanwhile). */
		nb_status_drop_job(e->st, job);
		return;
	}
	if (r == NB_E_CHANGED || r == -ECANCELED) {
		if (r == NB_E_CHANGED)
			nb_info("%s: changed during upload; it goes again with the new content", job->path);
		nb_status_fail(e->st, job, NB_STATE_PENDING, NULL, 0);
		return;
	}
	if (!nb_engine_online(e)) {
		char why[512];
		snprintf(why, sizeof(why), "connection lost: %s", nb_strerror(r));
		nb_warn("%s: %s", job->path, why);
		nb_status_fail(e->st, job, NB_STATE_PENDING, why, 0);
		nb_engine_disconnect(e, why);
		return;
	}
	if (!err[0])
		snprintf(err, sizeof(err), "%s", nb_strerror(r));
	int state = r == -EBUSY ? NB_STATE_PENDING : NB_STATE_ERROR;
	nb_warn("%s: %s", job->path, err);
	nb_status_fail(e->st, job, state, err, nb_engine_retry_ms(r));
}

/* Sleep ms (a backoff), waking early only to stop. The status condition
 * is broadcast on every local change, so one wait is not enough; and the
 * stop flag is set outside its lock, so the slices stay short. */
static void nb_engine_sleep(struct nb_engine *e, long ms)
{
	long long deadline = nb_xio_now_ms() + ms;
	long long left;
	while (!nb_engine_stopping(e) && (left = deadline - nb_xio_now_ms()) > 0)
		nb_status_wait(e->st, left < 250 ? left : 250);
}

static void *nb_engine_main(void *arg)
{
	struct nb_engine *e = arg;
	char why[1024];
	while (!nb_engine_stopping(e)) {
		if (!e->remote) {
			int r = nb_engine_connect(&e->cfg, &e->remote, why, sizeof(why));
			pthread_mutex_lock(&e->lock);
			e->first_attempt = 0;
			e->connected = r == 0;
			pthread_mutex_unlock(&e->lock);
			if (r != 0) {
				e->remote = NULL;
				nb_warn("offline: %s (retrying in %ld ms)", why, e->backoff_ms);
				nb_status_set_link(e->st, 0, why);
				nb_engine_serve(e, 1);
				nb_engine_sleep(e, e->backoff_ms);
				e->backoff_ms = e->backoff_ms * 2 > NB_BACKOFF_MAX_MS ? NB_BACKOFF_MAX_MS
										       : e->backoff_ms * 2;
				continue;
			}
			e->backoff_ms = NB_BACKOFF_MIN_MS;
			nb_status_set_link(e->st, 1, "");
			nb_info("connected");
		}
		/* Someone is waiting on a read: that goes first. */
		nb_engine_serve(e, 1);
		if (!nb_engine_online(e)) {
			nb_engine_disconnect(e, "connection lost");
			continue;
		}
		struct nb_job job;
		long wait_ms;
		if (nb_status_next_job(e->st, &job, &wait_ms)) {
			nb_engine_run_job(e, &job);
			nb_job_free(&job);
			continue;
		}
		/* Woken early by new work; at most a second late to stop. */
		if (wait_ms < 0 || wait_ms > 1000)
			wait_ms = 1000;
		nb_status_wait(e->st, wait_ms);
		if (nb_xio_now_ms() - e->last_keepalive_ms >= NB_KEEPALIVE_MS) {
			e->last_keepalive_ms = nb_xio_now_ms();
			if (nb_remote_keepalive(e->remote) != 0)
				nb_engine_disconnect(e, "connection lost while idle");
		}
	}
	if (e->remote)
		nb_engine_disconnect(e, "stopped");
	return NULL;
}

int nb_engine_start(const struct nb_engine_config *cfg, struct nb_status *st,
		    struct nb_engine **out)
{
	struct nb_engine *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->cfg = *cfg;
	e->st = st;
	e->backoff_ms = NB_BACKOFF_MIN_MS;
	e->first_attempt = 1;
	pthread_mutex_init(&e->lock, NULL);
	int r = pthread_create(&e->thread, NULL, nb_engine_main, e);
	if (r != 0) {
		pthread_mutex_destroy(&e->lock);
		free(e);
		return -r;
	}
	*out = e;
	return 0;
}

void nb_engine_stop(struct nb_engine *e)
{
	if (!e)
		return;
	pthread_mutex_lock(&e->lock);
	e->stop = 1;
	e->stop_flag = 1;
	pthread_mutex_unlock(&e->lock);
	nb_status_wake(e->st);
	pthread_join(e->thread, NULL);
	nb_engine_serve(e, 1); /* answer requests that raced with the stop */
	pthread_mutex_destroy(&e->lock);
	free(e);
}
