/*
 * Does the machine have CPU to spare? A stream (sync/flight_stream.c)
 * sends a file while its writer is still busy writing it; when the
 * writer (cp of a large file from a local disk, say) keeps every core
 * busy, the stream's own work (reading, encrypting, and on a loopback
 * server the server's) would only slow the writer down, for no gain in
 * when the upload ends. So a stream sends while its writer is open only
 * when the cores were idle for a share of the time since the last look:
 * it fills the gaps the writer leaves, and a slow writer (a download
 * saved into the mount) is streamed as it goes. Once the writer closes,
 * the upload goes at full speed.
 *
 * From /proc/stat: the idle and iowait time of all cores against all
 * their time, over the interval since the previous sample.
 */
#ifndef NB_CPUSPARE_H
#define NB_CPUSPARE_H

/* Idle share of all CPU time, in percent, above which there is CPU to
 * spare. */
#define NB_CPUSPARE_MIN_PCT 20
/* Samples are at least this far apart; a look in between gets the last
 * answer. */
#define NB_CPUSPARE_INTERVAL_MS 50

struct nb_cpuspare {
	long long at_ms;                 /* time of the last sample; 0: none */
	unsigned long long idle, total;  /* its counters */
	int spare;                       /* the last answer */
};

/* 1 if the cores had CPU to spare over the last interval, else 0. 1 when
 * it cannot be told (no /proc/stat, no earlier sample): when in doubt,
 * send. */
int nb_cpuspare_check(struct nb_cpuspare *c);
/* The answer for counters read at now_ms (split out for tests). */
int nb_cpuspare_update(struct nb_cpuspare *c, long long now_ms, unsigned long long idle,
		       unsigned long long total);

#endif
