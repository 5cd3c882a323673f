/*
 * The pipeline's window: which jobs fly, in what order they move, and
 * what happens to them when the session goes.
 */
#include "sync/pipeline.h"

#include <errno.h>
#include <stdlib.h>

#include "sync/flight.h"
#include "wire/log.h"

/* Requests in flight: enough to cover a long round trip with small
 * files, and bounded so the answers in flight stay far below the SSH
 * window (the server must never block on writing them). */
#define NB_PIPE_REQUESTS 256
/* Bytes of small files sent and not yet answered. */
#define NB_PIPE_SMALL_BYTES (16 * 1024 * 1024)
/* Large uploads streaming at once, and taken from the queue to wait for
 * their turn. */
#define NB_PIPE_LARGE 2
#define NB_PIPE_WAITING_LARGE 32

int nb_pipeline_new(const struct nb_pipeline_config *cfg, struct nb_pipeline **out)
{
	struct nb_pipeline *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->cfg = *cfg;
	if (!p->cfg.max_requests)
		p->cfg.max_requests = NB_PIPE_REQUESTS;
	if (!p->cfg.max_small_bytes)
		p->cfg.max_small_bytes = NB_PIPE_SMALL_BYTES;
	if (!p->cfg.max_large)
		p->cfg.max_large = NB_PIPE_LARGE;
	*out = p;
	return 0;
}

void nb_pipeline_free(struct nb_pipeline *p)
{
	if (!p)
		return;
	nb_pipeline_detach(p, NULL);
	free(p);
}

void nb_pipeline_attach(struct nb_pipeline *p, struct nb_remote *r)
{
	p->r = r;
	p->streams_off = 0; /* a new session may have a newer server */
}

static void nb_pipeline_unlink(struct nb_pipeline *p, struct nb_flight *f)
{
	if (f->prev)
		f->prev->next = f->next;
	else
		p->head = f->next;
	if (f->next)
		f->next->prev = f->prev;
	else
		p->tail = f->prev;
	p->active--;
	if (f->has_slot)
		p->large_active--;
	if (f->waiting_slot)
		p->waiting_large--;
	p->small_bytes -= f->small_bytes;
	nb_flight_free(f);
}

/* Free the flights that have ended. */
static void nb_pipeline_reap(struct nb_pipeline *p)
{
	for (struct nb_flight *f = p->head, *next; f; f = next) {
		next = f->next;
		if (f->phase == NB_FL_DONE)
			nb_pipeline_unlink(p, f);
	}
}

void nb_pipeline_detach(struct nb_pipeline *p, const char *why)
{
	for (struct nb_flight *f = p->head; f; f = f->next)
		if (f->phase != NB_FL_DONE)
			nb_flight_lost(f, why);
	nb_pipeline_reap(p);
	nb_pipe_times_detach(p);
	p->r = NULL;
}

/* Room for another job: large files waiting for a slot to stream do not
 * take the room of small ones, up to a point. */
static int nb_pipeline_room(const struct nb_pipeline *p)
{
	if (p->waiting_large >= NB_PIPE_WAITING_LARGE)
		return 0;
	return p->active + p->ntimes - p->waiting_large < p->cfg.max_requests &&
	       p->small_bytes < p->cfg.max_small_bytes;
}

int nb_pipeline_step(struct nb_pipeline *p, long *wait_ms)
{
	int sent = 0, e;
	*wait_ms = -1;
	if (!p->r)
		return 0;
	nb_pipeline_reap(p);
	/* What is in flight moves first, oldest first: an upload that has
	 * its offer streams its next piece before new work starts. */
	for (struct nb_flight *f = p->head; f; f = f->next) {
		if ((e = nb_flight_advance(f)) < 0)
			return e;
		sent |= e;
	}
	while (nb_pipeline_room(p) && !(p->cfg.stop && atomic_load(p->cfg.stop))) {
		struct nb_job job;
		if (!nb_queue_next_job(p->cfg.q, &job, wait_ms))
			break;
		struct nb_flight *f = nb_flight_new(p, &job);
		if (!f) {
			nb_queue_fail(p->cfg.q, &job, NB_STATE_PENDING, NULL, 1000);
			nb_job_free(&job);
			break;
		}
		f->prev = p->tail;
		if (p->tail)
			p->tail->next = f;
		else
			p->head = f;
		p->tail = f;
		p->active++;
		if ((e = nb_flight_advance(f)) < 0)
			return e;
		sent |= e;
	}
	/* Directory times last: they go once nothing is queued below. */
	if (!(p->cfg.stop && atomic_load(p->cfg.stop)) && p->active < p->cfg.max_requests) {
		if ((e = nb_pipe_times_step(p, p->cfg.max_requests - p->active)) < 0)
			return e;
		sent |= e;
	}
	nb_pipeline_reap(p);
	return sent;
}

size_t nb_pipeline_feeding(const struct nb_pipeline *p)
{
	size_t n = 0;
	for (const struct nb_flight *f = p->head; f; f = f->next)
		n += f->feeding && f->phase == NB_FL_SEND;
	return n;
}

size_t nb_pipeline_active(const struct nb_pipeline *p)
{
	return p->active;
}
