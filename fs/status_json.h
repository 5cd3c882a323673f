/*
 * `nbfs status --json`: the status report as one JSON object, and the
 * objects `nbfs status --follow --json` writes one per line. The format
 * is documented for users in docs/man/nbfs.1 (JSON OUTPUT) and the
 * README; strings follow fs/json.h's rule.
 */
#ifndef NB_STATUS_JSON_H
#define NB_STATUS_JSON_H

#include <time.h>

#include "fs/json.h"
#include "fs/status.h"

/* The format's version, "version" in every object: bumped only when a
 * field changes meaning or goes away (new fields may appear any time). */
#define NB_STATUS_JSON_VERSION 1

/* The whole report as one object (the mount point's name as given,
 * the wall-clock time now). */
void nb_status_json(struct nb_json *j, const struct nb_status *s, const char *mnt, time_t now);
/* The members that describe one entry (path, op, state, done, total,
 * rate, eta, age, error, and from for a move), into an object the
 * caller opened. */
void nb_status_json_entry(struct nb_json *j, const struct nb_status_entry *e);
/* The members that describe the connection: "connection" and
 * "detail". */
void nb_status_json_link(struct nb_json *j, const struct nb_status *s);
/* Seconds to go at rate for left bytes, or null when nothing moves. */
void nb_status_json_eta(struct nb_json *j, uint64_t left, double rate);

#endif
