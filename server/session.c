#include "server/session.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sync/err.h"
#include "sync/log.h"
#include "sync/pathname.h"
#include "sync/proto.h"
#include "sync/xio.h"

void nb_session_init(struct nb_session *s, struct nb_root root, struct nb_stream *out)
{
	memset(s, 0, sizeof(*s));
	s->root = root;
	s->out = out;
	s->dest_dirfd = -1;
	nb_buf_init(&s->tx, NB_FRAME_MAX + NB_FRAME_HDR);
}

static void nb_session_end_upload(struct nb_session *s, int discard)
{
	if (s->uploading)
		nb_partial_close(&s->partial, discard); /* no-op once published */
	nb_xio_close(s->dest_dirfd);
	s->dest_dirfd = -1;
	free(s->dest_leaf);
	s->dest_leaf = NULL;
	s->uploading = s->upload_failed = 0;
}

void nb_session_free(struct nb_session *s)
{
	nb_session_end_upload(s, 0);
	nb_buf_free(&s->tx);
}

static int nb_session_send(struct nb_session *s)
{
	return nb_frame_send(s->out, &s->tx);
}

/* Map an internal code to the errno that travels on the wire. */
static uint32_t nb_session_wire_errno(int r)
{
	switch (r) {
	case NB_E_BUSY: return EBUSY;
	case NB_E_MD5: return EBADMSG;
	case NB_E_TOOBIG: return ENAMETOOLONG;
	/* Only real errno values travel; project codes become EPROTO. */
	default: return r < 0 && r > -4096 ? (uint32_t)-r : EPROTO;
	}
}

static int nb_session_reply_error(struct nb_session *s, uint8_t type, int r, const char *what)
{
	char text[NB_ERRTEXT_MAX];
	snprintf(text, sizeof(text), "%s: %s", what, nb_strerror(r));
	nb_debug("-> %s %s", nb_msg_name(type), text);
	int w = nb_proto_error_encode(&s->tx, type, nb_session_wire_errno(r), text);
	return w ? w : nb_session_send(s);
}

static int nb_session_error(struct nb_session *s, int r, const char *what)
{
	return nb_session_reply_error(s, NB_MSG_ERROR, r, what);
}

static int nb_session_ok(struct nb_session *s)
{
	int r = nb_proto_ok_encode(&s->tx);
	return r ? r : nb_session_send(s);
}

/* The peer broke the protocol: say so (best effort) and end. */
static int nb_session_violation(struct nb_session *s, int r, uint8_t type)
{
	char what[64];
	snprintf(what, sizeof(what), "bad %s frame", nb_msg_name(type));
	nb_err("%s: %s", what, nb_strerror(r));
	nb_session_error(s, r < 0 ? r : NB_E_PROTO, what);
	return r < 0 ? r : NB_E_PROTO;
}

static void nb_attr_from_stat(struct nb_attr *a, const struct stat *st)
{
	a->mode = (uint32_t)st->st_mode;
	a->size = S_ISDIR(st->st_mode) ? 0 : (uint64_t)st->st_size;
	a->mtime_s = st->st_mtim.tv_sec;
	a->mtime_ns = (uint32_t)st->st_mtim.tv_nsec;
}

static int nb_session_hello(struct nb_session *s, struct nb_buf *p)
{
	struct nb_hello h;
	int r = nb_proto_hello_decode(p, &h);
	if (r != 0)
		return nb_session_violation(s, r, NB_MSG_HELLO);
	nb_info("client %s, protocol %u", h.software, h.version);
	nb_proto_hello_free(&h);
	if (h.version < 1) {
		nb_session_error(s, NB_E_VERSION, "hello");
		return NB_E_VERSION;
	}
	s->hello_done = 1;
	if ((r = nb_proto_hello_encode(&s->tx, NB_PROTO_VERSION, "nbfs-server " NBFS_VERSION)) != 0)
		return r;
	return nb_session_send(s);
}

static int nb_session_stat(struct nb_session *s, struct nb_buf *p)
{
	char *path = NULL;
	struct stat st;
	struct nb_attr a;
	int r = nb_proto_path_decode(p, &path);
	if (r != 0)
		return nb_session_violation(s, r, NB_MSG_STAT);
	if ((r = nb_root_stat(&s->root, path, &st)) != 0) {
		r = nb_session_error(s, r, path);
		goto out;
	}
	nb_attr_from_stat(&a, &st);
	if ((r = nb_proto_attr_encode(&s->tx, &a)) == 0)
		r = nb_session_send(s);
out:
	free(path);
	return r;
}

