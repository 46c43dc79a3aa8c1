/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Fleet analytics in Redis; see fleet.h and docs/DAEMON.md "Fleet mode". */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>

#include <hiredis/hiredis.h>

#include "fleet.h"
#include "redis_hll.h"
#include "redis_url.h"
#include "sessions.h"
#include "siphash.h"

#define NSLOTS          2       /* the current period and the one before */
#define MAX_EPOCHS      8
#define SYNC_PER_TICK   16      /* sketches merged into Redis per tick */
#define READ_PER_TICK   64      /* per-application PFCOUNTs per tick */
#define RESYNC_MS       60000   /* every sketch merged again this often */
#define BACKOFF_MAX_MS  5000
#define PFADD_CHUNK     512
#define STD_ERR         0.0081  /* Redis' HyperLogLog: 1.04 / sqrt(16384) */

/* Merges the node's copy into the fleet's key and returns the union, in one
 * atomic step: the scratch key is never seen by anyone. */
static const char SYNC_LUA[] =
	"redis.call('SET', KEYS[2], ARGV[1], 'PX', 10000) "
	"redis.call('PFMERGE', KEYS[1], KEYS[2]) "
	"redis.call('DEL', KEYS[2]) "
	"redis.call('PEXPIREAT', KEYS[1], ARGV[2]) "
	"return redis.call('GET', KEYS[1])";

static const char *const COUNT_FIELDS[3] = { "sessions_started", "visitors_new",
					     "visitors_returning" };

struct fl_sketch {
	struct bv_rhll h;
	uint64_t apphash;                 /* 0: every application */
	uint8_t len;
	char id[BV_EVENT_APP_LEN];        /* for the metrics label; never sent */
	bool sync;                        /* to be merged into Redis */
	bool have_est;
	double est;
	uint32_t occupied;                /* non-empty registers at the last read */
};

struct fl_slot {
	bool used, have_key;
	int64_t n;
	char tag[24];
	uint64_t key[2];
	uint64_t death_ms;                /* the period's keys are deleted then */
	struct fl_sketch total;
	struct fl_sketch **apps;
	size_t napps;
	struct bv_htab appidx;            /* apphash -> index + 1 */
	bool have_figures;
	double visitors;
	uint64_t cnt[3];
};

struct fl_ent {
	uint64_t visitor, session, rt_ms;
	int16_t app;                      /* index in the slot's apps, -1 none */
	uint8_t slot;
	bool trk;
};

struct bv_fleet {
	pthread_mutex_t mu;
	struct bv_redis_url url;
	struct bv_fleet_opts o;
	redisContext *c;
	bool was_up;                      /* for one log line per outage */
	unsigned failures;
	uint64_t next_connect_ms, last_sync_ms, now_ms;
	int64_t off_ms;                   /* CLOCK_REALTIME - CLOCK_MONOTONIC */
	struct fl_slot slot[NSLOTS];
	struct { uint32_t epoch; int64_t n; } ep[MAX_EPOCHS];
	unsigned nep, ep_next;
	bool cur_shared;
	struct fl_ent *batch;
	size_t nbatch;
	size_t read_cursor;
	uint64_t connects, errors, key_restored, key_conflicts;
	uint64_t gap_visitors, gap_sessions, gap_apps, pfadds, merges;
};

/* ---- small helpers -------------------------------------------------------- */

#define FLOG(f, ...) do { if ((f)->o.log) (f)->o.log(__VA_ARGS__); } while (0)

static void tag_of(char *out, size_t n, int64_t period, unsigned len)
{
	time_t t = (time_t)(period * (int64_t)len);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, n, len == 86400 ? "%Y%m%d" : "%Y%m%dT%H%M%S", &tm);
}

static void key_hex(char out[33], const uint64_t k[2])
{
	snprintf(out, 33, "%016llx%016llx", (unsigned long long)k[0], (unsigned long long)k[1]);
}

static int key_parse(const char *s, size_t len, uint64_t k[2])
{
	char part[17];

	if (len != 32 || strspn(s, "0123456789abcdef") < 32)
		return -1;
	for (int i = 0; i < 2; i++) {
		memcpy(part, s + 16 * i, 16);
		part[16] = '\0';
		k[i] = strtoull(part, NULL, 16);
	}
	return 0;
}

