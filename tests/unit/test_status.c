/* Unit tests for sync/status.c: the live sync state and the job queue. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/md5.h"
#include "sync/statedb.h"
#include "sync/status.h"
#include "sync/xio.h"
#include "testutil.h"

#define BIG_DELAY 60000L

struct fx {
	char *dir, *dbpath;
	struct nb_statedb *db;
	struct nb_status *st;
};

static struct fx *fx_new(long delay_ms)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->dir = tu_mkdtemp("status");
	assert_non_null(f->dir);
	f->dbpath = tu_join(f->dir, "state.db");
	assert_int_equal(nb_statedb_open(f->dbpath, &f->db), 0);
	assert_int_equal(nb_status_new(f->db, delay_ms, &f->st), 0);
	return f;
}

static int setup0(void **state)
{
	*state = fx_new(0);
	return 0;
}

static int setup_big(void **state)
{
	*state = fx_new(BIG_DELAY);
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	nb_status_free(f->st);
	nb_statedb_close(f->db);
	tu_rmtree(f->dir);
	free(f->dir);
	free(f->dbpath);
	free(f);
	return 0;
}

static int state_of(struct fx *f, const char *path)
{
	struct nb_status_view v;
	if (nb_status_get(f->st, path, &v) != 0)
		return -1;
	return v.state;
}

static int dirty_cb(void *arg, const char *path, int kind)
{
	char *s = arg;
	size_t n = strlen(s);
	snprintf(s + n, 1024 - n, "%s:%c,", path, kind);
	return 0;
}

static void assert_dirty(struct fx *f, const char *want)
{
	char got[1024] = "";
	assert_int_equal(nb_statedb_each_dirty(f->db, dirty_cb, got), 0);
	assert_string_equal(got, want);
}

/* Take the next job and check its path. */
static void take(struct fx *f, const char *path, struct nb_job *job)
{
	long wait = -2;
	memset(job, 0, sizeof(*job));
	int r = nb_status_next_job(f->st, job, &wait);
	if (r != 1)
		fail_msg("expected job %s, got none (wait %ld)", path, wait);
	assert_string_equal(job->path, path);
	assert_int_equal(wait, 0);
}

static long no_job(struct fx *f)
{
	struct nb_job job = {0};
	long wait = -2;
	int r = nb_status_next_job(f->st, &job, &wait);
	if (r != 0)
		fail_msg("unexpected job %s", job.path);
	assert_null(job.path);
	return wait;
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(nb_state_name(NB_STATE_SYNCED), "synced");
	assert_string_equal(nb_state_name(NB_STATE_PENDING), "pending");
	assert_string_equal(nb_state_name(NB_STATE_UPLOADING), "uploading");
	assert_string_equal(nb_state_name(NB_STATE_ERROR), "error");
}

static void test_cycle(void **state)
{
	struct fx *f = *state;
	struct nb_job job;
	struct nb_status_view v;
	assert_int_equal(no_job(f), -1); /* nothing tracked */
	assert_int_equal(nb_status_get(f->st, "f", &v), -ENOENT);

	assert_int_equal(nb_status_touch(f->st, "f", NB_KIND_FILE), 0);
	assert_int_equal(nb_status_count(f->st), 1);
	assert_dirty(f, "f:f,"); /* durable before touch returns */
	assert_int_equal(nb_status_get(f->st, "f", &v), 0);
	assert_int_equal(v.state, NB_STATE_PENDING);
	assert_int_equal(v.kind, NB_KIND_FILE);
	assert_int_equal(v.count, 1);

	take(f, "f", &job);
	assert_int_equal(job.kind, NB_KIND_FILE);
	assert_int_equal(state_of(f, "f"), NB_STATE_UPLOADING);
	/* an uploading entry is not offered again */
	assert_int_equal(no_job(f), 1000);
	assert_false(nb_status_changed(f->st, "f", job.gen));

	nb_status_progress(f->st, "f", 5, 10);
	assert_int_equal(nb_status_get(f->st, "f", &v), 0);
	assert_int_equal(v.done, 5);
	assert_int_equal(v.total, 10);

	struct nb_synced rec = {.kind = NB_KIND_FILE, .size = 10, .mtime_ns = 99, .has_md5 = 1};
	memset(rec.md5, 7, NB_MD5_LEN);
	assert_int_equal(nb_status_done(f->st, &job, &rec), 1);
	free(job.path);
	assert_int_equal(nb_status_count(f->st), 0);
	assert_int_equal(nb_status_get(f->st, "f", &v), -ENOENT);
	assert_dirty(f, "");
	struct nb_synced out;
	assert_int_equal(nb_statedb_get_synced(f->db, "f", &out), 0);
	assert_true(out.size == 10);
	assert_true(out.mtime_ns == 99);
	assert_memory_equal(out.md5, rec.md5, NB_MD5_LEN);
	assert_int_equal(no_job(f), -1);
}

