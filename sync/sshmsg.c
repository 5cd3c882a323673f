/*
 * The texts of SSH refusals, shared by both transports. The contract is
 * in sshmsg.h.
 */
#include "sync/sshmsg.h"

#include <stdio.h>

void nb_sshmsg_hostport(char *out, size_t outsz, const char *host, int port)
{
	if (port <= 0 || port == 22)
		snprintf(out, outsz, "%s", host);
	else
		snprintf(out, outsz, "[%s]:%d", host, port);
}

void nb_sshmsg_unknown_host(char *why, size_t whysz, const char *hostport, const char *kh,
			    const char *keyname, const char *fp)
{
	snprintf(why, whysz,
		 "REFUSED: the host %s is not in %s (its %s key is %s). Check the fingerprint "
		 "with the server's administrator, then connect once with ssh to record it, or "
		 "mount with -o accept_new_host",
		 hostport, kh, keyname, fp);
}

void nb_sshmsg_changed_host(char *why, size_t whysz, const char *hostport, const char *kh,
			    const char *keyname, const char *fp)
{
	snprintf(why, whysz,
		 "REFUSED: the %s host key of %s has CHANGED (now %s). This may be an attack, or "
		 "the server was reinstalled. If you know why it changed, remove the old entry "
		 "with: ssh-keygen -f '%s' -R '%s'",
		 keyname, hostport, fp, kh, hostport);
}

void nb_sshmsg_auth(char *why, size_t whysz, const char *user, const char *host, int port,
		    const char *tried)
{
	char p[32] = "";
	if (port > 0 && port != 22)
		snprintf(p, sizeof(p), "-p %d ", port);
	snprintf(why, whysz,
		 "authentication as %s on %s failed: no key was accepted (tried %s). Add your "
		 "public key to ~/.ssh/authorized_keys of %s there (ssh-copy-id %s%s@%s does it), "
		 "or give the right private key with -o identity=FILE",
		 user, host, tried, user, p, user, host);
}
