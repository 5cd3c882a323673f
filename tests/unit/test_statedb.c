/* Unit tests for sync/statedb.c: the durable operation log, synced
 * records, downloads in progress and conflict marks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wire/err.h"
#include "wire/log.h"
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

/* Collects each_op into "kind:path," text ("m:to<from," for a rename,
 * "f:path?N," with a doubt of N bytes), and the seqs in order. */
struct collect {
	char text[4096];
	int64_t seq[64];
	int calls, stop_after, stop_with;
};

static int collect_cb(void *arg, int64_t seq, int kind, const char *path, const char *path2,
		      const struct nb_synced *doubt)
{
	struct collect *c = arg;
	size_t n = strlen(c->text);
	if (path2)
		snprintf(c->text + n, sizeof(c->text) - n, "%c:%s<%s,", kind, path, path2);
	else if (doubt)
		snprintf(c->text + n, sizeof(c->text) - n, "%c:%s?%llu,", kind, path,
			 (unsigned long long)doubt->rsize);
	else
		snprintf(c->text + n, sizeof(c->text) - n, "%c:%s,", kind, path);
	if (c->calls < 64)
		c->seq[c->calls] = seq;
	c->calls++;
	if (c->stop_after && c->calls == c->stop_after)
		return c->stop_with;
	return 0;
}

static struct collect ops_c;

static const char *ops(struct nb_statedb *db)
{
	memset(&ops_c, 0, sizeof(ops_c));
	assert_int_equal(nb_statedb_each_op(db, collect_cb, &ops_c), 0);
	return ops_c.text;
}

/* Append at the first free position (as the queue does); its seq. */
static int64_t add(struct nb_statedb *db, int kind, const char *path, const char *path2)
{
	int64_t seq = -1;
	assert_int_equal(nb_statedb_op_next(db, &seq), 0);
	assert_true(seq > 0);
	assert_int_equal(nb_statedb_op_add(db, seq, kind, path, path2, NULL), 0);
	return seq;
}

/* Move seq to path at the first free position: the new seq, or -1 with
 * *r the error. */
static int64_t move_op(struct nb_statedb *db, int64_t seq, const char *path, int *r)
{
	int64_t ns = -1;
	assert_int_equal(nb_statedb_op_next(db, &ns), 0);
	*r = nb_statedb_op_move(db, seq, path, ns);
	return *r == 0 ? ns : -1;
}

/* A record that tells which path it was written for (size = tag). */
static void put(struct nb_statedb *db, const char *path, uint64_t tag)
{
	struct nb_synced s = {.kind = NB_KIND_FILE, .size = tag, .mtime_ns = (int64_t)tag * 10};
	assert_int_equal(nb_statedb_set_synced(db, -1, path, &s), 0);
}

/* Field by field: the struct has padding. */
static void assert_synced_equal(const struct nb_synced *a, const struct nb_synced *b)
{
	assert_int_equal(a->kind, b->kind);
	assert_true(a->size == b->size);
	assert_true(a->mtime_ns == b->mtime_ns);
	assert_int_equal(a->has_md5, b->has_md5);
	if (a->has_md5)
		assert_memory_equal(a->md5, b->md5, NB_MD5_LEN);
	assert_int_equal(a->has_remote, b->has_remote);
	if (a->has_remote) {
		assert_true(a->rsize == b->rsize);
		assert_true(a->rmtime_s == b->rmtime_s);
		assert_true(a->rmtime_ns == b->rmtime_ns);
	}
}

/* The tag of path's record, or -1 if it has none. */
static long long tag(struct nb_statedb *db, const char *path)
{
	struct nb_synced s;
	int r = nb_statedb_get_synced(db, path, &s);
	if (r == -ENOENT)
		return -1;
	assert_int_equal(r, 0);
	return (long long)s.size;
}

static void test_ops_order(void **state)
{
	struct fx *f = *state;
	assert_string_equal(ops(f->db), "");
	int64_t a = add(f->db, NB_KIND_FILE, "a", NULL);
	int64_t d = add(f->db, NB_KIND_DIR, "dir", NULL);
	int64_t b = add(f->db, NB_KIND_FILE, "dir/b", NULL);
	assert_true(a < d && d < b);
	assert_string_equal(ops(f->db), "f:a,d:dir,f:dir/b,");
	assert_true(ops_c.seq[0] == a && ops_c.seq[1] == d && ops_c.seq[2] == b);
	/* The log is not keyed by path: a second op on a path is a second
	 * entry, and barriers carry their second path. */
	int64_t u = add(f->db, NB_KIND_UNLINK, "a", NULL);
	int64_t m = add(f->db, NB_KIND_RENAME, "new", "dir");
	int64_t r = add(f->db, NB_KIND_RMDIR, "old", NULL);
	int64_t l = add(f->db, NB_KIND_SYMLINK, "a", NULL);
	assert_string_equal(ops(f->db), "f:a,d:dir,f:dir/b,u:a,m:new<dir,r:old,l:a,");
	/* Removed from the middle: the rest keep their order and seqs. */
	assert_int_equal(nb_statedb_op_del(f->db, d), 0);
	assert_int_equal(nb_statedb_op_del(f->db, u), 0);
	assert_string_equal(ops(f->db), "f:a,f:dir/b,m:new<dir,r:old,l:a,");
	assert_true(ops_c.seq[0] == a && ops_c.seq[2] == m && ops_c.seq[4] == l);
	/* Removing the last one does not let its seq be handed out again:
	 * a new op still sorts after everything ever queued. */
	assert_int_equal(nb_statedb_op_del(f->db, l), 0);
	int64_t z = add(f->db, NB_KIND_FILE, "z", NULL);
	assert_true(z > l);
	assert_string_equal(ops(f->db), "f:a,f:dir/b,m:new<dir,r:old,f:z,");
	/* Removing something not queued is fine. */
	assert_int_equal(nb_statedb_op_del(f->db, 999999), 0);
	assert_int_equal(nb_statedb_op_del(f->db, -1), 0);
	assert_int_equal(nb_statedb_op_del(f->db, a), 0);
	assert_int_equal(nb_statedb_op_del(f->db, b), 0);
	assert_int_equal(nb_statedb_op_del(f->db, m), 0);
	assert_int_equal(nb_statedb_op_del(f->db, r), 0);
	assert_int_equal(nb_statedb_op_del(f->db, z), 0);
	assert_string_equal(ops(f->db), "");
	/* Positions are never used twice, even once every row is gone (the
	 * queue hands them out in memory from nb_statedb_op_next). */
	int64_t n = add(f->db, NB_KIND_FILE, "n", NULL);
	assert_true(n > z);
	assert_string_equal(ops(f->db), "f:n,");
	/* A position taken already is refused, and changes nothing. */
	assert_int_not_equal(nb_statedb_op_add(f->db, n, NB_KIND_DIR, "x", NULL, NULL), 0);
	assert_string_equal(ops(f->db), "f:n,");
	/* Order is by position, not by when the row was written. */
	int64_t later = n + 10;
	assert_int_equal(nb_statedb_op_add(f->db, later, NB_KIND_DIR, "late", NULL, NULL), 0);
	assert_int_equal(nb_statedb_op_add(f->db, n + 5, NB_KIND_DIR, "early", NULL, NULL), 0);
	assert_string_equal(ops(f->db), "f:n,d:early,d:late,");
	int64_t next = -1;
	assert_int_equal(nb_statedb_op_next(f->db, &next), 0);
	assert_true(next == later + 1);
}

