/*
 * The words nbfs uses for the SSH failures a first mount meets (an
 * unknown or changed host key, no key accepted), one text for both
 * transports: each says what happened and what to do next.
 */
#ifndef NB_SSHMSG_H
#define NB_SSHMSG_H

#include <stddef.h>

/* host as known_hosts names it: "host" on port 22, else "[host]:port". */
void nb_sshmsg_hostport(char *out, size_t outsz, const char *host, int port);
/* The host (hostport) is not in known_hosts file kh; its key: type name
 * ("ED25519") and fingerprint ("SHA256:..."). */
void nb_sshmsg_unknown_host(char *why, size_t whysz, const char *hostport, const char *kh,
			    const char *keyname, const char *fp);
/* kh holds another key for hostport than the one it showed. */
void nb_sshmsg_changed_host(char *why, size_t whysz, const char *hostport, const char *kh,
			    const char *keyname, const char *fp);
/* No key was accepted for user on host:port; tried lists what was
 * offered ("KEY, the ssh-agent and ~/.ssh/id_*"). */
void nb_sshmsg_auth(char *why, size_t whysz, const char *user, const char *host, int port,
		    const char *tried);

#endif
