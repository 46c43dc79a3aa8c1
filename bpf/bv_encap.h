/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Tunnels in mirror and pcap mode: cloud traffic mirroring (AWS VPC Traffic
 * Mirroring, GCP Packet Mirroring, Azure vTAP) delivers its copies inside
 * VXLAN (RFC 7348) or GENEVE (RFC 8926). bv_decap() finds the inner
 * Ethernet frame behind the outer Ethernet/IP/UDP and tunnel headers and
 * parses it in place of the outer one: everything after it (flows, scanner,
 * masking, checksums) works on the inner frame as on a bare one. The outer
 * headers are kept in the scratch and rewritten when the packet is kept
 * (bv_outer_csum() here, the masking in the driver's bv_outer_rewrite()).
 * Inline mode never decapsulates. Verdicts: docs/MASKING.md, "Tunnels".
 */
#ifndef BV_ENCAP_H
#define BV_ENCAP_H

#include <linux/udp.h>
#include "bv_parse.h"
#include "bv_maps.h"
#include "bv_lexer.h"

#define BV_VXLAN_HLEN       8
#define BV_VXLAN_FLAG_I     0x08  /* a valid VNI: must be set */
#define BV_VXLAN_FLAG_P     0x04  /* VXLAN-GPE next protocol: maybe not Ethernet */
#define BV_GENEVE_HLEN      8
#define BV_GENEVE_ETHERNET  0x6558 /* Transparent Ethernet Bridging */

enum bv_decap_result {
	BV_DECAP_DROP  = -1, /* broken or unsupported tunnel: counted, drop */
	BV_DECAP_NONE  = 0,  /* not a tunnel packet: *p unchanged */
	BV_DECAP_INNER = 1,  /* *p is the inner frame, an IP packet */
};

/* bv_ports bits of a UDP port, 0 for none. */
static __always_inline __u8 bv_udp_port_bits(__u16 port_be)
{
	__u32 port = bpf_ntohs(port_be);
	__u8 *v = bpf_map_lookup_elem(&bv_ports, &port);

	return v ? *v & (BV_PORT_VXLAN | BV_PORT_GENEVE) : 0;
}

/*
 * A UDP packet (*p, mirror or pcap mode): if it goes to a tunnel port, the
 * outer headers are saved in sc->outer, sc->encap set, and *p becomes the
 * inner frame. A tunnel packet that is cut, or whose inner frame is, is
 * dropped: its inner addresses could not be masked, and the outer ones
 * alone are no protection.
 */
BV_GLOBAL int bv_decap(struct xdp_md *ctx, struct bv_pkt *p, struct bv_scratch *sc)
{
	void *data, *data_end;
	struct udphdr *uh;
	__u16 *ports;
	__u32 zero = 0, hdr, inner, end;
	struct bv_settings *st;
	__u8 bits, *th;
	int r;

	if (!ctx || !p || !sc)
		return BV_DECAP_DROP;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (p->frag_later) {
		/* no UDP header to tell: maybe the rest of a tunnel datagram */
		st = bpf_map_lookup_elem(&bv_settings, &zero);
		if (st && (st->flags & BV_SETF_DECAP)) {
			bv_count(BV_ST_FRAGMENT);
			return BV_DECAP_DROP;
		}
		return BV_DECAP_NONE;
	}
	ports = data + (p->l4_off & BV_L4_OFF_MASK);
	if ((void *)(ports + 2) > data_end)
		return BV_DECAP_NONE; /* no port: nothing behind it either */
	bits = bv_udp_port_bits(ports[1]);
	if (!bits)
		return BV_DECAP_NONE;
	uh = (struct udphdr *)ports;
	/* an outer routing header is dropped at the end anyway (bv_l3_rewrite):
	 * decided here, before the inner frame changes any flow state */
	if (p->ip6_rh)
		goto unsupported;
	if (p->frag || (void *)(uh + 1) > data_end ||
	    bpf_ntohs(uh->len) != p->l3_end - p->l4_off)
		goto malformed;

	hdr = p->l4_off + sizeof(*uh);
	if (hdr > BV_FRAME_BASE_MAX)
		goto unsupported; /* deeper than the offsets reach */
	th = data + (hdr & BV_L4_OFF_MASK);
	if ((void *)(th + 8) > data_end || hdr + 8 > p->l3_end)
		goto malformed;
	if (bits & BV_PORT_VXLAN) {
		if (!(th[0] & BV_VXLAN_FLAG_I))
			goto malformed;
		if (th[0] & BV_VXLAN_FLAG_P)
			goto unsupported;
		inner = hdr + BV_VXLAN_HLEN;
	} else {
		/* version (2 bits, 0), option length (6 bits, 4-byte words),
		 * O, C, reserved; protocol type; VNI; reserved */
		if ((th[0] >> 6) != 0 || th[2] != (BV_GENEVE_ETHERNET >> 8) ||
		    th[3] != (BV_GENEVE_ETHERNET & 0xff))
			goto unsupported;
		inner = hdr + BV_GENEVE_HLEN + (__u32)(th[0] & 0x3f) * 4;
	}
	if (inner + sizeof(struct ethhdr) > p->l3_end)
		goto malformed;
	if (inner > BV_FRAME_BASE_MAX)
		goto unsupported; /* deeper than the offsets reach */

	end = p->l3_end;
	sc->outer = *p;
	r = bv_parse_at(ctx, p, inner);
	if (r == BV_P_NON_IP)
		goto unsupported; /* ARP, MPLS, ...: addresses in it, not masked */
	if (r != BV_P_OK || p->l3_end > end)
		goto malformed;
	if (p->proto == IPPROTO_UDP) {
		/* a tunnel in the tunnel: its frame would not be looked at; nor
		 * can an inner UDP fragment be told from a piece of one */
		if (p->frag)
			goto unsupported;
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
		uh = data + (p->l4_off & BV_L4_OFF_MASK);
		if ((void *)(uh + 1) <= data_end && bv_udp_port_bits(uh->dest))
			goto unsupported;
	}
	bv_count(bits & BV_PORT_VXLAN ? BV_ST_ENCAP_VXLAN : BV_ST_ENCAP_GENEVE);
	sc->encap = 1;
	return BV_DECAP_INNER;

malformed:
	bv_count(BV_ST_ENCAP_MALFORMED);
	return BV_DECAP_DROP;
unsupported:
	bv_count(BV_ST_ENCAP_UNSUPPORTED);
	return BV_DECAP_DROP;
}

/* bpf_loop state of bv_outer_csum: sums [off, end) of the packet. */
struct bv_sum_ctx {
	struct xdp_md *ctx;
	__u32 off, end;
	__u64 sum;
	int err;
};

#define BV_SUM_CHUNK 32

static long bv_sum_cb(__u32 i, void *arg)
{
	struct bv_sum_ctx *c = arg;
	__u8 buf[BV_SUM_CHUNK] = {};
	__u32 n;

	if (c->off >= c->end)
		return 1;
	n = c->end - c->off;
	/* n in [1, 32]; the arithmetic form lets the verifier see that too */
	n = n > BV_SUM_CHUNK ? BV_SUM_CHUNK : n;
	n = ((n - 1) & (BV_SUM_CHUNK - 1)) + 1;
	if (bpf_xdp_load_bytes(c->ctx, c->off, buf, n)) {
		c->err = 1;
		return 1;
	}
	/* the last chunk is zero padded, as the checksum pads an odd end */
	c->sum += bpf_csum_diff(0, 0, (__be32 *)buf, BV_SUM_CHUNK, 0);
	c->off += BV_SUM_CHUNK;
	return 0;
}

/*
 * The outer UDP checksum of a kept tunnel packet, after every rewrite of
 * the outer addresses and the inner frame. Over IPv4 it becomes zero (if
 * it was not already): RFC 7348 and RFC 8926 let a tunnel send zero and
 * oblige receivers to take it, the inner frame's own checksums stay valid,
 * and it costs nothing. Over IPv6 zero is allowed only with RFC 6935/6936
 * configured on the receiver, so it is computed anew over the datagram.
 */
BV_GLOBAL int bv_outer_csum(struct xdp_md *ctx, const struct bv_pkt *o)
{
	struct bv_sum_ctx c = {};
	void *data, *data_end;
	struct ipv6hdr *ip6;
	__u16 *ck;
	__u32 l4;

	if (!ctx || !o)
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	l4 = o->l4_off & BV_L4_OFF_MASK;
	ck = data + l4 + 6;
	if ((void *)(ck + 1) > data_end)
		return -1;
	if (o->family == 4) {
		*ck = 0;
		return 0;
	}
	ip6 = data + (o->l3_off & BV_L3_OFF_MASK);
	if ((void *)(ip6 + 1) > data_end)
		return -1;
	*ck = 0;
	/* pseudo-header: addresses, upper-layer length, next header */
	c.sum = bpf_csum_diff(0, 0, (__be32 *)&ip6->saddr, 32, 0);
	/* one at a time: their 32-bit sum may carry out */
	c.sum += bpf_htonl(o->l3_end - o->l4_off);
	c.sum += bpf_htonl(IPPROTO_UDP);
	c.ctx = ctx;
	c.off = l4;
	c.end = o->l3_end;
	bpf_loop(0x10000 / BV_SUM_CHUNK + 1, bv_sum_cb, &c, 0);
	if (c.err || c.off < c.end)
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	ck = data + l4 + 6;
	if ((void *)(ck + 1) > data_end)
		return -1;
	*ck = ~csum_fold64(c.sum);
	if (!*ck)
		*ck = 0xffff;
	return 0;
}

#endif /* BV_ENCAP_H */
