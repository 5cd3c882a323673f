/* Unit tests for server/session.c, driven frame by frame through
 * nb_session_handle with the replies captured in memory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "server/session.h"
#include "wire/err.h"
#include "wire/frame.h"
#include "wire/md5.h"
#include "wire/proto.h"
#include "testutil.h"

/* --- the fixture --- */

struct capture {
	struct nb_buf *out; /* every byte the session wrote */
	int fail;          /* if set, writes fail with this */
};

static int capture_write(void *ctx, const void *buf, size_t n)
{
	struct capture *c = ctx;
	if (c->fail)
		return c->fail;
	return nb_buf_put(c->out, buf, n);
}

struct fx {
	char *dir;
	struct nb_root root;
	struct nb_stream stream;
	struct capture cap;
	struct nb_session s;
	struct nb_buf *req;    /* request frame being built */
	struct nb_buf *reply;  /* payload of the last reply taken */
	int xattrs;
	char *paths[256];      /* strings handed out by at(), freed at teardown */
	size_t npaths;
	char *extra_dir;       /* a scratch dir outside the root, removed at teardown */
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	umask(022);
	f->dir = tu_mkdtemp("session");
	assert_non_null(f->dir);
	assert_int_equal(nb_root_open(&f->root, f->dir), 0);
	f->cap.out = tu_buf(64 * NB_FRAME_MAX);
	f->stream.write = capture_write;
	f->stream.read = NULL;
	f->stream.ctx = &f->cap;
	assert_int_equal(nb_session_init(&f->s, f->root, &f->stream), 0);
	f->req = tu_buf(NB_FRAME_MAX + NB_FRAME_HDR);
	f->reply = tu_buf(NB_FRAME_MAX);
	char *probe = tu_join(f->dir, "probe");
	assert_int_equal(tu_write_file(probe, "", 0), 0);
	f->xattrs = setxattr(probe, "user.nbfs.probe", "1", 1, 0) == 0;
	unlink(probe);
	free(probe);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	nb_session_free(&f->s);
	nb_root_close(&f->root);
	nb_buf_free(f->cap.out);
	nb_buf_free(f->req);
	nb_buf_free(f->reply);
	for (size_t i = 0; i < f->npaths; i++)
		free(f->paths[i]);
	tu_rmtree(f->extra_dir);
	free(f->extra_dir);
	tu_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* Hand the frame built in f->req to the session. */
static int handle(struct fx *f)
{
	struct nb_buf *payload;
	uint8_t type;
	payload = tu_buf(NB_FRAME_MAX);
	assert_int_equal(nb_frame_parse(f->req, &type, payload), 0);
	int r = nb_session_handle(&f->s, type, payload);
	nb_buf_free(payload);
	return r;
}

/* Take the next reply frame: its type; its payload in f->reply. */
static uint8_t next_reply(struct fx *f)
{
	uint8_t type = 0;
	int r = nb_frame_parse(f->cap.out, &type, f->reply);
	if (r != 0)
		fail_msg("expected a reply frame, got %d (%zu bytes buffered)", r,
			 nb_buf_len(f->cap.out));
	return type;
}

static void no_reply(struct fx *f)
{
	if (nb_buf_len(f->cap.out) != 0) {
		uint8_t t = next_reply(f);
		fail_msg("unexpected reply %s", nb_msg_name(t));
	}
}

static void expect_ok(struct fx *f)
{
	uint8_t t = next_reply(f);
	if (t == NB_MSG_ERROR || t == NB_MSG_PUT_FAIL) {
		struct nb_error e;
		char text[NB_ERRTEXT_MAX + 1];
		assert_int_equal(nb_proto_error_decode(f->reply, &e), 0);
		snprintf(text, sizeof(text), "%s", e.text);
		nb_proto_error_free(&e);
		fail_msg("expected OK, got %s %u: %s", nb_msg_name(t), e.code, text);
	}
	assert_int_equal(t, NB_MSG_OK);
	assert_int_equal(nb_proto_empty_decode(f->reply), 0);
}

/* The next reply is `type` (ERROR or PUT_FAIL) carrying errno `code`. */
static void expect_error_type(struct fx *f, uint8_t type, uint32_t code)
{
	uint8_t t = next_reply(f);
	if (t != type)
		fail_msg("expected %s, got %s", nb_msg_name(type), nb_msg_name(t));
	struct nb_error e;
	char text[NB_ERRTEXT_MAX + 1];
	assert_int_equal(nb_proto_error_decode(f->reply, &e), 0);
	snprintf(text, sizeof(text), "%s", e.text);
	nb_proto_error_free(&e); /* before any failure jumps out */
	if (e.code != code)
		fail_msg("expected code %u, got %u (%s)", code, e.code, text);
	assert_true(strlen(text) > 0);
}

static void expect_error(struct fx *f, uint32_t code)
{
	expect_error_type(f, NB_MSG_ERROR, code);
}

static void hello(struct fx *f)
{
	assert_int_equal(nb_proto_hello_encode(f->req, 1, "test-client"), 0);
	assert_int_equal(handle(f), 0);
	assert_int_equal(next_reply(f), NB_MSG_HELLO);
	struct nb_hello h;
	assert_int_equal(nb_proto_hello_decode(f->reply, &h), 0);
	assert_int_equal(h.version, NB_PROTO_VERSION);
	assert_string_equal(h.software, "nbfs-server " NBFS_VERSION);
	nb_proto_hello_free(&h);
	no_reply(f);
}

static int req_path(struct fx *f, uint8_t type, const char *path)
{
	assert_int_equal(nb_proto_path_encode(f->req, type, path), 0);
	return handle(f);
}

static int put_open(struct fx *f, const char *path, const void *data, size_t n, uint32_t mode,
		    int64_t mtime_s, uint32_t mtime_ns)
{
	struct nb_put_open m = {
		.path = (char *)path,
		.size = n,
		.mode = mode,
		.mtime_s = mtime_s,
		.mtime_ns = mtime_ns,
	};
	nb_md5_buf(data, n, m.md5);
	assert_int_equal(nb_proto_put_open_encode(f->req, &m), 0);
	return handle(f);
}

/* The next reply is PUT_OFFER for the first `offset` bytes of data. */
static void expect_offer(struct fx *f, const void *data, uint64_t offset)
{
	uint8_t t = next_reply(f);
	if (t != NB_MSG_PUT_OFFER)
		fail_msg("expected PUT_OFFER, got %s", nb_msg_name(t));
	struct nb_put_offer o;
	uint8_t want[NB_MD5_LEN];
	assert_int_equal(nb_proto_put_offer_decode(f->reply, &o), 0);
	assert_int_equal(o.offset, offset);
	nb_md5_buf(data, (size_t)offset, want);
	assert_memory_equal(o.prefix_md5, want, NB_MD5_LEN);
}

/* Send data[from, to) in chunks; no replies expected. */
static void put_data(struct fx *f, const uint8_t *data, size_t from, size_t to)
{
	for (size_t off = from; off < to;) {
		size_t n = to - off < NB_DATA_CHUNK ? to - off : NB_DATA_CHUNK;
		assert_int_equal(nb_proto_put_data_encode(f->req, off, data + off, n), 0);
		assert_int_equal(handle(f), 0);
		off += n;
	}
	no_reply(f);
}

static int put_end(struct fx *f)
{
	assert_int_equal(nb_proto_put_end_encode(f->req), 0);
	return handle(f);
}

static int put_abort(struct fx *f, int discard)
{
	assert_int_equal(nb_proto_put_abort_encode(f->req, discard), 0);
	return handle(f);
}

static uint8_t *make_content(size_t n, unsigned seed)
{
	uint8_t *p = malloc(n ? n : 1);
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (uint8_t)(x >> 16);
	}
	return p;
}

