/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The Redis side of fleet analytics (user/fleet.c, user/redis_hll.c,
 * user/redis_url.c, user/siphash.c) against a real redis-server (Debian's,
 * tools/deps/fleet.list) started here on a unix socket, without persistence:
 * our HyperLogLog encoding is Redis' own bit for bit (dense and sparse), two
 * nodes share one key per period and count a visitor seen by both once,
 * sessions and known visitors are shared with their expiries, every key
 * expires, and a Redis restart loses no visitor (the nodes' copies are
 * merged back, the key put back). Needs no root.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <hiredis/hiredis.h>

#include "fleet.h"
#include "redis_hll.h"
#include "redis_url.h"
#include "siphash.h"

static char dir[64], sock[128], url[160];
static pid_t redis_pid;
static redisContext *rc;

static uint64_t now_clock(clockid_t c, uint64_t div)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec) / div;
}
#define RT_MS()   now_clock(CLOCK_REALTIME, 1000000)
#define MONO_NS() now_clock(CLOCK_MONOTONIC, 1)

static void redis_start(void)
{
	redis_pid = fork();
	assert_true(redis_pid >= 0);
	if (redis_pid == 0) {
		char log[160];

		snprintf(log, sizeof(log), "%s/redis.log", dir);
		execlp("redis-server", "redis-server", "--port", "0", "--unixsocket", sock,
		       "--unixsocketperm", "700", "--save", "", "--appendonly", "no", "--dir", dir,
		       "--logfile", log, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100; i++) {
		struct timeval tv = { 1, 0 };

		rc = redisConnectUnixWithTimeout(sock, tv);
		if (rc && !rc->err)
			return;
		if (rc)
			redisFree(rc);
		rc = NULL;
		usleep(50000);
	}
	fail_msg("redis-server did not start (Debian package redis-server; see %s/redis.log)", dir);
}

static void redis_stop(void)
{
	if (rc)
		redisFree(rc);
	rc = NULL;
	if (redis_pid > 0) {
		kill(redis_pid, SIGKILL);
		waitpid(redis_pid, NULL, 0);
	}
	redis_pid = 0;
	unlink(sock);
}

static redisReply *cmd(const char *fmt, ...)
{
	va_list ap;
	redisReply *r;

	va_start(ap, fmt);
	r = redisvCommand(rc, fmt, ap);
	va_end(ap);
	assert_non_null(r);
	return r;
}

static long long cmd_int(const char *fmt, const char *arg)
{
	redisReply *r = cmd(fmt, arg);
	long long v = r->integer;

	assert_int_equal(r->type, REDIS_REPLY_INTEGER);
	freeReplyObject(r);
	return v;
}

static int setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);   /* as the daemon: a dead Redis is an error, not a signal */
	snprintf(dir, sizeof(dir), "/tmp/test_fleet.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/redis.sock", dir);
	snprintf(url, sizeof(url), "unix://%s", sock);
	redis_start();
	return 0;
}

static int teardown(void **state)
{
	char log[160];

	(void)state;
	redis_stop();
	snprintf(log, sizeof(log), "%s/redis.log", dir);
	unlink(log);
	rmdir(dir);
	return 0;
}

/* ---- building blocks ------------------------------------------------------- */

static void test_siphash_vector(void **state)
{
	uint8_t msg[15];
	const uint64_t k[2] = { 0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL };

	(void)state;
	for (int i = 0; i < 15; i++)
		msg[i] = (uint8_t)i;
	/* the published SipHash-2-4 vector of a 15-byte message */
	assert_true(bv_siphash(k, msg, 15) == 0xa129ca6149be45e5ULL);
}

