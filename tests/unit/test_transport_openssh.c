/* Unit tests for sync/transport_openssh.c: the ssh command line, and the
 * transport run against stand-in "ssh" programs (shell scripts) that
 * behave as the real client does: start the command and relay bytes,
 * fail on the host key or authentication, stall, exit, or flood their
 * stderr. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sync/transport.h"
#include "testutil.h"
#include "wire/err.h"
#include "wire/xio.h"

static char *dir;

static int setup(void **state)
{
	(void)state;
	dir = tu_mkdtemp("openssh");
	return dir ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	tu_rmtree(dir);
	free(dir);
	return 0;
}

/* A stand-in ssh: body runs under /bin/sh with ssh's arguments. */
static char *fake_ssh(const char *name, const char *body)
{
	char *path = tu_join(dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	assert_int_equal(chmod(path, 0755), 0);
	return path;
}

#define STARTED "echo 'OpenSSH_9.2p1' >&2; echo \"debug1: Sending command: $*\" >&2; "

static int open_with(const char *program, long timeout_ms, struct nb_transport **t, char *why,
		     size_t whysz)
{
	struct nb_ssh_opts o = {.host = "10.9.8.7", .alias = "box", .openssh = 1, .user = "ann",
				.timeout_ms = (int)timeout_ms, .ssh_program = program,
				.known_hosts_note = "/kh/file"};
	return nb_transport_openssh_open(&o, "'nbfs-server' '--root' 'd'", t, why, whysz);
}

static int has_arg(const struct nb_openssh_argv *a, const char *arg)
{
	for (int i = 0; i < a->argc; i++)
		if (!strcmp(a->argv[i], arg))
			return 1;
	return 0;
}

/* Every nbfs option becomes the ssh option that means the same; the
 * host goes as the user named it, after "--", with the command last. */
static void test_argv(void **state)
{
	(void)state;
	struct nb_openssh_argv a;
	struct nb_ssh_opts o = {.host = "10.0.0.1", .alias = "box", .port = 2200, .user = "ann",
				.identity = "/k/id", .known_hosts = "/k/kh", .accept_new_host = 1,
				.compress = 1, .timeout_ms = 6000, .ssh_config = "/k/cfg",
				.ciphers = "aes128-gcm@openssh.com"};
	assert_int_equal(nb_openssh_argv(&o, "/usr/bin/ssh", "CMD", &a), 0);
	assert_string_equal(a.argv[0], "/usr/bin/ssh");
	assert_string_equal(a.argv[a.argc - 1], "CMD");
	assert_string_equal(a.argv[a.argc - 2], "box");
	assert_string_equal(a.argv[a.argc - 3], "--");
	assert_null(a.argv[a.argc]);
	const char *want[] = {"-v", "-T", "-x", "-a", "-oBatchMode=yes", "-oConnectTimeout=6",
			      "-oControlMaster=no", "-oControlPath=none", "-oRemoteCommand=none",
			      "-oServerAliveInterval=2", "-oServerAliveCountMax=3", "-p2200", "ann",
			      "/k/id", "-oIdentitiesOnly=yes", "-oUserKnownHostsFile=/k/kh",
			      "-oStrictHostKeyChecking=accept-new", "-C", "/k/cfg",
			      "-oCiphers=aes128-gcm@openssh.com"};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (!has_arg(&a, want[i]))
			fail_msg("missing %s", want[i]);
	}
	/* Nothing set: ssh's own choices, and the resolved host if there
	 * is no alias. */
	struct nb_ssh_opts bare = {.host = "10.0.0.1"};
	assert_int_equal(nb_openssh_argv(&bare, "ssh", "CMD", &a), 0);
	assert_string_equal(a.argv[a.argc - 2], "10.0.0.1");
	const char *absent[] = {"-C", "-l", "-i", "-F", "-oIdentitiesOnly=yes",
				"-oStrictHostKeyChecking=accept-new"};
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
		if (has_arg(&a, absent[i]))
			fail_msg("unexpected %s", absent[i]);
	assert_true(has_arg(&a, "-oConnectTimeout=30"));
	for (int i = 0; i < a.argc; i++)
		assert_null(strstr(a.argv[i], "Ciphers"));
}

