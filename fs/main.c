/*
 * nbfs: mount a remote directory whose writes are staged locally and
 * synced resumably over SSH; or query a mount (status, wait).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/cli.h"
#include "fs/cli_helper.h"

static void nb_usage(FILE *fp)
{
	fprintf(fp,
		"usage: nbfs [-f] [-o OPTIONS] REMOTE MOUNTPOINT\n"
		"       nbfs [-f] [-o OPTIONS] MOUNTPOINT      (REMOTE from the config file)\n"
		"       nbfs status [-w | --json | --follow [--json]] MOUNTPOINT\n"
		"       nbfs wait [--timeout SECONDS] PATH...\n"
		"       nbfs sync|retry|pin|unpin PATH...\n"
		"       nbfs pause|resume MOUNTPOINT\n"
		"\n"
		"REMOTE is [user@]host[:port]:DIR (over SSH; host may be a Host alias of\n"
		"~/.ssh/config) or local:DIR.\n"
		"\n"
		"Options (-o key=value,...):\n"
		"  port=N             SSH port (default 22)\n"
		"  identity=FILE      private key (the ssh-agent and ~/.ssh/id_* are tried too)\n"
		"  known_hosts=FILE   default ~/.ssh/known_hosts\n"
		"  accept_new_host    record an unknown host key instead of refusing\n"
		"  compress           SSH compression (for slow links)\n"
		"  ssh_config=FILE    ssh configuration for 'ssh -G' (default ~/.ssh/config; none: skip)\n"
		"  ssh=openssh        speak SSH through the installed ssh client (the default when\n"
		"                     there is one: all of ssh's configuration, faster ciphers)\n"
		"  ssh=libssh2        speak SSH inside nbfs (libssh2; no ProxyJump/ProxyCommand)\n"
		"  cache=DIR          staging and state (default ~/.cache/nbfs/<remote>)\n"
		"  server=PATH        the server program on the remote (default nbfs-server)\n"
		"  server_args=ARGS   extra arguments for it, space-separated\n"
		"  delay=SECONDS      quiet time after the last close before upload (default 2)\n"
		"  cache_max=SIZE     most the local cache may hold, e.g. 20G (default: 3/4 of free space)\n"
		"  bwlimit=RATE       most bytes per second each way, e.g. 500K or 5M (default: none)\n"
		"  timeout=SECONDS    a network step stalled this long counts as a cut (default 30)\n"
		"  config=FILE        default ~/.config/nbfs/config\n"
		"  debug              verbose log\n"
		"  nonempty           mount over a directory that is not empty\n"
		"  and the usual FUSE mount options (allow_other, ...); fstab's _netdev, nofail,\n"
		"  noauto, user, x-systemd.* and the like are ignored.\n"
		"  -f                 stay in the foreground (log to stderr)\n"
		"\n"
		"Sync state: getfattr -n user.nbfs.state FILE  (synced, pending, uploading, error)\n"
		"Controls:   setfattr -n user.nbfs.{sync,retry,pinned,paused} -v 1 PATH (nbfs sync ...)\n"
		"Also: mount -t fuse.nbfs REMOTE MOUNTPOINT -o OPTIONS, or an fstab line. See nbfs(1).\n");
}

/* Run as /sbin/mount.fuse.nbfs by mount(8). */
static int nb_main_helper(int argc, char **argv)
{
	char **v = NULL;
	int n = 0, fake = 0;
	int r = nb_cli_helper_args(argc, argv, &n, &v, &fake);
	if (r != 0)
		return r;
	r = fake ? 0 : nb_cli_mount(n, v);
	free(v);
	return r;
}

int main(int argc, char **argv)
{
	if (argc >= 1 && nb_cli_helper_invoked(argv[0]))
		return nb_main_helper(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "status"))
		return nb_cli_status(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "wait"))
		return nb_cli_wait(argc - 1, argv + 1);
	if (argc >= 2 && nb_cli_is_control(argv[1]))
		return nb_cli_control(argc - 1, argv + 1);
	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		nb_usage(stdout);
		return 0;
	}
	if (argc >= 2 && (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version"))) {
		printf("nbfs %s\n", NBFS_VERSION);
		return 0;
	}
	if (argc < 2) {
		nb_usage(stderr);
		return 2;
	}
	return nb_cli_mount(argc, argv);
}
