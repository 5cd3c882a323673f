/*
 * The status report behind `nbfs status` and user.nbfs.status, as text,
 * one line each, fields separated by tabs:
 *
 *   link\t<connected|offline>\t<reason>
 *   sum\t<entries>\t<files>\t<done>\t<total>\t<rate>\t<oldest>
 *   <state>\t<done>\t<total>\t<rate>\t<age>\t<op>\t<path>\t<from>\t<error>
 *   more\t<n>
 *
 * "sum" covers the whole queue, listed or not; then one line per entry
 * in queue order; "more" counts the entries left out for room. Bytes
 * and bytes per second are integers; <age> and <oldest> are whole
 * seconds since the entry (the oldest entry) was queued, or since the
 * mount for entries an earlier mount left. <op> is upload, mkdir,
 * symlink, delete, rmdir or move (then <from> is the source, else it is
 * empty); <error> is why it waits or failed, or empty.
 *
 * Paths, the reason and the error are escaped, since a file name may
 * hold any byte but NUL and '/': backslash, newline, tab and other
 * control bytes become \\, \n, \t and \xHH (which also keeps them off
 * the user's terminal); every other byte is itself. No field holds a
 * raw tab or newline, so a reader splits a line at every tab.
 */
#ifndef NB_REPORT_H
#define NB_REPORT_H

#include <stddef.h>

#include "sync/queue.h"

/* "upload", "mkdir", "symlink", "delete", "rmdir", "move" for an
 * NB_KIND_*; "?" for anything else. A static string. */
const char *nb_report_op_name(int kind);
/* Render the report into buf (at most size bytes, NUL-terminated; lines
 * that do not fit are counted into the "more" line). sum covers the
 * whole queue; now_ms is the monotonic time ages are counted to.
 * Returns the length written. */
size_t nb_report_render(char *buf, size_t size, int connected, const char *reason,
			const struct nb_queue_sum *sum, long long now_ms,
			const struct nb_queue_item *items, size_t n, size_t left);

#endif
