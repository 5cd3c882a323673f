/*
 * Unit tests for the sync engine, driven in-process through sync/core.h
 * against the real server session code on a socketpair (inproc.h): no
 * sshd, no FUSE. The test plays the filesystem: it writes the staging
 * tree and tells the core what happened, then checks the server's tree.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inproc.h"
#include "server/partial.h"
#include "sync/core.h"
#include "sync/queue.h"
#include "testutil.h"
#include "wire/md5.h"
#include "wire/proto.h"
#include "wire/xio.h"

#define WAIT_MS 20000

struct fx {
	char *dir, *stage, *fetch, *remote, *db;
	int stage_fd, fetch_fd;
	struct ip_server srv;
	struct nb_core *core;
	pthread_mutex_t lock;
	int conflicts;
	char conflict_copy[256];
};

static void on_event(void *arg, const struct nb_core_event *ev)
{
	struct fx *f = arg;
	pthread_mutex_lock(&f->lock);
	if (ev->what == NB_EV_CONFLICT) {
		f->conflicts++;
		snprintf(f->conflict_copy, sizeof(f->conflict_copy), "%s", ev->path2);
	}
	pthread_mutex_unlock(&f->lock);
}

static void fx_open_core(struct fx *f)
{
	struct nb_core_config cc = {
		.db_path = f->db,
		.stage_fd = f->stage_fd,
		.fetch_fd = f->fetch_fd,
		.delay_ms = 0,
		.remote_dir = f->remote,
		.connect = ip_connect,
		.connect_arg = &f->srv,
		.on_event = on_event,
		.on_event_arg = f,
	};
	assert_int_equal(nb_core_open(&cc, &f->core), 0);
	assert_int_equal(nb_core_start(f->core), 0);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->dir = tu_mkdtemp("engine");
	assert_non_null(f->dir);
	f->stage = tu_join(f->dir, "stage");
	f->fetch = tu_join(f->dir, "fetch");
	f->remote = tu_join(f->dir, "remote");
	f->db = tu_join(f->dir, "state.db");
	assert_int_equal(mkdir(f->stage, 0700), 0);
	assert_int_equal(mkdir(f->fetch, 0700), 0);
	assert_int_equal(mkdir(f->remote, 0755), 0);
	f->stage_fd = open(f->stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	f->fetch_fd = open(f->fetch, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->stage_fd >= 0 && f->fetch_fd >= 0);
	ip_server_init(&f->srv, f->remote);
	pthread_mutex_init(&f->lock, NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	if (f->core) {
		nb_core_stop(f->core);
		nb_core_close(f->core);
	}
	ip_release(&f->srv); /* in case a test failed while holding it */
	ip_server_free(&f->srv);
	pthread_mutex_destroy(&f->lock);
	close(f->stage_fd);
	close(f->fetch_fd);
	tu_rmtree(f->dir);
	free(f->dir);
	free(f->stage);
	free(f->fetch);
	free(f->remote);
	free(f->db);
	free(f);
	return 0;
}

/* Deterministic incompressible-looking content. */
static char *content(size_t n, unsigned seed)
{
	char *p = malloc(n ? n : 1);
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (char)(seed >> 16);
	}
	return p;
}

static void write_at(const char *root, const char *rel, const char *data, size_t n)
{
	char *path = tu_join(root, rel);
	assert_int_equal(tu_write_file(path, data, n), 0);
	free(path);
}

/* Stage path with n bytes of content seed, and tell the core. */
static char *stage_file(struct fx *f, const char *path, size_t n, unsigned seed)
{
	char *data = content(n, seed);
	write_at(f->stage, path, data, n);
	assert_int_equal(nb_core_touch(f->core, path, NB_KIND_FILE), 0);
	return data;
}

/* Make staged directory rel (the core is told later). */
static void stage_dir(struct fx *f, const char *rel)
{
	char *p = tu_join(f->stage, rel);
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
}

/* Wait until nothing is queued (fails the test after WAIT_MS). */
static void wait_synced(struct fx *f)
{
	long long deadline = nb_xio_now_ms() + WAIT_MS;
	while (nb_core_count(f->core) != 0) {
		if (nb_xio_now_ms() > deadline) {
			char report[4096];
			nb_core_report(f->core, report, sizeof(report));
			fail_msg("still queued after %d ms:\n%s", WAIT_MS, report);
		}
		nb_xio_sleep_ms(10);
	}
}

static void assert_remote(struct fx *f, const char *path, const char *data, size_t n)
{
	char *full = tu_join(f->remote, path);
	size_t got = 0;
	char *s = tu_read_file(full, &got);
	if (!s)
		fail_msg("%s is not on the server", path);
	assert_int_equal(got, n);
	assert_memory_equal(s, data, n);
	free(s);
	free(full);
}

/* 1 if the server's path holds exactly data[0, n). */
static int remote_is(struct fx *f, const char *path, const char *data, size_t n)
{
	char *full = tu_join(f->remote, path);
	size_t got = 0;
	char *s = tu_read_file(full, &got);
	int same = s && got == n && memcmp(s, data, n) == 0;
	free(s);
	free(full);
	return same;
}

static int remote_exists(struct fx *f, const char *path)
{
	struct stat st;
	char *full = tu_join(f->remote, path);
	int r = lstat(full, &st) == 0;
	free(full);
	return r;
}

static int partials(struct fx *f)
{
	char *dir = tu_join(f->remote, ".nbfs/partial");
	int n = tu_count_entries(dir);
	free(dir);
	return n < 0 ? 0 : n;
}

/* Names on the server's root with "conflict" in them. */
static int remote_conflicts(struct fx *f)
{
	int n = 0;
	DIR *d = opendir(f->remote);
	struct dirent *de;
	while (d && (de = readdir(d)) != NULL)
		n += strstr(de->d_name, ".conflict-") != NULL;
	if (d)
		closedir(d);
	return n;
}