static void test_fifo_order(void **state)
{
	struct fx *f = *state;
	struct nb_job a, b, c;
	assert_int_equal(nb_status_touch(f->st, "one", NB_KIND_FILE), 0);
	assert_int_equal(nb_status_touch(f->st, "two", NB_KIND_FILE), 0);
	assert_int_equal(nb_status_touch(f->st, "three", NB_KIND_DIR), 0);
	/* touching again does not move an entry back */
	assert_int_equal(nb_status_touch(f->st, "one", NB_KIND_FILE), 0);
	assert_int_equal(nb_status_count(f->st), 3);
	take(f, "one", &a);
	take(f, "two", &b);
	take(f, "three", &c);
	assert_int_equal(c.kind, NB_KIND_DIR);
	assert_true(a.gen != b.gen && b.gen != c.gen);
	free(a.path);
	free(b.path);
	free(c.path);
}

static void test_delay(void **state)
{
	struct fx *f = *state; /* BIG_DELAY */
	struct nb_job job;
	assert_int_equal(nb_status_touch(f->st, "slow", NB_KIND_FILE), 0);
	long wait = no_job(f);
	assert_true(wait > BIG_DELAY - 1000 && wait <= BIG_DELAY);
	/* a directory needs no quiet time, even behind a waiting file */
	assert_int_equal(nb_status_touch(f->st, "d", NB_KIND_DIR), 0);
	take(f, "d", &job);
	free(job.path);
	wait = no_job(f);
	assert_true(wait > BIG_DELAY - 1000 && wait <= BIG_DELAY);
}

static void test_writers_block(void **state)
{
	struct fx *f = *state;
	struct nb_job job;
	assert_int_equal(nb_status_writer_open(f->st, "w"), 0);
	assert_int_equal(nb_status_count(f->st), 1);
	assert_dirty(f, "w:f,");
	assert_int_equal(no_job(f), 1000); /* only writers: look again later */
	assert_int_equal(nb_status_writer_open(f->st, "w"), 0);
	nb_status_writer_close(f->st, "w");
	assert_int_equal(no_job(f), 1000); /* one writer left */
	nb_status_writer_close(f->st, "w");
	take(f, "w", &job);
	/* a writer opening during the upload makes it "changed" */
	assert_false(nb_status_changed(f->st, "w", job.gen));
	assert_int_equal(nb_status_writer_open(f->st, "w"), 0);
	assert_true(nb_status_changed(f->st, "w", job.gen));
	struct nb_synced rec = {.kind = NB_KIND_FILE};
	assert_int_equal(nb_status_done(f->st, &job, &rec), 0);
	assert_int_equal(state_of(f, "w"), NB_STATE_PENDING);
	free(job.path);
	assert_int_equal(no_job(f), 1000);
	nb_status_writer_close(f->st, "w");
	nb_status_writer_close(f->st, "w"); /* extra close: harmless */
	nb_status_writer_close(f->st, "untracked");
	take(f, "w", &job);
	assert_int_equal(nb_status_done(f->st, &job, &rec), 1);
	free(job.path);
}

