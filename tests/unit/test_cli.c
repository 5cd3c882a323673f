/* Unit tests for the mount command's helpers: mount helper arguments
 * (fs/cli_helper.c), mountinfo lookups (fs/cli_preflight.c) and `ssh -G`
 * output (fs/sshconfig.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/cli_helper.h"
#include "fs/cli_preflight.h"
#include "fs/sshconfig.h"

static void check_args(int argc, char **argv, int want_fake, const char *want)
{
	char **v = NULL;
	int n = 0, fake = -1;
	assert_int_equal(nb_cli_helper_args(argc, argv, &n, &v, &fake), 0);
	char joined[1024] = "";
	for (int i = 0; i < n; i++) {
		strncat(joined, v[i], sizeof(joined) - strlen(joined) - 2);
		if (i + 1 < n)
			strncat(joined, " ", sizeof(joined) - strlen(joined) - 1);
	}
	assert_null(v[n]);
	assert_string_equal(joined, want);
	assert_int_equal(fake, want_fake);
	free(v);
}

static void test_helper_args(void **state)
{
	(void)state;
	/* What mount(8) runs for mount -t fuse.nbfs and fstab lines. */
	char *a1[] = {"/sbin/mount.fuse.nbfs", "alice@h:/d", "/mnt/x", "-o", "rw,_netdev", NULL};
	check_args(5, a1, 0, "nbfs alice@h:/d /mnt/x -o rw,_netdev");
	char *a2[] = {"mount.fuse.nbfs", "nbfs#h:/d", "/m", "-n", "-o", "x", "-t", "fuse.nbfs", NULL};
	check_args(8, a2, 0, "nbfs h:/d /m -o x");
	char *a3[] = {"mount.nbfs", "h:/d", "/m", "-sfv", NULL};
	check_args(4, a3, 1, "nbfs h:/d /m");
	char *a4[] = {"mount.nbfs", "-o", "a", "h:/d", "-o", "b", "/m", NULL};
	check_args(7, a4, 0, "nbfs h:/d /m -o a -o b");
}

static void test_helper_args_bad(void **state)
{
	(void)state;
	char **v = NULL;
	int n = 0, fake = 0;
	char *one[] = {"mount.nbfs", "h:/d", NULL};
	assert_int_equal(nb_cli_helper_args(2, one, &n, &v, &fake), 2);
	char *three[] = {"mount.nbfs", "h:/d", "/m", "/x", NULL};
	assert_int_equal(nb_cli_helper_args(4, three, &n, &v, &fake), 2);
	char *ns[] = {"mount.nbfs", "h:/d", "/m", "-N", "/proc/1/ns/mnt", NULL};
	assert_int_equal(nb_cli_helper_args(5, ns, &n, &v, &fake), 2);
	char *flag[] = {"mount.nbfs", "h:/d", "/m", "-q", NULL};
	assert_int_equal(nb_cli_helper_args(4, flag, &n, &v, &fake), 2);
	char *noval[] = {"mount.nbfs", "h:/d", "/m", "-o", NULL};
	assert_int_equal(nb_cli_helper_args(4, noval, &n, &v, &fake), 2);
}

static void test_helper_invoked_and_ignored(void **state)
{
	(void)state;
	assert_true(nb_cli_helper_invoked("/sbin/mount.fuse.nbfs"));
	assert_true(nb_cli_helper_invoked("mount.nbfs"));
	assert_false(nb_cli_helper_invoked("/usr/bin/nbfs"));
	assert_false(nb_cli_helper_invoked("/opt/mount.d/nbfs"));
	const char *ignored[] = {"_netdev", "nofail", "noauto", "auto", "user", "users", "defaults",
				 "x-systemd.automount", "x-systemd.mount-timeout=30", "comment=x"};
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		assert_true(nb_cli_helper_ignored(ignored[i]));
	const char *kept[] = {"allow_other", "rw", "ro", "nodev", "debug", "user_id=0", "xattr"};
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		assert_false(nb_cli_helper_ignored(kept[i]));
}

