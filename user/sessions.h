/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Bounded tables of 64-bit keyed hashes (the kernel's SipHash outputs),
 * and sessions on top of one.
 *
 * bv_htab: open addressing, linear probing, backward-shift deletion, one
 * 64-bit value per key. Key 0 is "empty" and never stored (0 means "no
 * identifier" in struct bv_event). Starts small and doubles up to the slots
 * needed for `max` entries at load <= 3/4; inserting entry max+1 fails
 * (the caller counts an overflow). Keys are expected to be uniform already
 * (keyed hashes), so the low bits index the table directly.
 *
 * Not thread-safe: struct bv_analytics locks around them.
 */
#ifndef BV_SESSIONS_H
#define BV_SESSIONS_H

#include <stddef.h>
#include <stdint.h>

struct bv_htab_ent {
	uint64_t key;  /* 0: empty slot */
	uint64_t val;
};

struct bv_htab {
	struct bv_htab_ent *e;
	size_t cap;    /* slots, a power of two (0 before the first insert) */
	size_t n;      /* entries */
	size_t max;    /* most entries ever held */
};

void   bv_htab_init(struct bv_htab *t, size_t max);   /* allocates nothing */
void   bv_htab_free(struct bv_htab *t);                /* back to empty, max kept */
struct bv_htab_ent *bv_htab_find(const struct bv_htab *t, uint64_t key);
/*
 * The entry of key, inserted with val 0 if absent (*created = 1). NULL when
 * the table already holds max entries (errno ENOSPC), on ENOMEM, or for key 0
 * (EINVAL). The pointer is valid until the next insert or delete.
 */
struct bv_htab_ent *bv_htab_upsert(struct bv_htab *t, uint64_t key, int *created);
int    bv_htab_delete(struct bv_htab *t, uint64_t key);  /* 1 deleted, 0 absent */
/* Deletes every entry for which drop(entry, arg) is nonzero; returns how many. */
size_t bv_htab_sweep(struct bv_htab *t, int (*drop)(const struct bv_htab_ent *, void *), void *arg);

/*
 * Sessions keyed by the session hash, valued by the time they were last
 * seen (ns, CLOCK_MONOTONIC as bpf_ktime_get_ns). A session expires when it
 * has been idle for longer than the timeout: seen at t, it is still active
 * at t + timeout and gone at t + timeout + 1 ns. A beacon of an expired
 * session that was not swept yet starts a new session.
 */
struct bv_sessions {
	struct bv_htab t;
	uint64_t timeout_ns;
	uint64_t started;   /* sessions started (new, or after expiry) */
	uint64_t expired;   /* sessions ended by the timeout (swept or restarted) */
	uint64_t overflow;  /* beacons of a new session not tracked: table full */
};

enum bv_sess_touch {
	BV_SESS_CONTINUED = 0,
	BV_SESS_STARTED = 1,   /* first beacon of a session (or after expiry) */
	BV_SESS_OVERFLOW = -1, /* table full (or ENOMEM): not tracked */
};

void   bv_sessions_init(struct bv_sessions *s, size_t max, uint64_t timeout_ns);
void   bv_sessions_free(struct bv_sessions *s);   /* drops every session, counters kept */
enum bv_sess_touch bv_sessions_touch(struct bv_sessions *s, uint64_t sid, uint64_t ts_ns);
/* Removes sessions idle for longer than the timeout at now_ns; returns how many. */
size_t bv_sessions_expire(struct bv_sessions *s, uint64_t now_ns);
static inline size_t bv_sessions_active(const struct bv_sessions *s) { return s->t.n; }

#endif /* BV_SESSIONS_H */