static void hll_name(char *out, size_t n, const struct fl_slot *s, const struct fl_sketch *sk)
{
	if (sk->apphash)
		snprintf(out, n, "beaconveil:hll:%s:%016llx", s->tag, (unsigned long long)sk->apphash);
	else
		snprintf(out, n, "beaconveil:hll:%s", s->tag);
}

static void le64(uint8_t out[8], uint64_t v)
{
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(v >> (8 * i));
}

/* ---- connection ---------------------------------------------------------- */

static void disconnect(struct bv_fleet *f, const char *why)
{
	if (f->c) {
		redisFree(f->c);
		f->c = NULL;
	}
	f->errors++;
	f->next_connect_ms = f->now_ms + 1000;
	if (f->was_up)
		FLOG(f, "fleet: lost Redis (%s): counting on locally; visitors are merged "
		     "into Redis again once it answers", why);
	f->was_up = false;
}

/* A reply of the right shape, else NULL (I/O errors disconnect). */
static redisReply *reply(struct bv_fleet *f)
{
	void *r = NULL;

	if (!f->c)
		return NULL;
	if (redisGetReply(f->c, &r) != REDIS_OK || !r) {
		char why[128];

		snprintf(why, sizeof(why), "%s", f->c->errstr[0] ? f->c->errstr : "no reply");
		disconnect(f, why);   /* frees the context and its errstr */
		return NULL;
	}
	if (((redisReply *)r)->type == REDIS_REPLY_ERROR) {
		f->errors++;
		FLOG(f, "fleet: Redis error: %s", ((redisReply *)r)->str);
	}
	return r;
}

/* reply() for commands whose answer only matters when it is an error. */
static int drain(struct bv_fleet *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		redisReply *r = reply(f);

		if (!r)
			return -1;
		freeReplyObject(r);
	}
	return 0;
}

static int call_ok(redisReply *r)
{
	int ok = r && r->type != REDIS_REPLY_ERROR;

	if (r)
		freeReplyObject(r);
	return ok ? 0 : -1;
}

/* Every sketch is merged into Redis again (and its union taken back). */
static void resync_all(struct bv_fleet *f)
{
	f->last_sync_ms = f->now_ms;
	for (int i = 0; i < NSLOTS; i++) {
		f->slot[i].total.sync = f->slot[i].used;
		for (size_t j = 0; j < f->slot[i].napps; j++)
			f->slot[i].apps[j]->sync = true;
	}
}

static void connect_now(struct bv_fleet *f)
{
	int ms = f->o.timeout_ms > 0 ? f->o.timeout_ms : BV_FLEET_TIMEOUT_MS;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	char why[200];

	f->c = f->url.unix_socket ? redisConnectUnixWithTimeout(f->url.host, tv)
				  : redisConnectWithTimeout(f->url.host, f->url.port, tv);
	if (!f->c || f->c->err) {
		snprintf(why, sizeof(why), "%s", f->c ? f->c->errstr : "out of memory");
		goto fail;
	}
	redisSetTimeout(f->c, tv);
	if (f->url.password[0]) {
		redisReply *r = f->url.user[0] ?
			redisCommand(f->c, "AUTH %s %s", f->url.user, f->url.password) :
			redisCommand(f->c, "AUTH %s", f->url.password);

		if (call_ok(r)) {
			snprintf(why, sizeof(why), "AUTH refused");
			goto fail;
		}
	}
	if (f->url.db && call_ok(redisCommand(f->c, "SELECT %d", f->url.db))) {
		snprintf(why, sizeof(why), "SELECT %d refused", f->url.db);
		goto fail;
	}
	f->failures = 0;
	f->connects++;
	f->was_up = true;
	resync_all(f);   /* whatever happened meanwhile, the fleet gets all we have */
	FLOG(f, "fleet: connected to Redis at %s", f->url.host);
	return;
fail:
	if (f->c)
		redisFree(f->c);
	f->c = NULL;
	f->errors++;
	/* said once per outage (and at the first try) */
	if (f->was_up || (f->connects == 0 && f->failures == 0))
		FLOG(f, "fleet: Redis unreachable (%s): counting locally, and trying again", why);
	f->was_up = false;
	{
		uint64_t back = 1000ull << (f->failures < 3 ? f->failures : 3);

		f->failures++;
		f->next_connect_ms = f->now_ms + (back > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : back);
	}
}

