/*
 * Disk space held back for the state database: a file of a few MiB
 * beside it, allocated while there is room. When the cache's disk fills
 * up (a file copied into the mount is larger than the space left), every
 * write to the database would fail with it, removals included: `rm` of
 * the very file that filled the disk could not be recorded and failed
 * with an I/O error. The database gives the reserve up when a write
 * finds the disk full and tries once more; the reserve is taken again,
 * at most once a second, when there is room.
 *
 * Not thread-safe: the state database calls it under its connection's
 * mutex.
 */
#ifndef NB_RESERVE_H
#define NB_RESERVE_H

#include <sys/types.h>

/* What the database holds back: a few thousand pages of its WAL, far
 * more than the transactions of one removal need. */
#define NB_RESERVE_SIZE (4 * 1024 * 1024)

struct nb_reserve {
	char *path;
	off_t size;
	int held;	 /* 1 while the file holds size bytes of disk */
	long long last_try_ms; /* the last failed allocation or release (nb_xio_now_ms) */
};

/* Set up the reserve at path (created or taken over as it is) and try
 * to allocate it. Only allocation failure (ENOMEM) is an error: a disk
 * without room leaves it empty until there is. 0 or -errno. */
int nb_reserve_init(struct nb_reserve *r, const char *path, off_t size);
/* Give the space back to the filesystem: 1 if some was held, else 0. */
int nb_reserve_release(struct nb_reserve *r);
/* Allocate the space again if it is not held, at most once a second. */
void nb_reserve_refill(struct nb_reserve *r);
/* Forget the reserve; the file stays for the next mount. */
void nb_reserve_fini(struct nb_reserve *r);

#endif
