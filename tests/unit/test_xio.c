/* Unit tests for wire/xio.c: waiting on a descriptor, and being woken
 * from the wait by a stop pipe. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "wire/xio.h"

struct fx {
	int data[2], stop[2];
};

static int setup(void **state)
{
	static struct fx f;
	assert_int_equal(pipe2(f.data, O_CLOEXEC), 0);
	assert_int_equal(pipe2(f.stop, O_CLOEXEC), 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	for (int i = 0; i < 2; i++) {
		close(f->data[i]);
		close(f->stop[i]);
	}
	return 0;
}

static void test_wait_or(void **state)
{
	struct fx *f = *state;
	/* Nothing: the time runs out. */
	long long t0 = nb_xio_now_ms();
	assert_int_equal(nb_xio_wait_or(f->data[0], POLLIN, f->stop[0], 50), 0);
	assert_true(nb_xio_now_ms() - t0 >= 50);
	/* Data: ready. */
	assert_int_equal(write(f->data[1], "x", 1), 1);
	assert_int_equal(nb_xio_wait_or(f->data[0], POLLIN, f->stop[0], 1000), 1);
	/* A stop wins over data, and over a wait without end. */
	assert_int_equal(write(f->stop[1], "", 1), 1);
	assert_int_equal(nb_xio_wait_or(f->data[0], POLLIN, f->stop[0], 1000), -ECANCELED);
	char c;
	assert_int_equal(read(f->data[0], &c, 1), 1);
	assert_int_equal(nb_xio_wait_or(f->data[0], POLLIN, f->stop[0], -1), -ECANCELED);
	/* No stop pipe: nb_xio_wait. */
	assert_int_equal(nb_xio_wait_or(f->data[0], POLLIN, -1, 20), 0);
	assert_int_equal(nb_xio_wait(f->data[0], POLLIN, 20), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_wait_or, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
