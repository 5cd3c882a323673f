/*
 * Bandwidth limits (-o bwlimit=RATE): a token bucket per direction,
 * and a transport wrapper that paces every byte the engine sends or
 * receives through one.
 *
 * The bucket holds up to `burst` bytes of credit and refills at `rate`
 * bytes per second. Sending n bytes takes n tokens; when there are not
 * enough, the balance goes negative and the caller sleeps until it is
 * back at zero, so over any stretch of time no more than
 * rate * seconds + burst bytes go through. Received bytes are charged
 * after they arrive (we cannot know a read's size before it returns):
 * the pause before the next read lets the socket's buffers fill and TCP
 * slows the sender down to the rate.
 *
 * The buckets outlive connections (a reconnect does not reset the
 * debt). Thread-safe: one lock per bucket, held only for the
 * arithmetic, never while sleeping.
 */
#ifndef NB_BWLIMIT_H
#define NB_BWLIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "sync/transport.h"

struct nb_bwlimit;

/* A bucket of rate bytes per second (> 0), full at the start. Its burst
 * is an eighth of a second's worth, at least 16 KiB. 0 or -ENOMEM. */
int nb_bwlimit_new(uint64_t rate, struct nb_bwlimit **out);
void nb_bwlimit_free(struct nb_bwlimit *b);
uint64_t nb_bwlimit_rate(const struct nb_bwlimit *b);

/* Charge n bytes at monotonic time now_us (microseconds; never less
 * than at the previous call). Returns how many microseconds the caller
 * must wait before it moves more bytes (0: within the budget). */
long long nb_bwlimit_charge(struct nb_bwlimit *b, size_t n, long long now_us);
/* Charge n bytes now and sleep as long as the bucket says. */
void nb_bwlimit_take(struct nb_bwlimit *b, size_t n);

/* Wrap t so that its writes go through up and its reads through down
 * (either may be NULL: not limited). Takes ownership of t: closing the
 * wrapper closes t. The buckets are borrowed and must outlive it.
 * 0 with the wrapper in *out, or -ENOMEM (then t is closed). */
int nb_bwlimit_wrap(struct nb_transport *t, struct nb_bwlimit *up, struct nb_bwlimit *down,
		    struct nb_transport **out);

#endif
