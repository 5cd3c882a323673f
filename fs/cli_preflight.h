/*
 * Checks made before mounting, so that the usual first-time problems are
 * reported in words that say what to do, instead of a bare errno from
 * deep inside libfuse: FUSE missing, a mount point that is missing, not a
 * directory, already mounted, dead or not empty.
 */
#ifndef NB_CLI_PREFLIGHT_H
#define NB_CLI_PREFLIGHT_H

#include <stddef.h>

/* 0 if FUSE can be used: /dev/fuse exists and, for a user other than
 * root, fusermount3 is installed. Else NB_E_CONFIG with the reason and
 * the remedy in why (size whysz). */
int nb_cli_preflight_fuse(char *why, size_t whysz);

/* 0 if mountpoint is a directory we can mount on: it exists, is not
 * already a mount point (nor a dead FUSE mount) and is empty, unless
 * nonempty_ok. An autofs mount point (x-systemd.automount) is accepted
 * as it is: looking into it would wait for the very mount we are about
 * to make. Else NB_E_CONFIG with the reason and the remedy in why. */
int nb_cli_preflight_mountpoint(const char *mountpoint, int nonempty_ok, char *why, size_t whysz);

/* The file system type mounted exactly on path according to mountinfo
 * (a /proc/self/mountinfo-format text of len bytes), copied into type
 * (size typesz): 1 if path is a mount point, 0 if not. */
int nb_cli_preflight_mounted(const char *mountinfo, size_t len, const char *path, char *type,
			     size_t typesz);

#endif