/* ---- periods ------------------------------------------------------------- */

static struct fl_slot *slot_find(struct bv_fleet *f, int64_t n)
{
	for (int i = 0; i < NSLOTS; i++)
		if (f->slot[i].used && f->slot[i].n == n)
			return &f->slot[i];
	return NULL;
}

static void slot_clear_apps(struct fl_slot *s)
{
	for (size_t j = 0; j < s->napps; j++)
		free(s->apps[j]);
	free(s->apps);
	s->apps = NULL;
	s->napps = 0;
	bv_htab_free(&s->appidx);
}

static void flush_locked(struct bv_fleet *f);

/* The slot of period n, made by dropping the oldest one. */
static struct fl_slot *slot_get(struct bv_fleet *f, int64_t n)
{
	struct fl_slot *s = slot_find(f, n), *old = NULL;

	if (s)
		return s;
	for (int i = 0; i < NSLOTS; i++) {
		if (!f->slot[i].used) {
			old = &f->slot[i];
			break;
		}
		if (!old || f->slot[i].n < old->n)
			old = &f->slot[i];
	}
	if (old->used) {
		if (old->n > n)
			return NULL;     /* older than both we keep */
		flush_locked(f);   /* the batch may point into it */
		slot_clear_apps(old);
	}
	memset(old, 0, sizeof(*old));
	old->used = true;
	old->n = n;
	tag_of(old->tag, sizeof(old->tag), n, f->o.period_s);
	old->death_ms = (uint64_t)(n + 2) * f->o.period_s * 1000ull;
	bv_rhll_init(&old->total.h);
	old->total.sync = true;
	bv_htab_init(&old->appidx, BV_FLEET_APP_SKETCHES);
	return old;
}

/* GET (and with create, first SET NX of a random key) of period n's key. */
static int fetch_key(struct bv_fleet *f, struct fl_slot *s, int create)
{
	char name[64], hex[33];
	uint64_t k[2];
	redisReply *r;
	int ret = -1;

	if (!f->c)
		return -1;
	snprintf(name, sizeof(name), "beaconveil:key:%s", s->tag);
	if (create) {
		if (s->have_key) {
			memcpy(k, s->key, sizeof(k));
		} else if (getrandom(k, sizeof(k), 0) != sizeof(k)) {
			return -1;
		}
		key_hex(hex, k);
		redisAppendCommand(f->c, "SET %s %s NX PXAT %llu", name, hex,
				   (unsigned long long)s->death_ms);
	}
	redisAppendCommand(f->c, "GET %s", name);
	if (create) {
		r = reply(f);
		if (!r)
			return -1;
		if (r->type == REDIS_REPLY_STATUS && s->have_key) {
			f->key_restored++;
			resync_all(f);   /* Redis lost its data: the HyperLogLogs too */
			FLOG(f, "fleet: Redis had lost the hash key of period %s: put this node's "
			     "back", s->tag);
		} else if (r->type == REDIS_REPLY_STATUS) {
			FLOG(f, "fleet: made the hash key of period %s for the fleet", s->tag);
		}
		freeReplyObject(r);
	}
	r = reply(f);
	if (!r)
		return -1;
	if (r->type == REDIS_REPLY_STRING && key_parse(r->str, r->len, k) == 0) {
		if (s->have_key && (k[0] != s->key[0] || k[1] != s->key[1])) {
			/* made by a node that did not know ours (Redis lost it) */
			f->key_conflicts++;
			FLOG(f, "fleet: the hash key of period %s in Redis is not this node's: "
			     "taking it (visitors of the period may count twice)", s->tag);
			flush_locked(f);
			slot_clear_apps(s);
			bv_htab_init(&s->appidx, BV_FLEET_APP_SKETCHES);
			bv_rhll_init(&s->total.h);
			s->total.sync = true;
		}
		memcpy(s->key, k, sizeof(k));
		s->have_key = true;
		ret = 0;
	} else if (r->type != REDIS_REPLY_NIL && r->type != REDIS_REPLY_ERROR) {
		f->errors++;
	}
	freeReplyObject(r);
	memset(k, 0, sizeof(k));
	return ret;
}

