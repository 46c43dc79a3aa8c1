/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * VXLAN and GENEVE decapsulation (bpf/bv_encap.h, docs/MASKING.md
 * "Tunnels") through the real, loaded XDP program. Every frame goes through
 * a pcap-mode and a mirror-mode program alike (each with its own flow
 * state): both must give the same verdict (pass / redirect, or drop) and
 * the same bytes. Checksums are checked by tests/pktbuild.c, on the outer
 * frame and on the inner frame on its own.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "beaconveil.skel.h"
#include <linux/bpf.h>
#include <cmocka.h>

#include "harness.h"
#include "pktbuild.h"

#define CLIENT4 "203.0.113.57"
#define SERVER4 "198.18.0.10"
#define CLIENT6 "2001:db8:85a3:8d3:1319:8a2e:370:7348"
#define SERVER6 "2001:db8::10"
/* the tunnel's endpoints: the mirror source and the mirror target */
#define VTEP4_SRC "198.19.7.33"
#define VTEP4_DST "198.18.0.200"
#define VTEP6_SRC "2001:db8:1:2::33"
#define VTEP6_DST "2001:db8:ffff:1::200"

static struct bv_harness HP, HM;  /* pcap mode, mirror mode */
static uint8_t out[16384];
static size_t outlen;
static uint16_t next_cport = 41000;

static const char beacon_fmt[] =
	"POST /rb_1 HTTP/1.1\r\nHost: rum.example.com\r\nX-Forwarded-For: %s\r\n"
	"Content-Length: 0\r\n\r\n";

static int setup(void **state)
{
	__u32 zero = 0, lo = if_nametoindex("lo");

	(void)state;
	if (harness_open(&HP, BV_MODE_PCAP) || harness_open(&HM, BV_MODE_MIRROR))
		return -1;
	/* under BPF_PROG_TEST_RUN a redirect only returns XDP_REDIRECT */
	return bpf_map_update_elem(bpf_map__fd(HM.skel->maps.bv_egress), &zero, &lo, 0);
}

static int teardown(void **state)
{
	(void)state;
	harness_close(&HP);
	harness_close(&HM);
	return 0;
}

/* Both programs; returns the pcap-mode verdict, the output in out. */
static int run(const uint8_t *f, size_t n)
{
	static uint8_t mout[16384];
	size_t mlen = sizeof(mout);
	int rp, rm;

	outlen = sizeof(out);
	rp = harness_run(&HP, f, n, out, &outlen);
	rm = harness_run(&HM, f, n, mout, &mlen);
	assert_true(rp == XDP_PASS || rp == XDP_DROP);
	assert_int_equal(rm, rp == XDP_PASS ? XDP_REDIRECT : XDP_DROP);
	if (rp == XDP_PASS) {
		assert_int_equal(mlen, outlen);
		assert_memory_equal(mout, out, outlen);
	}
	return rp;
}

/* A counter, the same in both programs. */
static __u64 stat(int idx)
{
	__u64 v = harness_stat(&HP, idx);

	assert_int_equal(harness_stat(&HM, idx), v);
	return v;
}

static int apply(void)
{
	HM.cfg.nvxlan = HP.cfg.nvxlan;
	HM.cfg.ngeneve = HP.cfg.ngeneve;
	memcpy(HM.cfg.vxlan_ports, HP.cfg.vxlan_ports, sizeof(HP.cfg.vxlan_ports));
	memcpy(HM.cfg.geneve_ports, HP.cfg.geneve_ports, sizeof(HP.cfg.geneve_ports));
	return harness_apply(&HP) || harness_apply(&HM);
}

/* The outer headers of a tunnel of `family`, to `dport`. */
static struct pkt_opts outer_opts(int family, uint16_t dport)
{
	struct pkt_opts o = { .family = family, .sport = 49152, .dport = dport };

	o.src = family == 4 ? VTEP4_SRC : VTEP6_SRC;
	o.dst = family == 4 ? VTEP4_DST : VTEP6_DST;
	return o;
}

static struct pkt_tunnel vxlan(void)
{
	return (struct pkt_tunnel){ .kind = PKT_VXLAN, .vni = 42, .vxlan_flags = -1 };
}

