/*
 * MD5 over OpenSSL's EVP interface. The contract is in md5.h.
 */
#include "wire/md5.h"
#include "wire/textesc.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "wire/xio.h"

int nb_md5_init(struct nb_md5 *m)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (!c)
		return -ENOMEM;
	if (EVP_DigestInit_ex(c, EVP_md5(), NULL) != 1) {
		EVP_MD_CTX_free(c);
		return -ENOMEM;
	}
	m->ctx = c;
	return 0;
}

void nb_md5_update(struct nb_md5 *m, const void *p, size_t n)
{
	if (n > 0)
		EVP_DigestUpdate(m->ctx, p, n);
}

void nb_md5_final(struct nb_md5 *m, uint8_t out[NB_MD5_LEN])
{
	unsigned int len = NB_MD5_LEN;
	EVP_DigestFinal_ex(m->ctx, out, &len);
}

void nb_md5_reset(struct nb_md5 *m)
{
	EVP_DigestInit_ex(m->ctx, EVP_md5(), NULL);
}

int nb_md5_copy(struct nb_md5 *dst, const struct nb_md5 *src)
{
	return EVP_MD_CTX_copy_ex(dst->ctx, src->ctx) == 1 ? 0 : -ENOMEM;
}

void nb_md5_free(struct nb_md5 *m)
{
	EVP_MD_CTX_free(m->ctx);
	m->ctx = NULL;
}

void nb_md5_buf(const void *p, size_t n, uint8_t out[NB_MD5_LEN])
{
	unsigned int len = NB_MD5_LEN;
	EVP_Digest(p, n, out, &len, EVP_md5(), NULL);
}

int nb_md5_fd(int fd, uint64_t len, uint8_t out[NB_MD5_LEN], struct nb_md5 *more)
{
	enum { CHUNK = 1 << 20 };
	struct nb_md5 local;
	struct nb_md5 *m = more;
	int r = 0;
	if (!m) {
		if ((r = nb_md5_init(&local)) != 0)
			return r;
		m = &local;
	}
	char *buf = malloc(CHUNK);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	uint64_t off = 0;
	while (off < len) {
		size_t want = len - off < CHUNK ? (size_t)(len - off) : CHUNK;
		ssize_t k = nb_xio_pread_full(fd, buf, want, (off_t)off);
		if (k < 0) {
			r = (int)k;
			goto out;
		}
		if ((size_t)k < want) {
			r = -ENODATA;
			goto out;
		}
		nb_md5_update(m, buf, want);
		off += want;
	}
	if (more) {
		/* Leave `more` running: finalise a copy. */
		struct nb_md5 tmp;
		if ((r = nb_md5_init(&tmp)) != 0)
			goto out;
		if ((r = nb_md5_copy(&tmp, m)) == 0)
			nb_md5_final(&tmp, out);
		nb_md5_free(&tmp);
	} else {
		nb_md5_final(m, out);
	}
out:
	free(buf);
	if (!more)
		nb_md5_free(&local);
	return r;
}

void nb_md5_hex(const uint8_t md5[NB_MD5_LEN], char out[NB_MD5_HEX])
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 0; i < NB_MD5_LEN; i++) {
		out[2 * i] = digits[md5[i] >> 4];
		out[2 * i + 1] = digits[md5[i] & 15];
	}
	out[32] = 0;
}

int nb_md5_from_hex(const char *hex, uint8_t out[NB_MD5_LEN])
{
	if (strlen(hex) != 32)
		return -EINVAL;
	for (int i = 0; i < NB_MD5_LEN; i++) {
		int hi = nb_hex_value(hex[2 * i]), lo = nb_hex_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
