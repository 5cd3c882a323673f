/* Unit tests for fs/config.c: the config file parser. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/config.h"
#include "fs/options.h"
#include "wire/err.h"

/* Records every setting as "key=[value]\n". */
struct rec {
	char text[8192];
	int calls;
	int fail_on;       /* 1-based call that fails, 0 = never */
	int fail_code;
	const char *fail_why; /* message put in err, or NULL */
};

static int rec_cb(void *arg, const char *key, const char *value, char *err, size_t errsz)
{
	struct rec *r = arg;
	size_t n = strlen(r->text);
	snprintf(r->text + n, sizeof(r->text) - n, "%s=[%s]\n", key, value);
	r->calls++;
	if (r->fail_on && r->calls == r->fail_on) {
		if (r->fail_why)
			snprintf(err, errsz, "%s", r->fail_why);
		return r->fail_code;
	}
	return 0;
}

static int parse(const char *text, struct rec *r, char *err, size_t errsz)
{
	err[0] = 0;
	return nb_config_parse(text, strlen(text), rec_cb, r, err, errsz);
}

static void test_basic(void **state)
{
	(void)state;
	struct rec r = {0};
	char err[256];
	const char *text = "# nbfs config\n"
			   "\n"
			   "remote = user@host:dir\n"
			   "   # indented comment\n"
			   "port=2222\n"
			   "\t identity \t=\t ~/.ssh/id_ed25519 \t\n"
			   "delay = \"0.5\"\n"
			   "server = \"nbfs-server --flag  x\"\n"
			   "empty =\n"
			   "quoted_empty = \"\"\n"
			   "eq = a=b=c\n"
			   "hash = value # not a comment\n"
			   "crlf = yes\r\n"
			   "   \t  \n"
			   "last = no newline";
	assert_int_equal(parse(text, &r, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_string_equal(r.text, "remote=[user@host:dir]\n"
				    "port=[2222]\n"
				    "identity=[~/.ssh/id_ed25519]\n"
				    "delay=[0.5]\n"
				    "server=[nbfs-server --flag  x]\n"
				    "empty=[]\n"
				    "quoted_empty=[]\n"
				    "eq=[a=b=c]\n"
				    "hash=[value # not a comment]\n"
				    "crlf=[yes]\n"
				    "last=[no newline]\n");
}

static void test_empty_inputs(void **state)
{
	(void)state;
	struct rec r = {0};
	char err[64];
	assert_int_equal(parse("", &r, err, sizeof(err)), 0);
	assert_int_equal(parse("\n\n\n", &r, err, sizeof(err)), 0);
	assert_int_equal(parse("# only\n#comments", &r, err, sizeof(err)), 0);
	assert_int_equal(r.calls, 0);
	/* len is honoured: text need not be NUL-terminated */
	char buf[] = {'k', '=', 'v', '\n', 'x', 'x', 'x'};
	assert_int_equal(nb_config_parse(buf, 4, rec_cb, &r, err, sizeof(err)), 0);
	assert_string_equal(r.text, "k=[v]\n");
}

/* A syntax error: NB_E_CONFIG, "line N: ...", and nothing after it is
 * applied. */
static void expect_syntax(const char *text, const char *want_err)
{
	struct rec r = {0};
	char err[256];
	int rc = parse(text, &r, err, sizeof(err));
	if (rc != NB_E_CONFIG || strcmp(err, want_err) != 0)
		fail_msg("parse(\"%s\"): %d \"%s\", want \"%s\"", text, rc, err, want_err);
	assert_null(strstr(r.text, "after="));
}

static void test_syntax_errors(void **state)
{
	(void)state;
	expect_syntax("a = 1\nno equals here\nafter = 1\n", "line 2: expected key = value");
	expect_syntax("# c\n\n = v\nafter = 1\n", "line 3: missing key before '='");
	expect_syntax("bad-key = 1\nafter = 1\n", "line 1: bad key 'bad-key'");
	expect_syntax("a = 1\nb c = 1\n", "line 2: bad key 'b c'");
	expect_syntax("a.b = 1\n", "line 1: bad key 'a.b'");
	expect_syntax("a = \"open\nafter = 1\n", "line 1: unbalanced quote");
	expect_syntax("a = close\"\n", "line 1: unbalanced quote");
	expect_syntax("a = \"\n", "line 1: unbalanced quote");
	expect_syntax("\n\n\n\nx\n", "line 5: expected key = value");
	/* CRLF files count lines the same way */
	expect_syntax("a = 1\r\nb = 2\r\noops\r\n", "line 3: expected key = value");
}

static void test_nul_byte(void **state)
{
	(void)state;
	struct rec r = {0};
	char err[128];
	static const char text[] = "a = 1\nb = x\0y\nc = 3\n";
	int rc = nb_config_parse(text, sizeof(text) - 1, rec_cb, &r, err, sizeof(err));
	assert_int_equal(rc, NB_E_CONFIG);
	assert_string_equal(err, "line 2: contains a NUL byte");
	assert_string_equal(r.text, "a=[1]\n");
}

static void test_size_limits(void **state)
{
	(void)state;
	struct rec r = {0};
	char err[128];
	/* a line of exactly NB_CONFIG_LINE_MAX bytes is fine */
	char *text = malloc(NB_CONFIG_MAX + 2);
	memcpy(text, "k = ", 4);
	memset(text + 4, 'v', NB_CONFIG_LINE_MAX - 4);
	text[NB_CONFIG_LINE_MAX] = '\n';
	assert_int_equal(nb_config_parse(text, NB_CONFIG_LINE_MAX + 1, rec_cb, &r, err, sizeof(err)),
			 0);
	assert_int_equal(r.calls, 1);
	/* one byte more is not */
	memcpy(text, "a = 1\nk = ", 10);
	memset(text + 10, 'v', NB_CONFIG_LINE_MAX - 3);
	text[NB_CONFIG_LINE_MAX + 7] = '\n';
	memset(&r, 0, sizeof(r));
	assert_int_equal(
		nb_config_parse(text, NB_CONFIG_LINE_MAX + 8, rec_cb, &r, err, sizeof(err)),
		NB_E_CONFIG);
	snprintf(text, 64, "line 2: longer than %d bytes", NB_CONFIG_LINE_MAX);
	assert_string_equal(err, text);
	/* the whole file has a cap too */
	memset(text, '\n', NB_CONFIG_MAX + 1);
	assert_int_equal(nb_config_parse(text, NB_CONFIG_MAX, rec_cb, &r, err, sizeof(err)), 0);
	assert_int_equal(nb_config_parse(text, NB_CONFIG_MAX + 1, rec_cb, &r, err, sizeof(err)),
			 NB_E_CONFIG);
	snprintf(text, 64, "file larger than %d bytes", NB_CONFIG_MAX);
	assert_string_equal(err, text);
	free(text);
}

static void test_callback_errors(void **state)
{
	(void)state;
	struct rec r = {.fail_on = 2, .fail_code = NB_E_CONFIG, .fail_why = "port must be a number"};
	char err[256];
	const char *text = "a = 1\n\n# c\nb = 2\nc = 3\n";
	assert_int_equal(parse(text, &r, err, sizeof(err)), NB_E_CONFIG);
	assert_string_equal(err, "line 4: port must be a number");
	assert_string_equal(r.text, "a=[1]\nb=[2]\n"); /* stopped there */
	/* the callback's own code is returned; without a message, its text */
	memset(&r, 0, sizeof(r));
	r.fail_on = 1;
	r.fail_code = -ENOMEM;
	assert_int_equal(parse(text, &r, err, sizeof(err)), -ENOMEM);
	char want[128];
	snprintf(want, sizeof(want), "line 1: %s", strerror(ENOMEM));
	assert_string_equal(err, want);
	/* a small err buffer is cut, never overrun */
	char small[8];
	memset(&r, 0, sizeof(r));
	assert_int_equal(parse("x\n", &r, small, sizeof(small)), NB_E_CONFIG);
	assert_string_equal(small, "line 1:");
}

/* The config file feeding nb_options_set, as nb_options_load_config
 * does (config below the command line: overwrite 0). */
static int options_cb(void *arg, const char *key, const char *value, char *err, size_t errsz)
{
	return nb_options_set(arg, key, value, 0, err, errsz);
}

static void test_with_options(void **state)
{
	(void)state;
	struct nb_options o;
	char err[256];
	nb_options_init(&o);
	const char *text = "remote = \"me@example.org:backup\"\n"
			   "port = 2200\n"
			   "delay = 1.5\n"
			   "debug = yes\n"
			   "accept_new_host = no\n";
	assert_int_equal(nb_config_parse(text, strlen(text), options_cb, &o, err, sizeof(err)), 0);
	assert_string_equal(o.remote, "me@example.org:backup");
	assert_int_equal(o.port, 2200);
	assert_int_equal(o.delay_ms, 1500);
	assert_int_equal(o.debug, 1);
	assert_int_equal(o.accept_new_host, 0);

	text = "# settings\ncache = /tmp/c\nfrobnicate = 1\nport = 1\n";
	assert_int_equal(nb_config_parse(text, strlen(text), options_cb, &o, err, sizeof(err)),
			 NB_E_CONFIG);
	assert_string_equal(err, "line 3: unknown option 'frobnicate'");
	assert_string_equal(o.cache, "/tmp/c");
	assert_int_equal(o.port, 2200); /* line 4 never applied */

	text = "port = 70000\n";
	assert_int_equal(nb_config_parse(text, strlen(text), options_cb, &o, err, sizeof(err)),
			 NB_E_CONFIG);
	assert_string_equal(err, "line 1: port must be a number from 1 to 65535, not '70000'");
	nb_options_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_empty_inputs),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_size_limits),
		cmocka_unit_test(test_callback_errors),
		cmocka_unit_test(test_with_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
