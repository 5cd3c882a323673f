/* Unit tests for sync/bwlimit.c: the token bucket's arithmetic on a
 * simulated clock, and the transport wrapper on a real one. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sync/bwlimit.h"
#include "wire/xio.h"

#define KIB 1024
#define MIB (1024 * 1024)

static void test_burst_then_debt(void **state)
{
	(void)state;
	struct nb_bwlimit *b;
	assert_int_equal(nb_bwlimit_new(MIB, &b), 0);
	assert_int_equal(nb_bwlimit_rate(b), MIB);
	/* Full at the start: an eighth of a second's worth goes at once. */
	assert_int_equal(nb_bwlimit_charge(b, MIB / 8, 1000000), 0);
	/* The next 64 KiB must wait 1/16 s. */
	long long w = nb_bwlimit_charge(b, 64 * KIB, 1000000);
	assert_in_range(w, 62500, 62502);
	/* Half of that time later, half of the debt is left. */
	w = nb_bwlimit_charge(b, 0, 1000000 + 31250);
	assert_in_range(w, 31250, 31252);
	nb_bwlimit_free(b);
}

static void test_idle_credit_is_capped(void **state)
{
	(void)state;
	struct nb_bwlimit *b;
	assert_int_equal(nb_bwlimit_new(MIB, &b), 0);
	assert_int_equal(nb_bwlimit_charge(b, MIB / 8, 0), 0);
	/* Ten idle seconds earn one burst, not ten seconds' worth. */
	assert_int_equal(nb_bwlimit_charge(b, MIB / 8, 10000000), 0);
	assert_true(nb_bwlimit_charge(b, 4 * KIB, 10000000) > 0);
	nb_bwlimit_free(b);
}

static void test_small_rate_min_burst(void **state)
{
	(void)state;
	struct nb_bwlimit *b;
	assert_int_equal(nb_bwlimit_new(8 * KIB, &b), 0);
	/* At least 16 KiB of burst, even where 1/8 s is 1 KiB. */
	assert_int_equal(nb_bwlimit_charge(b, 16 * KIB, 0), 0);
	long long w = nb_bwlimit_charge(b, 8 * KIB, 0);
	assert_in_range(w, 1000000, 1000002);
	nb_bwlimit_free(b);
	assert_int_equal(nb_bwlimit_new(0, &b), -EINVAL);
}

/* Over a long transfer, sending in slices and sleeping as told, the
 * average rate is the limit (the burst aside). */
static void test_long_run_rate(void **state)
{
	(void)state;
	struct nb_bwlimit *b;
	const uint64_t rate = 3 * MIB;
	const uint64_t total = 50 * MIB;
	assert_int_equal(nb_bwlimit_new(rate, &b), 0);
	long long now = 5000000;
	const long long start = now;
	for (uint64_t sent = 0; sent < total; sent += 64 * KIB)
		now += nb_bwlimit_charge(b, 64 * KIB, now);
	double secs = (double)(now - start) / 1e6;
	double expect = (double)(total - rate / 8) / (double)rate;
	assert_true(secs > expect * 0.99 && secs < expect * 1.01);
	nb_bwlimit_free(b);
}

/* ---- the wrapper, over a fake transport ---- */

struct fake {
	struct nb_transport t;
	char *out;
	size_t outlen, outcap;
	size_t readn; /* bytes each read returns */
	int closed, keepalives;
};

static ssize_t fake_read(void *ctx, void *buf, size_t n)
{
	struct fake *f = ctx;
	size_t k = n < f->readn ? n : f->readn;
	memset(buf, 'r', k);
	return (ssize_t)k;
}

static int fake_write(void *ctx, const void *buf, size_t n)
{
	struct fake *f = ctx;
	if (f->outlen + n > f->outcap)
		return -ENOSPC;
	memcpy(f->out + f->outlen, buf, n);
	f->outlen += n;
	return 0;
}

