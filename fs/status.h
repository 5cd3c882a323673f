/*
 * The status report as `nbfs status` sees it: read from the mount
 * root's user.nbfs.status attribute and parsed into fields, with the
 * escapes of sync/report.h undone (so paths hold their real bytes).
 * The text format is written down in sync/report.h; fs/xattrs.c puts a
 * "cache" line before it:
 *
 *   cache\t<used>\t<max>\t<ok|full>
 */
#ifndef NB_STATUS_H
#define NB_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "wire/textesc.h"

struct nb_status_entry {
	char state[16]; /* pending, uploading, error */
	char op[16];	/* upload, mkdir, symlink, delete, rmdir, move ("" from an older nbfs) */
	uint64_t done, total;
	double rate;  /* bytes per second */
	uint64_t age; /* seconds since it was queued */
	char *path;   /* never NULL */
	char *from;   /* a move's source, else "" */
	char *error;  /* why it waits or failed, or "" */
};

/* Below this much free space the cache's disk counts as full. */
#define NB_STATUS_DISK_FULL (1024 * 1024)

struct nb_status {
	int has_cache, cache_full;
	uint64_t cache_used, cache_max;
	/* The free space of the staging area's disk (statfs of the mount),
	 * which can run out before the cache's budget does. */
	int has_disk;
	uint64_t disk_free;
	int connected;
	int paused; /* the mount's sync is paused (nbfs pause) */
	char *reason; /* offline: why; connected: the server (may be "") */
	/* The whole queue (from the sum line; summed from the entries for
	 * an nbfs that sends none). */
	size_t entries, files;
	uint64_t done, total, oldest;
	double rate;
	size_t more; /* entries not listed */
	struct nb_status_entry *v;
	size_t n;
};

/* Parse a report into *out (cleared first; free it with
 * nb_status_free, also after a failure). Unknown lines are skipped, so
 * a newer nbfs's additions do not break an older reader. 0 or
 * -ENOMEM. */
int nb_status_parse(const char *report, struct nb_status *out);
void nb_status_free(struct nb_status *s);
/* The changes the mount made on the server lately (user.nbfs.events,
 * format in fs/events.h), oldest first. */
struct nb_status_event {
	uint64_t n;
	char event[16]; /* synced, conflict */
	char op[16];
	char *path;  /* never NULL */
	char *other; /* a move's source, a conflict's copy, or "" */
};
struct nb_status_events {
	uint64_t next; /* the number the next event will get */
	struct nb_status_event *v;
	size_t n;
};
/* Read and parse them (*out cleared first; free it with
 * nb_status_events_free, also after a failure). 0 or -errno as for
 * nb_status_read (-ENODATA also from an nbfs older than the attribute). */
int nb_status_read_events(const char *mnt, struct nb_status_events *out);
void nb_status_events_free(struct nb_status_events *ev);
/* Read and parse the report of the mount at mnt. 0, or -errno from
 * getxattr (-ENODATA or -ENOTSUP: mnt is not the root of an nbfs mount;
 * -ENOTCONN: its nbfs is gone) or -ENOMEM. */
int nb_status_read(const char *mnt, struct nb_status *out);
/* The same without the cache disk's free space (has_disk 0): one call
 * into the mount, for a follower. */
int nb_status_read_report(const char *mnt, struct nb_status *out);

#endif
