/*
 * Appending around the page cache. The contract is in appender.h.
 *
 * Two aligned buffers: the caller's thread fills one while the writer
 * thread writes the other. The caller hands a buffer over only when the
 * writer is idle, and touches the fd's flags only then, so the writer
 * needs the lock for nothing but the job and its outcome.
 */
#include "server/appender.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wire/log.h"
#include "wire/md5.h"
#include "wire/xio.h"

/* The bytes [at, at + n) (data) were appended: add those not yet in
 * a->md5. Called by whoever holds the data: the writer for a job, the
 * caller otherwise (with the writer idle). */
static void nb_appender_hash(struct nb_appender *a, const uint8_t *data, uint64_t at, size_t n)
{
	if (!a->md5 || at + n <= a->hashed)
		return;
	size_t skip = (size_t)(a->hashed - at); /* ranges come in order: hashed >= at */
	nb_md5_update(a->md5, data + skip, n - skip);
	a->hashed = at + n;
}

static int nb_appender_set_direct(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -errno;
	fl = on ? fl | O_DIRECT : fl & ~O_DIRECT;
	return fcntl(fd, F_SETFL, fl) == 0 ? 0 : -errno;
}

/* Plain pwrite at the end, with writeback started as data arrives so
 * that the fsync before publishing has little left to do. */
static int nb_appender_plain(struct nb_appender *a, const void *data, size_t n)
{
	int r = nb_xio_pwrite_full(a->fd, data, n, (off_t)a->end);
	if (r != 0)
		return r;
	nb_appender_hash(a, data, a->end, n);
	a->end += n;
	if (a->end - a->flushed >= NB_APPENDER_FLUSH_STEP) {
		sync_file_range(a->fd, (off_t)a->flushed, (off_t)(a->end - a->flushed),
				SYNC_FILE_RANGE_WRITE);
		a->flushed = a->end;
	}
	return 0;
}

