/*
 * The status report behind `nbfs status` and user.nbfs.status, as text: a
 * link line, then one line per queue entry. The contract is in report.h.
 */
#include "sync/report.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/pathname.h"
#include "wire/textesc.h"

/* Room kept for the "more" line at the end. */
#define NB_REPORT_TAIL 64

const char *nb_report_op_name(int kind)
{
	switch (kind) {
	case NB_KIND_FILE: return "upload";
	case NB_KIND_DIR: return "mkdir";
	case NB_KIND_SYMLINK: return "symlink";
	case NB_KIND_UNLINK: return "delete";
	case NB_KIND_RMDIR: return "rmdir";
	case NB_KIND_RENAME: return "move";
	default: return "?";
	}
}

/* Whole seconds from then to now (monotonic ms); 0 if then is unset or
 * later. */
static unsigned long long nb_report_age(long long then, long long now)
{
	return then > 0 && now > then ? (unsigned long long)((now - then) / 1000) : 0;
}

/* Escaped fields of one entry: a path may escape to four times its
 * length; an error text is cut to what a line should carry. 256 KiB:
 * on the heap. */
struct nb_report_fields {
	char path[NB_PATH_MAX * 4 + 8];
	char from[NB_PATH_MAX * 4 + 8];
	char error[1024];
};

size_t nb_report_render(char *buf, size_t size, int connected, const char *reason,
			const struct nb_queue_sum *sum, long long now_ms,
			const struct nb_queue_item *items, size_t n, size_t left)
{
	static const struct nb_queue_sum empty;
	size_t len = 0;
	if (size == 0)
		return 0;
	struct nb_report_fields *f = malloc(sizeof(*f));
	if (!f) {
		buf[0] = 0;
		return 0;
	}
	if (!sum)
		sum = &empty;
	buf[0] = 0;
	nb_textesc_escape(reason ? reason : "", f->error, sizeof(f->error));
	int k = snprintf(buf, size,
			 "link\t%s\t%s\n"
			 "sum\t%zu\t%zu\t%" PRIu64 "\t%" PRIu64 "\t%.0f\t%llu\n",
			 connected ? "connected" : "offline", f->error, sum->entries, sum->files,
			 sum->done, sum->total, sum->rate, nb_report_age(sum->oldest_ms, now_ms));
	len = k > 0 && (size_t)k < size ? (size_t)k : 0;
	buf[len] = 0;
	for (size_t i = 0; i < n; i++) {
		const struct nb_queue_item *it = &items[i];
		nb_textesc_escape(it->path, f->path, sizeof(f->path));
		nb_textesc_escape(it->kind == NB_KIND_RENAME && it->path2 ? it->path2 : "", f->from,
				 sizeof(f->from));
		nb_textesc_escape(it->error ? it->error : "", f->error, sizeof(f->error));
		size_t room = size - len > NB_REPORT_TAIL ? size - len - NB_REPORT_TAIL : 0;
		k = snprintf(buf + len, room,
			     "%s\t%" PRIu64 "\t%" PRIu64 "\t%.0f\t%llu\t%s\t%s\t%s\t%s\n",
			     nb_state_name(it->state), it->done, it->total, it->rate,
			     nb_report_age(it->since_ms, now_ms), nb_report_op_name(it->kind),
			     f->path, f->from, f->error);
		if (k < 0 || (size_t)k >= room) {
			buf[len] = 0;
			left++;
			continue;
		}
		len += (size_t)k;
	}
	free(f);
	if (left > 0) {
		k = snprintf(buf + len, size - len, "more\t%zu\n", left);
		if (k > 0 && (size_t)k < size - len)
			len += (size_t)k;
	}
	return len;
}
