/*
 * Permission checks: see perm.h.
 */
#include "fs/perm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/view.h"
#include "wire/pathname.h"

/* The kernel's mark on the open of a file to execute (__FMODE_EXEC in
 * the open flags FUSE passes on; no O_ flag has this bit). */
#define NB_FMODE_EXEC 040

enum { NB_GROUPS_MAX = 256 };

/* The caller of the current FUSE operation. */
struct nb_cred {
	uid_t uid;
	gid_t gid;
	gid_t groups[NB_GROUPS_MAX];
	int ngroups; /* -1: not asked yet (fuse_getgroups reads /proc) */
};

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

/* Does nbfs check for this caller? Fills c if so. */
static int nb_perm_caller(struct nb_fs *fs, struct nb_cred *c)
{
	const struct fuse_context *ctx = fuse_get_context();
	if (!fs->perm_self || !ctx || ctx->uid == 0)
		return 0;
	c->uid = ctx->uid;
	c->gid = ctx->gid;
	c->ngroups = -1;
	return 1;
}

int nb_perm_checking(struct nb_fs *fs)
{
	struct nb_cred c;
	return nb_perm_caller(fs, &c);
}

/* The caller's supplementary groups, into c. */
static void nb_perm_load_groups(struct nb_cred *c)
{
	int n = fuse_getgroups(NB_GROUPS_MAX, c->groups);
	c->ngroups = n < 0 ? 0 : n > NB_GROUPS_MAX ? NB_GROUPS_MAX : n;
}

static int nb_perm_cred_allows(struct nb_cred *c, const struct stat *st, int mask)
{
	/* Only a node neither owned nor of the primary group needs the
	 * supplementary groups. */
	if (c->ngroups < 0) {
		c->ngroups = 0;
		if (st->st_uid != c->uid && st->st_gid != c->gid)
			nb_perm_load_groups(c);
	}
	return nb_perm_allows(st, c->uid, c->gid, c->groups, c->ngroups, mask);
}

static int nb_perm_search_dir(struct nb_fs *fs, struct nb_cred *c, const char *dir)
{
	struct stat st;
	int staged;
	int r = nb_view_lookup(fs, dir, &st, &staged);
	if (r != 0)
		return r;
	return S_ISDIR(st.st_mode) ? nb_perm_cred_allows(c, &st, X_OK) : -ENOTDIR;
}

/* Search permission on every directory above wpath, the root first. */
static int nb_perm_search(struct nb_fs *fs, struct nb_cred *c, const char *wpath)
{
	if (!wpath[0])
		return 0; /* the root: nothing above it in the mount */
	int r = nb_perm_search_dir(fs, c, "");
	char *dir = r == 0 ? strdup(wpath) : NULL;
	if (r == 0 && !dir)
		return -ENOMEM;
	for (char *p = dir ? strchr(dir, '/') : NULL; r == 0 && p; p = strchr(p + 1, '/')) {
		*p = 0;
		r = nb_perm_search_dir(fs, c, dir);
		*p = '/';
	}
	free(dir);
	return r;
}

int nb_perm_path(struct nb_fs *fs, const char *wpath, int mask)
{
	struct nb_cred c;
	struct stat st;
	int staged, r;
	if (!nb_perm_caller(fs, &c))
		return 0;
	if ((r = nb_perm_search(fs, &c, wpath)) != 0 || !mask)
		return r;
	if ((r = nb_view_lookup(fs, wpath, &st, &staged)) != 0)
		return r;
	return nb_perm_cred_allows(&c, &st, mask);
}

int nb_perm_access(struct nb_fs *fs, const char *wpath, int mask)
{
	struct nb_cred c;
	struct stat st;
	int staged, r;
	int self = nb_perm_caller(fs, &c);
	if (self && (r = nb_perm_search(fs, &c, wpath)) != 0)
		return r;
	if ((r = nb_view_lookup(fs, wpath, &st, &staged)) != 0 || mask == F_OK)
		return r;
	return self ? nb_perm_cred_allows(&c, &st, mask) : nb_perm_allows(&st, 0, 0, NULL, 0, mask);
}

int nb_perm_name(struct nb_fs *fs, const char *wpath)
{
	struct nb_cred c;
	struct stat st;
	int staged, r;
	if (!nb_perm_caller(fs, &c))
		return 0;
	if (!wpath[0])
		return 0; /* the root is neither made nor removed: the operation says so */
	if ((r = nb_perm_search(fs, &c, wpath)) != 0)
		return r;
	size_t plen = nb_path_parent_len(wpath);
	char *dir = strndup(wpath, plen);
	if (!dir)
		return -ENOMEM;
	r = nb_view_lookup(fs, dir, &st, &staged);
	if (r == 0)
		r = nb_perm_cred_allows(&c, &st, W_OK | X_OK);
	free(dir);
	return r;
}

int nb_perm_open(struct nb_fs *fs, const char *wpath, int flags)
{
	int mask = (flags & O_ACCMODE) == O_WRONLY ? W_OK
		   : (flags & O_ACCMODE) == O_RDWR ? R_OK | W_OK
						   : R_OK;
	if (flags & O_TRUNC)
		mask |= W_OK;
	if (flags & NB_FMODE_EXEC)
		mask |= X_OK;
	return nb_perm_path(fs, wpath, mask);
}

/* Search above wpath (when given: not through an open file), then the
 * owner of st passes; anyone else gets what mask allows them, or -EPERM
 * when no mask would do. */
static int nb_perm_as_owner(struct nb_fs *fs, struct nb_cred *c, const char *wpath,
			    const struct stat *st, int mask)
{
	int r;
	if (wpath && (r = nb_perm_search(fs, c, wpath)) != 0)
		return r;
	if (st->st_uid == c->uid)
		return 0;
	return mask ? nb_perm_cred_allows(c, st, mask) : -EPERM;
}

int nb_perm_owner(struct nb_fs *fs, const char *wpath, const struct stat *st)
{
	struct nb_cred c;
	return nb_perm_caller(fs, &c) ? nb_perm_as_owner(fs, &c, wpath, st, 0) : 0;
}

int nb_perm_touch(struct nb_fs *fs, const char *wpath, const struct stat *st)
{
	struct nb_cred c;
	return nb_perm_caller(fs, &c) ? nb_perm_as_owner(fs, &c, wpath, st, W_OK) : 0;
}

int nb_perm_chown(struct nb_fs *fs, const char *wpath, const struct stat *st, uid_t uid, gid_t gid)
{
	struct nb_cred c;
	int r;
	if (!nb_perm_caller(fs, &c))
		return 0;
	if ((r = nb_perm_as_owner(fs, &c, wpath, st, 0)) != 0)
		return r;
	if (uid != (uid_t)-1 && uid != st->st_uid)
		return -EPERM;
	if (gid == (gid_t)-1 || gid == st->st_gid)
		return 0;
	nb_perm_load_groups(&c);
	return nb_perm_in_group(gid, c.gid, c.groups, c.ngroups) ? 0 : -EPERM;
}
