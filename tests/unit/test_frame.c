/* Unit tests for wire/frame.c: framing, parsing and the blocking reader. */
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
#include "fakestream.h"
#include "testutil.h"

/* Build frame bytes type + payload into b via begin/finish. */
static void make_frame(struct nb_buf *b, uint8_t type, const void *payload, size_t n)
{
	assert_int_equal(nb_frame_begin(b, type), 0);
	assert_int_equal(nb_buf_put(b, payload, n), 0);
	assert_int_equal(nb_frame_finish(b), 0);
}

static void test_encode_layout(void **state)
{
	(void)state;
	struct nb_buf *b = tu_buf(NB_FRAME_MAX + NB_FRAME_HDR);
	make_frame(b, 9, "abc", 3);
	static const uint8_t want[] = {0, 0, 0, 4, 9, 'a', 'b', 'c'};
	assert_int_equal(nb_buf_len(b), sizeof(want));
	assert_memory_equal(nb_buf_ptr(b), want, sizeof(want));

	/* begin resets: a second frame replaces the first. */
	make_frame(b, 2, NULL, 0);
	static const uint8_t empty[] = {0, 0, 0, 1, 2};
	assert_int_equal(nb_buf_len(b), sizeof(empty));
	assert_memory_equal(nb_buf_ptr(b), empty, sizeof(empty));

	/* finish without a header is refused */
	nb_buf_reset(b);
	assert_int_equal(nb_buf_put(b, "\0\0\0", 3), 0);
	assert_int_equal(nb_frame_finish(b), NB_E_PROTO);
	nb_buf_free(b);
}

static void test_encode_size_cap(void **state)
{
	(void)state;
	struct nb_buf *b, *payload;
	uint8_t *p, type = 0;
	b = tu_buf(2 * NB_FRAME_MAX);
	payload = tu_buf(NB_FRAME_MAX);
	/* type + (MAX - 1) payload bytes: exactly the cap. */
	assert_int_equal(nb_frame_begin(b, 7), 0);
	assert_int_equal(nb_buf_reserve(b, NB_FRAME_MAX - 1, &p), 0);
	memset(p, 0x5a, NB_FRAME_MAX - 1);
	assert_int_equal(nb_frame_finish(b), 0);
	uint32_t len;
	assert_int_equal(nb_buf_peek_u32(b, 0, &len), 0);
	assert_int_equal(len, NB_FRAME_MAX);
	assert_int_equal(nb_frame_parse(b, &type, payload), 0);
	assert_int_equal(type, 7);
	assert_int_equal(nb_buf_len(payload), NB_FRAME_MAX - 1);
	assert_int_equal(nb_buf_ptr(payload)[NB_FRAME_MAX - 2], 0x5a);
	/* One more byte is too big. */
	assert_int_equal(nb_frame_begin(b, 7), 0);
	assert_int_equal(nb_buf_reserve(b, NB_FRAME_MAX, &p), 0);
	assert_int_equal(nb_frame_finish(b), NB_E_TOOBIG);
	nb_buf_free(b);
	nb_buf_free(payload);
}

static void test_parse_roundtrip(void **state)
{
	(void)state;
	struct nb_buf *b, *payload;
	uint8_t type = 0;
	b = tu_buf(1 << 20);
	payload = tu_buf(NB_FRAME_MAX);
	make_frame(b, 42, "hello", 5);
	assert_int_equal(nb_frame_parse(b, &type, payload), 0);
	assert_int_equal(type, 42);
	assert_int_equal(nb_buf_len(payload), 5);
	assert_memory_equal(nb_buf_ptr(payload), "hello", 5);
	assert_int_equal(nb_buf_len(b), 0);
	/* An empty payload, into a payload buffer that still holds data:
	 * it is reset first. */
	make_frame(b, 3, NULL, 0);
	assert_int_equal(nb_frame_parse(b, &type, payload), 0);
	assert_int_equal(type, 3);
	assert_int_equal(nb_buf_len(payload), 0);
	nb_buf_free(b);
	nb_buf_free(payload);
}

