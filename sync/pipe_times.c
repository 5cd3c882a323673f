/*
 * Directory times on the wire: the pipeline sends a SETTIME for each
 * directory or symlink the queue hands out (sync/queue_dirtimes.c),
 * with the time of the staged one, which is the time the mount shows
 * for it. One not staged, or no longer a directory or a symlink, is
 * skipped: there is no time of ours to give it. A server older than
 * symlink times answers ENOTDIR for a link: logged, and the link keeps
 * the time the server made it with.
 *
 * A directory whose mode denies its owner reading, writing or searching
 * gets that mode here too, in a MKDIR just before its SETTIME: until
 * then the server's copy keeps the owner's rwx (sync/flight.c), since
 * what was queued below it had to go in first.
 *
 * A server older than SETTIME answers ENOSYS: then no more are sent in
 * that session and the waiting directories are forgotten (the next
 * session asks again); no job fails for it. (Such a directory then
 * keeps the owner's rwx on the server.)
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sync/flight.h"
#include "wire/err.h"
#include "wire/log.h"
#include "wire/longpath.h"
#include "wire/pathname.h"

struct nb_pipe_time {
	struct nb_rcall rc; /* first: the answer's handler gets it */
	struct nb_rcall mode; /* the MKDIR of a restrictive mode, if sent */
	struct nb_pipeline *p;
	int done, mode_pending;
	struct nb_pipe_time *next;
	char path[]; /* as long as it is (up to 32 KiB) */
};

static void nb_pipe_time_done(struct nb_rcall *rc)
{
	struct nb_pipe_time *t = (struct nb_pipe_time *)rc;
	struct nb_pipeline *p = t->p;
	const char *shown = t->path[0] ? t->path : "/";
	t->done = 1;
	if (rc->r == -ENOSYS) {
		if (!p->times_off)
			nb_info("the server (%s) cannot set directory times: they are not carried",
				p->r ? nb_remote_server(p->r) : "?");
		p->times_off = 1;
	} else if (rc->r != 0) {
		/* Gone or replaced on the server meanwhile, say: nothing to
		 * retry; the next change in it sends its time again. */
		nb_debug("%s: the server did not take its time: %s", shown,
			 rc->errtext[0] ? rc->errtext : nb_strerror(rc->r));
	} else {
		nb_debug("%s: time set", shown);
	}
	nb_queue_dirtime_settled(p->cfg.q, t->path, 0);
}

/* The answer to the MKDIR that gave the directory its own mode. */
static void nb_pipe_mode_done(struct nb_rcall *rc)
{
	struct nb_pipe_time *t =
	    (struct nb_pipe_time *)((char *)rc - offsetof(struct nb_pipe_time, mode));
	t->mode_pending = 0;
	if (rc->r != 0)
		nb_debug("%s: the server did not take its mode: %s", t->path[0] ? t->path : "/",
			 rc->errtext[0] ? rc->errtext : nb_strerror(rc->r));
}

/* Free the times that have their answer. */
static void nb_pipe_times_reap(struct nb_pipeline *p)
{
	for (struct nb_pipe_time **pt = &p->times; *pt;) {
		struct nb_pipe_time *t = *pt;
		if (!t->done || t->mode_pending) {
			pt = &t->next;
			continue;
		}
		*pt = t->next;
		p->ntimes--;
		free(t);
	}
}

/* Send the time of staged directory or symlink path: 1 if it went, 0
 * if there was nothing to send, or the session's error. */
