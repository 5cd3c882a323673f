/*
 * Permission checks: see perm.h.
 */
#include "fs/perm.h"

#include <errno.h>
#include <unistd.h>

int nb_perm_by_kernel(int multi_user, uid_t euid)
{
	return multi_user || euid != 0;
}

static int nb_perm_in_group(gid_t want, gid_t gid, const gid_t *groups, int ngroups)
{
	if (want == gid)
		return 1;
	for (int i = 0; i < ngroups; i++)
		if (groups[i] == want)
			return 1;
	return 0;
}

int nb_perm_allows(const struct stat *st, uid_t uid, gid_t gid, const gid_t *groups, int ngroups,
		   int mask)
{
	mask &= R_OK | W_OK | X_OK;
	if (uid == 0) {
		if ((mask & X_OK) && !S_ISDIR(st->st_mode) && !(st->st_mode & 0111))
			return -EACCES;
		return 0;
	}
	int shift = st->st_uid == uid					 ? 6
		    : nb_perm_in_group(st->st_gid, gid, groups, ngroups) ? 3
									 : 0;
	int bits = (int)(st->st_mode >> shift) & 07;
	return (bits & mask) == mask ? 0 : -EACCES;
}
