/*
 * The PUT_SMALL batch: whole small files held back until they can be made
 * durable together, then answered. The contract is in batch.h.
 */
#include "server/batch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "server/partial.h"
#include "server/publock.h"
#include "server/syncpool.h"
#include "server/unnamed.h"
#include "wire/err.h"
#include "wire/log.h"
#include "wire/pathname.h"
#include "wire/xio.h"

struct nb_batch_file {
	uint32_t id;
	char *path;       /* the wire path, owned */
	const char *leaf; /* its last component, inside path */
	size_t dir;       /* index into the batch's dirs */
	int fd;           /* the unnamed file, or the scratch file (locked) */
	int unnamed;      /* fd has no name yet (server/unnamed.h) */
	char name[NB_PARTIAL_SCRATCH_NAME]; /* the scratch file's name */
	struct nb_base base;
	uint8_t md5[NB_MD5_LEN];
	uint64_t size;
	int r;       /* the outcome, during a flush */
	int renamed; /* published under its name */
};

struct nb_batch_dir {
	int fd;
	dev_t dev;
	ino_t ino;
	int touched; /* a file was renamed into it: fsync it */
	int r;       /* that fsync's outcome */
};

void nb_batch_init(struct nb_batch *b, struct nb_root root)
{
	memset(b, 0, sizeof(*b));
	b->root = root;
	b->scratch_dirfd = -1;
}

/* Empty the batch, keeping its allocations and the scratch directory.
 * The files' scratch names must already be gone or published. */
static void nb_batch_reset(struct nb_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		nb_xio_close(b->files[i].fd);
		free(b->files[i].path);
	}
	for (size_t i = 0; i < b->ndirs; i++)
		nb_xio_close(b->dirs[i].fd);
	b->n = b->ndirs = 0;
	b->bytes = 0;
}

static void nb_batch_free_tables(struct nb_batch *b)
{
	free(b->files);
	free(b->dirs);
	free(b->fdv);
	free(b->rv);
	b->files = NULL;
	b->dirs = NULL;
	b->fdv = b->rv = NULL;
}

void nb_batch_free(struct nb_batch *b)
{
	if (b->n > 0)
		nb_debug("discarding %zu unanswered small files", b->n);
	for (size_t i = 0; i < b->n; i++)
		if (!b->files[i].unnamed)
			unlinkat(b->scratch_dirfd, b->files[i].name, 0);
	nb_batch_reset(b);
	nb_batch_free_tables(b);
	nb_xio_close(b->scratch_dirfd);
	b->scratch_dirfd = -1;
	nb_syncpool_free(b->pool);
	b->pool = NULL;
}

size_t nb_batch_count(const struct nb_batch *b)
{
	return b->n;
}

long long nb_batch_age_ms(const struct nb_batch *b)
{
	return b->n ? nb_xio_now_ms() - b->first_ms : 0;
}

int nb_batch_full(const struct nb_batch *b)
{
	return b->n >= NB_BATCH_FILES_MAX || b->bytes >= NB_BATCH_BYTES_MAX;
}

int nb_batch_has_id(const struct nb_batch *b, uint32_t id)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->files[i].id == id)
			return 1;
	return 0;
}

int nb_batch_touches(const struct nb_batch *b, const char *path)
{
	for (size_t i = 0; i < b->n; i++) {
		size_t k = strlen(b->files[i].path);
		if (strncmp(path, b->files[i].path, k) == 0 && (path[k] == 0 || path[k] == '/'))
			return 1;
	}
	return 0;
}

int nb_batch_beneath(const struct nb_batch *b, const char *path)
{
	size_t k = strlen(path);
	for (size_t i = 0; i < b->n; i++) {
		const char *held = b->files[i].path;
		if (k == 0 || (strncmp(held, path, k) == 0 && held[k] == '/'))
			return 1;
	}
	return 0;
}

/* The slot of dirfd's directory in the table: an existing one (dirfd is
 * then closed) or a new one taking dirfd over. */
static int nb_batch_dir_slot(struct nb_batch *b, int dirfd, size_t *slot)
{
	struct stat st;
	if (fstat(dirfd, &st) != 0) {
		int r = -errno;
		nb_xio_close(dirfd);
		return r;
	}
	for (size_t i = 0; i < b->ndirs; i++) {
		if (b->dirs[i].dev == st.st_dev && b->dirs[i].ino == st.st_ino) {
			nb_xio_close(dirfd);
			*slot = i;
			return 0;
		}
	}
	/* At most one new directory per file: the table cannot overflow. */
	b->dirs[b->ndirs] = (struct nb_batch_dir){.fd = dirfd, .dev = st.st_dev, .ino = st.st_ino};
	*slot = b->ndirs++;
	return 0;
}

