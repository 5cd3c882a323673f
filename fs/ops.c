/*
 * The FUSE operations. The namespace is the staged tree (what is held
 * locally, which always wins) plus the remote tree as last listed. Every
 * write goes to the staged copy and returns at local-disk speed; the
 * status table records what changed, durably, before the call returns.
 * No operation waits on the network except the first listing of a
 * directory never seen before (bounded by the rcache wait).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fs/fs.h"
#include "fs/stage.h"
#include "fs/xattrs.h"
#include "sync/log.h"
#include "sync/pathname.h"
#include "sync/xio.h"

/* One open file: the staged copy, and whether this handle may write. */
struct nb_handle {
	int fd;
	int writer;
};

static struct nb_fs *nb_fs(void)
{
	return fuse_get_context()->private_data;
}

static struct nb_handle *nb_handle(struct fuse_file_info *fi)
{
	return (struct nb_handle *)(uintptr_t)fi->fh;
}

static void nb_stat_from_attr(struct nb_fs *fs, const struct nb_attr *a, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = a->mode;
	st->st_size = (off_t)a->size;
	st->st_nlink = S_ISDIR(a->mode) ? 2 : 1;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_blksize = 4096;
	st->st_blocks = (blkcnt_t)((a->size + 511) / 512);
	st->st_mtim.tv_sec = a->mtime_s;
	st->st_mtim.tv_nsec = a->mtime_ns;
	st->st_atim = st->st_mtim;
	st->st_ctim = st->st_mtim;
}

/* Staged first, then remote. 0, or -ENOENT / -errno. */
static int nb_lookup(struct nb_fs *fs, const char *wpath, struct stat *st, int *staged)
{
	*staged = 0;
	if (fstatat(fs->stage_fd, wpath[0] ? wpath : ".", st, AT_SYMLINK_NOFOLLOW) == 0) {
		*staged = 1;
		return 0;
	}
	if (errno != ENOENT && errno != ENOTDIR)
		return -errno;
	struct nb_attr a;
	int r = nb_rcache_stat_path(fs->rc, wpath, &a);
	if (r == 0)
		nb_stat_from_attr(fs, &a, st);
	return r;
}

/* A name the server would refuse is refused here too, before anything is
 * staged: bad input never sits in the queue. */
static int nb_check_new(const char *wpath)
{
	return nb_path_check(wpath);
}

/* Make the staged parent directories of wpath exist, mirroring the
 * remote ones. Directories created here exist on the server already, so
 * they are recorded as synced, not queued. */
