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
	char *proxy;       /* "ProxyJump HOSTS" or "ProxyCommand CMD", or NULL */
	char *ciphers;     /* Ciphers, as ssh prints them (its defaults included) */
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

/* ssh's cipher list (comma-separated) with its AES-GCM ciphers moved to
 * the front, the others in their order: the same ciphers, the cheapest
 * first on a CPU with AES instructions. A list that has no AES-GCM or
 * does not start with ChaCha20-Poly1305 (ssh's own first choice, so a
 * list someone ordered by hand) gives NULL: keep it as it is.
 * malloc'd (the caller frees it) or NULL. */
char *nb_sshconfig_gcm_first(const char *ciphers);

#endif
