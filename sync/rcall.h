/*
 * Typed requests on a protocol-2 session: one struct nb_rcall for any
 * request, which decodes its replies and keeps the outcome. A request is
 * sent with one of the nb_rcall_* functions and completes inside
 * nb_remote_pump; on_done (if set) is called then. nb_rcall_wait pumps
 * until it completes, for the callers that want an answer before they go
 * on (the probe, downloads, listings).
 *
 * An upload is one call from PUT_OPEN (or PUT_STREAM) to the answer to
 * its PUT_END (PUT_FINISH, or PUT_ABORT): the offer, an early PUT_FAIL
 * and the final answer all come to it, under the upload's id.
 */
#ifndef NB_RCALL_H
#define NB_RCALL_H

#include <stdint.h>

#include "sync/remote.h"
#include "wire/proto.h"

struct nb_rcall {
	struct nb_call c;
	uint8_t req; /* the request type */
	int done;
	/* 0; -errno from the server's ERROR (text in errtext); or the
	 * session's error (then the session is broken). */
	int r;
	char errtext[NB_ERRTEXT_MAX + 1];
	/* STAT: the answer (its link allocated: nb_attr_free). */
	struct nb_attr attr;
	int has_attr;
	/* PUT_OPEN: the offer arrived (the upload is open), or OK at once
	 * (present: the server holds this content there already). Then the
	 * error of an early PUT_FAIL, if one came. */
	int offered, present;
	uint64_t put_size; /* the size PUT_OPEN announced: no offer may pass it */
	struct nb_put_offer offer;
	int ending; /* PUT_END or PUT_ABORT sent: the next OK or ERROR ends it */
	int early_fail;
	/* LIST: each entry; GET: the info, then each piece of data. A
	 * nonzero return stops the listing / breaks off the download (the
	 * session then breaks: the rest of the stream is not read). */
	int (*on_entry)(void *arg, const char *name, const struct nb_attr *a);
	int (*on_info)(void *arg, const struct nb_get_info *info);
	int (*on_data)(void *arg, uint64_t offset, const uint8_t *data, size_t n);
	uint64_t get_next, get_size;
	int stop; /* LIST: on_entry said stop; the frames are still read */
	/* Called when the request completes (inside the pump), with r set. */
	void (*on_done)(struct nb_rcall *rc);
	void *arg;
};

/* Set rc up for a request of this type (keeps on_* and arg as given
 * after the call: set them after init). */
void nb_rcall_init(struct nb_rcall *rc, uint8_t req);
/* Free what a completed call holds (STAT's attr). */
void nb_rcall_clear(struct nb_rcall *rc);

/* Send a request. 0, or the session's error (rc does not complete). */
int nb_rcall_stat(struct nb_remote *r, struct nb_rcall *rc, const char *path);
int nb_rcall_list(struct nb_remote *r, struct nb_rcall *rc, const char *path);
int nb_rcall_mkdir(struct nb_remote *r, struct nb_rcall *rc, const char *path, uint32_t mode);
/* UNLINK or RMDIR (rc's type). */
int nb_rcall_remove(struct nb_remote *r, struct nb_rcall *rc, const char *path);
/* UNLINK_IF: remove the file at m->path if it is m's base. A server
 * that predates it answers -ENOSYS; one whose file is another version,
 * -EEXIST. */
int nb_rcall_unlink_if(struct nb_remote *r, struct nb_rcall *rc, const struct nb_unlink_if *m);
int nb_rcall_rename(struct nb_remote *r, struct nb_rcall *rc, const char *from, const char *to);
/* SYMLINK or SYMLINK_NEW (rc's type; a server that predates the latter
 * answers -ENOSYS, and -EEXIST when something else is at path). */
int nb_rcall_symlink(struct nb_remote *r, struct nb_rcall *rc, const char *path,
		     const char *target);
/* SETTIME: the mtime of directory path. A server that predates it
 * answers -ENOSYS. */
int nb_rcall_settime(struct nb_remote *r, struct nb_rcall *rc, const char *path, int64_t mtime_s,
		     uint32_t mtime_ns);
int nb_rcall_get(struct nb_remote *r, struct nb_rcall *rc, const struct nb_get *g);
int nb_rcall_ping(struct nb_remote *r, struct nb_rcall *rc);
/* MOUNT: answered OK, or ENOSYS by a server that predates it. */
int nb_rcall_mount(struct nb_remote *r, struct nb_rcall *rc, const struct nb_mount_msg *m);
int nb_rcall_put_open(struct nb_remote *r, struct nb_rcall *rc, const struct nb_put_open *m);
/* PUT_STREAM (m->md5: the stream's key; m->size 0): an upload whose
 * size and MD5 come with its PUT_FINISH. A server that predates it
 * answers -ENOSYS. */
int nb_rcall_put_stream(struct nb_remote *r, struct nb_rcall *rc, const struct nb_put_open *m);
/* PUT_SMALL: fill(arg, dst) writes the m->size bytes of content into the
 * frame (0, or an error: nothing is sent). */
int nb_rcall_put_small(struct nb_remote *r, struct nb_rcall *rc, const struct nb_put_open *m,
		       int (*fill)(void *arg, uint8_t *dst, size_t n), void *arg);
/* One PUT_DATA of the open upload rc: fill writes n bytes at dst. */
int nb_rcall_put_data(struct nb_remote *r, struct nb_rcall *rc, uint64_t offset, size_t n,
		      int (*fill)(void *arg, uint8_t *dst, size_t n, uint64_t offset), void *arg);
/* PUT_END / PUT_ABORT of the open upload rc; its answer completes rc. */
int nb_rcall_put_end(struct nb_remote *r, struct nb_rcall *rc);
int nb_rcall_put_abort(struct nb_remote *r, struct nb_rcall *rc, int discard);
/* PUT_FINISH of the stream rc: its size, MD5, metadata and where to
 * publish it; its answer completes rc. */
int nb_rcall_put_finish(struct nb_remote *r, struct nb_rcall *rc, const struct nb_put_open *m);

/* Pump until rc completes; its result (rc->r). */
int nb_rcall_wait(struct nb_remote *r, struct nb_rcall *rc);
/* Pump until the upload rc has its offer (or completed instead). */
int nb_rcall_wait_offer(struct nb_remote *r, struct nb_rcall *rc);

#endif
