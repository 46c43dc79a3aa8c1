/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Flow floods through the real XDP program (BPF_PROG_TEST_RUN, one run per
 * frame): a large number of distinct flows (SYNs and half-open beacon
 * requests: request line and some headers, never the end of the head) must
 * not exhaust memory or stop classification.
 *
 *  - bv_flows (an LRU hash) stays bounded by max_entries, its memory
 *    (memlock in the map's fdinfo) does not move, nor does our RSS;
 *  - every half-open request of the flood is classified and its
 *    X-Forwarded-For masked, start to end;
 *  - a flow started after the flood is classified and masked;
 *  - a flow whose state was evicted in the middle of a request head: its
 *    next segment is dropped and counted (flow_unknown), never passed with
 *    an unmasked address or an identifier;
 *  - evictions as the test sees them: flows created minus entries left.
 *
 * Numbers go to stdout ("flood: ..."); docs/ROBUSTNESS.md quotes them.
 * BV_FLOOD_FLOWS overrides the flood size (default 1000000),
 * BV_FLOOD_BUSY_EVERY how many new flows pass between two segments of the
 * busy connection (default 1024; measured, not asserted).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "beaconveil.skel.h"
#include <linux/bpf.h>
#include <cmocka.h>

#include "bv_flow.h"
#include "harness.h"
#include "pktbuild.h"

#define SERVER4 "198.18.0.10"
#define SERVER6 "2001:db8::10"
#define RXV "1700000000000ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"

static struct bv_harness H;
static uint8_t out[16384];
static size_t outlen;

/* ---- connections -------------------------------------------------------- */

struct conn {
	struct pkt_opts o;
	char src[64];
	uint32_t seq;
};

static void conn_make(struct conn *c, int family, const char *src, uint16_t sport)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->src, sizeof(c->src), "%s", src);
	c->o.family = family;
	c->o.src = c->src;
	c->o.dst = family == 4 ? SERVER4 : SERVER6;
	c->o.sport = sport;
	c->o.dport = 80;
	c->seq = 1000;
}

static int run_frame(struct bv_harness *h, const uint8_t *f, size_t n)
{
	outlen = sizeof(out);
	return harness_run(h, f, n, out, &outlen);
}

static int conn_syn(struct bv_harness *h, struct conn *c)
{
	uint8_t f[256];
	struct pkt_opts o = c->o;
	size_t n;

	o.tcp_flags = 0x02;
	o.seq = c->seq - 1;
	n = pkt_build_tcp(f, sizeof(f), &o, NULL, 0);
	assert_true(n > 0);
	return run_frame(h, f, n);
}

static int conn_send(struct bv_harness *h, struct conn *c, const char *s)
{
	static uint8_t f[8192];
	struct pkt_opts o = c->o;
	size_t len = strlen(s), n;

	o.seq = c->seq;
	n = pkt_build_tcp(f, sizeof(f), &o, s, len);
	assert_true(n > 0);
	c->seq += (uint32_t)len;
	return run_frame(h, f, n);
}

/* Payload of the last output frame, NUL-terminated (static). */
static const char *out_payload(void)
{
	const char *s = pkt_payload_str(out, outlen);

	assert_non_null(s);
	return s;
}

static void conn_key(const struct conn *c, struct bv_flow_key *k)
{
	memset(k, 0, sizeof(*k));
	if (c->o.family == 4) {
		assert_int_equal(inet_pton(AF_INET, c->o.src, &k->client[0]), 1);
		assert_int_equal(inet_pton(AF_INET, c->o.dst, &k->server[0]), 1);
	} else {
		assert_int_equal(inet_pton(AF_INET6, c->o.src, k->client), 1);
		assert_int_equal(inet_pton(AF_INET6, c->o.dst, k->server), 1);
	}
	k->cport = htons(c->o.sport);
	k->sport = htons(c->o.dport);
	k->family = (__u8)c->o.family;
}

/* ---- the map and the process, seen from outside --------------------------- */

static struct bpf_map_info flows_info(struct bv_harness *h)
{
	struct bpf_map_info mi;
	__u32 len = sizeof(mi);

	memset(&mi, 0, sizeof(mi));
	assert_int_equal(bpf_obj_get_info_by_fd(h->flows_fd, &mi, &len), 0);
	return mi;
}

/* Is c's state in bv_flows? A lookup from userspace does not touch the
 * LRU's reference bits, so looking does not protect the entry. */
static int flow_present(struct bv_harness *h, const struct conn *c)
{
	struct bpf_map_info mi = flows_info(h);
	struct bv_flow_key k;
	void *v = malloc(mi.value_size);
	int r;

	assert_non_null(v);
	assert_int_equal(mi.key_size, sizeof(k));
	conn_key(c, &k);
	r = bpf_map_lookup_elem(h->flows_fd, &k, v) == 0;
	free(v);
	return r;
}

static unsigned long count_entries(int fd, size_t ksz)
{
	unsigned char *a = calloc(2, ksz), *cur = a, *next = a + ksz;
	unsigned long n = 0;
	void *prev = NULL;

	assert_non_null(a);
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		unsigned char *t = cur;

		n++;
		cur = next;
		next = t;
		prev = cur;
	}
	free(a);
	return n;
}

