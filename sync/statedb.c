#include "sync/statedb.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "sync/err.h"
#include "sync/log.h"

struct nb_statedb {
	sqlite3 *db;
};

static const char nb_statedb_schema[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=NORMAL;"
	"CREATE TABLE IF NOT EXISTS dirty("
	"  path TEXT PRIMARY KEY, kind INTEGER NOT NULL, seq INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS dirty_seq ON dirty(seq);"
	"CREATE TABLE IF NOT EXISTS synced("
	"  path TEXT PRIMARY KEY, kind INTEGER NOT NULL, size INTEGER NOT NULL,"
	"  mtime_ns INTEGER NOT NULL, md5 BLOB);";

static int nb_statedb_fail(struct nb_statedb *db, const char *what)
{
	nb_err("%s: %s", what, sqlite3_errmsg(db->db));
	return NB_E_DB;
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
	char *msg = NULL;
	if (sqlite3_exec(db->db, nb_statedb_schema, NULL, NULL, &msg) != SQLITE_OK) {
		nb_err("%s: schema: %s", path, msg ? msg : "?");
		sqlite3_free(msg);
		sqlite3_close(db->db);
		free(db);
		return NB_E_DB;
	}
	*out = db;
	return 0;
}

void nb_statedb_close(struct nb_statedb *db)
{
	if (!db)
		return;
	sqlite3_close(db->db);
	free(db);
}

static int nb_statedb_step(struct nb_statedb *db, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return nb_statedb_fail(db, what);
	return 0;
}

static int nb_statedb_prepare(struct nb_statedb *db, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(db->db, sql, -1, st, NULL) != SQLITE_OK)
		return nb_statedb_fail(db, "prepare");
	return 0;
}

int nb_statedb_mark_dirty(struct nb_statedb *db, const char *path, int kind)
{
	sqlite3_stmt *st;
	/* Keep the first seq of a path already dirty: order is that of the
	 * first change. */
	int r = nb_statedb_prepare(db,
				   "INSERT INTO dirty(path, kind, seq) VALUES(?1, ?2,"
				   " (SELECT IFNULL(MAX(seq), 0) + 1 FROM dirty))"
				   " ON CONFLICT(path) DO UPDATE SET kind = ?2",
				   &st);
	if (r != 0)
		return r;
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, kind);
	return nb_statedb_step(db, st, "mark dirty");
}

int nb_statedb_clear_dirty(struct nb_statedb *db, const char *path)
{
	sqlite3_stmt *st;
	int r = nb_statedb_prepare(db, "DELETE FROM dirty WHERE path = ?1", &st);
	if (r != 0)
		return r;
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	return nb_statedb_step(db, st, "clear dirty");
}

int nb_statedb_each_dirty(struct nb_statedb *db,
			  int (*fn)(void *arg, const char *path, int kind), void *arg)
{
	sqlite3_stmt *st;
	int r = nb_statedb_prepare(db, "SELECT path, kind FROM dirty ORDER BY seq", &st);
	if (r != 0)
		return r;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r = fn(arg, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int(st, 1));
		if (r != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = nb_statedb_fail(db, "list dirty");
	sqlite3_finalize(st);
	return r;
}

int nb_statedb_set_synced(struct nb_statedb *db, const char *path, const struct nb_synced *s)
{
	sqlite3_stmt *st;
	int r;
	if (sqlite3_exec(db->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return nb_statedb_fail(db, "begin");
	r = nb_statedb_prepare(db,
			       "INSERT OR REPLACE INTO synced(path, kind, size, mtime_ns, md5)"
			       " VALUES(?1, ?2, ?3, ?4, ?5)",
			       &st);
	if (r != 0)
		goto rollback;
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, s->kind);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)s->size);
	sqlite3_bind_int64(st, 4, s->mtime_ns);
	if (s->has_md5)
		sqlite3_bind_blob(st, 5, s->md5, NB_MD5_LEN, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 5);
	if ((r = nb_statedb_step(db, st, "set synced")) != 0)
		goto rollback;
	if ((r = nb_statedb_clear_dirty(db, path)) != 0)
		goto rollback;
	if (sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		r = nb_statedb_fail(db, "commit");
		goto rollback;
	}
	return 0;
rollback:
	sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

int nb_statedb_get_synced(struct nb_statedb *db, const char *path, struct nb_synced *s)
{
	sqlite3_stmt *st;
	int r = nb_statedb_prepare(db, "SELECT kind, size, mtime_ns, md5 FROM synced WHERE path = ?1",
				   &st);
	if (r != 0)
		return r;
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		memset(s, 0, sizeof(*s));
		s->kind = sqlite3_column_int(st, 0);
		s->size = (uint64_t)sqlite3_column_int64(st, 1);
		s->mtime_ns = sqlite3_column_int64(st, 2);
		if (sqlite3_column_bytes(st, 3) == NB_MD5_LEN) {
			memcpy(s->md5, sqlite3_column_blob(st, 3), NB_MD5_LEN);
			s->has_md5 = 1;
		}
		r = 0;
	} else if (rc == SQLITE_DONE) {
		r = -ENOENT;
	} else {
		r = nb_statedb_fail(db, "get synced");
	}
	sqlite3_finalize(st);
	return r;
}

int nb_statedb_flush(struct nb_statedb *db)
{
	/* A full checkpoint writes the WAL into the database and syncs it. */
	int rc = sqlite3_wal_checkpoint_v2(db->db, NULL, SQLITE_CHECKPOINT_FULL, NULL, NULL);
	return rc == SQLITE_OK || rc == SQLITE_BUSY ? 0 : nb_statedb_fail(db, "checkpoint");
}