static struct pkt_tunnel geneve(int opts_len)
{
	return (struct pkt_tunnel){ .kind = PKT_GENEVE, .vni = 7, .vxlan_flags = -1,
				    .opts_len = opts_len };
}

/* One inner TCP connection client -> server:80. */
struct conn {
	struct pkt_opts o;
	uint32_t seq;
};

static void conn_init(struct conn *c, int family)
{
	memset(c, 0, sizeof(*c));
	c->o.family = family;
	c->o.src = family == 4 ? CLIENT4 : CLIENT6;
	c->o.dst = family == 4 ? SERVER4 : SERVER6;
	c->o.sport = next_cport++;
	c->o.dport = 80;
	c->seq = 1000;
}

/* The inner segment (SYN if syn, else data) in the tunnel; returns the frame length. */
static size_t conn_frame(struct conn *c, uint8_t *f, size_t cap, const struct pkt_opts *outer,
			 const struct pkt_tunnel *t, int syn, const char *data)
{
	uint8_t inner[4096];
	struct pkt_opts o = c->o;
	size_t n, plen = data ? strlen(data) : 0;

	if (syn) {
		o.tcp_flags = 0x02;
		o.seq = c->seq - 1;
	} else {
		o.seq = c->seq;
		c->seq += (uint32_t)plen;
	}
	n = pkt_build_tcp(inner, sizeof(inner), &o, data, plen);
	assert_true(n > 0);
	n = pkt_build_tunnel(f, cap, outer, t, inner, n);
	assert_true(n > 0);
	return n;
}

static void assert_prefix(const uint8_t *a, const char *want, int family)
{
	uint8_t w[16];

	assert_int_equal(inet_pton(family == 4 ? AF_INET : AF_INET6, want, w), 1);
	assert_memory_equal(a, w, family == 4 ? 4 : 16);
}

/* The output's inner frame, its checksums valid; *v its parse. */
static const uint8_t *out_inner(int kind, struct pkt_view *v, size_t *ilen)
{
	const uint8_t *in = pkt_tunnel_inner(out, outlen, kind, ilen);

	assert_non_null(in);
	assert_int_equal(pkt_parse(in, *ilen, v), 0);
	assert_true(pkt_ipv4_csum_ok(in, *ilen));
	assert_true(pkt_l4_csum_ok(in, *ilen));
	return in;
}

static const char *inner_payload(const uint8_t *in, size_t ilen)
{
	static char s[4096];
	size_t plen = 0;
	const uint8_t *p = pkt_payload(in, ilen, &plen);

	assert_non_null(p);
	assert_true(plen < sizeof(s));
	memcpy(s, p, plen);
	s[plen] = 0;
	return s;
}

/* The X-Forwarded-For value of a request (the masker keeps its length,
 * padding with spaces) is the address `want`. */
static void assert_xff(const char *req, int family, const char *want)
{
	const char *h = strstr(req, "X-Forwarded-For:"), *e;
	char val[64];
	uint8_t a[16], w[16];
	size_t n;

	assert_non_null(h);
	h += strlen("X-Forwarded-For:");
	while (*h == ' ')
		h++;
	e = strstr(h, "\r\n");
	assert_non_null(e);
	while (e > h && e[-1] == ' ')
		e--;
	n = (size_t)(e - h);
	assert_true(n < sizeof(val));
	memcpy(val, h, n);
	val[n] = 0;
	assert_int_equal(inet_pton(family == 4 ? AF_INET : AF_INET6, val, a), 1);
	assert_int_equal(inet_pton(family == 4 ? AF_INET : AF_INET6, want, w), 1);
	assert_memory_equal(a, w, family == 4 ? 4 : 16);
}

/* The outer UDP checksum field of the output. */
static uint16_t out_udp_csum(void)
{
	struct pkt_view v;

	assert_int_equal(pkt_parse(out, outlen, &v), 0);
	assert_int_equal(v.l4_proto, IPPROTO_UDP);
	return (uint16_t)(out[v.l4_off + 6] << 8 | out[v.l4_off + 7]);
}

/* A beacon in VXLAN over IPv4: inner and outer addresses masked, every
 * checksum valid, the outer UDP checksum (non-zero in the input) zero. */
