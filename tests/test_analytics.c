/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The daemon's analytics (user/analytics.c, user/sessions.c): the bounded
 * hash table, sessions expiring exactly after the timeout, new/returning
 * visitors only with user_tracking on (global or per application), the
 * unique-visitor sketch reset at a key epoch change, the k-anonymity gate
 * on per-application counts, per-interface counts, overflow counting and
 * the lock. Events are synthetic; timestamps are synthetic nanoseconds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics.h"
#include "config.h"
#include "sessions.h"

#define S (1000000000ULL)   /* ns per second */

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static struct bv_event ev(uint64_t ts, uint64_t visitor, uint64_t session, uint32_t epoch,
			  const char *app, uint8_t decision)
{
	struct bv_event e;

	memset(&e, 0, sizeof(e));
	e.ts_ns = ts;
	e.visitor = visitor;
	e.session = session;
	e.epoch = epoch;
	e.ifindex = 1;   /* lo */
	e.sig = BV_SIG_BEACON | (visitor ? BV_SIG_VISITOR : 0);
	e.decision = decision;
	if (app) {
		e.app_len = (uint8_t)strlen(app);
		memcpy(e.app, app, e.app_len);
	}
	return e;
}

static void feed(struct bv_analytics *a, struct bv_event e)
{
	bv_analytics_event(a, &e);
}

static struct bv_analytics_snap snap(struct bv_analytics *a)
{
	struct bv_analytics_snap s;

	assert_int_equal(bv_analytics_snapshot(a, &s), 0);
	return s;
}

static const struct bv_an_app_snap *snap_app(const struct bv_analytics_snap *s, const char *id)
{
	for (size_t i = 0; i < s->napps; i++)
		if (s->apps[i].len == strlen(id) && !memcmp(s->apps[i].id, id, s->apps[i].len))
			return &s->apps[i];
	return NULL;
}

/* ---- the table -------------------------------------------------------------- */

static int drop_odd(const struct bv_htab_ent *e, void *arg)
{
	(void)arg;
	return (int)(e->val & 1);
}

/* Against a plain array, with keys crowded into few home slots (long probe
 * runs, wrap-around at the end of the table) and random ones. */
static void test_htab_model(void **state)
{
	enum { N = 5000 };
	static uint64_t keys[N];
	static int present[N];
	struct bv_htab t;
	uint64_t seed = 7;
	int created;

	(void)state;
	bv_htab_init(&t, 100000);
	for (int i = 0; i < N; i++) {
		uint64_t r = splitmix64(&seed);

		/* a third of the keys share 4 home slots near the end of 1024 */
		keys[i] = i % 3 ? r | 1 : (r << 12) | (1020 + (r & 3));
	}
	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < N; i++) {
			uint64_t r = splitmix64(&seed);

			if (r & 1) {
				struct bv_htab_ent *e = bv_htab_upsert(&t, keys[i], &created);

				assert_non_null(e);
				assert_int_equal(created, !present[i]);
				e->val = (uint64_t)i;
				present[i] = 1;
			} else {
				assert_int_equal(bv_htab_delete(&t, keys[i]), present[i]);
				present[i] = 0;
			}
		}
		/* sweep away entries with odd values */
		{
			size_t expect = 0, got;

			for (int i = 0; i < N; i++)
				expect += present[i] && (i & 1);
			got = bv_htab_sweep(&t, drop_odd, NULL);
			assert_int_equal(got, expect);
			for (int i = 0; i < N; i++)
				if (i & 1)
					present[i] = 0;
		}
		{
			size_t n = 0;

			for (int i = 0; i < N; i++) {
				struct bv_htab_ent *e = bv_htab_find(&t, keys[i]);

				assert_int_equal(e != NULL, present[i]);
				if (e)
					assert_int_equal(e->val, (uint64_t)i);
				n += present[i];
			}
			assert_int_equal(t.n, n);
		}
	}
	assert_null(bv_htab_upsert(&t, 0, &created));   /* 0 is "no identifier" */
	assert_int_equal(errno, EINVAL);
	bv_htab_free(&t);
	assert_int_equal(t.n, 0);
	assert_null(bv_htab_find(&t, keys[0]));
}

