/*
 * Running one job on the server: an upload (with the doubt of an
 * earlier lost answer settled first, and a conflict turned into a
 * conflict copy), or a directory, symlink, removal or rename. A job
 * that finishes is recorded through the queue here; whatever else
 * happened comes back as a typed result (sync/retry.h) for the engine
 * to act on.
 */
#ifndef NB_JOBS_H
#define NB_JOBS_H

#include <stdatomic.h>

#include "sync/core.h"
#include "sync/queue.h"
#include "sync/remote.h"
#include "sync/retry.h"

struct nb_jobs_ctx {
	struct nb_queue *q;
	int stage_fd;
	struct nb_remote *remote;
	const atomic_int *stop; /* set: abandon at the next step */
	/* Between the steps of an upload or a hash: serve short requests. */
	void (*idle)(void *arg);
	/* After each change made on the server. */
	void (*notify)(void *arg, const struct nb_core_event *ev);
	void *arg;
};

/* Run job over c->remote and fill *res. */
void nb_jobs_run(const struct nb_jobs_ctx *c, const struct nb_job *job, struct nb_job_result *res);

#endif
