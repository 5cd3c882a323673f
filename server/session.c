/*
 * One protocol session of nbfs-server: the session's life, its replies,
 * HELLO, PING and MOUNT, and the dispatch of each request to its handler
 * (namespace requests in session_ns.c, uploads in session_put.c). The
 * contract is in session.h.
 */
#include "server/session.h"
#include "server/session_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "server/settime.h"
#include "wire/err.h"
#include "wire/log.h"
#include "wire/pathname.h"
#include "wire/proto.h"
#include "wire/xio.h"

int nb_session_init(struct nb_session *s, struct nb_root root, struct nb_stream *out)
{
	memset(s, 0, sizeof(*s));
	s->root = root;
	s->out = out;
	s->idle_ms = NB_SESSION_IDLE_DEFAULT_MS;
	for (size_t i = 0; i < NB_SESSION_UPLOADS_MAX; i++)
		s->uploads[i].dest_dirfd = -1;
	nb_batch_init(&s->batch, root);
	s->tx = nb_buf_new(NB_FRAME_MAX + NB_FRAME_HDR);
	s->held = nb_buf_new(NB_SESSION_HELD_MAX);
	return s->tx && s->held ? 0 : -ENOMEM;
}

void nb_session_end_upload(struct nb_session *s, struct nb_upload *u, int discard)
{
	if (!u->open)
		return;
	nb_partial_close(&u->partial, discard); /* no-op once published */
	nb_xio_close(u->dest_dirfd);
	free(u->path);
	memset(u, 0, sizeof(*u));
	u->dest_dirfd = -1;
	s->nuploads--;
}

void nb_session_free(struct nb_session *s)
{
	for (size_t i = 0; i < NB_SESSION_UPLOADS_MAX; i++)
		nb_session_end_upload(s, &s->uploads[i], 0);
	nb_batch_free(&s->batch);
	nb_buf_free(s->tx);
	s->tx = NULL;
	nb_buf_free(s->held);
	s->held = NULL;
	free(s->io);
	s->io = NULL;
}

/* Write the replies held back. */
static int nb_session_release(struct nb_session *s)
{
	size_t n = nb_buf_len(s->held);
	if (n == 0)
		return 0;
	int r = s->out->write(s->out->ctx, nb_buf_ptr(s->held), n);
	nb_buf_reset(s->held);
	return r;
}

int nb_session_send(struct nb_session *s)
{
	if (!s->holding)
		return nb_frame_send(s->out, s->tx);
	int r = nb_frame_finish(s->tx);
	size_t n = nb_buf_len(s->tx);
	if (r == 0 && nb_buf_len(s->held) + n > NB_SESSION_HELD_MAX)
		r = nb_session_release(s);
	if (r == 0 && n > NB_SESSION_HELD_MAX)
		return s->out->write(s->out->ctx, nb_buf_ptr(s->tx), n);
	return r ? r : nb_buf_put(s->held, nb_buf_ptr(s->tx), n);
}

int nb_session_reply_error(struct nb_session *s, uint32_t id, uint8_t type, int r,
				  const char *what)
{
	char text[NB_ERRTEXT_MAX];
	snprintf(text, sizeof(text), "%s: %s", what, nb_strerror(r));
	nb_debug("-> %s %u %s", nb_msg_name(type), id, text);
	int w = nb_proto_error_encode(s->tx, id, type, nb_proto_wire_errno(r), text);
	return w ? w : nb_session_send(s);
}

int nb_session_error(struct nb_session *s, uint32_t id, int r, const char *what)
{
	return nb_session_reply_error(s, id, NB_MSG_ERROR, r, what);
}

int nb_session_ok(struct nb_session *s, uint32_t id)
{
	int r = nb_proto_ok_encode(s->tx, id);
	return r ? r : nb_session_send(s);
}

/* Before the client's HELLO has been accepted, the client's framing is
 * not known: answer in protocol 1's, which every version reads there. */
static int nb_session_refuse(struct nb_session *s, uint32_t code, const char *text)
{
	int r = nb_proto_refuse_encode(s->tx, code, text);
	return r ? r : nb_session_send(s);
}