static void test_url(void **state)
{
	struct bv_redis_url u;
	char err[160];

	(void)state;
	assert_int_equal(bv_redis_url_parse("redis://127.0.0.1:6380/2", &u, err, sizeof(err)), 0);
	assert_string_equal(u.host, "127.0.0.1");
	assert_int_equal(u.port, 6380);
	assert_int_equal(u.db, 2);
	assert_int_equal(bv_redis_url_parse("redis://redis.example", &u, err, sizeof(err)), 0);
	assert_int_equal(u.port, 6379);
	assert_int_equal(bv_redis_url_parse("redis://:s3cret@[2001:db8::1]:7000/0", &u, err,
					    sizeof(err)), 0);
	assert_string_equal(u.host, "2001:db8::1");
	assert_string_equal(u.password, "s3cret");
	assert_int_equal(u.port, 7000);
	assert_int_equal(bv_redis_url_parse("redis://bv:pw@h", &u, err, sizeof(err)), 0);
	assert_string_equal(u.user, "bv");
	assert_int_equal(bv_redis_url_parse("unix:///run/redis/redis.sock?db=3", &u, err,
					    sizeof(err)), 0);
	assert_true(u.unix_socket);
	assert_string_equal(u.host, "/run/redis/redis.sock");
	assert_int_equal(u.db, 3);
	for (const char *const *b = (const char *const[]){ "http://h", "redis://", "redis://h:0",
			"redis://h:99999", "redis://h/x", "redis://pw@h", "unix://rel.sock",
			"unix:///s?db=x", "redis://[::1", NULL }; *b; b++)
		if (bv_redis_url_parse(*b, &u, err, sizeof(err)) == 0)
			fail_msg("'%s' accepted", *b);
	/* a password is never in a message */
	assert_int_equal(bv_redis_url_parse("redis://:hunter2@h:x", &u, err, sizeof(err)), -1);
	assert_null(strstr(err, "hunter2"));
}

/* Our encoding is Redis': the same elements give the same registers, and
 * Redis takes our string as a HyperLogLog. */
static void check_rhll(unsigned n, const char *key)
{
	struct bv_rhll mine, theirs;
	redisReply *r;

	bv_rhll_init(&mine);
	bv_rhll_init(&theirs);
	for (uint64_t i = 1; i <= n; i++) {
		uint64_t v = i * 0x9e3779b97f4a7c15ULL;

		bv_rhll_add(&mine, &v, 8);
		r = cmd("PFADD %s %b", key, &v, (size_t)8);
		freeReplyObject(r);
	}
	r = cmd("GET %s", key);
	assert_int_equal(r->type, REDIS_REPLY_STRING);
	assert_int_equal(bv_rhll_merge(&theirs, r->str, r->len), 0);
	freeReplyObject(r);
	for (unsigned i = 0; i < BV_RHLL_REGS; i++)
		if (bv_rhll_get(&mine, i) != bv_rhll_get(&theirs, i))
			fail_msg("%u elements: register %u: ours %u, Redis %u", n, i,
				 bv_rhll_get(&mine, i), bv_rhll_get(&theirs, i));
	r = cmd("SET t:mine %b", mine.b, (size_t)BV_RHLL_SIZE);
	freeReplyObject(r);
	assert_int_equal(cmd_int("PFCOUNT %s", "t:mine"), cmd_int("PFCOUNT %s", key));
	r = cmd("DEL t:mine %s", key);
	freeReplyObject(r);
}

static void test_rhll_is_redis(void **state)
{
	struct bv_rhll h;

	(void)state;
	check_rhll(20, "t:sparse");      /* Redis keeps small sketches sparse */
	check_rhll(20000, "t:dense");
	bv_rhll_init(&h);
	assert_true(bv_rhll_empty(&h));
	assert_int_equal(bv_rhll_merge(&h, "HYLL", 4), -1);
	assert_int_equal(bv_rhll_merge(&h, "nonsense........", 16), -1);
}

/* ---- two nodes ------------------------------------------------------------------ */

