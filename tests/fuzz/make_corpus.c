/*
 * Writes the fuzz targets' seed corpus with the project's own encoders,
 * so every seed is a valid conversation the fuzzer can start deep from:
 *
 *   make_corpus DIR    writes DIR/server_frames/, DIR/client_replies/
 *                      and DIR/config/ (made if missing)
 *
 * server_frames: client byte streams, each starting with HELLO, that
 * list, stat, make directories, make symlinks, rename, remove, download
 * and upload (whole, in pieces, resumed, restarted, aborted, with a wrong
 * MD5, already present, against a base version) in the tree
 * fuzz_server_frames.c sets up.
 *
 * client_replies: server byte streams that answer the fixed round of
 * requests fuzz_client_replies.c makes, behind its two control bytes
 * (see that file), including hostile ones.
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

static void c_hello(void)
{
	mc_add(nb_proto_hello_encode(mc_frame, NB_PROTO_VERSION, "nbfs 0.1.0"));
}
static void c_stat(const char *p)
{
	mc_add(nb_proto_path_encode(mc_frame, NB_MSG_STAT, p));
}
static void c_list(const char *p)
{
	mc_add(nb_proto_path_encode(mc_frame, NB_MSG_LIST, p));
}
static void c_mkdir(const char *p, uint32_t mode)
{
	mc_add(nb_proto_mkdir_encode(mc_frame, p, mode));
}
static void c_end(void)
{
	mc_add(nb_proto_put_end_encode(mc_frame));
}
static void c_abort(int discard)
{
	mc_add(nb_proto_put_abort_encode(mc_frame, discard));
}

static void c_data(uint64_t off, const void *p, size_t n)
{
	mc_add(nb_proto_put_data_encode(mc_frame, off, p, n));
}

static void c_open_base(const char *path, const void *content, size_t size, uint8_t base_kind,
			uint64_t base_size, int64_t base_mtime_s)
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
	mc_add(nb_proto_put_open_encode(mc_frame, &m));
}

static void c_open(const char *path, const void *content, size_t size)
{
	c_open_base(path, content, size, NB_BASE_ANY, 0, 0);
}

static void c_path2(uint8_t type, const char *a, const char *b)
{
	mc_add(nb_proto_path2_encode(mc_frame, type, a, b));
}

static void c_get(const char *path, uint64_t offset, const void *prefix, size_t prefix_len)
{
	struct nb_get g = {.path = (char *)path, .offset = offset, .has_expect = prefix != NULL};
	if (prefix)
		nb_md5_buf(prefix, prefix_len, g.expect);
	mc_add(nb_proto_get_encode(mc_frame, &g));
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
	mc_write(T, "mkdir");

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
	c_data(1400, content + 1400, 600);
	c_end();
	mc_write(T, "upload_interleaved");

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

	/* Content that does not match its MD5; a write past the size and a
	 * gap (PUT_FAIL, then data is discarded until PUT_END). */
	c_hello();
	c_open("bad.bin", content, sizeof(content));
	content[0] ^= 1;
	c_data(0, content, sizeof(content));
	content[0] ^= 1;
	c_end();
	c_open("gap.bin", content, 100);
	c_data(10, content, 10);
	c_data(20, content, 10);
	c_end();
	c_open("big.bin", content, 100);
	c_data(0, content, 200);
	c_abort(0);
	mc_write(T, "upload_failures");

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
	mc_check(nb_frame_begin(mc_frame, 99), "begin");
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
	mc_add(nb_proto_path_encode(mc_frame, NB_MSG_UNLINK, "empty"));
	mc_add(nb_proto_path_encode(mc_frame, NB_MSG_UNLINK, "sub2"));
	mc_add(nb_proto_path_encode(mc_frame, NB_MSG_RMDIR, "sub2/deep"));
	mc_add(nb_proto_path_encode(mc_frame, NB_MSG_RMDIR, "new"));
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

	/* Protocol violations: data without an upload, a second HELLO, a
	 * frame with a zero length. */
	c_hello();
	c_data(0, "x", 1);
	mc_write(T, "data_without_open");
	c_hello();
	c_hello();
	mc_write(T, "hello_twice");
	c_hello();
	c_stat("");
	mc_raw("\0\0\0\0\x0a", 5);
	mc_write(T, "zero_length");
}

