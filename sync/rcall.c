/*
 * Typed requests on a protocol-2 session: one struct nb_rcall per request,
 * which decodes its replies and keeps the outcome. The contract is in
 * rcall.h.
 */
#include "sync/rcall.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "wire/err.h"
#include "wire/log.h"

void nb_rcall_init(struct nb_rcall *rc, uint8_t req)
{
	memset(rc, 0, sizeof(*rc));
	rc->req = req;
}

void nb_rcall_clear(struct nb_rcall *rc)
{
	if (rc->has_attr)
		nb_attr_free(&rc->attr);
	rc->has_attr = 0;
}

static int nb_rcall_finish(struct nb_rcall *rc, int r)
{
	rc->r = r;
	rc->done = 1;
	if (rc->on_done)
		rc->on_done(rc); /* may free rc */
	return NB_CALL_DONE;
}

/* ERROR or PUT_FAIL: -code, text kept. */
static int nb_rcall_error(struct nb_rcall *rc, struct nb_buf *p, int *code)
{
	struct nb_error err;
	int e = nb_proto_error_decode(p, &err);
	if (e != 0)
		return e;
	snprintf(rc->errtext, sizeof(rc->errtext), "%s", err.text);
	nb_debug("server error %u (%s): %s", err.code, nb_msg_name(rc->req), rc->errtext);
	*code = -(int)err.code;
	nb_proto_error_free(&err);
	return 0;
}

static int nb_rcall_list_frame(struct nb_rcall *rc, uint8_t type, struct nb_buf *p)
{
	struct nb_dirents d;
	if (type == NB_MSG_OK) {
		int e = nb_proto_empty_decode(p);
		return e ? e : nb_rcall_finish(rc, 0);
	}
	if (type != NB_MSG_DIRENTS)
		return NB_E_PROTO;
	int e = nb_proto_dirents_decode(p, &d);
	if (e != 0)
		return e;
	/* The frames are read to the final OK even after a stop, so the
	 * session stays in step. */
	for (uint32_t i = 0; i < d.count && !rc->stop; i++)
		rc->stop = rc->on_entry ? rc->on_entry(rc->arg, d.ents[i].name, &d.ents[i].attr) : 0;
	nb_proto_dirents_free(&d);
	return NB_CALL_MORE;
}

static int nb_rcall_get_frame(struct nb_rcall *rc, uint8_t type, struct nb_buf *p)
{
	int e;
	if (type == NB_MSG_GET_INFO && rc->get_size == UINT64_MAX) {
		struct nb_get_info info;
		if ((e = nb_proto_get_info_decode(p, &info)) != 0)
			return e;
		rc->get_next = info.start;
		rc->get_size = info.attr.size;
		e = rc->on_info ? rc->on_info(rc->arg, &info) : 0;
		nb_attr_free(&info.attr);
		/* The rest of the stream would have to be read and dropped:
		 * breaking the session is simpler and as cheap. */
		return e ? e : NB_CALL_MORE;
	}
	if (rc->get_size == UINT64_MAX)
		return NB_E_PROTO; /* data or OK before the info */
	if (type == NB_MSG_OK) {
		if ((e = nb_proto_empty_decode(p)) != 0)
			return e;
		return rc->get_next == rc->get_size ? nb_rcall_finish(rc, 0) : NB_E_PROTO;
	}
	uint64_t off;
	const uint8_t *data;
	size_t n;
	if (type != NB_MSG_GET_DATA || nb_proto_get_data_decode(p, &off, &data, &n) != 0 ||
	    off != rc->get_next || n > rc->get_size - off)
		return NB_E_PROTO;
	if (rc->on_data && (e = rc->on_data(rc->arg, off, data, n)) != 0)
		return e;
	rc->get_next += n;
	return NB_CALL_MORE;
}

static int nb_rcall_upload_frame(struct nb_rcall *rc, uint8_t type, struct nb_buf *p)
{
	int e, code;
	if (type == NB_MSG_PUT_OFFER && !rc->offered) {
		if ((e = nb_proto_put_offer_decode(p, &rc->offer)) != 0)
			return e;
		if (rc->offer.offset > rc->put_size)
			return NB_E_PROTO; /* more than the file holds: not our upload */
		rc->offered = 1;
		return NB_CALL_MORE;
	}
	if (type == NB_MSG_PUT_FAIL && rc->offered && !rc->early_fail) {
		if ((e = nb_rcall_error(rc, p, &code)) != 0)
			return e;
		rc->early_fail = code;
		return NB_CALL_MORE;
	}
	if (type == NB_MSG_OK && (!rc->offered || rc->ending)) {
		if ((e = nb_proto_empty_decode(p)) != 0)
			return e;
		rc->present = !rc->offered;
		return nb_rcall_finish(rc, rc->early_fail);
	}
	/* An ERROR ends the upload before the offer or after the end; in
	 * between, only PUT_FAIL may come unasked. */
	if (type == NB_MSG_ERROR && (!rc->offered || rc->ending)) {
		if ((e = nb_rcall_error(rc, p, &code)) != 0)
			return e;
		return nb_rcall_finish(rc, code);
	}
	return NB_E_PROTO;
}

