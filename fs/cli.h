/*
 * The nbfs subcommands besides mounting.
 */
#ifndef NB_CLI_H
#define NB_CLI_H

/* nbfs status [-w | --json | --follow [--json]] MOUNTPOINT */
int nb_cli_status(int argc, char **argv);
/* nbfs wait [--timeout SECONDS] PATH... */
int nb_cli_wait(int argc, char **argv);
/* nbfs sync|retry|pin|unpin PATH..., nbfs pause|resume MOUNTPOINT:
 * argv[0] is the subcommand. 0, 1 if one failed (said on stderr), 2 for
 * bad usage. */
int nb_cli_control(int argc, char **argv);
/* 1 if cmd is one of those subcommands. */
int nb_cli_is_control(const char *cmd);
/* nbfs REMOTE MOUNTPOINT (and the other mount forms) */
int nb_cli_mount(int argc, char **argv);

#endif
