/*
 * The FUSE operations on files and attributes, and the operation table.
 * Every write goes to the staged copy and returns at local-disk speed;
 * the queue records what changed, durably, before the call returns. A
 * file that is only on the server is fetched into the staging area when
 * it is opened (resumably, verified); nothing else waits on the network
 * except the first listing of a directory never seen before.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fs/ops.h"
#include "fs/perm.h"
#include "fs/stage.h"
#include "fs/view.h"
#include "fs/xattrs.h"
#include "wire/err.h"
#include "wire/log.h"
#include "wire/longpath.h"
#include "wire/pathname.h"
#include "wire/xio.h"

/* Tools size their buffers by st_blksize (cp uses max(blksize, 128 KiB)):
 * advertise the largest write FUSE passes in one request, so a copy
 * crosses the kernel boundary in 1 MiB steps instead of 128 KiB. */
#define NB_BLKSIZE (1024 * 1024)

static struct nb_handle *nb_handle(struct fuse_file_info *fi)
{
	return nb_ops_handle(fi);
}

/* A file handle with a staged fd (not a directory's handle). */
static struct nb_handle *nb_file_handle(struct fuse_file_info *fi)
{
	struct nb_handle *h = fi && fi->fh ? nb_ops_handle(fi) : NULL;
	return h && h->fd >= 0 ? h : NULL;
}

/* The path for an operation: the one given, else the handle's. */
static const char *nb_op_path(const char *path, struct fuse_file_info *fi)
{
	struct nb_handle *h = fi && fi->fh ? nb_ops_handle(fi) : NULL;
	return path ? nb_ops_wpath(path) : h ? h->wpath : NULL;
}

const char *nb_ops_wpath(const char *path)
{
	return path ? nb_path_from_fuse(path) : NULL;
}

int nb_ops_check_new(const char *wpath)
{
	/* A name the server would refuse is refused here, before anything is
	 * staged: bad input never sits in the queue. */
	return nb_path_check(wpath);
}

void nb_ops_own_new(struct nb_fs *fs, int fd, const char *wpath, mode_t mode)
{
	const struct fuse_context *ctx = fuse_get_context();
	uid_t uid = ctx->uid == geteuid() ? (uid_t)-1 : ctx->uid;
	gid_t gid = ctx->gid == getegid() ? (gid_t)-1 : ctx->gid;
	size_t plen = nb_path_parent_len(wpath);
	char dir[NB_PATH_MAX + 1];
	struct stat parent;
	if (gid != (gid_t)-1 && plen <= NB_PATH_MAX) {
		/* The staging filesystem gave it the directory's group. */
		memcpy(dir, wpath, plen);
		dir[plen] = 0;
		if (nb_longpath_fstatat(fs->stage_fd, plen ? dir : ".", &parent, 0) == 0 &&
		    (parent.st_mode & S_ISGID))
			gid = (gid_t)-1;
	}
	if (uid == (uid_t)-1 && gid == (gid_t)-1)
		return;
	int r = fd >= 0 ? fchown(fd, uid, gid)
			: nb_longpath_fchownat(fs->stage_fd, wpath, uid, gid, AT_SYMLINK_NOFOLLOW);
	if (r != 0 && errno == EPERM) /* nbfs runs unprivileged: see ops.h */
		return;
	/* Linux takes the set-ID bits of a file given away, even from root;
	 * its creator asked for them. */
	if (r == 0 && (mode & (S_ISUID | S_ISGID)) && !S_ISDIR(mode) && !S_ISLNK(mode))
		r = fd >= 0 ? fchmod(fd, mode & 07777)
			    : nb_longpath_fchmodat(fs->stage_fd, wpath, mode & 07777, 0);
	if (r != 0)
		nb_warn("%s: cannot give it to its creator (uid %u): %s", wpath, (unsigned)ctx->uid,
			nb_strerror(-errno));
}

static int nb_op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct nb_fs *fs = nb_ops_fs();
	int r, staged;
	const char *wpath = nb_op_path(path, fi);
	if (nb_file_handle(fi))
		r = fstat(nb_file_handle(fi)->fd, st) == 0 ? 0 : -errno;
	else if (!wpath)
		r = -ENOENT;
	else if ((r = nb_perm_path(fs, wpath, 0)) == 0)
		r = nb_view_lookup(fs, wpath, st, &staged);
	if (r == 0 && !S_ISLNK(st->st_mode))
		st->st_blksize = NB_BLKSIZE;
	return r;
}

