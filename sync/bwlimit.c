/*
 * Bandwidth limits (-o bwlimit=RATE): a token bucket per direction, and a
 * transport wrapper that paces the engine's bytes. The contract is in
 * bwlimit.h.
 */
#include "sync/bwlimit.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "wire/xio.h"

/* Writes are paced in slices of at most this, so a 1 MiB frame does not
 * go out as one burst followed by one long sleep. */
#define NB_BW_SLICE (64 * 1024)
#define NB_BW_MIN_BURST (16 * 1024)

struct nb_bwlimit {
	pthread_mutex_t lock;
	uint64_t rate;  /* bytes per second */
	double burst;   /* most credit held */
	double tokens;  /* credit in bytes; negative: debt */
	long long last_us;
};

int nb_bwlimit_new(uint64_t rate, struct nb_bwlimit **out)
{
	if (rate == 0)
		return -EINVAL;
	struct nb_bwlimit *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	pthread_mutex_init(&b->lock, NULL);
	b->rate = rate;
	b->burst = (double)rate / 8;
	if (b->burst < NB_BW_MIN_BURST)
		b->burst = NB_BW_MIN_BURST;
	b->tokens = b->burst;
	b->last_us = -1;
	*out = b;
	return 0;
}

void nb_bwlimit_free(struct nb_bwlimit *b)
{
	if (!b)
		return;
	pthread_mutex_destroy(&b->lock);
	free(b);
}

uint64_t nb_bwlimit_rate(const struct nb_bwlimit *b)
{
	return b->rate;
}

long long nb_bwlimit_charge(struct nb_bwlimit *b, size_t n, long long now_us)
{
	pthread_mutex_lock(&b->lock);
	if (b->last_us >= 0 && now_us > b->last_us) {
		b->tokens += (double)(now_us - b->last_us) * (double)b->rate / 1e6;
		if (b->tokens > b->burst)
			b->tokens = b->burst;
	}
	if (b->last_us < 0 || now_us > b->last_us)
		b->last_us = now_us;
	b->tokens -= (double)n;
	double debt = -b->tokens;
	pthread_mutex_unlock(&b->lock);
	if (debt <= 0)
		return 0;
	/* Round up: waking a microsecond early would leave a sliver of debt
	 * and cost another round of sleeping. */
	return (long long)(debt * 1e6 / (double)b->rate) + 1;
}

void nb_bwlimit_take(struct nb_bwlimit *b, size_t n)
{
	long long wait_us = nb_bwlimit_charge(b, n, nb_xio_now_ms() * 1000);
	if (wait_us > 0)
		nb_xio_sleep_ms((long)((wait_us + 999) / 1000));
}

/* ---- the transport wrapper ---- */

struct nb_bw_transport {
	struct nb_transport t; /* first: the wrapper is handed out as this */
	struct nb_transport *inner;
	struct nb_bwlimit *up, *down;
};

static ssize_t nb_bw_read(void *ctx, void *buf, size_t n)
{
	struct nb_bw_transport *w = ctx;
	ssize_t k = w->inner->stream.read(w->inner->stream.ctx, buf, n);
	if (k > 0) {
		w->t.bytes_in += (uint64_t)k;
		if (w->down)
			nb_bwlimit_take(w->down, (size_t)k);
	}
	return k;
}

static int nb_bw_write(void *ctx, const void *buf, size_t n)
{
	struct nb_bw_transport *w = ctx;
	const char *p = buf;
	while (n > 0) {
		size_t k = n < NB_BW_SLICE ? n : NB_BW_SLICE;
		if (w->up)
			nb_bwlimit_take(w->up, k);
		int r = w->inner->stream.write(w->inner->stream.ctx, p, k);
		if (r != 0)
			return r;
		w->t.bytes_out += k;
		p += k;
		n -= k;
	}
	return 0;
}

static int nb_bw_readable(struct nb_transport *t)
{
	struct nb_bw_transport *w = (struct nb_bw_transport *)t;
	return w->inner->readable(w->inner);
}

static int nb_bw_keepalive(struct nb_transport *t)
{
	struct nb_bw_transport *w = (struct nb_bw_transport *)t;
	return w->inner->keepalive ? w->inner->keepalive(w->inner) : 0;
}

static void nb_bw_close(struct nb_transport *t)
{
	struct nb_bw_transport *w = (struct nb_bw_transport *)t;
	w->inner->close(w->inner);
	free(w);
}

int nb_bwlimit_wrap(struct nb_transport *t, struct nb_bwlimit *up, struct nb_bwlimit *down,
		    struct nb_transport **out)
{
	struct nb_bw_transport *w = calloc(1, sizeof(*w));
	if (!w) {
		t->close(t);
		return -ENOMEM;
	}
	w->inner = t;
	w->up = up;
	w->down = down;
	w->t.stream.read = nb_bw_read;
	w->t.stream.write = nb_bw_write;
	w->t.stream.ctx = w;
	w->t.readable = nb_bw_readable;
	w->t.keepalive = nb_bw_keepalive;
	w->t.close = nb_bw_close;
	*out = &w->t;
	return 0;
}
