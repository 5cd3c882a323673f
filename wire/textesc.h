/*
 * Text escaping for lines that carry file names, such as the status
 * report (sync/report.c writes it, fs/status.c reads it back): a name may
 * hold any byte but NUL and '/', so backslash, newline and tab become
 * \\, \n and \t, and other control bytes \xHH. No escaped field holds a
 * raw tab or newline (a reader splits lines at tabs), and nothing
 * reaches a terminal raw. Every other byte is itself.
 */
#ifndef NB_TEXTESC_H
#define NB_TEXTESC_H

#include <stddef.h>

/* Escape in into out (size outsz, always NUL-terminated, cut at a whole
 * escape if need be). */
void nb_textesc_escape(const char *in, char *out, size_t outsz);
/* Undo the escapes in the n bytes at in, into out (room for n + 1
 * bytes: the result is never longer), NUL-terminated. An unknown or cut
 * escape is kept as it stands; so is "\x00", which would end the string
 * early. Returns the length. */
size_t nb_textesc_unescape(const char *in, size_t n, char *out);
/* The value of one hex digit (either case), or -1. */
int nb_hex_value(char c);

#endif
