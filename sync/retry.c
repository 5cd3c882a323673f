/*
 * Retry policy, in one place: what a job's result means and how long it
 * waits before the next try. The contract is in retry.h.
 */
#include "sync/retry.h"

#include <errno.h>

#include "sync/core.h"
#include "wire/err.h"

/* Errors of the transport or the session itself: a new connection may
 * well succeed. */
static int nb_retry_link_error(int r)
{
	switch (r) {
	case NB_E_EOF:
	case NB_E_SSH:
	case NB_E_CONN:
	case NB_E_TIMEOUT:
	case NB_E_OFFLINE:
	case NB_E_PROTO:
	case -EPIPE:
	case -ECONNRESET:
	case -ETIMEDOUT:
	case -EIO:
		return 1;
	default:
		return 0;
	}
}

enum nb_outcome nb_retry_classify(int r, int link_broken)
{
	if (r == 0)
		return NB_OUT_DONE;
	if (r == NB_E_CHANGED || r == -ECANCELED)
		return NB_OUT_AGAIN;
	if (link_broken)
		return NB_OUT_LINK;
	if (r == -EBUSY || r == NB_E_BUSY)
		return NB_OUT_BUSY;
	return NB_OUT_FAILED;
}

long nb_retry_delay_ms(enum nb_outcome out)
{
	switch (out) {
	/* Another session holds the partial: it may let go any moment. */
	case NB_OUT_BUSY: return 2000;
	/* Server-side trouble (a full disk, permissions) is not cured in
	 * milliseconds; do not spin. */
	case NB_OUT_FAILED: return 15000;
	/* At once: the reconnect has its own backoff. */
	default: return 0;
	}
}

long nb_retry_busy_delay_ms(int tries)
{
	long ms = nb_retry_delay_ms(NB_OUT_BUSY);
	for (int i = 0; i < tries && ms < NB_RETRY_BUSY_MAX_MS; i++)
		ms *= 2;
	return ms < NB_RETRY_BUSY_MAX_MS ? ms : NB_RETRY_BUSY_MAX_MS;
}

int nb_retry_state(enum nb_outcome out)
{
	return out == NB_OUT_FAILED ? NB_STATE_ERROR : NB_STATE_PENDING;
}

int nb_retry_is_fatal(int r)
{
	return r == NB_E_HOSTKEY || r == NB_E_AUTH || r == NB_E_VERSION || r == NB_E_CONFIG ||
	       r == -ENOENT || r == -ENOTDIR || r == -EACCES || r == -EPERM;
}

int nb_retry_fetch_again(int r)
{
	return nb_retry_link_error(r) || r == NB_E_BUSY || r == -EAGAIN || r == NB_E_MD5;
}

long nb_retry_backoff_next(long cur)
{
	return cur * 2 > NB_BACKOFF_MAX_MS ? NB_BACKOFF_MAX_MS : cur * 2;
}
