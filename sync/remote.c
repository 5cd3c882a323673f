#include "sync/remote.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/err.h"
#include "wire/log.h"
#include "wire/xio.h"

static int nb_remote_send(struct nb_remote *r)
{
	int e = nb_frame_send(&r->t->stream, r->tx);
	if (e != 0)
		r->broken = 1;
	return e;
}

/* Decode an ERROR or PUT_FAIL payload: -code, text kept in errtext. */
static int nb_remote_take_error(struct nb_remote *r)
{
	struct nb_error err;
	int e = nb_proto_error_decode(r->rx, &err);
	if (e != 0) {
		r->broken = 1;
		return e;
	}
	snprintf(r->errtext, sizeof(r->errtext), "%s", err.text);
	nb_proto_error_free(&err);
	nb_debug("server error %u: %s", err.code, r->errtext);
	return -(int)err.code;
}

/* Read one frame into r->rx. ERROR is decoded and returned as -code;
 * PUT_FAIL is recorded against the upload and returned as 1. */
static int nb_remote_recv_one(struct nb_remote *r, uint8_t *type)
{
	int e = nb_frame_recv(&r->rd, type, r->rx);
	if (e != 0) {
		r->broken = 1;
		return e;
	}
	if (*type == NB_MSG_ERROR)
		return nb_remote_take_error(r);
	if (*type != NB_MSG_PUT_FAIL)
		return 0;
	if (!r->uploading || r->upload_err) {
		r->broken = 1;
		return NB_E_PROTO;
	}
	r->upload_err = nb_remote_take_error(r);
	return r->broken ? r->upload_err : 1;
}

/* Read one reply frame into r->rx. An ERROR reply is decoded here and
 * returned as -code; *type is set either way. A PUT_FAIL that arrives
 * ahead of the reply is recorded against the upload and skipped. */
static int nb_remote_recv(struct nb_remote *r, uint8_t *type)
{
	int e;
	while ((e = nb_remote_recv_one(r, type)) == 1)
		;
	return e;
}

/* Expect a reply of type `want`; anything else breaks the session. */
static int nb_remote_expect(struct nb_remote *r, uint8_t want)
{
	uint8_t type;
	int e = nb_remote_recv(r, &type);
	if (e != 0)
		return e;
	if (type != want) {
		nb_err("expected %s, got %s", nb_msg_name(want), nb_msg_name(type));
		r->broken = 1;
		return NB_E_PROTO;
	}
	return 0;
}

static int nb_remote_fail(struct nb_remote *r, int e)
{
	/* A reply we cannot decode means the peer is not speaking our
	 * protocol: the session is over. */
	if (e != 0)
		r->broken = 1;
	return e;
}

int nb_remote_open(struct nb_transport *t, struct nb_remote **out, char *errbuf, size_t errsz)
{
	struct nb_remote *r = calloc(1, sizeof(*r));
	if (!r) {
		t->close(t);
		return -ENOMEM;
	}
	r->t = t;
	int e = nb_frame_reader_init(&r->rd, &t->stream);
	if (e == 0) {
		r->tx = nb_buf_new(NB_FRAME_MAX + NB_FRAME_HDR);
		r->rx = nb_buf_new(NB_FRAME_MAX);
		if (!r->tx || !r->rx)
			e = -ENOMEM;
	}
	if (e == 0)
		e = nb_proto_hello_encode(r->tx, NB_PROTO_VERSION, "nbfs " NBFS_VERSION);
	if (e == 0)
		e = nb_remote_send(r);
	if (e == 0)
		e = nb_remote_expect(r, NB_MSG_HELLO);
	if (e == 0) {
		struct nb_hello h;
		if ((e = nb_proto_hello_decode(r->rx, &h)) == 0) {
			nb_info("connected to %s, protocol %u", h.software, h.version);
			if (h.version < 1)
				e = NB_E_VERSION;
			nb_proto_hello_free(&h);
		}
	}
	if (e != 0) {
		if (errbuf)
			snprintf(errbuf, errsz, "%s", r->errtext[0] ? r->errtext : nb_strerror(e));
		nb_remote_close(r);
		return e;
	}
	*out = r;
	return 0;
}

