/*
 * `nbfs status --json`: the parsed report as one JSON object, and the per-
 * change objects of --follow --json. The contract is in status_json.h.
 */
#include "fs/status_json.h"

#include <stdio.h>
#include <string.h>

/* key: s, and key_hex: its bytes when s is not UTF-8 (fs/json.h). */
static void nb_status_json_name(struct nb_json *j, const char *key, const char *s)
{
	char hexkey[32];
	nb_json_key(j, key);
	nb_json_str(j, s);
	if (!nb_json_utf8_valid(s, strlen(s))) {
		snprintf(hexkey, sizeof(hexkey), "%s_hex", key);
		nb_json_key(j, hexkey);
		nb_json_hex(j, s);
	}
}

void nb_status_json_eta(struct nb_json *j, uint64_t left, double rate)
{
	if (rate >= 1)
		nb_json_u64(j, (uint64_t)((double)left / rate + 0.5));
	else if (left == 0)
		nb_json_u64(j, 0);
	else
		nb_json_null(j);
}

/* "done", "total", "rate" (bytes per second, rounded) and "eta". */
static void nb_status_json_progress(struct nb_json *j, uint64_t done, uint64_t total, double rate)
{
	nb_json_key(j, "done");
	nb_json_u64(j, done);
	nb_json_key(j, "total");
	nb_json_u64(j, total);
	nb_json_key(j, "rate");
	nb_json_u64(j, rate >= 1 ? (uint64_t)(rate + 0.5) : 0);
	nb_json_key(j, "eta");
	nb_status_json_eta(j, total - done, rate);
}

void nb_status_json_entry(struct nb_json *j, const struct nb_status_entry *e)
{
	uint64_t done = e->done < e->total ? e->done : e->total;
	nb_status_json_name(j, "path", e->path);
	if (e->from[0])
		nb_status_json_name(j, "from", e->from);
	nb_json_key(j, "op");
	nb_json_str(j, e->op[0] ? e->op : "unknown");
	nb_json_key(j, "state");
	nb_json_str(j, e->state);
	nb_status_json_progress(j, done, e->total, e->rate);
	nb_json_key(j, "age");
	nb_json_u64(j, e->age);
	nb_json_key(j, "error");
	if (e->error[0])
		nb_json_str(j, e->error);
	else
		nb_json_null(j);
}

void nb_status_json_link(struct nb_json *j, const struct nb_status *s)
{
	nb_json_key(j, "connection");
	nb_json_str(j, s->connected ? "connected" : "offline");
	nb_json_key(j, "detail");
	nb_json_str(j, s->reason ? s->reason : "");
	nb_json_key(j, "paused");
	nb_json_bool(j, s->paused);
}

void nb_status_json(struct nb_json *j, const struct nb_status *s, const char *mnt, time_t now)
{
	uint64_t done = s->done < s->total ? s->done : s->total;
	nb_json_obj(j);
	nb_json_key(j, "version");
	nb_json_u64(j, NB_STATUS_JSON_VERSION);
	nb_status_json_name(j, "mount", mnt);
	nb_json_key(j, "time");
	nb_json_u64(j, now > 0 ? (uint64_t)now : 0);
	nb_status_json_link(j, s);
	if (s->has_cache) {
		nb_json_key(j, "cache");
		nb_json_obj(j);
		nb_json_key(j, "used");
		nb_json_u64(j, s->cache_used);
		nb_json_key(j, "max");
		nb_json_u64(j, s->cache_max);
		nb_json_key(j, "full");
		nb_json_bool(j, s->cache_full);
		if (s->has_disk) {
			nb_json_key(j, "disk_free");
			nb_json_u64(j, s->disk_free);
		}
		nb_json_obj_end(j);
	}
	nb_json_key(j, "totals");
	nb_json_obj(j);
	nb_json_key(j, "entries");
	nb_json_u64(j, s->entries);
	nb_json_key(j, "files");
	nb_json_u64(j, s->files);
	nb_status_json_progress(j, done, s->total, s->rate);
	nb_json_key(j, "oldest_age");
	nb_json_u64(j, s->oldest);
	nb_json_key(j, "unlisted");
	nb_json_u64(j, s->more);
	nb_json_obj_end(j);
	nb_json_key(j, "entries");
	nb_json_arr(j);
	for (size_t i = 0; i < s->n; i++) {
		nb_json_obj(j);
		nb_status_json_entry(j, &s->v[i]);
		nb_json_obj_end(j);
	}
	nb_json_arr_end(j);
	nb_json_obj_end(j);
}
