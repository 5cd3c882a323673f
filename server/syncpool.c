/*
 * fsync from a pool of kept threads: see syncpool.h.
 *
 * One round at a time: the caller publishes the descriptors, bumps the
 * round and wakes the helpers; everyone takes the next undone index
 * until none is left; each helper reports once per round, and the
 * caller returns when all have.
 */
#include "server/syncpool.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "wire/xio.h"

struct nb_syncpool {
	pthread_mutex_t lock;
	pthread_cond_t wake; /* a new round, or stop */
	pthread_cond_t idle; /* the last helper finished its round */
	pid_t pid;           /* the process the helpers run in */
	pthread_t *th;
	size_t want, nth;
	uint64_t round;
	size_t busy; /* helpers not yet done with the current round */
	int stop;
	const int *fds;
	int *rs;
	size_t n, next;
};

/* Take and do indices until none is left. Called and returns with the
 * lock held. */
static void nb_syncpool_work(struct nb_syncpool *p)
{
	while (p->next < p->n) {
		size_t i = p->next++;
		int fd = p->fds[i];
		pthread_mutex_unlock(&p->lock);
		int r = nb_xio_fsync(fd);
		pthread_mutex_lock(&p->lock);
		p->rs[i] = r;
	}
}

static void *nb_syncpool_helper(void *arg)
{
	struct nb_syncpool *p = arg;
	uint64_t seen = 0;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->stop && p->round == seen)
			pthread_cond_wait(&p->wake, &p->lock);
		if (p->stop)
			break;
		seen = p->round;
		nb_syncpool_work(p);
		if (--p->busy == 0)
			pthread_cond_signal(&p->idle);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int nb_syncpool_new(size_t threads, struct nb_syncpool **out)
{
	struct nb_syncpool *p = calloc(1, sizeof(*p));
	if (!p || !(p->th = calloc(threads ? threads : 1, sizeof(*p->th)))) {
		free(p);
		return -ENOMEM;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	pthread_cond_init(&p->idle, NULL);
	p->pid = getpid();
	p->want = threads;
	*out = p;
	return 0;
}

void nb_syncpool_free(struct nb_syncpool *p)
{
	if (!p)
		return;
	if (p->pid == getpid()) {
		pthread_mutex_lock(&p->lock);
		p->stop = 1;
		pthread_cond_broadcast(&p->wake);
		pthread_mutex_unlock(&p->lock);
		for (size_t i = 0; i < p->nth; i++)
			pthread_join(p->th[i], NULL);
		pthread_mutex_destroy(&p->lock);
		pthread_cond_destroy(&p->wake);
		pthread_cond_destroy(&p->idle);
	}
	free(p->th);
	free(p);
}

void nb_syncpool_run(struct nb_syncpool *p, const int *fds, int *rs, size_t n)
{
	if (!p || n < 2 || p->pid != getpid()) {
		for (size_t i = 0; i < n; i++)
			rs[i] = nb_xio_fsync(fds[i]);
		return;
	}
	pthread_mutex_lock(&p->lock);
	/* Helpers are started as batches need them; one that cannot be
	 * started leaves its share to the others. */
	while (p->nth < p->want && p->nth < n - 1 &&
	       pthread_create(&p->th[p->nth], NULL, nb_syncpool_helper, p) == 0)
		p->nth++;
	p->fds = fds;
	p->rs = rs;
	p->n = n;
	p->next = 0;
	p->busy = p->nth;
	p->round++;
	pthread_cond_broadcast(&p->wake);
	nb_syncpool_work(p);
	while (p->busy > 0)
		pthread_cond_wait(&p->idle, &p->lock);
	p->fds = NULL;
	p->rs = NULL;
	p->n = p->next = 0;
	pthread_mutex_unlock(&p->lock);
}