static struct bv_fleet *node(unsigned k)
{
	struct bv_fleet_opts o = { .url = url, .period_s = 86400, .session_timeout_s = 30,
				   .visitor_lifetime_s = 60, .k = k };
	char err[200];
	struct bv_fleet *f = bv_fleet_new(&o, err, sizeof(err));

	if (!f)
		fail_msg("%s", err);
	return f;
}

static void tick(struct bv_fleet *f)
{
	bv_fleet_tick(f, RT_MS(), MONO_NS());
}

static void send_visitors(struct bv_fleet *f, uint32_t epoch, uint64_t from, uint64_t to,
			  const char *app)
{
	for (uint64_t i = from; i < to; i++) {
		struct bv_event e;

		memset(&e, 0, sizeof(e));
		e.ts_ns = MONO_NS();
		e.visitor = i * 0x9e3779b97f4a7c15ULL;
		e.session = e.visitor ^ 0x5555;
		e.epoch = epoch;
		e.sig = BV_SIG_BEACON | BV_SIG_VISITOR;
		e.app_len = (uint8_t)strlen(app);
		memcpy(e.app, app, e.app_len);
		bv_fleet_event(f, &e, 1);
	}
	bv_fleet_flush(f);
}

static struct bv_fleet_snap snap(struct bv_fleet *f)
{
	struct bv_fleet_snap s;

	assert_int_equal(bv_fleet_snapshot(f, &s), 0);
	return s;
}

static void assert_within_3se(double est, double truth)
{
	if (fabs(est - truth) > 3 * 0.0081 * truth)
		fail_msg("estimate %.0f, truth %.0f: more than 3 standard errors off", est, truth);
}

/* Every key is one of ours, expires, and holds no identifier. */
static void check_keys(const char *tag)
{
	redisReply *r = cmd("KEYS *");

	assert_true(r->elements > 0);
	for (size_t i = 0; i < r->elements; i++) {
		const char *k = r->element[i]->str;
		long long ttl = cmd_int("PTTL %s", k);
		char pfx[80];
		bool ok = false;

		for (const char *const *p = (const char *const[]){ "key:", "hll:", "sess:", "vis:",
				"count:", NULL }; *p; p++) {
			snprintf(pfx, sizeof(pfx), "beaconveil:%s%s", *p, tag);
			ok = ok || !strncmp(k, pfx, strlen(pfx));
		}
		if (!ok)
			fail_msg("key %s is not one of the fleet's", k);
		if (ttl <= 0 || ttl > 48 * 3600 * 1000LL)
			fail_msg("key %s: PTTL %lld", k, ttl);
		if (!strncmp(k, "beaconveil:sess:", 16) && ttl > 30000)
			fail_msg("session key %s lives %lld ms, timeout 30 s", k, ttl);
		if (!strncmp(k, "beaconveil:vis:", 15) && ttl > 60000)
			fail_msg("visitor key %s lives %lld ms, lifetime 60 s", k, ttl);
	}
	freeReplyObject(r);
}

