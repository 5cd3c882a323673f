/*
 * One protocol session of nbfs-server: reads request frames from the
 * client, acts on the confined root, writes replies. Sessions are
 * strictly sequential: a request is answered before the next is read,
 * except PUT_DATA, which has no reply. A failure while receiving an
 * upload's data is announced at once with PUT_FAIL (so the client stops
 * sending); PUT_END and PUT_ABORT are still answered as usual.
 */
#ifndef NB_SESSION_H
#define NB_SESSION_H

#include <stdint.h>

#include "server/partial.h"
#include "server/root.h"
#include "wire/buf.h"
#include "wire/frame.h"

struct nb_session {
	struct nb_root root;
	struct nb_stream *out;
	struct nb_buf *tx; /* the reply being built */
	int hello_done;
	/* The upload in progress, if any. */
	int uploading;
	int upload_failed; /* PUT_FAIL sent: discard data until END/ABORT */
	int fail_code;     /* the error PUT_FAIL carried */
	struct nb_partial partial;
	int dest_dirfd;
	char *dest_leaf;
	uint32_t mode;
	int64_t mtime_s;
	uint32_t mtime_ns;
	uint8_t base_kind; /* the version the client based its upload on */
	uint64_t base_size;
	int64_t base_mtime_s;
	uint32_t base_mtime_ns;
	uint8_t md5[NB_MD5_LEN];
	uint8_t *io; /* scratch for GET */
};

/* Set up a session on an already opened root; replies go to out. 0, or
 * -ENOMEM. nb_session_free is safe afterwards either way. */
int nb_session_init(struct nb_session *s, struct nb_root root, struct nb_stream *out);
/* Release the session and any upload in progress (its partial is kept
 * for a later resume). Does not close the root. */
void nb_session_free(struct nb_session *s);
/* Handle one frame. 0 to continue; < 0 ends the session: the peer broke
 * the protocol (an ERROR has been sent when possible) or the output
 * failed. */
int nb_session_handle(struct nb_session *s, uint8_t type, struct nb_buf *payload);
/* Read and handle frames until end of input. 0 on a clean end. */
int nb_session_run(struct nb_session *s, struct nb_frame_reader *in);

#endif