static void *nb_appender_writer(void *arg)
{
	struct nb_appender *a = arg;
	pthread_mutex_lock(&a->lock);
	for (;;) {
		while (!a->busy && !a->stop)
			pthread_cond_wait(&a->cond, &a->lock);
		if (!a->busy)
			break;
		struct nb_appender_job j = a->job;
		pthread_mutex_unlock(&a->lock);
		/* The MD5 here too, off the session's thread, which meanwhile
		 * reads and copies the next buffer's worth. */
		nb_appender_hash(a, j.data, j.at, j.len);
		int refused = 0;
		int r = nb_xio_pwrite_full(a->fd, j.data, j.len, (off_t)j.at);
		if (r == -EINVAL) {
			/* O_DIRECT was taken at fcntl, but not for writes. */
			refused = 1;
			if ((r = nb_appender_set_direct(a->fd, 0)) == 0)
				r = nb_xio_pwrite_full(a->fd, j.data, j.len, (off_t)j.at);
		}
		pthread_mutex_lock(&a->lock);
		a->refused |= refused;
		if (r != 0 && a->err == 0)
			a->err = r;
		a->busy = 0;
		pthread_cond_broadcast(&a->cond);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

/* Wait until the writer is idle. Its first failure (kept: after a
 * failed write, later ones would leave a gap), or 0; *refused if the
 * filesystem refused a direct write. */
static int nb_appender_idle(struct nb_appender *a, int *refused)
{
	*refused = 0;
	if (!a->started)
		return 0;
	pthread_mutex_lock(&a->lock);
	while (a->busy)
		pthread_cond_wait(&a->cond, &a->lock);
	int r = a->err;
	*refused = a->refused;
	pthread_mutex_unlock(&a->lock);
	return r;
}

static void nb_appender_stop(struct nb_appender *a)
{
	if (!a->started)
		return;
	pthread_mutex_lock(&a->lock);
	a->stop = 1;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->th, NULL);
	a->started = 0;
	a->stop = 0;
}

/* Leave direct mode with the writer idle: write what the current buffer
 * holds the plain way and go on plainly from there. */
static int nb_appender_go_plain(struct nb_appender *a)
{
	nb_debug("appending through the page cache from %llu", (unsigned long long)a->base);
	nb_appender_stop(a);
	nb_appender_set_direct(a->fd, 0);
	uint8_t *buf = a->buf[a->cur];
	size_t len = a->len;
	a->direct = 0;
	a->len = 0;
	a->end = a->flushed = a->base;
	int r = nb_appender_plain(a, buf, len);
	free(a->buf[0]);
	free(a->buf[1]);
	a->buf[0] = a->buf[1] = NULL;
	return r;
}

static int nb_appender_start(struct nb_appender *a)
{
	/* The writer takes no signals: they are the session thread's. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int r = pthread_create(&a->th, NULL, nb_appender_writer, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return -r;
	a->started = 1;
	return 0;
}

/* Hand buf[cur][0, count) (count aligned) to the writer and go on
 * filling the other buffer with the rest. */
static int nb_appender_hand(struct nb_appender *a, size_t count)
{
	int refused, r = nb_appender_idle(a, &refused);
	if (r != 0)
		return r;
	if (refused || (!a->started && nb_appender_start(a) != 0))
		return nb_appender_go_plain(a);
	pthread_mutex_lock(&a->lock);
	a->job = (struct nb_appender_job){a->buf[a->cur], count, a->base};
	a->busy = 1;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	int next = !a->cur;
	memcpy(a->buf[next], a->buf[a->cur] + count, a->len - count);
	a->cur = next;
	a->len -= count;
	a->tail_done = 0;
	a->base += count;
	return 0;
}

void nb_appender_init(struct nb_appender *a, int fd, uint64_t pos, int direct)
{
	memset(a, 0, sizeof(*a));
	a->fd = fd;
	a->base = a->end = a->flushed = pos;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	a->have_lock = 1;
	if (!direct)
		return;
	void *b0 = NULL, *b1 = NULL;
	if (posix_memalign(&b0, NB_APPENDER_ALIGN, NB_APPENDER_BUF) != 0 ||
	    posix_memalign(&b1, NB_APPENDER_ALIGN, NB_APPENDER_BUF) != 0)
		goto plain;
	/* The block that pos ends in part-way is read into the buffer and
	 * written again with what follows. */
	uint64_t base = pos & ~(uint64_t)(NB_APPENDER_ALIGN - 1);
	size_t head = (size_t)(pos - base);
	if ((head && nb_xio_pread_full(fd, b0, head, (off_t)base) != (ssize_t)head) ||
	    nb_appender_set_direct(fd, 1) != 0)
		goto plain;
	a->buf[0] = b0;
	a->buf[1] = b1;
	a->len = a->tail_done = head;
	a->base = base;
	a->direct = 1;
	return;
plain:
	free(b0);
	free(b1);
}

int nb_appender_write(struct nb_appender *a, const void *data, size_t n)
{
	const uint8_t *p = data;
	while (n > 0 && a->direct) {
		size_t k = NB_APPENDER_BUF - a->len;
		k = k < n ? k : n;
		memcpy(a->buf[a->cur] + a->len, p, k);
		a->len += k;
		a->end += k;
		p += k;
		n -= k;
		int r;
		if (a->len == NB_APPENDER_BUF && (r = nb_appender_hand(a, a->len)) != 0)
			return r;
	}
	return n > 0 ? nb_appender_plain(a, p, n) : 0;
}

int nb_appender_flush(struct nb_appender *a)
{
	int r, refused;
	if (!a->direct)
		return 0; /* plain writes are in the file already */
	size_t aligned = a->len & ~(size_t)(NB_APPENDER_ALIGN - 1);
	if (aligned && (r = nb_appender_hand(a, aligned)) != 0)
		return r;
	if (!a->direct)
		return 0;
	if ((r = nb_appender_idle(a, &refused)) != 0)
		return r;
	if (refused)
		return nb_appender_go_plain(a);
	if (a->len == a->tail_done)
		return 0;
	nb_appender_hash(a, a->buf[a->cur], a->base, a->len);
	/* The tail, less than a block, through the page cache. It stays in
	 * the buffer: what is appended next is written with it, directly,
	 * over the same bytes. */
	if ((r = nb_appender_set_direct(a->fd, 0)) != 0)
		return r;
	r = nb_xio_pwrite_full(a->fd, a->buf[a->cur], a->len, (off_t)a->base);
	if (r == 0)
		a->tail_done = a->len;
	if (nb_appender_set_direct(a->fd, 1) != 0) {
		/* Cannot go back to O_DIRECT: the file holds everything, so
		 * go on plainly from its end. */
		nb_appender_stop(a);
		free(a->buf[0]);
		free(a->buf[1]);
		a->buf[0] = a->buf[1] = NULL;
		a->len = 0;
		a->direct = 0;
		a->base = a->flushed = a->end;
	}
	return r;
}

int nb_appender_reset(struct nb_appender *a, uint64_t pos)
{
	int direct = a->direct;
	struct nb_md5 *md5 = a->md5;
	nb_appender_free(a); /* the writer is done before the truncate */
	int r = ftruncate(a->fd, (off_t)pos) == 0 ? 0 : -errno;
	nb_appender_init(a, a->fd, pos, direct);
	nb_appender_hash_into(a, md5);
	return r;
}

void nb_appender_hash_into(struct nb_appender *a, struct nb_md5 *md5)
{
	a->md5 = md5;
	a->hashed = a->end;
}

void nb_appender_free(struct nb_appender *a)
{
	nb_appender_stop(a);
	if (a->direct)
		nb_appender_set_direct(a->fd, 0);
	free(a->buf[0]);
	free(a->buf[1]);
	a->buf[0] = a->buf[1] = NULL;
	a->len = 0;
	a->direct = 0;
	if (a->have_lock) {
		pthread_mutex_destroy(&a->lock);
		pthread_cond_destroy(&a->cond);
		a->have_lock = 0;
	}
}