static void test_two_nodes_and_a_redis_restart(void **state)
{
	struct bv_fleet *a = node(3), *b = node(3);
	__u64 ka[2], kb[2];
	struct bv_fleet_snap s;
	int64_t n;
	double before;
	char name[64];
	redisReply *r;

	(void)state;
	tick(a);
	tick(b);
	n = bv_fleet_period(a, RT_MS());
	assert_int_equal(bv_fleet_key(a, n, 1, ka), 0);
	assert_int_equal(bv_fleet_key(b, n, 1, kb), 0);
	assert_memory_equal(ka, kb, sizeof(ka));    /* one key for the fleet */
	bv_fleet_bind(a, 5, n);
	bv_fleet_bind(b, 9, n);
	s = snap(a);
	snprintf(name, sizeof(name), "beaconveil:key:%s", s.period);
	bv_fleet_snap_free(&s);
	{
		long long ttl = cmd_int("PTTL %s", name);
		/* deleted 48 h after its day began: more than 24 h left today */
		assert_true(ttl > 24 * 3600 * 1000LL && ttl <= 48 * 3600 * 1000LL);
	}

	/* 2000 visitors on each node, 1000 of them on both: 3000 */
	send_visitors(a, 5, 1, 2001, "shop");
	send_visitors(b, 9, 1001, 3001, "shop");
	tick(a);
	tick(b);
	s = snap(b);
	assert_true(s.up && s.key_shared && s.have_figures);
	assert_within_3se(s.visitors, 3000);
	assert_int_equal(s.sessions_started, 3000);
	assert_int_equal(s.visitors_new, 3000);
	assert_int_equal(s.visitors_returning, 0);
	assert_int_equal(s.napps, 1);
	assert_string_equal(s.apps[0].id, "shop");
	assert_within_3se(s.apps[0].visitors, 3000);
	before = s.visitors;
	bv_fleet_snap_free(&s);
	check_keys(snap(a).period);
	{
		/* no application id, no visitor hash in the clear as a value */
		r = cmd("KEYS *shop*");
		assert_int_equal(r->elements, 0);
		freeReplyObject(r);
	}

	/* Redis restarts empty; visitors keep coming to a meanwhile */
	redis_stop();
	tick(a);
	send_visitors(a, 5, 5001, 5501, "shop");
	s = snap(a);
	assert_false(s.up);
	assert_true(s.gap_sessions >= 500);
	bv_fleet_snap_free(&s);
	redis_start();
	for (int i = 0; i < 40; i++) {
		tick(a);
		tick(b);
		s = snap(a);
		if (s.up && s.have_figures && s.visitors > before) {
			bv_fleet_snap_free(&s);
			break;
		}
		bv_fleet_snap_free(&s);
		usleep(250000);
	}
	tick(a);
	tick(b);
	assert_int_equal(bv_fleet_key(b, n, 1, kb), 0);
	assert_memory_equal(ka, kb, sizeof(ka));    /* the same key, put back */
	s = snap(a);
	assert_true(s.up);
	assert_within_3se(s.visitors, 3500);
	assert_true(s.visitors > before);
	bv_fleet_snap_free(&s);
	s = snap(b);
	assert_true(s.key_restored + snap(a).key_restored >= 1);
	bv_fleet_snap_free(&s);

	bv_fleet_free(a);
	bv_fleet_free(b);
}

static void test_redis_unreachable(void **state)
{
	struct bv_fleet_opts o = { .url = "unix:///nonexistent/redis.sock", .period_s = 3600,
				   .session_timeout_s = 30, .visitor_lifetime_s = 60, .k = 10 };
	char err[200];
	struct bv_fleet *f = bv_fleet_new(&o, err, sizeof(err));
	__u64 k[2];
	struct bv_fleet_snap s;
	struct bv_event e;

	(void)state;
	assert_non_null(f);
	tick(f);
	assert_int_equal(bv_fleet_key(f, bv_fleet_period(f, RT_MS()), 1, k), -1);
	bv_fleet_bind(f, 3, -1);   /* a node-local key */
	memset(&e, 0, sizeof(e));
	e.visitor = 42;
	e.session = 43;
	e.epoch = 3;
	bv_fleet_event(f, &e, 0);
	bv_fleet_flush(f);
	s = snap(f);
	assert_false(s.up);
	assert_false(s.key_shared);
	assert_int_equal(s.gap_visitors, 1);
	assert_int_equal(s.gap_sessions, 1);
	assert_true(s.errors >= 1);
	bv_fleet_snap_free(&s);
	bv_fleet_free(f);
	/* a period that does not divide the day is refused */
	o.period_s = 7 * 60;
	assert_null(bv_fleet_new(&o, err, sizeof(err)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_siphash_vector),
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_rhll_is_redis),
		cmocka_unit_test(test_two_nodes_and_a_redis_restart),
		cmocka_unit_test(test_redis_unreachable),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
