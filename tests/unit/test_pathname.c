/* Unit tests for sync/pathname.c: wire path validation and helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/pathname.h"

static void check(const char *p, int want)
{
	int r = nb_path_check(p);
	if (r != want)
		fail_msg("nb_path_check(\"%s\") = %d, want %d", p, r, want);
}

static void test_accepts(void **state)
{
	(void)state;
	check("", 0);
	check("a", 0);
	check("a/b", 0);
	check("a/b/c/d/e", 0);
	check("with space", 0);
	check(" leading and trailing ", 0);
	check("dir with space/file name.txt", 0);
	check("caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac", 0);
	check("\xff\xfe", 0); /* not UTF-8 at all: still just bytes */
	check("-rf", 0);
	check("--/-x", 0);
	check("ctl\x01\x1f\x7f", 0);
	check("new\nline", 0);
	check("back\\slash", 0);
	check("...", 0);
	check("..a", 0);
	check("a..", 0);
	check(".hidden", 0);
	check("a/.hidden/.x", 0);
	check("x/.nbfs", 0);
	check("x/.nbfs/y", 0);
	check(".nbfsx", 0);
	check(".nbf", 0);
	check("nbfs", 0);
	check(".NBFS", 0); /* case matters on the server's filesystem */
}

static void test_rejects(void **state)
{
	(void)state;
	check("/", -EINVAL);
	check("/a", -EINVAL);
	check("a/", -EINVAL);
	check("a/b/", -EINVAL);
	check("//", -EINVAL);
	check("a//b", -EINVAL);
	check(".", -EINVAL);
	check("..", -EINVAL);
	check("./a", -EINVAL);
	check("../a", -EINVAL);
	check("a/.", -EINVAL);
	check("a/..", -EINVAL);
	check("a/../b", -EINVAL);
	check("a/./b", -EINVAL);
	check("a/../../x", -EINVAL);
	check("/etc/passwd", -EINVAL);
	check(".nbfs", -EPERM);
	check(".nbfs/x", -EPERM);
	check(".nbfs/partial/0123", -EPERM);
}

static void test_lengths(void **state)
{
	(void)state;
	char *p = malloc(NB_PATH_MAX + 2);
	/* one component of exactly NB_NAME_MAX bytes */
	memset(p, 'n', NB_NAME_MAX);
	p[NB_NAME_MAX] = 0;
	check(p, 0);
	/* NB_NAME_MAX + 1 */
	memset(p, 'n', NB_NAME_MAX + 1);
	p[NB_NAME_MAX + 1] = 0;
	check(p, -ENAMETOOLONG);
	/* as a later component */
	p[0] = 'a';
	p[1] = '/';
	memset(p + 2, 'n', NB_NAME_MAX + 1);
	p[NB_NAME_MAX + 3] = 0;
	check(p, -ENAMETOOLONG);
	memset(p + 2, 'n', NB_NAME_MAX);
	p[NB_NAME_MAX + 2] = 0;
	check(p, 0);

	/* Past PATH_MAX: paths below a deep working directory are legal on
	 * Linux, so 4,096 bytes (and 16 KiB) are valid wire paths. */
	for (size_t i = 0; i < 16384; i++)
		p[i] = i % 2 ? '/' : 'x';
	p[4096] = 0;
	p[4095] = 'x';
	check(p, 0);
	p[4095] = '/';
	p[4096] = 'x';
	p[16383] = 'x';
	p[16384] = 0;
	check(p, 0);
	/* 128 components of 255 bytes and 127 slashes: exactly NB_PATH_MAX */
	size_t n = 0;
	for (int i = 0; i < 128; i++) {
		if (i)
			p[n++] = '/';
		memset(p + n, 'a' + i % 26, NB_NAME_MAX);
		n += NB_NAME_MAX;
	}
	p[n] = 0;
	assert_int_equal(n, NB_PATH_MAX);
	check(p, 0);
	/* one more byte */
	p[n] = 'z';
	p[n + 1] = 0;
	check(p, -ENAMETOOLONG);
	/* NB_PATH_MAX + 1 bytes of short components */
	for (size_t i = 0; i < NB_PATH_MAX + 1; i++)
		p[i] = i % 2 ? '/' : 'x';
	p[NB_PATH_MAX] = 'x';
	p[NB_PATH_MAX + 1] = 0;
	assert_int_equal(strlen(p), 32768);
	check(p, -ENAMETOOLONG);
	free(p);
}

static void test_check_name(void **state)
{
	(void)state;
	assert_int_equal(nb_path_check_name("abc", 3), 0);
	assert_int_equal(nb_path_check_name("abc/def", 3), 0); /* only len bytes count */
	assert_int_equal(nb_path_check_name("", 0), -EINVAL);
	assert_int_equal(nb_path_check_name(".", 1), -EINVAL);
	assert_int_equal(nb_path_check_name("..", 2), -EINVAL);
	assert_int_equal(nb_path_check_name("...", 3), 0);
	assert_int_equal(nb_path_check_name(".x", 2), 0);
	assert_int_equal(nb_path_check_name("a/b", 3), -EINVAL);
	assert_int_equal(nb_path_check_name("a\0b", 3), -EINVAL);
	assert_int_equal(nb_path_check_name(".nbfs", 5), 0);
	char name[NB_NAME_MAX + 1];
	memset(name, 'q', sizeof(name));
	assert_int_equal(nb_path_check_name(name, NB_NAME_MAX), 0);
	assert_int_equal(nb_path_check_name(name, NB_NAME_MAX + 1), -ENAMETOOLONG);
}

static void test_from_fuse(void **state)
{
	(void)state;
	assert_string_equal(nb_path_from_fuse("/"), "");
	assert_string_equal(nb_path_from_fuse("/a"), "a");
	assert_string_equal(nb_path_from_fuse("/a/b"), "a/b");
	assert_string_equal(nb_path_from_fuse("//a"), "a");
	const char *in = "/x/y";
	assert_ptr_equal(nb_path_from_fuse(in), in + 1);
}

static void test_parent_len(void **state)
{
	(void)state;
	assert_int_equal(nb_path_parent_len(""), 0);
	assert_int_equal(nb_path_parent_len("a"), 0);
	assert_int_equal(nb_path_parent_len("abc"), 0);
	assert_int_equal(nb_path_parent_len("a/b"), 1);
	assert_int_equal(nb_path_parent_len("a/b/c"), 3);
	assert_int_equal(nb_path_parent_len("dir/sub/file.txt"), 7);
	assert_int_equal(nb_path_parent_len("ab/c"), 2);
}

static void test_is_within(void **state)
{
	(void)state;
	assert_true(nb_path_is_within("a", "a"));
	assert_true(nb_path_is_within("a/b", "a"));
	assert_true(nb_path_is_within("a/b/c", "a"));
	assert_true(nb_path_is_within("a/b/c", "a/b"));
	assert_true(nb_path_is_within("", ""));
	assert_true(nb_path_is_within("anything/at/all", ""));
	assert_false(nb_path_is_within("ab", "a"));
	assert_false(nb_path_is_within("ab/c", "a"));
	assert_false(nb_path_is_within("a", "ab"));
	assert_false(nb_path_is_within("a", "a/b"));
	assert_false(nb_path_is_within("b/a", "a"));
	assert_false(nb_path_is_within("", "a"));
	assert_false(nb_path_is_within("a/bc", "a/b"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_check_name),
		cmocka_unit_test(test_from_fuse),
		cmocka_unit_test(test_parent_len),
		cmocka_unit_test(test_is_within),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
