/*
 * The FUSE namespace operations: listing, mkdir, unlink, rmdir, rename,
 * symlink. Each completes on the staged tree at local speed and queues
 * what the server must do, durably, before it returns; the queue keeps
 * them in order (see sync/core.h).
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/ops.h"
#include "fs/perm.h"
#include "fs/view.h"
#include "wire/log.h"
#include "wire/longpath.h"
#include "wire/pathname.h"
#include "wire/xio.h"

struct nb_fill {
	void *buf;
	fuse_fill_dir_t filler;
};

static int nb_fill_one(void *arg, const char *name)
{
	struct nb_fill *f = arg;
	return f->filler(f->buf, name, NULL, 0, 0) ? 1 : 0;
}

/* With nullpath_ok, readdir gets no path: the handle keeps it. */
int nb_op_opendir(const char *path, struct fuse_file_info *fi)
{
	int r = nb_perm_path(nb_ops_fs(), nb_ops_wpath(path), R_OK);
	if (r != 0)
		return r;
	struct nb_handle *h = calloc(1, sizeof(*h));
	if (!h || !(h->wpath = strdup(nb_ops_wpath(path)))) {
		free(h);
		return -ENOMEM;
	}
	h->fd = -1;
	nb_ops_handle_track(nb_ops_fs(), h);
	fi->fh = (uint64_t)(uintptr_t)h;
	return 0;
}

int nb_op_releasedir(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	struct nb_handle *h = nb_ops_handle(fi);
	if (h) {
		nb_ops_handle_untrack(nb_ops_fs(), h);
		free(h->wpath);
		free(h);
	}
	return 0;
}

int nb_op_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t offset,
		  struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	(void)offset;
	(void)flags;
	struct nb_fill f = {buf, filler};
	const char *wpath = path ? nb_ops_wpath(path) : nb_ops_handle(fi) ? nb_ops_handle(fi)->wpath : NULL;
	if (!wpath)
		return -ENOENT;
	filler(buf, ".", NULL, 0, 0);
	filler(buf, "..", NULL, 0, 0);
	int r = nb_view_list(nb_ops_fs(), wpath, nb_fill_one, &f);
	return r < 0 ? r : 0;
}

/* wpath may be made: a name the server takes, free in the view, its
 * staged parents in place. 0 or -errno (-EEXIST). */
static int nb_new_name(struct nb_fs *fs, const char *wpath)
{
	struct stat st;
	int staged, r;
	if ((r = nb_perm_name(fs, wpath)) != 0 || (r = nb_ops_check_new(wpath)) != 0)
		return r;
	if (nb_view_lookup(fs, wpath, &st, &staged) == 0)
		return -EEXIST;
	return nb_view_ensure_parents(fs, wpath);
}

int nb_op_mkdir(const char *path, mode_t mode)
{
	struct nb_fs *fs = nb_ops_fs();
	const char *wpath = nb_ops_wpath(path);
	int r;
	if ((r = nb_new_name(fs, wpath)) != 0)
		return r;
	if (nb_longpath_mkdirat(fs->stage_fd, wpath, mode & 07777) != 0)
		return -errno;
	nb_ops_own_new(fs, -1, wpath, S_IFDIR | mode);
	/* New here: nothing below it on the server yet, so lookups inside
	 * (cp -r fills it at once) need not ask. */
	nb_rcache_set_empty(fs->rc, wpath);
	if (nb_core_touch(fs->core, wpath, NB_KIND_DIR) != 0) {
		nb_longpath_unlinkat(fs->stage_fd, wpath, AT_REMOVEDIR);
		return -EIO;
	}
	return 0;
}

int nb_op_mknod(const char *path, mode_t mode, dev_t rdev)
{
	struct nb_fs *fs = nb_ops_fs();
	const char *wpath = nb_ops_wpath(path);
	int r;
	(void)rdev;
	/* A device node means nothing on a file server, and FUSE mounts are
	 * nodev anyway: refused, as documented. */
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return -EPERM;
	/* Regular files come through create (libfuse turns mknod(S_IFREG)
	 * into it); FIFOs and sockets are all that is left. */
	if (!nb_ops_local_only(mode))
		return -EINVAL;
	if ((r = nb_new_name(fs, wpath)) != 0)
		return r;
	/* Staged only, never queued: see nb_ops_local_only. */
	if (nb_longpath_mknodat(fs->stage_fd, wpath, mode & (S_IFMT | 07777), 0) != 0)
		return -errno;
	nb_ops_own_new(fs, -1, wpath, mode);
	return 0;
}

