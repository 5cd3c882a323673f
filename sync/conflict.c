/*
 * Conflicts: the server's version of a file changed while a local edit of
 * it waited to be uploaded. The contract is in conflict.h.
 */
#include "sync/conflict.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "wire/log.h"
#include "wire/longpath.h"
#include "wire/pathname.h"

int nb_conflict_name(const char *path, time_t now, const char *host, char *out, size_t outsz)
{
	char stamp[32], h[64];
	struct tm tm;
	snprintf(h, sizeof(h), "%s", host && host[0] ? host : "local");
	h[strcspn(h, "./")] = 0;
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	size_t plen = nb_path_parent_len(path);
	const char *base = plen ? path + plen + 1 : path;
	const char *dot = strrchr(base, '.');
	if (!dot || dot == base) /* no extension, or a dot file */
		dot = base + strlen(base);
	int n = snprintf(out, outsz, "%.*s.conflict-%s-%s%s", (int)(dot - path), path, stamp, h, dot);
	if (n < 0 || (size_t)n >= outsz)
		return -ENAMETOOLONG;
	return nb_path_check(out);
}

/* The staged file moves to its conflict name, never over another file. */
static int nb_conflict_move_staged(void *arg, const char *from, const char *to)
{
	int stage_fd = *(int *)arg;
	return nb_longpath_renameat2(stage_fd, from, stage_fd, to, RENAME_NOREPLACE) == 0 ? 0
											  : -errno;
}

int nb_conflict_keep_both(struct nb_queue *q, int stage_fd, const struct nb_job *job, char *copy,
			  size_t copysz)
{
	char host[64] = "";
	if (gethostname(host, sizeof(host) - 1) != 0)
		host[0] = 0;
	int r = nb_conflict_name(job->path, time(NULL), host, copy, copysz);
	if (r == 0)
		r = nb_queue_conflict_move(q, job, copy, nb_conflict_move_staged, &stage_fd);
	if (r == 0)
		nb_warn("%s: changed on the server too; your version is kept as %s", job->path, copy);
	return r;
}
