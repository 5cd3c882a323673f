/* Unit tests for server/owner.c and the takeover in server/partial.c:
 * a session of the same mount takes a partial over from an older
 * session (another process) that still holds it; a session of another
 * mount, or one that names no mount, is refused and ends nobody. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "server/owner.h"
#include "server/partial.h"
#include "server/root.h"
#include "wire/err.h"
#include "wire/md5.h"
#include "wire/proto.h"
#include "wire/xio.h"
#include "testutil.h"

#define SIZE 4096
#define HELD 1000 /* bytes the old session wrote */

static const uint8_t mount_a[NB_MOUNT_ID_LEN] = {0xa1, 0xa2, 0xa3, 0xa4, 1, 2, 3, 4,
						 5,    6,    7,    8,    9, 10, 11, 12};
static const uint8_t mount_b[NB_MOUNT_ID_LEN] = {0xb1, 0xb2, 0xb3, 0xb4, 1, 2, 3, 4,
						 5,    6,    7,    8,    9, 10, 11, 12};

struct fx {
	char *dir;
	struct nb_root root;
	uint8_t content[SIZE];
	uint8_t md5[NB_MD5_LEN];
	pid_t child;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->dir = tu_mkdtemp("owner");
	assert_non_null(f->dir);
	assert_int_equal(nb_root_open(&f->root, f->dir), 0);
	for (size_t i = 0; i < SIZE; i++)
		f->content[i] = (uint8_t)(i * 7 + 3);
	nb_md5_buf(f->content, SIZE, f->md5);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	if (f->child > 0) {
		kill(f->child, SIGKILL);
		waitpid(f->child, NULL, 0);
	}
	nb_root_close(&f->root);
	tu_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* An older session in another process (the same program, as an old
 * nbfs-server is to a new one): opens the partial as `mount`, writes
 * HELD bytes, says so on a pipe, then waits for ever, as a session
 * blocked on a dead link does. */
static void start_holder(struct fx *f, const uint8_t *mount)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	f->child = fork();
	assert_true(f->child >= 0);
	if (f->child == 0) {
		struct nb_partial part;
		uint64_t off;
		uint8_t prefix[NB_MD5_LEN];
		close(p[0]);
		if (nb_partial_open_as(&part, &f->root, f->md5, SIZE, &off, prefix, mount) != 0 ||
		    nb_partial_write(&part, 0, f->content, HELD) != 0)
			_exit(1);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	char c;
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
}

/* The holder is still alive (not ended by anyone). */
static void assert_holder_alive(struct fx *f)
{
	int st;
	assert_int_equal(waitpid(f->child, &st, WNOHANG), 0);
}

static void test_takeover_same_mount(void **state)
{
	struct fx *f = *state;
	struct nb_partial p;
	uint64_t off = 0;
	uint8_t prefix[NB_MD5_LEN], want[NB_MD5_LEN];
	start_holder(f, mount_a);
	long long t0 = nb_xio_now_ms();
	assert_int_equal(nb_partial_open_as(&p, &f->root, f->md5, SIZE, &off, prefix, mount_a), 0);
	long long took = nb_xio_now_ms() - t0;
	/* The old session was ended by SIGTERM, not left to time out... */
	int st;
	assert_int_equal(waitpid(f->child, &st, 0), f->child);
	f->child = 0;
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGTERM);
	assert_true(took < NB_OWNER_WAIT_MS);
	/* ...and what it had received is offered for resuming. */
	assert_int_equal(off, HELD);
	nb_md5_buf(f->content, HELD, want);
	assert_memory_equal(prefix, want, NB_MD5_LEN);
	/* The new holder is on record, and finishes the upload. */
	struct nb_owner o;
	assert_int_equal(nb_owner_read(p.dirfd, p.name, &o), 0);
	assert_int_equal(o.pid, getpid());
	assert_true(o.has_mount);
	assert_memory_equal(o.mount, mount_a, NB_MOUNT_ID_LEN);
	assert_int_equal(nb_partial_write(&p, HELD, f->content + HELD, SIZE - HELD), 0);
	int dirfd = f->root.fd;
	assert_int_equal(nb_partial_publish(&p, dirfd, "done.bin", NULL, 0644, 1, 0), 0);
	size_t n;
	char *done_path = tu_join(f->dir, "done.bin");
	char *got = tu_read_file(done_path, &n);
	free(done_path);
	assert_int_equal(n, SIZE);
	assert_memory_equal(got, f->content, SIZE);
	free(got);
	/* The record went with the lock. */
	int dfd = nb_partial_dirfd(&f->root);
	char hex[NB_MD5_HEX];
	nb_md5_hex(f->md5, hex);
	assert_int_equal(nb_owner_read(dfd, hex, &o), -ENOENT);
	nb_xio_close(dfd);
}

static void test_other_mount_refused(void **state)
{
	struct fx *f = *state;
	struct nb_partial p;
	uint64_t off;
	uint8_t prefix[NB_MD5_LEN];
	start_holder(f, mount_a);
	assert_int_equal(nb_partial_open_as(&p, &f->root, f->md5, SIZE, &off, prefix, mount_b),
			 NB_E_BUSY);
	/* Told who holds it, and since when. */
	assert_int_equal(p.busy.pid, f->child);
	assert_true(p.busy.has_mount);
	assert_memory_equal(p.busy.mount, mount_a, NB_MOUNT_ID_LEN);
	assert_true(p.busy.since > 0);
	/* A client that names no mount cannot take anything over either. */
	assert_int_equal(nb_partial_open_as(&p, &f->root, f->md5, SIZE, &off, prefix, NULL),
			 NB_E_BUSY);
	assert_int_equal(p.busy.pid, f->child);
	assert_holder_alive(f);
	/* The holder's bytes are untouched. */
	struct stat st;
	char *path = tu_join(f->dir, ".nbfs/partial");
	assert_int_equal(stat(path, &st), 0);
	free(path);
	kill(f->child, SIGKILL);
	waitpid(f->child, NULL, 0);
	f->child = 0;
	/* Once it is gone, the other mount resumes from what it left. */
	assert_int_equal(nb_partial_open_as(&p, &f->root, f->md5, SIZE, &off, prefix, mount_b), 0);
	assert_int_equal(off, HELD);
	nb_partial_close(&p, 0);
}

