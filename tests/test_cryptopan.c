/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ip_anon = prefix_preserving: Crypto-PAn in the XDP program against the
 * published sample trace of the original distribution and against an
 * independent reference (tests/cryptopan_ref.c, OpenSSL's AES), in IP
 * headers and in text headers, in pcap and mirror mode; the cache, key
 * changes, and the cases where text keeps its truncated form.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include "beaconveil.skel.h"
#include <cmocka.h>

#include "../bpf/bv_aes.h"
#include "cryptopan_ref.h"
#include "harness.h"
#include "ipanon.h"
#include "pktbuild.h"
#include "rfc7239.h"

/* The key of the Crypto-PAn sample (sample_trace_raw/sanitized). */
static const uint8_t KEY[32] = {
	21, 34, 23, 141, 51, 164, 207, 128, 19, 10, 91, 22, 73, 144, 125, 16,
	216, 152, 143, 131, 121, 121, 101, 39, 98, 87, 76, 45, 42, 132, 34, 2,
};

/* Its address pairs, raw -> sanitized (every distinct address of the trace). */
static const char *const V4[][2] = {
	{ "128.11.68.132", "135.242.180.132" }, { "129.118.74.4", "134.136.186.123" },
	{ "130.132.252.244", "133.68.164.234" }, { "141.223.7.43", "141.167.8.160" },
	{ "141.233.145.108", "141.129.237.235" }, { "152.163.225.39", "151.140.114.167" },
	{ "156.29.3.236", "147.225.12.42" }, { "165.247.96.84", "162.9.99.234" },
	{ "166.107.77.190", "160.132.178.185" }, { "192.102.249.13", "252.138.62.131" },
	{ "192.215.32.125", "252.43.47.189" }, { "192.233.80.103", "252.25.108.8" },
	{ "192.41.57.43", "252.222.221.184" }, { "193.150.244.223", "253.169.52.216" },
	{ "195.205.63.100", "255.186.223.5" }, { "198.200.171.101", "249.199.68.213" },
	{ "198.26.132.101", "249.36.123.202" }, { "198.36.213.5", "249.7.21.132" },
	{ "198.51.77.238", "249.18.186.254" }, { "199.217.79.101", "248.38.184.213" },
	{ "202.49.198.20", "245.206.7.234" }, { "203.12.160.252", "244.248.163.4" },
	{ "204.184.162.189", "243.192.77.90" }, { "204.202.136.230", "243.178.4.198" },
	{ "204.29.20.4", "243.33.20.123" }, { "205.178.38.67", "242.108.198.51" },
	{ "205.188.147.153", "242.96.16.101" }, { "205.188.248.25", "242.96.88.27" },
	{ "205.245.121.43", "242.21.121.163" }, { "207.105.49.5", "241.118.205.138" },
	{ "207.135.65.238", "241.202.129.222" }, { "207.155.9.214", "241.220.250.22" },
	{ "207.188.7.45", "241.255.249.220" }, { "207.25.71.27", "241.33.119.156" },
	{ "207.33.151.131", "241.1.233.131" }, { "208.147.89.59", "227.237.98.191" },
	{ "208.234.120.210", "227.154.67.17" }, { "208.28.185.184", "227.39.94.90" },
	{ "208.52.56.122", "227.8.63.165" }, { "209.12.231.7", "226.243.167.8" },
	{ "209.238.72.3", "226.6.119.243" }, { "209.246.74.109", "226.22.124.76" },
	{ "209.68.60.238", "226.184.220.233" }, { "209.85.249.6", "226.170.70.6" },
	{ "212.120.124.31", "228.135.163.231" }, { "212.146.8.236", "228.19.4.234" },
	{ "212.186.227.154", "228.59.98.98" }, { "212.204.172.118", "228.71.195.169" },
	{ "212.206.130.201", "228.69.242.193" }, { "216.148.237.145", "235.84.194.111" },
	{ "216.157.30.252", "235.89.31.26" }, { "216.184.159.48", "235.96.225.78" },
	{ "216.227.10.221", "235.28.253.36" }, { "216.254.18.172", "235.7.16.162" },
	{ "216.32.132.250", "235.192.139.38" }, { "216.35.217.178", "235.195.157.81" },
	{ "24.0.250.221", "100.15.198.226" }, { "24.13.62.231", "100.2.192.247" },
	{ "24.14.213.138", "100.1.42.141" }, { "24.5.0.80", "100.9.15.210" },
	{ "24.7.198.88", "100.10.6.25" }, { "24.94.26.44", "100.88.228.35" },
	{ "38.15.67.68", "64.3.66.187" }, { "4.3.88.225", "124.60.155.63" },
	{ "63.14.55.111", "95.9.215.7" }, { "63.195.241.44", "95.179.238.44" },
	{ "63.97.7.140", "95.97.9.123" }, { "64.14.118.196", "0.255.183.58" },
	{ "64.34.154.117", "0.221.154.117" }, { "64.39.15.238", "0.219.7.41" },
	{ "10.185.25.118", "117.161.29.118" },
};
#define NV4 (sizeof(V4) / sizeof(V4[0]))

/* IPv6 with the same key, as other implementations extend Crypto-PAn to
 * 128 bits (all bits of the pad, most significant first). */
static const char *const V6[][2] = {
	{ "::1", "78ff:f001:9fc0:20df:8380:b1f1:704:ed" },
	{ "::2", "78ff:f001:9fc0:20df:8380:b1f1:704:ef" },
	{ "::ffff", "78ff:f001:9fc0:20df:8380:b1f1:704:f838" },
	{ "2001:db8::1", "4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1e" },
	{ "2001:db8::2", "4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1c" },
};

static struct bv_harness H;
static struct cpan_ref REF;
static uint8_t out[16384];
static size_t outlen;
static uint16_t next_port = 30000;

/* ---- helpers ------------------------------------------------------------ */

static void use_key(struct bv_harness *h, const uint8_t key[32])
{
	h->cfg.ip_anon = BV_IPANON_PREFIX_PRESERVING;
	h->cfg.ip_anon_key_set = 1;
	memcpy(h->cfg.ip_anon_key, key, 32);
	assert_int_equal(harness_apply(h), 0);
}

static int open_mode(struct bv_harness *h, enum bv_mode mode)
{
	__u32 zero = 0, lo = 1;

	if (harness_open(h, mode))
		return -1;
	if (mode == BV_MODE_MIRROR &&
	    bpf_map_update_elem(bpf_map__fd(h->skel->maps.bv_egress), &zero, &lo, 0))
		return -1;
	return 0;
}

static int setup(void **state)
{
	(void)state;
	if (cpan_ref_init(&REF, KEY))
		return -1;
	if (open_mode(&H, BV_MODE_PCAP))
		return -1;
	H.cfg.ip_anon = BV_IPANON_PREFIX_PRESERVING;
	H.cfg.ip_anon_key_set = 1;
	memcpy(H.cfg.ip_anon_key, KEY, 32);
	return harness_apply(&H);
}

static int teardown(void **state)
{
	(void)state;
	harness_close(&H);
	cpan_ref_free(&REF);
	return 0;
}

static int run_on(struct bv_harness *h, const uint8_t *f, size_t n)
{
	int act;

	outlen = sizeof(out);
	act = harness_run(h, f, n, out, &outlen);
	return act;
}

static void assert_kept(int act, struct bv_harness *h)
{
	(void)h;
	assert_true(act == XDP_PASS || act == XDP_REDIRECT);
}

/* A UDP datagram src -> dst through h: both addresses rewritten (not a
 * beacon flow); out_src/out_dst get the output's. */
static void l3_run(struct bv_harness *h, int family, const char *src, const char *dst,
		   uint8_t *out_src, uint8_t *out_dst)
{
	struct pkt_opts o = { .family = family, .src = src, .dst = dst, .sport = 5000,
			      .dport = 5001 };
	struct pkt_view v;
	uint8_t f[256];
	size_t n = pkt_build_udp(f, sizeof(f), &o, "x", 1);

	assert_true(n > 0);
	assert_kept(run_on(h, f, n), h);
	assert_int_equal(pkt_parse(out, outlen, &v), 0);
	if (family == 4)
		assert_true(pkt_ipv4_csum_ok(out, outlen));
	assert_true(pkt_l4_csum_ok(out, outlen));
	memcpy(out_src, v.src, family == 4 ? 4 : 16);
	memcpy(out_dst, v.dst, family == 4 ? 4 : 16);
}

/* A beacon request on a new connection (SYN, then the request in `nseg`
 * segments cut at `cut`); returns the output payload of the last segment
 * appended to the earlier ones (static). */
static const char *http_run(struct bv_harness *h, int family, const char *req, size_t cut)
{
	static char res[4096];
	struct pkt_opts o = { .family = family, .sport = next_port++, .dport = 80 };
	size_t len = strlen(req), done = 0, n, plen;
	uint8_t f[4096];
	const uint8_t *p;

	o.src = family == 4 ? "198.51.100.7" : "2001:db8:7::7";
	o.dst = family == 4 ? "198.18.0.10" : "2001:db8::10";
	o.seq = 999;
	o.tcp_flags = 0x02;
	n = pkt_build_tcp(f, sizeof(f), &o, NULL, 0);
	assert_kept(run_on(h, f, n), h);
	o.tcp_flags = 0;
	res[0] = 0;
	while (done < len) {
		size_t part = (cut && done == 0 && cut < len) ? cut : len - done;

		o.seq = 1000 + (uint32_t)done;
		n = pkt_build_tcp(f, sizeof(f), &o, req + done, part);
		assert_true(n > 0);
		assert_kept(run_on(h, f, n), h);
		assert_true(pkt_l4_csum_ok(out, outlen));
		p = pkt_payload(out, outlen, &plen);
		assert_non_null(p);
		assert_int_equal(plen, part);
		memcpy(res + done, p, plen);
		done += part;
		res[done] = 0;
	}
	return res;
}

/* The value of header `name` in a request (up to CR), static. */
static const char *hval(const char *req, const char *name)
{
	static char v[256];
	const char *p = strstr(req, name), *e;

	assert_non_null(p);
	p += strlen(name);
	e = strstr(p, "\r\n");
	assert_non_null(e);
	assert_true((size_t)(e - p) < sizeof(v));
	memcpy(v, p, (size_t)(e - p));
	v[e - p] = 0;
	return v;
}

static __u64 st(struct bv_harness *h, int idx)
{
	return harness_stat(h, idx);
}

static void ref4(struct cpan_ref *r, const char *in, char *outs, size_t cap)
{
	uint8_t a[4], b[4];

	assert_int_equal(inet_pton(AF_INET, in, a), 1);
	cpan_ref_anon(r, a, b, 4);
	assert_non_null(inet_ntop(AF_INET, b, outs, (socklen_t)cap));
}

static int cpl(const uint8_t *a, const uint8_t *b, int nbits)
{
	for (int i = 0; i < nbits; i++)
		if (((a[i / 8] ^ b[i / 8]) >> (7 - i % 8)) & 1)
			return i;
	return nbits;
}

/* A fixed-seed generator (xorshift64*), the same sequence everywhere. */
static uint64_t rng_s = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng_s ^= rng_s >> 12;
	rng_s ^= rng_s << 25;
	rng_s ^= rng_s >> 27;
	return rng_s * 0x2545f4914f6cdd1dull;
}

