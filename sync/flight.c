/*
 * One job in flight: a namespace operation (one request), a small file
 * (one PUT_SMALL), or a large one (PUT_OPEN, the offer, PUT_DATA pieces,
 * PUT_END), with the doubt of an earlier lost answer settled first by
 * asking the server (STAT). Answers arrive in the handlers below (inside
 * the pump), which record the outcome and never send; the pipeline calls
 * nb_flight_advance for the next step.
 */
#include "sync/flight.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sync/conflict.h"
#include "sync/hasher.h"
#include "sync/resume.h"
#include "wire/err.h"
#include "wire/log.h"
#include "wire/longpath.h"
#include "wire/pathname.h"
#include "wire/xio.h"

/* Data sent per large upload per turn, between looks at the rest. */
#define NB_FLIGHT_PIECE (1024 * 1024)

struct nb_flight *nb_flight_new(struct nb_pipeline *p, const struct nb_job *job)
{
	struct nb_flight *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->p = p;
	f->job = *job; /* the flight owns the job's strings now */
	f->stream = job->stream;
	f->fd = -1;
	f->phase = NB_FL_START;
	f->t0 = nb_xio_now_ms();
	f->res.out = NB_OUT_DONE;
	return f;
}

void nb_flight_free(struct nb_flight *f)
{
	if (!f)
		return;
	nb_xio_close(f->fd);
	nb_rcall_clear(&f->rc);
	nb_job_free(&f->job);
	free(f);
}

void nb_flight_notify(struct nb_flight *f, int what, const char *path, const char *path2)
{
	struct nb_core_event ev = {.what = what, .kind = f->job.kind, .path = path, .path2 = path2};
	if (f->p->cfg.notify)
		f->p->cfg.notify(f->p->cfg.arg, &ev);
}

/* The result of a step that returned r (not done). */
void nb_flight_result(struct nb_flight *f, int r, const char *why)
{
	f->res.r = r;
	f->res.out = nb_retry_classify(r, f->p->r && nb_remote_broken(f->p->r));
	snprintf(f->res.why, sizeof(f->res.why), "%s", why ? why : "");
}

/* The server's refusal of rc, as text for the user. */
static void nb_flight_refused(struct nb_flight *f)
{
	char why[sizeof(f->res.why)];
	snprintf(why, sizeof(why), "server: %s", f->rc.errtext[0] ? f->rc.errtext : nb_strerror(f->rc.r));
	nb_flight_result(f, f->rc.r, why);
}

/* A request was sent (e == 0): the flight waits for the answer; 1. Or
 * it was not: the session's error if it broke, else the request itself
 * could not be made (encoded), which fails this job alone; 0. */
int nb_flight_sent(struct nb_flight *f, int e)
{
	if (e == 0) {
		f->phase = NB_FL_WAIT;
		return 1;
	}
	if (nb_remote_broken(f->p->r))
		return e;
	nb_flight_result(f, e, "cannot make the request");
	nb_flight_end(f);
	return 0;
}

void nb_flight_end(struct nb_flight *f)
{
	struct nb_queue *q = f->p->cfg.q;
	struct nb_job_result *res = &f->res;
	switch (res->out) {
	case NB_OUT_DONE:
		break;
	case NB_OUT_GONE:
		nb_queue_drop_job(q, &f->job);
		break;
	case NB_OUT_AGAIN:
		if (res->r == NB_E_CHANGED)
			nb_info("%s: changed or removed during its upload: stopped (new content "
				"goes again)",
				f->job.path);
		nb_queue_fail(q, &f->job, NB_STATE_PENDING, NULL, 0);
		break;
	case NB_OUT_LINK:
		nb_queue_lost(q, &f->job, res->why[0] ? res->why : NULL);
		break;
	case NB_OUT_BUSY:
		nb_info("%s: %s", f->job.path, res->why[0] ? res->why : nb_strerror(res->r));
		nb_queue_busy(q, &f->job, res->why);
		break;
	default:
		if (!res->why[0])
			snprintf(res->why, sizeof(res->why), "%s", nb_strerror(res->r));
		nb_warn("%s: %s", f->job.path, res->why);
		nb_queue_fail(q, &f->job, nb_retry_state(res->out), res->why, nb_retry_delay_ms(res->out));
	}
	nb_xio_close(f->fd);
	f->fd = -1;
	f->phase = NB_FL_DONE;
}