static void test_vxlan4_beacon(void **state)
{
	struct pkt_opts ou = outer_opts(4, 4789);
	struct pkt_tunnel t = vxlan();
	struct pkt_view v, iv;
	struct conn c;
	uint8_t f[4096];
	char req[256];
	size_t n, ilen;
	__u64 vx = stat(BV_ST_ENCAP_VXLAN), l3 = stat(BV_ST_L3_MASKED);
	const uint8_t *in;

	(void)state;
	conn_init(&c, 4);
	n = conn_frame(&c, f, sizeof(f), &ou, &t, 1, NULL);
	assert_int_equal(run(f, n), XDP_PASS);
	snprintf(req, sizeof(req), beacon_fmt, CLIENT4);
	n = conn_frame(&c, f, sizeof(f), &ou, &t, 0, req);
	assert_int_equal(out_udp_csum(), 0); /* the SYN's, non-zero in its input */
	assert_int_equal(run(f, n), XDP_PASS);
	assert_int_equal(outlen, n);

	/* outer: both addresses masked, IPv4 header checksum valid, UDP 0 */
	assert_int_equal(pkt_parse(out, outlen, &v), 0);
	assert_prefix(v.src, "198.19.7.0", 4);
	assert_prefix(v.dst, "198.18.0.0", 4);
	assert_true(pkt_ipv4_csum_ok(out, outlen));
	assert_int_equal(out_udp_csum(), 0);
	assert_true(pkt_l4_csum_ok(out, outlen));
	/* the tunnel header as it was */
	assert_memory_equal(out + v.payload_off, f + v.payload_off, 8);

	/* inner: source and X-Forwarded-For masked, checksums valid */
	in = out_inner(PKT_VXLAN, &iv, &ilen);
	assert_prefix(iv.src, "203.0.113.0", 4);
	assert_prefix(iv.dst, SERVER4, 4);
	assert_xff(inner_payload(in, ilen), 4, "203.0.113.0");
	assert_null(strstr(inner_payload(in, ilen), CLIENT4));
	assert_int_equal(stat(BV_ST_ENCAP_VXLAN), vx + 2);
	assert_true(stat(BV_ST_L3_MASKED) >= l3 + 4);
}

/* A beacon in GENEVE with options over IPv6: the outer UDP checksum is
 * computed anew and valid; inner IPv6 and IPv4 clients alike. */
static void test_geneve6_beacon(void **state)
{
	static const int opts[] = { 0, 12, 132, 252 };
	struct pkt_opts ou = outer_opts(6, 6081);
	struct pkt_view v, iv;
	struct conn c;
	uint8_t f[4096];
	char req[256];
	size_t n, ilen;
	const uint8_t *in;

	(void)state;
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		for (int fam = 4; fam <= 6; fam += 2) {
			struct pkt_tunnel t = geneve(opts[i]);
			__u64 gv = stat(BV_ST_ENCAP_GENEVE);
			const char *client = fam == 4 ? CLIENT4 : CLIENT6;

			conn_init(&c, fam);
			n = conn_frame(&c, f, sizeof(f), &ou, &t, 1, NULL);
			assert_int_equal(run(f, n), XDP_PASS);
			snprintf(req, sizeof(req), beacon_fmt, client);
			n = conn_frame(&c, f, sizeof(f), &ou, &t, 0, req);
			assert_int_equal(run(f, n), XDP_PASS);

			assert_int_equal(pkt_parse(out, outlen, &v), 0);
			assert_prefix(v.src, "2001:db8:1::", 6);
			assert_prefix(v.dst, "2001:db8:ffff::", 6);
			assert_true(out_udp_csum() != 0);
			assert_true(pkt_l4_csum_ok(out, outlen));
			/* GENEVE header and options as they were */
			assert_memory_equal(out + v.payload_off, f + v.payload_off, 8 + (size_t)opts[i]);

			in = out_inner(PKT_GENEVE, &iv, &ilen);
			assert_prefix(iv.src, fam == 4 ? "203.0.113.0" : "2001:db8:85a3::", fam);
			assert_null(strstr(inner_payload(in, ilen), client));
			assert_xff(inner_payload(in, ilen), fam, fam == 4 ? "203.0.113.0" : "2001:db8:85a3::");
			assert_int_equal(stat(BV_ST_ENCAP_GENEVE), gv + 2);
		}
	}
}

