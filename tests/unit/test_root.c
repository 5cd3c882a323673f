/* Unit tests for server/root.c: confinement of client paths. */
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

#include "server/root.h"
#include "testutil.h"
#include "wire/pathname.h"

/*
 * Layout (base is a fresh temp dir):
 *   base/outside/secret          "top secret"      <- must never be reached
 *   base/root/sub/               0755
 *   base/root/sub/inner          "inner"
 *   base/root/file               "data"
 *   base/root/out      -> base/outside             (absolute symlink)
 *   base/root/in       -> sub                      (relative, stays inside)
 *   base/root/sub/up   -> ../../outside            (relative, escapes)
 *   base/root/dangling -> base/outside/newdir      (target does not exist)
 *   base/root/etc      -> /etc
 */
struct fx {
	char *base, *root, *outside;
	struct nb_root r;
	struct stat outside_st;
};

static char *path2(const char *a, const char *b)
{
	char *s = tu_join(a, b);
	assert_non_null(s);
	return s;
}

static void mk(const char *dir, const char *rel, const char *content)
{
	char *p = path2(dir, rel);
	assert_int_equal(tu_write_file(p, content, strlen(content)), 0);
	free(p);
}

static void ln(const char *target, const char *dir, const char *rel)
{
	char *p = path2(dir, rel);
	assert_int_equal(symlink(target, p), 0);
	free(p);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	umask(022);
	f->base = tu_mkdtemp("root");
	assert_non_null(f->base);
	f->root = path2(f->base, "root");
	f->outside = path2(f->base, "outside");
	assert_int_equal(mkdir(f->root, 0755), 0);
	assert_int_equal(mkdir(f->outside, 0700), 0);
	mk(f->outside, "secret", "top secret");
	char *sub = path2(f->root, "sub");
	assert_int_equal(mkdir(sub, 0755), 0);
	mk(sub, "inner", "inner");
	free(sub);
	mk(f->root, "file", "data");
	ln(f->outside, f->root, "out");
	ln("sub", f->root, "in");
	ln("../../outside", f->root, "sub/up");
	char *newdir = path2(f->outside, "newdir");
	ln(newdir, f->root, "dangling");
	free(newdir);
	ln("/etc", f->root, "etc");
	assert_int_equal(stat(f->outside, &f->outside_st), 0);
	assert_int_equal(nb_root_open(&f->r, f->root), 0);
	*state = f;
	return 0;
}

/* The outside directory still holds exactly its secret, unchanged. */
static void assert_outside_untouched(const struct fx *f)
{
	assert_int_equal(tu_count_entries(f->outside), 1);
	char *p = path2(f->outside, "secret");
	size_t n = 0;
	char *s = tu_read_file(p, &n);
	assert_non_null(s);
	assert_string_equal(s, "top secret");
	struct stat st;
	assert_int_equal(stat(f->outside, &st), 0);
	assert_int_equal(st.st_mode, f->outside_st.st_mode);
	assert_int_equal(st.st_mtim.tv_sec, f->outside_st.st_mtim.tv_sec);
	assert_int_equal(st.st_mtim.tv_nsec, f->outside_st.st_mtim.tv_nsec);
	free(s);
	free(p);
}

static int teardown(void **state)
{
	struct fx *f = *state;
	/* Check before cleaning up, but clean up even if the check fails. */
	int entries = tu_count_entries(f->outside);
	nb_root_close(&f->r);
	tu_rmtree(f->base);
	free(f->base);
	free(f->root);
	free(f->outside);
	free(f);
	assert_int_equal(entries, 1);
	return 0;
}

static void expect_parent(struct fx *f, const char *path, int create, int want)
{
	int dirfd = -1;
	const char *leaf = NULL;
	int r = nb_root_parent(&f->r, path, create, &dirfd, &leaf);
	if (r == 0)
		close(dirfd);
	if (r != want)
		fail_msg("nb_root_parent(\"%s\", %d) = %d, want %d", path, create, r, want);
}

