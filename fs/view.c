/*
 * The namespace the mount shows: the staged tree over the remote tree as
 * last listed, through the queue's pending barriers. The contract is in
 * view.h.
 */
#include "fs/view.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wire/err.h"
#include "wire/log.h"
#include "wire/longpath.h"
#include "wire/pathname.h"
#include "wire/xio.h"

void nb_view_stat_from_attr(struct nb_fs *fs, const struct nb_attr *a, struct stat *st)
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

int nb_view_remote(struct nb_fs *fs, const char *wpath, struct nb_attr *a, char *rpath, size_t rsz)
{
	char buf[NB_PATH_MAX + 1];
	if (!rpath) {
		rpath = buf;
		rsz = sizeof(buf);
	}
	int r = nb_core_resolve(fs->core, wpath, rpath, rsz);
	if (r != 0)
		return r;
	if (!rpath[0]) { /* the root always exists */
		memset(a, 0, sizeof(*a));
		a->mode = S_IFDIR | 0755;
		return 0;
	}
	return nb_rcache_stat_path(fs->rc, rpath, a);
}

int nb_view_lookup(struct nb_fs *fs, const char *wpath, struct stat *st, int *staged)
{
	*staged = 0;
	if (nb_longpath_fstatat(fs->stage_fd, wpath[0] ? wpath : ".", st, AT_SYMLINK_NOFOLLOW) ==
	    0) {
		*staged = 1;
		return 0;
	}
	if (errno != ENOENT && errno != ENOTDIR)
		return -errno;
	struct nb_attr a;
	int r = nb_view_remote(fs, wpath, &a, NULL, 0);
	if (r == 0)
		nb_view_stat_from_attr(fs, &a, st);
	return r;
}

int nb_view_reload(struct nb_fs *fs, const char *wpath)
{
	char *rpath = malloc(NB_PATH_MAX + 1);
	if (!rpath)
		return -ENOMEM;
	int r = nb_core_resolve(fs->core, wpath, rpath, NB_PATH_MAX + 1);
	if (r == 0)
		r = nb_rcache_reload(fs->rc, rpath);
	free(rpath);
	return r;
}

int nb_view_on_server(struct nb_fs *fs, const char *wpath, int staged)
{
	struct nb_attr a;
	if (!staged || nb_core_known_on_server(fs->core, wpath))
		return 1;
	return nb_view_remote(fs, wpath, &a, NULL, 0) == 0;
}

struct nb_names {
	char **v;
	size_t n, cap;
	int err;
};

static void nb_names_add(struct nb_names *ns, const char *name)
{
	if (ns->err)
		return;
	if (ns->n == ns->cap) {
		size_t cap = ns->cap ? ns->cap * 2 : 64;
		char **v = realloc(ns->v, cap * sizeof(*v));
		if (!v) {
			ns->err = -ENOMEM;
			return;
		}
		ns->v = v;
		ns->cap = cap;
	}
	if (!(ns->v[ns->n] = strdup(name)))
		ns->err = -ENOMEM;
	else
		ns->n++;
}

static int nb_names_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A listing's state. Its path buffers (NB_PATH_MAX + 1 bytes each) are
 * allocated once per listing rather than on the stack: a listing may run
 * deep inside the pinner's walk of a tree. */
struct nb_list_ctx {
	struct nb_fs *fs;
	const char *wpath;
	struct nb_names *ns;
	char *rpath; /* wpath's name on the server */
	char *local, *want, *got;
};

