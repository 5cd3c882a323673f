/*
 * libFuzzer target: the input is the byte stream a client sends to
 * nbfs-server (protocol 2).
 *
 * Each input is one whole session, exactly as server/main.c runs it: an
 * nb_frame_reader over the input and nb_session_step until the session
 * ends or the input runs out (the reader has no readable(), so the
 * PUT_SMALL batch is flushed whenever no whole frame is buffered, and at
 * the end). The session works on a real root directory made once per
 * process, so uploads and PUT_SMALLs really create partials, scratch
 * files and published files, several uploads open at once.
 *
 * Besides the sanitizers, every iteration checks what a hostile client
 * must never achieve, and aborts (which libFuzzer records as a crash) if
 * it did:
 *   - every reply frame the server writes decodes with the client's own
 *     decoders, and the replies end on a frame boundary;
 *   - the first reply is HELLO, or a refusal without an id; every later
 *     one carries the id of a request the server has read (or 0, for a
 *     frame it could not take an id from);
 *   - after a clean end of input every PUT_SMALL has been answered;
 *   - no file descriptor outlives the session (nb_session_free closes
 *     the uploads' partials and directories and the batch's files), and
 *     no scratch file is left in the partial directory;
 *   - nothing outside the root changes, although the root holds symlinks
 *     that point outside it;
 *   - no request blocks (the root holds a FIFO).
 *
 * The root's tree is put back to its seed state after every input that
 * could have changed it (one with a request other than HELLO, STAT or
 * LIST), so each input starts from the same tree: a crash found here
 * reproduces when its input is run alone, and disk use stays bounded.
 * The work directory lives in /dev/shm when it can (fsync is free there;
 * set NBFS_FUZZ_TMPDIR to choose another place) and is removed at exit.
 * NBFS_FUZZ_LOG=1 sends the server's log to stderr instead of /dev/null.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "server/partial.h"
#include "server/root.h"
#include "server/session.h"
#include "wire/err.h"
#include "wire/frame.h"
#include "wire/log.h"
#include "wire/md5.h"
#include "wire/proto.h"

#define FZ_OUT_MAX (16u * 1024 * 1024)
#define FZ_FIXED_MTIME 1700000000
/* No request on a small tmpfs tree takes this long unless the server
 * blocked (opening a FIFO, say). A blocked syscall returns EINTR when
 * libFuzzer's -timeout alarm fires, so run with -timeout (run.sh and
 * regress.sh pass 10) and this turns the stall into a crash. */
#define FZ_SLOW_SECONDS 3.0

static char fz_base[PATH_MAX];	  /* the mkdtemp directory */
static char fz_rootdir[PATH_MAX]; /* fz_base/root: the server's root */
static char fz_outside[PATH_MAX]; /* fz_base/outside: must never change */
static struct nb_root fz_root;
static struct stat fz_secret_st; /* fz_outside/secret as first made */
static struct stat fz_outside_st; /* fz_outside itself (SETTIME must not reach it) */
static const char fz_hello[] = "hello, nbfs\n";

static void fz_die(const char *what)
{
	fprintf(stderr, "fuzz_server_frames: %s\n", what);
	abort();
}

static void fz_die_errno(const char *what)
{
	fprintf(stderr, "fuzz_server_frames: %s: %s\n", what, strerror(errno));
	abort();
}

/* --- the root's tree --- */

/* Remove everything below the directory fd (not fd itself). The fuzzer
 * can build paths up to NB_PATH_MAX bytes deep (about 16,000 levels), beyond what
 * nftw can name and beyond the fd limit if we held one per level, so
 * this walks down one fd at a time and keeps only the names. Directories
 * are made searchable first: MKDIR may have given them mode 0. */
