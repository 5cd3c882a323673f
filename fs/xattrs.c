/*
 * The user.nbfs.* extended attributes: sync state to read, and the
 * controls to set. The contract is in xattrs.h.
 */
#include "fs/xattrs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/pinner.h"
#include "wire/md5.h"
#include "wire/xio.h"

/* Status reports can be long; xattr values are capped by the kernel. */
#define NB_XATTR_VALUE_MAX 65536

static int nb_xattr_reply(const char *value, size_t len, char *buf, size_t bufsz)
{
	if (bufsz == 0)
		return (int)len;
	if (len > bufsz)
		return -ERANGE;
	memcpy(buf, value, len);
	return (int)len;
}

/* MD5 of what is synced, or of what will be: from the core (the live
 * entry or the record), or (for a pending file not hashed yet) computed
 * now. */
static int nb_xattr_md5(struct nb_fs *fs, const char *path, const struct nb_core_state *v,
			int tracked, char out[NB_MD5_HEX])
{
	if (v->has_md5) {
		memcpy(out, v->md5, NB_MD5_HEX);
		return 0;
	}
	if (!tracked)
		return -ENODATA;
	int fd = nb_xio_open_quiet(fs->stage_fd, path);
	if (fd < 0)
		return -ENODATA;
	struct stat st;
	uint8_t md5[NB_MD5_LEN];
	int r = fstat(fd, &st) == 0 ? nb_md5_fd(fd, (uint64_t)st.st_size, md5, NULL) : -errno;
	nb_xio_close(fd);
	if (r != 0)
		return -ENODATA;
	nb_md5_hex(md5, out);
	return 0;
}

/* While offline, the reason (for things waiting to sync). */
static int nb_xattr_offline(struct nb_fs *fs, char *out, size_t outsz)
{
	static const char prefix[] = "waiting for the server: ";
	if (outsz <= sizeof(prefix))
		return 0;
	memcpy(out, prefix, sizeof(prefix));
	if (nb_core_link(fs->core, out + sizeof(prefix) - 1, outsz - sizeof(prefix) + 1)) {
		out[0] = 0;
		return 0;
	}
	return 1;
}

int nb_xattr_get(struct nb_fs *fs, const char *path, const struct stat *st, int staged,
		 const char *name, char *buf, size_t bufsz)
{
	struct nb_core_state v;
	char val[512];
	int tracked;
	int is_dir = S_ISDIR(st->st_mode);
	uint64_t size = S_ISREG(st->st_mode) ? (uint64_t)st->st_size : 0;
	if (strncmp(name, NB_XATTR_PREFIX, strlen(NB_XATTR_PREFIX)) != 0)
		return -ENODATA;
	if (is_dir) {
		nb_core_dir_state(fs->core, path, &v);
		tracked = v.count > 0;
	} else {
		tracked = nb_core_state(fs->core, path, staged, &v);
	}
	if (!strcmp(name, NB_XATTR_STATE)) {
		const char *s = nb_state_name(v.state);
		return nb_xattr_reply(s, strlen(s), buf, bufsz);
	}
	if (!strcmp(name, NB_XATTR_PROGRESS)) {
		uint64_t done = v.done, total = v.total;
		if (!tracked) {
			done = total = is_dir ? 0 : size;
		} else if (!is_dir && total == 0) {
			total = size; /* not started yet */
		}
		int n = snprintf(val, sizeof(val), "%" PRIu64 "/%" PRIu64, done, total);
		return nb_xattr_reply(val, (size_t)n, buf, bufsz);
	}
	if (!strcmp(name, NB_XATTR_ERROR)) {
		/* Waiting because the server is out of reach: say so. */
		if (tracked && !v.error[0])
			nb_xattr_offline(fs, v.error, sizeof(v.error));
		if (!tracked || !v.error[0])
			return -ENODATA;
		return nb_xattr_reply(v.error, strlen(v.error), buf, bufsz);
	}
	if (!strcmp(name, NB_XATTR_MD5)) {
		char hex[NB_MD5_HEX];
		if (is_dir)
			return -ENODATA;
		int r = nb_xattr_md5(fs, path, &v, tracked, hex);
		return r ? r : nb_xattr_reply(hex, 32, buf, bufsz);
	}
	if (!strcmp(name, NB_XATTR_PINNED)) {
		const char *p = nb_core_pinned(fs->core, path) ? "1" : "0";
		return nb_xattr_reply(p, 1, buf, bufsz);
	}
	if (!strcmp(name, NB_XATTR_PAUSED) && path[0] == 0) {
		const char *p = nb_core_paused(fs->core) ? "1" : "0";
		return nb_xattr_reply(p, 1, buf, bufsz);
	}
	if (!strcmp(name, NB_XATTR_STATUS) && path[0] == 0) {
		char *report = malloc(NB_XATTR_VALUE_MAX);
		if (!report)
			return -ENOMEM;
		/* After the cache line, a "sync paused" line while paused. */
		int k = snprintf(report, NB_XATTR_VALUE_MAX, "cache\t%" PRIu64 "\t%" PRIu64 "\t%s\n%s",
				 nb_cache_used(fs->cache), nb_cache_max(fs->cache),
				 nb_cache_full(fs->cache) ? "full" : "ok",
				 nb_core_paused(fs->core) ? "sync\tpaused\n" : "");
		size_t n = (size_t)k + nb_core_report(fs->core, report + k, NB_XATTR_VALUE_MAX - (size_t)k);
		int r = nb_xattr_reply(report, n, buf, bufsz);
		free(report);
		return r;
	}
	if (!strcmp(name, NB_XATTR_EVENTS) && path[0] == 0 && fs->events) {
		char *text = malloc(NB_XATTR_VALUE_MAX);
		if (!text)
			return -ENOMEM;
		size_t n = nb_events_render(fs->events, text, NB_XATTR_VALUE_MAX);
		int r = nb_xattr_reply(text, n, buf, bufsz);
		free(text);
		return r;
	}
	return -ENODATA;
}

