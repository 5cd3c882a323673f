/* Unit tests for server/batch.c: what a flush publishes when another
 * mount's session publishes to the same names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/batch.h"
#include "server/partial.h"
#include "server/publock.h"
#include "server/root.h"
#include "wire/md5.h"
#include "wire/proto.h"
#include "testutil.h"

struct fx {
	char *dir;
	struct nb_root root;
	struct nb_batch batch;
	/* The answers of the last flush, by request id. */
	int answered[4];
	int r[4];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->dir = tu_mkdtemp("batch");
	assert_non_null(f->dir);
	assert_int_equal(nb_root_open(&f->root, f->dir), 0);
	nb_batch_init(&f->batch, f->root);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	nb_batch_free(&f->batch);
	nb_root_close(&f->root);
	tu_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static const char *at(struct fx *f, const char *rel)
{
	static char buf[4][4096];
	static int next;
	char *b = buf[next++ % 4];
	snprintf(b, sizeof(buf[0]), "%s/%s", f->dir, rel);
	return b;
}

/* Hold a new file (base ABSENT) at name with this content, as request id. */
static void hold(struct fx *f, uint32_t id, const char *name, const char *content)
{
	struct nb_put_open m = {
	    .path = (char *)name,
	    .size = strlen(content),
	    .mode = 0644,
	    .mtime_s = 1000,
	    .base_kind = NB_BASE_ABSENT,
	};
	nb_md5_buf(content, strlen(content), m.md5);
	int dirfd = -1;
	const char *leaf = NULL;
	assert_int_equal(nb_root_parent(&f->root, name, 0755, &dirfd, &leaf), 0);
	assert_int_equal(nb_batch_add(&f->batch, id, &m, (const uint8_t *)content, dirfd, leaf), 0);
}

static int answer(void *ctx, uint32_t id, int r, const char *path)
{
	(void)path;
	struct fx *f = ctx;
	assert_true(id < 4);
	f->answered[id]++;
	f->r[id] = r;
	return 0;
}

static void *flush_thread(void *arg)
{
	struct fx *f = arg;
	assert_int_equal(nb_batch_flush(&f->batch, answer, f), 0);
	return NULL;
}

static void expect_content(struct fx *f, const char *name, const char *want)
{
	size_t n = 0;
	char *got = tu_read_file(at(f, name), &n);
	assert_non_null(got);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(got, want, n);
	free(got);
}

/* Another mount's session holds the publish lock and, under it, puts
 * its own new file at one of our names: the flush waits for the lock,
 * then finds that name taken (a conflict, answered as such) and
 * publishes the others. */
static void test_flush_under_lock(void **state)
{
	struct fx *f = *state;
	hold(f, 1, "a.txt", "ours a");
	hold(f, 2, "b.txt", "ours b");
	int pdir = nb_partial_dirfd(&f->root);
	assert_true(pdir >= 0);
	int other = nb_publock_take(pdir);
	assert_true(other >= 0);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, flush_thread, f), 0);
	usleep(200 * 1000);
	struct stat st;
	assert_int_equal(lstat(at(f, "a.txt"), &st), -1); /* waits for the lock */
	assert_int_equal(lstat(at(f, "b.txt"), &st), -1);
	assert_int_equal(tu_write_file(at(f, "b.txt"), "theirs", 6), 0);
	nb_publock_drop(other);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(f->answered[1], 1);
	assert_int_equal(f->answered[2], 1);
	assert_int_equal(f->r[1], 0);
	assert_int_equal(f->r[2], -EEXIST);
	expect_content(f, "a.txt", "ours a");
	expect_content(f, "b.txt", "theirs");
	close(pdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_flush_under_lock, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
