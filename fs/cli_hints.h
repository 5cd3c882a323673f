/*
 * What to do next, for the errors a first mount runs into: the sync
 * engine says what failed, this adds how to fix it.
 */
#ifndef NB_CLI_HINTS_H
#define NB_CLI_HINTS_H

#include <stddef.h>

#include "fs/options.h"

/* Advice for r, an error from checking the server before mounting, as a
 * sentence that starts with a capital letter, into out (size outsz);
 * out is "" when there is nothing to add to the engine's own words. */
void nb_cli_hint_probe(int r, const struct nb_options *o, char *out, size_t outsz);

/* 1 if a mount should be refused for r: the permanent errors, and a
 * server command that ended without answering on a connection that was
 * just made (not installed, wrong -o server=, or it crashes at once):
 * mounting would only queue writes that can never be synced. 0 for
 * errors of the network, after which nbfs mounts and syncs later. */
int nb_cli_probe_fatal(int r);

#endif
