/*
 * Mount options: the command line, then the config file, then defaults;
 * each checked with a message that names the fix. The contract is in
 * options.h.
 */
#include "fs/options.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/config.h"
#include "fs/sshconfig.h"
#include "wire/err.h"
#include "wire/md5.h"
#include "sync/transport.h"
#include "wire/xio.h"

void nb_options_init(struct nb_options *o)
{
	memset(o, 0, sizeof(*o));
	o->delay_ms = -1;
	o->cache_max = -1;
	o->bwlimit = -1;
	o->timeout_ms = -1;
	o->debug = -1;
	o->accept_new_host = -1;
	o->compress = -1;
	o->nonempty = -1;
	o->openssh = -1;
}

void nb_options_free(struct nb_options *o)
{
	char **strs[] = {&o->remote, &o->mountpoint, &o->identity, &o->known_hosts, &o->cache,
			 &o->server, &o->server_args, &o->config, &o->ssh_config, &o->user, &o->host, &o->dir,
			 &o->alias, &o->ssh_proxy, &o->ciphers};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
	for (size_t i = 0; o->identities && o->identities[i]; i++)
		free(o->identities[i]);
	free(o->identities);
	o->identities = NULL;
}

const char *nb_options_home(void)
{
	static char dir[PATH_MAX];
	const char *env = getenv("HOME");
	if (env && env[0])
		return env;
	struct passwd pw, *pwp = NULL;
	char buf[4096];
	if (getpwuid_r(getuid(), &pw, buf, sizeof(buf), &pwp) != 0 || !pwp)
		return NULL;
	snprintf(dir, sizeof(dir), "%s", pwp->pw_dir);
	return dir;
}

static int nb_options_str(char **field, const char *value, int overwrite)
{
	if (*field && !overwrite)
		return 0;
	char *v = strdup(value);
	if (!v)
		return -ENOMEM;
	free(*field);
	*field = v;
	return 0;
}

