/*
 * Mounting: parse options, open the cache (staging area, state database,
 * lock), check the server once in the foreground so that a refused host
 * key or login is reported on the terminal, then go to the background,
 * start the sync thread and serve FUSE until unmounted.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "fs/cli.h"
#include "fs/cli_helper.h"
#include "fs/cli_hints.h"
#include "fs/cli_preflight.h"
#include "fs/cli_syslog.h"
#include "fs/events.h"
#include "fs/fs.h"
#include "fs/options.h"
#include "fs/pinner.h"
#include "fs/rcache.h"
#include "fs/stage.h"
#include "fs/ops.h"
#include "fs/perm.h"
#include "fs/view.h"
#include "sync/core.h"
#include "sync/transport.h"
#include "wire/err.h"
#include "wire/log.h"
#include "wire/xio.h"

/* Listings younger than this are used without asking the server. */
#define NB_RCACHE_TTL_MS 3000
/* The longest a first listing may keep an application waiting. */
#define NB_RCACHE_WAIT_MS 5000
/* The longest a writer waits for room in a full cache before ENOSPC. */
#define NB_CACHE_WAIT_MS 15000

struct nb_cmdline {
	struct nb_options o;
	int nonopts;
	char *first; /* first non-option: REMOTE, or MOUNTPOINT if alone */
	int fuse_debug;
	int single_thread;
	int multi_user; /* allow_other or allow_root: others may enter */
	char err[1024];
};

enum { NB_KEY_OPT, NB_KEY_FOREGROUND, NB_KEY_DEBUG, NB_KEY_SINGLE, NB_KEY_FLAG, NB_KEY_MULTI };

static const struct fuse_opt nb_fuse_opts[] = {
	FUSE_OPT_KEY("remote=", NB_KEY_OPT),
	FUSE_OPT_KEY("port=", NB_KEY_OPT),
	FUSE_OPT_KEY("identity=", NB_KEY_OPT),
	FUSE_OPT_KEY("known_hosts=", NB_KEY_OPT),
	FUSE_OPT_KEY("cache=", NB_KEY_OPT),
	FUSE_OPT_KEY("cache_max=", NB_KEY_OPT),
	FUSE_OPT_KEY("bwlimit=", NB_KEY_OPT),
	FUSE_OPT_KEY("timeout=", NB_KEY_OPT),
	FUSE_OPT_KEY("server=", NB_KEY_OPT),
	FUSE_OPT_KEY("server_args=", NB_KEY_OPT),
	FUSE_OPT_KEY("delay=", NB_KEY_OPT),
	FUSE_OPT_KEY("config=", NB_KEY_OPT),
	FUSE_OPT_KEY("ssh_config=", NB_KEY_OPT),
	FUSE_OPT_KEY("ssh=", NB_KEY_OPT),
	FUSE_OPT_KEY("compress=", NB_KEY_OPT),
	FUSE_OPT_KEY("nonempty=", NB_KEY_OPT),
	FUSE_OPT_KEY("debug", NB_KEY_FLAG),
	FUSE_OPT_KEY("accept_new_host", NB_KEY_FLAG),
	FUSE_OPT_KEY("compress", NB_KEY_FLAG),
	FUSE_OPT_KEY("nonempty", NB_KEY_FLAG),
	FUSE_OPT_KEY("-f", NB_KEY_FOREGROUND),
	FUSE_OPT_KEY("-d", NB_KEY_DEBUG),
	FUSE_OPT_KEY("-s", NB_KEY_SINGLE),
	FUSE_OPT_KEY("allow_other", NB_KEY_MULTI),
	FUSE_OPT_KEY("allow_root", NB_KEY_MULTI),
	FUSE_OPT_END,
};

static int nb_opt_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	(void)outargs;
	struct nb_cmdline *c = data;
	char err[512] = "";
	switch (key) {
	case NB_KEY_OPT: {
		const char *eq = strchr(arg, '=');
		char name[64];
		size_t n = (size_t)(eq - arg);
		if (n >= sizeof(name))
			n = sizeof(name) - 1;
		memcpy(name, arg, n);
		name[n] = 0;
		if (nb_options_set(&c->o, name, eq + 1, 1, err, sizeof(err)) != 0) {
			snprintf(c->err, sizeof(c->err), "-o %s: %s", arg, err);
			return -1;
		}
		return 0;
	}
	case NB_KEY_FLAG:
		if (nb_options_set(&c->o, arg, "yes", 1, err, sizeof(err)) != 0) {
			snprintf(c->err, sizeof(c->err), "-o %s: %s", arg, err);
			return -1;
		}
		return 0;
	case NB_KEY_FOREGROUND:
		c->o.foreground = 1;
		return 0;
	case NB_KEY_DEBUG:
		c->o.foreground = 1;
		c->fuse_debug = 1;
		return 0;
	case NB_KEY_SINGLE:
		c->single_thread = 1;
		return 0;
	case NB_KEY_MULTI:
		c->multi_user = 1;
		return 1; /* FUSE's option: kept */
	case FUSE_OPT_KEY_NONOPT:
		c->nonopts++;
		if (c->nonopts == 1) {
			c->first = strdup(arg);
		} else if (c->nonopts == 2) {
			c->o.remote = c->first;
			c->first = NULL;
			c->o.mountpoint = strdup(arg);
		} else {
			snprintf(c->err, sizeof(c->err), "unexpected argument '%s'", arg);
			return -1;
		}
		return 0;
	default:
		/* fstab's options for mount(8) and systemd are not FUSE's. */
		return key == FUSE_OPT_KEY_OPT && nb_cli_helper_ignored(arg) ? 0 : 1;
	}
}

