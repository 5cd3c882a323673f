/*
 * The OpenSSH transport: the installed `ssh` client runs nbfs-server on
 * the remote host, and we talk to it over pipes. What it buys over
 * libssh2: everything the user's ssh does (ProxyJump, ProxyCommand,
 * certificates, security keys, ControlMaster, GSSAPI), and its ciphers:
 * libssh2 1.10 (Debian 12's) has neither AES-GCM nor ChaCha20 and calls
 * the cipher once per 16-byte block (1.2 s of CPU per GiB here).
 *
 * ssh runs with -v, its diagnostics on a pipe read by a thread of ours:
 * "debug1: Sending command:" tells us the session is up (the host key
 * is accepted and we are authenticated), and when ssh exits before
 * that, its last messages say why, which we classify the way the libssh2
 * transport does (host key and authentication failures are permanent).
 * Reading the pipe all the time also means ssh can never block on a
 * full stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sync/sshmsg.h"
#include "sync/transport.h"
#include "wire/err.h"
#include "wire/log.h"
#include "wire/xio.h"

#define NB_OSSH_TAIL 1024
#define NB_OSSH_PIPE (1024 * 1024)

struct nb_ossh {
	struct nb_transport t;
	int to, from; /* ssh's stdin and stdout */
	int errfd;    /* its stderr, read by errt */
	pid_t pid;
	long timeout_ms;
	pthread_t errt;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop;    /* close: the stderr thread gives up on what holds stderr */
	int started; /* "Sending command" seen: the remote command runs */
	int err_eof; /* stderr closed: ssh (and whatever it ran) exited */
	int reaped, status;
	char tail[NB_OSSH_TAIL]; /* ssh's last messages that are not debug output */
	char hostkey[256];       /* "ssh-ed25519 SHA256:...", from ssh's debug output */
	char offered[1024];      /* the keys ssh offered, ", "-separated */
};

/* --- the command line */

