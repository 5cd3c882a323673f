/*
 * The staged tree against the records, at mount time: whatever the server
 * is not known to hold is queued again. The contract is in scan.h.
 */
#include "sync/scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wire/err.h"
#include "wire/log.h"
#include "wire/pathname.h"
#include "wire/xio.h"

/* Queue path: 1, or 0 with the reason logged (it is looked at again at
 * the next mount). */
static int nb_scan_queue(struct nb_queue *q, const char *path, int kind)
{
	int r = nb_queue_touch(q, path, kind);
	if (r != 0)
		nb_err("%s: not known to be on the server, and cannot be queued: %s", path,
		       nb_strerror(r));
	return r == 0;
}

struct nb_scan {
	struct nb_queue *q;
	char *path;  /* the path being looked at (NB_PATH_MAX + 1 bytes) */
	char *rpath; /* its name on the server (as big) */
};

/* Scan the directory open as fd (taken over and closed here), whose
 * path is the first len bytes of sc->path. The buffers are shared by the
 * whole walk, so a level costs a little stack and one open directory,
 * whatever the paths' length; a subdirectory is opened from its
 * parent's fd, so no path handed to the kernel is longer than a name. */
static long nb_scan_dir(struct nb_scan *sc, int fd, size_t len)
{
	struct nb_queue *q = sc->q;
	char *path = sc->path, *rpath = sc->rpath;
	DIR *d = fdopendir(fd);
	if (!d) {
		nb_xio_close(fd);
		return -errno;
	}
	long marked = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t nl = strlen(de->d_name);
		if (nb_path_check_name(de->d_name, nl) != 0)
			continue;
		if (nb_path_is_fuse_hidden(de->d_name)) {
			/* Left from a file removed while open when we stopped. */
			unlinkat(dirfd(d), de->d_name, 0);
			continue;
		}
		size_t n = len + (len ? 1 : 0) + nl;
		if (n > NB_PATH_MAX)
			continue;
		if (len)
			path[len] = '/';
		memcpy(path + n - nl, de->d_name, nl + 1);
		if (nb_path_check(path) != 0)
			goto next;
		struct stat s;
		if (fstatat(dirfd(d), de->d_name, &s, AT_SYMLINK_NOFOLLOW) != 0)
			goto next;
		struct nb_synced rec;
		/* A creation queued here: it goes anyway. Not a rename
		 * queued to the name: what it brings is the record of its
		 * source (below); the file here may be a new one, made after
		 * it, whose entry was not on record yet (sync/queue.h). */
		int tracked = nb_queue_has_creation(q, path);
		/* What the server holds for this name, as of the pending
		 * renames (a staged file renamed locally is known under its
		 * old name until the server follows). Nothing, once a queued
		 * removal or rename takes away what it holds there now: a file
		 * made again at the name, its entry lost, is queued whatever
		 * the old record says (it may say the same size and time). */
		int rr = nb_queue_resolve(q, path, rpath, NB_PATH_MAX + 1);
		if (rr != 0)
			memcpy(rpath, path, n + 1); /* checked <= NB_PATH_MAX */
		int known = rr != -ENOENT && nb_queue_record(q, rpath, &rec) == 0;
		if (S_ISDIR(s.st_mode)) {
			if (!tracked && !known)
				marked += nb_scan_queue(q, path, NB_KIND_DIR);
			int sub = openat(dirfd(d), de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			long k = sub >= 0 ? nb_scan_dir(sc, sub, n) : -errno;
			if (k > 0)
				marked += k;
		} else if (S_ISREG(s.st_mode)) {
			int64_t mtime_ns = (int64_t)s.st_mtim.tv_sec * 1000000000 + s.st_mtim.tv_nsec;
			int same = known && rec.kind == NB_KIND_FILE && rec.size == (uint64_t)s.st_size &&
				   rec.mtime_ns == mtime_ns;
			if (!tracked && !same)
				marked += nb_scan_queue(q, path, NB_KIND_FILE);
		} else if (S_ISLNK(s.st_mode)) {
			if (!tracked && !known)
				marked += nb_scan_queue(q, path, NB_KIND_SYMLINK);
		}
	next:
		path[len] = 0;
	}
	closedir(d);
	return marked;
}

long nb_scan_staged(int stage_fd, struct nb_queue *q)
{
	struct nb_scan sc = {q, malloc(NB_PATH_MAX + 1), malloc(NB_PATH_MAX + 1)};
	int fd = openat(stage_fd, ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	long n = fd < 0 ? -errno : -ENOMEM;
	if (fd >= 0 && sc.path && sc.rpath) {
		sc.path[0] = 0;
		n = nb_scan_dir(&sc, fd, 0);
	} else {
		nb_xio_close(fd);
	}
	free(sc.path);
	free(sc.rpath);
	if (n > 0)
		nb_info("%ld staged paths were not known to be on the server; queued", n);
	return n;
}