static int nb_ensure_parents(struct nb_fs *fs, const char *wpath)
{
	size_t plen = nb_path_parent_len(wpath);
	char dir[NB_PATH_MAX + 1];
	memcpy(dir, wpath, plen);
	dir[plen] = 0;
	struct stat st;
	if (plen == 0 || fstatat(fs->stage_fd, dir, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return plen == 0 || S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
	for (size_t i = 0; i <= plen; i++) {
		if (i < plen && dir[i] != '/')
			continue;
		char save = dir[i];
		dir[i] = 0;
		if (fstatat(fs->stage_fd, dir, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			struct nb_attr a;
			if (nb_rcache_stat_path(fs->rc, dir, &a) != 0)
				return -ENOENT;
			if (!S_ISDIR(a.mode))
				return -ENOTDIR;
			if (mkdirat(fs->stage_fd, dir, a.mode & 07777) != 0 && errno != EEXIST)
				return -errno;
			struct nb_synced rec = {.kind = NB_KIND_DIR};
			struct nb_status_view v;
			if (nb_status_get(fs->st, dir, &v) != 0)
				nb_statedb_set_synced(fs->db, dir, &rec);
		} else if (!S_ISDIR(st.st_mode)) {
			return -ENOTDIR;
		}
		dir[i] = save;
	}
	return 0;
}

/* Tools size their buffers by st_blksize (cp uses max(blksize, 128 KiB)):
 * advertise the largest write FUSE passes in one request, so a copy
 * crosses the kernel boundary in 1 MiB steps instead of 128 KiB. */
#define NB_BLKSIZE (1024 * 1024)

static int nb_op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct nb_fs *fs = nb_fs();
	int r, staged;
	if (fi && fi->fh)
		r = fstat(nb_handle(fi)->fd, st) == 0 ? 0 : -errno;
	else
		r = nb_lookup(fs, nb_path_from_fuse(path), st, &staged);
	if (r == 0)
		st->st_blksize = NB_BLKSIZE;
	return r;
}

struct nb_names {
	char **v;
	size_t n, cap;
};

static int nb_names_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct nb_readdir_ctx {
	struct nb_names *staged;
	void *buf;
	fuse_fill_dir_t filler;
};

static int nb_readdir_remote(void *arg, const char *name, const struct nb_attr *a)
{
	(void)a;
	struct nb_readdir_ctx *c = arg;
	const char *key = name;
	if (bsearch(&key, c->staged->v, c->staged->n, sizeof(char *), nb_names_cmp))
		return 0;
	return c->filler(c->buf, name, NULL, 0, 0) ? 1 : 0;
}

static int nb_op_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t offset,
			 struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	(void)offset;
	(void)fi;
	(void)flags;
	struct nb_fs *fs = nb_fs();
	const char *wpath = nb_path_from_fuse(path);
	struct nb_names names = {0};
	int r = 0;
	filler(buf, ".", NULL, 0, 0);
	filler(buf, "..", NULL, 0, 0);

	int fd = openat(fs->stage_fd, nb_stage_rel(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		DIR *d = fdopendir(fd);
		if (!d) {
			nb_xio_close(fd);
			return -errno;
		}
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			if (names.n == names.cap) {
				size_t cap = names.cap ? names.cap * 2 : 64;
				char **v = realloc(names.v, cap * sizeof(*v));
				if (!v) {
					r = -ENOMEM;
					break;
				}
				names.v = v;
				names.cap = cap;
			}
			if (!(names.v[names.n] = strdup(de->d_name))) {
				r = -ENOMEM;
				break;
			}
			names.n++;
			filler(buf, de->d_name, NULL, 0, 0);
		}
		closedir(d);
	} else if (errno != ENOENT) {
		return -errno;
	}
	if (r == 0) {
		qsort(names.v, names.n, sizeof(char *), nb_names_cmp);
		struct nb_readdir_ctx c = {&names, buf, filler};
		nb_rcache_list(fs->rc, wpath, nb_readdir_remote, &c);
	}
	for (size_t i = 0; i < names.n; i++)
		free(names.v[i]);
	free(names.v);
	return r;
}

static int nb_op_mkdir(const char *path, mode_t mode)
{
	struct nb_fs *fs = nb_fs();
	const char *wpath = nb_path_from_fuse(path);
	struct stat st;
	int staged, r;
	if ((r = nb_check_new(wpath)) != 0)
		return r;
	if (nb_lookup(fs, wpath, &st, &staged) == 0)
		return -EEXIST;
	if ((r = nb_ensure_parents(fs, wpath)) != 0)
		return r;
	if (mkdirat(fs->stage_fd, wpath, mode & 07777) != 0)
		return -errno;
	nb_rcache_set_empty(fs->rc, wpath);
	if ((r = nb_status_touch(fs->st, wpath, NB_KIND_DIR)) != 0) {
		unlinkat(fs->stage_fd, wpath, AT_REMOVEDIR);
		return -EIO;
	}
	return 0;
}

static int nb_open_staged(struct nb_fs *fs, const char *wpath, int flags, mode_t mode, int writer,
			  struct fuse_file_info *fi)
{
	struct nb_handle *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	/* On record before the first byte changes (O_TRUNC included). */
	if (writer && nb_status_writer_open(fs->st, wpath) != 0) {
		free(h);
		return -EIO;
	}
	h->fd = openat(fs->stage_fd, wpath, flags | O_CLOEXEC | O_NOFOLLOW, mode);
	if (h->fd < 0) {
		int e = -errno;
		if (writer)
			nb_status_writer_close(fs->st, wpath);
		free(h);
		return e;
	}
	h->writer = writer;
	fi->fh = (uint64_t)(uintptr_t)h;
	return 0;
}

static int nb_is_writer(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

static int nb_op_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct nb_fs *fs = nb_fs();
	const char *wpath = nb_path_from_fuse(path);
	int r;
	if ((r = nb_check_new(wpath)) != 0)
		return r;
	if ((r = nb_ensure_parents(fs, wpath)) != 0)
		return r;
	return nb_open_staged(fs, wpath, fi->flags | O_CREAT, mode & 07777, 1, fi);
}

static int nb_op_open(const char *path, struct fuse_file_info *fi)
{
	struct nb_fs *fs = nb_fs();
	const char *wpath = nb_path_from_fuse(path);
	int flags = fi->flags & ~(O_CREAT | O_EXCL | O_NOCTTY);
	int writer = nb_is_writer(flags);
	struct stat st;
	int staged;
	int r = nb_lookup(fs, wpath, &st, &staged);
	if (r != 0)
		return r;
	if (staged)
		return nb_open_staged(fs, wpath, flags, 0, writer, fi);
	if (writer && (flags & O_TRUNC) && S_ISREG(st.st_mode)) {
		/* The old content is not needed: start a fresh local copy. */
		if ((r = nb_ensure_parents(fs, wpath)) != 0)
			return r;
		return nb_open_staged(fs, wpath, flags | O_CREAT, st.st_mode & 07777, 1, fi);
	}
	nb_warn("%s: reading a file not held locally is not supported yet", wpath);
	return -EIO;
}

static int nb_op_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)path;
	ssize_t n = pread(nb_handle(fi)->fd, buf, size, off);
	return n < 0 ? -errno : (int)n;
}