static int nb_ossh_add(struct nb_openssh_argv *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int nb_ossh_add(struct nb_openssh_argv *a, const char *fmt, ...)
{
	if (a->argc + 2 > NB_OPENSSH_MAXARGS)
		return -E2BIG;
	va_list ap;
	va_start(ap, fmt);
	size_t room = sizeof(a->arena) - a->used;
	int n = vsnprintf(a->arena + a->used, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room)
		return -E2BIG;
	a->argv[a->argc++] = a->arena + a->used;
	a->argv[a->argc] = NULL;
	a->used += (size_t)n + 1;
	return 0;
}

int nb_openssh_argv(const struct nb_ssh_opts *o, const char *program, const char *command,
		    struct nb_openssh_argv *a)
{
	memset(a, 0, sizeof(*a));
	long t = o->timeout_ms > 0 ? (o->timeout_ms + 999) / 1000 : 30;
	/* Keepalives every third of the timeout, three unanswered: a dead
	 * link ends ssh about one timeout after it went quiet. */
	long alive = t / 3 > 0 ? t / 3 : 1;
	int r = 0;
	r = r ? r : nb_ossh_add(a, "%s", program);
	/* -v for "Sending command" (see above); no terminal, no X11 or
	 * agent forwarding, no escape character: the pipe carries binary
	 * frames. BatchMode: nobody is there to answer a prompt. */
	r = r ? r : nb_ossh_add(a, "-v");
	r = r ? r : nb_ossh_add(a, "-T");
	r = r ? r : nb_ossh_add(a, "-x");
	r = r ? r : nb_ossh_add(a, "-a");
	r = r ? r : nb_ossh_add(a, "-e");
	r = r ? r : nb_ossh_add(a, "none");
	r = r ? r : nb_ossh_add(a, "-oBatchMode=yes");
	r = r ? r : nb_ossh_add(a, "-oClearAllForwardings=yes");
	r = r ? r : nb_ossh_add(a, "-oConnectTimeout=%ld", t);
	r = r ? r : nb_ossh_add(a, "-oServerAliveInterval=%ld", alive);
	r = r ? r : nb_ossh_add(a, "-oServerAliveCountMax=3");
	/* A connection of our own, always: a shared master would start the
	 * command without "Sending command" on our stderr, one that we
	 * started with ControlPersist would outlive us holding our pipes,
	 * and a RemoteCommand would clash with ours. */
	r = r ? r : nb_ossh_add(a, "-oControlMaster=no");
	r = r ? r : nb_ossh_add(a, "-oControlPath=none");
	r = r ? r : nb_ossh_add(a, "-oRemoteCommand=none");
	if (o->ssh_config) {
		r = r ? r : nb_ossh_add(a, "-F");
		r = r ? r : nb_ossh_add(a, "%s", o->ssh_config);
	}
	if (o->port > 0)
		r = r ? r : nb_ossh_add(a, "-p%d", o->port);
	if (o->user) {
		r = r ? r : nb_ossh_add(a, "-l");
		r = r ? r : nb_ossh_add(a, "%s", o->user);
	}
	if (o->identity) {
		r = r ? r : nb_ossh_add(a, "-i");
		r = r ? r : nb_ossh_add(a, "%s", o->identity);
		r = r ? r : nb_ossh_add(a, "-oIdentitiesOnly=yes");
	}
	if (o->known_hosts)
		r = r ? r : nb_ossh_add(a, "-oUserKnownHostsFile=%s", o->known_hosts);
	if (o->accept_new_host)
		r = r ? r : nb_ossh_add(a, "-oStrictHostKeyChecking=accept-new");
	if (o->compress)
		r = r ? r : nb_ossh_add(a, "-C");
	if (o->ciphers)
		r = r ? r : nb_ossh_add(a, "-oCiphers=%s", o->ciphers);
	r = r ? r : nb_ossh_add(a, "--");
	r = r ? r : nb_ossh_add(a, "%s", o->alias ? o->alias : o->host);
	if (r == 0 && a->argc + 2 > NB_OPENSSH_MAXARGS)
		r = -E2BIG;
	if (r == 0) {
		/* Not copied: it may be long, and the caller keeps it. */
		a->argv[a->argc++] = (char *)command;
		a->argv[a->argc] = NULL;
	}
	return r;
}

int nb_openssh_classify(const char *messages)
{
	if (strstr(messages, "Host key verification failed") ||
	    strstr(messages, "REMOTE HOST IDENTIFICATION HAS CHANGED") ||
	    strstr(messages, "No matching host key type found"))
		return NB_E_HOSTKEY;
	if (strstr(messages, "Permission denied") || strstr(messages, "Too many authentication failures"))
		return NB_E_AUTH;
	return NB_E_CONN;
}

/* --- ssh's stderr */

/* Keep line (not debug output) at the end of tail, dropping the oldest
 * whole lines when it is full. */
static void nb_ossh_keep(struct nb_ossh *s, const char *line)
{
	size_t n = strlen(line), have = strlen(s->tail);
	if (n + 2 > sizeof(s->tail))
		n = sizeof(s->tail) - 2;
	while (have && have + n + 2 > sizeof(s->tail)) {
		char *nl = strchr(s->tail, '\n');
		size_t cut = nl ? (size_t)(nl - s->tail) + 1 : have;
		memmove(s->tail, s->tail + cut, have - cut + 1);
		have -= cut;
	}
	memcpy(s->tail + have, line, n);
	s->tail[have + n] = '\n';
	s->tail[have + n + 1] = 0;
}

static void nb_ossh_line(struct nb_ossh *s, char *line)
{
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\r' || line[n - 1] == '\n'))
		line[--n] = 0;
	if (!n)
		return;
	if (!strncmp(line, "debug", 5)) {
		static const char key[] = "debug1: Server host key: ";
		if (!strncmp(line, key, sizeof(key) - 1)) {
			pthread_mutex_lock(&s->lock);
			snprintf(s->hostkey, sizeof(s->hostkey), "%s", line + sizeof(key) - 1);
			pthread_mutex_unlock(&s->lock);
		} else if (!strncmp(line, "debug1: Offering public key: ", 29)) {
			/* "PATH TYPE SHA256:... [explicit|agent]": the first word. */
			const char *k = line + 29;
			int klen = (int)strcspn(k, " ");
			pthread_mutex_lock(&s->lock);
			size_t have = strlen(s->offered);
			if (have + (size_t)klen + 3 < sizeof(s->offered))
				snprintf(s->offered + have, sizeof(s->offered) - have, "%s%.*s",
					 have ? ", " : "", klen, k);
			pthread_mutex_unlock(&s->lock);
		} else if (!strncmp(line, "debug1: Sending command:", 24)) {
			pthread_mutex_lock(&s->lock);
			s->started = 1;
			pthread_cond_broadcast(&s->cond);
			pthread_mutex_unlock(&s->lock);
		}
		return;
	}
	/* ssh's chatter at -v that is not prefixed, and its summary. */
	if (!strncmp(line, "OpenSSH_", 8) || !strncmp(line, "Authenticated to ", 17) ||
	    !strncmp(line, "Transferred: ", 13) || !strncmp(line, "Bytes per second: ", 18) ||
	    !strncmp(line, "Killed by signal ", 17)) {
		nb_debug("ssh: %s", line);
		return;
	}
	/* Anything else is for the user: ssh's warnings and errors, and the
	 * remote side's stderr (nbfs-server's own messages, "not found"). */
	nb_info("ssh: %s", line);
	pthread_mutex_lock(&s->lock);
	nb_ossh_keep(s, line);
	pthread_mutex_unlock(&s->lock);
}

static void *nb_ossh_errmain(void *arg)
{
	struct nb_ossh *s = arg;
	char buf[4096];
	size_t have = 0;
	for (;;) {
		/* Whatever still holds stderr after close (something ssh
		 * started in a session of its own) does not hold us. */
		if (nb_xio_wait(s->errfd, POLLIN, 200) == 0) {
			pthread_mutex_lock(&s->lock);
			int stop = s->stop;
			pthread_mutex_unlock(&s->lock);
			if (stop)
				break;
			continue;
		}
		ssize_t k = read(s->errfd, buf + have, sizeof(buf) - 1 - have);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		have += (size_t)k;
		buf[have] = 0;
		char *start = buf, *nl;
		while ((nl = strchr(start, '\n'))) {
			*nl = 0;
			nb_ossh_line(s, start);
			start = nl + 1;
		}
		have -= (size_t)(start - buf);
		memmove(buf, start, have);
		if (have == sizeof(buf) - 1) { /* a line longer than buf: take it as it is */
			buf[have] = 0;
			nb_ossh_line(s, buf);
			have = 0;
		}
	}
	if (have) {
		buf[have] = 0;
		nb_ossh_line(s, buf);
	}
	pthread_mutex_lock(&s->lock);
	s->err_eof = 1;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* --- the stream */

/* Reap ssh if it has exited (wait_ms > 0: give it that long). 1 if it
 * has, with its wait status in s->status. */
static int nb_ossh_reap(struct nb_ossh *s, long wait_ms)
{
	long long deadline = nb_xio_now_ms() + wait_ms;
	while (!s->reaped) {
		pid_t p = waitpid(s->pid, &s->status, WNOHANG);
		if (p == s->pid || (p < 0 && errno == ECHILD)) {
			s->reaped = 1;
			break;
		}
		if (nb_xio_now_ms() >= deadline)
			break;
		nb_xio_sleep_ms(10);
	}
	return s->reaped;
}

static ssize_t nb_ossh_read(void *ctx, void *buf, size_t n)
{
	struct nb_ossh *s = ctx;
	int w = nb_xio_wait(s->from, POLLIN, s->timeout_ms);
	if (w == 0)
		return NB_E_TIMEOUT;
	if (w < 0)
		return w;
	for (;;) {
		ssize_t k = read(s->from, buf, n);
		if (k > 0) {
			s->t.bytes_in += (uint64_t)k;
			return k;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		/* End of stream: ssh is exiting. Exit 127 is the remote shell's
		 * "command not found", as in the libssh2 transport. */
		if (nb_ossh_reap(s, 2000) && WIFEXITED(s->status) && WEXITSTATUS(s->status) == 127)
			nb_err("the server command was not found on the remote host (exit 127): "
			       "install nbfs-server there or give its path with -o server=PATH");
		return 0;
	}
}

static int nb_ossh_write(void *ctx, const void *buf, size_t n)
{
	struct nb_ossh *s = ctx;
	int r = nb_xio_write_full_wait(s->to, buf, n, s->timeout_ms);
	if (r == 0) {
		s->t.bytes_out += n;
		return 0;
	}
	if (r == -ETIMEDOUT)
		return NB_E_TIMEOUT;
	return r == -EPIPE ? NB_E_EOF : r;
}

static int nb_ossh_readable(struct nb_transport *t)
{
	struct nb_ossh *s = (struct nb_ossh *)t;
	return nb_xio_wait(s->from, POLLIN, 0) != 0;
}

/* ssh sends its own keepalives (ServerAliveInterval) and exits when the
 * link is dead: notice that it did. */
static int nb_ossh_keepalive(struct nb_transport *t)
{
	struct nb_ossh *s = (struct nb_ossh *)t;
	struct pollfd p = {.fd = s->from, .events = 0};
	if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR)))
		return NB_E_EOF;
	return nb_ossh_reap(s, 0) ? NB_E_EOF : 0;
}

