/*
 * CPU to spare, from /proc/stat. The contract is in cpuspare.h.
 */
#include "sync/cpuspare.h"

#include <stdio.h>

#include "wire/xio.h"

int nb_cpuspare_update(struct nb_cpuspare *c, long long now_ms, unsigned long long idle,
		       unsigned long long total)
{
	if (c->at_ms && total > c->total && idle >= c->idle)
		c->spare = (idle - c->idle) * 100 >= (total - c->total) * NB_CPUSPARE_MIN_PCT;
	else
		c->spare = 1; /* no interval to judge by */
	c->at_ms = now_ms;
	c->idle = idle;
	c->total = total;
	return c->spare;
}

/* The first line of /proc/stat: the idle (idle + iowait) and total time
 * of all cores, in ticks. 0, or -1 if it cannot be read. */
static int nb_cpuspare_read(unsigned long long *idle, unsigned long long *total)
{
	unsigned long long v[8] = {0};
	FILE *fp = fopen("/proc/stat", "re");
	if (!fp)
		return -1;
	int n = fscanf(fp, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
		       &v[3], &v[4], &v[5], &v[6], &v[7]);
	fclose(fp);
	if (n < 5)
		return -1;
	*idle = v[3] + v[4];
	*total = 0;
	for (int i = 0; i < 8; i++)
		*total += v[i];
	return 0;
}

int nb_cpuspare_check(struct nb_cpuspare *c)
{
	long long now = nb_xio_now_ms();
	unsigned long long idle, total;
	if (c->at_ms && now - c->at_ms < NB_CPUSPARE_INTERVAL_MS)
		return c->spare;
	if (nb_cpuspare_read(&idle, &total) != 0) {
		c->at_ms = 0;
		return c->spare = 1;
	}
	return nb_cpuspare_update(c, now, idle, total);
}