void nb_remote_close(struct nb_remote *r)
{
	if (!r)
		return;
	r->t->close(r->t);
	nb_frame_reader_free(&r->rd);
	nb_buf_free(r->tx);
	nb_buf_free(r->rx);
	free(r);
}

const char *nb_remote_errtext(const struct nb_remote *r)
{
	return r->errtext;
}

int nb_remote_broken(const struct nb_remote *r)
{
	return r->broken;
}

int nb_remote_keepalive(struct nb_remote *r)
{
	int e = r->t->keepalive ? r->t->keepalive(r->t) : 0;
	if (e != 0)
		r->broken = 1;
	return e;
}

int nb_remote_stat(struct nb_remote *r, const char *path, struct nb_attr *a)
{
	int e = nb_proto_path_encode(r->tx, NB_MSG_STAT, path);
	if (e == 0)
		e = nb_remote_send(r);
	if (e == 0)
		e = nb_remote_expect(r, NB_MSG_ATTR);
	if (e == 0)
		e = nb_remote_fail(r, nb_proto_attr_decode(r->rx, a));
	return e;
}

int nb_remote_list(struct nb_remote *r, const char *path,
		   int (*fn)(void *arg, const char *name, const struct nb_attr *a), void *arg)
{
	int e = nb_proto_path_encode(r->tx, NB_MSG_LIST, path);
	if (e == 0)
		e = nb_remote_send(r);
	int stop = 0;
	while (e == 0) {
		uint8_t type;
		if ((e = nb_remote_recv(r, &type)) != 0)
			return e;
		if (type == NB_MSG_OK)
			return stop;
		if (type != NB_MSG_DIRENTS) {
			r->broken = 1;
			return NB_E_PROTO;
		}
		struct nb_dirents d;
		if ((e = nb_remote_fail(r, nb_proto_dirents_decode(r->rx, &d))) != 0)
			return e;
		/* Keep reading to the final OK even if the callback stops, so
		 * the session stays in step. */
		for (uint32_t i = 0; i < d.count && stop == 0; i++)
			stop = fn(arg, d.ents[i].name, &d.ents[i].attr);
		nb_proto_dirents_free(&d);
	}
	return e;
}

int nb_remote_mkdir(struct nb_remote *r, const char *path, uint32_t mode)
{
	int e = nb_proto_mkdir_encode(r->tx, path, mode);
	if (e == 0)
		e = nb_remote_send(r);
	if (e == 0)
		e = nb_remote_expect(r, NB_MSG_OK);
	return e;
}

/* Send the request in r->tx and expect OK. */
static int nb_remote_simple(struct nb_remote *r, int e)
{
	if (e == 0)
		e = nb_remote_send(r);
	if (e == 0)
		e = nb_remote_expect(r, NB_MSG_OK);
	return e;
}

int nb_remote_remove(struct nb_remote *r, uint8_t type, const char *path)
{
	return nb_remote_simple(r, nb_proto_path_encode(r->tx, type, path));
}

int nb_remote_rename(struct nb_remote *r, const char *from, const char *to)
{
	return nb_remote_simple(r, nb_proto_path2_encode(r->tx, NB_MSG_RENAME, from, to));
}

int nb_remote_symlink(struct nb_remote *r, const char *path, const char *target)
{
	return nb_remote_simple(r, nb_proto_path2_encode(r->tx, NB_MSG_SYMLINK, path, target));
}

