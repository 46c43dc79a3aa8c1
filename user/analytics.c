/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Sessions, unique visitors and per-application counts from the kernel's
 * events; see analytics.h and docs/METRICS.md. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "analytics.h"
#include "hll.h"
#include "sessions.h"

#define NS_PER_S 1000000000ULL

struct an_app {
	uint8_t len;
	char id[BV_EVENT_APP_LEN];
	bool trk_pol;              /* user_tracking when a per-app policy applied */
	uint32_t best_lb;          /* distinct visitors proved in an earlier epoch */
	uint64_t dec[BV_DEC_MAX];
	struct bv_hll hll;         /* this epoch's visitors; reg NULL until one */
};

/* The part of the config the analytics need: user_tracking of overrides. */
struct an_override {
	struct bv_app_key key;
	bool trk;
};

struct bv_analytics {
	pthread_mutex_t mu;
	struct bv_analytics_limits lim;

	/* config */
	uint64_t timeout_ns;
	unsigned timeout_s, k;
	bool global_trk;
	bool host_trk;             /* every [host:] override tracks (and one exists) */
	bool any_trk;
	struct an_override *ovr;
	size_t novr;

	/* epoch */
	bool have_epoch;
	uint32_t epoch;
	uint64_t epoch_changes;

	uint64_t events, events_invalid, events_stale;

	struct bv_hll uniq;
	struct bv_sessions sess;
	struct bv_htab visitors;   /* only with user_tracking on somewhere */
	uint64_t vis_new, vis_ret, vis_overflow;

	struct an_app **apps;
	size_t napps;
	uint32_t *app_idx;         /* open addressing into apps, UINT32_MAX empty */
	size_t app_idx_cap;
	uint64_t app_overflow;
};

/* ---- config ------------------------------------------------------------- */

static int an_load_config(struct bv_analytics *a, const struct bv_config *cfg)
{
	struct bv_config def;
	struct an_override *ovr = NULL;
	size_t nhost = 0, nhost_on = 0;

	if (!cfg) {
		bv_config_defaults(&def);
		cfg = &def;
	}
	if (cfg->napps > 0) {
		ovr = calloc((size_t)cfg->napps, sizeof(*ovr));
		if (!ovr)
			return -1;
	}
	a->any_trk = cfg->global.user_tracking == 1;
	for (int i = 0; i < cfg->napps; i++) {
		ovr[i].key = cfg->apps[i].key;
		ovr[i].trk = cfg->apps[i].pol.user_tracking == 1;
		if (ovr[i].trk)
			a->any_trk = true;
		if (ovr[i].key.kind == BV_APPKEY_HOST) {
			nhost++;
			nhost_on += ovr[i].trk;
		}
	}
	free(a->ovr);
	a->ovr = ovr;
	a->novr = cfg->napps > 0 ? (size_t)cfg->napps : 0;
	a->global_trk = cfg->global.user_tracking == 1;
	a->host_trk = nhost > 0 && nhost_on == nhost;
	a->timeout_s = cfg->session_timeout_s ? cfg->session_timeout_s : 30 * 60;
	a->timeout_ns = (uint64_t)a->timeout_s * NS_PER_S;
	a->k = cfg->k_anonymity ? cfg->k_anonymity : 10;
	return 0;
}

/*
 * user_tracking of a beacon that had a per-application policy (BV_SIG_APPPOL):
 * the [app:ID] override of its application id when one matches (the kernel
 * prefers it over Host), else a [host:] override, which the event does not
 * name: on only if every [host:] override has it on. An id of
 * BV_EVENT_APP_LEN bytes may have been cut: then every override it could
 * be must have tracking on.
 */
