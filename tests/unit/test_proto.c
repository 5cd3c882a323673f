/* Unit tests for wire/proto.c: every message's encoder and decoder. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "wire/buf.h"
#include "wire/err.h"
#include "wire/frame.h"
#include "wire/pathname.h"
#include "wire/proto.h"
#include "testutil.h"

#define TX_MAX (NB_FRAME_MAX + NB_FRAME_HDR)

/* Take the one frame in `frame` apart: check its type and return its
 * payload in a new buffer the caller frees. */
static struct nb_buf *unframe(struct nb_buf *frame, uint8_t want_type)
{
	uint8_t type = 0;
	struct nb_buf *payload = tu_buf(NB_FRAME_MAX);
	assert_int_equal(nb_frame_parse(frame, &type, payload), 0);
	assert_int_equal(type, want_type);
	assert_int_equal(nb_buf_len(frame), 0);
	return payload;
}

/* The request id every test frame carries. */
#define ID 0x5eed0a01u

/* unframe, for every message but HELLO: also take the request id off
 * the payload and check it. */
static struct nb_buf *unframe_id(struct nb_buf *frame, uint8_t want_type, uint32_t want_id)
{
	struct nb_buf *payload = unframe(frame, want_type);
	uint32_t id = 0;
	assert_int_equal(nb_proto_id_decode(payload, &id), 0);
	assert_int_equal(id, want_id);
	return payload;
}

/* Raw bytes in a new buffer the caller frees. */
static struct nb_buf *load(const void *bytes, size_t n)
{
	struct nb_buf *b = tu_buf(NB_FRAME_MAX);
	assert_int_equal(nb_buf_put(b, bytes, n), 0);
	return b;
}

/* Decoders wrapped to a common shape: decode, check that a failure
 * handed back nothing allocated, free a success. */
typedef int (*decoder)(struct nb_buf *p);

static int dec_hello(struct nb_buf *p)
{
	struct nb_hello m;
	int r = nb_proto_hello_decode(p, &m);
	if (r == 0)
		nb_proto_hello_free(&m);
	else
		assert_null(m.software);
	return r;
}

static int dec_error(struct nb_buf *p)
{
	struct nb_error m;
	int r = nb_proto_error_decode(p, &m);
	if (r == 0)
		nb_proto_error_free(&m);
	else
		assert_null(m.text);
	return r;
}

static int dec_path(struct nb_buf *p)
{
	char *path = NULL;
	int r = nb_proto_path_decode(p, &path);
	if (r != 0)
		assert_null(path);
	free(path);
	return r;
}

static int dec_mkdir(struct nb_buf *p)
{
	char *path = NULL;
	uint32_t mode;
	int r = nb_proto_mkdir_decode(p, &path, &mode);
	if (r != 0)
		assert_null(path);
	free(path);
	return r;
}

static int dec_settime(struct nb_buf *p)
{
	char *path = NULL;
	int64_t sec;
	uint32_t nsec;
	int r = nb_proto_settime_decode(p, &path, &sec, &nsec);
	if (r != 0)
		assert_null(path);
	free(path);
	return r;
}

static int dec_unlink_if(struct nb_buf *p)
{
	struct nb_unlink_if m = {0};
	int r = nb_proto_unlink_if_decode(p, &m);
	if (r != 0)
		assert_null(m.path);
	free(m.path);
	return r;
}

static int dec_attr(struct nb_buf *p)
{
	struct nb_attr a;
	return nb_proto_attr_decode(p, &a);
}

static int dec_dirents(struct nb_buf *p)
{
	struct nb_dirents m;
	int r = nb_proto_dirents_decode(p, &m);
	if (r == 0) {
		nb_proto_dirents_free(&m);
	} else {
		assert_null(m.ents);
		assert_int_equal(m.count, 0);
	}
	return r;
}

static int dec_put_open(struct nb_buf *p)
{
	struct nb_put_open m;
	int r = nb_proto_put_open_decode(p, &m);
	if (r == 0)
		nb_proto_put_open_free(&m);
	else
		assert_null(m.path);
	return r;
}

static int dec_put_offer(struct nb_buf *p)
{
	struct nb_put_offer m;
	return nb_proto_put_offer_decode(p, &m);
}

static int dec_put_data(struct nb_buf *p)
{
	uint64_t off;
	const uint8_t *data;
	size_t n;
	return nb_proto_put_data_decode(p, &off, &data, &n);
}

static int dec_put_abort(struct nb_buf *p)
{
	int discard;
	return nb_proto_put_abort_decode(p, &discard);
}

/* The good payload decodes; every proper prefix is NB_E_SHORT; one
 * extra byte is NB_E_PROTO. */
static void check_malformed(const struct nb_buf *good, decoder dec)
{
	const uint8_t *g = nb_buf_ptr(good);
	size_t n = nb_buf_len(good);
	struct nb_buf *b;
	b = load(g, n);
	assert_int_equal(dec(b), 0);
	nb_buf_free(b);
	for (size_t k = 0; k < n; k++) {
		b = load(g, k);
		int r = dec(b);
		if (r != NB_E_SHORT)
			fail_msg("prefix of %zu/%zu bytes: got %d, want NB_E_SHORT", k, n, r);
		nb_buf_free(b);
	}
	static const uint8_t extras[] = {0x00, 0x01, 0xff};
	for (size_t i = 0; i < sizeof(extras); i++) {
		b = load(g, n);
		assert_int_equal(nb_buf_put_u8(b, extras[i]), 0);
		assert_int_equal(dec(b), NB_E_PROTO);
		nb_buf_free(b);
	}
}

static void put_attr_raw(struct nb_buf *b, uint32_t mode, uint64_t size, int64_t s, uint32_t ns)
{
	assert_int_equal(nb_buf_put_u32(b, mode), 0);
	assert_int_equal(nb_buf_put_u64(b, size), 0);
	assert_int_equal(nb_buf_put_i64(b, s), 0);
	assert_int_equal(nb_buf_put_u32(b, ns), 0);
	assert_int_equal(nb_buf_put_cstr(b, ""), 0); /* no symlink target */
}

static void test_msg_names(void **state)
{
	(void)state;
	assert_string_equal(nb_msg_name(NB_MSG_HELLO), "HELLO");
	assert_string_equal(nb_msg_name(NB_MSG_PUT_FAIL), "PUT_FAIL");
	assert_string_equal(nb_msg_name(NB_MSG_PUT_ABORT), "PUT_ABORT");
	assert_string_equal(nb_msg_name(NB_MSG_LIST), "LIST");
	assert_string_equal(nb_msg_name(NB_MSG_SYMLINK_NEW), "SYMLINK_NEW");
	assert_string_equal(nb_msg_name(0), "?");
	assert_string_equal(nb_msg_name(255), "?");
}

static void test_hello(void **state)
{
	(void)state;
	struct nb_buf *f, *p;
	struct nb_hello m;
	f = tu_buf(TX_MAX);
	assert_int_equal(nb_proto_hello_encode(f, 7, "nbfs-test 1.2"), 0);
	/* exact wire bytes */
	static const uint8_t want[] = {0, 0, 0, 30, NB_MSG_HELLO, 0, 0, 0, 4, 'n', 'b', 'f', 's',
				       0, 0, 0, 7, 0, 0, 0, 13, 'n', 'b', 'f', 's', '-', 't',
				       'e', 's', 't', ' ', '1', '.', '2'};
	assert_int_equal(nb_buf_len(f), sizeof(want));
	assert_memory_equal(nb_buf_ptr(f), want, sizeof(want));
	p = unframe(f, NB_MSG_HELLO);
	check_malformed(p, dec_hello);
	assert_int_equal(nb_proto_hello_decode(p, &m), 0);
	assert_int_equal(m.version, 7);
	assert_string_equal(m.software, "nbfs-test 1.2");
	nb_proto_hello_free(&m);
	assert_null(m.software);
	nb_buf_free(p);

	/* Software text is cut to NB_SOFTWARE_MAX on the way out. */
	char longsw[300];
	memset(longsw, 's', sizeof(longsw) - 1);
	longsw[sizeof(longsw) - 1] = 0;
	assert_int_equal(nb_proto_hello_encode(f, 1, longsw), 0);
	p = unframe(f, NB_MSG_HELLO);
	assert_int_equal(nb_proto_hello_decode(p, &m), 0);
	assert_int_equal(strlen(m.software), NB_SOFTWARE_MAX);
	nb_proto_hello_free(&m);
	nb_buf_free(p);
	nb_buf_free(f);
}

