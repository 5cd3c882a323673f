/*
 * Wire path names: validation of a path relative to the remote root (no
 * "..", no empty or absolute components) and path arithmetic. The contract
 * is in pathname.h.
 */
#include "wire/pathname.h"

#include <errno.h>
#include <string.h>

int nb_path_check_name(const char *name, size_t len)
{
	if (len == 0)
		return -EINVAL;
	if (len > NB_NAME_MAX)
		return -ENAMETOOLONG;
	if (memchr(name, '/', len) || memchr(name, 0, len))
		return -EINVAL;
	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return -EINVAL;
	return 0;
}

int nb_path_check(const char *p)
{
	size_t n = strlen(p);
	if (n == 0)
		return 0;
	if (n > NB_PATH_MAX)
		return -ENAMETOOLONG;
	const char *c = p;
	int first = 1;
	for (;;) {
		const char *slash = strchr(c, '/');
		size_t len = slash ? (size_t)(slash - c) : strlen(c);
		int r = nb_path_check_name(c, len);
		if (r != 0)
			return r;
		if (first && len == strlen(NB_RESERVED_NAME) &&
		    memcmp(c, NB_RESERVED_NAME, len) == 0)
			return -EPERM;
		first = 0;
		if (!slash)
			return 0;
		c = slash + 1;
	}
}

const char *nb_path_from_fuse(const char *p)
{
	while (*p == '/')
		p++;
	return p;
}

size_t nb_path_parent_len(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? (size_t)(s - p) : 0;
}

int nb_path_is_fuse_hidden(const char *p)
{
	static const char prefix[] = ".fuse_hidden";
	size_t plen = nb_path_parent_len(p);
	const char *base = plen ? p + plen + 1 : p;
	return strncmp(base, prefix, sizeof(prefix) - 1) == 0;
}

int nb_path_is_within(const char *p, const char *dir)
{
	size_t n = strlen(dir);
	if (n == 0)
		return 1;
	return strncmp(p, dir, n) == 0 && (p[n] == 0 || p[n] == '/');
}