/* The longest headers on both sides: outer QinQ and IPv4 options or IPv6
 * extension headers, GENEVE with 252 bytes of options, inner 802.1Q and
 * IPv4 options or IPv6 extension headers and TCP options. */
static void test_long_headers(void **state)
{
	struct pkt_view v, iv;
	struct conn c;
	uint8_t f[4096];
	char req[256];
	size_t n, ilen;
	const uint8_t *in;

	(void)state;
	for (int ofam = 4; ofam <= 6; ofam += 2) {
		for (int fam = 4; fam <= 6; fam += 2) {
			struct pkt_opts ou = outer_opts(ofam, 6081);
			struct pkt_tunnel t = geneve(252);
			const char *client = fam == 4 ? CLIENT4 : CLIENT6;

			ou.nvlan = 2;
			ou.ip_opts_len = 40;
			ou.ipv6_ext = 3;
			conn_init(&c, fam);
			c.o.nvlan = 1;
			c.o.ip_opts_len = 40;
			c.o.ipv6_ext = 3;
			c.o.tcp_opts_len = 40;
			n = conn_frame(&c, f, sizeof(f), &ou, &t, 1, NULL);
			assert_int_equal(run(f, n), XDP_PASS);
			snprintf(req, sizeof(req), beacon_fmt, client);
			n = conn_frame(&c, f, sizeof(f), &ou, &t, 0, req);
			assert_int_equal(run(f, n), XDP_PASS);
			assert_int_equal(pkt_parse(out, outlen, &v), 0);
			assert_prefix(v.src, ofam == 4 ? "198.19.7.0" : "2001:db8:1::", ofam);
			assert_true(pkt_ipv4_csum_ok(out, outlen));
			assert_true(pkt_l4_csum_ok(out, outlen));
			in = out_inner(PKT_GENEVE, &iv, &ilen);
			assert_prefix(iv.src, fam == 4 ? "203.0.113.0" : "2001:db8:85a3::", fam);
			assert_xff(inner_payload(in, ilen), fam, fam == 4 ? "203.0.113.0" : "2001:db8:85a3::");
		}
	}
}

/* The outer UDP checksum over IPv6 is right for every datagram length
 * (its low byte: carries of the pseudo-header's sum). */
static void test_udp6_csum_lengths(void **state)
{
	struct pkt_opts ou = outer_opts(6, 6081), io = { .family = 4, .src = CLIENT4,
		.dst = SERVER4, .sport = 5353, .dport = 53 };
	struct pkt_tunnel t = geneve(4);
	uint8_t inner[512], f[1024], pl[300];
	size_t n, m;

	(void)state;
	memset(pl, 'q', sizeof(pl));
	for (size_t len = 0; len < 256; len++) {
		m = pkt_build_udp(inner, sizeof(inner), &io, pl, len);
		n = pkt_build_tunnel(f, sizeof(f), &ou, &t, inner, m);
		assert_int_equal(run(f, n), XDP_PASS);
		if (!pkt_l4_csum_ok(out, outlen))
			fail_msg("inner payload %zu bytes: outer UDP checksum 0x%04x wrong", len,
				 out_udp_csum());
	}
}

/* A zero outer UDP checksum over IPv4 stays zero. */
static void test_zero_csum_stays_zero(void **state)
{
	struct pkt_opts ou = outer_opts(4, 4789);
	struct pkt_tunnel t = vxlan();
	struct pkt_view iv;
	struct conn c;
	uint8_t f[4096];
	char req[256];
	size_t n, ilen;

	(void)state;
	t.zero_csum = true;
	conn_init(&c, 4);
	n = conn_frame(&c, f, sizeof(f), &ou, &t, 1, NULL);
	assert_int_equal(run(f, n), XDP_PASS);
	snprintf(req, sizeof(req), beacon_fmt, CLIENT4);
	n = conn_frame(&c, f, sizeof(f), &ou, &t, 0, req);
	assert_int_equal(run(f, n), XDP_PASS);
	assert_int_equal(out_udp_csum(), 0);
	assert_true(pkt_ipv4_csum_ok(out, outlen));
	out_inner(PKT_VXLAN, &iv, &ilen);
	assert_prefix(iv.src, "203.0.113.0", 4);
}

