/* Unit tests for server/syncpool.c: fsync of many files from kept threads. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "server/syncpool.h"
#include "testutil.h"

#define NFILES 40

struct fx {
	char *dir;
	int fds[NFILES];
	int rs[NFILES];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->dir = tu_mkdtemp("syncpool");
	assert_non_null(f->dir);
	for (int i = 0; i < NFILES; i++) {
		char name[32];
		snprintf(name, sizeof(name), "f%d", i);
		char *p = tu_join(f->dir, name);
		f->fds[i] = open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		assert_true(f->fds[i] >= 0);
		assert_int_equal(write(f->fds[i], name, strlen(name)), (ssize_t)strlen(name));
		free(p);
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	for (int i = 0; i < NFILES; i++)
		close(f->fds[i]);
	tu_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static int threads_now(void)
{
	int n = tu_count_entries("/proc/self/task");
	assert_true(n > 0);
	return n;
}

static void fill(int *rs, int v)
{
	for (int i = 0; i < NFILES; i++)
		rs[i] = v;
}

/* Every descriptor gets its own result, in its own slot, round after
 * round; the helpers are started once, as many as a round could use. */
static void test_rounds(void **state)
{
	struct fx *f = *state;
	struct nb_syncpool *p;
	int base = threads_now();
	assert_int_equal(nb_syncpool_new(3, &p), 0);
	assert_int_equal(threads_now(), base); /* none before the first round */
	nb_syncpool_run(p, f->fds, f->rs, 0);
	fill(f->rs, 99);
	nb_syncpool_run(p, f->fds, f->rs, 1); /* one: the caller alone */
	assert_int_equal(f->rs[0], 0);
	assert_int_equal(f->rs[1], 99);
	assert_int_equal(threads_now(), base);
	fill(f->rs, 99);
	nb_syncpool_run(p, f->fds, f->rs, 2); /* two: one helper is enough */
	assert_int_equal(f->rs[0], 0);
	assert_int_equal(f->rs[1], 0);
	assert_int_equal(f->rs[2], 99);
	/* One helper more (ThreadSanitizer may start its own thread at the
	 * first pthread_create: count from here). */
	int one = threads_now();
	assert_true(one > base);
	for (int round = 0; round < 200; round++) {
		size_t n = 2 + (size_t)round % (NFILES - 1);
		fill(f->rs, 99);
		nb_syncpool_run(p, f->fds, f->rs, n);
		for (size_t i = 0; i < NFILES; i++)
			assert_int_equal(f->rs[i], i < n ? 0 : 99);
	}
	assert_int_equal(threads_now(), one + 2);
	nb_syncpool_free(p);
	assert_int_equal(threads_now(), one - 1);
	nb_syncpool_free(NULL);
}

/* A descriptor that cannot be synced gets its error; the others are
 * done all the same. */
static void test_errors(void **state)
{
	struct fx *f = *state;
	struct nb_syncpool *p;
	assert_int_equal(nb_syncpool_new(4, &p), 0);
	int fds[NFILES];
	memcpy(fds, f->fds, sizeof(fds));
	fds[3] = -1;
	int pipefd[2];
	assert_int_equal(pipe(pipefd), 0);
	fds[7] = pipefd[0]; /* fsync of a pipe: EINVAL */
	fill(f->rs, 99);
	nb_syncpool_run(p, fds, f->rs, NFILES);
	for (int i = 0; i < NFILES; i++)
		assert_int_equal(f->rs[i], i == 3 ? -EBADF : i == 7 ? -EINVAL : 0);
	close(pipefd[0]);
	close(pipefd[1]);
	nb_syncpool_free(p);
}

/* Without a pool, or in a child forked from the pool's process (which
 * has none of its threads: waiting for them would hang), the caller
 * does every fsync itself. */
static void test_no_pool_and_fork(void **state)
{
	struct fx *f = *state;
	fill(f->rs, 99);
	nb_syncpool_run(NULL, f->fds, f->rs, NFILES);
	for (int i = 0; i < NFILES; i++)
		assert_int_equal(f->rs[i], 0);
	struct nb_syncpool *p;
	assert_int_equal(nb_syncpool_new(4, &p), 0);
	nb_syncpool_run(p, f->fds, f->rs, NFILES); /* helpers started */
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int rs[NFILES];
		alarm(20); /* a hang fails the test */
		nb_syncpool_run(p, f->fds, rs, NFILES);
		for (int i = 0; i < NFILES; i++)
			if (rs[i] != 0)
				_exit(1);
		nb_syncpool_free(p); /* joins nothing in the child */
		_exit(0);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	nb_syncpool_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_pool_and_fork, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
