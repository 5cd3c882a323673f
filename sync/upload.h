/*
 * One file's upload, from the announcement to the server's verified
 * publication: PUT_OPEN with path, size and MD5; offset negotiation with
 * the prefix check; PUT_DATA from the negotiated offset; PUT_END, which
 * the server answers only after checking the whole MD5, fsyncing,
 * renaming into place and fsyncing the directory.
 */
#ifndef NB_UPLOAD_H
#define NB_UPLOAD_H

#include <stdint.h>

#include "wire/md5.h"
#include "sync/remote.h"

/* What the `changed` callback of an upload answers between chunks. */
enum nb_upload_check {
	NB_UPLOAD_GO,      /* go on */
	NB_UPLOAD_CHANGED, /* the local content no longer matches the MD5 */
	NB_UPLOAD_CANCEL,  /* stop, keep the partial for a later resume */
};

struct nb_upload {
	const char *path; /* wire path */
	int fd;           /* the staged content, readable */
	uint64_t size;
	uint8_t md5[NB_MD5_LEN]; /* of the whole content */
	uint32_t mode;
	int64_t mtime_s;
	uint32_t mtime_ns;
	/* The server version this content replaces (NB_BASE_*): a different
	 * one there is a conflict (-EEXIST), never overwritten. */
	uint8_t base_kind;
	uint64_t base_size;
	int64_t base_mtime_s;
	uint32_t base_mtime_ns;
	/* Called between chunks. `changed` returns NB_UPLOAD_GO,
	 * NB_UPLOAD_CHANGED to abandon the upload because the local content
	 * no longer matches the MD5 (NB_E_CHANGED; the server discards the
	 * partial), or NB_UPLOAD_CANCEL to stop and keep the partial for a
	 * later resume (-ECANCELED).
	 * `progress` reports bytes the server holds so far. `idle` lets the
	 * caller use the session for short requests between chunks. Any of
	 * them may be NULL. */
	enum nb_upload_check (*changed)(void *arg);
	void (*progress)(void *arg, uint64_t done, uint64_t total);
	void (*idle)(void *arg, struct nb_remote *r);
	void *arg;
};

struct nb_upload_stats {
	uint64_t offered;     /* offset the server offered */
	uint64_t resumed_at;  /* offset we sent from */
	uint64_t sent;        /* payload bytes sent */
	int already_present;  /* the server had this exact content already */
	int ended;            /* all sent and PUT_END too: from here a broken
			       * link leaves the outcome unknown */
};

/* Run the upload. 0 once the server has published the file. Errors: the
 * server's (-errno, text in nb_remote_errtext), NB_E_CHANGED, or a
 * transport error (session broken; reconnect and call again: the
 * upload resumes). */
int nb_upload_run(struct nb_remote *r, const struct nb_upload *u, struct nb_upload_stats *st);

#endif
