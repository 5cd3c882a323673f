/*
 * A small JSON writer for `nbfs status --json`: objects, arrays,
 * strings, numbers, booleans and null appended to an nb_buf, commas
 * placed by the writer. The first error (out of memory, or the buffer's
 * cap) sticks: later calls do nothing, and nb_json_end reports it, so
 * callers check once.
 *
 * Strings. A C string is bytes, and a file name may hold any byte but
 * NUL and '/'; JSON text must be UTF-8. The rule:
 *   - '"' and '\\' are escaped as \" and \\; the control bytes 0x00-0x1f
 *     as \b, \f, \n, \r, \t or \u00XX; DEL (0x7f), U+2028 and U+2029 as
 *     \u007f, \u2028, \u2029 (harmless to every parser, and kept off
 *     terminals and out of JavaScript's way);
 *   - well-formed UTF-8 (no overlong forms, no surrogates, nothing past
 *     U+10FFFF) is copied as it is;
 *   - every other byte becomes U+FFFD (written \ufffd), one per byte.
 * So the output always parses, with any parser; a name that was not
 * UTF-8 is not recoverable from the string alone, which is why the
 * status writer adds the exact bytes in hex beside such a name
 * (nb_json_utf8_valid tells when).
 */
#ifndef NB_JSON_H
#define NB_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "wire/buf.h"

#define NB_JSON_DEPTH 32

struct nb_json {
	struct nb_buf *out; /* borrowed */
	int r;		    /* the first error, or 0 */
	int depth;
	int after_key;			       /* a value completes "key": */
	unsigned char has_item[NB_JSON_DEPTH]; /* per level: a comma is due */
};

/* Start writing into out (appended to; owned by the caller). */
void nb_json_init(struct nb_json *j, struct nb_buf *out);
/* 0 if everything was written and every object and array closed, else
 * the first error (-ENOMEM, NB_E_TOOBIG from the buffer, -EINVAL for
 * nesting past NB_JSON_DEPTH or unbalanced ends). */
int nb_json_end(struct nb_json *j);

void nb_json_obj(struct nb_json *j);
void nb_json_obj_end(struct nb_json *j);
void nb_json_arr(struct nb_json *j);
void nb_json_arr_end(struct nb_json *j);
/* A member's name (inside an object); the next call writes its value. */
void nb_json_key(struct nb_json *j, const char *name);

/* The n bytes at s as a string, by the rule above. */
void nb_json_strn(struct nb_json *j, const char *s, size_t n);
void nb_json_str(struct nb_json *j, const char *s);
/* s's bytes as lowercase hex digits, in a string. */
void nb_json_hex(struct nb_json *j, const char *s);
void nb_json_u64(struct nb_json *j, uint64_t v);
void nb_json_bool(struct nb_json *j, int v);
void nb_json_null(struct nb_json *j);

/* 1 if the n bytes at s are well-formed UTF-8 by the rule above. */
int nb_json_utf8_valid(const char *s, size_t n);

#endif
