/*
 * The staging area: <cache>/stage mirrors the part of the namespace held
 * locally. The contract is in stage.h.
 */
#include "fs/stage.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "wire/xio.h"

int nb_stage_open(const char *cache)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/stage", cache) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	int r = nb_xio_mkdir_p(path, 0700);
	if (r != 0)
		return r;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int nb_stage_size_ok(int stage_fd, uint64_t size)
{
	if (size > (uint64_t)INT64_MAX)
		return -EFBIG; /* no off_t holds it */
	/* The limit is the filesystem's (s_maxbytes), known only to the
	 * kernel: try it on a file nobody sees. Sparse, so nothing is
	 * written, and gone at close. */
	int fd = openat(stage_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return 0; /* no O_TMPFILE here: no opinion */
	int r = ftruncate(fd, (off_t)size) == 0 ? 0 : -errno;
	nb_xio_close(fd);
	return r == -EFBIG || r == -EINVAL ? r : 0;
}