/* Parse a decimal number in [min, max]. */
static int nb_options_num(const char *value, long long min, long long max, long long *out)
{
	char *end;
	errno = 0;
	if (!isdigit((unsigned char)value[0]))
		return -EINVAL;
	long long v = strtoll(value, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int nb_options_parse_size(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	double v = strtod(s, &end);
	if (errno || end == s)
		return -EINVAL;
	double mult = 1;
	switch (*end) {
	case 'k': case 'K': mult = 1024.0; end++; break;
	case 'm': case 'M': mult = 1024.0 * 1024; end++; break;
	case 'g': case 'G': mult = 1024.0 * 1024 * 1024; end++; break;
	case 't': case 'T': mult = 1024.0 * 1024 * 1024 * 1024; end++; break;
	default: break;
	}
	if (*end == 'i' && mult > 1)
		end++;
	if ((*end == 'B' || *end == 'b') && end[1] == 0)
		end++;
	if (*end || !(v >= 0) || v * mult > 9.0e18)
		return -EINVAL;
	*out = (int64_t)(v * mult);
	return 0;
}

int nb_options_parse_rate(const char *s, int64_t *out)
{
	/* A size per second: "5M", "500K", "5M/s"; 0 is no limit. */
	char rate[64];
	size_t len = strlen(s);
	if (len >= 2 && !strcmp(s + len - 2, "/s"))
		len -= 2;
	if (len == 0 || len >= sizeof(rate))
		return -EINVAL;
	memcpy(rate, s, len);
	rate[len] = 0;
	int64_t v;
	if (nb_options_parse_size(rate, &v) != 0 || (v > 0 && v < 1024))
		return -EINVAL;
	*out = v;
	return 0;
}

/* "", "yes", "true", "1" are true; "no", "false", "0" false. */
static int nb_options_bool(const char *value, int *out)
{
	if (!value[0] || !strcmp(value, "yes") || !strcmp(value, "true") || !strcmp(value, "1")) {
		*out = 1;
		return 0;
	}
	if (!strcmp(value, "no") || !strcmp(value, "false") || !strcmp(value, "0")) {
		*out = 0;
		return 0;
	}
	return -EINVAL;
}

int nb_options_set(struct nb_options *o, const char *key, const char *value, int overwrite,
		   char *err, size_t errsz)
{
	long long n;
	int b;
	if (!strcmp(key, "remote"))
		return nb_options_str(&o->remote, value, overwrite);
	if (!strcmp(key, "identity")) {
		/* Given on the command line, it is the only key tried; from
		 * the config file, it is tried first (see nb_options_merge_ssh). */
		if (overwrite)
			o->identity_only = 1;
		return nb_options_str(&o->identity, value, overwrite);
	}
	if (!strcmp(key, "known_hosts"))
		return nb_options_str(&o->known_hosts, value, overwrite);
	if (!strcmp(key, "cache"))
		return nb_options_str(&o->cache, value, overwrite);
	if (!strcmp(key, "server"))
		return nb_options_str(&o->server, value, overwrite);
	if (!strcmp(key, "server_args"))
		return nb_options_str(&o->server_args, value, overwrite);
	if (!strcmp(key, "config"))
		return nb_options_str(&o->config, value, overwrite);
	if (!strcmp(key, "ssh")) {
		if (strcmp(value, "openssh") && strcmp(value, "libssh2")) {
			snprintf(err, errsz, "ssh must be openssh or libssh2, not '%s'", value);
			return NB_E_CONFIG;
		}
		if (o->openssh < 0 || overwrite)
			o->openssh = !strcmp(value, "openssh");
		return 0;
	}
	if (!strcmp(key, "ssh_config"))
		return nb_options_str(&o->ssh_config, value, overwrite);
	if (!strcmp(key, "port")) {
		if (nb_options_num(value, 1, 65535, &n) != 0) {
			snprintf(err, errsz, "port must be a number from 1 to 65535, not '%s'", value);
			return NB_E_CONFIG;
		}
		if (!o->port || overwrite)
			o->port = (int)n;
		return 0;
	}
	if (!strcmp(key, "delay") || !strcmp(key, "timeout")) {
		/* Seconds, with an optional fraction: "2", "0.5". */
		int is_delay = key[0] == 'd';
		double lo = is_delay ? 0 : 1;
		char *end;
		errno = 0;
		double d = strtod(value, &end);
		if (errno || end == value || *end || !(d >= lo && d <= 86400)) {
			snprintf(err, errsz, "%s must be seconds from %g to 86400, not '%s'", key, lo,
				 value);
			return NB_E_CONFIG;
		}
		long *field = is_delay ? &o->delay_ms : &o->timeout_ms;
		if (*field < 0 || overwrite)
			*field = (long)(d * 1000 + 0.5);
		return 0;
	}
	if (!strcmp(key, "cache_max")) {
		int64_t v;
		if (nb_options_parse_size(value, &v) != 0) {
			snprintf(err, errsz, "cache_max must be a size like 500M or 20G, not '%s'", value);
			return NB_E_CONFIG;
		}
		if (o->cache_max < 0 || overwrite)
			o->cache_max = v;
		return 0;
	}
	if (!strcmp(key, "bwlimit")) {
		int64_t v;
		if (nb_options_parse_rate(value, &v) != 0) {
			snprintf(err, errsz,
				 "bwlimit must be a rate in bytes per second of at least 1K, like "
				 "500K or 5M (0: no limit), not '%s'",
				 value);
			return NB_E_CONFIG;
		}
		if (o->bwlimit < 0 || overwrite)
			o->bwlimit = v;
		return 0;
	}
	if (!strcmp(key, "debug") || !strcmp(key, "accept_new_host") || !strcmp(key, "compress") ||
	    !strcmp(key, "nonempty")) {
		int *field = !strcmp(key, "debug")      ? &o->debug
			     : !strcmp(key, "compress") ? &o->compress
			     : !strcmp(key, "nonempty") ? &o->nonempty
							: &o->accept_new_host;
		if (nb_options_bool(value, &b) != 0) {
			snprintf(err, errsz, "%s takes yes or no, not '%s'", key, value);
			return NB_E_CONFIG;
		}
		if (*field < 0 || overwrite)
			*field = b;
		return 0;
	}
	snprintf(err, errsz, "unknown option '%s'", key);
	return NB_E_CONFIG;
}

static int nb_options_path(char **field);

static int nb_options_config_cb(void *arg, const char *key, const char *value, char *err,
				size_t errsz)
{
	if (!strcmp(key, "config")) {
		snprintf(err, errsz, "'config' cannot be set inside a config file");
		return NB_E_CONFIG;
	}
	return nb_options_set(arg, key, value, 0, err, errsz);
}

int nb_options_load_config(struct nb_options *o, char *err, size_t errsz)
{
	char path[PATH_MAX];
	int explicit = o->config != NULL;
	int r = nb_options_path(&o->config);
	if (r != 0)
		return r;
	if (explicit) {
		snprintf(path, sizeof(path), "%s", o->config);
	} else {
		const char *xdg = getenv("XDG_CONFIG_HOME");
		const char *home = nb_options_home();
		if (xdg && xdg[0])
			snprintf(path, sizeof(path), "%s/nbfs/config", xdg);
		else if (home)
			snprintf(path, sizeof(path), "%s/.config/nbfs/config", home);
		else
			return 0;
	}
	char *text = NULL;
	size_t len = 0;
	r = nb_xio_read_file(path, NB_CONFIG_MAX, &text, &len);
	if (r == -ENOENT && !explicit)
		return 0;
	if (r != 0) {
		snprintf(err, errsz, "config %s: %s", path, nb_strerror(r));
		return NB_E_CONFIG;
	}
	char why[768] = "";
	r = nb_config_parse(text, len, nb_options_config_cb, o, why, sizeof(why));
	free(text);
	if (r != 0)
		snprintf(err, errsz, "config %s: %s", path, why);
	return r;
}

int nb_options_parse_remote(const char *spec, struct nb_options *o, char *err, size_t errsz)
{
	static const char usage[] = "REMOTE must be [user@]host[:port]:DIR or local:DIR";
	free(o->user);
	free(o->host);
	free(o->dir);
	o->user = o->host = o->dir = NULL;
	o->local = 0;
	o->host_port = 0;
	if (!strncmp(spec, "local:", 6)) {
		if (!spec[6]) {
			snprintf(err, errsz, "local: needs a directory (%s)", usage);
			return NB_E_CONFIG;
		}
		o->local = 1;
		o->dir = strdup(spec + 6);
		return o->dir ? 0 : -ENOMEM;
	}
	const char *hoststart = spec;
	const char *at = NULL;
	/* A user name ends at the last '@' before the host. */
	for (const char *p = spec; *p && *p != ':' && *p != '['; p++)
		if (*p == '@')
			at = p;
	if (at) {
		if (at == spec) {
			snprintf(err, errsz, "empty user name in '%s' (%s)", spec, usage);
			return NB_E_CONFIG;
		}
		o->user = strndup(spec, (size_t)(at - spec));
		hoststart = at + 1;
	}
	const char *hostend, *rest;
	if (hoststart[0] == '[') {
		hostend = strchr(hoststart, ']');
		if (!hostend || hostend[1] != ':') {
			snprintf(err, errsz, "bad bracketed host in '%s' (%s)", spec, usage);
			return NB_E_CONFIG;
		}
		o->host = strndup(hoststart + 1, (size_t)(hostend - hoststart - 1));
		rest = hostend + 2;
	} else {
		hostend = strchr(hoststart, ':');
		if (!hostend) {
			snprintf(err, errsz, "no ':' in '%s' (%s)", spec, usage);
			return NB_E_CONFIG;
		}
		o->host = strndup(hoststart, (size_t)(hostend - hoststart));
		rest = hostend + 1;
	}
	if (!o->host || !o->host[0]) {
		snprintf(err, errsz, "empty host in '%s' (%s)", spec, usage);
		return NB_E_CONFIG;
	}
	/* host:port:DIR when what follows the host is all digits and another
	 * ':' comes after them. */
	size_t digits = strspn(rest, "0123456789");
	if (digits > 0 && rest[digits] == ':') {
		char num[16];
		long long port;
		if (digits >= sizeof(num)) {
			snprintf(err, errsz, "bad port in '%s'", spec);
			return NB_E_CONFIG;
		}
		memcpy(num, rest, digits);
		num[digits] = 0;
		if (nb_options_num(num, 1, 65535, &port) != 0) {
			snprintf(err, errsz, "bad port '%s' in '%s'", num, spec);
			return NB_E_CONFIG;
		}
		o->host_port = (int)port;
		rest += digits + 1;
	}
	o->dir = strdup(rest[0] ? rest : ".");
	return o->dir ? 0 : -ENOMEM;
}

/* ~/.cache/nbfs/<readable part>-<hash>: one cache per remote. */
static int nb_options_default_cache(struct nb_options *o)
{
	char base[PATH_MAX], name[128], hex[NB_MD5_HEX];
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = nb_options_home();
	if (xdg && xdg[0])
		snprintf(base, sizeof(base), "%s/nbfs", xdg);
	else
		snprintf(base, sizeof(base), "%s/.cache/nbfs", home ? home : "/tmp");
	uint8_t md5[NB_MD5_LEN];
	char key[PATH_MAX + 512];
	snprintf(key, sizeof(key), "%s|%s|%s|%d|%s", o->local ? "local" : "ssh",
		 o->user ? o->user : "", o->host ? o->host : "", o->port ? o->port : o->host_port,
		 o->dir);
	nb_md5_buf(key, strlen(key), md5);
	nb_md5_hex(md5, hex);
	size_t n = 0;
	const char *readable = o->local ? o->dir : o->host;
	for (const char *p = readable; *p && n < 40; p++)
		name[n++] = isalnum((unsigned char)*p) || *p == '.' || *p == '-' ? *p : '_';
	name[n] = 0;
	char path[PATH_MAX + 256];
	snprintf(path, sizeof(path), "%s/%s-%.12s", base, name, hex);
	o->cache = strdup(path);
	return o->cache ? 0 : -ENOMEM;
}

/* "~/x" -> "$HOME/x", relative -> absolute (we chdir to / when we go to
 * the background). */
static int nb_options_path(char **field)
{
	if (!*field)
		return 0;
	char buf[PATH_MAX * 2];
	const char *home = nb_options_home();
	if ((*field)[0] == '~' && (*field)[1] == '/' && home) {
		snprintf(buf, sizeof(buf), "%s/%s", home, *field + 2);
	} else if ((*field)[0] != '/') {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd)))
			return -errno;
		snprintf(buf, sizeof(buf), "%s/%s", cwd, *field);
	} else {
		return 0;
	}
	char *v = strdup(buf);
	if (!v)
		return -ENOMEM;
	free(*field);
	*field = v;
	return 0;
}