/* ---- life cycle ----------------------------------------------------------- */

struct bv_fleet *bv_fleet_new(const struct bv_fleet_opts *o, char *err, size_t errlen)
{
	struct bv_fleet *f;
	char why[160];

	if (!o || !o->url || !o->period_s || 86400 % o->period_s) {
		snprintf(err, errlen, "fleet: no URL, or a key period that does not divide 24h");
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f || !(f->batch = calloc(BV_FLEET_BATCH, sizeof(*f->batch)))) {
		free(f);
		snprintf(err, errlen, "fleet: out of memory");
		return NULL;
	}
	if (bv_redis_url_parse(o->url, &f->url, why, sizeof(why))) {
		snprintf(err, errlen, "fleet: redis URL: %s", why);
		free(f->batch);
		free(f);
		return NULL;
	}
	f->o = *o;
	f->o.url = NULL;   /* may hold a password: kept parsed only */
	pthread_mutex_init(&f->mu, NULL);
	return f;
}

void bv_fleet_free(struct bv_fleet *f)
{
	if (!f)
		return;
	if (f->c)
		redisFree(f->c);
	for (int i = 0; i < NSLOTS; i++)
		slot_clear_apps(&f->slot[i]);
	free(f->batch);
	pthread_mutex_destroy(&f->mu);
	memset(&f->url, 0, sizeof(f->url));
	memset(f->slot, 0, sizeof(f->slot));
	free(f);
}

void bv_fleet_reconfigure(struct bv_fleet *f, const struct bv_fleet_opts *o)
{
	pthread_mutex_lock(&f->mu);
	f->o.session_timeout_s = o->session_timeout_s;
	f->o.visitor_lifetime_s = o->visitor_lifetime_s;
	f->o.k = o->k;
	pthread_mutex_unlock(&f->mu);
}

int64_t bv_fleet_period(const struct bv_fleet *f, uint64_t rt_ms)
{
	return (int64_t)(rt_ms / 1000 / f->o.period_s);
}

int bv_fleet_key(struct bv_fleet *f, int64_t n, int create, __u64 key[2])
{
	struct fl_slot *s;
	int ret = -1;

	pthread_mutex_lock(&f->mu);
	s = slot_find(f, n);
	if ((!s || !s->have_key) && f->c) {
		s = slot_get(f, n);
		if (s && fetch_key(f, s, create) == 0)
			s->total.sync = true;
	}
	if (s && s->have_key) {
		memcpy(key, s->key, 2 * sizeof(key[0]));
		ret = 0;
	}
	pthread_mutex_unlock(&f->mu);
	return ret;
}

void bv_fleet_bind(struct bv_fleet *f, uint32_t epoch, int64_t n)
{
	unsigned i;

	pthread_mutex_lock(&f->mu);
	for (i = 0; i < f->nep && f->ep[i].epoch != epoch; i++)
		;
	if (i == f->nep) {
		i = f->ep_next;
		f->ep_next = (f->ep_next + 1) % MAX_EPOCHS;
		if (f->nep < MAX_EPOCHS)
			f->nep++;
	}
	f->ep[i].epoch = epoch;
	f->ep[i].n = n;
	f->cur_shared = n >= 0;
	pthread_mutex_unlock(&f->mu);
}

/* ---- events ---------------------------------------------------------------- */

static int app_sketch(struct bv_fleet *f, struct fl_slot *s, const char *id, uint8_t len)
{
	uint64_t h = bv_siphash(s->key, id, len);
	struct bv_htab_ent *e;
	struct fl_sketch *sk, **na;
	int created;

	(void)f;
	if (!h)
		h = 1;
	e = bv_htab_find(&s->appidx, h);
	if (e)
		return (int)e->val - 1;
	if (s->napps >= BV_FLEET_APP_SKETCHES)
		return -1;
	na = realloc(s->apps, (s->napps + 1) * sizeof(*na));
	sk = calloc(1, sizeof(*sk));
	if (na)
		s->apps = na;
	if (!na || !sk || !(e = bv_htab_upsert(&s->appidx, h, &created))) {
		free(sk);
		return -1;
	}
	bv_rhll_init(&sk->h);
	sk->apphash = h;
	sk->len = len;
	memcpy(sk->id, id, len);
	sk->sync = true;      /* brings the fleet's copy of it back, too */
	s->apps[s->napps++] = sk;
	e->val = s->napps;
	return (int)s->napps - 1;
}