static void test_odd_paths(void **state)
{
	struct fx *f = *state;
	/* Paths are data, never SQL. */
	static const char *const paths[] = {"it's", "a\"b", "x'; DROP TABLE ops; --", "%_*",
					    "caf\xc3\xa9", ""};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		add(f->db, NB_KIND_FILE, paths[i], NULL);
		put(f->db, paths[i], 100 + i);
	}
	add(f->db, NB_KIND_RENAME, "it's", "x'; DROP TABLE synced; --");
	assert_string_equal(ops(f->db), "f:it's,f:a\"b,f:x'; DROP TABLE ops; --,f:%_*,f:caf\xc3\xa9,f:,"
					"m:it's<x'; DROP TABLE synced; --,");
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		assert_int_equal(tag(f->db, paths[i]), 100 + i);
	/* LIKE-style wildcards are not patterns either */
	assert_int_equal(nb_statedb_del_synced(f->db, -1, "%"), 0);
	assert_int_equal(nb_statedb_del_synced(f->db, -1, "it_s"), 0);
	assert_int_equal(nb_statedb_del_synced(f->db, -1, "%_%"), 0);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		assert_int_equal(tag(f->db, paths[i]), 100 + i);
	assert_int_equal(nb_statedb_del_synced(f->db, -1, "it's"), 0);
	assert_int_equal(tag(f->db, "it's"), -1);
	assert_int_equal(tag(f->db, "a\"b"), 101);
}

static void test_each_op_stops(void **state)
{
	struct fx *f = *state;
	struct collect c;
	add(f->db, NB_KIND_FILE, "1", NULL);
	add(f->db, NB_KIND_FILE, "2", NULL);
	add(f->db, NB_KIND_FILE, "3", NULL);
	memset(&c, 0, sizeof(c));
	c.stop_after = 2;
	c.stop_with = -EINTR;
	assert_int_equal(nb_statedb_each_op(f->db, collect_cb, &c), -EINTR);
	assert_int_equal(c.calls, 2);
	assert_string_equal(c.text, "f:1,f:2,");
	/* a positive "stop" is passed through too */
	memset(&c, 0, sizeof(c));
	c.stop_after = 1;
	c.stop_with = 7;
	assert_int_equal(nb_statedb_each_op(f->db, collect_cb, &c), 7);
	assert_int_equal(c.calls, 1);
	/* nothing was lost by stopping */
	assert_string_equal(ops(f->db), "f:1,f:2,f:3,");
}

static void test_op_move(void **state)
{
	struct fx *f = *state;
	int64_t a = add(f->db, NB_KIND_FILE, "a", NULL);
	int64_t d = add(f->db, NB_KIND_DIR, "d", NULL);
	int64_t c = add(f->db, NB_KIND_SYMLINK, "c", NULL);
	int r;
	int64_t na = move_op(f->db, a, "x/a", &r);
	assert_int_equal(r, 0);
	assert_true(na > c);
	assert_string_equal(ops(f->db), "d:d,l:c,f:x/a,");
	assert_true(ops_c.seq[2] == na);
	/* The kind goes with it; the old seq is gone. */
	int64_t nd = move_op(f->db, d, "e", &r);
	assert_int_equal(r, 0);
	assert_true(nd > na);
	assert_string_equal(ops(f->db), "l:c,f:x/a,d:e,");
	assert_int_equal(nb_statedb_op_del(f->db, a), 0); /* no longer there: no effect */
	assert_string_equal(ops(f->db), "l:c,f:x/a,d:e,");
	/* Moving to the same path still goes to the end. */
	int64_t nc = move_op(f->db, c, "c", &r);
	assert_int_equal(r, 0);
	assert_true(nc > nd);
	assert_string_equal(ops(f->db), "f:x/a,d:e,l:c,");
}

