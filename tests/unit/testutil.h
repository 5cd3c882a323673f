/*
 * Helpers shared by the cmocka unit tests: scratch directories that are
 * removed again, and whole-file reads and writes. Header-only so every
 * test stays one executable built from one .c file.
 */
#ifndef NB_TESTUTIL_H
#define NB_TESTUTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wire/buf.h"

/* A new nb_buf that may grow to max bytes, which the caller frees with
 * nb_buf_free. Out of memory ends the test program: no test is about
 * that, and every caller would otherwise have to check. */
static inline struct nb_buf *tu_buf(size_t max)
{
	struct nb_buf *b = nb_buf_new(max);
	if (!b) {
		fprintf(stderr, "tu_buf: out of memory\n");
		abort();
	}
	return b;
}

/* A fresh directory under $TMPDIR (or /tmp); the caller frees the name
 * and removes the tree with tu_rmtree. NULL on failure. */
static inline char *tu_mkdtemp(const char *tag)
{
	const char *base = getenv("TMPDIR");
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s/nbfs-%s-XXXXXX", base && base[0] ? base : "/tmp", tag);
	if (!mkdtemp(buf))
		return NULL;
	return strdup(buf);
}

static inline int tu_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path);
	return unlink(path);
}

/* rm -rf path (never follows symlinks). */
static inline int tu_rmtree(const char *path)
{
	if (!path)
		return 0;
	return nftw(path, tu_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* "a/b" as a new string the caller frees. */
static inline char *tu_join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *s = malloc(n);
	if (s)
		snprintf(s, n, "%s/%s", a, b);
	return s;
}

/* Create or replace path with exactly n bytes. 0 or -errno. */
static inline int tu_write_file(const char *path, const void *data, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	ssize_t k = n ? write(fd, data, n) : 0;
	int e = k == (ssize_t)n ? 0 : -EIO;
	close(fd);
	return e;
}

/* Read a whole file into a malloc'd buffer (NUL-terminated for
 * convenience); *n gets its length. NULL on failure. */
static inline char *tu_read_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, len = 0;
	char *s = malloc(cap + 1);
	while (s) {
		size_t k = fread(s + len, 1, cap - len, f);
		len += k;
		if (len < cap)
			break;
		char *t = realloc(s, cap * 2 + 1);
		if (!t) {
			free(s);
			s = NULL;
			break;
		}
		s = t;
		cap *= 2;
	}
	fclose(f);
	if (s) {
		s[len] = 0;
		if (n)
			*n = len;
	}
	return s;
}

/* Number of entries in a directory other than "." and "..", or -1. */
static inline int tu_count_entries(const char *dir)
{
	int n = 0;
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

#endif
