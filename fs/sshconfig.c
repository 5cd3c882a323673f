/*
 * What the installed OpenSSH client makes of a host name (`ssh -G HOST`):
 * host alias, user, port, identities and known-hosts files. The contract
 * is in sshconfig.h.
 */
#include "fs/sshconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wire/err.h"
#include "wire/xio.h"

/* ssh -G prints a few KiB; more than this is not its output. */
#define NB_SSHCONFIG_OUT_MAX (256 * 1024)
#define NB_SSHCONFIG_ERR_MAX 4096
#define NB_SSHCONFIG_TIMEOUT_MS 10000

extern char **environ;

/* Read the child's stdout and stderr until both end, the output grows
 * past its cap, or the deadline passes. 0 or -errno / NB_E_TIMEOUT. */
static int nb_sshconfig_drain(int outfd, int errfd, char *out, size_t *outlen, char *err,
			      size_t *errlen)
{
	long long deadline = nb_xio_now_ms() + NB_SSHCONFIG_TIMEOUT_MS;
	struct pollfd p[2] = {{.fd = outfd, .events = POLLIN}, {.fd = errfd, .events = POLLIN}};
	while (p[0].fd >= 0 || p[1].fd >= 0) {
		long long left = deadline - nb_xio_now_ms();
		if (left <= 0)
			return NB_E_TIMEOUT;
		int n = poll(p, 2, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (int i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !p[i].revents)
				continue;
			char *buf = i == 0 ? out : err;
			size_t *len = i == 0 ? outlen : errlen;
			size_t cap = i == 0 ? NB_SSHCONFIG_OUT_MAX : NB_SSHCONFIG_ERR_MAX;
			char discard[4096];
			ssize_t k = *len < cap ? read(p[i].fd, buf + *len, cap - *len)
					       : read(p[i].fd, discard, sizeof(discard));
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				p[i].fd = -1;
				continue;
			}
			if (*len < cap)
				*len += (size_t)k;
			else if (i == 0)
				return -EFBIG;
		}
	}
	return 0;
}

int nb_sshconfig_query(const char *file, const char *host, const char *user, int port, char **out,
		       size_t *len, char *why, size_t whysz)
{
	char portstr[16];
	const char *argv[12];
	int n = 0;
	argv[n++] = "ssh";
	if (file) {
		argv[n++] = "-F";
		argv[n++] = file;
	}
	argv[n++] = "-G";
	if (user) {
		argv[n++] = "-l";
		argv[n++] = user;
	}
	if (port) {
		snprintf(portstr, sizeof(portstr), "%d", port);
		argv[n++] = "-p";
		argv[n++] = portstr;
	}
	argv[n++] = "--";
	argv[n++] = host;
	argv[n] = NULL;

	int op[2] = {-1, -1}, ep[2] = {-1, -1}, r;
	char *buf = malloc(NB_SSHCONFIG_OUT_MAX + 1);
	char err[NB_SSHCONFIG_ERR_MAX + 1];
	size_t olen = 0, elen = 0;
	pid_t pid = -1;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	if (pipe2(op, O_CLOEXEC) != 0 || pipe2(ep, O_CLOEXEC) != 0) {
		r = -errno;
		goto out;
	}
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, op[1], 1);
	posix_spawn_file_actions_adddup2(&fa, ep[1], 2);
	int e = posix_spawnp(&pid, "ssh", &fa, NULL, (char *const *)argv, environ);
	if (e != 0) {
		pid = -1;
		r = -e;
		snprintf(why, whysz, "cannot run ssh: %s", strerror(e));
		goto out;
	}
	nb_xio_close(op[1]);
	nb_xio_close(ep[1]);
	op[1] = ep[1] = -1;
	r = nb_sshconfig_drain(op[0], ep[0], buf, &olen, err, &elen);
	if (r != 0) {
		kill(pid, SIGKILL);
		snprintf(why, whysz, "ssh -G %s: %s", host, nb_strerror(r));
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		/* ssh's complaint, without the noise about terminals. */
		err[elen] = 0;
		char *line = err, *msg = NULL;
		while (line && *line) {
			char *nl = strchr(line, '\n');
			if (nl)
				*nl = 0;
			if (!strstr(line, "Pseudo-terminal") && line[0] && !msg)
				msg = line;
			line = nl ? nl + 1 : NULL;
		}
		/* 127 from posix_spawn's child: ssh vanished between lookup and exec. */
		r = WIFEXITED(status) && WEXITSTATUS(status) == 127 ? -ENOENT : NB_E_CONFIG;
		snprintf(why, whysz, "ssh -G %s failed: %s", host, msg ? msg : "no reason given");
	}
	if (r == 0) {
		buf[olen] = 0;
		*out = buf;
		*len = olen;
		buf = NULL;
	}
