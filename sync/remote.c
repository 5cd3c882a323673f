/*
 * A protocol-2 session: HELLO, request ids, the table of calls in
 * flight, and the dispatch of reply frames to them.
 */
#include "sync/remote.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/err.h"
#include "wire/log.h"
#include "wire/noise.h"

#define NB_CALL_BUCKETS 256
/* Requests wait in the session's output up to this many bytes, then go
 * to the transport in one write (see nb_remote_send). */
#define NB_REMOTE_OUT_MAX (256 * 1024)
/* What the remote login may print before the server answers. */
#define NB_REMOTE_NOISE_MAX (64 * 1024)
#define NB_REMOTE_NOISE_HINT                                                                       \
	"a start-up file of the remote shell (~/.bashrc, say) prints even when the shell "         \
	"is not interactive: print only when it is (case $- in *i*) ...)"

struct nb_remote {
	struct nb_transport *t;
	struct nb_frame_reader rd;
	struct nb_buf *tx; /* the request being sent */
	struct nb_buf *out; /* whole requests not yet written (nb_remote_flush) */
	struct nb_buf *rx; /* the payload of the reply being dispatched */
	struct nb_call *calls[NB_CALL_BUCKETS];
	size_t inflight;
	uint32_t next_id;
	int broken;
	char server[NB_SOFTWARE_MAX + 1];
	void (*before_write)(void *arg);
	void *before_arg;
};

static int nb_remote_fail(struct nb_remote *r, int e)
{
	if (e != 0)
		r->broken = 1;
	return e;
}

/* Text the remote login printed before the server's answer to our HELLO
 * (wire/noise.h) is skipped, and named at each connection (as often as
 * "connected to" is logged) with what to change: it costs little, but
 * it is not what the login should print. */
static int nb_remote_skip_noise(struct nb_remote *r, char *errbuf, size_t errsz)
{
	static const uint8_t first[] = {NB_MSG_HELLO, NB_MSG_ERROR};
	struct nb_noise noise;
	int e = nb_noise_skip(&r->rd, first, sizeof(first), NB_REMOTE_NOISE_MAX, &noise);
	if (e == NB_E_TOOBIG)
		snprintf(errbuf, errsz,
			 "the remote login printed more than %d KiB and nbfs-server did not answer "
			 "(it began \"%s\"); " NB_REMOTE_NOISE_HINT,
			 NB_REMOTE_NOISE_MAX / 1024, noise.head);
	else if (e == NB_E_EOF && noise.skipped > 0)
		snprintf(errbuf, errsz, "the remote login printed \"%s\"", noise.head);
	else if (e != 0 && noise.skipped > 0)
		snprintf(errbuf, errsz,
			 "%s before nbfs-server answered; the remote login printed \"%s\"",
			 nb_strerror(e), noise.head);
	else if (e == 0 && noise.skipped > 0)
		nb_warn("skipped %zu bytes that the remote login printed before nbfs-server "
			"answered (\"%s\"); " NB_REMOTE_NOISE_HINT,
			noise.skipped, noise.head);
	return e;
}

static int nb_remote_hello(struct nb_remote *r, char *errbuf, size_t errsz)
{
	uint8_t type;
	struct nb_hello h;
	int e = nb_proto_hello_encode(r->tx, NB_PROTO_VERSION, "nbfs " NBFS_VERSION);
	errbuf[0] = '\0';
	if (e == 0)
		e = nb_frame_send(&r->t->stream, r->tx);
	if (e == 0)
		e = nb_remote_skip_noise(r, errbuf, errsz);
	if (e == 0)
		e = nb_frame_recv(&r->rd, &type, r->rx);
	if (e != 0) {
		if (!errbuf[0])
			snprintf(errbuf, errsz, "%s", nb_strerror(e));
		return e;
	}
	if (type == NB_MSG_ERROR) {
		/* A refusal comes in the framing of any version: no id. */
		struct nb_error err;
		if ((e = nb_proto_error_decode(r->rx, &err)) != 0) {
			snprintf(errbuf, errsz, "an unreadable refusal: %s", nb_strerror(e));
			return e;
		}
		snprintf(errbuf, errsz, "%s", err.text);
		e = -(int)err.code;
		nb_proto_error_free(&err);
		return e;
	}
	if (type != NB_MSG_HELLO || (e = nb_proto_hello_decode(r->rx, &h)) != 0) {
		snprintf(errbuf, errsz, "the server's first answer is not a HELLO (%s)",
			 nb_msg_name(type));
		return e ? e : NB_E_PROTO;
	}
	snprintf(r->server, sizeof(r->server), "%s", h.software);
	nb_info("connected to %s, protocol %u", h.software, h.version);
	if (h.version < NB_PROTO_VERSION) {
		snprintf(errbuf, errsz,
			 "the server (%s) speaks protocol %u and this nbfs (%s) speaks %u: upgrade "
			 "nbfs-server on the remote host",
			 h.software, h.version, NBFS_VERSION, NB_PROTO_VERSION);
		e = NB_E_VERSION;
	}
	nb_proto_hello_free(&h);
	return e;
}