static int fake_readable(struct nb_transport *t)
{
	(void)t;
	return 7;
}

static int fake_keepalive(struct nb_transport *t)
{
	((struct fake *)t)->keepalives++;
	return 0;
}

static void fake_close(struct nb_transport *t)
{
	((struct fake *)t)->closed = 1;
}

static void fake_init(struct fake *f, size_t cap)
{
	memset(f, 0, sizeof(*f));
	f->t.stream = (struct nb_stream){fake_read, fake_write, f};
	f->t.readable = fake_readable;
	f->t.keepalive = fake_keepalive;
	f->t.close = fake_close;
	f->out = malloc(cap);
	assert_non_null(f->out);
	f->outcap = cap;
	f->readn = 256 * KIB;
}

static void test_wrap_paces_writes(void **state)
{
	(void)state;
	struct fake f;
	const size_t n = 2 * MIB;
	fake_init(&f, n);
	struct nb_bwlimit *up;
	assert_int_equal(nb_bwlimit_new(4 * MIB, &up), 0);
	struct nb_transport *t;
	assert_int_equal(nb_bwlimit_wrap(&f.t, up, NULL, &t), 0);
	char *data = malloc(n);
	assert_non_null(data);
	for (size_t i = 0; i < n; i++)
		data[i] = (char)(i * 7 + i / 1000);
	long long t0 = nb_xio_now_ms();
	assert_int_equal(t->stream.write(t->stream.ctx, data, n), 0);
	long long ms = nb_xio_now_ms() - t0;
	/* (2 MiB - 512 KiB of burst) at 4 MiB/s: 375 ms at least. */
	assert_true(ms >= 360);
	assert_int_equal(f.outlen, n);
	assert_memory_equal(f.out, data, n);
	assert_int_equal(t->bytes_out, n);
	/* Reads are not limited without a down bucket, and pass through. */
	char buf[KIB];
	assert_int_equal(t->stream.read(t->stream.ctx, buf, sizeof(buf)), sizeof(buf));
	assert_int_equal(t->bytes_in, sizeof(buf));
	assert_int_equal(t->readable(t), 7);
	assert_int_equal(t->keepalive(t), 0);
	assert_int_equal(f.keepalives, 1);
	t->close(t);
	assert_true(f.closed);
	free(data);
	free(f.out);
	nb_bwlimit_free(up);
}

static void test_wrap_paces_reads(void **state)
{
	(void)state;
	struct fake f;
	fake_init(&f, 16);
	struct nb_bwlimit *down;
	assert_int_equal(nb_bwlimit_new(2 * MIB, &down), 0);
	struct nb_transport *t;
	assert_int_equal(nb_bwlimit_wrap(&f.t, NULL, down, &t), 0);
	char *buf = malloc(256 * KIB);
	assert_non_null(buf);
	long long t0 = nb_xio_now_ms();
	size_t got = 0;
	while (got < MIB) {
		ssize_t k = t->stream.read(t->stream.ctx, buf, 256 * KIB);
		assert_true(k > 0);
		got += (size_t)k;
	}
	long long ms = nb_xio_now_ms() - t0;
	/* (1 MiB - 256 KiB of burst) at 2 MiB/s: 375 ms at least. */
	assert_true(ms >= 360);
	assert_int_equal(t->bytes_in, MIB);
	/* Writes pass unlimited. */
	assert_int_equal(t->stream.write(t->stream.ctx, "abc", 3), 0);
	assert_int_equal(f.outlen, 3);
	t->close(t);
	free(buf);
	free(f.out);
	nb_bwlimit_free(down);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_debt),
		cmocka_unit_test(test_idle_credit_is_capped),
		cmocka_unit_test(test_small_rate_min_burst),
		cmocka_unit_test(test_long_run_rate),
		cmocka_unit_test(test_wrap_paces_writes),
		cmocka_unit_test(test_wrap_paces_reads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
