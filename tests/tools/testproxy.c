/*
 * nbfs-testproxy: a loopback TCP proxy for the end-to-end tests.
 *
 * The e2e tests put it between nbfs and the test sshd so that they can assert how many bytes
 * crossed the wire (a resumed upload must not resend what the server already has) and break
 * the connection at a chosen moment: after N bytes uploaded, on SIGUSR1, or for as long as the
 * test toggles "offline" with SIGUSR2. Only loopback addresses are accepted so that a mistyped
 * test can never turn this into an open relay.
 *
 * It can also play a slow, distant network for the benchmarks (--delay-ms, --bandwidth-mbit):
 * each direction is one link, shared by every connection through the proxy like a real
 * uplink, that sends the bytes it takes one after the other at its rate (pacing) and hands
 * each piece to the far side a fixed time after it has been sent (propagation delay). The
 * bytes in flight wait in a per-direction queue, each piece stamped with the time it may
 * leave, so a delay in one direction never holds up the other.
 *
 * One thread and one poll() loop: with no locks, a cut can never race with a forward, and
 * the counters a test reads are exactly the bytes handed to the kernel.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TP_BUF_SIZE 65536
#define TP_STATS_INTERVAL_MS 50
/* Caps the discard loop in a FIN close, so a peer that keeps sending cannot hold us there. */
#define TP_DRAIN_MAX (1024 * 1024)
/* With a delay but no rate, a direction holds at most this much in flight per connection,
 * which caps its throughput at TP_LINK_BUF / delay (200 MB/s at 20 ms): far above anything
 * the benchmarks put through it, and a bound on our memory. */
#define TP_LINK_BUF (4 * 1024 * 1024)
/* A paced link takes a new piece, of at most TP_PACE_CHUNK_NS worth of bytes, when what it
 * has already taken will be sent within TP_PACE_AHEAD_NS: the pacing stays smooth and a
 * proxy that is scheduled late by a few ms on a busy machine still finds work queued. A
 * link that fell idle for less than TP_PACE_SLACK_NS because we woke up late may catch up
 * on that time; after a longer pause it starts afresh. */
#define TP_PACE_CHUNK_NS (1000 * 1000LL)
#define TP_PACE_AHEAD_NS (5 * 1000 * 1000LL)
#define TP_PACE_SLACK_NS (1000 * 1000LL)
/* Pieces in flight per direction and connection; reads wait while the queue is full. */
#define TP_MAX_SEGS 4096

#define TP_NS 1000000000LL

/* How a cut ends a connection. With TP_RESET the peer's kernel drops what it received but
 * its application has not read yet, so the far end may see fewer bytes than "up" counts:
 * that is what a real reset does. */
enum tp_mode { TP_CLOSE, TP_RESET, TP_STALL };

enum { TP_UP, TP_DOWN }; /* client->target, target->client */

/* One piece read from the source: it may be written to the other side from due_ns on. */
struct tp_seg {
	size_t len;
	int64_t due_ns;
};

/* Bytes read from one side and not yet written to the other: a ring of cap bytes starting
 * at head, of which the first `ready` are due; the rest wait in segs (a ring too) for
 * their time. Without a delay or rate every piece is due at once. */
struct tp_pipe {
	char *data;
	size_t cap, head, len, ready;
	struct tp_seg segs[TP_MAX_SEGS];
	size_t seg_head, nsegs;
	bool eof;  /* the source sent FIN */
	bool shut; /* that FIN has been passed on with shutdown(SHUT_WR) */
};

struct tp_conn {
	int cfd, tfd;
	bool connecting; /* non-blocking connect to the target still in flight */
	bool stalled;
	bool dead; /* sockets closed; freed at the end of the loop iteration */
	int64_t stall_until_ms;
	struct tp_pipe pipe[2]; /* TP_UP, TP_DOWN */
};

