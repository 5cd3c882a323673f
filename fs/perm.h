/*
 * Who may do what in the mount: who checks the permission bits, and the
 * check nbfs makes itself when it is the one.
 *
 * By default the kernel checks them (the default_permissions mount
 * option) against the modes and owners the mount shows. That has a
 * price: every file or directory made in a directory invalidates the
 * directory's attributes, and the kernel asks for them again (a GETATTR
 * round trip) at the next path walk through it, one of the four round
 * trips `cp` waits for per small file. A mount only root can enter (nbfs
 * run by root without allow_other or allow_root: the kernel lets no other
 * process in) has nothing for the bits to enforce, since root passes them
 * all, except that executing a file or access(X_OK) on anything but a
 * directory needs an execute bit. There nbfs mounts without
 * default_permissions; the kernel still checks the execute bit at exec,
 * and access(2) and chdir(2) are answered here (nb_perm_allows).
 */
#ifndef NB_PERM_H
#define NB_PERM_H

#include <sys/stat.h>
#include <sys/types.h>

/* 1 when the kernel must check permissions (default_permissions): a
 * mount that other users may enter (multi_user: allow_other or
 * allow_root given), or an nbfs not run by root (its user is bound by
 * the bits of its own files). */
int nb_perm_by_kernel(int multi_user, uid_t euid);

/* May a caller (uid, gid, supplementary groups) do mask (R_OK, W_OK,
 * X_OK, or F_OK alone) to a node with the attributes st? 0 or -EACCES,
 * by the rules of access(2): root passes every bit but X_OK on a
 * non-directory with no execute bit; anyone else is judged by the owner's
 * bits if they own it, else the group's if they are in its group (as
 * primary or supplementary group), else the others' bits. */
int nb_perm_allows(const struct stat *st, uid_t uid, gid_t gid, const gid_t *groups, int ngroups,
		   int mask);

#endif
