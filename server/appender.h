/*
 * Appending to a large file around the page cache.
 *
 * An upload of a large file is written once, fsynced, renamed and not
 * read again by the server: the page cache gains nothing from it, and
 * copying every byte into fresh page-cache pages was 43 % of
 * nbfs-server's CPU for a 1 GiB upload (copy_folio_from_iter_atomic).
 * The appender gathers what arrives in an aligned buffer and, when it is
 * full, hands it to a writer thread of its own, which writes it with
 * O_DIRECT while the next buffer fills (dd on this VM: 0.2 CPU-s per GiB
 * against 1.8 through the page cache; a direct write waits for the
 * disk, which the session's thread then does not). The writer thread
 * also hashes each buffer before writing it, if asked to
 * (nb_appender_hash_into): the MD5 was the largest cost on the session's
 * thread. The tail that does not fill an aligned block goes through
 * the page cache at nb_appender_flush.
 *
 * The price: bytes accepted but not yet written (at most two buffers)
 * are lost if the process dies (a kill, a crash; not a closed connection
 * or a stop signal, after which the caller flushes). The file is always
 * a prefix of what was appended, so a resumed upload just starts a few
 * MiB earlier: the partial's length is what the server offers.
 *
 * Where the filesystem refuses O_DIRECT (or a write with EINVAL), the
 * appender is a plain pwrite from the caller's thread with writeback
 * started every few MiB, as before.
 */
#ifndef NB_APPENDER_H
#define NB_APPENDER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/md5.h"

#define NB_APPENDER_ALIGN 4096u			  /* offsets and lengths for O_DIRECT */
#define NB_APPENDER_BUF (2u * 1024 * 1024)	  /* one buffer; aligned */
#define NB_APPENDER_FLUSH_STEP (8u * 1024 * 1024) /* plain: start writeback */

/* A buffer handed to the writer thread. */
struct nb_appender_job {
	const uint8_t *data;
	size_t len;
	uint64_t at;
};

struct nb_appender {
	int fd;
	int direct;	  /* O_DIRECT is set on fd and the buffers are in use */
	uint8_t *buf[2];  /* NB_APPENDER_BUF bytes each, aligned */
	int cur;	  /* the buffer being filled */
	size_t len;	  /* bytes in buf[cur] */
	size_t tail_done; /* of them, in the file already (nb_appender_flush's
			   * tail: written again only if more came, so a flush
			   * after publishing leaves the file and its mtime be) */
	uint64_t base;	  /* file offset of buf[cur][0]: aligned */
	uint64_t end;	  /* file offset after the last byte appended */
	uint64_t flushed; /* plain: writeback started up to here */
	struct nb_md5 *md5; /* see nb_appender_hash_into, or NULL */
	uint64_t hashed;    /* md5 holds the file's bytes [0, hashed) */

	/* The writer thread, started with the first full buffer. The
	 * fields below are under lock. */
	pthread_t th;
	int started;
	int have_lock; /* lock and cond are initialised */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int busy; /* job is being written */
	int stop;
	int err;     /* the first failed write's -errno, reported once */
	int refused; /* the filesystem refused a direct write (EINVAL):
		      * the writer wrote that job the plain way */
	struct nb_appender_job job;
};

/* Append to fd (open for writing; the caller keeps ownership) from file
 * offset pos, whose bytes before pos are already in the file. The
 * writer thread keeps a pointer to a: it must not move until
 * nb_appender_free (nor the struct nb_partial that holds it). With
 * direct, try O_DIRECT (the buffers are allocated here); without it, or
 * if the filesystem refuses, writes are plain pwrite. Never fails: the
 * worst case is the plain way. Release with nb_appender_free. */
void nb_appender_init(struct nb_appender *a, int fd, uint64_t pos, int direct);
/* Append n bytes at a->end. 0 or -errno: a write failed (this one's or
 * an earlier buffer's); the file holds a prefix of what was appended. */
int nb_appender_write(struct nb_appender *a, const void *data, size_t n);
/* Write everything appended so far into the file (not fsynced), and
 * wait for it. The appender can go on appending afterwards. 0 or
 * -errno. */
int nb_appender_flush(struct nb_appender *a);
/* From now on every byte appended goes into md5 as well, which holds
 * the file's bytes before the appender's end already. In direct mode the
 * writer thread hashes each buffer before writing it: the session's
 * thread only copies. md5 is complete (and may be read) after
 * nb_appender_flush; the caller keeps ownership, and a reset keeps it
 * (the caller resets md5 to match). */
void nb_appender_hash_into(struct nb_appender *a, struct nb_md5 *md5);
/* Start again at pos: wait for the writer, forget what is not yet
 * written, truncate the file to pos. 0 or -errno from the truncate. */
int nb_appender_reset(struct nb_appender *a, uint64_t pos);
/* Stop the writer (after the buffer it is writing), free the buffers
 * without writing what they hold (flush first to keep it), and clear
 * O_DIRECT from fd. Idempotent. */
void nb_appender_free(struct nb_appender *a);

#endif