/* --- server -> client --- */

static void s_hello(void)
{
	mc_add(nb_proto_hello_encode(mc_frame, NB_PROTO_VERSION, "nbfs-server 0.1.0"));
}
static void s_ok(void)
{
	mc_add(nb_proto_ok_encode(mc_frame));
}
static void s_error(uint8_t type, uint32_t code, const char *text)
{
	mc_add(nb_proto_error_encode(mc_frame, type, code, text));
}

static void s_attr_link(uint32_t mode, uint64_t size, const char *link)
{
	struct nb_attr a = {.mode = mode,
			    .size = size,
			    .mtime_s = 1700000000,
			    .mtime_ns = 42,
			    .link = (char *)link};
	mc_add(nb_proto_attr_encode(mc_frame, &a));
}

static void s_attr(uint32_t mode, uint64_t size)
{
	s_attr_link(mode, size, NULL);
}

/* n entries: files, directories and symlinks in turn. */
static void s_dirents(int n, const char *prefix)
{
	static const uint32_t modes[] = {0100644u, 0040755u, 0120777u};
	mc_check(nb_proto_dirents_begin(mc_frame), "dirents");
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

static void s_offer(uint64_t off)
{
	struct nb_put_offer o = {.offset = off};
	nb_md5_buf(file_content, (size_t)off, o.prefix_md5);
	mc_add(nb_proto_put_offer_encode(mc_frame, &o));
}

static void s_get_info(uint64_t size, uint64_t start)
{
	struct nb_get_info gi = {.attr = {.mode = 0100644, .size = size, .mtime_s = 1700000000},
				 .start = start};
	nb_md5_buf(file_content, (size_t)size, gi.md5);
	mc_add(nb_proto_get_info_encode(mc_frame, &gi));
}

static void s_get_data(uint64_t off, size_t n)
{
	uint8_t *dst;
	mc_check(nb_proto_get_data_reserve(mc_frame, off, n, &dst), "get data");
	memcpy(dst, file_content + off, n);
	mc_add(nb_frame_finish(mc_frame));
}

/* A whole download of the first `size` bytes from `start`, in two pieces. */
static void s_get(uint64_t size, uint64_t start)
{
	s_get_info(size, start);
	uint64_t mid = start + (size - start) / 2;
	if (mid > start)
		s_get_data(start, (size_t)(mid - start));
	if (size > mid)
		s_get_data(mid, (size_t)(size - mid));
	s_ok();
}

/* The two control bytes of fuzz_client_replies.c. */
static void s_ctl(uint8_t mode, uint8_t readable_mask)
{
	uint8_t c[2] = {mode, readable_mask};
	mc_raw(c, 2);
}

/* One round's answers: STAT, LIST, MKDIR, PUT_OPEN (offer at off), the
 * OK for PUT_END or PUT_ABORT, and a whole GET. */
static void s_round(uint64_t off)
{
	s_attr(0040755, 0);
	s_dirents(3, "f");
	s_ok();
	s_ok();
	s_offer(off);
	s_ok();
	s_get(FILE_SIZE, 0);
}

static void client_seeds(void)
{
	const char *T = "client_replies";
	enum { CLAMP = 0x10, WHOLE = 15 };
	for (size_t i = 0; i < FILE_SIZE; i++)
		file_content[i] = (uint8_t)(i * 31 + 7);

	s_ctl(CLAMP | WHOLE, 0);
	s_hello();
	mc_write(T, "hello");

	s_ctl(CLAMP | WHOLE, 0);
	s_error(NB_MSG_ERROR, 2, "root /srv/nbfs: No such file or directory");
	mc_write(T, "hello_refused");

	s_ctl(CLAMP | WHOLE, 0);
	s_hello();
	s_round(0);
	mc_write(T, "one_round");

	/* The same in reads of 1 to 8 bytes. */
	s_ctl(CLAMP | 3, 0);
	s_hello();
	s_round(0);
	mc_write(T, "one_round_short_reads");

	/* Four rounds (the fourth aborts its upload), with errors, empty and
	 * split listings, symlinks, a resume offer, "already present", a
	 * refused and a resumed download. */
	s_ctl(CLAMP | WHOLE, 0);
	s_hello();
	s_round(0);
	s_error(NB_MSG_ERROR, 2, "sub/file.txt: No such file or directory");
	s_dirents(2, "a");
	s_dirents(1, "b");
	s_ok();
	s_error(NB_MSG_ERROR, 20, "a/b: Not a directory");
	s_ok(); /* already present */
	s_error(NB_MSG_ERROR, 2, "dir/file.bin: No such file or directory");
	s_attr(0040755, 0);
	s_ok(); /* empty listing */
	s_ok();
	s_offer(1000);
	s_ok();
	s_get(0, 0);
	s_attr_link(0120777, 9, "../target");
	s_dirents(5, "c");
	s_ok();
	s_ok();
	s_offer(FILE_SIZE);
	s_ok(); /* abort */
	s_get(FILE_SIZE, 1000);
	mc_write(T, "four_rounds");

	/* An upload the server fails early (full disk): PUT_FAIL arrives
	 * ahead of the reply to PUT_END, an ERROR. (With readable() true,
	 * PUT_FAIL would arrive while polling: see regressions/.) */
	s_ctl(CLAMP | WHOLE, 0);
	s_hello();
	s_attr(0040755, 0);
	s_ok();
	s_ok();
	s_offer(0);
	s_error(NB_MSG_PUT_FAIL, 28, "write: No space left on device");
	s_error(NB_MSG_ERROR, 28, "write: No space left on device");
	s_get(FILE_SIZE, 0);
	mc_write(T, "put_fail");

	/* PUT_OPEN refused, a download that fails half way, and the session
	 * goes on. */
	s_ctl(CLAMP | 5, 0);
	s_hello();
	s_attr(0100644, 5);
	s_ok();
	s_ok();
	s_error(NB_MSG_ERROR, 16, "dir/file.bin: Device or resource busy");
	s_get_info(FILE_SIZE, 0);
	s_get_data(0, 100);
	s_error(NB_MSG_ERROR, 11, "dir/file.bin: Resource temporarily unavailable");
	s_attr(0100644, 5);
	s_dirents(1, "only");
	s_ok();
	s_ok();
	s_error(NB_MSG_ERROR, 17, "dir/file.bin: File exists");
	s_get(10, 0);
	mc_write(T, "put_get_refused");

	/* Hostile downloads: a gap in the data, data past the size, an OK
	 * before the end. */
	s_ctl(CLAMP | WHOLE, 0);
	s_hello();
	s_attr(0040755, 0);
	s_ok();
	s_ok();
	s_error(NB_MSG_ERROR, 13, "denied");
	s_get_info(FILE_SIZE, 0);
	s_get_data(0, 100);
	s_get_data(200, 100);
	mc_write(T, "get_gap");
	s_ctl(CLAMP | WHOLE, 0);
	s_hello();
	s_attr(0040755, 0);
	s_ok();
	s_ok();
	s_error(NB_MSG_ERROR, 13, "denied");
	s_get_info(100, 0);
	s_get_data(0, 200);
	s_ok();
	mc_write(T, "get_past_size");

	/* Hostile: a reply the client did not ask for while polling, an
	 * offer past the announced size, a STAT answered twice. */
	s_ctl(CLAMP | WHOLE, 0xff);
	s_hello();
	s_round(0);
	mc_write(T, "unasked_reply");
	s_ctl(CLAMP | WHOLE, 0);
	s_hello();
	s_attr(0040755, 0);
	s_ok();
	s_ok();
	{
		struct nb_put_offer o = {.offset = 5000};
		mc_add(nb_proto_put_offer_encode(mc_frame, &o));
	}
	mc_write(T, "offer_past_size");
	s_ctl(0, 0);
	s_hello();
	s_attr(0040755, 0);
	s_attr(0040755, 0);
	mc_write(T, "wrong_reply_type");
	/* A DIRENTS frame whose count promises more than it holds. */
	s_ctl(CLAMP | WHOLE, 0);
	s_hello();
	s_attr(0040755, 0);
	mc_raw("\0\0\0\x09\x05\0\0\x10\0\0\0\0\0", 13);
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
