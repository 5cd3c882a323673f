/*
 * The nbfs wire protocol, version 2: message types and their payloads. The
 * contract is in proto.h.
 */
#include "wire/proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "wire/err.h"
#include "wire/pathname.h"

/* The largest value an errno can have on Linux (the kernel's MAX_ERRNO):
 * what lies above is not an error code on either side. */
#define NB_PROTO_ERRNO_MAX 4095

const char *nb_msg_name(uint8_t type)
{
	switch (type) {
	case NB_MSG_HELLO: return "HELLO";
	case NB_MSG_OK: return "OK";
	case NB_MSG_ERROR: return "ERROR";
	case NB_MSG_ATTR: return "ATTR";
	case NB_MSG_DIRENTS: return "DIRENTS";
	case NB_MSG_PUT_OFFER: return "PUT_OFFER";
	case NB_MSG_PUT_FAIL: return "PUT_FAIL";
	case NB_MSG_GET_INFO: return "GET_INFO";
	case NB_MSG_GET_DATA: return "GET_DATA";
	case NB_MSG_STAT: return "STAT";
	case NB_MSG_LIST: return "LIST";
	case NB_MSG_MKDIR: return "MKDIR";
	case NB_MSG_UNLINK: return "UNLINK";
	case NB_MSG_RMDIR: return "RMDIR";
	case NB_MSG_RENAME: return "RENAME";
	case NB_MSG_SYMLINK: return "SYMLINK";
	case NB_MSG_SETTIME: return "SETTIME";
	case NB_MSG_PUT_OPEN: return "PUT_OPEN";
	case NB_MSG_PUT_DATA: return "PUT_DATA";
	case NB_MSG_PUT_END: return "PUT_END";
	case NB_MSG_PUT_ABORT: return "PUT_ABORT";
	case NB_MSG_GET: return "GET";
	case NB_MSG_PUT_SMALL: return "PUT_SMALL";
	case NB_MSG_PING: return "PING";
	case NB_MSG_MOUNT: return "MOUNT";
	case NB_MSG_PUT_STREAM: return "PUT_STREAM";
	case NB_MSG_PUT_FINISH: return "PUT_FINISH";
	case NB_MSG_UNLINK_IF: return "UNLINK_IF";
	case NB_MSG_SYMLINK_NEW: return "SYMLINK_NEW";
	default: return "?";
	}
}

/* Trailing bytes after the last field mean the peer and we disagree about
 * the format: refuse rather than guess. */
static int nb_proto_done(struct nb_buf *p, int r)
{
	if (r == 0 && nb_buf_len(p) != 0)
		return NB_E_PROTO;
	return r;
}

int nb_proto_empty_decode(struct nb_buf *p)
{
	return nb_proto_done(p, 0);
}

int nb_proto_hello_encode(struct nb_buf *b, uint32_t version, const char *software)
{
	int r;
	if ((r = nb_frame_begin(b, NB_MSG_HELLO)) != 0 ||
	    (r = nb_buf_put_cstr(b, NB_PROTO_MAGIC)) != 0 ||
	    (r = nb_buf_put_u32(b, version)) != 0 ||
	    (r = nb_buf_put_str(b, software, strnlen(software, NB_SOFTWARE_MAX))) != 0)
		return r;
	return nb_frame_finish(b);
}

int nb_proto_hello_decode(struct nb_buf *p, struct nb_hello *m)
{
	const uint8_t *magic;
	size_t n;
	int r;
	memset(m, 0, sizeof(*m));
	if ((r = nb_buf_get_str(p, &magic, &n, 16)) != 0)
		return r;
	if (n != strlen(NB_PROTO_MAGIC) || memcmp(magic, NB_PROTO_MAGIC, n) != 0)
		return NB_E_PROTO;
	if ((r = nb_buf_get_u32(p, &m->version)) != 0 ||
	    (r = nb_buf_get_cstr(p, &m->software, NB_SOFTWARE_MAX)) != 0)
		return r;
	r = nb_proto_done(p, 0);
	if (r != 0)
		nb_proto_hello_free(m);
	return r;
}

