/*
 * nbfs-posixcheck: a small POSIX conformance checker for a mounted file system.
 *
 * Usage: nbfs-posixcheck [-v] [-k SUBSTRING] DIR
 *
 * Creates DIR/posixcheck.<pid> and runs every case of pc_cases[] in a directory of its own
 * named after the case. Each case runs in a forked child, libuv-style: a crash, a hang (an
 * alarm ends it) or a leaked fd stays inside one case, and the umask and working directory
 * are the child's own. A case is a small function that returns 0 (pass) or -1 (fail) with
 * the reason in its context; where POSIX or Linux documents the errno of a failing call, the
 * case expects exactly that one.
 *
 * What the cases create is left in place, so that the end-to-end test can compare the mount
 * with the server afterwards; only cases about deleting delete.
 *
 * Output: one line per case, "PASS name" (with a note in parentheses where the result needs
 * one) or "FAIL name: reason", then "posixcheck: N passed, M failed". -v adds each case's
 * duration; -k runs only the cases whose name contains SUBSTRING. Exit status 0 only if every case
 * passed, 1 if one failed, 2 on a usage or setup error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PC_MSG_MAX 1024
/* Seconds before a case is killed: a hung file system fails the case instead of hanging the
 * run, and the cases after it are not started (they would only hang too). */
#define PC_CASE_TIMEOUT 60
#define PC_MIB (1024 * 1024)

struct pc_ctx {
	const char *dir;      /* absolute path of the case's directory, also its cwd */
	char msg[PC_MSG_MAX]; /* why the case failed, or a note on a pass */
};

struct pc_case {
	const char *name;
	int (*fn)(struct pc_ctx *c);
};

/* ---- expectations: each returns 0 if met, else -1 with the reason in c->msg */

static const char *errname(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "E?";
}

__attribute__((format(printf, 2, 3))) static int fail(struct pc_ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* A note printed after PASS: a documented difference or a skip. */
__attribute__((format(printf, 2, 3))) static void note(struct pc_ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
	va_end(ap);
}

/* rc is what a system call returned: anything but -1 is success. */
static int expect_ok(struct pc_ctx *c, long rc, const char *what)
{
	if (rc != -1)
		return 0;
	return fail(c, "%s: %s (%s)", what, errname(errno), strerror(errno));
}

/* The call must have failed (-1) with exactly errno want. */
static int expect_errno(struct pc_ctx *c, long rc, int want, const char *what)
{
	if (rc != -1)
		return fail(c, "%s: succeeded, expected %s", what, errname(want));
	if (errno != want)
		return fail(c, "%s: got %s, expected %s", what, errname(errno), errname(want));
	return 0;
}

static int expect_eq(struct pc_ctx *c, long long got, long long want, const char *what)
{
	if (got == want)
		return 0;
	return fail(c, "%s: got %lld, expected %lld", what, got, want);
}

#define TRY(x)                                                                                     \
	do {                                                                                       \
		if ((x) != 0)                                                                      \
			return -1;                                                                 \
	} while (0)
/* The reason names the call as written, e.g. "mkdir("d", 0755): EEXIST (File exists)". */
#define OK(c, call) TRY(expect_ok((c), (long)(call), #call))
#define ERR(c, want, call) TRY(expect_errno((c), (long)(call), (want), #call))
#define EQ(c, got, want) TRY(expect_eq((c), (long long)(got), (long long)(want), #got))

/* The full st_mode (type and permission bits) of path, not following a symlink. */
static int expect_mode(struct pc_ctx *c, const char *path, mode_t want)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return fail(c, "lstat %s: %s", path, errname(errno));
	if (st.st_mode != want)
		return fail(c, "%s: mode 0%o, expected 0%o", path, (unsigned)st.st_mode,
			    (unsigned)want);
	return 0;
}

/* The owner of path, not following a symlink. */
static int expect_owner(struct pc_ctx *c, const char *path, uid_t uid, gid_t gid)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return fail(c, "lstat %s: %s", path, errname(errno));
	if (st.st_uid != uid || st.st_gid != gid)
		return fail(c, "%s: owner %u:%u, expected %u:%u", path, (unsigned)st.st_uid,
			    (unsigned)st.st_gid, (unsigned)uid, (unsigned)gid);
	return 0;
}

static int expect_missing(struct pc_ctx *c, const char *path)
{
	struct stat st;
	if (lstat(path, &st) == 0)
		return fail(c, "%s: still exists", path);
	if (errno != ENOENT)
		return fail(c, "lstat %s: got %s, expected ENOENT", path, errname(errno));
	return 0;
}

/* POSIX: a time is set to the greatest value the file system supports that is not greater
 * than the one asked for, so a coarser granularity may only round nanoseconds down. */
static int expect_time(struct pc_ctx *c, const char *what, struct timespec got,
		       struct timespec want)
{
	if (got.tv_sec == want.tv_sec && got.tv_nsec <= want.tv_nsec)
		return 0;
	return fail(c, "%s: got %lld.%09ld, expected %lld.%09ld", what, (long long)got.tv_sec,
		    got.tv_nsec, (long long)want.tv_sec, want.tv_nsec);
}

/* got lies between from and now, give or take a second for coarse kernel clocks. */
static int expect_recent(struct pc_ctx *c, const char *what, struct timespec got,
			 struct timespec from)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	if (got.tv_sec >= from.tv_sec - 1 && got.tv_sec <= now.tv_sec + 1)
		return 0;
	return fail(c, "%s: %lld, expected between %lld and %lld", what, (long long)got.tv_sec,
		    (long long)from.tv_sec, (long long)now.tv_sec);
}

static int expect_bytes(struct pc_ctx *c, const char *what, const void *got, size_t gotlen,
			const void *want, size_t wantlen)
{
	const unsigned char *g = got, *w = want;
	size_t n = gotlen < wantlen ? gotlen : wantlen;
	for (size_t i = 0; i < n; i++)
		if (g[i] != w[i])
			return fail(c, "%s: byte %zu is 0x%02x, expected 0x%02x", what, i, g[i],
				    w[i]);
	if (gotlen != wantlen)
		return fail(c, "%s: %zu bytes, expected %zu", what, gotlen, wantlen);
	return 0;
}

/* ---- file helpers */

/* 0, or -1 with errno set; loops over short writes. */
static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Bytes read at off until len or end of file, or -1 with errno set. */
static ssize_t pread_full(int fd, void *buf, size_t len, off_t off)
{
	char *p = buf;
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, p + got, len - got, off + (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* A byte that depends on its offset, so that a chunk written or read at the wrong place
 * shows (a short repeating pattern would hide shifts by its period). */
static unsigned char pat(uint64_t off)
{
	uint64_t x = off * 0x9E3779B97F4A7C15ULL;
	x ^= x >> 29;
	x *= 0xBF58476D1CE4E5B9ULL;
	return (unsigned char)(x >> 56);
}

static void fill(unsigned char *buf, size_t len, uint64_t off)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pat(off + i);
}

/* Creates or truncates path (mode 0644 before the umask) and writes data to it. */
static int put_file(struct pc_ctx *c, const char *path, const void *data, size_t len)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd < 0)
		return fail(c, "create %s: %s (%s)", path, errname(errno), strerror(errno));
	if (write_all(fd, data, len) != 0) {
		int e = errno;
		close(fd);
		return fail(c, "write %s: %s (%s)", path, errname(e), strerror(e));
	}
	if (close(fd) != 0)
		return fail(c, "close %s: %s (%s)", path, errname(errno), strerror(errno));
	return 0;
}

static int put_str(struct pc_ctx *c, const char *path, const char *s)
{
	return put_file(c, path, s, strlen(s));
}

/* path (followed if a symlink) holds exactly want, by stat and by reading it. */
static int check_file(struct pc_ctx *c, const char *path, const void *want, size_t len)
{
	struct stat st;
	int r = -1;
	unsigned char *buf = malloc(len + 1);
	int fd = open(path, O_RDONLY);
	if (!buf) {
		fail(c, "out of memory");
		goto out;
	}
	if (fd < 0) {
		fail(c, "open %s: %s (%s)", path, errname(errno), strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		fail(c, "fstat %s: %s", path, errname(errno));
		goto out;
	}
	if (st.st_size != (off_t)len) {
		fail(c, "%s: st_size %lld, expected %zu", path, (long long)st.st_size, len);
		goto out;
	}
	/* One byte more than expected, to see data past the end. */
	ssize_t n = pread_full(fd, buf, len + 1, 0);
	if (n < 0) {
		fail(c, "read %s: %s (%s)", path, errname(errno), strerror(errno));
		goto out;
	}
	r = expect_bytes(c, path, buf, (size_t)n, want, len);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return r;
}

static int check_str(struct pc_ctx *c, const char *path, const char *s)
{
	return check_file(c, path, s, strlen(s));
}

/* ---- directory listings */

struct pc_names {
	char **v;
	size_t n, cap;
};

static int names_add(struct pc_names *l, const char *s)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char **v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	if (!(l->v[l->n] = strdup(s)))
		return -1;
	l->n++;
	return 0;
}

static void names_free(struct pc_names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	*l = (struct pc_names){0};
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names readdir returns for dir, sorted, duplicates kept, without "." and "..", which
 * POSIX lets a file system return once each or not at all. */
static int list_dir(struct pc_ctx *c, const char *dir, struct pc_names *out)
{
	int dots = 0, dotdots = 0;
	DIR *d = opendir(dir);
	if (!d)
		return fail(c, "opendir %s: %s (%s)", dir, errname(errno), strerror(errno));
	for (;;) {
		errno = 0;
		struct dirent *e = readdir(d);
		if (!e)
			break;
		if (strcmp(e->d_name, ".") == 0)
			dots++;
		else if (strcmp(e->d_name, "..") == 0)
			dotdots++;
		else if (names_add(out, e->d_name) != 0)
			break;
	}
	int e = errno;
	closedir(d);
	if (e != 0)
		return fail(c, "readdir %s: %s (%s)", dir, errname(e), strerror(e));
	if (dots > 1 || dotdots > 1)
		return fail(c, "listing of %s: \".\" %d times, \"..\" %d times", dir, dots,
			    dotdots);
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), cmp_name);
	return 0;
}

/* dir lists exactly the names want[0..n), each once. */
static int expect_listing(struct pc_ctx *c, const char *dir, const char *const *want, size_t n)
{
	struct pc_names got = {0};
	const char **w = malloc((n + 1) * sizeof(*w));
	int r = -1;
	if (!w) {
		fail(c, "out of memory");
		goto out;
	}
	if (n > 0)
		memcpy(w, want, n * sizeof(*w));
	qsort(w, n, sizeof(*w), cmp_name);
	if (list_dir(c, dir, &got) != 0)
		goto out;
	size_t i = 0, j = 0;
	while (i < got.n || j < n) {
		if (i > 0 && i < got.n && strcmp(got.v[i], got.v[i - 1]) == 0) {
			fail(c, "listing of %s: \"%s\" listed twice", dir, got.v[i]);
			goto out;
		}
		int d = i == got.n ? 1 : j == n ? -1 : strcmp(got.v[i], w[j]);
		if (d < 0) {
			fail(c, "listing of %s (%zu names, expected %zu): unexpected \"%s\"", dir,
			     got.n, n, got.v[i]);
			goto out;
		}
		if (d > 0) {
			fail(c, "listing of %s (%zu names, expected %zu): missing \"%s\"", dir,
			     got.n, n, w[j]);
			goto out;
		}
		i++;
		j++;
	}
	r = 0;
out:
	names_free(&got);
	free(w);
	return r;
}

#define NAMES(...) ((const char *const[]){__VA_ARGS__})
#define LISTING(c, dir, ...)                                                                       \
	TRY(expect_listing((c), (dir), NAMES(__VA_ARGS__),                                         \
			   sizeof(NAMES(__VA_ARGS__)) / sizeof(const char *)))
#define EMPTY(c, dir) TRY(expect_listing((c), (dir), NULL, 0))

/* ---- create, write, read */

