/*
 * The mount id: 16 random bytes that name one cache (one nbfs mount's
 * state) to the server, across connections and restarts. A server
 * session that finds a partial held by an older session of the same
 * mount id knows that session is this mount's own, left behind by a
 * link that died silently, and takes the partial over (docs/PROTOCOL.md,
 * MOUNT). Kept in <cache>/mount-id as 32 hex digits and a newline.
 */
#ifndef NB_MOUNTID_H
#define NB_MOUNTID_H

#include <stdint.h>

#include "wire/proto.h"

/* Read the id kept at path, or create it (random, written to a
 * temporary, synced and renamed into place) if there is none, or
 * replace it if it does not parse. 0 and id filled, or -errno. */
int nb_mountid_load(const char *path, uint8_t id[NB_MOUNT_ID_LEN]);

#endif