static void test_hello_invalid(void **state)
{
	(void)state;
	struct nb_buf *p;
	/* wrong magic */
	p = tu_buf(1024);
	assert_int_equal(nb_buf_put_cstr(p, "nbfx"), 0);
	assert_int_equal(nb_buf_put_u32(p, 1), 0);
	assert_int_equal(nb_buf_put_cstr(p, "x"), 0);
	assert_int_equal(dec_hello(p), NB_E_PROTO);
	nb_buf_free(p);
	/* magic with a suffix */
	p = tu_buf(1024);
	assert_int_equal(nb_buf_put_cstr(p, "nbfs2"), 0);
	assert_int_equal(nb_buf_put_u32(p, 1), 0);
	assert_int_equal(nb_buf_put_cstr(p, "x"), 0);
	assert_int_equal(dec_hello(p), NB_E_PROTO);
	nb_buf_free(p);
	/* software over the cap from a peer that does not cut it */
	char longsw[NB_SOFTWARE_MAX + 2];
	memset(longsw, 's', NB_SOFTWARE_MAX + 1);
	longsw[NB_SOFTWARE_MAX + 1] = 0;
	p = tu_buf(1024);
	assert_int_equal(nb_buf_put_cstr(p, "nbfs"), 0);
	assert_int_equal(nb_buf_put_u32(p, 1), 0);
	assert_int_equal(nb_buf_put_cstr(p, longsw), 0);
	assert_int_equal(dec_hello(p), NB_E_TOOBIG);
	nb_buf_free(p);
	/* NUL inside the software string */
	p = tu_buf(1024);
	assert_int_equal(nb_buf_put_cstr(p, "nbfs"), 0);
	assert_int_equal(nb_buf_put_u32(p, 1), 0);
	assert_int_equal(nb_buf_put_str(p, "a\0b", 3), 0);
	assert_int_equal(dec_hello(p), NB_E_PROTO);
	nb_buf_free(p);
}

static void test_ok_and_end(void **state)
{
	(void)state;
	struct nb_buf *f, *p;
	f = tu_buf(TX_MAX);
	assert_int_equal(nb_proto_ok_encode(f, ID), 0);
	assert_int_equal(nb_buf_len(f), 9);
	assert_memory_equal(nb_buf_ptr(f), "\0\0\0\x05\x02\x5e\xed\x0a\x01", 9);
	p = unframe_id(f, NB_MSG_OK, ID);
	assert_int_equal(nb_proto_empty_decode(p), 0);
	assert_int_equal(nb_buf_put_u8(p, 0), 0);
	assert_int_equal(nb_proto_empty_decode(p), NB_E_PROTO);
	nb_buf_free(p);
	assert_int_equal(nb_proto_put_end_encode(f, ID), 0);
	p = unframe_id(f, NB_MSG_PUT_END, ID);
	assert_int_equal(nb_proto_empty_decode(p), 0);
	nb_buf_free(p);
	nb_buf_free(f);
}

static void test_error(void **state)
{
	(void)state;
	struct nb_buf *f, *p;
	struct nb_error m;
	f = tu_buf(TX_MAX);
	assert_int_equal(nb_proto_error_encode(f, ID, NB_MSG_ERROR, ENOENT, "a: no such file"), 0);
	p = unframe_id(f, NB_MSG_ERROR, ID);
	check_malformed(p, dec_error);
	assert_int_equal(nb_proto_error_decode(p, &m), 0);
	assert_int_equal(m.code, ENOENT);
	assert_string_equal(m.text, "a: no such file");
	nb_proto_error_free(&m);
	assert_null(m.text);
	nb_buf_free(p);

	/* PUT_FAIL shares the payload */
	assert_int_equal(nb_proto_error_encode(f, ID, NB_MSG_PUT_FAIL, EFBIG, ""), 0);
	p = unframe_id(f, NB_MSG_PUT_FAIL, ID);
	assert_int_equal(nb_proto_error_decode(p, &m), 0);
	assert_int_equal(m.code, EFBIG);
	assert_string_equal(m.text, "");
	nb_proto_error_free(&m);
	nb_buf_free(p);

	/* Implausible errno values become EIO; the largest errno passes. */
	static const struct { uint32_t in, out; } codes[] = {
		{0, EIO}, {4095, 4095}, {4096, EIO}, {9999, EIO}, {0xffffffffu, EIO}, {1, 1}};
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		assert_int_equal(nb_proto_error_encode(f, ID, NB_MSG_ERROR, codes[i].in, "t"), 0);
		p = unframe_id(f, NB_MSG_ERROR, ID);
		assert_int_equal(nb_proto_error_decode(p, &m), 0);
		assert_int_equal(m.code, codes[i].out);
		nb_proto_error_free(&m);
		nb_buf_free(p);
	}

	/* Text is cut to NB_ERRTEXT_MAX on the way out ... */
	char *longtext = malloc(3000);
	memset(longtext, 'e', 2999);
	longtext[2999] = 0;
	assert_int_equal(nb_proto_error_encode(f, ID, NB_MSG_ERROR, 5, longtext), 0);
	p = unframe_id(f, NB_MSG_ERROR, ID);
	assert_int_equal(nb_proto_error_decode(p, &m), 0);
	assert_int_equal(strlen(m.text), NB_ERRTEXT_MAX);
	nb_proto_error_free(&m);
	nb_buf_free(p);
	/* ... and refused over it on the way in. */
	p = tu_buf(NB_FRAME_MAX);
	assert_int_equal(nb_buf_put_u32(p, 5), 0);
	assert_int_equal(nb_buf_put_str(p, longtext, NB_ERRTEXT_MAX + 1), 0);
	assert_int_equal(dec_error(p), NB_E_TOOBIG);
	nb_buf_free(p);
	free(longtext);
	nb_buf_free(f);
}

static void test_wire_errno(void **state)
{
	(void)state;
	static const struct { int in; uint32_t out; } cases[] = {
		{-ENOENT, ENOENT},
		{-EACCES, EACCES},
		{-ENOSPC, ENOSPC},
		{-EEXIST, EEXIST},
		{-4095, 4095},		/* the largest errno travels */
		{-4096, EPROTO},	/* beyond it, not an errno */
		{NB_E_BUSY, EBUSY},
		{NB_E_MD5, EBADMSG},
		{NB_E_TOOBIG, ENAMETOOLONG},
		{NB_E_PROTO, EPROTO},
		{NB_E_SHORT, EPROTO},
		{NB_E_CHANGED, EPROTO},
		{NB_E_LAST, EPROTO},
		{0, EPROTO},		/* not a failure: still never 0 on the wire */
		{5, EPROTO},
		{INT_MIN, EPROTO},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t got = nb_proto_wire_errno(cases[i].in);
		if (got != cases[i].out)
			fail_msg("case %zu (%d): got %u, want %u", i, cases[i].in, got,
				 cases[i].out);
	}

	/* Every project code maps to a code the client's decoder keeps as
	 * it is (it turns implausible ones into EIO). */
	struct nb_buf *f, *p;
	struct nb_error m;
	f = tu_buf(TX_MAX);
	for (int r = NB_E_BASE + 1; r < NB_E_LAST; r++) {
		uint32_t code = nb_proto_wire_errno(r);
		assert_int_equal(nb_proto_error_encode(f, ID, NB_MSG_ERROR, code, "t"), 0);
		p = unframe_id(f, NB_MSG_ERROR, ID);
		assert_int_equal(nb_proto_error_decode(p, &m), 0);
		if (m.code != code)
			fail_msg("code %d: sent %u, decoded %u", r, code, m.code);
		nb_proto_error_free(&m);
		nb_buf_free(p);
	}
	nb_buf_free(f);
}