static void test_synced(void **state)
{
	struct fx *f = *state;
	struct nb_synced in = {.kind = NB_KIND_FILE,
			       .size = 0x123456789ull,
			       .mtime_ns = 1700000000123456789ll,
			       .has_md5 = 1,
			       .has_remote = 1,
			       .rsize = 0x987654321ull,
			       .rmtime_s = 1600000000,
			       .rmtime_ns = 999999999},
			 out;
	for (int i = 0; i < NB_MD5_LEN; i++)
		in.md5[i] = (uint8_t)(255 - i);
	assert_int_equal(nb_statedb_get_synced(f->db, "f", &out), -ENOENT);
	/* set_synced also removes the op it names, and only that one */
	int64_t sf = add(f->db, NB_KIND_FILE, "f", NULL);
	add(f->db, NB_KIND_FILE, "g", NULL);
	add(f->db, NB_KIND_FILE, "f2", NULL);
	assert_int_equal(nb_statedb_set_synced(f->db, sf, "f", &in), 0);
	assert_string_equal(ops(f->db), "f:g,f:f2,");
	memset(&out, 0x55, sizeof(out));
	assert_int_equal(nb_statedb_get_synced(f->db, "f", &out), 0);
	assert_int_equal(out.kind, NB_KIND_FILE);
	assert_true(out.size == 0x123456789ull);
	assert_true(out.mtime_ns == 1700000000123456789ll);
	assert_int_equal(out.has_md5, 1);
	assert_memory_equal(out.md5, in.md5, NB_MD5_LEN);
	assert_int_equal(out.has_remote, 1);
	assert_true(out.rsize == 0x987654321ull);
	assert_true(out.rmtime_s == 1600000000);
	assert_true(out.rmtime_ns == 999999999u);

	/* Replaced by a later record; a directory has no MD5 and, here, no
	 * remote stat. seq -1 leaves the ops alone. */
	struct nb_synced d = {.kind = NB_KIND_DIR, .size = 0, .mtime_ns = -5, .has_md5 = 0};
	memset(d.md5, 0xaa, NB_MD5_LEN);
	d.rsize = 77; /* ignored: has_remote is 0 */
	assert_int_equal(nb_statedb_set_synced(f->db, -1, "f", &d), 0);
	assert_string_equal(ops(f->db), "f:g,f:f2,");
	memset(&out, 0x55, sizeof(out));
	assert_int_equal(nb_statedb_get_synced(f->db, "f", &out), 0);
	assert_int_equal(out.kind, NB_KIND_DIR);
	assert_true(out.size == 0);
	assert_true(out.mtime_ns == -5);
	assert_int_equal(out.has_md5, 0);
	assert_int_equal(out.has_remote, 0);
	assert_true(out.rsize == 0);
	uint8_t zero[NB_MD5_LEN] = {0};
	assert_memory_equal(out.md5, zero, NB_MD5_LEN);
	/* other paths are unaffected */
	assert_int_equal(nb_statedb_get_synced(f->db, "g", &out), -ENOENT);
	assert_int_equal(nb_statedb_get_synced(f->db, "F", &out), -ENOENT);
	/* queueing the path again does not forget what the server holds */
	add(f->db, NB_KIND_FILE, "f", NULL);
	assert_int_equal(nb_statedb_get_synced(f->db, "f", &out), 0);
	assert_int_equal(nb_statedb_flush(f->db), 0);
}

static void test_del_synced(void **state)
{
	struct fx *f = *state;
	put(f->db, "a", 1);
	put(f->db, "a/x", 2);
	put(f->db, "a/x/y", 3);
	put(f->db, "ab", 4);
	put(f->db, "a.b", 5);
	put(f->db, "a-", 6);
	put(f->db, "b", 7);
	put(f->db, "b/a", 8);
	int64_t u = add(f->db, NB_KIND_RMDIR, "a", NULL);
	add(f->db, NB_KIND_FILE, "keep", NULL);
	assert_int_equal(nb_statedb_del_synced(f->db, u, "a"), 0);
	assert_string_equal(ops(f->db), "f:keep,");
	assert_int_equal(tag(f->db, "a"), -1);
	assert_int_equal(tag(f->db, "a/x"), -1);
	assert_int_equal(tag(f->db, "a/x/y"), -1);
	/* siblings sharing the prefix, and "a" further down elsewhere */
	assert_int_equal(tag(f->db, "ab"), 4);
	assert_int_equal(tag(f->db, "a.b"), 5);
	assert_int_equal(tag(f->db, "a-"), 6);
	assert_int_equal(tag(f->db, "b"), 7);
	assert_int_equal(tag(f->db, "b/a"), 8);
	/* a path below only: the parent stays */
	assert_int_equal(nb_statedb_del_synced(f->db, -1, "b/a"), 0);
	assert_int_equal(tag(f->db, "b"), 7);
	assert_int_equal(tag(f->db, "b/a"), -1);
	/* nothing there: fine */
	assert_int_equal(nb_statedb_del_synced(f->db, -1, "nothing"), 0);
	assert_string_equal(ops(f->db), "f:keep,");
}

static void test_del_synced_wildcards(void **state)
{
	struct fx *f = *state;
	put(f->db, "x_y", 1);
	put(f->db, "xzy", 2);
	put(f->db, "x_y/1", 3);
	put(f->db, "xzy/1", 4);
	put(f->db, "100%", 5);
	put(f->db, "100%/a", 6);
	put(f->db, "1000", 7);
	put(f->db, "1000/a", 8);
	assert_int_equal(nb_statedb_del_synced(f->db, -1, "x_y"), 0);
	assert_int_equal(tag(f->db, "x_y"), -1);
	assert_int_equal(tag(f->db, "x_y/1"), -1);
	assert_int_equal(tag(f->db, "xzy"), 2);
	assert_int_equal(tag(f->db, "xzy/1"), 4);
	assert_int_equal(nb_statedb_del_synced(f->db, -1, "100%"), 0);
	assert_int_equal(tag(f->db, "100%"), -1);
	assert_int_equal(tag(f->db, "100%/a"), -1);
	assert_int_equal(tag(f->db, "1000"), 7);
	assert_int_equal(tag(f->db, "1000/a"), 8);
}

static void test_move_synced(void **state)
{
	struct fx *f = *state;
	struct nb_synced in = {.kind = NB_KIND_FILE, .size = 3, .mtime_ns = 4, .has_md5 = 1,
			       .has_remote = 1, .rsize = 5, .rmtime_s = 6, .rmtime_ns = 7},
			 out;
	memset(in.md5, 0x42, NB_MD5_LEN);
	put(f->db, "a", 1);
	assert_int_equal(nb_statedb_set_synced(f->db, -1, "a/x", &in), 0);
	put(f->db, "a/x/y", 3);
	put(f->db, "a/xy", 4);
	put(f->db, "a/x.y", 5);
	put(f->db, "b", 6);
	put(f->db, "b/x", 7);     /* replaced */
	put(f->db, "b/x/old", 8); /* replaced: below the destination */
	put(f->db, "b/xy", 9);    /* not at or below the destination */
	int64_t m = add(f->db, NB_KIND_RENAME, "b/x", "a/x");
	add(f->db, NB_KIND_FILE, "keep", NULL);
	assert_int_equal(nb_statedb_move_synced(f->db, m, "a/x", "b/x"), 0);
	assert_string_equal(ops(f->db), "f:keep,");
	assert_int_equal(tag(f->db, "a/x"), -1);
	assert_int_equal(tag(f->db, "a/x/y"), -1);
	assert_int_equal(tag(f->db, "a"), 1);
	assert_int_equal(tag(f->db, "a/xy"), 4);
	assert_int_equal(tag(f->db, "a/x.y"), 5);
	/* the whole record moved, not just its key */
	assert_int_equal(nb_statedb_get_synced(f->db, "b/x", &out), 0);
	assert_synced_equal(&out, &in);
	assert_int_equal(tag(f->db, "b/x/y"), 3);
	assert_int_equal(tag(f->db, "b/x/old"), -1);
	assert_int_equal(tag(f->db, "b"), 6);
	assert_int_equal(tag(f->db, "b/xy"), 9);
	/* A whole top-level tree, onto a name that is a prefix of another. */
	put(f->db, "bb", 10);
	assert_int_equal(nb_statedb_move_synced(f->db, -1, "b", "c"), 0);
	assert_int_equal(tag(f->db, "c"), 6);
	assert_int_equal(tag(f->db, "c/x"), 3);
	assert_int_equal(tag(f->db, "c/x/y"), 3);
	assert_int_equal(tag(f->db, "c/xy"), 9);
	assert_int_equal(tag(f->db, "b"), -1);
	assert_int_equal(tag(f->db, "bb"), 10);
	/* nothing at the source: the destination is still replaced */
	assert_int_equal(nb_statedb_move_synced(f->db, -1, "nothing", "bb"), 0);
	assert_int_equal(tag(f->db, "bb"), -1);
	assert_int_equal(tag(f->db, "c"), 6);
}

