/*
 * Directory times: which directories the sync changed on the server,
 * and when each one's time may go (docs/DESIGN.md, "Directory times").
 * The set (sync/dirtimes.c) lives in the queue, under its lock: jobs
 * mark it when they finish (nb_q_finish), entries leaving the path
 * index poke it (queue.c), and the pipeline takes from it.
 *
 * In memory only. A crash, or nbfs stopping, before a time went loses
 * it: the server's directory keeps the time its last change gave it
 * until the next change synced in that directory marks it again. Cheap
 * to make durable (a table of paths), but not worth a database write
 * per finished job.
 */
#include "sync/queue_int.h"

#include <stdlib.h>
#include <string.h>

#include "wire/err.h"
#include "wire/log.h"
#include "wire/pathname.h"

static void nb_q_dirtimes_mark(struct nb_queue *q, const char *path)
{
	if (nb_dirtimes_mark(&q->dirtimes, path) != 0)
		nb_warn("%s: out of memory: its time is not sent to the server",
			path[0] ? path : "/");
}

static void nb_q_dirtimes_parent(struct nb_queue *q, const char *path)
{
	char dir[NB_PATH_MAX + 1];
	size_t n = nb_path_parent_len(path);
	if (n > NB_PATH_MAX)
		return;
	memcpy(dir, path, n);
	dir[n] = 0;
	nb_q_dirtimes_mark(q, dir);
}

void nb_q_dirtimes_job(struct nb_queue *q, const struct nb_job *job)
{
	/* A directory made (or given its mode) has its own time to get;
	 * so has a symlink made (the server makes it with its own clock:
	 * what cp -a or rsync -a gave the link follows), and a directory
	 * renamed (the pipeline skips what is neither a directory nor a
	 * symlink), whose time went with it from wherever the server had
	 * it. Marked first: the candidates are looked at in the order they
	 * came, so deeper directories go first (not that it matters to the
	 * server: setting a directory's time does not touch its parent's). */
	if (job->kind == NB_KIND_DIR || job->kind == NB_KIND_SYMLINK || job->kind == NB_KIND_RENAME)
		nb_q_dirtimes_mark(q, job->path);
	/* The directory whose entry changed; a rename changes two. */
	nb_q_dirtimes_parent(q, job->path);
	if (job->kind == NB_KIND_RENAME && job->path2)
		nb_q_dirtimes_parent(q, job->path2);
}

static int nb_q_any(void *arg, struct nb_pnode *n)
{
	(void)arg;
	(void)n;
	return 1;
}

/* An entry at or below dir is left (waiting, in flight or failed). */
static int nb_q_dir_busy(void *arg, const char *dir)
{
	struct nb_queue *q = arg;
	return nb_ptree_each_within(&q->sched.index, dir, nb_q_any, NULL) != 0;
}

int nb_queue_dirtime_take(struct nb_queue *q, char *out, size_t outsz)
{
	pthread_mutex_lock(&q->lock);
	int r = q->paused ? 0 : nb_dirtimes_take(&q->dirtimes, nb_q_dir_busy, q, out, outsz);
	nb_q_unlock(q);
	return r;
}

void nb_queue_dirtime_settled(struct nb_queue *q, const char *path, int again)
{
	pthread_mutex_lock(&q->lock);
	nb_dirtimes_settled(&q->dirtimes, path, again);
	pthread_cond_broadcast(&q->cond);
	nb_q_unlock(q);
}

void nb_queue_link_time(struct nb_queue *q, const char *path)
{
	pthread_mutex_lock(&q->lock);
	nb_q_dirtimes_mark(q, path);
	pthread_cond_broadcast(&q->cond); /* the sync thread */
	nb_q_unlock(q);
}

size_t nb_queue_dirtimes_clear(struct nb_queue *q)
{
	pthread_mutex_lock(&q->lock);
	size_t n = nb_dirtimes_count(&q->dirtimes) ? nb_dirtimes_clear(&q->dirtimes) : 0;
	nb_q_unlock(q);
	return n;
}