void nb_flight_lost(struct nb_flight *f, const char *why)
{
	/* An upload's doubt is on record from its first request on (see
	 * nb_flight_doubt): it stays, to be settled by asking the server. */
	f->res.out = NB_OUT_LINK;
	f->res.r = NB_E_EOF;
	snprintf(f->res.why, sizeof(f->res.why), "%s", why ? why : "");
	if (why)
		nb_warn("%s: %s", f->job.path, why);
	nb_flight_end(f);
}

/* The server holds someone else's version at the job's path: ours goes
 * to a conflict copy beside it (an upload's file, or a symlink). */
static void nb_flight_keep_both(struct nb_flight *f)
{
	char copy[NB_PATH_MAX + 1];
	int e = nb_conflict_keep_both(f->p->cfg.q, f->p->cfg.stage_fd, &f->job, copy, sizeof(copy));
	if (e == 0) {
		nb_flight_notify(f, NB_EV_CONFLICT, f->job.path, copy);
	} else {
		char why[sizeof(f->res.why)];
		snprintf(why, sizeof(why), "conflict with the server's version, and no conflict copy: %s",
			 nb_strerror(e));
		nb_flight_result(f, e, why);
	}
}

/* ---- directories, symlinks, removals, renames ---- */

static void nb_flight_simple_done(struct nb_rcall *rc)
{
	struct nb_flight *f = (struct nb_flight *)rc;
	const struct nb_job *job = &f->job;
	struct nb_synced rec = {.kind = job->kind};
	int r = rc->r;
	if ((job->kind == NB_KIND_UNLINK || job->kind == NB_KIND_RMDIR) &&
	    nb_flight_remove_answered(f)) {
		nb_flight_end(f);
		return;
	}
	if (job->kind == NB_KIND_SYMLINK && rc->req == NB_MSG_SYMLINK_NEW && r == -ENOSYS) {
		if (!f->p->symlink_new_off)
			nb_info("the server (%s) makes symlinks over whatever is there (an "
				"nbfs-server older than 2026-12-06): a file someone put at a "
				"link's name is replaced",
				f->p->r ? nb_remote_server(f->p->r) : "?");
		f->p->symlink_new_off = 1;
		nb_flight_result(f, -ECANCELED, NULL); /* again at once, as SYMLINK */
		nb_flight_end(f);
		return;
	}
	if (job->kind == NB_KIND_SYMLINK && r == -EEXIST) {
		/* Someone else's file (or link, or directory) at the name:
		 * kept there; our link goes beside it, as a file would. */
		nb_flight_keep_both(f);
		nb_flight_end(f);
		return;
	}
	if (r == -ENOENT && (job->kind == NB_KIND_UNLINK || job->kind == NB_KIND_RMDIR))
		r = 0; /* gone already (a replay after a crash) */
	if (r == -ENOENT && job->kind == NB_KIND_RENAME) {
		/* Moved already (a replay after a lost answer), or never there
		 * (an upload cancelled by this very rename). */
		nb_flight_notify(f, NB_EV_MOVED, job->path, job->path2);
		nb_queue_done_absent(f->p->cfg.q, job);
	} else if (r == 0) {
		int what = job->kind == NB_KIND_RENAME ? NB_EV_MOVED
			 : job->kind == NB_KIND_UNLINK || job->kind == NB_KIND_RMDIR ? NB_EV_REMOVED
										 : NB_EV_CREATED;
		nb_debug("%s: %s on the server", job->path,
			 what == NB_EV_MOVED ? "moved" : what == NB_EV_REMOVED ? "removed" : "made");
		nb_flight_notify(f, what, job->path, job->path2);
		nb_queue_done(f->p->cfg.q, job, &rec);
	} else {
		/* The server's check disagreed with the MD5 we announced: it
		 * may be ours that is wrong, so it is computed again. */
		if (rc->r == NB_E_MD5)
			nb_queue_forget_md5(f->p->cfg.q, job);
		nb_flight_refused(f);
	}
	nb_flight_end(f);
}

