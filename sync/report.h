/*
 * The status report behind `nbfs status` and user.nbfs.status, as text:
 *
 *   link\t<connected|offline>\t<reason>
 *   <state>\t<done>\t<total>\t<rate>\t<what>     one line per entry
 *   note\t<text>                                  after an entry with an
 *                                                 error or a wait to explain
 *   more\t<n>                                     entries left out
 *
 * in queue order, where <what> is the path, or for a barrier
 * "(delete) path", "(delete dir) path" or "(move) from -> to". Paths,
 * the reason and notes are escaped, since a file name may hold any byte but
 * NUL and '/': backslash, newline, tab and other control bytes become
 * \\, \n, \t and \xHH (which also keeps them off the user's terminal).
 */
#ifndef NB_REPORT_H
#define NB_REPORT_H

#include <stddef.h>

#include "sync/queue.h"

/* Escape in as above into out (size outsz, always NUL-terminated,
 * truncated at a whole escape if need be). */
void nb_report_escape(const char *in, char *out, size_t outsz);
/* Render the report into buf (at most size bytes, NUL-terminated; lines
 * that do not fit are counted into the "more" line). Returns the length
 * written. */
size_t nb_report_render(char *buf, size_t size, int connected, const char *reason,
			const struct nb_queue_item *items, size_t n, size_t left);

#endif
