/*
 * SETTIME: the mtime of a directory beneath the root, as the client
 * last saw it, set once the directory's contents are in place (nbfs
 * carries directory times as rsync -a does); and of a symlink, which
 * SYMLINK makes with the server's clock. Kept apart from
 * server/session.c, which only dispatches to it.
 */
#ifndef NB_SETTIME_H
#define NB_SETTIME_H

#include <stdint.h>

#include "server/root.h"
#include "server/session.h"
#include "wire/buf.h"

/* Set the mtime of the directory or symlink at path ("" is the root) to
 * mtime_s.mtime_ns, leaving its atime alone. Resolved beneath the root
 * without following a symlink anywhere: a symlink as the last component
 * gets the time itself, never its target. 0; -ENOTDIR if path is
 * neither, or a symlink is on the way; or -errno. */
int nb_settime_apply(const struct nb_root *root, const char *path, int64_t mtime_s,
		     uint32_t mtime_ns);
/* Handle a SETTIME request (payload after the id): flush the session's
 * batch first if a held file lies beneath path (its rename would change
 * the time again), or at or above it, apply, answer OK or ERROR. 0 to go on; < 0 ends the
 * session (a frame that does not decode, answered with ERROR; or the
 * output failed). */
int nb_settime_handle(struct nb_session *s, uint32_t id, struct nb_buf *payload);

#endif
