/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Seed corpus for fuzz_packet: the behaviours tests/test_dataplane.c checks
 * (beacon paths, XFF lists, Forwarded, X-Real-IP, True-Client-IP, cookies,
 * DNT/GPC, consent, dtDisabled, crash reports, per-application policies,
 * keep-alive with bodies, PROXY v1/v2, chunked, headers cut at segment
 * boundaries), each in several shapes: IPv4/IPv6, VLAN/QinQ, IPv4 options,
 * IPv6 extension headers, the three modes, the fuzzer's policies, with and
 * without SYN, split at the interesting places. Plus raw frames (UDP,
 * ICMP, ARP, fragments, malformed) and one carried-state sequence.
 *
 * usage: fz_seeds DIR   (writes DIR/seed-NNNN; prints how many)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "fz_common.h"
#include "fz_frame.h"
#include "pktbuild.h"

#define RXV "1700000000000ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
#define IDQ "POST /myapp/rb_bf12345abc?type=js3&vi=QWERTYUIOPASDFGH&app=ea7c4b59f27d43eb HTTP/1.1\r\n"
#define IDC "Cookie: rxVisitor=" RXV "; dtPC=-15$123456789_123h12vABCDEFGHIJKLMNOP-0e0; dtCookie=v_4_srv_1\r\n"
#define CUT "\x01" /* a segment boundary in the templates below */