void bv_fleet_event(struct bv_fleet *f, const struct bv_event *e, int trk)
{
	struct fl_slot *s = NULL;
	struct fl_ent *b;
	uint8_t v[8];
	int app = -1;

	if (e->decision >= BV_DEC_MAX || e->app_len > BV_EVENT_APP_LEN || (!e->visitor && !e->session))
		return;
	pthread_mutex_lock(&f->mu);
	for (unsigned i = 0; i < f->nep; i++)
		if (f->ep[i].epoch == e->epoch && f->ep[i].n >= 0)
			s = slot_find(f, f->ep[i].n);
	if (!s || !s->have_key) {
		/* a node-local key, or a period long gone: never shared */
		f->gap_visitors += e->visitor != 0;
		f->gap_sessions += e->session || (trk && e->visitor);
		goto out;
	}
	if (e->visitor) {
		le64(v, e->visitor);
		bv_rhll_add(&s->total.h, v, sizeof(v));
		if (e->app_len) {
			app = app_sketch(f, s, e->app, e->app_len);
			if (app >= 0)
				bv_rhll_add(&s->apps[app]->h, v, sizeof(v));
			else
				f->gap_apps++;
		}
	}
	if (!f->c) {
		/* the sketches replay the visitor; sessions cannot be replayed */
		f->gap_sessions += e->session || (trk && e->visitor);
		goto out;
	}
	if (f->nbatch == BV_FLEET_BATCH)
		flush_locked(f);
	b = &f->batch[f->nbatch++];
	b->visitor = e->visitor;
	b->session = e->session;
	b->rt_ms = e->ts_ns / 1000000 + (uint64_t)f->off_ms;
	b->app = (int16_t)app;
	b->slot = (uint8_t)(s - f->slot);
	b->trk = trk && e->visitor;
out:
	pthread_mutex_unlock(&f->mu);
}

/* ---- flushing ---------------------------------------------------------------- */

static int by_app(const void *a, const void *b, void *base)
{
	const struct fl_ent *e = base, *x = &e[*(const uint32_t *)a], *y = &e[*(const uint32_t *)b];

	if (x->slot != y->slot)
		return x->slot - y->slot;
	return x->app - y->app;
}

/* PFADD of the visitors of idx[from..to) into sk, in chunks; returns commands. */
static size_t pfadd(struct bv_fleet *f, const struct fl_slot *s, const struct fl_sketch *sk,
		    const uint32_t *idx, size_t from, size_t to)
{
	const char *argv[PFADD_CHUNK + 2];
	size_t argl[PFADD_CHUNK + 2], cmds = 0, n = 0;
	uint8_t el[PFADD_CHUNK][8];
	char name[96];

	hll_name(name, sizeof(name), s, sk);
	argv[0] = "PFADD";
	argl[0] = 5;
	argv[1] = name;
	argl[1] = strlen(name);
	for (size_t i = from; i <= to; i++) {
		if (i < to && f->batch[idx[i]].visitor) {
			le64(el[n], f->batch[idx[i]].visitor);
			argv[2 + n] = (const char *)el[n];
			argl[2 + n] = 8;
			n++;
		}
		if (n && (n == PFADD_CHUNK || i == to)) {
			redisAppendCommandArgv(f->c, (int)n + 2, argv, argl);
			f->pfadds += n;
			cmds++;
			n = 0;
		}
	}
	if (cmds) {
		redisAppendCommand(f->c, "PEXPIREAT %s %llu", name, (unsigned long long)s->death_ms);
		cmds++;
	}
	return cmds;
}

static uint64_t clamp_at(const struct bv_fleet *f, uint64_t at, uint64_t death)
{
	if (at > death)
		at = death;
	return at <= f->now_ms ? f->now_ms + 1 : at;
}

