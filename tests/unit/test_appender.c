/* Unit tests for server/appender.c: appending around the page cache. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/appender.h"
#include "testutil.h"
#include "wire/md5.h"
#include "wire/xio.h"

#define TOTAL (13u * 1024 * 1024 + 777)

/* A filesystem that takes O_DIRECT at fcntl but refuses direct writes
 * (EINVAL), played by wrapping the appender's writes (linked with
 * -Wl,--wrap=nb_xio_pwrite_full, CMakeLists.txt): while refuse_direct is
 * set, a write to a descriptor in direct mode fails as such a
 * filesystem's does, and is counted. */
int __real_nb_xio_pwrite_full(int fd, const void *buf, size_t n, off_t off);
static int refuse_direct, refused_writes;

int __wrap_nb_xio_pwrite_full(int fd, const void *buf, size_t n, off_t off)
{
	if (refuse_direct && (fcntl(fd, F_GETFL) & O_DIRECT)) {
		__atomic_add_fetch(&refused_writes, 1, __ATOMIC_SEQ_CST);
		return -EINVAL;
	}
	return __real_nb_xio_pwrite_full(fd, buf, n, off);
}

struct fx {
	char *dir, *path;
	uint8_t *data; /* TOTAL bytes of a pattern no block repeats */
	int fd;
	struct nb_md5 md5; /* what the appender hashes into */
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->dir = tu_mkdtemp("appender");
	assert_non_null(f->dir);
	f->path = tu_join(f->dir, "partial");
	f->fd = open(f->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	assert_true(f->fd >= 0);
	f->data = malloc(TOTAL);
	assert_non_null(f->data);
	uint64_t x = 88172645463325252ull;
	for (size_t i = 0; i < TOTAL; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		f->data[i] = (uint8_t)x;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	if (f->md5.ctx)
		nb_md5_free(&f->md5);
	close(f->fd);
	tu_rmtree(f->dir);
	free(f->dir);
	free(f->path);
	free(f->data);
	free(f);
	return 0;
}

/* Does the test directory's filesystem take O_DIRECT writes? */
static int direct_works(struct fx *f)
{
	char *p = tu_join(f->dir, "probe");
	int fd = open(p, O_WRONLY | O_CREAT | O_DIRECT | O_CLOEXEC, 0600);
	void *b = NULL;
	int ok = fd >= 0 && posix_memalign(&b, NB_APPENDER_ALIGN, NB_APPENDER_ALIGN) == 0 &&
		 pwrite(fd, memset(b, 1, NB_APPENDER_ALIGN), NB_APPENDER_ALIGN, 0) ==
		     (ssize_t)NB_APPENDER_ALIGN;
	free(b);
	if (fd >= 0)
		close(fd);
	unlink(p);
	free(p);
	return ok;
}

/* The file is exactly data[0, n). */
static void assert_file_is(struct fx *f, const uint8_t *data, size_t n)
{
	struct stat st;
	assert_int_equal(fstat(f->fd, &st), 0);
	assert_int_equal((size_t)st.st_size, n);
	uint8_t *got = malloc(n ? n : 1);
	assert_non_null(got);
	int rd = open(f->path, O_RDONLY | O_CLOEXEC);
	assert_true(rd >= 0);
	assert_int_equal(nb_xio_read_full(rd, got, n), (ssize_t)n);
	close(rd);
	assert_memory_equal(got, data, n);
	free(got);
}

/* The file is a prefix of data[0, n): what a killed process leaves. */
static size_t assert_file_prefix(struct fx *f, const uint8_t *data, size_t n)
{
	struct stat st;
	assert_int_equal(fstat(f->fd, &st), 0);
	assert_true((size_t)st.st_size <= n);
	assert_file_is(f, data, (size_t)st.st_size);
	return (size_t)st.st_size;
}

/* Append data[from, to) in uneven pieces, checking after each that
 * the file holds a prefix of it. */
static void append_pieces(struct fx *f, struct nb_appender *a, size_t from, size_t to)
{
	static const size_t sizes[] = {1, 4095, 100000, 3u << 20, 65536, 5u << 20, 4097, 262144};
	size_t i = 0;
	while (from < to) {
		size_t n = sizes[i++ % (sizeof(sizes) / sizeof(sizes[0]))];
		n = n < to - from ? n : to - from;
		assert_int_equal(nb_appender_write(a, f->data + from, n), 0);
		from += n;
		assert_int_equal(a->end, from);
		assert_file_prefix(f, f->data, from);
	}
}

/* From here on a hashes what it appends into f->md5, which holds
 * data[0, a->end) already, as the partial's running MD5 does. */
static void hash_on(struct fx *f, struct nb_appender *a, const uint8_t *data)
{
	if (!f->md5.ctx)
		assert_int_equal(nb_md5_init(&f->md5), 0);
	nb_md5_reset(&f->md5);
	nb_md5_update(&f->md5, data, (size_t)a->end);
	nb_appender_hash_into(a, &f->md5);
}

/* After a flush: f->md5 is the MD5 of data[0, n) (and is used up). */
static void assert_hashed(struct fx *f, const uint8_t *data, size_t n)
{
	uint8_t want[NB_MD5_LEN], got[NB_MD5_LEN];
	nb_md5_buf(data, n, want);
	nb_md5_final(&f->md5, got);
	assert_memory_equal(got, want, NB_MD5_LEN);
}

static int has_direct_flag(int fd)
{
	return (fcntl(fd, F_GETFL) & O_DIRECT) != 0;
}

static void test_direct_whole(void **state)
{
	struct fx *f = *state;
	if (!direct_works(f))
		skip();
	struct nb_appender a;
	nb_appender_init(&a, f->fd, 0, 1);
	assert_true(a.direct);
	assert_true(has_direct_flag(f->fd));
	hash_on(f, &a, f->data);
	append_pieces(f, &a, 0, TOTAL);
	/* Before the flush the file ends at a buffer boundary. */
	struct stat st;
	assert_int_equal(fstat(f->fd, &st), 0);
	assert_int_equal(st.st_size % NB_APPENDER_BUF, 0);
	assert_true((size_t)st.st_size < TOTAL);
	assert_int_equal(nb_appender_flush(&a), 0);
	assert_file_is(f, f->data, TOTAL);
	/* As publishing does: the mtime is set after the flush, and the
	 * flush when the partial is closed must not write again. */
	struct timespec ts[2] = {{0, UTIME_OMIT}, {1000000000, 5}};
	assert_int_equal(futimens(f->fd, ts), 0);
	assert_int_equal(nb_appender_flush(&a), 0);
	assert_file_is(f, f->data, TOTAL);
	assert_int_equal(fstat(f->fd, &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, 1000000000);
	assert_int_equal(st.st_mtim.tv_nsec, 5);
	assert_hashed(f, f->data, TOTAL); /* the tail once, not twice */
	nb_appender_free(&a);
	assert_false(has_direct_flag(f->fd));
	nb_appender_free(&a); /* idempotent */
}

static void test_resume_unaligned(void **state)
{
	struct fx *f = *state;
	if (!direct_works(f))
		skip();
	/* Another session left 5000 bytes (a partial block). */
	assert_int_equal(nb_xio_pwrite_full(f->fd, f->data, 5000, 0), 0);
	struct nb_appender a;
	nb_appender_init(&a, f->fd, 5000, 1);
	assert_true(a.direct);
	assert_int_equal(a.base, 4096);
	/* The block's head read back from the file is not hashed again. */
	hash_on(f, &a, f->data);
	append_pieces(f, &a, 5000, TOTAL);
	assert_int_equal(nb_appender_flush(&a), 0);
	assert_file_is(f, f->data, TOTAL);
	assert_hashed(f, f->data, TOTAL);
	nb_appender_free(&a);
}

static void test_flush_then_go_on(void **state)
{
	struct fx *f = *state;
	struct nb_appender a;
	nb_appender_init(&a, f->fd, 0, 1);
	hash_on(f, &a, f->data);
	size_t at = 0;
	static const size_t stops[] = {10000, 10001, NB_APPENDER_BUF + 3, 9u << 20, TOTAL};
	for (size_t i = 0; i < sizeof(stops) / sizeof(stops[0]); i++) {
		append_pieces(f, &a, at, stops[i]);
		at = stops[i];
		assert_int_equal(nb_appender_flush(&a), 0);
		assert_file_is(f, f->data, at);
	}
	assert_hashed(f, f->data, TOTAL);
	nb_appender_free(&a);
}

static void test_killed_keeps_prefix(void **state)
{
	struct fx *f = *state;
	struct nb_appender a;
	nb_appender_init(&a, f->fd, 0, 1);
	append_pieces(f, &a, 0, 9u << 20);
	nb_appender_free(&a); /* no flush: a process killed here */
	size_t kept = assert_file_prefix(f, f->data, 9u << 20);
	/* Resumed from what the file holds. */
	nb_appender_init(&a, f->fd, kept, 1);
	append_pieces(f, &a, kept, TOTAL);
	assert_int_equal(nb_appender_flush(&a), 0);
	assert_file_is(f, f->data, TOTAL);
	nb_appender_free(&a);
}

static void test_reset(void **state)
{
	struct fx *f = *state;
	struct nb_appender a;
	nb_appender_init(&a, f->fd, 0, 1);
	int direct = a.direct;
	hash_on(f, &a, f->data);
	append_pieces(f, &a, 0, 6u << 20);
	/* The client's prefix differed: start again with other bytes. */
	assert_int_equal(nb_appender_reset(&a, 0), 0);
	nb_md5_reset(&f->md5); /* as the partial does */
	assert_int_equal(a.direct, direct);
	assert_int_equal(nb_appender_write(&a, f->data + 1, 5u << 20), 0);
	assert_int_equal(nb_appender_flush(&a), 0);
	assert_file_is(f, f->data + 1, 5u << 20);
	assert_hashed(f, f->data + 1, 5u << 20);
	nb_appender_free(&a);
}

static void test_plain(void **state)
{
	struct fx *f = *state;
	struct nb_appender a;
	nb_appender_init(&a, f->fd, 0, 0);
	assert_false(a.direct);
	assert_false(has_direct_flag(f->fd));
	assert_null(a.buf[0]);
	/* Plain writes are in the file at once. */
	assert_int_equal(nb_appender_write(&a, f->data, 12345), 0);
	assert_file_is(f, f->data, 12345);
	hash_on(f, &a, f->data);
	append_pieces(f, &a, 12345, TOTAL);
	assert_file_is(f, f->data, TOTAL);
	assert_int_equal(nb_appender_flush(&a), 0);
	assert_hashed(f, f->data, TOTAL);
	nb_appender_free(&a);
}

/* The filesystem refuses the first direct write: the appender goes on
 * the plain way from there, and the file and its MD5 are whole, with
 * no gap where the refused buffer was. */
static void test_direct_refused(void **state)
{
	struct fx *f = *state;
	struct nb_appender a;
	if (!direct_works(f))
		skip(); /* no direct mode to be refused in: test_plain covers it */
	refuse_direct = 1;
	refused_writes = 0;
	nb_appender_init(&a, f->fd, 0, 1);
	assert_true(a.direct);
	hash_on(f, &a, f->data);
	append_pieces(f, &a, 0, TOTAL);
	assert_int_equal(nb_appender_flush(&a), 0);
	refuse_direct = 0;
	assert_file_is(f, f->data, TOTAL);
	assert_hashed(f, f->data, TOTAL);
	assert_false(has_direct_flag(f->fd));
	assert_int_equal(refused_writes, 1);
	nb_appender_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_direct_whole, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resume_unaligned, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flush_then_go_on, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_killed_keeps_prefix, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_plain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_direct_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
