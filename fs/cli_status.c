/*
 * `nbfs status`: reads the status report of a mount (user.nbfs.status) and
 * prints it.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fs/cli.h"
#include "fs/progress.h"
#include "fs/xattrs.h"
#include "wire/xio.h"

/* Fetch the report; NULL with errno set on failure. Caller frees. */
static char *nb_status_fetch(const char *mnt)
{
	for (int tries = 0; tries < 5; tries++) {
		ssize_t n = getxattr(mnt, NB_XATTR_STATUS, NULL, 0);
		if (n < 0)
			return NULL;
		char *buf = malloc((size_t)n + 1);
		if (!buf)
			return NULL;
		ssize_t k = getxattr(mnt, NB_XATTR_STATUS, buf, (size_t)n);
		if (k >= 0) {
			buf[k] = 0;
			return buf;
		}
		free(buf);
		if (errno != ERANGE) /* grew meanwhile: try again */
			return NULL;
	}
	errno = ERANGE;
	return NULL;
}

static int nb_status_width(int tty)
{
	struct winsize ws;
	if (tty && ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 40)
		return ws.ws_col;
	return 100;
}

/* Print one report; returns the number of entries not synced. */
static long nb_status_print(const char *report, int tty)
{
	int cols = nb_status_width(tty);
	int bar = cols >= 120 ? 30 : 20;
	long count = 0, more = 0;
	uint64_t done_sum = 0, total_sum = 0;
	const char *line = report;
	while (*line) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		char buf[8192];
		if (n >= sizeof(buf))
			n = sizeof(buf) - 1;
		memcpy(buf, line, n);
		buf[n] = 0;
		line += n + (nl ? 1 : 0);
		/* Fields are tab-separated; the last one (path, or reason) may
		 * hold tabs itself, so split at most `max` times. */
		char *f[5] = {0};
		int k = 0;
		for (char *p = buf; p && k < 5; k++) {
			f[k] = p;
			char *tab = k < 4 ? strchr(p, '\t') : NULL;
			if (tab)
				*tab = 0;
			p = tab ? tab + 1 : NULL;
		}
		if (!strcmp(f[0], "link")) {
			if (k >= 2 && !strcmp(f[1], "connected"))
				printf("server: connected\n");
			else
				printf("server: OFFLINE (%s%s%s)\n", k >= 3 ? f[2] : "?", k >= 4 ? "\t" : "",
				       k >= 4 ? f[3] : "");
			continue;
		}
		if (k >= 2 && !strcmp(f[0], "sync") && !strcmp(f[1], "paused")) {
			printf("sync: PAUSED (nbfs resume MOUNTPOINT to go on)\n");
			continue;
		}
		if (k >= 4 && !strcmp(f[0], "cache")) {
			char u[32], m[32];
			nb_progress_size(u, sizeof(u), strtoull(f[1], NULL, 10));
			nb_progress_size(m, sizeof(m), strtoull(f[2], NULL, 10));
			if (strtoull(f[2], NULL, 10) == 0)
				printf("cache: %s (no limit)\n", u);
			else
				printf("cache: %s of %s%s\n", u, m,
				       !strcmp(f[3], "full") ? " -- FULL of data not yet on the server: "
							       "writers wait for uploads"
							     : "");
			continue;
		}
		if (k >= 2 && !strcmp(f[0], "note")) {
			/* the entry above: what it waits for, or its error */
			printf("    %s%s%s\n", f[1], k >= 3 ? "\t" : "", k >= 3 ? f[2] : "");
			continue;
		}
		if (k >= 2 && !strcmp(f[0], "more")) {
			more = strtol(f[1], NULL, 10);
			continue;
		}
		if (k < 5)
			continue;
		uint64_t done = strtoull(f[1], NULL, 10), total = strtoull(f[2], NULL, 10);
		double rate = strtod(f[3], NULL);
		char out[16384];
		nb_progress_line(out, sizeof(out), f[0], done, total, rate, f[4], bar);
		if (tty && (int)strlen(out) > cols)
			out[cols] = 0;
		printf("%s\n", out);
		count++;
		done_sum += done;
		total_sum += total;
	}
	if (more)
		printf("... and %ld more\n", more);
	if (count + more == 0) {
		printf("everything is synced\n");
	} else {
		char d[32], t[32];
		nb_progress_size(d, sizeof(d), done_sum);
		nb_progress_size(t, sizeof(t), total_sum);
		printf("%ld not synced yet (%s of %s sent for the ones started)\n", count + more, d, t);
	}
	return count + more;
}

int nb_cli_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{"watch", no_argument, NULL, 'w'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	int watch = 0, c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "wh", opts, NULL)) != -1) {
		switch (c) {
		case 'w': watch = 1; break;
		case 'h':
			printf("usage: nbfs status [-w] MOUNTPOINT\n"
			       "Lists what is not synced yet, with progress; -w (--watch) redraws every "
			       "second.\n");
			return 0;
		default: return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: nbfs status [-w] MOUNTPOINT\n");
		return 2;
	}
	const char *mnt = argv[optind];
	int tty = isatty(1);
	for (;;) {
		char *report = nb_status_fetch(mnt);
		if (!report) {
			if (errno == ENODATA || errno == ENOTSUP)
				fprintf(stderr, "nbfs status: %s is not the root of an nbfs mount\n", mnt);
			else
				fprintf(stderr, "nbfs status: %s: %s\n", mnt, strerror(errno));
			return 2;
		}
		if (watch && tty)
			printf("\033[H\033[J");
		nb_status_print(report, tty);
		free(report);
		if (!watch)
			return 0;
		if (!tty)
			printf("\n");
		fflush(stdout);
		nb_xio_sleep_ms(1000);
	}
}
