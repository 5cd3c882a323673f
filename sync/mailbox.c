/*
 * The mailbox: requests from FUSE threads for the sync thread, which owns
 * the connection. The contract is in mailbox.h.
 */
#include "sync/mailbox.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sync/download.h"
#include "sync/rcall.h"
#include "wire/err.h"
#include "wire/log.h"
#include "wire/xio.h"

enum nb_request_kind { NB_REQ_LIST, NB_REQ_FETCH };

struct nb_request {
	int kind;
	char *path;  /* LIST: the directory; FETCH: the server's path */
	char *local; /* FETCH: where it goes */
	nb_core_list_fn list_done;
	nb_fetch_done_fn fetch_done;
	void *arg;
	struct nb_dirents ents;
	size_t cap;
	struct nb_request *next;
};

void nb_mailbox_init(struct nb_mailbox *mb)
{
	pthread_mutex_init(&mb->lock, NULL);
	mb->head = mb->tail = NULL;
	mb->open = 0;
}

static void nb_request_free(struct nb_request *q)
{
	free(q->path);
	free(q->local);
	nb_proto_dirents_free(&q->ents);
	free(q);
}

void nb_mailbox_free(struct nb_mailbox *mb)
{
	nb_mailbox_set_open(mb, 0);
	nb_mailbox_serve(mb, NULL, 1, NULL);
	pthread_mutex_destroy(&mb->lock);
}

void nb_mailbox_set_open(struct nb_mailbox *mb, int open)
{
	pthread_mutex_lock(&mb->lock);
	mb->open = open;
	pthread_mutex_unlock(&mb->lock);
}

static int nb_mailbox_post(struct nb_mailbox *mb, struct nb_request *q)
{
	pthread_mutex_lock(&mb->lock);
	if (!mb->open) {
		pthread_mutex_unlock(&mb->lock);
		nb_request_free(q);
		return NB_E_OFFLINE;
	}
	if (mb->tail)
		mb->tail->next = q;
	else
		mb->head = q;
	mb->tail = q;
	pthread_mutex_unlock(&mb->lock);
	return 0;
}

int nb_mailbox_list(struct nb_mailbox *mb, const char *path, nb_core_list_fn done, void *arg)
{
	struct nb_request *q = calloc(1, sizeof(*q));
	if (!q || !(q->path = strdup(path))) {
		free(q);
		return -ENOMEM;
	}
	q->kind = NB_REQ_LIST;
	q->list_done = done;
	q->arg = arg;
	return nb_mailbox_post(mb, q);
}

int nb_mailbox_fetch(struct nb_mailbox *mb, const char *rpath, const char *path,
		     nb_fetch_done_fn done, void *arg)
{
	struct nb_request *q = calloc(1, sizeof(*q));
	if (!q || !(q->path = strdup(rpath)) || !(q->local = strdup(path))) {
		if (q)
			free(q->path);
		free(q);
		return -ENOMEM;
	}
	q->kind = NB_REQ_FETCH;
	q->fetch_done = done;
	q->arg = arg;
	return nb_mailbox_post(mb, q);
}

static int nb_request_add(void *arg, const char *name, const struct nb_attr *a)
{
	struct nb_request *q = arg;
	if (q->ents.count == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 64;
		struct nb_dirent *n = realloc(q->ents.ents, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		q->ents.ents = n;
		q->cap = cap;
	}
	struct nb_dirent *d = &q->ents.ents[q->ents.count];
	d->attr = *a;
	d->attr.link = NULL;
	if (!(d->name = strdup(name)) || (a->link && !(d->attr.link = strdup(a->link)))) {
		free(d->name);
		return -ENOMEM;
	}
	q->ents.count++;
	return 0;
}

/* A listing, waited for (other answers are handled meanwhile). */
static int nb_mailbox_list_now(struct nb_remote *r, struct nb_request *q)
{
	struct nb_rcall rc;
	nb_rcall_init(&rc, NB_MSG_LIST);
	rc.on_entry = nb_request_add;
	rc.arg = q;
	int e = nb_rcall_list(r, &rc, q->path);
	if (e == 0)
		e = nb_rcall_wait(r, &rc);
	/* A listing cut short by memory is no listing. */
	return e == 0 && rc.stop ? -ENOMEM : e;
}

static void nb_mailbox_run_fetch(struct nb_request *q, struct nb_remote *r,
				 const struct nb_fetch_target *t)
{
	struct nb_download d = {
		.remote_path = q->path,
		.local_path = q->local,
		.fetch_dirfd = t->fetch_fd,
		.stage_fd = t->stage_fd,
		.q = t->q,
	};
	struct nb_download_stats stats;
	long long t0 = nb_xio_now_ms();
	int e = nb_download_run(r, &d, &stats);
	if (e == 0)
		nb_info("%s: fetched (resumed at %llu, received %llu, %lld ms)", q->path,
			(unsigned long long)stats.resumed_at, (unsigned long long)stats.received,
			nb_xio_now_ms() - t0);
	else
		nb_warn("%s: fetch failed: %s%s%s", q->path, nb_strerror(e), d.errtext[0] ? ": " : "",
			d.errtext);
	q->fetch_done(q->arg, e);
}

void nb_mailbox_serve(struct nb_mailbox *mb, struct nb_remote *r, int allow_fetch,
		      const struct nb_fetch_target *t)
{
	int online = r && !nb_remote_broken(r);
	pthread_mutex_lock(&mb->lock);
	struct nb_request *q = mb->head, *keep = NULL, *keep_last = NULL;
	mb->head = mb->tail = NULL;
	pthread_mutex_unlock(&mb->lock);
	while (q) {
		struct nb_request *next = q->next;
		q->next = NULL;
		online = online && !nb_remote_broken(r);
		if (q->kind == NB_REQ_FETCH && !allow_fetch && online) {
			if (keep_last)
				keep_last->next = q;
			else
				keep = q;
			keep_last = q;
		} else if (q->kind == NB_REQ_FETCH) {
			if (online)
				nb_mailbox_run_fetch(q, r, t);
			else
				q->fetch_done(q->arg, NB_E_OFFLINE);
			nb_request_free(q);
		} else {
			int e = online ? nb_mailbox_list_now(r, q) : NB_E_OFFLINE;
			nb_debug("list '%s': %s, %u entries", q->path, nb_strerror(e), q->ents.count);
			q->list_done(q->arg, q->path, e, &q->ents);
			nb_request_free(q);
		}
		q = next;
	}
	if (keep) {
		/* Back in front, ahead of what arrived meanwhile. */
		pthread_mutex_lock(&mb->lock);
		keep_last->next = mb->head;
		mb->head = keep;
		if (!mb->tail)
			mb->tail = keep_last;
		pthread_mutex_unlock(&mb->lock);
	}
}
