/*
 * The path index of the queue: unfinished entries by path, answering
 * "which earlier entry overlaps this path" in O(depth x log n). The
 * contract is in ptree.h.
 */
#include "sync/ptree.h"

#include <string.h>

#include "wire/pathname.h"

/* A bound on paths: none, or path >= s (lo) / path < s (hi, exclusive)
 * or path <= s (hi, inclusive). */
/* A bound on paths: the first len bytes of s, then the byte suffix if
 * it is not 0 ("dir" + '/' is the first path below dir, "dir" + '0'
 * the first past them). Bounds point into the caller's strings, so no
 * path is copied (a path may be 32 KiB). */
struct nb_bound {
	const char *s; /* NULL: unbounded */
	size_t len;
	char suffix;
	int incl;
};

/* strcmp(p, the bound's string). */
static int nb_bound_cmp(const char *p, const struct nb_bound *b)
{
	/* s holds no NUL in its first len bytes, so a shorter p compares
	 * lower here, as strcmp would have it. */
	int c = strncmp(p, b->s, b->len);
	if (c != 0)
		return c;
	unsigned char pc = (unsigned char)p[b->len], bc = (unsigned char)b->suffix;
	if (pc != bc)
		return pc < bc ? -1 : 1;
	if (bc == 0)
		return 0;
	return p[b->len + 1] ? 1 : 0;
}

void nb_ptree_init(struct nb_ptree *t)
{
	t->root = NULL;
	t->rng = 0x9e3779b97f4a7c15ull;
	t->count = 0;
}

static uint32_t nb_ptree_rand(struct nb_ptree *t)
{
	/* xorshift64*: priorities only need to look random to the input. */
	t->rng ^= t->rng >> 12;
	t->rng ^= t->rng << 25;
	t->rng ^= t->rng >> 27;
	return (uint32_t)((t->rng * 2685821657736338717ull) >> 32);
}

static struct nb_pnode *nb_earlier(struct nb_pnode *a, struct nb_pnode *b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	return a->seq <= b->seq ? a : b;
}

static void nb_pnode_update(struct nb_pnode *n)
{
	struct nb_pnode *all = n, *bar = n->barrier ? n : NULL;
	if (n->l) {
		all = nb_earlier(all, n->l->min_all);
		bar = nb_earlier(bar, n->l->min_bar);
	}
	if (n->r) {
		all = nb_earlier(all, n->r->min_all);
		bar = nb_earlier(bar, n->r->min_bar);
	}
	n->min_all = all;
	n->min_bar = bar;
}

/* Nodes are ordered by (path, seq), and by address as a last resort so
 * that two keys of one entry with the same path stay distinct. */
static int nb_pnode_cmp(const struct nb_pnode *a, const struct nb_pnode *b)
{
	int c = strcmp(a->path, b->path);
	if (c)
		return c;
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	return a < b ? -1 : a > b;
}

static void nb_ptree_add(struct nb_pnode **pp, struct nb_pnode *n)
{
	struct nb_pnode *p = *pp;
	if (!p) {
		*pp = n;
		nb_pnode_update(n);
		return;
	}
	if (nb_pnode_cmp(n, p) < 0) {
		nb_ptree_add(&p->l, n);
		if (p->l->prio > p->prio) { /* rotate right */
			struct nb_pnode *x = p->l;
			p->l = x->r;
			x->r = p;
			nb_pnode_update(p);
			*pp = p = x;
		}
	} else {
		nb_ptree_add(&p->r, n);
		if (p->r->prio > p->prio) { /* rotate left */
			struct nb_pnode *x = p->r;
			p->r = x->l;
			x->l = p;
			nb_pnode_update(p);
			*pp = p = x;
		}
	}
	nb_pnode_update(p);
}

void nb_ptree_insert(struct nb_ptree *t, struct nb_pnode *n)
{
	n->l = n->r = NULL;
	n->prio = nb_ptree_rand(t);
	nb_ptree_add(&t->root, n);
	t->count++;
}

static struct nb_pnode *nb_ptree_merge(struct nb_pnode *a, struct nb_pnode *b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	if (a->prio > b->prio) {
		a->r = nb_ptree_merge(a->r, b);
		nb_pnode_update(a);
		return a;
	}
	b->l = nb_ptree_merge(a, b->l);
	nb_pnode_update(b);
	return b;
}

static int nb_ptree_del(struct nb_pnode **pp, struct nb_pnode *n)
{
	struct nb_pnode *p = *pp;
	if (!p)
		return 0;
	int found;
	if (p == n) {
		*pp = nb_ptree_merge(n->l, n->r);
		n->l = n->r = NULL;
		return 1;
	}
	found = nb_pnode_cmp(n, p) < 0 ? nb_ptree_del(&p->l, n) : nb_ptree_del(&p->r, n);
	if (found)
		nb_pnode_update(p);
	return found;
}