static int case_create_excl(struct pc_ctx *c)
{
	int fd;
	OK(c, fd = open("f", O_CREAT | O_EXCL | O_WRONLY, 0644));
	OK(c, close(fd));
	ERR(c, EEXIST, open("f", O_CREAT | O_EXCL | O_WRONLY, 0644));
	OK(c, mkdir("d", 0755));
	ERR(c, EEXIST, open("d", O_CREAT | O_EXCL | O_RDONLY, 0644));
	LISTING(c, ".", "f", "d");
	return 0;
}

static int case_create_keeps_content(struct pc_ctx *c)
{
	int fd;
	TRY(put_str(c, "f", "original"));
	OK(c, fd = open("f", O_CREAT | O_WRONLY, 0600));
	OK(c, close(fd));
	TRY(check_str(c, "f", "original"));
	return expect_mode(c, "f", S_IFREG | 0644); /* the mode of an existing file stays */
}

/* A node to make under a umask, and the mode it must then have. */
struct pc_new_node {
	const char *name;
	mode_t type; /* S_IFREG or S_IFDIR */
	mode_t mode; /* asked for */
	mode_t umask;
	mode_t want;
};

/* Makes every node of nodes[0..n), then checks their modes. */
static int make_nodes(struct pc_ctx *c, const struct pc_new_node *nodes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct pc_new_node *m = &nodes[i];
		int rc;
		umask(m->umask);
		if (m->type == S_IFDIR)
			rc = mkdir(m->name, m->mode);
		else if ((rc = open(m->name, O_CREAT | O_EXCL | O_WRONLY, m->mode)) >= 0)
			rc = close(rc);
		if (rc != 0)
			return fail(c, "making %s (mode 0%o, umask 0%03o): %s (%s)", m->name,
				    (unsigned)m->mode, (unsigned)m->umask, errname(errno),
				    strerror(errno));
	}
	for (size_t i = 0; i < n; i++)
		TRY(expect_mode(c, nodes[i].name, nodes[i].type | nodes[i].want));
	return 0;
}

static int case_create_mode_umask(struct pc_ctx *c)
{
	static const struct pc_new_node nodes[] = {
	    {"f666", S_IFREG, 0666, 022, 0644}, {"f777", S_IFREG, 0777, 022, 0755},
	    {"f600", S_IFREG, 0600, 022, 0600}, {"d777", S_IFDIR, 0777, 022, 0755},
	    {"d700", S_IFDIR, 0700, 022, 0700},
	};
	return make_nodes(c, nodes, sizeof(nodes) / sizeof(nodes[0]));
}

/* Whatever the umask, a new file or directory gets exactly the bits of the mode asked for that
 * the umask lets through (the sticky bit included); the file system's own umask plays no part.
 * (FIFOs: case_mkfifo.) */
static int case_create_mode_any_umask(struct pc_ctx *c)
{
	static const struct pc_new_node nodes[] = {
	    {"f620", S_IFREG, 0620, 0, 0620},	{"f666", S_IFREG, 0666, 0, 0666},
	    {"d777", S_IFDIR, 0777, 0, 0777},	{"d1777", S_IFDIR, 01777, 0, 01777},
	    {"g666", S_IFREG, 0666, 002, 0664}, {"e777", S_IFDIR, 0777, 002, 0775},
	    {"h666", S_IFREG, 0666, 077, 0600}, {"i777", S_IFDIR, 0777, 077, 0700},
	};
	return make_nodes(c, nodes, sizeof(nodes) / sizeof(nodes[0]));
}

/* The fd that created a file writes to it whatever mode the file was given. */
static int case_create_readonly_mode_write(struct pc_ctx *c)
{
	int fd;
	char buf[8];
	OK(c, fd = open("f", O_CREAT | O_EXCL | O_RDWR, 0444));
	OK(c, write_all(fd, "data", 4));
	EQ(c, pread_full(fd, buf, sizeof(buf), 0), 4);
	OK(c, close(fd));
	TRY(expect_mode(c, "f", S_IFREG | 0444));
	return check_str(c, "f", "data");
}

static int case_create_empty(struct pc_ctx *c)
{
	int fd;
	char buf[4];
	OK(c, fd = open("empty", O_CREAT | O_EXCL | O_RDWR, 0644));
	EQ(c, read(fd, buf, sizeof(buf)), 0);
	OK(c, close(fd));
	return check_file(c, "empty", "", 0);
}

static int case_write_read_small(struct pc_ctx *c)
{
	TRY(put_str(c, "f", "hello, world\n"));
	return check_str(c, "f", "hello, world\n");
}

/* 3 MiB written in odd chunk sizes, read back at odd offsets and lengths, from the file
 * system rather than the page cache where the kernel lets us drop it. */
static int case_write_3mib_odd_chunks(struct pc_ctx *c)
{
	static const size_t chunks[] = {1, 3, 4095, 4097, 65521, 7, 131073, 1048579, 12347};
	static const struct {
		off_t off;
		size_t len;
	} reads[] = {
	    {0, 1},
	    {1, 4095},
	    {4095, 2},
	    {4097, 65537},
	    {1048573, 7},
	    {2097155, 1048579}, /* crosses the end: a short read */
	    {3 * PC_MIB - 5, 5},
	    {3 * PC_MIB - 3, 100},
	    {3 * PC_MIB, 10}, /* at the end: 0 bytes */
	    {3 * PC_MIB + 7, 10},
	};
	const size_t size = 3 * PC_MIB;
	unsigned char *data = malloc(size), *buf = malloc(size);
	int fd;
	if (!data || !buf)
		return fail(c, "out of memory");
	fill(data, size, 0);
	OK(c, fd = open("big", O_CREAT | O_EXCL | O_WRONLY, 0644));
	for (size_t off = 0, i = 0; off < size; i++) {
		size_t n = chunks[i % (sizeof(chunks) / sizeof(chunks[0]))];
		if (n > size - off)
			n = size - off;
		OK(c, write_all(fd, data + off, n));
		off += n;
	}
	OK(c, fsync(fd));
	OK(c, close(fd));

	OK(c, fd = open("big", O_RDONLY));
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
		off_t off = reads[i].off;
		size_t want = off >= (off_t)size ? 0 : size - (size_t)off;
		if (want > reads[i].len)
			want = reads[i].len;
		ssize_t n = pread(fd, buf, reads[i].len, off);
		if (n < 0)
			return fail(c, "pread %zu at %lld: %s", reads[i].len, (long long)off,
				    errname(errno));
		/* A short read is legal; the rest must follow. */
		if (n > 0 && (size_t)n < want) {
			ssize_t m = pread_full(fd, buf + n, want - (size_t)n, off + n);
			n = m < 0 ? m : n + m;
		}
		char what[64];
		snprintf(what, sizeof(what), "pread %zu at %lld", reads[i].len, (long long)off);
		TRY(expect_bytes(c, what, buf, (size_t)n, off < (off_t)size ? data + off : data,
				 want));
	}
	/* The whole file again, sequentially, in odd reads. */
	OK(c, lseek(fd, 0, SEEK_SET));
	size_t got = 0;
	for (;;) {
		size_t ask = 12347;
		if (ask > size - got)
			ask = size - got + 1; /* one byte more: nothing past the end */
		ssize_t n = read(fd, buf + got, ask);
		if (n < 0)
			return fail(c, "read at %zu: %s", got, errname(errno));
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > size)
			return fail(c, "read past the end: %zu bytes", got);
	}
	TRY(expect_bytes(c, "sequential read", buf, got, data, size));
	OK(c, close(fd));
	free(data);
	free(buf);
	return 0;
}

static int case_overwrite_middle(struct pc_ctx *c)
{
	const size_t size = 256 * 1024;
	unsigned char *data = malloc(size);
	int fd;
	if (!data)
		return fail(c, "out of memory");
	fill(data, size, 0);
	TRY(put_file(c, "f", data, size));
	OK(c, fd = open("f", O_WRONLY));
	memset(data + 100001, 'x', 1000);
	OK(c, pwrite(fd, data + 100001, 1000, 100001));
	OK(c, close(fd));
	TRY(check_file(c, "f", data, size));
	free(data);
	return 0;
}

/* A new file written through a write-only handle while a reader holds
 * it open and mapped: every read and the mapping see each write, appends
 * and overwrites (a guard for any write path that bypasses the FUSE
 * file's page cache, such as direct I/O). */
static int case_writer_reader_coherent(struct pc_ctx *c)
{
	char buf[512];
	int w, r;
	OK(c, w = open("f", O_WRONLY | O_CREAT | O_EXCL, 0644));
	memset(buf, 'a', 100);
	OK(c, write_all(w, buf, 100));
	OK(c, r = open("f", O_RDONLY));
	EQ(c, pread(r, buf, sizeof(buf), 0), 100);
	memset(buf, 'b', 100);
	OK(c, write_all(w, buf, 100)); /* the reader's cached page is now short */
	EQ(c, pread(r, buf, sizeof(buf), 0), 200);
	if (buf[99] != 'a' || buf[100] != 'b' || buf[199] != 'b')
		return fail(c, "append not seen by the reader: %.8s|%.8s", buf + 96, buf + 100);
	char *m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, r, 0);
	if (m == MAP_FAILED)
		return fail(c, "mmap: %s", strerror(errno));
	char first = m[10];
	OK(c, pwrite(w, "XYZ", 3, 10)); /* same size: only the mtime tells */
	EQ(c, pread(r, buf, sizeof(buf), 0), 200);
	int seen = memcmp(buf + 10, "XYZ", 3) == 0 && memcmp(m + 10, "XYZ", 3) == 0;
	munmap(m, 4096);
	if (first != 'a' || !seen)
		return fail(c, "overwrite not seen by the reader or the mapping: %.5s", buf + 8);
	OK(c, close(w));
	OK(c, close(r));
	memset(buf, 'a', 100);
	memcpy(buf + 10, "XYZ", 3);
	memset(buf + 100, 'b', 100);
	return check_file(c, "f", (const unsigned char *)buf, 200);
}

static int case_append(struct pc_ctx *c)
{
	int a, b;
	TRY(put_str(c, "f", "abc"));
	OK(c, a = open("f", O_WRONLY | O_APPEND));
	OK(c, b = open("f", O_WRONLY | O_APPEND));
	OK(c, lseek(a, 0, SEEK_SET));
	OK(c, write_all(a, "def", 3));
	EQ(c, lseek(a, 0, SEEK_CUR), 6);
	OK(c, write_all(b, "ghi", 3));
	OK(c, write_all(a, "jkl", 3));
	OK(c, close(a));
	OK(c, close(b));
	return check_str(c, "f", "abcdefghijkl");
}

static int case_o_trunc(struct pc_ctx *c)
{
	int fd;
	struct stat st;
	TRY(put_str(c, "f", "0123456789"));
	OK(c, fd = open("f", O_WRONLY | O_TRUNC));
	OK(c, fstat(fd, &st));
	EQ(c, st.st_size, 0);
	OK(c, write_all(fd, "ab", 2));
	OK(c, close(fd));
	return check_str(c, "f", "ab");
}

static int case_pwrite_hole(struct pc_ctx *c)
{
	const size_t size = PC_MIB + 7;
	unsigned char *want = calloc(size, 1);
	struct stat st;
	int fd;
	if (!want)
		return fail(c, "out of memory");
	memcpy(want, "head", 4);
	memcpy(want + PC_MIB + 3, "tail", 4);
	OK(c, fd = open("f", O_CREAT | O_EXCL | O_RDWR, 0644));
	OK(c, write_all(fd, "head", 4));
	EQ(c, pwrite(fd, "tail", 4, PC_MIB + 3), 4);
	OK(c, fstat(fd, &st));
	EQ(c, st.st_size, size);
	OK(c, close(fd));
	TRY(check_file(c, "f", want, size));
	free(want);
	return 0;
}

