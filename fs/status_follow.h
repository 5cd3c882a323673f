/*
 * `nbfs status --follow [--json] MOUNTPOINT`: a stream of changes, one
 * line each, until the mount goes away, SIGINT, SIGTERM or SIGHUP, or
 * the reader of stdout goes away (SIGPIPE is ignored for that).
 */
#ifndef NB_STATUS_FOLLOW_H
#define NB_STATUS_FOLLOW_H

/* Follow the mount at mnt, writing events to stdout (JSON lines with
 * json, else readable lines). Installs handlers for SIGINT, SIGTERM and
 * SIGHUP that end it. 0 when it ended as above (an "unmounted" event
 * written when the mount went away); -errno if the mount could not be
 * read at the start (nothing written), or -ENOMEM. */
int nb_status_follow(const char *mnt, int json);

#endif
