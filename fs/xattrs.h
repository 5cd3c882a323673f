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
#define NB_XATTR_EVENTS "user.nbfs.events"

/* getxattr semantics: with size 0 return the value's length; else copy
 * it into buf and return its length, or -ERANGE if it does not fit.
 * -ENODATA for an attribute without a value now. path is a wire path;
 * st describes it (from the view) and staged says if it is held
 * locally. */
int nb_xattr_get(struct nb_fs *fs, const char *path, const struct stat *st, int staged,
		 const char *name, char *buf, size_t bufsz);
/* listxattr semantics. */
int nb_xattr_list(struct nb_fs *fs, const char *path, int is_dir, char *buf, size_t bufsz);

#endif
