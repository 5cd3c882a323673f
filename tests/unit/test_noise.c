/* Unit tests for wire/noise.c: what a login shell prints before the
 * server's first frame is skipped, named, and bounded. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wire/buf.h"
#include "wire/err.h"
#include "wire/frame.h"
#include "wire/noise.h"
#include "wire/proto.h"
#include "fakestream.h"
#include "testutil.h"

static const uint8_t first[] = {NB_MSG_HELLO, NB_MSG_ERROR};

/* noise, then the frame(s) in tail: the bytes a session would carry. */
static struct nb_buf *session_bytes(const void *noise, size_t n, const struct nb_buf *tail)
{
	struct nb_buf *b = tu_buf(4 * NB_FRAME_MAX);
	assert_int_equal(nb_buf_put(b, noise, n), 0);
	assert_int_equal(nb_buf_put(b, nb_buf_ptr(tail), nb_buf_len(tail)), 0);
	return b;
}

static struct nb_buf *hello_frame(void)
{
	struct nb_buf *b = tu_buf(NB_FRAME_MAX + NB_FRAME_HDR);
	assert_int_equal(nb_proto_hello_encode(b, NB_PROTO_VERSION, "nbfs-server test"), 0);
	return b;
}

/* Skip over all of `bytes` read chunk bytes at a time; expect result r
 * and return what nb_noise_skip reported. On success, the next frame
 * must be a whole HELLO or refusal. */
static struct nb_noise skip_in(const struct nb_buf *bytes, size_t chunk, size_t limit, int r,
			       uint8_t want_type)
{
	struct fake f;
	struct nb_stream s;
	struct nb_frame_reader fr;
	struct nb_noise noise;
	fake_init(&f, &s, nb_buf_ptr(bytes), nb_buf_len(bytes), chunk);
	assert_int_equal(nb_frame_reader_init(&fr, &s), 0);
	assert_int_equal(nb_noise_skip(&fr, first, sizeof(first), limit, &noise), r);
	if (r == 0) {
		struct nb_buf *payload = tu_buf(NB_FRAME_MAX);
		uint8_t type;
		assert_int_equal(nb_frame_recv(&fr, &type, payload), 0);
		assert_int_equal(type, want_type);
		if (type == NB_MSG_HELLO) {
			struct nb_hello h;
			assert_int_equal(nb_proto_hello_decode(payload, &h), 0);
			assert_string_equal(h.software, "nbfs-server test");
			nb_proto_hello_free(&h);
		}
		nb_buf_free(payload);
	}
	nb_frame_reader_free(&fr);
	nb_buf_free(f.out);
	return noise;
}

static void test_nothing_before(void **state)
{
	(void)state;
	struct nb_buf *hello = hello_frame();
	for (size_t chunk = 1; chunk <= 64; chunk *= 4) {
		struct nb_noise n = skip_in(hello, chunk, 1024, 0, NB_MSG_HELLO);
		assert_int_equal(n.skipped, 0);
		assert_string_equal(n.head, "");
	}
	nb_buf_free(hello);
}

static void test_greeting_skipped(void **state)
{
	(void)state;
	static const char greet[] = "Welcome to the server!\n\033[1mLast login\033[0m\tnever\n";
	struct nb_buf *hello = hello_frame();
	struct nb_buf *all = session_bytes(greet, strlen(greet), hello);
	/* Byte by byte (a header split at every point), in odd chunks, and
	 * all at once. */
	static const size_t chunks[] = {1, 3, 7, 1 << 20};
	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		struct nb_noise n = skip_in(all, chunks[i], 1024, 0, NB_MSG_HELLO);
		assert_int_equal(n.skipped, strlen(greet));
		assert_string_equal(n.head,
				    "Welcome to the server!\\n\\x1b[1mLast login\\x1b[0m\\tnever\\n");
	}
	nb_buf_free(all);
	nb_buf_free(hello);
}

/* The server's refusal is found behind the text as well as its HELLO. */
static void test_refusal_found(void **state)
{
	(void)state;
	struct nb_buf *refuse = tu_buf(NB_FRAME_MAX + NB_FRAME_HDR);
	assert_int_equal(nb_proto_refuse_encode(refuse, EACCES, "root directory /x: denied"), 0);
	struct nb_buf *all = session_bytes("hi\n", 3, refuse);
	struct nb_noise n = skip_in(all, 2, 1024, 0, NB_MSG_ERROR);
	assert_int_equal(n.skipped, 3);
	nb_buf_free(all);
	nb_buf_free(refuse);
}