void nb_proto_hello_free(struct nb_hello *m)
{
	free(m->software);
	m->software = NULL;
}

int nb_proto_ok_encode(struct nb_buf *b, uint32_t id)
{
	int r = nb_frame_begin_id(b, NB_MSG_OK, id);
	return r ? r : nb_frame_finish(b);
}

int nb_proto_error_encode(struct nb_buf *b, uint32_t id, uint8_t type, uint32_t code,
			  const char *text)
{
	int r;
	if ((r = nb_frame_begin_id(b, type, id)) != 0 || (r = nb_buf_put_u32(b, code)) != 0 ||
	    (r = nb_buf_put_str(b, text, strnlen(text, NB_ERRTEXT_MAX))) != 0)
		return r;
	return nb_frame_finish(b);
}

int nb_proto_error_decode(struct nb_buf *p, struct nb_error *m)
{
	int r;
	memset(m, 0, sizeof(*m));
	if ((r = nb_buf_get_u32(p, &m->code)) != 0 ||
	    (r = nb_buf_get_cstr(p, &m->text, NB_ERRTEXT_MAX)) != 0)
		return r;
	/* A code that is not a plausible errno would turn into garbage on
	 * our side; map it to a generic I/O error. */
	if (m->code == 0 || m->code > NB_PROTO_ERRNO_MAX)
		m->code = EIO;
	r = nb_proto_done(p, 0);
	if (r != 0)
		nb_proto_error_free(m);
	return r;
}

void nb_proto_error_free(struct nb_error *m)
{
	free(m->text);
	m->text = NULL;
}

/* The three project codes a client acts on get errno values it tells
 * apart: EBUSY (another session holds the partial: retry later), EBADMSG
 * (the content did not match its MD5: send it again), ENAMETOOLONG (a
 * length over its cap, in practice a path or name too long: give up on
 * that entry). The rest mean the server failed in a way the client
 * cannot fix. */
uint32_t nb_proto_wire_errno(int r)
{
	switch (r) {
	case NB_E_BUSY: return EBUSY;
	case NB_E_MD5: return EBADMSG;
	case NB_E_TOOBIG: return ENAMETOOLONG;
	default: return r < 0 && r >= -NB_PROTO_ERRNO_MAX ? (uint32_t)-r : EPROTO;
	}
}

int nb_proto_path_encode(struct nb_buf *b, uint32_t id, uint8_t type, const char *path)
{
	int r;
	if ((r = nb_frame_begin_id(b, type, id)) != 0 || (r = nb_buf_put_cstr(b, path)) != 0)
		return r;
	return nb_frame_finish(b);
}

int nb_proto_path_decode(struct nb_buf *p, char **path)
{
	int r = nb_buf_get_cstr(p, path, NB_PATH_MAX);
	if (r != 0)
		return r;
	r = nb_proto_done(p, 0);
	if (r != 0) {
		free(*path);
		*path = NULL;
	}
	return r;
}

int nb_proto_path2_encode(struct nb_buf *b, uint32_t id, uint8_t type, const char *a,
			  const char *b2)
{
	int r;
	if ((r = nb_frame_begin_id(b, type, id)) != 0 || (r = nb_buf_put_cstr(b, a)) != 0 ||
	    (r = nb_buf_put_cstr(b, b2)) != 0)
		return r;
	return nb_frame_finish(b);
}

int nb_proto_path2_decode(struct nb_buf *p, char **a, char **b2)
{
	*a = *b2 = NULL;
	int r = nb_buf_get_cstr(p, a, NB_PATH_MAX);
	if (r == 0)
		r = nb_buf_get_cstr(p, b2, NB_PATH_MAX);
	r = nb_proto_done(p, r);
	if (r != 0) {
		free(*a);
		free(*b2);
		*a = *b2 = NULL;
	}
	return r;
}

