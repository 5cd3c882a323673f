/*
 * Mount options: from the command line (-o key=value), then the config
 * file for whatever the command line left unset, then defaults.
 */
#ifndef NB_OPTIONS_H
#define NB_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

struct nb_options {
	/* As given. */
	char *remote;      /* [user@]host[:port]:DIR or local:DIR */
	char *mountpoint;
	char *identity;
	int identity_only; /* identity came from the command line: the only key tried */
	char *known_hosts;
	char *cache;       /* staging and state directory */
	char *server;      /* server program (one path) */
	char *server_args; /* extra server arguments, space-separated */
	char *config;
	char *ssh_config;  /* for `ssh -F FILE -G host`; "none": do not ask ssh */
	int port;          /* -o port=, overrides the one in REMOTE */
	long delay_ms;     /* quiet time before upload; -1 = unset */
	int64_t cache_max; /* bytes; -1 = unset (a share of the free space) */
	int64_t bwlimit;   /* bytes per second each way; 0 = none; -1 = unset */
	long timeout_ms;   /* a network step that makes no progress for this long fails; -1 = unset */
	int debug;         /* -1 = unset */
	int accept_new_host; /* -1 = unset */
	int compress;      /* SSH compression; -1 = unset (ssh_config's Compression) */
	int nonempty;      /* mount over a directory that is not empty; -1 = unset */
	int openssh;       /* ssh=openssh 1, ssh=libssh2 0; -1 = unset (openssh if there is
			    * an ssh client in PATH, else libssh2) */
	int foreground;

	/* Parsed from remote by nb_options_finish. */
	int local;
	char *user;        /* NULL: login name */
	char *host;
	int host_port;     /* 0: default */
	char *dir;         /* remote root; "." = home directory */

	/* From the ssh client's configuration, when use_ssh_config. */
	int use_ssh_config; /* nb_options_finish asks `ssh -G host` (the mount does; tests need not) */
	char **identities;  /* keys to try after identity and the agent, unless identity_only;
			     * NULL-terminated */
	char *alias;        /* the host as REMOTE named it (ssh=openssh gives ssh this) */
	int known_hosts_given; /* known_hosts came from nbfs's options, not ssh's config */
	char *ssh_proxy;    /* "ProxyJump X" / "ProxyCommand Y" from ssh's config, or NULL */
	char *ciphers;      /* for ssh=openssh: ssh's ciphers with AES-GCM first (on a CPU
			     * with AES instructions), or NULL: ssh's own order */
};

struct nb_sshconfig;

void nb_options_init(struct nb_options *o);
void nb_options_free(struct nb_options *o);
/* Set one option by name. With overwrite 0, a value already set is kept
 * (config file below command line). 0 or NB_E_CONFIG with a message. */
int nb_options_set(struct nb_options *o, const char *key, const char *value, int overwrite,
		   char *err, size_t errsz);
/* Apply the config file (o->config, or ~/.config/nbfs/config if that
 * exists). Missing default file is not an error. */
int nb_options_load_config(struct nb_options *o, char *err, size_t errsz);
/* "10G", "500M", "1.5T", "4096": bytes (binary suffixes K M G T).
 * 0 or -EINVAL. */
int nb_options_parse_size(const char *s, int64_t *out);
/* A bandwidth: a size as above per second ("5M", "500K", "5M/s"), at
 * least 1K, or 0 (no limit). 0 or -EINVAL. */
int nb_options_parse_rate(const char *s, int64_t *out);
/* Parse `remote` into local/user/host/host_port/dir. */
int nb_options_parse_remote(const char *spec, struct nb_options *o, char *err, size_t errsz);
/* Apply what ssh's configuration says about o->host (c, from
 * nb_sshconfig_parse) where the command line and the config file left
 * things unset: the real host name, user, port, keys, known_hosts file,
 * compression, and accept_new_host for StrictHostKeyChecking accept-new.
 * Moves c's strings into o. 0 or -ENOMEM. */
int nb_options_merge_ssh(struct nb_options *o, struct nb_sshconfig *c);
/* The user's home directory: $HOME, else the password database's (mount(8)
 * runs helpers without HOME). Static storage or NULL. */
const char *nb_options_home(void);
/* Check what is required, parse the remote, fill defaults (cache dir
 * under ~/.cache/nbfs/, delay 2 s, server "nbfs-server"). With
 * use_ssh_config, an SSH host is looked up with `ssh -G` (-o ssh_config=
 * FILE is given to it as -F FILE; "none" skips it) before the defaults;
 * without an ssh client the host is used as it is. A failure of ssh
 * itself is an error for an explicit ssh_config, else a warning on
 * stderr. */
int nb_options_finish(struct nb_options *o, char *err, size_t errsz);

#endif
