/*
 * Partial files: the server side of resumable upload.
 *
 * An upload in progress lives in <root>/.nbfs/partial/<md5hex>, named by
 * the MD5 of the complete content the client announced, so a client that
 * comes back (after a cut connection, a crash, or from another mount
 * with the same content) finds the bytes that already arrived. An
 * exclusive flock on the partial keeps two sessions from ever writing
 * the same partial together.
 *
 * Nothing is trusted blindly: the offer carries the MD5 of the prefix the
 * server holds, the client compares it with its own, and the whole file
 * is checked against the announced MD5 before it is published. Publishing
 * follows the durability order: fsync the file, verify, rename into
 * place, fsync the directory.
 */
#ifndef NB_PARTIAL_H
#define NB_PARTIAL_H

#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "server/appender.h"
#include "server/owner.h"
#include "server/root.h"
#include "wire/md5.h"

#define NB_PARTIAL_DIR ".nbfs/partial"
/* Scratch files of whole small files (PUT_SMALL) share the partial
 * directory under this prefix; nothing can resume from them. */
#define NB_PARTIAL_SCRATCH_PREFIX "small-"
#define NB_PARTIAL_SCRATCH_NAME 64 /* room for a scratch name and its NUL */
#define NB_PARTIAL_DIRECT_MIN (8u * 1024 * 1024)

struct nb_partial {
	int dirfd;        /* the partial directory */
	int fd;           /* the partial file, locked */
	char name[NB_MD5_HEX];
	uint8_t md5[NB_MD5_LEN]; /* announced MD5 of the whole content */
	uint64_t size;    /* announced size */
	uint64_t pos;     /* bytes written so far */
	struct nb_appender out; /* writes to fd */
	struct nb_md5 hash; /* running MD5 of bytes [0, pos) */
	int published;    /* renamed into place: nothing is kept */
	/* After NB_E_BUSY from nb_partial_open_as: the holder's record
	 * (pid 0 if there was none). */
	struct nb_owner busy;
};

/* The partial directory (created if needed): a new fd or -errno. Also
 * the server's scratch space on the root's filesystem. */
int nb_partial_dirfd(const struct nb_root *root);
/* The MD5 recorded for the regular file open at fd, if the record still
 * matches its size and mtime: 1 and md5 filled, else 0. */
int nb_partial_recorded_md5(int fd, uint8_t md5[NB_MD5_LEN]);
/* Record md5 as the content of the file open at fd (best effort). */
void nb_partial_record(int fd, const uint8_t md5[NB_MD5_LEN], uint64_t size);

/* Open (or create) and lock the partial for md5/size. *offset and
 * prefix_md5 describe the bytes already held. NB_E_BUSY if another
 * session holds it. */
int nb_partial_open(struct nb_partial *p, const struct nb_root *root, const uint8_t md5[NB_MD5_LEN],
		    uint64_t size, uint64_t *offset, uint8_t prefix_md5[NB_MD5_LEN]);
/* nb_partial_open for a session serving mount (NULL: a client that
 * named none). The holder is recorded (server/owner.h); a partial held
 * by another, live session of the same mount is taken over: that
 * session is ended and its lock waited for (a few seconds at most).
 * NB_E_BUSY if another mount's session holds it (p->busy says whose),
 * or this process's. */
int nb_partial_open_as(struct nb_partial *p, const struct nb_root *root,
		       const uint8_t md5[NB_MD5_LEN], uint64_t size, uint64_t *offset,
		       uint8_t prefix_md5[NB_MD5_LEN], const uint8_t *mount);
/* Append data at offset, which must equal p->pos, or be 0 to restart
 * from scratch (the client's prefix differed). -EINVAL for any other
 * offset, -EFBIG past the announced size. A partial of
 * NB_PARTIAL_DIRECT_MIN bytes or more is written around the page cache
 * (server/appender.h): the last MiBs reach the file only at
 * nb_partial_publish or nb_partial_close, or are lost if the process
 * dies first. */
int nb_partial_write(struct nb_partial *p, uint64_t offset, const void *data, size_t n);
struct nb_base;

