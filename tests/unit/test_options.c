/* Unit tests for fs/options.c: mount options and the REMOTE spec. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/options.h"
#include "fs/sshconfig.h"
#include "wire/err.h"
#include "testutil.h"

struct remote_case {
	const char *spec;
	int local;
	const char *user, *host;
	int port;
	const char *dir;
};

static void check_remote(const struct remote_case *c)
{
	struct nb_options o;
	char err[256] = "";
	nb_options_init(&o);
	int r = nb_options_parse_remote(c->spec, &o, err, sizeof(err));
	if (r != 0)
		fail_msg("'%s': %d %s", c->spec, r, err);
	assert_int_equal(o.local, c->local);
	if (c->user)
		assert_string_equal(o.user, c->user);
	else
		assert_null(o.user);
	if (c->host)
		assert_string_equal(o.host, c->host);
	else
		assert_null(o.host);
	assert_int_equal(o.host_port, c->port);
	assert_string_equal(o.dir, c->dir);
	nb_options_free(&o);
}

static void test_remote_ok(void **state)
{
	(void)state;
	static const struct remote_case cases[] = {
		{"local:/x", 1, NULL, NULL, 0, "/x"},
		{"local:rel/dir", 1, NULL, NULL, 0, "rel/dir"},
		{"local:/a:b@c", 1, NULL, NULL, 0, "/a:b@c"},
		{"host:dir", 0, NULL, "host", 0, "dir"},
		{"host:/abs/dir", 0, NULL, "host", 0, "/abs/dir"},
		{"user@host:dir", 0, "user", "host", 0, "dir"},
		{"host:2222:/dir", 0, NULL, "host", 2222, "/dir"},
		{"user@host:22:d", 0, "user", "host", 22, "d"},
		{"[::1]:22:/d", 0, NULL, "::1", 22, "/d"},
		{"[::1]:/d", 0, NULL, "::1", 0, "/d"},
		{"u@[fe80::1%eth0]:d", 0, "u", "fe80::1%eth0", 0, "d"},
		{"host:", 0, NULL, "host", 0, "."},
		{"host:2222:", 0, NULL, "host", 2222, "."},
		{"host:123", 0, NULL, "host", 0, "123"},   /* digits alone are a dir */
		{"host:12a:x", 0, NULL, "host", 0, "12a:x"}, /* not all digits: a dir */
		{"host:dir:with:colons", 0, NULL, "host", 0, "dir:with:colons"},
		{"a@b@host:d", 0, "a@b", "host", 0, "d"},
		{"host:user@dir", 0, NULL, "host", 0, "user@dir"},
		{"host:65535:/", 0, NULL, "host", 65535, "/"},
		{"host:2:/d", 0, NULL, "host", 2, "/d"},
		{"host:0022:/", 0, NULL, "host", 22, "/"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_remote(&cases[i]);
}

static void check_remote_bad(const char *spec, const char *want_err)
{
	struct nb_options o;
	char err[512] = "";
	nb_options_init(&o);
	int r = nb_options_parse_remote(spec, &o, err, sizeof(err));
	if (r != NB_E_CONFIG || strcmp(err, want_err) != 0)
		fail_msg("'%s': %d \"%s\", want \"%s\"", spec, r, err, want_err);
	nb_options_free(&o);
}

#define USAGE "(REMOTE must be [user@]host[:port]:DIR or local:DIR)"

static void test_remote_bad(void **state)
{
	(void)state;
	check_remote_bad("local:", "local: needs a directory " USAGE);
	check_remote_bad("host", "no ':' in 'host' " USAGE);
	check_remote_bad("", "no ':' in '' " USAGE);
	check_remote_bad("user@host", "no ':' in 'user@host' " USAGE);
	check_remote_bad(":dir", "empty host in ':dir' " USAGE);
	check_remote_bad("user@:dir", "empty host in 'user@:dir' " USAGE);
	check_remote_bad("@host:dir", "empty user name in '@host:dir' " USAGE);
	check_remote_bad("[::1", "bad bracketed host in '[::1' " USAGE);
	check_remote_bad("[::1]dir", "bad bracketed host in '[::1]dir' " USAGE);
	check_remote_bad("[]:d", "empty host in '[]:d' " USAGE);
	check_remote_bad("host:0:/d", "bad port '0' in 'host:0:/d'");
	check_remote_bad("host:65536:/d", "bad port '65536' in 'host:65536:/d'");
	check_remote_bad("host:99999999999999999999:/d", "bad port in 'host:99999999999999999999:/d'");
}

