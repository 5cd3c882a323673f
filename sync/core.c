/*
 * The sync core: wires the state database, the queue, the hasher and
 * the engine together behind sync/core.h, and answers fs/'s commands and
 * questions by asking them. Policy lives in the modules; this file only
 * routes.
 */
#include "sync/core.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/connect.h"
#include "sync/engine.h"
#include "sync/follow.h"
#include "sync/hasher.h"
#include "sync/mountid.h"
#include "sync/queue.h"
#include "sync/report.h"
#include "sync/retry.h"
#include "sync/scan.h"
#include "sync/statedb.h"
#include "wire/err.h"
#include "wire/log.h"
#include "wire/longpath.h"
#include "wire/pathname.h"
#include "wire/xio.h"

/* How long a reader rides out connection trouble while fetching. */
#define NB_FETCH_PATIENCE_MS 60000

struct nb_core {
	struct nb_core_config cfg;
	struct nb_connect_target target;
	struct nb_engine_config ecfg;
	struct nb_statedb *db;
	struct nb_queue *q;
	struct nb_hasher *hasher;
	struct nb_follower *follower;
	struct nb_bwlimit *bw_up, *bw_down;
	/* Set and cleared by nb_core_start/stop; read by FUSE threads. */
	_Atomic(struct nb_engine *) engine;
};

static const char *const nb_state_names[] = {
	[NB_STATE_SYNCED] = "synced",   [NB_STATE_PENDING] = "pending",
	[NB_STATE_UPLOADING] = "uploading", [NB_STATE_ERROR] = "error",
	[NB_STATE_REMOTE] = "remote",   [NB_STATE_CONFLICT] = "conflict",
};

const char *nb_state_name(int state)
{
	if (state < 0 || (size_t)state >= sizeof(nb_state_names) / sizeof(nb_state_names[0]))
		return "error";
	return nb_state_names[state];
}

int nb_core_open(const struct nb_core_config *cfg, struct nb_core **out)
{
	struct nb_core *c = calloc(1, sizeof(*c));
	int r;
	if (!c)
		return -ENOMEM;
	c->cfg = *cfg;
	c->target = (struct nb_connect_target){
		.local = cfg->local,
		.ssh = cfg->ssh,
		.remote_dir = cfg->remote_dir,
		.server_cmd = cfg->server_cmd,
		.server_args = cfg->server_args,
	};
	atomic_init(&c->engine, NULL);
	if ((r = nb_statedb_open(cfg->db_path, &c->db)) != 0)
		goto fail;
	if ((r = nb_queue_new(c->db, cfg->delay_ms, &c->q)) != 0 || (r = nb_queue_load(c->q)) != 0)
		goto fail;
	long n = nb_scan_staged(cfg->stage_fd, c->q);
	if (n < 0) {
		r = (int)n;
		goto fail;
	}
	if (cfg->bwlimit && ((r = nb_bwlimit_new(cfg->bwlimit, &c->bw_up)) != 0 ||
			     (r = nb_bwlimit_new(cfg->bwlimit, &c->bw_down)) != 0))
		goto fail;
	uint8_t mount_id[NB_MOUNT_ID_LEN];
	int has_mount_id = 0;
	if (cfg->mount_id_path) {
		if ((r = nb_mountid_load(cfg->mount_id_path, mount_id)) != 0)
			goto fail;
		has_mount_id = 1;
	}
	c->ecfg = (struct nb_engine_config){
		.connect = cfg->connect ? cfg->connect : nb_connect_default,
		.connect_arg = cfg->connect ? cfg->connect_arg : &c->target,
		.server_cmd = cfg->server_cmd,
		.remote_dir = cfg->remote_dir,
		.stage_fd = cfg->stage_fd,
		.fetch_dirfd = cfg->fetch_fd,
		.q = c->q,
		.bw_up = c->bw_up,
		.bw_down = c->bw_down,
		.on_event = cfg->on_event,
		.on_event_arg = cfg->on_event_arg,
		.has_mount_id = has_mount_id,
	};
	memcpy(c->ecfg.mount_id, mount_id, sizeof(mount_id));
	*out = c;
	return 0;
fail:
	nb_err("cannot open the sync state: %s", nb_strerror(r));
	nb_core_close(c);
	return r;
}

int nb_core_probe(struct nb_core *c, char *why, size_t whysz)
{
	return nb_engine_probe(&c->ecfg, why, whysz);
}

int nb_core_is_fatal(int r)
{
	return nb_retry_is_fatal(r);
}

