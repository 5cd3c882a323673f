/*
 * The sync engine: one background thread that owns the connection to the
 * server (kept open and reused), reconnects with backoff when it drops,
 * uploads what the status table says is ready, and serves the FUSE
 * threads' namespace requests (directory listings) between upload steps.
 */
#ifndef NB_ENGINE_H
#define NB_ENGINE_H

#include <stddef.h>

#include "sync/proto.h"
#include "sync/status.h"
#include "sync/transport.h"

struct nb_engine_config {
	int local;               /* local child process instead of SSH */
	struct nb_ssh_opts ssh;  /* when !local */
	const char *remote_dir;  /* the server's root */
	const char *server_cmd;  /* e.g. "nbfs-server" */
	int stage_fd;            /* staging root directory */
};

struct nb_engine;

/* Connect once, to check the configuration before mounting. 0, or an
 * error with an explanation in why. Permanent errors (host key, auth,
 * server refusing the root) are told apart with nb_engine_is_fatal(). */
int nb_engine_probe(const struct nb_engine_config *cfg, char *why, size_t whysz);
int nb_engine_is_fatal(int r);

/* Start the sync thread. cfg's strings must outlive the engine. */
int nb_engine_start(const struct nb_engine_config *cfg, struct nb_status *st,
		    struct nb_engine **out);
/* Stop: an upload in progress is abandoned at the next step with its
 * partial kept on the server, so the next mount resumes it. Joins the
 * thread and frees the engine. */
void nb_engine_stop(struct nb_engine *e);

/* Called on the sync thread when a listing is done: r is 0 (ents holds
 * the entries; the callee takes them and frees them with
 * nb_proto_dirents_free), the server's error (-ENOENT, ...), or
 * NB_E_OFFLINE if the connection went away first. */
typedef void (*nb_list_done_fn)(void *arg, const char *path, int r, struct nb_dirents *ents);

/* Queue a listing of remote directory path. 0: done() will be called
 * exactly once. NB_E_OFFLINE at once when not connected (done() is not
 * called): callers never wait on a link that is down. */
int nb_engine_list_async(struct nb_engine *e, const char *path, nb_list_done_fn done, void *arg);
/* True while connected to the server. */
int nb_engine_connected(struct nb_engine *e);

#endif
