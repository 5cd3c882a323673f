/*
 * The staging area: <cache>/stage mirrors the part of the namespace held
 * locally. What the user writes lands here first (at local-disk speed);
 * the sync engine uploads from here. Nothing here is deleted before the
 * server has it.
 */
#ifndef NB_STAGE_H
#define NB_STAGE_H

/* Create <cache>/stage if needed and open it: a directory fd or -errno. */
int nb_stage_open(const char *cache);

#endif
