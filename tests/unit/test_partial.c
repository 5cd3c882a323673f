/* Unit tests for server/partial.c: resumable uploads on the server. */
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
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "server/partial.h"
#include "server/publock.h"
#include "server/root.h"
#include "wire/err.h"
#include "wire/md5.h"
#include "wire/proto.h"
#include "testutil.h"

#define SIZE 5000

struct fx {
	char *dir;
	struct nb_root root;
	uint8_t content[SIZE];
	uint8_t md5[NB_MD5_LEN];
	char hex[NB_MD5_HEX];
	char *partial_path; /* dir/.nbfs/partial/<hex> */
	int xattrs;         /* the filesystem keeps user xattrs */
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	umask(022);
	f->dir = tu_mkdtemp("partial");
	assert_non_null(f->dir);
	assert_int_equal(nb_root_open(&f->root, f->dir), 0);
	for (size_t i = 0; i < SIZE; i++)
		f->content[i] = (uint8_t)(i * 13 + (i >> 7));
	nb_md5_buf(f->content, SIZE, f->md5);
	nb_md5_hex(f->md5, f->hex);
	char rel[128];
	snprintf(rel, sizeof(rel), ".nbfs/partial/%s", f->hex);
	f->partial_path = tu_join(f->dir, rel);
	/* Probe for user xattrs where the files will live. */
	char *probe = tu_join(f->dir, "probe");
	assert_int_equal(tu_write_file(probe, "", 0), 0);
	f->xattrs = setxattr(probe, "user.nbfs.probe", "1", 1, 0) == 0;
	unlink(probe);
	free(probe);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	nb_root_close(&f->root);
	tu_rmtree(f->dir);
	free(f->dir);
	free(f->partial_path);
	free(f);
	return 0;
}

/* dir/rel, in one of four rotating static buffers (valid for a few
 * calls: enough within one statement). */
static const char *path_of(struct fx *f, const char *rel)
{
	static char buf[4][4096];
	static int next;
	char *b = buf[next++ % 4];
	snprintf(b, sizeof(buf[0]), "%s/%s", f->dir, rel);
	return b;
}

static int exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static off_t file_size(const char *path)
{
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	return st.st_size;
}

static void open_new(struct fx *f, struct nb_partial *p)
{
	uint64_t off = 99;
	uint8_t prefix[NB_MD5_LEN], empty[NB_MD5_LEN];
	assert_int_equal(nb_partial_open(p, &f->root, f->md5, SIZE, &off, prefix), 0);
	assert_int_equal(off, 0);
	nb_md5_buf("", 0, empty);
	assert_memory_equal(prefix, empty, NB_MD5_LEN);
}

static void test_open_write_reopen(void **state)
{
	struct fx *f = *state;
	struct nb_partial p;
	open_new(f, &p);
	assert_true(exists(f->partial_path));
	assert_int_equal(p.pos, 0);
	assert_int_equal(nb_partial_write(&p, 0, f->content, 1000), 0);
	assert_int_equal(nb_partial_write(&p, 1000, f->content + 1000, 234), 0);
	assert_int_equal(p.pos, 1234);
	nb_partial_close(&p, 0);
	assert_int_equal(p.fd, -1);
	assert_true(exists(f->partial_path));
	assert_int_equal(file_size(f->partial_path), 1234);

	uint64_t off = 0;
	uint8_t prefix[NB_MD5_LEN], want[NB_MD5_LEN];
	assert_int_equal(nb_partial_open(&p, &f->root, f->md5, SIZE, &off, prefix), 0);
	assert_int_equal(off, 1234);
	nb_md5_buf(f->content, 1234, want);
	assert_memory_equal(prefix, want, NB_MD5_LEN);
	/* continue where it left off, and the running hash covers it all */
	assert_int_equal(nb_partial_write(&p, 1234, f->content + 1234, SIZE - 1234), 0);
	assert_int_equal(nb_partial_publish(&p, f->root.fd, "done", NULL, 0644, 1, 2), 0);
	char *dst = tu_join(f->dir, "done");
	size_t n = 0;
	char *got = tu_read_file(dst, &n);
	assert_int_equal(n, SIZE);
	assert_memory_equal(got, f->content, SIZE);
	free(got);
	free(dst);
}

