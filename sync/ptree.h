/*
 * The path index of the queue: every unfinished queue entry, by path,
 * ordered by (path, seq), answering in O(depth x log n) "which entry
 * earliest in queue order touches a path that overlaps this one?" (the
 * same path, an ancestor or a descendant), among all entries or among
 * barriers only. That question decides whether an entry may run, so it
 * must stay cheap with 100,000 entries queued.
 *
 * A treap (a binary search tree balanced by random priorities): each
 * node also keeps the earliest node of its subtree, and the earliest
 * barrier. The subtree of "a/b" (all paths "a/b/...") is the key range
 * ["a/b/", "a/b0"), since '0' follows '/'. Intrusive: the caller embeds
 * struct nb_pnode and keeps its path string alive while it is indexed.
 * Not thread-safe (the queue's lock covers it).
 */
#ifndef NB_PTREE_H
#define NB_PTREE_H

#include <stddef.h>
#include <stdint.h>

struct nb_pnode {
	struct nb_pnode *l, *r;
	uint32_t prio;
	int barrier;
	int64_t seq;
	const char *path; /* borrowed from the owner */
	void *owner;
	struct nb_pnode *min_all, *min_bar; /* earliest in this subtree */
};

struct nb_ptree {
	struct nb_pnode *root;
	uint64_t rng;
	size_t count;
};

void nb_ptree_init(struct nb_ptree *t);
/* Index n under n->path and n->seq (set by the caller, with barrier and
 * owner). n must not be indexed already. */
void nb_ptree_insert(struct nb_ptree *t, struct nb_pnode *n);
/* Take n out of the index (it must be in it). */
void nb_ptree_remove(struct nb_ptree *t, struct nb_pnode *n);
/* The node earliest in queue order (lowest seq) whose path equals path,
 * lies above it or below it; with barriers_only, among barrier nodes
 * only. NULL if there is none. */
struct nb_pnode *nb_ptree_first_overlap(const struct nb_ptree *t, const char *path,
					int barriers_only);
/* Call fn for every node whose path is dir or lies below it ("" is
 * everything), in path order, until fn returns nonzero (which is
 * returned). fn must not change the index: collect, then act. */
int nb_ptree_each_within(const struct nb_ptree *t, const char *dir,
			 int (*fn)(void *arg, struct nb_pnode *n), void *arg);
/* The same for nodes whose path is exactly path. */
int nb_ptree_each_at(const struct nb_ptree *t, const char *path,
		     int (*fn)(void *arg, struct nb_pnode *n), void *arg);

#endif