static int nb_flight_simple_start(struct nb_flight *f)
{
	struct nb_pipeline *p = f->p;
	const struct nb_job *job = &f->job;
	char target[NB_LINK_MAX + 1];
	struct stat st;
	int e;
	nb_rcall_init(&f->rc, 0);
	f->rc.on_done = nb_flight_simple_done;
	if ((e = nb_pipe_dir_writable(p, job->path)) != 0 ||
	    (job->kind == NB_KIND_RENAME && (e = nb_pipe_dir_writable(p, job->path2)) != 0))
		return nb_flight_sent(f, e);
	switch (job->kind) {
	case NB_KIND_DIR:
		if (nb_longpath_fstatat(p->cfg.stage_fd, job->path, &st, AT_SYMLINK_NOFOLLOW) !=
		    0) {
			e = -errno;
			goto staged;
		}
		/* With the owner's read, write and search: what is queued
		 * below it may still have to go in (a tree copied and then
		 * made read-only, `cp -a` of one: the server runs as a user,
		 * whom the bits bind). Its own mode follows with its time,
		 * once nothing below is left (sync/pipe_times.c). */
		f->rc.req = NB_MSG_MKDIR;
		e = nb_rcall_mkdir(p->r, &f->rc, job->path, (st.st_mode & 07777) | S_IRWXU);
		break;
	case NB_KIND_SYMLINK: {
		ssize_t n =
		    nb_longpath_readlinkat(p->cfg.stage_fd, job->path, target, sizeof(target) - 1);
		if (n < 0) {
			e = -errno;
			goto staged;
		}
		target[n] = 0;
		/* A new link: where nothing is (SYMLINK_NEW), not over what
		 * someone else put there; a removal of what it replaces here
		 * was queued, and goes, first. */
		f->rc.req = p->symlink_new_off ? NB_MSG_SYMLINK : NB_MSG_SYMLINK_NEW;
		e = nb_rcall_symlink(p->r, &f->rc, job->path, target);
		break;
	}
	case NB_KIND_UNLINK:
		e = nb_flight_unlink_send(f);
		break;
	case NB_KIND_RMDIR:
		f->rc.req = NB_MSG_RMDIR;
		e = nb_rcall_remove(p->r, &f->rc, job->path);
		break;
	case NB_KIND_RENAME:
		f->rc.req = NB_MSG_RENAME;
		e = nb_rcall_rename(p->r, &f->rc, job->path2, job->path);
		break;
	default:
		nb_flight_result(f, -EINVAL, "unknown operation");
		nb_flight_end(f);
		return 0;
	}
	return nb_flight_sent(f, e);
staged:
	/* Gone locally before we got to it: nothing to send. */
	nb_flight_result(f, e, NULL);
	snprintf(f->res.why, sizeof(f->res.why), "staged %s: %s",
		 job->kind == NB_KIND_DIR ? "directory" : "symlink", strerror(-e));
	if (e == -ENOENT)
		f->res.out = NB_OUT_GONE;
	nb_flight_end(f);
	return 0;
}

/* ---- files ---- */

/* The upload's answer: published (or present already), a conflict, or
 * refused; or the answer to our PUT_ABORT. */
