/*
 * The staging area: <cache>/stage mirrors the part of the namespace held
 * locally. What the user writes lands here first (at local-disk speed);
 * the sync engine uploads from here. Nothing here is deleted before the
 * server has it.
 */
#ifndef NB_STAGE_H
#define NB_STAGE_H

#include <stdint.h>

/* Create <cache>/stage if needed and open it: a directory fd or -errno. */
int nb_stage_open(const char *cache);
/* May a file in the staging area (directory fd stage_fd) be size bytes
 * long? 0 if so (or if it cannot tell), else the error its filesystem
 * gives for that size: -EFBIG past its limit (ext4: 16 TiB), -EINVAL.
 * Asks with an anonymous file, so no staged file changes. */
int nb_stage_size_ok(int stage_fd, uint64_t size);

#endif