/* beaconveil:KIND:<tag>:<hash> made if absent (its reply says whether it
 * was), its expiry at `at` or later: two commands. */
static void share(struct bv_fleet *f, const char *kind, const struct fl_slot *s, uint64_t hash,
		  uint64_t at)
{
	redisAppendCommand(f->c, "SET beaconveil:%s:%s:%016llx 1 NX PXAT %llu", kind, s->tag,
			   (unsigned long long)hash, (unsigned long long)at);
	redisAppendCommand(f->c, "PEXPIREAT beaconveil:%s:%s:%016llx %llu GT", kind, s->tag,
			   (unsigned long long)hash, (unsigned long long)at);
}

static void flush_locked(struct bv_fleet *f)
{
	size_t n = f->nbatch, cmds = 0;
	uint32_t *idx = NULL;
	uint8_t *st = NULL;     /* per entry: bit 0 session started, bit 1 visitor new, 2 known */
	uint64_t cnt[NSLOTS][3];

	if (!n)
		return;
	f->nbatch = 0;
	if (!f->c)
		goto gap;
	idx = malloc(n * sizeof(*idx));
	st = calloc(n, 1);
	if (!idx || !st)
		goto gap;
	for (size_t i = 0; i < n; i++)
		idx[i] = (uint32_t)i;
	qsort_r(idx, n, sizeof(*idx), by_app, f->batch);

	/* 1. PFADD: every visitor into its period's key, and its application's */
	for (size_t i = 0, j; i < n; i = j) {
		struct fl_slot *s = &f->slot[f->batch[idx[i]].slot];

		for (j = i; j < n && f->batch[idx[j]].slot == f->batch[idx[i]].slot; j++)
			;
		cmds += pfadd(f, s, &s->total, idx, i, j);
		for (size_t a = i, b; a < j; a = b) {
			int app = f->batch[idx[a]].app;

			for (b = a; b < j && f->batch[idx[b]].app == app; b++)
				;
			if (app >= 0)
				cmds += pfadd(f, s, s->apps[app], idx, a, b);
		}
	}
	if (drain(f, cmds))
		goto gap;

	/* 2. sessions and known visitors: SET NX says whether one is new; the
	 * expiry only ever moves forward (GT), whichever node saw it last */
	cmds = 0;
	for (size_t i = 0; i < n; i++) {
		const struct fl_ent *b = &f->batch[i];
		const struct fl_slot *s = &f->slot[b->slot];

		if (b->session) {
			share(f, "sess", s, b->session,
			      clamp_at(f, b->rt_ms + f->o.session_timeout_s * 1000ull, s->death_ms));
			cmds += 2;
		}
		if (b->trk) {
			share(f, "vis", s, b->visitor,
			      clamp_at(f, b->rt_ms + f->o.visitor_lifetime_s * 1000ull, s->death_ms));
			cmds += 2;
		}
	}
	memset(cnt, 0, sizeof(cnt));
	for (size_t i = 0; i < n; i++) {
		const struct fl_ent *b = &f->batch[i];

		for (int k = 0; k < 2; k++) {
			redisReply *r;

			if (!(k == 0 ? b->session != 0 : b->trk))
				continue;
			r = reply(f);
			if (!r)
				goto gap;
			if (r->type == REDIS_REPLY_STATUS)
				st[i] |= k == 0 ? 1 : 2;
			else if (r->type == REDIS_REPLY_NIL && k == 1)
				st[i] |= 4;
			freeReplyObject(r);
			if (drain(f, 1))
				goto gap;
		}
		cnt[b->slot][0] += st[i] & 1;
		cnt[b->slot][1] += (st[i] & 2) != 0;
		/* returning: a visitor already known starts a session */
		cnt[b->slot][2] += (st[i] & 5) == 5;
	}

	/* 3. the fleet's counters of each period */
	cmds = 0;
	for (int s = 0; s < NSLOTS; s++) {
		bool any = false;

		for (int k = 0; k < 3; k++) {
			if (!cnt[s][k])
				continue;
			redisAppendCommand(f->c, "HINCRBY beaconveil:count:%s %s %llu", f->slot[s].tag,
					   COUNT_FIELDS[k], (unsigned long long)cnt[s][k]);
			cmds++;
			any = true;
		}
		if (any) {
			redisAppendCommand(f->c, "PEXPIREAT beaconveil:count:%s %llu", f->slot[s].tag,
					   (unsigned long long)f->slot[s].death_ms);
			cmds++;
		}
	}
	drain(f, cmds);
	free(idx);
	free(st);
	return;
gap:
	/* visitors come back with the next merge; sessions are lost to the fleet */
	for (size_t i = 0; i < n; i++)
		f->gap_sessions += f->batch[i].session || f->batch[i].trk;
	free(idx);
	free(st);
}

