/* Unit tests for sync/pins.c (the pin set) and sync/queue_ctl.c (the
 * user's controls: sync now, retry now, pause, pins in the queue and
 * the state database). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sync/pins.h"
#include "sync/queue.h"
#include "sync/statedb.h"
#include "testutil.h"

static const char *list(const struct nb_pins *p)
{
	static char text[512];
	text[0] = 0;
	for (size_t i = 0; i < p->n; i++) {
		size_t n = strlen(text);
		snprintf(text + n, sizeof(text) - n, "%s,", p->v[i]);
	}
	return text;
}

static void test_pin_set(void **state)
{
	(void)state;
	struct nb_pins p;
	nb_pins_init(&p);
	assert_false(nb_pins_covers(&p, "a"));
	assert_int_equal(nb_pins_add(&p, "m/n"), 0);
	assert_int_equal(nb_pins_add(&p, "a"), 0);
	assert_int_equal(nb_pins_add(&p, "a!"), 0);
	assert_int_equal(nb_pins_add(&p, "a/b"), 0);
	assert_int_equal(nb_pins_add(&p, "a"), 0); /* once */
	assert_string_equal(list(&p), "a,a!,a/b,m/n,");
	assert_true(nb_pins_has(&p, "a/b"));
	assert_false(nb_pins_has(&p, "a/b/c"));
	assert_false(nb_pins_has(&p, "m"));
	/* Covered: the path or a directory above it. */
	assert_true(nb_pins_covers(&p, "a/x/y"));
	assert_true(nb_pins_covers(&p, "m/n/o"));
	assert_true(nb_pins_covers(&p, "m/n"));
	assert_false(nb_pins_covers(&p, "m"));
	assert_false(nb_pins_covers(&p, "m/nn"));
	assert_false(nb_pins_covers(&p, "ab"));
	assert_false(nb_pins_covers(&p, "b/a"));
	/* A move carries what is below, replaces what is at the target. */
	assert_int_equal(nb_pins_add(&p, "z/old"), 0);
	assert_int_equal(nb_pins_move(&p, "a", "z"), 0);
	assert_string_equal(list(&p), "a!,m/n,z,z/b,");
	assert_int_equal(nb_pins_del_within(&p, "z"), 2);
	assert_string_equal(list(&p), "a!,m/n,");
	assert_int_equal(nb_pins_del_within(&p, "m/n/o"), 0);
	nb_pins_free(&p);
}

/* ---- the controls, on a queue over a real state database ---- */

