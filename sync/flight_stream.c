/*
 * A stream: the upload of a file that begins while the file is still
 * being written (see queue.h, "uploads that start while the file is
 * written"). PUT_STREAM opens it under the job's key; the data goes as
 * the hash-on-write thread reads it in order (what it has read is
 * written and stays so: any other change stops the stream, its partial
 * discarded); once the writer has closed and the MD5 is known,
 * PUT_FINISH names the size, MD5, mode and mtime, and the server checks
 * and publishes. Nothing can be published before PUT_FINISH, so the
 * doubt of a lost answer goes on record only then.
 */
#include "sync/flight.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "sync/resume.h"
#include "wire/err.h"
#include "wire/log.h"

/* The server takes no streams: the entry goes the usual way, at once if
 * its writer has closed, else once it does. */
static int nb_flight_stream_fallback(struct nb_flight *f, const struct nb_stream_state *st)
{
	nb_queue_stream_off(f->p->cfg.q, &f->job);
	if (st->open) {
		nb_flight_result(f, -ECANCELED, NULL); /* pending, no error shown */
		nb_flight_end(f);
		return 0;
	}
	f->stream = 0;
	return nb_flight_send_open(f);
}

int nb_flight_stream_open(struct nb_flight *f)
{
	struct nb_pipeline *p = f->p;
	struct nb_stream_state st;
	int e;
	nb_queue_stream_state(p->cfg.q, &f->job, &st);
	if (st.change != NB_JOB_SAME) {
		nb_flight_result(f, st.change == NB_JOB_MOVED ? -ECANCELED : NB_E_CHANGED, NULL);
		nb_flight_end(f);
		return 0;
	}
	if (p->streams_off)
		return nb_flight_stream_fallback(f, &st);
	if ((e = nb_pipe_dir_writable(p, f->job.path)) != 0)
		return nb_flight_sent(f, e);
	f->m.size = 0;
	memcpy(f->m.md5, f->job.key, NB_MD5_LEN);
	nb_rcall_init(&f->rc, NB_MSG_PUT_STREAM);
	f->rc.on_done = nb_flight_upload_done;
	nb_debug("%s: upload begins as it is written (writer %s)", f->job.path,
		 st.open ? "open" : "closed");
	return nb_flight_sent(f, nb_rcall_put_stream(p->r, &f->rc, &f->m));
}

/* How much of the file may go: what the follower has read in order while
 * the writer is open, the whole file once it closed. */
static int nb_flight_stream_have(struct nb_flight *f, const struct nb_stream_state *st,
				 uint64_t *have)
{
	struct stat sb;
	if (st->open) {
		*have = st->avail;
		return 0;
	}
	if (fstat(f->fd, &sb) != 0)
		return -errno;
	*have = (uint64_t)sb.st_size;
	return 0;
}

void nb_flight_stream_offered(struct nb_flight *f)
{
	const struct nb_put_offer *offer = &f->rc.offer;
	struct nb_stream_state st;
	uint64_t have = 0, off = 0;
	nb_queue_stream_state(f->p->cfg.q, &f->job, &st);
	if (offer->offset > 0 && st.change == NB_JOB_SAME && nb_flight_stream_have(f, &st, &have) == 0 &&
	    nb_resume_needs_prefix(offer, have)) {
		uint8_t mine[NB_MD5_LEN];
		int ok = 1;
		/* All of it there already (a stream cut off just before its
		 * end, or renamed once written): the MD5 is known. */
		if (!st.open && st.has_md5 && offer->offset == have)
			memcpy(mine, st.md5, NB_MD5_LEN);
		else
			ok = nb_md5_fd(f->fd, offer->offset, mine, NULL) == 0;
		if (ok)
			off = nb_resume_offset(offer, have, mine);
	}
	if (offer->offset > 0 && off == 0)
		nb_warn("%s: server's partial (%llu bytes) does not match our content; starting "
			"again", f->job.path, (unsigned long long)offer->offset);
	f->off = f->resumed_at = off;
	nb_debug("%s: stream, resuming at %llu", f->job.path, (unsigned long long)off);
	nb_queue_progress(f->p->cfg.q, &f->job, off, have > off ? have : off);
	f->phase = NB_FL_SEND;
}

/* Everything is sent and the writer has closed: PUT_FINISH, with the
 * MD5 (md5, or computed now) and the metadata as they are now. */