static void nb_ossh_free(struct nb_ossh *s)
{
	nb_xio_close(s->to);
	nb_xio_close(s->from);
	s->to = s->from = -1;
	/* End of input ends the remote server, then ssh. A peer that is
	 * gone or stalled does not get to hold us: ssh and anything it
	 * started (a ProxyCommand) share its process group. */
	if (!nb_ossh_reap(s, 1000)) {
		kill(-s->pid, SIGTERM);
		if (!nb_ossh_reap(s, 1000)) {
			kill(-s->pid, SIGKILL);
			waitpid(s->pid, &s->status, 0);
			s->reaped = 1;
		}
	}
	/* A ProxyCommand that outlives ssh keeps stderr open. */
	pthread_mutex_lock(&s->lock);
	int lingering = !s->err_eof;
	pthread_mutex_unlock(&s->lock);
	if (lingering)
		kill(-s->pid, SIGKILL);
	pthread_mutex_lock(&s->lock);
	s->stop = 1;
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->errt, NULL);
	nb_xio_close(s->errfd);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
}

static void nb_ossh_close(struct nb_transport *t)
{
	nb_ossh_free((struct nb_ossh *)t);
}

/* "ED25519" for "ssh-ed25519", as the libssh2 transport names keys. */
static const char *nb_ossh_key_name(const char *type)
{
	if (strstr(type, "ed25519"))
		return "ED25519";
	if (strstr(type, "ecdsa"))
		return "ECDSA";
	if (strstr(type, "rsa"))
		return "RSA";
	if (strstr(type, "dss"))
		return "DSA";
	return "unknown";
}

