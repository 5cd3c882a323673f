/*
 * Logging: one sink for the whole process, with levels. The contract is in
 * log.h.
 */
#include "wire/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <time.h>

static enum nb_log_level nb_log_level = NB_LOG_WARN;
static FILE *nb_log_fp;
static const char *nb_log_ident = "nbfs";
static nb_log_sink_fn nb_log_sink;
static pthread_mutex_t nb_log_lock = PTHREAD_MUTEX_INITIALIZER;

void nb_log_set_level(enum nb_log_level level) { nb_log_level = level; }
enum nb_log_level nb_log_get_level(void) { return nb_log_level; }
void nb_log_set_file(FILE *fp) { nb_log_fp = fp; }
void nb_log_set_ident(const char *ident) { nb_log_ident = ident; }
void nb_log_set_sink(nb_log_sink_fn fn) { nb_log_sink = fn; }

void nb_log_write(enum nb_log_level level, const char *func, const char *fmt, ...)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	if (level > nb_log_level)
		return;
	FILE *fp = nb_log_fp ? nb_log_fp : stderr;
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);

	va_list ap, sink_ap;
	va_start(ap, fmt);
	va_copy(sink_ap, ap);
	pthread_mutex_lock(&nb_log_lock);
	fprintf(fp, "%02d:%02d:%02d.%03ld %s %s: %s: ", tm.tm_hour, tm.tm_min, tm.tm_sec,
		ts.tv_nsec / 1000000, nb_log_ident, names[level], func);
	vfprintf(fp, fmt, ap);
	fputc('\n', fp);
	fflush(fp);
	if (nb_log_sink) {
		char line[2048];
		int n = snprintf(line, sizeof(line), "%s: ", func);
		if (n > 0 && (size_t)n < sizeof(line))
			vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, sink_ap);
		nb_log_sink(level, line);
	}
	pthread_mutex_unlock(&nb_log_lock);
	va_end(sink_ap);
	va_end(ap);
}
