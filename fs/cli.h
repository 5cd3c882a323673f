/*
 * The nbfs subcommands besides mounting.
 */
#ifndef NB_CLI_H
#define NB_CLI_H

/* nbfs status [-w | --json | --follow [--json]] MOUNTPOINT */
int nb_cli_status(int argc, char **argv);
/* nbfs wait [--timeout SECONDS] PATH... */
int nb_cli_wait(int argc, char **argv);
/* nbfs REMOTE MOUNTPOINT (and the other mount forms) */
int nb_cli_mount(int argc, char **argv);

#endif
