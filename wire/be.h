/*
 * Big-endian (network order) integers in memory: the one place the
 * protocol's byte order is written down. nb_buf's put/get/peek/poke
 * functions are built on these; anything else that must read or write a
 * wire integer in place (a test double scanning a raw stream, say) uses
 * them too, so the shifts are never spelled out twice.
 *
 * The caller guarantees that p points to at least 4 (or 8) bytes; these
 * functions check nothing. Code that handles bytes from the peer reads
 * them through nb_buf, which checks the length first.
 */
#ifndef NB_BE_H
#define NB_BE_H

#include <stdint.h>

/* Store v at p[0..4), most significant byte first. */
static inline void nb_be32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* The value stored at p[0..4), most significant byte first. */
static inline uint32_t nb_be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Store v at p[0..8), most significant byte first. */
static inline void nb_be64_put(uint8_t *p, uint64_t v)
{
	nb_be32_put(p, (uint32_t)(v >> 32));
	nb_be32_put(p + 4, (uint32_t)v);
}

/* The value stored at p[0..8), most significant byte first. */
static inline uint64_t nb_be64_get(const uint8_t *p)
{
	return (uint64_t)nb_be32_get(p) << 32 | nb_be32_get(p + 4);
}

#endif
