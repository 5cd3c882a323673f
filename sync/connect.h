/*
 * The default way to reach a server: run nbfs-server (with --root and
 * any extra arguments, every word quoted for the remote shell) through
 * the installed ssh client or over a libssh2 exec channel, or as a local
 * child process for local targets.
 * The engine takes any nb_core_connect_fn; tests give it an in-process
 * server instead.
 */
#ifndef NB_CONNECT_H
#define NB_CONNECT_H

#include <stddef.h>

#include "sync/transport.h"

struct nb_connect_target {
	int local;               /* a local child process instead of SSH */
	struct nb_ssh_opts ssh;  /* when !local */
	const char *remote_dir;  /* the server's root */
	const char *server_cmd;  /* the server program, e.g. "nbfs-server" */
	const char *server_args; /* extra arguments, space-separated, or NULL */
};

/* An nb_core_connect_fn: arg is a struct nb_connect_target. 0 with a
 * transport in *out; NB_E_CONFIG (the command line cannot be built),
 * NB_E_HOSTKEY / NB_E_AUTH (permanent), or a transient error, with the
 * reason in why. */
int nb_connect_default(void *arg, struct nb_transport **out, char *why, size_t whysz);

#endif
