/*
 * The durable part of the client's state, in SQLite (WAL mode): the queue
 * of operations, the records of what the server holds, and their layout
 * upgrades. The contract is in statedb.h.
 */
#include "sync/statedb_int.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "wire/err.h"
#include "wire/log.h"

static const char nb_statedb_schema[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=NORMAL;"
	"CREATE TABLE IF NOT EXISTS ops("
	"  seq INTEGER PRIMARY KEY AUTOINCREMENT, kind INTEGER NOT NULL,"
	"  path TEXT NOT NULL, path2 TEXT,"
	"  dkind INTEGER, dsize INTEGER, dmtime_ns INTEGER, dmd5 BLOB,"
	"  drsize INTEGER, drmtime_s INTEGER, drmtime_ns INTEGER, skey BLOB,"
	"  akind INTEGER, asize INTEGER, amtime_ns INTEGER, amd5 BLOB,"
	"  arsize INTEGER, armtime_s INTEGER, armtime_ns INTEGER);"
	"CREATE TABLE IF NOT EXISTS synced("
	"  path TEXT PRIMARY KEY, kind INTEGER NOT NULL, size INTEGER NOT NULL,"
	"  mtime_ns INTEGER NOT NULL, md5 BLOB,"
	"  rsize INTEGER, rmtime_s INTEGER, rmtime_ns INTEGER);"
	"CREATE TABLE IF NOT EXISTS fetch(path TEXT PRIMARY KEY, md5 BLOB NOT NULL);"
	"CREATE TABLE IF NOT EXISTS conflict(path TEXT PRIMARY KEY);"
	/* 4: pinned paths (a table of its own: the schema creates it) */
	"CREATE TABLE IF NOT EXISTS pins(path TEXT PRIMARY KEY);";

int nb_statedb_fail(struct nb_statedb *db, const char *what)
{
	/* A full disk is the caller's to report: the reserve may yet make
	 * room (nb_statedb_txn), and if it cannot, the caller says what
	 * could not be recorded. */
	if (sqlite3_errcode(db->db) == SQLITE_FULL) {
		nb_warn("%s: the cache's disk is full", what);
		return -ENOSPC;
	}
	nb_err("%s: %s", what, sqlite3_errmsg(db->db));
	return NB_E_DB;
}

/* The layout this code writes; PRAGMA user_version records it. */
#define NB_STATEDB_VERSION 6

/* Columns added since the first layout, by the layout that added them. */
static const struct nb_statedb_col {
	int version;
	const char *table, *col, *type;
} nb_statedb_cols[] = {
	/* 2: the server's own size and mtime (the base of the next upload) */
	{2, "synced", "rsize", "INTEGER"},
	{2, "synced", "rmtime_s", "INTEGER"},
	{2, "synced", "rmtime_ns", "INTEGER"},
	/* 3: an upload in doubt, kept with its queue entry (dkind NULL: none) */
	{3, "ops", "dkind", "INTEGER"},
	{3, "ops", "dsize", "INTEGER"},
	{3, "ops", "dmtime_ns", "INTEGER"},
	{3, "ops", "dmd5", "BLOB"},
	{3, "ops", "drsize", "INTEGER"},
	{3, "ops", "drmtime_s", "INTEGER"},
	{3, "ops", "drmtime_ns", "INTEGER"},
	/* 5: the key of an upload streamed while it was written */
	{5, "ops", "skey", "BLOB"},
	/* 6: a second version an entry's path may hold (akind NULL: none) */
	{6, "ops", "akind", "INTEGER"},
	{6, "ops", "asize", "INTEGER"},
	{6, "ops", "amtime_ns", "INTEGER"},
	{6, "ops", "amd5", "BLOB"},
	{6, "ops", "arsize", "INTEGER"},
	{6, "ops", "armtime_s", "INTEGER"},
	{6, "ops", "armtime_ns", "INTEGER"},
};

/* 1 if table has column (or, with col NULL, if the table exists). */
static int nb_statedb_has(struct nb_statedb *db, const char *table, const char *col)
{
	sqlite3_stmt *st;
	char sql[128];
	int has = 0;
	if (!col)
		snprintf(sql, sizeof(sql),
			 "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '%s'", table);
	else
		snprintf(sql, sizeof(sql), "SELECT 1 FROM pragma_table_info('%s') WHERE name = '%s'",
			 table, col);
	if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) == SQLITE_OK) {
		has = sqlite3_step(st) == SQLITE_ROW;
		sqlite3_finalize(st);
	}
	return has;
}