/* A change to the staged tree that goes with a removal or a rename: the
 * core runs it under its lock (nb_core_removed says why). */
struct nb_stage_op {
	int fd;
	const char *from; /* the path removed, or renamed */
	const char *to;   /* NULL: a removal */
	int flags;        /* unlinkat's */
	int err;          /* -errno of the change; 0 once done */
};

static int nb_stage_run(void *arg)
{
	struct nb_stage_op *op = arg;
	int r = op->to ? nb_longpath_renameat2(op->fd, op->from, op->fd, op->to, 0)
		       : nb_longpath_unlinkat(op->fd, op->from, op->flags);
	op->err = r != 0 ? -errno : 0;
	return op->err;
}

/* The core's answer to a removal or rename: the staged change's own
 * error, or -EIO if the change could not be recorded. */
static int nb_stage_result(int r, const struct nb_stage_op *op)
{
	return r == 0 ? 0 : op->err ? op->err : -EIO;
}

int nb_op_unlink(const char *path)
{
	struct nb_fs *fs = nb_ops_fs();
	const char *wpath = nb_ops_wpath(path);
	struct stat st;
	int staged;
	int r = nb_perm_name(fs, wpath);
	if (r == 0)
		r = nb_view_lookup(fs, wpath, &st, &staged);
	if (r != 0)
		return r;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (nb_path_is_fuse_hidden(wpath) && staged) {
		/* The last close of a file removed while open: local only. */
		if (nb_longpath_unlinkat(fs->stage_fd, wpath, 0) != 0)
			return -errno;
		if (S_ISREG(st.st_mode))
			nb_cache_add(fs->cache, -(int64_t)st.st_size);
		return 0;
	}
	int on_server = nb_view_on_server(fs, wpath, staged);
	/* A file only the listing showed: the version listed is the one the
	 * user removes, so that one changed on the server since is kept
	 * there (the removal names it, sync/flight_unlink.c). */
	struct nb_attr a;
	if (!staged && S_ISREG(st.st_mode) && nb_view_remote(fs, wpath, &a, NULL, 0) == 0)
		nb_core_replacing(fs->core, wpath, &a);
	struct nb_stage_op op = {fs->stage_fd, wpath, NULL, 0, -EIO};
	r = nb_core_removed(fs->core, wpath, 0, on_server, staged ? nb_stage_run : NULL, &op);
	if (staged && op.err == 0 && S_ISREG(st.st_mode))
		nb_cache_add(fs->cache, -(int64_t)st.st_size);
	return nb_stage_result(r, &op);
}

/* Remove libfuse's .fuse_hidden files from a staged directory about to
 * be removed or replaced: they stand for files already deleted (their
 * open handles keep working through their fds), and would make the
 * directory look non-empty. */
