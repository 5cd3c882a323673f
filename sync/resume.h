/*
 * Offset negotiation: where to continue an upload, given what the server
 * says it holds. The server's bytes are never trusted blindly: they are
 * used only if the MD5 of our own first `offset` bytes equals the MD5 the
 * server computed over its partial.
 */
#ifndef NB_RESUME_H
#define NB_RESUME_H

#include <stdint.h>

#include "wire/proto.h"

/* The offset to send from: offer->offset if it lies within the file and
 * local_prefix_md5 (the MD5 of our first offer->offset bytes) equals the
 * server's prefix MD5, else 0 (start again; the server then truncates its
 * partial). An offset of 0 needs no prefix check. */
uint64_t nb_resume_offset(const struct nb_put_offer *offer, uint64_t size,
			  const uint8_t local_prefix_md5[NB_MD5_LEN]);
/* True if checking the offer needs the local prefix MD5 at all. */
int nb_resume_needs_prefix(const struct nb_put_offer *offer, uint64_t size);

#endif
