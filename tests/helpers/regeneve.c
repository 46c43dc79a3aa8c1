/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Test helper for tests/encap_vxlan.sh: rewraps VXLAN as GENEVE.
 *
 *   regeneve IN OUT PORT OPTS_LEN
 *       Every frame of IN (pcap, Ethernet) that is VXLAN on UDP PORT (the
 *       I flag set) is written to OUT with the same outer addresses and
 *       source port, its inner Ethernet frame byte for byte, but in GENEVE
 *       (UDP 6081, VNI 7, OPTS_LEN bytes of options) built by
 *       tests/pktbuild.c, every checksum computed anew. Other frames are
 *       left out. Prints the number of frames written.
 *
 * For a kernel without GENEVE (CONFIG_GENEVE): the inner frames still come
 * from real peers, only their tunnel is made here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <pcap/pcap.h>

#include "pktbuild.h"

int main(int argc, char **argv)
{
	static uint8_t out[65536];
	char ebuf[PCAP_ERRBUF_SIZE], src[64], dst[64];
	struct pcap_pkthdr *h;
	const u_char *d;
	pcap_t *in, *dead;
	pcap_dumper_t *dump;
	long port, opts;
	unsigned long n = 0;
	int r;

	if (argc != 5 || (port = atol(argv[3])) <= 0 || port > 65535 ||
	    (opts = atol(argv[4])) < 0 || opts > 252 || opts % 4) {
		fprintf(stderr, "usage: regeneve IN OUT PORT OPTS_LEN (0..252, multiple of 4)\n");
		return 2;
	}
	in = pcap_open_offline(argv[1], ebuf);
	if (!in) {
		fprintf(stderr, "regeneve: %s: %s\n", argv[1], ebuf);
		return 1;
	}
	dead = pcap_open_dead(DLT_EN10MB, 65535);
	dump = dead ? pcap_dump_open(dead, argv[2]) : NULL;
	if (!dump) {
		fprintf(stderr, "regeneve: cannot write %s\n", argv[2]);
		return 1;
	}
	while ((r = pcap_next_ex(in, &h, &d)) == 1) {
		struct pkt_view v;
		struct pkt_opts o = { 0 };
		struct pkt_tunnel t = { .kind = PKT_GENEVE, .vni = 7, .vxlan_flags = -1,
					.opts_len = (int)opts };
		const uint8_t *inner;
		size_t ilen, len;

		if (pkt_parse(d, h->caplen, &v) || v.l4_proto != IPPROTO_UDP ||
		    v.dport != port || v.payload_len < 8 + 14 || !(d[v.payload_off] & 0x08))
			continue;
		inner = pkt_tunnel_inner(d, h->caplen, PKT_VXLAN, &ilen);
		if (!inner)
			continue;
		o.family = v.family;
		inet_ntop(v.family == 4 ? AF_INET : AF_INET6, v.src, src, sizeof(src));
		inet_ntop(v.family == 4 ? AF_INET : AF_INET6, v.dst, dst, sizeof(dst));
		o.src = src;
		o.dst = dst;
		o.sport = v.sport;
		o.dport = 6081;
		len = pkt_build_tunnel(out, sizeof(out), &o, &t, inner, ilen);
		if (!len) {
			fprintf(stderr, "regeneve: frame too large\n");
			return 1;
		}
		struct pcap_pkthdr oh = *h;

		oh.caplen = oh.len = (bpf_u_int32)len;
		pcap_dump((u_char *)dump, &oh, out);
		n++;
	}
	if (r != PCAP_ERROR_BREAK) {
		fprintf(stderr, "regeneve: %s: %s\n", argv[1], pcap_geterr(in));
		return 1;
	}
	pcap_dump_close(dump);
	pcap_close(dead);
	pcap_close(in);
	printf("%lu\n", n);
	return 0;
}
