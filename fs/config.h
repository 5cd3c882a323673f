/*
 * The config file (~/.config/nbfs/config or -o config=FILE): one
 * "key = value" per line, '#' starts a comment line, blank lines are
 * ignored, values may be wrapped in double quotes. Keys are the mount
 * options (remote, identity, port, ...).
 */
#ifndef NB_CONFIG_H
#define NB_CONFIG_H

#include <stddef.h>

#define NB_CONFIG_MAX (64 * 1024)
#define NB_CONFIG_LINE_MAX 4096

/* Parse text (len bytes, need not be NUL-terminated) and call fn for
 * each setting, in order; fn returns 0 to go on, or an error (with a
 * message in its err) that stops the parse and is returned. On a syntax error returns NB_E_CONFIG with
 * "line N: what" in err. */
int nb_config_parse(const char *text, size_t len,
		    int (*fn)(void *arg, const char *key, const char *value, char *err, size_t errsz),
		    void *arg, char *err,
		    size_t errsz);

#endif