static void test_path(void **state)
{
	(void)state;
	struct nb_buf *f, *p;
	char *path = NULL;
	f = tu_buf(TX_MAX);
	static const uint8_t types[] = {NB_MSG_STAT, NB_MSG_LIST};
	for (size_t i = 0; i < sizeof(types); i++) {
		assert_int_equal(nb_proto_path_encode(f, ID, types[i], "dir/f\xc3\xa9 x"), 0);
		p = unframe_id(f, types[i], ID);
		check_malformed(p, dec_path);
		assert_int_equal(nb_proto_path_decode(p, &path), 0);
		assert_string_equal(path, "dir/f\xc3\xa9 x");
		free(path);
		nb_buf_free(p);
	}
	/* the root is the empty path */
	assert_int_equal(nb_proto_path_encode(f, ID, NB_MSG_LIST, ""), 0);
	p = unframe_id(f, NB_MSG_LIST, ID);
	assert_int_equal(nb_proto_path_decode(p, &path), 0);
	assert_string_equal(path, "");
	free(path);
	nb_buf_free(p);

	/* NB_PATH_MAX bytes pass, one more is TOOBIG */
	char *big = malloc(NB_PATH_MAX + 2);
	memset(big, 'p', NB_PATH_MAX + 1);
	big[NB_PATH_MAX] = 0;
	assert_int_equal(nb_proto_path_encode(f, ID, NB_MSG_STAT, big), 0);
	p = unframe_id(f, NB_MSG_STAT, ID);
	assert_int_equal(dec_path(p), 0);
	nb_buf_free(p);
	big[NB_PATH_MAX] = 'p';
	big[NB_PATH_MAX + 1] = 0;
	assert_int_equal(nb_proto_path_encode(f, ID, NB_MSG_STAT, big), 0);
	p = unframe_id(f, NB_MSG_STAT, ID);
	assert_int_equal(dec_path(p), NB_E_TOOBIG);
	nb_buf_free(p);
	free(big);

	/* NUL inside */
	p = tu_buf(64);
	assert_int_equal(nb_buf_put_str(p, "a\0b", 3), 0);
	assert_int_equal(dec_path(p), NB_E_PROTO);
	nb_buf_free(p);
	nb_buf_free(f);
}

static void test_mkdir(void **state)
{
	(void)state;
	struct nb_buf *f, *p;
	char *path = NULL;
	uint32_t mode = 0;
	f = tu_buf(TX_MAX);
	assert_int_equal(nb_proto_mkdir_encode(f, ID, "a/b", 0750), 0);
	p = unframe_id(f, NB_MSG_MKDIR, ID);
	check_malformed(p, dec_mkdir);
	assert_int_equal(nb_proto_mkdir_decode(p, &path, &mode), 0);
	assert_string_equal(path, "a/b");
	assert_int_equal(mode, 0750);
	free(path);
	nb_buf_free(p);
	nb_buf_free(f);
}

static void test_attr(void **state)
{
	(void)state;
	struct nb_buf *f, *p;
	struct nb_attr in = {S_IFREG | 0644, NB_FILE_SIZE_MAX, -5, 999999999u, NULL}, out;
	f = tu_buf(TX_MAX);
	assert_int_equal(nb_proto_attr_encode(f, ID, &in), 0);
	assert_int_equal(nb_buf_len(f), 5 + 4 + 28);
	p = unframe_id(f, NB_MSG_ATTR, ID);
	check_malformed(p, dec_attr);
	memset(&out, 0, sizeof(out));
	assert_int_equal(nb_proto_attr_decode(p, &out), 0);
	assert_int_equal(out.mode, S_IFREG | 0644);
	assert_true(out.size == NB_FILE_SIZE_MAX);
	assert_true(out.mtime_s == -5);
	assert_int_equal(out.mtime_ns, 999999999u);
	nb_buf_free(p);

	/* a symlink carries its target; anything else may not */
	struct nb_attr sl = {S_IFLNK | 0777, 7, 1, 2, (char *)"../a/b"};
	assert_int_equal(nb_proto_attr_encode(f, ID, &sl), 0);
	p = unframe_id(f, NB_MSG_ATTR, ID);
	memset(&out, 0, sizeof(out));
	assert_int_equal(nb_proto_attr_decode(p, &out), 0);
	assert_non_null(out.link);
	assert_string_equal(out.link, "../a/b");
	nb_attr_free(&out);
	assert_null(out.link);
	nb_buf_free(p);
	p = tu_buf(64);
	assert_int_equal(nb_buf_put_u32(p, S_IFREG | 0644), 0);
	assert_int_equal(nb_buf_put_u64(p, 1), 0);
	assert_int_equal(nb_buf_put_i64(p, 0), 0);
	assert_int_equal(nb_buf_put_u32(p, 0), 0);
	assert_int_equal(nb_buf_put_cstr(p, "target"), 0);
	assert_int_equal(dec_attr(p), NB_E_PROTO);
	nb_buf_free(p);

	/* out-of-range fields */
	p = tu_buf(64);
	put_attr_raw(p, S_IFREG | 0644, 1, 0, 1000000000u);
	assert_int_equal(dec_attr(p), NB_E_PROTO);
	nb_buf_free(p);
	p = tu_buf(64);
	put_attr_raw(p, S_IFREG | 0644, NB_FILE_SIZE_MAX + 1, 0, 0);
	assert_int_equal(dec_attr(p), NB_E_PROTO);
	nb_buf_free(p);
	nb_buf_free(f);
}

/* Paths past PATH_MAX travel (up to NB_PATH_MAX); symlink targets stay
 * within Linux's own limit; the largest requests still fit one frame. */
static void test_long_paths(void **state)
{
	(void)state;
	struct nb_buf *f = tu_buf(TX_MAX), *p;
	char *a = malloc(NB_PATH_MAX + 1), *b = malloc(NB_PATH_MAX + 1);
	assert_non_null(a);
	assert_non_null(b);
	memset(a, 'a', NB_PATH_MAX);
	memset(b, 'b', NB_PATH_MAX);
	a[NB_PATH_MAX] = b[NB_PATH_MAX] = 0;

	/* RENAME of two paths of the largest size */
	assert_int_equal(nb_proto_path2_encode(f, ID, NB_MSG_RENAME, a, b), 0);
	p = unframe_id(f, NB_MSG_RENAME, ID);
	char *x = NULL, *y = NULL;
	assert_int_equal(nb_proto_path2_decode(p, &x, &y), 0);
	assert_string_equal(x, a);
	assert_string_equal(y, b);
	free(x);
	free(y);
	nb_buf_free(p);

	/* PUT_SMALL: the largest path with the largest data */
	struct nb_put_open in = {.path = a, .size = NB_SMALL_MAX, .mode = 0644}, out;
	uint8_t *dst;
	const uint8_t *data;
	assert_int_equal(nb_proto_put_small_reserve(f, ID, &in, &dst), 0);
	memset(dst, 7, NB_SMALL_MAX);
	assert_int_equal(nb_frame_finish(f), 0);
	p = unframe_id(f, NB_MSG_PUT_SMALL, ID);
	assert_int_equal(nb_proto_put_small_decode(p, &out, &data), 0);
	assert_int_equal(strlen(out.path), NB_PATH_MAX);
	nb_proto_put_open_free(&out);
	nb_buf_free(p);

	/* a symlink's target: NB_LINK_MAX passes, one more is TOOBIG */
	a[NB_LINK_MAX] = 0;
	struct nb_attr sl = {S_IFLNK | 0777, NB_LINK_MAX, 1, 2, a}, got;
	assert_int_equal(nb_proto_attr_encode(f, ID, &sl), 0);
	p = unframe_id(f, NB_MSG_ATTR, ID);
	assert_int_equal(nb_proto_attr_decode(p, &got), 0);
	assert_int_equal(strlen(got.link), NB_LINK_MAX);
	nb_attr_free(&got);
	nb_buf_free(p);
	a[NB_LINK_MAX] = 'a';
	a[NB_LINK_MAX + 1] = 0;
	assert_int_equal(nb_proto_attr_encode(f, ID, &sl), 0);
	p = unframe_id(f, NB_MSG_ATTR, ID);
	assert_int_equal(dec_attr(p), NB_E_TOOBIG);
	nb_buf_free(p);
	free(a);
	free(b);
	nb_buf_free(f);
}

