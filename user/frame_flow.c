/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The connection of a frame (frame_flow.h). The headers are walked as the
 * program walks them (bpf/bv_parse.h: up to two VLAN tags, IPv4 options,
 * up to six IPv6 extension headers; bpf/bv_encap.h: VXLAN and GENEVE), so
 * that a frame the program takes for a segment of a connection is never
 * given another connection's hash here.
 */
#include <string.h>

#include "frame_flow.h"

#define ETH_HLEN_ 14
#define MAX_VLANS 2
#define MAX_EXTHDRS 6

static uint16_t be16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* One endpoint: address bytes and port, as a number to order and mix. */
static uint64_t endpoint(const unsigned char *addr, size_t alen, uint16_t port)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL;

	for (size_t i = 0; i < alen; i++)
		h = mix64(h ^ addr[i]) + i;
	return mix64(h ^ port);
}

static int port_in(uint16_t port, const uint16_t *ports, int n)
{
	for (int i = 0; i < n; i++)
		if (ports[i] == port)
			return 1;
	return 0;
}

/* IPv6 extension headers the program follows: hop-by-hop, routing,
 * destination options, fragment, AH. */
static int is_ext(int nh)
{
	return nh == 0 || nh == 43 || nh == 60 || nh == 44 || nh == 51;
}

/* Offset of the L4 header, its protocol in *proto and the addresses; -1
 * when the frame is no unfragmented IPv4/IPv6 datagram the program parses. */
static long l3(const unsigned char *f, size_t len, size_t off, int *proto, const unsigned char **src,
	       const unsigned char **dst, size_t *alen)
{
	uint16_t type;

	if (len < off + ETH_HLEN_)
		return -1;
	type = be16(f + off + 12);
	off += ETH_HLEN_;
	for (int i = 0; i < MAX_VLANS && (type == 0x8100 || type == 0x88a8); i++) {
		if (len < off + 4)
			return -1;
		type = be16(f + off + 2);
		off += 4;
	}
	if (type == 0x0800) {
		size_t ihl;

		if (len < off + 20 || (f[off] >> 4) != 4)
			return -1;
		ihl = (size_t)(f[off] & 0x0f) * 4;
		if (ihl < 20 || be16(f + off + 6) & 0x3fff)
			return -1; /* a fragment: dropped, no state */
		*proto = f[off + 9];
		*src = f + off + 12;
		*dst = f + off + 16;
		*alen = 4;
		return (long)(off + ihl);
	}
	if (type == 0x86dd) {
		size_t l4 = off + 40;
		int nh;

		if (len < l4 || (f[off] >> 4) != 6)
			return -1;
		nh = f[off + 6];
		*src = f + off + 8;
		*dst = f + off + 24;
		*alen = 16;
		for (int i = 0; i < MAX_EXTHDRS && is_ext(nh); i++) {
			int next;

			if (len < l4 + 8 || nh == 44)
				return -1; /* truncated, or a fragment */
			next = f[l4];
			if (nh == 51)
				l4 += ((size_t)f[l4 + 1] + 2) * 4;
			else
				l4 += ((size_t)f[l4 + 1] + 1) * 8;
			nh = next;
		}
		if (is_ext(nh))
			return -1; /* a longer chain than the program follows */
		*proto = nh;
		return (long)l4;
	}
	return -1;
}

uint64_t bv_frame_flow(const unsigned char *f, size_t len, const struct bv_tunnel_ports *tp)
{
	const unsigned char *src, *dst;
	size_t alen, off = 0;
	int proto;
	long l4;

	for (int depth = 0; depth < 2; depth++) {
		l4 = l3(f, len, off, &proto, &src, &dst, &alen);
		if (l4 < 0 || len < (size_t)l4 + 8)
			return 0;
		if (proto == 6) {
			uint64_t a = endpoint(src, alen, be16(f + l4)), b = endpoint(dst, alen, be16(f + l4 + 2));
			uint64_t h = a < b ? mix64(a * 31 + b) : mix64(b * 31 + a);

			return h ? h : 1;
		}
		if (proto != 17 || depth > 0 || !tp)
			return 0;
		/* a tunnel's packet: the inner frame's connection */
		if (port_in(be16(f + l4 + 2), tp->vxlan, tp->nvxlan)) {
			off = (size_t)l4 + 8 + 8;
		} else if (port_in(be16(f + l4 + 2), tp->geneve, tp->ngeneve)) {
			if (len < (size_t)l4 + 16 || be16(f + l4 + 8 + 2) != 0x6558)
				return 0;
			off = (size_t)l4 + 8 + 8 + (size_t)(f[l4 + 8] & 0x3f) * 4;
		} else {
			return 0;
		}
	}
	return 0;
}