/* ---- the reference and the shared AES ------------------------------------ */

static void test_ref_published_vectors(void **state)
{
	char s[INET6_ADDRSTRLEN];
	uint8_t a[16], b[16], want[16];

	(void)state;
	for (size_t i = 0; i < NV4; i++) {
		ref4(&REF, V4[i][0], s, sizeof(s));
		assert_string_equal(s, V4[i][1]);
	}
	for (size_t i = 0; i < sizeof(V6) / sizeof(V6[0]); i++) {
		assert_int_equal(inet_pton(AF_INET6, V6[i][0], a), 1);
		assert_int_equal(inet_pton(AF_INET6, V6[i][1], want), 1);
		cpan_ref_anon(&REF, a, b, 16);
		assert_memory_equal(b, want, 16);
	}
}

/* bpf/bv_aes.h as plain C: FIPS-197 appendix C.1, then random blocks and
 * keys against OpenSSL; and the map value userspace writes. */
static void test_aes_shared_code(void **state)
{
	uint8_t key[32], in[16], ref[16];
	struct bv_aes_blk b;
	__u32 rk[44];
	struct cpan_ref r;
	struct bv_ipanon v;

	(void)state;
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	bv_aes_expand(key, rk);
	b = (struct bv_aes_blk){ { 0x00112233, 0x44556677, 0x8899aabb, 0xccddeeff } };
	bv_aes_encrypt(rk, &b);
	assert_int_equal(b.w[0], 0x69c4e0d8);
	assert_int_equal(b.w[1], 0x6a7b0430);
	assert_int_equal(b.w[2], 0xd8cdb780);
	assert_int_equal(b.w[3], 0x70b4c55a);
	for (int t = 0; t < 200; t++) {
		for (int i = 0; i < 32; i++)
			key[i] = (uint8_t)rnd();
		for (int i = 0; i < 16; i++)
			in[i] = (uint8_t)rnd();
		assert_int_equal(cpan_ref_init(&r, key), 0);
		cpan_ref_aes(&r, in, ref);
		bv_aes_expand(key, rk);
		for (int w = 0; w < 4; w++)
			b.w[w] = (__u32)in[4 * w] << 24 | (__u32)in[4 * w + 1] << 16 |
				 (__u32)in[4 * w + 2] << 8 | in[4 * w + 3];
		bv_aes_encrypt(rk, &b);
		for (int w = 0; w < 4; w++)
			assert_int_equal(b.w[w], (__u32)ref[4 * w] << 24 | (__u32)ref[4 * w + 1] << 16 |
						 (__u32)ref[4 * w + 2] << 8 | ref[4 * w + 3]);
		bv_ipanon_expand(key, &v);
		for (int w = 0; w < 4; w++)
			assert_int_equal(v.pad[w], (__u32)r.pad[4 * w] << 24 |
						   (__u32)r.pad[4 * w + 1] << 16 |
						   (__u32)r.pad[4 * w + 2] << 8 | r.pad[4 * w + 3]);
		cpan_ref_free(&r);
	}
}

