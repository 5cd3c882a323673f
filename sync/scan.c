/*
 * The staged tree against the records, at mount time: whatever the server
 * is not known to hold is queued again. The contract is in scan.h.
 */
#include "sync/scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
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

static long nb_scan_dir(int stage_fd, const char *dir, struct nb_queue *q)
{
	int fd = openat(stage_fd, dir[0] ? dir : ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		nb_xio_close(fd);
		return -errno;
	}
	long marked = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (nb_path_check_name(de->d_name, strlen(de->d_name)) != 0)
			continue;
		if (nb_path_is_fuse_hidden(de->d_name)) {
			/* Left from a file removed while open when we stopped. */
			unlinkat(dirfd(d), de->d_name, 0);
			continue;
		}
		char path[NB_PATH_MAX + 2];
		int n = snprintf(path, sizeof(path), "%s%s%s", dir, dir[0] ? "/" : "", de->d_name);
		if (n < 0 || (size_t)n >= sizeof(path) || nb_path_check(path) != 0)
			continue;
		struct stat s;
		if (fstatat(dirfd(d), de->d_name, &s, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		struct nb_synced rec;
		struct nb_core_state v;
		char rpath[NB_PATH_MAX + 1];
		int tracked = nb_queue_state(q, path, 1, &v);
		/* What the server holds for this name, as of the pending
		 * renames (a staged file renamed locally is known under its
		 * old name until the server follows). */
		if (nb_queue_resolve(q, path, rpath, sizeof(rpath)) != 0)
			memcpy(rpath, path, strlen(path) + 1); /* checked <= NB_PATH_MAX */
		int known = nb_queue_record(q, rpath, &rec) == 0;
		if (S_ISDIR(s.st_mode)) {
			if (!tracked && !known)
				marked += nb_scan_queue(q, path, NB_KIND_DIR);
			long k = nb_scan_dir(stage_fd, path, q);
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
	}
	closedir(d);
	return marked;
}

long nb_scan_staged(int stage_fd, struct nb_queue *q)
{
	long n = nb_scan_dir(stage_fd, "", q);
	if (n > 0)
		nb_info("%ld staged paths were not known to be on the server; queued", n);
	return n;
}