/* Every proper prefix of a valid frame: SHORT, and rx is untouched. */
static void test_parse_truncated(void **state)
{
	(void)state;
	struct nb_buf *whole, *rx, *payload;
	whole = tu_buf(1024);
	payload = tu_buf(NB_FRAME_MAX);
	make_frame(whole, 11, "payload!", 8);
	size_t total = nb_buf_len(whole);
	assert_int_equal(total, 13);
	for (size_t k = 0; k < total; k++) {
		uint8_t type = 0xee;
		rx = tu_buf(1024);
		assert_int_equal(nb_buf_put(rx, nb_buf_ptr(whole), k), 0);
		const uint8_t *front = nb_buf_ptr(rx); /* the read position */
		assert_int_equal(nb_frame_parse(rx, &type, payload), NB_E_SHORT);
		assert_int_equal(type, 0xee);
		assert_ptr_equal(nb_buf_ptr(rx), front);
		assert_int_equal(nb_buf_len(rx), k);
		assert_memory_equal(nb_buf_ptr(rx), nb_buf_ptr(whole), k);
		/* The missing bytes arrive: now it parses. */
		assert_int_equal(nb_buf_put(rx, nb_buf_ptr(whole) + k, total - k), 0);
		assert_int_equal(nb_frame_parse(rx, &type, payload), 0);
		assert_int_equal(type, 11);
		assert_memory_equal(nb_buf_ptr(payload), "payload!", 8);
		nb_buf_free(rx);
	}
	nb_buf_free(whole);
	nb_buf_free(payload);
}

static void test_parse_oversized(void **state)
{
	(void)state;
	struct nb_buf *rx, *payload;
	uint8_t type = 0xee;
	static const uint32_t lens[] = {NB_FRAME_MAX + 1, 0x7fffffffu, 0xffffffffu};
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		rx = tu_buf(1024);
		payload = tu_buf(0xffffffffu);
		assert_int_equal(nb_buf_put_u32(rx, lens[i]), 0);
		assert_int_equal(nb_buf_put_u8(rx, 1), 0);
		assert_int_equal(nb_frame_parse(rx, &type, payload), NB_E_TOOBIG);
		/* Refused from the header alone: nothing allocated for it, rx
		 * left as it was. */
		assert_int_equal(nb_buf_allocated(payload), 0);
		assert_int_equal(nb_buf_len(rx), 5);
		assert_int_equal(type, 0xee);
		nb_buf_free(rx);
		nb_buf_free(payload);
	}
	/* The cap itself is fine as a header (it is just incomplete). */
	rx = tu_buf(1024);
	payload = tu_buf(NB_FRAME_MAX);
	assert_int_equal(nb_buf_put_u32(rx, NB_FRAME_MAX), 0);
	assert_int_equal(nb_frame_parse(rx, &type, payload), NB_E_SHORT);
	nb_buf_free(rx);
	nb_buf_free(payload);
}

static void test_parse_zero_length(void **state)
{
	(void)state;
	struct nb_buf *rx, *payload;
	uint8_t type = 0xee;
	rx = tu_buf(1024);
	payload = tu_buf(NB_FRAME_MAX);
	assert_int_equal(nb_buf_put(rx, "\0\0\0\0\x01\x02", 6), 0);
	assert_int_equal(nb_frame_parse(rx, &type, payload), NB_E_PROTO);
	assert_int_equal(nb_buf_len(rx), 6);
	assert_int_equal(type, 0xee);
	nb_buf_free(rx);
	nb_buf_free(payload);
}

