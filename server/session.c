/*
 * One protocol session of nbfs-server: decodes each request, answers it,
 * confined to the root. The contract is in session.h.
 */
#include "server/session.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "wire/err.h"
#include "wire/log.h"
#include "wire/pathname.h"
#include "wire/proto.h"
#include "wire/xio.h"

#define NB_CONFLICT_TEXT "conflict: changed on the server"

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
	return s->tx ? 0 : -ENOMEM;
}

static void nb_session_end_upload(struct nb_session *s, struct nb_upload *u, int discard)
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
	free(s->io);
	s->io = NULL;
}

static int nb_session_send(struct nb_session *s)
{
	return nb_frame_send(s->out, s->tx);
}

static int nb_session_reply_error(struct nb_session *s, uint32_t id, uint8_t type, int r,
				  const char *what)
{
	char text[NB_ERRTEXT_MAX];
	snprintf(text, sizeof(text), "%s: %s", what, nb_strerror(r));
	nb_debug("-> %s %u %s", nb_msg_name(type), id, text);
	int w = nb_proto_error_encode(s->tx, id, type, nb_proto_wire_errno(r), text);
	return w ? w : nb_session_send(s);
}

static int nb_session_error(struct nb_session *s, uint32_t id, int r, const char *what)
{
	return nb_session_reply_error(s, id, NB_MSG_ERROR, r, what);
}

static int nb_session_ok(struct nb_session *s, uint32_t id)
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
static int nb_session_violation(struct nb_session *s, uint32_t id, int r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int nb_session_violation(struct nb_session *s, uint32_t id, int r, const char *fmt, ...)
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

static int nb_session_bad_frame(struct nb_session *s, uint32_t id, int r, uint8_t type)
{
	return nb_session_violation(s, id, r, "bad %s frame", nb_msg_name(type));
}

static struct nb_upload *nb_session_upload(struct nb_session *s, uint32_t id)
{
	for (size_t i = 0; i < NB_SESSION_UPLOADS_MAX; i++)
		if (s->uploads[i].open && s->uploads[i].id == id)
			return &s->uploads[i];
	return NULL;
}

/* A request with this id has not been answered yet: an open upload's
 * (until PUT_END or PUT_ABORT is answered) or a held PUT_SMALL's. */
static int nb_session_id_busy(struct nb_session *s, uint32_t id)
{
	return nb_session_upload(s, id) != NULL || nb_batch_has_id(&s->batch, id);
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

static int nb_session_stat(struct nb_session *s, uint32_t id, struct nb_buf *p)
{
	char *path = NULL;
	struct stat st;
	struct nb_attr a;
	char linkbuf[NB_PATH_MAX + 1];
	int dirfd = -1;
	const char *leaf = "";
	int r = nb_proto_path_decode(p, &path);
	if (r != 0)
		return nb_session_bad_frame(s, id, r, NB_MSG_STAT);
	if ((r = nb_root_stat(&s->root, path, &st)) != 0) {
		r = nb_session_error(s, id, r, path);
		goto out;
	}
	if (S_ISLNK(st.st_mode) && nb_root_parent(&s->root, path, -1, &dirfd, &leaf) != 0)
		dirfd = -1;
	nb_attr_from_stat(&a, &st, dirfd, leaf, linkbuf);
	nb_xio_close(dirfd);
	if ((r = nb_proto_attr_encode(s->tx, id, &a)) == 0)
		r = nb_session_send(s);
out:
	free(path);
	return r;
}

static int nb_session_list(struct nb_session *s, uint32_t id, struct nb_buf *p)
{
	char *path = NULL;
	DIR *d = NULL;
	int r = nb_proto_path_decode(p, &path);
	if (r != 0)
		return nb_session_bad_frame(s, id, r, NB_MSG_LIST);
	int fd = nb_root_opendir(&s->root, path);
	if (fd < 0) {
		r = nb_session_error(s, id, fd, path);
		goto out;
	}
	d = fdopendir(fd);
	if (!d) {
		r = nb_session_error(s, id, -errno, path);
		nb_xio_close(fd);
		goto out;
	}
	if ((r = nb_proto_dirents_begin(s->tx, id)) != 0)
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
			if ((r = nb_session_send(s)) != 0 ||
			    (r = nb_proto_dirents_begin(s->tx, id)) != 0 ||
			    (r = nb_proto_dirents_add(s->tx, name, &a)) != 0)
				goto out;
		} else if (r != 0) {
			goto out;
		}
	}
	if (nb_proto_dirents_count(s->tx) > 0 && (r = nb_session_send(s)) != 0)
		goto out;
	r = nb_session_ok(s, id);
out:
	if (d)
		closedir(d);
	free(path);
	return r;
}

