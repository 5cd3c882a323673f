/*
 * libFuzzer target: the input is what a (hostile) nbfs-server sends back.
 *
 * nbfs talks to the server through a struct nb_transport; here it is a
 * fake whose reads return the input and whose writes are accepted (and
 * checked: every request the client writes must decode with the server's
 * own decoders). On that transport the target runs nb_remote_open and
 * then, while the session is not broken, rounds of requests in flight
 * together (protocol 2): STAT, LIST, MKDIR, PUT_SMALL and PING sent
 * back to back and answered in whatever order the input says, then an
 * upload (PUT_OPEN; if an offer comes back, PUT_DATA from a memfd, then
 * PUT_END or PUT_ABORT), then a GET waited for. The callbacks check what
 * the client promises its callers: listing entries and download data
 * that passed its checks (contiguous, within the announced size), every
 * call completed at most once, none completed with a reply meant for
 * another.
 *
 * The first two input bytes steer the transport; the rest is the server's
 * byte stream:
 *
 *   byte 0, bits 0-3  e: each read returns at most 1 + (random % 2^e)
 *                     bytes (a PRNG seeded with the input's length), to
 *                     exercise short reads; e = 15 means no limit.
 *   byte 1            readable() answers its k-th call with 1 if input
 *                     remains and bit (k mod 8) is set.
 *
 * Request ids are 1, 2, 3, ... in the order the client sends them, so a
 * seed can answer them (tests/fuzz/make_corpus.c writes such seeds).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "wire/be.h"
#include "wire/err.h"
#include "wire/frame.h"
#include "wire/log.h"
#include "wire/md5.h"
#include "wire/proto.h"
#include "sync/rcall.h"
#include "sync/remote.h"
#include "sync/transport.h"

#define FZ_FILE_SIZE 3000
#define FZ_ROUNDS 64

static int fz_memfd = -1;
static uint8_t fz_file_md5[NB_MD5_LEN];

static void fz_die(const char *what)
{
	fprintf(stderr, "fuzz_client_replies: %s\n", what);
	abort();
}

static void fz_init(void)
{
	uint8_t content[FZ_FILE_SIZE];
	for (size_t i = 0; i < sizeof(content); i++)
		content[i] = (uint8_t)(i * 31 + 7);
	fz_memfd = memfd_create("nbfs-fuzz-upload", MFD_CLOEXEC);
	if (fz_memfd < 0 || write(fz_memfd, content, sizeof(content)) != (ssize_t)sizeof(content))
		fz_die("memfd");
	nb_md5_buf(content, sizeof(content), fz_file_md5);
	if (!(getenv("NBFS_FUZZ_LOG") && getenv("NBFS_FUZZ_LOG")[0] == '1')) {
		/* Format every message (at debug level), so a bad log argument
		 * shows up under ASan, but write it nowhere. */
		FILE *devnull = fopen("/dev/null", "we");
		if (!devnull)
			fz_die("/dev/null");
		nb_log_set_file(devnull);
	}
	nb_log_set_level(NB_LOG_DEBUG);
}

/* --- the fake transport --- */

struct fz_transport {
	struct nb_transport t;
	const uint8_t *p; /* what the server still has to say */
	size_t n;
	uint32_t rnd;
	unsigned chunk_exp;
	uint8_t readable_mask;
	unsigned readable_calls;
	uint32_t last_id;      /* the client's ids must be new and rising */
	struct nb_buf *sent;   /* the client's requests, for checking */
	struct nb_buf *payload; /* scratch */
};

static uint32_t fz_rand(struct fz_transport *f)
{
	uint32_t x = f->rnd;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return f->rnd = x;
}

static ssize_t fz_read(void *ctx, void *buf, size_t n)
{
	struct fz_transport *f = ctx;
	size_t k = n < f->n ? n : f->n;
	if (f->chunk_exp < 15) {
		size_t lim = 1 + fz_rand(f) % (1u << f->chunk_exp);
		if (k > lim)
			k = lim;
	}
	if (k > 0)
		memcpy(buf, f->p, k);
	f->p += k;
	f->n -= k;
	f->t.bytes_in += k;
	return (ssize_t)k;
}

