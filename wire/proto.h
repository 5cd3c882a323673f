/*
 * The nbfs wire protocol, version 2: message types and their payloads.
 * docs/PROTOCOL.md is the prose description; this header is the truth.
 *
 * Every message but HELLO carries a request id right after its type:
 * the client numbers its requests, the server answers each with the
 * same id, in any order, so many requests can be in flight at once.
 *
 * Every encode function appends a whole frame to a buffer (it calls
 * nb_frame_begin, so the buffer is reset first); all but HELLO's take
 * the id. A receiver takes the id off a payload with nb_proto_id_decode
 * before it decodes the rest. Every decode function parses a frame
 * payload, checks every length against its cap, rejects trailing bytes,
 * and allocates only what it hands back (freed with the matching
 * *_free). Decoders return 0, NB_E_SHORT, NB_E_TOOBIG or NB_E_PROTO and
 * never crash on any input.
 */
#ifndef NB_PROTO_H
#define NB_PROTO_H

#include <stdint.h>

#include "wire/buf.h"
#include "wire/frame.h"
#include "wire/md5.h"

#define NB_PROTO_MAGIC "nbfs"
#define NB_PROTO_VERSION 2
/* A file up to this size travels whole in one PUT_SMALL. */
#define NB_SMALL_MAX (512 * 1024)
#define NB_DATA_CHUNK (256 * 1024)
#define NB_ERRTEXT_MAX 1024
#define NB_SOFTWARE_MAX 128
#define NB_DIRENTS_MAX 4096 /* entries per DIRENTS frame */
#define NB_FILE_SIZE_MAX ((uint64_t)1 << 50) /* 1 PiB: sanity cap on announced sizes */

enum nb_msg {
	/* Both ways, first frame of a session. */
	NB_MSG_HELLO = 1,
	/* Server replies. */
	NB_MSG_OK = 2,
	NB_MSG_ERROR = 3,
	NB_MSG_ATTR = 4,
	NB_MSG_DIRENTS = 5,
	NB_MSG_PUT_OFFER = 6,
	NB_MSG_PUT_FAIL = 7, /* early terminal reply of an upload; payload as ERROR */
	NB_MSG_GET_INFO = 8,
	NB_MSG_GET_DATA = 9,
	/* Client requests. */
	NB_MSG_STAT = 10,
	NB_MSG_LIST = 11,
	NB_MSG_MKDIR = 12,
	NB_MSG_UNLINK = 13,
	NB_MSG_RMDIR = 14,
	NB_MSG_RENAME = 15,
	NB_MSG_SYMLINK = 16,
	NB_MSG_SETTIME = 17,   /* protocol 2, probed (ENOSYS from older servers) */
	NB_MSG_PUT_OPEN = 20,
	NB_MSG_PUT_DATA = 21,
	NB_MSG_PUT_END = 22,
	NB_MSG_PUT_ABORT = 23,
	NB_MSG_GET = 24,
	NB_MSG_PUT_SMALL = 25, /* protocol 2 */
	NB_MSG_PING = 26,      /* protocol 2 */
	NB_MSG_MOUNT = 27,     /* protocol 2, added later: older servers answer ENOSYS */
	NB_MSG_PUT_STREAM = 28, /* protocol 2, added later: older servers answer ENOSYS */
	NB_MSG_PUT_FINISH = 29, /* the end of a PUT_STREAM upload */
	NB_MSG_UNLINK_IF = 30,  /* protocol 2, added later: older servers answer ENOSYS */
	NB_MSG_SYMLINK_NEW = 31, /* the same */
};

/* Human-readable name of a message type ("?" if unknown). */
const char *nb_msg_name(uint8_t type);

struct nb_attr {
	uint32_t mode; /* S_IFMT type bits and permission bits */
	uint64_t size;
	int64_t mtime_s;
	uint32_t mtime_ns;
	char *link; /* symlink target, or NULL; owned by whoever decoded it */
};

/* Free attr->link (decoded attributes own it). */
void nb_attr_free(struct nb_attr *a);

struct nb_hello {
	uint32_t version;
	char *software; /* free-form, e.g. "nbfs-server 0.1.0" */
};