static void test_parse_back_to_back(void **state)
{
	(void)state;
	struct nb_buf *a, *rx, *payload;
	uint8_t type = 0;
	a = tu_buf(1024);
	rx = tu_buf(1024);
	payload = tu_buf(NB_FRAME_MAX);
	make_frame(a, 20, "first", 5);
	assert_int_equal(nb_buf_put(rx, nb_buf_ptr(a), nb_buf_len(a)), 0);
	make_frame(a, 21, NULL, 0);
	assert_int_equal(nb_buf_put(rx, nb_buf_ptr(a), nb_buf_len(a)), 0);
	make_frame(a, 22, "third", 5);
	assert_int_equal(nb_buf_put(rx, nb_buf_ptr(a), 7), 0); /* partial */

	assert_int_equal(nb_frame_parse(rx, &type, payload), 0);
	assert_int_equal(type, 20);
	assert_int_equal(nb_buf_len(payload), 5);
	assert_memory_equal(nb_buf_ptr(payload), "first", 5);
	assert_int_equal(nb_frame_parse(rx, &type, payload), 0);
	assert_int_equal(type, 21);
	assert_int_equal(nb_buf_len(payload), 0);
	assert_int_equal(nb_frame_parse(rx, &type, payload), NB_E_SHORT);
	assert_int_equal(nb_buf_len(rx), 7);
	nb_buf_free(a);
	nb_buf_free(rx);
	nb_buf_free(payload);
}

static void test_buffered(void **state)
{
	(void)state;
	struct fake f;
	struct nb_stream s;
	struct nb_frame_reader fr;
	fake_init(&f, &s, NULL, 0, 1);
	assert_int_equal(nb_frame_reader_init(&fr, &s), 0);
	assert_false(nb_frame_buffered(&fr));
	assert_int_equal(nb_buf_put(fr.rx, "\0\0\0\x02\x05", 5), 0);
	assert_false(nb_frame_buffered(&fr));
	assert_int_equal(nb_buf_put_u8(fr.rx, 'x'), 0);
	assert_true(nb_frame_buffered(&fr));
	nb_buf_reset(fr.rx);
	assert_int_equal(nb_buf_put(fr.rx, "\0\0\0\0\x05", 5), 0);
	assert_false(nb_frame_buffered(&fr)); /* invalid header is not "a frame" */
	nb_frame_reader_free(&fr);
	nb_buf_free(f.out);
}

/* The reader's answer to "can the next frame start without waiting?" */
static int ready_calls;
static int ready_answer;
static int ready_stub(void *ctx)
{
	(void)ctx;
	ready_calls++;
	return ready_answer;
}

static void test_ready(void **state)
{
	(void)state;
	struct fake f;
	struct nb_stream s;
	struct nb_frame_reader fr;
	fake_init(&f, &s, NULL, 0, 1);
	assert_int_equal(nb_frame_reader_init(&fr, &s), 0);
	assert_null(fr.readable); /* init clears it */
	/* Nothing buffered and nothing known: not ready. */
	assert_false(nb_frame_ready(&fr));
	/* Half a frame is not a frame. */
	assert_int_equal(nb_buf_put(fr.rx, "\0\0\0\x02\x05", 5), 0);
	assert_false(nb_frame_ready(&fr));
	/* The stream says more is there: ready. */
	fr.readable = ready_stub;
	ready_answer = 1;
	ready_calls = 0;
	assert_true(nb_frame_ready(&fr));
	assert_int_equal(ready_calls, 1);
	ready_answer = 0;
	assert_false(nb_frame_ready(&fr));
	ready_answer = -5; /* an error is no */
	assert_false(nb_frame_ready(&fr));
	/* A whole frame buffered: ready without asking the stream. */
	assert_int_equal(nb_buf_put_u8(fr.rx, 'x'), 0);
	ready_calls = 0;
	assert_true(nb_frame_ready(&fr));
	assert_int_equal(ready_calls, 0);
	fr.readable = NULL;
	assert_true(nb_frame_ready(&fr));
	nb_frame_reader_free(&fr);
	nb_buf_free(f.out);
}