static int nb_session_list(struct nb_session *s, struct nb_buf *p)
{
	char *path = NULL;
	DIR *d = NULL;
	int r = nb_proto_path_decode(p, &path);
	if (r != 0)
		return nb_session_violation(s, r, NB_MSG_LIST);
	int fd = nb_root_opendir(&s->root, path);
	if (fd < 0) {
		r = nb_session_error(s, fd, path);
		goto out;
	}
	d = fdopendir(fd);
	if (!d) {
		r = nb_session_error(s, -errno, path);
		nb_xio_close(fd);
		goto out;
	}
	if ((r = nb_proto_dirents_begin(&s->tx)) != 0)
		goto out;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		const char *name = de->d_name;
		if (nb_path_check_name(name, strlen(name)) != 0)
			continue;
		if (path[0] == 0 && strcmp(name, NB_RESERVED_NAME) == 0)
			continue;
		struct stat st;
		if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue; /* vanished meanwhile */
		struct nb_attr a;
		nb_attr_from_stat(&a, &st);
		r = nb_proto_dirents_add(&s->tx, name, &a);
		if (r == NB_E_TOOBIG) {
			if ((r = nb_session_send(s)) != 0 || (r = nb_proto_dirents_begin(&s->tx)) != 0 ||
			    (r = nb_proto_dirents_add(&s->tx, name, &a)) != 0)
				goto out;
		} else if (r != 0) {
			goto out;
		}
	}
	if (nb_proto_dirents_count(&s->tx) > 0 && (r = nb_session_send(s)) != 0)
		goto out;
	r = nb_session_ok(s);
out:
	if (d)
		closedir(d);
	free(path);
	return r;
}

static int nb_session_mkdir(struct nb_session *s, struct nb_buf *p)
{
	char *path = NULL;
	uint32_t mode;
	int r = nb_proto_mkdir_decode(p, &path, &mode);
	if (r != 0)
		return nb_session_violation(s, r, NB_MSG_MKDIR);
	r = nb_root_mkdir(&s->root, path, (mode_t)mode);
	r = r ? nb_session_error(s, r, path) : nb_session_ok(s);
	free(path);
	return r;
}

