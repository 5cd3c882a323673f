/*
 * libFuzzer target: the input is a config file (~/.config/nbfs/config).
 *
 * It goes through nb_config_parse with a callback that applies each
 * setting with nb_options_set, as nb_options_load_config does (config
 * file below the command line, and no 'config' key inside a config
 * file). The first line of the input is also parsed as a REMOTE spec by
 * nb_options_parse_remote, and finally nb_options_finish runs on what the
 * file set (with a fixed mount point, and the first line as the remote if
 * the file named none), so every value a config file can carry flows
 * through the code that uses it. nb_options_finish only reads the
 * filesystem (getcwd, realpath, access); HOME and XDG_CACHE_HOME are
 * fixed so the results do not depend on who runs the fuzzer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/config.h"
#include "fs/options.h"
#include "wire/err.h"

static int fz_apply(void *arg, const char *key, const char *value, char *err, size_t errsz)
{
	if (!strcmp(key, "config")) {
		snprintf(err, errsz, "'config' cannot be set inside a config file");
		return NB_E_CONFIG;
	}
	return nb_options_set(arg, key, value, 0, err, errsz);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	if (!inited) {
		setenv("HOME", "/nonexistent/nbfs-fuzz-home", 1);
		setenv("XDG_CACHE_HOME", "/nonexistent/nbfs-fuzz-cache", 1);
		unsetenv("XDG_CONFIG_HOME");
		inited = 1;
	}
	struct nb_options o;
	char err[768];
	nb_options_init(&o);

	/* The parser takes text that need not be NUL-terminated: hand it a
	 * copy of exactly `size` bytes so ASan catches any read past it. */
	char *text = malloc(size ? size : 1);
	if (!text)
		return 0;
	if (size)
		memcpy(text, data, size);
	err[0] = 0;
	int r = nb_config_parse(text, size, fz_apply, &o, err, sizeof(err));
	if (r != 0 && !err[0]) {
		fprintf(stderr, "fuzz_config: nb_config_parse failed (%d) without a message\n", r);
		abort();
	}
	free(text);

	/* The first line as a REMOTE spec (a C string: up to the first
	 * newline or NUL). */
	size_t n = 0;
	while (n < size && data[n] != '\n' && data[n] != 0)
		n++;
	char *spec = malloc(n + 1);
	if (!spec) {
		nb_options_free(&o);
		return 0;
	}
	memcpy(spec, data, n);
	spec[n] = 0;
	struct nb_options ro;
	nb_options_init(&ro);
	err[0] = 0;
	r = nb_options_parse_remote(spec, &ro, err, sizeof(err));
	if (r == 0 && (!ro.dir || (!ro.local && (!ro.host || !ro.host[0])))) {
		fprintf(stderr, "fuzz_config: parse_remote accepted '%s' without a host or dir\n",
			spec);
		abort();
	}
	nb_options_free(&ro);

	/* Everything the file set, through nb_options_finish. */
	if (nb_options_set(&o, "remote", spec, 0, err, sizeof(err)) == 0) {
		o.mountpoint = strdup("/nonexistent/nbfs-fuzz-mnt");
		if (o.mountpoint)
			nb_options_finish(&o, err, sizeof(err));
	}
	free(spec);
	nb_options_free(&o);
	return 0;
}