/* nb_frame_begin_id: the request id right after the type (protocol 2). */
static void test_begin_id(void **state)
{
	(void)state;
	struct nb_buf *b = tu_buf(1024), *payload = tu_buf(1024);
	uint8_t type = 0;
	uint32_t id = 0;
	assert_int_equal(nb_frame_begin_id(b, 10, 0x01020304u), 0);
	assert_int_equal(nb_buf_put_u8(b, 0xee), 0);
	assert_int_equal(nb_frame_finish(b), 0);
	static const uint8_t want[] = {0, 0, 0, 6, 10, 1, 2, 3, 4, 0xee};
	assert_int_equal(nb_buf_len(b), sizeof(want));
	assert_memory_equal(nb_buf_ptr(b), want, sizeof(want));
	assert_int_equal(nb_frame_parse(b, &type, payload), 0);
	assert_int_equal(type, 10);
	assert_int_equal(nb_buf_get_u32(payload, &id), 0);
	assert_int_equal(id, 0x01020304u);
	nb_buf_free(b);
	nb_buf_free(payload);
}

static void test_send(void **state)
{
	(void)state;
	struct fake f;
	struct nb_stream s;
	struct nb_buf *b;
	fake_init(&f, &s, NULL, 0, 1);
	b = tu_buf(1024);
	assert_int_equal(nb_frame_begin(b, 6), 0);
	assert_int_equal(nb_buf_put_u32(b, 0xa1b2c3d4u), 0);
	assert_int_equal(nb_frame_send(&s, b), 0);
	static const uint8_t want[] = {0, 0, 0, 5, 6, 0xa1, 0xb2, 0xc3, 0xd4};
	assert_int_equal(nb_buf_len(f.out), sizeof(want));
	assert_memory_equal(nb_buf_ptr(f.out), want, sizeof(want));
	nb_buf_free(b);
	nb_buf_free(f.out);
}

/* Build a byte stream of several frames for the reader tests. */
static size_t stream_bytes(uint8_t *out, size_t cap)
{
	struct nb_buf *b, *all;
	b = tu_buf(1024);
	all = tu_buf(cap);
	make_frame(b, 1, "one", 3);
	assert_int_equal(nb_buf_put(all, nb_buf_ptr(b), nb_buf_len(b)), 0);
	make_frame(b, 2, NULL, 0);
	assert_int_equal(nb_buf_put(all, nb_buf_ptr(b), nb_buf_len(b)), 0);
	make_frame(b, 3, "three", 5);
	assert_int_equal(nb_buf_put(all, nb_buf_ptr(b), nb_buf_len(b)), 0);
	size_t n = nb_buf_len(all);
	memcpy(out, nb_buf_ptr(all), n);
	nb_buf_free(b);
	nb_buf_free(all);
	return n;
}

static void check_three_frames(struct nb_frame_reader *fr)
{
	struct nb_buf *payload;
	uint8_t type = 0;
	payload = tu_buf(NB_FRAME_MAX);
	assert_int_equal(nb_frame_recv(fr, &type, payload), 0);
	assert_int_equal(type, 1);
	assert_int_equal(nb_buf_len(payload), 3);
	assert_memory_equal(nb_buf_ptr(payload), "one", 3);
	assert_int_equal(nb_frame_recv(fr, &type, payload), 0);
	assert_int_equal(type, 2);
	assert_int_equal(nb_buf_len(payload), 0);
	assert_int_equal(nb_frame_recv(fr, &type, payload), 0);
	assert_int_equal(type, 3);
	assert_memory_equal(nb_buf_ptr(payload), "three", 5);
	assert_int_equal(nb_frame_recv(fr, &type, payload), NB_E_EOF);
	/* And it stays at EOF. */
	assert_int_equal(nb_frame_recv(fr, &type, payload), NB_E_EOF);
	nb_buf_free(payload);
}

static void test_recv_one_byte_at_a_time(void **state)
{
	(void)state;
	uint8_t data[256];
	size_t n = stream_bytes(data, sizeof(data));
	struct fake f;
	struct nb_stream s;
	struct nb_frame_reader fr;
	fake_init(&f, &s, data, n, 1);
	assert_int_equal(nb_frame_reader_init(&fr, &s), 0);
	check_three_frames(&fr);
	/* one read per byte, plus the EOF reads */
	assert_int_equal(f.reads, (int)n + 2);
	nb_frame_reader_free(&fr);
	nb_buf_free(f.out);
}

