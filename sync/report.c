/*
 * The status report behind `nbfs status` and user.nbfs.status, as text: a
 * link line, then one line per queue entry. The contract is in report.h.
 */
#include "sync/report.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "wire/pathname.h"

/* Room kept for the "more" line at the end. */
#define NB_REPORT_TAIL 64

void nb_report_escape(const char *in, char *out, size_t outsz)
{
	size_t o = 0;
	if (outsz == 0)
		return;
	for (const unsigned char *p = (const unsigned char *)in; *p && o + 5 < outsz; p++) {
		if (*p == '\\' || *p == '\n' || *p == '\t') {
			out[o++] = '\\';
			out[o++] = *p == '\\' ? '\\' : *p == '\n' ? 'n' : 't';
		} else if (*p < 0x20 || *p == 0x7f) {
			o += (size_t)snprintf(out + o, outsz - o, "\\x%02x", *p);
		} else {
			out[o++] = (char)*p;
		}
	}
	out[o] = 0;
}

/* Append s to out (size outsz, NUL-terminated), truncating. */
static void nb_report_cat(char *out, size_t outsz, const char *s)
{
	size_t n = strlen(out), k = strlen(s);
	if (n + 1 >= outsz)
		return;
	if (k > outsz - n - 1)
		k = outsz - n - 1;
	memcpy(out + n, s, k);
	out[n + k] = 0;
}

/* The report's last field: the path, or what a barrier does. */
static void nb_report_describe(const struct nb_queue_item *it, char *out, size_t outsz)
{
	char a[NB_PATH_MAX * 4 + 8];
	out[0] = 0;
	switch (it->kind) {
	case NB_KIND_UNLINK: nb_report_cat(out, outsz, "(delete) "); break;
	case NB_KIND_RMDIR: nb_report_cat(out, outsz, "(delete dir) "); break;
	case NB_KIND_RENAME:
		nb_report_escape(it->path2, a, sizeof(a));
		nb_report_cat(out, outsz, "(move) ");
		nb_report_cat(out, outsz, a);
		nb_report_cat(out, outsz, " -> ");
		break;
	default: break;
	}
	nb_report_escape(it->path, a, sizeof(a));
	nb_report_cat(out, outsz, a);
}

size_t nb_report_render(char *buf, size_t size, int connected, const char *reason,
			const struct nb_queue_item *items, size_t n, size_t left)
{
	char what[2 * (NB_PATH_MAX * 4 + 8) + 32];
	char esc[NB_PATH_MAX * 4 + 8];
	size_t len = 0;
	if (size == 0)
		return 0;
	buf[0] = 0;
	nb_report_escape(reason ? reason : "", esc, sizeof(esc));
	int k = snprintf(buf, size, "link\t%s\t%s\n", connected ? "connected" : "offline", esc);
	len = k > 0 && (size_t)k < size ? (size_t)k : 0;
	buf[len] = 0;
	for (size_t i = 0; i < n; i++) {
		nb_report_describe(&items[i], what, sizeof(what));
		size_t room = size - len > NB_REPORT_TAIL ? size - len - NB_REPORT_TAIL : 0;
		k = snprintf(buf + len, room, "%s\t%" PRIu64 "\t%" PRIu64 "\t%.0f\t%s\n",
			     nb_state_name(items[i].state), items[i].done, items[i].total,
			     items[i].rate, what);
		if (k < 0 || (size_t)k >= room) {
			buf[len] = 0;
			left++;
			continue;
		}
		len += (size_t)k;
		/* What it waits for, or why it failed: a line of its own, so
		 * readers of the entry lines need not change. */
		if (items[i].error && items[i].error[0]) {
			nb_report_escape(items[i].error, esc, sizeof(esc));
			room = size - len > NB_REPORT_TAIL ? size - len - NB_REPORT_TAIL : 0;
			k = snprintf(buf + len, room, "note\t%s\n", esc);
			if (k > 0 && (size_t)k < room)
				len += (size_t)k;
			else
				buf[len] = 0;
		}
	}
	if (left > 0) {
		k = snprintf(buf + len, size - len, "more\t%zu\n", left);
		if (k > 0 && (size_t)k < size - len)
			len += (size_t)k;
	}
	return len;
}