/* One direction of the simulated network, shared by all connections. */
struct tp_link {
	uint64_t rate;      /* bytes per second; 0: as fast as the sockets go */
	int64_t delay_ns;   /* added to every piece after it has been sent */
	int64_t busy_until; /* when the link will have sent everything it has taken */
	size_t chunk;       /* most a paced link takes in one read */
	size_t buf_size;    /* ring size of each connection's pipe in this direction */
};

struct tp_proxy {
	struct sockaddr_in target;
	int lfd;
	const char *stats_file;
	enum tp_mode mode;
	int64_t stall_ms;
	bool have_cut_after, cut_after_done, cut_pending, offline, stop;
	uint64_t cut_after;
	/* Bytes taken from clients so far; reads are capped against it so that, with
	 * --cut-after, exactly BYTES reach the target before the cut. */
	uint64_t up_read;
	struct tp_link link[2]; /* TP_UP, TP_DOWN */
	uint64_t up, down, connections, cuts, refused;
	bool stats_dirty;
	int64_t stats_last_ms;
	struct tp_conn **conns;
	size_t nconns, cap;
};

/* The signal handler can only reach the loop through this pipe. */
static int tp_sigpipe[2] = { -1, -1 };

static void __attribute__((format(printf, 1, 2))) tp_log(const char *fmt, ...)
{
	va_list ap;
	fputs("nbfs-testproxy: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int64_t tp_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * TP_NS + ts.tv_nsec;
}

static int64_t tp_now_ms(void)
{
	return tp_now_ns() / 1000000;
}

static void tp_on_signal(int sig)
{
	int saved = errno;
	unsigned char b = (unsigned char)sig;
	/* If the pipe is full, signals are already pending: losing a duplicate is harmless. */
	(void)!write(tp_sigpipe[1], &b, 1);
	errno = saved;
}

/* Readers (the test scripts) poll these files, so they must never see a half-written one. */
static int tp_write_atomic(const char *path, const char *text)
{
	char tmp[PATH_MAX];
	size_t len = strlen(text), done = 0;
	int fd, r = 0;

	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out;
		}
		done += (size_t)n;
	}
out:
	if (close(fd) != 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) != 0)
		r = -errno;
	if (r != 0)
		unlink(tmp);
	return r;
}

static void tp_write_stats(struct tp_proxy *p)
{
	char text[256];
	int r;

	p->stats_dirty = false;
	p->stats_last_ms = tp_now_ms();
	if (!p->stats_file)
		return;
	snprintf(text, sizeof text,
		 "up %" PRIu64 "\ndown %" PRIu64 "\nconnections %" PRIu64 "\ncuts %" PRIu64
		 "\nrefused %" PRIu64 "\noffline %d\n",
		 p->up, p->down, p->connections, p->cuts, p->refused, p->offline ? 1 : 0);
	if ((r = tp_write_atomic(p->stats_file, text)) != 0)
		tp_log("writing %s: %s", p->stats_file, strerror(-r));
}

static void tp_close_fd(int fd, enum tp_mode how)
{
	char sink[4096];
	size_t drained = 0;
	ssize_t n;

	if (fd < 0)
		return;
	if (how == TP_RESET) {
		/* A zero linger time makes close() abort the connection with RST. */
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	} else {
		/* Send the FIN first, then discard what the peer already sent: Linux answers a
		 * close() with unread data by RST, and this mode promises an orderly close. */
		shutdown(fd, SHUT_WR);
		while (drained < TP_DRAIN_MAX &&
		       (n = recv(fd, sink, sizeof sink, MSG_DONTWAIT)) > 0)
			drained += (size_t)n;
	}
	close(fd);
}

static void tp_conn_close(struct tp_proxy *p, struct tp_conn *c, enum tp_mode how)
{
	if (c->dead)
		return;
	/* Bytes read but never forwarded must not count toward the --cut-after cap. */
	p->up_read -= c->pipe[TP_UP].len;
	tp_close_fd(c->cfd, how);
	tp_close_fd(c->tfd, how);
	c->cfd = c->tfd = -1;
	c->dead = true;
}

static void tp_conn_free(struct tp_conn *c)
{
	if (!c)
		return;
	free(c->pipe[TP_UP].data);
	free(c->pipe[TP_DOWN].data);
	free(c);
}

