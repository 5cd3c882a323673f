#include "sync/engine.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/jobs.h"
#include "sync/remote.h"
#include "sync/retry.h"
#include "wire/err.h"
#include "wire/log.h"
#include "wire/xio.h"

/* Idle connections send a keepalive this often. */
#define NB_KEEPALIVE_MS 5000

struct nb_engine {
	struct nb_engine_config cfg;
	struct nb_fetch_target fetch;
	struct nb_mailbox mb;
	pthread_t thread;
	atomic_int stop;
	pthread_mutex_t lock; /* the link state below */
	int connected;
	char reason[1024];
	/* Owned by the sync thread. */
	struct nb_remote *remote;
	long backoff_ms;
	long long last_keepalive_ms;
};

static int nb_engine_connect(const struct nb_engine_config *cfg, struct nb_remote **out, char *why,
			     size_t whysz)
{
	struct nb_transport *t;
	why[0] = 0;
	int r = cfg->connect(cfg->connect_arg, &t, why, whysz);
	if (r != 0) {
		if (!why[0])
			snprintf(why, whysz, "%s", nb_strerror(r));
		return r;
	}
	char errtext[NB_ERRTEXT_MAX + 1];
	r = nb_remote_open(t, out, errtext, sizeof(errtext));
	if (r == NB_E_EOF)
		snprintf(why, whysz,
			 "the server command '%s' ended without answering: is nbfs-server "
			 "installed on the remote host (or set -o server=PATH)?",
			 cfg->server_cmd ? cfg->server_cmd : "nbfs-server");
	else if (r != 0)
		snprintf(why, whysz, "server: %s", errtext);
	return r;
}

int nb_engine_probe(const struct nb_engine_config *cfg, char *why, size_t whysz)
{
	struct nb_remote *r = NULL;
	int e = nb_engine_connect(cfg, &r, why, whysz);
	if (e == 0) {
		struct nb_attr a;
		e = nb_remote_stat(r, "", &a);
		if (e == 0)
			nb_attr_free(&a);
		else
			snprintf(why, whysz, "remote directory %s: %s", cfg->remote_dir,
				 nb_remote_errtext(r));
		nb_remote_close(r);
	}
	return e;
}

static void nb_engine_set_link(struct nb_engine *e, int connected, const char *why)
{
	pthread_mutex_lock(&e->lock);
	e->connected = connected;
	snprintf(e->reason, sizeof(e->reason), "%s", why ? why : "");
	pthread_mutex_unlock(&e->lock);
}

int nb_engine_link(struct nb_engine *e, char *reason, size_t reasonsz)
{
	pthread_mutex_lock(&e->lock);
	int c = e->connected;
	snprintf(reason, reasonsz, "%s", e->reason);
	pthread_mutex_unlock(&e->lock);
	return c;
}

static int nb_engine_stopping(struct nb_engine *e)
{
	return atomic_load(&e->stop);
}

/* ---- requests ---- */

static void nb_engine_serve(struct nb_engine *e, int allow_fetch)
{
	nb_mailbox_serve(&e->mb, e->remote, allow_fetch, &e->fetch);
}

int nb_engine_list_async(struct nb_engine *e, const char *path, nb_core_list_fn done, void *arg)
{
	int r = nb_mailbox_list(&e->mb, path, done, arg);
	if (r == 0)
		nb_queue_wake(e->cfg.q);
	return r;
}

int nb_engine_fetch_async(struct nb_engine *e, const char *rpath, const char *path,
			  nb_fetch_done_fn done, void *arg)
{
	int r = nb_mailbox_fetch(&e->mb, rpath, path, done, arg);
	if (r == 0)
		nb_queue_wake(e->cfg.q);
	return r;
}

/* ---- connection ---- */

static int nb_engine_online(struct nb_engine *e)
{
	return e->remote && !nb_remote_broken(e->remote);
}

static void nb_engine_disconnect(struct nb_engine *e, const char *why)
{
	nb_remote_close(e->remote);
	e->remote = NULL;
	nb_mailbox_set_open(&e->mb, 0);
	nb_engine_set_link(e, 0, why);
	nb_engine_serve(e, 1); /* fail whatever is posted */
}

/* Sleep ms (a backoff), waking early only to stop. The queue's condition
 * is broadcast on every local change, so one wait is not enough; and the
 * stop flag is set outside its lock, so the slices stay short. */
static void nb_engine_sleep(struct nb_engine *e, long ms)
{
	long long deadline = nb_xio_now_ms() + ms;
	long long left;
	while (!nb_engine_stopping(e) && (left = deadline - nb_xio_now_ms()) > 0)
		nb_queue_wait(e->cfg.q, left < 250 ? left : 250);
}

/* Connect, or wait out the backoff: 0 once connected. */
static int nb_engine_reconnect(struct nb_engine *e)
{
	char why[1024];
	int r = nb_engine_connect(&e->cfg, &e->remote, why, sizeof(why));
	if (r == 0) {
		e->backoff_ms = NB_BACKOFF_MIN_MS;
		nb_mailbox_set_open(&e->mb, 1);
		nb_engine_set_link(e, 1, "");
		nb_info("connected");
		return 0;
	}
	e->remote = NULL;
	nb_warn("offline: %s (retrying in %ld ms)", why, e->backoff_ms);
	nb_mailbox_set_open(&e->mb, 0);
	nb_engine_set_link(e, 0, why);
	nb_engine_serve(e, 1);
	nb_engine_sleep(e, e->backoff_ms);
	e->backoff_ms = nb_retry_backoff_next(e->backoff_ms);
	return r;
}

