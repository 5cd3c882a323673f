/*
 * The sync core: the one door from the filesystem (fs/) into everything
 * that knows about sync state. Behind it sit the durable queue and its
 * state database, the scheduler, the hasher and the sync engine with its
 * connection; nothing in fs/ reaches any of them directly.
 *
 * fs/ tells the core what happened locally (a file was touched, a writer
 * opened or closed it, a name was removed or renamed) and asks it
 * questions (the state of a path, where a local name lives on the server
 * given pending renames, directory totals, the status report). Every
 * command is recorded durably before it returns. The core tells fs/ what
 * it changed on the server through one callback (nb_core_event), so
 * cached listings can follow at once.
 *
 * Thread safety: every function may be called from any FUSE thread at
 * any time between nb_core_open and nb_core_close. The lock order is
 * written down in docs/DESIGN.md ("Threads and locks").
 */
#ifndef NB_CORE_H
#define NB_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "sync/transport.h"
#include "wire/md5.h"
#include "wire/proto.h"

#if defined(__GNUC__)
#define NB_WUR __attribute__((warn_unused_result))
#else
#define NB_WUR
#endif

/* What a queue entry (and a record of what the server holds) is about. */
enum nb_kind {
	NB_KIND_FILE = 'f',    /* upload the staged file */
	NB_KIND_DIR = 'd',     /* create the directory / set its mode */
	NB_KIND_SYMLINK = 'l', /* create the symlink */
	NB_KIND_UNLINK = 'u',  /* remove a file or symlink */
	NB_KIND_RMDIR = 'r',   /* remove an empty directory */
	NB_KIND_RENAME = 'm',  /* move path2 to path */
};

/* The sync state of a path, as user.nbfs.state shows it. */
enum nb_state {
	NB_STATE_SYNCED,
	NB_STATE_PENDING,
	NB_STATE_UPLOADING,
	NB_STATE_ERROR,
	NB_STATE_REMOTE,   /* on the server, not held locally */
	NB_STATE_CONFLICT, /* a conflict copy the user has not touched yet */
};

/* "synced", "pending", "uploading", "error", "remote", "conflict". */
const char *nb_state_name(int state);

struct nb_core;

/* Something the sync thread changed on the server. */
enum nb_core_event_what {
	NB_EV_CREATED, /* path (kind FILE, DIR or SYMLINK) now holds our version */
	NB_EV_REMOVED, /* path is gone */
	NB_EV_MOVED,   /* path2 moved to path */
	NB_EV_CONFLICT, /* the server's version stays at path; ours went to path2 */
};

struct nb_core_event {
	int what;  /* NB_EV_* */
	int kind;  /* NB_KIND_* of the operation */
	const char *path;
	const char *path2;
};

/* Connect to a server: a transport to a running nbfs-server, 0, or an
 * error with a human-readable reason in why. Tests replace the default
 * (SSH or a local child process) with an in-process server. */
typedef int (*nb_core_connect_fn)(void *arg, struct nb_transport **out, char *why, size_t whysz);

struct nb_core_config {
	const char *db_path; /* the state database */
	/* Where the mount id is kept (sync/mountid.h), created if missing;
	 * NULL: the client names no mount to the server. */
	const char *mount_id_path;
	int stage_fd;        /* staging root (borrowed) */
	int fetch_fd;        /* partial downloads (borrowed) */
	long delay_ms;       /* quiet time after the last change of a file */
	/* Most bytes per second each way (upload, download); 0: no limit. */
	uint64_t bwlimit;
	/* The server: SSH (or a local child process) running server_cmd
	 * with server_args and --root remote_dir. Ignored if connect is
	 * set. The strings must outlive the core. */
	int local;
	struct nb_ssh_opts ssh;
	const char *remote_dir;
	const char *server_cmd;
	const char *server_args;
	nb_core_connect_fn connect;
	void *connect_arg;
	/* Called on the sync thread after each change it made on the server
	 * (never with a core lock held). May be NULL. */
	void (*on_event)(void *arg, const struct nb_core_event *ev);
	void *on_event_arg;
};

/* Open the state database, load the queue and compare the staged tree
 * with what the server is known to hold (whatever differs is queued: the
 * staged bytes, not the database, are the truth after a crash). No
 * thread is started. 0, or an error (logged). The caller frees *out with
 * nb_core_close. */
int nb_core_open(const struct nb_core_config *cfg, struct nb_core **out) NB_WUR;
/* Connect once, to check the configuration before mounting. 0, or an
 * error with the reason in why; nb_core_is_fatal() tells the errors a
 * retry will not cure (host key, authentication, a server that refuses
 * its root) from the rest. */
int nb_core_probe(struct nb_core *c, char *why, size_t whysz);
int nb_core_is_fatal(int r);
/* Start the sync thread and the hasher. 0 or an error. */
int nb_core_start(struct nb_core *c) NB_WUR;
/* Stop the threads (an upload in progress keeps its partial on the
 * server for the next mount to resume) and make the queue durable. */
