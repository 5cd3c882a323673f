/*
 * The server's confinement: every path the client names is resolved
 * beneath one open directory fd, one validated component at a time, with
 * O_NOFOLLOW|O_DIRECTORY on every intermediate component. No path string
 * is ever handed to a syscall whole, so "..", absolute names and symlinks
 * planted in the tree cannot lead outside the root.
 */
#ifndef NB_ROOT_H
#define NB_ROOT_H

#include <sys/stat.h>
#include <sys/types.h>

struct nb_root {
	int fd; /* O_DIRECTORY fd of the root */
};

/* Open dir as the root. 0 or -errno. */
int nb_root_open(struct nb_root *root, const char *dir);
void nb_root_close(struct nb_root *root);

/* Resolve the parent directory of wire path `path` (validated with
 * nb_path_check; "" is refused with -EINVAL). On success *dirfd is a new
 * O_DIRECTORY fd the caller closes, and *leaf points into path at the
 * last component. With create_mode >= 0, missing intermediate
 * directories are created with that mode. */
int nb_root_parent(const struct nb_root *root, const char *path, int create_mode, int *dirfd,
		   const char **leaf);
/* Open the directory `path` ("" is the root): a new fd or -errno. */
int nb_root_opendir(const struct nb_root *root, const char *path);
/* lstat-like: never follows a symlink. */
int nb_root_stat(const struct nb_root *root, const char *path, struct stat *st);
/* Create directory `path` (and missing parents) and set its permission
 * bits to mode. An existing directory just gets the mode. */
int nb_root_mkdir(const struct nb_root *root, const char *path, mode_t mode);

#endif