/* writer: the handle may write (queued as a writer); with O_EXCL in
 * flags, the open creates the file. */
static int nb_open_staged(struct nb_fs *fs, const char *wpath, int flags, mode_t mode, int writer,
			  struct fuse_file_info *fi)
{
	struct nb_handle *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	if (!(h->wpath = strdup(wpath))) {
		free(h);
		return -ENOMEM;
	}
	/* On record before the first byte changes (O_TRUNC included). */
	if (writer && nb_core_writer_open(fs->core, wpath, (flags & O_EXCL) != 0, &h->entry) != 0) {
		free(h->wpath);
		free(h);
		return -EIO;
	}
	h->fd = nb_longpath_openat(fs->stage_fd, wpath, flags | O_CLOEXEC | O_NOFOLLOW, mode);
	if (h->fd < 0) {
		int e = -errno;
		if (writer)
			nb_core_writer_close(fs->core, h->entry, -1);
		free(h->wpath);
		free(h);
		return e;
	}
	struct stat st;
	if (fstat(h->fd, &st) == 0) {
		h->size = (uint64_t)st.st_size;
		/* Empty and ours to write: hashed as the writes arrive
		 * (nb_handle_wrote). */
		h->in_order = writer && st.st_size == 0 && S_ISREG(st.st_mode);
	}
	nb_cache_touch(fs->cache, wpath);
	h->writer = writer;
	nb_ops_handle_track(fs, h);
	fi->fh = (uint64_t)(uintptr_t)h;
	return 0;
}

/* Changes through an open handle: a writer's entry is held open
 * (nothing uploads until it closes, and closing restarts the quiet
 * time); a read-only handle queues its file by the path it was opened
 * at. content: the content may change (else only mode or times). */
static int nb_handle_touch(struct nb_fs *fs, struct nb_handle *h, int content)
{
	if (h->writer)
		return 0;
	return content ? nb_core_touch(fs->core, h->wpath, NB_KIND_FILE)
		       : nb_core_touch_meta(fs->core, h->wpath, NB_KIND_FILE);
}

static int nb_is_writer(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

int nb_op_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct nb_fs *fs = nb_ops_fs();
	const char *wpath = nb_ops_wpath(path);
	int r;
	if ((r = nb_perm_name(fs, wpath)) != 0 || (r = nb_ops_check_new(wpath)) != 0 ||
	    (r = nb_view_ensure_parents(fs, wpath)) != 0)
		return r;
	/* Exclusive here whatever the caller asked, so that only a file we
	 * made is given to the caller. */
	r = nb_open_staged(fs, wpath, fi->flags | O_CREAT | O_EXCL, mode & 07777, 1, fi);
	if (r == -EEXIST && !(fi->flags & O_EXCL)) {
		if ((r = nb_perm_open(fs, wpath, fi->flags)) != 0)
			return r;
		return nb_open_staged(fs, wpath, fi->flags & ~O_CREAT, 0, 1, fi);
	}
	if (r == 0)
		nb_ops_own_new(fs, nb_handle(fi)->fd, wpath, mode);
	/* A new file opened only for writing (cp, tar, rsync into the
	 * mount) bypasses the kernel's page cache: without it every byte
	 * was copied into the FUSE file's cache on its way to the staged
	 * copy's (two fresh pages per page written), and the kernel asked
	 * for security.capability before every write (a round trip per
	 * write, one per small file). Nothing is lost: such a handle
	 * cannot be mmapped or read, a reader elsewhere refetches what
	 * changed (the write invalidates the inode's attributes, and the
	 * kernel drops cached pages whose mtime moved), and with no
	 * set-user/group-ID bit there is no privilege for a write to clear. */
	if (r == 0 && (fi->flags & O_ACCMODE) == O_WRONLY && !(mode & (S_ISUID | S_ISGID)))
		fi->direct_io = 1;
	return r;
}

