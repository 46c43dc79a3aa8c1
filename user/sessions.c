/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Bounded hash tables of keyed hashes, and sessions; see sessions.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sessions.h"

#define HTAB_MIN_CAP 1024

void bv_htab_init(struct bv_htab *t, size_t max)
{
	memset(t, 0, sizeof(*t));
	t->max = max;
}

void bv_htab_free(struct bv_htab *t)
{
	free(t->e);
	t->e = NULL;
	t->cap = 0;
	t->n = 0;
}

struct bv_htab_ent *bv_htab_find(const struct bv_htab *t, uint64_t key)
{
	size_t mask, i;

	if (!key || !t->cap)
		return NULL;
	mask = t->cap - 1;
	for (i = key & mask;; i = (i + 1) & mask) {
		if (t->e[i].key == key)
			return &t->e[i];
		if (!t->e[i].key)
			return NULL;
	}
}

/* Inserts a key known to be absent; room is known to exist. */
static struct bv_htab_ent *htab_place(struct bv_htab_ent *e, size_t cap, uint64_t key, uint64_t val)
{
	size_t mask = cap - 1, i;

	for (i = key & mask; e[i].key; i = (i + 1) & mask)
		;
	e[i].key = key;
	e[i].val = val;
	return &e[i];
}

static int htab_grow(struct bv_htab *t)
{
	size_t ncap = t->cap ? t->cap * 2 : HTAB_MIN_CAP;
	struct bv_htab_ent *ne;

	if (ncap < t->cap) {
		errno = ENOMEM;
		return -1;
	}
	ne = calloc(ncap, sizeof(*ne));
	if (!ne)
		return -1;
	for (size_t i = 0; i < t->cap; i++)
		if (t->e[i].key)
			htab_place(ne, ncap, t->e[i].key, t->e[i].val);
	free(t->e);
	t->e = ne;
	t->cap = ncap;
	return 0;
}

struct bv_htab_ent *bv_htab_upsert(struct bv_htab *t, uint64_t key, int *created)
{
	struct bv_htab_ent *e;

	*created = 0;
	if (!key) {
		errno = EINVAL;
		return NULL;
	}
	e = bv_htab_find(t, key);
	if (e)
		return e;
	if (t->n >= t->max) {
		errno = ENOSPC;
		return NULL;
	}
	/* Load factor at most 3/4. */
	if ((t->n + 1) * 4 > t->cap * 3 && htab_grow(t))
		return NULL;
	t->n++;
	*created = 1;
	return htab_place(t->e, t->cap, key, 0);
}

/* Empties slot i and moves later members of its probe run back. */
static void htab_remove_at(struct bv_htab *t, size_t i)
{
	size_t mask = t->cap - 1, j = i;

	t->e[i].key = 0;
	t->e[i].val = 0;
	t->n--;
	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (!t->e[j].key)
			return;
		home = t->e[j].key & mask;
		/* Stays if its home lies cyclically in (i, j]. */
		if (i <= j ? (home > i && home <= j) : (home > i || home <= j))
			continue;
		t->e[i] = t->e[j];
		t->e[j].key = 0;
		t->e[j].val = 0;
		i = j;
	}
}

int bv_htab_delete(struct bv_htab *t, uint64_t key)
{
	struct bv_htab_ent *e = bv_htab_find(t, key);

	if (!e)
		return 0;
	htab_remove_at(t, (size_t)(e - t->e));
	return 1;
}

size_t bv_htab_sweep(struct bv_htab *t, int (*drop)(const struct bv_htab_ent *, void *), void *arg)
{
	size_t n = 0;

	/*
	 * Backward shifts only move entries into the hole, which is at or
	 * after i (or wraps into slots already visited, which hold kept
	 * entries): every entry is looked at, slot i again after a removal.
	 */
	for (size_t i = 0; i < t->cap; i++) {
		while (t->e[i].key && drop(&t->e[i], arg)) {
			htab_remove_at(t, i);
			n++;
		}
	}
	return n;
}

/* ---- sessions ------------------------------------------------------------ */

void bv_sessions_init(struct bv_sessions *s, size_t max, uint64_t timeout_ns)
{
	memset(s, 0, sizeof(*s));
	bv_htab_init(&s->t, max);
	s->timeout_ns = timeout_ns;
}

void bv_sessions_free(struct bv_sessions *s)
{
	bv_htab_free(&s->t);
}

/* Idle for longer than the timeout at now (a last-seen time after now,
 * from an event stamped later than the tick, is not idle). */
static inline int sess_idle(uint64_t last, uint64_t now, uint64_t timeout)
{
	return now > last && now - last > timeout;
}

enum bv_sess_touch bv_sessions_touch(struct bv_sessions *s, uint64_t sid, uint64_t ts_ns)
{
	struct bv_htab_ent *e;
	int created;

	e = bv_htab_upsert(&s->t, sid, &created);
	if (!e) {
		s->overflow++;
		return BV_SESS_OVERFLOW;
	}
	if (created || sess_idle(e->val, ts_ns, s->timeout_ns)) {
		if (!created)
			s->expired++;   /* idle too long, not swept yet */
		e->val = ts_ns;
		s->started++;
		return BV_SESS_STARTED;
	}
	if (ts_ns > e->val)
		e->val = ts_ns;
	return BV_SESS_CONTINUED;
}

struct expire_arg { uint64_t now, timeout; };

static int sess_drop(const struct bv_htab_ent *e, void *arg)
{
	const struct expire_arg *x = arg;

	return sess_idle(e->val, x->now, x->timeout);
}

size_t bv_sessions_expire(struct bv_sessions *s, uint64_t now_ns)
{
	struct expire_arg x = { now_ns, s->timeout_ns };
	size_t n = bv_htab_sweep(&s->t, sess_drop, &x);

	s->expired += n;
	return n;
}
