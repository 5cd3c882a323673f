/*
 * Shared by the FUSE operation files (ops.c: files and attributes;
 * ops_ns.c: the namespace).
 */
#ifndef NB_OPS_H
#define NB_OPS_H

#include "fs/fs.h"

static inline struct nb_fs *nb_ops_fs(void)
{
	return fuse_get_context()->private_data;
}

/* FUSE path -> wire path; NULL stays NULL (an unlinked open file). */
const char *nb_ops_wpath(const char *path);
/* A new name must be one the server accepts. */
int nb_ops_check_new(const char *wpath);

int nb_op_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t offset,
		  struct fuse_file_info *fi, enum fuse_readdir_flags flags);
int nb_op_mkdir(const char *path, mode_t mode);
int nb_op_unlink(const char *path);
int nb_op_rmdir(const char *path);
int nb_op_rename(const char *from, const char *to, unsigned int flags);
int nb_op_symlink(const char *target, const char *path);
int nb_op_readlink(const char *path, char *buf, size_t size);
int nb_op_link(const char *from, const char *to);

#endif
