/*
 * The namespace requests of a session: STAT, LIST, MKDIR, UNLINK,
 * UNLINK_IF, RMDIR, RENAME, SYMLINK, SYMLINK_NEW and GET, each resolved
 * beneath the session's root. Dispatched by session.c; the contract is in
 * session.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "server/partial.h"
#include "server/publock.h"
#include "server/session.h"
#include "server/session_int.h"
#include "wire/err.h"
#include "wire/log.h"
#include "wire/pathname.h"
#include "wire/proto.h"
#include "wire/xio.h"

/* Fill a from st; for a symlink, read its target into linkbuf (which
 * a->link then points to). */
static void nb_attr_from_stat(struct nb_attr *a, const struct stat *st, int dirfd, const char *name,
			      char linkbuf[NB_LINK_MAX + 1])
{
	a->mode = (uint32_t)st->st_mode;
	a->size = S_ISDIR(st->st_mode) ? 0 : (uint64_t)st->st_size;
	a->mtime_s = st->st_mtim.tv_sec;
	a->mtime_ns = (uint32_t)st->st_mtim.tv_nsec;
	a->link = NULL;
	if (S_ISLNK(st->st_mode) && dirfd >= 0) {
		ssize_t n = readlinkat(dirfd, name, linkbuf, NB_LINK_MAX);
		if (n > 0) {
			linkbuf[n] = 0;
			a->link = linkbuf;
		}
	}
}

