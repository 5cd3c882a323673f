/*
 * The sync engine: one background thread that owns the connection to the
 * server (kept open and reused), reconnects with backoff when it drops,
 * uploads what the status table says is ready, and serves the FUSE
 * threads' namespace requests (directory listings) between upload steps.
 */
#ifndef NB_ENGINE_H
#define NB_ENGINE_H

#include <stddef.h>

#include "wire/proto.h"
#include "sync/status.h"
#include "sync/transport.h"

struct nb_engine_config {
	/* How to reach the server (see sync/connect.h for the default). */
	nb_core_connect_fn connect;
	void *connect_arg;
	const char *server_cmd;  /* named in the hint when the server does not answer */
	const char *remote_dir;  /* named in the probe's messages */
	int stage_fd;            /* staging root directory */
	int fetch_dirfd;         /* partial downloads */
	struct nb_statedb *db;
	/* Called on the sync thread after a job changed the server (so
	 * cached listings can follow at once), before it leaves the queue.
	 * For a conflict, kind is NB_KIND_FILE and path2 the conflict copy. */
	void (*on_remote)(void *arg, const struct nb_job *job);
	void *on_remote_arg;
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
/* Called on the sync thread when a fetch is done: 0 once the file is in
 * the staging tree, else why not (NB_E_OFFLINE if the link went away). */
typedef void (*nb_fetch_done_fn)(void *arg, int r);

/* Queue a download of remote_path into the staging tree at local_path
 * (whose parent must exist there). Same contract as nb_engine_list_async.
 * Downloads go before uploads. */
int nb_engine_fetch_async(struct nb_engine *e, const char *remote_path, const char *local_path,
			  nb_fetch_done_fn done, void *arg);


#endif
