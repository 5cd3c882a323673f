/*
 * An nbfs-server in the test process: the real server session code
 * (server/session.c) on a thread, over a socketpair, behind the
 * transport interface, so the sync engine can be driven without sshd.
 * Faults for the tests: drop the link right after the client's k-th
 * frame on a connection (the server still gets that frame and acts on
 * it, but its answer is lost), and hold the client inside its k-th
 * frame's write until the test lets it go (to act while an upload is in
 * flight), and play a server that predates a request type (the
 * client's frames of that type reach the server as an unknown type, so
 * it answers ENOSYS). Header-only, like testutil.h.
 */
#ifndef NB_INPROC_H
#define NB_INPROC_H

#include <errno.h>
#include <stdio.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/root.h"
#include "server/session.h"
#include "sync/transport.h"
#include "wire/be.h"
#include "wire/err.h"
#include "wire/frame.h"
#include "wire/xio.h"

struct ip_server {
	const char *root_dir;
	/* Faults, for the next connection only (then cleared):
	 * drop_after: drop the link after the client's k-th frame (0: no);
	 * hold_at: block the client's k-th frame write until released. */
	atomic_int drop_after, hold_at;
	/* Refuse connections once this many were made (0: never). */
	atomic_int max_connections;
	/* Requests of this type reach the server as type 99, which it does
	 * not know (0: none), on every connection. */
	atomic_int unknown_type;
	/* Counters. */
	atomic_int connections, drops;
	atomic_ullong bytes_out; /* client -> server, all connections */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int holding;  /* a client write is held */
	int released;
};

struct ip_conn {
	struct nb_transport t;
	struct ip_server *srv;
	int fd;       /* the client's end */
	int server_fd;
	int frames;   /* written by the client on this connection */
	int drop_after, hold_at;
	int dropped;
	pthread_t thread;
};

static inline void ip_server_init(struct ip_server *s, const char *root_dir)
{
	memset(s, 0, sizeof(*s));
	s->root_dir = root_dir;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
}

static inline void ip_server_free(struct ip_server *s)
{
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
}

/* Wait (up to ms) until a client write is held; 1 if it is. */
static inline int ip_wait_held(struct ip_server *s, long ms)
{
	long long deadline = nb_xio_now_ms() + ms;
	pthread_mutex_lock(&s->lock);
	while (!s->holding && nb_xio_now_ms() < deadline) {
		pthread_mutex_unlock(&s->lock);
		nb_xio_sleep_ms(5);
		pthread_mutex_lock(&s->lock);
	}
	int held = s->holding;
	pthread_mutex_unlock(&s->lock);
	return held;
}

