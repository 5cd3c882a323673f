/*
 * System-call wrappers: the only place that loops over read()/write(),
 * retries EINTR and turns errno into a negative return. The contract is in
 * xio.h.
 */
#include "wire/xio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "wire/longpath.h"

/* The one loop over read/write and pread/pwrite: retries EINTR and
 * short transfers. Reads stop early at end of file and return the count;
 * writes return 0 once everything is written. */
static ssize_t nb_xio_loop(int fd, void *buf, size_t n, off_t off, int writing, int positional)
{
	size_t done = 0;
	while (done < n) {
		char *p = (char *)buf + done;
		off_t at = off + (off_t)done;
		ssize_t k = writing ? (positional ? pwrite(fd, p, n - done, at) : write(fd, p, n - done))
				    : (positional ? pread(fd, p, n - done, at) : read(fd, p, n - done));
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0) {
			if (writing)
				return -EIO; /* no progress, no error: do not spin */
			break;
		}
		done += (size_t)k;
	}
	return writing ? 0 : (ssize_t)done;
}

ssize_t nb_xio_read_full(int fd, void *buf, size_t n)
{
	return nb_xio_loop(fd, buf, n, 0, 0, 0);
}

ssize_t nb_xio_pread_full(int fd, void *buf, size_t n, off_t off)
{
	return nb_xio_loop(fd, buf, n, off, 0, 1);
}

int nb_xio_write_full(int fd, const void *buf, size_t n)
{
	return (int)nb_xio_loop(fd, (void *)(uintptr_t)buf, n, 0, 1, 0);
}

int nb_xio_pwrite_full(int fd, const void *buf, size_t n, off_t off)
{
	return (int)nb_xio_loop(fd, (void *)(uintptr_t)buf, n, off, 1, 1);
}

int nb_xio_wait(int fd, short events, long timeout_ms)
{
	return nb_xio_wait_or(fd, events, -1, timeout_ms);
}

int nb_xio_wait_or(int fd, short events, int stop_fd, long timeout_ms)
{
	/* poll skips an entry whose fd is negative. */
	struct pollfd p[2] = {{.fd = fd, .events = events}, {.fd = stop_fd, .events = POLLIN}};
	long long deadline = nb_xio_now_ms() + timeout_ms;
	for (;;) {
		long left = timeout_ms < 0 ? -1 : (long)(deadline - nb_xio_now_ms());
		if (timeout_ms >= 0 && left < 0)
			left = 0;
		int k = poll(p, 2, left > INT_MAX ? INT_MAX : (int)left);
		if (k > 0 && p[1].revents)
			return -ECANCELED;
		if (k > 0)
			return 1;
		if (k == 0 && (timeout_ms < 0 || nb_xio_now_ms() < deadline))
			continue; /* a wait longer than poll can take at once */
		if (k == 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

int nb_xio_write_full_wait(int fd, const void *buf, size_t n, long timeout_ms)
{
	size_t done = 0;
	while (done < n) {
		ssize_t k = write(fd, (const char *)buf + done, n - done);
		if (k > 0) {
			done += (size_t)k;
			continue;
		}
		if (k == 0)
			return -EIO;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		int w = nb_xio_wait(fd, POLLOUT, timeout_ms);
		if (w == 0)
			return -ETIMEDOUT;
		if (w < 0)
			return w;
	}
	return 0;
}

int nb_xio_fsync(int fd)
{
	while (fsync(fd) != 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

int nb_xio_fsync_dirat(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = nb_xio_fsync(fd);
	nb_xio_close(fd);
	return r;
}

int nb_xio_open_quiet(int dirfd, const char *path)
{
	int fd = nb_longpath_openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME, 0);
	if (fd < 0 && errno == EPERM)
		fd = nb_longpath_openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

int nb_xio_close(int fd)
{
	if (fd < 0)
		return 0;
	int saved = errno;
	int r = close(fd) == 0 || errno == EINTR ? 0 : -errno;
	errno = saved;
	return r;
}

int nb_xio_mkdir_p(const char *path, mode_t mode)
{
	size_t n = strlen(path);
	if (n == 0 || n >= PATH_MAX)
		return -ENAMETOOLONG;
	char tmp[PATH_MAX];
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; ; p++) {
		if (*p == '/' || *p == 0) {
			char c = *p;
			*p = 0;
			if (mkdir(tmp, mode) != 0 && errno != EEXIST)
				return -errno;
			*p = c;
			if (c == 0)
				break;
		}
	}
	struct stat st;
	if (stat(path, &st) != 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int nb_xio_read_file(const char *path, size_t max, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	int r = 0;
	char *s = NULL;
	if (fstat(fd, &st) != 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		goto out;
	}
	if ((size_t)st.st_size > max) {
		r = -EFBIG;
		goto out;
	}
	s = malloc((size_t)st.st_size + 1);
	if (!s) {
		r = -ENOMEM;
		goto out;
	}
	ssize_t k = nb_xio_read_full(fd, s, (size_t)st.st_size);
	if (k < 0) {
		r = (int)k;
		goto out;
	}
	s[k] = 0;
	*out = s;
	if (len)
		*len = (size_t)k;
	s = NULL;
out:
	free(s);
	nb_xio_close(fd);
	return r;
}

long long nb_xio_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void nb_xio_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int nb_xio_nap_ms(int fd, long ms)
{
	/* No events asked for: poll reports only POLLERR, POLLHUP and
	 * POLLNVAL, which it always may. */
	struct pollfd p = {.fd = fd, .events = 0, .revents = 0};
	int n = poll(&p, 1, ms > INT_MAX ? INT_MAX : (int)ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	return n > 0 && (p.revents & (POLLERR | POLLHUP)) ? 1 : 0;
}