/* Flow state is the inner connection's: its SYN in one tunnel, its data
 * in another (another VTEP, another kind) is the same flow. */
static void test_flow_keyed_by_inner(void **state)
{
	struct pkt_opts o4 = outer_opts(4, 4789), o6 = outer_opts(6, 6081);
	struct pkt_tunnel tv = vxlan(), tg = geneve(8);
	struct pkt_view iv;
	struct conn c;
	uint8_t f[4096];
	char req[256];
	size_t n, ilen;
	__u64 unknown = stat(BV_ST_FLOW_UNKNOWN), fnew = stat(BV_ST_FLOW_NEW);

	(void)state;
	conn_init(&c, 4);
	n = conn_frame(&c, f, sizeof(f), &o4, &tv, 1, NULL);
	assert_int_equal(run(f, n), XDP_PASS);
	snprintf(req, sizeof(req), beacon_fmt, CLIENT4);
	n = conn_frame(&c, f, sizeof(f), &o6, &tg, 0, req);
	assert_int_equal(run(f, n), XDP_PASS);
	out_inner(PKT_GENEVE, &iv, &ilen);
	assert_int_equal(stat(BV_ST_FLOW_UNKNOWN), unknown);
	assert_int_equal(stat(BV_ST_FLOW_NEW), fnew + 1);

	/* data of an inner connection whose SYN was never seen: dropped, as bare */
	conn_init(&c, 4);
	n = conn_frame(&c, f, sizeof(f), &o4, &tv, 0, req);
	assert_int_equal(run(f, n), XDP_DROP);
	assert_int_equal(stat(BV_ST_FLOW_UNKNOWN), unknown + 1);
}

/* Inner traffic that is not a beacon flow: handled as bare, if it is IP. */
static void test_inner_other(void **state)
{
	struct pkt_opts ou = outer_opts(4, 4789), io = { .family = 4, .src = CLIENT4,
		.dst = SERVER4, .sport = 5353, .dport = 53 };
	struct pkt_tunnel t = vxlan();
	struct pkt_view iv;
	uint8_t inner[256], f[512];
	size_t n, m, ilen;
	__u64 nonip = stat(BV_ST_NON_IP), nontcp = stat(BV_ST_NON_TCP);
	__u64 uns;

	(void)state;
	/* inner UDP: both inner addresses masked, inner UDP checksum valid */
	m = pkt_build_udp(inner, sizeof(inner), &io, "query", 5);
	n = pkt_build_tunnel(f, sizeof(f), &ou, &t, inner, m);
	assert_int_equal(run(f, n), XDP_PASS);
	out_inner(PKT_VXLAN, &iv, &ilen);
	assert_prefix(iv.src, "203.0.113.0", 4);
	assert_prefix(iv.dst, "198.18.0.0", 4);
	assert_int_equal(stat(BV_ST_NON_TCP), nontcp + 1);

	/* inner ARP (holding the client's address), MPLS: not IP, dropped */
	for (int k = 0; k < 2; k++) {
		uns = stat(BV_ST_ENCAP_UNSUPPORTED);
		memset(inner, 0, 60);
		memset(inner, 0xff, 6);
		inner[6] = 2;
		inner[11] = 1;
		inner[12] = k ? 0x88 : 0x08;
		inner[13] = k ? 0x47 : 0x06;
		inner[28] = 203, inner[29] = 0, inner[30] = 113, inner[31] = 57;
		n = pkt_build_tunnel(f, sizeof(f), &ou, &t, inner, 60);
		assert_int_equal(run(f, n), XDP_DROP);
		assert_int_equal(stat(BV_ST_ENCAP_UNSUPPORTED), uns + 1);
	}
	assert_int_equal(stat(BV_ST_NON_IP), nonip);
}

/* An inner frame cut at every header boundary (and within each header),
 * in a well-formed outer datagram: dropped, counted. */