static void test_writer_close_restarts_delay(void **state)
{
	struct fx *f = *state; /* BIG_DELAY */
	assert_int_equal(nb_status_writer_open(f->st, "w"), 0);
	assert_int_equal(no_job(f), 1000);
	nb_status_writer_close(f->st, "w");
	long wait = no_job(f);
	assert_true(wait > BIG_DELAY - 1000 && wait <= BIG_DELAY);
}

static void test_changed(void **state)
{
	struct fx *f = *state;
	struct nb_job job;
	struct nb_synced rec = {.kind = NB_KIND_FILE};
	assert_true(nb_status_changed(f->st, "x", 0)); /* untracked */
	assert_int_equal(nb_status_touch(f->st, "x", NB_KIND_FILE), 0);
	take(f, "x", &job);
	assert_false(nb_status_changed(f->st, "x", job.gen));
	assert_true(nb_status_changed(f->st, "x", job.gen + 1));
	/* changed while uploading: done() keeps it, pending, for another round */
	assert_int_equal(nb_status_touch(f->st, "x", NB_KIND_FILE), 0);
	assert_true(nb_status_changed(f->st, "x", job.gen));
	assert_int_equal(nb_status_done(f->st, &job, &rec), 0);
	assert_int_equal(state_of(f, "x"), NB_STATE_PENDING);
	assert_int_equal(nb_status_count(f->st), 1);
	assert_dirty(f, "x:f,");
	uint64_t old = job.gen;
	free(job.path);
	take(f, "x", &job);
	assert_true(job.gen > old);
	assert_int_equal(nb_status_done(f->st, &job, &rec), 1);
	free(job.path);
	assert_dirty(f, "");
}

static void test_fail_and_retry(void **state)
{
	struct fx *f = *state;
	struct nb_job job;
	struct nb_status_view v;
	assert_int_equal(nb_status_touch(f->st, "e", NB_KIND_FILE), 0);
	take(f, "e", &job);
	nb_status_fail(f->st, &job, NB_STATE_ERROR, "permission denied", BIG_DELAY);
	free(job.path);
	assert_int_equal(nb_status_get(f->st, "e", &v), 0);
	assert_int_equal(v.state, NB_STATE_ERROR);
	assert_string_equal(v.error, "permission denied");
	long wait = no_job(f);
	assert_true(wait > BIG_DELAY - 1000 && wait <= BIG_DELAY);
	/* a new version gets a fresh attempt at once */
	assert_int_equal(nb_status_touch(f->st, "e", NB_KIND_FILE), 0);
	assert_int_equal(state_of(f, "e"), NB_STATE_PENDING);
	take(f, "e", &job);
	/* transient failure: pending, retried when the retry time passes */
	nb_status_fail(f->st, &job, NB_STATE_PENDING, NULL, 0);
	assert_int_equal(nb_status_get(f->st, "e", &v), 0);
	assert_int_equal(v.state, NB_STATE_PENDING);
	assert_string_equal(v.error, "");
	free(job.path);
	take(f, "e", &job);
	free(job.path);
}

