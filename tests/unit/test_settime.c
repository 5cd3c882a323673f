/* Unit tests for server/settime.c: SETTIME sets a directory's mtime
 * beneath the root and nowhere else, through nb_settime_apply and
 * through a session (its answers, its flush of held PUT_SMALLs, a bad
 * frame ending the session). */
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
#include <unistd.h>

#include "server/session.h"
#include "server/settime.h"
#include "wire/err.h"
#include "wire/frame.h"
#include "wire/md5.h"
#include "wire/proto.h"
#include "testutil.h"

#define T1 1300000000LL /* 2011 */

struct fx {
	char *dir, *outside;
	struct nb_root root;
	struct nb_buf *out; /* what the session wrote */
	struct nb_stream stream;
	struct nb_session s;
	struct nb_buf *req, *reply;
	char paths[8][4200];
	int np;
};

static int capture_write(void *ctx, const void *buf, size_t n)
{
	return nb_buf_put(ctx, buf, n);
}

static const char *at(struct fx *f, const char *rel)
{
	char *p = f->paths[f->np++ % 8];
	snprintf(p, sizeof(f->paths[0]), "%s/%s", f->dir, rel);
	return p;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->dir = tu_mkdtemp("settime");
	f->outside = tu_mkdtemp("settime-out");
	assert_non_null(f->dir);
	assert_non_null(f->outside);
	assert_int_equal(nb_root_open(&f->root, f->dir), 0);
	f->out = tu_buf(16 * NB_FRAME_MAX);
	f->stream = (struct nb_stream){NULL, capture_write, f->out};
	assert_int_equal(nb_session_init(&f->s, f->root, &f->stream), 0);
	f->req = tu_buf(NB_FRAME_MAX + NB_FRAME_HDR);
	f->reply = tu_buf(NB_FRAME_MAX);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	nb_session_free(&f->s);
	nb_root_close(&f->root);
	nb_buf_free(f->out);
	nb_buf_free(f->req);
	nb_buf_free(f->reply);
	tu_rmtree(f->dir);
	tu_rmtree(f->outside);
	free(f->dir);
	free(f->outside);
	free(f);
	return 0;
}

static struct timespec mtime_of(const char *path)
{
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	return st.st_mtim;
}

static void assert_mtime(const char *path, long long sec, long nsec)
{
	struct timespec t = mtime_of(path);
	if ((long long)t.tv_sec != sec || t.tv_nsec != nsec)
		fail_msg("%s: mtime %lld.%09ld, want %lld.%09ld", path, (long long)t.tv_sec,
			 t.tv_nsec, sec, nsec);
}

static void test_apply(void **state)
{
	struct fx *f = *state;
	assert_int_equal(mkdir(at(f, "a"), 0755), 0);
	assert_int_equal(mkdir(at(f, "a/b"), 0755), 0);
	struct stat before;
	assert_int_equal(stat(at(f, "a/b"), &before), 0);
	assert_int_equal(nb_settime_apply(&f->root, "a/b", T1, 123456789), 0);
	assert_mtime(at(f, "a/b"), T1, 123456789);
	struct stat after;
	assert_int_equal(stat(at(f, "a/b"), &after), 0);
	assert_true(after.st_atim.tv_sec == before.st_atim.tv_sec &&
		    after.st_atim.tv_nsec == before.st_atim.tv_nsec); /* atime left alone */
	/* the root itself */
	assert_int_equal(nb_settime_apply(&f->root, "", T1 + 1, 0), 0);
	assert_mtime(f->dir, T1 + 1, 0);
	/* a directory without read permission (d-wx) still gets it */
	assert_int_equal(mkdir(at(f, "a/wx"), 0300), 0);
	assert_int_equal(nb_settime_apply(&f->root, "a/wx", T1 + 2, 0), 0);
	assert_mtime(at(f, "a/wx"), T1 + 2, 0);
	assert_int_equal(chmod(at(f, "a/wx"), 0755), 0); /* so teardown can list it */
	/* not a directory, missing, malformed */
	assert_int_equal(tu_write_file(at(f, "a/file"), "x", 1), 0);
	struct timespec ft = mtime_of(at(f, "a/file"));
	assert_int_equal(nb_settime_apply(&f->root, "a/file", T1, 0), -ENOTDIR);
	assert_true(mtime_of(at(f, "a/file")).tv_sec == ft.tv_sec);
	assert_int_equal(nb_settime_apply(&f->root, "a/none", T1, 0), -ENOENT);
	assert_int_equal(nb_settime_apply(&f->root, "none/x", T1, 0), -ENOENT);
	assert_int_equal(nb_settime_apply(&f->root, "a/../a", T1, 0), -EINVAL);
	assert_int_equal(nb_settime_apply(&f->root, "/a", T1, 0), -EINVAL);
	assert_int_equal(nb_settime_apply(&f->root, ".nbfs", T1, 0), -EPERM);
	assert_int_equal(nb_settime_apply(&f->root, "a", T1, 1000000000u), -EINVAL);
}