static int case_ftruncate_grow_shrink(struct pc_ctx *c)
{
	unsigned char data[8192], want[5000] = {0};
	struct stat st;
	int fd;
	fill(data, sizeof(data), 0);
	OK(c, fd = open("f", O_CREAT | O_EXCL | O_RDWR, 0644));
	OK(c, write_all(fd, data, sizeof(data)));
	OK(c, ftruncate(fd, 100));
	OK(c, fstat(fd, &st));
	EQ(c, st.st_size, 100);
	OK(c, ftruncate(fd, 5000));
	OK(c, fstat(fd, &st));
	EQ(c, st.st_size, 5000);
	OK(c, close(fd));
	/* What the shrink cut off must not come back when the file grows again. */
	memcpy(want, data, 100);
	TRY(check_file(c, "f", want, sizeof(want)));
	OK(c, fd = open("g", O_CREAT | O_EXCL | O_RDWR, 0644));
	OK(c, ftruncate(fd, 3 * PC_MIB));
	OK(c, ftruncate(fd, 0));
	OK(c, close(fd));
	return check_file(c, "g", "", 0);
}

/* fallocate(2): mode 0 grows the file with zeros, FALLOC_FL_KEEP_SIZE
 * keeps the size, and data written after either reads back. A file
 * system without fallocate passes with a note (EOPNOTSUPP); modes that
 * punch holes may be refused the same way. */
static int case_fallocate(struct pc_ctx *c)
{
	static unsigned char want[PC_MIB + 2000];
	unsigned char data[3000];
	struct stat st;
	int fd;
	memset(want, 0, sizeof(want));
	fill(data, sizeof(data), 3);
	OK(c, fd = open("f", O_CREAT | O_EXCL | O_RDWR, 0644));
	if (fallocate(fd, 0, 0, PC_MIB) != 0) {
		int e = errno;
		OK(c, close(fd));
		if (e != EOPNOTSUPP)
			return fail(c, "fallocate(0, 1 MiB): %s", errname(e));
		note(c, "fallocate not supported");
		return 0;
	}
	OK(c, fstat(fd, &st));
	EQ(c, st.st_size, PC_MIB);
	OK(c, fallocate(fd, FALLOC_FL_KEEP_SIZE, PC_MIB, PC_MIB));
	OK(c, fstat(fd, &st));
	EQ(c, st.st_size, PC_MIB);
	OK(c, pwrite(fd, data, sizeof(data), PC_MIB - 1000));
	OK(c, close(fd));
	memcpy(want + PC_MIB - 1000, data, sizeof(data));
	TRY(check_file(c, "f", want, sizeof(want)));
	OK(c, fd = open("f", O_RDWR));
	int r = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096);
	int e = errno;
	OK(c, close(fd));
	if (r != 0 && e != EOPNOTSUPP)
		return fail(c, "fallocate(PUNCH_HOLE): %s", errname(e));
	if (r == 0)
		return check_file(c, "f", want, sizeof(want));
	note(c, "mode 0 and KEEP_SIZE; holes are not punched (EOPNOTSUPP)");
	return 0;
}

static int case_truncate_path(struct pc_ctx *c)
{
	unsigned char data[1000], want[3000] = {0};
	fill(data, sizeof(data), 7);
	TRY(put_file(c, "f", data, sizeof(data)));
	OK(c, truncate("f", 10));
	TRY(check_file(c, "f", data, 10));
	OK(c, truncate("f", 3000));
	memcpy(want, data, 10);
	TRY(check_file(c, "f", want, sizeof(want)));
	OK(c, mkdir("d", 0755));
	ERR(c, EISDIR, truncate("d", 0));
	ERR(c, ENOENT, truncate("missing", 0));
	return 0;
}

/* A size past what a file can have: ext4 (16 TiB) refuses it with EFBIG, others with EINVAL,
 * tmpfs takes it as a sparse file. ENOSPC would blame a disk that is not full. */
static int expect_too_big(struct pc_ctx *c, long rc, const char *what)
{
	if (rc != -1 || errno == EFBIG || errno == EINVAL)
		return 0;
	return fail(c, "%s: got %s, expected EFBIG or EINVAL (or success)", what, errname(errno));
}

static int case_truncate_absurd(struct pc_ctx *c)
{
	const off_t absurd = 999999999999999LL; /* about 909 TiB */
	int fd;
	TRY(put_str(c, "f", "x"));
	TRY(expect_too_big(c, truncate("f", absurd), "truncate(\"f\", 999999999999999)"));
	OK(c, truncate("f", 1));
	OK(c, fd = open("f", O_RDWR));
	TRY(expect_too_big(c, ftruncate(fd, absurd), "ftruncate(fd, 999999999999999)"));
	OK(c, ftruncate(fd, 1));
	TRY(expect_too_big(c, pwrite(fd, "y", 1, absurd), "pwrite(fd, \"y\", 1, 999999999999999)"));
	OK(c, ftruncate(fd, 1));
	OK(c, close(fd));
	return check_str(c, "f", "x");
}

static int case_fsync_fdatasync(struct pc_ctx *c)
{
	int fd, dfd;
	OK(c, fd = open("f", O_CREAT | O_EXCL | O_RDWR, 0644));
	OK(c, write_all(fd, "durable", 7));
	OK(c, fsync(fd));
	OK(c, write_all(fd, "!", 1));
	OK(c, fdatasync(fd));
	OK(c, close(fd));
	OK(c, dfd = open(".", O_RDONLY | O_DIRECTORY));
	OK(c, fsync(dfd));
	OK(c, close(dfd));
	return check_str(c, "f", "durable!");
}

static int case_mmap_write(struct pc_ctx *c)
{
	const size_t size = 3 * 4096 + 100;
	unsigned char want[3 * 4096 + 100];
	int fd;
	fill(want, size, 3);
	OK(c, fd = open("f", O_CREAT | O_EXCL | O_RDWR, 0644));
	OK(c, ftruncate(fd, (off_t)size));
	unsigned char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return fail(c, "mmap shared writable: %s (%s)", errname(errno), strerror(errno));
	memcpy(p, want, size);
	OK(c, msync(p, size, MS_SYNC));
	OK(c, munmap(p, size));
	OK(c, close(fd));
	TRY(check_file(c, "f", want, size));
	OK(c, fd = open("f", O_RDONLY));
	p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return fail(c, "mmap read-only: %s (%s)", errname(errno), strerror(errno));
	TRY(expect_bytes(c, "mapped read", p, size, want, size));
	OK(c, munmap(p, size));
	return close(fd) == 0 ? 0 : fail(c, "close: %s", errname(errno));
}

/* ---- attributes */

static int case_stat_after_write(struct pc_ctx *c)
{
	unsigned char data[12345];
	struct timespec from;
	struct stat st;
	int fd;
	fill(data, sizeof(data), 11);
	clock_gettime(CLOCK_REALTIME, &from);
	OK(c, fd = open("f", O_CREAT | O_EXCL | O_WRONLY, 0640));
	OK(c, write_all(fd, data, sizeof(data)));
	OK(c, close(fd));
	OK(c, stat("f", &st));
	TRY(expect_mode(c, "f", S_IFREG | 0640));
	EQ(c, st.st_size, sizeof(data));
	EQ(c, st.st_nlink, 1);
	EQ(c, st.st_uid, geteuid());
	TRY(expect_recent(c, "mtime", st.st_mtim, from));
	return expect_recent(c, "ctime", st.st_ctim, from);
}

static int case_mtime_on_write(struct pc_ctx *c)
{
	const struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
	struct timespec from;
	struct stat st;
	int fd;
	TRY(put_str(c, "f", "before"));
	TRY(put_str(c, "g", "before"));
	OK(c, utimensat(AT_FDCWD, "f", old, 0));
	OK(c, utimensat(AT_FDCWD, "g", old, 0));
	clock_gettime(CLOCK_REALTIME, &from);
	OK(c, fd = open("f", O_WRONLY | O_APPEND));
	OK(c, write_all(fd, " after", 6));
	OK(c, close(fd));
	OK(c, stat("f", &st));
	TRY(expect_recent(c, "mtime after write", st.st_mtim, from));
	OK(c, truncate("g", 2));
	OK(c, stat("g", &st));
	return expect_recent(c, "mtime after truncate", st.st_mtim, from);
}

static int case_utimensat_explicit(struct pc_ctx *c)
{
	const struct timespec ts[2] = {{1000000000, 123456789}, {1200000000, 987654321}};
	struct stat st;
	TRY(put_str(c, "f", "x"));
	OK(c, utimensat(AT_FDCWD, "f", ts, 0));
	OK(c, stat("f", &st));
	TRY(expect_time(c, "atime", st.st_atim, ts[0]));
	TRY(expect_time(c, "mtime", st.st_mtim, ts[1]));
	OK(c, mkdir("d", 0755));
	OK(c, utimensat(AT_FDCWD, "d", ts, 0));
	OK(c, stat("d", &st));
	return expect_time(c, "directory mtime", st.st_mtim, ts[1]);
}

