/*
 * One protocol session of nbfs-server (protocol 2, docs/PROTOCOL.md):
 * reads request frames from the client, acts on the confined root,
 * writes replies, each carrying the id of the request it answers.
 *
 * Requests are handled one at a time in the order they arrive, and all
 * but two kinds are answered before the next is read. PUT_DATA has no
 * reply (a failure to store it is announced at once with PUT_FAIL, so
 * the client stops sending; PUT_END and PUT_ABORT are still answered as
 * usual). PUT_SMALL is held in the session's batch (server/batch.h) and
 * answered when the batch is flushed: before any request that reads or
 * changes names (STAT, LIST, GET, UNLINK, RMDIR, RENAME, SYMLINK,
 * PUT_OPEN, PUT_END, a MKDIR or PUT_SMALL of a held path or beneath
 * one, a MKDIR making a directory above held files unwritable), when
 * the batch is full, when the client has paused (nb_session_idle), and
 * at the end of input.
 *
 * Up to NB_SESSION_UPLOADS_MAX uploads (PUT_OPEN ... PUT_END) may be
 * open at once, each named by the id of its PUT_OPEN.
 */
#ifndef NB_SESSION_H
#define NB_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "server/batch.h"
#include "server/partial.h"
#include "server/root.h"
#include "wire/buf.h"
#include "wire/frame.h"
#include "wire/proto.h"

#define NB_SESSION_UPLOADS_MAX 16 /* open uploads per session; one more is EBUSY */
/* A client that sent nothing for this long is gone (its link died
 * silently): the session ends, letting go of its partials. A client
 * that names its mount (MOUNT) says how long instead. */
#define NB_SESSION_IDLE_DEFAULT_MS (600 * 1000L)

/* An upload between PUT_OPEN and PUT_END / PUT_ABORT. */
struct nb_upload {
	int open;
	uint32_t id;   /* of its PUT_OPEN or PUT_STREAM */
	int stream;    /* opened by PUT_STREAM: ended by PUT_FINISH */
	int failed;    /* PUT_FAIL sent: discard data until END/ABORT */
	int fail_code; /* the error PUT_FAIL carried */
	struct nb_partial partial;
	int dest_dirfd;
	char *path;       /* the wire path, owned */
	const char *leaf; /* its last component, inside path */
	uint32_t mode;
	int64_t mtime_s;
	uint32_t mtime_ns;
	struct nb_base base; /* the version the client based its upload on */
};

struct nb_session {
	struct nb_root root;
	struct nb_stream *out;
	struct nb_buf *tx; /* the reply being built */
	/* Replies held back while a batch is answered, to go out in one
	 * write (see nb_session_flush). */
	struct nb_buf *held;
	int holding;
	int hello_done;
	struct nb_upload uploads[NB_SESSION_UPLOADS_MAX];
	size_t nuploads; /* open ones */
	struct nb_batch batch; /* PUT_SMALLs waiting for their answers */
	int has_mount;         /* the client sent MOUNT */
	uint8_t mount[NB_MOUNT_ID_LEN];
	/* How long the input may stay silent before the session ends (0:
	 * forever); the reader of the input applies it. */
	long idle_ms;
	uint8_t *io;           /* scratch for GET */
};

/* Set up a session on an already opened root; replies go to out. 0, or
 * -ENOMEM. nb_session_free is safe afterwards either way. */
int nb_session_init(struct nb_session *s, struct nb_root root, struct nb_stream *out);
/* Release the session: open uploads are closed (their partials kept for
 * a later resume), and PUT_SMALLs not answered yet are discarded
 * (their scratch files removed, nothing published). Does not close the
 * root. */
void nb_session_free(struct nb_session *s);
/* Handle one frame. 0 to continue; < 0 ends the session: the peer broke
 * the protocol (an ERROR has been sent when possible), its HELLO was
 * refused, or the output failed. */
int nb_session_handle(struct nb_session *s, uint8_t type, struct nb_buf *payload);
/* Publish and answer the PUT_SMALLs waiting in the batch, the answers
 * in one write of the output (up to NB_SESSION_HELD_MAX bytes each). 0,
 * or the output's error. */
#define NB_SESSION_HELD_MAX (64 * 1024)
int nb_session_flush(struct nb_session *s);
/* Call before reading the next request from in: if PUT_SMALLs are
 * waiting and no more input is ready (nb_frame_ready), nor comes within
 * NB_SESSION_GAP_MS (in->wait, while the oldest has waited less than
 * NB_SESSION_LINGER_MS), the client has paused, so flush. 0, or the
 * output's error. */
#define NB_SESSION_GAP_MS 2
#define NB_SESSION_LINGER_MS 50
int nb_session_idle(struct nb_session *s, const struct nb_frame_reader *in);
/* One turn of nb_session_run: flush if the client has paused, read the
 * next frame into payload (a buffer of NB_FRAME_MAX the caller owns),
 * handle it. 0: handled, go on. NB_E_EOF: the input ended cleanly, and
 * the batch has been flushed. Anything else ends the session: the
 * input ended or failed inside a frame (the batch flushed: the requests
 * before it are answered), a bad frame header (answered with ERROR id
 * 0), or what nb_session_handle returned. */
int nb_session_step(struct nb_session *s, struct nb_frame_reader *in, struct nb_buf *payload);
/* Read and handle frames until end of input, flushing as above. 0 on a
 * clean end. */
int nb_session_run(struct nb_session *s, struct nb_frame_reader *in);

#endif
