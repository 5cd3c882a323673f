#include "sync/upload.h"

#include <errno.h>
#include <string.h>

#include "wire/err.h"
#include "wire/log.h"
#include "sync/resume.h"

/* Data between checks for changes, early failures and other requests. */
#define NB_UPLOAD_STEP (1024 * 1024)

static int nb_upload_check(const struct nb_upload *u)
{
	switch (u->changed ? u->changed(u->arg) : NB_UPLOAD_GO) {
	case NB_UPLOAD_CANCEL: return -ECANCELED;
	case NB_UPLOAD_CHANGED: return NB_E_CHANGED;
	default: return 0;
	}
}

int nb_upload_run(struct nb_remote *r, const struct nb_upload *u, struct nb_upload_stats *st)
{
	struct nb_put_open m = {
		.path = (char *)u->path,
		.size = u->size,
		.mode = u->mode & 07777,
		.mtime_s = u->mtime_s,
		.mtime_ns = u->mtime_ns,
		.base_kind = u->base_kind,
		.base_size = u->base_size,
		.base_mtime_s = u->base_mtime_s,
		.base_mtime_ns = u->base_mtime_ns,
	};
	struct nb_put_offer offer;
	memcpy(m.md5, u->md5, NB_MD5_LEN);
	memset(st, 0, sizeof(*st));

	int e = nb_remote_put_open(r, &m, &offer);
	if (e == 1) {
		st->already_present = 1;
		if (u->progress)
			u->progress(u->arg, u->size, u->size);
		return 0;
	}
	if (e != 0)
		return e;
	st->offered = offer.offset;
	uint64_t off = 0;
	if (nb_resume_needs_prefix(&offer, u->size)) {
		uint8_t mine[NB_MD5_LEN];
		if ((e = nb_md5_fd(u->fd, offer.offset, mine, NULL)) != 0)
			goto abort;
		off = nb_resume_offset(&offer, u->size, mine);
		if (off == 0)
			nb_warn("%s: server's partial (%llu bytes) does not match our content; "
				"starting again", u->path, (unsigned long long)offer.offset);
	}
	st->resumed_at = off;
	nb_debug("%s: %llu bytes, resuming at %llu", u->path, (unsigned long long)u->size,
		 (unsigned long long)off);
	if (u->progress)
		u->progress(u->arg, off, u->size);

	while (off < u->size) {
		if ((e = nb_upload_check(u)) != 0)
			goto abort;
		if ((e = nb_remote_put_poll(r)) != 0)
			goto abort;
		if (u->idle)
			u->idle(u->arg, r);
		if (nb_remote_broken(r))
			return NB_E_EOF;
		uint64_t left = u->size - off;
		size_t n = left < NB_UPLOAD_STEP ? (size_t)left : NB_UPLOAD_STEP;
		if ((e = nb_remote_put_data_fd(r, u->fd, off, n)) != 0) {
			if (e == -ENODATA)
				e = NB_E_CHANGED;
			goto abort;
		}
		off += n;
		st->sent += n;
		if (u->progress)
			u->progress(u->arg, off, u->size);
	}
	if ((e = nb_upload_check(u)) != 0)
		goto abort;
	st->ended = 1;
	return nb_remote_put_end(r);
abort:
	/* Keep the partial unless our content changed: the next attempt
	 * (same MD5) resumes from it. */
	if (!nb_remote_broken(r))
		nb_remote_put_abort(r, e == NB_E_CHANGED);
	return e;
}
