/*
 * nb_buf: the one bounded byte buffer used for every wire read and write.
 *
 * A buffer holds bytes [off, len) of data; appends grow it up to `max`
 * bytes and fail with NB_E_TOOBIG beyond that. Every get checks the
 * remaining length first and consumes nothing when it fails. All integers
 * are big-endian on the wire. Length arithmetic is overflow-checked here
 * and nowhere else.
 */
#ifndef NB_BUF_H
#define NB_BUF_H

#include <stddef.h>
#include <stdint.h>

struct nb_buf {
	uint8_t *data;
	size_t off;  /* read position */
	size_t len;  /* end of valid data */
	size_t cap;  /* allocated bytes */
	size_t max;  /* hard cap on len */
};

/* Initialise an empty buffer that may grow to max bytes. Never fails;
 * memory is allocated on first append. */
void nb_buf_init(struct nb_buf *b, size_t max);
/* Release the memory; the buffer can be initialised again. */
void nb_buf_free(struct nb_buf *b);
/* Drop all contents, keep the allocation. */
void nb_buf_reset(struct nb_buf *b);

/* Number of unread bytes, and a pointer to the first of them (valid
 * until the next append or reset). */
size_t nb_buf_len(const struct nb_buf *b);
const uint8_t *nb_buf_ptr(const struct nb_buf *b);

/* Append n bytes of space; *p points to it. 0, -ENOMEM or NB_E_TOOBIG. */
int nb_buf_reserve(struct nb_buf *b, size_t n, uint8_t **p);
/* Shrink the unread data to n bytes (n <= nb_buf_len). */
void nb_buf_truncate(struct nb_buf *b, size_t n);
int nb_buf_put(struct nb_buf *b, const void *src, size_t n);
int nb_buf_put_u8(struct nb_buf *b, uint8_t v);
int nb_buf_put_u32(struct nb_buf *b, uint32_t v);
int nb_buf_put_u64(struct nb_buf *b, uint64_t v);
int nb_buf_put_i64(struct nb_buf *b, int64_t v);
/* A string on the wire is a u32 length followed by that many bytes. */
int nb_buf_put_str(struct nb_buf *b, const void *s, size_t n);
int nb_buf_put_cstr(struct nb_buf *b, const char *s);

/* Gets: 0, or NB_E_SHORT when fewer bytes remain than the field needs. */
int nb_buf_consume(struct nb_buf *b, size_t n);
int nb_buf_get(struct nb_buf *b, void *dst, size_t n);
int nb_buf_get_u8(struct nb_buf *b, uint8_t *v);
int nb_buf_get_u32(struct nb_buf *b, uint32_t *v);
int nb_buf_get_u64(struct nb_buf *b, uint64_t *v);
int nb_buf_get_i64(struct nb_buf *b, int64_t *v);
/* Read the u32 at byte `at` of the unread data without consuming
 * anything: 0, or NB_E_SHORT if the data ends before at + 4. */
int nb_buf_peek_u32(const struct nb_buf *b, size_t at, uint32_t *v);
/* Overwrite the u32 at byte `at` of the unread data, for a field whose
 * value is known only once what follows it has been appended (a frame's
 * length, a DIRENTS count): 0, or NB_E_SHORT (nothing written) if the
 * data ends before at + 4. */
int nb_buf_poke_u32(struct nb_buf *b, size_t at, uint32_t v);
/* A string whose length must not exceed maxlen (NB_E_TOOBIG otherwise).
 * *p points into the buffer (no copy) and is valid until the next
 * append or reset. */
int nb_buf_get_str(struct nb_buf *b, const uint8_t **p, size_t *n, size_t maxlen);
/* Like nb_buf_get_str, but copied into a new NUL-terminated string that
 * the caller frees; NB_E_PROTO if the string holds a NUL byte. */
int nb_buf_get_cstr(struct nb_buf *b, char **out, size_t maxlen);

#endif
