/* Unit tests for fs/progress.c: sizes, ETAs and status lines. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "fs/progress.h"

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)
#define TiB (1024ull * GiB)
#define PiB (1024ull * TiB)

static void size_is(uint64_t bytes, const char *want)
{
	char out[64];
	nb_progress_size(out, sizeof(out), bytes);
	if (strcmp(out, want) != 0)
		fail_msg("nb_progress_size(%llu) = \"%s\", want \"%s\"", (unsigned long long)bytes,
			 out, want);
}

static void test_size(void **state)
{
	(void)state;
	size_is(0, "0 B");
	size_is(1, "1 B");
	size_is(512, "512 B");
	size_is(1023, "1023 B");
	size_is(KiB, "1.0 KiB");
	size_is(1536, "1.5 KiB");
	size_is(10 * KiB + 512, "10.5 KiB");
	size_is(MiB, "1.0 MiB");
	size_is(23 * MiB + 400 * KiB, "23.4 MiB");
	size_is(5 * GiB, "5.0 GiB");
	size_is(TiB + TiB / 4, "1.2 TiB"); /* 1.25 rounds to even */
	size_is(PiB, "1.0 PiB");
	size_is(1024 * PiB, "1024.0 PiB"); /* no unit above PiB */
	size_is(UINT64_MAX, "16384.0 PiB");
	/* a short buffer is cut and terminated */
	char small[4];
	nb_progress_size(small, sizeof(small), 1536);
	assert_string_equal(small, "1.5");
}

static void eta_is(uint64_t left, double rate, const char *want)
{
	char out[32];
	nb_progress_eta(out, sizeof(out), left, rate);
	if (strcmp(out, want) != 0)
		fail_msg("nb_progress_eta(%llu, %g) = \"%s\", want \"%s\"", (unsigned long long)left,
			 rate, out, want);
}

static void test_eta(void **state)
{
	(void)state;
	eta_is(100, 0, "-");
	eta_is(100, 0.99, "-");
	eta_is(0, 0, "-");
	eta_is(0, 5, "0:00");
	eta_is(125, 1, "2:05");
	eta_is(5, 1, "0:05");
	eta_is(599, 10, "1:00");   /* 59.9 s rounds up */
	eta_is(594, 10, "0:59");   /* 59.4 s rounds down */
	eta_is(3599, 1, "59:59");
	eta_is(3600, 1, "1:00:00");
	eta_is(3723, 1, "1:02:03");
	eta_is(50 * MiB, 10.0 * MiB, "0:05");
	eta_is(99 * 3600, 1, "99:00:00");
	eta_is(99 * 3600 + 1, 1, ">99h");
	eta_is(UINT64_MAX, 1, ">99h");
}

static void line_is(const char *state, uint64_t done, uint64_t total, double rate,
		    const char *path, int width, const char *want)
{
	char out[512];
	nb_progress_line(out, sizeof(out), state, done, total, rate, path, width);
	if (strcmp(out, want) != 0)
		fail_msg("got  \"%s\"\nwant \"%s\"", out, want);
}

static void test_line(void **state)
{
	(void)state;
	line_is("uploading", 50 * MiB, 100 * MiB, 10.0 * MiB, "dir/file", 10,
		" 50%|#####     | 50.0 MiB/100.0 MiB  10.0 MiB/s  ETA 0:05  uploading dir/file");
	line_is("pending", 0, 0, 0, "a", 4, "  0%|    | 0 B/0 B  -  ETA -  pending   a");
	line_is("synced", 1000, 1000, 500, "x y", 4,
		"100%|####| 1000 B/1000 B  500 B/s  ETA 0:00  synced    x y");
	/* done beyond total is shown as complete */
	line_is("synced", 2000, 1000, 500, "x", 4,
		"100%|####| 1000 B/1000 B  500 B/s  ETA 0:00  synced    x");
	/* partial cells round down; the percentage too */
	line_is("uploading", 999, 1000, 0.5, "p", 20,
		" 99%|################### | 999 B/1000 B  -  ETA -  uploading p");
	line_is("uploading", 1, 3, 1, "p", 3, " 33%|#  | 1 B/3 B  1 B/s  ETA 0:02  uploading p");
	/* a state name longer than the column is not cut */
	line_is("verylongstate", 0, 10, 0, "p", 2, "  0%|  | 0 B/10 B  -  ETA -  verylongstate p");
}