/* For local targets, prefer the nbfs-server built beside this nbfs. */
static int nb_options_local_server(struct nb_options *o)
{
	char self[PATH_MAX], path[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = 0;
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			snprintf(path, sizeof(path), "%s/nbfs-server", self);
			if (access(path, X_OK) == 0)
				return nb_options_str(&o->server, path, 1);
		}
	}
	return nb_options_str(&o->server, "nbfs-server", 1);
}

/* Whether the CPU has AES instructions (then AES-GCM is the cheapest
 * cipher ssh has; without them ChaCha20-Poly1305 is). */
static int nb_options_aes_cpu(void)
{
	FILE *f = fopen("/proc/cpuinfo", "re");
	if (!f)
		return 0;
	char line[8192];
	int yes = 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		/* The first CPU speaks for all. */
		char *save = NULL, *colon = strchr(line, ':');
		for (char *w = strtok_r(colon ? colon + 1 : line, " \n", &save); w;
		     w = strtok_r(NULL, " \n", &save))
			yes |= !strcmp(w, "aes");
		break;
	}
	fclose(f);
	return yes;
}

static void nb_options_take(char **field, char **value)
{
	if (*value && !*field) {
		*field = *value;
		*value = NULL;
	}
}

int nb_options_merge_ssh(struct nb_options *o, struct nb_sshconfig *c)
{
	if (c->hostname) {
		free(o->host);
		o->host = c->hostname;
		c->hostname = NULL;
	}
	nb_options_take(&o->user, &c->user);
	nb_options_take(&o->known_hosts, &c->known_hosts);
	nb_options_take(&o->ssh_proxy, &c->proxy);
	if (c->ciphers && !o->ciphers && nb_options_aes_cpu())
		o->ciphers = nb_sshconfig_gcm_first(c->ciphers);
	if (!o->port && !o->host_port)
		o->host_port = c->port;
	if (o->compress < 0)
		o->compress = c->compression;
	if (o->accept_new_host < 0 && c->accept_new)
		o->accept_new_host = 1;
	if (!o->identity_only && c->identities[0]) {
		size_t n = 0;
		while (c->identities[n])
			n++;
		char **ids = calloc(n + 1, sizeof(*ids));
		if (!ids)
			return -ENOMEM;
		/* Only the keys that exist (ssh lists its defaults too), and
		 * not the config file's identity again. */
		for (size_t i = 0, k = 0; i < n; i++) {
			if (access(c->identities[i], R_OK) == 0 &&
			    !(o->identity && !strcmp(o->identity, c->identities[i]))) {
				ids[k++] = c->identities[i];
				c->identities[i] = NULL;
			}
		}
		o->identities = ids;
	}
	return 0;
}