int nb_remote_open(struct nb_transport *t, struct nb_remote **out, char *errbuf, size_t errsz)
{
	struct nb_remote *r = calloc(1, sizeof(*r));
	if (!r) {
		t->close(t);
		snprintf(errbuf, errsz, "out of memory");
		return -ENOMEM;
	}
	r->t = t;
	r->next_id = 1;
	int e = nb_frame_reader_init(&r->rd, &t->stream);
	r->tx = nb_buf_new(NB_FRAME_MAX + NB_FRAME_HDR);
	r->rx = nb_buf_new(NB_FRAME_MAX);
	r->out = nb_buf_new(NB_REMOTE_OUT_MAX);
	if (e == 0 && (!r->tx || !r->rx || !r->out))
		e = -ENOMEM;
	if (e != 0)
		snprintf(errbuf, errsz, "%s", nb_strerror(e));
	else
		e = nb_remote_hello(r, errbuf, errsz);
	if (e != 0) {
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
	nb_buf_free(r->out);
	free(r);
}

int nb_remote_broken(const struct nb_remote *r)
{
	return r->broken;
}

const char *nb_remote_server(const struct nb_remote *r)
{
	return r->server;
}

int nb_remote_keepalive(struct nb_remote *r)
{
	int e = r->t->keepalive ? r->t->keepalive(r->t) : 0;
	return nb_remote_fail(r, e);
}

uint32_t nb_remote_new_id(struct nb_remote *r)
{
	uint32_t id = r->next_id++;
	if (r->next_id == 0)
		r->next_id = 1;
	return id;
}

struct nb_buf *nb_remote_tx(struct nb_remote *r)
{
	return r->tx;
}

static struct nb_call **nb_remote_slot(struct nb_remote *r, uint32_t id)
{
	struct nb_call **pp = &r->calls[id % NB_CALL_BUCKETS];
	while (*pp && (*pp)->id != id)
		pp = &(*pp)->hnext;
	return pp;
}

/* Every write of requests to the transport: the hook first. */
static int nb_remote_write(struct nb_remote *r, const uint8_t *p, size_t n)
{
	if (r->before_write)
		r->before_write(r->before_arg);
	return nb_remote_fail(r, r->t->stream.write(r->t->stream.ctx, p, n));
}

int nb_remote_send(struct nb_remote *r, uint32_t id, struct nb_call *c)
{
	if (r->broken)
		return NB_E_EOF;
	if (c) {
		struct nb_call **pp = nb_remote_slot(r, id);
		if (*pp && *pp != c)
			return nb_remote_fail(r, NB_E_PROTO); /* an id reused in flight: our bug */
		if (!*pp) {
			c->id = id;
			c->hnext = NULL;
			*pp = c;
			r->inflight++;
		}
	}
	int e = nb_frame_finish(r->tx);
	if (e != 0)
		return nb_remote_fail(r, e);
	size_t n = nb_buf_len(r->tx);
	int large = n >= NB_REMOTE_OUT_MAX / 2; /* a piece of a large file */
	if ((large || nb_buf_len(r->out) + n > NB_REMOTE_OUT_MAX) && (e = nb_remote_flush(r)) != 0)
		return e;
	if (large)
		return nb_remote_write(r, nb_buf_ptr(r->tx), n);
	return nb_remote_fail(r, nb_buf_put(r->out, nb_buf_ptr(r->tx), n));
}

int nb_remote_flush(struct nb_remote *r)
{
	size_t n = nb_buf_len(r->out);
	if (r->broken)
		return NB_E_EOF;
	if (n == 0)
		return 0;
	int e = nb_remote_write(r, nb_buf_ptr(r->out), n);
	nb_buf_reset(r->out);
	return e;
}

void nb_remote_before_write(struct nb_remote *r, void (*fn)(void *arg), void *arg)
{
	r->before_write = fn;
	r->before_arg = arg;
}

void nb_remote_forget(struct nb_remote *r, struct nb_call *c)
{
	struct nb_call **pp = nb_remote_slot(r, c->id);
	if (*pp == c) {
		*pp = c->hnext;
		r->inflight--;
	}
}

/* Hand one frame (in r->rx) to the call it answers. */
static int nb_remote_dispatch(struct nb_remote *r, uint8_t type)
{
	uint32_t id;
	int e = nb_proto_id_decode(r->rx, &id);
	if (e != 0)
		return e;
	struct nb_call **pp = nb_remote_slot(r, id);
	struct nb_call *c = *pp;
	if (!c) {
		nb_err("a %s answers request %u, which is not in flight", nb_msg_name(type), id);
		return NB_E_PROTO;
	}
	/* The handler may free c once it is done: take what we need first. */
	struct nb_call *next = c->hnext;
	e = c->on_reply(c, type, r->rx);
	if (e == NB_CALL_DONE) {
		*pp = next;
		r->inflight--;
		return 0;
	}
	return e;
}

int nb_remote_pump(struct nb_remote *r, int block)
{
	int n = 0;
	int e = nb_remote_flush(r);
	if (e != 0)
		return e;
	for (;;) {
		if (!nb_frame_buffered(&r->rd) && !(block && n == 0) && !r->t->readable(r->t))
			return n;
		uint8_t type;
		e = nb_frame_recv(&r->rd, &type, r->rx);
		if (e == 0)
			e = nb_remote_dispatch(r, type);
		if (e != 0)
			return nb_remote_fail(r, e);
		n++;
	}
}

size_t nb_remote_inflight(const struct nb_remote *r)
{
	return r->inflight;
}
