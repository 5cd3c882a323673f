/*
 * The client end of protocol 2: one session with an nbfs-server over a
 * transport, with many requests in flight. Each request gets an id; the
 * server answers each with that id, in any order, and the session hands
 * every reply frame to the call registered under its id.
 *
 * Used by one thread at a time (the sync thread). A reply is dispatched
 * only inside nb_remote_pump (or nb_remote_wait, which pumps); handlers
 * must not send. Any transport error or protocol violation breaks the
 * session: every call still in flight is abandoned (its handler is never
 * called again), and the owner closes the session and reconnects.
 */
#ifndef NB_REMOTE_H
#define NB_REMOTE_H

#include <stddef.h>
#include <stdint.h>

#include "sync/transport.h"
#include "wire/frame.h"
#include "wire/proto.h"

struct nb_remote;

/* A request in flight. The owner keeps it alive until it completes or
 * the session breaks. */
struct nb_call {
	/* Called with each reply frame for this request (payload after the
	 * id): NB_CALL_MORE while more frames are to come, NB_CALL_DONE on
	 * the last one, or a negative error, which breaks the session. */
	int (*on_reply)(struct nb_call *c, uint8_t type, struct nb_buf *payload);
	uint32_t id;
	struct nb_call *hnext; /* the session's table */
};

enum { NB_CALL_MORE = 0, NB_CALL_DONE = 1 };

/* Take ownership of t and exchange HELLO (protocol 2). On failure t is
 * closed too and errbuf says why: a server that refuses (its root does
 * not exist, say) gives its text; a server of protocol 1 gives
 * NB_E_VERSION with a text that says to upgrade nbfs-server. */
int nb_remote_open(struct nb_transport *t, struct nb_remote **out, char *errbuf, size_t errsz);
/* Close the session; calls in flight are abandoned. */
void nb_remote_close(struct nb_remote *r);
/* True if the session can no longer be used. */
int nb_remote_broken(const struct nb_remote *r);
/* The transport's keepalive (SSH level); marks the session broken if the
 * link is gone. 0 or an error. */
int nb_remote_keepalive(struct nb_remote *r);
/* The server's software string from its HELLO (owned by the session). */
const char *nb_remote_server(const struct nb_remote *r);

/* A new request id (never 0). */
uint32_t nb_remote_new_id(struct nb_remote *r);
/* The buffer to encode the next request into (owned by the session,
 * valid until the next send). */
struct nb_buf *nb_remote_tx(struct nb_remote *r);
/* Send the request encoded in tx under id. With c, c receives the
 * replies to it (c->on_reply must be set); without, none are expected
 * (PUT_DATA). 0, or the error that broke the session.
 *
 * Small requests wait in the session's output and leave together, in
 * one transport write, at the next nb_remote_flush or nb_remote_pump or
 * when the output is full (each write is an SSH packet, a send and a
 * wake-up of sshd and of the server: sent one by one, 2,000 small files
 * cost 2,000 of each). Requests keep their order; a large one (a piece
 * of a file) goes after what waits, at once. */
int nb_remote_send(struct nb_remote *r, uint32_t id, struct nb_call *c);
/* Write what waits in the output. 0, or the error that broke the
 * session. */
int nb_remote_flush(struct nb_remote *r);
/* fn(arg) runs before each write of requests to the transport: the sync
 * thread puts what it recorded in the database first (a request's doubt
 * is on record before the request can reach the server). */
void nb_remote_before_write(struct nb_remote *r, void (*fn)(void *arg), void *arg);
/* Forget c (its reply will be taken for a protocol violation). For a
 * caller that gives up on a call whose session it is about to close. */
void nb_remote_forget(struct nb_remote *r, struct nb_call *c);
/* Flush the output, then dispatch replies: every whole frame that can
 * be read without waiting; with block, wait for at least one first (the
 * transport's timeout applies). The number of frames dispatched, or the error that broke
 * the session. */
int nb_remote_pump(struct nb_remote *r, int block);
/* Requests in flight. */
size_t nb_remote_inflight(const struct nb_remote *r);

#endif