/* Parsing again replaces what an earlier parse set. */
static void test_remote_reparse(void **state)
{
	(void)state;
	struct nb_options o;
	char err[256];
	nb_options_init(&o);
	assert_int_equal(nb_options_parse_remote("u@h:7:/d", &o, err, sizeof(err)), 0);
	assert_int_equal(nb_options_parse_remote("local:/l", &o, err, sizeof(err)), 0);
	assert_int_equal(o.local, 1);
	assert_null(o.user);
	assert_null(o.host);
	assert_int_equal(o.host_port, 0);
	assert_string_equal(o.dir, "/l");
	assert_int_equal(nb_options_parse_remote("h2:x", &o, err, sizeof(err)), 0);
	assert_int_equal(o.local, 0);
	assert_string_equal(o.host, "h2");
	nb_options_free(&o);
	assert_null(o.dir);
}

static int set(struct nb_options *o, const char *k, const char *v, int overwrite, char *err)
{
	err[0] = 0;
	return nb_options_set(o, k, v, overwrite, err, 256);
}

static void test_set(void **state)
{
	(void)state;
	struct nb_options o;
	char err[256];
	nb_options_init(&o);
	assert_int_equal(o.delay_ms, -1);
	assert_int_equal(o.debug, -1);
	assert_int_equal(o.accept_new_host, -1);

	assert_int_equal(set(&o, "remote", "h:d", 1, err), 0);
	assert_int_equal(set(&o, "remote", "other:d", 0, err), 0); /* kept */
	assert_string_equal(o.remote, "h:d");
	assert_int_equal(set(&o, "remote", "other:d", 1, err), 0); /* replaced */
	assert_string_equal(o.remote, "other:d");
	assert_int_equal(set(&o, "identity", "~/.ssh/k", 1, err), 0);
	assert_int_equal(set(&o, "known_hosts", "/kh", 1, err), 0);
	assert_int_equal(set(&o, "cache", "/c", 1, err), 0);
	assert_int_equal(set(&o, "server", "srv --x", 1, err), 0);
	assert_int_equal(set(&o, "config", "/cfg", 1, err), 0);
	assert_string_equal(o.identity, "~/.ssh/k");
	assert_string_equal(o.known_hosts, "/kh");
	assert_string_equal(o.cache, "/c");
	assert_string_equal(o.server, "srv --x");
	assert_string_equal(o.config, "/cfg");

	assert_int_equal(set(&o, "port", "22", 1, err), 0);
	assert_int_equal(set(&o, "port", "2222", 0, err), 0);
	assert_int_equal(o.port, 22);
	assert_int_equal(set(&o, "port", "65535", 1, err), 0);
	assert_int_equal(o.port, 65535);
	static const char *const badports[] = {"0", "65536", "-1", "+22", " 22", "22 ", "2a", "",
					       "0x16"};
	for (size_t i = 0; i < sizeof(badports) / sizeof(badports[0]); i++) {
		assert_int_equal(set(&o, "port", badports[i], 1, err), NB_E_CONFIG);
		char want[128];
		snprintf(want, sizeof(want), "port must be a number from 1 to 65535, not '%s'",
			 badports[i]);
		assert_string_equal(err, want);
	}
	assert_int_equal(o.port, 65535);

	static const struct { const char *v; long ms; } delays[] = {
		{"2", 2000}, {"0", 0}, {"0.5", 500}, {"0.25", 250}, {"86400", 86400000},
		{"1e1", 10000}};
	for (size_t i = 0; i < sizeof(delays) / sizeof(delays[0]); i++) {
		assert_int_equal(set(&o, "delay", delays[i].v, 1, err), 0);
		assert_int_equal(o.delay_ms, delays[i].ms);
	}
	assert_int_equal(set(&o, "delay", "5", 0, err), 0); /* already set: kept */
	assert_int_equal(o.delay_ms, 10000);
	static const char *const baddelays[] = {"-1", "86401", "abc", "", "1s", "nan", "inf"};
	for (size_t i = 0; i < sizeof(baddelays) / sizeof(baddelays[0]); i++) {
		assert_int_equal(set(&o, "delay", baddelays[i], 1, err), NB_E_CONFIG);
		char want[128];
		snprintf(want, sizeof(want), "delay must be seconds from 0 to 86400, not '%s'",
			 baddelays[i]);
		assert_string_equal(err, want);
	}

	static const struct { const char *v; int b; } bools[] = {
		{"", 1}, {"yes", 1}, {"true", 1}, {"1", 1}, {"no", 0}, {"false", 0}, {"0", 0}};
	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		assert_int_equal(set(&o, "debug", bools[i].v, 1, err), 0);
		assert_int_equal(o.debug, bools[i].b);
		assert_int_equal(set(&o, "accept_new_host", bools[i].v, 1, err), 0);
		assert_int_equal(o.accept_new_host, bools[i].b);
	}
	assert_int_equal(set(&o, "debug", "yes", 0, err), 0); /* kept: 0 */
	assert_int_equal(o.debug, 0);
	assert_int_equal(set(&o, "debug", "maybe", 1, err), NB_E_CONFIG);
	assert_string_equal(err, "debug takes yes or no, not 'maybe'");
	assert_int_equal(set(&o, "accept_new_host", "YES", 1, err), NB_E_CONFIG);
	assert_string_equal(err, "accept_new_host takes yes or no, not 'YES'");

	assert_int_equal(set(&o, "frobnicate", "1", 1, err), NB_E_CONFIG);
	assert_string_equal(err, "unknown option 'frobnicate'");
	assert_int_equal(set(&o, "Port", "22", 1, err), NB_E_CONFIG);
	assert_string_equal(err, "unknown option 'Port'");
	nb_options_free(&o);
	assert_null(o.remote);
	assert_null(o.server);
}

