/*
 * The sync core: wires the state database, the queue, the hasher and
 * the engine together behind sync/core.h, and answers fs/'s commands and
 * questions by asking them. Policy lives in the modules; this file only
 * routes.
 */
#include "sync/core.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/connect.h"
#include "sync/engine.h"
#include "sync/hasher.h"
#include "sync/scan.h"
#include "sync/statedb.h"
#include "sync/status.h"
#include "wire/err.h"
#include "wire/log.h"
#include "wire/pathname.h"
#include "wire/xio.h"

/* How long a reader rides out connection trouble while fetching. */
#define NB_FETCH_PATIENCE_MS 60000

struct nb_core {
	struct nb_core_config cfg;
	struct nb_connect_target target;
	struct nb_engine_config ecfg;
	struct nb_statedb *db;
	struct nb_status *st;
	struct nb_engine *engine;
	struct nb_hasher *hasher;
};

/* The engine's notice of a finished job, as an event for fs/. */
static void nb_core_job_event(void *arg, const struct nb_job *job)
{
	struct nb_core *c = arg;
	struct nb_core_event ev = {.kind = job->kind, .path = job->path, .path2 = job->path2};
	if (!c->cfg.on_event)
		return;
	switch (job->kind) {
	case NB_KIND_UNLINK:
	case NB_KIND_RMDIR: ev.what = NB_EV_REMOVED; break;
	case NB_KIND_RENAME: ev.what = NB_EV_MOVED; break;
	default: ev.what = job->kind == NB_KIND_FILE && job->path2 ? NB_EV_CONFLICT : NB_EV_CREATED;
	}
	c->cfg.on_event(c->cfg.on_event_arg, &ev);
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
	if ((r = nb_statedb_open(cfg->db_path, &c->db)) != 0)
		goto fail;
	if ((r = nb_status_new(c->db, cfg->delay_ms, &c->st)) != 0 || (r = nb_status_load(c->st)) != 0)
		goto fail;
	long n = nb_scan_staged(cfg->stage_fd, c->db, c->st);
	if (n < 0) {
		r = (int)n;
		goto fail;
	}
	c->ecfg = (struct nb_engine_config){
		.connect = cfg->connect ? cfg->connect : nb_connect_default,
		.connect_arg = cfg->connect ? cfg->connect_arg : &c->target,
		.server_cmd = cfg->server_cmd,
		.remote_dir = cfg->remote_dir,
		.stage_fd = cfg->stage_fd,
		.fetch_dirfd = cfg->fetch_fd,
		.db = c->db,
		.on_remote = nb_core_job_event,
		.on_remote_arg = c,
	};
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
	return nb_engine_is_fatal(r);
}

int nb_core_start(struct nb_core *c)
{
	int r = nb_engine_start(&c->ecfg, c->st, &c->engine);
	if (r != 0)
		return r;
	if (nb_hasher_start(c->cfg.stage_fd, c->st, &c->hasher) != 0)
		nb_warn("no background hasher: files are hashed just before upload");
	return 0;
}

void nb_core_stop(struct nb_core *c)
{
	nb_hasher_stop(c->hasher);
	c->hasher = NULL;
	nb_engine_stop(c->engine);
	c->engine = NULL;
	if (nb_statedb_flush(c->db) != 0)
		nb_warn("cannot flush the state database at stop");
}

void nb_core_close(struct nb_core *c)
{
	if (!c)
		return;
	nb_status_free(c->st);
	nb_statedb_close(c->db);
	free(c);
}

int nb_core_touch(struct nb_core *c, const char *path, int kind)
{
	int r = nb_status_touch(c->st, path, kind);
	if (r == 0)
		nb_statedb_conflict_del(c->db, path); /* edited: no longer a bare conflict copy */
	return r;
}

int nb_core_writer_open(struct nb_core *c, const char *path, uint64_t *handle)
{
	int r = nb_status_writer_open_id(c->st, path, handle);
	if (r == 0)
		nb_statedb_conflict_del(c->db, path);
	return r;
}

void nb_core_writer_close(struct nb_core *c, uint64_t handle)
{
	nb_status_writer_close_id(c->st, handle);
}

int nb_core_known_on_server(struct nb_core *c, const char *path)
{
	struct nb_synced rec;
	char rpath[NB_PATH_MAX + 1];
	if (nb_statedb_get_synced(c->db, path, &rec) == 0)
		return 1;
	/* Renamed here from a name the server holds. */
	return nb_status_resolve(c->st, path, rpath, sizeof(rpath)) == 0 && strcmp(rpath, path) != 0;
}

int nb_core_removed(struct nb_core *c, const char *path, int is_dir, int on_server)
{
	nb_statedb_conflict_del(c->db, path);
	return nb_status_remove(c->st, path, is_dir, on_server);
}