/* The peer broke the protocol: say so (best effort), with the id of the
 * offending frame (0 if it had none), and end the session. r is the
 * decoder's error, or NB_E_PROTO. */
int nb_session_violation(struct nb_session *s, uint32_t id, int r, const char *fmt, ...)
{
	char what[512], text[NB_ERRTEXT_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	r = r < 0 ? r : NB_E_PROTO;
	snprintf(text, sizeof(text), "%s: %s", what, nb_strerror(r));
	nb_err("%s", text);
	if (!s->hello_done)
		nb_session_refuse(s, nb_proto_wire_errno(r), text);
	else if (nb_proto_error_encode(s->tx, id, NB_MSG_ERROR, nb_proto_wire_errno(r), text) == 0)
		nb_session_send(s);
	return r;
}

int nb_session_bad_frame(struct nb_session *s, uint32_t id, int r, uint8_t type)
{
	return nb_session_violation(s, id, r, "bad %s frame", nb_msg_name(type));
}

struct nb_upload *nb_session_upload(struct nb_session *s, uint32_t id)
{
	for (size_t i = 0; i < NB_SESSION_UPLOADS_MAX; i++)
		if (s->uploads[i].open && s->uploads[i].id == id)
			return &s->uploads[i];
	return NULL;
}

/* A request with this id has not been answered yet: an open upload's
 * (until PUT_END or PUT_ABORT is answered) or a held PUT_SMALL's. */
int nb_session_id_busy(struct nb_session *s, uint32_t id)
{
	return nb_session_upload(s, id) != NULL || nb_batch_has_id(&s->batch, id);
}

/* Version negotiation: each side's HELLO names the highest version it
 * speaks. A client of protocol 2 or later gets our HELLO (2) and the
 * session goes on in protocol 2. An older one gets a refusal it can
 * read and show, naming the side to upgrade, and the session ends. */
static int nb_session_hello(struct nb_session *s, struct nb_buf *p)
{
	struct nb_hello h;
	int r = nb_proto_hello_decode(p, &h);
	if (r != 0)
		return nb_session_bad_frame(s, 0, r, NB_MSG_HELLO);
	nb_info("client %s, protocol %u", h.software, h.version);
	if (h.version < NB_PROTO_VERSION) {
		char text[NB_ERRTEXT_MAX];
		snprintf(text, sizeof(text),
			 "this nbfs-server (nbfs-server %s) speaks protocol %d and the client (%s) "
			 "speaks protocol %u: upgrade nbfs on the client",
			 NBFS_VERSION, NB_PROTO_VERSION, h.software[0] ? h.software : "unnamed",
			 h.version);
		nb_err("%s", text);
		nb_proto_hello_free(&h);
		nb_session_refuse(s, EPROTONOSUPPORT, text);
		return NB_E_VERSION;
	}
	nb_proto_hello_free(&h);
	s->hello_done = 1;
	if ((r = nb_proto_hello_encode(s->tx, NB_PROTO_VERSION, "nbfs-server " NBFS_VERSION)) != 0)
		return r;
	return nb_session_send(s);
}

static int nb_session_ping(struct nb_session *s, uint32_t id, struct nb_buf *p)
{
	int r = nb_proto_empty_decode(p);
	if (r != 0)
		return nb_session_bad_frame(s, id, r, NB_MSG_PING);
	return nb_session_ok(s, id);
}

/* MOUNT: the client names its mount (so that a later session of the
 * same mount may take over this one's partials) and how long it may
 * stay silent. Once per session, before any upload. */
static int nb_session_mount(struct nb_session *s, uint32_t id, struct nb_buf *p)
{
	struct nb_mount_msg m;
	int r = nb_proto_mount_decode(p, &m);
	if (r != 0)
		return nb_session_bad_frame(s, id, r, NB_MSG_MOUNT);
	if (s->has_mount || s->nuploads > 0)
		return nb_session_error(s, id, -EINVAL, "MOUNT must come once, before any upload");
	memcpy(s->mount, m.id, NB_MOUNT_ID_LEN);
	s->has_mount = 1;
	if (m.idle_s > 0)
		s->idle_ms = 1000L * (m.idle_s < NB_MOUNT_IDLE_MIN   ? NB_MOUNT_IDLE_MIN :
				      m.idle_s > NB_MOUNT_IDLE_MAX ? NB_MOUNT_IDLE_MAX :
								     (long)m.idle_s);
	nb_debug("mount %02x%02x%02x%02x..., idle limit %ld s", m.id[0], m.id[1], m.id[2], m.id[3],
		 s->idle_ms / 1000);
	return nb_session_ok(s, id);
}

/* Requests that read or change names the held PUT_SMALLs may touch:
 * the batch is published first, so they see what the client sent
 * before them, and their answers come after the PUT_SMALLs'. MKDIR and
 * PUT_SMALL flush only when they name a held path (see there); PING,
 * PUT_DATA and PUT_ABORT touch no name. */
static int nb_session_flushes(uint8_t type)
{
	switch (type) {
	case NB_MSG_STAT:
	case NB_MSG_LIST:
	case NB_MSG_GET:
	case NB_MSG_UNLINK:
	case NB_MSG_UNLINK_IF:
	case NB_MSG_RMDIR:
	case NB_MSG_RENAME:
	case NB_MSG_SYMLINK:
	case NB_MSG_SYMLINK_NEW:
	case NB_MSG_PUT_OPEN:
	case NB_MSG_PUT_END:
	case NB_MSG_PUT_STREAM:
	case NB_MSG_PUT_FINISH:
		return 1;
	default:
		return 0;
	}
}

int nb_session_handle(struct nb_session *s, uint8_t type, struct nb_buf *payload)
{
	uint32_t id;
	int r;
	if (!s->hello_done) {
		if (type != NB_MSG_HELLO)
			return nb_session_violation(s, 0, NB_E_PROTO, "%s before HELLO",
						    nb_msg_name(type));
		nb_debug("<- HELLO");
		return nb_session_hello(s, payload);
	}
	if (type == NB_MSG_HELLO)
		return nb_session_violation(s, 0, NB_E_PROTO, "a second HELLO");
	if (nb_proto_id_decode(payload, &id) != 0)
		return nb_session_violation(s, 0, NB_E_PROTO, "%s (type %u) without a request id",
					    nb_msg_name(type), type);
	if (type != NB_MSG_PUT_DATA)
		nb_debug("<- %s %u", nb_msg_name(type), id);
	/* PUT_DATA, PUT_END, PUT_FINISH and PUT_ABORT name an open upload
	 * by its id; every other request needs an id no unanswered request
	 * holds. */
	if (type != NB_MSG_PUT_DATA && type != NB_MSG_PUT_END && type != NB_MSG_PUT_FINISH &&
	    type != NB_MSG_PUT_ABORT && nb_session_id_busy(s, id))
		return nb_session_violation(s, id, NB_E_PROTO,
					    "%s with id %u, which an unanswered request holds",
					    nb_msg_name(type), id);
	if (nb_session_flushes(type) && (r = nb_session_flush(s)) != 0)
		return r;
	switch (type) {
	case NB_MSG_STAT:
		return nb_session_stat(s, id, payload);
	case NB_MSG_LIST:
		return nb_session_list(s, id, payload);
	case NB_MSG_MKDIR:
		return nb_session_mkdir(s, id, payload);
	case NB_MSG_UNLINK:
	case NB_MSG_RMDIR:
		return nb_session_remove(s, id, type, payload);
	case NB_MSG_UNLINK_IF:
		return nb_session_unlink_if(s, id, payload);
	case NB_MSG_RENAME:
		return nb_session_rename(s, id, payload);
	case NB_MSG_SYMLINK:
	case NB_MSG_SYMLINK_NEW:
		return nb_session_symlink(s, id, type, payload);
	case NB_MSG_SETTIME:
		return nb_settime_handle(s, id, payload);
	case NB_MSG_GET:
		return nb_session_get(s, id, payload);
	case NB_MSG_PUT_OPEN:
		return nb_session_put_open(s, id, payload);
	case NB_MSG_PUT_DATA:
		return nb_session_put_data(s, id, payload);
	case NB_MSG_PUT_END:
		return nb_session_put_end(s, id, payload);
	case NB_MSG_PUT_ABORT:
		return nb_session_put_abort(s, id, payload);
	case NB_MSG_PUT_SMALL:
		return nb_session_put_small(s, id, payload);
	case NB_MSG_PUT_STREAM:
		return nb_session_put_stream(s, id, payload);
	case NB_MSG_PUT_FINISH:
		return nb_session_put_finish(s, id, payload);
	case NB_MSG_PING:
		return nb_session_ping(s, id, payload);
	case NB_MSG_MOUNT:
		return nb_session_mount(s, id, payload);
	default:
		/* Unknown requests from a newer client: refuse this one,
		 * keep the session. */
		return nb_session_error(s, id, -ENOSYS, nb_msg_name(type));
	}
}

static int nb_session_answer(void *ctx, uint32_t id, int r, const char *path)
{
	struct nb_session *s = ctx;
	if (r == 0)
		return nb_session_ok(s, id);
	return nb_session_error(s, id, r, r == -EEXIST ? NB_CONFLICT_TEXT : path);
}

/* The answers to a batch leave together: one write, so one wake-up of
 * sshd and one SSH packet for up to NB_BATCH_FILES_MAX files instead of
 * one each. */
int nb_session_flush(struct nb_session *s)
{
	s->holding = 1;
	int r = nb_batch_flush(&s->batch, nb_session_answer, s);
	s->holding = 0;
	int w = nb_session_release(s);
	return r ? r : w;
}

int nb_session_idle(struct nb_session *s, const struct nb_frame_reader *in)
{
	if (nb_batch_count(&s->batch) == 0 || nb_frame_ready(in))
		return 0;
	/* A client sending files as they are written (cp -r into the
	 * mount) leaves a short gap after each: wait that long for the
	 * next, up to NB_SESSION_LINGER_MS from the oldest held file, so
	 * that one flush (its fsyncs of directories, its wake-ups) serves
	 * many files, not the one or two of each gap. A client that has
	 * stopped to wait for answers pays one gap. */
	long long left = NB_SESSION_LINGER_MS - nb_batch_age_ms(&s->batch);
	if (in->wait && left > 0 && !nb_batch_full(&s->batch) &&
	    in->wait(in->s->ctx, left < NB_SESSION_GAP_MS ? (long)left : NB_SESSION_GAP_MS) > 0)
		return 0;
	return nb_session_flush(s);
}

int nb_session_step(struct nb_session *s, struct nb_frame_reader *in, struct nb_buf *payload)
{
	uint8_t type;
	int r = nb_session_idle(s, in);
	if (r != 0)
		return r;
	r = nb_frame_recv(in, &type, payload);
	if (r == NB_E_EOF || r == -ECANCELED) { /* the end, or a stop signal */
		int f = nb_session_flush(s);
		return f ? f : r;
	}
	if (r == 0)
		return nb_session_handle(s, type, payload);
	if (nb_frame_parse(in->rx, &type, payload) == NB_E_SHORT) {
		/* The input ended, or failed, inside a frame: the requests
		 * before it still get their answers. */
		if (r == NB_E_PROTO)
			nb_err("the input ended inside a frame");
		else
			nb_err("reading request: %s", nb_strerror(r));
		nb_session_flush(s);
	} else {
		nb_session_violation(s, 0, r, "frame header");
	}
	return r;
}

int nb_session_run(struct nb_session *s, struct nb_frame_reader *in)
{
	struct nb_buf *payload = nb_buf_new(NB_FRAME_MAX);
	if (!payload)
		return -ENOMEM;
	int r;
	while ((r = nb_session_step(s, in, payload)) == 0)
		;
	nb_buf_free(payload);
	return r == NB_E_EOF ? 0 : r;
}