void nb_core_stop(struct nb_core *c);
/* Free everything (after nb_core_stop if it was started). */
void nb_core_close(struct nb_core *c);

/* ---- what happened locally (FUSE threads) ---- */

/* The content or metadata of path changed: queue its creation (kind
 * FILE, DIR or SYMLINK), durably before returning, and restart its quiet
 * time. A conflict copy edited by the user is an ordinary file again.
 * 0 or an error (nothing was queued). */
int nb_core_touch(struct nb_core *c, const char *path, int kind) NB_WUR;
/* Only the mode or times of path changed: queued as for touch, but the
 * content's MD5 and an upload's partial stay good. */
int nb_core_touch_meta(struct nb_core *c, const char *path, int kind) NB_WUR;
/* Only the time of the staged symlink at path changed: see
 * nb_queue_link_time. */
void nb_core_link_time(struct nb_core *c, const char *path);
/* A handle that may write path was opened: queued as for touch, and not
 * uploaded while any writer is open. *handle names the entry across
 * renames (a handle does not know its file's current name); give it to
 * nb_core_writer_close. fresh: this open creates the file (it existed
 * nowhere before): written once and closed, it goes without waiting out
 * the quiet time. */
int nb_core_writer_open(struct nb_core *c, const char *path, int fresh, uint64_t *handle) NB_WUR;
/* The writer closed; size: the file's size then (-1: unknown). A small
 * file (NB_SMALL_MAX) is not given to the hasher: it travels whole and
 * is hashed as it is sent. */
void nb_core_writer_close(struct nb_core *c, uint64_t handle, int64_t size);
/* Hash-on-write (sync/follow.h): a writer that opened its file empty
 * (fd, the writer's own) reports its writes, so that a file written in
 * order has its MD5 when it closes. NULL: not followed (the other calls
 * accept NULL). nb_core_follow_end goes before nb_core_writer_close.
 * Worth it only past NB_CORE_FOLLOW_FROM bytes: a smaller file travels
 * whole in one request, hashed from memory as it is sent; so a writer
 * begins (reporting the prefix written so far) once its file, written
 * in order, grows past that, and a small file costs no follow at all. */
#define NB_CORE_FOLLOW_FROM NB_SMALL_MAX
struct nb_follow;
struct nb_follow *nb_core_follow_begin(struct nb_core *c, uint64_t handle, int fd);
void nb_core_follow_wrote(struct nb_follow *f, uint64_t off, uint64_t n);
void nb_core_follow_break(struct nb_follow *f);
void nb_core_follow_end(struct nb_follow *f);
/* May the server hold path now or once the queue is done, by what the
 * core knows: a record of our own upload or download there, or a
 * pending rename that brings a server name here? (What the server's
 * listing shows is the caller's to add.) */
int nb_core_known_on_server(struct nb_core *c, const char *path);
/* path (with is_dir, an empty directory) is removed locally; on_server
 * says whether the server may hold it (its listing shows it, or
 * nb_core_known_on_server). Its pending creation is dropped; a removal
 * is queued if the server may hold it (also when an upload of it is in
 * flight or in doubt, which the core checks under its lock).
 * stage(arg), unless NULL, removes the staged copy: the core runs it
 * under its lock, right before its records change, so the sync thread
 * never sees the staged tree changed and the records not (a job that
 * found its staged file gone would drop it, and a rename told a moment
 * later would find nothing to move: the file was lost). 0, stage's
 * -errno (nothing recorded then), or another error. */
int nb_core_removed(struct nb_core *c, const char *path, int is_dir, int on_server,
		    int (*stage)(void *arg), void *arg) NB_WUR;
/* from is renamed to to locally (from_on_server as for removals).
 * Pending creations at or below from move to to, behind a server-side
 * rename if the server may hold from; what was pending at or below to
 * is replaced. stage(arg) renames the staged copy, as for removals. */
int nb_core_renamed(struct nb_core *c, const char *from, const char *to, int from_on_server,
		    int (*stage)(void *arg), void *arg) NB_WUR;
/* A local file replaces the server's version of path (size and mtime
 * as listed), or the user removes it: that version is the base of the
 * upload that follows, so it is not taken for a conflict, or of the
 * removal, so that a version changed since is kept. Kept only if no
 * record exists. */
void nb_core_replacing(struct nb_core *c, const char *path, const struct nb_attr *server);
/* Directory path was created in the staging tree to mirror the server's
 * (not a local change): recorded as on the server unless queued. */
void nb_core_mirrored_dir(struct nb_core *c, const char *path);
/* Make every recorded change durable (fsync(2) on a file in the mount).
 * 0 or an error. */
int nb_core_flush(struct nb_core *c) NB_WUR;

/* ---- the bounded cache ---- */

