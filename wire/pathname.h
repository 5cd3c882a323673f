/*
 * Wire path names. A path on the wire names a file relative to the
 * server's root: components joined by single '/', no leading or trailing
 * '/', no empty, "." or ".." component, no NUL byte, each component at
 * most NB_NAME_MAX bytes, the whole at most NB_PATH_MAX bytes. The empty
 * string names the root itself. The top-level name ".nbfs" is reserved
 * for the server's own state and is never a valid user path.
 */
#ifndef NB_PATHNAME_H
#define NB_PATHNAME_H

#include <stddef.h>

#define NB_PATH_MAX 4095
#define NB_NAME_MAX 255
#define NB_RESERVED_NAME ".nbfs"

/* 0 if p is a valid wire path, -EINVAL (malformed), -ENAMETOOLONG, or
 * -EPERM (reserved name). */
int nb_path_check(const char *p);
/* 0 if name is a valid single component (no '/'). */
int nb_path_check_name(const char *name, size_t len);
/* FUSE paths start with '/': "/a/b" -> "a/b", "/" -> "". Returns a
 * pointer into p. */
const char *nb_path_from_fuse(const char *p);
/* Length of the parent part of a wire path ("a/b/c" -> 3 for "a/b",
 * "a" -> 0). */
size_t nb_path_parent_len(const char *p);
/* True if p equals dir or lies below it ("" contains everything). */
int nb_path_is_within(const char *p, const char *dir);
/* True if the last component of p is one of libfuse's ".fuse_hidden..."
 * names (a file removed while open, kept until its last close): local
 * only, never listed or synced. */
int nb_path_is_fuse_hidden(const char *p);

#endif
