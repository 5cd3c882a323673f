/*
 * Writes the fuzz targets' seed corpus with the project's own encoders,
 * so every seed is a valid conversation the fuzzer can start deep from:
 *
 *   make_corpus DIR    writes DIR/server_frames/, DIR/client_replies/
 *                      and DIR/config/ (made if missing)
 *
 * server_frames: client byte streams of protocol 2, each starting with
 * HELLO, that list, stat, make directories, make symlinks, rename,
 * remove, ping, download, upload (whole, in pieces, several at once,
 * resumed, restarted, aborted, with a wrong MD5, already present,
 * against a base version) and send small files whole (PUT_SMALL) in the
 * tree fuzz_server_frames.c sets up; and a few that break the protocol.
 *
 * client_replies: server byte streams of protocol 2 that answer the
 * rounds of requests fuzz_client_replies.c makes (STAT, LIST, MKDIR,
 * PUT_SMALL, PING together; an upload; a GET), behind its two control
 * bytes (see that file), including hostile ones. The client numbers its
 * requests 1, 2, 3, ... and names an upload by its PUT_OPEN's id.
 *
 * The generated files are checked in; rerun this after a protocol change
 * (after tests/fuzz/run.sh has built it):
 *   rm -rf tests/fuzz/corpus && build-fuzz/make_corpus tests/fuzz/corpus
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "wire/buf.h"
#include "wire/frame.h"
#include "wire/md5.h"
#include "wire/proto.h"

static const char *mc_dir;
static struct nb_buf *mc_out; /* the seed being built */
static struct nb_buf *mc_frame;

static void mc_check(int r, const char *what)
{
	if (r != 0) {
		fprintf(stderr, "make_corpus: %s failed (%d)\n", what, r);
		exit(1);
	}
}

/* Append the frame just encoded in mc_frame to the seed. */
static void mc_add(int r)
{
	mc_check(r, "encode");
	mc_check(nb_buf_put(mc_out, nb_buf_ptr(mc_frame), nb_buf_len(mc_frame)), "append");
}

static void mc_raw(const void *p, size_t n)
{
	mc_check(nb_buf_put(mc_out, p, n), "append");
}

