/*
 * System-call wrappers: the only place that loops over read()/write(),
 * retries EINTR, and turns errno into a negative return value. Everything
 * else in nbfs calls these.
 */
#ifndef NB_XIO_H
#define NB_XIO_H

#include <stddef.h>
#include <sys/types.h>

/* Read up to n bytes (at file offset off, for pread), retrying short
 * reads and EINTR until n bytes or end of file. Returns the byte count
 * (< n only at end of file) or -errno. */
ssize_t nb_xio_read_full(int fd, void *buf, size_t n);
ssize_t nb_xio_pread_full(int fd, void *buf, size_t n, off_t off);
/* Write all n bytes (at off, for pwrite), retrying short writes and
 * EINTR. 0 or -errno (-EIO if the kernel accepts nothing and reports
 * no error). */
int nb_xio_write_full(int fd, const void *buf, size_t n);
int nb_xio_pwrite_full(int fd, const void *buf, size_t n, off_t off);
/* Wait up to timeout_ms (< 0: for ever) for fd to be ready for events
 * (POLLIN, POLLOUT). 1 when ready (or at end of file, or on an error
 * the next read or write reports), 0 on timeout, -errno. */
int nb_xio_wait(int fd, short events, long timeout_ms);
/* nb_xio_wait that also ends, with -ECANCELED, when stop_fd (< 0: none)
 * becomes readable: a signal handler's self-pipe. */
int nb_xio_wait_or(int fd, short events, int stop_fd, long timeout_ms);
/* nb_xio_write_full for an O_NONBLOCK fd: waits for room between
 * partial writes, and gives up with -ETIMEDOUT when the fd takes
 * nothing for timeout_ms (< 0: never). 0 or -errno. */
int nb_xio_write_full_wait(int fd, const void *buf, size_t n, long timeout_ms);
/* fsync, retried on EINTR. 0 or -errno. */
int nb_xio_fsync(int fd);
/* Open dirfd-relative directory `name` read-only and fsync it. */
int nb_xio_fsync_dirat(int dirfd, const char *name);
/* Open dirfd/path (of any length: wire/longpath.h) read-only without
 * updating its access time (the
 * user's atime is not ours to change by hashing or uploading); falls
 * back to a plain open where O_NOATIME is not allowed. fd or -errno. */
int nb_xio_open_quiet(int dirfd, const char *path);
/* close() that leaves errno as it was; returns 0 or -errno (EINTR
 * counts as closed: Linux frees the descriptor either way). fd < 0 is
 * ignored. */
int nb_xio_close(int fd);
/* Create a directory and its missing parents (like mkdir -p). 0, or
 * -errno (-ENOTDIR if path exists and is no directory). */
int nb_xio_mkdir_p(const char *path, mode_t mode);
/* Read a whole small regular file into a NUL-terminated malloc'd string
 * (the caller frees *out); *len gets its length if len is not NULL.
 * 0, -EFBIG if it is larger than max bytes, -EINVAL if it is not a
 * regular file, or -errno. */
int nb_xio_read_file(const char *path, size_t max, char **out, size_t *len);
/* The monotonic clock, in milliseconds. */
long long nb_xio_now_ms(void);
/* Sleep for ms milliseconds (restarted on EINTR). */
void nb_xio_sleep_ms(long ms);
/* Sleep for up to ms milliseconds, but wake early when a signal is
 * handled or when fd reports an error or hang-up (the reader of a pipe
 * went away). 1 if fd did, 0 after the time or a signal, -errno on
 * failure. Not restarted on EINTR: the caller checks its signal flags. */
int nb_xio_nap_ms(int fd, long ms);

#endif