static void test_md5_and_drop(void **state)
{
	struct fx *f = *state;
	struct nb_status_view v;
	struct nb_job job;
	uint8_t md5[NB_MD5_LEN], got[NB_MD5_LEN];
	nb_md5_buf("abc", 3, md5);
	assert_int_equal(nb_status_touch(f->st, "m", NB_KIND_FILE), 0);
	take(f, "m", &job);
	nb_status_set_md5(f->st, "m", job.gen, md5);
	nb_status_set_md5(f->st, "untracked", job.gen, md5);
	assert_int_equal(nb_status_get(f->st, "m", &v), 0);
	assert_int_equal(v.has_md5, 1);
	assert_string_equal(v.md5, "900150983cd24fb0d6963f7d28e17f72");
	memset(got, 0, sizeof(got));
	assert_int_equal(nb_status_get_md5(f->st, "m", job.gen, got), 1);
	assert_memory_equal(got, md5, NB_MD5_LEN);
	assert_int_equal(nb_status_get_md5(f->st, "m", job.gen + 1, got), 0);
	assert_int_equal(nb_status_get_md5(f->st, "untracked", job.gen, got), 0);
	/* new content: the MD5 is unknown again, and a late result for the
	 * old version is ignored */
	assert_int_equal(nb_status_touch(f->st, "m", NB_KIND_FILE), 0);
	assert_int_equal(nb_status_get(f->st, "m", &v), 0);
	assert_int_equal(v.has_md5, 0);
	nb_status_set_md5(f->st, "m", job.gen, md5);
	assert_int_equal(nb_status_get(f->st, "m", &v), 0);
	assert_int_equal(v.has_md5, 0);
	assert_int_equal(nb_status_get_md5(f->st, "m", job.gen, got), 0);
	free(job.path);

	assert_int_equal(nb_status_touch(f->st, "n", NB_KIND_FILE), 0);
	assert_dirty(f, "m:f,n:f,");
	nb_status_drop(f->st, "m");
	nb_status_drop(f->st, "never");
	assert_int_equal(nb_status_get(f->st, "m", &v), -ENOENT);
	assert_int_equal(nb_status_count(f->st), 1);
	assert_dirty(f, "n:f,");
}

/* The hasher takes closed files that wait out their quiet time. */
static void test_hash_queue(void **state)
{
	struct fx *f = *state; /* BIG_DELAY */
	struct nb_job h, h2;
	uint8_t md5[NB_MD5_LEN];
	nb_md5_buf("x", 1, md5);
	memset(&h, 0, sizeof(h));
	assert_int_equal(nb_status_next_hash(f->st, &h), 0);
	assert_int_equal(nb_status_writer_open(f->st, "open"), 0); /* has a writer */
	assert_int_equal(nb_status_touch(f->st, "dir", NB_KIND_DIR), 0);
	assert_int_equal(nb_status_touch(f->st, "h", NB_KIND_FILE), 0);
	assert_int_equal(nb_status_next_hash(f->st, &h), 1);
	assert_string_equal(h.path, "h");
	assert_int_equal(h.kind, NB_KIND_FILE);
	/* not handed out twice while it is being hashed */
	memset(&h2, 0, sizeof(h2));
	assert_int_equal(nb_status_next_hash(f->st, &h2), 0);
	nb_status_set_md5(f->st, "h", h.gen, md5);
	nb_status_hash_done(f->st, "h");
	assert_int_equal(nb_status_next_hash(f->st, &h2), 0); /* has its MD5 */
	/* changed again: needs a new hash, under the new gen */
	assert_int_equal(nb_status_touch(f->st, "h", NB_KIND_FILE), 0);
	assert_int_equal(nb_status_next_hash(f->st, &h2), 1);
	assert_string_equal(h2.path, "h");
	assert_true(h2.gen > h.gen);
	nb_status_hash_done(f->st, "h");
	free(h.path);
	free(h2.path);
	/* the writer closes: now it is a candidate too */
	nb_status_writer_close(f->st, "open");
	memset(&h, 0, sizeof(h));
	assert_int_equal(nb_status_next_hash(f->st, &h), 1);
	assert_string_equal(h.path, "open");
	free(h.path);
}