static void test_parent_ok(void **state)
{
	struct fx *f = *state;
	int dirfd = -1;
	const char *leaf = NULL;
	struct stat a, b;

	/* top-level leaf: the parent is the root itself */
	const char *p1 = "newfile";
	assert_int_equal(nb_root_parent(&f->r, p1, -1, &dirfd, &leaf), 0);
	assert_ptr_equal(leaf, p1);
	assert_int_equal(fstat(dirfd, &a), 0);
	assert_int_equal(stat(f->root, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_int_not_equal(dirfd, f->r.fd);
	close(dirfd);

	const char *p2 = "sub/inner";
	assert_int_equal(nb_root_parent(&f->r, p2, -1, &dirfd, &leaf), 0);
	assert_ptr_equal(leaf, p2 + 4);
	assert_string_equal(leaf, "inner");
	assert_int_equal(fstatat(dirfd, leaf, &a, 0), 0);
	assert_true(S_ISREG(a.st_mode));
	close(dirfd);

	/* missing parents: -ENOENT without create, made with it */
	expect_parent(f, "x/y/z", -1, -ENOENT);
	char *x = path2(f->root, "x");
	assert_int_equal(access(x, F_OK), -1);
	const char *p3 = "x/y/z";
	assert_int_equal(nb_root_parent(&f->r, p3, 0700, &dirfd, &leaf), 0);
	assert_string_equal(leaf, "z");
	close(dirfd);
	char *xy = path2(f->root, "x/y");
	assert_int_equal(stat(xy, &a), 0);
	assert_true(S_ISDIR(a.st_mode));
	assert_int_equal(a.st_mode & 07777, 0700);
	char *xyz = path2(f->root, "x/y/z");
	assert_int_equal(access(xyz, F_OK), -1); /* the leaf itself is not made */
	free(x);
	free(xy);
	free(xyz);
}

static void test_parent_rejects_bad_paths(void **state)
{
	struct fx *f = *state;
	expect_parent(f, "", -1, -EINVAL);
	expect_parent(f, "..", 0755, -EINVAL);
	expect_parent(f, "../x", 0755, -EINVAL);
	expect_parent(f, "/etc/passwd", 0755, -EINVAL);
	expect_parent(f, "a/../../x", 0755, -EINVAL);
	expect_parent(f, "sub/../../outside/secret", -1, -EINVAL);
	expect_parent(f, "a//b", 0755, -EINVAL);
	expect_parent(f, ".nbfs/x", 0755, -EPERM);
	/* nothing was created by any of them */
	char *a = path2(f->root, "a");
	assert_int_equal(access(a, F_OK), -1);
	free(a);
}

static void test_parent_never_follows_symlinks(void **state)
{
	struct fx *f = *state;
	static const char *const paths[] = {
		"out/secret", "out/x", "out/newdir/x", "in/inner", "in/x", "sub/up/secret",
		"sub/up/x",   "dangling/x", "etc/passwd", "file/x",
	};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		expect_parent(f, paths[i], -1, -ENOTDIR);
		/* creating missing directories must not go through them either */
		expect_parent(f, paths[i], 0755, -ENOTDIR);
	}
	/* a deeper path below a link with create: nothing made outside */
	expect_parent(f, "out/a/b/c", 0755, -ENOTDIR);
	expect_parent(f, "dangling/a/b", 0755, -ENOTDIR);
	assert_outside_untouched(f);
	/* and the inside link target got nothing new either */
	char *sub = path2(f->root, "sub");
	assert_int_equal(tu_count_entries(sub), 2); /* inner, up */
	free(sub);
}

static void test_opendir(void **state)
{
	struct fx *f = *state;
	struct stat a, b;
	int fd = nb_root_opendir(&f->r, "");
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(stat(f->root, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	close(fd);
	fd = nb_root_opendir(&f->r, "sub");
	assert_true(fd >= 0);
	assert_int_equal(fstatat(fd, "inner", &a, 0), 0);
	close(fd);

	assert_int_equal(nb_root_opendir(&f->r, "out"), -ENOTDIR);
	assert_int_equal(nb_root_opendir(&f->r, "in"), -ENOTDIR);
	assert_int_equal(nb_root_opendir(&f->r, "sub/up"), -ENOTDIR);
	assert_int_equal(nb_root_opendir(&f->r, "dangling"), -ENOTDIR);
	assert_int_equal(nb_root_opendir(&f->r, "etc"), -ENOTDIR);
	assert_int_equal(nb_root_opendir(&f->r, "file"), -ENOTDIR);
	assert_int_equal(nb_root_opendir(&f->r, "missing"), -ENOENT);
	assert_int_equal(nb_root_opendir(&f->r, ".."), -EINVAL);
	assert_int_equal(nb_root_opendir(&f->r, "/etc"), -EINVAL);
	assert_int_equal(nb_root_opendir(&f->r, "sub/../.."), -EINVAL);
	assert_int_equal(nb_root_opendir(&f->r, ".nbfs"), -EPERM);
}

static void test_stat(void **state)
{
	struct fx *f = *state;
	struct stat st;
	assert_int_equal(nb_root_stat(&f->r, "", &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(nb_root_stat(&f->r, "file", &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 4);
	assert_int_equal(nb_root_stat(&f->r, "sub/inner", &st), 0);
	assert_int_equal(st.st_size, 5);
	/* A symlink is reported as itself, never as its target. */
	assert_int_equal(nb_root_stat(&f->r, "out", &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(nb_root_stat(&f->r, "in", &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(nb_root_stat(&f->r, "dangling", &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	/* and never walked through */
	assert_int_equal(nb_root_stat(&f->r, "out/secret", &st), -ENOTDIR);
	assert_int_equal(nb_root_stat(&f->r, "in/inner", &st), -ENOTDIR);
	assert_int_equal(nb_root_stat(&f->r, "sub/up/secret", &st), -ENOTDIR);
	assert_int_equal(nb_root_stat(&f->r, "etc/passwd", &st), -ENOTDIR);
	assert_int_equal(nb_root_stat(&f->r, "missing", &st), -ENOENT);
	assert_int_equal(nb_root_stat(&f->r, "sub/missing", &st), -ENOENT);
	assert_int_equal(nb_root_stat(&f->r, "..", &st), -EINVAL);
	assert_int_equal(nb_root_stat(&f->r, "/etc/passwd", &st), -EINVAL);
	assert_int_equal(nb_root_stat(&f->r, "a/../../x", &st), -EINVAL);
	assert_int_equal(nb_root_stat(&f->r, ".nbfs", &st), -EPERM);
}

static void test_mkdir(void **state)
{
	struct fx *f = *state;
	struct stat st;
	assert_int_equal(nb_root_mkdir(&f->r, "m/n/o", 0750), 0);
	char *m = path2(f->root, "m"), *mn = path2(f->root, "m/n"), *mno = path2(f->root, "m/n/o");
	/* the leaf gets exactly the mode asked for (umask not applied) ... */
	assert_int_equal(stat(mno, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0750);
	/* ... missing parents are plain 0755 directories */
	assert_int_equal(stat(mn, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(stat(m, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);

	/* the mode is exact even where the umask would strip bits */
	assert_int_equal(nb_root_mkdir(&f->r, "wide", 0777), 0);
	char *wide = path2(f->root, "wide");
	assert_int_equal(stat(wide, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0777);
	/* an existing directory just gets the mode */
	assert_int_equal(nb_root_mkdir(&f->r, "m/n/o", 0700), 0);
	assert_int_equal(stat(mno, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	/* only permission bits are taken from mode */
	assert_int_equal(nb_root_mkdir(&f->r, "typed", S_IFREG | 0711), 0);
	char *typed = path2(f->root, "typed");
	assert_int_equal(stat(typed, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0711);
	free(m);
	free(mn);
	free(mno);
	free(wide);
	free(typed);
}

static void test_mkdir_refuses(void **state)
{
	struct fx *f = *state;
	struct stat before, after;
	char *sub = path2(f->root, "sub");
	assert_int_equal(stat(sub, &before), 0);

	/* A symlink as the leaf: neither it nor its target is chmod'ed. */
	assert_int_equal(nb_root_mkdir(&f->r, "out", 0777), -ENOTDIR);
	assert_int_equal(nb_root_mkdir(&f->r, "in", 0777), -ENOTDIR);
	assert_int_equal(nb_root_mkdir(&f->r, "dangling", 0777), -ENOTDIR);
	assert_int_equal(nb_root_mkdir(&f->r, "sub/up", 0777), -ENOTDIR);
	/* A symlink on the way. */
	assert_int_equal(nb_root_mkdir(&f->r, "out/x", 0777), -ENOTDIR);
	assert_int_equal(nb_root_mkdir(&f->r, "out/x/y", 0777), -ENOTDIR);
	assert_int_equal(nb_root_mkdir(&f->r, "in/x", 0777), -ENOTDIR);
	assert_int_equal(nb_root_mkdir(&f->r, "sub/up/x", 0777), -ENOTDIR);
	assert_int_equal(nb_root_mkdir(&f->r, "dangling/x", 0777), -ENOTDIR);
	assert_int_equal(nb_root_mkdir(&f->r, "etc/x", 0777), -ENOTDIR);
	/* A file in the way. */
	assert_int_equal(nb_root_mkdir(&f->r, "file", 0777), -ENOTDIR);
	assert_int_equal(nb_root_mkdir(&f->r, "file/x", 0777), -ENOTDIR);
	/* Bad names. */
	assert_int_equal(nb_root_mkdir(&f->r, "", 0777), -EINVAL);
	assert_int_equal(nb_root_mkdir(&f->r, "..", 0777), -EINVAL);
	assert_int_equal(nb_root_mkdir(&f->r, "../escape", 0777), -EINVAL);
	assert_int_equal(nb_root_mkdir(&f->r, "/tmp/escape", 0777), -EINVAL);
	assert_int_equal(nb_root_mkdir(&f->r, "a/../../x", 0777), -EINVAL);
	assert_int_equal(nb_root_mkdir(&f->r, ".nbfs", 0777), -EPERM);
	assert_int_equal(nb_root_mkdir(&f->r, ".nbfs/partial", 0777), -EPERM);

	assert_int_equal(stat(sub, &after), 0);
	assert_int_equal(after.st_mode, before.st_mode);
	assert_int_equal(tu_count_entries(sub), 2);
	assert_outside_untouched(f);
	/* nothing new in the root: sub file out in dangling etc */
	assert_int_equal(tu_count_entries(f->root), 6);
	char *escape = path2(f->base, "escape");
	assert_int_equal(access(escape, F_OK), -1);
	free(escape);
	free(sub);
}

/* Paths past PATH_MAX resolve a component at a time, as any other. */
static void test_deep_paths(void **state)
{
	struct fx *f = *state;
	char *p = malloc(NB_PATH_MAX + 1);
	assert_non_null(p);
	size_t n = 0;
	while (n < 16384) { /* 69 components of 240 bytes */
		if (n)
			p[n++] = '/';
		memset(p + n, 'd', 240);
		n += 240;
	}
	p[n] = 0;
	assert_int_equal(nb_root_mkdir(&f->r, p, 0700), 0);
	struct stat st;
	assert_int_equal(nb_root_stat(&f->r, p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	int fd = nb_root_opendir(&f->r, p);
	assert_true(fd >= 0);
	close(fd);
	/* and away again, deepest first */
	while (n > 0) {
		int dirfd;
		const char *leaf;
		assert_int_equal(nb_root_parent(&f->r, p, -1, &dirfd, &leaf), 0);
		assert_int_equal(unlinkat(dirfd, leaf, AT_REMOVEDIR), 0);
		close(dirfd);
		n = nb_path_parent_len(p);
		p[n] = 0;
	}
	/* one byte over the cap is refused before any walk */
	memset(p, 'x', NB_PATH_MAX);
	for (size_t i = 200; i < NB_PATH_MAX; i += 201)
		p[i] = '/';
	p[NB_PATH_MAX] = 0;
	assert_int_equal(nb_root_stat(&f->r, p, &st), -ENOENT);
	char *q = tu_join(p, "x");
	assert_int_equal(nb_root_stat(&f->r, q, &st), -ENAMETOOLONG);
	free(q);
	free(p);
}

static void test_open_missing_root(void **state)
{
	(void)state;
	struct nb_root r;
	assert_int_equal(nb_root_open(&r, "/nonexistent/nbfs/root"), -ENOENT);
	assert_int_equal(nb_root_open(&r, "/etc/passwd"), -ENOTDIR);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_parent_ok),
	    T(test_parent_rejects_bad_paths),
	    T(test_parent_never_follows_symlinks),
	    T(test_opendir),
	    T(test_stat),
	    T(test_mkdir),
	    T(test_mkdir_refuses),
	    T(test_deep_paths),
	    cmocka_unit_test(test_open_missing_root),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