static int case_utimensat_now(struct pc_ctx *c)
{
	const struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
	const struct timespec now[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
	struct timespec from;
	struct stat st;
	TRY(put_str(c, "f", "x"));
	OK(c, utimensat(AT_FDCWD, "f", old, 0));
	clock_gettime(CLOCK_REALTIME, &from);
	OK(c, utimensat(AT_FDCWD, "f", now, 0));
	OK(c, stat("f", &st));
	TRY(expect_recent(c, "atime", st.st_atim, from));
	TRY(expect_recent(c, "mtime", st.st_mtim, from));
	OK(c, utimensat(AT_FDCWD, "f", old, 0));
	OK(c, utimensat(AT_FDCWD, "f", NULL, 0)); /* NULL: both now */
	OK(c, stat("f", &st));
	return expect_recent(c, "mtime (times NULL)", st.st_mtim, from);
}

static int case_utimensat_omit(struct pc_ctx *c)
{
	const struct timespec set[2] = {{1000000000, 0}, {1100000000, 0}};
	const struct timespec m_only[2] = {{0, UTIME_OMIT}, {1300000000, 0}};
	const struct timespec a_only[2] = {{1400000000, 0}, {0, UTIME_OMIT}};
	struct stat st;
	TRY(put_str(c, "f", "x"));
	OK(c, utimensat(AT_FDCWD, "f", set, 0));
	OK(c, utimensat(AT_FDCWD, "f", m_only, 0));
	OK(c, stat("f", &st));
	TRY(expect_time(c, "atime after omitting it", st.st_atim, set[0]));
	TRY(expect_time(c, "mtime", st.st_mtim, m_only[1]));
	OK(c, utimensat(AT_FDCWD, "f", a_only, 0));
	OK(c, stat("f", &st));
	TRY(expect_time(c, "atime", st.st_atim, a_only[0]));
	return expect_time(c, "mtime after omitting it", st.st_mtim, m_only[1]);
}

/* Times set explicitly stay while nobody uses the file: what the file system does in the
 * background (an upload reading the file, say) must not change them. The wait gives it
 * the time to. */
static int case_utimensat_kept(struct pc_ctx *c)
{
	const struct timespec ts[2] = {{1000000000, 0}, {1100000000, 0}};
	struct stat st;
	TRY(put_str(c, "f", "x"));
	OK(c, utimensat(AT_FDCWD, "f", ts, 0));
	sleep(2);
	OK(c, stat("f", &st));
	TRY(expect_time(c, "atime 2 s later", st.st_atim, ts[0]));
	return expect_time(c, "mtime 2 s later", st.st_mtim, ts[1]);
}

/* AT_SYMLINK_NOFOLLOW sets the link's own times and leaves the target alone. */
static int case_utimensat_nofollow(struct pc_ctx *c)
{
	const struct timespec target_ts[2] = {{1000000000, 0}, {1000000000, 0}};
	const struct timespec link_ts[2] = {{1300000000, 0}, {1300000000, 0}};
	struct stat st;
	TRY(put_str(c, "target", "x"));
	OK(c, symlink("target", "link"));
	OK(c, utimensat(AT_FDCWD, "target", target_ts, 0));
	OK(c, utimensat(AT_FDCWD, "link", link_ts, AT_SYMLINK_NOFOLLOW));
	OK(c, lstat("link", &st));
	TRY(expect_time(c, "link mtime", st.st_mtim, link_ts[1]));
	OK(c, stat("target", &st));
	return expect_time(c, "target mtime", st.st_mtim, target_ts[1]);
}

static int case_futimens(struct pc_ctx *c)
{
	const struct timespec ts[2] = {{1000000000, 5000}, {1100000000, 6000}};
	struct timespec from;
	struct stat st;
	int fd;
	TRY(put_str(c, "f", "x"));
	OK(c, fd = open("f", O_RDONLY));
	OK(c, futimens(fd, ts));
	OK(c, fstat(fd, &st));
	TRY(expect_time(c, "atime", st.st_atim, ts[0]));
	TRY(expect_time(c, "mtime", st.st_mtim, ts[1]));
	clock_gettime(CLOCK_REALTIME, &from);
	OK(c, futimens(fd, NULL));
	OK(c, close(fd));
	OK(c, stat("f", &st));
	return expect_recent(c, "mtime (times NULL)", st.st_mtim, from);
}

static int case_chmod(struct pc_ctx *c)
{
	TRY(put_str(c, "f", "x"));
	OK(c, chmod("f", 0600));
	TRY(expect_mode(c, "f", S_IFREG | 0600));
	OK(c, chmod("f", 0755));
	TRY(expect_mode(c, "f", S_IFREG | 0755));
	OK(c, chmod("f", 0));
	TRY(expect_mode(c, "f", S_IFREG));
	OK(c, chmod("f", 0640));
	TRY(expect_mode(c, "f", S_IFREG | 0640));
	OK(c, mkdir("d", 0755));
	OK(c, chmod("d", 0711));
	TRY(expect_mode(c, "d", S_IFDIR | 0711));
	ERR(c, ENOENT, chmod("missing", 0644));
	return 0;
}

/* Permission is checked at open: a writable fd still writes after fchmod 0400. */
static int case_fchmod(struct pc_ctx *c)
{
	struct stat st;
	int fd;
	OK(c, fd = open("f", O_CREAT | O_EXCL | O_WRONLY, 0644));
	OK(c, write_all(fd, "ab", 2));
	OK(c, fchmod(fd, 0400));
	OK(c, fstat(fd, &st));
	EQ(c, st.st_mode, S_IFREG | 0400);
	OK(c, write_all(fd, "cd", 2));
	OK(c, close(fd));
	TRY(expect_mode(c, "f", S_IFREG | 0400));
	return check_str(c, "f", "abcd");
}

/* ---- unlink */

static int case_unlink(struct pc_ctx *c)
{
	TRY(put_str(c, "f", "x"));
	TRY(put_str(c, "keep", "y"));
	OK(c, unlink("f"));
	TRY(expect_missing(c, "f"));
	ERR(c, ENOENT, open("f", O_RDONLY));
	LISTING(c, ".", "keep");
	return 0;
}

static int case_unlink_dir(struct pc_ctx *c)
{
	OK(c, mkdir("d", 0755));
	ERR(c, EISDIR, unlink("d"));
	return expect_mode(c, "d", S_IFDIR | 0755);
}

static int case_unlink_missing(struct pc_ctx *c)
{
	TRY(put_str(c, "f", "x"));
	ERR(c, ENOENT, unlink("missing"));
	ERR(c, ENOENT, unlink("nodir/x"));
	ERR(c, ENOTDIR, unlink("f/x"));
	return 0;
}

static int case_unlink_open_fd(struct pc_ctx *c)
{
	char buf[16];
	struct stat st;
	int fd;
	TRY(put_str(c, "f", "keep me"));
	OK(c, fd = open("f", O_RDWR));
	OK(c, unlink("f"));
	TRY(expect_missing(c, "f"));
	EMPTY(c, "."); /* no ".fuse_hidden" stand-in either */
	EQ(c, pread_full(fd, buf, sizeof(buf), 0), 7);
	TRY(expect_bytes(c, "read after unlink", buf, 7, "keep me", 7));
	EQ(c, pwrite(fd, "K", 1, 0), 1);
	EQ(c, pread_full(fd, buf, sizeof(buf), 0), 7);
	TRY(expect_bytes(c, "read after write after unlink", buf, 7, "Keep me", 7));
	OK(c, fstat(fd, &st));
	EQ(c, st.st_size, 7);
	return close(fd) == 0 ? 0 : fail(c, "close: %s", errname(errno));
}

/* A new file under an unlinked name is a new file: the old fd still sees the old one. */
static int case_unlink_recreate(struct pc_ctx *c)
{
	char buf[16];
	int fd;
	TRY(put_str(c, "f", "old"));
	OK(c, fd = open("f", O_RDONLY));
	OK(c, unlink("f"));
	TRY(put_str(c, "f", "new contents"));
	EQ(c, pread_full(fd, buf, sizeof(buf), 0), 3);
	TRY(expect_bytes(c, "old fd", buf, 3, "old", 3));
	OK(c, close(fd));
	return check_str(c, "f", "new contents");
}

/* ---- mkdir, rmdir */

static int case_mkdir_exists(struct pc_ctx *c)
{
	OK(c, mkdir("d", 0755));
	ERR(c, EEXIST, mkdir("d", 0755));
	TRY(put_str(c, "f", "x"));
	ERR(c, EEXIST, mkdir("f", 0755));
	OK(c, symlink("nowhere", "dangling"));
	ERR(c, EEXIST, mkdir("dangling", 0755));
	return 0;
}

static int case_mkdir_missing_parent(struct pc_ctx *c)
{
	TRY(put_str(c, "f", "x"));
	ERR(c, ENOENT, mkdir("no/such", 0755));
	ERR(c, ENOTDIR, mkdir("f/sub", 0755));
	LISTING(c, ".", "f");
	return 0;
}

static int case_mkdir_nested(struct pc_ctx *c)
{
	OK(c, mkdir("a", 0755));
	OK(c, mkdir("a/b", 0755));
	OK(c, mkdir("a/b/c", 0755));
	TRY(put_str(c, "a/b/c/f", "nested"));
	TRY(expect_mode(c, "a/b", S_IFDIR | 0755));
	TRY(expect_mode(c, "a/b/c", S_IFDIR | 0755));
	LISTING(c, "a", "b");
	LISTING(c, "a/b", "c");
	return check_str(c, "a/b/c/f", "nested");
}

static int case_rmdir_nonempty(struct pc_ctx *c)
{
	OK(c, mkdir("d", 0755));
	TRY(put_str(c, "d/f", "x"));
	ERR(c, ENOTEMPTY, rmdir("d"));
	OK(c, mkdir("e", 0755));
	OK(c, mkdir("e/sub", 0755));
	ERR(c, ENOTEMPTY, rmdir("e"));
	LISTING(c, "d", "f");
	return check_str(c, "d/f", "x");
}

static int case_rmdir_file(struct pc_ctx *c)
{
	TRY(put_str(c, "f", "x"));
	ERR(c, ENOTDIR, rmdir("f"));
	return check_str(c, "f", "x");
}

static int case_rmdir_missing(struct pc_ctx *c)
{
	ERR(c, ENOENT, rmdir("missing"));
	ERR(c, ENOENT, rmdir("no/such"));
	return 0;
}

static int case_rmdir(struct pc_ctx *c)
{
	OK(c, mkdir("d", 0755));
	OK(c, rmdir("d"));
	TRY(expect_missing(c, "d"));
	OK(c, mkdir("e", 0755));
	TRY(put_str(c, "e/f", "x"));
	OK(c, unlink("e/f"));
	OK(c, rmdir("e"));
	TRY(expect_missing(c, "e"));
	EMPTY(c, ".");
	OK(c, mkdir("d", 0700)); /* the name is free again */
	return expect_mode(c, "d", S_IFDIR | 0700);
}

/* ---- rename */

static int case_rename_file(struct pc_ctx *c)
{
	TRY(put_str(c, "a", "A"));
	OK(c, rename("a", "b"));
	TRY(expect_missing(c, "a"));
	LISTING(c, ".", "b");
	return check_str(c, "b", "A");
}

static int case_rename_over_file(struct pc_ctx *c)
{
	TRY(put_str(c, "a", "new"));
	TRY(put_str(c, "b", "old and longer"));
	OK(c, rename("a", "b"));
	TRY(expect_missing(c, "a"));
	LISTING(c, ".", "b");
	return check_str(c, "b", "new");
}

static int case_rename_across_dirs(struct pc_ctx *c)
{
	OK(c, mkdir("d1", 0755));
	OK(c, mkdir("d2", 0755));
	TRY(put_str(c, "d1/f", "moved"));
	OK(c, rename("d1/f", "d2/g"));
	EMPTY(c, "d1");
	LISTING(c, "d2", "g");
	return check_str(c, "d2/g", "moved");
}

static int case_rename_dir_contents(struct pc_ctx *c)
{
	OK(c, mkdir("d", 0755));
	OK(c, mkdir("d/sub", 0755));
	TRY(put_str(c, "d/f1", "one"));
	TRY(put_str(c, "d/sub/f2", "two"));
	OK(c, rename("d", "e"));
	TRY(expect_missing(c, "d"));
	LISTING(c, ".", "e");
	LISTING(c, "e", "f1", "sub");
	TRY(check_str(c, "e/f1", "one"));
	return check_str(c, "e/sub/f2", "two");
}

static int case_rename_dir_over_empty(struct pc_ctx *c)
{
	OK(c, mkdir("a", 0755));
	TRY(put_str(c, "a/f", "from a"));
	OK(c, mkdir("b", 0700));
	OK(c, rename("a", "b"));
	TRY(expect_missing(c, "a"));
	LISTING(c, ".", "b");
	TRY(expect_mode(c, "b", S_IFDIR | 0755));
	return check_str(c, "b/f", "from a");
}

static int case_rename_dir_over_nonempty(struct pc_ctx *c)
{
	OK(c, mkdir("a", 0755));
	TRY(put_str(c, "a/f", "a"));
	OK(c, mkdir("b", 0755));
	TRY(put_str(c, "b/g", "b"));
	/* Linux returns ENOTEMPTY; POSIX allows EEXIST too. */
	if (rename("a", "b") == 0)
		return fail(c, "rename(\"a\", \"b\"): succeeded, expected ENOTEMPTY");
	if (errno != ENOTEMPTY && errno != EEXIST)
		return fail(c, "rename(\"a\", \"b\"): got %s, expected ENOTEMPTY or EEXIST",
			    errname(errno));
	TRY(check_str(c, "a/f", "a"));
	return check_str(c, "b/g", "b");
}

static int case_rename_file_over_dir(struct pc_ctx *c)
{
	TRY(put_str(c, "f", "x"));
	OK(c, mkdir("d", 0755));
	ERR(c, EISDIR, rename("f", "d"));
	TRY(check_str(c, "f", "x"));
	return expect_mode(c, "d", S_IFDIR | 0755);
}

static int case_rename_dir_over_file(struct pc_ctx *c)
{
	TRY(put_str(c, "f", "x"));
	OK(c, mkdir("d", 0755));
	ERR(c, ENOTDIR, rename("d", "f"));
	TRY(check_str(c, "f", "x"));
	return expect_mode(c, "d", S_IFDIR | 0755);
}

static int case_rename_into_subdir(struct pc_ctx *c)
{
	OK(c, mkdir("d", 0755));
	OK(c, mkdir("d/sub", 0755));
	ERR(c, EINVAL, rename("d", "d/sub/x"));
	ERR(c, EINVAL, rename("d", "d/x"));
	LISTING(c, "d", "sub");
	return 0;
}

static int case_renameat2_noreplace(struct pc_ctx *c)
{
	TRY(put_str(c, "a", "A"));
	TRY(put_str(c, "b", "B"));
	int r = renameat2(AT_FDCWD, "a", AT_FDCWD, "b", RENAME_NOREPLACE);
	if (r != 0 && errno == EINVAL) {
		note(c, "not supported: EINVAL");
		return 0;
	}
	ERR(c, EEXIST, r);
	TRY(check_str(c, "a", "A"));
	TRY(check_str(c, "b", "B"));
	OK(c, renameat2(AT_FDCWD, "a", AT_FDCWD, "c", RENAME_NOREPLACE));
	TRY(expect_missing(c, "a"));
	LISTING(c, ".", "b", "c");
	return check_str(c, "c", "A");
}

static int case_rename_open_file(struct pc_ctx *c)
{
	int fd;
	TRY(put_str(c, "a", "12345"));
	OK(c, fd = open("a", O_RDWR));
	OK(c, rename("a", "b"));
	EQ(c, pwrite(fd, "X", 1, 0), 1);
	OK(c, write_all(fd, "YZ", 2)); /* at offset 0: pwrite leaves the offset alone */
	OK(c, fsync(fd));
	struct stat st;
	OK(c, fstat(fd, &st));
	EQ(c, st.st_size, 5);
	OK(c, close(fd));
	TRY(expect_missing(c, "a"));
	return check_str(c, "b", "YZ345");
}

/* A reader of the replaced file keeps the old content. */
static int case_rename_over_open_target(struct pc_ctx *c)
{
	char buf[16];
	int fd;
	TRY(put_str(c, "a", "new"));
	TRY(put_str(c, "b", "old"));
	OK(c, fd = open("b", O_RDONLY));
	OK(c, rename("a", "b"));
	EQ(c, pread_full(fd, buf, sizeof(buf), 0), 3);
	TRY(expect_bytes(c, "replaced file through its old fd", buf, 3, "old", 3));
	OK(c, close(fd));
	return check_str(c, "b", "new");
}

static int case_rename_same_name(struct pc_ctx *c)
{
	TRY(put_str(c, "a", "same"));
	OK(c, mkdir("d", 0755));
	OK(c, rename("a", "a"));
	OK(c, rename("d", "d"));
	LISTING(c, ".", "a", "d");
	return check_str(c, "a", "same");
}

static int case_rename_missing(struct pc_ctx *c)
{
	ERR(c, ENOENT, rename("missing", "b"));
	ERR(c, ENOENT, rename("no/such", "b"));
	TRY(put_str(c, "a", "x"));
	ERR(c, ENOENT, rename("a", "no/such"));
	LISTING(c, ".", "a");
	return 0;
}

/* Names reused in quick succession, as a sync queue sees them. */
static int case_rename_chain(struct pc_ctx *c)
{
	TRY(put_str(c, "a", "1"));
	OK(c, rename("a", "b"));
	TRY(put_str(c, "a", "2"));
	OK(c, rename("b", "c"));
	OK(c, rename("a", "b"));
	LISTING(c, ".", "b", "c");
	TRY(check_str(c, "b", "2"));
	return check_str(c, "c", "1");
}

static int case_rename_swap(struct pc_ctx *c)
{
	TRY(put_str(c, "a", "A"));
	TRY(put_str(c, "b", "B"));
	OK(c, rename("a", "tmp"));
	OK(c, rename("b", "a"));
	OK(c, rename("tmp", "b"));
	LISTING(c, ".", "a", "b");
	TRY(check_str(c, "a", "B"));
	return check_str(c, "b", "A");
}

/* ---- symlinks and hard links */

/* link is a symlink whose text is target, and whose st_size is the text's length. */
static int expect_symlink(struct pc_ctx *c, const char *link, const char *target)
{
	char buf[PATH_MAX];
	struct stat st;
	if (lstat(link, &st) != 0)
		return fail(c, "lstat %s: %s", link, errname(errno));
	if (!S_ISLNK(st.st_mode))
		return fail(c, "%s: mode 0%o, not a symlink", link, (unsigned)st.st_mode);
	TRY(expect_eq(c, st.st_size, (long long)strlen(target), "symlink st_size"));
	ssize_t n = readlink(link, buf, sizeof(buf));
	if (n < 0)
		return fail(c, "readlink %s: %s", link, errname(errno));
	return expect_bytes(c, "readlink", buf, (size_t)n, target, strlen(target));
}

static int case_symlink_relative(struct pc_ctx *c)
{
	TRY(put_str(c, "target", "data"));
	OK(c, symlink("target", "link"));
	TRY(expect_symlink(c, "link", "target"));
	OK(c, mkdir("sub", 0755));
	OK(c, symlink("../target", "sub/up"));
	TRY(check_str(c, "sub/up", "data"));
	return check_str(c, "link", "data");
}

static int case_symlink_absolute(struct pc_ctx *c)
{
	char target[PATH_MAX];
	snprintf(target, sizeof(target), "%s/target", c->dir);
	TRY(put_str(c, "target", "absolute"));
	OK(c, symlink(target, "link"));
	TRY(expect_symlink(c, "link", target));
	return check_str(c, "link", "absolute");
}

static int case_symlink_dangling(struct pc_ctx *c)
{
	struct stat st;
	OK(c, symlink("nowhere", "link"));
	TRY(expect_symlink(c, "link", "nowhere"));
	ERR(c, ENOENT, stat("link", &st));
	ERR(c, ENOENT, open("link", O_RDONLY));
	LISTING(c, ".", "link");
	return 0;
}

static int case_symlink_to_dir(struct pc_ctx *c)
{
	struct stat st;
	OK(c, mkdir("d", 0755));
	TRY(put_str(c, "d/f", "inside"));
	OK(c, symlink("d", "ld"));
	OK(c, stat("ld", &st));
	if (!S_ISDIR(st.st_mode))
		return fail(c, "stat through the link: mode 0%o, not a directory",
			    (unsigned)st.st_mode);
	TRY(check_str(c, "ld/f", "inside"));
	LISTING(c, "ld", "f");
	ERR(c, ENOTDIR, rmdir("ld"));
	return expect_symlink(c, "ld", "d");
}

static int case_symlink_exists(struct pc_ctx *c)
{
	TRY(put_str(c, "f", "x"));
	OK(c, mkdir("d", 0755));
	ERR(c, EEXIST, symlink("t", "f"));
	ERR(c, EEXIST, symlink("t", "d"));
	return check_str(c, "f", "x");
}

/* Close to the Linux limit of PATH_MAX - 1 bytes of link text. */
static int case_symlink_long_target(struct pc_ctx *c)
{
	char target[4001];
	size_t len = 0;
	while (len + 10 < sizeof(target)) {
		memcpy(target + len, "component/", 10);
		len += 10;
	}
	memcpy(target + len - 1, "x", 2); /* no trailing slash */
	OK(c, symlink(target, "link"));
	return expect_symlink(c, "link", target);
}

/* readlink truncates silently into a short buffer and never appends a NUL. */
static int case_readlink_short_buffer(struct pc_ctx *c)
{
	char buf[16];
	OK(c, symlink("abcdefgh", "link"));
	memset(buf, 'Z', sizeof(buf));
	EQ(c, readlink("link", buf, 4), 4);
	TRY(expect_bytes(c, "short readlink", buf, 5, "abcdZ", 5));
	memset(buf, 'Z', sizeof(buf));
	EQ(c, readlink("link", buf, 8), 8);
	return expect_bytes(c, "exact readlink", buf, 9, "abcdefghZ", 9);
}

static int case_readlink_not_link(struct pc_ctx *c)
{
	char buf[16];
	TRY(put_str(c, "f", "x"));
	OK(c, mkdir("d", 0755));
	ERR(c, EINVAL, readlink("f", buf, sizeof(buf)));
	ERR(c, EINVAL, readlink("d", buf, sizeof(buf)));
	ERR(c, ENOENT, readlink("missing", buf, sizeof(buf)));
	return 0;
}

/* O_CREAT|O_EXCL does not follow a symlink, dangling or not. */
static int case_o_excl_dangling_symlink(struct pc_ctx *c)
{
	OK(c, symlink("nowhere", "link"));
	ERR(c, EEXIST, open("link", O_CREAT | O_EXCL | O_WRONLY, 0644));
	TRY(expect_missing(c, "nowhere"));
	return 0;
}

/* nbfs makes a hard link as a copy (the server's tree cannot keep two
 * names on one content): the new name has the content, mode and mtime,
 * and is a separate file from then on. A file system that makes real
 * links passes too, with the link checked; one that refuses them
 * (EPERM) as well, with a note. */
static int case_link(struct pc_ctx *c)
{
	struct stat sa, sb;
	TRY(put_str(c, "a", "linked"));
	OK(c, chmod("a", 0640));
	if (link("a", "b") != 0) {
		if (errno != EPERM)
			return fail(c, "link(\"a\", \"b\"): got %s, expected success or EPERM",
				    errname(errno));
		TRY(expect_missing(c, "b"));
		note(c, "hard links refused with EPERM");
		return 0;
	}
	TRY(check_str(c, "b", "linked"));
	OK(c, stat("a", &sa));
	OK(c, stat("b", &sb));
	EQ(c, sb.st_mode, sa.st_mode);
	EQ(c, sb.st_size, sa.st_size);
	if (sa.st_ino == sb.st_ino) {
		EQ(c, sa.st_nlink, 2);
		note(c, "hard links work");
		return 0;
	}
	EQ(c, sb.st_mtim.tv_sec, sa.st_mtim.tv_sec);
	EQ(c, sb.st_mtim.tv_nsec, sa.st_mtim.tv_nsec);
	EQ(c, sa.st_nlink, 1);
	EQ(c, sb.st_nlink, 1);
	TRY(put_str(c, "b", "changed"));
	TRY(check_str(c, "a", "linked"));
	note(c, "hard links made as copies, as nbfs documents");
	return 0;
}

/* ---- directory listings and names */

/* ---- FIFOs, sockets, device nodes. nbfs keeps FIFOs and sockets locally only (they are not
 * synced), so these cases remove what they made: the end-to-end comparison of the mount with
 * the server would see them. */

/* Reads fd to its end into buf (at most len bytes): the count, or -1 with errno set. */
static ssize_t read_to_end(int fd, char *buf, size_t len)
{
	size_t got = 0;
	for (;;) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0 || (got += (size_t)n) == len)
			return (ssize_t)got;
	}
}

