#include "sync/scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wire/log.h"
#include "wire/pathname.h"
#include "wire/xio.h"

static long nb_scan_dir(int stage_fd, const char *dir, struct nb_statedb *db,
			      struct nb_status *st)
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
		if (strncmp(de->d_name, ".fuse_hidden", 12) == 0) {
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
		struct nb_status_view v;
		char rpath[NB_PATH_MAX + 1];
		int tracked = nb_status_get(st, path, &v) == 0;
		/* What the server holds for this name, as of the pending
		 * renames (a staged file renamed locally is known under its
		 * old name until the server follows). */
		if (nb_status_resolve(st, path, rpath, sizeof(rpath)) != 0)
			memcpy(rpath, path, strlen(path) + 1); /* checked <= NB_PATH_MAX */
		int known = nb_statedb_get_synced(db, rpath, &rec) == 0;
		if (S_ISDIR(s.st_mode)) {
			if (!tracked && !known && nb_status_touch(st, path, NB_KIND_DIR) == 0)
				marked++;
			long k = nb_scan_dir(stage_fd, path, db, st);
			if (k > 0)
				marked += k;
		} else if (S_ISREG(s.st_mode)) {
			int64_t mtime_ns = (int64_t)s.st_mtim.tv_sec * 1000000000 + s.st_mtim.tv_nsec;
			int same = known && rec.kind == NB_KIND_FILE && rec.size == (uint64_t)s.st_size &&
				   rec.mtime_ns == mtime_ns;
			if (!tracked && !same && nb_status_touch(st, path, NB_KIND_FILE) == 0)
				marked++;
		} else if (S_ISLNK(s.st_mode)) {
			if (!tracked && !known && nb_status_touch(st, path, NB_KIND_SYMLINK) == 0)
				marked++;
		}
	}
	closedir(d);
	return marked;
}

long nb_scan_staged(int stage_fd, struct nb_statedb *db, struct nb_status *st)
{
	long n = nb_scan_dir(stage_fd, "", db, st);
	if (n > 0)
		nb_info("%ld staged paths were not known to be on the server; queued", n);
	return n;
}
