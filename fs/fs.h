/*
 * The state shared by the FUSE operations of one mount.
 */
#ifndef NB_FS_H
#define NB_FS_H

#define FUSE_USE_VERSION 35
#include <fuse.h>
#include <pthread.h>
#include <sys/types.h>

#include "fs/cache.h"
#include "fs/events.h"
#include "fs/rcache.h"
#include "sync/core.h"

struct nb_pinner;
struct nb_handle;

struct nb_fs {
	int stage_fd;           /* <cache>/stage */
	struct nb_core *core;   /* all sync state */
	struct nb_rcache *rc;
	struct nb_cache *cache;
	struct nb_pinner *pinner; /* NULL until started */
	struct nb_events *events; /* what the sync thread did, for --follow */
	uid_t uid;
	gid_t gid;
	int perm_self; /* no default_permissions: nbfs checks (fs/perm.h) */
	/* Every open handle (fs/ops.h), for those the kernel never releases:
	 * a RELEASE still queued when the mount goes is dropped. */
	pthread_mutex_t handles_lock;
	struct nb_handle *handles;
};

/* The FUSE operations; fuse_get_context()->private_data is a struct nb_fs. */
extern const struct fuse_operations nb_fs_operations;

#endif
