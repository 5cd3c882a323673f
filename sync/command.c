/*
 * The server command line: nbfs-server, its arguments and the remote
 * directory, each word quoted for a POSIX shell.
 */
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

/* Append s to out at *o as one shell word (a leading "~/" stays
 * unquoted so the remote shell expands it). */
static int nb_command_word(char *out, size_t outsz, size_t *o, const char *s)
{
	char q[8192];
	if (*o && *o + 1 < outsz)
		out[(*o)++] = ' ';
	if (s[0] == '~' && s[1] == '/') {
		if (*o + 2 >= outsz)
			return -ENAMETOOLONG;
		out[(*o)++] = '~';
		out[(*o)++] = '/';
		s += 2;
	}
	int r = nb_shell_quote(q, sizeof(q), s);
	if (r != 0)
		return r;
	size_t n = strlen(q);
	if (*o + n + 1 > outsz)
		return -ENAMETOOLONG;
	memcpy(out + *o, q, n + 1);
	*o += n;
	return 0;
}

int nb_transport_command(char *out, size_t outsz, const char *server, const char *args,
			 const char *dir)
{
	size_t o = 0;
	int r;
	if (outsz == 0)
		return -ENAMETOOLONG;
	out[0] = 0;
	if ((r = nb_command_word(out, outsz, &o, server)) != 0)
		return r;
	/* Extra arguments: split at spaces, each quoted, so none of them can
	 * smuggle shell syntax in. */
	for (const char *a = args ? args : ""; *a;) {
		while (*a == ' ')
			a++;
		size_t n = strcspn(a, " ");
		if (n == 0)
			break;
		char word[4096];
		if (n >= sizeof(word))
			return -ENAMETOOLONG;
		memcpy(word, a, n);
		word[n] = 0;
		if ((r = nb_command_word(out, outsz, &o, word)) != 0)
			return r;
		a += n;
	}
	if ((r = nb_command_word(out, outsz, &o, "--root")) != 0)
		return r;
	return nb_command_word(out, outsz, &o, dir);
}
