/*
 * The sync engine: one background thread that owns the connection to the
 * server (kept open and reused, reconnected with backoff when it drops,
 * kept alive while idle), takes jobs from the queue and runs them
 * (sync/jobs.c), and serves the FUSE threads' requests (sync/mailbox.c)
 * between them and between the steps of an upload. The state of the link
 * is the engine's.
 */
#ifndef NB_ENGINE_H
#define NB_ENGINE_H

#include <stddef.h>

#include "sync/bwlimit.h"
#include "sync/core.h"
#include "sync/mailbox.h"
#include "sync/queue.h"

struct nb_engine_config {
	/* How to reach the server (sync/connect.c has the default). */
	nb_core_connect_fn connect;
	void *connect_arg;
	const char *server_cmd; /* named in the hint when the server does not answer */
	const char *remote_dir; /* named in the probe's messages */
	int stage_fd;           /* staging root */
	int fetch_dirfd;        /* partial downloads */
	struct nb_queue *q;
	/* Pace what is sent and received (sync/bwlimit.h); NULL: no limit. */
	struct nb_bwlimit *bw_up, *bw_down;
	/* After each change made on the server, on the sync thread. */
	void (*on_event)(void *arg, const struct nb_core_event *ev);
	void *on_event_arg;
	/* The mount id, named to the server (MOUNT) on every connection. */
	int has_mount_id;
	uint8_t mount_id[NB_MOUNT_ID_LEN];
};

struct nb_engine;

/* Connect once and stat the server's root, to check the configuration
 * before mounting. 0, or an error with an explanation in why. */
int nb_engine_probe(const struct nb_engine_config *cfg, char *why, size_t whysz);

/* Start the sync thread. cfg's strings must outlive the engine. */
int nb_engine_start(const struct nb_engine_config *cfg, struct nb_engine **out) NB_WUR;
/* Stop: an upload in progress is abandoned at its next step with its
 * partial kept on the server, so the next mount resumes it. Joins the
 * thread, answers what is still posted, frees the engine. */
void nb_engine_stop(struct nb_engine *e);

/* The FUSE threads' requests (see sync/mailbox.h). */
int nb_engine_list_async(struct nb_engine *e, const char *path, nb_core_list_fn done, void *arg);
int nb_engine_fetch_async(struct nb_engine *e, const char *rpath, const char *path,
			  nb_fetch_done_fn done, void *arg);

/* The user asked for a retry: a reconnect waiting out its backoff tries
 * at once, with the backoff reset. */
void nb_engine_kick(struct nb_engine *e);

/* 1 if connected; else 0 with why not in reason. */
int nb_engine_link(struct nb_engine *e, char *reason, size_t reasonsz);

#endif