static void test_truncated(void **state)
{
	static const size_t cuts[] = {
		0, 4, 7,               /* tunnel header cut */
		8, 8 + 13,             /* Ethernet missing, cut */
		8 + 14, 8 + 14 + 19,   /* IP header missing, cut */
		8 + 14 + 20 + 10,      /* TCP header cut */
		8 + 14 + 20 + 20 + 5,  /* payload cut: inner IP length beyond the datagram */
	};
	struct pkt_opts ou = outer_opts(4, 4789);
	struct pkt_tunnel t = vxlan();
	struct conn c;
	uint8_t f[4096], g[4096];
	char req[256];
	size_t n, m;
	struct pkt_view v;

	(void)state;
	conn_init(&c, 4);
	snprintf(req, sizeof(req), beacon_fmt, CLIENT4);
	n = conn_frame(&c, f, sizeof(f), &ou, &t, 0, req);
	assert_int_equal(pkt_parse(f, n, &v), 0);
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		__u64 mal = stat(BV_ST_ENCAP_MALFORMED), drop = stat(BV_ST_ACT_DROP);

		/* the outer UDP datagram holds only cuts[i] bytes */
		m = pkt_build_udp(g, sizeof(g), &ou, f + v.payload_off, cuts[i]);
		assert_true(m > 0);
		assert_int_equal(run(g, m), XDP_DROP);
		assert_int_equal(stat(BV_ST_ENCAP_MALFORMED), mal + 1);
		assert_int_equal(stat(BV_ST_ACT_DROP), drop + 1);
		/* the same over IPv6 */
		{
			struct pkt_opts o6 = outer_opts(6, 4789);

			m = pkt_build_udp(g, sizeof(g), &o6, f + v.payload_off, cuts[i]);
			assert_int_equal(run(g, m), XDP_DROP);
			assert_int_equal(stat(BV_ST_ENCAP_MALFORMED), mal + 2);
		}
	}
	/* the outer UDP header cut (ports still there) */
	{
		__u64 mal = stat(BV_ST_ENCAP_MALFORMED);
		struct pkt_view gv;

		m = pkt_build_udp(g, sizeof(g), &ou, NULL, 0);
		assert_int_equal(pkt_parse(g, m, &gv), 0);
		g[gv.l3_off + 3] -= 2;  /* IPv4 total length: UDP header 6 bytes */
		m -= 2;
		pkt_fix_csums(g, m);
		assert_int_equal(run(g, m), XDP_DROP);
		assert_int_equal(stat(BV_ST_ENCAP_MALFORMED), mal + 1);
	}
	/* the frame cut (outer IP length beyond it): malformed as any packet */
	{
		__u64 mp = stat(BV_ST_MALFORMED_PKT);

		assert_int_equal(run(f, n - 30), XDP_DROP);
		assert_int_equal(stat(BV_ST_MALFORMED_PKT), mp + 1);
	}
	/* the UDP length field disagreeing with the IP datagram */
	{
		__u64 mal = stat(BV_ST_ENCAP_MALFORMED);

		memcpy(g, f, n);
		g[v.l4_off + 5] ^= 4;
		assert_int_equal(run(g, n), XDP_DROP);
		assert_int_equal(stat(BV_ST_ENCAP_MALFORMED), mal + 1);
	}
}