int nb_remote_get(struct nb_remote *r, const struct nb_get *g, const struct nb_get_cb *cb)
{
	uint8_t type;
	int e = nb_proto_get_encode(r->tx, g);
	if (e == 0)
		e = nb_remote_send(r);
	if (e == 0)
		e = nb_remote_expect(r, NB_MSG_GET_INFO);
	if (e != 0)
		return e;
	struct nb_get_info info;
	if ((e = nb_remote_fail(r, nb_proto_get_info_decode(r->rx, &info))) != 0)
		return e;
	e = cb->on_info(cb->arg, &info);
	uint64_t next = info.start, size = info.attr.size;
	nb_attr_free(&info.attr);
	if (e != 0) {
		r->broken = 1;
		return e;
	}
	for (;;) {
		if ((e = nb_remote_recv(r, &type)) != 0)
			return e; /* ERROR mid-stream: the session is still in step */
		if (type == NB_MSG_OK) {
			if ((e = nb_remote_fail(r, nb_proto_empty_decode(r->rx))) != 0)
				return e;
			if (next != size) {
				r->broken = 1;
				return NB_E_PROTO;
			}
			return 0;
		}
		uint64_t off;
		const uint8_t *data;
		size_t n;
		if (type != NB_MSG_GET_DATA ||
		    nb_proto_get_data_decode(r->rx, &off, &data, &n) != 0 || off != next ||
		    n > size - off) {
			r->broken = 1;
			return NB_E_PROTO;
		}
		if ((e = cb->on_data(cb->arg, off, data, n)) != 0) {
			r->broken = 1;
			return e;
		}
		next += n;
	}
}

int nb_remote_put_open(struct nb_remote *r, const struct nb_put_open *m, struct nb_put_offer *offer)
{
	uint8_t type;
	int e = nb_proto_put_open_encode(r->tx, m);
	if (e == 0)
		e = nb_remote_send(r);
	if (e == 0)
		e = nb_remote_recv(r, &type);
	if (e != 0)
		return e;
	if (type == NB_MSG_OK) {
		e = nb_remote_fail(r, nb_proto_empty_decode(r->rx));
		return e ? e : 1;
	}
	if (type != NB_MSG_PUT_OFFER) {
		r->broken = 1;
		return NB_E_PROTO;
	}
	e = nb_remote_fail(r, nb_proto_put_offer_decode(r->rx, offer));
	if (e == 0 && offer->offset > m->size) {
		r->broken = 1;
		e = NB_E_PROTO;
	}
	if (e == 0) {
		r->uploading = 1;
		r->upload_err = 0;
	}
	return e;
}

int nb_remote_put_data_fd(struct nb_remote *r, int fd, uint64_t offset, size_t n)
{
	while (n > 0) {
		size_t k = n < NB_DATA_CHUNK ? n : NB_DATA_CHUNK;
		uint8_t *dst;
		int e = nb_proto_put_data_reserve(r->tx, offset, k, &dst);
		if (e != 0)
			return e;
		ssize_t got = nb_xio_pread_full(fd, dst, k, (off_t)offset);
		if (got < 0)
			return (int)got;
		if ((size_t)got != k)
			return -ENODATA;
		if ((e = nb_remote_send(r)) != 0)
			return e;
		offset += k;
		n -= k;
	}
	return 0;
}

int nb_remote_put_poll(struct nb_remote *r)
{
	while (r->uploading && !r->upload_err &&
	       (nb_frame_buffered(&r->rd) || r->t->readable(r->t))) {
		uint8_t type;
		int e = nb_remote_recv_one(r, &type);
		if (e != 1) {
			/* Nothing but PUT_FAIL may arrive unasked. */
			r->broken = 1;
			return e ? e : NB_E_PROTO;
		}
	}
	return r->upload_err;
}

/* Send the PUT_END or PUT_ABORT encoded in r->tx and read its reply
 * (which comes even after a PUT_FAIL). */
static int nb_remote_put_finish(struct nb_remote *r)
{
	if (!r->uploading)
		return NB_E_PROTO;
	int e = nb_remote_send(r);
	if (e == 0)
		e = nb_remote_expect(r, NB_MSG_OK);
	if (e == 0 && r->upload_err)
		e = r->upload_err;
	r->uploading = 0;
	r->upload_err = 0;
	return e;
}

int nb_remote_put_end(struct nb_remote *r)
{
	int e = nb_proto_put_end_encode(r->tx);
	return e ? e : nb_remote_put_finish(r);
}

int nb_remote_put_abort(struct nb_remote *r, int discard)
{
	int e = nb_proto_put_abort_encode(r->tx, discard);
	return e ? e : nb_remote_put_finish(r);
}