static int nb_session_mkdir(struct nb_session *s, uint32_t id, struct nb_buf *p)
{
	char *path = NULL;
	uint32_t mode;
	int r = nb_proto_mkdir_decode(p, &path, &mode);
	if (r != 0)
		return nb_session_bad_frame(s, id, r, NB_MSG_MKDIR);
	/* A directory where a held file is to go, or beneath one: publish
	 * the file first, so the MKDIR sees the tree the client made. The
	 * same for a directory above held files when the mode takes away
	 * the owner's write or search permission (a tree made read-only
	 * after its files were sent): the renames into it come first. */
	if ((nb_batch_touches(&s->batch, path) ||
	     ((mode & 0300) != 0300 && nb_batch_beneath(&s->batch, path))) &&
	    (r = nb_session_flush(s)) != 0)
		goto out;
	r = nb_root_mkdir(&s->root, path, (mode_t)mode);
	r = r ? nb_session_error(s, id, r, path) : nb_session_ok(s, id);
out:
	free(path);
	return r;
}

/* UNLINK, RMDIR: remove one name beneath the root. */
static int nb_session_remove(struct nb_session *s, uint32_t id, uint8_t type, struct nb_buf *p)
{
	char *path = NULL;
	int dirfd;
	const char *leaf;
	int r = nb_proto_path_decode(p, &path);
	if (r != 0)
		return nb_session_bad_frame(s, id, r, type);
	if ((r = nb_root_parent(&s->root, path, -1, &dirfd, &leaf)) == 0) {
		if (unlinkat(dirfd, leaf, type == NB_MSG_RMDIR ? AT_REMOVEDIR : 0) != 0)
			r = -errno;
		else
			r = nb_xio_fsync(dirfd);
		nb_xio_close(dirfd);
	}
	r = r ? nb_session_error(s, id, r, path) : nb_session_ok(s, id);
	free(path);
	return r;
}

static int nb_session_rename(struct nb_session *s, uint32_t id, struct nb_buf *p)
{
	char *from = NULL, *to = NULL;
	int fromfd = -1, tofd = -1;
	const char *fleaf, *tleaf;
	int r = nb_proto_path2_decode(p, &from, &to);
	if (r != 0)
		return nb_session_bad_frame(s, id, r, NB_MSG_RENAME);
	if ((r = nb_root_parent(&s->root, from, -1, &fromfd, &fleaf)) == 0 &&
	    (r = nb_root_parent(&s->root, to, 0755, &tofd, &tleaf)) == 0) {
		if (renameat(fromfd, fleaf, tofd, tleaf) != 0)
			r = -errno;
		else if ((r = nb_xio_fsync(tofd)) == 0)
			r = nb_xio_fsync(fromfd);
	}
	nb_xio_close(fromfd);
	nb_xio_close(tofd);
	r = r ? nb_session_error(s, id, r, from) : nb_session_ok(s, id);
	free(from);
	free(to);
	return r;
}

/* The symlink is made in the scratch directory and renamed into place, so
 * a symlink and a file of the same name are never both missing. */