/* Client streams; CUT marks where the seeds cut segments. */
static const char *const streams[] = {
	"POST /myapp/rb_bf12345abc?type=js3&sn=42&app=ea7c4b59f27d43eb HTTP/1.1\r\n"
	"Host: collector.example\r\nX-Forwarded-For: 203.0.113.57, 198.51.100.200\r\n"
	"Cookie: rxVisitor=" RXV "; dtCookie=v_4_srv\r\nContent-Length: 0\r\n\r\n",

	IDQ "Host: collector.example\r\nDNT: 1\r\n" IDC "Content-Length: 0\r\n\r\n",
	IDQ "Host: collector.example\r\n" IDC "Content-Length: 0\r\n\r\n",
	IDQ "Host: collector.example\r\ndNt:   1  \r\n" IDC "Content-Length: 0\r\n\r\n",
	IDQ "Host: collector.example\r\nSec-GPC: 1\r\n" IDC "Content-Length: 0\r\n\r\n",
	"GET /rb_bf1?type=js3 HTTP/1.1\r\nHost: a\r\nCookie: xdtCookie=1; rxVisitor=" RXV "\r\n\r\n",
	"GET /rb_bf1?type=js3 HTTP/1.1\r\nHost: a\r\nCookie: a=b; dtCookie1234=v_4\r\n"
	"X-Real-IP: 198.51.100.23\r\n\r\n",
	"POST /bf HTTP/1.1\r\nCookie: dtDisabled=true\r\nX-Forwarded-For: 203.0.113.57\r\n\r\n",
	"POST /bf HTTP/1.1\r\nCookie: dtDisabled=false; xdtDisabled=true\r\n"
	"X-Forwarded-For: 2001:db8:85a3:8d3:1319:8a2e:370:7348\r\n\r\n",
	"POST /crash/rb_x HTTP/1.1\r\nHost: a\r\nX-Real-IP: 192.0.2.200\r\n\r\n",
	"POST /rb_1?app=perfapp&vi=ABCDEFGHIJKLMNOPQR HTTP/1.1\r\nDNT: 1\r\n"
	"X-Forwarded-For: 203.0.113.57, 2001:db8:beef:42:a:b:c:d\r\n" IDC "\r\n",
	"POST /rb_1 HTTP/1.1\r\nHost: Strict.Example:8080\r\nDNT: 1\r\n"
	"X-Forwarded-For: 198.51.100.23\r\n\r\n",
	"POST /rb_1 HTTP/1.1\r\nX-Forwarded-For: 203.0.113.57\r\nHost: nomask.example\r\n"
	"X-Real-IP: 203.0.113.57\r\n\r\n",
	"POST /bf/abc123 HTTP/1.1\r\nX-Forwarded-For: 203.0.113.57\r\n\r\n"
	"POST /bf/abc/def HTTP/1.1\r\nX-Forwarded-For: 203.0.113.57\r\n\r\n"
	"POST /bfx HTTP/1.1\r\nX-Forwarded-For: 203.0.113.57\r\n\r\n"
	"PUT /rb_bf1 HTTP/1.1\r\nX-Forwarded-For: 203.0.113.57\r\n\r\n"
	"GET / HTTP/1.1\r\nX-Forwarded-For: 203.0.113.57\r\n\r\n"
	"GET /collect/x HTTP/1.1\r\nX-Real-IP: 198.51.100.23\r\n\r\n"
	"GET /g/collect HTTP/1.1\r\nTrue-Client-IP: 2a02:1234:5678:9abc:def0:1:2:3\r\n\r\n",
	"POST /rb_1?vi=ABCDEFGHIJKLMN HTTP/1.1\r\nHost: a\r\nDN" CUT "T: 1\r\nCookie: rxVisitor=" RXV "\r\n\r\n",
	/* mobile agents (OpenKit): the body is read and rewritten */
	"POST /mbeacon?type=m&srvid=1&app=perfapp&si=4282691011098906_1 HTTP/1.1\r\nHost: a\r\n"
	"Content-Length: 187\r\n\r\nvv=3&ap=perfapp&vi=4282691011098906&dl=2&cl=2&sn=1&ip=203.0.113.57"
	"&tv=1&et=60&na=jane.doe%40example.com&it=1&et=50&na=NullPointer&rs=reason%20text&st=at%20foo.bar"
	"(Baz.java%3A1)&et=19&it=1",
	"POST /mbeacon/env1?type=m&app=APPID HTTP/1.1\r\nX-Client-IP: 198.51.100.23\r\n"
	"Content-Length: 123\r\n\r\nvi=8675309&dl=1&cl=0&sn=1&ip=2001%3Adb8%3A85a3%3A8d3%3A1319%3A8a2e"
	"%3A370%3A7348&et=" CUT "50&na=Crash&st=stackstackstack&et=1&na=a",
	"POST /mbeacon?type=m&app=APPID HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: 14\r\n\r\n"
	"ip=192.0.2.200",
	"POST /rb_1 HTTP/1.1\r\nX-Forwarded-For: 203.0.1" CUT "13.57, 2001:db8:85a3:8d3:1319:8a2e:370:7348\r\n\r\n",
	"POST /rb_1 HTTP/1.1\r\nX-Real-IP: 203.0.113.5" CUT "7\r\n\r\n",
	"POST /rb_1 HTTP/1.1\r\nX-Forw" CUT "arded-For: 203.0.113.57\r\n\r\n",
	"POST /rb_1 HTTP/1.1\r\nContent-Length: 10\r\n\r\n" CUT "0123456789" CUT
	IDQ "DNT: 1\r\n" IDC "\r\n",
	"POST /rb_1 HTTP/1.1\r\nContent-Length: 40\r\n\r\n0123" CUT
	"X-Forwarded-For: 203.0.113.57\r\n\r\n" CUT "xxx"
	"POST /rb_1 HTTP/1.1\r\nX-Forwarded-For: 203.0.113.57\r\n\r\n",
	"POST /rb_1 HTTP/1.1\r\n"
	"X-Forwarded-For:203.0.113.57,2001:db8:85a3:8d3:1319:8a2e:370:7348, unknown\r\n"
	"X-Real-IP: 198.51.100.23\r\nTrue-Client-IP: 2001:db8:1:2::99\r\n"
	"Forwarded: for=203.0.113.57;proto=http;by=198.18.0.10, for=\"[2001:db8:85a3:8d3:1319:8a2e:370:7348]\"\r\n"
	"X-Other: 203.0.113.57\r\n\r\n",
	"POST /rb_1 HTTP/1.1\r\nX-Forwarded-For: 10.1.2.3, 203.0.113.57, fd12:3456:789a:1:2:3:4:5, 172.20.1.1\r\n\r\n",
	"POST /rb_1 HTTP/1.1\r\nForwarded: For=\"203.0.113.57:4711\";by=_hidden, for=198.51.100.23\r\n\r\n",
	"PROXY TCP4 203.0.113.57 198.18.0.10 56324 80\r\n"
	"POST /rb_1 HTTP/1.1\r\nDNT: 1\r\nCookie: rxVisitor=" RXV "\r\n\r\n",
	"PROXY TCP6 2001:db8:85a3:8d3:1319:8a2e:370:7348 2001:db8::10 56324 80\r\n" CUT
	"POST /rb_1 HTTP/1.1\r\nX-Real-IP: 2001:db8:85a3:8d3:1319:8a2e:370:7348\r\n\r\n",
	"POST /rb_1 HTTP/1.1\r\nTransfer-Encoding: chunked\r\nX-Real-IP: 203.0.113.57\r\n\r\n"
	"5\r\nhello\r\n0\r\n\r\n" CUT "POST /rb_1 HTTP/1.1\r\nX-Real-IP: 203.0.113.57\r\n\r\n",
	"POST /rb_1 HTTP/1.1\r\nHost: a\r\nCookie: rxVisitor=" RXV "; a=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n" CUT
	"DNT: 1\r\nX-Forwarded-For: 203.0.113.57\r\n\r\n",
	"GET /index.html HTTP/1.1\r\nHost: www.example\r\nX-Forwarded-For: 203.0.113.57\r\n\r\n",
	"POST /rb_1 HTTP/1.1\r\nHost: a\r\n" CUT "X-Forwarded-For: 203.0.113.57\r\n\r\n",
	"GET /rb_1 HTTP/1.1\r\nX-Forwarded-For: 203.0.113.57\r\nX-Forwarded-For: 198.51.100.23\r\n"
	"Content-Length: 5\r\n\r\nabcde" CUT "GET /rb_2 HTTP/1.1\r\nx-real-ip: 192.0.2.200\r\n\r\n",
	"HTTP/1.1 204 No Content\r\n\r\n",
};

