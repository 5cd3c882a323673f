/*
 * `nbfs status --follow [--json] MOUNTPOINT`: the report read four
 * times a second, and what changed written as one event per line.
 *
 * Why polling the attribute, and not a channel the daemon pushes
 * through: the report is already the one door to the sync state from
 * outside the daemon, reading it costs one getxattr and an in-memory
 * walk of the queue, and a reader blocked inside the mount (a getxattr
 * that waits for a change) would hold a FUSE thread and keep the mount
 * busy at unmount. A quarter of a second is quick enough for a notifier
 * or a script, and the loop ends with the mount.
 */
#include "fs/status_follow.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "fs/progress.h"
#include "fs/status_diff.h"
#include "fs/status_json.h"
#include "fs/xattrs.h"
#include "wire/xio.h"

#define NB_FOLLOW_POLL_MS 250
/* A progress event per entry at most this often. */
#define NB_FOLLOW_PROGRESS_MS 1000
#define NB_FOLLOW_LINE_MAX (1 << 20)

static volatile sig_atomic_t nb_follow_stop;

static void nb_follow_signal(int sig)
{
	(void)sig;
	nb_follow_stop = 1;
}

struct nb_follow {
	const char *mnt;
	int json;
	long long now_ms;
	struct nb_buf *line; /* the event being written */
	/* Per entry of the current report: when its last progress event
	 * went out (monotonic ms), and the same for the next report. */
	long long *marks, *next_marks;
	const struct nb_status *old; /* the report marks belongs to */
	/* The mount's event ring (fs/events.h): how entries left the list.
	 * An nbfs without one: guessed from the path's state instead. */
	int has_ring;
	uint64_t want;			     /* the number of the next event to write */
	const struct nb_status_events *ring; /* this look's */
	int write_failed;
};

/* A path for a terminal: escaped as nbfs status shows it (backslash,
 * newline, tab, other control bytes), everything else as it is. */
static void nb_follow_text_path(struct nb_buf *b, const char *s)
{
	char esc[8];
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f || *p == '\\') {
			int n = *p == '\\'   ? snprintf(esc, sizeof(esc), "\\\\")
				: *p == '\n' ? snprintf(esc, sizeof(esc), "\\n")
				: *p == '\t' ? snprintf(esc, sizeof(esc), "\\t")
					     : snprintf(esc, sizeof(esc), "\\x%02x", *p);
			nb_buf_put(b, esc, (size_t)n);
		} else {
			nb_buf_put(b, p, 1);
		}
	}
}

static void nb_follow_text(struct nb_buf *b, const char *s)
{
	nb_buf_put(b, s, strlen(s));
}

/* Start an event: the JSON object's first members, or the time and the
 * event's name. */
static void nb_follow_begin(struct nb_follow *f, struct nb_json *j, const char *event)
{
	time_t now = time(NULL);
	nb_buf_reset(f->line);
	if (f->json) {
		nb_json_init(j, f->line);
		nb_json_obj(j);
		nb_json_key(j, "version");
		nb_json_u64(j, NB_STATUS_JSON_VERSION);
		nb_json_key(j, "event");
		nb_json_str(j, event);
		nb_json_key(j, "time");
		nb_json_u64(j, now > 0 ? (uint64_t)now : 0);
	} else {
		struct tm tm;
		char stamp[32];
		localtime_r(&now, &tm);
		int n = (int)strftime(stamp, sizeof(stamp), "%H:%M:%S ", &tm);
		nb_buf_put(f->line, stamp, (size_t)n);
		char name[16];
		n = snprintf(name, sizeof(name), "%-10s ", event);
		nb_buf_put(f->line, name, (size_t)n);
	}
}

/* End the event and write it out with its newline. */
static void nb_follow_end(struct nb_follow *f, struct nb_json *j)
{
	if (f->json) {
		nb_json_obj_end(j);
		if (nb_json_end(j) != 0)
			return; /* too big to show (a megabyte): left out */
	}
	nb_buf_put(f->line, "\n", 1);
	if (fwrite(nb_buf_ptr(f->line), 1, nb_buf_len(f->line), stdout) != nb_buf_len(f->line))
		f->write_failed = 1;
}

static void nb_follow_link(struct nb_follow *f, const struct nb_status *s)
{
	struct nb_json j;
	nb_follow_begin(f, &j, "connection");
	if (f->json) {
		nb_status_json_link(&j, s);
	} else {
		nb_follow_text(f->line, s->connected ? "connected" : "OFFLINE");
		if (s->reason[0]) {
			nb_follow_text(f->line, " (");
			nb_follow_text_path(f->line, s->reason);
			nb_follow_text(f->line, ")");
		}
	}
	nb_follow_end(f, &j);
}

