/*
 * The default way to reach a server: nbfs-server over an SSH exec channel
 * (libssh2 or the OpenSSH client), or as a local child process. The contract is in connect.h.
 */
#include "sync/connect.h"

#include <stdio.h>

#include "wire/err.h"

int nb_connect_default(void *arg, struct nb_transport **out, char *why, size_t whysz)
{
	const struct nb_connect_target *t = arg;
	char cmd[16384];
	int r = nb_transport_command(cmd, sizeof(cmd), t->server_cmd, t->server_args, t->remote_dir);
	if (r != 0) {
		snprintf(why, whysz, "remote directory name too long");
		return NB_E_CONFIG;
	}
	why[0] = 0;
	if (t->local)
		r = nb_transport_local_open(cmd, out);
	else if (t->ssh.openssh)
		r = nb_transport_openssh_open(&t->ssh, cmd, out, why, whysz);
	else
		r = nb_transport_ssh_open(&t->ssh, cmd, out, why, whysz);
	if (r != 0 && !why[0])
		snprintf(why, whysz, "%s", nb_strerror(r));
	return r;
}
