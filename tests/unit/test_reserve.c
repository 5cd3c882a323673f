/* Unit tests for sync/reserve.c: the disk space held back for the state
 * database on a full disk. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sqlite3.h>
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

/* Each test works in a fresh directory, removed after it. */
struct fx {
	char *dir, *path; /* path: "r" in dir */
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f || !(f->dir = tu_mkdtemp("reserve")) || !(f->path = tu_join(f->dir, "r")))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	tu_rmtree(f->dir);
	free(f->path);
	free(f->dir);
	free(f);
	return 0;
}

static void test_init_allocates(void **state)
{
	const char *path = ((struct fx *)*state)->path;
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
}

static void test_release_and_refill(void **state)
{
	const char *path = ((struct fx *)*state)->path;
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
}

static void test_no_room(void **state)
{
	char *path = tu_join(((struct fx *)*state)->dir, "missing/r"); /* cannot be created */
	struct nb_reserve r;
	assert_int_equal(nb_reserve_init(&r, path, SIZE), 0);
	assert_int_equal(r.held, 0);
	assert_int_equal(nb_reserve_release(&r), 0);
	nb_reserve_fini(&r);
	free(path);
}

/* The state database keeps one beside itself. */
static void test_statedb_keeps_one(void **state)
{
	const char *dir = ((struct fx *)*state)->dir;
	char *path = tu_join(dir, "state.db");
	char *rpath = tu_join(dir, "state.db-reserve");
	struct nb_statedb *db;
	assert_int_equal(nb_statedb_open(path, &db), 0);
	assert_true(allocated(rpath) >= NB_RESERVE_SIZE);
	nb_statedb_close(db);
	assert_true(allocated(rpath) >= NB_RESERVE_SIZE);
	free(rpath);
	free(path);
}

/* ---- the state database on a full disk ----
 *
 * A VFS in front of the real one whose writes fail with SQLITE_FULL
 * while the disk is "full": while the reserve file still holds its
 * blocks (full_soft: giving them back makes room), or always
 * (full_hard: nothing helps). */
static sqlite3_vfs shim_vfs, *real_vfs;
static sqlite3_io_methods shim_methods;
static int full_soft, full_hard, full_refused;
static const char *reserve_path;

static int shim_full(void)
{
	return full_hard || (full_soft && allocated(reserve_path) > 0);
}

/* A file of the shim: its methods, then the real VFS's file, whose
 * methods differ by kind (the main database locks, its WAL does not). */
struct shim_file {
	sqlite3_file base;
	const sqlite3_io_methods *real;
};

static sqlite3_file *real_of(sqlite3_file *f)
{
	return (sqlite3_file *)((char *)f + sizeof(struct shim_file));
}

static const sqlite3_io_methods *real_methods(sqlite3_file *f)
{
	return ((struct shim_file *)f)->real;
}

static int shim_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
	if (shim_full()) {
		full_refused++;
		return SQLITE_FULL;
	}
	return real_methods(f)->xWrite(real_of(f), buf, n, off);
}

#define SHIM(name, params, args)                                                    \
	static int shim_##name params                                                \
	{                                                                            \
		return real_methods(f)->x##name args;                                \
	}
SHIM(Close, (sqlite3_file * f), (real_of(f)))
SHIM(Read, (sqlite3_file * f, void *b, int n, sqlite3_int64 o), (real_of(f), b, n, o))
SHIM(Truncate, (sqlite3_file * f, sqlite3_int64 n), (real_of(f), n))
SHIM(Sync, (sqlite3_file * f, int fl), (real_of(f), fl))
SHIM(FileSize, (sqlite3_file * f, sqlite3_int64 *n), (real_of(f), n))
SHIM(Lock, (sqlite3_file * f, int l), (real_of(f), l))
SHIM(Unlock, (sqlite3_file * f, int l), (real_of(f), l))
SHIM(CheckReservedLock, (sqlite3_file * f, int *o), (real_of(f), o))
SHIM(FileControl, (sqlite3_file * f, int op, void *a), (real_of(f), op, a))
SHIM(SectorSize, (sqlite3_file * f), (real_of(f)))
SHIM(DeviceCharacteristics, (sqlite3_file * f), (real_of(f)))
SHIM(ShmMap, (sqlite3_file * f, int i, int sz, int w, void volatile **p), (real_of(f), i, sz, w, p))
SHIM(ShmLock, (sqlite3_file * f, int o, int n, int fl), (real_of(f), o, n, fl))
SHIM(ShmUnmap, (sqlite3_file * f, int d), (real_of(f), d))
SHIM(Fetch, (sqlite3_file * f, sqlite3_int64 o, int n, void **p), (real_of(f), o, n, p))
SHIM(Unfetch, (sqlite3_file * f, sqlite3_int64 o, void *p), (real_of(f), o, p))
static void shim_ShmBarrier(sqlite3_file *f)
{
	real_methods(f)->xShmBarrier(real_of(f));
}

