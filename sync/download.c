/*
 * One file's download into the staging area, resumable like an upload and
 * checked against the server's MD5. The contract is in download.h.
 */
#include "sync/download.h"

#include "sync/rcall.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wire/err.h"
#include "wire/log.h"
#include "wire/longpath.h"
#include "wire/xio.h"

struct nb_dl {
	const struct nb_download *d;
	int fd;
	struct nb_md5 hash;
	struct nb_get_info info;
	uint64_t pos;
	struct nb_download_stats *st;
};

static int nb_dl_info(void *arg, const struct nb_get_info *info)
{
	struct nb_dl *x = arg;
	int r;
	x->info = *info;
	x->info.attr.link = NULL;
	x->st->resumed_at = info->start;
	if (!S_ISREG(info->attr.mode))
		return -EINVAL;
	if (info->start == 0) {
		if (ftruncate(x->fd, 0) != 0)
			return -errno;
	} else {
		/* Our own bytes: hash them to continue the whole-file MD5. */
		uint8_t ignored[NB_MD5_LEN];
		if ((r = nb_md5_fd(x->fd, info->start, ignored, &x->hash)) != 0)
			return r;
		if (ftruncate(x->fd, (off_t)info->start) != 0)
			return -errno;
	}
	x->pos = info->start;
	/* Tag the partial with the content it now belongs to. */
	if ((r = nb_queue_fetch_tag_set(x->d->q, x->d->local_path, info->md5)) != 0)
		return r;
	if (x->d->progress)
		x->d->progress(x->d->arg, x->pos, info->attr.size);
	return 0;
}

static int nb_dl_data(void *arg, uint64_t off, const uint8_t *data, size_t n)
{
	struct nb_dl *x = arg;
	int r = nb_xio_pwrite_full(x->fd, data, n, (off_t)off);
	if (r != 0)
		return r;
	nb_md5_update(&x->hash, data, n);
	x->pos = off + n;
	x->st->received += n;
	if (x->d->progress)
		x->d->progress(x->d->arg, x->pos, x->info.attr.size);
	return 0;
}

int nb_download_run(struct nb_remote *r, struct nb_download *d, struct nb_download_stats *st)
{
	char name[64];
	uint8_t key[NB_MD5_LEN];
	struct nb_dl x = {.d = d, .fd = -1, .st = st};
	struct nb_get g = {.path = (char *)d->remote_path};
	struct stat s;
	int e;
	memset(st, 0, sizeof(*st));
	nb_md5_buf(d->local_path, strlen(d->local_path), key);
	nb_md5_hex(key, name + 5);
	memcpy(name, "path-", 5);
	x.fd = openat(d->fetch_dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (x.fd < 0)
		return -errno;
	if ((e = nb_md5_init(&x.hash)) != 0)
		goto out;
	if (fstat(x.fd, &s) == 0 && s.st_size > 0 &&
	    nb_queue_fetch_tag_get(d->q, d->local_path, g.expect) == 0) {
		g.offset = (uint64_t)s.st_size;
		g.has_expect = 1;
	}
	struct nb_rcall rc;
	nb_rcall_init(&rc, NB_MSG_GET);
	rc.on_info = nb_dl_info;
	rc.on_data = nb_dl_data;
	rc.arg = &x;
	if ((e = nb_rcall_get(r, &rc, &g)) != 0 || (e = nb_rcall_wait(r, &rc)) != 0) {
		snprintf(d->errtext, sizeof(d->errtext), "%s", rc.errtext);
		goto out;
	}
	uint8_t got[NB_MD5_LEN];
	nb_md5_final(&x.hash, got);
	if (memcmp(got, x.info.md5, NB_MD5_LEN) != 0) {
		nb_warn("%s: downloaded content does not match its MD5; discarded", d->remote_path);
		unlinkat(d->fetch_dirfd, name, 0);
		nb_queue_fetch_tag_del(d->q, d->local_path);
		e = NB_E_MD5;
		goto out;
	}
	struct timespec ts[2] = {{0, UTIME_OMIT}, {(time_t)x.info.attr.mtime_s, (long)x.info.attr.mtime_ns}};
	if (fchmod(x.fd, x.info.attr.mode & 07777) != 0 || futimens(x.fd, ts) != 0 || fstat(x.fd, &s) != 0) {
		e = -errno;
		goto out;
	}
	if ((e = nb_xio_fsync(x.fd)) != 0)
		goto out;
	/* Never over a local file that appeared meanwhile: it is newer. */
	if (nb_longpath_renameat2(d->fetch_dirfd, name, d->stage_fd, d->local_path,
				  RENAME_NOREPLACE) != 0) {
		e = -errno;
		if (e == -EEXIST) {
			unlinkat(d->fetch_dirfd, name, 0);
			nb_queue_fetch_tag_del(d->q, d->local_path);
		}
		goto out;
	}
	struct nb_synced rec = {
		.kind = NB_KIND_FILE,
		.size = (uint64_t)s.st_size,
		.mtime_ns = (int64_t)s.st_mtim.tv_sec * 1000000000 + s.st_mtim.tv_nsec,
		.has_md5 = 1,
		.has_remote = 1,
		.rsize = x.info.attr.size,
		.rmtime_s = x.info.attr.mtime_s,
		.rmtime_ns = x.info.attr.mtime_ns,
	};
	memcpy(rec.md5, got, NB_MD5_LEN);
	e = nb_queue_fetched(d->q, d->local_path, &rec);
out:
	if (x.hash.ctx)
		nb_md5_free(&x.hash);
	nb_xio_close(x.fd);
	return e;
}