static int case_mkfifo(struct pc_ctx *c)
{
	static const char msg[] = "through the fifo";
	const struct timespec ts[2] = {{1000000000, 0}, {1100000000, 0}};
	char buf[64];
	struct stat st;
	int fd, status;
	OK(c, mkfifo("p", 0640));
	TRY(expect_mode(c, "p", S_IFIFO | 0640));
	ERR(c, EEXIST, mkfifo("p", 0600));
	umask(0);
	OK(c, mknod("q", S_IFIFO | 0666, 0));
	TRY(expect_mode(c, "q", S_IFIFO | 0666));
	umask(022);
	LISTING(c, ".", "p", "q");
	/* A writer and a reader in two processes meet in it. */
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return fail(c, "fork: %s", errname(errno));
	if (pid == 0) {
		int w = open("p", O_WRONLY);
		_exit(w >= 0 && write_all(w, msg, strlen(msg)) == 0 && close(w) == 0 ? 0 : 1);
	}
	OK(c, fd = open("p", O_RDONLY));
	ssize_t n = read_to_end(fd, buf, sizeof(buf));
	OK(c, n);
	OK(c, close(fd));
	OK(c, waitpid(pid, &status, 0));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return fail(c, "the writer could not open or write the fifo");
	TRY(expect_bytes(c, "read from the fifo", buf, (size_t)n, msg, strlen(msg)));
	/* Its attributes change like a file's. */
	OK(c, chmod("p", 0600));
	TRY(expect_mode(c, "p", S_IFIFO | 0600));
	OK(c, utimensat(AT_FDCWD, "p", ts, 0));
	OK(c, lstat("p", &st));
	TRY(expect_time(c, "mtime", st.st_mtim, ts[1]));
	OK(c, rename("q", "r"));
	LISTING(c, ".", "p", "r");
	TRY(expect_mode(c, "r", S_IFIFO | 0666));
	OK(c, unlink("p"));
	OK(c, unlink("r"));
	EMPTY(c, ".");
	return 0;
}

