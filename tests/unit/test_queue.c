/* Unit tests for the queue (sync/queue*.c): the live sync state, the
 * durable operation log and the job lifecycle. */
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

#include "wire/md5.h"
#include "wire/pathname.h"
#include "sync/queue.h"
#include "sync/report.h"
#include "sync/scan.h"
#include "sync/retry.h"
#include "sync/statedb.h"
#include "wire/xio.h"
#include "testutil.h"

#define BIG_DELAY 60000L

struct fx {
	char *dir, *dbpath;
	struct nb_statedb *db;
	struct nb_queue *st;
	/* The link state the report shows (the engine's, in real life). */
	int connected;
	char reason[64];
	int fresh; /* wopen creates the file (nb_queue_writer_open's fresh) */
	/* Writers opened by path, for wclose. */
	char wpath[8][32];
	uint64_t wid[8];
	int nw;
};

static struct fx *fx_new(long delay_ms)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->dir = tu_mkdtemp("status");
	assert_non_null(f->dir);
	f->dbpath = tu_join(f->dir, "state.db");
	assert_int_equal(nb_statedb_open(f->dbpath, &f->db), 0);
	assert_int_equal(nb_queue_new(f->db, delay_ms, &f->st), 0);
	snprintf(f->reason, sizeof(f->reason), "not connected yet");
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
	nb_queue_free(f->st);
	nb_statedb_close(f->db);
	tu_rmtree(f->dir);
	free(f->dir);
	free(f->dbpath);
	free(f);
	return 0;
}

/* The state of a path with an entry: 0, or -ENOENT without one. */
static int get(struct fx *f, const char *path, struct nb_core_state *v)
{
	return nb_queue_state(f->st, path, 1, v) ? 0 : -ENOENT;
}

/* Open a writer on path (its id is kept by path for wclose). */
static int wopen(struct fx *f, const char *path)
{
	uint64_t id = 0;
	int r = nb_queue_writer_open(f->st, path, f->fresh, &id);
	if (r == 0 && f->nw < 8) {
		snprintf(f->wpath[f->nw], sizeof(f->wpath[0]), "%s", path);
		f->wid[f->nw++] = id;
	}
	return r;
}

/* Close a writer opened on path (an unknown path: an id never given). */
static void wclose(struct fx *f, const char *path)
{
	uint64_t id = 0;
	for (int i = f->nw - 1; i >= 0; i--)
		if (strcmp(f->wpath[i], path) == 0) {
			id = f->wid[i];
			break;
		}
	nb_queue_writer_close(f->st, id, -1);
}

/* job's entry changed since gen (a job of no entry: always). */
static int changed(struct fx *f, const struct nb_job *job, uint64_t gen)
{
	struct nb_job j = job ? *job : (struct nb_job){0};
	j.gen = gen;
	return nb_queue_changed(f->st, &j);
}

static void set_md5(struct fx *f, const struct nb_job *job, uint64_t gen, const uint8_t *md5)
{
	struct nb_job j = job ? *job : (struct nb_job){0};
	j.gen = gen;
	nb_queue_set_md5(f->st, &j, md5);
}

static int get_md5(struct fx *f, const struct nb_job *job, uint64_t gen, uint8_t *md5)
{
	struct nb_job j = job ? *job : (struct nb_job){0};
	j.gen = gen;
	return nb_queue_get_md5(f->st, &j, md5);
}

static void set_link(struct fx *f, int connected, const char *reason)
{
	f->connected = connected;
	snprintf(f->reason, sizeof(f->reason), "%s", reason ? reason : "");
}

/* The status report, as the core renders it from a snapshot, with ages
 * counted to now_ms (0: every age shows as 0, so expectations do not
 * depend on how fast the test runs). */
static size_t report_at(struct fx *f, char *buf, size_t size, long long now_ms)
{
	struct nb_queue_item *items;
	struct nb_queue_sum sum;
	size_t n, left;
	assert_int_equal(nb_queue_snapshot(f->st, size / 16, &items, &n, &left, &sum), 0);
	size_t len = nb_report_render(buf, size, f->connected, f->reason, &sum, now_ms, items, n,
				      left);
	nb_queue_items_free(items, n);
	return len;
}

static size_t report(struct fx *f, char *buf, size_t size)
{
	return report_at(f, buf, size, 0);
}

static int state_of(struct fx *f, const char *path)
{
	struct nb_core_state v;
	if (get(f, path, &v) != 0)
		return -1;
	return v.state;
}

/* The durable queue as "kind:path," text ("m:to<from," for a rename,
 * "f:path?N," for an upload in doubt of N bytes), with the seqs in
 * order. */
struct ops_list {
	char text[4096];
	int64_t seq[64];
	int n;
};

static struct ops_list ops_l;

static int ops_cb(void *arg, int64_t seq, int kind, const char *path, const char *path2,
		  const struct nb_synced *doubt)
{
	struct ops_list *o = arg;
	size_t n = strlen(o->text);
	if (path2)
		snprintf(o->text + n, sizeof(o->text) - n, "%c:%s<%s,", kind, path, path2);
	else if (doubt)
		snprintf(o->text + n, sizeof(o->text) - n, "%c:%s?%llu,", kind, path,
			 (unsigned long long)doubt->rsize);
	else
		snprintf(o->text + n, sizeof(o->text) - n, "%c:%s,", kind, path);
	if (o->n < 64)
		o->seq[o->n] = seq;
	o->n++;
	return 0;
}

static const char *ops(struct fx *f)
{
	memset(&ops_l, 0, sizeof(ops_l));
	assert_int_equal(nb_statedb_each_op(f->db, ops_cb, &ops_l), 0);
	return ops_l.text;
}

static void assert_ops(struct fx *f, const char *want)
{
	assert_string_equal(ops(f), want);
}

/* Take the next job and check its path. */
static void take(struct fx *f, const char *path, struct nb_job *job)
{
	long wait = -2;
	memset(job, 0, sizeof(*job));
	int r = nb_queue_next_job(f->st, job, &wait);
	if (r != 1)
		fail_msg("expected job %s, got none (wait %ld)", path, wait);
	assert_string_equal(job->path, path);
	assert_int_equal(wait, 0);
}

static long no_job(struct fx *f)
{
	struct nb_job job = {0};
	long wait = -2;
	int r = nb_queue_next_job(f->st, &job, &wait);
	if (r != 0)
		fail_msg("unexpected job %s", job.path);
	assert_null(job.path);
	return wait;
}

/* Take the next job and check what it is (path2 NULL: none). */
static void take_op(struct fx *f, int kind, const char *path, const char *path2,
		    struct nb_job *job)
{
	take(f, path, job);
	assert_int_equal(job->kind, kind);
	if (path2)
		assert_string_equal(job->path2, path2);
	else
		assert_null(job->path2);
}

/* Take the next job, finish it, and check that it left the queue. */
static void run_op(struct fx *f, int kind, const char *path, const char *path2)
{
	struct nb_job job;
	struct nb_synced rec = {.kind = kind};
	size_t n = nb_queue_count(f->st);
	take_op(f, kind, path, path2, &job);
	assert_int_equal(nb_queue_done(f->st, &job, &rec), 1);
	assert_int_equal(nb_queue_count(f->st), n - 1);
	nb_job_free(&job);
}

/* The remote path local path maps to, or "-ENOENT" etc. */
static const char *resolve(struct fx *f, const char *path)
{
	static char out[NB_PATH_MAX + 1];
	int r = nb_queue_resolve(f->st, path, out, sizeof(out));
	if (r == -ENOENT)
		return "-ENOENT";
	if (r != 0)
		return "-error";
	return out;
}

/* A synced record tagged with size = tag. */
static void put(struct fx *f, const char *path, int kind, uint64_t tag)
{
	struct nb_synced s = {.kind = kind, .size = tag, .mtime_ns = 1};
	assert_int_equal(nb_statedb_set_synced(f->db, -1, path, &s), 0);
}

static long long tag(struct fx *f, const char *path)
{
	struct nb_synced s;
	int r = nb_statedb_get_synced(f->db, path, &s);
	if (r == -ENOENT)
		return -1;
	assert_int_equal(r, 0);
	return (long long)s.size;
}

static void names_cb(void *arg, const char *name)
{
	char *s = arg;
	size_t n = strlen(s);
	snprintf(s + n, 256 - n, "%s,", name);
}

static const char *renamed_into(struct fx *f, const char *dir)
{
	static char s[256];
	s[0] = 0;
	nb_queue_renamed_into(f->st, dir, names_cb, s);
	return s;
}