void bv_fleet_flush(struct bv_fleet *f)
{
	pthread_mutex_lock(&f->mu);
	flush_locked(f);
	pthread_mutex_unlock(&f->mu);
}

/* ---- the tick ---------------------------------------------------------------- */

/* A few sketches up and the fleet's union back down, per tick. */
static void sync_some(struct bv_fleet *f)
{
	struct fl_sketch *todo[SYNC_PER_TICK];
	struct fl_slot *of[SYNC_PER_TICK];
	size_t n = 0;

	for (int i = 0; i < NSLOTS && n < SYNC_PER_TICK; i++) {
		struct fl_slot *s = &f->slot[i];

		if (!s->used || !s->have_key)
			continue;
		if (s->total.sync) {
			of[n] = s;
			todo[n++] = &s->total;
		}
		for (size_t j = 0; j < s->napps && n < SYNC_PER_TICK; j++)
			if (s->apps[j]->sync) {
				of[n] = s;
				todo[n++] = s->apps[j];
			}
	}
	for (size_t i = 0; i < n; i++) {
		char name[96], death[24];
		const char *argv[7] = { "EVAL", SYNC_LUA, "2", name, "beaconveil:tmp",
					(const char *)todo[i]->h.b, death };
		size_t argl[7];

		hll_name(name, sizeof(name), of[i], todo[i]);
		snprintf(death, sizeof(death), "%llu", (unsigned long long)of[i]->death_ms);
		for (int a = 0; a < 7; a++)
			argl[a] = strlen(argv[a]);
		argl[5] = BV_RHLL_SIZE;
		redisAppendCommandArgv(f->c, 7, argv, argl);
	}
	for (size_t i = 0; i < n; i++) {
		redisReply *r = reply(f);

		if (!r)
			return;
		todo[i]->sync = false;
		if (r->type == REDIS_REPLY_STRING &&
		    bv_rhll_merge(&todo[i]->h, r->str, r->len) == 0)
			f->merges++;
		else if (r->type != REDIS_REPLY_ERROR)
			f->errors++;
		freeReplyObject(r);
	}
}

static uint32_t occupied(const struct bv_rhll *h)
{
	uint32_t n = 0;

	for (unsigned r = 0; r < BV_RHLL_REGS; r++)
		n += bv_rhll_get(h, r) != 0;
	return n;
}

/* The fleet's figures of the current period: PFCOUNT reads every node. */
static void read_figures(struct bv_fleet *f, struct fl_slot *s)
{
	struct fl_sketch *apps[READ_PER_TICK];
	size_t na = 0;
	char name[96];
	redisReply *r;

	hll_name(name, sizeof(name), s, &s->total);
	redisAppendCommand(f->c, "PFCOUNT %s", name);
	redisAppendCommand(f->c, "HMGET beaconveil:count:%s %s %s %s", s->tag, COUNT_FIELDS[0],
			   COUNT_FIELDS[1], COUNT_FIELDS[2]);
	for (size_t i = 0; i < s->napps && na < READ_PER_TICK; i++) {
		struct fl_sketch *sk = s->apps[(f->read_cursor + i) % s->napps];

		hll_name(name, sizeof(name), s, sk);
		redisAppendCommand(f->c, "PFCOUNT %s", name);
		apps[na++] = sk;
	}
	if (s->napps)
		f->read_cursor = (f->read_cursor + na) % s->napps;
	if (!(r = reply(f)))
		return;
	if (r->type == REDIS_REPLY_INTEGER) {
		s->visitors = (double)r->integer;
		s->have_figures = true;
	}
	freeReplyObject(r);
	if (!(r = reply(f)))
		return;
	for (size_t k = 0; r->type == REDIS_REPLY_ARRAY && k < 3 && k < r->elements; k++) {
		const redisReply *e = r->element[k];

		s->cnt[k] = e->type == REDIS_REPLY_STRING ? strtoull(e->str, NULL, 10) : 0;
	}
	freeReplyObject(r);
	for (size_t i = 0; i < na; i++) {
		if (!(r = reply(f)))
			return;
		if (r->type == REDIS_REPLY_INTEGER) {
			apps[i]->est = (double)r->integer;
			apps[i]->have_est = true;
			apps[i]->occupied = occupied(&apps[i]->h);
		}
		freeReplyObject(r);
	}
}