/* Write our pid into the lock file (again after going to the
 * background, where the pid changes), for the user and the tests. */
static void nb_lock_note_pid(int fd)
{
	char pid[32];
	int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == 0)
		nb_xio_pwrite_full(fd, pid, (size_t)n, 0);
}

/* The mount is gone and this nbfs is finishing (recording the queue,
 * closing the connection): said in the lock file, so that an nbfs
 * started meanwhile on the same cache (`fusermount3 -u` then `nbfs`
 * again) waits for the lock instead of failing. */
static void nb_lock_note_stopping(int fd)
{
	char note[48];
	int n = snprintf(note, sizeof(note), "%ld stopping\n", (long)getpid());
	if (ftruncate(fd, 0) == 0)
		nb_xio_pwrite_full(fd, note, (size_t)n, 0);
}

/* Most we wait for an nbfs that is stopping to let go of the cache. */
#define NB_LOCK_WAIT_MS 30000

/* One nbfs per cache: a second one would upload the same files twice and
 * race on the state. Returns the lock fd or a negative error: -EBUSY
 * while another nbfs holds it, unless that one is stopping (then we wait
 * for it, up to NB_LOCK_WAIT_MS). */
static int nb_lock_cache(const char *cache)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/lock", cache);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	long long deadline = nb_xio_now_ms() + NB_LOCK_WAIT_MS;
	int said = 0;
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno == EWOULDBLOCK ? -EBUSY : -errno;
		char note[48] = "";
		ssize_t n = pread(fd, note, sizeof(note) - 1, 0);
		note[n > 0 ? n : 0] = 0;
		if (e != -EBUSY || !strstr(note, " stopping") || nb_xio_now_ms() >= deadline) {
			nb_xio_close(fd);
			return e;
		}
		if (!said++)
			fprintf(stderr, "nbfs: waiting for the nbfs that used %s to finish (pid %ld)\n",
				cache, strtol(note, NULL, 10));
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	nb_lock_note_pid(fd);
	return fd;
}

struct nb_mount {
	struct nb_cmdline c;
	struct nb_fs fs;
	int lock_fd;
	int fetch_fd;
	FILE *logfp;
	struct fuse *fuse;
};

static void nb_mount_free(struct nb_mount *m)
{
	nb_cache_free(m->fs.cache);
	nb_rcache_free(m->fs.rc);
	nb_core_close(m->fs.core);
	nb_events_free(m->fs.events);
	nb_xio_close(m->fs.stage_fd);
	nb_xio_close(m->fetch_fd);
	nb_xio_close(m->lock_fd);
	nb_options_free(&m->c.o);
	free(m->c.first);
	if (m->logfp)
		fclose(m->logfp);
}