/* ---- the program: the sample trace ---------------------------------------- */

/* IPv4 header source (and destination) of every pair, pcap and mirror. */
static void test_bpf_vectors_l3(void **state)
{
	struct bv_harness M;
	uint8_t s[4], d[4], want[4], want2[4];

	(void)state;
	assert_int_equal(open_mode(&M, BV_MODE_MIRROR), 0);
	use_key(&M, KEY);
	for (size_t i = 0; i < NV4; i++) {
		size_t j = (i + 1) % NV4;

		assert_int_equal(inet_pton(AF_INET, V4[i][1], want), 1);
		assert_int_equal(inet_pton(AF_INET, V4[j][1], want2), 1);
		l3_run(&H, 4, V4[i][0], V4[j][0], s, d);
		assert_memory_equal(s, want, 4);
		assert_memory_equal(d, want2, 4);
		l3_run(&M, 4, V4[i][0], V4[j][0], s, d);
		assert_memory_equal(s, want, 4);
		assert_memory_equal(d, want2, 4);
	}
	harness_close(&M);
}

/* X-Forwarded-For of every pair: the sanitized text, padded with spaces,
 * where it fits; the truncated form (and a count) where it is longer. */
static void test_bpf_vectors_xff(void **state)
{
	char req[512], want[64], trunc[64];

	(void)state;
	for (size_t i = 0; i < NV4; i++) {
		size_t L = strlen(V4[i][0]), W = strlen(V4[i][1]);
		__u64 fb = st(&H, BV_ST_IP_ANON_TEXT_FALLBACK);
		const char *o;
		uint8_t a[4];

		snprintf(req, sizeof(req),
			 "POST /rb_bf1 HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: %s\r\n\r\n", V4[i][0]);
		o = http_run(&H, 4, req, 0);
		assert_int_equal(strlen(o), strlen(req));
		if (W <= L) {
			snprintf(want, sizeof(want), "%-*s", (int)L, V4[i][1]);
			assert_int_equal(st(&H, BV_ST_IP_ANON_TEXT_FALLBACK), fb);
		} else {
			/* /24 truncated: three octets, "0", spaces */
			assert_int_equal(inet_pton(AF_INET, V4[i][0], a), 1);
			snprintf(trunc, sizeof(trunc), "%u.%u.%u.0", a[0], a[1], a[2]);
			snprintf(want, sizeof(want), "%-*s", (int)L, trunc);
			assert_int_equal(st(&H, BV_ST_IP_ANON_TEXT_FALLBACK), fb + 1);
		}
		assert_string_equal(hval(o, "X-Forwarded-For: "), want);
	}
}

