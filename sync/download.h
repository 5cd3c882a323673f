/*
 * One file's download into the staging area, resumable like an upload:
 * the bytes arrive in a partial file in <cache>/fetch named after the
 * path, tagged in the state database with the MD5 of the content they
 * belong to. A later attempt asks the server to continue from the
 * partial's length if the content still has that MD5; the whole file's
 * MD5 is checked before the partial is renamed into the staging tree.
 */
#ifndef NB_DOWNLOAD_H
#define NB_DOWNLOAD_H

#include <stdint.h>

#include "sync/queue.h"
#include "sync/remote.h"

struct nb_download {
	const char *remote_path; /* where the server has it */
	const char *local_path;  /* where it goes in the staging tree */
	int fetch_dirfd;         /* <cache>/fetch */
	int stage_fd;            /* staging root; local_path's parent must exist */
	struct nb_queue *q;      /* records what arrived; tags partial downloads */
	char errtext[NB_ERRTEXT_MAX + 1]; /* out: the server's text of a refusal */
	void (*progress)(void *arg, uint64_t done, uint64_t total);
	void *arg;
};

struct nb_download_stats {
	uint64_t resumed_at; /* offset the server sent from */
	uint64_t received;   /* payload bytes received */
};

/* 0 once the verified file is in place and recorded as synced. -EEXIST
 * if a local file appeared at local_path meanwhile (it wins; the download
 * is dropped). NB_E_MD5 if the content did not verify (the partial is
 * discarded). Otherwise the server's or the transport's error; the
 * partial is kept for a resume. */
int nb_download_run(struct nb_remote *r, struct nb_download *d, struct nb_download_stats *st);

#endif