static void test_htab_bounded(void **state)
{
	struct bv_htab t;
	int created;

	(void)state;
	bv_htab_init(&t, 3000);
	for (uint64_t k = 1; k <= 3000; k++)
		assert_non_null(bv_htab_upsert(&t, k * 0x9e3779b97f4a7c15ULL, &created));
	errno = 0;
	assert_null(bv_htab_upsert(&t, 0x1234567, &created));
	assert_int_equal(errno, ENOSPC);
	/* an existing key is still found when full */
	assert_non_null(bv_htab_upsert(&t, 5 * 0x9e3779b97f4a7c15ULL, &created));
	assert_int_equal(created, 0);
	assert_true(t.cap * 3 >= t.n * 4);   /* load <= 3/4 */
	assert_true(t.cap <= 4096);          /* no more than needed */
	bv_htab_free(&t);
}

/* ---- sessions ---------------------------------------------------------------- */

static void test_session_expires_exactly(void **state)
{
	struct bv_config cfg;
	struct bv_analytics *a;
	struct bv_analytics_snap s;
	const uint64_t t0 = 1000 * S, to = 1800 * S;

	(void)state;
	bv_config_defaults(&cfg);
	assert_int_equal(cfg.session_timeout_s, 1800);   /* the default: 30 min */
	a = bv_analytics_new(&cfg);
	assert_non_null(a);

	feed(a, ev(t0, 0, 0xa1, 1, NULL, BV_DEC_PASS));
	feed(a, ev(t0 + 5 * S, 0, 0xa2, 1, NULL, BV_DEC_PASS));
	bv_analytics_tick(a, t0 + to);          /* a1 idle exactly the timeout: active */
	s = snap(a);
	assert_int_equal(s.active_sessions, 2);
	assert_int_equal(s.sessions_started, 2);
	assert_int_equal(s.session_timeout_s, 1800);
	bv_analytics_snap_free(&s);

	bv_analytics_tick(a, t0 + to + 1);      /* 1 ns more: a1 gone, a2 not */
	s = snap(a);
	assert_int_equal(s.active_sessions, 1);
	assert_int_equal(s.sessions_expired, 1);
	bv_analytics_snap_free(&s);

	/* a beacon keeps a2 alive: idle is measured from the last one */
	feed(a, ev(t0 + 5 * S + to, 0, 0xa2, 1, NULL, BV_DEC_PASS));
	bv_analytics_tick(a, t0 + 5 * S + to + 1);
	s = snap(a);
	assert_int_equal(s.active_sessions, 1);
	assert_int_equal(s.sessions_started, 2);    /* continued, not restarted */
	bv_analytics_snap_free(&s);
	bv_analytics_tick(a, t0 + 5 * S + 2 * to + 1);
	s = snap(a);
	assert_int_equal(s.active_sessions, 0);
	bv_analytics_snap_free(&s);

	/* a1 comes back after the timeout: a new session */
	feed(a, ev(t0 + 10 * to, 0, 0xa1, 1, NULL, BV_DEC_PASS));
	s = snap(a);
	assert_int_equal(s.active_sessions, 1);
	assert_int_equal(s.sessions_started, 3);
	bv_analytics_snap_free(&s);
	bv_analytics_free(a);
}

/* Idle longer than the timeout but not swept yet: the next beacon starts a
 * new session. A configured timeout is used, and changes on reconfigure. */