/* Broken or unsupported tunnel headers: dropped, counted. */
static void test_bad_headers(void **state)
{
	struct pkt_opts o4 = outer_opts(4, 4789), o6 = outer_opts(6, 6081);
	struct pkt_tunnel t, tv_default = vxlan();
	struct conn c;
	uint8_t f[4096], g[4096], inner[4096];
	char req[256];
	size_t n, m;
	struct pkt_view v;
	__u64 mal, uns;

	(void)state;
	conn_init(&c, 4);
	snprintf(req, sizeof(req), beacon_fmt, CLIENT4);

	/* VXLAN without the I flag; with only reserved flags */
	for (int fl = 0; fl < 2; fl++) {
		mal = stat(BV_ST_ENCAP_MALFORMED);
		t = vxlan();
		t.vxlan_flags = fl ? 0xf7 : 0x00;
		n = conn_frame(&c, f, sizeof(f), &o4, &t, 0, req);
		assert_int_equal(run(f, n), XDP_DROP);
		assert_int_equal(stat(BV_ST_ENCAP_MALFORMED), mal + 1);
	}
	/* VXLAN-GPE's next-protocol bit: maybe not Ethernet */
	uns = stat(BV_ST_ENCAP_UNSUPPORTED);
	t = vxlan();
	t.vxlan_flags = 0x0c;
	n = conn_frame(&c, f, sizeof(f), &o4, &t, 0, req);
	assert_int_equal(run(f, n), XDP_DROP);
	assert_int_equal(stat(BV_ST_ENCAP_UNSUPPORTED), uns + 1);

	/* GENEVE option length beyond the datagram */
	for (int ol = 0; ol < 2; ol++) {
		mal = stat(BV_ST_ENCAP_MALFORMED);
		t = geneve(8);
		n = conn_frame(&c, f, sizeof(f), &o6, &t, 0, req);
		assert_int_equal(pkt_parse(f, n, &v), 0);
		/* the options as long as the header allows (252 bytes), or just
		 * past the inner frame's Ethernet header */
		f[v.payload_off] = (uint8_t)(ol ? 0x3f : (v.payload_len - 8 - 13 + 3) / 4);
		if (!ol) /* keep the datagram just too short for the Ethernet header */
			assert_true(8 + (size_t)(f[v.payload_off] & 0x3f) * 4 + 14 > v.payload_len);
		pkt_fix_csums(f, n);
		assert_int_equal(run(f, n), XDP_DROP);
		assert_int_equal(stat(BV_ST_ENCAP_MALFORMED), mal + 1);
	}
	/* GENEVE carrying IPv4 directly, GENEVE version 1 */
	for (int k = 0; k < 2; k++) {
		uns = stat(BV_ST_ENCAP_UNSUPPORTED);
		t = geneve(4);
		if (k)
			t.geneve_ver = 1;
		else
			t.geneve_proto = 0x0800;
		n = conn_frame(&c, f, sizeof(f), &o6, &t, 0, req);
		assert_int_equal(run(f, n), XDP_DROP);
		assert_int_equal(stat(BV_ST_ENCAP_UNSUPPORTED), uns + 1);
	}
	/* a tunnel in the tunnel: VXLAN in GENEVE */
	uns = stat(BV_ST_ENCAP_UNSUPPORTED);
	t = vxlan();
	{
		struct pkt_opts mid = outer_opts(4, 4789);

		mid.src = "198.18.9.1";
		n = conn_frame(&c, inner, sizeof(inner), &mid, &t, 0, req);
	}
	t = geneve(0);
	m = pkt_build_tunnel(g, sizeof(g), &o6, &t, inner, n);
	assert_int_equal(run(g, m), XDP_DROP);
	assert_int_equal(stat(BV_ST_ENCAP_UNSUPPORTED), uns + 1);

	/* an inner UDP fragment: maybe a piece of a tunnel in the tunnel */
	{
		struct pkt_opts io = { .family = 4, .src = CLIENT4, .dst = SERVER4,
				       .sport = 5353, .dport = 53, .frag_off = 0x0010 };

		uns = stat(BV_ST_ENCAP_UNSUPPORTED);
		m = pkt_build_udp(inner, sizeof(inner), &io, req, strlen(req));
		n = pkt_build_tunnel(f, sizeof(f), &o4, &tv_default, inner, m);
		assert_int_equal(run(f, n), XDP_DROP);
		assert_int_equal(stat(BV_ST_ENCAP_UNSUPPORTED), uns + 1);
	}

	/* outer IPv4 fragments: the first one cut, the later ones unknown */
	{
		__u64 fr = stat(BV_ST_FRAGMENT);
		struct pkt_opts fo = o4;

		mal = stat(BV_ST_ENCAP_MALFORMED);
		t = vxlan();
		fo.frag_off = 0x2000; /* MF */
		n = conn_frame(&c, f, sizeof(f), &fo, &t, 0, req);
		assert_int_equal(run(f, n), XDP_DROP);
		assert_int_equal(stat(BV_ST_ENCAP_MALFORMED), mal + 1);
		fo.frag_off = 0x0010; /* offset 128 bytes, last fragment */
		n = pkt_build_udp(f, sizeof(f), &fo, req, strlen(req));
		assert_int_equal(run(f, n), XDP_DROP);
		assert_int_equal(stat(BV_ST_FRAGMENT), fr + 1);
	}
}

