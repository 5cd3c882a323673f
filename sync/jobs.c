#include "sync/jobs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sync/conflict.h"
#include "sync/hasher.h"
#include "sync/upload.h"
#include "wire/err.h"
#include "wire/log.h"
#include "wire/pathname.h"
#include "wire/xio.h"

struct nb_upload_ctx {
	const struct nb_jobs_ctx *c;
	const struct nb_job *job;
};

static void nb_jobs_notify(const struct nb_jobs_ctx *c, int what, int kind, const char *path,
			   const char *path2)
{
	struct nb_core_event ev = {.what = what, .kind = kind, .path = path, .path2 = path2};
	if (c->notify)
		c->notify(c->arg, &ev);
}

static enum nb_upload_check nb_jobs_changed_cb(void *arg)
{
	struct nb_upload_ctx *u = arg;
	if (u->c->stop && atomic_load(u->c->stop))
		return NB_UPLOAD_CANCEL;
	switch (nb_queue_changed(u->c->q, u->job)) {
	/* Renamed: stop, but keep the partial for the upload under the new
	 * name (same content, same MD5). */
	case NB_JOB_MOVED: return NB_UPLOAD_CANCEL;
	case NB_JOB_CHANGED: return NB_UPLOAD_CHANGED;
	default: return NB_UPLOAD_GO;
	}
}

static void nb_jobs_progress_cb(void *arg, uint64_t done, uint64_t total)
{
	struct nb_upload_ctx *u = arg;
	nb_queue_progress(u->c->q, u->job, done, total);
}

static void nb_jobs_idle_cb(void *arg, struct nb_remote *r)
{
	struct nb_upload_ctx *u = arg;
	(void)r;
	if (u->c->idle)
		u->c->idle(u->c->arg);
}

/* An earlier upload of path lost its answer with the link. Ask the server
 * what it holds: if it is that version (our size and mtime, which the
 * server applies when it publishes), that version is the base of the
 * next upload; otherwise the base on record stands. Without this, a
 * version changed meanwhile would look like a conflict with ourselves. */
static int nb_jobs_settle_doubt(const struct nb_jobs_ctx *c, const char *path,
				const struct nb_synced *v)
{
	struct nb_attr a;
	int r = nb_remote_stat(c->remote, path, &a);
	if (r != 0 && nb_remote_broken(c->remote))
		return r; /* still unknown: ask again on the next attempt */
	int held = r == 0 && S_ISREG(a.mode) && a.size == v->rsize && a.mtime_s == v->rmtime_s &&
		   a.mtime_ns == v->rmtime_ns;
	if (r == 0)
		nb_attr_free(&a);
	if (held)
		nb_info("%s: the upload cut off before its answer had been published", path);
	return nb_queue_settle_doubt(c->q, path, held ? v : NULL);
}

/* The base of the upload: the server version it replaces. */
static void nb_jobs_base(const struct nb_jobs_ctx *c, const char *path, struct nb_upload *u)
{
	struct nb_synced base;
	u->base_kind = NB_BASE_ABSENT;
	if (nb_queue_record(c->q, path, &base) != 0)
		return;
	u->base_kind = base.has_remote ? NB_BASE_MATCH : NB_BASE_ANY;
	u->base_size = base.rsize;
	u->base_mtime_s = base.rmtime_s;
	u->base_mtime_ns = base.rmtime_ns;
}

