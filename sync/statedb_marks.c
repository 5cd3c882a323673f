/*
 * The small path-keyed tables of the state database: partial downloads
 * (which content their bytes belong to), conflict marks, and pins.
 */
#include "sync/statedb_int.h"

#include <errno.h>
#include <string.h>

#include "wire/err.h"

int nb_statedb_fetch_set(struct nb_statedb *db, const char *path, const uint8_t md5[NB_MD5_LEN])
{
	sqlite3_stmt *st;
	int r = nb_statedb_prepare(db, "INSERT OR REPLACE INTO fetch(path, md5) VALUES(?1, ?2)", &st);
	if (r != 0)
		return r;
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, md5, NB_MD5_LEN, SQLITE_STATIC);
	return nb_statedb_step(db, st, "set fetch");
}

int nb_statedb_fetch_get(struct nb_statedb *db, const char *path, uint8_t md5[NB_MD5_LEN])
{
	sqlite3_stmt *st;
	int r = nb_statedb_prepare(db, "SELECT md5 FROM fetch WHERE path = ?1", &st);
	if (r != 0)
		return r;
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	r = -ENOENT;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == NB_MD5_LEN) {
		memcpy(md5, sqlite3_column_blob(st, 0), NB_MD5_LEN);
		r = 0;
	}
	nb_statedb_release(db, st);
	return r;
}

int nb_statedb_fetch_del(struct nb_statedb *db, const char *path)
{
	return nb_statedb_path_stmt(db, "DELETE FROM fetch WHERE path = ?1", path, "delete fetch");
}

int nb_statedb_conflict_set(struct nb_statedb *db, const char *path)
{
	return nb_statedb_path_stmt(db, "INSERT OR IGNORE INTO conflict(path) VALUES(?1)", path,
				    "set conflict");
}

int nb_statedb_conflict_has(struct nb_statedb *db, const char *path)
{
	sqlite3_stmt *st;
	if (nb_statedb_prepare(db, "SELECT 1 FROM conflict WHERE path = ?1", &st) != 0)
		return 0;
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	int has = sqlite3_step(st) == SQLITE_ROW;
	nb_statedb_release(db, st);
	return has;
}

int nb_statedb_conflict_count(struct nb_statedb *db)
{
	sqlite3_stmt *st;
	int n = 0;
	if (nb_statedb_prepare(db, "SELECT count(*) FROM conflict", &st) != 0)
		return NB_E_DB;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	nb_statedb_release(db, st);
	return n;
}

int nb_statedb_conflict_del(struct nb_statedb *db, const char *path)
{
	return nb_statedb_path_stmt(db, "DELETE FROM conflict WHERE " NB_WITHIN("path", "?1"), path,
				    "delete conflict");
}

int nb_statedb_pin_set(struct nb_statedb *db, const char *path)
{
	return nb_statedb_path_stmt(db, "INSERT OR IGNORE INTO pins(path) VALUES(?1)", path,
				    "set pin");
}

int nb_statedb_pin_del(struct nb_statedb *db, const char *path)
{
	return nb_statedb_path_stmt(db, "DELETE FROM pins WHERE " NB_WITHIN("path", "?1"), path,
				    "delete pin");
}

static int nb_statedb_pin_move_txn(struct nb_statedb *db, const struct nb_statedb_args *a)
{
	/* Pins at the destination go with what was there. */
	return nb_statedb_move_tree(db, "DELETE FROM pins WHERE " NB_WITHIN("path", "?1"),
				    "UPDATE pins SET path = ?2 || substr(path, length(?1) + 1)"
				    " WHERE " NB_WITHIN("path", "?1"),
				    a->path, a->path2, "move pins");
}

int nb_statedb_pin_move(struct nb_statedb *db, const char *from, const char *to)
{
	struct nb_statedb_args a = {.path = from, .path2 = to};
	return nb_statedb_txn(db, nb_statedb_pin_move_txn, &a);
}

int nb_statedb_each_pin(struct nb_statedb *db, int (*fn)(void *arg, const char *path), void *arg)
{
	sqlite3_stmt *st;
	int r = nb_statedb_prepare(db, "SELECT path FROM pins ORDER BY path", &st);
	if (r != 0)
		return r;
	int rc;
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
		r = fn(arg, (const char *)sqlite3_column_text(st, 0));
	if (r == 0 && rc != SQLITE_DONE)
		r = nb_statedb_fail(db, "list pins");
	nb_statedb_release(db, st);
	return r;
}