static void nb_purge_hidden(struct nb_fs *fs, const char *wpath)
{
	int fd = nb_longpath_openat(fs->stage_fd, wpath,
				    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0)
		return;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (nb_path_is_fuse_hidden(de->d_name))
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

struct nb_first_name {
	char name[NAME_MAX + 1];
	int found;
};

static int nb_first_name(void *arg, const char *name)
{
	struct nb_first_name *f = arg;
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->found = 1;
	return 1; /* one is enough */
}

/* Is name in staged directory wpath? */
static int nb_staged_child(struct nb_fs *fs, const char *wpath, const char *name)
{
	struct stat st;
	int dfd = nb_longpath_openat(fs->stage_fd, wpath[0] ? wpath : ".",
				     O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	int staged = dfd >= 0 && fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (dfd >= 0)
		nb_xio_close(dfd);
	return staged;
}

/* 0 if directory wpath is empty in the merged view, else -ENOTEMPTY. */
static int nb_dir_empty(struct nb_fs *fs, const char *wpath)
{
	struct nb_first_name f = {.found = 0};
	int r = nb_view_list(fs, wpath, nb_first_name, &f);
	if (r < 0 || !f.found)
		return r < 0 ? r : 0;
	int staged = nb_staged_child(fs, wpath, f.name);
	if (!staged && nb_view_reload(fs, wpath) == 0) {
		/* Only the cached listing says so: refusing the user on it
		 * would make a stale listing an error; the server's own
		 * answer decides. */
		f.found = 0;
		if ((r = nb_view_list(fs, wpath, nb_first_name, &f)) < 0 || !f.found)
			return r < 0 ? r : 0;
		staged = nb_staged_child(fs, wpath, f.name);
	}
	nb_debug("%s: not empty: it holds '%s' (%s)", wpath[0] ? wpath : "/", f.name,
		 staged ? "staged" : "on the server");
	return -ENOTEMPTY;
}

int nb_op_rmdir(const char *path)
{
	struct nb_fs *fs = nb_ops_fs();
	const char *wpath = nb_ops_wpath(path);
	struct stat st;
	int staged;
	int r = nb_perm_name(fs, wpath);
	if (r == 0)
		r = nb_view_lookup(fs, wpath, &st, &staged);
	if (r != 0)
		return r;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (!wpath[0])
		return -EBUSY;
	if ((r = nb_dir_empty(fs, wpath)) != 0)
		return r;
	int on_server = nb_view_on_server(fs, wpath, staged);
	if (staged)
		nb_purge_hidden(fs, wpath);
	struct nb_stage_op op = {fs->stage_fd, wpath, NULL, AT_REMOVEDIR, -EIO};
	r = nb_core_removed(fs->core, wpath, 1, on_server, staged ? nb_stage_run : NULL, &op);
	return nb_stage_result(r, &op);
}

int nb_op_rename(const char *from, const char *to, unsigned int flags)
{
	struct nb_fs *fs = nb_ops_fs();
	const char *wfrom = nb_ops_wpath(from), *wto = nb_ops_wpath(to);
	struct stat sf, stt;
	int fstaged, tstaged, r;
	if (flags & ~RENAME_NOREPLACE)
		return -EINVAL; /* RENAME_EXCHANGE, RENAME_WHITEOUT: not supported */
	if ((r = nb_perm_name(fs, wfrom)) != 0 || (r = nb_perm_name(fs, wto)) != 0)
		return r;
	if ((r = nb_view_lookup(fs, wfrom, &sf, &fstaged)) != 0)
		return r;
	/* A directory that changes parents changes its "..": it must be
	 * writable (Linux). */
	if (S_ISDIR(sf.st_mode) &&
	    (nb_path_parent_len(wfrom) != nb_path_parent_len(wto) ||
	     strncmp(wfrom, wto, nb_path_parent_len(wfrom)) != 0) &&
	    (r = nb_perm_path(fs, wfrom, W_OK)) != 0)
		return r;
	if (nb_path_is_fuse_hidden(wto) && fstaged && !S_ISDIR(sf.st_mode)) {
		/* libfuse hides a file removed while open: for everyone else
		 * (and the server) this is an unlink of wfrom. */
		int on_server = nb_view_on_server(fs, wfrom, fstaged);
		struct nb_stage_op op = {fs->stage_fd, wfrom, wto, 0, -EIO};
		return nb_stage_result(nb_core_removed(fs->core, wfrom, 0, on_server, nb_stage_run, &op),
				       &op);
	}
	if ((r = nb_ops_check_new(wto)) != 0)
		return r;
	if (!wfrom[0] || !wto[0])
		return -EBUSY;
	if (strcmp(wfrom, wto) == 0)
		return 0;
	if (nb_path_is_within(wto, wfrom))
		return -EINVAL; /* a directory into itself */
	int exists = nb_view_lookup(fs, wto, &stt, &tstaged) == 0;
	if (exists) {
		if (flags & RENAME_NOREPLACE)
			return -EEXIST;
		if (S_ISDIR(sf.st_mode) && !S_ISDIR(stt.st_mode))
			return -ENOTDIR;
		if (!S_ISDIR(sf.st_mode) && S_ISDIR(stt.st_mode))
			return -EISDIR;
		if (S_ISDIR(stt.st_mode) && (r = nb_dir_empty(fs, wto)) != 0)
			return r;
		if (S_ISDIR(stt.st_mode) && tstaged)
			nb_purge_hidden(fs, wto);
	}
	if ((r = nb_view_ensure_parents(fs, wto)) != 0)
		return r;
	int local = fstaged && nb_ops_local_only(sf.st_mode);
	int from_on_server = nb_view_on_server(fs, wfrom, fstaged);
	/* The user replaces a file the server has: that version is the base
	 * of the upload that follows, not a conflict. */
	struct nb_attr a;
	if (exists && !local && !from_on_server && S_ISREG(stt.st_mode) &&
	    nb_view_remote(fs, wto, &a, NULL, 0) == 0)
		nb_core_replacing(fs->core, wto, &a);
	if (exists && tstaged && S_ISREG(stt.st_mode))
		nb_cache_add(fs->cache, -(int64_t)stt.st_size); /* replaced */
	if (local) {
		/* A FIFO or socket: nothing of it goes to the server, but what
		 * it replaces goes away there too, as it does here (the core
		 * also counts an upload of it in flight as on the server). */
		int to_on_server = exists && nb_view_on_server(fs, wto, tstaged);
		if (!exists)
			return nb_longpath_renameat2(fs->stage_fd, wfrom, fs->stage_fd, wto, 0) != 0
				   ? -errno
				   : 0;
		struct nb_stage_op op = {fs->stage_fd, wfrom, wto, 0, -EIO};
		return nb_stage_result(
		    nb_core_removed(fs->core, wto, 0, to_on_server, nb_stage_run, &op), &op);
	}
	struct nb_stage_op op = {fs->stage_fd, wfrom, wto, 0, -EIO};
	if (!fstaged && exists && tstaged) {
		/* The staged destination is replaced by a remote-only source. */
		op.from = wto;
		op.to = NULL;
		op.flags = S_ISDIR(stt.st_mode) ? AT_REMOVEDIR : 0;
	}
	int stage = fstaged || (exists && tstaged);
	return nb_stage_result(
	    nb_core_renamed(fs->core, wfrom, wto, from_on_server, stage ? nb_stage_run : NULL, &op),
	    &op);
}

int nb_op_symlink(const char *target, const char *path)
{
	struct nb_fs *fs = nb_ops_fs();
	const char *wpath = nb_ops_wpath(path);
	int r;
	if (strlen(target) > NB_LINK_MAX)
		return -ENAMETOOLONG;
	if ((r = nb_new_name(fs, wpath)) != 0)
		return r;
	if (nb_longpath_symlinkat(target, fs->stage_fd, wpath) != 0)
		return -errno;
	nb_ops_own_new(fs, -1, wpath, S_IFLNK | 0777);
	if (nb_core_touch(fs->core, wpath, NB_KIND_SYMLINK) != 0) {
		nb_longpath_unlinkat(fs->stage_fd, wpath, 0);
		return -EIO;
	}
	return 0;
}

int nb_op_readlink(const char *path, char *buf, size_t size)
{
	struct nb_fs *fs = nb_ops_fs();
	const char *wpath = nb_ops_wpath(path);
	if (size == 0)
		return -EINVAL;
	int r = nb_perm_path(fs, wpath, 0);
	if (r != 0)
		return r;
	ssize_t n = nb_longpath_readlinkat(fs->stage_fd, wpath, buf, size - 1);
	if (n >= 0) {
		buf[n] = 0;
		return 0;
	}
	if (errno != ENOENT)
		return -errno;
	char rpath[NB_PATH_MAX + 1];
	if ((r = nb_core_resolve(fs->core, wpath, rpath, sizeof(rpath))) != 0)
		return r;
	r = nb_rcache_readlink(fs->rc, rpath, buf, size);
	if (r == -ERANGE) {
		/* readlink(2) truncates silently */
		char big[NB_LINK_MAX + 1];
		if ((r = nb_rcache_readlink(fs->rc, rpath, big, sizeof(big))) == 0) {
			memcpy(buf, big, size - 1);
			buf[size - 1] = 0;
		}
	}
	return r;
}