/* Counted once per event, even with no connection open, so a test can see that its signal
 * has been handled by waiting for the counter to move. */
static void tp_cut_all(struct tp_proxy *p, enum tp_mode how)
{
	p->cuts++;
	p->stats_dirty = true;
	for (size_t i = 0; i < p->nconns; i++) {
		struct tp_conn *c = p->conns[i];
		if (c->dead)
			continue;
		if (how != TP_STALL) {
			tp_conn_close(p, c, how);
		} else if (!c->stalled) {
			c->stalled = true;
			c->stall_until_ms = tp_now_ms() + p->stall_ms;
		}
	}
}

/* How many bytes may be read from the source of direction dir right now: what fits in one
 * contiguous stretch of the ring, no more than --cut-after still allows, and on a paced link
 * one chunk, once what the link has already taken is nearly sent. */
static size_t tp_read_room(const struct tp_proxy *p, const struct tp_conn *c, int dir,
			   int64_t now)
{
	const struct tp_pipe *pp = &c->pipe[dir];
	const struct tp_link *lk = &p->link[dir];
	size_t tail, room;

	if (pp->eof || pp->len == pp->cap || pp->nsegs == TP_MAX_SEGS)
		return 0;
	tail = (pp->head + pp->len) % pp->cap;
	room = tail >= pp->head ? pp->cap - tail : pp->head - tail;
	if (dir == TP_UP && p->have_cut_after && !p->cut_after_done) {
		uint64_t left = p->up_read >= p->cut_after ? 0 : p->cut_after - p->up_read;
		if (left < room)
			room = (size_t)left;
	}
	if (lk->rate) {
		if (lk->busy_until > now + TP_PACE_AHEAD_NS)
			return 0;
		if (lk->chunk < room)
			room = lk->chunk;
	}
	return room;
}

/* Queues n bytes just read: a paced link sends them after what it already holds, taking
 * n / rate; they reach the far side delay_ns after that. */
static void tp_pipe_push(struct tp_link *lk, struct tp_pipe *pp, size_t n, int64_t now)
{
	int64_t due = now;

	pp->len += n;
	if (!lk->rate && !lk->delay_ns) {
		if (pp->nsegs == 0) {
			pp->ready += n;
			return;
		}
	} else {
		if (lk->rate) {
			int64_t start = lk->busy_until > now - TP_PACE_SLACK_NS
						? lk->busy_until
						: now - TP_PACE_SLACK_NS;
			lk->busy_until = start + (int64_t)((uint64_t)n * TP_NS / lk->rate);
			/* Catching up never sends a piece before it was read. */
			due = lk->busy_until > now ? lk->busy_until : now;
		}
		/* Rounded up to 100 us, so that the many small pieces of a burst share one
		 * entry in the queue; no link here is that precise anyway. */
		due = (due + lk->delay_ns + 99999) / 100000 * 100000;
	}
	if (pp->nsegs > 0) {
		struct tp_seg *last = &pp->segs[(pp->seg_head + pp->nsegs - 1) % TP_MAX_SEGS];
		if (last->due_ns >= due) {
			last->len += n;
			return;
		}
	}
	pp->segs[(pp->seg_head + pp->nsegs) % TP_MAX_SEGS] = (struct tp_seg){ n, due };
	pp->nsegs++;
}

/* Makes the pieces whose time has come writable. */
static void tp_pipe_release(struct tp_pipe *pp, int64_t now)
{
	while (pp->nsegs > 0 && pp->segs[pp->seg_head].due_ns <= now) {
		pp->ready += pp->segs[pp->seg_head].len;
		pp->seg_head = (pp->seg_head + 1) % TP_MAX_SEGS;
		pp->nsegs--;
	}
}

/* Moves what it can from one side to the other without blocking: reads if the source
 * polled readable and there is room, then writes whatever is due. Returns 0, or -errno when
 * the connection is broken and must be closed. */
