/*
 * The insides of a session, shared by session.c, session_ns.c,
 * session_put.c and settime.c only: the replies, the open uploads, and
 * the handlers session.c dispatches to. Each handler decodes its
 * request from p and answers it; 0 to go on, < 0 ends the session (see
 * nb_session_handle).
 */
#ifndef NB_SESSION_INT_H
#define NB_SESSION_INT_H

#include "server/session.h"

/* The text of the error that says a path changed on the server
 * meanwhile: the client makes a conflict copy. */
#define NB_CONFLICT_TEXT "conflict: changed on the server"

/* ---- replies ---- */
int nb_session_send(struct nb_session *s);
int nb_session_reply_error(struct nb_session *s, uint32_t id, uint8_t type, int r,
			   const char *what);
int nb_session_error(struct nb_session *s, uint32_t id, int r, const char *what);
int nb_session_ok(struct nb_session *s, uint32_t id);
/* The peer broke the protocol: say so (best effort), with the id of the
 * offending frame (0 if it had none), and end the session. r is the
 * decoder's error, or NB_E_PROTO. */
int nb_session_violation(struct nb_session *s, uint32_t id, int r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int nb_session_bad_frame(struct nb_session *s, uint32_t id, int r, uint8_t type);

/* ---- open uploads ---- */
struct nb_upload *nb_session_upload(struct nb_session *s, uint32_t id);
/* A request with this id has not been answered yet. */
int nb_session_id_busy(struct nb_session *s, uint32_t id);
void nb_session_end_upload(struct nb_session *s, struct nb_upload *u, int discard);

/* ---- handlers: namespace (session_ns.c) ---- */
int nb_session_stat(struct nb_session *s, uint32_t id, struct nb_buf *p);
int nb_session_list(struct nb_session *s, uint32_t id, struct nb_buf *p);
int nb_session_mkdir(struct nb_session *s, uint32_t id, struct nb_buf *p);
int nb_session_remove(struct nb_session *s, uint32_t id, uint8_t type, struct nb_buf *p);
int nb_session_unlink_if(struct nb_session *s, uint32_t id, struct nb_buf *p);
int nb_session_rename(struct nb_session *s, uint32_t id, struct nb_buf *p);
int nb_session_symlink(struct nb_session *s, uint32_t id, uint8_t type, struct nb_buf *p);
int nb_session_get(struct nb_session *s, uint32_t id, struct nb_buf *p);

/* ---- handlers: uploads (session_put.c) ---- */
int nb_session_put_open(struct nb_session *s, uint32_t id, struct nb_buf *p);
int nb_session_put_data(struct nb_session *s, uint32_t id, struct nb_buf *p);
int nb_session_put_end(struct nb_session *s, uint32_t id, struct nb_buf *p);
int nb_session_put_abort(struct nb_session *s, uint32_t id, struct nb_buf *p);
int nb_session_put_small(struct nb_session *s, uint32_t id, struct nb_buf *p);
int nb_session_put_stream(struct nb_session *s, uint32_t id, struct nb_buf *p);
int nb_session_put_finish(struct nb_session *s, uint32_t id, struct nb_buf *p);

#endif