/* Who the client is across connections: a mount's id, random, kept in
 * its cache (created once per cache), and how long the server may wait
 * for the client's next frame before it ends the session. */
#define NB_MOUNT_ID_LEN 16
#define NB_MOUNT_IDLE_MIN 5     /* seconds; a client's idle limit is raised to this */
#define NB_MOUNT_IDLE_MAX 86400 /* and capped at this */
struct nb_mount_msg {
	uint8_t id[NB_MOUNT_ID_LEN];
	uint32_t idle_s; /* 0: the server's default */
};

struct nb_error {
	uint32_t code; /* positive errno value */
	char *text;
};

struct nb_dirent {
	char *name;
	struct nb_attr attr;
};

struct nb_dirents {
	uint32_t count;
	struct nb_dirent *ents;
};

struct nb_put_open {
	char *path;
	uint64_t size;
	uint8_t md5[NB_MD5_LEN];
	uint32_t mode; /* permission bits of the published file */
	int64_t mtime_s;
	uint32_t mtime_ns;
	uint32_t flags; /* reserved, 0 */
	/* What the client believes the server holds at path, so a version
	 * changed by someone else is never overwritten silently. */
	uint8_t base_kind;
	uint64_t base_size;
	int64_t base_mtime_s;
	uint32_t base_mtime_ns;
};

enum nb_base_kind {
	NB_BASE_ANY = 0,     /* overwrite whatever is there */
	NB_BASE_ABSENT = 1,  /* path must not exist (a new file) */
	NB_BASE_MATCH = 2,   /* path must be a file with base size and mtime */
};

/* UNLINK_IF: remove the file at path if it is what the client last saw
 * there (the base, as an upload's); else EEXIST, the file kept. */
struct nb_unlink_if {
	char *path;
	uint8_t base_kind;
	uint64_t base_size;
	int64_t base_mtime_s;
	uint32_t base_mtime_ns;
};

struct nb_get {
	char *path;
	uint64_t offset;    /* resume from here ... */
	int has_expect;     /* ... if the content still has this MD5 */
	uint8_t expect[NB_MD5_LEN];
};

struct nb_get_info {
	struct nb_attr attr;
	uint8_t md5[NB_MD5_LEN]; /* of the whole content being sent */
	uint64_t start;          /* data follows from this offset */
};

struct nb_put_offer {
	uint64_t offset;                /* bytes of the partial the server holds */
	uint8_t prefix_md5[NB_MD5_LEN]; /* MD5 of those bytes */
};

/* HELLO: str magic, u32 version, str software. */
int nb_proto_hello_encode(struct nb_buf *b, uint32_t version, const char *software);
int nb_proto_hello_decode(struct nb_buf *p, struct nb_hello *m);
void nb_proto_hello_free(struct nb_hello *m);

/* The request id at the start of every payload but HELLO's. */
int nb_proto_id_decode(struct nb_buf *p, uint32_t *id);

/* OK: empty. */
int nb_proto_ok_encode(struct nb_buf *b, uint32_t id);
/* ERROR (and PUT_FAIL, given as type): u32 code, str text. */
int nb_proto_error_encode(struct nb_buf *b, uint32_t id, uint8_t type, uint32_t code,
			  const char *text);
/* An ERROR without a request id, as a peer of protocol 1 reads it: the
 * server's answer to a HELLO it will not serve. */
int nb_proto_refuse_encode(struct nb_buf *b, uint32_t code, const char *text);
int nb_proto_error_decode(struct nb_buf *p, struct nb_error *m);
void nb_proto_error_free(struct nb_error *m);
/* The code an ERROR or PUT_FAIL reply carries for the return code r of a
 * failed request. Only errno values travel: a negative errno goes as it
 * is; NB_E_BUSY, NB_E_MD5 and NB_E_TOOBIG as EBUSY, EBADMSG and
 * ENAMETOOLONG, the nearest errno a client can act on; any other project
 * code, and anything that is not a negative errno, as EPROTO. Always in
 * 1..4095, so nb_proto_error_decode hands it back unchanged. */
uint32_t nb_proto_wire_errno(int r);