static void test_session_restart_unswept_and_reconfigure(void **state)
{
	struct bv_config cfg;
	struct bv_analytics *a;
	struct bv_analytics_snap s;

	(void)state;
	bv_config_defaults(&cfg);
	cfg.session_timeout_s = 60;
	a = bv_analytics_new(&cfg);
	assert_non_null(a);
	feed(a, ev(100 * S, 0, 0xb1, 1, NULL, BV_DEC_PASS));
	feed(a, ev(160 * S, 0, 0xb1, 1, NULL, BV_DEC_PASS));      /* 60 s: same session */
	feed(a, ev(220 * S + 1, 0, 0xb1, 1, NULL, BV_DEC_PASS));  /* 60 s + 1 ns: new */
	s = snap(a);
	assert_int_equal(s.sessions_started, 2);
	assert_int_equal(s.sessions_expired, 1);
	assert_int_equal(s.active_sessions, 1);
	bv_analytics_snap_free(&s);

	cfg.session_timeout_s = 10;
	bv_analytics_reconfigure(a, &cfg);
	bv_analytics_tick(a, 220 * S + 1 + 10 * S + 1);
	s = snap(a);
	assert_int_equal(s.active_sessions, 0);
	assert_int_equal(s.session_timeout_s, 10);
	bv_analytics_snap_free(&s);
	bv_analytics_free(a);
}

static void test_session_overflow(void **state)
{
	struct bv_analytics_limits lim = { .sessions = 100 };
	struct bv_analytics *a = bv_analytics_new_limits(NULL, &lim);
	struct bv_analytics_snap s;
	uint64_t seed = 99;

	(void)state;
	assert_non_null(a);
	for (int i = 0; i < 150; i++)
		feed(a, ev(S, 0, splitmix64(&seed), 1, NULL, BV_DEC_PASS));
	s = snap(a);
	assert_int_equal(s.active_sessions, 100);
	assert_int_equal(s.overflow_sessions, 50);
	bv_analytics_snap_free(&s);
	/* room again once they expire */
	bv_analytics_tick(a, S + 1800 * S + 1);
	feed(a, ev(1900 * S, 0, 0xc0ffee, 1, NULL, BV_DEC_PASS));
	s = snap(a);
	assert_int_equal(s.active_sessions, 1);
	assert_int_equal(s.overflow_sessions, 50);
	bv_analytics_snap_free(&s);
	bv_analytics_free(a);
}

/* ---- visitors ------------------------------------------------------------------ */

/* V: first seen (new), same session again (nothing), a later session
 * (returning); W: new. */
static void visit_pattern(struct bv_analytics *a, const char *app)
{
	feed(a, ev(1 * S, 0x1111, 0x51, 1, app, BV_DEC_PASS));
	feed(a, ev(2 * S, 0x1111, 0x51, 1, app, BV_DEC_PASS));
	feed(a, ev(3 * S, 0x1111, 0x52, 1, app, BV_DEC_PASS));
	feed(a, ev(4 * S, 0x2222, 0x53, 1, app, BV_DEC_PASS));
}

static void test_new_returning_only_with_tracking(void **state)
{
	struct bv_config cfg;
	struct bv_analytics *a;
	struct bv_analytics_snap s;

	(void)state;
	bv_config_defaults(&cfg);
	assert_int_equal(cfg.global.user_tracking, 0);   /* off by default */
	a = bv_analytics_new(&cfg);
	assert_non_null(a);
	visit_pattern(a, NULL);
	s = snap(a);
	assert_int_equal(s.tracking, 0);
	assert_int_equal(s.visitors_new, 0);
	assert_int_equal(s.visitors_returning, 0);
	assert_true(fabs(s.visitors_unique - 2) < 0.1);   /* the sketch still counts */
	bv_analytics_snap_free(&s);
	bv_analytics_free(a);

	cfg.global.user_tracking = 1;
	a = bv_analytics_new(&cfg);
	assert_non_null(a);
	visit_pattern(a, NULL);
	/* a session restarting after the timeout is a return too */
	feed(a, ev(4 * S + 1800 * S + 1, 0x2222, 0x53, 1, NULL, BV_DEC_PASS));
	/* no visitor hash (anonymized): nothing */
	feed(a, ev(5 * S, 0, 0x54, 1, NULL, BV_DEC_ANONYMIZED));
	s = snap(a);
	assert_int_equal(s.tracking, 1);
	assert_int_equal(s.visitors_new, 2);
	assert_int_equal(s.visitors_returning, 2);
	bv_analytics_snap_free(&s);

	/* switched off live: no more counting, visitors forgotten */
	cfg.global.user_tracking = 0;
	bv_analytics_reconfigure(a, &cfg);
	feed(a, ev(6 * S, 0x3333, 0x55, 1, NULL, BV_DEC_PASS));
	feed(a, ev(7 * S, 0x1111, 0x56, 1, NULL, BV_DEC_PASS));
	s = snap(a);
	assert_int_equal(s.tracking, 0);
	assert_int_equal(s.visitors_new, 2);
	assert_int_equal(s.visitors_returning, 2);
	bv_analytics_snap_free(&s);
	/* on again: 0x1111 was forgotten, so it is new */
	cfg.global.user_tracking = 1;
	bv_analytics_reconfigure(a, &cfg);
	feed(a, ev(8 * S, 0x1111, 0x57, 1, NULL, BV_DEC_PASS));
	s = snap(a);
	assert_int_equal(s.visitors_new, 3);
	bv_analytics_snap_free(&s);
	bv_analytics_free(a);
}