static void test_busy(void **state)
{
	struct fx *f = *state;
	struct nb_partial p, q;
	uint64_t off;
	uint8_t prefix[NB_MD5_LEN];
	open_new(f, &p);
	assert_int_equal(nb_partial_write(&p, 0, f->content, 10), 0);
	assert_int_equal(nb_partial_open(&q, &f->root, f->md5, SIZE, &off, prefix), NB_E_BUSY);
	/* the holder is undisturbed */
	assert_int_equal(nb_partial_write(&p, 10, f->content + 10, 10), 0);
	nb_partial_close(&p, 0);
	/* once released, it can be taken */
	assert_int_equal(nb_partial_open(&q, &f->root, f->md5, SIZE, &off, prefix), 0);
	assert_int_equal(off, 20);
	/* different content is a different partial: no conflict */
	uint8_t other[NB_MD5_LEN];
	nb_md5_buf("other", 5, other);
	assert_int_equal(nb_partial_open(&p, &f->root, other, 5, &off, prefix), 0);
	assert_int_equal(off, 0);
	nb_partial_close(&p, 1);
	nb_partial_close(&q, 0);
}

static void test_write_offsets(void **state)
{
	struct fx *f = *state;
	struct nb_partial p;
	open_new(f, &p);
	assert_int_equal(nb_partial_write(&p, 1, f->content, 10), -EINVAL);
	assert_int_equal(nb_partial_write(&p, 0, f->content, 100), 0);
	assert_int_equal(nb_partial_write(&p, 99, f->content + 99, 10), -EINVAL);
	assert_int_equal(nb_partial_write(&p, 101, f->content + 101, 10), -EINVAL);
	assert_int_equal(nb_partial_write(&p, UINT64_MAX, f->content, 1), -EINVAL);
	assert_int_equal(p.pos, 100);
	/* past the announced size */
	assert_int_equal(nb_partial_write(&p, 100, f->content + 100, SIZE - 100 + 1), -EFBIG);
	assert_int_equal(p.pos, 100);
	assert_int_equal(file_size(f->partial_path), 100);
	/* exactly up to the size is fine, one more byte is not */
	assert_int_equal(nb_partial_write(&p, 100, f->content + 100, SIZE - 100), 0);
	assert_int_equal(nb_partial_write(&p, SIZE, f->content, 1), -EFBIG);
	assert_int_equal(nb_partial_write(&p, SIZE, f->content, 0), 0);
	/* offset 0 restarts from scratch (the client's prefix differed) */
	uint8_t junk[50];
	memset(junk, 'j', sizeof(junk));
	assert_int_equal(nb_partial_write(&p, 0, junk, sizeof(junk)), 0);
	assert_int_equal(p.pos, 50);
	assert_int_equal(file_size(f->partial_path), 50);
	nb_partial_close(&p, 0);
	uint64_t off;
	uint8_t prefix[NB_MD5_LEN], want[NB_MD5_LEN];
	assert_int_equal(nb_partial_open(&p, &f->root, f->md5, SIZE, &off, prefix), 0);
	assert_int_equal(off, 50);
	nb_md5_buf(junk, sizeof(junk), want);
	assert_memory_equal(prefix, want, NB_MD5_LEN);
	nb_partial_close(&p, 1);
	assert_false(exists(f->partial_path));
}

static void test_publish_incomplete(void **state)
{
	struct fx *f = *state;
	struct nb_partial p;
	open_new(f, &p);
	assert_int_equal(nb_partial_write(&p, 0, f->content, SIZE - 1), 0);
	assert_int_equal(nb_partial_publish(&p, f->root.fd, "dst", NULL, 0644, 0, 0), -EINVAL);
	assert_int_equal(p.fd, -1); /* released */
	char *dst = tu_join(f->dir, "dst");
	assert_false(exists(dst));
	/* the good bytes are kept for a resume */
	assert_true(exists(f->partial_path));
	assert_int_equal(file_size(f->partial_path), SIZE - 1);
	free(dst);
}

