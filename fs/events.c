/*
 * The ring of the last changes the sync thread made on the server,
 * numbered, behind user.nbfs.events. The contract is in events.h.
 */
#include "fs/events.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/status.h"

struct nb_events {
	pthread_mutex_t lock;
	char **lines; /* lines[n % cap]: event n, rendered with its newline */
	size_t cap;
	uint64_t next; /* the number of the next event; events start at 1 */
};

struct nb_events *nb_events_new(size_t cap)
{
	struct nb_events *ev = calloc(1, sizeof(*ev));
	if (!ev || cap == 0 || !(ev->lines = calloc(cap, sizeof(*ev->lines)))) {
		free(ev);
		return NULL;
	}
	pthread_mutex_init(&ev->lock, NULL);
	ev->cap = cap;
	ev->next = 1;
	return ev;
}

void nb_events_free(struct nb_events *ev)
{
	if (!ev)
		return;
	for (size_t i = 0; i < ev->cap; i++)
		free(ev->lines[i]);
	free(ev->lines);
	pthread_mutex_destroy(&ev->lock);
	free(ev);
}

static const char *nb_events_op(const struct nb_core_event *e)
{
	switch (e->what) {
	case NB_EV_REMOVED: return e->kind == NB_KIND_RMDIR ? "rmdir" : "delete";
	case NB_EV_MOVED: return "move";
	default: break;
	}
	switch (e->kind) {
	/* A conflict: kept on the server. */
	case NB_KIND_UNLINK: return "delete";
	case NB_KIND_RMDIR: return "rmdir";
	case NB_KIND_DIR: return "mkdir";
	case NB_KIND_SYMLINK: return "symlink";
	default: return "upload";
	}
}

/* s escaped as in the report, in a new string (NULL if out of memory). */
static char *nb_events_escaped(const char *s)
{
	size_t n = strlen(s) * 4 + 8;
	char *out = malloc(n);
	if (out)
		nb_textesc_escape(s, out, n);
	return out;
}

void nb_events_add(struct nb_events *ev, const struct nb_core_event *e)
{
	int other = e->path2 && (e->what == NB_EV_MOVED || e->what == NB_EV_CONFLICT);
	char *p = nb_events_escaped(e->path ? e->path : "");
	char *q = nb_events_escaped(other ? e->path2 : "");
	char *line = NULL;
	size_t len = p && q ? strlen(p) + strlen(q) + 64 : 0;
	pthread_mutex_lock(&ev->lock);
	uint64_t n = ev->next++;
	if (len && (line = malloc(len)) != NULL)
		snprintf(line, len, "%" PRIu64 "\t%s\t%s\t%s\t%s\n", n,
			 e->what == NB_EV_CONFLICT ? "conflict" : "synced", nb_events_op(e), p, q);
	free(ev->lines[n % ev->cap]);
	ev->lines[n % ev->cap] = line;
	pthread_mutex_unlock(&ev->lock);
	free(p);
	free(q);
}

size_t nb_events_render(struct nb_events *ev, char *buf, size_t size)
{
	if (size == 0)
		return 0;
	pthread_mutex_lock(&ev->lock);
	int k = snprintf(buf, size, "next\t%" PRIu64 "\n", ev->next);
	size_t len = k > 0 && (size_t)k < size ? (size_t)k : 0, room = size - len - 1;
	/* The newest that fit, oldest first. */
	uint64_t first = ev->next;
	while (first > 1 && ev->next - (first - 1) <= ev->cap) {
		const char *l = ev->lines[(first - 1) % ev->cap];
		size_t n = l ? strlen(l) : 0;
		if (n > room)
			break;
		room -= n;
		first--;
	}
	for (uint64_t i = first; i < ev->next; i++) {
		const char *l = ev->lines[i % ev->cap];
		size_t n = l ? strlen(l) : 0;
		memcpy(buf + len, l ? l : "", n);
		len += n;
	}
	buf[len] = 0;
	pthread_mutex_unlock(&ev->lock);
	return len;
}
