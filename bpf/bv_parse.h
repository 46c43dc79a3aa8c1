/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * L2-L4 parsing: Ethernet, 802.1Q/QinQ, IPv4 with options, IPv6 with
 * extension headers, TCP. Only offsets leave this file, never pointers, so
 * callers re-derive pointers after helpers that may move the packet. The
 * frame may start inside the packet (the inner frame of a tunnel,
 * bv_encap.h): offsets are always from the packet's first byte.
 */
#ifndef BV_PARSE_H
#define BV_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif
#define BV_MAX_VLANS 2
/* Bounds of struct bv_pkt offsets, as masks the verifier can follow: the IP
 * header starts within 511 bytes (Ethernet and two VLAN tags, behind at most
 * BV_FRAME_BASE_MAX bytes of outer headers); the L4 header within 1023 (an
 * IPv6 extension chain is malformed past ~900 bytes), or within 255 when
 * there are no IPv4 options or IPv6 extension headers and no outer headers
 * (only inline mode relies on that, where nothing is decapsulated). */
#define BV_L3_OFF_MASK       0x1ff
#define BV_FRAME_BASE_MAX    (BV_L3_OFF_MASK - 14 - 2 * 4)
#define BV_L4_OFF_MASK       0x3ff
#define BV_L4_PLAIN_OFF_MASK 0xff
/* TCP flags: byte 13 of the TCP header */
#define BV_TCP_FLAGS_OFF 13
#define BV_TCP_RST 0x04
#define BV_TCP_SYN 0x02
#define BV_TCP_ACK 0x10
#define BV_MAX_EXTHDRS 6

/* Global (noinline) functions are verified once, with unknown arguments
 * (bv_lexer.h says more). */
#ifndef BV_GLOBAL
#define BV_GLOBAL __attribute__((noinline))
#endif

enum bv_parse_result {
	BV_P_OK = 0,
	BV_P_NON_IP,      /* not IPv4/IPv6 (ARP, LLDP, ...) */
	BV_P_MALFORMED,   /* structurally broken or truncated */
};

struct bv_pkt {
	__u32 l3_off;     /* IP header */
	__u32 l4_off;     /* TCP/UDP/ICMP header (valid if !frag_later) */
	__u32 l3_end;     /* end of the IP datagram (excludes L2 padding) */
	__u32 pl_off;     /* TCP payload */
	__u32 pl_len;
	__u8 family;      /* 4 or 6 */
	__u8 proto;       /* final L4 protocol */
	__u8 frag;        /* 1: IP fragment (first or later) */
	__u8 frag_later;  /* 1: not the first fragment (no L4 header) */
	__u8 vlans;
	__u8 ip4_opts;    /* IPv4 header longer than 20 bytes */
	__u8 ip6_ext;     /* IPv6 extension headers present */
	__u8 ip6_rh;      /* IPv6 routing header: the pseudo-header's destination
			   * is its last segment, and it carries addresses */
};

struct vlan_hdr_bv {
	__be16 tci;
	__be16 proto;
};

/*
 * The Ethernet frame at packet offset `base` (0, or an inner frame's start,
 * at most BV_FRAME_BASE_MAX) into *p, which is cleared first. Inlined for
 * the outer frame (every packet: no call and return, which cost a
 * mitigation thunk each on this kind of CPU); bv_parse_at below is the
 * same body as a global function, for a tunnel's inner frame.
 */