void nb_flight_upload_done(struct nb_rcall *rc)
{
	struct nb_flight *f = (struct nb_flight *)rc;
	const struct nb_job *job = &f->job;
	f->p->small_bytes -= f->small_bytes;
	f->small_bytes = 0;
	/* Answered: whatever the answer, the server told us what it did. A
	 * publication is recorded by nb_queue_done (which lifts the doubt);
	 * anything else published nothing. */
	if (rc->r != 0 || f->aborting)
		nb_queue_clear_doubt(f->p->cfg.q, job, &f->rec);
	if (f->aborting) {
		nb_flight_end(f); /* res was set when it was aborted */
		return;
	}
	if (f->stream && nb_flight_stream_answered(f)) {
		nb_flight_end(f);
		return;
	}
	if (rc->r == 0) {
		nb_info("%s: published (%llu bytes, resumed at %llu, sent %llu%s; %lld ms)", job->path,
			(unsigned long long)f->m.size, (unsigned long long)f->resumed_at,
			(unsigned long long)(f->large ? f->sent : (rc->present ? 0 : f->m.size)),
			f->stream ? " as it was written" : f->large ? "" : " whole",
			nb_xio_now_ms() - f->t0);
		nb_flight_notify(f, NB_EV_CREATED, job->path, NULL);
		nb_queue_done(f->p->cfg.q, job, &f->rec);
	} else if (rc->r == -EEXIST) {
		nb_debug("%s: based on %s (%llu bytes, mtime %lld.%09u): the server's differs",
			 job->path, f->m.base_kind == NB_BASE_MATCH ? "a version" :
				    f->m.base_kind == NB_BASE_ANY ? "any version" : "no file",
			 (unsigned long long)f->m.base_size, (long long)f->m.base_mtime_s,
			 f->m.base_mtime_ns);
		nb_flight_keep_both(f);
	} else {
		nb_flight_refused(f);
	}
	nb_flight_end(f);
}

/* An earlier upload of the path lost its answer with the link. The
 * server's answer to STAT says whether it holds that version, or one of
 * the two a file renamed over a path in doubt may find (our size
 * and mtime, which it applies when it publishes): then that version is
 * the base of this upload, else the base on record stands. Without this
 * a version changed meanwhile would look like a conflict with ourselves. */
static void nb_flight_settle_done(struct nb_rcall *rc)
{
	struct nb_flight *f = (struct nb_flight *)rc;
	const struct nb_synced *v = NULL;
	for (int i = 0; i < f->ndoubts && !v && rc->r == 0 && S_ISREG(rc->attr.mode); i++)
		if (rc->attr.size == f->doubt[i].rsize && rc->attr.mtime_s == f->doubt[i].rmtime_s &&
		    rc->attr.mtime_ns == f->doubt[i].rmtime_ns)
			v = &f->doubt[i];
	int held = v != NULL;
	nb_rcall_clear(rc);
	if (held)
		nb_info("%s: the upload cut off before its answer had been published", f->job.path);
	int e = nb_queue_settle_doubt(f->p->cfg.q, f->job.path, held ? v : NULL);
	f->settling = 0;
	if (e != 0) {
		nb_flight_result(f, e, "cannot record the server's version (see log)");
		nb_flight_end(f);
		return;
	}
	f->phase = NB_FL_SETTLED;
}

static int nb_flight_fill_mem(void *arg, uint8_t *dst, size_t n)
{
	memcpy(dst, arg, n);
	return 0;
}

static int nb_flight_fill_fd(void *arg, uint8_t *dst, size_t n, uint64_t offset)
{
	struct nb_flight *f = arg;
	ssize_t k = nb_xio_pread_full(f->fd, dst, n, (off_t)offset);
	if (k < 0)
		return (int)k;
	return (size_t)k == n ? 0 : -ENODATA; /* shorter than announced: it changed */
}

/* The content's MD5: the hasher's, or computed now (a large file, with
 * the engine served in between; a small one from buf). */
int nb_flight_md5(struct nb_flight *f, const uint8_t *buf)
{
	struct nb_pipeline *p = f->p;
	if (nb_queue_get_md5(p->cfg.q, &f->job, f->m.md5))
		return 0;
	int e = 0;
	if (buf)
		nb_md5_buf(buf, (size_t)f->m.size, f->m.md5);
	else
		e = nb_hasher_hash_fd(p->cfg.q, &f->job, f->fd, f->m.size, p->cfg.stop, p->cfg.idle,
				      p->cfg.arg, f->m.md5);
	if (e == 0)
		nb_queue_set_md5(p->cfg.q, &f->job, f->m.md5);
	return e;
}

