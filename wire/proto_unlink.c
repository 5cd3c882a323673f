/*
 * UNLINK_IF, the removal of a file that holds the version the client
 * last saw there (protocol 2, probed: a server that predates it answers
 * ENOSYS). Apart from wire/proto.c for the reason proto_settime.c is;
 * the same rules: every field checked against its cap, no trailing
 * bytes, nothing allocated but what is handed back.
 */
#include "wire/proto.h"

#include <stdlib.h>

#include "wire/err.h"
#include "wire/pathname.h"

int nb_proto_unlink_if_encode(struct nb_buf *b, uint32_t id, const struct nb_unlink_if *m)
{
	int r;
	if ((r = nb_frame_begin_id(b, NB_MSG_UNLINK_IF, id)) != 0 ||
	    (r = nb_buf_put_cstr(b, m->path)) != 0 || (r = nb_buf_put_u8(b, m->base_kind)) != 0 ||
	    (r = nb_buf_put_u64(b, m->base_size)) != 0 ||
	    (r = nb_buf_put_i64(b, m->base_mtime_s)) != 0 ||
	    (r = nb_buf_put_u32(b, m->base_mtime_ns)) != 0)
		return r;
	return nb_frame_finish(b);
}

int nb_proto_unlink_if_decode(struct nb_buf *p, struct nb_unlink_if *m)
{
	int r = nb_buf_get_cstr(p, &m->path, NB_PATH_MAX);
	if (r != 0) {
		m->path = NULL;
		return r;
	}
	if ((r = nb_buf_get_u8(p, &m->base_kind)) == 0 &&
	    (r = nb_buf_get_u64(p, &m->base_size)) == 0 &&
	    (r = nb_buf_get_i64(p, &m->base_mtime_s)) == 0 &&
	    (r = nb_buf_get_u32(p, &m->base_mtime_ns)) == 0 &&
	    (m->base_kind > NB_BASE_MATCH || m->base_mtime_ns >= 1000000000u || nb_buf_len(p) != 0))
		r = NB_E_PROTO; /* no such base, not a time, or trailing bytes */
	if (r != 0) {
		free(m->path);
		m->path = NULL;
	}
	return r;
}