/* STAT, LIST, UNLINK, RMDIR: str path. MKDIR: str path, u32 mode.
 * RENAME: str from, str to. SYMLINK and SYMLINK_NEW (probed: older
 * servers answer ENOSYS; made only where nothing is, or the same link
 * is): str path, str target. */
int nb_proto_path_encode(struct nb_buf *b, uint32_t id, uint8_t type, const char *path);
int nb_proto_path_decode(struct nb_buf *p, char **path);
int nb_proto_path2_encode(struct nb_buf *b, uint32_t id, uint8_t type, const char *a,
			  const char *b2);
int nb_proto_path2_decode(struct nb_buf *p, char **a, char **b2);
int nb_proto_mkdir_encode(struct nb_buf *b, uint32_t id, const char *path, uint32_t mode);
int nb_proto_mkdir_decode(struct nb_buf *p, char **path, uint32_t *mode);

/* ATTR: attr (u32 mode, u64 size, i64 mtime_s, u32 mtime_ns, str link;
 * link is empty unless the mode says symlink). */
int nb_proto_attr_encode(struct nb_buf *b, uint32_t id, const struct nb_attr *a);
int nb_proto_attr_decode(struct nb_buf *p, struct nb_attr *a);

/* DIRENTS: u32 count, count x (str name, attr); count <= NB_DIRENTS_MAX.
 * A listing is zero or more DIRENTS frames followed by OK. The encoder
 * side builds a frame incrementally: begin, add until it returns
 * NB_E_TOOBIG or the count cap, finish. */
int nb_proto_dirents_begin(struct nb_buf *b, uint32_t id);
int nb_proto_dirents_add(struct nb_buf *b, const char *name, const struct nb_attr *a);
/* Entries in the DIRENTS frame being built in b (>= 0), or NB_E_SHORT if
 * b holds no begun DIRENTS frame. */
int nb_proto_dirents_count(const struct nb_buf *b);
int nb_proto_dirents_decode(struct nb_buf *p, struct nb_dirents *m);
void nb_proto_dirents_free(struct nb_dirents *m);

/* PUT_OPEN: str path, u64 size, md5[16], u32 mode, i64 mtime_s,
 * u32 mtime_ns, u32 flags, u8 base_kind, u64 base_size,
 * i64 base_mtime_s, u32 base_mtime_ns. */
int nb_proto_put_open_encode(struct nb_buf *b, uint32_t id, const struct nb_put_open *m);
int nb_proto_put_open_decode(struct nb_buf *p, struct nb_put_open *m);
void nb_proto_put_open_free(struct nb_put_open *m);
/* PUT_OFFER: u64 offset, md5[16]. */
int nb_proto_put_offer_encode(struct nb_buf *b, uint32_t id, const struct nb_put_offer *m);
int nb_proto_put_offer_decode(struct nb_buf *p, struct nb_put_offer *m);
/* PUT_STREAM (probed: older servers answer ENOSYS): the fields of
 * PUT_OPEN, with size 0 and, in place of the MD5, the upload's key, 16
 * bytes the client chose at random: an upload of content still being
 * written, whose size and MD5 come with its PUT_FINISH. Its partial is
 * named by the key, so a PUT_STREAM with the same key resumes it. The
 * mode and mtime are ignored (PUT_FINISH names them); the base is
 * checked as PUT_OPEN's. A size other than 0 is NB_E_PROTO. */
int nb_proto_put_stream_encode(struct nb_buf *b, uint32_t id, const struct nb_put_open *m);
int nb_proto_put_stream_decode(struct nb_buf *p, struct nb_put_open *m);
/* PUT_FINISH (id: the PUT_STREAM upload's): the fields of PUT_OPEN,
 * naming the path to publish at, the size and MD5 of everything sent,
 * the mode, the mtime and the base; answered as PUT_END. */
int nb_proto_put_finish_encode(struct nb_buf *b, uint32_t id, const struct nb_put_open *m);
int nb_proto_put_finish_decode(struct nb_buf *p, struct nb_put_open *m);
/* PUT_DATA: u64 offset, str data (<= NB_DATA_CHUNK). The decoder points
 * *data into the payload buffer. */
int nb_proto_put_data_encode(struct nb_buf *b, uint32_t id, uint64_t offset, const void *data,
			     size_t n);