/* The policy of the beacon decides: [app:trk] on with [global] off. */
static void test_tracking_per_app(void **state)
{
	struct bv_config cfg;
	struct bv_config_app apps[2];
	struct bv_analytics *a;
	struct bv_analytics_snap s;
	struct bv_event e;

	(void)state;
	bv_config_defaults(&cfg);
	memset(apps, 0, sizeof(apps));
	apps[0].key.kind = BV_APPKEY_APP;
	apps[0].key.len = 3;
	memcpy(apps[0].key.id, "trk", 3);
	apps[0].pol = cfg.global;
	apps[0].pol.user_tracking = 1;
	apps[1].key.kind = BV_APPKEY_APP;
	apps[1].key.len = 5;
	memcpy(apps[1].key.id, "notrk", 5);
	apps[1].pol = cfg.global;
	cfg.apps = apps;
	cfg.napps = 2;
	a = bv_analytics_new(&cfg);
	assert_non_null(a);

	/* app "trk" with its override applied (BV_SIG_APPPOL) */
	e = ev(1 * S, 0x1111, 0x51, 1, "trk", BV_DEC_PASS);
	e.sig |= BV_SIG_APPPOL;
	bv_analytics_event(a, &e);
	e = ev(2 * S, 0x1111, 0x52, 1, "trk", BV_DEC_PASS);
	e.sig |= BV_SIG_APPPOL;
	bv_analytics_event(a, &e);
	/* "notrk" (override off) and no-override beacons (global off) */
	e = ev(3 * S, 0x2222, 0x53, 1, "notrk", BV_DEC_PASS);
	e.sig |= BV_SIG_APPPOL;
	bv_analytics_event(a, &e);
	feed(a, ev(4 * S, 0x3333, 0x54, 1, "other", BV_DEC_PASS));
	feed(a, ev(5 * S, 0x1111, 0x55, 1, NULL, BV_DEC_PASS));
	s = snap(a);
	assert_int_equal(s.tracking, 1);
	assert_int_equal(s.visitors_new, 1);
	assert_int_equal(s.visitors_returning, 1);
	bv_analytics_snap_free(&s);
	bv_analytics_free(a);
}

static void test_visitor_overflow(void **state)
{
	struct bv_config cfg;
	struct bv_analytics_limits lim = { .visitors = 10 };
	struct bv_analytics *a;
	struct bv_analytics_snap s;

	(void)state;
	bv_config_defaults(&cfg);
	cfg.global.user_tracking = 1;
	a = bv_analytics_new_limits(&cfg, &lim);
	assert_non_null(a);
	for (uint64_t v = 1; v <= 15; v++)
		feed(a, ev(S, v * 0x10001, v, 1, NULL, BV_DEC_PASS));
	s = snap(a);
	assert_int_equal(s.visitors_new, 10);
	assert_int_equal(s.overflow_visitors, 5);
	assert_true(fabs(s.visitors_unique - 15) < 0.5);   /* the sketch has no cap */
	bv_analytics_snap_free(&s);
	bv_analytics_free(a);
}

/* ---- epochs ------------------------------------------------------------------ */