/* The partial directory, opened when first needed: 0 or -errno. */
static int nb_batch_scratch_dir(struct nb_batch *b)
{
	if (b->scratch_dirfd >= 0)
		return 0;
	int fd = nb_partial_dirfd(&b->root);
	if (fd < 0)
		return fd;
	b->scratch_dirfd = fd;
	return 0;
}

/* Allocate the tables at the first file of the session. */
static int nb_batch_alloc(struct nb_batch *b)
{
	if (b->files)
		return 0;
	b->files = calloc(NB_BATCH_FILES_MAX, sizeof(*b->files));
	b->dirs = calloc(NB_BATCH_FILES_MAX, sizeof(*b->dirs));
	b->fdv = calloc(NB_BATCH_FILES_MAX, sizeof(*b->fdv));
	b->rv = calloc(NB_BATCH_FILES_MAX, sizeof(*b->rv));
	if (b->files && b->dirs && b->fdv && b->rv)
		return 0;
	nb_batch_free_tables(b);
	return -ENOMEM;
}

/* Data, mode, mtime and content record into the scratch file fd, and
 * its writeback started, so that the fsync at the flush mostly waits
 * for the journal. */
static int nb_batch_write(int fd, const struct nb_put_open *m, const uint8_t *data)
{
	int r;
	if (m->size > 0 && (r = nb_xio_pwrite_full(fd, data, (size_t)m->size, 0)) != 0)
		return r;
	struct timespec ts[2] = {{0, UTIME_OMIT}, {(time_t)m->mtime_s, (long)m->mtime_ns}};
	if (fchmod(fd, (mode_t)(m->mode & 07777)) != 0 || futimens(fd, ts) != 0)
		return -errno;
	nb_partial_record(fd, m->md5, m->size);
	if (m->size > 0)
		sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	return 0;
}

int nb_batch_add(struct nb_batch *b, uint32_t id, const struct nb_put_open *m, const uint8_t *data,
		 int dirfd, const char *leaf)
{
	int r, fd = -1;
	char *path = NULL;
	char name[NB_PARTIAL_SCRATCH_NAME];
	if (b->n >= NB_BATCH_FILES_MAX) {
		r = -ENOBUFS;
		goto fail;
	}
	if ((r = nb_batch_alloc(b)) != 0)
		goto fail;
	if (!(path = strdup(m->path))) {
		r = -ENOMEM;
		goto fail;
	}
	/* An unnamed file in the destination directory where the system
	 * has them, else a scratch file in the partial directory. */
	int unnamed = 0;
	if (!b->no_unnamed) {
		if ((fd = nb_unnamed_open(dirfd)) >= 0)
			unnamed = 1;
		else if (fd == -EOPNOTSUPP || fd == -EISDIR || fd == -EINVAL)
			b->no_unnamed = 1; /* none here: asked once per session */
		else {
			r = fd; /* EMFILE, EACCES, ENOSPC: as a scratch file would */
			fd = -1;
			goto fail;
		}
	}
	if (!unnamed) {
		if ((r = nb_batch_scratch_dir(b)) != 0)
			goto fail;
		if ((fd = r = nb_partial_scratch(b->scratch_dirfd, name)) < 0)
			goto fail;
	}
	if ((r = nb_batch_write(fd, m, data)) != 0) {
		if (!unnamed)
			unlinkat(b->scratch_dirfd, name, 0);
		goto fail;
	}
	size_t slot = 0;
	if ((r = nb_batch_dir_slot(b, dirfd, &slot)) != 0) {
		dirfd = -1; /* closed */
		if (!unnamed)
			unlinkat(b->scratch_dirfd, name, 0);
		goto fail;
	}
	if (b->n == 0)
		b->first_ms = nb_xio_now_ms();
	struct nb_batch_file *f = &b->files[b->n++];
	memset(f, 0, sizeof(*f));
	f->id = id;
	f->path = path;
	f->leaf = path + (leaf - m->path);
	f->dir = slot;
	f->fd = fd;
	f->unnamed = unnamed;
	if (!unnamed)
		memcpy(f->name, name, sizeof(name));
	f->base = (struct nb_base){m->base_kind, m->base_size, m->base_mtime_s, m->base_mtime_ns};
	memcpy(f->md5, m->md5, NB_MD5_LEN);
	f->size = m->size;
	b->bytes += m->size;
	return 0;
fail:
	nb_xio_close(fd);
	nb_xio_close(dirfd);
	free(path);
	return r;
}

