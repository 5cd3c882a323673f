/*
 * The last changes the sync thread made on the server, numbered, for
 * `nbfs status --follow`: a ring of lines that the mount root's
 * user.nbfs.events attribute shows. The status report says what is
 * still queued; this says how things left the queue, so a follower
 * polling both misses nothing that finished between two looks (as long
 * as the ring does not wrap meanwhile, which the numbers reveal).
 *
 * The attribute's text, one line each, fields separated by tabs and
 * escaped as in the status report (fs/status.h):
 *
 *   next\t<number the next event will get>
 *   <n>\t<event>\t<op>\t<path>\t<other>
 *
 * oldest first; <event> is synced (then <op> is upload, mkdir, symlink,
 * delete, rmdir or move, and <other> a move's source) or conflict (the
 * server's version stays at <path>; with <op> upload, ours was uploaded
 * as the copy <other>; with <op> delete or rmdir, our removal was not
 * made, since someone changed the file there or left files in the
 * directory, and <other> is empty).
 */
#ifndef NB_EVENTS_H
#define NB_EVENTS_H

#include <stddef.h>

#include "sync/core.h"

struct nb_events;

/* How many events a mount keeps: at four looks a second, a follower
 * misses none unless more than this many finish in a quarter second. */
#define NB_EVENTS_KEPT 1024

/* A ring that keeps the last cap events. NULL if out of memory. Free
 * with nb_events_free. */
struct nb_events *nb_events_new(size_t cap);
void nb_events_free(struct nb_events *ev);
/* Record what the sync thread did (its on_event callback; any thread).
 * Out of memory loses the event, and the numbers show the gap. */
void nb_events_add(struct nb_events *ev, const struct nb_core_event *e);
/* The text above into buf (at most size bytes, NUL-terminated): the
 * newest events that fit. Returns the length. */
size_t nb_events_render(struct nb_events *ev, char *buf, size_t size);

#endif