static __always_inline int bv_parse_frame(struct xdp_md *ctx, struct bv_pkt *p, __u32 base)
{
	void *data, *data_end;
	struct ethhdr *eth;
	__u32 off;
	__u16 proto;

	if (!ctx || !p)
		return BV_P_MALFORMED;
	__builtin_memset(p, 0, sizeof(*p));
	if (base > BV_FRAME_BASE_MAX)
		return BV_P_MALFORMED;
	/* the same value, in a form whose bound the verifier sees (the
	 * compiler would drop a plain mask after the test) */
	barrier_var(base);
	base &= BV_L3_OFF_MASK;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data + base;
	off = base + sizeof(*eth);
	if ((void *)(eth + 1) > data_end)
		return BV_P_MALFORMED;
	proto = eth->h_proto;

#pragma unroll
	for (int i = 0; i < BV_MAX_VLANS; i++) {
		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		struct vlan_hdr_bv *vh = data + off;
		if ((void *)(vh + 1) > data_end)
			return BV_P_MALFORMED;
		proto = vh->proto;
		off += sizeof(*vh);
		p->vlans++;
	}
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD))
		return BV_P_MALFORMED; /* more tags than we look through */

	p->l3_off = off;
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data + off;
		__u32 ihl, tot;

		if ((void *)(ip + 1) > data_end)
			return BV_P_MALFORMED;
		ihl = ip->ihl * 4;
		tot = bpf_ntohs(ip->tot_len);
		if (ip->version != 4 || ihl < sizeof(*ip) || tot < ihl)
			return BV_P_MALFORMED;
		if (data + off + tot > data_end)
			return BV_P_MALFORMED; /* truncated datagram */
		p->family = 4;
		p->proto = ip->protocol;
		p->ip4_opts = ihl > sizeof(*ip);
		p->l3_end = off + tot;
		p->l4_off = off + ihl;
		if (ip->frag_off & bpf_htons(0x3fff)) {
			p->frag = 1;
			p->frag_later = (ip->frag_off & bpf_htons(0x1fff)) != 0;
		}
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data + off;
		__u32 l4;
		__u8 nh;

		if ((void *)(ip6 + 1) > data_end)
			return BV_P_MALFORMED;
		if (ip6->version != 6)
			return BV_P_MALFORMED;
		p->family = 6;
		p->l3_end = off + sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
		if (data + p->l3_end > data_end)
			return BV_P_MALFORMED;
		nh = ip6->nexthdr;
		l4 = off + sizeof(*ip6);
#pragma unroll
		for (int i = 0; i < BV_MAX_EXTHDRS; i++) {
			__u8 *eh = data + l4;
			if (nh != IPPROTO_HOPOPTS && nh != IPPROTO_ROUTING &&
			    nh != IPPROTO_DSTOPTS && nh != IPPROTO_FRAGMENT &&
			    nh != IPPROTO_AH)
				break;
			if ((void *)(eh + 8) > data_end)
				return BV_P_MALFORMED;
			p->ip6_ext = 1;
			if (nh == IPPROTO_ROUTING)
				p->ip6_rh = 1;
			if (nh == IPPROTO_FRAGMENT) {
				__u16 fo = ((__u16)eh[2] << 8) | eh[3];
				p->frag = 1;
				p->frag_later = (fo & 0xfff8) != 0;
				nh = eh[0];
				l4 += 8;
			} else if (nh == IPPROTO_AH) {
				nh = eh[0];
				l4 += ((__u32)eh[1] + 2) * 4;
			} else {
				nh = eh[0];
				l4 += ((__u32)eh[1] + 1) * 8;
			}
			if (l4 > p->l3_end)
				return BV_P_MALFORMED;
		}
		if (nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING ||
		    nh == IPPROTO_DSTOPTS || nh == IPPROTO_FRAGMENT || nh == IPPROTO_AH)
			return BV_P_MALFORMED; /* chain longer than we follow */
		p->proto = nh;
		p->l4_off = l4;
		/* L4 header offsets are masked to 10 bits downstream: a longer
		 * extension chain than that is not followed */
		if (l4 > 0x3c0)
			return BV_P_MALFORMED;
	} else {
		return BV_P_NON_IP;
	}

	if (p->proto == IPPROTO_TCP && !p->frag_later) {
		struct tcphdr *th = data + (p->l4_off & 0xffff);
		__u32 doff;

		if ((void *)(th + 1) > data_end)
			return BV_P_MALFORMED;
		doff = th->doff * 4;
		if (doff < sizeof(*th) || p->l4_off + doff > p->l3_end)
			return BV_P_MALFORMED;
		p->pl_off = p->l4_off + doff;
		p->pl_len = p->l3_end - p->pl_off;
	}
	return BV_P_OK;
}

/* bv_parse_frame as one verified body whose results are equally unknown
 * to the code after it: a tunnel's inner frame (bv_encap.h). */
BV_GLOBAL int bv_parse_at(struct xdp_md *ctx, struct bv_pkt *p, __u32 base)
{
	return bv_parse_frame(ctx, p, base);
}

#endif /* BV_PARSE_H */
