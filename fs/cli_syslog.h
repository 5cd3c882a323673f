/*
 * A mount in the background also logs to syslog (the journal under
 * systemd), as daemons do, besides <cache>/nbfs.log.
 */
#ifndef NB_CLI_SYSLOG_H
#define NB_CLI_SYSLOG_H

/* Send every log line from now on to syslog too, as "nbfs[PID]" with
 * facility daemon. */
void nb_cli_syslog_start(void);

#endif