static void test_recv_all_at_once(void **state)
{
	(void)state;
	uint8_t data[256];
	size_t n = stream_bytes(data, sizeof(data));
	struct fake f;
	struct nb_stream s;
	struct nb_frame_reader fr;
	fake_init(&f, &s, data, n, 1 << 20);
	assert_int_equal(nb_frame_reader_init(&fr, &s), 0);
	check_three_frames(&fr);
	assert_int_equal(f.reads, 3); /* data, EOF, EOF */
	nb_frame_reader_free(&fr);
	nb_buf_free(f.out);
}

/* The stream ends at every point inside the last frame: PROTO. */
static void test_recv_eof_inside_frame(void **state)
{
	(void)state;
	uint8_t data[256];
	size_t n = stream_bytes(data, sizeof(data));
	size_t last = n - 10; /* "three" frame: 4 + 1 + 5 */
	for (size_t cut = last + 1; cut < n; cut++) {
		struct fake f;
		struct nb_stream s;
		struct nb_frame_reader fr;
		struct nb_buf *payload;
		uint8_t type;
		fake_init(&f, &s, data, cut, 1);
		assert_int_equal(nb_frame_reader_init(&fr, &s), 0);
		payload = tu_buf(NB_FRAME_MAX);
		assert_int_equal(nb_frame_recv(&fr, &type, payload), 0);
		assert_int_equal(nb_frame_recv(&fr, &type, payload), 0);
		assert_int_equal(nb_frame_recv(&fr, &type, payload), NB_E_PROTO);
		nb_buf_free(payload);
		nb_frame_reader_free(&fr);
		nb_buf_free(f.out);
	}
}

static void test_recv_stream_error(void **state)
{
	(void)state;
	uint8_t data[256];
	size_t n = stream_bytes(data, sizeof(data));
	struct fake f;
	struct nb_stream s;
	struct nb_frame_reader fr;
	struct nb_buf *payload;
	uint8_t type;
	fake_init(&f, &s, data, n - 2, 3);
	f.err = -ECONNRESET;
	assert_int_equal(nb_frame_reader_init(&fr, &s), 0);
	payload = tu_buf(NB_FRAME_MAX);
	assert_int_equal(nb_frame_recv(&fr, &type, payload), 0);
	assert_int_equal(nb_frame_recv(&fr, &type, payload), 0);
	assert_int_equal(nb_frame_recv(&fr, &type, payload), -ECONNRESET);
	nb_buf_free(payload);
	nb_frame_reader_free(&fr);
	nb_buf_free(f.out);
}

static void test_recv_bad_headers(void **state)
{
	(void)state;
	/* A huge length is refused as soon as the 4 header bytes are in,
	 * without waiting for (or buffering) the body. */
	static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff};
	struct fake f;
	struct nb_stream s;
	struct nb_frame_reader fr;
	struct nb_buf *payload;
	uint8_t type;
	fake_init(&f, &s, huge, sizeof(huge), 1);
	assert_int_equal(nb_frame_reader_init(&fr, &s), 0);
	payload = tu_buf(NB_FRAME_MAX);
	assert_int_equal(nb_frame_recv(&fr, &type, payload), NB_E_TOOBIG);
	assert_int_equal(f.reads, 4);
	assert_true(nb_buf_allocated(fr.rx) < NB_FRAME_MAX);
	assert_int_equal(nb_buf_allocated(payload), 0);
	nb_frame_reader_free(&fr);
	nb_buf_free(f.out);

	static const uint8_t zero[] = {0, 0, 0, 0, 1, 2, 3};
	fake_init(&f, &s, zero, sizeof(zero), 1);
	assert_int_equal(nb_frame_reader_init(&fr, &s), 0);
	assert_int_equal(nb_frame_recv(&fr, &type, payload), NB_E_PROTO);
	assert_int_equal(f.reads, 4);
	nb_frame_reader_free(&fr);
	nb_buf_free(f.out);

	/* EOF inside the length field */
	fake_init(&f, &s, zero, 2, 1);
	assert_int_equal(nb_frame_reader_init(&fr, &s), 0);
	assert_int_equal(nb_frame_recv(&fr, &type, payload), NB_E_PROTO);
	nb_frame_reader_free(&fr);
	nb_buf_free(f.out);
	nb_buf_free(payload);
}

