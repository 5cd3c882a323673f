/*
 * MD5 over OpenSSL's EVP interface. MD5 is the content key the protocol
 * inherited from the tutorial design: it names partial files and checks
 * whole-file integrity against accidental damage (not against an attacker
 * who controls the content; the SSH channel provides that).
 */
#ifndef NB_MD5_H
#define NB_MD5_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NB_MD5_LEN 16
#define NB_MD5_HEX 33 /* 32 hex digits + NUL */

struct nb_md5 {
	void *ctx; /* EVP_MD_CTX */
};

/* 0 or -ENOMEM. */
int nb_md5_init(struct nb_md5 *m);
void nb_md5_update(struct nb_md5 *m, const void *p, size_t n);
/* Writes the digest; the context may be used again after nb_md5_reset. */
void nb_md5_final(struct nb_md5 *m, uint8_t out[NB_MD5_LEN]);
void nb_md5_reset(struct nb_md5 *m);
/* dst must be initialised; it becomes a copy of src's running state. */
int nb_md5_copy(struct nb_md5 *dst, const struct nb_md5 *src);
void nb_md5_free(struct nb_md5 *m);

/* Digest of a buffer. */
void nb_md5_buf(const void *p, size_t n, uint8_t out[NB_MD5_LEN]);
/* Digest of the first len bytes of fd (pread, so the file offset is
 * untouched). If `more` is non-NULL the running context is left in it
 * (initialised by the caller) so hashing can continue. 0 or -errno;
 * -ENODATA if the file is shorter than len. */
int nb_md5_fd(int fd, uint64_t len, uint8_t out[NB_MD5_LEN], struct nb_md5 *more);

void nb_md5_hex(const uint8_t md5[NB_MD5_LEN], char out[NB_MD5_HEX]);
/* 0, or -EINVAL if hex is not 32 hex digits. */
int nb_md5_from_hex(const char *hex, uint8_t out[NB_MD5_LEN]);

#endif