static void test_mountinfo(void **state)
{
	(void)state;
	static const char mi[] =
		"22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
		"40 22 0:35 / /mnt/a\\040b rw,nosuid shared:20 master:3 - fuse.nbfs nbfs rw\n"
		"41 22 0:36 / /auto rw - autofs systemd-1 rw,fd=5\n"
		"42 41 0:37 / /auto rw - fuse.nbfs nbfs rw\n"
		"garbage line\n"
		"43 22 0:38 / /no-type rw -\n";
	char type[32];
	assert_int_equal(nb_cli_preflight_mounted(mi, strlen(mi), "/mnt/a b", type, sizeof(type)), 1);
	assert_string_equal(type, "fuse.nbfs");
	assert_int_equal(nb_cli_preflight_mounted(mi, strlen(mi), "/", type, sizeof(type)), 1);
	assert_string_equal(type, "ext4");
	/* The last mount on a path is the visible one. */
	assert_int_equal(nb_cli_preflight_mounted(mi, strlen(mi), "/auto", type, sizeof(type)), 1);
	assert_string_equal(type, "fuse.nbfs");
	assert_int_equal(nb_cli_preflight_mounted(mi, strlen(mi), "/mnt/a", type, sizeof(type)), 0);
	assert_int_equal(nb_cli_preflight_mounted(mi, strlen(mi), "/no-type", type, sizeof(type)), 0);
	assert_int_equal(nb_cli_preflight_mounted(mi, 40, "/mnt/a b", type, sizeof(type)), 0);
}

static void test_sshconfig_parse(void **state)
{
	(void)state;
	static const char out[] = "user bob\n"
				  "hostname 10.0.0.7\n"
				  "port 2222\n"
				  "compression yes\n"
				  "stricthostkeychecking accept-new\n"
				  "identityfile ~/.ssh/work\n"
				  "identityfile /etc/keys/k2\n"
				  "userknownhostsfile ~/.ssh/kh /etc/ssh/kh2\n"
				  "userknownhostsfile /ignored\n"
				  "sendenv LANG\n"
				  "noise\n";
	struct nb_sshconfig c;
	assert_int_equal(nb_sshconfig_parse(out, strlen(out), "/home/bob", &c), 0);
	assert_string_equal(c.hostname, "10.0.0.7");
	assert_string_equal(c.user, "bob");
	assert_int_equal(c.port, 2222);
	assert_int_equal(c.compression, 1);
	assert_int_equal(c.accept_new, 1);
	assert_string_equal(c.identities[0], "/home/bob/.ssh/work");
	assert_string_equal(c.identities[1], "/etc/keys/k2");
	assert_null(c.identities[2]);
	assert_string_equal(c.known_hosts, "/home/bob/.ssh/kh");
	nb_sshconfig_free(&c);

	static const char plain[] = "hostname h\nport 99999\ncompression no\n"
				    "stricthostkeychecking ask\n";
	assert_int_equal(nb_sshconfig_parse(plain, strlen(plain), NULL, &c), 0);
	assert_int_equal(c.port, 0);
	assert_int_equal(c.compression, 0);
	assert_int_equal(c.accept_new, 0);
	assert_null(c.identities[0]);
	assert_null(c.known_hosts);
	nb_sshconfig_free(&c);

	/* More IdentityFile lines than we keep: the first ones win. */
	char many[4096] = "";
	for (int i = 0; i < NB_SSHCONFIG_MAX_IDS + 5; i++) {
		char line[64];
		snprintf(line, sizeof(line), "identityfile /k%d\n", i);
		strncat(many, line, sizeof(many) - strlen(many) - 1);
	}
	assert_int_equal(nb_sshconfig_parse(many, strlen(many), NULL, &c), 0);
	assert_string_equal(c.identities[0], "/k0");
	assert_string_equal(c.identities[NB_SSHCONFIG_MAX_IDS - 1], "/k15");
	assert_null(c.identities[NB_SSHCONFIG_MAX_IDS]);
	nb_sshconfig_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_helper_args),
		cmocka_unit_test(test_helper_args_bad),
		cmocka_unit_test(test_helper_invoked_and_ignored),
		cmocka_unit_test(test_mountinfo),
		cmocka_unit_test(test_sshconfig_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
