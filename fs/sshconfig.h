/*
 * What the installed OpenSSH client makes of a host name: `ssh -G HOST`
 * prints its whole resolved configuration (~/.ssh/config, then
 * /etc/ssh/ssh_config) as "key value" lines, so a Host alias works for
 * nbfs as it does for ssh, and we parse no ssh_config syntax ourselves.
 */
#ifndef NB_SSHCONFIG_H
#define NB_SSHCONFIG_H

#include <stddef.h>

#define NB_SSHCONFIG_MAX_IDS 16

struct nb_sshconfig {
	char *hostname;    /* HostName, or the alias itself */
	char *user;
	int port;          /* 0 if not printed */
	char *identities[NB_SSHCONFIG_MAX_IDS + 1]; /* IdentityFile, in order, NULL-terminated */
	char *known_hosts; /* the first UserKnownHostsFile */
	int compression;   /* Compression yes */
	int accept_new;    /* StrictHostKeyChecking accept-new */
};

/* Run `ssh [-F file] -G [-l user] [-p port] -- host` (file NULL: ssh's
 * own defaults) with a 10 s limit and put its output into *out (len
 * bytes, NUL-terminated; the caller frees it). 0; -ENOENT if there is no
 * ssh client; NB_E_CONFIG with ssh's complaint in why if it failed. */
int nb_sshconfig_query(const char *file, const char *host, const char *user, int port, char **out,
		       size_t *len, char *why, size_t whysz);

/* Parse `ssh -G` output (text, len bytes) into c, expanding a leading
 * "~/" in file names with home (may be NULL). 0 or -ENOMEM. Unknown keys
 * are ignored. Free c with nb_sshconfig_free. */
int nb_sshconfig_parse(const char *text, size_t len, const char *home, struct nb_sshconfig *c);
void nb_sshconfig_free(struct nb_sshconfig *c);

#endif