/* Every request the client sends must be one the server can decode. */
static void fz_check_request(struct fz_transport *f, uint8_t type, struct nb_buf *p)
{
	int r = 0;
	uint32_t id = 0;
	if (type != NB_MSG_HELLO && (r = nb_proto_id_decode(p, &id)) != 0)
		fz_die("a request without an id");
	/* A new request takes a new id; the frames of an upload reuse its own. */
	if (type != NB_MSG_HELLO && type != NB_MSG_PUT_DATA && type != NB_MSG_PUT_END &&
	    type != NB_MSG_PUT_ABORT) {
		if (id <= f->last_id)
			fz_die("a request id reused");
		f->last_id = id;
	}
	switch (type) {
	case NB_MSG_HELLO: {
		struct nb_hello h;
		if ((r = nb_proto_hello_decode(p, &h)) == 0)
			nb_proto_hello_free(&h);
		break;
	}
	case NB_MSG_STAT:
	case NB_MSG_LIST:
	case NB_MSG_UNLINK:
	case NB_MSG_RMDIR: {
		char *path = NULL;
		if ((r = nb_proto_path_decode(p, &path)) == 0)
			free(path);
		break;
	}
	case NB_MSG_RENAME:
	case NB_MSG_SYMLINK: {
		char *a = NULL, *b = NULL;
		if ((r = nb_proto_path2_decode(p, &a, &b)) == 0) {
			free(a);
			free(b);
		}
		break;
	}
	case NB_MSG_GET: {
		struct nb_get g;
		if ((r = nb_proto_get_decode(p, &g)) == 0)
			nb_proto_get_free(&g);
		break;
	}
	case NB_MSG_MKDIR: {
		char *path = NULL;
		uint32_t mode;
		if ((r = nb_proto_mkdir_decode(p, &path, &mode)) == 0)
			free(path);
		break;
	}
	case NB_MSG_PUT_OPEN: {
		struct nb_put_open m;
		if ((r = nb_proto_put_open_decode(p, &m)) == 0)
			nb_proto_put_open_free(&m);
		break;
	}
	case NB_MSG_PUT_DATA: {
		uint64_t off;
		const uint8_t *data;
		size_t n;
		r = nb_proto_put_data_decode(p, &off, &data, &n);
		if (r == 0 && off + n > FZ_FILE_SIZE)
			r = NB_E_TOOBIG;
		break;
	}
	case NB_MSG_PUT_SMALL: {
		struct nb_put_open m;
		const uint8_t *d;
		if ((r = nb_proto_put_small_decode(p, &m, &d)) == 0)
			nb_proto_put_open_free(&m);
		break;
	}
	case NB_MSG_PUT_END:
	case NB_MSG_PING: r = nb_proto_empty_decode(p); break;
	case NB_MSG_PUT_ABORT: {
		int discard;
		r = nb_proto_put_abort_decode(p, &discard);
		break;
	}
	default: r = NB_E_PROTO;
	}
	if (r != 0) {
		fprintf(stderr, "fuzz_client_replies: client sent a bad %s (type %u): %s\n",
			nb_msg_name(type), type, nb_strerror(r));
		abort();
	}
}

static int fz_write(void *ctx, const void *buf, size_t n)
{
	struct fz_transport *f = ctx;
	if (nb_buf_put(f->sent, buf, n) != 0)
		fz_die("request larger than the capture");
	for (;;) {
		uint8_t type;
		int r = nb_frame_parse(f->sent, &type, f->payload);
		if (r == NB_E_SHORT)
			break;
		if (r != 0)
			fz_die("client wrote a bad frame header");
		fz_check_request(f, type, f->payload);
	}
	f->t.bytes_out += n;
	return 0;
}

static int fz_readable(struct nb_transport *t)
{
	struct fz_transport *f = (struct fz_transport *)t;
	unsigned k = f->readable_calls++;
	return f->n > 0 && (f->readable_mask >> (k % 8) & 1);
}

static void fz_close(struct nb_transport *t)
{
	struct fz_transport *f = (struct fz_transport *)t;
	nb_buf_free(f->sent);
	nb_buf_free(f->payload);
	free(f);
}

/* --- the session --- */

static volatile uint8_t fz_sink;

struct fz_call {
	struct nb_rcall rc;
	int completions;
	unsigned count;      /* LIST: entries seen */
	unsigned stop_after; /* LIST: make the callback stop early */
	uint64_t size, next; /* GET */
	int infos;
	int cancel; /* GET: make on_info refuse */
};

