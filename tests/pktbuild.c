// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Independent packet builder / validator for the tests (see pktbuild.h).
 * All multi-byte fields are read and written byte by byte, big-endian, so
 * nothing depends on alignment or on struct layouts of system headers.
 */
#include "pktbuild.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define ETH_HLEN_       14
#define ETH_P_8021AD_   0x88A8
#define ETH_P_QINQ1_    0x9100
#define MAX_VLAN_TAGS   8
#define MAX_V6_EXT      16

/* ---------------------------------------------------------------- bytes */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | p[3];
}

/* ------------------------------------------------------------ checksums */

/*
 * One's complement sum (RFC 1071) of big-endian 16-bit words. Chunks are
 * summed one after the other; every chunk but the last must have an even
 * length (the pseudo-headers do), the last may be odd (zero padded).
 */
static uint64_t sum_bytes(uint64_t sum, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint64_t)((p[i] << 8) | p[i + 1]);
	if (n & 1)
		sum += (uint64_t)p[n - 1] << 8;
	return sum;
}

static uint16_t fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Sum of the pseudo-header (RFC 793 / RFC 8200 8.1). family 0: none. */
static uint64_t sum_pseudo(int family, const uint8_t *src, const uint8_t *dst,
			   uint8_t proto, size_t l4len)
{
	uint8_t tail[8];
	uint64_t sum = 0;

	if (family == 4) {
		sum = sum_bytes(sum, src, 4);
		sum = sum_bytes(sum, dst, 4);
		tail[0] = 0;
		tail[1] = proto;
		put16(tail + 2, (uint16_t)l4len);
		sum = sum_bytes(sum, tail, 4);
	} else if (family == 6) {
		sum = sum_bytes(sum, src, 16);
		sum = sum_bytes(sum, dst, 16);
		put32(tail, (uint32_t)l4len);
		tail[4] = tail[5] = tail[6] = 0;
		tail[7] = proto;
		sum = sum_bytes(sum, tail, 8);
	}
	return sum;
}

/* Checksum value to store: complement of the sum with the field zeroed. */
static uint16_t l4_csum(int pseudo_family, const uint8_t *src, const uint8_t *dst,
			uint8_t proto, const uint8_t *l4, size_t l4len)
{
	uint64_t sum = sum_pseudo(pseudo_family, src, dst, proto, l4len);

	return (uint16_t)~fold(sum_bytes(sum, l4, l4len));
}

/* True when data (checksum field included) plus pseudo-header sums to ~0. */
static bool l4_verify(int pseudo_family, const uint8_t *src, const uint8_t *dst,
		      uint8_t proto, const uint8_t *l4, size_t l4len)
{
	uint64_t sum = sum_pseudo(pseudo_family, src, dst, proto, l4len);

	return fold(sum_bytes(sum, l4, l4len)) == 0xffff;
}

/* --------------------------------------------------------------- layout */

struct layout {
	int family;             /* from the ethertype: 4, 6 or 0 */
	size_t l3_off;
	size_t l4_off;
	size_t ip_end;          /* end of the IP datagram (excl. eth padding) */
	uint8_t proto;          /* final L4 protocol */
	bool frag;              /* any kind of fragment */
	bool nonfirst;          /* fragment with offset != 0: no L4 header */
	const uint8_t *src;     /* pseudo-header source */
	const uint8_t *dst;     /* pseudo-header destination (final one for v6) */
	const uint8_t *ip_dst;  /* destination in the IP header */
};

