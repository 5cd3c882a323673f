/*
 * What to do next, for the errors a first mount runs into: the sync engine
 * says what failed, this adds how to fix it. The contract is in
 * cli_hints.h.
 */
#include "fs/cli_hints.h"

#include <errno.h>
#include <stdio.h>

#include "sync/core.h"
#include "wire/err.h"

int nb_cli_probe_fatal(int r)
{
	return nb_core_is_fatal(r) || r == NB_E_EOF;
}

/* "ssh -p 2222 alice@host" (or without the parts that are defaults). */
static void nb_hint_ssh(const struct nb_options *o, char *out, size_t outsz)
{
	int port = o->port ? o->port : o->host_port;
	char p[32] = "";
	if (port && port != 22)
		snprintf(p, sizeof(p), "-p %d ", port);
	snprintf(out, outsz, "ssh %s%s%s%s", p, o->user ? o->user : "", o->user ? "@" : "", o->host);
}

void nb_cli_hint_probe(int r, const struct nb_options *o, char *out, size_t outsz)
{
	char ssh[600];
	out[0] = 0;
	if (!o->host && !o->local)
		return;
	/* The prefix of a command to run on the server. */
	if (o->local)
		ssh[0] = 0;
	else
		nb_hint_ssh(o, ssh, sizeof(ssh));
	const char *sp = o->local ? "" : " ";
	switch (r) {
	case -ENOENT:
		snprintf(out, outsz,
			 "Create the directory %s on the server (%s%smkdir -p '%s'), or correct the "
			 "directory in REMOTE",
			 o->dir, ssh, sp, o->dir);
		break;
	case -ENOTDIR:
		snprintf(out, outsz, "%s on the server is not a directory: correct the directory in REMOTE",
			 o->dir);
		break;
	case -EACCES:
	case -EPERM:
		snprintf(out, outsz,
			 "The server's user may not use %s: check its owner and permissions there, "
			 "or the --root of a forced command in authorized_keys",
			 o->dir);
		break;
	case NB_E_EOF:
		snprintf(out, outsz,
			 "See README, 'Setting up a real remote'; '%s%s%s --version' shows whether "
			 "it runs there",
			 ssh, sp, o->server ? o->server : "nbfs-server");
		break;
	case NB_E_CONN:
	case NB_E_TIMEOUT:
		if (!o->local)
			snprintf(out, outsz,
				 "Check the host name and port (REMOTE is [user@]host[:port]:DIR, or -o "
				 "port=N) and that sshd runs there: '%s true' should work",
				 ssh);
		break;
	default:
		break;
	}
}
