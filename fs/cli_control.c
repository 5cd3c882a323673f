/*
 * nbfs sync|retry|pin|unpin PATH... and nbfs pause|resume MOUNTPOINT:
 * each sets the matching user.nbfs.* control attribute (fs/xattrs.h),
 * so they do exactly what setfattr does, and work on any path the user
 * can reach.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>

#include "fs/cli.h"
#include "fs/xattrs.h"

static const struct nb_control {
	const char *cmd, *attr, *value, *arg, *help;
	int root_only;
} nb_controls[] = {
	{"sync", NB_XATTR_SYNC, "1", "PATH...",
	 "Uploads what waits at or below each PATH now, without the quiet time.", 0},
	{"retry", NB_XATTR_RETRY, "1", "PATH...",
	 "Retries what failed at or below each PATH now (and reconnects at once if offline).", 0},
	{"pin", NB_XATTR_PINNED, "1", "PATH...",
	 "Keeps each PATH (a file, or a directory and all that is ever below it) held locally:\n"
	 "never evicted from the cache, and fetched ahead so that it is there offline.", 0},
	{"unpin", NB_XATTR_PINNED, "0", "PATH...",
	 "Undoes nbfs pin: the copies may be evicted again (pins below PATH go too).", 0},
	{"pause", NB_XATTR_PAUSED, "1", "MOUNTPOINT",
	 "Holds the sync of the mount: nothing more is sent until nbfs resume (uploads on\n"
	 "their way finish; opening a remote file still fetches it). Lasts until unmount.", 1},
	{"resume", NB_XATTR_PAUSED, "0", "MOUNTPOINT", "Lets a paused mount sync again.", 1},
};

int nb_cli_is_control(const char *cmd)
{
	for (size_t i = 0; i < sizeof(nb_controls) / sizeof(nb_controls[0]); i++)
		if (!strcmp(cmd, nb_controls[i].cmd))
			return 1;
	return 0;
}

static void nb_control_error(const struct nb_control *c, const char *path, int e)
{
	const char *why = strerror(e);
	if (e == ENOTSUP || e == ENODATA)
		why = "not in an nbfs mount";
	else if (e == EINVAL && c->root_only)
		why = "not the root of an nbfs mount";
	else if (e == EINVAL && c->value[0] == '1' && !strcmp(c->cmd, "pin"))
		why = "only files and directories can be pinned, and not the mount root itself "
		      "(pin what is in it)";
	else if (e == EBUSY && !strcmp(c->cmd, "unpin"))
		why = "a directory above it is pinned: unpin that one";
	fprintf(stderr, "nbfs %s: %s: %s\n", c->cmd, path, why);
}

int nb_cli_control(int argc, char **argv)
{
	const struct nb_control *c = NULL;
	for (size_t i = 0; i < sizeof(nb_controls) / sizeof(nb_controls[0]); i++)
		if (!strcmp(argv[0], nb_controls[i].cmd))
			c = &nb_controls[i];
	if (!c)
		return 2;
	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("usage: nbfs %s %s\n%s\nThe same as: setfattr -n %s -v %s %s\n", c->cmd, c->arg,
		       c->help, c->attr, c->value, c->root_only ? "MOUNTPOINT" : "PATH");
		return 0;
	}
	if (argc < 2 || (c->root_only && argc != 2)) {
		fprintf(stderr, "usage: nbfs %s %s\n", c->cmd, c->arg);
		return 2;
	}
	int rc = 0;
	for (int i = 1; i < argc; i++) {
		if (setxattr(argv[i], c->attr, c->value, 1, 0) != 0) {
			nb_control_error(c, argv[i], errno);
			rc = 1;
		}
	}
	return rc;
}
