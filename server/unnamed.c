/*
 * Unnamed files (O_TMPFILE) and naming them: see unnamed.h.
 */
#include "server/unnamed.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

/* linkat(2) names an unnamed file from its descriptor with
 * AT_EMPTY_PATH (which needs CAP_DAC_READ_SEARCH), or through its
 * /proc/self/fd link with AT_SYMLINK_FOLLOW (which needs /proc). */
static int nb_unnamed_proc_ok(void)
{
	return access("/proc/self/fd", X_OK) == 0;
}

int nb_unnamed_open(int dirfd)
{
	if (!nb_unnamed_proc_ok())
		return -EOPNOTSUPP;
	int fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	return fd >= 0 ? fd : -errno;
}

int nb_unnamed_link(int fd, int dirfd, const char *leaf)
{
	if (linkat(fd, "", dirfd, leaf, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno != ENOENT && errno != EPERM)
		return -errno;
	/* Without the capability, AT_EMPTY_PATH fails with ENOENT. */
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, proc, dirfd, leaf, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	return -errno;
}