static int case_unix_socket(struct pc_ctx *c)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	char buf[8];
	int s, k, acc;
	memcpy(a.sun_path, "sock", 5); /* relative to the working directory: the case's own */
	OK(c, s = socket(AF_UNIX, SOCK_STREAM, 0));
	OK(c, bind(s, (struct sockaddr *)&a, sizeof(a)));
	OK(c, listen(s, 1));
	TRY(expect_mode(c, "sock", S_IFSOCK | 0755)); /* 0777 less the umask */
	LISTING(c, ".", "sock");
	OK(c, k = socket(AF_UNIX, SOCK_STREAM, 0));
	OK(c, connect(k, (struct sockaddr *)&a, sizeof(a)));
	OK(c, acc = accept(s, NULL, NULL));
	OK(c, write_all(k, "ping", 4));
	EQ(c, read(acc, buf, sizeof(buf)), 4);
	TRY(expect_bytes(c, "read from the socket", buf, 4, "ping", 4));
	OK(c, close(acc));
	OK(c, close(k));
	OK(c, close(s));
	/* The name outlives the socket: binding to it again finds it taken. */
	OK(c, s = socket(AF_UNIX, SOCK_STREAM, 0));
	ERR(c, EADDRINUSE, bind(s, (struct sockaddr *)&a, sizeof(a)));
	OK(c, close(s));
	OK(c, unlink("sock"));
	EMPTY(c, ".");
	return 0;
}

/* Root may make device nodes on a local disk; nbfs refuses them with EPERM (documented). */
static int case_mknod_device(struct pc_ctx *c)
{
	if (mknod("null", S_IFCHR | 0666, makedev(1, 3)) != 0) {
		if (errno != EPERM)
			return fail(c,
				    "mknod(\"null\", S_IFCHR | 0666, makedev(1, 3)): got %s, "
				    "expected success or EPERM",
				    errname(errno));
		TRY(expect_missing(c, "null"));
		ERR(c, EPERM, mknod("loop", S_IFBLK | 0600, makedev(7, 0)));
		TRY(expect_missing(c, "loop"));
		note(c, "device nodes refused with EPERM%s",
		     geteuid() == 0 ? ", as nbfs documents" : " (not root)");
		return 0;
	}
	TRY(expect_mode(c, "null", S_IFCHR | 0644));
	OK(c, mknod("loop", S_IFBLK | 0600, makedev(7, 0)));
	TRY(expect_mode(c, "loop", S_IFBLK | 0600));
	OK(c, unlink("null"));
	OK(c, unlink("loop"));
	return 0;
}

static int case_readdir_exact(struct pc_ctx *c)
{
	char name[16];
	for (int i = 1; i <= 10; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		TRY(put_str(c, name, name));
	}
	OK(c, mkdir("d1", 0755));
	OK(c, mkdir("d2", 0755));
	OK(c, symlink("f1", "l1"));
	LISTING(c, ".", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10", "d1", "d2",
		"l1");
	/* d_type, where given, agrees with lstat. */
	DIR *d = opendir(".");
	struct dirent *e;
	if (!d)
		return fail(c, "opendir: %s", errname(errno));
	while ((e = readdir(d))) {
		struct stat st;
		if (e->d_type == DT_UNKNOWN || e->d_name[0] == '.')
			continue;
		OK(c, lstat(e->d_name, &st));
		if (e->d_type != IFTODT(st.st_mode))
			return fail(c, "%s: d_type %d, lstat says %d", e->d_name, e->d_type,
				    IFTODT(st.st_mode));
	}
	closedir(d);
	return 0;
}

static int case_readdir_after_changes(struct pc_ctx *c)
{
	char name[16];
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		TRY(put_str(c, name, name));
	}
	OK(c, unlink("f1"));
	OK(c, unlink("f3"));
	OK(c, rename("f5", "g5"));
	OK(c, rename("f7", "f1")); /* a name that was unlinked */
	OK(c, mkdir("sub", 0755));
	OK(c, rename("f9", "sub/f9"));
	LISTING(c, ".", "f0", "f1", "f2", "f4", "f6", "f8", "g5", "sub");
	LISTING(c, "sub", "f9");
	TRY(check_str(c, "f1", "f7"));
	return check_str(c, "g5", "f5");
}

static int case_name_255(struct pc_ctx *c)
{
	char f[256], d[256], path[600];
	memset(f, 'f', 255);
	f[255] = '\0';
	memset(d, 'd', 255);
	d[255] = '\0';
	TRY(put_str(c, f, "long name"));
	OK(c, mkdir(d, 0755));
	snprintf(path, sizeof(path), "%s/%s", d, f);
	TRY(put_str(c, path, "long path"));
	LISTING(c, ".", f, d);
	TRY(check_str(c, f, "long name"));
	return check_str(c, path, "long path");
}

static int case_name_256(struct pc_ctx *c)
{
	char n[257];
	struct stat st;
	memset(n, 'n', 256);
	n[256] = '\0';
	TRY(put_str(c, "f", "x"));
	ERR(c, ENAMETOOLONG, open(n, O_CREAT | O_WRONLY, 0644));
	ERR(c, ENAMETOOLONG, mkdir(n, 0755));
	ERR(c, ENAMETOOLONG, stat(n, &st));
	ERR(c, ENAMETOOLONG, symlink("f", n));
	ERR(c, ENAMETOOLONG, rename("f", n));
	LISTING(c, ".", "f");
	return 0;
}

static int case_names_special(struct pc_ctx *c)
{
	static const char *const names[] = {
	    "with space",    " leading and trailing ",
	    "-leading-dash", "new\nline",
	    "tab\there",     "ünïcødé-日本語-😀",
	    "glob*?[x]",     "quote'\"s",
	    "back\\slash",   ".hidden",
	    "..dots",
	};
	const size_t n = sizeof(names) / sizeof(names[0]);
	char path[256];
	for (size_t i = 0; i < n; i++)
		TRY(put_str(c, names[i], names[i]));
	TRY(expect_listing(c, ".", names, n));
	for (size_t i = 0; i < n; i++)
		TRY(check_str(c, names[i], names[i]));
	OK(c, mkdir("dir with space", 0755));
	snprintf(path, sizeof(path), "dir with space/%s", names[5]);
	TRY(put_str(c, path, "nested"));
	return check_str(c, path, "nested");
}

/* Linux names are bytes: a name that is not UTF-8 is still a name. */
static int case_name_non_utf8(struct pc_ctx *c)
{
	static const char *const names[] = {"latin1-caf\xe9", "\xff\xfe-bytes"};
	for (size_t i = 0; i < 2; i++)
		TRY(put_str(c, names[i], "bytes"));
	TRY(expect_listing(c, ".", names, 2));
	return check_str(c, names[0], "bytes");
}

static int case_deep_path(struct pc_ctx *c)
{
	char path[512], abs[PATH_MAX + 600];
	size_t len = 0;
	path[0] = '\0';
	for (int i = 1; i <= 20; i++) {
		len += (size_t)snprintf(path + len, sizeof(path) - len, "%slevel%02d",
					i > 1 ? "/" : "", i);
		OK(c, mkdir(path, 0755));
	}
	snprintf(path + len, sizeof(path) - len, "/deep.txt");
	TRY(put_str(c, path, "deep down"));
	snprintf(abs, sizeof(abs), "%s/%s", c->dir, path);
	TRY(check_str(c, abs, "deep down"));
	path[len] = '\0';
	LISTING(c, path, "deep.txt");
	return 0;
}

/* A path more than 16 KiB below the case's directory, as ext4 allows: PATH_MAX bounds one
 * system call's argument, not a file's depth, so each step goes down with chdir (relative
 * paths from a deep working directory). Writes, reads, lists, renames and removes there,
 * then takes the tree down again, level by level. */
static int case_path_16k(struct pc_ctx *c)
{
	enum { LEVELS = 66, NAMELEN = 250 }; /* 66 x 251 bytes: 16,566 */
	char name[NAMELEN + 1];
	int made = 0;
	for (; made < LEVELS; made++) {
		memset(name, 'a' + made % 26, NAMELEN);
		snprintf(name, 4, "%03d", made);
		name[3] = 'x';
		name[NAMELEN] = 0;
		OK(c, mkdir(name, 0755));
		OK(c, chdir(name));
	}
	/* Down there: a file written, read back, renamed within and across directories. */
	TRY(put_str(c, "deep.txt", "sixteen KiB down"));
	TRY(check_str(c, "deep.txt", "sixteen KiB down"));
	struct stat st;
	OK(c, stat("deep.txt", &st));
	EQ(c, st.st_size, 16);
	OK(c, mkdir("sub", 0700));
	OK(c, symlink("deep.txt", "link"));
	LISTING(c, ".", "deep.txt", "link", "sub");
	OK(c, rename("deep.txt", "sub/moved.txt"));
	TRY(check_str(c, "sub/moved.txt", "sixteen KiB down"));
	ERR(c, ENOENT, open("link", O_RDONLY)); /* dangling now */
	OK(c, rename("sub/moved.txt", "../up.txt"));
	TRY(check_str(c, "../up.txt", "sixteen KiB down"));
	OK(c, chmod("../up.txt", 0600));
	OK(c, stat("../up.txt", &st));
	EQ(c, st.st_mode & 07777, 0600);
	LISTING(c, ".", "link", "sub");
	/* A whole directory moved up one level, with its contents. */
	TRY(put_str(c, "sub/inner.txt", "inner"));
	OK(c, rename("sub", "../sub2"));
	TRY(check_str(c, "../sub2/inner.txt", "inner"));
	/* Removed again. */
	OK(c, unlink("link"));
	OK(c, unlink("../sub2/inner.txt"));
	OK(c, rmdir("../sub2"));
	OK(c, unlink("../up.txt"));
	EMPTY(c, ".");
	for (; made > 0; made--) {
		memset(name, 'a' + (made - 1) % 26, NAMELEN);
		snprintf(name, 4, "%03d", made - 1);
		name[3] = 'x';
		name[NAMELEN] = 0;
		OK(c, chdir(".."));
		OK(c, rmdir(name));
	}
	EMPTY(c, ".");
	return 0;
}

static int case_many_files(struct pc_ctx *c)
{
	enum { N = 1000 };
	char *names[N] = {0};
	char buf[32];
	int r = -1;
	for (int i = 0; i < N; i++) {
		snprintf(buf, sizeof(buf), "file-%04d", i);
		if (!(names[i] = strdup(buf))) {
			fail(c, "out of memory");
			goto out;
		}
		if (put_str(c, names[i], names[i]) != 0)
			goto out;
	}
	if (expect_listing(c, ".", (const char *const *)names, N) != 0)
		goto out;
	for (int i = 0; i < N; i += 97)
		if (check_str(c, names[i], names[i]) != 0)
			goto out;
	r = 0;
out:
	for (int i = 0; i < N; i++)
		free(names[i]);
	return r;
}

/* ---- the rest */

static int case_statvfs(struct pc_ctx *c)
{
	struct statvfs sv, fsv;
	int fd;
	OK(c, statvfs(".", &sv));
	if (sv.f_bsize == 0 || sv.f_frsize == 0)
		return fail(c, "f_bsize %lu, f_frsize %lu", sv.f_bsize, sv.f_frsize);
	if (sv.f_blocks == 0 || sv.f_bfree > sv.f_blocks || sv.f_bavail > sv.f_bfree)
		return fail(c, "f_blocks %llu, f_bfree %llu, f_bavail %llu",
			    (unsigned long long)sv.f_blocks, (unsigned long long)sv.f_bfree,
			    (unsigned long long)sv.f_bavail);
	if (sv.f_namemax < 255)
		return fail(c, "f_namemax %lu, expected at least 255", sv.f_namemax);
	TRY(put_str(c, "f", "x"));
	OK(c, fd = open("f", O_RDONLY));
	OK(c, fstatvfs(fd, &fsv));
	OK(c, close(fd));
	EQ(c, fsv.f_frsize, sv.f_frsize);
	return 0;
}

