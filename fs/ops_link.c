/*
 * Hard links, made as copies. The server's tree is plain files that
 * nbfs keeps in step path by path, so two names cannot share one
 * content there; refusing link(2) made `cp -a`, `tar -x` and `rsync -aH`
 * of a tree with hard links fail on the second name, and that file was
 * missing from the mount and the server. So the new name gets a copy of
 * the content, mode, owner and times, as a hard link would show them
 * at that moment; from then on the two names are separate files (a
 * write to one does not show in the other, st_nlink stays 1).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/ops.h"
#include "fs/perm.h"
#include "fs/view.h"
#include "wire/err.h"
#include "wire/log.h"
#include "wire/pathname.h"
#include "wire/xio.h"

#define NB_LINK_COPY_CHUNK (1024 * 1024)

/* The content of the open file src into the new file dst (both FUSE
 * handles), through nb_op_write so that the cache, the queue and the
 * hash-on-write see an ordinary writer; then what a hard link shares:
 * owner, mode, times. */
static int nb_link_copy(struct fuse_file_info *src, struct fuse_file_info *dst,
			const struct stat *st)
{
	int in = nb_ops_handle(src)->fd, out = nb_ops_handle(dst)->fd;
	char *buf = malloc(NB_LINK_COPY_CHUNK);
	int r = buf ? 0 : -ENOMEM;
	for (off_t off = 0; r == 0;) {
		ssize_t n = nb_xio_pread_full(in, buf, NB_LINK_COPY_CHUNK, off);
		if (n <= 0) {
			r = (int)n;
			break;
		}
		for (ssize_t done = 0; r == 0 && done < n;) {
			int k = nb_op_write(NULL, buf + done, (size_t)(n - done), off + done, dst);
			if (k <= 0)
				r = k < 0 ? k : -EIO;
			else
				done += k;
		}
		off += n;
	}
	free(buf);
	if (r != 0)
		return r;
	/* Not ours to give away when nbfs runs unprivileged: then every
	 * file is the mounting user's anyway. */
	if (fchown(out, st->st_uid, st->st_gid) != 0 && errno != EPERM)
		return -errno;
	const struct timespec times[2] = {st->st_atim, st->st_mtim};
	if (fchmod(out, st->st_mode & 07777) != 0 || futimens(out, times) != 0)
		return -errno;
	return 0;
}

static int nb_link_file(struct nb_fs *fs, const char *from, const char *to, const struct stat *st)
{
	/* Linux's protected_hardlinks, roughly: who may not read the file
	 * may not link it (the copy is read by nbfs, not by the caller). */
	int r = nb_perm_open(fs, nb_ops_wpath(from), O_RDONLY);
	if (r != 0)
		return r == -EACCES ? -EPERM : r;
	struct fuse_file_info src = {.flags = O_RDONLY}, dst = {.flags = O_WRONLY | O_EXCL};
	if ((r = nb_op_open(from, &src)) != 0)
		return r;
	if ((r = nb_op_create(to, st->st_mode & 07777, &dst)) == 0) {
		r = nb_link_copy(&src, &dst, st);
		nb_op_release(NULL, &dst);
		if (r != 0 && nb_op_unlink(to) != 0)
			nb_warn("%s: a copy for a hard link failed and stays: %s", nb_ops_wpath(to),
				nb_strerror(r));
	}
	nb_op_release(NULL, &src);
	return r;
}

int nb_op_link(const char *from, const char *to)
{
	struct nb_fs *fs = nb_ops_fs();
	const char *wfrom = nb_ops_wpath(from);
	struct stat st;
	int staged;
	int r = nb_perm_path(fs, wfrom, 0);
	if (r == 0)
		r = nb_view_lookup(fs, wfrom, &st, &staged);
	if (r != 0)
		return r;
	if (S_ISDIR(st.st_mode))
		return -EPERM; /* as link(2) says for directories */
	if (S_ISLNK(st.st_mode)) {
		/* link(2) links the symlink itself, not what it points to. */
		char target[NB_LINK_MAX + 1];
		if ((r = nb_op_readlink(from, target, sizeof(target))) != 0)
			return r;
		return nb_op_symlink(target, to);
	}
	if (!S_ISREG(st.st_mode))
		return nb_op_mknod(to, st.st_mode, st.st_rdev); /* FIFOs, sockets: local only */
	r = nb_link_file(fs, from, to, &st);
	if (r == 0)
		nb_debug("%s: hard link made as a copy of %s", nb_ops_wpath(to), wfrom);
	return r;
}
