/*
 * The publish lock of a server root. The contract is in publock.h.
 */
#include "server/publock.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>

#include "wire/xio.h"

int nb_publock_take(int partial_dirfd)
{
	int fd = openat(partial_dirfd, NB_PUBLOCK_NAME,
			O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			int e = -errno;
			nb_xio_close(fd);
			return e;
		}
	}
	return fd;
}

void nb_publock_drop(int fd)
{
	if (fd >= 0)
		nb_xio_close(fd); /* the lock goes with the last fd */
}