static void fz_done(struct nb_rcall *rc)
{
	struct fz_call *c = (struct fz_call *)rc;
	if (c->completions++)
		fz_die("a call completed twice");
	(void)strlen(rc->errtext);
	if (rc->req == NB_MSG_PUT_OPEN && rc->r == 0 && !rc->present && !rc->ending)
		fz_die("an upload succeeded before it was ended");
}

static int fz_list_cb(void *arg, const char *name, const struct nb_attr *a)
{
	struct fz_call *c = arg;
	/* Touch what the client hands out, so ASan sees a bad pointer. */
	if (strlen(name) == 0 || a->mtime_ns >= 1000000000u || (a->link && strlen(a->link) == 0))
		fz_die("list callback got an entry the decoder should have refused");
	return ++c->count >= c->stop_after ? 1 : 0;
}

static int fz_get_info(void *arg, const struct nb_get_info *info)
{
	struct fz_call *g = arg;
	if (g->infos++ || info->start > info->attr.size || info->attr.mtime_ns >= 1000000000u)
		fz_die("get: a GET_INFO the client should have refused");
	g->size = info->attr.size;
	g->next = info->start;
	return g->cancel ? -ECANCELED : 0;
}

static int fz_get_data(void *arg, uint64_t offset, const uint8_t *data, size_t n)
{
	struct fz_call *g = arg;
	/* The client promises contiguous data within the announced size. */
	if (!g->infos || offset != g->next || n > g->size - offset || n > NB_DATA_CHUNK)
		fz_die("get: data the client should have refused");
	/* Read every byte handed out, so ASan checks the pointer. */
	uint8_t sum = 0;
	for (size_t i = 0; i < n; i++)
		sum ^= data[i];
	fz_sink = sum;
	g->next += n;
	return 0;
}

static void fz_call_init(struct fz_call *c, uint8_t req)
{
	memset(c, 0, sizeof(*c));
	nb_rcall_init(&c->rc, req);
	c->rc.on_done = fz_done;
	c->rc.arg = c;
	c->stop_after = ~0u;
}

static int fz_fill_mem(void *arg, uint8_t *dst, size_t n)
{
	memset(dst, *(const uint8_t *)arg, n);
	return 0;
}

static int fz_fill_fd(void *arg, uint8_t *dst, size_t n, uint64_t offset)
{
	(void)arg;
	return pread(fz_memfd, dst, n, (off_t)offset) == (ssize_t)n ? 0 : -ENODATA;
}

static struct nb_put_open fz_meta(const char *path, uint64_t size, unsigned round)
{
	struct nb_put_open m = {
	    .path = (char *)path,
	    .size = size,
	    .mode = 0644,
	    .mtime_s = 1700000000,
	    .mtime_ns = 5,
	    .base_kind = (uint8_t)(round % 3),
	    .base_size = 10,
	    .base_mtime_s = 1600000000,
	};
	memcpy(m.md5, fz_file_md5, NB_MD5_LEN);
	return m;
}

/* Pump until every call in v is complete or the session breaks,
 * blocking or not as the round says. */
static void fz_settle(struct nb_remote *r, struct fz_call *v, size_t n, unsigned round)
{
	for (;;) {
		size_t open = 0;
		for (size_t i = 0; i < n; i++)
			open += !v[i].rc.done;
		if (!open || nb_remote_broken(r))
			return;
		if (nb_remote_pump(r, 1) < 0 || (round & 1 && nb_remote_pump(r, 0) < 0))
			return;
	}
}