static int nb_session_symlink(struct nb_session *s, uint32_t id, struct nb_buf *p)
{
	char *path = NULL, *target = NULL, tmp[64];
	int dirfd = -1, scratch = -1;
	const char *leaf;
	int r = nb_proto_path2_decode(p, &path, &target);
	if (r != 0)
		return nb_session_bad_frame(s, id, r, NB_MSG_SYMLINK);
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
	r = r ? nb_session_error(s, id, r, path) : nb_session_ok(s, id);
	free(path);
	free(target);
	return r;
}

/* Send a file: GET_INFO, GET_DATA from the agreed offset, then OK, all
 * back to back (nothing else is answered in between). */
static int nb_session_get(struct nb_session *s, uint32_t id, struct nb_buf *p)
{
	struct nb_get g;
	struct nb_get_info info;
	struct stat st;
	int dirfd = -1, fd = -1;
	const char *leaf;
	int r = nb_proto_get_decode(p, &g);
	if (r != 0)
		return nb_session_bad_frame(s, id, r, NB_MSG_GET);
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
	if ((r = nb_proto_get_info_encode(s->tx, id, &info)) != 0 || (r = nb_session_send(s)) != 0)
		goto out; /* output broken: end the session */
	if (!s->io && !(s->io = malloc(NB_DATA_CHUNK))) {
		r = -ENOMEM;
		goto reply;
	}
	for (uint64_t off = info.start; off < (uint64_t)st.st_size;) {
		size_t n = (uint64_t)st.st_size - off < NB_DATA_CHUNK ? (size_t)((uint64_t)st.st_size - off)
								    : NB_DATA_CHUNK;
		uint8_t *dst;
		if ((r = nb_proto_get_data_reserve(s->tx, id, off, n, &dst)) != 0)
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
	r = r ? nb_session_error(s, id, r, g.path) : nb_session_ok(s, id);
out:
	nb_xio_close(fd);
	nb_xio_close(dirfd);
	nb_proto_get_free(&g);
	return r;
}

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

static int nb_session_put_open(struct nb_session *s, uint32_t id, struct nb_buf *p)
{
	struct nb_put_open m;
	struct nb_put_offer offer;
	struct nb_upload *u = NULL;
	const char *leaf;
	int dirfd = -1;
	int r = nb_proto_put_open_decode(p, &m);
	if (r != 0)
		return nb_session_bad_frame(s, id, r, NB_MSG_PUT_OPEN);
	if (s->nuploads >= NB_SESSION_UPLOADS_MAX) {
		r = nb_session_error(s, id, -EBUSY, "too many uploads open in this session");
		goto out;
	}
	if ((r = nb_root_parent(&s->root, m.path, 0755, &dirfd, &leaf)) != 0) {
		dirfd = -1;
		r = nb_session_error(s, id, r, m.path);
		goto out;
	}
	struct stat st;
	if (fstatat(dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
		r = nb_session_error(s, id, -EISDIR, m.path);
		goto out;
	}
	struct nb_base base = nb_session_base(&m);
	if ((r = nb_partial_check_base(dirfd, leaf, &base, m.md5, m.size)) != 0) {
		r = nb_session_error(s, id, r, NB_CONFLICT_TEXT);
		goto out;
	}
	if (nb_partial_matches(dirfd, leaf, m.md5, m.size)) {
		/* Identical content is already published: apply the metadata
		 * and answer at once. */
		r = nb_partial_touch(dirfd, leaf, m.md5, m.size, m.mode, m.mtime_s, m.mtime_ns);
		nb_debug("%s: already present", m.path);
		r = r ? nb_session_error(s, id, r, m.path) : nb_session_ok(s, id);
		goto out;
	}
	for (size_t i = 0; i < NB_SESSION_UPLOADS_MAX && !u; i++)
		if (!s->uploads[i].open)
			u = &s->uploads[i];
	/* Another upload of the same content, in this session or another
	 * mount's, holds the partial's lock: NB_E_BUSY. An older session of
	 * our own mount is ended and its partial taken over. */
	r = nb_partial_open_as(&u->partial, &s->root, m.md5, m.size, &offer.offset,
			       offer.prefix_md5, s->has_mount ? s->mount : NULL);
	if (r == NB_E_BUSY) {
		r = nb_session_busy(s, id, &u->partial.busy, m.path);
		goto out;
	}
	if (r != 0) {
		r = nb_session_error(s, id, r, m.path);
		goto out;
	}
	if (!(u->path = strdup(m.path))) {
		nb_partial_close(&u->partial, 0);
		r = nb_session_error(s, id, -ENOMEM, m.path);
		goto out;
	}
	u->open = 1;
	u->id = id;
	u->leaf = u->path + (leaf - m.path);
	u->dest_dirfd = dirfd;
	dirfd = -1;
	u->mode = m.mode;
	u->mtime_s = m.mtime_s;
	u->mtime_ns = m.mtime_ns;
	u->base = base;
	s->nuploads++;
	nb_debug("%s: upload %u, offer %llu of %llu", m.path, id, (unsigned long long)offer.offset,
		 (unsigned long long)m.size);
	if ((r = nb_proto_put_offer_encode(s->tx, id, &offer)) == 0)
		r = nb_session_send(s);
out:
	nb_xio_close(dirfd);
	nb_proto_put_open_free(&m);
	return r;
}

static int nb_session_put_data(struct nb_session *s, uint32_t id, struct nb_buf *p)
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

static int nb_session_put_end(struct nb_session *s, uint32_t id, struct nb_buf *p)
{
	int r = nb_proto_empty_decode(p);
	if (r != 0)
		return nb_session_bad_frame(s, id, r, NB_MSG_PUT_END);
	struct nb_upload *u = nb_session_upload(s, id);
	if (!u)
		return nb_session_violation(s, id, NB_E_PROTO,
					    "PUT_END for upload %u, which is not open", id);
	if (u->failed) {
		r = u->fail_code;
		nb_session_end_upload(s, u, 0);
		return nb_session_error(s, id, r, "write");
	}
	if ((r = nb_partial_check_base(u->dest_dirfd, u->leaf, &u->base, u->partial.md5,
				       u->partial.size)) != 0) {
		/* Keep the partial: the client publishes it under another
		 * name, with the same MD5, without sending it again. */
		nb_session_end_upload(s, u, 0);
		return nb_session_error(s, id, r, NB_CONFLICT_TEXT);
	}
	r = nb_partial_publish(&u->partial, u->dest_dirfd, u->leaf, u->mode, u->mtime_s,
			       u->mtime_ns);
	nb_session_end_upload(s, u, 0);
	return r ? nb_session_error(s, id, r, "publish") : nb_session_ok(s, id);
}

static int nb_session_put_abort(struct nb_session *s, uint32_t id, struct nb_buf *p)
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

static int nb_session_put_small(struct nb_session *s, uint32_t id, struct nb_buf *p)
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
	case NB_MSG_RMDIR:
	case NB_MSG_RENAME:
	case NB_MSG_SYMLINK:
	case NB_MSG_PUT_OPEN:
	case NB_MSG_PUT_END:
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
	/* PUT_DATA, PUT_END and PUT_ABORT name an open upload by its id;
	 * every other request needs an id no unanswered request holds. */
	if (type != NB_MSG_PUT_DATA && type != NB_MSG_PUT_END && type != NB_MSG_PUT_ABORT &&
	    nb_session_id_busy(s, id))
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
	case NB_MSG_RENAME:
		return nb_session_rename(s, id, payload);
	case NB_MSG_SYMLINK:
		return nb_session_symlink(s, id, payload);
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

int nb_session_flush(struct nb_session *s)
{
	return nb_batch_flush(&s->batch, nb_session_answer, s);
}

int nb_session_idle(struct nb_session *s, const struct nb_frame_reader *in)
{
	if (nb_batch_count(&s->batch) == 0 || nb_frame_ready(in))
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
	if (r == NB_E_EOF) {
		r = nb_session_flush(s);
		return r ? r : NB_E_EOF;
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
