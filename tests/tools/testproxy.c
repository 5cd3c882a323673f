/*
 * nbfs-testproxy: a loopback TCP proxy for the end-to-end tests.
 *
 * The e2e tests put it between nbfs and the test sshd so that they can assert how many bytes
 * crossed the wire (a resumed upload must not resend what the server already has) and break
 * the connection at a chosen moment: after N bytes uploaded, on SIGUSR1, or for as long as the
 * test toggles "offline" with SIGUSR2. Only loopback addresses are accepted so that a mistyped
 * test can never turn this into an open relay.
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

/* How a cut ends a connection. With TP_RESET the peer's kernel drops what it received but
 * its application has not read yet, so the far end may see fewer bytes than "up" counts:
 * that is what a real reset does. */
enum tp_mode { TP_CLOSE, TP_RESET, TP_STALL };

/* Bytes read from one side and not yet written to the other. */
struct tp_pipe {
	char data[TP_BUF_SIZE];
	size_t off, len;
	bool eof;  /* the source sent FIN */
	bool shut; /* that FIN has been passed on with shutdown(SHUT_WR) */
};

struct tp_conn {
	int cfd, tfd;
	bool connecting; /* non-blocking connect to the target still in flight */
	bool stalled;
	bool dead; /* sockets closed; freed at the end of the loop iteration */
	int64_t stall_until_ms;
	struct tp_pipe up, down; /* client->target, target->client */
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
	/* --rate: a token bucket on client->target bytes, so a test can make
	 * a transfer last long enough to hit it at a chosen point. */
	uint64_t rate;
	double tokens;
	int64_t tokens_ms;
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

static int64_t tp_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
	p->up_read -= c->up.len;
	tp_close_fd(c->cfd, how);
	tp_close_fd(c->tfd, how);
	c->cfd = c->tfd = -1;
	c->dead = true;
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

static size_t tp_read_cap(const struct tp_proxy *p)
{
	size_t cap = SIZE_MAX;
	if (p->have_cut_after && !p->cut_after_done)
		cap = p->up_read >= p->cut_after ? 0 : (size_t)(p->cut_after - p->up_read);
	if (p->rate && p->tokens < (double)cap)
		cap = p->tokens < 1 ? 0 : (size_t)p->tokens;
	return cap;
}

/* Refill the rate bucket; returns ms until a read may go on (-1: now). */
static int tp_refill(struct tp_proxy *p)
{
	if (!p->rate)
		return -1;
	int64_t now = tp_now_ms();
	double burst = (double)p->rate / 10 > 65536 ? (double)p->rate / 10 : 65536;
	p->tokens += (double)p->rate * (double)(now - p->tokens_ms) / 1000.0;
	if (p->tokens > burst)
		p->tokens = burst;
	p->tokens_ms = now;
	return p->tokens >= 1 ? -1 : 10;
}

static size_t tp_room(const struct tp_pipe *pp)
{
	return TP_BUF_SIZE - pp->len;
}

/* Moves what it can from one side to the other without blocking. Returns 0, or -errno when
 * the connection is broken and must be closed. */
static int tp_flow(struct tp_proxy *p, struct tp_conn *c, bool up, short src_revents)
{
	struct tp_pipe *pp = up ? &c->up : &c->down;
	int src = up ? c->cfd : c->tfd, dst = up ? c->tfd : c->cfd;
	bool src_ready = up || !c->connecting;
	size_t room = tp_room(pp);
	ssize_t n;

	if (up && tp_read_cap(p) < room)
		room = tp_read_cap(p);
	if (src_ready && !pp->eof && room > 0 && (src_revents & (POLLIN | POLLHUP | POLLERR))) {
		if (pp->off + pp->len + room > TP_BUF_SIZE) {
			memmove(pp->data, pp->data + pp->off, pp->len);
			pp->off = 0;
		}
		n = recv(src, pp->data + pp->off + pp->len, room, 0);
		if (n > 0) {
			pp->len += (size_t)n;
			if (up) {
				p->up_read += (uint64_t)n;
				if (p->rate)
					p->tokens -= (double)n;
			}
		} else if (n == 0) {
			pp->eof = true;
		} else if (errno != EAGAIN && errno != EINTR) {
			return -errno;
		}
	}
	if (up && c->connecting)
		return 0;
	/* Try the write straight away rather than waiting for POLLOUT: usually there is room,
	 * and it saves a loop iteration per chunk. */
	while (pp->len > 0) {
		n = send(dst, pp->data + pp->off, pp->len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0)
			return -errno;
		pp->off += (size_t)n;
		pp->len -= (size_t)n;
		if (up)
			p->up += (uint64_t)n;
		else
			p->down += (uint64_t)n;
		p->stats_dirty = true;
	}
	if (pp->len == 0)
		pp->off = 0;
	if (up && p->have_cut_after && !p->cut_after_done && p->up >= p->cut_after)
		p->cut_pending = true;
	if (pp->eof && pp->len == 0 && !pp->shut) {
		if (shutdown(dst, SHUT_WR) != 0)
			return -errno;
		pp->shut = true;
	}
	return 0;
}

static void tp_service(struct tp_proxy *p, struct tp_conn *c, short crev, short trev)
{
	int r = 0;

	if (c->dead || c->stalled || (crev == 0 && trev == 0))
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
	if ((r = tp_flow(p, c, true, crev)) != 0 || (r = tp_flow(p, c, false, trev)) != 0)
		goto out;
	if (c->up.shut && c->down.shut)
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
		tfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (!c || tfd < 0) {
			tp_log("new connection: %s", strerror(errno));
			free(c);
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
			free(c);
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

static int tp_run(struct tp_proxy *p)
{
	struct pollfd *pfd = NULL;
	size_t pcap = 0;
	int timeout = tp_housekeep(p);

	while (!p->stop) {
		size_t n = p->nconns;
		int refill = tp_refill(p);
		if (refill >= 0 && (timeout < 0 || refill < timeout))
			timeout = refill;
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
			const struct tp_conn *c = p->conns[i];
			bool live = !c->stalled, up_in, down_in;
			up_in = live && !c->up.eof && tp_room(&c->up) > 0 && tp_read_cap(p) > 0;
			down_in = live && !c->connecting && !c->down.eof && tp_room(&c->down) > 0;
			pfd[2 + 2 * i].events = tp_events(up_in, live && c->down.len > 0);
			pfd[3 + 2 * i].events = tp_events(down_in, live && (c->connecting ||
									   c->up.len > 0));
			/* A socket whose peer has hung up reports POLLHUP even with no events
			 * asked for; leaving it out keeps that from spinning the loop. */
			pfd[2 + 2 * i].fd = pfd[2 + 2 * i].events ? c->cfd : -1;
			pfd[3 + 2 * i].fd = pfd[3 + 2 * i].events ? c->tfd : -1;
			pfd[2 + 2 * i].revents = pfd[3 + 2 * i].revents = 0;
		}
		if (poll(pfd, 2 + 2 * n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			free(pfd);
			return -errno;
		}
		if (pfd[0].revents)
			tp_handle_signals(p);
		for (size_t i = 0; i < n; i++)
			tp_service(p, p->conns[i], pfd[2 + 2 * i].revents, pfd[3 + 2 * i].revents);
		if (p->cut_pending) {
			p->cut_pending = false;
			p->cut_after_done = true;
			tp_cut_all(p, p->mode);
		}
		if (pfd[1].revents && !p->stop)
			tp_accept(p);
		timeout = tp_housekeep(p);
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

static void tp_usage(void)
{
	fputs("usage: nbfs-testproxy --listen 127.0.0.1:PORT --target HOST:PORT\n"
	      "         [--port-file FILE] [--stats FILE] [--pid-file FILE]\n"
	      "         [--cut-after BYTES] [--cut-mode close|reset|stall] [--stall-seconds N]\n"
	      "         [--rate BYTES_PER_SECOND]   (client-to-target direction)\n"
	      "PORT 0 for --listen picks a free port (see --port-file). Loopback only.\n"
	      "SIGUSR1: cut all connections now. SIGUSR2: toggle offline. SIGTERM: exit.\n",
	      stderr);
	exit(2);
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
		{ NULL, 0, NULL, 0 },
	};
	struct tp_proxy p = { .lfd = -1, .mode = TP_CLOSE, .stall_ms = 3600 * 1000 };
	struct sockaddr_in laddr;
	socklen_t alen = sizeof laddr;
	const char *listen_arg = NULL, *target_arg = NULL, *port_file = NULL, *pid_file = NULL;
	int opt, r, one = 1;
	uint64_t v;
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
				tp_usage();
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
				tp_usage();
			break;
		case 'S':
			if (tp_parse_u64(optarg, 100000000, &v) != 0)
				tp_usage();
			p.stall_ms = (int64_t)v * 1000;
			break;
		case 'r':
			if (tp_parse_u64(optarg, UINT64_MAX, &p.rate) != 0 || p.rate == 0)
				tp_usage();
			p.tokens_ms = tp_now_ms();
			break;
		default: tp_usage();
		}
	}
	if (optind != argc || !listen_arg || !target_arg)
		tp_usage();
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
		free(p.conns[i]);
	}
	free(p.conns);
	close(p.lfd);
	tp_write_stats(&p);
	return r == 0 ? 0 : 1;
}
