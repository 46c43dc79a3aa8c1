/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the daemon learns from the kernel's events (struct bv_event): only
 * keyed hashes of identifiers, never addresses or cookie values.
 *
 * - Sessions keyed by the session hash, expiring after session_timeout_s of
 *   inactivity (default 30 min, as rxvt); the active-session gauge.
 * - Unique visitors of the current key epoch, estimated with HyperLogLog
 *   (p = 14, 0.81 % standard error). A newer epoch in an event (the daemon
 *   rotated bv_hash_key) resets the sketch, the session table and the
 *   visitor table: hashes of two epochs are never compared, so counts cannot
 *   be joined across key rotations. Events of an older epoch (still in the
 *   ring buffer at the rotation) count in the decision counters only.
 * - New vs returning visitors, only for beacons whose policy has
 *   user_tracking on (the policy the kernel applied to that beacon: the
 *   [app:ID] override matching the event's application id, a [host:NAME]
 *   override, or [global]; see docs/METRICS.md). Only then is a visitor hash
 *   remembered (for the rest of the epoch); with user_tracking off
 *   everywhere no visitor table exists at all.
 * - Decisions per application id; an application is exported only once it
 *   has been seen with at least k (k_anonymity) distinct visitors, proved by
 *   a small per-application sketch (no visitor hash is kept for this).
 *
 * Decisions per interface and the events received are not counted here but
 * read from the kernel's maps (user/kcounts.h): they must survive restarts.
 *
 * Thread safety: every function takes the object's mutex; events come from
 * the daemon's thread while the metrics thread takes snapshots. Memory is
 * bounded (limits below); what does not fit is counted as overflow.
 * bv_analytics_free() must not run while another thread uses the object
 * (stop the metrics server first).
 */
#ifndef BV_ANALYTICS_H
#define BV_ANALYTICS_H

#include <stddef.h>
#include <stdint.h>

#include "bv_abi.h"
#include "config.h"

/* Default limits (memory at the limit: sessions and visitors 32 MiB each,
 * applications about 5 MiB). */
#define BV_AN_MAX_SESSIONS (1u << 20)
#define BV_AN_MAX_VISITORS (1u << 20)
#define BV_AN_MAX_APPS     4096u
#define BV_AN_HLL_P        14   /* unique visitors */
#define BV_AN_APP_HLL_P    10   /* per application, for the k threshold */

struct bv_analytics;

struct bv_analytics *bv_analytics_new(const struct bv_config *cfg);   /* NULL cfg: defaults; NULL on ENOMEM */
void bv_analytics_event(struct bv_analytics *a, const struct bv_event *e);
void bv_analytics_tick(struct bv_analytics *a, uint64_t now_ns);   /* CLOCK_MONOTONIC ns, like bpf_ktime_get_ns */
/* Does user tracking apply to e (the rule of new/returning visitors)? The
 * fleet (user/fleet.h) shares known visitors only then. */
int  bv_analytics_tracks(struct bv_analytics *a, const struct bv_event *e);
void bv_analytics_reconfigure(struct bv_analytics *a, const struct bv_config *cfg);
void bv_analytics_free(struct bv_analytics *a);

/* Limits other than the defaults (tests; 0 keeps a default). */
struct bv_analytics_limits {
	size_t sessions, visitors, apps;
};
struct bv_analytics *bv_analytics_new_limits(const struct bv_config *cfg,
					     const struct bv_analytics_limits *lim);

/* ---- what may leave: a consistent copy, taken under the lock ------------- */

struct bv_an_app_snap {
	uint8_t len;                   /* bytes of id (raw, as the beacon sent it) */
	char id[BV_EVENT_APP_LEN + 1]; /* NUL-terminated too, but may hold any byte */
	uint64_t dec[BV_DEC_MAX];
};

struct bv_analytics_snap {
	uint64_t events;               /* events received by this object */
	uint64_t events_invalid;       /* decision or app_len out of range: ignored */
	uint64_t events_stale;         /* from an older key epoch: decisions counted only */
	int have_epoch;                /* an event was seen */
	uint32_t epoch;                /* key epoch of the current counts */
	uint64_t epoch_changes;
	uint64_t active_sessions;      /* after the last tick's expiry */
	uint64_t sessions_started, sessions_expired;
	double visitors_unique;        /* HLL estimate, current epoch */
	int tracking;                  /* user_tracking on in [global] or an override */
	uint64_t visitors_new, visitors_returning;
	unsigned k;                    /* k_anonymity */
	unsigned session_timeout_s;
	uint64_t overflow_sessions, overflow_visitors, overflow_apps;
	size_t napps;                  /* only applications with >= k distinct visitors */
	struct bv_an_app_snap *apps;
	size_t apps_hidden;            /* applications seen with fewer */
};

/* 0 ok, -1 ENOMEM (s zeroed). Free with bv_analytics_snap_free(). */
int  bv_analytics_snapshot(struct bv_analytics *a, struct bv_analytics_snap *s);
void bv_analytics_snap_free(struct bv_analytics_snap *s);

#endif /* BV_ANALYTICS_H */