/* --- the config file through nb_options_load_config --- */

struct fx {
	char *dir;
	char *old_cwd;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->dir = tu_mkdtemp("options");
	assert_non_null(f->dir);
	f->old_cwd = getcwd(NULL, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	assert_int_equal(chdir(f->old_cwd), 0);
	tu_rmtree(f->dir);
	free(f->dir);
	free(f->old_cwd);
	free(f);
	return 0;
}

static char *write_cfg(struct fx *f, const char *name, const char *text)
{
	char *p = tu_join(f->dir, name);
	assert_int_equal(tu_write_file(p, text, strlen(text)), 0);
	return p;
}

static void test_load_config(void **state)
{
	struct fx *f = *state;
	struct nb_options o;
	char err[1024];
	char *p = write_cfg(f, "cfg",
			    "# test\nremote = cfghost:dir\nport = 2200\nidentity = /id\ndelay = 3\n");
	nb_options_init(&o);
	/* the command line already set remote and delay: they win */
	assert_int_equal(nb_options_set(&o, "remote", "cli:dir", 1, err, sizeof(err)), 0);
	assert_int_equal(nb_options_set(&o, "delay", "1", 1, err, sizeof(err)), 0);
	assert_int_equal(nb_options_set(&o, "config", p, 1, err, sizeof(err)), 0);
	assert_int_equal(nb_options_load_config(&o, err, sizeof(err)), 0);
	assert_string_equal(o.remote, "cli:dir");
	assert_int_equal(o.delay_ms, 1000);
	assert_int_equal(o.port, 2200);
	assert_string_equal(o.identity, "/id");
	nb_options_free(&o);
	free(p);
}

static void test_load_config_errors(void **state)
{
	struct fx *f = *state;
	struct nb_options o;
	char err[1024], want[1200];

	char *p = write_cfg(f, "bad", "remote = h:d\n\nnope = 1\n");
	nb_options_init(&o);
	assert_int_equal(nb_options_set(&o, "config", p, 1, err, sizeof(err)), 0);
	assert_int_equal(nb_options_load_config(&o, err, sizeof(err)), NB_E_CONFIG);
	snprintf(want, sizeof(want), "config %s: line 3: unknown option 'nope'", p);
	assert_string_equal(err, want);
	nb_options_free(&o);
	free(p);

	/* 'config' inside a config file */
	p = write_cfg(f, "loop", "config = /elsewhere\n");
	nb_options_init(&o);
	assert_int_equal(nb_options_set(&o, "config", p, 1, err, sizeof(err)), 0);
	assert_int_equal(nb_options_load_config(&o, err, sizeof(err)), NB_E_CONFIG);
	snprintf(want, sizeof(want), "config %s: line 1: 'config' cannot be set inside a config file",
		 p);
	assert_string_equal(err, want);
	nb_options_free(&o);
	free(p);

	/* an explicit config file must exist */
	p = tu_join(f->dir, "missing");
	nb_options_init(&o);
	assert_int_equal(nb_options_set(&o, "config", p, 1, err, sizeof(err)), 0);
	assert_int_equal(nb_options_load_config(&o, err, sizeof(err)), NB_E_CONFIG);
	snprintf(want, sizeof(want), "config %s: %s", p, strerror(ENOENT));
	assert_string_equal(err, want);
	nb_options_free(&o);
	free(p);

	/* a relative config path is taken from the current directory */
	assert_int_equal(chdir(f->dir), 0);
	free(write_cfg(f, "rel.cfg", "port = 4444\n"));
	nb_options_init(&o);
	assert_int_equal(nb_options_set(&o, "config", "rel.cfg", 1, err, sizeof(err)), 0);
	assert_int_equal(nb_options_load_config(&o, err, sizeof(err)), 0);
	assert_int_equal(o.port, 4444);
	assert_true(o.config[0] == '/');
	nb_options_free(&o);
}

static void test_load_default_config(void **state)
{
	struct fx *f = *state;
	struct nb_options o;
	char err[1024];
	char *xdg = tu_join(f->dir, "xdg");
	char *nbdir = tu_join(xdg, "nbfs");
	assert_int_equal(mkdir(xdg, 0755), 0);
	char *old = getenv("XDG_CONFIG_HOME") ? strdup(getenv("XDG_CONFIG_HOME")) : NULL;
	setenv("XDG_CONFIG_HOME", xdg, 1);
	/* missing default file: not an error */
	nb_options_init(&o);
	assert_int_equal(nb_options_load_config(&o, err, sizeof(err)), 0);
	assert_null(o.remote);
	nb_options_free(&o);
	/* present: used */
	assert_int_equal(mkdir(nbdir, 0755), 0);
	char *cfg = tu_join(nbdir, "config");
	assert_int_equal(tu_write_file(cfg, "remote = x:y\n", 13), 0);
	nb_options_init(&o);
	assert_int_equal(nb_options_load_config(&o, err, sizeof(err)), 0);
	assert_string_equal(o.remote, "x:y");
	nb_options_free(&o);
	if (old)
		setenv("XDG_CONFIG_HOME", old, 1);
	else
		unsetenv("XDG_CONFIG_HOME");
	free(old);
	free(cfg);
	free(nbdir);
	free(xdg);
}

static void test_finish(void **state)
{
	struct fx *f = *state;
	struct nb_options o;
	char err[1024];
	char *cache = tu_join(f->dir, "cache");
	char *old = getenv("XDG_CACHE_HOME") ? strdup(getenv("XDG_CACHE_HOME")) : NULL;
	setenv("XDG_CACHE_HOME", cache, 1);

	nb_options_init(&o);
	assert_int_equal(nb_options_finish(&o, err, sizeof(err)), NB_E_CONFIG);
	assert_string_equal(err, "no mount point given");
	o.mountpoint = strdup("/mnt");
	assert_int_equal(nb_options_finish(&o, err, sizeof(err)), NB_E_CONFIG);
	assert_non_null(strstr(err, "no REMOTE given"));
	assert_int_equal(nb_options_set(&o, "remote", "nohost", 1, err, sizeof(err)), 0);
	assert_int_equal(nb_options_finish(&o, err, sizeof(err)), NB_E_CONFIG);
	assert_string_equal(err, "no ':' in 'nohost' " USAGE);

	/* defaults */
	assert_int_equal(nb_options_set(&o, "remote", "me@Some.Host:backup", 1, err, sizeof(err)),
			 0);
	assert_int_equal(nb_options_finish(&o, err, sizeof(err)), 0);
	assert_int_equal(o.delay_ms, 2000);
	assert_int_equal(o.debug, 0);
	assert_int_equal(o.accept_new_host, 0);
	assert_string_equal(o.server, "nbfs-server");
	assert_string_equal(o.user, "me");
	assert_string_equal(o.host, "Some.Host");
	assert_string_equal(o.dir, "backup");
	/* cache: <XDG_CACHE_HOME>/nbfs/<host>-<12 hex digits> */
	char prefix[2048];
	snprintf(prefix, sizeof(prefix), "%s/nbfs/Some.Host-", cache);
	assert_int_equal(strncmp(o.cache, prefix, strlen(prefix)), 0);
	const char *hex = o.cache + strlen(prefix);
	assert_int_equal(strlen(hex), 12);
	assert_int_equal(strspn(hex, "0123456789abcdef"), 12);
	char *first = strdup(o.cache);
	nb_options_free(&o);

	/* the same remote gives the same cache, another one a different one */
	nb_options_init(&o);
	o.mountpoint = strdup("/elsewhere");
	assert_int_equal(nb_options_set(&o, "remote", "me@Some.Host:backup", 1, err, sizeof(err)),
			 0);
	assert_int_equal(nb_options_finish(&o, err, sizeof(err)), 0);
	assert_string_equal(o.cache, first);
	nb_options_free(&o);
	nb_options_init(&o);
	o.mountpoint = strdup("/mnt");
	assert_int_equal(nb_options_set(&o, "remote", "me@Some.Host:other", 1, err, sizeof(err)),
			 0);
	assert_int_equal(nb_options_finish(&o, err, sizeof(err)), 0);
	assert_string_not_equal(o.cache, first);
	nb_options_free(&o);
	free(first);

	/* a local relative directory becomes absolute */
	assert_int_equal(chdir(f->dir), 0);
	assert_int_equal(mkdir("target", 0755), 0);
	nb_options_init(&o);
	o.mountpoint = strdup("/mnt");
	assert_int_equal(nb_options_set(&o, "remote", "local:target", 1, err, sizeof(err)), 0);
	assert_int_equal(nb_options_set(&o, "cache", "c", 1, err, sizeof(err)), 0);
	assert_int_equal(nb_options_finish(&o, err, sizeof(err)), 0);
	char real[PATH_MAX], want[PATH_MAX + 16];
	assert_non_null(realpath(f->dir, real));
	snprintf(want, sizeof(want), "%s/target", real);
	assert_string_equal(o.dir, want);
	assert_true(o.cache[0] == '/'); /* relative cache made absolute too */
	nb_options_free(&o);
	/* and a missing one is reported */
	nb_options_init(&o);
	o.mountpoint = strdup("/mnt");
	assert_int_equal(nb_options_set(&o, "remote", "local:nothere", 1, err, sizeof(err)), 0);
	assert_int_equal(nb_options_finish(&o, err, sizeof(err)), NB_E_CONFIG);
	snprintf(want, sizeof(want), "local directory nothere: %s", strerror(ENOENT));
	assert_string_equal(err, want);
	nb_options_free(&o);

	if (old)
		setenv("XDG_CACHE_HOME", old, 1);
	else
		unsetenv("XDG_CACHE_HOME");
	free(old);
	free(cache);
}

/* What ssh's configuration says fills only what nbfs was not told. */
static void test_merge_ssh(void **state)
{
	struct fx *f = *state;
	char err[512];
	char *key = tu_join(f->dir, "key_present");
	char *missing = tu_join(f->dir, "key_missing");
	FILE *fp = fopen(key, "w");
	assert_non_null(fp);
	fclose(fp);
	char text[8192];
	snprintf(text, sizeof(text),
		 "hostname real.example\nuser carol\nport 2200\ncompression yes\n"
		 "stricthostkeychecking accept-new\nidentityfile %s\nidentityfile %s\n"
		 "userknownhostsfile /ssh/kh\n",
		 missing, key);

	/* Nothing given: everything from ssh, the keys that exist. */
	struct nb_options o;
	struct nb_sshconfig c;
	nb_options_init(&o);
	assert_int_equal(nb_options_parse_remote("alias:/d", &o, err, sizeof(err)), 0);
	assert_int_equal(nb_sshconfig_parse(text, strlen(text), NULL, &c), 0);
	assert_int_equal(nb_options_merge_ssh(&o, &c), 0);
	nb_sshconfig_free(&c);
	assert_string_equal(o.host, "real.example");
	assert_string_equal(o.user, "carol");
	assert_int_equal(o.host_port, 2200);
	assert_int_equal(o.compress, 1);
	assert_int_equal(o.accept_new_host, 1);
	assert_string_equal(o.known_hosts, "/ssh/kh");
	assert_non_null(o.identities);
	assert_string_equal(o.identities[0], key);
	assert_null(o.identities[1]);
	nb_options_free(&o);

	/* Everything given: ssh only resolves the host name. */
	nb_options_init(&o);
	assert_int_equal(nb_options_parse_remote("dave@alias:33:/d", &o, err, sizeof(err)), 0);
	assert_int_equal(nb_options_set(&o, "identity", "/my/key", 1, err, sizeof(err)), 0);
	assert_int_equal(nb_options_set(&o, "known_hosts", "/my/kh", 1, err, sizeof(err)), 0);
	assert_int_equal(nb_options_set(&o, "compress", "no", 1, err, sizeof(err)), 0);
	assert_int_equal(nb_options_set(&o, "accept_new_host", "no", 1, err, sizeof(err)), 0);
	assert_int_equal(nb_sshconfig_parse(text, strlen(text), NULL, &c), 0);
	assert_int_equal(nb_options_merge_ssh(&o, &c), 0);
	nb_sshconfig_free(&c);
	assert_string_equal(o.host, "real.example");
	assert_string_equal(o.user, "dave");
	assert_int_equal(o.host_port, 33);
	assert_int_equal(o.compress, 0);
	assert_int_equal(o.accept_new_host, 0);
	assert_string_equal(o.known_hosts, "/my/kh");
	assert_string_equal(o.identity, "/my/key");
	assert_int_equal(o.identity_only, 1);
	assert_null(o.identities);
	nb_options_free(&o);

	/* identity from the config file is a default, not a lock: it is
	 * tried first, ssh's IdentityFile keys after it (not twice). */
	nb_options_init(&o);
	assert_int_equal(nb_options_parse_remote("alias:/d", &o, err, sizeof(err)), 0);
	assert_int_equal(nb_options_set(&o, "identity", "/cfg/key", 0, err, sizeof(err)), 0);
	assert_int_equal(o.identity_only, 0);
	assert_int_equal(nb_sshconfig_parse(text, strlen(text), NULL, &c), 0);
	assert_int_equal(nb_options_merge_ssh(&o, &c), 0);
	nb_sshconfig_free(&c);
	assert_string_equal(o.identity, "/cfg/key");
	assert_non_null(o.identities);
	assert_string_equal(o.identities[0], key);
	assert_null(o.identities[1]);
	nb_options_free(&o);
	nb_options_init(&o);
	assert_int_equal(nb_options_parse_remote("alias:/d", &o, err, sizeof(err)), 0);
	assert_int_equal(nb_options_set(&o, "identity", key, 0, err, sizeof(err)), 0);
	assert_int_equal(nb_sshconfig_parse(text, strlen(text), NULL, &c), 0);
	assert_int_equal(nb_options_merge_ssh(&o, &c), 0);
	nb_sshconfig_free(&c);
	assert_non_null(o.identities);
	assert_null(o.identities[0]);
	nb_options_free(&o);

	/* -o port= wins over ssh's Port as the port in REMOTE does. */
	nb_options_init(&o);
	assert_int_equal(nb_options_parse_remote("alias:/d", &o, err, sizeof(err)), 0);
	assert_int_equal(nb_options_set(&o, "port", "44", 1, err, sizeof(err)), 0);
	assert_int_equal(nb_sshconfig_parse(text, strlen(text), NULL, &c), 0);
	assert_int_equal(nb_options_merge_ssh(&o, &c), 0);
	nb_sshconfig_free(&c);
	assert_int_equal(o.port, 44);
	assert_int_equal(o.host_port, 0);
	nb_options_free(&o);

	/* The new switches parse like the others. */
	nb_options_init(&o);
	assert_int_equal(nb_options_set(&o, "nonempty", "", 1, err, sizeof(err)), 0);
	assert_int_equal(o.nonempty, 1);
	assert_int_equal(nb_options_set(&o, "compress", "maybe", 1, err, sizeof(err)), NB_E_CONFIG);
	assert_string_equal(err, "compress takes yes or no, not 'maybe'");
	assert_int_equal(nb_options_set(&o, "ssh_config", "none", 1, err, sizeof(err)), 0);
	assert_string_equal(o.ssh_config, "none");
	nb_options_free(&o);
	free(key);
	free(missing);
}

/* ssh=: the OpenSSH client when asked, or by itself for a host that ssh's
 * configuration reaches through a proxy (libssh2 would dial the host
 * directly); ssh=libssh2 with such a host is refused with the reason. */
static void test_openssh_choice(void **state)
{
	struct fx *f = *state;
	struct nb_options o;
	char err[1024];
	char *cfg = tu_join(f->dir, "ssh_config");
	char *cache = tu_join(f->dir, "c");
	FILE *fp = fopen(cfg, "w");
	assert_non_null(fp);
	fprintf(fp, "Host jumped\n  HostName 10.1.2.3\n  ProxyJump gate.example\n"
		    "Host plain\n  HostName 10.1.2.4\n");
	fclose(fp);

	nb_options_init(&o);
	assert_int_equal(nb_options_set(&o, "ssh", "putty", 1, err, sizeof(err)), NB_E_CONFIG);
	assert_string_equal(err, "ssh must be openssh or libssh2, not 'putty'");
	nb_options_free(&o);

	const struct {
		const char *remote, *ssh;
		int want_r, openssh;
		const char *proxy;
	} cases[] = {
		{"jumped:/d", NULL, 0, 1, "ProxyJump gate.example"},
		{"jumped:/d", "openssh", 0, 1, "ProxyJump gate.example"},
		{"jumped:/d", "libssh2", NB_E_CONFIG, 0, "ProxyJump gate.example"},
		{"plain:/d", NULL, 0, 1, NULL}, /* ssh is installed where the tests run */
		{"plain:/d", "libssh2", 0, 0, NULL},
		{"plain:/d", "openssh", 0, 1, NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		nb_options_init(&o);
		o.use_ssh_config = 1;
		o.mountpoint = strdup("/mnt");
		assert_int_equal(nb_options_set(&o, "remote", cases[i].remote, 1, err, sizeof(err)), 0);
		assert_int_equal(nb_options_set(&o, "ssh_config", cfg, 1, err, sizeof(err)), 0);
		assert_int_equal(nb_options_set(&o, "cache", cache, 1, err, sizeof(err)), 0);
		if (cases[i].ssh)
			assert_int_equal(nb_options_set(&o, "ssh", cases[i].ssh, 1, err, sizeof(err)), 0);
		assert_int_equal(nb_options_finish(&o, err, sizeof(err)), cases[i].want_r);
		if (cases[i].want_r) {
			assert_non_null(strstr(err, "ProxyJump gate.example"));
			assert_non_null(strstr(err, "drop ssh=libssh2"));
		} else {
			assert_int_equal(o.openssh, cases[i].openssh);
			/* ssh gets the name as the user wrote it, so its Host
			 * blocks apply; libssh2 the resolved one. */
			assert_string_equal(o.alias, cases[i].remote[0] == 'j' ? "jumped" : "plain");
			assert_string_equal(o.host, cases[i].remote[0] == 'j' ? "10.1.2.3" : "10.1.2.4");
		}
		if (cases[i].proxy)
			assert_string_equal(o.ssh_proxy, cases[i].proxy);
		else
			assert_null(o.ssh_proxy);
		assert_int_equal(o.known_hosts_given, 0);
		nb_options_free(&o);
	}
	free(cfg);
	free(cache);
}

/* AES-GCM moved to the front of ssh's stock cipher list, nothing lost or
 * added; a list ordered by hand is left alone. */
static void test_gcm_first(void **state)
{
	(void)state;
	char *l = nb_sshconfig_gcm_first("chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,"
					 "aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com");
	assert_non_null(l);
	assert_string_equal(l, "aes128-gcm@openssh.com,aes256-gcm@openssh.com,"
			       "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr");
	free(l);
	l = nb_sshconfig_gcm_first("chacha20-poly1305@openssh.com,aes256-gcm@openssh.com");
	assert_string_equal(l, "aes256-gcm@openssh.com,chacha20-poly1305@openssh.com");
	free(l);
	assert_null(nb_sshconfig_gcm_first("aes256-ctr,aes128-gcm@openssh.com"));
	assert_null(nb_sshconfig_gcm_first("chacha20-poly1305@openssh.com,aes128-ctr"));

	struct nb_sshconfig c;
	const char *text = "proxycommand nc %h %p\nproxyjump none\nciphers aes128-ctr\n";
	assert_int_equal(nb_sshconfig_parse(text, strlen(text), NULL, &c), 0);
	assert_string_equal(c.proxy, "ProxyCommand nc %h %p");
	assert_string_equal(c.ciphers, "aes128-ctr");
	nb_sshconfig_free(&c);
	text = "proxyjump none\n";
	assert_int_equal(nb_sshconfig_parse(text, strlen(text), NULL, &c), 0);
	assert_null(c.proxy);
	nb_sshconfig_free(&c);
}

static void test_bwlimit(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		int64_t v;
	} ok[] = {{"5M", 5 << 20}, {"500K", 500 << 10}, {"500k/s", 500 << 10}, {"1.5M", 3 << 19},
		  {"2MiB", 2 << 20}, {"4096", 4096}, {"0", 0}};
	static const char *const bad[] = {"", "fast", "5X", "-1M", "100", "5M/", "/s", "M"};
	struct nb_options o;
	char err[256];
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int64_t v = -2;
		if (nb_options_parse_rate(ok[i].s, &v) != 0 || v != ok[i].v)
			fail_msg("'%s': got %lld", ok[i].s, (long long)v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t v;
		if (nb_options_parse_rate(bad[i], &v) == 0)
			fail_msg("'%s' accepted as %lld", bad[i], (long long)v);
	}
	nb_options_init(&o);
	assert_int_equal(o.bwlimit, -1);
	assert_int_equal(nb_options_set(&o, "bwlimit", "2M", 1, err, sizeof(err)), 0);
	assert_int_equal(o.bwlimit, 2 << 20);
	/* The config file's value does not override the command line's. */
	assert_int_equal(nb_options_set(&o, "bwlimit", "1M", 0, err, sizeof(err)), 0);
	assert_int_equal(o.bwlimit, 2 << 20);
	assert_int_equal(nb_options_set(&o, "bwlimit", "lots", 1, err, sizeof(err)), NB_E_CONFIG);
	assert_string_equal(err, "bwlimit must be a rate in bytes per second of at least 1K, like "
				 "500K or 5M (0: no limit), not 'lots'");
	nb_options_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_remote_ok),
		cmocka_unit_test(test_remote_bad),
		cmocka_unit_test(test_remote_reparse),
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_bwlimit),
		cmocka_unit_test_setup_teardown(test_load_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_config_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_default_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_finish, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_ssh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_openssh_choice, setup, teardown),
		cmocka_unit_test(test_gcm_first),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
