/*
 * The SSH transport: libssh2 over a TCP socket, host key check,
 * authentication, and an exec channel to nbfs-server.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libssh2.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wire/err.h"
#include "wire/log.h"
#include "sync/sshmsg.h"
#include "sync/transport.h"
#include "wire/xio.h"

#define NB_SSH_WINDOW (8 * 1024 * 1024)
#define NB_SSH_PENDING (64 * 1024)

struct nb_ssh {
	struct nb_transport t;
	int sock;
	LIBSSH2_SESSION *session;
	LIBSSH2_CHANNEL *channel;
	/* Bytes taken off the channel by readable() and not yet read. */
	char pending[NB_SSH_PENDING];
	size_t pending_off, pending_len;
	int eof;
	int dead; /* a step failed: the peer is gone or stalled */
};

int nb_transport_ssh_global_init(void)
{
	return libssh2_init(0) == 0 ? 0 : NB_E_SSH;
}

static void nb_why(char *why, size_t whysz, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void nb_why(char *why, size_t whysz, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, whysz, fmt, ap);
	va_end(ap);
}

static const char *nb_ssh_last_error(LIBSSH2_SESSION *s)
{
	char *msg = NULL;
	libssh2_session_last_error(s, &msg, NULL, 0);
	return msg ? msg : "unknown";
}

static int nb_ssh_map(int rc)
{
	if (rc == LIBSSH2_ERROR_TIMEOUT)
		return NB_E_TIMEOUT;
	if (rc == LIBSSH2_ERROR_SOCKET_RECV || rc == LIBSSH2_ERROR_SOCKET_SEND ||
	    rc == LIBSSH2_ERROR_SOCKET_DISCONNECT)
		return NB_E_EOF;
	return NB_E_SSH;
}

/* Connect a TCP socket within timeout_ms and set the options that let a
 * dead peer be noticed: keepalive probes and a user timeout on unacked
 * data. Returns the socket or a negative code. */
