#include "server/settime.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
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
	else if (!S_ISDIR(st.st_mode))
		r = -ENOTDIR;
	else if (utimensat(dirfd, leaf, ts, AT_SYMLINK_NOFOLLOW) != 0)
		r = -errno;
	else
		r = 0;
	if (dirfd != root->fd)
		nb_xio_close(dirfd);
	return r;
}

static int nb_settime_send(struct nb_session *s, int e)
{
	return e ? e : nb_frame_send(s->out, s->tx);
}

int nb_settime_handle(struct nb_session *s, uint32_t id, struct nb_buf *payload)
{
	char *path = NULL, text[NB_ERRTEXT_MAX];
	int64_t sec;
	uint32_t nsec;
	int r = nb_proto_settime_decode(payload, &path, &sec, &nsec);
	if (r != 0) {
		/* A protocol violation, as session.c treats any frame that
		 * does not decode: say so and end the session. */
		snprintf(text, sizeof(text), "bad SETTIME frame: %s", nb_strerror(r));
		nb_err("%s", text);
		nb_settime_send(s, nb_proto_error_encode(s->tx, id, NB_MSG_ERROR,
							 nb_proto_wire_errno(r), text));
		return r < 0 ? r : NB_E_PROTO;
	}
	/* A held PUT_SMALL beneath the directory is renamed into it at the
	 * flush, which would move its time on again; one at the path (or
	 * above it) decides what is there: publish them first. */
	if ((nb_batch_beneath(&s->batch, path) || nb_batch_touches(&s->batch, path)) &&
	    (r = nb_session_flush(s)) != 0)
		goto out;
	r = nb_settime_apply(&s->root, path, sec, nsec);
	if (r == 0) {
		r = nb_settime_send(s, nb_proto_ok_encode(s->tx, id));
	} else {
		snprintf(text, sizeof(text), "%s: %s", path[0] ? path : "/", nb_strerror(r));
		nb_debug("-> ERROR %u %s", id, text);
		r = nb_settime_send(s, nb_proto_error_encode(s->tx, id, NB_MSG_ERROR,
							     nb_proto_wire_errno(r), text));
	}
out:
	free(path);
	return r;
}
