/*
 * Wire path names. A path on the wire names a file relative to the
 * server's root: components joined by single '/', no leading or trailing
 * '/', no empty, "." or ".." component, no NUL byte, each component at
 * most NB_NAME_MAX bytes, the whole at most NB_PATH_MAX bytes. The empty
 * string names the root itself. The top-level name ".nbfs" is reserved
 * for the server's own state and is never a valid user path.
 *
 * Why 32 KiB for a path: Linux sets no limit on how deep a tree goes
 * (PATH_MAX bounds one system call's argument, not a file's path), and
 * programs do reach files beyond 4 KiB through a deep working directory;
 * so a wire path may be longer than PATH_MAX (the client's staging tree
 * reaches such paths through wire/longpath.h, the server one component
 * at a time). Some cap is needed all the same: the server walks a path a
 * component at a time, so the cap bounds the work of one request (at
 * most 16,384 components); and two paths (RENAME) or a path and 512 KiB
 * of data (PUT_SMALL) must fit one frame (NB_FRAME_MAX, 1 MiB + 1 KiB)
 * with room to spare. 32 KiB is twice the depth the POSIX conformance
 * runs ask for (16 KiB) and keeps both well inside those bounds.
 *
 * A symlink's target is not a path in this sense: Linux refuses targets
 * of PATH_MAX bytes or more, so NB_LINK_MAX stays at PATH_MAX - 1.
 */
#ifndef NB_PATHNAME_H
#define NB_PATHNAME_H

#include <stddef.h>

#define NB_PATH_MAX (32 * 1024 - 1)
#define NB_LINK_MAX 4095
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