/* Make sure the regular file wpath is held locally: fetch it if it is
 * only on the server. For a writer that truncates, the old content is
 * not needed: the server's version is only remembered as the base. */
static int nb_hold(struct nb_fs *fs, const char *wpath, int truncating, int *created)
{
	struct stat st;
	int staged;
	int r = nb_view_lookup(fs, wpath, &st, &staged);
	*created = 0;
	if (r != 0 || staged)
		return r;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (truncating) {
		struct nb_attr a;
		if (nb_view_remote(fs, wpath, &a, NULL, 0) == 0)
			nb_core_replacing(fs->core, wpath, &a);
		if ((r = nb_view_ensure_parents(fs, wpath)) != 0)
			return r;
		int fd =
		    nb_longpath_openat(fs->stage_fd, wpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
				       st.st_mode & 07777);
		if (fd < 0)
			return errno == EEXIST ? 0 : -errno;
		nb_xio_close(fd);
		*created = 1;
		return 0;
	}
	return nb_view_fetch(fs, wpath);
}

static int nb_open_path(const char *wpath, struct fuse_file_info *fi)
{
	struct nb_fs *fs = nb_ops_fs();
	int flags = fi->flags & ~(O_CREAT | O_EXCL | O_NOCTTY);
	int writer = nb_is_writer(flags), created = 0;
	int r = -ENOENT;
	/* Twice: the evictor may remove a synced copy between our look and
	 * our open; then it is fetched again. */
	for (int tries = 0; tries < 2 && r == -ENOENT; tries++) {
		if ((r = nb_hold(fs, wpath, writer && (flags & O_TRUNC), &created)) != 0)
			return r;
		r = nb_open_staged(fs, wpath, flags, 0, writer || created, fi);
	}
	return r;
}

int nb_op_open(const char *path, struct fuse_file_info *fi)
{
	const char *wpath = nb_ops_wpath(path);
	int r = wpath ? nb_perm_open(nb_ops_fs(), wpath, fi->flags) : -ENOENT;
	return r == 0 ? nb_open_path(wpath, fi) : r;
}

/* Room in the cache for a file that grows by growth bytes to end. A size
 * the staging filesystem cannot hold at all is refused as that
 * filesystem refuses it (EFBIG on ext4, as a local disk would), not as a
 * full cache after waiting for uploads (ENOSPC, which stays for real
 * exhaustion). Asked only when the growth does not fit at once, so
 * ordinary writes cost nothing more. */
static int nb_make_room(struct nb_fs *fs, uint64_t end, uint64_t growth)
{
	uint64_t max = nb_cache_max(fs->cache);
	if (growth == 0)
		return 0;
	if (max && nb_cache_used(fs->cache) + growth > max) {
		int r = nb_stage_size_ok(fs->stage_fd, end);
		if (r != 0)
			return r;
	}
	return nb_cache_reserve(fs->cache, growth);
}

static int nb_op_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)path;
	ssize_t n = pread(nb_handle(fi)->fd, buf, size, off);
	return n < 0 ? -errno : (int)n;
}

/* n bytes were written at off through writer h: hash-on-write follows
 * a file written in order once it is no longer small. */
static void nb_handle_wrote(struct nb_fs *fs, struct nb_handle *h, uint64_t off, uint64_t n)
{
	if (h->follow) {
		nb_core_follow_wrote(h->follow, off, n);
		return;
	}
	if (!h->in_order)
		return;
	if (off != h->written) {
		h->in_order = 0;
		return;
	}
	h->written = off + n;
	if (h->written > NB_CORE_FOLLOW_FROM) {
		h->in_order = 0;
		h->follow = nb_core_follow_begin(fs->core, h->entry, h->fd);
		nb_core_follow_wrote(h->follow, 0, h->written);
	}
}

