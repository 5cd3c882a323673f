/*
 * Checks made before mounting (FUSE present, mount point usable), reported
 * in words that say what to do. The contract is in cli_preflight.h.
 */
#include "fs/cli_preflight.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wire/err.h"
#include "wire/xio.h"

#define NB_MOUNTINFO_MAX (4 * 1024 * 1024)

/* An executable regular file named prog in a standard directory or in
 * one of PATH's. libfuse looks for fusermount3 in its build-time
 * directory (/usr/bin on Debian) and then in PATH. */
static int nb_preflight_find(const char *prog)
{
	char path[PATH_MAX];
	const char *env = getenv("PATH");
	char dirs[8192];
	snprintf(dirs, sizeof(dirs), "/usr/bin:/bin:%s", env ? env : "");
	for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", d, prog);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0)
			return 1;
	}
	return 0;
}

int nb_cli_preflight_fuse(char *why, size_t whysz)
{
	struct stat st;
	if (stat("/dev/fuse", &st) != 0 || !S_ISCHR(st.st_mode)) {
		snprintf(why, whysz,
			 "FUSE is not available: /dev/fuse does not exist. Load the kernel module "
			 "(modprobe fuse) and install the fuse3 package (apt-get install fuse3); in a "
			 "container, start it with --device /dev/fuse --cap-add SYS_ADMIN");
		return NB_E_CONFIG;
	}
	/* root mounts by itself; everyone else goes through the setuid
	 * fusermount3. */
	if (geteuid() != 0 && !nb_preflight_find("fusermount3")) {
		snprintf(why, whysz,
			 "fusermount3 is not installed, and a user other than root needs it to "
			 "mount FUSE file systems: install the fuse3 package (apt-get install fuse3)");
		return NB_E_CONFIG;
	}
	return 0;
}

/* Undo mountinfo's octal escapes (\040 for a space, ...) in place. */
static void nb_preflight_unescape(char *s)
{
	char *o = s;
	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			*o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		} else {
			*o++ = *p;
		}
	}
	*o = 0;
}

int nb_cli_preflight_mounted(const char *mountinfo, size_t len, const char *path, char *type,
			     size_t typesz)
{
	int found = 0;
	size_t pos = 0;
	while (pos < len) {
		const char *nl = memchr(mountinfo + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (mountinfo + pos)) : len - pos;
		char line[8192];
		if (n < sizeof(line)) {
			memcpy(line, mountinfo + pos, n);
			line[n] = 0;
			/* id parent major:minor root MOUNTPOINT opts [optional...] - TYPE source super */
			char *f[64], *save = NULL;
			int k = 0;
			for (char *t = strtok_r(line, " ", &save); t && k < 64; t = strtok_r(NULL, " ", &save))
				f[k++] = t;
			for (int i = 6; i + 1 < k; i++) {
				if (strcmp(f[i], "-"))
					continue;
				nb_preflight_unescape(f[4]);
				if (!strcmp(f[4], path)) {
					/* The last mount on a path is the one seen. */
					snprintf(type, typesz, "%s", f[i + 1]);
					found = 1;
				}
				break;
			}
		}
		pos += n + (nl ? 1 : 0);
	}
	return found;
}

/* The type of what is mounted on abs, from /proc/self/mountinfo (whose
 * size stat does not tell: read until the end). */
static int nb_preflight_mount_type(const char *abs, char *type, size_t typesz)
{
	int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	size_t cap = 64 * 1024, len = 0;
	char *text = malloc(cap);
	while (text) {
		ssize_t k = nb_xio_read_full(fd, text + len, cap - len);
		if (k < 0 || (size_t)k < cap - len) {
			len = k < 0 ? 0 : len + (size_t)k;
			break;
		}
		len = cap;
		char *bigger = cap < NB_MOUNTINFO_MAX ? realloc(text, cap * 2) : NULL;
		if (!bigger) {
			free(text);
			text = NULL;
			break;
		}
		text = bigger;
		cap *= 2;
	}
	nb_xio_close(fd);
	int r = text ? nb_cli_preflight_mounted(text, len, abs, type, typesz) : 0;
	free(text);
	return r;
}

static int nb_preflight_empty(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -errno;
	int empty = 1;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			empty = 0;
			break;
		}
	}
	closedir(d);
	return empty;
}

int nb_cli_preflight_mountpoint(const char *mp, int nonempty_ok, char *why, size_t whysz)
{
	struct stat st;
	char abs[PATH_MAX], type[64];
	if (stat(mp, &st) != 0) {
		int e = errno;
		if (e == ENOENT)
			snprintf(why, whysz, "mount point %s does not exist: create it (mkdir -p %s)", mp, mp);
		else if (e == ENOTCONN)
			snprintf(why, whysz,
				 "mount point %s is a dead FUSE mount (the process that served it has "
				 "ended): unmount it with 'fusermount3 -u %s' (or 'umount -l %s' as root), "
				 "then mount again",
				 mp, mp, mp);
		else
			snprintf(why, whysz, "mount point %s: %s", mp, strerror(e));
		return NB_E_CONFIG;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why, whysz,
			 "mount point %s is not a directory: nbfs mounts on an empty directory; "
			 "create one (mkdir DIR) and mount there",
			 mp);
		return NB_E_CONFIG;
	}
	if (!realpath(mp, abs))
		snprintf(abs, sizeof(abs), "%s", mp);
	if (nb_preflight_mount_type(abs, type, sizeof(type))) {
		if (!strcmp(type, "autofs"))
			return 0;
		snprintf(why, whysz,
			 "mount point %s is busy: a %s file system is already mounted there; "
			 "unmount it first (%s %s) or choose another directory",
			 mp, type, !strncmp(type, "fuse", 4) ? "fusermount3 -u" : "umount", mp);
		return NB_E_CONFIG;
	}
	int empty = nb_preflight_empty(mp);
	if (empty < 0) {
		snprintf(why, whysz, "mount point %s: %s", mp, strerror(-empty));
		return NB_E_CONFIG;
	}
	if (!empty && !nonempty_ok) {
		snprintf(why, whysz,
			 "mount point %s is not empty: its files would be hidden while nbfs is "
			 "mounted. Use an empty directory, or mount with -o nonempty to hide them "
			 "anyway",
			 mp);
		return NB_E_CONFIG;
	}
	return 0;
}
