/* Unit tests for sync/resume.c: where an upload continues. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "wire/md5.h"
#include "wire/proto.h"
#include "sync/resume.h"

/* The "local file". */
static uint8_t content[1000];

static int setup(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(content); i++)
		content[i] = (uint8_t)(i * 31 + 7);
	return 0;
}

/* What an honest server holding our first n bytes offers. */
static struct nb_put_offer offer_of(const uint8_t *data, uint64_t n)
{
	struct nb_put_offer o;
	o.offset = n;
	nb_md5_buf(data, (size_t)n, o.prefix_md5);
	return o;
}

static uint64_t resume_at(const struct nb_put_offer *o, uint64_t size)
{
	uint8_t mine[NB_MD5_LEN];
	uint64_t n = o->offset <= size ? o->offset : size;
	nb_md5_buf(content, (size_t)n, mine);
	return nb_resume_offset(o, size, mine);
}

static void test_md5_known_values(void **state)
{
	(void)state;
	/* RFC 1321 test vectors: the prefix checks below rely on nb_md5_buf. */
	uint8_t d[NB_MD5_LEN];
	char hex[NB_MD5_HEX];
	nb_md5_buf("", 0, d);
	nb_md5_hex(d, hex);
	assert_string_equal(hex, "d41d8cd98f00b204e9800998ecf8427e");
	nb_md5_buf("abc", 3, d);
	nb_md5_hex(d, hex);
	assert_string_equal(hex, "900150983cd24fb0d6963f7d28e17f72");
	uint8_t back[NB_MD5_LEN];
	assert_int_equal(nb_md5_from_hex(hex, back), 0);
	assert_memory_equal(back, d, NB_MD5_LEN);
	assert_int_equal(nb_md5_from_hex("900150983CD24FB0D6963F7D28E17F72", back), 0);
	assert_memory_equal(back, d, NB_MD5_LEN);
	assert_int_equal(nb_md5_from_hex("90015098", back), -EINVAL);
	assert_int_equal(nb_md5_from_hex("g00150983cd24fb0d6963f7d28e17f72", back), -EINVAL);
}

static void test_offer_zero(void **state)
{
	(void)state;
	struct nb_put_offer o = offer_of(content, 0);
	assert_int_equal(resume_at(&o, sizeof(content)), 0);
	assert_false(nb_resume_needs_prefix(&o, sizeof(content)));
	/* Offset 0 needs no check: even a garbage MD5 gives 0. */
	memset(o.prefix_md5, 0xaa, NB_MD5_LEN);
	uint8_t zero[NB_MD5_LEN] = {0};
	assert_int_equal(nb_resume_offset(&o, sizeof(content), zero), 0);
}

static void test_matching_prefix(void **state)
{
	(void)state;
	static const uint64_t offsets[] = {1, 17, 500, 999};
	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		struct nb_put_offer o = offer_of(content, offsets[i]);
		assert_true(nb_resume_needs_prefix(&o, sizeof(content)));
		assert_int_equal(resume_at(&o, sizeof(content)), offsets[i]);
	}
}

static void test_mismatching_prefix(void **state)
{
	(void)state;
	/* The server holds 500 bytes that differ from ours in one byte. */
	uint8_t theirs[500];
	memcpy(theirs, content, sizeof(theirs));
	theirs[250] ^= 1;
	struct nb_put_offer o = offer_of(theirs, sizeof(theirs));
	assert_true(nb_resume_needs_prefix(&o, sizeof(content)));
	assert_int_equal(resume_at(&o, sizeof(content)), 0);
	/* Right bytes, but the server claims a different length for them. */
	o = offer_of(content, 400);
	o.offset = 401;
	assert_int_equal(resume_at(&o, sizeof(content)), 0);
}

static void test_offer_beyond_size(void **state)
{
	(void)state;
	struct nb_put_offer o = offer_of(content, sizeof(content));
	o.offset = sizeof(content) + 1;
	assert_false(nb_resume_needs_prefix(&o, sizeof(content)));
	assert_int_equal(resume_at(&o, sizeof(content)), 0);
	/* even with our full-file MD5 in the offer */
	uint8_t all[NB_MD5_LEN];
	nb_md5_buf(content, sizeof(content), all);
	assert_int_equal(nb_resume_offset(&o, sizeof(content), all), 0);
	o.offset = UINT64_MAX;
	assert_int_equal(nb_resume_offset(&o, sizeof(content), all), 0);
	/* against an empty local file, any positive offer is beyond it */
	o = offer_of(content, 1);
	assert_false(nb_resume_needs_prefix(&o, 0));
	assert_int_equal(nb_resume_offset(&o, 0, o.prefix_md5), 0);
}

static void test_offer_equals_size(void **state)
{
	(void)state;
	struct nb_put_offer o = offer_of(content, sizeof(content));
	assert_true(nb_resume_needs_prefix(&o, sizeof(content)));
	assert_int_equal(resume_at(&o, sizeof(content)), sizeof(content));
	/* and with a mismatch, back to 0 */
	o.prefix_md5[0] ^= 0x80;
	assert_int_equal(resume_at(&o, sizeof(content)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_md5_known_values),
		cmocka_unit_test_setup(test_offer_zero, setup),
		cmocka_unit_test_setup(test_matching_prefix, setup),
		cmocka_unit_test_setup(test_mismatching_prefix, setup),
		cmocka_unit_test_setup(test_offer_beyond_size, setup),
		cmocka_unit_test_setup(test_offer_equals_size, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