int nb_xattr_list(struct nb_fs *fs, const char *path, int is_dir, char *buf, size_t bufsz)
{
	/* user.nbfs.error is listed only while there is an error, so that
	 * getfattr -d shows exactly what has a value. */
	struct nb_core_state v;
	int has_error, tracked;
	char reason[8];
	if (is_dir) {
		nb_core_dir_state(fs->core, path, &v);
		tracked = v.count > 0;
		has_error = v.error[0] != 0;
	} else {
		tracked = nb_core_state(fs->core, path, 1, &v);
		has_error = tracked && v.error[0];
	}
	if (tracked && !nb_core_link(fs->core, reason, sizeof(reason)))
		has_error = 1; /* the reason it waits */
	char names[256];
	size_t n = 0;
	const char *list[7];
	size_t k = 0;
	list[k++] = NB_XATTR_STATE;
	list[k++] = NB_XATTR_PROGRESS;
	if (!is_dir)
		list[k++] = NB_XATTR_MD5;
	if (has_error)
		list[k++] = NB_XATTR_ERROR;
	list[k++] = NB_XATTR_PINNED;
	if (is_dir && path[0] == 0) {
		list[k++] = NB_XATTR_STATUS;
		list[k++] = NB_XATTR_PAUSED;
	}
	for (size_t i = 0; i < k; i++) {
		size_t len = strlen(list[i]) + 1;
		memcpy(names + n, list[i], len);
		n += len;
	}
	return nb_xattr_reply(names, n, buf, bufsz);
}

/* "1" or "0" (setfattr -v 1; a trailing newline from echo is fine). */
static int nb_xattr_flag(const char *value, size_t size)
{
	if (size == 2 && value[1] == '\n')
		size = 1;
	if (size != 1 || (value[0] != '0' && value[0] != '1'))
		return -EINVAL;
	return value[0] == '1';
}

int nb_xattr_set(struct nb_fs *fs, const char *path, const struct stat *st, const char *name,
		 const char *value, size_t size)
{
	int on = nb_xattr_flag(value, size);
	if (!strcmp(name, NB_XATTR_SYNC) || !strcmp(name, NB_XATTR_RETRY)) {
		if (on < 0)
			return on;
		if (on)
			nb_core_kick(fs->core, path, !strcmp(name, NB_XATTR_RETRY));
		return 0;
	}
	if (!strcmp(name, NB_XATTR_PAUSED)) {
		if (path[0] != 0 || on < 0)
			return -EINVAL;
		nb_core_pause(fs->core, on);
		return 0;
	}
	if (!strcmp(name, NB_XATTR_PINNED)) {
		if (on < 0 || (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode)))
			return -EINVAL;
		int r = nb_core_pin(fs->core, path, on);
		if (r == 0 && on && fs->pinner)
			nb_pinner_wake(fs->pinner);
		return r;
	}
	return -EPERM;
}