/* why for a failure r (nb_openssh_classify's) with ssh's last words in
 * tail: in batch mode ssh says only that it failed, so the host key and
 * authentication refusals get the libssh2 transport's words (what
 * happened, what to do), built from what ssh's debug output showed. */
static void nb_ossh_explain(const struct nb_ssh_opts *o, int r, const char *tail,
			    const char *hostkey, const char *offered, char *why, size_t whysz)
{
	const char *host = o->host ? o->host : o->alias;
	int port = o->port > 0 ? o->port : 22;
	if (r == NB_E_HOSTKEY) {
		char hostport[300], kh[4096], type[64] = "unknown", fp[128] = "(not shown)";
		nb_sshmsg_hostport(hostport, sizeof(hostport), host, port);
		if (o->known_hosts || o->known_hosts_note)
			snprintf(kh, sizeof(kh), "%s", o->known_hosts ? o->known_hosts : o->known_hosts_note);
		else
			snprintf(kh, sizeof(kh), "%s/.ssh/known_hosts", getenv("HOME") ? getenv("HOME") : "~");
		sscanf(hostkey, "%63s %127s", type, fp);
		if (strstr(tail, "HAS CHANGED"))
			nb_sshmsg_changed_host(why, whysz, hostport, kh, nb_ossh_key_name(type), fp);
		else
			nb_sshmsg_unknown_host(why, whysz, hostport, kh, nb_ossh_key_name(type), fp);
	} else if (r == NB_E_AUTH) {
		struct passwd pw, *pwp = NULL;
		char pwbuf[4096], tried[2048];
		getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &pwp);
		const char *user = o->user ? o->user : (pwp ? pwp->pw_name : "root");
		snprintf(tried, sizeof(tried), "%s%s", offered[0] ? offered : "no key: ssh found none to offer",
			 offered[0] && !o->identity ? ", with what the ssh-agent holds" : "");
		nb_sshmsg_auth(why, whysz, user, host, port, tried);
	} else {
		snprintf(why, whysz, "ssh: %s", tail);
	}
}

