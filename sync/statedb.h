/*
 * The durable part of the client's state, in SQLite (WAL mode):
 *
 *   dirty(path, kind, seq)   what still has to reach the server, in the
 *                            order it was first recorded;
 *   synced(path, kind, size, mtime_ns, md5)
 *                            what the server is known to hold, with the
 *                            local stat it was uploaded from.
 *
 * A path is recorded dirty before the FUSE call that changed it returns,
 * and cleared only after the server has acknowledged a durable publish.
 * At mount time the staging tree is also compared with `synced`, so a
 * record lost with an unflushed transaction (power cut) costs at most a
 * re-upload, never data. Thread-safe (one serialized connection).
 */
#ifndef NB_STATEDB_H
#define NB_STATEDB_H

#include <stdint.h>

#include "sync/md5.h"

enum nb_kind { NB_KIND_FILE = 'f', NB_KIND_DIR = 'd' };

struct nb_statedb;

struct nb_synced {
	int kind;
	uint64_t size;
	int64_t mtime_ns;
	uint8_t md5[NB_MD5_LEN];
	int has_md5;
};

/* Open or create the database at path. 0 or NB_E_DB (reason logged). */
int nb_statedb_open(const char *path, struct nb_statedb **out);
void nb_statedb_close(struct nb_statedb *db);

int nb_statedb_mark_dirty(struct nb_statedb *db, const char *path, int kind);
int nb_statedb_clear_dirty(struct nb_statedb *db, const char *path);
/* Call fn for each dirty path in recording order. */
int nb_statedb_each_dirty(struct nb_statedb *db,
			  int (*fn)(void *arg, const char *path, int kind), void *arg);

/* Record that the server holds path as described, and clear its dirty
 * mark, in one transaction. */
int nb_statedb_set_synced(struct nb_statedb *db, const char *path, const struct nb_synced *s);
/* 0 and *s filled, or -ENOENT. */
int nb_statedb_get_synced(struct nb_statedb *db, const char *path, struct nb_synced *s);
/* Make everything recorded so far durable (fsync), for fsync(2) calls. */
int nb_statedb_flush(struct nb_statedb *db);

#endif