static void test_dir_aggregation(void **state)
{
	struct fx *f = *state;
	struct nb_status_view v;
	struct nb_job j1, j2;

	nb_status_dir(f->st, "", &v);
	assert_int_equal(v.state, NB_STATE_SYNCED);
	assert_int_equal(v.kind, NB_KIND_DIR);
	assert_int_equal(v.count, 0);

	assert_int_equal(nb_status_touch(f->st, "a/x", NB_KIND_FILE), 0);
	assert_int_equal(nb_status_touch(f->st, "a/y", NB_KIND_FILE), 0);
	assert_int_equal(nb_status_touch(f->st, "ab/z", NB_KIND_FILE), 0);
	nb_status_dir(f->st, "a", &v);
	assert_int_equal(v.state, NB_STATE_PENDING);
	assert_int_equal(v.count, 2); /* "ab/z" is not inside "a" */

	take(f, "a/x", &j1);
	nb_status_progress(f->st, "a/x", 30, 100);
	nb_status_dir(f->st, "a", &v);
	assert_int_equal(v.state, NB_STATE_UPLOADING);
	assert_int_equal(v.count, 2);
	assert_int_equal(v.done, 30);
	assert_int_equal(v.total, 100);
	nb_status_dir(f->st, "ab", &v);
	assert_int_equal(v.state, NB_STATE_PENDING);
	assert_int_equal(v.count, 1);

	take(f, "a/y", &j2);
	nb_status_fail(f->st, &j2, NB_STATE_ERROR, "disk full", BIG_DELAY);
	nb_status_dir(f->st, "a", &v);
	assert_int_equal(v.state, NB_STATE_ERROR); /* error outranks uploading */
	assert_string_equal(v.error, "a/y: disk full");
	nb_status_dir(f->st, "ab", &v);
	assert_int_equal(v.state, NB_STATE_PENDING);
	assert_string_equal(v.error, "");
	nb_status_dir(f->st, "", &v);
	assert_int_equal(v.state, NB_STATE_ERROR);
	assert_int_equal(v.count, 3);
	nb_status_dir(f->st, "a/x", &v); /* a path is "within" itself */
	assert_int_equal(v.state, NB_STATE_UPLOADING);
	assert_int_equal(v.count, 1);
	nb_status_dir(f->st, "b", &v);
	assert_int_equal(v.state, NB_STATE_SYNCED);
	assert_int_equal(v.count, 0);
	free(j1.path);
	free(j2.path);
}

static void test_report(void **state)
{
	struct fx *f = *state;
	char buf[4096];
	struct nb_job job;
	size_t n = nb_status_report(f->st, buf, sizeof(buf));
	assert_string_equal(buf, "link\toffline\tnot connected yet\n");
	assert_int_equal(n, strlen(buf));

	nb_status_set_link(f->st, 1, "user@host");
	assert_int_equal(nb_status_touch(f->st, "f", NB_KIND_FILE), 0);
	assert_int_equal(nb_status_touch(f->st, "dir/g h", NB_KIND_FILE), 0);
	take(f, "f", &job);
	nb_status_progress(f->st, "f", 5, 10);
	n = nb_status_report(f->st, buf, sizeof(buf));
	assert_string_equal(buf, "link\tconnected\tuser@host\n"
				 "uploading\t5\t10\t0\tf\n"
				 "pending\t0\t0\t0\tdir/g h\n");
	assert_int_equal(n, strlen(buf));
	nb_status_fail(f->st, &job, NB_STATE_ERROR, "boom", BIG_DELAY);
	free(job.path);
	nb_status_set_link(f->st, 0, NULL);
	n = nb_status_report(f->st, buf, sizeof(buf));
	assert_string_equal(buf, "link\toffline\t\n"
				 "error\t5\t10\t0\tf\n"
				 "pending\t0\t0\t0\tdir/g h\n");
	assert_int_equal(n, strlen(buf));
	assert_int_equal(nb_status_report(f->st, buf, 0), 0);
}

