/*
 * nbfs-server: speaks the nbfs protocol on stdin/stdout, confined to one
 * root directory. Started by nbfs through SSH (or as a local child).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/root.h"
#include "server/session.h"
#include "sync/err.h"
#include "sync/frame.h"
#include "sync/log.h"
#include "sync/xio.h"

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

static void nb_usage(FILE *fp)
{
	fprintf(fp, "usage: nbfs-server [--root DIR] [--log FILE] [-v] [--version]\n"
		    "Speaks the nbfs protocol on stdin/stdout, confined to DIR\n"
		    "(default: the home directory).\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"root", required_argument, NULL, 'r'},
		{"log", required_argument, NULL, 'l'},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	const char *root_dir = getenv("HOME");
	const char *log_path = NULL;
	int c;
	nb_log_set_ident("nbfs-server");
	while ((c = getopt_long(argc, argv, "r:l:vVh", opts, NULL)) != -1) {
		switch (c) {
		case 'r': root_dir = optarg; break;
		case 'l': log_path = optarg; break;
		case 'v': nb_log_set_level(nb_log_get_level() + 1); break;
		case 'V': printf("nbfs-server %s, protocol %d\n", NBFS_VERSION, 1); return 0;
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

	struct nb_root root;
	int r = nb_root_open(&root, root_dir);
	if (r != 0) {
		nb_err("root %s: %s", root_dir, nb_strerror(r));
		return 1;
	}
	int in_fd = 0, out_fd = 1;
	struct nb_stream in = {nb_fd_read, NULL, &in_fd};
	struct nb_stream out = {NULL, nb_fd_write, &out_fd};
	struct nb_frame_reader rd;
	struct nb_session s;
	nb_frame_reader_init(&rd, &in);
	nb_session_init(&s, root, &out);
	r = nb_session_run(&s, &rd);
	nb_session_free(&s);
	nb_frame_reader_free(&rd);
	nb_root_close(&root);
	return r == 0 ? 0 : 1;
}