/* The upload may still go under job's path: 0, or why not. Checked
 * right before its first request. Moved since the job was taken, it
 * must not: the queued rename may be on the wire already (the sync
 * thread sent other work while this flight asked about a doubt or
 * hashed), and the server would publish the old name after moving it,
 * a file the user renamed away. The entry goes again under its new
 * name. */
static int nb_flight_still_here(struct nb_flight *f)
{
	switch (nb_queue_changed(f->p->cfg.q, &f->job)) {
	case NB_JOB_SAME: return 0;
	case NB_JOB_MOVED: return -ECANCELED;
	default: return NB_E_CHANGED;
	}
}

/* From the upload's first request until its answer, the server may
 * publish f->rec without our hearing of it if the link or nbfs dies (at
 * PUT_OPEN already, when it holds the content and applies our metadata):
 * on record, durably, before the request goes. */
void nb_flight_doubt(struct nb_flight *f)
{
	nb_queue_set_doubt(f->p->cfg.q, &f->job, &f->rec);
}

/* Send the whole small file in one PUT_SMALL. */
static int nb_flight_send_small(struct nb_flight *f)
{
	struct nb_pipeline *p = f->p;
	size_t n = (size_t)f->m.size;
	uint8_t *buf = malloc(n ? n : 1);
	int e;
	if (!buf) {
		nb_flight_result(f, -ENOMEM, NULL);
		nb_flight_end(f);
		return 0;
	}
	ssize_t k = nb_xio_pread_full(f->fd, buf, n, 0);
	e = k < 0 ? (int)k : (size_t)k != n ? NB_E_CHANGED : 0;
	if (e == 0 && (e = nb_flight_md5(f, buf)) == 0)
		e = nb_flight_still_here(f);
	if (e != 0) {
		free(buf);
		nb_flight_result(f, e, NULL);
		nb_flight_end(f);
		return 0;
	}
	if ((e = nb_pipe_dir_writable(p, f->job.path)) != 0) {
		free(buf);
		return nb_flight_sent(f, e);
	}
	memcpy(f->rec.md5, f->m.md5, NB_MD5_LEN);
	nb_flight_doubt(f);
	nb_rcall_init(&f->rc, NB_MSG_PUT_SMALL);
	f->rc.on_done = nb_flight_upload_done;
	e = nb_rcall_put_small(p->r, &f->rc, &f->m, nb_flight_fill_mem, buf);
	free(buf);
	if (e == 0) {
		f->ended = 1;
		f->small_bytes = n;
		p->small_bytes += n;
		nb_queue_progress(p->cfg.q, &f->job, 0, n);
	}
	return nb_flight_sent(f, e);
}

/* Offer a large file: PUT_OPEN, then wait for the offer. */
int nb_flight_send_open(struct nb_flight *f)
{
	struct nb_pipeline *p = f->p;
	int e = nb_flight_md5(f, NULL);
	if (e == 0)
		e = nb_flight_still_here(f);
	if (e != 0) {
		nb_flight_result(f, e, NULL);
		nb_flight_end(f);
		return 0;
	}
	if ((e = nb_pipe_dir_writable(p, f->job.path)) != 0)
		return nb_flight_sent(f, e);
	memcpy(f->rec.md5, f->m.md5, NB_MD5_LEN);
	nb_flight_doubt(f);
	nb_rcall_init(&f->rc, NB_MSG_PUT_OPEN);
	f->rc.on_done = nb_flight_upload_done;
	return nb_flight_sent(f, nb_rcall_put_open(p->r, &f->rc, &f->m));
}

/* The base of the upload (the server version it replaces), then off it
 * goes, small or large. */
static int nb_flight_send_file(struct nb_flight *f)
{
	struct nb_synced base;
	f->m.base_kind = NB_BASE_ABSENT;
	if (nb_queue_record(f->p->cfg.q, f->job.path, &base) == 0) {
		f->m.base_kind = base.has_remote ? NB_BASE_MATCH : NB_BASE_ANY;
		f->m.base_size = base.rsize;
		f->m.base_mtime_s = base.rmtime_s;
		f->m.base_mtime_ns = base.rmtime_ns;
	}
	if (f->stream)
		return nb_flight_stream_open(f);
	return f->large ? nb_flight_send_open(f) : nb_flight_send_small(f);
}

