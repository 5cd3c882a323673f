/*
 * nbfs-server: speaks the nbfs protocol on stdin/stdout, confined to one
 * root directory. Started by nbfs through SSH (or as a local child).
 */
#include <errno.h>
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

static ssize_t nb_fd_read(void *ctx, void *buf, size_t n)
{
	for (;;) {
		ssize_t k = read(*(int *)ctx, buf, n);
		if (k >= 0)
			return k;
		if (errno != EINTR)
			return -errno;
	}
}

static int nb_fd_write(void *ctx, const void *buf, size_t n)
{
	return nb_xio_write_full(*(int *)ctx, buf, n);
}

/* Would a read of stdin return at once (bytes, or the end)? The
 * session publishes the small files it holds when the client has
 * paused, i.e. when this says no. An error counts as no: flushing early
 * costs a smaller batch, never correctness. */
static int nb_fd_readable(void *ctx)
{
	struct pollfd p = {.fd = *(int *)ctx, .events = POLLIN};
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR));
}

static void nb_usage(FILE *fp)
{
	fprintf(fp, "usage: nbfs-server [--root DIR] [--stale-after SECONDS] [--log FILE] [-v]\n"
		    "       nbfs-server --help | --version\n"
		    "Speaks the nbfs protocol on stdin/stdout, confined to DIR (default: the\n"
		    "home directory). Partial uploads untouched for --stale-after seconds\n"
		    "(default 604800, a week) are removed when a session starts.\n"
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
		{"fault-file", required_argument, NULL, 'F'},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	const char *root_dir = getenv("HOME");
	const char *log_path = NULL;
	long stale_after = 7 * 24 * 3600;
	int c;
	nb_log_set_ident("nbfs-server");
	while ((c = getopt_long(argc, argv, "r:l:s:F:vVh", opts, NULL)) != -1) {
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
	umask(022);

	int in_fd = 0, out_fd = 1;
	struct nb_stream in = {nb_fd_read, NULL, &in_fd};
	struct nb_stream out = {NULL, nb_fd_write, &out_fd};
	struct nb_frame_reader rd;
	struct nb_session s;
	int r = nb_frame_reader_init(&rd, &in);
	if (r != 0) {
		nb_err("%s", nb_strerror(r));
		return 1;
	}
	rd.readable = nb_fd_readable;
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
	if ((r = nb_session_init(&s, root, &out)) == 0)
		r = nb_session_run(&s, &rd);
	else
		nb_err("%s", nb_strerror(r));
	nb_session_free(&s);
	nb_frame_reader_free(&rd);
	nb_root_close(&root);
	return r == 0 ? 0 : 1;
}