int nb_session_stat(struct nb_session *s, uint32_t id, struct nb_buf *p)
{
	char *path = NULL;
	struct stat st;
	struct nb_attr a;
	char linkbuf[NB_LINK_MAX + 1];
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

int nb_session_list(struct nb_session *s, uint32_t id, struct nb_buf *p)
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
		char linkbuf[NB_LINK_MAX + 1];
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

int nb_session_mkdir(struct nb_session *s, uint32_t id, struct nb_buf *p)
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
int nb_session_remove(struct nb_session *s, uint32_t id, uint8_t type, struct nb_buf *p)
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

/* UNLINK_IF: remove the file at the path only if it is the version the
 * client last saw there (its base); someone else's change since stays
 * (EEXIST). The check and the unlink run under the publish lock, as an
 * upload's check and rename do, so another mount publishing to the name
 * goes wholly before or after them. */
int nb_session_unlink_if(struct nb_session *s, uint32_t id, struct nb_buf *p)
{
	struct nb_unlink_if m;
	int dirfd = -1, pdirfd = -1, lock = -1;
	const char *leaf;
	struct stat st;
	int r = nb_proto_unlink_if_decode(p, &m);
	if (r != 0)
		return nb_session_bad_frame(s, id, r, NB_MSG_UNLINK_IF);
	struct nb_base base = {m.base_kind, m.base_size, m.base_mtime_s, m.base_mtime_ns};
	if ((r = nb_root_parent(&s->root, m.path, -1, &dirfd, &leaf)) != 0)
		goto reply;
	if ((r = pdirfd = nb_partial_dirfd(&s->root)) < 0 || (r = lock = nb_publock_take(pdirfd)) < 0)
		goto reply;
	r = 0;
	if (fstatat(dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW) != 0)
		r = -errno;
	else if (S_ISDIR(st.st_mode))
		r = -EISDIR;
	else if (!nb_base_is(&base, &st))
		r = -EEXIST;
	else if (unlinkat(dirfd, leaf, 0) != 0)
		r = -errno;
	nb_publock_drop(lock);
	if (r == 0)
		r = nb_xio_fsync(dirfd);
reply:
	nb_xio_close(pdirfd);
	nb_xio_close(dirfd);
	r = r ? nb_session_error(s, id, r, r == -EEXIST ? NB_CONFLICT_TEXT : m.path)
	      : nb_session_ok(s, id);
	free(m.path);
	return r;
}

int nb_session_rename(struct nb_session *s, uint32_t id, struct nb_buf *p)
{
	char *from = NULL, *to = NULL;
	int fromfd = -1, tofd = -1;
	const char *fleaf, *tleaf;
	int r = nb_proto_path2_decode(p, &from, &to);
	if (r != 0)
		return nb_session_bad_frame(s, id, r, NB_MSG_RENAME);
	/* A missing source is ENOENT before the destination's missing
	 * parents are made: a RENAME replayed after it was done (or of a
	 * name never sent) must not leave empty directories behind. */
	struct stat st;
	if ((r = nb_root_parent(&s->root, from, -1, &fromfd, &fleaf)) == 0 &&
	    (r = fstatat(fromfd, fleaf, &st, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno) == 0 &&
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

/* Is the symlink at dirfd/leaf one to target? */
static int nb_link_is(int dirfd, const char *leaf, const char *target)
{
	char have[NB_LINK_MAX + 1];
	ssize_t n = readlinkat(dirfd, leaf, have, sizeof(have) - 1);
	if (n < 0)
		return 0;
	have[n] = 0;
	return strcmp(have, target) == 0;
}

/* Move the new link scratch/tmp to dirfd/leaf. SYMLINK replaces what is
 * there. SYMLINK_NEW takes only an empty place, and takes the same link
 * found there (a replay whose answer was lost) as done; anything else
 * there is someone else's: EEXIST, kept. */
static int nb_symlink_place(int scratch, const char *tmp, int dirfd, const char *leaf,
			    const char *target, int is_new)
{
	if (!is_new)
		return renameat(scratch, tmp, dirfd, leaf) == 0 ? 0 : -errno;
	int r = renameat2(scratch, tmp, dirfd, leaf, RENAME_NOREPLACE) == 0 ? 0 : -errno;
	if (r == -EINVAL) {
		/* A filesystem without RENAME_NOREPLACE: look, then rename,
		 * under the publish lock, as an upload's publish does. */
		struct stat st;
		int lock = nb_publock_take(scratch);
		if (lock < 0)
			return lock;
		if (fstatat(dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0)
			r = -EEXIST;
		else if (errno != ENOENT)
			r = -errno;
		else
			r = renameat(scratch, tmp, dirfd, leaf) == 0 ? 0 : -errno;
		nb_publock_drop(lock);
	}
	if (r == -EEXIST && nb_link_is(dirfd, leaf, target))
		r = 0;
	return r;
}

/* SYMLINK, SYMLINK_NEW (type). The symlink is made in the scratch
 * directory and renamed into place, so a symlink and a file of the same
 * name are never both missing. */
int nb_session_symlink(struct nb_session *s, uint32_t id, uint8_t type, struct nb_buf *p)
{
	char *path = NULL, *target = NULL, tmp[64];
	int dirfd = -1, scratch = -1;
	const char *leaf;
	int r = nb_proto_path2_decode(p, &path, &target);
	if (r != 0)
		return nb_session_bad_frame(s, id, r, type);
	if (!target[0]) {
		r = -EINVAL;
		goto reply;
	}
	if (strlen(target) > NB_LINK_MAX) { /* the decoder allows a path's length */
		r = -ENAMETOOLONG;
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
	r = nb_symlink_place(scratch, tmp, dirfd, leaf, target, type == NB_MSG_SYMLINK_NEW);
	unlinkat(scratch, tmp, 0); /* left unless it was moved into place */
	if (r == 0)
		r = nb_xio_fsync(dirfd);
reply:
	nb_xio_close(dirfd);
	nb_xio_close(scratch);
	r = r ? nb_session_error(s, id, r, r == -EEXIST ? NB_CONFLICT_TEXT : path)
	      : nb_session_ok(s, id);
	free(path);
	free(target);
	return r;
}

/* Send a file: GET_INFO, GET_DATA from the agreed offset, then OK, all
 * back to back (nothing else is answered in between). */
int nb_session_get(struct nb_session *s, uint32_t id, struct nb_buf *p)
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
	char linkbuf[NB_LINK_MAX + 1];
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