static bool an_trk_pol(const struct bv_analytics *a, const char *id, uint8_t len)
{
	bool cut = len == BV_EVENT_APP_LEN, found = false, all = true;

	if (len == 0)
		return a->host_trk;
	for (size_t i = 0; i < a->novr; i++) {
		const struct bv_app_key *k = &a->ovr[i].key;

		if (k->kind != BV_APPKEY_APP)
			continue;
		if (k->len == len ? !memcmp(k->id, id, len)
				  : (cut && k->len > len && !memcmp(k->id, id, len))) {
			found = true;
			all = all && a->ovr[i].trk;
		}
	}
	if (found && !cut)
		return all;
	if (cut) {
		bool hosts = false;

		for (size_t i = 0; i < a->novr; i++)
			hosts = hosts || a->ovr[i].key.kind == BV_APPKEY_HOST;
		if (hosts)
			all = all && a->host_trk;
		return (found || hosts) && all;
	}
	return a->host_trk;
}

/* ---- applications -------------------------------------------------------- */

static uint64_t app_hash(const char *id, uint8_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ len;   /* FNV-1a */

	for (uint8_t i = 0; i < len; i++) {
		h ^= (unsigned char)id[i];
		h *= 0x100000001b3ULL;
	}
	return h ^ (h >> 29);
}

static struct an_app *app_get(struct bv_analytics *a, const char *id, uint8_t len, bool create)
{
	size_t mask = a->app_idx_cap - 1, i;
	struct an_app *p;

	for (i = app_hash(id, len) & mask; a->app_idx[i] != UINT32_MAX; i = (i + 1) & mask) {
		p = a->apps[a->app_idx[i]];
		if (p->len == len && !memcmp(p->id, id, len))
			return p;
	}
	if (!create)
		return NULL;
	if (a->napps >= a->lim.apps)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->len = len;
	memcpy(p->id, id, len);
	p->trk_pol = an_trk_pol(a, id, len);
	a->app_idx[i] = (uint32_t)a->napps;
	a->apps[a->napps++] = p;
	return p;
}

/* Distinct visitors proved this epoch: the occupied registers (never more
 * than the truth), or the estimate less three standard errors once that
 * is larger. */
static uint32_t app_lb(const struct an_app *p)
{
	double est, lb;
	uint32_t occ;

	if (!p->hll.reg)
		return 0;
	occ = bv_hll_occupied(&p->hll);
	est = bv_hll_estimate(&p->hll);
	lb = floor(est * (1.0 - 3.0 * bv_hll_std_error(p->hll.p)));
	if (lb > (double)occ)
		return lb >= 4294967295.0 ? UINT32_MAX : (uint32_t)lb;
	return occ;
}

static bool app_visible(const struct bv_analytics *a, const struct an_app *p)
{
	return p->best_lb >= a->k || app_lb(p) >= a->k;
}

/* The configured [app:ID] sections are tracked first, so that a flood of
 * made-up ids cannot crowd them out of the table. */
static void an_reserve_apps(struct bv_analytics *a)
{
	for (size_t i = 0; i < a->novr; i++) {
		const struct bv_app_key *k = &a->ovr[i].key;

		if (k->kind == BV_APPKEY_APP && k->len > 0)
			app_get(a, k->id, k->len > BV_EVENT_APP_LEN ? BV_EVENT_APP_LEN : k->len, true);
	}
}

/* ---- life cycle ------------------------------------------------------- */

