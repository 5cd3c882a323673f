/* Unit tests for fs/rcache.c (the cache of the server's listings), with
 * the core's listing call replaced: each test decides when a listing
 * lands and what it holds, as the sync thread's replies would. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs/rcache.h"

/* The one listing asked for and not answered yet. */
static struct {
	int asked;
	char path[256];
	nb_core_list_fn done;
	void *arg;
} pending;

int nb_core_list_async(struct nb_core *c, const char *path, nb_core_list_fn done, void *arg)
{
	(void)c;
	assert_false(pending.asked); /* one at a time per directory here */
	pending.asked = 1;
	snprintf(pending.path, sizeof(pending.path), "%s", path);
	pending.done = done;
	pending.arg = arg;
	return 0;
}

/* Answer the pending listing with the names in the NULL-terminated
 * list, all regular files of size 1. */
static void land(const char *const *names)
{
	assert_true(pending.asked);
	struct nb_dirents ents = {0};
	size_t n = 0;
	while (names[n])
		n++;
	ents.ents = calloc(n ? n : 1, sizeof(*ents.ents));
	assert_non_null(ents.ents);
	for (size_t i = 0; i < n; i++) {
		ents.ents[i].name = strdup(names[i]);
		ents.ents[i].attr.mode = S_IFREG | 0644;
		ents.ents[i].attr.size = 1;
	}
	ents.count = (uint32_t)n;
	pending.asked = 0;
	pending.done(pending.arg, pending.path, 0, &ents);
}

static int add_name(void *arg, const char *name, const struct nb_attr *a)
{
	(void)a;
	char *text = arg;
	size_t n = strlen(text);
	snprintf(text + n, 256 - n, "%s%s", n ? "," : "", name);
	return 0;
}

/* The listing of dir as the view would see it now, names joined by
 * commas (static: one at a time). */
static const char *listing(struct nb_rcache *rc, const char *dir)
{
	static char text[256];
	text[0] = 0;
	assert_int_equal(nb_rcache_list(rc, dir, add_name, text), 0);
	return text;
}

static const struct nb_attr file_attr = {.mode = S_IFREG | 0644, .size = 2};

static struct nb_rcache *new_cache(void)
{
	struct nb_rcache *rc;
	memset(&pending, 0, sizeof(pending));
	/* TTL 0: every look asks again (the stale listing answers
	 * meanwhile); no wait for a first listing. */
	assert_int_equal(nb_rcache_new((struct nb_core *)&pending, 0, 0, &rc), 0);
	return rc;
}

/* A first look asks; the answer is used from then on. */
static void test_first_listing(void **state)
{
	(void)state;
	struct nb_rcache *rc = new_cache();
	assert_string_equal(listing(rc, ""), "");
	assert_true(pending.asked);
	assert_string_equal(pending.path, "");
	land((const char *[]){"b", "a", NULL});
	assert_string_equal(listing(rc, ""), "a,b");
	struct nb_attr a;
	assert_int_equal(nb_rcache_stat(rc, "", "a", &a), 0);
	assert_int_equal(nb_rcache_stat(rc, "", "c", &a), -ENOENT);
	land((const char *[]){"a", "b", NULL});
	nb_rcache_free(rc);
}

/* Changes the sync thread makes show at once in a cached listing. */
static void test_changes_apply(void **state)
{
	(void)state;
	struct nb_rcache *rc = new_cache();
	listing(rc, "");
	land((const char *[]){"a", "b", NULL});
	nb_rcache_upsert(rc, "c", &file_attr);
	nb_rcache_remove(rc, "a");
	nb_rcache_move(rc, "b", "d");
	assert_string_equal(listing(rc, ""), "c,d");
	land((const char *[]){"c", "d", NULL}); /* what that look asked */
	assert_string_equal(listing(rc, ""), "c,d");
	land((const char *[]){"c", "d", NULL});
	nb_rcache_free(rc);
}

/* The listing was made on the server before an unlink the sync thread
 * has since seen done, and its answer is read after the unlink's
 * (several replies are handled at once): the unlinked name must not
 * come back. Regression: posixcheck's readdir_after_changes listed an
 * unlinked f3 once, under ASan. */
