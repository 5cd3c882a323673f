/*
 * Unnamed files: a file's data written into an inode that has no name
 * yet (O_TMPFILE), in the directory it will be published in, and named
 * there once durable.
 *
 * Why: a file created under a scratch name in one shared directory and
 * renamed into its own afterwards gets its inode where the scratch
 * directory's are. On ext4, inodes are allocated near the directory
 * they are created in, and on an ext4 without a journal each allocation
 * also steps over every inode of that group deleted in the last minutes
 * (so that a crash cannot hand out an inode whose old data is still in
 * flight). Creating thousands of small files in one scratch directory
 * made that walk the server's largest cost. An unnamed file in the
 * destination directory is allocated where `cp` or rsync would put it,
 * and until it is named nobody can see it and a crash leaves nothing
 * behind.
 */
#ifndef NB_UNNAMED_H
#define NB_UNNAMED_H

/* A new unnamed regular file (mode 0600) in the directory dirfd: an fd,
 * or -errno. Fails (-EOPNOTSUPP and the like) where the kernel or the
 * filesystem has no O_TMPFILE, or where a file could not be named
 * afterwards (no /proc): the caller then uses a named scratch file
 * instead. */
int nb_unnamed_open(int dirfd);

/* Give the unnamed file open at fd the name leaf in the directory
 * dirfd (same filesystem). 0, -EEXIST if leaf exists (nothing is
 * replaced), or -errno. */
int nb_unnamed_link(int fd, int dirfd, const char *leaf);

#endif