/* Join dir and name into out (size NB_PATH_MAX + 1). -ENAMETOOLONG. */
static int nb_view_join(char *out, const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	if (dl + 1 + nl > NB_PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(out, dir, dl);
	if (dl)
		out[dl++] = '/';
	memcpy(out + dl, name, nl + 1);
	return 0;
}

static int nb_view_list_remote(void *arg, const char *name, const struct nb_attr *a)
{
	(void)a;
	struct nb_list_ctx *c = arg;
	if (nb_view_join(c->local, c->wpath, name) != 0 ||
	    nb_view_join(c->want, c->rpath, name) != 0)
		return 0;
	/* Shown only if this local name still maps to this remote entry
	 * (and, checked after the walk, is still in the cache). */
	if (nb_core_resolve(c->fs->core, c->local, c->got, NB_PATH_MAX + 1) == 0 &&
	    strcmp(c->got, c->want) == 0)
		nb_names_add(c->ns, name);
	return 0;
}

static void nb_view_list_renamed(void *arg, const char *name)
{
	struct nb_list_ctx *c = arg;
	struct nb_attr a;
	if (nb_view_join(c->local, c->wpath, name) == 0 &&
	    nb_view_remote(c->fs, c->local, &a, NULL, 0) == 0)
		nb_names_add(c->ns, name);
}

int nb_view_list(struct nb_fs *fs, const char *wpath, int (*fn)(void *arg, const char *name),
		 void *arg)
{
	struct nb_names ns = {0};
	const size_t sz = NB_PATH_MAX + 1;
	char *bufs = malloc(4 * sz);
	if (!bufs)
		return -ENOMEM;
	struct nb_list_ctx c = {fs, wpath, &ns, bufs, bufs + sz, bufs + 2 * sz, bufs + 3 * sz};
	int fd = nb_longpath_openat(fs->stage_fd, wpath[0] ? wpath : ".",
				    O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd >= 0) {
		DIR *d = fdopendir(fd);
		if (!d) {
			int e = -errno;
			nb_xio_close(fd);
			free(bufs);
			return e;
		}
		struct dirent *de;
		while ((de = readdir(d)) != NULL)
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
			    !nb_path_is_fuse_hidden(de->d_name))
				nb_names_add(&ns, de->d_name);
		closedir(d);
	} else if (errno != ENOENT) {
		int e = -errno;
		free(bufs);
		return e;
	}
	if (nb_core_resolve(fs->core, wpath, c.rpath, sz) == 0) {
		size_t first = ns.n;
		nb_rcache_list(fs->rc, c.rpath, nb_view_list_remote, &c);
		/* The walk was over a copy: the sync thread may have removed
		 * a name on the server since, its RMDIR or UNLINK then gone
		 * from the queue, so the name resolved with nothing in the
		 * way. It takes the name out of the cache before it lets the
		 * barrier go (sync/flight.c), so asked after the resolves the
		 * cache knows. Regression: posixcheck's rmdir case under TSan
		 * listed a directory just removed. */
		if (ns.n > first)
			ns.n = first + nb_rcache_keep_held(fs->rc, c.rpath, ns.v + first,
							   ns.n - first);
		nb_core_renamed_into(fs->core, wpath, nb_view_list_renamed, &c);
	}
	free(bufs);
	int r = ns.err;
	if (ns.n)
		qsort(ns.v, ns.n, sizeof(char *), nb_names_cmp);
	for (size_t i = 0; i < ns.n && r == 0; i++)
		if (i == 0 || strcmp(ns.v[i], ns.v[i - 1]) != 0)
			r = fn(arg, ns.v[i]);
	for (size_t i = 0; i < ns.n; i++)
		free(ns.v[i]);
	free(ns.v);
	return r;
}

/* Make the first len bytes of path (a directory) exist in the staging
 * tree, each missing component mirroring the server's directory. */
