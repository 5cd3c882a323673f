/*
 * An intrusive hash map: the caller embeds a struct nb_hnode in its own
 * structure, computes the hash, and compares keys itself while walking
 * the nodes that share a hash (nb_hmap_first / nb_hmap_next). The map
 * never allocates per node, so adding cannot fail: the first bucket
 * array is made by nb_hmap_init, and when the map gets crowded it grows
 * it; if that allocation fails the chains just get longer.
 */
#ifndef NB_HMAP_H
#define NB_HMAP_H

#include <stddef.h>
#include <stdint.h>

/* The structure that contains member m, given a pointer p to it. */
#define nb_container_of(p, type, m) ((type *)(void *)((char *)(p)-offsetof(type, m)))

struct nb_hnode {
	struct nb_hnode *next;
	uint64_t hash;
};

struct nb_hmap {
	struct nb_hnode **b;
	size_t nb;    /* number of buckets: 0 or a power of two */
	size_t count; /* nodes in the map */
};

/* An empty map. 0 or -ENOMEM. */
int nb_hmap_init(struct nb_hmap *m);
/* Free the bucket array (the nodes belong to the caller); safe on a map
 * whose init failed. */
void nb_hmap_free(struct nb_hmap *m);
/* Add n under hash (n must not be in a map). */
void nb_hmap_add(struct nb_hmap *m, struct nb_hnode *n, uint64_t hash);
/* Remove n, which must be in m. */
void nb_hmap_del(struct nb_hmap *m, struct nb_hnode *n);
/* The first node with this hash, or NULL; then nb_hmap_next for more. */
struct nb_hnode *nb_hmap_first(const struct nb_hmap *m, uint64_t hash);
struct nb_hnode *nb_hmap_next(const struct nb_hnode *n);

/* FNV-1a of a NUL-terminated string, and a mix of a 64-bit integer. */
uint64_t nb_hash_str(const char *s);
uint64_t nb_hash_u64(uint64_t v);

#endif