static const uint8_t v2a[] = { '\r', '\n', '\r', '\n', 0, '\r', '\n', 'Q', 'U', 'I', 'T', '\n',
			       0x21, 0x11, 0, 12, 203, 0, 113, 57, 198, 18, 0, 10, 0xdc, 0x04, 0, 80 };
static const uint8_t v2b[] = { '\r', '\n', '\r', '\n', 0, '\r', '\n', 'Q', 'U', 'I', 'T', '\n',
			       0x21, 0x21, 0, 36,
			       0x20, 0x01, 0x0d, 0xb8, 0x85, 0xa3, 0x08, 0xd3, 0x13, 0x19, 0x8a, 0x2e,
			       0x03, 0x70, 0x73, 0x48,
			       0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
			       0xdc, 0x04, 0, 80 };

static const char *dir;
static int nseeds;

static void emit(const uint8_t *b, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/seed-%04d", dir, nseeds++);
	f = fopen(path, "wb");
	if (!f || fwrite(b, 1, n, f) != n || fclose(f)) {
		fprintf(stderr, "fz_seeds: %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static uint8_t buf[16384];

/* A stream seed: payload with CUT markers, and a variant number picking
 * the shape. */
static void stream_seed(const uint8_t *pl0, size_t n0, int v, int extra_cut)
{
	static uint8_t pl[8192];
	struct fz_case c;
	size_t plen = 0, n;
	int ns = 0;

	memset(&c, 0, sizeof(c));
	for (size_t i = 0; i < n0; i++) {
		if (pl0[i] == 0x01 && ns < FZ_MAXSEG - 1) {
			c.split[ns++] = (uint16_t)plen;
			continue;
		}
		pl[plen++] = pl0[i];
	}
	if (extra_cut && ns < FZ_MAXSEG - 1 && plen > 2)
		c.split[ns++] = (uint16_t)(plen * (size_t)extra_cut / 7);
	c.nseg = ns + 1;
	c.kind = FZ_STREAM;
	c.mode = v % 3;
	c.pol = (v * 5) % FZ_NPOL;
	c.syn = v % 4 != 3;
	c.family = (v / 3) % 2 ? 6 : 4;
	c.client = v % FZ_NCLIENT;
	c.nvlan = (v / 2) % 3;
	if (c.family == 4)
		c.ip4_opts = v % 5 == 1 ? 8 : 0;
	else
		c.hbh = c.dst = v % 5 == 1;
	c.sport = v % 7 == 6 ? 8080 : 80;
	c.cport = 40000;
	c.tcp_opts = v % 2 ? 12 : 0;
	c.acks = v % 6 == 5;
	c.seq0 = v % 8 == 7 ? 0xfffff000u : 0x00fff000u;
	c.pl = pl;
	c.plen = plen;
	n = fz_encode(&c, buf, sizeof(buf));
	if (n)
		emit(buf, n);
}

static void n_emit(const struct fz_case *c)
{
	size_t n = fz_encode(c, buf, sizeof(buf));

	if (n)
		emit(buf, n);
}

static void raw_seed(int mode, int pol, int fixed, const uint8_t *f, size_t n)
{
	struct fz_case c;
	size_t k;

	memset(&c, 0, sizeof(c));
	c.kind = fixed ? FZ_RAW_FIXED : FZ_RAW;
	c.mode = mode;
	c.pol = pol;
	c.raw = f;
	c.rawlen = n;
	k = fz_encode(&c, buf, sizeof(buf));
	if (k)
		emit(buf, k);
}

static void raw_seeds(void)
{
	static uint8_t f[4096];
	static const uint8_t arp[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06 };
	const char *pl = "POST /rb_1 HTTP/1.1\r\nX-Forwarded-For: 203.0.113.57\r\n\r\n";
	struct pkt_opts o = { .family = 4, .src = "203.0.113.57", .dst = "198.18.0.10",
			      .sport = 40000, .dport = 80, .seq = 1 };
	size_t n;
	int k = 0;

	raw_seed(0, 0, 0, arp, sizeof(arp));
	for (int fam = 4; fam <= 6; fam += 2) {
		o.family = fam;
		o.src = fam == 4 ? "203.0.113.57" : "2001:db8:85a3:8d3:1319:8a2e:370:7348";
		o.dst = fam == 4 ? "198.18.0.10" : "2001:db8::10";
		for (int m = 0; m < 3; m++) {
			o.sport = 53;
			o.dport = 53;
			n = pkt_build_udp(f, sizeof(f), &o, "hello", 5);
			raw_seed(m, k++ % FZ_NPOL, 0, f, n);
			n = pkt_build_icmp_echo(f, sizeof(f), &o);
			raw_seed(m, k++ % FZ_NPOL, 0, f, n);
			o.sport = 40000;
			o.dport = 80;
			o.nvlan = m == 2 ? 2 : 0;
			o.ip_opts_len = fam == 4 ? 8 : 0;
			o.ipv6_ext = fam == 6 ? 2 : 0;
			n = pkt_build_tcp(f, sizeof(f), &o, pl, strlen(pl));
			raw_seed(m, k++ % FZ_NPOL, 0, f, n);
			raw_seed(m, k++ % FZ_NPOL, 1, f, n - 10); /* truncated */
			o.sport = 80;
			o.dport = 40000;
			n = pkt_build_tcp(f, sizeof(f), &o, "HTTP/1.1 204 No Content\r\n\r\n", 27);
			raw_seed(m, k++ % FZ_NPOL, 0, f, n);
			o.sport = 40000;
			o.dport = 443;
			n = pkt_build_tcp(f, sizeof(f), &o, pl, strlen(pl));
			raw_seed(m, k++ % FZ_NPOL, 0, f, n);
			o.nvlan = 0;
			o.ip_opts_len = 0;
			o.ipv6_ext = 0;
			o.dport = 80;
			if (fam == 4) {
				o.frag_off = 0x2000;
				n = pkt_build_tcp(f, sizeof(f), &o, pl, strlen(pl));
				raw_seed(m, k++ % FZ_NPOL, 0, f, n);
				n = pkt_build_udp(f, sizeof(f), &o, "fragment", 8);
				raw_seed(m, k++ % FZ_NPOL, 0, f, n);
				o.frag_off = 0;
			}
		}
	}
	/* IPv6 with a long hop-by-hop header and with a routing header */
	{
		struct fz_l3 l3 = { .family = 6, .hbh = 1, .hbh_len = 16, .tcp_opts = 12 };
		uint8_t a[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x85, 0xa3, 0x08, 0xd3, 0x13, 0x19, 0x8a, 0x2e,
				  0x03, 0x70, 0x73, 0x48 };
		uint8_t s[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x10 };
		uint8_t r[16] = { 0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, [15] = 1 };

		n = fz_build_tcp(f, sizeof(f), &l3, a, s, 40000, 443, 1, 1, 0x18,
				 (const uint8_t *)pl, strlen(pl));
		raw_seed(2, 0, 0, f, n);
		l3.hbh = 0;
		l3.rt = 1;
		l3.rt_segleft = 1;
		l3.rt_final = a;
		n = fz_build_tcp(f, sizeof(f), &l3, s, r, 80, 40000, 1, 1, 0x18,
				 (const uint8_t *)"HTTP/1.1 204 No Content\r\n\r\n", 27);
		raw_seed(1, 3, 0, f, n);
	}
}

int main(int argc, char **argv)
{
	static uint8_t t[8192];

	if (argc != 2) {
		fprintf(stderr, "usage: fz_seeds DIR\n");
		return 2;
	}
	dir = argv[1];
	if (mkdir(dir, 0755) && errno != EEXIST) {
		fprintf(stderr, "fz_seeds: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	for (size_t i = 0; i < sizeof(streams) / sizeof(streams[0]); i++) {
		size_t n = strlen(streams[i]);

		for (int v = 0; v < 8; v++)
			stream_seed((const uint8_t *)streams[i], n, (int)(i * 3 + (size_t)v), v % 3 == 2 ? v % 7 : 0);
	}
	/* PROXY v2 (in its own segment, as HAProxy sends it) then a request */
	for (int v = 0; v < 6; v++) {
		const uint8_t *h = v % 2 ? v2b : v2a;
		size_t hl = v % 2 ? sizeof(v2b) : sizeof(v2a);
		const char *req = "POST /rb_1 HTTP/1.1\r\nX-Real-IP: 203.0.113.57\r\n\r\n";

		memcpy(t, h, hl);
		t[hl] = 0x01;
		memcpy(t + hl + 1, req, strlen(req));
		stream_seed(t, hl + 1 + strlen(req), v * 2 + (v % 2 ? 3 : 0), 0);
	}
	raw_seeds();
	/* grammar-driven flows (kind 1): designed programs, then pseudo-random ones */
	{
		static const uint8_t progs[][16] = {
			{ 0, 0, 6, 0, 1, 0x40, 2, 1, 4, 0, 9, 0 },
			{ 0, 0x11, 5, 0, 4, 0x80, 1, 0x45, 8, 10, 0, 1, 2, 3, 9, 0 },
			{ 11, 0, 0, 0, 3, 0x83, 9, 0 },
			{ 11, 1, 0, 0x22, 6, 1, 1, 0xc4, 9, 0 },
			{ 0, 0x30, 4, 0x81, 10, 0xc7, 0, 2, 2, 5, 9, 0 },
			{ 0, 0, 7, 60, 1, 0, 9, 0 },
			{ 0, 0, 7, 61, 13, 0, 1, 2, 9, 0 },
			{ 0, 0x20, 6, 2, 5, 0, 1, 0x41, 4, 0x8b, 9, 0 },
		};
		struct fz_case c;

		for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
			for (int v = 0; v < 6; v++) {
				memset(&c, 0, sizeof(c));
				c.kind = FZ_GEN;
				c.mode = v % 3;
				c.pol = (int)(i + (size_t)v * 5) % FZ_NPOL;
				c.syn = 1;
				c.family = v & 1 ? 6 : 4;
				c.sport = 80;
				c.cport = 40000;
				c.nseg = 1 + v % 4;
				for (int k = 0; k < c.nseg - 1; k++)
					c.split[k] = (uint16_t)(37 * (k + 1) + v);
				c.seq0 = 0x00fff000u;
				c.pl = progs[i];
				c.plen = sizeof(progs[i]);
				n_emit(&c);
			}
		}
		{
			uint32_t x = 12345;
			uint8_t prog[48];

			for (int i = 0; i < 60; i++) {
				for (size_t k = 0; k < sizeof(prog); k++) {
					x = x * 1103515245u + 12345u;
					prog[k] = (uint8_t)(x >> 16);
				}
				prog[0] = 0; /* start with a request line */
				memset(&c, 0, sizeof(c));
				c.kind = FZ_GEN;
				c.mode = i % 3;
				c.pol = i % FZ_NPOL;
				c.syn = 1;
				c.family = (i / 3) % 2 ? 6 : 4;
				c.sport = i % 5 ? 80 : 8080;
				c.cport = 40000;
				c.nseg = 1 + i % 8;
				for (int k = 0; k < c.nseg - 1; k++)
					c.split[k] = (uint16_t)(x >> (k * 3));
				c.seq0 = 0x00fff000u;
				c.pl = prog;
				c.plen = sizeof(prog);
				n_emit(&c);
			}
		}
	}
	/* a sequence: a request's first segment, then its continuation with
	 * the flow state carried over */
	{
		const char *a = "POST /rb_1 HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 203.0.1";
		const char *b = "13.57\r\n\r\n";
		struct fz_case c;
		uint8_t e1[512], e2[512];
		size_t n1, n2, p;

		memset(&c, 0, sizeof(c));
		c.nseg = 1;
		c.syn = 1;
		c.family = 4;
		c.sport = 80;
		c.cport = 40000;
		c.seq0 = 0x00fff000u;
		c.pl = (const uint8_t *)a;
		c.plen = strlen(a);
		c.mode = BV_MODE_PCAP;
		n1 = fz_encode(&c, e1, sizeof(e1));
		/* the continuation starts where the first stream ended: seq0 +
		 * len(a) is not expressible, so the second input restarts at
		 * seq0 with the whole request (a retransmission with new data) */
		c.syn = 0;
		c.carry = 1;
		memcpy(t, a, strlen(a));
		memcpy(t + strlen(a), b, strlen(b));
		c.pl = t;
		c.plen = strlen(a) + strlen(b);
		n2 = fz_encode(&c, e2, sizeof(e2));
		p = 0;
		memcpy(buf, FZ_SEQ_MAGIC, FZ_SEQ_MAGIC_LEN);
		p = FZ_SEQ_MAGIC_LEN;
		buf[p++] = (uint8_t)(n1 >> 8);
		buf[p++] = (uint8_t)n1;
		memcpy(buf + p, e1, n1);
		p += n1;
		buf[p++] = (uint8_t)(n2 >> 8);
		buf[p++] = (uint8_t)n2;
		memcpy(buf + p, e2, n2);
		p += n2;
		emit(buf, p);
	}
	printf("%d\n", nseeds);
	return 0;
}
