/* Unit tests for sync/statedb.c: the durable dirty/synced records. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/err.h"
#include "sync/log.h"
#include "sync/statedb.h"
#include "testutil.h"

struct fx {
	char *dir, *path;
	struct nb_statedb *db;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->dir = tu_mkdtemp("statedb");
	assert_non_null(f->dir);
	f->path = tu_join(f->dir, "state.db");
	assert_int_equal(nb_statedb_open(f->path, &f->db), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	nb_statedb_close(f->db);
	tu_rmtree(f->dir);
	free(f->dir);
	free(f->path);
	free(f);
	return 0;
}

/* Collects each_dirty into "path:kind," text. */
struct collect {
	char text[4096];
	int calls, stop_after, stop_with;
};

static int collect_cb(void *arg, const char *path, int kind)
{
	struct collect *c = arg;
	size_t n = strlen(c->text);
	snprintf(c->text + n, sizeof(c->text) - n, "%s:%c,", path, kind);
	c->calls++;
	if (c->stop_after && c->calls == c->stop_after)
		return c->stop_with;
	return 0;
}

static const char *dirty(struct nb_statedb *db)
{
	static struct collect c;
	memset(&c, 0, sizeof(c));
	assert_int_equal(nb_statedb_each_dirty(db, collect_cb, &c), 0);
	return c.text;
}

static void test_dirty_order(void **state)
{
	struct fx *f = *state;
	assert_string_equal(dirty(f->db), "");
	assert_int_equal(nb_statedb_mark_dirty(f->db, "a", NB_KIND_FILE), 0);
	assert_int_equal(nb_statedb_mark_dirty(f->db, "dir", NB_KIND_DIR), 0);
	assert_int_equal(nb_statedb_mark_dirty(f->db, "dir/b", NB_KIND_FILE), 0);
	assert_string_equal(dirty(f->db), "a:f,dir:d,dir/b:f,");
	/* Marking again keeps the first position but takes the new kind. */
	assert_int_equal(nb_statedb_mark_dirty(f->db, "a", NB_KIND_DIR), 0);
	assert_string_equal(dirty(f->db), "a:d,dir:d,dir/b:f,");
	/* Cleared and marked again: goes to the end. */
	assert_int_equal(nb_statedb_clear_dirty(f->db, "a"), 0);
	assert_string_equal(dirty(f->db), "dir:d,dir/b:f,");
	assert_int_equal(nb_statedb_mark_dirty(f->db, "a", NB_KIND_FILE), 0);
	assert_string_equal(dirty(f->db), "dir:d,dir/b:f,a:f,");
	/* Clearing the last one, then marking a new one: still after the rest. */
	assert_int_equal(nb_statedb_clear_dirty(f->db, "a"), 0);
	assert_int_equal(nb_statedb_mark_dirty(f->db, "z", NB_KIND_FILE), 0);
	assert_int_equal(nb_statedb_mark_dirty(f->db, "y", NB_KIND_FILE), 0);
	assert_string_equal(dirty(f->db), "dir:d,dir/b:f,z:f,y:f,");
	/* Clearing something not dirty is fine. */
	assert_int_equal(nb_statedb_clear_dirty(f->db, "never"), 0);
	assert_int_equal(nb_statedb_clear_dirty(f->db, "dir"), 0);
	assert_int_equal(nb_statedb_clear_dirty(f->db, "dir/b"), 0);
	assert_int_equal(nb_statedb_clear_dirty(f->db, "z"), 0);
	assert_int_equal(nb_statedb_clear_dirty(f->db, "y"), 0);
	assert_string_equal(dirty(f->db), "");
}

static void test_odd_paths(void **state)
{
	struct fx *f = *state;
	/* Paths are data, never SQL. */
	static const char *const paths[] = {"it's", "a\"b", "x'; DROP TABLE dirty; --", "%_*",
					    "caf\xc3\xa9", ""};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		assert_int_equal(nb_statedb_mark_dirty(f->db, paths[i], NB_KIND_FILE), 0);
	assert_string_equal(dirty(f->db),
			    "it's:f,a\"b:f,x'; DROP TABLE dirty; --:f,%_*:f,caf\xc3\xa9:f,:f,");
	/* LIKE-style wildcards are not patterns either */
	assert_int_equal(nb_statedb_clear_dirty(f->db, "%"), 0);
	assert_int_equal(nb_statedb_clear_dirty(f->db, "it_s"), 0);
	assert_int_equal(nb_statedb_clear_dirty(f->db, "it's"), 0);
	assert_string_equal(dirty(f->db), "a\"b:f,x'; DROP TABLE dirty; --:f,%_*:f,caf\xc3\xa9:f,:f,");
}

