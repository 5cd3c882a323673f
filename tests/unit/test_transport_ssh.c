/* Unit tests for sync/transport_ssh.c: how a connection that fails before
 * the SSH handshake completes is classified. A mount on a cache with
 * pending work must start offline when the network is the problem, so
 * these must come back as transient (NB_E_CONN), never as a permanent
 * error that refuses the mount. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wire/err.h"
#include "sync/transport.h"

struct peer {
	int lfd;
	const char *say; /* written before closing, or NULL */
};

/* Accept one connection, optionally write a line, close it. */
static void *peer_run(void *arg)
{
	struct peer *p = arg;
	int fd = accept(p->lfd, NULL, NULL);
	if (fd >= 0) {
		if (p->say) {
			/* The client may be gone already: a short write is fine. */
			ssize_t w = write(fd, p->say, strlen(p->say));
			(void)w;
		}
		close(fd);
	}
	return NULL;
}

static int listen_loopback(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static int open_against(const char *say, char *why, size_t whysz)
{
	struct peer p = {.say = say};
	int port;
	p.lfd = listen_loopback(&port);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, peer_run, &p), 0);
	struct nb_ssh_opts o = {.host = "127.0.0.1", .port = port, .user = "nobody",
				.timeout_ms = 5000};
	struct nb_transport *t = NULL;
	int r = nb_transport_ssh_open(&o, "true", &t, why, whysz);
	pthread_join(th, NULL);
	close(p.lfd);
	assert_null(t);
	return r;
}

/* A peer that closes before sending a banner: what sshd does when
 * MaxStartups sheds a connection, or a proxy does when its far side is
 * down. */
static void test_closed_before_banner_is_transient(void **state)
{
	(void)state;
	char why[256] = "";
	assert_int_equal(open_against(NULL, why, sizeof(why)), NB_E_CONN);
	assert_non_null(strstr(why, "handshake"));
}

/* A peer that says something that is not SSH, then hangs up. */
static void test_not_ssh_then_closed_is_transient(void **state)
{
	(void)state;
	char why[256] = "";
	int r = open_against("HTTP/1.0 400 Bad Request\r\n\r\n", why, sizeof(why));
	assert_int_not_equal(r, 0);
	assert_int_not_equal(r, NB_E_HOSTKEY);
	assert_int_not_equal(r, NB_E_AUTH);
	assert_int_not_equal(r, NB_E_EOF);
}

/* Nobody listening: refused. */
static void test_refused_is_transient(void **state)
{
	(void)state;
	int port;
	int fd = listen_loopback(&port);
	close(fd);
	struct nb_ssh_opts o = {.host = "127.0.0.1", .port = port, .timeout_ms = 5000};
	struct nb_transport *t = NULL;
	char why[256] = "";
	assert_int_equal(nb_transport_ssh_open(&o, "true", &t, why, sizeof(why)), NB_E_CONN);
	assert_non_null(strstr(why, "cannot connect"));
}

int main(void)
{
	assert_int_equal(nb_transport_ssh_global_init(), 0);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_closed_before_banner_is_transient),
		cmocka_unit_test(test_not_ssh_then_closed_is_transient),
		cmocka_unit_test(test_refused_is_transient),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