static void test_put_open(void **state)
{
	(void)state;
	struct nb_buf *f, *p;
	struct nb_put_open in = {
		.path = (char *)"docs/report.pdf",
		.size = 123456789,
		.mode = 07755,
		.mtime_s = 1700000000,
		.mtime_ns = 123456789,
		.flags = 0,
	}, out;
	for (int i = 0; i < NB_MD5_LEN; i++)
		in.md5[i] = (uint8_t)(0xf0 + i);
	f = tu_buf(TX_MAX);
	assert_int_equal(nb_proto_put_open_encode(f, ID, &in), 0);
	p = unframe_id(f, NB_MSG_PUT_OPEN, ID);
	check_malformed(p, dec_put_open);
	assert_int_equal(nb_proto_put_open_decode(p, &out), 0);
	assert_string_equal(out.path, "docs/report.pdf");
	assert_true(out.size == 123456789);
	assert_memory_equal(out.md5, in.md5, NB_MD5_LEN);
	assert_int_equal(out.mode, 07755);
	assert_true(out.mtime_s == 1700000000);
	assert_int_equal(out.mtime_ns, 123456789);
	assert_int_equal(out.flags, 0);
	nb_proto_put_open_free(&out);
	assert_null(out.path);
	nb_buf_free(p);

	/* Invalid field values are refused (and leak nothing). */
	struct {
		uint64_t size;
		uint32_t mode, ns;
		int want;
	} cases[] = {
		{10, 07777, 0, 0},
		{NB_FILE_SIZE_MAX, 0, 999999999u, 0},
		{10, 010000, 0, NB_E_PROTO},
		{10, S_IFREG | 0644, 0, NB_E_PROTO},
		{10, 0xffffffffu, 0, NB_E_PROTO},
		{10, 0644, 1000000000u, NB_E_PROTO},
		{10, 0644, 0xffffffffu, NB_E_PROTO},
		{NB_FILE_SIZE_MAX + 1, 0644, 0, NB_E_PROTO},
		{UINT64_MAX, 0644, 0, NB_E_PROTO},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		in.size = cases[i].size;
		in.mode = cases[i].mode;
		in.mtime_ns = cases[i].ns;
		assert_int_equal(nb_proto_put_open_encode(f, ID, &in), 0);
		p = unframe_id(f, NB_MSG_PUT_OPEN, ID);
		int r = dec_put_open(p);
		if (r != cases[i].want)
			fail_msg("case %zu: got %d, want %d", i, r, cases[i].want);
		nb_buf_free(p);
	}
	nb_buf_free(f);
}

static void test_put_offer(void **state)
{
	(void)state;
	struct nb_buf *f, *p;
	struct nb_put_offer in = {.offset = 0x0000012345678901ull}, out;
	for (int i = 0; i < NB_MD5_LEN; i++)
		in.prefix_md5[i] = (uint8_t)(i * 17);
	f = tu_buf(TX_MAX);
	assert_int_equal(nb_proto_put_offer_encode(f, ID, &in), 0);
	assert_int_equal(nb_buf_len(f), 5 + 4 + 8 + 16);
	p = unframe_id(f, NB_MSG_PUT_OFFER, ID);
	check_malformed(p, dec_put_offer);
	assert_int_equal(nb_proto_put_offer_decode(p, &out), 0);
	assert_true(out.offset == in.offset);
	assert_memory_equal(out.prefix_md5, in.prefix_md5, NB_MD5_LEN);
	nb_buf_free(p);

	in.offset = NB_FILE_SIZE_MAX + 1;
	assert_int_equal(nb_proto_put_offer_encode(f, ID, &in), 0);
	p = unframe_id(f, NB_MSG_PUT_OFFER, ID);
	assert_int_equal(dec_put_offer(p), NB_E_PROTO);
	nb_buf_free(p);
	nb_buf_free(f);
}

static void test_put_data(void **state)
{
	(void)state;
	struct nb_buf *f, *p;
	uint64_t off = 0;
	const uint8_t *data = NULL;
	size_t n = 0;
	f = tu_buf(TX_MAX);
	assert_int_equal(nb_proto_put_data_encode(f, ID, 4096, "chunk", 5), 0);
	static const uint8_t want[] = {0, 0, 0, 22, NB_MSG_PUT_DATA, 0x5e, 0xed, 0x0a, 0x01,
				       0, 0, 0, 0, 0, 0, 0x10, 0, /* offset 4096 */
				       0, 0, 0, 5, 'c', 'h', 'u', 'n', 'k'};
	assert_int_equal(nb_buf_len(f), sizeof(want));
	assert_memory_equal(nb_buf_ptr(f), want, sizeof(want));
	p = unframe_id(f, NB_MSG_PUT_DATA, ID);
	check_malformed(p, dec_put_data);
	const uint8_t *held = nb_buf_ptr(p); /* the whole payload, before decoding */
	size_t nheld = nb_buf_len(p);
	assert_int_equal(nb_proto_put_data_decode(p, &off, &data, &n), 0);
	assert_true(off == 4096);
	assert_int_equal(n, 5);
	assert_memory_equal(data, "chunk", 5);
	/* data points into the payload buffer, no copy */
	assert_true(data >= held && data + n <= held + nheld);
	nb_buf_free(p);

	/* A whole chunk through the reserve API. */
	uint8_t *dst;
	assert_int_equal(nb_proto_put_data_reserve(f, ID, 7, NB_DATA_CHUNK, &dst), 0);
	for (size_t i = 0; i < NB_DATA_CHUNK; i++)
		dst[i] = (uint8_t)(i ^ (i >> 8));
	assert_int_equal(nb_frame_finish(f), 0);
	p = unframe_id(f, NB_MSG_PUT_DATA, ID);
	assert_int_equal(nb_proto_put_data_decode(p, &off, &data, &n), 0);
	assert_true(off == 7);
	assert_int_equal(n, NB_DATA_CHUNK);
	int ok = 1;
	for (size_t i = 0; i < NB_DATA_CHUNK; i++)
		ok &= data[i] == (uint8_t)(i ^ (i >> 8));
	assert_true(ok);
	nb_buf_free(p);

	/* Empty data is fine. */
	assert_int_equal(nb_proto_put_data_encode(f, ID, 0, NULL, 0), 0);
	p = unframe_id(f, NB_MSG_PUT_DATA, ID);
	assert_int_equal(nb_proto_put_data_decode(p, &off, &data, &n), 0);
	assert_int_equal(n, 0);
	nb_buf_free(p);

	/* Over the chunk cap: refused both ways. */
	assert_int_equal(nb_proto_put_data_reserve(f, ID, 0, NB_DATA_CHUNK + 1, &dst), NB_E_TOOBIG);
	uint8_t *big = calloc(1, NB_DATA_CHUNK + 1);
	assert_int_equal(nb_proto_put_data_encode(f, ID, 0, big, NB_DATA_CHUNK + 1), NB_E_TOOBIG);
	p = tu_buf(NB_FRAME_MAX);
	assert_int_equal(nb_buf_put_u64(p, 0), 0);
	assert_int_equal(nb_buf_put_str(p, big, NB_DATA_CHUNK + 1), 0);
	assert_int_equal(dec_put_data(p), NB_E_TOOBIG);
	nb_buf_free(p);
	free(big);

	/* Offset past any plausible file. */
	assert_int_equal(nb_proto_put_data_encode(f, ID, NB_FILE_SIZE_MAX + 1, "x", 1), 0);
	p = unframe_id(f, NB_MSG_PUT_DATA, ID);
	assert_int_equal(dec_put_data(p), NB_E_PROTO);
	nb_buf_free(p);
	nb_buf_free(f);
}

