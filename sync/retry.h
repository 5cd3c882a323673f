/*
 * Retry policy, in one place: what a job's result means (done, gone,
 * try again at once, the link broke, the server is busy, a real
 * failure), how long each waits before it is tried again, which
 * connection errors no retry will cure, which download failures are
 * worth another go, and the reconnect backoff.
 */
#ifndef NB_RETRY_H
#define NB_RETRY_H

#include "wire/proto.h" /* NB_ERRTEXT_MAX */

/* What became of a job. */
enum nb_outcome {
	NB_OUT_DONE,   /* done on the server and on record */
	NB_OUT_GONE,   /* its local source vanished before it ran: drop it */
	NB_OUT_AGAIN,  /* changed under it, or stopped: pending, offered at once */
	NB_OUT_LINK,   /* the connection broke: pending; reconnect */
	NB_OUT_BUSY,   /* the server holds the same content for another session: pending, soon */
	NB_OUT_FAILED, /* refused by the server or the local side: error, later */
};

/* A job's result: the outcome, the return code behind it, and the text
 * to show the user (may be empty). */
struct nb_job_result {
	enum nb_outcome out;
	int r;
	char why[NB_ERRTEXT_MAX + 256]; /* room for "server: " and its text */
};

/* The outcome of a job step that returned r (0 is done); link_broken:
 * the session is unusable now. */
enum nb_outcome nb_retry_classify(int r, int link_broken);
/* How long (ms) an entry with this outcome waits before it is offered
 * again. */
long nb_retry_delay_ms(enum nb_outcome out);
/* How long an entry refused as busy (another session holds a partial
 * of its content) waits before its try number `tries` (0 for the first
 * retry): 2 s, doubling up to a minute, so a partial held for hours is
 * not asked for every 2 s all that time. */
long nb_retry_busy_delay_ms(int tries);
/* The user.nbfs.state an entry with this outcome shows (NB_STATE_*). */
int nb_retry_state(enum nb_outcome out);
/* Connection errors that a retry will not cure: host key, login, a
 * protocol version or configuration the server refuses, a server root
 * that is missing or forbidden. */
int nb_retry_is_fatal(int r);
/* A download that failed with r is worth another go: the link broke,
 * or the server's file changed under the transfer. */
int nb_retry_fetch_again(int r);

#define NB_RETRY_BUSY_MAX_MS 60000

/* Reconnect backoff: the first wait, and the next after cur. */
#define NB_BACKOFF_MIN_MS 500
#define NB_BACKOFF_MAX_MS 30000
long nb_retry_backoff_next(long cur);

#endif