static int tp_flow(struct tp_proxy *p, struct tp_conn *c, int dir, short src_revents,
		   int64_t now)
{
	struct tp_pipe *pp = &c->pipe[dir];
	int src = dir == TP_UP ? c->cfd : c->tfd, dst = dir == TP_UP ? c->tfd : c->cfd;
	bool src_ready = dir == TP_UP || !c->connecting;
	size_t room = tp_read_room(p, c, dir, now);
	ssize_t n;

	if (src_ready && room > 0 && (src_revents & (POLLIN | POLLHUP | POLLERR))) {
		n = recv(src, pp->data + (pp->head + pp->len) % pp->cap, room, 0);
		if (n > 0) {
			tp_pipe_push(&p->link[dir], pp, (size_t)n, now);
			if (dir == TP_UP)
				p->up_read += (uint64_t)n;
		} else if (n == 0) {
			pp->eof = true;
		} else if (errno != EAGAIN && errno != EINTR) {
			return -errno;
		}
	}
	if (dir == TP_UP && c->connecting)
		return 0;
	tp_pipe_release(pp, now);
	/* Try the write straight away rather than waiting for POLLOUT: usually there is room,
	 * and it saves a loop iteration per chunk. */
	while (pp->ready > 0) {
		size_t chunk = pp->cap - pp->head < pp->ready ? pp->cap - pp->head : pp->ready;
		n = send(dst, pp->data + pp->head, chunk, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0)
			return -errno;
		pp->head = (pp->head + (size_t)n) % pp->cap;
		pp->len -= (size_t)n;
		pp->ready -= (size_t)n;
		if (dir == TP_UP)
			p->up += (uint64_t)n;
		else
			p->down += (uint64_t)n;
		p->stats_dirty = true;
	}
	if (pp->len == 0)
		pp->head = 0;
	if (dir == TP_UP && p->have_cut_after && !p->cut_after_done && p->up >= p->cut_after)
		p->cut_pending = true;
	if (pp->eof && pp->len == 0 && !pp->shut) {
		if (shutdown(dst, SHUT_WR) != 0)
			return -errno;
		pp->shut = true;
	}
	return 0;
}

/* Runs on every loop iteration for every connection, not only those with socket events:
 * queued bytes fall due by the clock. */
