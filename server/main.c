/*
 * nbfs-server: speaks the nbfs protocol on stdin/stdout, confined to one
 * root directory. Started by nbfs through SSH (or as a local child).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/partial.h"
#include "server/root.h"
#include "server/session.h"
#include "wire/err.h"
#include "wire/frame.h"
#include "wire/proto.h"
#include "wire/log.h"
#include "wire/xio.h"

/* One end of the client's stream, and how long it may stay silent
 * (the session's idle limit, which the client's MOUNT may change). */
struct nb_fd_end {
	int fd;
	int nonblock; /* O_NONBLOCK set: writes wait with a timeout */
	const long *idle_ms;
};

/* SIGTERM (from a newer session of the same mount taking over our
 * partials: server/owner.c), SIGHUP or SIGINT end the session as a
 * closed connection does, at its next read: its uploads keep every byte
 * that arrived, also the last MiBs that the appender holds in memory.
 * The handler sets the flag and wakes a waiting read through the pipe. */
static volatile sig_atomic_t nb_stop_sig;
static int nb_stop_pipe[2] = {-1, -1};

static void nb_on_stop(int sig)
{
	int e = errno;
	nb_stop_sig = sig;
	if (nb_stop_pipe[1] >= 0 && write(nb_stop_pipe[1], "", 1) < 0) {
		/* full: a wake-up is pending already */
	}
	errno = e;
}