static void test_each_dirty_stops(void **state)
{
	struct fx *f = *state;
	struct collect c;
	assert_int_equal(nb_statedb_mark_dirty(f->db, "1", NB_KIND_FILE), 0);
	assert_int_equal(nb_statedb_mark_dirty(f->db, "2", NB_KIND_FILE), 0);
	assert_int_equal(nb_statedb_mark_dirty(f->db, "3", NB_KIND_FILE), 0);
	memset(&c, 0, sizeof(c));
	c.stop_after = 2;
	c.stop_with = -EINTR;
	assert_int_equal(nb_statedb_each_dirty(f->db, collect_cb, &c), -EINTR);
	assert_int_equal(c.calls, 2);
	assert_string_equal(c.text, "1:f,2:f,");
}

static void test_synced(void **state)
{
	struct fx *f = *state;
	struct nb_synced in = {.kind = NB_KIND_FILE, .size = 0x123456789ull,
			       .mtime_ns = 1700000000123456789ll, .has_md5 = 1}, out;
	for (int i = 0; i < NB_MD5_LEN; i++)
		in.md5[i] = (uint8_t)(255 - i);
	assert_int_equal(nb_statedb_get_synced(f->db, "f", &out), -ENOENT);
	/* set_synced also clears the dirty mark, and only that one */
	assert_int_equal(nb_statedb_mark_dirty(f->db, "f", NB_KIND_FILE), 0);
	assert_int_equal(nb_statedb_mark_dirty(f->db, "g", NB_KIND_FILE), 0);
	assert_int_equal(nb_statedb_set_synced(f->db, "f", &in), 0);
	assert_string_equal(dirty(f->db), "g:f,");
	memset(&out, 0x55, sizeof(out));
	assert_int_equal(nb_statedb_get_synced(f->db, "f", &out), 0);
	assert_int_equal(out.kind, NB_KIND_FILE);
	assert_true(out.size == 0x123456789ull);
	assert_true(out.mtime_ns == 1700000000123456789ll);
	assert_int_equal(out.has_md5, 1);
	assert_memory_equal(out.md5, in.md5, NB_MD5_LEN);

	/* Replaced by a later record; a directory has no MD5. */
	struct nb_synced d = {.kind = NB_KIND_DIR, .size = 0, .mtime_ns = -5, .has_md5 = 0};
	memset(d.md5, 0xaa, NB_MD5_LEN);
	assert_int_equal(nb_statedb_set_synced(f->db, "f", &d), 0);
	memset(&out, 0x55, sizeof(out));
	assert_int_equal(nb_statedb_get_synced(f->db, "f", &out), 0);
	assert_int_equal(out.kind, NB_KIND_DIR);
	assert_true(out.size == 0);
	assert_true(out.mtime_ns == -5);
	assert_int_equal(out.has_md5, 0);
	uint8_t zero[NB_MD5_LEN] = {0};
	assert_memory_equal(out.md5, zero, NB_MD5_LEN);
	/* other paths are unaffected */
	assert_int_equal(nb_statedb_get_synced(f->db, "g", &out), -ENOENT);
	assert_int_equal(nb_statedb_get_synced(f->db, "F", &out), -ENOENT);
	/* marking dirty again does not forget what the server holds */
	assert_int_equal(nb_statedb_mark_dirty(f->db, "f", NB_KIND_FILE), 0);
	assert_int_equal(nb_statedb_get_synced(f->db, "f", &out), 0);
	assert_int_equal(nb_statedb_flush(f->db), 0);
}

static void test_persistence(void **state)
{
	struct fx *f = *state;
	struct nb_synced in = {.kind = NB_KIND_FILE, .size = 7, .mtime_ns = 8, .has_md5 = 1}, out;
	memset(in.md5, 3, NB_MD5_LEN);
	assert_int_equal(nb_statedb_mark_dirty(f->db, "p", NB_KIND_FILE), 0);
	assert_int_equal(nb_statedb_mark_dirty(f->db, "q", NB_KIND_DIR), 0);
	assert_int_equal(nb_statedb_set_synced(f->db, "s", &in), 0);
	assert_int_equal(nb_statedb_flush(f->db), 0);
	nb_statedb_close(f->db);
	f->db = NULL;
	assert_int_equal(nb_statedb_open(f->path, &f->db), 0);
	assert_string_equal(dirty(f->db), "p:f,q:d,");
	assert_int_equal(nb_statedb_get_synced(f->db, "s", &out), 0);
	assert_true(out.size == 7);
	assert_memory_equal(out.md5, in.md5, NB_MD5_LEN);
	/* and the order continues after the reopened entries */
	assert_int_equal(nb_statedb_mark_dirty(f->db, "r", NB_KIND_FILE), 0);
	assert_string_equal(dirty(f->db), "p:f,q:d,r:f,");
}

static void test_open_fails(void **state)
{
	(void)state;
	struct nb_statedb *db = (struct nb_statedb *)0x1;
	assert_int_equal(nb_statedb_open("/nonexistent-nbfs-dir/x/state.db", &db), NB_E_DB);
	assert_ptr_equal(db, (struct nb_statedb *)0x1); /* untouched */
	nb_statedb_close(NULL);                          /* harmless */
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_dirty_order),
		T(test_odd_paths),
		T(test_each_dirty_stops),
		T(test_synced),
		T(test_persistence),
		cmocka_unit_test(test_open_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
