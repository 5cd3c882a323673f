/* Unit tests for sync/mountid.c: the mount id is made once per cache
 * and then kept; one that does not parse is replaced. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sync/mountid.h"
#include "testutil.h"

static void test_mountid(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp("mountid");
	char *path = tu_join(dir, "mount-id");
	uint8_t a[NB_MOUNT_ID_LEN], b[NB_MOUNT_ID_LEN], zero[NB_MOUNT_ID_LEN] = {0};
	assert_int_equal(nb_mountid_load(path, a), 0);
	assert_memory_not_equal(a, zero, NB_MOUNT_ID_LEN);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 2 * NB_MOUNT_ID_LEN + 1);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* Kept: the same id on the next load. */
	assert_int_equal(nb_mountid_load(path, b), 0);
	assert_memory_equal(a, b, NB_MOUNT_ID_LEN);
	/* Another cache, another id. */
	char *path2 = tu_join(dir, "other-id");
	assert_int_equal(nb_mountid_load(path2, b), 0);
	assert_memory_not_equal(a, b, NB_MOUNT_ID_LEN);
	/* Garbage is replaced by a new id. */
	assert_int_equal(tu_write_file(path, "not an id\n", 10), 0);
	assert_int_equal(nb_mountid_load(path, b), 0);
	assert_memory_not_equal(a, b, NB_MOUNT_ID_LEN);
	assert_int_equal(nb_mountid_load(path, a), 0);
	assert_memory_equal(a, b, NB_MOUNT_ID_LEN);
	tu_rmtree(dir);
	free(path);
	free(path2);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_mountid)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
