/*
 * The config file (~/.config/nbfs/config or -o config=FILE): "key = value"
 * lines that fill the mount options the command line left unset. The
 * contract is in config.h.
 */
#include "fs/config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "wire/err.h"

static const char *nb_config_trim(char *s, size_t *len)
{
	while (*len > 0 && isspace((unsigned char)s[0])) {
		s++;
		(*len)--;
	}
	while (*len > 0 && isspace((unsigned char)s[*len - 1]))
		(*len)--;
	s[*len] = 0;
	return s;
}

int nb_config_parse(const char *text, size_t len,
		    int (*fn)(void *arg, const char *key, const char *value, char *err, size_t errsz),
		    void *arg, char *err,
		    size_t errsz)
{
	if (len > NB_CONFIG_MAX) {
		snprintf(err, errsz, "file larger than %d bytes", NB_CONFIG_MAX);
		return NB_E_CONFIG;
	}
	size_t pos = 0;
	int lineno = 0;
	while (pos < len) {
		lineno++;
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		char line[NB_CONFIG_LINE_MAX + 1];
		if (n > NB_CONFIG_LINE_MAX) {
			snprintf(err, errsz, "line %d: longer than %d bytes", lineno, NB_CONFIG_LINE_MAX);
			return NB_E_CONFIG;
		}
		memcpy(line, text + pos, n);
		line[n] = 0;
		pos += n + (nl ? 1 : 0);
		if (memchr(line, 0, n)) {
			snprintf(err, errsz, "line %d: contains a NUL byte", lineno);
			return NB_E_CONFIG;
		}
		size_t ln = n;
		char *s = (char *)nb_config_trim(line, &ln);
		if (ln == 0 || s[0] == '#')
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			snprintf(err, errsz, "line %d: expected key = value", lineno);
			return NB_E_CONFIG;
		}
		*eq = 0;
		size_t kl = (size_t)(eq - s), vl = strlen(eq + 1);
		const char *key = nb_config_trim(s, &kl);
		char *value = (char *)nb_config_trim(eq + 1, &vl);
		if (kl == 0) {
			snprintf(err, errsz, "line %d: missing key before '='", lineno);
			return NB_E_CONFIG;
		}
		for (size_t i = 0; i < kl; i++) {
			if (!isalnum((unsigned char)key[i]) && key[i] != '_') {
				snprintf(err, errsz, "line %d: bad key '%s'", lineno, key);
				return NB_E_CONFIG;
			}
		}
		if (vl >= 2 && value[0] == '"' && value[vl - 1] == '"') {
			value[vl - 1] = 0;
			value++;
		} else if (vl > 0 && (value[0] == '"' || value[vl - 1] == '"')) {
			snprintf(err, errsz, "line %d: unbalanced quote", lineno);
			return NB_E_CONFIG;
		}
		char why[512] = "";
		int r = fn(arg, key, value, why, sizeof(why));
		if (r != 0) {
			snprintf(err, errsz, "line %d: %s", lineno, why[0] ? why : nb_strerror(r));
			return r;
		}
	}
	return 0;
}
