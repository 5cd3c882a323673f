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

#endif