/* Absolute path of rel in the root; owned by the fixture. */
static const char *at(struct fx *f, const char *rel)
{
	char *p = tu_join(f->dir, rel);
	assert_non_null(p);
	assert_true(f->npaths < sizeof(f->paths) / sizeof(f->paths[0]));
	f->paths[f->npaths++] = p;
	return p;
}

static int exists(struct fx *f, const char *rel)
{
	struct stat st;
	return lstat(at(f, rel), &st) == 0;
}

static void assert_file(struct fx *f, const char *rel, const uint8_t *data, size_t n)
{
	size_t len = 0;
	char *got = tu_read_file(at(f, rel), &len);
	if (!got)
		fail_msg("%s: missing", rel);
	assert_int_equal(len, n);
	if (n)
		assert_memory_equal(got, data, n);
	free(got);
}

static char *partial_rel(const uint8_t *data, size_t n)
{
	uint8_t md5[NB_MD5_LEN];
	char hex[NB_MD5_HEX];
	static char rel[128];
	nb_md5_buf(data, n, md5);
	nb_md5_hex(md5, hex);
	snprintf(rel, sizeof(rel), ".nbfs/partial/%s", hex);
	return rel;
}

/* --- HELLO --- */

static void test_hello_first(void **state)
{
	struct fx *f = *state;
	/* Anything before HELLO ends the session with an ERROR. */
	int r = req_path(f, NB_MSG_STAT, "");
	assert_int_equal(r, NB_E_PROTO);
	assert_int_equal(next_reply(f), NB_MSG_ERROR);
	no_reply(f);
	/* the same for an upload frame or an unknown type */
	assert_int_equal(put_end(f), NB_E_PROTO);
	assert_int_equal(next_reply(f), NB_MSG_ERROR);
	assert_int_equal(nb_proto_ok_encode(f->req), 0);
	assert_int_equal(handle(f), NB_E_PROTO);
	assert_int_equal(next_reply(f), NB_MSG_ERROR);
	no_reply(f);
}

static void test_hello(void **state)
{
	struct fx *f = *state;
	hello(f);
	/* and now requests work */
	assert_int_equal(req_path(f, NB_MSG_STAT, ""), 0);
	assert_int_equal(next_reply(f), NB_MSG_ATTR);
	/* a second HELLO is a protocol violation */
	assert_int_equal(nb_proto_hello_encode(f->req, 1, "again"), 0);
	assert_true(handle(f) < 0);
	assert_int_equal(next_reply(f), NB_MSG_ERROR);
	no_reply(f);
}

static void test_hello_bad(void **state)
{
	struct fx *f = *state;
	/* version 0 is refused */
	assert_int_equal(nb_proto_hello_encode(f->req, 0, "ancient"), 0);
	assert_int_equal(handle(f), NB_E_VERSION);
	assert_int_equal(next_reply(f), NB_MSG_ERROR);
	no_reply(f);
	assert_false(f->s.hello_done);
	/* malformed HELLO: trailing byte */
	assert_int_equal(nb_proto_hello_encode(f->req, 1, "x"), 0);
	assert_int_equal(nb_buf_put_u8(f->req, 0), 0);
	assert_int_equal(nb_frame_finish(f->req), 0);
	assert_int_equal(handle(f), NB_E_PROTO);
	assert_int_equal(next_reply(f), NB_MSG_ERROR);
	no_reply(f);
}

/*
 * Regression (fixed; was: server/session.c:55, nb_session_wire_errno): the default case
 * sends `-r` whenever `r > NB_E_BASE`, but every NB_E_* code is greater
 * than NB_E_BASE (they are NB_E_BASE + 1, + 2, ...), so project codes
 * go on the wire as 9999 (NB_E_PROTO), 9996 (NB_E_VERSION), ... instead
 * of the intended EPROTO. The client's decoder turns anything above 4095
 * into EIO, so a protocol violation reaches the user as "I/O error".
 * Fix: send -r only for real errno values, e.g.
 *     default: return r < 0 && r > -4096 ? (uint32_t)-r : EPROTO;
 */
static void test_regress_violation_errno(void **state)
{
	struct fx *f = *state;
	assert_int_equal(req_path(f, NB_MSG_STAT, ""), NB_E_PROTO);
	expect_error(f, EPROTO);
	assert_int_equal(nb_proto_hello_encode(f->req, 0, "ancient"), 0);
	assert_int_equal(handle(f), NB_E_VERSION);
	expect_error(f, EPROTO);
}

static void test_output_failure(void **state)
{
	struct fx *f = *state;
	f->cap.fail = -EPIPE;
	assert_int_equal(nb_proto_hello_encode(f->req, 1, "x"), 0);
	assert_int_equal(handle(f), -EPIPE);
}

/* --- STAT, MKDIR --- */