static int nb_ssh_connect_tcp(const char *host, int port, int timeout_ms, char *why, size_t whysz)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	char portstr[16];
	snprintf(portstr, sizeof(portstr), "%d", port);
	int rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc != 0) {
		nb_why(why, whysz, "cannot resolve %s: %s", host, gai_strerror(rc));
		return NB_E_CONN;
	}
	int sock = -1, err = ECONNREFUSED;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		sock = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			      ai->ai_protocol);
		if (sock < 0) {
			err = errno;
			continue;
		}
		if (connect(sock, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			struct pollfd p = {.fd = sock, .events = POLLOUT};
			int soerr = 0;
			socklen_t len = sizeof(soerr);
			if (poll(&p, 1, timeout_ms) == 1 &&
			    getsockopt(sock, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr == 0)
				break;
			err = soerr ? soerr : ETIMEDOUT;
		} else {
			err = errno;
		}
		nb_xio_close(sock);
		sock = -1;
	}
	freeaddrinfo(res);
	if (sock < 0) {
		nb_why(why, whysz, "cannot connect to %s port %d: %s", host, port, strerror(err));
		return NB_E_CONN;
	}
	int fl = fcntl(sock, F_GETFL);
	fcntl(sock, F_SETFL, fl & ~O_NONBLOCK);
	/* A peer that stops acknowledging is given up after the same
	 * timeout as a stalled SSH step. */
	int one = 1, idle = 15, intvl = 5, cnt = 3;
	unsigned int user_timeout = (unsigned int)timeout_ms;
	setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(sock, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(sock, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(sock, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(sock, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	setsockopt(sock, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof(user_timeout));
	return sock;
}

static int nb_ssh_knownhost_type(int hostkey_type)
{
	switch (hostkey_type) {
	case LIBSSH2_HOSTKEY_TYPE_RSA: return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
	case LIBSSH2_HOSTKEY_TYPE_DSS: return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
	case LIBSSH2_HOSTKEY_TYPE_ED25519: return LIBSSH2_KNOWNHOST_KEY_ED25519;
	default: return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
	}
}

static const char *nb_ssh_key_name(int hostkey_type)
{
	switch (hostkey_type) {
	case LIBSSH2_HOSTKEY_TYPE_RSA: return "RSA";
	case LIBSSH2_HOSTKEY_TYPE_DSS: return "DSA";
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: return "ECDSA";
	case LIBSSH2_HOSTKEY_TYPE_ED25519: return "ED25519";
	default: return "unknown";
	}
}

/* "SHA256:<base64 without padding>", as ssh prints it. */
static void nb_ssh_fingerprint(LIBSSH2_SESSION *s, char *out, size_t outsz)
{
	const unsigned char *h = (const unsigned char *)libssh2_hostkey_hash(s, LIBSSH2_HOSTKEY_HASH_SHA256);
	unsigned char b64[64];
	if (!h) {
		snprintf(out, outsz, "(no fingerprint)");
		return;
	}
	int n = EVP_EncodeBlock(b64, h, 32);
	while (n > 0 && b64[n - 1] == '=')
		b64[--n] = 0;
	snprintf(out, outsz, "SHA256:%s", b64);
}

/* Nothing is sent to the server (no user name, no key) before this
 * check has passed. */
static int nb_ssh_check_hostkey(LIBSSH2_SESSION *s, const struct nb_ssh_opts *o, const char *kh_path,
				char *why, size_t whysz)
{
	size_t keylen;
	int keytype;
	const char *key = libssh2_session_hostkey(s, &keylen, &keytype);
	char fp[128], hostport[300];
	int r = NB_E_HOSTKEY;
	if (!key) {
		nb_why(why, whysz, "server sent no host key");
		return NB_E_HOSTKEY;
	}
	nb_ssh_fingerprint(s, fp, sizeof(fp));
	nb_sshmsg_hostport(hostport, sizeof(hostport), o->host, o->port);

	LIBSSH2_KNOWNHOSTS *kh = libssh2_knownhost_init(s);
	if (!kh) {
		nb_why(why, whysz, "out of memory");
		return -ENOMEM;
	}
	struct stat st;
	if (stat(kh_path, &st) == 0 &&
	    libssh2_knownhost_readfile(kh, kh_path, LIBSSH2_KNOWNHOST_FILE_OPENSSH) < 0)
		nb_warn("%s: some lines could not be parsed: %s", kh_path, nb_ssh_last_error(s));
	struct libssh2_knownhost *found = NULL;
	int typemask = LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
		       nb_ssh_knownhost_type(keytype);
	int check = libssh2_knownhost_checkp(kh, o->host, o->port, key, keylen, typemask, &found);
	switch (check) {
	case LIBSSH2_KNOWNHOST_CHECK_MATCH:
		r = 0;
		break;
	case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
		nb_sshmsg_changed_host(why, whysz, hostport, kh_path, nb_ssh_key_name(keytype), fp);
		break;
	case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
		if (!o->accept_new_host) {
			nb_sshmsg_unknown_host(why, whysz, hostport, kh_path, nb_ssh_key_name(keytype),
					       fp);
			break;
		}
		{
			char line[8192];
			size_t linelen = 0;
			struct libssh2_knownhost *added = NULL;
			if (libssh2_knownhost_addc(kh, hostport, NULL, key, keylen, NULL, 0,
						   LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
							   nb_ssh_knownhost_type(keytype),
						   &added) != 0 ||
			    libssh2_knownhost_writeline(kh, added, line, sizeof(line), &linelen,
							LIBSSH2_KNOWNHOST_FILE_OPENSSH) != 0) {
				nb_why(why, whysz, "cannot record host key: %s", nb_ssh_last_error(s));
				break;
			}
			int fd = open(kh_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
			if (fd < 0 || nb_xio_write_full(fd, line, linelen) != 0) {
				nb_why(why, whysz, "cannot write %s: %s", kh_path, strerror(errno));
				nb_xio_close(fd);
				break;
			}
			nb_xio_close(fd);
			nb_warn("added the %s host key %s of %s to %s", nb_ssh_key_name(keytype), fp,
				hostport, kh_path);
			r = 0;
		}
		break;
	default:
		nb_why(why, whysz, "cannot check the host key of %s: %s", hostport,
		       nb_ssh_last_error(s));
		break;
	}
	libssh2_knownhost_free(kh);
	return r;
}

static int nb_ssh_auth_agent(LIBSSH2_SESSION *s, const char *user)
{
	if (!getenv("SSH_AUTH_SOCK"))
		return -1;
	LIBSSH2_AGENT *agent = libssh2_agent_init(s);
	int ok = -1;
	if (!agent)
		return -1;
	if (libssh2_agent_connect(agent) == 0 && libssh2_agent_list_identities(agent) == 0) {
		struct libssh2_agent_publickey *id = NULL, *prev = NULL;
		while (libssh2_agent_get_identity(agent, &id, prev) == 0) {
			if (libssh2_agent_userauth(agent, user, id) == 0) {
				ok = 0;
				break;
			}
			prev = id;
		}
		libssh2_agent_disconnect(agent);
	}
	libssh2_agent_free(agent);
	return ok;
}

static int nb_ssh_auth(LIBSSH2_SESSION *s, const struct nb_ssh_opts *o, const char *user,
		       const char *home, char *why, size_t whysz)
{
	char *methods = libssh2_userauth_list(s, user, (unsigned int)strlen(user));
	if (!methods) {
		if (libssh2_userauth_authenticated(s))
			return 0;
		nb_why(why, whysz, "authentication: %s", nb_ssh_last_error(s));
		return NB_E_AUTH;
	}
	if (!strstr(methods, "publickey")) {
		nb_why(why, whysz,
		       "server offers no public key authentication (only: %s); nbfs logs in with "
		       "keys only: enable PubkeyAuthentication in the server's sshd_config",
		       methods);
		return NB_E_AUTH;
	}
	if (o->identity) {
		if (libssh2_userauth_publickey_fromfile(s, user, NULL, o->identity, NULL) == 0)
			return 0;
		nb_warn("key %s not accepted: %s", o->identity, nb_ssh_last_error(s));
	}
	if (nb_ssh_auth_agent(s, user) == 0)
		return 0;
	if (o->identities) {
		for (size_t i = 0; o->identities[i]; i++) {
			if (libssh2_userauth_publickey_fromfile(s, user, NULL, o->identities[i], NULL) == 0)
				return 0;
			nb_debug("key %s not accepted: %s", o->identities[i], nb_ssh_last_error(s));
		}
	} else if (!o->identity) {
		static const char *const defaults[] = {"id_ed25519", "id_ecdsa", "id_rsa"};
		for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
			char path[4096];
			snprintf(path, sizeof(path), "%s/.ssh/%s", home, defaults[i]);
			if (access(path, R_OK) != 0)
				continue;
			if (libssh2_userauth_publickey_fromfile(s, user, NULL, path, NULL) == 0)
				return 0;
			nb_debug("key %s not accepted: %s", path, nb_ssh_last_error(s));
		}
	}
	char tried[8192];
	snprintf(tried, sizeof(tried), "%s%sthe ssh-agent%s", o->identity ? o->identity : "",
		 o->identity ? ", " : "",
		 o->identities && o->identities[0] ? " and the IdentityFile keys of ssh_config"
		 : o->identity ? "" : " and ~/.ssh/id_*");
	nb_sshmsg_auth(why, whysz, user, o->host, o->port, tried);
	return NB_E_AUTH;
}

/* Set a method preference, keeping only the names this libssh2 knows
 * (1.10 mishandles unknown names in the list). */
static void nb_ssh_prefer(LIBSSH2_SESSION *s, int method, const char *wanted)
{
	const char **algs = NULL;
	int n = libssh2_session_supported_algs(s, method, &algs);
	char list[512] = "";
	size_t len = 0;
	for (const char *w = wanted; *w && n > 0;) {
		size_t k = strcspn(w, ",");
		for (int i = 0; i < n; i++) {
			if (strlen(algs[i]) == k && strncmp(algs[i], w, k) == 0 &&
			    len + k + 2 < sizeof(list)) {
				if (len)
					list[len++] = ',';
				memcpy(list + len, w, k);
				len += k;
				list[len] = 0;
				break;
			}
		}
		w += k + (w[k] == ',');
	}
	if (algs)
		libssh2_free(s, algs);
	if (len)
		libssh2_session_method_pref(s, method, list);
}

static ssize_t nb_ssh_read(void *ctx, void *buf, size_t n)
{
	struct nb_ssh *c = ctx;
	if (c->pending_len > c->pending_off) {
		size_t k = c->pending_len - c->pending_off;
		if (k > n)
			k = n;
		memcpy(buf, c->pending + c->pending_off, k);
		c->pending_off += k;
		return (ssize_t)k;
	}
	if (c->eof)
		return 0;
	for (;;) {
		ssize_t k = libssh2_channel_read(c->channel, buf, n);
		if (k > 0) {
			c->t.bytes_in += (uint64_t)k;
			return k;
		}
		if (k == 0) {
			if (libssh2_channel_eof(c->channel)) {
				c->eof = 1;
				int status = libssh2_channel_get_exit_status(c->channel);
				if (status == 127)
					nb_err("the server command was not found on the remote host "
					       "(exit 127): install nbfs-server there or give its path "
					       "with -o server=PATH");
				return 0;
			}
			continue;
		}
		if (k == LIBSSH2_ERROR_EAGAIN)
			continue;
		nb_debug("channel read: %s", nb_ssh_last_error(c->session));
		c->dead = 1;
		return nb_ssh_map((int)k);
	}
}

static int nb_ssh_write(void *ctx, const void *buf, size_t n)
{
	struct nb_ssh *c = ctx;
	size_t done = 0;
	while (done < n) {
		ssize_t k = libssh2_channel_write(c->channel, (const char *)buf + done, n - done);
		if (k == LIBSSH2_ERROR_EAGAIN)
			continue;
		if (k < 0) {
			nb_debug("channel write: %s", nb_ssh_last_error(c->session));
			c->dead = 1;
			return nb_ssh_map((int)k);
		}
		done += (size_t)k;
	}
	c->t.bytes_out += n;
	return 0;
}

static int nb_ssh_readable(struct nb_transport *t)
{
	struct nb_ssh *c = (struct nb_ssh *)t;
	if (c->pending_len > c->pending_off || c->eof)
		return 1;
	/* Take whatever has arrived without waiting. */
	libssh2_session_set_blocking(c->session, 0);
	ssize_t k = libssh2_channel_read(c->channel, c->pending, sizeof(c->pending));
	libssh2_session_set_blocking(c->session, 1);
	if (k > 0) {
		c->pending_off = 0;
		c->pending_len = (size_t)k;
		c->t.bytes_in += (uint64_t)k;
		return 1;
	}
	/* An error or end of stream also makes the next read return at once. */
	return k == LIBSSH2_ERROR_EAGAIN ? 0 : (k == 0 ? libssh2_channel_eof(c->channel) : 1);
}

/* Send a keepalive and process whatever the server sent meanwhile (its
 * own keepalive probes need answers, or sshd drops an idle client). */
static int nb_ssh_keepalive(struct nb_transport *t)
{
	struct nb_ssh *c = (struct nb_ssh *)t;
	int next = 0;
	if (c->eof)
		return NB_E_EOF;
	libssh2_session_set_blocking(c->session, 0);
	int rc = libssh2_keepalive_send(c->session, &next);
	libssh2_session_set_blocking(c->session, 1);
	if (rc != 0 && rc != LIBSSH2_ERROR_EAGAIN)
		return nb_ssh_map(rc);
	nb_ssh_readable(t);
	return c->eof ? NB_E_EOF : 0;
}

static void nb_ssh_close(struct nb_transport *t)
{
	struct nb_ssh *c = (struct nb_ssh *)t;
	if (c->session) {
		/* Do not wait long for a peer that may be gone; if the link
		 * is known dead, do not wait at all (and still free
		 * everything). */
		libssh2_session_set_timeout(c->session, 2000);
		if (c->dead && c->sock >= 0)
			shutdown(c->sock, SHUT_RDWR);
		if (c->channel) {
			libssh2_channel_send_eof(c->channel);
			libssh2_channel_free(c->channel);
		}
		libssh2_session_disconnect(c->session, "nbfs closing");
		libssh2_session_free(c->session);
	}
	nb_xio_close(c->sock);
	free(c);
}

int nb_transport_ssh_open(const struct nb_ssh_opts *o, const char *command,
			  struct nb_transport **out, char *why, size_t whysz)
{
	struct nb_ssh *c = calloc(1, sizeof(*c));
	int r, rc;
	if (!c)
		return -ENOMEM;
	why[0] = 0;
	c->sock = -1;
	c->t.stream = (struct nb_stream){nb_ssh_read, nb_ssh_write, c};
	c->t.readable = nb_ssh_readable;
	c->t.keepalive = nb_ssh_keepalive;
	c->t.close = nb_ssh_close;

	struct passwd pw, *pwp = NULL;
	char pwbuf[4096];
	getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &pwp);
	const char *home = getenv("HOME") ? getenv("HOME") : (pwp ? pwp->pw_dir : "/");
	const char *user = o->user ? o->user : (pwp ? pwp->pw_name : "root");
	char kh_default[4096];
	snprintf(kh_default, sizeof(kh_default), "%s/.ssh/known_hosts", home);
	const char *kh = o->known_hosts ? o->known_hosts : kh_default;
	struct nb_ssh_opts opts = *o;
	if (opts.port == 0)
		opts.port = 22;
	int timeout = o->timeout_ms > 0 ? o->timeout_ms : 30000;

	if ((r = c->sock = nb_ssh_connect_tcp(opts.host, opts.port, timeout, why, whysz)) < 0)
		goto fail;
	c->session = libssh2_session_init();
	if (!c->session) {
		r = -ENOMEM;
		goto fail;
	}
	libssh2_session_set_blocking(c->session, 1);
	libssh2_session_set_timeout(c->session, timeout);
	/* zlib, when both sides have it (sshd offers it after authentication). */
	if (o->compress && libssh2_session_flag(c->session, LIBSSH2_FLAG_COMPRESS, 1) != 0)
		nb_warn("this libssh2 cannot compress: going on without compression");
	/* Fast ciphers first (AES-CTR runs on AES-NI through OpenSSL). */
	nb_ssh_prefer(c->session, LIBSSH2_METHOD_CRYPT_CS, "aes128-ctr,aes256-ctr,aes192-ctr");
	nb_ssh_prefer(c->session, LIBSSH2_METHOD_CRYPT_SC, "aes128-ctr,aes256-ctr,aes192-ctr");
	nb_ssh_prefer(c->session, LIBSSH2_METHOD_HOSTKEY,
		      "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,"
		      "ecdsa-sha2-nistp521,rsa-sha2-512,rsa-sha2-256,ssh-rsa");
	if ((rc = libssh2_session_handshake(c->session, c->sock)) != 0) {
		nb_why(why, whysz, "SSH handshake with %s failed: %s", opts.host,
		       nb_ssh_last_error(c->session));
		/* A connection closed before or during the key exchange is
		 * the network's or the daemon's doing (sshd's MaxStartups
		 * drops them when busy), never a sign that the server side
		 * is missing: worth trying again, like a refused connect. */
		r = nb_ssh_map(rc) == NB_E_EOF ? NB_E_CONN : nb_ssh_map(rc);
		goto fail;
	}
	nb_debug("%s:%d: SSH handshake done", opts.host, opts.port);
	if ((r = nb_ssh_check_hostkey(c->session, &opts, kh, why, whysz)) != 0)
		goto fail;
	if ((r = nb_ssh_auth(c->session, &opts, user, home, why, whysz)) != 0)
		goto fail;
	nb_debug("authenticated as %s", user);
	c->channel = libssh2_channel_open_ex(c->session, "session", sizeof("session") - 1,
					     NB_SSH_WINDOW, LIBSSH2_CHANNEL_PACKET_DEFAULT, NULL, 0);
	if (!c->channel) {
		nb_why(why, whysz, "cannot open an SSH channel: %s", nb_ssh_last_error(c->session));
		r = NB_E_SSH;
		goto fail;
	}
	libssh2_channel_handle_extended_data2(c->channel, LIBSSH2_CHANNEL_EXTENDED_DATA_IGNORE);
	if (libssh2_channel_exec(c->channel, command) != 0) {
		nb_why(why, whysz, "cannot run '%s' on %s: %s", command, opts.host,
		       nb_ssh_last_error(c->session));
		r = NB_E_SSH;
		goto fail;
	}
	libssh2_keepalive_config(c->session, 1, 10);
	nb_debug("running '%s'", command);
	*out = &c->t;
	return 0;
fail:
	nb_ssh_close(&c->t);
	return r;
}
