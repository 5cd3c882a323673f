/*
 * Who may do what in the mount: who checks the permission bits, and the
 * checks nbfs makes itself when it is the one.
 *
 * By default FUSE leaves them to the kernel (the default_permissions mount
 * option), which checks against the modes and owners the mount shows.
 * That has a price: every file or directory made in a directory
 * invalidates the directory's attributes, and the kernel asks for them
 * again (a GETATTR round trip) at the next path walk through it, one of
 * the four round trips `cp` waits for per small file. So a mount that
 * only its owner may enter (no allow_other, no allow_root: the kernel lets
 * no other process in) goes without default_permissions, and nbfs checks
 * itself:
 * - nbfs run by root: root passes the permission bits, except that
 *   executing a file or access(X_OK) on anything but a directory needs an
 *   execute bit; the kernel still checks that at exec, and access(2) and
 *   chdir(2) are answered here. Nothing else is checked;
 * - nbfs run by a user: that user is the only caller, judged as the
 *   kernel would (search permission on every directory of a path, write
 *   permission on the directory of a name made or removed, the open
 *   flags against the file's bits, ownership for chmod, chown and explicit
 *   times), by the rules of nb_perm_allows.
 * One difference remains: the kernel answers a path walk and stat(2)
 * from the names and attributes it caches (up to a second, the mount's
 * timeouts) without asking nbfs, so a directory's search bit taken away
 * binds such a walk up to a second later; every open, change and
 * listing is checked at once.
 * A mount other users may enter keeps default_permissions: there the
 * kernel checks, and these functions return 0.
 */
#ifndef NB_PERM_H
#define NB_PERM_H

#include <sys/stat.h>
#include <sys/types.h>

#include "fs/fs.h"

/* May a caller (uid, gid, supplementary groups) do mask (R_OK, W_OK,
 * X_OK, or F_OK alone) to a node with the attributes st? 0 or -EACCES,
 * by the rules of access(2): root passes every bit but X_OK on a
 * non-directory with no execute bit; anyone else is judged by the owner's
 * bits if they own it, else the group's if they are in its group (as
 * primary or supplementary group), else the others' bits. */
int nb_perm_allows(const struct stat *st, uid_t uid, gid_t gid, const gid_t *groups, int ngroups,
		   int mask);

/* Does nbfs check the calling process (no default_permissions, not
 * root)? For an operation that has to look something up first. */
int nb_perm_checking(struct nb_fs *fs);
/* The checks of the FUSE operations, for the calling process; each is 0
 * when nbfs does not check (the kernel does, or the caller is root), else
 * 0 or -errno (-EACCES, -EPERM; -ENOENT or -ENOTDIR for a missing
 * directory on the way).
 * wpath: search permission on every directory above it, then mask
 * (R_OK, W_OK, X_OK; 0: nothing more, and a missing wpath is left to the
 * operation) on wpath itself. */
int nb_perm_path(struct nb_fs *fs, const char *wpath, int mask);
/* access(2) and chdir(2) of wpath: as nb_perm_path, and for root too
 * (its X_OK rule); F_OK: only whether it exists. */
int nb_perm_access(struct nb_fs *fs, const char *wpath, int mask);
/* A name to make (create, mkdir, symlink, mknod, a rename's target) or
 * remove (unlink, rmdir, a rename's source): search above it, and write
 * and search on its directory. (A name made that exists already, or one
 * removed that does not, the kernel answers itself from its lookup,
 * EEXIST or ENOENT, before it asks.) */
int nb_perm_name(struct nb_fs *fs, const char *wpath);
/* open(2) of wpath with flags: read, write (O_WRONLY, O_RDWR, O_TRUNC)
 * or execute permission as they ask. */
int nb_perm_open(struct nb_fs *fs, const char *wpath, int flags);
/* A change of mode or explicit times of the node st (at wpath, or NULL
 * through an open file): only its owner (-EPERM). */
int nb_perm_owner(struct nb_fs *fs, const char *wpath, const struct stat *st);
/* utimensat(2) setting both times to now: its owner, or anyone who may
 * write it (-EACCES). */
int nb_perm_touch(struct nb_fs *fs, const char *wpath, const struct stat *st);
/* chown(2) of the node st to uid, gid ((uid_t)-1, (gid_t)-1: unchanged):
 * its owner, keeping the owner and giving a group of their own (-EPERM). */
int nb_perm_chown(struct nb_fs *fs, const char *wpath, const struct stat *st, uid_t uid, gid_t gid);

#endif
