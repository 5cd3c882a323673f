/*
 * The removal of a file (or directory) on the server: UNLINK_IF, naming
 * the version this mount last knew there (its record: the server's size
 * and mtime), so that a file someone changed on the server since is
 * kept there rather than deleted. The file then shows in the mount again with the
 * server's content, and a conflict event says so; nothing is retried.
 *
 * The base is the record's (for a file only listed in the mount, the
 * version listed, recorded at the removal: fs/ops_ns.c), unless the
 * record cannot say what the server holds: none, not a file (a
 * symlink), the server's own size and mtime unknown, or an upload to
 * the path in doubt (the server may hold ours, newer than the record).
 * Then it is ANY: whatever is there goes, as a plain UNLINK.
 *
 * A server older than UNLINK_IF answers ENOSYS: that session sends
 * plain UNLINKs from then on (the job goes again at once), as before.
 *
 * An RMDIR answered ENOTEMPTY is kept the same way: it runs after every
 * removal below it, so what the server's directory still holds is
 * someone else's (a file put there, or one kept as above), and the
 * directory stays with it instead of failing for ever.
 */
#include <errno.h>
#include <string.h>

#include "sync/flight.h"
#include "wire/err.h"
#include "wire/log.h"

static void nb_flight_unlink_base(struct nb_flight *f, struct nb_unlink_if *m)
{
	struct nb_queue *q = f->p->cfg.q;
	struct nb_synced rec, doubts[2];
	m->base_kind = NB_BASE_ANY;
	if (nb_queue_record(q, f->job.path, &rec) != 0 || rec.kind != NB_KIND_FILE ||
	    !rec.has_remote || nb_queue_job_doubts(q, &f->job, doubts) > 0)
		return;
	m->base_kind = NB_BASE_MATCH;
	m->base_size = rec.rsize;
	m->base_mtime_s = rec.rmtime_s;
	m->base_mtime_ns = rec.rmtime_ns;
}

int nb_flight_unlink_send(struct nb_flight *f)
{
	struct nb_pipeline *p = f->p;
	if (p->unlink_if_off) {
		f->rc.req = NB_MSG_UNLINK;
		return nb_rcall_remove(p->r, &f->rc, f->job.path);
	}
	struct nb_unlink_if m = {.path = (char *)f->job.path};
	nb_flight_unlink_base(f, &m);
	f->rc.req = NB_MSG_UNLINK_IF;
	return nb_rcall_unlink_if(p->r, &f->rc, &m);
}

int nb_flight_remove_answered(struct nb_flight *f)
{
	struct nb_pipeline *p = f->p;
	const struct nb_rcall *rc = &f->rc;
	if (rc->req == NB_MSG_UNLINK_IF && rc->r == -ENOSYS) {
		if (!p->unlink_if_off)
			nb_info("the server (%s) removes files without checking their version (an "
				"nbfs-server older than 2026-12-06): a file changed there since "
				"this mount last saw it is removed all the same",
				p->r ? nb_remote_server(p->r) : "?");
		p->unlink_if_off = 1;
		nb_flight_result(f, -ECANCELED, NULL); /* again at once, as UNLINK */
		return 1;
	}
	struct nb_synced rec = {.kind = f->job.kind};
	if (f->job.kind == NB_KIND_RMDIR && rc->r == -ENOTEMPTY) {
		/* Every removal below it was done first (it is a barrier): what
		 * is left is someone else's, or a file kept as above. */
		nb_warn("%s: holds files on the server that this mount did not remove (changed "
			"or put there by someone else): kept there, with them (it shows in the "
			"mount again)",
			f->job.path);
	} else if (f->job.kind == NB_KIND_UNLINK && rc->r == -EEXIST) {
		nb_warn("%s: changed on the server since this mount last saw it: kept there, not "
			"removed (it shows in the mount again)",
			f->job.path);
	} else {
		return 0;
	}
	/* Done all the same: our record of the path goes with the
	 * operation, and the server's version shows in the mount. */
	nb_flight_notify(f, NB_EV_CONFLICT, f->job.path, NULL);
	nb_queue_done(p->cfg.q, &f->job, &rec);
	return 1;
}