static int nb_session_put_open(struct nb_session *s, struct nb_buf *p)
{
	struct nb_put_open m;
	struct nb_put_offer offer;
	const char *leaf;
	int r = nb_proto_put_open_decode(p, &m);
	if (r != 0)
		return nb_session_violation(s, r, NB_MSG_PUT_OPEN);
	if (s->uploading) {
		nb_proto_put_open_free(&m);
		return nb_session_violation(s, NB_E_PROTO, NB_MSG_PUT_OPEN);
	}
	if ((r = nb_root_parent(&s->root, m.path, 0755, &s->dest_dirfd, &leaf)) != 0) {
		s->dest_dirfd = -1;
		r = nb_session_error(s, r, m.path);
		goto out;
	}
	struct stat st;
	if (fstatat(s->dest_dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
		r = nb_session_error(s, -EISDIR, m.path);
		goto out_close;
	}
	if (nb_partial_matches(s->dest_dirfd, leaf, m.md5, m.size)) {
		/* Identical content is already published: apply the metadata
		 * and answer at once. */
		r = nb_partial_touch(s->dest_dirfd, leaf, m.md5, m.size, m.mode, m.mtime_s, m.mtime_ns);
		nb_debug("%s: already present", m.path);
		r = r ? nb_session_error(s, r, m.path) : nb_session_ok(s);
		goto out_close;
	}
	r = nb_partial_open(&s->partial, &s->root, m.md5, m.size, &offer.offset, offer.prefix_md5);
	if (r != 0) {
		r = nb_session_error(s, r, m.path);
		goto out_close;
	}
	s->dest_leaf = strdup(leaf);
	if (!s->dest_leaf) {
		nb_partial_close(&s->partial, 0);
		r = nb_session_error(s, -ENOMEM, m.path);
		goto out_close;
	}
	s->uploading = 1;
	s->mode = m.mode;
	s->mtime_s = m.mtime_s;
	s->mtime_ns = m.mtime_ns;
	nb_debug("%s: offer %llu of %llu", m.path, (unsigned long long)offer.offset,
		 (unsigned long long)m.size);
	if ((r = nb_proto_put_offer_encode(&s->tx, &offer)) == 0)
		r = nb_session_send(s);
	goto out;
out_close:
	nb_xio_close(s->dest_dirfd);
	s->dest_dirfd = -1;
out:
	nb_proto_put_open_free(&m);
	return r;
}

static int nb_session_put_data(struct nb_session *s, struct nb_buf *p)
{
	uint64_t offset;
	const uint8_t *data;
	size_t n;
	int r = nb_proto_put_data_decode(p, &offset, &data, &n);
	if (r != 0 || !s->uploading)
		return nb_session_violation(s, r ? r : NB_E_PROTO, NB_MSG_PUT_DATA);
	if (s->upload_failed)
		return 0;
	if ((r = nb_partial_write(&s->partial, offset, data, n)) != 0) {
		/* Answer now, so the client stops sending, and discard what
		 * follows. The partial stays as it is (what is in it is still
		 * good) until PUT_END or PUT_ABORT says what to do with it. */
		s->upload_failed = 1;
		s->fail_code = r;
		return nb_session_reply_error(s, NB_MSG_PUT_FAIL, r, "write");
	}
	return 0;
}

static int nb_session_put_end(struct nb_session *s, struct nb_buf *p)
{
	int r = nb_proto_empty_decode(p);
	if (r != 0 || !s->uploading)
		return nb_session_violation(s, r ? r : NB_E_PROTO, NB_MSG_PUT_END);
	if (s->upload_failed) {
		r = s->fail_code;
		nb_session_end_upload(s, 0);
		return nb_session_error(s, r, "write");
	}
	r = nb_partial_publish(&s->partial, s->dest_dirfd, s->dest_leaf, s->mode, s->mtime_s,
			       s->mtime_ns);
	nb_session_end_upload(s, 0);
	return r ? nb_session_error(s, r, "publish") : nb_session_ok(s);
}

static int nb_session_put_abort(struct nb_session *s, struct nb_buf *p)
{
	int discard;
	int r = nb_proto_put_abort_decode(p, &discard);
	if (r != 0 || !s->uploading)
		return nb_session_violation(s, r ? r : NB_E_PROTO, NB_MSG_PUT_ABORT);
	nb_session_end_upload(s, discard);
	return nb_session_ok(s);
}

int nb_session_handle(struct nb_session *s, uint8_t type, struct nb_buf *payload)
{
	if (!s->hello_done && type != NB_MSG_HELLO)
		return nb_session_violation(s, NB_E_PROTO, type);
	if (type != NB_MSG_PUT_DATA)
		nb_debug("<- %s", nb_msg_name(type));
	switch (type) {
	case NB_MSG_HELLO:
		if (s->hello_done)
			return nb_session_violation(s, NB_E_PROTO, type);
		return nb_session_hello(s, payload);
	case NB_MSG_STAT:
		return nb_session_stat(s, payload);
	case NB_MSG_LIST:
		return nb_session_list(s, payload);
	case NB_MSG_MKDIR:
		return nb_session_mkdir(s, payload);
	case NB_MSG_PUT_OPEN:
		return nb_session_put_open(s, payload);
	case NB_MSG_PUT_DATA:
		return nb_session_put_data(s, payload);
	case NB_MSG_PUT_END:
		return nb_session_put_end(s, payload);
	case NB_MSG_PUT_ABORT:
		return nb_session_put_abort(s, payload);
	default:
		/* Unknown requests from a newer client: refuse this one,
		 * keep the session. Never valid in the middle of an upload. */
		if (s->uploading)
			return nb_session_violation(s, NB_E_PROTO, type);
		return nb_session_error(s, -ENOSYS, nb_msg_name(type));
	}
}

int nb_session_run(struct nb_session *s, struct nb_frame_reader *in)
{
	struct nb_buf payload;
	nb_buf_init(&payload, NB_FRAME_MAX);
	int r;
	for (;;) {
		uint8_t type;
		r = nb_frame_recv(in, &type, &payload);
		if (r == NB_E_EOF) {
			r = 0;
			break;
		}
		if (r != 0) {
			nb_err("reading request: %s", nb_strerror(r));
			if (r == NB_E_TOOBIG || r == NB_E_PROTO)
				nb_session_error(s, r, "frame");
			break;
		}
		if ((r = nb_session_handle(s, type, &payload)) != 0)
			break;
	}
	nb_buf_free(&payload);
	return r;
}
