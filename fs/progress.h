/*
 * Progress bars and human-readable sizes for `nbfs status`, in the
 * spirit of the tutorial's "\r NN%|####" bar.
 */
#ifndef NB_PROGRESS_H
#define NB_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

/* "512 B", "1.5 KiB", "23.4 MiB", ... */
void nb_progress_size(char *out, size_t outsz, uint64_t bytes);
/* "1:02:03", "2:05", or "-" when unknown. */
void nb_progress_eta(char *out, size_t outsz, uint64_t left, double rate);
/* One status line: " 42%|########            | 42.0 MiB/100.0 MiB
 * 10.0 MiB/s ETA 0:05  state  path", with a bar `width` cells wide. */
void nb_progress_line(char *out, size_t outsz, const char *state, uint64_t done, uint64_t total,
		      double rate, const char *path, int width);

/* An age in seconds, short: "42s", "5m07s", "3h05m", "2d04h". */
void nb_progress_age(char *out, size_t outsz, uint64_t secs);

/* What the one-line summary at the top of `nbfs status` shows. */
struct nb_progress_sum {
	size_t entries, files; /* not synced yet; files: uploads among them */
	uint64_t left;         /* bytes still to send */
	double rate;           /* bytes per second, all uploads together */
	int connected;
	uint64_t oldest; /* seconds the oldest entry has waited */
};
/* The summary line, at most width columns (<= 0: no limit; it is
 * ASCII, so bytes are columns):
 * "to sync: 12 files, 3.4 GiB | 1.2 MiB/s ETA 0:45 | online | oldest 5m07s"
 * ("12 files + 3 other" when not everything is an upload; without
 * "to sync: ", then also without "ETA" and as "5m07s old", where that
 * does not fit; cut at width as a last resort),
 * or "all synced | online". */
void nb_progress_summary(char *out, size_t outsz, const struct nb_progress_sum *s, int width);

#endif