static void test_publish_wrong_content(void **state)
{
	struct fx *f = *state;
	struct nb_partial p;
	uint8_t bad[SIZE];
	memcpy(bad, f->content, SIZE);
	bad[SIZE / 2] ^= 0x01;
	open_new(f, &p);
	assert_int_equal(nb_partial_write(&p, 0, bad, SIZE), 0);
	assert_int_equal(nb_partial_publish(&p, f->root.fd, "dst", NULL, 0644, 0, 0), NB_E_MD5);
	assert_int_equal(p.fd, -1);
	char *dst = tu_join(f->dir, "dst");
	assert_false(exists(dst));
	assert_false(exists(f->partial_path));
	free(dst);
	/* a later attempt starts from zero */
	open_new(f, &p);
	nb_partial_close(&p, 1);
}

static void test_publish_ok(void **state)
{
	struct fx *f = *state;
	struct nb_partial p;
	struct stat st;
	char *sub = tu_join(f->dir, "sub");
	assert_int_equal(mkdir(sub, 0755), 0);
	int dirfd = open(sub, O_RDONLY | O_DIRECTORY);
	assert_true(dirfd >= 0);
	/* an older file of the same name is replaced */
	char *dst = tu_join(sub, "file.bin");
	assert_int_equal(tu_write_file(dst, "old", 3), 0);

	open_new(f, &p);
	for (size_t off = 0; off < SIZE; off += 777) {
		size_t n = SIZE - off < 777 ? SIZE - off : 777;
		assert_int_equal(nb_partial_write(&p, off, f->content + off, n), 0);
	}
	assert_int_equal(nb_partial_publish(&p, dirfd, "file.bin", NULL, 0640, 1234567890, 987654321),
			 0);
	assert_int_equal(p.fd, -1);
	assert_false(exists(f->partial_path));
	size_t n = 0;
	char *got = tu_read_file(dst, &n);
	assert_non_null(got);
	assert_int_equal(n, SIZE);
	assert_memory_equal(got, f->content, SIZE);
	free(got);
	assert_int_equal(lstat(dst, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_mtim.tv_sec, 1234567890);
	assert_int_equal(st.st_mtim.tv_nsec, 987654321);

	if (f->xattrs) {
		assert_int_equal(nb_partial_matches(dirfd, "file.bin", f->md5, SIZE), 1);
		char val[128];
		ssize_t k = getxattr(dst, "user.nbfs.content", val, sizeof(val) - 1);
		assert_true(k > 0);
		val[k] = 0;
		char want[128];
		snprintf(want, sizeof(want), "%s %d 1234567890 987654321", f->hex, SIZE);
		assert_string_equal(val, want);
	}
	/* Wrong MD5 or size never match. */
	uint8_t other[NB_MD5_LEN];
	memcpy(other, f->md5, NB_MD5_LEN);
	other[0] ^= 1;
	assert_int_equal(nb_partial_matches(dirfd, "file.bin", other, SIZE), 0);
	assert_int_equal(nb_partial_matches(dirfd, "file.bin", f->md5, SIZE - 1), 0);
	assert_int_equal(nb_partial_matches(dirfd, "missing", f->md5, SIZE), 0);

	/* Modified in place, same size: the record no longer matches. */
	int fd = open(dst, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "X", 1, 10), 1);
	close(fd);
	assert_int_equal(nb_partial_matches(dirfd, "file.bin", f->md5, SIZE), 0);

	close(dirfd);
	free(dst);
	free(sub);
}

/* Only the mtime changes (e.g. touch): no longer a match either. */
static void test_matches_mtime_change(void **state)
{
	struct fx *f = *state;
	struct nb_partial p;
	if (!f->xattrs) {
		skip();
		return;
	}
	open_new(f, &p);
	assert_int_equal(nb_partial_write(&p, 0, f->content, SIZE), 0);
	assert_int_equal(nb_partial_publish(&p, f->root.fd, "t", NULL, 0600, 1000, 0), 0);
	assert_int_equal(nb_partial_matches(f->root.fd, "t", f->md5, SIZE), 1);
	struct timespec ts[2] = {{0, UTIME_OMIT}, {1001, 0}};
	assert_int_equal(utimensat(f->root.fd, "t", ts, 0), 0);
	assert_int_equal(nb_partial_matches(f->root.fd, "t", f->md5, SIZE), 0);
	/* a symlink to a matching file is not a match */
	assert_int_equal(symlinkat("t", f->root.fd, "link"), 0);
	ts[1].tv_sec = 1000;
	assert_int_equal(utimensat(f->root.fd, "t", ts, 0), 0);
	assert_int_equal(nb_partial_matches(f->root.fd, "t", f->md5, SIZE), 1);
	assert_int_equal(nb_partial_matches(f->root.fd, "link", f->md5, SIZE), 0);
}

