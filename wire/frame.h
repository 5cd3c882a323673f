/*
 * Framing. Every message is one frame:
 *
 *     u32 length | u8 type | payload (length - 1 bytes)
 *
 * with 1 <= length <= NB_FRAME_MAX. A reader never allocates more than
 * NB_FRAME_MAX for a frame, whatever the peer claims. In protocol 2
 * every message but HELLO starts its payload with a u32 request id
 * (nb_frame_begin_id writes it, nb_proto_id_decode takes it off).
 */
#ifndef NB_FRAME_H
#define NB_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "wire/buf.h"

#define NB_FRAME_MAX (1024 * 1024 + 1024)
#define NB_FRAME_HDR 5
#define NB_FRAME_ID_HDR (NB_FRAME_HDR + 4) /* header and request id */

/* A byte stream: a transport, a pipe, or a test double. */
struct nb_stream {
	/* Read up to n bytes: > 0 bytes read, 0 at end of stream, < 0 error.
	 * May return fewer bytes than asked. */
	ssize_t (*read)(void *ctx, void *buf, size_t n);
	/* Write all n bytes: 0 or < 0 error. */
	int (*write)(void *ctx, const void *buf, size_t n);
	void *ctx;
};

/* Reads frames from a stream through a window buffer. */
struct nb_frame_reader {
	struct nb_stream *s;
	struct nb_buf *rx; /* bytes read from s and not yet parsed; owned here */
	/* Optional, set by the owner after nb_frame_reader_init (which
	 * clears it): called with s->ctx, 1 if a read of s would not block
	 * right now (bytes, or the end of the stream, are there), 0 if it
	 * would. NULL: unknown. (It lives here and not in struct nb_stream
	 * so that the positional initializers of nb_stream stay valid.) */
	int (*readable)(void *ctx);
	/* Optional as well (and cleared by nb_frame_reader_init): wait up
	 * to ms for input; 1 if a read would
	 * not block now, 0 if the time passed first (or on an error: the
	 * read that follows reports it). NULL: the owner cannot wait. */
	int (*wait)(void *ctx, long ms);
};

/* Set fr up to read from s (which the caller keeps owning). 0, or
 * -ENOMEM. nb_frame_reader_free is safe afterwards either way. */
int nb_frame_reader_init(struct nb_frame_reader *fr, struct nb_stream *s);
void nb_frame_reader_free(struct nb_frame_reader *fr);

/* Start a frame of `type` in b (b is reset first); append the payload
 * with nb_buf_put_*, then call nb_frame_send or nb_frame_finish. */
int nb_frame_begin(struct nb_buf *b, uint8_t type);
/* The same, followed by the request id (every message but HELLO). */
int nb_frame_begin_id(struct nb_buf *b, uint8_t type, uint32_t id);
/* Patch the length field. NB_E_TOOBIG if the frame exceeds the cap. */
int nb_frame_finish(struct nb_buf *b);
/* nb_frame_finish, then write the whole frame. */
int nb_frame_send(struct nb_stream *s, struct nb_buf *b);

/* Try to take one whole frame out of rx (no I/O). 0: *type and payload
 * (reset, then filled) hold it. NB_E_SHORT: more bytes are needed, rx is
 * untouched. NB_E_PROTO / NB_E_TOOBIG: the header is invalid. */
int nb_frame_parse(struct nb_buf *rx, uint8_t *type, struct nb_buf *payload);
/* Read one frame, blocking on the stream. 0, NB_E_EOF (clean end between
 * frames), NB_E_PROTO (end inside a frame or bad header), or the
 * stream's error. */
int nb_frame_recv(struct nb_frame_reader *fr, uint8_t *type, struct nb_buf *payload);
/* Read once from the stream into fr's buffer, behind what is there:
 * > 0 bytes read, 0 at the end of the stream, or the stream's error
 * (-ENOMEM if the buffer is full). For readers of what precedes frames
 * (wire/noise.h); nb_frame_recv calls it as needed. */
ssize_t nb_frame_fill(struct nb_frame_reader *fr);
/* True if a whole frame is already buffered. */
int nb_frame_buffered(const struct nb_frame_reader *fr);
/* True if the next nb_frame_recv can start without waiting for the
 * peer: a whole frame is buffered, or fr->readable says the stream has
 * input now. False when neither holds, and when readable is NULL and no
 * whole frame is buffered (nothing is known to be coming). */
int nb_frame_ready(const struct nb_frame_reader *fr);

#endif
