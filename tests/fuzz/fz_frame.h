/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Frames for the packet fuzzer: a TCP frame builder with the shapes
 * tests/pktbuild.c does not make (hop-by-hop options up to 2048 bytes, a
 * segment routing header, an IPv6 fragment header; checksums are then
 * computed by pkt_fix_csums()), and an L2-L4 parser written from the
 * documented rules of the data plane (README, bpf/bv_parse.h comments):
 * Ethernet, at most two 802.1Q/802.1ad tags, IPv4 (IHL >= 5, total length
 * within the frame), IPv6 with at most 6 extension headers among
 * hop-by-hop, routing, destination options, fragment and AH, TCP (data
 * offset >= 5 within the datagram). It shares no code with bpf/.
 */
#ifndef BV_FZ_FRAME_H
#define BV_FZ_FRAME_H

#include <stddef.h>
#include <stdint.h>

struct fz_l3 {
	int family;          /* 4 or 6 */
	int nvlan;           /* 0..2 */
	int ip4_opts;        /* bytes, multiple of 4, <= 40 */
	uint16_t frag_off;   /* IPv4 flags|offset */
	int hbh, hbh_len;    /* IPv6 hop-by-hop present, its hdr ext len */
	int dst;             /* IPv6 destination options (8 bytes) */
	int rt, rt_segleft;  /* IPv6 SRH with one segment; segments left 1 */
	const uint8_t *rt_final; /* the SRH segment (16 bytes) */
	int frag6;           /* IPv6 atomic fragment header */
	int tcp_opts;        /* bytes, multiple of 4, <= 40 */
};

/* Bytes of the frame before the TCP payload. */
size_t fz_overhead(const struct fz_l3 *o);

/* A TCP frame, all checksums correct (pkt_fix_csums). 0 if cap too small. */
size_t fz_build_tcp(uint8_t *buf, size_t cap, const struct fz_l3 *o,
		    const uint8_t *src, const uint8_t *dst, uint16_t sport, uint16_t dport,
		    uint32_t seq, uint32_t ack, uint8_t flags, const uint8_t *pl, size_t plen);

enum fz_vkind { FZ_V_MALFORMED = -1, FZ_V_NONIP = 0, FZ_V_IP = 1 };

struct fz_view {
	int kind;            /* enum fz_vkind */
	int family;
	size_t l3_off, l3_end, l4_off;
	uint8_t proto;
	int frag, frag_later;
	int ip4_opts, ip6_ext;
	int rt, rt_segleft;  /* an IPv6 routing header; one with segments left != 0 */
	int tcp;             /* TCP header parsed (proto TCP, not a later fragment) */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	size_t pl_off, pl_len;
	const uint8_t *src, *dst; /* in the parsed buffer */
};

void fz_parse(const uint8_t *b, size_t len, struct fz_view *v);

/* Documented private ranges (README ip_mask=public). */
int fz_private4(const uint8_t a[4]);
int fz_private6(const uint8_t a[16]);

/* Bits of a[0..nbytes) beyond the first `prefix` bits are all zero. */
int fz_zero_beyond(const uint8_t *a, int nbytes, int prefix);

#endif /* BV_FZ_FRAME_H */
