/*
 * The hasher: a background thread that computes the MD5 of closed files
 * while they wait out their quiet time. The contract is in hasher.h.
 */
#include "sync/hasher.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "wire/err.h"
#include "wire/log.h"
#include "wire/proto.h" /* NB_SMALL_MAX */
#include "wire/xio.h"

#define NB_HASH_STEP (4 * 1024 * 1024)

struct nb_hasher {
	int stage_fd;
	struct nb_queue *q;
	pthread_t thread;
	atomic_int stop;
};

int nb_hasher_hash_fd(struct nb_queue *q, const struct nb_job *job, int fd, uint64_t size,
		      const atomic_int *stop, void (*between)(void *arg), void *arg,
		      uint8_t md5[NB_MD5_LEN])
{
	struct nb_md5 m;
	int r = nb_md5_init(&m);
	if (r != 0)
		return r;
	char *buf = malloc(NB_HASH_STEP);
	if (!buf) {
		nb_md5_free(&m);
		return -ENOMEM;
	}
	for (uint64_t off = 0; off < size && r == 0;) {
		size_t n = size - off < NB_HASH_STEP ? (size_t)(size - off) : NB_HASH_STEP;
		ssize_t k = nb_xio_pread_full(fd, buf, n, (off_t)off);
		if (k < 0)
			r = (int)k;
		else if ((size_t)k != n || nb_queue_changed(q, job) == NB_JOB_CHANGED)
			r = NB_E_CHANGED;
		else if (stop && atomic_load(stop))
			r = -ECANCELED;
		else {
			nb_md5_update(&m, buf, n);
			off += n;
			if (between)
				between(arg);
		}
	}
	if (r == 0)
		nb_md5_final(&m, md5);
	free(buf);
	nb_md5_free(&m);
	return r;
}

static void nb_hasher_one(struct nb_hasher *h, const struct nb_job *job)
{
	int fd = nb_xio_open_quiet(h->stage_fd, job->path);
	if (fd < 0)
		return;
	struct stat st;
	uint8_t md5[NB_MD5_LEN];
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		;
	else if (st.st_size <= NB_SMALL_MAX)
		/* It travels whole, read into memory anyway: hashed there, for
		 * less than opening it here costs. */
		nb_queue_hash_skip(h->q, job);
	else if (nb_hasher_hash_fd(h->q, job, fd, (uint64_t)st.st_size, &h->stop, NULL, NULL, md5) == 0)
		nb_queue_set_md5(h->q, job, md5);
	nb_xio_close(fd);
}

static void *nb_hasher_main(void *arg)
{
	struct nb_hasher *h = arg;
	while (!atomic_load(&h->stop)) {
		struct nb_job job;
		if (nb_queue_next_hash(h->q, &job)) {
			nb_hasher_one(h, &job);
			nb_queue_hash_done(h->q, &job);
			nb_job_free(&job);
			continue;
		}
		nb_queue_wait_hash(h->q, 1000); /* woken to stop, too */
	}
	return NULL;
}

int nb_hasher_start(int stage_fd, struct nb_queue *q, struct nb_hasher **out)
{
	struct nb_hasher *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->stage_fd = stage_fd;
	h->q = q;
	atomic_init(&h->stop, 0);
	int r = pthread_create(&h->thread, NULL, nb_hasher_main, h);
	if (r != 0) {
		free(h);
		return -r;
	}
	*out = h;
	return 0;
}

void nb_hasher_stop(struct nb_hasher *h)
{
	if (!h)
		return;
	atomic_store(&h->stop, 1);
	nb_queue_wake(h->q);
	pthread_join(h->thread, NULL);
	free(h);
}
