/*
 * The set of pinned paths in memory: a pinned path and everything below
 * it is kept locally (never evicted, fetched ahead of time). A sorted
 * array of strings: pins are few (one per file or directory the user
 * pinned), looked up by binary search for a path and each of its
 * ancestors.
 *
 * Not thread-safe: the queue's lock covers it (the queue keeps it in
 * step with the pins table of the state database).
 */
#ifndef NB_PINS_H
#define NB_PINS_H

#include <stddef.h>

struct nb_pins {
	char **v; /* sorted by strcmp */
	size_t n, cap;
};

void nb_pins_init(struct nb_pins *p);
void nb_pins_free(struct nb_pins *p);
/* Pin path (a wire path, not ""). 0 (also if pinned already) or
 * -ENOMEM. */
int nb_pins_add(struct nb_pins *p, const char *path);
/* Unpin path and every pin below it. Returns how many went. */
size_t nb_pins_del_within(struct nb_pins *p, const char *path);
/* from was renamed to to: pins at and below to go, those at and below
 * from follow it. 0 or -ENOMEM (then the pins that could not be moved
 * are gone: the caller reloads them from the database). */
int nb_pins_move(struct nb_pins *p, const char *from, const char *to);
/* 1 if path itself is pinned. */
int nb_pins_has(const struct nb_pins *p, const char *path);
/* 1 if path or one of its ancestors is pinned. */
int nb_pins_covers(const struct nb_pins *p, const char *path);

#endif
