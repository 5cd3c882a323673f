/*
 * Skipping what a login shell printed before the server's first frame.
 * The contract, and why, are in noise.h.
 */
#include "wire/noise.h"

#include <string.h>

#include "wire/be.h"
#include "wire/err.h"
#include "wire/textesc.h"

/* 1 if a frame header of one of the types starts at p, 0 if none does,
 * -1 if the n bytes there are too few to tell. */
static int nb_noise_header_at(const uint8_t *p, size_t n, const uint8_t *types, size_t ntypes)
{
	if (p[0] != 0)
		return 0;
	if (n < NB_FRAME_HDR)
		return -1;
	uint32_t len = nb_be32_get(p);
	if (len == 0 || len > NB_FRAME_MAX)
		return 0;
	for (size_t i = 0; i < ntypes; i++)
		if (p[4] == types[i])
			return 1;
	return 0;
}

int nb_noise_skip(struct nb_frame_reader *fr, const uint8_t *types, size_t ntypes, size_t limit,
		  struct nb_noise *out)
{
	char raw[NB_NOISE_SHOWN];
	size_t nraw = 0;
	int r;
	memset(out, 0, sizeof(*out));
	for (;;) {
		const uint8_t *p = nb_buf_ptr(fr->rx);
		size_t n = nb_buf_len(fr->rx), i = 0;
		int h = 0;
		for (; i < n; i++)
			if ((h = nb_noise_header_at(p + i, n - i, types, ntypes)) != 0)
				break;
		/* A NUL would end the text early: it shows as '.'. */
		for (size_t j = 0; j < i && nraw < sizeof(raw) - 1; j++)
			raw[nraw++] = p[j] ? (char)p[j] : '.';
		out->skipped += i;
		if ((r = nb_buf_consume(fr->rx, i)) != 0)
			goto out;
		if (out->skipped > limit) {
			r = NB_E_TOOBIG;
			goto out;
		}
		if (h == 1)
			goto out;
		ssize_t k = nb_frame_fill(fr);
		if (k <= 0) {
			r = k < 0 ? (int)k : NB_E_EOF;
			goto out;
		}
	}
out:
	raw[nraw] = '\0';
	nb_textesc_escape(raw, out->head, sizeof(out->head));
	return r;
}
