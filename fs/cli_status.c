/*
 * `nbfs status`: reads a mount's status report and prints it as text with
 * bars and a summary line, as JSON, or as a stream of changes (--follow).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "fs/cli.h"
#include "fs/json.h"
#include "fs/progress.h"
#include "fs/status.h"
#include "fs/status_follow.h"
#include "fs/status_json.h"
#include "wire/pathname.h"
#include "wire/xio.h"

static int nb_status_width(int tty, int *rows)
{
	struct winsize ws;
	*rows = 0;
	if (tty && ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 40) {
		*rows = ws.ws_row;
		return ws.ws_col;
	}
	return 100;
}

/* Print a line, on a terminal cut to cols columns (counting a UTF-8
 * character as one column, and never cutting one in two). */
static void nb_status_put(const char *line, int tty, int cols)
{
	size_t n = strlen(line);
	if (tty) {
		int col = 0;
		size_t i = 0;
		for (; i < n; i++) {
			if (((unsigned char)line[i] & 0xc0) != 0x80 && col++ == cols)
				break;
		}
		n = i;
	}
	printf("%.*s\n", (int)n, line);
}

/* A path escaped for the terminal: up to four times its length. */
#define NB_STATUS_ESC_MAX (4 * NB_PATH_MAX + 8)
/* A move's two paths and the words around them; a line with a bar. */
#define NB_STATUS_WHAT_MAX (2 * NB_STATUS_ESC_MAX + 32)
#define NB_STATUS_LINE_MAX (NB_STATUS_WHAT_MAX + 256)

/* An entry as the text report shows it: the path, or what a barrier
 * does, with control bytes escaped for the terminal. */
static void nb_status_what(const struct nb_status_entry *e, char *out, size_t outsz)
{
	char *p = malloc(NB_STATUS_ESC_MAX), *q = malloc(NB_STATUS_ESC_MAX);
	if (!p || !q) {
		snprintf(out, outsz, "?");
		goto out;
	}
	nb_textesc_escape(e->path, p, NB_STATUS_ESC_MAX);
	if (!strcmp(e->op, "delete")) {
		snprintf(out, outsz, "(delete) %s", p);
	} else if (!strcmp(e->op, "rmdir")) {
		snprintf(out, outsz, "(delete dir) %s", p);
	} else if (!strcmp(e->op, "move")) {
		nb_textesc_escape(e->from, q, NB_STATUS_ESC_MAX);
		snprintf(out, outsz, "(move) %s -> %s", q, p);
	} else {
		snprintf(out, outsz, "%s", p);
	}
out:
	free(p);
	free(q);
}

static void nb_status_summary(const struct nb_status *s, int tty, int cols)
{
	struct nb_progress_sum sum = {
		.entries = s->entries,
		.files = s->files,
		.left = s->total > s->done ? s->total - s->done : 0,
		.rate = s->rate,
		.connected = s->connected,
		.oldest = s->oldest,
	};
	char line[256];
	nb_progress_summary(line, sizeof(line), &sum, tty ? cols : 0);
	nb_status_put(line, tty, cols);
}

/* Print one report; watch: redrawn on a terminal, so keep to its
 * height. Returns the number of entries not synced. */