static int nb_view_mirror(struct nb_fs *fs, const char *path, size_t len)
{
	struct stat st;
	if (len > NB_PATH_MAX)
		return -ENAMETOOLONG;
	if (len == 0)
		return 0;
	/* dir, then the server's name of a prefix: on the heap (2 x 32 KiB) */
	char *dir = malloc(2 * (NB_PATH_MAX + 1));
	if (!dir)
		return -ENOMEM;
	char *rpath = dir + NB_PATH_MAX + 1;
	memcpy(dir, path, len);
	dir[len] = 0;
	int r = 0;
	if (nb_longpath_fstatat(fs->stage_fd, dir, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		r = S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
		goto out;
	}
	for (size_t i = 0; i <= len; i++) {
		if (i < len && dir[i] != '/')
			continue;
		char save = dir[i];
		dir[i] = 0;
		if (nb_longpath_fstatat(fs->stage_fd, dir, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			/* Known on the server (perhaps under an older name):
			 * mirror it; creating it there is not needed. */
			struct nb_attr a;
			if (nb_view_remote(fs, dir, &a, rpath, NB_PATH_MAX + 1) != 0) {
				r = -ENOENT;
				goto out;
			}
			if (!S_ISDIR(a.mode)) {
				r = -ENOTDIR;
				goto out;
			}
			if (nb_longpath_mkdirat(fs->stage_fd, dir, a.mode & 07777) != 0 &&
			    errno != EEXIST) {
				r = -errno;
				goto out;
			}
			if (strcmp(rpath, dir) == 0)
				nb_core_mirrored_dir(fs->core, dir);
		} else if (!S_ISDIR(st.st_mode)) {
			r = -ENOTDIR;
			goto out;
		}
		dir[i] = save;
	}
out:
	free(dir);
	return r;
}

int nb_view_ensure_parents(struct nb_fs *fs, const char *wpath)
{
	return nb_view_mirror(fs, wpath, nb_path_parent_len(wpath));
}

int nb_view_mirror_dir(struct nb_fs *fs, const char *wpath)
{
	return nb_view_mirror(fs, wpath, strlen(wpath));
}

int nb_view_fetch(struct nb_fs *fs, const char *wpath)
{
	char rpath[NB_PATH_MAX + 1];
	struct nb_attr a;
	int r = nb_view_remote(fs, wpath, &a, rpath, sizeof(rpath));
	if (r != 0)
		return r;
	if (!S_ISREG(a.mode))
		return -EINVAL;
	if ((r = nb_view_ensure_parents(fs, wpath)) != 0)
		return r;
	if (nb_core_fetch(fs->core, rpath, wpath) != 0)
		return -EIO;
	struct stat st;
	if (nb_longpath_fstatat(fs->stage_fd, wpath, &st, AT_SYMLINK_NOFOLLOW) == 0)
		nb_cache_add(fs->cache, st.st_size);
	return 0;
}

/* Attributes of the staged path, for the cached remote listing. */
static int nb_view_staged_attr(struct nb_fs *fs, const char *path, struct nb_attr *a, char *link,
			       size_t linksz)
{
	struct stat st;
	if (nb_longpath_fstatat(fs->stage_fd, path, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return -errno;
	memset(a, 0, sizeof(*a));
	a->mode = st.st_mode;
	a->size = S_ISDIR(st.st_mode) ? 0 : (uint64_t)st.st_size;
	a->mtime_s = st.st_mtim.tv_sec;
	a->mtime_ns = (uint32_t)st.st_mtim.tv_nsec;
	if (S_ISLNK(st.st_mode)) {
		ssize_t n = nb_longpath_readlinkat(fs->stage_fd, path, link, linksz - 1);
		if (n < 0)
			return -errno;
		link[n] = 0;
		a->link = link;
	}
	return 0;
}

void nb_view_on_event(void *arg, const struct nb_core_event *ev)
{
	struct nb_fs *fs = arg;
	struct nb_attr a;
	char link[NB_LINK_MAX + 1], dir[NB_PATH_MAX + 1];
	if (fs->events)
		nb_events_add(fs->events, ev);
	switch (ev->what) {
	case NB_EV_CONFLICT: {
		/* The server's version stays at the path: list it afresh. */
		size_t plen = nb_path_parent_len(ev->path);
		memcpy(dir, ev->path, plen);
		dir[plen] = 0;
		nb_rcache_invalidate(fs->rc, dir);
		break;
	}
	case NB_EV_CREATED:
		if (nb_view_staged_attr(fs, ev->path, &a, link, sizeof(link)) == 0)
			nb_rcache_upsert(fs->rc, ev->path, &a);
		break;
	case NB_EV_REMOVED:
		nb_rcache_remove(fs->rc, ev->path);
		break;
	case NB_EV_MOVED:
		nb_rcache_move(fs->rc, ev->path2, ev->path);
		if (nb_view_staged_attr(fs, ev->path, &a, link, sizeof(link)) == 0)
			nb_rcache_upsert(fs->rc, ev->path, &a);
		break;
	}
}
