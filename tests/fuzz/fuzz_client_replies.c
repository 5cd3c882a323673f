/*
 * libFuzzer target: the input is what a (hostile) nbfs-server sends back.
 *
 * nbfs talks to the server through a struct nb_transport; here it is a
 * fake whose reads return the input and whose writes are accepted (and
 * checked: every request the client writes must decode with the server's
 * own decoders). On that transport the target runs nb_remote_open and
 * then, while the session is not broken, a fixed round of requests:
 * STAT, LIST, MKDIR, PUT_OPEN and, if an offer came back, the upload
 * (PUT_DATA from a memfd, PUT_END or PUT_ABORT, with nb_remote_put_poll
 * before and after the data), then GET. The callbacks check what the
 * client promises its callers: listing entries and download data that
 * passed its checks (contiguous, within the announced size).
 *
 * The first two input bytes steer the transport; the rest is the server's
 * byte stream:
 *
 *   byte 0, bits 0-3  e: each read returns at most 1 + (random % 2^e)
 *                     bytes (a PRNG seeded with the input's length), to
 *                     exercise short reads; e = 15 means no limit.
 *   byte 0, bit 4     reads stop at the end of the frame the input is in
 *                     (by its length field), so a reply is not already
 *                     buffered before its request was sent, as with a real
 *                     server, and what the client reads is what it
 *                     consumes (which the put_poll check needs). Without
 *                     it the client's window holds many frames at once.
 *   byte 1            readable() answers its k-th call with 1 if input
 *                     remains and bit (k mod 8) is set. (A transport that
 *                     is always readable while input remains would make
 *                     nb_remote_put_poll eat the reply to the PUT_END that
 *                     has not been sent yet, so no upload could ever end.)
 *
 * tests/fuzz/make_corpus.c writes seeds in this format.
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
	size_t pos;	 /* bytes handed out so far */
	size_t boundary; /* end of the current frame in the input (clamp mode) */
	uint32_t rnd;
	unsigned chunk_exp;
	int clamp;
	uint8_t readable_mask;
	unsigned readable_calls;
	int in_poll;	       /* inside nb_remote_put_poll */
	int poll_other;	       /* ... which read a frame other than PUT_FAIL */
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
	if (f->clamp) {
		if (f->pos >= f->boundary && f->n >= 4) {
			uint32_t len = nb_be32_get(f->p);
			f->boundary = f->pos + 4 + (len < f->n - 4 ? len : f->n - 4);
			/* The client reads only when it needs more of the frame it
			 * is on, so this frame is being consumed. */
			if (f->in_poll && (f->n < 5 || f->p[4] != NB_MSG_PUT_FAIL))
				f->poll_other = 1;
		}
		if (f->pos < f->boundary && k > f->boundary - f->pos)
			k = f->boundary - f->pos;
	}
	if (k > 0)
		memcpy(buf, f->p, k);
	f->p += k;
	f->n -= k;
	f->pos += k;
	f->t.bytes_in += k;
	return (ssize_t)k;
}