static void test_stat(void **state)
{
	struct fx *f = *state;
	hello(f);
	const char *p = at(f, "file");
	assert_int_equal(tu_write_file(p, "12345", 5), 0);
	struct timespec ts[2] = {{0, UTIME_OMIT}, {1500000000, 42}};
	assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
	assert_int_equal(chmod(p, 0604), 0);
	assert_int_equal(req_path(f, NB_MSG_STAT, "file"), 0);
	assert_int_equal(next_reply(f), NB_MSG_ATTR);
	struct nb_attr a;
	assert_int_equal(nb_proto_attr_decode(f->reply, &a), 0);
	assert_int_equal(a.mode, S_IFREG | 0604);
	assert_int_equal(a.size, 5);
	assert_int_equal(a.mtime_s, 1500000000);
	assert_int_equal(a.mtime_ns, 42);
	/* a directory reports size 0 */
	assert_int_equal(req_path(f, NB_MSG_STAT, ""), 0);
	assert_int_equal(next_reply(f), NB_MSG_ATTR);
	assert_int_equal(nb_proto_attr_decode(f->reply, &a), 0);
	assert_true(S_ISDIR(a.mode));
	assert_int_equal(a.size, 0);
	/* errors are replies, the session goes on */
	assert_int_equal(req_path(f, NB_MSG_STAT, "missing"), 0);
	expect_error(f, ENOENT);
	assert_int_equal(req_path(f, NB_MSG_STAT, "../etc/passwd"), 0);
	expect_error(f, EINVAL);
	assert_int_equal(req_path(f, NB_MSG_STAT, ".nbfs"), 0);
	expect_error(f, EPERM);
	assert_int_equal(req_path(f, NB_MSG_STAT, "file/x"), 0);
	expect_error(f, ENOTDIR);
	no_reply(f);
	/* a malformed STAT ends the session */
	assert_int_equal(nb_proto_path_encode(f->req, NB_MSG_STAT, "file"), 0);
	assert_int_equal(nb_buf_put_u8(f->req, 0), 0);
	assert_int_equal(nb_frame_finish(f->req), 0);
	assert_int_equal(handle(f), NB_E_PROTO);
	assert_int_equal(next_reply(f), NB_MSG_ERROR);
}