void bv_fleet_tick(struct bv_fleet *f, uint64_t rt_ms, uint64_t mono_ns)
{
	struct fl_slot *s;
	int64_t n;

	pthread_mutex_lock(&f->mu);
	f->now_ms = rt_ms;
	f->off_ms = (int64_t)rt_ms - (int64_t)(mono_ns / 1000000);
	n = bv_fleet_period(f, rt_ms);
	if (!f->c && rt_ms >= f->next_connect_ms)
		connect_now(f);
	if (!f->c)
		goto out;
	/* the current period's key: made when missing, ours put back when
	 * Redis lost it, the fleet's taken when it differs */
	s = slot_get(f, n);
	if (s)
		fetch_key(f, s, 1);
	if (f->c && rt_ms - f->last_sync_ms >= RESYNC_MS)
		resync_all(f);
	if (f->c)
		sync_some(f);
	if (f->c && s && s->have_key)
		read_figures(f, s);
out:
	pthread_mutex_unlock(&f->mu);
}

/* ---- snapshot ------------------------------------------------------------------ */

int bv_fleet_snapshot(struct bv_fleet *f, struct bv_fleet_snap *out)
{
	struct fl_slot *s;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&f->mu);
	out->up = f->c != NULL;
	out->key_shared = f->cur_shared;
	out->connects = f->connects;
	out->errors = f->errors;
	out->key_restored = f->key_restored;
	out->key_conflicts = f->key_conflicts;
	out->gap_visitors = f->gap_visitors;
	out->gap_sessions = f->gap_sessions;
	out->gap_apps = f->gap_apps;
	out->pfadds = f->pfadds;
	out->merges = f->merges;
	for (int i = 0; i < NSLOTS; i++)
		if (f->slot[i].used)
			out->sketches += 1 + f->slot[i].napps;
	s = slot_find(f, bv_fleet_period(f, f->now_ms));
	if (s) {
		snprintf(out->period, sizeof(out->period), "%s", s->tag);
		out->have_figures = s->have_figures;
		out->visitors = s->visitors;
		out->sessions_started = s->cnt[0];
		out->visitors_new = s->cnt[1];
		out->visitors_returning = s->cnt[2];
		out->apps = calloc(s->napps ? s->napps : 1, sizeof(*out->apps));
		if (!out->apps) {
			pthread_mutex_unlock(&f->mu);
			return -1;
		}
		for (size_t j = 0; j < s->napps; j++) {
			const struct fl_sketch *sk = s->apps[j];
			double lb = floor(sk->est * (1.0 - 3.0 * STD_ERR));
			struct bv_fleet_app *a;

			if (!sk->have_est)
				continue;
			/* k distinct visitors proved: occupied registers never
			 * overcount, nor does the estimate less three errors */
			if ((double)sk->occupied < f->o.k && lb < f->o.k) {
				out->apps_hidden++;
				continue;
			}
			a = &out->apps[out->napps++];
			a->len = sk->len;
			memcpy(a->id, sk->id, sk->len);
			a->visitors = sk->est;
		}
	}
	pthread_mutex_unlock(&f->mu);
	return 0;
}

void bv_fleet_snap_free(struct bv_fleet_snap *s)
{
	if (!s)
		return;
	free(s->apps);
	s->apps = NULL;
	s->napps = 0;
}