static int parse_layout(const uint8_t *buf, size_t len, struct layout *L)
{
	size_t off, hl;
	uint16_t type;
	int tags = 0, n;
	uint8_t nh;

	memset(L, 0, sizeof(*L));
	if (!buf || len < ETH_HLEN_)
		return -1;
	off = 12;
	type = get16(buf + off);
	while (type == ETH_P_8021Q || type == ETH_P_8021AD_ || type == ETH_P_QINQ1_) {
		if (++tags > MAX_VLAN_TAGS)
			return -1;
		off += 4;
		if (off + 2 > len)
			return -1;
		type = get16(buf + off);
	}
	L->l3_off = off + 2;
	const uint8_t *ip = buf + L->l3_off;
	size_t room = len - L->l3_off;

	if (type == ETH_P_IP) {
		L->family = 4;
		if (room < 20 || (ip[0] >> 4) != 4)
			return -1;
		hl = (size_t)(ip[0] & 0x0f) * 4;
		if (hl < 20 || hl > room)
			return -1;
		size_t tot = get16(ip + 2);
		if (tot < hl || tot > room)
			return -1;
		uint16_t frag = get16(ip + 6);
		L->frag = (frag & 0x2000) || (frag & 0x1fff);
		L->nonfirst = (frag & 0x1fff) != 0;
		L->proto = ip[9];
		L->src = ip + 12;
		L->dst = L->ip_dst = ip + 16;
		L->l4_off = L->l3_off + hl;
		L->ip_end = L->l3_off + tot;
		return 0;
	}
	if (type != ETH_P_IPV6)
		return 0;       /* not IP: family 0, nothing more to check */

	L->family = 6;
	if (room < 40 || (ip[0] >> 4) != 6)
		return -1;
	if ((size_t)get16(ip + 4) > room - 40)
		return -1;
	L->ip_end = L->l3_off + 40 + get16(ip + 4);
	L->src = ip + 8;
	L->dst = L->ip_dst = ip + 24;
	nh = ip[6];
	off = L->l3_off + 40;
	for (n = 0; ; n++) {
		if (n > MAX_V6_EXT)
			return -1;
		if (nh == IPPROTO_HOPOPTS || nh == IPPROTO_DSTOPTS ||
		    nh == IPPROTO_ROUTING) {
			if (off + 8 > L->ip_end)
				return -1;
			hl = ((size_t)buf[off + 1] + 1) * 8;
			if (off + hl > L->ip_end)
				return -1;
			if (nh == IPPROTO_ROUTING && buf[off + 3] > 0) {
				/* Pseudo-header uses the final destination. */
				uint8_t rtype = buf[off + 2];
				size_t naddr = buf[off + 1] / 2;

				if ((rtype == 0 || rtype == 2) && naddr > 0)
					L->dst = buf + off + 8 + (naddr - 1) * 16;
				else if (rtype == 4 && naddr > 0)
					L->dst = buf + off + 8; /* segment list[0] */
			}
		} else if (nh == IPPROTO_FRAGMENT) {
			hl = 8;
			if (off + hl > L->ip_end)
				return -1;
			L->frag = true;
			L->nonfirst = (get16(buf + off + 2) >> 3) != 0;
		} else if (nh == IPPROTO_AH) {
			if (off + 8 > L->ip_end)
				return -1;
			hl = ((size_t)buf[off + 1] + 2) * 4;
			if (off + hl > L->ip_end)
				return -1;
		} else {
			break;
		}
		nh = buf[off];
		off += hl;
		if (L->nonfirst)
			break;
	}
	L->proto = nh;
	L->l4_off = off;
	return 0;
}

/* ---------------------------------------------------------------- parse */