/* Wait for ssh to start the remote command, or to give up. 0, or the
 * error with why filled in. */
static int nb_ossh_await(struct nb_ossh *s, const struct nb_ssh_opts *o, char *why, size_t whysz)
{
	/* The connect timeout, then the key exchange and authentication,
	 * each step of which ssh bounds by nothing but the link. */
	long limit = 2 * s->timeout_ms + 5000;
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += limit / 1000;
	until.tv_nsec += (limit % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	int r = 0;
	pthread_mutex_lock(&s->lock);
	while (!s->started && !s->err_eof && r == 0)
		r = pthread_cond_timedwait(&s->cond, &s->lock, &until);
	int started = s->started;
	char tail[NB_OSSH_TAIL], hostkey[sizeof(s->hostkey)], offered[sizeof(s->offered)];
	snprintf(tail, sizeof(tail), "%s", s->tail);
	snprintf(hostkey, sizeof(hostkey), "%s", s->hostkey);
	snprintf(offered, sizeof(offered), "%s", s->offered);
	pthread_mutex_unlock(&s->lock);
	if (started)
		return 0;
	if (r != 0) {
		snprintf(why, whysz, "ssh to %s did not get through in %ld s",
			 o->alias ? o->alias : o->host, limit / 1000);
		return NB_E_TIMEOUT;
	}
	size_t n = strlen(tail);
	while (n && tail[n - 1] == '\n')
		tail[--n] = 0;
	for (char *p = tail; *p; p++)
		if (*p == '\n')
			*p = ';';
	nb_ossh_reap(s, 1000);
	if (!n)
		snprintf(tail, sizeof(tail), "ssh exited (status %d) without a message",
			 WIFEXITED(s->status) ? WEXITSTATUS(s->status) : -1);
	r = nb_openssh_classify(tail);
	nb_ossh_explain(o, r, tail, hostkey, offered, why, whysz);
	return r;
}

int nb_openssh_find(const char *program, char *out, size_t outsz)
{
	if (strchr(program, '/')) {
		snprintf(out, outsz, "%s", program);
		return access(out, X_OK) == 0 ? 0 : -ENOENT;
	}
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		if (n && (size_t)snprintf(out, outsz, "%.*s/%s", (int)n, path, program) < outsz &&
		    access(out, X_OK) == 0)
			return 0;
		path += n + (path[n] == ':');
	}
	return -ENOENT;
}

