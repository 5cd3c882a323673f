/*
 * The mailbox: requests from FUSE threads for the sync thread, which
 * owns the connection. A listing or a download is posted here and
 * answered through its callback on the sync thread, which serves them
 * ahead of uploads (someone waits for them): each is sent and waited
 * for at once, the answers to uploads in flight being handled
 * meanwhile.
 * While the mailbox is closed (offline, stopping) posting fails at once,
 * so no caller ever waits on a link that is down.
 */
#ifndef NB_MAILBOX_H
#define NB_MAILBOX_H

#include <pthread.h>

#include "sync/core.h"
#include "sync/queue.h"
#include "sync/remote.h"

struct nb_request;

struct nb_mailbox {
	pthread_mutex_t lock;
	struct nb_request *head, *tail;
	int open;
};

/* Called on the sync thread when a download is done: 0 once the file is
 * in the staging tree, else why not (NB_E_OFFLINE if the link went). */
typedef void (*nb_fetch_done_fn)(void *arg, int r);

/* Where downloads go. */
struct nb_fetch_target {
	struct nb_queue *q;
	int stage_fd;
	int fetch_fd;
};

void nb_mailbox_init(struct nb_mailbox *mb);
/* Answer whatever is still posted (NB_E_OFFLINE) and free it. */
void nb_mailbox_free(struct nb_mailbox *mb);
/* Accept posts (1) or refuse them (0). */
void nb_mailbox_set_open(struct nb_mailbox *mb, int open);
/* Post a listing of server directory path: 0 (done is called exactly
 * once, on the sync thread), NB_E_OFFLINE at once if closed, -ENOMEM. */
int nb_mailbox_list(struct nb_mailbox *mb, const char *path, nb_core_list_fn done, void *arg);
/* Post a download of server file rpath to staged path: as above. */
int nb_mailbox_fetch(struct nb_mailbox *mb, const char *rpath, const char *path,
		     nb_fetch_done_fn done, void *arg);
/* Serve what is posted (sync thread): listings over r, and downloads
 * into t if allow_fetch (else they stay posted, in front: the engine
 * keeps long downloads out of the pauses of a long hash). With r NULL
 * or broken everything is answered NB_E_OFFLINE. */
void nb_mailbox_serve(struct nb_mailbox *mb, struct nb_remote *r, int allow_fetch,
		      const struct nb_fetch_target *t);

#endif