static void test_put_abort(void **state)
{
	(void)state;
	struct nb_buf *f, *p;
	int discard = -1;
	f = tu_buf(TX_MAX);
	static const struct { int in, out; } cases[] = {{0, 0}, {1, 1}, {42, 1}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(nb_proto_put_abort_encode(f, ID, cases[i].in), 0);
		assert_int_equal(nb_buf_len(f), 10);
		p = unframe_id(f, NB_MSG_PUT_ABORT, ID);
		check_malformed(p, dec_put_abort);
		assert_int_equal(nb_proto_put_abort_decode(p, &discard), 0);
		assert_int_equal(discard, cases[i].out);
		nb_buf_free(p);
	}
	p = tu_buf(8);
	assert_int_equal(nb_buf_put_u8(p, 2), 0);
	assert_int_equal(dec_put_abort(p), NB_E_PROTO);
	nb_buf_free(p);
	nb_buf_free(f);
}

/* --- DIRENTS --- */

static void test_dirents_roundtrip(void **state)
{
	(void)state;
	struct nb_buf *f, *p;
	struct nb_dirents m;
	struct nb_attr a1 = {S_IFREG | 0600, 42, 1600000000, 5, NULL};
	struct nb_attr a2 = {S_IFDIR | 0755, 0, -1, 999999999u, NULL};
	f = tu_buf(TX_MAX);
	assert_int_equal(nb_proto_dirents_begin(f, ID), 0);
	assert_int_equal(nb_proto_dirents_count(f), 0);
	assert_int_equal(nb_proto_dirents_add(f, "file.txt", &a1), 0);
	assert_int_equal(nb_proto_dirents_add(f, "sub dir", &a2), 0);
	assert_int_equal(nb_proto_dirents_count(f), 2);
	assert_int_equal(nb_frame_finish(f), 0);
	p = unframe_id(f, NB_MSG_DIRENTS, ID);
	check_malformed(p, dec_dirents);
	assert_int_equal(nb_proto_dirents_decode(p, &m), 0);
	assert_int_equal(m.count, 2);
	assert_string_equal(m.ents[0].name, "file.txt");
	assert_int_equal(m.ents[0].attr.mode, S_IFREG | 0600);
	assert_true(m.ents[0].attr.size == 42);
	assert_true(m.ents[0].attr.mtime_s == 1600000000);
	assert_int_equal(m.ents[0].attr.mtime_ns, 5);
	assert_string_equal(m.ents[1].name, "sub dir");
	assert_int_equal(m.ents[1].attr.mode, S_IFDIR | 0755);
	assert_true(m.ents[1].attr.mtime_s == -1);
	nb_proto_dirents_free(&m);
	assert_null(m.ents);
	assert_int_equal(m.count, 0);
	nb_buf_free(p);

	/* An empty listing frame decodes to zero entries. */
	assert_int_equal(nb_proto_dirents_begin(f, ID), 0);
	assert_int_equal(nb_frame_finish(f), 0);
	p = unframe_id(f, NB_MSG_DIRENTS, ID);
	assert_int_equal(nb_proto_dirents_decode(p, &m), 0);
	assert_int_equal(m.count, 0);
	nb_proto_dirents_free(&m);
	nb_buf_free(p);
	nb_buf_free(f);
}

/* One DIRENTS payload with a single entry named name[0..n), in a new
 * buffer the caller frees. */
static struct nb_buf *dirents_one(const char *name, size_t n, uint32_t ns)
{
	struct nb_buf *p = tu_buf(NB_FRAME_MAX);
	assert_int_equal(nb_buf_put_u32(p, 1), 0);
	assert_int_equal(nb_buf_put_str(p, name, n), 0);
	put_attr_raw(p, S_IFREG | 0644, 1, 0, ns);
	return p;
}

static void test_dirents_invalid(void **state)
{
	(void)state;
	struct nb_buf *p;
	static const struct { const char *name; size_t n; int want; } cases[] = {
		{"ok", 2, 0},
		{"..", 2, NB_E_PROTO},
		{".", 1, NB_E_PROTO},
		/* an empty name makes the entry shorter than the 33-byte
		 * minimum the count check assumes */
		{"", 0, NB_E_SHORT},
		{"a/b", 3, NB_E_PROTO},
		{"/", 1, NB_E_PROTO},
		{"a\0b", 3, NB_E_PROTO},
		{"...", 3, 0},
		{".nbfs", 5, 0}, /* reserved only as a top-level path, not as a name */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = dirents_one(cases[i].name, cases[i].n, 0);
		int r = dec_dirents(p);
		if (r != cases[i].want)
			fail_msg("name case %zu: got %d, want %d", i, r, cases[i].want);
		nb_buf_free(p);
	}
	/* name length: NB_NAME_MAX passes, one more is TOOBIG */
	char name[NB_NAME_MAX + 1];
	memset(name, 'n', sizeof(name));
	p = dirents_one(name, NB_NAME_MAX, 0);
	assert_int_equal(dec_dirents(p), 0);
	nb_buf_free(p);
	p = dirents_one(name, NB_NAME_MAX + 1, 0);
	assert_int_equal(dec_dirents(p), NB_E_TOOBIG);
	nb_buf_free(p);
	/* bad attribute inside an entry */
	p = dirents_one("x", 1, 1000000000u);
	assert_int_equal(dec_dirents(p), NB_E_PROTO);
	nb_buf_free(p);

	/* count larger than the payload can hold: refused before
	 * allocating for it */
	p = tu_buf(1024);
	assert_int_equal(nb_buf_put_u32(p, 3), 0);
	assert_int_equal(nb_buf_put_cstr(p, "a"), 0);
	put_attr_raw(p, S_IFREG, 1, 0, 0);
	assert_int_equal(dec_dirents(p), NB_E_SHORT);
	nb_buf_free(p);
	/* count over the per-frame cap */
	p = tu_buf(1024);
	assert_int_equal(nb_buf_put_u32(p, NB_DIRENTS_MAX + 1), 0);
	assert_int_equal(dec_dirents(p), NB_E_TOOBIG);
	nb_buf_free(p);
	p = tu_buf(1024);
	assert_int_equal(nb_buf_put_u32(p, 0xffffffffu), 0);
	assert_int_equal(dec_dirents(p), NB_E_TOOBIG);
	nb_buf_free(p);

	/* count 2 that passes the size estimate (a long first name) but
	 * only one entry present: the first entry's name must be freed. */
	p = tu_buf(1024);
	assert_int_equal(nb_buf_put_u32(p, 2), 0);
	assert_int_equal(nb_buf_put_str(p, name, 100), 0);
	put_attr_raw(p, S_IFREG, 1, 0, 0);
	assert_int_equal(dec_dirents(p), NB_E_SHORT);
	nb_buf_free(p);
	/* an empty name that the size estimate does not catch */
	p = tu_buf(1024);
	assert_int_equal(nb_buf_put_u32(p, 2), 0);
	assert_int_equal(nb_buf_put_cstr(p, "good"), 0);
	put_attr_raw(p, S_IFREG, 1, 0, 0);
	assert_int_equal(nb_buf_put_cstr(p, ""), 0);
	put_attr_raw(p, S_IFREG, 1, 0, 0);
	assert_int_equal(nb_buf_put_u32(p, 0), 0); /* padding */
	assert_int_equal(dec_dirents(p), NB_E_PROTO);
	nb_buf_free(p);
	/* second entry invalid after a good first one */
	p = tu_buf(1024);
	assert_int_equal(nb_buf_put_u32(p, 2), 0);
	assert_int_equal(nb_buf_put_cstr(p, "good"), 0);
	put_attr_raw(p, S_IFREG, 1, 0, 0);
	assert_int_equal(nb_buf_put_cstr(p, ".."), 0);
	put_attr_raw(p, S_IFREG, 1, 0, 0);
	assert_int_equal(dec_dirents(p), NB_E_PROTO);
	nb_buf_free(p);
}

/* A failed add (buffer cap hit mid-entry) leaves the frame as it was. */
static void test_dirents_add_atomic(void **state)
{
	(void)state;
	struct nb_buf *f;
	struct nb_attr a = {S_IFREG | 0644, 1, 2, 3, NULL};
	f = tu_buf(64);
	assert_int_equal(nb_proto_dirents_begin(f, ID), 0);
	assert_int_equal(nb_proto_dirents_add(f, "abc", &a), 0); /* 13 + 35 = 48 */
	size_t before = nb_buf_len(f);
	uint8_t copy[64];
	memcpy(copy, nb_buf_ptr(f), before);
	/* name fits (48 + 4 + 10 = 62) but the attr does not */
	assert_int_equal(nb_proto_dirents_add(f, "0123456789", &a), NB_E_TOOBIG);
	assert_int_equal(nb_buf_len(f), before);
	assert_memory_equal(nb_buf_ptr(f), copy, before);
	assert_int_equal(nb_proto_dirents_count(f), 1);
	nb_buf_free(f);
}

