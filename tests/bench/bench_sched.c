/*
 * Scheduler micro-benchmark (numbers, not a test): the time the queue
 * takes to pick the next job (nb_queue_next_job) with 10, 10,000 and
 * 100,000 entries queued, a few of them barriers that block their
 * neighbours, as after `cp -r` of a big tree with some removals and
 * renames mixed in. The state database lives in a scratch directory
 * (default /dev/shm, so SQLite's fsyncs do not dominate the setup).
 *
 *   build/bench_sched [N...]      default: 10 10000 100000
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sync/queue.h"
#include "sync/statedb.h"
#include "wire/err.h"
#include "wire/log.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run(long n, const char *dir)
{
	char db_path[512], path[600], to[64];
	struct nb_statedb *db;
	struct nb_queue *q;
	snprintf(db_path, sizeof(db_path), "%s/nbfs-bench-sched-%ld-%ld.db", dir, (long)getpid(), n);
	if (nb_statedb_open(db_path, &db) != 0 || nb_queue_new(db, 0, &q) != 0) {
		fprintf(stderr, "bench_sched: cannot open %s\n", db_path);
		return 1;
	}
	double t0 = now_s();
	for (long i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "d%ld/e%ld/f%ld", i % 100, i % 7, i);
		if (nb_queue_touch(q, path, NB_KIND_FILE) != 0)
			return 1;
		/* One entry in 500 is a rename on the server, which holds back
		 * the files queued after it below its two names. */
		if (i % 500 == 499) {
			snprintf(path, sizeof(path), "d%ld/e%ld", i % 100, (i + 1) % 7);
			snprintf(to, sizeof(to), "d%ld/moved%ld", i % 100, i);
			if (nb_queue_rename(q, path, to, 1) != 0)
				return 1;
		}
	}
	double t1 = now_s();
	/* Pick every job; finish a barrier as soon as it is picked (so what
	 * it held back may go), leave creations in flight (they block
	 * nothing but barriers). Only the picking is timed. */
	double pick = 0, worst = 0;
	long jobs = 0;
	for (;;) {
		struct nb_job job;
		long wait;
		double a = now_s();
		int got = nb_queue_next_job(q, &job, &wait);
		double b = now_s();
		if (!got)
			break;
		pick += b - a;
		if (b - a > worst)
			worst = b - a;
		jobs++;
		if (job.kind == NB_KIND_RENAME && !nb_queue_done(q, &job, NULL))
			return 1;
		nb_job_free(&job);
	}
	printf("%9ld %9ld %12.2f %14.2f %12.1f %9.1f\n", n, jobs, pick / (double)jobs * 1e6,
	       worst * 1e6, (t1 - t0) / (double)n * 1e6, pick);
	nb_queue_free(q);
	nb_statedb_close(db);
	unlink(db_path);
	snprintf(path, sizeof(path), "%s-wal", db_path);
	unlink(path);
	snprintf(path, sizeof(path), "%s-shm", db_path);
	unlink(path);
	return 0;
}

int main(int argc, char **argv)
{
	static const long def[] = {10, 10000, 100000};
	const char *dir = getenv("BENCH_DIR") ? getenv("BENCH_DIR") : "/dev/shm";
	nb_log_set_level(NB_LOG_WARN);
	printf("# time to pick the next job (nb_queue_next_job), one entry in 500 a rename\n");
	printf("%9s %9s %12s %14s %12s %9s\n", "queued", "jobs", "pick us/job", "worst pick us",
	       "queue us/op", "total s");
	int r = 0;
	if (argc > 1)
		for (int i = 1; i < argc && r == 0; i++)
			r = run(strtol(argv[i], NULL, 10), dir);
	else
		for (size_t i = 0; i < sizeof(def) / sizeof(def[0]) && r == 0; i++)
			r = run(def[i], dir);
	return r;
}