void nb_flight_meta(struct nb_flight *f, const struct stat *st)
{
	f->m.path = f->job.path;
	f->m.size = (uint64_t)st->st_size;
	f->m.mode = st->st_mode & 07777;
	f->m.mtime_s = st->st_mtim.tv_sec;
	f->m.mtime_ns = (uint32_t)st->st_mtim.tv_nsec;
	/* The server keeps our size and mtime: the base of the next upload. */
	f->rec = (struct nb_synced){
		.kind = NB_KIND_FILE,
		.size = f->m.size,
		.mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec,
		.has_md5 = 1,
		.has_remote = 1,
		.rsize = f->m.size,
		.rmtime_s = f->m.mtime_s,
		.rmtime_ns = f->m.mtime_ns,
	};
}

static int nb_flight_file_start(struct nb_flight *f)
{
	struct nb_pipeline *p = f->p;
	struct stat st;
	int e;
	f->fd = nb_xio_open_quiet(p->cfg.stage_fd, f->job.path);
	if (f->fd < 0) {
		/* Gone locally before we got to it: nothing to send (unless a
		 * new file took its place meanwhile: the queue sees to that). */
		e = f->fd;
		nb_flight_result(f, e, NULL);
		snprintf(f->res.why, sizeof(f->res.why), "staged copy: %s", strerror(-e));
		if (e == -ENOENT)
			f->res.out = NB_OUT_GONE;
		nb_flight_end(f);
		return 0;
	}
	if (fstat(f->fd, &st) != 0) {
		nb_flight_result(f, -errno, NULL);
		nb_flight_end(f);
		return 0;
	}
	if (!S_ISREG(st.st_mode)) {
		nb_flight_result(f, -EINVAL, "not a regular file");
		nb_flight_end(f);
		return 0;
	}
	if ((st.st_size > NB_SMALL_MAX || f->stream) && !f->has_slot) {
		/* Large uploads stream a few at a time; this one waits its
		 * turn (the pipeline looks again at every step). */
		if (p->large_active >= p->cfg.max_large) {
			nb_xio_close(f->fd);
			f->fd = -1;
			if (!f->waiting_slot)
				p->waiting_large++;
			f->waiting_slot = 1;
			return 0;
		}
		if (f->waiting_slot)
			p->waiting_large--;
		f->waiting_slot = 0;
		f->has_slot = 1;
		p->large_active++;
	}
	f->m = (struct nb_put_open){0};
	nb_flight_meta(f, &st);
	f->large = f->m.size > NB_SMALL_MAX || f->stream;
	if ((f->ndoubts = nb_queue_get_doubts(p->cfg.q, f->job.path, f->doubt)) > 0) {
		nb_rcall_init(&f->rc, NB_MSG_STAT);
		f->rc.on_done = nb_flight_settle_done;
		f->settling = 1;
		return nb_flight_sent(f, nb_rcall_stat(p->r, &f->rc, f->job.path));
	}
	return nb_flight_send_file(f);
}

/* The offer is in: check the server's prefix against ours, stream from
 * where they agree. */
static void nb_flight_offered(struct nb_flight *f)
{
	const struct nb_put_offer *offer = &f->rc.offer;
	uint64_t off = 0;
	if (offer->offset > f->m.size) {
		f->off = 0; /* the decoder and server cap it; be safe */
	} else if (nb_resume_needs_prefix(offer, f->m.size)) {
		uint8_t mine[NB_MD5_LEN];
		if (nb_md5_fd(f->fd, offer->offset, mine, NULL) == 0)
			off = nb_resume_offset(offer, f->m.size, mine);
		if (off == 0)
			nb_warn("%s: server's partial (%llu bytes) does not match our content; "
				"starting again", f->job.path, (unsigned long long)offer->offset);
	}
	f->off = f->resumed_at = off;
	nb_debug("%s: %llu bytes, resuming at %llu", f->job.path, (unsigned long long)f->m.size,
		 (unsigned long long)off);
	nb_queue_progress(f->p->cfg.q, &f->job, off, f->m.size);
	f->phase = NB_FL_SEND;
}