static void test_epoch_resets_uniques(void **state)
{
	struct bv_config cfg;
	struct bv_analytics *a;
	struct bv_analytics_snap s;
	uint64_t seed = 1234;

	(void)state;
	bv_config_defaults(&cfg);
	cfg.global.user_tracking = 1;
	a = bv_analytics_new(&cfg);
	assert_non_null(a);
	for (int i = 0; i < 5000; i++) {
		uint64_t v = splitmix64(&seed);

		feed(a, ev(S + (uint64_t)i, v, v ^ 0x55, 7, "shop", BV_DEC_PASS));
	}
	s = snap(a);
	assert_int_equal(s.epoch, 7);
	assert_true(fabs(s.visitors_unique - 5000) <= 3 * 0.0082 * 5000);
	assert_int_equal(s.active_sessions, 5000);
	assert_int_equal(s.visitors_new, 5000);
	assert_non_null(snap_app(&s, "shop"));
	bv_analytics_snap_free(&s);

	/* the daemon rotated the key: epoch 8 */
	feed(a, ev(2 * S, 0xfeed, 0xbeef, 8, "shop", BV_DEC_PASS));
	s = snap(a);
	assert_int_equal(s.epoch, 8);
	assert_int_equal(s.epoch_changes, 1);
	assert_true(fabs(s.visitors_unique - 1) < 0.1);
	assert_int_equal(s.active_sessions, 1);          /* old-key sessions dropped */
	assert_int_equal(s.visitors_new, 5001);          /* counter, not reset */
	/* the application qualified in epoch 7: stays exported */
	assert_non_null(snap_app(&s, "shop"));
	bv_analytics_snap_free(&s);

	/* an event of epoch 7 still in flight: decisions only */
	feed(a, ev(3 * S, 0xabcdef, 0x99, 7, "shop", BV_DEC_DROPPED_DNT));
	s = snap(a);
	assert_int_equal(s.epoch, 8);
	assert_int_equal(s.events_stale, 1);
	assert_true(fabs(s.visitors_unique - 1) < 0.1);
	assert_int_equal(s.active_sessions, 1);
	assert_int_equal(snap_app(&s, "shop")->dec[BV_DEC_DROPPED_DNT], 1);
	assert_int_equal(snap_app(&s, "shop")->dec[BV_DEC_PASS], 5001);
	bv_analytics_snap_free(&s);

	/* the same visitor in the new epoch is new again: no joining */
	feed(a, ev(4 * S, 0x1111, 0x1, 8, NULL, BV_DEC_PASS));
	feed(a, ev(5 * S, 0x1111, 0x2, 9, NULL, BV_DEC_PASS));
	s = snap(a);
	assert_int_equal(s.visitors_new, 5003);
	assert_int_equal(s.visitors_returning, 0);
	bv_analytics_snap_free(&s);
	bv_analytics_free(a);
}

/* ---- k-anonymity ---------------------------------------------------------------- */