struct bv_analytics *bv_analytics_new_limits(const struct bv_config *cfg,
					     const struct bv_analytics_limits *lim)
{
	struct bv_analytics *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->lim.sessions = lim && lim->sessions ? lim->sessions : BV_AN_MAX_SESSIONS;
	a->lim.visitors = lim && lim->visitors ? lim->visitors : BV_AN_MAX_VISITORS;
	a->lim.apps = lim && lim->apps ? lim->apps : BV_AN_MAX_APPS;
	if (a->lim.apps >= UINT32_MAX / 4)
		a->lim.apps = UINT32_MAX / 4;
	for (a->app_idx_cap = 16; a->app_idx_cap < 2 * a->lim.apps; a->app_idx_cap *= 2)
		;
	if (pthread_mutex_init(&a->mu, NULL)) {
		free(a);
		return NULL;
	}
	a->apps = calloc(a->lim.apps, sizeof(*a->apps));
	a->app_idx = malloc(a->app_idx_cap * sizeof(*a->app_idx));
	if (!a->apps || !a->app_idx || bv_hll_init(&a->uniq, BV_AN_HLL_P) ||
	    an_load_config(a, cfg)) {
		bv_analytics_free(a);
		return NULL;
	}
	memset(a->app_idx, 0xff, a->app_idx_cap * sizeof(*a->app_idx));
	bv_sessions_init(&a->sess, a->lim.sessions, a->timeout_ns);
	bv_htab_init(&a->visitors, a->lim.visitors);
	an_reserve_apps(a);
	return a;
}

struct bv_analytics *bv_analytics_new(const struct bv_config *cfg)
{
	return bv_analytics_new_limits(cfg, NULL);
}

void bv_analytics_free(struct bv_analytics *a)
{
	if (!a)
		return;
	for (size_t i = 0; a->apps && i < a->napps; i++) {
		bv_hll_free(&a->apps[i]->hll);
		free(a->apps[i]);
	}
	free(a->apps);
	free(a->app_idx);
	free(a->ovr);
	bv_hll_free(&a->uniq);
	bv_sessions_free(&a->sess);
	bv_htab_free(&a->visitors);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

void bv_analytics_reconfigure(struct bv_analytics *a, const struct bv_config *cfg)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	if (an_load_config(a, cfg) == 0) {
		a->sess.timeout_ns = a->timeout_ns;
		for (size_t i = 0; i < a->napps; i++)
			a->apps[i]->trk_pol = an_trk_pol(a, a->apps[i]->id, a->apps[i]->len);
		/* Tracking off everywhere now: forget every visitor at once. */
		if (!a->any_trk)
			bv_htab_free(&a->visitors);
		an_reserve_apps(a);
	}
	pthread_mutex_unlock(&a->mu);
}

/* The policy the kernel applied to e: an override's, else [global]. */
static bool an_event_trk(const struct bv_analytics *a, const struct an_app *app,
			 const struct bv_event *e)
{
	if (e->sig & BV_SIG_APPPOL)
		return app ? app->trk_pol : an_trk_pol(a, e->app, e->app_len);
	return a->global_trk;
}

/* A newer key epoch: nothing hashed with the old key is kept. */
static void an_new_epoch(struct bv_analytics *a, uint32_t epoch)
{
	a->epoch = epoch;
	a->epoch_changes++;
	bv_hll_clear(&a->uniq);
	bv_sessions_free(&a->sess);
	bv_htab_free(&a->visitors);
	for (size_t i = 0; i < a->napps; i++) {
		struct an_app *p = a->apps[i];
		uint32_t lb = app_lb(p);

		if (lb > p->best_lb)
			p->best_lb = lb;
		bv_hll_free(&p->hll);
	}
}