static void test_classify(void **state)
{
	(void)state;
	assert_int_equal(nb_openssh_classify("Host key verification failed."), NB_E_HOSTKEY);
	assert_int_equal(nb_openssh_classify("@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @"),
			 NB_E_HOSTKEY);
	assert_int_equal(nb_openssh_classify("ann@box: Permission denied (publickey)."), NB_E_AUTH);
	assert_int_equal(nb_openssh_classify("ssh: connect to host box port 22: Connection refused"),
			 NB_E_CONN);
	assert_int_equal(nb_openssh_classify("ssh: Could not resolve hostname box"), NB_E_CONN);
	assert_int_equal(nb_openssh_classify(""), NB_E_CONN);
}

/* A session that starts relays bytes both ways; the arguments reached
 * the program; closing it ends the program. */
static void test_relay(void **state)
{
	(void)state;
	char *args = tu_join(dir, "args");
	char body[8192];
	snprintf(body, sizeof(body), "printf '%%s\\n' \"$@\" > '%s'; " STARTED "exec cat", args);
	char *prog = fake_ssh("relay", body);
	struct nb_transport *t = NULL;
	char why[512] = "";
	assert_int_equal(open_with(prog, 5000, &t, why, sizeof(why)), 0);
	assert_int_equal(t->stream.write(t->stream.ctx, "hello", 5), 0);
	char buf[16];
	size_t got = 0;
	while (got < 5) {
		ssize_t k = t->stream.read(t->stream.ctx, buf + got, sizeof(buf) - got);
		assert_true(k > 0);
		got += (size_t)k;
	}
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(t->bytes_out, 5);
	assert_int_equal(t->bytes_in, 5);
	assert_int_equal(t->keepalive(t), 0);
	assert_int_equal(t->readable(t), 0);
	t->close(t);
	char *text = NULL;
	assert_int_equal(nb_xio_read_file(args, 1 << 20, &text, NULL), 0);
	assert_non_null(strstr(text, "--\nbox\n'nbfs-server' '--root' 'd'\n"));
	free(text);
	free(args);
	free(prog);
}

/* ssh that exits before starting the command: its own words, and the
 * class of failure (permanent for host key and authentication). */
static void test_failures(void **state)
{
	(void)state;
	const struct {
		const char *name, *body, *says;
		int want;
	} cases[] = {
		{"hostkey",
		 "echo 'OpenSSH_9.2p1' >&2; echo 'debug1: Connecting to box' >&2; "
		 "echo 'debug1: Server host key: ssh-ed25519 SHA256:AbCd' >&2; "
		 "echo 'Host key verification failed.' >&2; exit 255",
		 "REFUSED: the host 10.9.8.7 is not in /kh/file (its ED25519 key is SHA256:AbCd)",
		 NB_E_HOSTKEY},
		{"changed",
		 "echo 'debug1: Server host key: ecdsa-sha2-nistp256 SHA256:XyZ' >&2; "
		 "echo '@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@' >&2; "
		 "echo 'Host key verification failed.' >&2; exit 255",
		 "the ECDSA host key of 10.9.8.7 has CHANGED (now SHA256:XyZ)", NB_E_HOSTKEY},
		{"auth",
		 "echo 'debug1: Offering public key: /k/one ED25519 SHA256:x explicit' >&2; "
		 "echo 'debug1: Offering public key: /k/two RSA SHA256:y' >&2; "
		 "echo 'ann@box: Permission denied (publickey).' >&2; exit 255",
		 "authentication as ann on 10.9.8.7 failed: no key was accepted (tried /k/one, /k/two",
		 NB_E_AUTH},
		{"refused", "echo 'ssh: connect to host box port 22: Connection refused' >&2; exit 255",
		 "Connection refused", NB_E_CONN},
		{"mute", "exit 255", "ssh exited (status 255) without a message", NB_E_CONN},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *prog = fake_ssh(cases[i].name, cases[i].body);
		struct nb_transport *t = NULL;
		char why[1024] = "";
		assert_int_equal(open_with(prog, 5000, &t, why, sizeof(why)), cases[i].want);
		assert_null(t);
		if (!strstr(why, cases[i].says))
			fail_msg("%s: why is '%s'", cases[i].name, why);
		/* Debug output is not part of the reason. */
		assert_null(strstr(why, "debug1"));
		free(prog);
	}
	struct nb_transport *t = NULL;
	char why[512] = "";
	struct nb_ssh_opts o = {.host = "h", .openssh = 1, .ssh_program = "/nonexistent/ssh"};
	assert_int_equal(nb_transport_openssh_open(&o, "x", &t, why, sizeof(why)), NB_E_CONFIG);
	assert_non_null(strstr(why, "openssh-client"));
}