static void test_move_synced_wildcards(void **state)
{
	struct fx *f = *state;
	put(f->db, "p_", 1);
	put(f->db, "p_/1", 2);
	put(f->db, "pa", 3);
	put(f->db, "pa/1", 4);
	put(f->db, "p%", 5);
	put(f->db, "pzz/1", 6);
	put(f->db, "q%", 7);
	put(f->db, "qx", 8); /* would match "q%" or "q_" as a pattern */
	put(f->db, "qx/1", 9);
	assert_int_equal(nb_statedb_move_synced(f->db, -1, "p_", "q_"), 0);
	assert_int_equal(tag(f->db, "q_"), 1);
	assert_int_equal(tag(f->db, "q_/1"), 2);
	assert_int_equal(tag(f->db, "p_"), -1);
	assert_int_equal(tag(f->db, "pa"), 3);
	assert_int_equal(tag(f->db, "pa/1"), 4);
	assert_int_equal(tag(f->db, "qx"), 8);
	assert_int_equal(tag(f->db, "qx/1"), 9);
	assert_int_equal(nb_statedb_move_synced(f->db, -1, "p%", "q%"), 0);
	assert_int_equal(tag(f->db, "q%"), 5); /* replaced */
	assert_int_equal(tag(f->db, "p%"), -1);
	assert_int_equal(tag(f->db, "pzz/1"), 6);
	assert_int_equal(tag(f->db, "pa"), 3);
	assert_int_equal(tag(f->db, "qx"), 8);
	assert_int_equal(tag(f->db, "qx/1"), 9);
	/* multi-byte names: lengths are not confused by UTF-8 */
	put(f->db, "caf\xc3\xa9", 20);
	put(f->db, "caf\xc3\xa9/d\xc3\xa9j\xc3\xa0", 21);
	assert_int_equal(nb_statedb_move_synced(f->db, -1, "caf\xc3\xa9", "\xc3\xa9t\xc3\xa9"), 0);
	assert_int_equal(tag(f->db, "\xc3\xa9t\xc3\xa9"), 20);
	assert_int_equal(tag(f->db, "\xc3\xa9t\xc3\xa9/d\xc3\xa9j\xc3\xa0"), 21);
	assert_int_equal(tag(f->db, "caf\xc3\xa9/d\xc3\xa9j\xc3\xa0"), -1);
}

static void test_fetch(void **state)
{
	struct fx *f = *state;
	uint8_t m1[NB_MD5_LEN], m2[NB_MD5_LEN], got[NB_MD5_LEN];
	memset(m1, 0x11, sizeof(m1));
	memset(m2, 0x22, sizeof(m2));
	assert_int_equal(nb_statedb_fetch_get(f->db, "d", got), -ENOENT);
	assert_int_equal(nb_statedb_fetch_set(f->db, "d", m1), 0);
	assert_int_equal(nb_statedb_fetch_set(f->db, "d/e's", m2), 0);
	memset(got, 0, sizeof(got));
	assert_int_equal(nb_statedb_fetch_get(f->db, "d", got), 0);
	assert_memory_equal(got, m1, NB_MD5_LEN);
	assert_int_equal(nb_statedb_fetch_get(f->db, "d/e's", got), 0);
	assert_memory_equal(got, m2, NB_MD5_LEN);
	assert_int_equal(nb_statedb_fetch_get(f->db, "D", got), -ENOENT);
	/* a new download of the path replaces the old one */
	assert_int_equal(nb_statedb_fetch_set(f->db, "d", m2), 0);
	assert_int_equal(nb_statedb_fetch_get(f->db, "d", got), 0);
	assert_memory_equal(got, m2, NB_MD5_LEN);
	/* deleting is per path */
	assert_int_equal(nb_statedb_fetch_del(f->db, "d"), 0);
	assert_int_equal(nb_statedb_fetch_get(f->db, "d", got), -ENOENT);
	assert_int_equal(nb_statedb_fetch_get(f->db, "d/e's", got), 0);
	assert_int_equal(nb_statedb_fetch_del(f->db, "never"), 0);
	/* independent of the other tables */
	assert_string_equal(ops(f->db), "");
	assert_int_equal(tag(f->db, "d/e's"), -1);
}