static void test_upload(void **state)
{
	struct fx *f = *state;
	struct nb_core_state v;
	fx_open_core(f);
	char *sub = tu_join(f->stage, "d");
	assert_int_equal(mkdir(sub, 0750), 0);
	free(sub);
	assert_int_equal(nb_core_touch(f->core, "d", NB_KIND_DIR), 0);
	char *data = stage_file(f, "d/a.bin", 700 * 1024, 1);
	char *small = stage_file(f, "top.txt", 5, 2);
	wait_synced(f);
	assert_remote(f, "d/a.bin", data, 700 * 1024);
	assert_remote(f, "top.txt", small, 5);
	assert_int_equal(partials(f), 0);
	/* synced, with the MD5 on record */
	assert_int_equal(nb_core_state(f->core, "d/a.bin", 1, &v), 0);
	assert_int_equal(v.state, NB_STATE_SYNCED);
	uint8_t md5[NB_MD5_LEN];
	char hex[NB_MD5_HEX];
	nb_md5_buf(data, 700 * 1024, md5);
	nb_md5_hex(md5, hex);
	assert_string_equal(v.md5, hex);
	struct stat st;
	char *rd = tu_join(f->remote, "d");
	assert_int_equal(stat(rd, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0750);
	free(rd);
	free(data);
	free(small);
}

/* The server holds the first 400 KiB of the content already (a partial
 * named by its MD5): only the rest travels. */
static void test_resume_at_offset(void **state)
{
	struct fx *f = *state;
	size_t n = 1024 * 1024, held = 400 * 1024;
	char *data = content(n, 3);
	uint8_t md5[NB_MD5_LEN];
	char hex[NB_MD5_HEX], rel[128];
	nb_md5_buf(data, n, md5);
	nb_md5_hex(md5, hex);
	char *nbdir = tu_join(f->remote, ".nbfs");
	assert_int_equal(mkdir(nbdir, 0700), 0);
	free(nbdir);
	char *pdir = tu_join(f->remote, ".nbfs/partial");
	assert_int_equal(mkdir(pdir, 0700), 0);
	free(pdir);
	snprintf(rel, sizeof(rel), ".nbfs/partial/%s", hex);
	write_at(f->remote, rel, data, held);
	fx_open_core(f);
	write_at(f->stage, "big.bin", data, n);
	assert_int_equal(nb_core_touch(f->core, "big.bin", NB_KIND_FILE), 0);
	wait_synced(f);
	assert_remote(f, "big.bin", data, n);
	assert_int_equal(partials(f), 0);
	unsigned long long sent = atomic_load(&f->srv.bytes_out);
	if (sent > n - held + 16 * 1024)
		fail_msg("sent %llu bytes for %zu left to send", sent, n - held);
	assert_true(sent >= n - held);
	free(data);
}

/* A new local file meets another version on the server: both are kept,
 * the server's at the name, ours as a conflict copy beside it. */
static void test_conflict(void **state)
{
	struct fx *f = *state;
	struct nb_core_state v;
	write_at(f->remote, "c.txt", "server", 6);
	fx_open_core(f);
	char *mine = stage_file(f, "c.txt", 5, 4);
	wait_synced(f);
	assert_remote(f, "c.txt", "server", 6);
	pthread_mutex_lock(&f->lock);
	assert_int_equal(f->conflicts, 1);
	char copy[256];
	snprintf(copy, sizeof(copy), "%s", f->conflict_copy);
	pthread_mutex_unlock(&f->lock);
	assert_non_null(strstr(copy, "c.conflict-"));
	assert_string_equal(copy + strlen(copy) - 4, ".txt");
	assert_remote(f, copy, mine, 5);
	assert_int_equal(nb_core_state(f->core, copy, 1, &v), 0);
	assert_int_equal(v.state, NB_STATE_CONFLICT);
	/* the user edits the copy: an ordinary file again */
	assert_int_equal(nb_core_touch(f->core, copy, NB_KIND_FILE), 0);
	wait_synced(f);
	assert_int_equal(nb_core_state(f->core, copy, 1, &v), 0);
	assert_int_equal(v.state, NB_STATE_SYNCED);
	assert_int_equal(partials(f), 0);
	free(mine);
}

/* The link drops right after PUT_END: the server published, the answer
 * is lost. While the client is offline the file changes. Asking the
 * server (STAT) settles the doubt: the new version is based on the one
 * published, no conflict copy. */
static void test_doubt_settled_by_stat(void **state)
{
	struct fx *f = *state;
	/* HELLO, PUT_OPEN, 3 x PUT_DATA (600 KiB), PUT_END: drop after 6,
	 * then refuse connections until the file has changed. */
	atomic_store(&f->srv.drop_after, 6);
	atomic_store(&f->srv.max_connections, 1);
	fx_open_core(f);
	char *v1 = stage_file(f, "doc", 600 * 1024, 5);
	long long deadline = nb_xio_now_ms() + WAIT_MS;
	while (!remote_exists(f, "doc") || atomic_load(&f->srv.drops) == 0) {
		assert_true(nb_xio_now_ms() < deadline);
		nb_xio_sleep_ms(5);
	}
	assert_remote(f, "doc", v1, 600 * 1024); /* published before the drop */
	char *v2 = content(300 * 1024, 6);
	write_at(f->stage, "doc", v2, 300 * 1024);
	assert_int_equal(nb_core_touch(f->core, "doc", NB_KIND_FILE), 0);
	atomic_store(&f->srv.max_connections, 0);
	wait_synced(f);
	assert_remote(f, "doc", v2, 300 * 1024);
	assert_int_equal(remote_conflicts(f), 0);
	assert_int_equal(f->conflicts, 0);
	assert_int_equal(partials(f), 0);
	free(v1);
	free(v2);
}

/* A rename while the upload is in flight: the upload stops, and goes
 * again under the new name from the partial the server kept. */
static void test_rename_in_flight(void **state)
{
	struct fx *f = *state;
	size_t n = 1024 * 1024;
	atomic_store(&f->srv.hold_at, 4); /* HELLO, PUT_OPEN, PUT_DATA, hold */
	fx_open_core(f);
	char *data = stage_file(f, "old.bin", n, 7);
	assert_true(ip_wait_held(&f->srv, WAIT_MS));
	char *from = tu_join(f->stage, "old.bin"), *to = tu_join(f->stage, "new.bin");
	assert_int_equal(rename(from, to), 0);
	assert_int_equal(nb_core_renamed(f->core, "old.bin", "new.bin", 0, NULL, NULL), 0);
	ip_release(&f->srv);
	wait_synced(f);
	assert_remote(f, "new.bin", data, n);
	assert_false(remote_exists(f, "old.bin"));
	assert_int_equal(partials(f), 0);
	/* the bytes that had arrived were not sent again */
	unsigned long long sent = atomic_load(&f->srv.bytes_out);
	if (sent > n + 16 * 1024)
		fail_msg("sent %llu bytes for a %zu-byte file", sent, n);
	free(from);
	free(to);
	free(data);
}

/* A removal while the upload is in flight: nothing of it stays on the
 * server, whether or not the upload got there first. */
static void test_remove_in_flight(void **state)
{
	struct fx *f = *state;
	atomic_store(&f->srv.hold_at, 4);
	fx_open_core(f);
	char *data = stage_file(f, "gone.bin", 1024 * 1024, 8);
	assert_true(ip_wait_held(&f->srv, WAIT_MS));
	char *p = tu_join(f->stage, "gone.bin");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(nb_core_removed(f->core, "gone.bin", 0, 0, NULL, NULL), 0);
	ip_release(&f->srv);
	wait_synced(f);
	assert_false(remote_exists(f, "gone.bin"));
	assert_int_equal(partials(f), 0);
	free(p);
	free(data);
}

/* Remove a synced file here, as the FUSE layer does. */
static void remove_staged(struct fx *f, const char *path)
{
	char *p = tu_join(f->stage, path);
	assert_int_equal(unlink(p), 0);
	free(p);
	assert_int_equal(nb_core_removed(f->core, path, 0, 1, NULL, NULL), 0);
}

/* A file removed here that someone changed on the server since this
 * mount synced it is kept there (UNLINK_IF names the version we knew),
 * with a conflict event; one nobody changed goes; the queue is empty
 * either way and nothing is retried. */
static void test_unlink_keeps_changed(void **state)
{
	struct fx *f = *state;
	fx_open_core(f);
	char *mine = stage_file(f, "changed.txt", 100, 50);
	char *other = stage_file(f, "same.txt", 100, 51);
	wait_synced(f);
	write_at(f->remote, "changed.txt", "theirs, edited on the server", 28);
	remove_staged(f, "changed.txt");
	remove_staged(f, "same.txt");
	/* Files only listed (never held here): the version listed is the
	 * one removed, as the FUSE layer tells it. */
	struct stat st;
	write_at(f->remote, "listed.txt", "listed", 6);
	write_at(f->remote, "listed2.txt", "listed", 6);
	const char *listed[] = {"listed.txt", "listed2.txt"};
	for (int i = 0; i < 2; i++) {
		char *rp = tu_join(f->remote, listed[i]);
		assert_int_equal(stat(rp, &st), 0);
		free(rp);
		struct nb_attr a = {.mode = st.st_mode,
				    .size = (uint64_t)st.st_size,
				    .mtime_s = st.st_mtim.tv_sec,
				    .mtime_ns = (uint32_t)st.st_mtim.tv_nsec};
		nb_core_replacing(f->core, listed[i], &a);
		assert_int_equal(nb_core_removed(f->core, listed[i], 0, 1, NULL, NULL), 0);
	}
	write_at(f->remote, "listed.txt", "listed, then edited", 19);
	wait_synced(f);
	assert_remote(f, "changed.txt", "theirs, edited on the server", 28);
	assert_remote(f, "listed.txt", "listed, then edited", 19);
	assert_false(remote_exists(f, "same.txt"));
	assert_false(remote_exists(f, "listed2.txt"));
	pthread_mutex_lock(&f->lock);
	int conflicts = f->conflicts;
	pthread_mutex_unlock(&f->lock);
	assert_int_equal(conflicts, 2);
	/* no record of ours is left at the path: the server's file is not
	 * taken for a version of ours (a new file there is based on none) */
	struct nb_core_state v;
	assert_false(nb_core_state(f->core, "changed.txt", 0, &v));
	free(mine);
	free(other);
}

/* A file's upload is published, its answer lost with the link, and the
 * file is removed here before the link is back (and nbfs restarted, with
 * restart): the server holds our version in doubt, newer than the
 * record, and the removal takes it for ours and removes it. Regression:
 * the doubt went with the dropped upload entry, UNLINK_IF named the
 * older version on record, and the file stayed on the server
 * (test_op_storm with cuts). */
static void unlink_after_lost_answer(struct fx *f, int restart)
{
	size_t n = 600 * 1024;
	fx_open_core(f);
	char *v1 = stage_file(f, "doc", n, 7);
	wait_synced(f);
	nb_core_stop(f->core);
	nb_core_close(f->core);
	f->core = NULL;
	/* The next connection (the second): HELLO, PUT_OPEN, 3 x PUT_DATA,
	 * PUT_END, then dropped; no third until the file is removed. */
	atomic_store(&f->srv.drop_after, 6);
	atomic_store(&f->srv.max_connections, 2);
	fx_open_core(f);
	char *v2 = stage_file(f, "doc", n, 8);
	/* published as the link drops */
	long long deadline = nb_xio_now_ms() + WAIT_MS;
	while (atomic_load(&f->srv.drops) == 0 || !remote_is(f, "doc", v2, n)) {
		assert_true(nb_xio_now_ms() < deadline);
		nb_xio_sleep_ms(5);
	}
	remove_staged(f, "doc");
	if (restart) {
		nb_core_stop(f->core);
		nb_core_close(f->core);
		f->core = NULL;
	}
	atomic_store(&f->srv.max_connections, 0);
	if (restart)
		fx_open_core(f);
	wait_synced(f);
	assert_false(remote_exists(f, "doc"));
	assert_int_equal(f->conflicts, 0);
	free(v1);
	free(v2);
}

static void test_unlink_after_lost_answer(void **state)
{
	unlink_after_lost_answer(*state, 0);
}

static void test_unlink_after_lost_answer_restart(void **state)
{
	unlink_after_lost_answer(*state, 1);
}

/* rm -r of a directory holding a file someone changed on the server:
 * that file is kept, so the directory is not empty there. The RMDIR's
 * ENOTEMPTY keeps the directory too (what is in it is someone else's),
 * instead of failing for ever; the queue empties. */
static void test_rmdir_keeps_what_is_left(void **state)
{
	struct fx *f = *state;
	fx_open_core(f);
	stage_dir(f, "d");
	assert_int_equal(nb_core_touch(f->core, "d", NB_KIND_DIR), 0);
	char *x = stage_file(f, "d/x.txt", 100, 53);
	char *y = stage_file(f, "d/y.txt", 100, 54);
	wait_synced(f);
	write_at(f->remote, "d/x.txt", "theirs", 6);
	remove_staged(f, "d/x.txt");
	remove_staged(f, "d/y.txt");
	char *sd = tu_join(f->stage, "d");
	assert_int_equal(rmdir(sd), 0);
	free(sd);
	assert_int_equal(nb_core_removed(f->core, "d", 1, 1, NULL, NULL), 0);
	wait_synced(f);
	assert_remote(f, "d/x.txt", "theirs", 6);
	assert_false(remote_exists(f, "d/y.txt"));
	pthread_mutex_lock(&f->lock);
	int conflicts = f->conflicts;
	pthread_mutex_unlock(&f->lock);
	assert_int_equal(conflicts, 2);
	free(x);
	free(y);
}

/* Make staged symlink rel -> target and tell the core. */
static void stage_link(struct fx *f, const char *rel, const char *target)
{
	char *p = tu_join(f->stage, rel);
	assert_int_equal(symlink(target, p), 0);
	free(p);
	assert_int_equal(nb_core_touch(f->core, rel, NB_KIND_SYMLINK), 0);
}

/* The target of the symlink at root/rel, in a static buffer ("" if it is
 * none). */
static const char *link_in(const char *root, const char *rel)
{
	static char buf[256];
	char *p = tu_join(root, rel);
	ssize_t n = readlink(p, buf, sizeof(buf) - 1);
	free(p);
	buf[n > 0 ? n : 0] = 0;
	return buf;
}

/* A symlink made here where someone put a file on the server meanwhile:
 * their file stays, our link goes beside it as a conflict copy (before,
 * SYMLINK replaced the file). One where nothing is, is made. */
static void test_symlink_keeps_theirs(void **state)
{
	struct fx *f = *state;
	fx_open_core(f);
	write_at(f->remote, "ln", "theirs", 6);
	stage_link(f, "ln", "target/one");
	stage_link(f, "free", "target/two");
	wait_synced(f);
	assert_remote(f, "ln", "theirs", 6);
	assert_string_equal(link_in(f->remote, "free"), "target/two");
	pthread_mutex_lock(&f->lock);
	int conflicts = f->conflicts;
	char copy[256];
	snprintf(copy, sizeof(copy), "%s", f->conflict_copy);
	pthread_mutex_unlock(&f->lock);
	assert_int_equal(conflicts, 1);
	assert_non_null(strstr(copy, "ln.conflict-"));
	assert_string_equal(link_in(f->remote, copy), "target/one");
}

/* A server older than SYMLINK_NEW: links go as plain SYMLINKs (made over
 * whatever is there, as before), in the same session. */
static void test_symlink_old_server(void **state)
{
	struct fx *f = *state;
	atomic_store(&f->srv.unknown_type, NB_MSG_SYMLINK_NEW);
	fx_open_core(f);
	stage_link(f, "ln", "target/one");
	wait_synced(f);
	assert_string_equal(link_in(f->remote, "ln"), "target/one");
	assert_int_equal(f->conflicts, 0);
	assert_int_equal(atomic_load(&f->srv.connections), 1);
}

/* A server older than UNLINK_IF: the removal goes as a plain UNLINK, in
 * the same session, as before. */
static void test_unlink_old_server(void **state)
{
	struct fx *f = *state;
	atomic_store(&f->srv.unknown_type, NB_MSG_UNLINK_IF);
	fx_open_core(f);
	char *data = stage_file(f, "old.txt", 100, 52);
	wait_synced(f);
	remove_staged(f, "old.txt");
	wait_synced(f);
	assert_false(remote_exists(f, "old.txt"));
	assert_int_equal(atomic_load(&f->srv.connections), 1);
	free(data);
}

/* Renamed, then removed under its new name, while the server is about
 * to publish: the upload's PUT_END is on its way when both happen. The
 * server publishes the old name, the queued rename moves it to the new
 * one, and the removal must follow it there. Regression: the removal
 * was taken for a local one (the moved entry was no longer uploading,
 * and its upload was not yet in doubt), so the file stayed on the
 * server under the new name. */
static void test_rename_remove_before_answer(void **state)
{
	struct fx *f = *state;
	/* HELLO, PUT_OPEN, 4 x PUT_DATA, hold PUT_END */
	atomic_store(&f->srv.hold_at, 7);
	fx_open_core(f);
	char *data = stage_file(f, "p", 1024 * 1024, 9);
	assert_true(ip_wait_held(&f->srv, WAIT_MS));
	char *from = tu_join(f->stage, "p"), *to = tu_join(f->stage, "q");
	assert_int_equal(rename(from, to), 0);
	assert_int_equal(nb_core_renamed(f->core, "p", "q", 0, NULL, NULL), 0);
	assert_int_equal(unlink(to), 0);
	assert_int_equal(nb_core_removed(f->core, "q", 0, 0, NULL, NULL), 0);
	ip_release(&f->srv);
	wait_synced(f);
	assert_false(remote_exists(f, "p"));
	assert_false(remote_exists(f, "q"));
	assert_int_equal(partials(f), 0);
	free(from);
	free(to);
	free(data);
}

/* Drop the link after the client's k-th frame, for every k of a small
 * upload and of the second version that follows on the same link: the
 * final state is always the last version on the server, nothing else. */
static void test_cut_at_every_frame(void **state)
{
	struct fx *f = *state;
	size_t n1 = 600 * 1024, n2 = 300 * 1024;
	for (int k = 1; k <= 12; k++) {
		if (k > 1) {
			teardown(state);
			setup(state);
			f = *state;
		}
		atomic_store(&f->srv.drop_after, k);
		fx_open_core(f);
		char *v1 = stage_file(f, "f.bin", n1, 100 + k);
		wait_synced(f);
		assert_remote(f, "f.bin", v1, n1);
		char *v2 = content(n2, 200 + k);
		write_at(f->stage, "f.bin", v2, n2);
		assert_int_equal(nb_core_touch(f->core, "f.bin", NB_KIND_FILE), 0);
		wait_synced(f);
		assert_remote(f, "f.bin", v2, n2);
		if (remote_conflicts(f) != 0 || partials(f) != 0)
			fail_msg("cut after frame %d: %d conflict copies, %d partials", k,
				 remote_conflicts(f), partials(f));
		free(v1);
		free(v2);
	}
}

/* A batch of small files (PUT_SMALL, answered together at the server's
 * flush), the link cut after the client's k-th frame for every k that
 * falls inside the batch: every file ends on the server as staged, with
 * no conflict copy and no scratch file left. */
static void test_batch_cut_at_every_frame(void **state)
{
	struct fx *f = *state;
	enum { FILES = 8, SIZE = 3000 };
	for (int k = 1; k <= 4 * FILES; k++) {
		if (k > 1) {
			teardown(state);
			setup(state);
			f = *state;
		}
		atomic_store(&f->srv.drop_after, k);
		fx_open_core(f);
		char *v[FILES];
		char name[32];
		for (int i = 0; i < FILES; i++) {
			snprintf(name, sizeof(name), "small%d", i);
			v[i] = stage_file(f, name, SIZE + (size_t)i, (unsigned)(300 + 17 * k + i));
		}
		wait_synced(f);
		for (int i = 0; i < FILES; i++) {
			snprintf(name, sizeof(name), "small%d", i);
			assert_remote(f, name, v[i], SIZE + (size_t)i);
			free(v[i]);
		}
		if (remote_conflicts(f) != 0 || partials(f) != 0)
			fail_msg("cut after frame %d: %d conflict copies, %d partials", k,
				 remote_conflicts(f), partials(f));
		/* Past the session's last frame no cut happens: by then every
		 * frame of the batch (after HELLO) has had its turn. */
		if (atomic_load(&f->srv.drops) == 0) {
			if (k <= FILES + 1)
				fail_msg("no cut after frame %d: the batch was not covered", k);
			break;
		}
	}
}

/* The staging change of a rename, as the filesystem passes it to the
 * core (run under the core's lock); then a pause of pause_ms. */
struct stage_mv {
	struct fx *f;
	const char *from, *to;
	int pause_ms;
};

static int stage_mv_run(void *arg)
{
	struct stage_mv *mv = arg;
	int r = renameat(mv->f->stage_fd, mv->from, mv->f->stage_fd, mv->to) != 0 ? -errno : 0;
	if (mv->pause_ms)
		nb_xio_sleep_ms(mv->pause_ms);
	return r;
}

/* A new file moved into a new directory, at every point of its upload
 * (held before the client's k-th frame, or not held at all), as
 * `mv f9 sub/` right after `mkdir sub` does: the file ends on the
 * server in the directory, and nowhere else. Regression hunt: once,
 * under load, the server had sub but not sub/f9 while the queue was
 * empty. NBFS_TEST_ROUNDS repeats each point (default 2). */
static void test_rename_into_new_dir(void **state)
{
	struct fx *f = *state;
	const char *env = getenv("NBFS_TEST_ROUNDS");
	int rounds = env ? atoi(env) : 2;
	for (int run = 0; run < rounds * 7; run++) {
		int k = run % 7; /* 0: no hold */
		if (run > 0) {
			teardown(state);
			setup(state);
			f = *state;
		}
		atomic_store(&f->srv.hold_at, k);
		fx_open_core(f);
		char *data = stage_file(f, "f9", 2, (unsigned)(500 + run));
		int held = k ? ip_wait_held(&f->srv, 300) : 0;
		stage_dir(f, "sub");
		assert_int_equal(nb_core_touch(f->core, "sub", NB_KIND_DIR), 0);
		struct stage_mv mv = {f, "f9", "sub/f9", 0};
		assert_int_equal(nb_core_renamed(f->core, "f9", "sub/f9",
						 nb_core_known_on_server(f->core, "f9"), stage_mv_run,
						 &mv),
				 0);
		ip_release(&f->srv);
		wait_synced(f);
		if (!remote_exists(f, "sub/f9") || remote_exists(f, "f9"))
			fail_msg("run %d, held before frame %d (%s): sub/f9 %s, f9 %s", run, k,
				 held ? "reached" : "not reached",
				 remote_exists(f, "sub/f9") ? "there" : "MISSING",
				 remote_exists(f, "f9") ? "LEFT" : "absent");
		assert_remote(f, "sub/f9", data, 2);
		free(data);
	}
}

/* The FUSE thread renames the staged file and is descheduled before
 * the rename is recorded (modelled by a pause inside the staging
 * change): a job started meanwhile used to find the staged copy gone
 * under its old name and drop the entry, and the rename then found
 * nothing to move: the server got sub but never sub/f9 (posixcheck's
 * readdir_after_changes, once, under load). The core runs the staging
 * change under its lock, so no job starts in between. */
static void test_rename_window(void **state)
{
	struct fx *f = *state;
	fx_open_core(f);
	nb_core_pause(f->core, 1);
	char *data = stage_file(f, "f9", 2, 77);
	stage_dir(f, "sub");
	assert_int_equal(nb_core_touch(f->core, "sub", NB_KIND_DIR), 0);
	nb_core_pause(f->core, 0);
	struct stage_mv mv = {f, "f9", "sub/f9", 500};
	assert_int_equal(nb_core_renamed(f->core, "f9", "sub/f9", 0, stage_mv_run, &mv), 0);
	wait_synced(f);
	if (!remote_exists(f, "sub/f9"))
		fail_msg("sub/f9 MISSING on the server, the queue empty");
	assert_remote(f, "sub/f9", data, 2);
	assert_false(remote_exists(f, "f9"));
	free(data);
}

/* A small upload in doubt is asked about (STAT) on the next link, and
 * renamed while that question is out: the server gets the rename first,
 * so the upload must not go to the old name after it (it goes under the
 * new one). Regression (test_op_storm_stall, once, under load): the
 * PUT_SMALL went to the old name after the RENAME, and the server kept
 * a file the user had renamed away. */
static void test_rename_while_doubt_asked(void **state)
{
	struct fx *f = *state;
	/* HELLO, PUT_SMALL: the server gets it, the answer is lost; no new
	 * link until the test says so. */
	atomic_store(&f->srv.drop_after, 2);
	atomic_store(&f->srv.max_connections, 1);
	fx_open_core(f);
	char *data = stage_file(f, "w", 517, 11);
	long long deadline = nb_xio_now_ms() + WAIT_MS;
	while (!remote_exists(f, "w") || atomic_load(&f->srv.drops) == 0) {
		assert_true(nb_xio_now_ms() < deadline);
		nb_xio_sleep_ms(5);
	}
	/* As if that session never got to publish it. */
	char *rw = tu_join(f->remote, "w");
	assert_int_equal(unlink(rw), 0);
	/* The next link: HELLO, then the STAT of the doubt, held. */
	atomic_store(&f->srv.hold_at, 2);
	atomic_store(&f->srv.max_connections, 0);
	assert_true(ip_wait_held(&f->srv, WAIT_MS));
	struct stage_mv mv = {f, "w", "z", 0};
	assert_int_equal(nb_core_renamed(f->core, "w", "z", 0, stage_mv_run, &mv), 0);
	ip_release(&f->srv);
	wait_synced(f);
	assert_remote(f, "z", data, 517);
	if (remote_exists(f, "w"))
		fail_msg("w is on the server after it was renamed to z");
	assert_int_equal(remote_conflicts(f), 0);
	free(rw);
	free(data);
}

#define OLD_TIME 1300000000LL

static void set_old_time(struct fx *f, const char *rel, long long sec)
{
	struct timespec ts[2] = {{.tv_sec = 0, .tv_nsec = UTIME_OMIT},
				 {.tv_sec = sec, .tv_nsec = 250000000}};
	assert_int_equal(utimensat(f->stage_fd, rel[0] ? rel : ".", ts, 0), 0);
}

static struct timespec mtime_in(const char *root, const char *rel)
{
	struct stat st;
	char *p = tu_join(root, rel);
	assert_int_equal(lstat(p, &st), 0);
	free(p);
	return st.st_mtim;
}

/* Wait until everything below the root, directory times included, is
 * in place (fails the test after WAIT_MS). */
static void wait_dir_synced(struct fx *f)
{
	struct nb_core_state v;
	long long deadline = nb_xio_now_ms() + WAIT_MS;
	for (;;) {
		nb_core_dir_state(f->core, "", &v);
		if (v.state == NB_STATE_SYNCED)
			return;
		if (nb_xio_now_ms() > deadline)
			fail_msg("directory times still pending after %d ms", WAIT_MS);
		nb_xio_sleep_ms(10);
	}
}

/* Directories get the staged directory's time once their contents are
 * in place: a file published in one moves the server's time on, and
 * the time set afterwards puts it back. */
static void test_dir_times(void **state)
{
	struct fx *f = *state;
	fx_open_core(f);
	/* The whole tree first, its times set last, as cp -a leaves it;
	 * then the core hears of it (else a time could go before the test
	 * set it). */
	stage_dir(f, "d");
	stage_dir(f, "d/e");
	char *a = content(700 * 1024, 3); /* large: PUT_OPEN */
	char *b = content(10, 4);
	write_at(f->stage, "d/e/a.bin", a, 700 * 1024);
	write_at(f->stage, "d/b.txt", b, 10);
	set_old_time(f, "d/e", OLD_TIME);
	set_old_time(f, "d", OLD_TIME + 1);
	set_old_time(f, "", OLD_TIME + 2);
	const char *order[] = {"d", "d/e", "d/e/a.bin", "d/b.txt"};
	for (int i = 0; i < 4; i++)
		assert_int_equal(nb_core_touch(f->core, order[i], i < 2 ? NB_KIND_DIR : NB_KIND_FILE), 0);
	wait_synced(f);
	wait_dir_synced(f);
	assert_remote(f, "d/e/a.bin", a, 700 * 1024);
	const char *dirs[] = {"d/e", "d", "."};
	for (int i = 0; i < 3; i++) {
		struct timespec want = mtime_in(f->stage, dirs[i]), got = mtime_in(f->remote, dirs[i]);
		if (got.tv_sec != want.tv_sec || got.tv_nsec != want.tv_nsec)
			fail_msg("%s: %lld.%09ld on the server, %lld.%09ld staged", dirs[i],
				 (long long)got.tv_sec, got.tv_nsec, (long long)want.tv_sec, want.tv_nsec);
	}
	assert_true(mtime_in(f->remote, "d/e").tv_sec == OLD_TIME);
	free(a);
	free(b);
}

/* A server that predates SETTIME answers ENOSYS: nothing fails, the
 * directories keep the server's own times, nothing stays pending, and
 * the session goes on. */
static void test_dir_times_old_server(void **state)
{
	struct fx *f = *state;
	atomic_store(&f->srv.unknown_type, NB_MSG_SETTIME);
	fx_open_core(f);
	stage_dir(f, "d");
	char *b = content(10, 5);
	write_at(f->stage, "d/b.txt", b, 10);
	set_old_time(f, "d", OLD_TIME);
	assert_int_equal(nb_core_touch(f->core, "d", NB_KIND_DIR), 0);
	assert_int_equal(nb_core_touch(f->core, "d/b.txt", NB_KIND_FILE), 0);
	wait_synced(f);
	wait_dir_synced(f);
	assert_remote(f, "d/b.txt", b, 10);
	assert_true(mtime_in(f->remote, "d").tv_sec != OLD_TIME);
	/* more work, in the same session */
	char *c = stage_file(f, "d/c.txt", 12, 6);
	wait_synced(f);
	wait_dir_synced(f);
	assert_remote(f, "d/c.txt", c, 12);
	assert_int_equal(atomic_load(&f->srv.connections), 1);
	free(b);
	free(c);
}


/* ---- streams: an upload that begins while its file is written ---- */

/* A writer as the FUSE layer drives one: a new file, followed as it is
 * written in order (fs/ops.c). */
struct writer {
	uint64_t handle;
	int fd;
	struct nb_follow *follow;
	uint64_t size;
};

static void writer_open(struct fx *f, struct writer *w, const char *path)
{
	assert_int_equal(nb_core_writer_open(f->core, path, 1, &w->handle), 0);
	w->fd = openat(f->stage_fd, path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(w->fd >= 0);
	w->follow = nb_core_follow_begin(f->core, w->handle, w->fd);
	assert_non_null(w->follow);
	w->size = 0;
}

static void writer_pwrite(struct writer *w, const char *data, size_t n, uint64_t off)
{
	for (size_t done = 0; done < n;) {
		size_t k = n - done < 1024 * 1024 ? n - done : 1024 * 1024;
		assert_int_equal(pwrite(w->fd, data + done, k, (off_t)(off + done)), (ssize_t)k);
		nb_core_follow_wrote(w->follow, off + done, k);
		done += k;
	}
	if (off + n > w->size)
		w->size = off + n;
}

static void writer_close(struct fx *f, struct writer *w)
{
	close(w->fd);
	nb_core_follow_end(w->follow);
	nb_core_writer_close(f->core, w->handle, (int64_t)w->size);
}

/* The size of the largest partial on the server. */
static uint64_t largest_partial(struct fx *f)
{
	char *dir = tu_join(f->remote, ".nbfs/partial");
	DIR *d = opendir(dir);
	struct dirent *de;
	uint64_t max = 0;
	while (d && (de = readdir(d)) != NULL) {
		struct stat st;
		if (de->d_name[0] != '.' && fstatat(dirfd(d), de->d_name, &st, 0) == 0 &&
		    (uint64_t)st.st_size > max)
			max = (uint64_t)st.st_size;
	}
	if (d)
		closedir(d);
	free(dir);
	return max;
}

/* Wait until a partial on the server holds at least n bytes: the upload
 * is under way while the writer is still open. */
static void wait_partial(struct fx *f, uint64_t n)
{
	long long deadline = nb_xio_now_ms() + WAIT_MS;
	while (largest_partial(f) < n) {
		if (nb_xio_now_ms() > deadline)
			fail_msg("no partial of %llu bytes on the server while the file is "
				 "written (largest %llu)",
				 (unsigned long long)n, (unsigned long long)largest_partial(f));
		nb_xio_sleep_ms(10);
	}
}

#define MIB (1024 * 1024)

/* The upload of a file written in order begins before it is closed, and
 * what went while it was written is not sent again. */
static void test_stream_while_writing(void **state)
{
	struct fx *f = *state;
	struct writer w;
	size_t n = 24 * MIB + 12345;
	char *data = content(n, 40);
	fx_open_core(f);
	writer_open(f, &w, "big.bin");
	writer_pwrite(&w, data, 16 * MIB, 0);
	wait_partial(f, 10 * MIB);
	assert_int_equal(remote_exists(f, "big.bin"), 0);
	writer_pwrite(&w, data + 16 * MIB, n - 16 * MIB, 16 * MIB);
	writer_close(f, &w);
	wait_synced(f);
	assert_remote(f, "big.bin", data, n);
	assert_int_equal(partials(f), 0);
	unsigned long long out = atomic_load(&f->srv.bytes_out);
	if (out > n + n / 50)
		fail_msg("%llu bytes sent for %zu", out, n);
	free(data);
}

/* A write out of order after the stream began (a header filled in at
 * the end, say): the stream stops, its partial is discarded, and the
 * file as it was closed is what the server gets. */
static void test_stream_broken_by_rewrite(void **state)
{
	struct fx *f = *state;
	struct writer w;
	size_t n = 20 * MIB;
	char *data = content(n, 41);
	fx_open_core(f);
	writer_open(f, &w, "rw.bin");
	writer_pwrite(&w, data, 16 * MIB, 0);
	wait_partial(f, 9 * MIB);
	writer_pwrite(&w, data + 16 * MIB, n - 16 * MIB, 16 * MIB);
	memset(data + 100, 'H', 4096);
	writer_pwrite(&w, data + 100, 4096, 100);
	writer_close(f, &w);
	wait_synced(f);
	assert_remote(f, "rw.bin", data, n);
	assert_int_equal(partials(f), 0);
	free(data);
}

/* The link drops while the file is being streamed: the stream resumes
 * under its key where the server's partial ends (its prefix checked),
 * and little is sent twice. */
static void test_stream_cut(void **state)
{
	struct fx *f = *state;
	struct writer w;
	size_t n = 32 * MIB + 7;
	char *data = content(n, 42);
	/* HELLO, MOUNT, PUT_STREAM, then 256 KiB pieces: cut 4 MiB in. */
	atomic_store(&f->srv.drop_after, 20);
	fx_open_core(f);
	writer_open(f, &w, "cut.bin");
	writer_pwrite(&w, data, 20 * MIB, 0);
	wait_partial(f, 12 * MIB);
	writer_pwrite(&w, data + 20 * MIB, n - 20 * MIB, 20 * MIB);
	writer_close(f, &w);
	wait_synced(f);
	assert_remote(f, "cut.bin", data, n);
	assert_int_equal(partials(f), 0);
	assert_true(atomic_load(&f->srv.drops) >= 1);
	unsigned long long out = atomic_load(&f->srv.bytes_out);
	if (out > n + 4 * MIB)
		fail_msg("%llu bytes sent for %zu after one cut", out, n);
	free(data);
}

/* nbfs stops (or dies) while a file is streamed: the stream's key is on
 * record, so the next start resumes the partial instead of sending it
 * all again, and leaves no partial behind. */
static void test_stream_restart(void **state)
{
	struct fx *f = *state;
	struct writer w;
	size_t n = 16 * MIB;
	char *data = content(n, 45);
	fx_open_core(f);
	writer_open(f, &w, "rs.bin");
	writer_pwrite(&w, data, n, 0);
	wait_partial(f, 6 * MIB);
	nb_core_stop(f->core);
	writer_close(f, &w);
	nb_core_close(f->core);
	f->core = NULL;
	uint64_t held = largest_partial(f);
	if (held >= n)
		fail_msg("the stream was complete before the stop: nothing to resume");
	fx_open_core(f);
	wait_synced(f);
	assert_remote(f, "rs.bin", data, n);
	assert_int_equal(partials(f), 0);
	unsigned long long out = atomic_load(&f->srv.bytes_out);
	if (out > n + 2 * MIB)
		fail_msg("%llu bytes sent for %zu (%llu held at the stop)", out, n,
			 (unsigned long long)held);
	free(data);
}

/* The server refuses to publish a stream for a reason that leaves its
 * partial in place (here the directory it was to go into was removed
 * behind nbfs's back; on a real server, a full disk): the key stays
 * with the entry, so the retry resumes that partial instead of sending
 * the file again from nothing (which on a full disk never fits). */
static void test_stream_refused_keeps_key(void **state)
{
	struct fx *f = *state;
	struct writer w;
	size_t n = 16 * MIB;
	char *data = content(n, 46);
	fx_open_core(f);
	stage_dir(f, "d");
	assert_int_equal(nb_core_touch(f->core, "d", NB_KIND_DIR), 0);
	wait_synced(f);
	writer_open(f, &w, "d/x.bin");
	writer_pwrite(&w, data, 12 * MIB, 0);
	wait_partial(f, 6 * MIB);
	char *rdir = tu_join(f->remote, "d");
	assert_int_equal(rmdir(rdir), 0);
	free(rdir);
	writer_pwrite(&w, data + 12 * MIB, n - 12 * MIB, 12 * MIB);
	writer_close(f, &w);
	struct nb_core_state v;
	long long deadline = nb_xio_now_ms() + WAIT_MS;
	while (!nb_core_state(f->core, "d/x.bin", 1, &v) || v.state != NB_STATE_ERROR) {
		if (nb_xio_now_ms() > deadline)
			fail_msg("the publish into a removed directory was not refused");
		nb_xio_sleep_ms(10);
	}
	assert_int_equal(partials(f), 1);
	nb_core_kick(f->core, "d/x.bin", 1);
	wait_synced(f);
	assert_remote(f, "d/x.bin", data, n);
	assert_int_equal(partials(f), 0);
	unsigned long long out = atomic_load(&f->srv.bytes_out);
	if (out > n + n / 4)
		fail_msg("%llu bytes sent for %zu: the retry did not resume the stream's partial",
			 out, n);
	free(data);
}

/* A server that predates PUT_STREAM: the file goes the usual way once
 * closed, in the same session. */
static void test_stream_old_server(void **state)
{
	struct fx *f = *state;
	struct writer w;
	size_t n = 12 * MIB;
	char *data = content(n, 43);
	atomic_store(&f->srv.unknown_type, NB_MSG_PUT_STREAM);
	fx_open_core(f);
	writer_open(f, &w, "old.bin");
	writer_pwrite(&w, data, n, 0);
	nb_xio_sleep_ms(200); /* the stream is tried, and refused */
	writer_close(f, &w);
	wait_synced(f);
	assert_remote(f, "old.bin", data, n);
	assert_int_equal(partials(f), 0);
	assert_int_equal(atomic_load(&f->srv.connections), 1);
	free(data);
}

/* Put the server's content record on the file at rel, as its publish
 * does; 0 if this filesystem keeps no user xattrs. */
static int remote_record(struct fx *f, const char *rel, const char *data, size_t n)
{
	uint8_t md5[NB_MD5_LEN];
	char *path = tu_join(f->remote, rel);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	free(path);
	nb_md5_buf(data, n, md5);
	nb_partial_record(fd, md5, n);
	int ok = nb_partial_recorded_md5(fd, md5);
	close(fd);
	return ok;
}

/* A stream is opened to a path the server holds another file at (our
 * own publish whose record was lost to a full cache disk, or the same
 * file copied there by someone else). A stream names no MD5, so its
 * refusal at once says nothing about the content: the file goes by its
 * MD5 once closed, and the same content is no conflict (no copy, the
 * server's file kept), while different content still gets its copy. */
static void test_stream_meets_same_content(void **state)
{
	struct fx *f = *state;
	struct writer w;
	size_t n = 12 * MIB;
	char *data = content(n, 47);
	char *theirs = content(n, 48);
	char *mine = content(n, 49);
	write_at(f->remote, "same.bin", data, n);
	if (!remote_record(f, "same.bin", data, n))
		skip(); /* no content record: the server cannot tell (a conflict copy) */
	write_at(f->remote, "diff.bin", theirs, n);
	assert_true(remote_record(f, "diff.bin", theirs, n));
	fx_open_core(f);
	writer_open(f, &w, "same.bin");
	writer_pwrite(&w, data, n, 0);
	/* Open for longer than NB_QUEUE_STREAM_AFTER_MS: the stream is
	 * tried while it is written, and refused. */
	nb_xio_sleep_ms(NB_QUEUE_STREAM_AFTER_MS + 500);
	writer_close(f, &w);
	writer_open(f, &w, "diff.bin");
	writer_pwrite(&w, mine, n, 0);
	nb_xio_sleep_ms(NB_QUEUE_STREAM_AFTER_MS + 500);
	writer_close(f, &w);
	wait_synced(f);
	assert_remote(f, "same.bin", data, n);
	assert_remote(f, "diff.bin", theirs, n);
	pthread_mutex_lock(&f->lock);
	int conflicts = f->conflicts;
	char copy[256];
	snprintf(copy, sizeof(copy), "%s", f->conflict_copy);
	pthread_mutex_unlock(&f->lock);
	if (conflicts != 1 || remote_conflicts(f) != 1 || !strstr(copy, "diff.conflict-"))
		fail_msg("%d conflicts (%d copies on the server, the last %s): one expected, of "
			 "diff.bin",
			 conflicts, remote_conflicts(f), copy);
	assert_remote(f, copy, mine, n);
	struct nb_core_state v;
	assert_int_equal(nb_core_state(f->core, "same.bin", 1, &v), 0);
	assert_int_equal(v.state, NB_STATE_SYNCED);
	assert_int_equal(partials(f), 0);
	free(data);
	free(theirs);
	free(mine);
}

/* cp -p and rsync: the times are set after the close, and the file is
 * renamed into place. The server ends with the name and the times, and
 * the content is sent once. */
static void test_stream_times_then_rename(void **state)
{
	struct fx *f = *state;
	struct writer w;
	size_t n = 16 * MIB + 3;
	char *data = content(n, 44);
	fx_open_core(f);
	writer_open(f, &w, ".tmp.bin");
	writer_pwrite(&w, data, n, 0);
	wait_partial(f, 9 * MIB);
	writer_close(f, &w);
	const struct timespec ts[2] = {{.tv_sec = 1500000000}, {.tv_sec = 1500000000, .tv_nsec = 5}};
	assert_int_equal(utimensat(f->stage_fd, ".tmp.bin", ts, 0), 0);
	assert_int_equal(nb_core_touch_meta(f->core, ".tmp.bin", NB_KIND_FILE), 0);
	assert_int_equal(renameat(f->stage_fd, ".tmp.bin", f->stage_fd, "final.bin"), 0);
	assert_int_equal(nb_core_renamed(f->core, ".tmp.bin", "final.bin", 0, NULL, NULL), 0);
	wait_synced(f);
	assert_remote(f, "final.bin", data, n);
	assert_int_equal(remote_exists(f, ".tmp.bin"), 0);
	struct timespec m = mtime_in(f->remote, "final.bin");
	assert_int_equal(m.tv_sec, 1500000000);
	assert_int_equal(m.tv_nsec, 5);
	assert_int_equal(partials(f), 0);
	unsigned long long out = atomic_load(&f->srv.bytes_out);
	if (out > n + n / 50)
		fail_msg("%llu bytes sent for %zu", out, n);
	free(data);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_upload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_times, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_times_old_server, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume_at_offset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conflict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_doubt_settled_by_stat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unlink_keeps_changed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unlink_old_server, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_keeps_theirs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_old_server, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rmdir_keeps_what_is_left, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unlink_after_lost_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unlink_after_lost_answer_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_remove_before_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_into_new_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_while_doubt_asked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cut_at_every_frame, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_cut_at_every_frame, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_while_writing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_broken_by_rewrite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_old_server, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_meets_same_content, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_refused_keeps_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_times_then_rename, setup, teardown),
	};
	/* NBFS_TEST_FILTER=test_rename_into_new_dir: one test (a pattern). */
	if (getenv("NBFS_TEST_FILTER"))
		cmocka_set_test_filter(getenv("NBFS_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
