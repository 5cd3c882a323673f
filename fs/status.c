/*
 * The status report as `nbfs status` sees it: parsed from the mount root's
 * user.nbfs.status (and user.nbfs.events) into fields. The contract is in
 * status.h.
 */
#include "fs/status.h"

#include <errno.h>
#include <linux/limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>

#include "fs/xattrs.h"

#define NB_STATUS_FIELDS 9

static char *nb_status_field(const char *f, size_t n)
{
	char *s = malloc(n + 1);
	if (s)
		nb_textesc_unescape(f, n, s);
	return s;
}

static uint64_t nb_status_u64(const char *f)
{
	return strtoull(f, NULL, 10);
}

/* Copy field f (an unescaped word) into a fixed-size name. */
static void nb_status_word(char *out, size_t outsz, const char *f, size_t n)
{
	if (n >= outsz)
		n = outsz - 1;
	memcpy(out, f, n);
	out[n] = 0;
}

/* One entry line: the fields as they stand (f[i], len[i]). */
static int nb_status_entry(struct nb_status *s, const char *const *f, const size_t *len, int k)
{
	struct nb_status_entry *e;
	if (s->n % 64 == 0) {
		struct nb_status_entry *v = realloc(s->v, (s->n + 64) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->v = v;
	}
	e = &s->v[s->n];
	memset(e, 0, sizeof(*e));
	nb_status_word(e->state, sizeof(e->state), f[0], len[0]);
	e->done = nb_status_u64(f[1]);
	e->total = nb_status_u64(f[2]);
	e->rate = strtod(f[3], NULL);
	if (k >= NB_STATUS_FIELDS) {
		e->age = nb_status_u64(f[4]);
		nb_status_word(e->op, sizeof(e->op), f[5], len[5]);
		e->path = nb_status_field(f[6], len[6]);
		e->from = nb_status_field(f[7], len[7]);
		e->error = nb_status_field(f[8], len[8]);
	} else { /* an older nbfs: state done total rate what */
		e->path = nb_status_field(f[4], len[4]);
		e->from = nb_status_field("", 0);
		e->error = nb_status_field("", 0);
	}
	s->n++;
	if (!e->path || !e->from || !e->error)
		return -ENOMEM;
	return 0;
}

/* Split the n bytes at line into at most max tab-separated fields
 * (f[i], len[i]); the last field takes the rest. Returns the count. */
static int nb_status_fields(const char *line, size_t n, const char **f, size_t *len, int max)
{
	int k = 0;
	const char *p = line, *end = line + n;
	while (k < max) {
		const char *tab = memchr(p, '\t', (size_t)(end - p));
		f[k] = p;
		len[k] = (size_t)((tab ? tab : end) - p);
		k++;
		if (!tab)
			break;
		p = tab + 1;
	}
	return k;
}

/* One line (n bytes at line, no newline). */
static int nb_status_line(struct nb_status *s, const char *line, size_t n, int *has_sum)
{
	const char *f[NB_STATUS_FIELDS];
	size_t len[NB_STATUS_FIELDS];
	int k = nb_status_fields(line, n, f, len, NB_STATUS_FIELDS);
	/* strtoull and friends stop at the tab that ends their field. */
	if (k >= 4 && len[0] == 5 && !memcmp(f[0], "cache", 5)) {
		s->has_cache = 1;
		s->cache_used = nb_status_u64(f[1]);
		s->cache_max = nb_status_u64(f[2]);
		s->cache_full = len[3] == 4 && !memcmp(f[3], "full", 4);
	} else if (k >= 2 && len[0] == 4 && !memcmp(f[0], "link", 4)) {
		s->connected = len[1] == 9 && !memcmp(f[1], "connected", 9);
		free(s->reason);
		s->reason = nb_status_field(k >= 3 ? f[2] : "", k >= 3 ? len[2] : 0);
		if (!s->reason)
			return -ENOMEM;
	} else if (k >= 7 && len[0] == 3 && !memcmp(f[0], "sum", 3)) {
		*has_sum = 1;
		s->entries = (size_t)nb_status_u64(f[1]);
		s->files = (size_t)nb_status_u64(f[2]);
		s->done = nb_status_u64(f[3]);
		s->total = nb_status_u64(f[4]);
		s->rate = strtod(f[5], NULL);
		s->oldest = nb_status_u64(f[6]);
	} else if (k >= 2 && len[0] == 4 && !memcmp(f[0], "sync", 4)) {
		s->paused = len[1] == 6 && !memcmp(f[1], "paused", 6);
	} else if (k >= 2 && len[0] == 4 && !memcmp(f[0], "more", 4)) {
		s->more = (size_t)nb_status_u64(f[1]);
	} else if (k == 5 || k >= NB_STATUS_FIELDS) {
		return nb_status_entry(s, f, len, k);
	}
	return 0;
}

int nb_status_parse(const char *report, struct nb_status *out)
{
	int has_sum = 0, r = 0;
	memset(out, 0, sizeof(*out));
	for (const char *line = report; *line && r == 0;) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		r = nb_status_line(out, line, n, &has_sum);
		line += n + (nl ? 1 : 0);
	}
	if (r == 0 && !out->reason && !(out->reason = strdup("")))
		r = -ENOMEM;
	if (r == 0 && !has_sum) {
		out->entries = out->n + out->more;
		for (size_t i = 0; i < out->n; i++) {
			out->files += !strcmp(out->v[i].op, "upload") || !out->v[i].op[0];
			out->done += out->v[i].done;
			out->total += out->v[i].total;
			out->rate += out->v[i].rate;
		}
	}
	return r;
}

