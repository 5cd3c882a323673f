/*
 * The publish lock of a server root: one file, .nbfs/publish.lock,
 * locked (flock) by a session from the check of an upload's base to its
 * rename into place. Sessions of different mounts run in different
 * processes; without it, two uploads to one name could both find their
 * base holding and the later rename would replace the earlier file
 * unseen: a version lost instead of a conflict copy. The lock is held for
 * a stat and a rename (per file of a batch), never across an fsync or
 * the network, so a session waits on it for microseconds.
 */
#ifndef NB_PUBLOCK_H
#define NB_PUBLOCK_H

/* The lock file, relative to the partial directory (.nbfs/partial):
 * beside it, so that the partial directory holds partials only. */
#define NB_PUBLOCK_NAME "../publish.lock"

/* Take the lock of the root whose partial directory is partial_dirfd,
 * waiting for it: the locked fd (nb_publock_drop releases it), or
 * -errno. */
int nb_publock_take(int partial_dirfd);
/* Release a lock nb_publock_take returned (a negative fd: nothing). */
void nb_publock_drop(int fd);

#endif