void nb_ptree_remove(struct nb_ptree *t, struct nb_pnode *n)
{
	if (nb_ptree_del(&t->root, n))
		t->count--;
}

static int nb_above_lo(const struct nb_pnode *n, const struct nb_bound *lo)
{
	if (!lo->s)
		return 1;
	int c = nb_bound_cmp(n->path, lo);
	return c > 0 || (c == 0 && lo->incl);
}

static int nb_below_hi(const struct nb_pnode *n, const struct nb_bound *hi)
{
	if (!hi->s)
		return 1;
	int c = nb_bound_cmp(n->path, hi);
	return c < 0 || (c == 0 && hi->incl);
}

/* The earliest node with lo <= path < hi in the subtree at n. lo_open /
 * hi_open: the bound is known to hold for the whole subtree. Once the
 * search splits, each side follows one path down, taking whole
 * subtrees' aggregates on the way: O(depth). */
static struct nb_pnode *nb_ptree_min(const struct nb_pnode *n, const struct nb_bound *lo,
				     const struct nb_bound *hi, int lo_open, int hi_open, int bar)
{
	while (n) {
		if ((lo_open || !lo->s) && (hi_open || !hi->s))
			return bar ? n->min_bar : n->min_all;
		if (!lo_open && !nb_above_lo(n, lo)) {
			n = n->r;
			continue;
		}
		if (!hi_open && !nb_below_hi(n, hi)) {
			n = n->l;
			continue;
		}
		struct nb_pnode *best = !bar || n->barrier ? (struct nb_pnode *)n : NULL;
		best = nb_earlier(best, nb_ptree_min(n->l, lo, hi, lo_open, 1, bar));
		return nb_earlier(best, nb_ptree_min(n->r, lo, hi, 1, hi_open, bar));
	}
	return NULL;
}

struct nb_pnode *nb_ptree_first_overlap(const struct nb_ptree *t, const char *path,
					int barriers_only)
{
	struct nb_pnode *best = NULL;
	size_t n = strlen(path);
	if (n > NB_PATH_MAX || !t->root)
		return NULL;
	/* The path itself and each ancestor, the root "" included. */
	for (size_t i = 0; i <= n; i++) {
		if (i != 0 && i != n && path[i] != '/')
			continue;
		/* i == 0: the root ""; else the prefix that ends at i. */
		struct nb_bound b = {path, i, 0, 1};
		best = nb_earlier(best, nb_ptree_min(t->root, &b, &b, 0, 0, barriers_only));
	}
	/* Everything below it: "path/" <= p < "path0". */
	if (n == 0) {
		struct nb_bound b = {"", 0, 0, 0}, none = {NULL, 0, 0, 0};
		return nb_earlier(best, nb_ptree_min(t->root, &b, &none, 0, 1, barriers_only));
	}
	struct nb_bound bl = {path, n, '/', 1}, bh = {path, n, '/' + 1, 0};
	return nb_earlier(best, nb_ptree_min(t->root, &bl, &bh, 0, 0, barriers_only));
}

/* In-order walk of lo <= path < hi. */
static int nb_ptree_walk(struct nb_pnode *n, const struct nb_bound *lo, const struct nb_bound *hi,
			 int (*fn)(void *arg, struct nb_pnode *n), void *arg)
{
	int r = 0;
	while (n && r == 0) {
		int above = nb_above_lo(n, lo), below = nb_below_hi(n, hi);
		if (above && (r = nb_ptree_walk(n->l, lo, hi, fn, arg)) != 0)
			return r;
		if (above && below && (r = fn(arg, n)) != 0)
			return r;
		if (!below)
			return 0;
		n = n->r;
	}
	return r;
}

int nb_ptree_each_at(const struct nb_ptree *t, const char *path,
		     int (*fn)(void *arg, struct nb_pnode *n), void *arg)
{
	struct nb_bound b = {path, strlen(path), 0, 1};
	return nb_ptree_walk(t->root, &b, &b, fn, arg);
}

int nb_ptree_each_within(const struct nb_ptree *t, const char *dir,
			 int (*fn)(void *arg, struct nb_pnode *n), void *arg)
{
	if (!dir[0]) {
		struct nb_bound none = {NULL, 0, 0, 0};
		return nb_ptree_walk(t->root, &none, &none, fn, arg);
	}
	size_t n = strlen(dir);
	if (n > NB_PATH_MAX)
		return 0;
	int r = nb_ptree_each_at(t, dir, fn, arg);
	struct nb_bound bl = {dir, n, '/', 1}, bh = {dir, n, '/' + 1, 0};
	return r ? r : nb_ptree_walk(t->root, &bl, &bh, fn, arg);
}