static void fz_clear(int rootfd)
{
	size_t depth = 0, cap = 16;
	char(*names)[NAME_MAX + 1] = malloc(cap * sizeof(*names));
	int fd = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!names || fd < 0)
		fz_die_errno("clear: open");
	for (;;) {
		int sub = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *d = sub >= 0 ? fdopendir(sub) : NULL;
		if (!d)
			fz_die_errno("clear: opendir");
		char child[NAME_MAX + 1] = "";
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			struct stat st;
			if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
				fz_die_errno("clear: stat");
			if (S_ISDIR(st.st_mode)) {
				if (!child[0])
					snprintf(child, sizeof(child), "%s", de->d_name);
			} else if (unlinkat(fd, de->d_name, 0) != 0) {
				fz_die_errno("clear: unlink");
			}
		}
		closedir(d);
		if (child[0]) {
			/* Go down into the first subdirectory. */
			if (fchmodat(fd, child, 0700, 0) != 0)
				fz_die_errno("clear: chmod");
			int next =
			    openat(fd, child, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (next < 0)
				fz_die_errno("clear: open subdir");
			if (depth == cap) {
				cap *= 2;
				names = realloc(names, cap * sizeof(*names));
				if (!names)
					fz_die("clear: out of memory");
			}
			memcpy(names[depth++], child, sizeof(child));
			close(fd);
			fd = next;
			continue;
		}
		/* fd is empty now: go up and remove it. */
		if (depth == 0)
			break;
		int up = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (up < 0)
			fz_die_errno("clear: open ..");
		close(fd);
		fd = up;
		if (unlinkat(fd, names[--depth], AT_REMOVEDIR) != 0)
			fz_die_errno("clear: rmdir");
	}
	close(fd);
	free(names);
}

static void fz_file(int dirfd, const char *name, const void *data, size_t n, mode_t mode)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0 || write(fd, data, n) != (ssize_t)n)
		fz_die_errno(name);
	struct timespec ts[2] = {{FZ_FIXED_MTIME, 0}, {FZ_FIXED_MTIME, 0}};
	if (fchmod(fd, mode) != 0 || futimens(fd, ts) != 0)
		fz_die_errno(name);
	close(fd);
}

/* The seed tree: a file the server already holds (with its content
 * record, so a PUT_OPEN of the same content is answered OK at once), an
 * empty file, nested directories, a FIFO, and symlinks pointing out of
 * the root that the server must never follow. */
static void fz_populate(void)
{
	int root = fz_root.fd;
	fz_file(root, "hello.txt", fz_hello, sizeof(fz_hello) - 1, 0644);
	uint8_t md5[NB_MD5_LEN];
	char hex[NB_MD5_HEX], rec[128];
	nb_md5_buf(fz_hello, sizeof(fz_hello) - 1, md5);
	nb_md5_hex(md5, hex);
	int n = snprintf(rec, sizeof(rec), "%s %zu %lld %ld", hex, sizeof(fz_hello) - 1,
			 (long long)FZ_FIXED_MTIME, 0L);
	/* Best effort, like the server: without user xattrs the shortcut
	 * is just not reachable. */
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/hello.txt", fz_rootdir);
	(void)setxattr(path, "user.nbfs.content", rec, (size_t)n, 0);
	fz_file(root, "empty", "", 0, 0600);
	if (mkdirat(root, "sub", 0755) != 0 || mkdirat(root, "sub/deep", 0755) != 0)
		fz_die_errno("mkdir sub");
	uint8_t inner[300];
	for (size_t i = 0; i < sizeof(inner); i++)
		inner[i] = (uint8_t)(i * 7);
	fz_file(root, "sub/inner.bin", inner, sizeof(inner), 0640);
	if (mkfifoat(root, "fifo", 0644) != 0)
		fz_die_errno("mkfifo");
	if (symlinkat("../outside", root, "out") != 0 || symlinkat(fz_outside, root, "abs") != 0 ||
	    symlinkat("../../outside", root, "sub/up") != 0 ||
	    symlinkat("../outside/secret", root, "secret") != 0)
		fz_die_errno("symlink");
}

/* Nothing outside the root may change: `outside` holds exactly the one
 * file it was made with, unchanged. */
