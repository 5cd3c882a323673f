/*
 * The user.nbfs.* extended attributes that show sync state:
 *
 *   user.nbfs.state     synced | pending | uploading | error, or
 *                       remote (on the server only, not held locally),
 *                       conflict (a copy kept beside a version changed
 *                       on the server; until the user touches it)
 *                       (a directory: synced only when all below it is)
 *   user.nbfs.progress  DONE/TOTAL in bytes
 *   user.nbfs.md5       hex MD5 of the content being synced (or synced)
 *   user.nbfs.error     the last error, while there is one
 *   user.nbfs.status    (mount root only) the report `nbfs status` reads
 *
 * and the controls, set with setfattr (value 1, or 0 to undo):
 *
 *   user.nbfs.sync      upload what waits at or below PATH now, without
 *                       its quiet time (write-only)
 *   user.nbfs.retry     retry what failed at or below PATH now (write-only)
 *   user.nbfs.pinned    1: keep PATH (a file, or a directory and all that
 *                       is ever below it) locally: never evicted, fetched
 *                       ahead; 0: unpin. Reads 1 when PATH or a directory
 *                       above it is pinned.
 *   user.nbfs.paused    (mount root only) 1: hold the sync of the mount;
 *                       0: resume
 *   user.nbfs.events    (mount root only, not listed) the last changes
 *                       made on the server, for `nbfs status --follow`
 *                       (format in fs/events.h)
 */
#ifndef NB_XATTRS_H
#define NB_XATTRS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "fs/fs.h"

#define NB_XATTR_PREFIX "user.nbfs."
#define NB_XATTR_STATE "user.nbfs.state"
#define NB_XATTR_PROGRESS "user.nbfs.progress"
#define NB_XATTR_MD5 "user.nbfs.md5"
#define NB_XATTR_ERROR "user.nbfs.error"
#define NB_XATTR_STATUS "user.nbfs.status"
#define NB_XATTR_SYNC "user.nbfs.sync"
#define NB_XATTR_RETRY "user.nbfs.retry"
#define NB_XATTR_PINNED "user.nbfs.pinned"
#define NB_XATTR_PAUSED "user.nbfs.paused"
#define NB_XATTR_EVENTS "user.nbfs.events"

/* getxattr semantics: with size 0 return the value's length; else copy
 * it into buf and return its length, or -ERANGE if it does not fit.
 * -ENODATA for an attribute without a value now. path is a wire path;
 * st describes it (from the view) and staged says if it is held
 * locally. */
int nb_xattr_get(struct nb_fs *fs, const char *path, const struct stat *st, int staged,
		 const char *name, char *buf, size_t bufsz);
/* setxattr semantics, for the controls above: 0, -EINVAL for a value
 * other than 1 or 0 (or a control set where it does not apply), -EPERM
 * for the read-only attributes, or the core's error. */
int nb_xattr_set(struct nb_fs *fs, const char *path, const struct stat *st, const char *name,
		 const char *value, size_t size);
/* listxattr semantics. */
int nb_xattr_list(struct nb_fs *fs, const char *path, int is_dir, char *buf, size_t bufsz);

#endif
