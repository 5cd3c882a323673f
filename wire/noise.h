/*
 * What a login shell prints before the server's first frame.
 *
 * sshd runs the server command through the user's shell, and Debian's
 * bash reads ~/.bashrc for a command run by sshd: a ~/.bashrc that
 * echoes a greeting (or a tool's start-up message, conda's, nvm's)
 * puts that text on the session's stdout ahead of the server's HELLO.
 * Read as a frame, "Welc" is a length of 1.4 GB. scp and sftp fail
 * there ("Received message too long"); nbfs skips the text instead and
 * says what it skipped.
 *
 * The server's first frame is told from text by its header: a frame is
 * at most NB_FRAME_MAX (< 2^24) long, so its first byte is 0, a byte
 * that text does not hold, then a length of 1..NB_FRAME_MAX, then one
 * of the types the caller expects.
 */
#ifndef NB_NOISE_H
#define NB_NOISE_H

#include <stddef.h>
#include <stdint.h>

#include "wire/frame.h"

#define NB_NOISE_SHOWN 96

struct nb_noise {
	size_t skipped;		   /* bytes before the frame */
	char head[NB_NOISE_SHOWN]; /* their start, escaped for one line of a log */
};

/* Read from fr until its buffered input starts with a frame header of
 * one of types[0..ntypes), consuming at most limit bytes before it;
 * out says how many went and how they began (also when it fails).
 * Returns 0 (the next nb_frame_recv reads that frame; out->skipped is 0
 * when nothing came before it), NB_E_TOOBIG (limit bytes came without
 * such a header), NB_E_EOF (the stream ended first; out->skipped may
 * be 0), or the stream's error. */
int nb_noise_skip(struct nb_frame_reader *fr, const uint8_t *types, size_t ntypes, size_t limit,
		  struct nb_noise *out);

#endif