static void mc_mkdir(const char *path)
{
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "make_corpus: %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static void mc_write(const char *target, const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", mc_dir, target);
	mc_mkdir(path);
	snprintf(path, sizeof(path), "%s/%s/%s", mc_dir, target, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(nb_buf_ptr(mc_out), 1, nb_buf_len(mc_out), f) != nb_buf_len(mc_out) ||
	    fclose(f) != 0) {
		fprintf(stderr, "make_corpus: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	nb_buf_reset(mc_out);
}

/* --- client -> server --- */

/* Request ids: each seed numbers its requests from 1, as a client that
 * counts them would; an upload is named by its PUT_OPEN's id (mc_up). */
static uint32_t mc_id, mc_up;

static uint32_t c_next(void)
{
	return ++mc_id;
}

static void c_hello_version(uint32_t version)
{
	mc_id = mc_up = 0;
	mc_add(nb_proto_hello_encode(mc_frame, version, "nbfs 0.1.0"));
}
static void c_hello(void)
{
	c_hello_version(NB_PROTO_VERSION);
}
static void c_stat(const char *p)
{
	mc_add(nb_proto_path_encode(mc_frame, c_next(), NB_MSG_STAT, p));
}
static void c_list(const char *p)
{
	mc_add(nb_proto_path_encode(mc_frame, c_next(), NB_MSG_LIST, p));
}
static void c_mkdir(const char *p, uint32_t mode)
{
	mc_add(nb_proto_mkdir_encode(mc_frame, c_next(), p, mode));
}
static void c_settime(const char *p, int64_t s, uint32_t ns)
{
	mc_add(nb_proto_settime_encode(mc_frame, c_next(), p, s, ns));
}
static void c_ping(void)
{
	mc_add(nb_proto_ping_encode(mc_frame, c_next()));
}
static void c_mount(uint8_t tag, uint32_t idle_s)
{
	struct nb_mount_msg m = {.idle_s = idle_s};
	memset(m.id, tag, sizeof(m.id));
	mc_add(nb_proto_mount_encode(mc_frame, c_next(), &m));
}
static void c_end_id(uint32_t up)
{
	mc_add(nb_proto_put_end_encode(mc_frame, up));
}
static void c_end(void)
{
	c_end_id(mc_up);
}
static void c_abort_id(uint32_t up, int discard)
{
	mc_add(nb_proto_put_abort_encode(mc_frame, up, discard));
}
static void c_abort(int discard)
{
	c_abort_id(mc_up, discard);
}

static void c_data_id(uint32_t up, uint64_t off, const void *p, size_t n)
{
	mc_add(nb_proto_put_data_encode(mc_frame, up, off, p, n));
}
static void c_data(uint64_t off, const void *p, size_t n)
{
	c_data_id(mc_up, off, p, n);
}

static struct nb_put_open c_meta(const char *path, const void *content, size_t size,
				 uint8_t base_kind, uint64_t base_size, int64_t base_mtime_s)
{
	struct nb_put_open m = {.path = (char *)path,
				.size = size,
				.mode = 0644,
				.mtime_s = 1700000000,
				.mtime_ns = 123,
				.base_kind = base_kind,
				.base_size = base_size,
				.base_mtime_s = base_mtime_s};
	nb_md5_buf(content, size, m.md5);
	return m;
}

/* PUT_OPEN; its id, which names the upload from now on. */
static uint32_t c_open_base(const char *path, const void *content, size_t size, uint8_t base_kind,
			    uint64_t base_size, int64_t base_mtime_s)
{
	struct nb_put_open m = c_meta(path, content, size, base_kind, base_size, base_mtime_s);
	mc_up = c_next();
	mc_add(nb_proto_put_open_encode(mc_frame, mc_up, &m));
	return mc_up;
}

/* PUT_STREAM with the key made of byte k; its id names the upload. */
static uint32_t c_stream(const char *path, uint8_t k)
{
	struct nb_put_open m = {.path = (char *)path};
	memset(m.md5, k, NB_MD5_LEN);
	mc_up = c_next();
	mc_add(nb_proto_put_stream_encode(mc_frame, mc_up, &m));
	return mc_up;
}

/* PUT_FINISH of the current upload: content at path. */
static void c_finish(const char *path, const void *content, size_t size)
{
	struct nb_put_open m = c_meta(path, content, size, NB_BASE_ANY, 0, 0);
	mc_add(nb_proto_put_finish_encode(mc_frame, mc_up, &m));
}

static uint32_t c_open(const char *path, const void *content, size_t size)
{
	return c_open_base(path, content, size, NB_BASE_ANY, 0, 0);
}

/* PUT_SMALL of content; with corrupt, one byte differs from what its
 * MD5 says. */
static void c_small_full(const char *path, const void *content, size_t size, uint8_t base_kind,
			 uint64_t base_size, int64_t base_mtime_s, int corrupt)
{
	struct nb_put_open m = c_meta(path, content, size, base_kind, base_size, base_mtime_s);
	uint8_t *dst;
	mc_check(nb_proto_put_small_reserve(mc_frame, c_next(), &m, &dst), "put small");
	if (size)
		memcpy(dst, content, size);
	if (corrupt && size)
		dst[0] ^= 1;
	mc_add(nb_frame_finish(mc_frame));
}

static void c_small(const char *path, const void *content, size_t size)
{
	c_small_full(path, content, size, NB_BASE_ANY, 0, 0, 0);
}

static void c_path2(uint8_t type, const char *a, const char *b)
{
	mc_add(nb_proto_path2_encode(mc_frame, c_next(), type, a, b));
}

static void c_path(uint8_t type, const char *a)
{
	mc_add(nb_proto_path_encode(mc_frame, c_next(), type, a));
}

static void c_unlink_if(const char *path, uint8_t kind, uint64_t size, int64_t mtime_s)
{
	struct nb_unlink_if m = {.path = (char *)path,
				 .base_kind = kind,
				 .base_size = size,
				 .base_mtime_s = mtime_s};
	mc_add(nb_proto_unlink_if_encode(mc_frame, c_next(), &m));
}

static void c_get(const char *path, uint64_t offset, const void *prefix, size_t prefix_len)
{
	struct nb_get g = {.path = (char *)path, .offset = offset, .has_expect = prefix != NULL};
	if (prefix)
		nb_md5_buf(prefix, prefix_len, g.expect);
	mc_add(nb_proto_get_encode(mc_frame, c_next(), &g));
}

static void server_seeds(void)
{
	const char *T = "server_frames";
	static const char hello_txt[] = "hello, nbfs\n"; /* as in fuzz_server_frames.c */
	uint8_t content[2000];
	for (size_t i = 0; i < sizeof(content); i++)
		content[i] = (uint8_t)(i * 13 + 1);

	c_hello();
	c_stat("");
	c_stat("hello.txt");
	c_stat("sub/inner.bin");
	c_stat("out");
	c_stat("fifo");
	c_list("");
	c_list("sub");
	mc_write(T, "stat_list");

	c_hello();
	c_mkdir("newdir/a/b", 0755);
	c_mkdir("sub", 0700);
	c_mkdir("sub/deep", 0);
	c_stat("newdir/a/b");
	c_list("newdir");
	c_ping();
	mc_write(T, "mkdir");

	/* Paths past PATH_MAX (the wire takes up to NB_PATH_MAX): a tree
	 * 5 KiB deep made, written, listed, renamed and taken down. */
	{
		static char deep[6000], file[6100], moved[6100];
		size_t n = 0;
		for (int i = 0; i < 20; i++) {
			if (i)
				deep[n++] = '/';
			memset(deep + n, 'a' + i, 250);
			n += 250;
		}
		deep[n] = 0;
		snprintf(file, sizeof(file), "%s/f", deep);
		snprintf(moved, sizeof(moved), "%s/g", deep);
		c_hello();
		c_mkdir(deep, 0755);
		c_small(file, content, 100);
		c_stat(file);
		c_list(deep);
		c_path2(NB_MSG_RENAME, file, moved);
		c_path(NB_MSG_UNLINK, moved);
		c_path(NB_MSG_RMDIR, deep);
		mc_write(T, "long_path");
	}

	/* MOUNT first, an upload, and a second MOUNT (refused). */
	c_hello();
	c_mount(0x5a, 60);
	c_open("up/mounted.bin", content, sizeof(content));
	c_data(0, content, sizeof(content));
	c_end();
	c_mount(0x5b, 0);
	mc_write(T, "mount");

	/* Streams: one published where it began, one elsewhere after a
	 * resume, one short, one with PUT_END (a violation). */
	c_hello();
	c_mount(0x5c, 60);
	c_stream("st/a.bin", 1);
	c_data(0, content, 1000);
	c_data(1000, content + 1000, 1000);
	c_finish("st/a.bin", content, sizeof(content));
	c_stream("st/b.bin", 2);
	c_data(0, content, 700);
	c_abort(0);
	c_stream("st/b.bin", 2);
	c_data(700, content + 700, 1300);
	c_finish("st/moved/b.bin", content, sizeof(content));
	c_stream("st/c.bin", 3);
	c_data(0, content, 10);
	c_finish("st/c.bin", content, 20);
	c_stream("st/d.bin", 4);
	c_end();
	mc_write(T, "stream");

	/* Directory times: set, refused (a file, a symlink, missing), the
	 * root, one after a held small file beneath it (flushed first). */
	c_hello();
	c_mkdir("t/a", 0755);
	c_settime("t/a", 1300000000, 123456789);
	c_settime("t", -5, 0);
	c_settime("", 1300000000, 0);
	c_settime("hello.txt", 1, 0);
	c_settime("out", 1, 0);
	c_settime("abs", 1, 0);
	c_settime("sub/up/x", 1, 0);
	c_settime("nowhere/x", 1, 0);
	c_small("t/a/s.txt", hello_txt, sizeof(hello_txt) - 1);
	c_settime("t/a", 1300000001, 999999999);
	c_stat("t/a");
	mc_write(T, "settime");

	/* Removals of a version seen: another one (kept), the one seen,
	 * then nothing left; a directory, a symlink on the way, the
	 * reserved directory; one after a held small file of that name. */
	c_hello();
	c_unlink_if("hello.txt", NB_BASE_MATCH, 1, 1);
	c_unlink_if("hello.txt", NB_BASE_ABSENT, 0, 0);
	c_small("u/x.txt", hello_txt, sizeof(hello_txt) - 1);
	c_unlink_if("u/x.txt", NB_BASE_MATCH, sizeof(hello_txt) - 1, 1700000000);
	c_unlink_if("u/x.txt", NB_BASE_ANY, 0, 0);
	c_unlink_if("sub", NB_BASE_ANY, 0, 0);
	c_unlink_if("out/x", NB_BASE_ANY, 0, 0);
	c_unlink_if(".nbfs/publish.lock", NB_BASE_ANY, 0, 0);
	c_stat("u/x.txt");
	mc_write(T, "unlink_if");

	/* New links: where nothing is, the same again (a replay), over a
	 * file, a directory, another link; through a symlink on the way. */
	c_hello();
	c_path2(NB_MSG_SYMLINK_NEW, "nl/a", "../hello.txt");
	c_path2(NB_MSG_SYMLINK_NEW, "nl/a", "../hello.txt");
	c_path2(NB_MSG_SYMLINK_NEW, "nl/a", "elsewhere");
	c_path2(NB_MSG_SYMLINK_NEW, "hello.txt", "x");
	c_path2(NB_MSG_SYMLINK_NEW, "sub", "x");
	c_path2(NB_MSG_SYMLINK_NEW, "out/x", "/etc/passwd");
	c_path2(NB_MSG_SYMLINK_NEW, "nl/b", "");
	c_stat("nl/a");
	mc_write(T, "symlink_new");

	c_hello();
	c_open("up/file.bin", content, sizeof(content));
	c_data(0, content, sizeof(content));
	c_end();
	c_stat("up/file.bin");
	c_list("up");
	mc_write(T, "upload");

	/* Data in pieces with requests in between, as nbfs sends them. */
	c_hello();
	c_open("file.bin", content, sizeof(content));
	c_data(0, content, 700);
	c_stat("hello.txt");
	c_data(700, content + 700, 700);
	c_list("");
	c_mkdir("d", 0755);
	c_get("hello.txt", 0, NULL, 0);
	c_data(1400, content + 1400, 600);
	c_end();
	mc_write(T, "upload_interleaved");

	/* Three uploads open at once, their data alternating, ended out of
	 * order, one aborted. */
	c_hello();
	uint32_t u1 = c_open("p/one.bin", content, 1500);
	uint32_t u2 = c_open("p/two.bin", content + 100, 900);
	uint32_t u3 = c_open("p/three.bin", content + 200, 300);
	for (size_t off = 0; off < 1500; off += 300) {
		c_data_id(u1, off, content + off, 300);
		if (off < 900)
			c_data_id(u2, off, content + 100 + off, 300);
		if (off == 0)
			c_data_id(u3, 0, content + 200, 100);
	}
	c_stat("p");
	c_end_id(u2);
	c_abort_id(u3, 0);
	c_end_id(u1);
	c_list("p");
	mc_write(T, "uploads_parallel");

	/* One upload more than a session may hold open, and ids reused. */
	c_hello();
	for (int i = 0; i < 17; i++) {
		char name[32];
		snprintf(name, sizeof(name), "cap/%d", i);
		c_open(name, content + i, 100);
	}
	c_end_id(5);
	c_abort_id(1, 1);
	c_open("cap/again", content + 50, 100);
	mc_add(nb_proto_path_encode(mc_frame, 2, NB_MSG_STAT, "")); /* upload 2 is open */
	mc_write(T, "upload_cap");

	/* Abort keeping the partial, then resume from the offer. */
	c_hello();
	c_open("r.bin", content, sizeof(content));
	c_data(0, content, 1000);
	c_abort(0);
	c_open("r.bin", content, sizeof(content));
	c_data(1000, content + 1000, 1000);
	c_end();
	mc_write(T, "upload_resume");

	/* A restart from offset 0, then a discard. */
	c_hello();
	c_open("s.bin", content, sizeof(content));
	c_data(0, content, 500);
	c_data(0, content, sizeof(content));
	c_end();
	c_open("t.bin", content, 100);
	c_data(0, content, 50);
	c_abort(1);
	mc_write(T, "upload_restart_discard");

	/* Content that does not match its MD5, then a gap (a violation). */
	c_hello();
	c_open("bad.bin", content, sizeof(content));
	content[0] ^= 1;
	c_data(0, content, sizeof(content));
	content[0] ^= 1;
	c_end();
	c_open("gap.bin", content, 100);
	c_data(10, content, 10);
	c_end();
	mc_write(T, "upload_failures");
	/* Data past the announced size (a violation). */
	c_hello();
	c_open("big.bin", content, 100);
	c_data(0, content, 200);
	c_abort(0);
	mc_write(T, "upload_past_size");

	/* The server already holds this content: OK at once. */
	c_hello();
	c_open("hello.txt", hello_txt, sizeof(hello_txt) - 1);
	c_open("sub", content, 10);
	c_stat("hello.txt");
	mc_write(T, "already_present");

	/* Paths that must be refused, and an unknown request type. */
	c_hello();
	c_stat("../outside");
	c_stat("/etc");
	c_stat(".nbfs");
	c_stat("a//b");
	c_list("out");
	c_list("abs");
	c_list("sub/up");
	c_mkdir("out/x", 0755);
	c_mkdir("sub/up/x", 0755);
	c_open("secret", content, 10);
	c_open("out/x", content, 10);
	c_small("out/y", content, 10);
	c_small("sub/up/z", content, 10);
	c_small(".nbfs/partial/x", content, 10);
	mc_check(nb_frame_begin_id(mc_frame, 99, c_next()), "begin");
	mc_add(nb_frame_finish(mc_frame));
	c_list("");
	mc_write(T, "refused");

	/* Symlinks, renames and removals. */
	c_hello();
	c_path2(NB_MSG_SYMLINK, "ln", "hello.txt");
	c_path2(NB_MSG_SYMLINK, "new/dir/up", "../../../outside");
	c_stat("ln");
	c_path2(NB_MSG_RENAME, "hello.txt", "moved/h.txt");
	c_path2(NB_MSG_RENAME, "sub", "sub2");
	c_path2(NB_MSG_RENAME, "out", "sub2/deep/out");
	c_path(NB_MSG_UNLINK, "empty");
	c_path(NB_MSG_UNLINK, "sub2");
	c_path(NB_MSG_RMDIR, "sub2/deep");
	c_path(NB_MSG_RMDIR, "new");
	c_list("");
	c_list("sub2/deep");
	mc_write(T, "namespace");

	/* Downloads: whole, resumed from a matching prefix, refused. */
	uint8_t inner[300]; /* sub/inner.bin, as in fuzz_server_frames.c */
	for (size_t i = 0; i < sizeof(inner); i++)
		inner[i] = (uint8_t)(i * 7);
	c_hello();
	c_get("hello.txt", 0, NULL, 0);
	c_get("sub/inner.bin", 100, inner, 100);
	c_get("sub/inner.bin", 100, content, 100);
	c_get("empty", 0, NULL, 0);
	c_get("sub", 0, NULL, 0);
	c_get("out", 0, NULL, 0);
	c_get("missing", 0, NULL, 0);
	mc_write(T, "get");

	/* Uploads that name the version they replace: a conflict when the
	 * server holds another one. */
	c_hello();
	c_open_base("hello.txt", content, 10, NB_BASE_ABSENT, 0, 0);
	c_open_base("hello.txt", content, 10, NB_BASE_MATCH, sizeof(hello_txt) - 1, 1700000000);
	c_data(0, content, 10);
	c_end();
	c_open_base("sub/inner.bin", content, 10, NB_BASE_MATCH, 1, 1);
	c_open_base("fresh.txt", content, 10, NB_BASE_ABSENT, 0, 0);
	c_data(0, content, 10);
	c_end();
	mc_write(T, "upload_base");

	/* Small files in one request each, held and published together:
	 * new directories, an empty file, the content already there, a
	 * conflict, a wrong MD5, the same path twice, then a STAT that
	 * publishes the batch, and more after it. */
	c_hello();
	c_small("s/a.txt", content, 100);
	c_small("s/b/c.txt", content + 100, 200);
	c_small("s/empty", "", 0);
	c_small("hello.txt", hello_txt, sizeof(hello_txt) - 1);
	c_small_full("sub/inner.bin", content, 50, NB_BASE_ABSENT, 0, 0, 0);
	c_small_full("s/bad", content, 300, NB_BASE_ANY, 0, 0, 1);
	c_small_full("s/new", content, 30, NB_BASE_MATCH, 1, 1, 0);
	c_small("s/a.txt", content + 1, 100);
	c_ping();
	c_mkdir("s/d", 0755);
	c_mkdir("s/a.txt/x", 0755);
	c_stat("s/a.txt");
	c_small("s/d/e", content, 1000);
	c_get("s/d/e", 0, NULL, 0);
	c_list("s");
	mc_write(T, "put_small");

	/* Every request that publishes the batch before it is handled. */
	c_hello();
	uint32_t up = c_open("f/upload", content, 10);
	c_small("f/1", content, 1);
	c_stat("f");
	c_small("f/2", content, 2);
	c_list("f");
	c_small("f/3", content, 3);
	c_get("f/3", 0, NULL, 0);
	c_small("f/4", content, 4);
	c_path(NB_MSG_UNLINK, "f/1");
	c_small("f/5", content, 5);
	c_path(NB_MSG_RMDIR, "f");
	c_small("f/6", content, 6);
	c_path2(NB_MSG_RENAME, "f/2", "f/2b");
	c_small("f/7", content, 7);
	c_path2(NB_MSG_SYMLINK, "f/ln", "7");
	c_small("f/8", content, 8);
	c_open("f/open", content, 20);
	c_small("f/9", content, 9);
	c_data_id(up, 0, content, 10);
	c_end_id(up);
	c_small("f/10", content, 10);
	mc_write(T, "put_small_flushes");

	/* More small files than a batch holds. */
	c_hello();
	for (int i = 0; i < 260; i++) {
		char name[32];
		snprintf(name, sizeof(name), "many/%d", i);
		c_small(name, content + (i % 100), (size_t)(i % 7));
	}
	mc_write(T, "put_small_many");

	/* A PUT_SMALL held when the session breaks: discarded. */
	c_hello();
	c_small("lost.txt", content, 100);
	c_data_id(1234, 0, "x", 1);
	mc_write(T, "put_small_violation");

	/* Protocol violations: data without an upload, a second HELLO, a
	 * frame with a zero length, a frame without an id. */
	c_hello();
	c_data_id(7, 0, "x", 1);
	mc_write(T, "data_without_open");
	c_hello();
	c_hello();
	mc_write(T, "hello_twice");
	c_hello();
	c_stat("");
	mc_raw("\0\0\0\0\x0a", 5);
	mc_write(T, "zero_length");
	c_hello();
	mc_raw("\0\0\0\x03\x1a\0\0", 7);
	mc_write(T, "no_id");

	/* A client of protocol 1 is refused. */
	c_hello_version(1);
	c_stat("");
	mc_write(T, "hello_protocol1");
}

/* --- server -> client --- */

/* The ids of the client's requests, in the order fuzz_client_replies.c
 * makes them: 1, 2, 3, ... from the start of each seed (s_ctl). */
static uint32_t mc_req;

static uint32_t s_next(void)
{
	return ++mc_req;
}

static void s_hello_version(uint32_t version)
{
	mc_add(nb_proto_hello_encode(mc_frame, version, "nbfs-server 0.1.0"));
}
static void s_hello(void)
{
	s_hello_version(NB_PROTO_VERSION);
}
static void s_ok(uint32_t id)
{
	mc_add(nb_proto_ok_encode(mc_frame, id));
}
static void s_error(uint32_t id, uint8_t type, uint32_t code, const char *text)
{
	mc_add(nb_proto_error_encode(mc_frame, id, type, code, text));
}

static void s_attr_link(uint32_t id, uint32_t mode, uint64_t size, const char *link)
{
	struct nb_attr a = {.mode = mode,
			    .size = size,
			    .mtime_s = 1700000000,
			    .mtime_ns = 42,
			    .link = (char *)link};
	mc_add(nb_proto_attr_encode(mc_frame, id, &a));
}

static void s_attr(uint32_t id, uint32_t mode, uint64_t size)
{
	s_attr_link(id, mode, size, NULL);
}

/* n entries: files, directories and symlinks in turn. */
static void s_dirents(uint32_t id, int n, const char *prefix)
{
	static const uint32_t modes[] = {0100644u, 0040755u, 0120777u};
	mc_check(nb_proto_dirents_begin(mc_frame, id), "dirents");
	for (int i = 0; i < n; i++) {
		char name[64], target[64];
		snprintf(name, sizeof(name), "%s%d", prefix, i);
		snprintf(target, sizeof(target), "../target%d", i);
		struct nb_attr a = {.mode = modes[i % 3],
				    .size = (uint64_t)i * 100,
				    .mtime_s = 1700000000 + i,
				    .link = i % 3 == 2 ? target : NULL};
		mc_check(nb_proto_dirents_add(mc_frame, name, &a), "dirents add");
	}
	mc_add(nb_frame_finish(mc_frame));
}

/* fuzz_client_replies.c uploads and downloads this 3000-byte file. */
#define FILE_SIZE 3000
static uint8_t file_content[FILE_SIZE];

static void s_offer(uint32_t id, uint64_t off)
{
	struct nb_put_offer o = {.offset = off};
	nb_md5_buf(file_content, (size_t)off, o.prefix_md5);
	mc_add(nb_proto_put_offer_encode(mc_frame, id, &o));
}

static void s_get_info(uint32_t id, uint64_t size, uint64_t start)
{
	struct nb_get_info gi = {.attr = {.mode = 0100644, .size = size, .mtime_s = 1700000000},
				 .start = start};
	nb_md5_buf(file_content, (size_t)size, gi.md5);
	mc_add(nb_proto_get_info_encode(mc_frame, id, &gi));
}

static void s_get_data(uint32_t id, uint64_t off, size_t n)
{
	uint8_t *dst;
	mc_check(nb_proto_get_data_reserve(mc_frame, id, off, n, &dst), "get data");
	memcpy(dst, file_content + off, n);
	mc_add(nb_frame_finish(mc_frame));
}

/* A whole download of the first `size` bytes from `start`, in two pieces. */
static void s_get(uint32_t id, uint64_t size, uint64_t start)
{
	s_get_info(id, size, start);
	uint64_t mid = start + (size - start) / 2;
	if (mid > start)
		s_get_data(id, start, (size_t)(mid - start));
	if (size > mid)
		s_get_data(id, mid, (size_t)(size - mid));
	s_ok(id);
}

/* The two control bytes of fuzz_client_replies.c; a new seed starts. */
static void s_ctl(uint8_t mode, uint8_t readable_mask)
{
	uint8_t c[2] = {mode, readable_mask};
	mc_req = 0;
	mc_raw(c, 2);
}

/* The ids of one round of fuzz_client_replies.c: STAT, LIST, MKDIR,
 * PUT_SMALL and PING sent together, then PUT_OPEN (whose id its data,
 * PUT_END or PUT_ABORT reuse), then GET (only if the upload got an
 * offer). */
struct s_ids {
	uint32_t stat, list, mkdir, small, ping, up, get;
};

static struct s_ids s_round_ids(int with_get)
{
	struct s_ids i;
	i.stat = s_next();
	i.list = s_next();
	i.mkdir = s_next();
	i.small = s_next();
	i.ping = s_next();
	i.up = s_next();
	i.get = with_get ? s_next() : 0;
	return i;
}

/* The first five answers of a round, in request order or reversed (the
 * server may answer in any order). */
static void s_five(const struct s_ids *i, int reversed)
{
	if (reversed) {
		s_ok(i->ping);
		s_ok(i->small);
		s_ok(i->mkdir);
		s_ok(i->list);
		s_attr(i->stat, 0040755, 0);
		return;
	}
	s_attr(i->stat, 0040755, 0);
	s_dirents(i->list, 3, "f");
	s_ok(i->list);
	s_ok(i->mkdir);
	s_ok(i->small);
	s_ok(i->ping);
}

/* A whole round: the five, an offer at off, the OK for PUT_END (or
 * PUT_ABORT), and a whole GET. */
static void s_round(uint64_t off, int reversed)
{
	struct s_ids i = s_round_ids(1);
	s_five(&i, reversed);
	s_offer(i.up, off);
	s_ok(i.up);
	s_get(i.get, FILE_SIZE, 0);
}

static void client_seeds(void)
{
	const char *T = "client_replies";
	/* Whole reads, or reads of 1 to 8 bytes: too short to take in a
	 * whole frame (9 bytes at least) beyond the one being read, so that,
	 * with readable() always saying no, the client sees each answer only
	 * when it waits for one, after the request has been sent. A seed
	 * that answers requests not sent yet needs them; one that answers
	 * only the first batch of a round does not. */
	enum { WHOLE = 15, SHORT = 3 };
	struct s_ids i;
	for (size_t k = 0; k < FILE_SIZE; k++)
		file_content[k] = (uint8_t)(k * 31 + 7);

	s_ctl(WHOLE, 0);
	s_hello();
	mc_write(T, "hello");

	/* A root the server cannot serve, and an older server, which
	 * answers with its own version: both without a request id. */
	s_ctl(WHOLE, 0);
	mc_add(nb_proto_refuse_encode(mc_frame, 2, "root /srv/nbfs: No such file or directory"));
	mc_write(T, "hello_refused");
	s_ctl(WHOLE, 0);
	s_hello_version(1);
	mc_write(T, "hello_protocol1_server");

	/* What a login shell printed first (a ~/.bashrc's greeting, with a
	 * NUL that begins no frame): skipped up to the HELLO or refusal. */
	static const char greeting[] = "Welcome to the server!\n\033[1m\0\0\0\0x\n";
	s_ctl(SHORT, 0);
	mc_raw(greeting, sizeof(greeting) - 1);
	s_hello();
	s_round(0, 0);
	mc_write(T, "login_text_then_round");
	s_ctl(WHOLE, 0);
	mc_raw(greeting, sizeof(greeting) - 1);
	mc_add(nb_proto_refuse_encode(mc_frame, 13, "root /srv/nbfs: Permission denied"));
	mc_write(T, "login_text_then_refusal");

	s_ctl(SHORT, 0);
	s_hello();
	s_round(0, 0);
	mc_write(T, "one_round");

	/* The same in reads of one byte. */
	s_ctl(0, 0);
	s_hello();
	s_round(0, 0);
	mc_write(T, "one_round_short_reads");

	/* All of it at once, readable() saying yes: the answers to the
	 * upload arrive before it was sent, which breaks the session. */
	s_ctl(WHOLE, 0xff);
	s_hello();
	s_round(0, 0);
	mc_write(T, "one_round_whole");

	/* Answers out of order. */
	s_ctl(SHORT, 0);
	s_hello();
	s_round(0, 1);
	s_round(1000, 1);
	mc_write(T, "out_of_order");

	/* Four rounds (the fourth aborts its upload), with errors, empty and
	 * split listings, symlinks, a resume offer, "already present" (no
	 * GET in that round), a refused and a resumed download. */
	s_ctl(SHORT, 0);
	s_hello();
	s_round(0, 0);
	i = s_round_ids(0);
	s_error(i.stat, NB_MSG_ERROR, 2, "sub/file.txt: No such file or directory");
	s_dirents(i.list, 2, "a");
	s_dirents(i.list, 1, "b");
	s_ok(i.list);
	s_error(i.mkdir, NB_MSG_ERROR, 20, "a/b: Not a directory");
	s_error(i.small, NB_MSG_ERROR, 17, "conflict: changed on the server: File exists");
	s_ok(i.ping);
	s_ok(i.up); /* already present */
	i = s_round_ids(1);
	s_five(&i, 0);
	s_offer(i.up, 1000);
	s_ok(i.up);
	s_get(i.get, 0, 0);
	i = s_round_ids(1);
	s_attr_link(i.stat, 0120777, 9, "../target");
	s_dirents(i.list, 5, "c");
	s_ok(i.list);
	s_ok(i.mkdir);
	s_error(i.small, NB_MSG_ERROR, 74, "dir/small.txt: MD5 mismatch");
	s_ok(i.ping);
	s_offer(i.up, FILE_SIZE);
	s_ok(i.up); /* abort */
	s_get(i.get, FILE_SIZE, 1000);
	mc_write(T, "four_rounds");

	/* An upload the server fails early (full disk): PUT_FAIL arrives
	 * ahead of the reply to PUT_END, an ERROR. */
	s_ctl(SHORT, 0);
	s_hello();
	i = s_round_ids(1);
	s_five(&i, 0);
	s_offer(i.up, 0);
	s_error(i.up, NB_MSG_PUT_FAIL, 28, "write: No space left on device");
	s_error(i.up, NB_MSG_ERROR, 28, "write: No space left on device");
	s_get(i.get, FILE_SIZE, 0);
	mc_write(T, "put_fail");

	/* PUT_OPEN refused (no GET that round), a download that fails half
	 * way, and the session goes on. */
	s_ctl(SHORT, 0);
	s_hello();
	i = s_round_ids(0);
	s_five(&i, 0);
	s_error(i.up, NB_MSG_ERROR, 16, "too many uploads open in this session: busy");
	i = s_round_ids(1);
	s_five(&i, 1);
	s_offer(i.up, 0);
	s_ok(i.up);
	s_get_info(i.get, FILE_SIZE, 0);
	s_get_data(i.get, 0, 100);
	s_error(i.get, NB_MSG_ERROR, 11, "dir/file.bin: Resource temporarily unavailable");
	s_round(0, 0);
	mc_write(T, "put_get_refused");

	/* Hostile downloads: a gap in the data, data past the size. */
	s_ctl(SHORT, 0);
	s_hello();
	i = s_round_ids(1);
	s_five(&i, 0);
	s_offer(i.up, 0);
	s_ok(i.up);
	s_get_info(i.get, FILE_SIZE, 0);
	s_get_data(i.get, 0, 100);
	s_get_data(i.get, 200, 100);
	mc_write(T, "get_gap");
	s_ctl(SHORT, 0);
	s_hello();
	i = s_round_ids(1);
	s_five(&i, 0);
	s_offer(i.up, 0);
	s_ok(i.up);
	s_get_info(i.get, 100, 0);
	s_get_data(i.get, 0, 200);
	s_ok(i.get);
	mc_write(T, "get_past_size");

	/* Hostile: an offer past the announced size, a STAT answered twice,
	 * answers for ids never sent, a GET answered before it was sent. */
	s_ctl(SHORT, 0);
	s_hello();
	i = s_round_ids(0);
	s_five(&i, 0);
	{
		struct nb_put_offer o = {.offset = 5000};
		mc_add(nb_proto_put_offer_encode(mc_frame, i.up, &o));
	}
	mc_write(T, "offer_past_size");
	s_ctl(WHOLE, 0);
	s_hello();
	i = s_round_ids(0);
	s_attr(i.stat, 0040755, 0);
	s_attr(i.stat, 0040755, 0);
	mc_write(T, "wrong_reply_type");
	s_ctl(WHOLE, 0);
	s_hello();
	s_attr(77, 0040755, 0);
	s_ok(0);
	mc_write(T, "unknown_id");
	s_ctl(WHOLE, 0xff);
	s_hello();
	i = s_round_ids(1);
	s_get(i.get, FILE_SIZE, 0);
	s_five(&i, 0);
	mc_write(T, "unasked_reply");
	/* A DIRENTS frame whose count promises more than it holds. */
	s_ctl(WHOLE, 0);
	s_hello();
	i = s_round_ids(0);
	s_attr(i.stat, 0040755, 0);
	mc_raw("\0\0\0\x0d\x05\0\0\0\x02\0\0\x10\0\0\0\0\0", 17);
	mc_write(T, "dirents_short");
}

/* --- config files --- */

static void mc_text(const char *name, const char *text)
{
	mc_raw(text, strlen(text));
	mc_write("config", name);
}

static void config_seeds(void)
{
	mc_text("full", "# nbfs config\n"
			"remote = alice@example.org:2222:/srv/data\n"
			"identity = ~/.ssh/id_ed25519\n"
			"known_hosts = /etc/ssh/known\n"
			"cache = relative/cache\n"
			"server = \"/usr/local/bin/nbfs-server --log /tmp/x\"\n"
			"port = 22\n"
			"delay = 0.5\n"
			"debug = yes\n"
			"accept_new_host = no\n");
	mc_text("remote_spec_first_line",
		"bob@[fe80::1%eth0]:22:backup dir\nremote = local:/tmp\n");
	mc_text("local_remote",
		"local:relative/dir\n\n   remote   =   \"local:relative/dir\"   \n");
	mc_text("crlf_quotes", "remote = \"host:\"\r\ndelay = 86400\r\ndebug = \"\"\r\n");
	mc_text("bad_port", "remote = h:/d\nport = 70000\n");
	mc_text("bad_delay", "delay = nan\n");
	mc_text("bad_bool", "accept_new_host = maybe\n");
	mc_text("bad_key", "bad key = 1\n");
	mc_text("config_key", "config = /etc/nbfs\n");
	mc_text("no_equals", "remote\n");
	mc_text("unbalanced", "server = \"nbfs-server\n");
	mc_text("host_port_dir", "user@host:65535:\n# only a remote\n");
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: make_corpus DIR\n");
		return 2;
	}
	mc_dir = argv[1];
	mc_mkdir(mc_dir);
	mc_out = nb_buf_new(64 * NB_FRAME_MAX);
	mc_frame = nb_buf_new(NB_FRAME_MAX + NB_FRAME_HDR);
	mc_check(mc_out && mc_frame ? 0 : -ENOMEM, "allocation");
	server_seeds();
	client_seeds();
	config_seeds();
	nb_buf_free(mc_out);
	nb_buf_free(mc_frame);
	return 0;
}
