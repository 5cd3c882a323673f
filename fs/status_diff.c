/*
 * What changed between two status reports, entry by entry, for `nbfs
 * status --follow`. The contract is in status_diff.h.
 */
#include "fs/status_diff.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* An entry of one report, for sorting by key. */
struct nb_diff_ref {
	const struct nb_status_entry *e;
	size_t i; /* its index: equal keys stay in queue order */
};

static int nb_diff_key_cmp(const struct nb_status_entry *x, const struct nb_status_entry *y)
{
	int c = strcmp(x->path, y->path);
	if (c == 0)
		c = strcmp(x->op, y->op);
	if (c == 0)
		c = strcmp(x->from, y->from);
	return c;
}

static int nb_diff_cmp(const void *pa, const void *pb)
{
	const struct nb_diff_ref *a = pa, *b = pb;
	int c = nb_diff_key_cmp(a->e, b->e);
	if (c == 0)
		c = a->i < b->i ? -1 : a->i > b->i;
	return c;
}

static struct nb_diff_ref *nb_diff_sorted(const struct nb_status *s)
{
	struct nb_diff_ref *v = malloc((s->n ? s->n : 1) * sizeof(*v));
	if (!v)
		return NULL;
	for (size_t i = 0; i < s->n; i++) {
		v[i].e = &s->v[i];
		v[i].i = i;
	}
	qsort(v, s->n, sizeof(*v), nb_diff_cmp);
	return v;
}

int nb_status_diff(const struct nb_status *a, const struct nb_status *b,
		   void (*fn)(void *arg, int change, const struct nb_status_entry *was,
			      const struct nb_status_entry *now, size_t now_i),
		   void *arg)
{
	struct nb_diff_ref *sa = nb_diff_sorted(a), *sb = nb_diff_sorted(b);
	/* For each entry of b, its match in a (or NULL). */
	const struct nb_status_entry **match = calloc(b->n ? b->n : 1, sizeof(*match));
	int r = 0;
	if (!sa || !sb || !match) {
		r = -ENOMEM;
		goto out;
	}
	/* Merge the two sorted lists: equal keys pair up in queue order. */
	size_t i = 0, k = 0;
	while (i < a->n || k < b->n) {
		int c = i == a->n ? 1 : k == b->n ? -1 : nb_diff_key_cmp(sa[i].e, sb[k].e);
		if (c < 0) {
			fn(arg, NB_CHANGE_REMOVED, sa[i].e, NULL, 0);
			i++;
		} else if (c > 0) {
			k++;
		} else {
			match[sb[k].i] = sa[i].e;
			i++;
			k++;
		}
	}
	for (size_t n = 0; n < b->n; n++)
		fn(arg, match[n] ? NB_CHANGE_SAME : NB_CHANGE_ADDED, match[n], &b->v[n], n);
out:
	free(sa);
	free(sb);
	free(match);
	return r;
}