/* Ask ssh what it makes of o->host; see nb_options_finish. */
static int nb_options_ssh_config(struct nb_options *o, char *err, size_t errsz)
{
	if (o->ssh_config && !strcmp(o->ssh_config, "none"))
		return 0;
	char *text = NULL, why[1024] = "";
	size_t len = 0;
	int r = nb_sshconfig_query(o->ssh_config, o->host, o->user, o->port ? o->port : o->host_port,
				   &text, &len, why, sizeof(why));
	if (r != 0) {
		if (o->ssh_config) {
			snprintf(err, errsz, "ssh_config %s: %s", o->ssh_config, why);
			return NB_E_CONFIG;
		}
		/* No ssh client, or a broken ~/.ssh/config: go on without. */
		if (r != -ENOENT)
			fprintf(stderr, "nbfs: warning: %s; using %s as it is\n", why, o->host);
		return 0;
	}
	struct nb_sshconfig c;
	r = nb_sshconfig_parse(text, len, nb_options_home(), &c);
	free(text);
	if (r == 0) {
		r = nb_options_merge_ssh(o, &c);
		nb_sshconfig_free(&c);
	}
	return r;
}

int nb_options_finish(struct nb_options *o, char *err, size_t errsz)
{
	int r;
	if (!o->mountpoint) {
		snprintf(err, errsz, "no mount point given");
		return NB_E_CONFIG;
	}
	if (!o->remote) {
		snprintf(err, errsz,
			 "no REMOTE given, and no 'remote =' in the config file "
			 "(~/.config/nbfs/config or -o config=FILE)");
		return NB_E_CONFIG;
	}
	if ((r = nb_options_parse_remote(o->remote, o, err, errsz)) != 0)
		return r;
	if (o->local && o->dir[0] != '/') {
		/* We chdir to / when we go to the background. */
		char abs[PATH_MAX];
		if (!realpath(o->dir, abs)) {
			snprintf(err, errsz, "local directory %s: %s", o->dir, strerror(errno));
			return NB_E_CONFIG;
		}
		free(o->dir);
		if (!(o->dir = strdup(abs)))
			return -ENOMEM;
	}
	/* The cache is named after REMOTE as given, before ssh's config
	 * turns an alias into a host name. */
	if (!o->cache && (r = nb_options_default_cache(o)) != 0)
		return r;
	if (o->ssh_config && strcmp(o->ssh_config, "none") && (r = nb_options_path(&o->ssh_config)) != 0)
		return r;
	free(o->alias);
	o->alias = NULL;
	if (!o->local && !(o->alias = strdup(o->host)))
		return -ENOMEM;
	o->known_hosts_given = o->known_hosts != NULL;
	if (!o->local && o->use_ssh_config && (r = nb_options_ssh_config(o, err, errsz)) != 0)
		return r;
	/* The installed ssh client by default: it does all that the user's
	 * ssh configuration does, and costs less CPU than libssh2 1.10
	 * (docs/BENCHMARKS.md). libssh2 where there is none; but it dials
	 * the host itself, so a host that ssh reaches through a proxy needs
	 * ssh. */
	if (o->openssh < 0) {
		char ssh[PATH_MAX];
		o->openssh = !o->local && (o->ssh_proxy || nb_openssh_find("ssh", ssh, sizeof(ssh)) == 0);
	}
	if (!o->openssh && o->ssh_proxy) {
		snprintf(err, errsz,
			 "ssh's configuration reaches %s through %s, which -o ssh=libssh2 cannot "
			 "follow: drop ssh=libssh2 (nbfs then runs ssh itself)",
			 o->alias, o->ssh_proxy);
		return NB_E_CONFIG;
	}
	if (o->compress < 0)
		o->compress = 0;
	if (o->nonempty < 0)
		o->nonempty = 0;
	if (o->delay_ms < 0)
		o->delay_ms = 2000;
	if (o->timeout_ms < 0)
		o->timeout_ms = 30000;
	if (o->debug < 0)
		o->debug = 0;
	if (o->accept_new_host < 0)
		o->accept_new_host = 0;
	if (!o->server) {
		r = o->local ? nb_options_local_server(o) : nb_options_str(&o->server, "nbfs-server", 1);
		if (r != 0)
			return r;
	}
	if ((r = nb_options_path(&o->cache)) != 0 || (r = nb_options_path(&o->identity)) != 0 ||
	    (r = nb_options_path(&o->known_hosts)) != 0)
		return r;
	return 0;
}
