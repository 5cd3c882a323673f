/*
 * Partial files: the server side of resumable upload. The contract is in
 * partial.h.
 */
#include "server/partial.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "server/publock.h"
#include "wire/err.h"
#include "wire/log.h"
#include "wire/proto.h"
#include "wire/xio.h"

#define NB_CONTENT_XATTR "user.nbfs.content"

static const char *nb_partial_fault_file;

void nb_partial_set_fault_file(const char *path)
{
	nb_partial_fault_file = path;
}

/* The tests' fault points, armed by the fault file's existence and
 * chosen by its first word: "after-publish" stalls (without answering)
 * once the file is published, as a link that dies just then would look;
 * anything else crashes between verification and rename. Each fires
 * once: the file is removed. */
static int nb_partial_fault(int after_publish)
{
	char word[32] = "";
	if (!nb_partial_fault_file)
		return 0;
	FILE *fp = fopen(nb_partial_fault_file, "re");
	if (!fp)
		return 0;
	if (!fgets(word, sizeof(word), fp))
		word[0] = 0;
	fclose(fp);
	int is_after = strncmp(word, "after-publish", 13) == 0;
	if (is_after != after_publish || unlink(nb_partial_fault_file) != 0)
		return 0;
	return 1;
}

void nb_partial_fault_point(int after_publish)
{
	if (!nb_partial_fault(after_publish))
		return;
	if (after_publish)
		sleep(30); /* longer than the tests' timeout=5 */
	_exit(3);
}

