/*
 * The set of pinned paths in memory: a pinned path and everything below it
 * is kept locally. The contract is in pins.h.
 */
#include "sync/pins.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wire/pathname.h"

void nb_pins_init(struct nb_pins *p)
{
	memset(p, 0, sizeof(*p));
}

void nb_pins_free(struct nb_pins *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
	nb_pins_init(p);
}

/* Where path is, or would go: *found says which. */
static size_t nb_pins_find(const struct nb_pins *p, const char *path, size_t len, int *found)
{
	size_t lo = 0, hi = p->n;
	*found = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strncmp(p->v[mid], path, len);
		if (c == 0 && p->v[mid][len] != 0)
			c = 1; /* longer: after path */
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int nb_pins_add(struct nb_pins *p, const char *path)
{
	int found;
	size_t i = nb_pins_find(p, path, strlen(path), &found);
	if (found)
		return 0;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;
		char **v = realloc(p->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		p->v = v;
		p->cap = cap;
	}
	char *s = strdup(path);
	if (!s)
		return -ENOMEM;
	memmove(p->v + i + 1, p->v + i, (p->n - i) * sizeof(*p->v));
	p->v[i] = s;
	p->n++;
	return 0;
}

size_t nb_pins_del_within(struct nb_pins *p, const char *path)
{
	size_t k = 0, gone = 0;
	for (size_t i = 0; i < p->n; i++) {
		if (nb_path_is_within(p->v[i], path)) {
			free(p->v[i]);
			gone++;
		} else {
			p->v[k++] = p->v[i];
		}
	}
	p->n = k;
	return gone;
}

int nb_pins_move(struct nb_pins *p, const char *from, const char *to)
{
	size_t flen = strlen(from), tlen = strlen(to);
	char **moved = NULL;
	size_t nmoved = 0;
	int r = 0;
	/* Take the pins below from out, then drop what is at to, then put
	 * them back under their new names. */
	for (size_t i = 0; i < p->n; i++)
		if (nb_path_is_within(p->v[i], from))
			nmoved++;
	if (nmoved && !(moved = calloc(nmoved, sizeof(*moved))))
		return -ENOMEM;
	nmoved = 0;
	size_t k = 0;
	for (size_t i = 0; i < p->n; i++) {
		if (nb_path_is_within(p->v[i], from))
			moved[nmoved++] = p->v[i];
		else
			p->v[k++] = p->v[i];
	}
	p->n = k;
	nb_pins_del_within(p, to);
	for (size_t i = 0; i < nmoved; i++) {
		size_t rest = strlen(moved[i]) - flen;
		char *s = malloc(tlen + rest + 1);
		if (s) {
			memcpy(s, to, tlen);
			memcpy(s + tlen, moved[i] + flen, rest + 1);
		}
		if (!s || nb_pins_add(p, s) != 0)
			r = -ENOMEM;
		free(s);
		free(moved[i]);
	}
	free(moved);
	return r;
}

int nb_pins_has(const struct nb_pins *p, const char *path)
{
	int found;
	nb_pins_find(p, path, strlen(path), &found);
	return found;
}

int nb_pins_covers(const struct nb_pins *p, const char *path)
{
	if (p->n == 0)
		return 0;
	/* path itself, then each ancestor: "a/b/c", "a/b", "a". */
	size_t len = strlen(path);
	for (;;) {
		int found;
		nb_pins_find(p, path, len, &found);
		if (found)
			return 1;
		while (len > 0 && path[len - 1] != '/')
			len--;
		if (len == 0)
			return 0;
		len--; /* the slash */
	}
}