int nb_op_write(const char *path, const char *buf, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)path;
	struct nb_fs *fs = nb_ops_fs();
	struct nb_handle *h = nb_handle(fi);
	uint64_t end = (uint64_t)off + size;
	uint64_t growth = end > h->size ? end - h->size : 0;
	/* The handle is a writer: the file is queued and will not be
	 * uploaded while it is open, so only the cache has a say. */
	int r = nb_make_room(fs, end, growth);
	if (r != 0)
		return r;
	ssize_t n = pwrite(h->fd, buf, size, off);
	if (n < 0)
		return -errno;
	nb_handle_wrote(fs, h, (uint64_t)off, (uint64_t)n);
	end = (uint64_t)off + (uint64_t)n;
	if (end > h->size) {
		nb_cache_add(fs->cache, (int64_t)(end - h->size));
		h->size = end;
	}
	return (int)n;
}

/* Close a handle, taken off the list already: a file's writer is closed
 * on record with its size. */
static void nb_handle_close(struct nb_fs *fs, struct nb_handle *h)
{
	if (h->fd >= 0) {
		struct stat st;
		int64_t size = h->writer && fstat(h->fd, &st) == 0 ? (int64_t)st.st_size : -1;
		nb_xio_close(h->fd);
		nb_core_follow_end(h->follow);
		if (h->writer)
			nb_core_writer_close(fs->core, h->entry, size);
	}
	free(h->wpath);
	free(h);
}

void nb_ops_handle_track(struct nb_fs *fs, struct nb_handle *h)
{
	pthread_mutex_lock(&fs->handles_lock);
	h->prev = NULL;
	h->next = fs->handles;
	if (fs->handles)
		fs->handles->prev = h;
	fs->handles = h;
	pthread_mutex_unlock(&fs->handles_lock);
}

void nb_ops_handle_untrack(struct nb_fs *fs, struct nb_handle *h)
{
	pthread_mutex_lock(&fs->handles_lock);
	if (h->prev)
		h->prev->next = h->next;
	else
		fs->handles = h->next;
	if (h->next)
		h->next->prev = h->prev;
	h->prev = h->next = NULL;
	pthread_mutex_unlock(&fs->handles_lock);
}

void nb_ops_release_all(struct nb_fs *fs)
{
	int files = 0;
	struct nb_handle *h;
	while ((h = fs->handles) != NULL) {
		nb_ops_handle_untrack(fs, h);
		files += h->fd >= 0;
		nb_handle_close(fs, h);
	}
	if (files)
		nb_info("%d file(s) still open when the mount went (no release from the kernel): closed",
			files);
}

int nb_op_release(const char *path, struct fuse_file_info *fi)
{
	(void)path; /* NULL (nullpath_ok): the entry is named by its id */
	struct nb_fs *fs = nb_ops_fs();
	struct nb_handle *h = nb_handle(fi);
	nb_ops_handle_untrack(fs, h);
	nb_handle_close(fs, h);
	return 0;
}

static int nb_op_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)path;
	struct nb_fs *fs = nb_ops_fs();
	int fd = nb_handle(fi)->fd;
	int r = datasync ? (fdatasync(fd) == 0 ? 0 : -errno) : nb_xio_fsync(fd);
	if (r == 0 && nb_core_flush(fs->core) != 0)
		r = -EIO;
	return r;
}

/* Metadata of an existing path changes: it must be held locally (a
 * remote-only file is fetched, a remote-only directory mirrored), it is
 * queued, then the change is made. apply(dirfd, rel, arg) returns 0 or
 * -1 with errno. */
static int nb_meta_change(struct nb_fs *fs, const char *wpath,
			  int (*apply)(int dirfd, const char *rel, const void *arg), const void *arg)
{
	struct stat st;
	int staged, created;
	int r = nb_view_lookup(fs, wpath, &st, &staged);
	if (r != 0)
		return r;
	if (S_ISLNK(st.st_mode))
		return -EOPNOTSUPP; /* symlinks have no mode of their own (times: nb_op_utimens) */
	if (staged && nb_ops_local_only(st.st_mode)) /* nothing to sync */
		return apply(fs->stage_fd, wpath, arg) == 0 ? 0 : -errno;
	if (!staged && S_ISDIR(st.st_mode)) {
		if ((r = nb_view_ensure_parents(fs, wpath)) != 0)
			return r;
		if (nb_longpath_mkdirat(fs->stage_fd, wpath, st.st_mode & 07777) != 0 &&
		    errno != EEXIST)
			return -errno;
	} else if (!staged && (r = nb_hold(fs, wpath, 0, &created)) != 0) {
		return r;
	}
	int kind = S_ISDIR(st.st_mode) ? NB_KIND_DIR : NB_KIND_FILE;
	if (nb_core_touch_meta(fs->core, wpath, kind) != 0)
		return -EIO;
	if (apply(fs->stage_fd, wpath[0] ? wpath : ".", arg) != 0)
		return -errno;
	/* Queued before the change (so a crash cannot lose it) and touched
	 * again after it: a job that read the old state in between sees a
	 * new generation and goes again. */
	return nb_core_touch_meta(fs->core, wpath, kind) == 0 ? 0 : -EIO;
}