static int case_access_0000(struct pc_ctx *c)
{
	int fd;
	TRY(put_str(c, "f", "secret"));
	OK(c, chmod("f", 0));
	TRY(expect_mode(c, "f", S_IFREG));
	if (geteuid() == 0) {
		note(c, "skipped: running as root, which permission bits do not bind");
		return 0;
	}
	ERR(c, EACCES, open("f", O_RDONLY));
	ERR(c, EACCES, open("f", O_WRONLY));
	ERR(c, EACCES, access("f", R_OK));
	ERR(c, EACCES, access("f", W_OK));
	OK(c, access("f", F_OK));
	OK(c, chmod("f", 0400));
	OK(c, access("f", R_OK));
	ERR(c, EACCES, access("f", W_OK));
	ERR(c, EACCES, open("f", O_WRONLY));
	OK(c, fd = open("f", O_RDONLY));
	OK(c, close(fd));
	OK(c, chmod("f", 0644));
	return check_str(c, "f", "secret");
}

/* A directory's bits bind its own user: without write nothing is made or
 * removed in it, without read it is not listed, without search nothing in
 * it is reached; a file's bits bind opening and truncating it, and it is
 * not given away. (Checked with operations that always reach the file
 * system: the kernel may answer a stat(2) through names it has cached.) */
static int case_dir_perms(struct pc_ctx *c)
{
	int fd;
	if (geteuid() == 0) {
		note(c, "skipped: running as root, which permission bits do not bind");
		return 0;
	}
	OK(c, mkdir("d", 0755));
	TRY(put_str(c, "d/f", "kept"));
	OK(c, chmod("d", 0555));
	ERR(c, EACCES, open("d/new", O_CREAT | O_WRONLY, 0644));
	ERR(c, EACCES, mkdir("d/sub", 0755));
	ERR(c, EACCES, symlink("f", "d/link"));
	ERR(c, EACCES, unlink("d/f"));
	ERR(c, EACCES, rename("d/f", "moved"));
	OK(c, fd = open("d/f", O_RDONLY));
	OK(c, close(fd));
	OK(c, chmod("d", 0311));
	ERR(c, EACCES, open("d", O_RDONLY | O_DIRECTORY));
	OK(c, chmod("d", 0644));
	ERR(c, EACCES, open("d/f", O_RDONLY));
	ERR(c, EACCES, access("d/f", F_OK));
	OK(c, chmod("d", 0755));
	OK(c, chmod("d/f", 0444));
	ERR(c, EACCES, open("d/f", O_WRONLY));
	ERR(c, EACCES, open("d/f", O_RDONLY | O_TRUNC));
	ERR(c, EACCES, truncate("d/f", 0));
	OK(c, chmod("d/f", 0644));
	ERR(c, EPERM, chown("d/f", 0, (gid_t)-1)); /* not given away */
	return check_str(c, "d/f", "kept");
}

/* Linux: even root gets EACCES for X_OK unless some execute bit is set. */
static int case_access_x_ok(struct pc_ctx *c)
{
	TRY(put_str(c, "f", "#!/bin/sh\n"));
	ERR(c, EACCES, access("f", X_OK));
	OK(c, chmod("f", 0744));
	OK(c, access("f", X_OK));
	OK(c, access("f", R_OK | W_OK));
	return 0;
}

static int case_o_directory_on_file(struct pc_ctx *c)
{
	TRY(put_str(c, "f", "x"));
	ERR(c, ENOTDIR, open("f", O_RDONLY | O_DIRECTORY));
	DIR *d = opendir("f");
	if (d) {
		closedir(d);
		return fail(c, "opendir(\"f\"): succeeded on a file, expected ENOTDIR");
	}
	return expect_errno(c, -1, ENOTDIR, "opendir(\"f\")");
}

static int case_open_dir_for_write(struct pc_ctx *c)
{
	char buf[8];
	int fd;
	OK(c, mkdir("d", 0755));
	ERR(c, EISDIR, open("d", O_WRONLY));
	ERR(c, EISDIR, open("d", O_RDWR));
	ERR(c, EISDIR, open("d", O_CREAT | O_WRONLY, 0644));
	OK(c, fd = open("d", O_RDONLY));
	ERR(c, EISDIR, read(fd, buf, sizeof(buf)));
	return close(fd) == 0 ? 0 : fail(c, "close: %s", errname(errno));
}

static int case_enotdir_component(struct pc_ctx *c)
{
	struct stat st;
	TRY(put_str(c, "f", "x"));
	ERR(c, ENOTDIR, stat("f/x", &st));
	ERR(c, ENOTDIR, open("f/x", O_CREAT | O_WRONLY, 0644));
	ERR(c, ENOTDIR, open("f/", O_RDONLY));
	return 0;
}

/* ---- children */

/* Runs fn(c, arg) in a forked child: 0 if it returned 0, -1 if it failed, -2 if an alarm ended
 * it. c->msg gets the child's reason (or its note on a pass). */
static int in_child(struct pc_ctx *c, int (*fn)(struct pc_ctx *c, const void *arg), const void *arg)
{
	int pfd[2], status;
	size_t got = 0;
	if (pipe(pfd) != 0)
		return fail(c, "pipe: %s", errname(errno));
	fflush(stdout); /* or the child's copy of the buffer is printed twice */
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return fail(c, "fork: %s", errname(errno));
	}
	if (pid == 0) {
		close(pfd[0]);
		int r = fn(c, arg);
		ssize_t w = write(pfd[1], c->msg, strlen(c->msg));
		(void)w;
		_exit(r == 0 ? 0 : 1);
	}
	close(pfd[1]);
	for (;;) {
		ssize_t n = read(pfd[0], c->msg + got, sizeof(c->msg) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	c->msg[got] = '\0';
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return fail(c, "waitpid: %s", errname(errno));
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
		fail(c, "timed out after %d s", PC_CASE_TIMEOUT);
		return -2;
	}
	if (WIFSIGNALED(status))
		return fail(c, "killed by signal %s", strsignal(WTERMSIG(status)));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return got ? -1 : fail(c, "failed without a reason");
	return 0;
}

/* ---- other users. As root, a case can run parts of itself as unprivileged users, the way
 * several users share a local disk; on a FUSE mount that takes allow_other. Not root: the
 * cases say they were skipped. */

#define PC_NOBODY 65534 /* uid and gid of nobody:nogroup */
#define PC_OTHER 65533	/* another unprivileged uid and gid; no account needed */

struct pc_as_user {
	uid_t id;
	int (*fn)(struct pc_ctx *c);
};

static int as_user_child(struct pc_ctx *c, const void *arg)
{
	const struct pc_as_user *u = arg;
	if (setgroups(0, NULL) != 0 || setresgid(u->id, u->id, u->id) != 0 ||
	    setresuid(u->id, u->id, u->id) != 0)
		return fail(c, "cannot become uid %u: %s", (unsigned)u->id, errname(errno));
	return u->fn(c);
}

/* Runs fn(c) in a child that is uid id and gid id (no supplementary groups), in the case's
 * directory: 0 if it passed, else -1 with "as uid N: reason" in c->msg. */
static int as_user(struct pc_ctx *c, uid_t id, int (*fn)(struct pc_ctx *c))
{
	const struct pc_as_user u = {id, fn};
	char why[PC_MSG_MAX];
	if (in_child(c, as_user_child, &u) == 0)
		return 0;
	memcpy(why, c->msg, sizeof(why));
	return fail(c, "as uid %u: %s", (unsigned)id, why);
}

/* Only root can: otherwise the case passes with a note that it was skipped. */
/* -1: DIR is on a mount only its owner may enter (no allow_other). */
static bool pc_single_user;

static bool can_switch_users(struct pc_ctx *c)
{
	if (pc_single_user) {
		note(c, "skipped: a mount other users may not enter (-1)");
		return false;
	}
	if (geteuid() == 0)
		return true;
	note(c, "skipped: needs root to switch users");
	return false;
}

/* A directory everyone may create in, like /tmp. */
static int make_shared(struct pc_ctx *c)
{
	OK(c, mkdir("shared", 0777));
	OK(c, chmod("shared", 01777));
	return 0;
}

/* As nobody: what it creates is its own, so the permission checks let it use it. */
static int nobody_creates(struct pc_ctx *c)
{
	const struct timespec ts[2] = {{1000000000, 0}, {1100000000, 0}};
	struct stat st;
	int fd;
	OK(c, chdir("shared"));
	OK(c, fd = open("mine", O_CREAT | O_EXCL | O_WRONLY, 0644));
	OK(c, fstat(fd, &st));
	EQ(c, st.st_uid, PC_NOBODY);
	EQ(c, st.st_gid, PC_NOBODY);
	OK(c, write_all(fd, "mine", 4));
	OK(c, close(fd));
	TRY(expect_owner(c, "mine", PC_NOBODY, PC_NOBODY));
	OK(c, fd = open("mine", O_WRONLY | O_APPEND));
	OK(c, write_all(fd, "!", 1));
	OK(c, close(fd));
	OK(c, chmod("mine", 0600));
	TRY(expect_mode(c, "mine", S_IFREG | 0600));
	OK(c, utimensat(AT_FDCWD, "mine", ts, 0));
	OK(c, chown("mine", (uid_t)-1, PC_NOBODY));
	TRY(check_str(c, "mine", "mine!"));
	OK(c, fd = open("suid", O_CREAT | O_EXCL | O_WRONLY, 04755));
	OK(c, close(fd));
	TRY(expect_mode(c, "suid", S_IFREG | 04755));
	TRY(expect_owner(c, "suid", PC_NOBODY, PC_NOBODY));
	OK(c, mkdir("dir", 0755));
	TRY(expect_owner(c, "dir", PC_NOBODY, PC_NOBODY));
	TRY(put_str(c, "dir/inner", "inner")); /* needs write permission in the directory */
	TRY(expect_owner(c, "dir/inner", PC_NOBODY, PC_NOBODY));
	OK(c, symlink("mine", "link"));
	TRY(expect_owner(c, "link", PC_NOBODY, PC_NOBODY));
	OK(c, mkfifo("fifo", 0600));
	TRY(expect_owner(c, "fifo", PC_NOBODY, PC_NOBODY));
	OK(c, unlink("fifo"));
	return 0;
}

static int case_other_user_creates(struct pc_ctx *c)
{
	if (!can_switch_users(c))
		return 0;
	TRY(make_shared(c));
	TRY(as_user(c, PC_NOBODY, nobody_creates));
	/* Everyone else sees the same owners. */
	TRY(expect_owner(c, "shared/mine", PC_NOBODY, PC_NOBODY));
	TRY(expect_owner(c, "shared/dir/inner", PC_NOBODY, PC_NOBODY));
	return expect_mode(c, "shared/mine", S_IFREG | 0600);
}

/* As nobody: a private file and directory. */
static int nobody_keeps_private(struct pc_ctx *c)
{
	OK(c, chdir("shared"));
	TRY(put_str(c, "private", "secret"));
	OK(c, chmod("private", 0600));
	OK(c, mkdir("pdir", 0700));
	return 0;
}

/* As another user: nobody's private things are out of reach, its own are not. */
static int other_is_kept_out(struct pc_ctx *c)
{
	OK(c, chdir("shared"));
	ERR(c, EACCES, open("private", O_RDONLY));
	ERR(c, EACCES, open("private", O_WRONLY));
	ERR(c, EPERM, chmod("private", 0666));
	ERR(c, EPERM, unlink("private")); /* the sticky bit */
	ERR(c, EPERM, rename("private", "taken"));
	ERR(c, EACCES, open("pdir/x", O_CREAT | O_WRONLY, 0644));
	TRY(put_str(c, "theirs", "theirs"));
	return expect_owner(c, "theirs", PC_OTHER, PC_OTHER);
}