/* Two uploads of one content in one process (one session) stay EBUSY:
 * a session never ends itself. */
static void test_same_process_busy(void **state)
{
	struct fx *f = *state;
	struct nb_partial p, q;
	uint64_t off;
	uint8_t prefix[NB_MD5_LEN];
	assert_int_equal(nb_partial_open_as(&p, &f->root, f->md5, SIZE, &off, prefix, mount_a), 0);
	assert_int_equal(nb_partial_open_as(&q, &f->root, f->md5, SIZE, &off, prefix, mount_a),
			 NB_E_BUSY);
	assert_int_equal(q.busy.pid, getpid());
	nb_partial_close(&p, 0);
}

/* A record whose pid now belongs to another program, or whose start
 * time does not match, names nobody: no signal is sent. */
static void test_alive_checks(void **state)
{
	struct fx *f = *state;
	struct nb_partial p;
	uint64_t off;
	uint8_t prefix[NB_MD5_LEN];
	start_holder(f, mount_a);
	struct nb_owner o;
	int dfd = nb_partial_dirfd(&f->root);
	char hex[NB_MD5_HEX];
	nb_md5_hex(f->md5, hex);
	assert_int_equal(nb_owner_read(dfd, hex, &o), 0);
	assert_int_equal(o.pid, f->child);
	assert_int_equal(nb_owner_alive(&o), 1);
	struct nb_owner wrong = o;
	wrong.start++;
	assert_int_equal(nb_owner_alive(&wrong), 0);
	/* Another program under that pid: `sleep`. */
	pid_t sl = fork();
	assert_true(sl >= 0);
	if (sl == 0) {
		execlp("sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	usleep(200 * 1000); /* let it exec */
	struct nb_owner other = {.pid = sl};
	char path[64], text[1024];
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)sl);
	FILE *sf = fopen(path, "r");
	assert_non_null(sf);
	size_t tn = fread(text, 1, sizeof(text) - 1, sf);
	fclose(sf);
	text[tn] = 0;
	char *save = NULL, *tok = strtok_r(strrchr(text, ')') + 1, " ", &save);
	for (int field = 3; tok && field < 22; field++)
		tok = strtok_r(NULL, " ", &save);
	assert_non_null(tok);
	other.start = strtoull(tok, NULL, 10);
	assert_int_equal(nb_owner_alive(&other), 0);
	kill(sl, SIGKILL);
	waitpid(sl, NULL, 0);
	/* A forged record of our mount for the holder, with a wrong start
	 * time: the holder is not ended, the open is refused. */
	char rec[128];
	snprintf(rec, sizeof(rec), "%s/.nbfs/partial/" NB_OWNER_PREFIX "%s", f->dir, hex);
	FILE *fp = fopen(rec, "w");
	assert_non_null(fp);
	fprintf(fp, "nbfs-owner-1 %ld %llu ", (long)f->child, o.start + 1);
	for (int i = 0; i < NB_MOUNT_ID_LEN; i++)
		fprintf(fp, "%02x", mount_a[i]);
	fprintf(fp, "\n");
	fclose(fp);
	assert_int_equal(nb_partial_open_as(&p, &f->root, f->md5, SIZE, &off, prefix, mount_a),
			 NB_E_BUSY);
	assert_holder_alive(f);
	nb_xio_close(dfd);
}

/* Records that do not parse are nobody's. */
static void test_bad_records(void **state)
{
	struct fx *f = *state;
	int dfd = nb_partial_dirfd(&f->root);
	static const char *bad[] = {"", "nbfs-owner-1\n", "nbfs-owner-1 0 5 -\n",
				    "nbfs-owner-1 12 5 abc\n", "nbfs-owner-1 12 5 zz000000000000000000000000000000\n",
				    "other 12 5 -\n"};
	struct nb_owner o;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *rec = tu_join(f->dir, ".nbfs/partial/" NB_OWNER_PREFIX "x");
		assert_int_equal(tu_write_file(rec, bad[i], strlen(bad[i])), 0);
		free(rec);
		if (nb_owner_read(dfd, "x", &o) != NB_E_PROTO)
			fail_msg("record '%s' was accepted", bad[i]);
	}
	char *rec = tu_join(f->dir, ".nbfs/partial/" NB_OWNER_PREFIX "x");
	assert_int_equal(tu_write_file(rec, "nbfs-owner-1 12 5 -\n", 20), 0);
	free(rec);
	assert_int_equal(nb_owner_read(dfd, "x", &o), 0);
	assert_int_equal(o.pid, 12);
	assert_false(o.has_mount);
	/* The sweep removes a record whose partial is gone. */
	nb_partial_sweep(&f->root, 3600);
	assert_int_equal(nb_owner_read(dfd, "x", &o), -ENOENT);
	nb_xio_close(dfd);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_takeover_same_mount), T(test_other_mount_refused), T(test_same_process_busy),
		T(test_alive_checks),        T(test_bad_records),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