static void nb_stop_setup(void)
{
	if (pipe2(nb_stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		nb_stop_pipe[0] = nb_stop_pipe[1] = -1; /* the flag alone, checked per read */
	struct sigaction sa = {.sa_handler = nb_on_stop};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

static ssize_t nb_stopped(void)
{
	nb_info("stopped by signal %d: ending the session, keeping what its uploads received",
		(int)nb_stop_sig);
	return -ECANCELED;
}

/* A client that sends nothing for the idle limit (not even a PING) is
 * gone, its link dead without a word: the session ends, so that its
 * partials' locks do not outlive it by hours. */
static ssize_t nb_fd_read(void *ctx, void *buf, size_t n)
{
	struct nb_fd_end *end = ctx;
	long idle = *end->idle_ms > 0 ? *end->idle_ms : -1;
	for (;;) {
		if (nb_stop_sig)
			return nb_stopped();
		/* A non-blocking end is read first and waited on only when
		 * empty: during an upload there is nearly always data, and
		 * the poll before every read was one system call in two. */
		if (end->nonblock) {
			ssize_t k = read(end->fd, buf, n);
			if (k >= 0)
				return k;
			if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
				return -errno;
		}
		int w = nb_xio_wait_or(end->fd, POLLIN, nb_stop_pipe[0], idle);
		if (w == -ECANCELED)
			return nb_stopped();
		if (w == 0) {
			nb_warn("the client sent nothing for %ld s: ending the session",
				idle / 1000);
			return -ETIMEDOUT;
		}
		if (w < 0)
			return w;
		ssize_t k = read(end->fd, buf, n);
		if (k >= 0)
			return k;
		/* EAGAIN: stdin and stdout may be one socket, made
		 * non-blocking for the writes. */
		if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
	}
}

/* A client that reads nothing of our answers for the idle limit is
 * gone as well. */
static int nb_fd_write(void *ctx, const void *buf, size_t n)
{
	struct nb_fd_end *end = ctx;
	if (!end->nonblock)
		return nb_xio_write_full(end->fd, buf, n);
	int r = nb_xio_write_full_wait(end->fd, buf, n, *end->idle_ms > 0 ? *end->idle_ms : -1);
	if (r == -ETIMEDOUT)
		nb_warn("the client read nothing for %ld s: ending the session",
			*end->idle_ms / 1000);
	return r;
}

/* Reads and writes on a pipe or socket can wait with a timeout if they
 * do not block: set O_NONBLOCK there (the stream is ours alone; a
 * terminal or file is left as it is). A pipe (sshd gives its session
 * pipes) also grows from 64 KiB to NB_PIPE_SIZE where the system allows:
 * sshd and this process then wake each other once per megabyte of an
 * upload instead of once per 64 KiB. */
#define NB_PIPE_SIZE (1024 * 1024)
static int nb_fd_nonblock(int fd)
{
	struct stat st;
	int fl = fcntl(fd, F_GETFL);
	if (fstat(fd, &st) != 0 || fl < 0 || !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
		return 0;
	if (S_ISFIFO(st.st_mode) && fcntl(fd, F_GETPIPE_SZ) < NB_PIPE_SIZE)
		(void)fcntl(fd, F_SETPIPE_SZ, NB_PIPE_SIZE); /* best effort */
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0;
}

/* Would a read of stdin return at once (bytes, or the end)? The
 * session publishes the small files it holds when the client has
 * paused, i.e. when this says no. An error counts as no: flushing early
 * costs a smaller batch, never correctness. */
static int nb_fd_wait(void *ctx, long ms)
{
	struct pollfd p = {.fd = ((struct nb_fd_end *)ctx)->fd, .events = POLLIN};
	return poll(&p, 1, (int)ms) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR));
}

static int nb_fd_readable(void *ctx)
{
	return nb_fd_wait(ctx, 0);
}

static void nb_usage(FILE *fp)
{
	fprintf(fp, "usage: nbfs-server [--root DIR] [--stale-after SECONDS] [--idle-timeout SECONDS]\n"
		    "                   [--log FILE] [-v]\n"
		    "       nbfs-server --help | --version\n"
		    "Speaks the nbfs protocol on stdin/stdout, confined to DIR (default: the\n"
		    "home directory). Partial uploads untouched for --stale-after seconds\n"
		    "(default 604800, a week) are removed when a session starts. A client\n"
		    "that sends nothing for --idle-timeout seconds (default 600; 0: never)\n"
		    "is taken for gone, unless it set its own limit.\n"
		    "nbfs runs it through SSH; see nbfs-server(8).\n");
}

/* The root cannot be served: answer the client's HELLO with the reason,
 * so the user reads it instead of a bare "connection closed". The
 * answer to a HELLO is in the framing of protocol 1 (no request id),
 * which clients of every version read there. */
static int nb_refuse(struct nb_frame_reader *rd, struct nb_stream *out, int err, const char *dir)
{
	struct nb_buf *payload = nb_buf_new(NB_FRAME_MAX), *tx = nb_buf_new(NB_FRAME_MAX);
	uint8_t type;
	char text[NB_ERRTEXT_MAX];
	snprintf(text, sizeof(text), "root directory %s: %s", dir, nb_strerror(err));
	if (payload && tx && nb_frame_recv(rd, &type, payload) == 0 &&
	    nb_proto_refuse_encode(tx, nb_proto_wire_errno(err), text) == 0)
		nb_frame_send(out, tx);
	nb_buf_free(payload);
	nb_buf_free(tx);
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"root", required_argument, NULL, 'r'},
		{"log", required_argument, NULL, 'l'},
		{"stale-after", required_argument, NULL, 's'},
		{"idle-timeout", required_argument, NULL, 'i'},
		{"fault-file", required_argument, NULL, 'F'},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	const char *root_dir = getenv("HOME");
	const char *log_path = NULL;
	long stale_after = 7 * 24 * 3600;
	long idle_s = NB_SESSION_IDLE_DEFAULT_MS / 1000;
	int c;
	nb_log_set_ident("nbfs-server");
	while ((c = getopt_long(argc, argv, "r:l:s:i:F:vVh", opts, NULL)) != -1) {
		switch (c) {
		case 'r': root_dir = optarg; break;
		case 'l': log_path = optarg; break;
		case 's': {
			char *end;
			stale_after = strtol(optarg, &end, 10);
			if (*end || stale_after < 0) {
				fprintf(stderr, "nbfs-server: bad --stale-after '%s'\n", optarg);
				return 2;
			}
			break;
		}
		case 'i': {
			char *end;
			idle_s = strtol(optarg, &end, 10);
			if (*end || idle_s < 0 || idle_s > NB_MOUNT_IDLE_MAX) {
				fprintf(stderr, "nbfs-server: bad --idle-timeout '%s'\n", optarg);
				return 2;
			}
			break;
		}
		case 'F': nb_partial_set_fault_file(optarg); break;
		case 'v': nb_log_set_level(nb_log_get_level() + 1); break;
		case 'V':
			printf("nbfs-server %s, protocol %d\n", NBFS_VERSION, NB_PROTO_VERSION);
			return 0;
		case 'h': nb_usage(stdout); return 0;
		default: nb_usage(stderr); return 2;
		}
	}
	if (optind != argc || !root_dir) {
		nb_usage(stderr);
		return 2;
	}
	if (log_path) {
		FILE *fp = fopen(log_path, "ae");
		if (!fp) {
			fprintf(stderr, "nbfs-server: %s: %s\n", log_path, strerror(errno));
			return 1;
		}
		nb_log_set_file(fp);
	}
	signal(SIGPIPE, SIG_IGN);
	nb_stop_setup();
	umask(022);

	/* Until the session exists (a refusal), no idle limit. */
	long no_limit = 0;
	struct nb_fd_end in_end = {0, nb_fd_nonblock(0), &no_limit};
	struct nb_fd_end out_end = {1, nb_fd_nonblock(1), &no_limit};
	struct nb_stream in = {nb_fd_read, NULL, &in_end};
	struct nb_stream out = {NULL, nb_fd_write, &out_end};
	struct nb_frame_reader rd;
	struct nb_session s;
	int r = nb_frame_reader_init(&rd, &in);
	if (r != 0) {
		nb_err("%s", nb_strerror(r));
		return 1;
	}
	rd.readable = nb_fd_readable;
	rd.wait = nb_fd_wait;
	struct nb_root root;
	r = nb_root_open(&root, root_dir);
	if (r == 0) {
		struct stat st;
		if (fstat(root.fd, &st) != 0 || !S_ISDIR(st.st_mode))
			r = -ENOTDIR;
	}
	if (r != 0) {
		nb_err("root %s: %s", root_dir, nb_strerror(r));
		r = nb_refuse(&rd, &out, r, root_dir);
		nb_frame_reader_free(&rd);
		return r;
	}
	nb_partial_sweep(&root, stale_after);
	if ((r = nb_session_init(&s, root, &out)) == 0) {
		s.idle_ms = idle_s * 1000;
		in_end.idle_ms = out_end.idle_ms = &s.idle_ms;
		r = nb_session_run(&s, &rd);
	}
	else
		nb_err("%s", nb_strerror(r));
	nb_session_free(&s);
	nb_frame_reader_free(&rd);
	nb_root_close(&root);
	return r == 0 ? 0 : 1;
}
