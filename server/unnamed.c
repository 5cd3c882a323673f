/*
 * Unnamed files (O_TMPFILE) and naming them: see unnamed.h.
 */
#include "server/unnamed.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

/* linkat(2) names an unnamed file through its /proc/self/fd link with
 * AT_SYMLINK_FOLLOW, which any user may do (AT_EMPTY_PATH on the
 * descriptor itself needs CAP_DAC_READ_SEARCH, which a server started
 * through SSH by an ordinary user lacks). Asked once per process. */
static int nb_unnamed_proc_ok(void)
{
	static int ok = -1;
	if (ok < 0)
		ok = access("/proc/self/fd", X_OK) == 0;
	return ok;
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
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	return linkat(AT_FDCWD, proc, dirfd, leaf, AT_SYMLINK_FOLLOW) == 0 ? 0 : -errno;
}