int nb_partial_dirfd(const struct nb_root *root)
{
	int fd;
	if (mkdirat(root->fd, ".nbfs", 0700) != 0 && errno != EEXIST)
		return -errno;
	int nbdir = openat(root->fd, ".nbfs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (nbdir < 0)
		return -errno;
	if (mkdirat(nbdir, "partial", 0700) != 0 && errno != EEXIST) {
		fd = -errno;
		nb_xio_close(nbdir);
		return fd;
	}
	fd = openat(nbdir, "partial", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	fd = fd < 0 ? -errno : fd;
	nb_xio_close(nbdir);
	return fd;
}

/* Open and lock the partial, making sure the locked inode is still the
 * one under the name (another session may have published or discarded it
 * between our open and our lock). */
static int nb_partial_lock(int dirfd, const char *name, const uint8_t *mount,
			   struct nb_owner *busy)
{
	for (int tries = 0; tries < 8; tries++) {
		int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			return -errno;
		if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
			int e = errno == EWOULDBLOCK ? NB_E_BUSY : -errno;
			/* Held by an older session of our own mount (its link
			 * died silently): end it and take the lock. */
			if (e == NB_E_BUSY && mount)
				e = nb_owner_take_over(fd, dirfd, name, mount, busy);
			else if (e == NB_E_BUSY && nb_owner_read(dirfd, name, busy) != 0)
				memset(busy, 0, sizeof(*busy));
			if (e != 0) {
				nb_xio_close(fd);
				return e;
			}
		}
		struct stat a, b;
		if (fstat(fd, &a) == 0 && !S_ISREG(a.st_mode)) {
			nb_xio_close(fd);
			return -EINVAL;
		}
		if (fstatat(dirfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev)
			return fd;
		nb_xio_close(fd);
	}
	return NB_E_BUSY;
}

int nb_partial_open(struct nb_partial *p, const struct nb_root *root, const uint8_t md5[NB_MD5_LEN],
		    uint64_t size, uint64_t *offset, uint8_t prefix_md5[NB_MD5_LEN])
{
	return nb_partial_open_as(p, root, md5, size, offset, prefix_md5, NULL);
}

int nb_partial_open_as(struct nb_partial *p, const struct nb_root *root,
		       const uint8_t md5[NB_MD5_LEN], uint64_t size, uint64_t *offset,
		       uint8_t prefix_md5[NB_MD5_LEN], const uint8_t *mount)
{
	int r;
	memset(p, 0, sizeof(*p));
	p->fd = -1;
	p->dirfd = nb_partial_dirfd(root);
	if (p->dirfd < 0)
		return p->dirfd;
	memcpy(p->md5, md5, NB_MD5_LEN);
	p->size = size;
	nb_md5_hex(md5, p->name);
	if ((r = nb_md5_init(&p->hash)) != 0)
		goto fail;
	if ((r = p->fd = nb_partial_lock(p->dirfd, p->name, mount, &p->busy)) < 0)
		goto fail;
	nb_owner_write(p->dirfd, p->name, mount);
	struct stat st;
	if (fstat(p->fd, &st) != 0) {
		r = -errno;
		goto fail;
	}
	uint64_t held = (uint64_t)st.st_size;
	if (held > size) {
		/* Cannot be a prefix of the announced content. */
		if (ftruncate(p->fd, 0) != 0) {
			r = -errno;
			goto fail;
		}
		held = 0;
	}
	if ((r = nb_md5_fd(p->fd, held, prefix_md5, &p->hash)) != 0)
		goto fail;
	p->pos = held;
	nb_appender_init(&p->out, p->fd, held, size >= NB_PARTIAL_DIRECT_MIN);
	nb_appender_hash_into(&p->out, &p->hash);
	*offset = held;
	return 0;
fail:
	nb_partial_close(p, 0);
	return r;
}

int nb_partial_write(struct nb_partial *p, uint64_t offset, const void *data, size_t n)
{
	int r;
	if (offset == 0 && p->pos != 0) {
		if ((r = nb_appender_reset(&p->out, 0)) != 0)
			return r;
		nb_md5_reset(&p->hash);
		p->pos = 0;
	}
	if (offset != p->pos)
		return -EINVAL;
	if (n > p->size - p->pos)
		return -EFBIG;
	/* It hashes too (see nb_appender_hash_into). */
	if ((r = nb_appender_write(&p->out, data, n)) != 0)
		return r;
	p->pos += n;
	return 0;
}

void nb_partial_record(int fd, const uint8_t md5[NB_MD5_LEN], uint64_t size)
{
	struct stat st;
	char hex[NB_MD5_HEX], val[128];
	if (fstat(fd, &st) != 0)
		return;
	nb_md5_hex(md5, hex);
	int n = snprintf(val, sizeof(val), "%s %" PRIu64 " %lld %ld", hex, size,
			 (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	/* Best effort: a filesystem without user xattrs just loses the
	 * shortcut, not correctness. */
	if (fsetxattr(fd, NB_CONTENT_XATTR, val, (size_t)n, 0) != 0)
		nb_debug("no content record: %s", strerror(errno));
}

int nb_partial_recorded_md5(int fd, uint8_t md5[NB_MD5_LEN])
{
	struct stat st;
	char val[128], hex[NB_MD5_HEX];
	unsigned long long size;
	long long ms;
	long ns;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return 0;
	ssize_t n = fgetxattr(fd, NB_CONTENT_XATTR, val, sizeof(val) - 1);
	if (n <= 0)
		return 0;
	val[n] = 0;
	if (sscanf(val, "%32s %llu %lld %ld", hex, &size, &ms, &ns) != 4 ||
	    size != (unsigned long long)st.st_size || ms != (long long)st.st_mtim.tv_sec ||
	    ns != st.st_mtim.tv_nsec)
		return 0;
	return nb_md5_from_hex(hex, md5) == 0;
}

int nb_partial_matches(int dirfd, const char *leaf, const uint8_t md5[NB_MD5_LEN], uint64_t size)
{
	int fd = openat(dirfd, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 0;
	struct stat st;
	uint8_t have[NB_MD5_LEN];
	int ok = fstat(fd, &st) == 0 && (uint64_t)st.st_size == size &&
		 nb_partial_recorded_md5(fd, have) && memcmp(have, md5, NB_MD5_LEN) == 0;
	nb_xio_close(fd);
	return ok;
}

int nb_partial_touch(int dirfd, const char *leaf, const uint8_t md5[NB_MD5_LEN], uint64_t size,
		     mode_t mode, int64_t mtime_s, uint32_t mtime_ns)
{
	int fd = openat(dirfd, leaf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct timespec ts[2] = {{0, UTIME_OMIT}, {(time_t)mtime_s, (long)mtime_ns}};
	int r = fchmod(fd, mode & 07777) == 0 && futimens(fd, ts) == 0 ? 0 : -errno;
	if (r == 0) {
		nb_partial_record(fd, md5, size);
		r = nb_xio_fsync(fd);
	}
	nb_xio_close(fd);
	return r;
}

int nb_base_is(const struct nb_base *base, const struct stat *st)
{
	return base->kind == NB_BASE_ANY ||
	       (base->kind == NB_BASE_MATCH && S_ISREG(st->st_mode) &&
		(uint64_t)st->st_size == base->size && st->st_mtim.tv_sec == base->mtime_s &&
		(uint32_t)st->st_mtim.tv_nsec == base->mtime_ns);
}

int nb_partial_check_base(int dirfd, const char *leaf, const struct nb_base *base,
			  const uint8_t md5[NB_MD5_LEN], uint64_t size)
{
	struct stat st;
	if (base->kind == NB_BASE_ANY)
		return 0;
	if (fstatat(dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return 0; /* gone (or never there): nothing to overwrite */
	if (nb_base_is(base, &st))
		return 0;
	/* Already exactly what we are publishing: not a conflict either. */
	if (nb_partial_matches(dirfd, leaf, md5, size))
		return 0;
	return -EEXIST;
}

void nb_partial_scratch_name(char name[NB_PARTIAL_SCRATCH_NAME])
{
	/* Unique in this process by the counter, across processes by the
	 * pid; the caller's O_EXCL (or link) settles the rest (a name left
	 * by a dead process of the same pid). */
	static atomic_ulong seq;
	snprintf(name, NB_PARTIAL_SCRATCH_NAME, NB_PARTIAL_SCRATCH_PREFIX "%ld-%lu", (long)getpid(),
		 atomic_fetch_add(&seq, 1));
}

int nb_partial_scratch(int dirfd, char name[NB_PARTIAL_SCRATCH_NAME])
{
	for (int tries = 0; tries < 64; tries++) {
		nb_partial_scratch_name(name);
		int fd =
		    openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0) {
			if (errno == EEXIST)
				continue;
			return -errno;
		}
		/* A sweep in another session may have found it unlocked
		 * between our create and our lock: it holds the lock and is
		 * removing it, or has removed it already. Take another name. */
		struct stat st;
		if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
			int e = errno;
			nb_xio_close(fd);
			if (e == EWOULDBLOCK)
				continue;
			unlinkat(dirfd, name, 0);
			return -e;
		}
		if (fstat(fd, &st) != 0) {
			int e = errno;
			unlinkat(dirfd, name, 0);
			nb_xio_close(fd);
			return -e;
		}
		if (st.st_nlink > 0)
			return fd;
		nb_xio_close(fd);
	}
	return -EEXIST;
}

int nb_partial_publish(struct nb_partial *p, int dirfd, const char *leaf,
		       const struct nb_base *base, mode_t mode, int64_t mtime_s, uint32_t mtime_ns)
{
	int lock = -1;
	int r = 0, discard = 0;
	uint8_t got[NB_MD5_LEN];
	if (p->pos != p->size) {
		r = -EINVAL;
		goto out;
	}
	if ((r = nb_appender_flush(&p->out)) != 0 || (r = nb_xio_fsync(p->fd)) != 0)
		goto out;
	nb_md5_final(&p->hash, got);
	if (memcmp(got, p->md5, NB_MD5_LEN) != 0) {
		r = NB_E_MD5;
		discard = 1;
		goto out;
	}
	struct timespec ts[2] = {{0, UTIME_OMIT}, {(time_t)mtime_s, (long)mtime_ns}};
	if (fchmod(p->fd, mode & 07777) != 0 || futimens(p->fd, ts) != 0) {
		r = -errno;
		goto out;
	}
	nb_partial_record(p->fd, p->md5, p->size);
	if ((r = nb_xio_fsync(p->fd)) != 0)
		goto out;
	if ((r = lock = nb_publock_take(p->dirfd)) < 0)
		goto out;
	if (base && (r = nb_partial_check_base(dirfd, leaf, base, p->md5, p->size)) != 0)
		goto out;
	nb_partial_fault_point(0);
	if (renameat(p->dirfd, p->name, dirfd, leaf) != 0) {
		r = -errno;
		goto out;
	}
	p->published = 1;
	nb_publock_drop(lock);
	lock = -1;
	r = nb_xio_fsync(dirfd);
	if (r == 0)
		nb_partial_fault_point(1);
out:
	nb_publock_drop(lock);
	nb_partial_close(p, discard);
	return r;
}

int nb_partial_sweep(const struct nb_root *root, long max_age_s)
{
	int dfd = nb_partial_dirfd(root), removed = 0;
	if (dfd < 0)
		return 0;
	int fd2 = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
	DIR *d = fd2 >= 0 ? fdopendir(fd2) : NULL;
	if (!d) {
		nb_xio_close(fd2);
		nb_xio_close(dfd);
		return 0;
	}
	time_t now = time(NULL);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		/* An owner record whose partial is gone (its holder was
		 * killed after publishing): nobody reads it any more. */
		if (strncmp(de->d_name, NB_OWNER_PREFIX, strlen(NB_OWNER_PREFIX)) == 0 &&
		    fstatat(dfd, de->d_name + strlen(NB_OWNER_PREFIX), &st, AT_SYMLINK_NOFOLLOW) != 0 &&
		    errno == ENOENT)
			unlinkat(dfd, de->d_name, 0);
		if (de->d_name[0] == '.')
			continue;
		/* A scratch file nobody holds is an orphan whatever its age:
		 * its session ended without publishing it (a crash), and
		 * nothing can resume from it. */
		int scratch = strncmp(de->d_name, NB_PARTIAL_SCRATCH_PREFIX,
				      strlen(NB_PARTIAL_SCRATCH_PREFIX)) == 0;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    (!scratch && now - st.st_mtim.tv_sec < max_age_s))
			continue;
		/* In use by an upload: its session holds the lock. */
		int fd = openat(dfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			struct stat again;
			if (fstatat(dfd, de->d_name, &again, AT_SYMLINK_NOFOLLOW) == 0 &&
			    again.st_ino == st.st_ino && unlinkat(dfd, de->d_name, 0) == 0) {
				nb_owner_clear(dfd, de->d_name);
				nb_info("removed %s %s (%lld s old)",
					scratch ? "orphaned scratch file" : "stale partial",
					de->d_name, (long long)(now - st.st_mtim.tv_sec));
				removed++;
			}
		}
		nb_xio_close(fd);
	}
	closedir(d);
	nb_xio_close(dfd);
	return removed;
}

void nb_partial_close(struct nb_partial *p, int discard)
{
	int r;
	if (p->fd >= 0 && discard)
		unlinkat(p->dirfd, p->name, 0);
	else if (p->fd >= 0 && (r = nb_appender_flush(&p->out)) != 0)
		nb_warn("partial %s: writing its last bytes failed: %s", p->name, nb_strerror(r));
	else if (p->fd >= 0 && !p->published)
		nb_info("partial %s: keeping %llu bytes for a resume", p->name,
			(unsigned long long)p->pos);
	nb_appender_free(&p->out);
	if (p->fd >= 0)
		nb_owner_clear(p->dirfd, p->name); /* while the lock is still ours */
	nb_xio_close(p->fd); /* drops the flock */
	nb_xio_close(p->dirfd);
	if (p->hash.ctx)
		nb_md5_free(&p->hash);
	p->fd = p->dirfd = -1; /* closing again is harmless */
}