/* The report without its link and sum lines. */
static const char *report_body(struct fx *f)
{
	static char buf[8192];
	size_t n = report(f, buf, sizeof(buf));
	assert_int_equal(n, strlen(buf));
	char *nl = strchr(buf, '\n');
	assert_non_null(nl);
	assert_true(strncmp(nl + 1, "sum\t", 4) == 0);
	nl = strchr(nl + 1, '\n');
	assert_non_null(nl);
	return nl + 1;
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
	struct nb_core_state v;
	assert_int_equal(no_job(f), -1); /* nothing tracked */
	assert_int_equal(get(f, "f", &v), -ENOENT);

	assert_int_equal(nb_queue_touch(f->st, "f", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_count(f->st), 1);
	assert_ops(f, "f:f,"); /* durable before touch returns */
	assert_int_equal(get(f, "f", &v), 0);
	assert_int_equal(v.state, NB_STATE_PENDING);
	assert_int_equal(v.kind, NB_KIND_FILE);
	assert_int_equal(v.count, 1);

	int64_t seq = ops_l.seq[0];
	take(f, "f", &job);
	assert_int_equal(job.kind, NB_KIND_FILE);
	assert_null(job.path2);
	assert_true(job.seq == seq);
	assert_int_equal(state_of(f, "f"), NB_STATE_UPLOADING);
	/* an uploading entry is not offered again */
	assert_int_equal(no_job(f), 1000);
	assert_false(changed(f, &job, job.gen));

	nb_queue_progress(f->st, &job, 5, 10);
	assert_int_equal(get(f, "f", &v), 0);
	assert_int_equal(v.done, 5);
	assert_int_equal(v.total, 10);

	struct nb_synced rec = {.kind = NB_KIND_FILE, .size = 10, .mtime_ns = 99, .has_md5 = 1};
	memset(rec.md5, 7, NB_MD5_LEN);
	assert_int_equal(nb_queue_done(f->st, &job, &rec), 1);
	nb_job_free(&job);
	assert_int_equal(nb_queue_count(f->st), 0);
	assert_int_equal(get(f, "f", &v), -ENOENT);
	assert_ops(f, "");
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
	assert_int_equal(nb_queue_touch(f->st, "one", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_touch(f->st, "two", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_touch(f->st, "three", NB_KIND_DIR), 0);
	/* touching again does not move an entry back */
	assert_int_equal(nb_queue_touch(f->st, "one", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_count(f->st), 3);
	take(f, "one", &a);
	take(f, "two", &b);
	take(f, "three", &c);
	assert_int_equal(c.kind, NB_KIND_DIR);
	assert_true(a.gen != b.gen && b.gen != c.gen);
	nb_job_free(&a);
	nb_job_free(&b);
	nb_job_free(&c);
}

static void test_delay(void **state)
{
	struct fx *f = *state; /* BIG_DELAY */
	struct nb_job job;
	assert_int_equal(nb_queue_touch(f->st, "slow", NB_KIND_FILE), 0);
	long wait = no_job(f);
	assert_true(wait > BIG_DELAY - 1000 && wait <= BIG_DELAY);
	/* a directory needs no quiet time, even behind a waiting file */
	assert_int_equal(nb_queue_touch(f->st, "d", NB_KIND_DIR), 0);
	take(f, "d", &job);
	nb_job_free(&job);
	wait = no_job(f);
	assert_true(wait > BIG_DELAY - 1000 && wait <= BIG_DELAY);
}

/* A new file followed as it is written goes as a stream once its writer
 * has had it open a while; closed sooner, while the follower is still
 * hashing it (cp from the page cache outruns the MD5), it goes as a
 * stream at once, not after the MD5 (nor after the quiet time). With
 * its MD5 known, a closed file goes the usual way. */
static void test_stream_at_close(void **state)
{
	struct fx *f = *state;
	struct nb_job fol, fol2, job;
	f->fresh = 1;
	assert_int_equal(wopen(f, "s"), 0);
	assert_int_equal(nb_queue_follow_begin(f->st, f->wid[0], &fol), 1);
	nb_queue_follow_progress(f->st, &fol, NB_QUEUE_STREAM_FROM - 1);
	assert_int_equal(no_job(f), 1000); /* open, too little followed */
	nb_queue_follow_progress(f->st, &fol, NB_QUEUE_STREAM_FROM);
	long wait = no_job(f); /* open for less than STREAM_AFTER_MS */
	assert_true(wait > 0 && wait <= NB_QUEUE_STREAM_AFTER_MS);
	wclose(f, "s");
	take(f, "s", &job);
	assert_true(job.stream);
	nb_job_free(&job);
	nb_queue_hash_done(f->st, &fol);
	nb_job_free(&fol);

	/* Hashed before it was taken: a closed file, offered by its MD5. */
	assert_int_equal(wopen(f, "t"), 0);
	assert_int_equal(nb_queue_follow_begin(f->st, f->wid[1], &fol2), 1);
	nb_queue_follow_progress(f->st, &fol2, 2 * NB_QUEUE_STREAM_FROM);
	uint8_t md5[NB_MD5_LEN] = {7};
	nb_queue_set_md5(f->st, &fol2, md5);
	nb_queue_hash_done(f->st, &fol2);
	wclose(f, "t");
	take(f, "t", &job);
	assert_false(job.stream);
	nb_job_free(&job);
	nb_job_free(&fol2);
}

static void test_writers_block(void **state)
{
	struct fx *f = *state;
	struct nb_job job;
	assert_int_equal(wopen(f, "w"), 0);
	assert_int_equal(nb_queue_count(f->st), 1);
	assert_ops(f, "f:w,");
	assert_int_equal(no_job(f), 1000); /* only writers: look again later */
	assert_int_equal(wopen(f, "w"), 0);
	wclose(f, "w");
	assert_int_equal(no_job(f), 1000); /* one writer left */
	wclose(f, "w");
	take(f, "w", &job);
	/* a writer opening during the upload makes it "changed" */
	assert_false(changed(f, &job, job.gen));
	assert_int_equal(wopen(f, "w"), 0);
	assert_true(changed(f, &job, job.gen));
	struct nb_synced rec = {.kind = NB_KIND_FILE};
	assert_int_equal(nb_queue_done(f->st, &job, &rec), 0);
	assert_int_equal(state_of(f, "w"), NB_STATE_PENDING);
	nb_job_free(&job);
	assert_int_equal(no_job(f), 1000);
	wclose(f, "w");
	wclose(f, "w"); /* extra close: harmless */
	wclose(f, "untracked");
	take(f, "w", &job);
	assert_int_equal(nb_queue_done(f->st, &job, &rec), 1);
	nb_job_free(&job);
}

/* A file that was queued already, written again: its writer's close
 * restarts the quiet time. */
static void test_writer_close_restarts_delay(void **state)
{
	struct fx *f = *state; /* BIG_DELAY */
	assert_int_equal(nb_queue_touch(f->st, "w", NB_KIND_FILE), 0);
	assert_int_equal(wopen(f, "w"), 0);
	assert_int_equal(no_job(f), 1000);
	wclose(f, "w");
	long wait = no_job(f);
	assert_true(wait > BIG_DELAY - 1000 && wait <= BIG_DELAY);
}

/* A new file and its one writer (cp, tar): whole when it closes, so it
 * goes at once. Touched again, or opened by a second writer, it waits
 * out its quiet time like any other. */
static void test_new_file_goes_at_once(void **state)
{
	struct fx *f = *state; /* BIG_DELAY */
	struct nb_job job;
	f->fresh = 1;
	assert_int_equal(wopen(f, "new"), 0);
	assert_int_equal(no_job(f), 1000);
	wclose(f, "new");
	take(f, "new", &job);
	nb_queue_fail(f->st, &job, NB_STATE_PENDING, NULL, 0);
	nb_job_free(&job);
	/* written again: quiet time */
	f->fresh = 0;
	assert_int_equal(wopen(f, "new"), 0);
	wclose(f, "new");
	long wait = no_job(f);
	assert_true(wait > BIG_DELAY - 1000 && wait <= BIG_DELAY);
	/* a file that existed (the server's, rewritten), written once and
	 * closed: an edit, quiet time */
	assert_int_equal(wopen(f, "edit"), 0);
	wclose(f, "edit");
	wait = no_job(f);
	assert_true(wait > BIG_DELAY - 1000 && wait <= BIG_DELAY);
	/* a new file whose times are set after its writer closed (cp -p):
	 * quiet time too */
	f->fresh = 1;
	assert_int_equal(wopen(f, "p"), 0);
	wclose(f, "p");
	assert_int_equal(nb_queue_touch_meta(f->st, "p", NB_KIND_FILE), 0);
	wait = no_job(f);
	assert_true(wait > BIG_DELAY - 1000 && wait <= BIG_DELAY);
}

/* Only the mode or times changed: the MD5 stays known, and an upload in
 * flight sees a move (stop, keep the partial), not a change. */
static void test_touch_meta(void **state)
{
	struct fx *f = *state;
	struct nb_job job;
	struct nb_core_state v;
	uint8_t md5[NB_MD5_LEN];
	nb_md5_buf("m", 1, md5);
	assert_int_equal(nb_queue_touch(f->st, "m", NB_KIND_FILE), 0);
	take(f, "m", &job);
	set_md5(f, &job, job.gen, md5);
	assert_int_equal(nb_queue_touch_meta(f->st, "m", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_changed(f->st, &job), NB_JOB_MOVED);
	assert_int_equal(get(f, "m", &v), 0);
	assert_int_equal(v.has_md5, 1);
	assert_int_equal(nb_queue_touch(f->st, "m", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_changed(f->st, &job), NB_JOB_CHANGED);
	assert_int_equal(get(f, "m", &v), 0);
	assert_int_equal(v.has_md5, 0);
	nb_job_free(&job);
}

static void test_changed(void **state)
{
	struct fx *f = *state;
	struct nb_job job;
	struct nb_synced rec = {.kind = NB_KIND_FILE};
	assert_true(changed(f, NULL, 0)); /* untracked */
	assert_int_equal(nb_queue_touch(f->st, "x", NB_KIND_FILE), 0);
	take(f, "x", &job);
	assert_false(changed(f, &job, job.gen));
	assert_true(changed(f, &job, job.gen + 1));
	/* changed while uploading: done() keeps it, pending, for another round */
	assert_int_equal(nb_queue_touch(f->st, "x", NB_KIND_FILE), 0);
	assert_true(changed(f, &job, job.gen));
	assert_int_equal(nb_queue_done(f->st, &job, &rec), 0);
	assert_int_equal(state_of(f, "x"), NB_STATE_PENDING);
	assert_int_equal(nb_queue_count(f->st), 1);
	assert_ops(f, "f:x,");
	uint64_t old = job.gen;
	nb_job_free(&job);
	take(f, "x", &job);
	assert_true(job.gen > old);
	assert_int_equal(nb_queue_done(f->st, &job, &rec), 1);
	nb_job_free(&job);
	assert_ops(f, "");
}

static void test_fail_and_retry(void **state)
{
	struct fx *f = *state;
	struct nb_job job;
	struct nb_core_state v;
	assert_int_equal(nb_queue_touch(f->st, "e", NB_KIND_FILE), 0);
	take(f, "e", &job);
	nb_queue_fail(f->st, &job, NB_STATE_ERROR, "permission denied", BIG_DELAY);
	nb_job_free(&job);
	assert_int_equal(get(f, "e", &v), 0);
	assert_int_equal(v.state, NB_STATE_ERROR);
	assert_string_equal(v.error, "permission denied");
	long wait = no_job(f);
	assert_true(wait > BIG_DELAY - 1000 && wait <= BIG_DELAY);
	/* a new version gets a fresh attempt at once */
	assert_int_equal(nb_queue_touch(f->st, "e", NB_KIND_FILE), 0);
	assert_int_equal(state_of(f, "e"), NB_STATE_PENDING);
	take(f, "e", &job);
	/* transient failure: pending, retried when the retry time passes */
	nb_queue_fail(f->st, &job, NB_STATE_PENDING, NULL, 0);
	assert_int_equal(get(f, "e", &v), 0);
	assert_int_equal(v.state, NB_STATE_PENDING);
	assert_string_equal(v.error, "");
	nb_job_free(&job);
	take(f, "e", &job);
	nb_job_free(&job);
}

/* A failure of a job whose file changed since it was taken says nothing
 * about the new content: no error shown, no backoff. */
static void test_fail_after_change(void **state)
{
	struct fx *f = *state;
	struct nb_job job;
	struct nb_core_state v;
	assert_int_equal(nb_queue_touch(f->st, "c", NB_KIND_FILE), 0);
	take(f, "c", &job);
	assert_int_equal(nb_queue_touch(f->st, "c", NB_KIND_FILE), 0);
	nb_queue_fail(f->st, &job, NB_STATE_ERROR, "server: disk full", BIG_DELAY);
	nb_job_free(&job);
	assert_int_equal(get(f, "c", &v), 0);
	assert_int_equal(v.state, NB_STATE_PENDING);
	assert_string_equal(v.error, "");
	take(f, "c", &job);
	nb_job_free(&job);
}

/* The sync thread found no staged copy for its job. Regression: it
 * dropped whatever was queued under the path by then, such as a new file
 * created there meanwhile, which then never reached the server. */
static void test_drop_job(void **state)
{
	struct fx *f = *state;
	struct nb_job job;
	/* unchanged: dropped */
	assert_int_equal(nb_queue_touch(f->st, "a", NB_KIND_FILE), 0);
	take(f, "a", &job);
	nb_queue_drop_job(f->st, &job);
	nb_job_free(&job);
	assert_int_equal(state_of(f, "a"), -1);
	assert_ops(f, "");
	/* written again since: kept, offered again */
	assert_int_equal(nb_queue_touch(f->st, "b", NB_KIND_FILE), 0);
	take(f, "b", &job);
	assert_int_equal(nb_queue_touch(f->st, "b", NB_KIND_FILE), 0);
	nb_queue_drop_job(f->st, &job);
	nb_job_free(&job);
	assert_int_equal(state_of(f, "b"), NB_STATE_PENDING);
	take(f, "b", &job);
	nb_job_free(&job);
	/* removed and created anew since: the new file stays queued */
	assert_int_equal(nb_queue_touch(f->st, "n", NB_KIND_FILE), 0);
	take(f, "n", &job);
	assert_int_equal(nb_queue_remove(f->st, "n", 0, 0), 0);
	assert_int_equal(nb_queue_touch(f->st, "n", NB_KIND_FILE), 0);
	nb_queue_drop_job(f->st, &job);
	nb_job_free(&job);
	assert_int_equal(state_of(f, "n"), NB_STATE_PENDING);
	assert_ops(f, "f:b,u:n,f:n,");
}

/* An upload that lost its answer with the link may be on the server:
 * the doubt stays with the entry (across a rename) until settled, and
 * meanwhile removals and renames go to the server. */
static void reload(struct fx *f);

static void test_doubt(void **state)
{
	struct fx *f = *state;
	struct nb_job job;
	struct nb_synced v = {.kind = NB_KIND_FILE, .size = 7, .has_remote = 1, .rsize = 7}, got;
	assert_int_equal(nb_queue_touch(f->st, "p", NB_KIND_FILE), 0);
	take(f, "p", &job);
	assert_int_equal(nb_queue_get_doubt(f->st, "p", &got), 0);
	nb_queue_set_doubt(f->st, &job, &v);
	nb_queue_fail(f->st, &job, NB_STATE_PENDING, "connection lost", 0);
	nb_job_free(&job);
	assert_int_equal(nb_queue_get_doubt(f->st, "p", &got), 1);
	assert_int_equal(got.rsize, 7);
	/* a rename goes to the server too, and the doubt moves along */
	assert_int_equal(nb_queue_rename(f->st, "p", "q", 0), 0);
	assert_ops(f, "m:q<p,f:q?7,");
	assert_int_equal(nb_queue_get_doubt(f->st, "p", &got), 0);
	assert_int_equal(nb_queue_get_doubt(f->st, "q", &got), 1);
	/* settled: a removal is local again unless the server has it */
	assert_int_equal(nb_queue_settle_doubt(f->st, "q", NULL), 0);
	assert_int_equal(nb_queue_get_doubt(f->st, "q", &got), 0);
	run_op(f, NB_KIND_RENAME, "q", "p");
	assert_int_equal(nb_queue_touch(f->st, "r", NB_KIND_FILE), 0);
	take(f, "q", &job);
	nb_job_free(&job);
	take(f, "r", &job);
	nb_queue_set_doubt(f->st, &job, &v);
	nb_queue_fail(f->st, &job, NB_STATE_PENDING, NULL, 0);
	nb_job_free(&job);
	assert_int_equal(nb_queue_remove(f->st, "r", 0, 0), 0);
	/* the removal is sent, with the doubt: the server may hold that
	 * version, newer than any record, and it is ours to remove */
	assert_ops(f, "f:q,u:r?7,");
	reload(f);
	assert_ops(f, "f:q,u:r?7,");
}

/* "Restart": the queue freed and loaded again from the reopened
 * database, as the next mount would. */
static void reload(struct fx *f)
{
	nb_queue_free(f->st);
	nb_statedb_close(f->db);
	f->st = NULL;
	assert_int_equal(nb_statedb_open(f->dbpath, &f->db), 0);
	assert_int_equal(nb_queue_new(f->db, 0, &f->st), 0);
	assert_int_equal(nb_queue_load(f->st), 0);
}

/* The doubt survives a crash: set before the upload's first request, it
 * is in the database until the answer, so nbfs killed while the server
 * publishes leaves it for the next mount (which asks the server instead
 * of taking its own version for someone else's). */
static void test_doubt_durable(void **state)
{
	struct fx *f = *state;
	struct nb_job job;
	struct nb_synced v = {.kind = NB_KIND_FILE,
			      .size = 7,
			      .mtime_ns = 5000000123,
			      .has_md5 = 1,
			      .md5 = {1, 2, 3},
			      .has_remote = 1,
			      .rsize = 7,
			      .rmtime_s = 5,
			      .rmtime_ns = 123},
			got;
	assert_int_equal(nb_queue_touch(f->st, "p", NB_KIND_FILE), 0);
	take(f, "p", &job);
	nb_queue_set_doubt(f->st, &job, &v);
	nb_job_free(&job);
	/* killed during the upload: in doubt after the restart, and the
	 * path counts as on the server */
	reload(f);
	assert_ops(f, "f:p?7,");
	assert_int_equal(nb_queue_get_doubt(f->st, "p", &got), 1);
	assert_true(got.size == 7 && got.mtime_ns == 5000000123 && got.rsize == 7 &&
		    got.rmtime_s == 5 && got.rmtime_ns == 123 && got.has_md5 && got.has_remote);
	assert_memory_equal(got.md5, v.md5, NB_MD5_LEN);
	/* changed meanwhile: still in doubt (it is about the server) */
	assert_int_equal(nb_queue_touch(f->st, "p", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_get_doubt(f->st, "p", &got), 1);
	/* carried by a rename: at the new path after the next restart */
	assert_int_equal(nb_queue_rename(f->st, "p", "q", 0), 0);
	reload(f);
	assert_ops(f, "m:q<p,f:q?7,");
	assert_int_equal(nb_queue_get_doubt(f->st, "p", &got), 0);
	assert_int_equal(nb_queue_get_doubt(f->st, "q", &got), 1);
	/* settled: gone, for good */
	assert_int_equal(nb_queue_settle_doubt(f->st, "q", &v), 0);
	assert_int_equal(tag(f, "q"), 7);
	reload(f);
	assert_ops(f, "m:q<p,f:q,");
	assert_int_equal(nb_queue_get_doubt(f->st, "q", &got), 0);
}

/* A new file's entry goes on record with its first request (with the
 * doubt), not when the file is created: cp of many small files waits for
 * no database write per file. Its place in the queue is the one it got
 * when it was created. */
static void test_new_file_on_record_with_doubt(void **state)
{
	struct fx *f = *state;
	struct nb_job job;
	struct nb_synced v = {.kind = NB_KIND_FILE, .size = 4, .has_remote = 1, .rsize = 4}, got;
	f->fresh = 1;
	assert_int_equal(wopen(f, "n"), 0);
	assert_int_equal(nb_queue_touch(f->st, "d", NB_KIND_DIR), 0); /* on record at once */
	wclose(f, "n");
	assert_ops(f, "d:d,");
	take(f, "n", &job);
	nb_queue_set_doubt(f->st, &job, &v);
	assert_ops(f, "f:n?4,d:d,");
	/* killed before the answer: in doubt after the restart */
	reload(f);
	assert_int_equal(nb_queue_get_doubt(f->st, "n", &got), 1);
	assert_true(got.rsize == 4);
	nb_job_free(&job);
	/* the answer came: the row goes with the record of what the server
	 * holds */
	take(f, "n", &job);
	nb_queue_set_doubt(f->st, &job, &v);
	assert_int_equal(nb_queue_done(f->st, &job, &v), 1);
	nb_job_free(&job);
	assert_ops(f, "d:d,");
	assert_int_equal(tag(f, "n"), 4);
	/* a new file done without a request never touches the queue's
	 * rows (a creation cancelled by its removal, say) */
	assert_int_equal(wopen(f, "gone"), 0);
	wclose(f, "gone");
	assert_int_equal(nb_queue_remove(f->st, "gone", 0, 0), 0);
	assert_int_equal(nb_queue_get_doubt(f->st, "gone", &got), 0);
	assert_ops(f, "d:d,");
}

/* Not on record yet, a new file's entry is forgotten by a crash (the
 * scan at the next mount finds the file: test_scan_*); nb_queue_flush
 * (an fsync, the unmount) puts every such entry on record, each at its
 * place. */
static void test_new_file_on_record_at_flush(void **state)
{
	struct fx *f = *state;
	f->fresh = 1;
	assert_int_equal(wopen(f, "a"), 0);
	wclose(f, "a");
	reload(f);
	assert_int_equal(nb_queue_count(f->st), 0);
	f->nw = 0;
	assert_int_equal(wopen(f, "a"), 0);
	wclose(f, "a");
	assert_int_equal(nb_queue_remove(f->st, "old", 0, 1), 0);
	assert_int_equal(wopen(f, "b"), 0); /* still open */
	assert_ops(f, "u:old,");
	assert_int_equal(nb_queue_flush(f->st), 0);
	assert_ops(f, "f:a,u:old,f:b,");
	reload(f);
	assert_int_equal(nb_queue_count(f->st), 3);
	/* on record now: a change is written as for any entry */
	assert_int_equal(nb_queue_rename(f->st, "a", "c", 0), 0);
	assert_ops(f, "u:old,f:b,f:c,");
}

/* Moved before it is on record (a rename of the directory it is in),
 * a new file's entry takes its new place behind what was queued
 * meanwhile, in memory, and is written there. */
static void test_new_file_moved_before_record(void **state)
{
	struct fx *f = *state;
	struct nb_job job;
	struct nb_synced v = {.kind = NB_KIND_FILE, .size = 2, .has_remote = 1, .rsize = 2};
	f->fresh = 1;
	assert_int_equal(wopen(f, "a/f"), 0);
	wclose(f, "a/f");
	assert_int_equal(nb_queue_rename(f->st, "x", "y", 1), 0);
	assert_int_equal(nb_queue_rename(f->st, "a", "b", 0), 0);
	assert_ops(f, "m:y<x,");
	take_op(f, NB_KIND_RENAME, "y", "x", &job);
	nb_job_free(&job);
	take(f, "b/f", &job);
	nb_queue_set_doubt(f->st, &job, &v);
	nb_job_free(&job);
	assert_ops(f, "m:y<x,f:b/f?2,");
	assert_true(ops_l.seq[1] > ops_l.seq[0]);
}

/* A staged file at dir/name, with the record that the server holds
 * exactly it (same size and mtime) unless with_record is 0. */
static void staged(struct fx *f, int stage_fd, const char *name, int with_record)
{
	struct stat st;
	char *p = tu_join(f->dir, "stage");
	char *fp = tu_join(p, name);
	assert_int_equal(tu_write_file(fp, name, strlen(name)), 0);
	assert_int_equal(fstatat(stage_fd, name, &st, 0), 0);
	struct nb_synced s = {.kind = NB_KIND_FILE,
			      .size = (uint64_t)st.st_size,
			      .mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec};
	if (with_record)
		assert_int_equal(nb_statedb_set_synced(f->db, -1, name, &s), 0);
	free(fp);
	free(p);
}

/* The scan at mount time queues what the server is not known to hold:
 * a file without a record (a new file whose entry was not on record
 * yet), and a file whose record a queued removal takes away even if the
 * record says its size and time (removed, then made again alike, e.g.
 * cp -p, before a crash: else the removal replayed on the server left
 * it there only locally). */
static void test_scan_queues_unknown(void **state)
{
	struct fx *f = *state;
	char *p = tu_join(f->dir, "stage");
	assert_int_equal(mkdir(p, 0700), 0);
	int fd = open(p, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	staged(f, fd, "held", 1);
	staged(f, fd, "new", 0);
	staged(f, fd, "again", 1);
	assert_int_equal(nb_queue_remove(f->st, "again", 0, 1), 0);
	assert_int_equal(nb_scan_staged(fd, f->st), 2);
	assert_int_equal(state_of(f, "held"), -1);
	assert_int_equal(state_of(f, "new"), NB_STATE_PENDING);
	assert_int_equal(state_of(f, "again"), NB_STATE_PENDING);
	/* the removal first; the files in the directory's order */
	const char *o = ops(f);
	assert_true(strcmp(o, "u:again,f:new,f:again,") == 0 ||
		    strcmp(o, "u:again,f:again,f:new,") == 0);
	close(fd);
	free(p);
}

/* The storm's loss (test_op_storm_stall, seed 1016735419): a new file
 * made at a name whose old file's removal is still queued, then renamed
 * (the rename queued too, the old name being on the server as far as
 * the queue knows), then nbfs killed before the new file's entry was
 * on record. The scan at the next mount took the queued rename to the
 * new name for what brings the file there, and queued nothing: the
 * rename found no source on the server and the file never went. A
 * rename queued to a name counts only through the record of its source;
 * the removal of that source before it leaves none. */
static void test_scan_new_file_renamed_before_record(void **state)
{
	struct fx *f = *state;
	char *p = tu_join(f->dir, "stage");
	char *d = tu_join(p, "c");
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(mkdir(d, 0700), 0);
	put(f, "c", NB_KIND_DIR, 0);                           /* on the server */
	put(f, "z", NB_KIND_FILE, 5);                          /* the old z, on the server */
	assert_int_equal(nb_queue_remove(f->st, "z", 0, 1), 0); /* rm z: queued */
	f->fresh = 1;
	assert_int_equal(wopen(f, "z"), 0); /* cp blob z: a new file */
	wclose(f, "z");
	assert_int_equal(nb_queue_rename(f->st, "z", "c/y", 1), 0); /* mv z c/y */
	assert_ops(f, "u:z,m:c/y<z,");
	int fd = open(p, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	char *fp = tu_join(d, "y");
	assert_int_equal(tu_write_file(fp, "new", 3), 0);
	/* killed; the next mount */
	reload(f);
	assert_int_equal(nb_scan_staged(fd, f->st), 1);
	assert_int_equal(nb_queue_has_creation(f->st, "c/y"), 1);
	assert_ops(f, "u:z,m:c/y<z,f:c/y,");
	/* a file the rename does bring (its source on record, alike) is
	 * not sent again */
	put(f, "s", NB_KIND_FILE, 0);
	struct stat st;
	char *sp = tu_join(d, "t");
	assert_int_equal(tu_write_file(sp, "", 0), 0);
	assert_int_equal(stat(sp, &st), 0);
	struct nb_synced rec = {.kind = NB_KIND_FILE,
				.size = 0,
				.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec};
	assert_int_equal(nb_statedb_set_synced(f->db, -1, "s", &rec), 0);
	assert_int_equal(nb_queue_rename(f->st, "s", "c/t", 1), 0);
	assert_int_equal(nb_scan_staged(fd, f->st), 0);
	assert_int_equal(nb_queue_has_creation(f->st, "c/t"), 0);
	close(fd);
	free(sp);
	free(fp);
	free(d);
	free(p);
}

/* A doubt carried to the file renamed over its path (the editor
 * pattern) is durable at the new entry; the answer lifts it. */
static void test_doubt_durable_carried(void **state)
{
	struct fx *f = *state;
	struct nb_job job;
	struct nb_synced v = {.kind = NB_KIND_FILE, .size = 9, .has_remote = 1, .rsize = 9}, got;
	assert_int_equal(nb_queue_touch(f->st, "doc", NB_KIND_FILE), 0);
	take(f, "doc", &job);
	nb_queue_set_doubt(f->st, &job, &v);
	assert_int_equal(nb_queue_touch(f->st, "doc.tmp", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_rename(f->st, "doc.tmp", "doc", 0), 0);
	assert_ops(f, "f:doc?9,");
	/* the answer came (published): on record, the doubt lifted */
	assert_int_equal(nb_queue_done(f->st, &job, &v), 0);
	nb_job_free(&job);
	assert_int_equal(tag(f, "doc"), 9);
	assert_ops(f, "f:doc,");
	reload(f);
	assert_int_equal(nb_queue_get_doubt(f->st, "doc", &got), 0);
	/* refused by the server or stopped before its end: lifted too */
	take(f, "doc", &job);
	nb_queue_set_doubt(f->st, &job, &v);
	assert_ops(f, "f:doc?9,");
	nb_queue_clear_doubt(f->st, &job, &v);
	nb_queue_fail(f->st, &job, NB_STATE_PENDING, NULL, 0);
	nb_job_free(&job);
	assert_ops(f, "f:doc,");
	assert_int_equal(nb_queue_get_doubt(f->st, "doc", &got), 0);
	/* but only that upload's: another version's doubt stays */
	take(f, "doc", &job);
	nb_queue_set_doubt(f->st, &job, &v);
	v.rsize = 10;
	nb_queue_clear_doubt(f->st, &job, &v);
	nb_job_free(&job);
	assert_ops(f, "f:doc?9,");
}

/* The editor pattern over a file whose upload is in flight or in doubt:
 * the server may hold that upload's version at the path, so it must stay
 * the base for the file renamed over it. Regression: it was forgotten,
 * and the next upload became a conflict copy of our own version. */
static void test_replaced_while_uploading(void **state)
{
	struct fx *f = *state;
	struct nb_job job;
	struct nb_synced v = {.kind = NB_KIND_FILE, .size = 9, .has_remote = 1, .rsize = 9}, got;
	/* in flight, then replaced, then finished: on record */
	assert_int_equal(nb_queue_touch(f->st, "doc", NB_KIND_FILE), 0);
	take(f, "doc", &job);
	assert_int_equal(nb_queue_touch(f->st, "doc.tmp", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_rename(f->st, "doc.tmp", "doc", 0), 0);
	assert_int_equal(nb_queue_done(f->st, &job, &v), 0);
	nb_job_free(&job);
	assert_int_equal(tag(f, "doc"), 9);
	assert_int_equal(state_of(f, "doc"), NB_STATE_PENDING);
	/* in doubt, then replaced: the doubt stays for the new file */
	take(f, "doc", &job);
	v.size = v.rsize = 11;
	nb_queue_set_doubt(f->st, &job, &v);
	nb_queue_fail(f->st, &job, NB_STATE_PENDING, NULL, 0);
	nb_job_free(&job);
	assert_int_equal(nb_queue_touch(f->st, "doc.tmp", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_rename(f->st, "doc.tmp", "doc", 0), 0);
	assert_int_equal(nb_queue_get_doubt(f->st, "doc", &got), 1);
	assert_int_equal(got.rsize, 11);
	/* in flight, then replaced, then cut off: the doubt lands on the
	 * file queued at the path */
	assert_int_equal(nb_queue_settle_doubt(f->st, "doc", NULL), 0);
	take(f, "doc", &job);
	assert_int_equal(nb_queue_touch(f->st, "doc.tmp", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_rename(f->st, "doc.tmp", "doc", 0), 0);
	nb_queue_set_doubt(f->st, &job, &v);
	nb_queue_fail(f->st, &job, NB_STATE_PENDING, NULL, 0);
	nb_job_free(&job);
	assert_int_equal(nb_queue_get_doubt(f->st, "doc", &got), 1);
}

/* A file in doubt renamed over a path in doubt (both uploads lost their
 * answers with the link): once the server runs the RENAME, the path holds
 * what the source held (perhaps the source's upload), or, if the source
 * is not there, what the destination held (perhaps its upload). Both stay
 * possible, durably, until the server is asked. Regression: the
 * destination's doubt replaced the file's own, the RENAME moved the
 * source's published upload over, and it became a conflict copy of our
 * own version. */
static void test_rename_over_doubt_keeps_both(void **state)
{
	struct fx *f = *state;
	struct nb_job job;
	struct nb_synced vx = {.kind = NB_KIND_FILE, .size = 7, .has_remote = 1, .rsize = 7};
	struct nb_synced vz = {.kind = NB_KIND_FILE, .size = 5, .has_remote = 1, .rsize = 5};
	struct nb_synced got[2];
	assert_int_equal(nb_queue_touch(f->st, "x", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_touch(f->st, "z", NB_KIND_FILE), 0);
	struct nb_job jz;
	take(f, "x", &job);
	take(f, "z", &jz);
	nb_queue_set_doubt(f->st, &job, &vx);
	nb_queue_set_doubt(f->st, &jz, &vz);
	nb_queue_fail(f->st, &job, NB_STATE_PENDING, "connection lost", 0);
	nb_queue_fail(f->st, &jz, NB_STATE_PENDING, "connection lost", 0);
	nb_job_free(&job);
	nb_job_free(&jz);
	assert_int_equal(nb_queue_rename(f->st, "z", "x", 0), 0);
	assert_ops(f, "m:x<z,f:x?7,");
	assert_int_equal(nb_queue_get_doubts(f->st, "x", got), 2);
	assert_int_equal(got[0].rsize, 7);
	assert_int_equal(got[1].rsize, 5);
	/* after a crash too */
	reload(f);
	assert_int_equal(nb_queue_get_doubts(f->st, "x", got), 2);
	assert_true(got[0].rsize == 7 && got[1].rsize == 5);
	/* one of them known not to be there: the other stays */
	run_op(f, NB_KIND_RENAME, "x", "z");
	take(f, "x", &job);
	nb_queue_clear_doubt(f->st, &job, &vx);
	nb_queue_fail(f->st, &job, NB_STATE_PENDING, NULL, 0);
	nb_job_free(&job);
	assert_int_equal(nb_queue_get_doubts(f->st, "x", got), 1);
	assert_int_equal(got[0].rsize, 5);
	assert_ops(f, "f:x?5,");
	reload(f);
	assert_int_equal(nb_queue_get_doubts(f->st, "x", got), 1);
	/* settled: the server holds vz, now the base */
	assert_int_equal(nb_queue_settle_doubt(f->st, "x", &vz), 0);
	assert_int_equal(nb_queue_get_doubts(f->st, "x", got), 0);
	assert_int_equal(tag(f, "x"), 5);
}

/* A name a pending rename brings from the server is removed there too,
 * even when the caller did not know the server held it (its look came
 * before the rename was queued, or it asked only the listing). */
static void test_remove_renamed_here(void **state)
{
	struct fx *f = *state;
	put(f, "p", NB_KIND_FILE, 3);
	assert_int_equal(nb_queue_rename(f->st, "p", "q", 0), 0);
	assert_ops(f, "m:q<p,");
	assert_int_equal(nb_queue_remove(f->st, "q", 0, 0), 0);
	assert_ops(f, "m:q<p,u:q,");
	/* and renamed on */
	put(f, "a", NB_KIND_FILE, 4);
	assert_int_equal(nb_queue_rename(f->st, "a", "b", 0), 0);
	assert_int_equal(nb_queue_rename(f->st, "b", "c", 0), 0);
	assert_ops(f, "m:q<p,u:q,m:b<a,m:c<b,");
}

/* Two renames to one name, the second's source moved away before it
 * (so the server answers it ENOENT and the name keeps what the first
 * brought): removing the name here removes it there. Regression (seen in
 * test_op_storm_stall): the name resolved to nothing, no removal was
 * queued, and the first rename's file stayed on the server. */
static void test_remove_after_renames_into(void **state)
{
	struct fx *f = *state;
	put(f, "a/c/y", NB_KIND_FILE, 3);
	assert_int_equal(nb_queue_rename(f->st, "a/c/y", "b/a/y", 0), 0);
	assert_int_equal(nb_queue_rename(f->st, "b/a/y", "b/y", 0), 0);
	assert_int_equal(nb_queue_touch(f->st, "a/c/y", NB_KIND_FILE), 0);
	/* its record says the server has a/c/y (not yet moved there) */
	assert_int_equal(nb_queue_rename(f->st, "a/c/y", "b/y", 0), 0);
	assert_ops(f, "m:b/a/y<a/c/y,m:b/y<b/a/y,m:b/y<a/c/y,f:b/y,");
	assert_int_equal(nb_queue_remove(f->st, "b/y", 0, 0), 0);
	assert_ops(f, "m:b/a/y<a/c/y,m:b/y<b/a/y,m:b/y<a/c/y,u:b/y,");
}

/* A directory's MKDIR or a symlink's SYMLINK whose session broke before
 * its answer may have run: removing or renaming it here goes to the
 * server too; a refusal leaves it local. Regression (test_op_storm, a
 * cut): mkdir c/b/c, the link broke with its MKDIR in flight, then
 * rmdir c/b/c: no RMDIR went, and the server kept the directory. */
static void test_lost_creation_maybe_made(void **state)
{
	struct fx *f = *state;
	struct nb_job d, l, e;
	assert_int_equal(nb_queue_touch(f->st, "d", NB_KIND_DIR), 0);
	assert_int_equal(nb_queue_touch(f->st, "l", NB_KIND_SYMLINK), 0);
	assert_int_equal(nb_queue_touch(f->st, "e", NB_KIND_DIR), 0);
	take_op(f, NB_KIND_DIR, "d", NULL, &d);
	take_op(f, NB_KIND_SYMLINK, "l", NULL, &l);
	take_op(f, NB_KIND_DIR, "e", NULL, &e);
	nb_queue_lost(f->st, &d, "connection lost");
	nb_queue_lost(f->st, &l, "connection lost");
	nb_queue_fail(f->st, &e, NB_STATE_PENDING, "refused", 0);
	assert_int_equal(nb_queue_remove(f->st, "d", 1, 0), 0);
	assert_int_equal(nb_queue_rename(f->st, "l", "m", 0), 0);
	assert_int_equal(nb_queue_remove(f->st, "e", 1, 0), 0);
	assert_ops(f, "r:d,m:m<l,l:m,");
	/* the moved symlink may still be there once the rename has run */
	assert_int_equal(nb_queue_remove(f->st, "m", 0, 0), 0);
	assert_ops(f, "r:d,m:m<l,u:m,");
	nb_job_free(&d);
	nb_job_free(&l);
	nb_job_free(&e);
}

/* A directory made here and not sent yet, into which a pending rename
 * brings a server name: the server holds the directory once that rename
 * runs (a RENAME makes the missing parents of its destination), so
 * moving or removing the directory is done there too. Regression (seen
 * in test_op_storm_stall after a stall): 'mkdir b; mv c/y b/w; mv b z'
 * sent RENAME c/y b/w and no rename of b, leaving b/w on the server. */
static void test_dir_holding_renamed_name(void **state)
{
	struct fx *f = *state;
	put(f, "c/y", NB_KIND_FILE, 5);
	assert_int_equal(nb_queue_touch(f->st, "b", NB_KIND_DIR), 0);
	assert_int_equal(nb_queue_rename(f->st, "c/y", "b/w", 0), 0);
	assert_int_equal(nb_queue_known_on_server(f->st, "b"), 1);
	assert_int_equal(nb_queue_rename(f->st, "b", "z", 0), 0);
	assert_ops(f, "m:b/w<c/y,m:z<b,d:z,");
	run_op(f, NB_KIND_RENAME, "b/w", "c/y");
	run_op(f, NB_KIND_RENAME, "z", "b");
	assert_int_equal(tag(f, "z/w"), 5);
	assert_int_equal(tag(f, "b/w"), -1);
	run_op(f, NB_KIND_DIR, "z", NULL);
	/* removed instead: the name goes, and then the directory */
	put(f, "c/x", NB_KIND_FILE, 6);
	assert_int_equal(nb_queue_touch(f->st, "d", NB_KIND_DIR), 0);
	assert_int_equal(nb_queue_rename(f->st, "c/x", "d/w", 0), 0);
	assert_int_equal(nb_queue_remove(f->st, "d/w", 0, 0), 0);
	assert_int_equal(nb_queue_remove(f->st, "d", 1, 0), 0);
	assert_ops(f, "m:d/w<c/x,u:d/w,r:d,");
	/* a directory with nothing of the server's below stays local */
	assert_int_equal(nb_queue_touch(f->st, "e", NB_KIND_DIR), 0);
	assert_int_equal(nb_queue_touch(f->st, "e/f", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_known_on_server(f->st, "e"), 0);
	assert_int_equal(nb_queue_rename(f->st, "e", "g", 0), 0);
	assert_ops(f, "m:d/w<c/x,u:d/w,r:d,d:g,f:g/f,");
}

/* The editor pattern cancels the upload of its temporary file by the
 * rename: the server never had it, and its answer to the rename is
 * ENOENT. Regression: our record of the destination was dropped, so the
 * next upload there was based on no file and became a conflict copy. */
static void test_rename_source_never_there(void **state)
{
	struct fx *f = *state;
	struct nb_job job, m;
	put(f, "z", NB_KIND_FILE, 4);
	assert_int_equal(nb_queue_touch(f->st, "z.tmp", NB_KIND_FILE), 0);
	take(f, "z.tmp", &job);
	assert_int_equal(nb_queue_rename(f->st, "z.tmp", "z", 0), 0);
	assert_ops(f, "m:z<z.tmp,f:z,");
	nb_queue_fail(f->st, &job, NB_STATE_PENDING, NULL, 0); /* cancelled */
	nb_job_free(&job);
	take_op(f, NB_KIND_RENAME, "z", "z.tmp", &m);
	assert_int_equal(nb_queue_done_absent(f->st, &m), 1);
	nb_job_free(&m);
	assert_int_equal(tag(f, "z"), 4);
	assert_ops(f, "f:z,");
	take(f, "z", &job);
	nb_job_free(&job);
	/* a replay whose first attempt moved it: the record moves */
	put(f, "s", NB_KIND_FILE, 6);
	assert_int_equal(nb_queue_rename(f->st, "s", "t", 1), 0);
	take_op(f, NB_KIND_RENAME, "t", "s", &m);
	assert_int_equal(nb_queue_done_absent(f->st, &m), 1);
	nb_job_free(&m);
	assert_int_equal(tag(f, "s"), -1);
	assert_int_equal(tag(f, "t"), 6);
}

static void test_md5_and_drop(void **state)
{
	struct fx *f = *state;
	struct nb_core_state v;
	struct nb_job job;
	uint8_t md5[NB_MD5_LEN], got[NB_MD5_LEN];
	nb_md5_buf("abc", 3, md5);
	assert_int_equal(nb_queue_touch(f->st, "m", NB_KIND_FILE), 0);
	take(f, "m", &job);
	set_md5(f, &job, job.gen, md5);
	set_md5(f, NULL, job.gen, md5);
	assert_int_equal(get(f, "m", &v), 0);
	assert_int_equal(v.has_md5, 1);
	assert_string_equal(v.md5, "900150983cd24fb0d6963f7d28e17f72");
	memset(got, 0, sizeof(got));
	assert_int_equal(get_md5(f, &job, job.gen, got), 1);
	assert_memory_equal(got, md5, NB_MD5_LEN);
	assert_int_equal(get_md5(f, &job, job.gen + 1, got), 0);
	assert_int_equal(get_md5(f, NULL, job.gen, got), 0);
	/* new content: the MD5 is unknown again, and a late result for the
	 * old version is ignored */
	assert_int_equal(nb_queue_touch(f->st, "m", NB_KIND_FILE), 0);
	assert_int_equal(get(f, "m", &v), 0);
	assert_int_equal(v.has_md5, 0);
	set_md5(f, &job, job.gen, md5);
	assert_int_equal(get(f, "m", &v), 0);
	assert_int_equal(v.has_md5, 0);
	assert_int_equal(get_md5(f, &job, job.gen, got), 0);
	/* the job ends (changed): m is pending again, never on the server */
	nb_queue_fail(f->st, &job, NB_STATE_PENDING, NULL, 0);
	nb_job_free(&job);

	assert_int_equal(nb_queue_touch(f->st, "n", NB_KIND_FILE), 0);
	assert_ops(f, "f:m,f:n,");
	/* removed before it went: dropped, nothing for the server */
	assert_int_equal(nb_queue_remove(f->st, "m", 0, 0), 0);
	assert_int_equal(nb_queue_remove(f->st, "never", 0, 0), 0);
	assert_int_equal(get(f, "m", &v), -ENOENT);
	assert_int_equal(nb_queue_count(f->st), 1);
	assert_ops(f, "f:n,");
}

/* The hasher takes closed files that wait out their quiet time. */
static void test_hash_queue(void **state)
{
	struct fx *f = *state; /* BIG_DELAY */
	struct nb_job h, h2;
	uint8_t md5[NB_MD5_LEN];
	nb_md5_buf("x", 1, md5);
	memset(&h, 0, sizeof(h));
	assert_int_equal(nb_queue_next_hash(f->st, &h), 0);
	assert_int_equal(wopen(f, "open"), 0); /* has a writer */
	assert_int_equal(nb_queue_touch(f->st, "dir", NB_KIND_DIR), 0);
	assert_int_equal(nb_queue_touch(f->st, "h", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_next_hash(f->st, &h), 1);
	assert_string_equal(h.path, "h");
	assert_int_equal(h.kind, NB_KIND_FILE);
	/* not handed out twice while it is being hashed */
	memset(&h2, 0, sizeof(h2));
	assert_int_equal(nb_queue_next_hash(f->st, &h2), 0);
	set_md5(f, &h, h.gen, md5);
	nb_queue_hash_done(f->st, &h);
	assert_int_equal(nb_queue_next_hash(f->st, &h2), 0); /* has its MD5 */
	/* changed again: needs a new hash, under the new gen */
	assert_int_equal(nb_queue_touch(f->st, "h", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_next_hash(f->st, &h2), 1);
	assert_string_equal(h2.path, "h");
	assert_true(h2.gen > h.gen);
	nb_queue_hash_done(f->st, &h2);
	nb_job_free(&h);
	nb_job_free(&h2);
	/* the writer closes: now it is a candidate too */
	wclose(f, "open");
	memset(&h, 0, sizeof(h));
	assert_int_equal(nb_queue_next_hash(f->st, &h), 1);
	assert_string_equal(h.path, "open");
	nb_job_free(&h);
}

/* A small file the hasher leaves to the sync thread is not offered to it
 * again until it changes. */
static void test_hash_skip(void **state)
{
	struct fx *f = *state; /* BIG_DELAY */
	struct nb_job h = {0};
	assert_int_equal(nb_queue_touch(f->st, "s", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_next_hash(f->st, &h), 1);
	nb_queue_hash_skip(f->st, &h);
	nb_queue_hash_done(f->st, &h);
	nb_job_free(&h);
	assert_int_equal(nb_queue_next_hash(f->st, &h), 0);
	assert_int_equal(nb_queue_touch_meta(f->st, "s", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_next_hash(f->st, &h), 0); /* same content */
	assert_int_equal(nb_queue_touch(f->st, "s", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_next_hash(f->st, &h), 1);
	assert_string_equal(h.path, "s");
	nb_job_free(&h);
}

/* A writer that closes a small file says so: the hasher is not offered
 * it (it would only open it to skip it, while the sync thread waits);
 * a large one, or one of unknown size, is offered as before. */
static void test_hash_small_at_close(void **state)
{
	struct fx *f = *state; /* BIG_DELAY */
	struct nb_job h = {0};
	uint64_t small, large, unknown;
	uint8_t md5[NB_MD5_LEN];
	nb_md5_buf("z", 1, md5);
	assert_int_equal(nb_queue_writer_open(f->st, "small", 1, &small), 0);
	assert_int_equal(nb_queue_writer_open(f->st, "large", 1, &large), 0);
	assert_int_equal(nb_queue_writer_open(f->st, "unknown", 1, &unknown), 0);
	nb_queue_writer_close(f->st, small, NB_SMALL_MAX);
	assert_int_equal(nb_queue_next_hash(f->st, &h), 0);
	nb_queue_writer_close(f->st, large, NB_SMALL_MAX + 1);
	nb_queue_writer_close(f->st, unknown, -1);
	assert_int_equal(nb_queue_next_hash(f->st, &h), 1);
	assert_string_equal(h.path, "large");
	set_md5(f, &h, h.gen, md5);
	nb_queue_hash_done(f->st, &h);
	nb_job_free(&h);
	assert_int_equal(nb_queue_next_hash(f->st, &h), 1);
	assert_string_equal(h.path, "unknown");
	set_md5(f, &h, h.gen, md5);
	nb_queue_hash_done(f->st, &h);
	nb_job_free(&h);
	assert_int_equal(nb_queue_next_hash(f->st, &h), 0);
	/* written again, by path: the small file's skip is void */
	assert_int_equal(nb_queue_touch(f->st, "small", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_next_hash(f->st, &h), 1);
	assert_string_equal(h.path, "small");
	nb_job_free(&h);
}

/* A file being hashed is not handed to the sync thread, which would
 * hash it again alongside; other work goes ahead meanwhile. */
static void test_hashing_waits(void **state)
{
	struct fx *f = *state;
	struct nb_job h, job;
	uint8_t md5[NB_MD5_LEN];
	nb_md5_buf("y", 1, md5);
	assert_int_equal(nb_queue_touch(f->st, "big", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_touch(f->st, "small", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_next_hash(f->st, &h), 1);
	assert_string_equal(h.path, "big");
	take(f, "small", &job);
	nb_job_free(&job);
	long wait = no_job(f);
	assert_true(wait > 0 && wait <= 1000);
	set_md5(f, &h, h.gen, md5);
	nb_queue_hash_done(f->st, &h);
	take(f, "big", &job);
	assert_int_equal(get_md5(f, &job, job.gen, md5), 1);
	nb_job_free(&job);
	nb_job_free(&h);
}

static void test_dir_aggregation(void **state)
{
	struct fx *f = *state;
	struct nb_core_state v;
	struct nb_job j1, j2;

	nb_queue_dir(f->st, "", &v);
	assert_int_equal(v.state, NB_STATE_SYNCED);
	assert_int_equal(v.kind, NB_KIND_DIR);
	assert_int_equal(v.count, 0);

	assert_int_equal(nb_queue_touch(f->st, "a/x", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_touch(f->st, "a/y", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_touch(f->st, "ab/z", NB_KIND_FILE), 0);
	nb_queue_dir(f->st, "a", &v);
	assert_int_equal(v.state, NB_STATE_PENDING);
	assert_int_equal(v.count, 2); /* "ab/z" is not inside "a" */

	take(f, "a/x", &j1);
	nb_queue_progress(f->st, &j1, 30, 100);
	nb_queue_dir(f->st, "a", &v);
	assert_int_equal(v.state, NB_STATE_UPLOADING);
	assert_int_equal(v.count, 2);
	assert_int_equal(v.done, 30);
	assert_int_equal(v.total, 100);
	nb_queue_dir(f->st, "ab", &v);
	assert_int_equal(v.state, NB_STATE_PENDING);
	assert_int_equal(v.count, 1);

	take(f, "a/y", &j2);
	nb_queue_fail(f->st, &j2, NB_STATE_ERROR, "disk full", BIG_DELAY);
	nb_queue_dir(f->st, "a", &v);
	assert_int_equal(v.state, NB_STATE_ERROR); /* error outranks uploading */
	assert_string_equal(v.error, "a/y: disk full");
	nb_queue_dir(f->st, "ab", &v);
	assert_int_equal(v.state, NB_STATE_PENDING);
	assert_string_equal(v.error, "");
	nb_queue_dir(f->st, "", &v);
	assert_int_equal(v.state, NB_STATE_ERROR);
	assert_int_equal(v.count, 3);
	nb_queue_dir(f->st, "a/x", &v); /* a path is "within" itself */
	assert_int_equal(v.state, NB_STATE_UPLOADING);
	assert_int_equal(v.count, 1);
	nb_queue_dir(f->st, "b", &v);
	assert_int_equal(v.state, NB_STATE_SYNCED);
	assert_int_equal(v.count, 0);
	nb_job_free(&j1);
	nb_job_free(&j2);
}

static void test_report(void **state)
{
	struct fx *f = *state;
	char buf[4096];
	struct nb_job job;
	size_t n = report(f, buf, sizeof(buf));
	assert_string_equal(buf, "link\toffline\tnot connected yet\n"
				 "sum\t0\t0\t0\t0\t0\t0\n");
	assert_int_equal(n, strlen(buf));

	set_link(f, 1, "user@host");
	assert_int_equal(nb_queue_touch(f->st, "f", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_touch(f->st, "dir/g h", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_touch(f->st, "dir", NB_KIND_DIR), 0);
	take(f, "f", &job);
	nb_queue_progress(f->st, &job, 5, 10);
	n = report(f, buf, sizeof(buf));
	assert_string_equal(buf, "link\tconnected\tuser@host\n"
				 "sum\t3\t2\t5\t10\t0\t0\n"
				 "uploading\t5\t10\t0\t0\tupload\tf\t\t\n"
				 "pending\t0\t0\t0\t0\tupload\tdir/g h\t\t\n"
				 "pending\t0\t0\t0\t0\tmkdir\tdir\t\t\n");
	assert_int_equal(n, strlen(buf));
	nb_queue_fail(f->st, &job, NB_STATE_ERROR, "boom\tbang", BIG_DELAY);
	nb_job_free(&job);
	set_link(f, 0, NULL);
	n = report(f, buf, sizeof(buf));
	assert_string_equal(buf, "link\toffline\t\n"
				 "sum\t3\t2\t5\t10\t0\t0\n"
				 "error\t5\t10\t0\t0\tupload\tf\t\tboom\\tbang\n"
				 "pending\t0\t0\t0\t0\tupload\tdir/g h\t\t\n"
				 "pending\t0\t0\t0\t0\tmkdir\tdir\t\t\n");
	assert_int_equal(n, strlen(buf));
	assert_int_equal(report(f, buf, 0), 0);
}

/* Ages count whole seconds from when an entry was queued to now, and the
 * sum line carries the oldest. */
static void test_report_ages(void **state)
{
	struct fx *f = *state;
	char buf[4096];
	long long t0 = nb_xio_now_ms();
	assert_int_equal(nb_queue_touch(f->st, "old", NB_KIND_FILE), 0);
	nb_xio_sleep_ms(1100);
	assert_int_equal(nb_queue_touch(f->st, "new", NB_KIND_FILE), 0);
	long long t1 = nb_xio_now_ms();
	/* 10 s after the first touch: "old" is 10 s old (9 if the touch took
	 * a while), "new" 1.1 s (to the touch's delay) younger. */
	report_at(f, buf, sizeof(buf), t0 + 10000);
	unsigned long long oldest, age_old, age_new;
	char *sum = strstr(buf, "sum\t");
	assert_non_null(sum);
	assert_int_equal(sscanf(sum, "sum\t2\t2\t0\t0\t0\t%llu\n", &oldest), 1);
	char *l = strstr(buf, "\npending\t");
	assert_non_null(l);
	assert_int_equal(sscanf(l, "\npending\t0\t0\t0\t%llu\tupload\told\t", &age_old), 1);
	l = strstr(l + 1, "\npending\t");
	assert_non_null(l);
	assert_int_equal(sscanf(l, "\npending\t0\t0\t0\t%llu\tupload\tnew\t", &age_new), 1);
	assert_int_equal(oldest, age_old);
	assert_true(age_old == 10 || (age_old == 9 && t1 - t0 > 1100));
	assert_true(age_new == age_old - 1 || age_new == age_old - 2);
	/* a clock before the entries (or unset) shows 0, never a wrap */
	report_at(f, buf, sizeof(buf), t0 - 5000);
	assert_non_null(strstr(buf, "sum\t2\t2\t0\t0\t0\t0\n"));
}

static void test_report_truncated(void **state)
{
	struct fx *f = *state;
	char buf[170];
	char path[16];
	for (int i = 0; i < 10; i++) {
		snprintf(path, sizeof(path), "p%d", i);
		assert_int_equal(nb_queue_touch(f->st, path, NB_KIND_FILE), 0);
	}
	/* 31 bytes of link line, 21 of sum line, 24 per entry, 64 kept for
	 * the "more" line: two entries fit; the sum counts all ten. */
	size_t n = report(f, buf, sizeof(buf));
	assert_string_equal(buf, "link\toffline\tnot connected yet\n"
				 "sum\t10\t10\t0\t0\t0\t0\n"
				 "pending\t0\t0\t0\t0\tupload\tp0\t\t\n"
				 "pending\t0\t0\t0\t0\tupload\tp1\t\t\n"
				 "more\t8\n");
	assert_int_equal(n, strlen(buf));
	/* too small for any entry */
	char tiny[40];
	n = report(f, tiny, sizeof(tiny));
	assert_int_equal(n, strlen(tiny));
	assert_true(n < sizeof(tiny));
	assert_non_null(strstr(tiny, "more\t10\n"));
}

/*
 * Regression (fixed; was: sync/status.c:350, nb_status_report, now sync/report.c): the report is line-based
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
	assert_int_equal(nb_queue_touch(f->st, "x\nmore\t1000", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_count(f->st), 1);
	size_t n = report(f, buf, sizeof(buf));
	assert_int_equal(n, strlen(buf));
	size_t lines = 0;
	for (const char *p = buf; *p; p++)
		lines += *p == '\n';
	/* the link and sum lines, and one line for the one tracked path */
	assert_int_equal(lines, 3);
	assert_null(strstr(buf, "\nmore\t"));
}

static void test_rate(void **state)
{
	struct fx *f = *state;
	struct nb_job job;
	struct nb_core_state v;
	assert_int_equal(nb_queue_touch(f->st, "r", NB_KIND_FILE), 0);
	take(f, "r", &job);
	long long t0 = nb_xio_now_ms();
	nb_queue_progress(f->st, &job, 1000, 100000);
	nb_queue_progress(f->st, &job, 2000, 100000); /* too soon for a sample */
	assert_int_equal(get(f, "r", &v), 0);
	assert_true(v.rate == 0);
	assert_int_equal(v.done, 2000);
	nb_xio_sleep_ms(550);
	nb_queue_progress(f->st, &job, 7000, 100000);
	long long dt = nb_xio_now_ms() - t0;
	assert_int_equal(get(f, "r", &v), 0);
	/* 6000 bytes over the sample interval (>= 550 ms, <= dt) */
	assert_true(v.rate <= 6000.0 * 1000 / 550 + 1);
	assert_true(v.rate >= 6000.0 * 1000 / (double)(dt + 1) - 1);
	/* a new job starts its rate afresh */
	nb_queue_fail(f->st, &job, NB_STATE_PENDING, NULL, 0);
	nb_job_free(&job);
	take(f, "r", &job);
	assert_int_equal(get(f, "r", &v), 0);
	assert_true(v.rate == 0);
	assert_int_equal(v.done, 0);
	nb_job_free(&job);
}

static void test_load(void **state)
{
	struct fx *f = *state; /* BIG_DELAY */
	struct nb_job job;
	assert_int_equal(nb_queue_touch(f->st, "l1", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_touch(f->st, "l2", NB_KIND_DIR), 0);
	assert_int_equal(nb_queue_touch(f->st, "l3", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_remove(f->st, "l3", 0, 0), 0);
	/* "restart": a fresh table over the same database */
	nb_queue_free(f->st);
	assert_int_equal(nb_queue_new(f->db, BIG_DELAY, &f->st), 0);
	assert_int_equal(nb_queue_count(f->st), 0);
	assert_int_equal(nb_queue_load(f->st), 0);
	assert_int_equal(nb_queue_count(f->st), 2);
	assert_int_equal(state_of(f, "l1"), NB_STATE_PENDING);
	assert_int_equal(state_of(f, "l3"), -1);
	/* loaded entries changed "long ago": ready at once despite the delay */
	take(f, "l1", &job);
	assert_int_equal(job.kind, NB_KIND_FILE);
	nb_job_free(&job);
	take(f, "l2", &job);
	assert_int_equal(job.kind, NB_KIND_DIR);
	nb_job_free(&job);
	/* loading twice adds nothing (but see test_regress_load_twice: it
	 * damages the database) */
	assert_int_equal(nb_queue_load(f->st), 0);
	assert_int_equal(nb_queue_count(f->st), 2);
}

static void test_many_entries(void **state)
{
	struct fx *f = *state;
	enum { N = 5000 };
	char path[32];
	for (int i = 0; i < N; i++) {
		snprintf(path, sizeof(path), "d%d/f%d", i % 10, i);
		assert_int_equal(nb_queue_touch(f->st, path, NB_KIND_FILE), 0);
	}
	assert_int_equal(nb_queue_count(f->st), N);
	for (int i = 0; i < N; i++) {
		snprintf(path, sizeof(path), "d%d/f%d", i % 10, i);
		assert_int_equal(state_of(f, path), NB_STATE_PENDING);
	}
	struct nb_core_state v;
	nb_queue_dir(f->st, "d3", &v);
	assert_int_equal(v.count, N / 10);
	/* FIFO order survives the table growing */
	struct nb_job job;
	struct nb_job job2;
	take(f, "d0/f0", &job);
	take(f, "d1/f1", &job2);
	nb_queue_fail(f->st, &job, NB_STATE_PENDING, NULL, 0);
	nb_queue_fail(f->st, &job2, NB_STATE_PENDING, NULL, 0);
	nb_job_free(&job);
	nb_job_free(&job2);
	for (int i = 0; i < N; i += 2) {
		snprintf(path, sizeof(path), "d%d/f%d", i % 10, i);
		assert_int_equal(nb_queue_remove(f->st, path, 0, 0), 0);
	}
	assert_int_equal(nb_queue_count(f->st), N / 2);
	assert_int_equal(state_of(f, "d3/f3"), NB_STATE_PENDING);
	assert_int_equal(state_of(f, "d4/f4"), -1);
}

static void *waker(void *arg)
{
	nb_xio_sleep_ms(50);
	nb_queue_wake(arg);
	return NULL;
}

static void test_wait_and_wake(void **state)
{
	struct fx *f = *state;
	long long t0 = nb_xio_now_ms();
	nb_queue_wait(f->st, 60);
	long long dt = nb_xio_now_ms() - t0;
	assert_true(dt >= 55);
	assert_true(dt < 5000);
	pthread_t th;
	t0 = nb_xio_now_ms();
	assert_int_equal(pthread_create(&th, NULL, waker, f->st), 0);
	nb_queue_wait(f->st, 10000);
	dt = nb_xio_now_ms() - t0;
	pthread_join(th, NULL);
	assert_true(dt < 5000);
}

/* --- the operation log: creations and barriers --- */

static void test_touch_coalesces(void **state)
{
	struct fx *f = *state;
	struct nb_job job;
	struct nb_synced rec = {.kind = NB_KIND_FILE};
	assert_int_equal(nb_queue_touch(f->st, "a", NB_KIND_FILE), 0);
	assert_ops(f, "f:a,");
	int64_t sa = ops_l.seq[0];
	assert_int_equal(nb_queue_touch(f->st, "b", NB_KIND_FILE), 0);
	/* a later change of a: still one entry, same seq, same place */
	assert_int_equal(nb_queue_touch(f->st, "a", NB_KIND_FILE), 0);
	assert_int_equal(wopen(f, "a"), 0);
	wclose(f, "a");
	assert_ops(f, "f:a,f:b,");
	assert_true(ops_l.seq[0] == sa);
	assert_int_equal(nb_queue_count(f->st), 2);
	/* and while it is uploading */
	take(f, "a", &job);
	assert_true(job.seq == sa);
	assert_int_equal(nb_queue_touch(f->st, "a", NB_KIND_FILE), 0);
	assert_ops(f, "f:a,f:b,");
	assert_true(ops_l.seq[0] == sa);
	assert_int_equal(nb_queue_done(f->st, &job, &rec), 0); /* changed: goes again */
	nb_job_free(&job);
	assert_ops(f, "f:a,f:b,");
	assert_true(ops_l.seq[0] == sa);
	int64_t sb = ops_l.seq[1];
	/* A kind change replaces the entry: a new op at the end. */
	assert_int_equal(nb_queue_touch(f->st, "b", NB_KIND_DIR), 0);
	assert_ops(f, "f:a,d:b,");
	assert_true(ops_l.seq[1] > sb);
	assert_int_equal(nb_queue_count(f->st), 2);
	struct nb_core_state v;
	assert_int_equal(get(f, "b", &v), 0);
	assert_int_equal(v.kind, NB_KIND_DIR);
	assert_int_equal(nb_queue_touch(f->st, "c", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_touch(f->st, "a", NB_KIND_SYMLINK), 0);
	assert_ops(f, "d:b,f:c,l:a,");
	assert_int_equal(nb_queue_count(f->st), 3);
	take_op(f, NB_KIND_DIR, "b", NULL, &job);
	nb_job_free(&job);
	take_op(f, NB_KIND_FILE, "c", NULL, &job);
	nb_job_free(&job);
	take_op(f, NB_KIND_SYMLINK, "a", NULL, &job);
	assert_true(job.seq == ops_l.seq[2]);
	nb_job_free(&job);
}

static void test_remove(void **state)
{
	struct fx *f = *state;
	/* Created and deleted before its upload: costs nothing. */
	assert_int_equal(nb_queue_touch(f->st, "n", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_remove(f->st, "n", 0, 0), 0);
	assert_int_equal(nb_queue_count(f->st), 0);
	assert_ops(f, "");
	assert_int_equal(no_job(f), -1);
	assert_int_equal(state_of(f, "n"), -1);
	/* The same for a directory, and for a file moved before it went. */
	assert_int_equal(nb_queue_touch(f->st, "nd", NB_KIND_DIR), 0);
	assert_int_equal(nb_queue_remove(f->st, "nd", 1, 0), 0);
	assert_int_equal(nb_queue_touch(f->st, "m1", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_rename(f->st, "m1", "m2", 0), 0);
	assert_int_equal(nb_queue_remove(f->st, "m2", 0, 0), 0);
	assert_ops(f, "");
	assert_int_equal(no_job(f), -1);
	/* Not tracked and not on the server: nothing to do. */
	assert_int_equal(nb_queue_remove(f->st, "never", 0, 0), 0);
	assert_ops(f, "");

	/* On the server: an unlink is queued. */
	assert_int_equal(nb_queue_remove(f->st, "s", 0, 1), 0);
	assert_ops(f, "u:s,");
	assert_int_equal(nb_queue_count(f->st), 1);
	assert_int_equal(state_of(f, "s"), -1); /* not a creation */
	/* A changed file the server has: the upload is dropped, the unlink
	 * queued. */
	assert_int_equal(nb_queue_touch(f->st, "p", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_remove(f->st, "p", 0, 1), 0);
	assert_ops(f, "u:s,u:p,");
	/* rmdir */
	assert_int_equal(nb_queue_touch(f->st, "d", NB_KIND_DIR), 0);
	assert_int_equal(nb_queue_remove(f->st, "d", 1, 1), 0);
	assert_ops(f, "u:s,u:p,r:d,");
	assert_int_equal(nb_queue_count(f->st), 3);
	struct nb_job job;
	take_op(f, NB_KIND_UNLINK, "s", NULL, &job);
	assert_true(job.seq == ops_l.seq[0]);
	assert_int_equal(nb_queue_done(f->st, &job, NULL), 1);
	nb_job_free(&job);
	run_op(f, NB_KIND_UNLINK, "p", NULL);
	run_op(f, NB_KIND_RMDIR, "d", NULL);
	assert_ops(f, "");
	assert_int_equal(no_job(f), -1);
}

/* An upload in flight may still publish: its removal must reach the
 * server even if the caller thought the server never had it. */
static void test_remove_uploading(void **state)
{
	struct fx *f = *state;
	struct nb_job job, dj;
	struct nb_synced rec = {.kind = NB_KIND_FILE, .size = 1};
	assert_int_equal(nb_queue_touch(f->st, "up", NB_KIND_FILE), 0);
	take(f, "up", &job);
	assert_int_equal(nb_queue_remove(f->st, "up", 0, 0), 0);
	assert_ops(f, "u:up,");
	assert_int_equal(nb_queue_count(f->st), 1);
	assert_true(changed(f, &job, job.gen));
	/* the finished upload is not done (the unlink stays), but the
	 * server's version is on record until the unlink removes it */
	assert_int_equal(nb_queue_done(f->st, &job, &rec), 0);
	nb_job_free(&job);
	assert_int_equal(tag(f, "up"), 1);
	assert_ops(f, "u:up,");
	run_op(f, NB_KIND_UNLINK, "up", NULL);
	assert_int_equal(tag(f, "up"), -1);
	/* a directory being made */
	assert_int_equal(nb_queue_touch(f->st, "dir", NB_KIND_DIR), 0);
	take(f, "dir", &dj);
	assert_int_equal(nb_queue_remove(f->st, "dir", 1, 0), 0);
	assert_ops(f, "r:dir,");
	nb_queue_fail(f->st, &dj, NB_STATE_ERROR, "late", 0); /* no entry: ignored */
	nb_job_free(&dj);
	assert_string_equal(report_body(f), "pending\t0\t0\t0\t0\trmdir\tdir\t\t\n");
	run_op(f, NB_KIND_RMDIR, "dir", NULL);
	assert_int_equal(nb_queue_count(f->st), 0);
}

static void test_rename_pending(void **state)
{
	struct fx *f = *state;
	struct nb_job job;
	assert_int_equal(nb_queue_touch(f->st, "o", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_touch(f->st, "d", NB_KIND_DIR), 0);
	assert_int_equal(nb_queue_touch(f->st, "d/x", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_touch(f->st, "dd/z", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_touch(f->st, "d/y", NB_KIND_SYMLINK), 0);
	assert_ops(f, "f:o,d:d,f:d/x,f:dd/z,l:d/y,");
	int64_t last = ops_l.seq[4], so = ops_l.seq[0];
	/* Never on the server: the creations just move, to the end, in
	 * their order. */
	assert_int_equal(nb_queue_rename(f->st, "d", "e", 0), 0);
	assert_ops(f, "f:o,f:dd/z,d:e,f:e/x,l:e/y,");
	assert_true(ops_l.seq[0] == so);
	assert_true(ops_l.seq[2] > last);
	assert_true(ops_l.seq[2] < ops_l.seq[3] && ops_l.seq[3] < ops_l.seq[4]);
	int64_t sx = ops_l.seq[3];
	assert_int_equal(nb_queue_count(f->st), 5);
	assert_int_equal(state_of(f, "d"), -1);
	assert_int_equal(state_of(f, "d/x"), -1);
	assert_int_equal(state_of(f, "e/x"), NB_STATE_PENDING);
	assert_int_equal(state_of(f, "dd/z"), NB_STATE_PENDING);
	assert_string_equal(resolve(f, "e/x"), "e/x"); /* no server-side move */
	assert_string_equal(renamed_into(f, ""), "");
	take(f, "o", &job);
	nb_job_free(&job);
	take(f, "dd/z", &job);
	nb_job_free(&job);
	take_op(f, NB_KIND_DIR, "e", NULL, &job);
	nb_job_free(&job);
	take_op(f, NB_KIND_FILE, "e/x", NULL, &job);
	assert_true(job.seq == sx);
	nb_job_free(&job);
	take_op(f, NB_KIND_SYMLINK, "e/y", NULL, &job);
	nb_job_free(&job);
}

static void test_rename_on_server(void **state)
{
	struct fx *f = *state;
	struct nb_job job, m;
	assert_int_equal(nb_queue_touch(f->st, "a/new", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_touch(f->st, "a", NB_KIND_DIR), 0);
	assert_int_equal(nb_queue_touch(f->st, "other", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_rename(f->st, "a", "b", 1), 0);
	/* the server-side move first, the moved creations behind it */
	assert_ops(f, "f:other,m:b<a,f:b/new,d:b,");
	assert_int_equal(nb_queue_count(f->st), 4);
	assert_int_equal(state_of(f, "a/new"), -1);
	assert_int_equal(state_of(f, "b/new"), NB_STATE_PENDING);
	take(f, "other", &job);
	nb_job_free(&job);
	take_op(f, NB_KIND_RENAME, "b", "a", &m);
	assert_true(m.seq == ops_l.seq[1]);
	/* the moved creations wait for the move */
	assert_int_equal(no_job(f), 1000);
	assert_int_equal(nb_queue_done(f->st, &m, NULL), 1);
	nb_job_free(&m);
	assert_ops(f, "f:other,f:b/new,d:b,");
	take(f, "b/new", &job);
	nb_job_free(&job);
	take(f, "b", &job);
	nb_job_free(&job);
}

static void test_rename_replaces_destination(void **state)
{
	struct fx *f = *state;
	assert_int_equal(nb_queue_touch(f->st, "t", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_touch(f->st, "t2", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_touch(f->st, "s", NB_KIND_FILE), 0);
	assert_ops(f, "f:t,f:t2,f:s,");
	int64_t ss = ops_l.seq[2];
	assert_int_equal(nb_queue_rename(f->st, "s", "t", 0), 0);
	assert_ops(f, "f:t2,f:t,");
	assert_true(ops_l.seq[1] > ss);
	assert_int_equal(nb_queue_count(f->st), 2);
	/* a directory: what was pending at and below it goes, siblings
	 * sharing the prefix stay */
	assert_int_equal(nb_queue_touch(f->st, "dst", NB_KIND_DIR), 0);
	assert_int_equal(nb_queue_touch(f->st, "dst/old", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_touch(f->st, "dstx", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_touch(f->st, "src", NB_KIND_DIR), 0);
	assert_int_equal(nb_queue_touch(f->st, "src/k", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_rename(f->st, "src", "dst", 1), 0);
	assert_ops(f, "f:t2,f:t,f:dstx,m:dst<src,d:dst,f:dst/k,");
	assert_int_equal(nb_queue_count(f->st), 6);
	assert_int_equal(state_of(f, "dst/old"), -1);
	assert_int_equal(state_of(f, "dst/k"), NB_STATE_PENDING);
	struct nb_core_state v;
	assert_int_equal(get(f, "dst", &v), 0);
	assert_int_equal(v.kind, NB_KIND_DIR); /* the creation, not the move */
}

/* The hasher's work survives a move: same content, new name. */
static void test_rename_keeps_md5(void **state)
{
	struct fx *f = *state;
	struct nb_job h = {0}, job;
	uint8_t md5[NB_MD5_LEN], got[NB_MD5_LEN];
	nb_md5_buf("abc", 3, md5);
	assert_int_equal(nb_queue_touch(f->st, "m", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_next_hash(f->st, &h), 1);
	set_md5(f, &h, h.gen, md5);
	nb_queue_hash_done(f->st, &h);
	free(h.path);
	assert_int_equal(nb_queue_rename(f->st, "m", "n", 0), 0);
	take(f, "n", &job);
	assert_int_equal(get_md5(f, &job, job.gen, got), 1);
	assert_memory_equal(got, md5, NB_MD5_LEN);
	nb_job_free(&job);
}

/* A creation being uploaded may be on the server by the time the rename
 * is seen: the move is queued for the server even with from_on_server 0,
 * and the old job is not done (its result is on record as the server's
 * version at the old name). */
static void test_rename_uploading_source(void **state)
{
	struct fx *f = *state;
	struct nb_job job;
	struct nb_synced rec = {.kind = NB_KIND_FILE};
	assert_int_equal(nb_queue_touch(f->st, "u", NB_KIND_FILE), 0);
	take(f, "u", &job);
	assert_int_equal(nb_queue_rename(f->st, "u", "v", 0), 0);
	assert_ops(f, "m:v<u,f:v,");
	assert_int_equal(state_of(f, "v"), NB_STATE_PENDING);
	assert_true(changed(f, &job, job.gen));
	assert_int_equal(nb_queue_done(f->st, &job, &rec), 0);
	nb_job_free(&job);
	/* the server's version at u is on record, and the move carries it
	 * to v: the base of v's upload */
	assert_int_equal(tag(f, "u"), 0);
	assert_int_equal(tag(f, "v"), -1);
	run_op(f, NB_KIND_RENAME, "v", "u");
	assert_int_equal(tag(f, "u"), -1);
	assert_int_equal(tag(f, "v"), 0);
	take(f, "v", &job);
	assert_int_equal(nb_queue_done(f->st, &job, &rec), 1);
	nb_job_free(&job);
	assert_ops(f, "");
}

/* The sync thread's own conflict copy: its upload ended with the server
 * holding another version, so -1 says no server-side move is wanted
 * (that would carry the server's version away with it). */
static void test_rename_certainly_not_on_server(void **state)
{
	struct fx *f = *state;
	struct nb_job job;
	assert_int_equal(nb_queue_touch(f->st, "c", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_touch(f->st, "d", NB_KIND_FILE), 0);
	take(f, "c", &job);
	assert_int_equal(nb_queue_rename(f->st, "c", "c (conflict)", -1), 0);
	assert_ops(f, "f:d,f:c (conflict),");
	assert_int_equal(state_of(f, "c (conflict)"), NB_STATE_PENDING);
	assert_string_equal(resolve(f, "c"), "c");
	nb_job_free(&job);
	take(f, "d", &job);
	nb_job_free(&job);
	take(f, "c (conflict)", &job);
	nb_job_free(&job);
}

/* Regression (CI, posixcheck rename_dir_contents): the FUSE thread looks
 * whether the source is on the server, then the sync thread publishes it,
 * then the rename is queued with from_on_server 0. The directory stayed on
 * the server under its old name and reappeared in listings; a file would
 * never have reached the server under its new name. */
static void test_regress_done_between_look_and_queue(void **state)
{
	struct fx *f = *state;
	struct nb_job job;
	struct nb_synced rec = {.kind = NB_KIND_DIR};
	assert_int_equal(nb_queue_touch(f->st, "d", NB_KIND_DIR), 0);
	assert_int_equal(nb_queue_touch(f->st, "d/f", NB_KIND_FILE), 0);
	take(f, "d", &job);
	assert_int_equal(nb_queue_done(f->st, &job, &rec), 1);
	nb_job_free(&job);
	assert_int_equal(nb_queue_rename(f->st, "d", "e", 0), 0);
	assert_ops(f, "m:e<d,f:e/f,");
	assert_string_equal(resolve(f, "d"), "-ENOENT");
	/* the same for a removal */
	assert_int_equal(nb_queue_touch(f->st, "g", NB_KIND_FILE), 0);
	run_op(f, NB_KIND_RENAME, "e", "d");
	take(f, "e/f", &job);
	nb_job_free(&job);
	take(f, "g", &job);
	rec.kind = NB_KIND_FILE;
	assert_int_equal(nb_queue_done(f->st, &job, &rec), 1);
	nb_job_free(&job);
	assert_int_equal(nb_queue_remove(f->st, "g", 0, 0), 0);
	assert_ops(f, "f:e/f,u:g,");
}

static void test_resolve(void **state)
{
	struct fx *f = *state;
	char out[8];
	assert_string_equal(resolve(f, "x"), "x");
	assert_string_equal(resolve(f, ""), "");
	assert_string_equal(resolve(f, "d/e/f"), "d/e/f");
	/* a removed name is hidden, and so is what was below it */
	assert_int_equal(nb_queue_remove(f->st, "x", 0, 1), 0);
	assert_string_equal(resolve(f, "x"), "-ENOENT");
	assert_string_equal(resolve(f, "x/y"), "-ENOENT");
	assert_string_equal(resolve(f, "xy"), "xy");
	assert_string_equal(resolve(f, ""), "");
	/* creations do not bring the remote name back */
	assert_int_equal(nb_queue_touch(f->st, "x", NB_KIND_FILE), 0);
	assert_string_equal(resolve(f, "x"), "-ENOENT");
	/* a renamed one is found at its old place on the server */
	assert_int_equal(nb_queue_rename(f->st, "a", "b", 1), 0);
	assert_string_equal(resolve(f, "b"), "a");
	assert_string_equal(resolve(f, "b/c"), "a/c");
	assert_string_equal(resolve(f, "a"), "-ENOENT");
	assert_string_equal(resolve(f, "a/c"), "-ENOENT");
	assert_string_equal(resolve(f, "ab"), "ab");
	assert_string_equal(resolve(f, "bb"), "bb");
	/* too small an output buffer */
	assert_int_equal(nb_queue_resolve(f->st, "b/cdefgh", out, sizeof(out)), -ENAMETOOLONG);
	assert_int_equal(nb_queue_resolve(f->st, "b/cdefg", out, sizeof(out)), 0);
	assert_string_equal(out, "a/cdefg");
	assert_int_equal(nb_queue_rename(f->st, "longer-name", "s", 1), 0);
	assert_int_equal(nb_queue_resolve(f->st, "s", out, sizeof(out)), -ENAMETOOLONG);
	static char big[NB_PATH_MAX + 2];
	memset(big, 'q', NB_PATH_MAX + 1);
	assert_string_equal(resolve(f, big), "-error");
	/* done: the server has it where it is shown */
	run_op(f, NB_KIND_UNLINK, "x", NULL);
	assert_string_equal(resolve(f, "x"), "x");
	run_op(f, NB_KIND_FILE, "x", NULL);
	run_op(f, NB_KIND_RENAME, "b", "a");
	assert_string_equal(resolve(f, "b/c"), "b/c");
	assert_string_equal(resolve(f, "a"), "a");
}

static void test_resolve_chain(void **state)
{
	struct fx *f = *state;
	assert_int_equal(nb_queue_rename(f->st, "a", "b", 1), 0);
	assert_int_equal(nb_queue_rename(f->st, "b", "c", 1), 0);
	assert_ops(f, "m:b<a,m:c<b,");
	assert_string_equal(resolve(f, "c"), "a");
	assert_string_equal(resolve(f, "c/k"), "a/k");
	assert_string_equal(resolve(f, "b"), "-ENOENT");
	assert_string_equal(resolve(f, "a"), "-ENOENT");
	/* into a directory that moves afterwards */
	assert_int_equal(nb_queue_rename(f->st, "m", "n/o", 1), 0);
	assert_int_equal(nb_queue_rename(f->st, "n", "r", 1), 0);
	assert_string_equal(resolve(f, "r/o"), "m");
	assert_string_equal(resolve(f, "r/o/p"), "m/p");
	assert_string_equal(resolve(f, "r"), "n");
	assert_string_equal(resolve(f, "r/q"), "n/q");
	assert_string_equal(resolve(f, "n/o"), "-ENOENT");
	assert_string_equal(resolve(f, "m"), "-ENOENT");
	/* moved, then removed */
	assert_int_equal(nb_queue_remove(f->st, "c", 0, 1), 0);
	assert_string_equal(resolve(f, "c"), "-ENOENT");
	assert_string_equal(resolve(f, "a"), "-ENOENT");
}

static void test_resolve_rename_back(void **state)
{
	struct fx *f = *state;
	assert_int_equal(nb_queue_touch(f->st, "a", NB_KIND_FILE), 0); /* changed too */
	assert_int_equal(nb_queue_rename(f->st, "a", "b", 1), 0);
	assert_int_equal(nb_queue_rename(f->st, "b", "a", 1), 0);
	assert_ops(f, "m:b<a,m:a<b,f:a,");
	assert_string_equal(resolve(f, "a"), "a");
	assert_string_equal(resolve(f, "a/x"), "a/x");
	assert_string_equal(resolve(f, "b"), "-ENOENT");
	/* the server sees both moves, in order, then the upload */
	struct nb_job m1, m2;
	take_op(f, NB_KIND_RENAME, "b", "a", &m1);
	assert_int_equal(no_job(f), 1000); /* the second move waits for the first */
	assert_int_equal(nb_queue_done(f->st, &m1, NULL), 1);
	take_op(f, NB_KIND_RENAME, "a", "b", &m2);
	assert_int_equal(no_job(f), 1000);
	assert_int_equal(nb_queue_done(f->st, &m2, NULL), 1);
	nb_job_free(&m1);
	nb_job_free(&m2);
	run_op(f, NB_KIND_FILE, "a", NULL);
	assert_int_equal(nb_queue_count(f->st), 0);
}

static void test_renamed_into(void **state)
{
	struct fx *f = *state;
	struct nb_core_state v;
	assert_string_equal(renamed_into(f, "d"), "");
	assert_int_equal(nb_queue_rename(f->st, "a", "d/b", 1), 0);
	assert_int_equal(nb_queue_rename(f->st, "c", "d/e/f", 1), 0);
	assert_int_equal(nb_queue_rename(f->st, "g", "h", 1), 0);
	assert_int_equal(nb_queue_rename(f->st, "i", "dd/j", 1), 0);
	assert_int_equal(nb_queue_rename(f->st, "k", "d/l", 1), 0);
	/* a creation moved without a server-side move is not listed */
	assert_int_equal(nb_queue_touch(f->st, "p", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_rename(f->st, "p", "d/q", 0), 0);
	assert_string_equal(renamed_into(f, "d"), "b,l,");
	assert_string_equal(renamed_into(f, "d/e"), "f,");
	assert_string_equal(renamed_into(f, ""), "h,");
	assert_string_equal(renamed_into(f, "dd"), "j,");
	assert_string_equal(renamed_into(f, "x"), "");
	assert_string_equal(renamed_into(f, "d/b"), "");
	/* a rename destination has a status of its own */
	assert_int_equal(get(f, "d/b", &v), 0);
	assert_int_equal(v.state, NB_STATE_PENDING);
	assert_int_equal(v.kind, NB_KIND_RENAME);
	assert_int_equal(get(f, "a", &v), -ENOENT);
	/* and a directory counts what moves into and out of it */
	nb_queue_dir(f->st, "d", &v);
	assert_int_equal(v.count, 4); /* d/b, d/e/f, d/l, d/q */
	nb_queue_dir(f->st, "a", &v);
	assert_int_equal(v.count, 1);
	assert_int_equal(v.state, NB_STATE_PENDING);
	/* gone once done */
	run_op(f, NB_KIND_RENAME, "d/b", "a");
	assert_string_equal(renamed_into(f, "d"), "l,");
}

/* A barrier waits for every earlier entry on an overlapping path; other
 * work goes ahead of it. */
static void test_schedule_barrier_waits(void **state)
{
	struct fx *f = *state;
	struct nb_job p, z, u;
	assert_int_equal(nb_queue_touch(f->st, "p", NB_KIND_DIR), 0);
	take(f, "p", &p); /* unfinished */
	assert_int_equal(nb_queue_remove(f->st, "p/y", 0, 1), 0);
	assert_int_equal(nb_queue_touch(f->st, "z", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_remove(f->st, "py", 0, 1), 0); /* not below p */
	take(f, "z", &z);
	take_op(f, NB_KIND_UNLINK, "py", NULL, &u);
	nb_job_free(&u);
	assert_int_equal(no_job(f), 1000);
	/* still waiting while p is retried after a failure */
	nb_queue_fail(f->st, &p, NB_STATE_ERROR, "denied", 0);
	nb_job_free(&p);
	take(f, "p", &p);
	assert_int_equal(no_job(f), 1000);
	struct nb_synced rec = {.kind = NB_KIND_DIR};
	assert_int_equal(nb_queue_done(f->st, &p, &rec), 1);
	nb_job_free(&p);
	take_op(f, NB_KIND_UNLINK, "p/y", NULL, &u);
	nb_job_free(&u);
	nb_job_free(&z);

	/* Barriers among themselves: a rename, then a removal of its
	 * destination and a move onto its source, then unrelated work. */
	struct nb_job m, rb, ma, q;
	assert_int_equal(nb_queue_rename(f->st, "a", "b", 1), 0);
	take_op(f, NB_KIND_RENAME, "b", "a", &m);
	assert_int_equal(nb_queue_remove(f->st, "b", 0, 1), 0);
	assert_int_equal(nb_queue_rename(f->st, "c", "a", 1), 0);
	assert_int_equal(nb_queue_remove(f->st, "q", 0, 1), 0);
	take_op(f, NB_KIND_UNLINK, "q", NULL, &q);
	assert_int_equal(no_job(f), 1000);
	assert_int_equal(nb_queue_done(f->st, &m, NULL), 1);
	take_op(f, NB_KIND_UNLINK, "b", NULL, &rb);
	/* m(a<c) overlaps neither "b" nor "q": it need not wait for them */
	take_op(f, NB_KIND_RENAME, "a", "c", &ma);
	nb_job_free(&m);
	nb_job_free(&rb);
	nb_job_free(&ma);
	nb_job_free(&q);
}

/* A creation waits for earlier barriers on overlapping paths. */
static void test_schedule_creation_waits(void **state)
{
	struct fx *f = *state;
	struct nb_job u, job;
	assert_int_equal(nb_queue_remove(f->st, "q", 0, 1), 0);
	take_op(f, NB_KIND_UNLINK, "q", NULL, &u);
	assert_int_equal(nb_queue_touch(f->st, "q", NB_KIND_FILE), 0); /* a new q */
	assert_int_equal(nb_queue_touch(f->st, "q2/x", NB_KIND_FILE), 0);
	take(f, "q2/x", &job);
	nb_job_free(&job);
	assert_int_equal(no_job(f), 1000);
	assert_int_equal(nb_queue_done(f->st, &u, NULL), 1);
	nb_job_free(&u);
	take(f, "q", &job);
	nb_job_free(&job);

	/* below a move's destination, and at its source */
	struct nb_job m;
	assert_int_equal(nb_queue_rename(f->st, "a", "b", 1), 0);
	take_op(f, NB_KIND_RENAME, "b", "a", &m);
	assert_int_equal(nb_queue_touch(f->st, "b/n", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_touch(f->st, "a", NB_KIND_DIR), 0);
	assert_int_equal(nb_queue_touch(f->st, "c", NB_KIND_SYMLINK), 0);
	take(f, "c", &job);
	nb_job_free(&job);
	assert_int_equal(no_job(f), 1000);
	/* a move that fails stays in the way until it is done */
	nb_queue_fail(f->st, &m, NB_STATE_PENDING, NULL, 0);
	nb_job_free(&m);
	take_op(f, NB_KIND_RENAME, "b", "a", &m);
	assert_int_equal(no_job(f), 1000);
	assert_int_equal(nb_queue_done(f->st, &m, NULL), 1);
	nb_job_free(&m);
	take(f, "b/n", &job);
	nb_job_free(&job);
	take(f, "a", &job);
	nb_job_free(&job);
}

/* done() of a barrier applies it to what we know the server holds. */
/* Refused as busy (another session holds the content's partial): the
 * entry stays pending, says what it waits for and since when, and is
 * not offered again at once; the waits grow to a minute. */
static void test_busy_waits(void **state)
{
	struct fx *f = *state;
	struct nb_job job;
	long wait_ms;
	assert_int_equal(nb_queue_touch(f->st, "big", NB_KIND_FILE), 0);
	take(f, "big", &job);
	nb_queue_busy(f->st, &job, "server: big (by another mount, since X): busy");
	nb_job_free(&job);
	assert_int_equal(state_of(f, "big"), NB_STATE_PENDING);
	const char *body = report_body(f);
	if (!strstr(body, "pending\t0\t0\t0\t0\tupload\tbig\t\twaiting since ") ||
	    !strstr(body, "another upload of the same content to finish (server: big (by another "
			  "mount, since X): busy); next try in 2 s\n"))
		fail_msg("report: %s", body);
	assert_int_equal(nb_queue_next_job(f->st, &job, &wait_ms), 0);
	assert_true(wait_ms > 1000 && wait_ms <= 2000);
	assert_int_equal(nb_retry_busy_delay_ms(0), 2000);
	assert_int_equal(nb_retry_busy_delay_ms(1), 4000);
	assert_int_equal(nb_retry_busy_delay_ms(4), 32000);
	assert_int_equal(nb_retry_busy_delay_ms(5), 60000);
	assert_int_equal(nb_retry_busy_delay_ms(1000), 60000);
}

static void test_done_barrier_applies(void **state)
{
	struct fx *f = *state;
	put(f, "a", NB_KIND_DIR, 1);
	put(f, "a/x", NB_KIND_DIR, 2);
	put(f, "a/x/y", NB_KIND_FILE, 3);
	put(f, "ab", NB_KIND_FILE, 4);
	put(f, "c", NB_KIND_DIR, 5);
	put(f, "c/old", NB_KIND_FILE, 6);
	assert_int_equal(nb_queue_rename(f->st, "a", "c", 1), 0);
	/* not before it is done */
	assert_int_equal(tag(f, "a"), 1);
	assert_int_equal(tag(f, "c"), 5);
	run_op(f, NB_KIND_RENAME, "c", "a");
	assert_int_equal(tag(f, "a"), -1);
	assert_int_equal(tag(f, "a/x"), -1);
	assert_int_equal(tag(f, "c"), 1);
	assert_int_equal(tag(f, "c/x"), 2);
	assert_int_equal(tag(f, "c/x/y"), 3);
	assert_int_equal(tag(f, "c/old"), -1);
	assert_int_equal(tag(f, "ab"), 4);
	assert_int_equal(nb_queue_remove(f->st, "c/x/y", 0, 1), 0);
	run_op(f, NB_KIND_UNLINK, "c/x/y", NULL);
	assert_int_equal(tag(f, "c/x/y"), -1);
	assert_int_equal(tag(f, "c/x"), 2);
	assert_int_equal(nb_queue_remove(f->st, "c/x", 1, 1), 0);
	run_op(f, NB_KIND_RMDIR, "c/x", NULL);
	assert_int_equal(tag(f, "c/x"), -1);
	assert_int_equal(tag(f, "c"), 1);
	assert_int_equal(tag(f, "ab"), 4);
	assert_ops(f, "");
	/* a failed barrier changes nothing */
	struct nb_job job;
	assert_int_equal(nb_queue_remove(f->st, "ab", 0, 1), 0);
	take(f, "ab", &job);
	nb_queue_fail(f->st, &job, NB_STATE_ERROR, "denied", BIG_DELAY);
	nb_job_free(&job);
	assert_int_equal(tag(f, "ab"), 4);
	assert_ops(f, "u:ab,");
	assert_int_equal(state_of(f, "ab"), -1);
	assert_string_equal(report_body(f), "error\t0\t0\t0\t0\tdelete\tab\t\tdenied\n");
}

static void test_set_base(void **state)
{
	struct fx *f = *state;
	struct nb_synced s;
	nb_queue_set_base(f->st, "p", 100, 5, 6);
	assert_int_equal(nb_statedb_get_synced(f->db, "p", &s), 0);
	assert_int_equal(s.kind, NB_KIND_FILE);
	assert_int_equal(s.has_remote, 1);
	assert_true(s.rsize == 100);
	assert_true(s.rmtime_s == 5);
	assert_true(s.rmtime_ns == 6);
	assert_int_equal(s.has_md5, 0);
	assert_true(s.mtime_ns == -1); /* matches no staged file */
	/* a record there already is kept */
	nb_queue_set_base(f->st, "p", 200, 7, 8);
	assert_int_equal(nb_statedb_get_synced(f->db, "p", &s), 0);
	assert_true(s.rsize == 100);
	put(f, "q", NB_KIND_FILE, 9);
	nb_queue_set_base(f->st, "q", 300, 1, 2);
	assert_int_equal(tag(f, "q"), 9);
	assert_int_equal(nb_statedb_get_synced(f->db, "q", &s), 0);
	assert_int_equal(s.has_remote, 0);
	/* nothing is queued by it */
	assert_ops(f, "");
	assert_int_equal(nb_queue_count(f->st), 0);
}

static void test_report_barriers(void **state)
{
	struct fx *f = *state;
	assert_int_equal(nb_queue_remove(f->st, "x", 0, 1), 0);
	assert_int_equal(nb_queue_remove(f->st, "dir", 1, 1), 0);
	assert_int_equal(nb_queue_rename(f->st, "a", "b\tc", 1), 0);
	assert_int_equal(nb_queue_rename(f->st, "s\n", "t", 1), 0);
	assert_int_equal(nb_queue_touch(f->st, "n", NB_KIND_FILE), 0);
	assert_string_equal(report_body(f), "pending\t0\t0\t0\t0\tdelete\tx\t\t\n"
					    "pending\t0\t0\t0\t0\trmdir\tdir\t\t\n"
					    "pending\t0\t0\t0\t0\tmove\tb\\tc\ta\t\n"
					    "pending\t0\t0\t0\t0\tmove\tt\ts\\n\t\n"
					    "pending\t0\t0\t0\t0\tupload\tn\t\t\n");
	struct nb_job job;
	take(f, "x", &job);
	assert_string_equal(report_body(f), "uploading\t0\t0\t0\t0\tdelete\tx\t\t\n"
					    "pending\t0\t0\t0\t0\trmdir\tdir\t\t\n"
					    "pending\t0\t0\t0\t0\tmove\tb\\tc\ta\t\n"
					    "pending\t0\t0\t0\t0\tmove\tt\ts\\n\t\n"
					    "pending\t0\t0\t0\t0\tupload\tn\t\t\n");
	nb_job_free(&job);
}

/* The whole queue, barriers and all, comes back from the database in the
 * same order with the same seqs. */
static void test_load_queue(void **state)
{
	struct fx *f = *state; /* BIG_DELAY */
	char before[8192], ops_before[4096];
	int64_t seqs[64];
	assert_int_equal(nb_queue_touch(f->st, "f1", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_remove(f->st, "gone", 0, 1), 0);
	assert_int_equal(nb_queue_touch(f->st, "a/n", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_rename(f->st, "a", "b", 1), 0);
	assert_int_equal(nb_queue_remove(f->st, "rd", 1, 1), 0);
	assert_int_equal(nb_queue_touch(f->st, "l", NB_KIND_SYMLINK), 0);
	assert_int_equal(nb_queue_touch(f->st, "d", NB_KIND_DIR), 0);
	snprintf(before, sizeof(before), "%s", report_body(f));
	snprintf(ops_before, sizeof(ops_before), "%s", ops(f));
	assert_string_equal(ops_before, "f:f1,u:gone,m:b<a,f:b/n,r:rd,l:l,d:d,");
	memcpy(seqs, ops_l.seq, sizeof(seqs));
	/* restart: a fresh table over the reopened database */
	nb_queue_free(f->st);
	nb_statedb_close(f->db);
	f->st = NULL;
	assert_int_equal(nb_statedb_open(f->dbpath, &f->db), 0);
	assert_int_equal(nb_queue_new(f->db, BIG_DELAY, &f->st), 0);
	assert_int_equal(nb_queue_load(f->st), 0);
	assert_int_equal(nb_queue_count(f->st), 7);
	assert_string_equal(report_body(f), before);
	assert_string_equal(resolve(f, "b/n"), "a/n");
	assert_string_equal(resolve(f, "gone"), "-ENOENT");
	assert_string_equal(renamed_into(f, ""), "b,");
	assert_ops(f, ops_before);
	/* same jobs, same seqs, same order and dependencies */
	struct nb_job job, m;
	take_op(f, NB_KIND_FILE, "f1", NULL, &job);
	assert_true(job.seq == seqs[0]);
	nb_job_free(&job);
	take_op(f, NB_KIND_UNLINK, "gone", NULL, &job);
	assert_true(job.seq == seqs[1]);
	nb_job_free(&job);
	take_op(f, NB_KIND_RENAME, "b", "a", &m);
	assert_true(m.seq == seqs[2]);
	take_op(f, NB_KIND_RMDIR, "rd", NULL, &job); /* b/n waits for the move */
	assert_true(job.seq == seqs[4]);
	nb_job_free(&job);
	take_op(f, NB_KIND_SYMLINK, "l", NULL, &job);
	nb_job_free(&job);
	take_op(f, NB_KIND_DIR, "d", NULL, &job);
	nb_job_free(&job);
	assert_int_equal(nb_queue_done(f->st, &m, NULL), 1);
	nb_job_free(&m);
	take_op(f, NB_KIND_FILE, "b/n", NULL, &job);
	assert_true(job.seq == seqs[3]);
	nb_job_free(&job);
}

/* --- bugs found while writing these tests --- */

/*
 * Bug (sync/status.c:263-277, nb_status_load_one): nb_status_load is not
 * idempotent any more (the old test_load checked that "loading twice adds
 * nothing"). A second load meets every creation again, takes it for a
 * duplicate row and deletes *its own* op from the database (the in-memory
 * entry keeps the seq), so a crash then loses the queued upload; and
 * every barrier is inserted a second time, so a rename runs twice (the
 * second time -ENOENT counts as done and move_synced deletes the records
 * the first one moved to the destination).
 * Fix: skip rows already in memory: for a creation, return 0 when the
 * entry found has the same seq (only delete a row with another seq); for
 * a barrier, look for an entry with that seq first. (Or have
 * nb_status_load return at once when the queue is not empty.)
 */
static void test_regress_load_twice(void **state)
{
	struct fx *f = *state;
	assert_int_equal(nb_queue_touch(f->st, "l1", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_rename(f->st, "a", "b", 1), 0);
	nb_queue_free(f->st);
	assert_int_equal(nb_queue_new(f->db, BIG_DELAY, &f->st), 0);
	assert_int_equal(nb_queue_load(f->st), 0);
	assert_int_equal(nb_queue_count(f->st), 2);
	assert_ops(f, "f:l1,m:b<a,");
	assert_int_equal(nb_queue_load(f->st), 0);
	assert_ops(f, "f:l1,m:b<a,");
	assert_int_equal(nb_queue_count(f->st), 2);
}

/*
 * Bug (sync/status.c:817-844, nb_status_rename): a file renamed while the
 * hasher is on it keeps hashing = 1 for good. The hasher's
 * nb_status_hash_done(old path) finds no entry (it moved), so the flag is
 * never cleared and nb_status_next_hash never offers the file again: its
 * MD5 is then computed by the sync thread at upload time, after the quiet
 * time, instead of during it (a long stall for a big file).
 * Fix: clear e->hashing (together with bumping e->gen) when moving an
 * entry in nb_status_rename; the hasher's late set_md5 for the old gen is
 * ignored anyway.
 */
static void test_regress_rename_while_hashing(void **state)
{
	struct fx *f = *state; /* BIG_DELAY */
	struct nb_job h = {0}, h2 = {0};
	assert_int_equal(nb_queue_touch(f->st, "h", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_next_hash(f->st, &h), 1);
	assert_string_equal(h.path, "h");
	assert_int_equal(nb_queue_rename(f->st, "h", "g", 0), 0);
	/* what the hasher does when its job turns out changed */
	assert_true(changed(f, &h, h.gen));
	nb_queue_hash_done(f->st, &h);
	free(h.path);
	int got = nb_queue_next_hash(f->st, &h2);
	if (got)
		assert_string_equal(h2.path, "g");
	free(h2.path);
	assert_int_equal(got, 1);
}

/*
 * Bug (sync/status.c:663-681, nb_status_next_hash): the job it fills is
 * documented as "free with nb_job_free", but only path, kind and gen are
 * set: path2 and seq keep whatever the caller's stack held, so
 * nb_job_free(&job) on it frees a garbage pointer. (sync/hasher.c gets
 * away with it by calling free(job.path) instead.)
 * Fix: memset(job, 0, sizeof(*job)) at the top of nb_status_next_hash,
 * as nb_status_next_job does, and fill job->seq.
 */
static void test_regress_next_hash_job_fields(void **state)
{
	struct fx *f = *state; /* BIG_DELAY */
	struct nb_job h;
	char sentinel;
	memset(&h, 0, sizeof(h));
	h.path2 = &sentinel; /* what an uninitialized stack slot may hold */
	h.seq = -12345;
	assert_int_equal(nb_queue_touch(f->st, "h", NB_KIND_FILE), 0);
	assert_ops(f, "f:h,");
	assert_int_equal(nb_queue_next_hash(f->st, &h), 1);
	free(h.path);
	h.path = NULL;
	assert_null(h.path2);
	assert_true(h.seq == ops_l.seq[0]);
}

#define T0(name) cmocka_unit_test_setup_teardown(name, setup0, teardown)
#define TB(name) cmocka_unit_test_setup_teardown(name, setup_big, teardown)

/* The directory time the queue hands out next, or "-" for none. */
static const char *dirtime(struct fx *f)
{
	static char path[NB_PATH_MAX + 1];
	if (!nb_queue_dirtime_take(f->st, path, sizeof(path)))
		return "-";
	return path;
}

static int dir_state(struct fx *f, const char *dir)
{
	struct nb_core_state v;
	nb_queue_dir(f->st, dir, &v);
	return v.state;
}

/* Directory times: a finished job marks the directory it changed; a
 * directory's time goes once nothing is queued at or below it, deepest
 * first, and until it is answered the directory is not synced. */
static void test_dirtimes(void **state)
{
	struct fx *f = *state;
	assert_int_equal(nb_queue_touch(f->st, "a", NB_KIND_DIR), 0);
	assert_int_equal(nb_queue_touch(f->st, "a/f", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_touch(f->st, "a/b/g", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_touch(f->st, "top", NB_KIND_FILE), 0);
	assert_string_equal(dirtime(f), "-"); /* nothing done yet */
	run_op(f, NB_KIND_DIR, "a", NULL);
	/* "a" and the root are marked, but entries below both are left */
	assert_string_equal(dirtime(f), "-");
	run_op(f, NB_KIND_FILE, "a/f", NULL);
	assert_string_equal(dirtime(f), "-");
	assert_int_equal(dir_state(f, "a"), NB_STATE_PENDING);
	run_op(f, NB_KIND_FILE, "a/b/g", NULL);
	/* nothing left below "a": its time and a/b's go, deepest first;
	 * the root waits for "top" */
	assert_string_equal(dirtime(f), "a/b");
	assert_string_equal(dirtime(f), "a");
	assert_string_equal(dirtime(f), "-");
	/* on the wire: still not synced; answered: synced */
	assert_int_equal(dir_state(f, "a/b"), NB_STATE_PENDING);
	nb_queue_dirtime_settled(f->st, "a/b", 0);
	assert_int_equal(dir_state(f, "a/b"), NB_STATE_SYNCED);
	/* lost with the link: it goes again */
	nb_queue_dirtime_settled(f->st, "a", 1);
	assert_string_equal(dirtime(f), "a");
	/* the root's time goes once "top" is done */
	assert_int_equal(dir_state(f, ""), NB_STATE_PENDING);
	run_op(f, NB_KIND_FILE, "top", NULL);
	assert_string_equal(dirtime(f), "");
	assert_string_equal(dirtime(f), "-");
	nb_queue_dirtime_settled(f->st, "", 0);
	/* "a" marked again while on the wire: once more after the answer */
	assert_int_equal(nb_queue_touch(f->st, "a/h", NB_KIND_FILE), 0);
	run_op(f, NB_KIND_FILE, "a/h", NULL);
	assert_string_equal(dirtime(f), "-");
	nb_queue_dirtime_settled(f->st, "a", 0);
	assert_string_equal(dirtime(f), "a");
	assert_string_equal(dirtime(f), "-");
	nb_queue_dirtime_settled(f->st, "a", 0);
	assert_int_equal(dir_state(f, "a"), NB_STATE_SYNCED);
	assert_int_equal(dir_state(f, ""), NB_STATE_SYNCED);

	/* a rename marks both directories and what it moved */
	assert_int_equal(nb_queue_touch(f->st, "x/y", NB_KIND_DIR), 0);
	run_op(f, NB_KIND_DIR, "x/y", NULL);
	assert_string_equal(dirtime(f), "x/y");
	assert_string_equal(dirtime(f), "x");
	nb_queue_dirtime_settled(f->st, "x/y", 0);
	nb_queue_dirtime_settled(f->st, "x", 0);
	assert_int_equal(nb_queue_rename(f->st, "x/y", "z/y", 1), 0);
	run_op(f, NB_KIND_RENAME, "z/y", "x/y");
	const char *want[] = {"x", "z", "z/y"};
	int seen[3] = {0};
	const char *p;
	while (strcmp(p = dirtime(f), "-") != 0) {
		int k = -1;
		for (int i = 0; i < 3; i++)
			if (strcmp(p, want[i]) == 0)
				k = i;
		if (k < 0)
			fail_msg("unexpected directory time for %s", p);
		assert_false(seen[k]);
		seen[k] = 1;
		nb_queue_dirtime_settled(f->st, p, 0);
	}
	assert_true(seen[0] && seen[1] && seen[2]);

	/* a pending entry dropped without reaching the server frees its
	 * directory too */
	assert_int_equal(nb_queue_touch(f->st, "d/one", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_touch(f->st, "d/two", NB_KIND_FILE), 0);
	run_op(f, NB_KIND_FILE, "d/one", NULL);
	assert_string_equal(dirtime(f), "-");
	assert_int_equal(nb_queue_remove(f->st, "d/two", 0, 0), 0);
	assert_string_equal(dirtime(f), "d");
	/* a server that takes no times: the rest is forgotten */
	assert_int_equal(nb_queue_touch(f->st, "e/one", NB_KIND_FILE), 0);
	run_op(f, NB_KIND_FILE, "e/one", NULL);
	assert_int_equal(nb_queue_dirtimes_clear(f->st), 1); /* "e"; "d" is on the wire */
	nb_queue_dirtime_settled(f->st, "d", 0);
	assert_string_equal(dirtime(f), "-");
	assert_int_equal(dir_state(f, ""), NB_STATE_SYNCED);
}

/* Symlink times: a symlink made marks itself as well as its directory;
 * a time changed later (touch -h) marks the link alone, queues nothing
 * (no SYMLINK again), and waits for a creation still queued at it. */
static void test_link_times(void **state)
{
	struct fx *f = *state;
	assert_int_equal(nb_queue_touch(f->st, "l", NB_KIND_SYMLINK), 0);
	nb_queue_link_time(f->st, "l"); /* cp -a: lutimes right after */
	assert_string_equal(dirtime(f), "-"); /* the link is not there yet */
	run_op(f, NB_KIND_SYMLINK, "l", NULL);
	const char *a = dirtime(f), *want_a = strcmp(a, "l") == 0 ? "" : "l";
	assert_true(strcmp(a, "l") == 0 || strcmp(a, "") == 0);
	nb_queue_dirtime_settled(f->st, a, 0);
	assert_string_equal(dirtime(f), want_a);
	nb_queue_dirtime_settled(f->st, want_a, 0);
	assert_string_equal(dirtime(f), "-");
	/* touch -h on the synced link: its time alone, and no entry */
	nb_queue_link_time(f->st, "l");
	assert_int_equal(nb_queue_count(f->st), 0);
	assert_string_equal(dirtime(f), "l");
	assert_int_equal(dir_state(f, "l"), NB_STATE_PENDING);
	nb_queue_dirtime_settled(f->st, "l", 0);
	assert_string_equal(dirtime(f), "-");
	assert_int_equal(dir_state(f, ""), NB_STATE_SYNCED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		T0(test_cycle),
		T0(test_dirtimes),
		T0(test_link_times),
		T0(test_fifo_order),
		TB(test_delay),
		T0(test_writers_block),
		TB(test_stream_at_close),
		TB(test_writer_close_restarts_delay),
		TB(test_new_file_goes_at_once),
		T0(test_touch_meta),
		T0(test_changed),
		T0(test_fail_and_retry),
		T0(test_md5_and_drop),
		TB(test_hash_queue),
		TB(test_hash_skip),
		TB(test_hash_small_at_close),
		T0(test_dir_aggregation),
		T0(test_report),
		T0(test_report_ages),
		T0(test_report_truncated),
		T0(test_regress_report_newline_in_path),
		T0(test_rate),
		TB(test_load),
		T0(test_many_entries),
		T0(test_wait_and_wake),
		T0(test_touch_coalesces),
		T0(test_remove),
		T0(test_remove_uploading),
		T0(test_rename_pending),
		T0(test_rename_on_server),
		T0(test_rename_replaces_destination),
		T0(test_rename_keeps_md5),
		T0(test_rename_uploading_source),
		T0(test_rename_certainly_not_on_server),
		T0(test_regress_done_between_look_and_queue),
		T0(test_fail_after_change),
		T0(test_drop_job),
		T0(test_hashing_waits),
		T0(test_doubt),
		T0(test_doubt_durable),
		T0(test_doubt_durable_carried),
		T0(test_new_file_on_record_with_doubt),
		T0(test_new_file_on_record_at_flush),
		T0(test_new_file_moved_before_record),
		T0(test_scan_queues_unknown),
		T0(test_scan_new_file_renamed_before_record),
		T0(test_replaced_while_uploading),
		T0(test_rename_over_doubt_keeps_both),
		T0(test_rename_source_never_there),
		T0(test_remove_renamed_here),
		T0(test_remove_after_renames_into),
		T0(test_dir_holding_renamed_name),
		T0(test_lost_creation_maybe_made),
		T0(test_resolve),
		T0(test_resolve_chain),
		T0(test_resolve_rename_back),
		T0(test_renamed_into),
		T0(test_schedule_barrier_waits),
		T0(test_schedule_creation_waits),
		T0(test_done_barrier_applies),
		T0(test_busy_waits),
		T0(test_set_base),
		T0(test_report_barriers),
		TB(test_load_queue),
		TB(test_regress_load_twice),
		TB(test_regress_rename_while_hashing),
		TB(test_regress_next_hash_job_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
