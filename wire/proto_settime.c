/*
 * SETTIME, the one request that sets a directory's mtime (protocol 2,
 * probed: a server that predates it answers ENOSYS). Apart from
 * wire/proto.c only to keep that file to one screenful of messages per
 * job; the rules are the same: every field checked against its cap, no
 * trailing bytes, nothing allocated but what is handed back.
 */
#include "wire/proto.h"

#include <stdlib.h>

#include "wire/err.h"
#include "wire/pathname.h"

int nb_proto_settime_encode(struct nb_buf *b, uint32_t id, const char *path, int64_t mtime_s,
			    uint32_t mtime_ns)
{
	int r;
	if ((r = nb_frame_begin_id(b, NB_MSG_SETTIME, id)) != 0 ||
	    (r = nb_buf_put_cstr(b, path)) != 0 || (r = nb_buf_put_i64(b, mtime_s)) != 0 ||
	    (r = nb_buf_put_u32(b, mtime_ns)) != 0)
		return r;
	return nb_frame_finish(b);
}

int nb_proto_settime_decode(struct nb_buf *p, char **path, int64_t *mtime_s, uint32_t *mtime_ns)
{
	int r = nb_buf_get_cstr(p, path, NB_PATH_MAX);
	if (r != 0) {
		*path = NULL;
		return r;
	}
	if ((r = nb_buf_get_i64(p, mtime_s)) == 0 && (r = nb_buf_get_u32(p, mtime_ns)) == 0 &&
	    (*mtime_ns >= 1000000000u || nb_buf_len(p) != 0))
		r = NB_E_PROTO; /* not a time, or trailing bytes */
	if (r != 0) {
		free(*path);
		*path = NULL;
	}
	return r;
}
