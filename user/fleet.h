/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Fleet analytics with Redis as the shared engine (`[fleet] redis`;
 * docs/DAEMON.md "Fleet mode", docs/METRICS.md "Fleet figures").
 *
 * Every node behind one load balancer hashes visitors and sessions with the
 * same key, made once for the fleet per key period (SET NX, deleted two
 * periods after the period began), and adds what it sees to Redis:
 *
 *   beaconveil:key:<tag>            the period's hash key (32 hex digits)
 *   beaconveil:hll:<tag>            visitor hashes, PFADD (all applications)
 *   beaconveil:hll:<tag>:<app>      the same per application; <app> is the
 *                                   SipHash of its id under the period key
 *   beaconveil:sess:<tag>:<hash>    a live session, PXAT last beacon + timeout
 *   beaconveil:vis:<tag>:<hash>     a known visitor (user tracking only),
 *                                   PXAT last beacon + visitor_lifetime
 *   beaconveil:count:<tag>          sessions_started, visitors_new,
 *                                   visitors_returning (HINCRBY)
 *
 * <tag> is the period's UTC start (YYYYMMDD for 24 h periods, else
 * YYYYMMDDTHHMMSS). Nothing else is written: no address, no cookie value,
 * no application id; every key expires.
 *
 * Redis down: events are still counted by the node (user/analytics.c). Each
 * HyperLogLog this node adds to is kept in Redis' own encoding
 * (user/redis_hll.h) and merged into Redis again at every (re)connection and
 * every minute, with the fleet's copy merged back into it: visitors are
 * replayed without loss in bounded memory. Session and new/returning state
 * is not replayed (it is about timing; a late replay would invent sessions):
 * what could not be shared is counted as a gap.
 *
 * Redis calls are synchronous with a timeout (connect and every reply),
 * pipelined, and bounded per call; after a failure the node reconnects with
 * a back-off of at most 5 s. Thread safety: every function locks.
 */
#ifndef BV_FLEET_H
#define BV_FLEET_H

#include <stddef.h>
#include <stdint.h>

#include "bv_abi.h"

#define BV_FLEET_BATCH       4096   /* events between two flushes, at most */
#define BV_FLEET_APP_SKETCHES 512   /* per-application sketches per period */
#define BV_FLEET_TIMEOUT_MS   250   /* connect, and each reply */

struct bv_fleet_opts {
	const char *url;                 /* [fleet] redis */
	unsigned period_s;               /* [daemon] key_rotation; divides 86400 */
	unsigned session_timeout_s;
	unsigned visitor_lifetime_s;
	unsigned k;                      /* k_anonymity, for per-application figures */
	int timeout_ms;                  /* 0: BV_FLEET_TIMEOUT_MS */
	void (*log)(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
};

struct bv_fleet;

/* NULL with the cause in err (bad URL, ENOMEM). Does not connect yet. */
struct bv_fleet *bv_fleet_new(const struct bv_fleet_opts *o, char *err, size_t errlen);
void bv_fleet_free(struct bv_fleet *f);
/* New timeouts, lifetime and k (SIGHUP); the URL and period stay. */
void bv_fleet_reconfigure(struct bv_fleet *f, const struct bv_fleet_opts *o);

/* The key period of a wall-clock time (ms since the Unix epoch). */
int64_t bv_fleet_period(const struct bv_fleet *f, uint64_t rt_ms);

/*
 * Connects when needed, follows the period, checks the fleet key in Redis
 * (puts ours back when Redis lost it), merges sketches into Redis (a few per
 * call), reads the fleet figures. Once a second. rt_ms: CLOCK_REALTIME,
 * mono_ns: CLOCK_MONOTONIC (the clock of the events' ts_ns).
 */
void bv_fleet_tick(struct bv_fleet *f, uint64_t rt_ms, uint64_t mono_ns);

/*
 * The fleet key of period n, into key: the one known, else (when connected
 * and create) the one in Redis, made now with SET NX if there is none.
 * 0 ok; -1 unavailable (Redis unreachable).
 */
int bv_fleet_key(struct bv_fleet *f, int64_t n, int create, __u64 key[2]);

/*
 * The kernel now hashes with epoch's key: the fleet key of period n, or a
 * node-local key (n < 0), whose hashes never reach Redis. Events of an
 * epoch bound to a period are shared with that period, also after the next
 * rotation (in flight, or waiting in the ring for a restarted daemon).
 */
void bv_fleet_bind(struct bv_fleet *f, uint32_t epoch, int64_t n);

/* One kernel event; trk: user tracking applies to it (analytics' rule). */
void bv_fleet_event(struct bv_fleet *f, const struct bv_event *e, int trk);
/* Sends what the events since the last flush gave (one or two pipelines). */
void bv_fleet_flush(struct bv_fleet *f);

struct bv_fleet_app {
	uint8_t len;
	char id[BV_EVENT_APP_LEN + 1];
	double visitors;
};

struct bv_fleet_snap {
	int up;                          /* connected */
	int key_shared;                  /* the kernel hashes with the fleet key */
	char period[24];                 /* tag of the current period */
	uint64_t connects, errors, key_restored, key_conflicts;
	uint64_t gap_visitors, gap_sessions, gap_apps;
	uint64_t pfadds, merges;
	size_t sketches;
	int have_figures;                /* read from Redis at least once this period */
	double visitors;                 /* PFCOUNT of the period's key */
	uint64_t sessions_started, visitors_new, visitors_returning;
	size_t napps, apps_hidden;       /* only applications with >= k fleet visitors */
	struct bv_fleet_app *apps;
};

/* 0 ok, -1 ENOMEM. Free with bv_fleet_snap_free(). */
int  bv_fleet_snapshot(struct bv_fleet *f, struct bv_fleet_snap *s);
void bv_fleet_snap_free(struct bv_fleet_snap *s);

#endif /* BV_FLEET_H */
