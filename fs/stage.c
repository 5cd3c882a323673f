#include "fs/stage.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

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