int nb_transport_openssh_open(const struct nb_ssh_opts *o, const char *command,
			      struct nb_transport **out, char *why, size_t whysz)
{
	const char *program = o->ssh_program ? o->ssh_program : "ssh";
	char path[PATH_MAX];
	why[0] = 0;
	/* Looked up before the fork: execv in the child allocates nothing. */
	if (nb_openssh_find(program, path, sizeof(path)) != 0) {
		snprintf(why, whysz,
			 "no OpenSSH client '%s' to run (install openssh-client, or drop -o ssh=openssh)",
			 program);
		return NB_E_CONFIG;
	}
	struct nb_openssh_argv *a = malloc(sizeof(*a));
	if (!a)
		return -ENOMEM;
	int r = nb_openssh_argv(o, path, command, a);
	if (r != 0) {
		free(a);
		snprintf(why, whysz, "the ssh command line is too long");
		return NB_E_CONFIG;
	}
	int in[2] = {-1, -1}, outp[2] = {-1, -1}, errp[2] = {-1, -1};
	struct nb_ossh *s = NULL;
	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(outp, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0) {
		r = -errno;
		goto fail;
	}
	/* Bigger pipes: fewer wake-ups of ssh and of us for a large file
	 * (the default 64 KiB made each side wake the other 16 times per
	 * MiB). Best effort: fs.pipe-max-size may forbid it. */
	fcntl(in[1], F_SETPIPE_SZ, NB_OSSH_PIPE);
	fcntl(outp[0], F_SETPIPE_SZ, NB_OSSH_PIPE);
	if (!(s = calloc(1, sizeof(*s)))) {
		r = -ENOMEM;
		goto fail;
	}
	s->to = s->from = s->errfd = -1;
	s->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 30000;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	pid_t pid = fork();
	if (pid < 0) {
		r = -errno;
		pthread_mutex_destroy(&s->lock);
		pthread_cond_destroy(&s->cond);
		free(s);
		s = NULL;
		goto fail;
	}
	if (pid == 0) {
		/* Its own process group, as the local transport's child: a
		 * terminal's ^C reaches nbfs, which shuts down in order. */
		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL); /* not our threads' mask */
		if (dup2(in[0], 0) < 0 || dup2(outp[1], 1) < 0 || dup2(errp[1], 2) < 0)
			_exit(127);
		execv(path, a->argv);
		_exit(127);
	}
	free(a);
	a = NULL;
	nb_xio_close(in[0]);
	nb_xio_close(outp[1]);
	nb_xio_close(errp[1]);
	s->pid = pid;
	s->to = in[1];
	s->from = outp[0];
	s->errfd = errp[0];
	fcntl(s->to, F_SETFL, fcntl(s->to, F_GETFL) | O_NONBLOCK);
	if ((r = pthread_create(&s->errt, NULL, nb_ossh_errmain, s)) != 0) {
		/* Without the thread nothing reads stderr: stop ssh now. */
		kill(-pid, SIGKILL);
		waitpid(pid, NULL, 0);
		nb_xio_close(s->to);
		nb_xio_close(s->from);
		nb_xio_close(s->errfd);
		pthread_mutex_destroy(&s->lock);
		pthread_cond_destroy(&s->cond);
		free(s);
		return -r;
	}
	s->t.stream = (struct nb_stream){nb_ossh_read, nb_ossh_write, s};
	s->t.readable = nb_ossh_readable;
	s->t.keepalive = nb_ossh_keepalive;
	s->t.close = nb_ossh_close;
	nb_debug("running %s", path);
	if ((r = nb_ossh_await(s, o, why, whysz)) != 0) {
		nb_ossh_free(s);
		return r;
	}
	nb_debug("ssh to %s: running '%s'", o->alias ? o->alias : o->host, command);
	*out = &s->t;
	return 0;
fail:
	free(a);
	for (int i = 0; i < 2; i++) {
		nb_xio_close(in[i]);
		nb_xio_close(outp[i]);
		nb_xio_close(errp[i]);
	}
	return r;
}