/* Every pair exactly, in text too: a Forwarded node with a port has room
 * for any sanitized form (the port becomes padding); pcap and mirror. */
static void test_bpf_vectors_forwarded(void **state)
{
	struct bv_harness M;
	char req[512], why[128];
	struct rfc7239_nodes nodes;

	(void)state;
	assert_int_equal(open_mode(&M, BV_MODE_MIRROR), 0);
	use_key(&M, KEY);
	for (size_t i = 0; i < NV4; i++) {
		for (int m = 0; m < 2; m++) {
			__u64 fb = st(m ? &M : &H, BV_ST_IP_ANON_TEXT_FALLBACK);
			const char *o, *v;

			snprintf(req, sizeof(req),
				 "POST /rb_bf1 HTTP/1.1\r\nForwarded: for=\"%s:65535\";proto=http\r\n\r\n",
				 V4[i][0]);
			o = http_run(m ? &M : &H, 4, req, 0);
			v = hval(o, "Forwarded: ");
			if (!rfc7239_parse(v, strlen(v), &nodes, why, sizeof(why)))
				fail_msg("%s: %s", v, why);
			assert_int_equal(nodes.n, 1);
			assert_string_equal(nodes.node[0], V4[i][1]);
			assert_string_equal(nodes.port[0], "");
			assert_int_equal(st(m ? &M : &H, BV_ST_IP_ANON_TEXT_FALLBACK), fb);
		}
	}
	harness_close(&M);
}

/* ---- IPv6: prefixes, and the program against the reference ---------------- */

static void random_pair(uint8_t a[16], uint8_t b[16], int *k)
{
	for (int i = 0; i < 16; i++)
		a[i] = (uint8_t)rnd();
	*k = (int)(rnd() % 129);
	memcpy(b, a, 16);
	if (*k < 128) {
		/* the same first k bits, bit k differs, the rest random */
		for (int i = *k + 1; i < 128; i++)
			if (rnd() & 1)
				b[i / 8] ^= (uint8_t)(0x80 >> (i % 8));
		b[*k / 8] ^= (uint8_t)(0x80 >> (*k % 8));
	}
}

static void test_ipv6_prefix_property_and_bpf(void **state)
{
	struct bv_harness M;
	uint8_t a[16], b[16], ra[16], rb[16], s[16], d[16];
	char ta[INET6_ADDRSTRLEN], req[512], val[128];
	int k, nfit = 0;
	__u64 fb;

	(void)state;
	assert_int_equal(open_mode(&M, BV_MODE_MIRROR), 0);
	use_key(&M, KEY);
	for (int t = 0; t < 150; t++) {
		const char *o;
		size_t L;
		char tb[INET6_ADDRSTRLEN];

		random_pair(a, b, &k);
		cpan_ref_anon(&REF, a, ra, 16);
		cpan_ref_anon(&REF, b, rb, 16);
		assert_int_equal(cpl(a, b, 128), k);
		assert_int_equal(cpl(ra, rb, 128), k);

		/* L3, both modes */
		assert_non_null(inet_ntop(AF_INET6, a, ta, sizeof(ta)));
		assert_non_null(inet_ntop(AF_INET6, b, tb, sizeof(tb)));
		l3_run(&H, 6, ta, tb, s, d);
		assert_memory_equal(s, ra, 16);
		assert_memory_equal(d, rb, 16);
		l3_run(&M, 6, ta, tb, s, d);
		assert_memory_equal(s, ra, 16);
		assert_memory_equal(d, rb, 16);

		/* text: every other time the full form (39 characters: the
		 * anonymized one always fits), else the compressed one (it fits
		 * when its shortest form is not longer) */
		if (t & 1)
			snprintf(ta, sizeof(ta), "%04x:%04x:%04x:%04x:%04x:%04x:%04x:%04x",
				 a[0] << 8 | a[1], a[2] << 8 | a[3], a[4] << 8 | a[5],
				 a[6] << 8 | a[7], a[8] << 8 | a[9], a[10] << 8 | a[11],
				 a[12] << 8 | a[13], a[14] << 8 | a[15]);
		assert_non_null(inet_ntop(AF_INET6, ra, tb, sizeof(tb)));
		snprintf(req, sizeof(req),
			 "POST /rb_bf1 HTTP/1.1\r\nX-Forwarded-For: %s\r\n\r\n", ta);
		fb = st(t % 3 ? &H : &M, BV_ST_IP_ANON_TEXT_FALLBACK);
		o = http_run(t % 3 ? &H : &M, 6, req, 0);
		snprintf(val, sizeof(val), "%s", hval(o, "X-Forwarded-For: "));
		L = strlen(val);
		assert_int_equal(L, strlen(ta));
		while (L && val[L - 1] == ' ')
			val[--L] = 0;
		assert_int_equal(inet_pton(AF_INET6, val, s), 1);
		if (strlen(tb) <= strlen(ta)) {
			nfit++;
			assert_memory_equal(s, ra, 16);
			assert_int_equal(L, strlen(ta)); /* widened: no padding */
			assert_int_equal(st(t % 3 ? &H : &M, BV_ST_IP_ANON_TEXT_FALLBACK), fb);
		} else {
			/* the truncated form: the first 48 bits, zeros */
			assert_memory_equal(s, a, 6);
			for (int i = 6; i < 16; i++)
				assert_int_equal(s[i], 0);
			assert_int_equal(st(t % 3 ? &H : &M, BV_ST_IP_ANON_TEXT_FALLBACK), fb + 1);
		}
	}
	assert_true(nfit >= 75);
	harness_close(&M);
}