int nb_proto_mkdir_encode(struct nb_buf *b, uint32_t id, const char *path, uint32_t mode)
{
	int r;
	if ((r = nb_frame_begin_id(b, NB_MSG_MKDIR, id)) != 0 || (r = nb_buf_put_cstr(b, path)) != 0 ||
	    (r = nb_buf_put_u32(b, mode)) != 0)
		return r;
	return nb_frame_finish(b);
}

int nb_proto_mkdir_decode(struct nb_buf *p, char **path, uint32_t *mode)
{
	int r = nb_buf_get_cstr(p, path, NB_PATH_MAX);
	if (r != 0)
		return r;
	r = nb_proto_done(p, nb_buf_get_u32(p, mode));
	if (r != 0) {
		free(*path);
		*path = NULL;
	}
	return r;
}

void nb_attr_free(struct nb_attr *a)
{
	free(a->link);
	a->link = NULL;
}

static int nb_proto_put_attr(struct nb_buf *b, const struct nb_attr *a)
{
	int r;
	const char *link = a->link && S_ISLNK(a->mode) ? a->link : "";
	if ((r = nb_buf_put_u32(b, a->mode)) != 0 || (r = nb_buf_put_u64(b, a->size)) != 0 ||
	    (r = nb_buf_put_i64(b, a->mtime_s)) != 0 || (r = nb_buf_put_u32(b, a->mtime_ns)) != 0 ||
	    (r = nb_buf_put_cstr(b, link)) != 0)
		return r;
	return 0;
}

/* On success a->link is NULL or a new string the caller owns. */
static int nb_proto_get_attr(struct nb_buf *p, struct nb_attr *a)
{
	int r;
	a->link = NULL;
	if ((r = nb_buf_get_u32(p, &a->mode)) != 0 || (r = nb_buf_get_u64(p, &a->size)) != 0 ||
	    (r = nb_buf_get_i64(p, &a->mtime_s)) != 0 || (r = nb_buf_get_u32(p, &a->mtime_ns)) != 0)
		return r;
	if (a->mtime_ns >= 1000000000u || a->size > NB_FILE_SIZE_MAX)
		return NB_E_PROTO;
	const uint8_t *link;
	size_t n;
	if ((r = nb_buf_get_str(p, &link, &n, NB_LINK_MAX)) != 0)
		return r;
	if (n == 0)
		return 0;
	if (!S_ISLNK(a->mode) || memchr(link, 0, n))
		return NB_E_PROTO;
	if (!(a->link = strndup((const char *)link, n)))
		return -ENOMEM;
	return 0;
}

int nb_proto_attr_encode(struct nb_buf *b, uint32_t id, const struct nb_attr *a)
{
	int r;
	if ((r = nb_frame_begin_id(b, NB_MSG_ATTR, id)) != 0 || (r = nb_proto_put_attr(b, a)) != 0)
		return r;
	return nb_frame_finish(b);
}

int nb_proto_attr_decode(struct nb_buf *p, struct nb_attr *a)
{
	int r = nb_proto_done(p, nb_proto_get_attr(p, a));
	if (r != 0)
		nb_attr_free(a);
	return r;
}

/* The count field sits right after the frame header and the request id. */
#define NB_DIRENTS_COUNT_OFF NB_FRAME_ID_HDR

int nb_proto_dirents_begin(struct nb_buf *b, uint32_t id)
{
	int r = nb_frame_begin_id(b, NB_MSG_DIRENTS, id);
	return r ? r : nb_buf_put_u32(b, 0);
}

int nb_proto_dirents_count(const struct nb_buf *b)
{
	uint32_t count;
	int r = nb_buf_peek_u32(b, NB_DIRENTS_COUNT_OFF, &count);
	return r ? r : (int)count;
}

