/*
 * The mount id: 16 random bytes kept in the cache, naming one mount to the
 * server across connections and restarts. The contract is in mountid.h.
 */
#include "sync/mountid.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "wire/err.h"
#include "wire/log.h"
#include "wire/xio.h"

#define NB_MOUNTID_HEX (2 * NB_MOUNT_ID_LEN)

static int nb_mountid_parse(const char *text, size_t n, uint8_t id[NB_MOUNT_ID_LEN])
{
	if (n < NB_MOUNTID_HEX || (n > NB_MOUNTID_HEX && strcmp(text + NB_MOUNTID_HEX, "\n") != 0))
		return -EINVAL;
	for (int i = 0; i < NB_MOUNT_ID_LEN; i++) {
		char byte[3] = {text[2 * i], text[2 * i + 1], 0}, *end;
		if (!strchr("0123456789abcdef", byte[0]) || !strchr("0123456789abcdef", byte[1]))
			return -EINVAL;
		id[i] = (uint8_t)strtoul(byte, &end, 16);
	}
	return 0;
}

static int nb_mountid_create(const char *path, uint8_t id[NB_MOUNT_ID_LEN])
{
	char tmp[4096], text[NB_MOUNTID_HEX + 2];
	ssize_t k;
	do
		k = getrandom(id, NB_MOUNT_ID_LEN, 0);
	while (k < 0 && errno == EINTR);
	if (k != NB_MOUNT_ID_LEN)
		return k < 0 ? -errno : -EIO;
	for (int i = 0; i < NB_MOUNT_ID_LEN; i++)
		snprintf(text + 2 * i, 3, "%02x", id[i]);
	text[NB_MOUNTID_HEX] = '\n';
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int r = nb_xio_write_full(fd, text, NB_MOUNTID_HEX + 1);
	if (r == 0)
		r = nb_xio_fsync(fd);
	nb_xio_close(fd);
	if (r == 0 && rename(tmp, path) != 0)
		r = -errno;
	if (r != 0)
		unlink(tmp);
	return r;
}

int nb_mountid_load(const char *path, uint8_t id[NB_MOUNT_ID_LEN])
{
	char *text = NULL;
	size_t n = 0;
	int r = nb_xio_read_file(path, 256, &text, &n);
	if (r == 0) {
		r = nb_mountid_parse(text, n, id);
		free(text);
		if (r == 0)
			return 0;
		nb_warn("%s does not hold a mount id: making a new one", path);
	} else if (r != -ENOENT) {
		return r;
	}
	if ((r = nb_mountid_create(path, id)) == 0)
		nb_info("new mount id in %s", path);
	return r;
}