/* Symlinks are never followed, the last component included: a planted
 * link leads nowhere outside the root, and the directory it names keeps
 * its time. A link as the last component gets the time itself (the
 * link's own, as cp -a gave it in the mount); one on the way is
 * refused. */
static void test_confined(void **state)
{
	struct fx *f = *state;
	char target[4200];
	snprintf(target, sizeof(target), "%s/victim", f->outside);
	assert_int_equal(mkdir(target, 0755), 0);
	assert_int_equal(mkdir(at(f, "in"), 0755), 0);
	struct timespec vt = mtime_of(target), ot = mtime_of(f->outside), it = mtime_of(at(f, "in"));
	assert_int_equal(symlink(target, at(f, "link")), 0);
	assert_int_equal(symlink(f->outside, at(f, "out")), 0);
	assert_int_equal(symlink("in", at(f, "rel")), 0);
	assert_int_equal(nb_settime_apply(&f->root, "link", T1, 1), 0);
	assert_mtime(at(f, "link"), T1, 1);
	assert_int_equal(nb_settime_apply(&f->root, "out/victim", T1, 0), -ENOTDIR);
	assert_int_equal(nb_settime_apply(&f->root, "rel", T1, 2), 0);
	assert_mtime(at(f, "rel"), T1, 2);
	assert_true(mtime_of(target).tv_sec == vt.tv_sec && mtime_of(target).tv_nsec == vt.tv_nsec);
	assert_true(mtime_of(f->outside).tv_sec == ot.tv_sec &&
		    mtime_of(f->outside).tv_nsec == ot.tv_nsec);
	assert_true(mtime_of(at(f, "in")).tv_sec == it.tv_sec &&
		    mtime_of(at(f, "in")).tv_nsec == it.tv_nsec);
}

/* Hand f->req to the session. */
static int handle(struct fx *f)
{
	uint8_t type;
	struct nb_buf *payload = tu_buf(NB_FRAME_MAX);
	assert_int_equal(nb_frame_parse(f->req, &type, payload), 0);
	int r = nb_session_handle(&f->s, type, payload);
	nb_buf_free(payload);
	return r;
}

/* The next reply: its type, with its id checked; f->reply holds the
 * rest of its payload. */
static uint8_t next_reply(struct fx *f, uint32_t want_id)
{
	uint8_t type = 0;
	uint32_t id = 0;
	assert_int_equal(nb_frame_parse(f->out, &type, f->reply), 0);
	if (type != NB_MSG_HELLO) {
		assert_int_equal(nb_proto_id_decode(f->reply, &id), 0);
		assert_int_equal(id, want_id);
	}
	return type;
}

static void expect_ok(struct fx *f, uint32_t id)
{
	assert_int_equal(next_reply(f, id), NB_MSG_OK);
	assert_int_equal(nb_proto_empty_decode(f->reply), 0);
}

static void expect_error(struct fx *f, uint32_t id, uint32_t code)
{
	struct nb_error e;
	assert_int_equal(next_reply(f, id), NB_MSG_ERROR);
	assert_int_equal(nb_proto_error_decode(f->reply, &e), 0);
	assert_int_equal(e.code, code);
	nb_proto_error_free(&e);
}

static void hello(struct fx *f)
{
	assert_int_equal(nb_proto_hello_encode(f->req, NB_PROTO_VERSION, "test"), 0);
	assert_int_equal(handle(f), 0);
	assert_int_equal(next_reply(f, 0), NB_MSG_HELLO);
}

static int settime(struct fx *f, uint32_t id, const char *path, int64_t s, uint32_t ns)
{
	assert_int_equal(nb_proto_settime_encode(f->req, id, path, s, ns), 0);
	return handle(f);
}

