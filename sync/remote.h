/*
 * The client end of the protocol: one session with an nbfs-server over a
 * transport, used by a single thread at a time. Each call sends a request
 * and reads its reply. A server ERROR reply returns -errno (its code) and
 * leaves the server's text in nb_remote_errtext(). Any other failure
 * (transport error, protocol violation) leaves the session unusable: the
 * caller closes it and reconnects.
 */
#ifndef NB_REMOTE_H
#define NB_REMOTE_H

#include "wire/frame.h"
#include "wire/proto.h"
#include "sync/transport.h"

struct nb_remote {
	struct nb_transport *t;
	struct nb_frame_reader rd;
	struct nb_buf *tx; /* the request being sent */
	struct nb_buf *rx; /* the payload of the last reply read */
	char errtext[NB_ERRTEXT_MAX + 1];
	int broken;
	int uploading;      /* between PUT_OPEN's offer and the terminal reply */
	int upload_err;     /* the upload's early failure (PUT_FAIL), or 0 */
};

/* Take ownership of t and exchange HELLO. On failure t is closed too.
 * A server that refuses (for instance, its root does not exist) returns
 * its error code with the text in errbuf. */
int nb_remote_open(struct nb_transport *t, struct nb_remote **out, char *errbuf, size_t errsz);
void nb_remote_close(struct nb_remote *r);
const char *nb_remote_errtext(const struct nb_remote *r);
/* True if the session can no longer be used. */
int nb_remote_broken(const struct nb_remote *r);
/* Keep an idle session alive; marks it broken if the link is gone. */
int nb_remote_keepalive(struct nb_remote *r);

/* a->link is allocated for a symlink: free with nb_attr_free. */
int nb_remote_stat(struct nb_remote *r, const char *path, struct nb_attr *a);
/* Call fn for each entry of directory path; fn returns 0 to go on.
 * STAT, LIST and MKDIR may be interleaved with an upload's PUT_DATA. */
int nb_remote_list(struct nb_remote *r, const char *path,
		   int (*fn)(void *arg, const char *name, const struct nb_attr *a), void *arg);
int nb_remote_mkdir(struct nb_remote *r, const char *path, uint32_t mode);
/* UNLINK / RMDIR (type NB_MSG_UNLINK or NB_MSG_RMDIR). */
int nb_remote_remove(struct nb_remote *r, uint8_t type, const char *path);
int nb_remote_rename(struct nb_remote *r, const char *from, const char *to);
int nb_remote_symlink(struct nb_remote *r, const char *path, const char *target);

/* Download: GET, then on_info once (GET_INFO: its return value, if not
 * 0, aborts), on_data for each GET_DATA (offsets are contiguous from
 * info->start), until the final OK. An error from a callback leaves the
 * session broken (the rest of the stream is not read). */
struct nb_get_cb {
	int (*on_info)(void *arg, const struct nb_get_info *info);
	int (*on_data)(void *arg, uint64_t offset, const uint8_t *data, size_t n);
	void *arg;
};
int nb_remote_get(struct nb_remote *r, const struct nb_get *g, const struct nb_get_cb *cb);

/* Upload primitives (see sync/upload.c for the whole flow).
 * put_open: 0 with *offer filled, or 1 if the server already holds this
 * exact content at that path (no upload needed), or an error. */
int nb_remote_put_open(struct nb_remote *r, const struct nb_put_open *m, struct nb_put_offer *offer);
/* Send n bytes of fd at file offset `offset` as PUT_DATA frames.
 * -ENODATA if the file is shorter than expected (it changed). */
int nb_remote_put_data_fd(struct nb_remote *r, int fd, uint64_t offset, size_t n);
/* If the server has already failed the upload (an early PUT_FAIL, for
 * instance a full disk), return that error; otherwise 0 at once. */
int nb_remote_put_poll(struct nb_remote *r);
/* PUT_END: 0 once the file is verified and published. */
int nb_remote_put_end(struct nb_remote *r);
/* PUT_ABORT: the server drops the upload (and with discard, its partial). */
int nb_remote_put_abort(struct nb_remote *r, int discard);

#endif
