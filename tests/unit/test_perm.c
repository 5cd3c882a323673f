/* Unit tests for fs/perm.c: who checks permissions, and access(2)'s
 * rules for the check nbfs makes itself. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/perm.h"

static struct stat node(mode_t mode, uid_t uid, gid_t gid)
{
	struct stat st = {.st_mode = mode, .st_uid = uid, .st_gid = gid};
	return st;
}

/* Root passes every bit, but needs an execute bit on a non-directory. */
static void test_root(void **state)
{
	(void)state;
	struct stat f = node(S_IFREG | 0000, 1000, 1000);
	assert_int_equal(nb_perm_allows(&f, 0, 0, NULL, 0, R_OK | W_OK), 0);
	assert_int_equal(nb_perm_allows(&f, 0, 0, NULL, 0, F_OK), 0);
	assert_int_equal(nb_perm_allows(&f, 0, 0, NULL, 0, X_OK), -EACCES);
	assert_int_equal(nb_perm_allows(&f, 0, 0, NULL, 0, R_OK | X_OK), -EACCES);
	f.st_mode = S_IFREG | 0001; /* any execute bit will do */
	assert_int_equal(nb_perm_allows(&f, 0, 0, NULL, 0, X_OK), 0);
	struct stat d = node(S_IFDIR | 0000, 1000, 1000);
	assert_int_equal(nb_perm_allows(&d, 0, 0, NULL, 0, R_OK | W_OK | X_OK), 0);
}

/* Owner, else group (primary or supplementary), else others: only the
 * first class that applies counts, even when a later one would allow. */
static void test_classes(void **state)
{
	(void)state;
	struct stat f = node(S_IFREG | 0407, 1000, 50);
	gid_t extra[] = {7, 50};
	/* the owner: r-- (others' rwx does not help the owner) */
	assert_int_equal(nb_perm_allows(&f, 1000, 1000, NULL, 0, R_OK), 0);
	assert_int_equal(nb_perm_allows(&f, 1000, 1000, NULL, 0, W_OK), -EACCES);
	assert_int_equal(nb_perm_allows(&f, 1000, 1000, NULL, 0, X_OK), -EACCES);
	/* the group, as primary and as supplementary group: --- */
	assert_int_equal(nb_perm_allows(&f, 2000, 50, NULL, 0, R_OK), -EACCES);
	assert_int_equal(nb_perm_allows(&f, 2000, 9, extra, 2, R_OK), -EACCES);
	/* anyone else: rwx */
	assert_int_equal(nb_perm_allows(&f, 2000, 9, extra, 1, R_OK | W_OK | X_OK), 0);
	assert_int_equal(nb_perm_allows(&f, 2000, 9, NULL, 0, R_OK | W_OK | X_OK), 0);
	/* every bit asked must be there */
	struct stat g = node(S_IFREG | 0640, 1000, 50);
	assert_int_equal(nb_perm_allows(&g, 2000, 50, NULL, 0, R_OK), 0);
	assert_int_equal(nb_perm_allows(&g, 2000, 50, NULL, 0, R_OK | W_OK), -EACCES);
	assert_int_equal(nb_perm_allows(&g, 1000, 1000, NULL, 0, R_OK | W_OK), 0);
	assert_int_equal(nb_perm_allows(&g, 3000, 3000, NULL, 0, F_OK), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_root),
	    cmocka_unit_test(test_classes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
