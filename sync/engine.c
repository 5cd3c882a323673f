/*
 * The sync engine: the background thread that owns the connection to the
 * server, reconnects with backoff, and runs the pipeline and the mailbox.
 * The contract is in engine.h.
 */
#include "sync/engine.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/cpuspare.h"
#include "sync/pipeline.h"
#include "sync/rcall.h"
#include "sync/remote.h"
#include "sync/retry.h"
#include "wire/err.h"
#include "wire/log.h"
#include "wire/xio.h"

/* Idle connections send a keepalive this often. */
#define NB_KEEPALIVE_MS 5000
/* How long the server may wait for our next frame before it takes us
 * for gone (MOUNT's idle_s): many keepalives, so a busy client (a long
 * hash between PINGs, a loaded machine) is never taken for a dead one. */
#define NB_IDLE_LIMIT_S 60
/* While a stream waits for its file and answers are due: how often to
 * look for the answers. */
#define NB_FEEDING_POLL_MS 2

struct nb_engine {
	struct nb_engine_config cfg;
	struct nb_fetch_target fetch;
	struct nb_mailbox mb;
	pthread_t thread;
	atomic_int stop;
	atomic_int kicked; /* nb_engine_kick: cut the backoff short */
	pthread_mutex_t lock; /* the link state below */
	int connected;
	char reason[1024];
	/* Owned by the sync thread. */
	struct nb_remote *remote;
	struct nb_pipeline *pipe;
	struct nb_rcall ping; /* in flight while ping_out */
	int ping_out;
	struct nb_rcall mount; /* in flight while mount_out */
	int mount_out;
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
	if ((cfg->bw_up || cfg->bw_down) &&
	    (r = nb_bwlimit_wrap(t, cfg->bw_up, cfg->bw_down, &t)) != 0) {
		snprintf(why, whysz, "%s", nb_strerror(r));
		return r;
	}
	char errtext[NB_ERRTEXT_MAX + 1];
	r = nb_remote_open(t, out, errtext, sizeof(errtext));
	if (r == NB_E_EOF) {
		/* errtext says more than the bare end when the login printed
		 * something first (sync/remote.c). */
		int more = strcmp(errtext, nb_strerror(r)) != 0;
		snprintf(why, whysz,
			 "the server command '%s' ended without answering%s%s%s: is nbfs-server "
			 "installed on the remote host (or set -o server=PATH)?",
			 cfg->server_cmd ? cfg->server_cmd : "nbfs-server", more ? " (" : "",
			 more ? errtext : "", more ? ")" : "");
	}
	else if (r == NB_E_VERSION)
		snprintf(why, whysz, "%s", errtext); /* it names the server itself */
	else if (r != 0)
		snprintf(why, whysz, "server: %s", errtext);
	return r;
}