static void fz_check_outside(void)
{
	DIR *d = opendir(fz_outside);
	if (!d)
		fz_die_errno("outside: opendir");
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    strcmp(de->d_name, "secret")) {
			fprintf(stderr, "fuzz_server_frames: '%s' appeared outside the root\n",
				de->d_name);
			abort();
		}
	}
	closedir(d);
	struct stat st;
	if (lstat(fz_outside, &st) != 0 || !S_ISDIR(st.st_mode) || (st.st_mode & 07777) != 0755 ||
	    st.st_mtim.tv_sec != fz_outside_st.st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != fz_outside_st.st_mtim.tv_nsec ||
	    st.st_ctim.tv_sec != fz_outside_st.st_ctim.tv_sec ||
	    st.st_ctim.tv_nsec != fz_outside_st.st_ctim.tv_nsec)
		fz_die("the outside directory was changed through the root");
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/secret", fz_outside);
	if (lstat(path, &st) != 0)
		fz_die_errno("outside/secret vanished");
	if (st.st_ino != fz_secret_st.st_ino || st.st_mode != fz_secret_st.st_mode ||
	    st.st_size != fz_secret_st.st_size ||
	    st.st_mtim.tv_sec != fz_secret_st.st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != fz_secret_st.st_mtim.tv_nsec ||
	    st.st_ctim.tv_sec != fz_secret_st.st_ctim.tv_sec ||
	    st.st_ctim.tv_nsec != fz_secret_st.st_ctim.tv_nsec)
		fz_die("outside/secret was changed through the root");
}

/* A session that has ended leaves no scratch file behind: it published
 * or removed every one. */
static void fz_check_no_scratch(void)
{
	int fd =
	    openat(fz_root.fd, NB_PARTIAL_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	DIR *d = fdopendir(fd);
	if (!d)
		fz_die_errno("partial dir");
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, NB_PARTIAL_SCRATCH_PREFIX,
			    strlen(NB_PARTIAL_SCRATCH_PREFIX)) == 0) {
			fprintf(stderr, "fuzz_server_frames: scratch file %s left behind\n",
				de->d_name);
			abort();
		}
	}
	closedir(d);
}

static void fz_cleanup(void)
{
	if (fz_root.fd >= 0) {
		fz_clear(fz_root.fd);
		nb_root_close(&fz_root);
		rmdir(fz_rootdir);
	}
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/secret", fz_outside);
	unlink(path);
	rmdir(fz_outside);
	rmdir(fz_base);
}

