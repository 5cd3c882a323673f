/*
 * The pipeline: many jobs in flight on one protocol-2 session. It takes
 * jobs from the queue while its window has room (requests and bytes of
 * small files in flight), sends each job's requests as its answers come
 * back, streams the data of large uploads a piece at a time in turn (so
 * a huge file never holds back small files or namespace operations
 * queued after it), and finishes each job through the queue when its
 * last answer arrives. The queue's ordering rules hold because a job in
 * flight stays in the queue until its answer: a barrier never overtakes
 * what it must wait for.
 *
 * A file of at most NB_SMALL_MAX bytes travels whole in one PUT_SMALL;
 * a larger one is offered (PUT_OPEN, the server's offer, the resumed
 * prefix checked by MD5), streamed (PUT_DATA) and ended (PUT_END); a
 * large new file being written in order goes while it is written
 * (PUT_STREAM ... PUT_FINISH, sync/flight_stream.c).
 *
 * Runs on the sync thread only. Answers are handled inside
 * nb_remote_pump; the engine calls nb_pipeline_step between pumps.
 */
#ifndef NB_PIPELINE_H
#define NB_PIPELINE_H

#include <stdatomic.h>
#include <stddef.h>

#include "sync/core.h"
#include "sync/queue.h"
#include "sync/remote.h"

struct nb_pipeline_config {
	struct nb_queue *q;
	int stage_fd;
	const atomic_int *stop; /* set: stop at the next step */
	/* Between the steps of a long local computation (hashing a large
	 * file): let the engine serve what waits. May be NULL. */
	void (*idle)(void *arg);
	/* After each change made on the server. May be NULL. */
	void (*notify)(void *arg, const struct nb_core_event *ev);
	void *arg;
	/* The window: requests in flight, bytes of small files in flight,
	 * large uploads streaming at once. 0: the defaults. */
	size_t max_requests, max_small_bytes, max_large;
};

struct nb_pipeline;

int nb_pipeline_new(const struct nb_pipeline_config *cfg, struct nb_pipeline **out) NB_WUR;
/* Free (after nb_pipeline_detach). */
void nb_pipeline_free(struct nb_pipeline *p);
/* A new session to work on. */
void nb_pipeline_attach(struct nb_pipeline *p, struct nb_remote *r);
/* The session broke or is being closed (why, for the user; NULL when
 * stopping): every job in flight goes back to the queue, pending. One
 * whose last request went out (a PUT_SMALL or PUT_END) is in doubt: the
 * server may have published it. */
void nb_pipeline_detach(struct nb_pipeline *p, const char *why);
/* Start jobs while the window has room and move every job in flight
 * that can move without waiting for an answer. 1 if it sent anything,
 * 0 if not (then *wait_ms says when the queue expects a job to become
 * ready, -1: no such time), or the session's error (it broke). */
int nb_pipeline_step(struct nb_pipeline *p, long *wait_ms);
/* Jobs in flight. */
size_t nb_pipeline_active(const struct nb_pipeline *p);
/* Streams that wait for their file to be written (or for its MD5): no
 * answer is due for them, and the queue wakes the caller when there is
 * more to send. */
size_t nb_pipeline_feeding(const struct nb_pipeline *p);

#endif