int nb_proto_dirents_add(struct nb_buf *b, const char *name, const struct nb_attr *a)
{
	uint32_t count;
	int r = nb_buf_peek_u32(b, NB_DIRENTS_COUNT_OFF, &count);
	if (r != 0)
		return r;
	if (count >= NB_DIRENTS_MAX)
		return NB_E_TOOBIG;
	size_t save = nb_buf_len(b);
	size_t namelen = strlen(name);
	size_t linklen = a->link && S_ISLNK(a->mode) ? strlen(a->link) : 0;
	/* Stay under the frame cap; the caller starts a new frame. */
	if (save + 4 + namelen + 28 + linklen > NB_FRAME_MAX)
		return NB_E_TOOBIG;
	r = nb_buf_put_str(b, name, namelen);
	if (r == 0)
		r = nb_proto_put_attr(b, a);
	if (r != 0) {
		nb_buf_truncate(b, save);
		return r;
	}
	return nb_buf_poke_u32(b, NB_DIRENTS_COUNT_OFF, count + 1);
}

int nb_proto_dirents_decode(struct nb_buf *p, struct nb_dirents *m)
{
	uint32_t count;
	int r;
	memset(m, 0, sizeof(*m));
	if ((r = nb_buf_get_u32(p, &count)) != 0)
		return r;
	if (count > NB_DIRENTS_MAX)
		return NB_E_TOOBIG;
	/* Each entry needs at least 4 + 1 + 28 bytes: refuse counts the
	 * payload cannot hold before allocating for them. */
	if ((size_t)count * 33 > nb_buf_len(p))
		return NB_E_SHORT;
	m->ents = calloc(count ? count : 1, sizeof(*m->ents));
	if (!m->ents)
		return -ENOMEM;
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *name;
		size_t n;
		if ((r = nb_buf_get_str(p, &name, &n, NB_NAME_MAX)) != 0)
			goto fail;
		if ((r = nb_path_check_name((const char *)name, n)) != 0) {
			r = NB_E_PROTO;
			goto fail;
		}
		struct nb_dirent *e = &m->ents[i];
		e->name = strndup((const char *)name, n);
		if (!e->name) {
			r = -ENOMEM;
			goto fail;
		}
		m->count = i + 1; /* from here on, freed with the rest */
		if ((r = nb_proto_get_attr(p, &e->attr)) != 0)
			goto fail;
	}
	if ((r = nb_proto_done(p, 0)) == 0)
		return 0;
fail:
	nb_proto_dirents_free(m);
	return r;
}

void nb_proto_dirents_free(struct nb_dirents *m)
{
	for (uint32_t i = 0; i < m->count; i++) {
		free(m->ents[i].name);
		nb_attr_free(&m->ents[i].attr);
	}
	free(m->ents);
	memset(m, 0, sizeof(*m));
}

/* The fields PUT_OPEN and PUT_SMALL share. */
static int nb_proto_put_meta(struct nb_buf *b, const struct nb_put_open *m)
{
	int r;
	if ((r = nb_buf_put_cstr(b, m->path)) != 0 ||
	    (r = nb_buf_put_u64(b, m->size)) != 0 || (r = nb_buf_put(b, m->md5, NB_MD5_LEN)) != 0 ||
	    (r = nb_buf_put_u32(b, m->mode)) != 0 || (r = nb_buf_put_i64(b, m->mtime_s)) != 0 ||
	    (r = nb_buf_put_u32(b, m->mtime_ns)) != 0 || (r = nb_buf_put_u32(b, m->flags)) != 0 ||
	    (r = nb_buf_put_u8(b, m->base_kind)) != 0 || (r = nb_buf_put_u64(b, m->base_size)) != 0 ||
	    (r = nb_buf_put_i64(b, m->base_mtime_s)) != 0 ||
	    (r = nb_buf_put_u32(b, m->base_mtime_ns)) != 0)
		return r;
	return 0;
}

/* A frame of type whose payload is the fields of PUT_OPEN. */
static int nb_proto_meta_frame(struct nb_buf *b, uint8_t type, uint32_t id,
			       const struct nb_put_open *m)
{
	int r;
	if ((r = nb_frame_begin_id(b, type, id)) != 0 || (r = nb_proto_put_meta(b, m)) != 0)
		return r;
	return nb_frame_finish(b);
}

int nb_proto_put_open_encode(struct nb_buf *b, uint32_t id, const struct nb_put_open *m)
{
	return nb_proto_meta_frame(b, NB_MSG_PUT_OPEN, id, m);
}