static int nb_flight_stream_finish(struct nb_flight *f, const uint8_t *md5)
{
	struct nb_pipeline *p = f->p;
	struct stat sb;
	int e;
	f->m.size = f->off;
	if (md5)
		memcpy(f->m.md5, md5, NB_MD5_LEN);
	else if ((e = nb_flight_md5(f, NULL)) != 0)
		return nb_flight_abort(f, e); /* no follow's MD5: read it again */
	/* The generation first, then the metadata: a change of times after
	 * the refresh is seen by the queue (another round), never lost. */
	switch (nb_queue_stream_refresh(p->cfg.q, &f->job)) {
	case NB_JOB_MOVED: return nb_flight_abort(f, -ECANCELED);
	case NB_JOB_CHANGED: return nb_flight_abort(f, NB_E_CHANGED);
	default: break;
	}
	if (fstat(f->fd, &sb) != 0)
		return nb_flight_abort(f, -errno);
	if ((uint64_t)sb.st_size != f->off)
		return nb_flight_abort(f, NB_E_CHANGED);
	nb_flight_meta(f, &sb);
	memcpy(f->rec.md5, f->m.md5, NB_MD5_LEN);
	nb_flight_doubt(f);
	e = nb_rcall_put_finish(p->r, &f->rc, &f->m);
	f->ended = e == 0;
	return nb_flight_sent(f, e);
}

int nb_flight_stream_piece(struct nb_flight *f)
{
	struct nb_pipeline *p = f->p;
	struct nb_stream_state st;
	uint64_t have = 0;
	int e;
	f->feeding = 0;
	if (f->rc.early_fail)
		return nb_flight_abort(f, f->rc.early_fail);
	if (p->cfg.stop && atomic_load(p->cfg.stop))
		return nb_flight_abort(f, -ECANCELED);
	nb_queue_stream_state(p->cfg.q, &f->job, &st);
	/* Renamed: stop, keeping the partial for the stream under the new
	 * name (the key goes along with the entry). */
	if (st.change == NB_JOB_MOVED)
		return nb_flight_abort(f, -ECANCELED);
	if (st.change == NB_JOB_CHANGED)
		return nb_flight_abort(f, NB_E_CHANGED);
	if ((e = nb_flight_stream_have(f, &st, &have)) != 0)
		return nb_flight_abort(f, e);
	if (have < f->off)
		return nb_flight_abort(f, NB_E_CHANGED); /* shorter than what went */
	/* The writer is busy and so are the cores: the stream's work would
	 * only slow the writer down. It waits for a gap, or for the close. */
	if (f->off < have && st.open && !nb_cpuspare_check(&p->cpu)) {
		f->feeding = 1;
		return 0;
	}
	if (f->off < have) {
		if ((e = nb_flight_send_range(f, have)) < 0 || f->aborting)
			return e;
		nb_queue_progress(p->cfg.q, &f->job, f->off, have);
		return 1;
	}
	/* All that is written went: wait for more, or for the follower's
	 * MD5 of the last bytes (both wake the queue). */
	if (st.open || (!st.has_md5 && st.hashing)) {
		f->feeding = 1;
		return 0;
	}
	return nb_flight_stream_finish(f, st.has_md5 ? st.md5 : NULL);
}

int nb_flight_stream_answered(struct nb_flight *f)
{
	struct nb_pipeline *p = f->p;
	const struct nb_rcall *rc = &f->rc;
	if (rc->r == -ENOSYS && !rc->offered) {
		if (!p->streams_off)
			nb_info("the server takes no streams (an nbfs-server older than "
				"2026-12-04): files upload once closed");
		p->streams_off = 1;
		nb_queue_stream_off(p->cfg.q, &f->job);
		nb_flight_result(f, -ECANCELED, NULL);
		return 1;
	}
	/* Refused at once as a conflict: the path holds another file than
	 * our base. A stream names no MD5, so the server could not tell
	 * whether that file is this very content: our own publish whose
	 * record was lost (a full cache disk, a crash), or the same file
	 * copied there by someone else. The file goes by its MD5 instead,
	 * once closed: PUT_OPEN's answer tells the same content ("already
	 * present") from a true conflict, which then gets its copy. The
	 * key goes (nothing of this stream was taken; a partial from an
	 * earlier cut of it is the server's sweep's). */
	if (rc->r == -EEXIST && !rc->offered) {
		nb_info("%s: the server holds another file at this path: the upload goes by its "
			"MD5 once written, to tell a conflict from the same content",
			f->job.path);
		nb_queue_stream_off(p->cfg.q, &f->job);
		nb_flight_result(f, -ECANCELED, NULL);
		return 1;
	}
	/* Published, the partial is the file now; or refused for content
	 * that did not match its MD5, the partial discarded: the key goes.
	 * Any other refusal (a conflict, a full disk, a directory gone)
	 * leaves the partial on the server, and the key stays so the next
	 * attempt resumes it: a new key, or an offer by MD5, would start
	 * from nothing beside it and, on a full disk, never fit. */
	if (rc->r == 0 || rc->r == NB_E_MD5)
		nb_queue_stream_drop(p->cfg.q, &f->job);
	if (rc->r == NB_E_MD5)
		nb_queue_forget_md5(p->cfg.q, &f->job);
	return 0;
}