/* A partial longer than the announced size cannot be its prefix. */
static void test_open_truncates_oversized(void **state)
{
	struct fx *f = *state;
	struct nb_partial p;
	open_new(f, &p);
	nb_partial_close(&p, 0);
	uint8_t big[SIZE + 10];
	memset(big, 'b', sizeof(big));
	assert_int_equal(tu_write_file(f->partial_path, big, sizeof(big)), 0);
	open_new(f, &p);
	assert_int_equal(file_size(f->partial_path), 0);
	nb_partial_close(&p, 1);
}

/* A symlink planted where the partial lives is never written through. */
static void test_symlink_partial(void **state)
{
	struct fx *f = *state;
	struct nb_partial p;
	open_new(f, &p);
	nb_partial_close(&p, 1);
	char *victim = tu_join(f->dir, "victim");
	assert_int_equal(tu_write_file(victim, "keep", 4), 0);
	assert_int_equal(symlink(victim, f->partial_path), 0);
	uint64_t off;
	uint8_t prefix[NB_MD5_LEN];
	assert_int_equal(nb_partial_open(&p, &f->root, f->md5, SIZE, &off, prefix), -ELOOP);
	size_t n;
	char *s = tu_read_file(victim, &n);
	assert_string_equal(s, "keep");
	free(s);
	free(victim);
}

static void test_close_discard(void **state)
{
	struct fx *f = *state;
	struct nb_partial p;
	open_new(f, &p);
	assert_int_equal(nb_partial_write(&p, 0, f->content, 10), 0);
	nb_partial_close(&p, 1);
	assert_false(exists(f->partial_path));
	/* closing twice is harmless */
	nb_partial_close(&p, 1);
	open_new(f, &p);
	nb_partial_close(&p, 0);
}

/* Scratch files (PUT_SMALL): unique, created exclusively, locked while
 * their session holds them; the sweep removes them as soon as nobody
 * does, whatever their age, and stale partials only after theirs. */