/* Everything before FUSE: 0, or 1 after printing why not. */
static int nb_mount_prepare(struct nb_mount *m)
{
	struct nb_options *o = &m->c.o;
	char err[1024] = "", path[PATH_MAX];
	int r;
	o->use_ssh_config = 1;
	if ((r = nb_options_load_config(o, err, sizeof(err))) != 0 ||
	    (r = nb_options_finish(o, err, sizeof(err))) != 0 ||
	    (r = nb_cli_preflight_fuse(err, sizeof(err))) != 0 ||
	    (r = nb_cli_preflight_mountpoint(o->mountpoint, o->nonempty, err, sizeof(err))) != 0) {
		fprintf(stderr, "nbfs: %s\n", err);
		return 1;
	}
	if (o->debug)
		nb_log_set_level(NB_LOG_DEBUG);
	if ((r = nb_xio_mkdir_p(o->cache, 0700)) != 0) {
		fprintf(stderr, "nbfs: cache %s: %s\n", o->cache, nb_strerror(r));
		return 1;
	}
	if ((m->lock_fd = nb_lock_cache(o->cache)) < 0) {
		if (m->lock_fd == -EBUSY)
			fprintf(stderr, "nbfs: cache %s is in use by another nbfs (see %s/lock for its pid)\n",
				o->cache, o->cache);
		else
			fprintf(stderr, "nbfs: cache %s: %s\n", o->cache, nb_strerror(m->lock_fd));
		return 1;
	}
	if ((m->fs.stage_fd = nb_stage_open(o->cache)) < 0) {
		fprintf(stderr, "nbfs: staging area in %s: %s\n", o->cache, nb_strerror(m->fs.stage_fd));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/fetch", o->cache);
	if (nb_xio_mkdir_p(path, 0700) != 0 ||
	    (m->fetch_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "nbfs: download area %s: %s\n", path, strerror(errno));
		return 1;
	}
	char idpath[sizeof(path)];
	snprintf(idpath, sizeof(idpath), "%s/mount-id", o->cache);
	snprintf(path, sizeof(path), "%s/state.db", o->cache);
	struct nb_core_config cc = {
		.db_path = path,
		.mount_id_path = idpath,
		.stage_fd = m->fs.stage_fd,
		.fetch_fd = m->fetch_fd,
		.delay_ms = o->delay_ms,
		.bwlimit = o->bwlimit > 0 ? (uint64_t)o->bwlimit : 0,
		.local = o->local,
		.ssh = {
			.host = o->host,
			.port = o->port ? o->port : o->host_port,
			.user = o->user,
			.identity = o->identity,
			/* ssh reads its own UserKnownHostsFile (all of them). */
			.known_hosts = o->openssh > 0 && !o->known_hosts_given ? NULL : o->known_hosts,
			.known_hosts_note = o->known_hosts,
			.accept_new_host = o->accept_new_host,
			.timeout_ms = (int)o->timeout_ms,
			.compress = o->compress,
			.identities = (const char *const *)o->identities,
			.openssh = o->openssh > 0,
			.alias = o->alias,
			.ssh_config = o->ssh_config, /* "none" is ssh's -F none too */
			.ciphers = o->ciphers,
		},
		.remote_dir = o->dir,
		.server_cmd = o->server,
		.server_args = o->server_args,
		.on_event = nb_view_on_event,
		.on_event_arg = &m->fs,
	};
	/* Before the core: its sync thread reports through it. */
	if (!(m->fs.events = nb_events_new(NB_EVENTS_KEPT))) {
		fprintf(stderr, "nbfs: out of memory\n");
		return 1;
	}
	if (nb_core_open(&cc, &m->fs.core) != 0) {
		fprintf(stderr, "nbfs: cannot load the sync state (queue and records) from %s: see %s\n",
			path, o->foreground ? "the messages above" : "its nbfs.log");
		return 1;
	}
	if (nb_rcache_new(NULL, NB_RCACHE_TTL_MS, NB_RCACHE_WAIT_MS, &m->fs.rc) != 0)
		return 1;
	uint64_t cache_max = (uint64_t)o->cache_max;
	if (o->cache_max < 0) {
		/* Default: what the staging area holds now plus three quarters
		 * of the free space, so a mount never fills its disk. */
		struct statvfs sv;
		cache_max = fstatvfs(m->fs.stage_fd, &sv) == 0
				    ? (uint64_t)sv.f_bavail * sv.f_frsize / 4 * 3
				    : 0;
	}
	if (nb_cache_new(m->fs.stage_fd, m->fs.core, cache_max, NB_CACHE_WAIT_MS, &m->fs.cache) != 0)
		return 1;
	if (cache_max && nb_cache_used(m->fs.cache) > cache_max)
		fprintf(stderr, "nbfs: note: the cache holds %llu bytes, more than cache_max; synced "
				"copies will be evicted\n",
			(unsigned long long)nb_cache_used(m->fs.cache));
	m->fs.uid = getuid();
	m->fs.gid = getgid();

	if (!o->local && nb_transport_ssh_global_init() != 0) {
		fprintf(stderr, "nbfs: cannot initialise libssh2\n");
		return 1;
	}
	/* Check the server now, while we can still tell the user. */
	r = nb_core_probe(m->fs.core, err, sizeof(err));
	char hint[1024] = "";
	if (r != 0)
		nb_cli_hint_probe(r, o, hint, sizeof(hint));
	if (r != 0 && nb_cli_probe_fatal(r)) {
		size_t n = strlen(err);
		int stop = n && strchr(".?!", err[n - 1]);
		fprintf(stderr, "nbfs: %s%s%s\n", err, !hint[0] ? "" : stop ? " " : ". ", hint);
		return 1;
	}
	if (r != 0)
		fprintf(stderr,
			"nbfs: warning: the server is not reachable now (%s); mounting anyway: "
			"writes are kept locally and synced when it is back.%s%s\n",
			err, hint[0] ? " " : "", hint);
	size_t pending = nb_core_count(m->fs.core);
	if (pending)
		fprintf(stderr, "nbfs: %zu paths from an earlier mount are waiting to sync\n", pending);
	return 0;
}

int nb_cli_mount(int argc, char **argv)
{
	struct nb_mount m;
	memset(&m, 0, sizeof(m));
	pthread_mutex_init(&m.fs.handles_lock, NULL);
	m.fs.stage_fd = -1;
	m.lock_fd = -1;
	m.fetch_fd = -1;
	nb_options_init(&m.c.o);
	signal(SIGPIPE, SIG_IGN);

	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	int rc = 1;
	if (fuse_opt_parse(&args, &m.c, nb_fuse_opts, nb_opt_proc) != 0) {
		fprintf(stderr, "nbfs: %s\n", m.c.err[0] ? m.c.err : "bad arguments (see nbfs --help)");
		goto out;
	}
	if (m.c.nonopts == 1) {
		m.c.o.mountpoint = m.c.first;
		m.c.first = NULL;
	}
	if (nb_mount_prepare(&m) != 0)
		goto out;
	/* Permissions are checked by the kernel against the modes we show
	 * when other users may enter (allow_other, allow_root); on a mount
	 * only its user may enter, nbfs checks (fs/perm.h). */
	m.fs.perm_self = !m.c.multi_user;
	if (!m.fs.perm_self)
		fuse_opt_add_arg(&args, "-odefault_permissions");
	fuse_opt_add_arg(&args, "-ofsname=nbfs");
	fuse_opt_add_arg(&args, "-osubtype=nbfs");
	if (m.c.fuse_debug)
		fuse_opt_add_arg(&args, "-odebug");
	m.fuse = fuse_new(&args, &nb_fs_operations, sizeof(nb_fs_operations), &m.fs);
	if (!m.fuse)
		goto out;
	if (fuse_mount(m.fuse, m.c.o.mountpoint) != 0) {
		fprintf(stderr, "nbfs: cannot mount on %s\n", m.c.o.mountpoint);
		goto out_destroy;
	}
	if (!m.c.o.foreground) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/nbfs.log", m.c.o.cache);
		m.logfp = fopen(path, "ae");
		if (m.logfp)
			nb_log_set_file(m.logfp);
		nb_cli_syslog_start();
	}
	/* Said before the parent returns, so whoever reads the log after
	 * the mount command finds it there. */
	if (m.c.o.openssh > 0)
		nb_info("connecting through the OpenSSH client%s%s%s", m.c.o.ssh_proxy ? " (" : "",
			m.c.o.ssh_proxy ? m.c.o.ssh_proxy : "", m.c.o.ssh_proxy ? ")" : "");
	else if (!m.c.o.local)
		nb_info("connecting through libssh2 (ssh=libssh2, or no ssh client in PATH)");
	if (fuse_daemonize(m.c.o.foreground) != 0)
		goto out_unmount;
	nb_lock_note_pid(m.lock_fd);
	struct fuse_session *se = fuse_get_session(m.fuse);
	if (fuse_set_signal_handlers(se) != 0)
		goto out_unmount;
	if (nb_core_start(m.fs.core) != 0) {
		nb_err("cannot start the sync thread");
		goto out_signals;
	}
	if (nb_cache_start(m.fs.cache) != 0)
		nb_warn("no cache evictor: the cache will not shrink by itself");
	nb_rcache_set_core(m.fs.rc, m.fs.core);
	if (nb_pinner_start(&m.fs, &m.fs.pinner) != 0)
		nb_warn("no pinner: pinned files are fetched when opened only");
	nb_info("mounted %s on %s (cache %s)", m.c.o.remote, m.c.o.mountpoint, m.c.o.cache);
	if (m.c.single_thread) {
		rc = fuse_loop(m.fuse) == 0 ? 0 : 1;
	} else {
		struct fuse_loop_config lc = {.clone_fd = 0, .max_idle_threads = 10};
		rc = fuse_loop_mt(m.fuse, &lc) == 0 ? 0 : 1;
	}
	nb_lock_note_stopping(m.lock_fd);
	nb_ops_release_all(&m.fs);
	nb_info("unmounting; %zu paths still to sync", nb_core_count(m.fs.core));
	nb_pinner_stop(m.fs.pinner);
	m.fs.pinner = NULL;
	nb_rcache_set_core(m.fs.rc, NULL);
	nb_core_stop(m.fs.core);
out_signals:
	fuse_remove_signal_handlers(se);
out_unmount:
	fuse_unmount(m.fuse);
out_destroy:
	fuse_destroy(m.fuse);
out:
	fuse_opt_free_args(&args);
	nb_mount_free(&m);
	return rc;
}
