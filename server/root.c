/*
 * The server's confinement: every path the client names is resolved
 * beneath one directory fd, a component at a time, never following
 * symlinks. The contract is in root.h.
 */
#include "server/root.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "wire/pathname.h"
#include "wire/xio.h"

#define NB_ROOT_DIRFLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

int nb_root_open(struct nb_root *root, const char *dir)
{
	root->fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return root->fd < 0 ? -errno : 0;
}

void nb_root_close(struct nb_root *root)
{
	nb_xio_close(root->fd);
	root->fd = -1;
}

/* Walk the first `len` bytes of path (already validated) from the root.
 * Returns a new directory fd or -errno. */
static int nb_root_walk(const struct nb_root *root, const char *path, size_t len, int create_mode)
{
	/* A fresh open of ".", not dup(): a dup shares the directory offset
	 * with the root fd, and a listing through it would leave the root
	 * read to its end for the next one. */
	int fd = openat(root->fd, ".", NB_ROOT_DIRFLAGS);
	if (fd < 0)
		return -errno;
	size_t i = 0;
	while (i < len) {
		size_t j = i;
		while (j < len && path[j] != '/')
			j++;
		char name[NB_NAME_MAX + 1];
		memcpy(name, path + i, j - i);
		name[j - i] = 0;
		int next = openat(fd, name, NB_ROOT_DIRFLAGS);
		if (next < 0 && errno == ENOENT && create_mode >= 0) {
			if (mkdirat(fd, name, (mode_t)create_mode) != 0 && errno != EEXIST) {
				int e = -errno;
				nb_xio_close(fd);
				return e;
			}
			next = openat(fd, name, NB_ROOT_DIRFLAGS);
		}
		if (next < 0) {
			/* A symlink where a directory should be reads as "not a
			 * directory": we never follow it. */
			int e = errno == ELOOP ? -ENOTDIR : -errno;
			nb_xio_close(fd);
			return e;
		}
		nb_xio_close(fd);
		fd = next;
		i = j + 1;
	}
	return fd;
}

int nb_root_parent(const struct nb_root *root, const char *path, int create_mode, int *dirfd,
		   const char **leaf)
{
	int r = nb_path_check(path);
	if (r != 0)
		return r;
	if (path[0] == 0)
		return -EINVAL;
	size_t plen = nb_path_parent_len(path);
	int fd = nb_root_walk(root, path, plen, create_mode);
	if (fd < 0)
		return fd;
	*dirfd = fd;
	*leaf = plen ? path + plen + 1 : path;
	return 0;
}

int nb_root_opendir(const struct nb_root *root, const char *path)
{
	int r = nb_path_check(path);
	if (r != 0)
		return r;
	return nb_root_walk(root, path, strlen(path), -1);
}

int nb_root_stat(const struct nb_root *root, const char *path, struct stat *st)
{
	int r = nb_path_check(path);
	if (r != 0)
		return r;
	if (path[0] == 0)
		return fstat(root->fd, st) == 0 ? 0 : -errno;
	int dirfd;
	const char *leaf;
	if ((r = nb_root_parent(root, path, -1, &dirfd, &leaf)) != 0)
		return r;
	r = fstatat(dirfd, leaf, st, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
	nb_xio_close(dirfd);
	return r;
}

int nb_root_mkdir(const struct nb_root *root, const char *path, mode_t mode)
{
	int dirfd;
	const char *leaf;
	int r = nb_root_parent(root, path, 0755, &dirfd, &leaf);
	if (r != 0)
		return r;
	if (mkdirat(dirfd, leaf, mode & 07777) != 0 && errno != EEXIST) {
		r = -errno;
		goto out;
	}
	int fd = openat(dirfd, leaf, NB_ROOT_DIRFLAGS);
	if (fd < 0) {
		r = errno == ELOOP ? -ENOTDIR : -errno;
		goto out;
	}
	if (fchmod(fd, mode & 07777) != 0)
		r = -errno;
	if (r == 0)
		r = nb_xio_fsync(dirfd);
	nb_xio_close(fd);
out:
	nb_xio_close(dirfd);
	return r;
}