/* An event about one entry; was_state: the state before (a state
 * change), or NULL. */
static void nb_follow_entry(struct nb_follow *f, const char *event, const struct nb_status_entry *e,
			    const char *was_state, int initial)
{
	struct nb_json j;
	char num[160], size[32], rate[32], eta[32];
	nb_follow_begin(f, &j, event);
	if (f->json) {
		nb_status_json_entry(&j, e);
		if (was_state) {
			nb_json_key(&j, "was");
			nb_json_str(&j, was_state);
		}
		if (initial) {
			nb_json_key(&j, "initial");
			nb_json_bool(&j, 1);
		}
		nb_follow_end(f, &j);
		return;
	}
	if (e->from[0]) {
		nb_follow_text_path(f->line, e->from);
		nb_follow_text(f->line, " -> ");
	}
	nb_follow_text_path(f->line, e->path);
	if (!strcmp(event, "queued")) {
		nb_progress_size(size, sizeof(size), e->total);
		snprintf(num, sizeof(num), " (%s%s%s)", e->op, !strcmp(e->op, "upload") ? ", " : "",
			 !strcmp(e->op, "upload") ? size : "");
		nb_follow_text(f->line, num);
	} else if (!strcmp(event, "progress")) {
		nb_progress_size(size, sizeof(size), e->done);
		nb_progress_size(rate, sizeof(rate), e->rate >= 1 ? (uint64_t)e->rate : 0);
		nb_progress_eta(eta, sizeof(eta), e->total > e->done ? e->total - e->done : 0,
				e->rate);
		snprintf(num, sizeof(num), " %d%% (%s) %s/s ETA %s",
			 e->total ? (int)((double)(e->done < e->total ? e->done : e->total) * 100 /
					  (double)e->total)
				  : 0,
			 size, rate, eta);
		nb_follow_text(f->line, num);
	} else if (strcmp(e->op, "upload") != 0) {
		snprintf(num, sizeof(num), " (%s)", e->op);
		nb_follow_text(f->line, num);
	}
	if (e->error[0] && (!strcmp(event, "error") || !strcmp(event, "queued"))) {
		nb_follow_text(f->line, ": ");
		nb_follow_text_path(f->line, e->error);
	}
	nb_follow_end(f, &j);
}

/* Does this look's event ring say how the entry at path ended? */
static int nb_follow_in_ring(const struct nb_follow *f, const char *path)
{
	for (size_t i = 0; f->ring && i < f->ring->n; i++)
		if (!strcmp(f->ring->v[i].path, path) || !strcmp(f->ring->v[i].other, path))
			return 1;
	return 0;
}

/* A creation's path in the mount, or NULL if too long. */
static const char *nb_follow_path(const struct nb_follow *f, const char *rel, char *out,
				  size_t outsz)
{
	int n = snprintf(out, outsz, "%s/%s", f->mnt, rel);
	return n < 0 || (size_t)n >= outsz ? NULL : out;
}

/* How an entry that left the list ended: "synced", "conflict" (it is a
 * conflict copy the server now holds), "dropped" (removed or renamed
 * locally before it got there), or NULL when that is for the event ring
 * to say, or its path is queued again (the next report shows that). */
static const char *nb_follow_outcome(struct nb_follow *f, const struct nb_status_entry *e)
{
	char buf[8192], state[32];
	const char *path;
	struct stat st;
	int creation =
	    !strcmp(e->op, "upload") || !strcmp(e->op, "mkdir") || !strcmp(e->op, "symlink");
	if (f->has_ring && (!creation || nb_follow_in_ring(f, e->path)))
		return NULL;
	if (!creation)
		return "synced";
	if (!(path = nb_follow_path(f, e->path, buf, sizeof(buf))))
		return NULL;
	if (lstat(path, &st) != 0)
		return errno == ENOENT || errno == ENOTDIR ? "dropped" : NULL;
	if (f->has_ring)
		return NULL; /* still there: the ring will tell */
	ssize_t k = lgetxattr(path, NB_XATTR_STATE, state, sizeof(state) - 1);
	if (k < 0) /* a symlink holds no user.* attributes: it is there */
		return "synced";
	state[k] = 0;
	if (!strcmp(state, "conflict"))
		return "conflict";
	if (!strcmp(state, "pending") || !strcmp(state, "uploading") || !strcmp(state, "error"))
		return NULL;
	return "synced";
}