int pkt_parse(const uint8_t *buf, size_t len, struct pkt_view *v)
{
	struct layout L;
	size_t l4len;

	memset(v, 0, sizeof(*v));
	v->len = len;
	if (parse_layout(buf, len, &L))
		return -1;
	v->family = L.family;
	v->l3_off = L.l3_off;
	if (!L.family) {
		v->l4_off = v->payload_off = L.l3_off;
		return 0;
	}

	const uint8_t *ip = buf + L.l3_off;

	if (L.family == 4) {
		v->tos = ip[1];
		memcpy(v->src, ip + 12, 4);
		memcpy(v->dst, ip + 16, 4);
	} else {
		v->tos = (uint8_t)(((ip[0] & 0x0f) << 4) | (ip[1] >> 4));
		memcpy(v->src, ip + 8, 16);
		memcpy(v->dst, ip + 24, 16);
	}
	v->l4_proto = L.proto;
	v->l4_off = L.l4_off;
	l4len = L.ip_end - L.l4_off;

	const uint8_t *l4 = buf + L.l4_off;
	size_t hl = 0;

	if (L.nonfirst) {
		hl = 0;
	} else if (L.proto == IPPROTO_TCP) {
		if (l4len < 20)
			return -1;
		hl = (size_t)(l4[12] >> 4) * 4;
		if (hl < 20 || hl > l4len)
			return -1;
		v->sport = get16(l4);
		v->dport = get16(l4 + 2);
		v->seq = get32(l4 + 4);
		v->ack = get32(l4 + 8);
		v->tcp_flags = l4[13];
	} else if (L.proto == IPPROTO_UDP) {
		if (l4len < 8)
			return -1;
		size_t ulen = get16(l4 + 4);
		if (ulen < 8 || (!L.frag && ulen > l4len))
			return -1;
		hl = 8;
		v->sport = get16(l4);
		v->dport = get16(l4 + 2);
		if (!L.frag)
			l4len = ulen;
	} else if ((L.family == 4 && L.proto == IPPROTO_ICMP) ||
		   (L.family == 6 && L.proto == IPPROTO_ICMPV6)) {
		if (l4len < 8)
			return -1;
		hl = 8;
		if (l4[0] == 8 || l4[0] == 0 || l4[0] == 128 || l4[0] == 129) {
			v->sport = get16(l4 + 4);   /* identifier */
			v->dport = get16(l4 + 6);   /* sequence */
		}
	}
	v->payload_off = L.l4_off + hl;
	v->payload_len = l4len - hl;
	return 0;
}

const uint8_t *pkt_payload(const uint8_t *buf, size_t len, size_t *plen)
{
	struct pkt_view v;

	if (pkt_parse(buf, len, &v)) {
		if (plen)
			*plen = 0;
		return NULL;
	}
	if (plen)
		*plen = v.payload_len;
	return buf + v.payload_off;
}

/* ------------------------------------------------------------ validate */

bool pkt_ipv4_csum_ok(const uint8_t *buf, size_t len)
{
	struct layout L;
	int rc = parse_layout(buf, len, &L);

	if (L.family != 4)
		return true;
	if (rc)
		return false;
	return fold(sum_bytes(0, buf + L.l3_off, L.l4_off - L.l3_off)) == 0xffff;
}

/* Length covered by the UDP checksum: the UDP length field if sane. */
static size_t udp_cover(const uint8_t *l4, size_t l4len)
{
	size_t ulen = get16(l4 + 4);

	return (ulen >= 8 && ulen <= l4len) ? ulen : l4len;
}

bool pkt_l4_csum_ok(const uint8_t *buf, size_t len)
{
	struct layout L;

	if (parse_layout(buf, len, &L))
		return false;
	if (!L.family || L.frag)
		return true;

	const uint8_t *l4 = buf + L.l4_off;
	size_t l4len = L.ip_end - L.l4_off;

	switch (L.proto) {
	case IPPROTO_TCP:
		if (l4len < 20)
			return false;
		return l4_verify(L.family, L.src, L.dst, L.proto, l4, l4len);
	case IPPROTO_UDP:
		if (l4len < 8)
			return false;
		if (get16(l4 + 6) == 0)
			return L.family == 4;
		l4len = udp_cover(l4, l4len);
		return l4_verify(L.family, L.src, L.dst, L.proto, l4, l4len);
	case IPPROTO_ICMP:
		if (L.family != 4)
			return true;
		if (l4len < 4)
			return false;
		return l4_verify(0, NULL, NULL, 0, l4, l4len);
	case IPPROTO_ICMPV6:
		if (L.family != 6)
			return true;
		if (l4len < 4)
			return false;
		return l4_verify(6, L.src, L.dst, L.proto, l4, l4len);
	default:
		return true;
	}
}