static void tp_service(struct tp_proxy *p, struct tp_conn *c, short crev, short trev,
		       int64_t now)
{
	int r = 0;

	if (c->dead || c->stalled)
		return;
	if (c->connecting && trev != 0) {
		int err = 0;
		socklen_t len = sizeof err;
		if (getsockopt(c->tfd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
			err = errno;
		if (err != 0) {
			tp_log("connecting to target: %s", strerror(err));
			r = -err;
			goto out;
		}
		c->connecting = false;
	}
	if ((r = tp_flow(p, c, TP_UP, crev, now)) != 0 ||
	    (r = tp_flow(p, c, TP_DOWN, trev, now)) != 0)
		goto out;
	if (c->pipe[TP_UP].shut && c->pipe[TP_DOWN].shut)
		tp_conn_close(p, c, TP_CLOSE);
out:
	/* Pass a reset on as a reset, so the other end sees what a direct connection would. */
	if (r != 0)
		tp_conn_close(p, c, r == -ECONNRESET ? TP_RESET : TP_CLOSE);
}

static void tp_accept(struct tp_proxy *p)
{
	for (;;) {
		int one = 1, cfd, tfd;
		struct tp_conn *c;

		cfd = accept4(p->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				tp_log("accept: %s", strerror(errno));
			if (errno == ECONNABORTED || errno == EINTR)
				continue;
			return;
		}
		if (p->offline) {
			close(cfd);
			p->refused++;
			p->stats_dirty = true;
			continue;
		}
		p->connections++;
		p->stats_dirty = true;
		if (p->nconns == p->cap) {
			size_t ncap = p->cap ? p->cap * 2 : 16;
			struct tp_conn **nc = realloc(p->conns, ncap * sizeof *nc);
			if (!nc) {
				close(cfd);
				tp_log("out of memory");
				return;
			}
			p->conns = nc;
			p->cap = ncap;
		}
		c = calloc(1, sizeof *c);
		if (c) {
			for (int d = TP_UP; d <= TP_DOWN; d++) {
				c->pipe[d].cap = p->link[d].buf_size;
				c->pipe[d].data = malloc(c->pipe[d].cap);
			}
		}
		tfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (!c || !c->pipe[TP_UP].data || !c->pipe[TP_DOWN].data || tfd < 0) {
			tp_log("new connection: %s", strerror(errno));
			tp_conn_free(c);
			if (tfd >= 0)
				close(tfd);
			close(cfd);
			continue;
		}
		/* Nagle in the middle would delay small SSH packets that neither end delays. */
		setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		setsockopt(tfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		c->cfd = cfd;
		c->tfd = tfd;
		p->conns[p->nconns++] = c;
		if (connect(tfd, (const struct sockaddr *)&p->target, sizeof p->target) == 0)
			continue;
		if (errno == EINPROGRESS) {
			c->connecting = true;
		} else {
			tp_log("connecting to target: %s", strerror(errno));
			tp_conn_close(p, c, TP_CLOSE);
		}
	}
}

static void tp_handle_signals(struct tp_proxy *p)
{
	unsigned char b;

	while (read(tp_sigpipe[0], &b, 1) == 1) {
		if (b == SIGTERM || b == SIGINT) {
			p->stop = true;
		} else if (b == SIGUSR1) {
			tp_cut_all(p, p->mode);
		} else if (b == SIGUSR2) {
			p->offline = !p->offline;
			p->stats_dirty = true;
			if (p->offline)
				tp_cut_all(p, TP_CLOSE);
		}
	}
}

/* Closes stalled connections whose time is up, frees closed ones, and returns the poll
 * timeout until the next stall expiry or rate-limited stats write (-1: none). */
static int tp_housekeep(struct tp_proxy *p)
{
	int64_t now = tp_now_ms(), wait = -1;
	size_t j = 0;

	for (size_t i = 0; i < p->nconns; i++) {
		struct tp_conn *c = p->conns[i];
		if (!c->dead && c->stalled && now >= c->stall_until_ms)
			tp_conn_close(p, c, TP_CLOSE);
		if (c->dead) {
			tp_conn_free(c);
			continue;
		}
		if (c->stalled && (wait < 0 || c->stall_until_ms - now < wait))
			wait = c->stall_until_ms - now;
		p->conns[j++] = c;
	}
	p->nconns = j;
	if (p->stats_dirty && now - p->stats_last_ms >= TP_STATS_INTERVAL_MS)
		tp_write_stats(p);
	if (p->stats_dirty) {
		int64_t due = p->stats_last_ms + TP_STATS_INTERVAL_MS - now;
		if (wait < 0 || due < wait)
			wait = due;
	}
	return wait > INT_MAX ? INT_MAX : (int)wait;
}

static short tp_events(bool want_in, bool want_out)
{
	return (short)((want_in ? POLLIN : 0) | (want_out ? POLLOUT : 0));
}

/* The earliest time, from `wake` (-1: none) and this connection's queues, at which the loop
 * must run again although no socket is ready: a queued piece falls due, or a paced link
 * that holds back a readable source has room again. */
static int64_t tp_next_wake(const struct tp_proxy *p, const struct tp_conn *c, int64_t now,
			    int64_t wake)
{
	for (int d = TP_UP; d <= TP_DOWN; d++) {
		const struct tp_pipe *pp = &c->pipe[d];
		const struct tp_link *lk = &p->link[d];
		int64_t t = -1;
		if (pp->nsegs > 0)
			t = pp->segs[pp->seg_head].due_ns;
		int64_t free_at = lk->busy_until - TP_PACE_AHEAD_NS;
		if (lk->rate && !pp->eof && free_at > now && (t < 0 || free_at < t))
			t = free_at;
		if (t >= 0 && (wake < 0 || t < wake))
			wake = t;
	}
	return wake;
}

static int tp_run(struct tp_proxy *p)
{
	struct pollfd *pfd = NULL;
	size_t pcap = 0;
	int timeout_ms = tp_housekeep(p);

	while (!p->stop) {
		size_t n = p->nconns;
		int64_t now = tp_now_ns(), wake = -1;
		struct timespec ts, *tsp = NULL;

		if (2 + 2 * n > pcap) {
			struct pollfd *np = realloc(pfd, (2 + 2 * n) * 2 * sizeof *np);
			if (!np)
				return -ENOMEM;
			pfd = np;
			pcap = (2 + 2 * n) * 2;
		}
		pfd[0] = (struct pollfd){ .fd = tp_sigpipe[0], .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = p->lfd, .events = POLLIN };
		for (size_t i = 0; i < n; i++) {
			struct tp_conn *c = p->conns[i];
			bool live = !c->stalled, up_in, down_in;
			tp_pipe_release(&c->pipe[TP_UP], now);
			tp_pipe_release(&c->pipe[TP_DOWN], now);
			up_in = live && tp_read_room(p, c, TP_UP, now) > 0;
			down_in = live && !c->connecting && tp_read_room(p, c, TP_DOWN, now) > 0;
			pfd[2 + 2 * i].events = tp_events(up_in, live && c->pipe[TP_DOWN].ready > 0);
			pfd[3 + 2 * i].events = tp_events(
				down_in, live && (c->connecting || c->pipe[TP_UP].ready > 0));
			/* A socket whose peer has hung up reports POLLHUP even with no events
			 * asked for; leaving it out keeps that from spinning the loop. */
			pfd[2 + 2 * i].fd = pfd[2 + 2 * i].events ? c->cfd : -1;
			pfd[3 + 2 * i].fd = pfd[3 + 2 * i].events ? c->tfd : -1;
			pfd[2 + 2 * i].revents = pfd[3 + 2 * i].revents = 0;
			if (live)
				wake = tp_next_wake(p, c, now, wake);
		}
		if (timeout_ms >= 0) {
			int64_t t = now + (int64_t)timeout_ms * 1000000;
			if (wake < 0 || t < wake)
				wake = t;
		}
		if (wake >= 0) {
			int64_t left = wake > now ? wake - now : 0;
			ts = (struct timespec){ .tv_sec = left / TP_NS, .tv_nsec = left % TP_NS };
			tsp = &ts;
		}
		if (ppoll(pfd, 2 + 2 * n, tsp, NULL) < 0) {
			if (errno == EINTR)
				continue;
			free(pfd);
			return -errno;
		}
		if (pfd[0].revents)
			tp_handle_signals(p);
		now = tp_now_ns();
		for (size_t i = 0; i < n; i++)
			tp_service(p, p->conns[i], pfd[2 + 2 * i].revents, pfd[3 + 2 * i].revents,
				   now);
		if (p->cut_pending) {
			p->cut_pending = false;
			p->cut_after_done = true;
			tp_cut_all(p, p->mode);
		}
		if (pfd[1].revents && !p->stop)
			tp_accept(p);
		timeout_ms = tp_housekeep(p);
	}
	free(pfd);
	return 0;
}

static int tp_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9') /* strtoull would accept a sign and spaces */
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Parses HOST:PORT, HOST being a dotted IPv4 address or "localhost". Returns 0, -EINVAL
 * on a malformed address, or -EPERM for an address outside 127.0.0.0/8. */
static int tp_parse_addr(const char *arg, bool port_zero_ok, struct sockaddr_in *sa)
{
	const char *colon = strrchr(arg, ':');
	char host[64];
	uint64_t port;

	if (!colon || (size_t)(colon - arg) >= sizeof host)
		return -EINVAL;
	memcpy(host, arg, (size_t)(colon - arg));
	host[colon - arg] = '\0';
	if (tp_parse_u64(colon + 1, 65535, &port) != 0 || (port == 0 && !port_zero_ok))
		return -EINVAL;
	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (strcmp(host, "localhost") == 0)
		sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return -EINVAL;
	return (ntohl(sa->sin_addr.s_addr) >> 24) == 127 ? 0 : -EPERM;
}

static void tp_usage(int status)
{
	fputs("usage: nbfs-testproxy --listen 127.0.0.1:PORT --target HOST:PORT\n"
	      "         [--port-file FILE] [--stats FILE] [--pid-file FILE]\n"
	      "         [--cut-after BYTES] [--cut-mode close|reset|stall] [--stall-seconds N]\n"
	      "         [--rate BYTES_PER_SECOND] [--delay-ms MS] [--bandwidth-mbit MBIT]\n"
	      "PORT 0 for --listen picks a free port (see --port-file). Loopback only.\n"
	      "Faults:\n"
	      "  --cut-after BYTES      cut every connection once BYTES went client-to-target\n"
	      "  --cut-mode MODE        close (FIN), reset (RST) or stall (stop forwarding, close\n"
	      "                         after --stall-seconds, default 3600)\n"
	      "  SIGUSR1: cut all connections now. SIGUSR2: toggle offline. SIGTERM: exit.\n"
	      "A slow link (each direction one link, shared by all connections):\n"
	      "  --delay-ms MS          one-way delay added in each direction (round trip +2*MS)\n"
	      "  --bandwidth-mbit MBIT  each direction's capacity in megabits (10^6 bits) per\n"
	      "                         second, enforced by pacing\n"
	      "  --rate BYTES_PER_SECOND  pace the client-to-target direction only, in bytes\n"
	      "                         per second (the lower of this and --bandwidth-mbit wins)\n"
	      "  With a delay and no rate, a connection holds at most 4 MiB in flight per\n"
	      "  direction. Connection setup itself is not delayed.\n"
	      "--stats FILE: up/down byte counts, connections, cuts, refused, offline.\n",
	      status ? stderr : stdout);
	exit(status);
}

/* Sizes a link's chunk and the ring each connection gets for it: room for all the bytes
 * the link can hold in flight (rate x delay) plus what pacing keeps ahead. */
static void tp_link_setup(struct tp_link *lk, uint64_t rate, uint64_t delay_ms)
{
	uint64_t buf;

	lk->rate = rate;
	lk->delay_ns = (int64_t)delay_ms * 1000000;
	if (!rate) {
		lk->buf_size = delay_ms ? TP_LINK_BUF : TP_BUF_SIZE;
		return;
	}
	lk->chunk = (size_t)(rate * (uint64_t)TP_PACE_CHUNK_NS / TP_NS);
	if (lk->chunk < 1448) /* one TCP segment */
		lk->chunk = 1448;
	if (lk->chunk > TP_LINK_BUF / 4)
		lk->chunk = TP_LINK_BUF / 4;
	buf = rate * (delay_ms + 2 * TP_PACE_AHEAD_NS / 1000000) / 1000 + 2 * lk->chunk +
	      TP_BUF_SIZE;
	lk->buf_size = buf > 16 * TP_LINK_BUF ? 16 * TP_LINK_BUF : (size_t)buf;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "target", required_argument, NULL, 't' },
		{ "port-file", required_argument, NULL, 'P' },
		{ "stats", required_argument, NULL, 's' },
		{ "cut-after", required_argument, NULL, 'c' },
		{ "cut-mode", required_argument, NULL, 'm' },
		{ "stall-seconds", required_argument, NULL, 'S' },
		{ "pid-file", required_argument, NULL, 'p' },
		{ "rate", required_argument, NULL, 'r' },
		{ "delay-ms", required_argument, NULL, 'd' },
		{ "bandwidth-mbit", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct tp_proxy p = { .lfd = -1, .mode = TP_CLOSE, .stall_ms = 3600 * 1000 };
	struct sockaddr_in laddr;
	socklen_t alen = sizeof laddr;
	const char *listen_arg = NULL, *target_arg = NULL, *port_file = NULL, *pid_file = NULL;
	int opt, r, one = 1;
	uint64_t v, rate = 0, delay_ms = 0, bandwidth = 0, up_rate;
	char text[32];

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'l': listen_arg = optarg; break;
		case 't': target_arg = optarg; break;
		case 'P': port_file = optarg; break;
		case 's': p.stats_file = optarg; break;
		case 'p': pid_file = optarg; break;
		case 'c':
			if (tp_parse_u64(optarg, UINT64_MAX, &p.cut_after) != 0 || p.cut_after == 0)
				tp_usage(2);
			p.have_cut_after = true;
			break;
		case 'm':
			if (strcmp(optarg, "close") == 0)
				p.mode = TP_CLOSE;
			else if (strcmp(optarg, "reset") == 0)
				p.mode = TP_RESET;
			else if (strcmp(optarg, "stall") == 0)
				p.mode = TP_STALL;
			else
				tp_usage(2);
			break;
		case 'S':
			if (tp_parse_u64(optarg, 100000000, &v) != 0)
				tp_usage(2);
			p.stall_ms = (int64_t)v * 1000;
			break;
		case 'r':
			if (tp_parse_u64(optarg, 1000000000000ULL, &rate) != 0 || rate == 0)
				tp_usage(2);
			break;
		case 'd':
			if (tp_parse_u64(optarg, 100000, &delay_ms) != 0)
				tp_usage(2);
			break;
		case 'b':
			if (tp_parse_u64(optarg, 1000000, &v) != 0 || v == 0)
				tp_usage(2);
			bandwidth = v * 1000000 / 8;
			break;
		case 'h': tp_usage(0); break;
		default: tp_usage(2);
		}
	}
	if (optind != argc || !listen_arg || !target_arg)
		tp_usage(2);
	up_rate = rate && (!bandwidth || rate < bandwidth) ? rate : bandwidth;
	tp_link_setup(&p.link[TP_UP], up_rate, delay_ms);
	tp_link_setup(&p.link[TP_DOWN], bandwidth, delay_ms);
	if ((r = tp_parse_addr(listen_arg, true, &laddr)) != 0 ||
	    (r = tp_parse_addr(target_arg, false, &p.target)) != 0) {
		tp_log("%s", r == -EPERM ? "only loopback (127.0.0.0/8) addresses are allowed"
					  : "addresses must be IPv4-ADDRESS:PORT");
		return 2;
	}

	struct sigaction sa = { .sa_handler = tp_on_signal };
	sigemptyset(&sa.sa_mask);
	if (pipe2(tp_sigpipe, O_NONBLOCK | O_CLOEXEC) != 0) {
		tp_log("pipe: %s", strerror(errno));
		return 1;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	p.lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p.lfd < 0 || setsockopt(p.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    bind(p.lfd, (const struct sockaddr *)&laddr, sizeof laddr) != 0 ||
	    listen(p.lfd, 128) != 0 || getsockname(p.lfd, (struct sockaddr *)&laddr, &alen) != 0) {
		tp_log("listening on %s: %s", listen_arg, strerror(errno));
		return 1;
	}
	if (pid_file) {
		snprintf(text, sizeof text, "%ld\n", (long)getpid());
		if ((r = tp_write_atomic(pid_file, text)) != 0) {
			tp_log("writing %s: %s", pid_file, strerror(-r));
			return 1;
		}
	}
	tp_write_stats(&p);
	/* Written last: a test that sees the port file may rely on the pid and stats files. */
	if (port_file) {
		snprintf(text, sizeof text, "%u\n", (unsigned)ntohs(laddr.sin_port));
		if ((r = tp_write_atomic(port_file, text)) != 0) {
			tp_log("writing %s: %s", port_file, strerror(-r));
			return 1;
		}
	}

	r = tp_run(&p);
	if (r != 0)
		tp_log("event loop: %s", strerror(-r));
	for (size_t i = 0; i < p.nconns; i++) {
		tp_conn_close(&p, p.conns[i], TP_CLOSE);
		tp_conn_free(p.conns[i]);
	}
	free(p.conns);
	close(p.lfd);
	tp_write_stats(&p);
	return r == 0 ? 0 : 1;
}
