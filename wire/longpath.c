/*
 * *at() calls on paths of any length: short ones go straight to the
 * kernel, long ones are split into a parent opened one component at a
 * time and a leaf. The contract is in longpath.h.
 */
#include "wire/longpath.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "wire/xio.h"

/* Open the directory named by the n bytes at p (relative to dirfd) by
 * walking its components; empty components are skipped, as the kernel
 * skips them. The fd (dirfd itself if there was no component, with
 * *owned 0), or -1 with errno. */
static int nb_longpath_walk(int dirfd, const char *p, size_t n, int *owned)
{
	int fd = dirfd;
	*owned = 0;
	for (size_t i = 0; i < n;) {
		const char *slash = memchr(p + i, '/', n - i);
		size_t len = slash ? (size_t)(slash - (p + i)) : n - i;
		if (len > NAME_MAX) {
			if (*owned)
				nb_xio_close(fd);
			errno = ENAMETOOLONG;
			return -1;
		}
		if (len > 0) {
			char name[NAME_MAX + 1];
			memcpy(name, p + i, len);
			name[len] = 0;
			int next = openat(fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (*owned)
				nb_xio_close(fd); /* keeps errno */
			if (next < 0)
				return -1;
			fd = next;
			*owned = 1;
		}
		i += len + 1;
	}
	return fd;
}

int nb_longpath_begin(int dirfd, const char *path, struct nb_longpath *lp)
{
	size_t n = strlen(path);
	lp->dirfd = dirfd;
	lp->leaf = path;
	lp->owned = 0;
	lp->name[0] = 0;
	if (n <= NB_LONGPATH_DIRECT)
		return 0;
	/* The leaf: the last component (a trailing '/' stays with it, as
	 * it would in one call: "dir/" must be a directory). */
	size_t end = n;
	while (end > 0 && path[end - 1] == '/')
		end--;
	const char *slash = end ? memrchr(path, '/', end) : NULL;
	size_t start = slash ? (size_t)(slash - path) + 1 : 0;
	if (n - start > NAME_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(lp->name, path + start, n - start + 1);
	int fd = nb_longpath_walk(dirfd, path, start, &lp->owned);
	if (fd < 0)
		return -1;
	lp->dirfd = fd;
	lp->leaf = lp->name;
	return 0;
}

void nb_longpath_end(struct nb_longpath *lp)
{
	if (lp->owned)
		nb_xio_close(lp->dirfd); /* keeps errno */
	lp->owned = 0;
}

int nb_longpath_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	struct nb_longpath lp;
	if (nb_longpath_begin(dirfd, path, &lp) != 0)
		return -1;
	int r = openat(lp.dirfd, lp.leaf, flags, mode);
	nb_longpath_end(&lp);
	return r;
}

int nb_longpath_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	struct nb_longpath lp;
	if (nb_longpath_begin(dirfd, path, &lp) != 0)
		return -1;
	int r = fstatat(lp.dirfd, lp.leaf, st, flags);
	nb_longpath_end(&lp);
	return r;
}

int nb_longpath_mkdirat(int dirfd, const char *path, mode_t mode)
{
	struct nb_longpath lp;
	if (nb_longpath_begin(dirfd, path, &lp) != 0)
		return -1;
	int r = mkdirat(lp.dirfd, lp.leaf, mode);
	nb_longpath_end(&lp);
	return r;
}

int nb_longpath_mknodat(int dirfd, const char *path, mode_t mode, dev_t dev)
{
	struct nb_longpath lp;
	if (nb_longpath_begin(dirfd, path, &lp) != 0)
		return -1;
	int r = mknodat(lp.dirfd, lp.leaf, mode, dev);
	nb_longpath_end(&lp);
	return r;
}

int nb_longpath_unlinkat(int dirfd, const char *path, int flags)
{
	struct nb_longpath lp;
	if (nb_longpath_begin(dirfd, path, &lp) != 0)
		return -1;
	int r = unlinkat(lp.dirfd, lp.leaf, flags);
	nb_longpath_end(&lp);
	return r;
}

int nb_longpath_symlinkat(const char *target, int dirfd, const char *path)
{
	struct nb_longpath lp;
	if (nb_longpath_begin(dirfd, path, &lp) != 0)
		return -1;
	int r = symlinkat(target, lp.dirfd, lp.leaf);
	nb_longpath_end(&lp);
	return r;
}

ssize_t nb_longpath_readlinkat(int dirfd, const char *path, char *buf, size_t n)
{
	struct nb_longpath lp;
	if (nb_longpath_begin(dirfd, path, &lp) != 0)
		return -1;
	ssize_t r = readlinkat(lp.dirfd, lp.leaf, buf, n);
	nb_longpath_end(&lp);
	return r;
}

int nb_longpath_utimensat(int dirfd, const char *path, const struct timespec tv[2], int flags)
{
	struct nb_longpath lp;
	if (nb_longpath_begin(dirfd, path, &lp) != 0)
		return -1;
	int r = utimensat(lp.dirfd, lp.leaf, tv, flags);
	nb_longpath_end(&lp);
	return r;
}

int nb_longpath_fchmodat(int dirfd, const char *path, mode_t mode, int flags)
{
	struct nb_longpath lp;
	if (nb_longpath_begin(dirfd, path, &lp) != 0)
		return -1;
	int r = fchmodat(lp.dirfd, lp.leaf, mode, flags);
	nb_longpath_end(&lp);
	return r;
}

int nb_longpath_fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags)
{
	struct nb_longpath lp;
	if (nb_longpath_begin(dirfd, path, &lp) != 0)
		return -1;
	int r = fchownat(lp.dirfd, lp.leaf, uid, gid, flags);
	nb_longpath_end(&lp);
	return r;
}

int nb_longpath_renameat2(int fromfd, const char *from, int tofd, const char *to,
			  unsigned int flags)
{
	struct nb_longpath a, b;
	if (nb_longpath_begin(fromfd, from, &a) != 0)
		return -1;
	if (nb_longpath_begin(tofd, to, &b) != 0) {
		nb_longpath_end(&a);
		return -1;
	}
	int r = flags ? renameat2(a.dirfd, a.leaf, b.dirfd, b.leaf, flags)
		      : renameat(a.dirfd, a.leaf, b.dirfd, b.leaf);
	nb_longpath_end(&b);
	nb_longpath_end(&a);
	return r;
}