static void nb_follow_change(void *arg, int change, const struct nb_status_entry *was,
			     const struct nb_status_entry *now, size_t now_i)
{
	struct nb_follow *f = arg;
	if (change == NB_CHANGE_REMOVED) {
		const char *how = nb_follow_outcome(f, was);
		if (how) {
			struct nb_status_entry end = *was;
			snprintf(end.state, sizeof(end.state), "%s", how);
			if (!strcmp(how, "synced"))
				end.done = end.total;
			end.rate = 0;
			nb_follow_entry(f, how, &end, was->state, 0);
		}
		return;
	}
	f->next_marks[now_i] = 0;
	if (change == NB_CHANGE_ADDED) {
		nb_follow_entry(f, "queued", now, NULL, 0);
		return;
	}
	long long mark = f->marks[was - f->old->v];
	f->next_marks[now_i] = mark;
	if (strcmp(was->state, now->state) != 0) {
		nb_follow_entry(f, now->state, now, was->state, 0);
		f->next_marks[now_i] = f->now_ms;
	} else if (now->done != was->done && f->now_ms - mark >= NB_FOLLOW_PROGRESS_MS) {
		nb_follow_entry(f, "progress", now, NULL, 0);
		f->next_marks[now_i] = f->now_ms;
	}
}

/* One event of the ring: the entry as last seen, if it was, else what
 * the event says (and the size the file has now). */
static void nb_follow_ring_event(struct nb_follow *f, const struct nb_status_event *ev)
{
	struct nb_status_entry e;
	struct nb_json j;
	char buf[8192];
	struct stat st;
	const char *path;
	int seen = 0;
	for (size_t i = 0; f->old && i < f->old->n && !seen; i++) {
		const struct nb_status_entry *o = &f->old->v[i];
		if (!strcmp(o->path, ev->path) && !strcmp(o->op, ev->op) &&
		    (strcmp(ev->op, "move") || !strcmp(o->from, ev->other))) {
			e = *o;
			seen = 1;
		}
	}
	if (!seen) {
		memset(&e, 0, sizeof(e));
		snprintf(e.op, sizeof(e.op), "%s", ev->op);
		e.path = ev->path;
		e.from = !strcmp(ev->op, "move") ? ev->other : "";
		e.error = "";
		if (!strcmp(ev->op, "upload") &&
		    (path = nb_follow_path(f, ev->path, buf, sizeof(buf))) &&
		    lstat(path, &st) == 0 && S_ISREG(st.st_mode))
			e.total = (uint64_t)st.st_size;
	}
	snprintf(e.state, sizeof(e.state), "%s", ev->event);
	e.done = e.total;
	e.rate = 0;
	e.error = "";
	if (strcmp(ev->event, "conflict") != 0) {
		nb_follow_entry(f, ev->event, &e, NULL, 0);
		return;
	}
	/* A removal refused: no copy, the server's file stays. */
	int kept = ev->other[0] == 0;
	nb_follow_begin(f, &j, "conflict");
	if (f->json) {
		nb_status_json_entry(&j, &e);
		if (!kept) {
			nb_json_key(&j, "copy");
			nb_json_str(&j, ev->other);
		}
		if (!kept && !nb_json_utf8_valid(ev->other, strlen(ev->other))) {
			nb_json_key(&j, "copy_hex");
			nb_json_hex(&j, ev->other);
		}
	} else {
		nb_follow_text_path(f->line, ev->path);
		nb_follow_text(f->line, kept ? " changed on the server: kept there, not removed"
					     : " changed on the server: ours is kept as ");
		if (!kept)
			nb_follow_text_path(f->line, ev->other);
	}
	nb_follow_end(f, &j);
}

/* The ring's events not written yet, and a "missed" event when some
 * went by unseen (more finished in one look than the ring keeps). */
static void nb_follow_ring(struct nb_follow *f, const struct nb_status_events *ring)
{
	struct nb_json j;
	uint64_t first = ring->n ? ring->v[0].n : ring->next;
	if (first > f->want) {
		char num[64];
		nb_follow_begin(f, &j, "missed");
		if (f->json) {
			nb_json_key(&j, "count");
			nb_json_u64(&j, first - f->want);
		} else {
			snprintf(num, sizeof(num), "%llu events went by unseen",
				 (unsigned long long)(first - f->want));
			nb_follow_text(f->line, num);
		}
		nb_follow_end(f, &j);
	}
	for (size_t i = 0; i < ring->n; i++)
		if (ring->v[i].n >= f->want)
			nb_follow_ring_event(f, &ring->v[i]);
	if (ring->next > f->want)
		f->want = ring->next;
}

