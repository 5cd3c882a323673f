/* Unit tests for wire/longpath.c: *at() calls on paths past PATH_MAX. */
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
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "wire/longpath.h"

/* 70 directories of 240-byte names: a parent path of about 16.8 KiB. */
#define DEPTH 70
#define NAMELEN 240

struct fixture {
	char *base; /* scratch directory */
	int fd;	    /* open on it */
	char *deep; /* "d00.../d01.../...": DEPTH components, relative to fd */
};

static void component(char *out, int i)
{
	memset(out, 'a' + i % 26, NAMELEN);
	snprintf(out, 4, "%03d", i);
	out[3] = 'x';
	out[NAMELEN] = 0;
}

/* Build the deep tree one directory at a time, without the module. */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_non_null(f->base = tu_mkdtemp("longpath"));
	assert_true((f->fd = open(f->base, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0);
	f->deep = calloc(1, DEPTH * (NAMELEN + 1) + 1);
	assert_non_null(f->deep);
	int dfd = dup(f->fd);
	size_t len = 0;
	for (int i = 0; i < DEPTH; i++) {
		char name[NAMELEN + 1];
		component(name, i);
		assert_int_equal(mkdirat(dfd, name, 0755), 0);
		int next = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		assert_true(next >= 0);
		close(dfd);
		dfd = next;
		len += (size_t)sprintf(f->deep + len, "%s%s", i ? "/" : "", name);
	}
	close(dfd);
	assert_true(strlen(f->deep) > 16384);
	*state = f;
	return 0;
}

/* Remove everything below dirfd (nftw cannot: its paths would pass
 * PATH_MAX). */
static void rm_below(int dfd)
{
	DIR *d = fdopendir(dfd);
	assert_non_null(d);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			continue;
		int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		assert_true(sub >= 0);
		rm_below(sub);
		assert_int_equal(unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR), 0);
	}
	closedir(d);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	rm_below(dup(f->fd));
	close(f->fd);
	tu_rmtree(f->base);
	free(f->base);
	free(f->deep);
	free(f);
	return 0;
}