static void test_dirents_count_cap(void **state)
{
	(void)state;
	struct nb_buf *f;
	struct nb_attr a = {S_IFREG | 0644, 1, 2, 3, NULL};
	char name[16];
	f = tu_buf(TX_MAX);
	assert_int_equal(nb_proto_dirents_begin(f, ID), 0);
	for (int i = 0; i < NB_DIRENTS_MAX; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		assert_int_equal(nb_proto_dirents_add(f, name, &a), 0);
	}
	size_t len = nb_buf_len(f);
	assert_int_equal(nb_proto_dirents_add(f, "one-too-many", &a), NB_E_TOOBIG);
	assert_int_equal(nb_proto_dirents_count(f), NB_DIRENTS_MAX);
	assert_int_equal(nb_buf_len(f), len);
	nb_buf_free(f);
}

enum { SPLIT_TOTAL = 20000 };

/* The first half short names (frames fill up by count), the second half
 * NB_NAME_MAX-byte names (frames fill up by size). */
static void make_name(size_t i, char *out)
{
	if (i >= SPLIT_TOTAL / 2) {
		char num[32];
		snprintf(num, sizeof(num), "%07zu_", i);
		memset(out, 'a' + (int)(i % 26), NB_NAME_MAX);
		memcpy(out, num, strlen(num));
		out[NB_NAME_MAX] = 0;
	} else {
		snprintf(out, NB_NAME_MAX + 1, "n%zu", i);
	}
}

/* Decode one finished DIRENTS frame and check its names against the
 * sequence, advancing *next. */
static void check_dirents_frame(struct nb_buf *f, size_t *next, size_t *frames)
{
	struct nb_buf *p;
	struct nb_dirents m;
	char want[NB_NAME_MAX + 1];
	assert_int_equal(nb_frame_finish(f), 0);
	uint32_t body;
	assert_int_equal(nb_buf_peek_u32(f, 0, &body), 0);
	assert_true(body <= NB_FRAME_MAX);
	p = unframe_id(f, NB_MSG_DIRENTS, ID);
	assert_int_equal(nb_proto_dirents_decode(p, &m), 0);
	assert_true(m.count > 0 && m.count <= NB_DIRENTS_MAX);
	for (uint32_t i = 0; i < m.count; i++) {
		make_name(*next + i, want);
		assert_string_equal(m.ents[i].name, want);
		assert_true(m.ents[i].attr.size == *next + i);
	}
	*next += m.count;
	(*frames)++;
	nb_proto_dirents_free(&m);
	nb_buf_free(p);
}

/* A listing larger than one frame: add until TOOBIG, send, start the
 * next frame with the entry that did not fit (as the server does). */
static void test_dirents_split(void **state)
{
	(void)state;
	struct nb_buf *f;
	char name[NB_NAME_MAX + 1];
	size_t next = 0, frames = 0, full_by_size = 0, full_by_count = 0;
	f = tu_buf(TX_MAX);
	assert_int_equal(nb_proto_dirents_begin(f, ID), 0);
	for (size_t i = 0; i < SPLIT_TOTAL; i++) {
		struct nb_attr a = {S_IFREG | 0644, i, (int64_t)i, 0, NULL};
		make_name(i, name);
		int r = nb_proto_dirents_add(f, name, &a);
		if (r == NB_E_TOOBIG) {
			int count = nb_proto_dirents_count(f);
			if (count < NB_DIRENTS_MAX) {
				/* Full by size: the frame was filled to within
				 * one entry of the cap. */
				assert_true(nb_buf_len(f) + 4 + strlen(name) + 24 >
					    NB_FRAME_MAX + 4);
				full_by_size++;
			} else {
				full_by_count++;
			}
			check_dirents_frame(f, &next, &frames);
			assert_int_equal(nb_proto_dirents_begin(f, ID), 0);
			r = nb_proto_dirents_add(f, name, &a);
		}
		assert_int_equal(r, 0);
	}
	check_dirents_frame(f, &next, &frames);
	assert_int_equal(next, SPLIT_TOTAL);
	/* Frames 1-2: 4096 short names each (full by count); frame 3: the
	 * last 1808 short names and 2288 long ones (full by count); frames
	 * 4-5: (NB_FRAME_MAX - 9) / 283 = 3708 long ones each (full by
	 * size); frame 6: the remaining 296. */
	assert_int_equal(full_by_count, 3);
	assert_int_equal(full_by_size, 2);
	assert_int_equal(frames, 6);
	nb_buf_free(f);
}

/* --- protocol 2: ids, refusal, PUT_SMALL, PING, GET --- */

static int dec_put_small(struct nb_buf *p)
{
	struct nb_put_open m;
	const uint8_t *data = NULL;
	int r = nb_proto_put_small_decode(p, &m, &data);
	if (r == 0)
		nb_proto_put_open_free(&m);
	else
		assert_null(m.path);
	return r;
}

static int dec_get(struct nb_buf *p)
{
	struct nb_get m;
	int r = nb_proto_get_decode(p, &m);
	if (r == 0)
		nb_proto_get_free(&m);
	else
		assert_null(m.path);
	return r;
}

static int dec_get_info(struct nb_buf *p)
{
	struct nb_get_info m;
	int r = nb_proto_get_info_decode(p, &m);
	if (r == 0)
		nb_attr_free(&m.attr);
	return r;
}

static int dec_get_data(struct nb_buf *p)
{
	uint64_t off;
	const uint8_t *data;
	size_t n;
	return nb_proto_get_data_decode(p, &off, &data, &n);
}

/* The id is the u32 right after the type, whatever the message; any
 * value goes through; a payload too short for it is NB_E_SHORT. */
static void test_request_ids(void **state)
{
	(void)state;
	static const uint32_t ids[] = {0, 1, 0x7fffffffu, 0xffffffffu};
	struct nb_buf *f = tu_buf(TX_MAX), *p;
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		uint32_t id = ids[i];
		assert_int_equal(nb_proto_ok_encode(f, id), 0);
		nb_buf_free(unframe_id(f, NB_MSG_OK, id));
		assert_int_equal(nb_proto_ping_encode(f, id), 0);
		nb_buf_free(unframe_id(f, NB_MSG_PING, id));
		assert_int_equal(nb_proto_path_encode(f, id, NB_MSG_UNLINK, "x"), 0);
		nb_buf_free(unframe_id(f, NB_MSG_UNLINK, id));
		assert_int_equal(nb_proto_path2_encode(f, id, NB_MSG_RENAME, "a", "b"), 0);
		nb_buf_free(unframe_id(f, NB_MSG_RENAME, id));
		assert_int_equal(nb_proto_error_encode(f, id, NB_MSG_PUT_FAIL, ENOSPC, "t"), 0);
		nb_buf_free(unframe_id(f, NB_MSG_PUT_FAIL, id));
		assert_int_equal(nb_proto_put_end_encode(f, id), 0);
		nb_buf_free(unframe_id(f, NB_MSG_PUT_END, id));
	}
	uint32_t id = 0;
	for (size_t n = 0; n < 4; n++) {
		p = load("\1\2\3", n);
		assert_int_equal(nb_proto_id_decode(p, &id), NB_E_SHORT);
		assert_int_equal(nb_buf_len(p), n); /* nothing consumed */
		nb_buf_free(p);
	}
	nb_buf_free(f);
}

/* The answer to a HELLO that is not served: an ERROR without an id,
 * exactly as a protocol-1 peer reads it. */