static inline void ip_release(struct ip_server *s)
{
	pthread_mutex_lock(&s->lock);
	s->released = 1;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static ssize_t ip_fd_read(void *ctx, void *buf, size_t n)
{
	int fd = *(int *)ctx;
	for (;;) {
		ssize_t k = read(fd, buf, n);
		if (k >= 0 || errno != EINTR)
			return k >= 0 ? k : -errno;
	}
}

static int ip_fd_readable(void *ctx)
{
	struct pollfd p = {.fd = *(int *)ctx, .events = POLLIN};
	return poll(&p, 1, 0) > 0;
}

static int ip_fd_write(void *ctx, const void *buf, size_t n)
{
	return nb_xio_write_full(*(int *)ctx, buf, n);
}

static void *ip_server_main(void *arg)
{
	struct ip_conn *c = arg;
	struct nb_stream in = {ip_fd_read, NULL, &c->server_fd};
	struct nb_stream out = {NULL, ip_fd_write, &c->server_fd};
	struct nb_frame_reader rd;
	struct nb_session s;
	struct nb_root root;
	if (nb_frame_reader_init(&rd, &in) != 0)
		goto out;
	rd.readable = ip_fd_readable; /* so the server batches as over stdin */
	if (nb_root_open(&root, c->srv->root_dir) == 0) {
		if (nb_session_init(&s, root, &out) == 0)
			nb_session_run(&s, &rd);
		nb_session_free(&s);
		nb_root_close(&root);
	}
	nb_frame_reader_free(&rd);
out:
	nb_xio_close(c->server_fd);
	return NULL;
}

static ssize_t ip_read(void *ctx, void *buf, size_t n)
{
	struct ip_conn *c = ctx;
	if (c->dropped)
		return -ECONNRESET;
	ssize_t k = ip_fd_read(&c->fd, buf, n);
	if (k > 0)
		c->t.bytes_in += (uint64_t)k;
	return k;
}

/* One whole frame of the client's (buf, n bytes). */
static int ip_write_frame(struct ip_conn *c, const void *buf, size_t n)
{
	if (c->dropped)
		return -ECONNRESET;
	c->frames++;
	if (c->hold_at && c->frames == c->hold_at) {
		pthread_mutex_lock(&c->srv->lock);
		c->srv->holding = 1;
		while (!c->srv->released)
			pthread_cond_wait(&c->srv->cond, &c->srv->lock);
		c->srv->holding = 0;
		c->srv->released = 0;
		pthread_mutex_unlock(&c->srv->lock);
	}
	int r, unknown = atomic_load(&c->srv->unknown_type);
	if (unknown && n > 4 && ((const uint8_t *)buf)[4] == unknown) {
		/* The type byte follows the length. */
		uint8_t *copy = malloc(n);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, buf, n);
		copy[4] = 99;
		r = nb_xio_write_full(c->fd, copy, n);
		free(copy);
	} else {
		r = nb_xio_write_full(c->fd, buf, n);
	}
	if (r == 0) {
		c->t.bytes_out += n;
		atomic_fetch_add(&c->srv->bytes_out, n);
	}
	if (r == 0 && c->drop_after && c->frames == c->drop_after) {
		/* The frame is on its way; every answer to it is lost. */
		shutdown(c->fd, SHUT_RDWR);
		c->dropped = 1;
		atomic_fetch_add(&c->srv->drops, 1);
	}
	return r;
}

/* The client writes whole frames, several at once when it has many
 * small requests: each is held, altered, counted or cut on its own. */
static int ip_write(void *ctx, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	while (n >= NB_FRAME_HDR) {
		size_t len = 4 + (size_t)nb_be32_get(p);
		if (len > n)
			len = n; /* not a whole frame: written as it is */
		int r = ip_write_frame(ctx, p, len);
		if (r != 0)
			return r;
		p += len;
		n -= len;
	}
	return n ? ip_write_frame(ctx, p, n) : 0;
}

static int ip_readable(struct nb_transport *t)
{
	struct ip_conn *c = (struct ip_conn *)t;
	struct pollfd p = {.fd = c->fd, .events = POLLIN};
	return !c->dropped && poll(&p, 1, 0) > 0;
}

static void ip_close(struct nb_transport *t)
{
	struct ip_conn *c = (struct ip_conn *)t;
	shutdown(c->fd, SHUT_RDWR);
	pthread_join(c->thread, NULL);
	nb_xio_close(c->fd);
	free(c);
}

/* An nb_core_connect_fn: arg is a struct ip_server. */
static inline int ip_connect(void *arg, struct nb_transport **out, char *why, size_t whysz)
{
	struct ip_server *s = arg;
	int sv[2];
	int max = atomic_load(&s->max_connections);
	if (max && atomic_load(&s->connections) >= max) {
		snprintf(why, whysz, "refused by the test");
		return NB_E_CONN;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return -errno;
	struct ip_conn *c = calloc(1, sizeof(*c));
	if (!c) {
		close(sv[0]);
		close(sv[1]);
		return -ENOMEM;
	}
	c->srv = s;
	c->fd = sv[0];
	c->server_fd = sv[1];
	c->drop_after = atomic_exchange(&s->drop_after, 0);
	c->hold_at = atomic_exchange(&s->hold_at, 0);
	c->t.stream = (struct nb_stream){ip_read, ip_write, c};
	c->t.readable = ip_readable;
	c->t.close = ip_close;
	if (pthread_create(&c->thread, NULL, ip_server_main, c) != 0) {
		close(sv[0]);
		close(sv[1]);
		free(c);
		return -EAGAIN;
	}
	atomic_fetch_add(&s->connections, 1);
	*out = &c->t;
	return 0;
}

#endif