/* Every request the client sends must be one the server can decode. */
static void fz_check_request(uint8_t type, struct nb_buf *p)
{
	int r;
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
	case NB_MSG_PUT_END: r = nb_proto_empty_decode(p); break;
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
		fz_check_request(type, f->payload);
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

struct fz_list {
	unsigned count;
	unsigned stop_after; /* make the callback stop early */
};

static int fz_list_cb(void *arg, const char *name, const struct nb_attr *a)
{
	struct fz_list *l = arg;
	/* Touch what the client hands out, so ASan sees a bad pointer. */
	if (strlen(name) == 0 || a->mtime_ns >= 1000000000u || (a->link && strlen(a->link) == 0))
		fz_die("list callback got an entry the decoder should have refused");
	return ++l->count >= l->stop_after ? 1 : 0;
}

/* nb_remote_put_poll may take only PUT_FAIL frames: the server sends
 * nothing else unasked, so reading any other frame there means waiting
 * for a reply to a request not sent yet (with a real server, forever),
 * or taking the reply meant for the next request. Either way the session
 * must end up broken. Checked when reads stop at frame ends (byte 0,
 * bit 4); otherwise the client may legitimately read ahead. */
static void fz_poll(struct fz_transport *f, struct nb_remote *r)
{
	f->in_poll = 1;
	f->poll_other = 0;
	nb_remote_put_poll(r);
	f->in_poll = 0;
	if (f->poll_other && !nb_remote_broken(r))
		fz_die("put_poll read a frame other than PUT_FAIL and carried on");
}

/* PUT_OPEN and, if an offer came back, the upload. */
static void fz_upload(struct fz_transport *f, struct nb_remote *r, unsigned round)
{
	struct nb_put_open m = {
	    .path = "dir/file.bin",
	    .size = FZ_FILE_SIZE,
	    .mode = 0644,
	    .mtime_s = 1700000000,
	    .mtime_ns = 5,
	    .base_kind = (uint8_t)(round % 3),
	    .base_size = 10,
	    .base_mtime_s = 1600000000,
	};
	memcpy(m.md5, fz_file_md5, NB_MD5_LEN);
	struct nb_put_offer offer;
	if (nb_remote_put_open(r, &m, &offer) != 0)
		return; /* error reply, already present (1), or broken */
	if (offer.offset > m.size)
		fz_die("put_open accepted an offer past the announced size");
	fz_poll(f, r);
	if (nb_remote_broken(r))
		return;
	int e = nb_remote_put_data_fd(r, fz_memfd, offer.offset, (size_t)(m.size - offer.offset));
	if (e != 0 && !nb_remote_broken(r))
		fz_die("put_data_fd failed on a transport that accepts everything");
	fz_poll(f, r);
	if (nb_remote_broken(r))
		return;
	if (round % 4 == 3)
		nb_remote_put_abort(r, (round / 4) & 1);
	else
		nb_remote_put_end(r);
}

static volatile uint8_t fz_sink;

struct fz_get {
	uint64_t size, next;
	int infos;
	int cancel; /* make on_info refuse */
};

static int fz_get_info(void *arg, const struct nb_get_info *info)
{
	struct fz_get *g = arg;
	if (g->infos++ || info->start > info->attr.size || info->attr.mtime_ns >= 1000000000u)
		fz_die("get: a GET_INFO the client should have refused");
	g->size = info->attr.size;
	g->next = info->start;
	return g->cancel ? -ECANCELED : 0;
}

static int fz_get_data(void *arg, uint64_t offset, const uint8_t *data, size_t n)
{
	struct fz_get *g = arg;
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

static void fz_download(struct nb_remote *r, unsigned round)
{
	struct nb_get req = {
	    .path = "dir/file.bin", .offset = round & 1 ? 1000 : 0, .has_expect = (int)(round & 1)};
	nb_md5_buf(fz_file_md5, sizeof(fz_file_md5), req.expect);
	struct fz_get g = {.cancel = round % 5 == 4};
	struct nb_get_cb cb = {fz_get_info, fz_get_data, &g};
	int e = nb_remote_get(r, &req, &cb);
	if (e == 0 && (!g.infos || g.next != g.size))
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
	f->clamp = (mode >> 4) & 1;
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
	for (round = 0; round < FZ_ROUNDS && !nb_remote_broken(r); round++) {
		struct nb_attr a;
		memset(&a, 0, sizeof(a));
		if (nb_remote_stat(r, round & 1 ? "sub/file.txt" : "", &a) == 0)
			nb_attr_free(&a);
		if (nb_remote_broken(r))
			break;
		(void)strlen(nb_remote_errtext(r));

		struct fz_list l = {0, round % 3 == 1 ? 1 : ~0u};
		nb_remote_list(r, round & 2 ? "sub" : "", fz_list_cb, &l);
		if (nb_remote_broken(r))
			break;

		nb_remote_mkdir(r, "a/b", 0755);
		if (nb_remote_broken(r))
			break;

		fz_upload(f, r, round);
		if (nb_remote_broken(r))
			break;

		fz_download(r, round);
	}
	nb_debug("%u rounds, stopped with %zu bytes unread%s", round, f->n,
		 nb_remote_broken(r) ? ", session broken" : "");
	nb_remote_close(r);
	return 0;
}