/* Layout 1 (the first releases') kept a set of dirty paths: its queue is
 * carried over in order. */
static int nb_statedb_upgrade_queue(struct nb_statedb *db)
{
	if (!nb_statedb_has(db, "dirty", NULL))
		return 0;
	if (sqlite3_exec(db->db,
			 "CREATE TABLE IF NOT EXISTS ops("
			 "  seq INTEGER PRIMARY KEY AUTOINCREMENT, kind INTEGER NOT NULL,"
			 "  path TEXT NOT NULL, path2 TEXT);"
			 "INSERT INTO ops(kind, path) SELECT kind, path FROM dirty ORDER BY seq;"
			 "DROP TABLE dirty;",
			 NULL, NULL, NULL) != SQLITE_OK)
		return nb_statedb_fail(db, "upgrade: queue");
	return 0;
}

/* Bring an older layout up to this one, step by step and idempotently
 * (each step looks at what is there before it adds anything), in one
 * transaction. Old rows keep NULL in the new columns: synced records
 * without server attributes mean "overwrite", as they did in layout 1;
 * queue entries without a doubt are not in doubt, as layout 2 could not
 * say otherwise (its doubts lived in memory only). */
static int nb_statedb_migrate(struct nb_statedb *db, const char *path)
{
	sqlite3_stmt *st;
	int version = 0, r = 0;
	if (sqlite3_prepare_v2(db->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			version = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	if (version > NB_STATEDB_VERSION) {
		nb_err("%s: written by a newer nbfs (layout %d, this one knows %d)", path, version,
		       NB_STATEDB_VERSION);
		return NB_E_DB;
	}
	if (version == NB_STATEDB_VERSION)
		return 0;
	char sql[160];
	if (sqlite3_exec(db->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return nb_statedb_fail(db, "upgrade");
	if (version < 2)
		r = nb_statedb_upgrade_queue(db);
	for (size_t i = 0; r == 0 && i < sizeof(nb_statedb_cols) / sizeof(nb_statedb_cols[0]); i++) {
		const struct nb_statedb_col *c = &nb_statedb_cols[i];
		/* A table not there yet is created whole by the schema. */
		if (c->version <= version || !nb_statedb_has(db, c->table, NULL) ||
		    nb_statedb_has(db, c->table, c->col))
			continue;
		snprintf(sql, sizeof(sql), "ALTER TABLE %s ADD COLUMN %s %s", c->table, c->col, c->type);
		if (sqlite3_exec(db->db, sql, NULL, NULL, NULL) != SQLITE_OK)
			r = nb_statedb_fail(db, "upgrade: columns");
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", NB_STATEDB_VERSION);
	if (r == 0 && sqlite3_exec(db->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		r = nb_statedb_fail(db, "upgrade: version");
	if (r == 0 && sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		r = nb_statedb_fail(db, "upgrade: commit");
	if (r != 0)
		sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
	else if (version != 0 || nb_statedb_has(db, "ops", NULL))
		nb_info("%s: state database at layout %d (was %d)", path, NB_STATEDB_VERSION, version);
	return r;
}

int nb_statedb_open(const char *path, struct nb_statedb **out)
{
	struct nb_statedb *db = calloc(1, sizeof(*db));
	if (!db)
		return -ENOMEM;
	int rc = sqlite3_open_v2(path, &db->db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
				 NULL);
	if (rc != SQLITE_OK) {
		nb_err("%s: %s", path, db->db ? sqlite3_errmsg(db->db) : sqlite3_errstr(rc));
		sqlite3_close(db->db);
		free(db);
		return NB_E_DB;
	}
	sqlite3_busy_timeout(db->db, 5000);
	/* One nbfs per cache (its lock file says so), one connection: hold
	 * the database's locks for the connection's life instead of taking
	 * them (fcntl) around every transaction, and keep the WAL index in
	 * memory. Set before the first access, or the shared-memory index
	 * is used all the same. */
	if (sqlite3_exec(db->db, "PRAGMA locking_mode=EXCLUSIVE", NULL, NULL, NULL) != SQLITE_OK)
		nb_warn("%s: cannot hold the database's locks: %s", path, sqlite3_errmsg(db->db));
	char *msg = NULL;
	if (nb_statedb_migrate(db, path) != 0 ||
	    sqlite3_exec(db->db, nb_statedb_schema, NULL, NULL, &msg) != SQLITE_OK) {
		nb_err("%s: schema: %s", path, msg ? msg : "?");
		sqlite3_free(msg);
		sqlite3_close(db->db);
		free(db);
		return NB_E_DB;
	}
	char rpath[4096];
	if (snprintf(rpath, sizeof(rpath), "%s-reserve", path) >= (int)sizeof(rpath) ||
	    nb_reserve_init(&db->reserve, rpath, NB_RESERVE_SIZE) != 0) {
		nb_statedb_close(db);
		return -ENOMEM;
	}
	*out = db;
	return 0;
}

void nb_statedb_close(struct nb_statedb *db)
{
	if (!db)
		return;
	if (nb_statedb_group_commit(db) != 0)
		nb_warn("state database: the last changes are lost (see above)");
	for (size_t i = 0; i < NB_STATEDB_CACHE; i++)
		sqlite3_finalize(db->cache[i].st);
	sqlite3_close(db->db);
	nb_reserve_fini(&db->reserve);
	free(db);
}

/* The statement for sql (a string literal), prepared once and reset for
 * each use; give it back with nb_statedb_release. */
int nb_statedb_prepare(struct nb_statedb *db, const char *sql, sqlite3_stmt **st)
{
	size_t h = ((uintptr_t)sql >> 3) % NB_STATEDB_CACHE;
	for (size_t k = 0; k < NB_STATEDB_CACHE; k++) {
		struct nb_statedb_cached *c = &db->cache[(h + k) % NB_STATEDB_CACHE];
		if (c->sql == sql) {
			*st = c->st;
			return 0;
		}
		if (!c->sql) {
			if (sqlite3_prepare_v3(db->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) !=
			    SQLITE_OK)
				return nb_statedb_fail(db, "prepare");
			c->sql = sql;
			c->st = *st;
			return 0;
		}
	}
	/* More statements than slots (not with today's code): uncached. */
	if (sqlite3_prepare_v2(db->db, sql, -1, st, NULL) != SQLITE_OK)
		return nb_statedb_fail(db, "prepare");
	return 0;
}

/* Done with st: reset it for its next use (or free it if uncached). */
void nb_statedb_release(struct nb_statedb *db, sqlite3_stmt *st)
{
	for (size_t i = 0; i < NB_STATEDB_CACHE; i++)
		if (db->cache[i].st == st) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return;
		}
	sqlite3_finalize(st);
}

/* ---- the group: one thread's statements in one transaction ----
 *
 * Between nb_statedb_group_begin and _end, the statements of the thread
 * that began it (the sync thread) share one transaction, opened by the
 * first of them and committed by nb_statedb_group_commit (before a
 * request leaves, and at the end of each of its turns): a commit per
 * turn instead of two per small file. Its transaction bodies
 * (nb_statedb_txn) are savepoints inside it, atomic as before. Any other
 * thread's statement commits the group first, so that thread's change
 * is on record when its call returns, as without a group; its reads see
 * the group's changes (one connection), as the queue's memory does. A
 * group that cannot be committed is lost whole, as the last commits are
 * in a power cut (synchronous=NORMAL): what it recorded is asked of the
 * server again (a doubt) or sent again after the next mount's scan. All
 * of it runs under the connection's mutex. */

static int nb_statedb_owner(struct nb_statedb *db)
{
	return db->group_on && pthread_equal(db->group_owner, pthread_self());
}

/* After a failure inside the group: sqlite may have rolled it back. */
static void nb_statedb_group_check(struct nb_statedb *db)
{
	if (db->group_open && sqlite3_get_autocommit(db->db)) {
		db->group_open = 0;
		nb_err("the state database rolled back the sync thread's last %ld changes; what "
		       "they recorded is asked of the server or sent again",
		       db->group_changes);
	}
}

static int nb_statedb_group_close(struct nb_statedb *db)
{
	if (!db->group_open)
		return 0;
	int r = 0;
	if (sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		/* A full disk: once more in the reserve's room, if sqlite kept
		 * the transaction. */
		int again = sqlite3_errcode(db->db) == SQLITE_FULL && !sqlite3_get_autocommit(db->db) &&
			    nb_reserve_release(&db->reserve);
		if (!again || sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
			r = nb_statedb_fail(db, "commit");
			if (!sqlite3_get_autocommit(db->db))
				sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
			nb_err("the sync thread's last %ld changes to the state database are lost; "
			       "what they recorded is asked of the server or sent again",
			       db->group_changes);
		}
	}
	db->group_open = 0;
	db->group_changes = 0;
	if (r == 0)
		nb_reserve_refill(&db->reserve);
	return r;
}

/* Before a statement or a transaction body: the owner's goes into the
 * group (opened now if need be; if it cannot be, on its own as without
 * one); anyone else's after the group is committed. */
static void nb_statedb_group_enter(struct nb_statedb *db)
{
	if (!nb_statedb_owner(db)) {
		nb_statedb_group_close(db);
		return;
	}
	if (!db->group_open && sqlite3_exec(db->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK)
		db->group_open = 1;
	db->group_changes += db->group_open;
}

void nb_statedb_group_begin(struct nb_statedb *db)
{
	sqlite3_mutex_enter(sqlite3_db_mutex(db->db));
	if (!db->group_on) {
		db->group_on = 1;
		db->group_owner = pthread_self();
	}
	sqlite3_mutex_leave(sqlite3_db_mutex(db->db));
}

int nb_statedb_group_commit(struct nb_statedb *db)
{
	sqlite3_mutex_enter(sqlite3_db_mutex(db->db));
	int r = nb_statedb_group_close(db);
	sqlite3_mutex_leave(sqlite3_db_mutex(db->db));
	return r;
}

int nb_statedb_group_end(struct nb_statedb *db)
{
	sqlite3_mutex_enter(sqlite3_db_mutex(db->db));
	int r = nb_statedb_group_close(db);
	if (nb_statedb_owner(db))
		db->group_on = 0;
	sqlite3_mutex_leave(sqlite3_db_mutex(db->db));
	return r;
}

int nb_statedb_step(struct nb_statedb *db, sqlite3_stmt *st, const char *what)
{
	sqlite3_mutex *m = sqlite3_db_mutex(db->db);
	sqlite3_mutex_enter(m);
	if (!db->in_txn)
		nb_statedb_group_enter(db);
	int rc = sqlite3_step(st);
	/* Outside a transaction body the statement was rolled back whole
	 * (in a group: the statement, if sqlite kept the group): it can
	 * simply run again. (Inside a body, the body runs again whole:
	 * nb_statedb_txn.) */
	if (rc == SQLITE_FULL && !db->in_txn) {
		nb_statedb_group_check(db);
		if (nb_reserve_release(&db->reserve)) {
			sqlite3_reset(st);
			rc = sqlite3_step(st);
		}
	}
	int r = 0;
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		r = nb_statedb_fail(db, what);
		if (!db->in_txn)
			nb_statedb_group_check(db);
	} else if (!db->in_txn && !db->group_open) {
		nb_reserve_refill(&db->reserve);
	}
	nb_statedb_release(db, st);
	sqlite3_mutex_leave(m);
	return r;
}

/* One connection serves every thread: a transaction holds the
 * connection's (recursive) mutex from BEGIN to COMMIT, so no other
 * thread's statement can slip into it. The group's owner makes a
 * savepoint in the group instead. */
static int nb_statedb_begin(struct nb_statedb *db)
{
	sqlite3_mutex_enter(sqlite3_db_mutex(db->db));
	nb_statedb_group_enter(db);
	if (db->group_open && nb_statedb_owner(db)) {
		if (sqlite3_exec(db->db, "SAVEPOINT nb_body", NULL, NULL, NULL) == SQLITE_OK) {
			db->in_txn = 2;
			return 0;
		}
	} else if (sqlite3_exec(db->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK) {
		db->in_txn = 1;
		return 0;
	}
	int r = nb_statedb_fail(db, "begin");
	sqlite3_mutex_leave(sqlite3_db_mutex(db->db));
	return r;
}

/* Commit if r == 0, else roll back; returns the first error. */
static int nb_statedb_end(struct nb_statedb *db, int r)
{
	if (db->in_txn == 2) {
		if (r == 0 && sqlite3_exec(db->db, "RELEASE nb_body", NULL, NULL, NULL) != SQLITE_OK)
			r = nb_statedb_fail(db, "release");
		if (r != 0 && !sqlite3_get_autocommit(db->db)) {
			sqlite3_exec(db->db, "ROLLBACK TO nb_body", NULL, NULL, NULL);
			sqlite3_exec(db->db, "RELEASE nb_body", NULL, NULL, NULL);
		}
		db->in_txn = 0;
		if (r != 0)
			nb_statedb_group_check(db);
		sqlite3_mutex_leave(sqlite3_db_mutex(db->db));
		return r;
	}
	if (r == 0 && sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		r = nb_statedb_fail(db, "commit");
	if (r != 0)
		sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
	db->in_txn = 0;
	if (r == 0)
		nb_reserve_refill(&db->reserve);
	sqlite3_mutex_leave(sqlite3_db_mutex(db->db));
	return r;
}

int nb_statedb_txn(struct nb_statedb *db,
		   int (*body)(struct nb_statedb *db, const struct nb_statedb_args *a),
		   const struct nb_statedb_args *a)
{
	int r;
	for (;;) {
		if ((r = nb_statedb_begin(db)) != 0)
			return r;
		r = nb_statedb_end(db, body(db, a));
		if (r != -ENOSPC)
			return r;
		/* The disk was full: rolled back whole; once more, with the
		 * reserve's room, if it had any left. */
		sqlite3_mutex_enter(sqlite3_db_mutex(db->db));
		int again = nb_reserve_release(&db->reserve);
		sqlite3_mutex_leave(sqlite3_db_mutex(db->db));
		if (!again)
			return r;
	}
}

static int nb_statedb_batch_txn(struct nb_statedb *db, const struct nb_statedb_args *a)
{
	(void)db;
	return a->fn(a->arg);
}

int nb_statedb_batch(struct nb_statedb *db, int (*fn)(void *arg), void *arg)
{
	struct nb_statedb_args a = {.seq = -1, .fn = fn, .arg = arg};
	return nb_statedb_txn(db, nb_statedb_batch_txn, &a);
}

/* One statement on one path. */
int nb_statedb_path_stmt(struct nb_statedb *db, const char *sql, const char *path,
				const char *what)
{
	sqlite3_stmt *st;
	int r = nb_statedb_prepare(db, sql, &st);
	if (r != 0)
		return r;
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	return nb_statedb_step(db, st, what);
}

/* A synced-like record into parameters 2 to 8 of st (kind, size,
 * mtime_ns, md5, rsize, rmtime_s, rmtime_ns); what it lacks stays NULL. */
static void nb_statedb_bind_synced(sqlite3_stmt *st, const struct nb_synced *s)
{
	sqlite3_bind_int(st, 2, s->kind);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)s->size);
	sqlite3_bind_int64(st, 4, s->mtime_ns);
	if (s->has_md5)
		sqlite3_bind_blob(st, 5, s->md5, NB_MD5_LEN, SQLITE_STATIC);
	if (s->has_remote) {
		sqlite3_bind_int64(st, 6, (sqlite3_int64)s->rsize);
		sqlite3_bind_int64(st, 7, s->rmtime_s);
		sqlite3_bind_int64(st, 8, s->rmtime_ns);
	}
}

int nb_statedb_op_next(struct nb_statedb *db, int64_t *seq)
{
	sqlite3_stmt *st;
	/* Above every position ever used (AUTOINCREMENT keeps the highest
	 * in sqlite_sequence, even once its row is gone). */
	int r = nb_statedb_prepare(db,
				   "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'ops'), 0),"
				   " coalesce((SELECT max(seq) FROM ops), 0)) + 1",
				   &st);
	if (r != 0)
		return r;
	sqlite3_mutex_enter(sqlite3_db_mutex(db->db));
	if (sqlite3_step(st) == SQLITE_ROW)
		*seq = sqlite3_column_int64(st, 0);
	else
		r = nb_statedb_fail(db, "next op position");
	nb_statedb_release(db, st);
	sqlite3_mutex_leave(sqlite3_db_mutex(db->db));
	return r;
}

int nb_statedb_op_add(struct nb_statedb *db, int64_t seq, int kind, const char *path,
		      const char *path2, const struct nb_synced *doubt)
{
	sqlite3_stmt *st;
	int r = nb_statedb_prepare(db,
				   "INSERT INTO ops(seq, dkind, dsize, dmtime_ns, dmd5, drsize, drmtime_s,"
				   " drmtime_ns, kind, path, path2)"
				   " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
				   &st);
	if (r != 0)
		return r;
	sqlite3_bind_int64(st, 1, seq);
	if (doubt) /* else the doubt's columns NULL: unbound parameters are */
		nb_statedb_bind_synced(st, doubt);
	sqlite3_bind_int(st, 9, kind);
	sqlite3_bind_text(st, 10, path, -1, SQLITE_STATIC);
	if (path2)
		sqlite3_bind_text(st, 11, path2, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 11);
	return nb_statedb_step(db, st, "add op");
}

int nb_statedb_op_del(struct nb_statedb *db, int64_t seq)
{
	sqlite3_stmt *st;
	int r = nb_statedb_prepare(db, "DELETE FROM ops WHERE seq = ?1", &st);
	if (r != 0)
		return r;
	sqlite3_bind_int64(st, 1, seq);
	return nb_statedb_step(db, st, "delete op");
}

static int nb_statedb_op_move_txn(struct nb_statedb *db, const struct nb_statedb_args *a)
{
	sqlite3_stmt *st;
	int r = nb_statedb_prepare(db,
				   "INSERT INTO ops(seq, kind, path, path2, dkind, dsize, dmtime_ns, dmd5,"
				   " drsize, drmtime_s, drmtime_ns, skey, akind, asize, amtime_ns, amd5,"
				   " arsize, armtime_s, armtime_ns)"
				   " SELECT ?3, kind, ?2, path2, dkind, dsize, dmtime_ns, dmd5, drsize,"
				   " drmtime_s, drmtime_ns, skey, akind, asize, amtime_ns, amd5, arsize,"
				   " armtime_s, armtime_ns FROM ops WHERE seq = ?1",
				   &st);
	if (r == 0) {
		sqlite3_bind_int64(st, 1, a->seq);
		sqlite3_bind_text(st, 2, a->path, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, a->newseq);
		r = nb_statedb_step(db, st, "move op");
	}
	if (r == 0 && sqlite3_changes(db->db) != 1)
		r = -ENOENT; /* no such op: nothing to move */
	if (r == 0)
		r = nb_statedb_op_del(db, a->seq);
	return r;
}

int nb_statedb_op_move(struct nb_statedb *db, int64_t seq, const char *path, int64_t newseq)
{
	struct nb_statedb_args a = {.seq = seq, .path = path, .newseq = newseq};
	return nb_statedb_txn(db, nb_statedb_op_move_txn, &a);
}

int nb_statedb_op_doubt(struct nb_statedb *db, int64_t seq, const struct nb_synced *d)
{
	sqlite3_stmt *st;
	int r = nb_statedb_prepare(db,
				   "UPDATE ops SET dkind = ?2, dsize = ?3, dmtime_ns = ?4, dmd5 = ?5,"
				   " drsize = ?6, drmtime_s = ?7, drmtime_ns = ?8 WHERE seq = ?1",
				   &st);
	if (r != 0)
		return r;
	sqlite3_bind_int64(st, 1, seq);
	if (d) /* else every column NULL: unbound parameters are */
		nb_statedb_bind_synced(st, d);
	return nb_statedb_step(db, st, "set doubt");
}

int nb_statedb_op_doubt2(struct nb_statedb *db, int64_t seq, const struct nb_synced *d)
{
	sqlite3_stmt *st;
	int r = nb_statedb_prepare(db,
				   "UPDATE ops SET akind = ?2, asize = ?3, amtime_ns = ?4, amd5 = ?5,"
				   " arsize = ?6, armtime_s = ?7, armtime_ns = ?8 WHERE seq = ?1",
				   &st);
	if (r != 0)
		return r;
	sqlite3_bind_int64(st, 1, seq);
	if (d) /* else every column NULL: unbound parameters are */
		nb_statedb_bind_synced(st, d);
	return nb_statedb_step(db, st, "set second doubt");
}

int nb_statedb_op_key(struct nb_statedb *db, int64_t seq, const uint8_t *key)
{
	sqlite3_stmt *st;
	int r = nb_statedb_prepare(db, "UPDATE ops SET skey = ?2 WHERE seq = ?1", &st);
	if (r != 0)
		return r;
	sqlite3_bind_int64(st, 1, seq);
	if (key) /* else NULL: an unbound parameter is */
		sqlite3_bind_blob(st, 2, key, NB_MD5_LEN, SQLITE_TRANSIENT);
	return nb_statedb_step(db, st, "set stream key");
}

int nb_statedb_each_key(struct nb_statedb *db,
			int (*fn)(void *arg, int64_t seq, const uint8_t key[NB_MD5_LEN]), void *arg)
{
	sqlite3_stmt *st;
	int r = nb_statedb_prepare(db, "SELECT seq, skey FROM ops WHERE skey IS NOT NULL", &st);
	if (r != 0)
		return r;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 1) != NB_MD5_LEN)
			continue; /* not ours to make sense of: no stream to resume */
		if ((r = fn(arg, sqlite3_column_int64(st, 0), sqlite3_column_blob(st, 1))) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = nb_statedb_fail(db, "list stream keys");
	nb_statedb_release(db, st);
	return r;
}

/* The columns of a synced-like record at column i of st into *s: 1 if
 * there is one (column i not NULL), else 0. */
static int nb_statedb_row_synced(sqlite3_stmt *st, int i, struct nb_synced *s)
{
	memset(s, 0, sizeof(*s));
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return 0;
	s->kind = sqlite3_column_int(st, i);
	s->size = (uint64_t)sqlite3_column_int64(st, i + 1);
	s->mtime_ns = sqlite3_column_int64(st, i + 2);
	if (sqlite3_column_bytes(st, i + 3) == NB_MD5_LEN) {
		memcpy(s->md5, sqlite3_column_blob(st, i + 3), NB_MD5_LEN);
		s->has_md5 = 1;
	}
	if (sqlite3_column_type(st, i + 4) != SQLITE_NULL) {
		s->has_remote = 1;
		s->rsize = (uint64_t)sqlite3_column_int64(st, i + 4);
		s->rmtime_s = sqlite3_column_int64(st, i + 5);
		s->rmtime_ns = (uint32_t)sqlite3_column_int64(st, i + 6);
	}
	return 1;
}

int nb_statedb_each_op(struct nb_statedb *db,
		       int (*fn)(void *arg, int64_t seq, int kind, const char *path,
				 const char *path2, const struct nb_synced *doubt),
		       void *arg)
{
	sqlite3_stmt *st;
	struct nb_synced d;
	int r = nb_statedb_prepare(db,
				   "SELECT seq, kind, path, path2, dkind, dsize, dmtime_ns, dmd5, drsize,"
				   " drmtime_s, drmtime_ns FROM ops ORDER BY seq",
				   &st);
	if (r != 0)
		return r;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int has_doubt = nb_statedb_row_synced(st, 4, &d);
		r = fn(arg, sqlite3_column_int64(st, 0), sqlite3_column_int(st, 1),
		       (const char *)sqlite3_column_text(st, 2), (const char *)sqlite3_column_text(st, 3),
		       has_doubt ? &d : NULL);
		if (r != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = nb_statedb_fail(db, "list ops");
	nb_statedb_release(db, st);
	return r;
}

int nb_statedb_each_doubt2(struct nb_statedb *db,
			   int (*fn)(void *arg, int64_t seq, const struct nb_synced *d), void *arg)
{
	sqlite3_stmt *st;
	struct nb_synced d;
	int r = nb_statedb_prepare(db,
				   "SELECT seq, akind, asize, amtime_ns, amd5, arsize, armtime_s, armtime_ns"
				   " FROM ops WHERE akind IS NOT NULL",
				   &st);
	if (r != 0)
		return r;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		nb_statedb_row_synced(st, 1, &d);
		if ((r = fn(arg, sqlite3_column_int64(st, 0), &d)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = nb_statedb_fail(db, "list second doubts");
	nb_statedb_release(db, st);
	return r;
}

static int nb_statedb_set_synced_txn(struct nb_statedb *db, const struct nb_statedb_args *a)
{
	sqlite3_stmt *st;
	int r = nb_statedb_prepare(db,
				   "INSERT OR REPLACE INTO synced(path, kind, size, mtime_ns, md5, rsize,"
				   " rmtime_s, rmtime_ns) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
				   &st);
	if (r == 0) {
		sqlite3_bind_text(st, 1, a->path, -1, SQLITE_STATIC);
		nb_statedb_bind_synced(st, a->synced);
		r = nb_statedb_step(db, st, "set synced");
	}
	if (r == 0 && a->seq >= 0)
		r = nb_statedb_op_del(db, a->seq);
	return r;
}

int nb_statedb_set_synced(struct nb_statedb *db, int64_t seq, const char *path,
			  const struct nb_synced *s)
{
	struct nb_statedb_args a = {.seq = seq, .path = path, .synced = s};
	return nb_statedb_txn(db, nb_statedb_set_synced_txn, &a);
}

int nb_statedb_get_synced(struct nb_statedb *db, const char *path, struct nb_synced *s)
{
	sqlite3_stmt *st;
	int r = nb_statedb_prepare(db,
				   "SELECT kind, size, mtime_ns, md5, rsize, rmtime_s, rmtime_ns"
				   " FROM synced WHERE path = ?1",
				   &st);
	if (r != 0)
		return r;
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		nb_statedb_row_synced(st, 0, s); /* kind is NOT NULL */
		r = 0;
	} else if (rc == SQLITE_DONE) {
		r = -ENOENT;
	} else {
		r = nb_statedb_fail(db, "get synced");
	}
	nb_statedb_release(db, st);
	return r;
}

/* "path or below": path itself, or anything starting with path + "/"
 * (compared with substr, not LIKE, so '%' and '_' in names are plain). */
static int nb_statedb_del_synced_txn(struct nb_statedb *db, const struct nb_statedb_args *a)
{
	int r = nb_statedb_path_stmt(db, "DELETE FROM synced WHERE " NB_WITHIN("path", "?1"),
				     a->path, "delete synced");
	if (r == 0 && a->seq >= 0)
		r = nb_statedb_op_del(db, a->seq);
	return r;
}

int nb_statedb_del_synced(struct nb_statedb *db, int64_t seq, const char *path)
{
	struct nb_statedb_args a = {.seq = seq, .path = path};
	return nb_statedb_txn(db, nb_statedb_del_synced_txn, &a);
}

int nb_statedb_move_tree(struct nb_statedb *db, const char *del_sql, const char *upd_sql,
			 const char *from, const char *to, const char *what)
{
	sqlite3_stmt *st;
	int r = nb_statedb_path_stmt(db, del_sql, to, what);
	if (r == 0)
		r = nb_statedb_prepare(db, upd_sql, &st);
	if (r == 0) {
		sqlite3_bind_text(st, 1, from, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, to, -1, SQLITE_STATIC);
		r = nb_statedb_step(db, st, what);
	}
	return r;
}

static int nb_statedb_move_synced_txn(struct nb_statedb *db, const struct nb_statedb_args *a)
{
	/* Whatever was at the destination is replaced. */
	int r = nb_statedb_move_tree(db, "DELETE FROM synced WHERE " NB_WITHIN("path", "?1"),
				     "UPDATE synced SET path = ?2 || substr(path, length(?1) + 1)"
				     " WHERE " NB_WITHIN("path", "?1"),
				     a->path, a->path2, "move synced");
	if (r == 0 && a->seq >= 0)
		r = nb_statedb_op_del(db, a->seq);
	return r;
}

int nb_statedb_move_synced(struct nb_statedb *db, int64_t seq, const char *from, const char *to)
{
	struct nb_statedb_args a = {.seq = seq, .path = from, .path2 = to};
	return nb_statedb_txn(db, nb_statedb_move_synced_txn, &a);
}

int nb_statedb_layout(struct nb_statedb *db)
{
	sqlite3_stmt *st;
	int v = NB_E_DB;
	if (nb_statedb_prepare(db, "PRAGMA user_version", &st) != 0)
		return NB_E_DB;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	nb_statedb_release(db, st);
	return v;
}

int nb_statedb_flush(struct nb_statedb *db)
{
	int r = nb_statedb_group_commit(db);
	if (r != 0)
		return r;
	/* A full checkpoint writes the WAL into the database and syncs it. */
	int rc = sqlite3_wal_checkpoint_v2(db->db, NULL, SQLITE_CHECKPOINT_FULL, NULL, NULL);
	return rc == SQLITE_OK || rc == SQLITE_BUSY ? 0 : nb_statedb_fail(db, "checkpoint");
}