/* Stop streaming: PUT_ABORT (keeping the partial unless our content
 * changed), with the result to record once the server has answered. */
int nb_flight_abort(struct nb_flight *f, int r)
{
	nb_flight_result(f, r, NULL);
	if (r == f->rc.early_fail) {
		char why[sizeof(f->res.why)];
		snprintf(why, sizeof(why), "server: %s", f->rc.errtext);
		nb_flight_result(f, r, why);
	}
	f->aborting = 1;
	/* New content: the partial is useless (a stream's key with it). */
	if (f->stream && r == NB_E_CHANGED)
		nb_queue_stream_drop(f->p->cfg.q, &f->job);
	return nb_flight_sent(f, nb_rcall_put_abort(f->p->r, &f->rc, r == NB_E_CHANGED));
}

/* Send PUT_DATA from f->off on, a piece's worth at most, up to end: 0
 * once sent; else the session's error, or the flight is aborting (it
 * could not read its file) and this is what to return. */
int nb_flight_send_range(struct nb_flight *f, uint64_t end)
{
	struct nb_pipeline *p = f->p;
	if (end > f->off + NB_FLIGHT_PIECE)
		end = f->off + NB_FLIGHT_PIECE;
	while (f->off < end) {
		size_t n = end - f->off < NB_DATA_CHUNK ? (size_t)(end - f->off) : NB_DATA_CHUNK;
		int e = nb_rcall_put_data(p->r, &f->rc, f->off, n, nb_flight_fill_fd, f);
		if (e == -ENODATA)
			return nb_flight_abort(f, NB_E_CHANGED);
		if (e != 0 && nb_remote_broken(p->r))
			return e;
		if (e != 0)
			return nb_flight_abort(f, e); /* reading the staged file failed */
		f->off += n;
		f->sent += n;
	}
	return 0;
}

/* One piece of a large upload, or its end. */
static int nb_flight_send_piece(struct nb_flight *f)
{
	struct nb_pipeline *p = f->p;
	int e;
	if (f->rc.early_fail)
		return nb_flight_abort(f, f->rc.early_fail);
	if (p->cfg.stop && atomic_load(p->cfg.stop))
		return nb_flight_abort(f, -ECANCELED);
	switch (nb_queue_changed(p->cfg.q, &f->job)) {
	/* Renamed: stop, but keep the partial for the upload under the new
	 * name (same content, same MD5). */
	case NB_JOB_MOVED: return nb_flight_abort(f, -ECANCELED);
	case NB_JOB_CHANGED: return nb_flight_abort(f, NB_E_CHANGED);
	default: break;
	}
	if ((e = nb_flight_send_range(f, f->m.size)) < 0 || f->aborting)
		return e;
	nb_queue_progress(p->cfg.q, &f->job, f->off, f->m.size);
	if (f->off < f->m.size)
		return 1;
	if (nb_queue_changed(p->cfg.q, &f->job) == NB_JOB_CHANGED)
		return nb_flight_abort(f, NB_E_CHANGED);
	e = nb_rcall_put_end(p->r, &f->rc);
	f->ended = e == 0;
	return nb_flight_sent(f, e);
}

int nb_flight_advance(struct nb_flight *f)
{
	switch (f->phase) {
	case NB_FL_START:
		return f->job.kind == NB_KIND_FILE ? nb_flight_file_start(f) : nb_flight_simple_start(f);
	case NB_FL_SETTLED:
		return nb_flight_send_file(f);
	case NB_FL_WAIT:
		/* An open upload waits for its offer; the rest for answers. */
		if (!f->large || f->aborting || f->ended || f->settling || !f->rc.offered)
			return 0;
		if (f->stream)
			nb_flight_stream_offered(f);
		else
			nb_flight_offered(f);
		/* fall through */
	case NB_FL_SEND:
		return f->stream ? nb_flight_stream_piece(f) : nb_flight_send_piece(f);
	default:
		return 0;
	}
}
