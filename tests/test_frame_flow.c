/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * user/frame_flow.c, the connection hash `beaconveil pcap --jobs` shards a
 * capture by: both directions of a connection alike, through VLAN tags,
 * IPv4 options, IPv6 extension headers and VXLAN/GENEVE tunnels (the inner
 * connection's hash); different connections apart; 0 (no connection) for
 * what the program keeps no state for.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "frame_flow.h"
#include "pktbuild.h"

static const uint16_t vx[] = { 4789 }, gn[] = { 6081 };
static const struct bv_tunnel_ports tp = { vx, gn, 1, 1 };

static uint64_t tcp_hash(const struct pkt_opts *o, size_t *len, uint8_t *buf)
{
	*len = pkt_build_tcp(buf, 2048, o, "GET / HTTP/1.1\r\n\r\n", 18);
	assert_true(*len > 0);
	return bv_frame_flow(buf, *len, &tp);
}

static void test_both_directions_alike(void **state)
{
	uint8_t buf[2048];
	size_t len;
	struct pkt_opts c2s = { .family = 4, .src = "198.18.0.7", .dst = "198.18.0.10", .sport = 40000, .dport = 80 };
	struct pkt_opts s2c = { .family = 4, .src = "198.18.0.10", .dst = "198.18.0.7", .sport = 80, .dport = 40000 };
	struct pkt_opts other = c2s;
	uint64_t a, b;

	(void)state;
	a = tcp_hash(&c2s, &len, buf);
	b = tcp_hash(&s2c, &len, buf);
	assert_true(a != 0);
	assert_true(a == b);
	other.sport = 40001;
	assert_true(tcp_hash(&other, &len, buf) != a);
	other = c2s;
	other.src = "198.18.0.8";
	assert_true(tcp_hash(&other, &len, buf) != a);

	c2s.family = s2c.family = 6;
	c2s.src = s2c.dst = "2001:db8::7";
	c2s.dst = s2c.src = "2001:db8::10";
	a = tcp_hash(&c2s, &len, buf);
	assert_true(a != 0 && a == tcp_hash(&s2c, &len, buf));
}

/* The headers in between change nothing: the connection is the same. */
static void test_headers_in_between(void **state)
{
	uint8_t buf[2048];
	size_t len;
	struct pkt_opts o = { .family = 4, .src = "203.0.113.7", .dst = "198.18.0.10", .sport = 40000, .dport = 80 };
	uint64_t plain = tcp_hash(&o, &len, buf);

	(void)state;
	o.nvlan = 2;
	o.vlan_id[0] = 10;
	o.vlan_id[1] = 20;
	o.ip_opts_len = 8;
	o.tcp_opts_len = 12;
	assert_true(tcp_hash(&o, &len, buf) == plain);

	o = (struct pkt_opts){ .family = 6, .src = "2001:db8::7", .dst = "2001:db8::10", .sport = 40000, .dport = 80 };
	plain = tcp_hash(&o, &len, buf);
	o.ipv6_ext = 3;
	o.nvlan = 1;
	assert_true(tcp_hash(&o, &len, buf) == plain);
}

static void test_tunnel_inner_connection(void **state)
{
	uint8_t in[2048], out[4096];
	size_t ilen, olen;
	struct pkt_opts io = { .family = 4, .src = "203.0.113.7", .dst = "198.18.0.10", .sport = 40000, .dport = 80 };
	struct pkt_opts outer = { .family = 4, .src = "198.18.1.1", .dst = "198.18.1.2", .sport = 51000, .dport = 4789 };
	struct pkt_tunnel t = { .kind = PKT_VXLAN, .vni = 7, .vxlan_flags = -1 };
	uint64_t inner = tcp_hash(&io, &ilen, in);

	(void)state;
	olen = pkt_build_tunnel(out, sizeof(out), &outer, &t, in, ilen);
	assert_true(olen > 0);
	assert_true(bv_frame_flow(out, olen, &tp) == inner);

	outer.dport = 6081;
	outer.family = 6;
	outer.src = "2001:db8::1:1";
	outer.dst = "2001:db8::1:2";
	t = (struct pkt_tunnel){ .kind = PKT_GENEVE, .vni = 7, .vxlan_flags = -1, .opts_len = 8 };
	olen = pkt_build_tunnel(out, sizeof(out), &outer, &t, in, ilen);
	assert_true(olen > 0);
	assert_true(bv_frame_flow(out, olen, &tp) == inner);

	/* a port that is no configured tunnel's: a UDP datagram, no state */
	outer.dport = 9999;
	olen = pkt_build_tunnel(out, sizeof(out), &outer, &t, in, ilen);
	assert_true(bv_frame_flow(out, olen, &tp) == 0);
	/* no ports configured: the same */
	olen = pkt_build_tunnel(out, sizeof(out), &outer, &t, in, ilen);
	assert_true(bv_frame_flow(out, olen, NULL) == 0);
}

/* What the program keeps no state for: no connection. */
static void test_no_connection(void **state)
{
	uint8_t buf[2048];
	size_t len;
	struct pkt_opts o = { .family = 4, .src = "203.0.113.7", .dst = "198.18.0.10", .sport = 5353, .dport = 53 };

	(void)state;
	len = pkt_build_udp(buf, sizeof(buf), &o, "q", 1);
	assert_true(bv_frame_flow(buf, len, &tp) == 0);
	len = pkt_build_icmp_echo(buf, sizeof(buf), &o);
	assert_true(bv_frame_flow(buf, len, &tp) == 0);
	o.sport = 40000;
	o.dport = 80;
	o.frag_off = 0x2000; /* more fragments: the program drops it */
	len = pkt_build_tcp(buf, sizeof(buf), &o, "x", 1);
	assert_true(bv_frame_flow(buf, len, &tp) == 0);
	/* every truncation of a TCP frame short of its ports: 0, never a read
	 * past the end (the sanitizer build would say) */
	o.frag_off = 0;
	len = pkt_build_tcp(buf, sizeof(buf), &o, "x", 1);
	for (size_t n = 0; n < 14 + 20 + 4; n++)
		assert_true(bv_frame_flow(buf, n, &tp) == 0);
	memset(buf, 0xff, sizeof(buf));
	assert_true(bv_frame_flow(buf, sizeof(buf), &tp) == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_both_directions_alike),
		cmocka_unit_test(test_headers_in_between),
		cmocka_unit_test(test_tunnel_inner_connection),
		cmocka_unit_test(test_no_connection),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
