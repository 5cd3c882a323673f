/*
 * `nbfs wait`: blocks until paths in a mount are synced (or in error),
 * polling their user.nbfs.state.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "fs/cli.h"
#include "fs/xattrs.h"
#include "wire/xio.h"

/* Read one attribute as a string; 0 or -errno. */
static int nb_wait_attr(const char *path, const char *name, char *buf, size_t size)
{
	ssize_t n = getxattr(path, name, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

int nb_cli_wait(int argc, char **argv)
{
	static const struct option opts[] = {
		{"timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	double timeout = -1;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "t:h", opts, NULL)) != -1) {
		switch (c) {
		case 't': {
			char *end;
			timeout = strtod(optarg, &end);
			if (*end || timeout < 0) {
				fprintf(stderr, "nbfs wait: bad timeout '%s'\n", optarg);
				return 2;
			}
			break;
		}
		case 'h':
			printf("usage: nbfs wait [--timeout SECONDS] PATH...\n"
			       "Waits until every PATH (directories: all below) is synced.\n");
			return 0;
		default:
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: nbfs wait [--timeout SECONDS] PATH...\n");
		return 2;
	}
	long long deadline = timeout < 0 ? -1 : nb_xio_now_ms() + (long long)(timeout * 1000);
	for (int i = optind; i < argc; i++) {
		const char *path = argv[i];
		char state[64], extra[1024];
		for (;;) {
			int r = nb_wait_attr(path, NB_XATTR_STATE, state, sizeof(state));
			if (r == -ENODATA || r == -ENOTSUP) {
				fprintf(stderr, "nbfs wait: %s is not in an nbfs mount\n", path);
				return 2;
			}
			if (r != 0) {
				fprintf(stderr, "nbfs wait: %s: %s\n", path, strerror(-r));
				return 2;
			}
			if (!strcmp(state, "synced") || !strcmp(state, "remote"))
				break;
			if (!strcmp(state, "conflict")) {
				fprintf(stderr,
					"nbfs wait: %s: conflict copy: it holds your version of a file "
					"that was also changed on the server; compare, then edit, "
					"rename or delete it\n",
					path);
				return 1;
			}
			if (!strcmp(state, "error")) {
				if (nb_wait_attr(path, NB_XATTR_ERROR, extra, sizeof(extra)) != 0)
					snprintf(extra, sizeof(extra), "unknown error");
				fprintf(stderr, "nbfs wait: %s: sync failed: %s\n", path, extra);
				return 1;
			}
			if (deadline >= 0 && nb_xio_now_ms() >= deadline) {
				if (nb_wait_attr(path, NB_XATTR_PROGRESS, extra, sizeof(extra)) != 0)
					snprintf(extra, sizeof(extra), "?");
				char why[1024] = "";
				if (nb_wait_attr(path, NB_XATTR_ERROR, why, sizeof(why)) != 0)
					why[0] = 0;
				fprintf(stderr, "nbfs wait: timed out after %g s: %s is %s (%s bytes)%s%s\n",
					timeout, path, state, extra, why[0] ? ": " : "", why);
				return 3;
			}
			nb_xio_sleep_ms(100);
		}
	}
	return 0;
}