static size_t nb_status_print(const struct nb_status *s, int tty, int watch)
{
	int rows;
	int cols = nb_status_width(tty, &rows);
	int bar = cols >= 120 ? 30 : 20;
	/* Room for the longest paths (a quarter MiB each): on the heap. */
	char *line = malloc(NB_STATUS_LINE_MAX), *what = malloc(NB_STATUS_WHAT_MAX);
	const size_t linesz = NB_STATUS_LINE_MAX;
	char esc[1024];
	if (!line || !what) {
		free(line);
		free(what);
		fprintf(stderr, "nbfs status: out of memory\n");
		return s->entries;
	}
	nb_status_summary(s, tty, cols);
	if (s->has_cache) {
		char u[32], m[32];
		nb_progress_size(u, sizeof(u), s->cache_used);
		nb_progress_size(m, sizeof(m), s->cache_max);
		/* The disk, when it is tighter than the budget: it is what
		 * refuses writes then. */
		char disk[96] = "";
		uint64_t room = s->cache_max > s->cache_used ? s->cache_max - s->cache_used : 0;
		if (s->has_disk && s->disk_free < NB_STATUS_DISK_FULL) {
			snprintf(disk, sizeof(disk),
				 " -- its disk is FULL: writes fail with 'No space left on device'");
		} else if (s->has_disk && (s->cache_max == 0 || s->disk_free < room)) {
			char f[32];
			nb_progress_size(f, sizeof(f), s->disk_free);
			snprintf(disk, sizeof(disk), " (%s free on its disk)", f);
		}
		if (s->cache_max == 0)
			snprintf(line, linesz, "cache: %s (no limit)%s", u, disk);
		else
			snprintf(line, linesz, "cache: %s of %s%s", u, m,
				 s->cache_full ? " -- FULL of data not yet on the server: "
						 "writers wait for uploads"
					       : disk);
		nb_status_put(line, tty, cols);
	}
	nb_textesc_escape(s->reason, esc, sizeof(esc));
	if (s->connected)
		snprintf(line, linesz, "server: connected");
	else
		snprintf(line, linesz, "server: OFFLINE (%s)", esc[0] ? esc : "?");
	nb_status_put(line, tty, cols);
	if (s->paused)
		nb_status_put("sync: PAUSED (nbfs resume MOUNTPOINT to go on)", tty, cols);
	/* Redrawn on a terminal: the summary, cache and server lines, the
	 * entries, "... and N more" and the total must fit its height. */
	size_t shown = s->n;
	if (watch && tty && rows > 0)
		shown = rows > 6 + s->paused ? (size_t)(rows - 6 - s->paused) : 0;
	if (shown > s->n)
		shown = s->n;
	for (size_t i = 0; i < shown; i++) {
		const struct nb_status_entry *e = &s->v[i];
		nb_status_what(e, what, NB_STATUS_WHAT_MAX);
		nb_progress_line(line, linesz, e->state, e->done, e->total, e->rate, what, bar);
		nb_status_put(line, tty, cols);
		/* Why it failed, below an entry in error (not while redrawn:
		 * the height is counted in entries). */
		if (e->error[0] && !strcmp(e->state, "error") && !(watch && tty)) {
			nb_textesc_escape(e->error, esc, sizeof(esc));
			snprintf(line, linesz, "     %s", esc);
			nb_status_put(line, tty, cols);
		}
	}
	size_t more = s->more + (s->n - shown);
	if (more)
		printf("... and %zu more\n", more);
	if (s->entries == 0) {
		printf("everything is synced\n");
	} else {
		char d[32], t[32];
		nb_progress_size(d, sizeof(d), s->done);
		nb_progress_size(t, sizeof(t), s->total);
		snprintf(line, linesz, "%zu not synced yet (%s of %s sent for the ones started)",
			 s->entries, d, t);
		nb_status_put(line, tty, cols);
	}
	free(line);
	free(what);
	return s->entries;
}

static int nb_status_json_once(const char *mnt, const struct nb_status *s)
{
	struct nb_buf *b = nb_buf_new((size_t)64 << 20);
	struct nb_json j;
	int r = -ENOMEM;
	if (b) {
		nb_json_init(&j, b);
		nb_status_json(&j, s, mnt, time(NULL));
		if ((r = nb_json_end(&j)) == 0 && nb_buf_put(b, "\n", 1) == 0)
			r = fwrite(nb_buf_ptr(b), 1, nb_buf_len(b), stdout) == nb_buf_len(b) ? 0 : -EIO;
	}
	nb_buf_free(b);
	return r;
}

static void nb_status_failed(const char *mnt, int r)
{
	if (r == -ENODATA || r == -ENOTSUP)
		fprintf(stderr, "nbfs status: %s is not the root of an nbfs mount\n", mnt);
	else
		fprintf(stderr, "nbfs status: %s: %s\n", mnt, strerror(-r));
}

#define NB_STATUS_USAGE "usage: nbfs status [-w | --json | --follow [--json]] MOUNTPOINT\n"

int nb_cli_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{"watch", no_argument, NULL, 'w'},
		{"json", no_argument, NULL, 'j'},
		{"follow", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	int watch = 0, json = 0, follow = 0, c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "wfh", opts, NULL)) != -1) {
		switch (c) {
		case 'w': watch = 1; break;
		case 'j': json = 1; break;
		case 'f': follow = 1; break;
		case 'h':
			printf(NB_STATUS_USAGE
			       "Lists what is not synced yet, with progress and a summary line.\n"
			       "  -w, --watch   redraw every second\n"
			       "  --json        one JSON object (see nbfs(1), JSON OUTPUT)\n"
			       "  -f, --follow  a line per change as it happens (JSON lines with "
			       "--json),\n"
			       "                until the mount goes away or SIGINT\n");
			return 0;
		default: return 2;
		}
	}
	if (optind + 1 != argc || (watch && (json || follow))) {
		fprintf(stderr, NB_STATUS_USAGE);
		return 2;
	}
	const char *mnt = argv[optind];
	if (follow) {
		int r = nb_status_follow(mnt, json);
		if (r != 0)
			nb_status_failed(mnt, r);
		return r == 0 ? 0 : 2;
	}
	int tty = isatty(1);
	for (;;) {
		struct nb_status s;
		int r = nb_status_read(mnt, &s);
		if (r == 0 && json)
			r = nb_status_json_once(mnt, &s);
		if (r != 0) {
			nb_status_free(&s);
			nb_status_failed(mnt, r);
			return 2;
		}
		if (!json) {
			if (watch && tty)
				printf("\033[H\033[J");
			nb_status_print(&s, tty, watch);
		}
		nb_status_free(&s);
		if (!watch)
			return 0;
		if (!tty)
			printf("\n");
		fflush(stdout);
		nb_xio_sleep_ms(1000);
	}
}