/* 1 if the staged file at path (stat st) is a copy the server holds
 * exactly, with nothing queued and no conflict mark: evictable. */
int nb_core_is_clean(struct nb_core *c, const char *path, const struct stat *st);
/* Evict path if it is still clean and nothing queued overlaps it:
 * remove(arg, path) runs under the queue's lock, so no writer can open
 * it meanwhile (writers are queued before they open). 0 once removed,
 * -EBUSY if it is queued, or remove's error. */
int nb_core_evict(struct nb_core *c, const char *path,
		  int (*remove)(void *arg, const char *path), void *arg);

/* ---- the user's controls (user.nbfs.* attributes, nbfs subcommands) ---- */

/* What waits at or below path ("" = all) goes now: files without their
 * quiet time, failed entries without their retry wait (retry_only: only
 * those); while offline, the next connection attempt is made at once.
 * Returns how many entries were kicked. */
int nb_core_kick(struct nb_core *c, const char *path, int retry_only);
/* Pause or resume the sync of the mount: while paused no upload or
 * server-side change starts (those on their way finish); reads still
 * fetch what they need. Not durable: a new mount starts unpaused. */
void nb_core_pause(struct nb_core *c, int paused);
int nb_core_paused(struct nb_core *c);
/* Pin path (kept locally: never evicted; fs/ fetches what is missing)
 * or unpin it, durably; pins follow renames and go with removals. 0,
 * -EINVAL (the root), -EBUSY (unpinning a path pinned only through a
 * directory above it), or an error. */
int nb_core_pin(struct nb_core *c, const char *path, int pin) NB_WUR;
/* 1 if path or a directory above it is pinned. */
int nb_core_pinned(struct nb_core *c, const char *path);
/* The pinned paths (free with nb_core_pin_list_free). 0 or -ENOMEM. */
int nb_core_pin_list(struct nb_core *c, char ***out, size_t *n) NB_WUR;
void nb_core_pin_list_free(char **v, size_t n);

/* ---- questions (FUSE threads) ---- */

struct nb_core_state {
	int state; /* NB_STATE_* */
	int kind;
	uint64_t done, total; /* bytes */
	double rate;          /* bytes per second, recent */
	int has_md5;
	char md5[NB_MD5_HEX]; /* of the content being synced, or synced last */
	char error[256];      /* why it waits or failed, or "" */
	unsigned count;       /* directories: entries not synced below */
};

/* The state of the non-directory path (staged: held locally). Without a
 * queue entry: synced (with the MD5 on record, if any), conflict, or
 * remote when not held locally. Returns 1 if path has a queue entry
 * (then has_md5 is 0 until the MD5 is known), else 0. */
int nb_core_state(struct nb_core *c, const char *path, int staged, struct nb_core_state *out);
/* The aggregate of everything at or below dir ("" = all): synced only
 * if nothing is queued there; else error if anything is in error,
 * uploading if anything is uploading, pending otherwise. */
void nb_core_dir_state(struct nb_core *c, const char *dir, struct nb_core_state *out);
/* Where local path lives on the server now, given pending renames and
 * removals: 0 with the server path in out, -ENOENT if it is removed or
 * moved away locally, -ENAMETOOLONG. */
int nb_core_resolve(struct nb_core *c, const char *path, char *out, size_t outsz);
/* Call fn with the name of each pending rename destination directly in
 * dir (these show in dir before the server has them); without locks
 * held. */
void nb_core_renamed_into(struct nb_core *c, const char *dir,
			  void (*fn)(void *arg, const char *name), void *arg);
/* 1 if connected to the server; else 0 with why not in reason. */
int nb_core_link(struct nb_core *c, char *reason, size_t reasonsz);
/* The text report behind `nbfs status` (format in docs/DESIGN.md,
 * "Status report"), at most size bytes; returns the length written. */
size_t nb_core_report(struct nb_core *c, char *buf, size_t size);
/* Number of queued entries. */
size_t nb_core_count(struct nb_core *c);

/* ---- the network, for the view (FUSE threads) ---- */

/* Called on the sync thread with a finished listing: r is 0 (the
 * callee takes ents and frees them with nb_proto_dirents_free), the
 * server's error, or NB_E_OFFLINE. */
typedef void (*nb_core_list_fn)(void *arg, const char *path, int r, struct nb_dirents *ents);
/* Ask for a listing of server directory path. 0: done() will be called
 * exactly once; NB_E_OFFLINE at once when not connected (done() is not
 * called), so callers never wait on a link that is down. */
int nb_core_list_async(struct nb_core *c, const char *path, nb_core_list_fn done, void *arg);
/* Download server file rpath into the staging tree at path (its parent
 * must exist there), resumably and MD5-checked; blocks, riding out
 * connection trouble for up to a minute. 0 once it is in place (or a
 * local file appeared there meanwhile, which wins), else an error. */
int nb_core_fetch(struct nb_core *c, const char *rpath, const char *path) NB_WUR;

#endif