static void nb_follow_unmounted(struct nb_follow *f, int r)
{
	struct nb_json j;
	nb_follow_begin(f, &j, "unmounted");
	if (f->json) {
		nb_json_key(&j, "mount");
		nb_json_str(&j, f->mnt);
		nb_json_key(&j, "detail");
		nb_json_str(&j, strerror(-r));
	} else {
		nb_follow_text_path(f->line, f->mnt);
		nb_follow_text(f->line, " (");
		nb_follow_text(f->line, strerror(-r));
		nb_follow_text(f->line, ")");
	}
	nb_follow_end(f, &j);
}

static void nb_follow_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = nb_follow_signal; /* no SA_RESTART: the nap ends */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* A reader that went away shows as a failed write (EPIPE). */
	signal(SIGPIPE, SIG_IGN);
}

/* Room for one mark per entry of s. */
static int nb_follow_marks(long long **marks, size_t n)
{
	long long *m = realloc(*marks, (n ? n : 1) * sizeof(*m));
	if (!m)
		return -ENOMEM;
	*marks = m;
	return 0;
}

int nb_status_follow(const char *mnt, int json)
{
	struct nb_follow f = {.mnt = mnt, .json = json};
	struct nb_status cur, next;
	int r, rc = 0;
	nb_follow_signals();
	if ((r = nb_status_read_report(mnt, &cur)) != 0) {
		nb_status_free(&cur);
		return r;
	}
	f.line = nb_buf_new(NB_FOLLOW_LINE_MAX);
	if (!f.line || nb_follow_marks(&f.marks, cur.n) || nb_follow_marks(&f.next_marks, 0)) {
		rc = -ENOMEM;
		goto out;
	}
	struct nb_status_events ring;
	if (nb_status_read_events(mnt, &ring) == 0) {
		f.has_ring = 1;
		f.want = ring.next;
	}
	nb_status_events_free(&ring);
	nb_follow_link(&f, &cur);
	for (size_t i = 0; i < cur.n; i++) {
		nb_follow_entry(&f, "queued", &cur.v[i], NULL, 1);
		f.marks[i] = 0;
	}
	while (!nb_follow_stop && !f.write_failed) {
		if (fflush(stdout) != 0) {
			f.write_failed = 1;
			break;
		}
		if (nb_xio_nap_ms(STDOUT_FILENO, NB_FOLLOW_POLL_MS) != 0 || nb_follow_stop)
			break; /* the reader went away, or we were asked to stop */
		if ((r = nb_status_read_report(mnt, &next)) != 0) {
			nb_status_free(&next);
			if (r == -ENOMEM) {
				rc = r;
				break;
			}
			nb_follow_unmounted(&f, r); /* ENOTCONN, ENODATA, ENOTSUP, ENOENT */
			break;
		}
		/* After the report: an entry leaves the queue only after its
		 * event went into the ring, so the ring read now has the
		 * event of every entry missing from the report. */
		if (f.has_ring && nb_status_read_events(mnt, &ring) != 0) {
			nb_status_events_free(&ring);
			nb_status_free(&next);
			nb_follow_unmounted(&f, -ENOTCONN);
			break;
		}
		f.now_ms = nb_xio_now_ms();
		if (nb_follow_marks(&f.next_marks, next.n) != 0) {
			nb_status_free(&next);
			rc = -ENOMEM;
			break;
		}
		if (next.connected != cur.connected || strcmp(next.reason, cur.reason) != 0)
			nb_follow_link(&f, &next);
		f.old = &cur;
		f.ring = f.has_ring ? &ring : NULL;
		if (f.has_ring)
			nb_follow_ring(&f, &ring);
		r = nb_status_diff(&cur, &next, nb_follow_change, &f);
		f.ring = NULL;
		nb_status_events_free(&ring);
		if (r != 0) {
			nb_status_free(&next);
			rc = r;
			break;
		}
		long long *t = f.marks;
		f.marks = f.next_marks;
		f.next_marks = t;
		nb_status_free(&cur);
		cur = next;
	}
	fflush(stdout);
out:
	nb_status_free(&cur);
	nb_buf_free(f.line);
	free(f.marks);
	free(f.next_marks);
	return rc;
}