/* A maximal frame arriving in odd-sized pieces after a small one. */
static void test_recv_max_frame(void **state)
{
	(void)state;
	struct nb_buf *all, *b, *payload;
	uint8_t *p, type = 0;
	all = tu_buf(2 * NB_FRAME_MAX + 64);
	b = tu_buf(NB_FRAME_MAX + NB_FRAME_HDR);
	payload = tu_buf(NB_FRAME_MAX);
	make_frame(b, 1, "x", 1);
	assert_int_equal(nb_buf_put(all, nb_buf_ptr(b), nb_buf_len(b)), 0);
	assert_int_equal(nb_frame_begin(b, 9), 0);
	assert_int_equal(nb_buf_reserve(b, NB_FRAME_MAX - 1, &p), 0);
	for (size_t i = 0; i < NB_FRAME_MAX - 1; i++)
		p[i] = (uint8_t)(i * 7);
	assert_int_equal(nb_frame_finish(b), 0);
	assert_int_equal(nb_buf_put(all, nb_buf_ptr(b), nb_buf_len(b)), 0);
	make_frame(b, 2, "end", 3);
	assert_int_equal(nb_buf_put(all, nb_buf_ptr(b), nb_buf_len(b)), 0);

	struct fake f;
	struct nb_stream s;
	struct nb_frame_reader fr;
	fake_init(&f, &s, nb_buf_ptr(all), nb_buf_len(all), 100003);
	assert_int_equal(nb_frame_reader_init(&fr, &s), 0);
	assert_int_equal(nb_frame_recv(&fr, &type, payload), 0);
	assert_int_equal(type, 1);
	assert_int_equal(nb_frame_recv(&fr, &type, payload), 0);
	assert_int_equal(type, 9);
	assert_int_equal(nb_buf_len(payload), NB_FRAME_MAX - 1);
	int ok = 1;
	for (size_t i = 0; i < NB_FRAME_MAX - 1; i++)
		ok &= nb_buf_ptr(payload)[i] == (uint8_t)(i * 7);
	assert_true(ok);
	assert_int_equal(nb_frame_recv(&fr, &type, payload), 0);
	assert_int_equal(type, 2);
	assert_memory_equal(nb_buf_ptr(payload), "end", 3);
	assert_int_equal(nb_frame_recv(&fr, &type, payload), NB_E_EOF);
	nb_frame_reader_free(&fr);
	nb_buf_free(f.out);
	nb_buf_free(all);
	nb_buf_free(b);
	nb_buf_free(payload);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_layout),
		cmocka_unit_test(test_encode_size_cap),
		cmocka_unit_test(test_parse_roundtrip),
		cmocka_unit_test(test_parse_truncated),
		cmocka_unit_test(test_parse_oversized),
		cmocka_unit_test(test_parse_zero_length),
		cmocka_unit_test(test_parse_back_to_back),
		cmocka_unit_test(test_buffered),
		cmocka_unit_test(test_ready),
		cmocka_unit_test(test_begin_id),
		cmocka_unit_test(test_send),
		cmocka_unit_test(test_recv_one_byte_at_a_time),
		cmocka_unit_test(test_recv_all_at_once),
		cmocka_unit_test(test_recv_eof_inside_frame),
		cmocka_unit_test(test_recv_stream_error),
		cmocka_unit_test(test_recv_bad_headers),
		cmocka_unit_test(test_recv_max_frame),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
