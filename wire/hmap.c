/*
 * An intrusive hash map: the caller embeds the node and compares keys
 * itself. The contract is in hmap.h.
 */
#include "wire/hmap.h"

#include <errno.h>
#include <stdlib.h>

#define NB_HMAP_FIRST 64

int nb_hmap_init(struct nb_hmap *m)
{
	m->count = 0;
	m->nb = NB_HMAP_FIRST;
	m->b = calloc(m->nb, sizeof(*m->b));
	if (!m->b) {
		m->nb = 0;
		return -ENOMEM;
	}
	return 0;
}

void nb_hmap_free(struct nb_hmap *m)
{
	free(m->b);
	m->b = NULL;
	m->nb = 0;
	m->count = 0;
}

static void nb_hmap_grow(struct nb_hmap *m)
{
	size_t n = m->nb * 2;
	struct nb_hnode **b = calloc(n, sizeof(*b));
	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < m->nb; i++) {
		struct nb_hnode *x = m->b[i];
		while (x) {
			struct nb_hnode *next = x->next;
			size_t j = (size_t)x->hash & (n - 1);
			x->next = b[j];
			b[j] = x;
			x = next;
		}
	}
	free(m->b);
	m->b = b;
	m->nb = n;
}

void nb_hmap_add(struct nb_hmap *m, struct nb_hnode *n, uint64_t hash)
{
	if (m->count >= m->nb)
		nb_hmap_grow(m);
	n->hash = hash;
	size_t i = (size_t)hash & (m->nb - 1);
	n->next = m->b[i];
	m->b[i] = n;
	m->count++;
}

void nb_hmap_del(struct nb_hmap *m, struct nb_hnode *n)
{
	struct nb_hnode **pp = &m->b[(size_t)n->hash & (m->nb - 1)];
	while (*pp && *pp != n)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = n->next;
		m->count--;
	}
	n->next = NULL;
}

struct nb_hnode *nb_hmap_first(const struct nb_hmap *m, uint64_t hash)
{
	if (!m->nb)
		return NULL;
	struct nb_hnode *x = m->b[(size_t)hash & (m->nb - 1)];
	while (x && x->hash != hash)
		x = x->next;
	return x;
}

struct nb_hnode *nb_hmap_next(const struct nb_hnode *n)
{
	struct nb_hnode *x = n->next;
	while (x && x->hash != n->hash)
		x = x->next;
	return x;
}

uint64_t nb_hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

uint64_t nb_hash_u64(uint64_t v)
{
	/* splitmix64's finaliser: every input bit reaches the low bits the
	 * bucket index uses. */
	v ^= v >> 30;
	v *= 0xbf58476d1ce4e5b9ull;
	v ^= v >> 27;
	v *= 0x94d049bb133111ebull;
	v ^= v >> 31;
	return v;
}
