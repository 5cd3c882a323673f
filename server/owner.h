/*
 * Who holds a partial file: a small record next to it, so that a new
 * session of the same mount can take over from an old one that is
 * still attached to a dead connection.
 *
 * Why: a link that stalls silently (a dead NAT mapping, a cable pulled
 * beyond the first hop) leaves the old nbfs-server blocked on its input
 * for as long as sshd and TCP keep the connection (hours with stock
 * sshd). It holds the flock of every partial it had open, so the
 * client's new session would be told "busy" until then. The flock stays
 * the one rule that keeps two writers off a partial; the record only
 * says whose it is: the holder's pid, the start time of that process
 * (so a reused pid is not mistaken for it) and its client's mount id.
 *
 * The record of partial <name> is <partialdir>/.owner-<name>, written by
 * the lock holder after it took the lock (rename of a temporary, so a
 * reader sees a whole record or the old one) and removed by it before
 * it lets go. A holder that died leaves it behind; the next holder
 * replaces it, and the sweep removes it with its partial.
 */
#ifndef NB_OWNER_H
#define NB_OWNER_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "wire/proto.h"

#define NB_OWNER_PREFIX ".owner-"
/* How long a takeover waits for the old holder to let go: first after
 * SIGTERM, then as long again after SIGKILL. */
#define NB_OWNER_WAIT_MS 2000

struct nb_owner {
	pid_t pid;
	unsigned long long start; /* the process's start time (clock ticks since boot) */
	int has_mount;
	uint8_t mount[NB_MOUNT_ID_LEN];
	time_t since; /* when it took the lock (the record's mtime) */
};

/* Record this process, serving mount (NULL: a client that named no
 * mount), as the holder of partial `name` in dirfd. Best effort: 0 or
 * -errno; without a record the partial cannot be taken over, nothing
 * worse. */
int nb_owner_write(int dirfd, const char *name, const uint8_t *mount);
/* Remove the record of partial `name`; call while holding its lock. */
void nb_owner_clear(int dirfd, const char *name);
/* Read the record of partial `name`: 0, -ENOENT, or NB_E_PROTO for a
 * record that does not parse. */
int nb_owner_read(int dirfd, const char *name, struct nb_owner *o);
/* 1 if o names a live process, started when the record says, running
 * the same program as this one (an nbfs-server, in the tests the test
 * program); else 0. */
int nb_owner_alive(const struct nb_owner *o);
/* Take partial `name` (open at fd in dirfd) over from its holder if
 * that is another, live process serving the same mount: SIGTERM, then
 * wait up to NB_OWNER_WAIT_MS for the lock, then SIGKILL and wait as
 * long again. 0 once fd holds the lock (LOCK_EX); NB_E_BUSY if the
 * holder is someone else or would not let go. *held gets the holder's
 * record as read (pid 0 if there was none). */
int nb_owner_take_over(int fd, int dirfd, const char *name, const uint8_t mount[NB_MOUNT_ID_LEN],
		       struct nb_owner *held);

#endif