static void fz_round(struct nb_remote *r, unsigned round)
{
	struct fz_call c[5];
	uint8_t fill = (uint8_t)round;
	fz_call_init(&c[0], NB_MSG_STAT);
	fz_call_init(&c[1], NB_MSG_LIST);
	fz_call_init(&c[2], NB_MSG_MKDIR);
	fz_call_init(&c[3], NB_MSG_PUT_SMALL);
	fz_call_init(&c[4], NB_MSG_PING);
	c[1].rc.on_entry = fz_list_cb;
	c[1].stop_after = round % 3 == 1 ? 1 : ~0u;
	struct nb_put_open small = fz_meta("dir/small.txt", 100, round);
	if (nb_rcall_stat(r, &c[0].rc, round & 1 ? "sub/file.txt" : "") != 0 ||
	    nb_rcall_list(r, &c[1].rc, round & 2 ? "sub" : "") != 0 ||
	    nb_rcall_mkdir(r, &c[2].rc, "a/b", 0755) != 0 ||
	    nb_rcall_put_small(r, &c[3].rc, &small, fz_fill_mem, &fill) != 0 ||
	    nb_rcall_ping(r, &c[4].rc) != 0)
		return;
	fz_settle(r, c, 5, round);
	nb_rcall_clear(&c[0].rc);
	if (nb_remote_broken(r))
		return;

	/* An upload: the offer, the data, the end (or an abort). */
	struct fz_call u;
	fz_call_init(&u, NB_MSG_PUT_OPEN);
	struct nb_put_open big = fz_meta("dir/file.bin", FZ_FILE_SIZE, round);
	if (nb_rcall_put_open(r, &u.rc, &big) != 0 || nb_rcall_wait_offer(r, &u.rc) != 0 ||
	    u.rc.done)
		return;
	if (u.rc.offer.offset > big.size)
		fz_die("an offer past the announced size was taken");
	for (uint64_t off = u.rc.offer.offset; off < big.size && !nb_remote_broken(r);) {
		size_t n = big.size - off < 1000 ? (size_t)(big.size - off) : 1000;
		if (nb_rcall_put_data(r, &u.rc, off, n, fz_fill_fd, NULL) != 0)
			return;
		off += n;
		if (round & 2)
			nb_remote_pump(r, 0); /* an early PUT_FAIL may come meanwhile */
	}
	if (nb_remote_broken(r))
		return;
	if (u.rc.done)
		fz_die("an upload completed while its data was still being sent");
	if ((round % 4 == 3 ? nb_rcall_put_abort(r, &u.rc, (round / 4) & 1)
			    : nb_rcall_put_end(r, &u.rc)) != 0)
		return;
	nb_rcall_wait(r, &u.rc);
	if (nb_remote_broken(r))
		return;

	/* A download. */
	struct nb_get req = {
	    .path = "dir/file.bin", .offset = round & 1 ? 1000 : 0, .has_expect = (int)(round & 1)};
	nb_md5_buf(fz_file_md5, sizeof(fz_file_md5), req.expect);
	struct fz_call g;
	fz_call_init(&g, NB_MSG_GET);
	g.rc.on_info = fz_get_info;
	g.rc.on_data = fz_get_data;
	g.rc.arg = &g;
	g.cancel = round % 5 == 4;
	g.rc.on_done = NULL;
	if (nb_rcall_get(r, &g.rc, &req) == 0 && nb_rcall_wait(r, &g.rc) == 0 &&
	    (!g.infos || g.next != g.size))
		fz_die("get: success without the whole content");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	if (!inited) {
		fz_init();
		inited = 1;
	}
	struct fz_transport *f = calloc(1, sizeof(*f));
	if (!f)
		return 0;
	uint8_t mode = size > 0 ? data[0] : 0;
	f->readable_mask = size > 1 ? data[1] : 0;
	f->chunk_exp = mode & 15;
	f->rnd = (uint32_t)size * 2654435761u | 1;
	f->p = size > 2 ? data + 2 : data;
	f->n = size > 2 ? size - 2 : 0;
	f->t.stream.read = fz_read;
	f->t.stream.write = fz_write;
	f->t.stream.ctx = f;
	f->t.readable = fz_readable;
	f->t.close = fz_close;
	f->sent = nb_buf_new(2 * (NB_FRAME_MAX + NB_FRAME_HDR));
	f->payload = nb_buf_new(NB_FRAME_MAX);
	if (!f->sent || !f->payload) {
		fz_close(&f->t);
		return 0;
	}

	struct nb_remote *r = NULL;
	char errbuf[256];
	if (nb_remote_open(&f->t, &r, errbuf, sizeof(errbuf)) != 0)
		return 0; /* the transport was closed (and f freed) */
	unsigned round;
	for (round = 0; round < FZ_ROUNDS && !nb_remote_broken(r); round++)
		fz_round(r, round);
	nb_debug("%u rounds, stopped with %zu bytes unread%s", round, f->n,
		 nb_remote_broken(r) ? ", session broken" : "");
	nb_remote_close(r);
	return 0;
}
