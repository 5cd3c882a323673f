/*
 * nbfs as a mount helper: mount(8) runs /sbin/mount.fuse.nbfs (a link to
 * nbfs) as `mount.fuse.nbfs SOURCE DIR [-sfnv] [-N NS] [-o OPTS] [-t TYPE]`
 * for `mount -t fuse.nbfs` and fstab lines; without that link it runs
 * mount.fuse3, which runs `nbfs SOURCE DIR -o OPTS`. Either way the
 * options are fstab's, with some that are meant for mount(8) and systemd.
 */
#ifndef NB_CLI_HELPER_H
#define NB_CLI_HELPER_H

/* 1 if -o opt is one of fstab's options for mount(8) or systemd that
 * nbfs and FUSE must ignore (_netdev, nofail, noauto, auto, user, users,
 * nouser, owner, group, defaults, comment=..., x-...), else 0. */
int nb_cli_helper_ignored(const char *opt);

/* 1 if argv[0] names a mount helper (its base name starts with "mount."). */
int nb_cli_helper_invoked(const char *argv0);

/* Turn a mount helper's arguments into nbfs's own: "nbfs SOURCE DIR
 * [-o OPTS]", SOURCE without a "nbfs#" prefix. *out (argc in *outc)
 * points into argv, and the array is the caller's to free. *fake is set
 * for -f (mount -f: do everything but the mount). 0, or 2 after printing
 * what is wrong. */
int nb_cli_helper_args(int argc, char **argv, int *outc, char ***out, int *fake);

#endif