static void test_session(void **state)
{
	struct fx *f = *state;
	assert_int_equal(mkdir(at(f, "d"), 0755), 0);
	hello(f);
	assert_int_equal(settime(f, 7, "d", T1, 5), 0);
	expect_ok(f, 7);
	assert_mtime(at(f, "d"), T1, 5);
	assert_int_equal(settime(f, 8, "", T1, 6), 0);
	expect_ok(f, 8);
	assert_mtime(f->dir, T1, 6);
	/* a failure is answered with its errno; the session goes on */
	assert_int_equal(settime(f, 9, "missing", T1, 0), 0);
	expect_error(f, 9, ENOENT);
	assert_int_equal(tu_write_file(at(f, "file"), "x", 1), 0);
	assert_int_equal(settime(f, 10, "file", T1, 0), 0);
	expect_error(f, 10, ENOTDIR);
	/* a symlink: its own time, not its target's */
	assert_int_equal(symlink("d", at(f, "ln")), 0);
	struct timespec dt = mtime_of(at(f, "d"));
	assert_int_equal(settime(f, 12, "ln", T1 + 3, 7), 0);
	expect_ok(f, 12);
	assert_mtime(at(f, "ln"), T1 + 3, 7);
	assert_mtime(at(f, "d"), dt.tv_sec, dt.tv_nsec);
	assert_int_equal(nb_proto_path_encode(f->req, 11, NB_MSG_STAT, "d"), 0);
	assert_int_equal(handle(f), 0);
	assert_int_equal(next_reply(f, 11), NB_MSG_ATTR);
	assert_int_equal(nb_buf_len(f->out), 0);
}

/* A PUT_SMALL held in the batch beneath the directory is published (and
 * answered) before the time is set, so its rename does not move the
 * time on again. */
static void test_flushes_batch(void **state)
{
	struct fx *f = *state;
	static const char data[] = "small file";
	struct nb_put_open m = {.path = "d/e/small", .size = sizeof(data) - 1, .mode = 0644,
				.mtime_s = T1, .base_kind = NB_BASE_ANY};
	uint8_t *dst;
	nb_md5_buf(data, m.size, m.md5);
	hello(f);
	assert_int_equal(nb_proto_put_small_reserve(f->req, 20, &m, &dst), 0);
	memcpy(dst, data, m.size);
	assert_int_equal(nb_frame_finish(f->req), 0);
	assert_int_equal(handle(f), 0);
	assert_int_equal(nb_buf_len(f->out), 0); /* held */
	assert_int_equal(settime(f, 21, "d/e", T1 + 10, 0), 0);
	expect_ok(f, 20); /* the file first */
	expect_ok(f, 21);
	assert_int_equal(access(at(f, "d/e/small"), F_OK), 0);
	assert_mtime(at(f, "d/e"), T1 + 10, 0);
	/* a SETTIME elsewhere leaves a held file held */
	m.path = "other/small";
	assert_int_equal(nb_proto_put_small_reserve(f->req, 22, &m, &dst), 0);
	memcpy(dst, data, m.size);
	assert_int_equal(nb_frame_finish(f->req), 0);
	assert_int_equal(handle(f), 0);
	assert_int_equal(settime(f, 23, "d", T1 + 11, 0), 0);
	expect_ok(f, 23);
	assert_int_equal(nb_buf_len(f->out), 0);
	assert_int_equal(nb_session_flush(&f->s), 0);
	expect_ok(f, 22);
}

/* A SETTIME that does not decode is a protocol violation: ERROR with
 * its id, and the session ends. */
static void test_bad_frame(void **state)
{
	struct fx *f = *state;
	hello(f);
	assert_int_equal(nb_frame_begin_id(f->req, NB_MSG_SETTIME, 30), 0);
	assert_int_equal(nb_buf_put_cstr(f->req, "d"), 0);
	assert_int_equal(nb_buf_put_i64(f->req, T1), 0);
	assert_int_equal(nb_buf_put_u32(f->req, 1000000000u), 0);
	assert_int_equal(nb_frame_finish(f->req), 0);
	assert_int_equal(handle(f), NB_E_PROTO);
	expect_error(f, 30, EPROTO);
	/* trailing bytes, in a fresh session */
	nb_session_free(&f->s);
	assert_int_equal(nb_session_init(&f->s, f->root, &f->stream), 0);
	hello(f);
	assert_int_equal(nb_frame_begin_id(f->req, NB_MSG_SETTIME, 31), 0);
	assert_int_equal(nb_buf_put_cstr(f->req, ""), 0);
	assert_int_equal(nb_buf_put_i64(f->req, T1), 0);
	assert_int_equal(nb_buf_put_u32(f->req, 0), 0);
	assert_int_equal(nb_buf_put_u8(f->req, 0), 0);
	assert_int_equal(nb_frame_finish(f->req), 0);
	assert_int_equal(handle(f), NB_E_PROTO);
	expect_error(f, 31, EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_apply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_confined, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flushes_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_frame, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
