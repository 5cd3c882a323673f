/* Unit tests for sync/follow.c: hash-on-write. A file written in order
 * has its MD5 in the queue once its writer closes; any other pattern, or
 * a change through another route, leaves no MD5 (and the entry free for
 * the usual hashing); stopping the follower with a writer open is safe. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sync/follow.h"
#include "sync/queue.h"
#include "sync/statedb.h"
#include "wire/md5.h"
#include "wire/xio.h"
#include "testutil.h"

struct fx {
	char *dir, *dbpath;
	int stage;
	struct nb_statedb *db;
	struct nb_queue *q;
	struct nb_follower *fw;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->dir = tu_mkdtemp("follow");
	assert_non_null(f->dir);
	f->dbpath = tu_join(f->dir, "state.db");
	f->stage = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->stage >= 0);
	assert_int_equal(nb_statedb_open(f->dbpath, &f->db), 0);
	assert_int_equal(nb_queue_new(f->db, 0, &f->q), 0);
	assert_int_equal(nb_follower_start(f->q, &f->fw), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	nb_follower_stop(f->fw);
	nb_queue_free(f->q);
	nb_statedb_close(f->db);
	close(f->stage);
	tu_rmtree(f->dir);
	free(f->dir);
	free(f->dbpath);
	free(f);
	return 0;
}

/* A writer as fs/ops.c makes one: queued, the staged file created. */
struct writer {
	uint64_t id;
	int fd;
	struct nb_follow *fl;
};

static struct writer wopen(struct fx *f, const char *path)
{
	struct writer w;
	assert_int_equal(nb_queue_writer_open(f->q, path, 1, &w.id), 0);
	w.fd = openat(f->stage, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(w.fd >= 0);
	w.fl = nb_follow_begin(f->fw, w.id, w.fd);
	return w;
}

static void wwrite(struct writer *w, const void *p, size_t n, uint64_t off)
{
	assert_int_equal(pwrite(w->fd, p, n, (off_t)off), (ssize_t)n);
	nb_follow_wrote(w->fl, off, n);
}

static void wclose(struct fx *f, struct writer *w)
{
	close(w->fd);
	nb_follow_end(w->fl);
	nb_queue_writer_close(f->q, w->id, -1);
}

/* The job the sync thread would take for path; waits (bounded) until the
 * follower has let go of it. */
static int md5_of_next_job(struct fx *f, uint8_t md5[NB_MD5_LEN], int *has)
{
	struct nb_job job;
	long wait_ms;
	for (int i = 0; i < 500; i++) {
		if (nb_queue_next_job(f->q, &job, &wait_ms)) {
			*has = nb_queue_get_md5(f->q, &job, md5);
			nb_job_free(&job);
			return 0;
		}
		usleep(10000);
	}
	return -1;
}

static uint8_t *pattern(size_t n)
{
	uint8_t *p = malloc(n);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 131 + (i >> 11));
	return p;
}

static void test_in_order_has_md5(void **state)
{
	struct fx *f = *state;
	size_t n = 5 * 1024 * 1024 + 12345;
	uint8_t *data = pattern(n), want[NB_MD5_LEN], got[NB_MD5_LEN];
	nb_md5_buf(data, n, want);
	struct writer w = wopen(f, "big");
	assert_non_null(w.fl);
	for (size_t off = 0; off < n; off += 128 * 1024)
		wwrite(&w, data + off, n - off < 128 * 1024 ? n - off : 128 * 1024, off);
	wclose(f, &w);
	int has = 0;
	assert_int_equal(md5_of_next_job(f, got, &has), 0);
	assert_true(has);
	assert_memory_equal(got, want, NB_MD5_LEN);
	free(data);
}

static void test_empty_file(void **state)
{
	struct fx *f = *state;
	uint8_t want[NB_MD5_LEN], got[NB_MD5_LEN];
	nb_md5_buf("", 0, want);
	struct writer w = wopen(f, "empty");
	wclose(f, &w);
	int has = 0;
	assert_int_equal(md5_of_next_job(f, got, &has), 0);
	assert_true(has);
	assert_memory_equal(got, want, NB_MD5_LEN);
}

/* A write behind the end: the prefix already hashed may have changed. */
static void test_out_of_order_has_none(void **state)
{
	struct fx *f = *state;
	size_t n = 256 * 1024;
	uint8_t *data = pattern(n), got[NB_MD5_LEN];
	struct writer w = wopen(f, "holey");
	wwrite(&w, data, n, 0);
	wwrite(&w, data, 4096, 1000); /* overwrite inside */
	wclose(f, &w);
	int has = 1;
	assert_int_equal(md5_of_next_job(f, got, &has), 0);
	assert_false(has);
	free(data);
}

static void test_break_has_none(void **state)
{
	struct fx *f = *state;
	size_t n = 64 * 1024;
	uint8_t *data = pattern(n), got[NB_MD5_LEN];
	struct writer w = wopen(f, "cut");
	wwrite(&w, data, n, 0);
	assert_int_equal(ftruncate(w.fd, 1000), 0);
	nb_follow_break(w.fl);
	wclose(f, &w);
	int has = 1;
	assert_int_equal(md5_of_next_job(f, got, &has), 0);
	assert_false(has);
	free(data);
}

/* Another writer opened the same file meanwhile (its writes do not go
 * through this follow): the content generation moved, no MD5 is kept. */
static void test_second_writer_has_none(void **state)
{
	struct fx *f = *state;
	size_t n = 64 * 1024;
	uint8_t *data = pattern(n), got[NB_MD5_LEN];
	struct writer w = wopen(f, "two");
	wwrite(&w, data, n, 0);
	uint64_t id2;
	assert_int_equal(nb_queue_writer_open(f->q, "two", 0, &id2), 0);
	int fd2 = openat(f->stage, "two", O_WRONLY | O_CLOEXEC);
	assert_int_equal(pwrite(fd2, "x", 1, 10), 1);
	close(fd2);
	nb_queue_writer_close(f->q, id2, -1);
	wclose(f, &w);
	int has = 1;
	assert_int_equal(md5_of_next_job(f, got, &has), 0);
	assert_false(has);
	free(data);
}

/* The follower stops while a writer is still open (unmount): the entry
 * is let go, and the writer's later calls are harmless. */
static void test_stop_with_writer_open(void **state)
{
	struct fx *f = *state;
	uint8_t data[4096] = {1, 2, 3};
	struct writer w = wopen(f, "late");
	assert_non_null(w.fl);
	wwrite(&w, data, sizeof(data), 0);
	nb_follower_stop(f->fw);
	assert_int_equal(nb_follower_start(f->q, &f->fw), 0); /* for teardown */
	wwrite(&w, data, sizeof(data), sizeof(data));
	wclose(f, &w);
	uint8_t got[NB_MD5_LEN];
	int has = 1;
	assert_int_equal(md5_of_next_job(f, got, &has), 0);
	assert_false(has);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_in_order_has_md5, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_order_has_none, setup, teardown),
		cmocka_unit_test_setup_teardown(test_break_has_none, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_writer_has_none, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_with_writer_open, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