/* What chmod, chown and utimens are asked to change: the node behind the
 * open handle, else the one at path; *wpath is the path to check the
 * way to (NULL through a handle). For nb_perm_owner and the like. */
static int nb_setattr_node(struct nb_fs *fs, const char *path, struct fuse_file_info *fi,
			   struct stat *st, const char **wpath)
{
	struct nb_handle *h = nb_file_handle(fi);
	int staged;
	*wpath = path ? nb_ops_wpath(path) : NULL;
	if (!path && h)
		return fstat(h->fd, st) == 0 ? 0 : -errno;
	const char *at = nb_op_path(path, fi);
	return at ? nb_view_lookup(fs, at, st, &staged) : -ENOENT;
}

static int nb_apply_chmod(int dirfd, const char *rel, const void *arg)
{
	return nb_longpath_fchmodat(dirfd, rel, *(const mode_t *)arg & 07777, 0);
}

static int nb_op_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct nb_fs *fs = nb_ops_fs();
	const char *wpath = nb_op_path(path, fi), *way;
	struct stat st;
	int r;
	if (nb_perm_checking(fs) && ((r = nb_setattr_node(fs, path, fi, &st, &way)) != 0 ||
				     (r = nb_perm_owner(fs, way, &st)) != 0))
		return r;
	if (nb_file_handle(fi)) {
		if (nb_handle_touch(fs, nb_file_handle(fi), 0) != 0)
			return -EIO;
		if (fchmod(nb_file_handle(fi)->fd, mode & 07777) != 0)
			return -errno;
		/* see nb_meta_change */
		return nb_handle_touch(fs, nb_file_handle(fi), 0) == 0 ? 0 : -EIO;
	}
	return wpath ? nb_meta_change(fs, wpath, nb_apply_chmod, &mode) : -ENOENT;
}

static int nb_apply_utimens(int dirfd, const char *rel, const void *arg)
{
	return nb_longpath_utimensat(dirfd, rel, arg, AT_SYMLINK_NOFOLLOW);
}

static int nb_op_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	struct nb_fs *fs = nb_ops_fs();
	const char *wpath = nb_op_path(path, fi), *way;
	struct stat cur;
	int r;
	if (nb_perm_checking(fs)) {
		/* Both to now (or left): whoever may write it; a time
		 * given: its owner only. */
		int now = 1;
		for (int i = 0; i < 2; i++)
			now &= tv[i].tv_nsec == UTIME_NOW || tv[i].tv_nsec == UTIME_OMIT;
		if ((r = nb_setattr_node(fs, path, fi, &cur, &way)) != 0 ||
		    (r = now ? nb_perm_touch(fs, way, &cur) : nb_perm_owner(fs, way, &cur)) != 0)
			return r;
	}
	if (nb_file_handle(fi)) {
		if (nb_handle_touch(fs, nb_file_handle(fi), 0) != 0)
			return -EIO;
		if (futimens(nb_file_handle(fi)->fd, tv) != 0)
			return -errno;
		/* see nb_meta_change */
		return nb_handle_touch(fs, nb_file_handle(fi), 0) == 0 ? 0 : -EIO;
	}
	if (wpath) {
		struct stat st;
		int staged;
		/* Times of a staged symlink (cp -a and rsync -a set them right
		 * after making it) go to the server with a SETTIME once the
		 * link is there; the link is not made again for it (a SYMLINK
		 * replaces whatever the server holds at the path). A link only
		 * on the server keeps the server's time: there is no local
		 * copy to hold another, and making one would be made on the
		 * server again at the next mount (sync/scan.h). The call
		 * succeeds, as before. */
		if (nb_view_lookup(fs, wpath, &st, &staged) == 0 && S_ISLNK(st.st_mode)) {
			if (!staged)
				return 0;
			if (nb_longpath_utimensat(fs->stage_fd, wpath, tv, AT_SYMLINK_NOFOLLOW) != 0)
				return -errno;
			nb_core_link_time(fs->core, wpath);
			return 0;
		}
	}
	return wpath ? nb_meta_change(fs, wpath, nb_apply_utimens, tv) : -ENOENT;
}

