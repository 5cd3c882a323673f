/*
 * The local transport: nbfs-server run as a child process over two pipes,
 * for tests and local targets.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sync/transport.h"
#include "wire/xio.h"

struct nb_local {
	struct nb_transport t;
	int to_child;
	int from_child;
	pid_t pid;
};

static ssize_t nb_local_read(void *ctx, void *buf, size_t n)
{
	struct nb_local *l = ctx;
	for (;;) {
		ssize_t k = read(l->from_child, buf, n);
		if (k >= 0) {
			l->t.bytes_in += (uint64_t)k;
			return k;
		}
		if (errno != EINTR)
			return -errno;
	}
}

static int nb_local_write(void *ctx, const void *buf, size_t n)
{
	struct nb_local *l = ctx;
	int r = nb_xio_write_full(l->to_child, buf, n);
	if (r == 0)
		l->t.bytes_out += n;
	return r;
}

static int nb_local_readable(struct nb_transport *t)
{
	struct nb_local *l = (struct nb_local *)t;
	struct pollfd p = {.fd = l->from_child, .events = POLLIN};
	return poll(&p, 1, 0) > 0;
}

static void nb_local_close(struct nb_transport *t)
{
	struct nb_local *l = (struct nb_local *)t;
	nb_xio_close(l->to_child);
	nb_xio_close(l->from_child);
	/* The server exits at end of input; give it a moment, then insist. */
	for (int i = 0; i < 50; i++) {
		if (waitpid(l->pid, NULL, WNOHANG) == l->pid)
			goto done;
		nb_xio_sleep_ms(20);
	}
	kill(l->pid, SIGKILL);
	waitpid(l->pid, NULL, 0);
done:
	free(l);
}

int nb_transport_local_open(const char *command, struct nb_transport **out)
{
	int in[2] = {-1, -1}, outp[2] = {-1, -1};
	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(outp, O_CLOEXEC) != 0) {
		int e = -errno;
		nb_xio_close(in[0]);
		nb_xio_close(in[1]);
		return e;
	}
	pid_t pid = fork();
	if (pid < 0) {
		int e = -errno;
		nb_xio_close(in[0]);
		nb_xio_close(in[1]);
		nb_xio_close(outp[0]);
		nb_xio_close(outp[1]);
		return e;
	}
	if (pid == 0) {
		/* Child: stdin from in[0], stdout to outp[1]. Its own process
		 * group, so a terminal's ^C reaches nbfs, which shuts down in
		 * order, and not the server mid-write. */
		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(in[0], 0) < 0 || dup2(outp[1], 1) < 0)
			_exit(127);
		execl("/bin/sh", "sh", "-c", command, (char *)NULL);
		_exit(127);
	}
	nb_xio_close(in[0]);
	nb_xio_close(outp[1]);
	struct nb_local *l = calloc(1, sizeof(*l));
	if (!l) {
		nb_xio_close(in[1]);
		nb_xio_close(outp[0]);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -ENOMEM;
	}
	l->to_child = in[1];
	l->from_child = outp[0];
	l->pid = pid;
	l->t.stream = (struct nb_stream){nb_local_read, nb_local_write, l};
	l->t.readable = nb_local_readable;
	l->t.close = nb_local_close;
	*out = &l->t;
	return 0;
}