int nb_proto_put_stream_encode(struct nb_buf *b, uint32_t id, const struct nb_put_open *m)
{
	return nb_proto_meta_frame(b, NB_MSG_PUT_STREAM, id, m);
}

int nb_proto_put_finish_encode(struct nb_buf *b, uint32_t id, const struct nb_put_open *m)
{
	return nb_proto_meta_frame(b, NB_MSG_PUT_FINISH, id, m);
}

/* The fields PUT_OPEN and PUT_SMALL share; on failure m is freed. */
static int nb_proto_get_meta(struct nb_buf *p, struct nb_put_open *m)
{
	int r;
	memset(m, 0, sizeof(*m));
	if ((r = nb_buf_get_cstr(p, &m->path, NB_PATH_MAX)) != 0)
		return r;
	if ((r = nb_buf_get_u64(p, &m->size)) != 0 || (r = nb_buf_get(p, m->md5, NB_MD5_LEN)) != 0 ||
	    (r = nb_buf_get_u32(p, &m->mode)) != 0 || (r = nb_buf_get_i64(p, &m->mtime_s)) != 0 ||
	    (r = nb_buf_get_u32(p, &m->mtime_ns)) != 0 || (r = nb_buf_get_u32(p, &m->flags)) != 0 ||
	    (r = nb_buf_get_u8(p, &m->base_kind)) != 0 || (r = nb_buf_get_u64(p, &m->base_size)) != 0 ||
	    (r = nb_buf_get_i64(p, &m->base_mtime_s)) != 0 ||
	    (r = nb_buf_get_u32(p, &m->base_mtime_ns)) != 0)
		goto fail;
	if (m->size > NB_FILE_SIZE_MAX || m->mtime_ns >= 1000000000u || (m->mode & ~07777u) ||
	    m->base_kind > NB_BASE_MATCH || m->base_mtime_ns >= 1000000000u) {
		r = NB_E_PROTO;
		goto fail;
	}
	return 0;
fail:
	nb_proto_put_open_free(m);
	return r;
}

int nb_proto_put_open_decode(struct nb_buf *p, struct nb_put_open *m)
{
	int r = nb_proto_get_meta(p, m);
	if (r == 0 && (r = nb_proto_done(p, 0)) != 0)
		nb_proto_put_open_free(m);
	return r;
}

int nb_proto_put_stream_decode(struct nb_buf *p, struct nb_put_open *m)
{
	int r = nb_proto_get_meta(p, m);
	if (r == 0 && (r = nb_proto_done(p, m->size != 0 ? NB_E_PROTO : 0)) != 0)
		nb_proto_put_open_free(m);
	return r;
}

int nb_proto_put_finish_decode(struct nb_buf *p, struct nb_put_open *m)
{
	return nb_proto_put_open_decode(p, m);
}

int nb_proto_put_small_reserve(struct nb_buf *b, uint32_t id, const struct nb_put_open *m,
			       uint8_t **dst)
{
	int r;
	if (m->size > NB_SMALL_MAX)
		return NB_E_TOOBIG;
	if ((r = nb_frame_begin_id(b, NB_MSG_PUT_SMALL, id)) != 0 ||
	    (r = nb_proto_put_meta(b, m)) != 0 || (r = nb_buf_put_u32(b, (uint32_t)m->size)) != 0)
		return r;
	return nb_buf_reserve(b, (size_t)m->size, dst);
}

int nb_proto_put_small_decode(struct nb_buf *p, struct nb_put_open *m, const uint8_t **data)
{
	size_t n;
	int r = nb_proto_get_meta(p, m);
	if (r != 0)
		return r;
	if ((r = nb_buf_get_str(p, data, &n, NB_SMALL_MAX)) == 0)
		r = nb_proto_done(p, n != m->size ? NB_E_PROTO : 0);
	if (r != 0)
		nb_proto_put_open_free(m);
	return r;
}

int nb_proto_ping_encode(struct nb_buf *b, uint32_t id)
{
	int r = nb_frame_begin_id(b, NB_MSG_PING, id);
	return r ? r : nb_frame_finish(b);
}