static void nb_jobs_file(const struct nb_jobs_ctx *c, const struct nb_job *job,
			 struct nb_job_result *res)
{
	struct stat st;
	struct nb_synced doubt;
	int r;
	int fd = nb_xio_open_quiet(c->stage_fd, job->path);
	if (fd < 0) {
		/* Gone locally before we got to it: nothing to send (unless a
		 * new file took its place meanwhile: the queue sees to that). */
		res->r = fd;
		res->out = fd == -ENOENT ? NB_OUT_GONE : NB_OUT_FAILED;
		snprintf(res->why, sizeof(res->why), "staged copy: %s", strerror(-fd));
		return;
	}
	if (fstat(fd, &st) != 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		snprintf(res->why, sizeof(res->why), "not a regular file");
		goto out;
	}
	struct nb_upload_ctx ctx = {c, job};
	struct nb_upload u = {
		.path = job->path,
		.fd = fd,
		.size = (uint64_t)st.st_size,
		.mode = st.st_mode & 07777,
		.mtime_s = st.st_mtim.tv_sec,
		.mtime_ns = (uint32_t)st.st_mtim.tv_nsec,
		.changed = nb_jobs_changed_cb,
		.progress = nb_jobs_progress_cb,
		.idle = nb_jobs_idle_cb,
		.arg = &ctx,
	};
	if (nb_queue_get_doubt(c->q, job->path, &doubt) &&
	    (r = nb_jobs_settle_doubt(c, job->path, &doubt)) != 0)
		goto out;
	nb_jobs_base(c, job->path, &u);
	long long t0 = nb_xio_now_ms();
	/* The hasher has usually done this while the file was quiet. */
	if (!nb_queue_get_md5(c->q, job, u.md5)) {
		r = nb_hasher_hash_fd(c->q, job, fd, u.size, c->stop, c->idle, c->arg, u.md5);
		if (r != 0)
			goto out;
		nb_queue_set_md5(c->q, job, u.md5);
	}
	long long t1 = nb_xio_now_ms();
	struct nb_upload_stats stats;
	/* The server keeps our size and mtime: they are the base of the
	 * next upload. */
	struct nb_synced rec = {
		.kind = NB_KIND_FILE,
		.size = u.size,
		.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec,
		.has_md5 = 1,
		.has_remote = 1,
		.rsize = u.size,
		.rmtime_s = u.mtime_s,
		.rmtime_ns = u.mtime_ns,
	};
	memcpy(rec.md5, u.md5, NB_MD5_LEN);
	/* In doubt, durably, until the answer: a link or an nbfs that dies
	 * after PUT_END (or after PUT_OPEN of content the server has) leaves
	 * the server holding rec unbeknown to us. */
	nb_queue_set_doubt(c->q, job, &rec);
	r = nb_upload_run(c->remote, &u, &stats);
	if (r != 0 && !stats.ended && !nb_remote_broken(c->remote))
		nb_queue_clear_doubt(c->q, job, &rec); /* refused or stopped: not published */
	if (r == 0) {
		nb_info("%s: published (%llu bytes, resumed at %llu, sent %llu; hash %lld ms, "
			"upload %lld ms)",
			job->path, (unsigned long long)u.size, (unsigned long long)stats.resumed_at,
			(unsigned long long)stats.sent, t1 - t0, nb_xio_now_ms() - t1);
		nb_jobs_notify(c, NB_EV_CREATED, job->kind, job->path, NULL);
		nb_queue_done(c->q, job, &rec);
	} else if (r == -EEXIST && !nb_remote_broken(c->remote)) {
		char copy[NB_PATH_MAX + 1];
		nb_debug("%s: based on %s (%llu bytes, mtime %lld.%09u): the server's differs",
			 job->path, u.base_kind == NB_BASE_MATCH ? "a version" :
				    u.base_kind == NB_BASE_ANY ? "any version" : "no file",
			 (unsigned long long)u.base_size, (long long)u.base_mtime_s, u.base_mtime_ns);
		if ((r = nb_conflict_keep_both(c->q, c->stage_fd, job, copy, sizeof(copy))) != 0)
			snprintf(res->why, sizeof(res->why),
				 "conflict with the server's version, and no conflict copy: %s",
				 nb_strerror(r));
		else
			nb_jobs_notify(c, NB_EV_CONFLICT, job->kind, job->path, copy);
	} else if (nb_remote_errtext(c->remote)[0] && !nb_remote_broken(c->remote)) {
		snprintf(res->why, sizeof(res->why), "server: %s", nb_remote_errtext(c->remote));
	}
out:
	nb_xio_close(fd);
	res->r = r;
	res->out = nb_retry_classify(r, nb_remote_broken(c->remote));
}

/* Directories, symlinks, removals and renames: one request each. */
static int nb_jobs_simple(const struct nb_jobs_ctx *c, const struct nb_job *job,
			  struct nb_job_result *res)
{
	struct nb_synced rec = {.kind = job->kind};
	struct stat st;
	char target[NB_PATH_MAX + 1];
	int r;
	switch (job->kind) {
	case NB_KIND_DIR:
		if (fstatat(c->stage_fd, job->path, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			r = -errno;
			snprintf(res->why, sizeof(res->why), "staged directory: %s", strerror(-r));
			res->out = r == -ENOENT ? NB_OUT_GONE : NB_OUT_FAILED;
			return r;
		}
		r = nb_remote_mkdir(c->remote, job->path, st.st_mode & 07777);
		break;
	case NB_KIND_SYMLINK: {
		ssize_t n = readlinkat(c->stage_fd, job->path, target, sizeof(target) - 1);
		if (n < 0) {
			r = -errno;
			snprintf(res->why, sizeof(res->why), "staged symlink: %s", strerror(-r));
			res->out = r == -ENOENT ? NB_OUT_GONE : NB_OUT_FAILED;
			return r;
		}
		target[n] = 0;
		r = nb_remote_symlink(c->remote, job->path, target);
		break;
	}
	case NB_KIND_UNLINK:
	case NB_KIND_RMDIR:
		r = nb_remote_remove(c->remote, job->kind == NB_KIND_RMDIR ? NB_MSG_RMDIR : NB_MSG_UNLINK,
				     job->path);
		if (r == -ENOENT) /* gone already (a replay after a crash) */
			r = 0;
		break;
	case NB_KIND_RENAME:
		r = nb_remote_rename(c->remote, job->path2, job->path);
		if (r == -ENOENT) {
			/* Moved already (a replay after a lost answer), or never
			 * there (an upload cancelled by this very rename). */
			nb_jobs_notify(c, NB_EV_MOVED, job->kind, job->path, job->path2);
			nb_queue_done_absent(c->q, job);
			return 0;
		}
		break;
	default:
		snprintf(res->why, sizeof(res->why), "unknown operation %d", job->kind);
		return -EINVAL;
	}
	if (r == 0) {
		int what = job->kind == NB_KIND_RENAME ? NB_EV_MOVED
			 : job->kind == NB_KIND_UNLINK || job->kind == NB_KIND_RMDIR ? NB_EV_REMOVED
										 : NB_EV_CREATED;
		nb_jobs_notify(c, what, job->kind, job->path, job->path2);
		nb_queue_done(c->q, job, &rec);
	} else if (!nb_remote_broken(c->remote)) {
		snprintf(res->why, sizeof(res->why), "server: %s", nb_remote_errtext(c->remote));
	}
	return r;
}

void nb_jobs_run(const struct nb_jobs_ctx *c, const struct nb_job *job, struct nb_job_result *res)
{
	memset(res, 0, sizeof(*res));
	res->out = NB_OUT_DONE;
	if (job->kind == NB_KIND_FILE) {
		nb_jobs_file(c, job, res);
		return;
	}
	int r = nb_jobs_simple(c, job, res);
	res->r = r;
	if (r != 0 && res->out != NB_OUT_GONE)
		res->out = nb_retry_classify(r, nb_remote_broken(c->remote));
}