static void test_refuse(void **state)
{
	(void)state;
	struct nb_buf *f = tu_buf(TX_MAX), *p;
	struct nb_error m;
	assert_int_equal(nb_proto_refuse_encode(f, EPROTONOSUPPORT, "upgrade"), 0);
	static const uint8_t want[] = {0, 0, 0, 16, NB_MSG_ERROR, 0, 0, 0, EPROTONOSUPPORT,
				       0, 0, 0, 7, 'u', 'p', 'g', 'r', 'a', 'd', 'e'};
	assert_int_equal(nb_buf_len(f), sizeof(want));
	assert_memory_equal(nb_buf_ptr(f), want, sizeof(want));
	p = unframe(f, NB_MSG_ERROR);
	check_malformed(p, dec_error);
	assert_int_equal(nb_proto_error_decode(p, &m), 0);
	assert_int_equal(m.code, EPROTONOSUPPORT);
	assert_string_equal(m.text, "upgrade");
	nb_proto_error_free(&m);
	nb_buf_free(p);
	/* the text is cut to its cap like any error's */
	char *longtext = malloc(NB_ERRTEXT_MAX + 100);
	memset(longtext, 'r', NB_ERRTEXT_MAX + 99);
	longtext[NB_ERRTEXT_MAX + 99] = 0;
	assert_int_equal(nb_proto_refuse_encode(f, EPROTO, longtext), 0);
	p = unframe(f, NB_MSG_ERROR);
	assert_int_equal(nb_proto_error_decode(p, &m), 0);
	assert_int_equal(strlen(m.text), NB_ERRTEXT_MAX);
	nb_proto_error_free(&m);
	nb_buf_free(p);
	free(longtext);
	nb_buf_free(f);
}

static void test_put_small(void **state)
{
	(void)state;
	struct nb_buf *f = tu_buf(TX_MAX), *p;
	struct nb_put_open in = {
		.path = (char *)"a/small.txt",
		.size = 5,
		.mode = 0640,
		.mtime_s = 1700000000,
		.mtime_ns = 7,
		.base_kind = NB_BASE_MATCH,
		.base_size = 3,
		.base_mtime_s = 1600000000,
		.base_mtime_ns = 9,
	}, out;
	for (int i = 0; i < NB_MD5_LEN; i++)
		in.md5[i] = (uint8_t)(0x10 + i);
	uint8_t *dst;
	const uint8_t *data = NULL;
	assert_int_equal(nb_proto_put_small_reserve(f, ID, &in, &dst), 0);
	memcpy(dst, "hello", 5);
	assert_int_equal(nb_frame_finish(f), 0);
	p = unframe_id(f, NB_MSG_PUT_SMALL, ID);
	check_malformed(p, dec_put_small);
	const uint8_t *held = nb_buf_ptr(p);
	size_t nheld = nb_buf_len(p);
	assert_int_equal(nb_proto_put_small_decode(p, &out, &data), 0);
	assert_string_equal(out.path, "a/small.txt");
	assert_true(out.size == 5);
	assert_memory_equal(out.md5, in.md5, NB_MD5_LEN);
	assert_int_equal(out.mode, 0640);
	assert_true(out.mtime_s == 1700000000);
	assert_int_equal(out.mtime_ns, 7);
	assert_int_equal(out.base_kind, NB_BASE_MATCH);
	assert_true(out.base_size == 3);
	assert_true(out.base_mtime_s == 1600000000);
	assert_int_equal(out.base_mtime_ns, 9);
	assert_memory_equal(data, "hello", 5);
	assert_true(data >= held && data + 5 <= held + nheld); /* no copy */
	nb_proto_put_open_free(&out);
	nb_buf_free(p);

	/* An empty file; the largest one. */
	in.size = 0;
	assert_int_equal(nb_proto_put_small_reserve(f, ID, &in, &dst), 0);
	assert_int_equal(nb_frame_finish(f), 0);
	p = unframe_id(f, NB_MSG_PUT_SMALL, ID);
	assert_int_equal(dec_put_small(p), 0);
	nb_buf_free(p);
	in.size = NB_SMALL_MAX;
	assert_int_equal(nb_proto_put_small_reserve(f, ID, &in, &dst), 0);
	memset(dst, 0xab, NB_SMALL_MAX);
	assert_int_equal(nb_frame_finish(f), 0);
	p = unframe_id(f, NB_MSG_PUT_SMALL, ID);
	assert_int_equal(dec_put_small(p), 0);
	nb_buf_free(p);
	/* One byte more is refused by the encoder ... */
	in.size = NB_SMALL_MAX + 1;
	assert_int_equal(nb_proto_put_small_reserve(f, ID, &in, &dst), NB_E_TOOBIG);

	/* ... and by the decoder; so is data that is not exactly size
	 * bytes. Built by hand: the PUT_OPEN fields, then the data. */
	static const struct { uint64_t size; size_t n; int want; } cases[] = {
		{5, 5, 0},
		{5, 4, NB_E_PROTO},
		{5, 6, NB_E_PROTO},
		{0, 1, NB_E_PROTO},
		{NB_SMALL_MAX + 1, NB_SMALL_MAX + 1, NB_E_TOOBIG},
	};
	uint8_t *zeros = calloc(1, NB_SMALL_MAX + 1);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		in.size = cases[i].size;
		assert_int_equal(nb_proto_put_open_encode(f, ID, &in), 0);
		p = unframe_id(f, NB_MSG_PUT_OPEN, ID);
		assert_int_equal(nb_buf_put_str(p, zeros, cases[i].n), 0);
		int r = dec_put_small(p);
		if (r != cases[i].want)
			fail_msg("case %zu: got %d, want %d", i, r, cases[i].want);
		nb_buf_free(p);
	}
	free(zeros);
	nb_buf_free(f);
}

static void test_ping(void **state)
{
	(void)state;
	struct nb_buf *f = tu_buf(TX_MAX), *p;
	assert_int_equal(nb_proto_ping_encode(f, 0x01020304u), 0);
	assert_int_equal(nb_buf_len(f), 9);
	assert_memory_equal(nb_buf_ptr(f), "\0\0\0\x05\x1a\x01\x02\x03\x04", 9);
	p = unframe_id(f, NB_MSG_PING, 0x01020304u);
	assert_int_equal(nb_proto_empty_decode(p), 0);
	nb_buf_free(p);
	assert_string_equal(nb_msg_name(NB_MSG_PING), "PING");
	assert_string_equal(nb_msg_name(NB_MSG_PUT_SMALL), "PUT_SMALL");
	nb_buf_free(f);
}

static int dec_mount(struct nb_buf *p)
{
	struct nb_mount_msg m;
	return nb_proto_mount_decode(p, &m);
}

static void test_mount(void **state)
{
	(void)state;
	struct nb_buf *f = tu_buf(TX_MAX), *p;
	struct nb_mount_msg m = {.idle_s = 60}, got;
	for (int i = 0; i < NB_MOUNT_ID_LEN; i++)
		m.id[i] = (uint8_t)(0xa0 + i);
	assert_int_equal(nb_proto_mount_encode(f, 7, &m), 0);
	/* exact wire bytes: length 25, type 27, id, 16 id bytes, idle */
	static const uint8_t want[] = {0,    0,    0,    25,   27,   0,    0,    0,    7,
				       0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8,
				       0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0,    0,
				       0,    60};
	assert_int_equal(nb_buf_len(f), sizeof(want));
	assert_memory_equal(nb_buf_ptr(f), want, sizeof(want));
	p = unframe_id(f, NB_MSG_MOUNT, 7);
	check_malformed(p, dec_mount);
	assert_int_equal(nb_proto_mount_decode(p, &got), 0);
	assert_memory_equal(got.id, m.id, NB_MOUNT_ID_LEN);
	assert_int_equal(got.idle_s, 60);
	assert_string_equal(nb_msg_name(NB_MSG_MOUNT), "MOUNT");
	nb_buf_free(p);
	nb_buf_free(f);
}

