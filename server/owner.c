/*
 * Who holds a partial file (pid, start time, mount id), and the takeover
 * of a partial from an older session of the same mount. The contract is in
 * owner.h.
 */
#include "server/owner.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wire/err.h"
#include "wire/log.h"
#include "wire/xio.h"

#define NB_OWNER_MAGIC "nbfs-owner-1"
#define NB_OWNER_NAME_MAX 96
#define NB_OWNER_TEXT_MAX 160

static int nb_owner_name(char out[NB_OWNER_NAME_MAX], const char *name, const char *prefix)
{
	int n = snprintf(out, NB_OWNER_NAME_MAX, "%s%s", prefix, name);
	return n > 0 && n < NB_OWNER_NAME_MAX ? 0 : -ENAMETOOLONG;
}

/* A small file of /proc (whose size stat reports as 0) into buf, NUL
 * terminated: 0 or -errno. */
static int nb_owner_proc_file(pid_t pid, const char *what, char *buf, size_t bufsz)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, what);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = nb_xio_read_full(fd, buf, bufsz - 1);
	nb_xio_close(fd);
	if (n < 0)
		return (int)n;
	buf[n] = 0;
	return 0;
}

/* The start time of process pid (field 22 of /proc/pid/stat), and its
 * command name (/proc/pid/comm) into comm. 0 or -errno. */
static int nb_owner_proc(pid_t pid, unsigned long long *start, char *comm, size_t commsz)
{
	char text[1024];
	int r;
	if ((r = nb_owner_proc_file(pid, "stat", text, sizeof(text))) != 0)
		return r;
	/* The command name in parentheses may hold spaces and ')': the
	 * fields go on after the last ')'. Field 3 comes first there. */
	char *p = strrchr(text, ')');
	int field = 3;
	r = -EINVAL;
	for (p = p ? p + 1 : NULL; p && *p; field++) {
		while (*p == ' ')
			p++;
		if (field == 22) {
			r = sscanf(p, "%llu", start) == 1 ? 0 : -EINVAL;
			break;
		}
		p = strchr(p, ' ');
	}
	if (r != 0)
		return r;
	if ((r = nb_owner_proc_file(pid, "comm", comm, commsz)) != 0)
		return r;
	comm[strcspn(comm, "\n")] = 0;
	return 0;
}

int nb_owner_write(int dirfd, const char *name, const uint8_t *mount)
{
	char tmp[NB_OWNER_NAME_MAX], rec[NB_OWNER_NAME_MAX], text[NB_OWNER_TEXT_MAX];
	char hex[2 * NB_MOUNT_ID_LEN + 1] = "-", comm[64];
	unsigned long long start = 0;
	int r;
	if ((r = nb_owner_name(tmp, name, ".ownertmp-")) != 0 ||
	    (r = nb_owner_name(rec, name, NB_OWNER_PREFIX)) != 0)
		return r;
	if ((r = nb_owner_proc(getpid(), &start, comm, sizeof(comm))) != 0)
		return r;
	for (int i = 0; mount && i < NB_MOUNT_ID_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", mount[i]);
	int n = snprintf(text, sizeof(text), NB_OWNER_MAGIC " %ld %llu %s\n", (long)getpid(), start,
			 hex);
	/* Only the lock holder writes: the temporary name is ours. */
	int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	r = nb_xio_write_full(fd, text, (size_t)n);
	nb_xio_close(fd);
	if (r == 0 && renameat(dirfd, tmp, dirfd, rec) != 0)
		r = -errno;
	if (r != 0) {
		unlinkat(dirfd, tmp, 0);
		nb_debug("%s: no owner record: %s", name, nb_strerror(r));
	}
	return r;
}

void nb_owner_clear(int dirfd, const char *name)
{
	char rec[NB_OWNER_NAME_MAX];
	if (nb_owner_name(rec, name, NB_OWNER_PREFIX) == 0)
		unlinkat(dirfd, rec, 0);
}

int nb_owner_read(int dirfd, const char *name, struct nb_owner *o)
{
	char rec[NB_OWNER_NAME_MAX], text[NB_OWNER_TEXT_MAX], hex[2 * NB_MOUNT_ID_LEN + 2];
	long pid;
	int r;
	memset(o, 0, sizeof(*o));
	if ((r = nb_owner_name(rec, name, NB_OWNER_PREFIX)) != 0)
		return r;
	int fd = openat(dirfd, rec, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	ssize_t n = fstat(fd, &st) == 0 ? nb_xio_read_full(fd, text, sizeof(text) - 1) : -errno;
	nb_xio_close(fd);
	if (n < 0)
		return (int)n;
	text[n] = 0;
	if (sscanf(text, NB_OWNER_MAGIC " %ld %llu %33s", &pid, &o->start, hex) != 3 || pid <= 0 ||
	    (pid_t)pid != pid)
		return NB_E_PROTO;
	o->pid = (pid_t)pid;
	o->since = st.st_mtim.tv_sec;
	if (strcmp(hex, "-") == 0)
		return 0;
	if (strlen(hex) != 2 * NB_MOUNT_ID_LEN)
		return NB_E_PROTO;
	for (int i = 0; i < NB_MOUNT_ID_LEN; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return NB_E_PROTO;
		o->mount[i] = (uint8_t)v;
	}
	o->has_mount = 1;
	return 0;
}

int nb_owner_alive(const struct nb_owner *o)
{
	char comm[64], mine[64];
	unsigned long long start, mystart;
	if (o->pid <= 0 || nb_owner_proc(o->pid, &start, comm, sizeof(comm)) != 0 ||
	    nb_owner_proc(getpid(), &mystart, mine, sizeof(mine)) != 0)
		return 0;
	return start == o->start && strcmp(comm, mine) == 0;
}

/* Poll for the lock on fd for up to ms: 0 once held, NB_E_BUSY. */
static int nb_owner_wait_lock(int fd, long ms)
{
	long long deadline = nb_xio_now_ms() + ms;
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
		if (nb_xio_now_ms() >= deadline)
			return NB_E_BUSY;
		nb_xio_sleep_ms(20);
	}
}

int nb_owner_take_over(int fd, int dirfd, const char *name, const uint8_t mount[NB_MOUNT_ID_LEN],
		       struct nb_owner *held)
{
	struct nb_owner o;
	int r = nb_owner_read(dirfd, name, &o);
	*held = r == 0 ? o : (struct nb_owner){0};
	/* Another mount's upload, this very process's, a record that is
	 * missing (the holder has just taken the lock) or stale (its
	 * process is gone or is some other program now): not ours to end. */
	if (r != 0 || !o.has_mount || memcmp(o.mount, mount, NB_MOUNT_ID_LEN) != 0 ||
	    o.pid == getpid() || !nb_owner_alive(&o))
		return NB_E_BUSY;
	nb_info("%s: held by pid %ld, an older session of the same mount: taking over", name,
		(long)o.pid);
	if (kill(o.pid, SIGTERM) != 0)
		return NB_E_BUSY;
	if ((r = nb_owner_wait_lock(fd, NB_OWNER_WAIT_MS)) != NB_E_BUSY)
		return r;
	/* Still there (stopped, or stuck in the kernel): insist, if it is
	 * still the same process. */
	if (!nb_owner_alive(&o) || kill(o.pid, SIGKILL) == 0)
		r = nb_owner_wait_lock(fd, NB_OWNER_WAIT_MS);
	if (r != 0)
		nb_warn("%s: pid %ld did not let go of it", name, (long)o.pid);
	return r;
}