static void test_k_anonymity(void **state)
{
	struct bv_config cfg;
	struct bv_analytics *a;
	struct bv_analytics_snap s;
	uint64_t seed = 77;

	(void)state;
	bv_config_defaults(&cfg);
	assert_int_equal(cfg.k_anonymity, 10);
	a = bv_analytics_new(&cfg);
	assert_non_null(a);

	/* "small": 9 distinct visitors, many beacons each; anonymized
	 * beacons (no visitor hash) do not count as visitors */
	for (int i = 0; i < 9; i++) {
		uint64_t v = splitmix64(&seed);

		for (int j = 0; j < 20; j++)
			feed(a, ev(S, v, v + 1, 1, "small", BV_DEC_PASS));
	}
	for (int i = 0; i < 50; i++)
		feed(a, ev(S, 0, 0, 1, "small", BV_DEC_ANONYMIZED));
	/* "big": exactly 10 */
	for (int i = 0; i < 10; i++)
		feed(a, ev(S, splitmix64(&seed), 0, 1, "big", BV_DEC_DROPPED_GPC));
	s = snap(a);
	assert_null(snap_app(&s, "small"));
	assert_non_null(snap_app(&s, "big"));
	assert_int_equal(snap_app(&s, "big")->dec[BV_DEC_DROPPED_GPC], 10);
	assert_int_equal(s.napps, 1);
	assert_int_equal(s.apps_hidden, 1);
	assert_int_equal(s.k, 10);
	bv_analytics_snap_free(&s);

	/* the tenth visitor of "small": shown, with everything counted before */
	feed(a, ev(S, splitmix64(&seed), 0, 1, "small", BV_DEC_PASS));
	s = snap(a);
	assert_non_null(snap_app(&s, "small"));
	assert_int_equal(snap_app(&s, "small")->dec[BV_DEC_PASS], 181);
	assert_int_equal(snap_app(&s, "small")->dec[BV_DEC_ANONYMIZED], 50);
	assert_int_equal(s.apps_hidden, 0);
	bv_analytics_snap_free(&s);

	/* raising k hides them again; lowering shows */
	cfg.k_anonymity = 11;
	bv_analytics_reconfigure(a, &cfg);
	s = snap(a);
	assert_int_equal(s.napps, 0);
	assert_int_equal(s.apps_hidden, 2);
	bv_analytics_snap_free(&s);
	cfg.k_anonymity = 1;
	bv_analytics_reconfigure(a, &cfg);
	s = snap(a);
	assert_int_equal(s.napps, 2);
	bv_analytics_snap_free(&s);
	bv_analytics_free(a);
}

/* Large k: beyond what occupied registers prove, the estimate less three
 * standard errors must reach k. */
static void test_k_anonymity_large_k(void **state)
{
	struct bv_config cfg;
	struct bv_analytics *a;
	struct bv_analytics_snap s;
	uint64_t seed = 4242;

	(void)state;
	bv_config_defaults(&cfg);
	cfg.k_anonymity = 2000;
	a = bv_analytics_new(&cfg);
	assert_non_null(a);
	for (int i = 0; i < 1900; i++)
		feed(a, ev(S, splitmix64(&seed), 0, 1, "mid", BV_DEC_PASS));
	for (int i = 0; i < 2600; i++)
		feed(a, ev(S, splitmix64(&seed), 0, 1, "large", BV_DEC_PASS));
	s = snap(a);
	assert_null(snap_app(&s, "mid"));
	assert_non_null(snap_app(&s, "large"));
	bv_analytics_snap_free(&s);
	bv_analytics_free(a);
}

/* The same visitors in two epochs are not added up: an application with 6
 * visitors per day for two days (k = 10) stays hidden. */
static void test_k_not_summed_across_epochs(void **state)
{
	struct bv_analytics *a = bv_analytics_new(NULL);
	struct bv_analytics_snap s;
	uint64_t seed = 5;

	(void)state;
	assert_non_null(a);
	for (uint32_t ep = 1; ep <= 3; ep++)
		for (int i = 0; i < 6; i++)
			feed(a, ev(ep * S, splitmix64(&seed), 0, ep, "tiny", BV_DEC_PASS));
	s = snap(a);
	assert_null(snap_app(&s, "tiny"));
	bv_analytics_snap_free(&s);
	bv_analytics_free(a);
}

static void test_app_overflow_and_reserved(void **state)
{
	struct bv_config cfg;
	struct bv_config_app app;
	struct bv_analytics_limits lim = { .apps = 3 };
	struct bv_analytics *a;
	struct bv_analytics_snap s;
	char id[16];

	(void)state;
	bv_config_defaults(&cfg);
	cfg.k_anonymity = 1;
	memset(&app, 0, sizeof(app));
	app.key.kind = BV_APPKEY_APP;
	app.key.len = 4;
	memcpy(app.key.id, "conf", 4);
	app.pol = cfg.global;
	cfg.apps = &app;
	cfg.napps = 1;
	a = bv_analytics_new_limits(&cfg, &lim);
	assert_non_null(a);
	for (int i = 0; i < 10; i++) {   /* a flood of made-up ids */
		snprintf(id, sizeof(id), "junk%d", i);
		feed(a, ev(S, 100 + (uint64_t)i, 0, 1, id, BV_DEC_PASS));
	}
	feed(a, ev(S, 999, 0, 1, "conf", BV_DEC_PASS));   /* configured: has its slot */
	s = snap(a);
	assert_int_equal(s.overflow_apps, 8);
	assert_non_null(snap_app(&s, "conf"));
	assert_non_null(snap_app(&s, "junk0"));
	assert_null(snap_app(&s, "junk2"));
	bv_analytics_snap_free(&s);
	bv_analytics_free(a);
}

