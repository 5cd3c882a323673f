/*
 * Disk space held back for the state database. The contract is in
 * reserve.h.
 */
#include "sync/reserve.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wire/log.h"
#include "wire/xio.h"

/* Allocate the whole file, or give back what a failed try took. */
static void nb_reserve_fill(struct nb_reserve *r)
{
	int fd = open(r->path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		r->last_try_ms = nb_xio_now_ms();
		return;
	}
	int e = posix_fallocate(fd, 0, r->size);
	if (e == 0) {
		r->held = 1;
	} else {
		if (ftruncate(fd, 0) != 0)
			nb_debug("%s: %s", r->path, strerror(errno));
		r->last_try_ms = nb_xio_now_ms();
	}
	nb_xio_close(fd);
}

int nb_reserve_init(struct nb_reserve *r, const char *path, off_t size)
{
	memset(r, 0, sizeof(*r));
	r->path = strdup(path);
	if (!r->path)
		return -ENOMEM;
	r->size = size;
	struct stat st;
	/* Allocated blocks, not the length: a file a failed try left
	 * long but sparse holds nothing. */
	if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == size &&
	    (off_t)st.st_blocks * 512 >= size)
		r->held = 1;
	else
		nb_reserve_fill(r);
	if (!r->held)
		nb_warn("%s: the cache's disk has no room for the state database's reserve", path);
	return 0;
}

int nb_reserve_release(struct nb_reserve *r)
{
	if (!r->held)
		return 0;
	r->held = 0;
	r->last_try_ms = nb_xio_now_ms();
	if (truncate(r->path, 0) != 0) {
		nb_warn("%s: cannot give the reserve back: %s", r->path, strerror(errno));
		return 0;
	}
	nb_info("the cache's disk is full: the state database uses its reserve");
	return 1;
}

void nb_reserve_refill(struct nb_reserve *r)
{
	if (r->held || !r->path || nb_xio_now_ms() - r->last_try_ms < 1000)
		return;
	nb_reserve_fill(r);
	if (r->held)
		nb_info("the cache's disk has room again: the state database's reserve is back");
}

void nb_reserve_fini(struct nb_reserve *r)
{
	free(r->path);
	r->path = NULL;
}
