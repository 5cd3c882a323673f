/*
 * The uploads of a session: PUT_OPEN, PUT_DATA, PUT_END and PUT_ABORT
 * over a partial file, and PUT_SMALL into the batch. Dispatched by
 * session.c; the contract is in session.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "server/session.h"
#include "server/session_int.h"
#include "wire/err.h"
#include "wire/log.h"
#include "wire/pathname.h"
#include "wire/proto.h"
#include "wire/xio.h"

/* The answer to a PUT_OPEN whose partial someone else holds, saying
 * who and since when, so the client can tell its user what it waits
 * for. */
static int nb_session_busy(struct nb_session *s, uint32_t id, const struct nb_owner *o,
			   const char *path)
{
	char what[NB_ERRTEXT_MAX - 64], when[32] = "";
	struct tm tm;
	if (o->since > 0 && gmtime_r(&o->since, &tm))
		strftime(when, sizeof(when), ", since %Y-%m-%d %H:%M:%S UTC", &tm);
	const char *who = o->pid == 0 ? "" :
			  o->pid == getpid() ? " (in this session)" :
			  s->has_mount && o->has_mount && !memcmp(o->mount, s->mount, NB_MOUNT_ID_LEN) ?
					      " (by this mount's earlier session" :
					      " (by another mount";
	snprintf(what, sizeof(what), "%s%s%s%s", path, who, o->pid && o->pid != getpid() ? when : "",
		 o->pid && o->pid != getpid() ? ")" : "");
	return nb_session_error(s, id, NB_E_BUSY, what);
}

static struct nb_base nb_session_base(const struct nb_put_open *m)
{
	return (struct nb_base){m->base_kind, m->base_size, m->base_mtime_s, m->base_mtime_ns};
}

/* Open an upload for PUT_OPEN (m names the content's MD5 and size) or
 * PUT_STREAM (m names the upload's key; size and MD5 come at the end):
 * answer its offer, or why not. */