static void test_conflict(void **state)
{
	struct fx *f = *state;
	assert_int_equal(nb_statedb_conflict_has(f->db, "c"), 0);
	assert_int_equal(nb_statedb_conflict_set(f->db, "c"), 0);
	assert_int_equal(nb_statedb_conflict_set(f->db, "c"), 0); /* twice: fine */
	assert_int_equal(nb_statedb_conflict_set(f->db, "c/in"), 0);
	assert_int_equal(nb_statedb_conflict_set(f->db, "cd"), 0);
	assert_int_equal(nb_statedb_conflict_set(f->db, "c_"), 0);
	assert_int_equal(nb_statedb_conflict_has(f->db, "c"), 1);
	assert_int_equal(nb_statedb_conflict_has(f->db, "c/in"), 1);
	assert_int_equal(nb_statedb_conflict_has(f->db, "C"), 0);
	assert_int_equal(nb_statedb_conflict_has(f->db, "c/"), 0);
	/* a wildcard name removes only itself */
	assert_int_equal(nb_statedb_conflict_del(f->db, "c%"), 0);
	assert_int_equal(nb_statedb_conflict_del(f->db, "_"), 0);
	assert_int_equal(nb_statedb_conflict_has(f->db, "cd"), 1);
	assert_int_equal(nb_statedb_conflict_has(f->db, "c_"), 1);
	/* removing a directory removes the marks below it, not its siblings */
	assert_int_equal(nb_statedb_conflict_del(f->db, "c"), 0);
	assert_int_equal(nb_statedb_conflict_has(f->db, "c"), 0);
	assert_int_equal(nb_statedb_conflict_has(f->db, "c/in"), 0);
	assert_int_equal(nb_statedb_conflict_has(f->db, "cd"), 1);
	assert_int_equal(nb_statedb_conflict_has(f->db, "c_"), 1);
	assert_int_equal(nb_statedb_conflict_del(f->db, "never"), 0);
}

static void test_persistence(void **state)
{
	struct fx *f = *state;
	struct nb_synced in = {.kind = NB_KIND_FILE, .size = 7, .mtime_ns = 8, .has_md5 = 1,
			       .has_remote = 1, .rsize = 9, .rmtime_s = 10, .rmtime_ns = 11},
			 out;
	uint8_t m[NB_MD5_LEN], got[NB_MD5_LEN];
	memset(in.md5, 3, NB_MD5_LEN);
	memset(m, 0x5a, NB_MD5_LEN);
	int64_t p = add(f->db, NB_KIND_FILE, "p", NULL);
	add(f->db, NB_KIND_DIR, "q", NULL);
	add(f->db, NB_KIND_RENAME, "to", "from");
	int64_t last = add(f->db, NB_KIND_UNLINK, "gone", NULL);
	assert_int_equal(nb_statedb_op_del(f->db, last), 0);
	assert_int_equal(nb_statedb_set_synced(f->db, -1, "s", &in), 0);
	assert_int_equal(nb_statedb_fetch_set(f->db, "dl", m), 0);
	assert_int_equal(nb_statedb_conflict_set(f->db, "cc"), 0);
	assert_int_equal(nb_statedb_flush(f->db), 0);
	nb_statedb_close(f->db);
	f->db = NULL;
	assert_int_equal(nb_statedb_open(f->path, &f->db), 0);
	assert_string_equal(ops(f->db), "f:p,d:q,m:to<from,");
	assert_true(ops_c.seq[0] == p);
	assert_int_equal(nb_statedb_get_synced(f->db, "s", &out), 0);
	assert_synced_equal(&out, &in);
	assert_int_equal(nb_statedb_fetch_get(f->db, "dl", got), 0);
	assert_memory_equal(got, m, NB_MD5_LEN);
	assert_int_equal(nb_statedb_conflict_has(f->db, "cc"), 1);
	/* and the order continues after the reopened entries, past the seq
	 * of the op deleted before the close */
	int64_t r = add(f->db, NB_KIND_FILE, "r", NULL);
	assert_true(r > last);
	assert_string_equal(ops(f->db), "f:p,d:q,m:to<from,f:r,");
}

/* Closed without a flush: what each call committed is still there. */
static void test_committed_without_flush(void **state)
{
	struct fx *f = *state;
	add(f->db, NB_KIND_FILE, "p", NULL);
	put(f->db, "s", 5);
	nb_statedb_close(f->db);
	f->db = NULL;
	assert_int_equal(nb_statedb_open(f->path, &f->db), 0);
	assert_string_equal(ops(f->db), "f:p,");
	assert_int_equal(tag(f->db, "s"), 5);
}

/* ---- the group: one thread's changes in one transaction ---- */

/* Checks in a child process: exit status 10 + the line that failed. */
#define CHILD_CHECK(c)                          \
	do {                                    \
		if (!(c))                       \
			_exit(10 + __LINE__ % 200); \
	} while (0)

static int64_t child_add(struct nb_statedb *db, const char *path)
{
	int64_t seq = -1;
	CHILD_CHECK(nb_statedb_op_next(db, &seq) == 0);
	CHILD_CHECK(nb_statedb_op_add(db, seq, NB_KIND_FILE, path, NULL, NULL) == 0);
	return seq;
}

/* Run fn on the database in a child process that then dies without
 * closing it, as nbfs killed: afterwards the fixture's connection shows
 * what was committed. */
static void killed_after(struct fx *f, void (*fn)(struct nb_statedb *db))
{
	nb_statedb_close(f->db);
	f->db = NULL;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct nb_statedb *db;
		if (nb_statedb_open(f->path, &db) != 0)
			_exit(2);
		fn(db);
		_exit(0);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(nb_statedb_open(f->path, &f->db), 0);
}

static void group_uncommitted(struct nb_statedb *db)
{
	nb_statedb_group_begin(db);
	int64_t a = child_add(db, "a");
	struct nb_synced s = {.kind = NB_KIND_FILE, .size = 1};
	CHILD_CHECK(nb_statedb_set_synced(db, a, "a", &s) == 0);
	child_add(db, "b");
}

static void group_committed(struct nb_statedb *db)
{
	nb_statedb_group_begin(db);
	int64_t a = child_add(db, "a");
	int64_t b = child_add(db, "b");
	/* a body that fails is undone alone (a savepoint) */
	CHILD_CHECK(nb_statedb_op_move(db, a + 100, "x", b + 1) == -ENOENT);
	struct nb_synced s = {.kind = NB_KIND_FILE, .size = 2};
	CHILD_CHECK(nb_statedb_set_synced(db, a, "a", &s) == 0);
	CHILD_CHECK(nb_statedb_group_commit(db) == 0);
	child_add(db, "lost"); /* after the commit: not on record */
}

static void *other_thread(void *arg)
{
	struct nb_synced s = {.kind = NB_KIND_FILE, .size = 3};
	return (void *)(intptr_t)nb_statedb_set_synced(arg, -1, "other", &s);
}

