/*
 * The namespace the mount shows: the staged tree (held locally, always
 * wins) over the remote tree as last listed, as seen through the queue's
 * pending barriers (a name removed or moved away locally is hidden, a
 * renamed one shows at its new place until the server catches up).
 */
#ifndef NB_VIEW_H
#define NB_VIEW_H

#include <stddef.h>
#include <sys/stat.h>

#include "fs/fs.h"
#include "sync/core.h"
#include "wire/proto.h"

/* Attributes of wire path wpath. 0 (*staged says where from), -ENOENT. */
int nb_view_lookup(struct nb_fs *fs, const char *wpath, struct stat *st, int *staged);
/* The server's attributes for local wpath (a->link is NULL); with rpath
 * non-NULL also the server path it maps to. 0 or -ENOENT. */
int nb_view_remote(struct nb_fs *fs, const char *wpath, struct nb_attr *a, char *rpath,
		   size_t rsz);
/* May the server hold wpath now or once the queue is done? (Decides
 * whether removing or renaming it needs a server-side operation.) */
int nb_view_on_server(struct nb_fs *fs, const char *wpath, int staged);
/* Ask the server afresh for what directory wpath holds there, and wait
 * for the answer (nb_rcache_reload). 0 or -errno. */
int nb_view_reload(struct nb_fs *fs, const char *wpath);
/* Call fn once for each name in directory wpath; fn returns 0 to go on. */
int nb_view_list(struct nb_fs *fs, const char *wpath, int (*fn)(void *arg, const char *name),
		 void *arg);
/* Make the staged parents of wpath exist, mirroring the server's. 0,
 * -ENOENT, -ENOTDIR or another -errno. */
int nb_view_ensure_parents(struct nb_fs *fs, const char *wpath);
/* The same for directory wpath itself (and its parents). */
int nb_view_mirror_dir(struct nb_fs *fs, const char *wpath);
/* Bring the remote-only file wpath into the staging tree (a download,
 * resumable, verified). 0, or -EIO with the reason logged. */
int nb_view_fetch(struct nb_fs *fs, const char *wpath);
/* The sync thread changed the server (nb_core_config.on_event): the
 * cached listings follow at once. */
void nb_view_on_event(void *arg, const struct nb_core_event *ev);
void nb_view_stat_from_attr(struct nb_fs *fs, const struct nb_attr *a, struct stat *st);

#endif