static int nb_rcall_on_reply(struct nb_call *c, uint8_t type, struct nb_buf *p)
{
	struct nb_rcall *rc = (struct nb_rcall *)c;
	int e, code;
	switch (rc->req) {
	case NB_MSG_LIST:
		if (type == NB_MSG_ERROR)
			break;
		return nb_rcall_list_frame(rc, type, p);
	case NB_MSG_GET:
		if (type == NB_MSG_ERROR)
			break;
		return nb_rcall_get_frame(rc, type, p);
	case NB_MSG_PUT_OPEN:
		return nb_rcall_upload_frame(rc, type, p);
	case NB_MSG_PUT_STREAM:
		/* Nothing is "present" before its content is known. */
		if (type == NB_MSG_OK && !rc->offered)
			return NB_E_PROTO;
		return nb_rcall_upload_frame(rc, type, p);
	case NB_MSG_STAT:
		if (type != NB_MSG_ATTR)
			break;
		if ((e = nb_proto_attr_decode(p, &rc->attr)) != 0)
			return e;
		rc->has_attr = 1;
		return nb_rcall_finish(rc, 0);
	default:
		if (type != NB_MSG_OK)
			break;
		if ((e = nb_proto_empty_decode(p)) != 0)
			return e;
		return nb_rcall_finish(rc, 0);
	}
	if (type != NB_MSG_ERROR)
		return NB_E_PROTO;
	if ((e = nb_rcall_error(rc, p, &code)) != 0)
		return e;
	return nb_rcall_finish(rc, code);
}

/* Send what was encoded in tx (encode's result e) as rc's request. */
static int nb_rcall_send(struct nb_remote *r, struct nb_rcall *rc, uint32_t id, int e)
{
	rc->c.on_reply = nb_rcall_on_reply;
	return e ? e : nb_remote_send(r, id, &rc->c);
}

int nb_rcall_stat(struct nb_remote *r, struct nb_rcall *rc, const char *path)
{
	uint32_t id = nb_remote_new_id(r);
	return nb_rcall_send(r, rc, id, nb_proto_path_encode(nb_remote_tx(r), id, NB_MSG_STAT, path));
}

int nb_rcall_list(struct nb_remote *r, struct nb_rcall *rc, const char *path)
{
	uint32_t id = nb_remote_new_id(r);
	return nb_rcall_send(r, rc, id, nb_proto_path_encode(nb_remote_tx(r), id, NB_MSG_LIST, path));
}

int nb_rcall_mkdir(struct nb_remote *r, struct nb_rcall *rc, const char *path, uint32_t mode)
{
	uint32_t id = nb_remote_new_id(r);
	return nb_rcall_send(r, rc, id, nb_proto_mkdir_encode(nb_remote_tx(r), id, path, mode));
}

int nb_rcall_remove(struct nb_remote *r, struct nb_rcall *rc, const char *path)
{
	uint32_t id = nb_remote_new_id(r);
	return nb_rcall_send(r, rc, id, nb_proto_path_encode(nb_remote_tx(r), id, rc->req, path));
}

int nb_rcall_unlink_if(struct nb_remote *r, struct nb_rcall *rc, const struct nb_unlink_if *m)
{
	uint32_t id = nb_remote_new_id(r);
	return nb_rcall_send(r, rc, id, nb_proto_unlink_if_encode(nb_remote_tx(r), id, m));
}

int nb_rcall_rename(struct nb_remote *r, struct nb_rcall *rc, const char *from, const char *to)
{
	uint32_t id = nb_remote_new_id(r);
	return nb_rcall_send(r, rc, id,
			     nb_proto_path2_encode(nb_remote_tx(r), id, NB_MSG_RENAME, from, to));
}

int nb_rcall_symlink(struct nb_remote *r, struct nb_rcall *rc, const char *path,
		     const char *target)
{
	uint32_t id = nb_remote_new_id(r);
	return nb_rcall_send(r, rc, id,
			     nb_proto_path2_encode(nb_remote_tx(r), id, rc->req, path, target));
}