void pkt_fix_csums(uint8_t *buf, size_t len)
{
	struct layout L;

	if (parse_layout(buf, len, &L) || !L.family)
		return;
	if (L.family == 4) {
		uint8_t *ip = buf + L.l3_off;

		put16(ip + 10, 0);
		put16(ip + 10, (uint16_t)~fold(sum_bytes(0, ip, L.l4_off - L.l3_off)));
	}
	if (L.nonfirst)
		return;

	uint8_t *l4 = buf + L.l4_off;
	size_t l4len = L.ip_end - L.l4_off;
	uint16_t c;

	switch (L.proto) {
	case IPPROTO_TCP:
		if (l4len < 20)
			return;
		put16(l4 + 16, 0);
		put16(l4 + 16, l4_csum(L.family, L.src, L.dst, L.proto, l4, l4len));
		break;
	case IPPROTO_UDP:
		if (l4len < 8)
			return;
		l4len = udp_cover(l4, l4len);
		put16(l4 + 6, 0);
		c = l4_csum(L.family, L.src, L.dst, L.proto, l4, l4len);
		put16(l4 + 6, c ? c : 0xffff);
		break;
	case IPPROTO_ICMP:
		if (L.family != 4 || l4len < 4)
			return;
		put16(l4 + 2, 0);
		put16(l4 + 2, l4_csum(0, NULL, NULL, 0, l4, l4len));
		break;
	case IPPROTO_ICMPV6:
		if (L.family != 6 || l4len < 4)
			return;
		put16(l4 + 2, 0);
		put16(l4 + 2, l4_csum(6, L.src, L.dst, L.proto, l4, l4len));
		break;
	default:
		break;
	}
}

/* ---------------------------------------------------------------- build */

/* Writes Ethernet, VLAN tags and the IP header(s) for an L4 part of l4len
 * bytes; returns the L4 offset or 0 on bad options / too small buffer. */
