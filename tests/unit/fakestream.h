/*
 * A test double for nb_stream shared by the unit tests of what reads
 * frames (test_frame.c, test_noise.c). Header-only, like testutil.h.
 */
#ifndef NB_FAKESTREAM_H
#define NB_FAKESTREAM_H

#include <string.h>
#include <sys/types.h>

#include "wire/buf.h"
#include "wire/frame.h"
#include "testutil.h"

/* A test double for nb_stream: hands out `data` at most `chunk` bytes per
 * read, then end of stream (or `err` if set). Writes are appended to
 * `out`. */
struct fake {
	const uint8_t *data;
	size_t len, pos, chunk;
	int err;      /* returned by read at the end instead of 0 */
	int reads;    /* read calls made */
	struct nb_buf *out;
};

static inline ssize_t fake_read(void *ctx, void *buf, size_t n)
{
	struct fake *f = ctx;
	f->reads++;
	if (f->pos == f->len)
		return f->err ? f->err : 0;
	size_t k = f->len - f->pos;
	if (k > f->chunk)
		k = f->chunk;
	if (k > n)
		k = n;
	memcpy(buf, f->data + f->pos, k);
	f->pos += k;
	return (ssize_t)k;
}

static inline int fake_write(void *ctx, const void *buf, size_t n)
{
	struct fake *f = ctx;
	return nb_buf_put(f->out, buf, n);
}

static inline void fake_init(struct fake *f, struct nb_stream *s, const void *data, size_t len,
		      size_t chunk)
{
	memset(f, 0, sizeof(*f));
	f->data = data;
	f->len = len;
	f->chunk = chunk;
	f->out = tu_buf(4 * NB_FRAME_MAX);
	s->read = fake_read;
	s->write = fake_write;
	s->ctx = f;
}

#endif