/* Like encode, but reserves n bytes for the caller to fill at *dst (so
 * file data is read straight into the frame). */
int nb_proto_put_data_reserve(struct nb_buf *b, uint32_t id, uint64_t offset, size_t n,
			      uint8_t **dst);
int nb_proto_put_data_decode(struct nb_buf *p, uint64_t *offset, const uint8_t **data, size_t *n);
/* PUT_END: empty. PUT_ABORT: u8 discard (1: delete the partial). */
int nb_proto_put_end_encode(struct nb_buf *b, uint32_t id);
int nb_proto_put_abort_encode(struct nb_buf *b, uint32_t id, int discard);
int nb_proto_put_abort_decode(struct nb_buf *p, int *discard);
/* GET: str path, u64 offset, u8 has_expect, md5[16] expect. */
int nb_proto_get_encode(struct nb_buf *b, uint32_t id, const struct nb_get *m);
int nb_proto_get_decode(struct nb_buf *p, struct nb_get *m);
void nb_proto_get_free(struct nb_get *m);
/* GET_INFO: attr, md5[16], u64 start. */
int nb_proto_get_info_encode(struct nb_buf *b, uint32_t id, const struct nb_get_info *m);
int nb_proto_get_info_decode(struct nb_buf *p, struct nb_get_info *m);
/* GET_DATA: as PUT_DATA. */
int nb_proto_get_data_reserve(struct nb_buf *b, uint32_t id, uint64_t offset, size_t n,
			      uint8_t **dst);
int nb_proto_get_data_decode(struct nb_buf *p, uint64_t *offset, const uint8_t **data, size_t *n);
/* PUT_SMALL (protocol 2): the fields of PUT_OPEN, then str data of
 * exactly m->size bytes (<= NB_SMALL_MAX): a whole file in one request,
 * answered with OK once it is published (or ERROR). The reserve
 * function leaves m->size bytes for the caller to fill at *dst; the
 * decoder points *data into the payload. */
int nb_proto_put_small_reserve(struct nb_buf *b, uint32_t id, const struct nb_put_open *m,
			       uint8_t **dst);
int nb_proto_put_small_decode(struct nb_buf *p, struct nb_put_open *m, const uint8_t **data);
/* PING (protocol 2): empty; answered with OK. Keeps an idle session
 * alive and tells both ends the other is there. */
int nb_proto_ping_encode(struct nb_buf *b, uint32_t id);
/* MOUNT: u8[16] mount id, u32 idle_s. Sent once, as the client's first
 * request after HELLO; answered with OK (ENOSYS from a server that
 * predates it). The id lets a new session of the same mount take over
 * the partials an old, silently dead one still holds. */
int nb_proto_mount_encode(struct nb_buf *b, uint32_t id, const struct nb_mount_msg *m);
int nb_proto_mount_decode(struct nb_buf *p, struct nb_mount_msg *m);
/* SETTIME (protocol 2, wire/proto_settime.c): str path, i64 mtime_s,
 * u32 mtime_ns (< 10^9). Sets the mtime of the directory at path ("" is
 * the root), answered with OK or ERROR. On success the decoder hands
 * back *path, which the caller frees; on failure *path is NULL. */
int nb_proto_settime_encode(struct nb_buf *b, uint32_t id, const char *path, int64_t mtime_s,
			    uint32_t mtime_ns);
int nb_proto_settime_decode(struct nb_buf *p, char **path, int64_t *mtime_s, uint32_t *mtime_ns);
/* UNLINK_IF (probed: older servers answer ENOSYS; wire/proto_unlink.c):
 * str path, u8 base_kind, u64 base_size, i64 base_mtime_s,
 * u32 base_mtime_ns (< 10^9). On success the decoder hands back
 * m->path, which the caller frees; on failure it is NULL. */
int nb_proto_unlink_if_encode(struct nb_buf *b, uint32_t id, const struct nb_unlink_if *m);
int nb_proto_unlink_if_decode(struct nb_buf *p, struct nb_unlink_if *m);
/* For payloads that must be empty (OK, PUT_END, PING). */
int nb_proto_empty_decode(struct nb_buf *p);

#endif