/* Make wpath held locally for a chown to uid:gid: 0, 1 if there is
 * nothing to change, or -errno. */
static int nb_chown_path(struct nb_fs *fs, const char *wpath, uid_t uid, gid_t gid)
{
	struct stat st;
	int staged, created;
	int r = nb_view_lookup(fs, wpath, &st, &staged);
	if (r != 0 || staged)
		return r;
	/* Only on the server, shown as the mounting user's: to that,
	 * nothing changes, and there is nothing to fetch. A symlink there
	 * has no local copy to keep an owner on (documented). */
	if (((uid == (uid_t)-1 || uid == fs->uid) && (gid == (gid_t)-1 || gid == fs->gid)) ||
	    S_ISLNK(st.st_mode))
		return 1;
	if (S_ISDIR(st.st_mode))
		return nb_view_mirror_dir(fs, wpath);
	return nb_hold(fs, wpath, 0, &created);
}

static int nb_op_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	/* Ownership is not synced (files on the server belong to the SSH
	 * user) and nothing is queued; it is kept on the staged copy, so
	 * the kernel's permission checks in the mount go by it, as on a
	 * local disk. */
	struct nb_fs *fs = nb_ops_fs();
	struct nb_handle *h = nb_file_handle(fi);
	const char *wpath = nb_op_path(path, fi), *way;
	struct stat cur;
	int r;
	if (nb_perm_checking(fs) && ((r = nb_setattr_node(fs, path, fi, &cur, &way)) != 0 ||
				     (r = nb_perm_chown(fs, way, &cur, uid, gid)) != 0))
		return r;
	r = -ENOENT;
	if (h) {
		r = fchown(h->fd, uid, gid) == 0 ? 0 : -errno;
	} else if (wpath) {
		/* Twice: the evictor may remove a fetched copy before the
		 * chown marks it as more than a copy (see fs/cache.c). */
		for (int tries = 0; tries < 2 && r == -ENOENT; tries++) {
			if ((r = nb_chown_path(fs, wpath, uid, gid)) != 0)
				return r > 0 ? 0 : r;
			const char *rel = wpath[0] ? wpath : ".";
			if ((r = nb_longpath_fchownat(fs->stage_fd, rel, uid, gid,
						      AT_SYMLINK_NOFOLLOW)) != 0)
				r = -errno;
		}
	}
	/* Unprivileged, nbfs may not give files away (the kernel checked
	 * that the caller may; it refuses us): accepted and ignored, as
	 * always, so cp -a and rsync -a keep working. */
	return r == -EPERM && geteuid() != 0 ? 0 : r;
}

static int nb_op_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct nb_fs *fs = nb_ops_fs();
	const char *wpath = nb_op_path(path, fi);
	struct fuse_file_info tmp = {.flags = O_WRONLY | (size == 0 ? O_TRUNC : 0)};
	struct nb_handle *h = nb_file_handle(fi);
	int r = 0;
	if (h) {
		if (nb_handle_touch(fs, h, 1) != 0)
			return -EIO;
	} else {
		if (!wpath)
			return -ENOENT;
		if ((r = nb_perm_path(fs, wpath, W_OK)) != 0 || (r = nb_open_path(wpath, &tmp)) != 0)
			return r;
		h = nb_handle(&tmp);
	}
	struct stat st;
	if (fstat(h->fd, &st) != 0)
		r = -errno;
	else if ((uint64_t)size > (uint64_t)st.st_size)
		r = nb_make_room(fs, (uint64_t)size, (uint64_t)size - (uint64_t)st.st_size);
	if (r == 0 && (uint64_t)size != (uint64_t)st.st_size) {
		h->in_order = 0;
		nb_core_follow_break(h->follow);
	}
	if (r == 0 && ftruncate(h->fd, size) != 0)
		r = -errno;
	if (r == 0) {
		nb_cache_add(fs->cache, (int64_t)size - (int64_t)st.st_size);
		h->size = (uint64_t)size;
	}
	if (h == nb_handle(&tmp))
		nb_op_release(NULL, &tmp);
	return r;
}