static void group_and_another_thread(struct nb_statedb *db)
{
	nb_statedb_group_begin(db);
	child_add(db, "mine");
	pthread_t t;
	void *r;
	CHILD_CHECK(pthread_create(&t, NULL, other_thread, db) == 0);
	CHILD_CHECK(pthread_join(t, &r) == 0 && r == NULL);
	child_add(db, "mine-after");
}

static void group_flush_end(struct nb_statedb *db)
{
	nb_statedb_group_begin(db);
	child_add(db, "d");
	CHILD_CHECK(nb_statedb_flush(db) == 0);
	child_add(db, "e");
	CHILD_CHECK(nb_statedb_group_end(db) == 0);
	child_add(db, "g"); /* no group: its own transaction */
	nb_statedb_group_begin(db);
	child_add(db, "h");
}

/* The sync thread's changes in a group share one transaction: a kill
 * before it is committed loses all of them (as a power cut loses the
 * last commits: what they recorded is asked again), one after keeps
 * all; a failed body inside is undone alone. Another thread's change
 * commits the group first, so it is on record when its call returns,
 * as without a group. */
static void test_group(void **state)
{
	struct fx *f = *state;
	killed_after(f, group_uncommitted);
	assert_string_equal(ops(f->db), "");
	assert_int_equal(tag(f->db, "a"), -1);
	killed_after(f, group_committed);
	assert_string_equal(ops(f->db), "f:b,");
	assert_int_equal(tag(f->db, "a"), 2);
	killed_after(f, group_and_another_thread);
	assert_string_equal(ops(f->db), "f:b,f:mine,");
	assert_int_equal(tag(f->db, "other"), 3);
	/* flush commits it too; end commits and ends it */
	killed_after(f, group_flush_end);
	assert_string_equal(ops(f->db), "f:b,f:mine,f:d,f:e,f:g,");
}

static void test_open_fails(void **state)
{
	(void)state;
	struct nb_statedb *db = (struct nb_statedb *)0x1;
	assert_int_equal(nb_statedb_open("/nonexistent-nbfs-dir/x/state.db", &db), NB_E_DB);
	assert_ptr_equal(db, (struct nb_statedb *)0x1); /* untouched */
	nb_statedb_close(NULL);                          /* harmless */
}

/*
 * Bug (sync/statedb.c:160-172, nb_statedb_op_move): moving a seq that is
 * not in the log inserts nothing, yet returns 0 and sets *newseq from
 * sqlite3_last_insert_rowid(), i.e. the seq of whatever was inserted last
 * on the connection: another, live op. nb_status_rename then gives the
 * moved entry that seq, and its done() (set_synced(seq, ...)) deletes the
 * other op, e.g. a queued rename, from the durable log. The log and the
 * in-memory queue can disagree this way whenever a removal failed
 * (op_del's result is ignored in several places in status.c) or after a
 * second nb_status_load (see test_regress_load_twice in test_status.c).
 * Fix: after the INSERT ... SELECT, check sqlite3_changes(db->db) == 1 and
 * return -ENOENT (rolling back) otherwise.
 */
static void test_regress_op_move_missing_seq(void **state)
{
	struct fx *f = *state;
	int64_t a = add(f->db, NB_KIND_FILE, "a", NULL);
	int64_t m = add(f->db, NB_KIND_RENAME, "to", "from");
	assert_int_equal(nb_statedb_op_del(f->db, a), 0);
	int r;
	int64_t ns = move_op(f->db, a, "b", &r);
	/* nothing may be moved, and no live op's seq may be handed out */
	assert_string_equal(ops(f->db), "m:to<from,");
	assert_true(r != 0 || ns != m);
	assert_int_equal(r, -ENOENT);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)


/* Replace the fixture's database with one made by sql (an older
 * layout), and open it. */