/* As nobody again: the other user's file is readable (0644), not writable. */
static int nobody_reads_theirs(struct pc_ctx *c)
{
	OK(c, chdir("shared"));
	TRY(check_str(c, "theirs", "theirs"));
	ERR(c, EACCES, open("theirs", O_WRONLY));
	ERR(c, EPERM, unlink("theirs"));
	return check_str(c, "private", "secret");
}

static int case_other_user_private(struct pc_ctx *c)
{
	if (!can_switch_users(c))
		return 0;
	TRY(make_shared(c));
	TRY(as_user(c, PC_NOBODY, nobody_keeps_private));
	TRY(as_user(c, PC_OTHER, other_is_kept_out));
	return as_user(c, PC_NOBODY, nobody_reads_theirs);
}

/* As nobody, in a set-group-ID directory of a group it is not in. */
static int nobody_in_setgid_dir(struct pc_ctx *c)
{
	struct stat st;
	OK(c, chdir("g"));
	TRY(put_str(c, "f", "x"));
	TRY(expect_owner(c, "f", PC_NOBODY, PC_OTHER));
	OK(c, mkdir("sub", 0755));
	TRY(expect_owner(c, "sub", PC_NOBODY, PC_OTHER));
	OK(c, stat("sub", &st));
	if (!(st.st_mode & S_ISGID))
		return fail(c, "sub: mode 0%o, expected the set-group-ID bit",
			    (unsigned)st.st_mode);
	return 0;
}

/* New files and directories take the group of a set-group-ID directory, and new directories
 * its set-group-ID bit too, whoever makes them. */
static int case_setgid_dir_group(struct pc_ctx *c)
{
	if (!can_switch_users(c))
		return 0;
	OK(c, mkdir("g", 0777));
	OK(c, chown("g", 0, PC_OTHER));
	OK(c, chmod("g", 02777));
	return as_user(c, PC_NOBODY, nobody_in_setgid_dir);
}

/* Root gives files away; the owner is what stat shows afterwards. */
static int case_chown(struct pc_ctx *c)
{
	struct stat st;
	int fd;
	TRY(put_str(c, "f", "x"));
	OK(c, mkdir("d", 0755));
	OK(c, symlink("f", "l"));
	OK(c, chown("f", geteuid(), getegid())); /* to what it is: anyone may */
	if (geteuid() != 0) {
		note(c, "skipped: only root may give files away");
		return 0;
	}
	OK(c, chown("f", PC_NOBODY, PC_NOBODY));
	TRY(expect_owner(c, "f", PC_NOBODY, PC_NOBODY));
	OK(c, lstat("d", &st));
	OK(c, chown("d", PC_NOBODY, (gid_t)-1));
	TRY(expect_owner(c, "d", PC_NOBODY, st.st_gid));
	OK(c, lchown("l", PC_OTHER, PC_OTHER));
	TRY(expect_owner(c, "l", PC_OTHER, PC_OTHER));
	TRY(expect_owner(c, "f", PC_NOBODY, PC_NOBODY)); /* lchown did not follow */
	OK(c, fd = open("f", O_RDONLY));
	OK(c, fchown(fd, 0, PC_OTHER));
	OK(c, fstat(fd, &st));
	EQ(c, st.st_uid, 0);
	EQ(c, st.st_gid, PC_OTHER);
	OK(c, close(fd));
	/* Giving a file away takes its set-user-ID bit, on Linux even from root. */
	OK(c, chmod("f", 04755));
	OK(c, chown("f", PC_NOBODY, (gid_t)-1));
	TRY(expect_mode(c, "f", S_IFREG | 0755));
	TRY(expect_owner(c, "f", PC_NOBODY, PC_OTHER));
	return check_str(c, "f", "x");
}

static const struct pc_case pc_cases[] = {
    {"create_excl", case_create_excl},
    {"create_keeps_content", case_create_keeps_content},
    {"create_mode_umask", case_create_mode_umask},
    {"create_mode_any_umask", case_create_mode_any_umask},
    {"create_readonly_mode_write", case_create_readonly_mode_write},
    {"create_empty", case_create_empty},
    {"write_read_small", case_write_read_small},
    {"write_3mib_odd_chunks", case_write_3mib_odd_chunks},
    {"overwrite_middle", case_overwrite_middle},
    {"writer_reader_coherent", case_writer_reader_coherent},
    {"append", case_append},
    {"o_trunc", case_o_trunc},
    {"pwrite_hole", case_pwrite_hole},
    {"ftruncate_grow_shrink", case_ftruncate_grow_shrink},
    {"fallocate", case_fallocate},
    {"truncate_path", case_truncate_path},
    {"truncate_absurd", case_truncate_absurd},
    {"fsync_fdatasync", case_fsync_fdatasync},
    {"mmap_write", case_mmap_write},
    {"stat_after_write", case_stat_after_write},
    {"mtime_on_write", case_mtime_on_write},
    {"utimensat_explicit", case_utimensat_explicit},
    {"utimensat_now", case_utimensat_now},
    {"utimensat_omit", case_utimensat_omit},
    {"utimensat_kept", case_utimensat_kept},
    {"utimensat_nofollow", case_utimensat_nofollow},
    {"futimens", case_futimens},
    {"chmod", case_chmod},
    {"fchmod", case_fchmod},
    {"unlink", case_unlink},
    {"unlink_dir", case_unlink_dir},
    {"unlink_missing", case_unlink_missing},
    {"unlink_open_fd", case_unlink_open_fd},
    {"unlink_recreate", case_unlink_recreate},
    {"mkdir_exists", case_mkdir_exists},
    {"mkdir_missing_parent", case_mkdir_missing_parent},
    {"mkdir_nested", case_mkdir_nested},
    {"rmdir_nonempty", case_rmdir_nonempty},
    {"rmdir_file", case_rmdir_file},
    {"rmdir_missing", case_rmdir_missing},
    {"rmdir", case_rmdir},
    {"rename_file", case_rename_file},
    {"rename_over_file", case_rename_over_file},
    {"rename_across_dirs", case_rename_across_dirs},
    {"rename_dir_contents", case_rename_dir_contents},
    {"rename_dir_over_empty", case_rename_dir_over_empty},
    {"rename_dir_over_nonempty", case_rename_dir_over_nonempty},
    {"rename_file_over_dir", case_rename_file_over_dir},
    {"rename_dir_over_file", case_rename_dir_over_file},
    {"rename_into_subdir", case_rename_into_subdir},
    {"renameat2_noreplace", case_renameat2_noreplace},
    {"rename_open_file", case_rename_open_file},
    {"rename_over_open_target", case_rename_over_open_target},
    {"rename_same_name", case_rename_same_name},
    {"rename_missing", case_rename_missing},
    {"rename_chain", case_rename_chain},
    {"rename_swap", case_rename_swap},
    {"symlink_relative", case_symlink_relative},
    {"symlink_absolute", case_symlink_absolute},
    {"symlink_dangling", case_symlink_dangling},
    {"symlink_to_dir", case_symlink_to_dir},
    {"symlink_exists", case_symlink_exists},
    {"symlink_long_target", case_symlink_long_target},
    {"readlink_short_buffer", case_readlink_short_buffer},
    {"readlink_not_link", case_readlink_not_link},
    {"o_excl_dangling_symlink", case_o_excl_dangling_symlink},
    {"link", case_link},
    {"mkfifo", case_mkfifo},
    {"unix_socket", case_unix_socket},
    {"mknod_device", case_mknod_device},
    {"readdir_exact", case_readdir_exact},
    {"readdir_after_changes", case_readdir_after_changes},
    {"name_255", case_name_255},
    {"name_256", case_name_256},
    {"names_special", case_names_special},
    {"name_non_utf8", case_name_non_utf8},
    {"deep_path", case_deep_path},
    {"path_16k", case_path_16k},
    {"many_files", case_many_files},
    {"statvfs", case_statvfs},
    {"access_0000", case_access_0000},
    {"other_user_creates", case_other_user_creates},
    {"other_user_private", case_other_user_private},
    {"setgid_dir_group", case_setgid_dir_group},
    {"chown", case_chown},
    {"access_x_ok", case_access_x_ok},
    {"dir_perms", case_dir_perms},
    {"o_directory_on_file", case_o_directory_on_file},
    {"open_dir_for_write", case_open_dir_for_write},
    {"enotdir_component", case_enotdir_component},
};

/* ---- the runner */

/* The body of a case's child: the umask and working directory are its own, and an alarm
 * ends it if the file system hangs. */
static int case_child(struct pc_ctx *c, const void *arg)
{
	const struct pc_case *pc = arg;
	umask(022);
	alarm(PC_CASE_TIMEOUT);
	return chdir(c->dir) == 0 ? pc->fn(c) : fail(c, "chdir: %s", errname(errno));
}

/* Runs one case in a child in its own directory dir: 0 if it passed, -1 if it failed, -2 if
 * it timed out. c->msg gets the reason or the note. */
static int run_case(const struct pc_case *pc, struct pc_ctx *c)
{
	if (mkdir(c->dir, 0755) != 0)
		return fail(c, "mkdir %s: %s", c->dir, errname(errno));
	return in_child(c, case_child, pc);
}

/* Prints s with control characters escaped, so a reason stays on one line. */
static void print_escaped(const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '\n')
			fputs("\\n", stdout);
		else if (ch == '\t')
			fputs("\\t", stdout);
		else if (ch < 0x20 || ch == 0x7f)
			printf("\\x%02x", ch);
		else
			putchar(ch);
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: nbfs-posixcheck [-v] [-1] [-k SUBSTRING] DIR\n"
			"  -1  DIR is on a mount other users may not enter: skip the cases that switch users\n");
}

int main(int argc, char **argv)
{
	bool verbose = false;
	const char *only = NULL;
	int opt;
	while ((opt = getopt(argc, argv, "v1k:h")) != -1) {
		switch (opt) {
		case 'v': verbose = true; break;
		case '1': pc_single_user = true; break;
		case 'k': only = optarg; break;
		default: usage(); return 2;
		}
	}
	if (optind != argc - 1) {
		usage();
		return 2;
	}
	char *root = realpath(argv[optind], NULL);
	if (!root) {
		fprintf(stderr, "nbfs-posixcheck: %s: %s\n", argv[optind], strerror(errno));
		return 2;
	}
	char base[PATH_MAX];
	snprintf(base, sizeof(base), "%s/posixcheck.%ld", root, (long)getpid());
	free(root);
	if (mkdir(base, 0755) != 0) {
		fprintf(stderr, "nbfs-posixcheck: mkdir %s: %s\n", base, strerror(errno));
		return 2;
	}
	if (verbose)
		printf("posixcheck: %zu cases in %s\n", sizeof(pc_cases) / sizeof(pc_cases[0]),
		       base);

	size_t passed = 0, failed = 0;
	bool hung = false;
	for (size_t i = 0; i < sizeof(pc_cases) / sizeof(pc_cases[0]); i++) {
		char dir[PATH_MAX + 64];
		struct pc_ctx c = {.dir = dir};
		struct timespec t0, t1;
		if (only && !strstr(pc_cases[i].name, only))
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", base, pc_cases[i].name);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		int r = hung ? fail(&c, "not run: an earlier case timed out")
			     : run_case(&pc_cases[i], &c);
		hung = hung || r == -2;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (r == 0) {
			passed++;
			printf("PASS %s", pc_cases[i].name);
			if (c.msg[0]) {
				fputs(" (", stdout);
				print_escaped(c.msg);
				putchar(')');
			}
		} else {
			failed++;
			printf("FAIL %s: ", pc_cases[i].name);
			print_escaped(c.msg);
		}
		if (verbose)
			printf(" [%lld ms]", (long long)(t1.tv_sec - t0.tv_sec) * 1000 +
						 (t1.tv_nsec - t0.tv_nsec) / 1000000);
		putchar('\n');
	}
	printf("posixcheck: %zu passed, %zu failed\n", passed, failed);
	return failed ? 1 : 0;
}