/* ---- keys, modes, cache ---------------------------------------------------- */

static void test_same_key_same_mapping_modes_cache(void **state)
{
	static const uint8_t KEY2[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
					  17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30,
					  31, 32 };
	struct bv_harness M;
	struct cpan_ref r2;
	uint8_t s[4], d[4], s2[4], want2[4], a[4];
	char t2[32];
	__u64 c0;

	(void)state;
	assert_int_equal(cpan_ref_init(&r2, KEY2), 0);
	assert_int_equal(open_mode(&M, BV_MODE_MIRROR), 0);
	use_key(&M, KEY);

	/* the same key: the same mapping in both modes, L3 and text */
	l3_run(&H, 4, "203.0.113.57", "198.18.0.10", s, d);
	l3_run(&M, 4, "203.0.113.57", "198.18.0.10", s2, d);
	assert_memory_equal(s, s2, 4);
	assert_string_equal(hval(http_run(&H, 4, "GET /rb_1 HTTP/1.1\r\nX-Real-IP: 203.0.113.57\r\n\r\n", 0), "X-Real-IP: "),
			    hval(http_run(&M, 4, "GET /rb_1 HTTP/1.1\r\nX-Real-IP: 203.0.113.57\r\n\r\n", 0), "X-Real-IP: "));

	/* a cache hit gives what the miss gave, and computes nothing */
	c0 = st(&H, BV_ST_IP_ANON_COMPUTED);
	l3_run(&H, 4, "203.0.113.58", "198.18.0.10", s, d);
	assert_int_equal(st(&H, BV_ST_IP_ANON_COMPUTED), c0 + 1);
	l3_run(&H, 4, "203.0.113.58", "198.18.0.10", s2, d);
	assert_int_equal(st(&H, BV_ST_IP_ANON_COMPUTED), c0 + 1);
	assert_memory_equal(s, s2, 4);

	/* another key: another mapping, the reference's, the cache notwithstanding */
	use_key(&H, KEY2);
	l3_run(&H, 4, "203.0.113.58", "198.18.0.10", s2, d);
	assert_int_equal(inet_pton(AF_INET, "203.0.113.58", a), 1);
	cpan_ref_anon(&r2, a, want2, 4);
	assert_memory_equal(s2, want2, 4);
	assert_memory_not_equal(s, s2, 4);
	ref4(&r2, "203.0.113.57", t2, sizeof(t2));
	{
		const char *o = http_run(&H, 4, "GET /rb_1 HTTP/1.1\r\nX-Real-IP: 203.0.113.57\r\n\r\n", 0);
		char w[32];

		snprintf(w, sizeof(w), "%-12s", t2);
		if (strlen(t2) <= 12)
			assert_string_equal(hval(o, "X-Real-IP: "), w);
	}
	/* back to the first key: its mapping again */
	use_key(&H, KEY);
	l3_run(&H, 4, "203.0.113.58", "198.18.0.10", s2, d);
	assert_memory_equal(s, s2, 4);

	/* truncate (the default) is today's behaviour */
	H.cfg.ip_anon = BV_IPANON_TRUNCATE;
	assert_int_equal(harness_apply(&H), 0);
	l3_run(&H, 4, "203.0.113.58", "198.18.0.10", s2, d);
	assert_int_equal(s2[3], 0);
	assert_memory_equal(s2, a, 3);
	use_key(&H, KEY);

	/* no ip_anon_key: one derived from [anonymize] key, the same in both
	 * modes; another anonymize key, another mapping */
	H.cfg.ip_anon_key_set = 0;
	H.cfg.settings.anon_key[0] = 42;
	M.cfg.ip_anon = BV_IPANON_PREFIX_PRESERVING;
	M.cfg.ip_anon_key_set = 0;
	M.cfg.settings.anon_key[0] = 42;
	assert_int_equal(harness_apply(&H), 0);
	assert_int_equal(harness_apply(&M), 0);
	l3_run(&H, 4, "203.0.113.58", "198.18.0.10", s, d);
	l3_run(&M, 4, "203.0.113.58", "198.18.0.10", s2, d);
	assert_memory_equal(s, s2, 4);
	M.cfg.settings.anon_key[0] = 43;
	assert_int_equal(harness_apply(&M), 0);
	l3_run(&M, 4, "203.0.113.58", "198.18.0.10", s2, d);
	assert_memory_not_equal(s, s2, 4);
	use_key(&H, KEY);

	harness_close(&M);
	cpan_ref_free(&r2);
}

/* ---- text rules and fallbacks ---------------------------------------------- */

