/*
 * Transports: a bidirectional byte stream to a running nbfs-server.
 * Three kinds: an SSH exec channel (libssh2), the installed OpenSSH
 * client over pipes, and a local child process over pipes (for tests and
 * local targets). Both run the same server command
 * line, built by nb_transport_command().
 */
#ifndef NB_TRANSPORT_H
#define NB_TRANSPORT_H

#include <stdint.h>

#include "wire/frame.h"

struct nb_transport {
	struct nb_stream stream; /* read/write the server's stdin/stdout */
	/* 1 if a read would return data without blocking, else 0. */
	int (*readable)(struct nb_transport *t);
	/* Keep an idle connection alive and notice a dead one: 0, or an
	 * error if the link is gone. May be NULL (nothing to do). */
	int (*keepalive)(struct nb_transport *t);
	/* Close the connection and free t. */
	void (*close)(struct nb_transport *t);
	/* Counters of payload bytes, for status and tests. */
	uint64_t bytes_in, bytes_out;
};

struct nb_ssh_opts {
	const char *host;
	int port;                 /* 0: 22 */
	const char *user;         /* NULL: login name */
	const char *identity;     /* private key file; NULL: agent, then ~/.ssh/id_* */
	const char *known_hosts;  /* NULL: ~/.ssh/known_hosts */
	int accept_new_host;      /* add an unknown host key instead of refusing */
	int timeout_ms;           /* per blocking operation */
	int compress;             /* ask for SSH compression (zlib) */
	/* Keys to try after identity and the agent (ssh's IdentityFile
	 * list); NULL-terminated, or NULL: without identity, then
	 * ~/.ssh/id_{ed25519,ecdsa,rsa}. */
	const char *const *identities;
	/* The installed OpenSSH client instead of libssh2
	 * (transport_openssh.c); only these fields, port, user, identity,
	 * known_hosts, accept_new_host, compress and timeout_ms apply, as
	 * ssh options given on its command line. */
	int openssh;
	const char *alias;       /* the host as the user named it, for ssh's Host
				  * blocks; NULL: host */
	const char *ssh_config;  /* ssh -F FILE; NULL: ssh's own */
	const char *ciphers;     /* ssh -o Ciphers=LIST; NULL: ssh's own */
	const char *ssh_program; /* NULL: "ssh" from PATH */
	const char *known_hosts_note; /* for messages when known_hosts is NULL: the
				       * file ssh reads first; NULL: ~/.ssh/known_hosts */
};

/* Build the server command line for a POSIX shell: the server program,
 * args split at spaces, "--root", dir; every word quoted, so no
 * character in any of them can run anything else (a leading "~/" is
 * left for the shell to expand). Into out (size outsz); 0 or
 * -ENAMETOOLONG. */
int nb_transport_command(char *out, size_t outsz, const char *server, const char *args,
			 const char *dir);
/* Quote s as one POSIX-shell word. 0 or -ENAMETOOLONG. */
int nb_shell_quote(char *out, size_t outsz, const char *s);

/* Run `command` through /bin/sh as a child process. 0 or -errno. */
int nb_transport_local_open(const char *command, struct nb_transport **out);
/* Connect, verify the host key, authenticate and exec `command`.
 * Returns 0, NB_E_HOSTKEY / NB_E_AUTH (permanent: a retry will not help;
 * the reason is in *why), or a transient error (NB_E_CONN, NB_E_SSH, ...).
 * why (size whysz) receives a human-readable explanation on failure. */
int nb_transport_ssh_open(const struct nb_ssh_opts *o, const char *command,
			  struct nb_transport **out, char *why, size_t whysz);
/* The same through the OpenSSH client: runs `ssh ... HOST command` and
 * returns once ssh has started the command (host key accepted,
 * authenticated), or when it exits first: then NB_E_HOSTKEY / NB_E_AUTH
 * (permanent), NB_E_CONN, or NB_E_TIMEOUT, with ssh's own last messages
 * in why; NB_E_CONFIG if there is no ssh client. */
int nb_transport_openssh_open(const struct nb_ssh_opts *o, const char *command,
			      struct nb_transport **out, char *why, size_t whysz);

/* ssh's command line for o (program: the client's path), ending with
 * "--", the host and command (not copied: it must outlive a). 0 or
 * -E2BIG. For tests. */
#define NB_OPENSSH_MAXARGS 40
struct nb_openssh_argv {
	char *argv[NB_OPENSSH_MAXARGS + 1]; /* NULL-terminated */
	int argc;
	char arena[8192];
	size_t used;
};
int nb_openssh_argv(const struct nb_ssh_opts *o, const char *program, const char *command,
		    struct nb_openssh_argv *a);
/* program's path: as it is if it has a '/', else the first executable
 * of that name in PATH, into out. 0 or -ENOENT. */
int nb_openssh_find(const char *program, char *out, size_t outsz);
/* What ssh's messages say about a failure to connect: NB_E_HOSTKEY,
 * NB_E_AUTH, or NB_E_CONN for anything else (worth another try). */
int nb_openssh_classify(const char *messages);

/* Global libssh2 init/exit, once per process. */
int nb_transport_ssh_global_init(void);

#endif