static void test_remove_during_listing(void **state)
{
	(void)state;
	struct nb_rcache *rc = new_cache();
	listing(rc, "");
	land((const char *[]){"f1", "f3", NULL});
	assert_string_equal(listing(rc, ""), "f1,f3"); /* asks again */
	assert_true(pending.asked);
	nb_rcache_remove(rc, "f3");
	assert_string_equal(listing(rc, ""), "f1");
	land((const char *[]){"f1", "f3", NULL}); /* made before the unlink */
	assert_string_equal(listing(rc, ""), "f1");
	land((const char *[]){"f1", NULL});
	nb_rcache_free(rc);
}

/* The same for a file made while the very first listing is on its way,
 * a rename, and a directory removed. */
static void test_other_changes_during_listing(void **state)
{
	(void)state;
	struct nb_rcache *rc = new_cache();
	listing(rc, "");
	nb_rcache_upsert(rc, "new", &file_attr); /* no listing yet to apply to */
	land((const char *[]){"old", "x", NULL});
	assert_string_equal(listing(rc, ""), "new,old,x");
	nb_rcache_move(rc, "old", "moved");
	land((const char *[]){"new", "old", "x", NULL});
	assert_string_equal(listing(rc, ""), "moved,new,x");
	land((const char *[]){"moved", "new", "x", NULL});

	/* A directory listed, then removed while its listing is asked. */
	listing(rc, "sub");
	land((const char *[]){"in", NULL});
	assert_string_equal(listing(rc, "sub"), "in");
	nb_rcache_remove(rc, "sub");
	land((const char *[]){"in", NULL}); /* made before the rmdir */
	assert_string_equal(listing(rc, "sub"), "");
	land((const char *[]){NULL});
	nb_rcache_free(rc);
}

/* A listing made after the change (its answer read after the change's)
 * is not disturbed by applying the change again. */
static void test_listing_after_change(void **state)
{
	(void)state;
	struct nb_rcache *rc = new_cache();
	listing(rc, "");
	land((const char *[]){"a", NULL});
	listing(rc, "");
	nb_rcache_upsert(rc, "b", &file_attr);
	nb_rcache_remove(rc, "a");
	land((const char *[]){"b", NULL});
	assert_string_equal(listing(rc, ""), "b");
	struct nb_attr at;
	assert_int_equal(nb_rcache_stat(rc, "", "b", &at), 0);
	assert_int_equal(at.size, 2);
	land((const char *[]){"b", NULL});
	nb_rcache_free(rc);
}

/* The walk of a listing sees a copy: the sync thread removes a name
 * on the server meanwhile (an RMDIR done as `ls` runs), and the copy
 * still holds it. nb_rcache_keep_held, asked after, knows; the view
 * asks it for the names it took from the walk (fs/view.c). Regression:
 * posixcheck's rmdir case under TSan listed a directory just removed. */
struct walk {
	struct nb_rcache *rc;
	char seen[256];
};

/* Records each name; at "a", the sync thread removes "b". */
static int remove_b_while_walking(void *arg, const char *name, const struct nb_attr *a)
{
	struct walk *w = arg;
	add_name(w->seen, name, a);
	if (strcmp(name, "a") == 0)
		nb_rcache_remove(w->rc, "b");
	return 0;
}

static void test_keep_held_after_copy(void **state)
{
	(void)state;
	struct nb_rcache *rc = new_cache();
	listing(rc, "");
	land((const char *[]){"a", "b", "c", NULL});
	struct walk w = {.rc = rc};
	assert_int_equal(nb_rcache_list(rc, "", remove_b_while_walking, &w), 0);
	assert_string_equal(w.seen, "a,b,c"); /* b, removed mid-walk, still in the copy */
	char *names[3] = {strdup("a"), strdup("b"), strdup("c")};
	assert_int_equal(nb_rcache_keep_held(rc, "", names, 3), 2);
	assert_string_equal(names[0], "a");
	assert_string_equal(names[1], "c");
	free(names[0]);
	free(names[1]);
	/* Nothing cached for a directory: nothing newer is known. */
	char *other[1] = {strdup("x")};
	assert_int_equal(nb_rcache_keep_held(rc, "never/listed", other, 1), 1);
	free(other[0]);
	assert_string_equal(listing(rc, ""), "a,c");
	land((const char *[]){"a", "c", NULL});
	nb_rcache_free(rc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_first_listing),
	    cmocka_unit_test(test_changes_apply),
	    cmocka_unit_test(test_remove_during_listing),
	    cmocka_unit_test(test_other_changes_during_listing),
	    cmocka_unit_test(test_listing_after_change),
	    cmocka_unit_test(test_keep_held_after_copy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