/* Verify and publish as `leaf` in dirfd with the given mode and mtime,
 * if what is there still allows it (nb_partial_check_base with base;
 * NULL: overwrite anything), checked and renamed under the root's
 * publish lock (server/publock.h). NB_E_MD5 if the content does not
 * match (the partial is then discarded, since its bytes are known to be
 * wrong), -EINVAL if fewer than `size` bytes arrived, -EEXIST if the
 * base no longer holds (a conflict: the partial is kept, whole, for the
 * client to publish under another name). Always releases p. */
int nb_partial_publish(struct nb_partial *p, int dirfd, const char *leaf,
		       const struct nb_base *base, mode_t mode, int64_t mtime_s, uint32_t mtime_ns);
/* Release the partial: with discard, delete it; else write into it
 * what is still buffered, so a resumed upload finds it. */
void nb_partial_close(struct nb_partial *p, int discard);

/* What the client believes the server holds at an upload's path
 * (PUT_OPEN's and PUT_SMALL's base fields): enum nb_base_kind. */
struct nb_base {
	uint8_t kind;
	uint64_t size;
	int64_t mtime_s;
	uint32_t mtime_ns;
};

/* Is st (what the path holds) the version base names? Kind ANY: yes,
 * whatever it is; MATCH: a regular file of base's size and mtime;
 * ABSENT: no (something is there). */
int nb_base_is(const struct nb_base *base, const struct stat *st);
/* May content md5/size be published at dirfd/leaf over what is there
 * now? 0 if the base allows it: kind ANY; nothing there; a regular file
 * of the base's size and mtime (kind MATCH); or exactly md5/size
 * already (a re-upload of what was published). -EEXIST otherwise: a
 * conflict, someone else changed the path. */
int nb_partial_check_base(int dirfd, const char *leaf, const struct nb_base *base,
			  const uint8_t md5[NB_MD5_LEN], uint64_t size);

/* A new scratch file in the partial directory dirfd, for a whole file
 * that is published by rename (PUT_SMALL): created exclusively under a
 * unique name NB_PARTIAL_SCRATCH_PREFIX..., written into name, and
 * locked (flock) like a partial, so nb_partial_sweep can tell an
 * orphan (unlocked: its session is gone) from one in use. Returns the
 * fd (the caller closes it, which drops the lock) or -errno. */
int nb_partial_scratch(int dirfd, char name[NB_PARTIAL_SCRATCH_NAME]);
/* The next scratch name of this process (not created: the caller's
 * O_EXCL or link(2) finds a name that is taken). */
void nb_partial_scratch_name(char name[NB_PARTIAL_SCRATCH_NAME]);

/* The server's record of a published file's content: an xattr holding
 * "md5hex size mtime_s mtime_ns" so an identical re-upload is answered
 * at once. nb_partial_matches returns 1 if the file at dirfd/leaf is a
 * regular file whose record matches md5 and size and its current stat. */
int nb_partial_matches(int dirfd, const char *leaf, const uint8_t md5[NB_MD5_LEN], uint64_t size);
/* Set mode and mtime of the published file at dirfd/leaf (whose content
 * matched) and renew its record. 0 or -errno. */
int nb_partial_touch(int dirfd, const char *leaf, const uint8_t md5[NB_MD5_LEN], uint64_t size,
		     mode_t mode, int64_t mtime_s, uint32_t mtime_ns);

/* Remove partial files older than max_age_s seconds, and scratch files
 * of any age, that no session is using (their lock is taken first; a
 * locked one is skipped). Returns the number removed. */
int nb_partial_sweep(const struct nb_root *root, long max_age_s);

/* Fault injection for the tests: if the file at path exists when an
 * upload has been verified and is about to be renamed into place, the
 * file is removed and the server exits at once, as a crash would. */
void nb_partial_set_fault_file(const char *path);
/* The fault points, for every way of publishing: called with 0 when a
 * file is verified and durable and about to be renamed into place (an
 * armed "crash" fault exits the process there), with 1 once it is
 * published and its directory synced, before the answer (an armed
 * "after-publish" fault stalls, then exits). Nothing unless armed. */
void nb_partial_fault_point(int after_publish);

#endif