/* A NUL in the text does not pass for a header unless a plausible
 * length and an expected type follow it; it shows as '.'. Frames of
 * other types are text here too. */
static void test_false_starts(void **state)
{
	(void)state;
	struct nb_buf *other = tu_buf(NB_FRAME_MAX + NB_FRAME_HDR);
	assert_int_equal(nb_proto_ok_encode(other, 7), 0); /* type OK: not a first frame */
	static const uint8_t junk[] = {
		'a', 0, 0, 0, 0, NB_MSG_HELLO,     /* length 0 */
		0, 0xff, 0, 0, NB_MSG_HELLO,       /* length over NB_FRAME_MAX */
		0, 0, 0, 5, 0x77,                  /* a type nobody expects first */
		'z',
	};
	struct nb_buf *hello = hello_frame();
	struct nb_buf *mid = session_bytes(nb_buf_ptr(other), nb_buf_len(other), hello);
	struct nb_buf *all = session_bytes(junk, sizeof(junk), mid);
	for (size_t chunk = 1; chunk <= 16; chunk *= 2) {
		struct nb_noise n = skip_in(all, chunk, 1024, 0, NB_MSG_HELLO);
		assert_int_equal(n.skipped, sizeof(junk) + nb_buf_len(other));
		assert_memory_equal(n.head, "a.", 2);
	}
	nb_buf_free(all);
	nb_buf_free(mid);
	nb_buf_free(hello);
	nb_buf_free(other);
}

/* Text up to the limit is skipped; more is an error, whose head shows
 * how it began, cut to fit. */
static void test_limit(void **state)
{
	(void)state;
	size_t limit = 100 * 1024;
	char *text = malloc(limit + 1);
	assert_non_null(text);
	memset(text, 'x', limit + 1);
	memcpy(text, "conda: ", 7);
	struct nb_buf *hello = hello_frame();
	struct nb_buf *at = session_bytes(text, limit, hello);
	struct nb_noise n = skip_in(at, 4096, limit, 0, NB_MSG_HELLO);
	assert_int_equal(n.skipped, limit);
	struct nb_buf *over = session_bytes(text, limit + 1, hello);
	n = skip_in(over, 4096, limit, NB_E_TOOBIG, 0);
	assert_true(n.skipped > limit);
	assert_int_equal(strncmp(n.head, "conda: xxx", 10), 0);
	assert_true(strlen(n.head) < NB_NOISE_SHOWN);
	nb_buf_free(over);
	nb_buf_free(at);
	nb_buf_free(hello);
	free(text);
}

/* The stream ends, or fails, inside the text: said as such, with what
 * came. */
static void test_end_and_error(void **state)
{
	(void)state;
	struct nb_buf *none = tu_buf(16);
	struct nb_buf *bytes = session_bytes("bye\n\0\0", 6, none);
	struct nb_noise n = skip_in(bytes, 1, 1024, NB_E_EOF, 0);
	assert_int_equal(n.skipped, 4); /* the NULs could begin a header still */
	assert_string_equal(n.head, "bye\\n");
	n = skip_in(none, 1, 1024, NB_E_EOF, 0);
	assert_int_equal(n.skipped, 0);

	struct fake f;
	struct nb_stream s;
	struct nb_frame_reader fr;
	fake_init(&f, &s, "text", 4, 2);
	f.err = -ECONNRESET;
	assert_int_equal(nb_frame_reader_init(&fr, &s), 0);
	assert_int_equal(nb_noise_skip(&fr, first, sizeof(first), 1024, &n), -ECONNRESET);
	assert_int_equal(n.skipped, 4);
	assert_string_equal(n.head, "text");
	nb_frame_reader_free(&fr);
	nb_buf_free(f.out);
	nb_buf_free(bytes);
	nb_buf_free(none);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_before),
		cmocka_unit_test(test_greeting_skipped),
		cmocka_unit_test(test_refusal_found),
		cmocka_unit_test(test_false_starts),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_end_and_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