int nb_core_renamed(struct nb_core *c, const char *from, const char *to, int from_on_server)
{
	nb_statedb_conflict_del(c->db, from);
	nb_statedb_conflict_del(c->db, to);
	return nb_status_rename(c->st, from, to, from_on_server);
}

void nb_core_replacing(struct nb_core *c, const char *path, const struct nb_attr *server)
{
	nb_status_set_base(c->st, path, server->size, server->mtime_s, server->mtime_ns);
}

void nb_core_mirrored_dir(struct nb_core *c, const char *path)
{
	struct nb_synced rec = {.kind = NB_KIND_DIR};
	struct nb_status_view v;
	if (nb_status_get(c->st, path, &v) != 0)
		nb_statedb_set_synced(c->db, -1, path, &rec);
}

int nb_core_flush(struct nb_core *c)
{
	return nb_statedb_flush(c->db);
}

int nb_core_is_clean(struct nb_core *c, const char *path, const struct stat *st)
{
	struct nb_synced rec;
	struct nb_status_view v;
	if (nb_status_get(c->st, path, &v) == 0)
		return 0;
	if (nb_statedb_get_synced(c->db, path, &rec) != 0 || rec.kind != NB_KIND_FILE)
		return 0;
	int64_t mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	return rec.size == (uint64_t)st->st_size && rec.mtime_ns == mtime_ns &&
	       !nb_statedb_conflict_has(c->db, path);
}

int nb_core_evict(struct nb_core *c, const char *path,
		  int (*remove)(void *arg, const char *path), void *arg)
{
	return nb_status_evict(c->st, path, remove, arg);
}

static void nb_core_from_view(const struct nb_status_view *v, struct nb_core_state *out)
{
	memset(out, 0, sizeof(*out));
	out->state = v->state;
	out->kind = v->kind;
	out->done = v->done;
	out->total = v->total;
	out->rate = v->rate;
	out->has_md5 = v->has_md5;
	memcpy(out->md5, v->md5, sizeof(out->md5));
	snprintf(out->error, sizeof(out->error), "%s", v->error);
	out->count = v->count;
}

int nb_core_state(struct nb_core *c, const char *path, int staged, struct nb_core_state *out)
{
	struct nb_status_view v;
	struct nb_synced rec;
	if (nb_status_get(c->st, path, &v) == 0) {
		nb_core_from_view(&v, out);
		return 1;
	}
	memset(out, 0, sizeof(*out));
	out->state = !staged ? NB_STATE_REMOTE
		   : nb_statedb_conflict_has(c->db, path) ? NB_STATE_CONFLICT
							  : NB_STATE_SYNCED;
	if (nb_statedb_get_synced(c->db, path, &rec) == 0 && rec.has_md5) {
		nb_md5_hex(rec.md5, out->md5);
		out->has_md5 = 1;
	}
	return 0;
}

void nb_core_dir_state(struct nb_core *c, const char *dir, struct nb_core_state *out)
{
	struct nb_status_view v;
	nb_status_dir(c->st, dir, &v);
	nb_core_from_view(&v, out);
}

int nb_core_resolve(struct nb_core *c, const char *path, char *out, size_t outsz)
{
	return nb_status_resolve(c->st, path, out, outsz);
}

void nb_core_renamed_into(struct nb_core *c, const char *dir,
			  void (*fn)(void *arg, const char *name), void *arg)
{
	nb_status_renamed_into(c->st, dir, fn, arg);
}

int nb_core_link(struct nb_core *c, char *reason, size_t reasonsz)
{
	return nb_status_link(c->st, reason, reasonsz);
}

size_t nb_core_report(struct nb_core *c, char *buf, size_t size)
{
	return nb_status_report(c->st, buf, size);
}

size_t nb_core_count(struct nb_core *c)
{
	return nb_status_count(c->st);
}

int nb_core_list_async(struct nb_core *c, const char *path, nb_core_list_fn done, void *arg)
{
	if (!c->engine)
		return NB_E_OFFLINE;
	return nb_engine_list_async(c->engine, path, done, arg);
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
	if (!c->engine) {
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
		r = nb_engine_fetch_async(c->engine, rpath, path, nb_core_fetch_done, &w);
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
		int again = nb_err_is_transient(r) || r == -EAGAIN || r == NB_E_MD5;
		if (!again || nb_xio_now_ms() >= deadline)
			break;
		nb_info("%s: fetch interrupted (%s); resuming", path, nb_strerror(r));
		nb_xio_sleep_ms(200);
	}
	nb_warn("%s: cannot fetch it from the server: %s", path, nb_strerror(r));
	return r;
}