out:
	posix_spawn_file_actions_destroy(&fa);
	for (int i = 0; i < 2; i++) {
		nb_xio_close(op[i]);
		nb_xio_close(ep[i]);
	}
	free(buf);
	return r;
}

/* A copy of value with a leading "~/" expanded; NULL on ENOMEM. */
static char *nb_sshconfig_path(const char *value, const char *home)
{
	if (home && value[0] == '~' && value[1] == '/') {
		size_t n = strlen(home) + strlen(value);
		char *p = malloc(n);
		if (p)
			snprintf(p, n, "%s/%s", home, value + 2);
		return p;
	}
	return strdup(value);
}

static int nb_sshconfig_line(struct nb_sshconfig *c, const char *key, const char *value,
			     const char *home)
{
	char **field = NULL, *v;
	if (!strcmp(key, "hostname"))
		field = &c->hostname;
	else if (!strcmp(key, "user"))
		field = &c->user;
	if (field) {
		if (!(v = strdup(value)))
			return -ENOMEM;
		free(*field);
		*field = v;
		return 0;
	}
	if (!strcmp(key, "proxyjump") || !strcmp(key, "proxycommand")) {
		if (!strcmp(value, "none") || c->proxy)
			return 0;
		size_t n = strlen(value) + 16;
		if (!(c->proxy = malloc(n)))
			return -ENOMEM;
		snprintf(c->proxy, n, "%s %s", key[5] == 'j' ? "ProxyJump" : "ProxyCommand", value);
		return 0;
	}
	if (!strcmp(key, "ciphers")) {
		free(c->ciphers);
		return (c->ciphers = strdup(value)) ? 0 : -ENOMEM;
	}
	if (!strcmp(key, "port")) {
		char *end;
		long p = strtol(value, &end, 10);
		c->port = !*end && p > 0 && p < 65536 ? (int)p : 0;
	} else if (!strcmp(key, "compression")) {
		c->compression = !strcmp(value, "yes");
	} else if (!strcmp(key, "stricthostkeychecking")) {
		c->accept_new = !strcmp(value, "accept-new");
	} else if (!strcmp(key, "identityfile")) {
		size_t n = 0;
		while (n < NB_SSHCONFIG_MAX_IDS && c->identities[n])
			n++;
		if (n < NB_SSHCONFIG_MAX_IDS && !(c->identities[n] = nb_sshconfig_path(value, home)))
			return -ENOMEM;
	} else if (!strcmp(key, "userknownhostsfile") && !c->known_hosts) {
		char first[4096];
		snprintf(first, sizeof(first), "%.*s", (int)strcspn(value, " "), value);
		if (!(c->known_hosts = nb_sshconfig_path(first, home)))
			return -ENOMEM;
	}
	return 0;
}

int nb_sshconfig_parse(const char *text, size_t len, const char *home, struct nb_sshconfig *c)
{
	memset(c, 0, sizeof(*c));
	size_t pos = 0;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		char line[8192];
		if (n < sizeof(line)) {
			memcpy(line, text + pos, n);
			line[n] = 0;
			char *sp = strchr(line, ' ');
			if (sp) {
				*sp = 0;
				int r = nb_sshconfig_line(c, line, sp + 1, home);
				if (r != 0) {
					nb_sshconfig_free(c);
					return r;
				}
			}
		}
		pos += n + (nl ? 1 : 0);
	}
	return 0;
}

void nb_sshconfig_free(struct nb_sshconfig *c)
{
	free(c->hostname);
	free(c->user);
	free(c->known_hosts);
	free(c->proxy);
	free(c->ciphers);
	for (size_t i = 0; i < NB_SSHCONFIG_MAX_IDS; i++)
		free(c->identities[i]);
	memset(c, 0, sizeof(*c));
}

char *nb_sshconfig_gcm_first(const char *ciphers)
{
	static const char head[] = "chacha20-poly1305@openssh.com,";
	if (strncmp(ciphers, head, sizeof(head) - 1) || !strstr(ciphers, "-gcm@openssh.com"))
		return NULL;
	size_t n = strlen(ciphers);
	char *out = malloc(n + 2), *rest = malloc(n + 2);
	if (!out || !rest) {
		free(out);
		free(rest);
		return NULL;
	}
	out[0] = rest[0] = 0;
	size_t lo = 0, lr = 0;
	for (const char *p = ciphers; *p;) {
		size_t k = strcspn(p, ",");
		int gcm = k > 16 && !strncmp(p + k - 16, "-gcm@openssh.com", 16);
		char *dst = gcm ? out : rest;
		size_t *len = gcm ? &lo : &lr;
		if (*len)
			dst[(*len)++] = ',';
		memcpy(dst + *len, p, k);
		*len += k;
		dst[*len] = 0;
		p += k + (p[k] == ',');
	}
	if (lr) {
		out[lo++] = ',';
		memcpy(out + lo, rest, lr + 1);
	}
	free(rest);
	return out;
}
