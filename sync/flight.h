/*
 * One job in flight (the pipeline's insides, shared by pipeline.c and
 * flight.c only): its requests, its state between answers, and how it
 * ends in the queue.
 */
#ifndef NB_FLIGHT_H
#define NB_FLIGHT_H

#include <stdint.h>
#include <sys/stat.h>

#include "sync/cpuspare.h"
#include "sync/pipeline.h"
#include "sync/rcall.h"
#include "sync/retry.h"

enum nb_flight_phase {
	NB_FL_START,    /* to be sent */
	NB_FL_WAIT,     /* an answer is awaited; nothing to do meanwhile */
	NB_FL_SETTLED,  /* a doubt was settled: send the upload */
	NB_FL_OFFERED,  /* the offer arrived: check the prefix, stream from it */
	NB_FL_SEND,     /* streaming PUT_DATA */
	NB_FL_DONE,     /* finished: to be freed by the pipeline */
};

struct nb_flight {
	struct nb_rcall rc; /* the request in flight */
	struct nb_pipeline *p;
	struct nb_job job;
	int phase;
	int large;          /* offered and streamed, not PUT_SMALL */
	int stream;         /* a PUT_STREAM upload (sync/flight_stream.c) */
	int feeding;        /* a stream that waits for its file to be written */
	int has_slot;       /* counted in the pipeline's large uploads */
	int waiting_slot;   /* a large file waiting for a slot to stream */
	int fd;             /* the staged file (files only) */
	struct nb_put_open m;
	struct nb_synced rec;  /* what the server holds once published */
	struct nb_synced doubt[2]; /* what the server may hold of ours (ndoubts) */
	int ndoubts;
	int settling;       /* the STAT is about an earlier upload in doubt */
	uint64_t off;       /* large: next byte to send */
	uint64_t resumed_at, sent;
	uint64_t small_bytes; /* counted in the window */
	int ended;          /* the last request is out: a lost answer leaves doubt */
	int aborting;       /* PUT_ABORT sent; outcome as below */
	struct nb_job_result res;
	long long t0;
	struct nb_flight *prev, *next;
};

struct nb_pipe_time;

/* The pipeline's state that flights touch. */
struct nb_pipeline {
	struct nb_pipeline_config cfg;
	struct nb_remote *r;
	struct nb_flight *head, *tail;
	size_t active, large_active;
	size_t waiting_large; /* large files taken, waiting for a slot */
	uint64_t small_bytes;
	/* Directory times on the wire (sync/pipe_times.c), and whether
	 * this session's server answered that it takes none. */
	struct nb_pipe_time *times;
	size_t ntimes;
	int times_off;
	/* This session's server takes no PUT_STREAM (it predates it). */
	int streams_off;
	/* ... nor UNLINK_IF: removals go as plain UNLINKs; nor
	 * SYMLINK_NEW: links go as plain SYMLINKs. */
	int unlink_if_off, symlink_new_off;
	/* Whether streams whose writer is busy may send (sync/cpuspare.h). */
	struct nb_cpuspare cpu;
};

/* A flight for job (taken from the queue), not started. NULL on ENOMEM
 * (the job is given back to the queue). */
struct nb_flight *nb_flight_new(struct nb_pipeline *p, const struct nb_job *job);
/* Do the flight's next step if it has one that needs no answer first:
 * 1 if it sent something, 0 if not, or the session's error. The flight
 * may be NB_FL_DONE afterwards. */
int nb_flight_advance(struct nb_flight *f);
/* End the flight in the queue with its result (res), release what it
 * holds, mark it NB_FL_DONE. */
void nb_flight_end(struct nb_flight *f);
/* The session is gone: end the flight as pending (in doubt if ended). */
void nb_flight_lost(struct nb_flight *f, const char *why);
void nb_flight_free(struct nb_flight *f);

/* The steps flight.c and flight_stream.c share. */
/* Tell the core's listener (fs/view.c) what changed on the server. */
void nb_flight_notify(struct nb_flight *f, int what, const char *path, const char *path2);
void nb_flight_result(struct nb_flight *f, int r, const char *why);
int nb_flight_sent(struct nb_flight *f, int e);
int nb_flight_abort(struct nb_flight *f, int r);
void nb_flight_doubt(struct nb_flight *f);
int nb_flight_md5(struct nb_flight *f, const uint8_t *buf);
int nb_flight_send_open(struct nb_flight *f);
int nb_flight_send_range(struct nb_flight *f, uint64_t end);
/* f->m's size, mode and mtime, and f->rec, from the staged file's st. */
void nb_flight_meta(struct nb_flight *f, const struct stat *st);
/* The answer to an upload (PUT_SMALL, PUT_OPEN or PUT_STREAM). */
void nb_flight_upload_done(struct nb_rcall *rc);

/* Streams (sync/flight_stream.c): an upload that begins while its file
 * is still being written, keyed by the job's key, ended by PUT_FINISH.
 * Open it (PUT_STREAM); check the server's offer; send what is written,
 * and the end once the writer has closed and the MD5 is known (0 while
 * it waits for either: f->feeding). */
int nb_flight_stream_open(struct nb_flight *f);
void nb_flight_stream_offered(struct nb_flight *f);
int nb_flight_stream_piece(struct nb_flight *f);
/* The stream's answer came (rc done): 1 if it is handled here (the
 * server takes no streams), else 0 and the key is kept or dropped as
 * the answer says. */
int nb_flight_stream_answered(struct nb_flight *f);

/* Directory times (sync/pipe_times.c). Send the times the queue hands
 * out while the window has room for max more requests: 1 if it sent
 * any, 0 if not, or the session's error. */
int nb_pipe_times_step(struct nb_pipeline *p, size_t max);
/* The session is gone: times on the wire go again on the next one. */
void nb_pipe_times_detach(struct nb_pipeline *p);
/* Before a request that changes an entry of the directory above path:
 * if the staged directory denies its owner writing or searching, a
 * MKDIR gives the server's copy the owner's rwx first (the server runs
 * as a user, whom the bits bind); the job's end marks the directory,
 * and its own mode goes back with its time. 0, or the session's error. */
int nb_pipe_dir_writable(struct nb_pipeline *p, const char *path);

/* Removals (sync/flight_unlink.c): send the UNLINK_IF (or UNLINK, to a
 * server older than it) of f's job, 0 or the session's error; and take
 * the answer to an UNLINK or RMDIR job: 1 if handled there (the server
 * predates UNLINK_IF: the job goes again at once; or it holds another
 * version, or a directory with someone else's files in it, kept: the job
 * is done), else 0 for the usual handling. */
int nb_flight_unlink_send(struct nb_flight *f);
int nb_flight_remove_answered(struct nb_flight *f);

#endif