int nb_proto_mount_encode(struct nb_buf *b, uint32_t id, const struct nb_mount_msg *m)
{
	int r;
	if ((r = nb_frame_begin_id(b, NB_MSG_MOUNT, id)) != 0 ||
	    (r = nb_buf_put(b, m->id, NB_MOUNT_ID_LEN)) != 0 ||
	    (r = nb_buf_put_u32(b, m->idle_s)) != 0)
		return r;
	return nb_frame_finish(b);
}

int nb_proto_mount_decode(struct nb_buf *p, struct nb_mount_msg *m)
{
	int r;
	memset(m, 0, sizeof(*m));
	if ((r = nb_buf_get(p, m->id, NB_MOUNT_ID_LEN)) != 0 ||
	    (r = nb_buf_get_u32(p, &m->idle_s)) != 0)
		return r;
	return nb_proto_done(p, 0);
}

int nb_proto_id_decode(struct nb_buf *p, uint32_t *id)
{
	return nb_buf_get_u32(p, id);
}

int nb_proto_refuse_encode(struct nb_buf *b, uint32_t code, const char *text)
{
	int r;
	if ((r = nb_frame_begin(b, NB_MSG_ERROR)) != 0 || (r = nb_buf_put_u32(b, code)) != 0 ||
	    (r = nb_buf_put_str(b, text, strnlen(text, NB_ERRTEXT_MAX))) != 0)
		return r;
	return nb_frame_finish(b);
}

void nb_proto_put_open_free(struct nb_put_open *m)
{
	free(m->path);
	m->path = NULL;
}

int nb_proto_put_offer_encode(struct nb_buf *b, uint32_t id, const struct nb_put_offer *m)
{
	int r;
	if ((r = nb_frame_begin_id(b, NB_MSG_PUT_OFFER, id)) != 0 || (r = nb_buf_put_u64(b, m->offset)) != 0 ||
	    (r = nb_buf_put(b, m->prefix_md5, NB_MD5_LEN)) != 0)
		return r;
	return nb_frame_finish(b);
}

int nb_proto_put_offer_decode(struct nb_buf *p, struct nb_put_offer *m)
{
	int r;
	if ((r = nb_buf_get_u64(p, &m->offset)) != 0 ||
	    (r = nb_buf_get(p, m->prefix_md5, NB_MD5_LEN)) != 0)
		return r;
	return nb_proto_done(p, m->offset > NB_FILE_SIZE_MAX ? NB_E_PROTO : 0);
}

static int nb_proto_data_reserve(struct nb_buf *b, uint32_t id, uint8_t type, uint64_t offset,
				 size_t n, uint8_t **dst)
{
	int r;
	if (n > NB_DATA_CHUNK)
		return NB_E_TOOBIG;
	if ((r = nb_frame_begin_id(b, type, id)) != 0 || (r = nb_buf_put_u64(b, offset)) != 0 ||
	    (r = nb_buf_put_u32(b, (uint32_t)n)) != 0)
		return r;
	return nb_buf_reserve(b, n, dst);
}

int nb_proto_put_data_reserve(struct nb_buf *b, uint32_t id, uint64_t offset, size_t n,
			      uint8_t **dst)
{
	return nb_proto_data_reserve(b, id, NB_MSG_PUT_DATA, offset, n, dst);
}

int nb_proto_get_data_reserve(struct nb_buf *b, uint32_t id, uint64_t offset, size_t n,
			      uint8_t **dst)
{
	return nb_proto_data_reserve(b, id, NB_MSG_GET_DATA, offset, n, dst);
}

int nb_proto_put_data_encode(struct nb_buf *b, uint32_t id, uint64_t offset, const void *data,
			     size_t n)
{
	uint8_t *dst;
	int r = nb_proto_put_data_reserve(b, id, offset, n, &dst);
	if (r != 0)
		return r;
	if (n > 0)
		memcpy(dst, data, n);
	return nb_frame_finish(b);
}