/* "memlock:" of the map's fdinfo: what the kernel charges for the map. */
static unsigned long long fd_memlock(int fd)
{
	char path[64], line[256];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &v) == 1)
			break;
	fclose(f);
	assert_true(v > 0);
	return v;
}

static long rss_kb(void)
{
	long pages = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	assert_non_null(f);
	assert_int_equal(fscanf(f, "%ld %ld", &pages, &res), 2);
	fclose(f);
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Like harness_open(), with bv_flows sized to max_flows (0: default). */
static int open_sized(struct bv_harness *h, enum bv_mode mode, __u32 max_flows)
{
	struct bv_load_opts o = { .mode = mode, .pin = false, .max_flows = max_flows };
	char err[4096];

	if (!max_flows)
		return harness_open(h, mode);
	memset(h, 0, sizeof(*h));
	h->prog_fd = h->stats_fd = h->flows_fd = h->half_fd = -1;
	bv_config_defaults(&h->cfg);
	h->cfg.max_flows = max_flows;
	h->skel = bv_open_and_load(&o, err, sizeof(err));
	if (!h->skel) {
		fprintf(stderr, "open_sized: %s\n", err);
		harness_close(h);
		return -1;
	}
	h->prog_fd = bpf_program__fd(h->skel->progs.beaconveil_xdp);
	bv_map_fds_get(h->skel, &h->fds);
	h->stats_fd = bpf_map__fd(h->skel->maps.bv_stats);
	h->flows_fd = bpf_map__fd(h->skel->maps.bv_flows);
	h->half_fd = bpf_map__fd(h->skel->maps.bv_half);
	if (harness_apply(h)) {
		harness_close(h);
		return -1;
	}
	return 0;
}

/* ---- the flood ------------------------------------------------------------ */

/*
 * Flow i of the flood: client 10.x.y.z from i (distinct for i < 2^24),
 * port 1024 + i % 60000. Even i: a SYN, nothing else. Odd i: no SYN, one
 * segment with a beacon request line and headers, no end of head; its
 * X-Forwarded-For must come out masked to /24, length kept.
 */
struct flood {
	unsigned long n;            /* flows sent */
	unsigned long syn_bad;      /* SYNs not passed */
	unsigned long req_bad;      /* half-open requests not passed or not masked */
	double secs, secs_syn, secs_req;
	/* optional: called every `every` flows (a connection that stays busy) */
	void (*tick)(unsigned long i);
	unsigned long every;
};

static void flood_run(struct bv_harness *h, unsigned long base, struct flood *fl)
{
	static uint8_t f[1024];
	char src[32], pl[512], want[96], orig[64];
	struct pkt_opts o;
	double t0 = now_s(), t;

	memset(&o, 0, sizeof(o));
	o.family = 4;
	o.src = src;
	o.dst = SERVER4;
	o.dport = 80;
	for (unsigned long k = 0; k < fl->n; k++) {
		unsigned long i = base + k;
		unsigned a = (unsigned)(i >> 16) & 0xff, b = (unsigned)(i >> 8) & 0xff,
			 c = (unsigned)i & 0xff;
		size_t n;
		int act;

		snprintf(src, sizeof(src), "10.%u.%u.%u", a, b, c);
		o.sport = (uint16_t)(1024 + i % 60000);
		if (!(i & 1)) {
			o.tcp_flags = 0x02;
			o.seq = 999;
			n = pkt_build_tcp(f, sizeof(f), &o, NULL, 0);
			t = now_s();
			act = harness_run(h, f, n, NULL, NULL);
			fl->secs_syn += now_s() - t;
			if (act != XDP_PASS)
				fl->syn_bad++;
		} else {
			unsigned x = (unsigned)(i % 251) + 1, y = (unsigned)(i % 241) + 9;
			int pl_len;
			size_t m;

			/* a connection is judged from its SYN (flows without one are
			 * refused), then its request stays half-open */
			o.tcp_flags = 0x02;
			o.seq = 999;
			n = pkt_build_tcp(f, sizeof(f), &o, NULL, 0);
			if (harness_run(h, f, n, NULL, NULL) != XDP_PASS)
				fl->req_bad++;
			o.tcp_flags = 0;
			o.seq = 1000;
			pl_len = snprintf(pl, sizeof(pl),
					  "POST /rb_bf%lu?type=js3&sn=%lu HTTP/1.1\r\n"
					  "Host: rum.example\r\nUser-Agent: flood/1\r\n"
					  "X-Forwarded-For: 198.51.%u.%u\r\nAccept: */*\r\n",
					  i, i, x, y);
			n = pkt_build_tcp(f, sizeof(f), &o, pl, (size_t)pl_len);
			snprintf(orig, sizeof(orig), "198.51.%u.%u\r", x, y);
			m = (size_t)snprintf(want, sizeof(want), "X-Forwarded-For: 198.51.%u.0", x);
			while (m < strlen("X-Forwarded-For: ") + strlen(orig) - 1)
				want[m++] = ' ';
			want[m] = 0;
			t = now_s();
			act = run_frame(h, f, n);
			fl->secs_req += now_s() - t;
			if (act != XDP_PASS) {
				fl->req_bad++;
			} else {
				size_t plen = 0;
				const uint8_t *p = pkt_payload(out, outlen, &plen);

				if (!p || plen != (size_t)pl_len ||
				    memmem(p, plen, orig, strlen(orig)) ||
				    !memmem(p, plen, want, strlen(want)))
					fl->req_bad++;
			}
		}
		if (fl->tick && fl->every && (k + 1) % fl->every == 0)
			fl->tick(k);
	}
	fl->secs = now_s() - t0;
}

static unsigned long flood_size(void)
{
	const char *e = getenv("BV_FLOOD_FLOWS");
	unsigned long n = e ? strtoul(e, NULL, 10) : 1000000ul;

	return n >= 2 && n < (1ul << 24) ? n : 1000000ul;
}

/* ---- victims: connections in the middle of a request head ------------------ */

struct victim {
	struct conn c;
	const char *first;   /* passes before the flood */
	const char *rest;    /* after the flood: must be dropped */
	const char *secret;  /* must never leave unmasked */
};

static struct victim victims[] = {
	{ .first = "POST /rb_bf1?type=js3 HTTP/1.1\r\nHost: rum.example\r\n",
	  .rest = "X-Forwarded-For: 203.0.113.57\r\nContent-Length: 0\r\n\r\n",
	  .secret = "203.0.113.57" },
	{ .first = "POST /rb_bf2?type=js3 HTTP/1.1\r\nHost: rum.example\r\nDNT: 1\r\n",
	  .rest = "Cookie: rxVisitor=" RXV "; dtCookie=v_4_srv_1\r\n\r\n",
	  .secret = RXV },
	{ .first = "GET /bf/abc?vi=Q HTTP/1.1\r\nHost: rum.example\r\nX-Forwarded-For: 203.0.1",
	  .rest = "13.57\r\nX-Real-IP: 203.0.113.58\r\n\r\n",
	  .secret = "113.57" },
};
#define NVICTIMS (sizeof(victims) / sizeof(victims[0]))

static void victims_start(struct bv_harness *h)
{
	for (size_t i = 0; i < NVICTIMS; i++) {
		struct victim *v = &victims[i];

		if (i == 2)
			conn_make(&v->c, 6, "2001:db8:85a3:8d3:1319:8a2e:370:7348", 41000);
		else
			conn_make(&v->c, 4, "203.0.113.57", (uint16_t)(40000 + i));
		assert_int_equal(conn_syn(h, &v->c), XDP_PASS);
		assert_int_equal(conn_send(h, &v->c, v->first), XDP_PASS);
		assert_null(strstr(out_payload(), "203.0.113.57"));
		assert_true(flow_present(h, &v->c));
	}
}

/* After the flood: state gone, next segment refused (dropped, or inline a
 * RST to the client) and counted, and its retransmission too. Returns how
 * many victims were evicted. */
static unsigned victims_check(struct bv_harness *h, int must_be_evicted)
{
	unsigned evicted = 0;

	for (size_t i = 0; i < NVICTIMS; i++) {
		struct victim *v = &victims[i];
		__u64 u0 = harness_stat(h, BV_ST_FLOW_UNKNOWN);
		int act;

		if (flow_present(h, &v->c)) {
			if (must_be_evicted)
				fail_msg("victim %zu survived the flood", i);
			continue;
		}
		evicted++;
		act = conn_send(h, &v->c, v->rest);
		if (act == XDP_PASS && strstr(out_payload(), v->secret))
			fail_msg("victim %zu: evicted flow leaked '%s': %s", i, v->secret,
				 out_payload());
		assert_true(act == XDP_DROP || act == XDP_TX);
		assert_int_equal(harness_stat(h, BV_ST_FLOW_UNKNOWN), u0 + 1);
		/* the sender retransmits it: refused again */
		v->c.seq -= (uint32_t)strlen(v->rest);
		act = conn_send(h, &v->c, v->rest);
		assert_true(act == XDP_DROP || act == XDP_TX);
		assert_int_equal(harness_stat(h, BV_ST_FLOW_UNKNOWN), u0 + 2);
	}
	return evicted;
}

/* A flow started after the flood: classified, anonymized (DNT), masked
 * (one without a SYN is refused). */
static void fresh_flow_classified(struct bv_harness *h, int with_syn)
{
	struct conn c;
	__u64 a0 = harness_stat(h, BV_DEC_ANONYMIZED);
	const char *req = "POST /myapp/rb_bf9?type=js3&app=ea7c4b59f27d43eb HTTP/1.1\r\n"
			  "Host: rum.example\r\nX-Forwarded-For: 203.0.113.57, 198.51.100.200\r\n"
			  "DNT: 1\r\nCookie: rxVisitor=" RXV "; dtCookie=v_4_srv_1\r\n"
			  "Content-Length: 0\r\n\r\n";
	const char *p;

	conn_make(&c, 4, "198.51.100.200", (uint16_t)(with_syn ? 50001 : 50002));
	if (!with_syn) {
		/* no SYN seen: refused, never passed unjudged */
		int act = conn_send(h, &c, req);

		assert_true(act == XDP_DROP || act == XDP_TX);
		return;
	}
	assert_int_equal(conn_syn(h, &c), XDP_PASS);
	assert_int_equal(conn_send(h, &c, req), XDP_PASS);
	p = out_payload();
	assert_int_equal(strlen(p), strlen(req));
	assert_non_null(strstr(p, "X-Forwarded-For: 203.0.113.0 , 198.51.100.0  \r\n"));
	assert_null(strstr(p, RXV));
	assert_true(pkt_ipv4_csum_ok(out, outlen));
	assert_true(pkt_l4_csum_ok(out, outlen));
	assert_int_equal(harness_stat(h, BV_DEC_ANONYMIZED), a0 + 1);
	assert_true(flow_present(h, &c));
}

/* A connection that stays busy through the flood: one header line every
 * `every` new flows. */
static struct conn busy;
static unsigned long busy_sent, busy_dropped, busy_first_drop;

static void busy_tick(unsigned long i)
{
	char line[64];

	snprintf(line, sizeof(line), "X-Pad-%lu: keepalive\r\n", busy_sent);
	busy_sent++;
	if (conn_send(&H, &busy, line) != XDP_PASS && !busy_dropped++)
		busy_first_drop = i;
}

/* ---- tests ------------------------------------------------------------------ */

static void test_million_flows(void **state)
{
	struct bpf_map_info mi;
	struct flood fl = { .tick = busy_tick, .every = 1024 };
	unsigned long long ml0, ml1;
	unsigned long entries;
	long rss0, rss1;
	__u64 new0, new1, unk1;
	unsigned evicted;

	(void)state;
	assert_int_equal(open_sized(&H, BV_MODE_INLINE, 0), 0);
	mi = flows_info(&H);
	assert_int_equal(mi.type, BPF_MAP_TYPE_LRU_HASH);
	assert_int_equal(mi.max_entries, 65536); /* README: default 65536 flows */
	assert_int_equal(mi.value_size, sizeof(struct bv_flow));
	fl.n = flood_size();
	if (getenv("BV_FLOOD_BUSY_EVERY"))
		fl.every = strtoul(getenv("BV_FLOOD_BUSY_EVERY"), NULL, 10);

	new0 = harness_stat(&H, BV_ST_FLOW_NEW);
	victims_start(&H);
	conn_make(&busy, 4, "192.0.2.99", 55555);
	assert_int_equal(conn_syn(&H, &busy), XDP_PASS);
	assert_int_equal(conn_send(&H, &busy, "POST /rb_busy HTTP/1.1\r\nHost: rum.example\r\n"),
			 XDP_PASS);
	fresh_flow_classified(&H, 1);      /* also warms every buffer up */
	ml0 = fd_memlock(H.flows_fd);
	rss0 = rss_kb();

	flood_run(&H, 0, &fl);

	ml1 = fd_memlock(H.flows_fd);
	rss1 = rss_kb();
	new1 = harness_stat(&H, BV_ST_FLOW_NEW);
	entries = count_entries(H.flows_fd, mi.key_size);
	printf("flood: %lu flows (%lu SYN, %lu half-open requests) in %.1f s: "
	       "%.0f ns per SYN, %.0f ns per request (test_run syscall included)\n",
	       fl.n, (fl.n + 1) / 2, fl.n / 2, fl.secs,
	       fl.secs_syn * 1e9 / (double)((fl.n + 1) / 2), fl.secs_req * 1e9 / (double)(fl.n / 2));
	printf("flood: bv_flows max_entries %u, value %u bytes; flows created %llu, entries "
	       "left %lu, evicted %llu\n", mi.max_entries, mi.value_size,
	       (unsigned long long)(new1 - new0), entries,
	       (unsigned long long)(new1 - new0) - entries);
	printf("flood: bv_flows memlock %llu -> %llu bytes; process RSS %ld -> %ld kB\n",
	       ml0, ml1, rss0, rss1);
	printf("flood: busy connection (a header line every %lu new flows): %lu segments, "
	       "%lu dropped%s\n", fl.every, busy_sent, busy_dropped,
	       busy_dropped ? " (evicted while active)" : ", state kept");

	/* bounded, and nothing grew */
	assert_true(entries <= mi.max_entries);
	assert_int_equal(ml1, ml0);
	assert_true(rss1 - rss0 < 4096);
	/* classification never stopped */
	assert_int_equal(fl.syn_bad, 0);
	assert_int_equal(fl.req_bad, 0);
	/* state in bv_flows only for flows that sent data (SYNs stay half-open) */
	assert_int_equal(new1 - new0, fl.n / 2 + NVICTIMS + 2);
	/* evicted in the middle of a request: dropped, counted, nothing leaked */
	evicted = victims_check(&H, fl.n >= 4ul * mi.max_entries);
	unk1 = harness_stat(&H, BV_ST_FLOW_UNKNOWN);
	printf("flood: victims evicted mid-request %u of %zu: next segment dropped, "
	       "flow_unknown = %llu\n", evicted, NVICTIMS, (unsigned long long)unk1);
	/* new flows after the flood: classified and masked */
	fresh_flow_classified(&H, 1);
	fresh_flow_classified(&H, 0);
	/* the busy connection ends its head */
	if (!busy_dropped) {
		assert_int_equal(conn_send(&H, &busy, "X-Forwarded-For: 203.0.113.57\r\n\r\n"),
				 XDP_PASS);
		assert_non_null(strstr(out_payload(), "203.0.113.0 "));
	}
	assert_true(count_entries(H.flows_fd, mi.key_size) <= mi.max_entries);
	harness_close(&H);
}

/*
 * A burst of SYNs from spoofed sources (no handshake needed) used to evict
 * established connections from the flow table, whose next segment was then
 * refused: 65k SYNs reset every keep-alive connection of the load balancer.
 * SYNs now go to a table of their own (bv_half). 1,000 keep-alive
 * connections carry beacons while 1M spoofed SYNs arrive, mixed with data
 * of connections nobody opened (no state may be made for those either) and
 * blind RSTs aimed at the live connections with wrong sequence numbers:
 * not one beacon is reset, dropped, or leaves unmasked. Connections opened
 * during the flood (SYN, then data at once) work too.
 */
#define LIVE 1000

static struct conn live[LIVE];
static unsigned long live_resets, live_drops, live_leaks, live_beacons;

static void live_beacon(struct conn *c, unsigned k)
{
	char req[256];
	int act;

	snprintf(req, sizeof(req), "POST /rb_bf%u?type=js3 HTTP/1.1\r\nHost: rum.example\r\n"
		 "X-Forwarded-For: 198.51.100.%u\r\nCookie: rxVisitor=" RXV "\r\nDNT: 1\r\n"
		 "Content-Length: 0\r\n\r\n", k, 100 + k % 150);
	act = conn_send(&H, c, req);
	live_beacons++;
	if (act == XDP_TX) {
		live_resets++;
	} else if (act != XDP_PASS) {
		live_drops++;
	} else {
		const char *p = out_payload();
		char orig[32];

		snprintf(orig, sizeof(orig), "198.51.100.%u\r", 100 + k % 150);
		if (strstr(p, orig) || strstr(p, RXV) || strlen(p) != strlen(req))
			live_leaks++;
	}
}

static void test_syn_flood_spares_live_connections(void **state)
{
	static uint8_t f[512];
	const unsigned long nsyn = flood_size();
	struct pkt_opts o;
	char src[32];
	unsigned long unknown_refused = 0, unknown_passed = 0, fresh_ok = 0, fresh_n = 0;
	unsigned long rst_n = 0;
	__u64 half0, new0, unk0;
	struct bpf_map_info hi;
	__u32 hlen = sizeof(hi);
	int half_fd;
	double t0;

	(void)state;
	assert_int_equal(open_sized(&H, BV_MODE_INLINE, 0), 0);
	half_fd = H.half_fd;
	memset(&hi, 0, sizeof(hi));
	assert_int_equal(bpf_obj_get_info_by_fd(half_fd, &hi, &hlen), 0);
	assert_int_equal(hi.type, BPF_MAP_TYPE_LRU_HASH);
	assert_int_equal(hi.max_entries, 65536 / 4);
	live_resets = live_drops = live_leaks = live_beacons = 0;
	for (unsigned i = 0; i < LIVE; i++) {
		snprintf(src, sizeof(src), "203.0.113.%u", 1 + i % 250);
		conn_make(&live[i], 4, src, (uint16_t)(20000 + i));
		assert_int_equal(conn_syn(&H, &live[i]), XDP_PASS);
		live_beacon(&live[i], i);
	}
	assert_int_equal(live_resets + live_drops + live_leaks, 0);
	half0 = harness_stat(&H, BV_ST_HALF_OPEN);
	new0 = harness_stat(&H, BV_ST_FLOW_NEW);
	unk0 = harness_stat(&H, BV_ST_FLOW_UNKNOWN);

	memset(&o, 0, sizeof(o));
	o.family = 4;
	o.src = src;
	o.dst = SERVER4;
	o.dport = 80;
	t0 = now_s();
	for (unsigned long k = 0; k < nsyn; k++) {
		size_t n;

		/* a spoofed SYN */
		snprintf(src, sizeof(src), "10.%lu.%lu.%lu", (k >> 16) & 0xff, (k >> 8) & 0xff, k & 0xff);
		o.sport = (uint16_t)(1024 + k % 60000);
		o.tcp_flags = 0x02;
		o.seq = (uint32_t)(k * 2654435761u);
		n = pkt_build_tcp(f, sizeof(f), &o, NULL, 0);
		assert_int_equal(harness_run(&H, f, n, NULL, NULL), XDP_PASS);
		if (k % 10 == 5) {
			/* data of a connection nobody opened (another spoofed
			 * source): refused, and no state made for it */
			snprintf(src, sizeof(src), "172.16.%lu.%lu", (k >> 8) & 0xff, k & 0xff);
			o.tcp_flags = 0x18;
			n = pkt_build_tcp(f, sizeof(f), &o, "POST /rb_x HTTP/1.1\r\nX-Real-IP: 203.0.113.57\r\n", 46);
			if (run_frame(&H, f, n) == XDP_PASS)
				unknown_passed++;
			else
				unknown_refused++;
		}
		if (k % 997 == 0) {
			/* a blind RST at a live connection: wrong sequence number */
			struct conn *c = &live[(k / 997) % LIVE];
			struct pkt_opts r = c->o;

			r.tcp_flags = 0x14;
			r.seq = c->seq + 100000;
			n = pkt_build_tcp(f, sizeof(f), &r, NULL, 0);
			assert_int_equal(run_frame(&H, f, n), XDP_PASS);
			rst_n++;
		}
		if (k % 500 == 0)
			live_beacon(&live[(k / 500) % LIVE], (unsigned)(k / 500));
		if (k % 50000 == 25000) {
			/* a real client connects during the flood */
			struct conn c;

			conn_make(&c, 4, "192.0.2.77", (uint16_t)(30000 + fresh_n++));
			assert_int_equal(conn_syn(&H, &c), XDP_PASS);
			if (conn_send(&H, &c, "GET /rb_1 HTTP/1.1\r\nX-Forwarded-For: 203.0.113.57\r\n\r\n") ==
			    XDP_PASS && strstr(out_payload(), "203.0.113.0 "))
				fresh_ok++;
		}
	}
	/* after the flood every live connection goes on */
	for (unsigned i = 0; i < LIVE; i++)
		live_beacon(&live[i], 5000 + i);
	printf("syn flood: %lu spoofed SYNs, %lu unopened data segments, %lu blind RSTs in %.1f s; "
	       "%lu beacons on %d keep-alive connections: %lu reset, %lu dropped, %lu leaked; "
	       "%lu of %lu connections opened during the flood worked\n",
	       nsyn, unknown_refused + unknown_passed, rst_n, now_s() - t0, live_beacons, LIVE,
	       live_resets, live_drops, live_leaks, fresh_ok, fresh_n);
	printf("syn flood: half-open tracked %llu (bv_half max %u, %lu left); bv_flows created %llu, "
	       "%lu entries; flow_unknown %llu\n",
	       (unsigned long long)(harness_stat(&H, BV_ST_HALF_OPEN) - half0), hi.max_entries,
	       count_entries(half_fd, sizeof(struct bv_flow_key)),
	       (unsigned long long)(harness_stat(&H, BV_ST_FLOW_NEW) - new0),
	       count_entries(H.flows_fd, sizeof(struct bv_flow_key)),
	       (unsigned long long)(harness_stat(&H, BV_ST_FLOW_UNKNOWN) - unk0));
	assert_int_equal(live_resets, 0);
	assert_int_equal(live_drops, 0);
	assert_int_equal(live_leaks, 0);
	assert_int_equal(unknown_passed, 0);
	assert_int_equal(harness_stat(&H, BV_ST_FLOW_UNKNOWN) - unk0, unknown_refused);
	assert_int_equal(fresh_ok, fresh_n);
	assert_true(harness_stat(&H, BV_ST_HALF_OPEN) - half0 >= nsyn);
	/* only the connections that sent data hold state in bv_flows */
	assert_int_equal(harness_stat(&H, BV_ST_FLOW_NEW) - new0, fresh_n);
	assert_int_equal(count_entries(H.flows_fd, sizeof(struct bv_flow_key)), LIVE + fresh_n);
	assert_true(count_entries(half_fd, sizeof(struct bv_flow_key)) <= hi.max_entries);
	harness_close(&H);
}

/* A RST at exactly the next sequence number ends the state, as it ends the
 * server's connection; the next data of that 4-tuple is refused. */
static void test_rst_at_next_seq_forgets(void **state)
{
	static uint8_t f[256];
	struct conn c;
	struct pkt_opts r;
	size_t n;

	(void)state;
	assert_int_equal(open_sized(&H, BV_MODE_INLINE, 0), 0);
	conn_make(&c, 4, "203.0.113.57", 41234);
	assert_int_equal(conn_syn(&H, &c), XDP_PASS);
	assert_int_equal(conn_send(&H, &c, "GET /rb_1 HTTP/1.1\r\n\r\n"), XDP_PASS);
	assert_true(flow_present(&H, &c));
	r = c.o;
	r.tcp_flags = 0x04;
	r.seq = c.seq - 1; /* in the window, not exact: the server would not reset */
	n = pkt_build_tcp(f, sizeof(f), &r, NULL, 0);
	assert_int_equal(run_frame(&H, f, n), XDP_PASS);
	assert_true(flow_present(&H, &c));
	r.seq = c.seq;
	n = pkt_build_tcp(f, sizeof(f), &r, NULL, 0);
	assert_int_equal(run_frame(&H, f, n), XDP_PASS);
	assert_false(flow_present(&H, &c));
	assert_int_equal(conn_send(&H, &c, "GET /rb_1 HTTP/1.1\r\n\r\n"), XDP_TX);
	harness_close(&H);
}

/* A new connection on the 4-tuple of one whose state is still there (the
 * client reuses its port): the new SYN leaves the old state alone, and the
 * new connection's first data, at its own sequence number, replaces it. */
static void test_port_reuse_new_connection(void **state)
{
	struct conn c;
	const char *p;

	(void)state;
	assert_int_equal(open_sized(&H, BV_MODE_INLINE, 0), 0);
	conn_make(&c, 4, "203.0.113.57", 41235);
	assert_int_equal(conn_syn(&H, &c), XDP_PASS);
	assert_int_equal(conn_send(&H, &c, "GET /rb_1 HTTP/1.1\r\nHost: a\r\n"), XDP_PASS);
	c.seq = 777777; /* the new connection's sequence space */
	assert_int_equal(conn_syn(&H, &c), XDP_PASS);
	assert_true(flow_present(&H, &c)); /* the old state, until the new data */
	assert_int_equal(conn_send(&H, &c, "POST /rb_2 HTTP/1.1\r\nX-Forwarded-For: 198.51.100.23\r\n\r\n"),
			 XDP_PASS);
	p = out_payload();
	assert_non_null(strstr(p, "X-Forwarded-For: 198.51.100.0 \r\n"));
	/* and it goes on from there, as a connection of its own */
	assert_int_equal(conn_send(&H, &c, "GET /rb_3 HTTP/1.1\r\nX-Real-IP: 198.51.100.23\r\n\r\n"),
			 XDP_PASS);
	assert_non_null(strstr(out_payload(), "X-Real-IP: 198.51.100.0 \r\n"));
	harness_close(&H);
}

/*
 * max_flows from the config (its minimum, 1024), in pcap mode (as mirror:
 * L3 addresses masked too): the same bounds with a map 64 times smaller.
 */
static void test_small_map_pcap_mode(void **state)
{
	struct bpf_map_info mi;
	struct flood fl = { .n = 100000 };
	unsigned long long ml_small, ml0;
	unsigned long entries;
	__u64 new0, new1;
	struct bv_harness big;

	(void)state;
	assert_int_equal(open_sized(&big, BV_MODE_PCAP, 0), 0);
	ml0 = fd_memlock(big.flows_fd);
	harness_close(&big);

	assert_int_equal(open_sized(&H, BV_MODE_PCAP, 1024), 0);
	mi = flows_info(&H);
	assert_int_equal(mi.max_entries, 1024);
	ml_small = fd_memlock(H.flows_fd);
	new0 = harness_stat(&H, BV_ST_FLOW_NEW);
	victims_start(&H);
	flood_run(&H, 1ul << 20, &fl);
	new1 = harness_stat(&H, BV_ST_FLOW_NEW);
	entries = count_entries(H.flows_fd, mi.key_size);
	printf("flood (pcap mode, max_flows 1024): %lu flows in %.1f s; created %llu, entries "
	       "left %lu, evicted %llu; memlock %llu bytes (default map: %llu)\n",
	       fl.n, fl.secs, (unsigned long long)(new1 - new0), entries,
	       (unsigned long long)(new1 - new0) - entries, ml_small, ml0);
	assert_true(entries <= 1024);
	assert_true(ml_small * 16 < ml0);
	assert_int_equal(fd_memlock(H.flows_fd), ml_small);
	assert_int_equal(fl.syn_bad, 0);
	assert_int_equal(fl.req_bad, 0);
	assert_int_equal(victims_check(&H, 1), NVICTIMS);
	/* in pcap mode a fresh beacon also gets its L3 source masked */
	{
		struct conn c;
		struct pkt_view v;

		conn_make(&c, 4, "198.51.100.200", 50003);
		assert_int_equal(conn_syn(&H, &c), XDP_PASS);
		assert_int_equal(conn_send(&H, &c, "POST /rb_bf1 HTTP/1.1\r\nHost: rum.example\r\n"
					   "X-Forwarded-For: 203.0.113.57\r\n\r\n"), XDP_PASS);
		assert_non_null(strstr(out_payload(), "X-Forwarded-For: 203.0.113.0 \r\n"));
		assert_int_equal(pkt_parse(out, outlen, &v), 0);
		assert_int_equal(v.src[3], 0);
	}
	harness_close(&H);
}

/*
 * Evicted in the middle of a beacon's body. The state is removed by hand:
 * for the program that is exactly an eviction (the flood above shows that
 * real evictions take any idle flow); it keeps these cases small.
 */
static void evict(struct bv_harness *h, const struct conn *c)
{
	struct bv_flow_key k;

	conn_key(c, &k);
	assert_int_equal(bpf_map_delete_elem(h->flows_fd, &k), 0);
}

#define BODY_HEAD "POST /rb_bf1?type=js3 HTTP/1.1\r\nHost: rum.example\r\n" \
		  "X-Forwarded-For: 203.0.113.57\r\nContent-Length: %zu\r\n\r\n"
#define NEXT_BEACON "POST /rb_bf2?type=js3 HTTP/1.1\r\nHost: rum.example\r\n" \
		    "X-Forwarded-For: 198.51.100.23\r\nCookie: rxVisitor=" RXV "\r\n\r\n"

/* Starts a beacon whose body is body1 + body2, sends its head and body1,
 * evicts its state, then sends body2; returns body2's verdict. */
static int beacon_evicted_mid_body(struct conn *c, uint16_t port, const char *body1,
				   const char *body2)
{
	char seg[2048];

	conn_make(c, 4, "192.0.2.10", port);
	assert_int_equal(conn_syn(&H, c), XDP_PASS);
	snprintf(seg, sizeof(seg), BODY_HEAD "%s", strlen(body1) + strlen(body2), body1);
	assert_int_equal(conn_send(&H, c, seg), XDP_PASS);
	assert_null(strstr(out_payload(), "203.0.113.57"));
	evict(&H, c);
	return conn_send(&H, c, body2);
}

/* Documented: a body segment without state is refused (flow_unknown; inline
 * a RST so the client reconnects), and so is everything after it on that
 * connection: where the next request starts cannot be known any more. */
static void test_evicted_mid_body(void **state)
{
	struct conn c;
	__u64 u0;

	(void)state;
	assert_int_equal(open_sized(&H, BV_MODE_INLINE, 0), 0);
	u0 = harness_stat(&H, BV_ST_FLOW_UNKNOWN);
	assert_int_equal(beacon_evicted_mid_body(&c, 42001, "{\"a\":1,", "\"b\":2}"), XDP_TX);
	assert_int_equal(harness_stat(&H, BV_ST_FLOW_UNKNOWN), u0 + 1);
	assert_int_equal(conn_send(&H, &c, NEXT_BEACON), XDP_TX);
	assert_int_equal(harness_stat(&H, BV_ST_FLOW_UNKNOWN), u0 + 2);
	harness_close(&H);
}

/*
 * Fixed (was: resynchronisation on "a segment that starts with a method",
 * which trusted body bytes). A beacon body is the sender's to choose; if
 * the flow's state is evicted mid-body and the next body segment starts
 * with "GET /", the program takes it for a request head, and the request
 * that really follows on the connection (with HAProxy http-reuse, maybe
 * another client's) is scanned as part of that fake request: its
 * X-Forwarded-For leaves unmasked and its rxVisitor unreplaced.
 */
static void test_no_resync_on_body_fake_head_open(void **state)
{
	struct conn c;
	const char *p;

	(void)state;
	assert_int_equal(open_sized(&H, BV_MODE_INLINE, 0), 0);
	/* the fake head is left open: the real request becomes header lines */
	beacon_evicted_mid_body(&c, 42002, "{\"a\":1}\n", "GET /x HTTP/1.1\r\nX-Pad: ");
	if (conn_send(&H, &c, NEXT_BEACON) == XDP_PASS) {
		p = out_payload();
		if (strstr(p, "198.51.100.23") || strstr(p, RXV))
			fail_msg("next request leaked after a resync on body bytes: %s", p);
	}
	harness_close(&H);
}

static void test_no_resync_on_body_fake_content_length(void **state)
{
	struct conn c;
	const char *p;

	(void)state;
	assert_int_equal(open_sized(&H, BV_MODE_INLINE, 0), 0);
	/* the fake head announces a body: the real request becomes body */
	beacon_evicted_mid_body(&c, 42003, "{\"a\":1}\n",
				"GET /x HTTP/1.1\r\nContent-Length: 4000\r\n\r\n");
	if (conn_send(&H, &c, NEXT_BEACON) == XDP_PASS) {
		p = out_payload();
		if (strstr(p, "198.51.100.23") || strstr(p, RXV))
			fail_msg("next request leaked after a resync on body bytes: %s", p);
	}
	harness_close(&H);
}

/* The same in mirror/pcap mode without any eviction: a lost segment (a
 * gap) resynchronises at the next segment that starts with a method. */
static void test_no_resync_on_body_after_gap_pcap(void **state)
{
	static const char fake[] = "GET /x HTTP/1.1\r\nX-Pad: ";
	struct conn c;
	char seg[512];
	const char *p;

	(void)state;
	assert_int_equal(open_sized(&H, BV_MODE_PCAP, 0), 0);
	conn_make(&c, 4, "192.0.2.10", 42004);
	assert_int_equal(conn_syn(&H, &c), XDP_PASS);
	snprintf(seg, sizeof(seg), BODY_HEAD "%s", 8 + 8 + strlen(fake), "{\"a\":1}\n");
	assert_int_equal(conn_send(&H, &c, seg), XDP_PASS);
	c.seq += 8;                                     /* 8 body bytes lost */
	assert_int_equal(conn_send(&H, &c, fake), XDP_DROP); /* lost until a SYN */
	if (conn_send(&H, &c, NEXT_BEACON) == XDP_PASS) {
		p = out_payload();
		if (strstr(p, "198.51.100.23") || strstr(p, RXV))
			fail_msg("next request leaked after a resync on body bytes: %s", p);
	}
	harness_close(&H);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_million_flows),
		cmocka_unit_test(test_small_map_pcap_mode),
		cmocka_unit_test(test_syn_flood_spares_live_connections),
		cmocka_unit_test(test_rst_at_next_seq_forgets),
		cmocka_unit_test(test_port_reuse_new_connection),
		cmocka_unit_test(test_evicted_mid_body),
		cmocka_unit_test(test_no_resync_on_body_fake_head_open),
		cmocka_unit_test(test_no_resync_on_body_fake_content_length),
		cmocka_unit_test(test_no_resync_on_body_after_gap_pcap),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests_name("flood", tests, NULL, NULL) ? 1 : 0;
}
