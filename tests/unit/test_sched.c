/* Unit tests for sync/ptree.c (the path index) and sync/sched.c (the
 * scheduler), each checked against a plain model: a list scanned in
 * full, as the old queue did. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/ptree.h"
#include "sync/sched.h"
#include "wire/pathname.h"

/* ---- a model item: paths, seq, barrier, time, runnable ---- */

#define MAXN 400

struct item {
	char path[32], path2[32];
	int has2, barrier, live;
	int64_t seq;
	long long ready_at; /* < 0: not runnable */
	int taken;          /* picked, not finished */
	struct nb_sched_item si;
	struct nb_pnode pn;
};

static struct item items[MAXN];
static unsigned rng = 12345;

static unsigned rnd(void)
{
	rng = rng * 1103515245u + 12345u;
	return (rng >> 8) & 0xffffff;
}

/* Paths from small pools so they overlap often: "", a, a/b, ab, ... */
static void rand_path(char *out)
{
	static const char *const pool[] = {"", "a", "b", "ab", "a/a", "a/b", "a/b/c", "b/a",
					   "ab/c", "a/ab", "a!", "a/b/c/d"};
	snprintf(out, 32, "%s", pool[rnd() % (sizeof(pool) / sizeof(pool[0]))]);
}

static int overlaps(const char *x, const char *y)
{
	return nb_path_is_within(x, y) || nb_path_is_within(y, x);
}

/* ---- ptree against the model ---- */

static struct item *model_first_overlap(const char *path, int barriers_only)
{
	struct item *best = NULL;
	for (int i = 0; i < MAXN; i++) {
		struct item *it = &items[i];
		if (!it->live || (barriers_only && !it->barrier))
			continue;
		if (overlaps(it->path, path) && (!best || it->seq < best->seq))
			best = it;
	}
	return best;
}

static int count_cb(void *arg, struct nb_pnode *n)
{
	(void)n;
	++*(int *)arg;
	return 0;
}

static int model_count_within(const char *dir)
{
	int n = 0;
	for (int i = 0; i < MAXN; i++)
		n += items[i].live && nb_path_is_within(items[i].path, dir);
	return n;
}

static void test_ptree_model(void **state)
{
	(void)state;
	struct nb_ptree t;
	nb_ptree_init(&t);
	memset(items, 0, sizeof(items));
	int64_t seq = 0;
	for (int step = 0; step < 20000; step++) {
		struct item *it = &items[rnd() % MAXN];
		if (it->live) {
			nb_ptree_remove(&t, &it->pn);
			it->live = 0;
		} else {
			rand_path(it->path);
			it->barrier = rnd() % 3 == 0;
			it->seq = ++seq;
			it->live = 1;
			it->pn = (struct nb_pnode){.path = it->path, .seq = it->seq,
						   .barrier = it->barrier, .owner = it};
			nb_ptree_insert(&t, &it->pn);
		}
		char q[32];
		rand_path(q);
		for (int b = 0; b < 2; b++) {
			struct item *want = model_first_overlap(q, b);
			struct nb_pnode *got = nb_ptree_first_overlap(&t, q, b);
			if ((got ? got->owner : NULL) != want)
				fail_msg("step %d: first overlap of '%s' (barriers %d): want %lld, got %lld",
					 step, q, b, want ? (long long)want->seq : -1LL,
					 got ? (long long)got->seq : -1LL);
		}
		int n = 0;
		nb_ptree_each_within(&t, q, count_cb, &n);
		assert_int_equal(n, model_count_within(q));
	}
	for (int i = 0; i < MAXN; i++)
		if (items[i].live)
			nb_ptree_remove(&t, &items[i].pn);
	assert_true(t.count == 0);
	assert_null(t.root);
}

/* ---- the scheduler against the model ---- */

/* The old rule, scanned in full: the earliest runnable item with no
 * earlier unfinished item in its way. */
static struct item *model_pick(long long now)
{
	struct item *best = NULL;
	for (int i = 0; i < MAXN; i++) {
		struct item *it = &items[i];
		if (!it->live || it->taken || it->ready_at < 0 || it->ready_at > now)
			continue;
		int blocked = 0;
		for (int j = 0; j < MAXN && !blocked; j++) {
			struct item *x = &items[j];
			if (!x->live || x->seq >= it->seq || (!it->barrier && !x->barrier))
				continue;
			blocked = overlaps(x->path, it->path) || (x->has2 && overlaps(x->path2, it->path)) ||
				  (it->has2 && (overlaps(x->path, it->path2) ||
						(x->has2 && overlaps(x->path2, it->path2))));
		}
		if (!blocked && (!best || it->seq < best->seq))
			best = it;
	}
	return best;
}