/* ---- odd events ------------------------------------------------------------------ */

static void test_invalid_events(void **state)
{
	struct bv_analytics *a = bv_analytics_new(NULL);
	struct bv_analytics_snap s;
	struct bv_event e;

	(void)state;
	assert_non_null(a);
	e = ev(S, 1, 1, 1, NULL, BV_DEC_PASS);
	bv_analytics_event(a, &e);
	e.decision = BV_DEC_DROPPED_NO_CONSENT;
	bv_analytics_event(a, &e);
	e.ifindex = 999999;   /* no such interface: nothing here depends on it */
	bv_analytics_event(a, &e);
	bv_analytics_event(a, &e);
	e.decision = BV_DEC_MAX;   /* out of range */
	bv_analytics_event(a, &e);
	e.decision = BV_DEC_PASS;
	e.app_len = BV_EVENT_APP_LEN + 1;
	bv_analytics_event(a, &e);
	bv_analytics_event(a, NULL);
	bv_analytics_event(NULL, &e);
	bv_analytics_tick(NULL, 0);
	s = snap(a);
	assert_int_equal(s.events, 6);
	assert_int_equal(s.events_invalid, 2);
	bv_analytics_snap_free(&s);
	bv_analytics_free(a);
	bv_analytics_free(NULL);
}

/* Events on one thread, snapshots and ticks on another (run under a
 * sanitizer or helgrind to see races; here: no crash, consistent totals). */
struct thr { struct bv_analytics *a; int n; };

static void *producer(void *arg)
{
	struct thr *t = arg;
	uint64_t seed = 3;

	for (int i = 0; i < t->n; i++) {
		uint64_t v = splitmix64(&seed);
		char app[8];

		snprintf(app, sizeof(app), "a%d", (int)(v % 50));
		feed(t->a, ev((uint64_t)i * 1000, v, v >> 3, 1, app, (uint8_t)(v % BV_DEC_MAX)));
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct thr t = { bv_analytics_new(NULL), 200000 };
	struct bv_analytics_snap s;
	pthread_t th;

	(void)state;
	assert_non_null(t.a);
	assert_int_equal(pthread_create(&th, NULL, producer, &t), 0);
	for (int i = 0; i < 200; i++) {
		s = snap(t.a);
		assert_true(s.events <= (uint64_t)t.n);
		bv_analytics_snap_free(&s);
		bv_analytics_tick(t.a, (uint64_t)i * 1000000);
	}
	pthread_join(th, NULL);
	s = snap(t.a);
	assert_int_equal(s.events, (uint64_t)t.n);
	assert_int_equal(s.events_invalid, 0);
	assert_int_equal(s.napps, 50);
	bv_analytics_snap_free(&s);
	bv_analytics_free(t.a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_htab_model),
		cmocka_unit_test(test_htab_bounded),
		cmocka_unit_test(test_session_expires_exactly),
		cmocka_unit_test(test_session_restart_unswept_and_reconfigure),
		cmocka_unit_test(test_session_overflow),
		cmocka_unit_test(test_new_returning_only_with_tracking),
		cmocka_unit_test(test_tracking_per_app),
		cmocka_unit_test(test_visitor_overflow),
		cmocka_unit_test(test_epoch_resets_uniques),
		cmocka_unit_test(test_k_anonymity),
		cmocka_unit_test(test_k_anonymity_large_k),
		cmocka_unit_test(test_k_not_summed_across_epochs),
		cmocka_unit_test(test_app_overflow_and_reserved),
		cmocka_unit_test(test_invalid_events),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
