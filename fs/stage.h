/*
 * The staging area: <cache>/stage mirrors the part of the namespace held
 * locally. What the user writes lands here first (at local-disk speed);
 * the sync engine uploads from here. Nothing here is deleted before the
 * server has it.
 */
#ifndef NB_STAGE_H
#define NB_STAGE_H

#include "sync/statedb.h"
#include "sync/status.h"

/* Create <cache>/stage if needed and open it: a directory fd or -errno. */
int nb_stage_open(const char *cache);
/* FUSE path -> path relative to the stage fd ("/" -> "."). */
const char *nb_stage_rel(const char *fuse_path);
/* Compare the staged tree with what the database says the server holds
 * and mark every difference dirty: files never uploaded, or changed since
 * (size or mtime differ), and directories never created remotely. This
 * makes the staged bytes, not the database, the ground truth after a
 * crash. Returns the number of paths marked, or a negative error. */
long nb_stage_scan(int stage_fd, struct nb_statedb *db, struct nb_status *st);

#endif
