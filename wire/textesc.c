/*
 * Text escaping of file names in line-oriented text (\\, \n, \t, \xHH).
 * The contract is in textesc.h.
 */
#include "wire/textesc.h"

#include <stdio.h>

int nb_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void nb_textesc_escape(const char *in, char *out, size_t outsz)
{
	size_t o = 0;
	if (outsz == 0)
		return;
	for (const unsigned char *p = (const unsigned char *)in; *p && o + 5 < outsz; p++) {
		if (*p == '\\' || *p == '\n' || *p == '\t') {
			out[o++] = '\\';
			out[o++] = *p == '\\' ? '\\' : *p == '\n' ? 'n' : 't';
		} else if (*p < 0x20 || *p == 0x7f) {
			o += (size_t)snprintf(out + o, outsz - o, "\\x%02x", *p);
		} else {
			out[o++] = (char)*p;
		}
	}
	out[o] = 0;
}

size_t nb_textesc_unescape(const char *in, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (in[i] != '\\' || i + 1 >= n) {
			out[o++] = in[i];
			continue;
		}
		char c = in[i + 1];
		int hi = c == 'x' && i + 3 < n ? nb_hex_value(in[i + 2]) : -1;
		int lo = hi >= 0 ? nb_hex_value(in[i + 3]) : -1;
		if (c == '\\' || c == 'n' || c == 't') {
			out[o++] = c == 'n' ? '\n' : c == 't' ? '\t' : '\\';
			i++;
		} else if (lo >= 0 && (hi | lo) != 0) {
			out[o++] = (char)(hi * 16 + lo);
			i += 3;
		} else {
			out[o++] = in[i];
		}
	}
	out[o] = 0;
	return o;
}