static void test_text_fallbacks(void **state)
{
	const char *req = "POST /rb_bf1 HTTP/1.1\r\nX-Forwarded-For: 4.3.88.225\r\n\r\n";
	char in[128];
	__u64 fb;
	const char *o;

	(void)state;
	/* longer: 4.3.88.225 -> 124.60.155.63 does not fit */
	fb = st(&H, BV_ST_IP_ANON_TEXT_FALLBACK);
	o = http_run(&H, 4, req, 0);
	assert_string_equal(hval(o, "X-Forwarded-For: "), "4.3.88.0  ");
	assert_int_equal(st(&H, BV_ST_IP_ANON_TEXT_FALLBACK), fb + 1);

	/* cut by a segment boundary inside the address (which starts at
	 * offset 40): truncated in both parts, whatever their sizes */
	snprintf(in, sizeof(in), "POST /rb_bf1 HTTP/1.1\r\nX-Forwarded-For: 128.11.68.132\r\n\r\n");
	assert_int_equal(strstr(in, "128.") - in, 40);
	for (size_t cut = 41; cut <= 53; cut++) {
		fb = st(&H, BV_ST_IP_ANON_TEXT_FALLBACK);
		o = http_run(&H, 4, in, cut);
		assert_string_equal(hval(o, "X-Forwarded-For: "), "128.11.68.0  ");
		assert_int_equal(st(&H, BV_ST_IP_ANON_TEXT_FALLBACK), fb + 1);
	}
	/* the same address whole in one segment: still longer (15 > 13) */
	o = http_run(&H, 4, in, 0);
	assert_string_equal(hval(o, "X-Forwarded-For: "), "128.11.68.0  ");
	/* one that fits, whole: its sanitized form; cut: truncated */
	snprintf(in, sizeof(in), "POST /rb_bf1 HTTP/1.1\r\nX-Forwarded-For: 216.254.18.172\r\n\r\n");
	o = http_run(&H, 4, in, 0);
	assert_string_equal(hval(o, "X-Forwarded-For: "), "235.7.16.162  ");
	fb = st(&H, BV_ST_IP_ANON_TEXT_FALLBACK);
	o = http_run(&H, 4, in, 47);
	assert_string_equal(hval(o, "X-Forwarded-For: "), "216.254.18.0  ");
	assert_int_equal(st(&H, BV_ST_IP_ANON_TEXT_FALLBACK), fb + 1);

	/* a list, other client headers, "unknown" left alone */
	o = http_run(&H, 4,
		     "POST /rb_bf1 HTTP/1.1\r\nX-Forwarded-For: 141.233.145.108, unknown, 24.5.0.80\r\n"
		     "True-Client-IP: 216.35.217.178\r\nX-Client-IP: 192.41.57.43\r\n\r\n", 0);
	assert_string_equal(hval(o, "X-Forwarded-For: "), "141.129.237.235, unknown, 24.5.0.0 ");
	assert_string_equal(hval(o, "True-Client-IP: "), "235.195.157.81");
	assert_string_equal(hval(o, "X-Client-IP: "), "192.41.57.0 "); /* longer: fallback */

	/* IPv6 that cannot be written at its length keeps the zeros form */
	o = http_run(&H, 6, "POST /rb_bf1 HTTP/1.1\r\nX-Forwarded-For: ::1\r\n\r\n", 0);
	assert_string_equal(hval(o, "X-Forwarded-For: "), "::0");
	/* embedded IPv4: the existing masked form */
	o = http_run(&H, 6, "POST /rb_bf1 HTTP/1.1\r\nX-Forwarded-For: ::ffff:203.0.113.5\r\n\r\n", 0);
	assert_string_equal(hval(o, "X-Forwarded-For: "), "::0000:000.0.000.0");
}

/* Forwarded keeps RFC 7239 (strict parser on the output), PROXY v1 keeps
 * single spaces, ip_mask=public leaves private ranges. */
