/*
 * nbfs as a mount helper: mount(8) and /etc/fstab run
 * /sbin/mount.fuse.nbfs, whose arguments are turned into an nbfs mount.
 * The contract is in cli_helper.h.
 */
#include "fs/cli_helper.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int nb_cli_helper_ignored(const char *opt)
{
	static const char *const names[] = {"_netdev", "nofail", "noauto", "auto", "user",
					    "users", "nouser", "owner", "group", "defaults"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(opt, names[i]))
			return 1;
	return !strncmp(opt, "x-", 2) || !strncmp(opt, "comment=", 8);
}

int nb_cli_helper_invoked(const char *argv0)
{
	const char *base = strrchr(argv0, '/');
	base = base ? base + 1 : argv0;
	return !strncmp(base, "mount.", 6);
}

int nb_cli_helper_args(int argc, char **argv, int *outc, char ***out, int *fake)
{
	char **v = calloc((size_t)argc + 4, sizeof(*v));
	char *pos[2] = {NULL, NULL};
	int npos = 0, n = 0;
	if (!v)
		return 2;
	*fake = 0;
	v[n++] = "nbfs";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || !a[1]) {
			if (npos == 2) {
				fprintf(stderr, "nbfs: unexpected argument '%s'\n", a);
				goto bad;
			}
			pos[npos++] = argv[i];
			continue;
		}
		if (!strcmp(a, "-o") || !strcmp(a, "-t") || !strcmp(a, "-N")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "nbfs: %s needs a value\n", a);
				goto bad;
			}
			if (a[1] == 'o') {
				v[n++] = "-o";
				v[n++] = argv[++i];
			} else if (a[1] == 'N') {
				fprintf(stderr, "nbfs: mounting in another namespace (-N) is not supported\n");
				goto bad;
			} else {
				i++; /* the type: fuse.nbfs */
			}
			continue;
		}
		/* -s (sloppy), -n (no mtab), -v (verbose), -f (fake), bundled or not. */
		for (const char *f = a + 1; *f; f++) {
			if (*f == 'f')
				*fake = 1;
			else if (!strchr("snv", *f)) {
				fprintf(stderr, "nbfs: unknown mount helper option '-%c'\n", *f);
				goto bad;
			}
		}
	}
	if (npos != 2) {
		fprintf(stderr, "usage: mount.fuse.nbfs REMOTE MOUNTPOINT [-o OPTIONS]\n");
		goto bad;
	}
	if (!strncmp(pos[0], "nbfs#", 5))
		pos[0] += 5;
	/* Sources and targets first: nbfs would read "-o x REMOTE" too,
	 * but this is how mount.fuse3 calls us. */
	memmove(v + 3, v + 1, (size_t)(n - 1) * sizeof(*v));
	v[1] = pos[0];
	v[2] = pos[1];
	n += 2;
	v[n] = NULL;
	*out = v;
	*outc = n;
	return 0;
bad:
	free(v);
	return 2;
}
