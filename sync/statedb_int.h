/*
 * The state database's insides, shared by statedb.c (the connection,
 * the layout, the queue and the records) and statedb_marks.c (the small
 * path-keyed tables: partial downloads, conflict marks, pins). Nothing
 * else includes this.
 */
#ifndef NB_STATEDB_INT_H
#define NB_STATEDB_INT_H

#include <pthread.h>
#include <sqlite3.h>

#include "sync/reserve.h"
#include "sync/statedb.h"

/* Prepared statements, kept for the life of the connection: nbfs runs
 * the same few dozen statements for every file, and parsing them each
 * time cost more than running them. Keyed by the SQL text's address
 * (every statement here is a string literal). */
#define NB_STATEDB_CACHE 64

struct nb_statedb_cached {
	const char *sql;
	sqlite3_stmt *st;
};

struct nb_statedb {
	sqlite3 *db;
	struct nb_statedb_cached cache[NB_STATEDB_CACHE];
	/* Room for the database on a full disk; used under the connection's
	 * mutex, as is in_txn (1 from BEGIN to COMMIT or ROLLBACK; 2 from
	 * SAVEPOINT to RELEASE, inside a group). */
	struct nb_reserve reserve;
	int in_txn;
	/* The group (nb_statedb_group_begin), under the mutex too: its
	 * owner's statements share one transaction, open from the first
	 * of them (group_open) until it is committed. */
	int group_on, group_open;
	pthread_t group_owner;
	long group_changes; /* statements in the open transaction */
};

/* "col is arg or below it", in SQL. */
#define NB_WITHIN(col, arg) \
	"(" col " = " arg " OR substr(" col ", 1, length(" arg ") + 1) = " arg " || '/')"

/* Log sqlite's error for what; returns -ENOSPC for a full disk, else
 * NB_E_DB. */
int nb_statedb_fail(struct nb_statedb *db, const char *what);
/* The statement for sql (a string literal), prepared once and reset for
 * each use; give it back with nb_statedb_release. 0 or NB_E_DB. */
int nb_statedb_prepare(struct nb_statedb *db, const char *sql, sqlite3_stmt **st);
void nb_statedb_release(struct nb_statedb *db, sqlite3_stmt *st);
/* Step st once and release it: 0, -ENOSPC (the disk is full, and the
 * reserve had no room left) or NB_E_DB. */
int nb_statedb_step(struct nb_statedb *db, sqlite3_stmt *st, const char *what);
/* What a transaction's body works on (each uses what it needs). */
struct nb_statedb_args {
	int64_t seq;             /* the queue entry it settles, or -1 */
	const char *path, *path2;
	const struct nb_synced *synced;
	int64_t newseq;
	int (*fn)(void *arg); /* nb_statedb_batch's */
	void *arg;
};
/* Run body(db, a) in a transaction, committed if it returns 0. When
 * the disk was full, the transaction (rolled back whole) runs again
 * from BEGIN once the reserve has given its room back, so body must
 * keep no state between runs. 0, body's error or the database's. */
int nb_statedb_txn(struct nb_statedb *db,
		   int (*body)(struct nb_statedb *db, const struct nb_statedb_args *a),
		   const struct nb_statedb_args *a);
/* Inside a transaction: the rows of a path-keyed table at and below
 * `from` move to `to`, replacing those at and below `to`. del_sql and
 * upd_sql are the table's statements (NB_WITHIN on ?1; the update sets
 * path = ?2 || the rest). */
int nb_statedb_move_tree(struct nb_statedb *db, const char *del_sql, const char *upd_sql,
			 const char *from, const char *to, const char *what);
/* One statement on one path (bound as ?1). */
int nb_statedb_path_stmt(struct nb_statedb *db, const char *sql, const char *path,
			 const char *what);

#endif