static void test_forwarded_proxy_public(void **state)
{
	static const char *const fwd[] = {
		"for=141.233.145.108", "for=\"141.233.145.108\"", "for=\"141.233.145.108:4711\"",
		"for=\"141.233.145.108:_p1\";by=_x", "for=141.233.145.108;proto=http",
		"for=\"[2001:0db8:85a3:08d3:1319:8a2e:0370:7348]\"", "for=\"[2001:db8:1:2::3]:4711\"",
	};
	char req[512], why[128];
	struct rfc7239_nodes nodes;
	uint8_t a[16], r[16], want6[16];
	const char *o, *v;

	(void)state;
	for (size_t i = 0; i < sizeof(fwd) / sizeof(fwd[0]); i++) {
		char node[64];
		int six = strchr(fwd[i], '[') != NULL;

		snprintf(req, sizeof(req), "POST /rb_bf1 HTTP/1.1\r\nForwarded: %s\r\n\r\n", fwd[i]);
		o = http_run(&H, 4, req, 0);
		v = hval(o, "Forwarded: ");
		assert_int_equal(strlen(v), strlen(fwd[i]));
		if (!rfc7239_parse(v, strlen(v), &nodes, why, sizeof(why)))
			fail_msg("%s -> %s: %s", fwd[i], v, why);
		assert_int_equal(nodes.n, 1);
		snprintf(node, sizeof(node), "%s", nodes.node[0]);
		if (six) {
			size_t n = strlen(node);

			assert_true(node[0] == '[' && node[n - 1] == ']');
			node[n - 1] = 0;
			assert_int_equal(inet_pton(AF_INET6, node + 1, r), 1);
			assert_int_equal(inet_pton(AF_INET6, strstr(fwd[i], "2001:0db8:85a3") ?
						   "2001:db8:85a3:8d3:1319:8a2e:370:7348" : "2001:db8:1:2::3", a), 1);
			cpan_ref_anon(&REF, a, want6, 16);
			if (strstr(fwd[i], "2001:0db8:85a3")) {
				/* 39 characters: it fits, widened to that length */
				assert_memory_equal(r, want6, 16);
			} else {
				/* 2001:db8:1:2::3 is too short for it: truncated /48 */
				assert_memory_equal(r, a, 6);
				assert_memory_not_equal(r, want6, 16);
			}
		} else {
			assert_string_equal(node, "141.129.237.235");
		}
		assert_string_equal(nodes.port[0], ""); /* the port went into the padding */
	}

	/* PROXY v1: the source shorter, the destination moves, the port zeros */
	{
		static const char line[] = "PROXY TCP4 216.254.18.172 198.18.0.10 56324 80\r\n";
		char in[256];

		snprintf(in, sizeof(in), "%sPOST /rb_bf1 HTTP/1.1\r\n\r\n", line);
		o = http_run(&H, 4, in, 0);
		assert_memory_equal(o, "PROXY TCP4 235.7.16.162 198.18.0.10 0056324 80\r\n", sizeof(line) - 1);
	}
	/* PROXY v1 TCP6: the source at its own length, nothing shifts */
	{
		static const char line[] =
			"PROXY TCP6 2001:0db8:85a3:08d3:1319:8a2e:0370:7348 2001:db8::10 4711 80\r\n";
		char in[256], src[64];
		const char *sp;

		snprintf(in, sizeof(in), "%sPOST /rb_bf1 HTTP/1.1\r\n\r\n", line);
		o = http_run(&H, 6, in, 0);
		assert_memory_equal(o + 50, " 2001:db8::10 4711 80\r\n", 23);
		sp = strchr(o + 11, ' ');
		assert_int_equal(sp - (o + 11), 39);
		memcpy(src, o + 11, 39);
		src[39] = 0;
		assert_int_equal(inet_pton(AF_INET6, src, r), 1);
		assert_int_equal(inet_pton(AF_INET6, "2001:db8:85a3:8d3:1319:8a2e:370:7348", a), 1);
		cpan_ref_anon(&REF, a, want6, 16);
		assert_memory_equal(r, want6, 16);
	}

	/* ip_mask=public: private ranges stay, in text and in L3 */
	H.cfg.global.ip_mask = BV_IPMASK_PUBLIC;
	assert_int_equal(harness_apply(&H), 0);
	o = http_run(&H, 4, "POST /rb_bf1 HTTP/1.1\r\nX-Forwarded-For: 10.185.25.118, 141.233.145.108\r\n\r\n", 0);
	assert_string_equal(hval(o, "X-Forwarded-For: "), "10.185.25.118, 141.129.237.235");
	{
		uint8_t sa[4], da[4];

		l3_run(&H, 4, "10.185.25.118", "128.11.68.132", sa, da);
		assert_int_equal(inet_pton(AF_INET, "10.185.25.118", a), 1);
		assert_memory_equal(sa, a, 4);
		assert_int_equal(inet_pton(AF_INET, "135.242.180.132", a), 1);
		assert_memory_equal(da, a, 4);
	}
	H.cfg.global.ip_mask = BV_IPMASK_ALL;
	assert_int_equal(harness_apply(&H), 0);
}

/* Inline: IP headers are never touched, text addresses are rewritten in
 * their prefix-preserving form (lengths kept: TCP sequence numbers stay). */
static void test_inline_text_only(void **state)
{
	struct bv_harness I;
	struct pkt_view v;
	uint8_t a[4];
	const char *o;

	(void)state;
	assert_int_equal(open_mode(&I, BV_MODE_INLINE), 0);
	use_key(&I, KEY);
	o = http_run(&I, 4, "POST /rb_bf1 HTTP/1.1\r\nDNT: 1\r\nX-Forwarded-For: 216.254.18.172\r\n\r\n", 0);
	assert_string_equal(hval(o, "X-Forwarded-For: "), "235.7.16.162  ");
	assert_int_equal(pkt_parse(out, outlen, &v), 0);
	assert_int_equal(inet_pton(AF_INET, "198.51.100.7", a), 1);
	assert_memory_equal(v.src, a, 4); /* the live flow's source as it was */
	harness_close(&I);
}

/* PROXY v2 (binary) source; a mobile body's ip= padded with '&'. */
static void test_proxy_v2_and_mobile(void **state)
{
	static const char body[] = "vv=3&ap=APPID&vi=1&dl=2&ip=216.254.18.172&tv=1";
	char req[1024];
	uint8_t want[4];
	const char *o;
	size_t n = 0;

	(void)state;
	memcpy(req, "\r\n\r\n\0\r\nQUIT\n", 12);
	n = 12;
	req[n++] = 0x21;           /* v2, PROXY */
	req[n++] = 0x11;           /* TCP over IPv4 */
	req[n++] = 0;
	req[n++] = 12;
	assert_int_equal(inet_pton(AF_INET, "141.233.145.108", req + n), 1);
	n += 4;
	assert_int_equal(inet_pton(AF_INET, "198.18.0.10", req + n), 1);
	n += 4;
	memcpy(req + n, "\x12\x34\x00\x50", 4);
	n += 4;
	snprintf(req + n, sizeof(req) - n, "POST /rb_bf1 HTTP/1.1\r\nHost: x\r\n\r\n");
	{
		/* http_run takes a string: the header has NULs, so send it
		 * through its own builder here */
		struct pkt_opts o6 = { .family = 4, .src = "198.51.100.7", .dst = "198.18.0.10",
				       .sport = next_port++, .dport = 80, .seq = 999,
				       .tcp_flags = 0x02 };
		uint8_t f[2048];
		size_t fl = pkt_build_tcp(f, sizeof(f), &o6, NULL, 0), plen;
		const uint8_t *p;

		assert_kept(run_on(&H, f, fl), &H);
		o6.tcp_flags = 0;
		o6.seq = 1000;
		fl = pkt_build_tcp(f, sizeof(f), &o6, req, n + strlen(req + n));
		assert_kept(run_on(&H, f, fl), &H);
		p = pkt_payload(out, outlen, &plen);
		assert_non_null(p);
		assert_int_equal(inet_pton(AF_INET, "141.129.237.235", want), 1);
		assert_memory_equal(p + 16, want, 4);
		assert_int_equal(inet_pton(AF_INET, "198.18.0.10", want), 1);
		assert_memory_equal(p + 20, want, 4); /* the destination kept */
		assert_true(pkt_l4_csum_ok(out, outlen));
	}

	snprintf(req, sizeof(req),
		 "POST /mbeacon?type=m&srvid=1&app=APPID HTTP/1.1\r\nHost: x\r\n"
		 "Content-Type: text/plain\r\nContent-Length: %zu\r\n\r\n%s", strlen(body), body);
	o = http_run(&H, 4, req, 0);
	assert_non_null(strstr(o, "&ip=235.7.16.162&&&tv=1"));
}