int nb_engine_probe(const struct nb_engine_config *cfg, char *why, size_t whysz)
{
	struct nb_remote *r = NULL;
	int e = nb_engine_connect(cfg, &r, why, whysz);
	if (e == 0) {
		struct nb_rcall rc;
		nb_rcall_init(&rc, NB_MSG_STAT);
		if ((e = nb_rcall_stat(r, &rc, "")) == 0)
			e = nb_rcall_wait(r, &rc);
		if (e != 0)
			snprintf(why, whysz, "remote directory %s: %s", cfg->remote_dir,
				 rc.errtext[0] ? rc.errtext : nb_strerror(e));
		nb_rcall_clear(&rc);
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

void nb_engine_kick(struct nb_engine *e)
{
	atomic_store(&e->kicked, 1);
	nb_queue_wake(e->cfg.q);
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
	/* Jobs in flight go back to the queue first (some in doubt); the
	 * ping in flight is abandoned with the session. */
	nb_pipeline_detach(e->pipe, nb_engine_stopping(e) ? NULL : why);
	e->ping_out = 0;
	e->mount_out = 0;
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
	while (!nb_engine_stopping(e) && !atomic_load(&e->kicked) &&
	       (left = deadline - nb_xio_now_ms()) > 0)
		nb_queue_wait(e->cfg.q, left < 250 ? left : 250);
}

static void nb_engine_mount_done(struct nb_rcall *rc)
{
	struct nb_engine *e = rc->arg;
	e->mount_out = 0;
	if (rc->r == -ENOSYS)
		nb_info("the server predates MOUNT: after a silent link failure, an upload may "
			"wait for the old session to end");
	else if (rc->r != 0 && e->remote && !nb_remote_broken(e->remote))
		nb_warn("the server refused our mount id: %s",
			rc->errtext[0] ? rc->errtext : nb_strerror(rc->r));
}

/* Name our mount to the server before anything else, so that an older
 * session of ours that still holds a partial (its link died without a
 * word) is taken over instead of waited for. Not waited for: requests
 * are handled in order, so every upload comes after it. */
static void nb_engine_send_mount(struct nb_engine *e)
{
	if (!e->cfg.has_mount_id)
		return;
	struct nb_mount_msg m = {.idle_s = NB_IDLE_LIMIT_S};
	memcpy(m.id, e->cfg.mount_id, NB_MOUNT_ID_LEN);
	nb_rcall_init(&e->mount, NB_MSG_MOUNT);
	e->mount.on_done = nb_engine_mount_done;
	e->mount.arg = e;
	if (nb_rcall_mount(e->remote, &e->mount, &m) == 0)
		e->mount_out = 1;
}

/* Requests are about to leave: what this turn recorded (the doubts of
 * the uploads among them) goes to the database first. */
static void nb_engine_before_write(void *arg)
{
	struct nb_engine *e = arg;
	nb_queue_group_commit(e->cfg.q);
}

/* Connect, or wait out the backoff: 0 once connected. */
static int nb_engine_reconnect(struct nb_engine *e)
{
	char why[1024];
	int r = nb_engine_connect(&e->cfg, &e->remote, why, sizeof(why));
	if (r == 0) {
		e->backoff_ms = NB_BACKOFF_MIN_MS;
		atomic_store(&e->kicked, 0);
		nb_mailbox_set_open(&e->mb, 1);
		nb_engine_set_link(e, 1, "");
		nb_remote_before_write(e->remote, nb_engine_before_write, e);
		nb_engine_send_mount(e);
		nb_pipeline_attach(e->pipe, e->remote);
		e->last_keepalive_ms = nb_xio_now_ms(); /* the HELLO just went both ways */
		nb_info("connected");
		return 0;
	}
	e->remote = NULL;
	nb_warn("offline: %s (retrying in %ld ms)", why, e->backoff_ms);
	nb_mailbox_set_open(&e->mb, 0);
	nb_engine_set_link(e, 0, why);
	nb_engine_serve(e, 1);
	nb_engine_sleep(e, e->backoff_ms);
	e->backoff_ms = atomic_exchange(&e->kicked, 0) ? NB_BACKOFF_MIN_MS
						       : nb_retry_backoff_next(e->backoff_ms);
	return r;
}

/* ---- jobs ---- */

static void nb_engine_keepalive(struct nb_engine *e);

/* Between the steps of a long hash: answers and listings keep moving,
 * and so do keepalives (the server ends a session that stays silent
 * past its idle limit). */
static void nb_engine_idle(void *arg)
{
	struct nb_engine *e = arg;
	nb_engine_serve(e, 0);
	if (e->remote && !nb_remote_broken(e->remote)) {
		nb_remote_pump(e->remote, 0);
		nb_engine_keepalive(e);
	}
}

static void nb_engine_event(void *arg, const struct nb_core_event *ev)
{
	struct nb_engine *e = arg;
	if (e->cfg.on_event)
		e->cfg.on_event(e->cfg.on_event_arg, ev);
}

static void nb_engine_ping_done(struct nb_rcall *rc)
{
	struct nb_engine *e = rc->arg;
	e->ping_out = 0;
	if (rc->r != 0)
		nb_warn("the server did not answer a ping: %s", nb_strerror(rc->r));
}

/* Idle: an SSH keepalive, and a PING through to the server (its answer
 * is waited for like any other, under the link's timeout, so a dead or
 * stalled link is noticed while idle too). */
static void nb_engine_keepalive(struct nb_engine *e)
{
	if (nb_xio_now_ms() - e->last_keepalive_ms < NB_KEEPALIVE_MS)
		return;
	e->last_keepalive_ms = nb_xio_now_ms();
	if (nb_remote_keepalive(e->remote) != 0)
		return;
	if (!e->ping_out) {
		nb_rcall_init(&e->ping, NB_MSG_PING);
		e->ping.on_done = nb_engine_ping_done;
		e->ping.arg = e;
		if (nb_rcall_ping(e->remote, &e->ping) == 0)
			e->ping_out = 1;
	}
}

static void *nb_engine_main(void *arg)
{
	struct nb_engine *e = arg;
	struct nb_queue *q = e->cfg.q;
	while (!nb_engine_stopping(e)) {
		/* What a turn records goes to the database together: before
		 * its requests leave (nb_engine_before_write) and at its end,
		 * never kept open across a wait. */
		nb_queue_group_end(q);
		if (!e->remote && nb_engine_reconnect(e) != 0)
			continue;
		nb_queue_group_begin(q);
		/* Someone is waiting on a read: that goes first. */
		nb_engine_serve(e, 1);
		long wait_ms = -1;
		int sent = 0, got = 0;
		if (nb_engine_online(e) && (sent = nb_pipeline_step(e->pipe, &wait_ms)) >= 0)
			got = nb_remote_pump(e->remote, 0);
		if (sent < 0 || got < 0 || !nb_engine_online(e)) {
			char why[600];
			int r = sent < 0 ? sent : got < 0 ? got : NB_E_EOF;
			snprintf(why, sizeof(why), "connection lost: %s", nb_strerror(r));
			nb_warn("%s", why);
			nb_engine_disconnect(e, why);
			continue;
		}
		if (sent || got)
			continue;
		nb_queue_group_commit(q);
		size_t feeding = nb_pipeline_feeding(e->pipe);
		if (nb_remote_inflight(e->remote) > feeding) {
			/* Nothing to send until an answer comes: wait for one
			 * (the link's timeout says when it is dead). With a
			 * stream waiting for its file, look at both often. */
			if (!feeding) {
				nb_remote_pump(e->remote, 1); /* broken: handled above */
				continue;
			}
			wait_ms = NB_FEEDING_POLL_MS;
		}
		/* Woken early by new work (a stream's new data included); at
		 * most a second late to stop; a stream waiting for a core to
		 * spare looks again after each sample's interval. */
		if (wait_ms < 0 || wait_ms > 1000)
			wait_ms = 1000;
		if (feeding && wait_ms > NB_CPUSPARE_INTERVAL_MS)
			wait_ms = NB_CPUSPARE_INTERVAL_MS;
		nb_queue_wait(q, wait_ms);
		nb_engine_keepalive(e);
	}
	nb_queue_group_end(q);
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
	atomic_init(&e->kicked, 0);
	pthread_mutex_init(&e->lock, NULL);
	snprintf(e->reason, sizeof(e->reason), "not connected yet");
	struct nb_pipeline_config pc = {
		.q = cfg->q,
		.stage_fd = cfg->stage_fd,
		.stop = &e->stop,
		.idle = nb_engine_idle,
		.notify = nb_engine_event,
		.arg = e,
	};
	if (nb_pipeline_new(&pc, &e->pipe) != 0) {
		pthread_mutex_destroy(&e->lock);
		free(e);
		return -ENOMEM;
	}
	nb_mailbox_init(&e->mb);
	/* Open from the start: the first connection is being made, and a
	 * listing may wait for it. */
	nb_mailbox_set_open(&e->mb, 1);
	int r = pthread_create(&e->thread, NULL, nb_engine_main, e);
	if (r != 0) {
		nb_mailbox_free(&e->mb);
		nb_pipeline_free(e->pipe);
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
	nb_pipeline_free(e->pipe);
	pthread_mutex_destroy(&e->lock);
	free(e);
}