int nb_proto_put_data_decode(struct nb_buf *p, uint64_t *offset, const uint8_t **data, size_t *n)
{
	int r;
	if ((r = nb_buf_get_u64(p, offset)) != 0 ||
	    (r = nb_buf_get_str(p, data, n, NB_DATA_CHUNK)) != 0)
		return r;
	return nb_proto_done(p, *offset > NB_FILE_SIZE_MAX ? NB_E_PROTO : 0);
}

int nb_proto_get_data_decode(struct nb_buf *p, uint64_t *offset, const uint8_t **data, size_t *n)
{
	return nb_proto_put_data_decode(p, offset, data, n);
}

int nb_proto_get_encode(struct nb_buf *b, uint32_t id, const struct nb_get *m)
{
	int r;
	if ((r = nb_frame_begin_id(b, NB_MSG_GET, id)) != 0 || (r = nb_buf_put_cstr(b, m->path)) != 0 ||
	    (r = nb_buf_put_u64(b, m->offset)) != 0 || (r = nb_buf_put_u8(b, m->has_expect ? 1 : 0)) != 0 ||
	    (r = nb_buf_put(b, m->expect, NB_MD5_LEN)) != 0)
		return r;
	return nb_frame_finish(b);
}

int nb_proto_get_decode(struct nb_buf *p, struct nb_get *m)
{
	uint8_t has;
	int r;
	memset(m, 0, sizeof(*m));
	if ((r = nb_buf_get_cstr(p, &m->path, NB_PATH_MAX)) != 0)
		return r;
	if ((r = nb_buf_get_u64(p, &m->offset)) == 0 && (r = nb_buf_get_u8(p, &has)) == 0 &&
	    (r = nb_buf_get(p, m->expect, NB_MD5_LEN)) == 0) {
		m->has_expect = has;
		r = has > 1 || m->offset > NB_FILE_SIZE_MAX ? NB_E_PROTO : 0;
	}
	r = nb_proto_done(p, r);
	if (r != 0)
		nb_proto_get_free(m);
	return r;
}

void nb_proto_get_free(struct nb_get *m)
{
	free(m->path);
	m->path = NULL;
}

int nb_proto_get_info_encode(struct nb_buf *b, uint32_t id, const struct nb_get_info *m)
{
	int r;
	if ((r = nb_frame_begin_id(b, NB_MSG_GET_INFO, id)) != 0 || (r = nb_proto_put_attr(b, &m->attr)) != 0 ||
	    (r = nb_buf_put(b, m->md5, NB_MD5_LEN)) != 0 || (r = nb_buf_put_u64(b, m->start)) != 0)
		return r;
	return nb_frame_finish(b);
}

int nb_proto_get_info_decode(struct nb_buf *p, struct nb_get_info *m)
{
	int r = nb_proto_get_attr(p, &m->attr);
	if (r == 0 && (r = nb_buf_get(p, m->md5, NB_MD5_LEN)) == 0 &&
	    (r = nb_buf_get_u64(p, &m->start)) == 0)
		r = m->start > m->attr.size ? NB_E_PROTO : 0;
	r = nb_proto_done(p, r);
	if (r != 0)
		nb_attr_free(&m->attr);
	return r;
}

int nb_proto_put_end_encode(struct nb_buf *b, uint32_t id)
{
	int r = nb_frame_begin_id(b, NB_MSG_PUT_END, id);
	return r ? r : nb_frame_finish(b);
}

int nb_proto_put_abort_encode(struct nb_buf *b, uint32_t id, int discard)
{
	int r;
	if ((r = nb_frame_begin_id(b, NB_MSG_PUT_ABORT, id)) != 0 ||
	    (r = nb_buf_put_u8(b, discard ? 1 : 0)) != 0)
		return r;
	return nb_frame_finish(b);
}

int nb_proto_put_abort_decode(struct nb_buf *p, int *discard)
{
	uint8_t v;
	int r = nb_buf_get_u8(p, &v);
	if (r == 0 && v > 1)
		r = NB_E_PROTO;
	if (r == 0)
		*discard = v;
	return nb_proto_done(p, r);
}