static size_t build_l2l3(uint8_t *buf, size_t cap, const struct pkt_opts *o,
			 uint8_t proto, size_t l4len, uint8_t *src, uint8_t *dst)
{
	static const uint8_t mac_dst[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	static const uint8_t mac_src[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	size_t l3len, total, off;
	int i;

	if (!buf || !o || !o->src || !o->dst)
		return 0;
	if (o->nvlan < 0 || o->nvlan > 2)
		return 0;
	if (o->family == 4) {
		if (o->ip_opts_len < 0 || o->ip_opts_len > 40 || o->ip_opts_len % 4)
			return 0;
		if (inet_pton(AF_INET, o->src, src) != 1 ||
		    inet_pton(AF_INET, o->dst, dst) != 1)
			return 0;
		l3len = 20 + (size_t)o->ip_opts_len;
		if (l3len + l4len > 0xffff)
			return 0;
	} else if (o->family == 6) {
		if (o->ipv6_ext < 0 || o->ipv6_ext > 3)
			return 0;
		if (inet_pton(AF_INET6, o->src, src) != 1 ||
		    inet_pton(AF_INET6, o->dst, dst) != 1)
			return 0;
		l3len = 40 + 8 * (size_t)o->ipv6_ext;
		if (l3len - 40 + l4len > 0xffff)
			return 0;
	} else {
		return 0;
	}
	total = ETH_HLEN_ + 4 * (size_t)o->nvlan + l3len + l4len;
	if (total > cap)
		return 0;
	memset(buf, 0, total);

	memcpy(buf, mac_dst, 6);
	memcpy(buf + 6, mac_src, 6);
	off = 12;
	for (i = 0; i < o->nvlan; i++) {
		uint16_t tpid = (o->nvlan == 2 && i == 0) ? ETH_P_8021AD_ : ETH_P_8021Q;

		put16(buf + off, tpid);
		put16(buf + off + 2, o->vlan_id[i]);
		off += 4;
	}
	put16(buf + off, o->family == 4 ? ETH_P_IP : ETH_P_IPV6);
	off += 2;

	uint8_t *ip = buf + off;
	uint8_t ttl = o->ttl ? o->ttl : 64;

	if (o->family == 4) {
		ip[0] = (uint8_t)(0x40 | (l3len / 4));
		ip[1] = o->tos;
		put16(ip + 2, (uint16_t)(l3len + l4len));
		put16(ip + 4, 1);                       /* identification */
		put16(ip + 6, o->frag_off);
		ip[8] = ttl;
		ip[9] = proto;
		memcpy(ip + 12, src, 4);
		memcpy(ip + 16, dst, 4);
		if (o->ip_opts_len) {
			memset(ip + 20, 1, (size_t)o->ip_opts_len - 1);  /* NOP */
			ip[20 + o->ip_opts_len - 1] = 0;                 /* EOL */
		}
		put16(ip + 10, (uint16_t)~fold(sum_bytes(0, ip, l3len)));
	} else {
		static const uint8_t ext_type[3] = {
			IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_DSTOPTS
		};

		put32(ip, (6u << 28) | ((uint32_t)o->tos << 20));
		put16(ip + 4, (uint16_t)(l3len - 40 + l4len));
		ip[6] = o->ipv6_ext ? ext_type[0] : proto;
		ip[7] = ttl;
		memcpy(ip + 8, src, 16);
		memcpy(ip + 24, dst, 16);
		for (i = 0; i < o->ipv6_ext; i++) {
			uint8_t *e = ip + 40 + 8 * i;

			e[0] = (i + 1 < o->ipv6_ext) ? ext_type[i + 1] : proto;
			e[1] = 0;       /* (0 + 1) * 8 bytes */
			e[2] = 1;       /* PadN */
			e[3] = 4;       /* 4 bytes of padding */
		}
	}
	return off + l3len;
}

static bool payload_ok(const void *payload, size_t plen)
{
	return plen == 0 || payload != NULL;
}

size_t pkt_build_tcp(uint8_t *buf, size_t cap, const struct pkt_opts *o,
		     const void *payload, size_t plen)
{
	uint8_t src[16], dst[16];
	size_t hl, l4off;

	if (!o || !payload_ok(payload, plen) || plen > 0xffff)
		return 0;
	if (o->tcp_opts_len < 0 || o->tcp_opts_len > 40 || o->tcp_opts_len % 4)
		return 0;
	hl = 20 + (size_t)o->tcp_opts_len;
	l4off = build_l2l3(buf, cap, o, IPPROTO_TCP, hl + plen, src, dst);
	if (!l4off)
		return 0;

	uint8_t *t = buf + l4off;

	put16(t, o->sport);
	put16(t + 2, o->dport);
	put32(t + 4, o->seq);
	put32(t + 8, o->ack);
	t[12] = (uint8_t)((hl / 4) << 4);
	t[13] = o->tcp_flags ? o->tcp_flags : 0x18;
	put16(t + 14, o->window ? o->window : 64240);
	if (o->tcp_opts_len) {
		size_t nop = (size_t)o->tcp_opts_len;

		if (o->tcp_opts_len >= 12)
			nop -= 10;
		memset(t + 20, 1, nop);
		if (o->tcp_opts_len >= 12) {
			uint8_t *ts = t + 20 + nop;

			ts[0] = 8;      /* timestamp */
			ts[1] = 10;
			put32(ts + 2, 0x01020304);
			put32(ts + 6, 0);
		}
	}
	if (plen)
		memcpy(t + hl, payload, plen);
	put16(t + 16, l4_csum(o->family, src, dst, IPPROTO_TCP, t, hl + plen));
	return l4off + hl + plen;
}

size_t pkt_build_udp(uint8_t *buf, size_t cap, const struct pkt_opts *o,
		     const void *payload, size_t plen)
{
	uint8_t src[16], dst[16];
	size_t l4off;
	uint16_t c;

	if (!o || !payload_ok(payload, plen) || plen > 0xffff - 8)
		return 0;
	l4off = build_l2l3(buf, cap, o, IPPROTO_UDP, 8 + plen, src, dst);
	if (!l4off)
		return 0;

	uint8_t *u = buf + l4off;

	put16(u, o->sport);
	put16(u + 2, o->dport);
	put16(u + 4, (uint16_t)(8 + plen));
	if (plen)
		memcpy(u + 8, payload, plen);
	c = l4_csum(o->family, src, dst, IPPROTO_UDP, u, 8 + plen);
	put16(u + 6, c ? c : 0xffff);
	return l4off + 8 + plen;
}

size_t pkt_build_icmp_echo(uint8_t *buf, size_t cap, const struct pkt_opts *o)
{
	uint8_t src[16], dst[16];
	uint8_t proto;
	size_t l4off;

	if (!o)
		return 0;
	proto = o->family == 6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	l4off = build_l2l3(buf, cap, o, proto, 8, src, dst);
	if (!l4off)
		return 0;

	uint8_t *c = buf + l4off;

	c[0] = o->family == 6 ? 128 : 8;   /* echo request */
	c[1] = 0;
	put16(c + 4, o->sport);
	put16(c + 6, (uint16_t)o->seq);
	if (o->family == 6)
		put16(c + 2, l4_csum(6, src, dst, proto, c, 8));
	else
		put16(c + 2, l4_csum(0, NULL, NULL, 0, c, 8));
	return l4off + 8;
}

/* ----------------------------------------------------------------- pcap */

int pkt_write_pcap(const char *path, uint8_t *const *frames, const size_t *lens, size_t n)
{
	pcap_t *p;
	pcap_dumper_t *d;
	size_t i;
	int rc = 0;

	if (!path || (n && (!frames || !lens)))
		return -1;
	p = pcap_open_dead(DLT_EN10MB, 262144);
	if (!p)
		return -1;
	d = pcap_dump_open(p, path);
	if (!d) {
		pcap_close(p);
		return -1;
	}
	for (i = 0; i < n; i++) {
		struct pcap_pkthdr h;

		if (!frames[i] || lens[i] > 262144) {
			rc = -1;
			break;
		}
		memset(&h, 0, sizeof(h));
		h.ts.tv_sec = 1700000000 + (time_t)i;
		h.ts.tv_usec = 0;
		h.caplen = (bpf_u_int32)lens[i];
		h.len = (bpf_u_int32)lens[i];
		pcap_dump((u_char *)d, &h, frames[i]);
	}
	if (pcap_dump_flush(d))
		rc = -1;
	pcap_dump_close(d);
	pcap_close(p);
	return rc;
}

/* --------------------------------------------------------------- tshark */

/* A tab-separated field list, each field possibly "a,b,c": any Bad (0) or
 * Illegal (4) status? Field 0 is frame.number and is skipped. */
static bool line_has_bad(char *line)
{
	char *save = NULL, *field;
	int col = 0;

	line[strcspn(line, "\r\n")] = '\0';
	/* strtok would merge empty fields; walk the tabs by hand instead. */
	for (field = line; field; col++) {
		char *next = strchr(field, '\t');

		if (next)
			*next++ = '\0';
		if (col > 0) {
			char *tok;

			for (tok = strtok_r(field, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save))
				if (!strcmp(tok, "0") || !strcmp(tok, "4"))
					return true;
		}
		field = next;
	}
	return false;
}

int pkt_tshark_check(const char *pcap_path, int *frames, int *bad_csum)
{
	char *const argv[] = {
		"tshark", "-n", "-r", (char *)pcap_path,
		"-o", "ip.check_checksum:TRUE",
		"-o", "tcp.check_checksum:TRUE",
		"-o", "udp.check_checksum:TRUE",
		"-T", "fields", "-E", "separator=/t",
		"-e", "frame.number",
		"-e", "ip.checksum.status",
		"-e", "tcp.checksum.status",
		"-e", "udp.checksum.status",
		"-e", "icmp.checksum.status",
		"-e", "icmpv6.checksum.status",
		NULL
	};
	int pfd[2], status, nf = 0, nbad = 0;
	char line[1024];
	FILE *f;
	pid_t pid;

	if (frames)
		*frames = 0;
	if (bad_csum)
		*bad_csum = 0;
	if (!pcap_path)
		return -1;
	if (pipe(pfd))
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);

		if (nul >= 0) {
			dup2(nul, STDIN_FILENO);
			dup2(nul, STDERR_FILENO);
		}
		dup2(pfd[1], STDOUT_FILENO);
		close(pfd[0]);
		close(pfd[1]);
		execvp("tshark", argv);
		_exit(127);
	}
	close(pfd[1]);
	f = fdopen(pfd[0], "r");
	if (!f) {
		close(pfd[0]);
		waitpid(pid, &status, 0);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (line[0] < '0' || line[0] > '9')
			continue;       /* not a frame line */
		nf++;
		if (line_has_bad(line))
			nbad++;
	}
	fclose(f);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -1;
	if (frames)
		*frames = nf;
	if (bad_csum)
		*bad_csum = nbad;
	return 0;
}