struct fx {
	char *dir, *dbpath;
	struct nb_statedb *db;
	struct nb_queue *q;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->dir = tu_mkdtemp("pins");
	assert_non_null(f->dir);
	f->dbpath = tu_join(f->dir, "state.db");
	assert_int_equal(nb_statedb_open(f->dbpath, &f->db), 0);
	assert_int_equal(nb_queue_new(f->db, 60000, &f->q), 0);
	assert_int_equal(nb_queue_load(f->q), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	nb_queue_free(f->q);
	nb_statedb_close(f->db);
	tu_rmtree(f->dir);
	free(f->dir);
	free(f->dbpath);
	free(f);
	return 0;
}

static int take(struct fx *f, struct nb_job *job)
{
	long wait;
	return nb_queue_next_job(f->q, job, &wait);
}

/* A file in its quiet time goes at once when kicked; only what is at
 * or below the path is. */
static void test_sync_now(void **state)
{
	struct fx *f = *state;
	struct nb_job job;
	assert_int_equal(nb_queue_touch(f->q, "d/a", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_touch(f->q, "e", NB_KIND_FILE), 0);
	assert_false(take(f, &job)); /* a minute of quiet time */
	assert_int_equal(nb_queue_kick(f->q, "d", 0), 1);
	assert_true(take(f, &job));
	assert_string_equal(job.path, "d/a");
	nb_job_free(&job);
	assert_false(take(f, &job));
	/* A new change restores the quiet time. */
	assert_int_equal(nb_queue_kick(f->q, "", 0), 1); /* e; d/a is in flight */
	assert_int_equal(nb_queue_touch(f->q, "e", NB_KIND_FILE), 0);
	assert_false(take(f, &job));
}

/* A failure waits; retry cuts the wait short, for failed entries only. */
static void test_retry_now(void **state)
{
	struct fx *f = *state;
	struct nb_job job;
	assert_int_equal(nb_queue_touch(f->q, "a", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_touch(f->q, "b", NB_KIND_FILE), 0);
	assert_int_equal(nb_queue_kick(f->q, "a", 0), 1);
	assert_true(take(f, &job));
	nb_queue_fail(f->q, &job, NB_STATE_ERROR, "server: no room", 60000);
	struct nb_core_state v;
	assert_true(nb_queue_state(f->q, "a", 1, &v));
	assert_int_equal(v.state, NB_STATE_ERROR);
	nb_job_free(&job);
	assert_false(take(f, &job));
	/* b only waits for its quiet time: not a retry's business. */
	assert_int_equal(nb_queue_kick(f->q, "", 1), 1);
	assert_true(nb_queue_state(f->q, "a", 1, &v));
	assert_int_equal(v.state, NB_STATE_PENDING);
	assert_string_equal(v.error, "");
	assert_true(take(f, &job));
	assert_string_equal(job.path, "a");
	nb_job_free(&job);
	assert_false(take(f, &job));
}

static void test_pause(void **state)
{
	struct fx *f = *state;
	struct nb_job job;
	assert_false(nb_queue_paused(f->q));
	assert_int_equal(nb_queue_touch(f->q, "dir", NB_KIND_DIR), 0); /* no quiet time */
	nb_queue_pause(f->q, 1);
	assert_true(nb_queue_paused(f->q));
	assert_false(take(f, &job));
	nb_queue_pause(f->q, 0);
	assert_true(take(f, &job));
	assert_string_equal(job.path, "dir");
	nb_job_free(&job);
}

/* Pins are durable, follow renames, go with removals, and keep the
 * evictor away. */
static int no_remove(void *arg, const char *path)
{
	(void)path;
	(*(int *)arg)++;
	return 0;
}

static void test_queue_pins(void **state)
{
	struct fx *f = *state;
	assert_int_equal(nb_queue_pin(f->q, "", 1), -EINVAL);
	assert_int_equal(nb_queue_pin(f->q, "docs", 1), 0);
	assert_int_equal(nb_queue_pin(f->q, "x/y", 1), 0);
	assert_true(nb_queue_pinned(f->q, "docs/new/file"));
	assert_false(nb_queue_pinned(f->q, "x"));
	/* Pinned through docs only: cannot be unpinned alone. */
	assert_int_equal(nb_queue_pin(f->q, "docs/a", 0), -EBUSY);
	int removed = 0;
	assert_int_equal(nb_queue_evict(f->q, "docs/a", no_remove, &removed), -EBUSY);
	assert_int_equal(nb_queue_evict(f->q, "other", no_remove, &removed), 0);
	assert_int_equal(removed, 1);
	/* Renamed locally: the pin follows. */
	assert_int_equal(nb_queue_rename(f->q, "docs", "papers", 0), 0);
	assert_false(nb_queue_pinned(f->q, "docs/a"));
	assert_true(nb_queue_pinned(f->q, "papers/a"));
	/* Removed: the pin goes. */
	assert_int_equal(nb_queue_remove(f->q, "x/y", 0, 0), 0);
	assert_false(nb_queue_pinned(f->q, "x/y"));
	/* Durable: a new queue over the database knows them. */
	nb_queue_free(f->q);
	assert_int_equal(nb_queue_new(f->db, 60000, &f->q), 0);
	assert_int_equal(nb_queue_load(f->q), 0);
	char **v;
	size_t n;
	assert_int_equal(nb_queue_pin_list(f->q, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0], "papers");
	nb_queue_pin_list_free(v, n);
	assert_int_equal(nb_queue_pin(f->q, "papers", 0), 0);
	assert_false(nb_queue_pinned(f->q, "papers/a"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pin_set),
		cmocka_unit_test_setup_teardown(test_sync_now, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_now, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pause, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_pins, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