static void test_sched_model(void **state)
{
	(void)state;
	struct nb_sched s;
	nb_sched_init(&s);
	memset(items, 0, sizeof(items));
	int64_t seq = 0;
	long long now = 1000;
	for (int step = 0; step < 30000; step++) {
		struct item *it = &items[rnd() % MAXN];
		switch (rnd() % 6) {
		case 0: /* new entry at the tail, or finished */
		case 1:
			if (it->live) {
				nb_sched_del(&s, &it->si);
				it->live = it->taken = 0;
				break;
			}
			rand_path(it->path);
			it->barrier = rnd() % 3 == 0;
			it->has2 = it->barrier && rnd() % 2;
			if (it->has2)
				rand_path(it->path2);
			it->seq = ++seq;
			it->live = 1;
			it->taken = 0;
			it->ready_at = -1;
			assert_int_equal(nb_sched_add(&s, &it->si, it, it->seq, it->path,
						      it->has2 ? it->path2 : NULL, it->barrier), 0);
			break;
		case 2: /* becomes runnable, now or later, or not */
		case 3:
			if (!it->live)
				break;
			it->ready_at = rnd() % 5 == 0 ? -1 : now + (long long)(rnd() % 3) * 10;
			it->taken = 0;
			nb_sched_set(&s, &it->si, it->ready_at, now);
			break;
		case 4: /* time passes */
			now += rnd() % 15;
			break;
		default: { /* pick */
			long long next = 0;
			struct item *want = model_pick(now);
			struct nb_sched_item *got = nb_sched_pick(&s, now, &next);
			struct item *g = got ? got->owner : NULL;
			if (g != want && want)
				fprintf(stderr, "want: where %d ready_at %lld blocker %lld path '%s' barrier %d\n",
					want->si.where, want->si.ready_at,
					want->si.blocker ? (long long)want->si.blocker->seq : -1LL, want->path,
					want->barrier);
			if (g != want && want && want->si.blocker) {
				struct item *b = want->si.blocker->owner;
				fprintf(stderr, "blocker: seq %lld live %d path '%s' has2 %d path2 '%s' barrier %d keys %d\n",
					(long long)b->seq, b->live, b->path, b->has2, b->path2, b->barrier, b->si.nkeys);
			}
			if (g != want)
				fail_msg("step %d: pick at %lld: want seq %lld, got %lld", step, now,
					 want ? (long long)want->seq : -1LL, g ? (long long)g->seq : -1LL);
			if (g)
				g->taken = 1; /* in flight until set or finished */
			else if (next >= 0)
				assert_true(next > now);
		}
		}
	}
	for (int i = 0; i < MAXN; i++)
		if (items[i].live)
			nb_sched_del(&s, &items[i].si);
	assert_true(s.items == 0);
	assert_null(s.index.root);
	nb_sched_free(&s);
}

/* A blocked item costs nothing until its blocker goes, then runs. */
static void test_sched_park(void **state)
{
	(void)state;
	struct nb_sched s;
	struct nb_sched_item a, b, c;
	long long next;
	nb_sched_init(&s);
	assert_int_equal(nb_sched_add(&s, &a, NULL, 1, "d", NULL, 1), 0); /* rmdir d */
	assert_int_equal(nb_sched_add(&s, &b, NULL, 2, "d/x", NULL, 0), 0);
	assert_int_equal(nb_sched_add(&s, &c, NULL, 3, "e", NULL, 0), 0);
	nb_sched_set(&s, &b, 0, 0);
	nb_sched_set(&s, &c, 50, 0);
	assert_ptr_equal(nb_sched_pick(&s, 10, &next), NULL); /* b parked, c later */
	assert_int_equal(b.where, NB_SCHED_PARKED);
	assert_true(next == 50);
	assert_ptr_equal(nb_sched_pick(&s, 60, &next), &c);
	assert_ptr_equal(nb_sched_pick(&s, 60, &next), NULL);
	assert_true(next == -1);
	nb_sched_del(&s, &a);
	assert_ptr_equal(nb_sched_pick(&s, 60, &next), &b);
	nb_sched_del(&s, &b);
	nb_sched_del(&s, &c);
	nb_sched_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ptree_model),
		cmocka_unit_test(test_sched_model),
		cmocka_unit_test(test_sched_park),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