/* deep + "/" + leaf, malloc'd. */
static char *below(struct fixture *f, const char *leaf)
{
	return tu_join(f->deep, leaf);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void test_kernel_refuses(void **state)
{
	/* What the module is for: the plain call cannot take this path. */
	struct fixture *f = *state;
	struct stat st;
	assert_int_equal(fstatat(f->fd, f->deep, &st, 0), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	assert_int_equal(nb_longpath_fstatat(f->fd, f->deep, &st, 0), 0);
	assert_true(S_ISDIR(st.st_mode));
}

static void test_file_life(void **state)
{
	struct fixture *f = *state;
	int before = count_fds();
	char *p = below(f, "file"), *q = below(f, "renamed");
	int fd = nb_longpath_openat(f->fd, p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "hello", 5), 5);
	close(fd);
	/* O_EXCL still holds at the leaf */
	assert_int_equal(nb_longpath_openat(f->fd, p, O_WRONLY | O_CREAT | O_EXCL, 0640), -1);
	assert_int_equal(errno, EEXIST);

	struct stat st;
	assert_int_equal(nb_longpath_fstatat(f->fd, p, &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(st.st_size, 5);
	assert_int_equal(nb_longpath_fchmodat(f->fd, p, 0604, 0), 0);
	assert_int_equal(nb_longpath_fstatat(f->fd, p, &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0604);

	struct timespec tv[2] = {{1000, 5}, {2000, 7}};
	assert_int_equal(nb_longpath_utimensat(f->fd, p, tv, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(nb_longpath_fstatat(f->fd, p, &st, 0), 0);
	assert_int_equal(st.st_mtim.tv_sec, 2000);
	assert_int_equal(st.st_mtim.tv_nsec, 7);
	assert_int_equal(nb_longpath_fchownat(f->fd, p, (uid_t)-1, getgid(), AT_SYMLINK_NOFOLLOW), 0);

	/* rename between two long paths, with and without flags */
	assert_int_equal(nb_longpath_renameat2(f->fd, p, f->fd, q, RENAME_NOREPLACE), 0);
	assert_int_equal(nb_longpath_fstatat(f->fd, p, &st, 0), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(nb_longpath_renameat2(f->fd, q, f->fd, p, 0), 0);

	fd = nb_longpath_openat(f->fd, p, O_RDONLY | O_CLOEXEC, 0);
	assert_true(fd >= 0);
	char buf[8] = {0};
	assert_int_equal(read(fd, buf, sizeof(buf)), 5);
	assert_string_equal(buf, "hello");
	close(fd);

	/* a long path to a short one and back */
	assert_int_equal(nb_longpath_renameat2(f->fd, p, f->fd, "top", 0), 0);
	assert_int_equal(nb_longpath_fstatat(f->fd, "top", &st, 0), 0);
	assert_int_equal(nb_longpath_renameat2(f->fd, "top", f->fd, p, 0), 0);

	assert_int_equal(nb_longpath_unlinkat(f->fd, p, 0), 0);
	assert_int_equal(nb_longpath_unlinkat(f->fd, p, 0), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(count_fds(), before); /* nothing left open */
	free(p);
	free(q);
}

static void test_dirs_links_nodes(void **state)
{
	struct fixture *f = *state;
	int before = count_fds();
	char *d = below(f, "sub"), *l = below(f, "link"), *n = below(f, "fifo");
	assert_int_equal(nb_longpath_mkdirat(f->fd, d, 0700), 0);
	assert_int_equal(nb_longpath_mkdirat(f->fd, d, 0700), -1);
	assert_int_equal(errno, EEXIST);
	int fd = nb_longpath_openat(f->fd, d, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(nb_longpath_unlinkat(f->fd, d, AT_REMOVEDIR), 0);

	assert_int_equal(nb_longpath_symlinkat("some/target", f->fd, l), 0);
	char buf[64];
	ssize_t k = nb_longpath_readlinkat(f->fd, l, buf, sizeof(buf));
	assert_int_equal(k, 11);
	assert_memory_equal(buf, "some/target", 11);
	/* O_NOFOLLOW at the leaf is the caller's, as with openat() */
	assert_int_equal(nb_longpath_openat(f->fd, l, O_RDONLY | O_NOFOLLOW, 0), -1);
	assert_int_equal(errno, ELOOP);
	assert_int_equal(nb_longpath_unlinkat(f->fd, l, 0), 0);

	assert_int_equal(nb_longpath_mknodat(f->fd, n, S_IFIFO | 0600, 0), 0);
	struct stat st;
	assert_int_equal(nb_longpath_fstatat(f->fd, n, &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(nb_longpath_unlinkat(f->fd, n, 0), 0);
	assert_int_equal(count_fds(), before);
	free(d);
	free(l);
	free(n);
}

static void test_walk_errors(void **state)
{
	struct fixture *f = *state;
	int before = count_fds();
	struct stat st;
	/* a missing directory on the way */
	char *p = below(f, "nothere/file");
	assert_int_equal(nb_longpath_fstatat(f->fd, p, &st, 0), -1);
	assert_int_equal(errno, ENOENT);
	free(p);

	/* a symlink on the way is not followed, though it leads to a
	 * directory */
	char *l = below(f, "up");
	assert_int_equal(nb_longpath_symlinkat(".", f->fd, l), 0);
	p = below(f, "up/file");
	assert_int_equal(nb_longpath_fstatat(f->fd, p, &st, 0), -1);
	assert_true(errno == ENOTDIR || errno == ELOOP);
	free(p);
	assert_int_equal(nb_longpath_unlinkat(f->fd, l, 0), 0);
	free(l);

	/* a file on the way */
	char *file = below(f, "plain");
	int fd = nb_longpath_openat(f->fd, file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	p = below(f, "plain/x");
	assert_int_equal(nb_longpath_fstatat(f->fd, p, &st, 0), -1);
	assert_int_equal(errno, ENOTDIR);
	free(p);
	assert_int_equal(nb_longpath_unlinkat(f->fd, file, 0), 0);
	free(file);

	/* a component over 255 bytes, on the way and as the leaf */
	char big[300];
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	p = below(f, big);
	assert_int_equal(nb_longpath_fstatat(f->fd, p, &st, 0), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	char *q = tu_join(p, "leaf");
	assert_int_equal(nb_longpath_fstatat(f->fd, q, &st, 0), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	free(p);
	free(q);

	/* renaming onto a missing directory leaves both sides closed */
	char *from = below(f, "r"), *to = below(f, "missing/r");
	fd = nb_longpath_openat(f->fd, from, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(nb_longpath_renameat2(f->fd, from, f->fd, to, 0), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(nb_longpath_unlinkat(f->fd, from, 0), 0);
	free(from);
	free(to);
	assert_int_equal(count_fds(), before);
}

static void test_short_paths_direct(void **state)
{
	struct fixture *f = *state;
	struct nb_longpath lp;
	/* A short path is used as it is: nothing opened. */
	assert_int_equal(nb_longpath_begin(f->fd, "a/b/c", &lp), 0);
	assert_int_equal(lp.dirfd, f->fd);
	assert_string_equal(lp.leaf, "a/b/c");
	assert_int_equal(lp.owned, 0);
	nb_longpath_end(&lp);
	/* Short paths keep the system call's own behaviour, "." included. */
	struct stat st;
	assert_int_equal(nb_longpath_fstatat(f->fd, ".", &st, 0), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(nb_longpath_mkdirat(f->fd, "s", 0700), 0);
	assert_int_equal(nb_longpath_renameat2(f->fd, "s", f->fd, "t", RENAME_NOREPLACE), 0);
	assert_int_equal(nb_longpath_unlinkat(f->fd, "t", AT_REMOVEDIR), 0);

	/* At the boundary: 4095 bytes go direct, 4096 are split. */
	char *p = malloc(NB_LONGPATH_DIRECT + 2);
	assert_non_null(p);
	memcpy(p, f->deep, NB_LONGPATH_DIRECT);
	p[NB_LONGPATH_DIRECT] = 0;
	assert_int_equal(nb_longpath_begin(f->fd, p, &lp), 0);
	assert_int_equal(lp.owned, 0);
	nb_longpath_end(&lp);
	memcpy(p, f->deep, NB_LONGPATH_DIRECT + 1);
	p[NB_LONGPATH_DIRECT + 1] = 0;
	assert_int_equal(nb_longpath_begin(f->fd, p, &lp), 0);
	assert_int_equal(lp.owned, 1);
	assert_true(lp.dirfd >= 0 && lp.dirfd != f->fd);
	assert_string_equal(lp.leaf, strrchr(p, '/') + 1);
	nb_longpath_end(&lp);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_kernel_refuses, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_file_life, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dirs_links_nodes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_walk_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_short_paths_direct, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