static int nb_op_write(const char *path, const char *buf, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)path;
	/* The handle is a writer: the file is marked dirty and will not be
	 * uploaded while it is open, so nothing else to record here. */
	ssize_t n = pwrite(nb_handle(fi)->fd, buf, size, off);
	return n < 0 ? -errno : (int)n;
}

static int nb_op_release(const char *path, struct fuse_file_info *fi)
{
	struct nb_fs *fs = nb_fs();
	struct nb_handle *h = nb_handle(fi);
	nb_xio_close(h->fd);
	if (h->writer)
		nb_status_writer_close(fs->st, nb_path_from_fuse(path));
	free(h);
	return 0;
}

static int nb_op_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)path;
	struct nb_fs *fs = nb_fs();
	int fd = nb_handle(fi)->fd;
	int r = datasync ? (fdatasync(fd) == 0 ? 0 : -errno) : nb_xio_fsync(fd);
	if (r == 0 && nb_statedb_flush(fs->db) != 0)
		r = -EIO;
	return r;
}

static int nb_op_flush(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	(void)fi;
	return 0;
}

/* The metadata of an existing path changes: it must be staged (remote-
 * only directories are staged on the spot), and is queued before the
 * change is made. apply(dirfd, rel, arg) makes it and returns 0 or -1. */
static int nb_meta_change(struct nb_fs *fs, const char *wpath,
			  int (*apply)(int dirfd, const char *rel, const void *arg), const void *arg)
{
	struct stat st;
	int staged;
	int r = nb_lookup(fs, wpath, &st, &staged);
	if (r != 0)
		return r;
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		return -ENOTSUP;
	if (!staged) {
		if (!S_ISDIR(st.st_mode)) {
			nb_warn("%s: changing a file not held locally is not supported yet", wpath);
			return -EIO;
		}
		if ((r = nb_ensure_parents(fs, wpath)) != 0)
			return r;
		if (mkdirat(fs->stage_fd, wpath, st.st_mode & 07777) != 0 && errno != EEXIST)
			return -errno;
	}
	if (nb_status_touch(fs->st, wpath, S_ISDIR(st.st_mode) ? NB_KIND_DIR : NB_KIND_FILE) != 0)
		return -EIO;
	return apply(fs->stage_fd, wpath[0] ? wpath : ".", arg) == 0 ? 0 : -errno;
}

static int nb_apply_chmod(int dirfd, const char *rel, const void *arg)
{
	return fchmodat(dirfd, rel, *(const mode_t *)arg & 07777, 0);
}

static int nb_op_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct nb_fs *fs = nb_fs();
	const char *wpath = nb_path_from_fuse(path);
	if (fi && fi->fh) {
		if (nb_status_touch(fs->st, wpath, NB_KIND_FILE) != 0)
			return -EIO;
		return fchmod(nb_handle(fi)->fd, mode & 07777) == 0 ? 0 : -errno;
	}
	return nb_meta_change(fs, wpath, nb_apply_chmod, &mode);
}

static int nb_apply_utimens(int dirfd, const char *rel, const void *arg)
{
	return utimensat(dirfd, rel, arg, AT_SYMLINK_NOFOLLOW);
}

static int nb_op_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	struct nb_fs *fs = nb_fs();
	const char *wpath = nb_path_from_fuse(path);
	if (fi && fi->fh) {
		if (nb_status_touch(fs->st, wpath, NB_KIND_FILE) != 0)
			return -EIO;
		return futimens(nb_handle(fi)->fd, tv) == 0 ? 0 : -errno;
	}
	return nb_meta_change(fs, wpath, nb_apply_utimens, tv);
}