/* Ports are configurable; with none, a tunnel's packet is plain UDP. */
static void test_ports_config(void **state)
{
	struct pkt_opts o4 = outer_opts(4, 4789), o8 = outer_opts(4, 8472);
	struct pkt_tunnel t = vxlan();
	struct pkt_view v;
	struct conn c;
	uint8_t f[4096], frag[512];
	char req[256];
	size_t n, nf;
	__u64 vx, nontcp, fr;
	struct pkt_opts fo = o4;

	(void)state;
	conn_init(&c, 4);
	snprintf(req, sizeof(req), beacon_fmt, CLIENT4);
	fo.frag_off = 0x0010;
	nf = pkt_build_udp(frag, sizeof(frag), &fo, req, strlen(req));

	/* vxlan_ports = 8472: 8472 decapsulated, 4789 plain UDP */
	HP.cfg.vxlan_ports[0] = 8472;
	HP.cfg.nvxlan = 1;
	assert_int_equal(apply(), 0);
	vx = stat(BV_ST_ENCAP_VXLAN);
	n = conn_frame(&c, f, sizeof(f), &o8, &t, 1, NULL);
	assert_int_equal(run(f, n), XDP_PASS);
	assert_int_equal(stat(BV_ST_ENCAP_VXLAN), vx + 1);
	nontcp = stat(BV_ST_NON_TCP);
	n = conn_frame(&c, f, sizeof(f), &o4, &t, 0, req);
	assert_int_equal(run(f, n), XDP_PASS);
	assert_int_equal(stat(BV_ST_ENCAP_VXLAN), vx + 1);
	assert_int_equal(stat(BV_ST_NON_TCP), nontcp + 1);
	/* other UDP: the outer addresses masked, the datagram as it was */
	assert_int_equal(pkt_parse(out, outlen, &v), 0);
	assert_prefix(v.src, "198.19.7.0", 4);
	assert_memory_equal(out + v.payload_off, f + v.payload_off, v.payload_len);
	assert_true(pkt_l4_csum_ok(out, outlen));

	/* none at all: nothing decapsulated, UDP fragments pass (masked) */
	HP.cfg.nvxlan = 0;
	HP.cfg.ngeneve = 0;
	assert_int_equal(apply(), 0);
	vx = stat(BV_ST_ENCAP_VXLAN);
	n = conn_frame(&c, f, sizeof(f), &o8, &t, 0, req);
	assert_int_equal(run(f, n), XDP_PASS);
	assert_int_equal(stat(BV_ST_ENCAP_VXLAN), vx);
	fr = stat(BV_ST_FRAGMENT);
	assert_int_equal(run(frag, nf), XDP_PASS);
	assert_int_equal(stat(BV_ST_FRAGMENT), fr);

	/* the defaults again */
	bv_config_defaults(&HP.cfg);
	assert_int_equal(apply(), 0);
	n = conn_frame(&c, f, sizeof(f), &o4, &t, 0, req);
	vx = stat(BV_ST_ENCAP_VXLAN);
	run(f, n);
	assert_int_equal(stat(BV_ST_ENCAP_VXLAN), vx + 1);
}

/* Inline mode never decapsulates: a tunnel's packet passes as it is. */
static void test_inline_untouched(void **state)
{
	struct bv_harness HI;
	struct pkt_opts ou = outer_opts(4, 4789);
	struct pkt_tunnel t = vxlan();
	struct conn c;
	uint8_t f[4096], o[4096];
	char req[256];
	size_t n, ol = sizeof(o);

	(void)state;
	assert_int_equal(harness_open(&HI, BV_MODE_INLINE), 0);
	conn_init(&c, 4);
	snprintf(req, sizeof(req), beacon_fmt, CLIENT4);
	n = conn_frame(&c, f, sizeof(f), &ou, &t, 0, req);
	assert_int_equal(harness_run(&HI, f, n, o, &ol), XDP_PASS);
	assert_int_equal(ol, n);
	assert_memory_equal(o, f, n);
	assert_int_equal(harness_stat(&HI, BV_ST_ENCAP_VXLAN), 0);
	harness_close(&HI);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vxlan4_beacon),
		cmocka_unit_test(test_geneve6_beacon),
		cmocka_unit_test(test_long_headers),
		cmocka_unit_test(test_udp6_csum_lengths),
		cmocka_unit_test(test_zero_csum_stays_zero),
		cmocka_unit_test(test_flow_keyed_by_inner),
		cmocka_unit_test(test_inner_other),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_ports_config),
		cmocka_unit_test(test_inline_untouched),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