static void test_line_width(void **state)
{
	(void)state;
	char out[1024];
	/* width below 1 is 1 */
	line_is("s", 1, 1, 0, "p", 0, "100%|#| 1 B/1 B  -  ETA -  s         p");
	line_is("s", 0, 1, 0, "p", -5, "  0%| | 0 B/1 B  -  ETA -  s         p");
	/* width is capped at 255 cells */
	nb_progress_line(out, sizeof(out), "s", 1, 1, 0, "p", 100000);
	const char *bar = strchr(out, '|');
	assert_non_null(bar);
	const char *end = strchr(bar + 1, '|');
	assert_non_null(end);
	assert_int_equal(end - bar - 1, 255);
	assert_int_equal(strspn(bar + 1, "#"), 255);
	/* a short output buffer is cut and terminated */
	char small[10];
	nb_progress_line(small, sizeof(small), "s", 50, 100, 0, "p", 10);
	assert_string_equal(small, " 50%|####");
}

/*
 * Regression (fixed; was: fs/progress.c:49, nb_progress_line): the percentage is computed as
 * done * 100 / total in uint64_t, which wraps once done exceeds
 * UINT64_MAX / 100 (about 160 PiB): a finished 1 EiB aggregate shows "4%".
 * Low severity (one file is capped at 1 PiB; only directory totals could
 * get there), but the bar on the same line is right because it is
 * computed in double. Fix: compute it the same way,
 *     int pct = total ? (int)((double)done * 100 / (double)total) : 0;
 */
static void test_regress_percent_overflow(void **state)
{
	(void)state;
	char out[512];
	nb_progress_line(out, sizeof(out), "synced", 1024 * PiB, 1024 * PiB, 0, "big", 4);
	assert_string_equal(out, "100%|####| 1024.0 PiB/1024.0 PiB  -  ETA -  synced    big");
}

static void test_age(void **state)
{
	(void)state;
	char out[32];
	nb_progress_age(out, sizeof(out), 0);
	assert_string_equal(out, "0s");
	nb_progress_age(out, sizeof(out), 59);
	assert_string_equal(out, "59s");
	nb_progress_age(out, sizeof(out), 307);
	assert_string_equal(out, "5m07s");
	nb_progress_age(out, sizeof(out), 3 * 3600 + 5 * 60 + 59);
	assert_string_equal(out, "3h05m");
	nb_progress_age(out, sizeof(out), 2 * 86400 + 4 * 3600);
	assert_string_equal(out, "2d04h");
}

static void test_summary(void **state)
{
	(void)state;
	char out[256];
	struct nb_progress_sum s = {.entries = 0, .connected = 1};
	nb_progress_summary(out, sizeof(out), &s, 80);
	assert_string_equal(out, "all synced | online");
	s = (struct nb_progress_sum){.entries = 12, .files = 12, .left = 3 * GiB + 400 * MiB,
				     .rate = 1.5 * MiB, .connected = 1, .oldest = 307};
	nb_progress_summary(out, sizeof(out), &s, 80);
	assert_string_equal(out, "to sync: 12 files, 3.4 GiB | 1.5 MiB/s ETA 38:35 | online | oldest 5m07s");
	s.entries = 15;
	s.connected = 0;
	s.rate = 0;
	nb_progress_summary(out, sizeof(out), &s, 80);
	assert_string_equal(out, "to sync: 12 files + 3 other, 3.4 GiB | 0 B/s ETA - | OFFLINE | oldest 5m07s");
	s = (struct nb_progress_sum){.entries = 1, .files = 0, .connected = 1, .oldest = 1};
	nb_progress_summary(out, sizeof(out), &s, 80);
	assert_string_equal(out, "to sync: 1 change, 0 B | 0 B/s ETA - | online | oldest 1s");
	/* Large numbers: the "to sync: " goes first, and everything fits in
	 * 80 columns; at the extreme it is cut there. */
	s = (struct nb_progress_sum){.entries = 1000, .files = 999, .left = 1000 * GiB,
				     .rate = 1000 * MiB, .connected = 0, .oldest = 300};
	nb_progress_summary(out, sizeof(out), &s, 80);
	assert_string_equal(out, "999 files + 1 other, 1000.0 GiB | 1000.0 MiB/s 17:04 | OFFLINE | 5m00s old");
	s.entries = 9999;
	s.oldest = 86399;
	nb_progress_summary(out, sizeof(out), &s, 80);
	assert_string_equal(out, "999 files + 9000 other, 1000.0 GiB | 1000.0 MiB/s 17:04 | OFFLINE | 23h59m old");
	s.entries = SIZE_MAX;
	s.files = SIZE_MAX / 2;
	s.left = UINT64_MAX;
	s.rate = 1;
	nb_progress_summary(out, sizeof(out), &s, 80);
	assert_int_equal(strlen(out), 80);
	nb_progress_summary(out, sizeof(out), &s, 0); /* no limit */
	assert_true(strlen(out) > 80);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_eta),
		cmocka_unit_test(test_age),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_line),
		cmocka_unit_test(test_line_width),
		cmocka_unit_test(test_regress_percent_overflow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
