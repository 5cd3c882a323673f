/*
 * The staged tree against the records, at mount time: every staged path
 * the server is not known to hold as staged (a file never uploaded or
 * changed since, a directory or symlink never created remotely) is
 * queued. This makes the staged bytes, not the database, the ground
 * truth after a crash: a queue entry lost with an unflushed transaction,
 * or not written yet (a new file's, see sync/queue.h), costs at most a
 * re-upload, never data. Only a queued creation at a path, or a record
 * of what the server holds there (through the queued renames), counts
 * as the path being on its way; a record the queue is about to take
 * away (a queued removal or rename of the name) does not.
 */
#ifndef NB_SCAN_H
#define NB_SCAN_H

#include "sync/queue.h"

/* Returns the number of paths queued, or a negative error. Also removes
 * libfuse's .fuse_hidden files left from files removed while open. */
long nb_scan_staged(int stage_fd, struct nb_queue *q);

#endif