static int nb_session_open_upload(struct nb_session *s, uint32_t id, const struct nb_put_open *m,
				  int stream)
{
	struct nb_put_offer offer;
	struct nb_upload *u = NULL;
	const char *leaf;
	int dirfd = -1, r;
	if (s->nuploads >= NB_SESSION_UPLOADS_MAX) {
		r = nb_session_error(s, id, -EBUSY, "too many uploads open in this session");
		goto out;
	}
	if ((r = nb_root_parent(&s->root, m->path, 0755, &dirfd, &leaf)) != 0) {
		dirfd = -1;
		r = nb_session_error(s, id, r, m->path);
		goto out;
	}
	struct stat st;
	if (fstatat(dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
		r = nb_session_error(s, id, -EISDIR, m->path);
		goto out;
	}
	struct nb_base base = nb_session_base(m);
	if ((r = nb_partial_check_base(dirfd, leaf, &base, m->md5, m->size)) != 0) {
		r = nb_session_error(s, id, r, NB_CONFLICT_TEXT);
		goto out;
	}
	if (!stream && nb_partial_matches(dirfd, leaf, m->md5, m->size)) {
		/* Identical content is already published: apply the metadata
		 * and answer at once. */
		r = nb_partial_touch(dirfd, leaf, m->md5, m->size, m->mode, m->mtime_s,
				     m->mtime_ns);
		nb_debug("%s: already present", m->path);
		r = r ? nb_session_error(s, id, r, m->path) : nb_session_ok(s, id);
		goto out;
	}
	for (size_t i = 0; i < NB_SESSION_UPLOADS_MAX && !u; i++)
		if (!s->uploads[i].open)
			u = &s->uploads[i];
	/* Another upload of the same content (or key), in this session or
	 * another mount's, holds the partial's lock: NB_E_BUSY. An older
	 * session of our own mount is ended and its partial taken over. A
	 * stream's size is not known: it may grow to the cap. */
	r = nb_partial_open_as(&u->partial, &s->root, m->md5, stream ? NB_FILE_SIZE_MAX : m->size,
			       &offer.offset, offer.prefix_md5, s->has_mount ? s->mount : NULL);
	if (r == NB_E_BUSY) {
		r = nb_session_busy(s, id, &u->partial.busy, m->path);
		goto out;
	}
	if (r != 0) {
		r = nb_session_error(s, id, r, m->path);
		goto out;
	}
	if (!(u->path = strdup(m->path))) {
		nb_partial_close(&u->partial, 0);
		r = nb_session_error(s, id, -ENOMEM, m->path);
		goto out;
	}
	u->open = 1;
	u->id = id;
	u->stream = stream;
	u->leaf = u->path + (leaf - m->path);
	u->dest_dirfd = dirfd;
	dirfd = -1;
	u->mode = m->mode;
	u->mtime_s = m->mtime_s;
	u->mtime_ns = m->mtime_ns;
	u->base = base;
	s->nuploads++;
	nb_debug("%s: upload %u%s, offer %llu of %llu", m->path, id, stream ? " (stream)" : "",
		 (unsigned long long)offer.offset, (unsigned long long)m->size);
	if ((r = nb_proto_put_offer_encode(s->tx, id, &offer)) == 0)
		r = nb_session_send(s);
out:
	nb_xio_close(dirfd);
	return r;
}

int nb_session_put_open(struct nb_session *s, uint32_t id, struct nb_buf *p)
{
	struct nb_put_open m;
	int r = nb_proto_put_open_decode(p, &m);
	if (r != 0)
		return nb_session_bad_frame(s, id, r, NB_MSG_PUT_OPEN);
	r = nb_session_open_upload(s, id, &m, 0);
	nb_proto_put_open_free(&m);
	return r;
}

int nb_session_put_stream(struct nb_session *s, uint32_t id, struct nb_buf *p)
{
	struct nb_put_open m;
	int r = nb_proto_put_stream_decode(p, &m);
	if (r != 0)
		return nb_session_bad_frame(s, id, r, NB_MSG_PUT_STREAM);
	r = nb_session_open_upload(s, id, &m, 1);
	nb_proto_put_open_free(&m);
	return r;
}

int nb_session_put_data(struct nb_session *s, uint32_t id, struct nb_buf *p)
{
	uint64_t offset;
	const uint8_t *data;
	size_t n;
	int r = nb_proto_put_data_decode(p, &offset, &data, &n);
	if (r != 0)
		return nb_session_bad_frame(s, id, r, NB_MSG_PUT_DATA);
	struct nb_upload *u = nb_session_upload(s, id);
	if (!u)
		return nb_session_violation(s, id, NB_E_PROTO,
					    "PUT_DATA for upload %u, which is not open", id);
	/* After PUT_FAIL the client may still have data in flight: drop it
	 * unchecked (the partial stopped growing where it failed). */
	if (u->failed)
		return 0;
	/* Offset 0 starts over (the client's prefix differed); anything
	 * else must continue where the last data ended. */
	uint64_t at = offset == 0 ? 0 : u->partial.pos;
	if (offset != at)
		return nb_session_violation(
		    s, id, NB_E_PROTO,
		    "PUT_DATA for upload %u at offset %llu: it continues at %llu", id,
		    (unsigned long long)offset, (unsigned long long)at);
	if (n > u->partial.size - at)
		return nb_session_violation(
		    s, id, NB_E_PROTO,
		    "PUT_DATA for upload %u: %zu bytes at %llu go past its size %llu", id, n,
		    (unsigned long long)at, (unsigned long long)u->partial.size);
	if ((r = nb_partial_write(&u->partial, offset, data, n)) != 0) {
		/* Answer now, so the client stops sending, and discard what
		 * follows. The partial stays as it is (what is in it is still
		 * good) until PUT_END or PUT_ABORT says what to do with it. */
		u->failed = 1;
		u->fail_code = r;
		return nb_session_reply_error(s, id, NB_MSG_PUT_FAIL, r, "write");
	}
	return 0;
}

/* Verify and publish upload u (PUT_END, PUT_FINISH), and answer. */
static int nb_session_publish(struct nb_session *s, uint32_t id, struct nb_upload *u)
{
	if (u->failed) {
		int r = u->fail_code;
		nb_session_end_upload(s, u, 0);
		return nb_session_error(s, id, r, "write");
	}
	/* On a conflict the partial is kept: the client publishes it under
	 * another name, with the same MD5, without sending it again. */
	int r = nb_partial_publish(&u->partial, u->dest_dirfd, u->leaf, &u->base, u->mode,
				   u->mtime_s, u->mtime_ns);
	nb_session_end_upload(s, u, 0);
	return r == -EEXIST ? nb_session_error(s, id, r, NB_CONFLICT_TEXT)
	       : r	     ? nb_session_error(s, id, r, "publish")
			     : nb_session_ok(s, id);
}

int nb_session_put_end(struct nb_session *s, uint32_t id, struct nb_buf *p)
{
	int r = nb_proto_empty_decode(p);
	if (r != 0)
		return nb_session_bad_frame(s, id, r, NB_MSG_PUT_END);
	struct nb_upload *u = nb_session_upload(s, id);
	if (!u)
		return nb_session_violation(s, id, NB_E_PROTO,
					    "PUT_END for upload %u, which is not open", id);
	if (u->stream)
		return nb_session_violation(s, id, NB_E_PROTO,
					    "PUT_END for upload %u, a stream: PUT_FINISH ends it", id);
	return nb_session_publish(s, id, u);
}

/* The end of a stream: what it received is to be m->size bytes with
 * MD5 m->md5, published at m->path (where the stream began, or where
 * the client has moved the file since) with m's mode, mtime and base. */
static int nb_session_finish(struct nb_session *s, uint32_t id, struct nb_upload *u,
			     const struct nb_put_open *m)
{
	if (!u->failed && u->partial.pos != m->size) {
		char what[128];
		snprintf(what, sizeof(what), "received %llu bytes, PUT_FINISH says %llu",
			 (unsigned long long)u->partial.pos, (unsigned long long)m->size);
		nb_session_end_upload(s, u, 0); /* what arrived stays for a resume */
		return nb_session_error(s, id, -EINVAL, what);
	}
	if (strcmp(m->path, u->path) != 0) {
		const char *leaf;
		char *path;
		int dirfd, r;
		if ((r = nb_root_parent(&s->root, m->path, 0755, &dirfd, &leaf)) != 0) {
			nb_session_end_upload(s, u, 0);
			return nb_session_error(s, id, r, m->path);
		}
		struct stat st;
		if (fstatat(dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
			nb_xio_close(dirfd);
			nb_session_end_upload(s, u, 0);
			return nb_session_error(s, id, -EISDIR, m->path);
		}
		if (!(path = strdup(m->path))) {
			nb_xio_close(dirfd);
			nb_session_end_upload(s, u, 0);
			return nb_session_error(s, id, -ENOMEM, m->path);
		}
		nb_xio_close(u->dest_dirfd);
		free(u->path);
		u->dest_dirfd = dirfd;
		u->path = path;
		u->leaf = path + (leaf - m->path);
	}
	u->partial.size = m->size;
	memcpy(u->partial.md5, m->md5, NB_MD5_LEN);
	u->mode = m->mode;
	u->mtime_s = m->mtime_s;
	u->mtime_ns = m->mtime_ns;
	u->base = nb_session_base(m);
	return nb_session_publish(s, id, u);
}

int nb_session_put_finish(struct nb_session *s, uint32_t id, struct nb_buf *p)
{
	struct nb_put_open m;
	int r = nb_proto_put_finish_decode(p, &m);
	if (r != 0)
		return nb_session_bad_frame(s, id, r, NB_MSG_PUT_FINISH);
	struct nb_upload *u = nb_session_upload(s, id);
	if (!u)
		r = nb_session_violation(s, id, NB_E_PROTO,
					 "PUT_FINISH for upload %u, which is not open", id);
	else if (!u->stream)
		r = nb_session_violation(s, id, NB_E_PROTO,
					 "PUT_FINISH for upload %u, not a stream: PUT_END ends it", id);
	else
		r = nb_session_finish(s, id, u, &m);
	nb_proto_put_open_free(&m);
	return r;
}

int nb_session_put_abort(struct nb_session *s, uint32_t id, struct nb_buf *p)
{
	int discard;
	int r = nb_proto_put_abort_decode(p, &discard);
	if (r != 0)
		return nb_session_bad_frame(s, id, r, NB_MSG_PUT_ABORT);
	struct nb_upload *u = nb_session_upload(s, id);
	if (!u)
		return nb_session_violation(s, id, NB_E_PROTO,
					    "PUT_ABORT for upload %u, which is not open", id);
	nb_session_end_upload(s, u, discard);
	return nb_session_ok(s, id);
}

/* The checks of a PUT_SMALL, in PUT_OPEN's order, then its MD5, then
 * into the batch. 0: held (answered at the flush). 1: the path already
 * holds exactly this content, now with the announced mode and mtime:
 * answer OK. < 0: answer this error now; *what is the text for it. */
static int nb_session_small_try(struct nb_session *s, uint32_t id, const struct nb_put_open *m,
				const uint8_t *data, const char **what)
{
	const char *leaf;
	int dirfd = -1, r;
	uint8_t got[NB_MD5_LEN];
	*what = m->path;
	if ((r = nb_root_parent(&s->root, m->path, 0755, &dirfd, &leaf)) != 0)
		return r;
	struct stat st;
	if (fstatat(dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
		r = -EISDIR;
		goto fail;
	}
	struct nb_base base = nb_session_base(m);
	if ((r = nb_partial_check_base(dirfd, leaf, &base, m->md5, m->size)) != 0) {
		*what = NB_CONFLICT_TEXT;
		goto fail;
	}
	if (nb_partial_matches(dirfd, leaf, m->md5, m->size)) {
		r = nb_partial_touch(dirfd, leaf, m->md5, m->size, m->mode, m->mtime_s,
				     m->mtime_ns);
		nb_debug("%s: already present", m->path);
		nb_xio_close(dirfd);
		return r ? r : 1;
	}
	nb_md5_buf(data, (size_t)m->size, got);
	if (memcmp(got, m->md5, NB_MD5_LEN) != 0) {
		r = NB_E_MD5;
		goto fail;
	}
	return nb_batch_add(&s->batch, id, m, data, dirfd, leaf); /* takes dirfd over */
fail:
	nb_xio_close(dirfd);
	return r;
}

int nb_session_put_small(struct nb_session *s, uint32_t id, struct nb_buf *p)
{
	struct nb_put_open m;
	const uint8_t *data;
	const char *what;
	int r = nb_proto_put_small_decode(p, &m, &data);
	if (r != 0)
		return nb_session_bad_frame(s, id, r, NB_MSG_PUT_SMALL);
	/* A second file for a held path (or beneath one) must see the tree
	 * the first one makes: publish that first. */
	if (nb_batch_touches(&s->batch, m.path) && (r = nb_session_flush(s)) != 0)
		goto out;
	r = nb_session_small_try(s, id, &m, data, &what);
	if ((r == -EMFILE || r == -ENFILE) && nb_batch_count(&s->batch) > 0) {
		/* The held files' descriptors count too: publish them. */
		if ((r = nb_session_flush(s)) != 0)
			goto out;
		r = nb_session_small_try(s, id, &m, data, &what);
	}
	if (r == 1)
		r = nb_session_ok(s, id);
	else if (r < 0)
		r = nb_session_error(s, id, r, what);
	else if (nb_batch_full(&s->batch))
		r = nb_session_flush(s);
out:
	nb_proto_put_open_free(&m);
	return r;
}
