/*
 * Logging: one sink for the whole process, with levels. Quiet by default
 * (warnings and errors only); -o debug / -v raise the level.
 */
#ifndef NB_LOG_H
#define NB_LOG_H

#include <stdio.h>

enum nb_log_level { NB_LOG_ERROR, NB_LOG_WARN, NB_LOG_INFO, NB_LOG_DEBUG };

/* Set the highest level that is written. */
void nb_log_set_level(enum nb_log_level level);
enum nb_log_level nb_log_get_level(void);
/* Send log lines to fp (default stderr). The caller keeps ownership of fp. */
void nb_log_set_file(FILE *fp);
/* Prefix each line with this program name (static string expected). */
void nb_log_set_ident(const char *ident);

/* Also hand every line that is written to fn, as "function: message"
 * without the time and program name (syslog adds its own); NULL: none.
 * fn runs under the log's lock and must not log. */
typedef void (*nb_log_sink_fn)(enum nb_log_level level, const char *line);
void nb_log_set_sink(nb_log_sink_fn fn);

void nb_log_write(enum nb_log_level level, const char *func, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define nb_err(...)   nb_log_write(NB_LOG_ERROR, __func__, __VA_ARGS__)
#define nb_warn(...)  nb_log_write(NB_LOG_WARN, __func__, __VA_ARGS__)
#define nb_info(...)  nb_log_write(NB_LOG_INFO, __func__, __VA_ARGS__)
#define nb_debug(...) nb_log_write(NB_LOG_DEBUG, __func__, __VA_ARGS__)

#endif
