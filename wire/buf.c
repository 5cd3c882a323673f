/*
 * nb_buf: the one bounded byte buffer used for every wire read and write.
 * The contract is in buf.h.
 */
#include "wire/buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wire/be.h"
#include "wire/err.h"

/* Only this file sees the fields (see buf.h). */
struct nb_buf {
	uint8_t *data;
	size_t off; /* read position */
	size_t len; /* end of valid data */
	size_t cap; /* allocated bytes */
	size_t max; /* hard cap on len */
};

struct nb_buf *nb_buf_new(size_t max)
{
	struct nb_buf *b = calloc(1, sizeof(*b));
	if (b)
		b->max = max;
	return b;
}

void nb_buf_free(struct nb_buf *b)
{
	if (!b)
		return;
	free(b->data);
	free(b);
}

void nb_buf_reset(struct nb_buf *b)
{
	b->off = b->len = 0;
}

size_t nb_buf_len(const struct nb_buf *b)
{
	return b->len - b->off;
}

const uint8_t *nb_buf_ptr(const struct nb_buf *b)
{
	return b->data ? b->data + b->off : (const uint8_t *)"";
}

size_t nb_buf_allocated(const struct nb_buf *b)
{
	return b->cap;
}

int nb_buf_reserve(struct nb_buf *b, size_t n, uint8_t **p)
{
	/* Reclaim consumed space before growing, so a buffer used as a stream
	 * window never exceeds max while holding fewer than max bytes. */
	if (n > b->max)
		return NB_E_TOOBIG;
	if (b->off > 0 && (b->off == b->len || n > b->cap - b->len || b->len > b->max - n)) {
		memmove(b->data, b->data + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
	}
	if (b->len > b->max - n)
		return NB_E_TOOBIG;
	if (n == 0) {
		/* No arithmetic on a buffer that may not be allocated yet. */
		*p = b->data ? b->data + b->len : NULL;
		return 0;
	}
	size_t need = b->len + n;
	if (need > b->cap) {
		size_t cap = b->cap ? b->cap : (b->max < 256 ? b->max : 256);
		while (cap < need)
			cap = cap > b->max / 2 ? b->max : cap * 2;
		uint8_t *d = realloc(b->data, cap);
		if (!d)
			return -ENOMEM;
		b->data = d;
		b->cap = cap;
	}
	*p = b->data + b->len;
	b->len = need;
	return 0;
}

void nb_buf_truncate(struct nb_buf *b, size_t n)
{
	if (n < nb_buf_len(b))
		b->len = b->off + n;
}

int nb_buf_put(struct nb_buf *b, const void *src, size_t n)
{
	uint8_t *p;
	int r = nb_buf_reserve(b, n, &p);
	if (r == 0 && n > 0)
		memcpy(p, src, n);
	return r;
}

int nb_buf_put_u8(struct nb_buf *b, uint8_t v)
{
	return nb_buf_put(b, &v, 1);
}

int nb_buf_put_u32(struct nb_buf *b, uint32_t v)
{
	uint8_t x[4];
	nb_be32_put(x, v);
	return nb_buf_put(b, x, sizeof(x));
}

int nb_buf_put_u64(struct nb_buf *b, uint64_t v)
{
	uint8_t x[8];
	nb_be64_put(x, v);
	return nb_buf_put(b, x, sizeof(x));
}

int nb_buf_put_i64(struct nb_buf *b, int64_t v)
{
	return nb_buf_put_u64(b, (uint64_t)v);
}

int nb_buf_put_str(struct nb_buf *b, const void *s, size_t n)
{
	if (n > UINT32_MAX)
		return NB_E_TOOBIG;
	uint8_t *p;
	int r = nb_buf_reserve(b, 4 + n, &p);
	if (r != 0)
		return r;
	nb_be32_put(p, (uint32_t)n);
	if (n > 0)
		memcpy(p + 4, s, n);
	return 0;
}

int nb_buf_put_cstr(struct nb_buf *b, const char *s)
{
	return nb_buf_put_str(b, s, strlen(s));
}

int nb_buf_consume(struct nb_buf *b, size_t n)
{
	if (n > nb_buf_len(b))
		return NB_E_SHORT;
	b->off += n;
	return 0;
}

int nb_buf_get(struct nb_buf *b, void *dst, size_t n)
{
	if (n > nb_buf_len(b))
		return NB_E_SHORT;
	if (n > 0)
		memcpy(dst, b->data + b->off, n);
	b->off += n;
	return 0;
}

int nb_buf_get_u8(struct nb_buf *b, uint8_t *v)
{
	return nb_buf_get(b, v, 1);
}

/* True if the unread data holds bytes [at, at + n); no overflow for
 * any at and n. */
static int nb_buf_holds(const struct nb_buf *b, size_t at, size_t n)
{
	size_t len = nb_buf_len(b);
	return at <= len && n <= len - at;
}

int nb_buf_peek_u32(const struct nb_buf *b, size_t at, uint32_t *v)
{
	if (!nb_buf_holds(b, at, 4))
		return NB_E_SHORT;
	*v = nb_be32_get(b->data + b->off + at);
	return 0;
}

int nb_buf_poke_u32(struct nb_buf *b, size_t at, uint32_t v)
{
	if (!nb_buf_holds(b, at, 4))
		return NB_E_SHORT;
	nb_be32_put(b->data + b->off + at, v);
	return 0;
}

int nb_buf_get_u32(struct nb_buf *b, uint32_t *v)
{
	int r = nb_buf_peek_u32(b, 0, v);
	if (r == 0)
		b->off += 4;
	return r;
}

int nb_buf_get_u64(struct nb_buf *b, uint64_t *v)
{
	if (nb_buf_len(b) < 8)
		return NB_E_SHORT;
	*v = nb_be64_get(b->data + b->off);
	b->off += 8;
	return 0;
}

int nb_buf_get_i64(struct nb_buf *b, int64_t *v)
{
	uint64_t u;
	int r = nb_buf_get_u64(b, &u);
	if (r == 0)
		*v = (int64_t)u;
	return r;
}

int nb_buf_get_str(struct nb_buf *b, const uint8_t **p, size_t *n, size_t maxlen)
{
	uint32_t len;
	int r = nb_buf_peek_u32(b, 0, &len);
	if (r != 0)
		return r;
	if (len > maxlen)
		return NB_E_TOOBIG;
	if ((size_t)len > nb_buf_len(b) - 4)
		return NB_E_SHORT;
	*p = b->data + b->off + 4;
	*n = len;
	b->off += 4 + (size_t)len;
	return 0;
}

int nb_buf_get_cstr(struct nb_buf *b, char **out, size_t maxlen)
{
	size_t save = b->off, n;
	const uint8_t *p;
	int r = nb_buf_get_str(b, &p, &n, maxlen);
	if (r != 0)
		return r;
	if (memchr(p, 0, n)) {
		b->off = save;
		return NB_E_PROTO;
	}
	char *s = malloc(n + 1);
	if (!s) {
		b->off = save;
		return -ENOMEM;
	}
	memcpy(s, p, n);
	s[n] = 0;
	*out = s;
	return 0;
}
