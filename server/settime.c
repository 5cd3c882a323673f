/*
 * SETTIME on the server: a directory's mtime set beneath the root, and
 * the request's handler (session.c dispatches to it; the replies are the
 * session's, server/session_int.h).
 */
#include "server/settime.h"
#include "server/session_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "wire/err.h"
#include "wire/log.h"
#include "wire/proto.h"
#include "wire/xio.h"

int nb_settime_apply(const struct nb_root *root, const char *path, int64_t mtime_s,
		     uint32_t mtime_ns)
{
	const struct timespec ts[2] = {
	    {.tv_sec = 0, .tv_nsec = UTIME_OMIT},
	    {.tv_sec = (time_t)mtime_s, .tv_nsec = (long)mtime_ns},
	};
	struct stat st;
	int dirfd = root->fd, r;
	const char *leaf = ".";
	if (mtime_ns >= 1000000000u)
		return -EINVAL;
	if (path[0] != 0 && (r = nb_root_parent(root, path, -1, &dirfd, &leaf)) != 0)
		return r;
	/* The check and the change both refuse to follow a symlink, so a
	 * name swapped for a symlink in between gets at most its own time
	 * changed, beneath the root. */
	if (fstatat(dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW) != 0)
		r = -errno;
	else if (!S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode))
		r = -ENOTDIR;
	else if (utimensat(dirfd, leaf, ts, AT_SYMLINK_NOFOLLOW) != 0)
		r = -errno;
	else
		r = 0;
	if (dirfd != root->fd)
		nb_xio_close(dirfd);
	return r;
}

int nb_settime_handle(struct nb_session *s, uint32_t id, struct nb_buf *payload)
{
	char *path = NULL;
	int64_t sec;
	uint32_t nsec;
	int r = nb_proto_settime_decode(payload, &path, &sec, &nsec);
	if (r != 0)
		return nb_session_bad_frame(s, id, r, NB_MSG_SETTIME);
	/* A held PUT_SMALL beneath the directory is renamed into it at the
	 * flush, which would move its time on again; one at the path (or
	 * above it) decides what is there: publish them first. */
	if ((nb_batch_beneath(&s->batch, path) || nb_batch_touches(&s->batch, path)) &&
	    (r = nb_session_flush(s)) != 0)
		goto out;
	r = nb_settime_apply(&s->root, path, sec, nsec);
	r = r ? nb_session_error(s, id, r, path[0] ? path : "/") : nb_session_ok(s, id);
out:
	free(path);
	return r;
}