static void test_report_truncated(void **state)
{
	struct fx *f = *state;
	char buf[140];
	char path[16];
	for (int i = 0; i < 10; i++) {
		snprintf(path, sizeof(path), "p%d", i);
		assert_int_equal(nb_status_touch(f->st, path, NB_KIND_FILE), 0);
	}
	/* 31 bytes of link line, 17 per entry, 64 kept for the summary */
	size_t n = nb_status_report(f->st, buf, sizeof(buf));
	assert_string_equal(buf, "link\toffline\tnot connected yet\n"
				 "pending\t0\t0\t0\tp0\n"
				 "pending\t0\t0\t0\tp1\n"
				 "more\t8\n");
	assert_int_equal(n, strlen(buf));
	/* too small for any entry */
	char tiny[40];
	n = nb_status_report(f->st, tiny, sizeof(tiny));
	assert_int_equal(n, strlen(tiny));
	assert_true(n < sizeof(tiny));
	assert_non_null(strstr(tiny, "more\t10\n"));
}

/*
 * Regression (fixed; was: sync/status.c:350, nb_status_report): the report is line-based
 * ("one line per tracked path", parsed line by line in fs/cli_status.c),
 * but paths go into it unescaped, and a path may hold any byte but NUL
 * and '/', including '\n' (nb_path_check accepts control bytes, and so do
 * FUSE and the server). A file named "x\nmore\t1000" makes `nbfs status`
 * report 1000 more unsynced files, and the real entry is shown as "x".
 * Fix: escape the path field in the report (e.g. '\\' -> "\\\\",
 * '\n' -> "\\n", other control bytes as "\\xHH") and unescape it in
 * nb_status_print (fs/cli_status.c).
 */
static void test_regress_report_newline_in_path(void **state)
{
	struct fx *f = *state;
	char buf[4096];
	assert_int_equal(nb_status_touch(f->st, "x\nmore\t1000", NB_KIND_FILE), 0);
	assert_int_equal(nb_status_count(f->st), 1);
	size_t n = nb_status_report(f->st, buf, sizeof(buf));
	assert_int_equal(n, strlen(buf));
	size_t lines = 0;
	for (const char *p = buf; *p; p++)
		lines += *p == '\n';
	/* the link line and one line for the one tracked path */
	assert_int_equal(lines, 2);
	assert_null(strstr(buf, "\nmore\t"));
}

static void test_rate(void **state)
{
	struct fx *f = *state;
	struct nb_job job;
	struct nb_status_view v;
	assert_int_equal(nb_status_touch(f->st, "r", NB_KIND_FILE), 0);
	take(f, "r", &job);
	long long t0 = nb_xio_now_ms();
	nb_status_progress(f->st, "r", 1000, 100000);
	nb_status_progress(f->st, "r", 2000, 100000); /* too soon for a sample */
	assert_int_equal(nb_status_get(f->st, "r", &v), 0);
	assert_true(v.rate == 0);
	assert_int_equal(v.done, 2000);
	nb_xio_sleep_ms(550);
	nb_status_progress(f->st, "r", 7000, 100000);
	long long dt = nb_xio_now_ms() - t0;
	assert_int_equal(nb_status_get(f->st, "r", &v), 0);
	/* 6000 bytes over the sample interval (>= 550 ms, <= dt) */
	assert_true(v.rate <= 6000.0 * 1000 / 550 + 1);
	assert_true(v.rate >= 6000.0 * 1000 / (double)(dt + 1) - 1);
	/* a new job starts its rate afresh */
	nb_status_fail(f->st, &job, NB_STATE_PENDING, NULL, 0);
	free(job.path);
	take(f, "r", &job);
	assert_int_equal(nb_status_get(f->st, "r", &v), 0);
	assert_true(v.rate == 0);
	assert_int_equal(v.done, 0);
	free(job.path);
}

