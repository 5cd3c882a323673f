/*
 * nb_buf: the one bounded byte buffer used for every wire read and write.
 *
 * A buffer holds a run of unread bytes: appends add at the end, gets
 * consume from the front. It grows up to the `max` given when it was
 * made; an append beyond that fails with NB_E_TOOBIG. Every get checks
 * the remaining length first and consumes nothing when it fails. All
 * integers are big-endian on the wire (wire/be.h). Length arithmetic is
 * overflow-checked here and nowhere else.
 *
 * The type is opaque, like OpenSSH's sshbuf: callers hold a pointer from
 * nb_buf_new and reach the bytes only through the functions below, so
 * nothing outside wire/buf.c can read past the data or move the read
 * position by hand (tests/lint.sh checks that no other file tries).
 */
#ifndef NB_BUF_H
#define NB_BUF_H

#include <stddef.h>
#include <stdint.h>

struct nb_buf;

/* A new, empty buffer that may grow to max bytes, or NULL if memory ran
 * out. It allocates nothing for data until the first append. The caller
 * owns it and frees it with nb_buf_free. */
struct nb_buf *nb_buf_new(size_t max);
/* Free b and its data. NULL is fine. */
void nb_buf_free(struct nb_buf *b);
/* Drop all contents, keep the allocation. */
void nb_buf_reset(struct nb_buf *b);

/* Number of unread bytes, and a pointer to the first of them (never
 * NULL; valid until the next append, reset or free; owned by b). */
size_t nb_buf_len(const struct nb_buf *b);
const uint8_t *nb_buf_ptr(const struct nb_buf *b);
/* Bytes allocated for b's data: 0 until an append needs room, never more
 * than its max. For tests and memory accounting: it shows that a hostile
 * length made nothing allocate. */
size_t nb_buf_allocated(const struct nb_buf *b);

/* Appends: 0, -ENOMEM, or NB_E_TOOBIG when the data would grow past max.
 * A failed append adds nothing. */
/* Append n bytes of space for the caller to fill; *p points to it (owned
 * by b, valid until the next append, reset or free). */
int nb_buf_reserve(struct nb_buf *b, size_t n, uint8_t **p);
/* Shrink the unread data to its first n bytes (no change if n >=
 * nb_buf_len): takes back space reserved but not filled. */
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
