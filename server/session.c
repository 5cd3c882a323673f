#include "server/session.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
	s->dest_dirfd = -1;
	s->tx = nb_buf_new(NB_FRAME_MAX + NB_FRAME_HDR);
	return s->tx ? 0 : -ENOMEM;
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
	nb_buf_free(s->tx);
	s->tx = NULL;
	free(s->io);
	s->io = NULL;
}

static int nb_session_send(struct nb_session *s)
{
	return nb_frame_send(s->out, s->tx);
}

static int nb_session_reply_error(struct nb_session *s, uint8_t type, int r, const char *what)
{
	char text[NB_ERRTEXT_MAX];
	snprintf(text, sizeof(text), "%s: %s", what, nb_strerror(r));
	nb_debug("-> %s %s", nb_msg_name(type), text);
	int w = nb_proto_error_encode(s->tx, type, nb_proto_wire_errno(r), text);
	return w ? w : nb_session_send(s);
}

static int nb_session_error(struct nb_session *s, int r, const char *what)
{
	return nb_session_reply_error(s, NB_MSG_ERROR, r, what);
}

static int nb_session_ok(struct nb_session *s)
{
	int r = nb_proto_ok_encode(s->tx);
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

/* Fill a from st; for a symlink, read its target into linkbuf (which
 * a->link then points to). */
static void nb_attr_from_stat(struct nb_attr *a, const struct stat *st, int dirfd, const char *name,
			      char linkbuf[NB_PATH_MAX + 1])
{
	a->mode = (uint32_t)st->st_mode;
	a->size = S_ISDIR(st->st_mode) ? 0 : (uint64_t)st->st_size;
	a->mtime_s = st->st_mtim.tv_sec;
	a->mtime_ns = (uint32_t)st->st_mtim.tv_nsec;
	a->link = NULL;
	if (S_ISLNK(st->st_mode) && dirfd >= 0) {
		ssize_t n = readlinkat(dirfd, name, linkbuf, NB_PATH_MAX);
		if (n > 0) {
			linkbuf[n] = 0;
			a->link = linkbuf;
		}
	}
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
	if ((r = nb_proto_hello_encode(s->tx, NB_PROTO_VERSION, "nbfs-server " NBFS_VERSION)) != 0)
		return r;
	return nb_session_send(s);
}

static int nb_session_stat(struct nb_session *s, struct nb_buf *p)
{
	char *path = NULL;
	struct stat st;
	struct nb_attr a;
	char linkbuf[NB_PATH_MAX + 1];
	int dirfd = -1;
	const char *leaf = "";
	int r = nb_proto_path_decode(p, &path);
	if (r != 0)
		return nb_session_violation(s, r, NB_MSG_STAT);
	if ((r = nb_root_stat(&s->root, path, &st)) != 0) {
		r = nb_session_error(s, r, path);
		goto out;
	}
	if (S_ISLNK(st.st_mode) && nb_root_parent(&s->root, path, -1, &dirfd, &leaf) != 0)
		dirfd = -1;
	nb_attr_from_stat(&a, &st, dirfd, leaf, linkbuf);
	nb_xio_close(dirfd);
	if ((r = nb_proto_attr_encode(s->tx, &a)) == 0)
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
	if ((r = nb_proto_dirents_begin(s->tx)) != 0)
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
		char linkbuf[NB_PATH_MAX + 1];
		nb_attr_from_stat(&a, &st, dirfd(d), name, linkbuf);
		r = nb_proto_dirents_add(s->tx, name, &a);
		if (r == NB_E_TOOBIG) {
			if ((r = nb_session_send(s)) != 0 || (r = nb_proto_dirents_begin(s->tx)) != 0 ||
			    (r = nb_proto_dirents_add(s->tx, name, &a)) != 0)
				goto out;
		} else if (r != 0) {
			goto out;
		}
	}
	if (nb_proto_dirents_count(s->tx) > 0 && (r = nb_session_send(s)) != 0)
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

/* UNLINK, RMDIR: remove one name beneath the root. */
static int nb_session_remove(struct nb_session *s, uint8_t type, struct nb_buf *p)
{
	char *path = NULL;
	int dirfd;
	const char *leaf;
	int r = nb_proto_path_decode(p, &path);
	if (r != 0)
		return nb_session_violation(s, r, type);
	if ((r = nb_root_parent(&s->root, path, -1, &dirfd, &leaf)) == 0) {
		if (unlinkat(dirfd, leaf, type == NB_MSG_RMDIR ? AT_REMOVEDIR : 0) != 0)
			r = -errno;
		else
			r = nb_xio_fsync(dirfd);
		nb_xio_close(dirfd);
	}
	r = r ? nb_session_error(s, r, path) : nb_session_ok(s);
	free(path);
	return r;
}

static int nb_session_rename(struct nb_session *s, struct nb_buf *p)
{
	char *from = NULL, *to = NULL;
	int fromfd = -1, tofd = -1;
	const char *fleaf, *tleaf;
	int r = nb_proto_path2_decode(p, &from, &to);
	if (r != 0)
		return nb_session_violation(s, r, NB_MSG_RENAME);
	if ((r = nb_root_parent(&s->root, from, -1, &fromfd, &fleaf)) == 0 &&
	    (r = nb_root_parent(&s->root, to, 0755, &tofd, &tleaf)) == 0) {
		if (renameat(fromfd, fleaf, tofd, tleaf) != 0)
			r = -errno;
		else if ((r = nb_xio_fsync(tofd)) == 0)
			r = nb_xio_fsync(fromfd);
	}
	nb_xio_close(fromfd);
	nb_xio_close(tofd);
	r = r ? nb_session_error(s, r, from) : nb_session_ok(s);
	free(from);
	free(to);
	return r;
}

/* The symlink is made in the scratch directory and renamed into place, so
 * a symlink and a file of the same name are never both missing. */
static int nb_session_symlink(struct nb_session *s, struct nb_buf *p)
{
	char *path = NULL, *target = NULL, tmp[64];
	int dirfd = -1, scratch = -1;
	const char *leaf;
	int r = nb_proto_path2_decode(p, &path, &target);
	if (r != 0)
		return nb_session_violation(s, r, NB_MSG_SYMLINK);
	if (!target[0]) {
		r = -EINVAL;
		goto reply;
	}
	if ((r = nb_root_parent(&s->root, path, 0755, &dirfd, &leaf)) != 0)
		goto reply;
	if ((scratch = nb_partial_dirfd(&s->root)) < 0) {
		r = scratch;
		goto reply;
	}
	snprintf(tmp, sizeof(tmp), "symlink-%ld-%u", (long)getpid(), (unsigned)rand());
	if (symlinkat(target, scratch, tmp) != 0) {
		r = -errno;
		goto reply;
	}
	if (renameat(scratch, tmp, dirfd, leaf) != 0) {
		r = -errno;
		unlinkat(scratch, tmp, 0);
		goto reply;
	}
	r = nb_xio_fsync(dirfd);
reply:
	nb_xio_close(dirfd);
	nb_xio_close(scratch);
	r = r ? nb_session_error(s, r, path) : nb_session_ok(s);
	free(path);
	free(target);
	return r;
}

/* Send a file: GET_INFO, GET_DATA from the agreed offset, then OK. */
static int nb_session_get(struct nb_session *s, struct nb_buf *p)
{
	struct nb_get g;
	struct nb_get_info info;
	struct stat st;
	int dirfd = -1, fd = -1;
	const char *leaf;
	int r = nb_proto_get_decode(p, &g);
	if (r != 0)
		return nb_session_violation(s, r, NB_MSG_GET);
	if (s->uploading) {
		nb_proto_get_free(&g);
		return nb_session_violation(s, NB_E_PROTO, NB_MSG_GET);
	}
	if ((r = nb_root_parent(&s->root, g.path, -1, &dirfd, &leaf)) != 0)
		goto reply;
	/* O_NONBLOCK: a FIFO planted in the root must not hang the session
	 * in open(); anything but a regular file is refused below. */
	fd = openat(dirfd, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		r = errno == ELOOP ? -EINVAL : -errno;
		goto reply;
	}
	if (!S_ISREG(st.st_mode)) {
		r = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		goto reply;
	}
	memset(&info, 0, sizeof(info));
	if (!nb_partial_recorded_md5(fd, info.md5)) {
		if ((r = nb_md5_fd(fd, (uint64_t)st.st_size, info.md5, NULL)) != 0)
			goto reply;
		nb_partial_record(fd, info.md5, (uint64_t)st.st_size);
	}
	char linkbuf[NB_PATH_MAX + 1];
	nb_attr_from_stat(&info.attr, &st, -1, NULL, linkbuf);
	info.start = g.has_expect && g.offset <= (uint64_t)st.st_size &&
				     memcmp(g.expect, info.md5, NB_MD5_LEN) == 0
			     ? g.offset
			     : 0;
	if ((r = nb_proto_get_info_encode(s->tx, &info)) != 0 || (r = nb_session_send(s)) != 0)
		goto out; /* output broken: end the session */
	if (!s->io && !(s->io = malloc(NB_DATA_CHUNK))) {
		r = -ENOMEM;
		goto reply;
	}
	for (uint64_t off = info.start; off < (uint64_t)st.st_size;) {
		size_t n = (uint64_t)st.st_size - off < NB_DATA_CHUNK ? (size_t)((uint64_t)st.st_size - off)
								    : NB_DATA_CHUNK;
		uint8_t *dst;
		if ((r = nb_proto_get_data_reserve(s->tx, off, n, &dst)) != 0)
			goto out;
		ssize_t k = nb_xio_pread_full(fd, dst, n, (off_t)off);
		if (k != (ssize_t)n) {
			/* Shrunk under us: the client's MD5 check would fail;
			 * say so now. */
			r = k < 0 ? (int)k : -EAGAIN;
			goto reply;
		}
		if ((r = nb_session_send(s)) != 0)
			goto out;
		off += n;
	}
reply:
	r = r ? nb_session_error(s, r, g.path) : nb_session_ok(s);
out:
	nb_xio_close(fd);
	nb_xio_close(dirfd);
	nb_proto_get_free(&g);
	return r;
}

/* Does the destination still hold the version the client based its
 * upload on? 0, or -EEXIST: a conflict (someone else changed it). */
static int nb_session_check_base(struct nb_session *s, int dirfd, const char *leaf)
{
	struct stat st;
	if (s->base_kind == NB_BASE_ANY)
		return 0;
	if (fstatat(dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return 0; /* gone (or never there): nothing to overwrite */
	if (s->base_kind == NB_BASE_MATCH && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size == s->base_size && st.st_mtim.tv_sec == s->base_mtime_s &&
	    (uint32_t)st.st_mtim.tv_nsec == s->base_mtime_ns)
		return 0;
	/* Already exactly what we are publishing: not a conflict either. */
	if (nb_partial_matches(dirfd, leaf, s->md5, s->partial.size))
		return 0;
	return -EEXIST;
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
	s->base_kind = m.base_kind;
	s->base_size = m.base_size;
	s->base_mtime_s = m.base_mtime_s;
	s->base_mtime_ns = m.base_mtime_ns;
	memcpy(s->md5, m.md5, NB_MD5_LEN);
	s->partial.size = m.size;
	if ((r = nb_session_check_base(s, s->dest_dirfd, leaf)) != 0) {
		r = nb_session_error(s, r, "conflict: changed on the server");
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
	if ((r = nb_proto_put_offer_encode(s->tx, &offer)) == 0)
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
	if ((r = nb_session_check_base(s, s->dest_dirfd, s->dest_leaf)) != 0) {
		/* Keep the partial: the client publishes it under another
		 * name, with the same MD5, without sending it again. */
		nb_session_end_upload(s, 0);
		return nb_session_error(s, r, "conflict: changed on the server");
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
	case NB_MSG_UNLINK:
	case NB_MSG_RMDIR:
		return nb_session_remove(s, type, payload);
	case NB_MSG_RENAME:
		return nb_session_rename(s, payload);
	case NB_MSG_SYMLINK:
		return nb_session_symlink(s, payload);
	case NB_MSG_GET:
		return nb_session_get(s, payload);
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
	struct nb_buf *payload = nb_buf_new(NB_FRAME_MAX);
	if (!payload)
		return -ENOMEM;
	int r;
	for (;;) {
		uint8_t type;
		r = nb_frame_recv(in, &type, payload);
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
		if ((r = nb_session_handle(s, type, payload)) != 0)
			break;
	}
	nb_buf_free(payload);
	return r;
}