static void open_raw(struct fx *f, const char *sql)
{
	nb_statedb_close(f->db);
	f->db = NULL;
	unlink(f->path);
	sqlite3 *raw;
	assert_int_equal(sqlite3_open(f->path, &raw), SQLITE_OK);
	assert_int_equal(sqlite3_exec(raw, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(raw);
	assert_int_equal(nb_statedb_open(f->path, &f->db), 0);
}

/* A database in the first layout (a set of dirty paths, synced records
 * without server attributes) is carried over to the last one in one
 * open, through every step: the queue in order, the records kept, the
 * layout number recorded, doubts writable. */
static void test_upgrade_from_layout_1(void **state)
{
	struct fx *f = *state;
	open_raw(f, "CREATE TABLE dirty(path TEXT PRIMARY KEY, kind INTEGER NOT NULL,"
		    " seq INTEGER NOT NULL);"
		    "CREATE TABLE synced(path TEXT PRIMARY KEY, kind INTEGER NOT NULL,"
		    " size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, md5 BLOB);"
		    "INSERT INTO dirty VALUES('b', 102, 2), ('a', 100, 1), ('c', 102, 3);"
		    "INSERT INTO synced VALUES('s', 102, 5, 77, NULL);");
	assert_int_equal(nb_statedb_layout(f->db), 6);
	struct collect c = {0};
	assert_int_equal(nb_statedb_each_op(f->db, collect_cb, &c), 0);
	assert_string_equal(c.text, "d:a,f:b,f:c,");
	struct nb_synced rec;
	assert_int_equal(nb_statedb_get_synced(f->db, "s", &rec), 0);
	assert_int_equal(rec.size, 5);
	assert_int_equal(rec.mtime_ns, 77);
	assert_false(rec.has_remote);
	/* Opening again changes nothing. */
	nb_statedb_close(f->db);
	assert_int_equal(nb_statedb_open(f->path, &f->db), 0);
	memset(&c, 0, sizeof(c));
	assert_int_equal(nb_statedb_each_op(f->db, collect_cb, &c), 0);
	assert_string_equal(c.text, "d:a,f:b,f:c,");
	struct nb_synced d = {.kind = NB_KIND_FILE, .size = 3, .has_remote = 1, .rsize = 3};
	assert_int_equal(nb_statedb_op_doubt(f->db, c.seq[1], &d), 0);
	assert_string_equal(ops(f->db), "d:a,f:b?3,f:c,");
}

/* The layout-2 tables, as that release created them. */
static const char layout2_sql[] =
	"CREATE TABLE ops(seq INTEGER PRIMARY KEY AUTOINCREMENT, kind INTEGER NOT NULL,"
	" path TEXT NOT NULL, path2 TEXT);"
	"CREATE TABLE synced(path TEXT PRIMARY KEY, kind INTEGER NOT NULL, size INTEGER NOT NULL,"
	" mtime_ns INTEGER NOT NULL, md5 BLOB, rsize INTEGER, rmtime_s INTEGER, rmtime_ns INTEGER);"
	"CREATE TABLE fetch(path TEXT PRIMARY KEY, md5 BLOB NOT NULL);"
	"CREATE TABLE conflict(path TEXT PRIMARY KEY);"
	"INSERT INTO ops(kind, path, path2) VALUES(102, 'b', NULL), (109, 'c', 'b'), (102, 'a', NULL);"
	"INSERT INTO synced VALUES('s', 102, 5, 77, NULL, 5, 1, 2);"
	"INSERT INTO conflict VALUES('k');"
	"PRAGMA user_version = 2;";

/* Layout 2 (doubts in memory only) to the last: the queue, its order, records
 * and marks kept, no entry in doubt; then doubts are kept, and opening
 * again changes nothing. */
static void test_upgrade_from_layout_2(void **state)
{
	struct fx *f = *state;
	open_raw(f, layout2_sql);
	assert_string_equal(ops(f->db), "f:b,m:c<b,f:a,");
	struct nb_synced rec;
	assert_int_equal(nb_statedb_get_synced(f->db, "s", &rec), 0);
	assert_true(rec.size == 5 && rec.has_remote && rec.rsize == 5 && rec.rmtime_ns == 2);
	assert_true(nb_statedb_conflict_has(f->db, "k"));
	assert_int_equal(nb_statedb_layout(f->db), 6);
	/* the new columns work */
	struct nb_synced d = {.kind = NB_KIND_FILE, .size = 8, .has_remote = 1, .rsize = 8};
	assert_int_equal(nb_statedb_op_doubt(f->db, ops_c.seq[2], &d), 0);
	nb_statedb_close(f->db);
	assert_int_equal(nb_statedb_open(f->path, &f->db), 0);
	assert_string_equal(ops(f->db), "f:b,m:c<b,f:a?8,");
	assert_int_equal(nb_statedb_layout(f->db), 6);
}

static int pins_cb(void *arg, const char *path)
{
	char *text = arg;
	size_t n = strlen(text);
	snprintf(text + n, 256 - n, "%s,", path);
	return 0;
}

static const char *pins(struct nb_statedb *db)
{
	static char text[256];
	text[0] = 0;
	assert_int_equal(nb_statedb_each_pin(db, pins_cb, text), 0);
	return text;
}

/* The layout-3 tables, as that release created them (no pins). */
static const char layout3_sql[] =
	"CREATE TABLE ops(seq INTEGER PRIMARY KEY AUTOINCREMENT, kind INTEGER NOT NULL,"
	" path TEXT NOT NULL, path2 TEXT, dkind INTEGER, dsize INTEGER, dmtime_ns INTEGER,"
	" dmd5 BLOB, drsize INTEGER, drmtime_s INTEGER, drmtime_ns INTEGER);"
	"CREATE TABLE synced(path TEXT PRIMARY KEY, kind INTEGER NOT NULL, size INTEGER NOT NULL,"
	" mtime_ns INTEGER NOT NULL, md5 BLOB, rsize INTEGER, rmtime_s INTEGER, rmtime_ns INTEGER);"
	"CREATE TABLE fetch(path TEXT PRIMARY KEY, md5 BLOB NOT NULL);"
	"CREATE TABLE conflict(path TEXT PRIMARY KEY);"
	"INSERT INTO ops(kind, path, path2, dkind, dsize, drsize) VALUES(102, 'b', NULL, 102, 6, 6),"
	" (102, 'a', NULL, NULL, NULL, NULL);"
	"INSERT INTO conflict VALUES('k');"
	"PRAGMA user_version = 3;";

/* The position of the first operation. */
static int64_t first_seq(struct nb_statedb *db)
{
	memset(&ops_c, 0, sizeof(ops_c));
	assert_int_equal(nb_statedb_each_op(db, collect_cb, &ops_c), 0);
	assert_true(ops_c.calls > 0);
	return ops_c.seq[0];
}

struct doubts2 {
	int n;
	int64_t seq;
	uint64_t rsize;
};

static int doubts2_cb(void *arg, int64_t seq, const struct nb_synced *d)
{
	struct doubts2 *dd = arg;
	dd->n++;
	dd->seq = seq;
	dd->rsize = d->rsize;
	return 0;
}

/* Layout 3 to the last: the queue with its doubts and the marks kept, no
 * pins yet; pins are kept from then on, and stream keys (layout 5). */
static void test_upgrade_from_layout_3(void **state)
{
	struct fx *f = *state;
	open_raw(f, layout3_sql);
	assert_int_equal(nb_statedb_layout(f->db), 6);
	assert_string_equal(ops(f->db), "f:b?6,f:a,");
	assert_true(nb_statedb_conflict_has(f->db, "k"));
	assert_string_equal(pins(f->db), "");
	assert_int_equal(nb_statedb_pin_set(f->db, "docs"), 0);
	const uint8_t key[NB_MD5_LEN] = {7};
	assert_int_equal(nb_statedb_op_key(f->db, add(f->db, NB_KIND_FILE, "s", NULL), key), 0);
	/* and second doubts (layout 6) on the old rows too */
	struct nb_synced d2 = {.kind = NB_KIND_FILE, .size = 3, .has_remote = 1, .rsize = 3};
	struct doubts2 dd = {0};
	assert_int_equal(nb_statedb_op_doubt2(f->db, first_seq(f->db), &d2), 0);
	assert_int_equal(nb_statedb_each_doubt2(f->db, doubts2_cb, &dd), 0);
	assert_int_equal(dd.n, 1);
	nb_statedb_close(f->db);
	assert_int_equal(nb_statedb_open(f->path, &f->db), 0);
	assert_int_equal(nb_statedb_layout(f->db), 6);
	assert_string_equal(pins(f->db), "docs,");
}

/* Pins: set twice is once; removal takes what is below; a move carries
 * what is below and replaces what was at the destination. */
static void test_pins(void **state)
{
	struct fx *f = *state;
	assert_int_equal(nb_statedb_pin_set(f->db, "a"), 0);
	assert_int_equal(nb_statedb_pin_set(f->db, "a"), 0);
	assert_int_equal(nb_statedb_pin_set(f->db, "a/x"), 0);
	assert_int_equal(nb_statedb_pin_set(f->db, "ab"), 0);
	assert_int_equal(nb_statedb_pin_set(f->db, "c/d"), 0);
	assert_string_equal(pins(f->db), "a,a/x,ab,c/d,");
	assert_int_equal(nb_statedb_pin_move(f->db, "a", "c"), 0);
	assert_string_equal(pins(f->db), "ab,c,c/x,");
	assert_int_equal(nb_statedb_pin_del(f->db, "c"), 0);
	assert_string_equal(pins(f->db), "ab,");
	assert_int_equal(nb_statedb_pin_del(f->db, "nothing"), 0);
	assert_string_equal(pins(f->db), "ab,");
}

/* A doubt belongs to its operation: moved with it, cleared, and gone
 * when the operation is. */
static void test_op_doubt(void **state)
{
	struct fx *f = *state;
	struct nb_synced d = {.kind = NB_KIND_FILE,
			      .size = 4,
			      .mtime_ns = -1,
			      .has_md5 = 1,
			      .md5 = {9},
			      .has_remote = 1,
			      .rsize = 4,
			      .rmtime_s = 1,
			      .rmtime_ns = 2};
	int64_t a = add(f->db, NB_KIND_FILE, "a", NULL);
	int64_t b = add(f->db, NB_KIND_FILE, "b", NULL);
	assert_int_equal(nb_statedb_op_doubt(f->db, a, &d), 0);
	assert_string_equal(ops(f->db), "f:a?4,f:b,");
	int r;
	int64_t na = move_op(f->db, a, "z", &r);
	assert_int_equal(r, 0);
	assert_string_equal(ops(f->db), "f:b,f:z?4,");
	assert_int_equal(nb_statedb_op_doubt(f->db, na, NULL), 0);
	assert_int_equal(nb_statedb_op_doubt(f->db, b, &d), 0);
	assert_string_equal(ops(f->db), "f:b?4,f:z,");
	assert_int_equal(nb_statedb_op_del(f->db, b), 0);
	assert_string_equal(ops(f->db), "f:z,");
}

/* Stream keys: kept with their operation across a move, cleared on
 * request, gone with the operation; listed with their (new) position. */
struct keys {
	int n;
	int64_t seq[4];
	uint8_t first[NB_MD5_LEN];
};

static int keys_cb(void *arg, int64_t seq, const uint8_t key[NB_MD5_LEN])
{
	struct keys *k = arg;
	if (k->n == 0)
		memcpy(k->first, key, NB_MD5_LEN);
	if (k->n < 4)
		k->seq[k->n] = seq;
	k->n++;
	return 0;
}

static void test_op_key(void **state)
{
	struct fx *f = *state;
	const uint8_t key[NB_MD5_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	int64_t a = add(f->db, NB_KIND_FILE, "a", NULL);
	int64_t b = add(f->db, NB_KIND_FILE, "b", NULL);
	struct keys k = {0};
	assert_int_equal(nb_statedb_each_key(f->db, keys_cb, &k), 0);
	assert_int_equal(k.n, 0);
	assert_int_equal(nb_statedb_op_key(f->db, a, key), 0);
	int r;
	int64_t na = move_op(f->db, a, "z", &r);
	assert_int_equal(r, 0);
	memset(&k, 0, sizeof(k));
	assert_int_equal(nb_statedb_each_key(f->db, keys_cb, &k), 0);
	assert_int_equal(k.n, 1);
	assert_int_equal(k.seq[0], na);
	assert_memory_equal(k.first, key, NB_MD5_LEN);
	assert_int_equal(nb_statedb_op_key(f->db, b, key), 0);
	assert_int_equal(nb_statedb_op_key(f->db, b, NULL), 0);
	assert_int_equal(nb_statedb_op_del(f->db, na), 0);
	memset(&k, 0, sizeof(k));
	assert_int_equal(nb_statedb_each_key(f->db, keys_cb, &k), 0);
	assert_int_equal(k.n, 0);
}

/* A second doubt: kept with its operation through a move, cleared, and
 * gone with it. */
static void test_op_doubt2(void **state)
{
	struct fx *f = *state;
	struct nb_synced d = {.kind = NB_KIND_FILE, .size = 9, .has_remote = 1, .rsize = 9};
	int64_t a = add(f->db, NB_KIND_FILE, "a", NULL);
	int64_t b = add(f->db, NB_KIND_FILE, "b", NULL);
	struct doubts2 dd = {0};
	assert_int_equal(nb_statedb_each_doubt2(f->db, doubts2_cb, &dd), 0);
	assert_int_equal(dd.n, 0);
	assert_int_equal(nb_statedb_op_doubt2(f->db, a, &d), 0);
	int r;
	int64_t na = move_op(f->db, a, "z", &r);
	assert_int_equal(r, 0);
	memset(&dd, 0, sizeof(dd));
	assert_int_equal(nb_statedb_each_doubt2(f->db, doubts2_cb, &dd), 0);
	assert_int_equal(dd.n, 1);
	assert_int_equal(dd.seq, na);
	assert_int_equal(dd.rsize, 9);
	assert_int_equal(nb_statedb_op_doubt2(f->db, b, &d), 0);
	assert_int_equal(nb_statedb_op_doubt2(f->db, b, NULL), 0);
	assert_int_equal(nb_statedb_op_del(f->db, na), 0);
	memset(&dd, 0, sizeof(dd));
	assert_int_equal(nb_statedb_each_doubt2(f->db, doubts2_cb, &dd), 0);
	assert_int_equal(dd.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_ops_order),
		T(test_op_key),
		T(test_op_doubt2),
		T(test_upgrade_from_layout_1),
		T(test_upgrade_from_layout_2),
		T(test_upgrade_from_layout_3),
		T(test_pins),
		T(test_op_doubt),
		T(test_odd_paths),
		T(test_each_op_stops),
		T(test_op_move),
		T(test_synced),
		T(test_del_synced),
		T(test_del_synced_wildcards),
		T(test_move_synced),
		T(test_move_synced_wildcards),
		T(test_fetch),
		T(test_conflict),
		T(test_persistence),
		T(test_committed_without_flush),
		T(test_group),
		cmocka_unit_test(test_open_fails),
		T(test_regress_op_move_missing_seq),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