/* fallocate(2) as a preallocating writer asks for it (rsync
 * --preallocate, download managers, fallocate(1)): mode 0, the size
 * growing to cover the range with zeros, and FALLOC_FL_KEEP_SIZE. The
 * other modes rewrite the middle of a file (punched holes, collapsed
 * ranges) and are not offered: EOPNOTSUPP, as before, after which tools
 * write zeros themselves. Without it fallocate(1) failed outright. */
static int nb_op_fallocate(const char *path, int mode, off_t off, off_t len,
			   struct fuse_file_info *fi)
{
	(void)path;
	struct nb_fs *fs = nb_ops_fs();
	struct nb_handle *h = nb_file_handle(fi);
	struct stat st;
	if (!h)
		return -EBADF;
	if (mode & ~FALLOC_FL_KEEP_SIZE)
		return -EOPNOTSUPP;
	if (off < 0 || len <= 0)
		return -EINVAL;
	if (len > INT64_MAX - off)
		return -EFBIG;
	if (fstat(h->fd, &st) != 0)
		return -errno;
	uint64_t end = (uint64_t)off + (uint64_t)len;
	int grows = !(mode & FALLOC_FL_KEEP_SIZE) && end > (uint64_t)st.st_size;
	int r = grows ? nb_make_room(fs, end, end - (uint64_t)st.st_size) : 0;
	if (r == 0 && nb_handle_touch(fs, h, grows) != 0)
		r = -EIO;
	if (r != 0)
		return r;
	if (grows) {
		/* Like a truncate that grows: no longer written in order. */
		h->in_order = 0;
		nb_core_follow_break(h->follow);
	}
	if (fallocate(h->fd, mode, off, len) != 0)
		return -errno;
	if (grows) {
		nb_cache_add(fs->cache, (int64_t)(end - (uint64_t)st.st_size));
		h->size = end;
	}
	return 0;
}

/* access(2) and chdir(2): asked only of a mount without
 * default_permissions (fs/perm.h); otherwise the kernel answers them. */
static int nb_op_access(const char *path, int mask)
{
	const char *wpath = nb_ops_wpath(path);
	return wpath ? nb_perm_access(nb_ops_fs(), wpath, mask) : -ENOENT;
}

static int nb_op_statfs(const char *path, struct statvfs *sv)
{
	(void)path;
	return fstatvfs(nb_ops_fs()->stage_fd, sv) == 0 ? 0 : -errno;
}

static int nb_op_getxattr(const char *path, const char *name, char *value, size_t size)
{
	struct nb_fs *fs = nb_ops_fs();
	const char *wpath = nb_ops_wpath(path);
	struct stat st;
	int staged;
	/* The kernel asks for security.capability before the first write to
	 * every file: answer what is not ours without looking the path up. */
	if (strncmp(name, NB_XATTR_PREFIX, strlen(NB_XATTR_PREFIX)) != 0)
		return -ENODATA;
	/* Reading a user.* attribute takes read permission (Linux). */
	int r = wpath ? nb_perm_path(fs, wpath, R_OK) : -ENOENT;
	if (r == 0)
		r = nb_view_lookup(fs, wpath, &st, &staged);
	if (r != 0)
		return r;
	return nb_xattr_get(fs, wpath, &st, staged, name, value, size);
}

static int nb_op_listxattr(const char *path, char *list, size_t size)
{
	struct nb_fs *fs = nb_ops_fs();
	const char *wpath = nb_ops_wpath(path);
	struct stat st;
	int staged;
	int r = wpath ? nb_perm_path(fs, wpath, 0) : -ENOENT;
	if (r == 0)
		r = nb_view_lookup(fs, wpath, &st, &staged);
	if (r != 0)
		return r;
	/* Linux lets user.* attributes be read only on regular files and
	 * directories (getxattr never reaches us for the rest): listing
	 * names nobody can read would only make getfattr -d fail. */
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return 0;
	return nb_xattr_list(fs, wpath, S_ISDIR(st.st_mode), list, size);
}