static void fz_init(void)
{
	const char *tmp = getenv("NBFS_FUZZ_TMPDIR");
	struct stat st;
	if (!tmp || !tmp[0])
		tmp = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
			      access("/dev/shm", W_OK) == 0
			  ? "/dev/shm"
			  : getenv("TMPDIR");
	if (!tmp || !tmp[0])
		tmp = "/tmp";
	snprintf(fz_base, sizeof(fz_base), "%s/nbfs-fuzz-server-XXXXXX", tmp);
	if (!mkdtemp(fz_base))
		fz_die_errno(fz_base);
	snprintf(fz_rootdir, sizeof(fz_rootdir), "%.*s/root", PATH_MAX - 16, fz_base);
	snprintf(fz_outside, sizeof(fz_outside), "%.*s/outside", PATH_MAX - 16, fz_base);
	umask(022);
	if (mkdir(fz_rootdir, 0755) != 0 || mkdir(fz_outside, 0755) != 0)
		fz_die_errno("mkdir");
	int out = open(fz_outside, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (out < 0)
		fz_die_errno(fz_outside);
	fz_file(out, "secret", "do not touch\n", 13, 0644);
	close(out);
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/secret", fz_outside);
	if (lstat(path, &fz_secret_st) != 0 || lstat(fz_outside, &fz_outside_st) != 0)
		fz_die_errno(path);
	if (nb_root_open(&fz_root, fz_rootdir) != 0)
		fz_die_errno(fz_rootdir);
	fz_populate();
	atexit(fz_cleanup);

	if (getenv("NBFS_FUZZ_LOG") && getenv("NBFS_FUZZ_LOG")[0] == '1') {
		nb_log_set_level(NB_LOG_DEBUG);
	} else {
		/* Still format every message (at debug level), so a bad
		 * argument to a log call shows up under ASan, but to nowhere. */
		FILE *devnull = fopen("/dev/null", "we");
		if (!devnull)
			fz_die_errno("/dev/null");
		nb_log_set_file(devnull);
		nb_log_set_level(NB_LOG_DEBUG);
	}
	nb_log_set_ident("nbfs-server");
}

/* --- the byte streams --- */

struct fz_input {
	const uint8_t *p;
	size_t n;
};

static ssize_t fz_read(void *ctx, void *buf, size_t n)
{
	struct fz_input *in = ctx;
	size_t k = n < in->n ? n : in->n;
	if (k > 0)
		memcpy(buf, in->p, k);
	in->p += k;
	in->n -= k;
	return (ssize_t)k;
}

static int fz_write(void *ctx, const void *buf, size_t n)
{
	int r = nb_buf_put(ctx, buf, n);
	if (r != 0)
		fz_die("server wrote more than the capture holds");
	return 0;
}

/* --- request ids --- */

/* The requests of one input, as the server will read them: each whole
 * frame's type and id (0 if it has none), up to the first bad header.
 * The server handles them in this order, one per nb_session_step. */
struct fz_req {
	uint8_t type;
	uint32_t id;
};

static struct fz_req *fz_scan(const uint8_t *data, size_t size, size_t *count)
{
	struct nb_buf *all = nb_buf_new(size + 1), *payload = nb_buf_new(NB_FRAME_MAX);
	size_t cap = 64, n = 0;
	struct fz_req *reqs = malloc(cap * sizeof(*reqs));
	if (!all || !payload || !reqs || nb_buf_put(all, data, size) != 0)
		fz_die("out of memory");
	uint8_t type;
	while (nb_frame_parse(all, &type, payload) == 0) {
		if (n == cap && !(reqs = realloc(reqs, (cap *= 2) * sizeof(*reqs))))
			fz_die("out of memory");
		reqs[n].type = type;
		reqs[n].id = 0;
		if (type != NB_MSG_HELLO)
			(void)nb_proto_id_decode(payload, &reqs[n].id);
		n++;
	}
	nb_buf_free(all);
	nb_buf_free(payload);
	*count = n;
	return reqs;
}

/* Each id's first request: sorted by id, for fz_seen. */
struct fz_first {
	uint32_t id;
	size_t idx;
};

static int fz_id_cmp(const void *a, const void *b)
{
	const struct fz_first *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int fz_first_cmp(const void *a, const void *b)
{
	const struct fz_first *x = a, *y = b;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* What the replies so far must agree with. */
struct fz_state {
	struct fz_first *first; /* n entries, one per distinct id */
	size_t nfirst;
	size_t handled;     /* requests the server has read */
	int hello;          /* the server's HELLO went out */
	int nreplies;
	uint32_t *pending;  /* ids of PUT_SMALLs read and not answered yet */
	size_t npending, cap;
};

static void fz_index(struct fz_state *st, const struct fz_req *reqs, size_t n)
{
	st->first = malloc((n ? n : 1) * sizeof(*st->first));
	if (!st->first)
		fz_die("out of memory");
	for (size_t i = 0; i < n; i++)
		st->first[i] = (struct fz_first){reqs[i].id, i};
	qsort(st->first, n, sizeof(*st->first), fz_first_cmp);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (k == 0 || st->first[k - 1].id != st->first[i].id)
			st->first[k++] = st->first[i];
	st->nfirst = k;
}

/* Has the server read a request with this id yet? */
static int fz_seen(const struct fz_state *st, uint32_t id)
{
	struct fz_first key = {id, 0};
	const struct fz_first *e = bsearch(&key, st->first, st->nfirst, sizeof(key), fz_id_cmp);
	return e && e->idx < st->handled;
}

static void fz_pending_add(struct fz_state *st, uint32_t id)
{
	if (st->npending == st->cap &&
	    !(st->pending = realloc(st->pending, (st->cap = st->cap * 2 + 16) * sizeof(uint32_t))))
		fz_die("out of memory");
	st->pending[st->npending++] = id;
}

static void fz_pending_answered(struct fz_state *st, uint32_t id)
{
	for (size_t i = 0; i < st->npending; i++) {
		if (st->pending[i] == id) {
			st->pending[i] = st->pending[--st->npending];
			return;
		}
	}
}

/* Decode every whole reply frame the server wrote, as the client would.
 * The server must only ever send frames the client accepts. */
static void fz_check_replies(struct nb_buf *out, struct nb_buf *payload, struct fz_state *st)
{
	for (;;) {
		uint8_t type;
		uint32_t id = 0;
		int r = nb_frame_parse(out, &type, payload);
		if (r == NB_E_SHORT)
			return;
		if (r != 0) {
			fprintf(stderr, "fuzz_server_frames: server wrote a bad frame header: %s\n",
				nb_strerror(r));
			abort();
		}
		if (st->nreplies == 0 && type != NB_MSG_HELLO && type != NB_MSG_ERROR) {
			fprintf(stderr, "fuzz_server_frames: first reply is %s\n",
				nb_msg_name(type));
			abort();
		}
		if (st->hello && type == NB_MSG_HELLO)
			fz_die("a second HELLO from the server");
		st->nreplies++;
		/* Before its HELLO the server answers in protocol-1 framing
		 * (no id); after it every reply has one. */
		if (type == NB_MSG_HELLO) {
			st->hello = 1;
		} else if (st->hello) {
			if (nb_proto_id_decode(payload, &id) != 0)
				fz_die("a reply without a request id");
			if (id != 0 && !fz_seen(st, id)) {
				fprintf(stderr,
					"fuzz_server_frames: %s for request id %u, which was never "
					"sent\n",
					nb_msg_name(type), id);
				abort();
			}
			if (type == NB_MSG_OK || type == NB_MSG_ERROR)
				fz_pending_answered(st, id);
		}
		switch (type) {
		case NB_MSG_HELLO: {
			struct nb_hello h;
			if ((r = nb_proto_hello_decode(payload, &h)) == 0) {
				if (h.version < 1)
					r = NB_E_VERSION;
				nb_proto_hello_free(&h);
			}
			break;
		}
		case NB_MSG_OK: r = nb_proto_empty_decode(payload); break;
		case NB_MSG_ERROR:
		case NB_MSG_PUT_FAIL: {
			struct nb_error e;
			if ((r = nb_proto_error_decode(payload, &e)) == 0)
				nb_proto_error_free(&e);
			break;
		}
		case NB_MSG_ATTR: {
			struct nb_attr a;
			if ((r = nb_proto_attr_decode(payload, &a)) == 0)
				nb_attr_free(&a);
			break;
		}
		case NB_MSG_DIRENTS: {
			struct nb_dirents d;
			if ((r = nb_proto_dirents_decode(payload, &d)) == 0)
				nb_proto_dirents_free(&d);
			break;
		}
		case NB_MSG_PUT_OFFER: {
			struct nb_put_offer o;
			r = nb_proto_put_offer_decode(payload, &o);
			break;
		}
		case NB_MSG_GET_INFO: {
			struct nb_get_info gi;
			if ((r = nb_proto_get_info_decode(payload, &gi)) == 0)
				nb_attr_free(&gi.attr);
			break;
		}
		case NB_MSG_GET_DATA: {
			uint64_t off;
			const uint8_t *d;
			size_t n;
			r = nb_proto_get_data_decode(payload, &off, &d, &n);
			break;
		}
		default:
			/* A request type coming back is always wrong; a reply type
			 * this target does not know yet (the protocol grows) is
			 * taken as it is. */
			r = type >= NB_MSG_STAT ? NB_E_PROTO : 0;
			break;
		}
		if (r != 0) {
			fprintf(stderr,
				"fuzz_server_frames: server sent a %s (type %u) the client "
				"rejects: %s\n",
				nb_msg_name(type), type, nb_strerror(r));
			abort();
		}
	}
}

/* The lowest free descriptor: fds are handed out lowest first, so if an
 * iteration leaks one, the same probe afterwards returns a different fd. */
static int fz_lowest_free_fd(void)
{
	int fd = dup(2);
	if (fd < 0)
		fz_die_errno("dup");
	close(fd);
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	if (!inited) {
		fz_init();
		inited = 1;
	}
	int fd_before = fz_lowest_free_fd();

	size_t nreqs;
	struct fz_req *reqs = fz_scan(data, size, &nreqs);
	struct fz_state st = {0};
	fz_index(&st, reqs, nreqs);
	struct fz_input in = {data, size};
	struct nb_stream instream = {fz_read, NULL, &in};
	struct nb_buf *captured = nb_buf_new(FZ_OUT_MAX), *payload = nb_buf_new(NB_FRAME_MAX),
		      *reply = nb_buf_new(NB_FRAME_MAX);
	struct nb_stream outstream = {NULL, fz_write, captured};
	struct nb_frame_reader rd;
	struct nb_session s;
	if (!captured || !payload || !reply || nb_frame_reader_init(&rd, &instream) != 0 ||
	    nb_session_init(&s, fz_root, &outstream) != 0)
		fz_die("out of memory");

	/* As nb_session_run, one step at a time so the replies can be
	 * checked as they come. */
	int dirty = 0, r;
	for (;;) {
		/* The step about to run reads (at most) the next request. */
		if (st.handled < nreqs) {
			const struct fz_req *q = &reqs[st.handled];
			/* Only these are sure to leave the tree alone. */
			if (q->type != NB_MSG_HELLO && q->type != NB_MSG_STAT &&
			    q->type != NB_MSG_LIST && q->type != NB_MSG_PING)
				dirty = 1;
			if (q->type == NB_MSG_PUT_SMALL)
				fz_pending_add(&st, q->id);
			st.handled++;
		}
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		r = nb_session_step(&s, &rd, payload);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double took =
		    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		if (took > FZ_SLOW_SECONDS) {
			fprintf(stderr,
				"fuzz_server_frames: a step took %.1f s: the server blocked\n",
				took);
			abort();
		}
		fz_check_replies(captured, reply, &st);
		if (r != 0)
			break;
	}
	/* A clean end (no violation, no failure) answers every PUT_SMALL. */
	if (r == NB_E_EOF && st.npending != 0) {
		fprintf(stderr, "fuzz_server_frames: %zu PUT_SMALLs never answered (id %u)\n",
			st.npending, st.pending[0]);
		abort();
	}
	nb_session_free(&s);
	nb_frame_reader_free(&rd);
	fz_check_replies(captured, reply, &st);
	if (nb_buf_len(captured) != 0) {
		fprintf(stderr, "fuzz_server_frames: %zu bytes of a partial reply frame\n",
			nb_buf_len(captured));
		abort();
	}
	nb_buf_free(captured);
	nb_buf_free(payload);
	nb_buf_free(reply);
	free(st.pending);
	free(st.first);
	free(reqs);
	fz_check_no_scratch();

	if (fz_lowest_free_fd() != fd_before) {
		fprintf(stderr,
			"fuzz_server_frames: the session leaked a file descriptor (lowest free fd "
			"%d, was %d)\n",
			fz_lowest_free_fd(), fd_before);
		abort();
	}
	if (dirty) {
		fz_check_outside();
		fz_clear(fz_root.fd);
		fz_populate();
	}
	return 0;
}