int nb_core_start(struct nb_core *c)
{
	struct nb_engine *e;
	int r = nb_engine_start(&c->ecfg, &e);
	if (r != 0)
		return r;
	atomic_store(&c->engine, e);
	if (nb_hasher_start(c->cfg.stage_fd, c->q, &c->hasher) != 0)
		nb_warn("no background hasher: files are hashed just before upload");
	if (nb_follower_start(c->q, &c->follower) != 0)
		nb_warn("no hash-on-write: files are hashed once closed");
	return 0;
}

void nb_core_stop(struct nb_core *c)
{
	nb_follower_stop(c->follower);
	c->follower = NULL;
	nb_hasher_stop(c->hasher);
	c->hasher = NULL;
	nb_engine_stop(atomic_exchange(&c->engine, NULL));
	if (nb_queue_flush(c->q) != 0)
		nb_warn("cannot flush the state database at stop");
}

void nb_core_close(struct nb_core *c)
{
	if (!c)
		return;
	nb_queue_free(c->q);
	nb_statedb_close(c->db);
	nb_bwlimit_free(c->bw_up);
	nb_bwlimit_free(c->bw_down);
	free(c);
}

int nb_core_touch(struct nb_core *c, const char *path, int kind)
{
	return nb_queue_touch(c->q, path, kind);
}

int nb_core_touch_meta(struct nb_core *c, const char *path, int kind)
{
	return nb_queue_touch_meta(c->q, path, kind);
}

void nb_core_link_time(struct nb_core *c, const char *path)
{
	nb_queue_link_time(c->q, path);
}

int nb_core_writer_open(struct nb_core *c, const char *path, int fresh, uint64_t *handle)
{
	return nb_queue_writer_open(c->q, path, fresh, handle);
}

void nb_core_writer_close(struct nb_core *c, uint64_t handle, int64_t size)
{
	nb_queue_writer_close(c->q, handle, size);
}

struct nb_follow *nb_core_follow_begin(struct nb_core *c, uint64_t handle, int fd)
{
	return nb_follow_begin(c->follower, handle, fd);
}

void nb_core_follow_wrote(struct nb_follow *f, uint64_t off, uint64_t n)
{
	nb_follow_wrote(f, off, n);
}

void nb_core_follow_break(struct nb_follow *f)
{
	nb_follow_break(f);
}

void nb_core_follow_end(struct nb_follow *f)
{
	nb_follow_end(f);
}

int nb_core_known_on_server(struct nb_core *c, const char *path)
{
	return nb_queue_known_on_server(c->q, path);
}

int nb_core_removed(struct nb_core *c, const char *path, int is_dir, int on_server,
		    int (*stage)(void *arg), void *arg)
{
	return nb_queue_remove_staged(c->q, path, is_dir, on_server, stage, arg);
}

int nb_core_renamed(struct nb_core *c, const char *from, const char *to, int from_on_server,
		    int (*stage)(void *arg), void *arg)
{
	return nb_queue_rename_staged(c->q, from, to, from_on_server ? 1 : 0, stage, arg);
}

void nb_core_replacing(struct nb_core *c, const char *path, const struct nb_attr *server)
{
	nb_queue_set_base(c->q, path, server->size, server->mtime_s, server->mtime_ns);
}

void nb_core_mirrored_dir(struct nb_core *c, const char *path)
{
	nb_queue_mirrored_dir(c->q, path);
}

int nb_core_flush(struct nb_core *c)
{
	return nb_queue_flush(c->q);
}

int nb_core_is_clean(struct nb_core *c, const char *path, const struct stat *st)
{
	return nb_queue_is_clean(c->q, path, st);
}

int nb_core_evict(struct nb_core *c, const char *path,
		  int (*remove)(void *arg, const char *path), void *arg)
{
	return nb_queue_evict(c->q, path, remove, arg);
}

int nb_core_kick(struct nb_core *c, const char *path, int retry_only)
{
	struct nb_engine *e = atomic_load(&c->engine);
	if (e)
		nb_engine_kick(e);
	return nb_queue_kick(c->q, path, retry_only);
}

void nb_core_pause(struct nb_core *c, int paused)
{
	nb_queue_pause(c->q, paused);
}

int nb_core_paused(struct nb_core *c)
{
	return nb_queue_paused(c->q);
}

int nb_core_pin(struct nb_core *c, const char *path, int pin)
{
	return nb_queue_pin(c->q, path, pin);
}

int nb_core_pinned(struct nb_core *c, const char *path)
{
	return nb_queue_pinned(c->q, path);
}

int nb_core_pin_list(struct nb_core *c, char ***out, size_t *n)
{
	return nb_queue_pin_list(c->q, out, n);
}

void nb_core_pin_list_free(char **v, size_t n)
{
	nb_queue_pin_list_free(v, n);
}