void nb_status_free(struct nb_status *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].path);
		free(s->v[i].from);
		free(s->v[i].error);
	}
	free(s->v);
	free(s->reason);
	memset(s, 0, sizeof(*s));
}

/* The report's text; NULL with errno set on failure. Caller frees.
 * One getxattr into a buffer as large as any value may be: each call
 * holds the mount for its while (an unmount then answers EBUSY), and a
 * follower looks four times a second, so it makes as few as it can. */
static char *nb_status_fetch(const char *mnt, const char *name)
{
	char *buf = malloc(XATTR_SIZE_MAX + 1);
	if (!buf)
		return NULL;
	ssize_t k = getxattr(mnt, name, buf, XATTR_SIZE_MAX);
	if (k < 0) {
		int e = errno;
		free(buf);
		errno = e;
		return NULL;
	}
	buf[k] = 0;
	return buf;
}

int nb_status_read_report(const char *mnt, struct nb_status *out)
{
	memset(out, 0, sizeof(*out));
	char *text = nb_status_fetch(mnt, NB_XATTR_STATUS);
	if (!text)
		return errno ? -errno : -EIO;
	int r = nb_status_parse(text, out);
	free(text);
	return r;
}

int nb_status_read(const char *mnt, struct nb_status *out)
{
	int r = nb_status_read_report(mnt, out);
	struct statvfs sv;
	if (r == 0 && statvfs(mnt, &sv) == 0) {
		out->has_disk = 1;
		out->disk_free = (uint64_t)sv.f_bavail * sv.f_frsize;
	}
	return r;
}

/* One event line: n, event, op, path, other. */
static int nb_status_event_line(struct nb_status_events *ev, const char *line, size_t n)
{
	const char *f[5];
	size_t len[5];
	int k = nb_status_fields(line, n, f, len, 5);
	if (k >= 2 && len[0] == 4 && !memcmp(f[0], "next", 4)) {
		ev->next = nb_status_u64(f[1]);
		return 0;
	}
	if (k < 5)
		return 0;
	if (ev->n % 64 == 0) {
		struct nb_status_event *v = realloc(ev->v, (ev->n + 64) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		ev->v = v;
	}
	struct nb_status_event *e = &ev->v[ev->n++];
	memset(e, 0, sizeof(*e));
	e->n = nb_status_u64(f[0]);
	nb_status_word(e->event, sizeof(e->event), f[1], len[1]);
	nb_status_word(e->op, sizeof(e->op), f[2], len[2]);
	e->path = nb_status_field(f[3], len[3]);
	e->other = nb_status_field(f[4], len[4]);
	return e->path && e->other ? 0 : -ENOMEM;
}

int nb_status_read_events(const char *mnt, struct nb_status_events *out)
{
	int r = 0;
	memset(out, 0, sizeof(*out));
	char *text = nb_status_fetch(mnt, NB_XATTR_EVENTS);
	if (!text)
		return errno ? -errno : -EIO;
	for (const char *line = text; *line && r == 0;) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		r = nb_status_event_line(out, line, n);
		line += n + (nl ? 1 : 0);
	}
	free(text);
	return r;
}

void nb_status_events_free(struct nb_status_events *ev)
{
	for (size_t i = 0; i < ev->n; i++) {
		free(ev->v[i].path);
		free(ev->v[i].other);
	}
	free(ev->v);
	memset(ev, 0, sizeof(*ev));
}
