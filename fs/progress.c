/*
 * Progress bars and human-readable sizes for `nbfs status`, in the spirit
 * of the tutorial's "\r NN%|####" bar. The contract is in progress.h.
 */
#include "fs/progress.h"

#include <stdio.h>
#include <string.h>

void nb_progress_size(char *out, size_t outsz, uint64_t bytes)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	double v = (double)bytes;
	size_t u = 0;
	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, outsz, "%llu B", (unsigned long long)bytes);
	else
		snprintf(out, outsz, "%.1f %s", v, units[u]);
}

void nb_progress_eta(char *out, size_t outsz, uint64_t left, double rate)
{
	if (rate < 1) {
		snprintf(out, outsz, "-");
		return;
	}
	double secs = (double)left / rate;
	if (secs > 99 * 3600.0) {
		snprintf(out, outsz, ">99h");
		return;
	}
	unsigned long s = (unsigned long)(secs + 0.5);
	if (s >= 3600)
		snprintf(out, outsz, "%lu:%02lu:%02lu", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(out, outsz, "%lu:%02lu", s / 60, s % 60);
}

void nb_progress_line(char *out, size_t outsz, const char *state, uint64_t done, uint64_t total,
		      double rate, const char *path, int width)
{
	char bar[256], d[32], t[32], r[32], eta[32];
	if (width < 1)
		width = 1;
	if (width > (int)sizeof(bar) - 1)
		width = (int)sizeof(bar) - 1;
	if (done > total)
		done = total;
	int pct = total ? (int)((double)done * 100 / (double)total) : 0;
	int fill = total ? (int)((double)done * width / (double)total) : 0;
	memset(bar, '#', (size_t)fill);
	memset(bar + fill, ' ', (size_t)(width - fill));
	bar[width] = 0;
	nb_progress_size(d, sizeof(d), done);
	nb_progress_size(t, sizeof(t), total);
	if (rate >= 1) {
		nb_progress_size(r, sizeof(r), (uint64_t)rate);
		strncat(r, "/s", sizeof(r) - strlen(r) - 1);
	} else {
		snprintf(r, sizeof(r), "-");
	}
	nb_progress_eta(eta, sizeof(eta), total - done, rate);
	snprintf(out, outsz, "%3d%%|%s| %s/%s  %s  ETA %s  %-9s %s", pct, bar, d, t, r, eta, state,
		 path);
}

void nb_progress_age(char *out, size_t outsz, uint64_t secs)
{
	unsigned long long s = secs;
	if (s < 60)
		snprintf(out, outsz, "%llus", s);
	else if (s < 3600)
		snprintf(out, outsz, "%llum%02llus", s / 60, s % 60);
	else if (s < 86400)
		snprintf(out, outsz, "%lluh%02llum", s / 3600, s / 60 % 60);
	else
		snprintf(out, outsz, "%llud%02lluh", s / 86400, s / 3600 % 24);
}

void nb_progress_summary(char *out, size_t outsz, const struct nb_progress_sum *s, int width)
{
	const char *link = s->connected ? "online" : "OFFLINE";
	char what[64], left[32], rate[32], eta[32], age[32];
	if (outsz == 0)
		return;
	if (s->entries == 0) {
		snprintf(out, outsz, "all synced | %s", link);
	} else {
		size_t other = s->entries > s->files ? s->entries - s->files : 0;
		if (other && s->files)
			snprintf(what, sizeof(what), "%zu file%s + %zu other", s->files,
				 s->files == 1 ? "" : "s", other);
		else if (other)
			snprintf(what, sizeof(what), "%zu change%s", other, other == 1 ? "" : "s");
		else
			snprintf(what, sizeof(what), "%zu file%s", s->files, s->files == 1 ? "" : "s");
		nb_progress_size(left, sizeof(left), s->left);
		nb_progress_size(rate, sizeof(rate), s->rate >= 1 ? (uint64_t)s->rate : 0);
		nb_progress_eta(eta, sizeof(eta), s->left, s->rate);
		nb_progress_age(age, sizeof(age), s->oldest);
		/* Words that say what the numbers are, where there is room. */
		for (int terse = 0; terse < 3; terse++) {
			if (terse < 2)
				snprintf(out, outsz, "%s%s, %s | %s/s ETA %s | %s | oldest %s",
					 terse ? "" : "to sync: ", what, left, rate, eta, link, age);
			else
				snprintf(out, outsz, "%s, %s | %s/s %s | %s | %s old", what, left,
					 rate, eta, link, age);
			if (width <= 0 || strlen(out) <= (size_t)width)
				break;
		}
	}
	if (width > 0 && strlen(out) > (size_t)width)
		out[width] = 0;
}