int nb_core_state(struct nb_core *c, const char *path, int staged, struct nb_core_state *out)
{
	return nb_queue_state(c->q, path, staged, out);
}

void nb_core_dir_state(struct nb_core *c, const char *dir, struct nb_core_state *out)
{
	nb_queue_dir(c->q, dir, out);
}

int nb_core_resolve(struct nb_core *c, const char *path, char *out, size_t outsz)
{
	return nb_queue_resolve(c->q, path, out, outsz);
}

void nb_core_renamed_into(struct nb_core *c, const char *dir,
			  void (*fn)(void *arg, const char *name), void *arg)
{
	nb_queue_renamed_into(c->q, dir, fn, arg);
}

int nb_core_link(struct nb_core *c, char *reason, size_t reasonsz)
{
	struct nb_engine *e = atomic_load(&c->engine);
	if (e)
		return nb_engine_link(e, reason, reasonsz);
	snprintf(reason, reasonsz, "not connected yet");
	return 0;
}

size_t nb_core_report(struct nb_core *c, char *buf, size_t size)
{
	char reason[512];
	struct nb_queue_item *items;
	struct nb_queue_sum sum;
	size_t n, left;
	int connected = nb_core_link(c, reason, sizeof(reason));
	/* No line is shorter than 16 bytes: more would not fit anyway. */
	if (nb_queue_snapshot(c->q, size / 16, &items, &n, &left, &sum) != 0) {
		items = NULL;
		n = 0;
		left = nb_queue_count(c->q);
		memset(&sum, 0, sizeof(sum));
		sum.entries = left;
	}
	/* A file whose upload has not started shows its size, and counts
	 * it in the total (only the ones listed: a stat per entry of a
	 * long queue, several times a second, would cost too much). */
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (items[i].kind == NB_KIND_FILE && items[i].total == 0 &&
		    nb_longpath_fstatat(c->cfg.stage_fd, items[i].path, &st, AT_SYMLINK_NOFOLLOW) ==
			0 &&
		    S_ISREG(st.st_mode)) {
			items[i].total = (uint64_t)st.st_size;
			sum.total += items[i].total;
		}
	}
	size_t len = nb_report_render(buf, size, connected, reason, &sum, nb_xio_now_ms(), items,
				      n, left);
	nb_queue_items_free(items, n);
	return len;
}

size_t nb_core_count(struct nb_core *c)
{
	return nb_queue_count(c->q);
}

int nb_core_list_async(struct nb_core *c, const char *path, nb_core_list_fn done, void *arg)
{
	struct nb_engine *e = atomic_load(&c->engine);
	return e ? nb_engine_list_async(e, path, done, arg) : NB_E_OFFLINE;
}

struct nb_fetch_wait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int done, r;
};

static void nb_core_fetch_done(void *arg, int r)
{
	struct nb_fetch_wait *w = arg;
	pthread_mutex_lock(&w->lock);
	w->r = r;
	w->done = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

int nb_core_fetch(struct nb_core *c, const char *rpath, const char *path)
{
	struct nb_engine *e = atomic_load(&c->engine);
	if (!e) {
		nb_warn("%s: not held locally and the sync thread is not running", path);
		return NB_E_OFFLINE;
	}
	/* A link that drops mid-download is reconnected by the sync thread
	 * and the download resumes where it stopped; the reader just waits,
	 * up to NB_FETCH_PATIENCE_MS of trouble in a row. */
	long long deadline = nb_xio_now_ms() + NB_FETCH_PATIENCE_MS;
	int r;
	for (;;) {
		struct nb_fetch_wait w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
		r = nb_engine_fetch_async(e, rpath, path, nb_core_fetch_done, &w);
		if (r == 0) {
			/* The sync thread always answers (NB_E_OFFLINE if the
			 * link goes), and each transfer step has a timeout. */
			pthread_mutex_lock(&w.lock);
			while (!w.done)
				pthread_cond_wait(&w.cond, &w.lock);
			pthread_mutex_unlock(&w.lock);
			r = w.r;
		}
		pthread_mutex_destroy(&w.lock);
		pthread_cond_destroy(&w.cond);
		if (r == 0 || r == -EEXIST) /* -EEXIST: a local copy appeared and wins */
			return 0;
		/* The server's file changing under the transfer (-EAGAIN, an
		 * MD5 mismatch) is worth another go too. */
		if (!nb_retry_fetch_again(r) || nb_xio_now_ms() >= deadline)
			break;
		nb_info("%s: fetch interrupted (%s); resuming", path, nb_strerror(r));
		nb_xio_sleep_ms(200);
	}
	nb_warn("%s: cannot fetch it from the server: %s", path, nb_strerror(r));
	return r;
}
