/*
 * bench_fusenull: the floor under any FUSE filesystem built like nbfs.
 *
 * A FUSE filesystem that keeps names, modes and sizes in memory and
 * throws the data away, mounted the way nbfs mounts (libfuse's path API
 * and multithreaded loop, the same entry, attribute and negative
 * timeouts, 1 MiB writes, direct I/O for new files, no
 * default_permissions). What `cp -r` into it costs is what the kernel's
 * round trips through /dev/fuse and libfuse cost with no work behind
 * them: no staging file, no queue, no upload. tests/bench/run measures it
 * as the method "fusenull", so the table shows how much of nbfs's `cp`
 * time is nbfs and how much is FUSE on this machine.
 *
 *     bench_fusenull [-f] MOUNTPOINT
 *
 * A benchmark tool, not part of nbfs: no unlink, rename or reads.
 */
#define FUSE_USE_VERSION 35

#include <errno.h>
#include <fuse.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SLOTS (1u << 18) /* names held at most: a quarter of this */

struct ent {
	char *path;
	mode_t mode;
	off_t size;
	struct timespec mtime;
};

static struct ent table[SLOTS];
static size_t used;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;
	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

/* The slot of path, or the free slot where it would go. Under lock. */
static struct ent *slot(const char *path)
{
	for (uint32_t i = hash(path) & (SLOTS - 1);; i = (i + 1) & (SLOTS - 1))
		if (!table[i].path || strcmp(table[i].path, path) == 0)
			return &table[i];
}

static int add(const char *path, mode_t mode)
{
	int r = 0;
	pthread_mutex_lock(&lock);
	struct ent *e = slot(path);
	if (e->path)
		r = -EEXIST;
	else if (used >= SLOTS / 4 || !(e->path = strdup(path)))
		r = -ENOSPC;
	else {
		used++;
		e->mode = mode;
		e->size = 0;
		clock_gettime(CLOCK_REALTIME, &e->mtime);
	}
	pthread_mutex_unlock(&lock);
	return r;
}

static void fill(struct stat *st, mode_t mode, off_t size, struct timespec t)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = mode;
	st->st_nlink = S_ISDIR(mode) ? 2 : 1;
	st->st_uid = getuid();
	st->st_gid = getgid();
	st->st_size = size;
	st->st_mtim = st->st_ctim = st->st_atim = t;
	st->st_blksize = 4096;
	st->st_blocks = (size + 511) / 512;
}

static int fn_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	(void)fi;
	if (strcmp(path, "/") == 0) {
		struct timespec t = {0, 0};
		fill(st, S_IFDIR | 0755, 0, t);
		return 0;
	}
	int r = -ENOENT;
	pthread_mutex_lock(&lock);
	struct ent *e = slot(path);
	if (e->path) {
		fill(st, e->mode, e->size, e->mtime);
		r = 0;
	}
	pthread_mutex_unlock(&lock);
	return r;
}

static int fn_mkdir(const char *path, mode_t mode)
{
	return add(path, S_IFDIR | (mode & 07777));
}

static int fn_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	/* As nbfs does for a new file opened only for writing. */
	if ((fi->flags & O_ACCMODE) == O_WRONLY)
		fi->direct_io = 1;
	return add(path, S_IFREG | (mode & 07777));
}

static int fn_open(const char *path, struct fuse_file_info *fi)
{
	(void)fi;
	struct stat st;
	return fn_getattr(path, &st, NULL);
}

static int fn_write(const char *path, const char *buf, size_t n, off_t off,
		    struct fuse_file_info *fi)
{
	(void)buf;
	(void)fi;
	int r = -ENOENT;
	pthread_mutex_lock(&lock);
	struct ent *e = slot(path);
	if (e->path) {
		if (off + (off_t)n > e->size)
			e->size = off + (off_t)n;
		r = (int)n;
	}
	pthread_mutex_unlock(&lock);
	return r;
}

static int fn_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	(void)fi;
	return 0;
}

static int fn_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	(void)fi;
	int r = -ENOENT;
	pthread_mutex_lock(&lock);
	struct ent *e = slot(path);
	if (e->path) {
		e->mode = (e->mode & S_IFMT) | (mode & 07777);
		r = 0;
	}
	pthread_mutex_unlock(&lock);
	return r;
}

static int fn_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	(void)tv;
	struct stat st;
	(void)fi;
	return fn_getattr(path, &st, NULL);
}

/* Every name whose parent is path: a scan of the table (a directory
 * listing is not what this tool measures). */
static int fn_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	(void)off;
	(void)fi;
	(void)flags;
	size_t pl = strcmp(path, "/") == 0 ? 0 : strlen(path);
	filler(buf, ".", NULL, 0, 0);
	filler(buf, "..", NULL, 0, 0);
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < SLOTS; i++) {
		const char *p = table[i].path;
		if (!p || strncmp(p, path, pl) != 0 || p[pl] != '/' || strchr(p + pl + 1, '/'))
			continue;
		struct stat st;
		fill(&st, table[i].mode, table[i].size, table[i].mtime);
		filler(buf, p + pl + 1, &st, 0, 0);
	}
	pthread_mutex_unlock(&lock);
	return 0;
}

static void *fn_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	conn->max_write = 1024 * 1024;
	cfg->entry_timeout = 1.0;
	cfg->attr_timeout = 1.0;
	cfg->negative_timeout = 1.0;
	return NULL;
}

static const struct fuse_operations ops = {
	.getattr = fn_getattr,
	.mkdir = fn_mkdir,
	.create = fn_create,
	.open = fn_open,
	.write = fn_write,
	.release = fn_release,
	.chmod = fn_chmod,
	.utimens = fn_utimens,
	.readdir = fn_readdir,
	.init = fn_init,
};

int main(int argc, char **argv)
{
	return fuse_main(argc, argv, &ops, NULL);
}