static int nb_op_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	/* Ownership is not synced: files on the server belong to the SSH
	 * user. Accept the call so copying tools (cp -a, rsync -a) work. */
	(void)path;
	(void)uid;
	(void)gid;
	(void)fi;
	return 0;
}

static int nb_op_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct nb_fs *fs = nb_fs();
	const char *wpath = nb_path_from_fuse(path);
	if (fi && fi->fh) {
		if (nb_status_touch(fs->st, wpath, NB_KIND_FILE) != 0)
			return -EIO;
		return ftruncate(nb_handle(fi)->fd, size) == 0 ? 0 : -errno;
	}
	struct fuse_file_info tmp = {.flags = O_WRONLY | (size == 0 ? O_TRUNC : 0)};
	int r = nb_op_open(path, &tmp);
	if (r != 0)
		return r;
	struct nb_handle *h = nb_handle(&tmp);
	r = ftruncate(h->fd, size) == 0 ? 0 : -errno;
	nb_op_release(path, &tmp);
	return r;
}

static int nb_op_statfs(const char *path, struct statvfs *sv)
{
	(void)path;
	return fstatvfs(nb_fs()->stage_fd, sv) == 0 ? 0 : -errno;
}

static int nb_op_getxattr(const char *path, const char *name, char *value, size_t size)
{
	struct nb_fs *fs = nb_fs();
	const char *wpath = nb_path_from_fuse(path);
	struct stat st;
	int staged;
	int r = nb_lookup(fs, wpath, &st, &staged);
	if (r != 0)
		return r;
	return nb_xattr_get(fs, wpath, S_ISDIR(st.st_mode), (uint64_t)st.st_size, name, value, size);
}

static int nb_op_listxattr(const char *path, char *list, size_t size)
{
	struct nb_fs *fs = nb_fs();
	const char *wpath = nb_path_from_fuse(path);
	struct stat st;
	int staged;
	int r = nb_lookup(fs, wpath, &st, &staged);
	if (r != 0)
		return r;
	return nb_xattr_list(fs, wpath, S_ISDIR(st.st_mode), list, size);
}

static int nb_op_setxattr(const char *path, const char *name, const char *value, size_t size,
			  int flags)
{
	(void)path;
	(void)value;
	(void)size;
	(void)flags;
	return strncmp(name, NB_XATTR_PREFIX, strlen(NB_XATTR_PREFIX)) == 0 ? -EPERM : -ENOTSUP;
}

static int nb_op_removexattr(const char *path, const char *name)
{
	(void)path;
	return strncmp(name, NB_XATTR_PREFIX, strlen(NB_XATTR_PREFIX)) == 0 ? -EPERM : -ENOTSUP;
}

static int nb_op_unsupported(const char *what, const char *path)
{
	nb_warn("%s %s: not supported yet", what, path);
	return -ENOTSUP;
}

static int nb_op_unlink(const char *path)
{
	return nb_op_unsupported("unlink", path);
}

static int nb_op_rmdir(const char *path)
{
	return nb_op_unsupported("rmdir", path);
}

static int nb_op_rename(const char *from, const char *to, unsigned int flags)
{
	(void)to;
	(void)flags;
	return nb_op_unsupported("rename", from);
}

static void *nb_op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	/* Large writes: fewer round trips through the kernel for cp. */
	conn->max_write = 1024 * 1024;
	cfg->entry_timeout = 1.0;
	cfg->attr_timeout = 1.0;
	cfg->negative_timeout = 0;
	cfg->use_ino = 0;
	return fuse_get_context()->private_data;
}

const struct fuse_operations nb_fs_operations = {
	.init = nb_op_init,
	.getattr = nb_op_getattr,
	.readdir = nb_op_readdir,
	.mkdir = nb_op_mkdir,
	.create = nb_op_create,
	.open = nb_op_open,
	.read = nb_op_read,
	.write = nb_op_write,
	.release = nb_op_release,
	.flush = nb_op_flush,
	.fsync = nb_op_fsync,
	.chmod = nb_op_chmod,
	.chown = nb_op_chown,
	.utimens = nb_op_utimens,
	.truncate = nb_op_truncate,
	.statfs = nb_op_statfs,
	.getxattr = nb_op_getxattr,
	.listxattr = nb_op_listxattr,
	.setxattr = nb_op_setxattr,
	.removexattr = nb_op_removexattr,
	.unlink = nb_op_unlink,
	.rmdir = nb_op_rmdir,
	.rename = nb_op_rename,
};
