/*
 * A small JSON writer over an nb_buf, for `nbfs status --json`. The
 * contract is in json.h.
 */
#include "fs/json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void nb_json_init(struct nb_json *j, struct nb_buf *out)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
}

int nb_json_end(struct nb_json *j)
{
	if (j->r == 0 && (j->depth != 0 || j->after_key))
		j->r = -EINVAL;
	return j->r;
}

static void nb_json_put(struct nb_json *j, const void *s, size_t n)
{
	int r;
	if (j->r == 0 && (r = nb_buf_put(j->out, s, n)) != 0)
		j->r = r;
}

/* Before any value or key: the comma that separates it from the one
 * before, unless it is the value of a key just written. */
static void nb_json_sep(struct nb_json *j)
{
	if (j->after_key) {
		j->after_key = 0;
		return;
	}
	if (j->has_item[j->depth])
		nb_json_put(j, ",", 1);
	j->has_item[j->depth] = 1;
}

static void nb_json_open(struct nb_json *j, char c)
{
	nb_json_sep(j);
	if (j->depth + 1 >= NB_JSON_DEPTH) {
		if (j->r == 0)
			j->r = -EINVAL;
		return;
	}
	nb_json_put(j, &c, 1);
	j->has_item[++j->depth] = 0;
}

static void nb_json_close(struct nb_json *j, char c)
{
	if (j->depth == 0 || j->after_key) {
		if (j->r == 0)
			j->r = -EINVAL;
		return;
	}
	j->depth--;
	nb_json_put(j, &c, 1);
}

void nb_json_obj(struct nb_json *j)
{
	nb_json_open(j, '{');
}

void nb_json_obj_end(struct nb_json *j)
{
	nb_json_close(j, '}');
}

void nb_json_arr(struct nb_json *j)
{
	nb_json_open(j, '[');
}

void nb_json_arr_end(struct nb_json *j)
{
	nb_json_close(j, ']');
}

/* The length of the well-formed UTF-8 sequence at s (n bytes left), or
 * 0 if the byte there does not start one (RFC 3629's table). */
static size_t nb_json_utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf; /* the range of the second byte */
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* past U+10FFFF */
	} else {
		return 0;
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

int nb_json_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		size_t k = nb_json_utf8_len(p + i, n - i);
		if (k == 0)
			return 0;
		i += k;
	}
	return 1;
}

static void nb_json_quote(struct nb_json *j, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t run = 0; /* bytes at p + i - run to copy as they are */
	char esc[8];
	nb_json_put(j, "\"", 1);
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		size_t k = nb_json_utf8_len(p + i, n - i);
		const char *rep = NULL;
		if (c == '"')
			rep = "\\\"";
		else if (c == '\\')
			rep = "\\\\";
		else if (c == '\n')
			rep = "\\n";
		else if (c == '\t')
			rep = "\\t";
		else if (c == '\r')
			rep = "\\r";
		else if (c == '\b')
			rep = "\\b";
		else if (c == '\f')
			rep = "\\f";
		else if (c < 0x20 || c == 0x7f)
			rep = (snprintf(esc, sizeof(esc), "\\u%04x", c), esc);
		else if (k == 3 && c == 0xe2 && p[i + 1] == 0x80 &&
			 (p[i + 2] == 0xa8 || p[i + 2] == 0xa9))
			rep = p[i + 2] == 0xa8 ? "\\u2028" : "\\u2029";
		else if (k == 0)
			rep = "\\ufffd";
		if (!rep) {
			run += k;
			i += k;
			continue;
		}
		nb_json_put(j, p + i - run, run);
		run = 0;
		nb_json_put(j, rep, strlen(rep));
		i += k ? k : 1;
	}
	nb_json_put(j, p + n - run, run);
	nb_json_put(j, "\"", 1);
}

void nb_json_key(struct nb_json *j, const char *name)
{
	nb_json_sep(j);
	nb_json_quote(j, name, strlen(name));
	nb_json_put(j, ":", 1);
	j->after_key = 1;
}

void nb_json_strn(struct nb_json *j, const char *s, size_t n)
{
	nb_json_sep(j);
	nb_json_quote(j, s, n);
}

void nb_json_str(struct nb_json *j, const char *s)
{
	nb_json_strn(j, s, strlen(s));
}

void nb_json_hex(struct nb_json *j, const char *s)
{
	static const char digits[] = "0123456789abcdef";
	nb_json_sep(j);
	nb_json_put(j, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char h[2] = {digits[*p >> 4], digits[*p & 15]};
		nb_json_put(j, h, 2);
	}
	nb_json_put(j, "\"", 1);
}

void nb_json_u64(struct nb_json *j, uint64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%" PRIu64, v);
	nb_json_sep(j);
	nb_json_put(j, num, (size_t)n);
}

void nb_json_bool(struct nb_json *j, int v)
{
	nb_json_sep(j);
	nb_json_put(j, v ? "true" : "false", v ? 4 : 5);
}

void nb_json_null(struct nb_json *j)
{
	nb_json_sep(j);
	nb_json_put(j, "null", 4);
}
