/*
 * CPU to spare (sync/cpuspare.c): the idle share of the interval between
 * two samples against the threshold; no interval to judge by counts as
 * spare; samples closer than the interval keep the last answer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "sync/cpuspare.h"

static void test_update(void **state)
{
	(void)state;
	struct nb_cpuspare c = {0};
	/* the first sample: nothing to compare with */
	assert_int_equal(nb_cpuspare_update(&c, 1000, 50, 100), 1);
	/* 5 of 100 ticks idle: busy */
	assert_int_equal(nb_cpuspare_update(&c, 1100, 55, 200), 0);
	/* exactly the threshold: spare */
	assert_int_equal(nb_cpuspare_update(&c, 1200, 55 + NB_CPUSPARE_MIN_PCT, 300), 1);
	/* just under it: busy */
	assert_int_equal(nb_cpuspare_update(&c, 1300, 55 + 2 * NB_CPUSPARE_MIN_PCT - 1, 400), 0);
	/* all idle */
	assert_int_equal(nb_cpuspare_update(&c, 1400, 55 + 2 * NB_CPUSPARE_MIN_PCT - 1 + 100, 500), 1);
	/* no time passed, or counters that went back: no judgement, spare */
	assert_int_equal(nb_cpuspare_update(&c, 1500, 1000, 500), 1);
	assert_int_equal(nb_cpuspare_update(&c, 1600, 10, 400), 1);
}

/* From /proc/stat: an answer, and the same answer for a look within the
 * interval. */
static void test_check(void **state)
{
	(void)state;
	struct nb_cpuspare c = {0};
	int a = nb_cpuspare_check(&c);
	assert_true(a == 0 || a == 1);
	assert_int_equal(nb_cpuspare_check(&c), c.spare);
	long long at = c.at_ms;
	c.spare = !c.spare; /* a look within the interval must not sample */
	if (nb_cpuspare_check(&c) != c.spare || c.at_ms != at)
		assert_true(c.at_ms != at); /* unless the interval passed meanwhile */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_update),
		cmocka_unit_test(test_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