static void test_load(void **state)
{
	struct fx *f = *state; /* BIG_DELAY */
	struct nb_job job;
	assert_int_equal(nb_status_touch(f->st, "l1", NB_KIND_FILE), 0);
	assert_int_equal(nb_status_touch(f->st, "l2", NB_KIND_DIR), 0);
	assert_int_equal(nb_status_touch(f->st, "l3", NB_KIND_FILE), 0);
	nb_status_drop(f->st, "l3");
	/* "restart": a fresh table over the same database */
	nb_status_free(f->st);
	assert_int_equal(nb_status_new(f->db, BIG_DELAY, &f->st), 0);
	assert_int_equal(nb_status_count(f->st), 0);
	assert_int_equal(nb_status_load(f->st), 0);
	assert_int_equal(nb_status_count(f->st), 2);
	assert_int_equal(state_of(f, "l1"), NB_STATE_PENDING);
	assert_int_equal(state_of(f, "l3"), -1);
	/* loaded entries changed "long ago": ready at once despite the delay */
	take(f, "l1", &job);
	assert_int_equal(job.kind, NB_KIND_FILE);
	free(job.path);
	take(f, "l2", &job);
	assert_int_equal(job.kind, NB_KIND_DIR);
	free(job.path);
	/* loading twice adds nothing */
	assert_int_equal(nb_status_load(f->st), 0);
	assert_int_equal(nb_status_count(f->st), 2);
}

static void test_many_entries(void **state)
{
	struct fx *f = *state;
	enum { N = 5000 };
	char path[32];
	for (int i = 0; i < N; i++) {
		snprintf(path, sizeof(path), "d%d/f%d", i % 10, i);
		assert_int_equal(nb_status_touch(f->st, path, NB_KIND_FILE), 0);
	}
	assert_int_equal(nb_status_count(f->st), N);
	for (int i = 0; i < N; i++) {
		snprintf(path, sizeof(path), "d%d/f%d", i % 10, i);
		assert_int_equal(state_of(f, path), NB_STATE_PENDING);
	}
	struct nb_status_view v;
	nb_status_dir(f->st, "d3", &v);
	assert_int_equal(v.count, N / 10);
	/* FIFO order survives the table growing */
	struct nb_job job;
	take(f, "d0/f0", &job);
	free(job.path);
	take(f, "d1/f1", &job);
	free(job.path);
	for (int i = 0; i < N; i += 2) {
		snprintf(path, sizeof(path), "d%d/f%d", i % 10, i);
		nb_status_drop(f->st, path);
	}
	assert_int_equal(nb_status_count(f->st), N / 2);
	assert_int_equal(state_of(f, "d3/f3"), NB_STATE_PENDING);
	assert_int_equal(state_of(f, "d4/f4"), -1);
}

static void *waker(void *arg)
{
	nb_xio_sleep_ms(50);
	nb_status_wake(arg);
	return NULL;
}

static void test_wait_and_wake(void **state)
{
	struct fx *f = *state;
	long long t0 = nb_xio_now_ms();
	nb_status_wait(f->st, 60);
	long long dt = nb_xio_now_ms() - t0;
	assert_true(dt >= 55);
	assert_true(dt < 5000);
	pthread_t th;
	t0 = nb_xio_now_ms();
	assert_int_equal(pthread_create(&th, NULL, waker, f->st), 0);
	nb_status_wait(f->st, 10000);
	dt = nb_xio_now_ms() - t0;
	pthread_join(th, NULL);
	assert_true(dt < 5000);
}

#define T0(name) cmocka_unit_test_setup_teardown(name, setup0, teardown)
#define TB(name) cmocka_unit_test_setup_teardown(name, setup_big, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		T0(test_cycle),
		T0(test_fifo_order),
		TB(test_delay),
		T0(test_writers_block),
		TB(test_writer_close_restarts_delay),
		T0(test_changed),
		T0(test_fail_and_retry),
		T0(test_md5_and_drop),
		TB(test_hash_queue),
		T0(test_dir_aggregation),
		T0(test_report),
		T0(test_report_truncated),
		T0(test_regress_report_newline_in_path),
		T0(test_rate),
		TB(test_load),
		T0(test_many_entries),
		T0(test_wait_and_wake),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