/* A link that stalls after the start: a read gives up after the timeout
 * (a cut, for the engine), and close does not wait on the stalled ssh. */
static void test_stall(void **state)
{
	(void)state;
	char *prog = fake_ssh("stall", STARTED "exec sleep 30");
	struct nb_transport *t = NULL;
	char why[512] = "";
	assert_int_equal(open_with(prog, 300, &t, why, sizeof(why)), 0);
	char buf[8];
	long long t0 = nb_xio_now_ms();
	assert_int_equal(t->stream.read(t->stream.ctx, buf, sizeof(buf)), NB_E_TIMEOUT);
	long long waited = nb_xio_now_ms() - t0;
	assert_true(waited >= 250 && waited < 3000);
	t0 = nb_xio_now_ms();
	t->close(t);
	assert_true(nb_xio_now_ms() - t0 < 5000);
	free(prog);
}

/* The remote command ends (here: not found, exit 127): end of stream,
 * and keepalive says the link is gone. */
static void test_exit(void **state)
{
	(void)state;
	char *prog = fake_ssh("exit", STARTED "echo 'sh: 1: nbfs-server: not found' >&2; exit 127");
	struct nb_transport *t = NULL;
	char why[512] = "";
	assert_int_equal(open_with(prog, 5000, &t, why, sizeof(why)), 0);
	char buf[8];
	assert_int_equal(t->stream.read(t->stream.ctx, buf, sizeof(buf)), 0);
	assert_int_equal(t->keepalive(t), NB_E_EOF);
	assert_int_equal(t->readable(t), 1);
	t->close(t);
	free(prog);
}

/* ssh -v talks a lot on stderr: far more than a pipe holds must not
 * block it (the transport reads stderr all the time). */
static void test_chatty(void **state)
{
	(void)state;
	char *prog = fake_ssh("chatty", STARTED
			      "i=0; while [ $i -lt 4000 ]; do "
			      "echo \"debug1: channel 0: some chatter line number $i of many\" >&2; "
			      "i=$((i+1)); done; echo done; exec cat");
	struct nb_transport *t = NULL;
	char why[512] = "";
	assert_int_equal(open_with(prog, 10000, &t, why, sizeof(why)), 0);
	char buf[8];
	ssize_t k = 0;
	size_t got = 0;
	while (got < 5 && (k = t->stream.read(t->stream.ctx, buf + got, 5 - got)) > 0)
		got += (size_t)k;
	assert_int_equal(got, 5);
	assert_memory_equal(buf, "done\n", 5);
	t->close(t);
	free(prog);
}

/* Something ssh started in a session of its own keeps stderr open after
 * ssh is gone (a ControlPersist master would): close still returns. */
static void test_lingering_stderr(void **state)
{
	(void)state;
	char *prog = fake_ssh("linger", STARTED "setsid sleep 30 </dev/null >/dev/null & exec cat");
	struct nb_transport *t = NULL;
	char why[512] = "";
	assert_int_equal(open_with(prog, 5000, &t, why, sizeof(why)), 0);
	long long t0 = nb_xio_now_ms();
	t->close(t);
	assert_true(nb_xio_now_ms() - t0 < 5000);
	free(prog);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_argv),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_relay),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_stall),
		cmocka_unit_test(test_exit),
		cmocka_unit_test(test_chatty),
		cmocka_unit_test(test_lingering_stderr),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