/* The generation goes up exactly when the key (or on/off) changes. */
static void test_generation(void **state)
{
	static const uint8_t K2[32] = { 9 };
	struct bv_ipanon v;
	__u32 zero = 0;
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "bv_ipanon", 4, sizeof(struct bv_ipanon), 1, NULL);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(bv_ipanon_write(fd, 1, KEY), 0);
	assert_int_equal(bpf_map_lookup_elem(fd, &zero, &v), 0);
	assert_int_equal(v.on, 1);
	assert_int_equal(v.gen, 1);
	assert_int_equal(bv_ipanon_write(fd, 1, KEY), 0); /* the same: kept */
	assert_int_equal(bpf_map_lookup_elem(fd, &zero, &v), 0);
	assert_int_equal(v.gen, 1);
	assert_int_equal(bv_ipanon_write(fd, 1, K2), 0);
	assert_int_equal(bpf_map_lookup_elem(fd, &zero, &v), 0);
	assert_int_equal(v.gen, 2);
	assert_int_equal(bv_ipanon_write(fd, 0, K2), 0);
	assert_int_equal(bpf_map_lookup_elem(fd, &zero, &v), 0);
	assert_int_equal(v.on, 0);
	assert_int_equal(v.gen, 3);
	assert_int_equal(bv_ipanon_write(fd, 1, KEY), 0);
	assert_int_equal(bpf_map_lookup_elem(fd, &zero, &v), 0);
	assert_int_equal(v.gen, 4);
	close(fd);
}

/* A retransmission of a segment gives the same bytes; more than 8
 * addresses in one segment: 8 rewritten, the others truncated and counted. */
static void test_retransmit_and_many(void **state)
{
	static const char req[] = "POST /rb_bf1 HTTP/1.1\r\nX-Forwarded-For: 216.254.18.172\r\n\r\n";
	struct pkt_opts o = { .family = 4, .src = "198.51.100.9", .dst = "198.18.0.10",
			      .sport = next_port++, .dport = 80, .seq = 999, .tcp_flags = 0x02 };
	uint8_t f[2048], first[2048];
	size_t n, firstlen;
	char list[1024], want[1024];
	const char *out_s;
	int nfit = 0, ntr = 0;
	__u64 fb;

	(void)state;
	n = pkt_build_tcp(f, sizeof(f), &o, NULL, 0);
	assert_kept(run_on(&H, f, n), &H);
	o.tcp_flags = 0;
	o.seq = 1000;
	n = pkt_build_tcp(f, sizeof(f), &o, req, strlen(req));
	assert_kept(run_on(&H, f, n), &H);
	memcpy(first, out, outlen);
	firstlen = outlen;
	assert_kept(run_on(&H, f, n), &H); /* the same segment again */
	assert_int_equal(outlen, firstlen);
	assert_memory_equal(out, first, firstlen);
	assert_non_null(memmem(out, outlen, "235.7.16.162  \r\n", 16));

	snprintf(list, sizeof(list), "POST /rb_bf1 HTTP/1.1\r\nX-Forwarded-For: ");
	for (int i = 0; i < 10; i++)
		strcat(list, i ? ", 216.254.18.172" : "216.254.18.172");
	strcat(list, "\r\n\r\n");
	fb = st(&H, BV_ST_IP_ANON_TEXT_FALLBACK);
	out_s = http_run(&H, 4, list, 0);
	snprintf(want, sizeof(want), "%s", hval(out_s, "X-Forwarded-For: "));
	for (char *p = strtok(want, ","); p; p = strtok(NULL, ",")) {
		while (*p == ' ')
			p++;
		if (!strcmp(p, "235.7.16.162  "))
			nfit++;
		else if (!strcmp(p, "216.254.18.0  "))
			ntr++;
		else
			fail_msg("unexpected element '%s'", p);
	}
	assert_int_equal(nfit, 8);
	assert_int_equal(ntr, 2);
	assert_int_equal(st(&H, BV_ST_IP_ANON_TEXT_FALLBACK), fb + 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ref_published_vectors),
		cmocka_unit_test(test_aes_shared_code),
		cmocka_unit_test(test_bpf_vectors_l3),
		cmocka_unit_test(test_bpf_vectors_xff),
		cmocka_unit_test(test_bpf_vectors_forwarded),
		cmocka_unit_test(test_ipv6_prefix_property_and_bpf),
		cmocka_unit_test(test_same_key_same_mapping_modes_cache),
		cmocka_unit_test(test_text_fallbacks),
		cmocka_unit_test(test_forwarded_proxy_public),
		cmocka_unit_test(test_inline_text_only),
		cmocka_unit_test(test_proxy_v2_and_mobile),
		cmocka_unit_test(test_generation),
		cmocka_unit_test(test_retransmit_and_many),
	};

	return cmocka_run_group_tests_name("cryptopan", tests, setup, teardown);
}
