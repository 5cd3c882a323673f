/*
 * *at() system calls on relative paths longer than the kernel takes.
 *
 * Linux refuses a path argument of PATH_MAX (4096) bytes or more with
 * ENAMETOOLONG, yet a tree may be deeper than that (ext4 sets no limit on
 * depth; a process reaches such a file through a deep working directory).
 * nbfs names files by their path from the staging root (stage_fd), up to
 * NB_PATH_MAX bytes, so every *at() call on such a path goes through
 * these wrappers: a path shorter than PATH_MAX is passed straight to the
 * system call (no extra cost); a longer one is split into its parent and
 * its last component, the parent is opened by walking it one component
 * at a time (O_PATH | O_DIRECTORY | O_NOFOLLOW: a symlink on the way
 * gives ENOTDIR or ELOOP, never a detour), and the call is made on the
 * leaf from that parent.
 *
 * The wrappers keep the contract of the system call they stand for
 * (-1 with errno set, or its result), so a call site changes only the
 * name. A walk that fails sets errno as the failing step left it.
 */
#ifndef NB_LONGPATH_H
#define NB_LONGPATH_H

#include <limits.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

/* The longest path handed to the kernel in one piece (with its NUL,
 * PATH_MAX bytes). */
#define NB_LONGPATH_DIRECT (PATH_MAX - 1)

/* A path made ready for one *at() call: use dirfd and leaf, then
 * nb_longpath_end. */
struct nb_longpath {
	int dirfd;	  /* the caller's dirfd, or an O_PATH fd of the parent */
	const char *leaf; /* the path itself, or its last component (points
			   * into the caller's string or into name) */
	int owned;	  /* dirfd was opened here */
	char name[NAME_MAX + 1];	  /* the last component, NUL-terminated, when split */
};

/* Prepare path (relative to dirfd) for a *at() call. A short path is
 * used as it is; a long one has its parent opened (see above). 0 or -1
 * with errno (ENAMETOOLONG for a component over 255 bytes; what
 * openat() says for the walk). On success the caller calls
 * nb_longpath_end. */
int nb_longpath_begin(int dirfd, const char *path, struct nb_longpath *lp);
/* Close what nb_longpath_begin opened; errno is kept. */
void nb_longpath_end(struct nb_longpath *lp);

/* The system calls of the same name, for paths of any length. */
int nb_longpath_openat(int dirfd, const char *path, int flags, mode_t mode);
int nb_longpath_fstatat(int dirfd, const char *path, struct stat *st, int flags);
int nb_longpath_mkdirat(int dirfd, const char *path, mode_t mode);
int nb_longpath_mknodat(int dirfd, const char *path, mode_t mode, dev_t dev);
int nb_longpath_unlinkat(int dirfd, const char *path, int flags);
int nb_longpath_symlinkat(const char *target, int dirfd, const char *path);
ssize_t nb_longpath_readlinkat(int dirfd, const char *path, char *buf, size_t n);
int nb_longpath_utimensat(int dirfd, const char *path, const struct timespec tv[2], int flags);
int nb_longpath_fchmodat(int dirfd, const char *path, mode_t mode, int flags);
int nb_longpath_fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags);
/* renameat2(2); flags 0 is renameat(2). */
int nb_longpath_renameat2(int fromfd, const char *from, int tofd, const char *to,
			  unsigned int flags);

#endif
