/*
 * The set of directories whose time the server is to be told, with the
 * candidates to look at (the contract is in dirtimes.h).
 */
#include "sync/dirtimes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wire/pathname.h"

struct nb_dirtime {
	struct nb_hnode node;
	struct nb_dirtime *prev, *next; /* all */
	struct nb_dirtime *cnext;	/* candidates */
	int listed;			/* among the candidates */
	int dirty;			/* its time is to be sent */
	int sent;			/* its time is on the wire */
	char path[];
};

int nb_dirtimes_init(struct nb_dirtimes *d)
{
	memset(d, 0, sizeof(*d));
	return nb_hmap_init(&d->map);
}

void nb_dirtimes_free(struct nb_dirtimes *d)
{
	for (struct nb_dirtime *t = d->all, *next; t; t = next) {
		next = t->next;
		free(t);
	}
	nb_hmap_free(&d->map);
	memset(d, 0, sizeof(*d));
}

static struct nb_dirtime *nb_dirtimes_find(const struct nb_dirtimes *d, const char *path)
{
	for (struct nb_hnode *n = nb_hmap_first(&d->map, nb_hash_str(path)); n;
	     n = nb_hmap_next(n)) {
		struct nb_dirtime *t = nb_container_of(n, struct nb_dirtime, node);
		if (strcmp(t->path, path) == 0)
			return t;
	}
	return NULL;
}

static void nb_dirtimes_list(struct nb_dirtimes *d, struct nb_dirtime *t)
{
	if (t->listed)
		return;
	t->listed = 1;
	t->cnext = NULL;
	if (d->ctail)
		d->ctail->cnext = t;
	else
		d->chead = t;
	d->ctail = t;
}

/* Out of the set; t must not be a candidate. */
static void nb_dirtimes_del(struct nb_dirtimes *d, struct nb_dirtime *t)
{
	nb_hmap_del(&d->map, &t->node);
	if (t->prev)
		t->prev->next = t->next;
	else
		d->all = t->next;
	if (t->next)
		t->next->prev = t->prev;
	d->count--;
	free(t);
}

int nb_dirtimes_mark(struct nb_dirtimes *d, const char *path)
{
	struct nb_dirtime *t = nb_dirtimes_find(d, path);
	if (!t) {
		size_t n = strlen(path);
		if (!(t = calloc(1, sizeof(*t) + n + 1)))
			return -ENOMEM;
		memcpy(t->path, path, n + 1);
		nb_hmap_add(&d->map, &t->node, nb_hash_str(t->path));
		t->next = d->all;
		if (d->all)
			d->all->prev = t;
		d->all = t;
		d->count++;
	}
	t->dirty = 1;
	if (!t->sent) /* else it is listed again when its answer comes */
		nb_dirtimes_list(d, t);
	return 0;
}

void nb_dirtimes_poke(struct nb_dirtimes *d, const char *path)
{
	char dir[NB_PATH_MAX + 1];
	size_t n = strlen(path);
	if (d->count == 0 || n > NB_PATH_MAX)
		return;
	memcpy(dir, path, n + 1);
	for (;;) {
		struct nb_dirtime *t = nb_dirtimes_find(d, dir);
		if (t && t->dirty && !t->sent)
			nb_dirtimes_list(d, t);
		if (!dir[0])
			break;
		dir[nb_path_parent_len(dir)] = 0;
	}
}

int nb_dirtimes_take(struct nb_dirtimes *d, int (*busy)(void *arg, const char *dir), void *arg,
		     char *out, size_t outsz)
{
	while (d->chead) {
		struct nb_dirtime *t = d->chead;
		d->chead = t->cnext;
		if (!d->chead)
			d->ctail = NULL;
		t->listed = 0;
		t->cnext = NULL;
		if (!t->dirty || t->sent || busy(arg, t->path))
			continue;
		size_t n = strlen(t->path);
		if (n >= outsz) { /* cannot be: paths are capped */
			nb_dirtimes_del(d, t);
			continue;
		}
		memcpy(out, t->path, n + 1);
		t->dirty = 0;
		t->sent = 1;
		return 1;
	}
	return 0;
}

void nb_dirtimes_settled(struct nb_dirtimes *d, const char *path, int again)
{
	struct nb_dirtime *t = nb_dirtimes_find(d, path);
	if (!t || !t->sent)
		return;
	t->sent = 0;
	if (again)
		t->dirty = 1;
	if (t->dirty)
		nb_dirtimes_list(d, t);
	else
		nb_dirtimes_del(d, t);
}

size_t nb_dirtimes_clear(struct nb_dirtimes *d)
{
	size_t n = 0;
	d->chead = d->ctail = NULL;
	for (struct nb_dirtime *t = d->all, *next; t; t = next) {
		next = t->next;
		t->listed = 0;
		t->cnext = NULL;
		if (!t->sent) {
			nb_dirtimes_del(d, t);
			n++;
		} else {
			t->dirty = 0;
		}
	}
	return n;
}

int nb_dirtimes_within(const struct nb_dirtimes *d, const char *dir)
{
	for (const struct nb_dirtime *t = d->all; t; t = t->next)
		if (nb_path_is_within(t->path, dir))
			return 1;
	return 0;
}

size_t nb_dirtimes_count(const struct nb_dirtimes *d)
{
	return d->count;
}