static int nb_pipe_time_send(struct nb_pipeline *p, const char *path)
{
	struct stat st;
	if (nb_longpath_fstatat(p->cfg.stage_fd, path[0] ? path : ".", &st, AT_SYMLINK_NOFOLLOW) !=
		0 ||
	    (!S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode))) {
		nb_queue_dirtime_settled(p->cfg.q, path, 0);
		return 0;
	}
	size_t n = strlen(path);
	struct nb_pipe_time *t = calloc(1, sizeof(*t) + n + 1);
	if (!t) {
		nb_warn("%s: out of memory: its time is not sent to the server",
			path[0] ? path : "/");
		nb_queue_dirtime_settled(p->cfg.q, path, 0);
		return 0;
	}
	t->p = p;
	memcpy(t->path, path, n + 1);
	int e = 0;
	if (path[0] && S_ISDIR(st.st_mode) && (st.st_mode & S_IRWXU) != S_IRWXU) {
		nb_rcall_init(&t->mode, NB_MSG_MKDIR);
		t->mode.on_done = nb_pipe_mode_done;
		if ((e = nb_rcall_mkdir(p->r, &t->mode, t->path, st.st_mode & 07777)) == 0)
			t->mode_pending = 1;
	}
	nb_rcall_init(&t->rc, NB_MSG_SETTIME);
	t->rc.on_done = nb_pipe_time_done;
	if (e == 0)
		e = nb_rcall_settime(p->r, &t->rc, t->path, st.st_mtim.tv_sec,
				     (uint32_t)st.st_mtim.tv_nsec);
	if (e != 0) {
		/* A broken session sends it on the next one; a request that
		 * cannot be made (it cannot: the path fits) is dropped. */
		int broken = nb_remote_broken(p->r);
		nb_queue_dirtime_settled(p->cfg.q, path, broken);
		if (!t->mode_pending) {
			free(t);
			return broken ? e : 0;
		}
		t->done = 1; /* kept until the MKDIR is answered or the session ends */
	}
	t->next = p->times;
	p->times = t;
	p->ntimes++;
	return e == 0 ? 1 : nb_remote_broken(p->r) ? e : 0;
}

int nb_pipe_dir_writable(struct nb_pipeline *p, const char *path)
{
	size_t n = nb_path_parent_len(path);
	struct stat st;
	if (n == 0)
		return 0; /* the root: its mode is not ours to set */
	struct nb_pipe_time *t = calloc(1, sizeof(*t) + n + 1);
	if (!t)
		return 0; /* the request goes anyway: at worst it is refused */
	memcpy(t->path, path, n);
	t->path[n] = 0;
	if (nb_longpath_fstatat(p->cfg.stage_fd, t->path, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
	    !S_ISDIR(st.st_mode) || (st.st_mode & (S_IWUSR | S_IXUSR)) == (S_IWUSR | S_IXUSR)) {
		free(t);
		return 0;
	}
	t->p = p;
	t->done = 1; /* no SETTIME: only the MKDIR's answer is awaited */
	nb_rcall_init(&t->mode, NB_MSG_MKDIR);
	t->mode.on_done = nb_pipe_mode_done;
	int e = nb_rcall_mkdir(p->r, &t->mode, t->path, (st.st_mode & 07777) | S_IRWXU);
	if (e != 0) {
		free(t);
		return nb_remote_broken(p->r) ? e : 0;
	}
	t->mode_pending = 1;
	t->next = p->times;
	p->times = t;
	p->ntimes++;
	return 0;
}

int nb_pipe_times_step(struct nb_pipeline *p, size_t max)
{
	char path[NB_PATH_MAX + 1];
	int sent = 0;
	nb_pipe_times_reap(p);
	if (p->times_off) {
		nb_queue_dirtimes_clear(p->cfg.q);
		return 0;
	}
	while (p->ntimes < max && nb_queue_dirtime_take(p->cfg.q, path, sizeof(path))) {
		int e = nb_pipe_time_send(p, path);
		if (e < 0)
			return e;
		sent |= e;
	}
	return sent;
}

void nb_pipe_times_detach(struct nb_pipeline *p)
{
	while (p->times) {
		struct nb_pipe_time *t = p->times;
		p->times = t->next;
		if (!t->done)
			nb_queue_dirtime_settled(p->cfg.q, t->path, 1);
		free(t);
	}
	p->ntimes = 0;
	p->times_off = 0; /* the next server may take them */
}