int nb_rcall_settime(struct nb_remote *r, struct nb_rcall *rc, const char *path, int64_t mtime_s,
		     uint32_t mtime_ns)
{
	uint32_t id = nb_remote_new_id(r);
	return nb_rcall_send(r, rc, id,
			     nb_proto_settime_encode(nb_remote_tx(r), id, path, mtime_s, mtime_ns));
}

int nb_rcall_get(struct nb_remote *r, struct nb_rcall *rc, const struct nb_get *g)
{
	uint32_t id = nb_remote_new_id(r);
	rc->get_size = UINT64_MAX; /* no info yet */
	return nb_rcall_send(r, rc, id, nb_proto_get_encode(nb_remote_tx(r), id, g));
}

int nb_rcall_ping(struct nb_remote *r, struct nb_rcall *rc)
{
	uint32_t id = nb_remote_new_id(r);
	return nb_rcall_send(r, rc, id, nb_proto_ping_encode(nb_remote_tx(r), id));
}

int nb_rcall_mount(struct nb_remote *r, struct nb_rcall *rc, const struct nb_mount_msg *m)
{
	uint32_t id = nb_remote_new_id(r);
	return nb_rcall_send(r, rc, id, nb_proto_mount_encode(nb_remote_tx(r), id, m));
}

int nb_rcall_put_open(struct nb_remote *r, struct nb_rcall *rc, const struct nb_put_open *m)
{
	uint32_t id = nb_remote_new_id(r);
	rc->put_size = m->size;
	return nb_rcall_send(r, rc, id, nb_proto_put_open_encode(nb_remote_tx(r), id, m));
}

int nb_rcall_put_stream(struct nb_remote *r, struct nb_rcall *rc, const struct nb_put_open *m)
{
	uint32_t id = nb_remote_new_id(r);
	rc->put_size = NB_FILE_SIZE_MAX; /* the size is not known yet */
	return nb_rcall_send(r, rc, id, nb_proto_put_stream_encode(nb_remote_tx(r), id, m));
}

int nb_rcall_put_small(struct nb_remote *r, struct nb_rcall *rc, const struct nb_put_open *m,
		       int (*fill)(void *arg, uint8_t *dst, size_t n), void *arg)
{
	uint32_t id = nb_remote_new_id(r);
	uint8_t *dst;
	int e = nb_proto_put_small_reserve(nb_remote_tx(r), id, m, &dst);
	if (e == 0 && m->size > 0)
		e = fill(arg, dst, (size_t)m->size);
	return nb_rcall_send(r, rc, id, e);
}

int nb_rcall_put_data(struct nb_remote *r, struct nb_rcall *rc, uint64_t offset, size_t n,
		      int (*fill)(void *arg, uint8_t *dst, size_t n, uint64_t offset), void *arg)
{
	uint8_t *dst;
	int e = nb_proto_put_data_reserve(nb_remote_tx(r), rc->c.id, offset, n, &dst);
	if (e == 0 && n > 0)
		e = fill(arg, dst, n, offset);
	return e ? e : nb_remote_send(r, rc->c.id, NULL);
}

int nb_rcall_put_end(struct nb_remote *r, struct nb_rcall *rc)
{
	int e = nb_proto_put_end_encode(nb_remote_tx(r), rc->c.id);
	rc->ending = 1;
	return e ? e : nb_remote_send(r, rc->c.id, NULL);
}

int nb_rcall_put_finish(struct nb_remote *r, struct nb_rcall *rc, const struct nb_put_open *m)
{
	int e = nb_proto_put_finish_encode(nb_remote_tx(r), rc->c.id, m);
	rc->ending = 1;
	return e ? e : nb_remote_send(r, rc->c.id, NULL);
}

int nb_rcall_put_abort(struct nb_remote *r, struct nb_rcall *rc, int discard)
{
	int e = nb_proto_put_abort_encode(nb_remote_tx(r), rc->c.id, discard);
	rc->ending = 1;
	return e ? e : nb_remote_send(r, rc->c.id, NULL);
}

int nb_rcall_wait(struct nb_remote *r, struct nb_rcall *rc)
{
	while (!rc->done) {
		int e = nb_remote_pump(r, 1);
		if (e < 0)
			return rc->r = e;
	}
	return rc->r;
}

int nb_rcall_wait_offer(struct nb_remote *r, struct nb_rcall *rc)
{
	while (!rc->done && !rc->offered) {
		int e = nb_remote_pump(r, 1);
		if (e < 0)
			return rc->r = e;
	}
	return rc->done ? rc->r : 0;
}