static void test_scratch_and_sweep(void **state)
{
	struct fx *f = *state;
	char n1[NB_PARTIAL_SCRATCH_NAME], n2[NB_PARTIAL_SCRATCH_NAME];
	int dirfd = nb_partial_dirfd(&f->root);
	assert_true(dirfd >= 0);
	int fd1 = nb_partial_scratch(dirfd, n1);
	int fd2 = nb_partial_scratch(dirfd, n2);
	assert_true(fd1 >= 0 && fd2 >= 0);
	assert_string_not_equal(n1, n2);
	assert_memory_equal(n1, NB_PARTIAL_SCRATCH_PREFIX, strlen(NB_PARTIAL_SCRATCH_PREFIX));
	/* locked: another open file description cannot take it */
	int probe = openat(dirfd, n1, O_RDONLY | O_CLOEXEC);
	assert_true(probe >= 0);
	assert_int_equal(flock(probe, LOCK_EX | LOCK_NB), -1);
	assert_int_equal(errno, EWOULDBLOCK);
	close(probe);
	/* a partial two hours old, one just written */
	struct nb_partial p;
	open_new(f, &p);
	assert_int_equal(nb_partial_write(&p, 0, f->content, 10), 0);
	nb_partial_close(&p, 0);
	struct timespec old[2] = {{0, UTIME_OMIT}, {time(NULL) - 7200, 0}};
	assert_int_equal(utimensat(AT_FDCWD, f->partial_path, old, 0), 0);
	uint8_t md5b[NB_MD5_LEN];
	uint64_t off;
	uint8_t prefix[NB_MD5_LEN];
	nb_md5_buf("young", 5, md5b);
	assert_int_equal(nb_partial_open(&p, &f->root, md5b, 5, &off, prefix), 0);
	nb_partial_close(&p, 0);
	assert_int_equal(tu_count_entries(path_of(f, ".nbfs/partial")), 4);

	/* n2's session is gone; n1's is not; a day's age limit */
	close(fd2);
	assert_int_equal(nb_partial_sweep(&f->root, 86400), 1);
	assert_int_equal(faccessat(dirfd, n2, F_OK, AT_SYMLINK_NOFOLLOW), -1);
	assert_int_equal(faccessat(dirfd, n1, F_OK, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(exists(f->partial_path));
	/* an hour's limit takes the old partial too, still not n1 */
	assert_int_equal(nb_partial_sweep(&f->root, 3600), 1);
	assert_false(exists(f->partial_path));
	assert_int_equal(faccessat(dirfd, n1, F_OK, AT_SYMLINK_NOFOLLOW), 0);
	close(fd1);
	assert_int_equal(nb_partial_sweep(&f->root, 86400), 1);
	assert_int_equal(tu_count_entries(path_of(f, ".nbfs/partial")), 1); /* the young one */
	close(dirfd);
}

/* May content go over what the path holds, given the client's base? */
static void test_check_base(void **state)
{
	struct fx *f = *state;
	int root = f->root.fd;
	struct nb_base any = {NB_BASE_ANY, 0, 0, 0}, absent = {NB_BASE_ABSENT, 0, 0, 0};
	assert_int_equal(tu_write_file(path_of(f, "held"), "12345", 5), 0);
	struct timespec ts[2] = {{0, UTIME_OMIT}, {1500, 7}};
	assert_int_equal(utimensat(root, "held", ts, 0), 0);
	struct nb_base match = {NB_BASE_MATCH, 5, 1500, 7}, stale = {NB_BASE_MATCH, 5, 1500, 8};
	assert_int_equal(nb_partial_check_base(root, "held", &any, f->md5, SIZE), 0);
	assert_int_equal(nb_partial_check_base(root, "held", &match, f->md5, SIZE), 0);
	assert_int_equal(nb_partial_check_base(root, "held", &stale, f->md5, SIZE), -EEXIST);
	assert_int_equal(nb_partial_check_base(root, "held", &absent, f->md5, SIZE), -EEXIST);
	/* nothing there: no conflict, whatever the base */
	assert_int_equal(nb_partial_check_base(root, "none", &match, f->md5, SIZE), 0);
	assert_int_equal(nb_partial_check_base(root, "none", &absent, f->md5, SIZE), 0);
	/* a directory where a file was based on */
	assert_int_equal(mkdirat(root, "dir", 0755), 0);
	struct nb_base dirbase = {NB_BASE_MATCH, 0, 0, 0};
	assert_int_equal(nb_partial_check_base(root, "dir", &dirbase, f->md5, SIZE), -EEXIST);
	/* exactly the content being published: not a conflict */
	if (f->xattrs) {
		struct nb_partial p;
		open_new(f, &p);
		assert_int_equal(nb_partial_write(&p, 0, f->content, SIZE), 0);
		assert_int_equal(nb_partial_publish(&p, root, "mine", NULL, 0644, 1, 2), 0);
		assert_int_equal(nb_partial_check_base(root, "mine", &absent, f->md5, SIZE), 0);
		assert_int_equal(nb_partial_check_base(root, "mine", &stale, f->md5, SIZE), 0);
		uint8_t other[NB_MD5_LEN];
		nb_md5_buf("x", 1, other);
		assert_int_equal(nb_partial_check_base(root, "mine", &absent, other, 1), -EEXIST);
	}
}

/* Each partial keeps its own writes: with two large uploads open and
 * their data interleaved, each reaches its file as its own buffers fill
 * (around the page cache, from a writer thread: server/appender.h) or,
 * where the filesystem refuses that, starts its own writeback every
 * 8 MiB, so the fsync at PUT_END has little left to do. Direct: the
 * file is at most two buffers behind (one being written, one filling);
 * plain: the writeback started at the last 8 MiB step. */
static void assert_written(const struct nb_partial *p, uint64_t appended)
{
	struct stat st;
	assert_int_equal(fstat(p->fd, &st), 0);
	if (p->out.direct) {
		assert_true((uint64_t)st.st_size <= appended);
		assert_true((uint64_t)st.st_size + 2 * NB_APPENDER_BUF >= appended);
	} else {
		assert_true((uint64_t)st.st_size == appended);
		assert_true(p->out.flushed == appended / NB_APPENDER_FLUSH_STEP * NB_APPENDER_FLUSH_STEP);
	}
}

static void test_writeback_two_open(void **state)
{
	struct fx *f = *state;
	enum { MB = 1024 * 1024, TOTAL = 20 * MB };
	struct nb_partial p, q;
	uint8_t m1[NB_MD5_LEN], m2[NB_MD5_LEN], prefix[NB_MD5_LEN];
	uint64_t off;
	uint8_t *chunk = calloc(1, MB);
	nb_md5_buf("one", 3, m1);
	nb_md5_buf("two", 3, m2);
	assert_int_equal(nb_partial_open(&p, &f->root, m1, TOTAL, &off, prefix), 0);
	assert_int_equal(nb_partial_open(&q, &f->root, m2, TOTAL, &off, prefix), 0);
	for (uint64_t i = 0; i < 10; i++) {
		assert_int_equal(nb_partial_write(&p, i * MB, chunk, MB), 0);
		assert_int_equal(nb_partial_write(&q, i * MB, chunk, MB), 0);
		assert_written(&p, (i + 1) * MB);
		assert_written(&q, (i + 1) * MB);
	}
	for (uint64_t i = 10; i < 17; i++)
		assert_int_equal(nb_partial_write(&q, i * MB, chunk, MB), 0);
	assert_written(&q, 17 * MB);
	assert_written(&p, 10 * MB);
	/* Closed without publishing (the connection went): everything
	 * that arrived is in the file for a resumed upload. */
	nb_partial_close(&q, 0);
	assert_int_equal(nb_partial_open(&q, &f->root, m2, TOTAL, &off, prefix), 0);
	assert_true(off == 17 * MB);
	nb_partial_close(&p, 1);
	nb_partial_close(&q, 1);
	free(chunk);
}

struct publisher {
	struct fx *f;
	struct nb_partial p;
	struct nb_base base;
	int r;
};

static void *publish_thread(void *arg)
{
	struct publisher *u = arg;
	u->r = nb_partial_publish(&u->p, u->f->root.fd, "race", &u->base, 0644, 1, 2);
	return NULL;
}

/* Two mounts publish to one new name: the check of the base and the
 * rename happen under the root's publish lock, so the one that comes
 * second sees the other's file and answers a conflict (keeping its
 * partial) instead of replacing that file unseen. */
static void test_publish_under_lock(void **state)
{
	struct fx *f = *state;
	struct publisher u = {.f = f, .base = {.kind = NB_BASE_ABSENT}};
	open_new(f, &u.p);
	assert_int_equal(nb_partial_write(&u.p, 0, f->content, SIZE), 0);
	/* The other mount's session holds the lock. */
	int pdir = open(path_of(f, ".nbfs/partial"), O_RDONLY | O_DIRECTORY);
	assert_true(pdir >= 0);
	int other = nb_publock_take(pdir);
	assert_true(other >= 0);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, publish_thread, &u), 0);
	usleep(200 * 1000);
	assert_false(exists(path_of(f, "race"))); /* waits for the lock */
	/* ... while the other publishes its own version there. */
	assert_int_equal(tu_write_file(path_of(f, "race"), "theirs", 6), 0);
	nb_publock_drop(other);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(u.r, -EEXIST);
	size_t n = 0;
	char *got = tu_read_file(path_of(f, "race"), &n);
	assert_int_equal(n, 6);
	assert_memory_equal(got, "theirs", 6);
	free(got);
	assert_true(exists(f->partial_path)); /* kept for the conflict copy */
	assert_int_equal(file_size(f->partial_path), SIZE);
	/* The lock is free again, and lives beside the partials. */
	int again = nb_publock_take(pdir);
	assert_true(again >= 0);
	nb_publock_drop(again);
	assert_true(exists(path_of(f, ".nbfs/publish.lock")));
	close(pdir);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_open_write_reopen),
		T(test_busy),
		T(test_write_offsets),
		T(test_publish_incomplete),
		T(test_publish_wrong_content),
		T(test_publish_ok),
		T(test_matches_mtime_change),
		T(test_open_truncates_oversized),
		T(test_symlink_partial),
		T(test_close_discard),
		T(test_scratch_and_sweep),
		T(test_check_base),
		T(test_writeback_two_open),
		T(test_publish_under_lock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
