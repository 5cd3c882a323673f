#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sync/transport.h"

int nb_shell_quote(char *out, size_t outsz, const char *s)
{
	size_t o = 0;
	if (outsz < 3)
		return -ENAMETOOLONG;
	out[o++] = '\'';
	for (; *s; s++) {
		if (*s == '\'') {
			/* close quote, escaped quote, reopen: '\'' */
			if (o + 4 >= outsz)
				return -ENAMETOOLONG;
			memcpy(out + o, "'\\''", 4);
			o += 4;
		} else {
			if (o + 1 >= outsz)
				return -ENAMETOOLONG;
			out[o++] = *s;
		}
	}
	if (o + 2 > outsz)
		return -ENAMETOOLONG;
	out[o++] = '\'';
	out[o] = 0;
	return 0;
}

int nb_transport_command(char *out, size_t outsz, const char *server_cmd, const char *dir)
{
	char q[8192];
	int r = nb_shell_quote(q, sizeof(q), dir);
	if (r != 0)
		return r;
	int n = snprintf(out, outsz, "%s --root %s", server_cmd, q);
	return n < 0 || (size_t)n >= outsz ? -ENAMETOOLONG : 0;
}