static int nb_op_setxattr(const char *path, const char *name, const char *value, size_t size,
			  int flags)
{
	struct nb_fs *fs = nb_ops_fs();
	const char *wpath = nb_ops_wpath(path);
	struct stat st;
	int staged;
	(void)flags;
	if (strncmp(name, NB_XATTR_PREFIX, strlen(NB_XATTR_PREFIX)) != 0)
		return -ENOTSUP;
	/* Setting one takes write permission (Linux). */
	int r = wpath ? nb_perm_path(fs, wpath, W_OK) : -ENOENT;
	if (r == 0)
		r = nb_view_lookup(fs, wpath, &st, &staged);
	if (r != 0)
		return r;
	return nb_xattr_set(fs, wpath, &st, name, value, size);
}

static int nb_op_removexattr(const char *path, const char *name)
{
	(void)path;
	return strncmp(name, NB_XATTR_PREFIX, strlen(NB_XATTR_PREFIX)) == 0 ? -EPERM : -ENOTSUP;
}

static void *nb_op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	/* Large writes: fewer round trips through the kernel for cp. */
	conn->max_write = 1024 * 1024;
	/* Modes of new files, directories and FIFOs: the kernel applies
	 * the caller's umask before it asks us (no FUSE_CAP_DONT_MASK, so
	 * fuse_get_context()->umask is already accounted for), and the
	 * staged copy must get exactly what it asks for, as on ext4; our
	 * own umask (022 from the shell that started us) would take bits
	 * away a second time. Everything else nbfs creates names its mode
	 * explicitly (0600 partials, 0700 cache directories). */
	conn->want &= ~FUSE_CAP_DONT_MASK;
	umask(0);
	cfg->entry_timeout = 1.0;
	cfg->attr_timeout = 1.0;
	/* The kernel may remember for a second that a name does not exist:
	 * cp and tar look each new name up before they create it, and names
	 * made through the mount clear such entries anyway. A file placed
	 * on the server by someone else shows a second later at most (the
	 * listing's own freshness is 3 s). */
	cfg->negative_timeout = 1.0;
	cfg->use_ino = 0;
	/* A file removed while open is kept by libfuse as .fuse_hidden...
	 * (so fstat and the rest keep working on it); rename and unlink
	 * treat those names as local. Handles carry what they need (staged
	 * fd, queue entry id), so release needs no path. */
	cfg->hard_remove = 0;
	cfg->nullpath_ok = 1;
	return fuse_get_context()->private_data;
}

const struct fuse_operations nb_fs_operations = {
	.init = nb_op_init,
	.getattr = nb_op_getattr,
	.opendir = nb_op_opendir,
	.readdir = nb_op_readdir,
	.releasedir = nb_op_releasedir,
	.mkdir = nb_op_mkdir,
	.mknod = nb_op_mknod,
	.create = nb_op_create,
	.open = nb_op_open,
	.read = nb_op_read,
	.write = nb_op_write,
	.release = nb_op_release,
	/* No flush: close(2) has nothing to wait for here (the staged file
	 * is written through, the queue's record made at open). Without
	 * it the kernel stops sending FLUSH at the first ENOSYS, a round
	 * trip saved on every close. */
	.fsync = nb_op_fsync,
	.chmod = nb_op_chmod,
	.chown = nb_op_chown,
	.utimens = nb_op_utimens,
	.truncate = nb_op_truncate,
	.fallocate = nb_op_fallocate,
	.statfs = nb_op_statfs,
	.access = nb_op_access,
	.getxattr = nb_op_getxattr,
	.listxattr = nb_op_listxattr,
	.setxattr = nb_op_setxattr,
	.removexattr = nb_op_removexattr,
	.unlink = nb_op_unlink,
	.rmdir = nb_op_rmdir,
	.rename = nb_op_rename,
	.symlink = nb_op_symlink,
	.readlink = nb_op_readlink,
	.link = nb_op_link,
};