/* ---- tunnels -------------------------------------------------------- */

size_t pkt_build_tunnel(uint8_t *buf, size_t cap, const struct pkt_opts *outer,
			const struct pkt_tunnel *t, const uint8_t *inner, size_t ilen)
{
	static uint8_t pl[65536];
	size_t hl, n;

	if (!outer || !t || !inner || (t->kind != PKT_VXLAN && t->kind != PKT_GENEVE))
		return 0;
	if (t->kind == PKT_GENEVE && (t->opts_len < 0 || t->opts_len > 252 || t->opts_len % 4))
		return 0;
	hl = 8 + (t->kind == PKT_GENEVE ? (size_t)t->opts_len : 0);
	if (hl + ilen > sizeof(pl))
		return 0;
	memset(pl, 0, hl);
	if (t->kind == PKT_VXLAN) {
		pl[0] = t->vxlan_flags < 0 ? 0x08 : (uint8_t)t->vxlan_flags;
	} else {
		size_t o = 8;

		pl[0] = (uint8_t)(((t->geneve_ver & 3) << 6) | (t->opts_len / 4));
		put16(pl + 2, t->geneve_proto ? t->geneve_proto : 0x6558);
		while (o < hl) {
			size_t chunk = hl - o > 128 ? 128 : hl - o;

			put16(pl + o, 0xff01);
			pl[o + 2] = 1;
			pl[o + 3] = (uint8_t)((chunk - 4) / 4);
			memset(pl + o + 4, 0xa5, chunk - 4);
			o += chunk;
		}
	}
	/* VNI in bytes 4..6 of both headers */
	pl[4] = (uint8_t)(t->vni >> 16);
	pl[5] = (uint8_t)(t->vni >> 8);
	pl[6] = (uint8_t)t->vni;
	memcpy(pl + hl, inner, ilen);
	n = pkt_build_udp(buf, cap, outer, pl, hl + ilen);
	if (n && t->zero_csum) {
		struct pkt_view v;

		if (outer->family != 4 || pkt_parse(buf, n, &v))
			return 0;
		put16(buf + v.l4_off + 6, 0);
	}
	return n;
}

const uint8_t *pkt_tunnel_inner(const uint8_t *buf, size_t len, int kind, size_t *ilen)
{
	const uint8_t *p;
	size_t plen = 0, hl = 8;

	p = pkt_payload(buf, len, &plen);
	if (!p || plen < 8)
		return NULL;
	if (kind == PKT_GENEVE)
		hl += (size_t)(p[0] & 0x3f) * 4;
	else if (kind != PKT_VXLAN)
		return NULL;
	if (plen < hl + 14)
		return NULL;
	*ilen = plen - hl;
	return p + hl;
}

const char *pkt_payload_str(const uint8_t *buf, size_t len)
{
	static char s[16384];
	size_t plen = 0;
	const uint8_t *p = pkt_payload(buf, len, &plen);

	if (!p || plen >= sizeof(s))
		return NULL;
	memcpy(s, p, plen);
	s[plen] = 0;
	return s;
}
