/*
 * System-call wrappers: the only place that loops over read()/write(),
 * retries EINTR, and turns errno into a negative return value. Everything
 * else in nbfs calls these.
 */
#ifndef NB_XIO_H
#define NB_XIO_H

#include <stddef.h>
#include <sys/types.h>

/* Read up to n bytes, retrying short reads and EINTR until n bytes or
 * end of file. Returns the byte count (< n only at EOF) or -errno. */
ssize_t nb_xio_read_full(int fd, void *buf, size_t n);
ssize_t nb_xio_pread_full(int fd, void *buf, size_t n, off_t off);
/* Write all n bytes. 0 or -errno. */
int nb_xio_write_full(int fd, const void *buf, size_t n);
int nb_xio_pwrite_full(int fd, const void *buf, size_t n, off_t off);
/* fsync / fdatasync. 0 or -errno. */
int nb_xio_fsync(int fd);
/* Open dirfd-relative directory `name` read-only and fsync it. */
int nb_xio_fsync_dirat(int dirfd, const char *name);
/* Open dirfd/path read-only without updating its access time (the
 * user's atime is not ours to change by hashing or uploading); falls
 * back to a plain open where O_NOATIME is not allowed. fd or -errno. */
int nb_xio_open_quiet(int dirfd, const char *path);
/* close() that keeps errno; returns 0 or -errno. fd < 0 is ignored. */
int nb_xio_close(int fd);
/* Create a directory and its missing parents (like mkdir -p). */
int nb_xio_mkdir_p(const char *path, mode_t mode);
/* Read a whole small file into a NUL-terminated malloc'd string (caller
 * frees). -EFBIG if it is larger than max bytes. */
int nb_xio_read_file(const char *path, size_t max, char **out, size_t *len);
/* Monotonic clock in milliseconds and nanoseconds. */
long long nb_xio_now_ms(void);
/* Sleep for ms milliseconds (restarted on EINTR). */
void nb_xio_sleep_ms(long ms);

#endif