static int shim_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out)
{
	(void)vfs;
	int rc = real_vfs->xOpen(real_vfs, name, real_of(f), flags, out);
	if (rc != SQLITE_OK) {
		f->pMethods = NULL;
		return rc;
	}
	((struct shim_file *)f)->real = real_of(f)->pMethods;
	shim_methods = (sqlite3_io_methods){
	    .iVersion = 3,
	    .xClose = shim_Close,
	    .xRead = shim_Read,
	    .xWrite = shim_write,
	    .xTruncate = shim_Truncate,
	    .xSync = shim_Sync,
	    .xFileSize = shim_FileSize,
	    .xLock = shim_Lock,
	    .xUnlock = shim_Unlock,
	    .xCheckReservedLock = shim_CheckReservedLock,
	    .xFileControl = shim_FileControl,
	    .xSectorSize = shim_SectorSize,
	    .xDeviceCharacteristics = shim_DeviceCharacteristics,
	    .xShmMap = shim_ShmMap,
	    .xShmLock = shim_ShmLock,
	    .xShmBarrier = shim_ShmBarrier,
	    .xShmUnmap = shim_ShmUnmap,
	    .xFetch = shim_Fetch,
	    .xUnfetch = shim_Unfetch,
	};
	f->pMethods = &shim_methods;
	return SQLITE_OK;
}

static int shim_install(void **state)
{
	(void)state;
	real_vfs = sqlite3_vfs_find(NULL);
	shim_vfs = *real_vfs;
	shim_vfs.zName = "nbfs-full-disk";
	shim_vfs.szOsFile = (int)sizeof(struct shim_file) + real_vfs->szOsFile;
	shim_vfs.xOpen = shim_open;
	return sqlite3_vfs_register(&shim_vfs, 1) == SQLITE_OK ? 0 : -1;
}

static int count_op(void *arg, int64_t seq, int kind, const char *path, const char *path2,
		    const struct nb_synced *doubt)
{
	(void)seq, (void)kind, (void)path, (void)path2, (void)doubt;
	(*(int *)arg)++;
	return 0;
}

static int ops_in(struct nb_statedb *db)
{
	int n = 0;
	assert_int_equal(nb_statedb_each_op(db, count_op, &n), 0);
	return n;
}

static void test_statedb_full_disk(void **state)
{
	const char *dir = ((struct fx *)*state)->dir;
	char *path = tu_join(dir, "state.db");
	char *rpath = tu_join(dir, "state.db-reserve");
	reserve_path = rpath;
	struct nb_statedb *db;
	assert_int_equal(nb_statedb_open(path, &db), 0);
	assert_true(allocated(rpath) >= NB_RESERVE_SIZE);

	/* A statement of its own: refused once, run again in the room the
	 * reserve gave back. */
	full_soft = 1;
	full_refused = 0;
	int64_t seq;
	assert_int_equal(nb_statedb_op_next(db, &seq), 0);
	assert_int_equal(nb_statedb_op_add(db, seq, NB_KIND_FILE, "a", NULL, NULL), 0);
	assert_true(full_refused > 0);
	assert_int_equal(allocated(rpath), 0);
	assert_int_equal(ops_in(db), 1);

	/* Nothing left to give: ENOSPC, and nothing half done. */
	full_hard = 1;
	assert_int_equal(nb_statedb_op_add(db, seq + 1, NB_KIND_FILE, "b", NULL, NULL), -ENOSPC);
	struct nb_synced s = {.kind = NB_KIND_FILE, .size = 3, .mtime_ns = 5};
	assert_int_equal(nb_statedb_set_synced(db, seq, "a", &s), -ENOSPC);
	assert_int_equal(ops_in(db), 1);
	struct nb_synced got;
	assert_int_equal(nb_statedb_get_synced(db, "a", &got), -ENOENT);
	full_hard = 0;

	/* The reserve comes back when there is room (not at once), and a
	 * transaction refused for a full disk runs again whole. */
	struct timespec ts = {.tv_sec = 1, .tv_nsec = 100 * 1000 * 1000};
	nanosleep(&ts, NULL);
	assert_int_equal(nb_statedb_op_add(db, seq + 2, NB_KIND_FILE, "c", NULL, NULL), 0);
	assert_true(allocated(rpath) >= NB_RESERVE_SIZE);
	assert_int_equal(ops_in(db), 2);
	full_refused = 0;
	assert_int_equal(nb_statedb_set_synced(db, seq, "a", &s), 0);
	assert_true(full_refused > 0);
	assert_int_equal(allocated(rpath), 0);
	assert_int_equal(nb_statedb_get_synced(db, "a", &got), 0);
	assert_int_equal(got.size, 3);
	assert_int_equal(ops_in(db), 1); /* the one it settled is gone */
	full_soft = 0;

	nb_statedb_close(db);
	free(rpath);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_init_allocates, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_release_and_refill, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_room, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_statedb_keeps_one, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_statedb_full_disk, setup, teardown),
	};
	return cmocka_run_group_tests(tests, shim_install, NULL);
}