/* Publish the unnamed file f in d under its name: linked there if the
 * name is free; else (its base allowed replacing what is there) linked
 * under a scratch name, locked like any scratch file, and renamed over
 * it. 0 or -errno. */
static int nb_batch_name(struct nb_batch *b, struct nb_batch_file *f, struct nb_batch_dir *d)
{
	int r = nb_unnamed_link(f->fd, d->fd, f->leaf);
	if (r != -EEXIST || (r = nb_batch_scratch_dir(b)) != 0)
		return r;
	if (flock(f->fd, LOCK_EX | LOCK_NB) != 0)
		return -errno;
	for (int tries = 0; tries < 64; tries++) {
		nb_partial_scratch_name(f->name);
		if ((r = nb_unnamed_link(f->fd, b->scratch_dirfd, f->name)) != -EEXIST)
			break;
	}
	if (r != 0)
		return r == -EEXIST ? -EAGAIN : r; /* no free scratch name: not a conflict */
	if (renameat(b->scratch_dirfd, f->name, d->fd, f->leaf) == 0)
		return 0;
	r = -errno;
	unlinkat(b->scratch_dirfd, f->name, 0);
	return r;
}

/* f under its name in d: 0 or -errno (nothing published). */
static int nb_batch_publish(struct nb_batch *b, struct nb_batch_file *f, struct nb_batch_dir *d)
{
	if (f->unnamed)
		return nb_batch_name(b, f, d);
	return renameat(b->scratch_dirfd, f->name, d->fd, f->leaf) == 0 ? 0 : -errno;
}

int nb_batch_flush(struct nb_batch *b, nb_batch_answer_fn answer, void *ctx)
{
	if (b->n == 0)
		return 0;
	long long t0 = nb_xio_now_ms();
	size_t published = 0, ndirs = 0;

	/* 1. The files' data and metadata on disk, up to NB_BATCH_THREADS
	 * at once (without a pool, one at a time: slower, as durable). */
	if (!b->pool && b->n > 1 && nb_syncpool_new(NB_BATCH_THREADS - 1, &b->pool) != 0)
		b->pool = NULL;
	for (size_t i = 0; i < b->n; i++)
		b->fdv[i] = b->files[i].fd;
	nb_syncpool_run(b->pool, b->fdv, b->rv, b->n);

	/* 2. Each into place, in request order, if its base still holds:
	 * checked and named under the root's publish lock, which a session
	 * of another mount publishing to the same name takes too. */
	int lock = nb_batch_scratch_dir(b);
	if (lock == 0)
		lock = nb_publock_take(b->scratch_dirfd);
	for (size_t i = 0; i < b->n; i++) {
		struct nb_batch_file *f = &b->files[i];
		struct nb_batch_dir *d = &b->dirs[f->dir];
		f->r = lock < 0 ? lock : b->rv[i];
		if (f->r == 0)
			f->r = nb_partial_check_base(d->fd, f->leaf, &f->base, f->md5, f->size);
		if (f->r == 0) {
			nb_partial_fault_point(0);
			if ((f->r = nb_batch_publish(b, f, d)) == 0) {
				f->renamed = 1;
				d->touched = 1;
				published++;
			}
		}
		if (!f->renamed && !f->unnamed)
			unlinkat(b->scratch_dirfd, f->name, 0);
		nb_xio_close(f->fd);
		f->fd = -1;
	}
	nb_publock_drop(lock);

	/* 3. Their directory entries on disk: one fsync per directory. */
	for (size_t i = 0; i < b->ndirs; i++)
		if (b->dirs[i].touched)
			b->fdv[ndirs++] = b->dirs[i].fd;
	nb_syncpool_run(b->pool, b->fdv, b->rv, ndirs);
	for (size_t i = 0, j = 0; i < b->ndirs; i++)
		if (b->dirs[i].touched)
			b->dirs[i].r = b->rv[j++];
	for (size_t i = 0; i < b->n; i++) {
		struct nb_batch_file *f = &b->files[i];
		if (f->renamed && b->dirs[f->dir].r != 0)
			f->r = b->dirs[f->dir].r; /* in place, but not known to be durable */
	}
	if (published > 0)
		nb_partial_fault_point(1);
	nb_debug("batch: %zu small files, %zu published into %zu directories, %lld ms", b->n,
		 published, ndirs, nb_xio_now_ms() - t0);

	/* 4. The answers. */
	int r = 0;
	for (size_t i = 0; i < b->n && r == 0; i++)
		r = answer(ctx, b->files[i].id, b->files[i].r, b->files[i].path);
	nb_batch_reset(b);
	return r;
}