static void test_mkdir(void **state)
{
	struct fx *f = *state;
	hello(f);
	assert_int_equal(nb_proto_mkdir_encode(f->req, "m/n", 0700), 0);
	assert_int_equal(handle(f), 0);
	expect_ok(f);
	struct stat st;
	assert_int_equal(stat(at(f, "m/n"), &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	/* the mode is applied exactly, umask or not */
	assert_int_equal(nb_proto_mkdir_encode(f->req, "open", 0777), 0);
	assert_int_equal(handle(f), 0);
	expect_ok(f);
	assert_int_equal(stat(at(f, "open"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0777);
	assert_int_equal(tu_write_file(at(f, "plain"), "", 0), 0);
	assert_int_equal(nb_proto_mkdir_encode(f->req, "plain", 0700), 0);
	assert_int_equal(handle(f), 0);
	expect_error(f, ENOTDIR);
	assert_int_equal(nb_proto_mkdir_encode(f->req, ".nbfs/x", 0700), 0);
	assert_int_equal(handle(f), 0);
	expect_error(f, EPERM);
	no_reply(f);
}

/* --- uploads --- */

static void test_upload(void **state)
{
	struct fx *f = *state;
	const size_t n = 2 * NB_DATA_CHUNK + 12345;
	uint8_t *data = make_content(n, 1);
	hello(f);
	assert_int_equal(put_open(f, "d/e/f.bin", data, n, 0640, 1234567890, 500), 0);
	expect_offer(f, data, 0);
	no_reply(f);
	assert_true(exists(f, partial_rel(data, n)));
	assert_false(exists(f, "d/e/f.bin"));
	put_data(f, data, 0, n);
	assert_int_equal(put_end(f), 0);
	expect_ok(f);
	no_reply(f);

	assert_file(f, "d/e/f.bin", data, n);
	assert_false(exists(f, partial_rel(data, n)));
	const char *p = at(f, "d/e/f.bin");
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_mtim.tv_sec, 1234567890);
	assert_int_equal(st.st_mtim.tv_nsec, 500);
	/* and STAT agrees */
	assert_int_equal(req_path(f, NB_MSG_STAT, "d/e/f.bin"), 0);
	assert_int_equal(next_reply(f), NB_MSG_ATTR);
	struct nb_attr a;
	assert_int_equal(nb_proto_attr_decode(f->reply, &a), 0);
	assert_int_equal(a.mode, S_IFREG | 0640);
	assert_int_equal(a.size, n);
	assert_int_equal(a.mtime_s, 1234567890);
	assert_int_equal(a.mtime_ns, 500);

	/* The same content again: answered at once with OK (no offer), and
	 * the new mode applied. */
	if (f->xattrs) {
		assert_int_equal(put_open(f, "d/e/f.bin", data, n, 0600, 1234567890, 500), 0);
		expect_ok(f);
		no_reply(f);
		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0600);
		assert_false(f->s.uploading);
	}

	/* New content over the old file replaces it. */
	uint8_t *data2 = make_content(1000, 2);
	assert_int_equal(put_open(f, "d/e/f.bin", data2, 1000, 0644, 1, 0), 0);
	expect_offer(f, data2, 0);
	put_data(f, data2, 0, 1000);
	assert_int_equal(put_end(f), 0);
	expect_ok(f);
	assert_file(f, "d/e/f.bin", data2, 1000);
	free(data);
	free(data2);
}

/*
 * Regression (fixed; was: server/session.c:222-228, nb_session_put_open): when the
 * destination already holds the announced content, the shortcut "applies
 * the metadata" (its comment) but only sets the mode: the mtime the
 * client announced is dropped, so after e.g. `touch` on an unchanged file
 * (or a revert to earlier content) the server keeps the old mtime and
 * STAT/LIST disagree with what the client published. Fix: also futimens()
 * the file to m.mtime_s/m.mtime_ns there and then refresh the
 * user.nbfs.content record (it embeds the mtime), e.g. by moving the
 * shortcut into partial.c next to nb_partial_record.
 */
static void test_regress_identical_upload_keeps_old_mtime(void **state)
{
	struct fx *f = *state;
	const size_t n = 1000;
	uint8_t *data = make_content(n, 14);
	if (!f->xattrs) {
		free(data);
		skip();
		return;
	}
	hello(f);
	assert_int_equal(put_open(f, "same.bin", data, n, 0644, 1000, 1), 0);
	expect_offer(f, data, 0);
	put_data(f, data, 0, n);
	assert_int_equal(put_end(f), 0);
	expect_ok(f);
	/* the same content, announced with a new mode and mtime */
	assert_int_equal(put_open(f, "same.bin", data, n, 0600, 2000, 2), 0);
	expect_ok(f);
	free(data);
	struct stat st;
	assert_int_equal(stat(at(f, "same.bin"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_mtim.tv_sec, 2000);
	assert_int_equal(st.st_mtim.tv_nsec, 2);
}

static void test_upload_empty_file(void **state)
{
	struct fx *f = *state;
	hello(f);
	assert_int_equal(put_open(f, "empty", "", 0, 0644, 0, 0), 0);
	expect_offer(f, "", 0);
	assert_int_equal(put_end(f), 0);
	expect_ok(f);
	assert_file(f, "empty", (const uint8_t *)"", 0);
}

static void test_upload_resume_after_abort(void **state)
{
	struct fx *f = *state;
	const size_t n = NB_DATA_CHUNK + 5000;
	uint8_t *data = make_content(n, 3);
	hello(f);
	assert_int_equal(put_open(f, "r.bin", data, n, 0644, 10, 0), 0);
	expect_offer(f, data, 0);
	put_data(f, data, 0, 100000);
	assert_int_equal(put_abort(f, 0), 0);
	expect_ok(f);
	no_reply(f);
	assert_false(f->s.uploading);
	assert_false(exists(f, "r.bin"));
	assert_true(exists(f, partial_rel(data, n)));

	/* Next attempt is offered the 100000 bytes with their MD5. */
	assert_int_equal(put_open(f, "r.bin", data, n, 0644, 10, 0), 0);
	expect_offer(f, data, 100000);
	put_data(f, data, 100000, n);
	assert_int_equal(put_end(f), 0);
	expect_ok(f);
	assert_file(f, "r.bin", data, n);
	assert_false(exists(f, partial_rel(data, n)));

	/* With discard, the next attempt starts from zero. */
	uint8_t *data2 = make_content(5000, 4);
	assert_int_equal(put_open(f, "s.bin", data2, 5000, 0644, 10, 0), 0);
	expect_offer(f, data2, 0);
	put_data(f, data2, 0, 3000);
	assert_int_equal(put_abort(f, 1), 0);
	expect_ok(f);
	assert_false(exists(f, partial_rel(data2, 5000)));
	assert_int_equal(put_open(f, "s.bin", data2, 5000, 0644, 10, 0), 0);
	expect_offer(f, data2, 0);
	assert_int_equal(put_abort(f, 1), 0);
	expect_ok(f);
	free(data);
	free(data2);
}

/* A session that ends mid-upload (connection cut) keeps the partial;
 * the next session resumes from it. */
static void test_upload_resume_next_session(void **state)
{
	struct fx *f = *state;
	const size_t n = 9000;
	uint8_t *data = make_content(n, 5);
	hello(f);
	assert_int_equal(put_open(f, "cut.bin", data, n, 0644, 10, 0), 0);
	expect_offer(f, data, 0);
	put_data(f, data, 0, 4000);
	nb_session_free(&f->s);
	assert_int_equal(nb_session_init(&f->s, f->root, &f->stream), 0);
	hello(f);
	assert_int_equal(put_open(f, "cut.bin", data, n, 0644, 10, 0), 0);
	expect_offer(f, data, 4000);
	/* The client may also restart from zero (its prefix differed). */
	put_data(f, data, 0, n);
	assert_int_equal(put_end(f), 0);
	expect_ok(f);
	assert_file(f, "cut.bin", data, n);
	free(data);
}

static void test_upload_wrong_md5(void **state)
{
	struct fx *f = *state;
	const size_t n = 3000;
	uint8_t *data = make_content(n, 6);
	uint8_t *bad = make_content(n, 6);
	bad[1500] ^= 0x40;
	hello(f);
	assert_int_equal(put_open(f, "bad.bin", data, n, 0644, 10, 0), 0);
	expect_offer(f, data, 0);
	put_data(f, bad, 0, n);
	assert_int_equal(put_end(f), 0);
	expect_error(f, EBADMSG);
	assert_false(exists(f, "bad.bin"));
	assert_false(exists(f, partial_rel(data, n)));
	assert_false(f->s.uploading);
	/* the session goes on */
	assert_int_equal(req_path(f, NB_MSG_STAT, ""), 0);
	assert_int_equal(next_reply(f), NB_MSG_ATTR);
	free(data);
	free(bad);
}

static void test_upload_short(void **state)
{
	struct fx *f = *state;
	const size_t n = 3000;
	uint8_t *data = make_content(n, 7);
	hello(f);
	assert_int_equal(put_open(f, "short.bin", data, n, 0644, 10, 0), 0);
	expect_offer(f, data, 0);
	put_data(f, data, 0, 2000);
	assert_int_equal(put_end(f), 0);
	expect_error(f, EINVAL);
	assert_false(exists(f, "short.bin"));
	/* the 2000 good bytes stay for a resume */
	assert_int_equal(put_open(f, "short.bin", data, n, 0644, 10, 0), 0);
	expect_offer(f, data, 2000);
	free(data);
}

/* A bad PUT_DATA is answered at once with PUT_FAIL; the data after it
 * is dropped silently; PUT_END then reports the failure. */
static void test_upload_put_fail(void **state)
{
	struct fx *f = *state;
	const size_t n = 3000;
	uint8_t *data = make_content(n, 8);
	hello(f);
	assert_int_equal(put_open(f, "pf.bin", data, n, 0644, 10, 0), 0);
	expect_offer(f, data, 0);
	put_data(f, data, 0, 1000);
	/* a gap */
	assert_int_equal(nb_proto_put_data_encode(f->req, 1500, data + 1500, 100), 0);
	assert_int_equal(handle(f), 0);
	expect_error_type(f, NB_MSG_PUT_FAIL, EINVAL);
	no_reply(f);
	/* more data: ignored, no reply */
	assert_int_equal(nb_proto_put_data_encode(f->req, 1000, data + 1000, 2000), 0);
	assert_int_equal(handle(f), 0);
	no_reply(f);
	assert_int_equal(put_end(f), 0);
	expect_error(f, EINVAL);
	no_reply(f);
	assert_false(exists(f, "pf.bin"));
	assert_false(f->s.uploading);
	/* the partial keeps what was good before the failure */
	assert_int_equal(put_open(f, "pf.bin", data, n, 0644, 10, 0), 0);
	expect_offer(f, data, 1000);
	/* past the announced size */
	assert_int_equal(nb_proto_put_data_encode(f->req, 1000, data, 2001), 0);
	assert_int_equal(handle(f), 0);
	expect_error_type(f, NB_MSG_PUT_FAIL, EFBIG);
	assert_int_equal(put_abort(f, 0), 0);
	expect_ok(f);
	no_reply(f);
	free(data);
}

static void test_upload_busy(void **state)
{
	struct fx *f = *state;
	const size_t n = 3000;
	uint8_t *data = make_content(n, 9);
	hello(f);
	assert_int_equal(put_open(f, "a.bin", data, n, 0644, 10, 0), 0);
	expect_offer(f, data, 0);

	/* A second session on the same root uploads the same content. */
	struct capture cap2 = {0};
	struct nb_stream st2 = {.write = capture_write, .ctx = &cap2};
	struct nb_session s2;
	struct nb_buf *payload;
	uint8_t type;
	cap2.out = tu_buf(NB_FRAME_MAX);
	payload = tu_buf(NB_FRAME_MAX);
	assert_int_equal(nb_session_init(&s2, f->root, &st2), 0);
	assert_int_equal(nb_proto_hello_encode(f->req, 1, "two"), 0);
	assert_int_equal(nb_frame_parse(f->req, &type, payload), 0);
	assert_int_equal(nb_session_handle(&s2, type, payload), 0);
	struct nb_put_open m = {.path = (char *)"b.bin", .size = n, .mode = 0644};
	nb_md5_buf(data, n, m.md5);
	assert_int_equal(nb_proto_put_open_encode(f->req, &m), 0);
	assert_int_equal(nb_frame_parse(f->req, &type, payload), 0);
	assert_int_equal(nb_session_handle(&s2, type, payload), 0);
	assert_int_equal(nb_frame_parse(cap2.out, &type, payload), 0);
	assert_int_equal(type, NB_MSG_HELLO);
	assert_int_equal(nb_frame_parse(cap2.out, &type, payload), 0);
	assert_int_equal(type, NB_MSG_ERROR);
	struct nb_error e;
	assert_int_equal(nb_proto_error_decode(payload, &e), 0);
	assert_int_equal(e.code, EBUSY);
	nb_proto_error_free(&e);
	assert_false(s2.uploading);
	nb_session_free(&s2);
	nb_buf_free(cap2.out);
	nb_buf_free(payload);

	/* the first upload is unaffected */
	put_data(f, data, 0, n);
	assert_int_equal(put_end(f), 0);
	expect_ok(f);
	assert_file(f, "a.bin", data, n);
	free(data);
}

static void test_upload_refused_targets(void **state)
{
	struct fx *f = *state;
	uint8_t *data = make_content(100, 10);
	char *outside = f->extra_dir = tu_mkdtemp("session-outside");
	assert_non_null(outside);
	assert_int_equal(symlink(outside, at(f, "out")), 0);
	assert_int_equal(mkdir(at(f, "dir"), 0755), 0);
	hello(f);
	assert_int_equal(put_open(f, "dir", data, 100, 0644, 0, 0), 0);
	expect_error(f, EISDIR);
	assert_int_equal(put_open(f, "out/x", data, 100, 0644, 0, 0), 0);
	expect_error(f, ENOTDIR);
	assert_int_equal(put_open(f, "out/new/x", data, 100, 0644, 0, 0), 0);
	expect_error(f, ENOTDIR);
	assert_int_equal(put_open(f, ".nbfs/partial/x", data, 100, 0644, 0, 0), 0);
	expect_error(f, EPERM);
	assert_int_equal(put_open(f, "", data, 100, 0644, 0, 0), 0);
	expect_error(f, EINVAL);
	assert_int_equal(put_open(f, "../x", data, 100, 0644, 0, 0), 0);
	expect_error(f, EINVAL);
	no_reply(f);
	assert_false(f->s.uploading);
	assert_int_equal(tu_count_entries(outside), 0);
	/* a refused open leaves no upload: data now is a violation */
	assert_int_equal(nb_proto_put_data_encode(f->req, 0, data, 10), 0);
	assert_true(handle(f) < 0);
	free(data);
}

static void test_upload_frames_out_of_place(void **state)
{
	struct fx *f = *state;
	uint8_t *data = make_content(100, 11);
	hello(f);
	/* PUT_DATA / PUT_END / PUT_ABORT without an open upload */
	assert_int_equal(nb_proto_put_data_encode(f->req, 0, data, 10), 0);
	assert_int_equal(handle(f), NB_E_PROTO);
	assert_int_equal(next_reply(f), NB_MSG_ERROR);
	assert_int_equal(put_end(f), NB_E_PROTO);
	assert_int_equal(next_reply(f), NB_MSG_ERROR);
	assert_int_equal(put_abort(f, 0), NB_E_PROTO);
	assert_int_equal(next_reply(f), NB_MSG_ERROR);
	no_reply(f);
	free(data);
}

static void test_upload_nested_open(void **state)
{
	struct fx *f = *state;
	uint8_t *data = make_content(100, 12);
	hello(f);
	assert_int_equal(put_open(f, "x", data, 100, 0644, 0, 0), 0);
	expect_offer(f, data, 0);
	assert_int_equal(put_open(f, "y", data, 100, 0644, 0, 0), NB_E_PROTO);
	assert_int_equal(next_reply(f), NB_MSG_ERROR);
	free(data);
}

static void test_unknown_type(void **state)
{
	struct fx *f = *state;
	hello(f);
	assert_int_equal(nb_frame_begin(f->req, 99), 0);
	assert_int_equal(nb_buf_put_u32(f->req, 7), 0);
	assert_int_equal(nb_frame_finish(f->req), 0);
	assert_int_equal(handle(f), 0);
	expect_error(f, ENOSYS);
	no_reply(f);
	/* a reply type sent as a request is just as unknown */
	assert_int_equal(nb_proto_ok_encode(f->req), 0);
	assert_int_equal(handle(f), 0);
	expect_error(f, ENOSYS);
	/* the session continues */
	assert_int_equal(req_path(f, NB_MSG_STAT, ""), 0);
	assert_int_equal(next_reply(f), NB_MSG_ATTR);
	/* but in the middle of an upload it is a violation */
	uint8_t *data = make_content(10, 13);
	assert_int_equal(put_open(f, "u", data, 10, 0644, 0, 0), 0);
	expect_offer(f, data, 0);
	assert_int_equal(nb_frame_begin(f->req, 99), 0);
	assert_int_equal(nb_frame_finish(f->req), 0);
	assert_int_equal(handle(f), NB_E_PROTO);
	assert_int_equal(next_reply(f), NB_MSG_ERROR);
	free(data);
}

/* --- LIST --- */

struct listing {
	size_t n, frames;
	char **names;
	struct nb_attr *attrs;
	uint32_t error; /* errno of an ERROR reply, else 0 */
};

static void listing_free(struct listing *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	free(l->attrs);
	memset(l, 0, sizeof(*l));
}

static void list(struct fx *f, const char *path, struct listing *l)
{
	memset(l, 0, sizeof(*l));
	assert_int_equal(req_path(f, NB_MSG_LIST, path), 0);
	for (;;) {
		uint8_t t = next_reply(f);
		if (t == NB_MSG_OK)
			break;
		if (t == NB_MSG_ERROR) {
			struct nb_error e;
			assert_int_equal(nb_proto_error_decode(f->reply, &e), 0);
			l->error = e.code;
			nb_proto_error_free(&e);
			break;
		}
		assert_int_equal(t, NB_MSG_DIRENTS);
		struct nb_dirents d;
		assert_int_equal(nb_proto_dirents_decode(f->reply, &d), 0);
		assert_true(d.count > 0);
		l->names = realloc(l->names, (l->n + d.count) * sizeof(*l->names));
		l->attrs = realloc(l->attrs, (l->n + d.count) * sizeof(*l->attrs));
		for (uint32_t i = 0; i < d.count; i++) {
			l->names[l->n] = strdup(d.ents[i].name);
			l->attrs[l->n] = d.ents[i].attr;
			l->n++;
		}
		l->frames++;
		nb_proto_dirents_free(&d);
	}
	no_reply(f);
}

static const struct nb_attr *find(const struct listing *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->names[i], name) == 0)
			return &l->attrs[i];
	return NULL;
}

static void make_tree(struct fx *f)
{
	assert_int_equal(tu_write_file(at(f, "a"), "abc", 3), 0);
	assert_int_equal(tu_write_file(at(f, "b"), "", 0), 0);
	assert_int_equal(mkdir(at(f, "c"), 0750), 0);
	assert_int_equal(tu_write_file(at(f, "c/.nbfs"), "x", 1), 0);
	assert_int_equal(tu_write_file(at(f, "c/inner"), "xy", 2), 0);
	assert_int_equal(symlink("/etc", at(f, "l")), 0);
	assert_int_equal(mkdir(at(f, ".nbfs"), 0700), 0);
	assert_int_equal(mkdir(at(f, "empty"), 0755), 0);
}

static void check_root_listing(const struct listing *l)
{
	assert_int_equal(l->error, 0);
	assert_int_equal(l->n, 5);
	assert_int_equal(l->frames, 1);
	const struct nb_attr *a = find(l, "a");
	assert_non_null(a);
	assert_int_equal(a->mode, S_IFREG | 0644);
	assert_int_equal(a->size, 3);
	assert_non_null(find(l, "b"));
	a = find(l, "c");
	assert_non_null(a);
	assert_int_equal(a->mode, S_IFDIR | 0750);
	assert_int_equal(a->size, 0);
	a = find(l, "l");
	assert_non_null(a);
	assert_true(S_ISLNK(a->mode)); /* the link itself, not /etc */
	assert_non_null(find(l, "empty"));
	assert_null(find(l, ".nbfs"));
}

static void test_list(void **state)
{
	struct fx *f = *state;
	struct listing l;
	make_tree(f);
	hello(f);
	list(f, "", &l);
	check_root_listing(&l);
	listing_free(&l);
	/* ".nbfs" is hidden only at the root */
	list(f, "c", &l);
	assert_int_equal(l.error, 0);
	assert_int_equal(l.n, 2);
	assert_non_null(find(&l, ".nbfs"));
	assert_int_equal(find(&l, "inner")->size, 2);
	listing_free(&l);
	/* an empty directory: no DIRENTS frame, just OK */
	list(f, "empty", &l);
	assert_int_equal(l.error, 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(l.frames, 0);
	listing_free(&l);
	/* errors */
	list(f, "missing", &l);
	assert_int_equal(l.error, ENOENT);
	listing_free(&l);
	list(f, "l", &l);
	assert_int_equal(l.error, ENOTDIR);
	listing_free(&l);
	list(f, "a", &l);
	assert_int_equal(l.error, ENOTDIR);
	listing_free(&l);
	list(f, ".nbfs", &l);
	assert_int_equal(l.error, EPERM);
	listing_free(&l);
	list(f, "..", &l);
	assert_int_equal(l.error, EINVAL);
	listing_free(&l);
}

static void test_list_many(void **state)
{
	struct fx *f = *state;
	enum { N = 5000 };
	struct listing l;
	assert_int_equal(mkdir(at(f, "big"), 0755), 0);
	for (int i = 0; i < N; i++) {
		char rel[64];
		snprintf(rel, sizeof(rel), "big/file-%05d", i);
		char *p = tu_join(f->dir, rel);
		assert_int_equal(tu_write_file(p, rel, (size_t)(i % 7)), 0);
		free(p);
	}
	hello(f);
	list(f, "big", &l);
	assert_int_equal(l.error, 0);
	assert_int_equal(l.n, N);
	assert_int_equal(l.frames, 2); /* 4096 + 904 */
	char *seen = calloc(N, 1);
	for (size_t i = 0; i < l.n; i++) {
		int k = -1;
		assert_int_equal(sscanf(l.names[i], "file-%d", &k), 1);
		assert_true(k >= 0 && k < N);
		assert_false(seen[k]);
		seen[k] = 1;
		assert_int_equal(l.attrs[i].size, (uint64_t)(k % 7));
	}
	free(seen);
	listing_free(&l);
}

/*
 * Regression test (fixed in b6e3a4f): the walk for "" used to dup() the
 * root fd, which shares the directory offset with it, so after the first
 * LIST "" every later one in the same server process came back empty.
 */
static void test_list_root_twice(void **state)
{
	struct fx *f = *state;
	struct listing l;
	make_tree(f);
	hello(f);
	list(f, "", &l);
	check_root_listing(&l);
	listing_free(&l);
	list(f, "", &l);
	check_root_listing(&l);
	listing_free(&l);
}

/* --- nb_session_run over a stream --- */

struct input {
	const uint8_t *data;
	size_t len, pos;
};

static ssize_t input_read(void *ctx, void *buf, size_t n)
{
	struct input *in = ctx;
	size_t k = in->len - in->pos;
	if (k > n)
		k = n;
	if (k > 7)
		k = 7; /* odd-sized pieces */
	memcpy(buf, in->data + in->pos, k);
	in->pos += k;
	return (ssize_t)k;
}

static void test_run(void **state)
{
	struct fx *f = *state;
	struct nb_buf *all = tu_buf(1 << 20);
	assert_int_equal(nb_proto_hello_encode(f->req, 1, "runner"), 0);
	assert_int_equal(nb_buf_put(all, nb_buf_ptr(f->req), nb_buf_len(f->req)), 0);
	assert_int_equal(nb_proto_mkdir_encode(f->req, "made", 0755), 0);
	assert_int_equal(nb_buf_put(all, nb_buf_ptr(f->req), nb_buf_len(f->req)), 0);
	assert_int_equal(nb_proto_path_encode(f->req, NB_MSG_STAT, "made"), 0);
	assert_int_equal(nb_buf_put(all, nb_buf_ptr(f->req), nb_buf_len(f->req)), 0);

	struct input in = {nb_buf_ptr(all), nb_buf_len(all), 0};
	struct nb_stream s = {.read = input_read, .ctx = &in};
	struct nb_frame_reader fr;
	assert_int_equal(nb_frame_reader_init(&fr, &s), 0);
	assert_int_equal(nb_session_run(&f->s, &fr), 0); /* clean EOF */
	nb_frame_reader_free(&fr);
	assert_int_equal(next_reply(f), NB_MSG_HELLO);
	expect_ok(f);
	assert_int_equal(next_reply(f), NB_MSG_ATTR);
	no_reply(f);
	assert_true(exists(f, "made"));

	/* A frame with a zero length ends the run with an ERROR. */
	static const uint8_t zero[] = {0, 0, 0, 0, 1};
	in = (struct input){zero, sizeof(zero), 0};
	assert_int_equal(nb_frame_reader_init(&fr, &s), 0);
	assert_int_equal(nb_session_run(&f->s, &fr), NB_E_PROTO);
	nb_frame_reader_free(&fr);
	assert_int_equal(next_reply(f), NB_MSG_ERROR);
	no_reply(f);

	/* An oversized frame too, before any of its body arrives. */
	static const uint8_t huge[] = {0x7f, 0xff, 0xff, 0xff, 1};
	in = (struct input){huge, sizeof(huge), 0};
	assert_int_equal(nb_frame_reader_init(&fr, &s), 0);
	assert_int_equal(nb_session_run(&f->s, &fr), NB_E_TOOBIG);
	nb_frame_reader_free(&fr);
	assert_int_equal(next_reply(f), NB_MSG_ERROR);
	no_reply(f);

	/* The stream ends inside a frame. */
	assert_int_equal(nb_proto_path_encode(f->req, NB_MSG_STAT, "made"), 0);
	in = (struct input){nb_buf_ptr(f->req), nb_buf_len(f->req) - 1, 0};
	assert_int_equal(nb_frame_reader_init(&fr, &s), 0);
	assert_int_equal(nb_session_run(&f->s, &fr), NB_E_PROTO);
	nb_frame_reader_free(&fr);
	nb_buf_free(all);
}


/* --- namespace requests added for the queue: unlink, rmdir, rename,
 * symlink --- */

static int req_path2(struct fx *f, uint8_t type, const char *a, const char *b)
{
	assert_int_equal(nb_proto_path2_encode(f->req, type, a, b), 0);
	return handle(f);
}

static void test_namespace_ops(void **state)
{
	struct fx *f = *state;
	hello(f);
	assert_int_equal(tu_write_file(at(f, "a.txt"), "A", 1), 0);
	assert_int_equal(mkdir(at(f, "d"), 0755), 0);
	/* rename a file into a directory that does not exist yet */
	assert_int_equal(req_path2(f, NB_MSG_RENAME, "a.txt", "new/dir/b.txt"), 0);
	expect_ok(f);
	assert_false(exists(f, "a.txt"));
	assert_true(exists(f, "new/dir/b.txt"));
	/* rename of a missing source is ENOENT (the client treats it as done) */
	assert_int_equal(req_path2(f, NB_MSG_RENAME, "a.txt", "c.txt"), 0);
	expect_error(f, ENOENT);
	/* symlink, replacing a file */
	assert_int_equal(req_path2(f, NB_MSG_SYMLINK, "new/dir/b.txt", "../../d"), 0);
	expect_ok(f);
	char buf[64];
	ssize_t n = readlink(at(f, "new/dir/b.txt"), buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = 0;
	assert_string_equal(buf, "../../d");
	/* no scratch symlink left behind */
	assert_int_equal(tu_count_entries(at(f, ".nbfs/partial")), 0);
	/* STAT reports the target, without following it */
	assert_int_equal(req_path(f, NB_MSG_STAT, "new/dir/b.txt"), 0);
	assert_int_equal(next_reply(f), NB_MSG_ATTR);
	struct nb_attr a;
	assert_int_equal(nb_proto_attr_decode(f->reply, &a), 0);
	assert_true(S_ISLNK(a.mode));
	assert_string_equal(a.link, "../../d");
	nb_attr_free(&a);
	/* unlink removes the symlink, not its target */
	assert_int_equal(req_path(f, NB_MSG_UNLINK, "new/dir/b.txt"), 0);
	expect_ok(f);
	assert_false(exists(f, "new/dir/b.txt"));
	assert_true(exists(f, "d"));
	/* rmdir: not empty, then empty, then a file */
	assert_int_equal(tu_write_file(at(f, "d/x"), "x", 1), 0);
	assert_int_equal(req_path(f, NB_MSG_RMDIR, "d"), 0);
	expect_error(f, ENOTEMPTY);
	assert_int_equal(req_path(f, NB_MSG_UNLINK, "d/x"), 0);
	expect_ok(f);
	assert_int_equal(req_path(f, NB_MSG_RMDIR, "d"), 0);
	expect_ok(f);
	assert_false(exists(f, "d"));
	assert_int_equal(req_path(f, NB_MSG_UNLINK, "d"), 0);
	expect_error(f, ENOENT);
	/* none of them reaches the reserved directory or outside */
	assert_int_equal(req_path(f, NB_MSG_UNLINK, ".nbfs/partial"), 0);
	expect_error(f, EPERM);
	assert_int_equal(req_path2(f, NB_MSG_RENAME, "new", "../escaped"), 0);
	expect_error(f, EINVAL);
	assert_true(exists(f, "new"));
	no_reply(f);
}

/* A planted symlink on the way is never followed by any of them. */
static void test_namespace_ops_confined(void **state)
{
	struct fx *f = *state;
	hello(f);
	f->extra_dir = tu_mkdtemp("outside");
	char *victim = tu_join(f->extra_dir, "victim");
	assert_int_equal(tu_write_file(victim, "keep", 4), 0);
	assert_int_equal(symlink(f->extra_dir, at(f, "evil")), 0);
	assert_int_equal(req_path(f, NB_MSG_UNLINK, "evil/victim"), 0);
	expect_error(f, ENOTDIR);
	assert_int_equal(req_path2(f, NB_MSG_RENAME, "evil/victim", "stolen"), 0);
	expect_error(f, ENOTDIR);
	assert_int_equal(req_path2(f, NB_MSG_SYMLINK, "evil/planted", "/etc/passwd"), 0);
	expect_error(f, ENOTDIR);
	assert_int_equal(tu_write_file(at(f, "mine"), "m", 1), 0);
	assert_int_equal(req_path2(f, NB_MSG_RENAME, "mine", "evil/mine"), 0);
	expect_error(f, ENOTDIR);
	assert_int_equal(tu_count_entries(f->extra_dir), 1);
	assert_true(access(victim, F_OK) == 0);
	free(victim);
	no_reply(f);
}

/* --- GET --- */

struct got {
	struct nb_get_info info;
	uint8_t *data;
	size_t n;
};

/* Send GET and collect GET_INFO, GET_DATA... up to the final reply;
 * returns that reply's type (OK or ERROR). */
static uint8_t get(struct fx *f, const char *path, uint64_t offset, const uint8_t *expect,
		   struct got *g)
{
	struct nb_get m = {.path = (char *)path, .offset = offset, .has_expect = expect != NULL};
	if (expect)
		memcpy(m.expect, expect, NB_MD5_LEN);
	memset(g, 0, sizeof(*g));
	assert_int_equal(nb_proto_get_encode(f->req, &m), 0);
	assert_int_equal(handle(f), 0);
	uint8_t t = next_reply(f);
	if (t != NB_MSG_GET_INFO)
		return t;
	assert_int_equal(nb_proto_get_info_decode(f->reply, &g->info), 0);
	nb_attr_free(&g->info.attr);
	g->data = malloc(g->info.attr.size + 1);
	uint64_t next = g->info.start;
	for (;;) {
		t = next_reply(f);
		if (t != NB_MSG_GET_DATA)
			break;
		uint64_t off;
		const uint8_t *d;
		size_t n;
		assert_int_equal(nb_proto_get_data_decode(f->reply, &off, &d, &n), 0);
		assert_int_equal(off, next);
		memcpy(g->data + off, d, n);
		next += n;
		g->n += n;
	}
	return t;
}

static void test_get(void **state)
{
	struct fx *f = *state;
	const size_t size = 3 * NB_DATA_CHUNK + 17;
	uint8_t *content = make_content(size, 7), md5[NB_MD5_LEN], other[NB_MD5_LEN];
	struct got g;
	nb_md5_buf(content, size, md5);
	memset(other, 0x5a, sizeof(other));
	hello(f);
	assert_int_equal(tu_write_file(at(f, "big.bin"), content, size), 0);
	/* from the start */
	assert_int_equal(get(f, "big.bin", 0, NULL, &g), NB_MSG_OK);
	assert_memory_equal(g.info.md5, md5, NB_MD5_LEN);
	assert_int_equal(g.info.start, 0);
	assert_int_equal(g.n, size);
	assert_memory_equal(g.data, content, size);
	free(g.data);
	/* resumed: the client holds a prefix of this very content */
	assert_int_equal(get(f, "big.bin", 1000, md5, &g), NB_MSG_OK);
	assert_int_equal(g.info.start, 1000);
	assert_int_equal(g.n, size - 1000);
	assert_memory_equal(g.data + 1000, content + 1000, size - 1000);
	free(g.data);
	/* the client's prefix belongs to other content: from zero */
	assert_int_equal(get(f, "big.bin", 1000, other, &g), NB_MSG_OK);
	assert_int_equal(g.info.start, 0);
	assert_int_equal(g.n, size);
	free(g.data);
	/* an offset past the end is not trusted either */
	assert_int_equal(get(f, "big.bin", size + 1, md5, &g), NB_MSG_OK);
	assert_int_equal(g.info.start, 0);
	free(g.data);
	/* not a regular file; missing; outside */
	assert_int_equal(mkdir(at(f, "dir"), 0755), 0);
	assert_int_equal(symlink("big.bin", at(f, "link")), 0);
	assert_int_equal(get(f, "dir", 0, NULL, &g), NB_MSG_ERROR);
	assert_int_equal(get(f, "link", 0, NULL, &g), NB_MSG_ERROR);
	assert_int_equal(get(f, "nope", 0, NULL, &g), NB_MSG_ERROR);
	assert_int_equal(get(f, "../x", 0, NULL, &g), NB_MSG_ERROR);
	free(content);
	no_reply(f);
}

/* --- conflicts: the base version in PUT_OPEN --- */

static int put_open_base(struct fx *f, const char *path, const void *data, size_t n, int kind,
			 uint64_t bsize, int64_t bmtime)
{
	struct nb_put_open m = {
		.path = (char *)path,
		.size = n,
		.mode = 0644,
		.mtime_s = 1000,
		.base_kind = (uint8_t)kind,
		.base_size = bsize,
		.base_mtime_s = bmtime,
	};
	nb_md5_buf(data, n, m.md5);
	assert_int_equal(nb_proto_put_open_encode(f->req, &m), 0);
	return handle(f);
}

static void test_conflict_base(void **state)
{
	struct fx *f = *state;
	hello(f);
	/* The server holds "theirs" (6 bytes, mtime 5000). */
	assert_int_equal(tu_write_file(at(f, "f.txt"), "theirs", 6), 0);
	struct timespec ts[2] = {{5000, 0}, {5000, 0}};
	assert_int_equal(utimensat(AT_FDCWD, at(f, "f.txt"), ts, 0), 0);
	/* a new file where one exists: conflict */
	assert_int_equal(put_open_base(f, "f.txt", "mine", 4, NB_BASE_ABSENT, 0, 0), 0);
	expect_error(f, EEXIST);
	/* based on another version: conflict */
	assert_int_equal(put_open_base(f, "f.txt", "mine", 4, NB_BASE_MATCH, 6, 4999), 0);
	expect_error(f, EEXIST);
	size_t len = 0;
	char *cur = tu_read_file(at(f, "f.txt"), &len);
	assert_non_null(cur);
	assert_int_equal(len, 6);
	free(cur);
	/* based on exactly this version: goes through */
	assert_int_equal(put_open_base(f, "f.txt", "mine", 4, NB_BASE_MATCH, 6, 5000), 0);
	expect_offer(f, "mine", 0);
	put_data(f, (const uint8_t *)"mine", 0, 4);
	/* ...unless it changes again before publishing */
	assert_int_equal(tu_write_file(at(f, "f.txt"), "again!", 6), 0);
	assert_int_equal(put_end(f), 0);
	expect_error(f, EEXIST);
	/* the partial is kept for publishing under another name */
	assert_int_equal(put_open_base(f, "f.conflict.txt", "mine", 4, NB_BASE_ABSENT, 0, 0), 0);
	expect_offer(f, "mine", 4);
	assert_int_equal(put_end(f), 0);
	expect_ok(f);
	char *text = tu_read_file(at(f, "f.conflict.txt"), &len);
	assert_non_null(text);
	assert_int_equal(len, 4);
	assert_memory_equal(text, "mine", 4);
	free(text);
	/* a missing file is no conflict (deleted on the server meanwhile) */
	assert_int_equal(put_open_base(f, "gone.txt", "x", 1, NB_BASE_MATCH, 9, 9), 0);
	expect_offer(f, "x", 0);
	assert_int_equal(put_abort(f, 1), 0);
	expect_ok(f);
	no_reply(f);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_hello_first),
		T(test_hello),
		T(test_hello_bad),
		T(test_regress_violation_errno),
		T(test_output_failure),
		T(test_stat),
		T(test_mkdir),
		T(test_upload),
		T(test_regress_identical_upload_keeps_old_mtime),
		T(test_upload_empty_file),
		T(test_upload_resume_after_abort),
		T(test_upload_resume_next_session),
		T(test_upload_wrong_md5),
		T(test_upload_short),
		T(test_upload_put_fail),
		T(test_upload_busy),
		T(test_upload_refused_targets),
		T(test_upload_frames_out_of_place),
		T(test_upload_nested_open),
		T(test_unknown_type),
		T(test_list),
		T(test_list_many),
		T(test_list_root_twice),
		T(test_run),
		T(test_namespace_ops),
		T(test_namespace_ops_confined),
		T(test_get),
		T(test_conflict_base),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
