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
	char *known_hosts;
	char *cache;       /* staging and state directory */
	char *server;      /* server program (one path) */
	char *server_args; /* extra server arguments, space-separated */
	char *config;
	int port;          /* -o port=, overrides the one in REMOTE */
	long delay_ms;     /* quiet time before upload; -1 = unset */
	int64_t cache_max; /* bytes; -1 = unset (a share of the free space) */
	long timeout_ms;   /* a network step that makes no progress for this long fails; -1 = unset */
	int debug;         /* -1 = unset */
	int accept_new_host; /* -1 = unset */
	int foreground;

	/* Parsed from remote by nb_options_finish. */
	int local;
	char *user;        /* NULL: login name */
	char *host;
	int host_port;     /* 0: default */
	char *dir;         /* remote root; "." = home directory */
};

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
/* Parse `remote` into local/user/host/host_port/dir. */
int nb_options_parse_remote(const char *spec, struct nb_options *o, char *err, size_t errsz);
/* Check what is required, parse the remote, fill defaults (cache dir
 * under ~/.cache/nbfs/, delay 2 s, server "nbfs-server"). */
int nb_options_finish(struct nb_options *o, char *err, size_t errsz);

#endif
