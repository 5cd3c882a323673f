/*
 * Shared by the FUSE operation files (ops.c: files and attributes;
 * ops_ns.c: the namespace).
 */
#ifndef NB_OPS_H
#define NB_OPS_H

#include <stdint.h>
#include <sys/stat.h>

#include "fs/fs.h"

static inline struct nb_fs *nb_ops_fs(void)
{
	return fuse_get_context()->private_data;
}

/* What fi->fh points to, for files and (fd -1) directories alike: with
 * nullpath_ok, operations on open handles get no path, and setattr may
 * come with a directory's handle. */
struct nb_handle {
	int fd;         /* the staged file, or -1 for a directory */
	int writer;
	uint64_t entry; /* the queue entry a writer holds open (survives renames) */
	uint64_t size;  /* as far as this handle knows, for cache accounting */
	char *wpath;    /* the path at open */
	/* Hash-on-write of a writer that opened it empty: the prefix written
	 * in order so far (in_order: no other write yet), followed once it
	 * passes NB_CORE_FOLLOW_FROM bytes. */
	int in_order;
	uint64_t written;
	struct nb_follow *follow;
	struct nb_handle *prev, *next; /* on fs->handles */
};

static inline struct nb_handle *nb_ops_handle(struct fuse_file_info *fi)
{
	return fi ? (struct nb_handle *)(uintptr_t)fi->fh : NULL;
}

/* Every handle made goes on the mount's list until it is released. */
void nb_ops_handle_track(struct nb_fs *fs, struct nb_handle *h);
void nb_ops_handle_untrack(struct nb_fs *fs, struct nb_handle *h);
/* After the FUSE loop: release the handles the kernel never did (a
 * RELEASE still queued at unmount is dropped), so a writer's file is
 * closed on record and syncs as any other, not as one left open by a
 * crash. */
void nb_ops_release_all(struct nb_fs *fs);

/* FUSE path -> wire path; NULL stays NULL (an unlinked open file). */
const char *nb_ops_wpath(const char *path);
/* A new name must be one the server accepts. */
int nb_ops_check_new(const char *wpath);
/* wpath (fd: open on it, or -1) was just created in the staging tree
 * for the FUSE caller with mode: it becomes the caller's, as on a local
 * disk, so the kernel's permission checks in the mount (allow_other)
 * let its creator use it. Ownership is not synced: the staged node
 * keeps it (across remounts too). In a set-group-ID directory the
 * group stays the directory's. Best effort: when nbfs may not chown
 * (it runs unprivileged), or on an error (logged), the node stays the
 * mounting user's, as files only on the server are. */
void nb_ops_own_new(struct nb_fs *fs, int fd, const char *wpath, mode_t mode);
/* FIFOs and sockets live in the staging tree only: the protocol has no
 * message for them yet, so nothing about them is ever queued (the scan
 * of the staged tree at mount skips them too). */
static inline int nb_ops_local_only(mode_t mode)
{
	return S_ISFIFO(mode) || S_ISSOCK(mode);
}

int nb_op_opendir(const char *path, struct fuse_file_info *fi);
int nb_op_releasedir(const char *path, struct fuse_file_info *fi);
int nb_op_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t offset,
		  struct fuse_file_info *fi, enum fuse_readdir_flags flags);
int nb_op_mkdir(const char *path, mode_t mode);
int nb_op_mknod(const char *path, mode_t mode, dev_t rdev);
int nb_op_unlink(const char *path);
int nb_op_rmdir(const char *path);
int nb_op_rename(const char *from, const char *to, unsigned int flags);
int nb_op_symlink(const char *target, const char *path);
int nb_op_readlink(const char *path, char *buf, size_t size);
int nb_op_link(const char *from, const char *to);
/* File operations (ops.c), also used by nb_op_link (ops_link.c). */
int nb_op_create(const char *path, mode_t mode, struct fuse_file_info *fi);
int nb_op_open(const char *path, struct fuse_file_info *fi);
int nb_op_write(const char *path, const char *buf, size_t size, off_t off,
		struct fuse_file_info *fi);
int nb_op_release(const char *path, struct fuse_file_info *fi);

#endif
