/*
 * Framing: every message is one length-prefixed frame, read and written
 * with caps checked before any allocation. The contract is in frame.h.
 */
#include "wire/frame.h"

#include <errno.h>

#include "wire/err.h"

/* Window large enough for one maximal frame plus a read chunk. */
#define NB_FRAME_WINDOW (NB_FRAME_MAX + NB_FRAME_HDR + 256 * 1024)
#define NB_FRAME_READ_CHUNK (256 * 1024)

int nb_frame_reader_init(struct nb_frame_reader *fr, struct nb_stream *s)
{
	fr->s = s;
	fr->readable = NULL;
	fr->wait = NULL;
	fr->rx = nb_buf_new(NB_FRAME_WINDOW);
	return fr->rx ? 0 : -ENOMEM;
}

void nb_frame_reader_free(struct nb_frame_reader *fr)
{
	nb_buf_free(fr->rx);
	fr->rx = NULL;
}

int nb_frame_begin(struct nb_buf *b, uint8_t type)
{
	nb_buf_reset(b);
	int r = nb_buf_put_u32(b, 0);
	if (r == 0)
		r = nb_buf_put_u8(b, type);
	return r;
}

int nb_frame_begin_id(struct nb_buf *b, uint8_t type, uint32_t id)
{
	int r = nb_frame_begin(b, type);
	return r ? r : nb_buf_put_u32(b, id);
}

int nb_frame_finish(struct nb_buf *b)
{
	size_t n = nb_buf_len(b);
	if (n < NB_FRAME_HDR)
		return NB_E_PROTO;
	size_t body = n - 4;
	if (body > NB_FRAME_MAX)
		return NB_E_TOOBIG;
	return nb_buf_poke_u32(b, 0, (uint32_t)body);
}

int nb_frame_send(struct nb_stream *s, struct nb_buf *b)
{
	int r = nb_frame_finish(b);
	if (r != 0)
		return r;
	return s->write(s->ctx, nb_buf_ptr(b), nb_buf_len(b));
}

int nb_frame_parse(struct nb_buf *rx, uint8_t *type, struct nb_buf *payload)
{
	uint32_t len;
	int r = nb_buf_peek_u32(rx, 0, &len);
	if (r != 0)
		return r;
	if (len == 0)
		return NB_E_PROTO;
	if (len > NB_FRAME_MAX)
		return NB_E_TOOBIG;
	if (nb_buf_len(rx) - 4 < len)
		return NB_E_SHORT;
	const uint8_t *p = nb_buf_ptr(rx);
	nb_buf_reset(payload);
	if ((r = nb_buf_put(payload, p + NB_FRAME_HDR, len - 1)) != 0)
		return r;
	*type = p[4];
	return nb_buf_consume(rx, 4 + (size_t)len);
}

int nb_frame_buffered(const struct nb_frame_reader *fr)
{
	uint32_t len;
	if (nb_buf_peek_u32(fr->rx, 0, &len) != 0)
		return 0;
	return len > 0 && len <= NB_FRAME_MAX && nb_buf_len(fr->rx) - 4 >= len;
}

int nb_frame_ready(const struct nb_frame_reader *fr)
{
	if (nb_frame_buffered(fr))
		return 1;
	return fr->readable && fr->readable(fr->s->ctx) > 0;
}

int nb_frame_recv(struct nb_frame_reader *fr, uint8_t *type, struct nb_buf *payload)
{
	for (;;) {
		int r = nb_frame_parse(fr->rx, type, payload);
		if (r != NB_E_SHORT)
			return r;
		ssize_t k = nb_frame_fill(fr);
		if (k < 0)
			return (int)k;
		if (k == 0)
			return nb_buf_len(fr->rx) == 0 ? NB_E_EOF : NB_E_PROTO;
	}
}

ssize_t nb_frame_fill(struct nb_frame_reader *fr)
{
	uint8_t *p;
	int r = nb_buf_reserve(fr->rx, NB_FRAME_READ_CHUNK, &p);
	if (r != 0)
		return r;
	ssize_t k = fr->s->read(fr->s->ctx, p, NB_FRAME_READ_CHUNK);
	nb_buf_truncate(fr->rx, nb_buf_len(fr->rx) - NB_FRAME_READ_CHUNK + (k > 0 ? (size_t)k : 0));
	return k;
}