static void test_get_messages(void **state)
{
	(void)state;
	struct nb_buf *f = tu_buf(TX_MAX), *p;
	struct nb_get g = {.path = (char *)"d/f.bin", .offset = 4096, .has_expect = 1}, go;
	for (int i = 0; i < NB_MD5_LEN; i++)
		g.expect[i] = (uint8_t)(0x30 + i);
	assert_int_equal(nb_proto_get_encode(f, ID, &g), 0);
	p = unframe_id(f, NB_MSG_GET, ID);
	check_malformed(p, dec_get);
	assert_int_equal(nb_proto_get_decode(p, &go), 0);
	assert_string_equal(go.path, "d/f.bin");
	assert_true(go.offset == 4096);
	assert_int_equal(go.has_expect, 1);
	assert_memory_equal(go.expect, g.expect, NB_MD5_LEN);
	nb_proto_get_free(&go);
	nb_buf_free(p);

	struct nb_get_info gi = {.attr = {S_IFREG | 0644, 9000, 5, 6, NULL}, .start = 4096}, gio;
	assert_int_equal(nb_proto_get_info_encode(f, ID, &gi), 0);
	p = unframe_id(f, NB_MSG_GET_INFO, ID);
	check_malformed(p, dec_get_info);
	assert_int_equal(nb_proto_get_info_decode(p, &gio), 0);
	assert_true(gio.attr.size == 9000);
	assert_true(gio.start == 4096);
	nb_attr_free(&gio.attr);
	nb_buf_free(p);
	/* a start past the size is refused */
	gi.start = 9001;
	assert_int_equal(nb_proto_get_info_encode(f, ID, &gi), 0);
	p = unframe_id(f, NB_MSG_GET_INFO, ID);
	assert_int_equal(dec_get_info(p), NB_E_PROTO);
	nb_buf_free(p);

	uint8_t *dst;
	assert_int_equal(nb_proto_get_data_reserve(f, ID, 4096, 3, &dst), 0);
	memcpy(dst, "xyz", 3);
	assert_int_equal(nb_frame_finish(f), 0);
	p = unframe_id(f, NB_MSG_GET_DATA, ID);
	check_malformed(p, dec_get_data);
	nb_buf_free(p);
	nb_buf_free(f);
}

static void test_settime(void **state)
{
	(void)state;
	struct nb_buf *f = tu_buf(TX_MAX), *p;
	char *path = NULL;
	int64_t sec = 0;
	uint32_t nsec = 0;
	assert_string_equal(nb_msg_name(NB_MSG_SETTIME), "SETTIME");
	assert_int_equal(nb_proto_settime_encode(f, ID, "a/b", -1234567890123LL, 999999999u), 0);
	p = unframe_id(f, NB_MSG_SETTIME, ID);
	check_malformed(p, dec_settime);
	assert_int_equal(nb_proto_settime_decode(p, &path, &sec, &nsec), 0);
	assert_string_equal(path, "a/b");
	assert_true(sec == -1234567890123LL);
	assert_int_equal(nsec, 999999999u);
	free(path);
	nb_buf_free(p);

	/* the root is the empty path */
	assert_int_equal(nb_proto_settime_encode(f, ID, "", 5, 0), 0);
	p = unframe_id(f, NB_MSG_SETTIME, ID);
	assert_int_equal(nb_proto_settime_decode(p, &path, &sec, &nsec), 0);
	assert_string_equal(path, "");
	assert_true(sec == 5);
	free(path);
	nb_buf_free(p);

	/* nanoseconds that are not a fraction of a second */
	p = tu_buf(NB_FRAME_MAX);
	assert_int_equal(nb_buf_put_cstr(p, "d"), 0);
	assert_int_equal(nb_buf_put_i64(p, 1), 0);
	assert_int_equal(nb_buf_put_u32(p, 1000000000u), 0);
	assert_int_equal(dec_settime(p), NB_E_PROTO);
	nb_buf_free(p);
	/* a path with a NUL byte, and one over the cap */
	p = tu_buf(NB_FRAME_MAX);
	assert_int_equal(nb_buf_put_str(p, "a\0b", 3), 0);
	assert_int_equal(nb_buf_put_i64(p, 1), 0);
	assert_int_equal(nb_buf_put_u32(p, 0), 0);
	assert_int_equal(dec_settime(p), NB_E_PROTO);
	nb_buf_free(p);
	char *longp = malloc(NB_PATH_MAX + 2);
	memset(longp, 'x', NB_PATH_MAX + 1);
	longp[NB_PATH_MAX + 1] = 0;
	p = tu_buf(NB_FRAME_MAX);
	assert_int_equal(nb_buf_put_cstr(p, longp), 0);
	assert_int_equal(nb_buf_put_i64(p, 1), 0);
	assert_int_equal(nb_buf_put_u32(p, 0), 0);
	assert_int_equal(dec_settime(p), NB_E_TOOBIG);
	nb_buf_free(p);
	/* a length field larger than what follows: short, nothing allocated */
	p = tu_buf(NB_FRAME_MAX);
	assert_int_equal(nb_buf_put_u32(p, 100), 0);
	assert_int_equal(nb_buf_put_u8(p, 'a'), 0);
	assert_int_equal(dec_settime(p), NB_E_SHORT);
	nb_buf_free(p);
	free(longp);
	nb_buf_free(f);
}

static void test_unlink_if(void **state)
{
	(void)state;
	struct nb_buf *f = tu_buf(TX_MAX), *p;
	struct nb_unlink_if m = {.path = (char *)"a/b.txt",
				 .base_kind = NB_BASE_MATCH,
				 .base_size = 1ULL << 40,
				 .base_mtime_s = -1234567890123LL,
				 .base_mtime_ns = 999999999u},
			    got;
	assert_string_equal(nb_msg_name(NB_MSG_UNLINK_IF), "UNLINK_IF");
	assert_int_equal(nb_proto_unlink_if_encode(f, ID, &m), 0);
	p = unframe_id(f, NB_MSG_UNLINK_IF, ID);
	check_malformed(p, dec_unlink_if);
	assert_int_equal(nb_proto_unlink_if_decode(p, &got), 0);
	assert_string_equal(got.path, "a/b.txt");
	assert_int_equal(got.base_kind, NB_BASE_MATCH);
	assert_true(got.base_size == 1ULL << 40);
	assert_true(got.base_mtime_s == -1234567890123LL);
	assert_int_equal(got.base_mtime_ns, 999999999u);
	free(got.path);
	nb_buf_free(p);
	/* a base kind that does not exist, nanoseconds past a second */
	static const struct {
		uint8_t kind;
		uint32_t ns;
	} bad[] = {{NB_BASE_MATCH + 1, 0}, {0xff, 0}, {NB_BASE_ANY, 1000000000u}};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = tu_buf(NB_FRAME_MAX);
		assert_int_equal(nb_buf_put_cstr(p, "d"), 0);
		assert_int_equal(nb_buf_put_u8(p, bad[i].kind), 0);
		assert_int_equal(nb_buf_put_u64(p, 0), 0);
		assert_int_equal(nb_buf_put_i64(p, 1), 0);
		assert_int_equal(nb_buf_put_u32(p, bad[i].ns), 0);
		assert_int_equal(dec_unlink_if(p), NB_E_PROTO);
		nb_buf_free(p);
	}
	nb_buf_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msg_names),
		cmocka_unit_test(test_hello),
		cmocka_unit_test(test_hello_invalid),
		cmocka_unit_test(test_ok_and_end),
		cmocka_unit_test(test_error),
		cmocka_unit_test(test_wire_errno),
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_mkdir),
		cmocka_unit_test(test_settime),
		cmocka_unit_test(test_unlink_if),
		cmocka_unit_test(test_attr),
		cmocka_unit_test(test_long_paths),
		cmocka_unit_test(test_put_open),
		cmocka_unit_test(test_put_offer),
		cmocka_unit_test(test_put_data),
		cmocka_unit_test(test_put_abort),
		cmocka_unit_test(test_dirents_roundtrip),
		cmocka_unit_test(test_dirents_invalid),
		cmocka_unit_test(test_dirents_add_atomic),
		cmocka_unit_test(test_dirents_count_cap),
		cmocka_unit_test(test_dirents_split),
		cmocka_unit_test(test_request_ids),
		cmocka_unit_test(test_refuse),
		cmocka_unit_test(test_put_small),
		cmocka_unit_test(test_ping),
		cmocka_unit_test(test_mount),
		cmocka_unit_test(test_get_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
