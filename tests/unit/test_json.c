/* Unit tests for fs/json.c (the JSON writer and its string rule) and
 * fs/status_json.c (the objects `nbfs status --json` writes). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fs/json.h"
#include "fs/status.h"
#include "fs/status_json.h"
#include "testutil.h"
#include "wire/err.h"

/* The buffer's text, NUL-terminated (a static copy). */
static const char *text(struct nb_buf *b)
{
	static char out[4096];
	size_t n = nb_buf_len(b);
	assert_true(n < sizeof(out));
	memcpy(out, nb_buf_ptr(b), n);
	out[n] = 0;
	return out;
}

/* n bytes at s as one JSON string. */
static void str_is(const char *s, size_t n, const char *want)
{
	struct nb_buf *b = tu_buf(4096);
	struct nb_json j;
	nb_json_init(&j, b);
	nb_json_strn(&j, s, n);
	assert_int_equal(nb_json_end(&j), 0);
	if (strcmp(text(b), want) != 0)
		fail_msg("string: got %s, want %s", text(b), want);
	nb_buf_free(b);
}
#define STR_IS(lit, want) str_is(lit, sizeof(lit) - 1, want)

static void test_escapes(void **state)
{
	(void)state;
	STR_IS("plain/path.txt", "\"plain/path.txt\"");
	STR_IS("", "\"\"");
	STR_IS("say \"hi\"", "\"say \\\"hi\\\"\"");
	STR_IS("back\\slash", "\"back\\\\slash\"");
	STR_IS("a/b", "\"a/b\""); /* '/' needs no escape */
	STR_IS("\n\t\r\b\f", "\"\\n\\t\\r\\b\\f\"");
	STR_IS("\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"");
	STR_IS("nul\0inside", "\"nul\\u0000inside\""); /* by length, not NUL */
	/* well-formed UTF-8 passes as it is: 2, 3 and 4 bytes */
	STR_IS("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	       "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
	/* U+2028 and U+2029 are escaped; U+2027 is not */
	STR_IS("\xe2\x80\xa8\xe2\x80\xa9\xe2\x80\xa7", "\"\\u2028\\u2029\xe2\x80\xa7\"");
	/* every byte that is not well-formed UTF-8 becomes one U+FFFD */
	STR_IS("\xff", "\"\\ufffd\"");
	STR_IS("a\x80z", "\"a\\ufffdz\"");				/* lone continuation */
	STR_IS("\xc3", "\"\\ufffd\"");					/* cut at the end */
	STR_IS("\xc3(", "\"\\ufffd(\"");				/* cut by ASCII */
	STR_IS("\xc0\xaf", "\"\\ufffd\\ufffd\"");			/* overlong '/' */
	STR_IS("\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"");		/* overlong, 3 bytes */
	STR_IS("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");		/* a surrogate, U+D800 */
	STR_IS("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* past U+10FFFF */
	STR_IS("\xf5\x80", "\"\\ufffd\\ufffd\"");
	STR_IS("\xe2\x82", "\"\\ufffd\\ufffd\""); /* 3-byte form cut short */
}

static void test_utf8_valid(void **state)
{
	(void)state;
	assert_true(nb_json_utf8_valid("", 0));
	assert_true(nb_json_utf8_valid("abc\n", 4));
	assert_true(nb_json_utf8_valid("\xc3\xa9", 2));
	assert_true(nb_json_utf8_valid("\xf4\x8f\xbf\xbf", 4)); /* U+10FFFF */
	assert_true(nb_json_utf8_valid("\xee\x80\x80", 3));	/* U+E000 */
	assert_false(nb_json_utf8_valid("\xc3", 1));
	assert_false(nb_json_utf8_valid("\xc1\xbf", 2));
	assert_false(nb_json_utf8_valid("\xed\xbf\xbf", 3)); /* U+DFFF */
	assert_false(nb_json_utf8_valid("ok\xfe", 3));
}

static void test_structure(void **state)
{
	(void)state;
	struct nb_buf *b = tu_buf(4096);
	struct nb_json j;
	nb_json_init(&j, b);
	nb_json_obj(&j);
	nb_json_key(&j, "a");
	nb_json_u64(&j, 0);
	nb_json_key(&j, "big");
	nb_json_u64(&j, UINT64_MAX);
	nb_json_key(&j, "list");
	nb_json_arr(&j);
	nb_json_bool(&j, 1);
	nb_json_bool(&j, 0);
	nb_json_null(&j);
	nb_json_obj(&j);
	nb_json_obj_end(&j);
	nb_json_arr(&j);
	nb_json_arr_end(&j);
	nb_json_hex(&j, "\x01\xff/");
	nb_json_arr_end(&j);
	nb_json_key(&j, "k\"ey");
	nb_json_str(&j, "v");
	nb_json_obj_end(&j);
	assert_int_equal(nb_json_end(&j), 0);
	assert_string_equal(text(b),
			    "{\"a\":0,\"big\":18446744073709551615,"
			    "\"list\":[true,false,null,{},[],\"01ff2f\"],\"k\\\"ey\":\"v\"}");
	nb_buf_free(b);
}

static void test_errors(void **state)
{
	(void)state;
	struct nb_json j;
	struct nb_buf *b = tu_buf(4096);
	/* unbalanced: an object left open, a close too many, a key without
	 * its value */
	nb_json_init(&j, b);
	nb_json_obj(&j);
	assert_int_equal(nb_json_end(&j), -EINVAL);
	nb_json_init(&j, b);
	nb_json_arr_end(&j);
	assert_int_equal(nb_json_end(&j), -EINVAL);
	nb_json_init(&j, b);
	nb_json_obj(&j);
	nb_json_key(&j, "k");
	nb_json_obj_end(&j);
	assert_int_equal(nb_json_end(&j), -EINVAL);
	/* too deep */
	nb_json_init(&j, b);
	for (int i = 0; i < NB_JSON_DEPTH + 2; i++)
		nb_json_arr(&j);
	assert_int_equal(nb_json_end(&j), -EINVAL);
	nb_buf_free(b);
	/* the buffer's cap: the error sticks, and nothing more is added */
	b = tu_buf(8);
	nb_json_init(&j, b);
	nb_json_str(&j, "0123456789");
	size_t len = nb_buf_len(b);
	nb_json_null(&j);
	assert_int_equal(nb_buf_len(b), len);
	assert_int_equal(nb_json_end(&j), NB_E_TOOBIG);
	nb_buf_free(b);
}

/* A report as the daemon sends it, through the parser, out as JSON. */
static void test_status_object(void **state)
{
	(void)state;
	static const char report[] =
	    "cache\t100\t1000\tok\n"
	    "link\toffline\tconnect: refused\\tnow\n"
	    "sync\tpaused\n"
	    "sum\t3\t2\t50\t250\t10\t42\n"
	    "uploading\t50\t200\t10\t42\tupload\tdir/a \"b\\\\\\x01\xff\t\t\n"
	    "pending\t0\t0\t0\t7\tmove\tnew\told\\nname\tlink lost\n"
	    "more\t1\n"
	    "future\tlines\tare\tskipped\n";
	struct nb_status s;
	assert_int_equal(nb_status_parse(report, &s), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.reason, "connect: refused\tnow");
	assert_true(s.paused);
	assert_string_equal(s.v[0].path, "dir/a \"b\\\x01\xff");
	assert_string_equal(s.v[1].from, "old\nname");
	struct nb_buf *b = tu_buf(4096);
	struct nb_json j;
	nb_json_init(&j, b);
	nb_status_json(&j, &s, "/mnt", 1700000000);
	assert_int_equal(nb_json_end(&j), 0);
	assert_string_equal(
	    text(b),
	    "{\"version\":1,\"mount\":\"/mnt\",\"time\":1700000000,"
	    "\"connection\":\"offline\",\"detail\":\"connect: refused\\tnow\","
	    "\"paused\":true,"
	    "\"cache\":{\"used\":100,\"max\":1000,\"full\":false},"
	    "\"totals\":{\"entries\":3,\"files\":2,\"done\":50,\"total\":250,\"rate\":10,"
	    "\"eta\":20,\"oldest_age\":42,\"unlisted\":1},"
	    "\"entries\":["
	    "{\"path\":\"dir/a \\\"b\\\\\\u0001\\ufffd\",\"path_hex\":\"6469722f612022625c01ff\","
	    "\"op\":\"upload\",\"state\":\"uploading\",\"done\":50,\"total\":200,\"rate\":10,"
	    "\"eta\":15,\"age\":42,\"error\":null},"
	    "{\"path\":\"new\",\"from\":\"old\\nname\",\"op\":\"move\",\"state\":\"pending\","
	    "\"done\":0,\"total\":0,\"rate\":0,\"eta\":0,\"age\":7,\"error\":\"link lost\"}]}");
	nb_buf_free(b);
	nb_status_free(&s);
}

/* An escape the daemon would never write is kept as it stands, and
 * "\x00" never cuts a path short. */
static void test_unescape_odd(void **state)
{
	(void)state;
	char out[64];
	static const char in[] = "a\\x00b\\q\\x4\\x41\\";
	size_t n = nb_textesc_unescape(in, sizeof(in) - 1, out);
	assert_string_equal(out, "a\\x00b\\q\\x4A\\");
	assert_int_equal(n, strlen(out));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escapes),	  cmocka_unit_test(test_utf8_valid),
	    cmocka_unit_test(test_structure),	  cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_status_object), cmocka_unit_test(test_unescape_odd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
