/*
 * A mount in the background also logs to syslog (the journal under
 * systemd), as daemons do, besides <cache>/nbfs.log. The contract is in
 * cli_syslog.h.
 */
#include "fs/cli_syslog.h"

#include <syslog.h>

#include "wire/log.h"

static void nb_cli_syslog_line(enum nb_log_level level, const char *line)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	syslog(prio[level], "%s", line);
}

void nb_cli_syslog_start(void)
{
	openlog("nbfs", LOG_PID, LOG_DAEMON);
	nb_log_set_sink(nb_cli_syslog_line);
}
