/* Unit tests for sync/reserve.c: the disk space held back for the state
 * database on a full disk. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sync/reserve.h"
#include "sync/statedb.h"
#include "testutil.h"

#define SIZE (256 * 1024)

/* Bytes of disk the file at path holds (0 if there is none). */
static off_t allocated(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 ? (off_t)st.st_blocks * 512 : 0;
}

static void test_init_allocates(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp("reserve");
	char *path = tu_join(dir, "r");
	struct nb_reserve r;
	assert_int_equal(nb_reserve_init(&r, path, SIZE), 0);
	assert_int_equal(r.held, 1);
	assert_true(allocated(path) >= SIZE);
	nb_reserve_fini(&r);
	/* The next mount takes the file over as it is. */
	assert_int_equal(nb_reserve_init(&r, path, SIZE), 0);
	assert_int_equal(r.held, 1);
	nb_reserve_fini(&r);
	/* A file of the right length but sparse (a failed try, or copied
	 * without its blocks) holds nothing: it is allocated again. */
	assert_int_equal(truncate(path, 0), 0);
	assert_int_equal(truncate(path, SIZE), 0);
	assert_true(allocated(path) < SIZE);
	assert_int_equal(nb_reserve_init(&r, path, SIZE), 0);
	assert_int_equal(r.held, 1);
	assert_true(allocated(path) >= SIZE);
	nb_reserve_fini(&r);
	tu_rmtree(dir);
	free(path);
	free(dir);
}

static void test_release_and_refill(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp("reserve");
	char *path = tu_join(dir, "r");
	struct nb_reserve r;
	assert_int_equal(nb_reserve_init(&r, path, SIZE), 0);
	assert_int_equal(nb_reserve_release(&r), 1);
	assert_int_equal(allocated(path), 0);
	/* Nothing more to give. */
	assert_int_equal(nb_reserve_release(&r), 0);
	/* Not taken back at once: the room just given is for the write
	 * that needed it. */
	nb_reserve_refill(&r);
	assert_int_equal(r.held, 0);
	assert_int_equal(allocated(path), 0);
	struct timespec ts = {.tv_sec = 1, .tv_nsec = 100 * 1000 * 1000};
	nanosleep(&ts, NULL);
	nb_reserve_refill(&r);
	assert_int_equal(r.held, 1);
	assert_true(allocated(path) >= SIZE);
	assert_int_equal(nb_reserve_release(&r), 1);
	nb_reserve_fini(&r);
	tu_rmtree(dir);
	free(path);
	free(dir);
}

static void test_no_room(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp("reserve");
	char *path = tu_join(dir, "missing/r"); /* cannot be created */
	struct nb_reserve r;
	assert_int_equal(nb_reserve_init(&r, path, SIZE), 0);
	assert_int_equal(r.held, 0);
	assert_int_equal(nb_reserve_release(&r), 0);
	nb_reserve_fini(&r);
	tu_rmtree(dir);
	free(path);
	free(dir);
}

/* The state database keeps one beside itself. */
static void test_statedb_keeps_one(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp("reserve");
	char *path = tu_join(dir, "state.db");
	char *rpath = tu_join(dir, "state.db-reserve");
	struct nb_statedb *db;
	assert_int_equal(nb_statedb_open(path, &db), 0);
	assert_true(allocated(rpath) >= NB_RESERVE_SIZE);
	nb_statedb_close(db);
	assert_true(allocated(rpath) >= NB_RESERVE_SIZE);
	tu_rmtree(dir);
	free(rpath);
	free(path);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_allocates),
	    cmocka_unit_test(test_release_and_refill),
	    cmocka_unit_test(test_no_room),
	    cmocka_unit_test(test_statedb_keeps_one),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