void bv_analytics_event(struct bv_analytics *a, const struct bv_event *e)
{
	struct an_app *app = NULL;
	bool trk, current = true;
	enum bv_sess_touch st = BV_SESS_CONTINUED;

	if (!a || !e)
		return;
	pthread_mutex_lock(&a->mu);
	a->events++;
	if (e->decision >= BV_DEC_MAX || e->app_len > BV_EVENT_APP_LEN) {
		a->events_invalid++;
		goto out;
	}
	if (!a->have_epoch) {
		a->have_epoch = true;
		a->epoch = e->epoch;
	} else if (e->epoch != a->epoch) {
		/* Serial-number order: a later key has a larger epoch. */
		if ((int32_t)(e->epoch - a->epoch) > 0) {
			an_new_epoch(a, e->epoch);
		} else {
			a->events_stale++;
			current = false;
		}
	}

	if (e->app_len > 0) {
		app = app_get(a, e->app, e->app_len, true);
		if (app)
			app->dec[e->decision]++;
		else
			a->app_overflow++;
	}
	if (!current)
		goto out;

	if (e->session)
		st = bv_sessions_touch(&a->sess, e->session, e->ts_ns);
	if (!e->visitor)
		goto out;
	bv_hll_add(&a->uniq, e->visitor);
	if (app) {
		if (!app->hll.reg)
			bv_hll_init(&app->hll, BV_AN_APP_HLL_P);  /* ENOMEM: not counted */
		if (app->hll.reg)
			bv_hll_add(&app->hll, e->visitor);
	}

	trk = an_event_trk(a, app, e);
	if (trk) {
		int created;
		struct bv_htab_ent *v = bv_htab_upsert(&a->visitors, e->visitor, &created);

		if (!v)
			a->vis_overflow++;
		else if (created)
			a->vis_new++;
		else if (st == BV_SESS_STARTED)
			a->vis_ret++;    /* known visitor, new session */
	}
out:
	pthread_mutex_unlock(&a->mu);
}

int bv_analytics_tracks(struct bv_analytics *a, const struct bv_event *e)
{
	const struct an_app *app;
	bool trk;

	if (!a || !e || e->app_len > BV_EVENT_APP_LEN)
		return 0;
	pthread_mutex_lock(&a->mu);
	app = e->app_len ? app_get(a, e->app, e->app_len, false) : NULL;
	trk = an_event_trk(a, app, e);
	pthread_mutex_unlock(&a->mu);
	return trk;
}

void bv_analytics_tick(struct bv_analytics *a, uint64_t now_ns)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	bv_sessions_expire(&a->sess, now_ns);
	pthread_mutex_unlock(&a->mu);
}

/* ---- snapshot ------------------------------------------------------------- */

int bv_analytics_snapshot(struct bv_analytics *a, struct bv_analytics_snap *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_lock(&a->mu);
	s->apps = calloc(a->napps ? a->napps : 1, sizeof(*s->apps));
	if (!s->apps) {
		pthread_mutex_unlock(&a->mu);
		bv_analytics_snap_free(s);
		errno = ENOMEM;
		return -1;
	}
	s->events = a->events;
	s->events_invalid = a->events_invalid;
	s->events_stale = a->events_stale;
	s->have_epoch = a->have_epoch;
	s->epoch = a->epoch;
	s->epoch_changes = a->epoch_changes;
	s->active_sessions = bv_sessions_active(&a->sess);
	s->sessions_started = a->sess.started;
	s->sessions_expired = a->sess.expired;
	s->visitors_unique = bv_hll_estimate(&a->uniq);
	s->tracking = a->any_trk;
	s->visitors_new = a->vis_new;
	s->visitors_returning = a->vis_ret;
	s->k = a->k;
	s->session_timeout_s = a->timeout_s;
	s->overflow_sessions = a->sess.overflow;
	s->overflow_visitors = a->vis_overflow;
	s->overflow_apps = a->app_overflow;
	for (size_t i = 0; i < a->napps; i++) {
		const struct an_app *p = a->apps[i];
		struct bv_an_app_snap *d;

		if (!app_visible(a, p)) {
			/* Reserved config entries nobody sent yet are not "seen". */
			uint64_t n = 0;

			for (int r = 0; r < BV_DEC_MAX; r++)
				n += p->dec[r];
			s->apps_hidden += n > 0;
			continue;
		}
		d = &s->apps[s->napps++];
		d->len = p->len;
		memcpy(d->id, p->id, p->len);
		d->id[p->len] = '\0';
		memcpy(d->dec, p->dec, sizeof(d->dec));
	}
	pthread_mutex_unlock(&a->mu);
	return 0;
}

void bv_analytics_snap_free(struct bv_analytics_snap *s)
{
	if (!s)
		return;
	free(s->apps);
	s->apps = NULL;
	s->napps = 0;
}