/* ---- jobs ---- */

static void nb_engine_idle(void *arg)
{
	nb_engine_serve(arg, 0);
}

static void nb_engine_event(void *arg, const struct nb_core_event *ev)
{
	struct nb_engine *e = arg;
	if (e->cfg.on_event)
		e->cfg.on_event(e->cfg.on_event_arg, ev);
}

/* Act on what became of a job (the policy is sync/retry.c's). */
static void nb_engine_settle(struct nb_engine *e, const struct nb_job *job,
			     struct nb_job_result *res)
{
	struct nb_queue *q = e->cfg.q;
	switch (res->out) {
	case NB_OUT_DONE:
		return;
	case NB_OUT_GONE:
		nb_queue_drop_job(q, job);
		return;
	case NB_OUT_AGAIN:
		if (res->r == NB_E_CHANGED)
			nb_info("%s: changed during upload; it goes again with the new content",
				job->path);
		nb_queue_fail(q, job, NB_STATE_PENDING, NULL, 0);
		return;
	case NB_OUT_LINK: {
		char why[600];
		snprintf(why, sizeof(why), "connection lost: %s", nb_strerror(res->r));
		nb_warn("%s: %s", job->path, why);
		nb_queue_fail(q, job, NB_STATE_PENDING, why, 0);
		nb_engine_disconnect(e, why);
		return;
	}
	default:
		if (!res->why[0])
			snprintf(res->why, sizeof(res->why), "%s", nb_strerror(res->r));
		nb_warn("%s: %s", job->path, res->why);
		nb_queue_fail(q, job, nb_retry_state(res->out), res->why,
			      nb_retry_delay_ms(res->out));
	}
}

static void nb_engine_run_job(struct nb_engine *e, const struct nb_job *job)
{
	struct nb_jobs_ctx c = {
		.q = e->cfg.q,
		.stage_fd = e->cfg.stage_fd,
		.remote = e->remote,
		.stop = &e->stop,
		.idle = nb_engine_idle,
		.notify = nb_engine_event,
		.arg = e,
	};
	struct nb_job_result res;
	nb_jobs_run(&c, job, &res);
	nb_engine_settle(e, job, &res);
}

static void *nb_engine_main(void *arg)
{
	struct nb_engine *e = arg;
	while (!nb_engine_stopping(e)) {
		if (!e->remote && nb_engine_reconnect(e) != 0)
			continue;
		/* Someone is waiting on a read: that goes first. */
		nb_engine_serve(e, 1);
		if (!nb_engine_online(e)) {
			nb_engine_disconnect(e, "connection lost");
			continue;
		}
		struct nb_job job;
		long wait_ms;
		if (nb_queue_next_job(e->cfg.q, &job, &wait_ms)) {
			nb_engine_run_job(e, &job);
			nb_job_free(&job);
			continue;
		}
		/* Woken early by new work; at most a second late to stop. */
		if (wait_ms < 0 || wait_ms > 1000)
			wait_ms = 1000;
		nb_queue_wait(e->cfg.q, wait_ms);
		if (nb_xio_now_ms() - e->last_keepalive_ms >= NB_KEEPALIVE_MS) {
			e->last_keepalive_ms = nb_xio_now_ms();
			if (nb_remote_keepalive(e->remote) != 0)
				nb_engine_disconnect(e, "connection lost while idle");
		}
	}
	if (e->remote)
		nb_engine_disconnect(e, "stopped");
	return NULL;
}

int nb_engine_start(const struct nb_engine_config *cfg, struct nb_engine **out)
{
	struct nb_engine *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->cfg = *cfg;
	e->fetch = (struct nb_fetch_target){cfg->q, cfg->stage_fd, cfg->fetch_dirfd};
	e->backoff_ms = NB_BACKOFF_MIN_MS;
	atomic_init(&e->stop, 0);
	pthread_mutex_init(&e->lock, NULL);
	snprintf(e->reason, sizeof(e->reason), "not connected yet");
	nb_mailbox_init(&e->mb);
	/* Open from the start: the first connection is being made, and a
	 * listing may wait for it. */
	nb_mailbox_set_open(&e->mb, 1);
	int r = pthread_create(&e->thread, NULL, nb_engine_main, e);
	if (r != 0) {
		nb_mailbox_free(&e->mb);
		pthread_mutex_destroy(&e->lock);
		free(e);
		return -r;
	}
	*out = e;
	return 0;
}

void nb_engine_stop(struct nb_engine *e)
{
	if (!e)
		return;
	atomic_store(&e->stop, 1);
	nb_mailbox_set_open(&e->mb, 0);
	nb_queue_wake(e->cfg.q);
	pthread_join(e->thread, NULL);
	nb_mailbox_free(&e->mb); /* answers requests that raced with the stop */
	pthread_mutex_destroy(&e->lock);
	free(e);
}
