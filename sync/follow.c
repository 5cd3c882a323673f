/*
 * Hash-on-write (see follow.h): one thread, the files being written in
 * order, each hashed up to where its writer has got.
 *
 * Lifetimes: a follow is referenced by its writer (until nb_follow_end)
 * and by the thread (until it hands the result to the queue, or stops);
 * the follower itself by its owner (until nb_follower_stop) and by every
 * follow alive, so a writer that closes after the thread stopped still
 * finds a valid lock. Queue functions are never called with fw->lock
 * held.
 */
#include "sync/follow.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "wire/log.h"
#include "wire/md5.h"
#include "wire/xio.h"

#define NB_FOLLOW_STEP (1024 * 1024)

struct nb_follow {
	struct nb_follower *fw;
	struct nb_follow *next; /* in fw's list while the thread holds it */
	struct nb_job job;
	int fd;                   /* our own reader */
	struct nb_md5 md5;
	uint64_t hashed;          /* thread only */
	_Atomic uint64_t end;     /* written in order up to here */
	atomic_int broken, closed;
	int refs;                 /* under fw->lock */
};

struct nb_follower {
	struct nb_queue *q;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct nb_follow *head;
	int stop, waiting, refs;
	pthread_t thread;
	uint8_t *buf;
};

static void nb_follower_unref(struct nb_follower *fw)
{
	/* Called with fw->lock held; unlocks it. */
	int last = --fw->refs == 0;
	pthread_mutex_unlock(&fw->lock);
	if (!last)
		return;
	pthread_mutex_destroy(&fw->lock);
	pthread_cond_destroy(&fw->cond);
	free(fw->buf);
	free(fw);
}

/* Drop one reference to f: called with fw->lock held; unlocks it. */
static void nb_follow_unref(struct nb_follow *f)
{
	struct nb_follower *fw = f->fw;
	if (--f->refs > 0) {
		pthread_mutex_unlock(&fw->lock);
		return;
	}
	nb_xio_close(f->fd);
	nb_md5_free(&f->md5);
	nb_job_free(&f->job);
	free(f);
	nb_follower_unref(fw);
}

static void nb_follow_unlist(struct nb_follower *fw, struct nb_follow *f)
{
	for (struct nb_follow **p = &fw->head; *p; p = &(*p)->next)
		if (*p == f) {
			*p = f->next;
			return;
		}
}

/* The thread is done with f (fw->lock held, dropped meanwhile): hand the
 * MD5 to the queue if f was written in order to its end, and let the
 * queue schedule the file either way. */
static void nb_follow_finish(struct nb_follower *fw, struct nb_follow *f, int complete)
{
	nb_follow_unlist(fw, f);
	pthread_mutex_unlock(&fw->lock);
	struct stat st;
	if (complete && !atomic_load(&f->broken) && fstat(f->fd, &st) == 0 &&
	    (uint64_t)st.st_size == f->hashed) {
		uint8_t digest[NB_MD5_LEN];
		nb_md5_final(&f->md5, digest);
		nb_queue_set_md5(fw->q, &f->job, digest);
		nb_debug("%s: MD5 computed as it was written (%llu bytes)", f->job.path,
			 (unsigned long long)f->hashed);
	}
	nb_queue_hash_done(fw->q, &f->job);
	pthread_mutex_lock(&fw->lock);
	nb_follow_unref(f);
	pthread_mutex_lock(&fw->lock);
}

/* Hash the next piece of f, outside the lock. 0, or -1 if it cannot be
 * read (then it is dropped). */
static int nb_follow_step(struct nb_follower *fw, struct nb_follow *f, uint64_t end)
{
	size_t n = end - f->hashed < NB_FOLLOW_STEP ? (size_t)(end - f->hashed) : NB_FOLLOW_STEP;
	ssize_t k = nb_xio_pread_full(f->fd, fw->buf, n, (off_t)f->hashed);
	if (k < 0 || (size_t)k != n)
		return -1;
	nb_md5_update(&f->md5, fw->buf, n);
	f->hashed += n;
	return 0;
}

static void *nb_follower_main(void *arg)
{
	struct nb_follower *fw = arg;
	pthread_mutex_lock(&fw->lock);
	while (!fw->stop) {
		struct nb_follow *work = NULL;
		for (struct nb_follow *f = fw->head; f && !work; f = f->next) {
			if (atomic_load(&f->broken) || f->hashed < atomic_load(&f->end) ||
			    atomic_load(&f->closed))
				work = f;
		}
		if (!work) {
			fw->waiting = 1;
			pthread_cond_wait(&fw->cond, &fw->lock);
			fw->waiting = 0;
			continue;
		}
		uint64_t end = atomic_load(&work->end);
		if (atomic_load(&work->broken)) {
			nb_follow_finish(fw, work, 0);
		} else if (work->hashed < end) {
			/* Only the thread removes follows from the list: work
			 * stays valid while the lock is dropped. */
			pthread_mutex_unlock(&fw->lock);
			int r = nb_follow_step(fw, work, end);
			/* What is read in order may go as a stream already. */
			if (r == 0)
				nb_queue_follow_progress(fw->q, &work->job, work->hashed);
			pthread_mutex_lock(&fw->lock);
			if (r != 0)
				atomic_store(&work->broken, 1);
		} else {
			nb_follow_finish(fw, work, 1);
		}
	}
	/* Stopping: what is still followed is hashed the usual way. */
	while (fw->head)
		nb_follow_finish(fw, fw->head, 0);
	pthread_mutex_unlock(&fw->lock);
	return NULL;
}

int nb_follower_start(struct nb_queue *q, struct nb_follower **out)
{
	struct nb_follower *fw = calloc(1, sizeof(*fw));
	if (!fw || !(fw->buf = malloc(NB_FOLLOW_STEP))) {
		free(fw);
		return -ENOMEM;
	}
	fw->q = q;
	fw->refs = 1;
	pthread_mutex_init(&fw->lock, NULL);
	pthread_cond_init(&fw->cond, NULL);
	int r = pthread_create(&fw->thread, NULL, nb_follower_main, fw);
	if (r != 0) {
		pthread_mutex_destroy(&fw->lock);
		pthread_cond_destroy(&fw->cond);
		free(fw->buf);
		free(fw);
		return -r;
	}
	*out = fw;
	return 0;
}

void nb_follower_stop(struct nb_follower *fw)
{
	if (!fw)
		return;
	pthread_mutex_lock(&fw->lock);
	fw->stop = 1;
	pthread_cond_signal(&fw->cond);
	pthread_mutex_unlock(&fw->lock);
	pthread_join(fw->thread, NULL);
	pthread_mutex_lock(&fw->lock);
	nb_follower_unref(fw);
}

struct nb_follow *nb_follow_begin(struct nb_follower *fw, uint64_t entry, int fd)
{
	if (!fw)
		return NULL;
	struct nb_follow *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	char self[64];
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	f->fd = open(self, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0 || nb_md5_init(&f->md5) != 0) {
		nb_xio_close(f->fd);
		free(f);
		return NULL;
	}
	if (!nb_queue_follow_begin(fw->q, entry, &f->job)) {
		nb_md5_free(&f->md5);
		nb_xio_close(f->fd);
		free(f);
		return NULL;
	}
	f->fw = fw;
	atomic_init(&f->end, 0);
	atomic_init(&f->broken, 0);
	atomic_init(&f->closed, 0);
	f->refs = 2;
	pthread_mutex_lock(&fw->lock);
	if (fw->stop) {
		/* Too late: give the entry back to the usual hashing. */
		pthread_mutex_unlock(&fw->lock);
		nb_queue_hash_done(fw->q, &f->job);
		nb_md5_free(&f->md5);
		nb_xio_close(f->fd);
		nb_job_free(&f->job);
		free(f);
		return NULL;
	}
	fw->refs++;
	f->next = fw->head;
	fw->head = f;
	pthread_mutex_unlock(&fw->lock);
	return f;
}

static void nb_follow_poke(struct nb_follow *f)
{
	struct nb_follower *fw = f->fw;
	pthread_mutex_lock(&fw->lock);
	if (fw->waiting)
		pthread_cond_signal(&fw->cond);
	pthread_mutex_unlock(&fw->lock);
}

/* f's content changed other than by appending: the queue hears of it
 * before the write or truncate returns (a stream of the file in flight
 * stops before the writer can close), and the thread drops f. */
static void nb_follow_set_broken(struct nb_follow *f)
{
	if (atomic_exchange(&f->broken, 1) == 0)
		nb_queue_follow_broken(f->fw->q, &f->job);
}

void nb_follow_wrote(struct nb_follow *f, uint64_t off, uint64_t n)
{
	if (!f || n == 0 || atomic_load(&f->broken))
		return;
	uint64_t expect = off;
	/* Only a write that starts where the written prefix ends extends
	 * it; the prefix grows after its bytes are in the file. */
	if (!atomic_compare_exchange_strong(&f->end, &expect, off + n))
		nb_follow_set_broken(f);
	nb_follow_poke(f);
}

void nb_follow_break(struct nb_follow *f)
{
	if (!f)
		return;
	nb_follow_set_broken(f);
	nb_follow_poke(f);
}

void nb_follow_end(struct nb_follow *f)
{
	if (!f)
		return;
	struct nb_follower *fw = f->fw;
	atomic_store(&f->closed, 1);
	pthread_mutex_lock(&fw->lock);
	if (fw->waiting)
		pthread_cond_signal(&fw->cond);
	nb_follow_unref(f);
}
